//! Compiled lexicons: a built [`Engine`] as bytes, loaded in milliseconds.
//!
//! Layout (little-endian): magic `BEIANLEX`, format version (u32), engine
//! fingerprint (u64: this crate's version and the source of the modules that
//! decide what a build holds), payload length (u64), payload hash (u64),
//! then the payload: options, entries (a pool of the strings that repeat,
//! all terms as one string, fixed-size records), the automata as daachorse serializes
//! them, the normalization table (BMP mapping, astral results, astral folds), the gate's tables, pattern and target
//! tables, punctuation rules, the sound matcher, `re:` sources, detectors
//! and build counts. The syllable table is rebuilt (a few milliseconds). A file from another beian build, another format, a
//! truncated or altered file is refused with a clear error, never misread.
//!
//! The serializer destructures every struct it writes: a field added to the
//! engine is a compile error here until it is written too.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::thread::{Scope, ScopedJoinHandle};

use daachorse::CharwiseDoubleArrayAhoCorasick;
use regex::{Regex, RegexSet};
use rustc_hash::FxHashMap;

use super::{Engine, Entry, PatInfo, Punct, SoundMatcher, Via};
use crate::bigram::Bigrams;
use crate::detect::Detector;
use crate::normalize::{Options, Table};
use crate::sound::Sounds;
use crate::{BuildStats, ScreenError};

const MAGIC: &[u8; 8] = b"BEIANLEX";
/// Bumped when the layout changes.
pub const COMPILED_FORMAT: u32 = 3;
const HEADER: usize = 8 + 4 + 8 + 8 + 8;

fn fnv(mut h: u64, b: &[u8]) -> u64 {
    for &x in b {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The engine build this binary makes: a compiled file from any other
/// build (another version, or changed matching code) is stale.
pub fn engine_fingerprint() -> u64 {
    static FP: OnceLock<u64> = OnceLock::new();
    *FP.get_or_init(|| {
        let mut h = fnv(0xcbf2_9ce4_8422_2325, env!("CARGO_PKG_VERSION").as_bytes());
        for src in [
            include_str!("../engine.rs"),
            include_str!("../normalize.rs"),
            include_str!("../bigram.rs"),
            include_str!("../sound.rs"),
            include_str!("../lexicon.rs"),
            include_str!("../detect.rs"),
            include_str!("compiled.rs"),
        ] {
            h = fnv(h, src.as_bytes());
        }
        h
    })
}

/// A fast hash of the payload (corruption check, not security): four
/// independent lanes over 32-byte blocks.
fn hash64(b: &[u8]) -> u64 {
    let mut h = [
        0x9e37_79b9_7f4a_7c15u64 ^ b.len() as u64,
        0xc2b2_ae3d_27d4_eb4f,
        0x1656_67b1_9e37_79f9,
        0x27d4_eb2f_1656_67c5,
    ];
    let mut it = b.chunks_exact(32);
    for c in &mut it {
        for (lane, w) in h.iter_mut().zip(c.chunks_exact(8)) {
            let mut x = [0u8; 8];
            x.copy_from_slice(w);
            *lane = (*lane ^ u64::from_le_bytes(x))
                .wrapping_mul(0x0100_0000_01b3)
                .rotate_left(29);
        }
    }
    let mut out = fnv(h[0], it.remainder());
    for lane in &h[1..] {
        out = fnv(out, &lane.to_le_bytes());
    }
    out
}

/// Whether `bytes` starts like a compiled lexicon.
pub fn is_compiled(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

fn bad(msg: impl Into<String>) -> ScreenError {
    ScreenError::Compiled(msg.into())
}

#[derive(Default)]
struct W {
    b: Vec<u8>,
}

impl W {
    fn u8(&mut self, x: u8) {
        self.b.push(x);
    }
    fn bool(&mut self, x: bool) {
        self.b.push(u8::from(x));
    }
    fn u32(&mut self, x: u32) {
        self.b.extend_from_slice(&x.to_le_bytes());
    }
    fn u64(&mut self, x: u64) {
        self.b.extend_from_slice(&x.to_le_bytes());
    }
    fn usize(&mut self, x: usize) {
        self.u64(x as u64);
    }
    /// A count, then each pair as two `u32`.
    fn pairs(&mut self, x: impl ExactSizeIterator<Item = (u32, u32)>) {
        self.usize(x.len());
        for (a, b) in x {
            self.u32(a);
            self.u32(b);
        }
    }
    fn bytes(&mut self, x: &[u8]) {
        self.usize(x.len());
        self.b.extend_from_slice(x);
    }
    fn str(&mut self, x: &str) {
        self.bytes(x.as_bytes());
    }
    fn opt_str(&mut self, x: Option<&str>) {
        match x {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
    fn chars(&mut self, x: &[char]) {
        self.usize(x.len());
        for &c in x {
            self.u32(c as u32);
        }
    }
    fn words(&mut self, x: &[u64]) {
        self.usize(x.len());
        for &w in x {
            self.u64(w);
        }
    }
    fn ac(&mut self, a: Option<&CharwiseDoubleArrayAhoCorasick<u32>>) {
        match a {
            None => self.u8(0),
            Some(a) => {
                self.u8(1);
                self.bytes(&a.serialize());
            }
        }
    }
}

struct R<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ScreenError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| bad("truncated"))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, ScreenError> {
        Ok(self.take(1)?[0])
    }
    fn bool(&mut self) -> Result<bool, ScreenError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(bad("bad flag")),
        }
    }
    fn u32(&mut self) -> Result<u32, ScreenError> {
        let mut w = [0u8; 4];
        w.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(w))
    }
    fn u64(&mut self) -> Result<u64, ScreenError> {
        let mut w = [0u8; 8];
        w.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(w))
    }
    fn usize(&mut self) -> Result<usize, ScreenError> {
        usize::try_from(self.u64()?).map_err(|_| bad("length out of range"))
    }
    /// A count of items of at least `min` bytes each (so a corrupt count
    /// cannot ask for more memory than the file has).
    fn count(&mut self, min: usize) -> Result<usize, ScreenError> {
        let n = self.usize()?;
        if n.saturating_mul(min.max(1)) > self.b.len() - self.pos {
            return Err(bad("truncated"));
        }
        Ok(n)
    }
    /// What [`W::pairs`] wrote.
    fn pairs(&mut self) -> Result<Vec<(u32, u32)>, ScreenError> {
        let n = self.count(8)?;
        (0..n).map(|_| Ok((self.u32()?, self.u32()?))).collect()
    }
    fn bytes(&mut self) -> Result<&'a [u8], ScreenError> {
        let n = self.usize()?;
        self.take(n)
    }
    fn str(&mut self) -> Result<&'a str, ScreenError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| bad("invalid UTF-8 in a string"))
    }
    fn arc(&mut self) -> Result<Arc<str>, ScreenError> {
        Ok(Arc::from(self.str()?))
    }
    fn opt_arc(&mut self) -> Result<Option<Arc<str>>, ScreenError> {
        Ok(match self.u8()? {
            0 => None,
            1 => Some(self.arc()?),
            _ => return Err(bad("bad option tag")),
        })
    }
    fn chars(&mut self) -> Result<Box<[char]>, ScreenError> {
        let n = self.count(4)?;
        // Sized once: collecting `Option`s grows the vector step by step
        // (punctuation rules are thousands of short arrays).
        let mut out = Vec::with_capacity(n);
        for c in self.take(n * 4)?.chunks_exact(4) {
            let u = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            out.push(char::from_u32(u).ok_or_else(|| bad("invalid character"))?);
        }
        Ok(out.into_boxed_slice())
    }
    fn words(&mut self) -> Result<Box<[u64]>, ScreenError> {
        let n = self.count(8)?;
        Ok(self
            .take(n * 8)?
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect())
    }
    /// An automaton's bytes, deserialized on a thread of `scope`: the automata
    /// load side by side with each other and with the rest of the file.
    fn ac_on<'s>(&mut self, scope: &'s Scope<'s, '_>) -> Result<Option<AcLoad<'s>>, ScreenError>
    where
        'a: 's,
    {
        Ok(match self.u8()? {
            0 => None,
            1 => {
                let b = self.bytes()?;
                Some(scope.spawn(move || {
                    let (a, rest) = CharwiseDoubleArrayAhoCorasick::<u32>::deserialize(b)
                        .map_err(|e| bad(format!("automaton: {e}")))?;
                    if !rest.is_empty() {
                        return Err(bad("automaton: trailing bytes"));
                    }
                    Ok(a)
                }))
            }
            _ => return Err(bad("bad automaton tag")),
        })
    }
}

/// Bytes of one entry record in a compiled lexicon.
const ENTRY_RECORD: usize = 4 * 5 + 8 + 1 + 4;

/// The lexicon entries of a compiled lexicon: `recs` (records of
/// [`ENTRY_RECORD`] bytes), their terms end to end, the string pool.
fn read_entries(recs: &[u8], terms: &str, pool: Vec<Arc<str>>) -> Result<Vec<Entry>, ScreenError> {
    let mut entries = Vec::with_capacity(recs.len() / ENTRY_RECORD);
    let at = |i: u32| {
        pool.get(i as usize)
            .cloned()
            .ok_or_else(|| bad("string index out of range"))
    };
    let opt = |i: u32| {
        if i == 0 {
            Ok(None)
        } else {
            at(i - 1).map(Some)
        }
    };
    let mut tpos = 0usize;
    for rec in recs.chunks_exact(ENTRY_RECORD) {
        let u = |k: usize| u32::from_le_bytes([rec[k], rec[k + 1], rec[k + 2], rec[k + 3]]);
        let tend = tpos + u(0) as usize;
        let term = terms
            .get(tpos..tend)
            .ok_or_else(|| bad("term out of range"))?;
        tpos = tend;
        let mut line = [0u8; 8];
        line.copy_from_slice(&rec[20..28]);
        let flags = rec[28];
        if flags > 3 {
            return Err(bad("bad entry flags"));
        }
        entries.push(Entry {
            term: Arc::from(term),
            risk: at(u(4))?,
            severity: opt(u(8))?,
            action: opt(u(12))?,
            source: at(u(16))?,
            line: usize::try_from(u64::from_le_bytes(line))
                .map_err(|_| bad("line out of range"))?,
            regex: flags & 1 != 0,
            weight: (flags & 2 != 0).then(|| f32::from_bits(u(29))),
        });
    }
    if tpos != terms.len() {
        return Err(bad("terms and entries disagree"));
    }
    Ok(entries)
}

/// An automaton being deserialized (see [`R::ac_on`]).
type AcLoad<'s> = ScopedJoinHandle<'s, Result<CharwiseDoubleArrayAhoCorasick<u32>, ScreenError>>;

/// What a loader thread returned, once it is done (a panic there is an error
/// naming `what`).
fn join<T>(h: ScopedJoinHandle<'_, T>, what: &str) -> Result<T, ScreenError> {
    h.join()
        .map_err(|_| bad(format!("{what}: its loader failed")))
}

/// The automaton of [`R::ac_on`], if there is one, once its thread is done.
fn joined(
    h: Option<AcLoad<'_>>,
) -> Result<Option<CharwiseDoubleArrayAhoCorasick<u32>>, ScreenError> {
    h.map(|h| join(h, "automaton")?).transpose()
}

/// Index of `s` in the string pool, adding it when new (risks, severities,
/// actions and sources repeat: the file holds each once).
fn pooled<'p>(pool: &mut Vec<&'p str>, index: &mut HashMap<&'p str, u32>, s: &'p str) -> u32 {
    *index.entry(s).or_insert_with(|| {
        pool.push(s);
        (pool.len() - 1) as u32
    })
}

fn via_code(v: Via) -> u8 {
    match v {
        Via::Text => 0,
        Via::Pinyin => 1,
        Via::Initials => 2,
        Via::Homophone => 3,
        Via::MixedPinyin => 4,
    }
}

fn via_of(c: u8) -> Result<Via, ScreenError> {
    Ok(match c {
        0 => Via::Text,
        1 => Via::Pinyin,
        2 => Via::Initials,
        3 => Via::Homophone,
        4 => Via::MixedPinyin,
        _ => return Err(bad("bad `via` code")),
    })
}

fn write_options(w: &mut W, o: &Options) {
    let Options {
        width,
        case,
        traditional,
        digits,
        separators,
        max_skip,
        pinyin,
        pinyin_initials,
        min_initials_chars,
        ascii_word_boundary,
        min_term_chars,
        homophones,
        mixed_pinyin,
    } = *o;
    for b in [
        width,
        case,
        traditional,
        digits,
        separators,
        pinyin,
        pinyin_initials,
        ascii_word_boundary,
        homophones,
        mixed_pinyin,
    ] {
        w.bool(b);
    }
    w.usize(max_skip);
    w.usize(min_initials_chars);
    w.usize(min_term_chars);
}

fn read_options(r: &mut R<'_>) -> Result<Options, ScreenError> {
    let mut b = [false; 10];
    for x in &mut b {
        *x = r.bool()?;
    }
    Ok(Options {
        width: b[0],
        case: b[1],
        traditional: b[2],
        digits: b[3],
        separators: b[4],
        pinyin: b[5],
        pinyin_initials: b[6],
        ascii_word_boundary: b[7],
        homophones: b[8],
        mixed_pinyin: b[9],
        max_skip: r.usize()?,
        min_initials_chars: r.usize()?,
        min_term_chars: r.usize()?,
    })
}

fn write_stats(w: &mut W, s: &BuildStats) {
    let BuildStats {
        lines,
        entries,
        duplicates,
        regexes,
        allow,
        dropped_short,
        patterns,
        pinyin_patterns,
        automaton_bytes,
        gate_fill_permille,
    } = s.clone();
    for x in [
        lines,
        entries,
        duplicates,
        regexes,
        allow,
        dropped_short,
        patterns,
        pinyin_patterns,
        automaton_bytes,
    ] {
        w.usize(x);
    }
    w.u32(gate_fill_permille);
}

fn read_stats(r: &mut R<'_>) -> Result<BuildStats, ScreenError> {
    Ok(BuildStats {
        lines: r.usize()?,
        entries: r.usize()?,
        duplicates: r.usize()?,
        regexes: r.usize()?,
        allow: r.usize()?,
        dropped_short: r.usize()?,
        patterns: r.usize()?,
        pinyin_patterns: r.usize()?,
        automaton_bytes: r.usize()?,
        gate_fill_permille: r.u32()?,
    })
}

impl Engine {
    /// The engine as a compiled lexicon (see the module documentation).
    pub fn to_compiled(&self) -> Vec<u8> {
        let Engine {
            opts,
            table,
            ac,
            gate,
            sound,
            pinyin_ac,
            punct,
            pats,
            targets,
            ring,
            max_chars,
            entries,
            regexes,
            regex_set: _,
            detectors,
            detector_risk,
            stats,
        } = self;
        // One buffer, sized once: the header (filled in at the end), then
        // the payload. The automata are most of it; growing a buffer of
        // this size by doubling took more time than everything else.
        let automata = [
            ac.as_ref(),
            pinyin_ac.as_ref(),
            sound.as_ref().map(|m| &m.ac),
        ]
        .into_iter()
        .flatten()
        .map(|a| a.heap_bytes())
        .sum::<usize>();
        let mut w = W {
            b: Vec::with_capacity(HEADER + automata + (8 << 20)),
        };
        w.b.resize(HEADER, 0);
        write_options(&mut w, opts);
        w.u64(table.fingerprint());
        w.usize(table.bmp().len());
        for &x in table.bmp() {
            w.b.extend_from_slice(&x.to_le_bytes());
        }
        w.pairs(table.bmp_astral().iter().map(|&(c, v)| (u32::from(c), v)));
        w.pairs(table.folds().iter().copied());
        // Entries: a pool of the strings that repeat, all terms as one
        // string, then fixed-size records (term length, pool indexes with
        // 0 for none, line, flags, weight).
        let mut pool: Vec<&str> = Vec::new();
        let mut index: HashMap<&str, u32> = HashMap::new();
        let mut terms = String::new();
        let mut records = W::default();
        for e in entries {
            let Entry {
                term,
                risk,
                severity,
                action,
                source,
                line,
                regex,
                weight,
            } = e;
            terms.push_str(term);
            records.u32(term.len() as u32);
            records.u32(pooled(&mut pool, &mut index, risk));
            for o in [severity, action] {
                records.u32(
                    o.as_deref()
                        .map_or(0, |s| 1 + pooled(&mut pool, &mut index, s)),
                );
            }
            records.u32(pooled(&mut pool, &mut index, source));
            records.u64(*line as u64);
            records.u8(u8::from(*regex) | (u8::from(weight.is_some()) << 1));
            records.u32(weight.map_or(0, f32::to_bits));
        }
        w.usize(pool.len());
        for s in &pool {
            w.str(s);
        }
        w.str(&terms);
        w.usize(entries.len());
        w.b.extend_from_slice(&records.b);
        w.ac(ac.as_ref());
        w.ac(pinyin_ac.as_ref());
        let (bits, ends, singles, astral, any) = gate.parts();
        w.words(bits);
        w.words(ends);
        w.words(singles);
        w.bool(astral);
        w.bool(any);
        w.usize(pats.len());
        for p in pats {
            let PatInfo {
                nchars,
                ascii_word,
                allow,
                targets,
                punct: _,
            } = *p;
            w.u32(nchars);
            w.bool(ascii_word);
            w.bool(allow);
            w.u32(targets.0);
            w.u32(targets.1);
        }
        w.usize(targets.len());
        for &(e, via) in targets {
            w.u32(e);
            w.u8(via_code(via));
        }
        w.usize(*ring);
        w.usize(*max_chars);
        let mut pk: Vec<_> = punct.iter().collect();
        pk.sort_by_key(|(k, _)| **k);
        w.usize(pk.len());
        for (k, p) in pk {
            let Punct { lead, inner, trail } = p;
            w.u32(*k);
            w.chars(lead);
            w.chars(inner);
            w.chars(trail);
        }
        match sound {
            None => w.u8(0),
            Some(m) => {
                let SoundMatcher {
                    sounds: _,
                    ac,
                    pats,
                    chars,
                    spell,
                } = m;
                w.u8(1);
                w.ac(Some(ac));
                w.usize(pats.len());
                for (n, es) in pats {
                    w.u32(*n);
                    w.usize(es.len());
                    for &e in es {
                        w.u32(e);
                    }
                }
                w.chars(spell);
                let mut ck: Vec<_> = chars.iter().collect();
                ck.sort_by_key(|(k, _)| **k);
                w.usize(ck.len());
                for (k, &(a, b)) in ck {
                    w.u32(*k);
                    w.u32(a);
                    w.u32(b);
                }
            }
        }
        w.usize(regexes.len());
        for (e, re) in regexes {
            w.u32(*e);
            w.str(re.as_str());
        }
        for d in Detector::ALL {
            w.bool(detectors[d.index()]);
            w.opt_str(detector_risk[d.index()].as_deref());
        }
        write_stats(&mut w, stats);

        let mut out = w.b;
        let payload = &out[HEADER..];
        let mut head = Vec::with_capacity(HEADER);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&COMPILED_FORMAT.to_le_bytes());
        head.extend_from_slice(&engine_fingerprint().to_le_bytes());
        head.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        head.extend_from_slice(&hash64(payload).to_le_bytes());
        out[..HEADER].copy_from_slice(&head);
        out
    }

    /// Loads a compiled lexicon written by [`Engine::to_compiled`] of this
    /// same engine build. Anything else is an error saying what is wrong.
    pub fn from_compiled(bytes: &[u8]) -> Result<Engine, ScreenError> {
        if !is_compiled(bytes) {
            return Err(bad("not a compiled beian lexicon (no BEIANLEX header)"));
        }
        if bytes.len() < HEADER {
            return Err(bad("truncated header"));
        }
        let mut h = R { b: bytes, pos: 8 };
        let format = h.u32()?;
        if format != COMPILED_FORMAT {
            return Err(bad(format!(
                "format {format}, this beian reads format {COMPILED_FORMAT}: recompile it with `beian lexicon compile`"
            )));
        }
        if h.u64()? != engine_fingerprint() {
            return Err(bad(format!(
                "stale: compiled by another beian build (this is beian-screen {}); recompile it with `beian lexicon compile`",
                env!("CARGO_PKG_VERSION")
            )));
        }
        let len = h.usize()?;
        let want = h.u64()?;
        let payload = &bytes[HEADER..];
        if payload.len() != len {
            return Err(bad(format!(
                "truncated or padded: {} payload bytes, header says {len}",
                payload.len()
            )));
        }
        // The checksum is taken while the payload is read (it is all bounds-
        // checked): a damaged file is reported as damaged, whatever else failed.
        std::thread::scope(|scope| {
            let sum = scope.spawn(|| hash64(payload) == want);
            let engine = read_payload(payload, scope);
            if !sum.join().unwrap_or(false) {
                return Err(bad("checksum mismatch: the file is damaged"));
            }
            engine
        })
    }
}

/// The payload of a compiled lexicon (after the header), its automata
/// deserialized on threads of `scope`.
fn read_payload<'s>(payload: &'s [u8], scope: &'s Scope<'s, '_>) -> Result<Engine, ScreenError> {
    // The pinyin syllable tables of the sound matcher do not depend on the file.
    let sounds = scope.spawn(Sounds::new);
    let mut r = R { b: payload, pos: 0 };
    let opts = read_options(&mut r)?;
    // The normalization table as compiled (building it anew takes
    // longer than loading everything else).
    let fp = r.u64()?;
    let n = r.count(2)?;
    let raw = r.take(n * 2)?;
    let bmp: Box<[u16]> = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let bmp_astral = r
        .pairs()?
        .into_iter()
        .map(|(c, v)| {
            Ok((
                u16::try_from(c).map_err(|_| bad("bad normalization table"))?,
                v,
            ))
        })
        .collect::<Result<_, ScreenError>>()?;
    let folds = r.pairs()?.into_boxed_slice();
    let table = Table::from_parts(bmp, bmp_astral, folds, opts)
        .ok_or_else(|| bad("bad normalization table"))?;
    if table.fingerprint() != fp {
        return Err(bad("normalization table damaged"));
    }
    let table = Arc::new(table);
    let n = r.count(8)?;
    let mut pool: Vec<Arc<str>> = Vec::with_capacity(n);
    for _ in 0..n {
        pool.push(r.arc()?);
    }
    let terms = r.str()?;
    let n_entries = r.count(ENTRY_RECORD)?;
    let recs = r.take(n_entries * ENTRY_RECORD)?;
    // The entries (an `Arc` per term and per string reference) are made on a
    // thread while the rest is read; only their count is needed before then.
    let entries = scope.spawn(move || read_entries(recs, terms, pool));
    let ac = r.ac_on(scope)?;
    let pinyin_ac = r.ac_on(scope)?;
    let mut gate = {
        let (bits, ends, singles) = (r.words()?, r.words()?, r.words()?);
        let (astral, any) = (r.bool()?, r.bool()?);
        Bigrams::from_parts(bits, ends, singles, astral, any)
            .ok_or_else(|| bad("gate tables of the wrong size"))?
    };
    let n = r.count(14)?;
    let mut pats = Vec::with_capacity(n);
    for _ in 0..n {
        pats.push(PatInfo {
            nchars: r.u32()?,
            ascii_word: r.bool()?,
            allow: r.bool()?,
            targets: (r.u32()?, r.u32()?),
            punct: false, // set by mark_punct below
        });
    }
    let n = r.count(5)?;
    let mut targets = Vec::with_capacity(n);
    for _ in 0..n {
        let e = r.u32()?;
        if e as usize >= n_entries {
            return Err(bad("target entry out of range"));
        }
        targets.push((e, via_of(r.u8()?)?));
    }
    if pats
        .iter()
        .any(|p| p.targets.0 > p.targets.1 || p.targets.1 as usize > targets.len())
    {
        return Err(bad("pattern targets out of range"));
    }
    let ring = r.usize()?;
    let max_chars = r.usize()?;
    if !ring.is_power_of_two() || ring < max_chars.saturating_add(2).max(4) || ring > 1 << 24 {
        return Err(bad("bad ring size"));
    }
    let n = r.count(28)?;
    let mut punct = FxHashMap::with_capacity_and_hasher(n, Default::default());
    for _ in 0..n {
        let k = r.u32()?;
        punct.insert(
            k,
            Punct {
                lead: r.chars()?,
                inner: r.chars()?,
                trail: r.chars()?,
            },
        );
    }
    super::mark_punct(&mut pats, &targets, &punct);
    let sound = match r.u8()? {
        0 => None,
        1 => {
            let ac = r
                .ac_on(scope)?
                .ok_or_else(|| bad("sound automaton missing"))?;
            let n = r.count(12)?;
            let mut spats = Vec::with_capacity(n);
            for _ in 0..n {
                let k = r.u32()?;
                let m = r.count(4)?;
                let es = (0..m).map(|_| r.u32()).collect::<Result<Vec<_>, _>>()?;
                if es.iter().any(|&e| e as usize >= n_entries) {
                    return Err(bad("sound entry out of range"));
                }
                spats.push((k, es));
            }
            let spell = r.chars()?;
            let n = r.count(12)?;
            let mut chars = FxHashMap::with_capacity_and_hasher(n, Default::default());
            for _ in 0..n {
                let (k, a, b) = (r.u32()?, r.u32()?, r.u32()?);
                if a > b || b as usize > spell.len() {
                    return Err(bad("sound spelling out of range"));
                }
                chars.insert(k, (a, b));
            }
            Some((ac, spats, chars, spell))
        }
        _ => return Err(bad("bad sound tag")),
    };
    let n = r.count(12)?;
    let mut regexes = Vec::with_capacity(n);
    for _ in 0..n {
        let e = r.u32()?;
        let src = r.str()?;
        let re = Regex::new(src).map_err(|e| bad(format!("regular expression: {e}")))?;
        regexes.push((e, re));
    }
    let regex_set = if regexes.is_empty() {
        None
    } else {
        Some(
            RegexSet::new(regexes.iter().map(|(_, r)| r.as_str()))
                .map_err(|e| bad(format!("regular expressions: {e}")))?,
        )
    };
    let mut detectors = [false; 6];
    let mut detector_risk: [Option<Arc<str>>; 6] = Default::default();
    for d in Detector::ALL {
        detectors[d.index()] = r.bool()?;
        detector_risk[d.index()] = r.opt_arc()?;
    }
    let stats = read_stats(&mut r)?;
    if r.pos != payload.len() {
        return Err(bad("trailing bytes"));
    }
    let (ac, pinyin_ac) = (joined(ac)?, joined(pinyin_ac)?);
    if let Some(a) = &ac {
        gate.index_singles(a);
    }
    let entries = join(entries, "entries")??;
    let sound = match sound {
        None => None,
        Some((ac, pats, chars, spell)) => Some(SoundMatcher {
            sounds: join(sounds, "sound tables")?,
            ac: join(ac, "sound automaton")??,
            pats,
            chars,
            spell,
        }),
    };
    if let Some(a) = &ac
        && a.num_states() == 0
    {
        return Err(bad("empty automaton"));
    }
    Ok(Engine {
        opts,
        table,
        ac,
        gate,
        sound,
        pinyin_ac,
        punct,
        pats,
        targets,
        ring,
        max_chars,
        entries,
        regexes,
        regex_set,
        detectors,
        detector_risk,
        stats,
    })
}

impl Engine {
    /// Turns the built-in detectors on or off (a compiled lexicon keeps the
    /// lexicon; which detectors run is the caller's choice). `None` keeps a
    /// detector's risk code.
    pub fn set_detectors(&mut self, on: &[Detector]) {
        for d in Detector::ALL {
            self.detectors[d.index()] = on.contains(&d);
            if self.detector_risk[d.index()].is_none() {
                self.detector_risk[d.index()] = Some(Arc::from(d.default_risk()));
            }
        }
    }
}
