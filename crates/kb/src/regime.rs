//! Instruments and regimes (rule packs): metadata, filings, obligations, tiers,
//! categories and notes as data, plus the Rego policies that decide which apply.

use serde::{Deserialize, Serialize};

use crate::KbError;

/// How well a fact or citation is established.
pub const VERIFIED_LEVELS: [&str; 3] = ["confirmed", "secondary", "unconfirmed"];

/// A law, regulation, standard or draft.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instrument {
    pub id: String,
    pub zh: String,
    pub en: String,
    pub issuers: Vec<String>,
    #[serde(default)]
    pub adopted: Option<String>,
    #[serde(default)]
    pub effective: Option<String>,
    pub status: String,
    #[serde(default)]
    pub note: Option<String>,
    pub source: String,
    pub verified: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct InstrumentsFile {
    #[serde(rename = "instrument")]
    pub instruments: Vec<Instrument>,
}

/// A regime's metadata (`regime.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegimeMeta {
    pub id: String,
    pub version: String,
    pub zh: String,
    pub en: String,
    /// in-force | draft | expert-draft | guidance | foreign-law
    pub status: String,
    pub summary_en: String,
    pub summary_zh: String,
    pub as_of: String,
    pub instruments: Vec<String>,
    #[serde(default)]
    pub has_negative_list: bool,
    /// Display order (`cn-current` first).
    #[serde(default = "default_order")]
    pub order: u32,
}

fn default_order() -> u32 {
    100
}

/// A filing the regime can require.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FilingDef {
    pub id: String,
    /// `algorithm-filing` | `genai-filing` | `genai-registration` | regime-specific kinds.
    pub kind: String,
    /// `national` | `provincial` | other.
    pub authority: String,
    pub authority_en: String,
    pub authority_zh: String,
    pub deadline: String,
    #[serde(default)]
    pub deadline_working_days: Option<u32>,
    /// `INSTRUMENT:ARTICLE`, e.g. `ALGO-2022:24`.
    pub basis: String,
    pub zh: String,
    pub en: String,
    #[serde(default)]
    pub also: Vec<String>,
    pub source: String,
    pub verified: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// An obligation the regime can impose.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObligationDef {
    pub id: String,
    pub instrument: String,
    pub article: String,
    pub title_zh: String,
    pub title_en: String,
    pub duty_en: String,
    pub duty_zh: String,
    /// provider | technical-supporter | platform | operator | pi-processor | developer | deployer | …
    pub actor: String,
    pub trigger_en: String,
    pub trigger_zh: String,
    pub deadline: String,
    pub authority: String,
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Groups obligations across regimes for `--compare`.
    pub theme: String,
    pub source: String,
    pub verified: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// A tier or category label.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabelDef {
    pub id: String,
    pub zh: String,
    pub en: String,
    pub source: String,
}

/// An informational note the policy can attach.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoteDef {
    pub id: String,
    pub zh: String,
    pub en: String,
    pub source: String,
    pub verified: String,
}

/// The entries of one data file of a regime; all optional, merged by id.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegimeDataFile {
    #[serde(default, rename = "filing")]
    pub filings: Vec<FilingDef>,
    #[serde(default, rename = "obligation")]
    pub obligations: Vec<ObligationDef>,
    #[serde(default, rename = "tier")]
    pub tiers: Vec<LabelDef>,
    #[serde(default, rename = "category")]
    pub categories: Vec<LabelDef>,
    #[serde(default, rename = "note")]
    pub notes: Vec<NoteDef>,
}

/// A rule pack: its data and its Rego policies.
#[derive(Debug, Clone, Serialize)]
pub struct Regime {
    pub meta: RegimeMeta,
    pub filings: Vec<FilingDef>,
    pub obligations: Vec<ObligationDef>,
    pub tiers: Vec<LabelDef>,
    pub categories: Vec<LabelDef>,
    pub notes: Vec<NoteDef>,
    /// (path, Rego source), in load order.
    pub policies: Vec<(String, String)>,
}

impl Regime {
    /// The Rego package of this regime: `beian.regimes.<id with - as _>`.
    pub fn package(&self) -> String {
        package_of(&self.meta.id)
    }

    pub fn filing(&self, id: &str) -> Option<&FilingDef> {
        self.filings.iter().find(|f| f.id == id)
    }
    pub fn obligation(&self, id: &str) -> Option<&ObligationDef> {
        self.obligations.iter().find(|o| o.id == id)
    }
    pub fn tier(&self, id: &str) -> Option<&LabelDef> {
        self.tiers.iter().find(|o| o.id == id)
    }
    pub fn category(&self, id: &str) -> Option<&LabelDef> {
        self.categories.iter().find(|o| o.id == id)
    }
    pub fn note(&self, id: &str) -> Option<&NoteDef> {
        self.notes.iter().find(|o| o.id == id)
    }

    pub(crate) fn merge(&mut self, data: RegimeDataFile) {
        fn upsert<T: Clone>(v: &mut Vec<T>, items: Vec<T>, id: impl Fn(&T) -> &str) {
            for item in items {
                match v.iter().position(|x| id(x) == id(&item)) {
                    Some(i) => v[i] = item,
                    None => v.push(item),
                }
            }
        }
        upsert(&mut self.filings, data.filings, |x| &x.id);
        upsert(&mut self.obligations, data.obligations, |x| &x.id);
        upsert(&mut self.tiers, data.tiers, |x| &x.id);
        upsert(&mut self.categories, data.categories, |x| &x.id);
        upsert(&mut self.notes, data.notes, |x| &x.id);
    }

    /// Checks the invariants: every entry cites a source with a known verification
    /// level, obligations name a known instrument, ids are unique.
    pub(crate) fn validate(&self, instruments: &[Instrument]) -> Result<(), KbError> {
        let path = format!("kb/regimes/{}", self.meta.id);
        let bad = |m: String| Err(KbError::invalid(&path, m));
        let level = |id: &str, v: &str| -> Result<(), KbError> {
            if VERIFIED_LEVELS.contains(&v) {
                Ok(())
            } else {
                Err(KbError::invalid(
                    &path,
                    format!("{id}: verified must be one of {VERIFIED_LEVELS:?}, found {v:?}"),
                ))
            }
        };
        for i in &self.meta.instruments {
            if !instruments.iter().any(|x| &x.id == i) {
                return bad(format!("regime.toml names unknown instrument {i}"));
            }
        }
        for o in &self.obligations {
            if !instruments.iter().any(|x| x.id == o.instrument) {
                return bad(format!(
                    "obligation {} names unknown instrument {}",
                    o.id, o.instrument
                ));
            }
            if o.source.trim().is_empty() || o.article.trim().is_empty() {
                return bad(format!("obligation {} has no source or article", o.id));
            }
            level(&o.id, &o.verified)?;
        }
        for f in &self.filings {
            let inst = f.basis.split(':').next().unwrap_or("");
            if !instruments.iter().any(|x| x.id == inst) {
                return bad(format!(
                    "filing {} has basis {} with unknown instrument",
                    f.id, f.basis
                ));
            }
            if f.source.trim().is_empty() {
                return bad(format!("filing {} has no source", f.id));
            }
            level(&f.id, &f.verified)?;
        }
        for n in &self.notes {
            level(&n.id, &n.verified)?;
        }
        if self.policies.is_empty() {
            return bad("no .rego policy".into());
        }
        Ok(())
    }
}

/// The Rego package name for a regime id.
pub fn package_of(id: &str) -> String {
    format!("beian.regimes.{}", id.replace('-', "_"))
}
