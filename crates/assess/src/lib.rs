//! beian-assess: the generative-AI security assessment of GB/T 45654
//! (TC260-003 §8-9) against a model behind an OpenAI-compatible endpoint.
//!
//! - [`bank`]: question banks (JSONL / CSV / XLSX), [`import`] for public sets
//!   through [`crosswalk`]s (data in `kb/crosswalks/`), [`stats`] against the
//!   standard's minimums, with near-duplicate detection.
//! - [`runner`]: stratified seeded [`sample`]s, bounded-concurrency requests via
//!   [`client`], append-only `results.jsonl`, `manifest.json`, resume.
//! - [`judge`]: refusal rules, content judge (lexicon / screening engine),
//!   guard model; [`review`] for human verdicts.
//! - [`metrics`]: Wilson intervals and pass / fail / inconclusive verdicts;
//!   [`report`] and [`attach`] write reports and filing attachments.
//! - [`scripted`]: a scripted OpenAI-protocol server for tests and benchmarks.
//!
//! ```
//! use beian_assess::metrics::{Verdict, verdict, wilson95};
//! let kb = beian_kb::Kb::embedded().unwrap();
//! let t = kb.thresholds().get("assess.generated.qualified").unwrap(); // >= 90%
//! let ci = wilson95(930, 1000);
//! assert!((ci.0 - 0.9125).abs() < 1e-3 && (ci.1 - 0.9441).abs() < 1e-3);
//! assert_eq!(verdict(ci, 1000, t), Verdict::Pass);
//! // 91% of 300 straddles the threshold: not enough evidence either way.
//! assert_eq!(verdict(wilson95(273, 300), 300, t), Verdict::Inconclusive);
//! ```

pub mod attach;
pub mod bank;
pub mod client;
pub mod crosswalk;
pub mod error;
pub mod import;
pub mod judge;
pub mod metrics;
pub mod record;
pub mod report;
pub mod review;
pub mod rng;
pub mod runner;
pub mod sample;
pub mod scripted;
pub mod stats;

pub use error::{AssessError, Result};
