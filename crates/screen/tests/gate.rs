//! Property: the scanner (bigram gate, lazy automaton restarts) finds
//! exactly the leftmost-longest, non-overlapping occurrences that a naive
//! search over the same text finds. A four-letter alphabet makes terms
//! share prefixes, suffixes and bigrams, and one-character terms appear;
//! texts longer than the scanner's ring make it catch up inside long runs.

use std::collections::BTreeSet;

use beian_screen::{Engine, EngineBuilder, Options};
use proptest::prelude::*;

const ALPHABET: [char; 4] = ['甲', '乙', '丙', '丁'];

fn word(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0..ALPHABET.len(), 1..=max)
        .prop_map(|v| v.into_iter().map(|i| ALPHABET[i]).collect())
}

/// Leftmost-longest, non-overlapping occurrences, by brute force:
/// (start byte, end byte, term).
fn naive(text: &str, terms: &BTreeSet<String>) -> Vec<(usize, usize, String)> {
    let mut occ: Vec<(usize, usize, String)> = Vec::new();
    for (s, _) in text.char_indices() {
        for t in terms {
            if text[s..].starts_with(t.as_str()) {
                occ.push((s, s + t.len(), t.clone()));
            }
        }
    }
    occ.sort_by_key(|(s, e, _)| (*s, std::cmp::Reverse(*e)));
    let mut out = Vec::new();
    let mut last_end = 0;
    for (s, e, t) in occ {
        if s >= last_end {
            last_end = e;
            out.push((s, e, t));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn gated_scan_equals_naive_search(
        terms in proptest::collection::btree_set(word(4), 1..8),
        text in word(200),
    ) {
        let mut b = EngineBuilder::new();
        b.options(Options::none()).no_detectors();
        for t in &terms {
            b.term(t, "A.1.a");
        }
        let engine = b.build().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let got: Vec<(usize, usize, String)> = engine
            .find(&text)
            .into_iter()
            .map(|f| (f.start, f.end, f.term.to_string()))
            .collect();
        prop_assert_eq!(&got, &naive(&text, &terms), "terms {:?} text {}", terms, text);
        // A compiled lexicon fills its gate (one-character patterns
        // included) at load: the same findings.
        let loaded = Engine::from_compiled(&engine.to_compiled())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let again: Vec<(usize, usize, String)> = loaded
            .find(&text)
            .into_iter()
            .map(|f| (f.start, f.end, f.term.to_string()))
            .collect();
        prop_assert_eq!(again, got, "compiled: terms {:?} text {}", terms, text);
    }
}

/// A run of pairs that continue a pattern far longer than the scanner's
/// ring, with no pair that ends one until the very end (the period, 3, does
/// not divide the ring's size): the one match at the end is found, once.
#[test]
fn long_run_without_an_ending_pair() {
    let term = format!("{}丁", "甲乙丙".repeat(4));
    let mut b = EngineBuilder::new();
    b.options(Options::none()).no_detectors();
    b.term(&term, "A.1.a");
    let engine = b.build().unwrap();
    let terms: BTreeSet<String> = [term.clone()].into_iter().collect();
    for reps in [4, 40, 100, 333] {
        let text = format!("{}丁", "甲乙丙".repeat(reps));
        let got: Vec<(usize, usize, String)> = engine
            .find(&text)
            .into_iter()
            .map(|f| (f.start, f.end, f.term.to_string()))
            .collect();
        assert_eq!(got, naive(&text, &terms), "{reps} repetitions");
        assert_eq!(got.len(), 1, "{reps}");
    }
}
