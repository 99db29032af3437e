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

/// The binary under test, its lexicon cache in a directory of this test
/// process (`beian scan` writes one by default, in the user's home: tests
/// must neither fill nor read that).
pub fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_beian"));
    c.env(
        "BEIAN_LEXICON_CACHE",
        std::env::temp_dir().join(format!("beian-test-lexicon-cache-{}", std::process::id())),
    );
    c
}

/// Runs the binary under test with `args` (see [`command`]).
pub fn beian(args: &[&str]) -> Output {
    command().args(args).output().unwrap()
}

/// A path as `&str` (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
