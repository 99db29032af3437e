//! Property: every finding lies on character boundaries of the original
//! record and `matched == record[start..end]`, whatever the noise.

use std::sync::OnceLock;

use beian_screen::{Engine, EngineBuilder, Options};
use proptest::prelude::*;

fn noisy_engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let mut b = EngineBuilder::new();
        b.lexicon_text(
            "t.txt",
            "赌博网站\n违禁品\nbadword\n六合彩\nbad\n",
            Some("A.1.h"),
        )
        .expect("test setup");
        b.build().expect("test setup")
    })
}

fn plain_engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let mut b = EngineBuilder::new();
        b.options(Options::default()).no_detectors();
        b.lexicon_text("t.txt", "赌博网站\n", None)
            .expect("test setup");
        b.build().expect("test setup")
    })
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("赌博网站".to_string()),
        Just("賭博網站".to_string()),
        Just("违禁品".to_string()),
        Just("badword".to_string()),
        Just("ＢＡＤ".to_string()),
        Just("dbwz".to_string()),
        Just("六合彩".to_string()),
        Just("⑥".to_string()),
        Just("\u{200b}".to_string()),
        Just("😀".to_string()),
        Just("\u{fe0f}".to_string()),
        Just("e\u{301}".to_string()),
        Just("。".to_string()),
        Just(" ".to_string()),
        Just(".".to_string()),
        Just("13812345678".to_string()),
        Just("a@b.cn".to_string()),
        "[a-z]{1,3}",
        "\\PC{1,3}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn findings_are_exact_slices(parts in proptest::collection::vec(piece(), 0..24)) {
        let text: String = parts.concat();
        let e = noisy_engine();
        for f in e.find(&text) {
            prop_assert!(f.start < f.end);
            prop_assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
            prop_assert_eq!(&text[f.start..f.end], f.matched.as_str());
        }
        let n = e.normalize(&text);
        prop_assert_eq!(n.text.chars().count(), n.spans.len());
        let mut last = 0;
        for &(s, en) in &n.spans {
            prop_assert!(s >= last && s < en && text.is_char_boundary(s) && text.is_char_boundary(en));
            last = en;
        }
    }

    #[test]
    fn inserted_term_is_found(pre in "\\PC{0,6}", post in "\\PC{0,6}") {
        let e = plain_engine();
        let text = format!("{pre}。赌博网站。{post}");
        let f = e.find(&text);
        prop_assert!(f.iter().any(|f| f.matched == "赌博网站"), "{:?} in {:?}", f, text);
    }
}
