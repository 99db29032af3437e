#!/usr/bin/env python3
"""fastText beside `beian judge` on the same data (run by run.sh in a venv
with fasttext-wheel).

    fasttext-compare.py OUT BACKGROUND...

Trains a supervised fastText model on OUT/train.jsonl plus the background
files (as `safe`), with each character a token and word n-grams 1..3 (so
character 1-3-grams, like beian judge), 2^17 hash buckets, 20 epochs, one
thread. Holds out 10% (by a hash of the text) to calibrate the threshold on
P(not safe) by beian's rule (labelled safe <= 10%, background <= 1%), then
reports precision, recall and F1 on OUT/test.jsonl, the share of
OUT/modern/reviews-test.txt and OUT/clean-test.txt flagged, the training time
and predict throughput (C++ batch predict over those files). JSON on stdout.
"""
import hashlib, json, os, random, sys, tempfile, time

import fasttext

out, bgs = sys.argv[1], sys.argv[2:]


def toks(t):
    return " ".join(c for c in t.replace("\n", " ") if not c.isspace())


def held(t):
    return int(hashlib.sha256(t.encode()).hexdigest()[:8], 16) % 10 == 0


train, cal = [], []
for l in open(f"{out}/train.jsonl", encoding="utf-8"):
    r = json.loads(l)
    (cal if held(r["text"]) else train).append((r["text"], r["label"], False))
for f in bgs:
    for l in open(f, encoding="utf-8"):
        l = l.strip()
        if len(l) >= 4:
            (cal if held(l) else train).append((l, "safe", True))
# fastText has no class weights: labelled texts are repeated REPEAT times
# (about beian's 1/sqrt(frequency) weighting of the background's label).
# fastText reads its file in order each epoch with a decaying rate: shuffle
# once (fixed seed) so the background does not all come last.
random.Random(1).shuffle(train)
n_bg = sum(1 for _, _, bg in train if bg)
REPEAT = max(1, round((n_bg / max(1, len(train) - n_bg)) ** 0.5))
with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as tf:
    for t, lab, bg in train:
        for _ in range(1 if bg else REPEAT):
            tf.write(f"__label__{lab} {toks(t)}\n")
t0 = time.perf_counter()
FT = dict(epoch=int(os.environ.get("FT_EPOCH", 20)), lr=float(os.environ.get("FT_LR", 0.5)),
          wordNgrams=int(os.environ.get("FT_NGRAMS", 3)), minn=0, maxn=0,
          bucket=int(os.environ.get("FT_BUCKET", 1 << 17)), dim=int(os.environ.get("FT_DIM", 16)),
          thread=1, loss="softmax", verbose=0)
m = fasttext.train_supervised(tf.name, **FT)
train_s = time.perf_counter() - t0
os.unlink(tf.name)
m.save_model(tf.name + ".bin")
model_bytes = os.path.getsize(tf.name + ".bin")
os.unlink(tf.name + ".bin")


def scores(texts, pre=False):
    labels, probs = m.predict(texts if pre else [toks(t) for t in texts], k=-1)
    res = []
    for ls, ps in zip(labels, probs):
        p = dict(zip(ls, ps))
        res.append(1.0 - float(p.get("__label__safe", 0.0)))
    return res


def calibrate(s, share):
    s = sorted(s, reverse=True)
    allowed = int(len(s) * share)
    if allowed >= len(s):
        return 0.0
    keep = s[allowed]
    above = s[allowed - 1] if allowed > 0 else 1.0
    return keep + (above - keep) / 2 if above > keep else min(1.0, keep + 1e-7)


ls = scores([t for t, lab, bg in cal if lab == "safe" and not bg])
bs = scores([t for t, lab, bg in cal if bg])
thr = max(calibrate(ls, 0.10), calibrate(bs, 0.01))
test = [json.loads(l) for l in open(f"{out}/test.jsonl", encoding="utf-8")]
ts = scores([r["text"] for r in test])


def binary(t):
    tp = sum(1 for r, s in zip(test, ts) if r["label"] != "safe" and s >= t)
    fp = sum(1 for r, s in zip(test, ts) if r["label"] == "safe" and s >= t)
    pos = sum(1 for r in test if r["label"] != "safe")
    neg = len(test) - pos
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / pos
    return {"threshold": t, "precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "fpr": fp / neg}


def flag_rate(path, t):
    lines = [l.strip() for l in open(path, encoding="utf-8") if l.strip()]
    pre = [toks(l) for l in lines]
    t0 = time.perf_counter()
    s = scores(pre, pre=True)  # the C++ predict only; tokenizing is not timed
    secs = time.perf_counter() - t0
    size = sum(len(l.encode()) + 1 for l in lines)
    return sum(1 for x in s if x >= t) / len(lines), len(lines), size, secs


rv = flag_rate(f"{out}/modern/reviews-test.txt", thr)
ct = flag_rate(f"{out}/clean-test.txt", thr)
print(json.dumps({
    "fasttext_version": getattr(fasttext, "__version__", "fasttext-wheel"),
    "settings": FT, "train_examples": len(train), "labelled_repeat": REPEAT, "held_out": len(cal), "train_seconds": train_s, "model_bytes": model_bytes,
    "calibrated": binary(thr), "at_0.5": binary(0.5),
    "reviews_flagged": rv[0], "reviews_n": rv[1], "reviews_flagged_0.5": flag_rate(f"{out}/modern/reviews-test.txt", 0.5)[0],
    "clean_flagged": ct[0], "clean_n": ct[1],
    "predict_mb_per_s": (rv[2] + ct[2]) / 1e6 / (rv[3] + ct[3]),
}, indent=1))
