#!/usr/bin/env python3
"""Weak labels for the default judge model: terms of three konsheng lexicon
files' categories as short labelled texts, so that the model knows the
vocabulary of porn, guns/terror and advertising spam that no question bank in
../shared/data covers.

    python3 benchmarks/judge/lexicon-examples.py SHARED_DATA OUT/modern OUT/lexicon-terms.jsonl

Labels: 色情 (色情类型.txt, 色情词库.txt), 暴恐 (涉枪涉爆.txt, 暴恐词库.txt),
广告 (广告类型.txt). A term is dropped when it is shorter than 2 characters
or occurs in more than 0.1% of the People's Daily paragraphs or of the
training half of the reviews (everyday words such as 客服, 淘宝, 招聘); the
test half of the reviews is never looked at.
"""
import json, sys

data, modern, out = sys.argv[1], sys.argv[2], sys.argv[3]
CATS = {"色情": ["色情类型.txt", "色情词库.txt"], "暴恐": ["涉枪涉爆.txt", "暴恐词库.txt"], "广告": ["广告类型.txt"]}
refs = [[l.strip() for l in open(f"{modern}/{f}", encoding="utf-8")] for f in ("peoples-daily.txt", "reviews-train.txt")]
n = {}
with open(out, "w", encoding="utf-8") as o:
    for label, files in CATS.items():
        seen = set()
        for f in files:
            for t in open(f"{data}/lexicons/konsheng/{f}", encoding="utf-8-sig", errors="replace"):
                t = t.strip()
                if len(t) < 2 or t in seen:
                    continue
                seen.add(t)
                if any(sum(1 for r in ref if t in r) > len(ref) * 0.001 for ref in refs):
                    continue
                o.write(json.dumps({"text": t, "label": label}, ensure_ascii=False) + "\n")
                n[label] = n.get(label, 0) + 1
print(f"lexicon terms as labelled examples: {n}")
