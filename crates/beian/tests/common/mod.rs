//! Helpers shared by the CLI tests that run the real `beian` binary on files
//! they write to a per-process temporary directory.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh directory `beian-<suite>-<name>-<pid>` under the system's temp dir.
pub fn dir(suite: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("beian-{suite}-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the binary under test with `args`.
pub fn beian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_beian"))
        .args(args)
        .output()
        .unwrap()
}

/// A path as `&str` (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
