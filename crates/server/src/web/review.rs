//! Reviewer workspace: queues by state and province, with waiting times and
//! the services' filing deadlines (overdue flags).

use askama::Template;
use axum::extract::{Query, State};
use beian_registry::province::PROVINCES;
use beian_registry::{Filing, FilingDeadline, Role, Status};
use serde::Deserialize;

use super::{Ctx, WebError, WebResult, render, see_other};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    status: Option<String>,
    province: Option<String>,
}

pub struct Row {
    pub f: Filing,
    /// Calendar days since submission.
    pub waiting: Option<i64>,
    pub deadlines: Vec<FilingDeadline>,
    pub overdue: bool,
    /// Titles of the failing blocking pre-checks (as stored at submission).
    pub failing: Vec<String>,
    pub checks_total: usize,
}

pub struct Queue {
    pub status: &'static str,
    pub rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    c: Ctx,
    queues: Vec<Queue>,
    status: String,
    province: String,
    statuses: Vec<&'static str>,
    provinces: Vec<&'static str>,
    scope: String,
    total: usize,
    overdue: usize,
}

/// States shown as reviewer queues, in working order.
const QUEUES: &[Status] = &[
    Status::Submitted,
    Status::ProvincialReview,
    Status::NationalReview,
    Status::Returned,
    Status::ChangeSubmitted,
    Status::Approved,
    Status::Rejected,
    Status::Cancelled,
];

pub async fn queues(State(s): State<AppState>, c: Ctx, Query(p): Query<Params>) -> WebResult {
    let u = c.require()?.clone();
    if u.role.is_provider() {
        return Ok(see_other("/workspace"));
    }
    let status = p.status.as_deref().map(str::trim).filter(|x| !x.is_empty());
    let status = match status {
        Some(x) => Some(
            Status::parse(x)
                .ok_or_else(|| WebError::bad(format!("status: unknown status {x:?}")))?,
        ),
        None => None,
    };
    let province = match p
        .province
        .as_deref()
        .map(str::trim)
        .filter(|x| !x.is_empty())
    {
        Some(x) => Some(
            beian_registry::province::canonical(x)
                .ok_or_else(|| WebError::bad(format!("province: unknown province {x:?}")))?,
        ),
        None => None,
    };
    let all = s.store.list_filings(&u, status).await?;
    let today = beian_registry::store::today_cn();
    let mut queues: Vec<Queue> = Vec::new();
    let mut total = 0;
    let mut overdue_n = 0;
    for st in QUEUES {
        let mut rows = Vec::new();
        for f in all
            .iter()
            .filter(|f| f.status == *st && province.is_none_or(|p| f.province == p))
        {
            let waiting = f
                .submitted_on
                .as_deref()
                .and_then(|d| {
                    chrono::NaiveDate::parse_from_str(d.get(..10).unwrap_or(d), "%Y-%m-%d").ok()
                })
                .map(|d| (today - d).num_days());
            let deadlines = match f.service_id {
                Some(sid) => s
                    .store
                    .filing_deadlines(&u, sid)
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|d| super::provider::own_deadline(d, f))
                    .collect(),
                None => Vec::new(),
            };
            let overdue = deadlines.iter().any(|d| d.overdue);
            if overdue {
                overdue_n += 1;
            }
            let failing = beian_registry::precheck::blocking_failures(&f.checks)
                .iter()
                .map(|id| super::provider::check_title(&c, id))
                .collect();
            let checks_total = f.checks.as_array().map_or(0, Vec::len);
            rows.push(Row {
                f: f.clone(),
                waiting,
                deadlines,
                overdue,
                failing,
                checks_total,
            });
        }
        total += rows.len();
        if !rows.is_empty() || status.is_none_or(|x| x == *st) {
            queues.push(Queue {
                status: st.as_str(),
                rows,
            });
        }
    }
    let scope = match u.role {
        Role::ProvincialReviewer => c.province(u.province.as_deref().unwrap_or_default()),
        _ => c.t("all_provinces").to_string(),
    };
    let page = ReviewPage {
        queues,
        status: status.map(|x| x.as_str().to_string()).unwrap_or_default(),
        province: province.unwrap_or("").to_string(),
        statuses: QUEUES.iter().map(|s| s.as_str()).collect(),
        // a one-province reviewer gets no province filter
        provinces: if u.role == Role::ProvincialReviewer {
            Vec::new()
        } else {
            PROVINCES.iter().map(|p| p.0).collect()
        },
        scope,
        total,
        overdue: overdue_n,
        c,
    };
    Ok(render(&page))
}
