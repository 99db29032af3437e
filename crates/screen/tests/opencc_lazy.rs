//! With the default options, neither building an engine, nor compiling and
//! loading it, nor scanning text with traditional characters whose
//! simplified form is outside the BMP (顗, 鱏) or with compatibility
//! ideographs (🈶, U+2F800) loads OpenCC's tables: their results are in the
//! embedded table and in the compiled file. One test in its own process,
//! since the tables are loaded once per process.

use beian_screen::{Engine, EngineBuilder, opencc_loaded};

#[test]
fn default_scans_never_load_opencc() {
    let mut b = EngineBuilder::new();
    b.lexicon_text("t.txt", "有钱\n丽人\n法轮功\n", Some("A.1.a"))
        .expect("lexicon");
    let source = b.build().expect("engine");
    let compiled = Engine::from_compiled(&source.to_compiled()).expect("compiled");
    // U+9857 (顗) and U+9C4F (鱏) simplify to characters outside the BMP.
    let text = "\u{9857}\u{9C4F} 🈶钱 \u{2F800}人 法輪功";
    let want = source.find(text);
    assert_eq!(compiled.find(text), want);
    let terms: Vec<&str> = want.iter().map(|f| &*f.term).collect();
    assert_eq!(terms, ["有钱", "丽人", "法轮功"]);
    assert!(
        !opencc_loaded(),
        "a default scan loaded OpenCC's tables: a result is missing from the embedded or compiled table"
    );
}
