//! `/tools/law-diff`: what changed in the law between two dates (the page form of
//! `beian kb diff`): instruments in and out of force, renumbered articles, new and
//! ended obligations, changed dates of application. The strings of this page live here, in both languages.

use askama::Template;
use axum::extract::Query;
use beian_kb::KbDiff;
use serde::Deserialize;

use super::i18n::Lang;
use super::provider::classifier;
use super::{Ctx, WebResult, render};

#[derive(Deserialize, Default)]
pub struct DiffParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The page's words in the request's language.
pub struct Words {
    pub title: &'static str,
    pub lead: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub show: &'static str,
    pub date: &'static str,
    pub instrument: &'static str,
    pub obligation: &'static str,
    pub verified: &'static str,
    pub instruments_in: &'static str,
    pub instruments_out: &'static str,
    pub renumbered: &'static str,
    pub new: &'static str,
    pub ended: &'static str,
    pub rescheduled: &'static str,
    pub none: &'static str,
    pub date_secondary: &'static str,
}

const EN: Words = Words {
    title: "Changes in the law",
    lead: "What changed between two dates: instruments entering and leaving force, renumbered articles, new and ended obligations. Entries marked secondary or unconfirmed were not checked against an official text.",
    from: "From",
    to: "To",
    show: "Show changes",
    date: "Date",
    instrument: "Instrument",
    obligation: "Obligation",
    verified: "Verified",
    instruments_in: "Instruments entering into force",
    instruments_out: "Instruments leaving force",
    renumbered: "Renumbered or replaced articles",
    new: "New obligations",
    ended: "Obligations ended",
    rescheduled: "Dates of application changed",
    none: "No changes between these dates.",
    date_secondary: "date from secondary sources",
};

const ZH: Words = Words {
    title: "法律变化",
    lead: "两个日期之间的变化：施行和失效的法规、条文序号变化、新增和终止的义务。标注为二手来源或未经确认的条目未与官方文本核对。",
    from: "起始日期",
    to: "截止日期",
    show: "查看变化",
    date: "日期",
    instrument: "法规",
    obligation: "义务",
    verified: "核实程度",
    instruments_in: "施行的法规",
    instruments_out: "失效或被取代的法规",
    renumbered: "条文序号变化或被取代",
    new: "新增义务",
    ended: "终止的义务",
    rescheduled: "适用日期变更",
    none: "两个日期之间没有变化。",
    date_secondary: "日期来自二手来源",
};

/// One row of a table on the page.
pub struct Row {
    pub date: String,
    /// (text, is it a citation or identifier: data shown as is, not interface text)
    pub cells: Vec<(String, bool)>,
    pub verified: String,
}

#[derive(Template)]
#[template(path = "law_diff.html")]
struct DiffPage {
    c: Ctx,
    w: &'static Words,
    from: String,
    to: String,
    error: Option<String>,
    sections: Vec<(&'static str, Vec<Row>)>,
    empty: bool,
}

fn verified_word(v: &str, zh: bool) -> String {
    match (v, zh) {
        ("confirmed", true) => "已确认".into(),
        ("secondary", true) => "二手来源".into(),
        ("unconfirmed", true) => "未经确认".into(),
        (v, _) => v.to_string(),
    }
}

fn article(a: &str, zh: bool) -> String {
    let lang = if zh {
        beian_classify::Lang::Zh
    } else {
        beian_classify::Lang::En
    };
    beian_classify::article_label(a, lang)
}

fn sections(d: &KbDiff, w: &'static Words, zh: bool) -> Vec<(&'static str, Vec<Row>)> {
    let pick = |en: &str, z: &str| if zh { z.to_string() } else { en.to_string() };
    let inst = |v: &[beian_kb::InstrumentChange]| -> Vec<Row> {
        v.iter()
            .map(|i| Row {
                date: i.date.clone(),
                cells: vec![
                    (i.id.clone(), true),
                    // an instrument's title is a name (foreign ones keep their original in brackets)
                    (pick(&i.en, &i.zh), true),
                    (i.source.clone(), true),
                ],
                verified: verified_word(&i.verified, zh),
            })
            .collect()
    };
    let obl = |v: &[beian_kb::ObligationChange]| -> Vec<Row> {
        v.iter()
            .map(|o| {
                let flag = if o.date_verified.as_deref() == Some("secondary") {
                    format!(" ({})", w.date_secondary)
                } else {
                    String::new()
                };
                Row {
                    date: format!("{}{flag}", o.date),
                    cells: vec![
                        (o.regime.clone(), true),
                        (
                            format!("{} {}", o.instrument, article(&o.article, zh)),
                            true,
                        ),
                        (pick(&o.title_en, &o.title_zh), false),
                    ],
                    verified: verified_word(&o.verified, zh),
                }
            })
            .collect()
    };
    let ren: Vec<Row> = d
        .renumbered
        .iter()
        .map(|r| Row {
            date: r.date.clone(),
            cells: vec![
                (r.regime.clone(), true),
                (
                    format!(
                        "{} {} → {} {}",
                        r.from_instrument,
                        article(&r.from_article, zh),
                        r.to_instrument,
                        article(&r.to_article, zh)
                    ),
                    true,
                ),
                (pick(&r.title_en, &r.title_zh), false),
            ],
            verified: verified_word(&r.verified, zh),
        })
        .collect();
    let resched: Vec<Row> = d
        .rescheduled
        .iter()
        .map(|r| {
            let flag = if r.date_verified.as_deref() == Some("secondary") {
                format!(" ({})", w.date_secondary)
            } else {
                String::new()
            };
            Row {
                date: r.date.clone(),
                cells: vec![
                    (format!("{} {}", r.regime, r.id), true),
                    (
                        format!(
                            "{} {}: {} → {}{flag} ({})",
                            r.instrument,
                            article(&r.article, zh),
                            r.old_from,
                            r.new_from,
                            r.by
                        ),
                        true,
                    ),
                    (pick(&r.title_en, &r.title_zh), false),
                ],
                verified: verified_word(r.date_verified.as_deref().unwrap_or("confirmed"), zh),
            }
        })
        .collect();
    vec![
        (w.instruments_in, inst(&d.instruments_in)),
        (w.instruments_out, inst(&d.instruments_out)),
        (w.renumbered, ren),
        (w.new, obl(&d.obligations_new)),
        (w.ended, obl(&d.obligations_ended)),
        (w.rescheduled, resched),
    ]
}

/// `GET /tools/law-diff?from=YYYY-MM-DD&to=YYYY-MM-DD` (defaults: a year ago to today).
pub async fn diff(c: Ctx, Query(p): Query<DiffParams>) -> WebResult {
    let zh = c.lang == Lang::Zh;
    let w: &'static Words = if zh { &ZH } else { &EN };
    let today = chrono::Utc::now().date_naive();
    let to =
        p.to.filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| today.to_string());
    let from = p.from.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| {
        today
            .checked_sub_months(chrono::Months::new(12))
            .unwrap_or(today)
            .to_string()
    });
    let cls = classifier()?;
    let (sections, error) = match cls.kb().diff(from.trim(), to.trim()) {
        Ok(d) => (sections(&d, w, zh), None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let empty = error.is_none() && sections.iter().all(|(_, v)| v.is_empty());
    Ok(render(&DiffPage {
        c,
        w,
        from,
        to,
        error,
        sections,
        empty,
    }))
}
