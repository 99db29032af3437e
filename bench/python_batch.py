#!/usr/bin/env python3
"""beian.Screen.scan_batch on the four novels, one build of the package beside
another (or alone), the same lines and options, the same findings (checked).

    target/pyvenv/bin/python bench/python_batch.py
    target/pyvenv/bin/python bench/python_batch.py --before /tmp/oldpkg   # pip install --target

Each package runs in a child process (PYTHONPATH puts `--before` first), in
alternating rounds; each row is the best of BEIAN_BENCH_RUNS (5 by default)
calls. Rows: `scan_batch` on every line of the four novels at 1 thread and
at every core, and a loop of `is_flagged` over the same lines (screening
without building result dicts: what the result conversion costs shows as
the difference). Writes benchmarks/results/python-batch-<UTC date>.md with
`--out`, else prints only.
"""

import datetime
import json
import os
import subprocess
import sys
import time

from device_scale import machine  # beside this file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("BEIAN_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
LEX = os.path.join(SHARED, "data", "lexicons", "konsheng")
NOVELS = os.path.join(SHARED, "data", "corpus", "four-classic-novels")
RUNS = int(os.environ.get("BEIAN_BENCH_RUNS", "5"))


def child():
    import hashlib

    import beian

    texts = []
    for name in sorted(os.listdir(NOVELS)):
        with open(os.path.join(NOVELS, name), encoding="utf-8") as f:
            texts.extend(f.read().splitlines())
    screen = beian.Screen([LEX])
    cores = os.cpu_count() or 1
    out = {"lines": len(texts), "bytes": sum(len(t.encode("utf-8")) for t in texts), "path": beian.__file__}
    for name, fn in (
        ("scan_batch, 1 thread", lambda: screen.scan_batch(texts, threads=1)),
        (f"scan_batch, {cores} threads", lambda: screen.scan_batch(texts, threads=cores)),
        ("is_flagged loop", lambda: [screen.is_flagged(t) for t in texts]),
    ):
        t = time.perf_counter()
        r = fn()
        out[name] = time.perf_counter() - t
        digest = hashlib.sha256(json.dumps(r, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        out[name + " digest"] = digest
    print(json.dumps(out))


def run(pythonpath):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child"], env=env, capture_output=True, text=True
    )
    if p.returncode != 0:
        raise SystemExit(p.stderr[-3000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    args = sys.argv[1:]
    if args == ["--child"]:
        child()
        return 0
    before = args[args.index("--before") + 1] if "--before" in args else None
    sides = [("this checkout's package", None)] + ([("before", before)] if before else [])
    results = {name: [] for name, _ in sides}
    for r in range(RUNS):
        for name, path in sides if r % 2 == 0 else sides[::-1]:
            results[name].append(run(path))
    rows_of = [k for k in results[sides[0][0]][0] if k.startswith(("scan_batch", "is_flagged")) and "digest" not in k]
    first = results[sides[0][0]][0]
    for k in rows_of:
        digests = {x[k + " digest"] for v in results.values() for x in v}
        if len(digests) != 1:
            raise SystemExit(f"{k}: the packages returned different results")
    mb = first["bytes"] / 1e6
    lines = [
        "| call | " + " | ".join(f"{n} (s)" for n, _ in sides) + (" | ratio |" if before else " |"),
        "|---|" + "---:|" * len(sides) + ("---:|" if before else ""),
    ]
    for k in rows_of:
        best = [min(x[k] for x in results[n]) for n, _ in sides]
        row = f"| {k} | " + " | ".join(f"{b:.3f}" for b in best)
        if before:
            row += f" | {best[1] / best[0]:.2f}x"
        lines.append(row + " |")
    now = datetime.datetime.now(datetime.timezone.utc)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    text = "\n".join(
        [
            "# beian.Screen.scan_batch: the Python package on the four novels",
            "",
            f"Date: {now:%Y-%m-%d %H:%M} UTC  ",
            f"Command: `python bench/python_batch.py{' --before PKG' if before else ''}` (BEIAN_BENCH_RUNS={RUNS}), at `{commit}`  ",
            f"Machine: {machine()[0]}",
            "",
            f"Input: every line of the four novels ({first['lines']} lines, {mb:.1f} MB), konsheng from source,"
            " default options. Best of the runs, each package in its own process, alternating; the results"
            " are identical (hashed). Ratio: before / this checkout (above 1: this checkout is faster).",
            "",
            *lines,
            "",
        ]
    )
    print(text)
    if "--out" in args:
        path = os.path.join(ROOT, "benchmarks", "results", f"python-batch-{now:%Y-%m-%d}.md")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
