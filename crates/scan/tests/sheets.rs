//! Review sheets: written as CSV and XLSX, read back reviewed, judged
//! against the knowledge-base thresholds with a Wilson interval.

use beian_scan::sample::{SampleMode, SampleRow, Sampler, review, write_sheets};

fn rows(n: u64) -> (SampleMode, u64, Vec<SampleRow>) {
    let mut s = Sampler::new(SampleMode::Count {
        n: n as usize,
        seed: 3,
    });
    for i in 1..=n * 2 {
        s.offer(|| {
            SampleRow::new(
                format!("src{}", i % 2),
                i,
                i % 10 == 0,
                String::new(),
                String::new(),
                format!("记录 {i}"),
            )
        });
    }
    s.finish()
}

fn fill_csv(path: &std::path::Path, bad_every: usize, source_bad: Option<&str>) {
    let mut rdr = csv::Reader::from_path(path).expect("read csv");
    let headers = rdr.headers().expect("headers").clone();
    let v = headers
        .iter()
        .position(|h| h == "verdict")
        .expect("verdict column");
    let s = headers
        .iter()
        .position(|h| h == "source")
        .expect("source column");
    let mut out = csv::Writer::from_path(path.with_extension("filled.csv")).expect("write");
    out.write_record(&headers).expect("header");
    for (i, r) in rdr.records().enumerate() {
        let r = r.expect("row");
        let mut cells: Vec<String> = r.iter().map(str::to_owned).collect();
        let bad = (bad_every > 0 && i % bad_every == 0)
            || source_bad.is_some_and(|b| cells[s] == b && i % 4 == 1);
        cells[v] = if bad {
            "不合格".into()
        } else {
            "合格".into()
        };
        out.write_record(&cells).expect("row");
    }
    out.flush().expect("flush");
}

#[test]
fn manual_sample_below_4000_is_insufficient() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mode, pop, r) = rows(100);
    let (csv_path, xlsx_path) =
        write_sheets(&dir.path().join("s"), &mode, pop, &r).expect("sheets");
    assert!(xlsx_path.exists());
    // Unreviewed sheet: incomplete.
    let rev = review(&csv_path).expect("review");
    assert_eq!(rev.rows, 100);
    assert_eq!(rev.reviewed, 0);
    assert_eq!(rev.verdict, "incomplete");
    let rev = review(&xlsx_path).expect("xlsx review");
    assert_eq!(rev.rows, 100);
    assert_eq!(rev.population, Some(200));
    // 100 reviewed, 4 unqualified: rate 96% but the sample is too small.
    fill_csv(&csv_path, 25, None);
    let rev = review(&csv_path.with_extension("filled.csv")).expect("review");
    assert_eq!((rev.reviewed, rev.unqualified), (100, 4));
    assert!((rev.qualified_rate - 0.96).abs() < 1e-9);
    assert!(rev.wilson95_low < 0.96 && rev.wilson95_high > 0.96);
    assert!(!rev.sample_met);
    assert_eq!(rev.verdict, "insufficient-sample");
}

#[test]
fn manual_sample_of_4000_passes_or_fails_on_rate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mode, pop, r) = rows(4000);
    let (csv_path, _) = write_sheets(&dir.path().join("s"), &mode, pop, &r).expect("sheets");
    fill_csv(&csv_path, 50, None); // 2% unqualified
    let rev = review(&csv_path.with_extension("filled.csv")).expect("review");
    assert_eq!(rev.reviewed, 4000);
    assert_eq!(rev.verdict, "pass");
    assert!(rev.rate_met_with_confidence);
    fill_csv(&csv_path, 20, None); // 5% unqualified
    let rev = review(&csv_path.with_extension("filled.csv")).expect("review");
    assert_eq!(rev.verdict, "fail");
}

#[test]
fn technical_sample_fraction_and_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Rows spill to disk as they are drawn (bounded memory), then stream
    // into the sheets.
    let spill = dir.path().join("t.partial.csv");
    let mut s = Sampler::new(SampleMode::Fraction { f: 0.12, seed: 9 })
        .spill_to(&spill)
        .expect("spill");
    for i in 1..=5000u64 {
        s.offer(|| {
            SampleRow::new(
                format!("src{}", i % 2),
                i,
                false,
                String::new(),
                String::new(),
                "x".into(),
            )
        });
    }
    assert!(s.finish_peek_is_empty());
    let (csv_path, xlsx_path, n) = s.write_sheets(&dir.path().join("t")).expect("sheets");
    assert!(!spill.exists(), "the spill file is removed");
    assert!((500..700).contains(&n), "{n}");
    let rev = review(&xlsx_path).expect("xlsx");
    assert_eq!(rev.rows as u64, n);
    // One source is 25% bad: over the 5% limit, and the overall rate fails 98%.
    fill_csv(&csv_path, 0, Some("src1"));
    let rev = review(&csv_path.with_extension("filled.csv")).expect("review");
    assert_eq!(rev.kind, "technical");
    assert!(rev.sample_met, "fraction {}", rev.reviewed as f64 / 5000.0);
    assert_eq!(rev.verdict, "fail");
    let over: Vec<&str> = rev
        .by_source
        .iter()
        .filter(|s| s.over_limit)
        .map(|s| s.source.as_str())
        .collect();
    assert_eq!(over, vec!["src1"]);
}

#[test]
fn xlsx_verdicts_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("r.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["id", "source", "sample_kind", "population", "verdict"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).expect("cell");
    }
    for i in 1..=10u32 {
        ws.write_number(i, 0, f64::from(i)).expect("cell");
        ws.write_string(i, 1, "a").expect("cell");
        ws.write_string(i, 2, "manual").expect("cell");
        ws.write_number(i, 3, 10.0).expect("cell");
        ws.write_string(i, 4, if i == 3 { "illegal" } else { "ok" })
            .expect("cell");
    }
    wb.save(&p).expect("save");
    let rev = review(&p).expect("review");
    assert_eq!((rev.reviewed, rev.qualified), (10, 9));
    // A verdict that is neither is an error naming the row.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "id,verdict\n1,ok\n2,maybe\n").expect("write");
    let err = review(&bad).expect_err("must fail").to_string();
    assert!(err.contains("row 3") && err.contains("maybe"), "{err}");
}
