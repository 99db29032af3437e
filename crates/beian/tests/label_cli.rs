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
