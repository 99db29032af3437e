use serde::{Deserialize, Serialize};

use crate::KbError;

/// One of the five risk categories (A.1 … A.5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RiskCategory {
    /// `A.1` … `A.5`.
    pub code: String,
    pub zh: String,
    pub en: String,
}

/// One of the 31 risks (`A.1.a` … `A.5.b`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Risk {
    /// `A.1.a` … `A.5.b`.
    pub code: String,
    pub zh: String,
    pub en: String,
}

impl Risk {
    /// The category code, e.g. `A.1` for `A.1.h`.
    pub fn category(&self) -> &str {
        category_of(&self.code)
    }
}

/// The category part of a risk code (`A.1.h` → `A.1`); the code itself if it has no third part.
pub fn category_of(code: &str) -> &str {
    match code.rfind('.') {
        Some(i) if code[..i].contains('.') => &code[..i],
        _ => code,
    }
}

/// GB/T 45654-2025 Annex A (= TC260-003 Appendix A).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Taxonomy {
    pub version: String,
    pub instrument: String,
    pub clause: String,
    pub source: String,
    #[serde(default)]
    pub english_names_unconfirmed: bool,
    #[serde(rename = "category")]
    pub categories: Vec<RiskCategory>,
    #[serde(rename = "risk")]
    pub risks: Vec<Risk>,
}

impl Taxonomy {
    /// The embedded taxonomy alone (`kb/taxonomy.toml`), the same one
    /// [`crate::Kb::embedded`] holds, without parsing the regimes: for
    /// commands that only check or name risk codes and must start fast.
    pub fn embedded() -> Result<Taxonomy, KbError> {
        Taxonomy::parse(crate::embedded_str("taxonomy.toml")?, "kb/taxonomy.toml")
    }

    pub(crate) fn parse(text: &str, path: &str) -> Result<Taxonomy, KbError> {
        let t: Taxonomy = toml::from_str(text).map_err(|e| KbError::parse(path, e))?;
        for r in &t.risks {
            if !t.categories.iter().any(|c| c.code == r.category()) {
                return Err(KbError::invalid(
                    path,
                    format!("risk {} has no category", r.code),
                ));
            }
        }
        let mut codes: Vec<&str> = t.risks.iter().map(|r| r.code.as_str()).collect();
        codes.sort_unstable();
        if codes.windows(2).any(|w| w[0] == w[1]) {
            return Err(KbError::invalid(path, "duplicate risk code"));
        }
        Ok(t)
    }

    /// Looks a risk up by its code (`A.1.h`).
    pub fn risk(&self, code: &str) -> Option<&Risk> {
        self.risks.iter().find(|r| r.code == code)
    }

    /// Looks a category up by its code (`A.1`).
    pub fn category(&self, code: &str) -> Option<&RiskCategory> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// True if `code` is one of the 31 risk codes.
    pub fn is_risk_code(&self, code: &str) -> bool {
        self.risk(code).is_some()
    }

    /// The risks of one category, in order.
    pub fn risks_in<'a>(&'a self, category: &'a str) -> impl Iterator<Item = &'a Risk> + 'a {
        self.risks.iter().filter(move |r| r.category() == category)
    }

    /// The 17 risks of A.1 and A.2, which keyword libraries and should-refuse banks must cover.
    pub fn a1_a2(&self) -> impl Iterator<Item = &Risk> {
        self.risks
            .iter()
            .filter(|r| matches!(r.category(), "A.1" | "A.2"))
    }
}
