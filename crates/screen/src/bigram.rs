//! The bigram gate: a Bloom-style bit set of every pair of adjacent
//! characters inside the automaton's patterns.
//!
//! Invariant (why the gate never changes results): after a character `c`
//! at text position `i`, an Aho-Corasick automaton is in the state of the
//! longest suffix of the text that is a prefix of some pattern. When that
//! suffix is two characters or longer, its last two characters
//! (`text[i-1]`, `c`) are adjacent inside some pattern, so their bigram is
//! in this set (a Bloom set has false positives, never false negatives).
//! When the bigram is absent, the state is therefore the root's child for
//! `c` (or the root): the scanner restarts from the root and consumes `c`,
//! a lookup in the small, cache-resident root region, instead of a
//! transition (and failure chain) through the multi-megabyte double array.
//! On Chinese text most positions fail the gate, which is what lets the
//! normalizing scanner run faster than a raw automaton.
//!
//! The scanner goes one step further and does not even restart the
//! automaton while the gate stays closed: the state is known to be the
//! root's child for the last character, and it is only materialized when
//! the next character opens the gate, or when that character is itself a
//! one-character pattern ([`Bigrams::single`]) whose match must be reported.

/// log2 of the number of bits: 2^21 bits = 256 KiB.
const BITS_LOG2: u32 = 21;

/// See the module documentation.
#[derive(Clone)]
pub(crate) struct Bigrams {
    bits: Box<[u64]>,
    set: usize,
    /// BMP characters that are whole (one-character) patterns.
    singles: Box<[u64]>,
    /// Whether some one-character pattern is outside the BMP.
    astral_single: bool,
    /// Whether there is any one-character pattern.
    pub(crate) any_single: bool,
}

impl Bigrams {
    /// The gate for `patterns` (the exact strings given to the automaton).
    pub(crate) fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Bigrams {
        let mut bits = vec![0u64; (1usize << BITS_LOG2) / 64].into_boxed_slice();
        let mut singles = vec![0u64; 0x10000 / 64].into_boxed_slice();
        let mut astral_single = false;
        for p in patterns {
            let mut chars = p.chars();
            let Some(mut prev) = chars.next() else {
                continue;
            };
            if p.len() == prev.len_utf8() {
                let u = prev as usize;
                match singles.get_mut(u >> 6) {
                    Some(w) => *w |= 1u64 << (u & 63),
                    None => astral_single = true,
                }
            }
            for c in chars {
                let h = hash(prev, c);
                bits[h >> 6] |= 1u64 << (h & 63);
                prev = c;
            }
        }
        let set = bits.iter().map(|w| w.count_ones() as usize).sum();
        let any_single = astral_single || singles.iter().any(|w| *w != 0);
        Bigrams {
            bits,
            set,
            singles,
            astral_single,
            any_single,
        }
    }

    /// Whether `c` alone may be a whole pattern.
    #[inline(always)]
    pub(crate) fn single(&self, c: char) -> bool {
        let u = c as usize;
        match self.singles.get(u >> 6) {
            Some(w) => (w >> (u & 63)) & 1 == 1,
            None => self.astral_single,
        }
    }

    /// Whether `a` followed by `b` may occur inside a pattern.
    #[inline(always)]
    pub(crate) fn contains(&self, a: char, b: char) -> bool {
        let h = hash(a, b);
        // The index is below 2^BITS_LOG2 / 64 == bits.len() by construction.
        self.bits
            .get(h >> 6)
            .is_none_or(|w| (w >> (h & 63)) & 1 == 1)
    }

    /// Fraction of bits set (the false-positive rate on absent bigrams).
    pub(crate) fn fill(&self) -> f64 {
        self.set as f64 / (1u64 << BITS_LOG2) as f64
    }

    /// Heap bytes.
    pub(crate) fn heap_bytes(&self) -> usize {
        (self.bits.len() + self.singles.len()) * 8
    }
}

#[inline(always)]
fn hash(a: char, b: char) -> usize {
    let k = (u64::from(a) << 21) | u64::from(b);
    (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - BITS_LOG2)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_bigram_is_in_the_set() {
        let pats = ["法轮功", "ab", "六四事件", "x"];
        let g = Bigrams::new(pats);
        for p in pats {
            let cs: Vec<char> = p.chars().collect();
            for w in cs.windows(2) {
                assert!(g.contains(w[0], w[1]), "{p}: {}{}", w[0], w[1]);
            }
        }
        // A handful of bits among two million: absent pairs are absent.
        assert!(g.fill() < 0.001);
        let absent = ["轮法", "ba", "四六", "xx", "功法"];
        let hits = absent
            .iter()
            .filter(|s| {
                let cs: Vec<char> = s.chars().collect();
                g.contains(cs[0], cs[1])
            })
            .count();
        assert_eq!(hits, 0);
        assert!(g.single('x'));
        assert!(!g.single('a') && !g.single('法'));
    }
}
