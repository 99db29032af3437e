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
    /// The day the issuing body adopted the text (通过), when known; not promulgation.
    #[serde(default)]
    pub adopted: Option<String>,
    /// The day the text was promulgated, released or published (公布/印发/发布).
    #[serde(default)]
    pub released: Option<String>,
    #[serde(default)]
    pub effective: Option<String>,
    pub status: String,
    #[serde(default)]
    pub note: Option<String>,
    pub source: String,
    pub verified: String,
    /// First day the instrument is cited (`YYYY-MM-DD`): the day it takes effect; for
    /// drafts and guidance, the day it was published (its `status` says it is not law).
    #[serde(default)]
    pub in_force_from: Option<String>,
    /// Last day the instrument is cited (inclusive), when a later version replaces it.
    #[serde(default)]
    pub in_force_until: Option<String>,
    /// The instrument this one amends or replaces (`CSL-2017` for `CSL-2025`).
    #[serde(default)]
    pub replaces: Option<String>,
    /// Official document number (`国信办通字〔2025〕2号`, `CAC Order No. 15`).
    #[serde(default)]
    pub doc_number: Option<String>,
    /// The document number in Chinese, where the official one is not (EU acts).
    #[serde(default)]
    pub doc_number_zh: Option<String>,
    /// Official URL of the text, when known.
    #[serde(default)]
    pub url: Option<String>,
    /// Where the entry was checked (public reprints read); provenance, not a citation.
    #[serde(default)]
    pub checked: Option<String>,
}

impl Instrument {
    /// Whether the instrument is cited on `date` (`YYYY-MM-DD`).
    pub fn in_force_on(&self, date: &str) -> bool {
        in_window(
            self.in_force_from.as_deref(),
            self.in_force_until.as_deref(),
            date,
        )
    }

    /// A citation a user can follow: title, issuers, document number, URL.
    pub fn citation(&self, zh: bool) -> String {
        let mut s = if zh {
            format!("《{}》", self.zh)
        } else {
            self.en.clone()
        };
        if let Some(n) = &self.doc_number {
            s.push_str(&format!(" ({n})"));
        }
        if let Some(u) = &self.url {
            s.push_str(&format!(" {u}"));
        }
        s
    }
}

/// Whether `date` lies in `[from, until]` (`YYYY-MM-DD` strings compare as dates);
/// an absent bound is open.
pub fn in_window(from: Option<&str>, until: Option<&str>, date: &str) -> bool {
    from.is_none_or(|f| f <= date) && until.is_none_or(|u| date <= u)
}

/// When a duty falls due, for grouping answers: before launch, within working days of
/// launch, on an event (an incident), or ongoing.
pub const TIMINGS: [&str; 4] = ["before-launch", "after-launch", "on-event", "ongoing"];

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
    /// The note in Chinese (for `--lang zh`).
    #[serde(default)]
    pub note_zh: Option<String>,
    /// First day the filing duty is cited (`YYYY-MM-DD`).
    #[serde(default)]
    pub in_force_from: Option<String>,
    /// Last day it is cited (inclusive), when a later version replaces it.
    #[serde(default)]
    pub in_force_until: Option<String>,
    /// The earlier version this entry replaces (an id of the same regime).
    #[serde(default)]
    pub replaces: Option<String>,
    /// The deadline in Chinese.
    #[serde(default)]
    pub deadline_zh: Option<String>,
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
    /// The note in Chinese (for `--lang zh`).
    #[serde(default)]
    pub note_zh: Option<String>,
    /// First day the duty is cited (`YYYY-MM-DD`).
    #[serde(default)]
    pub in_force_from: Option<String>,
    /// Last day it is cited (inclusive), when a later version replaces it.
    #[serde(default)]
    pub in_force_until: Option<String>,
    /// Where the dates come from, when not from the instrument itself (an amending act).
    #[serde(default)]
    pub date_source: Option<String>,
    /// How well the dates are established: confirmed | secondary | unconfirmed.
    #[serde(default)]
    pub date_verified: Option<String>,
    /// The earlier version this entry replaces (an id of the same regime): the policy
    /// may keep firing the old id; the classifier cites the version in force.
    #[serde(default)]
    pub replaces: Option<String>,
    /// before-launch | after-launch | on-event | ongoing (see [`TIMINGS`]).
    #[serde(default)]
    pub timing: Option<String>,
    /// The deadline in Chinese.
    #[serde(default)]
    pub deadline_zh: Option<String>,
    /// The authority in Chinese.
    #[serde(default)]
    pub authority_zh: Option<String>,
    /// Where the entry was checked (public reprints read); provenance, not a citation.
    #[serde(default)]
    pub checked: Option<String>,
    /// The amending instrument that set `in_force_from` (`EU-AI-OMNIBUS-2026`). Before
    /// that instrument is in force, the law of the day gives `in_force_from_before`.
    #[serde(default)]
    pub date_set_by: Option<String>,
    /// The date of application before `date_set_by` took effect (the original text's).
    #[serde(default)]
    pub in_force_from_before: Option<String>,
    /// Where `in_force_from_before` comes from (the original text's article).
    #[serde(default)]
    pub date_source_before: Option<String>,
}

impl ObligationDef {
    /// Whether the duty is cited on `date` (`YYYY-MM-DD`).
    pub fn in_force_on(&self, date: &str) -> bool {
        in_window(
            self.in_force_from.as_deref(),
            self.in_force_until.as_deref(),
            date,
        )
    }
}

impl FilingDef {
    /// Whether the filing duty is cited on `date` (`YYYY-MM-DD`).
    pub fn in_force_on(&self, date: &str) -> bool {
        in_window(
            self.in_force_from.as_deref(),
            self.in_force_until.as_deref(),
            date,
        )
    }
}

/// A tier or category label.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabelDef {
    pub id: String,
    pub zh: String,
    pub en: String,
    /// The source cited before the first of `versions` (or always, without versions).
    pub source: String,
    /// Later sources, oldest first: from `from` on, the label cites `source` (an amended
    /// law's new article number, say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<SourceVersion>,
}

/// The source a label cites from a given day.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceVersion {
    /// First day (`YYYY-MM-DD`).
    pub from: String,
    pub source: String,
}

impl LabelDef {
    /// The source cited on `date` (`YYYY-MM-DD`).
    pub fn source_on(&self, date: &str) -> &str {
        self.versions
            .iter()
            .rev()
            .find(|v| v.from.as_str() <= date)
            .map_or(self.source.as_str(), |v| v.source.as_str())
    }
}

/// An informational note the policy can attach.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoteDef {
    pub id: String,
    pub zh: String,
    pub en: String,
    pub source: String,
    /// The source in Chinese (for `--lang zh`).
    #[serde(default)]
    pub source_zh: Option<String>,
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

    /// This regime as the law stood on `date` (`YYYY-MM-DD`): a duty whose date of
    /// application was set by an amending instrument (`date_set_by`) not yet in force
    /// that day keeps the date of the text it amends (`in_force_from_before`).
    pub fn as_on(&self, date: &str, instruments: &[Instrument]) -> Regime {
        let mut r = self.clone();
        for o in &mut r.obligations {
            let (Some(by), Some(before)) = (&o.date_set_by, &o.in_force_from_before) else {
                continue;
            };
            let amended = instruments
                .iter()
                .find(|i| &i.id == by)
                .is_some_and(|i| i.in_force_on(date));
            if !amended {
                o.in_force_from = Some(before.clone());
                o.date_source = o.date_source_before.clone();
                o.date_verified = None;
            }
        }
        r
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
            if let Some(v) = &o.date_verified {
                level(&o.id, v)?;
            }
            dates(&path, &o.id, &o.in_force_from, &o.in_force_until)?;
            dates(&path, &o.id, &o.in_force_from_before, &None)?;
            if let Some(by) = &o.date_set_by
                && !instruments.iter().any(|x| &x.id == by)
            {
                return bad(format!(
                    "obligation {}: date_set_by names unknown instrument {by}",
                    o.id
                ));
            }
            if o.date_set_by.is_some() != o.in_force_from_before.is_some() {
                return bad(format!(
                    "obligation {}: date_set_by and in_force_from_before go together",
                    o.id
                ));
            }
            if let Some(t) = &o.timing
                && !TIMINGS.contains(&t.as_str())
            {
                return bad(format!(
                    "obligation {}: timing must be one of {TIMINGS:?}, found {t:?}",
                    o.id
                ));
            }
            if let Some(r) = &o.replaces
                && self.obligation(r).is_none()
            {
                return bad(format!(
                    "obligation {} replaces unknown obligation {r}",
                    o.id
                ));
            }
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
            dates(&path, &f.id, &f.in_force_from, &f.in_force_until)?;
            if let Some(r) = &f.replaces
                && self.filing(r).is_none()
            {
                return bad(format!("filing {} replaces unknown filing {r}", f.id));
            }
        }
        for n in &self.notes {
            level(&n.id, &n.verified)?;
        }
        for c in self.categories.iter().chain(&self.tiers) {
            for v in &c.versions {
                dates(&path, &c.id, &Some(v.from.clone()), &None)?;
            }
        }
        if self.policies.is_empty() {
            return bad("no .rego policy".into());
        }
        Ok(())
    }
}

/// Checks that `from` and `until` are `YYYY-MM-DD` dates and `from <= until`.
pub(crate) fn dates(
    path: &str,
    id: &str,
    from: &Option<String>,
    until: &Option<String>,
) -> Result<(), KbError> {
    for (what, d) in [("in_force_from", from), ("in_force_until", until)] {
        if let Some(d) = d
            && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
        {
            return Err(KbError::invalid(
                path,
                format!("{id}: {what} {d:?} is not a YYYY-MM-DD date"),
            ));
        }
    }
    if let (Some(f), Some(u)) = (from, until)
        && f > u
    {
        return Err(KbError::invalid(
            path,
            format!("{id}: in_force_from {f} is after in_force_until {u}"),
        ));
    }
    Ok(())
}

/// The Rego package name for a regime id.
pub fn package_of(id: &str) -> String {
    format!("beian.regimes.{}", id.replace('-', "_"))
}
