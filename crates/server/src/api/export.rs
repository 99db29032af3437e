//! CSV and XLSX export of a public-register query (all pages).

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use beian_registry::RegisterItem;

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
    let items = s.store.register_export(&p.to_query()?).await?;
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record(COLUMNS).map_err(internal)?;
    for i in &items {
        w.write_record(row(i).map(|c| csv_cell(c).into_owned()))
            .map_err(internal)?;
    }
    let body = w.into_inner().map_err(internal)?;
    let mut res = body.into_response();
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
    let items = s.store.register_export(&p.to_query()?).await?;
    let body =
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
        .map_err(internal)?;
    let mut res = body.into_response();
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
