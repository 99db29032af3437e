#!/usr/bin/env bash
# Whole-process scaling benchmark of `beian scan` (issue 13): builds the
# release binary and the raw-daachorse peer, then runs bench/scale_bench.py,
# which writes benchmarks/results/scale-DATE.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release -p beian
cargo build --release -p beian-screen --example daachorse_peer --example daachorse_peer_mimalloc
python3 bench/scale_bench.py "$@"
