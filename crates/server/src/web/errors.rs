//! Error pages in the user's language, with the navigation and the right
//! sign-in state. Handlers return [`super::WebError`], whose response
//! carries an [`ErrorMarker`]; [`error_pages`] (a middleware over the whole
//! application) resolves the caller only then and renders the page through
//! `base.html`. Unknown paths outside the API get the same 404 page.

use askama::Template;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{Ctx, render};
use crate::AppState;

/// Attached to the response of a failed page handler.
#[derive(Debug, Clone)]
pub struct ErrorMarker {
    pub status: StatusCode,
    pub message: String,
}

#[derive(Template)]
#[template(path = "error_page.html")]
struct ErrorPage {
    c: Ctx,
    status: u16,
    title: &'static str,
    message: String,
    /// The technical detail (English), shown only on English pages.
    detail: String,
}

fn is_page_path(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path == "/api"
        || path.starts_with("/static/")
        || matches!(path, "/healthz" | "/readyz" | "/metrics"))
}

/// Re-renders failed page responses (and 404s of unknown page paths) as
/// full pages in the caller's language.
pub async fn error_pages(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if !is_page_path(&path) {
        return next.run(req).await;
    }
    let uri = req.uri().clone();
    let headers = req.headers().clone();
    let res = next.run(req).await;
    let marker = res.extensions().get::<ErrorMarker>().cloned();
    let marker = match marker {
        Some(m) => m,
        // an unknown path: axum's empty 404
        None if res.status() == StatusCode::NOT_FOUND
            && res
                .headers()
                .get(axum::http::header::CONTENT_TYPE)
                .is_none() =>
        {
            ErrorMarker {
                status: StatusCode::NOT_FOUND,
                message: format!("{path} not found"),
            }
        }
        None => return res,
    };
    let Ok(mut parts) = axum::http::Request::builder()
        .uri(uri)
        .body(())
        .map(|r| r.into_parts().0)
    else {
        return res;
    };
    parts.headers = headers;
    let Ok(c) = Ctx::from_request_parts(&mut parts, &s).await else {
        return res;
    };
    let (title, message) = match marker.status.as_u16() {
        404 => ("err_404", "err_404_msg"),
        403 => ("err_403", "err_403_msg"),
        409 => ("err_409", "err_409_msg"),
        413 => ("err_413", "err_413_msg"),
        415 => ("err_415", "err_415_msg"),
        422 | 400 => ("err_422", "err_422_msg"),
        429 => ("err_429", "err_429_msg"),
        _ => ("err_500", "err_500_msg"),
    };
    // a message the handler wrote in the page language is shown as is;
    // the registry's English detail only on English pages
    let cjk = marker
        .message
        .chars()
        .any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch));
    let (message, detail) = match (c.zh(), cjk) {
        (true, true) => (marker.message, String::new()),
        (true, false) => (c.t(message).to_string(), String::new()),
        (false, false) => (c.t(message).to_string(), marker.message),
        (false, true) => (c.t(message).to_string(), String::new()),
    };
    let page = ErrorPage {
        status: marker.status.as_u16(),
        title: c.t(title),
        message,
        detail,
        c,
    };
    (marker.status, render(&page)).into_response()
}
