//! beian's regulatory knowledge base.
//!
//! The law lives as versioned data under `kb/` at the repository root, embedded
//! into the binary at compile time and validated when loaded. Every entry carries
//! its source (instrument and article or clause); facts that no source confirmed
//! are flagged `unconfirmed = true` and surfaced as such in output.
//!
//! ```
//! let kb = beian_kb::Kb::embedded().unwrap();
//! assert_eq!(kb.taxonomy().risks.len(), 31);
//! let t = kb.thresholds().get("keyword-library.total").unwrap();
//! assert_eq!(t.value, 10000.0);
//! ```

mod error;
mod taxonomy;
mod thresholds;

pub use error::KbError;
pub use taxonomy::{Risk, RiskCategory, Taxonomy};
pub use thresholds::{Threshold, ThresholdKind, Thresholds};

use include_dir::{Dir, include_dir};

/// The knowledge base files compiled into the binary.
pub static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../kb");

/// A loaded, validated knowledge base.
#[derive(Debug, Clone)]
pub struct Kb {
    taxonomy: Taxonomy,
    thresholds: Thresholds,
}

impl Kb {
    /// Loads the knowledge base embedded at compile time.
    pub fn embedded() -> Result<Kb, KbError> {
        let taxonomy = Taxonomy::parse(embedded_str("taxonomy.toml")?, "kb/taxonomy.toml")?;
        let thresholds =
            Thresholds::parse(embedded_str("thresholds.toml")?, "kb/thresholds.toml")?;
        Ok(Kb { taxonomy, thresholds })
    }

    /// The GB/T 45654 Annex A risk taxonomy (31 risks in 5 categories).
    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// The standard's numeric thresholds, by stable id.
    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }
}

pub(crate) fn embedded_str(path: &str) -> Result<&'static str, KbError> {
    EMBEDDED
        .get_file(path)
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| KbError::Missing { path: format!("kb/{path}") })
}
