//! The public register: `GET /register?q=&kind=&province=&page=` and a page per entry.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use beian_registry::province::PROVINCES;
use beian_registry::{FilingKind, RegisterItem, RegisterQuery};
use serde::Deserialize;

use super::{Ctx, WebError, WebResult, render, urlencode};
use crate::AppState;

/// Entries per register page (the store's page size).
const PAGE_SIZE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    q: Option<String>,
    kind: Option<String>,
    province: Option<String>,
    page: Option<String>,
    status: Option<String>,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    c: Ctx,
    q: String,
    kind: String,
    province: String,
    /// `active`, `cancelled` or `all`.
    status: String,
    kinds: Vec<&'static str>,
    provinces: Vec<&'static str>,
    error: Option<String>,
    total: i64,
    items: Vec<RegisterItem>,
    page: i64,
    pages: i64,
    /// Query string of this search without `page` (for export and paging links).
    qs: String,
}

impl RegisterPage {
    fn entry_href(&self, item: &RegisterItem) -> String {
        format!("/register/entry?number={}", urlencode(&item.filing_number))
    }
    fn page_href(&self, page: &i64) -> String {
        if self.qs.is_empty() {
            format!("/register?page={page}")
        } else {
            format!("/register?{}&page={page}", self.qs)
        }
    }
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Renders the register search server-side (works without JavaScript).
pub async fn search(State(s): State<AppState>, c: Ctx, Query(p): Query<Params>) -> Response {
    let q = nonempty(&p.q);
    let kind = nonempty(&p.kind);
    let province = nonempty(&p.province);
    let reg_status = nonempty(&p.status).unwrap_or_else(|| "active".to_string());
    let mut error = None;
    let page = match nonempty(&p.page) {
        None => 1,
        Some(x) => match x.parse::<i64>() {
            Ok(n) if n >= 1 => n,
            _ => {
                error = Some(format!("{}: {x:?}", c.t("bad_page")));
                1
            }
        },
    };
    let mut qs = Vec::new();
    for (k, v) in [("q", &q), ("kind", &kind), ("province", &province)] {
        if let Some(v) = v {
            qs.push(format!("{k}={}", urlencode(v)));
        }
    }
    if reg_status != "active" {
        qs.push(format!("status={}", urlencode(&reg_status)));
    }
    let query = RegisterQuery {
        q: q.clone(),
        kind: kind.clone(),
        province: province.clone(),
        status: Some(reg_status.clone()),
        page: Some(page),
    };
    let (total, items) = if error.is_some() {
        (0, Vec::new())
    } else {
        match s.store.register_search(&query).await {
            Ok(r) => (r.total, r.items.clone()),
            Err(e) => {
                error = Some(WebError::from(e).message());
                (0, Vec::new())
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = RegisterPage {
        c,
        q: q.unwrap_or_default(),
        kind: kind.unwrap_or_default(),
        province: province.unwrap_or_default(),
        status: reg_status,
        kinds: FilingKind::ALL.iter().map(|k| k.as_str()).collect(),
        provinces: PROVINCES.iter().map(|p| p.0).collect(),
        error,
        total,
        items,
        page,
        pages,
        qs: qs.join("&"),
    };
    (status, render(&page)).into_response()
}

#[derive(Deserialize)]
pub struct EntryParams {
    number: Option<String>,
}

#[derive(Template)]
#[template(path = "register_entry.html")]
struct EntryPage {
    c: Ctx,
    item: RegisterItem,
}

/// `GET /register/entry?number=…`: one register entry.
pub async fn entry(State(s): State<AppState>, c: Ctx, Query(p): Query<EntryParams>) -> WebResult {
    let number = p
        .number
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| WebError::bad("number: missing filing number"))?;
    let query = RegisterQuery {
        q: Some(number.to_string()),
        status: Some("all".into()),
        ..Default::default()
    };
    let found = s.store.register_search(&query).await?;
    let item = found
        .items
        .iter()
        .find(|i| i.filing_number == number)
        .cloned()
        .ok_or_else(|| WebError::not_found("register entry"))?;
    Ok(render(&EntryPage { c, item }))
}
