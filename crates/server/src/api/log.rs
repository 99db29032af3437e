//! The transparency log over HTTP, by C2SP tlog-tiles: `/log/checkpoint`,
//! `/log/tile/<L>/<N>[.p/<W>]`, `/log/tile/entries/<N>[.p/<W>]`,
//! `/log/vkey`, consistency and inclusion proofs, and
//! `/api/v1/register/{filing_number}/proof`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use beian_registry::LogProof;
use beian_tlog::TileId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ErrorBody};

type ApiResult<T> = Result<T, ApiError>;

/// The log routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/vkey", get(vkey))
        .route("/log/tile/{*rest}", get(tile))
        .route("/log/consistency", get(consistency))
        .route("/log/inclusion", get(inclusion))
        .route("/log/witnessed", get(witnessed))
        .route(
            "/log/cosignatures",
            axum::routing::post(add_cosignatures)
                .layer(axum::extract::DefaultBodyLimit::max(64 * 1024)),
        )
        .route(
            "/api/v1/register/{filing_number}/proof",
            get(register_proof),
        )
}

fn text(body: String, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

/// 503 while the log is halted (the database no longer matches it).
fn live(s: &AppState) -> ApiResult<()> {
    match s.store.log_halted() {
        Some(h) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("transparency log halted: {h}"),
        )),
        None => Ok(()),
    }
}

fn not_found(what: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("{what} not found"))
}

/// The latest signed checkpoint (C2SP signed note: origin, tree size, base64 root hash).
#[utoipa::path(get, path = "/log/checkpoint", tag = "log",
    responses((status = 200, body = String, content_type = "text/plain"), (status = 404, body = ErrorBody)))]
pub async fn checkpoint(State(s): State<AppState>) -> ApiResult<Response> {
    live(&s)?;
    let note = s
        .store
        .log_checkpoint()
        .await?
        .ok_or_else(|| not_found("checkpoint (the log has no key)"))?;
    // With the witnesses' cosignatures when they have co-signed this size.
    let size = |n: &str| n.split('\n').nth(1).map(str::to_string);
    let note = match s.store.log_witnessed() {
        Some((_, w)) if size(&w) == size(&note) => w,
        _ => note,
    };
    Ok(text(note, "no-cache"))
}

/// The newest checkpoint co-signed by the log's witnesses (C2SP
/// tlog-cosignature/v1 lines after the log's own signature); 404 if none.
#[utoipa::path(get, path = "/log/witnessed", tag = "log",
    responses((status = 200, body = String, content_type = "text/plain"), (status = 404, body = ErrorBody)))]
pub async fn witnessed(State(s): State<AppState>) -> ApiResult<Response> {
    live(&s)?;
    let (_, note) = s
        .store
        .log_witnessed()
        .ok_or_else(|| not_found("co-signed checkpoint"))?;
    Ok(text(note, "no-cache"))
}

/// A witness hands in a checkpoint of this log it has co-signed (body: the
/// signed note with its tlog-cosignature/v1 line). Only cosignatures by the
/// witnesses `beian serve --witness-key` names are kept.
#[utoipa::path(post, path = "/log/cosignatures", tag = "log", request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = String, content_type = "text/plain"), (status = 400, body = ErrorBody)))]
pub async fn add_cosignatures(State(s): State<AppState>, body: String) -> ApiResult<Response> {
    live(&s)?;
    let n = s
        .store
        .log_add_cosignatures(&body)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    Ok(text(format!("{n} cosignatures kept\n"), "no-store"))
}

/// The log's verifier key: `<name>+<hex key id>+<base64(0x01 ‖ Ed25519 public key)>`.
#[utoipa::path(get, path = "/log/vkey", tag = "log",
    responses((status = 200, body = String, content_type = "text/plain"), (status = 404, body = ErrorBody)))]
pub async fn vkey(State(s): State<AppState>) -> ApiResult<Response> {
    let k = s
        .store
        .log_vkey()
        .ok_or_else(|| not_found("verifier key"))?;
    Ok(text(format!("{k}\n"), "public, max-age=3600"))
}

/// A hash tile (`tile/<L>/<N>[.p/<W>]`) or an entry bundle
/// (`tile/entries/<N>[.p/<W>]`).
#[utoipa::path(get, path = "/log/tile/{path}", tag = "log",
    params(("path" = String, Path, description = "e.g. `0/x001/234`, `1/000.p/7`, `entries/005`")),
    responses((status = 200, body = Vec<u8>, content_type = "application/octet-stream"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn tile(State(s): State<AppState>, Path(rest): Path<String>) -> ApiResult<Response> {
    live(&s)?;
    let id = TileId::parse(&rest)
        .map_err(|e| ApiError::field(StatusCode::BAD_REQUEST, "path", e.to_string()))?;
    let bytes = match id.level {
        Some(l) => s.store.log_tile(l, id.index, id.width).await?,
        None => s.store.log_bundle(id.index, id.width).await?,
    }
    .ok_or_else(|| not_found(&format!("tile/{rest}")))?;
    // Immutable (C2SP tlog-tiles): a tile of a given width never changes; a
    // growing log publishes a wider partial tile under another path.
    let cache = "public, max-age=31536000, immutable";
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        bytes,
    )
        .into_response())
}

/// Query of a consistency proof.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ConsistencyQuery {
    /// Older tree size.
    pub from: u64,
    /// Newer tree size (at most the signed checkpoint's).
    pub to: u64,
}

/// A consistency proof between two tree sizes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    /// Base64 hashes (RFC 6962 §2.1.2 PROOF).
    pub proof: Vec<String>,
}

/// Consistency proof from tree size `from` to `to` (RFC 6962).
#[utoipa::path(get, path = "/log/consistency", tag = "log", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof), (status = 400, body = ErrorBody)))]
pub async fn consistency(
    State(s): State<AppState>,
    q: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<ConsistencyProof>> {
    live(&s)?;
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let p = s
        .store
        .log_consistency(q.from, q.to)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    Ok(Json(ConsistencyProof {
        from: q.from,
        to: q.to,
        proof: beian_tlog::verify::encode_proof(&p),
    }))
}

/// Query of an inclusion proof by index.
#[derive(Debug, Deserialize, IntoParams)]
pub struct InclusionQuery {
    /// Entry index.
    pub index: u64,
    /// Tree size (default: the signed checkpoint's).
    pub size: Option<u64>,
}

/// An inclusion proof of one entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProof {
    pub index: u64,
    pub tree_size: u64,
    /// Base64 hashes (RFC 6962 §2.1.1 PATH).
    pub proof: Vec<String>,
    /// The signed checkpoint of `tree_size` when it is the latest.
    pub checkpoint: Option<String>,
}

/// Inclusion proof of any entry (audit events, register rows) by index.
#[utoipa::path(get, path = "/log/inclusion", tag = "log", params(InclusionQuery),
    responses((status = 200, body = InclusionProof), (status = 400, body = ErrorBody)))]
pub async fn inclusion(
    State(s): State<AppState>,
    q: Result<Query<InclusionQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<InclusionProof>> {
    live(&s)?;
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let (proof, size, note) = s
        .store
        .log_inclusion(q.index, q.size)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    Ok(Json(InclusionProof {
        index: q.index,
        tree_size: size,
        proof: beian_tlog::verify::encode_proof(&proof),
        checkpoint: note,
    }))
}

/// A register entry's log index, inclusion proof and the signed checkpoint.
#[utoipa::path(get, path = "/api/v1/register/{filing_number}/proof", tag = "register",
    params(("filing_number" = String, Path, description = "filing number as published")),
    responses((status = 200, body = LogProof), (status = 404, body = ErrorBody)))]
pub async fn register_proof(
    State(s): State<AppState>,
    Path(number): Path<String>,
) -> ApiResult<Json<LogProof>> {
    live(&s)?;
    if number.len() > 200 {
        return Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            "filing_number",
            "longer than 200 bytes",
        ));
    }
    Ok(Json(s.store.log_register_proof(&number).await?))
}
