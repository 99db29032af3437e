//! Parallel reading gives exactly what serial reading gives, on every input
//! format, whatever the chunk size, the number of readers and of threads.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use beian_scan::input::{FieldSpec, InputSpec, expand_inputs};
use beian_scan::pipeline::{self, MapOut, Out, PipelineConfig};
use beian_screen::{Engine, EngineBuilder};
use proptest::prelude::*;

fn engine() -> Engine {
    let mut b = EngineBuilder::new();
    b.lexicon_text(
        "t.tsv",
        "赌博网站\tA.1.h\n违禁品\tA.1.h\nbad word\tA.2.a\n",
        None,
    )
    .expect("lexicon");
    b.build().expect("engine")
}

const PIECES: &[&str] = &[
    "违禁品",
    "赌博",
    "网站",
    "bad",
    " word",
    "普通",
    "，",
    "a",
    "\"",
    "\\",
    "é",
    "𝕏",
    " ",
    // A byte order mark opening a line in the middle of a file is text.
    "\u{feff}",
];

/// A record's text from piece indices; some records carry an invalid byte.
fn text_of(ix: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    for &i in ix {
        if i as usize >= PIECES.len() {
            t.push(0xff);
        } else {
            t.extend_from_slice(PIECES[i as usize].as_bytes());
        }
    }
    t
}

fn json_str(b: &[u8], escape: bool) -> Vec<u8> {
    // Valid JSON needs valid UTF-8: invalid bytes stay raw (the reader
    // decodes the line lossily first, as it would a real file).
    let mut o = vec![b'"'];
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => o.extend_from_slice(b"\\\""),
                '\\' => o.extend_from_slice(b"\\\\"),
                c if escape && !c.is_ascii() => {
                    let mut buf = [0u16; 2];
                    for u in c.encode_utf16(&mut buf) {
                        o.extend_from_slice(format!("\\u{u:04x}").as_bytes());
                    }
                }
                c => o.extend_from_slice(c.to_string().as_bytes()),
            }
        }
        o.extend_from_slice(chunk.invalid());
    }
    o.push(b'"');
    o
}

fn write_parquet(p: &Path, rows: &[Vec<u8>]) {
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    let schema = Arc::new(
        parquet::schema::parser::parse_message_type("message s { REQUIRED BYTE_ARRAY text; }")
            .expect("schema"),
    );
    let file = std::fs::File::create(p).expect("create");
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(7))
        .build();
    let mut w = SerializedFileWriter::new(file, schema, Arc::new(props)).expect("writer");
    for part in rows.chunks(7) {
        let mut rg = w.next_row_group().expect("row group");
        while let Some(mut col) = rg.next_column().expect("column") {
            let vals: Vec<ByteArray> = part.iter().map(|r| ByteArray::from(r.clone())).collect();
            col.typed::<ByteArrayType>()
                .write_batch(&vals, None, None)
                .expect("batch");
            col.close().expect("close column");
        }
        rg.close().expect("close rg");
    }
    w.close().expect("close");
}

fn write_all(dir: &Path, recs: &[Vec<u8>]) {
    let w = |name: &str, b: &[u8]| std::fs::write(dir.join(name), b).expect("write");
    let mut txt = b"\xef\xbb\xbf".to_vec();
    let mut jsonl = Vec::new();
    let mut csv = b"id,text,src\n".to_vec();
    let mut tsv = b"text\tsrc\n".to_vec();
    for (i, r) in recs.iter().enumerate() {
        txt.extend_from_slice(r);
        txt.extend_from_slice(if i.is_multiple_of(3) { b"\r\n" } else { b"\n" });
        if i.is_multiple_of(5) {
            txt.push(b'\n');
        }
        let group = if i.is_multiple_of(2) { "g1" } else { "g2" };
        match i % 7 {
            3 => jsonl.extend_from_slice(b"{\"text\": \n"),
            5 => jsonl.extend_from_slice(b"{\"other\": 1}\n"),
            6 => jsonl.extend_from_slice(format!("{{\"text\": {i}, \"src\": true}}\n").as_bytes()),
            _ => {
                jsonl.extend_from_slice(b"{\"id\": 1, \"text\": ");
                jsonl.extend_from_slice(&json_str(r, i % 2 == 1));
                jsonl.extend_from_slice(format!(", \"src\": \"{group}\"}}\n").as_bytes());
            }
        }
        csv.extend_from_slice(format!("{i},\"").as_bytes());
        for &c in r {
            if c == b'"' {
                csv.push(b'"');
            }
            csv.push(c);
        }
        csv.extend_from_slice(format!("\",{group}\n").as_bytes());
        let clean: Vec<u8> = r
            .iter()
            .map(|&c| if c == b'\t' { b' ' } else { c })
            .collect();
        tsv.extend_from_slice(&clean);
        tsv.extend_from_slice(format!("\t{group}\n").as_bytes());
    }
    w("a.txt", &txt);
    w("b.jsonl", &jsonl);
    w("c.csv", &csv);
    w("d.tsv", &tsv);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&jsonl).expect("gzip");
    w("e.jsonl.gz", &gz.finish().expect("gzip"));
    w(
        "f.txt.zst",
        &zstd::stream::encode_all(&txt[..], 3).expect("zstd"),
    );
    // Several zstd frames (cut anywhere, not at line ends) with a skippable
    // frame between them: decompressed frame by frame in parallel.
    let mut multi = Vec::new();
    let n = jsonl.len();
    // Sorted and clamped: on a short input the cuts may meet or cross.
    let mut cuts = [0, n / 3, (n / 3 + 1).min(n), n * 2 / 3, n];
    cuts.sort_unstable();
    for (k, c) in cuts.windows(2).enumerate() {
        multi.extend(zstd::stream::encode_all(&jsonl[c[0]..c[1]], 1).expect("zstd"));
        if k == 1 {
            multi.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
        }
    }
    w("h.jsonl.zst", &multi);
    // BGZF (bgzip): gzip members with their size in a `BC` extra field,
    // cut anywhere, ending with the empty EOF member: inflated member by
    // member in parallel.
    let m = txt.len();
    let mut cuts = [0, m / 4, (m / 4 + 3).min(m), m / 2, m * 3 / 4, m];
    cuts.sort_unstable();
    let mut bgzf = Vec::new();
    for c in cuts.windows(2) {
        bgzf.extend(bgzf_member(&txt[c[0]..c[1]]));
    }
    bgzf.extend(bgzf_member(b""));
    w("i.txt.gz", &bgzf);
    write_parquet(&dir.join("g.parquet"), recs);
}

/// One BGZF member holding `data` (as bgzip writes them).
fn bgzf_member(data: &[u8]) -> Vec<u8> {
    let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    d.write_all(data).expect("deflate");
    let cdata = d.finish().expect("deflate");
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let bsize = (cdata.len() + 25) as u16;
    let mut m = vec![
        0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0,
    ];
    m.extend_from_slice(&bsize.to_le_bytes());
    m.extend_from_slice(&cdata);
    m.extend_from_slice(&crc.sum().to_le_bytes());
    m.extend_from_slice(&(data.len() as u32).to_le_bytes());
    m
}

/// Everything the pipeline says, as comparable values.
fn collect(
    e: &Engine,
    specs: &[InputSpec],
    fields: &FieldSpec,
    cfg: &PipelineConfig,
) -> Vec<String> {
    let mut out = Vec::new();
    pipeline::run(e, specs, fields, cfg, &mut |o| {
        out.push(match o {
            Out::Rec(s) => said(MapOut::Rec(s.rec, s.findings)),
            Out::Err(e) => said(MapOut::Err(e)),
            Out::Warn(w) => said(MapOut::Warn(w)),
        });
        true
    });
    out
}

/// What the pipeline said, as a comparable value.
fn said(o: MapOut<'_, Vec<beian_screen::Finding>>) -> String {
    match o {
        MapOut::Rec(rec, findings) => format!(
            "R {} {} {} {:?} {:?} {:?}",
            rec.source, rec.number, rec.offset, rec.text, rec.group, findings
        ),
        MapOut::Err(e) => format!("E {e:?}"),
        MapOut::Warn(w) => format!("W {w:?}"),
    }
}

/// As [`collect`], with the workers dropping every record without a finding
/// (`run_filter_map_windows`): what reaches the caller, as comparable values.
fn collect_sparse(
    e: &Engine,
    specs: &[InputSpec],
    fields: &FieldSpec,
    cfg: &PipelineConfig,
) -> Vec<String> {
    let mut out = Vec::new();
    pipeline::run_filter_map_windows(
        specs,
        fields,
        cfg,
        0,
        &beian_screen::Scratch::new,
        &|sc, rec, _| {
            let f = pipeline::find_windowed(e, rec.text, cfg.max_record_bytes, sc);
            (!f.is_empty()).then_some(f)
        },
        &mut |o, _| {
            out.push(said(o));
            true
        },
    );
    out
}

fn serial(threads: usize) -> PipelineConfig {
    let mut c = PipelineConfig::with_threads(threads);
    c.readers = 1;
    c.batch_bytes = 1 << 30;
    c.batch_records = 1 << 30;
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn parallel_equals_serial(
        recs in proptest::collection::vec(proptest::collection::vec(0u8..15, 0..12), 1..60),
        chunk in 1usize..600,
        chunk_records in 1usize..9,
        threads in 1usize..5,
        readers in 1usize..5,
        in_flight in 1usize..9,
        split in 0usize..400,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let recs: Vec<Vec<u8>> = recs.iter().map(|r| text_of(r)).collect();
        write_all(dir.path(), &recs);
        let specs = expand_inputs(&[dir.path().display().to_string()], None).expect("inputs");
        prop_assert_eq!(specs.len(), 9);
        let e = engine();
        for fields in [
            FieldSpec::default(),
            FieldSpec { field: Some("text".into()), group: Some("src".into()) },
        ] {
            let want = collect(&e, &specs, &fields, &serial(1));
            let mut cfg = PipelineConfig::with_threads(threads);
            cfg.batch_bytes = chunk;
            cfg.batch_records = chunk_records;
            cfg.readers = readers;
            cfg.in_flight = in_flight;
            // Plain text and JSONL files over twice this are read in parts.
            cfg.split_bytes = split;
            let got = collect(&e, &specs, &fields, &cfg);
            prop_assert_eq!(&got, &want);
            // Records dropped by the workers never reach the caller; the
            // others, warnings and errors do, in order, as they were.
            let kept: Vec<String> = want
                .iter()
                .filter(|l| !l.starts_with("R ") || !l.ends_with(" []"))
                .cloned()
                .collect();
            prop_assert_eq!(collect_sparse(&e, &specs, &fields, &cfg), kept);
            // The multi-frame zstd file (source 7) reads as the JSONL (source 1).
            let of = |src: &str| -> Vec<String> {
                want.iter()
                    .filter_map(|l| l.strip_prefix(src))
                    .map(str::to_owned)
                    .collect()
            };
            prop_assert_eq!(of("R 7 "), of("R 1 "));
        }
    }
}

#[test]
fn short_inputs_read_the_same_in_parallel() {
    // The property test once drew one empty record, whose text file is a few
    // bytes: the fixture's frame and member cuts crossed. Every short input,
    // deterministically (the file sizes where cuts meet).
    let e = engine();
    for n in 0..8usize {
        let recs: Vec<Vec<u8>> = (0..n).map(|k| text_of(&[k as u8 % 15])).collect();
        let recs = if recs.is_empty() {
            vec![Vec::new()]
        } else {
            recs
        };
        let dir = tempfile::tempdir().expect("tempdir");
        write_all(dir.path(), &recs);
        let specs = expand_inputs(&[dir.path().display().to_string()], None).expect("inputs");
        assert_eq!(specs.len(), 9);
        let want = collect(&e, &specs, &FieldSpec::default(), &serial(1));
        let mut cfg = PipelineConfig::with_threads(2);
        cfg.batch_bytes = 1;
        cfg.batch_records = 1;
        cfg.readers = 3;
        for split in [0, 1, 2, 3, 5, 8] {
            cfg.split_bytes = split;
            assert_eq!(
                collect(&e, &specs, &FieldSpec::default(), &cfg),
                want,
                "{n} records, parts of {split} bytes"
            );
        }
    }
}

#[test]
fn large_inputs_read_the_same_in_parallel() {
    // Files several times a reader's 64 KiB buffer, with lines longer than
    // it: plain files are read into the chunks directly once that buffer is
    // spent, parts too (up to their end, then the last line through the
    // buffer), compressed ones through their decoder's buffer. All read the
    // same, whole or in parts cut near the buffer's size.
    let mut seed = 0x9e37_79b9_u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let recs: Vec<Vec<u8>> = (0..4000)
        .map(|i| {
            let n = if i % 1500 == 100 { 30_000 } else { next() % 40 };
            let ix: Vec<u8> = (0..n).map(|_| (next() % 15) as u8).collect();
            text_of(&ix)
        })
        .collect();
    assert!(recs.iter().any(|r| r.len() > 1 << 16));
    let dir = tempfile::tempdir().expect("tempdir");
    write_all(dir.path(), &recs);
    let specs = expand_inputs(&[dir.path().display().to_string()], None).expect("inputs");
    let e = engine();
    let want = collect(&e, &specs, &FieldSpec::default(), &serial(1));
    let of = |got: &[String], src: &str| -> Vec<String> {
        got.iter()
            .filter_map(|l| l.strip_prefix(src))
            .map(str::to_owned)
            .collect()
    };
    // Plain against compressed: text (0) as its zstd (5), JSONL (1) as its
    // gzip (4).
    assert!(of(&want, "R 0 ").len() > 3000);
    assert_eq!(of(&want, "R 0 "), of(&want, "R 5 "));
    assert_eq!(of(&want, "R 1 "), of(&want, "R 4 "));
    for (split, batch) in [
        (65_535, 1 << 20),
        (65_536, 70_000),
        (65_537, 1000),
        (100_000, 1 << 16),
        (150_001, 200_000),
    ] {
        let mut cfg = PipelineConfig::with_threads(4);
        cfg.readers = 3;
        cfg.split_bytes = split;
        cfg.batch_bytes = batch;
        assert_eq!(
            collect(&e, &specs, &FieldSpec::default(), &cfg),
            want,
            "parts of {split} bytes, chunks of {batch}"
        );
    }
}

#[test]
fn serial_reading_is_what_the_files_say() {
    // The baseline itself: record numbers, offsets and texts as written.
    let dir = tempfile::tempdir().expect("tempdir");
    let recs: Vec<Vec<u8>> = vec![
        "违禁品 x".into(),
        b"".to_vec(),
        b"a \xff b".to_vec(),
        "\"赌博网站\"".into(),
    ];
    write_all(dir.path(), &recs);
    let specs =
        expand_inputs(&[dir.path().join("a.txt").display().to_string()], None).expect("inputs");
    let e = engine();
    let got = collect(&e, &specs, &FieldSpec::default(), &serial(1));
    assert_eq!(got.len(), 4, "{got:#?}"); // 3 records + 1 warning; blank lines skipped
    assert!(got[0].starts_with("R 0 1 0 \"违禁品 x\""), "{}", got[0]);
    assert!(got[1].starts_with("W "), "{}", got[1]);
    assert!(got[2].starts_with("R 0 4 18 \"a \\u{7f} b\""), "{}", got[2]);
    assert!(got[3].starts_with("R 0 5 "), "{}", got[3]);

    // JSONL: escaped and raw strings give the same text; errors keep their line.
    let specs =
        expand_inputs(&[dir.path().join("b.jsonl").display().to_string()], None).expect("inputs");
    let mut texts = Vec::new();
    pipeline::run_map(
        &specs,
        &FieldSpec::default(),
        &PipelineConfig::with_threads(2),
        &|r| r.text.chars().count(),
        &mut |o| {
            match o {
                MapOut::Rec(r, n) => texts.push(format!("{}:{}:{n}", r.number, r.text)),
                MapOut::Err(e) => texts.push(format!("{}:ERR {}", e.number, e.message)),
                MapOut::Warn(_) => {}
            }
            true
        },
    );
    assert_eq!(
        texts,
        vec![
            "1:违禁品 x:5".to_string(),
            "2::0".into(),
            "3:a \u{7f} b:5".into(),
            "4:ERR malformed JSON at column 9: EOF while parsing a value at line 1 column 9".into(),
        ],
        "{texts:#?}"
    );
}
