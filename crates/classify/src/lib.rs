//! Classify an AI service: which filings and obligations apply under each regime,
//! why (the profile facts that triggered them) and where the law says so.
//!
//! The rules are data: each regime's Rego policy (evaluated with [`regorus`]) decides
//! which entries of the knowledge base apply; this crate joins those decisions with
//! the entries' metadata and citations. Classification is a pure function of
//! `(profile, knowledge-base version)`: no IO, no clock.
//!
//! ```
//! use beian_classify::{Classifier, Lang};
//! use beian_kb::{Profile, ProfileFormat};
//!
//! let c = Classifier::embedded().unwrap();
//! let text = r#"
//! name = "chatbot"
//! public_facing = true
//! generative = true
//! public_opinion_attributes = true
//! model_source = "self-developed"
//! "#;
//! let p = Profile::from_text(text, ProfileFormat::Toml, "inline", c.kb().profile_schema()).unwrap();
//! let report = c.classify(&p, &["cn-current"], Lang::En).unwrap();
//! assert!(report.results[0].filings.iter().any(|f| f.kind == "genai-filing"));
//! ```

mod compare;
mod render;

use std::collections::BTreeSet;

use beian_kb::{Kb, KbError, Profile, Regime};
use chrono::NaiveDate;
use serde::Serialize;

pub use compare::{Comparison, ThemeRow};
pub use render::{render_markdown, render_text};

/// Output language of titles and reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

/// Errors from preparing or evaluating the rule packs.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error(transparent)]
    Kb(#[from] KbError),
    #[error("unknown regime `{id}` (known: {known})")]
    UnknownRegime { id: String, known: String },
    #[error("policy {path} of regime {regime} does not compile: {message}")]
    Policy {
        regime: String,
        path: String,
        message: String,
    },
    #[error("evaluating regime {regime}: {message}")]
    Eval { regime: String, message: String },
    #[error(
        "regime {regime}: the policy emitted {what} `{id}`, which the regime's data does not define"
    )]
    UnknownId {
        regime: String,
        what: &'static str,
        id: String,
    },
}

/// A filing that applies.
#[derive(Debug, Clone, Serialize)]
pub struct Filing {
    pub kind: String,
    pub authority: String,
    pub deadline: String,
    pub basis: String,
    pub id: String,
    pub title: String,
    pub authority_detail: String,
    /// The computed due date (`launch_date` + working days), when the profile has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// Why no due date could be computed (e.g. a year outside the known calendar).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date_error: Option<String>,
    pub also: Vec<String>,
    pub reason: String,
    pub facts: Vec<String>,
    pub source: String,
    pub verified: String,
    /// In the output's language (the English note when the data has no Chinese one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The due date has passed on the as-of date (unless the filing was already made).
    pub overdue: bool,
    /// Working days after launch, when the deadline is counted from launch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_working_days: Option<u32>,
    /// First day the filing duty is cited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_force_from: Option<String>,
    /// The instrument, cited for a user: title, issuers, document number, URL.
    pub citation: String,
}

/// An obligation that applies.
#[derive(Debug, Clone, Serialize)]
pub struct Obligation {
    pub id: String,
    pub instrument: String,
    pub article: String,
    pub title: String,
    pub reason: String,
    pub source: String,
    pub title_zh: String,
    pub title_en: String,
    pub duty: String,
    pub actor: String,
    pub deadline: String,
    pub authority: String,
    pub evidence: Vec<String>,
    pub theme: String,
    pub facts: Vec<String>,
    pub verified: String,
    /// In the output's language (the English note when the data has no Chinese one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// First day this version of the duty is cited on the as-of date's law.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_force_from: Option<String>,
    /// Last day it is cited, when a later version replaces it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_force_until: Option<String>,
    /// before-launch | after-launch | on-event | ongoing.
    pub timing: String,
    /// The earlier version (id) this one replaces, e.g. after a renumbering.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// Where the dates come from, when an amending act sets them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_source: Option<String>,
    /// How well the dates are established.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_verified: Option<String>,
    /// The instrument and article, cited for a user (title, article, document number, URL).
    pub citation: String,
}

/// An obligation that applies to the profile but enters into force within 12 months of
/// the as-of date.
#[derive(Debug, Clone, Serialize)]
pub struct Upcoming {
    pub id: String,
    pub instrument: String,
    pub article: String,
    pub title: String,
    pub in_force_from: String,
    pub reason: String,
    pub facts: Vec<String>,
    pub source: String,
    pub citation: String,
    pub verified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_verified: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_source: Option<String>,
    /// The version in force now that this one replaces (a renumbering), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// That version's instrument and article, as a reader writes them
    /// (`CSL-2017 Art. 21`, `CSL-2017 第二十一条`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces_basis: Option<String>,
}

/// A label (tier or category) with its text.
#[derive(Debug, Clone, Serialize)]
pub struct Label {
    pub id: String,
    pub label: String,
    pub source: String,
}

/// An informational note.
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    pub id: String,
    pub text: String,
    pub source: String,
    pub verified: String,
    pub facts: Vec<String>,
}

/// Negative-list status, for regimes that have one.
#[derive(Debug, Clone, Serialize)]
pub struct NegativeList {
    /// `likely-listed` | `not-listed` | regime-specific.
    pub status: String,
    pub facts: Vec<String>,
    pub unconfirmed: bool,
}

/// The outcome under one regime.
#[derive(Debug, Clone, Serialize)]
pub struct RegimeResult {
    pub regime: String,
    /// The date whose law was applied (`YYYY-MM-DD`), as in [`Report::as_of`].
    pub as_of: String,
    pub regime_name: String,
    pub regime_status: String,
    pub regime_version: String,
    pub tier: String,
    pub tier_label: String,
    pub categories: Vec<String>,
    pub category_labels: Vec<Label>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_list: Option<NegativeList>,
    pub filings: Vec<Filing>,
    pub obligations: Vec<Obligation>,
    pub notes: Vec<Note>,
    /// Number of obligations and filings whose citation is flagged unconfirmed.
    pub unconfirmed: usize,
    /// Obligations that enter into force within 12 months after the as-of date.
    pub upcoming: Vec<Upcoming>,
    /// Number of filings overdue on the as-of date.
    pub overdue: usize,
}

/// What was classified.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileSummary {
    pub name: String,
    pub origin: String,
    /// Keys absent from the profile, taken at their defaults.
    pub assumed: Vec<String>,
}

/// The whole classification.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub beian_version: String,
    /// The date whose law was applied (`YYYY-MM-DD`).
    pub as_of: String,
    pub profile: ProfileSummary,
    pub results: Vec<RegimeResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
}

/// Compiled rule packs, ready to classify many profiles.
pub struct Classifier {
    kb: Kb,
    engines: Vec<(String, regorus::Engine)>,
}

impl Classifier {
    /// Prepares every regime of `kb` (compiles its Rego policies).
    pub fn new(kb: Kb) -> Result<Classifier, ClassifyError> {
        let mut engines = Vec::new();
        for r in kb.regimes() {
            let mut engine = regorus::Engine::new();
            for (path, text) in &r.policies {
                engine.add_policy(path.clone(), text.clone()).map_err(|e| {
                    ClassifyError::Policy {
                        regime: r.meta.id.clone(),
                        path: path.clone(),
                        message: e.to_string(),
                    }
                })?;
            }
            engines.push((r.meta.id.clone(), engine));
        }
        Ok(Classifier { kb, engines })
    }

    /// The embedded knowledge base, prepared.
    pub fn embedded() -> Result<Classifier, ClassifyError> {
        Classifier::new(Kb::embedded()?)
    }

    /// The knowledge base in use.
    pub fn kb(&self) -> &Kb {
        &self.kb
    }

    /// Ids of all regimes.
    pub fn regime_ids(&self) -> Vec<&str> {
        self.kb
            .regimes()
            .iter()
            .map(|r| r.meta.id.as_str())
            .collect()
    }

    /// Classifies `profile` under each regime in `regimes`, in that order, under the law
    /// in force today (UTC). See [`Classifier::classify_at`] for a given date.
    pub fn classify(
        &self,
        profile: &Profile,
        regimes: &[&str],
        lang: Lang,
    ) -> Result<Report, ClassifyError> {
        self.classify_at(profile, regimes, lang, chrono::Utc::now().date_naive())
    }

    /// Classifies `profile` under the law in force on `as_of`: each duty is cited in the
    /// version in force that day; duties entering into force within 12 months are listed
    /// as `upcoming`; filings due before `as_of` are flagged `overdue`. A pure function of
    /// (profile, knowledge base, date).
    pub fn classify_at(
        &self,
        profile: &Profile,
        regimes: &[&str],
        lang: Lang,
        as_of: NaiveDate,
    ) -> Result<Report, ClassifyError> {
        let mut results = Vec::new();
        for id in regimes {
            results.push(self.classify_one(profile, id, lang, as_of)?);
        }
        Ok(Report {
            beian_version: env!("CARGO_PKG_VERSION").to_string(),
            as_of: as_of.to_string(),
            profile: ProfileSummary {
                name: profile.name().to_string(),
                origin: profile.origin().to_string(),
                assumed: profile.assumed().to_vec(),
            },
            results,
            comparison: None,
        })
    }

    /// Like [`Classifier::classify`], adding the side-by-side comparison by theme.
    pub fn compare(
        &self,
        profile: &Profile,
        regimes: &[&str],
        lang: Lang,
    ) -> Result<Report, ClassifyError> {
        self.compare_at(profile, regimes, lang, chrono::Utc::now().date_naive())
    }

    /// Like [`Classifier::classify_at`], adding the side-by-side comparison by theme.
    pub fn compare_at(
        &self,
        profile: &Profile,
        regimes: &[&str],
        lang: Lang,
        as_of: NaiveDate,
    ) -> Result<Report, ClassifyError> {
        let mut report = self.classify_at(profile, regimes, lang, as_of)?;
        report.comparison = Some(compare::compare(&report.results));
        Ok(report)
    }

    fn classify_one(
        &self,
        profile: &Profile,
        id: &str,
        lang: Lang,
        as_of: NaiveDate,
    ) -> Result<RegimeResult, ClassifyError> {
        let day = as_of.to_string();
        let horizon = as_of
            .checked_add_months(chrono::Months::new(12))
            .unwrap_or(as_of)
            .to_string();
        let unknown = || ClassifyError::UnknownRegime {
            id: id.to_string(),
            known: self.regime_ids().join(", "),
        };
        // The regime as the law stood that day: dates of application an amending act
        // had not yet changed stay those of the text it amends.
        let regime = &self
            .kb
            .regime(id)
            .ok_or_else(unknown)?
            .as_on(&day, self.kb.instruments());
        let (_, prepared) = self
            .engines
            .iter()
            .find(|(r, _)| r == id)
            .ok_or_else(unknown)?;
        let mut engine = prepared.clone();
        let eval_err = |m: String| ClassifyError::Eval {
            regime: id.to_string(),
            message: m,
        };
        let input = regorus::Value::from_json_str(&profile.to_json().to_string())
            .map_err(|e| eval_err(e.to_string()))?;
        engine.set_input(input);
        // The law of the as-of date, as data (`data.in_force`), so that a policy's tier
        // and categories can follow what is in force rather than every version ever made.
        let in_force = self.in_force(regime, &day);
        let in_force = regorus::Value::from_json_str(&in_force.to_string())
            .map_err(|e| eval_err(e.to_string()))?;
        engine
            .add_data(in_force)
            .map_err(|e| eval_err(e.to_string()))?;
        let pkg = regime.package();
        let mut rule = |name: &str| -> Result<serde_json::Value, ClassifyError> {
            // A query (unlike eval_rule) answers nothing, rather than failing, for a
            // rule the policy does not define.
            let results = engine
                .eval_query(format!("data.{pkg}.{name}"), false)
                .map_err(|e| eval_err(format!("{name}: {e}")))?;
            let Some(v) = results
                .result
                .first()
                .and_then(|r| r.expressions.first())
                .map(|e| e.value.clone())
            else {
                return Ok(serde_json::Value::Null);
            };
            if v == regorus::Value::Undefined {
                return Ok(serde_json::Value::Null);
            }
            let s = v.to_json_str().map_err(|e| eval_err(e.to_string()))?;
            serde_json::from_str(&s).map_err(|e| eval_err(e.to_string()))
        };
        let mut tier = rule("tier")?;
        let mut categories = rule("categories")?;
        let filings = rule("filings")?;
        let obligations = rule("obligations")?;
        let notes = rule("notes")?;
        let suppress = rule("suppress")?;
        let mut negative = if regime.meta.has_negative_list {
            rule("negative_list")?
        } else {
            serde_json::Value::Null
        };
        // A regime none of whose instruments exists yet on the as-of date (a draft
        // before its publication) sorts nothing into tiers: out of scope.
        let published = regime.meta.instruments.is_empty()
            || regime.meta.instruments.iter().any(|i| {
                self.kb.instrument(i).is_none_or(|inst| {
                    inst.in_force_from
                        .as_deref()
                        .is_none_or(|f| f <= day.as_str())
                })
            });
        if !published && regime.tier("out-of-scope").is_some() {
            tier = serde_json::Value::String("out-of-scope".into());
            categories = serde_json::Value::Null;
            negative = serde_json::Value::Null;
        }

        let suppressed: BTreeSet<String> = strings(&suppress).into_iter().collect();
        let tier = tier.as_str().unwrap_or("unspecified").to_string();
        let tier_label = match regime.tier(&tier) {
            Some(t) => pick(lang, &t.en, &t.zh).to_string(),
            None if tier == "unspecified" => "unspecified".to_string(),
            None => {
                return Err(ClassifyError::UnknownId {
                    regime: id.into(),
                    what: "tier",
                    id: tier,
                });
            }
        };
        let mut category_ids = strings(&categories);
        // A category defined by an instrument not yet in force on the as-of date is not
        // one yet (a generative-AI service before GENAI-2023, say).
        category_ids.retain(|c| {
            let inst = regime
                .category(c)
                .and_then(|d| d.source_on(&day).split_whitespace().next())
                .and_then(|i| self.kb.instrument(i));
            inst.is_none_or(|i| i.in_force_from.as_deref().is_none_or(|f| f <= day.as_str()))
        });
        category_ids.sort_by_key(|c| regime.categories.iter().position(|x| &x.id == c));
        let mut category_labels = Vec::new();
        for c in &category_ids {
            let def = regime.category(c).ok_or_else(|| ClassifyError::UnknownId {
                regime: id.into(),
                what: "category",
                id: c.clone(),
            })?;
            category_labels.push(Label {
                id: c.clone(),
                label: pick(lang, &def.en, &def.zh).to_string(),
                source: def.source_on(&day).to_string(),
            });
        }

        let fired_filings = fired(&filings, &suppressed);
        let mut out_filings = Vec::new();
        for def in &regime.filings {
            let Some(facts) = fired_filings
                .iter()
                .find(|(i, _)| *i == def.id)
                .map(|(_, f)| f)
            else {
                continue;
            };
            let inst_ok = self
                .kb
                .instrument(def.basis.split(':').next().unwrap_or(""))
                .is_none_or(|i| i.in_force_on(&day));
            if !(def.in_force_on(&day) && inst_ok) {
                continue;
            }
            out_filings.push(self.filing(def, facts, profile, lang, as_of));
        }
        check_known(id, "filing", &fired_filings, |x| regime.filing(x).is_some())?;

        let fired_obligations = fired(&obligations, &suppressed);
        check_known(id, "obligation", &fired_obligations, |x| {
            regime.obligation(x).is_some()
        })?;
        let froms = fired_from(&obligations, &suppressed);
        // Each fired id resolves to the version of its duty in force on the as-of date
        // (following `replaces` forward), or to a version entering into force later.
        let mut selected: Vec<(String, Vec<String>)> = Vec::new();
        let mut upcoming_ids: Vec<(String, Vec<String>, String)> = Vec::new();
        for (fid, facts) in &fired_obligations {
            let extra_from = froms.iter().find(|(i, _)| i == fid).map(|(_, f)| f.clone());
            let window = |d: &beian_kb::ObligationDef| -> (Option<String>, Option<String>) {
                let inst = self.kb.instrument(&d.instrument);
                let from = [
                    d.in_force_from.clone(),
                    inst.and_then(|i| i.in_force_from.clone()),
                    extra_from.clone(),
                ]
                .into_iter()
                .flatten()
                .max();
                let until = [
                    d.in_force_until.clone(),
                    inst.and_then(|i| i.in_force_until.clone()),
                ]
                .into_iter()
                .flatten()
                .min();
                (from, until)
            };
            for d in family(regime, fid) {
                let (from, until) = window(d);
                if beian_kb::in_window(from.as_deref(), until.as_deref(), &day) {
                    merge_facts(&mut selected, &d.id, facts);
                } else if let Some(f) = from
                    && f > day
                    && f <= horizon
                    && until.as_deref().is_none_or(|u| u >= f.as_str())
                    && !upcoming_ids.iter().any(|(i, _, _)| *i == d.id)
                {
                    upcoming_ids.push((d.id.clone(), facts.clone(), f));
                }
            }
        }
        let mut out_obligations = Vec::new();
        for def in &regime.obligations {
            let Some(facts) = selected.iter().find(|(i, _)| *i == def.id).map(|(_, f)| f) else {
                continue;
            };
            let extra_from = fired_obligations
                .iter()
                .filter(|(fid, _)| family(regime, fid).iter().any(|d| d.id == def.id))
                .filter_map(|(fid, _)| froms.iter().find(|(i, _)| i == fid).map(|(_, f)| f.clone()))
                .max();
            let in_force_from = [def.in_force_from.clone(), extra_from]
                .into_iter()
                .flatten()
                .max();
            out_obligations.push(Obligation {
                id: def.id.clone(),
                instrument: def.instrument.clone(),
                article: def.article.clone(),
                title: pick(lang, &def.title_en, &def.title_zh).to_string(),
                reason: self.reason(lang, &def.trigger_en, &def.trigger_zh, facts, profile),
                source: def.source.clone(),
                title_zh: def.title_zh.clone(),
                title_en: def.title_en.clone(),
                duty: pick(lang, &def.duty_en, &def.duty_zh).to_string(),
                actor: def.actor.clone(),
                deadline: pick(
                    lang,
                    &def.deadline,
                    def.deadline_zh.as_deref().unwrap_or(&def.deadline),
                )
                .to_string(),
                authority: pick(
                    lang,
                    &def.authority,
                    def.authority_zh.as_deref().unwrap_or(&def.authority),
                )
                .to_string(),
                evidence: def.evidence.clone(),
                theme: def.theme.clone(),
                facts: facts.clone(),
                verified: def.verified.clone(),
                note: note(lang, &def.note, &def.note_zh),
                in_force_from,
                in_force_until: def.in_force_until.clone(),
                timing: def.timing.clone().unwrap_or_else(|| "ongoing".to_string()),
                replaces: def.replaces.clone(),
                date_source: def.date_source.clone(),
                date_verified: def.date_verified.clone(),
                citation: self.citation(&def.instrument, &def.article, lang),
            });
        }
        let mut upcoming = Vec::new();
        for def in &regime.obligations {
            let Some((_, facts, from)) = upcoming_ids.iter().find(|(i, _, _)| *i == def.id) else {
                continue;
            };
            upcoming.push(Upcoming {
                id: def.id.clone(),
                instrument: def.instrument.clone(),
                article: def.article.clone(),
                title: pick(lang, &def.title_en, &def.title_zh).to_string(),
                in_force_from: from.clone(),
                reason: self.reason(lang, &def.trigger_en, &def.trigger_zh, facts, profile),
                facts: facts.clone(),
                source: def.source.clone(),
                citation: self.citation(&def.instrument, &def.article, lang),
                verified: def.verified.clone(),
                date_verified: def.date_verified.clone(),
                date_source: def.date_source.clone(),
                replaces: def.replaces.clone(),
                replaces_basis: def
                    .replaces
                    .as_deref()
                    .and_then(|r| regime.obligation(r))
                    .map(|o| format!("{} {}", o.instrument, article_label(&o.article, lang))),
            });
        }
        upcoming.sort_by(|a, b| a.in_force_from.cmp(&b.in_force_from));

        let fired_notes = fired(&notes, &suppressed);
        let mut out_notes = Vec::new();
        for def in &regime.notes {
            if let Some((_, facts)) = fired_notes.iter().find(|(i, _)| *i == def.id) {
                out_notes.push(Note {
                    id: def.id.clone(),
                    text: pick(lang, &def.en, &def.zh).to_string(),
                    source: pick(
                        lang,
                        &def.source,
                        def.source_zh.as_deref().unwrap_or(&def.source),
                    )
                    .to_string(),
                    verified: def.verified.clone(),
                    facts: facts
                        .iter()
                        .map(|k| self.fact_words(profile, k, lang))
                        .collect(),
                });
            }
        }
        check_known(id, "note", &fired_notes, |x| regime.note(x).is_some())?;

        let negative_list = negative.as_object().map(|o| NegativeList {
            status: o
                .get("status")
                .and_then(|s| s.as_str())
                .unwrap_or("unknown")
                .to_string(),
            facts: o
                .get("facts")
                .map(strings)
                .unwrap_or_default()
                .iter()
                .map(|k| self.fact_words(profile, k, lang))
                .collect(),
            unconfirmed: o
                .get("unconfirmed")
                .and_then(|b| b.as_bool())
                .unwrap_or(true),
        });
        let unconfirmed = out_obligations
            .iter()
            .filter(|o| o.verified == "unconfirmed")
            .count()
            + out_filings
                .iter()
                .filter(|f| f.verified == "unconfirmed")
                .count();
        let overdue = out_filings.iter().filter(|f| f.overdue).count();
        Ok(RegimeResult {
            as_of: day.clone(),
            regime: regime.meta.id.clone(),
            regime_name: pick(lang, &regime.meta.en, &regime.meta.zh).to_string(),
            regime_status: regime.meta.status.clone(),
            regime_version: regime.meta.version.clone(),
            tier,
            tier_label,
            categories: category_ids,
            category_labels,
            negative_list,
            filings: out_filings,
            obligations: out_obligations,
            notes: out_notes,
            unconfirmed,
            upcoming,
            overdue,
        })
    }

    fn filing(
        &self,
        def: &beian_kb::FilingDef,
        facts: &[String],
        profile: &Profile,
        lang: Lang,
        as_of: NaiveDate,
    ) -> Filing {
        let launch = profile
            .get("launch_date")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty());
        let (due_date, due_date_error) = match (def.deadline_working_days, launch) {
            (Some(n), Some(date)) => match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
                Ok(d) => match self.kb.calendar().add_working_days(d, n) {
                    Ok(due) => (Some(due.to_string()), None),
                    Err(e) => (None, Some(e.to_string())),
                },
                Err(e) => (None, Some(format!("launch_date {date:?}: {e}"))),
            },
            // A filing due before launch is due on the launch date at the latest.
            (None, Some(date)) => match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
                Ok(d) => (Some(d.to_string()), None),
                Err(e) => (None, Some(format!("launch_date {date:?}: {e}"))),
            },
            _ => (None, None),
        };
        let overdue = due_date
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .is_some_and(|d| d < as_of);
        Filing {
            kind: def.kind.clone(),
            authority: def.authority.clone(),
            deadline: pick(
                lang,
                &def.deadline,
                def.deadline_zh.as_deref().unwrap_or(&def.deadline),
            )
            .to_string(),
            basis: def.basis.clone(),
            id: def.id.clone(),
            title: pick(lang, &def.en, &def.zh).to_string(),
            authority_detail: pick(lang, &def.authority_en, &def.authority_zh).to_string(),
            overdue,
            deadline_working_days: def.deadline_working_days,
            in_force_from: def.in_force_from.clone(),
            citation: {
                let (inst, art) = def.basis.split_once(':').unwrap_or((&def.basis, ""));
                self.citation(inst, art, lang)
            },
            due_date,
            due_date_error,
            also: def.also.clone(),
            // the facts alone: the title already says what the filing is
            reason: self.reason(lang, "", "", facts, profile),
            facts: facts.to_vec(),
            source: def.source.clone(),
            verified: def.verified.clone(),
            note: note(lang, &def.note, &def.note_zh),
        }
    }
}

impl Classifier {
    /// `{"in_force": {"instruments", "filings", "obligations", "obligation_from"}}`: the
    /// ids in force on `day` (`YYYY-MM-DD`), and each obligation's `in_force_from` by id
    /// (so that a policy compares dates without holding any). An obligation counts when some version of it (following
    /// `replaces`) is in force, with its instrument; a filing when it and the instrument
    /// of its basis are.
    fn in_force(&self, regime: &Regime, day: &str) -> serde_json::Value {
        let inst_ok = |id: &str| self.kb.instrument(id).is_none_or(|i| i.in_force_on(day));
        let instruments: Vec<&str> = self
            .kb
            .instruments()
            .iter()
            .filter(|i| i.in_force_on(day))
            .map(|i| i.id.as_str())
            .collect();
        let filings: Vec<&str> = regime
            .filings
            .iter()
            .filter(|f| f.in_force_on(day) && inst_ok(f.basis.split(':').next().unwrap_or("")))
            .map(|f| f.id.as_str())
            .collect();
        let obligations: Vec<&str> = regime
            .obligations
            .iter()
            .filter(|o| {
                family(regime, &o.id)
                    .iter()
                    .any(|d| d.in_force_on(day) && inst_ok(&d.instrument))
            })
            .map(|o| o.id.as_str())
            .collect();
        let obligation_from: serde_json::Map<String, serde_json::Value> = regime
            .obligations
            .iter()
            .filter_map(|o| Some((o.id.clone(), o.in_force_from.clone()?.into())))
            .collect();
        serde_json::json!({"in_force": {
            "instruments": instruments,
            "filings": filings,
            "obligations": obligations,
            "obligation_from": obligation_from,
        }})
    }

    /// A citation a user can follow: the instrument's title, the article, the document
    /// number and official URL when known, the date it took effect.
    fn citation(&self, instrument: &str, article: &str, lang: Lang) -> String {
        let Some(i) = self.kb.instrument(instrument) else {
            return format!("{instrument} {article}");
        };
        let art = if article.is_empty() {
            String::new()
        } else {
            match lang {
                // `Art. 23`, `§8.1` for a standard's clause, `Annex E` as written
                Lang::En => format!(", {}", compare::article(article)),
                Lang::Zh => zh_article(article),
            }
        };
        let mut s = match lang {
            Lang::En => format!("{}{art}", i.en),
            Lang::Zh => format!("《{}》{art}", i.zh),
        };
        let number = match lang {
            Lang::En => i.doc_number.as_ref(),
            Lang::Zh => i.doc_number_zh.as_ref().or(i.doc_number.as_ref()),
        };
        if let Some(n) = number {
            s.push_str(&format!(" ({n})"));
        }
        if let Some(d) = &i.in_force_from {
            let label = match (lang, i.status.as_str()) {
                (Lang::En, "expert-draft" | "draft" | "guidance") => "published",
                (Lang::En, _) => "in force from",
                (Lang::Zh, "expert-draft" | "draft" | "guidance") => "发布于",
                (Lang::Zh, _) => "施行日期",
            };
            s.push_str(&format!("; {label} {d}"));
        }
        if let Some(u) = &i.url {
            s.push_str(&format!("; {u}"));
        }
        s
    }

    /// The trigger in words, then the profile facts that met it, in words.
    fn reason(
        &self,
        lang: Lang,
        en: &str,
        zh: &str,
        facts: &[String],
        profile: &Profile,
    ) -> String {
        let rendered: Vec<String> = facts
            .iter()
            .map(|k| self.fact_words(profile, k, lang))
            .collect();
        if rendered.is_empty() {
            pick(lang, en, zh).to_string()
        } else if en.is_empty() {
            rendered.join(match lang {
                Lang::En => "; ",
                Lang::Zh => "；",
            })
        } else {
            let sep = match lang {
                Lang::En => "; ",
                Lang::Zh => "；",
            };
            match lang {
                Lang::En => format!("{}: {}", pick(lang, en, zh), rendered.join(sep)),
                Lang::Zh => format!("{}：{}", pick(lang, en, zh), rendered.join(sep)),
            }
        }
    }

    /// One profile fact in words: the field's label from the schema and its value
    /// (`Offered to the public in mainland China: yes`).
    pub fn fact_words(&self, profile: &Profile, key: &str, lang: Lang) -> String {
        let spec = self
            .kb
            .profile_schema()
            .fields
            .iter()
            .find(|f| f.key == key);
        let label = spec.map_or(key, |f| pick(lang, &f.en, &f.zh));
        let (yes, no, none) = match lang {
            Lang::En => ("yes", "no", "none"),
            Lang::Zh => ("是", "否", "无"),
        };
        // enum values in Chinese where the schema gives them
        let word = |v: &str| -> String {
            match (lang, spec) {
                (Lang::Zh, Some(f)) => f
                    .values
                    .iter()
                    .position(|x| x == v)
                    .and_then(|i| f.values_zh.get(i))
                    .cloned()
                    .unwrap_or_else(|| v.to_string()),
                _ => v.to_string(),
            }
        };
        let value = match profile.get(key) {
            Some(serde_json::Value::Bool(true)) => yes.to_string(),
            Some(serde_json::Value::Bool(false)) => no.to_string(),
            Some(serde_json::Value::String(s)) if s.is_empty() => none.to_string(),
            Some(serde_json::Value::String(s)) => word(s),
            Some(serde_json::Value::Array(a)) if a.is_empty() => none.to_string(),
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), word))
                .collect::<Vec<_>>()
                .join(if lang == Lang::Zh { "、" } else { ", " }),
            Some(serde_json::Value::Number(n)) => number_words(n),
            Some(v) => v.to_string(),
            None => none.to_string(),
        };
        match lang {
            Lang::En => format!("{label}: {value}"),
            Lang::Zh => format!("{label}：{value}"),
        }
    }
}

fn number_words(n: &serde_json::Number) -> String {
    if let Some(u) = n.as_u64() {
        let s = u.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if let Some(f) = n.as_f64() {
        if f != 0.0 && (f.abs() >= 1e6 || f.abs() < 1e-3) {
            format!("{f:e}")
        } else {
            f.to_string()
        }
    } else {
        n.to_string()
    }
}

/// `24` -> `第二十四条`, `4 para. 2` -> `第四条第二款`, `50(2)` -> `第五十条第二款`;
/// anything after the leading numbers is kept as is.
pub fn zh_article(article: &str) -> String {
    // English remarks in brackets are for English readers
    let article = strip_english_remarks(article);
    let article = article.as_str();
    // parts of different kinds: `25; Annex item 6` -> `第二十五条；附件第六项`
    if article.contains("; ") {
        return article
            .split("; ")
            .map(|p| zh_article(p).trim().to_string())
            .collect::<Vec<_>>()
            .join("；");
    }
    // a list of articles or clauses: `5, 9.2` -> `第5、9.2条`, `2, 3` -> `第二条、第三条`
    if article.contains(", ") && !article.contains('(') {
        let parts: Vec<&str> = article.split(", ").map(str::trim).collect();
        if parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit() || c == '.'))
        {
            return if parts.iter().any(|p| p.contains('.')) {
                format!("第{}条", parts.join("、"))
            } else {
                parts
                    .iter()
                    .map(|p| zh_article(p))
                    .collect::<Vec<_>>()
                    .join("、")
            };
        }
    }
    let digits: String = article.chars().take_while(char::is_ascii_digit).collect();
    if article[digits.len()..].starts_with('.') {
        // a clause of a standard: 8.1 -> 第8.1条
        let clause: String = article
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
            .collect();
        let rest = article[clause.len()..].trim();
        return format!(
            "第{clause}条{}{rest}",
            if rest.is_empty() { "" } else { " " }
        );
    }
    let Ok(n) = digits.parse::<u32>() else {
        return zh_named_part(article);
    };
    let mut s = format!("第{}条", zh_number(n));
    let rest = &article[digits.len()..];
    let rest = rest.trim_start();
    let (para, tail) = if let Some(r) = rest.strip_prefix("para. ") {
        let d: String = r.chars().take_while(char::is_ascii_digit).collect();
        (d.parse::<u32>().ok(), r[d.len()..].to_string())
    } else if let Some(r) = rest.strip_prefix('(') {
        let d: String = r.chars().take_while(char::is_ascii_digit).collect();
        match (d.parse::<u32>().ok(), r[d.len()..].strip_prefix(')')) {
            (Some(p), Some(t)) => (Some(p), t.to_string()),
            _ => (None, rest.to_string()),
        }
    } else {
        (None, rest.to_string())
    };
    if let Some(p) = para {
        s.push_str(&format!("第{}款", zh_number(p)));
    }
    // lettered points, `(ba), (bb)` -> `第(ba)、(bb)项`
    let points: Vec<&str> = tail.split(',').map(str::trim).collect();
    if !tail.trim().is_empty() && points.iter().all(|p| is_point(p)) {
        s.push_str(&format!("第{}项", points.join("、")));
        return s;
    }
    if !tail.trim().is_empty() {
        s.push(' ');
        s.push_str(tail.trim());
    }
    s
}

/// An article or clause as a reader writes it: `Art. 23`, `§8.1`, `Annex E` in English;
/// `第二十三条`, `第8.1条` in Chinese.
pub fn article_label(article: &str, lang: Lang) -> String {
    match lang {
        Lang::En => compare::article(article),
        Lang::Zh => zh_article(article).trim().to_string(),
    }
}

/// A part named in words rather than by article number (`ch. 3`, `Annex E`,
/// `critical-AI provisions`), in Chinese; the English remark was dropped before.
fn zh_named_part(article: &str) -> String {
    let a = article.trim();
    if let Some(n) = a
        .strip_prefix("ch.")
        .and_then(|r| r.trim().parse::<u32>().ok())
    {
        return format!("第{}章", zh_number(n));
    }
    if let Some(n) = a
        .strip_prefix("Annex item ")
        .and_then(|r| r.trim().parse::<u32>().ok())
    {
        return format!("附件第{}项", zh_number(n));
    }
    if let Some(x) = a.strip_prefix("Annex ") {
        // a national standard's annex is 附录, an EU regulation's 附件
        let roman = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"];
        return match roman.iter().position(|r| *r == x.trim()) {
            Some(i) => format!("附件{}", zh_number(i as u32 + 1)),
            None => format!("附录{}", x.trim()),
        };
    }
    const NAMED: [(&str, &str); 4] = [
        ("critical-AI provisions", "关键人工智能相关条款"),
        ("open-source provisions", "开源相关条款"),
        ("foundation-model provisions", "基础模型相关条款"),
        ("explicit labeling methods", "显式标识方法相关条款"),
    ];
    match NAMED.iter().find(|(en, _)| *en == a) {
        Some((_, zh)) => zh.to_string(),
        None => format!(" {a}"),
    }
}

/// A lettered point of an article: `(a)`, `(ba)`.
fn is_point(s: &str) -> bool {
    s.strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .is_some_and(|x| (1..=3).contains(&x.len()) && x.chars().all(|c| c.is_ascii_lowercase()))
}

/// Drops bracketed remarks written in English (`(TC260-003 numbering)`); keeps
/// lettered points (`(ba)`).
fn strip_english_remarks(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('(') {
        let Some(j) = rest[i..].find(')') else { break };
        let inner = &rest[i + 1..i + j];
        out.push_str(&rest[..i]);
        if !inner.chars().any(|c| c.is_ascii_alphabetic()) || is_point(&rest[i..=i + j]) {
            out.push_str(&rest[i..=i + j]);
        }
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out.trim().to_string()
}

/// Chinese numerals for 0..10000 (`23` -> `二十三`, `10` -> `十`, `105` -> `一百零五`).
pub fn zh_number(n: u32) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    if n < 10 {
        return D[n as usize].to_string();
    }
    if n < 20 {
        return format!("十{}", if n == 10 { "" } else { D[(n - 10) as usize] });
    }
    if n < 100 {
        let r = n % 10;
        return format!(
            "{}十{}",
            D[(n / 10) as usize],
            if r == 0 { "" } else { D[r as usize] }
        );
    }
    if n < 1000 {
        let r = n % 100;
        let tail = if r == 0 {
            String::new()
        } else if r < 10 {
            format!("零{}", D[r as usize])
        } else if r < 20 {
            format!("一{}", zh_number(r))
        } else {
            zh_number(r)
        };
        return format!("{}百{tail}", D[(n / 100) as usize]);
    }
    n.to_string()
}

/// The versions of the duty `id`, oldest first: the entries it `replaces` (back to the
/// first), itself, then each entry that `replaces` it, in turn.
fn family<'a>(regime: &'a Regime, id: &str) -> Vec<&'a beian_kb::ObligationDef> {
    let mut out = Vec::new();
    let mut root = regime.obligation(id);
    let mut seen = 0;
    while let Some(prev) = root
        .and_then(|d| d.replaces.as_deref())
        .and_then(|r| regime.obligation(r))
    {
        seen += 1;
        if seen > regime.obligations.len() {
            break; // a cycle in `replaces`
        }
        root = Some(prev);
    }
    let mut cur = root;
    while let Some(d) = cur {
        if out.iter().any(|x: &&beian_kb::ObligationDef| x.id == d.id) {
            break;
        }
        out.push(d);
        cur = regime
            .obligations
            .iter()
            .find(|o| o.replaces.as_deref() == Some(d.id.as_str()));
    }
    out
}

fn merge_facts(v: &mut Vec<(String, Vec<String>)>, id: &str, facts: &[String]) {
    match v.iter_mut().find(|(i, _)| i == id) {
        Some((_, f)) => {
            for k in facts {
                if !f.contains(k) {
                    f.push(k.clone());
                }
            }
        }
        None => v.push((id.to_string(), facts.to_vec())),
    }
}

/// The latest `from` date a fired entry carries (a policy-given start date), by id.
fn fired_from(v: &serde_json::Value, suppressed: &BTreeSet<String>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for item in v.as_array().into_iter().flatten() {
        let (Some(id), Some(from)) = (
            item.get("id").and_then(|i| i.as_str()),
            item.get("from").and_then(|f| f.as_str()),
        ) else {
            continue;
        };
        if suppressed.contains(id) {
            continue;
        }
        match out.iter_mut().find(|(i, _)| i == id) {
            Some((_, f)) if f.as_str() < from => *f = from.to_string(),
            Some(_) => {}
            None => out.push((id.to_string(), from.to_string())),
        }
    }
    out
}

/// A note in the output's language: the Chinese one for zh when the data has it.
fn note(lang: Lang, en: &Option<String>, zh: &Option<String>) -> Option<String> {
    match lang {
        Lang::Zh => zh.clone().or_else(|| en.clone()),
        Lang::En => en.clone(),
    }
}

fn pick<'a>(lang: Lang, en: &'a str, zh: &'a str) -> &'a str {
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `{"id", "facts"}` entries, merged by id (facts unioned in order), minus suppressed ids.
fn fired(v: &serde_json::Value, suppressed: &BTreeSet<String>) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for item in v.as_array().into_iter().flatten() {
        let Some(id) = item.get("id").and_then(|i| i.as_str()) else {
            continue;
        };
        if suppressed.contains(id) {
            continue;
        }
        let mut facts = item.get("facts").map(strings).unwrap_or_default();
        let mut seen = BTreeSet::new();
        facts.retain(|k| seen.insert(k.clone()));
        match out.iter_mut().find(|(i, _)| i == id) {
            Some((_, f)) => {
                for k in facts {
                    if !f.contains(&k) {
                        f.push(k);
                    }
                }
            }
            None => out.push((id.to_string(), facts)),
        }
    }
    out
}

fn check_known(
    regime: &str,
    what: &'static str,
    fired: &[(String, Vec<String>)],
    known: impl Fn(&str) -> bool,
) -> Result<(), ClassifyError> {
    match fired.iter().find(|(id, _)| !known(id)) {
        Some((id, _)) => Err(ClassifyError::UnknownId {
            regime: regime.into(),
            what,
            id: id.clone(),
        }),
        None => Ok(()),
    }
}

/// The regime metadata, re-exported for renderers.
pub fn regime_of<'a>(kb: &'a Kb, id: &str) -> Option<&'a Regime> {
    kb.regime(id)
}
