//! Auditor view: the audit log, filterable, with the chain's verification status.

use askama::Template;
use axum::extract::{Query, State};
use beian_registry::AuditEntry;
use serde::Deserialize;

use super::{Ctx, WebResult, render};
use crate::AppState;

/// Most entries scanned for one page (the newest ones).
const MAX_SCAN: usize = 20_000;
/// Most entries shown.
const MAX_SHOW: usize = 500;

#[derive(Debug, Default, Deserialize)]
pub struct Params {
    actor: Option<String>,
    action: Option<String>,
    subject: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Ctx,
    chain_ok: bool,
    chain_entries: usize,
    chain_error: String,
    actor: String,
    action: String,
    subject: String,
    known_actions: Vec<String>,
    entries: Vec<EntryView>,
    truncated: bool,
}

/// An audit entry as shown: time in Asia/Shanghai, details as key-value pairs.
struct EntryView {
    seq: i64,
    at: String,
    at_utc: String,
    actor: String,
    action: String,
    action_label: String,
    subject: String,
    detail: Vec<(String, String)>,
    hash: String,
}

fn view(c: &Ctx, e: AuditEntry) -> EntryView {
    let detail = match &e.detail {
        serde_json::Value::Object(m) => m
            .iter()
            .filter(|(_, v)| match v {
                serde_json::Value::Null => false,
                serde_json::Value::Array(a) => !a.is_empty(),
                serde_json::Value::Object(o) => !o.is_empty(),
                _ => true,
            })
            .map(|(k, v)| {
                let shown = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), shown)
            })
            .collect(),
        serde_json::Value::Null => Vec::new(),
        other => vec![(String::from("value"), other.to_string())],
    };
    EntryView {
        seq: e.seq,
        at: super::i18n::shanghai(&e.at),
        action_label: super::i18n::audit_action(c.lang, &e.action),
        at_utc: e.at,
        actor: e.actor,
        action: e.action,
        subject: e.subject,
        detail,
        hash: e.hash,
    }
}

pub async fn log(State(s): State<AppState>, c: Ctx, Query(p): Query<Params>) -> WebResult {
    let u = c.require()?.clone();
    // Permission: the store refuses users who may not read the log (403 page).
    // The newest MAX_SCAN entries (sequence numbers are contiguous from 1).
    let total = s.store.count("audit_log").await?;
    let mut all = Vec::new();
    let mut after = (total - MAX_SCAN as i64).max(0);
    loop {
        let batch = s.store.audit_entries(Some(&u), after, 1000).await?;
        let got = batch.len();
        if let Some(last) = batch.last() {
            after = last.seq;
        }
        all.extend(batch);
        if got < 1000 || all.len() >= MAX_SCAN {
            break;
        }
    }
    let (chain_ok, chain_entries, chain_error) = match s.store.audit_verify().await? {
        Ok(n) => (true, n, String::new()),
        Err(e) => (false, 0, e.to_string()),
    };
    let norm = |x: &Option<String>| x.as_deref().map(str::trim).unwrap_or("").to_string();
    let (actor, action, subject) = (norm(&p.actor), norm(&p.action), norm(&p.subject));
    let mut known_actions: Vec<String> = all.iter().map(|e| e.action.clone()).collect();
    known_actions.sort();
    known_actions.dedup();
    let mut entries: Vec<AuditEntry> = all
        .into_iter()
        .rev()
        .filter(|e| actor.is_empty() || e.actor.contains(&actor))
        .filter(|e| action.is_empty() || e.action.starts_with(&action))
        .filter(|e| subject.is_empty() || e.subject.contains(&subject))
        .collect();
    let truncated = entries.len() > MAX_SHOW;
    entries.truncate(MAX_SHOW);
    let entries = entries.into_iter().map(|e| view(&c, e)).collect();
    Ok(render(&AuditPage {
        c,
        chain_ok,
        chain_entries,
        chain_error,
        actor,
        action,
        subject,
        known_actions,
        entries,
        truncated,
    }))
}
