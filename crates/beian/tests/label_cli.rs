//! `beian label`: the command lines and the JSONL shape the issue spells out.

use std::path::Path;
use std::process::Command;

const PNG: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0,
    0, 0, 58, 126, 155, 85, 0, 0, 0, 10, 73, 68, 65, 84, 120, 156, 99, 96, 0, 0, 0, 2, 0, 1, 229,
    39, 222, 252, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

fn beian(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_beian"))
        .args(args)
        .output()
        .expect("run beian");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn p(x: &Path) -> &str {
    x.to_str().expect("utf-8 path")
}

#[test]
fn embed_then_verify_jsonl_shape() {
    let d = tempfile::tempdir().expect("tempdir");
    let input = d.path().join("in.png");
    std::fs::write(&input, PNG).expect("write");
    let out = d.path().join("out.png");
    let (code, _, err) = beian(&[
        "label",
        "embed",
        p(&input),
        "-o",
        p(&out),
        "--label",
        "1",
        "--producer",
        "001191110102MAD55U9H0F10002",
        "--produce-id",
        "cli-1",
        "--propagator",
        "PLATFORM1",
        "--propagate-id",
        "u-9",
    ]);
    assert_eq!(code, 0, "{err}");
    // the IDAT chunk (media bytes) is unchanged
    let o = std::fs::read(&out).expect("read");
    let idat = &PNG[33..33 + 22];
    assert!(o.windows(idat.len()).any(|w| w == idat));

    let (code, stdout, err) = beian(&["label", "verify", p(d.path()), "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    let labelled = lines
        .iter()
        .find(|l| l["path"].as_str().is_some_and(|s| s.ends_with("out.png")))
        .expect("out.png");
    for key in [
        "path", "format", "verdict", "implicit", "channels", "explicit", "problems",
    ] {
        assert!(labelled.get(key).is_some(), "missing {key}: {labelled}");
    }
    assert_eq!(labelled["format"], "png");
    assert_eq!(labelled["verdict"], "compliant");
    assert_eq!(labelled["implicit"]["ContentPropagator"], "PLATFORM1");
    assert_eq!(labelled["implicit"]["PropagateID"], "u-9");
    assert_eq!(labelled["implicit"].as_object().expect("object").len(), 7);
    let chans: Vec<&str> = labelled["channels"]
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["channel"].as_str().expect("id"))
        .collect();
    assert_eq!(chans, ["png:tEXt:AIGC", "png:xmp"]);
    assert_eq!(
        labelled["channels"][0]["payload"]["AIGC"]["ProduceID"],
        "cli-1"
    );
    let plain = lines
        .iter()
        .find(|l| l["path"].as_str().is_some_and(|s| s.ends_with("in.png")))
        .expect("in.png");
    assert_eq!(plain["verdict"], "not_found");
    assert!(plain["implicit"].is_null());

    // --strict fails when not everything is compliant; summary counts per format
    let (code, stdout, _) = beian(&[
        "label",
        "verify",
        p(d.path()),
        "--format",
        "summary",
        "--strict",
    ]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("png") && stdout.contains("files: 2"),
        "{stdout}"
    );
    // a bad label value is refused before anything is written
    let (code, _, err) = beian(&[
        "label",
        "embed",
        p(&input),
        "-o",
        p(&out),
        "--label",
        "7",
        "--producer",
        "P",
        "--produce-id",
        "x",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("--label"), "{err}");
}

#[test]
fn batch_keeps_tree_and_text_notice() {
    let d = tempfile::tempdir().expect("tempdir");
    let src = d.path().join("gen");
    std::fs::create_dir_all(src.join("a/b")).expect("mkdir");
    std::fs::write(src.join("a/b/x.png"), PNG).expect("write");
    std::fs::write(src.join("y.png"), PNG).expect("write");
    std::fs::write(src.join("story.txt"), "从前有座山。\n").expect("write");
    let dst = d.path().join("out");
    let (code, stdout, err) = beian(&[
        "label",
        "embed",
        p(&src),
        "--out-dir",
        p(&dst),
        "--label",
        "2",
        "--producer",
        "P1",
        "--produce-id",
        "batch",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}\n{err}");
    assert!(
        err.contains("story.txt") && err.contains("--explicit"),
        "{err}"
    );
    assert!(dst.join("a/b/x.png").is_file(), "tree kept");
    let (code, _, err) = beian(&[
        "label",
        "embed",
        p(&src.join("story.txt")),
        "-o",
        p(&dst.join("story.txt")),
        "--label",
        "1",
        "--producer",
        "P1",
        "--produce-id",
        "t",
        "--explicit",
        "--text-position",
        "start",
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(dst.join("story.txt")).expect("text");
    assert!(text.starts_with("本内容由人工智能生成"), "{text}");
    let (_, stdout, _) = beian(&["label", "verify", p(&dst)]);
    let v: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(v.len(), 3);
    assert!(v.iter().all(|r| r["verdict"] == "compliant"), "{stdout}");
    let ids: Vec<&str> = v
        .iter()
        .filter_map(|r| r["implicit"]["ProduceID"].as_str())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1], "each file gets its own ProduceID");

    // JSONL corpus: notice added to a field, then checked
    let corpus = d.path().join("answers.jsonl");
    std::fs::write(
        &corpus,
        "{\"id\":1,\"answer\":\"你好\"}\n{\"id\":2,\"answer\":\"AI生成：你好\"}\n",
    )
    .expect("write");
    let (_, stdout, _) = beian(&["label", "verify", p(&corpus), "--field", "answer"]);
    let v: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(v[0]["verdict"], "not_found");
    assert_eq!(v[1]["verdict"], "compliant");
    assert_eq!(v[1]["explicit"]["text_notice"], "start");
    let out = d.path().join("labelled.jsonl");
    let (code, _, err) = beian(&[
        "label",
        "embed",
        p(&corpus),
        "-o",
        p(&out),
        "--explicit",
        "--field",
        "answer",
        "--label",
        "1",
        "--producer",
        "P",
        "--produce-id",
        "x",
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, stdout, _) = beian(&[
        "label",
        "verify",
        p(&out),
        "--field",
        "answer",
        "--format",
        "summary",
    ]);
    assert!(
        stdout.contains("jsonl") && stdout.contains("total"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .last()
            .unwrap_or_default()
            .split_whitespace()
            .nth(1)
            == Some("2"),
        "{stdout}"
    );
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// The 1x1 PNG with extra chunks after IHDR.
fn png_with(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let mut v = PNG[..33].to_vec();
    for (t, body) in chunks {
        v.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let mut tb = t.to_vec();
        tb.extend_from_slice(body);
        v.extend_from_slice(&tb);
        v.extend_from_slice(&crc32(&tb).to_be_bytes());
    }
    v.extend_from_slice(&PNG[33..]);
    v
}

/// A directory like an upload bucket: bad, conflicting and truncated labels, no label,
/// a text file and non-media files.
fn bucket(d: &Path) {
    let full = |label: &str| {
        format!(
            "AIGC\0{{\"AIGC\":{{\"Label\":\"{label}\",\"ContentProducer\":\"P1\",\"ProduceID\":\"x\",\"ReservedCode1\":\"\",\"ContentPropagator\":\"\",\"PropagateID\":\"\",\"ReservedCode2\":\"\"}}}}"
        )
    };
    let bad = b"AIGC\0{\"AIGC\":{\"Label\":\"7\",\"ContentProducer\":\"P1\",\"ProduceID\":\"x\",\"ContentPropagator\":\"Q\"}}";
    std::fs::write(d.join("bad.png"), png_with(&[(b"tEXt", bad)])).expect("write");
    let xmp = "XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description xmlns:TC260=\"http://www.tc260.org.cn/ns/AIGC/1.0/\" TC260:AIGC=\"{&quot;Label&quot;:&quot;2&quot;,&quot;ContentProducer&quot;:&quot;P1&quot;,&quot;ProduceID&quot;:&quot;x&quot;,&quot;ReservedCode1&quot;:&quot;&quot;,&quot;ContentPropagator&quot;:&quot;&quot;,&quot;PropagateID&quot;:&quot;&quot;,&quot;ReservedCode2&quot;:&quot;&quot;}\"/></rdf:RDF></x:xmpmeta>";
    let conflict = png_with(&[(b"tEXt", full("1").as_bytes()), (b"iTXt", xmp.as_bytes())]);
    std::fs::write(d.join("conflict.png"), &conflict).expect("write");
    let good = png_with(&[(b"tEXt", full("1").as_bytes())]);
    std::fs::write(d.join("cut.png"), &good[..good.len() - 20]).expect("write");
    std::fs::write(d.join("plain.png"), PNG).expect("write");
    std::fs::write(d.join("notes.txt"), "hello").expect("write");
    std::fs::write(d.join("meta.json"), "{\"a\": 1}").expect("write");
    std::fs::write(d.join("data.bin"), [0u8, 1, 2, 3, 4, 5, 6, 7, 8]).expect("write");
}

/// ASCII words left after removing what may stay English in zh output.
fn english_words(out: &str, dir: &Path, channels: &[String]) -> Vec<String> {
    let mut s = out.replace(p(dir), " ");
    for c in channels {
        s = s.replace(c.as_str(), " ");
    }
    let allowed = [
        // file names
        "bad",
        "conflict",
        "cut",
        "plain",
        "notes",
        "meta",
        "data",
        "bin",
        "txt",
        // format names
        "png",
        "jpeg",
        "webp",
        "heif",
        "mp4",
        "mp3",
        "wav",
        "text",
        "jsonl",
        "json",
        "JSON",
        "unknown",
        "C2PA",
        "ASCII",
        "GB",
        // the seven keys
        "Label",
        "ContentProducer",
        "ProduceID",
        "ReservedCode1",
        "ContentPropagator",
        "PropagateID",
        "ReservedCode2",
    ];
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.chars().any(|c| c.is_ascii_alphabetic()))
        .filter(|w| !allowed.contains(w))
        .filter(|w| {
            !(w.starts_with('x') && w.len() > 1 && w[1..].chars().all(|c| c.is_ascii_hexdigit()))
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn zh_text_and_summary_are_chinese_throughout() {
    let d = tempfile::tempdir().expect("tempdir");
    bucket(d.path());
    let (_, chans, _) = beian(&["label", "channels"]);
    let channels: Vec<String> = chans
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            v["channel"].as_str().expect("id").to_string()
        })
        .collect();

    // English is the default, with stable codes beside the text
    let (code, stdout, err) = beian(&["label", "verify", p(d.path())]);
    assert_eq!(code, 0, "{err}");
    let en: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let find = |v: &[serde_json::Value], name: &str| {
        v.iter()
            .find(|l| l["path"].as_str().is_some_and(|s| s.ends_with(name)))
            .cloned()
            .expect(name)
    };
    let bad = find(&en, "bad.png");
    assert!(
        bad["problems"]
            .as_array()
            .expect("array")
            .contains(&"Label \"7\" is not 1, 2 or 3".into()),
        "{bad}"
    );
    let codes = bad["problem_codes"].as_array().expect("codes");
    assert_eq!(codes.len(), bad["problems"].as_array().expect("p").len());
    for c in ["missing-key", "bad-label", "propagator-pair"] {
        assert!(codes.contains(&c.into()), "{c}: {bad}");
    }
    let conflict = find(&en, "conflict.png");
    assert_eq!(conflict["verdict"], "noncompliant", "{conflict}");
    assert!(
        conflict["problem_codes"]
            .as_array()
            .expect("codes")
            .contains(&"channels-disagree".into()),
        "{conflict}"
    );
    assert!(
        find(&en, "cut.png")["problem_codes"]
            .as_array()
            .expect("codes")
            .contains(&"unreadable".into())
    );

    // zh: the same codes, Chinese text
    let (_, stdout, _) = beian(&["label", "verify", p(d.path()), "--lang", "zh"]);
    let zh: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let bad_zh = find(&zh, "bad.png");
    assert_eq!(bad_zh["problem_codes"], bad["problem_codes"]);
    assert_ne!(bad_zh["problems"], bad["problems"]);
    assert!(
        bad_zh["problems"]
            .to_string()
            .contains("缺少字段 ReservedCode1")
    );

    for format in ["text", "summary"] {
        let (code, out, err) = beian(&[
            "label",
            "verify",
            p(d.path()),
            "--format",
            format,
            "--lang",
            "zh",
        ]);
        assert_eq!(code, 0, "{err}");
        let words = english_words(&out, d.path(), &channels);
        assert!(
            words.is_empty(),
            "English in zh {format} output: {words:?}\n{out}"
        );
        assert!(
            out.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{out}"
        );
    }
    // the check can fail: the English text output has English words
    let (_, out, _) = beian(&["label", "verify", p(d.path()), "--format", "text"]);
    assert!(
        !english_words(&out, d.path(), &channels).is_empty(),
        "{out}"
    );
}

/// Display width of a summary line (CJK two columns).
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            if ('\u{2e80}'..='\u{9fff}').contains(&c) || ('\u{ff00}'..='\u{ff60}').contains(&c) {
                2
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn summary_aligns_by_display_width_and_skips_unknown_formats() {
    let d = tempfile::tempdir().expect("tempdir");
    bucket(d.path());
    for (lang, skipped) in [
        ("en", "skipped (not a supported format): 2"),
        ("zh", "已跳过(不支持的格式): 2"),
    ] {
        let (code, out, err) = beian(&[
            "label",
            "verify",
            p(d.path()),
            "--format",
            "summary",
            "--lang",
            lang,
        ]);
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        // header, png, text, total: every column ends at the same display column
        let table = &lines[1..5];
        let ends = |l: &str| {
            let mut ends = Vec::new();
            let mut col = 0;
            let mut prev_space = true;
            for c in l.chars() {
                let sp = c == ' ';
                if sp && !prev_space {
                    ends.push(col);
                }
                col += width(&c.to_string());
                prev_space = sp;
            }
            ends.push(col);
            ends
        };
        let first = ends(table[0]);
        assert_eq!(first.len(), 5, "{out}");
        for l in table {
            assert_eq!(ends(l)[1..], first[1..], "{lang}: misaligned\n{out}");
        }
        // unknown formats are not a row of the table, they are one line apart
        assert!(!out.contains("unknown"), "{out}");
        assert!(out.contains(skipped), "{out}");
        assert!(table[1].starts_with("png"), "{out}");
        // png: bad + conflict noncompliant, cut inconclusive, plain not found
        let png: Vec<&str> = table[1].split_whitespace().collect();
        assert_eq!(png, ["png", "0", "2", "1", "1"], "{out}");
    }
    // jsonl keeps the verdict contract for unknown formats
    let (_, out, _) = beian(&["label", "verify", p(&d.path().join("meta.json"))]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["verdict"], "inconclusive");
    assert_eq!(v["format"], "unknown");
    assert_eq!(
        v["problem_codes"],
        serde_json::json!(["unsupported-format"])
    );
    assert_eq!(
        v["problems"][0],
        "the file format is not supported (not checked for labels)"
    );
    // --strict does not fail on files it does not check, but does on a real problem
    let ok = d.path().join("ok");
    std::fs::create_dir(&ok).expect("mkdir");
    std::fs::write(ok.join("meta.json"), "{}").expect("write");
    let (code, _, _) = beian(&["label", "verify", p(&ok), "--strict", "--format", "summary"]);
    assert_eq!(code, 0);
    let (code, _, _) = beian(&[
        "label",
        "verify",
        p(d.path()),
        "--strict",
        "--format",
        "summary",
    ]);
    assert_eq!(code, 1);
}

#[test]
fn tolerated_payload_forms_are_compliant_with_warnings() {
    let d = tempfile::tempdir().expect("tempdir");
    // a BOM and keys in camel case, as some SDKs write them
    let text = "AIGC\0\u{feff}{\"aigc\":{\"label\":\"1\",\"contentProducer\":\"P1\",\"produceID\":\"x\",\"reservedCode1\":\"\",\"contentPropagator\":\"\",\"propagateID\":\"\",\"reservedCode2\":\"\"}}";
    std::fs::write(
        d.path().join("sdk.png"),
        png_with(&[(
            b"iTXt",
            &[b"AIGC\0\0\0\0\0", &text.as_bytes()[5..]].concat(),
        )]),
    )
    .expect("write");
    // front matter in a Markdown file
    std::fs::write(
        d.path().join("notes.md"),
        "---\nAIGC:\n  Label: '1'\n  ContentProducer: P1\n  ProduceID: x\n  ReservedCode1: ''\n  ContentPropagator: ''\n  PropagateID: ''\n  ReservedCode2: ''\n---\n# notes\n",
    )
    .expect("write");
    let (code, out, err) = beian(&["label", "verify", p(d.path())]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let md = lines
        .iter()
        .find(|v| v["path"].as_str().is_some_and(|s| s.ends_with("notes.md")))
        .expect("md");
    assert_eq!(md["verdict"], "compliant", "{md}");
    assert_eq!(md["channels"][0]["channel"], "text:front-matter:AIGC");
    assert_eq!(md["warnings"], serde_json::json!([]));
    let png = lines
        .iter()
        .find(|v| v["path"].as_str().is_some_and(|s| s.ends_with("sdk.png")))
        .expect("png");
    assert_eq!(png["verdict"], "compliant", "{png}");
    assert_eq!(png["implicit"]["ProduceID"], "x", "{png}");
    let codes = png["warning_codes"].as_array().expect("codes");
    assert!(
        codes.contains(&"bom".into()) && codes.contains(&"key-case".into()),
        "{png}"
    );
    assert_eq!(codes.len(), png["warnings"].as_array().expect("w").len());
    // zh: the warnings in Chinese, the codes unchanged
    let (_, out, _) = beian(&[
        "label",
        "verify",
        p(&d.path().join("sdk.png")),
        "--lang",
        "zh",
    ]);
    let zh: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(zh["warning_codes"], png["warning_codes"]);
    assert!(
        zh["warnings"][0]
            .as_str()
            .expect("w")
            .contains("字节顺序标记"),
        "{zh}"
    );
}

/// A PNG carrying a C2PA store whose active manifest's actions assertion (a JSON
/// content box) declares `trainedAlgorithmicMedia`.
fn png_with_c2pa() -> Vec<u8> {
    let bx = |t: &[u8], b: &[u8]| [&((b.len() + 8) as u32).to_be_bytes()[..], t, b].concat();
    let sup = |label: &str, kids: &[Vec<u8>]| {
        let mut d = b"c2pa\x00\x11\x00\x10\x80\x00\x00\xaa\x00\x38\x9b\x71\x03".to_vec();
        d.extend_from_slice(label.as_bytes());
        d.push(0);
        bx(b"jumb", &[bx(b"jumd", &d), kids.concat()].concat())
    };
    let actions = bx(
        b"json",
        br#"{"actions":[{"action":"c2pa.created","digitalSourceType":"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"}]}"#,
    );
    let claim = bx(
        b"json",
        br#"{"claim_generator":"Gen/1","dc:title":"x.png"}"#,
    );
    let store = sup(
        "c2pa",
        &[sup(
            "urn:uuid:1",
            &[
                sup("c2pa.assertions", &[sup("c2pa.actions", &[actions])]),
                sup("c2pa.claim", &[claim]),
            ],
        )],
    );
    let mut chunk = (store.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(b"caBX");
    chunk.extend_from_slice(&store);
    // CRC-32 (IEEE), bitwise
    let mut c = 0xFFFF_FFFFu32;
    for &x in &chunk[4..] {
        c ^= x as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    chunk.extend_from_slice(&(!c).to_be_bytes());
    [&PNG[..33], &chunk, &PNG[33..]].concat()
}

#[test]
fn c2pa_manifest_in_text_and_summary() {
    let d = tempfile::tempdir().expect("tempdir");
    let f = d.path().join("c.png");
    std::fs::write(&f, png_with_c2pa()).expect("write");
    let (_, out, err) = beian(&["label", "verify", p(&f), "--format", "text"]);
    assert!(
        out.contains("c2pa: png:caBX by Gen/1; declares generative AI: trainedAlgorithmicMedia; signature not validated"),
        "{out}{err}"
    );
    let (_, out, _) = beian(&[
        "label",
        "verify",
        p(&f),
        "--format",
        "summary",
        "--lang",
        "zh",
    ]);
    assert!(
        out.contains("其中声明人工智能生成(digitalSourceType): 1"),
        "{out}"
    );
    // labelling keeps the manifest and warns on stderr and in the JSON line
    let o = d.path().join("o.png");
    let (code, stdout, err) = beian(&[
        "label",
        "embed",
        p(&f),
        "-o",
        p(&o),
        "--label",
        "1",
        "--producer",
        "P",
        "--produce-id",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("C2PA manifest"), "{err}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    assert_eq!(v["warnings"].as_array().map(Vec::len), Some(1), "{v}");
}

/// `--explicit` on an AVIF that Pillow (libavif) wrote, with the default build's
/// features: the label is drawn (rav1d decodes, rav1e encodes) and the result verifies.
#[test]
fn explicit_avif_in_the_default_build() {
    let ok = Command::new("python3")
        .args([
            "-c",
            "from PIL import features; assert features.check('avif')",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok || beian_label::render::find_font(None, "人工智能生成").is_err() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "Pillow with AVIF or a CJK font missing under CI"
        );
        eprintln!("skipping: no Pillow with AVIF, or no CJK font");
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let (src, dst) = (d.path().join("gen.avif"), d.path().join("out.avif"));
    let made = Command::new("python3")
        .args([
            "-c",
            "import sys; from PIL import Image; \
             Image.new('RGB', (240, 160), (30, 120, 200)).save(sys.argv[1], quality=90)",
            p(&src),
        ])
        .status()
        .expect("python3");
    assert!(made.success());
    let (code, out, err) = beian(&[
        "label",
        "embed",
        p(&src),
        "-o",
        p(&dst),
        "--label",
        "1",
        "--producer",
        "P1",
        "--produce-id",
        "avif-1",
        "--explicit",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["explicit"]["encoding"], "avif-q90", "{out}");
    let (_, stdout, _) = beian(&["label", "verify", p(&dst)]);
    let r: serde_json::Value = serde_json::from_str(stdout.trim()).expect("json");
    assert_eq!(r["verdict"], "compliant", "{stdout}");
    assert_eq!(r["implicit"]["ProduceID"], "avif-1", "{stdout}");
}
