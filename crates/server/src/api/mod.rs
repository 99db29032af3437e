//! The JSON API under `/api/v1`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use beian_registry::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::AppState;
use crate::auth::{RequireUser, SESSION_COOKIE, Via};
use crate::error::{ApiError, ErrorBody};

pub mod export;
pub mod log;

/// Largest JSON body accepted (bytes).
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// JSON body extractor whose errors name the field (422) or the syntax
/// problem (400), refuse other media types (415) and oversized bodies (413).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !ct.starts_with("application/json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("body larger than {MAX_JSON_BYTES} bytes"),
                )
            } else {
                ApiError::new(e.status(), e.body_text())
            }
        })?;
        decode(&bytes).map(ApiJson)
    }
}

/// Decodes JSON, naming the failing field.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::field(
            StatusCode::BAD_REQUEST,
            "body",
            format!("malformed JSON: {e}"),
        )
    })?;
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde names missing/unknown fields in the message, not the path
        let field = if path == "." {
            inner
                .split('`')
                .nth(1)
                .map(str::to_string)
                .unwrap_or_else(|| "body".to_string())
        } else {
            path
        };
        ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            field.clone(),
            format!("invalid {field}: {inner}"),
        )
    })
}

type ApiResult<T> = Result<T, ApiError>;

/// The API routes (mounted by [`crate::router`]).
pub fn router() -> Router<AppState> {
    let json_limit = axum::extract::DefaultBodyLimit::max(MAX_JSON_BYTES);
    let upload_limit =
        axum::extract::DefaultBodyLimit::max(beian_registry::store::MAX_ATTACHMENT_BYTES + 1);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/tokens", post(create_token))
        .route("/api/v1/organisations", post(create_organisation))
        .route("/api/v1/organisations/{id}", get(get_organisation))
        .route("/api/v1/users", post(create_user))
        .route("/api/v1/services", post(create_service).get(list_services))
        .route(
            "/api/v1/services/{id}",
            get(get_service).patch(update_service),
        )
        .route("/api/v1/services/{id}/deadlines", get(service_deadlines))
        .route("/api/v1/filings", post(create_filing).get(list_filings))
        .route("/api/v1/filings/{id}", get(get_filing).patch(update_filing))
        .route("/api/v1/filings/{id}/actions", post(act))
        .route("/api/v1/filings/{id}/province", post(set_province))
        .route("/api/v1/filings/{id}/changes", post(create_change))
        .route("/api/v1/filings/{id}/checks", get(get_checks))
        .route("/api/v1/filings/{id}/events", get(filing_events))
        .route("/api/v1/filings/{id}/attachments", get(list_attachments))
        .route(
            "/api/v1/filings/{id}/attachments",
            post(add_attachment).layer(upload_limit),
        )
        .route(
            "/api/v1/filings/{id}/attachments/{aid}",
            get(get_attachment),
        )
        .route("/api/v1/register", get(register))
        .route("/api/v1/register.csv", get(export::register_csv))
        .route("/api/v1/register.xlsx", get(export::register_xlsx))
        .route("/api/v1/audit", get(audit_log))
        .route("/api/v1/audit/verify", get(audit_verify))
        .merge(log::router())
        .layer(json_limit)
        .layer(axum::middleware::from_fn(json_errors))
}

/// Errors that axum's extractors answer in plain text (a path id too large
/// for an integer, a malformed query) are answered as JSON like ours.
async fn json_errors(req: Request, next: axum::middleware::Next) -> Response {
    let res = next.run(req).await;
    let st = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(st.is_client_error() || st.is_server_error()) || is_json {
        return res;
    }
    let (parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    let msg = if text.is_empty() {
        st.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut out = ApiError::new(st, msg).into_response();
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

// ------------------------------------------------------------------ health, metrics, openapi

/// Liveness: always `ok` while the process serves.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "alive", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, body = String), (status = 503, body = ErrorBody)))]
pub async fn readyz(State(s): State<AppState>) -> ApiResult<&'static str> {
    s.store
        .count("users")
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok("ready")
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, body = String, content_type = "text/plain")))]
pub async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(t) = &s.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !crate::auth::constant_eq(given.as_bytes(), t.as_bytes()) {
            return ApiError::new(StatusCode::UNAUTHORIZED, "metrics token required")
                .into_response();
        }
    }
    let filings = s.store.count("filings").await.unwrap_or(-1);
    let register = s.store.count("register").await.unwrap_or(-1);
    let audit = s.store.count("audit_log").await.unwrap_or(-1);
    let body = s.metrics.render(&[
        ("beian_filings", "Filings stored (all states).", filings),
        (
            "beian_register_entries",
            "Public-register entries (imported and approved).",
            register,
        ),
        ("beian_audit_entries", "Audit-log entries.", audit),
    ]);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// This document.
pub async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi().to_pretty_json().unwrap_or_default(),
    )
        .into_response()
}

// ------------------------------------------------------------------ auth

/// Login request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Login answer; the session cookie is set alongside.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub user: User,
    /// Send as `X-CSRF-Token` on every unsafe request made with the session cookie.
    pub csrf_token: String,
}

/// Signs in (rate-limited: 5 failures per user per 5 minutes) and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(s): State<AppState>,
    crate::limits::ClientIp(ip): crate::limits::ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    s.limits.login(ip)?;
    let sess = s
        .store
        .login_from(req.username.trim(), &req.password, ip)
        .await?;
    let secure = if s.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=43200{secure}",
        sess.token
    );
    let mut res = Json(LoginResponse {
        user: sess.user,
        csrf_token: sess.csrf,
    })
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// Options of `POST /api/v1/auth/logout`.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct LogoutQuery {
    /// Also revoke the API token this request is signed with.
    #[serde(default)]
    pub revoke_token: bool,
}

/// Ends the session (and, with `?revoke_token=true`, revokes the API token used).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", params(LogoutQuery), responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(s): State<AppState>,
    RequireUser(u, id): RequireUser,
    Query(q): Query<LogoutQuery>,
) -> ApiResult<Response> {
    if let Some(Via::Session { token, .. }) = &id.via {
        s.store.logout(token).await?;
    }
    // `?revoke_token=true` with an API token revokes that token.
    if q.revoke_token
        && let Some(t) = &id.bearer
    {
        s.store.revoke_api_token(&u, t).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("beian_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(res)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(RequireUser(u, _): RequireUser) -> Json<User> {
    Json(u)
}

/// API-token request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub name: String,
    /// Days the token stays valid (1–365, default 90).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// A new API token (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
}

/// Creates an API token for the signed-in user.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = TokenRequest,
    responses((status = 201, body = TokenResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_token(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    ApiJson(req): ApiJson<TokenRequest>,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    let token = s
        .store
        .create_api_token_for(&u, &req.name, req.expires_in_days)
        .await?;
    Ok((StatusCode::CREATED, Json(TokenResponse { token })))
}

// ------------------------------------------------------------------ organisations, users, services

/// Registers an organisation (national reviewers).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "organisations", request_body = NewOrganisation,
    responses((status = 201, body = Organisation), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_organisation(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    ApiJson(n): ApiJson<NewOrganisation>,
) -> ApiResult<(StatusCode, Json<Organisation>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_organisation(Some(&u), n).await?),
    ))
}

/// An organisation (its members, reviewers, auditors).
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "organisations", params(("id" = i64, Path, description = "organisation id")),
    responses((status = 200, body = Organisation), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_organisation(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Organisation>> {
    Ok(Json(s.store.get_organisation(&u, id).await?))
}

/// Creates a user (provider admins: own organisation's provider users; national reviewers: anyone).
#[utoipa::path(post, path = "/api/v1/users", tag = "organisations", request_body = NewUser,
    responses((status = 201, body = User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    ApiJson(n): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_user(Some(&u), n).await?),
    ))
}

/// Creates a service; its classification is attached automatically.
#[utoipa::path(post, path = "/api/v1/services", tag = "services", request_body = NewService,
    responses((status = 201, body = Service), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_service(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    ApiJson(n): ApiJson<NewService>,
) -> ApiResult<(StatusCode, Json<Service>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_service(&u, n).await?),
    ))
}

/// Services visible to the caller (own organisation's for providers).
#[utoipa::path(get, path = "/api/v1/services", tag = "services",
    responses((status = 200, body = Vec<Service>), (status = 401, body = ErrorBody)))]
pub async fn list_services(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
) -> ApiResult<Json<Vec<Service>>> {
    Ok(Json(s.store.list_services(&u).await?))
}

/// A service with its profile and classification.
#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "services", params(("id" = i64, Path, description = "service id")),
    responses((status = 200, body = Service), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_service(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Service>> {
    Ok(Json(s.store.read_service(&u, id).await?))
}

/// Records a service's launch, change or stop date (its organisation's provider users).
#[utoipa::path(patch, path = "/api/v1/services/{id}", tag = "services", request_body = ServicePatch, params(("id" = i64, Path, description = "service id")),
    responses((status = 200, body = Service), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_service(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Path(id): Path<i64>,
    ApiJson(p): ApiJson<ServicePatch>,
) -> ApiResult<Json<Service>> {
    Ok(Json(s.store.update_service(&u, id, p).await?))
}

/// Filing deadlines of a service: one per filing kind its classification calls for (before launch,
/// or N working days after), then change (10) and cancellation (20 after stopping); `state` says
/// `met`, `late`, `missing`, `not-submitted`, `returned`, `rejected` or `pending`.
#[utoipa::path(get, path = "/api/v1/services/{id}/deadlines", tag = "services", params(("id" = i64, Path, description = "service id")),
    responses((status = 200, body = Vec<FilingDeadline>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn service_deadlines(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<FilingDeadline>>> {
    Ok(Json(s.store.filing_deadlines(&u, id).await?))
}

// ------------------------------------------------------------------ filings

/// Creates a draft filing.
#[utoipa::path(post, path = "/api/v1/filings", tag = "filings", request_body = NewFiling,
    responses((status = 201, body = Filing), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_filing(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    ApiJson(n): ApiJson<NewFiling>,
) -> ApiResult<(StatusCode, Json<Filing>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_filing(&u, n).await?),
    ))
}

/// Filter of the filing list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Only filings in this state.
    pub status: Option<String>,
}

/// Filings visible to the caller (own organisation; a reviewer's province; everything for auditors).
#[utoipa::path(get, path = "/api/v1/filings", tag = "filings", params(ListQuery),
    responses((status = 200, body = Vec<Filing>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_filings(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<Filing>>> {
    let status = match q.status.as_deref().filter(|x| !x.is_empty()) {
        Some(x) => Some(Status::parse(x).ok_or_else(|| {
            ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "status",
                format!("unknown status {x:?}"),
            )
        })?),
        None => None,
    };
    Ok(Json(s.store.list_filings(&u, status).await?))
}

/// A filing (404 when it does not exist or is not visible to the caller).
#[utoipa::path(get, path = "/api/v1/filings/{id}", tag = "filings", params(("id" = i64, Path, description = "filing id")),
    responses((status = 200, body = Filing), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_filing(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Filing>> {
    Ok(Json(s.store.get_filing(Some(&u), id).await?))
}

/// Edits a draft or returned filing.
#[utoipa::path(patch, path = "/api/v1/filings/{id}", tag = "filings", request_body = FilingPatch, params(("id" = i64, Path, description = "filing id")),
    responses((status = 200, body = Filing), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_filing(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Path(id): Path<i64>,
    ApiJson(p): ApiJson<FilingPatch>,
) -> ApiResult<Json<Filing>> {
    Ok(Json(s.store.update_filing(&u, id, p).await?))
}

/// A state transition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub action: Action,
    /// The reason: required for `return`, `reject` and `cancel`; on `submit`
    /// after a return, the provider's reply.
    #[serde(default)]
    pub comment: Option<String>,
    /// `approve` only: approves although blocking pre-checks fail (audited,
    /// shown on the filing). Without it such an approval is refused (409).
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// Moves a filing through the state machine: `submit` (provider), `start-review`,
/// `approve`, `return`, `reject` (provincial reviewer of the filing's province, then national
/// reviewer), `cancel` (provider admin or national reviewer). Approval issues the filing number.
///
/// `return`, `reject` and `cancel` need a reason in `comment` (422 without one). The API takes
/// the reason and the decision in one request: the request itself is the confirmation, so a
/// client should ask its user to confirm before sending `reject` or `cancel` (the web pages
/// show a confirmation step with the reason before they send it).
#[utoipa::path(post, path = "/api/v1/filings/{id}/actions", tag = "filings", request_body = ActionRequest, params(("id" = i64, Path, description = "filing id")),
    responses((status = 200, body = Filing), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "illegal transition"), (status = 422, body = ErrorBody)))]
pub async fn act(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Path(id): Path<i64>,
    ApiJson(a): ApiJson<ActionRequest>,
) -> ApiResult<Json<Filing>> {
    Ok(Json(
        s.store
            .act_full(&u, id, a.action, a.comment, a.override_reason)
            .await?,
    ))
}

/// A national reviewer's decision on a filing's province.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvinceDecision {
    /// The province that reviews the filing and appears in its number, e.g. `上海市`.
    pub province: String,
    /// Why it differs from the organisation's province (required; audited).
    pub reason: String,
}

/// Moves a filing to another province than its organisation's: national
/// reviewers only, before a number is issued, with a reason (audited as
/// `filing.province`, shown in the filing's events).
#[utoipa::path(post, path = "/api/v1/filings/{id}/province", tag = "filings", request_body = ProvinceDecision, params(("id" = i64, Path, description = "filing id")),
    responses((status = 200, body = Filing), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "a number was issued, or the filing is closed"), (status = 422, body = ErrorBody)))]
pub async fn set_province(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Path(id): Path<i64>,
    ApiJson(d): ApiJson<ProvinceDecision>,
) -> ApiResult<Json<Filing>> {
    Ok(Json(
        s.store
            .set_filing_province(&u, id, &d.province, &d.reason)
            .await?,
    ))
}

/// Opens a change filing against an approved filing.
#[utoipa::path(post, path = "/api/v1/filings/{id}/changes", tag = "filings", request_body = FilingPatch, params(("id" = i64, Path, description = "approved filing id")),
    responses((status = 201, body = Filing), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_change(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Path(id): Path<i64>,
    ApiJson(p): ApiJson<FilingPatch>,
) -> ApiResult<(StatusCode, Json<Filing>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_change(&u, id, p).await?),
    ))
}

/// The thread of a filing: return notes, replies, rejections, cancellations
/// and approvals over failing pre-checks, oldest first.
#[utoipa::path(get, path = "/api/v1/filings/{id}/events", tag = "filings", params(("id" = i64, Path, description = "filing id")),
    responses((status = 200, body = Vec<FilingEvent>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn filing_events(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<FilingEvent>>> {
    Ok(Json(s.store.filing_events(&u, id).await?))
}

/// The pre-check checklist: computed now for drafts and returned filings
/// (the live checklist), else as stored at the last submission or approval.
#[utoipa::path(get, path = "/api/v1/filings/{id}/checks", tag = "filings", params(("id" = i64, Path, description = "filing id")),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_checks(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    let f = s.store.get_filing(Some(&u), id).await?;
    if matches!(f.status, Status::Draft | Status::Returned) {
        return Ok(Json(s.store.live_checks(&u, id).await?));
    }
    Ok(Json(f.checks))
}

/// Attachment upload parameters (the body is the file; its type in `Content-Type`).
#[derive(Debug, Deserialize, IntoParams)]
pub struct UploadQuery {
    /// self-assessment-report, keyword-sheet, question-sheet, service-agreement, annotation-rules, filing-form, commitment-letter, model-proof, assessment-report, other
    pub kind: String,
    pub filename: String,
}

/// Uploads an attachment (raw body, ≤ 20 MiB; PDF, XLSX, DOCX, CSV, TXT, JSON; HTML only for `assessment-report`).
#[utoipa::path(post, path = "/api/v1/filings/{id}/attachments", tag = "attachments", params(("id" = i64, Path, description = "filing id"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Attachment), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_attachment(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Path(id): Path<i64>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<(StatusCode, Json<Attachment>)> {
    let body = body.map_err(|e| ApiError::field(e.status(), "body", e.body_text()))?;
    let kind = AttachmentKind::parse(&q.kind).ok_or_else(|| {
        ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "kind",
            format!("unknown attachment kind {:?}", q.kind),
        )
    })?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Ok((
        StatusCode::CREATED,
        Json(
            s.store
                .add_attachment(&u, id, kind, &q.filename, ct, &body)
                .await?,
        ),
    ))
}

/// Attachments of a filing (metadata).
#[utoipa::path(get, path = "/api/v1/filings/{id}/attachments", tag = "attachments", params(("id" = i64, Path, description = "filing id")),
    responses((status = 200, body = Vec<Attachment>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_attachments(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<Attachment>>> {
    Ok(Json(s.store.list_attachments(&u, id).await?))
}

/// Downloads an attachment (the filing's organisation, its reviewers, auditors; audited).
#[utoipa::path(get, path = "/api/v1/filings/{id}/attachments/{aid}", tag = "attachments", params(("id" = i64, Path, description = "filing id"), ("aid" = i64, Path, description = "attachment id")),
    responses((status = 200, body = Vec<u8>, content_type = "application/octet-stream"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_attachment(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Path((id, aid)): Path<(i64, i64)>,
) -> ApiResult<Response> {
    let (a, data) = s.store.get_attachment(&u, id, aid).await?;
    let mut res = data.into_response();
    if let Ok(v) = HeaderValue::from_str(&a.content_type) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    res.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    // Even if a browser renders it (HTML assessment reports), nothing runs.
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(crate::web::ATTACHMENT_CSP),
    );
    Ok(res)
}

// ------------------------------------------------------------------ register & audit

/// Public-register query parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct RegisterParams {
    /// Text in name, provider or filing number.
    pub q: Option<String>,
    /// algorithm-filing, genai-filing or genai-registration.
    pub kind: Option<String>,
    /// Province (e.g. 北京市, 北京, Beijing, 11).
    pub province: Option<String>,
    /// Page (1-based, 50 per page).
    pub page: Option<String>,
    /// `active` (default), `cancelled` (已注销) or `all`.
    pub status: Option<String>,
}

impl RegisterParams {
    pub fn to_query(&self) -> ApiResult<RegisterQuery> {
        let page = match self
            .page
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            None => None,
            Some(p) => Some(p.parse::<i64>().map_err(|_| {
                ApiError::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "page",
                    format!("invalid page: {p:?} is not a number"),
                )
            })?),
        };
        Ok(RegisterQuery {
            q: self.q.clone(),
            kind: self.kind.clone(),
            province: self.province.clone(),
            status: self.status.clone(),
            page,
        })
    }
}

/// The public register of filed services (imported published lists and filings approved here). Anonymous.
#[utoipa::path(get, path = "/api/v1/register", tag = "register", params(RegisterParams),
    responses((status = 200, body = RegisterPage), (status = 422, body = ErrorBody)))]
pub async fn register(
    State(s): State<AppState>,
    Query(p): Query<RegisterParams>,
) -> ApiResult<Response> {
    let page = s.store.register_search_json(&p.to_query()?).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        page.json.clone(),
    )
        .into_response())
}

/// Audit-log page parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditParams {
    /// Entries after this sequence number.
    pub after: Option<i64>,
    /// At most this many (default 100, max 1000).
    pub limit: Option<i64>,
}

/// Audit-log entries (auditors and national reviewers).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = Vec<AuditEntry>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit_log(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
    Query(p): Query<AuditParams>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    Ok(Json(
        s.store
            .audit_entries(
                Some(&u),
                p.after.unwrap_or(0),
                p.limit.unwrap_or(100).clamp(1, 1000),
            )
            .await?,
    ))
}

/// Result of verifying the audit chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse {
    pub ok: bool,
    pub entries: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Verifies the audit hash chain (auditors and national reviewers).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = VerifyResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit_verify(
    State(s): State<AppState>,
    RequireUser(u, _): RequireUser,
) -> ApiResult<Json<VerifyResponse>> {
    s.store.audit_entries(Some(&u), i64::MAX, 1).await?;
    Ok(Json(match s.store.audit_verify().await? {
        Ok(n) => VerifyResponse {
            ok: true,
            entries: n,
            error: None,
        },
        Err(e) => VerifyResponse {
            ok: false,
            entries: 0,
            error: Some(e.to_string()),
        },
    }))
}

// ------------------------------------------------------------------ OpenAPI

#[derive(OpenApi)]
#[openapi(
    info(title = "beian filing registry API", description = "Record-filing (备案) registry: providers file, regulators review, the public sees. JSON under /api/v1."),
    paths(
        healthz, readyz, metrics, login, logout, me, create_token, create_organisation, get_organisation, create_user,
        create_service, list_services, get_service, update_service, service_deadlines, create_filing, list_filings, get_filing, update_filing, act, set_province,
        create_change, get_checks, filing_events, add_attachment, list_attachments, get_attachment, register,
        export::register_csv, export::register_xlsx, audit_log, audit_verify,
        log::checkpoint, log::vkey, log::tile, log::consistency, log::inclusion, log::register_proof, log::witnessed, log::add_cosignatures
    ),
    components(schemas(ErrorBody, LoginRequest, LoginResponse, TokenRequest, TokenResponse, ActionRequest, ProvinceDecision, VerifyResponse,
        User, NewUser, Role, Organisation, NewOrganisation, OrgKind, Service, NewService, ServicePatch, Deadline, FilingDeadline, FilingEvent, Filing, NewFiling, FilingPatch,
        FilingKind, Status, Purpose, Action, Attachment, AttachmentKind, RegisterItem, RegisterPage, AuditEntry,
        LogProof, log::ConsistencyProof, log::InclusionProof)),
    tags((name = "register", description = "The public register (anonymous)"), (name = "filings", description = "Filings and their lifecycle"))
)]
struct ApiDoc;

/// The OpenAPI document of this API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    // keep the committed copy independent of the build's crate version
    doc.info.version = "v1".to_string();
    doc
}
