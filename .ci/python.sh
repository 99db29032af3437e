#!/usr/bin/env bash
# The Python package (python/: PyO3 + maturin, abi3) built into a virtual
# environment, and its tests (pytest, including a local Ray cluster on
# loopback). Called by .ci/test after `cargo test`; runnable alone.
# Installs from PyPI: maturin, pytest, pyarrow, ray[data], aiohttp (Ray
# 2.60's file listing imports fsspec's HTTP filesystem from several threads
# at once; without aiohttp one of them can fail with "cannot import name
# 'HTTPFileSystem'").
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${BEIAN_PY_VENV:-target/pyvenv}"
PY="${PYTHON:-python3}"
command -v "$PY" >/dev/null || { echo ".ci/python.sh: $PY not found" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "maturin>=1.7,<2" "pytest>=7" "pyarrow>=14" "ray[data]>=2.9" "aiohttp>=3.8"
# The extension builds in its own target dir (it is not a workspace member).
CARGO_TARGET_DIR="${BEIAN_PY_TARGET:-$PWD/target/python}" "$VENV/bin/python" -m pip install -q ./python
# The CLI the tests compare against: the one this checkout builds.
cargo build -q -p beian --locked
export BEIAN_BIN="${BEIAN_BIN:-$PWD/target/debug/beian}"
set +e
"$VENV/bin/python" -m pytest -q -p no:cacheprovider python/tests
rc=$?
set -e
# Exit code 5 is "no tests collected": a broken suite, not a pass.
if [ "$rc" -eq 5 ]; then
    echo ".ci/python.sh: pytest collected no tests" >&2
    exit 1
fi
exit "$rc"
