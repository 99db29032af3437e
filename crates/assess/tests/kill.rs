//! Kill a run midway (SIGKILL of a child process running the real runner),
//! damage the last line as a crash mid-write would, resume, and check that every
//! item is answered exactly once and no completed item is requested again.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use beian_assess::record::load_results;
use beian_assess::scripted::{serve, test_model};
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_midway_then_resume_answers_every_item_exactly_once() {
    let dir = tmpdir("kill");
    let rows: Vec<(String, String, &str, &str)> = (0..120)
        .map(|i| {
            (
                format!("k{i}"),
                format!("问题{i}"),
                ["A.1.a", "A.4.e", "A.5.b"][i % 3],
                "generated-content",
            )
        })
        .collect();
    let bank = dir.join("bank.jsonl");
    write_bank(&bank, &rows);
    let server = serve(test_model(Duration::from_millis(25)), 0)
        .await
        .expect("server");
    let out = dir.join("run");
    let results = out.join("results.jsonl");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_beian-assess-bench"))
        .args(["run", "--endpoint", &server.base_url(), "--bank"])
        .arg(&bank)
        .arg("--out")
        .arg(&out)
        .args(["--concurrency", "4"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn runner");
    let t0 = Instant::now();
    loop {
        let n = std::fs::read(&results)
            .map(|b| b.iter().filter(|&&c| c == b'\n').count())
            .unwrap_or(0);
        if n >= 30 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "runner made no progress"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("kill");
    let _ = child.wait();
    // A crash mid-write leaves half a line.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&results)
        .expect("open")
        .write_all(b"{\"id\":\"k9999\",\"ban")
        .expect("write");

    let before = load_results(&results).expect("results before");
    assert!(before.truncated_tail);
    let done_before: Vec<String> = before
        .records
        .iter()
        .filter(|r| r.is_complete())
        .map(|r| r.id.clone())
        .collect();
    assert!(
        done_before.len() >= 30 && done_before.len() < 120,
        "{}",
        done_before.len()
    );
    let q_of: HashMap<String, String> = rows
        .iter()
        .map(|(id, q, _, _)| (id.clone(), q.clone()))
        .collect();

    let banks = load(&[&bank]);
    let mut ep = endpoint(&server.base_url(), false);
    ep.params.clear(); // the child ran without sampling parameters
    ep.timeout_ms = 5000;
    let mut cfg = config(&out, ep, [usize::MAX / 4; 3], true);
    cfg.seed = 1;
    let o = run(cfg, &banks).await;
    assert!(o.truncated_tail_repaired);
    assert_eq!(o.already_done, done_before.len());
    assert_eq!(o.completed + o.already_done, 120);

    let after = load_results(&results).expect("results after");
    assert!(!after.truncated_tail);
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for r in after.records.iter().filter(|r| r.is_complete()) {
        *per_id.entry(r.id.as_str()).or_default() += 1;
    }
    assert_eq!(per_id.len(), 120, "every item answered");
    assert!(per_id.values().all(|&n| n == 1), "no item answered twice");
    let counts = server.counts();
    for id in &done_before {
        assert_eq!(
            counts[&q_of[id]], 1,
            "completed item {id} was requested again"
        );
    }
    let (summary, _, _) = beian_assess::runner::summarise_dir(&out, &kb()).expect("summary");
    assert_eq!(summary.metrics["generated_qualified_rate"].n, 120);
}
