#!/usr/bin/env python3
"""CPU time of each thread role of a `beian scan` run, per GB of input: the
workers, the readers and the main (output) thread. With many workers the
serial stages (one reader per input part, one output thread) bound the
rate: their CPU seconds per GB say how many workers they can keep busy.

    python3 bench/thread_roles.py --mb 91.3 -- target/release/beian scan --quiet \\
        --format summary --threads 4 --lexicon target/scale-bench/konsheng.bin \\
        target/scale-bench/corpus.txt

Runs the command BEIAN_BENCH_RUNS times (3 by default) under `perf record -e
cpu-clock -F 10000` and sorts each thread's samples by its most frequent
functions: the main thread is the one whose id is the process's; a thread
mostly in `Engine::scan` is a worker; one mostly in the kernel's file reads
or line counting is a reader. Run it once more on an empty input to learn
the main thread's start-up, and take that off. Needs `perf` (Linux).
"""

import collections
import os
import subprocess
import sys
import tempfile

FREQ = 10000


def roles(script):
    per = collections.defaultdict(collections.Counter)
    for line in script.splitlines():
        p = line.split(None, 2)
        if len(p) < 2 or "/" not in p[0]:
            continue
        pid, tid = p[0].split("/")
        per[(pid, tid)][p[2].strip() if len(p) > 2 else ""] += 1
    out = collections.Counter()
    for (pid, tid), c in per.items():
        top = " ".join(s for s, _ in c.most_common(6))
        if pid == tid:
            role = "main"
        elif "Engine::scan" in top or "walk_into" in top or "emit_plain" in top:
            role = "workers"
        elif "_copy_to_iter" in top or "count_raw" in top or "filemap" in top:
            role = "readers"
        else:
            role = "other"
        out[role] += sum(c.values())
    return out


def main():
    args = sys.argv[1:]
    if "--" not in args or args[:1] != ["--mb"]:
        raise SystemExit(__doc__)
    mb = float(args[1])
    cmd = args[args.index("--") + 1 :]
    runs = int(os.environ.get("BEIAN_BENCH_RUNS", "3"))
    total = collections.Counter()
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "perf.data")
        for _ in range(runs):
            subprocess.run(
                ["perf", "record", "-q", "-e", "cpu-clock", "-F", str(FREQ), "-o", data, "--", *cmd],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            script = subprocess.run(
                ["perf", "script", "-i", data, "-F", "pid,tid,ip,sym"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            total += roles(script)
    print(f"{'role':8} {'ms CPU per run':>15} {'CPU s per GB':>13}")
    for role, n in total.most_common():
        ms = n / FREQ / runs * 1000
        print(f"{role:8} {ms:15.1f} {ms / mb:13.3f}")


if __name__ == "__main__":
    main()
