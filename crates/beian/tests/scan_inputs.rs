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
        "--no-lexicon-cache",
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

/// Runs `beian` with the lexicon cache's environment set as given (and
/// none inherited).
fn beian_env(args: &[&str], env: &[(&str, &std::path::Path)]) -> std::process::Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_beian"));
    c.args(args);
    for k in ["BEIAN_LEXICON_CACHE", "XDG_CACHE_HOME", "HOME"] {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn files_under(d: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_lexicon_cache_loads_what_a_build_makes_and_can_be_turned_off() {
    let d = dir("lexicon-cache");
    let lex = d.join("lex");
    std::fs::create_dir_all(&lex).unwrap();
    std::fs::write(lex.join("README.txt"), "我们的词库说明。\n").unwrap();
    std::fs::write(lex.join("terms.tsv"), "赌博网站\tA.1.h\n六合彩\tQ.9.q\n").unwrap();
    let input = d.join("in.txt");
    std::fs::write(
        &input,
        "这里有賭博網站\n买六合彩吗 电话 13812345678\n正常的一行\n",
    )
    .unwrap();
    let args = ["scan", "--quiet", "--lexicon", s(&lex), s(&input)];
    let cache = d.join("cache");
    let env = [("BEIAN_LEXICON_CACHE", cache.as_path())];

    let built = beian_env(&args, &env);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let entries = files_under(&cache);
    assert_eq!(entries.len(), 2, "{entries:?}");
    let json = entries
        .iter()
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    let written = std::fs::metadata(json).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(30));
    let loaded = beian_env(&args, &env);
    assert!(loaded.status.success());
    assert_eq!(files_under(&cache), entries, "a hit writes nothing new");
    assert_eq!(
        std::fs::metadata(json).unwrap().modified().unwrap(),
        written,
        "a hit, not a build written again"
    );
    let stdout = String::from_utf8_lossy(&loaded.stdout);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert_eq!(built.stdout, loaded.stdout);
    // The loader's warnings (the README skipped, the unknown risk code)
    // are said on every run, cached or not.
    let stderr = String::from_utf8_lossy(&loaded.stderr);
    assert!(
        stderr.contains("README.txt") && stderr.contains("Q.9.q"),
        "{stderr}"
    );
    assert_eq!(built.stderr, loaded.stderr);

    // Turned off: by the flag, and by BEIAN_LEXICON_CACHE=0 (the default
    // places are not used either).
    let other = d.join("cache-off");
    let mut off_args = args.to_vec();
    off_args.insert(1, "--no-lexicon-cache");
    let off = beian_env(&off_args, &[("BEIAN_LEXICON_CACHE", other.as_path())]);
    assert_eq!(off.stdout, built.stdout);
    assert!(files_under(&other).is_empty());
    let home = d.join("home");
    let zero = std::path::Path::new("0");
    let off = beian_env(
        &args,
        &[
            ("BEIAN_LEXICON_CACHE", zero),
            ("HOME", home.as_path()),
            ("XDG_CACHE_HOME", home.as_path()),
        ],
    );
    assert_eq!(off.stdout, built.stdout);
    assert!(files_under(&home).is_empty());
    // The default place.
    let xdg = d.join("xdg");
    let on = beian_env(&args, &[("XDG_CACHE_HOME", xdg.as_path())]);
    assert_eq!(on.stdout, built.stdout);
    assert_eq!(files_under(&xdg.join("beian/lexicons")).len(), 2);

    // An edited lexicon is built again, not served stale.
    std::fs::write(lex.join("terms.tsv"), "正常的一行\tA.1.h\n").unwrap();
    let edited = beian_env(&args, &env);
    let stdout = String::from_utf8_lossy(&edited.stdout);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(
        stdout.contains("正常的一行") && !stdout.contains("六合彩"),
        "{stdout}"
    );
    assert_eq!(files_under(&cache).len(), 4);

    // `beian lexicon cache` lists both entries (this binary's), newest
    // first, and clears them.
    let listed = beian_env(&["lexicon", "cache", "--format", "json"], &env);
    assert!(listed.status.success());
    let v: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let es = v["entries"].as_array().unwrap();
    assert_eq!(es.len(), 2, "{v}");
    for e in es {
        assert_eq!(e["this_build"], true, "{e}");
        assert_eq!(
            e["lexicons"][1].as_str().unwrap(),
            s(&lex.join("terms.tsv")),
            "{e}"
        );
    }
    let text = beian_env(&["lexicon", "cache"], &env);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("2 entries") && text.contains("this build"),
        "{text}"
    );
    let cleared = beian_env(&["lexicon", "cache", "--clear"], &env);
    assert!(String::from_utf8_lossy(&cleared.stdout).contains("2 entries removed"));
    assert!(files_under(&cache).is_empty());
    let off = beian_env(&["lexicon", "cache"], &[("BEIAN_LEXICON_CACHE", zero)]);
    assert!(String::from_utf8_lossy(&off.stdout).contains("off"));
    // And the next scan builds and fills it again.
    let again = beian_env(&args, &env);
    assert_eq!(again.stdout, edited.stdout);
    assert_eq!(files_under(&cache).len(), 2);

    // A cache that cannot be written, named by the user: one warning, the
    // scan complete.
    let blocked = d.join("blocked");
    std::fs::write(&blocked, "a file, not a directory").unwrap();
    let out = beian_env(&args, &[("BEIAN_LEXICON_CACHE", blocked.as_path())]);
    assert!(out.status.success());
    assert_eq!(out.stdout, edited.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("lexicon cache").count(), 1, "{stderr}");
    assert!(stderr.contains("blocked"), "{stderr}");
}

#[test]
fn processes_that_fill_the_lexicon_cache_at_once_all_scan_alike() {
    let d = dir("lexicon-cache-race");
    let konsheng = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/lexicons/konsheng"
    );
    let input = d.join("in.txt");
    std::fs::write(
        &input,
        "他们在练 法.輪.功 吗\n正常的一行\nfa轮功 和 法lun功\n",
    )
    .unwrap();
    let cache = d.join("cache");
    // Four processes miss at once, build, and write the same entry.
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_beian"))
                .args(["scan", "--quiet", "--lexicon", konsheng, s(&input)])
                .env("BEIAN_LEXICON_CACHE", &cache)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(o.stdout, outs[0].stdout);
    }
    assert!(String::from_utf8_lossy(&outs[0].stdout).lines().count() >= 2);
    let entries = files_under(&cache);
    assert_eq!(
        entries.len(),
        2,
        "one entry, no partial file left: {entries:?}"
    );
    let hit = beian_env(
        &["scan", "--quiet", "--lexicon", konsheng, s(&input)],
        &[("BEIAN_LEXICON_CACHE", cache.as_path())],
    );
    assert_eq!(hit.stdout, outs[0].stdout);
    assert_eq!(files_under(&cache), entries);
}

#[test]
fn a_piped_lexicon_is_read_once_and_not_cached() {
    let d = dir("lexicon-pipe");
    let input = d.join("in.txt");
    std::fs::write(&input, "这里有违禁品\n正常的一行\n").unwrap();
    let cache = d.join("cache");
    let beian_bin = env!("CARGO_BIN_EXE_beian");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{beian_bin}' scan --quiet --lexicon <(printf '违禁品\\n') '{}'",
            s(&input)
        ))
        .env("BEIAN_LEXICON_CACHE", &cache)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("违禁品"));
    assert!(files_under(&cache).is_empty(), "a pipe is not cached");
}

#[test]
fn an_input_given_as_a_pipe_is_read_from_its_first_byte() {
    let d = dir("input-pipe");
    let lex = d.join("lex.txt");
    std::fs::write(&lex, "违禁品\n").unwrap();
    let text = d.join("in.txt");
    std::fs::write(&text, "第一行违禁品\n第二行\n违禁品在第三行\n").unwrap();
    let jsonl = d.join("in.jsonl");
    std::fs::write(
        &jsonl,
        "{\"text\":\"第一行违禁品\"}\n{\"text\":\"违禁品\"}\n",
    )
    .unwrap();
    let gz = d.join("in.txt.gz");
    let out = std::process::Command::new("gzip")
        .args(["-c", s(&text)])
        .output()
        .unwrap();
    std::fs::write(&gz, out.stdout).unwrap();
    let beian_bin = env!("CARGO_BIN_EXE_beian");
    for (file, extra) in [(&text, ""), (&jsonl, "--input-format jsonl"), (&gz, "")] {
        let direct = beian(&[
            "scan",
            "--quiet",
            "--detectors",
            "none",
            "--lexicon",
            s(&lex),
            "--input-format",
            if extra.is_empty() { "text" } else { "jsonl" },
            s(file),
        ]);
        let piped = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "'{beian_bin}' scan --quiet --detectors none --lexicon '{}' {} <(cat '{}')",
                s(&lex),
                if extra.is_empty() {
                    "--input-format text"
                } else {
                    extra
                },
                s(file)
            ))
            .env("BEIAN_LEXICON_CACHE", "0")
            .output()
            .unwrap();
        assert!(
            piped.status.success(),
            "{}",
            String::from_utf8_lossy(&piped.stderr)
        );
        assert!(
            piped.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&piped.stderr)
        );
        let strip = |o: &[u8]| -> Vec<String> {
            String::from_utf8_lossy(o)
                .lines()
                .map(|l| {
                    let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                    v.as_object_mut().unwrap().remove("source");
                    v.to_string()
                })
                .collect()
        };
        let (a, b) = (strip(&direct.stdout), strip(&piped.stdout));
        assert_eq!(a.len(), 2, "{}: {a:?}", file.display());
        assert_eq!(a, b, "{}", file.display());
    }
}

#[test]
fn a_directory_with_a_fifo_and_a_link_loop_is_scanned_once_without_blocking() {
    let d = dir("dir-fifo-loop");
    let lex = d.join("lex.txt");
    std::fs::write(&lex, "违禁品\n").unwrap();
    let corpus = d.join("corpus");
    std::fs::create_dir_all(corpus.join("sub")).unwrap();
    std::fs::write(corpus.join("a.txt"), "违禁品\n").unwrap();
    std::fs::write(corpus.join("sub/b.txt"), "又是违禁品\n").unwrap();
    // A FIFO nobody writes to: opening it for reading would wait forever.
    let made = std::process::Command::new("mkfifo")
        .arg(corpus.join("pipe.txt"))
        .status()
        .unwrap();
    assert!(made.success());
    // A link back up the tree.
    std::os::unix::fs::symlink(&corpus, corpus.join("sub/up")).unwrap();
    let mut child = common::command()
        .args(["scan", "--quiet", "--lexicon", s(&lex), s(&corpus)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("beian scan blocked on the FIFO");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 2, "each file once: {stdout}");
    assert!(
        stdout.contains("a.txt") && stdout.contains("b.txt"),
        "{stdout}"
    );
}

#[test]
fn a_directory_with_nothing_to_read_is_said_once() {
    let d = dir("empty-dir");
    let lex = d.join("lex.txt");
    std::fs::write(&lex, "违禁品\n").unwrap();
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join(".hidden.txt"), "违禁品\n").unwrap();
    let full = d.join("full");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("a.txt"), "违禁品\n").unwrap();
    let out = beian(&["scan", "--quiet", "--lexicon", s(&lex), s(&empty), s(&full)]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("no files to read").count(), 1, "{stderr}");
    assert!(stderr.contains(s(&empty)), "{stderr}");
}
