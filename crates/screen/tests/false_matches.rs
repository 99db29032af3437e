//! Regression tests for the false matches found on real data (issue 9 §3,
//! items 1-5). Each builds a real engine and screens real sentences.

use beian_screen::{Engine, EngineBuilder, Options, Via};

fn engine(lexicon: &str, opts: Options) -> Engine {
    let mut b = EngineBuilder::new();
    b.options(opts).no_detectors();
    b.lexicon_text("t.tsv", lexicon, Some("A.1.a"))
        .expect("lexicon");
    b.build().expect("engine")
}

fn matched(e: &Engine, text: &str) -> Vec<String> {
    e.find(text).into_iter().map(|f| f.matched).collect()
}

/// §3.1: mixed pinyin matches only the term's own characters plus pinyin;
/// same-sound characters need `homophones`.
#[test]
fn mixed_pinyin_does_not_match_by_sound() {
    let e = engine("民泽江\n法轮功\n", Options::default());
    assert!(matched(&e, "min，则将").is_empty());
    assert!(matched(&e, "min则将来").is_empty());
    assert!(matched(&e, "fa轮攻").is_empty(), "攻 is not 功");
    // Pinyin for some characters, the others written: still found.
    let f = e.find("他在练fa轮功");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].matched, "fa轮功");
    assert_eq!(f[0].via, Some(Via::MixedPinyin));
    assert_eq!(matched(&e, "法lun功"), vec!["法lun功"]);
    // Same-sound characters behind the switch.
    let h = engine(
        "法轮功\n",
        Options {
            homophones: true,
            ..Options::default()
        },
    );
    assert_eq!(matched(&h, "fa轮攻"), vec!["fa轮攻"]);
    assert_eq!(matched(&h, "发论公"), vec!["发论公"]);
}

/// §3.2: separators are never skipped across clause punctuation or a line break.
#[test]
fn no_skipping_across_clause_punctuation() {
    let e = engine("错比\n", Options::default());
    for t in [
        "不错，比较",
        "不错。比较",
        "不错！比较",
        "不错？比较",
        "不错；比较",
        "不错：比较",
        "不错、比较",
        "不错\n比较",
        "不错\r\n比较",
    ] {
        assert!(matched(&e, t).is_empty(), "{t:?}");
    }
    // Ordinary evasion separators still join.
    assert_eq!(matched(&e, "不错*比较"), vec!["错*比"]);
    assert_eq!(matched(&e, "不错 比较"), vec!["错 比"]);
}

/// §3.3: punctuation a lexicon entry contains must be in the text.
#[test]
fn punctuation_inside_a_term_must_match() {
    let e = engine("《苹果》\n", Options::default());
    assert!(matched(&e, "我买了苹果和香蕉").is_empty());
    assert!(matched(&e, "“苹果”").is_empty());
    assert_eq!(matched(&e, "读《苹果》一书"), vec!["《苹果》"]);
    let f = &e.find("读《苹果》一书")[0];
    assert_eq!(&*f.term, "《苹果》");

    let e = engine("a.b.c\n", Options::default());
    assert!(matched(&e, "x abc y").is_empty());
    assert_eq!(matched(&e, "x a.b.c y"), vec!["a.b.c"]);
    // Full-width forms of the same punctuation count.
    assert_eq!(matched(&e, "x a．b．c y"), vec!["a．b．c"]);

    // A plain entry for the same characters is unaffected.
    let e = engine("《苹果》\n苹果\tA.2.b\n", Options::default());
    let f = e.find("吃苹果");
    assert_eq!(f.len(), 1);
    assert_eq!(&*f[0].risk, "A.2.b");
}

/// §3.4: pinyin initials are opt-in, and only for terms of 3+ characters.
#[test]
fn initials_are_opt_in() {
    let e = engine("习皇上\n", Options::default());
    assert!(matched(&e, "我在xhs上看到的").is_empty());
    let on = Options {
        pinyin_initials: true,
        min_initials_chars: 2,
        ..Options::default()
    };
    let e = engine("习皇上\n红书\n", on);
    let f = e.find("去 xhs 看看 hs 吧");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].matched, "xhs");
    assert_eq!(f[0].via, Some(Via::Initials));
}

/// §3.5: one finding per span, with every risk listed.
#[test]
fn one_finding_per_span_with_all_risks() {
    let mut b = EngineBuilder::new();
    b.no_detectors();
    b.lexicon_text("a.tsv", "赌博网站\tA.1.h\n", None)
        .expect("a");
    b.lexicon_text("b.tsv", "赌博网站\tA.2.c\n", None)
        .expect("b");
    b.lexicon_text("c.txt", "赌博网站\n", None).expect("c");
    let e = b.build().expect("engine");
    let f = e.find("这是赌博网站");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(&*f[0].risk, "A.1.h");
    let risks: Vec<&str> = f[0].risks.iter().map(|r| &**r).collect();
    assert_eq!(risks, vec!["A.1.h", "A.2.c", "unclassified"]);
    let j = serde_json::to_value(&f[0]).expect("json");
    assert_eq!(j["risks"].as_array().map(Vec::len), Some(3));
}

/// Audited weights (fifth TSV column) reach the finding.
#[test]
fn audited_weight_reaches_the_finding() {
    let e = engine("赌博网站\tA.1.h\t\t\t0.93\n", Options::default());
    let f = e.find("赌博网站");
    assert_eq!(f[0].weight, Some(0.93));
    let mut b = EngineBuilder::new();
    let err = b
        .lexicon_text("w.tsv", "a\tA.1.a\t\t\theavy\n", None)
        .expect_err("bad weight");
    assert!(err.to_string().contains("w.tsv line 1"), "{err}");
}
