"""beian.Screen: findings, options, batches, files, pickling, CLI equality."""

import json
import os
import pickle
import subprocess
import threading
import time

import pytest

import beian

CLI_KEYS = ("start", "end", "matched", "term", "risk", "detector", "severity", "action", "via")


def test_findings_carry_the_cli_keys_and_exact_offsets(screen):
    text = "他们在练 法.輪.功 吗，电话 13812345678"
    found = screen.scan(text)
    assert found, "konsheng has 法轮功"
    raw = text.encode("utf-8")
    for f in found:
        for k in beian.FINDING_KEYS:
            assert k in f, (k, f)
        assert raw[f["start"] : f["end"]].decode("utf-8") == f["matched"]
        assert text[f["char_start"] : f["char_end"]] == f["matched"]
    fl = [f for f in found if f["term"].replace(".", "") == "法轮功"]
    assert fl and fl[0]["matched"] == "法.輪.功"
    assert fl[0]["detector"] == "lexicon"
    mobile = [f for f in found if f["detector"] == "mobile"]
    assert mobile and mobile[0]["matched"] == "13812345678"
    assert "via" not in fl[0], "plain text hits carry no `via`, as in the CLI"


def test_options_follow_the_cli(konsheng, tmp_path):
    lex = tmp_path / "t.tsv"
    lex.write_text("赌博网站\tA.1.h\n党\tA.1.a\n", encoding="utf-8")
    default = beian.Screen([str(lex)], detectors=["none"])
    assert [f["matched"] for f in default.scan("去赌博网站，党")] == ["赌博网站"]
    one = beian.Screen([str(lex)], detectors=["none"], min_term_chars=1)
    assert [f["matched"] for f in one.scan("去赌博网站，党")] == ["赌博网站", "党"]
    raw = beian.Screen([str(lex)], detectors=["none"], normalize=False)
    assert raw.scan("去賭博網站") == []
    assert default.scan("去賭博網站")[0]["matched"] == "賭博網站"
    allow = tmp_path / "allow.txt"
    allow.write_text("反赌博网站联盟\n", encoding="utf-8")
    allowed = beian.Screen([str(lex)], allow=[str(allow)], detectors=["none"])
    assert allowed.scan("反赌博网站联盟") == []
    with pytest.raises(ValueError, match="unknown detector"):
        beian.Screen([str(lex)], detectors=["nope"])
    with pytest.raises(ValueError, match="no-such-lexicon"):
        beian.Screen([str(tmp_path / "no-such-lexicon.txt")])
    assert default.config()["min_term_chars"] == 2
    assert default.stats()["entries"] == 2
    # One path (str or os.PathLike) stands for a list of one.
    one_path = beian.Screen(lex, allow=allow, detectors=["none"])
    assert one_path.config()["lexicons"] == [str(lex)] and one_path.config()["allow"] == [str(allow)]
    assert one_path.scan("去赌博网站，反赌博网站联盟") == allowed.scan("去赌博网站，反赌博网站联盟") != []
    with pytest.raises(TypeError, match="lexicons: expected a path or a list of paths, got int"):
        beian.Screen(5)


def test_scan_batch_equals_scan_in_order(screen, novels):
    lines = []
    for p in sorted(novels.glob("*.txt"))[:1]:
        lines = [l for l in p.read_text(encoding="utf-8").splitlines() if l.strip()][:3000]
    assert len(lines) > 1000
    one = [screen.scan(t) for t in lines]
    for threads in (1, 2, 3):
        assert screen.scan_batch(lines, threads=threads) == one
    assert screen.scan_batch([]) == []
    assert sum(map(len, one)) > 0


def test_scan_batch_takes_the_columns_data_teams_have(screen, novels):
    # Ray Data hands map_batches NumPy, pandas or PyArrow columns, with nulls.
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    lines = [l for l in sorted(novels.glob("*.txt"))[0].read_text(encoding="utf-8").splitlines() if l.strip()][:400]
    lines += ["他们在练法轮功", "电话 13812345678"]
    want = screen.scan_batch(lines)
    assert sum(map(len, want)) > 0
    columns = {
        "tuple": tuple(lines),
        "numpy object": np.array(lines, dtype=object),
        "numpy unicode": np.array(lines),
        "pandas": pd.Series(lines, index=range(7, 7 + len(lines))),
        "pyarrow": pa.array(lines),
        "pyarrow chunked": pa.chunked_array([lines[:150], lines[150:]]),
        "pyarrow large_string": pa.array(lines, type=pa.large_string()),
        "generator": (l for l in lines),
        "utf-8 bytes": [l.encode("utf-8") for l in lines],
    }
    for name, col in columns.items():
        assert screen.scan_batch(col, threads=2) == want, name
    # Missing cells have no findings; the others keep their places.
    holes = [None, float("nan"), pd.NA]
    mixed = [h for pair in zip(lines[-3:], holes) for h in pair]
    got = screen.scan_batch(mixed, threads=2)
    assert got[0::2] == want[-3:] and got[1::2] == [[], [], []]
    assert screen.scan_batch(pa.array(mixed[0::2] + [None])) == want[-3:] + [[]]
    assert screen.scan_batch(pd.Series(mixed[0::2] + [None])) == want[-3:] + [[]]
    assert screen.scan(None) == [] and screen.is_flagged(None) is False
    assert screen.scan("他们在练法轮功".encode("utf-8")) == screen.scan("他们在练法轮功")
    # Anything else is refused, naming the cell.
    with pytest.raises(TypeError, match=r"texts\[2\]: expected str, UTF-8 bytes or None, got int"):
        screen.scan_batch(["a", "b", 3])
    with pytest.raises(ValueError, match=r"texts\[1\]: bytes are not UTF-8 \(invalid at byte 1\)"):
        screen.scan_batch(["a", b"a\xff"])
    with pytest.raises(TypeError, match="one text was given"):
        screen.scan_batch("法轮功")
    with pytest.raises(TypeError, match=r"any iterable\) of str, got int"):
        screen.scan_batch(5)


def test_scan_batch_runs_with_the_gil_released(screen):
    # Two Python threads screening at once must both finish with the same
    # results (the engine is shared; screening runs outside the GIL).
    texts = ["法轮功 和 13812345678 " * 50] * 400
    want = screen.scan_batch(texts, threads=1)
    got = [None, None]

    def work(i):
        got[i] = screen.scan_batch(texts, threads=1)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert got == [want, want]


def test_pickles_by_config(screen, tmp_path):
    s2 = pickle.loads(pickle.dumps(screen))
    text = "法轮功 电话 13812345678"
    assert s2.scan(text) == screen.scan(text)
    assert s2.config() == screen.config()
    lex = tmp_path / "t.txt"
    lex.write_text("违禁品\n", encoding="utf-8")
    s = beian.Screen([str(lex)], detectors=["none"], min_term_chars=1, max_skip=1)
    s3 = pickle.loads(pickle.dumps(s))
    assert s3.config()["min_term_chars"] == 1 and s3.config()["max_skip"] == 1
    assert s3.scan("违 禁品") == s.scan("违 禁品") != []


def test_portable_pickles_carry_the_compiled_lexicon(konsheng, novels, tmp_path):
    # A worker without the lexicon files (no shared file system) still gets
    # the same Screen: the pickle carries the compiled lexicon.
    import shutil

    lex = tmp_path / "lex"
    shutil.copytree(konsheng, lex)
    allow = tmp_path / "allow.txt"
    allow.write_text("法轮功\n", encoding="utf-8")
    opts = dict(allow=[str(allow)], detectors=["mobile"], min_term_chars=1, initials=True)
    portable = beian.Screen([str(lex)], portable=True, **opts)
    by_path = beian.Screen([str(lex)], **opts)
    blob, thin = pickle.dumps(portable), pickle.dumps(by_path)
    assert len(blob) > 1_000_000 > len(thin)
    shutil.rmtree(lex)
    allow.unlink()
    with pytest.raises(ValueError, match="lex"):
        pickle.loads(thin)
    s2 = pickle.loads(blob)
    lines = [l for l in sorted(novels.glob("*.txt"))[0].read_text(encoding="utf-8").splitlines() if l.strip()][:300]
    texts = lines + ["法轮功 电话 13812345678 flg"]
    assert s2.scan_batch(texts) == portable.scan_batch(texts)
    assert sum(map(len, s2.scan_batch(texts))) > 100
    assert s2.config() == portable.config() and s2.config()["portable"] is True
    assert pickle.loads(pickle.dumps(s2)).scan(texts[-1]) == portable.scan(texts[-1])
    # A pickle whose bytes do not match its config is refused, not guessed.
    cfg = dict(portable.config(), min_term_chars=2)
    with pytest.raises(ValueError, match="other options than its config"):
        beian._beian._screen_from_compiled(cfg, pickle.loads(blob).__reduce__()[1][1])


def test_long_text_in_windows_keeps_offsets(tmp_path):
    lex = tmp_path / "t.txt"
    lex.write_text("违禁品\n", encoding="utf-8")
    text = ("普通文字" * 997 + "违禁品") * 40
    whole = beian.Screen([str(lex)], detectors=["none"]).scan(text)
    small = beian.Screen([str(lex)], detectors=["none"], max_record_bytes=5000).scan(text)
    assert len(whole) == 40
    assert small == whole


def cli_findings(beian_bin, args):
    out = subprocess.run(
        [beian_bin, "scan", "--quiet", "--format", "jsonl", *args],
        check=False,
        capture_output=True,
        text=True,
    )
    assert out.returncode in (0, 1), out.stderr
    return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]


def comparable(findings):
    keys = [k for k in ("source", "record", *CLI_KEYS)]
    return [{k: f[k] for k in keys if k in f} for f in findings]


def test_python_findings_equal_cli_findings_on_the_shared_corpus(screen, beian_bin, konsheng, novels):
    files = sorted(novels.glob("*.txt"))[:2]
    paths = [str(p) for p in files]
    cli = cli_findings(beian_bin, ["--lexicon", str(konsheng), *paths])
    assert len(cli) > 1000
    # scan_files: the same readers.
    found, errors, summary = screen.scan_files(paths)
    assert errors == []
    assert comparable(found) == comparable(cli)
    assert [s["source"] for s in summary] == paths
    assert sum(s["findings"] for s in summary) == len(cli)
    # scan_batch over the lines as Python reads them: the same findings.
    batch = []
    for p in files:
        lines = p.read_text(encoding="utf-8").split("\n")
        res = screen.scan_batch(lines)
        for i, fs in enumerate(res):
            for f in fs:
                batch.append(dict(f, source=str(p), record=i + 1))
    assert comparable(batch) == comparable(cli)


def test_finding_dicts_are_the_cli_findings_key_for_key(beian_bin, tmp_path):
    # Severity, action, audited weight, pinyin and homophone hits: every key
    # and value of the CLI's JSONL, and the character offsets on top.
    lex = tmp_path / "t.tsv"
    lex.write_text("赌博网站\tA.1.h\thigh\tblock\t0.9\n法轮功\tA.1.a\tlow\treview\t0.3\n违禁药品\tA.3.e\n", encoding="utf-8")
    text = tmp_path / "t.txt"
    text.write_text("去赌博网站 falungong 法轮功，卫禁药品 flg\n", encoding="utf-8")
    opts = ["--homophones", "--initials", "--min-term-chars", "1"]
    cli = cli_findings(beian_bin, ["--lexicon", str(lex), *opts, str(text)])
    assert {f.get("via") for f in cli} >= {None, "pinyin", "homophone", "initials"}
    assert any("weight" in f and "severity" in f and "action" in f for f in cli)
    screen = beian.Screen([str(lex)], homophones=True, initials=True, min_term_chars=1)
    line = text.read_text(encoding="utf-8").rstrip("\n")
    found = screen.scan(line)
    for f in found:
        assert line[f.pop("char_start") : f.pop("char_end")] == f["matched"]
    assert found == [{k: v for k, v in f.items() if k not in ("source", "record")} for f in cli]
    assert found == [{k: v for k, v in f.items() if k not in ("char_start", "char_end")} for f in screen.scan_batch([line])[0]]


COLUMNS = (
    "row", "start", "end", "char_start", "char_end", "matched", "term", "risk", "detector",
    "risks", "severity", "action", "via", "weight",
)


def test_scan_columns_are_scan_batch_by_column(screen, novels, tmp_path):
    lines = [l for l in sorted(novels.glob("*.txt"))[0].read_text(encoding="utf-8").splitlines()][:3000]
    texts = lines + [None, "", "法轮功 电话 13812345678 flg"]
    cols = screen.scan_columns(texts)
    assert list(cols) == list(COLUMNS)
    rows = [dict(f, row=i) for i, fs in enumerate(screen.scan_batch(texts)) for f in fs]
    assert len(rows) > 100 and all(len(v) == len(rows) for v in cols.values())
    assert [{k: cols[k][j] for k in COLUMNS if cols[k][j] is not None} for j in range(len(rows))] == rows
    assert cols == screen.scan_columns(texts, threads=1) == screen.scan_columns(texts, threads=3)
    # Severity, action, weight and via as the dicts carry them, None elsewhere.
    lex = tmp_path / "t.tsv"
    lex.write_text("赌博网站\tA.1.h\thigh\tblock\t0.9\n法轮功\tA.1.a\n", encoding="utf-8")
    s = beian.Screen([str(lex)], detectors=["none"])
    texts = ["去赌博网站", "falungong 法轮功"]
    cols = s.scan_columns(texts)
    assert cols["row"] == [0, 1, 1] and cols["weight"] == [0.9, None, None]
    assert cols["severity"] == ["high", None, None] and cols["via"] == [None, "pinyin", None]
    flat = [f for fs in s.scan_batch(texts) for f in fs]
    assert [{k: cols[k][j] for k in COLUMNS[1:] if cols[k][j] is not None} for j in range(3)] == flat
    pa = pytest.importorskip("pyarrow")
    t = pa.table(s.scan_columns(texts))
    assert t.num_rows == 3 and t.column("risks").to_pylist() == [["A.1.h"], ["A.1.a"], ["A.1.a"]]
    assert s.scan_columns([]) == {k: [] for k in COLUMNS}


def test_scan_files_gives_columns_on_request(screen, novels, tmp_path):
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text('{"text": "法轮功 flg"}\n{"t": 3}\n{"text": "普通"}\n{"text": "电话 13812345678"}\n', encoding="utf-8")
    paths = [str(sorted(novels.glob("*.txt"))[0]), str(jsonl)]
    found, errors, summary = screen.scan_files(paths, field="text")
    cols, errors2, summary2 = screen.scan_files(paths, field="text", columns=True)
    assert (errors2, summary2) == (errors, summary) and len(errors) == 1
    assert list(cols) == ["source", "record", *COLUMNS[1:]]
    assert len(found) > 1000 and all(len(v) == len(found) for v in cols.values())
    assert [{k: cols[k][j] for k in cols if cols[k][j] is not None} for j in range(len(found))] == found


def test_scan_files_reports_missing_inputs_once(screen, tmp_path):
    ok = tmp_path / "ok.jsonl"
    ok.write_text('{"text": "法轮功"}\n{"text": 3}\n{"t": 1}\n', encoding="utf-8")
    found, errors, summary = screen.scan_files([str(tmp_path / "missing.txt"), str(ok)])
    assert [f["record"] for f in found] == [1]
    assert len(errors) == 2
    assert errors[0]["record"] == 0 and errors[0]["message"].count("missing.txt") == 1
    assert errors[1]["record"] == 3
    assert summary[1]["records"] == 2


def test_judge_equals_cli_predict(beian_bin, tmp_path, novels):
    lines = [l for l in sorted(novels.glob("*.txt"))[0].read_text(encoding="utf-8").splitlines() if l.strip()]
    risky = ["澳门赌场在线下注，百家乐彩金日结", "网上赌博平台，充值返水，稳赚不赔", "六合彩内部资料，包中特码"]
    data = tmp_path / "train.jsonl"
    with data.open("w", encoding="utf-8") as f:
        for i in range(120):
            f.write(json.dumps({"text": risky[i % 3] + str(i), "label": "博彩"}, ensure_ascii=False) + "\n")
            f.write(json.dumps({"text": lines[i], "label": "safe"}, ensure_ascii=False) + "\n")
    model = tmp_path / "m.judge"
    out = subprocess.run(
        [beian_bin, "judge", "train", "--data", str(data), "--out", str(model)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    probe = tmp_path / "probe.txt"
    texts = lines[500:700] + risky + ["在线赌博返水"]
    probe.write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = subprocess.run(
        [beian_bin, "judge", "predict", "--model", str(model), "--format", "jsonl", str(probe)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    cli = [json.loads(l) for l in out.stdout.splitlines()]
    judge = beian.Judge(str(model))
    assert "博彩" in judge.labels and 0 <= judge.threshold <= 1
    mine = judge.predict_batch(texts)
    assert len(mine) == len(cli) == len(texts)
    for c, m, t in zip(cli, mine, texts):
        assert m == judge.predict(t)
        assert c["label"] == m["label"] and c["flagged"] == m["flagged"], (c, m)
        assert abs(c["score"] - m["score"]) <= 5.1e-5, (c, m)  # the CLI prints 4 decimals
    assert any(m["flagged"] for m in mine[-4:])
    assert judge.predict(None) is None
    assert judge.predict_batch([texts[0], None, texts[1]], threads=2) == [mine[0], None, mine[1]]
    pa = pytest.importorskip("pyarrow")
    assert judge.predict_batch(pa.array([None, texts[2]])) == [None, mine[2]]
    with pytest.raises(TypeError, match=r"texts\[0\]"):
        judge.predict_batch([1.5])
    j2 = pickle.loads(pickle.dumps(judge))
    assert j2.predict(risky[0]) == judge.predict(risky[0])


def test_a_process_builds_each_engine_once_and_never_a_stale_one(tmp_path):
    # Ray unpickles a Screen per task: the engine is shared, not rebuilt,
    # while the options and the lexicon files are the same.
    lexdir = tmp_path / "lex"
    lexdir.mkdir()
    lex = lexdir / "t.txt"
    lex.write_text("违禁品\n", encoding="utf-8")
    beian.clear_engine_cache()
    s = beian.Screen([str(lexdir)], detectors=["none"])
    assert beian.engine_cache_info() == {"hits": 0, "misses": 1, "engines": 1, "capacity": 4}
    twins = [pickle.loads(pickle.dumps(s)) for _ in range(3)]
    assert beian.engine_cache_info()["hits"] == 3
    assert all(t.scan("有违禁品") == s.scan("有违禁品") != [] for t in twins)
    # Other options: another engine.
    beian.Screen([str(lexdir)], detectors=["none"], min_term_chars=1)
    assert beian.engine_cache_info()["misses"] == 2
    # The same file edited in place, same size: its contents count, not its
    # size or modification time.
    st = lex.stat()
    lex.write_text("管制刀\n", encoding="utf-8")
    os.utime(lex, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert lex.stat().st_size == st.st_size and lex.stat().st_mtime_ns == st.st_mtime_ns
    edited = pickle.loads(pickle.dumps(s))
    assert [f["term"] for f in edited.scan("有违禁品和管制刀")] == ["管制刀"]
    assert [f["term"] for f in s.scan("有违禁品和管制刀")] == ["违禁品"], "a Screen keeps its engine"
    # A file added to the directory, and an allow-list: new engines too.
    (lexdir / "u.txt").write_text("违禁品\n", encoding="utf-8")
    assert {f["term"] for f in beian.Screen([str(lexdir)], detectors=["none"]).scan("有违禁品和管制刀")} == {
        "违禁品",
        "管制刀",
    }
    allow = tmp_path / "allow.txt"
    allow.write_text("管制刀具店\n", encoding="utf-8")
    assert beian.Screen([str(lexdir)], allow=[str(allow)], detectors=["none"]).scan("管制刀具店") == []
    # Held engines are bounded; a portable pickle is shared by its bytes.
    assert beian.engine_cache_info()["engines"] <= beian.engine_cache_info()["capacity"]
    p = beian.Screen([str(lexdir)], detectors=["none"], portable=True)
    blob = pickle.dumps(p)
    before = beian.engine_cache_info()
    a, b = pickle.loads(blob), pickle.loads(blob)
    after = beian.engine_cache_info()
    assert (after["misses"] - before["misses"], after["hits"] - before["hits"]) == (1, 1)
    assert a.scan("有违禁品和管制刀") == b.scan("有违禁品和管制刀") == p.scan("有违禁品和管制刀") != []
    beian.clear_engine_cache()
    assert beian.engine_cache_info() == {"hits": 0, "misses": 0, "engines": 0, "capacity": 4}
    assert twins[0].scan("有违禁品") != [], "a Screen outlives the cache's hold on its engine"


def test_judges_of_one_model_file_share_the_model(tmp_path):
    import shutil

    from conftest import REPO

    model = tmp_path / "m.judge"
    shutil.copy(REPO / "crates" / "judge" / "models" / "default.judge", model)
    beian.clear_engine_cache()
    j = beian.Judge(str(model))
    twins = [pickle.loads(pickle.dumps(j)) for _ in range(2)]
    assert beian.engine_cache_info()["misses"] == 1 and beian.engine_cache_info()["hits"] == 2
    assert all(t.predict("今天天气很好") == j.predict("今天天气很好") for t in twins)
    assert beian.Judge(str(model), threshold=0.5).threshold == 0.5 != j.threshold, "the threshold stays the Judge's own"
    model.write_bytes(model.read_bytes()[:100])
    with pytest.raises(ValueError):
        beian.Judge(str(model))


def test_the_engine_cache_can_be_turned_off(tmp_path, monkeypatch):
    lex = tmp_path / "t.txt"
    lex.write_text("违禁品\n", encoding="utf-8")
    monkeypatch.setenv("BEIAN_ENGINE_CACHE", "0")
    beian.clear_engine_cache()
    s = beian.Screen([str(lex)], detectors=["none"])
    assert pickle.loads(pickle.dumps(s)).scan("有违禁品") == s.scan("有违禁品") != []
    assert beian.engine_cache_info() == {"hits": 0, "misses": 0, "engines": 0, "capacity": 4}


def test_threads_default_to_omp_num_threads_as_ray_sets_it(screen, novels, monkeypatch):
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    for value, want in (("3", 3), (" 2 ", 2), ("0", cores), ("many", cores), (None, cores)):
        if value is None:
            monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        else:
            monkeypatch.setenv("OMP_NUM_THREADS", value)
        assert beian._beian._default_threads() == want, value
    if not os.path.isdir("/proc/self/task"):
        return
    # OMP_NUM_THREADS=1: screened on the calling thread, no thread started
    # (threads are counted while the batch is screened with the GIL released).
    texts = [l for p in sorted(novels.glob("*.txt")) for l in p.read_text(encoding="utf-8").splitlines()]
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    base = len(os.listdir("/proc/self/task"))
    done, most, out = threading.Event(), 0, []
    t = threading.Thread(target=lambda: (out.append(screen.scan_batch(texts)), done.set()))
    t.start()
    while not done.is_set():
        most = max(most, len(os.listdir("/proc/self/task")))
    t.join()
    assert most <= base + 1, "only the Python thread that called scan_batch"
    assert out[0] == screen.scan_batch(texts, threads=2)


def test_a_worker_process_loads_what_another_built_from_the_lexicon_cache(tmp_path, monkeypatch, beian_bin):
    """The disk cache `beian scan` uses: a new process (here: the in-process
    cache cleared) loads the engine another built, and finds the same."""
    lex = tmp_path / "lex"
    lex.mkdir()
    (lex / "terms.tsv").write_text("赌博网站\tA.1.h\n六合彩\tA.1.h\n", encoding="utf-8")
    disk = tmp_path / "lexicon-cache"
    monkeypatch.setenv("BEIAN_LEXICON_CACHE", str(disk))
    text = "这里有賭博網站，买⑥合彩吗 dubo"
    beian.clear_engine_cache()
    built = beian.Screen(lexicons=[str(lex)]).scan(text)
    assert len(built) == 2
    entries = sorted(p.name for p in disk.iterdir())
    assert len(entries) == 2 and entries[0].endswith(".bin") and entries[1].endswith(".json")
    described = disk / entries[1]
    written = described.stat().st_mtime_ns
    time.sleep(0.02)
    beian.clear_engine_cache()
    loaded = beian.Screen(lexicons=[str(lex)]).scan(text)
    assert loaded == built
    assert described.stat().st_mtime_ns == written, "loaded, not built and written again"
    assert sorted(p.name for p in disk.iterdir()) == entries
    # The package's entries are its own: the CLI lists them as another build's.
    listed = subprocess.run([beian_bin, "lexicon", "cache", "--format", "json"], capture_output=True, check=True)
    assert [e["this_build"] for e in json.loads(listed.stdout)["entries"]] == [False]
    # An edited lexicon is built again.
    (lex / "terms.tsv").write_text("赌博网站\tA.1.h\n", encoding="utf-8")
    beian.clear_engine_cache()
    assert len(beian.Screen(lexicons=[str(lex)]).scan(text)) == 1
    assert len(list(disk.iterdir())) == 4
    # Turned off: nothing written.
    off = tmp_path / "off"
    monkeypatch.setenv("BEIAN_LEXICON_CACHE", "0")
    monkeypatch.setenv("XDG_CACHE_HOME", str(off))
    beian.clear_engine_cache()
    assert len(beian.Screen(lexicons=[str(lex)]).scan(text)) == 1
    assert not off.exists()
    beian.clear_engine_cache()
