//! Sampling for human review (reproducible), review sheets (CSV and XLSX),
//! and reading reviewed sheets back with a Wilson interval and a verdict
//! against the thresholds of the knowledge base.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::ScanError;

/// SplitMix64: small, fast, and stable across platforms and versions, so a
/// seed always yields the same sample.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0), by rejection.
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How to sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleMode {
    /// Manual sampling: a reservoir of exactly `n` records (or all, if fewer).
    Count { n: usize, seed: u64 },
    /// Technical sampling: each record with probability `f`.
    Fraction { f: f64, seed: u64 },
}

impl SampleMode {
    pub fn kind(&self) -> &'static str {
        match self {
            SampleMode::Count { .. } => "manual",
            SampleMode::Fraction { .. } => "technical",
        }
    }
}

/// One row of a review sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleRow {
    pub source: String,
    pub record: u64,
    pub flagged: bool,
    pub risks: String,
    pub matched: String,
    pub text: String,
    #[serde(skip)]
    order: u64,
}

impl SampleRow {
    pub fn new(
        source: String,
        record: u64,
        flagged: bool,
        risks: String,
        matched: String,
        text: String,
    ) -> Self {
        SampleRow {
            source,
            record,
            flagged,
            risks,
            matched,
            text,
            order: 0,
        }
    }
}

/// Draws a sample from records offered in input order.
#[derive(Debug)]
pub struct Sampler {
    mode: SampleMode,
    rng: SplitMix64,
    seen: u64,
    rows: Vec<SampleRow>,
    /// Fraction mode with a spill file: rows go to disk as they are drawn,
    /// so memory stays bounded whatever the input size.
    spill: Option<(PathBuf, csv::Writer<std::fs::File>)>,
    spilled: u64,
    spill_error: Option<String>,
}

impl Sampler {
    pub fn new(mode: SampleMode) -> Self {
        let seed = match mode {
            SampleMode::Count { seed, .. } | SampleMode::Fraction { seed, .. } => seed,
        };
        Sampler {
            mode,
            rng: SplitMix64::new(seed),
            seen: 0,
            rows: Vec::new(),
            spill: None,
            spilled: 0,
            spill_error: None,
        }
    }

    /// In fraction mode, writes drawn rows to `path` as they come instead of
    /// keeping them in memory (a count sample is bounded already).
    pub fn spill_to(mut self, path: &Path) -> Result<Self, ScanError> {
        if matches!(self.mode, SampleMode::Fraction { .. }) {
            let w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_path(path)
                .map_err(|e| ScanError::Sheet {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
            self.spill = Some((path.to_path_buf(), w));
        }
        Ok(self)
    }

    /// Offers the next record; `make` is only called when it is kept.
    pub fn offer(&mut self, make: impl FnOnce() -> SampleRow) {
        self.seen += 1;
        let order = self.seen;
        match self.mode {
            SampleMode::Count { n, .. } => {
                if self.rows.len() < n {
                    let mut r = make();
                    r.order = order;
                    self.rows.push(r);
                } else if n > 0 {
                    let j = self.rng.below(self.seen) as usize;
                    if j < n {
                        let mut r = make();
                        r.order = order;
                        self.rows[j] = r;
                    }
                }
            }
            SampleMode::Fraction { f, .. } => {
                if self.rng.unit() < f {
                    let mut r = make();
                    r.order = order;
                    if let Some((_, w)) = self.spill.as_mut() {
                        let rec = [
                            r.source.clone(),
                            r.record.to_string(),
                            if r.flagged { "yes" } else { "no" }.to_string(),
                            r.risks.clone(),
                            r.matched.clone(),
                            r.text.clone(),
                        ];
                        if let Err(e) = w.write_record(&rec) {
                            self.spill_error.get_or_insert(e.to_string());
                        }
                        self.spilled += 1;
                    } else {
                        self.rows.push(r);
                    }
                }
            }
        }
    }

    /// Whether no row is held in memory (all spilled, or none drawn).
    pub fn finish_peek_is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Records offered so far (the population).
    pub fn population(&self) -> u64 {
        self.seen
    }

    /// The sample in input order.
    pub fn finish(mut self) -> (SampleMode, u64, Vec<SampleRow>) {
        self.rows.sort_by_key(|r| r.order);
        (self.mode, self.seen, std::mem::take(&mut self.rows))
    }

    /// Writes the review sheets (`<base>.csv`, `<base>.xlsx`), streaming
    /// spilled rows from disk; returns the paths and the number of rows.
    pub fn write_sheets(mut self, base: &Path) -> Result<(PathBuf, PathBuf, u64), ScanError> {
        if let Some(e) = self.spill_error.take() {
            let path = self
                .spill
                .as_ref()
                .map(|(p, _)| p.clone())
                .unwrap_or_default();
            return Err(ScanError::Sheet { path, message: e });
        }
        match self.spill.take() {
            None => {
                let (mode, population, rows) = self.finish();
                let n = rows.len() as u64;
                let (c, x) = write_sheets(base, &mode, population, &rows)?;
                Ok((c, x, n))
            }
            Some((path, mut w)) => {
                let err = |e: &dyn std::fmt::Display| ScanError::Sheet {
                    path: path.clone(),
                    message: e.to_string(),
                };
                w.flush().map_err(|e| err(&e))?;
                drop(w);
                let mut rdr = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_path(&path)
                    .map_err(|e| err(&e))?;
                let rows = rdr.records().map(|r| {
                    r.map(|r| {
                        let g = |i: usize| r.get(i).unwrap_or_default().to_owned();
                        SampleRow::new(
                            g(0),
                            g(1).parse().unwrap_or(0),
                            g(2) == "yes",
                            g(3),
                            g(4),
                            g(5),
                        )
                    })
                    .map_err(|e| err(&e))
                });
                let n = self.spilled;
                let (c, x) = write_sheets_iter(base, &self.mode, self.seen, rows)?;
                let _ = std::fs::remove_file(&path);
                Ok((c, x, n))
            }
        }
    }
}

const HEADER: [&str; 11] = [
    "id",
    "source",
    "record",
    "sample_kind",
    "population",
    "flagged",
    "risks",
    "matched",
    "text",
    "verdict",
    "note",
];

/// Writes `<base>.csv` and `<base>.xlsx`; returns their paths. The reviewer
/// fills the `verdict` column with `qualified` or `unqualified` (合格/不合格,
/// ok/illegal, 1/0 also accepted).
pub fn write_sheets(
    base: &Path,
    mode: &SampleMode,
    population: u64,
    rows: &[SampleRow],
) -> Result<(PathBuf, PathBuf), ScanError> {
    write_sheets_iter(base, mode, population, rows.iter().cloned().map(Ok))
}

/// [`write_sheets`] over an iterator: rows are streamed to both files, the
/// XLSX in constant-memory mode.
pub fn write_sheets_iter(
    base: &Path,
    mode: &SampleMode,
    population: u64,
    rows: impl Iterator<Item = Result<SampleRow, ScanError>>,
) -> Result<(PathBuf, PathBuf), ScanError> {
    let csv_path = base.with_extension("csv");
    let xlsx_path = base.with_extension("xlsx");
    let cerr = |e: &dyn std::fmt::Display| ScanError::Sheet {
        path: csv_path.clone(),
        message: e.to_string(),
    };
    let xerr = |e: rust_xlsxwriter::XlsxError| ScanError::Sheet {
        path: xlsx_path.clone(),
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_path(&csv_path).map_err(|e| cerr(&e))?;
    w.write_record(HEADER).map_err(|e| cerr(&e))?;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet_with_constant_memory().map_err(xerr)?;
    ws.set_name("review").map_err(xerr)?;
    ws.set_column_width(8, 80).map_err(xerr)?;
    ws.set_freeze_panes(1, 0).map_err(xerr)?;
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string(0, c as u16, *h).map_err(xerr)?;
    }
    for (i, r) in rows.enumerate() {
        let r = r?;
        w.write_record([
            (i + 1).to_string(),
            r.source.clone(),
            r.record.to_string(),
            mode.kind().to_string(),
            population.to_string(),
            if r.flagged { "yes" } else { "no" }.to_string(),
            r.risks.clone(),
            r.matched.clone(),
            r.text.clone(),
            String::new(),
            String::new(),
        ])
        .map_err(|e| cerr(&e))?;
        let row = (i + 1) as u32;
        ws.write_number(row, 0, (i + 1) as f64).map_err(xerr)?;
        ws.write_string(row, 1, &r.source).map_err(xerr)?;
        ws.write_number(row, 2, r.record as f64).map_err(xerr)?;
        ws.write_string(row, 3, mode.kind()).map_err(xerr)?;
        ws.write_number(row, 4, population as f64).map_err(xerr)?;
        ws.write_string(row, 5, if r.flagged { "yes" } else { "no" })
            .map_err(xerr)?;
        ws.write_string(row, 6, &r.risks).map_err(xerr)?;
        ws.write_string(row, 7, &r.matched).map_err(xerr)?;
        // Excel caps a cell at 32,767 characters.
        let text: String = r.text.chars().take(32_000).collect();
        ws.write_string(row, 8, &text).map_err(xerr)?;
    }
    w.flush().map_err(|e| cerr(&e))?;
    wb.save(&xlsx_path).map_err(xerr)?;
    Ok((csv_path, xlsx_path))
}

/// A reviewer's verdict on one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Qualified,
    Unqualified,
    Unreviewed,
}

/// Parses a verdict cell.
pub fn parse_verdict(s: &str) -> Option<Verdict> {
    let t = s.trim().to_lowercase();
    Some(match t.as_str() {
        "" => Verdict::Unreviewed,
        "qualified" | "ok" | "pass" | "yes" | "y" | "1" | "true" | "合格" | "是" | "通过" => {
            Verdict::Qualified
        }
        "unqualified" | "illegal" | "fail" | "no" | "n" | "0" | "false" | "不合格" | "否"
        | "违法" | "违规" | "不良" => Verdict::Unqualified,
        _ => return None,
    })
}

/// One reviewed row.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRow {
    pub line: usize,
    pub source: String,
    pub kind: String,
    pub population: Option<u64>,
    pub verdict: Verdict,
}

fn cells_to_rows(path: &Path, table: Vec<Vec<String>>) -> Result<Vec<ReviewRow>, ScanError> {
    let mut it = table.into_iter();
    let header = it.next().ok_or_else(|| ScanError::Sheet {
        path: path.to_path_buf(),
        message: "empty sheet".into(),
    })?;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().trim_start_matches('\u{feff}') == name)
    };
    let v = col("verdict").ok_or_else(|| ScanError::Sheet {
        path: path.to_path_buf(),
        message: "no `verdict` column".into(),
    })?;
    let (s, k, p) = (col("source"), col("sample_kind"), col("population"));
    let mut out = Vec::new();
    for (i, row) in it.enumerate() {
        let line = i + 2;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).cloned().unwrap_or_default();
        let cell = get(Some(v));
        let verdict = parse_verdict(&cell).ok_or_else(|| ScanError::Sheet {
            path: path.to_path_buf(),
            message: format!("row {line}: verdict {cell:?} is not one of qualified/unqualified (合格/不合格, ok/illegal, 1/0) or empty"),
        })?;
        out.push(ReviewRow {
            line,
            source: get(s),
            kind: get(k),
            population: get(p).trim().parse::<f64>().ok().map(|x| x as u64),
            verdict,
        });
    }
    Ok(out)
}

/// Reads a review sheet (`.csv` or `.xlsx`).
pub fn read_sheet(path: &Path) -> Result<Vec<ReviewRow>, ScanError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let err = |e: &dyn std::fmt::Display| ScanError::Sheet {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let table: Vec<Vec<String>> = if ext == "xlsx" || ext == "xls" || ext == "ods" {
        use calamine::{Reader, open_workbook_auto};
        let mut wb = open_workbook_auto(path).map_err(|e| err(&e))?;
        let name = wb
            .sheet_names()
            .first()
            .cloned()
            .ok_or_else(|| err(&"no worksheet"))?;
        let range = wb.worksheet_range(&name).map_err(|e| err(&e))?;
        range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    } else {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_path(path)
            .map_err(|e| err(&e))?;
        let mut t = Vec::new();
        for r in rdr.records() {
            let r = r.map_err(|e| err(&e))?;
            t.push(r.iter().map(str::to_owned).collect());
        }
        t
    };
    cells_to_rows(path, table)
}

/// Wilson score interval at 95% for `x` successes in `n` trials.
pub fn wilson95(x: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let n_f = n as f64;
    let p = x as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let center = (p + z2 / (2.0 * n_f)) / denom;
    let half = z / denom * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    ((center - half).max(0.0), (center + half).min(1.0))
}

/// Per-source review result.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReview {
    pub source: String,
    pub reviewed: usize,
    pub unqualified: usize,
    pub illegal_share: f64,
    /// More than `corpus.source-illegal-max`: the source must not be used.
    pub over_limit: bool,
}

/// The result of `beian scan review`.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub sheet: String,
    /// `manual` or `technical`.
    pub kind: String,
    pub population: Option<u64>,
    pub rows: usize,
    pub reviewed: usize,
    pub qualified: usize,
    pub unqualified: usize,
    pub unreviewed: usize,
    pub qualified_rate: f64,
    pub wilson95_low: f64,
    pub wilson95_high: f64,
    /// `manual`: minimum reviewed items; `technical`: minimum fraction.
    pub required_sample: f64,
    pub sample_met: bool,
    pub required_rate: f64,
    pub rate_met: bool,
    /// The lower Wilson bound also meets the rate.
    pub rate_met_with_confidence: bool,
    /// `pass`, `fail`, `insufficient-sample` or `incomplete` (rows left unreviewed).
    pub verdict: String,
    pub thresholds: Vec<String>,
    pub by_source: Vec<SourceReview>,
}

/// Reads a reviewed sheet and judges it against the kb thresholds.
pub fn review(path: &Path) -> Result<Review, ScanError> {
    let rows = read_sheet(path)?;
    let kb = beian_kb::Kb::embedded().map_err(|e| ScanError::Kb(e.to_string()))?;
    let th = kb.thresholds();
    let get = |id: &str| {
        th.get(id)
            .ok_or_else(|| ScanError::Kb(format!("threshold {id} missing")))
    };
    let kind = rows
        .iter()
        .map(|r| r.kind.trim())
        .find(|k| !k.is_empty())
        .unwrap_or("manual")
        .to_owned();
    let population = rows.iter().find_map(|r| r.population);
    let reviewed = rows
        .iter()
        .filter(|r| r.verdict != Verdict::Unreviewed)
        .count();
    let qualified = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Qualified)
        .count();
    let unqualified = reviewed - qualified;
    let unreviewed = rows.len() - reviewed;
    let rate = if reviewed == 0 {
        0.0
    } else {
        qualified as f64 / reviewed as f64
    };
    let (lo, hi) = wilson95(qualified, reviewed);
    let (size_t, rate_t) = if kind == "technical" {
        (
            get("corpus.technical-sample.fraction")?,
            get("corpus.technical-sample.qualified")?,
        )
    } else {
        (
            get("corpus.manual-sample.size")?,
            get("corpus.manual-sample.qualified")?,
        )
    };
    let sample_measure = if kind == "technical" {
        match population {
            Some(p) if p > 0 => reviewed as f64 / p as f64,
            _ => 0.0,
        }
    } else {
        reviewed as f64
    };
    let sample_met = size_t.is_met(sample_measure);
    let rate_met = reviewed > 0 && rate_t.is_met(rate);
    let verdict = if unreviewed > 0 && !sample_met {
        "incomplete"
    } else if !sample_met {
        "insufficient-sample"
    } else if rate_met {
        "pass"
    } else {
        "fail"
    };
    let max_t = get("corpus.source-illegal-max")?;
    let mut by: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for r in &rows {
        if r.verdict == Verdict::Unreviewed {
            continue;
        }
        let e = by.entry(r.source.as_str()).or_default();
        e.0 += 1;
        if r.verdict == Verdict::Unqualified {
            e.1 += 1;
        }
    }
    let by_source = by
        .into_iter()
        .map(|(s, (n, u))| {
            let share = u as f64 / n as f64;
            SourceReview {
                source: s.to_owned(),
                reviewed: n,
                unqualified: u,
                illegal_share: share,
                over_limit: !max_t.is_met(share),
            }
        })
        .collect();
    Ok(Review {
        sheet: path.display().to_string(),
        kind,
        population,
        rows: rows.len(),
        reviewed,
        qualified,
        unqualified,
        unreviewed,
        qualified_rate: rate,
        wilson95_low: lo,
        wilson95_high: hi,
        required_sample: size_t.value,
        sample_met,
        required_rate: rate_t.value,
        rate_met,
        rate_met_with_confidence: reviewed > 0 && rate_t.is_met(lo),
        verdict: verdict.to_owned(),
        thresholds: [size_t, rate_t, max_t]
            .iter()
            .map(|t| format!("{}: {} [{}]", t.id, t.zh, t.clause))
            .collect(),
        by_source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_known_values() {
        // 96 of 100: Wilson 95% interval (0.9016, 0.9843).
        let (lo, hi) = wilson95(96, 100);
        assert!((lo - 0.9016).abs() < 1e-3, "{lo}");
        assert!((hi - 0.9843).abs() < 1e-3, "{hi}");
        let (lo, hi) = wilson95(0, 10);
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 1e-3, "{hi}");
    }

    #[test]
    fn reservoir_is_reproducible_and_sized() {
        let draw = |seed| {
            let mut s = Sampler::new(SampleMode::Count { n: 10, seed });
            for i in 0..1000u64 {
                s.offer(|| {
                    SampleRow::new(
                        "x".into(),
                        i,
                        false,
                        String::new(),
                        String::new(),
                        String::new(),
                    )
                });
            }
            s.finish()
                .2
                .into_iter()
                .map(|r| r.record)
                .collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a.len(), 10);
        assert_eq!(a, draw(7));
        assert_ne!(a, draw(8));
        assert!(a.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn fraction_is_close() {
        let mut s = Sampler::new(SampleMode::Fraction { f: 0.1, seed: 1 });
        for i in 0..20_000u64 {
            s.offer(|| {
                SampleRow::new(
                    "x".into(),
                    i,
                    false,
                    String::new(),
                    String::new(),
                    String::new(),
                )
            });
        }
        let n = s.finish().2.len();
        assert!((1800..2200).contains(&n), "{n}");
    }

    #[test]
    fn verdict_words() {
        assert_eq!(parse_verdict("合格"), Some(Verdict::Qualified));
        assert_eq!(parse_verdict(" Unqualified "), Some(Verdict::Unqualified));
        assert_eq!(parse_verdict(""), Some(Verdict::Unreviewed));
        assert_eq!(parse_verdict("maybe"), None);
    }
}
