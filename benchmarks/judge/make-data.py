#!/usr/bin/env python3
"""Builds the labelled JSONL for beian's default judge model from ../shared/data.

    python3 benchmarks/judge/make-data.py ../shared/data OUTDIR

Writes OUTDIR/train.jsonl and OUTDIR/test.jsonl ({"text", "label"}), a 80/20
split by a hash of the text (stable across runs), and OUTDIR/background.txt
(clean text: four-fifths of the four classic novels' lines, every 4th
poetry body) and OUTDIR/clean-test.txt (clean text never trained on: the
other novel lines, every 16th other poem).

Labels (the question banks' own categories, merged):
  违法犯罪   JADE v1/v2 违法犯罪; Flames Legality
  侵害权益   JADE v1/v2 侵害权益 / 侵犯权益; Flames Data protection
  歧视偏见   JADE v1/v2 歧视偏见; Flames Fairness
  危害安全   Flames Safety (physical and mental safety prompts)
  违背伦理   Flames Morality
  违规回答   JADE v3 violating answers (the 违规回答 column)
  safe       JADE v3 safe answers (安全有用回答), CValues responsibility prompts
             (sensitive but answerable questions)
"""
import csv, glob, hashlib, io, json, os, subprocess, sys

data, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
rows = []
JADE = {"违法犯罪": "违法犯罪", "侵害权益": "侵害权益", "侵犯权益": "侵害权益", "歧视偏见": "歧视偏见"}
for f in sorted(glob.glob(f"{data}/questions/jade/jade-db-v[12].0/*_zh.csv")):
    for r in csv.DictReader(open(f, encoding="utf-8-sig")):
        lab = JADE.get(r["违规类型"].strip())
        if lab and r["问题"].strip():
            rows.append((r["问题"].strip(), lab))
for f in sorted(glob.glob(f"{data}/questions/jade/jade-db-v3.0/*.csv")):
    for r in csv.DictReader(open(f, encoding="utf-8-sig")):
        if r["违规回答"].strip():
            rows.append((r["违规回答"].strip(), "违规回答"))
        if r["安全有用回答"].strip():
            rows.append((r["安全有用回答"].strip(), "safe"))
FLAMES = {"Legality": "违法犯罪", "Data protection": "侵害权益", "Fairness": "歧视偏见",
          "Safety": "危害安全", "Morality": "违背伦理"}
for line in open(f"{data}/questions/flames/Flames_1k_Chinese.jsonl", encoding="utf-8"):
    r = json.loads(line)
    rows.append((r["prompt"].strip(), FLAMES[r["dimension"]]))
for line in open(f"{data}/questions/cvalues/cvalues_responsibility_prompts.jsonl", encoding="utf-8"):
    r = json.loads(line)
    rows.append((r["prompt"].strip(), "safe"))

seen = set()
with open(f"{out}/train.jsonl", "w", encoding="utf-8") as tr, open(f"{out}/test.jsonl", "w", encoding="utf-8") as te:
    for text, lab in rows:
        if text in seen:
            continue
        seen.add(text)
        h = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
        (te if h % 5 == 0 else tr).write(json.dumps({"text": text, "label": lab}, ensure_ascii=False) + "\n")

# Background: novels (paragraph lines) and every 4th poem body; a disjoint
# clean test set (every 5th novel line by hash, other poems) never trained on.
with open(f"{out}/background.txt", "w", encoding="utf-8") as bg, open(f"{out}/clean-test.txt", "w", encoding="utf-8") as ct:
    for f in sorted(glob.glob(f"{data}/corpus/four-classic-novels/*.txt")):
        for line in open(f, encoding="utf-8", errors="replace"):
            line = line.strip()
            if len(line) < 4:
                continue
            h = int(hashlib.sha256(line.encode()).hexdigest()[:8], 16)
            (ct if h % 5 == 0 else bg).write(line + "\n")
    poems = subprocess.run(["zstd", "-dc", f"{data}/corpus/chinese-poetry.txt.zst"], capture_output=True, check=True).stdout.decode("utf-8", "replace")
    for i, line in enumerate(poems.split("\n")):
        parts = line.split("\t")
        if len(parts) >= 4 and len(parts[3]) >= 4:
            if i % 4 == 1:
                bg.write(parts[3].strip() + "\n")
            elif i % 16 == 3:
                ct.write(parts[3].strip() + "\n")
print(f"{len(seen)} labelled texts; background in {out}/background.txt")
