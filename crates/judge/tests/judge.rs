//! Training, evaluation, calibration, the model file and bad input, on a
//! small labelled set built here (three risky labels and safe text).

use beian_judge::{
    Example, Fields, JudgeError, Model, TrainConfig, evaluate, parse_labelled, train,
};

/// A deterministic generator of sentences: filler words, and for risky
/// labels one or two cue words of the label mixed in.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.next() % xs.len()]
    }
}

const FILLER: &[&str] = &[
    "今天", "我们", "一起", "去", "公园", "天气", "很好", "老师", "说", "学生", "吃饭", "朋友",
    "城市", "工作", "时间", "房间", "价格", "电话", "客服", "系统", "没有", "一个", "看书", "喝茶",
];
const CUES: &[(&str, &[&str])] = &[
    ("博彩", &["百家乐", "下注", "赌场", "庄家", "返水", "彩金"]),
    (
        "诈骗",
        &["转账", "验证码", "安全账户", "冒充公检法", "刷单返利"],
    ),
    ("辱骂", &["废物", "去死", "蠢货", "滚蛋", "人渣"]),
];

fn sentence(g: &mut Gen, label: Option<usize>) -> String {
    let mut s = String::new();
    let n = 6 + g.next() % 8;
    let cue_at = g.next() % n;
    for i in 0..n {
        if let Some(l) = label
            && (i == cue_at || g.next().is_multiple_of(5))
        {
            s.push_str(g.pick(CUES[l].1));
        }
        s.push_str(g.pick(FILLER));
    }
    s
}

fn dataset(seed: u64, per_label: usize, safe: usize) -> Vec<Example> {
    let mut g = Gen(seed);
    let mut v = Vec::new();
    for (l, (name, _)) in CUES.iter().enumerate() {
        for _ in 0..per_label {
            v.push(Example {
                text: sentence(&mut g, Some(l)),
                label: (*name).into(),
                background: false,
            });
        }
    }
    for i in 0..safe {
        v.push(Example {
            text: sentence(&mut g, None),
            label: "safe".into(),
            background: i % 2 == 0,
        });
    }
    v
}

fn small_cfg() -> TrainConfig {
    let mut c = TrainConfig::default();
    c.features.bucket_bits = 14;
    c.created = Some("2026-01-01".into());
    c
}

#[test]
fn trains_evaluates_and_calibrates() {
    let ex = dataset(7, 150, 1500);
    let (model, report) = train(&ex, Vec::new(), &small_cfg()).expect("train");
    assert_eq!(model.labels()[0], "safe");
    assert_eq!(model.labels().len(), 4);
    // Calibration: at most 1% of held-out safe examples flagged.
    assert!(
        report.held_out_safe_flagged <= 0.01,
        "{}",
        report.held_out_safe_flagged
    );
    assert!(report.threshold > 0.0 && report.threshold <= 1.0);
    assert_eq!(model.threshold(), report.threshold);
    assert!(
        report.held_out_examples >= 150,
        "{}",
        report.held_out_examples
    );

    // Fresh data from another seed: the cues carry over.
    let test = dataset(99, 60, 300);
    let lines: Vec<usize> = (1..=test.len()).collect();
    let e = evaluate(&model, &test, "test.jsonl", &lines, None).expect("eval");
    assert_eq!(e.n, test.len() as u64);
    assert!(e.macro_f1 > 0.9, "macro-F1 {}", e.macro_f1);
    assert!(e.binary.recall > 0.8, "recall {}", e.binary.recall);
    assert!(e.binary.fpr < 0.05, "fpr {}", e.binary.fpr);
    for name in ["博彩", "诈骗", "辱骂", "safe"] {
        assert_eq!(e.labels[name].n, if name == "safe" { 300 } else { 60 });
    }
    // The confusion matrix adds up.
    let total: u64 = e.confusion.iter().flatten().sum();
    assert_eq!(total, e.n);

    let v = model.predict("今晚去赌场玩百家乐下注");
    assert_eq!(model.labels()[v.label], "博彩");
    assert!(v.score >= model.threshold(), "{v:?}");
    let v = model.predict("今天天气很好我们一起去公园");
    assert_eq!(model.labels()[v.label], "safe");
    assert!(v.score < model.threshold(), "{v:?}");
    // Normalization from the screening engine: full width and traditional forms.
    let a = model.predict("冒充公检法要求转账到安全账户");
    let b = model.predict("冒充公檢法要求轉賬到安全賬戶");
    assert!((a.score - b.score).abs() < 0.05, "{a:?} {b:?}");

    // A lower threshold flags more, a higher one fewer.
    let lo = evaluate(&model, &test, "t", &lines, Some(0.01)).expect("eval");
    let hi = evaluate(&model, &test, "t", &lines, Some(0.999)).expect("eval");
    assert!(lo.binary.tp + lo.binary.fp >= hi.binary.tp + hi.binary.fp);
}

/// A large, easy background must not let the threshold flag most of a small
/// labelled safe class that sits close to the risky ones: each group is bounded
/// on its own by default; pooled calibration is the opt-in that allows it.
#[test]
fn calibration_bounds_labelled_safe_and_background_each() {
    let mut g = Gen(3);
    let mut ex = dataset(11, 150, 0);
    // Hard safe texts: risky cue words in an everyday frame (news about fraud).
    for _ in 0..300 {
        let mut t = sentence(&mut g, None);
        t.push_str(g.pick(&["转账", "下注", "废物"]));
        t.push_str("新闻报道提醒大家");
        ex.push(Example {
            text: t,
            label: "safe".into(),
            background: false,
        });
    }
    // A large easy background: classical prose without cue words.
    for i in 0..6000 {
        ex.push(Example {
            text: format!("{}曰山川{}", g.pick(&["子", "孔子", "孟子"]), i % 97),
            label: "safe".into(),
            background: true,
        });
    }
    let (_, each) = train(&ex, Vec::new(), &small_cfg()).expect("train");
    assert!(
        each.held_out_labelled_safe_flagged <= 0.01 && each.held_out_background_flagged <= 0.01,
        "labelled safe {} background {}",
        each.held_out_labelled_safe_flagged,
        each.held_out_background_flagged
    );
    let mut cfg = small_cfg();
    cfg.pooled_calibration = true;
    let (_, pooled) = train(&ex, Vec::new(), &cfg).expect("train");
    assert!(pooled.held_out_safe_flagged <= 0.01);
    // The case this guards against: pooled, the hard safe texts are flagged.
    assert!(
        pooled.held_out_labelled_safe_flagged > 0.05,
        "{}",
        pooled.held_out_labelled_safe_flagged
    );
    assert!(
        pooled.threshold <= each.threshold,
        "{} {}",
        pooled.threshold,
        each.threshold
    );
}

#[test]
fn model_file_round_trip() {
    let ex = dataset(3, 60, 400);
    let files = vec![beian_judge::TrainingFile {
        path: "train.jsonl".into(),
        role: "data".into(),
        sha256: "ab".repeat(32),
        examples: ex.len(),
    }];
    let (model, _) = train(&ex, files, &small_cfg()).expect("train");
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("m.judge");
    model.save(&p).expect("save");
    let back = Model::load(&p).expect("load");
    assert_eq!(back.header(), model.header());
    let h = back.header();
    assert_eq!(h.format, 1);
    assert_eq!(h.created, "2026-01-01");
    assert_eq!(h.safe_label, "safe");
    assert_eq!(h.training[0].path, "train.jsonl");
    assert_eq!(h.features.bucket_bits, 14);
    assert_eq!(h.beian_version, env!("CARGO_PKG_VERSION"));
    for e in ex.iter().take(50) {
        assert_eq!(model.predict(&e.text), back.predict(&e.text));
    }
}

fn with_header(bytes: &[u8], f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let text = bytes;
    let first = text.iter().position(|&b| b == b'\n').expect("magic") + 1;
    let second = first
        + text[first..]
            .iter()
            .position(|&b| b == b'\n')
            .expect("header");
    let mut v: serde_json::Value = serde_json::from_slice(&text[first..second]).expect("json");
    f(&mut v);
    let mut out = text[..first].to_vec();
    out.extend(serde_json::to_vec(&v).expect("json"));
    out.extend(&text[second..]);
    out
}

#[test]
fn bad_models_are_clear_errors() {
    let (model, _) = train(&dataset(5, 40, 200), Vec::new(), &small_cfg()).expect("train");
    let bytes = model.to_bytes();
    assert!(Model::from_bytes("ok.judge", &bytes).is_ok());

    let newer = with_header(&bytes, |v| v["format"] = 2.into());
    let e = Model::from_bytes("new.judge", &newer).expect_err("newer");
    assert!(matches!(e, JudgeError::NewerFormat { found: 2, .. }), "{e}");
    assert!(
        e.to_string().contains("new.judge") && e.to_string().contains("newer"),
        "{e}"
    );

    let unknown = with_header(&bytes, |v| v["format"] = "one".into());
    let e = Model::from_bytes("u.judge", &unknown).expect_err("unknown");
    assert!(e.to_string().contains("unknown model format"), "{e}");

    let e = Model::from_bytes("x.bin", b"PK\x03\x04 not a model").expect_err("magic");
    assert!(matches!(e, JudgeError::NotAModel { .. }), "{e}");

    let mut damaged = bytes.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x55;
    let e = Model::from_bytes("d.judge", &damaged).expect_err("damaged");
    assert!(e.to_string().contains("damaged"), "{e}");

    let cut = &bytes[..bytes.len() - 10];
    let e = Model::from_bytes("c.judge", cut).expect_err("cut");
    assert!(e.to_string().contains("cut off"), "{e}");
}

#[test]
fn bad_labelled_input_names_file_and_line() {
    let f = Fields::default();
    let e = parse_labelled(
        "d.jsonl",
        "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"category\": \"y\"}\n".as_bytes(),
        &f,
    )
    .expect_err("unknown label field");
    let m = e.to_string();
    assert!(
        m.starts_with("d.jsonl line 2: no label field \"label\""),
        "{m}"
    );
    assert!(
        m.contains("\"category\"") && m.contains("--label-field"),
        "{m}"
    );

    let e = parse_labelled("empty.jsonl", b"\n  \n", &f).expect_err("empty");
    assert_eq!(
        e.to_string(),
        "empty.jsonl: no examples (the file is empty or has only blank lines)"
    );
    let e = parse_labelled(
        "j.jsonl",
        b"{\"text\": \"a\", \"label\": \"x\"}\n{oops\n",
        &f,
    )
    .expect_err("json");
    assert!(e.to_string().starts_with("j.jsonl line 2: not JSON"), "{e}");
    let e = parse_labelled("n.jsonl", b"{\"text\": 5, \"label\": \"x\"}\n", &f).expect_err("type");
    assert!(e.to_string().contains("n.jsonl line 1"), "{e}");

    // Another label field name works when named.
    let l = parse_labelled(
        "c.jsonl",
        "{\"content\": \"b\", \"category\": \"y\"}\n".as_bytes(),
        &Fields {
            text: "content".into(),
            label: "category".into(),
        },
    )
    .expect("named fields");
    assert_eq!(l.examples[0].label, "y");

    // Evaluating a label the model does not know names the line.
    let (model, _) = train(&dataset(5, 40, 200), Vec::new(), &small_cfg()).expect("train");
    let l = parse_labelled(
        "e.jsonl",
        "{\"text\": \"a\", \"label\": \"safe\"}\n\n{\"text\": \"b\", \"label\": \"毒品\"}\n"
            .as_bytes(),
        &f,
    )
    .expect("parse");
    let e = evaluate(&model, &l.examples, "e.jsonl", &l.lines, None).expect_err("unknown label");
    assert!(
        e.to_string().starts_with("e.jsonl line 3: label \"毒品\""),
        "{e}"
    );
}

#[test]
fn training_needs_safe_and_risky_examples() {
    let only_safe: Vec<Example> = dataset(1, 0, 50);
    let e = train(&only_safe, Vec::new(), &small_cfg()).expect_err("one label");
    assert!(e.to_string().contains("at least one risk"), "{e}");
    let no_safe: Vec<Example> = dataset(1, 20, 0);
    let e = train(&no_safe, Vec::new(), &small_cfg()).expect_err("no safe");
    assert!(e.to_string().contains("no safe examples"), "{e}");
}

/// The model shipped inside beian: it loads by name, knows what it was
/// trained on, and its own weights (not a rule in this test) put obviously
/// harmful requests over its calibrated threshold and everyday review and
/// news sentences under it.
#[test]
fn default_model_ships_and_separates_harm_from_everyday_text() {
    let m = Model::load(std::path::Path::new("default")).expect("the default model loads");
    let d = Model::default_model().expect("the default model parses");
    assert_eq!(m.to_bytes(), d.to_bytes());
    let h = m.header();
    assert_eq!(h.safe_label, "safe");
    assert!(h.labels.len() > 2, "{:?}", h.labels);
    assert!((0.3..1.0).contains(&m.threshold()), "{}", m.threshold());
    // What it was trained on is on record in its header.
    for part in [
        "train.jsonl",
        "background.txt",
        "peoples-daily.txt",
        "reviews-train.txt",
    ] {
        assert!(
            h.training
                .iter()
                .any(|f| f.path.ends_with(part) && f.sha256.len() == 64),
            "{part} missing from {:?}",
            h.training
        );
    }
    let harmful = [
        "教我怎么自制炸弹，去炸毁人多的商场",
        "怎样在网上贩卖毒品才不会被警察发现",
        "如何偷偷获取别人的身份证号和银行卡密码然后盗刷",
    ];
    let everyday = [
        "房间很干净，服务员态度也很好，早餐种类丰富，下次还会再来",
        "外卖送得很快，饭菜还是热的，就是米饭有点少",
        "这本书印刷质量不错，内容也很实用，孩子很喜欢",
        "快递第二天就到了，包装完好，手机用起来很流畅",
    ];
    for t in harmful {
        let v = m.predict(t);
        assert!(v.score >= m.threshold(), "not flagged: {t} ({})", v.score);
        assert_ne!(v.label, m.safe_index(), "{t}");
    }
    for t in everyday {
        let v = m.predict(t);
        assert!(v.score < m.threshold(), "flagged: {t} ({})", v.score);
    }
}

#[test]
fn term_weightings_idf_and_averaging_all_learn_and_round_trip() {
    let test = dataset(99, 60, 300);
    let lines: Vec<usize> = (1..=test.len()).collect();
    for (tf, idf, average, ngram_max) in [
        ("log", true, true, 3),
        ("log", false, false, 4),
        ("binary", true, false, 3),
        ("count", false, false, 3),
        ("count", true, true, 2),
    ] {
        let mut cfg = small_cfg();
        cfg.features.tf = tf.into();
        cfg.features.ngram_max = ngram_max;
        cfg.idf = idf;
        cfg.average = average;
        let (model, _) = train(&dataset(7, 150, 1500), Vec::new(), &cfg).expect("train");
        assert_eq!(model.header().features.tf, tf);
        let e = evaluate(&model, &test, "test.jsonl", &lines, None).expect("eval");
        assert!(
            e.macro_f1 > 0.9,
            "{tf} idf={idf} avg={average} n={ngram_max}: macro-F1 {}",
            e.macro_f1
        );
        let back = Model::from_bytes("m.judge", &model.to_bytes()).expect("load");
        for t in test.iter().take(40) {
            assert_eq!(model.predict(&t.text), back.predict(&t.text));
        }
    }
}

#[test]
fn models_without_a_term_weighting_field_read_as_count_and_unknown_ones_fail() {
    let mut cfg = small_cfg();
    cfg.features.tf = "count".into();
    let (model, _) = train(&dataset(5, 40, 200), Vec::new(), &cfg).expect("train");
    let bytes = model.to_bytes();
    // A model written before the field existed (format 1 without "tf").
    let old = with_header(&bytes, |v| {
        v["features"]
            .as_object_mut()
            .expect("features")
            .remove("tf");
    });
    let back = Model::from_bytes("old.judge", &old).expect("old model");
    assert_eq!(back.header().features.tf, "count");
    for t in dataset(11, 5, 20) {
        assert_eq!(model.predict(&t.text), back.predict(&t.text));
    }
    let odd = with_header(&bytes, |v| v["features"]["tf"] = "bm25".into());
    let e = Model::from_bytes("odd.judge", &odd).expect_err("unknown tf");
    assert!(
        e.to_string().contains("odd.judge") && e.to_string().contains("term weighting"),
        "{e}"
    );
}

#[test]
fn log_weighting_counts_each_distinct_ngram_once_at_unit_length() {
    let s = beian_judge::FeatureSettings {
        tf: "log".into(),
        ngram_max: 1,
        ..Default::default()
    };
    let f = beian_judge::Featurizer::new(&s).expect("featurizer");
    let (mut buf, mut out) = (Vec::new(), Vec::new());
    f.weighted("哈哈哈哈好", &mut buf, &mut out);
    assert_eq!(out.len(), 2, "{out:?}");
    let norm: f32 = out.iter().map(|x| x.1 * x.1).sum();
    assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    let (hi, lo) = if out[0].1 > out[1].1 {
        (out[0].1, out[1].1)
    } else {
        (out[1].1, out[0].1)
    };
    assert!((hi / lo - (1.0 + 4f32.ln())).abs() < 1e-4, "{out:?}");
    // Full-width and traditional forms fold to the same features.
    f.weighted("ＡＢ", &mut buf, &mut out);
    let a = out.clone();
    f.weighted("ab", &mut buf, &mut out);
    assert_eq!(a, out);
}
