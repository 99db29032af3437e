"""The Ray Data pipeline (examples/ray_scan.py) on a local cluster over the
shared corpus, checked against the CLI."""

import gzip
import importlib.util
import json
import subprocess
import sys

import pytest

from conftest import PYTHON_DIR

ray = pytest.importorskip("ray", reason="ray is installed by .ci/python.sh")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def load_example():
    spec = importlib.util.spec_from_file_location("ray_scan", PYTHON_DIR / "examples" / "ray_scan.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def cluster():
    # A local cluster on loopback; always stopped.
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        yield
    finally:
        ray.shutdown()
    assert not ray.is_initialized()


def make_shards(novels, d):
    """JSONL, gzip JSONL and Parquet shards cut from the shared novels."""
    d.mkdir()
    lines = []
    for p in sorted(novels.glob("*.txt"))[:2]:
        lines += p.read_text(encoding="utf-8").split("\n")[:4000]
    parts = [lines[i : i + 1500] for i in range(0, len(lines), 1500)]
    shards = []
    for i, part in enumerate(parts):
        rows = [{"id": j, "text": t} for j, t in enumerate(part)]
        if i % 3 == 0:
            p = d / f"s{i}.jsonl"
            p.write_text("".join(json.dumps(r, ensure_ascii=i % 2 == 0) + "\n" for r in rows), encoding="utf-8")
        elif i % 3 == 1:
            p = d / f"s{i}.jsonl.gz"
            with gzip.open(p, "wt", encoding="utf-8") as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        else:
            p = d / f"s{i}.parquet"
            pq.write_table(pa.table({"id": [r["id"] for r in rows], "text": [r["text"] for r in rows]}), p, row_group_size=500)
        shards.append(p)
    return shards


def test_ray_pipeline_equals_cli(cluster, tmp_path, konsheng, novels, beian_bin):
    shards = make_shards(novels, tmp_path / "shards")
    mod = load_example()
    paths = mod.run([str(tmp_path / "shards")], [str(konsheng)], str(tmp_path / "out"), workers=2)
    got = pq.read_table(paths["findings"]).to_pylist()
    summaries = pq.read_table(paths["summaries"]).to_pylist()
    assert len(summaries) == len(shards)
    assert all(s["errors"] == 0 for s in summaries)
    cli = []
    for s in sorted(shards):
        out = subprocess.run(
            [beian_bin, "scan", "--quiet", "--lexicon", str(konsheng), "--format", "jsonl", str(s)],
            capture_output=True,
            text=True,
            check=True,
        )
        cli += [json.loads(l) for l in out.stdout.splitlines()]
    assert len(cli) > 500
    key = lambda f: (f["record"], f["start"], f["end"], f["term"], f["risk"], f["detector"], f["matched"])
    by_shard = {}
    for f in cli:
        by_shard.setdefault(str(tmp_path / "shards" / f["source"].rsplit("/", 1)[-1]), []).append(key(f))
    mine = {}
    for f in got:
        mine.setdefault(f["shard"], []).append(key(f))
    assert {k: sorted(v) for k, v in mine.items()} == {k: sorted(v) for k, v in by_shard.items()}
    for s in summaries:
        assert s["findings"] == len(by_shard.get(s["shard"], []))
        assert s["records"] > 0


def test_ray_dataset_rows_equal_cli(cluster, tmp_path, konsheng, novels, beian_bin):
    # A corpus that is already a Ray Dataset (Ray's own Parquet and JSON
    # readers), screened row by row: PyArrow batches, null cells included.
    shards = make_shards(novels, tmp_path / "shards")
    nulls = tmp_path / "shards" / "nulls.parquet"
    pq.write_table(pa.table({"id": [0, 1, 2, 3], "text": [None, "他们在练法轮功", None, "电话 13812345678"]}), nulls)
    shards.append(nulls)
    mod = load_example()
    parts = mod.read_rows(mod.list_shards([str(tmp_path / "shards")]))
    assert len(parts) == 2  # Parquet, JSON Lines
    rows = []
    for ds in parts:
        rows += mod.screen_dataset(ds, [str(konsheng)], keep=["path", "id"], workers=2, batch_size=700).take_all()
    mine = {}
    for r in rows:
        name = r["path"].rsplit("/", 1)[-1]
        mine.setdefault(name, []).append((r["id"] + 1, r["start"], r["end"], r["term"], r["risk"], r["detector"], r["matched"]))
    cli = {}
    for s in shards:
        out = subprocess.run(
            [beian_bin, "scan", "--quiet", "--lexicon", str(konsheng), "--format", "jsonl", str(s)],
            capture_output=True,
            text=True,
        )
        assert out.returncode in (0, 1), out.stderr  # 1: nulls.parquet's null cells are reported
        for l in out.stdout.splitlines():
            f = json.loads(l)
            cli.setdefault(s.name, []).append((f["record"], f["start"], f["end"], f["term"], f["risk"], f["detector"], f["matched"]))
    assert sum(map(len, cli.values())) > 500 and {f[0] for f in cli["nulls.parquet"]} == {2, 4}
    assert {k: sorted(v) for k, v in mine.items()} == {k: sorted(v) for k, v in cli.items()}


def test_shards_are_what_the_cli_reads_as_parquet_or_json_lines(tmp_path):
    mod = load_example()
    names = ["a.parquet", "b.PQ", "c.jsonl", "d.json", "e.ndjson.gz", "f.jsonl.zst", "g.json.zstd",
             "README.txt", "notes.csv", ".hidden.jsonl", "sub/h.jsonl", ".git/i.jsonl"]
    for n in names:
        (tmp_path / n).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / n).write_text("", encoding="utf-8")
    got = [p.split(str(tmp_path) + "/", 1)[1] for p in mod.list_shards([str(tmp_path)])]
    assert got == ["a.parquet", "b.PQ", "c.jsonl", "d.json", "e.ndjson.gz", "f.jsonl.zst", "g.json.zstd", "sub/h.jsonl"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no shards"):
        mod.list_shards([str(tmp_path / "empty")])
