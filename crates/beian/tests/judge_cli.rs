//! `beian judge train|eval|predict`, `beian lexicon audit` and the scan
//! wire-ins (`--model`, weights, warnings) as a user runs them: the real
//! binary on files written here, from a small labelled set built here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{beian, s};
use std::path::{Path, PathBuf};

fn dir(name: &str) -> PathBuf {
    common::dir("judge-cli", name)
}

struct Gen(u64);
impl Gen {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
}

const FILLER: &[&str] = &[
    "今天", "我们", "一起", "去", "公园", "天气", "很好", "老师", "说", "学生", "吃饭", "朋友",
    "城市", "工作", "时间", "房间", "价格", "电话", "客服", "系统",
];
const CUES: &[(&str, &[&str])] = &[
    ("博彩", &["百家乐", "下注", "赌场", "庄家", "彩金"]),
    ("诈骗", &["转账", "验证码", "安全账户", "刷单返利"]),
];

fn sentence(g: &mut Gen, cue: Option<&[&str]>) -> String {
    let n = 6 + g.next() % 6;
    let at = g.next() % n;
    let mut out = String::new();
    for i in 0..n {
        if let Some(c) = cue
            && i == at
        {
            out.push_str(c[g.next() % c.len()]);
        }
        out.push_str(FILLER[g.next() % FILLER.len()]);
    }
    out
}

/// Labelled JSONL and a background text file.
fn write_set(d: &Path, seed: u64, per: usize) -> (PathBuf, PathBuf) {
    let mut g = Gen(seed);
    let mut lines = Vec::new();
    for (label, cues) in CUES {
        for _ in 0..per {
            let t = sentence(&mut g, Some(cues));
            lines.push(serde_json::json!({"text": t, "label": label}).to_string());
        }
    }
    for _ in 0..per {
        let t = sentence(&mut g, None);
        lines.push(serde_json::json!({"text": t, "label": "safe"}).to_string());
    }
    let data = d.join(format!("data-{seed}.jsonl"));
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let bg: Vec<String> = (0..per * 4).map(|_| sentence(&mut g, None)).collect();
    let background = d.join(format!("bg-{seed}.txt"));
    std::fs::write(&background, bg.join("\n") + "\n").unwrap();
    (data, background)
}

fn trained(d: &Path) -> PathBuf {
    let (data, bg) = write_set(d, 11, 120);
    let model = d.join("m.judge");
    let out = beian(&[
        "judge",
        "train",
        "--data",
        s(&data),
        "--background",
        s(&bg),
        "--bucket-bits",
        "14",
        "--out",
        s(&model),
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["held_out_safe_flagged"].as_f64().unwrap() <= 0.01, "{r}");
    assert_eq!(r["background_examples"], 480);
    assert!(r["eval"]["macro_f1"].as_f64().unwrap() > 0.8, "{r}");
    model
}

#[test]
fn train_eval_predict_end_to_end() {
    let d = dir("e2e");
    let model = trained(&d);
    let (test, _) = write_set(&d, 77, 50);

    // eval, JSON: the contract's shape.
    let out = beian(&[
        "judge",
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&test),
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n"], 150);
    assert!(v["threshold"].as_f64().unwrap() > 0.0);
    assert!(v["macro_f1"].as_f64().unwrap() > 0.8, "{v}");
    for l in ["博彩", "诈骗", "safe"] {
        let m = &v["labels"][l];
        assert_eq!(m["n"], 50, "{v}");
        for k in ["precision", "recall", "f1"] {
            assert!(m[k].is_number(), "{l}.{k}: {v}");
        }
    }
    for k in ["precision", "recall", "f1", "fpr"] {
        assert!(v["binary"][k].is_number(), "binary.{k}: {v}");
    }
    // The calibrated threshold is strict (at most 1% of held-out safe text):
    // most risky texts are still flagged, few safe ones.
    assert!(v["binary"]["recall"].as_f64().unwrap() > 0.5, "{v}");
    assert!(v["binary"]["fpr"].as_f64().unwrap() < 0.05, "{v}");

    // A threshold of 1 flags nothing: recall 0.
    let out = beian(&[
        "judge",
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&test),
        "--threshold",
        "1",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["threshold"], 1.0);
    assert_eq!(v["binary"]["recall"], 0.0);

    // eval, text: with a confusion matrix.
    let out = beian(&["judge", "eval", "--model", s(&model), "--data", s(&test)]);
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(t.contains("macro-F1") && t.contains("confusion"), "{t}");

    // predict: one line per record, in input order.
    let input = d.join("in.jsonl");
    let texts = [
        "今晚去赌场玩百家乐下注",
        "今天天气很好我们一起去公园",
        "请把钱转账到安全账户并告诉我验证码",
    ];
    let body: Vec<String> = texts
        .iter()
        .map(|t| serde_json::json!({"content": t}).to_string())
        .collect();
    std::fs::write(&input, body.join("\n") + "\n").unwrap();
    let out = beian(&[
        "judge",
        "predict",
        "--model",
        s(&model),
        "--field",
        "content",
        "--threads",
        "2",
        s(&input),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["record"], i as u64 + 1);
        assert_eq!(l["source"], s(&input));
        let score = l["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score));
        assert!(l["flagged"].is_boolean());
    }
    assert_eq!(lines[0]["label"], "博彩");
    assert_eq!(lines[0]["flagged"], true);
    assert_eq!(lines[1]["label"], "safe");
    assert_eq!(lines[1]["flagged"], false);
    assert_eq!(lines[2]["label"], "诈骗");

    // summary
    let out = beian(&[
        "judge",
        "predict",
        "--model",
        s(&model),
        "--field",
        "content",
        "--format",
        "summary",
        s(&input),
    ]);
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(t.contains("records 3") && t.contains("flagged 2"), "{t}");

    // scan --model: a `model` finding with a score, and the summary line.
    let lex = d.join("lex.tsv");
    std::fs::write(&lex, "赌场\tA.1.h\n").unwrap();
    let out = beian(&[
        "scan",
        "--lexicon",
        s(&lex),
        "--model",
        s(&model),
        "--field",
        "content",
        s(&input),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let m: Vec<_> = found.iter().filter(|f| f["detector"] == "model").collect();
    assert_eq!(m.len(), 2, "{found:?}");
    assert!(m[0]["score"].as_f64().unwrap() >= 0.0);
    assert_eq!(m[0]["risk"], "博彩");
    assert!(
        found
            .iter()
            .any(|f| f["detector"] == "lexicon" && f["risks"][0] == "A.1.h")
    );
    let out = beian(&[
        "scan",
        "--lexicon",
        s(&lex),
        "--model",
        s(&model),
        "--field",
        "content",
        "--format",
        "summary",
        s(&input),
    ]);
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(t.contains("model: flagged 2"), "{t}");
}

#[test]
fn bad_input_names_file_and_line() {
    let d = dir("bad");
    let model = trained(&d);
    // Unknown label field.
    let data = d.join("odd.jsonl");
    std::fs::write(
        &data,
        "{\"text\": \"a\", \"label\": \"safe\"}\n{\"text\": \"b\", \"category\": \"博彩\"}\n",
    )
    .unwrap();
    let out = beian(&[
        "judge",
        "train",
        "--data",
        s(&data),
        "--out",
        s(&d.join("x.judge")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains(&format!("{} line 2: no label field \"label\"", s(&data))),
        "{e}"
    );
    assert!(!d.join("x.judge").exists(), "no model written on error");
    // Empty file.
    let empty = d.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let out = beian(&["judge", "eval", "--model", s(&model), "--data", s(&empty)]);
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains(&format!("{}: no examples", s(&empty))), "{e}");
    // A model of a newer format.
    let bytes = std::fs::read(&model).unwrap();
    let text = String::from_utf8_lossy(&bytes[..200]).to_string();
    assert!(
        text.starts_with("beian-judge-model\n{\"format\":1"),
        "{text}"
    );
    let mut newer = bytes.clone();
    let at = "beian-judge-model\n{\"format\":".len();
    newer[at] = b'7';
    let newer_p = d.join("newer.judge");
    std::fs::write(&newer_p, newer).unwrap();
    let out = beian(&["judge", "predict", "--model", s(&newer_p), "-"]);
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains(s(&newer_p)) && e.contains("model format 7 is newer"),
        "{e}"
    );
    // A label the model does not know, in eval.
    let unknown = d.join("unknown.jsonl");
    std::fs::write(&unknown, "{\"text\": \"a\", \"label\": \"毒品\"}\n").unwrap();
    let out = beian(&["judge", "eval", "--model", s(&model), "--data", s(&unknown)]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains(&format!("{} line 1: label \"毒品\"", s(&unknown))),
        "{e}"
    );
    // A missing input: reported once, the others still predicted, exit 1.
    let input = d.join("ok.txt");
    std::fs::write(&input, "今天天气很好\n").unwrap();
    let out = beian(&[
        "judge",
        "predict",
        "--model",
        s(&model),
        s(&d.join("missing.txt")),
        s(&input),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn lexicon_audit_prunes_everyday_words_and_scan_weighs() {
    let d = dir("audit");
    let lex = d.join("lex.tsv");
    std::fs::write(&lex, "没有\tA.1.h\n百家乐\tA.1.h\n赌场\tA.1.h\n").unwrap();
    let clean = d.join("clean.txt");
    let mut lines: Vec<String> = (0..200).map(|i| format!("今天没有下雨，第{i}天")).collect();
    lines.extend((0..800).map(|i| format!("我们去公园散步，第{i}次")));
    lines.push("他说赌场的故事".into());
    std::fs::write(&clean, lines.join("\n") + "\n").unwrap();
    let pruned = d.join("pruned.tsv");
    let out = beian(&[
        "lexicon",
        "audit",
        s(&lex),
        "--reference",
        s(&clean),
        "--max-share",
        "0.01",
        "-o",
        s(&pruned),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(t.contains("没有: hits 19.980% of clean records"), "{t}");
    assert!(t.contains("DROPPED"), "{t}");
    let p = std::fs::read_to_string(&pruned).unwrap();
    assert!(!p.contains("没有"), "{p}");
    assert!(p.contains("百家乐\tA.1.h\t\t\t1.0000"), "{p}");
    let allow = std::fs::read_to_string(d.join("pruned.allow.txt")).unwrap();
    assert!(allow.lines().any(|l| l == "没有"), "{allow}");
    // 赌场 hit 1 of 1001 records: a weight below 1.
    let w: f64 = p
        .lines()
        .find(|l| l.starts_with("赌场"))
        .and_then(|l| l.rsplit('\t').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(w < 1.0 && w > 0.5, "{w}");

    // scan with the pruned lexicon: weights on findings, records ranked.
    let input = d.join("in.txt");
    std::fs::write(&input, "赌场\n百家乐和赌场\n没有\n").unwrap();
    let out = beian(&["scan", "--lexicon", s(&pruned), s(&input)]);
    let found: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found.iter().all(|f| f["weight"].is_number()));
    let out = beian(&[
        "scan",
        "--lexicon",
        s(&pruned),
        "--format",
        "summary",
        s(&input),
    ]);
    let t = String::from_utf8_lossy(&out.stdout);
    let ranked = t.split("ranked by audited weight").nth(1).unwrap_or("");
    let first = ranked.lines().nth(1).unwrap_or("");
    assert!(
        first.contains(":2"),
        "the record with two findings first: {t}"
    );

    // --min-weight leaves out the findings of lighter entries (赌场, seen in
    // clean text) and says so on stderr; 百家乐 (weight 1) stays.
    let out = beian(&[
        "scan",
        "--lexicon",
        s(&pruned),
        "--min-weight",
        "0.99",
        s(&input),
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--min-weight 0.99: findings of 1 audited lexicon entries"),
        "{err}"
    );
    let terms: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["term"].to_string())
        .collect();
    assert_eq!(terms, ["\"百家乐\""], "{terms:?}");
}

#[test]
fn scan_warns_about_one_character_terms_and_unknown_codes() {
    let d = dir("warn");
    let lex = d.join("w.tsv");
    std::fs::write(&lex, "日\tA.1.f\n赌场\tA.9.z\n").unwrap();
    let input = d.join("in.txt");
    std::fs::write(&input, "日日赌场\n").unwrap();
    let out = beian(&["scan", "--lexicon", s(&lex), s(&input)]);
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(e.matches("not matched").count(), 1, "said once: {e}");
    assert!(
        e.contains("1 lexicon entries") && e.contains("--min-term-chars 1"),
        "{e}"
    );
    assert!(
        e.contains(&format!("{} line 2: unknown risk code \"A.9.z\"", s(&lex))),
        "{e}"
    );
    // --min-term-chars 1 matches them, and says nothing.
    let out = beian(&[
        "scan",
        "--lexicon",
        s(&lex),
        "--min-term-chars",
        "1",
        s(&input),
    ]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not matched"));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
}

#[test]
fn lexicon_stats_exits_non_zero_when_short() {
    let d = dir("stats");
    let lex = d.join("small.tsv");
    std::fs::write(&lex, "赌博\tA.1.h\n").unwrap();
    let out = beian(&["lexicon", "stats", s(&lex)]);
    assert_eq!(out.status.code(), Some(1));
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(!t.contains("meets"), "never says meets while short: {t}");
    assert!(t.contains("SHORT"), "{t}");
}

/// The default model needs no file: `judge predict` without --model and
/// `scan --model default` use the model shipped inside beian. Its own
/// weights decide (no rule in this test): a harmful request is flagged, an
/// everyday review is not, and a long flagged record's `model` finding spans
/// the whole record while `matched` keeps its first 60 characters.
#[test]
fn default_model_without_a_file() {
    let d = dir("default-model");
    let input = d.join("in.txt");
    let long = format!(
        "教我怎么自制炸弹，去炸毁人多的商场。{}",
        "我要让所有人都知道我的厉害，".repeat(8)
    );
    let texts = [
        "房间很干净，服务员态度也很好，早餐种类丰富，下次还会再来",
        long.as_str(),
    ];
    std::fs::write(&input, texts.join("\n") + "\n").unwrap();
    let out = beian(&["judge", "predict", s(&input)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["flagged"], false, "{lines:?}");
    assert_eq!(lines[1]["flagged"], true, "{lines:?}");

    let lex = d.join("lex.tsv");
    std::fs::write(&lex, "百家乐\tA.1.h\n").unwrap();
    let out = beian(&[
        "scan",
        "--lexicon",
        s(&lex),
        "--model",
        "default",
        s(&input),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let m: Vec<_> = found.iter().filter(|f| f["detector"] == "model").collect();
    assert_eq!(m.len(), 1, "{found:?}");
    assert_eq!(m[0]["record"], 2);
    assert_eq!(m[0]["start"], 0);
    assert_eq!(m[0]["end"], long.len());
    let matched = m[0]["matched"].as_str().unwrap();
    assert_eq!(matched.chars().count(), 61, "{matched}");
    assert!(matched.ends_with('…') && long.starts_with(matched.trim_end_matches('…')));
    assert!(m[0]["score"].as_f64().unwrap() >= 0.5);
}

/// Two entries that fold to the same text (系统 and 系統, QQ and qq): the
/// engine credits a span to one of them, so the audit shares the hits and
/// drops both, instead of keeping the uncredited spelling as "never seen".
#[test]
fn lexicon_audit_measures_every_spelling_of_a_term() {
    let d = dir("audit-forms");
    let lex = d.join("lex.tsv");
    std::fs::write(
        &lex,
        "系统\tA.1.h\n系統\tA.1.h\nQQ\tA.1.h\nqq\tA.1.h\n百家乐\tA.1.h\n",
    )
    .unwrap();
    let clean = d.join("clean.txt");
    let lines: Vec<String> = (0..100)
        .map(|i| format!("系统升级以后加了QQ群，第{i}次"))
        .collect();
    std::fs::write(&clean, lines.join("\n") + "\n").unwrap();
    let pruned = d.join("pruned.tsv");
    let out = beian(&[
        "lexicon",
        "audit",
        s(&lex),
        "--reference",
        s(&clean),
        "-o",
        s(&pruned),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = String::from_utf8_lossy(&out.stdout);
    for term in ["系统", "系統", "QQ", "qq"] {
        assert!(
            t.contains(&format!("{term}: hits 100.000% of clean records")),
            "{term}: {t}"
        );
    }
    let p = std::fs::read_to_string(&pruned).unwrap();
    let kept: Vec<&str> = p
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert_eq!(kept, ["百家乐"], "{p}");
}
