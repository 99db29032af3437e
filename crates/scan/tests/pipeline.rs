//! The IO side end to end on real files: formats, compression, directory
//! recursion, per-record errors, ordered parallel output.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use beian_scan::input::{FieldSpec, InputFormat, expand_inputs};
use beian_scan::pipeline::{self, Out, PipelineConfig};
use beian_screen::{Engine, EngineBuilder};

fn engine() -> Engine {
    let mut b = EngineBuilder::new();
    b.lexicon_text("t.tsv", "赌博网站\tA.1.h\n违禁品\tA.1.h\n", None)
        .expect("lexicon");
    b.build().expect("engine")
}

fn write(p: &Path, bytes: &[u8]) {
    std::fs::write(p, bytes).expect("write test file");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

fn write_parquet(p: &Path, rows: &[&str]) {
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    let schema = Arc::new(
        parquet::schema::parser::parse_message_type(
            "message s { REQUIRED BYTE_ARRAY content (UTF8); }",
        )
        .expect("schema"),
    );
    let file = std::fs::File::create(p).expect("create");
    let mut w =
        SerializedFileWriter::new(file, schema, Arc::new(WriterProperties::builder().build()))
            .expect("writer");
    let mut rg = w.next_row_group().expect("row group");
    while let Some(mut col) = rg.next_column().expect("column") {
        let vals: Vec<ByteArray> = rows.iter().map(|r| ByteArray::from(*r)).collect();
        col.typed::<ByteArrayType>()
            .write_batch(&vals, None, None)
            .expect("batch");
        col.close().expect("close column");
    }
    rg.close().expect("close rg");
    w.close().expect("close");
}

/// (source name, record, matched...) or (source name, record, "ERR: message")
fn run(dir: &Path, fields: &FieldSpec, threads: usize, batch: usize) -> Vec<(String, u64, String)> {
    let e = engine();
    let inputs = expand_inputs(&[dir.display().to_string()], None).expect("inputs");
    let mut cfg = PipelineConfig::with_threads(threads);
    cfg.batch_records = batch;
    let mut out = Vec::new();
    pipeline::run(&e, &inputs, fields, &cfg, &mut |o| {
        match o {
            Out::Rec(s) => {
                let name = inputs[s.rec.source as usize].name.clone();
                for f in &s.findings {
                    assert_eq!(&s.rec.text[f.start..f.end], f.matched);
                }
                let m: Vec<&str> = s.findings.iter().map(|f| f.matched.as_str()).collect();
                out.push((name, s.rec.number, m.join("|")));
            }
            Out::Warn(w) => out.push((
                inputs[w.source as usize].name.clone(),
                w.number,
                format!("WARN: {}", w.message),
            )),
            Out::Err(e) => out.push((
                inputs[e.source as usize].name.clone(),
                e.number,
                format!("ERR: {}", e.message),
            )),
        }
        true
    });
    out
}

fn short(v: &[(String, u64, String)]) -> Vec<(String, u64, String)> {
    v.iter()
        .map(|(n, r, m)| {
            (
                Path::new(n)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                *r,
                m.clone(),
            )
        })
        .collect()
}

#[test]
fn formats_compression_errors_and_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let mut txt = b"first \xe8\xb3\xad\xe5\x8d\x9a\xe7\xb6\xb2\xe7\xab\x99 line\n".to_vec(); // 賭博網站
    txt.extend_from_slice(b"bad \xff\xfe utf8\n");
    txt.extend_from_slice("清白\r\n违禁品\r\n".as_bytes());
    write(&d.join("a.txt"), &txt);
    write(
        &d.join("b.jsonl"),
        "{\"text\": \"赌博网站\"}\n{\"text\": \n{\"other\": 1}\n\n{\"text\": \"ok 违禁品\"}\n"
            .as_bytes(),
    );
    std::fs::create_dir(d.join("sub")).expect("mkdir");
    write(
        &d.join("sub/c.csv"),
        "id,text\n1,\"违禁品, quoted\"\n2,\"multi\nline 赌博网站\"\n".as_bytes(),
    );
    write(
        &d.join("sub/d.tsv.gz"),
        &gzip("text\tid\n赌博网站\t1\n清白\t2\n".as_bytes()),
    );
    let zst = zstd::stream::encode_all("违禁品\n清白\n".as_bytes(), 3).expect("zstd");
    write(&d.join("sub/e.txt.zst"), &zst);
    write_parquet(&d.join("sub/f.parquet"), &["清白", "违禁品 in parquet"]);

    let fields = FieldSpec::default();
    let one = run(d, &fields, 1, 1000);
    let got = short(&one);
    let want: Vec<(String, u64, String)> = [
        ("a.txt", 1, "賭博網站"),
        ("a.txt", 2, "WARN: invalid UTF-8 at byte 28"),
        ("a.txt", 2, ""),
        ("a.txt", 3, ""),
        ("a.txt", 4, "违禁品"),
        ("b.jsonl", 1, "赌博网站"),
        ("b.jsonl", 2, "ERR: malformed JSON"),
        ("b.jsonl", 3, "ERR: missing field `text`"),
        ("b.jsonl", 5, "违禁品"),
        ("c.csv", 1, "违禁品"),
        ("c.csv", 2, "赌博网站"),
        ("d.tsv.gz", 1, "赌博网站"),
        ("d.tsv.gz", 2, ""),
        ("e.txt.zst", 1, "违禁品"),
        ("e.txt.zst", 2, ""),
        ("f.parquet", 0, "ERR: "),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), *b, c.to_string()))
    .collect();
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((&g.0, g.1), (&w.0, w.1), "{got:#?}");
        assert!(g.2.starts_with(&w.2) || g.2 == w.2, "{g:?} vs {w:?}");
    }
    assert!(
        got[15]
            .2
            .contains("missing column `text` (columns: content)"),
        "{:?}",
        got[15]
    );
    // Parquet with its column named.
    let pfields = FieldSpec {
        field: Some("content".into()),
        group: None,
    };
    let specs =
        expand_inputs(&[d.join("sub/f.parquet").display().to_string()], None).expect("inputs");
    assert_eq!(specs[0].format, InputFormat::Parquet);
    let e = engine();
    let mut hits = Vec::new();
    pipeline::run(
        &e,
        &specs,
        &pfields,
        &PipelineConfig::with_threads(2),
        &mut |o| {
            if let Out::Rec(s) = o {
                hits.push((s.rec.number, s.findings.len()));
            }
            true
        },
    );
    assert_eq!(hits, vec![(1, 0), (2, 1)]);

    // Same output, same order, whatever the threads and batch sizes.
    for (threads, batch) in [(2, 1), (3, 2), (4, 7)] {
        assert_eq!(
            run(d, &fields, threads, batch),
            one,
            "threads {threads} batch {batch}"
        );
    }
}

#[test]
fn stdin_like_and_missing_inputs() {
    // A missing input is reported once, as an input error, and the other
    // inputs are still read.
    let dir = tempfile::tempdir().expect("tempdir");
    let ok = dir.path().join("ok.txt");
    write(&ok, "违禁品\n".as_bytes());
    let specs = expand_inputs(
        &[
            "/nonexistent/beian".into(),
            ok.display().to_string(),
            "/nonexistent/other.jsonl".into(),
        ],
        None,
    )
    .expect("missing inputs are kept for the pipeline to report");
    assert_eq!(specs.len(), 3);
    let e = engine();
    let mut errs = Vec::new();
    let mut hits = 0;
    pipeline::run(
        &e,
        &specs,
        &FieldSpec::default(),
        &PipelineConfig::with_threads(2),
        &mut |o| {
            match o {
                Out::Err(e) => errs.push((e.source, e.number, e.message)),
                Out::Rec(s) => hits += s.findings.len(),
                Out::Warn(_) => {}
            }
            true
        },
    );
    assert_eq!(hits, 1);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!((errs[0].0, errs[0].1), (0, 0));
    assert_eq!((errs[1].0, errs[1].1), (2, 0));
    // The OS error once, with the path once.
    assert_eq!(
        errs[0].2.matches("/nonexistent/beian").count(),
        1,
        "{}",
        errs[0].2
    );
    assert_eq!(
        errs[0].2.matches("No such file").count(),
        1,
        "{}",
        errs[0].2
    );

    let specs = expand_inputs(&["-".into()], Some(InputFormat::Jsonl)).expect("stdin spec");
    assert_eq!(specs[0].path, None);
    assert_eq!(specs[0].format, InputFormat::Jsonl);
}

#[test]
fn invalid_utf8_is_screened_lossily_with_exact_offsets() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Two bad lines in one file: one warning for the file, both screened.
    let mut bytes = b"ok\n\xff\xfe \xe8\xbf".to_vec();
    bytes.extend_from_slice("违禁品 after\n".as_bytes());
    bytes.extend_from_slice(b"\xc3 again ");
    bytes.extend_from_slice("赌博网站\n".as_bytes());
    write(&dir.path().join("bad.txt"), &bytes);
    write(
        &dir.path().join("bad.csv"),
        &[b"text\n\xff".as_slice(), "违禁品\n".as_bytes()].concat(),
    );
    let specs = expand_inputs(&[dir.path().display().to_string()], None).expect("inputs");
    let e = engine();
    let mut warns = Vec::new();
    let mut found = Vec::new();
    pipeline::run(
        &e,
        &specs,
        &FieldSpec::default(),
        &PipelineConfig::with_threads(2),
        &mut |o| {
            match o {
                Out::Warn(w) => warns.push((w.source, w.number, w.message)),
                Out::Rec(s) => {
                    for f in &s.findings {
                        assert_eq!(&s.rec.text[f.start..f.end], f.matched);
                        found.push((s.rec.source, s.rec.number, s.rec.offset, f.start, f.end));
                    }
                }
                Out::Err(e) => panic!("no record is lost: {e:?}"),
            }
            true
        },
    );
    assert_eq!(warns.len(), 2, "one per input: {warns:?}");
    // bad.csv sorts first.
    assert!(warns[0].2.contains("at byte 0 of the field"), "{warns:?}");
    assert_eq!(warns[1].1, 2);
    assert!(warns[1].2.contains("invalid UTF-8 at byte 3"), "{warns:?}");
    assert_eq!(found.len(), 3, "{found:?}");
    // Offsets point into the original bytes.
    for &(src, _, off, s, e) in &found[1..] {
        assert_eq!(src, 1);
        let orig = &bytes[off as usize + s..off as usize + e];
        assert!(orig == "违禁品".as_bytes() || orig == "赌博网站".as_bytes());
    }
}

#[test]
fn long_records_are_screened_in_windows_with_exact_offsets() {
    let e = engine();
    // 3 MB on one line, terms at many places, some across window edges.
    let mut text = String::new();
    let mut i = 0u32;
    while text.len() < 3_000_000 {
        if i.is_multiple_of(1013) {
            text.push_str("违禁品");
        } else if i % 2029 == 7 {
            text.push_str("赌博网站");
        } else {
            text.push_str(if i.is_multiple_of(3) { "普通" } else { "ab" });
        }
        i += 1;
    }
    let whole = e.find(&text);
    assert!(whole.len() > 500);
    let mut scratch = beian_screen::Scratch::new();
    for max in [64 << 10, 100_003, 1 << 20] {
        let got = pipeline::find_windowed(&e, &text, max, &mut scratch);
        assert_eq!(got, whole, "window {max}");
    }
    // Through the pipeline, with the CLI's default and a small window.
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        &dir.path().join("long.txt"),
        format!("x\n{text}\n").as_bytes(),
    );
    let specs = expand_inputs(&[dir.path().display().to_string()], None).expect("inputs");
    for max in [pipeline::DEFAULT_MAX_RECORD_BYTES, 70_001] {
        let mut cfg = PipelineConfig::with_threads(2);
        cfg.max_record_bytes = max;
        let mut n = 0;
        pipeline::run(&e, &specs, &FieldSpec::default(), &cfg, &mut |o| {
            if let Out::Rec(s) = o
                && s.rec.number == 2
            {
                assert_eq!(s.findings, whole);
                n += 1;
            }
            true
        });
        assert_eq!(n, 1);
    }
}

#[test]
fn many_records_bounded_and_ordered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = String::new();
    for i in 0..20_000u32 {
        if i.is_multiple_of(97) {
            s.push_str("有违禁品\n");
        } else {
            s.push_str("普通的一行文字\n");
        }
    }
    write(&dir.path().join("big.txt"), s.as_bytes());
    let fields = FieldSpec::default();
    let out = run(dir.path(), &fields, 3, 64);
    assert_eq!(out.len(), 20_000);
    assert!(out.windows(2).all(|w| w[0].1 + 1 == w[1].1));
    assert_eq!(
        out.iter().filter(|r| !r.2.is_empty()).count(),
        20_000 / 97 + 1
    );
}

/// Screens `bytes` (one file) with in-reader windows of `max` bytes and
/// joins each record's windows: (number, offset, hits, windows) per record.
#[allow(clippy::type_complexity)]
fn run_windows(
    e: &Engine,
    path: &Path,
    max: usize,
    threads: usize,
    split: usize,
) -> Vec<(u64, u64, Vec<beian_screen::Hit>, usize)> {
    let specs = expand_inputs(&[path.display().to_string()], None).expect("inputs");
    let mut cfg = PipelineConfig::with_threads(threads);
    cfg.max_record_bytes = max;
    cfg.split_bytes = split;
    let mut out = Vec::new();
    let mut cur: Option<(u64, u64, Vec<beian_screen::Hit>, usize)> = None;
    let mut blank = true;
    pipeline::run_map_windows(
        &specs,
        &FieldSpec::default(),
        &cfg,
        max,
        &beian_screen::Scratch::new,
        &|sc, rec, win| {
            let mut hits = Vec::new();
            match win {
                Some(w) => {
                    // A window never holds more than `max` bytes, unless
                    // it is a single character.
                    assert!(rec.text.len() <= max.max(4), "{}", rec.text.len());
                    pipeline::hits_in_window(e, rec.text, &w, sc, &mut hits);
                }
                None => pipeline::hits_windowed(e, rec.text, max, sc, &mut hits),
            }
            hits
        },
        &mut |o, win| {
            if let pipeline::MapOut::Rec(rec, hits) = o {
                match win {
                    None => out.push((rec.number, rec.offset, hits, 0)),
                    Some(w) => {
                        if w.start == 0 {
                            cur = Some((rec.number, rec.offset, Vec::new(), 0));
                            blank = true;
                        }
                        let c = cur.as_mut().expect("windows in order");
                        assert_eq!((c.0, c.1), (rec.number, rec.offset));
                        c.2.extend(hits);
                        c.3 += 1;
                        // A line of white space only is no record.
                        blank &= rec.text.trim().is_empty();
                        if w.last {
                            let c = cur.take().expect("joined");
                            if !blank {
                                out.push(c);
                            }
                        }
                    }
                }
            }
            true
        },
    );
    out
}

#[test]
fn reader_windows_give_exactly_the_findings_of_whole_records() {
    let e = engine();
    // A long line with terms everywhere (some across every possible window
    // edge), CJK text, invalid UTF-8, a BOM and a CRLF line end; short lines
    // around it; a long last line without a line break.
    let mut long = Vec::new();
    let mut i = 0u32;
    // Longer than a read (64 KiB): the reader never sees such a line whole.
    while long.len() < 100_000 {
        match i % 7 {
            0 => long.extend_from_slice("违禁品".as_bytes()),
            3 => long.extend_from_slice("赌博网站".as_bytes()),
            5 if i.is_multiple_of(11) => long.extend_from_slice(&[0xe4, 0xb8, b'x', 0xff]),
            _ => long.extend_from_slice(if i.is_multiple_of(2) {
                "普通".as_bytes()
            } else {
                b"ab"
            }),
        }
        i += 1;
    }
    let mut file = b"\xef\xbb\xbf".to_vec();
    file.extend_from_slice(&long);
    file.extend_from_slice(b"\r\n\xe8\xbf\x9d\xe7\xa6\x81\xe5\x93\x81 short\n   \n");
    file.extend_from_slice(&long[5..]);
    file.extend_from_slice(b"\n \t ");
    file.extend_from_slice(&[b' '; 300]);
    file.extend_from_slice(b"\n");
    file.extend_from_slice(&long[..95_001]);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("long.txt");
    write(&path, &file);
    // Today's way: whole lines, screened in windows by the worker.
    let expected = |max: usize| {
        let mut got = Vec::new();
        let specs = expand_inputs(&[path.display().to_string()], None).expect("inputs");
        let mut cfg = PipelineConfig::with_threads(1);
        cfg.max_record_bytes = max;
        pipeline::run_map_with(
            &specs,
            &FieldSpec::default(),
            &cfg,
            &beian_screen::Scratch::new,
            &|sc, rec| {
                let mut hits = Vec::new();
                pipeline::hits_windowed(&e, rec.text, max, sc, &mut hits);
                hits
            },
            &mut |o| {
                if let pipeline::MapOut::Rec(rec, hits) = o {
                    got.push((rec.number, rec.offset, hits));
                }
                true
            },
        );
        got
    };
    for max in [1, 5, 64, 97, 1000, 4099, 39_999, 1 << 20] {
        let want = expected(max);
        assert_eq!(want.len(), 4, "window {max}");
        // Read whole, or in parts of the file side by side (cut inside the
        // long lines, which then belong to the part they start in).
        for (threads, split) in [(1, 0), (3, 0), (4, 7), (3, 30_000), (4, 70_001)] {
            let got = run_windows(&e, &path, max, threads, split);
            let plain: Vec<_> = got.iter().map(|r| (r.0, r.1, r.2.clone())).collect();
            assert_eq!(
                plain, want,
                "window {max}, {threads} threads, parts {split}"
            );
            // The long lines really went in windows when they are longer.
            let windowed = got.iter().filter(|r| r.3 > 0).count();
            if max < 30_000 {
                let w: Vec<_> = got.iter().map(|r| (r.0, r.3)).collect();
                if split == 0 {
                    assert_eq!(windowed, 3, "window {max} {w:?}");
                } else {
                    // A part's reads end at its end: a short line cut there
                    // may go in windows too (as one cut by a read of the
                    // whole file would); the long ones always do.
                    let long: Vec<_> = got.iter().filter(|r| r.3 > 1).map(|r| r.0).collect();
                    assert!(
                        [1, 4, 6].iter().all(|n| long.contains(n)),
                        "window {max} parts {split} {w:?}"
                    );
                }
                assert!(got[0].3 > 100_000 / max.max(4) / 2, "window {max}");
            } else if max > 200_000 {
                assert_eq!(windowed, 0, "window {max}");
            }
        }
    }
    // With windows wide enough for a term across every edge (a quarter of
    // the window overlaps), nothing is lost: the same as one whole scan.
    let whole = expected(0);
    assert!(whole[0].2.len() > 2000);
    assert_eq!(
        run_windows(&e, &path, 64, 2, 0)
            .into_iter()
            .map(|r| (r.0, r.1, r.2))
            .collect::<Vec<_>>(),
        whole
    );
}
