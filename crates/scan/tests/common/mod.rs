//! Helpers shared by the engine-loading tests: the shared data, an
//! [`EngineSpec`] with every detector on, and lines of a novel with evasions.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use beian_scan::EngineSpec;
use beian_screen::{Detector, Options};

/// `../shared/data`.
pub fn shared() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")).to_path_buf()
}

/// A spec of `lex` and `allow` with `options`, no `--risk`, every detector.
pub fn spec<'a>(lex: &'a [PathBuf], allow: &'a [PathBuf], options: Options) -> EngineSpec<'a> {
    EngineSpec {
        lexicons: lex,
        allow,
        risk: None,
        options,
        detectors: &Detector::ALL,
    }
}

/// The first `n` lines of the shared four-novels corpus' file number
/// `novel` (in name order), then `extra`.
pub fn novel_lines(novel: usize, n: usize, extra: &[&str]) -> Vec<String> {
    let novels = shared().join("corpus/four-classic-novels");
    let mut files: Vec<_> = std::fs::read_dir(&novels)
        .expect("shared corpus")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let text = std::fs::read_to_string(&files[novel]).expect("novel");
    let mut lines: Vec<String> = text.lines().take(n).map(str::to_owned).collect();
    lines.extend(extra.iter().map(|s| (*s).to_owned()));
    lines
}
