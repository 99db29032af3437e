//! What changed in the law between two dates: instruments entering and leaving force,
//! renumbered articles (a new version that `replaces` an old one), new and ended duties.
//!
//! ```
//! let kb = beian_kb::Kb::embedded().unwrap();
//! let d = kb.diff("2025-06-01", "2026-06-01").unwrap();
//! assert!(d.instruments_in.iter().any(|i| i.id == "CSL-2025"));
//! assert!(d.renumbered.iter().any(|r| r.from_article == "21" && r.to_article == "23"));
//! ```

use serde::Serialize;

use crate::{Kb, KbError};

/// An instrument entering or leaving force between the two dates.
#[derive(Debug, Clone, Serialize)]
pub struct InstrumentChange {
    pub id: String,
    pub zh: String,
    pub en: String,
    pub status: String,
    /// The day it took effect (`in`) or the day after its last day (`out`).
    pub date: String,
    pub source: String,
    pub verified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// A duty cited under a new article number from a date.
#[derive(Debug, Clone, Serialize)]
pub struct Renumbering {
    pub regime: String,
    pub from_id: String,
    pub to_id: String,
    pub from_instrument: String,
    pub from_article: String,
    pub to_instrument: String,
    pub to_article: String,
    pub date: String,
    pub title_en: String,
    pub title_zh: String,
    pub verified: String,
}

/// A duty entering into force or ending between the two dates.
#[derive(Debug, Clone, Serialize)]
pub struct ObligationChange {
    pub regime: String,
    pub id: String,
    pub instrument: String,
    pub article: String,
    pub title_en: String,
    pub title_zh: String,
    pub date: String,
    pub source: String,
    pub verified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_verified: Option<String>,
}

/// A duty whose date of application an amending instrument changed, the day that
/// instrument took effect (the EU AI Act's high-risk dates, deferred by the Omnibus).
#[derive(Debug, Clone, Serialize)]
pub struct Rescheduling {
    pub regime: String,
    pub id: String,
    pub instrument: String,
    pub article: String,
    pub title_en: String,
    pub title_zh: String,
    /// The day the amending instrument took effect.
    pub date: String,
    /// The amending instrument.
    pub by: String,
    /// The date of application before, and after.
    pub old_from: String,
    pub new_from: String,
    /// How well the new date is established.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_verified: Option<String>,
}

/// The changes between `from` (exclusive) and `to` (inclusive).
#[derive(Debug, Clone, Serialize)]
pub struct KbDiff {
    pub from: String,
    pub to: String,
    pub instruments_in: Vec<InstrumentChange>,
    pub instruments_out: Vec<InstrumentChange>,
    pub renumbered: Vec<Renumbering>,
    /// New duties (not a renumbering of an earlier one).
    pub obligations_new: Vec<ObligationChange>,
    /// Duties that end and are not continued under a new number.
    pub obligations_ended: Vec<ObligationChange>,
    /// Duties whose date of application changed (an amending act took effect).
    pub rescheduled: Vec<Rescheduling>,
}

impl KbDiff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.instruments_in.is_empty()
            && self.instruments_out.is_empty()
            && self.renumbered.is_empty()
            && self.obligations_new.is_empty()
            && self.obligations_ended.is_empty()
            && self.rescheduled.is_empty()
    }
}

fn next_day(d: &str) -> String {
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.succ_opt())
        .map(|d| d.to_string())
        .unwrap_or_else(|| d.to_string())
}

impl Kb {
    /// What changed between `from` and `to` (`YYYY-MM-DD`, `from` before `to`): the
    /// entries whose in-force window starts or ends in `(from, to]`.
    pub fn diff(&self, from: &str, to: &str) -> Result<KbDiff, KbError> {
        for d in [from, to] {
            if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                return Err(KbError::invalid(
                    "kb diff",
                    format!("{d:?} is not a YYYY-MM-DD date"),
                ));
            }
        }
        if from > to {
            return Err(KbError::invalid(
                "kb diff",
                format!("--from {from} is after --to {to}"),
            ));
        }
        let within = |d: &str| from < d && d <= to;
        let mut out = KbDiff {
            from: from.into(),
            to: to.into(),
            instruments_in: Vec::new(),
            instruments_out: Vec::new(),
            renumbered: Vec::new(),
            obligations_new: Vec::new(),
            obligations_ended: Vec::new(),
            rescheduled: Vec::new(),
        };
        for i in &self.instruments {
            let change = |date: String| InstrumentChange {
                id: i.id.clone(),
                zh: i.zh.clone(),
                en: i.en.clone(),
                status: i.status.clone(),
                date,
                source: i.source.clone(),
                verified: i.verified.clone(),
                replaces: i.replaces.clone(),
            };
            if let Some(f) = &i.in_force_from
                && within(f)
            {
                out.instruments_in.push(change(f.clone()));
            }
            if let Some(u) = &i.in_force_until
                && within(&next_day(u))
            {
                out.instruments_out.push(change(next_day(u)));
            }
        }
        for r in &self.regimes {
            for o in &r.obligations {
                let change = |date: String| ObligationChange {
                    regime: r.meta.id.clone(),
                    id: o.id.clone(),
                    instrument: o.instrument.clone(),
                    article: o.article.clone(),
                    title_en: o.title_en.clone(),
                    title_zh: o.title_zh.clone(),
                    date,
                    source: o.source.clone(),
                    verified: o.verified.clone(),
                    date_verified: o.date_verified.clone(),
                };
                if let (Some(by), Some(old), Some(new)) =
                    (&o.date_set_by, &o.in_force_from_before, &o.in_force_from)
                    && let Some(day) = self.instrument(by).and_then(|i| i.in_force_from.clone())
                    && within(&day)
                    && old != new
                {
                    out.rescheduled.push(Rescheduling {
                        regime: r.meta.id.clone(),
                        id: o.id.clone(),
                        instrument: o.instrument.clone(),
                        article: o.article.clone(),
                        title_en: o.title_en.clone(),
                        title_zh: o.title_zh.clone(),
                        date: day,
                        by: by.clone(),
                        old_from: old.clone(),
                        new_from: new.clone(),
                        date_verified: o.date_verified.clone(),
                    });
                }
                if let Some(f) = &o.in_force_from
                    && within(f)
                {
                    match o.replaces.as_deref().and_then(|p| r.obligation(p)) {
                        Some(old) => out.renumbered.push(Renumbering {
                            regime: r.meta.id.clone(),
                            from_id: old.id.clone(),
                            to_id: o.id.clone(),
                            from_instrument: old.instrument.clone(),
                            from_article: old.article.clone(),
                            to_instrument: o.instrument.clone(),
                            to_article: o.article.clone(),
                            date: f.clone(),
                            title_en: o.title_en.clone(),
                            title_zh: o.title_zh.clone(),
                            verified: o.verified.clone(),
                        }),
                        None => out.obligations_new.push(change(f.clone())),
                    }
                }
                if let Some(u) = &o.in_force_until
                    && within(&next_day(u))
                    && !r
                        .obligations
                        .iter()
                        .any(|n| n.replaces.as_deref() == Some(o.id.as_str()))
                {
                    out.obligations_ended.push(change(next_day(u)));
                }
            }
        }
        out.instruments_in
            .sort_by(|a, b| (&a.date, &a.id).cmp(&(&b.date, &b.id)));
        out.instruments_out
            .sort_by(|a, b| (&a.date, &a.id).cmp(&(&b.date, &b.id)));
        out.renumbered
            .sort_by(|a, b| (&a.date, &a.regime).cmp(&(&b.date, &b.regime)));
        out.obligations_new
            .sort_by(|a, b| (&a.date, &a.regime).cmp(&(&b.date, &b.regime)));
        out.obligations_ended
            .sort_by(|a, b| (&a.date, &a.regime).cmp(&(&b.date, &b.regime)));
        out.rescheduled
            .sort_by(|a, b| (&a.date, &a.new_from).cmp(&(&b.date, &b.new_from)));
        Ok(out)
    }
}
