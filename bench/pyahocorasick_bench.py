"""pyahocorasick on the same terms and text as crates/screen/benches/screen.rs.

Usage: python pyahocorasick_bench.py TERMS_FILE CORPUS_FILE
Prints `build_s=... search_s=... matches=...` (leftmost-longest via iter_long).
"""
import sys
import time

import ahocorasick

terms = [t for t in open(sys.argv[1], encoding="utf-8").read().split("\n") if t]
text = open(sys.argv[2], encoding="utf-8").read()

t0 = time.perf_counter()
a = ahocorasick.Automaton()
for i, t in enumerate(terms):
    a.add_word(t, i)
a.make_automaton()
build = time.perf_counter() - t0

t0 = time.perf_counter()
n = 0
for _ in a.iter_long(text):
    n += 1
search = time.perf_counter() - t0
print(f"build_s={build:.4f} search_s={search:.4f} matches={n}")
