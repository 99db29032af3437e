//! `beian scan` and `beian lexicon stats` as a user runs them: the real binary on real
//! files, checking the JSONL contract and that offsets point into the original bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("beian-scan-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn jsonl_findings_point_at_the_original_bytes() {
    let d = dir();
    let lex = d.join("lex.tsv");
    std::fs::write(&lex, "赌博\tA.1.h\n六合彩\tA.1.h\n").unwrap();
    let input = d.join("in.txt");
    let lines = [
        "这里有賭.博 網站",
        "正常的一行",
        "买⑥合彩吗 dubo",
        "联系 13800138000",
    ];
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let out = common::command()
        .args([
            "scan",
            "--lexicon",
            lex.to_str().unwrap(),
            "--format",
            "jsonl",
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "no progress output in a pipe");
    let findings: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut risks = Vec::new();
    for f in &findings {
        for key in [
            "source", "record", "start", "end", "matched", "term", "risk", "detector",
        ] {
            assert!(f.get(key).is_some(), "missing {key} in {f}");
        }
        let line = lines[f["record"].as_u64().unwrap() as usize - 1];
        let (s, e) = (
            f["start"].as_u64().unwrap() as usize,
            f["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(&line[s..e], f["matched"].as_str().unwrap());
        risks.push((
            f["record"].as_u64().unwrap(),
            f["term"].as_str().unwrap().to_string(),
        ));
    }
    // the disguised term, the numeral variant, the pinyin and the phone number
    assert!(risks.contains(&(1, "赌博".into())), "{risks:?}");
    assert!(risks.contains(&(3, "六合彩".into())), "{risks:?}");
    assert!(risks.contains(&(3, "赌博".into())), "{risks:?}");
    assert!(
        findings
            .iter()
            .any(|f| f["detector"] == "mobile" && f["record"] == 4)
    );
    assert!(
        !findings.iter().any(|f| f["record"] == 2),
        "clean line flagged"
    );
}

#[test]
fn empty_lexicon_is_an_error_before_scanning() {
    let d = dir();
    let lex = d.join("empty.txt");
    std::fs::write(&lex, "\n\n").unwrap();
    let input = d.join("x.txt");
    std::fs::write(&input, "hello\n").unwrap();
    let out = common::command()
        .args([
            "scan",
            "--lexicon",
            lex.to_str().unwrap(),
            input.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty.txt"));
}

#[test]
fn lexicon_stats_reports_shortfalls_against_the_standard() {
    let d = dir();
    let lex = d.join("small.tsv");
    std::fs::write(&lex, "赌博\tA.1.h\n").unwrap();
    let out = common::command()
        .args([
            "lexicon",
            "stats",
            lex.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let risks = v["stats"]["risks"].as_array().unwrap();
    let a1a2: Vec<_> = risks
        .iter()
        .filter(|r| {
            let c = r["code"].as_str().unwrap();
            c.starts_with("A.1.") || c.starts_with("A.2.")
        })
        .collect();
    assert_eq!(a1a2.len(), 17, "the 17 A.1/A.2 risks are checked");
    assert!(a1a2.iter().all(|r| r["meets"] == false));
}

#[test]
fn mixed_pinyin_by_default_homophones_on_request() {
    let d = dir();
    let lex = d.join("homo.txt");
    std::fs::write(&lex, "法轮功\n").unwrap();
    let input = d.join("homo-in.txt");
    std::fs::write(&input, "他练发论公\n他练法lun功\n正常的一行\n").unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "--lexicon",
            lex.to_str().unwrap(),
            "--format",
            "jsonl",
        ];
        args.extend_from_slice(extra);
        args.push(input.to_str().unwrap());
        let out = common::command().args(&args).output().unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    // Pinyin mixed in is matched by default, same-sound characters on request.
    let by_default = run(&[]);
    assert_eq!(by_default.len(), 1, "{by_default:?}");
    assert_eq!(by_default[0]["matched"], "法lun功");
    assert_eq!(by_default[0]["via"], "mixed-pinyin");
    assert!(run(&["--no-pinyin"]).is_empty());
    let found = run(&["--homophones"]);
    let matched: Vec<&str> = found
        .iter()
        .map(|f| f["matched"].as_str().unwrap())
        .collect();
    assert_eq!(matched, ["发论公", "法lun功"]);
    assert_eq!(found[0]["via"], "homophone");
    assert!(found.iter().all(|f| f["term"] == "法轮功"));
}

/// A plain `--format summary` counts the workers' compact hits without
/// making findings; its per-risk table must be what the findings say: the
/// JSONL output of the same run, counted here (findings per risk, records
/// per risk, flagged records), with one-character terms, a term under two
/// risks (one finding, `risk` the first), audited weights with
/// `--min-weight`, detectors, and long records in windows. The same terms
/// without weights too: a summary with no record to rank is counted in the
/// workers, several of them here.
#[test]
fn summary_counts_equal_the_jsonl_findings() {
    let d = dir().join("summary-vs-jsonl");
    std::fs::create_dir_all(&d).unwrap();
    let terms = "孔明\tA.1.a\t\t\t0.9\n孔明\tA.2.b\t\t\t0.4\n玄德\tA.1.b\t\t\t0.2\n曹操\tA.3.a\n\
         酒\tA.1.h\t\t\t0.7\n刀\tA.1.c\n赌博\tA.1.h\t\t\t0.05\nfalungong\tA.1.a\n";
    let weighted = d.join("lex.tsv");
    std::fs::write(&weighted, terms).unwrap();
    let plain = d.join("plain.tsv");
    let unweighted: String = terms
        .lines()
        .map(|l| l.split('\t').take(2).collect::<Vec<_>>().join("\t") + "\n")
        .collect();
    std::fs::write(&plain, unweighted).unwrap();
    let novel = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/corpus/four-classic-novels/三国演义.txt"
    );
    let text = std::fs::read_to_string(novel).unwrap();
    let mut body: String = text.lines().take(1500).collect::<Vec<_>>().join("\n");
    body.push_str("\n赌.博 13800138000 a@b.cn 孔明孔明\nfa lun gong 玄德\n");
    let input = d.join("in.txt");
    std::fs::write(&input, body).unwrap();
    let cases = [
        (&weighted, "2", &[][..]),
        (&weighted, "2", &["--min-weight", "0.5"][..]),
        (
            &weighted,
            "2",
            &["--max-record-bytes", "300", "--detectors", "mobile,email"][..],
        ),
        (&plain, "2", &[][..]),
        (&plain, "5", &["--detectors", "mobile,email"][..]),
        (
            &plain,
            "3",
            &["--max-record-bytes", "300", "--detectors", "mobile,email"][..],
        ),
    ];
    for (lex, threads, extra) in cases {
        let run = |format: &str| {
            let out = common::command()
                .args([
                    "scan",
                    "--quiet",
                    "--threads",
                    threads,
                    "--min-term-chars",
                    "1",
                ])
                .args(["--lexicon", lex.to_str().unwrap(), "--format", format])
                .args(extra)
                .arg(input.to_str().unwrap())
                .output()
                .unwrap();
            assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        let jsonl = run("jsonl");
        let summary = run("summary");
        let mut per_risk: std::collections::BTreeMap<
            String,
            (u64, std::collections::BTreeSet<u64>),
        > = Default::default();
        let mut records = std::collections::BTreeSet::new();
        let mut n = 0u64;
        for line in jsonl.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let rec = v["record"].as_u64().unwrap();
            let e = per_risk
                .entry(v["risk"].as_str().unwrap().to_owned())
                .or_default();
            e.0 += 1;
            e.1.insert(rec);
            records.insert(rec);
            n += 1;
        }
        assert!(n > 100, "{extra:?}: too few findings to compare ({n})");
        let first = summary.lines().next().unwrap();
        assert!(
            first.contains(&format!("flagged {} ", records.len()))
                && first.contains(&format!("findings {n} ")),
            "{extra:?}: {first}"
        );
        let mut rows = 0;
        for line in summary.lines().skip(2) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 3 || !cols[0].contains('.') {
                break;
            }
            let (f, r) = per_risk
                .get(cols[0])
                .map_or((0, 0), |e| (e.0, e.1.len() as u64));
            assert_eq!(
                (
                    cols[1].parse::<u64>().unwrap(),
                    cols[2].parse::<u64>().unwrap()
                ),
                (f, r),
                "{extra:?}: {line}"
            );
            rows += 1;
        }
        assert_eq!(rows, per_risk.len(), "{extra:?}:\n{summary}");
    }
}

#[test]
fn summary_counts_every_record_whatever_the_workers_drop() {
    // Records without a finding are dropped by the workers where the output
    // only counts them; the summary must count them all the same, and the
    // same with the outputs that keep every record (--by-source).
    let d = common::dir("scan-cli", "dropped");
    let lex = d.join("lex.tsv");
    std::fs::write(&lex, "赌博网站\tA.1.h\n").unwrap();
    let input = d.join("in.txt");
    let mut text = String::new();
    for i in 0..5000 {
        text.push_str(if i % 7 == 0 {
            "这里有赌博网站\n"
        } else {
            "正常的一行文字\n"
        });
        if i % 11 == 0 {
            text.push_str("   \n"); // blank: no record
        }
    }
    std::fs::write(&input, &text).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["scan", "--format", "summary", "--lexicon", common::s(&lex)];
        args.extend_from_slice(extra);
        args.push(common::s(&input));
        let out = common::beian(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        stdout.lines().next().unwrap().to_owned()
    };
    let want = "records 5000  flagged 715 (14.30%)  findings 715  unreadable 0";
    for threads in ["1", "2", "5"] {
        assert_eq!(run(&["--threads", threads]), want, "{threads} threads");
    }
    assert_eq!(run(&["--threads", "3", "--by-source"]), want);
}

#[test]
fn per_source_counts_are_the_same_whoever_counts_them() {
    // A plain summary is counted in the workers, by source too; JSONL
    // output counts on the output thread. Both must give what the input
    // holds: records and flagged records per file, and per value of a
    // field (strings, numbers, missing).
    let d = common::dir("scan-cli", "per-source");
    let lex = d.join("lex.tsv");
    std::fs::write(&lex, "赌博网站\tA.1.h\n").unwrap();
    let mut want_field: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    let mut want_file = Vec::new();
    let mut files = Vec::new();
    for f in 0..3 {
        let path = d.join(format!("shard-{f}.jsonl"));
        let (mut text, mut file) = (String::new(), (0u64, 0u64));
        for i in 0..3000u64 {
            let bad = (i * (f + 3)) % 11 == 0;
            let body = if bad {
                "这里有赌博网站"
            } else {
                "正常的一行文字"
            };
            let (src, key) = match i % 5 {
                0 => (String::new(), "(none)".to_owned()),
                1 => (format!(r#","src":{}"#, i % 3), (i % 3).to_string()),
                _ => (
                    format!(r#","src":"site-{}""#, i % 4),
                    format!("site-{}", i % 4),
                ),
            };
            text.push_str(&format!("{{\"text\":\"{body}\"{src}}}\n"));
            let e = want_field.entry(key).or_default();
            e.0 += 1;
            e.1 += u64::from(bad);
            file.0 += 1;
            file.1 += u64::from(bad);
        }
        std::fs::write(&path, text).unwrap();
        want_file.push(format!(
            "{}\t{} records\t{} flagged",
            path.display(),
            file.0,
            file.1
        ));
        files.push(path);
    }
    let table = |by: &str, format: &str, threads: &str| {
        let mut args = vec![
            "scan",
            "--quiet",
            "--field",
            "text",
            by,
            "--threads",
            threads,
        ];
        args.extend(["--format", format, "--lexicon", common::s(&lex)]);
        args.extend(files.iter().map(|p| common::s(p)));
        let out = common::beian(&args);
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8(if format == "summary" {
            out.stdout
        } else {
            out.stderr
        })
        .unwrap();
        text.lines()
            .skip_while(|l| !l.starts_with("per source"))
            .skip(1)
            .map(|l| l.rsplit_once('\t').map_or(l, |(a, _)| a).to_owned())
            .collect::<Vec<_>>()
    };
    let want_field: Vec<String> = want_field
        .iter()
        .map(|(k, (r, f))| format!("{k}\t{r} records\t{f} flagged"))
        .collect();
    for (format, threads) in [("summary", "1"), ("summary", "4"), ("jsonl", "2")] {
        assert_eq!(
            table("--by-source=src", format, threads),
            want_field,
            "{format}, {threads} threads"
        );
        assert_eq!(
            table("--by-source", format, threads),
            want_file,
            "{format}, {threads} threads"
        );
    }
}

#[test]
fn the_heaviest_records_are_the_same_whoever_counts_them() {
    // With audited weights, a summary lists the heaviest records (ties in
    // input order). The workers count, and hand on only the records that
    // may rank; the list must be the one the input gives, however the
    // chunks (and parts of the file, from 4 threads) reach the workers.
    let d = common::dir("scan-cli", "ranked");
    let lex = d.join("lex.tsv");
    std::fs::write(&lex, "甲乙\tA.1.h\t\t\t0.5\n丙丁\tA.1.a\t\t\t0.25\n").unwrap();
    let input = d.join("in.txt");
    let mut text = String::new();
    let mut weights = Vec::new();
    for i in 0..120_000u64 {
        let h = (i * 2_654_435_761) % 1000;
        let (a, b) = (if h < 2 { 4 } else { h % 3 }, h % 4);
        text.push_str("今天天气很好我们去公园散步");
        text.push_str(&"甲乙，".repeat(a as usize));
        text.push_str("今天天气很好我们去公园散步");
        text.push_str(&"丙丁。".repeat(b as usize));
        text.push('\n');
        weights.push((0.5 * a as f64 + 0.25 * b as f64, i + 1));
    }
    std::fs::write(&input, &text).unwrap();
    // Heaviest first, then in input order.
    weights.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    let want: Vec<String> = weights[..20]
        .iter()
        .map(|(w, n)| format!("{w:.3} {}:{n}", input.display()))
        .collect();
    assert!(weights[19].0 == weights[20].0, "the 20th record ties");
    for threads in ["1", "4", "6"] {
        let out = common::beian(&[
            "scan",
            "--quiet",
            "--format",
            "summary",
            "--threads",
            threads,
            "--lexicon",
            common::s(&lex),
            common::s(&input),
        ]);
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let got: Vec<String> = stdout
            .lines()
            .skip_while(|l| !l.starts_with("records ranked"))
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(got, want, "{threads} threads:\n{stdout}");
    }
}
