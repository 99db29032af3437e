//! Snapshot tests: the classification of every profile in `examples/` under every
//! regime, at three dates (2025-06-01, 2026-06-01, 2027-12-31), as Markdown a lawyer can
//! review line by line (`tests/snapshots/`): the differences between the dates are the
//! law changing (the 2025 incident measures, the 2026 Cybersecurity Law renumbering,
//! the EU AI Act's staged application).
//! Review changes with `cargo insta review` (or `INSTA_UPDATE=always`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use beian_classify::{Classifier, Lang, render_markdown};
use beian_kb::Profile;
use chrono::NaiveDate;

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

/// The dates every example is classified at.
const DATES: [&str; 3] = ["2025-06-01", "2026-06-01", "2027-12-31"];

#[test]
fn snapshot_every_example_under_every_regime_at_three_dates() {
    let c = Classifier::embedded().expect("knowledge base");
    let all: Vec<String> = c.regime_ids().iter().map(|s| s.to_string()).collect();
    let ids: Vec<&str> = all.iter().map(String::as_str).collect();
    for path in examples() {
        let p = Profile::from_path(&path, c.kb().profile_schema()).expect("valid example");
        for date in DATES {
            let as_of = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
            let mut report = c.compare_at(&p, &ids, Lang::En, as_of).expect("classify");
            // origin is an absolute path; keep snapshots machine-independent
            report.profile.origin =
                format!("examples/{}", path.file_name().unwrap().to_string_lossy());
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            insta::assert_snapshot!(format!("{name}@{date}"), render_markdown(&report, Lang::En));
        }
    }
}
