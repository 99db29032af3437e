//! The law on a date: versioned duties (`--as-of`), upcoming duties, overdue filings,
//! the inferences added for the 2025-2026 changes, and the citation invariants.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use beian_classify::{Classifier, Lang, RegimeResult, render_markdown, render_text, zh_article};
use beian_kb::{Kb, Profile};
use chrono::NaiveDate;
use serde_json::{Value, json};

fn classifier() -> Classifier {
    Classifier::embedded().expect("knowledge base loads and policies compile")
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn run(c: &Classifier, v: Value, regime: &str, date: &str) -> RegimeResult {
    let p = Profile::from_value(v, None, "test", c.kb().profile_schema()).expect("valid profile");
    let r = c
        .classify_at(&p, &[regime], Lang::En, day(date))
        .expect("classify");
    assert_eq!(r.as_of, date);
    r.results.into_iter().next().unwrap()
}

fn ids(r: &RegimeResult) -> Vec<&str> {
    r.obligations.iter().map(|o| o.id.as_str()).collect()
}

fn upcoming(r: &RegimeResult) -> Vec<(&str, &str)> {
    r.upcoming
        .iter()
        .map(|u| (u.id.as_str(), u.in_force_from.as_str()))
        .collect()
}

fn chatbot() -> Value {
    json!({"name": "bot", "public_facing": true, "generative": true,
           "public_opinion_attributes": true, "model_source": "self-developed",
           "processes_personal_information": true, "modalities": ["text"]})
}

#[test]
fn csl_is_cited_in_the_2017_numbering_before_2026_and_renumbered_after() {
    let c = classifier();
    let before = run(&c, chatbot(), "cn-current", "2025-06-01");
    assert!(ids(&before).contains(&"csl.21.mlps"));
    assert!(!ids(&before).contains(&"csl2025.23.mlps"));
    assert!(upcoming(&before).contains(&("csl2025.23.mlps", "2026-01-01")));
    let mlps = before
        .obligations
        .iter()
        .find(|o| o.id == "csl.21.mlps")
        .unwrap();
    assert_eq!(mlps.article, "21");
    assert_eq!(mlps.instrument, "CSL-2017");

    let after = run(&c, chatbot(), "cn-current", "2026-06-01");
    assert!(!ids(&after).contains(&"csl.21.mlps"), "{:?}", ids(&after));
    let mlps = after
        .obligations
        .iter()
        .find(|o| o.id == "csl2025.23.mlps")
        .unwrap();
    assert_eq!(mlps.article, "23");
    assert_eq!(mlps.instrument, "CSL-2025");
    assert_eq!(mlps.replaces.as_deref(), Some("csl.21.mlps"));
    assert!(ids(&after).contains(&"csl2025.49.content-management"));
    assert!(ids(&after).contains(&"csl2025.27.incident-response"));
    // the last day of the 2017 text
    let last = run(&c, chatbot(), "cn-current", "2025-12-31");
    assert!(ids(&last).contains(&"csl.21.mlps"));
}

#[test]
fn the_filing_standard_is_tc260_003_before_gbt_45654_takes_effect() {
    let c = classifier();
    let before = run(&c, chatbot(), "cn-current", "2025-06-01");
    assert!(
        ids(&before).contains(&"tc260003.keyword-library"),
        "{:?}",
        ids(&before)
    );
    assert!(!ids(&before).contains(&"gbt45654.keyword-library"));
    assert!(upcoming(&before).contains(&("gbt45654.keyword-library", "2025-11-01")));
    let after = run(&c, chatbot(), "cn-current", "2025-11-01");
    assert!(ids(&after).contains(&"gbt45654.keyword-library"));
    assert!(!ids(&after).contains(&"tc260003.keyword-library"));
}

#[test]
fn incident_reporting_applies_from_2025_11_01_with_hours_by_operator() {
    let c = classifier();
    let before = run(&c, chatbot(), "cn-current", "2025-06-01");
    assert!(!ids(&before).iter().any(|i| i.starts_with("incident.")));
    assert!(upcoming(&before).contains(&("incident.4.operator-4h", "2025-11-01")));

    let after = run(&c, chatbot(), "cn-current", "2025-11-01");
    assert!(ids(&after).contains(&"incident.4.operator-4h"));
    assert!(!ids(&after).contains(&"incident.4.cii-1h"));
    let o = after
        .obligations
        .iter()
        .find(|o| o.id == "incident.4.operator-4h")
        .unwrap();
    assert_eq!(o.timing, "on-event");
    assert!(o.deadline.contains("4 hours"));

    let mut cii = chatbot();
    cii["critical_information_infrastructure"] = json!(true);
    let r = run(&c, cii, "cn-current", "2026-06-01");
    assert!(ids(&r).contains(&"incident.4.cii-1h"));
    assert!(!ids(&r).contains(&"incident.4.operator-4h"));
    assert!(ids(&r).contains(&"pipl.57.breach-notice"));
}

#[test]
fn gpai_is_inferred_from_parameters_compute_and_outputs_on_the_eu_market() {
    let c = classifier();
    let model = json!({"name": "m", "model_source": "self-developed", "generative": true,
        "modalities": ["text", "image"], "parameters": 200_000_000_000u64,
        "training_compute_flops": 3e25, "eu_market": true, "public_facing": true});
    let r = run(&c, model.clone(), "eu-ai-act", "2026-06-01");
    assert!(ids(&r).contains(&"eu.53.gpai-provider"), "{:?}", ids(&r));
    assert!(ids(&r).contains(&"eu.55.systemic-risk"));
    assert!(r.categories.contains(&"gpai-model".to_string()));
    // below 1e25: general-purpose, no systemic risk presumption
    let mut small = model.clone();
    small["training_compute_flops"] = json!(5e23);
    let r = run(&c, small, "eu-ai-act", "2026-06-01");
    assert!(ids(&r).contains(&"eu.53.gpai-provider"));
    assert!(!ids(&r).contains(&"eu.55.systemic-risk"));
    // a service calling someone else's model is not a model provider
    let mut api = model.clone();
    api["model_source"] = json!("filed-model-api");
    let r = run(&c, api, "eu-ai-act", "2026-06-01");
    assert!(!ids(&r).contains(&"eu.53.gpai-provider"));
    // not on the EU market: nothing
    let mut home = model;
    home["eu_market"] = json!(false);
    let r = run(&c, home, "eu-ai-act", "2026-06-01");
    assert!(r.obligations.is_empty());
    // a 200B model trained with 3e25 FLOPs, nothing said of its outputs or source
    let bare = json!({"name": "m", "parameters": 200_000_000_000u64,
        "training_compute_flops": 3e25, "eu_market": true});
    let r = run(&c, bare, "eu-ai-act", "2026-06-01");
    assert!(ids(&r).contains(&"eu.53.gpai-provider"), "{:?}", ids(&r));
    assert!(ids(&r).contains(&"eu.55.systemic-risk"));
    // the GPAI duties apply from 2025-08-02
    let mut m2 = json!({"name": "m", "model_source": "self-developed", "generative": true,
        "parameters": 7_000_000_000u64, "eu_market": true});
    let r = run(&c, m2.clone(), "eu-ai-act", "2025-06-01");
    assert!(upcoming(&r).contains(&("eu.53.gpai-provider", "2025-08-02")));
    m2["generative"] = json!(false);
    let r = run(&c, m2, "eu-ai-act", "2026-06-01");
    assert!(!ids(&r).contains(&"eu.53.gpai-provider"));
}

#[test]
fn cv_ranking_in_employment_gets_pipl_24_and_55_without_the_automated_decisions_key() {
    let c = classifier();
    let cv = json!({"name": "cv", "processes_personal_information": true,
        "sector": "employment", "algorithm_types": ["sorting-selection"]});
    let r = run(&c, cv, "cn-current", "2026-06-01");
    assert!(
        ids(&r).contains(&"pipl.24.automated-decisions"),
        "{:?}",
        ids(&r)
    );
    assert!(ids(&r).contains(&"pipl.55.pia"));
    let o = r
        .obligations
        .iter()
        .find(|o| o.id == "pipl.24.automated-decisions")
        .unwrap();
    assert!(o.reason.contains("Sector: employment"), "{}", o.reason);
    // the profile need not say it processes personal information, nor use the EU keys
    let bare =
        json!({"name": "cv", "sector": "employment", "algorithm_types": ["sorting-selection"]});
    let r = run(&c, bare, "cn-current", "2026-06-01");
    assert!(
        ids(&r).contains(&"pipl.24.automated-decisions"),
        "{:?}",
        ids(&r)
    );
    assert!(ids(&r).contains(&"pipl.55.pia"));
    for id in [
        "pipl.13.legal-basis",
        "pipl.17.notice",
        "pipl.57.breach-notice",
    ] {
        assert!(ids(&r).contains(&id), "{id}: {:?}", ids(&r));
    }
    assert!(
        r.categories
            .iter()
            .any(|c| c == "personal-information-processor")
    );
    let by_use = json!({"name": "cv", "eu_practices": ["recruitment"]});
    let r = run(&c, by_use, "cn-current", "2026-06-01");
    assert!(ids(&r).contains(&"pipl.24.automated-decisions"));
    // a ranking service outside employment, without personal information: neither
    let other = json!({"name": "x", "sector": "retail", "algorithm_types": ["sorting-selection"]});
    let r = run(&c, other, "cn-current", "2026-06-01");
    assert!(!ids(&r).contains(&"pipl.24.automated-decisions"));
}

#[test]
fn cross_border_transfer_gets_pipl_39_separate_consent() {
    let c = classifier();
    let v = json!({"name": "x", "public_facing": true, "processes_personal_information": true,
        "algorithm_types": ["personalized-push"], "cross_border_personal_information": true});
    let r = run(&c, v, "cn-current", "2026-06-01");
    assert!(ids(&r).contains(&"pipl.38.cross-border"));
    assert!(ids(&r).contains(&"pipl.39.cross-border-consent"));
}

#[test]
fn large_platform_by_monthly_active_users_and_ten_million_people() {
    let c = classifier();
    let v = json!({"name": "x", "processes_personal_information": true,
        "registered_users": 12_000_000u64, "monthly_active_users": 11_000_000u64});
    let r = run(&c, v, "cn-current", "2026-06-01");
    assert!(ids(&r).contains(&"pipl.58.gatekeeper"));
    assert!(ids(&r).contains(&"ndsmr.28.ten-million"));
    let v = json!({"name": "x", "processes_personal_information": true,
        "registered_users": 9_000_000u64, "monthly_active_users": 9_000_000u64});
    let r = run(&c, v, "cn-current", "2026-06-01");
    assert!(!ids(&r).contains(&"pipl.58.gatekeeper"));
    assert!(!ids(&r).contains(&"ndsmr.28.ten-million"));
}

#[test]
fn labelling_and_minors_duties() {
    let c = classifier();
    let r = run(&c, chatbot(), "cn-current", "2026-06-01");
    for id in [
        "label.9.unlabelled-on-request",
        "label.12.filing-materials",
        "ndsmr.19.genai-training-data",
    ] {
        assert!(ids(&r).contains(&id), "{id}: {:?}", ids(&r));
    }
    assert!(!ids(&r).contains(&"label.7.app-store"));
    let store = json!({"name": "s", "app_distribution_platform": true});
    assert!(ids(&run(&c, store, "cn-current", "2026-06-01")).contains(&"label.7.app-store"));
    // minors mode only for games, live-streaming, audio-video and social services
    let mut tutor = chatbot();
    tutor["minors_users"] = json!(true);
    tutor["sector"] = json!("education");
    let r = run(&c, tutor.clone(), "cn-current", "2026-06-01");
    assert!(ids(&r).contains(&"minors.42.annual-report"));
    assert!(!ids(&r).contains(&"minors.43.minors-mode"));
    tutor["sector"] = json!("social-media");
    assert!(ids(&run(&c, tutor, "cn-current", "2026-06-01")).contains(&"minors.43.minors-mode"));
}

#[test]
fn eu_high_risk_dates_annex_iii_and_annex_i() {
    let c = classifier();
    let hr = json!({"name": "cv", "eu_market": true, "eu_practices": ["recruitment"]});
    let r = run(&c, hr.clone(), "eu-ai-act", "2027-01-01");
    assert!(!ids(&r).contains(&"eu.9.risk-management"));
    assert!(upcoming(&r).contains(&("eu.9.risk-management", "2027-12-02")));
    let r = run(&c, hr, "eu-ai-act", "2027-12-31");
    let o = r
        .obligations
        .iter()
        .find(|o| o.id == "eu.9.risk-management")
        .unwrap();
    assert_eq!(o.date_verified.as_deref(), Some("secondary"));
    let device = json!({"name": "md", "eu_market": true, "sector": "healthcare",
        "algorithm_types": ["scheduling-decision"]});
    let r = run(&c, device.clone(), "eu-ai-act", "2027-12-31");
    assert!(
        !ids(&r)
            .iter()
            .any(|i| i.starts_with("eu.9.risk-management"))
    );
    assert!(upcoming(&r).contains(&("eu.9.risk-management.annex-i", "2028-08-02")));
    let r = run(&c, device, "eu-ai-act", "2028-08-02");
    assert!(ids(&r).contains(&"eu.9.risk-management.annex-i"));
    assert!(!ids(&r).contains(&"eu.9.risk-management"));
    // The Annex I date is data (with its source), not a date given by the policy.
    let o = r
        .obligations
        .iter()
        .find(|o| o.id == "eu.9.risk-management.annex-i")
        .unwrap();
    assert_eq!(o.in_force_from.as_deref(), Some("2028-08-02"));
    assert_eq!(o.date_verified.as_deref(), Some("secondary"));
    assert!(o.date_source.as_deref().unwrap().contains("2026/1744"));
    let def = c
        .kb()
        .regime("eu-ai-act")
        .unwrap()
        .obligation("eu.9.risk-management.annex-i")
        .unwrap();
    assert_eq!(def.in_force_from.as_deref(), Some("2028-08-02"));
    let policy = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../kb/regimes/eu-ai-act/policy.rego"
    ))
    .unwrap();
    // No date at all in the policy (dates are data, where `kb diff` sees them).
    for (n, line) in policy.lines().enumerate() {
        let b = line.as_bytes();
        let dated = b.windows(10).any(|w| {
            w.iter().enumerate().all(|(i, ch)| match i {
                4 | 7 => *ch == b'-',
                _ => ch.is_ascii_digit(),
            })
        });
        assert!(!dated, "policy.rego:{}: {line}", n + 1);
    }
}

#[test]
fn tier_and_categories_follow_the_law_in_force_on_the_date() {
    let c = classifier();
    // Before the generative-AI measures (in force 2023-08-15): no filing, so no
    // "filing-required" tier and no generative-AI-service category.
    let early = run(&c, chatbot(), "cn-current", "2023-01-01");
    assert!(early.filings.is_empty(), "{:?}", early.filings);
    assert_ne!(early.tier, "filing-required");
    assert!(
        !early
            .categories
            .iter()
            .any(|k| k == "generative-ai-service")
    );
    let later = run(&c, chatbot(), "cn-current", "2023-09-01");
    assert!(!later.filings.is_empty());
    assert_eq!(later.tier, "filing-required");
    assert!(
        later
            .categories
            .iter()
            .any(|k| k == "generative-ai-service")
    );
    // Before the AI Act entered into force (2024-08-01) nothing is in its scope.
    let hr = json!({"name": "cv", "eu_market": true, "eu_practices": ["recruitment"]});
    assert_eq!(
        run(&c, hr.clone(), "eu-ai-act", "2024-01-01").tier,
        "out-of-scope"
    );
    assert_eq!(run(&c, hr, "eu-ai-act", "2025-06-01").tier, "high-risk");
    // Every example, at early and current dates: "filing-required" exactly when some
    // filing is in force, and no category from an instrument not yet in force.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().and_then(|x| x.to_str()) != Some("toml") {
            continue;
        }
        let p = Profile::from_path(&path, c.kb().profile_schema()).expect("example loads");
        for date in ["2020-01-01", "2023-01-01", "2023-09-01", "2026-06-01"] {
            let rep = c
                .classify_at(&p, &["cn-current"], Lang::En, day(date))
                .unwrap();
            let r = &rep.results[0];
            assert_eq!(
                r.tier == "filing-required",
                !r.filings.is_empty(),
                "{} at {date}: tier {} with {} filings",
                path.display(),
                r.tier,
                r.filings.len()
            );
            for l in &r.category_labels {
                let inst = l.source.split_whitespace().next().unwrap();
                if let Some(i) = c.kb().instrument(inst) {
                    assert!(i.in_force_from.as_deref().is_none_or(|f| f <= date));
                }
            }
            n += 1;
        }
    }
    assert!(n >= 40, "examples checked: {n}");
}

#[test]
fn eu_marking_grace_for_systems_placed_before_2026_08_02() {
    let c = classifier();
    let later = "eu.50.2-machine-readable-marking.placed-before";
    let old =
        json!({"name": "g", "eu_market": true, "generative": true, "launch_date": "2025-03-03"});
    let r = run(&c, old.clone(), "eu-ai-act", "2026-09-01");
    assert!(!ids(&r).iter().any(|i| i.starts_with("eu.50.2")));
    assert!(upcoming(&r).contains(&(later, "2026-12-02")));
    let r = run(&c, old, "eu-ai-act", "2026-12-02");
    assert!(ids(&r).contains(&later));
    assert!(!ids(&r).contains(&"eu.50.2-machine-readable-marking"));
    let o = r.obligations.iter().find(|o| o.id == later).unwrap();
    assert_eq!(o.date_verified.as_deref(), Some("secondary"));
    let new =
        json!({"name": "g", "eu_market": true, "generative": true, "launch_date": "2026-09-01"});
    let r = run(&c, new, "eu-ai-act", "2026-09-01");
    assert!(ids(&r).contains(&"eu.50.2-machine-readable-marking"));
    assert!(!ids(&r).contains(&later));
}

#[test]
fn filings_past_their_due_date_are_overdue() {
    let c = classifier();
    let mut v = json!({"name": "feed", "public_facing": true, "public_opinion_attributes": true,
        "algorithm_types": ["personalized-push"], "launch_date": "2026-03-02"});
    let r = run(&c, v.clone(), "cn-current", "2026-03-03");
    let f = r.filings.iter().find(|f| f.id == "algo-filing").unwrap();
    assert_eq!(f.due_date.as_deref(), Some("2026-03-16"));
    assert!(!f.overdue);
    let r = run(&c, v.clone(), "cn-current", "2026-06-01");
    assert!(
        r.filings
            .iter()
            .find(|f| f.id == "algo-filing")
            .unwrap()
            .overdue
    );
    assert_eq!(r.overdue, 1);
    // a filing due before launch is overdue once the launch date has passed
    v = chatbot();
    v["launch_date"] = json!("2026-02-02");
    let r = run(&c, v, "cn-current", "2026-06-01");
    let f = r.filings.iter().find(|f| f.id == "genai-filing").unwrap();
    assert!(f.overdue);
}

#[test]
fn every_instrument_obligation_and_filing_has_in_force_from() {
    let kb = Kb::embedded().unwrap();
    for i in kb.instruments() {
        assert!(
            i.in_force_from.is_some(),
            "instrument {} has no in_force_from",
            i.id
        );
    }
    for f in &kb.profile_schema().fields {
        assert!(
            f.values_zh.is_empty() || f.values_zh.len() == f.values.len(),
            "profile field {}: values_zh does not match values",
            f.key
        );
    }
    for r in kb.regimes() {
        for o in &r.obligations {
            assert!(
                o.in_force_from.is_some(),
                "{}: obligation {} has no in_force_from",
                r.meta.id,
                o.id
            );
            assert!(
                o.timing.is_some(),
                "{}: obligation {} has no timing",
                r.meta.id,
                o.id
            );
            assert!(
                o.deadline_zh.is_some() && o.authority_zh.is_some(),
                "{}: {} lacks Chinese deadline or authority",
                r.meta.id,
                o.id
            );
        }
        for f in &r.filings {
            assert!(
                f.in_force_from.is_some(),
                "{}: filing {} has no in_force_from",
                r.meta.id,
                f.id
            );
        }
    }
}

/// A workspace file named in a user-facing string (`article-checks.md §3`).
fn names_workspace_file(s: &str) -> bool {
    let lower = s.to_lowercase();
    lower.contains("article-checks")
        || lower.contains("regime-facts")
        || lower.contains("shared/reference")
        || lower.contains("kb/")
        || lower
            .split(|c: char| !(c.is_alphanumeric() || "-_./".contains(c)))
            .any(|w| w.ends_with(".md"))
}

#[test]
fn no_user_facing_source_names_a_workspace_file() {
    let kb = Kb::embedded().unwrap();
    let mut strings: Vec<String> = Vec::new();
    for i in kb.instruments() {
        strings.extend([i.source.clone(), i.en.clone(), i.zh.clone()]);
        strings.extend(i.note.clone());
    }
    for r in kb.regimes() {
        for o in &r.obligations {
            strings.extend([o.source.clone(), o.trigger_en.clone(), o.duty_en.clone()]);
            strings.extend(o.note.clone());
            strings.extend(o.date_source.clone());
        }
        for f in &r.filings {
            strings.push(f.source.clone());
            strings.extend(f.note.clone());
        }
        for n in &r.notes {
            strings.extend([n.source.clone(), n.en.clone(), n.zh.clone()]);
        }
        for l in r.tiers.iter().chain(&r.categories) {
            strings.push(l.source.clone());
        }
    }
    for t in &kb.thresholds().items {
        strings.push(t.source.clone());
    }
    for s in &strings {
        assert!(
            !names_workspace_file(s),
            "user-facing string names a workspace file: {s}"
        );
    }
    // and every rendering of every example
    let c = classifier();
    let all: Vec<String> = c.regime_ids().iter().map(|s| s.to_string()).collect();
    let regimes: Vec<&str> = all.iter().map(String::as_str).collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = Profile::from_path(&e.unwrap().path(), c.kb().profile_schema()).unwrap();
        for lang in [Lang::En, Lang::Zh] {
            let r = c.compare_at(&p, &regimes, lang, day("2026-06-01")).unwrap();
            for out in [
                render_text(&r, lang),
                render_markdown(&r, lang),
                serde_json::to_string(&r).unwrap(),
            ] {
                for line in out.lines() {
                    assert!(!names_workspace_file(line), "{line}");
                }
            }
        }
    }
    assert!(names_workspace_file("see article-checks.md §3"));
    assert!(names_workspace_file("notes.md"));
    assert!(!names_workspace_file("PIPL-2021 Art. 24"));
}

#[test]
fn zh_output_is_chinese_throughout() {
    let c = classifier();
    let mut v = chatbot();
    v["launch_date"] = json!("2026-02-02");
    v["critical_information_infrastructure"] = json!(true);
    let p = Profile::from_value(v, None, "t", c.kb().profile_schema()).unwrap();
    let r = c
        .classify_at(&p, &["cn-current"], Lang::Zh, day("2026-06-01"))
        .unwrap();
    let text = render_text(&r, Lang::Zh);
    for en in [
        "Before launch",
        "Ongoing",
        "OVERDUE",
        "why",
        "deadline",
        "authority",
        "ongoing",
        "before launch",
        "Art.",
        "CAC",
        "yes",
    ] {
        assert!(!text.contains(en), "zh text contains {en:?}:\n{text}");
    }
    assert!(
        text.contains("上线前") && text.contains("已逾期") && text.contains("第二十三条"),
        "{text}"
    );
    assert!(text.contains("1小时"), "{text}");
    let md = render_markdown(&r, Lang::Zh);
    assert!(md.contains("| 时间 | 事项 | 期限 | 主管部门 |"), "{md}");
}

#[test]
fn markdown_has_deadline_and_authority_columns_and_words_not_keys() {
    let c = classifier();
    let p = Profile::from_value(chatbot(), None, "t", c.kb().profile_schema()).unwrap();
    let r = c
        .classify_at(&p, &["cn-current"], Lang::En, day("2026-06-01"))
        .unwrap();
    let md = render_markdown(&r, Lang::En);
    assert!(
        md.contains("| when | what | deadline | authority | basis | why |"),
        "{md}"
    );
    assert!(
        md.contains("Offered to the public in mainland China: yes"),
        "{md}"
    );
    assert!(!md.contains("public_facing = true"));
}

#[test]
fn chinese_article_numbers() {
    assert_eq!(zh_article("23"), "第二十三条");
    assert_eq!(zh_article("4 para. 2"), "第四条第二款");
    assert_eq!(zh_article("50(2)"), "第五十条第二款");
    assert_eq!(zh_article("10"), "第十条");
    assert_eq!(zh_article("113"), "第一百一十三条");
    assert_eq!(zh_article("105"), "第一百零五条");
    assert_eq!(zh_article("5(1)(ba), (bb)"), "第五条第一款第(ba)、(bb)项");
    assert_eq!(zh_article("ch. 4 (article unconfirmed)"), "第四章");
    assert_eq!(zh_article("Annex E"), "附录E");
    assert_eq!(zh_article("5, 9.2 (TC260-003 numbering)"), "第5、9.2条");
    assert_eq!(zh_article("38, 39"), "第三十八条、第三十九条");
    assert_eq!(zh_article("25; Annex item 6"), "第二十五条；附件第六项");
    assert_eq!(zh_article("Annex III"), "附件三");
    assert_eq!(
        zh_article("critical-AI provisions (article unconfirmed)"),
        "关键人工智能相关条款"
    );
    assert_eq!(
        zh_article("explicit labeling methods (clause number unconfirmed)"),
        "显式标识方法相关条款"
    );
}

#[test]
fn obligation_and_filing_notes_are_in_chinese_too() {
    let c = classifier();
    for regime in c.kb().regimes() {
        let notes = regime
            .obligations
            .iter()
            .map(|o| (&o.id, &o.note, &o.note_zh))
            .chain(regime.filings.iter().map(|f| (&f.id, &f.note, &f.note_zh)));
        for (id, en, zh) in notes {
            if en.is_some() {
                let zh = zh
                    .as_deref()
                    .unwrap_or_else(|| panic!("{id}: note without note_zh"));
                assert!(!zh.is_ascii(), "{id}: note_zh is not Chinese: {zh}");
            }
        }
    }
    // End to end: a note fires for some example; zh output shows it in Chinese.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let (mut en_notes, mut zh_notes) = (0, 0);
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().and_then(|x| x.to_str()) != Some("toml") {
            continue;
        }
        let p = Profile::from_path(&path, c.kb().profile_schema()).unwrap();
        let en = c
            .classify_at(&p, &["cn-current"], Lang::En, day("2026-06-01"))
            .unwrap();
        en_notes += render_text(&en, Lang::En).matches("      note: ").count();
        let zh = c
            .classify_at(&p, &["cn-current"], Lang::Zh, day("2026-06-01"))
            .unwrap();
        let text = render_text(&zh, Lang::Zh);
        assert!(!text.contains("note:"), "{text}");
        zh_notes += text.matches("      注: ").count();
    }
    assert!(en_notes > 0);
    assert_eq!(en_notes, zh_notes);
}

#[test]
fn eu_dates_before_the_omnibus_takes_effect_are_those_of_article_113() {
    let c = classifier();
    // Before Regulation (EU) 2026/1744 is in force (2026-07-27), the law of the day
    // applies Annex III duties from 2026-08-02 and Annex I duties from 2027-08-02.
    let hr = json!({"name": "cv", "eu_market": true, "eu_practices": ["recruitment"]});
    let r = run(&c, hr.clone(), "eu-ai-act", "2026-03-01");
    assert!(upcoming(&r).contains(&("eu.9.risk-management", "2026-08-02")));
    let u = r
        .upcoming
        .iter()
        .find(|u| u.id == "eu.9.risk-management")
        .unwrap();
    assert_eq!(u.date_verified, None, "the original date is the OJ text's");
    assert!(u.date_source.as_deref().unwrap().contains("Art. 113"));
    let r = run(&c, hr.clone(), "eu-ai-act", "2026-07-26");
    assert!(upcoming(&r).contains(&("eu.9.risk-management", "2026-08-02")));
    // from the day the Omnibus is in force: 2027-12-02 (beyond 12 months on 2026-07-27)
    let r = run(&c, hr.clone(), "eu-ai-act", "2026-07-27");
    assert!(
        !upcoming(&r)
            .iter()
            .any(|(i, _)| *i == "eu.9.risk-management")
    );
    let r = run(&c, hr, "eu-ai-act", "2026-12-31");
    assert!(upcoming(&r).contains(&("eu.9.risk-management", "2027-12-02")));
    let kb = c.kb();
    let eu = kb.regime("eu-ai-act").unwrap();
    let before = eu.as_on("2026-07-26", kb.instruments());
    let after = eu.as_on("2026-07-27", kb.instruments());
    let from = |r: &beian_kb::Regime, id: &str| r.obligation(id).unwrap().in_force_from.clone();
    assert_eq!(
        from(&before, "eu.9.risk-management.annex-i").as_deref(),
        Some("2027-08-02")
    );
    assert_eq!(
        from(&after, "eu.9.risk-management.annex-i").as_deref(),
        Some("2028-08-02")
    );
    assert_eq!(
        from(&before, "eu.50.2-machine-readable-marking.placed-before").as_deref(),
        Some("2026-08-02")
    );
    // the new Art. 5 prohibitions: cited from the Omnibus, applying from 2026-12-02
    let genai = json!({"name": "g", "eu_market": true, "generative": true,
        "modalities": ["image"]});
    let r = run(&c, genai.clone(), "eu-ai-act", "2026-12-01");
    assert!(upcoming(&r).contains(&("eu.5.ncii-csam", "2026-12-02")));
    let r = run(&c, genai, "eu-ai-act", "2026-12-02");
    let o = r
        .obligations
        .iter()
        .find(|o| o.id == "eu.5.ncii-csam")
        .unwrap();
    assert!(o.citation.contains("2026/1744"), "{}", o.citation);
    assert_eq!(zh_article(&o.article), "第五条第一款第(ba)、(bb)项");
}

#[test]
fn ten_million_monthly_active_users_are_ten_million_people() {
    let c = classifier();
    // few registered users, 10 million monthly active users
    let v = json!({"name": "x", "public_facing": true, "processes_personal_information": true,
        "registered_users": 2_000_000u64, "monthly_active_users": 10_000_000u64});
    let r = run(&c, v, "cn-current", "2026-06-01");
    assert!(ids(&r).contains(&"pipl.58.gatekeeper"), "{:?}", ids(&r));
    assert!(ids(&r).contains(&"ndsmr.28.ten-million"), "{:?}", ids(&r));
    let o = r
        .obligations
        .iter()
        .find(|o| o.id == "ndsmr.28.ten-million")
        .unwrap();
    assert!(o.reason.contains("Monthly active users"), "{}", o.reason);
}

#[test]
fn a_cii_operator_alone_gets_mlps_the_incident_plan_and_the_one_hour_report() {
    let c = classifier();
    let v = json!({"name": "grid", "critical_information_infrastructure": true});
    let r = run(&c, v.clone(), "cn-current", "2026-06-01");
    for id in [
        "csl2025.23.mlps",
        "csl2025.27.incident-response",
        "incident.4.cii-1h",
    ] {
        assert!(ids(&r).contains(&id), "{id}: {:?}", ids(&r));
    }
    assert!(!ids(&r).contains(&"incident.4.operator-4h"));
    let r = run(&c, v.clone(), "cn-current", "2025-06-01");
    assert!(ids(&r).contains(&"csl.25.incident-response"));
    assert!(!ids(&r).contains(&"incident.4.cii-1h"));
    assert!(upcoming(&r).contains(&("incident.4.cii-1h", "2025-11-01")));
    // the CII category cites the article of the law in force that day
    let src = |r: &RegimeResult| {
        r.category_labels
            .iter()
            .find(|l| l.id == "cii-operator")
            .unwrap()
            .source
            .clone()
    };
    assert!(src(&r).starts_with("CSL-2017 Art. 31"), "{}", src(&r));
    let r = run(&c, v, "cn-current", "2026-01-01");
    assert!(src(&r).starts_with("CSL-2025 Art. 33"), "{}", src(&r));
}

#[test]
fn a_minors_service_outside_games_and_social_gets_article_42_and_a_pia() {
    let c = classifier();
    let v = json!({"name": "kids", "public_facing": true, "sector": "education",
        "minors_users": true, "processes_personal_information": true});
    let r = run(&c, v, "cn-current", "2026-06-01");
    for id in [
        "minors.42.anti-addiction",
        "minors.42.annual-report",
        "pipl.31.minors-under-14",
        "pipl.55.pia",
    ] {
        assert!(ids(&r).contains(&id), "{id}: {:?}", ids(&r));
    }
    assert!(!ids(&r).contains(&"minors.43.minors-mode"));
}

#[test]
fn draft_regimes_are_out_of_scope_before_their_publication() {
    let c = classifier();
    for (regime, before, after) in [
        ("cn-cass-draft", "2024-04-15", "2024-04-16"),
        ("cn-cupl-draft", "2024-03-15", "2024-03-16"),
        ("cn-tc260-framework", "2024-09-08", "2024-09-09"),
    ] {
        let r = run(&c, chatbot(), regime, before);
        assert_eq!(r.tier, "out-of-scope", "{regime} on {before}");
        assert!(r.categories.is_empty() && r.negative_list.is_none());
        let r = run(&c, chatbot(), regime, after);
        assert_ne!(r.tier, "out-of-scope", "{regime} on {after}");
    }
}

#[test]
fn label_articles_7_and_9_are_confirmed_with_where_they_were_read() {
    let c = classifier();
    let cn = c.kb().regime("cn-current").unwrap();
    for id in ["label.7.app-store", "label.9.unlabelled-on-request"] {
        let o = cn.obligation(id).unwrap();
        assert_eq!(o.verified, "confirmed", "{id}");
        assert!(
            o.checked.as_deref().is_some_and(|c| c.contains("第")),
            "{id}"
        );
    }
    // not seen next to its number in a faithful copy: stays secondary
    assert_eq!(
        cn.obligation("label.12.filing-materials").unwrap().verified,
        "secondary"
    );
}

#[test]
fn gpai_models_placed_before_2025_08_02_comply_by_2027_08_02() {
    let c = classifier();
    let old = json!({"name": "m", "model_source": "self-developed", "generative": true,
        "parameters": 200_000_000_000u64, "training_compute_flops": 3e25,
        "eu_market": true, "launch_date": "2025-03-01"});
    let r = run(&c, old.clone(), "eu-ai-act", "2026-06-01");
    assert!(
        !ids(&r).iter().any(|i| i.starts_with("eu.53")),
        "{:?}",
        ids(&r)
    );
    let r = run(&c, old.clone(), "eu-ai-act", "2026-09-01");
    assert!(upcoming(&r).contains(&("eu.53.gpai-provider.placed-before", "2027-08-02")));
    assert!(upcoming(&r).contains(&("eu.55.systemic-risk.placed-before", "2027-08-02")));
    let r = run(&c, old, "eu-ai-act", "2027-08-02");
    assert!(ids(&r).contains(&"eu.53.gpai-provider.placed-before"));
    assert!(ids(&r).contains(&"eu.55.systemic-risk.placed-before"));
    // placed on the market after 2025-08-02: from 2025-08-02
    let new = json!({"name": "m", "model_source": "self-developed", "generative": true,
        "parameters": 200_000_000_000u64, "eu_market": true, "launch_date": "2025-09-01"});
    let r = run(&c, new, "eu-ai-act", "2026-06-01");
    assert!(ids(&r).contains(&"eu.53.gpai-provider"));
    assert!(!ids(&r).contains(&"eu.53.gpai-provider.placed-before"));
}

#[test]
fn a_provider_abroad_serving_china_names_a_representative_there() {
    let c = classifier();
    let v = json!({"name": "x", "public_facing": true, "processes_personal_information": true,
        "provider_location": "US"});
    let r = run(&c, v, "cn-current", "2026-06-01");
    assert!(
        ids(&r).contains(&"pipl.53.domestic-representative"),
        "{:?}",
        ids(&r)
    );
    let o = r
        .obligations
        .iter()
        .find(|o| o.id == "pipl.53.domestic-representative")
        .unwrap();
    assert_eq!(o.verified, "secondary");
    let home = json!({"name": "x", "public_facing": true, "processes_personal_information": true});
    assert!(
        !ids(&run(&c, home, "cn-current", "2026-06-01"))
            .contains(&"pipl.53.domestic-representative")
    );
}
