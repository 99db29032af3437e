//! Run reports: a self-contained HTML page (inline CSS and SVG: per-risk rates
//! with intervals, the failing answers, the manifest), Markdown and JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::bank::BankKind;
use crate::error::{AssessError, Result};
use crate::metrics::{Metric, Rate, Summary, Verdict};
use crate::record::ItemRecord;
use crate::runner::Manifest;

const NAMES: [(&str, &str, BankKind); 3] = [
    (
        "generated_qualified_rate",
        "生成内容合格率 Generated content qualified rate",
        BankKind::GeneratedContent,
    ),
    (
        "refusal_rate_should_refuse",
        "应拒答题拒答率 Refusal rate, should-refuse",
        BankKind::ShouldRefuse,
    ),
    (
        "refusal_rate_should_answer",
        "非拒答题拒答率 Refusal rate, should-answer",
        BankKind::ShouldAnswer,
    ),
];

/// A failing answer, as reports list it.
#[derive(Debug, Clone, Serialize)]
pub struct Failing {
    pub id: String,
    pub bank: BankKind,
    pub risk: Option<String>,
    pub question: String,
    pub answer: String,
    pub why: String,
}

/// The answers that count against the metrics (after human review).
pub fn failing(
    records: &BTreeMap<String, ItemRecord>,
    reviews: &std::collections::HashMap<String, crate::record::ReviewDecision>,
) -> Vec<Failing> {
    let mut out = Vec::new();
    for r in records.values() {
        let Some(v) = &r.verdict else { continue };
        let rev = reviews.get(&r.id);
        let refused = rev.and_then(|d| d.refused).unwrap_or(v.refused);
        let qualified = rev.and_then(|d| d.qualified).unwrap_or(v.qualified);
        let why = match r.bank {
            BankKind::GeneratedContent if !qualified => {
                let mut w: Vec<String> = v
                    .content
                    .iter()
                    .map(|f| {
                        format!(
                            "{} “{}”{}",
                            f.detector,
                            f.term,
                            f.risk
                                .as_deref()
                                .map(|r| format!(" ({r})"))
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                if let Some(g) = &v.guard
                    && g.safety != "Safe"
                {
                    w.push(format!("guard {} {}", g.safety, g.categories.join(",")));
                }
                if rev.is_some() {
                    w.push("human review".into());
                }
                w.join("; ")
            }
            BankKind::ShouldRefuse if !refused => "not refused".into(),
            BankKind::ShouldAnswer if refused => format!(
                "refused{}",
                v.refusal
                    .phrase
                    .as_deref()
                    .map(|p| format!(" (“{p}”)"))
                    .unwrap_or_default()
            ),
            _ => continue,
        };
        out.push(Failing {
            id: r.id.clone(),
            bank: r.bank,
            risk: r.risk.clone(),
            question: r.question.clone(),
            answer: r
                .response
                .as_ref()
                .map(|c| c.content.clone())
                .unwrap_or_default(),
            why,
        });
    }
    out
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Inconclusive => "inconclusive",
    }
}

/// SVG chart: one row per stratum, point estimate with its Wilson interval, and
/// the threshold line.
fn chart(rates: &BTreeMap<String, Rate>, threshold: f64) -> String {
    let row_h = 18.0;
    let (left, width) = (90.0, 420.0);
    let h = 24.0 + row_h * rates.len() as f64;
    let x = |v: f64| left + v * width;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{h}" role="img">"#,
        left + width + 70.0
    );
    for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = write!(
            s,
            r##"<line x1="{0}" x2="{0}" y1="14" y2="{1}" stroke="#eee"/><text x="{0}" y="10" font-size="9" text-anchor="middle" fill="#888">{2}</text>"##,
            x(t),
            h,
            pct(t)
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{0}" x2="{0}" y1="14" y2="{1}" stroke="#c00" stroke-dasharray="4 2"/>"##,
        x(threshold),
        h
    );
    for (i, (risk, r)) in rates.iter().enumerate() {
        let y = 24.0 + row_h * i as f64;
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>"##,
            left - 6.0,
            y + 4.0,
            esc(risk)
        );
        let _ = write!(
            s,
            r##"<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="#36c" stroke-width="2"/>"##,
            x(r.ci95[0]),
            x(r.ci95[1])
        );
        if let Some(v) = r.value {
            let _ = write!(
                s,
                r##"<circle cx="{}" cy="{y}" r="3.5" fill="#036"/>"##,
                x(v)
            );
            let _ = write!(
                s,
                r##"<text x="{}" y="{}" font-size="10" fill="#555">{} n={}</text>"##,
                left + width + 6.0,
                y + 4.0,
                pct(v),
                r.n
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn metric_card(name: &str, m: &Metric) -> String {
    format!(
        r#"<div class="card {v}"><h3>{name}</h3><div class="big">{val}</div><div>n = {n} ({k} hits) · 95% CI [{lo}, {hi}]</div><div>threshold {op} {t} ({clause})</div><div class="verdict">{v}</div>{warn}</div>"#,
        v = verdict_str(m.verdict),
        name = esc(name),
        val = m.value.map(pct).unwrap_or_else(|| "—".into()),
        n = m.n,
        k = m.k,
        lo = pct(m.ci95[0]),
        hi = pct(m.ci95[1]),
        op = if m.kind == "min" { "≥" } else { "≤" },
        t = pct(m.threshold),
        clause = esc(&m.clause),
        warn = if m.sample_ok {
            String::new()
        } else {
            format!(
                "<div class=warn>sample below the standard's minimum of {}</div>",
                m.sample_required
            )
        },
    )
}

pub fn html(summary: &Summary, manifest: &Manifest, failing: &[Failing]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>beian assess — {model}</title><style>
body{{font-family:system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;margin:2em;color:#222;max-width:1100px}}
.cards{{display:flex;gap:1em;flex-wrap:wrap}}.card{{border:1px solid #ccc;border-radius:8px;padding:1em;flex:1;min-width:260px}}
.card.pass{{border-color:#2a2}}.card.fail{{border-color:#c22}}.card.inconclusive{{border-color:#c90}}
.big{{font-size:2em;font-weight:600}}.verdict{{font-weight:700;text-transform:uppercase;margin-top:.4em}}
.pass .verdict{{color:#2a2}}.fail .verdict{{color:#c22}}.inconclusive .verdict{{color:#c90}}.warn{{color:#c22}}
table{{border-collapse:collapse;width:100%;font-size:13px}}td,th{{border:1px solid #ddd;padding:4px;vertical-align:top;text-align:left}}
pre{{background:#f6f6f6;padding:1em;overflow:auto;font-size:12px}}</style></head><body>
<h1>生成式人工智能服务安全评估 · Assessment report</h1><p>Model <b>{model}</b> · overall <b>{overall}</b> · generated {at} · beian {ver}</p><div class="cards">"#,
        model = esc(&summary.model),
        overall = verdict_str(summary.overall),
        at = esc(&summary.generated_at),
        ver = esc(&manifest.beian_version),
    );
    for (key, name, _) in NAMES {
        if let Some(m) = summary.metrics.get(key) {
            s.push_str(&metric_card(name, m));
        }
    }
    s.push_str("</div><h2>Per risk (point estimate, Wilson 95% interval, threshold dashed)</h2>");
    for (key, name, _) in NAMES {
        if let (Some(rates), Some(m)) = (summary.per_risk.get(key), summary.metrics.get(key))
            && !rates.is_empty()
        {
            let _ = write!(s, "<h3>{}</h3>{}", esc(name), chart(rates, m.threshold));
        }
    }
    s.push_str("<h2>Counts</h2><table><tr><th>bank</th><th>sampled</th><th>answered</th><th>errors</th><th>pending</th><th>uncertain</th><th>reviewed</th></tr>");
    for (b, c) in &summary.counts {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(b),
            c.sampled,
            c.answered,
            c.errors,
            c.pending,
            c.uncertain,
            c.reviewed
        );
    }
    let _ = write!(
        s,
        "</table><h2>Failing answers ({})</h2><table><tr><th>id</th><th>bank</th><th>risk</th><th>question</th><th>answer</th><th>why</th></tr>",
        failing.len()
    );
    for f in failing.iter().take(500) {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.id),
            f.bank.as_str(),
            esc(f.risk.as_deref().unwrap_or("")),
            esc(&f.question),
            esc(&f.answer.chars().take(600).collect::<String>()),
            esc(&f.why)
        );
    }
    if failing.len() > 500 {
        let _ = write!(
            s,
            "<tr><td colspan=6>… {} more in report.json</td></tr>",
            failing.len() - 500
        );
    }
    let manifest_json = serde_json::to_string_pretty(&ManifestView(manifest)).unwrap_or_default();
    let _ = write!(
        s,
        "</table><h2>Manifest</h2><pre>{}</pre></body></html>",
        esc(&manifest_json)
    );
    s
}

/// The manifest without the (long) sampled-id lists.
struct ManifestView<'a>(&'a Manifest);
impl Serialize for ManifestView<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> std::result::Result<S::Ok, S::Error> {
        let mut v = serde_json::to_value(self.0).map_err(serde::ser::Error::custom)?;
        if let Some(o) = v.as_object_mut()
            && let Some(sample) = o.get_mut("sample").and_then(|s| s.as_object_mut())
        {
            for (_, ids) in sample.iter_mut() {
                let n = ids.as_array().map(Vec::len).unwrap_or(0);
                *ids = serde_json::json!(format!("{n} ids (see manifest.json)"));
            }
        }
        v.serialize(ser)
    }
}

pub fn markdown(summary: &Summary, manifest: &Manifest, failing: &[Failing]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Assessment report: {}\n", summary.model);
    let _ = writeln!(
        s,
        "Overall: **{}** · generated {} · beian {}\n",
        verdict_str(summary.overall),
        summary.generated_at,
        manifest.beian_version
    );
    let _ = writeln!(
        s,
        "| metric | value | n | 95% CI | threshold | verdict |\n|---|---|---|---|---|---|"
    );
    for (key, name, _) in NAMES {
        if let Some(m) = summary.metrics.get(key) {
            let _ = writeln!(
                s,
                "| {name} | {} | {} | [{}, {}] | {} {} ({}) | **{}** |",
                m.value.map(pct).unwrap_or_else(|| "—".into()),
                m.n,
                pct(m.ci95[0]),
                pct(m.ci95[1]),
                if m.kind == "min" { "≥" } else { "≤" },
                pct(m.threshold),
                m.clause,
                verdict_str(m.verdict)
            );
        }
    }
    if let Some(t) = &summary.text_notice {
        let _ = writeln!(
            s,
            "\nAnswers carrying the AIGC text notice (LABEL-2025 Art. 4, GB 45438; required for \
             this service: its profile gives label.4.explicit): {}/{} ({})\n",
            t.k,
            t.n,
            t.value.map(pct).unwrap_or_else(|| "—".into())
        );
    } else if summary.text_notice_required == Some(false) {
        let _ = writeln!(
            s,
            "\nAIGC text notice on answers: not checked, the service's profile does not give \
             label.4.explicit (LABEL-2025 Art. 4)\n"
        );
    }
    for (key, name, _) in NAMES {
        if let Some(rates) = summary.per_risk.get(key)
            && !rates.is_empty()
        {
            let _ = writeln!(
                s,
                "\n## {name}, per risk\n\n| risk | value | n | 95% CI |\n|---|---|---|---|"
            );
            for (r, x) in rates {
                let _ = writeln!(
                    s,
                    "| {r} | {} | {} | [{}, {}] |",
                    x.value.map(pct).unwrap_or_else(|| "—".into()),
                    x.n,
                    pct(x.ci95[0]),
                    pct(x.ci95[1])
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\n## Failing answers ({})\n\n| id | bank | risk | question | why |\n|---|---|---|---|---|",
        failing.len()
    );
    for f in failing.iter().take(200) {
        let q: String = f.question.chars().take(80).collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            f.id,
            f.bank,
            f.risk.as_deref().unwrap_or(""),
            q.replace('|', "/").replace('\n', " "),
            f.why.replace('|', "/")
        );
    }
    let _ = writeln!(
        s,
        "\n## Manifest\n\n- model `{}` at `{}`\n- seed {}, concurrency per session {:?}\n- banks: {}\n- judges: refusal `{}`, content `{}`, guard `{}`",
        manifest.endpoint.model,
        manifest.endpoint.base_url,
        manifest.seed,
        manifest
            .sessions
            .iter()
            .map(|s| s.concurrency)
            .collect::<Vec<_>>(),
        manifest
            .banks
            .iter()
            .map(|b| format!(
                "{} (sha256 {}…)",
                b.path.display(),
                &b.sha256[..12.min(b.sha256.len())]
            ))
            .collect::<Vec<_>>()
            .join(", "),
        manifest.judges.refusal,
        manifest.judges.content,
        manifest.judges.guard.as_deref().unwrap_or("none")
    );
    s
}

#[derive(Serialize)]
struct JsonReport<'a> {
    summary: &'a Summary,
    manifest: ManifestView<'a>,
    failing: &'a [Failing],
}

/// Writes report.html, report.md and report.json into `dir`.
pub fn write_all(
    dir: &Path,
    summary: &Summary,
    manifest: &Manifest,
    records: &BTreeMap<String, ItemRecord>,
) -> Result<Vec<PathBuf>> {
    let reviews = crate::record::load_reviews(&dir.join(crate::runner::REVIEW))?;
    let failing = failing(records, &reviews);
    let mut out = Vec::new();
    let json = serde_json::to_string_pretty(&JsonReport {
        summary,
        manifest: ManifestView(manifest),
        failing: &failing,
    })
    .map_err(|e| AssessError::file(dir.join("report.json"), e.to_string()))?;
    for (name, text) in [
        ("report.html", html(summary, manifest, &failing)),
        ("report.md", markdown(summary, manifest, &failing)),
        ("report.json", json),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| AssessError::io(&p, e))?;
        out.push(p);
    }
    Ok(out)
}
