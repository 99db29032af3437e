#!/usr/bin/env python3
"""What the lexicon cache costs and saves: `beian scan` start-up from the
source lexicon (konsheng, empty input, whole process) with the cache off,
on a miss (an empty cache: build, then write the entry) and warm (load the
entry), beside the compiled lexicon.

    cargo build --release -p beian && python3 bench/lexicon_cache.py

Runs the four commands round-robin in a shuffled order, BEIAN_BENCH_RUNS
rounds (21 by default); a miss round empties its cache first. Writes
benchmarks/results/lexicon-cache-DATE.md with the machine named.
"""

import datetime
import os
import random
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import device_scale  # noqa: E402  (its machine() names the host)
from scale_bench import once  # noqa: E402  (one timed run; leading NAME=value words are its environment)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("BEIAN_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
LEX = os.path.join(SHARED, "data", "lexicons", "konsheng")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BEIAN = os.path.join(TARGET, "release", "beian")
WORK = os.path.join(TARGET, "lexicon-cache-bench")
RUNS = int(os.environ.get("BEIAN_BENCH_RUNS", "21"))


def main():
    if not os.path.exists(BEIAN):
        raise SystemExit(f"missing {BEIAN}: cargo build --release -p beian")
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    empty = os.path.join(WORK, "empty.txt")
    open(empty, "w").close()
    compiled = os.path.join(WORK, "konsheng.bin")
    subprocess.run([BEIAN, "lexicon", "compile", LEX, "-o", compiled], check=True, capture_output=True)
    warm_dir, miss_dir = os.path.join(WORK, "warm"), os.path.join(WORK, "miss")

    def scan(cache, lexicon):
        return [f"BEIAN_LEXICON_CACHE={cache}", BEIAN, "scan", "--quiet", "--format", "summary", "--lexicon", lexicon, empty]

    # Each case: the command, and the cache it empties before each run.
    cases = {
        "source lexicon, cache off (builds)": (scan("0", LEX), None),
        "source lexicon, cache empty (builds, writes the entry)": (scan(miss_dir, LEX), miss_dir),
        "source lexicon, cache warm (loads the entry)": (scan(warm_dir, LEX), None),
        "compiled lexicon": (scan("0", compiled), None),
    }
    once(cases["source lexicon, cache warm (loads the entry)"][0])
    runs = {k: [] for k in cases}
    rng = random.Random(13)
    for i in range(RUNS):
        order = list(cases)
        rng.shuffle(order)
        for k in order:
            cmd, empty_first = cases[k]
            if empty_first:
                shutil.rmtree(empty_first, ignore_errors=True)
            runs[k].append(once(cmd)[:2])
        print(f"\rround {i + 1}/{RUNS}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    desc, _ = device_scale.machine()
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    now = datetime.datetime.now(datetime.timezone.utc)
    off = min(w for w, _ in runs["source lexicon, cache off (builds)"])
    L = [
        "# The lexicon cache: start-up off, on a miss, warm\n",
        f"Date: {now:%Y-%m-%d %H:%M} UTC  ",
        f"Build: `{rev}` (release)  ",
        f"Machine: {desc}  ",
        f"Command: `python3 bench/lexicon_cache.py` ({RUNS} rounds, round-robin in a shuffled order; a miss round empties its cache first)\n",
        "`beian scan --quiet --format summary` on an empty input with the konsheng lexicon, whole process: best and median wall time, least CPU seconds.\n",
        "| case | best ms | median ms | CPU ms | best wall vs cache off |",
        "|---|---:|---:|---:|---:|",
    ]
    for k, rs in runs.items():
        best = min(w for w, _ in rs)
        L.append(f"| {k} | {best * 1e3:.1f} | {statistics.median(w for w, _ in rs) * 1e3:.1f} | {min(c for _, c in rs) * 1e3:.0f} | {off / best:.2f}x |")
    L.append("")
    L.append("A miss builds as the cache-off run does, then serializes the engine and writes the entry on a thread while the scan runs, and waits for it before exit: on an empty input nothing overlaps it, so the difference is the whole cost of writing. A warm run hashes the lexicon files (SHA-256) and loads the compiled entry; the compiled-lexicon row loads a compiled file named on the command line.\n")
    text = "\n".join(L) + "\n"
    out = os.path.join(ROOT, "benchmarks", "results", f"lexicon-cache-{now:%Y-%m-%d}.md")
    with open(out, "w") as f:
        f.write(text)
    print(text)
    print(f"written: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
