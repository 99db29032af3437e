//! Typed errors of the assessment library.

use std::path::PathBuf;

/// Everything that can go wrong in beian-assess, with enough context to name the
/// file, line or record, and field at fault.
#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    /// The io error is part of the message (not a `source`), so chains print it once.
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{path}:{line}: {msg}")]
    Record {
        path: PathBuf,
        line: usize,
        msg: String,
    },
    #[error("{path}: {msg}")]
    File { path: PathBuf, msg: String },
    #[error("knowledge base: {0}")]
    Kb(#[from] beian_kb::KbError),
    #[error("crosswalk {name}: {msg}")]
    Crosswalk { name: String, msg: String },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("spreadsheet {path}: {msg}")]
    Sheet { path: PathBuf, msg: String },
    #[error("resume refused: {0}")]
    Resume(String),
}

impl AssessError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        AssessError::Io {
            path: path.into(),
            err: source,
        }
    }
    pub(crate) fn record(path: impl Into<PathBuf>, line: usize, msg: impl Into<String>) -> Self {
        AssessError::Record {
            path: path.into(),
            line,
            msg: msg.into(),
        }
    }
    pub(crate) fn file(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        AssessError::File {
            path: path.into(),
            msg: msg.into(),
        }
    }
}

pub type Result<T, E = AssessError> = std::result::Result<T, E>;
