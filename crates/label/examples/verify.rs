//! `beian label verify PATH... --format jsonl` as a small binary over the library
//! (the same `collect` + `verify_paths` + JSON lines), for benchmarks that should
//! not need a release build of the whole `beian` binary.
//!
//! cargo run --release -p beian-label --example verify -- DIR > report.jsonl

use std::io::Write;

fn main() -> std::process::ExitCode {
    let paths: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    if paths.is_empty() {
        eprintln!("usage: verify PATH...");
        return std::process::ExitCode::from(2);
    }
    let (files, errors) = beian_label::verify::collect(&paths);
    for e in errors {
        eprintln!("warning: {e}");
    }
    let reports = beian_label::verify_paths(&files);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut counts = std::collections::BTreeMap::new();
    for r in &reports {
        *counts.entry(r.verdict.as_str()).or_insert(0usize) += 1;
        if let Ok(s) = serde_json::to_string(r) {
            let _ = writeln!(out, "{s}");
        }
    }
    let _ = out.flush();
    eprintln!("{} files: {counts:?}", reports.len());
    std::process::ExitCode::SUCCESS
}
