//! Server-rendered web pages (askama templates under `templates/`, one CSS
//! file under `static/`). Every page works without JavaScript; htmx, when
//! vendored, is only progressive enhancement. All HTML lives here, all JSON in
//! [`crate::api`].
//!
//! Invariants:
//! - Pages reuse the API's authorisation: every read and write goes through
//!   the same [`beian_registry::Store`] methods with the signed-in user, so a
//!   page can never show what the API would refuse (another organisation's
//!   filing is a 404 page, exactly like the API).
//! - Browser sessions are the API's sessions (`beian_session` cookie, created
//!   by [`beian_registry::Store::login`]); every state-changing form carries
//!   the session's CSRF token in a hidden `csrf` field, checked with
//!   [`crate::auth::Identity::csrf_matches`].
//! - The language (zh/en) comes from the `beian_lang` cookie, else the
//!   browser's `Accept-Language`, else Chinese.

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use beian_registry::{RegistryError, Role, User};

use crate::AppState;
use crate::auth::{Identity, Via};

mod audit;
pub mod errors;
pub mod i18n;
mod law;
mod pages;
mod provider;
mod register;
mod review;
mod tools;

pub use i18n::Lang;

/// Content-Security-Policy of served attachments, above all the HTML report
/// of a `beian assess` run: a unique opaque origin (`sandbox`: no scripts, no
/// forms, no cookies), inline styles and `data:` images only, nothing fetched.
pub const ATTACHMENT_CSP: &str =
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// Cookie remembering the chosen language.
pub const LANG_COOKIE: &str = "beian_lang";

/// Routes of the web pages (mounted by [`crate::router`]).
pub fn router() -> Router<AppState> {
    let upload_limit = axum::extract::DefaultBodyLimit::max(
        beian_registry::store::MAX_ATTACHMENT_BYTES + 64 * 1024,
    );
    Router::new()
        .route("/", get(pages::home))
        .route("/static/beian.css", get(pages::css))
        .route("/static/htmx.min.js", get(pages::htmx))
        .route("/lang/{lang}", get(pages::set_lang))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/register", get(register::search))
        .route("/register/entry", get(register::entry))
        .route("/workspace", get(provider::workspace))
        .route("/services/new", get(provider::service_new))
        .route("/services", post(provider::service_create))
        .route("/services/{id}", get(provider::service_view))
        .route(
            "/services/{id}/edit",
            get(provider::service_edit_form).post(provider::service_edit),
        )
        .route("/filings", post(provider::filing_create))
        .route("/filings/{id}", get(provider::filing_view))
        .route("/filings/{id}/edit", post(provider::filing_edit))
        .route("/filings/{id}/action", post(provider::filing_action))
        .route("/filings/{id}/change", post(provider::filing_change))
        .route("/filings/{id}/province", post(provider::filing_province))
        .route(
            "/filings/{id}/attachments",
            post(provider::attachment_upload).layer(upload_limit),
        )
        .route(
            "/filings/{id}/attachments/{aid}",
            get(provider::attachment_download),
        )
        .route(
            "/filings/{id}/assessment/{aid}",
            get(tools::assessment_view),
        )
        .route(
            "/filings/{id}/assessment/{aid}/report.html",
            get(tools::assessment_html),
        )
        .route("/review", get(review::queues))
        .route(
            "/tools/screen",
            get(tools::screen_form).post(tools::screen_run),
        )
        .route("/tools/compare", get(tools::compare))
        .route("/tools/law-diff", get(law::diff))
        .route("/audit", get(audit::log))
}

/// What every page needs: language, the caller, the CSRF token, where we are.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub user: Option<User>,
    pub csrf: String,
    /// Path and query of this request (for the language switch and login redirects).
    pub here: String,
    identity: Identity,
}

impl Ctx {
    /// Translation of `key` in the page language.
    pub fn t(&self, key: &str) -> &'static str {
        i18n::t(self.lang, key)
    }
    /// Chinese page?
    pub fn zh(&self) -> bool {
        self.lang == Lang::Zh
    }
    /// `zh` or `en`, for `<html lang>`.
    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }
    /// Pick between a Chinese and an English string.
    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.zh() && !zh.is_empty() { zh } else { en }
    }
    /// The signed-in user, or a redirect to the login page.
    pub fn require(&self) -> Result<&User, WebError> {
        self.user
            .as_ref()
            .ok_or_else(|| WebError::Login(self.here.clone()))
    }
    /// Role of the signed-in user (empty when anonymous).
    pub fn role(&self) -> &'static str {
        self.user.as_ref().map(|u| u.role.as_str()).unwrap_or("")
    }
    pub fn is_provider(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role.is_provider())
    }
    pub fn is_reviewer(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| matches!(u.role, Role::ProvincialReviewer | Role::NationalReviewer))
    }
    pub fn can_audit(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| matches!(u.role, Role::Auditor | Role::NationalReviewer))
    }
    /// Checks the CSRF token of a submitted form (token-authenticated callers pass).
    pub fn check_csrf(&self, form_token: Option<&str>) -> Result<(), WebError> {
        if self.identity.csrf_matches(form_token) {
            Ok(())
        } else {
            Err(WebError::Status(
                StatusCode::FORBIDDEN,
                "CSRF token missing or wrong: reload the page and try again".into(),
            ))
        }
    }
    /// The session token, if signed in by cookie.
    pub fn session_token(&self) -> Option<&str> {
        match &self.identity.via {
            Some(Via::Session { token, .. }) => Some(token),
            _ => None,
        }
    }
    /// `here` URL-encoded, for `next=` parameters.
    pub fn here_enc(&self) -> String {
        urlencode(&self.here)
    }
    /// The first `n` characters of `s`.
    pub fn prefix(&self, s: &str, n: usize) -> String {
        s.chars().take(n).collect()
    }
    /// Label of a deadline state (`met`, `late`, `missing`, ...) in the page language.
    pub fn dl(&self, state: &str) -> &'static str {
        i18n::t(self.lang, &format!("dl_{state}"))
    }
    /// A province-level division's name in the page language (its Chinese
    /// name on Chinese pages, the pinyin name on English ones; anything else as given).
    pub fn province(&self, name: &str) -> String {
        match beian_registry::province::PROVINCES
            .iter()
            .find(|p| p.0 == name)
        {
            Some(p) if !self.zh() => match p.1 {
                "15" => "Inner Mongolia",
                "81" => "Hong Kong",
                "82" => "Macao",
                "00" => "SASAC (central SOEs)",
                _ => p.2,
            }
            .to_string(),
            _ => name.to_string(),
        }
    }
    /// Knowledge-base text as HTML (escaped). On Chinese pages a Latin run of
    /// three or more letters inside Chinese text is a name, a field or an
    /// identifier (`ContentProducer`, `AIGC`), never interface prose: it is
    /// marked `<code translate="no">`.
    pub fn kb_text(&self, text: &str) -> String {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&#34;")
                .replace('\'', "&#39;")
        };
        if !self.zh() {
            return esc(text);
        }
        let mut out = String::with_capacity(text.len() + 16);
        let mut run = String::new();
        let flush = |run: &mut String, out: &mut String| {
            if run.chars().filter(char::is_ascii_alphabetic).count() >= 3 {
                out.push_str("<code translate=\"no\">");
                out.push_str(&esc(run));
                out.push_str("</code>");
            } else {
                out.push_str(&esc(run));
            }
            run.clear();
        };
        for ch in text.chars() {
            if ch.is_ascii_alphanumeric() || (!run.is_empty() && matches!(ch, '_' | '-' | '.')) {
                run.push(ch);
            } else {
                flush(&mut run, &mut out);
                out.push_str(&esc(&ch.to_string()));
            }
        }
        flush(&mut run, &mut out);
        out
    }
    /// The China (Asia/Shanghai) date of an RFC 3339 timestamp.
    pub fn day(&self, at: &str) -> String {
        i18n::shanghai(at).chars().take(10).collect()
    }
    /// Label of a status/kind/role value in the page language.
    pub fn label(&self, value: &str) -> String {
        i18n::label(self.lang, value)
            .map(str::to_string)
            .unwrap_or_else(|| value.to_string())
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = WebError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // A stale or invalid API token on a page: treat as anonymous.
        let identity = crate::auth::resolve(state, &parts.headers)
            .await
            .unwrap_or_default();
        let lang = match crate::auth::cookie(&parts.headers, LANG_COOKIE) {
            Some(v) => Lang::parse(v).unwrap_or_default(),
            None => {
                let al = parts
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if al.trim_start().to_ascii_lowercase().starts_with("en") {
                    Lang::En
                } else {
                    Lang::Zh
                }
            }
        };
        let csrf = match &identity.via {
            Some(Via::Session { csrf, .. }) => csrf.clone(),
            _ => String::new(),
        };
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        Ok(Ctx {
            lang,
            user: identity.user.clone(),
            csrf,
            here,
            identity,
        })
    }
}

/// Errors of page handlers, rendered as an HTML page.
#[derive(Debug)]
pub enum WebError {
    /// Not signed in: redirect to the login page, then back here.
    Login(String),
    Status(StatusCode, String),
}

impl From<RegistryError> for WebError {
    fn from(e: RegistryError) -> Self {
        let api: crate::ApiError = e.into();
        if api.status == StatusCode::UNAUTHORIZED {
            return WebError::Login("/".into());
        }
        let msg = match api.field {
            Some(f) => format!("{} ({f})", api.error),
            None => api.error,
        };
        WebError::Status(api.status, msg)
    }
}

impl WebError {
    pub fn not_found(what: &str) -> WebError {
        WebError::Status(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
    pub fn bad(msg: impl Into<String>) -> WebError {
        WebError::Status(StatusCode::UNPROCESSABLE_ENTITY, msg.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::Login(next) => {
                Redirect::to(&format!("/login?next={}", urlencode(&next))).into_response()
            }
            WebError::Status(status, message) => {
                let page = pages::ErrorPage {
                    status: status.as_u16(),
                    reason: status.canonical_reason().unwrap_or(""),
                    message: message.clone(),
                };
                let mut res = (status, render(&page)).into_response();
                // re-rendered in the caller's language by errors::error_pages
                res.extensions_mut()
                    .insert(errors::ErrorMarker { status, message });
                res
            }
        }
    }
}

/// Result of a page handler.
pub type WebResult = Result<Response, WebError>;

/// Renders a template into an HTML response (a 500 page if rendering fails).
pub fn render<T: askama::Template>(t: &T) -> Response {
    match t.render() {
        Ok(body) => {
            let mut res = Html(body).into_response();
            let h = res.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"),
            );
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error (template)",
            )
                .into_response()
        }
    }
}

/// Percent-encodes a string for a URL query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A safe local redirect target (`/...`, never `//host`, no backslash, no
/// control or white-space character a browser would strip: `/%09/evil` is
/// `//evil` to a browser), else `/`.
pub fn local_target(next: Option<&str>) -> String {
    checked_target(next).unwrap_or_else(|_| "/".to_string())
}

/// Like [`local_target`], but a CR, LF or DEL (header injection) is an
/// error (400) rather than a silent `/`.
pub fn checked_target(next: Option<&str>) -> Result<String, StatusCode> {
    let Some(n) = next else {
        return Ok("/".to_string());
    };
    if n.contains(['\r', '\n', '\u{7f}']) {
        return Err(StatusCode::BAD_REQUEST);
    }
    let safe = n.starts_with('/')
        && !n.starts_with("//")
        && !n.contains('\\')
        && !n.chars().any(|c| c.is_control() || c.is_whitespace())
        && n.len() <= 2048;
    Ok(if safe { n.to_string() } else { "/".to_string() })
}

/// A submitted urlencoded form, keeping repeated keys.
#[derive(Debug, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    pub fn get_trimmed(&self, key: &str) -> Option<&str> {
        self.get(key).map(str::trim).filter(|v| !v.is_empty())
    }
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for FormData {
    type Rejection = WebError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Form(v) = axum::Form::<Vec<(String, String)>>::from_request(req, state)
            .await
            .map_err(|e| WebError::Status(e.status(), e.body_text()))?;
        Ok(FormData(v))
    }
}

/// 303 See Other to `to`.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

impl WebError {
    /// The message shown to the user.
    pub fn message(&self) -> String {
        match self {
            WebError::Login(_) => "authentication required".into(),
            WebError::Status(_, m) => m.clone(),
        }
    }
}
