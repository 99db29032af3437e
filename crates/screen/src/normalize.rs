//! Character-level normalization with a map back to original byte offsets.
//!
//! Every rule maps one original character to at most one normalized
//! character (or marks it as a separator), so a span of normalized characters
//! always corresponds to a span of whole original characters.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::ScreenError;

/// Normalization switches. `Options::default()` is what a moderator wants:
/// everything on, at most 3 separator characters skipped inside a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Full-width to half-width and other compatibility forms (NFKC, one
    /// character at a time): `ＡＢ` → `ab`, `ⓐ` → `a`, `①` → `1`.
    pub width: bool,
    /// Lower-case letters (Unicode simple case mapping).
    pub case: bool,
    /// Traditional to simplified Chinese, character level (OpenCC
    /// `TSCharacters`, Apache-2.0, through ferrous-opencc).
    pub traditional: bool,
    /// Chinese numerals (零〇一二…九, 壹贰…玖) and digit variants to ASCII digits.
    pub digits: bool,
    /// Skip separators (whitespace, punctuation, symbols, zero-width and
    /// format characters, emoji, combining marks) between the characters of
    /// a term.
    pub separators: bool,
    /// At most this many separator characters in a row are skipped; a longer
    /// run, a line break or Chinese clause punctuation (，。！？；：、) always
    /// separates.
    pub max_skip: usize,
    /// Match the full pinyin of Chinese terms (`falungong`, `fa lun gong`).
    pub pinyin: bool,
    /// Match the pinyin initials of Chinese terms of at least
    /// [`Options::min_initials_chars`] characters (`flg`). Off by default:
    /// three letters stand for many words (`xhs` is 小红书 as often as
    /// any term with those initials).
    pub pinyin_initials: bool,
    /// Minimum term length in characters for initials.
    pub min_initials_chars: usize,
    /// ASCII terms (and pinyin variants) only match whole words: not when an
    /// ASCII letter or digit touches either end. With this on, separators
    /// between ASCII words are skipped like any other (`blow job` matches
    /// `blowjob`, `fa lun gong` matches `falungong`); with it off, only
    /// spaced-out single letters (`f u c k`) are joined.
    pub ascii_word_boundary: bool,
    /// Terms shorter than this many characters after normalization are not
    /// matched (single characters such as 出 or 日 in public lists flag most
    /// ordinary text). They still count in lexicon statistics.
    pub min_term_chars: usize,
    /// Match Chinese terms of three or more characters by sound (谐音):
    /// other characters with the same toneless pinyin, or pinyin mixed in
    /// (`发论公`, `法lun功` for 法轮功). Off by default: a syllable is shared
    /// by many characters, so it finds more, and more wrongly.
    pub homophones: bool,
    /// Match Chinese terms of three or more characters written partly in
    /// pinyin syllables (`法lun功`, `fa轮gong`, `中gong...`). Runs only on
    /// records with ASCII letters, and only reports hits that contain some.
    pub mixed_pinyin: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            width: true,
            case: true,
            traditional: true,
            digits: true,
            separators: true,
            max_skip: 3,
            pinyin: true,
            pinyin_initials: false,
            min_initials_chars: 3,
            ascii_word_boundary: true,
            min_term_chars: 2,
            homophones: false,
            mixed_pinyin: true,
        }
    }
}

impl Options {
    /// The options that differ between `self` and `other`, each as
    /// `name: self's value, not other's` (`min_term_chars: 1, not 2`), in
    /// field order: what an error about mismatched options names.
    pub fn differences(&self, other: &Options) -> Vec<String> {
        let mut out = Vec::new();
        macro_rules! diff {
            ($($f:ident),*) => {
                // every field named: a new option does not compile until it is listed
                let Options { $($f: _),* } = *self;
                $(
                    if self.$f != other.$f {
                        out.push(format!(concat!(stringify!($f), ": {}, not {}"), self.$f, other.$f));
                    }
                )*
            };
        }
        diff!(
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
            mixed_pinyin
        );
        out
    }

    /// No normalization at all (raw matching).
    pub fn none() -> Self {
        Options {
            width: false,
            case: false,
            traditional: false,
            digits: false,
            separators: false,
            max_skip: 0,
            pinyin: false,
            pinyin_initials: false,
            min_initials_chars: 3,
            ascii_word_boundary: false,
            min_term_chars: 1,
            homophones: false,
            mixed_pinyin: false,
        }
    }
}

/// Marks a separator character (beyond any `char`).
pub(crate) const SEP: u32 = 0x11_0000;
/// Marks a separator that always breaks a term.
pub(crate) const HARD: u32 = 0x11_0001;
const T_SEP: u16 = 0xFFFE;
const T_HARD: u16 = 0xFFFF;
/// The character emitted where a separator run is not skipped.
pub(crate) const BREAK: char = ' ';

static T2S: OnceLock<Result<HashMap<char, char>, String>> = OnceLock::new();

/// The characters [`t2s_map`] maps from (BMP ideographs).
const T2S_RANGES: [std::ops::RangeInclusive<u32>; 3] =
    [0x3400..=0x4DBF, 0x4E00..=0x9FFF, 0xF900..=0xFAFF];

/// The blocks of the astral characters that fold (compatibility
/// decomposition) into [`T2S_RANGES`]: enclosed ideographic supplement
/// (🈶, 🈚) and the CJK compatibility ideographs supplement. Their results
/// are precomputed in the table ([`Table`]'s `folds`), so that one such
/// character in a corpus does not load OpenCC's tables mid-scan (some
/// 60 million instructions). The test `astral_folds_lie_in_their_blocks`
/// checks that no other astral character folds into the ranges.
const FOLD_BLOCKS: [std::ops::RangeInclusive<u32>; 2] = [0x1F200..=0x1F2FF, 0x2F800..=0x2FA1F];

/// Whether `c` folds (compatibility decomposition) to a character
/// [`t2s_map`] may map: only then does an astral character need it, and an
/// emoji in a term or a text need not load OpenCC's tables.
fn folds_into_t2s_ranges(c: char) -> bool {
    let mut any = false;
    unicode_normalization::char::decompose_compatible(c, |d| {
        any |= T2S_RANGES.iter().any(|r| r.contains(&(d as u32)));
    });
    any
}

/// Whether [`t2s_map`] has been built in this process.
pub(crate) fn opencc_loaded() -> bool {
    T2S.get().is_some()
}

fn t2s_map() -> Result<&'static HashMap<char, char>, ScreenError> {
    let r = T2S.get_or_init(|| {
        let cc = ferrous_opencc::OpenCC::from_config(ferrous_opencc::config::BuiltinConfig::T2s)
            .map_err(|e| e.to_string())?;
        let chars: Vec<char> = T2S_RANGES
            .into_iter()
            .flatten()
            .filter_map(char::from_u32)
            .collect();
        let mut joined = String::with_capacity(chars.len() * 4);
        for c in &chars {
            joined.push(*c);
            joined.push('\n');
        }
        let converted = cc.convert(&joined);
        let mut map = HashMap::new();
        let mut lines = converted.split('\n');
        for c in &chars {
            let Some(line) = lines.next() else { break };
            let mut it = line.chars();
            if let (Some(s), None) = (it.next(), it.next())
                && s != *c
            {
                map.insert(*c, s);
            }
        }
        Ok(map)
    });
    r.as_ref().map_err(|e| ScreenError::OpenCc(e.clone()))
}

fn chinese_digit(c: char) -> Option<char> {
    Some(match c {
        '零' | '〇' => '0',
        '一' | '壹' => '1',
        '二' | '贰' => '2',
        '三' | '叁' => '3',
        '四' | '肆' => '4',
        '五' | '伍' => '5',
        '六' | '陆' => '6',
        '七' | '柒' => '7',
        '八' | '捌' => '8',
        '九' | '玖' => '9',
        _ => return None,
    })
}

/// Line breaks and Chinese clause punctuation (，。！？；：、): a term
/// never spans them (`错比` is not in `不错，比较`).
fn is_hard_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{85}'
            | '。'
            | '！'
            | '？'
            | '；'
            | '，'
            | '：'
            | '、'
            | '\u{FF61}'
            | '\u{FF64}'
    )
}

pub(crate) fn is_emoji_or_invisible(u: u32) -> bool {
    matches!(u,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0xE0000..=0xE007F
        | 0xE0100..=0xE01EF | 0xFE00..=0xFE0F | 0x200B..=0x200F | 0x2060..=0x206F
        | 0xFEFF | 0x00AD | 0x034F | 0x180E | 0x20D0..=0x20FF)
}

/// Whether the code `c` is an ASCII letter or digit.
#[inline(always)]
fn ascii_alnum(c: u32) -> bool {
    u8::try_from(c).is_ok_and(|b| b.is_ascii_alphanumeric())
}

/// Slow path: normalizes one character (used to fill the table).
fn map_char_slow(c: char, o: &Options, t2s: Option<&HashMap<char, char>>) -> u32 {
    let u = c as u32;
    if o.separators && is_hard_break(c) {
        return HARD;
    }
    let mut x = c;
    // Dingbat circled digits ➀-➉, ❶-❿, ➊-➓ are not compatibility characters.
    if (o.digits || o.width)
        && let Some(d) = match u {
            0x2776..=0x277E => Some(u - 0x2776 + 1),
            0x2780..=0x2788 => Some(u - 0x2780 + 1),
            0x278A..=0x2792 => Some(u - 0x278A + 1),
            _ => None,
        }
    {
        x = char::from_digit(d, 10).unwrap_or(x);
    }
    if o.width && x == c {
        let mut buf = [None::<char>; 8];
        let mut n = 0usize;
        unicode_normalization::char::decompose_compatible(c, |d| {
            if n < buf.len() {
                buf[n] = Some(d);
            }
            n += 1;
        });
        if n == 1 {
            if let Some(d) = buf[0] {
                x = d;
            }
        } else if n > 1 && n <= buf.len() {
            // "(1)", "1.", "e\u{301}": keep the single letter or digit.
            let mut alnum = buf[..n].iter().flatten().filter(|d| d.is_alphanumeric());
            if let (Some(a), None) = (alnum.next(), alnum.next()) {
                x = *a;
            }
        }
    }
    if o.case {
        let mut lower = x.to_lowercase();
        if let (Some(l), None) = (lower.next(), lower.next()) {
            x = l;
        }
    }
    if o.traditional
        && let Some(map) = t2s
        && let Some(s) = map.get(&x)
    {
        x = *s;
    }
    if o.digits
        && let Some(d) = chinese_digit(x)
    {
        x = d;
    }
    if o.separators {
        if x == '\u{3000}' || x.is_whitespace() {
            return SEP;
        }
        if !x.is_alphanumeric() || is_emoji_or_invisible(x as u32) {
            if is_hard_break(x) {
                return HARD;
            }
            return SEP;
        }
    }
    x as u32
}

/// The precomputed per-character mapping for one set of [`Options`].
#[derive(Clone)]
pub(crate) struct Table {
    /// Normalized code of every BMP character (astral results are marked
    /// [`ASTRAL`] and recomputed); [`SEP`] and [`HARD`] mark separators.
    bmp: Box<[u16]>,
    /// The astral results of the BMP characters marked [`ASTRAL`], sorted
    /// (traditional characters whose simplified form is outside the BMP:
    /// computing one needs OpenCC's tables).
    bmp_astral: Box<[(u16, u32)]>,
    /// The results of the astral characters of [`FOLD_BLOCKS`] that fold
    /// into [`T2S_RANGES`], sorted (empty unless traditional folding is on).
    folds: Box<[(u32, u32)]>,
    opts: Options,
}

/// The scalar value of the character at byte `i` of `bytes` (valid UTF-8,
/// `i` on a character boundary) and its length in bytes; `None` at the end.
/// The scanner's inner loop: it reads each character once, without the
/// checks `str::char_indices` repeats and without recounting its length.
#[inline(always)]
fn decode_at(bytes: &[u8], i: usize) -> Option<(u32, usize)> {
    let b0 = u32::from(*bytes.get(i)?);
    if b0 < 0x80 {
        return Some((b0, 1));
    }
    // The three bytes after the lead, read with one bounds check (the last
    // characters of a text take the slower path).
    let next = match bytes.get(i..i + 4) {
        Some(&[_, a, b, c]) => [a, b, c],
        _ => {
            let mut w = [0u8; 3];
            for (k, slot) in w.iter_mut().enumerate() {
                *slot = bytes.get(i + 1 + k).copied().unwrap_or(0);
            }
            w
        }
    };
    let [c1, c2, c3] = next.map(|b| u32::from(b & 0x3F));
    Some(if b0 < 0xE0 {
        (((b0 & 0x1F) << 6) | c1, 2)
    } else if b0 < 0xF0 {
        (((b0 & 0x0F) << 12) | (c1 << 6) | c2, 3)
    } else {
        (((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4)
    })
}

/// The BMP table of the default character folding (width, case,
/// traditional, digits, separators all on), as [`Table::build`] makes it:
/// generated, not written. 65,536 little-endian `u16`; a `u32` count, then
/// 6 bytes for each BMP character marked [`ASTRAL`] (`u16` character, `u32`
/// result); then 8 bytes for each of the table's `folds` (`u32` character,
/// `u32` result). The test
/// `embedded_default_table_is_current` fails when it no longer equals a fresh
/// build (a new Unicode or OpenCC table, a changed rule), and
/// `BEIAN_BLESS=1 cargo test -p beian-screen embedded_default_table` rewrites
/// it. A file of the wrong shape is ignored (the table is then built).
const DEFAULT_BMP: &[u8] = include_bytes!("../data/default-table.bin");

/// Bytes of [`DEFAULT_BMP`]'s main table.
const BMP_BYTES: usize = 0x10000 * 2;

/// The tables of [`DEFAULT_BMP`]: BMP mapping, BMP characters with astral
/// results, astral folds.
type DefaultTables = (Box<[u16]>, Box<[(u16, u32)]>, Box<[(u32, u32)]>);

/// [`DEFAULT_BMP`] when `opts` fold characters as the defaults do.
fn default_bmp(opts: &Options) -> Option<DefaultTables> {
    let d = Options::default();
    let same = (
        opts.width,
        opts.case,
        opts.traditional,
        opts.digits,
        opts.separators,
    ) == (d.width, d.case, d.traditional, d.digits, d.separators);
    let (main, rest) = DEFAULT_BMP.split_at_checked(BMP_BYTES)?;
    let (n, rest) = rest.split_first_chunk::<4>()?;
    let (astral, folds) = rest.split_at_checked(u32::from_le_bytes(*n) as usize * 6)?;
    if !same || folds.len() % 8 != 0 {
        return None;
    }
    let bmp = main
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    let folds = folds
        .chunks_exact(8)
        .map(|b| {
            (
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            )
        })
        .collect();
    let astral = astral
        .chunks_exact(6)
        .map(|b| {
            (
                u16::from_le_bytes([b[0], b[1]]),
                u32::from_le_bytes([b[2], b[3], b[4], b[5]]),
            )
        })
        .collect();
    Some((bmp, astral, folds))
}

/// [`DEFAULT_BMP`]'s bytes for `table`.
#[cfg(test)]
fn table_bytes(table: &Table) -> Vec<u8> {
    let mut out: Vec<u8> = table.bmp.iter().flat_map(|v| v.to_le_bytes()).collect();
    out.extend((table.bmp_astral.len() as u32).to_le_bytes());
    for (u, v) in table.bmp_astral.iter() {
        out.extend(u.to_le_bytes());
        out.extend(v.to_le_bytes());
    }
    for (u, v) in table.folds.iter() {
        out.extend(u.to_le_bytes());
        out.extend(v.to_le_bytes());
    }
    out
}

/// Table value: the result is outside the BMP; recompute.
const ASTRAL: u16 = 0xFFFD;

static TABLES: std::sync::Mutex<Vec<(Options, std::sync::Arc<Table>)>> =
    std::sync::Mutex::new(Vec::new());

impl Table {
    /// The table for `opts`, built once per process and shared.
    pub(crate) fn shared(opts: Options) -> Result<std::sync::Arc<Table>, ScreenError> {
        // Only the character mapping matters for the table.
        let key = Options {
            pinyin: false,
            pinyin_initials: false,
            min_initials_chars: 0,
            min_term_chars: 0,
            homophones: false,
            mixed_pinyin: false,
            ..opts
        };
        // The lock is held while a table builds, so that a caller asking for
        // a table another thread is building (`EngineBuilder::warm_up`)
        // waits for it instead of building it a second time.
        let Ok(mut cache) = TABLES.lock() else {
            return Ok(std::sync::Arc::new(Table::new(opts)?));
        };
        if let Some((_, t)) = cache.iter().find(|(o, _)| *o == key) {
            return Ok(t.clone());
        }
        let t = std::sync::Arc::new(Table::new(opts)?);
        cache.push((key, t.clone()));
        Ok(t)
    }

    /// The BMP mapping (compiled lexicons store it).
    pub(crate) fn bmp(&self) -> &[u16] {
        &self.bmp
    }

    /// The reader of plain characters for [`Emit::emit_plain`] (`None` only
    /// for a BMP mapping of the wrong size, which no constructor makes).
    pub(crate) fn plain(&self) -> Option<Plain<'_>> {
        <&[u16; 0x10000]>::try_from(&self.bmp[..])
            .ok()
            .map(|bmp| Plain { bmp })
    }

    /// The astral results of BMP characters (compiled lexicons store them).
    pub(crate) fn bmp_astral(&self) -> &[(u16, u32)] {
        &self.bmp_astral
    }

    /// The astral folds (compiled lexicons store them).
    pub(crate) fn folds(&self) -> &[(u32, u32)] {
        &self.folds
    }

    /// A table from a stored BMP mapping, astral results and astral folds;
    /// `None` when the mapping has the wrong size or a list is out of order.
    pub(crate) fn from_parts(
        bmp: Box<[u16]>,
        bmp_astral: Box<[(u16, u32)]>,
        folds: Box<[(u32, u32)]>,
        opts: Options,
    ) -> Option<Table> {
        // Every code the walk emits is a scalar value: no character maps
        // to a surrogate (surrogates map to themselves, and text never
        // holds them).
        (bmp.len() == 0x10000
            && !bmp
                .iter()
                .enumerate()
                .any(|(u, &v)| (0xD800..0xE000).contains(&v) && usize::from(v) != u)
            && bmp_astral.is_sorted_by(|a, b| a.0 < b.0)
            && folds.is_sorted_by(|a, b| a.0 < b.0))
        .then_some(Table {
            bmp,
            bmp_astral,
            folds,
            opts,
        })
    }

    /// A hash of the character mapping (compiled lexicons check it).
    pub(crate) fn fingerprint(&self) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for &x in self.bmp.iter() {
            h = (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
        }
        for &(c, v) in self.bmp_astral.iter() {
            h = (h ^ (u64::from(c) << 32 | u64::from(v))).wrapping_mul(0x0100_0000_01b3);
        }
        for &(c, v) in self.folds.iter() {
            h = (h ^ (u64::from(c) << 32 | u64::from(v))).wrapping_mul(0x0100_0000_01b3);
        }
        h
    }

    pub(crate) fn new(opts: Options) -> Result<Table, ScreenError> {
        if let Some((bmp, bmp_astral, folds)) = default_bmp(&opts) {
            return Ok(Table {
                bmp,
                bmp_astral,
                folds,
                opts,
            });
        }
        Table::build(opts)
    }

    /// The table computed character by character (about 190 million
    /// instructions, most of a start-up's normalization cost; see
    /// [`DEFAULT_BMP`] for the default options).
    fn build(opts: Options) -> Result<Table, ScreenError> {
        let t2s = if opts.traditional {
            Some(t2s_map()?)
        } else {
            None
        };
        let mut bmp = vec![0u16; 0x10000].into_boxed_slice();
        let mut bmp_astral = Vec::new();
        for (u, slot) in bmp.iter_mut().enumerate() {
            let v = match char::from_u32(u as u32) {
                Some(c) => map_char_slow(c, &opts, t2s),
                None => u as u32,
            };
            *slot = match v {
                SEP => T_SEP,
                HARD => T_HARD,
                0..0xFFFD => v as u16,
                _ => {
                    bmp_astral.push((u as u16, v));
                    ASTRAL
                }
            };
        }
        let folds = match t2s {
            Some(t2s) => FOLD_BLOCKS
                .into_iter()
                .flatten()
                .filter_map(char::from_u32)
                .filter(|&c| folds_into_t2s_ranges(c))
                .map(|c| (c as u32, map_char_slow(c, &opts, Some(t2s))))
                .collect(),
            None => Box::default(),
        };
        Ok(Table {
            bmp,
            bmp_astral: bmp_astral.into_boxed_slice(),
            folds,
            opts,
        })
    }

    /// [`Table::map`] of the scalar value `u` (as [`decode_at`] reads it).
    #[inline(always)]
    fn map_code(&self, u: u32) -> u32 {
        match self.bmp.get(u as usize) {
            Some(&v) if v < ASTRAL => u32::from(v),
            Some(&T_SEP) => SEP,
            Some(&T_HARD) => HARD,
            _ => self.map_astral(char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER)),
        }
    }

    /// Normalized code of `c`: a char value, or [`SEP`] / [`HARD`].
    #[inline(always)]
    pub(crate) fn map(&self, c: char) -> u32 {
        self.map_code(u32::from(c))
    }

    #[cold]
    fn map_astral(&self, c: char) -> u32 {
        if let Ok(u) = u16::try_from(c as u32)
            && let Ok(i) = self.bmp_astral.binary_search_by_key(&u, |&(k, _)| k)
        {
            return self.bmp_astral[i].1;
        }
        let t2s = if self.opts.traditional && folds_into_t2s_ranges(c) {
            if let Ok(i) = self.folds.binary_search_by_key(&(c as u32), |&(k, _)| k) {
                return self.folds[i].1;
            }
            t2s_map().ok()
        } else {
            None
        };
        map_char_slow(c, &self.opts, t2s)
    }

    /// Walks `text`, calling `emit(normalized_char, orig_start, orig_end)` for
    /// every normalized character; a separator run that is not skipped emits
    /// one [`BREAK`] spanning the run. Leading and trailing separators emit
    /// nothing.
    #[inline(always)]
    pub(crate) fn walk<F: FnMut(char, usize, usize)>(&self, text: &str, emit: F) {
        self.walk_into(text, &mut FnEmit(emit));
    }

    /// [`Table::walk`] with a sink whose `emit` is `#[inline(always)]`.
    #[inline(always)]
    pub(crate) fn walk_into<E: Emit>(&self, text: &str, sink: &mut E) {
        let max_skip = if self.opts.separators {
            self.opts.max_skip
        } else {
            0
        };
        let join_words = self.opts.ascii_word_boundary;
        let mut run = 0usize;
        let mut run_start = 0usize;
        let mut hard = false;
        let bytes = text.as_bytes();
        let mut next = 0usize;
        let plain = self.plain();
        loop {
            if run == 0
                && let Some(plain) = plain
            {
                next = sink.emit_plain(plain, bytes, next);
            }
            let Some((u, len)) = decode_at(bytes, next) else {
                break;
            };
            let i = next;
            next += len;
            let m = self.map_code(u);
            if m >= SEP {
                if run == 0 {
                    run_start = i;
                }
                run += 1;
                hard |= m == HARD;
                continue;
            }
            // A character's code (the table holds scalar values only).
            let ch = m;
            if run > 0 {
                // The character before the run was emitted (it is no
                // separator, or the run would have begun before it). It is
                // read back here, off the per-character path, with whether
                // it was itself left isolated (at the start, or after a
                // separator).
                let before = text.get(..run_start).unwrap_or("");
                if let Some(pc) = before.chars().next_back() {
                    let join = !hard
                        && run <= max_skip
                        && (join_words || {
                            let p = self.map(pc);
                            !(ascii_alnum(p) && ascii_alnum(ch))
                                || (self.left_isolated(
                                    before.get(..before.len() - pc.len_utf8()).unwrap_or(""),
                                ) && self.right_isolated(text.get(next..).unwrap_or("")))
                        });
                    if !join {
                        sink.emit(u32::from(BREAK), run_start, i);
                    }
                }
                run = 0;
                hard = false;
            }
            sink.emit(ch, i, next);
        }
    }

    /// Whether a character after `before` has no character, or a
    /// separator, on its left.
    fn left_isolated(&self, before: &str) -> bool {
        before
            .chars()
            .next_back()
            .is_none_or(|n| self.map(n) >= SEP)
    }

    fn right_isolated(&self, rest: &str) -> bool {
        rest.chars().next().is_none_or(|n| self.map(n) >= SEP)
    }

    /// Maps a character for boundary checks: is it an ASCII letter or digit
    /// once normalized?
    #[inline]
    pub(crate) fn is_word_char(&self, c: char) -> bool {
        let m = self.map(c);
        m < 0x80 && (m as u8).is_ascii_alphanumeric()
    }
}

/// The engine's character folding (width, case, traditional to simplified,
/// digits: whatever [`Options`] turn on) as a cheap per-character lookup,
/// for other consumers of the same normalization (the `beian judge`
/// classifier's features). Separator skipping does not apply: with
/// `separators` on, [`CharMap::map`] returns `None` for a separator.
#[derive(Clone)]
pub struct CharMap {
    table: std::sync::Arc<Table>,
}

impl std::fmt::Debug for CharMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CharMap")
            .field("opts", &self.table.opts)
            .finish_non_exhaustive()
    }
}

impl CharMap {
    /// The folding table for `opts` (built once per process and shared).
    pub fn new(opts: Options) -> Result<CharMap, ScreenError> {
        Ok(CharMap {
            table: Table::shared(opts)?,
        })
    }

    /// The folded character, or `None` for a separator.
    #[inline(always)]
    pub fn map(&self, c: char) -> Option<char> {
        let m = self.table.map(c);
        if m >= SEP { None } else { char::from_u32(m) }
    }
}

/// Receives normalized characters with their original byte spans.
pub(crate) trait Emit {
    /// `ch` is a character's scalar value (a `u32`, so that the scanner's
    /// inner loop hashes and compares it without converting).
    fn emit(&mut self, ch: u32, start: usize, end: usize);

    /// A fast path: takes the characters at `bytes[at..]` that `plain`
    /// reads, as many as the sink has nothing more to do for than
    /// [`Emit::emit`] would, and returns the byte offset of the first one
    /// it left (`at` when none). The walk calls it only where no separator
    /// run is pending, so each character taken is one `emit` would get
    /// with its own span.
    #[inline(always)]
    fn emit_plain(&mut self, _plain: Plain<'_>, _bytes: &[u8], at: usize) -> usize {
        at
    }
}

/// Reads "plain" characters: BMP characters outside ASCII that normalize to
/// a BMP character outside ASCII (no separator, no astral result). A `Copy`
/// view of the table, for a loop that keeps it in a register.
#[derive(Clone, Copy)]
pub(crate) struct Plain<'a> {
    bmp: &'a [u16; 0x10000],
}

impl Plain<'_> {
    /// The normalized code and byte length of the character at `bytes[i..]`
    /// when it is plain (`i` on a character boundary of valid UTF-8). Its
    /// own decoder: one four-byte load, two- and three-byte sequences only
    /// (the last characters of a text, with fewer than four bytes from
    /// their start, are left to the general path).
    #[inline(always)]
    pub(crate) fn at(self, bytes: &[u8], i: usize) -> Option<(u32, usize)> {
        let w = match bytes.get(i..i + 4)? {
            &[a, b, c, d] => u32::from_le_bytes([a, b, c, d]),
            _ => return None,
        };
        let (u, len) = if w & 0xF0 == 0xE0 {
            ((w & 0x0F) << 12 | (w >> 2) & 0x0FC0 | (w >> 16) & 0x3F, 3)
        } else if w & 0xE0 == 0xC0 {
            ((w & 0x1F) << 6 | (w >> 8) & 0x3F, 2)
        } else {
            return None; // ASCII, or outside the BMP
        };
        let v = *self.bmp.get(u as usize)?;
        (0x80..ASTRAL).contains(&v).then_some((u32::from(v), len))
    }
}

struct FnEmit<F>(F);

impl<F: FnMut(char, usize, usize)> Emit for FnEmit<F> {
    #[inline(always)]
    fn emit(&mut self, ch: u32, start: usize, end: usize) {
        (self.0)(
            char::from_u32(ch).unwrap_or(char::REPLACEMENT_CHARACTER),
            start,
            end,
        )
    }
}

/// A normalized string with the original byte span of each character.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Normalized {
    pub text: String,
    /// `(start, end)` in the original for each char of `text`.
    pub spans: Vec<(usize, usize)>,
}

impl Normalized {
    /// Normalizes `text` with `opts` (builds a table; use an engine for bulk work).
    pub fn new(text: &str, opts: Options) -> Result<Normalized, ScreenError> {
        let table = Table::shared(opts)?;
        Ok(Self::with_table(&table, text))
    }

    /// The normalized text of `text` and its length in characters,
    /// without the spans: what a term needs at start-up (one allocation
    /// per term instead of two).
    pub(crate) fn text_with_table(table: &Table, text: &str) -> (String, usize) {
        let mut out = String::with_capacity(text.len() + 4);
        let mut n = 0usize;
        table.walk(text, |c, _, _| {
            out.push(c);
            n += 1;
        });
        (out, n)
    }

    pub(crate) fn with_table(table: &Table, text: &str) -> Normalized {
        // Short texts (every term at start-up): one allocation each, not a
        // growth step every few characters. Folding rarely lengthens text.
        let cap = if text.len() <= 256 { text.len() + 4 } else { 0 };
        let mut n = Normalized {
            text: String::with_capacity(cap),
            spans: Vec::with_capacity(cap),
        };
        table.walk(text, |c, s, e| {
            n.text.push(c);
            n.spans.push((s, e));
        });
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_alone_is_the_text_and_length_of_the_full_normalization() {
        let table = Table::new(Options::default()).expect("table");
        for t in [
            "",
            "法轮功",
            "法 . 轮 . 功",
            "ＦａＬｕｎ功",
            "習近平",
            "六四 64 ６４",
            "a",
            "赌👍博",
            "Hello, 世界!",
        ] {
            let full = Normalized::with_table(&table, t);
            assert_eq!(
                Normalized::text_with_table(&table, t),
                (full.text.clone(), full.spans.len()),
                "{t}"
            );
        }
    }

    #[test]
    fn differences_name_each_differing_option() {
        let a = Options::default();
        let b = Options {
            min_term_chars: 1,
            pinyin: false,
            ..a
        };
        assert!(a.differences(&a).is_empty());
        assert_eq!(
            b.differences(&a),
            vec!["pinyin: false, not true", "min_term_chars: 1, not 2"]
        );
    }

    #[test]
    fn plain_reads_what_decode_and_the_table_read() {
        // Every BMP character, followed by enough bytes for the four-byte
        // load: plain exactly when it is non-ASCII and normalizes to a
        // non-ASCII BMP character (no separator, no astral result).
        let table = Table::new(Options::default()).expect("table");
        let plain = table.plain().expect("BMP table");
        let mut buf = [0u8; 8];
        let mut plains = 0;
        for c in (0..0x10000u32).filter_map(char::from_u32) {
            let n = c.encode_utf8(&mut buf).len();
            buf[n..].fill(b'z');
            let m = table.map(c);
            let want =
                (c as u32 >= 0x80 && (0x80..u32::from(ASTRAL)).contains(&m)).then_some((m, n));
            assert_eq!(plain.at(&buf, 0), want, "U+{:04X}", c as u32);
            plains += usize::from(want.is_some());
            // With fewer than four bytes from its start, the general path
            // takes it.
            assert_eq!(plain.at(&buf[..n], 0), None);
        }
        assert!(plains > 40_000, "{plains}");
        assert_eq!(plain.at("😀zzz".as_bytes(), 0), None);
    }

    #[test]
    fn decode_at_reads_what_char_indices_reads() {
        let full = "aé法😀\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}z";
        // Every prefix, so that each kind of character also ends a text
        // (where fewer than three bytes follow its lead byte).
        for (cut, _) in full.char_indices().skip(1).chain([(full.len(), 'z')]) {
            let text = &full[..cut];
            let mut got = Vec::new();
            let mut i = 0;
            while let Some((u, len)) = decode_at(text.as_bytes(), i) {
                got.push((i, char::from_u32(u).expect("a scalar value"), len));
                i += len;
            }
            let want: Vec<_> = text
                .char_indices()
                .map(|(i, c)| (i, c, c.len_utf8()))
                .collect();
            assert_eq!(got, want, "{text:?}");
        }
        assert_eq!(decode_at(b"", 0), None);
    }

    #[test]
    fn astral_characters_fold_as_with_opencc_loaded() {
        // `map_astral` loads OpenCC's tables only for characters that fold
        // into its ranges; it must give what the full slow path gives.
        let table = Table::new(Options::default()).expect("table");
        let t2s = t2s_map().expect("t2s");
        let ranges = [0x1D400u32..=0x1D7FF, 0x1F000..=0x1FAFF, 0x2F800..=0x2FA1F];
        let mut simplified = 0;
        for c in ranges.into_iter().flatten().filter_map(char::from_u32) {
            let want = map_char_slow(c, &table.opts, Some(t2s));
            assert_eq!(table.map(c), want, "U+{:X}", c as u32);
            simplified += usize::from(folds_into_t2s_ranges(c));
        }
        // The compatibility ideographs do fold into the ranges.
        assert!(simplified > 400, "{simplified}");
    }

    #[test]
    fn astral_folds_lie_in_their_blocks() {
        // Every astral character that folds into OpenCC's ranges is in
        // FOLD_BLOCKS, so the table holds its result: a scan never loads
        // OpenCC for it. (A new Unicode version that adds one elsewhere
        // fails here; `map_astral` would still fold it, slowly.)
        let outside: Vec<String> = (0x1_0000u32..=0x10_FFFF)
            .filter_map(char::from_u32)
            .filter(|&c| folds_into_t2s_ranges(c))
            .filter(|&c| !FOLD_BLOCKS.iter().any(|b| b.contains(&(c as u32))))
            .map(|c| format!("U+{:X}", c as u32))
            .collect();
        assert!(outside.is_empty(), "{outside:?}");
        let table = Table::new(Options::default()).expect("table");
        let t2s = t2s_map().expect("t2s");
        assert!(table.folds.len() > 400, "{}", table.folds.len());
        for &(c, v) in table.folds.iter() {
            let c = char::from_u32(c).expect("a character");
            assert_eq!(v, map_char_slow(c, &table.opts, Some(t2s)), "{c:?}");
        }
        // 🈶 (squared 有) folds to 有; 丽 (U+2F800) to 丽.
        assert_eq!(table.map('\u{1F236}'), u32::from('有'));
        assert_eq!(table.map('\u{2F800}'), u32::from('丽'));
        // Without traditional folding there is nothing to hold.
        let plain = Options {
            traditional: false,
            ..Options::default()
        };
        assert!(Table::new(plain).expect("table").folds.is_empty());
    }

    #[test]
    fn embedded_default_table_is_current() {
        let built = Table::build(Options::default()).expect("default table");
        let bytes = table_bytes(&built);
        if std::env::var_os("BEIAN_BLESS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/default-table.bin");
            std::fs::write(path, &bytes).expect("writing the default table");
            return;
        }
        assert!(
            bytes == DEFAULT_BMP,
            "crates/screen/data/default-table.bin is stale: rewrite it with \
             `BEIAN_BLESS=1 cargo test -p beian-screen embedded_default_table`"
        );
        // What the engine uses for the defaults is that table.
        let used = Table::new(Options::default()).expect("default table");
        assert!(used.bmp == built.bmp && used.bmp_astral == built.bmp_astral);
        assert!(!built.bmp_astral.is_empty());
        // a compiled lexicon stores these too: its table folds them the same without OpenCC
        let compiled = Table::from_parts(
            built.bmp.clone(),
            built.bmp_astral.clone(),
            built.folds.clone(),
            Options::default(),
        )
        .expect("size");
        assert!(used.folds == built.folds && compiled.folds == built.folds);
        for &(u, v) in built.bmp_astral.iter() {
            let c = char::from_u32(u32::from(u)).expect("a BMP character");
            assert_eq!(used.map(c), v);
            assert_eq!(map_char_slow(c, &used.opts, t2s_map().ok()), v);
            assert_eq!(
                compiled.map(c),
                v,
                "{c:?} through a compiled lexicon's table"
            );
        }
        // Other foldings are built, not taken from it.
        let plain = Options {
            traditional: false,
            ..Options::default()
        };
        assert!(Table::new(plain).expect("table").bmp != built.bmp);
    }

    fn norm(s: &str) -> String {
        Normalized::new(s, Options::default())
            .expect("test setup")
            .text
    }

    #[test]
    fn basic_folds() {
        assert_eq!(norm("ＡＢｃ"), "abc");
        assert_eq!(norm("法輪功"), "法轮功");
        assert_eq!(norm("①②③"), "123");
        assert_eq!(norm("六四"), "64");
        assert_eq!(norm("法\u{200b}轮"), "法轮");
        assert_eq!(norm("法😀轮"), "法轮");
        assert_eq!(norm("法。轮"), "法 轮");
        assert_eq!(norm("错，比"), "错 比");
        assert_eq!(norm("错、比"), "错 比");
        assert_eq!(norm("错：比"), "错 比");
        assert_eq!(norm("错\n比"), "错 比");
        assert_eq!(norm("法....轮"), "法 轮");
        assert_eq!(norm("f u c k"), "fuck");
        // ASCII words join (the word-boundary rule keeps `sex` out of `is extra`).
        assert_eq!(norm("is extra"), "isextra");
        assert_eq!(norm("www.abc.com"), "wwwabccom");
        let strict = Options {
            ascii_word_boundary: false,
            ..Options::default()
        };
        let n = |s: &str| Normalized::new(s, strict).expect("test setup").text;
        assert_eq!(n("f u c k"), "fuck");
        assert_eq!(n("is extra"), "is extra");
        assert_eq!(n("www.abc.com"), "www abc com");
        assert_eq!(norm("  前后  "), "前后");
    }

    #[test]
    fn spans_cover_original() {
        let s = "Ａ法\u{200b}輪";
        let n = Normalized::new(s, Options::default()).expect("test setup");
        assert_eq!(n.text, "a法轮");
        assert_eq!(n.spans, vec![(0, 3), (3, 6), (9, 12)]);
    }
}
