#!/usr/bin/env bash
# Benchmark of the transparency log (issue 11): appending 100,000 entries
# (register rows + their log entries, one transaction, then the tree and a
# signed checkpoint), the log's in-memory costs and checkpoint signing
# latency against named floors, the register search rate with the log on
# (benchmarks/serve-bench.sh, same run), and the register's tail latency
# over 70 s of sequential distinct queries (across a 60 s snapshot age, with
# the background refresher). Not a test: numbers go to
# benchmarks/results/log-YYYY-MM-DD.md.
#
# Usage: benchmarks/log-bench.sh [BEIAN_BINARY]
# Needs: wrk (apt-get install -y wrk), a release build (cargo build --release -p beian).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/beian}"
PORT="${PORT:-18081}"
SEQ="${SEQ:-70s}"
DATA="$(mktemp -d)"
OUT="$ROOT/benchmarks/results/log-$(date -u +%Y-%m-%d).md"
trap 'kill "${PID:-}" 2>/dev/null || true; wait "${PID:-}" 2>/dev/null || true; rm -rf "$DATA"' EXIT
command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "no beian binary at $BIN" >&2; exit 2; }

# 1. appending 100,000 entries through the registry (SQLite, WAL, synchronous=FULL)
t0=$(date +%s.%N)
"$BIN" registry seed --synthetic 100000 --data-dir "$DATA" >/dev/null
t1=$(date +%s.%N)
SEED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
t0=$(date +%s.%N)
"$BIN" audit verify --data-dir "$DATA" > "$DATA/verify.txt"
t1=$(date +%s.%N)
VERIFY=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
ENTRIES=$(grep -o '[0-9]* log entries' "$DATA/verify.txt" | head -1 | cut -d' ' -f1)

# 2. in-memory costs and signing against floors
"$BIN" log bench --entries 100000 --signatures 2000 > "$DATA/bench.md"

# 3. register tail latency, sequential, with the log on
RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" --public-rate 0 2>"$DATA/serve.log" &
PID=$!
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.05; done
t0=$(date +%s.%N)
curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/api/v1/register?q=%E5%90%88%E6%88%90&province=%E5%8C%97%E4%BA%AC" > "$DATA/first.txt"
FIRST=$(cat "$DATA/first.txt")
cat > "$DATA/zh.lua" <<'LUA'
local provs = {"%E5%8C%97%E4%BA%AC", "%E4%B8%8A%E6%B5%B7", "%E5%B9%BF%E4%B8%9C", "%E6%B5%99%E6%B1%9F"}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/register?q=%E5%90%88%E6%88%90%E6%9C%8D%E5%8A%A1" .. ((n * 31) % 100000) .. "&province=" .. provs[(n % 4) + 1])
end
LUA
wrk -t1 -c1 -d"$SEQ" --latency -s "$DATA/zh.lua" "http://127.0.0.1:$PORT/api/v1/register" > "$DATA/seq.txt"
SEQ_N=$(awk '/requests in/ {print $1}' "$DATA/seq.txt")
SEQ_P50=$(awk '$1=="50%" {print $2}' "$DATA/seq.txt")
SEQ_P99=$(awk '$1=="99%" {print $2}' "$DATA/seq.txt")
SEQ_MAX=$(awk '/Latency/ && !/Distribution/ {print $4; exit}' "$DATA/seq.txt")
PROOF=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/log/checkpoint")
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=

# 4. readers after this process's own writes: sequential queries over HTTP to
# an in-process server (100,000 rows) while the same process approves filings
"$BIN" log bench --entries 100000 --tail-seconds "${TAIL_SECS:-30}" --tail-writes "${TAIL_WRITES:-10}" > "$DATA/tail.md"

# 5. search rate with the log on (the serve benchmark, same run)
DUR="${DUR:-10s}" "$ROOT/benchmarks/serve-bench.sh" "$BIN" > "$DATA/serve.md"

{
  echo "# transparency log benchmark"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), 2-core CI-class VM, no device lent; load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared with other sessions' builds)"
  echo "- binary: release build of \`beian\`; SQLite (WAL, synchronous=FULL)"
  echo "- rerun: \`benchmarks/log-bench.sh target/release/beian\`"
  echo
  echo "## Appending"
  echo
  echo "| what | time |"
  echo "|---|---:|"
  echo "| \`beian registry seed --synthetic 100000\`: 100,000 register rows and 100,001 log entries in one transaction, tree built, checkpoint signed and written | ${SEED} s |"
  echo "| \`beian audit verify\` over that database ($ENTRIES log entries: recompute the tree, compare with the signed checkpoint, replay every row) | ${VERIFY} s |"
  echo
  echo "## The log in memory (one process, same run; floors named in the last column)"
  echo
  echo "| what | time | rate | floor |"
  echo "|---|---:|---:|---|"
  cat "$DATA/bench.md"
  echo
  echo "## Register tail latency with the log on (sequential: 1 connection, distinct Chinese queries with a province filter, $SEQ)"
  echo
  echo "| first request after start | requests | p50 | p99 | max |"
  echo "|---:|---:|---:|---:|---:|"
  echo "| ${FIRST} s | $SEQ_N | $SEQ_P50 | $SEQ_P99 | $SEQ_MAX |"
  echo
  echo "The index is built before the port opens; a background task rebuilds it off to the side when the register changes or the snapshot is 60 s old and swaps an \`Arc\`, so no reader waits for a reload. \`/log/checkpoint\` answered in ${PROOF} s after the run."
  echo
  echo "## Readers after this process's own writes (\`beian log bench --tail-seconds\`)"
  echo
  echo "One client, sequential distinct Chinese queries with a province filter, against a server in the same process as the writer: each national approval commits, signs its checkpoint in the transaction and rebuilds the register snapshot before it returns (read-your-writes); readers meanwhile answer from the previous snapshot."
  echo
  echo "| run | requests | latency | after writes |"
  echo "|---|---:|---|---|"
  cat "$DATA/tail.md"
  echo
  echo "## Search rate with the log on (benchmarks/serve-bench.sh, same run)"
  echo
  sed -n '/^| endpoint/,/^$/p' "$DATA/serve.md"
} > "$OUT"
cat "$OUT"
