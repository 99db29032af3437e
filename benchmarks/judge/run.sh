#!/usr/bin/env bash
# Trains the default judge model from ../shared/data and measures it beside
# the lexicon-only screening, then predict throughput beside `beian scan`.
#
#   benchmarks/judge/run.sh [SHARED_DATA] [OUT_DIR]
#
# Needs: a release build (cargo build --release -p beian), python3, zstd.
# Writes OUT_DIR/{train,test}.jsonl, background.txt, clean-test.txt,
# default.judge, and benchmarks/results/judge.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${1:-../shared/data}
OUT=${2:-target/judge-bench}
BEIAN=${BEIAN:-target/release/beian}
mkdir -p "$OUT"
python3 benchmarks/judge/make-data.py "$DATA" "$OUT"

# 1. Train (one core: the trainer is single-threaded; background reading uses the pipeline).
/usr/bin/time -f "%e s wall, %M KiB max RSS" -o "$OUT/train.time" \
  "$BEIAN" judge train --data "$OUT/train.jsonl" --background "$OUT/background.txt" \
    --out "$OUT/default.judge" --format json > "$OUT/train.json"
"$BEIAN" judge train --data "$OUT/train.jsonl" --background "$OUT/background.txt" \
    --out "$OUT/default.judge" > "$OUT/train.txt"

# 2. Evaluate on the held-out test split (never trained on).
"$BEIAN" judge eval --model "$OUT/default.judge" --data "$OUT/test.jsonl" --format json > "$OUT/eval.json"
"$BEIAN" judge eval --model "$OUT/default.judge" --data "$OUT/test.jsonl" > "$OUT/eval.txt"
"$BEIAN" judge eval --model "$OUT/default.judge" --data "$OUT/test.jsonl" --threshold 0.5 --format json > "$OUT/eval-0.5.json"

# 3. Clean text never trained on: model and lexicons.
"$BEIAN" judge predict --model "$OUT/default.judge" --format summary --quiet "$OUT/clean-test.txt" > "$OUT/clean-model.txt"
for lex in konsheng houbb toolgood; do
  "$BEIAN" scan --lexicon "$DATA/lexicons/$lex" --detectors none --format summary --quiet "$OUT/clean-test.txt" > "$OUT/clean-$lex.txt" 2>/dev/null || true
  "$BEIAN" scan --lexicon "$DATA/lexicons/$lex" --detectors none --format jsonl --quiet "$OUT/test.jsonl" > "$OUT/test-$lex.jsonl" 2>/dev/null || true
done

# 3b. konsheng audited on the background (max share 0.1%), then scanned like the others.
"$BEIAN" lexicon audit "$DATA/lexicons/konsheng" --reference "$OUT/background.txt" -o "$OUT/konsheng-pruned.tsv" > "$OUT/audit.txt" 2>/dev/null
"$BEIAN" scan --lexicon "$OUT/konsheng-pruned.tsv" --detectors none --format summary --quiet "$OUT/clean-test.txt" > "$OUT/clean-konsheng-pruned.txt" 2>/dev/null || true
"$BEIAN" scan --lexicon "$OUT/konsheng-pruned.tsv" --detectors none --format jsonl --quiet "$OUT/test.jsonl" > "$OUT/test-konsheng-pruned.jsonl" 2>/dev/null || true

# 4. Throughput on the same input, one and two threads, 3 runs each (best).
python3 - "$OUT" <<'PY'
import sys
out = sys.argv[1]
lines = open(f"{out}/clean-test.txt", encoding="utf-8").read().splitlines()
with open(f"{out}/speed.txt", "w", encoding="utf-8") as f:
    n = 0
    while n < 60_000_000:
        for l in lines:
            f.write(l + "\n"); n += len(l.encode()) + 1
PY
best() { python3 -c '
import subprocess, sys, time
b = 1e9
for _ in range(3):
    t = time.monotonic()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    b = min(b, time.monotonic() - t)
print(f"{b:.3f}")' "$@"; }
SIZE=$(stat -c %s "$OUT/speed.txt")
rm -f "$OUT/speed.tsv.new"
for t in 1 2; do
  echo "judge $t $(best "$BEIAN" judge predict --model "$OUT/default.judge" --threads $t --quiet "$OUT/speed.txt")" >> "$OUT/speed.tsv.new"
  echo "scan-konsheng $t $(best "$BEIAN" scan --lexicon "$DATA/lexicons/konsheng" --detectors none --format summary --threads $t --quiet "$OUT/speed.txt")" >> "$OUT/speed.tsv.new"
done
mv "$OUT/speed.tsv.new" "$OUT/speed.tsv"
python3 benchmarks/judge/report.py "$OUT" "$SIZE" > benchmarks/results/judge.md
cat benchmarks/results/judge.md
