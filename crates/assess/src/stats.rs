//! `beian bank stats`: counts per bank and risk against the standard's minimums
//! (kb thresholds `bank.*`), near-duplicate questions, and what is missing.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::bank::{BankKind, Item};
use crate::error::{AssessError, Result};
use crate::rng::splitmix64;

/// One requirement checked.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// kb threshold id the requirement comes from.
    pub id: String,
    pub clause: String,
    pub what: String,
    pub required: f64,
    pub actual: f64,
    pub met: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unconfirmed: bool,
}

/// One missing piece: a stratum short of its minimum.
#[derive(Debug, Clone, Serialize)]
pub struct Shortfall {
    pub bank: BankKind,
    pub stratum: String,
    pub name: String,
    pub have: usize,
    pub need: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct NearDup {
    pub a: String,
    pub b: String,
    pub jaccard: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BankStats {
    pub totals: BTreeMap<BankKind, usize>,
    pub per_risk: BTreeMap<BankKind, BTreeMap<String, usize>>,
    pub checks: Vec<Check>,
    pub missing: Vec<Shortfall>,
    pub near_duplicates: Vec<NearDup>,
    pub near_duplicate_threshold: f64,
    pub all_met: bool,
}

fn threshold<'a>(kb: &'a beian_kb::Kb, id: &str) -> Result<&'a beian_kb::Threshold> {
    kb.thresholds()
        .get(id)
        .ok_or_else(|| AssessError::Config(format!("knowledge base has no threshold {id:?}")))
}

/// Computes the statistics. `dup_threshold` is the char-3-gram Jaccard at or
/// above which two questions count as near-duplicates (e.g. 0.8).
pub fn bank_stats(items: &[Item], kb: &beian_kb::Kb, dup_threshold: f64) -> Result<BankStats> {
    let tax = kb.taxonomy();
    let per_risk = crate::bank::counts(items);
    let mut totals = BTreeMap::new();
    for k in BankKind::ALL {
        totals.insert(k, items.iter().filter(|i| i.bank == k).count());
    }
    let mut checks = Vec::new();
    let mut missing = Vec::new();
    let empty = BTreeMap::new();
    let count = |k: BankKind, s: &str| {
        per_risk
            .get(&k)
            .unwrap_or(&empty)
            .get(s)
            .copied()
            .unwrap_or(0)
    };
    // Generated-content bank.
    let t = threshold(kb, "bank.generated.total")?;
    chk(
        &mut checks,
        t,
        "generated-content questions".into(),
        totals[&BankKind::GeneratedContent] as f64,
        None,
    );
    let covered = tax
        .risks
        .iter()
        .filter(|r| count(BankKind::GeneratedContent, &r.code) > 0)
        .count();
    chk(
        &mut checks,
        t,
        format!("generated-content risks covered (of {})", tax.risks.len()),
        covered as f64,
        Some(tax.risks.len() as f64),
    );
    let t12 = threshold(kb, "bank.generated.per-a1a2-risk")?;
    let tother = threshold(kb, "bank.generated.per-other-risk")?;
    let (mut ok12, mut okother) = (0usize, 0usize);
    let n12 = tax.a1_a2().count();
    for r in &tax.risks {
        let is12 = r.code.starts_with("A.1.") || r.code.starts_with("A.2.");
        let need = if is12 { t12.value } else { tother.value } as usize;
        let have = count(BankKind::GeneratedContent, &r.code);
        if have >= need {
            if is12 { ok12 += 1 } else { okother += 1 }
        } else {
            missing.push(Shortfall {
                bank: BankKind::GeneratedContent,
                stratum: r.code.clone(),
                name: r.zh.clone(),
                have,
                need,
            });
        }
    }
    chk(
        &mut checks,
        t12,
        format!(
            "A.1/A.2 risks with >= {} generated-content questions (of {n12})",
            t12.value
        ),
        ok12 as f64,
        Some(n12 as f64),
    );
    let nother = tax.risks.len() - n12;
    chk(
        &mut checks,
        tother,
        format!(
            "other risks with >= {} generated-content questions (of {nother})",
            tother.value
        ),
        okother as f64,
        Some(nother as f64),
    );

    // Should-refuse bank.
    let t = threshold(kb, "bank.should-refuse.total")?;
    chk(
        &mut checks,
        t,
        "should-refuse questions".into(),
        totals[&BankKind::ShouldRefuse] as f64,
        None,
    );
    let tper = threshold(kb, "bank.should-refuse.per-risk")?;
    let mut ok = 0;
    for r in tax.a1_a2() {
        let have = count(BankKind::ShouldRefuse, &r.code);
        if have >= tper.value as usize {
            ok += 1;
        } else {
            missing.push(Shortfall {
                bank: BankKind::ShouldRefuse,
                stratum: r.code.clone(),
                name: r.zh.clone(),
                have,
                need: tper.value as usize,
            });
        }
    }
    chk(
        &mut checks,
        tper,
        format!(
            "A.1/A.2 risks with >= {} should-refuse questions (of {n12})",
            tper.value
        ),
        ok as f64,
        Some(n12 as f64),
    );

    // Should-answer bank.
    let t = threshold(kb, "bank.should-answer.total")?;
    chk(
        &mut checks,
        t,
        "should-answer questions".into(),
        totals[&BankKind::ShouldAnswer] as f64,
        None,
    );
    let tasp = threshold(kb, "bank.should-answer.per-aspect")?;
    let aspects = crate::crosswalk::should_answer_aspects()?;
    let mut ok = 0;
    for a in &aspects {
        let have = count(BankKind::ShouldAnswer, a);
        if have >= tasp.value as usize {
            ok += 1;
        } else {
            missing.push(Shortfall {
                bank: BankKind::ShouldAnswer,
                stratum: a.clone(),
                name: a.clone(),
                have,
                need: tasp.value as usize,
            });
        }
    }
    chk(
        &mut checks,
        tasp,
        format!(
            "should-answer aspects with >= {} questions (of {})",
            tasp.value,
            aspects.len()
        ),
        ok as f64,
        Some(aspects.len() as f64),
    );

    let near_duplicates = near_duplicates(items, dup_threshold);
    let all_met = checks.iter().all(|c| c.met);
    Ok(BankStats {
        totals,
        per_risk,
        checks,
        missing,
        near_duplicates,
        near_duplicate_threshold: dup_threshold,
        all_met,
    })
}

fn chk(
    checks: &mut Vec<Check>,
    t: &beian_kb::Threshold,
    what: String,
    actual: f64,
    required: Option<f64>,
) {
    // A coverage requirement ("all N risks have at least X") is met only when every stratum is.
    let (required, met) = match required {
        Some(r) => (r, actual >= r),
        None => (t.value, t.is_met(actual)),
    };
    checks.push(Check {
        id: t.id.clone(),
        clause: t.clause.clone(),
        what,
        required,
        actual,
        met,
        unconfirmed: t.unconfirmed,
    });
}

/// Normalised text for duplicate detection: letters and digits only, lowercased.
fn normalise(s: &str) -> Vec<char> {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .collect()
}

fn shingles(chars: &[char]) -> HashSet<u64> {
    let mut out = HashSet::new();
    if chars.len() < 3 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for c in chars {
            h = splitmix64(h ^ *c as u64);
        }
        out.insert(h);
        return out;
    }
    for w in chars.windows(3) {
        let h = splitmix64(splitmix64(splitmix64(w[0] as u64) ^ w[1] as u64) ^ w[2] as u64);
        out.insert(h);
    }
    out
}

const HASHES: usize = 64;
const BANDS: usize = 16;
const ROWS: usize = HASHES / BANDS;

/// Near-duplicate pairs by MinHash-LSH over character 3-grams, verified by exact
/// Jaccard. Exact duplicates (after normalisation) score 1.0.
pub fn near_duplicates(items: &[Item], threshold: f64) -> Vec<NearDup> {
    let sets: Vec<HashSet<u64>> = items
        .iter()
        .map(|i| shingles(&normalise(&i.question)))
        .collect();
    let sigs: Vec<[u64; HASHES]> = sets
        .iter()
        .map(|s| {
            let mut sig = [u64::MAX; HASHES];
            for &x in s {
                for (k, slot) in sig.iter_mut().enumerate() {
                    let h = splitmix64(x ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    if h < *slot {
                        *slot = h;
                    }
                }
            }
            sig
        })
        .collect();
    let mut candidates: HashSet<(usize, usize)> = HashSet::new();
    for b in 0..BANDS {
        let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, sig) in sigs.iter().enumerate() {
            let mut h = b as u64;
            for r in 0..ROWS {
                h = splitmix64(h ^ sig[b * ROWS + r]);
            }
            buckets.entry(h).or_default().push(i);
        }
        for v in buckets.values() {
            if v.len() > 1 && v.len() < 500 {
                for x in 0..v.len() {
                    for y in x + 1..v.len() {
                        candidates.insert((v[x], v[y]));
                    }
                }
            }
        }
    }
    let mut out: Vec<NearDup> = candidates
        .into_iter()
        .filter_map(|(x, y)| {
            let (a, b) = (&sets[x], &sets[y]);
            let inter = a.intersection(b).count();
            let union = a.len() + b.len() - inter;
            let j = if union == 0 {
                1.0
            } else {
                inter as f64 / union as f64
            };
            (j >= threshold).then(|| NearDup {
                a: items[x].id.clone(),
                b: items[y].id.clone(),
                jaccard: (j * 1000.0).round() / 1000.0,
            })
        })
        .collect();
    out.sort_by(|p, q| {
        q.jaccard
            .total_cmp(&p.jaccard)
            .then_with(|| p.a.cmp(&q.a))
            .then_with(|| p.b.cmp(&q.b))
    });
    out
}
