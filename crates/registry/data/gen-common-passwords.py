#!/usr/bin/env python3
"""Regenerates common-passwords.txt: the 10,000 most frequent passwords of the
`passwords` frequency list shipped by the zxcvbn crate (crates.io, MIT; the
list comes from Dropbox's zxcvbn, ranked by frequency in leaked password
sets). Run `cargo info zxcvbn` first so that the crate is in ~/.cargo."""
import glob, os, re, sys
src = sorted(glob.glob(os.path.expanduser("~/.cargo/registry/src/*/zxcvbn-3.*/src/frequency_lists.rs")))[-1]
text = open(src, encoding="utf-8").read()
m = re.search(r'const PASSWORDS: &str = "([^"]*)"', text)
words = m.group(1).split(",")[:10000]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "common-passwords.txt")
with open(out, "w", encoding="utf-8") as f:
    f.write(f"# top {len(words)} of the zxcvbn `passwords` frequency list ({os.path.basename(os.path.dirname(os.path.dirname(src)))}, MIT)\n")
    f.write("\n".join(words) + "\n")
print(out, len(words), file=sys.stderr)
