//! Human-readable renderings of a [`Report`]: grouped text for terminals, Markdown
//! for documents. JSON is `serde_json` of the report itself.

use std::fmt::Write;

use crate::compare::article;
use crate::{Lang, Report};

struct Words {
    regime: &'static str,
    tier: &'static str,
    categories: &'static str,
    negative_list: &'static str,
    filings: &'static str,
    obligations: &'static str,
    notes: &'static str,
    why: &'static str,
    source: &'static str,
    deadline: &'static str,
    due: &'static str,
    authority: &'static str,
    unconfirmed: &'static str,
    assumed: &'static str,
    none: &'static str,
    compare: &'static str,
    theme: &'static str,
}

const EN: Words = Words {
    regime: "Regime",
    tier: "Tier",
    categories: "Categories",
    negative_list: "Negative list",
    filings: "Filings",
    obligations: "Obligations",
    notes: "Notes",
    why: "why",
    source: "source",
    deadline: "deadline",
    due: "due",
    authority: "authority",
    unconfirmed: "UNCONFIRMED citation",
    assumed: "Assumed (absent from the profile, defaults used)",
    none: "none",
    compare: "Comparison by theme",
    theme: "Theme",
};

const ZH: Words = Words {
    regime: "规则体系",
    tier: "分级",
    categories: "类别",
    negative_list: "负面清单",
    filings: "备案",
    obligations: "义务",
    notes: "说明",
    why: "依据事实",
    source: "出处",
    deadline: "期限",
    due: "截止日期",
    authority: "主管部门",
    unconfirmed: "条文未经确认",
    assumed: "缺省项（档案未填写，采用默认值）",
    none: "无",
    compare: "按主题比较",
    theme: "主题",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
    }
}

/// Plain text, grouped by regime and instrument.
pub fn render_text(report: &Report, lang: Lang) -> String {
    let w = words(lang);
    let mut s = String::new();
    let _ = writeln!(s, "{} ({})", report.profile.name, report.profile.origin);
    for r in &report.results {
        let _ = writeln!(
            s,
            "\n== {}: {} [{}] ({})",
            w.regime, r.regime_name, r.regime, r.regime_status
        );
        let _ = writeln!(s, "{}: {} ({})", w.tier, r.tier_label, r.tier);
        if !r.category_labels.is_empty() {
            let cats: Vec<&str> = r.category_labels.iter().map(|c| c.label.as_str()).collect();
            let _ = writeln!(s, "{}: {}", w.categories, cats.join("; "));
        }
        if let Some(n) = &r.negative_list {
            let flag = if n.unconfirmed { " (unconfirmed)" } else { "" };
            let _ = writeln!(
                s,
                "{}: {}{}{}",
                w.negative_list,
                n.status,
                flag,
                facts_suffix(&n.facts)
            );
        }
        let _ = writeln!(s, "\n{} ({}):", w.filings, r.filings.len());
        if r.filings.is_empty() {
            let _ = writeln!(s, "  {}", w.none);
        }
        for f in &r.filings {
            let _ = writeln!(
                s,
                "  * {} [{}, {}] {}",
                f.kind, f.authority, f.basis, f.title
            );
            let _ = writeln!(s, "      {}: {}", w.authority, f.authority_detail);
            let _ = writeln!(s, "      {}: {}", w.deadline, f.deadline);
            if let Some(d) = &f.due_date {
                let _ = writeln!(s, "      {}: {d}", w.due);
            }
            if let Some(e) = &f.due_date_error {
                let _ = writeln!(s, "      {}: ({e})", w.due);
            }
            let _ = writeln!(s, "      {}: {}", w.why, f.reason);
            let _ = writeln!(
                s,
                "      {}: {}{}",
                w.source,
                f.source,
                flag(&f.verified, w)
            );
        }
        let _ = writeln!(s, "\n{} ({}):", w.obligations, r.obligations.len());
        if r.obligations.is_empty() {
            let _ = writeln!(s, "  {}", w.none);
        }
        let mut last = "";
        for o in &r.obligations {
            if o.instrument != last {
                let _ = writeln!(s, "  {}", o.instrument);
                last = &o.instrument;
            }
            let _ = writeln!(
                s,
                "  * [{}] {}{}",
                article(&o.article),
                o.title,
                flag(&o.verified, w)
            );
            let _ = writeln!(s, "      {}", o.duty);
            let _ = writeln!(s, "      {}: {}", w.why, o.reason);
            let _ = writeln!(
                s,
                "      {}: {} | {}: {}",
                w.deadline, o.deadline, w.authority, o.authority
            );
            let _ = writeln!(s, "      {}: {}", w.source, o.source);
            if let Some(n) = &o.note {
                let _ = writeln!(s, "      note: {n}");
            }
        }
        if !r.notes.is_empty() {
            let _ = writeln!(s, "\n{}:", w.notes);
            for n in &r.notes {
                let _ = writeln!(s, "  * {}{} [{}]", n.text, flag(&n.verified, w), n.source);
            }
        }
    }
    if let Some(c) = &report.comparison {
        let _ = writeln!(s, "\n== {}", w.compare);
        let _ = writeln!(s, "{}:", w.tier);
        for (r, t) in c.regimes.iter().zip(&c.tiers) {
            let _ = writeln!(s, "  {r:<20} {t}");
        }
        let _ = writeln!(s, "{}:", w.filings);
        for (r, f) in c.regimes.iter().zip(&c.filings) {
            let f = if f.is_empty() {
                w.none.to_string()
            } else {
                f.join("; ")
            };
            let _ = writeln!(s, "  {r:<20} {f}");
        }
        for row in &c.rows {
            let mark = if row.differs { " *" } else { "" };
            let _ = writeln!(s, "{}: {}{}", w.theme, row.theme, mark);
            for (r, cell) in c.regimes.iter().zip(&row.cells) {
                let text = if cell.is_empty() {
                    "-".to_string()
                } else {
                    cell.join("; ")
                };
                let _ = writeln!(s, "  {r:<20} {text}");
            }
        }
    }
    if !report.profile.assumed.is_empty() {
        let _ = writeln!(s, "\n{}: {}", w.assumed, report.profile.assumed.join(", "));
    }
    s
}

/// Markdown, with tables a lawyer can review line by line.
pub fn render_markdown(report: &Report, lang: Lang) -> String {
    let w = words(lang);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {}\n\n_{}_\n",
        md(&report.profile.name),
        md(&report.profile.origin)
    );
    for r in &report.results {
        let _ = writeln!(
            s,
            "## {} (`{}`, {})\n",
            md(&r.regime_name),
            r.regime,
            r.regime_status
        );
        let _ = writeln!(s, "- **{}**: {} (`{}`)", w.tier, md(&r.tier_label), r.tier);
        if !r.category_labels.is_empty() {
            let cats: Vec<String> = r.category_labels.iter().map(|c| md(&c.label)).collect();
            let _ = writeln!(s, "- **{}**: {}", w.categories, cats.join("; "));
        }
        if let Some(n) = &r.negative_list {
            let _ = writeln!(
                s,
                "- **{}**: {}{}{}",
                w.negative_list,
                n.status,
                if n.unconfirmed { " (unconfirmed)" } else { "" },
                facts_suffix(&n.facts)
            );
        }
        let _ = writeln!(s, "\n### {}\n", w.filings);
        if r.filings.is_empty() {
            let _ = writeln!(s, "{}\n", w.none);
        } else {
            let _ = writeln!(
                s,
                "| kind | authority | {} | basis | {} |\n|---|---|---|---|---|",
                w.deadline, w.why
            );
            for f in &r.filings {
                let due = f
                    .due_date
                    .as_ref()
                    .map(|d| format!(" ({}: {d})", w.due))
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "| {} | {} | {}{} | {}{} | {} |",
                    f.kind,
                    f.authority,
                    md(&f.deadline),
                    due,
                    f.basis,
                    flag(&f.verified, w),
                    md(&f.reason)
                );
            }
            s.push('\n');
        }
        let _ = writeln!(s, "### {}\n", w.obligations);
        if r.obligations.is_empty() {
            let _ = writeln!(s, "{}\n", w.none);
        } else {
            let _ = writeln!(
                s,
                "| id | instrument | article | title | {} | {} |\n|---|---|---|---|---|---|",
                w.why, w.source
            );
            for o in &r.obligations {
                let _ = writeln!(
                    s,
                    "| `{}` | {} | {}{} | {} | {} | {} |",
                    o.id,
                    o.instrument,
                    md(&o.article),
                    flag(&o.verified, w),
                    md(&o.title),
                    md(&o.reason),
                    md(&o.source)
                );
            }
            s.push('\n');
        }
        if !r.notes.is_empty() {
            let _ = writeln!(s, "### {}\n", w.notes);
            for n in &r.notes {
                let _ = writeln!(
                    s,
                    "- {}{} ({})",
                    md(&n.text),
                    flag(&n.verified, w),
                    md(&n.source)
                );
            }
            s.push('\n');
        }
    }
    if let Some(c) = &report.comparison {
        let _ = writeln!(s, "## {}\n", w.compare);
        let _ = writeln!(s, "| {} | {} |", w.theme, c.regimes.join(" | "));
        let _ = writeln!(s, "|---|{}", "---|".repeat(c.regimes.len()));
        let _ = writeln!(
            s,
            "| {} | {} |",
            w.tier,
            c.tiers
                .iter()
                .map(|t| md(t))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(
            s,
            "| {} | {} |",
            w.filings,
            c.filings
                .iter()
                .map(|f| if f.is_empty() {
                    "-".into()
                } else {
                    md(&f.join("<br>"))
                })
                .collect::<Vec<_>>()
                .join(" | ")
        );
        for row in &c.rows {
            let cells: Vec<String> = row
                .cells
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        "-".into()
                    } else {
                        md(&c.join("<br>"))
                    }
                })
                .collect();
            let _ = writeln!(
                s,
                "| {}{} | {} |",
                row.theme,
                if row.differs { " *" } else { "" },
                cells.join(" | ")
            );
        }
        s.push('\n');
    }
    if !report.profile.assumed.is_empty() {
        let _ = writeln!(s, "_{}: {}_", w.assumed, report.profile.assumed.join(", "));
    }
    s
}

fn flag(verified: &str, w: &Words) -> String {
    if verified == "unconfirmed" {
        format!(" [{}]", w.unconfirmed)
    } else {
        String::new()
    }
}

fn facts_suffix(facts: &[String]) -> String {
    if facts.is_empty() {
        String::new()
    } else {
        format!(" ({})", facts.join(", "))
    }
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
