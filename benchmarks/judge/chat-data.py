#!/usr/bin/env python3
"""Modern conversational clean Chinese for the judge benchmark: the Chinese
and traditional Chinese dialogues of chatterbot-corpus 1.3.3 (PyPI, BSD
licence; `pip download --no-deps chatterbot-corpus==1.3.3`, unpacked into
target/, never into the repository).

    python3 benchmarks/judge/chat-data.py WHEEL_DIR OUTDIR

Writes OUTDIR/chat.txt, one utterance a line (YAML list items of the
conversations, the `categories` header skipped), distinct, at least 2
characters; and its halves by a hash of the text: OUTDIR/chat-train.txt
(training background: the other backgrounds hold no dialogue) and
OUTDIR/chat-test.txt (never trained on).
"""
import glob, hashlib, os, sys

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
seen = []
for lang in ("chinese", "traditionalchinese"):
    for f in sorted(glob.glob(f"{src}/chatterbot_corpus/data/{lang}/*.yml")):
        in_conv = False
        for line in open(f, encoding="utf-8"):
            if line.startswith("conversations:"):
                in_conv = True
                continue
            if not in_conv:
                continue
            t = line.strip()
            while t.startswith("- "):
                t = t[2:].strip()
            t = t.strip("'\"").strip()
            if len(t) >= 2 and t not in seen and not t.endswith(":"):
                seen.append(t)
with open(f"{out}/chat.txt", "w", encoding="utf-8") as o, \
        open(f"{out}/chat-train.txt", "w", encoding="utf-8") as tr, \
        open(f"{out}/chat-test.txt", "w", encoding="utf-8") as te:
    for t in seen:
        line = t.replace("\n", " ") + "\n"
        o.write(line)
        h = int(hashlib.sha256(line.strip().encode()).hexdigest()[:8], 16)
        (tr if h % 2 == 0 else te).write(line)
print(f"{len(seen)} utterances")
