//! Typed errors of the registry. The server maps them onto HTTP statuses.

use crate::state::IllegalTransition;

/// Everything that can go wrong in the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    /// The data directory cannot be written (e.g. mounted read-only).
    #[error("cannot write {path}: {message}")]
    ReadOnly { path: String, message: String },
    #[error("migration {name} failed: {source}")]
    Migration { name: String, source: sqlx::Error },
    /// Missing, or not visible to this user (indistinguishable on purpose).
    #[error("{0} not found")]
    NotFound(String),
    /// Signed in, but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Not signed in (or bad credentials).
    #[error("authentication required: {0}")]
    Unauthenticated(String),
    /// Too many attempts.
    #[error("too many attempts: {0}")]
    RateLimited(String),
    /// Bad input, naming the field.
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    /// Uniqueness or state conflict.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
    /// Blocking pre-checks fail (submission refused; approval needs an override reason).
    #[error("conflict: blocking pre-checks fail: {}", .0.join(", "))]
    ChecksFailed(Vec<String>),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("password hashing failed: {0}")]
    Crypto(String),
    #[error(transparent)]
    Number(#[from] crate::number::NumberError),
}

impl RegistryError {
    /// Shorthand for [`RegistryError::Invalid`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        RegistryError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Result alias.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
