//! CSV and XLSX export of a public-register query (all pages), rendered
//! once per query and register version ([`ExportCache`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use beian_registry::{RegisterItem, RegisterQuery};

use super::{ApiResult, RegisterParams};
use crate::AppState;
use crate::error::ApiError;

const COLUMNS: [&str; 6] = [
    "name",
    "provider",
    "filing_number",
    "kind",
    "province",
    "date",
];

fn row(i: &RegisterItem) -> [&str; 6] {
    [
        &i.name,
        &i.provider,
        &i.filing_number,
        &i.kind,
        &i.province,
        &i.date,
    ]
}

/// Response header saying whether an export came from the cache
/// (`hit`) or was rendered for this request (`miss`).
pub const CACHE_HEADER: &str = "x-beian-export-cache";
/// Rendered exports kept per register version (distinct queries).
const CACHE_MAX: usize = 64;

/// Format and query of an export (the page ignored).
type ExportKey = (&'static str, RegisterQuery);

/// Rendered CSV/XLSX exports of the current register version, keyed by
/// format and query. A new register version (any write) empties it, so an
/// export is rendered at most once per query and version.
#[derive(Default)]
pub struct ExportCache {
    inner: Mutex<(u64, HashMap<ExportKey, Bytes>)>,
    renders: AtomicU64,
    hits: AtomicU64,
}

impl ExportCache {
    /// Exports rendered so far.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    /// Exports served from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    fn get(&self, version: u64, key: &ExportKey) -> Option<Bytes> {
        let g = self.inner.lock().ok()?;
        let b = (g.0 == version).then(|| g.1.get(key).cloned()).flatten()?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(b)
    }

    fn put(&self, version: u64, key: ExportKey, body: Bytes) {
        self.renders.fetch_add(1, Ordering::Relaxed);
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        if version > g.0 {
            *g = (version, HashMap::new());
        }
        if version == g.0 && g.1.len() < CACHE_MAX {
            g.1.insert(key, body);
        }
    }
}

/// Serves `format`'s export of `q` from the cache at the current register
/// version, or renders it from the register rows and caches it.
async fn cached<F, Fut>(
    s: &AppState,
    format: &'static str,
    q: RegisterQuery,
    render: F,
) -> ApiResult<(Bytes, bool)>
where
    F: FnOnce(Vec<RegisterItem>) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Vec<u8>>>,
{
    let key = (format, RegisterQuery { page: None, ..q });
    let version = s.store.register_version().await?;
    if let Some(b) = s.exports.get(version, &key) {
        return Ok((b, true));
    }
    let (version, items) = s.store.register_export_versioned(&key.1).await?;
    let body = Bytes::from(render(items).await?);
    s.exports.put(version, key, body.clone());
    Ok((body, false))
}

fn cache_header(res: &mut Response, hit: bool) {
    res.headers_mut().insert(
        CACHE_HEADER,
        HeaderValue::from_static(if hit { "hit" } else { "miss" }),
    );
}

/// A cell a spreadsheet would run as a formula (`= + - @`, tab, CR at the
/// start) gets a leading `'` (OWASP: CSV injection).
pub fn csv_cell(v: &str) -> std::borrow::Cow<'_, str> {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{v}"))
    } else {
        std::borrow::Cow::Borrowed(v)
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "export failed");
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "export failed",
    )
}

/// The register query as CSV (UTF-8 with BOM, for spreadsheet programs).
#[utoipa::path(get, path = "/api/v1/register.csv", tag = "register", params(RegisterParams),
    responses((status = 200, body = String, content_type = "text/csv"), (status = 422, body = crate::error::ErrorBody)))]
pub async fn register_csv(
    State(s): State<AppState>,
    Query(p): Query<RegisterParams>,
) -> ApiResult<Response> {
    let (body, hit) = cached(&s, "csv", p.to_query()?, |items| async move {
        let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
        w.write_record(COLUMNS).map_err(internal)?;
        for i in &items {
            w.write_record(row(i).map(|c| csv_cell(c).into_owned()))
                .map_err(internal)?;
        }
        w.into_inner().map_err(internal)
    })
    .await?;
    let mut res = body.into_response();
    cache_header(&mut res, hit);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"register.csv\""),
    );
    Ok(res)
}

/// The register query as an XLSX workbook.
#[utoipa::path(get, path = "/api/v1/register.xlsx", tag = "register", params(RegisterParams),
    responses((status = 200, body = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (status = 422, body = crate::error::ErrorBody)))]
pub async fn register_xlsx(
    State(s): State<AppState>,
    Query(p): Query<RegisterParams>,
) -> ApiResult<Response> {
    let (body, hit) = cached(&s, "xlsx", p.to_query()?, |items| async move {
        tokio::task::spawn_blocking(move || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet();
            ws.set_name("register")?;
            for (c, h) in COLUMNS.iter().enumerate() {
                ws.write_string(0, c as u16, *h)?;
            }
            for (r, i) in items.iter().enumerate() {
                for (c, v) in row(i).iter().enumerate() {
                    ws.write_string(r as u32 + 1, c as u16, *v)?;
                }
            }
            wb.save_to_buffer()
        })
        .await
        .map_err(internal)?
        .map_err(internal)
    })
    .await?;
    let mut res = body.into_response();
    cache_header(&mut res, hit);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"register.xlsx\""),
    );
    Ok(res)
}
