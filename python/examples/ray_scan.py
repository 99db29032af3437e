"""Screen a corpus of Parquet or JSONL shards on Ray Data with beian.

Each Ray worker holds one ``beian.Screen`` (built once, in the constructor of
a callable class given to ``map_batches``) and screens whole shards with the
same Rust readers as ``beian scan``: record numbers are the CLI's (1-based
line for JSONL, row for Parquet), and so are the findings. Output, as
Parquet under ``--out``:

- ``findings/NNNNNN.parquet``, one file per shard, written by the worker
  that screened it: one row per finding: ``shard``, ``record``, ``start``,
  ``end`` (UTF-8 bytes), ``char_start``, ``char_end``, ``matched``, ``term``,
  ``risk``, ``detector`` (read them all with ``pq.read_table(out/findings)``);
- ``summaries.parquet``: one row per shard: ``shard``, ``records``, ``flagged``,
  ``findings``, ``errors``, ``seconds``.

Run it locally (Ray starts a local cluster)::

    python python/examples/ray_scan.py --lexicon ../shared/data/lexicons/konsheng \\
        --input shards/ --field text --out results/

or on a cluster, where every node has ``beian`` installed and the lexicon and
shard paths (a shared file system)::

    python python/examples/ray_scan.py --address auto ...     # or ray://head:10001

Nothing else changes: ``ray.init(address=...)`` joins the cluster instead of
starting one.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Dict, List, Optional

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import ray

import beian

FINDING_COLUMNS = ["shard", "record", *beian.FINDING_KEYS]
SUMMARY_COLUMNS = ["shard", "records", "flagged", "findings", "errors", "seconds"]
SHARD_SUFFIXES = (".parquet", ".jsonl", ".jsonl.gz", ".jsonl.zst", ".ndjson")


FINDING_SCHEMA = pa.schema(
    [
        ("shard", pa.string()),
        ("record", pa.int64()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("char_start", pa.int64()),
        ("char_end", pa.int64()),
        ("matched", pa.string()),
        ("term", pa.string()),
        ("risk", pa.string()),
        ("detector", pa.string()),
    ]
)


class ScreenShards:
    """A ``map_batches`` callable: one ``Screen`` per worker, whole shards per call.

    Each shard's findings are written by the worker that screened it, to
    ``<out>/findings/<n>.parquet`` (nothing large travels back to the
    driver); the call returns one summary row per shard.
    """

    def __init__(
        self,
        lexicons: List[str],
        allow: List[str],
        field: str,
        out: str,
        threads: int,
        options: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.screen = beian.Screen(lexicons, allow=allow, threads=threads, **(options or {}))
        self.field = field
        self.out = out
        self.threads = threads

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, Any]:
        summaries: Dict[str, list] = {c: [] for c in SUMMARY_COLUMNS}
        for n, shard in zip(batch["n"], batch["shard"]):
            shard = str(shard)
            t0 = time.perf_counter()
            findings, _errors, summary = self.screen.scan_files(
                [shard], field=self.field, threads=self.threads
            )
            cols: Dict[str, list] = {c: [] for c in FINDING_COLUMNS}
            for f in findings:
                cols["shard"].append(shard)
                for c in FINDING_COLUMNS[1:]:
                    cols[c].append(f[c])
            pq.write_table(
                pa.table(cols, schema=FINDING_SCHEMA),
                os.path.join(self.out, "findings", f"{int(n):06d}.parquet"),
            )
            s = summary[0]
            row = dict(s, shard=shard, seconds=time.perf_counter() - t0)
            for c in SUMMARY_COLUMNS:
                summaries[c].append(row[c])
        return summaries


def list_shards(inputs: List[str]) -> List[str]:
    """Shard files under the inputs (files or directories), sorted."""
    out: List[str] = []
    for i in inputs:
        if os.path.isdir(i):
            for root, _dirs, files in os.walk(i):
                out.extend(os.path.join(root, f) for f in files if f.endswith(SHARD_SUFFIXES))
        else:
            out.append(i)
    return sorted(os.path.abspath(p) for p in out)


def run(
    inputs: List[str],
    lexicons: List[str],
    out: str,
    allow: Optional[List[str]] = None,
    field: str = "text",
    workers: int = 2,
    threads_per_worker: int = 1,
    options: Optional[Dict[str, Any]] = None,
) -> Dict[str, str]:
    """Screens the shards under ``inputs`` on the current Ray cluster.

    Returns the paths of the findings directory and the summaries file.
    """
    shards = list_shards(inputs)
    if not shards:
        raise SystemExit(f"no shards ({', '.join(SHARD_SUFFIXES)}) under {inputs}")
    lexicons = [os.path.abspath(p) for p in lexicons]
    allow = [os.path.abspath(p) for p in (allow or [])]
    out = os.path.abspath(out)
    os.makedirs(os.path.join(out, "findings"), exist_ok=True)
    ds = ray.data.from_items(
        [{"n": i, "shard": s} for i, s in enumerate(shards)], override_num_blocks=len(shards)
    )
    screened = ds.map_batches(
        ScreenShards,
        fn_constructor_args=(lexicons, allow, field, out, threads_per_worker, options),
        batch_size=1,
        concurrency=workers,
        num_cpus=threads_per_worker,
    )
    rows = sorted(screened.take_all(), key=lambda r: r["shard"])
    summaries = pa.table({c: [r[c] for r in rows] for c in SUMMARY_COLUMNS})
    paths = {
        "findings": os.path.join(out, "findings"),
        "summaries": os.path.join(out, "summaries.parquet"),
    }
    pq.write_table(summaries, paths["summaries"])
    return paths


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", action="append", required=True, help="shard file or directory (repeatable)")
    p.add_argument("--lexicon", action="append", required=True, help="lexicon file or directory (repeatable)")
    p.add_argument("--allow", action="append", default=[], help="allow-list file (repeatable)")
    p.add_argument("--field", default="text", help="JSONL field / Parquet column with the text")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--workers", type=int, default=2, help="Screen actors (one Screen each)")
    p.add_argument("--threads-per-worker", type=int, default=1)
    p.add_argument("--address", default=None, help="Ray cluster address (default: start a local one)")
    a = p.parse_args(argv)
    if a.address:
        ray.init(address=a.address)
    else:
        ray.init(include_dashboard=False)
    try:
        paths = run(a.input, a.lexicon, a.out, a.allow, a.field, a.workers, a.threads_per_worker)
    finally:
        ray.shutdown()
    print(f"findings: {paths['findings']}\nsummaries: {paths['summaries']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
