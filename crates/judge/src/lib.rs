//! beian-judge: the classification model of TC260-003 / GB/T 45654 (8.4),
//! beside the keyword library: it tells whether a text is harmful and of
//! which kind, where a lexicon only says where a term is.
//!
//! - Features: the screening engine's character folding (width, case,
//!   traditional to simplified, from [`beian_screen::CharMap`]), then
//!   character 1- to 3-grams (up to 4) hashed into `2^bucket_bits` buckets;
//!   each distinct n-gram weighted `1 + ln(tf)`, the text scaled to unit
//!   length ([`FeatureSettings::tf`]; older models: every occurrence,
//!   `1/sqrt(n)`), and, while training, by its inverse document frequency,
//!   folded into the stored weights afterwards.
//! - Model: multinomial logistic regression (softmax over the labels),
//!   trained by averaged SGD with a linearly decaying rate; weights stored
//!   as 8-bit integers with one scale per label, so prediction is integer adds.
//! - A held-out split calibrates the default threshold on P(not safe) so
//!   that at most 1% of the held-out labelled safe examples and at most 1%
//!   of the held-out background are flagged, each group on its own
//!   ([`TrainConfig::max_labelled_safe_flagged`] may set the first apart);
//!   the report gives the share for each group.
//! - A default model ships inside the crate ([`Model::default_model`], or
//!   the path `default` in [`Model::load`]).
//! - Model files are versioned ([`model::FORMAT`]); the header records the
//!   labels, threshold, feature settings, training files with SHA-256, the
//!   date and the beian version.
//!
//! ```
//! use beian_judge::{Example, TrainConfig, train};
//! let mut ex = Vec::new();
//! for i in 0..40 {
//!     ex.push(Example { text: format!("网上赌场百家乐下注第{i}把"), label: "博彩".into(), background: false });
//!     ex.push(Example { text: format!("今天天气很好我们去公园散步第{i}次"), label: "safe".into(), background: false });
//! }
//! let (model, report) = train(&ex, Vec::new(), &TrainConfig::default())?;
//! let v = model.predict("百家乐在线下注");
//! assert_eq!(model.labels()[v.label], "博彩");
//! assert!(report.threshold > 0.0);
//! # Ok::<(), beian_judge::JudgeError>(())
//! ```

mod data;
mod features;
mod metrics;
pub mod model;
mod train;

pub use data::{Example, Fields, Labelled, file_sha256, parse_labelled, read_labelled};
pub use features::{FeatureSettings, Featurizer};
pub use metrics::{Binary, Eval, LabelMetrics, Tally};
pub use model::{Header, Model, Scratch, TrainingFile, Verdict};
pub use train::{TrainConfig, TrainReport, calibrate, evaluate, today, train};

use thiserror::Error;

/// Errors of the classifier: each names the file (and line) it concerns.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum JudgeError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A line of labelled data is unusable.
    #[error("{path} line {line}: {message}")]
    BadLine {
        path: String,
        line: usize,
        message: String,
    },
    /// A whole file is unusable (empty, for example).
    #[error("{path}: {message}")]
    BadFile { path: String, message: String },
    #[error("{path}: not a beian judge model (it does not start with `beian-judge-model`)")]
    NotAModel { path: String },
    #[error(
        "{path}: model format {found} is newer than this beian reads (format {supported}); use a newer beian or retrain with `beian judge train`"
    )]
    NewerFormat {
        path: String,
        found: u64,
        supported: u32,
    },
    #[error("model {path}: {message}")]
    BadModel { path: String, message: String },
    #[error("feature settings: {0}")]
    Settings(String),
    #[error("training: {0}")]
    Training(String),
    #[error(transparent)]
    Screen(#[from] beian_screen::ScreenError),
}
