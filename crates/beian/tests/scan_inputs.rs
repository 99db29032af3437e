//! `beian scan` on awkward inputs and with compiled lexicons, as a user runs
//! it: missing inputs, invalid UTF-8, very long records, `beian lexicon
//! compile`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{beian, s};
use std::path::PathBuf;

fn dir(name: &str) -> PathBuf {
    common::dir("scan-inputs", name)
}

#[test]
fn a_missing_input_is_reported_once_and_the_rest_is_scanned() {
    let d = dir("missing");
    let lex = d.join("lex.txt");
    std::fs::write(&lex, "违禁品\n").unwrap();
    let ok = d.join("ok.txt");
    std::fs::write(&ok, "有违禁品\n").unwrap();
    let missing = d.join("missing.txt");
    let out = beian(&["scan", "--quiet", "--lexicon", s(&lex), s(&missing), s(&ok)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("违禁品"));
    assert_eq!(stderr.matches("missing.txt").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
}

#[test]
fn invalid_utf8_warns_once_per_input_with_offsets_into_the_original_bytes() {
    let d = dir("utf8");
    let lex = d.join("lex.txt");
    std::fs::write(&lex, "违禁品\n").unwrap();
    let input = d.join("in.txt");
    let mut bytes = b"a\xffb ".to_vec();
    bytes.extend_from_slice("违禁品\n".as_bytes());
    bytes.extend_from_slice(b"x\xfe ");
    bytes.extend_from_slice("违禁品\n".as_bytes());
    std::fs::write(&input, &bytes).unwrap();
    let out = beian(&["scan", "--quiet", "--lexicon", s(&lex), s(&input)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning is not an error: {stderr}"
    );
    assert_eq!(stderr.matches("invalid UTF-8").count(), 1, "{stderr}");
    assert!(stderr.contains("at byte 1"), "{stderr}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    // Offsets into the original line bytes.
    let starts = [0usize, 14];
    for (l, base) in lines.iter().zip(starts) {
        let (a, b) = (
            l["start"].as_u64().unwrap() as usize,
            l["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(&bytes[base + a..base + b], "违禁品".as_bytes(), "{l}");
    }
}

#[test]
fn a_long_record_is_screened_in_windows() {
    let d = dir("long");
    let lex = d.join("lex.txt");
    std::fs::write(&lex, "违禁品\n").unwrap();
    let input = d.join("in.txt");
    let mut line = String::new();
    for i in 0..3000 {
        line.push_str(if i % 100 == 99 {
            "违禁品"
        } else {
            "普通文字普通文字"
        });
    }
    std::fs::write(&input, format!("{line}\n")).unwrap();
    let whole = beian(&["scan", "--quiet", "--lexicon", s(&lex), s(&input)]);
    let windowed = beian(&[
        "scan",
        "--quiet",
        "--max-record-bytes",
        "4096",
        "--lexicon",
        s(&lex),
        s(&input),
    ]);
    assert!(whole.status.success() && windowed.status.success());
    assert_eq!(String::from_utf8_lossy(&whole.stdout).lines().count(), 30);
    assert_eq!(whole.stdout, windowed.stdout);
}

#[test]
fn a_compiled_lexicon_scans_like_its_sources() {
    let d = dir("compiled");
    let konsheng = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/lexicons/konsheng"
    );
    let novels = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/corpus/four-classic-novels"
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(novels)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let input = d.join("in.txt");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let mut lines: Vec<&str> = text.lines().take(800).collect();
    lines.extend([
        "他们在练 法.輪.功 吗，电话 13812345678",
        "fa轮功 和 法lun功",
    ]);
    std::fs::write(&input, lines.join("\n")).unwrap();
    let allow = d.join("allow.txt");
    std::fs::write(&allow, "一个\n").unwrap();
    let bin = d.join("k.bin");
    let out = beian(&[
        "lexicon",
        "compile",
        konsheng,
        "--allow",
        s(&allow),
        "--min-term-chars",
        "1",
        "-o",
        s(&bin),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let source = beian(&[
        "scan",
        "--quiet",
        "--lexicon",
        konsheng,
        "--allow",
        s(&allow),
        "--min-term-chars",
        "1",
        s(&input),
    ]);
    let compiled = beian(&[
        "scan",
        "--quiet",
        "--lexicon",
        s(&bin),
        "--min-term-chars",
        "1",
        s(&input),
    ]);
    assert!(source.status.success() && compiled.status.success());
    assert!(source.stdout.len() > 1000);
    assert_eq!(source.stdout, compiled.stdout);
    // Other matching flags than compiled with: a clear error, exit 2.
    let bad = beian(&["scan", "--quiet", "--lexicon", s(&bin), s(&input)]);
    assert_eq!(bad.status.code(), Some(2));
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(
        e.contains("other matching options") && e.contains("k.bin"),
        "{e}"
    );
    // A damaged file.
    let mut b = std::fs::read(&bin).unwrap();
    let n = b.len();
    b[n - 5] ^= 1;
    std::fs::write(&bin, &b).unwrap();
    let bad = beian(&[
        "scan",
        "--quiet",
        "--lexicon",
        s(&bin),
        "--min-term-chars",
        "1",
        s(&input),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("damaged"));
}

#[test]
fn a_window_boundary_neither_drops_nor_duplicates_a_finding() {
    let d = dir("window-edges");
    let lex = d.join("lex.txt");
    std::fs::write(&lex, "违禁品\n").unwrap();
    let input = d.join("in.txt");
    // One long line (BOM, invalid UTF-8, CRLF end) where the term sits at
    // every byte offset modulo the window, so that some occurrence
    // straddles every window edge; a short line and another long line
    // follow (no line break at the end). Each long line is longer than a
    // read (64 KiB), so the reader cuts it into windows.
    let mut line = b"\xef\xbb\xbf".to_vec();
    let mut planted = 0;
    for i in 0..2000usize {
        line.extend(std::iter::repeat_n(b'a', i % 67));
        if i % 50 == 7 {
            line.extend_from_slice(b"\xff\xe4\xb8 ");
        }
        line.extend_from_slice("普通违禁品".as_bytes());
        planted += 1;
    }
    let mut bytes = line.clone();
    bytes.extend_from_slice("\r\n有违禁品\n".as_bytes());
    bytes.extend_from_slice(&line[3..]);
    std::fs::write(&input, &bytes).unwrap();
    let run = |max: &str, format: &str| {
        let out = beian(&[
            "scan",
            "--quiet",
            "--by-source",
            "--threads",
            "2",
            "--format",
            format,
            "--max-record-bytes",
            max,
            "--lexicon",
            s(&lex),
            s(&input),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (String::from_utf8(out.stdout).unwrap(), stderr)
    };
    let (whole, whole_err) = run("0", "jsonl");
    let findings: Vec<serde_json::Value> = whole
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(line.len() > 90_000);
    assert_eq!(findings.len(), 2 * planted + 1);
    assert!(whole_err.contains("3 records\t3 flagged"), "{whole_err}");
    assert!(whole_err.contains("invalid UTF-8 at byte"), "{whole_err}");
    // Each finding points at the term in the original bytes (the BOM is no
    // part of record 1; record 3 starts after record 2).
    let r3 = line.len() + "\r\n有违禁品\n".len();
    for f in &findings {
        let (a, b) = (
            f["start"].as_u64().unwrap() as usize,
            f["end"].as_u64().unwrap() as usize,
        );
        let base = match f["record"].as_u64().unwrap() {
            1 => 3,
            2 => line.len() + 2,
            _ => r3,
        };
        assert_eq!(&bytes[base + a..base + b], "违禁品".as_bytes(), "{f}");
    }
    // Windows of 64 bytes (the reader cuts the long lines) and of 97:
    // the same findings, once each, in every format.
    for max in ["64", "97", "1000"] {
        let (got, err) = run(max, "jsonl");
        assert_eq!(got.lines().count(), whole.lines().count(), "{max}");
        assert!(got == whole, "--max-record-bytes {max}: other findings");
        assert_eq!(err, whole_err, "--max-record-bytes {max}");
        for format in ["text", "summary"] {
            assert_eq!(run(max, format).0, run("0", format).0, "{format} {max}");
        }
    }
}
