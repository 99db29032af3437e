//! Snapshot tests: the classification of every profile in `examples/` under every
//! regime, as Markdown a lawyer can review line by line (`tests/snapshots/`).
//! Review changes with `cargo insta review` (or `INSTA_UPDATE=always`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use beian_classify::{Classifier, Lang, render_markdown};
use beian_kb::Profile;

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("toml" | "json" | "yaml" | "yml")
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn at_least_twelve_examples() {
    assert!(examples().len() >= 12, "found {}", examples().len());
}

#[test]
fn snapshot_every_example_under_every_regime() {
    let c = Classifier::embedded().expect("knowledge base");
    let all: Vec<String> = c.regime_ids().iter().map(|s| s.to_string()).collect();
    let ids: Vec<&str> = all.iter().map(String::as_str).collect();
    for path in examples() {
        let p = Profile::from_path(&path, c.kb().profile_schema()).expect("valid example");
        let mut report = c.compare(&p, &ids, Lang::En).expect("classify");
        // origin is an absolute path; keep snapshots machine-independent
        report.profile.origin = format!("examples/{}", path.file_name().unwrap().to_string_lossy());
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_snapshot!(name, render_markdown(&report, Lang::En));
    }
}
