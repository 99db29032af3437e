#!/usr/bin/env python3
"""Start-up of `beian scan` (lexicon load to exit, empty input), two beian
builds side by side with raw daachorse as the named peer: what a change to the
loading path gained, in wall time and CPU seconds, whole process.

    # the "before" binary: build an older commit in a worktree
    git worktree add /tmp/before <commit> && (cd /tmp/before && cargo build --release -p beian)
    cargo build --release -p beian-screen --example daachorse_peer
    python3 bench/startup_ab.py /tmp/before/target/release/beian target/release/beian

Each binary compiles its own konsheng lexicon (a compiled file is tied to the
build that wrote it). Every command runs round-robin in a shuffled order each
round, BEIAN_BENCH_RUNS rounds (default 21); best wall time and least CPU
seconds are kept. Writes benchmarks/results/startup-DATE.md. Standard library
only.
"""

import datetime
import os
import platform
import random
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("BEIAN_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
LEX = os.path.join(SHARED, "data", "lexicons", "konsheng")
# Source-lexicon rows build every run, as their peer does: beian's lexicon
# cache (which would load the engine built by the first run) is off.
os.environ["BEIAN_LEXICON_CACHE"] = "0"
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
PEER = os.path.join(TARGET, "release", "examples", "daachorse_peer")
WORK = os.path.join(TARGET, "startup-ab")
RUNS = int(os.environ.get("BEIAN_BENCH_RUNS", "21"))


def timed(cmd):
    """Wall seconds and CPU seconds (user + system) of one whole-process run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    before, after = (os.path.abspath(p) for p in sys.argv[1:])
    os.makedirs(WORK, exist_ok=True)
    empty = os.path.join(WORK, "empty.txt")
    open(empty, "w").close()
    compiled = {}
    for name, b in (("before", before), ("after", after)):
        out = os.path.join(WORK, f"konsheng-{name}.bin")
        subprocess.run([b, "lexicon", "compile", "-o", out, LEX], check=True, capture_output=True)
        compiled[name] = out
    peer_bin = os.path.join(WORK, "daachorse-2.bin")
    subprocess.run([PEER, "--min-chars", "2", "--save", peer_bin, LEX, empty], check=True, capture_output=True)
    scan = ["scan", "--quiet", "--format", "summary"]
    rows = [
        ("daachorse, prebuilt automaton (peer)", [PEER, "--load", peer_bin, empty]),
        ("beian before, compiled lexicon", [before, *scan, "--lexicon", compiled["before"], empty]),
        ("beian after, compiled lexicon", [after, *scan, "--lexicon", compiled["after"], empty]),
        ("daachorse, builds from source (peer)", [PEER, "--min-chars", "2", LEX, empty]),
        ("beian before, source lexicon", [before, *scan, "--lexicon", LEX, empty]),
        ("beian after, source lexicon", [after, *scan, "--lexicon", LEX, empty]),
    ]
    best = {name: (float("inf"), float("inf")) for name, _ in rows}
    order = list(rows)
    for r in range(RUNS):
        random.shuffle(order)
        for name, cmd in order:
            w, c = timed(cmd)
            bw, bc = best[name]
            best[name] = (min(bw, w), min(bc, c))
        print(f"round {r + 1}/{RUNS}", file=sys.stderr)
    day = datetime.date.today().isoformat()
    lines = [
        f"# beian scan start-up, before and after ({day})",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
        f"load average at the end: {os.getloadavg()}. Command: `python3 bench/startup_ab.py BEFORE AFTER` "
        f"(before: `{before}`, after: `{after}`). Empty input, konsheng lexicon, whole process; "
        f"{RUNS} rounds round-robin in a shuffled order, best wall time and least CPU seconds of each.",
        "",
        "| command | wall ms | CPU ms | wall vs peer | CPU vs peer | after vs before (wall / CPU) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    peers = {"compiled": rows[0][0], "source": rows[3][0]}
    for name, cmd in rows:
        w, c = best[name]
        kind = "compiled" if "compiled" in name or "prebuilt" in name else "source"
        pw, pc = best[peers[kind]]
        if "peer" in name:
            vs = " | "
        else:
            vs = f"{pw / w:.2f}x | " + (f"{pc / c:.2f}x" if c > 0 else "")
        ab = ""
        if "after" in name:
            bw, bc = best[name.replace("after", "before")]
            ab = f"{bw / w:.2f}x / " + (f"{bc / c:.2f}x" if c > 0 else "")
        lines.append(f"| {name} | {w * 1000:.1f} | {c * 1000:.1f} | {vs} | {ab} |")
    lines += [
        "",
        "Ratios above 1 are faster than the peer (or than before). The peer loads or builds one",
        "automaton; beian loads three (terms, pinyin, sound keys) and its normalization and gate",
        "tables, so the compiled rows are not equal work: they show the distance to the target",
        "(issue 13: load under 20 ms), not a like-for-like ratio.",
        "",
        "Commands:",
        "",
    ]
    lines += [f"- {name}: `{' '.join(cmd)}`" for name, cmd in rows]
    out = os.path.join(ROOT, "benchmarks", "results", f"startup-{day}.md")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
