#![allow(dead_code)]
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use beian_assess::bank::{BankKind, BankSpec, Banks};
use beian_assess::client::EndpointConfig;
use beian_assess::judge::{LexiconJudge, LexiconTerm, RefusalDetector};
use beian_assess::runner::{Judges, NoProgress, RunConfig, RunOutcome};

pub fn kb() -> beian_kb::Kb {
    beian_kb::Kb::embedded().expect("kb")
}

pub fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("beian-assess-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmpdir");
    d
}

/// Writes a JSONL bank: (id, question, risk, bank).
pub fn write_bank(path: &Path, rows: &[(String, String, &str, &str)]) {
    let mut s = String::new();
    for (id, q, risk, bank) in rows {
        s.push_str(
            &serde_json::json!({"id": id, "question": q, "risk": risk, "bank": bank}).to_string(),
        );
        s.push('\n');
    }
    std::fs::write(path, s).expect("write bank");
}

pub fn load(paths: &[&Path]) -> Banks {
    let kb = kb();
    let specs: Vec<BankSpec> = paths
        .iter()
        .map(|p| BankSpec {
            path: p.to_path_buf(),
            kind: None,
        })
        .collect();
    beian_assess::bank::load_banks(&specs, kb.taxonomy()).expect("load banks")
}

pub fn judges() -> Arc<Judges> {
    let lex = LexiconJudge::new(vec![LexiconTerm {
        term: "违禁词样例".into(),
        risk: Some("A.1.h".into()),
        source: "test".into(),
    }])
    .expect("lexicon");
    Arc::new(Judges {
        refusal: RefusalDetector::default_rules(),
        content: Arc::new(lex),
        guard: None,
    })
}

pub fn endpoint(base: &str, stream: bool) -> EndpointConfig {
    let mut e = EndpointConfig::new(base, "scripted-model");
    e.stream = stream;
    e.timeout_ms = 1500;
    e.max_retries = 4;
    e.backoff_base_ms = 10;
    e.backoff_max_ms = 100;
    e.params.insert("temperature".into(), serde_json::json!(0));
    e
}

pub fn config(dir: &Path, ep: EndpointConfig, sample: [usize; 3], resume: bool) -> RunConfig {
    let mut s = BTreeMap::new();
    s.insert(BankKind::GeneratedContent, Some(sample[0]));
    s.insert(BankKind::ShouldRefuse, Some(sample[1]));
    s.insert(BankKind::ShouldAnswer, Some(sample[2]));
    RunConfig {
        out_dir: dir.to_path_buf(),
        endpoint: ep,
        guard: None,
        concurrency: 8,
        rps: None,
        seed: 7,
        sample: s,
        resume,
        lexicons: Vec::new(),
    }
}

pub async fn run(cfg: RunConfig, banks: &Banks) -> RunOutcome {
    let (_c, cancel) = tokio::sync::watch::channel(false);
    let (_a, abort) = tokio::sync::watch::channel(false);
    beian_assess::runner::run(
        cfg,
        banks,
        judges(),
        &kb(),
        Arc::new(NoProgress),
        cancel,
        abort,
    )
    .await
    .expect("run")
}

pub const LATENCY: Duration = Duration::from_millis(5);
