#!/usr/bin/env python3
"""Ray tasks that each receive a beian.Screen: the engine built in every task
against shared within each worker process (what the Python package does).

    target/pyvenv/bin/python bench/ray_tasks.py            # after .ci/python.sh
    BEIAN_BENCH_RUNS=5 target/pyvenv/bin/python bench/ray_tasks.py

Ray unpickles a task's arguments (and a function's closure) for every task,
so a Screen passed to tasks is rebuilt from its lexicon paths in each one
unless the process keeps the engine (python/src/cache.rs). Both modes do the
same work on the same input and must count the same findings: 3,000 lines of
the four novels in 60 blocks, konsheng from source, a local Ray cluster on
loopback with every core. Each mode runs in a fresh Ray cluster (its own
process), the modes alternate, and each row is the best of
BEIAN_BENCH_RUNS (3 by default) runs. Writes
benchmarks/results/ray-tasks-<UTC date>.md and prints it.

Modes: `per task` sets BEIAN_ENGINE_CACHE=0 in the workers (every Screen
built anew: what the package did before the cache); `shared` is the default.

Scenarios:
- `map_batches`, the Screen in `fn_args`;
- `map_batches`, a function that closes over the Screen;
- `map` (row by row), a lambda that closes over the Screen;
- 60 `@ray.remote` tasks, the Screen passed through `ray.put`;
- control: `map_batches` with a callable class (one Screen per actor, as
  python/examples/ray_scan.py does): the same in both modes.
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
RUNS = int(os.environ.get("BEIAN_BENCH_RUNS", "3"))
LINES, BLOCKS = 3000, 60

SCENARIOS = [
    ("fn_args", "`map_batches`, the Screen in `fn_args`"),
    ("closure", "`map_batches`, a function closing over the Screen"),
    ("rows", "`map` row by row, a lambda closing over the Screen"),
    ("remote", "60 `@ray.remote` tasks, the Screen through `ray.put`"),
    ("actors", "control: `map_batches`, a callable class (one Screen per actor)"),
]


def lines():
    out = []
    for name in sorted(os.listdir(NOVELS)):
        with open(os.path.join(NOVELS, name), encoding="utf-8") as f:
            out.extend(line for line in f.read().splitlines() if line.strip())
        if len(out) >= LINES:
            break
    return out[:LINES]


def one_mode(cache):
    """In a child process: every scenario once on a fresh cluster; JSON out."""
    import numpy as np
    import ray

    import beian

    ray.init(
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"BEIAN_ENGINE_CACHE": cache}},
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    texts = lines()
    ds = ray.data.from_items(
        [{"id": i, "text": t} for i, t in enumerate(texts)], override_num_blocks=BLOCKS
    ).materialize()
    screen = beian.Screen([LEX])

    def count(batch, screen):
        batch["n"] = np.array([len(r) for r in screen.scan_batch(batch["text"])])
        return batch

    class Holds:
        def __init__(self):
            self.screen = beian.Screen([LEX])

        def __call__(self, batch):
            return count(batch, self.screen)

    @ray.remote
    def one(s, t):
        return len(s.scan(t))

    # Warm the workers up (process start, imports) outside the timings.
    ds.map_batches(lambda b: b).take_all()
    ref = ray.put(screen)
    runs = {
        "fn_args": lambda: sum(r["n"] for r in ds.map_batches(count, fn_args=(screen,)).take_all()),
        "closure": lambda: sum(r["n"] for r in ds.map_batches(lambda b: count(b, screen)).take_all()),
        "rows": lambda: sum(r["n"] for r in ds.map(lambda r: {"n": len(screen.scan(r["text"]))}).take_all()),
        "remote": lambda: sum(ray.get([one.remote(ref, t) for t in texts[:BLOCKS]])),
        "actors": lambda: sum(r["n"] for r in ds.map_batches(Holds, concurrency=2).take_all()),
    }
    out = {}
    for name, _ in SCENARIOS:
        t = time.perf_counter()
        n = runs[name]()
        out[name] = {"seconds": time.perf_counter() - t, "findings": int(n)}
    out["ray"] = ray.__version__
    ray.shutdown()
    print(json.dumps(out))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--mode":
        one_mode(sys.argv[2])
        return 0
    results = {"0": [], "1": []}
    for r in range(RUNS):
        for cache in ("0", "1") if r % 2 == 0 else ("1", "0"):
            p = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--mode", cache],
                capture_output=True,
                text=True,
            )
            if p.returncode != 0:
                sys.stderr.write(p.stderr[-4000:])
                return 1
            results[cache].append(json.loads(p.stdout.strip().splitlines()[-1]))
            print(f"run {r + 1}/{RUNS}, BEIAN_ENGINE_CACHE={cache}: done", file=sys.stderr)
    rows = []
    for name, what in SCENARIOS:
        per = min(x[name]["seconds"] for x in results["0"])
        shared = min(x[name]["seconds"] for x in results["1"])
        counts = {x[name]["findings"] for x in results["0"] + results["1"]}
        if len(counts) != 1:
            print(f"{name}: the modes counted different findings: {sorted(counts)}", file=sys.stderr)
            return 1
        rows.append(f"| {what} | {per:.2f} | {shared:.2f} | {per / shared:.1f}x | {counts.pop()} |")
    now = datetime.datetime.now(datetime.timezone.utc)
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = "?"
    text = "\n".join(
        [
            "# Ray tasks that each receive a Screen: engine built per task against shared per process",
            "",
            f"Date: {now:%Y-%m-%d %H:%M} UTC  ",
            f"Command: `python bench/ray_tasks.py` (BEIAN_BENCH_RUNS={RUNS}), at `{commit}`  ",
            f"Machine: {machine()[0]}; Ray {results['1'][0]['ray']}, a local cluster on loopback with every core",
            "",
            f"Input: the first {LINES} non-empty lines of the four novels (`../shared/data/corpus/four-classic-novels`),"
            f" {BLOCKS} blocks; lexicon: konsheng from source. Seconds are the best of {RUNS} runs of each"
            " scenario, each mode in a fresh Ray cluster, the modes alternating; both modes count the same"
            " findings (checked).",
            "",
            "`per task`: `BEIAN_ENGINE_CACHE=0` in the workers, so every unpickled Screen builds its engine"
            " (what the package did before `python/src/cache.rs`); `shared`: the default, one engine per"
            " worker process for the same options and unchanged lexicon files.",
            "",
            "| scenario | per task (s) | shared (s) | ratio | findings |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
        ]
    )
    out = os.path.join(ROOT, "benchmarks", "results", f"ray-tasks-{now:%Y-%m-%d}.md")
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
