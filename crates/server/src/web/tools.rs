//! Tools: the screening playground, the regime comparison, and the
//! assessment-run viewer.
//!
//! The playground's lexicon is the file named by `BEIAN_PLAYGROUND_LEXICON`
//! (plain or TSV `term<TAB>risk`, as `beian scan` reads), else the small
//! built-in demo list `static/demo-lexicon.tsv`; the engine's built-in
//! detectors (ID card, mobile, ...) are on. `BEIAN_PLAYGROUND_MODEL` names a
//! `beian judge` model whose verdict (label, score, threshold) is shown too.

use std::sync::OnceLock;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use beian_classify::Comparison;
use beian_screen::{Engine, EngineBuilder};
use serde::Deserialize;
use serde_json::Value;

use super::provider::{clang, classifier, classify_value};
use super::{Ctx, FormData, WebError, WebResult, render};
use crate::AppState;

const DEMO_LEXICON: &str = include_str!("../../static/demo-lexicon.tsv");
/// Largest text the playground screens (bytes).
pub const MAX_PLAYGROUND_BYTES: usize = 100 * 1024;

struct Screener {
    engine: Engine,
    source: String,
    terms: usize,
    model: Option<beian_judge::Model>,
}

/// The classifier's verdict on the playground text.
pub struct ModelView {
    pub label: String,
    pub score: String,
    pub threshold: String,
    pub flagged: bool,
}

fn model_view(s: &Screener, text: &str) -> Option<ModelView> {
    let m = s.model.as_ref()?;
    let v = m.predict(text);
    Some(ModelView {
        label: m.labels()[v.label].clone(),
        score: format!("{:.3}", v.score),
        threshold: format!("{:.3}", m.threshold()),
        flagged: v.score >= m.threshold(),
    })
}

fn screener() -> Result<&'static Screener, WebError> {
    static S: OnceLock<Result<Screener, String>> = OnceLock::new();
    S.get_or_init(|| {
        let (name, text) = match std::env::var("BEIAN_PLAYGROUND_LEXICON") {
            Ok(p) if !p.trim().is_empty() => {
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| format!("playground lexicon {p}: {e}"))?;
                (p, text)
            }
            _ => (
                "built-in demo lexicon".to_string(),
                DEMO_LEXICON.to_string(),
            ),
        };
        let mut b = EngineBuilder::new();
        b.lexicon_text(&name, &text, None)
            .map_err(|e| e.to_string())?;
        let terms = b.len();
        let engine = b.into_engine().map_err(|e| e.to_string())?;
        let model = match std::env::var("BEIAN_PLAYGROUND_MODEL") {
            Ok(p) if !p.trim().is_empty() => Some(
                beian_judge::Model::load(std::path::Path::new(&p))
                    .map_err(|e| format!("playground model: {e}"))?,
            ),
            _ => None,
        };
        Ok(Screener {
            engine,
            source: name,
            terms,
            model,
        })
    })
    .as_ref()
    .map_err(|e| WebError::Status(StatusCode::INTERNAL_SERVER_ERROR, e.clone()))
}

/// A run of the screened text: plain, or a finding.
pub struct Segment {
    pub text: String,
    pub hit: Option<HitView>,
}

pub struct HitView {
    pub n: usize,
    pub risk: String,
    pub risk_name: String,
    pub term: String,
    pub via: String,
    pub detector: String,
}

#[derive(Template)]
#[template(path = "screen.html")]
struct ScreenPage {
    c: Ctx,
    text: String,
    segments: Vec<Segment>,
    hits: Vec<HitView>,
    ran: bool,
    source: String,
    terms: usize,
    error: Option<String>,
    model: Option<ModelView>,
}

pub async fn screen_form(c: Ctx) -> WebResult {
    let s = screener()?;
    Ok(render(&ScreenPage {
        c,
        text: String::new(),
        segments: Vec::new(),
        hits: Vec::new(),
        ran: false,
        source: s.source.clone(),
        terms: s.terms,
        error: None,
        model: None,
    }))
}

/// Splits `text` into plain runs and highlighted findings (overlaps: the first, longest wins).
pub fn segments(c: &Ctx, text: &str, engine: &Engine) -> (Vec<Segment>, Vec<HitView>) {
    let mut findings = engine.find(text);
    findings.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let tax = classifier().ok().map(|c| c.kb().taxonomy());
    let mut out = Vec::new();
    let mut hits = Vec::new();
    let mut pos = 0;
    for f in findings {
        if f.start < pos
            || f.end > text.len()
            || !text.is_char_boundary(f.start)
            || !text.is_char_boundary(f.end)
        {
            continue;
        }
        if f.start > pos {
            out.push(Segment {
                text: text[pos..f.start].to_string(),
                hit: None,
            });
        }
        let risk_name = tax
            .and_then(|t| t.risk(&f.risk))
            .map(|r| c.pick(&r.zh, &r.en).to_string())
            .unwrap_or_default();
        let via = f
            .via
            .map(|v| format!("{v:?}").to_lowercase())
            .unwrap_or_default();
        let mk = |n| HitView {
            n,
            risk: f.risk.to_string(),
            risk_name: risk_name.clone(),
            term: f.term.to_string(),
            via: via.clone(),
            detector: f.detector.to_string(),
        };
        hits.push(mk(hits.len() + 1));
        out.push(Segment {
            text: text[f.start..f.end].to_string(),
            hit: Some(mk(hits.len())),
        });
        pos = f.end;
    }
    if pos < text.len() {
        out.push(Segment {
            text: text[pos..].to_string(),
            hit: None,
        });
    }
    (out, hits)
}

pub async fn screen_run(c: Ctx, form: FormData) -> WebResult {
    let s = screener()?;
    let text = form.get("text").unwrap_or("").to_string();
    if text.len() > MAX_PLAYGROUND_BYTES {
        let page = ScreenPage {
            text: String::new(),
            segments: Vec::new(),
            hits: Vec::new(),
            ran: false,
            source: s.source.clone(),
            terms: s.terms,
            error: Some(format!("text: longer than {MAX_PLAYGROUND_BYTES} bytes")),
            model: None,
            c,
        };
        return Ok((StatusCode::PAYLOAD_TOO_LARGE, render(&page)).into_response());
    }
    let (segments, hits) = segments(&c, &text, &s.engine);
    let model = model_view(s, &text);
    Ok(render(&ScreenPage {
        c,
        text,
        segments,
        hits,
        ran: true,
        source: s.source.clone(),
        terms: s.terms,
        error: None,
        model,
    }))
}

// ------------------------------------------------------------------ compare

/// The comparison as shown: citations apart from the words, labels in the page language.
pub struct CompareView {
    pub tiers: Vec<String>,
    /// (citation, text) per regime.
    pub filings: Vec<Vec<(String, String)>>,
    pub rows: Vec<CompareRow>,
}

pub struct CompareRow {
    pub theme: String,
    pub differs: bool,
    pub cells: Vec<Vec<(String, String)>>,
}

/// `ALGO-2022 Art. 9: 违法…` → (`ALGO-2022 Art. 9`, `违法…`).
fn split_cite(c: &Ctx, entry: &str) -> (String, String) {
    let (cite, text) = match entry.split_once(": ") {
        Some((a, b)) => (a.to_string(), b.to_string()),
        None => (String::new(), entry.to_string()),
    };
    let cite = if c.zh() {
        cite.replace("(article unconfirmed)", "（条款未确认）")
    } else {
        cite
    };
    (cite, text)
}

fn compare_view(c: &Ctx, t: Comparison) -> CompareView {
    // tiers: `须备案/登记 (filing-required)`: the label without its id on Chinese pages
    let tiers = t
        .tiers
        .iter()
        .map(|x| match x.rsplit_once(" (") {
            Some((label, _)) if c.zh() => label.to_string(),
            _ => x.clone(),
        })
        .collect();
    // filings: `genai-filing [provincial] GENAI-2023:17`
    let filings = t
        .filings
        .iter()
        .map(|cell| {
            cell.iter()
                .map(|x| {
                    let mut parts = x.splitn(3, ' ');
                    let kind = parts.next().unwrap_or("");
                    let auth = parts
                        .next()
                        .unwrap_or("")
                        .trim_matches(|ch| ch == '[' || ch == ']');
                    let basis = parts.next().unwrap_or("").to_string();
                    let text = if auth.is_empty() {
                        c.label(kind)
                    } else {
                        format!("{}（{}）", c.label(kind), c.label(auth))
                    };
                    (basis, text)
                })
                .collect()
        })
        .collect();
    let rows = t
        .rows
        .into_iter()
        .map(|r| CompareRow {
            theme: super::i18n::theme_label(c.lang, &r.theme),
            differs: r.differs,
            cells: r
                .cells
                .iter()
                .map(|cell| cell.iter().map(|x| split_cite(c, x)).collect())
                .collect(),
        })
        .collect();
    CompareView {
        tiers,
        filings,
        rows,
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CompareParams {
    service: Option<String>,
    example: Option<String>,
}

#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage {
    c: Ctx,
    title: String,
    examples: Vec<(&'static str, String)>,
    example: String,
    services: Vec<(i64, String)>,
    cmp: Option<CompareView>,
    names: Vec<String>,
    error: Option<String>,
}

pub async fn compare(
    State(s): State<AppState>,
    c: Ctx,
    Query(p): Query<CompareParams>,
) -> WebResult {
    let cls = classifier()?;
    let regimes: Vec<&str> = cls.regime_ids();
    let mut title = String::new();
    let mut profile: Option<Value> = None;
    let mut error = None;
    if let Some(id) = p.service.as_deref().filter(|x| !x.is_empty()) {
        let u = c.require()?.clone();
        let id: i64 = id
            .parse()
            .map_err(|_| WebError::bad("service: not a number"))?;
        let sv = s.store.read_service(&u, id).await?;
        title = sv.name.clone();
        profile = Some(sv.profile);
    } else if let Some(ex) = p.example.as_deref().filter(|x| !x.is_empty()) {
        let values = super::provider::example_values(ex)
            .ok_or_else(|| WebError::not_found("example profile"))?;
        title = super::provider::example_choices(&c)
            .into_iter()
            .find(|(slug, _)| *slug == ex)
            .map(|(_, label)| label)
            .unwrap_or_else(|| ex.to_string());
        profile = Some(Value::Object(values));
    }
    let mut cmp = None;
    if let Some(pv) = profile {
        match classify_value(&pv, &title, &regimes, clang(&c), true) {
            Ok(r) => cmp = r.comparison,
            Err(e) => error = Some(e),
        }
    }
    let cmp = cmp.map(|t| compare_view(&c, t));
    let names = regimes
        .iter()
        .map(|id| {
            beian_classify::regime_of(cls.kb(), id)
                .map(|r| c.pick(&r.meta.zh, &r.meta.en).to_string())
                .unwrap_or_else(|| id.to_string())
        })
        .collect();
    let mut services = Vec::new();
    if let Some(u) = c.user.clone().filter(|u| u.role.is_provider()) {
        services = super::provider::my_services(&s, &u)
            .await?
            .into_iter()
            .map(|sv| (sv.id, sv.name))
            .collect();
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let examples = super::provider::example_choices(&c);
    let page = ComparePage {
        c,
        title,
        examples,
        example: p.example.unwrap_or_default(),
        services,
        cmp,
        names,
        error,
    };
    Ok((status, render(&page)).into_response())
}

// ------------------------------------------------------------------ assessment viewer

#[derive(Template)]
#[template(path = "assessment.html")]
struct AssessmentPage {
    c: Ctx,
    filing_id: i64,
    filing_name: String,
    filename: String,
    /// Flattened `path = value` rows of a JSON run record.
    rows: Vec<(String, String)>,
    /// Text reports (Markdown/plain) shown as preformatted text.
    text: Option<String>,
    /// Link to the sandboxed HTML report (`text/html` attachments).
    html_report: Option<String>,
    thresholds: Vec<ThresholdRow>,
}

pub struct ThresholdRow {
    pub id: String,
    pub label: String,
    pub limit: String,
    pub value: String,
    pub ok: Option<bool>,
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    if out.len() > 2000 {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate().take(200) {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// `GET /filings/{id}/assessment/{aid}`: an attached `beian assess` run
/// (JSON record or text/Markdown report) rendered as a page, with every metric
/// whose key names a knowledge-base threshold compared against it.
pub async fn assessment_view(
    State(s): State<AppState>,
    c: Ctx,
    Path((id, aid)): Path<(i64, i64)>,
) -> WebResult {
    let u = c.require()?.clone();
    let f = s.store.get_filing(Some(&u), id).await?;
    let (a, data) = s.store.get_attachment(&u, id, aid).await?;
    let mut rows = Vec::new();
    let mut text = None;
    let mut html_report = None;
    if a.content_type == beian_registry::attachments::HTML {
        html_report = Some(format!("/filings/{}/assessment/{}/report.html", f.id, a.id));
    } else if a.content_type == "application/json" {
        let v: Value = serde_json::from_slice(&data)
            .map_err(|e| WebError::bad(format!("{}: not valid JSON: {e}", a.filename)))?;
        flatten("", &v, &mut rows);
    } else if a.content_type == "text/plain" {
        text = Some(String::from_utf8_lossy(&data).into_owned());
    } else {
        return Err(WebError::Status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "{} ({}) cannot be shown as a report; download it instead",
                a.filename, a.content_type
            ),
        ));
    }
    let mut thresholds = Vec::new();
    // the `metrics` of a `beian assess` summary.json (or report.json's summary)
    let metrics = if a.content_type == "application/json" {
        serde_json::from_slice::<Value>(&data).ok().and_then(|v| {
            v.get("metrics")
                .or_else(|| v.get("summary").and_then(|s| s.get("metrics")))
                .and_then(Value::as_object)
                .cloned()
        })
    } else {
        None
    };
    if let (Ok(cls), Some(ms)) = (classifier(), &metrics) {
        let th = cls.kb().thresholds();
        for (name, m) in ms {
            let t = m
                .get("threshold_id")
                .and_then(Value::as_str)
                .and_then(|id| th.get(id));
            let value = m.get("value").and_then(Value::as_f64);
            let ci: Vec<f64> = m
                .get("ci95")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            let mut shown = value.map_or_else(|| "—".to_string(), |x| x.to_string());
            if let [lo, hi] = ci[..] {
                shown.push_str(&format!(
                    " ({} {lo}–{hi}",
                    if c.zh() { "95% 置信区间" } else { "95% CI" }
                ));
                if let (Some(k), Some(n)) = (m.get("k"), m.get("n")) {
                    shown.push_str(&format!(", k={k}, n={n}"));
                }
                shown.push(')');
            }
            let verdict = m.get("verdict").and_then(Value::as_str);
            thresholds.push(ThresholdRow {
                id: t.map_or_else(|| name.clone(), |t| t.id.clone()),
                label: t.map_or_else(|| name.clone(), |t| c.pick(&t.zh, &t.en).to_string()),
                limit: t.map_or_else(String::new, |t| {
                    let op = match t.kind {
                        beian_kb::ThresholdKind::Min => "≥",
                        beian_kb::ThresholdKind::Max => "≤",
                    };
                    format!("{op} {} ({})", t.value, t.clause)
                }),
                value: shown,
                ok: match verdict {
                    Some("pass") => Some(true),
                    Some("fail") => Some(false),
                    _ => value.zip(t).map(|(x, t)| t.is_met(x)),
                },
            });
        }
    }
    if let Ok(cls) = classifier()
        && metrics.is_none()
    {
        let th = cls.kb().thresholds();
        for (k, v) in &rows {
            let key = k.rsplit('.').next().unwrap_or(k);
            let id_guess = k.replace('_', "-");
            let t = th
                .get(k)
                .or_else(|| th.get(&id_guess))
                .or_else(|| th.get(key));
            if let Some(t) = t {
                let x: Option<f64> = v.parse().ok();
                thresholds.push(ThresholdRow {
                    id: t.id.clone(),
                    label: c.pick(&t.zh, &t.en).to_string(),
                    limit: format!(
                        "{} {}{}",
                        match t.kind {
                            beian_kb::ThresholdKind::Min => "≥",
                            beian_kb::ThresholdKind::Max => "≤",
                        },
                        t.value,
                        if t.unit.is_empty() {
                            String::new()
                        } else {
                            format!(" {}", t.unit)
                        }
                    ),
                    value: v.clone(),
                    ok: x.map(|x| t.is_met(x)),
                });
            }
        }
    }
    Ok(render(&AssessmentPage {
        c,
        filing_id: f.id,
        filing_name: f.name,
        filename: a.filename,
        rows,
        text,
        html_report,
        thresholds,
    }))
}

/// `GET /filings/{id}/assessment/{aid}/report.html`: the self-contained HTML
/// report of a `beian assess` run, inline, to exactly those who may read the
/// filing's attachments (same store check and audit as a download), under
/// [`super::ATTACHMENT_CSP`] so that even a malicious file runs no script and
/// loads nothing. Attachments of any other type are 404 here.
pub async fn assessment_html(
    State(s): State<AppState>,
    c: Ctx,
    Path((id, aid)): Path<(i64, i64)>,
) -> WebResult {
    let u = c.require()?.clone();
    let (a, data) = s.store.get_attachment(&u, id, aid).await?;
    if a.content_type != beian_registry::attachments::HTML {
        return Err(WebError::not_found(&format!("HTML report {aid}")));
    }
    let mut res = data.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(super::ATTACHMENT_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    Ok(res)
}
