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
//!    pair whose ending is in the second table ([`GateView::may_end`]); a
//!    one-character match is a single character ([`Bigrams::single_at`]).
//! 3. Where no longer match may end, a one-character match is the only one:
//!    its pattern is read from a rank directory over the single characters
//!    ([`Bigrams::single_at`]), and the automaton is not stepped. Common
//!    characters (出, 党, 买) are one-character terms with
//!    `--min-term-chars 1`, and stepping the automaton there costs a few
//!    cache misses in its multi-megabyte double array each time.
//!
//! The scanner therefore keeps the last normalized characters in a ring and
//! runs the automaton only where a match may end: from the root over the
//! run (or on from where it last stopped), at most the longest pattern's
//! length back. On Chinese text about 1% of positions may end a match (18%
//! continue one); a plain automaton steps through its double array at every
//! position, which is what the normalizing scanner gains on.

use daachorse::CharwiseDoubleArrayAhoCorasick;

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
    bits: Box<[u64; BITS_WORDS]>,
    inner_set: usize,
    /// Bloom bits of the two-character patterns and of the last three
    /// characters of the longer ones: where a [`LAST`] pair really may end
    /// a match.
    ends: Box<[u64; ENDS_WORDS]>,
    /// BMP characters that are whole (one-character) patterns.
    singles: Box<[u64; SINGLE_WORDS]>,
    /// Whether some one-character pattern is outside the BMP.
    astral_single: bool,
    /// Whether there is any one-character pattern.
    pub(crate) any_single: bool,
    /// Per word of `singles`: the one-character patterns in the words
    /// before it (a rank directory).
    single_rank: Box<[u32]>,
    /// The automaton's value of each BMP one-character pattern, by rank in
    /// `singles` ([`NO_PAT`] until [`Bigrams::index_singles`]).
    single_pat: Box<[u32]>,
}

/// The pair, ending and single-character tables of a [`Bigrams`], by
/// reference (see [`Bigrams::view`]).
#[derive(Clone, Copy)]
pub(crate) struct GateView<'a> {
    bits: &'a [u64; BITS_WORDS],
    ends: &'a [u64; ENDS_WORDS],
    singles: &'a [u64; SINGLE_WORDS],
}

impl GateView<'_> {
    /// The slot of `a` followed by `b`: [`INNER`] when the pair may occur
    /// inside a pattern, [`LAST`] when it may end one.
    #[inline(always)]
    pub(crate) fn get(self, a: u32, b: u32) -> u8 {
        let h = hash(a, b);
        // `h` is below 2^SLOTS_LOG2, so `h >> 5` is below BITS_WORDS.
        self.bits
            .get(h >> 5)
            .map_or(INNER | LAST, |w| ((w >> ((h & 31) * 2)) & 3) as u8)
    }

    /// Whether a match may end with `c` after `b` after `a`, given that the
    /// pair (`b`, `c`) is [`LAST`] and `run` pairs in a row (ending with
    /// it) are [`INNER`]: a two-character pattern `bc`, or a longer one
    /// ending `abc` (whose pairs are all inside it, so `run >= 2`).
    #[inline(always)]
    pub(crate) fn may_end(self, a: u32, b: u32, c: u32, run: usize) -> bool {
        let bit = |h: usize| {
            self.ends
                .get(h >> 6)
                .is_none_or(|w| (w >> (h & 63)) & 1 == 1)
        };
        bit(key2(b, c)) || (run >= 2 && bit(key3(a, b, c)))
    }

    /// Whether the BMP character `c` is a one-character pattern (`true`
    /// outside the BMP: the caller asks [`Bigrams::single_at`]).
    #[inline(always)]
    pub(crate) fn maybe_single(self, c: u32) -> bool {
        let u = c as usize;
        self.singles
            .get(u >> 6)
            .is_none_or(|w| (w >> (u & 63)) & 1 == 1)
    }
}

/// A one-character pattern whose value is not known.
const NO_PAT: u32 = u32::MAX;

/// Whether a one-character pattern matches at a character, and how it is
/// found (see [`Bigrams::single_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Single {
    /// No one-character pattern is this character.
    No,
    /// This pattern (the automaton's value) is the character alone.
    Pat(u32),
    /// One may be: ask the automaton (a character outside the BMP).
    Automaton,
}

impl Bigrams {
    /// The gate for `patterns` (the exact strings given to the automaton).
    pub(crate) fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Bigrams {
        let mut bits = zeroed::<BITS_WORDS>();
        let mut singles = zeroed::<SINGLE_WORDS>();
        let mut ends = zeroed::<ENDS_WORDS>();
        let mut astral_single = false;
        let mut tail: Vec<char> = Vec::new();
        for p in patterns {
            tail.clear();
            tail.extend(p.chars().rev().take(3));
            let key = match tail.as_slice() {
                [b, a] => Some(key2((*a).into(), (*b).into())),
                [c, b, a] => Some(key3((*a).into(), (*b).into(), (*c).into())),
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
                let h = hash(prev.into(), c.into());
                bits[h >> 5] |= u64::from(flag) << ((h & 31) * 2);
                prev = c;
            }
        }
        let inner_set = inner_slots(&*bits);
        let any_single = astral_single || singles.iter().any(|w| *w != 0);
        let (single_rank, single_pat) = rank_singles(&singles[..]);
        Bigrams {
            bits,
            inner_set,
            ends,
            singles,
            astral_single,
            any_single,
            single_rank,
            single_pat,
        }
    }

    /// Records the automaton's value of each BMP one-character pattern, so
    /// that the scanner finds such a match without stepping the automaton
    /// (see [`Bigrams::single_at`]). `ac` is the automaton built from the
    /// same patterns as the gate.
    pub(crate) fn index_singles(&mut self, ac: &CharwiseDoubleArrayAhoCorasick<u32>) {
        let mut buf = [0u8; 4];
        for (w, &word) in self.singles.iter().enumerate() {
            let mut rest = word;
            while rest != 0 {
                let bit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                let Some(c) = char::from_u32((w * 64 + bit) as u32) else {
                    continue;
                };
                let s = c.encode_utf8(&mut buf);
                let value = ac
                    .find_overlapping_iter(&*s)
                    .find(|m| m.start() == 0 && m.end() == s.len())
                    .map_or(NO_PAT, |m| m.value());
                let r = self.rank(w, word, 1u64 << bit);
                if let Some(slot) = self.single_pat.get_mut(r) {
                    *slot = value;
                }
            }
        }
    }

    /// Whether a one-character pattern is `c` alone: a BMP character's
    /// pattern comes from a bit and a rank (no automaton step), once
    /// [`Bigrams::index_singles`] has run.
    #[inline(always)]
    pub(crate) fn single_at(&self, c: u32) -> Single {
        let u = c as usize;
        let Some(&word) = self.singles.get(u >> 6) else {
            return if self.astral_single {
                Single::Automaton
            } else {
                Single::No
            };
        };
        let bit = 1u64 << (u & 63);
        if word & bit == 0 {
            return Single::No;
        }
        match self.single_pat.get(self.rank(u >> 6, word, bit)) {
            Some(&p) if p != NO_PAT => Single::Pat(p),
            _ => Single::Automaton,
        }
    }

    /// The rank of the single character at `bit` of word `w` (`word`)
    /// among all single characters: its slot in `single_pat`.
    #[inline(always)]
    fn rank(&self, w: usize, word: u64, bit: u64) -> usize {
        self.single_rank.get(w).map_or(0, |&r| r as usize)
            + (word & (bit - 1)).count_ones() as usize
    }

    /// The tables as plain references: a `Copy` value that a scanning loop
    /// keeps in registers (fixed sizes, so that indexing needs no length).
    #[inline(always)]
    pub(crate) fn view(&self) -> GateView<'_> {
        GateView {
            bits: &self.bits,
            ends: &self.ends,
            singles: &self.singles,
        }
    }

    /// Whether `a` followed by `b` may occur inside a pattern.
    #[cfg(test)]
    pub(crate) fn contains(&self, a: char, b: char) -> bool {
        self.view().get(a.into(), b.into()) & INNER != 0
    }

    /// Fraction of slots marked [`INNER`] (the false-positive rate on absent
    /// pairs).
    pub(crate) fn fill(&self) -> f64 {
        self.inner_set as f64 / (1u64 << SLOTS_LOG2) as f64
    }

    /// Heap bytes.
    pub(crate) fn heap_bytes(&self) -> usize {
        (self.bits.len() + self.ends.len() + self.singles.len()) * 8
            + (self.single_rank.len() + self.single_pat.len()) * 4
    }

    /// The tables, for compiled lexicons: pair slots, ending bits, single
    /// characters, and the two flags.
    pub(crate) fn parts(&self) -> (&[u64], &[u64], &[u64], bool, bool) {
        (
            &self.bits[..],
            &self.ends[..],
            &self.singles[..],
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
        let singles: Box<[u64; SINGLE_WORDS]> = singles.try_into().ok()?;
        let bits: Box<[u64; BITS_WORDS]> = bits.try_into().ok()?;
        let ends: Box<[u64; ENDS_WORDS]> = ends.try_into().ok()?;
        let inner_set = inner_slots(&*bits);
        let (single_rank, single_pat) = rank_singles(&singles[..]);
        Some(Bigrams {
            bits,
            inner_set,
            ends,
            singles,
            astral_single,
            any_single,
            single_rank,
            single_pat,
        })
    }
}

/// The rank directory of `singles`, and a value slot per one-character
/// pattern (unknown until [`Bigrams::index_singles`]).
fn rank_singles(singles: &[u64]) -> (Box<[u32]>, Box<[u32]>) {
    let mut rank = Vec::with_capacity(singles.len());
    let mut n = 0u32;
    for w in singles {
        rank.push(n);
        n += w.count_ones();
    }
    (
        rank.into_boxed_slice(),
        vec![NO_PAT; n as usize].into_boxed_slice(),
    )
}

/// A zeroed table of `N` words, made on the heap (not on the stack first).
fn zeroed<const N: usize>() -> Box<[u64; N]> {
    match vec![0u64; N].into_boxed_slice().try_into() {
        Ok(b) => b,
        Err(_) => unreachable!("a vec of N words is N words"),
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

/// Words of the single-character bitmap (one bit per BMP character).
const SINGLE_WORDS: usize = 0x10000 / 64;

/// Words of the pair table (32 two-bit slots each).
const BITS_WORDS: usize = (1 << SLOTS_LOG2) / 32;

/// Words of the ending table.
const ENDS_WORDS: usize = (1 << ENDS_LOG2) / 64;

#[inline(always)]
fn key2(b: u32, c: u32) -> usize {
    let k = 1 << 63 | (u64::from(b) << 21) | u64::from(c);
    (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - ENDS_LOG2)) as usize
}

#[inline(always)]
fn key3(a: u32, b: u32, c: u32) -> usize {
    let k = (u64::from(a) << 42) | (u64::from(b) << 21) | u64::from(c);
    (k.wrapping_mul(0xD6E8_FEB8_6659_FD93) >> (64 - ENDS_LOG2)) as usize
}

#[inline(always)]
fn hash(a: u32, b: u32) -> usize {
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
        assert_ne!(g.single_at(u32::from('x')), Single::No);
        // Pairs that end a pattern carry LAST; inner ones do not.
        assert_ne!(g.view().get(u32::from('轮'), u32::from('功')) & LAST, 0);
        assert_ne!(g.view().get(u32::from('事'), u32::from('件')) & LAST, 0);
        assert_eq!(g.view().get(u32::from('法'), u32::from('轮')) & LAST, 0);
        assert_eq!(g.view().get(u32::from('六'), u32::from('四')) & LAST, 0);
        // Endings: the last three characters, or a two-character pattern.
        assert!(
            g.view()
                .may_end(u32::from('法'), u32::from('轮'), u32::from('功'), 2)
        );
        assert!(
            g.view()
                .may_end(u32::from('x'), u32::from('a'), u32::from('b'), 0)
        );
        assert!(
            !g.view()
                .may_end(u32::from('x'), u32::from('轮'), u32::from('功'), 2)
        );
        assert!(
            !g.view()
                .may_end(u32::from('法'), u32::from('轮'), u32::from('功'), 1)
        );
        assert_eq!(g.single_at(u32::from('a')), Single::No);
        assert_eq!(g.single_at(u32::from('法')), Single::No);
    }

    #[test]
    fn single_characters_find_their_pattern_without_the_automaton() {
        let pats = ["法轮功", "x", "党", "出", "😀", "六四"];
        let ac = daachorse::CharwiseDoubleArrayAhoCorasickBuilder::new()
            .match_kind(daachorse::MatchKind::Standard)
            .build_with_values(pats.iter().enumerate().map(|(i, p)| (*p, i as u32 + 7)))
            .expect("automaton");
        let mut g = Bigrams::new(pats);
        // Before indexing, the automaton is asked.
        assert_eq!(g.single_at(u32::from('党')), Single::Automaton);
        g.index_singles(&ac);
        assert_eq!(g.single_at(u32::from('x')), Single::Pat(8));
        assert_eq!(g.single_at(u32::from('党')), Single::Pat(9));
        assert_eq!(g.single_at(u32::from('出')), Single::Pat(10));
        assert_eq!(g.single_at(u32::from('法')), Single::No);
        assert_eq!(g.single_at(u32::from('y')), Single::No);
        // Outside the BMP the automaton is always asked.
        assert_eq!(g.single_at(u32::from('😀')), Single::Automaton);
        let none = Bigrams::new(["法轮功"]);
        assert_eq!(none.single_at(u32::from('😀')), Single::No);
        assert!(!none.any_single);
    }
}
