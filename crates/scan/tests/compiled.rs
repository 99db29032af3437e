//! Compiled lexicons give the same findings as their sources; stale,
//! foreign, damaged or mismatched files are clear errors.

mod common;

use common::{shared, spec};

use beian_scan::{build_engine, compile_lexicons, is_compiled_file};
use beian_screen::{Engine, Options};

fn texts() -> Vec<String> {
    common::novel_lines(
        0,
        1500,
        &[
            "他们在练 法.輪.功 吗，电话 13812345678",
            "fa轮功 和 法lun功 还有 falungong",
            "《苹果》 苹果 赌博网站 賭博網站 ｄｕｂｏ",
            "邮箱 a.b@example.com 身份证 11010519491231002X",
            "毛泽东 习近平 六四 天安门",
        ],
    )
}

fn same(a: &Engine, b: &Engine, texts: &[String]) -> usize {
    let mut n = 0;
    for t in texts {
        let (x, y) = (a.find(t), b.find(t));
        assert_eq!(x, y, "{t}");
        n += x.len();
    }
    n
}

#[test]
fn compiled_konsheng_equals_source() {
    let lex = vec![shared().join("lexicons/konsheng")];
    let dir = tempfile::tempdir().expect("tempdir");
    let allow = dir.path().join("allow.txt");
    std::fs::write(&allow, "一个\n宋江\n").expect("allow");
    let allow = [allow];
    let texts = texts();
    for (allow, opts) in [
        (&[][..], Options::default()),
        (&allow[..], Options::default()),
        (
            &[][..],
            Options {
                min_term_chars: 1,
                homophones: true,
                pinyin_initials: true,
                ..Options::default()
            },
        ),
        (&[][..], Options::none()),
    ] {
        let s = spec(&lex, allow, opts);
        let source = build_engine(&s).expect("source build");
        let bytes = compile_lexicons(&s).expect("compile");
        let out = dir.path().join("lexicon.bin");
        std::fs::write(&out, &bytes).expect("write");
        assert!(is_compiled_file(&out));
        let lex2 = vec![out];
        let loaded = build_engine(&spec(&lex2, &[], opts)).expect("load compiled");
        assert_eq!(loaded.stats(), source.stats());
        assert_eq!(loaded.entries(), source.entries());
        let n = same(&source, &loaded, &texts);
        assert!(n > 100, "{n} findings");
        // Bytes are deterministic.
        assert_eq!(compile_lexicons(&s).expect("again"), bytes);
    }
}

#[test]
fn compiled_regex_and_detector_choice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("t.tsv");
    std::fs::write(&src, "re:赌[博钱]\tA.1.h\n违禁品\tA.1.h\n").expect("lex");
    let lex = vec![src];
    let s = spec(&lex, &[], Options::default());
    let out = dir.path().join("t.bin");
    std::fs::write(&out, compile_lexicons(&s).expect("compile")).expect("write");
    let lex2 = vec![out];
    let mut s2 = spec(&lex2, &[], Options::default());
    let e = build_engine(&s2).expect("load");
    let f = e.find("赌钱 违禁品 13812345678");
    assert_eq!(f.len(), 3, "{f:?}");
    s2.detectors = &[];
    let e = build_engine(&s2).expect("load");
    assert_eq!(e.find("赌钱 违禁品 13812345678").len(), 2);
}

#[test]
fn stale_foreign_damaged_and_mismatched_files_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("t.txt");
    std::fs::write(&src, "违禁品\n赌博网站\n").expect("lex");
    let lex = vec![src.clone()];
    let good = compile_lexicons(&spec(&lex, &[], Options::default())).expect("compile");
    let load = |bytes: &[u8]| -> String {
        let p = dir.path().join("x.bin");
        std::fs::write(&p, bytes).expect("write");
        let l = vec![p];
        build_engine(&spec(&l, &[], Options::default()))
            .map(|_| String::from("loaded"))
            .unwrap_or_else(|e| e.to_string())
    };
    assert_eq!(load(&good), "loaded");
    // Another format version.
    let mut b = good.clone();
    b[8] = 99;
    assert!(load(&b).contains("format 99"), "{}", load(&b));
    // Another engine build.
    let mut b = good.clone();
    b[12] ^= 1;
    assert!(load(&b).contains("stale"), "{}", load(&b));
    // A damaged payload.
    let mut b = good.clone();
    let last = b.len() - 3;
    b[last] ^= 0x40;
    assert!(load(&b).contains("damaged"), "{}", load(&b));
    // Truncated.
    assert!(load(&good[..good.len() - 10]).contains("truncated"));
    assert!(load(&good[..20]).contains("truncated"));
    // A foreign file is read as a source lexicon, not as compiled: no
    // BEIANLEX header.
    assert!(!is_compiled_file(&src));
    // Other matching options than compiled with.
    let p = dir.path().join("y.bin");
    std::fs::write(&p, &good).expect("write");
    let l = vec![p.clone()];
    let e = build_engine(&spec(
        &l,
        &[],
        Options {
            min_term_chars: 1,
            ..Options::default()
        },
    ))
    .expect_err("options differ");
    assert!(e.to_string().contains("other matching options"), "{e}");
    // only the option that differs is named, with both values
    assert!(e.to_string().contains("min_term_chars: 2, not 1"), "{e}");
    assert!(!e.to_string().contains("pinyin"), "{e}");
    // A compiled lexicon with another lexicon, or with --allow.
    let l2 = vec![p.clone(), src.clone()];
    let e = build_engine(&spec(&l2, &[], Options::default())).expect_err("two");
    assert!(e.to_string().contains("only --lexicon"), "{e}");
    let e =
        build_engine(&spec(&l, std::slice::from_ref(&src), Options::default())).expect_err("allow");
    assert!(e.to_string().contains("allow"), "{e}");
    // Compiling a compiled file.
    let e = compile_lexicons(&spec(&l, &[], Options::default())).expect_err("twice");
    assert!(e.to_string().contains("already a compiled lexicon"), "{e}");
}
