//! Issue 9 §3.8: a lexicon directory skips licence, README and prose files
//! (with the reason), and unknown risk codes are warnings naming file and line.

use beian_scan::load_lexicon_files;
use beian_screen::EngineBuilder;

#[test]
fn directory_skips_licence_readme_and_prose() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("赌博.txt"), "百家乐\n网上赌场\n").expect("write");
    std::fs::write(
        d.join("LICENSE.txt"),
        "MIT License\n\nCopyright (c) 2020 someone\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n",
    )
    .expect("write");
    std::fs::write(d.join("README.txt"), "这些词表来自网络。\n").expect("write");
    std::fs::write(
        d.join("notes.txt"),
        "这个词表是我们在二零二零年整理的，仅供参考。\n使用时请注意，很多词在日常生活中也会出现。\n如有问题，请联系维护者，我们会尽快处理。\n",
    )
    .expect("write");
    let mut b = EngineBuilder::new();
    let files = load_lexicon_files(&mut b, &[d.to_path_buf()], None).expect("loads");
    let skipped: Vec<(String, String)> = files
        .iter()
        .filter_map(|f| {
            f.skipped.as_ref().map(|why| {
                (
                    f.path
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    why.clone(),
                )
            })
        })
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(
        skipped
            .iter()
            .any(|(n, w)| n == "LICENSE.txt" && w.contains("licence"))
    );
    assert!(skipped.iter().any(|(n, _)| n == "README.txt"));
    assert!(
        skipped
            .iter()
            .any(|(n, w)| n == "notes.txt" && w.contains("prose"))
    );
    let terms: Vec<&str> = b.entries().iter().map(|e| &*e.term).collect();
    assert_eq!(terms, vec!["百家乐", "网上赌场"]);

    // Named explicitly, a prose file is the user's choice: loaded.
    let mut b = EngineBuilder::new();
    let files = load_lexicon_files(&mut b, &[d.join("notes.txt")], None).expect("loads");
    assert!(files[0].skipped.is_none());
    assert_eq!(b.len(), 3);
}

#[test]
fn unknown_risk_codes_are_warnings_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("w.tsv");
    std::fs::write(&p, "甲乙\tA.1.a\n丙丁\tA.9.z\n戊己\tunclassified\n").expect("write");
    let mut b = EngineBuilder::new();
    let files = load_lexicon_files(&mut b, std::slice::from_ref(&p), None).expect("loads");
    assert_eq!(b.len(), 3, "kept");
    assert_eq!(files[0].warnings.len(), 1, "{:?}", files[0].warnings);
    let w = &files[0].warnings[0];
    assert!(
        w.starts_with(&format!(
            "{} line 2: unknown risk code \"A.9.z\"",
            p.display()
        )),
        "{w}"
    );
}
