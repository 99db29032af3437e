//! Rate limits: token buckets per client IP for public endpoints, exports
//! and sign-ins, and one global bucket for sign-ins. A refused request gets
//! 429 with `Retry-After`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;

/// A token bucket: `rate` tokens a second, at most `burst`.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub rate: f64,
    pub burst: f64,
}

impl Rate {
    pub const fn new(rate: f64, burst: f64) -> Rate {
        Rate { rate, burst }
    }
    /// Off: never refuses.
    pub const OFF: Rate = Rate::new(0.0, 0.0);
    fn off(&self) -> bool {
        self.rate <= 0.0
    }
}

/// Buckets by key.
#[derive(Debug, Default)]
pub struct Keyed {
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Keyed {
    /// Takes a token for `key`; `Err(wait)` when none is left.
    pub fn take(&self, key: IpAddr, r: Rate) -> Result<(), Duration> {
        if r.off() {
            return Ok(());
        }
        let Ok(mut m) = self.buckets.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        if m.len() > 50_000 {
            m.retain(|_, (_, t)| now.duration_since(*t) < Duration::from_secs(60));
        }
        let (tokens, last) = m.entry(key).or_insert((r.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * r.rate).min(r.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / r.rate))
        }
    }
}

/// The limits of one server.
#[derive(Debug)]
pub struct Limits {
    /// Anonymous reads of the register and the log, per IP.
    pub public: Rate,
    /// CSV/XLSX exports, per IP.
    pub export: Rate,
    /// Sign-in attempts per IP.
    pub login_ip: Rate,
    /// Sign-in attempts in all.
    pub login_global: Rate,
    public_b: Keyed,
    export_b: Keyed,
    login_b: Keyed,
    global_b: Keyed,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::new(
            Rate::new(100.0, 400.0),
            Rate::new(1.0, 10.0),
            Rate::new(2.0, 20.0),
            Rate::new(20.0, 60.0),
        )
    }
}

const GLOBAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

impl Limits {
    pub fn new(public: Rate, export: Rate, login_ip: Rate, login_global: Rate) -> Limits {
        Limits {
            public,
            export,
            login_ip,
            login_global,
            public_b: Keyed::default(),
            export_b: Keyed::default(),
            login_b: Keyed::default(),
            global_b: Keyed::default(),
        }
    }

    /// A sign-in attempt from `ip` (per IP, then global).
    pub fn login(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let ip = ip.unwrap_or(GLOBAL);
        self.login_b
            .take(ip, self.login_ip)
            .and_then(|_| self.global_b.take(GLOBAL, self.login_global))
            .map_err(|wait| too_many("too many sign-in attempts", wait))
    }
}

/// 429 with `Retry-After` (whole seconds, at least 1).
pub fn too_many(what: &str, wait: Duration) -> ApiError {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("{what}; retry after {secs} s"),
    );
    e.retry_after = Some(secs);
    e
}

/// Extractor: the client's IP (`None` without connection info, as in
/// in-process tests).
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The client's IP (from the connection; `None` in in-process tests).
pub fn client_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

fn is_public(path: &str) -> bool {
    path.starts_with("/api/v1/register")
        || path.starts_with("/register")
        || path.starts_with("/log/")
}

fn is_export(path: &str) -> bool {
    path.starts_with("/api/v1/register.")
        || path.starts_with("/register.")
        || path.contains("/export")
}

/// Middleware: rate-limits anonymous reads of public endpoints per IP.
pub async fn public(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let anonymous = !req.headers().contains_key(header::AUTHORIZATION)
        && !req
            .headers()
            .get(header::COOKIE)
            .and_then(|c| c.to_str().ok())
            .is_some_and(|c| c.contains(crate::auth::SESSION_COOKIE));
    if anonymous && (req.method() == Method::GET || req.method() == Method::HEAD) && is_public(path)
    {
        let ip = client_ip(&req).unwrap_or(GLOBAL);
        let r = if is_export(path) {
            s.limits.export_b.take(ip, s.limits.export)
        } else {
            Ok(())
        }
        .and_then(|_| s.limits.public_b.take(ip, s.limits.public));
        if let Err(wait) = r {
            return too_many("too many requests", wait).into_response();
        }
    }
    next.run(req).await
}

/// Adds `Retry-After` to a response.
pub fn with_retry_after(mut res: Response, secs: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}
