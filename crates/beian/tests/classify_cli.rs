//! `beian classify`, `beian deadline` and `beian kb` as a user runs them: the real
//! binary, real files, exit codes and messages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn beian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_beian"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run beian")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("beian-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn classify_every_example_as_json() {
    let mut n = 0;
    for e in std::fs::read_dir(root().join("examples"))
        .unwrap()
        .filter_map(Result::ok)
    {
        let path = e.path();
        let o = beian(&[
            "classify",
            path.to_str().unwrap(),
            "--regime",
            "all",
            "--format",
            "json",
            "--compare",
        ]);
        assert!(o.status.success(), "{}: {}", path.display(), stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let results = v["results"].as_array().unwrap();
        assert_eq!(results.len(), 5, "{}", path.display());
        assert_eq!(results[0]["regime"], "cn-current");
        for r in results {
            for ob in r["obligations"].as_array().unwrap() {
                assert!(!ob["source"].as_str().unwrap().is_empty());
                assert!(!ob["reason"].as_str().unwrap().is_empty());
            }
        }
        n += 1;
    }
    assert!(n >= 12);
}

#[test]
fn text_output_in_both_languages() {
    let o = beian(&["classify", "examples/public-chatbot.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = String::from_utf8(o.stdout).unwrap();
    assert!(
        s.contains("genai-filing") && s.contains("GENAI-2023"),
        "{s}"
    );
    let o = beian(&["classify", "examples/public-chatbot.toml", "--lang", "zh"]);
    let s = String::from_utf8(o.stdout).unwrap();
    assert!(s.contains("备案") && s.contains("义务"), "{s}");
}

#[test]
fn unknown_key_names_file_line_key_and_suggestion() {
    let p = tmp(
        "typo.toml",
        "name = \"x\"\npublic_facing = true\ngenrative = true\n",
    );
    let o = beian(&["classify", p.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("typo.toml:3"), "{e}");
    assert!(
        e.contains("genrative") && e.contains("did you mean `generative`"),
        "{e}"
    );
}

#[test]
fn wrong_type_names_key_and_expected_type() {
    let p = tmp("type.yaml", "name: x\nregistered_users: many\n");
    let o = beian(&["classify", p.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("type.yaml:2") && e.contains("registered_users") && e.contains("integer"),
        "{e}"
    );
}

#[test]
fn malformed_file_and_missing_file_fail_cleanly() {
    let p = tmp("bad.json", "{\"name\": \"x\",\n \"generative\": tru }");
    let o = beian(&["classify", p.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("bad.json:2") && e.contains("malformed JSON"),
        "{e}"
    );
    let o = beian(&["classify", "no/such/profile.toml"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("no/such/profile.toml"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn deadline_counts_prc_working_days_and_refuses_unknown_years() {
    let o = beian(&["deadline", "--from", "2025-09-26", "--working-days", "10"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8(o.stdout).unwrap().trim(), "2025-10-16");
    let o = beian(&["deadline", "--from", "2032-01-05", "--working-days", "3"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("2032"), "{}", stderr(&o));
}

#[test]
fn kb_lists_31_risks() {
    let o = beian(&["kb", "risks", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["risk"].as_array().unwrap().len(), 31);
}

#[test]
fn classify_as_of_cites_the_law_of_that_day() {
    let o = beian(&[
        "classify",
        "examples/public-chatbot.toml",
        "--as-of",
        "2026-06-01",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["as_of"], "2026-06-01");
    let ids: Vec<&str> = v["results"][0]["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"csl2025.23.mlps"), "{ids:?}");
    assert!(!ids.contains(&"csl.21.mlps"), "{ids:?}");
    let o = beian(&[
        "classify",
        "examples/public-chatbot.toml",
        "--as-of",
        "2025-06-01",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let up: Vec<&str> = v["results"][0]["upcoming"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(
        up.contains(&"csl2025.23.mlps") && up.contains(&"incident.4.operator-4h"),
        "{up:?}"
    );
    let o = beian(&[
        "classify",
        "examples/public-chatbot.toml",
        "--as-of",
        "2026-13-01",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("YYYY-MM-DD"), "{}", stderr(&o));
}

#[test]
fn kb_diff_lists_instruments_renumberings_and_new_duties() {
    let o = beian(&[
        "kb",
        "diff",
        "--from",
        "2025-06-01",
        "--to",
        "2026-06-01",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ins: Vec<&str> = v["instruments_in"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert!(
        ins.contains(&"CSL-2025") && ins.contains(&"INCIDENT-2025"),
        "{ins:?}"
    );
    assert!(
        v["instruments_out"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == "CSL-2017")
    );
    assert!(
        v["renumbered"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["from_article"] == "21" && r["to_article"] == "23")
    );
    let o = beian(&[
        "kb",
        "diff",
        "--from",
        "2025-06-01",
        "--to",
        "2026-06-01",
        "--lang",
        "zh",
    ]);
    let s = String::from_utf8(o.stdout).unwrap();
    assert!(
        s.contains("条文序号变化") && s.contains("第二十一条 -> CSL-2025 第二十三条"),
        "{s}"
    );
    let o = beian(&["kb", "diff", "--from", "2026-06-01", "--to", "2025-06-01"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("after"), "{}", stderr(&o));
}

#[test]
fn kb_diff_lists_the_eu_annex_i_date_of_2028() {
    let o = beian(&[
        "kb",
        "diff",
        "--from",
        "2028-01-01",
        "--to",
        "2028-12-31",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let annex_i: Vec<&serde_json::Value> = v["obligations_new"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["regime"] == "eu-ai-act" && x["date"] == "2028-08-02")
        .collect();
    let ids: Vec<&str> = annex_i.iter().map(|x| x["id"].as_str().unwrap()).collect();
    for id in [
        "eu.9.risk-management.annex-i",
        "eu.43.conformity-assessment.annex-i",
        "eu.22.authorised-representative.annex-i",
    ] {
        assert!(ids.contains(&id), "{id} not in {ids:?}");
    }
    assert!(annex_i.iter().all(|x| x["date_verified"] == "secondary"));
    let o = beian(&["kb", "diff", "--from", "2028-01-01", "--to", "2028-12-31"]);
    let s = String::from_utf8(o.stdout).unwrap();
    assert!(
        s.contains("2028-08-02  [eu-ai-act] EU-AIA-2024 Art. 9 "),
        "{s}"
    );
}

#[test]
fn kb_diff_shows_the_dates_the_omnibus_changed() {
    let o = beian(&[
        "kb",
        "diff",
        "--from",
        "2026-06-01",
        "--to",
        "2026-08-05",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let r = v["rescheduled"].as_array().unwrap();
    let risk = r
        .iter()
        .find(|x| x["id"] == "eu.9.risk-management")
        .expect("Annex III risk management rescheduled");
    assert_eq!(risk["old_from"], "2026-08-02");
    assert_eq!(risk["new_from"], "2027-12-02");
    assert_eq!(risk["date"], "2026-07-27");
    assert_eq!(risk["by"], "EU-AI-OMNIBUS-2026");
    let annex_i = r
        .iter()
        .find(|x| x["id"] == "eu.9.risk-management.annex-i")
        .unwrap();
    assert_eq!(annex_i["old_from"], "2027-08-02");
    assert_eq!(annex_i["new_from"], "2028-08-02");
    // Annex III duties do not enter into force on 2026-08-02 any more
    assert!(
        !v["obligations_new"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == "eu.9.risk-management")
    );
    let o = beian(&[
        "kb",
        "diff",
        "--from",
        "2026-06-01",
        "--to",
        "2026-08-05",
        "--lang",
        "zh",
    ]);
    let s = String::from_utf8(o.stdout).unwrap();
    assert!(s.contains("适用日期变更"), "{s}");
    assert!(s.contains("2026-08-02 -> 2027-12-02"), "{s}");
}

#[test]
fn a_profile_on_the_eu_market_gets_the_eu_ai_act_by_default() {
    let p = tmp(
        "gpai-eu.toml",
        "name = \"m\"\nmodel_source = \"self-developed\"\nparameters = 200000000000\n\
         training_compute_flops = 3e25\neu_market = true\n",
    );
    let o = beian(&[
        "classify",
        p.to_str().unwrap(),
        "--as-of",
        "2026-06-01",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[1]["regime"], "eu-ai-act");
    let ids: Vec<&str> = results[1]["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"eu.53.gpai-provider"), "{ids:?}");
    assert!(ids.contains(&"eu.55.systemic-risk"), "{ids:?}");
    // without the EU market: the PRC rules only
    let p = tmp("home.toml", "name = \"m\"\nparameters = 200000000000\n");
    let o = beian(&["classify", p.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["results"].as_array().unwrap().len(), 1);
}

/// A reader that stops early (`beian classify … | head -1`) closes the pipe;
/// beian leaves quietly with status 0, neither panicking (`println!`) nor
/// reporting an error. Each output is larger than a pipe's 64 KiB buffer, so
/// beian is still writing when the pipe closes.
#[test]
fn a_closed_stdout_is_not_an_error() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let runs: [&[&str]; 2] = [
        &[
            "classify",
            "examples/tutoring-minors.toml",
            "--format",
            "json",
        ],
        &[
            "kb",
            "diff",
            "--from",
            "2000-01-01",
            "--to",
            "2030-12-31",
            "--format",
            "json",
        ],
    ];
    for args in runs {
        let mut child = Command::new(env!("CARGO_BIN_EXE_beian"))
            .args(args)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        assert!(!first.is_empty(), "{args:?} printed nothing");
        drop(out);
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.is_empty(), "{args:?} said on stderr: {err}");
        assert!(o.status.success(), "{args:?}: status {:?}", o.status);
    }
}
