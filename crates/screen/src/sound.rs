//! Homophone matching (谐音): Chinese terms as sequences of toneless pinyin
//! syllables, matched against text read the same way, so that a term
//! written with other characters of the same sound (发论公 for 法轮功), or
//! partly in pinyin (法lun功, fa轮gong), is found.
//!
//! Every Han character maps to one syllable (its most common reading, from
//! the `pinyin` crate), both in terms and in text, so a character always
//! matches itself. A run of ASCII letters in the text is cut into syllables
//! greedily, longest first. Syllables become private-use characters
//! (U+E000 + id) that a charwise automaton matches; each keeps the byte span
//! of the original text it came from.

use std::collections::HashMap;

use pinyin::ToPinyin;

use crate::normalize::{BREAK, Table};

/// Private-use base of the syllable characters.
const BASE: u32 = 0xE000;
/// The longest toneless syllable (`zhuang`, `chuang`, `shuang`).
const MAX_SYLLABLE: usize = 6;

/// Syllable tables, built once per engine.
#[derive(Debug)]
pub(crate) struct Sounds {
    /// Syllable id + 1 of each BMP character (0: none).
    code: Box<[u16]>,
    /// Toneless syllables, for cutting ASCII runs.
    syllables: HashMap<&'static str, u16>,
}

impl Sounds {
    pub(crate) fn new() -> Sounds {
        let mut syllables: HashMap<&'static str, u16> = HashMap::new();
        let mut code = vec![0u16; 0x10000].into_boxed_slice();
        for (u, slot) in code.iter_mut().enumerate() {
            let Some(c) = char::from_u32(u as u32) else {
                continue;
            };
            if let Some(p) = c.to_pinyin() {
                let next = syllables.len() as u16;
                let id = *syllables.entry(p.plain()).or_insert(next);
                *slot = id + 1;
            }
        }
        Sounds { code, syllables }
    }

    /// Heap bytes (approximate for the syllable map).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.code.len() * 2 + self.syllables.len() * 32
    }

    /// The syllable character of a Han character.
    fn of(&self, c: char) -> Option<char> {
        let id = *self.code.get(c as usize)?;
        (id > 0)
            .then(|| char::from_u32(BASE + u32::from(id - 1)))
            .flatten()
    }

    /// The sound key of a term (its normalized characters, all Han), or
    /// `None` when some character has no reading.
    pub(crate) fn key(&self, normalized: &str) -> Option<String> {
        normalized.chars().map(|c| self.of(c)).collect()
    }

    /// Walks `text` as [`Table::walk`] does, emitting syllable characters
    /// (and [`BREAK`] for anything else) with their original byte spans.
    /// A run of ASCII letters is cut into syllables only when it touches a
    /// Han character (a term all in pinyin is the pinyin automaton's job),
    /// so English text costs one [`BREAK`] per word.
    pub(crate) fn walk(&self, table: &Table, text: &str, mut emit: impl FnMut(char, usize, usize)) {
        let mut run: Vec<(u8, usize, usize)> = Vec::new();
        let mut prev_han = false;
        table.walk(text, |c, s, e| {
            if c.is_ascii_alphabetic() {
                run.push((c.to_ascii_lowercase() as u8, s, e));
                return;
            }
            let sound = self.of(c);
            if !run.is_empty() {
                self.flush(&mut run, prev_han || sound.is_some(), &mut emit);
            }
            prev_han = sound.is_some();
            emit(sound.unwrap_or(BREAK), s, e);
        });
        if !run.is_empty() {
            self.flush(&mut run, prev_han, &mut emit);
        }
    }

    /// Emits an ASCII run: cut greedily into syllables (longest first) when
    /// `cut`, else one [`BREAK`] over it.
    fn flush(
        &self,
        run: &mut Vec<(u8, usize, usize)>,
        cut: bool,
        emit: &mut impl FnMut(char, usize, usize),
    ) {
        let (Some(first), Some(last)) = (run.first().copied(), run.last().copied()) else {
            return;
        };
        if !cut {
            emit(BREAK, first.1, last.2);
            run.clear();
            return;
        }
        let mut buf = [0u8; MAX_SYLLABLE];
        let mut i = 0;
        while i < run.len() {
            let mut took = 0;
            for len in (1..=MAX_SYLLABLE.min(run.len() - i)).rev() {
                for (b, r) in buf.iter_mut().zip(&run[i..i + len]) {
                    *b = r.0;
                }
                let id = std::str::from_utf8(&buf[..len])
                    .ok()
                    .and_then(|w| self.syllables.get(w));
                if let Some(ch) = id.and_then(|&id| char::from_u32(BASE + u32::from(id))) {
                    emit(ch, run[i].1, run[i + len - 1].2);
                    took = len;
                    break;
                }
            }
            if took == 0 {
                emit(BREAK, run[i].1, run[i].2);
                took = 1;
            }
            i += took;
        }
        run.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;

    #[test]
    fn same_sound_same_key_and_pinyin_runs_are_cut() {
        let s = Sounds::new();
        assert_eq!(s.key("法轮功"), s.key("发论公"));
        assert_ne!(s.key("法轮功"), s.key("法轮"));
        assert_eq!(s.key("法a"), None);
        let table = Table::new(Options::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut got = String::new();
        let mut spans = Vec::new();
        s.walk(&table, "法lun功", |c, a, b| {
            got.push(c);
            spans.push((a, b));
        });
        assert_eq!(Some(got), s.key("法轮功"));
        assert_eq!(spans, vec![(0, 3), (3, 6), (6, 9)]);
    }
}
