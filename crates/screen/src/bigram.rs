//! The bigram gate: a Bloom-style table of the pairs of adjacent characters
//! in the automaton's patterns, marking for each pair whether it occurs
//! inside a pattern ([`INNER`]) and whether it ends one ([`LAST`]), and a
//! second Bloom table of pattern endings (two-character patterns, and the
//! last three characters of longer ones). Bloom tables have false
//! positives, never false negatives.
//!
//! Why the scanner may skip the automaton (the invariants `tests/gate.rs`
//! checks against a brute-force search):
//!
//! 1. After the character at position `i`, an Aho-Corasick automaton is in
//!    the state of the longest suffix of the text that is a prefix of some
//!    pattern. If the pair (`i-1`, `i`) is not [`INNER`], that suffix is at
//!    most one character long. So the state at any position depends only on
//!    the characters since the last pair that is not [`INNER`] (the current
//!    "run"), and never on more than the longest pattern's length.
//! 2. A match of two or more characters ending at `i` ends with a [`LAST`]
//!    pair whose ending is in the second table ([`Bigrams::may_end`]); a
//!    one-character match is a [`Bigrams::single`].
//!
//! The scanner therefore keeps the last normalized characters in a ring and
//! runs the automaton only where a match may end: from the root over the
//! run (or on from where it last stopped), at most the longest pattern's
//! length back. On Chinese text about 1% of positions may end a match (18%
//! continue one); a plain automaton steps through its double array at every
//! position, which is what the normalizing scanner gains on.

/// log2 of the number of slots: 2^20 slots of 2 bits = 256 KiB.
const SLOTS_LOG2: u32 = 20;

/// Slot bit: the pair occurs inside some pattern.
pub(crate) const INNER: u8 = 1;
/// Slot bit: the pair ends some pattern.
pub(crate) const LAST: u8 = 2;

/// See the module documentation.
#[derive(Clone)]
pub(crate) struct Bigrams {
    /// 2 bits per slot ([`INNER`], [`LAST`]), 32 slots per word.
    bits: Box<[u64]>,
    inner_set: usize,
    /// Bloom bits of the two-character patterns and of the last three
    /// characters of the longer ones: where a [`LAST`] pair really may end
    /// a match.
    ends: Box<[u64]>,
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
        let mut bits = vec![0u64; (1usize << SLOTS_LOG2) / 32].into_boxed_slice();
        let mut singles = vec![0u64; 0x10000 / 64].into_boxed_slice();
        let mut ends = vec![0u64; (1usize << ENDS_LOG2) / 64].into_boxed_slice();
        let mut astral_single = false;
        let mut tail: Vec<char> = Vec::new();
        for p in patterns {
            tail.clear();
            tail.extend(p.chars().rev().take(3));
            let key = match tail.as_slice() {
                [b, a] => Some(key2(*a, *b)),
                [c, b, a] => Some(key3(*a, *b, *c)),
                _ => None,
            };
            if let Some(h) = key {
                ends[h >> 6] |= 1u64 << (h & 63);
            }
            let mut chars = p.chars().peekable();
            let Some(mut prev) = chars.next() else {
                continue;
            };
            if chars.peek().is_none() {
                let u = prev as usize;
                match singles.get_mut(u >> 6) {
                    Some(w) => *w |= 1u64 << (u & 63),
                    None => astral_single = true,
                }
            }
            while let Some(c) = chars.next() {
                let flag = if chars.peek().is_none() {
                    INNER | LAST
                } else {
                    INNER
                };
                let h = hash(prev, c);
                bits[h >> 5] |= u64::from(flag) << ((h & 31) * 2);
                prev = c;
            }
        }
        let inner_set = inner_slots(&bits);
        let any_single = astral_single || singles.iter().any(|w| *w != 0);
        Bigrams {
            bits,
            inner_set,
            ends,
            singles,
            astral_single,
            any_single,
        }
    }

    /// The slot of `a` followed by `b`: [`INNER`] when the pair may occur
    /// inside a pattern, [`LAST`] when it may end one.
    #[inline(always)]
    pub(crate) fn get(&self, a: char, b: char) -> u8 {
        let h = hash(a, b);
        // The index is below 2^SLOTS_LOG2 / 32 == bits.len() by construction.
        self.bits
            .get(h >> 5)
            .map_or(INNER | LAST, |w| ((w >> ((h & 31) * 2)) & 3) as u8)
    }

    /// Whether a match may end with `c` after `b` after `a`, given that the
    /// pair (`b`, `c`) is [`LAST`] and `run` pairs in a row (ending with
    /// it) are [`INNER`]: a two-character pattern `bc`, or a longer one
    /// ending `abc` (whose pairs are all inside it, so `run >= 2`).
    #[inline(always)]
    pub(crate) fn may_end(&self, a: char, b: char, c: char, run: usize) -> bool {
        let bit = |h: usize| {
            self.ends
                .get(h >> 6)
                .is_none_or(|w| (w >> (h & 63)) & 1 == 1)
        };
        bit(key2(b, c)) || (run >= 2 && bit(key3(a, b, c)))
    }

    /// Whether `a` followed by `b` may occur inside a pattern.
    #[cfg(test)]
    pub(crate) fn contains(&self, a: char, b: char) -> bool {
        self.get(a, b) & INNER != 0
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

    /// Fraction of slots marked [`INNER`] (the false-positive rate on absent
    /// pairs).
    pub(crate) fn fill(&self) -> f64 {
        self.inner_set as f64 / (1u64 << SLOTS_LOG2) as f64
    }

    /// Heap bytes.
    pub(crate) fn heap_bytes(&self) -> usize {
        (self.bits.len() + self.ends.len() + self.singles.len()) * 8
    }

    /// The tables, for compiled lexicons: pair slots, ending bits, single
    /// characters, and the two flags.
    pub(crate) fn parts(&self) -> (&[u64], &[u64], &[u64], bool, bool) {
        (
            &self.bits,
            &self.ends,
            &self.singles,
            self.astral_single,
            self.any_single,
        )
    }

    /// The gate from [`Bigrams::parts`]; `None` when a table has the wrong size.
    pub(crate) fn from_parts(
        bits: Box<[u64]>,
        ends: Box<[u64]>,
        singles: Box<[u64]>,
        astral_single: bool,
        any_single: bool,
    ) -> Option<Bigrams> {
        if bits.len() != (1usize << SLOTS_LOG2) / 32
            || ends.len() != (1usize << ENDS_LOG2) / 64
            || singles.len() != 0x10000 / 64
        {
            return None;
        }
        let inner_set = inner_slots(&bits);
        Some(Bigrams {
            bits,
            inner_set,
            ends,
            singles,
            astral_single,
            any_single,
        })
    }
}

/// Slots with the [`INNER`] bit set.
fn inner_slots(bits: &[u64]) -> usize {
    bits.iter()
        .map(|w| (w & 0x5555_5555_5555_5555).count_ones() as usize)
        .sum()
}

/// log2 of the bits of the ending table: 2^20 bits = 128 KiB.
const ENDS_LOG2: u32 = 20;

#[inline(always)]
fn key2(b: char, c: char) -> usize {
    let k = 1 << 63 | (u64::from(b) << 21) | u64::from(c);
    (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - ENDS_LOG2)) as usize
}

#[inline(always)]
fn key3(a: char, b: char, c: char) -> usize {
    let k = (u64::from(a) << 42) | (u64::from(b) << 21) | u64::from(c);
    (k.wrapping_mul(0xD6E8_FEB8_6659_FD93) >> (64 - ENDS_LOG2)) as usize
}

#[inline(always)]
fn hash(a: char, b: char) -> usize {
    let k = (u64::from(a) << 21) | u64::from(b);
    (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOTS_LOG2)) as usize
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
        // Pairs that end a pattern carry LAST; inner ones do not.
        assert_ne!(g.get('轮', '功') & LAST, 0);
        assert_ne!(g.get('事', '件') & LAST, 0);
        assert_eq!(g.get('法', '轮') & LAST, 0);
        assert_eq!(g.get('六', '四') & LAST, 0);
        // Endings: the last three characters, or a two-character pattern.
        assert!(g.may_end('法', '轮', '功', 2));
        assert!(g.may_end('x', 'a', 'b', 0));
        assert!(!g.may_end('x', '轮', '功', 2));
        assert!(!g.may_end('法', '轮', '功', 1));
        assert!(!g.single('a') && !g.single('法'));
    }
}
