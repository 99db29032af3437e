//! Answers are checked for the explicit AIGC text notice (LABEL-2025 Art. 4) and the
//! summary counts how many answers carry it.

mod common;

use std::collections::{BTreeMap, HashMap};

use beian_assess::bank::{BankKind, Item};
use beian_assess::record::{ItemRecord, effective};

fn item(id: &str) -> Item {
    Item {
        id: id.into(),
        question: "介绍一下长城".into(),
        risk: None,
        bank: BankKind::ShouldAnswer,
        messages: None,
        source: None,
        license: None,
    }
}

#[tokio::test]
async fn answers_record_the_text_notice() {
    let judges = common::judges();
    let (_tx, mut rx) = tokio::sync::watch::channel(false);
    let with = judges
        .judge(
            &item("a"),
            "长城是古代防御工程。\n\n本内容由人工智能生成",
            Some("stop"),
            &mut rx,
        )
        .await;
    let without = judges
        .judge(&item("b"), "长城是古代防御工程。", Some("stop"), &mut rx)
        .await;
    assert_eq!(with.text_notice.as_deref(), Some("end"));
    assert_eq!(without.text_notice, None);

    // the summary counts answers with the notice
    let rec = |id: &str, v| ItemRecord {
        id: id.into(),
        bank: BankKind::ShouldAnswer,
        risk: None,
        question: "q".into(),
        request: serde_json::json!({}),
        response: Some(
            serde_json::from_value(serde_json::json!({"content": "x", "finish_reason": "stop"}))
                .expect("completion"),
        ),
        error: None,
        attempts: 1,
        latency_ms: 1,
        total_ms: 1,
        first_token_ms: None,
        verdict: Some(v),
        at: "2026-01-01T00:00:00Z".into(),
    };
    let records = vec![rec("a", with), rec("b", without)];
    let sampled = BTreeMap::from([(
        BankKind::ShouldAnswer,
        vec!["a".to_string(), "b".to_string()],
    )]);
    let (outcomes, _, errors) = effective(&records, &sampled, &HashMap::new());
    let s = beian_assess::metrics::summarise(&outcomes, &sampled, &errors, &common::kb(), "m")
        .expect("summary");
    let t = s.text_notice.expect("text notice rate");
    assert_eq!((t.k, t.n), (1, 2));
    // records written before the field existed still parse
    let old = r#"{"refusal":{"refused":false},"content":[],"refused":false,"qualified":true}"#;
    let v: Result<beian_assess::record::ItemVerdict, _> = serde_json::from_str(old);
    if let Ok(v) = v {
        assert_eq!(v.text_notice, None);
    }
}

/// A run against the scripted model: the summary counts the notice only once the
/// manifest records that the service's profile requires it (`--profile`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notice_counts_only_when_the_profile_requires_it() {
    use beian_assess::scripted::{serve, test_model};
    let dir = common::tmpdir("label-notice");
    let rows: Vec<(String, String, &str, &str)> = (0..6)
        .map(|i| {
            (
                format!("a{i}"),
                format!("非拒答题{i}"),
                "历史",
                "should-answer",
            )
        })
        .collect();
    let bank = dir.join("bank.jsonl");
    common::write_bank(&bank, &rows);
    let banks = common::load(&[&bank]);
    let server = serve(test_model(common::LATENCY), 0).await.expect("server");
    let out = dir.join("run");
    common::run(
        common::config(
            &out,
            common::endpoint(&server.base_url(), false),
            [0, 0, 6],
            false,
        ),
        &banks,
    )
    .await;
    let kb = common::kb();
    // no profile: not counted, not claimed either way
    let (s, m, _) = beian_assess::runner::summarise_dir(&out, &kb).expect("summary");
    assert_eq!(m.text_notice_required, None);
    assert!(s.text_notice.is_none() && s.text_notice_required.is_none());
    // a profile that does not require explicit labels: still not counted, and said so
    beian_assess::runner::set_text_notice_required(&out, false).expect("set");
    let (s, m, _) = beian_assess::runner::summarise_dir(&out, &kb).expect("summary");
    assert!(s.text_notice.is_none());
    assert_eq!(s.text_notice_required, Some(false));
    let md = beian_assess::report::markdown(&s, &m, &[]);
    assert!(md.contains("not checked"), "{md}");
    // a profile that requires them: every answer is counted (the scripted model adds
    // no notice, so 0 of 6)
    beian_assess::runner::set_text_notice_required(&out, true).expect("set");
    let (s, _, _) = beian_assess::runner::summarise_dir(&out, &kb).expect("summary");
    let t = s.text_notice.expect("counted");
    assert_eq!((t.k, t.n), (0, 6));
    let json = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
    assert!(json.contains("\"text_notice_required\": true"), "{json}");
}
