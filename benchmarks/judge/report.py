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

print("# beian judge: the default model beside the lexicons")
print()
print(f"Date: {datetime.date.today()}. Machine: 2-core CI-class VM ({platform.machine()}), no device lent. "
      "Release build. Rerun: `cargo build --release -p beian && benchmarks/judge/run.sh ../shared/data`.")
print()
print("## Data (all from ../shared/data; see benchmarks/judge/make-data.py)")
print()
print(f"- Labelled: JADE v1/v2 questions (违规类型), JADE v3 violating answers (违规回答) and safe answers, "
      f"Flames prompts (dimension), CValues prompts (safe); 80/20 split by a hash of the text: "
      f"{len(test)} test texts, never trained on.")
print(f"- Background (safe): {tr['background_examples']} lines of the four classic novels and the poetry corpus.")
print("- Clean test: other novel lines and poems, never trained on (classical Chinese; no modern everyday text is in ../shared/data).")
print()
print("## Training")
print()
print(f"- {tr['train_examples']} examples trained, {tr['held_out_examples']} held out; labels: {', '.join(tr['labels'])}")
print(f"- Calibrated threshold {tr['threshold']:.4f}: flags {100*tr['held_out_safe_flagged']:.2f}% of held-out safe examples "
      f"({100*tr['held_out_background_flagged']:.2f}% of held-out background).")
print(f"- Time: {open(f'{out}/train.time').read().strip()} (reading {tr['read_seconds']:.1f} s, training and calibration {tr['train_seconds']:.1f} s on one core).")
print(f"- Model file: {tr['model_bytes']/1e6:.2f} MB ({tr['buckets']} buckets × {len(tr['labels'])} labels, 8-bit weights).")
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
print("- Calibration bounds the held-out labelled safe texts and the background at 1% each. On this data "
      "that is infeasible: more than 1% of the labelled safe texts (CValues prompts, JADE safe answers: "
      "modern Chinese on sensitive topics) score 1.0, as high as the risky ones. So the trainer falls back "
      "to the pooled bound, never below 0.5, and says so in its report (`train.txt`). The `safe flagged` "
      "column shows what that costs on such hard negatives. No modern everyday clean text is in "
      "../shared/data to calibrate on.")
print("- Lexicon rows use `beian scan` defaults (2+ character terms, normalization on, detectors off); a "
      "record is flagged when it has any finding.")
print("- Throughput was measured while other builds ran on the same 2 cores (load average about 5): "
      "treat the figures as lower bounds; the ratio compares runs made back to back.")
