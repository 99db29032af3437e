use serde::{Deserialize, Serialize};

use crate::KbError;

/// Whether a measured value must be at least or at most the threshold.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ThresholdKind {
    /// measured >= value
    Min,
    /// measured <= value
    Max,
}

/// One numeric requirement of the standard, with its clause.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Threshold {
    /// Stable id, e.g. `assess.generated.qualified`.
    pub id: String,
    pub value: f64,
    pub kind: ThresholdKind,
    /// `count` or `ratio`.
    pub unit: String,
    /// e.g. `TC260-003 9.3`.
    pub clause: String,
    pub zh: String,
    pub en: String,
    pub source: String,
    #[serde(default)]
    pub unconfirmed: bool,
}

impl Threshold {
    /// True if `measured` satisfies this threshold.
    pub fn is_met(&self, measured: f64) -> bool {
        match self.kind {
            ThresholdKind::Min => measured >= self.value,
            ThresholdKind::Max => measured <= self.value,
        }
    }
}

/// All thresholds, by id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Thresholds {
    #[serde(rename = "threshold")]
    pub items: Vec<Threshold>,
}

impl Thresholds {
    /// The embedded thresholds alone (`kb/thresholds.toml`), the same ones
    /// [`crate::Kb::embedded`] holds, without parsing the regimes.
    pub fn embedded() -> Result<Thresholds, KbError> {
        Thresholds::parse(
            crate::embedded_str("thresholds.toml")?,
            "kb/thresholds.toml",
        )
    }

    pub(crate) fn parse(text: &str, path: &str) -> Result<Thresholds, KbError> {
        let t: Thresholds = toml::from_str(text).map_err(|e| KbError::parse(path, e))?;
        for (i, a) in t.items.iter().enumerate() {
            if t.items[..i].iter().any(|b| b.id == a.id) {
                return Err(KbError::invalid(
                    path,
                    format!("duplicate threshold id {}", a.id),
                ));
            }
            if a.source.trim().is_empty() || a.clause.trim().is_empty() {
                return Err(KbError::invalid(
                    path,
                    format!("threshold {} has no source", a.id),
                ));
            }
        }
        Ok(t)
    }

    /// The threshold with this id.
    pub fn get(&self, id: &str) -> Option<&Threshold> {
        self.items.iter().find(|t| t.id == id)
    }

    /// The value of the threshold with this id.
    pub fn value(&self, id: &str) -> Option<f64> {
        self.get(id).map(|t| t.value)
    }
}
