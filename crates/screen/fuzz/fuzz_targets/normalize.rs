#![no_main]
//! Any UTF-8 input: normalization spans are increasing character-boundary
//! spans of the input, and every finding is an exact slice of it.

use std::sync::OnceLock;

use beian_screen::{Engine, EngineBuilder, Options};
use libfuzzer_sys::fuzz_target;

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let mut b = EngineBuilder::new();
        // Every path: homophones too (off by default).
        b.options(Options { homophones: true, ..Options::default() });
        b.lexicon_text("fuzz.txt", "赌博网站\n违禁品\nbadword\n六合彩\nab\n违禁品交易\n法轮功\n", Some("A.1.h"))
            .expect("lexicon");
        b.allow_text("allow.txt", "非违禁品\n").expect("allow");
        b.build().expect("engine")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let e = engine();
    let n = e.normalize(text);
    assert_eq!(n.text.chars().count(), n.spans.len());
    let mut last = 0;
    for &(s, en) in &n.spans {
        assert!(s >= last && s < en && en <= text.len());
        assert!(text.is_char_boundary(s) && text.is_char_boundary(en));
        last = en;
    }
    for f in e.find(text) {
        assert!(f.start < f.end);
        assert_eq!(&text[f.start..f.end], f.matched);
    }
});
