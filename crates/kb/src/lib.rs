//! beian's regulatory knowledge base.
//!
//! The law lives as versioned data under `kb/` at the repository root, embedded into
//! the binary at compile time and validated when loaded:
//!
//! | file | what |
//! |---|---|
//! | `instruments.toml` | laws, standards and drafts, with issuers, dates, status |
//! | `taxonomy.toml` | GB/T 45654 Annex A: 31 risks in 5 categories |
//! | `thresholds.toml` | the standard's numeric requirements, by stable id |
//! | `profile.toml` | the service-profile schema (keys, types, help text) |
//! | `calendar.toml` | PRC holidays and make-up working days |
//! | `regimes/<id>/*.toml` | a rule pack's filings, obligations, tiers, categories, notes |
//! | `regimes/<id>/*.rego` | the Rego policy deciding which of them apply |
//!
//! The law is versioned: instruments, obligations and filings carry `in_force_from` (and
//! `in_force_until`); an amendment is a new entry that `replaces` the old one, and
//! [`Kb::diff`] lists what changed between two dates.
//!
//! Every entry carries its source; what no source confirmed is flagged
//! (`verified = "unconfirmed"` or `unconfirmed = true`) and shown as such.
//!
//! ```
//! let kb = beian_kb::Kb::embedded().unwrap();
//! assert_eq!(kb.taxonomy().risks.len(), 31);
//! assert_eq!(kb.thresholds().value("keyword-library.total"), Some(10000.0));
//! assert!(kb.regime("cn-current").is_some());
//! ```

pub mod calendar;
pub mod diff;
mod error;
pub mod profile;
pub mod regime;
mod taxonomy;
mod thresholds;

use std::path::Path;

pub use calendar::Calendar;
pub use diff::{InstrumentChange, KbDiff, ObligationChange, Renumbering, Rescheduling};
pub use error::KbError;
pub use profile::{Profile, ProfileError, ProfileFormat, ProfileSchema};
pub use regime::{
    FilingDef, Instrument, LabelDef, NoteDef, ObligationDef, Regime, RegimeMeta, SourceVersion,
    TIMINGS, in_window,
};
pub use taxonomy::{Risk, RiskCategory, Taxonomy, category_of};
pub use thresholds::{Threshold, ThresholdKind, Thresholds};

use include_dir::{Dir, include_dir};
use regime::{InstrumentsFile, RegimeDataFile};

/// The knowledge-base files compiled into the binary.
pub static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../kb");

/// A loaded, validated knowledge base.
#[derive(Debug, Clone)]
pub struct Kb {
    instruments: Vec<Instrument>,
    taxonomy: Taxonomy,
    thresholds: Thresholds,
    schema: ProfileSchema,
    calendar: Calendar,
    regimes: Vec<Regime>,
}

impl Kb {
    /// Loads the knowledge base embedded at compile time.
    pub fn embedded() -> Result<Kb, KbError> {
        Kb::load(None)
    }

    /// Loads the embedded knowledge base, then applies the rule overrides in `dir`:
    /// `dir/<regime-id>/*.toml` entries replace embedded entries with the same id or
    /// add new ones; `dir/<regime-id>/*.rego` files are added to the regime's policy
    /// (a file with the same name as an embedded one replaces it); a directory with a
    /// `regime.toml` of an unknown id defines a new regime.
    pub fn load(overrides: Option<&Path>) -> Result<Kb, KbError> {
        let instruments: InstrumentsFile = toml::from_str(embedded_str("instruments.toml")?)
            .map_err(|e| KbError::parse("kb/instruments.toml", e))?;
        let instruments = instruments.instruments;
        for i in &instruments {
            regime::dates(
                "kb/instruments.toml",
                &i.id,
                &i.in_force_from,
                &i.in_force_until,
            )?;
            if let Some(r) = &i.replaces
                && !instruments.iter().any(|x| &x.id == r)
            {
                return Err(KbError::invalid(
                    "kb/instruments.toml",
                    format!("{} replaces unknown instrument {r}", i.id),
                ));
            }
        }
        let taxonomy = Taxonomy::embedded()?;
        let thresholds = Thresholds::embedded()?;
        let schema = ProfileSchema::parse(embedded_str("profile.toml")?, "kb/profile.toml")?;
        let calendar = Calendar::parse(embedded_str("calendar.toml")?, "kb/calendar.toml")?;
        let mut regimes = Vec::new();
        let dir = EMBEDDED
            .get_dir("regimes")
            .ok_or_else(|| KbError::Missing {
                path: "kb/regimes".into(),
            })?;
        let mut subdirs: Vec<_> = dir.dirs().collect();
        subdirs.sort_by_key(|d| d.path().to_path_buf());
        for sub in subdirs {
            let mut files: Vec<(String, String)> = Vec::new();
            for f in sub.files() {
                let name = f.path().file_name().and_then(|n| n.to_str()).unwrap_or("");
                let text = f.contents_utf8().ok_or_else(|| {
                    KbError::parse(&format!("kb/{}", f.path().display()), "not UTF-8")
                })?;
                files.push((name.to_string(), text.to_string()));
            }
            let label = format!("kb/{}", sub.path().display());
            regimes.push(build_regime(&label, files)?);
        }
        if let Some(dir) = overrides {
            apply_overrides(&mut regimes, dir)?;
        }
        regimes.sort_by(|a, b| (a.meta.order, &a.meta.id).cmp(&(b.meta.order, &b.meta.id)));
        for r in &regimes {
            r.validate(&instruments)?;
        }
        Ok(Kb {
            instruments,
            taxonomy,
            thresholds,
            schema,
            calendar,
            regimes,
        })
    }

    /// The GB/T 45654 Annex A risk taxonomy (31 risks in 5 categories).
    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// The standard's numeric thresholds, by stable id.
    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// All instruments.
    pub fn instruments(&self) -> &[Instrument] {
        &self.instruments
    }

    /// One instrument by id (`GENAI-2023`).
    pub fn instrument(&self, id: &str) -> Option<&Instrument> {
        self.instruments.iter().find(|i| i.id == id)
    }

    /// The service-profile schema.
    pub fn profile_schema(&self) -> &ProfileSchema {
        &self.schema
    }

    /// The PRC working-day calendar.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// All regimes, in display order (`cn-current` first).
    pub fn regimes(&self) -> &[Regime] {
        &self.regimes
    }

    /// One regime by id (`cn-current`).
    pub fn regime(&self, id: &str) -> Option<&Regime> {
        self.regimes.iter().find(|r| r.meta.id == id)
    }
}

fn build_regime(label: &str, mut files: Vec<(String, String)>) -> Result<Regime, KbError> {
    files.sort();
    let meta_text = files
        .iter()
        .find(|(n, _)| n == "regime.toml")
        .map(|(_, t)| t.clone())
        .ok_or_else(|| KbError::Missing {
            path: format!("{label}/regime.toml"),
        })?;
    let meta: RegimeMeta = toml::from_str(&meta_text)
        .map_err(|e| KbError::parse(&format!("{label}/regime.toml"), e))?;
    let mut regime = Regime {
        meta,
        filings: Vec::new(),
        obligations: Vec::new(),
        tiers: Vec::new(),
        categories: Vec::new(),
        notes: Vec::new(),
        policies: Vec::new(),
    };
    add_files(&mut regime, label, files)?;
    Ok(regime)
}

fn add_files(
    regime: &mut Regime,
    label: &str,
    files: Vec<(String, String)>,
) -> Result<(), KbError> {
    for (name, text) in files {
        let path = format!("{label}/{name}");
        if name == "regime.toml" {
            continue;
        } else if name.ends_with(".toml") {
            let data: RegimeDataFile =
                toml::from_str(&text).map_err(|e| KbError::parse(&path, e))?;
            regime.merge(data);
        } else if name.ends_with(".rego") {
            let key = format!("regimes/{}/{name}", regime.meta.id);
            match regime.policies.iter().position(|(p, _)| *p == key) {
                Some(i) => regime.policies[i] = (key, text),
                None => regime.policies.push((key, text)),
            }
        }
    }
    Ok(())
}

fn apply_overrides(regimes: &mut Vec<Regime>, dir: &Path) -> Result<(), KbError> {
    let io = |p: &Path, e: std::io::Error| KbError::Io {
        path: p.display().to_string(),
        source: e,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| io(dir, e))?;
    let mut subdirs: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    if subdirs.is_empty() {
        return Err(KbError::invalid(
            &dir.display().to_string(),
            "no regime directories (expected DIR/<regime-id>/*.toml|*.rego)",
        ));
    }
    for sub in subdirs {
        let id = sub
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let mut files = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(&sub)
            .map_err(|e| io(&sub, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        names.sort();
        for p in names {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            if !(name.ends_with(".toml") || name.ends_with(".rego")) {
                continue;
            }
            let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
            files.push((name, text));
        }
        let label = sub.display().to_string();
        match regimes.iter_mut().find(|r| r.meta.id == id) {
            Some(r) => {
                if let Some((_, t)) = files.iter().find(|(n, _)| n == "regime.toml") {
                    r.meta = toml::from_str(t)
                        .map_err(|e| KbError::parse(&format!("{label}/regime.toml"), e))?;
                }
                add_files(r, &label, files)?;
            }
            None => {
                let r = build_regime(&label, files)?;
                if r.meta.id != id {
                    return Err(KbError::invalid(
                        &label,
                        format!(
                            "regime.toml id {:?} differs from the directory name",
                            r.meta.id
                        ),
                    ));
                }
                regimes.push(r);
            }
        }
    }
    Ok(())
}

pub(crate) fn embedded_str(path: &str) -> Result<&'static str, KbError> {
    EMBEDDED
        .get_file(path)
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| KbError::Missing {
            path: format!("kb/{path}"),
        })
}
