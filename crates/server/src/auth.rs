//! Authentication extractors.
//!
//! - API tokens: `Authorization: Bearer beian_…` (automation; no CSRF needed).
//! - Browser sessions: cookie `beian_session` (HttpOnly, SameSite=Lax); every
//!   unsafe request (POST/PUT/PATCH/DELETE) authenticated by the cookie must
//!   carry the session's CSRF token in `X-CSRF-Token` (the web pages may
//!   instead check a form field with [`Identity::csrf_matches`]).
//!
//! [`Auth`] enforces CSRF and yields the user or anonymous; [`RequireUser`]
//! turns anonymous into 401; [`Identity`] resolves without enforcing CSRF
//! (for web handlers that check a form field).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use beian_registry::User;

use crate::AppState;
use crate::error::ApiError;

/// Session cookie name.
pub const SESSION_COOKIE: &str = "beian_session";
/// CSRF header name.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How a request was authenticated.
#[derive(Debug, Clone)]
pub enum Via {
    Session { token: String, csrf: String },
    Token,
}

/// Who is asking, without CSRF enforcement.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub user: Option<User>,
    pub via: Option<Via>,
    /// The API token itself, when signed in with one (logout revokes it).
    pub bearer: Option<String>,
}

impl Identity {
    /// Does `candidate` equal the session's CSRF token? (Token auth: always true.)
    pub fn csrf_matches(&self, candidate: Option<&str>) -> bool {
        match &self.via {
            Some(Via::Session { csrf, .. }) => {
                candidate.is_some_and(|c| constant_eq(c.as_bytes(), csrf.as_bytes()))
            }
            _ => true,
        }
    }
}

/// Equality of two byte strings in time independent of where they differ.
pub(crate) fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Value of a cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// Resolves the caller from headers.
pub async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Identity, ApiError> {
    if let Some(h) = headers.get(axum::http::header::AUTHORIZATION) {
        let token = h
            .to_str()
            .ok()
            .and_then(|s| s.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or("");
        let user = state.store.token_user(token).await?;
        return match user {
            Some(u) => Ok(Identity {
                user: Some(u),
                via: Some(Via::Token),
                bearer: Some(token.to_string()),
            }),
            None => Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid API token")),
        };
    }
    if let Some(token) = cookie(headers, SESSION_COOKIE)
        && let Some((user, csrf)) = state.store.session(token).await?
    {
        return Ok(Identity {
            user: Some(user),
            via: Some(Via::Session {
                token: token.to_string(),
                csrf,
            }),
            bearer: None,
        });
    }
    Ok(Identity::default())
}

impl FromRequestParts<AppState> for Identity {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        resolve(state, &parts.headers).await
    }
}

/// The caller (or anonymous), with CSRF enforced for cookie-authenticated unsafe requests.
#[derive(Debug, Clone)]
pub struct Auth(pub Identity);

impl Auth {
    pub fn user(&self) -> Option<&User> {
        self.0.user.as_ref()
    }
}

fn is_unsafe(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let id = resolve(state, &parts.headers).await?;
        if is_unsafe(&parts.method) {
            let header = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if !id.csrf_matches(header) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "CSRF token missing or wrong (send the X-CSRF-Token header)",
                ));
            }
        }
        Ok(Auth(id))
    }
}

/// A signed-in user (401 otherwise), CSRF enforced.
#[derive(Debug, Clone)]
pub struct RequireUser(pub User, pub Identity);

impl FromRequestParts<AppState> for RequireUser {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(id) = Auth::from_request_parts(parts, state).await?;
        match id.user.clone() {
            Some(u) => Ok(RequireUser(u, id)),
            None => Err(ApiError::unauthenticated()),
        }
    }
}
