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
