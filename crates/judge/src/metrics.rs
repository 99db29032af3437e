//! Evaluation: per-label precision, recall and F1, macro-F1, the binary
//! "not safe" view at a threshold, and the confusion matrix.

use std::collections::BTreeMap;

use serde::Serialize;

/// Per-label figures (`n`: gold examples of the label).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LabelMetrics {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub n: u64,
}

/// "Not safe" against the safe label, at the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Binary {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Share of safe examples flagged.
    pub fpr: f64,
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
}

/// An evaluation (the `beian judge eval --format json` shape).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Eval {
    pub n: u64,
    pub threshold: f32,
    /// Mean F1 over the labels that occur in the data or in the predictions.
    pub macro_f1: f64,
    pub labels: BTreeMap<String, LabelMetrics>,
    pub binary: Binary,
    /// `confusion[gold][predicted]`, in `label_order`.
    pub confusion: Vec<Vec<u64>>,
    pub label_order: Vec<String>,
}

/// Accumulates predictions.
#[derive(Debug, Clone)]
pub struct Tally {
    labels: Vec<String>,
    safe: usize,
    threshold: f32,
    confusion: Vec<Vec<u64>>,
    tp: u64,
    fp: u64,
    tn: u64,
    fn_: u64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

impl Tally {
    pub fn new(labels: &[String], safe: usize, threshold: f32) -> Tally {
        let k = labels.len();
        Tally {
            labels: labels.to_vec(),
            safe,
            threshold,
            confusion: vec![vec![0; k]; k],
            tp: 0,
            fp: 0,
            tn: 0,
            fn_: 0,
        }
    }

    /// Adds one example: its gold label, the predicted label and the score.
    pub fn add(&mut self, gold: usize, predicted: usize, score: f32) {
        self.confusion[gold][predicted] += 1;
        let flagged = score >= self.threshold;
        match (gold != self.safe, flagged) {
            (true, true) => self.tp += 1,
            (true, false) => self.fn_ += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
        }
    }

    pub fn finish(self) -> Eval {
        let k = self.labels.len();
        let mut labels = BTreeMap::new();
        let mut f1s = Vec::new();
        let mut n = 0;
        for i in 0..k {
            let gold: u64 = self.confusion[i].iter().sum();
            let pred: u64 = self.confusion.iter().map(|r| r[i]).sum();
            let tp = self.confusion[i][i];
            n += gold;
            let (p, r) = (ratio(tp, pred), ratio(tp, gold));
            let m = LabelMetrics {
                precision: p,
                recall: r,
                f1: f1(p, r),
                n: gold,
            };
            if gold > 0 || pred > 0 {
                f1s.push(m.f1);
                labels.insert(self.labels[i].clone(), m);
            }
        }
        let p = ratio(self.tp, self.tp + self.fp);
        let r = ratio(self.tp, self.tp + self.fn_);
        Eval {
            n,
            threshold: self.threshold,
            macro_f1: if f1s.is_empty() {
                0.0
            } else {
                f1s.iter().sum::<f64>() / f1s.len() as f64
            },
            labels,
            binary: Binary {
                precision: p,
                recall: r,
                f1: f1(p, r),
                fpr: ratio(self.fp, self.fp + self.tn),
                tp: self.tp,
                fp: self.fp,
                tn: self.tn,
                fn_: self.fn_,
            },
            confusion: self.confusion,
            label_order: self.labels,
        }
    }
}

/// Terminal columns of `s` (wide East Asian characters count two).
fn columns(s: &str) -> usize {
    s.chars()
        .map(|c| if (c as u32) >= 0x2E80 { 2 } else { 1 })
        .sum()
}

impl Eval {
    /// The text report: figures per label, binary, and the confusion matrix.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "examples {}  threshold {:.4}  macro-F1 {:.4}",
            self.n, self.threshold, self.macro_f1
        );
        let w = self
            .labels
            .keys()
            .map(|l| columns(l))
            .max()
            .unwrap_or(5)
            .max(5);
        let _ = writeln!(
            o,
            "{:<w$}  {:>9} {:>9} {:>9} {:>7}",
            "label", "precision", "recall", "f1", "n"
        );
        for (l, m) in &self.labels {
            // Width counts characters; CJK characters take two columns.
            let pad = w - columns(l) + l.chars().count();
            let _ = writeln!(
                o,
                "{l:<pad$}  {:>9.4} {:>9.4} {:>9.4} {:>7}",
                m.precision, m.recall, m.f1, m.n
            );
        }
        let b = &self.binary;
        let _ = writeln!(
            o,
            "not safe vs safe at {:.4}: precision {:.4}  recall {:.4}  f1 {:.4}  fpr {:.4}  (tp {} fp {} tn {} fn {})",
            self.threshold, b.precision, b.recall, b.f1, b.fpr, b.tp, b.fp, b.tn, b.fn_
        );
        let _ = writeln!(o, "confusion (rows: gold, columns: predicted)");
        let shown: Vec<usize> = (0..self.label_order.len())
            .filter(|&i| {
                self.confusion[i].iter().sum::<u64>() > 0 || self.confusion.iter().any(|r| r[i] > 0)
            })
            .collect();
        for (j, &i) in shown.iter().enumerate() {
            let _ = writeln!(o, "  [{j}] {}", self.label_order[i]);
        }
        let _ = write!(o, "{:>6}", "");
        for j in 0..shown.len() {
            let _ = write!(o, " {:>7}", format!("[{j}]"));
        }
        let _ = writeln!(o);
        for (j, &i) in shown.iter().enumerate() {
            let _ = write!(o, "{:>6}", format!("[{j}]"));
            for &c in &shown {
                let _ = write!(o, " {:>7}", self.confusion[i][c]);
            }
            let _ = writeln!(o);
        }
        o
    }
}
