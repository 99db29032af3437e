//! beian-assess-bench: the runner benchmark, and helpers for tests.
//!
//!   beian-assess-bench bench [--items 3000] [--concurrency 64] [--latency-ms 50] [--lexicon DIR] [--md FILE]
//!   beian-assess-bench serve [--latency-ms 50] [--port 0]       (prints the base URL, serves until killed)
//!   beian-assess-bench run --endpoint URL --bank FILE --out DIR [--concurrency N] [--resume]
//!
//! `bench` starts `serve` as a child process (so the server's CPU is not the
//! runner's), runs the real runner (judges, results.jsonl) against it and
//! reports wall time against the ideal items x latency / concurrency, and the
//! runner's own CPU per item (sum of its threads' run time, /proc/self/task/*/schedstat).

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use beian_assess::bank::{BankKind, BankSpec};
use beian_assess::client::EndpointConfig;
use beian_assess::judge::{LexiconJudge, RefusalDetector};
use beian_assess::runner::{Judges, NoProgress, RunConfig};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn num<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match arg(args, name) {
        Some(v) => v.parse().map_err(|_| format!("{name}: not a number: {v}")),
        None => Ok(default),
    }
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let res = match args.get(1).map(String::as_str) {
        Some("serve") => rt.block_on(serve(&args)),
        Some("run") => rt.block_on(run(&args)),
        Some("bench") | None => rt.block_on(bench(&args)),
        Some(other) => Err(format!("unknown mode {other:?} (bench | serve | run)")),
    };
    match res {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: &[String]) -> Result<(), String> {
    let latency = Duration::from_millis(num(args, "--latency-ms", 50u64)?);
    let port: u16 = num(args, "--port", 0u16)?;
    let server = beian_assess::scripted::serve(beian_assess::scripted::test_model(latency), port)
        .await
        .map_err(|e| e.to_string())?;
    println!("{}", server.base_url());
    let _ = std::io::stdout().flush();
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

fn judges(lexicon: Option<&str>) -> Result<Arc<Judges>, String> {
    let kb = beian_kb::Kb::embedded().map_err(|e| e.to_string())?;
    let terms = match lexicon {
        Some(l) => beian_assess::judge::load_lexicons(&[l.to_string()], kb.taxonomy())
            .map_err(|e| e.to_string())?,
        None => vec![beian_assess::judge::LexiconTerm {
            term: "违禁词样例".into(),
            risk: Some("A.1.h".into()),
            source: "bench".into(),
        }],
    };
    let content = LexiconJudge::new(terms).map_err(|e| e.to_string())?;
    Ok(Arc::new(Judges {
        refusal: RefusalDetector::default_rules(),
        content: Arc::new(content),
        guard: None,
    }))
}

fn all_samples() -> BTreeMap<BankKind, Option<usize>> {
    BankKind::ALL
        .iter()
        .map(|b| (*b, Some(usize::MAX / 4)))
        .collect()
}

async fn run(args: &[String]) -> Result<(), String> {
    let endpoint = arg(args, "--endpoint").ok_or("--endpoint URL is required")?;
    let bank = arg(args, "--bank").ok_or("--bank FILE is required")?;
    let out = arg(args, "--out").ok_or("--out DIR is required")?;
    let kb = beian_kb::Kb::embedded().map_err(|e| e.to_string())?;
    let banks = beian_assess::bank::load_banks(&[BankSpec::parse(&bank)], kb.taxonomy())
        .map_err(|e| e.to_string())?;
    let mut ep = EndpointConfig::new(&endpoint, "scripted-model");
    ep.timeout_ms = 5000;
    ep.backoff_base_ms = 10;
    let cfg = RunConfig {
        out_dir: PathBuf::from(out),
        endpoint: ep,
        guard: None,
        concurrency: num(args, "--concurrency", 4usize)?,
        rps: None,
        seed: 1,
        sample: all_samples(),
        resume: args.iter().any(|a| a == "--resume"),
        lexicons: Vec::new(),
    };
    let (_c, cancel) = tokio::sync::watch::channel(false);
    let (_a, abort) = tokio::sync::watch::channel(false);
    let o = beian_assess::runner::run(
        cfg,
        &banks,
        judges(None)?,
        &kb,
        Arc::new(NoProgress),
        cancel,
        abort,
    )
    .await
    .map_err(|e| e.to_string())?;
    println!("{}", serde_json::to_string(&o).map_err(|e| e.to_string())?);
    Ok(())
}

/// Total CPU time of this process's live threads, in nanoseconds.
fn cpu_ns() -> u64 {
    let mut total = 0u64;
    if let Ok(rd) = std::fs::read_dir("/proc/self/task") {
        for t in rd.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) {
                total += s
                    .split_whitespace()
                    .next()
                    .and_then(|x| x.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}

async fn bench(args: &[String]) -> Result<(), String> {
    let items: usize = num(args, "--items", 3000usize)?;
    let conc: usize = num(args, "--concurrency", 64usize)?;
    let latency_ms: u64 = num(args, "--latency-ms", 50u64)?;
    let lexicon = arg(args, "--lexicon");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new(exe)
        .args(["serve", "--latency-ms", &latency_ms.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn server: {e}"))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
    }
    let base = line.trim().to_string();
    let result = bench_against(&base, items, conc, latency_ms, lexicon.as_deref()).await;
    let _ = child.kill();
    let _ = child.wait();
    let report = result?;
    println!("{report}");
    if let Some(md) = arg(args, "--md") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&md)
            .map_err(|e| format!("{md}: {e}"))?;
        writeln!(f, "{report}").map_err(|e| e.to_string())?;
    }
    Ok(())
}

async fn bench_against(
    base: &str,
    items: usize,
    conc: usize,
    latency_ms: u64,
    lexicon: Option<&str>,
) -> Result<String, String> {
    let kb = beian_kb::Kb::embedded().map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("beian-assess-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let bank = dir.join("bank.jsonl");
    let mut s = String::new();
    let risks: Vec<String> = kb.taxonomy().risks.iter().map(|r| r.code.clone()).collect();
    for i in 0..items {
        let mark = match i % 10 {
            0 => "#refuse",
            1 => "#unsafe",
            _ => "",
        };
        s.push_str(&serde_json::json!({"id": format!("b{i}"), "question": format!("基准测试问题第{i}题，请详细回答。{mark}"),
            "risk": risks[i % risks.len()], "bank": "generated-content"}).to_string());
        s.push('\n');
    }
    std::fs::write(&bank, s).map_err(|e| e.to_string())?;
    let banks =
        beian_assess::bank::load_banks(&[BankSpec::parse(&bank.to_string_lossy())], kb.taxonomy())
            .map_err(|e| e.to_string())?;
    let judges = judges(lexicon)?;
    let mut ep = EndpointConfig::new(base, "scripted-model");
    ep.timeout_ms = 30_000;
    // Warm-up: open connections outside the measured window.
    {
        let client = beian_assess::client::ChatClient::new(ep.clone(), None)?;
        let (_c, mut cancel) = tokio::sync::watch::channel(false);
        let msgs = vec![beian_assess::bank::Message {
            role: "user".into(),
            content: "warm-up".into(),
        }];
        let _ = client.call(&msgs, &mut cancel).await;
    }
    let mut sample = BTreeMap::new();
    sample.insert(BankKind::GeneratedContent, Some(items));
    sample.insert(BankKind::ShouldRefuse, Some(0));
    sample.insert(BankKind::ShouldAnswer, Some(0));
    let cfg = RunConfig {
        out_dir: dir.join("run"),
        endpoint: ep,
        guard: None,
        concurrency: conc,
        rps: None,
        seed: 1,
        sample,
        resume: false,
        lexicons: Vec::new(),
    };
    let (_c, cancel) = tokio::sync::watch::channel(false);
    let (_a, abort) = tokio::sync::watch::channel(false);
    let cpu0 = cpu_ns();
    let t0 = Instant::now();
    let o = beian_assess::runner::run(
        cfg,
        &banks,
        judges.clone(),
        &kb,
        Arc::new(NoProgress),
        cancel,
        abort,
    )
    .await
    .map_err(|e| e.to_string())?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (cpu_ns().saturating_sub(cpu0)) as f64 / 1e9;
    if o.completed != items {
        return Err(format!(
            "only {} of {items} items completed ({} errors)",
            o.completed, o.errors
        ));
    }
    let ideal = items as f64 * latency_ms as f64 / 1000.0 / conc as f64;
    let ratio = wall / ideal;
    let cpu_per_item_ms = cpu * 1000.0 / items as f64;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(format!(
        "| {} | {items} | {conc} | {latency_ms} ms | {} | {wall:.3} s | {ideal:.3} s | **{ratio:.3}x** | {cpu:.3} s | **{cpu_per_item_ms:.3} ms** |",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        match lexicon {
            Some(_) => format!(
                "lexicon, {} terms",
                judges
                    .content
                    .version()
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .trim_start_matches("terms=")
            ),
            None => "lexicon, 1 term".into(),
        },
    ))
}
