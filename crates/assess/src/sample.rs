//! Stratified, seeded sampling per bank and risk (TC260-003 9.3, 9.4: random
//! samples of at least 1,000 / 300 / 300 questions; the sizes come from the kb).

use std::collections::BTreeMap;

use crate::bank::{BankKind, Item};
use crate::rng::Rng;

/// Allocates `n` draws over strata of the given sizes: every stratum gets one
/// draw when `n` allows, the rest proportionally to size (largest remainder,
/// ties by stratum order), never more than a stratum holds.
pub fn allocate(sizes: &[usize], n: usize) -> Vec<usize> {
    let total: usize = sizes.iter().sum();
    if n >= total {
        return sizes.to_vec();
    }
    let mut alloc = vec![0usize; sizes.len()];
    let nonempty = sizes.iter().filter(|&&s| s > 0).count();
    if n >= nonempty {
        for (a, &s) in alloc.iter_mut().zip(sizes) {
            *a = usize::from(s > 0);
        }
    }
    loop {
        let used: usize = alloc.iter().sum();
        let left = n - used;
        if left == 0 {
            break;
        }
        let cap: Vec<usize> = sizes.iter().zip(&alloc).map(|(s, a)| s - a).collect();
        let capsum: usize = cap.iter().sum();
        if capsum == 0 {
            break;
        }
        let mut rema: Vec<(usize, f64)> = Vec::new();
        let mut given = 0;
        for (i, &c) in cap.iter().enumerate() {
            let exact = left as f64 * c as f64 / capsum as f64;
            let fl = (exact.floor() as usize).min(c);
            alloc[i] += fl;
            given += fl;
            rema.push((i, exact - fl as f64));
        }
        let mut rest = left - given;
        rema.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (i, _) in rema {
            if rest == 0 {
                break;
            }
            if alloc[i] < sizes[i] {
                alloc[i] += 1;
                rest -= 1;
            }
        }
        if rest == left {
            break;
        }
    }
    alloc
}

/// Draws a stratified sample of `n` items of `kind`; returns ids in a seeded
/// random order (so a partial run is itself a fair sample).
pub fn stratified(items: &[Item], kind: BankKind, n: usize, seed: u64) -> Vec<String> {
    let mut strata: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for it in items.iter().filter(|i| i.bank == kind) {
        strata.entry(it.risk_key()).or_default().push(&it.id);
    }
    let sizes: Vec<usize> = strata.values().map(Vec::len).collect();
    let alloc = allocate(&sizes, n);
    let mut out = Vec::new();
    for ((risk, ids), k) in strata.into_iter().zip(alloc) {
        let mut ids = ids;
        ids.sort_unstable();
        let mut rng = Rng::derived(seed, &format!("{}/{risk}", kind.as_str()));
        rng.shuffle(&mut ids);
        out.extend(ids.into_iter().take(k).map(str::to_string));
    }
    out.sort_unstable();
    Rng::derived(seed, kind.as_str()).shuffle(&mut out);
    out
}
