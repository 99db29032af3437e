//! Home, static files, language switch, sign-in and sign-out, error page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Ctx, FormData, Lang, WebResult, local_target, render, see_other};
use crate::AppState;
use crate::auth::SESSION_COOKIE;

const CSS: &str = include_str!("../../static/beian.css");
const HTMX: &str = include_str!("../../static/htmx.min.js");

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub reason: &'static str,
    pub message: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    c: Ctx,
}

pub async fn home(c: Ctx) -> Response {
    render(&Home { c })
}

fn static_file(body: &'static str, ct: &'static str) -> Response {
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

pub async fn css() -> Response {
    static_file(CSS, "text/css; charset=utf-8")
}

pub async fn htmx() -> Response {
    static_file(HTMX, "text/javascript; charset=utf-8")
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /lang/{zh|en}?next=/path`: remembers the language in a cookie (one year).
pub async fn set_lang(Path(lang): Path<String>, Query(q): Query<NextQuery>) -> WebResult {
    let lang = Lang::parse(&lang).ok_or_else(|| super::WebError::not_found("language"))?;
    let target = super::checked_target(q.next.as_deref())
        .map_err(|st| super::WebError::Status(st, "invalid next".into()))?;
    let mut res = see_other(&target);
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        super::LANG_COOKIE,
        lang.code()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

#[derive(Template)]
#[template(path = "login.html")]
struct Login {
    c: Ctx,
    next: String,
    username: String,
    error: Option<String>,
    /// Login CSRF token (double submit: also in [`LOGIN_CSRF_COOKIE`]).
    login_csrf: String,
}

/// Cookie carrying the login form's CSRF token (double-submit pattern).
pub const LOGIN_CSRF_COOKIE: &str = "beian_login_csrf";
/// Form field carrying the login form's CSRF token.
pub const LOGIN_CSRF_FIELD: &str = "login_csrf";

/// Renders the sign-in form with a fresh login CSRF token, also set in a
/// short-lived HttpOnly SameSite=Strict cookie scoped to `/login`: a
/// cross-site page can neither read the token nor make the browser send the
/// cookie, so it cannot sign a victim in to the attacker's account.
pub async fn login_form(State(s): State<AppState>, c: Ctx, Query(q): Query<NextQuery>) -> Response {
    let next = local_target(q.next.as_deref());
    let token = beian_registry::auth::random_token("login");
    let mut res = render(&Login {
        c,
        next,
        username: String::new(),
        error: None,
        login_csrf: token.clone(),
    });
    let secure = if s.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{LOGIN_CSRF_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600{secure}"
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// Signs in with the store's sessions (rate-limited there) and sets the API's
/// session cookie. The form's login CSRF token must equal the cookie's
/// (compared in constant time), else 403 before any credential is checked.
pub async fn login(
    State(s): State<AppState>,
    c: Ctx,
    headers: HeaderMap,
    ip: crate::limits::ClientIp,
    form: FormData,
) -> Response {
    let cookie_token = crate::auth::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    let form_token = form.get(LOGIN_CSRF_FIELD).unwrap_or("");
    if cookie_token.is_empty()
        || !crate::auth::constant_eq(cookie_token.as_bytes(), form_token.as_bytes())
    {
        return super::WebError::Status(StatusCode::FORBIDDEN, c.t("login_csrf").to_string())
            .into_response();
    }
    let login_csrf = form_token.to_string();
    let username = form.get("username").unwrap_or("").trim().to_string();
    let password = form.get("password").unwrap_or("");
    let next = match super::checked_target(form.get("next")) {
        Ok(n) => n,
        Err(st) => return super::WebError::Status(st, "invalid next".into()).into_response(),
    };
    let ip = ip.0;
    if let Err(e) = s.limits.login(ip) {
        return e.into_response();
    }
    match s.store.login_from(&username, password, ip).await {
        Ok(sess) => {
            let target = if next == "/" || next.starts_with("/login") {
                match sess.user.role {
                    r if r.is_provider() => "/workspace".to_string(),
                    beian_registry::Role::Auditor => "/audit".to_string(),
                    _ => "/review".to_string(),
                }
            } else {
                next
            };
            let mut res = see_other(&target);
            let secure = if s.secure_cookies { "; Secure" } else { "" };
            let cookie = format!(
                "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=43200{secure}",
                sess.token
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            // the login token is single-use
            let clear = format!(
                "{LOGIN_CSRF_COOKIE}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0{secure}"
            );
            if let Ok(v) = HeaderValue::from_str(&clear) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => {
            let api: crate::ApiError = e.into();
            let status = if api.status == StatusCode::TOO_MANY_REQUESTS {
                api.status
            } else {
                StatusCode::UNAUTHORIZED
            };
            let error = Some(if status == StatusCode::TOO_MANY_REQUESTS {
                c.t("login_limited").to_string()
            } else {
                c.t("login_failed").to_string()
            });
            (
                status,
                render(&Login {
                    c,
                    next,
                    username,
                    error,
                    login_csrf,
                }),
            )
                .into_response()
        }
    }
}

/// Signs out (CSRF-checked) and clears the cookie.
pub async fn logout(State(s): State<AppState>, c: Ctx, form: FormData) -> WebResult {
    c.check_csrf(form.get("csrf"))?;
    if let Some(t) = c.session_token() {
        s.store.logout(t).await?;
    }
    let mut res = see_other("/");
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("beian_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(res)
}
