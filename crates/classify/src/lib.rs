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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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

    /// Classifies `profile` under each regime in `regimes`, in that order.
    pub fn classify(
        &self,
        profile: &Profile,
        regimes: &[&str],
        lang: Lang,
    ) -> Result<Report, ClassifyError> {
        let mut results = Vec::new();
        for id in regimes {
            results.push(self.classify_one(profile, id, lang)?);
        }
        Ok(Report {
            beian_version: env!("CARGO_PKG_VERSION").to_string(),
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
        let mut report = self.classify(profile, regimes, lang)?;
        report.comparison = Some(compare::compare(&report.results));
        Ok(report)
    }

    fn classify_one(
        &self,
        profile: &Profile,
        id: &str,
        lang: Lang,
    ) -> Result<RegimeResult, ClassifyError> {
        let unknown = || ClassifyError::UnknownRegime {
            id: id.to_string(),
            known: self.regime_ids().join(", "),
        };
        let regime = self.kb.regime(id).ok_or_else(unknown)?;
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
        let tier = rule("tier")?;
        let categories = rule("categories")?;
        let filings = rule("filings")?;
        let obligations = rule("obligations")?;
        let notes = rule("notes")?;
        let suppress = rule("suppress")?;
        let negative = if regime.meta.has_negative_list {
            rule("negative_list")?
        } else {
            serde_json::Value::Null
        };

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
                source: def.source.clone(),
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
            out_filings.push(self.filing(def, facts, profile, lang));
        }
        check_known(id, "filing", &fired_filings, |x| regime.filing(x).is_some())?;

        let fired_obligations = fired(&obligations, &suppressed);
        let mut out_obligations = Vec::new();
        for def in &regime.obligations {
            let Some(facts) = fired_obligations
                .iter()
                .find(|(i, _)| *i == def.id)
                .map(|(_, f)| f)
            else {
                continue;
            };
            out_obligations.push(Obligation {
                id: def.id.clone(),
                instrument: def.instrument.clone(),
                article: def.article.clone(),
                title: pick(lang, &def.title_en, &def.title_zh).to_string(),
                reason: reason(lang, &def.trigger_en, &def.trigger_zh, facts, profile),
                source: def.source.clone(),
                title_zh: def.title_zh.clone(),
                title_en: def.title_en.clone(),
                duty: pick(lang, &def.duty_en, &def.duty_zh).to_string(),
                actor: def.actor.clone(),
                deadline: def.deadline.clone(),
                authority: def.authority.clone(),
                evidence: def.evidence.clone(),
                theme: def.theme.clone(),
                facts: facts.clone(),
                verified: def.verified.clone(),
                note: def.note.clone(),
            });
        }
        check_known(id, "obligation", &fired_obligations, |x| {
            regime.obligation(x).is_some()
        })?;

        let fired_notes = fired(&notes, &suppressed);
        let mut out_notes = Vec::new();
        for def in &regime.notes {
            if let Some((_, facts)) = fired_notes.iter().find(|(i, _)| *i == def.id) {
                out_notes.push(Note {
                    id: def.id.clone(),
                    text: pick(lang, &def.en, &def.zh).to_string(),
                    source: def.source.clone(),
                    verified: def.verified.clone(),
                    facts: facts.iter().map(|k| profile.fact(k)).collect(),
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
                .map(|k| profile.fact(k))
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
        Ok(RegimeResult {
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
        })
    }

    fn filing(
        &self,
        def: &beian_kb::FilingDef,
        facts: &[String],
        profile: &Profile,
        lang: Lang,
    ) -> Filing {
        let (due_date, due_date_error) = match (
            def.deadline_working_days,
            profile
                .get("launch_date")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty()),
        ) {
            (Some(n), Some(date)) => match chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") {
                Ok(d) => match self.kb.calendar().add_working_days(d, n) {
                    Ok(due) => (Some(due.to_string()), None),
                    Err(e) => (None, Some(e.to_string())),
                },
                Err(e) => (None, Some(format!("launch_date {date:?}: {e}"))),
            },
            _ => (None, None),
        };
        Filing {
            kind: def.kind.clone(),
            authority: def.authority.clone(),
            deadline: def.deadline.clone(),
            basis: def.basis.clone(),
            id: def.id.clone(),
            title: pick(lang, &def.en, &def.zh).to_string(),
            authority_detail: pick(lang, &def.authority_en, &def.authority_zh).to_string(),
            due_date,
            due_date_error,
            also: def.also.clone(),
            reason: reason(lang, &def.en, &def.zh, facts, profile),
            facts: facts.to_vec(),
            source: def.source.clone(),
            verified: def.verified.clone(),
            note: def.note.clone(),
        }
    }
}

fn pick<'a>(lang: Lang, en: &'a str, zh: &'a str) -> &'a str {
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

fn reason(lang: Lang, en: &str, zh: &str, facts: &[String], profile: &Profile) -> String {
    let rendered: Vec<String> = facts.iter().map(|k| profile.fact(k)).collect();
    if rendered.is_empty() {
        pick(lang, en, zh).to_string()
    } else {
        format!("{} ({})", pick(lang, en, zh), rendered.join(", "))
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
        let facts = item.get("facts").map(strings).unwrap_or_default();
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
