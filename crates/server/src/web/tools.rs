//! Tools: the screening playground, the regime comparison, and the
//! assessment-run viewer.
//!
//! The playground's lexicon is the file named by `BEIAN_PLAYGROUND_LEXICON`
//! (plain or TSV `term<TAB>risk`, as `beian scan` reads), else the small
//! built-in demo list `static/demo-lexicon.tsv`; the engine's built-in
//! detectors (ID card, mobile, ...) are on.

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
        let engine = b.build().map_err(|e| e.to_string())?;
        Ok(Screener {
            engine,
            source: name,
            terms,
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
            c,
        };
        return Ok((StatusCode::PAYLOAD_TOO_LARGE, render(&page)).into_response());
    }
    let (segments, hits) = segments(&c, &text, &s.engine);
    Ok(render(&ScreenPage {
        c,
        text,
        segments,
        hits,
        ran: true,
        source: s.source.clone(),
        terms: s.terms,
        error: None,
    }))
}

// ------------------------------------------------------------------ compare

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
    examples: Vec<&'static str>,
    example: String,
    services: Vec<(i64, String)>,
    cmp: Option<Comparison>,
    names: Vec<String>,
    error: Option<String>,
}

/// Example profiles shipped in the repository's `examples/` (TOML ones).
const EXAMPLES: &[(&str, &str)] = &[
    (
        "public-chatbot",
        include_str!("../../../../examples/public-chatbot.toml"),
    ),
    (
        "filed-model-app",
        include_str!("../../../../examples/filed-model-app.toml"),
    ),
    (
        "face-swap-app",
        include_str!("../../../../examples/face-swap-app.toml"),
    ),
    (
        "frontier-model-api",
        include_str!("../../../../examples/frontier-model-api.toml"),
    ),
    (
        "tutoring-minors",
        include_str!("../../../../examples/tutoring-minors.toml"),
    ),
];

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
        let sv = s.store.get_service(&u, id).await?;
        title = sv.name.clone();
        profile = Some(sv.profile);
    } else if let Some(ex) = p.example.as_deref().filter(|x| !x.is_empty()) {
        let (name, text) = EXAMPLES
            .iter()
            .find(|(n, _)| *n == ex)
            .ok_or_else(|| WebError::not_found("example profile"))?;
        let schema = cls.kb().profile_schema();
        match beian_kb::Profile::from_text(
            text,
            beian_kb::ProfileFormat::Toml,
            &format!("examples/{name}.toml"),
            schema,
        ) {
            Ok(pr) => {
                title = (*name).to_string();
                profile = Some(pr.to_json());
            }
            Err(e) => error = Some(e.to_string()),
        }
    }
    let mut cmp = None;
    if let Some(pv) = profile {
        match classify_value(&pv, &title, &regimes, clang(&c), true) {
            Ok(r) => cmp = r.comparison,
            Err(e) => error = Some(e),
        }
    }
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
    let page = ComparePage {
        c,
        title,
        examples: EXAMPLES.iter().map(|e| e.0).collect(),
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
    if let Ok(cls) = classifier() {
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
                        "{:?} {}{}",
                        t.kind,
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
