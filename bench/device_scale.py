#!/usr/bin/env python3
"""The many-core figures of issue 13, packed here and run on a lent machine.

    python3 bench/device_scale.py pack    # here, after a release build: target/device/ (~47 MB)
    python3 bench/device_scale.py run     # there (or here, to try it): the results file

`pack` puts what the run needs under target/device/ (an ignored path, so the
`device` tool carries it): the stripped `beian` binary and the raw-daachorse
peer (xz), the konsheng lexicon, the benchmark corpus (xz) and the commit
they were built from. Nothing is built on the lent machine. With the device
tool:

    run(command="python3 bench/device_scale.py run", carry=["target/device"], timeout_s=540)

`run` unpacks into a scratch directory, makes the inputs (one file of about
1 GB made of whole copies of the corpus, the same lines in 16 files, and
the same lines as JSONL), warms the page cache, then times whole processes,
each the best (and median) of BEIAN_BENCH_RUNS runs (3 by default):

- one 1 GB file, --format summary, compiled lexicon, at 1, 2, 4, 8, 16 ...
  threads up to the machine's cores (target: 16 threads at least 12x one);
- 16 files against the one file, all threads (target: at least as fast);
- JSONL with --field text, 1 thread and all threads (target: at least 8x);
- the large file from the source lexicon at 1 thread and all threads, with
  the lexicon cache off (it builds) and warm (it loads), and the start-up
  alone (empty input), compiled and from source;
- one thread against raw daachorse on the corpus, both modes, from the
  source lexicon (target: at least 1.0x).

It checks that every run of the same input printed the same summary line,
and writes the results, machine named, to $OUT/scale-device-DATE.md (the
device tool brings $OUT back) or, without $OUT, to benchmarks/results/.
Standard library only; `lscpu` and /proc are read where they exist.
"""

import datetime
import glob
import json
import lzma
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

import scale_bench  # beside this file: its `once` runs and times one command

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("BEIAN_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
PACK = os.path.join(ROOT, "target", "device")
RUNS = int(os.environ.get("BEIAN_BENCH_RUNS", "3"))
# Bytes of the large input (whole copies of the corpus, at least this many).
BIG = int(float(os.environ.get("BEIAN_DEVICE_GB", "1")) * 1e9)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def pack():
    """Here: binaries, lexicon and corpus into target/device/."""
    beian = os.path.join(TARGET, "release", "beian")
    peer = os.path.join(TARGET, "release", "examples", "daachorse_peer")
    corpus = os.path.join(TARGET, "scale-bench", "corpus.txt")
    for p, how in (
        (beian, "cargo build --release -p beian"),
        (peer, "cargo build --release -p beian-screen --example daachorse_peer"),
        (corpus, "bash bench/scale-bench.sh (it writes the corpus)"),
    ):
        if not os.path.exists(p):
            raise SystemExit(f"missing {p}: run {how}")
    shutil.rmtree(PACK, ignore_errors=True)
    os.makedirs(PACK)
    for src, name in ((beian, "beian"), (peer, "daachorse_peer")):
        stripped = os.path.join(PACK, name)
        sh(["strip", "-o", stripped, src])
        with open(stripped, "rb") as f, lzma.open(stripped + ".xz", "wb", preset=6) as out:
            shutil.copyfileobj(f, out)
        os.remove(stripped)
    print("compressing the corpus (about a minute)", file=sys.stderr)
    with open(corpus, "rb") as f, lzma.open(os.path.join(PACK, "corpus.txt.xz"), "wb", preset=6) as out:
        shutil.copyfileobj(f, out, 1 << 20)
    lex = os.path.join(PACK, "konsheng")
    shutil.copytree(os.path.join(SHARED, "data", "lexicons", "konsheng"), lex)
    # Writable, as a copy should be (the shared data is read-only).
    for d, _, fs in os.walk(lex):
        os.chmod(d, 0o755)
        for n in fs:
            os.chmod(os.path.join(d, n), 0o644)
    rev = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).stdout.decode().strip()
    dirty = sh(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
    with open(os.path.join(PACK, "BUILD"), "w") as f:
        f.write(f"{rev}{' plus uncommitted changes' if dirty else ''}\n")
    size = sum(os.path.getsize(p) for p in glob.glob(os.path.join(PACK, "**"), recursive=True) if os.path.isfile(p))
    print(f"{PACK}: {size / 1e6:.1f} MB (the device tool carries 64 MiB at most)")


def machine():
    """The machine in words, and the number of CPUs this process may use.
    Hardware threads are named: 16 logical CPUs that are 8 cores with two
    threads each give a 16-thread run 8 cores' worth of execution units."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    model = platform.processor() or platform.machine()
    smt = ""
    try:
        info = dict(
            (k.strip(), v.strip())
            for k, _, v in (line.partition(":") for line in sh(["lscpu"]).stdout.decode().splitlines())
        )
        model = info.get("Model name", model)
        per_core, per_socket, sockets = (info.get(k) for k in ("Thread(s) per core", "Core(s) per socket", "Socket(s)"))
        if per_core and per_socket and sockets:
            smt = f" ({int(per_socket) * int(sockets)} cores, {per_core} hardware thread(s) per core)"
    except (OSError, ValueError, subprocess.CalledProcessError):
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f", {kb / 1048576:.0f} GiB memory"
    except (OSError, ValueError, IndexError):
        pass
    return f"{model}, {cores} logical CPUs{smt}{mem}, Linux {platform.release()}", cores


def once(cmd):
    """One run: (wall seconds, CPU seconds, stdout as text)."""
    wall, cpu, out = scale_bench.once(cmd)
    return wall, cpu, out.decode("utf-8", "replace")


def timed(cmds):
    """Runs the commands round-robin, RUNS rounds: (best wall, median wall,
    least CPU seconds, first summary line) per command."""
    runs = {tuple(c): [] for c in cmds}
    for _ in range(RUNS):
        for c in cmds:
            runs[tuple(c)].append(once(c))
    out = {}
    for k, rs in runs.items():
        firsts = {r[2].split("\n", 1)[0] for r in rs}
        if len(firsts) != 1:
            raise SystemExit(f"{' '.join(k)}: runs printed different summaries: {firsts}")
        out[k] = (min(r[0] for r in rs), statistics.median(r[0] for r in rs), min(r[1] for r in rs), firsts.pop())
    return out


def run():
    if not os.path.isdir(PACK):
        raise SystemExit(f"missing {PACK}: run `python3 bench/device_scale.py pack` here first and carry target/device")
    work = os.environ.get("BEIAN_DEVICE_WORK") or os.path.join(os.environ.get("TMPDIR", "/tmp"), "beian-device")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    t0 = time.time()
    for name in ("beian", "daachorse_peer"):
        with lzma.open(os.path.join(PACK, name + ".xz")) as f, open(os.path.join(work, name), "wb") as out:
            shutil.copyfileobj(f, out, 1 << 20)
        os.chmod(os.path.join(work, name), 0o755)
    beian, peer = os.path.join(work, "beian"), os.path.join(work, "daachorse_peer")
    lex = os.path.join(PACK, "konsheng")
    with lzma.open(os.path.join(PACK, "corpus.txt.xz")) as f:
        corpus = f.read()
    if not corpus.endswith(b"\n"):
        corpus += b"\n"
    one = os.path.join(work, "corpus.txt")
    with open(one, "wb") as f:
        f.write(corpus)
    copies = max(1, -(-BIG // len(corpus)))
    big = os.path.join(work, "big.txt")
    with open(big, "wb") as f:
        for _ in range(copies):
            f.write(corpus)
    size = len(corpus) * copies
    # The same lines in 16 files (cut at line ends), and as JSONL.
    data = corpus * copies
    parts = os.path.join(work, "parts16")
    os.makedirs(parts)
    at = 0
    for k in range(16):
        end = len(data) if k == 15 else data.index(b"\n", max(at, (k + 1) * len(data) // 16)) + 1
        with open(os.path.join(parts, f"part{k:02}.txt"), "wb") as f:
            f.write(data[at:end])
        at = end
    del data
    jsonl = os.path.join(work, "big.jsonl")
    with open(jsonl, "wb") as f:
        rows = [
            json.dumps({"id": i, "text": line}, ensure_ascii=False).encode() + b"\n"
            for i, line in enumerate(corpus.decode("utf-8", "replace").split("\n"))
            if line
        ]
        block = b"".join(rows)
        for _ in range(copies):
            f.write(block)
    jsize = len(block) * copies
    del rows, block
    kbin = os.path.join(work, "konsheng.bin")
    sh([beian, "lexicon", "compile", lex, "-o", kbin])
    for p in [one, big, jsonl, *glob.glob(os.path.join(parts, "*"))]:
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass
    prep = time.time() - t0
    desc, cores = machine()

    def scan(threads, *args, lexicon=kbin):
        return [beian, "scan", "--quiet", "--format", "summary", "--threads", str(threads), "--lexicon", lexicon, *args]

    def scan_src(threads, *args):
        return scan(threads, *args, lexicon=lex)

    # scale_bench turns beian's lexicon cache off (BEIAN_LEXICON_CACHE=0):
    # a source-lexicon run builds. These name a cache, filled first: the
    # default from a user's second run on, which skips the build.
    cache = os.path.join(work, "lexicon-cache")

    def scan_warm(threads, *args):
        return [f"BEIAN_LEXICON_CACHE={cache}", *scan_src(threads, *args)]

    empty = os.path.join(work, "empty.txt")
    open(empty, "wb").close()
    sweep = [t for t in (1, 2, 4, 8, 16, 32, 64) if t < cores] + [cores]
    res = timed([scan(t, big) for t in sweep])
    # The same file from the source lexicon: its start-up (the main
    # automaton's single-threaded build) is the serial floor of a many-core
    # run (benchmarks/scaling-model.md); and the start-up alone.
    scale_bench.once(scan_warm(1, empty))
    src = timed([scan_src(1, big), scan_src(cores, big), scan_warm(1, big), scan_warm(cores, big)])
    starts = timed([scan(1, empty), scan_src(1, empty), scan_warm(1, empty)])
    files = timed([scan(cores, big), scan(cores, parts)])
    js = timed([scan(1, "--field", "text", jsonl), scan(cores, "--field", "text", jsonl)])
    head = timed(
        [
            [peer, "--min-chars", "2", lex, one],
            scan_src(1, one),
            [peer, "--min-chars", "1", lex, one],
            scan_src(1, "--min-term-chars", "1", one),
        ]
    )
    for group, what in (
        (res, "the large file at every thread count"),
        (files, "one file and 16 files"),
        ({**res, **src}, "the large file, compiled and from source"),
    ):
        summaries = {v[3] for v in group.values()}
        if len(summaries) != 1:
            raise SystemExit(f"{what} gave different summaries: {summaries}")

    with open(os.path.join(PACK, "BUILD")) as f:
        build = f.read().strip()
    now = datetime.datetime.now(datetime.timezone.utc)
    L = []
    L.append("# beian scan on a many-core machine: threads, files, JSONL, one thread against daachorse\n")
    L.append(f"Date: {now:%Y-%m-%d %H:%M} UTC  ")
    L.append(f"Build: `{build}` (release, stripped; packed by `python3 bench/device_scale.py pack`)  ")
    L.append(f"Machine: {desc}  ")
    L.append(f"Command: `python3 bench/device_scale.py run` (best and median of {RUNS} runs, round-robin; inputs made and cached in {prep:.0f} s)\n")
    L.append(f"Inputs: `big.txt` is {copies} whole copies of the benchmark corpus (the four novels and the poetry corpus, {len(corpus) / 1e6:.1f} MB), {size / 1e9:.2f} GB; `parts16/` holds the same lines in 16 files; `big.jsonl` the same lines as JSONL objects, {jsize / 1e9:.2f} GB. Lexicon: konsheng, compiled (`beian lexicon compile`), `--format summary`, whole process.\n")

    def t(k):
        return res[tuple(scan(k, big))]

    base = t(1)
    L.append(f"## One file of {size / 1e9:.2f} GB, by threads\n")
    L.append("| threads | best s | median s | GB/s | CPU s | speed-up on 1 thread |")
    L.append("|---:|---:|---:|---:|---:|---:|")
    for k in sweep:
        b, m, c, _ = t(k)
        L.append(f"| {k} | {b:.3f} | {m:.3f} | {size / b / 1e9:.2f} | {c:.2f} | {base[0] / b:.2f}x |")
    s16 = t(16)[0] if 16 in sweep else None
    L.append("")
    if s16:
        L.append(f"Target: 16 threads at least 12x one thread: **{base[0] / s16:.2f}x**, {'met' if base[0] / s16 >= 12 else 'not met'}.\n")
    else:
        L.append(f"This machine has {cores} logical CPUs: the 16-thread target cannot be measured on it.\n")
    s1, sn = src[tuple(scan_src(1, big))], src[tuple(scan_src(cores, big))]
    w1, wn = src[tuple(scan_warm(1, big))], src[tuple(scan_warm(cores, big))]
    e_c, e_s, e_w = starts[tuple(scan(1, empty))], starts[tuple(scan_src(1, empty))], starts[tuple(scan_warm(1, empty))]
    L.append("## The same file from the source lexicon\n")
    L.append(f"Start-up (the whole process on an empty input): compiled {e_c[0] * 1000:.0f} ms, from source {e_s[0] * 1000:.0f} ms, from source with the lexicon cache warm {e_w[0] * 1000:.0f} ms (best of {RUNS}). From source, the main automaton is built on one thread before any record is screened: a floor no thread count lowers (`benchmarks/scaling-model.md`). beian keeps that build in its lexicon cache and loads it on the next run with the same files; the `source` rows run with the cache off (they build every time), the `source, cache warm` rows with it filled (they skip the build).\n")
    L.append("| lexicon | threads | best s | median s | CPU s | speed-up on 1 thread |")
    L.append("|---|---:|---:|---:|---:|---:|")
    L.append(f"| compiled | 1 | {base[0]:.3f} | {base[1]:.3f} | {base[2]:.2f} | 1.00x |")
    L.append(f"| compiled | {cores} | {t(cores)[0]:.3f} | {t(cores)[1]:.3f} | {t(cores)[2]:.2f} | {base[0] / t(cores)[0]:.2f}x |")
    L.append(f"| source | 1 | {s1[0]:.3f} | {s1[1]:.3f} | {s1[2]:.2f} | 1.00x |")
    L.append(f"| source | {cores} | {sn[0]:.3f} | {sn[1]:.3f} | {sn[2]:.2f} | {s1[0] / sn[0]:.2f}x |")
    L.append(f"| source, cache warm | 1 | {w1[0]:.3f} | {w1[1]:.3f} | {w1[2]:.2f} | 1.00x |")
    L.append(f"| source, cache warm | {cores} | {wn[0]:.3f} | {wn[1]:.3f} | {wn[2]:.2f} | {w1[0] / wn[0]:.2f}x |")
    L.append("")
    b1, bn = files[tuple(scan(cores, big))], files[tuple(scan(cores, parts))]
    L.append("## 16 files against one file of the same lines\n")
    L.append("| input | threads | best s | median s | CPU s |")
    L.append("|---|---:|---:|---:|---:|")
    L.append(f"| one file | {cores} | {b1[0]:.3f} | {b1[1]:.3f} | {b1[2]:.2f} |")
    L.append(f"| 16 files | {cores} | {bn[0]:.3f} | {bn[1]:.3f} | {bn[2]:.2f} |")
    L.append(f"\nTarget: 16 files at least as fast as one file: one file / 16 files = **{b1[0] / bn[0]:.2f}x**, {'met' if bn[0] <= b1[0] else 'not met'}.\n")
    j1, jn = js[tuple(scan(1, "--field", "text", jsonl))], js[tuple(scan(cores, "--field", "text", jsonl))]
    L.append("## JSONL with --field text\n")
    L.append("| threads | best s | median s | GB/s | CPU s |")
    L.append("|---:|---:|---:|---:|---:|")
    for k, v in ((1, j1), (cores, jn)):
        L.append(f"| {k} | {v[0]:.3f} | {v[1]:.3f} | {jsize / v[0] / 1e9:.2f} | {v[2]:.2f} |")
    L.append(f"\nTarget: at least 8x one thread: **{j1[0] / jn[0]:.2f}x** at {cores} threads, {'met' if j1[0] / jn[0] >= 8 else 'not met'}.\n")
    L.append("## One thread against raw daachorse (equal work, source lexicon, the corpus once)\n")
    L.append("| beian mode | daachorse given | beian best s | daachorse best s | best wall | median wall | CPU seconds |")
    L.append("|---|---|---:|---:|---:|---:|---:|")
    hk = list(head)
    for mode, given, p, b in (("default", "terms of 2+ characters", hk[0], hk[1]), ("`--min-term-chars 1`", "all terms", hk[2], hk[3])):
        pv, bv = head[p], head[b]
        L.append(f"| {mode} | {given} | {bv[0]:.3f} | {pv[0]:.3f} | {pv[0] / bv[0]:.2f}x | {pv[1] / bv[1]:.2f}x | {pv[2] / bv[2]:.2f}x |")
    L.append("\nRatios above 1 mean beian is faster. `--threads 1` is the number of screening workers: a reader thread, the output thread and, from a source lexicon, the pinyin and sound automata's build thread come on top, so the CPU-second ratio is the one to read for work done.\n")
    L.append("## Summary lines (the same for every run of an input)\n")
    L.append("```")
    L.append(f"big.txt:   {base[3]}")
    L.append(f"big.jsonl: {j1[3]}")
    L.append("```")
    text = "\n".join(L) + "\n"
    out_dir = os.environ.get("OUT") or os.path.join(ROOT, "benchmarks", "results")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"scale-device-{now:%Y-%m-%d-%H%M}.md")
    with open(path, "w") as f:
        f.write(text)
    print(text)
    print(f"written: {path}", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("pack", "run"):
        raise SystemExit(__doc__)
    pack() if sys.argv[1] == "pack" else run()
