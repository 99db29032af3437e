//! The engine: builder, automaton, scanning, findings.

use std::sync::Arc;

use daachorse::{CharwiseDoubleArrayAhoCorasick, CharwiseDoubleArrayAhoCorasickBuilder, MatchKind};
use pinyin::ToPinyin;
use regex::{Regex, RegexSet};
use rustc_hash::FxHashMap;
use serde::Serialize;
use smallvec::SmallVec;

use crate::bigram::{Bigrams, GateView, INNER, LAST, Single};
use crate::detect::{self, Detector};
use crate::lexicon::{ParsedLexicon, parse_lexicon_ref};
use crate::normalize::{BREAK, Normalized, Options, Plain, SEP, Table};
use crate::sound::Sounds;
use crate::{ScreenError, UNCLASSIFIED};

/// Compiled lexicons (`beian lexicon compile`): the built engine as bytes.
pub(crate) mod compiled;

/// One lexicon entry (deduplicated on term and risk).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The term as written in the lexicon (for `re:` entries, the pattern).
    pub term: Arc<str>,
    pub risk: Arc<str>,
    pub severity: Option<Arc<str>>,
    pub action: Option<Arc<str>>,
    /// Lexicon source name and 1-based line of the first occurrence.
    pub source: Arc<str>,
    pub line: usize,
    /// A `re:` entry.
    pub regex: bool,
    /// Specificity from a clean reference (`beian lexicon audit`): 1 for a
    /// term no clean record contains, towards 0 for everyday words.
    pub weight: Option<f32>,
}

/// How a lexicon hit was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// The term itself, after normalization.
    Text,
    /// The full pinyin of a Chinese term.
    Pinyin,
    /// The pinyin initials of a Chinese term.
    Initials,
    /// Characters of the same sound ([`Options::homophones`]).
    Homophone,
    /// Pinyin syllables in place of some characters
    /// ([`Options::mixed_pinyin`]).
    MixedPinyin,
}

/// What produced a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HitKind {
    /// A lexicon term (index into [`Engine::entries`]).
    Entry { entry: u32, via: Via },
    /// A `re:` entry.
    Regex { entry: u32 },
    /// A built-in detector.
    Detector(Detector),
}

/// A compact finding: byte offsets into the original record and its cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub kind: HitKind,
}

/// A finding with owned strings, ready to print. One per span: when several
/// entries (or lexicons) match the same bytes, `risk` is the first one's
/// and `risks` lists them all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Byte offset of the first byte in the original record.
    pub start: usize,
    /// Byte offset one past the last byte in the original record.
    pub end: usize,
    /// Exactly `record[start..end]`.
    pub matched: String,
    /// The lexicon entry as written (the detector name for detectors).
    pub term: Arc<str>,
    /// Risk code (GB/T 45654 Appendix A, e.g. `A.1.a`) or `unclassified`.
    pub risk: Arc<str>,
    /// Every distinct risk code of the entries matching this span, `risk` first.
    pub risks: Vec<Arc<str>>,
    /// The highest audited weight of the entries matching this span
    /// (absent when no lexicon was audited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<f32>,
    /// `lexicon`, `regex`, or a detector name (`id-card`, `mobile`, ...).
    pub detector: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Arc<str>>,
    /// For lexicon hits: `text`, `pinyin` or `initials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
}

/// Counts from building an engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BuildStats {
    /// Usable lexicon lines read.
    pub lines: usize,
    /// Distinct (term, risk) entries.
    pub entries: usize,
    /// Lines repeating an earlier (term, risk).
    pub duplicates: usize,
    /// `re:` entries.
    pub regexes: usize,
    /// Allow-list phrases.
    pub allow: usize,
    /// Terms dropped because they normalize to nothing or one ASCII character.
    pub dropped_short: usize,
    /// Patterns in the automaton (terms, pinyin variants, allow phrases).
    pub patterns: usize,
    /// Of which pinyin or initials variants.
    pub pinyin_patterns: usize,
    /// Heap bytes of the automaton and normalization table.
    pub automaton_bytes: usize,
    /// Per mille of the bigram gate's bits that are set: the chance that a
    /// pair of characters found in no pattern still opens the gate.
    pub gate_fill_permille: u32,
}

/// Builds an [`Engine`]. Detectors are all on by default.
#[derive(Debug, Clone)]
pub struct EngineBuilder {
    opts: Options,
    entries: Vec<Entry>,
    /// The duplicate check: entry numbers, hashed by term and compared on
    /// term and risk with the entries themselves (no key copied; see
    /// [`key_entry`]).
    keys: hashbrown::HashTable<u32>,
    regexes: Vec<(u32, Regex)>,
    allow: Vec<Arc<str>>,
    detectors: [Option<Arc<str>>; 6],
    stats: BuildStats,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// The hash of a string in the tables of entry and key numbers
/// ([`EngineBuilder`]'s duplicate check, [`Keys`]).
fn str_hash(s: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(s)
}

/// The slot of (`term`, `risk`) in [`EngineBuilder`]'s duplicate check:
/// occupied by the entry that has them, or vacant. Hashed by the term alone
/// (a term under several risks is several entries, told apart here by the
/// comparison).
fn key_entry<'k>(
    keys: &'k mut hashbrown::HashTable<u32>,
    entries: &[Entry],
    term: &str,
    risk: &str,
) -> hashbrown::hash_table::Entry<'k, u32> {
    keys.entry(
        str_hash(term),
        |&i| {
            let e = &entries[i as usize];
            *e.term == *term && *e.risk == *risk
        },
        |&i| str_hash(&entries[i as usize].term),
    )
}

/// The one `Arc` of `s` in `shared`.
fn intern<'a>(shared: &mut FxHashMap<&'a str, Arc<str>>, s: &'a str) -> Arc<str> {
    shared.entry(s).or_insert_with(|| Arc::from(s)).clone()
}

impl EngineBuilder {
    pub fn new() -> Self {
        EngineBuilder {
            opts: Options::default(),
            entries: Vec::new(),
            keys: hashbrown::HashTable::new(),
            regexes: Vec::new(),
            allow: Vec::new(),
            detectors: Detector::ALL.map(|d| Some(Arc::from(d.default_risk()))),
            stats: BuildStats::default(),
        }
    }

    /// Sets the normalization switches.
    pub fn options(&mut self, opts: Options) -> &mut Self {
        self.opts = opts;
        self
    }

    /// Starts building the normalization table for the options set so far
    /// on a background thread, so that it is ready when
    /// [`EngineBuilder::build`] needs it (the table is built once per
    /// process and options, and shared). Call it before reading lexicons:
    /// the table then builds while they are read. It changes no result.
    pub fn warm_up(&mut self) -> &mut Self {
        let opts = self.opts;
        std::thread::spawn(move || {
            let _ = Table::shared(opts);
        });
        self
    }

    /// Turns a detector on (with its risk code, or the default) or off.
    pub fn detector(&mut self, d: Detector, on: bool, risk: Option<&str>) -> &mut Self {
        self.detectors[d.index()] = on.then(|| Arc::from(risk.unwrap_or(d.default_risk())));
        self
    }

    /// Turns every detector off.
    pub fn no_detectors(&mut self) -> &mut Self {
        self.detectors = Default::default();
        self
    }

    /// Adds a lexicon from its contents: plain (one term per line) or TSV
    /// `term<TAB>risk[<TAB>severity[<TAB>action]]`; `re:` starts a regular
    /// expression. Terms without a risk get `default_risk`, else
    /// `unclassified`. An empty lexicon is an error.
    pub fn lexicon_text(
        &mut self,
        source_name: &str,
        text: &str,
        default_risk: Option<&str>,
    ) -> Result<&mut Self, ScreenError> {
        self.lexicon_parsed(&ParsedLexicon::parse(source_name, text)?, default_risk)
    }

    /// Adds a lexicon parsed by [`ParsedLexicon::parse`] (perhaps on
    /// another thread): the same as [`EngineBuilder::lexicon_text`] on its
    /// text. An empty lexicon is an error.
    pub fn lexicon_parsed(
        &mut self,
        parsed: &ParsedLexicon<'_>,
        default_risk: Option<&str>,
    ) -> Result<&mut Self, ScreenError> {
        let source_name = parsed.source_name.as_str();
        let lines = &parsed.lines;
        if lines.is_empty() {
            return Err(ScreenError::EmptyLexicon {
                source_name: source_name.to_owned(),
            });
        }
        let source: Arc<str> = Arc::from(source_name);
        let default_risk: Arc<str> = Arc::from(default_risk.unwrap_or(UNCLASSIFIED));
        // Risks, severities and actions repeat: one `Arc` each, not one per
        // line.
        let mut shared: FxHashMap<&str, Arc<str>> = FxHashMap::default();
        self.reserve(lines.len());
        for &l in lines {
            self.stats.lines += 1;
            let risk = l
                .risk
                .map_or_else(|| default_risk.clone(), |r| intern(&mut shared, r));
            let slot = match key_entry(&mut self.keys, &self.entries, l.term, &risk) {
                hashbrown::hash_table::Entry::Occupied(_) => {
                    self.stats.duplicates += 1;
                    continue;
                }
                hashbrown::hash_table::Entry::Vacant(v) => v,
            };
            let term: Arc<str> = Arc::from(l.term);
            let idx = self.entries.len() as u32;
            if l.regex {
                let re = Regex::new(l.term).map_err(|e| ScreenError::BadRegex {
                    source_name: source_name.to_owned(),
                    line: l.line,
                    pattern: l.term.to_owned(),
                    message: e.to_string(),
                })?;
                self.regexes.push((idx, re));
            }
            slot.insert(idx);
            self.entries.push(Entry {
                term,
                risk,
                severity: l.severity.map(|x| intern(&mut shared, x)),
                action: l.action.map(|x| intern(&mut shared, x)),
                source: source.clone(),
                line: l.line,
                regex: l.regex,
                weight: l.weight,
            });
        }
        Ok(self)
    }

    /// Adds one term.
    pub fn term(&mut self, term: &str, risk: &str) -> &mut Self {
        if !term.trim().is_empty()
            && let hashbrown::hash_table::Entry::Vacant(v) =
                key_entry(&mut self.keys, &self.entries, term, risk)
        {
            v.insert(self.entries.len() as u32);
            self.entries.push(Entry {
                term: Arc::from(term),
                risk: Arc::from(risk),
                severity: None,
                action: None,
                source: Arc::from("(api)"),
                line: 0,
                regex: false,
                weight: None,
            });
            self.stats.lines += 1;
        }
        self
    }

    /// Adds an allow-list: one phrase per line (a TSV line uses its first
    /// column). A hit inside an allowed phrase is suppressed; a hit longer
    /// than the phrase wins.
    pub fn allow_text(&mut self, source_name: &str, text: &str) -> Result<&mut Self, ScreenError> {
        let lines = parse_lexicon_ref(source_name, text)?;
        if lines.is_empty() {
            return Err(ScreenError::EmptyLexicon {
                source_name: source_name.to_owned(),
            });
        }
        for l in lines {
            self.allow.push(Arc::from(l.term));
        }
        Ok(self)
    }

    /// Makes room for `lines` more lexicon lines (entries and the
    /// duplicate check), so that lexicons added one by one fill one
    /// allocation instead of regrowing it file by file. Only a hint: adding
    /// more lines than reserved is fine.
    pub fn reserve(&mut self, lines: usize) -> &mut Self {
        self.entries.reserve(lines);
        let entries = &self.entries;
        self.keys
            .reserve(lines, |&i| str_hash(&entries[i as usize].term));
        self
    }

    /// Number of distinct entries so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries added so far.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Counts so far (lines read, duplicates); the rest is filled by [`EngineBuilder::build`].
    pub fn stats(&self) -> &BuildStats {
        &self.stats
    }

    /// Builds the engine; the builder stays as it is (its entries are
    /// copied into the engine). [`EngineBuilder::into_engine`] moves them.
    pub fn build(&self) -> Result<Engine, ScreenError> {
        let mut engine = self.assemble()?;
        engine.entries = self.entries.clone();
        engine.regexes = self.regexes.clone();
        Ok(engine)
    }

    /// Builds the engine from the builder, moving its entries rather than
    /// copying them: the same engine as [`EngineBuilder::build`], without
    /// a copy of every entry (and the builder's drop of them) on the
    /// start-up's critical path.
    pub fn into_engine(mut self) -> Result<Engine, ScreenError> {
        let mut engine = self.assemble()?;
        engine.entries = std::mem::take(&mut self.entries);
        engine.regexes = std::mem::take(&mut self.regexes);
        Ok(engine)
    }

    /// The engine, all but its entries and regular expressions (left
    /// empty: [`EngineBuilder::build`] and [`EngineBuilder::into_engine`]
    /// fill them).
    fn assemble(&self) -> Result<Engine, ScreenError> {
        let table = Table::shared(self.opts)?;
        let mut stats = self.stats.clone();
        stats.entries = self.entries.len();
        stats.regexes = self.regexes.len();
        stats.allow = self.allow.len();

        // Main automaton: terms and allow phrases. Pinyin automaton: the
        // pinyin and initials variants (pure ASCII), stepped only over ASCII.
        // The pinyin side (and the sound side) is generated and built on
        // scoped threads while the main automaton builds.
        let mut index = Keys::with_capacity(self.entries.len() + self.allow.len());
        let mut pats: Vec<PatBuild> = Vec::with_capacity(self.entries.len() + self.allow.len());
        let word_rule = self.opts.ascii_word_boundary;
        let min_chars = self.opts.min_term_chars.max(1);
        let mut kept: Vec<u32> = Vec::new();
        let mut punct: FxHashMap<u32, Punct> = FxHashMap::default();
        let want_sound = self.opts.homophones || self.opts.mixed_pinyin;
        // What the sound automaton is built from, normalized once here.
        let mut sound_terms = SoundTerms::default();
        // Cores, asked once: they size the term normalization and the
        // automata threads below.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        for (i, norm) in normalize_terms(&table, &self.entries, min_chars, cores)
            .into_iter()
            .enumerate()
        {
            match norm {
                TermNorm::Regex => {}
                TermNorm::Short => stats.dropped_short += 1,
                TermNorm::Kept { text, nchars, p } => {
                    if want_sound && p.is_none() && nchars >= 3 {
                        sound_terms.push(i as u32, &text);
                    }
                    let ascii = word_rule && text.is_ascii();
                    add_pat(
                        &mut index,
                        &mut pats,
                        text,
                        nchars,
                        Some((i as u32, Via::Text)),
                        ascii,
                    );
                    kept.push(i as u32);
                    if let Some(p) = p {
                        punct.insert(i as u32, p);
                    }
                }
            }
        }
        for a in &self.allow {
            let (text, nchars) = Normalized::text_with_table(&table, a);
            if nchars > 0 {
                add_pat(&mut index, &mut pats, text, nchars, None, false);
            }
        }
        let base = pats.len() as u32;
        let want_pinyin = self.opts.pinyin || self.opts.pinyin_initials;
        let (ac, pinyin, sound) = std::thread::scope(|s| {
            let table = &table;
            let kept = &kept;
            let sound_terms = &sound_terms;
            // The sound automaton (homophones, pinyin mixed in), from the
            // terms set aside above: on a third thread where there are
            // three cores, else after the pinyin automaton on the second
            // (three threads on two cores would slow the main one down).
            let sound_job = move || {
                if want_sound {
                    self.sound_matcher(sound_terms)
                } else {
                    Ok(None)
                }
            };
            let alone = cores >= 3;
            let hs = alone.then(|| s.spawn(sound_job));
            let pats = &pats;
            let punct = &punct;
            let pinyin_job = move || {
                // The text patterns' targets first: with two cores or more
                // this thread finishes before the main automaton (measured),
                // so the layout is off the start-up's critical path.
                let layout = Layout::default().lay_out(pats, &self.entries, punct);
                let mut pindex = Keys::default();
                let mut ppats: Vec<PatBuild> = Vec::new();
                if want_pinyin {
                    // Lower-case letters that normalize to themselves: a
                    // key of only those is its own normalized text, one
                    // character per byte (no walk, no copy).
                    let letters_kept =
                        (b'a'..=b'z').all(|b| table.map(char::from(b)) == u32::from(b));
                    for &i in kept {
                        let e = &self.entries[i as usize];
                        if has_punct(table, &e.term) {
                            continue; // pinyin cannot carry the punctuation
                        }
                        for (key, via) in pinyin_variants(table, &e.term, &self.opts) {
                            let (text, k) =
                                if letters_kept && key.bytes().all(|b| b.is_ascii_lowercase()) {
                                    let k = key.len();
                                    (key, k)
                                } else {
                                    Normalized::text_with_table(table, &key)
                                };
                            if k >= 2 && text.is_ascii() {
                                add_pat(&mut pindex, &mut ppats, text, k, Some((i, via)), true);
                            }
                        }
                    }
                }
                let n = ppats.iter().map(|p| p.targets.len()).sum::<usize>();
                // The pinyin patterns after the text patterns; then the
                // punctuation flags of all.
                let mut layout = layout.lay_out(&ppats, &self.entries, punct);
                mark_punct(&mut layout.infos, &layout.targets, punct);
                pindex.automaton(base).map(|a| (layout, ppats.len(), n, a))
            };
            let h = s.spawn(move || (pinyin_job(), (!alone).then(sound_job)));
            let mut gate = Bigrams::new(index.iter());
            let ac = index.automaton(0).map(|a| {
                if let Some(a) = &a {
                    gate.index_singles(a);
                }
                (a, gate)
            });
            let (py, after) = h.join().unwrap_or_else(|_| {
                let e = || ScreenError::Automaton("pinyin automaton build panicked".into());
                (Err(e()), Some(Err(e())))
            });
            // Built on its own thread, or after the pinyin automaton.
            let sound = match hs {
                Some(hs) => hs.join().unwrap_or_else(|_| {
                    Err(ScreenError::Automaton(
                        "sound automaton build panicked".into(),
                    ))
                }),
                None => after.unwrap_or(Ok(None)),
            };
            (ac, py, sound)
        });
        let (ac, gate) = ac?;
        let (layout, pinyin_pats, pinyin_patterns, pinyin_ac) = pinyin?;
        stats.patterns = pats.len() + pinyin_pats;
        stats.pinyin_patterns = pinyin_patterns;
        if stats.patterns == 0
            && self.regexes.is_empty()
            && self.detectors.iter().all(Option::is_none)
        {
            return Err(ScreenError::NothingToMatch);
        }

        // Laid out on the side thread, text patterns then pinyin ones.
        let Layout {
            infos,
            targets,
            max_chars,
        } = layout;
        stats.automaton_bytes = ac.as_ref().map_or(0, |a| a.heap_bytes())
            + pinyin_ac.as_ref().map_or(0, |a| a.heap_bytes())
            + 0x10000 * 2
            + gate.heap_bytes()
            + infos.len() * std::mem::size_of::<PatInfo>()
            + targets.len() * std::mem::size_of::<(u32, Via)>();
        let regex_set = if self.regexes.is_empty() {
            None
        } else {
            Some(
                RegexSet::new(self.regexes.iter().map(|(_, r)| r.as_str()))
                    .map_err(|e| ScreenError::Automaton(e.to_string()))?,
            )
        };
        let mut detectors = [false; 6];
        for d in Detector::ALL {
            detectors[d.index()] = self.detectors[d.index()].is_some();
        }
        stats.gate_fill_permille = (gate.fill() * 1000.0).round() as u32;
        let sound = sound?;
        if let Some(m) = &sound {
            stats.automaton_bytes += m.ac.heap_bytes()
                + m.sounds.heap_bytes()
                + m.pats.iter().map(|p| 24 + 4 * p.1.len()).sum::<usize>();
        }
        Ok(Engine {
            opts: self.opts,
            table,
            ac,
            gate,
            sound,
            pinyin_ac,
            punct,
            pats: infos,
            targets,
            // Matches and automaton replays look back `max_chars`.
            ring: (max_chars + 2).next_power_of_two(),
            max_chars,
            entries: Vec::new(),
            regexes: Vec::new(),
            regex_set,
            detectors,
            detector_risk: self.detectors.clone(),
            stats,
        })
    }
}

impl EngineBuilder {
    /// The homophone automaton over the kept Chinese terms of three or more
    /// characters.
    fn sound_matcher(&self, terms: &SoundTerms) -> Result<Option<SoundMatcher>, ScreenError> {
        let sounds = Sounds::new();
        let mut index = Keys::default();
        let mut pats: Vec<(u32, Vec<u32>)> = Vec::new();
        let mut chars: FxHashMap<u32, (u32, u32)> = FxHashMap::default();
        let mut spell: Vec<char> = Vec::new();
        for (i, text) in terms.iter() {
            let e = &self.entries[i as usize];
            // Normalized text holds only kept characters.
            let nchars = text.chars().count();
            let Some(key) = sounds.key(text) else {
                continue;
            };
            let (p, new) = index.insert(key);
            if new {
                pats.push((nchars as u32, Vec::new()));
            }
            // Every entry is kept (same sound, other characters): without
            // homophones only the entry whose characters are written wins.
            let targets = &mut pats[p as usize].1;
            if !targets.iter().any(|&x| {
                let o = &self.entries[x as usize];
                o.risk == e.risk
                    && chars.get(&x).is_some_and(|&(a, b)| {
                        spell[a as usize..b as usize]
                            .iter()
                            .copied()
                            .eq(text.chars())
                    })
            }) {
                targets.push(i);
                let a = spell.len() as u32;
                spell.extend(text.chars());
                chars.insert(i, (a, spell.len() as u32));
            }
        }
        let Some(ac) = index.automaton(0)? else {
            return Ok(None);
        };
        Ok(Some(SoundMatcher {
            sounds,
            ac,
            pats,
            chars,
            spell: spell.into_boxed_slice(),
        }))
    }
}

/// The kept entries the sound automaton is built from (no punctuation, three
/// or more characters), with their normalized text: one buffer, so that the
/// main thread only copies bytes and the sound thread need not normalize
/// each term again.
#[derive(Default)]
struct SoundTerms {
    text: String,
    /// Entry, and the end of its text in `text`.
    ends: Vec<(u32, u32)>,
}

impl SoundTerms {
    fn push(&mut self, entry: u32, text: &str) {
        self.text.push_str(text);
        self.ends.push((entry, self.text.len() as u32));
    }

    fn iter(&self) -> impl Iterator<Item = (u32, &str)> + '_ {
        let mut start = 0usize;
        self.ends.iter().map(move |&(entry, end)| {
            let t = self.text.get(start..end as usize).unwrap_or_default();
            start = end as usize;
            (entry, t)
        })
    }
}

/// Adds `key` to a pattern index and its pattern to `pats` (the two in
/// step: a key's number is its pattern's place), or the target to the
/// pattern the key already has.
fn add_pat(
    map: &mut Keys,
    pats: &mut Vec<PatBuild>,
    key: String,
    nchars: usize,
    target: Option<(u32, Via)>,
    ascii_word: bool,
) {
    let (i, new) = map.insert(key);
    if new {
        pats.push(PatBuild {
            nchars: nchars as u32,
            ascii_word,
            allow: false,
            targets: SmallVec::new(),
        });
    }
    let p = &mut pats[i as usize];
    p.ascii_word &= ascii_word;
    match target {
        Some(t) => p.targets.push(t),
        None => p.allow = true,
    }
}

/// An automaton's distinct keys, numbered in the order they first came:
/// the keys in that order, and a table of their numbers hashed by key (no
/// key stored twice; the automaton gets them in order, no sort).
#[derive(Default)]
struct Keys {
    keys: Vec<String>,
    table: hashbrown::HashTable<u32>,
}

impl Keys {
    fn with_capacity(n: usize) -> Keys {
        Keys {
            keys: Vec::with_capacity(n),
            table: hashbrown::HashTable::with_capacity(n),
        }
    }

    /// The number of `key`, and whether it is new.
    fn insert(&mut self, key: String) -> (u32, bool) {
        let keys = &self.keys;
        match self.table.entry(
            str_hash(&key),
            |&i| keys[i as usize] == key,
            |&i| str_hash(&keys[i as usize]),
        ) {
            hashbrown::hash_table::Entry::Occupied(o) => (*o.get(), false),
            hashbrown::hash_table::Entry::Vacant(v) => {
                let i = self.keys.len() as u32;
                v.insert(i);
                self.keys.push(key);
                (i, true)
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(String::as_str)
    }

    /// A standard (overlapping) automaton of the keys, each key's value
    /// `base` + its number; none without keys.
    fn automaton(
        self,
        base: u32,
    ) -> Result<Option<CharwiseDoubleArrayAhoCorasick<u32>>, ScreenError> {
        if self.keys.is_empty() {
            return Ok(None);
        }
        // The keys go in sorted, each with its first-come number: daachorse
        // builds its trie about a tenth faster from sorted keys than in
        // first-come order, more than the sort costs.
        let mut order: Vec<u32> = (0..self.keys.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.keys[a as usize].cmp(&self.keys[b as usize]));
        let keys = &self.keys;
        // No prefilter: it serves daachorse's slice searches only, and the
        // engine steps the automaton a character at a time (64 KiB and its
        // build saved per automaton, in memory and in a compiled lexicon).
        CharwiseDoubleArrayAhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .use_prefilter(false)
            .build_with_values(order.iter().map(|&i| (keys[i as usize].as_str(), base + i)))
            .map(Some)
            .map_err(|e| ScreenError::Automaton(e.to_string()))
    }
}

/// Patterns laid out for the scan: each pattern's info and its targets,
/// one per distinct risk (plain text before pinyin), and the most
/// characters of a pattern.
struct Layout {
    infos: Vec<PatInfo>,
    targets: Vec<(u32, Via)>,
    max_chars: usize,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            infos: Vec::new(),
            targets: Vec::new(),
            max_chars: 1,
        }
    }
}

impl Layout {
    /// The layout with `pats` laid out after the patterns already in it.
    /// An entry that requires punctuation (in `punct`) is a target of its
    /// own, checked one by one.
    fn lay_out(
        mut self,
        pats: &[PatBuild],
        entries: &[Entry],
        punct: &FxHashMap<u32, Punct>,
    ) -> Layout {
        self.infos.reserve(pats.len());
        self.targets.reserve(pats.len());
        let targets = &mut self.targets;
        for p in pats {
            let start = targets.len() as u32;
            if let [t] = p.targets[..] {
                // Most patterns: one target, nothing to sort or compare.
                targets.push(t);
            } else {
                let mut ts = p.targets.clone();
                ts.sort_by_key(|&(e, via)| (via, e));
                for (e, via) in ts {
                    let risk = &entries[e as usize].risk;
                    if punct.contains_key(&e)
                        || !targets[start as usize..].iter().any(|&(x, _)| {
                            entries[x as usize].risk == *risk && !punct.contains_key(&x)
                        })
                    {
                        targets.push((e, via));
                    }
                }
            }
            self.max_chars = self.max_chars.max(p.nchars as usize);
            self.infos.push(PatInfo {
                nchars: p.nchars,
                ascii_word: p.ascii_word,
                allow: p.allow,
                targets: (start, targets.len() as u32),
                punct: false,
            });
        }
        self
    }
}

/// Sets each pattern's `punct` flag: whether some target requires
/// punctuation (has a rule in `punct`). Derived, never stored: run where an
/// engine is built and where a compiled one is loaded.
fn mark_punct(pats: &mut [PatInfo], targets: &[(u32, Via)], punct: &FxHashMap<u32, Punct>) {
    if punct.is_empty() {
        // No entry requires punctuation (most lexicons): no lookups.
        pats.iter_mut().for_each(|p| p.punct = false);
        return;
    }
    for p in pats {
        p.punct = targets
            .get(p.targets.0 as usize..p.targets.1 as usize)
            .is_some_and(|ts| ts.iter().any(|(e, _)| punct.contains_key(e)));
    }
}

/// A lexicon entry's normalized term, as [`EngineBuilder::build`] uses it.
#[derive(Debug, PartialEq)]
enum TermNorm {
    /// A regular expression: matched by the regex set, not the automaton.
    Regex,
    /// Below `min_term_chars` (or one ASCII character): not matched.
    Short,
    /// Matched: the normalized text, its length in characters, and the
    /// punctuation the entry requires, if any.
    Kept {
        text: String,
        nchars: usize,
        p: Option<Punct>,
    },
}

/// Normalizes every entry's term, in entry order. Large lexicons are cut
/// into parts normalized on scoped threads: this is the serial step before
/// the automata build, so it is on the critical path of every start-up.
/// At most `threads` threads.
fn normalize_terms(
    table: &Table,
    entries: &[Entry],
    min_chars: usize,
    threads: usize,
) -> Vec<TermNorm> {
    normalize_terms_on(table, entries, min_chars, threads, 8192)
}

/// [`normalize_terms`] on at most `threads` threads, each given at least
/// `part` entries.
fn normalize_terms_on(
    table: &Table,
    entries: &[Entry],
    min_chars: usize,
    threads: usize,
    part: usize,
) -> Vec<TermNorm> {
    let one = |e: &Entry| {
        if e.regex {
            return TermNorm::Regex;
        }
        let (text, nchars) = Normalized::text_with_table(table, &e.term);
        if nchars < min_chars || (nchars == 1 && text.is_ascii()) {
            return TermNorm::Short;
        }
        TermNorm::Kept {
            text,
            nchars,
            p: Punct::of(table, &e.term),
        }
    };
    let threads = threads.min(entries.len().div_ceil(part.max(1)));
    if threads <= 1 {
        return entries.iter().map(one).collect();
    }
    let part = entries.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = entries
            .chunks(part)
            .skip(1)
            .map(|c| s.spawn(move || c.iter().map(one).collect::<Vec<_>>()))
            .collect();
        let mut out: Vec<TermNorm> = entries[..part.min(entries.len())].iter().map(one).collect();
        out.reserve(entries.len() - out.len());
        for h in handles {
            // A panic in a part goes on here, as it would have serially.
            out.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
}

fn pinyin_variants(table: &Table, term: &str, opts: &Options) -> Vec<(String, Via)> {
    let mut syllables: Vec<(&'static str, &'static str)> = Vec::new();
    for c in term.chars() {
        if table.map(c) >= SEP {
            continue;
        }
        match c.to_pinyin() {
            Some(p) => syllables.push((p.plain(), p.first_letter())),
            None => return Vec::new(),
        }
    }
    let mut out = Vec::new();
    if syllables.len() < 2 {
        return out;
    }
    if opts.pinyin {
        out.push((
            syllables.iter().map(|s| s.0).collect::<String>(),
            Via::Pinyin,
        ));
        if !opts.ascii_word_boundary {
            // Without joined ASCII words, spaced pinyin needs its own pattern.
            out.push((
                syllables.iter().map(|s| s.0).collect::<Vec<_>>().join(" "),
                Via::Pinyin,
            ));
        }
    }
    if opts.pinyin_initials && syllables.len() >= opts.min_initials_chars.max(3) {
        out.push((
            syllables.iter().map(|s| s.1).collect::<String>(),
            Via::Initials,
        ));
    }
    out
}

/// Whether `term` has punctuation that normalization would skip.
fn has_punct(table: &Table, term: &str) -> bool {
    term.chars().any(|c| is_punct(table, c))
}

/// A separator character that is neither space nor invisible: punctuation
/// and symbols, which a lexicon entry that writes them requires.
fn is_punct(table: &Table, c: char) -> bool {
    table.map(c) >= SEP && !c.is_whitespace() && !crate::normalize::is_emoji_or_invisible(c as u32)
}

/// Punctuation compared by its compatibility form (`，` and `,` are one).
fn fold_punct(c: char) -> char {
    let mut one = None;
    let mut n = 0;
    unicode_normalization::char::decompose_compatible(c, |d| {
        one = Some(d);
        n += 1;
    });
    if n == 1 { one.unwrap_or(c) } else { c }
}

/// The punctuation an entry requires: before its first kept character,
/// between kept characters (in order), after its last.
#[derive(Debug, Clone, Default, PartialEq)]
struct Punct {
    lead: Box<[char]>,
    inner: Box<[char]>,
    trail: Box<[char]>,
}

impl Punct {
    fn of(table: &Table, term: &str) -> Option<Punct> {
        if !has_punct(table, term) {
            return None;
        }
        let kept = |c: char| table.map(c) < SEP;
        let first = term.find(kept)?;
        let last = term.rfind(kept)?;
        let last_end = last + term[last..].chars().next().map_or(0, char::len_utf8);
        let pick = |s: &str| -> Box<[char]> {
            s.chars()
                .filter(|&c| is_punct(table, c))
                .map(fold_punct)
                .collect()
        };
        Some(Punct {
            lead: pick(&term[..first]),
            inner: pick(&term[first..last_end]),
            trail: pick(&term[last_end..]),
        })
    }

    /// The span of a candidate `text[os..oe]` widened to the required
    /// leading and trailing punctuation, if all of it is there.
    fn check(&self, table: &Table, text: &str, os: usize, oe: usize) -> Option<(usize, usize)> {
        let mid = text.get(os..oe)?;
        let mut inner = mid.chars().filter(|&c| is_punct(table, c)).map(fold_punct);
        if !self.inner.iter().copied().eq(inner.by_ref()) {
            return None;
        }
        let mut start = os;
        let mut want = self.lead.iter().rev();
        let mut before = text.get(..os)?.char_indices().rev();
        'lead: for &w in want.by_ref() {
            for (i, c) in before.by_ref() {
                if c.is_whitespace() {
                    continue;
                }
                if fold_punct(c) != w {
                    return None;
                }
                start = i;
                continue 'lead;
            }
            return None;
        }
        let mut end = oe;
        let mut after = text.get(oe..)?.char_indices();
        'trail: for &w in self.trail.iter() {
            for (i, c) in after.by_ref() {
                if c.is_whitespace() {
                    continue;
                }
                if fold_punct(c) != w {
                    return None;
                }
                end = oe + i + c.len_utf8();
                continue 'trail;
            }
            return None;
        }
        Some((start, end))
    }
}

#[derive(Debug)]
struct PatBuild {
    nchars: u32,
    ascii_word: bool,
    allow: bool,
    /// Most patterns have one or two targets: inline, not one allocation
    /// (and one free) per pattern on the start-up's critical path.
    targets: SmallVec<[(u32, Via); 2]>,
}

#[derive(Debug, Clone, Copy)]
struct PatInfo {
    nchars: u32,
    ascii_word: bool,
    allow: bool,
    targets: (u32, u32),
    /// Whether some target requires punctuation (is in `Engine::punct`),
    /// set by `mark_punct`: never stored in a compiled lexicon; the many
    /// patterns without spare their candidates a lookup each.
    punct: bool,
}

#[derive(Debug, Clone, Copy)]
struct Cand {
    ns: u32,
    ne: u32,
    os: usize,
    oe: usize,
    pat: u32,
}

/// The homophone automaton: syllable keys of the Chinese terms.
struct SoundMatcher {
    sounds: Sounds,
    ac: CharwiseDoubleArrayAhoCorasick<u32>,
    /// Per pattern: syllables, and the entries (one per distinct risk and
    /// spelling).
    pats: Vec<(u32, Vec<u32>)>,
    /// Normalized characters of each entry in `pats`: a range of `spell`.
    chars: FxHashMap<u32, (u32, u32)>,
    /// The normalized characters of those entries, end to end (one block
    /// instead of one allocation per entry: compiled lexicons load faster).
    spell: Box<[char]>,
}

/// Reusable per-thread buffers for [`Engine::scan`].
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    ring: Vec<usize>,
    chars: Vec<u32>,
    cands: Vec<Cand>,
    allows: Vec<Cand>,
    det: Vec<(usize, usize, Detector)>,
    spans: Vec<(usize, usize)>,
    sound_hits: Vec<(usize, usize, u32, usize)>,
    sound_entries: Vec<u32>,
}

impl Scratch {
    pub fn new() -> Self {
        Self::default()
    }
}

/// The built screening engine: immutable, `Send + Sync`, shared by threads.
pub struct Engine {
    opts: Options,
    table: std::sync::Arc<Table>,
    ac: Option<CharwiseDoubleArrayAhoCorasick<u32>>,
    gate: Bigrams,
    sound: Option<SoundMatcher>,
    pinyin_ac: Option<CharwiseDoubleArrayAhoCorasick<u32>>,
    /// Entries whose punctuation must be matched (`《苹果》`, `A.B`).
    punct: FxHashMap<u32, Punct>,
    pats: Vec<PatInfo>,
    targets: Vec<(u32, Via)>,
    ring: usize,
    /// The longest pattern, in normalized characters.
    max_chars: usize,
    entries: Vec<Entry>,
    regexes: Vec<(u32, Regex)>,
    regex_set: Option<RegexSet>,
    detectors: [bool; 6],
    detector_risk: [Option<Arc<str>>; 6],
    stats: BuildStats,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// All findings in `text`, ordered by position.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        let mut scratch = Scratch::new();
        self.find_with(text, &mut scratch)
    }

    /// Like [`Engine::find`], reusing buffers. Hits on the same span merge
    /// into one finding (`risks` lists every risk, `risk` is the first).
    pub fn find_with(&self, text: &str, scratch: &mut Scratch) -> Vec<Finding> {
        let mut hits = Vec::new();
        self.scan(text, scratch, &mut hits);
        self.findings_from_hits(text, &hits)
    }

    /// The findings of `hits` (as [`Engine::scan`] leaves them: ordered by
    /// span) in `text`: one per span, as [`Engine::find_with`] gives them.
    /// Hits are small `Copy` values; a caller that only counts can keep them
    /// and make owned findings only for what it prints.
    pub fn findings_from_hits(&self, text: &str, hits: &[Hit]) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::with_capacity(hits.len());
        for group in span_groups(hits) {
            let mut f = self.finding(text, &group[0]);
            for h in &group[1..] {
                let risk = self.risk_of(h);
                if !f.risks.iter().any(|r| &**r == risk) {
                    f.risks.push(match h.kind {
                        HitKind::Entry { entry, .. } | HitKind::Regex { entry } => {
                            self.entries[entry as usize].risk.clone()
                        }
                        HitKind::Detector(_) => Arc::from(risk),
                    });
                }
                if let Some(w) = self.weight_of(h) {
                    f.weight = Some(f.weight.map_or(w, |x| x.max(w)));
                }
            }
            out.push(f);
        }
        out
    }

    /// The weight of the finding a span group makes (see
    /// [`span_groups`]): the highest audited weight of its entries.
    pub fn group_weight(&self, group: &[Hit]) -> Option<f32> {
        let mut w = None;
        for h in group {
            if let Some(x) = self.weight_of(h) {
                w = Some(w.map_or(x, |y: f32| y.max(x)));
            }
        }
        w
    }

    /// The audited weight of a hit's entry, if any.
    pub fn weight_of(&self, hit: &Hit) -> Option<f32> {
        match hit.kind {
            HitKind::Entry { entry, .. } | HitKind::Regex { entry } => {
                self.entries[entry as usize].weight
            }
            HitKind::Detector(_) => None,
        }
    }

    /// Scans a batch of records without copying them.
    pub fn find_batch<'a, I>(&self, records: I) -> Vec<Vec<Finding>>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut scratch = Scratch::new();
        records
            .into_iter()
            .map(|r| self.find_with(r, &mut scratch))
            .collect()
    }

    /// Whether `text` has any finding.
    pub fn is_flagged(&self, text: &str) -> bool {
        let mut scratch = Scratch::new();
        let mut hits = Vec::new();
        self.scan(text, &mut scratch, &mut hits);
        !hits.is_empty()
    }

    /// The core scan: fills `out` with hits ordered by (start, end).
    pub fn scan(&self, text: &str, scratch: &mut Scratch, out: &mut Vec<Hit>) {
        out.clear();
        scratch.cands.clear();
        scratch.allows.clear();
        // Whether the record has ASCII letters, when the walk saw.
        let mut letters = None;
        if let Some(ac) = &self.ac {
            if scratch.ring.len() < self.ring {
                scratch.ring.resize(self.ring, 0);
                scratch.chars.resize(self.ring, u32::from(BREAK));
            }
            let mask = self.ring - 1;
            let ring = &mut scratch.ring[..self.ring];
            let chars = &mut scratch.chars[..self.ring];
            // The two positions before the first character are breaks
            // (the ring holds at least four: the build makes it so, and a
            // compiled lexicon with a smaller one is refused).
            chars[mask] = u32::from(BREAK);
            chars[mask - 1] = u32::from(BREAK);
            let cands = &mut scratch.cands;
            let pats = &self.pats;
            let mut sink = ScanSink {
                st: ac.find_overlapping_stepper(),
                root: ac.find_overlapping_stepper(),
                gate: &self.gate,
                singles: self.gate.any_single,
                run: 0,
                st_k: 0,
                reach: self.max_chars,
                letters: false,
                last_alpha: false,
                chars,
                py: self
                    .pinyin_ac
                    .as_ref()
                    .map(|p| (p, p.find_overlapping_stepper())),
                py_dirty: false,
                ring,
                mask,
                k: 0,
                cands,
                pats,
            };
            self.table.walk_into(text, &mut sink);
            if sink.py.is_some() {
                letters = Some(sink.letters);
            }
            if !scratch.cands.is_empty() {
                self.resolve(text, scratch, out);
            }
        }
        if let Some(sound) = &self.sound
            && (self.opts.homophones || letters.unwrap_or_else(|| has_ascii_letter(text)))
        {
            self.scan_sounds(sound, text, scratch, out);
        }
        if self.detectors.iter().any(|d| *d) {
            scratch.det.clear();
            detect::detect(text, &self.detectors, &mut scratch.det);
            for &(s, e, d) in &scratch.det {
                if !allowed(&scratch.allows, s, e) {
                    out.push(Hit {
                        start: s,
                        end: e,
                        kind: HitKind::Detector(d),
                    });
                }
            }
        }
        if let Some(set) = &self.regex_set {
            for i in set.matches(text).iter() {
                let (entry, re) = &self.regexes[i];
                for m in re.find_iter(text) {
                    if m.start() < m.end() && !allowed(&scratch.allows, m.start(), m.end()) {
                        out.push(Hit {
                            start: m.start(),
                            end: m.end(),
                            kind: HitKind::Regex { entry: *entry },
                        });
                    }
                }
            }
        }
        out.sort_unstable();
    }

    fn resolve(&self, text: &str, scratch: &mut Scratch, out: &mut Vec<Hit>) {
        let Scratch { cands, allows, .. } = scratch;
        let table = &self.table;
        cands.retain(|c| {
            let p = &self.pats[c.pat as usize];
            if p.allow {
                allows.push(*c);
            }
            if p.targets.0 == p.targets.1 {
                return false;
            }
            if p.punct
                && self.targets[p.targets.0 as usize..p.targets.1 as usize]
                    .iter()
                    .all(|(e, _)| {
                        self.punct
                            .get(e)
                            .is_some_and(|q| q.check(table, text, c.os, c.oe).is_none())
                    })
            {
                return false;
            }
            if p.ascii_word {
                let before = text[..c.os].chars().next_back();
                let after = text[c.oe..].chars().next();
                if before.is_some_and(|b| table.is_word_char(b))
                    || after.is_some_and(|a| table.is_word_char(a))
                {
                    return false;
                }
            }
            true
        });
        if !allows.is_empty() {
            cands.retain(|c| !allows.iter().any(|a| a.ns <= c.ns && c.ne <= a.ne));
        }
        // Leftmost-longest, non-overlapping (in normalized characters).
        cands.sort_unstable_by_key(|c| (c.ns, std::cmp::Reverse(c.ne), c.pat));
        let mut last_end = 0u32;
        for c in cands.iter() {
            if c.ns < last_end {
                continue;
            }
            last_end = c.ne;
            let p = &self.pats[c.pat as usize];
            for &(entry, via) in &self.targets[p.targets.0 as usize..p.targets.1 as usize] {
                let rule = if p.punct {
                    self.punct.get(&entry)
                } else {
                    None
                };
                let (start, end) = match rule {
                    None => (c.os, c.oe),
                    Some(q) => match q.check(table, text, c.os, c.oe) {
                        Some(span) => span,
                        None => continue,
                    },
                };
                out.push(Hit {
                    start,
                    end,
                    kind: HitKind::Entry { entry, via },
                });
            }
        }
    }

    /// Homophone and mixed-pinyin hits (only those with ASCII letters when
    /// homophones are off): leftmost-longest among themselves, where no
    /// other lexicon hit and no allowed phrase is.
    #[inline(never)]
    fn scan_sounds(
        &self,
        sound: &SoundMatcher,
        text: &str,
        scratch: &mut Scratch,
        out: &mut Vec<Hit>,
    ) {
        let Scratch {
            spans,
            sound_hits,
            sound_entries,
            allows,
            ..
        } = scratch;
        spans.clear();
        sound_hits.clear();
        let mut st = sound.ac.find_overlapping_stepper();
        sound.sounds.walk(&self.table, text, |ch, s, e| {
            spans.push((s, e));
            st.consume(ch);
            for m in st.matches() {
                let n = sound
                    .pats
                    .get(m.value() as usize)
                    .map_or(0, |p| p.0 as usize);
                if let Some(i0) = spans.len().checked_sub(n)
                    && let Some(&(start, _)) = spans.get(i0)
                {
                    sound_hits.push((start, e, m.value(), i0));
                }
            }
        });
        let mixed = |s: usize, e: usize| {
            text.get(s..e)
                .is_some_and(|t| t.bytes().any(|b| b.is_ascii_alphabetic()))
        };
        // Without homophones, a character written in Han must be the term's
        // own character (after normalization); only pinyin stands in for one.
        let table = &self.table;
        let homophones = self.opts.homophones;
        let exact = |entry: u32, i0: usize| -> bool {
            let Some(want) = sound
                .chars
                .get(&entry)
                .and_then(|&(a, b)| sound.spell.get(a as usize..b as usize))
            else {
                return false;
            };
            want.iter().enumerate().all(|(k, &w)| {
                let Some(&(a, b)) = spans.get(i0 + k) else {
                    return false;
                };
                let t = text.get(a..b).unwrap_or_default();
                if t.bytes().any(|x| x.is_ascii_alphabetic()) {
                    return true;
                }
                let mut cs = t.chars();
                match (cs.next(), cs.next()) {
                    (Some(c), None) => table.map(c) == w as u32,
                    _ => false,
                }
            })
        };
        let targets = |p: u32| sound.pats.get(p as usize).map_or(&[][..], |x| &x.1[..]);
        if !homophones {
            sound_hits.retain(|&(s, e, p, i0)| {
                mixed(s, e) && targets(p).iter().any(|&entry| exact(entry, i0))
            });
        }
        if sound_hits.is_empty() {
            return;
        }
        sound_hits.sort_unstable_by_key(|&(s, e, p, _)| (s, std::cmp::Reverse(e), p));
        let taken: Vec<(usize, usize)> = out
            .iter()
            .filter(|h| matches!(h.kind, HitKind::Entry { .. }))
            .map(|h| (h.start, h.end))
            .collect();
        let mut last_end = 0;
        for &(s, e, p, i0) in sound_hits.iter() {
            if s < last_end
                || taken.iter().any(|&(a, b)| a < e && s < b)
                || allows.iter().any(|a| a.os <= s && e <= a.oe)
            {
                continue;
            }
            last_end = e;
            let via = if mixed(s, e) {
                Via::MixedPinyin
            } else {
                Via::Homophone
            };
            // One entry per risk: written characters first.
            sound_entries.clear();
            let all = targets(p);
            for pass in [true, false] {
                for &entry in all {
                    let ok = exact(entry, i0);
                    if ok != pass || (!homophones && !ok) {
                        continue;
                    }
                    let risk = &self.entries[entry as usize].risk;
                    if !sound_entries
                        .iter()
                        .any(|&x| self.entries[x as usize].risk == *risk)
                    {
                        sound_entries.push(entry);
                    }
                }
            }
            for &entry in sound_entries.iter() {
                out.push(Hit {
                    start: s,
                    end: e,
                    kind: HitKind::Entry { entry, via },
                });
            }
        }
    }

    /// Expands a hit into an owned [`Finding`] (`text` is the scanned record).
    pub fn finding(&self, text: &str, hit: &Hit) -> Finding {
        let matched = text.get(hit.start..hit.end).unwrap_or_default().to_owned();
        match hit.kind {
            HitKind::Entry { entry, via } => {
                let e = &self.entries[entry as usize];
                Finding {
                    start: hit.start,
                    end: hit.end,
                    matched,
                    term: e.term.clone(),
                    risk: e.risk.clone(),
                    risks: vec![e.risk.clone()],
                    weight: e.weight,
                    detector: "lexicon",
                    severity: e.severity.clone(),
                    action: e.action.clone(),
                    via: Some(via),
                }
            }
            HitKind::Regex { entry } => {
                let e = &self.entries[entry as usize];
                Finding {
                    start: hit.start,
                    end: hit.end,
                    matched,
                    term: e.term.clone(),
                    risk: e.risk.clone(),
                    risks: vec![e.risk.clone()],
                    weight: e.weight,
                    detector: "regex",
                    severity: e.severity.clone(),
                    action: e.action.clone(),
                    via: None,
                }
            }
            HitKind::Detector(d) => {
                let risk = self.detector_risk[d.index()]
                    .clone()
                    .unwrap_or_else(|| Arc::from(d.default_risk()));
                Finding {
                    start: hit.start,
                    end: hit.end,
                    matched,
                    term: Arc::from(d.name()),
                    risks: vec![risk.clone()],
                    risk,
                    weight: None,
                    detector: d.name(),
                    severity: None,
                    action: None,
                    via: None,
                }
            }
        }
    }

    /// Risk code of a hit.
    pub fn risk_of(&self, hit: &Hit) -> &str {
        match hit.kind {
            HitKind::Entry { entry, .. } | HitKind::Regex { entry } => {
                &self.entries[entry as usize].risk
            }
            HitKind::Detector(d) => self.detector_risk[d.index()]
                .as_deref()
                .unwrap_or(d.default_risk()),
        }
    }

    /// The distinct entries.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Build statistics.
    pub fn stats(&self) -> &BuildStats {
        &self.stats
    }

    /// The normalization switches in force.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Normalizes `text` as the engine sees it, with spans into the original.
    pub fn normalize(&self, text: &str) -> Normalized {
        Normalized::with_table(&self.table, text)
    }

    /// Heap bytes of the automaton, tables and pattern data.
    pub fn heap_bytes(&self) -> usize {
        self.stats.automaton_bytes
    }
}

/// Receives the normalized characters and runs the automaton where a match
/// may end (see `bigram.rs`).
struct ScanSink<'a> {
    st: daachorse::charwise::iter::FindOverlappingStepper<'a, u32>,
    /// A stepper at the root, copied in to restart.
    root: daachorse::charwise::iter::FindOverlappingStepper<'a, u32>,
    gate: &'a Bigrams,
    /// Whether some pattern is one character long.
    singles: bool,
    /// Positions in a row (ending at the last one) whose pair is INNER.
    run: usize,
    /// Characters consumed by `st`.
    st_k: usize,
    /// The longest pattern: the state after any character depends only on
    /// this many characters before it.
    reach: usize,
    py: Option<(
        &'a CharwiseDoubleArrayAhoCorasick<u32>,
        daachorse::charwise::iter::FindOverlappingStepper<'a, u32>,
    )>,
    /// Whether the pinyin stepper has consumed ASCII since its last reset.
    py_dirty: bool,
    /// Original start offsets and normalized characters of the last
    /// `mask + 1` positions (before the first character, two breaks: the
    /// pair gate reads the previous two characters here).
    ring: &'a mut [usize],
    chars: &'a mut [u32],
    mask: usize,
    /// Characters seen.
    k: usize,
    /// Whether an ASCII letter touches a non-ASCII character (tracked with
    /// the pinyin automaton): only then can pinyin be mixed into a term.
    letters: bool,
    /// Whether the last ASCII character was a letter.
    last_alpha: bool,
    cands: &'a mut Vec<Cand>,
    pats: &'a [PatInfo],
}

impl ScanSink<'_> {
    /// Brings `st` to the state after the `k`-th character: on from where
    /// it stopped if that is inside the current run, else from the root at
    /// the position before the run, or `reach` characters back if the run
    /// is longer (the state depends on no more; the ring holds them).
    #[inline(always)]
    fn advance(&mut self) {
        let k = self.k;
        let s0 = k.saturating_sub((self.run + 1).min(self.reach));
        if self.st_k <= s0 {
            self.st = self.root.clone();
            self.st_k = s0;
        }
        while self.st_k < k {
            let c = self.chars[self.st_k & self.mask];
            self.st
                .consume(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
            self.st_k += 1;
        }
    }
}

impl crate::normalize::Emit for ScanSink<'_> {
    /// The per-character fast path: a loop with no calls (so that its
    /// state stays in registers) over plain characters where no match may
    /// end and no one-character pattern is. It stops before any other
    /// character, which [`ScanSink::emit`] then takes: an ASCII, separator
    /// or astral one, one after ASCII (the pinyin stepper resets), one
    /// where the gate says a match may end, one that is a pattern alone.
    /// What it does for a character it takes is what `emit` does for it.
    #[inline(always)]
    fn emit_plain(&mut self, plain: Plain<'_>, bytes: &[u8], mut at: usize) -> usize {
        if self.py_dirty {
            return at;
        }
        let gate = self.gate.view();
        let mask = self.mask;
        let ring = &mut *self.ring;
        let chars = &mut *self.chars;
        let mut k = self.k;
        let mut run = self.run;
        while let Some((ch, len)) = plain.at(bytes, at) {
            let (r, end) = gate_step(gate, chars, mask, k, run, ch);
            if end || gate.maybe_single(ch) {
                break;
            }
            ring[k & mask] = at;
            chars[k & mask] = ch;
            k += 1;
            run = r;
            at += len;
        }
        self.k = k;
        self.run = run;
        at
    }

    #[inline(always)]
    fn emit(&mut self, ch: u32, os: usize, oe: usize) {
        let k = self.k;
        self.ring[k & self.mask] = os;
        self.chars[k & self.mask] = ch;
        self.k += 1;
        // The ring's slots for the two characters before `ch` are not the
        // one just written (it holds at least four).
        let (run, mut end) = gate_step(self.gate.view(), self.chars, self.mask, k, self.run, ch);
        self.run = run;
        if !end && self.singles {
            // No longer match ends here: a one-character pattern is the
            // only possible match (bigram.rs, invariant 3).
            match self.gate.single_at(ch) {
                Single::No => {}
                Single::Pat(pat) => self.cands.push(Cand {
                    ns: (self.k - 1) as u32,
                    ne: self.k as u32,
                    os,
                    oe,
                    pat,
                }),
                Single::Automaton => end = true,
            }
        }
        if end {
            self.advance();
            for m in self.st.matches() {
                push_cand(
                    self.cands,
                    self.pats,
                    self.ring,
                    self.mask,
                    self.k,
                    oe,
                    m.value(),
                );
            }
        }
        if ch < 0x80 {
            let b = ch as u8; // ASCII
            if let Some((_, py)) = &mut self.py {
                let alpha = b.is_ascii_alphabetic();
                // A letter right after a non-ASCII character.
                self.letters |= alpha && !self.py_dirty && self.k > 1;
                self.last_alpha = alpha;
                py.consume(char::from(b));
                self.py_dirty = true;
                for m in py.matches() {
                    push_cand(
                        self.cands,
                        self.pats,
                        self.ring,
                        self.mask,
                        self.k,
                        oe,
                        m.value(),
                    );
                }
            }
        } else if self.py_dirty
            && let Some((pac, py)) = &mut self.py
        {
            // A non-ASCII character right after ASCII (only ever set with
            // a pinyin automaton).
            self.letters |= self.last_alpha;
            *py = pac.find_overlapping_stepper();
            self.py_dirty = false;
        }
    }
}

/// The gate's step for `ch` after the ring's last two characters (`k`
/// characters seen, the last `run` pairs inside a pattern): the new pair
/// run, and whether a match of two or more characters may end at `ch`.
/// [`ScanSink::emit`] and its fast path take each character through this.
#[inline(always)]
fn gate_step(
    gate: GateView<'_>,
    chars: &[u32],
    mask: usize,
    k: usize,
    run: usize,
    ch: u32,
) -> (usize, bool) {
    let prev = chars[k.wrapping_sub(1) & mask];
    let slot = gate.get(prev, ch);
    let run = if slot & INNER != 0 { run + 1 } else { 0 };
    let end = slot & LAST != 0 && gate.may_end(chars[k.wrapping_sub(2) & mask], prev, ch, run);
    (run, end)
}

/// Whether `text` has an ASCII letter (branch-free per block, so that it
/// vectorizes: most Chinese records have none and skip the sound pass).
fn has_ascii_letter(text: &str) -> bool {
    text.as_bytes().chunks(64).any(|block| {
        block
            .iter()
            .fold(false, |acc, &b| acc | ((b | 0x20).wrapping_sub(b'a') < 26))
    })
}

#[inline(always)]
fn push_cand(
    cands: &mut Vec<Cand>,
    pats: &[PatInfo],
    ring: &[usize],
    mask: usize,
    k: usize,
    oe: usize,
    pat: u32,
) {
    let n = pats[pat as usize].nchars as usize;
    let ns = k - n;
    cands.push(Cand {
        ns: ns as u32,
        ne: k as u32,
        os: ring[ns & mask],
        oe,
        pat,
    });
}

fn allowed(allows: &[Cand], s: usize, e: usize) -> bool {
    allows.iter().any(|a| a.os <= s && e <= a.oe)
}

/// The hits of each finding: runs of `hits` (ordered by span, as
/// [`Engine::scan`] leaves them) on the same span.
pub fn span_groups(hits: &[Hit]) -> impl Iterator<Item = &[Hit]> {
    hits.chunk_by(|a, b| a.start == b.start && a.end == b.end)
}

/// Masks every hit span of `text` with `mask` (one per character).
pub fn mask_text(
    text: &str,
    spans: impl IntoIterator<Item = (usize, usize)>,
    mask: char,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pos = 0usize;
    let mut spans: Vec<(usize, usize)> = spans.into_iter().collect();
    spans.sort_unstable();
    for (s, e) in spans {
        let s = s.max(pos);
        if s >= e || e > text.len() || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
            continue;
        }
        out.push_str(&text[pos..s]);
        for c in text[s..e].chars() {
            // Keep separators visible so masked text still reads.
            out.push(if c.is_whitespace() { c } else { mask });
        }
        pos = e;
    }
    out.push_str(&text[pos..]);
    out
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_has_one_target_per_risk_and_one_per_entry_that_requires_punctuation() {
        let entry = |risk: &str| Entry {
            term: Arc::from("t"),
            risk: Arc::from(risk),
            severity: None,
            action: None,
            source: Arc::from("test"),
            line: 1,
            regex: false,
            weight: None,
        };
        let entries: Vec<Entry> = ["A", "A", "A", "B", "A", "A", "A", "C"]
            .iter()
            .map(|r| entry(r))
            .collect();
        let pat = |nchars: u32, targets: &[(u32, Via)]| PatBuild {
            nchars,
            ascii_word: false,
            allow: false,
            targets: targets.iter().copied().collect(),
        };
        let pats = [
            // Two entries of one risk: one target.
            pat(3, &[(0, Via::Text), (1, Via::Text)]),
            // Two risks: two targets.
            pat(2, &[(2, Via::Text), (3, Via::Text)]),
            // One of them requires punctuation: checked on its own.
            pat(4, &[(4, Via::Text), (5, Via::Text)]),
            // Plain text before pinyin, whatever order they came in.
            pat(5, &[(6, Via::Pinyin), (7, Via::Text)]),
            // One target.
            pat(2, &[(7, Via::Text)]),
        ];
        let mut punct = FxHashMap::default();
        punct.insert(
            4,
            Punct {
                lead: Box::new(['《']),
                inner: Box::new([]),
                trail: Box::new(['》']),
            },
        );
        let mut l = Layout::default().lay_out(&pats[..3], &entries, &punct);
        l = l.lay_out(&pats[3..], &entries, &punct);
        mark_punct(&mut l.infos, &l.targets, &punct);
        let per_pattern: Vec<&[(u32, Via)]> = l
            .infos
            .iter()
            .map(|i| &l.targets[i.targets.0 as usize..i.targets.1 as usize])
            .collect();
        assert_eq!(
            per_pattern,
            [
                &[(0, Via::Text)][..],
                &[(2, Via::Text), (3, Via::Text)],
                &[(4, Via::Text), (5, Via::Text)],
                &[(7, Via::Text), (6, Via::Pinyin)],
                &[(7, Via::Text)],
            ]
        );
        assert_eq!(
            l.infos.iter().map(|i| i.punct).collect::<Vec<_>>(),
            [false, false, true, false, false]
        );
        assert_eq!(l.max_chars, 5);
    }

    #[test]
    fn keys_number_each_key_once_and_the_automaton_gives_base_plus_number() {
        // Numbered from a base (as the pinyin patterns are); a repeated key
        // keeps its first number.
        let words = ["甲乙", "乙丙", "丙", "甲乙", "甲乙丙丁", "丁戊", "丙", "戊"];
        let mut keys = Keys::default();
        let got: Vec<(u32, bool)> = words.iter().map(|w| keys.insert((*w).to_owned())).collect();
        assert_eq!(
            got,
            [
                (0, true),
                (1, true),
                (2, true),
                (0, false),
                (3, true),
                (4, true),
                (2, false),
                (5, true)
            ]
        );
        assert_eq!(
            keys.iter().collect::<Vec<_>>(),
            ["甲乙", "乙丙", "丙", "甲乙丙丁", "丁戊", "戊"]
        );
        let ac = keys.automaton(7).expect("builds").expect("automaton");
        for (n, k) in ["甲乙", "乙丙", "丙", "甲乙丙丁", "丁戊", "戊"]
            .iter()
            .enumerate()
        {
            let whole: Vec<u32> = ac
                .find_overlapping_iter(k)
                .filter(|m| m.start() == 0 && m.end() == k.len())
                .map(|m| m.value())
                .collect();
            assert_eq!(whole, [7 + n as u32], "{k}");
        }
        assert!(Keys::default().automaton(0).expect("empty").is_none());
    }

    #[test]
    fn duplicate_check_is_on_term_and_risk_exactly() {
        // Many terms, repeated under the same and other risks, through
        // lexicons and `term`: each (term, risk) once, first occurrence
        // first, against a plain list kept by hand.
        let mut b = EngineBuilder::new();
        let mut want: Vec<(String, String)> = Vec::new();
        let mut dups = 0;
        let add = |want: &mut Vec<(String, String)>, t: String, r: String| {
            if want.contains(&(t.clone(), r.clone())) {
                true
            } else {
                want.push((t, r));
                false
            }
        };
        for round in 0..3u32 {
            let mut text = String::new();
            for i in 0..700u32 {
                let t = format!("词{}", (i * 7 + round * 131) % 900);
                let r = format!("A.1.{}", ['a', 'b'][((i + round) % 2) as usize]);
                text.push_str(&format!("{t}\t{r}\n"));
                if add(&mut want, t, r) {
                    dups += 1;
                }
            }
            b.lexicon_text(&format!("f{round}"), &text, None)
                .expect("adds");
            for i in 0..50u32 {
                let t = format!("词{}", i * 3);
                b.term(&t, "A.1.a");
                add(&mut want, t, "A.1.a".into());
            }
        }
        let got: Vec<(String, String)> = b
            .entries()
            .iter()
            .map(|e| (e.term.to_string(), e.risk.to_string()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(b.stats().duplicates, dups);
    }

    #[test]
    fn reserve_is_only_room_entries_and_duplicates_are_the_same() {
        let a = "赌博\tA.1.a\n百家乐\n赌博\tA.1.a\n";
        let b = "百家乐\n网上赌场\tA.1.b\n赌博\tA.1.a\n";
        let load = |room: Option<usize>| {
            let mut e = EngineBuilder::new();
            if let Some(n) = room {
                e.reserve(n);
            }
            e.lexicon_text("a", a, None).expect("a");
            // Room made between two lexicons keeps what the first added.
            if let Some(n) = room {
                e.reserve(n);
            }
            e.lexicon_text("b", b, Some("A.2.a")).expect("b");
            let got: Vec<(String, String, usize)> = e
                .entries()
                .iter()
                .map(|x| (x.term.to_string(), x.risk.to_string(), x.line))
                .collect();
            (got, e.stats().duplicates)
        };
        let plain = load(None);
        assert_eq!((plain.0.len(), plain.1), (4, 2), "{:?}", plain.0);
        for n in [0, 1, 5, 1000] {
            assert_eq!(load(Some(n)), plain, "reserve({n})");
        }
    }

    #[test]
    fn terms_normalize_the_same_on_several_threads() {
        // Regexes, short terms, terms with punctuation, traditional and
        // full-width forms, duplicates after normalization: every part
        // boundary falls somewhere different for 1..=5 threads.
        let kinds = [
            "法轮功",
            "法輪功",
            "ＡＢＣ",
            "x",
            "《苹果》",
            "a.b",
            "六四",
            "乙",
            "re:a+b",
        ];
        let entries: Vec<Entry> = (0..997)
            .map(|i| {
                let t = kinds[i % kinds.len()];
                let regex = t.starts_with("re:");
                Entry {
                    term: Arc::from(if regex {
                        "a+b".to_owned()
                    } else {
                        format!("{t}{}", i % 13)
                    }),
                    risk: Arc::from("A.1.a"),
                    severity: None,
                    action: None,
                    source: Arc::from("t"),
                    line: i,
                    regex,
                    weight: None,
                }
            })
            .collect();
        let table = Table::shared(Options::default()).expect("table");
        let serial = normalize_terms_on(&table, &entries, 2, 1, 1);
        assert_eq!(serial.len(), entries.len());
        assert!(serial.iter().any(|t| matches!(t, TermNorm::Regex)));
        assert!(
            serial
                .iter()
                .any(|t| matches!(t, TermNorm::Kept { p: Some(_), .. }))
        );
        for threads in 2..=5 {
            for part in [1, 7, 100, 500] {
                assert_eq!(
                    normalize_terms_on(&table, &entries, 2, threads, part),
                    serial,
                    "{threads} threads, parts of {part}"
                );
            }
        }
        let short = normalize_terms_on(&table, &entries, 5, 3, 1);
        assert!(short.iter().any(|t| matches!(t, TermNorm::Short)));
    }
}
