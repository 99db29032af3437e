//! Side-by-side comparison of regimes, by obligation theme.

use serde::Serialize;

use crate::RegimeResult;

/// One theme's entries under each regime (cells in the order of `Comparison::regimes`).
#[derive(Debug, Clone, Serialize)]
pub struct ThemeRow {
    pub theme: String,
    pub cells: Vec<Vec<String>>,
    /// True when the regimes do not all say the same thing (some have entries, others none,
    /// or their counts differ).
    pub differs: bool,
}

/// The comparison table.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub regimes: Vec<String>,
    pub tiers: Vec<String>,
    pub filings: Vec<Vec<String>>,
    pub rows: Vec<ThemeRow>,
}

pub(crate) fn compare(results: &[RegimeResult]) -> Comparison {
    let mut themes: Vec<String> = Vec::new();
    for r in results {
        for o in &r.obligations {
            if !themes.contains(&o.theme) {
                themes.push(o.theme.clone());
            }
        }
    }
    themes.sort();
    let rows = themes
        .into_iter()
        .map(|theme| {
            let cells: Vec<Vec<String>> = results
                .iter()
                .map(|r| {
                    r.obligations
                        .iter()
                        .filter(|o| o.theme == theme)
                        .map(|o| format!("{} {}: {}", o.instrument, article(&o.article), o.title))
                        .collect()
                })
                .collect();
            let differs = cells.windows(2).any(|w| w[0].len() != w[1].len())
                || cells.iter().any(|c| c.is_empty());
            ThemeRow {
                theme,
                cells,
                differs,
            }
        })
        .collect();
    Comparison {
        regimes: results.iter().map(|r| r.regime.clone()).collect(),
        tiers: results
            .iter()
            .map(|r| format!("{} ({})", r.tier_label, r.tier))
            .collect(),
        filings: results
            .iter()
            .map(|r| {
                r.filings
                    .iter()
                    .map(|f| format!("{} [{}] {}", f.kind, f.authority, f.basis))
                    .collect()
            })
            .collect(),
        rows,
    }
}

/// `Art. 17` for a plain number, the text itself otherwise.
pub(crate) fn article(a: &str) -> String {
    let digits = a.chars().take_while(char::is_ascii_digit).count();
    if a.chars()
        .all(|c| c.is_ascii_digit() || c == '(' || c == ')')
        || (digits > 0 && a[digits..].starts_with(' '))
        // lettered points: 5(1)(ba), (bb)
        || (digits > 0 && a[digits..].starts_with('(') && !a.contains('.'))
    {
        format!("Art. {a}")
    } else if a.contains(", ")
        && a.split(", ")
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        format!("Arts. {a}")
    } else if a.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        format!("§{a}")
    } else {
        a.to_string()
    }
}
