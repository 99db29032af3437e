#!/usr/bin/env python3
"""Whole-process benchmark of `beian scan` (issue 13): equal work against raw
daachorse in both modes, start-up with source and compiled lexicons, and
scaling over threads, files and formats. Writes
benchmarks/results/scale-DATE.md.

    bash bench/scale-bench.sh            # builds release binaries, then runs this

Every ratio compares equal work in the same run: the same pattern set, both
as whole processes (start, lexicon load, reading, screening, output), best
of N runs. Standard library only.
"""

import random
import statistics
import datetime
import glob
import json
import os
import platform
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("BEIAN_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
LEX = os.path.join(SHARED, "data", "lexicons", "konsheng")
CORPUS = os.path.join(SHARED, "data", "corpus")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BEIAN = os.path.join(TARGET, "release", "beian")
PEER = os.path.join(TARGET, "release", "examples", "daachorse_peer")
# The same peer with mimalloc as its allocator, as the beian binary has.
PEER_MI = os.path.join(TARGET, "release", "examples", "daachorse_peer_mimalloc")
WORK = os.path.join(TARGET, "scale-bench")
RUNS = int(os.environ.get("BEIAN_BENCH_RUNS", "3"))
# beian keeps an engine built from source lexicons in its lexicon cache
# and loads it on the next run: a source-lexicon row would then skip the
# build that its daachorse peer does. Every command runs without the cache
# but those that name it (`BEIAN_LEXICON_CACHE=DIR` first), which are
# compared only with daachorse loading its own prebuilt automaton.
os.environ["BEIAN_LEXICON_CACHE"] = "0"
CACHE = os.path.join(WORK, "lexicon-cache")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def prepare():
    os.makedirs(WORK, exist_ok=True)
    one = os.path.join(WORK, "corpus.txt")
    if not os.path.exists(one):
        with open(one, "wb") as out:
            for p in sorted(glob.glob(os.path.join(CORPUS, "four-classic-novels", "*.txt"))):
                with open(p, "rb") as f:
                    out.write(f.read())
            out.write(sh(["zstd", "-dc", os.path.join(CORPUS, "chinese-poetry.txt.zst")]).stdout)
    with open(one, "rb") as f:
        lines = f.read().split(b"\n")
    split = os.path.join(WORK, "split")
    if not os.path.isdir(split):
        os.makedirs(split)
        per = (len(lines) + 7) // 8
        for i in range(8):
            with open(os.path.join(split, f"part{i}.txt"), "wb") as f:
                f.write(b"\n".join(lines[i * per : (i + 1) * per]) + b"\n")
    jsonl = os.path.join(WORK, "corpus.jsonl")
    if not os.path.exists(jsonl):
        with open(jsonl, "w", encoding="utf-8") as f:
            for i, l in enumerate(lines):
                f.write(json.dumps({"id": i, "text": l.decode("utf-8", "replace")}, ensure_ascii=False) + "\n")
    gz = os.path.join(WORK, "corpus.txt.gz")
    if not os.path.exists(gz):
        with open(gz, "wb") as f:
            f.write(sh(["gzip", "-c", "-1", one]).stdout)
    empty = os.path.join(WORK, "empty.txt")
    open(empty, "w").close()
    compiled = os.path.join(WORK, "konsheng.bin")
    sh([BEIAN, "lexicon", "compile", LEX, "-o", compiled])
    compiled1 = os.path.join(WORK, "konsheng-min1.bin")
    sh([BEIAN, "lexicon", "compile", LEX, "--min-term-chars", "1", "-o", compiled1])
    # daachorse's own prebuilt automata: the peers of the compiled lexicons.
    peer2 = os.path.join(WORK, "daachorse-2.bin")
    sh([PEER, "--min-chars", "2", "--save", peer2, LEX, empty])
    peer1 = os.path.join(WORK, "daachorse-1.bin")
    sh([PEER, "--min-chars", "1", "--save", peer1, LEX, empty])
    return {
        "one": one,
        "split": split,
        "jsonl": jsonl,
        "gz": gz,
        "empty": empty,
        "compiled": compiled,
        "compiled1": compiled1,
        "peer2": peer2,
        "peer1": peer1,
        "mb": os.path.getsize(one) / 1e6,
        "lines": len(lines),
    }


CPU = {}
# Median wall time of each command's runs: a stall (page faults in the
# kernel's compaction, a neighbour's load) that best-of hides shows here.
MED = {}


def with_env(cmd):
    """`cmd`'s leading `NAME=value` words (as a shell reads them) as the
    environment, and the command after them."""
    env, i = dict(os.environ), 0
    while i < len(cmd) and "=" in cmd[i] and cmd[i].split("=", 1)[0].isupper():
        k, v = cmd[i].split("=", 1)
        env[k] = v
        i += 1
    return env, list(cmd[i:])


def once(cmd):
    """One run: (wall seconds, CPU seconds, stdout)."""
    env, cmd = with_env(cmd)
    c0 = os.times()
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, env=env)
    wall = time.perf_counter() - t
    c1 = os.times()
    cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    if r.returncode not in (0, 1):
        raise SystemExit(f"{cmd}: exit {r.returncode}: {r.stderr.decode()[-500:]}")
    return wall, cpu, r.stdout


# Results measured ahead, interleaved (see interleaved()): cmd -> (wall, out).
AHEAD = {}


def interleaved(cmds):
    """Runs `cmds` round-robin, RUNS rounds in shuffled order, so that a slow spell of a shared
    machine falls on every command alike; keeps each one's best wall time
    and least CPU seconds for best()."""
    runs = {tuple(c): [] for c in cmds}
    # A fresh order each round: a neighbour's load that comes and goes with
    # a steady period cannot then fall on the same command every round.
    rng = random.Random(len(cmds))
    for _ in range(RUNS):
        order = list(cmds)
        rng.shuffle(order)
        for c in order:
            runs[tuple(c)].append(once(c))
    for k, rs in runs.items():
        CPU[k] = min(r[1] for r in rs)
        MED[k] = statistics.median(r[0] for r in rs)
        AHEAD[k] = (min(r[0] for r in rs), rs[-1][2].decode("utf-8", "replace"))


def best(cmd):
    """Best wall time of RUNS runs; the least CPU seconds (user + sys) of them in CPU."""
    if tuple(cmd) in AHEAD:
        return AHEAD[tuple(cmd)]
    times = []
    out = b""
    for _ in range(RUNS):
        wall, cpu, out = once(cmd)
        times.append((wall, cpu))
    # Best wall time and, separately, the least CPU seconds of the runs: on
    # a shared machine each is the run least disturbed by other work.
    wall = min(t for t, _ in times)
    cpu = min(c for _, c in times)
    CPU[tuple(cmd)] = cpu
    MED[tuple(cmd)] = statistics.median(t for t, _ in times)
    return wall, out.decode("utf-8", "replace")


def shown(word):
    """A command word as the results show it: paths relative to the repository."""
    k, eq, v = word.partition("=")
    if eq and k.isupper() and os.path.isabs(v):
        return f"{k}={os.path.relpath(v, ROOT)}"
    return os.path.relpath(word, ROOT) if os.path.isabs(word) else word


def scan(*args):
    return [BEIAN, "scan", "--quiet", "--format", "summary", *args]


def main():
    for b in (BEIAN, PEER, PEER_MI):
        if not os.path.exists(b):
            raise SystemExit(f"missing {b}: run bash bench/scale-bench.sh")
    c = prepare()
    mb = c["mb"]
    rows = []

    def row(name, cmd, base=None, note=""):
        t, out = best(cmd)
        note = CPU.get(tuple(cmd))
        rows.append((name, t, mb / t if mb else 0, base, note, " ".join(shown(x) for x in cmd), out, tuple(cmd)))
        return t

    # Equal work against raw daachorse, whole process, one thread: both
    # build from the source lexicon (the headline), then both load a
    # prebuilt automaton (beian's compiled lexicon, daachorse's own
    # serialization). A compiled beian lexicon is never compared with a
    # daachorse that builds: that would skip work on one side.
    # The headline commands run round-robin (interleaved), both peers beside
    # beian: the plain one (the system allocator) and one with mimalloc,
    # the allocator the beian binary uses.
    hp2 = [PEER, "--min-chars", "2", LEX, c["one"]]
    hb2 = scan("--threads", "1", "--lexicon", LEX, c["one"])
    hp1 = [PEER, "--min-chars", "1", LEX, c["one"]]
    hb1 = scan("--threads", "1", "--min-term-chars", "1", "--lexicon", LEX, c["one"])
    hm2 = [PEER_MI, "--min-chars", "2", LEX, c["one"]]
    hm1 = [PEER_MI, "--min-chars", "1", LEX, c["one"]]
    interleaved([hp2, hb2, hm2, hp1, hb1, hm1])
    # Every other comparison runs round-robin too, group by group.
    q2c = [PEER, "--load", c["peer2"], c["one"]]
    b2cc = scan("--threads", "1", "--lexicon", c["compiled"], c["one"])
    q1c = [PEER, "--load", c["peer1"], c["one"]]
    b1cc = scan("--threads", "1", "--min-term-chars", "1", "--lexicon", c["compiled1"], c["one"])
    # From the source lexicon with the lexicon cache warm (what a second
    # run gets by default): it loads the compiled engine after hashing the
    # lexicon files, so its peer is daachorse loading a prebuilt automaton.
    warm = [f"BEIAN_LEXICON_CACHE={CACHE}"]
    b2w = warm + scan("--threads", "1", "--lexicon", LEX, c["one"])
    b2we = warm + scan("--threads", "1", "--lexicon", LEX, c["empty"])
    once(b2we)
    interleaved([q2c, b2cc, q1c, b1cc, b2w])
    su = [
        [PEER, "--min-chars", "2", LEX, c["empty"]],
        scan("--lexicon", LEX, c["empty"]),
        [PEER, "--load", c["peer2"], c["empty"]],
        scan("--lexicon", c["compiled"], c["empty"]),
        [PEER, "--min-chars", "1", LEX, c["empty"]],
        scan("--threads", "1", "--min-term-chars", "1", "--lexicon", LEX, c["empty"]),
        [PEER, "--load", c["peer1"], c["empty"]],
        scan("--threads", "1", "--min-term-chars", "1", "--lexicon", c["compiled1"], c["empty"]),
        b2we,
    ]
    interleaved(su)
    sc = [scan("--threads", n, "--lexicon", c["compiled"], c[f]) for f in ("one", "split") for n in ("1", "2")]
    interleaved(sc)
    jg = [scan("--threads", n, *extra, "--lexicon", c["compiled"], c[f]) for f, extra in (("jsonl", ("--field", "text")), ("gz", ())) for n in ("1", "2")]
    interleaved(jg)
    p2 = row("daachorse, terms of 2+ characters, builds (whole process)", hp2)
    b2 = row("**beian scan, default (--min-term-chars 2), source lexicon, 1 thread**", hb2, p2)
    p1 = row("daachorse, all terms, builds (whole process)", hp1)
    b1 = row("**beian scan --min-term-chars 1, source lexicon, 1 thread**", hb1, p1)
    q2 = row("daachorse, terms of 2+ characters, prebuilt automaton (whole process)", [PEER, "--load", c["peer2"], c["one"]])
    b2c = row("beian scan, default, compiled lexicon, 1 thread", scan("--threads", "1", "--lexicon", c["compiled"], c["one"]), q2)
    q1 = row("daachorse, all terms, prebuilt automaton (whole process)", [PEER, "--load", c["peer1"], c["one"]])
    b1c = row("beian scan --min-term-chars 1, compiled lexicon, 1 thread", scan("--threads", "1", "--min-term-chars", "1", "--lexicon", c["compiled1"], c["one"]), q1)
    row("beian scan, default, source lexicon with the lexicon cache warm, 1 thread (skips the build: against daachorse prebuilt)", b2w, q2)
    # Start-up: an empty input.
    d_src = row("start-up: daachorse builds (2+ characters), empty input", [PEER, "--min-chars", "2", LEX, c["empty"]])
    s_src = row("start-up: beian, source lexicon, empty input", scan("--lexicon", LEX, c["empty"]), d_src)
    d_bin = row("start-up: daachorse prebuilt automaton, empty input", [PEER, "--load", c["peer2"], c["empty"]])
    s_bin = row("start-up: beian, compiled lexicon, empty input", scan("--lexicon", c["compiled"], c["empty"]), d_bin)
    s_warm = row("start-up: beian, source lexicon with the lexicon cache warm, empty input (against daachorse prebuilt)", b2we, d_bin)
    # The same for `--min-term-chars 1` against daachorse given all terms:
    # with the headline row, they split its ratio into start-up and the rest.
    d_src1 = row("start-up: daachorse builds (all terms), empty input", su[4])
    s_src1 = row("start-up: beian --min-term-chars 1, source lexicon, empty input", su[5], d_src1)
    d_bin1 = row("start-up: daachorse prebuilt automaton (all terms), empty input", su[6])
    s_bin1 = row("start-up: beian --min-term-chars 1, compiled lexicon, empty input", su[7], d_bin1)
    # Scaling on this machine.
    t1 = row("1 file, 1 thread (compiled)", scan("--threads", "1", "--lexicon", c["compiled"], c["one"]))
    row("1 file, 2 threads (compiled)", scan("--threads", "2", "--lexicon", c["compiled"], c["one"]), t1)
    row("8 files, 1 thread (compiled)", scan("--threads", "1", "--lexicon", c["compiled"], c["split"]), t1)
    row("8 files, 2 threads (compiled)", scan("--threads", "2", "--lexicon", c["compiled"], c["split"]), t1)
    j1 = row("JSONL --field text, 1 thread (compiled)", scan("--threads", "1", "--field", "text", "--lexicon", c["compiled"], c["jsonl"]))
    row("JSONL --field text, 2 threads (compiled)", scan("--threads", "2", "--field", "text", "--lexicon", c["compiled"], c["jsonl"]), j1)
    g1 = row("gzip text, 1 thread (compiled)", scan("--threads", "1", "--lexicon", c["compiled"], c["gz"]))
    row("gzip text, 2 threads (compiled)", scan("--threads", "2", "--lexicon", c["compiled"], c["gz"]), g1)
    m2 = row("daachorse with mimalloc, terms of 2+ characters, builds (whole process)", hm2)
    row("beian scan, default, source lexicon, 1 thread (against daachorse with mimalloc)", hb2, m2)
    m1 = row("daachorse with mimalloc, all terms, builds (whole process)", hm1)
    row("beian scan --min-term-chars 1, source lexicon, 1 thread (against daachorse with mimalloc)", hb1, m1)

    now = datetime.datetime.now(datetime.timezone.utc)
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()[:15]
    load = open("/proc/loadavg").read().strip()
    out = os.path.join(ROOT, "benchmarks", "results", f"scale-{now:%Y-%m-%d}.md")
    # A section written by hand into an earlier run of the same day is kept
    # (appended after this run's tables), never overwritten.
    kept = ""
    if os.path.exists(out):
        old = open(out, encoding="utf-8").read()
        mark = old.find("(written by hand)")
        at = old.rfind("\n## ", 0, mark) if mark >= 0 else -1
        if at >= 0:
            kept = old[at:]
    with open(out, "w", encoding="utf-8") as f:
        f.write("# beian scan: whole-process ratios, start-up and scaling\n\n")
        f.write(f"Date: {now:%Y-%m-%d %H:%M} UTC  \n")
        f.write("Command: `bash bench/scale-bench.sh` (release build; `python3 bench/scale_bench.py`)  \n")
        f.write(f"Machine: {os.cpu_count()} logical CPUs (lscpu below){', the CI-class VM, no device lent' if (os.cpu_count() or 1) <= 2 else ''}; {platform.machine()}; load average at the end: {load} (shared with other sessions: absolute times are noisy, ratios within a run less so)\n\n")
        f.write("```\n" + "\n".join(lscpu) + "\n```\n\n")
        cpu = lambda t: CPU.get(tuple(t), 0.0)
        ratio = lambda a, b: a / b if b else 0.0
        head = [
            ("default (`--min-term-chars 2`)", "the terms of 2+ characters", p2, b2, m2, rows[0], rows[1], hm2, hp2, hb2),
            ("`--min-term-chars 1`", "all terms", p1, b1, m1, rows[2], rows[3], hm1, hp1, hb1),
        ]
        f.write("## Headline: equal work, whole process, one thread, source lexicon, default normalization\n\n")
        f.write("| beian mode | daachorse given | beian s | daachorse s | beian vs daachorse (wall) | (CPU seconds) | target >= 1.0x | vs daachorse with mimalloc (wall) | (CPU seconds) | median wall, beian / daachorse | (ratio) |\n|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|\n")
        for mode, given, pt, bt, mt, prow, brow, mcmd, pcmd, bcmd in head:
            r = ratio(pt, bt)
            pm, bm = MED.get(tuple(pcmd), 0.0), MED.get(tuple(bcmd), 0.0)
            rc = ratio(prow[4], brow[4])
            rm = ratio(mt, bt)
            rmc = ratio(cpu(mcmd), brow[4])
            f.write(f"| {mode} | {given} | {bt:.3f} | {pt:.3f} | {r:.2f}x | {rc:.2f}x | {'met' if r >= 1.0 else '**missed**'} | {rm:.2f}x | {rmc:.2f}x | {bm:.3f} / {pm:.3f} | {ratio(pm, bm):.2f}x |\n")
        f.write(f"\nThe six headline commands ran round-robin, {RUNS} rounds (best wall time and least CPU seconds of each, and the median wall time: a run that stalls, in the kernel or on a neighbour's load, shows there and not in the best); so did each other group of rows compared with one another (prebuilt automata, start-up, threads and files, JSONL and gzip). beian's binary uses mimalloc as its allocator; the daachorse peer is raw daachorse as a user writes it (the system allocator), and the same peer with mimalloc is measured beside it so that no ratio credits the allocator to the matcher.\n")
        f.write("\nBoth sides start from the same lexicon files and do everything a user's run does: start, read the lexicon, build the automata, read the corpus, screen every line, print a summary. beian also normalizes (width, case, traditional, digits, separators) and builds its pinyin and sound (mixed-pinyin) automata while the main automaton builds (on one more thread with two cores, two more with three or more): `--threads 1` is the number of screening workers, so the CPU-second ratio is the one to read for work done.\n\n")
        f.write("Rows with a compiled lexicon are compared only with daachorse loading its own prebuilt automaton (`--load`), never with a daachorse that builds: such a ratio would skip work on one side.\n\n")
        f.write("beian keeps an engine built from source lexicons in its lexicon cache and loads it on the next run with the same files (`--no-lexicon-cache`, `BEIAN_LEXICON_CACHE=0` turn that off). Every row here runs with the cache off (`BEIAN_LEXICON_CACHE=0` in the environment), so a source-lexicon row builds as its daachorse peer does, except the rows that say `lexicon cache warm`: those skip the build and are compared with daachorse's prebuilt automaton.\n\n")
        f.write(f"Corpus: the four novels + decompressed poetry corpus from `../shared/data/corpus/`: {mb:.1f} MB, {c['lines']} lines (also split into 8 files, as JSONL, and gzip). Lexicon: `../shared/data/lexicons/konsheng`. Best of {RUNS} runs, wall clock of the whole process (start, lexicon load, reading, screening, summary output).\n\n")
        f.write("| run | seconds | MB/s | ratio | CPU seconds | MB per CPU second | median seconds | command |\n|---|---:|---:|---:|---:|---:|---:|---|\n")
        for name, t, rate, base, cpu, cmd, _o, full in rows:
            ratio = f"{base / t:.2f}x" if base else ""
            per = f"{mb / cpu:.1f}" if cpu else ""
            med = MED.get(tuple(full), 0.0)
            f.write(f"| {name} | {t:.3f} | {rate:.1f} | {ratio} | {cpu:.2f} | {per} | {med:.3f} | `{cmd}` |\n")
        f.write("\nCPU seconds are the least user + system time of the runs: when a 2-thread row uses about as many CPU seconds as its wall time, the process got one core (the machine is shared), and its ratio says nothing about scaling. `--threads N` is the number of screening workers; a reader thread and the output thread come on top.\n")
        f.write("\nRatios: beian rows against the daachorse row doing the same work above them (>1 means beian is faster: daachorse time / beian time); scaling rows against `1 file, 1 thread`; the JSONL and gzip 2-thread rows against their 1-thread row.\n\n")
        f.write(f"Start-up (whole process on an empty input): beian {s_src * 1e3:.0f} ms from source (daachorse {d_src * 1e3:.0f} ms), {s_bin * 1e3:.0f} ms compiled (daachorse prebuilt {d_bin * 1e3:.0f} ms), {s_warm * 1e3:.0f} ms from source with the lexicon cache warm (the default from the second run on).\n\n")
        f.write(
            "Where the `--min-term-chars 1` time goes (best times; the rest is the whole run less the empty-input start-up of the same command, so it is approximate): "
            f"start-up {s_src1 * 1e3:.0f} ms from source against daachorse's {d_src1 * 1e3:.0f} ms ({d_src1 / s_src1:.2f}x), "
            f"the rest {(b1 - s_src1) * 1e3:.0f} ms against {(p1 - d_src1) * 1e3:.0f} ms ({(p1 - d_src1) / (b1 - s_src1):.2f}x); "
            f"with prebuilt automata, start-up {s_bin1 * 1e3:.0f} ms against {d_bin1 * 1e3:.0f} ms, "
            f"the rest {(b1c - s_bin1) * 1e3:.0f} ms against {(q1 - d_bin1) * 1e3:.0f} ms ({(q1 - d_bin1) / (b1c - s_bin1):.2f}x).\n\n"
        )
        f.write("Outputs (summary first line) for the equal-work rows:\n\n```\n")
        for name, _t, _r, _b, _n, _c, o, _f in rows[:8]:
            f.write(f"{name}: {o.splitlines()[0] if o else ''}\n")
        f.write("```\n")
        f.write(kept)
    print(f"wrote {out}")
    print(open(out).read())


if __name__ == "__main__":
    main()
