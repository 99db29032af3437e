use std::fmt;

/// Errors from loading or validating the knowledge base or a service profile.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    /// A data file that must exist is missing.
    #[error("knowledge base file {path} is missing")]
    Missing { path: String },
    /// A data file failed to parse.
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    /// A data file parsed but broke an invariant.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    /// An I/O error while reading a file.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A date outside the years the calendar knows.
    #[error("{0}")]
    Calendar(String),
}

impl KbError {
    pub(crate) fn parse(path: &str, message: impl fmt::Display) -> KbError {
        KbError::Parse {
            path: path.to_string(),
            message: message.to_string(),
        }
    }
    pub(crate) fn invalid(path: &str, message: impl fmt::Display) -> KbError {
        KbError::Invalid {
            path: path.to_string(),
            message: message.to_string(),
        }
    }
}
