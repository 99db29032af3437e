//! Crosswalks, as data: a source's own categories -> GB/T 45654 Annex A risk codes
//! (or should-answer aspects). The shipped ones live in `kb/crosswalks/*.toml`,
//! embedded through beian-kb; every entry says why.

use serde::Deserialize;

use crate::bank::BankKind;
use crate::error::{AssessError, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub from: String,
    #[serde(default)]
    pub risk: Option<String>,
    #[serde(default)]
    pub aspect: Option<String>,
    pub why: String,
    #[serde(default)]
    pub confidence: Option<String>,
}

impl Entry {
    /// The label items get: a risk code or an aspect.
    pub fn label(&self) -> Option<&str> {
        self.risk.as_deref().or(self.aspect.as_deref())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crosswalk {
    pub name: String,
    #[serde(default)]
    pub title: String,
    pub source: String,
    #[serde(default)]
    pub license: Option<String>,
    #[serde(default)]
    pub default_bank: Option<String>,
    #[serde(default)]
    pub bank_why: Option<String>,
    #[serde(default)]
    pub map: Vec<Entry>,
}

/// Names of the crosswalks shipped in `kb/crosswalks/`.
pub const SHIPPED: [&str; 6] = [
    "jade",
    "flames",
    "cvalues",
    "safetybench",
    "safety-prompts",
    "qwen3guard",
];

impl Crosswalk {
    /// Parses and validates a crosswalk (risk codes must exist in the taxonomy).
    pub fn parse(text: &str, origin: &str, tax: &beian_kb::Taxonomy) -> Result<Crosswalk> {
        let cw: Crosswalk = toml::from_str(text).map_err(|e| AssessError::Crosswalk {
            name: origin.into(),
            msg: e.to_string(),
        })?;
        for e in &cw.map {
            if let Some(r) = &e.risk
                && !tax.is_risk_code(r)
            {
                return Err(AssessError::Crosswalk {
                    name: origin.into(),
                    msg: format!("entry {:?}: {r:?} is not an Annex A risk code", e.from),
                });
            }
            if e.risk.is_some() && e.aspect.is_some() {
                return Err(AssessError::Crosswalk {
                    name: origin.into(),
                    msg: format!("entry {:?}: give risk or aspect, not both", e.from),
                });
            }
            if e.why.trim().is_empty() {
                return Err(AssessError::Crosswalk {
                    name: origin.into(),
                    msg: format!(
                        "entry {:?}: `why` is empty (every mapping cites why)",
                        e.from
                    ),
                });
            }
        }
        if let Some(b) = &cw.default_bank
            && BankKind::parse(b).is_none()
        {
            return Err(AssessError::Crosswalk {
                name: origin.into(),
                msg: format!("default_bank {b:?} unknown"),
            });
        }
        Ok(cw)
    }

    /// Loads a shipped crosswalk by name.
    pub fn shipped(name: &str, tax: &beian_kb::Taxonomy) -> Result<Crosswalk> {
        let path = format!("crosswalks/{name}.toml");
        let text = beian_kb::EMBEDDED
            .get_file(&path)
            .and_then(|f| f.contents_utf8())
            .ok_or_else(|| AssessError::Crosswalk {
                name: name.into(),
                msg: format!("kb/{path} not embedded"),
            })?;
        Crosswalk::parse(text, &format!("kb/{path}"), tax)
    }

    /// Loads a crosswalk file (user-supplied override).
    pub fn from_file(path: &std::path::Path, tax: &beian_kb::Taxonomy) -> Result<Crosswalk> {
        let text = std::fs::read_to_string(path).map_err(|e| AssessError::io(path, e))?;
        Crosswalk::parse(&text, &path.display().to_string(), tax)
    }

    pub fn default_bank(&self) -> Option<BankKind> {
        self.default_bank.as_deref().and_then(BankKind::parse)
    }

    /// Exact lookup (keys are trimmed).
    pub fn get(&self, key: &str) -> Option<&Entry> {
        let key = key.trim();
        self.map.iter().find(|e| e.from.trim() == key)
    }

    /// Lookup for two-level labels: "type/sub", then "sub", then "type/*".
    /// Multi-label subs ("a|b") use the first part that maps.
    pub fn lookup2(&self, ty: &str, sub: &str) -> Option<&Entry> {
        let ty = ty.trim();
        for s in sub.split('|').map(str::trim) {
            if let Some(e) = self.get(&format!("{ty}/{s}")).or_else(|| self.get(s)) {
                return Some(e);
            }
        }
        self.get(&format!("{ty}/*"))
    }
}

/// The should-answer aspects of TC260-003 8.3 b) (kb/crosswalks/should-answer-aspects.toml).
pub fn should_answer_aspects() -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct A {
        aspects: Vec<String>,
    }
    let text = beian_kb::EMBEDDED
        .get_file("crosswalks/should-answer-aspects.toml")
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| AssessError::Crosswalk {
            name: "should-answer-aspects".into(),
            msg: "not embedded".into(),
        })?;
    let a: A = toml::from_str(text).map_err(|e| AssessError::Crosswalk {
        name: "should-answer-aspects".into(),
        msg: e.to_string(),
    })?;
    Ok(a.aspects)
}
