//! Lexicon files from the shared data, loaded as they are.

use std::path::PathBuf;

use beian_scan::{lexicon_stats, load_lexicon_files};
use beian_screen::EngineBuilder;

fn shared(p: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/lexicons"
    ))
    .join(p)
}

#[test]
fn konsheng_directory_loads_with_categories() {
    let mut b = EngineBuilder::new();
    let files = load_lexicon_files(&mut b, &[shared("konsheng")], None).expect("loads");
    assert_eq!(files.len(), 17, "LICENSE is skipped");
    let porn = files
        .iter()
        .find(|f| f.path.ends_with("色情词库.txt"))
        .expect("file");
    assert_eq!(porn.risk.as_deref(), Some("A.1.f"));
    let stats = lexicon_stats(&b).expect("stats");
    assert!(stats.total_terms > 50_000, "{}", stats.total_terms);
    assert!(stats.total_meets);
    assert!(stats.duplicates > 10_000, "{}", stats.duplicates);
    assert!(stats.single_char_terms > 100, "{}", stats.single_char_terms);
    // The konsheng lists have no discrimination categories: every A.2 risk is short.
    assert!(stats.short.iter().any(|c| c.starts_with("A.2.")));
    assert!(!stats.short.contains(&"A.1.f".to_string()));
    let e = b.build().expect("engine");
    assert!(e.stats().entries > 50_000);
}

#[test]
fn bom_and_plain_lists_load() {
    let mut b = EngineBuilder::new();
    load_lexicon_files(&mut b, &[shared("toolgood/BadWord.txt")], Some("A.1.h")).expect("loads");
    assert!(b.entries().iter().all(|e| !e.term.starts_with('\u{feff}')));
    assert!(b.len() > 5000);
    let stats = lexicon_stats(&b).expect("stats");
    assert!(
        !stats.total_meets,
        "5,272 terms are under the 10,000 minimum"
    );
}

#[test]
fn empty_and_missing_lexicons_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "\n\r\n").expect("write");
    let err = load_lexicon_files(&mut EngineBuilder::new(), &[empty], None).expect_err("must fail");
    assert!(err.to_string().contains("empty.txt"), "{err}");
    let err = load_lexicon_files(
        &mut EngineBuilder::new(),
        &[dir.path().join("nope.txt")],
        None,
    )
    .expect_err("must fail");
    assert!(err.to_string().contains("nope.txt"), "{err}");
    let sub = dir.path().join("d");
    std::fs::create_dir(&sub).expect("mkdir");
    std::fs::write(sub.join("README"), "x").expect("write");
    let err = load_lexicon_files(&mut EngineBuilder::new(), &[sub], None).expect_err("must fail");
    assert!(err.to_string().contains("no lexicon files"), "{err}");
}

/// The shipped lexicon maps load and are checked, and name every konsheng
/// file of the shared data (so no file silently falls back to
/// `unclassified`).
#[test]
fn konsheng_map_covers_every_shared_file() {
    let maps = beian_scan::lexicon_maps().unwrap();
    let konsheng = maps.iter().find(|m| m.name == "konsheng").unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/lexicons/konsheng");
    let mut files = 0;
    for f in std::fs::read_dir(&dir).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_some_and(|e| e == "txt") {
            files += 1;
            let stem = p.file_stem().unwrap().to_str().unwrap();
            let risk = beian_scan::risk_for_file_name(stem);
            assert!(
                risk.is_some(),
                "{stem} has no risk in kb/lexicon-maps/konsheng.toml"
            );
            assert!(
                konsheng
                    .map
                    .iter()
                    .any(|e| e.from == stem && !e.why.is_empty())
            );
        }
    }
    assert!(files >= 17);
    assert_eq!(beian_scan::risk_for_file_name("色情词库"), Some("A.1.f"));
    assert_eq!(beian_scan::risk_for_file_name("no such list"), None);
}

/// Loading parses the files on several threads and adds them in order: the
/// builder ends as it does with each file read and added one after another
/// (`EngineBuilder::lexicon_text`), on all three shared lexicon sets
/// (entries with their source and line, duplicates, each file's new
/// entries and risk).
#[test]
fn parallel_load_equals_file_by_file() {
    fn view(b: &EngineBuilder) -> Vec<(String, String, String, usize, Option<String>)> {
        b.entries()
            .iter()
            .map(|e| {
                (
                    e.term.to_string(),
                    e.risk.to_string(),
                    e.source.to_string(),
                    e.line,
                    e.severity.as_deref().map(str::to_owned),
                )
            })
            .collect()
    }
    let dirs = [shared("konsheng"), shared("houbb"), shared("toolgood")];
    let mut b = EngineBuilder::new();
    let files = load_lexicon_files(&mut b, &dirs, None).expect("loads");
    let mut serial = EngineBuilder::new();
    let mut loaded = 0;
    for f in &files {
        if f.skipped.is_some() {
            continue;
        }
        let before = serial.len();
        let text = std::fs::read_to_string(&f.path).expect("read");
        serial
            .lexicon_text(&f.path.display().to_string(), &text, f.risk.as_deref())
            .expect("adds");
        assert_eq!(serial.len() - before, f.new_entries, "{}", f.path.display());
        loaded += 1;
    }
    assert!(loaded >= 17, "{loaded} files");
    assert_eq!(view(&b), view(&serial));
    assert_eq!(b.stats().lines, serial.stats().lines);
    assert_eq!(b.stats().duplicates, serial.stats().duplicates);
    assert!(b.stats().duplicates > 10_000, "{}", b.stats().duplicates);
}
