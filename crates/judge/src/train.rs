//! Training: a multinomial logistic regression over hashed n-grams, fitted
//! by stochastic gradient descent; a held-out split; threshold calibration.

use std::collections::BTreeMap;

use crate::data::Example;
use crate::features::{FeatureSettings, Featurizer};
use crate::metrics::{Eval, Tally};
use crate::model::{FORMAT, Header, Model, TrainingFile, softmax};
use crate::{JudgeError, Scratch};

/// Training settings. [`TrainConfig::default`] is what `beian judge train` uses.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub features: FeatureSettings,
    /// The harmless class.
    pub safe_label: String,
    /// Passes over the training split.
    pub epochs: usize,
    /// Starting learning rate (decays linearly to 0).
    pub learning_rate: f32,
    /// Share of examples held out for validation and calibration.
    pub held_out: f64,
    /// Seed of the split and the shuffles.
    pub seed: u64,
    /// The threshold flags at most this share of held-out safe examples.
    pub max_safe_flagged: f64,
    /// A looser (or tighter) bound for the held-out *labelled* safe texts
    /// alone (default: `max_safe_flagged`). Labelled safe texts are often
    /// hard negatives (sensitive but answerable questions) that a screen may
    /// send to review more readily than everyday background text.
    pub max_labelled_safe_flagged: Option<f64>,
    /// Weigh examples by the inverse square root of their label's frequency,
    /// so that a large background does not drown the risky labels.
    pub balance: bool,
    /// Bound labelled safe and background examples together (`true`) or each
    /// on its own (`false`, the default: a large background must not let the
    /// threshold flag most of a small labelled safe class).
    pub pooled_calibration: bool,
    /// Training date written to the header (`YYYY-MM-DD`); default today (UTC).
    pub created: Option<String>,
    /// Scale each n-gram by its inverse document frequency in the training
    /// split (`ln((1 + N) / (1 + df)) + 1`, as TF-IDF does) while training;
    /// the factors are folded into the stored weights.
    pub idf: bool,
    /// Return the average of the weights over all steps (averaged SGD)
    /// instead of the last ones.
    pub average: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            features: FeatureSettings::default(),
            safe_label: "safe".into(),
            epochs: 10,
            learning_rate: 0.1,
            held_out: 0.1,
            seed: 1,
            max_safe_flagged: 0.01,
            max_labelled_safe_flagged: None,
            balance: true,
            pooled_calibration: false,
            created: None,
            idf: true,
            average: true,
        }
    }
}

/// What training reports beside the model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainReport {
    pub labels: Vec<String>,
    /// Examples per label (all, before the split).
    pub label_counts: BTreeMap<String, usize>,
    pub train_examples: usize,
    pub held_out_examples: usize,
    pub background_examples: usize,
    pub threshold: f32,
    /// Set when the calibration target could not be met and another rule chose
    /// the threshold: says which group and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibration_note: Option<String>,
    /// Share of held-out safe and background examples flagged at the threshold.
    pub held_out_safe_flagged: f64,
    /// Of those, the labelled safe ones (not background).
    pub held_out_labelled_safe_flagged: f64,
    /// Of those, the background ones.
    pub held_out_background_flagged: f64,
    /// Evaluation on the held-out split at the threshold.
    pub eval: Eval,
    pub buckets: usize,
    pub model_bytes: usize,
}

/// splitmix64.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Trains a model on `examples` (labelled data and background, the latter
/// already labelled with the safe label). `files` are recorded in the header.
pub fn train(
    examples: &[Example],
    files: Vec<TrainingFile>,
    cfg: &TrainConfig,
) -> Result<(Model, TrainReport), JudgeError> {
    let feat = Featurizer::new(&cfg.features)?;
    if examples.is_empty() {
        return Err(JudgeError::Training("no examples".into()));
    }
    // Labels: the safe label first, then the others in order of appearance.
    let mut labels: Vec<String> = vec![cfg.safe_label.clone()];
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut y: Vec<usize> = Vec::with_capacity(examples.len());
    for e in examples {
        let i = match labels.iter().position(|l| *l == e.label) {
            Some(i) => i,
            None => {
                labels.push(e.label.clone());
                labels.len() - 1
            }
        };
        y.push(i);
        *counts.entry(e.label.clone()).or_default() += 1;
    }
    let k = labels.len();
    if k < 2 {
        return Err(JudgeError::Training(format!(
            "only the safe label {:?}: give labelled examples of at least one risk",
            cfg.safe_label
        )));
    }
    if !counts.contains_key(&cfg.safe_label) {
        return Err(JudgeError::Training(format!(
            "no safe examples: label some {:?} or give --background text",
            cfg.safe_label
        )));
    }

    // Deterministic split, by label so that each keeps its share.
    let mut rng = cfg.seed ^ 0x5EED;
    let mut held = vec![false; examples.len()];
    let mut by_label: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &l) in y.iter().enumerate() {
        by_label[l].push(i);
    }
    for idx in &mut by_label {
        shuffle(idx, &mut rng);
        let h = ((idx.len() as f64) * cfg.held_out).round() as usize;
        let h = if idx.len() >= 2 { h.max(1) } else { 0 };
        for &i in idx.iter().take(h) {
            held[i] = true;
        }
    }

    // Features, once: buckets and their weights (the text already scaled).
    let mut offsets: Vec<usize> = Vec::with_capacity(examples.len() + 1);
    let mut feats: Vec<u32> = Vec::new();
    let mut vals: Vec<f32> = Vec::new();
    offsets.push(0);
    {
        let (mut buf, mut one) = (Vec::new(), Vec::new());
        for e in examples {
            feat.weighted(&e.text, &mut buf, &mut one);
            feats.extend(one.iter().map(|x| x.0));
            vals.extend(one.iter().map(|x| x.1));
            offsets.push(feats.len());
        }
    }
    let buckets = feat.buckets();
    // Inverse document frequency over the training split (not the held-out
    // part), multiplied into the feature values here and into the stored
    // weights at the end, so a model applies it without storing it.
    let idf: Option<Vec<f32>> = cfg.idf.then(|| {
        let mut df = vec![0u32; buckets];
        let mut last = vec![u32::MAX; buckets];
        let mut docs = 0u32;
        for i in (0..examples.len()).filter(|&i| !held[i]) {
            docs += 1;
            for &b in &feats[offsets[i]..offsets[i + 1]] {
                if last[b as usize] != i as u32 {
                    last[b as usize] = i as u32;
                    df[b as usize] += 1;
                }
            }
        }
        let n = f64::from(docs);
        df.iter()
            .map(|&d| (((1.0 + n) / (1.0 + f64::from(d))).ln() + 1.0) as f32)
            .collect()
    });
    if let Some(idf) = &idf {
        for (v, &b) in vals.iter_mut().zip(&feats) {
            *v *= idf[b as usize];
        }
    }

    let class_w: Vec<f32> = (0..k)
        .map(|l| {
            if cfg.balance {
                let n = by_label[l].len().max(1) as f64;
                let mean = examples.len() as f64 / k as f64;
                (mean / n).sqrt().clamp(0.05, 20.0) as f32
            } else {
                1.0
            }
        })
        .collect();

    let mut train_idx: Vec<usize> = (0..examples.len()).filter(|&i| !held[i]).collect();
    let mut w = vec![0f32; buckets * k];
    let mut bias = vec![0f32; k];
    // Averaged SGD: with d_s the change at step s, the mean of the weights
    // over T steps is w_T - (1/T) * sum (s - 1) d_s; `u` holds that sum.
    let mut u: Vec<f32> = if cfg.average {
        vec![0.0; buckets * k]
    } else {
        Vec::new()
    };
    let mut ub = vec![0f64; k];
    let total = (cfg.epochs.max(1) * train_idx.len()).max(1) as f64;
    let mut step = 0f64;
    let mut z = vec![0f32; k];
    for _ in 0..cfg.epochs.max(1) {
        shuffle(&mut train_idx, &mut rng);
        for &i in &train_idx {
            let (f, v) = (
                &feats[offsets[i]..offsets[i + 1]],
                &vals[offsets[i]..offsets[i + 1]],
            );
            let lr = cfg.learning_rate * (1.0 - step / total).max(0.0001) as f32;
            let s_prev = step;
            step += 1.0;
            z.copy_from_slice(&bias);
            for (&b, &x) in f.iter().zip(v) {
                let row = &w[b as usize * k..b as usize * k + k];
                for (zz, &r) in z.iter_mut().zip(row) {
                    *zz += r * x;
                }
            }
            softmax(&mut z);
            let cw = class_w[y[i]];
            for (j, g) in z.iter_mut().enumerate() {
                *g = (*g - if j == y[i] { 1.0 } else { 0.0 }) * cw * lr;
            }
            for (j, (b, g)) in bias.iter_mut().zip(z.iter()).enumerate() {
                *b -= g;
                if cfg.average {
                    ub[j] -= s_prev * f64::from(*g);
                }
            }
            if cfg.average {
                let sp = s_prev as f32;
                for (&b, &x) in f.iter().zip(v) {
                    let at = b as usize * k;
                    for ((r, uu), g) in w[at..at + k]
                        .iter_mut()
                        .zip(&mut u[at..at + k])
                        .zip(z.iter())
                    {
                        let d = g * x;
                        *r -= d;
                        *uu -= sp * d;
                    }
                }
            } else {
                for (&b, &x) in f.iter().zip(v) {
                    let at = b as usize * k;
                    for (r, g) in w[at..at + k].iter_mut().zip(z.iter()) {
                        *r -= g * x;
                    }
                }
            }
        }
    }
    if cfg.average {
        let t = step.max(1.0);
        for (x, uu) in w.iter_mut().zip(&u) {
            *x = (f64::from(*x) - f64::from(*uu) / t) as f32;
        }
        for (x, uu) in bias.iter_mut().zip(&ub) {
            *x = (f64::from(*x) - uu / t) as f32;
        }
    }
    if let Some(idf) = &idf {
        for (row, &f) in w.chunks_exact_mut(k).zip(idf) {
            for x in row {
                *x *= f;
            }
        }
    }

    let held_n = held.iter().filter(|&&h| h).count();
    let header = Header {
        format: FORMAT,
        beian_version: env!("CARGO_PKG_VERSION").to_owned(),
        created: cfg.created.clone().unwrap_or_else(today),
        labels: labels.clone(),
        safe_label: cfg.safe_label.clone(),
        threshold: 0.5,
        calibrated_max_safe_flagged: cfg.max_safe_flagged as f32,
        calibrated_max_labelled_safe_flagged: cfg.max_labelled_safe_flagged.map(|x| x as f32),
        features: cfg.features.clone(),
        training: files,
        train_examples: examples.len() - held_n,
        held_out_examples: held_n,
        epochs: cfg.epochs.max(1),
        weights_sha256: String::new(),
    };
    let mut model = Model::from_float(header, feat, bias, &w)?;

    // Calibration on the held-out split, with the quantized model.
    let mut scratch = Scratch::default();
    let mut scored: Vec<(usize, usize, f32)> = Vec::with_capacity(held_n);
    for (i, e) in examples.iter().enumerate() {
        if held[i] {
            let v = model.predict_with(&e.text, &mut scratch);
            scored.push((i, v.label, v.score));
        }
    }
    let safe_scores: Vec<f32> = scored
        .iter()
        .filter(|(i, _, _)| y[*i] == 0)
        .map(|&(_, _, s)| s)
        .collect();
    if safe_scores.is_empty() {
        return Err(JudgeError::Training(
            "too few safe examples to hold some out for calibration (need at least 2)".into(),
        ));
    }
    // Each group on its own by default: at most `max_safe_flagged` of the
    // held-out labelled safe texts AND at most that share of the held-out
    // background. Pooled, a large background of easy text lets the threshold
    // fall until most of a small labelled safe class is flagged.
    let group = |bg: bool| -> Vec<f32> {
        scored
            .iter()
            .filter(|(i, _, _)| y[*i] == 0 && examples[*i].background == bg)
            .map(|&(_, _, s)| s)
            .collect()
    };
    let (threshold, calibration_note) = choose_threshold(
        &group(false),
        &group(true),
        cfg.max_labelled_safe_flagged
            .unwrap_or(cfg.max_safe_flagged),
        cfg.max_safe_flagged,
        cfg.pooled_calibration,
    );
    model.set_threshold(threshold);
    let mut tally = Tally::new(&labels, 0, threshold);
    let (mut bg, mut bg_flagged, mut safe_flagged) = (0usize, 0usize, 0usize);
    let (mut ls, mut ls_flagged) = (0usize, 0usize);
    for &(i, p, s) in &scored {
        tally.add(y[i], p, s);
        if y[i] == 0 && s >= threshold {
            safe_flagged += 1;
        }
        if y[i] == 0 && !examples[i].background {
            ls += 1;
            ls_flagged += usize::from(s >= threshold);
        }
        if examples[i].background {
            bg += 1;
            if s >= threshold {
                bg_flagged += 1;
            }
        }
    }
    let report = TrainReport {
        labels,
        label_counts: counts,
        train_examples: examples.len() - held_n,
        held_out_examples: held_n,
        background_examples: examples.iter().filter(|e| e.background).count(),
        threshold,
        calibration_note,
        held_out_safe_flagged: safe_flagged as f64 / safe_scores.len() as f64,
        held_out_labelled_safe_flagged: if ls == 0 {
            0.0
        } else {
            ls_flagged as f64 / ls as f64
        },
        held_out_background_flagged: if bg == 0 {
            0.0
        } else {
            bg_flagged as f64 / bg as f64
        },
        eval: tally.finish(),
        buckets,
        model_bytes: model.to_bytes().len(),
    };
    Ok((model, report))
}

/// The default threshold from held-out safe scores: labelled safe texts
/// bounded at `labelled_max` and background at `max_share`, each on its own
/// (or both as one pool at `max_share` when `pooled`). Infeasible when more than the allowed share of a group scores as
/// high as any risky text can (the model is saturated on them: hard negatives
/// or label noise): a threshold of 1.0 would flag almost nothing, so it falls
/// back to the pooled bound, never below 0.5 (risky more probable than safe),
/// and returns a note saying so.
pub fn choose_threshold(
    labelled_safe: &[f32],
    background: &[f32],
    labelled_max: f64,
    max_share: f64,
    pooled: bool,
) -> (f32, Option<String>) {
    let pool = || -> Vec<f32> { labelled_safe.iter().chain(background).copied().collect() };
    if pooled {
        return (calibrate(&pool(), max_share), None);
    }
    let each = [(labelled_safe, labelled_max), (background, max_share)]
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, m)| calibrate(g, *m))
        .fold(0.0f32, f32::max);
    if each < 0.999 {
        return (each, None);
    }
    let p = calibrate(&pool(), max_share);
    let fallback = if p >= 0.999 { 0.5 } else { p.max(0.5) };
    let note = format!(
        "more than {:.1}% of the held-out labelled safe or background texts score {each:.4} or more, \
         so no threshold below 1.0 keeps each group at that share; using {fallback:.4} (the pooled bound, \
         between 0.5 and 1.0): check those texts for label noise, or pass --threshold",
        100.0 * max_share
    );
    (fallback, Some(note))
}

/// The lowest threshold that flags at most `max_share` of `safe` scores
/// (`score >= threshold` flags): halfway between the highest score left
/// unflagged and the next one up.
pub fn calibrate(safe: &[f32], max_share: f64) -> f32 {
    let mut s: Vec<f32> = safe.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return 0.5;
    }
    s.sort_unstable_by(|a, b| b.total_cmp(a));
    let allowed = ((s.len() as f64) * max_share).floor() as usize;
    if allowed >= s.len() {
        return 0.0;
    }
    // s[allowed] must stay below the threshold; s[..allowed] may be flagged.
    let keep = s[allowed];
    let above = if allowed > 0 { s[allowed - 1] } else { 1.0 };
    let t = if above > keep {
        keep + (above - keep) / 2.0
    } else {
        // Ties at the cut: go just above them (flags fewer than allowed).
        f32::from_bits(keep.to_bits() + 1)
    };
    let t = t.min(1.0);
    if t <= keep {
        // keep == 1.0: nothing can be flagged without flagging it.
        1.0
    } else {
        t
    }
}

fn shuffle(v: &mut [usize], rng: &mut u64) {
    for i in (1..v.len()).rev() {
        let j = (next(rng) % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    // Civil from days (H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Evaluates `model` on labelled examples. A label the model does not know
/// is an error naming the example's source line (`lines[i]` in `source`).
pub fn evaluate(
    model: &Model,
    examples: &[Example],
    source: &str,
    lines: &[usize],
    threshold: Option<f32>,
) -> Result<Eval, JudgeError> {
    let t = threshold.unwrap_or(model.threshold());
    let mut tally = Tally::new(model.labels(), model.safe_index(), t);
    let mut scratch = Scratch::default();
    for (i, e) in examples.iter().enumerate() {
        let gold = model
            .label_index(&e.label)
            .ok_or_else(|| JudgeError::BadLine {
                path: source.to_owned(),
                line: lines.get(i).copied().unwrap_or(i + 1),
                message: format!(
                    "label {:?} is not one of the model's labels ({})",
                    e.label,
                    model.labels().join(", ")
                ),
            })?;
        let v = model.predict_with(&e.text, &mut scratch);
        tally.add(gold, v.label, v.score);
    }
    Ok(tally.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_flags_at_most_the_share() {
        let scores: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0).collect();
        let t = calibrate(&scores, 0.01);
        let flagged = scores.iter().filter(|&&s| s >= t).count();
        assert_eq!(flagged, 10, "threshold {t}");
        // Ties at the cut: fewer, never more.
        let mut tied = vec![0.9f32; 50];
        tied.extend(vec![0.1f32; 950]);
        let t = calibrate(&tied, 0.01);
        assert!(tied.iter().filter(|&&s| s >= t).count() <= 10, "{t}");
        assert!(t > 0.1 && t <= 1.0);
        // Nothing may be flagged: the threshold sits above every score.
        let t = calibrate(&[0.2, 0.3, 0.4], 0.01);
        assert!(t > 0.4);
    }

    #[test]
    fn threshold_bounds_each_group_and_falls_back_when_saturated() {
        // 2000 easy background scores near 0, 100 labelled safe spread to 0.9.
        let bg: Vec<f32> = (0..2000).map(|i| i as f32 / 20000.0).collect();
        let ls: Vec<f32> = (0..100).map(|i| i as f32 / 110.0).collect();
        let (pooled, n) = choose_threshold(&ls, &bg, 0.01, 0.01, true);
        assert!(n.is_none());
        let (each, n) = choose_threshold(&ls, &bg, 0.01, 0.01, false);
        assert!(n.is_none());
        assert!(each > pooled, "{each} {pooled}");
        assert!(ls.iter().filter(|&&s| s >= each).count() <= 1);
        assert!(ls.iter().filter(|&&s| s >= pooled).count() > 1);
        // Saturated: 5% of labelled safe texts score 1.0.
        let mut sat = ls.clone();
        sat.extend([1.0f32; 5]);
        let (t, n) = choose_threshold(&sat, &bg, 0.01, 0.01, false);
        assert!(n.expect("note").contains("label noise"));
        assert!((0.5..0.999).contains(&t), "{t}");
        // A looser bound for the labelled safe texts alone: 10% of them may
        // be flagged, the background stays at 1%.
        let (loose, n) = choose_threshold(&ls, &bg, 0.10, 0.01, false);
        assert!(n.is_none());
        assert!(loose < each, "{loose} {each}");
        let flagged = ls.iter().filter(|&&s| s >= loose).count();
        assert!((2..=10).contains(&flagged), "{flagged}");
        assert!(bg.iter().filter(|&&s| s >= loose).count() <= 20);
    }

    #[test]
    fn today_is_a_date() {
        let d = today();
        assert_eq!(d.len(), 10);
        assert!(d.starts_with("20"), "{d}");
    }
}
