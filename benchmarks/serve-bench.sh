#!/usr/bin/env bash
# Benchmark of `beian serve`: public-register search vs a trivial handler
# (/healthz) of the same server, same run, with 100,000 register entries
# loaded (synthetic) plus the real published lists. Not a test: numbers go to
# benchmarks/results/serve-YYYY-MM-DD.md.
#
# Usage: benchmarks/serve-bench.sh [BEIAN_BINARY]
# Needs: wrk (Debian: apt-get install -y wrk), a release build of beian
#   (cargo build --release -p beian).
# Traffic goes to 127.0.0.1 only; every wrk run is bounded in time.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/beian}"
DUR="${DUR:-15s}"
CONN="${CONN:-32}"
THREADS="${THREADS:-2}"
PORT="${PORT:-18080}"
DATA="$(mktemp -d)"
OUT="$ROOT/benchmarks/results/serve-$(date -u +%Y-%m-%d).md"
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$DATA"' EXIT

command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "no beian binary at $BIN (cargo build --release -p beian)" >&2; exit 2; }

echo "loading 100,000 synthetic entries + the real lists into $DATA" >&2
"$BIN" registry seed --synthetic 100000 --data-dir "$DATA"
"$BIN" registry import "$ROOT"/../shared/data/registry/*.csv --data-dir "$DATA" --quiet 2>/dev/null || true

# --public-rate 0: no per-IP rate limit (wrk's connections all come from 127.0.0.1)
RUST_LOG=warn "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" --public-rate 0 2>"$DATA/serve.log" &
PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
TOTAL=$(curl -s "http://127.0.0.1:$PORT/api/v1/register" | sed -E 's/.*"total":([0-9]+).*/\1/')
echo "register entries: $TOTAL" >&2

# distinct queries: q = a number 0..99999, so every request asks something new
cat > "$DATA/distinct.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/register?q=" .. ((n * 7919) % 100000) .. "&page=1")
end
LUA
# distinct Chinese queries with a province filter
cat > "$DATA/distinct_zh.lua" <<'LUA'
local provs = {"%E5%8C%97%E4%BA%AC", "%E4%B8%8A%E6%B5%B7", "%E5%B9%BF%E4%B8%9C", "%E6%B5%99%E6%B1%9F"}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/register?q=%E5%90%88%E6%88%90%E6%9C%8D%E5%8A%A1" .. ((n * 31) % 100000) .. "&province=" .. provs[(n % 4) + 1])
end
LUA

run() { # name, url, [script]
  local name="$1" url="$2" script="${3:-}"
  local args=(-t"$THREADS" -c"$CONN" -d"$DUR" --latency)
  [ -n "$script" ] && args+=(-s "$script")
  wrk "${args[@]}" "$url" > "$DATA/$name.txt"
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$DATA/$name.txt")
  p99=$(awk '$1=="99%" {print $2}' "$DATA/$name.txt")
  echo "$name $rps $p99"
}

URL="http://127.0.0.1:$PORT"
curl -s "$URL/api/v1/register?q=%E6%A8%A1%E5%9E%8B" >/dev/null   # build the index once
wrk -t1 -c4 -d3s "$URL/healthz" >/dev/null                        # warm-up
R_TRIV=$(run trivial "$URL/healthz")
R_SAME=$(run search_repeated "$URL/api/v1/register?q=%E6%A8%A1%E5%9E%8B&page=2")
R_DIST=$(run search_distinct "$URL/api/v1/register" "$DATA/distinct.lua")
R_ZH=$(run search_distinct_zh_province "$URL/api/v1/register" "$DATA/distinct_zh.lua")
R_ALL=$(run register_all_pages "$URL/api/v1/register?page=37")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'; }
triv_rps=$(echo "$R_TRIV" | awk '{print $2}')
{
  echo "# beian serve benchmark: register search vs trivial handler"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared with other sessions' builds)"
  echo "- binary: release build of \`beian\`; SQLite in WAL mode; RUST_LOG=warn"
  echo "- data: $TOTAL active public-register entries (100,000 synthetic + the 13 genAI notices and 12 deep-synthesis batches of shared/data/registry, cancelled entries excluded)"
  echo "- load: wrk $THREADS threads, $CONN connections, $DUR per endpoint, same server process, same run; wrk runs on the same 2 cores"
  echo "- rerun: \`benchmarks/serve-bench.sh target/release/beian\` (needs \`apt-get install -y wrk\`)"
  echo
  echo "| endpoint | requests/s | p99 latency | vs trivial |"
  echo "|---|---:|---:|---:|"
  for r in "$R_TRIV" "$R_SAME" "$R_DIST" "$R_ZH" "$R_ALL"; do
    set -- $r
    echo "| $1 | $2 | $3 | $(ratio "$2" "$triv_rps") |"
  done
  echo
  echo "Endpoints: trivial = \`GET /healthz\`; search_repeated = \`GET /api/v1/register?q=模型&page=2\` (same query each time: served from the per-snapshot page cache); search_distinct = \`q\` = a different number on every request (cache misses: trigram posting lists intersected as bit sets or by galloping, then the whole query checked); search_distinct_zh_province = a different Chinese query with a province filter on every request; register_all_pages = no query, page 37."
  echo
  echo "Targets (issue 5): search ≥ 50% of the trivial handler's rate; p99 < 50 ms on 2 cores."
} > "$OUT"
cat "$OUT"
