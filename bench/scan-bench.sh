#!/usr/bin/env bash
# Cross-engine benchmark of `beian scan`'s engine (issue 3).
# Installs pyahocorasick from PyPI into a venv under target-bench/, builds the
# benchmark in release and writes benchmarks/results/scan-DATE.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target-bench}"
venv="$CARGO_TARGET_DIR/pyvenv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import ahocorasick' 2>/dev/null || "$venv/bin/pip" install -q pyahocorasick
mkdir -p benchmarks/results
out="$root/benchmarks/results/scan-$(date -u +%Y-%m-%d).md"
BEIAN_BENCH_PYTHON="$venv/bin/python" cargo bench -p beian-screen --bench screen -- --out "$out" "$@"
echo "wrote $out"
