//! Features: the screening engine's character folding, then hashed
//! character n-grams.

use beian_screen::{CharMap, Options};
use serde::{Deserialize, Serialize};

use crate::JudgeError;

/// How text becomes features; stored in the model header so that a model
/// is always applied with the settings it was trained with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureSettings {
    /// Shortest character n-gram.
    pub ngram_min: u8,
    /// Longest character n-gram (at most 4).
    pub ngram_max: u8,
    /// The hashed feature space has `2^bucket_bits` buckets.
    pub bucket_bits: u8,
    /// Full-width and compatibility forms folded (NFKC per character).
    pub width: bool,
    /// Letters lower-cased.
    pub case: bool,
    /// Traditional characters folded to simplified (OpenCC TSCharacters).
    pub traditional: bool,
    /// The n-gram hash (`mix64-v1`: characters packed 21 bits each, an
    /// xor-shift and a multiply, the top bits).
    pub hash: String,
    /// How repeats of an n-gram in one text count: `count` (each occurrence,
    /// the text scaled by `1/sqrt(n)` for `n` n-grams; models before this
    /// field), `log` (`1 + ln(tf)` per distinct n-gram) or `binary` (1 per
    /// distinct n-gram); `log` and `binary` scale the text to unit length.
    /// Any per-n-gram weight learnt in training (IDF) is folded into the
    /// stored weights, so applying a model needs nothing else.
    #[serde(default = "count_tf")]
    pub tf: String,
}

fn count_tf() -> String {
    TF_COUNT.to_owned()
}

pub(crate) const TF_COUNT: &str = "count";
pub(crate) const TF_LOG: &str = "log";
pub(crate) const TF_BINARY: &str = "binary";

/// Term weighting, parsed from [`FeatureSettings::tf`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tf {
    Count,
    Log,
    Binary,
}

impl Default for FeatureSettings {
    fn default() -> Self {
        FeatureSettings {
            ngram_min: 1,
            ngram_max: 3,
            bucket_bits: 18,
            width: true,
            case: true,
            traditional: true,
            hash: HASH.to_owned(),
            tf: TF_LOG.to_owned(),
        }
    }
}

pub(crate) const HASH: &str = "mix64-v1";

/// Turns text into hashed n-gram buckets.
#[derive(Debug, Clone)]
pub struct Featurizer {
    map: CharMap,
    settings: FeatureSettings,
    shift: u32,
    tf: Tf,
}

/// Multiplicative hashing of the packed key (the top bits are taken); the
/// xor-shift folds the high characters of a trigram into the low bits first.
#[inline(always)]
fn mix(x: u64) -> u64 {
    (x ^ (x >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Per-order salts: a unigram and a bigram never share a key.
const SALT: [u64; 5] = [
    0,
    0x5851_F42D_4C95_7F2D,
    0x1405_7B7E_F767_814F,
    0x2545_F491_4F6C_DD1D,
    0x6A09_E667_F3BC_C909,
];

impl Featurizer {
    /// A featurizer for `settings`; fails on settings this version cannot
    /// apply (an unknown hash, n-grams outside 1..=3, a bucket count out of range).
    pub fn new(settings: &FeatureSettings) -> Result<Featurizer, JudgeError> {
        if settings.hash != HASH {
            return Err(JudgeError::Settings(format!(
                "unknown feature hash {:?} (this beian knows {HASH:?})",
                settings.hash
            )));
        }
        if !(1..=4).contains(&settings.ngram_min)
            || !(settings.ngram_min..=4).contains(&settings.ngram_max)
        {
            return Err(JudgeError::Settings(format!(
                "n-grams {}..={} (supported: lengths 1 to 4)",
                settings.ngram_min, settings.ngram_max
            )));
        }
        if !(8..=24).contains(&settings.bucket_bits) {
            return Err(JudgeError::Settings(format!(
                "bucket_bits {} (supported: 8 to 24)",
                settings.bucket_bits
            )));
        }
        let tf = match settings.tf.as_str() {
            TF_COUNT => Tf::Count,
            TF_LOG => Tf::Log,
            TF_BINARY => Tf::Binary,
            other => {
                return Err(JudgeError::Settings(format!(
                    "unknown term weighting tf = {other:?} (this beian knows count, log, binary)"
                )));
            }
        };
        let opts = Options {
            width: settings.width,
            case: settings.case,
            traditional: settings.traditional,
            ..Options::none()
        };
        Ok(Featurizer {
            map: CharMap::new(opts)?,
            settings: settings.clone(),
            shift: 64 - u32::from(settings.bucket_bits),
            tf,
        })
    }

    pub fn settings(&self) -> &FeatureSettings {
        &self.settings
    }

    /// Number of buckets.
    pub fn buckets(&self) -> usize {
        1usize << self.settings.bucket_bits
    }

    /// Calls `f(bucket)` for every n-gram of `text` (repeats included);
    /// returns how many. Runs of whitespace count as one space.
    #[inline]
    pub fn for_each(&self, text: &str, mut f: impl FnMut(usize)) -> usize {
        let (lo, hi) = (self.settings.ngram_min, self.settings.ngram_max);
        let shift = self.shift;
        let mut c1 = 0u64;
        let mut c2 = 0u64;
        let mut c3 = 0u64;
        let mut seen = 0u32;
        let mut n = 0usize;
        let mut prev_space = true;
        for c in text.chars() {
            let mut m = self.map.map(c).unwrap_or(c);
            if m.is_whitespace() {
                if prev_space {
                    continue;
                }
                m = ' ';
                prev_space = true;
            } else {
                prev_space = false;
            }
            let c0 = u64::from(u32::from(m));
            seen = seen.saturating_add(1);
            if lo <= 1 && 1 <= hi {
                f((mix(c0 ^ SALT[1]) >> shift) as usize);
                n += 1;
            }
            if hi >= 2 && lo <= 2 && seen >= 2 {
                f((mix((c1 << 21 | c0) ^ SALT[2]) >> shift) as usize);
                n += 1;
            }
            if hi >= 3 && lo <= 3 && seen >= 3 {
                f((mix((c2 << 42 | c1 << 21 | c0) ^ SALT[3]) >> shift) as usize);
                n += 1;
            }
            if hi >= 4 && seen >= 4 {
                let k = mix(c3 << 42 | c2 << 21 | c1) ^ c0.wrapping_mul(0xD6E8_FEB8_6659_FD93);
                f((mix(k ^ SALT[4]) >> shift) as usize);
                n += 1;
            }
            c3 = c2;
            c2 = c1;
            c1 = c0;
        }
        n
    }
}

impl Featurizer {
    pub(crate) fn tf(&self) -> Tf {
        self.tf
    }

    /// The weighted features of `text`: `(bucket, weight)` with the text
    /// scaled as [`FeatureSettings::tf`] says. `Count` keeps each occurrence
    /// (weight `1/sqrt(n)`); `Log` and `Binary` give each distinct bucket
    /// once, sorted by bucket. `buf` is scratch space.
    pub fn weighted(&self, text: &str, buf: &mut Vec<u32>, out: &mut Vec<(u32, f32)>) {
        out.clear();
        buf.clear();
        let n = self.for_each(text, |b| buf.push(b as u32));
        if n == 0 {
            return;
        }
        if self.tf == Tf::Count {
            let w = 1.0 / (n as f32).sqrt();
            out.extend(buf.iter().map(|&b| (b, w)));
            return;
        }
        buf.sort_unstable();
        let mut sq = 0f32;
        let mut i = 0;
        while i < buf.len() {
            let b = buf[i];
            let mut j = i + 1;
            while j < buf.len() && buf[j] == b {
                j += 1;
            }
            let w = tf_weight(self.tf, (j - i) as u32);
            sq += w * w;
            out.push((b, w));
            i = j;
        }
        let norm = 1.0 / sq.sqrt();
        for x in out.iter_mut() {
            x.1 *= norm;
        }
    }
}

/// The weight of an n-gram seen `tf` times in one text (before scaling).
#[inline]
pub(crate) fn tf_weight(tf: Tf, n: u32) -> f32 {
    match tf {
        Tf::Count => n as f32,
        Tf::Log => 1.0 + (n as f32).ln(),
        Tf::Binary => 1.0,
    }
}
