//! Mapping of registry errors onto HTTP: 401 not signed in, 403 forbidden,
//! 404 missing *or not visible* (another organisation's private filing),
//! 409 conflicts and illegal transitions, 413 too large, 415 wrong media
//! type, 422 invalid input naming the field, 429 rate-limited.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use beian_registry::RegistryError;
use serde::Serialize;
use utoipa::ToSchema;

/// Error body of every failed request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Human-readable message.
    pub error: String,
    /// The offending field, when the error is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Ids of the blocking pre-checks that fail (409 on `submit`, or on
    /// `approve` without `override_reason`), e.g. `required-attachments`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_checks: Option<Vec<String>>,
}

/// An HTTP error.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub field: Option<String>,
    /// Failing blocking pre-checks (see [`ErrorBody::failing_checks`]).
    pub failing_checks: Option<Vec<String>>,
    /// Seconds for a `Retry-After` header (429).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            field: None,
            failing_checks: None,
            retry_after: None,
        }
    }
    pub fn field(status: StatusCode, field: impl Into<String>, error: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            field: Some(field.into()),
            failing_checks: None,
            retry_after: None,
        }
    }
    pub fn unauthenticated() -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "authentication required")
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        let msg = e.to_string();
        match e {
            RegistryError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, msg),
            RegistryError::Forbidden(_) => ApiError::new(StatusCode::FORBIDDEN, msg),
            RegistryError::Unauthenticated(_) => ApiError::new(StatusCode::UNAUTHORIZED, msg),
            RegistryError::RateLimited(_) => ApiError {
                retry_after: Some(60),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, msg)
            },
            RegistryError::Invalid { field, .. } => {
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, msg)
            }
            RegistryError::ChecksFailed(ids) => ApiError {
                failing_checks: Some(ids),
                ..ApiError::new(StatusCode::CONFLICT, msg)
            },
            RegistryError::Conflict(_)
            | RegistryError::Transition(_)
            | RegistryError::Number(_) => ApiError::new(StatusCode::CONFLICT, msg),
            other => {
                tracing::error!(error = %other, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.retry_after;
        let res = (
            self.status,
            Json(ErrorBody {
                error: self.error,
                field: self.field,
                failing_checks: self.failing_checks,
            }),
        )
            .into_response();
        match retry {
            Some(s) => crate::limits::with_retry_after(res, s),
            None => res,
        }
    }
}
