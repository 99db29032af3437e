//! Automatic pre-checks run on submission and shown to reviewers as a
//! checklist. Thresholds come from the knowledge base (`beian-kb`), never
//! hard-coded. Keyword-sheet and question-bank coverage are counted here over
//! the attached sheets (columns 关键词/测试题 and 一级分类/二级分类 holding risk
//! codes like `A.1.a` or their Chinese names); the scan and assess crates do
//! not expose statistics APIs yet.

use std::collections::HashMap;

use serde_json::{Value, json};
use sqlx::AnyConnection;
use sqlx::Row;

use crate::domain::{AttachmentKind, Filing, FilingKind};
use crate::error::Result;
use crate::store::Store;

fn item(id: &str, title: &str, status: &str, detail: impl Into<String>) -> Value {
    json!({"id": id, "title": title, "status": status, "detail": detail.into()})
}

/// Rows of a CSV or XLSX attachment (header excluded) as cell strings.
fn sheet_rows(content_type: &str, bytes: &[u8]) -> Option<Vec<Vec<String>>> {
    if content_type == "text/csv" {
        let rows = crate::import::read_csv(bytes, "attachment").ok()?;
        return Some(rows.into_iter().skip(1).map(|(_, r)| r).collect());
    }
    if content_type.contains("spreadsheetml") {
        use calamine::{Reader, Xlsx};
        let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).ok()?;
        let mut out = Vec::new();
        for name in wb.sheet_names().to_vec() {
            if let Ok(range) = wb.worksheet_range(&name) {
                out.extend(
                    range
                        .rows()
                        .skip(1)
                        .map(|r| r.iter().map(|c| c.to_string()).collect()),
                );
            }
        }
        return Some(out);
    }
    None
}

/// Counts rows and rows per risk code.
fn coverage(rows: &[Vec<String>], kb: &beian_kb::Kb) -> (usize, HashMap<String, usize>) {
    let tax = kb.taxonomy();
    let mut per: HashMap<String, usize> = HashMap::new();
    let mut total = 0;
    for r in rows {
        if r.first().is_none_or(|c| c.trim().is_empty())
            && r.get(1).is_none_or(|c| c.trim().is_empty())
        {
            continue;
        }
        total += 1;
        let code = r.iter().find_map(|c| {
            let c = c.trim();
            if tax.is_risk_code(c) {
                Some(c.to_string())
            } else {
                tax.risks
                    .iter()
                    .find(|k| !c.is_empty() && k.zh == c)
                    .map(|k| k.code.clone())
            }
        });
        if let Some(code) = code {
            *per.entry(code).or_default() += 1;
        }
    }
    (total, per)
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

fn per_risk_check(
    kb: &beian_kb::Kb,
    id: &str,
    check_id: &str,
    title: &str,
    per: &HashMap<String, usize>,
    a1_only: bool,
) -> Value {
    let Some(t) = kb.thresholds().get(id) else {
        return item(
            check_id,
            title,
            "warn",
            format!("threshold {id} missing from the knowledge base"),
        );
    };
    let risks: Vec<&beian_kb::Risk> = if a1_only {
        kb.taxonomy().risks_in("A.1").collect()
    } else {
        kb.taxonomy().a1_a2().collect()
    };
    let short: Vec<String> = risks
        .iter()
        .filter(|r| !t.is_met(*per.get(&r.code).unwrap_or(&0) as f64))
        .map(|r| format!("{} ({})", r.code, per.get(&r.code).unwrap_or(&0)))
        .collect();
    if short.is_empty() {
        item(
            check_id,
            title,
            "pass",
            format!(
                "all {} risks have ≥ {} ({})",
                risks.len(),
                t.value,
                t.clause
            ),
        )
    } else {
        item(
            check_id,
            title,
            "fail",
            format!("below {} ({}): {}", t.value, t.clause, short.join(", ")),
        )
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
            for (akind, total_id, per_id, a1_only, label) in [
                (
                    AttachmentKind::KeywordSheet,
                    "keyword-library.total",
                    "keyword-library.per-a1-risk",
                    true,
                    "keyword",
                ),
                (
                    AttachmentKind::QuestionSheet,
                    "bank.generated.total",
                    "bank.generated.per-a1a2-risk",
                    false,
                    "question",
                ),
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
                let bytes = store.blob(conn, &a.sha256).await?;
                match sheet_rows(&a.content_type, &bytes) {
                    None => out.push(item(
                        &format!("{label}-coverage"),
                        &format!("{label} sheet coverage"),
                        "warn",
                        format!(
                            "{} is {}; coverage counted only for CSV/XLSX",
                            a.filename, a.content_type
                        ),
                    )),
                    Some(rows) => {
                        let (total, per) = coverage(&rows, kb);
                        out.push(threshold_check(
                            kb,
                            total_id,
                            &format!("{label}-total"),
                            &format!("{label} sheet size"),
                            total as f64,
                        ));
                        out.push(per_risk_check(
                            kb,
                            per_id,
                            &format!("{label}-per-risk"),
                            &format!("{label} sheet per-risk coverage"),
                            &per,
                            a1_only,
                        ));
                    }
                }
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
