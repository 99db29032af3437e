"""Screen a corpus of Parquet or JSONL shards on Ray Data with beian.

Each Ray worker holds one ``beian.Screen`` (built once, in the constructor of
a callable class given to ``map_batches``) and screens whole shards with the
same Rust readers as ``beian scan`` (``Screen.scan_files(..., columns=True)``:
the findings come back as columns, no dict per finding): record numbers are
the CLI's (1-based line for JSONL, row for Parquet), and so are the findings.
Output, as
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

A corpus that is already a Ray ``Dataset`` (from ``ray.data.read_parquet``,
``read_json`` or any other source) is screened row by row with
``screen_dataset``: a ``map_batches`` stage, one ``Screen`` per actor, each
batch's text column screened by ``Screen.scan_columns`` with the GIL released.
Its result is a ``Dataset`` with one row per finding: the columns named in
``keep`` (an id, the file path) and the finding keys. Null cells have no
findings. From the command line, ``--rows`` reads the shards with Ray's own
readers this way and writes ``rows/*.parquet``::

    python python/examples/ray_scan.py --rows --keep id --lexicon ... --input shards/ --out results/
"""

from __future__ import annotations

import argparse
import inspect
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
# The shard files a directory is searched for: what `beian scan` reads as
# Parquet or JSON Lines, plain or compressed (gzip, zstd).
PARQUET_SUFFIXES = (".parquet", ".pq")
SHARD_SUFFIXES = PARQUET_SUFFIXES + tuple(
    kind + packed for kind in (".jsonl", ".ndjson", ".json") for packed in ("", ".gz", ".zst", ".zstd")
)


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


class _HoldsScreen:
    """One ``Screen`` per Ray actor, built in the constructor (so each worker
    builds its own, once), and the text field or column to screen."""

    def __init__(
        self, lexicons: List[str], allow: List[str], field: str, threads: int, options: Optional[Dict[str, Any]]
    ) -> None:
        self.screen = beian.Screen(lexicons, allow=allow, threads=threads, **(options or {}))
        self.field = field
        self.threads = threads


class ScreenShards(_HoldsScreen):
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
        super().__init__(lexicons, allow, field, threads, options)
        self.out = out

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, Any]:
        summaries: Dict[str, list] = {c: [] for c in SUMMARY_COLUMNS}
        for n, shard in zip(batch["n"], batch["shard"]):
            shard = str(shard)
            t0 = time.perf_counter()
            # Findings as columns: no dict per finding.
            found, _errors, summary = self.screen.scan_files(
                [shard], field=self.field, threads=self.threads, columns=True
            )
            cols = {"shard": found["source"], **{c: found[c] for c in FINDING_COLUMNS[1:]}}
            pq.write_table(
                pa.table(cols, schema=FINDING_SCHEMA),
                os.path.join(self.out, "findings", f"{int(n):06d}.parquet"),
            )
            s = summary[0]
            row = dict(s, shard=shard, seconds=time.perf_counter() - t0)
            for c in SUMMARY_COLUMNS:
                summaries[c].append(row[c])
        return summaries


class ScreenRows(_HoldsScreen):
    """A ``map_batches`` callable for rows: one ``Screen`` per actor; each
    PyArrow batch's ``field`` column is screened with ``scan_columns`` (the
    GIL released while screening, no dict per finding), and each finding
    becomes a row with the ``keep`` columns of its record."""

    def __init__(
        self,
        lexicons: List[str],
        allow: List[str],
        field: str,
        keep: List[str],
        threads: int,
        options: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(lexicons, allow, field, threads, options)
        self.keep = keep

    def __call__(self, batch: pa.Table) -> pa.Table:
        for c in [self.field, *self.keep]:
            if c not in batch.column_names:
                raise KeyError(f"column `{c}` is not in the dataset (it has: {', '.join(batch.column_names)})")
        found = self.screen.scan_columns(batch.column(self.field), threads=self.threads)
        # Each finding's record: its row in the batch.
        rows = pa.array(found["row"], type=pa.int64())
        cols: Dict[str, Any] = {c: batch.column(c).take(rows) for c in self.keep}
        for c in beian.FINDING_KEYS:
            cols[c] = pa.array(found[c], type=FINDING_SCHEMA.field(c).type)
        fields = [batch.schema.field(c) for c in self.keep]
        fields += [FINDING_SCHEMA.field(c) for c in beian.FINDING_KEYS]
        return pa.table(cols, schema=pa.schema(fields))


def screen_dataset(
    ds: "ray.data.Dataset",
    lexicons: List[str],
    field: str = "text",
    keep: Optional[List[str]] = None,
    allow: Optional[List[str]] = None,
    workers: int = 2,
    threads_per_worker: int = 1,
    batch_size: int = 4096,
    options: Optional[Dict[str, Any]] = None,
) -> "ray.data.Dataset":
    """Screens the ``field`` column of a Ray ``Dataset``: one row per finding,
    with the ``keep`` columns of its record and the finding keys (lazy, like
    any ``Dataset``: write it, or ``take_all()``)."""
    lexicons = [os.path.abspath(p) for p in lexicons]
    allow = [os.path.abspath(p) for p in (allow or [])]
    return ds.map_batches(
        ScreenRows,
        fn_constructor_args=(lexicons, allow, field, list(keep or []), threads_per_worker, options),
        batch_format="pyarrow",
        batch_size=batch_size,
        # An autoscaling pool: a fixed one holding every CPU of a small
        # cluster would leave none for the read tasks that feed it.
        concurrency=(1, max(1, workers)),
        num_cpus=threads_per_worker,
    )


def read_rows(shards: List[str]) -> List["ray.data.Dataset"]:
    """The shards as ``Dataset``s, one per reader (Ray's Parquet and JSON
    readers), with a ``path`` column naming each row's shard. They are kept
    apart: Ray 2.60 cannot batch across a union of Arrow and pandas blocks,
    so each is screened on its own."""
    parquet = [s for s in shards if s.endswith(PARQUET_SUFFIXES)]
    jsonl = [s for s in shards if not s.endswith(PARQUET_SUFFIXES)]
    parts = []
    if parquet:
        parts.append(ray.data.read_parquet(parquet, include_paths=True))
    if jsonl:
        # JSON Lines (Ray >= 2.40 reads them line by line when told; every
        # shard suffix above, .ndjson included, is taken as given).
        params = inspect.signature(ray.data.read_json).parameters
        kw: Dict[str, Any] = {"include_paths": True}
        if "lines" in params:
            kw["lines"] = True
        if "file_extensions" in params:
            kw["file_extensions"] = None
        parts.append(ray.data.read_json(jsonl, **kw))
    return parts


def list_shards(inputs: List[str]) -> List[str]:
    """Shard files under the inputs (files or directories: those with a
    ``SHARD_SUFFIXES`` name, hidden ones skipped, as ``beian scan`` skips
    them), sorted; none at all is an error (``SystemExit``)."""
    out: List[str] = []
    for i in inputs:
        if os.path.isdir(i):
            for root, dirs, files in os.walk(i):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                out.extend(
                    os.path.join(root, f)
                    for f in files
                    if f.lower().endswith(SHARD_SUFFIXES) and not f.startswith(".")
                )
        else:
            out.append(i)
    if not out:
        raise SystemExit(f"no shards ({', '.join(SHARD_SUFFIXES)}) under {inputs}")
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
    p.add_argument(
        "--rows",
        action="store_true",
        help="read the shards with Ray's readers and screen row by row (screen_dataset); writes rows/*.parquet",
    )
    p.add_argument("--keep", action="append", default=[], help="with --rows: a column to keep beside each finding (repeatable; `path` names the shard)")
    a = p.parse_args(argv)
    if a.address:
        ray.init(address=a.address)
    else:
        ray.init(include_dashboard=False)
    try:
        if a.rows:
            shards = list_shards(a.input)
            out = os.path.join(os.path.abspath(a.out), "rows")
            # One reader's rows after the other: two actor pools at once can
            # hold every CPU of a small cluster and starve the reads.
            for ds in read_rows(shards):
                screen_dataset(
                    ds, a.lexicon, a.field, a.keep or ["path"], a.allow, a.workers, a.threads_per_worker
                ).write_parquet(out)
            print(f"findings: {out}")
            return 0
        paths = run(a.input, a.lexicon, a.out, a.allow, a.field, a.workers, a.threads_per_worker)
    finally:
        ray.shutdown()
    print(f"findings: {paths['findings']}\nsummaries: {paths['summaries']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
