//! Table-driven evasion tests: each normalization alone and combined, the
//! bounds that keep unrelated words apart, allow-lists, and the switches.

use beian_screen::{Engine, EngineBuilder, Options, Via};

const LEXICON: &str = "赌博网站\tA.1.h\n违禁品\tA.1.h\thigh\tblock\n六合彩\tA.1.h\nbadword\tA.1.f\n违禁品交易\tA.1.h\n";

fn engine(opts: Options) -> Engine {
    let mut b = EngineBuilder::new();
    b.options(opts).no_detectors();
    b.lexicon_text("test.tsv", LEXICON, None)
        .expect("lexicon parses");
    b.allow_text("allow.txt", "非违禁品清单\n")
        .expect("allow parses");
    b.build().expect("engine builds")
}

/// (text, expected term or None, expected matched slice)
fn check(e: &Engine, cases: &[(&str, Option<&str>, &str)]) {
    for (text, term, matched) in cases {
        let f = e.find(text);
        match term {
            Some(t) => {
                assert_eq!(f.len(), 1, "{text:?}: expected one finding, got {f:?}");
                assert_eq!(&*f[0].term, *t, "{text:?}");
                assert_eq!(&text[f[0].start..f[0].end], *matched, "{text:?}");
                assert_eq!(f[0].matched, *matched, "{text:?}");
            }
            None => assert!(f.is_empty(), "{text:?}: expected nothing, got {f:?}"),
        }
    }
}

#[test]
fn plain_terms() {
    check(
        &engine(Options::none()),
        &[
            ("这是赌博网站吗", Some("赌博网站"), "赌博网站"),
            ("no badword here", Some("badword"), "badword"),
            ("清白的句子", None, ""),
        ],
    );
}

#[test]
fn width_alone() {
    let o = Options {
        width: true,
        ..Options::none()
    };
    check(
        &engine(o),
        &[
            ("ｂａｄｗｏｒｄ", Some("badword"), "ｂａｄｗｏｒｄ"),
            ("ＢＡＤＷＯＲＤ", None, ""),
        ],
    );
}

#[test]
fn case_alone() {
    let o = Options {
        case: true,
        ..Options::none()
    };
    check(
        &engine(o),
        &[
            ("BadWord!", Some("badword"), "BadWord"),
            ("ｂａｄｗｏｒｄ", None, ""),
        ],
    );
}

#[test]
fn traditional_alone() {
    let o = Options {
        traditional: true,
        ..Options::none()
    };
    check(
        &engine(o),
        &[
            ("去賭博網站玩", Some("赌博网站"), "賭博網站"),
            ("違禁品", Some("违禁品"), "違禁品"),
        ],
    );
    check(&engine(Options::none()), &[("去賭博網站玩", None, "")]);
}

#[test]
fn separators_alone() {
    let o = Options {
        separators: true,
        max_skip: 3,
        ..Options::none()
    };
    check(
        &engine(o),
        &[
            ("赌.博.网.站", Some("赌博网站"), "赌.博.网.站"),
            ("赌 博 网 站", Some("赌博网站"), "赌 博 网 站"),
            (
                "赌\u{200b}博\u{200d}网\u{fe0f}站",
                Some("赌博网站"),
                "赌\u{200b}博\u{200d}网\u{fe0f}站",
            ),
            ("赌😀博🔥网站", Some("赌博网站"), "赌😀博🔥网站"),
            ("赌@#$博网站", Some("赌博网站"), "赌@#$博网站"),
            ("b a d w o r d", Some("badword"), "b a d w o r d"),
            // Bounded: four separators, a sentence end, a line break.
            ("赌....博网站", None, ""),
            ("赌。博网站", None, ""),
            ("赌\n博网站", None, ""),
        ],
    );
}

#[test]
fn digits_alone() {
    let o = Options {
        digits: true,
        ..Options::none()
    };
    check(
        &engine(o),
        &[
            ("买6合彩", Some("六合彩"), "6合彩"),
            ("买陆合彩", Some("六合彩"), "陆合彩"),
            ("买➅合彩", Some("六合彩"), "➅合彩"),
        ],
    );
    let o = Options {
        digits: true,
        width: true,
        ..Options::none()
    };
    check(
        &engine(o),
        &[
            ("买⑥合彩", Some("六合彩"), "⑥合彩"),
            ("买６合彩", Some("六合彩"), "６合彩"),
        ],
    );
}

#[test]
fn pinyin_alone() {
    let o = Options {
        pinyin: true,
        pinyin_initials: true,
        ascii_word_boundary: true,
        ..Options::none()
    };
    let e = engine(o);
    check(
        &e,
        &[
            ("上 dubowangzhan 看", Some("赌博网站"), "dubowangzhan"),
            ("上dbwz看", Some("赌博网站"), "dbwz"),
            ("weijinpin", Some("违禁品"), "weijinpin"),
            // Whole words only.
            ("xdbwz", None, ""),
            ("dbwzs", None, ""),
        ],
    );
    let f = e.find("dbwz");
    assert_eq!(f[0].via, Some(Via::Initials));
    let f = e.find("dubowangzhan");
    assert_eq!(f[0].via, Some(Via::Pinyin));
}

#[test]
fn homophones_and_mixed_pinyin() {
    let o = Options {
        homophones: true,
        ..Options::default()
    };
    let e = engine(o);
    check(
        &e,
        &[
            // Same-sound characters (睹搏 for 赌博: du-bo), pinyin mixed in.
            ("上睹搏网站看", Some("赌博网站"), "睹搏网站"),
            ("上du博网zhan看", Some("赌博网站"), "du博网zhan"),
            ("卖违jin品", Some("违禁品"), "违jin品"),
            // The exact term is found as text, not as a homophone.
            ("赌博网站", Some("赌博网站"), "赌博网站"),
            // Two-character terms are not matched by sound; other sounds are not.
            ("上读书网站看", None, ""),
        ],
    );
    assert_eq!(e.find("睹搏网站")[0].via, Some(Via::Homophone));
    assert_eq!(e.find("赌博网站")[0].via, Some(Via::Text));
    assert_eq!(e.find("du博网zhan")[0].via, Some(Via::MixedPinyin));
    // Same-sound characters are off by default; pinyin mixed in is on.
    let d = engine(Options::default());
    assert!(d.find("睹搏网站").is_empty());
    check(
        &d,
        &[
            ("上du博网zhan看", Some("赌博网站"), "du博网zhan"),
            ("卖违jin品", Some("违禁品"), "违jin品"),
            ("weijin品", Some("违禁品"), "weijin品"),
            // Only hits with a letter in them: a pure homophone stays out.
            ("读书wang站", None, ""),
        ],
    );
    assert_eq!(d.find("违jin品")[0].via, Some(Via::MixedPinyin));
    assert!(engine(Options::none()).find("违jin品").is_empty());
    // An allowed phrase suppresses homophone hits inside it too.
    assert!(e.find("非违禁品清单").is_empty());
}

#[test]
fn combined_defaults() {
    let e = engine(Options::default());
    check(
        &e,
        &[
            ("快去賭．博 網😀站看看", Some("赌博网站"), "賭．博 網😀站"),
            ("ＢＡＤ ＷＯＲＤ", Some("badword"), "ＢＡＤ ＷＯＲＤ"),
            ("du bo wang zhan", Some("赌博网站"), "du bo wang zhan"),
            ("买⑥.合.彩", Some("六合彩"), "⑥.合.彩"),
            ("买陸合彩", Some("六合彩"), "陸合彩"),
            ("is a badwordy text", None, ""),
            ("看badword片", Some("badword"), "badword"),
        ],
    );
}

#[test]
fn allow_list_and_longest_match() {
    let e = engine(Options::default());
    // An allowed phrase that contains the hit suppresses it.
    check(&e, &[("这是非违禁品清单", None, "")]);
    // The hit outside the allowed phrase still counts.
    check(&e, &[("违禁品", Some("违禁品"), "违禁品")]);
    // Longest match wins: the longer term, not the shorter one inside it.
    check(&e, &[("违禁品交易", Some("违禁品交易"), "违禁品交易")]);
    let f = e.find("违禁品");
    assert_eq!(f[0].severity.as_deref(), Some("high"));
    assert_eq!(f[0].action.as_deref(), Some("block"));
}

#[test]
fn risk_codes_and_defaults() {
    let mut b = EngineBuilder::new();
    b.no_detectors();
    b.lexicon_text(
        "plain.txt",
        "\u{feff}词一二\r\n\r\n词一二\r\n",
        Some("A.1.f"),
    )
    .expect("parses");
    b.lexicon_text("none.txt", "另一词\n", None)
        .expect("parses");
    let e = b.build().expect("builds");
    assert_eq!(e.stats().duplicates, 1);
    let f = e.find("词一二 和 另一词");
    assert_eq!(f.len(), 2);
    assert_eq!(&*f[0].risk, "A.1.f");
    assert_eq!(&*f[1].risk, beian_screen::UNCLASSIFIED);
}

#[test]
fn regex_entries_and_errors() {
    let mut b = EngineBuilder::new();
    b.no_detectors();
    b.lexicon_text("re.tsv", "re:加微信\\s*[a-z0-9_]{5,}\tA.3.e\n", None)
        .expect("parses");
    let e = b.build().expect("builds");
    let t = "请加微信 abc_123 联系";
    let f = e.find(t);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].detector, "regex");
    assert_eq!(&t[f[0].start..f[0].end], "加微信 abc_123");

    let mut b = EngineBuilder::new();
    let err = b
        .lexicon_text("bad.tsv", "ok\nre:(unclosed\n", None)
        .expect_err("must fail");
    assert!(err.to_string().contains("bad.tsv line 2"), "{err}");
    let err = EngineBuilder::new()
        .lexicon_text("empty.txt", "\n\r\n", None)
        .expect_err("must fail");
    assert!(err.to_string().contains("empty.txt"), "{err}");
}

#[test]
fn detectors_in_engine() {
    let mut b = EngineBuilder::new();
    b.lexicon_text("t.txt", "违禁品\n", None).expect("parses");
    let e = b.build().expect("builds");
    let t = "违禁品 电话13812345678 身份证11010519491231002X 邮箱 a@example.com";
    let f = e.find(t);
    let kinds: Vec<&str> = f.iter().map(|f| f.detector).collect();
    assert_eq!(kinds, vec!["lexicon", "mobile", "id-card", "email"]);
    for x in &f {
        assert_eq!(&t[x.start..x.end], x.matched);
    }
    assert_eq!(&*f[1].risk, "A.4.f");
}

#[test]
fn short_terms_dropped_by_default() {
    let mut b = EngineBuilder::new();
    b.no_detectors();
    b.lexicon_text("t.txt", "出\nb\n法*\n两字\n", None)
        .expect("parses");
    let e = b.build().expect("builds");
    assert_eq!(e.stats().dropped_short, 3);
    assert!(e.find("出门看法b").is_empty());
    assert_eq!(e.find("两字").len(), 1);
}

#[test]
fn batch_without_copy_and_send_sync() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let e = engine(Options::default());
    assert_send_sync(&e);
    let recs = ["赌博网站", "无", "违禁品"];
    let out = e.find_batch(recs.iter().copied());
    assert_eq!(out.iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 0, 1]);
    let e = std::sync::Arc::new(e);
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let e = e.clone();
            std::thread::spawn(move || e.find("赌博网站").len())
        })
        .collect();
    for h in hs {
        assert_eq!(h.join().ok(), Some(1));
    }
}
