//! Automatic pre-checks run on submission and shown to reviewers as a
//! checklist. Thresholds come from the knowledge base (`beian-kb`), never
//! hard-coded. Coverage is computed by the crates that own it:
//! keyword sheets (关键词 / 一级分类 / 二级分类) by beian-scan's lexicon
//! statistics, question sheets (序号 / 测试题 / 一级分类 / 二级分类, one
//! worksheet per bank) by beian-assess's bank loader and bank statistics,
//! and an attached `summary.json` of `beian assess` by its `metrics`
//! (verdict and the kb threshold). Without a summary the metrics given in
//! the filing form (`form.assessment`) are compared with the thresholds.
//!
//! Each check is `{"id", "title", "status": "pass"|"fail"|"warn", "detail"}`;
//! some carry more fields (`short`, `missing`, `source`, `measured`).

use serde_json::{Value, json};
use sqlx::AnyConnection;
use sqlx::Row;

use crate::domain::{Attachment, AttachmentKind, Filing, FilingKind};
use crate::error::Result;
use crate::store::Store;

fn item(id: &str, title: &str, status: &str, detail: impl Into<String>) -> Value {
    json!({"id": id, "title": title, "status": status, "detail": detail.into()})
}

/// Adds a field to a check built by [`item`].
fn with(mut v: Value, key: &str, x: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert(key.to_string(), x);
    }
    v
}

fn is_sheet(a: &Attachment) -> bool {
    let name = a.filename.to_lowercase();
    a.content_type == "text/csv"
        || a.content_type.contains("spreadsheetml")
        || name.ends_with(".csv")
        || name.ends_with(".xlsx")
}

fn cmp_sign(t: &beian_kb::Threshold) -> &'static str {
    match t.kind {
        beian_kb::ThresholdKind::Min => "≥",
        beian_kb::ThresholdKind::Max => "≤",
    }
}

/// Keyword-sheet checks through beian-scan's lexicon statistics.
fn keyword_checks(a: &Attachment, bytes: &[u8], out: &mut Vec<Value>) {
    let stats = match beian_scan::keyword_sheet_stats(&a.filename, bytes) {
        Ok(s) => s,
        Err(e) => {
            out.push(item(
                "keyword-total",
                "keyword sheet size",
                "fail",
                format!("{} could not be read: {e}", a.filename),
            ));
            return;
        }
    };
    out.push(with(
        item(
            "keyword-total",
            "keyword sheet size",
            if stats.total_meets { "pass" } else { "fail" },
            format!(
                "{} distinct keywords vs ≥ {} ({})",
                stats.total_terms,
                stats.total_minimum,
                stats.clauses.first().map_or("", String::as_str)
            ),
        ),
        "measured",
        json!(stats.total_terms),
    ));
    let short: Vec<String> = stats
        .risks
        .iter()
        .filter(|r| r.meets == Some(false))
        .map(|r| {
            format!(
                "{} {} ({}/{})",
                r.code,
                r.name_zh,
                r.terms,
                r.minimum.unwrap_or_default()
            )
        })
        .collect();
    let checked = stats.risks.iter().filter(|r| r.meets.is_some()).count();
    let clauses = stats.clauses.join(", ");
    let per = if short.is_empty() {
        item(
            "keyword-per-risk",
            "keyword sheet per-risk coverage",
            "pass",
            format!("all {checked} A.1/A.2 risks meet their minimum ({clauses})"),
        )
    } else {
        item(
            "keyword-per-risk",
            "keyword sheet per-risk coverage",
            "fail",
            format!(
                "{} of {checked} risks below their minimum ({clauses}): {}",
                short.len(),
                short.join(", ")
            ),
        )
    };
    out.push(with(per, "short", json!(stats.short)));
    let unknown: usize = stats.unknown_codes.values().sum();
    if stats.unclassified > 0 || unknown > 0 {
        let labels: Vec<&str> = stats.unknown_codes.keys().map(String::as_str).collect();
        out.push(item(
            "keyword-classification",
            "keyword sheet classification",
            "warn",
            format!(
                "{} keywords without a risk, {unknown} with labels outside the taxonomy{}; they count towards the total only",
                stats.unclassified,
                if labels.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", labels.join(", "))
                }
            ),
        ));
    }
}

/// Question-sheet checks through beian-assess's bank loader and statistics.
fn question_checks(a: &Attachment, bytes: &[u8], kb: &beian_kb::Kb, out: &mut Vec<Value>) {
    let stats = beian_assess::bank::load_bank_bytes(&a.filename, bytes, None, kb.taxonomy())
        .and_then(|items| beian_assess::stats::bank_stats(&items, kb, 0.9));
    let stats = match stats {
        Ok(s) => s,
        Err(e) => {
            out.push(item(
                "question-total",
                "question sheet size",
                "fail",
                format!("{} could not be read: {e}", a.filename),
            ));
            return;
        }
    };
    let (totals, per): (Vec<_>, Vec<_>) =
        stats.checks.iter().partition(|c| c.id.ends_with(".total"));
    let describe = |c: &&beian_assess::stats::Check| {
        format!("{}: {} of {} ({})", c.what, c.actual, c.required, c.clause)
    };
    let ok = totals.iter().all(|c| c.met);
    out.push(item(
        "question-total",
        "question sheet size",
        if ok { "pass" } else { "fail" },
        totals.iter().map(describe).collect::<Vec<_>>().join("; "),
    ));
    let missing: Vec<String> = stats
        .missing
        .iter()
        .map(|m| {
            format!(
                "{} {} {} ({}/{})",
                m.bank.as_str(),
                m.stratum,
                if m.name == m.stratum {
                    ""
                } else {
                    m.name.as_str()
                },
                m.have,
                m.need
            )
            .replace("  (", " (")
        })
        .collect();
    let per_ok = per.iter().all(|c| c.met);
    let detail = if per_ok {
        per.iter().map(describe).collect::<Vec<_>>().join("; ")
    } else {
        format!("below the minimum: {}", missing.join(", "))
    };
    out.push(with(
        item(
            "question-per-risk",
            "question sheet per-risk coverage",
            if per_ok { "pass" } else { "fail" },
            detail,
        ),
        "missing",
        json!(stats.missing),
    ));
    if !stats.near_duplicates.is_empty() {
        out.push(item(
            "question-near-duplicates",
            "question sheet near-duplicates",
            "warn",
            format!(
                "{} pairs of questions at Jaccard ≥ {}",
                stats.near_duplicates.len(),
                stats.near_duplicate_threshold
            ),
        ));
    }
}

/// The form keys of the metrics, by `beian assess` summary name.
const METRIC_KEYS: [(&str, &str); 3] = [
    ("generated_qualified_rate", "generated_qualified"),
    ("refusal_rate_should_refuse", "should_refuse_refusal_rate"),
    ("refusal_rate_should_answer", "should_answer_refusal_rate"),
];

/// Metric checks from a `summary.json` of `beian assess`; `Err` when the
/// file is not such a summary.
fn summary_checks(
    a: &Attachment,
    bytes: &[u8],
    kb: &beian_kb::Kb,
    out: &mut Vec<Value>,
) -> std::result::Result<(), String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let metrics = v
        .get("metrics")
        .and_then(Value::as_object)
        .ok_or("no `metrics` object")?;
    for (name, key) in METRIC_KEYS {
        let id = format!("metric-{key}");
        let title = format!("assessment metric {key}");
        let Some(m) = metrics.get(name) else {
            out.push(item(
                &id,
                &title,
                "fail",
                format!("{}: metrics.{name} missing", a.filename),
            ));
            continue;
        };
        let m: beian_assess::metrics::Metric = match serde_json::from_value(m.clone()) {
            Ok(m) => m,
            Err(e) => {
                out.push(item(
                    &id,
                    &title,
                    "fail",
                    format!("{}: metrics.{name}: {e}", a.filename),
                ));
                continue;
            }
        };
        let Some(t) = kb.thresholds().get(&m.threshold_id) else {
            out.push(item(
                &id,
                &title,
                "warn",
                format!(
                    "threshold {} missing from the knowledge base",
                    m.threshold_id
                ),
            ));
            continue;
        };
        use beian_assess::metrics::Verdict;
        let meets = m.value.is_some_and(|x| t.is_met(x));
        let status = match m.verdict {
            Verdict::Fail => "fail",
            _ if !meets => "fail",
            Verdict::Inconclusive => "warn",
            Verdict::Pass if !m.sample_ok => "warn",
            Verdict::Pass => "pass",
        };
        let mut detail = format!(
            "{} (95% CI {}–{}, k={}, n={}) vs {} {} ({}: {}); verdict {}",
            m.value.map_or("none".to_string(), |x| x.to_string()),
            m.ci95[0],
            m.ci95[1],
            m.k,
            m.n,
            cmp_sign(t),
            t.value,
            t.clause,
            t.zh,
            serde_json::to_value(m.verdict)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        );
        if !m.sample_ok {
            detail.push_str(&format!(
                "; sample {} below the required {}",
                m.n, m.sample_required
            ));
        }
        if m.threshold != t.value {
            detail.push_str(&format!(
                "; the summary used threshold {}, the knowledge base has {}",
                m.threshold, t.value
            ));
        }
        out.push(with(
            with(
                item(&id, &title, status, detail),
                "source",
                json!(a.filename),
            ),
            "measured",
            json!(m.value),
        ));
    }
    Ok(())
}

fn threshold_check(
    kb: &beian_kb::Kb,
    id: &str,
    check_id: &str,
    title: &str,
    measured: f64,
) -> Value {
    match kb.thresholds().get(id) {
        Some(t) => {
            let ok = t.is_met(measured);
            item(
                check_id,
                title,
                if ok { "pass" } else { "fail" },
                format!(
                    "{measured} vs {} {} ({}: {})",
                    match t.kind {
                        beian_kb::ThresholdKind::Min => "≥",
                        beian_kb::ThresholdKind::Max => "≤",
                    },
                    t.value,
                    t.clause,
                    t.zh
                ),
            )
        }
        None => item(
            check_id,
            title,
            "warn",
            format!("threshold {id} missing from the knowledge base"),
        ),
    }
}

/// Runs all checks for `f` and returns the checklist.
pub(crate) async fn run(store: &Store, conn: &mut AnyConnection, f: &Filing) -> Result<Value> {
    let mut out = Vec::new();
    let kb = beian_kb::Kb::embedded().ok();
    // 1-2: classification
    let classification = match f.service_id {
        Some(sid) => sqlx::query("SELECT classification FROM services WHERE id = $1")
            .bind(sid)
            .fetch_optional(&mut *conn)
            .await?
            .and_then(|r| r.try_get::<String, _>("classification").ok())
            .as_deref()
            .and_then(|s| serde_json::from_str::<Value>(s).ok()),
        None => None,
    };
    match &classification {
        None => out.push(item(
            "classification-attached",
            "Classification attached",
            "fail",
            "no service with a classification is linked to this filing",
        )),
        Some(c) => {
            out.push(item(
                "classification-attached",
                "Classification attached",
                "pass",
                format!(
                    "classifier: {}",
                    c.get("classifier")
                        .and_then(Value::as_str)
                        .unwrap_or("beian-classify")
                ),
            ));
            match crate::classify::required_kinds(c) {
                Some(k) if k.iter().any(|k| k == f.kind.as_str()) => out.push(item(
                    "classification-consistent",
                    "Classification consistent with filing kind",
                    "pass",
                    format!("classification calls for {}", k.join(", ")),
                )),
                Some(k) if !k.is_empty() => out.push(item(
                    "classification-consistent",
                    "Classification consistent with filing kind",
                    "fail",
                    format!("classification calls for {}, not {}", k.join(", "), f.kind),
                )),
                _ => out.push(item(
                    "classification-consistent",
                    "Classification consistent with filing kind",
                    "warn",
                    "classification names no filing kinds",
                )),
            }
        }
    }
    // 3: required attachments
    let atts = store.attachments_of(conn, f.id).await?;
    let missing: Vec<&str> = AttachmentKind::required_for(f.kind)
        .iter()
        .filter(|k| !atts.iter().any(|a| a.kind == **k))
        .map(|k| k.as_str())
        .collect();
    out.push(if missing.is_empty() {
        item(
            "required-attachments",
            "Required attachments present",
            "pass",
            format!("{} attachments", atts.len()),
        )
    } else {
        item(
            "required-attachments",
            "Required attachments present",
            "fail",
            format!("missing: {}", missing.join(", ")),
        )
    });
    // 4-6: coverage and metrics (generative AI kinds)
    if f.kind != FilingKind::Algorithm {
        if let Some(kb) = &kb {
            for (akind, label) in [
                (AttachmentKind::KeywordSheet, "keyword"),
                (AttachmentKind::QuestionSheet, "question"),
            ] {
                let Some(a) = atts.iter().rev().find(|a| a.kind == akind) else {
                    out.push(item(
                        &format!("{label}-coverage"),
                        &format!("{label} sheet coverage"),
                        "fail",
                        format!("no {} attached", akind.as_str()),
                    ));
                    continue;
                };
                if !is_sheet(a) {
                    out.push(item(
                        &format!("{label}-coverage"),
                        &format!("{label} sheet coverage"),
                        "warn",
                        format!(
                            "{} is {}; coverage counted only for CSV/XLSX",
                            a.filename, a.content_type
                        ),
                    ));
                    continue;
                }
                let bytes = store.blob(conn, &a.sha256).await?;
                // Parsing and counting a sheet of thousands of rows is CPU
                // work: keep it off the async workers.
                let a = a.clone();
                let keywords = akind == AttachmentKind::KeywordSheet;
                let done = tokio::task::spawn_blocking(move || {
                    let mut v = Vec::new();
                    if keywords {
                        keyword_checks(&a, &bytes, &mut v);
                    } else {
                        match beian_kb::Kb::embedded() {
                            Ok(kb) => question_checks(&a, &bytes, &kb, &mut v),
                            Err(e) => v.push(item(
                                "question-total",
                                "question sheet size",
                                "warn",
                                format!("knowledge base failed to load: {e}"),
                            )),
                        }
                    }
                    v
                })
                .await;
                match done {
                    Ok(v) => out.extend(v),
                    Err(e) => out.push(item(
                        &format!("{label}-coverage"),
                        &format!("{label} sheet coverage"),
                        "warn",
                        format!("coverage could not be computed: {e}"),
                    )),
                }
            }
            // Metrics: the latest attached summary.json of `beian assess`,
            // else the figures given in the form.
            let mut from_summary = false;
            for a in atts.iter().rev().filter(|a| {
                a.content_type == "application/json" || a.filename.to_lowercase().ends_with(".json")
            }) {
                let named = a.filename.to_lowercase().ends_with("summary.json");
                let bytes = store.blob(conn, &a.sha256).await?;
                let mut checks = Vec::new();
                match summary_checks(a, &bytes, kb, &mut checks) {
                    Ok(()) => {
                        out.extend(checks);
                        from_summary = true;
                        break;
                    }
                    Err(e) if named => out.push(item(
                        "assessment-summary",
                        "assessment summary",
                        "fail",
                        format!("{}: {e}", a.filename),
                    )),
                    Err(_) => {}
                }
            }
            if from_summary {
                return Ok(Value::Array(out));
            }
            let metrics = f.form.get("assessment");
            for (key, id) in [
                ("generated_qualified", "assess.generated.qualified"),
                (
                    "should_refuse_refusal_rate",
                    "assess.should-refuse.refusal-rate",
                ),
                (
                    "should_answer_refusal_rate",
                    "assess.should-answer.refusal-rate",
                ),
            ] {
                match metrics.and_then(|m| m.get(key)).and_then(Value::as_f64) {
                    Some(x) => out.push(threshold_check(
                        kb,
                        id,
                        &format!("metric-{key}"),
                        &format!("assessment metric {key}"),
                        x,
                    )),
                    None => out.push(item(
                        &format!("metric-{key}"),
                        &format!("assessment metric {key}"),
                        "fail",
                        format!("form.assessment.{key} not given"),
                    )),
                }
            }
        } else {
            out.push(item(
                "knowledge-base",
                "Knowledge base",
                "warn",
                "embedded knowledge base failed to load; thresholds not checked",
            ));
        }
    }
    Ok(Value::Array(out))
}
