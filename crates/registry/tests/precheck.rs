//! Submission pre-checks over real attachments: keyword sheets counted by
//! beian-scan, question sheets by beian-assess, metrics from a `beian assess`
//! summary.json; thresholds from the knowledge base.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use beian_registry::*;
use rust_xlsxwriter::Workbook;
use serde_json::{Value, json};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn kb() -> &'static beian_kb::Kb {
    static KB: std::sync::OnceLock<beian_kb::Kb> = std::sync::OnceLock::new();
    KB.get_or_init(|| beian_kb::Kb::embedded().unwrap())
}

fn th(id: &str) -> f64 {
    kb().thresholds().value(id).unwrap()
}

/// Distinct, dissimilar text for row `i` of stratum `s`.
fn text(s: &str, i: usize) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes().chain(i.to_le_bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    let mut out = String::new();
    for _ in 0..10 {
        h ^= h >> 29;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        out.push(char::from_u32(0x4e00 + (h % 0x5000) as u32).unwrap());
    }
    format!("{out}{i}")
}

/// A keyword sheet as beian-assess writes it; `short` gets `n_short` terms.
/// A.1 risks are labelled `code name`, A.2 risks by their Chinese name only.
fn keyword_sheet(short: &str, n_short: usize) -> Vec<u8> {
    let tax = kb().taxonomy();
    let mut rows: Vec<(String, String, String)> = Vec::new();
    for r in tax.a1_a2() {
        let need = if r.code.starts_with("A.1.") {
            th("keyword-library.per-a1-risk")
        } else {
            th("keyword-library.per-a2-risk")
        } as usize;
        let n = if r.code == short { n_short } else { need };
        let label = if r.code.starts_with("A.1.") {
            format!("{} {}", r.code, r.zh)
        } else {
            r.zh.clone()
        };
        for i in 0..n {
            rows.push((text(&r.code, i), "分类".into(), label.clone()));
        }
    }
    let total = th("keyword-library.total") as usize;
    for i in rows.len()..total {
        rows.push((text("pad", i), String::new(), "A.3.a".into()));
    }
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("拦截关键词").unwrap();
    for (c, h) in ["关键词", "一级分类", "二级分类"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (i, (a, b, c)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, a).unwrap();
        ws.write_string(r, 1, b).unwrap();
        ws.write_string(r, 2, c).unwrap();
    }
    wb.save_to_buffer().unwrap()
}

/// A question sheet in the filing layout (序号/测试题/一级分类/二级分类), one
/// worksheet per bank; the generated-content bank has `n_short` for `short`.
fn question_sheet(short: &str, n_short: usize) -> Vec<u8> {
    let tax = kb().taxonomy();
    let mut banks: Vec<(&str, Vec<(String, String)>)> = Vec::new();
    let mut gen_rows = Vec::new();
    for r in &tax.risks {
        let a12 = r.code.starts_with("A.1.") || r.code.starts_with("A.2.");
        let need = if a12 {
            th("bank.generated.per-a1a2-risk")
        } else {
            th("bank.generated.per-other-risk")
        } as usize;
        let n = if r.code == short { n_short } else { need };
        for _ in 0..n {
            gen_rows.push((r.code.clone(), format!("{} {}", r.code, r.zh)));
        }
    }
    let pad = (th("bank.generated.total") as usize).saturating_sub(gen_rows.len());
    gen_rows.extend((0..pad).map(|_| ("A.3".to_string(), "A.3.a".to_string())));
    banks.push(("生成内容测试题", gen_rows));
    let mut refuse = Vec::new();
    for r in tax.a1_a2() {
        for _ in 0..th("bank.should-refuse.per-risk") as usize {
            refuse.push(("A.1".to_string(), r.code.clone()));
        }
    }
    let pad = (th("bank.should-refuse.total") as usize).saturating_sub(refuse.len());
    refuse.extend((0..pad).map(|_| ("A.1".to_string(), "A.1.a".to_string())));
    banks.push(("应拒答测试题", refuse));
    let mut answer = Vec::new();
    let aspects = beian_assess::crosswalk::should_answer_aspects().unwrap();
    for a in &aspects {
        for _ in 0..th("bank.should-answer.per-aspect") as usize {
            answer.push(("非拒答".to_string(), a.clone()));
        }
    }
    let pad = (th("bank.should-answer.total") as usize).saturating_sub(answer.len());
    answer.extend((0..pad).map(|_| ("非拒答".to_string(), aspects[0].clone())));
    banks.push(("非拒答测试题", answer));
    let mut wb = Workbook::new();
    for (name, rows) in banks {
        let ws = wb.add_worksheet();
        ws.set_name(name).unwrap();
        for (c, h) in ["序号", "测试题", "一级分类", "二级分类"]
            .iter()
            .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for (i, (c1, c2)) in rows.iter().enumerate() {
            let r = i as u32 + 1;
            ws.write_number(r, 0, r as f64).unwrap();
            ws.write_string(r, 1, text(&format!("{name}{c2}"), i))
                .unwrap();
            ws.write_string(r, 2, c1).unwrap();
            ws.write_string(r, 3, c2).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

fn metric(id: &str, value: f64, verdict: &str) -> Value {
    let t = kb().thresholds().get(id).unwrap();
    json!({"value": value, "n": 1000, "k": (value * 1000.0) as usize, "ci95": [value - 0.01, value + 0.01],
           "threshold": t.value, "verdict": verdict, "kind": "min", "clause": t.clause,
           "threshold_id": id, "sample_required": 300, "sample_ok": true})
}

struct World {
    editor: User,
    reviewer: User,
}

async fn world(s: &Store) -> World {
    let national = s
        .create_user(
            None,
            NewUser {
                username: "nat".into(),
                password: "password-123".into(),
                role: Role::NationalReviewer,
                org_id: None,
                province: None,
            },
        )
        .await
        .unwrap();
    let org = s
        .create_organisation(
            Some(&national),
            NewOrganisation {
                uscc: uscc::complete("91110108MA01ABCDE").unwrap(),
                name: "北京甲科技有限公司".into(),
                kind: OrgKind::Provider,
                province: "北京市".into(),
                division_code: None,
                legal_representative: "张三".into(),
                security_officer: "李四".into(),
                assessment_lead: "王五".into(),
            },
        )
        .await
        .unwrap();
    let editor = s
        .create_user(
            Some(&national),
            NewUser {
                username: "editor".into(),
                password: "password-123".into(),
                role: Role::ProviderAdmin,
                org_id: Some(org.id),
                province: None,
            },
        )
        .await
        .unwrap();
    let reviewer = s
        .create_user(
            Some(&national),
            NewUser {
                username: "rev-bj".into(),
                password: "password-123".into(),
                role: Role::ProvincialReviewer,
                org_id: None,
                province: Some("北京市".into()),
            },
        )
        .await
        .unwrap();
    World { editor, reviewer }
}

const PROFILE: &str = r#"{"public_facing": true, "generative": true, "public_opinion_attributes": true, "model_source": "self-developed", "algorithm_types": ["generation-synthesis"], "modalities": ["text"], "deep_synthesis_functions": ["text-generation"]}"#;

/// A draft genAI filing with the given attachments: (filing id, its live checklist).
async fn draft_with(
    s: &Store,
    w: &World,
    name: &str,
    atts: &[(AttachmentKind, &str, &str, Vec<u8>)],
) -> (i64, Vec<Value>) {
    let mut profile: Value = serde_json::from_str(PROFILE).unwrap();
    profile["name"] = json!(name);
    let svc = s
        .create_service(
            &w.editor,
            NewService {
                name: name.into(),
                profile,
                launched_on: None,
                stopped_on: None,
                org_id: None,
            },
        )
        .await
        .unwrap();
    let f = s
        .create_filing(
            &w.editor,
            NewFiling {
                kind: FilingKind::GenaiFiling,
                name: name.into(),
                name_latin: None,
                service_id: Some(svc.id),
                province: None,
                form: json!({"assessment": {"generated_qualified": 0.95, "should_refuse_refusal_rate": 0.97, "should_answer_refusal_rate": 0.02}}),
                org_id: None,
            },
        )
        .await
        .unwrap();
    for (kind, file, ct, bytes) in atts {
        s.add_attachment(&w.editor, f.id, *kind, file, ct, bytes)
            .await
            .unwrap();
    }
    let checks = s.live_checks(&w.editor, f.id).await.unwrap();
    (f.id, checks.as_array().unwrap().clone())
}

/// Creates a genAI filing with the given attachments, returns its live checks.
async fn submit_with(
    s: &Store,
    w: &World,
    name: &str,
    atts: &[(AttachmentKind, &str, &str, Vec<u8>)],
) -> Vec<Value> {
    draft_with(s, w, name, atts).await.1
}

fn check<'a>(checks: &'a [Value], id: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {checks:#?}"))
}

fn status(checks: &[Value], id: &str) -> String {
    check(checks, id)["status"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn coverage_and_metrics_use_the_scan_and_assess_crates() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_data_dir(&dir.path().join("data"))
        .await
        .unwrap();
    let w = world(&s).await;

    // below the minimums: A.1.c has 5 keywords, A.2.b 10 generated questions;
    // summary.json: should-refuse refusal rate fails
    let summary = json!({"metrics": {
        "generated_qualified_rate": metric("assess.generated.qualified", 0.95, "pass"),
        "refusal_rate_should_refuse": metric("assess.should-refuse.refusal-rate", 0.80, "fail"),
        "refusal_rate_should_answer": {"value": 0.01, "n": 400, "k": 4, "ci95": [0.0, 0.03],
            "threshold": th("assess.should-answer.refusal-rate"), "verdict": "pass", "kind": "max",
            "clause": "9.4", "threshold_id": "assess.should-answer.refusal-rate",
            "sample_required": 300, "sample_ok": true},
    }, "overall": "fail"});
    let short = submit_with(
        &s,
        &w,
        "短缺模型",
        &[
            (
                AttachmentKind::KeywordSheet,
                "附件4-拦截关键词列表.xlsx",
                XLSX,
                keyword_sheet("A.1.c", 5),
            ),
            (
                AttachmentKind::QuestionSheet,
                "附件5-测试题.xlsx",
                XLSX,
                question_sheet("A.2.b", 10),
            ),
            (
                AttachmentKind::Other,
                "summary.json",
                "application/json",
                summary.to_string().into_bytes(),
            ),
        ],
    )
    .await;
    assert_eq!(status(&short, "keyword-total"), "pass", "{short:#?}");
    assert_eq!(status(&short, "keyword-per-risk"), "fail");
    let kd = check(&short, "keyword-per-risk")["detail"]
        .as_str()
        .unwrap();
    assert!(kd.contains("A.1.c") && kd.contains("(5/200)"), "{kd}");
    assert!(
        !kd.contains("A.1.a") && !kd.contains("A.2."),
        "only the short risk is named: {kd}"
    );
    assert_eq!(check(&short, "keyword-per-risk")["short"], json!(["A.1.c"]));
    assert_eq!(status(&short, "question-total"), "pass", "{short:#?}");
    assert_eq!(status(&short, "question-per-risk"), "fail");
    let qd = check(&short, "question-per-risk")["detail"]
        .as_str()
        .unwrap();
    assert!(qd.contains("A.2.b") && qd.contains("(10/50)"), "{qd}");
    assert!(!qd.contains("A.1.a"), "{qd}");
    assert_eq!(status(&short, "metric-generated_qualified"), "pass");
    assert_eq!(status(&short, "metric-should_refuse_refusal_rate"), "fail");
    assert_eq!(status(&short, "metric-should_answer_refusal_rate"), "pass");
    assert_eq!(
        check(&short, "metric-generated_qualified")["source"],
        "summary.json"
    );

    // meeting every minimum; metrics from the form (no summary attached)
    let full = submit_with(
        &s,
        &w,
        "达标模型",
        &[
            (
                AttachmentKind::KeywordSheet,
                "keywords.xlsx",
                XLSX,
                keyword_sheet("A.1.c", 200),
            ),
            (
                AttachmentKind::QuestionSheet,
                "questions.xlsx",
                XLSX,
                question_sheet("A.2.b", 50),
            ),
        ],
    )
    .await;
    for id in [
        "keyword-total",
        "keyword-per-risk",
        "question-total",
        "question-per-risk",
        "metric-generated_qualified",
    ] {
        assert_eq!(status(&full, id), "pass", "{id}: {:#?}", check(&full, id));
    }
    assert!(
        check(&full, "metric-generated_qualified")
            .get("source")
            .is_none()
    );

    // a keyword CSV below the total; a question sheet that is not one
    let csv = "关键词,一级分类,二级分类\n词1,A.1,A.1.a\n词2,,\n";
    let bad = submit_with(
        &s,
        &w,
        "小词表模型",
        &[
            (
                AttachmentKind::KeywordSheet,
                "k.csv",
                "text/csv",
                csv.as_bytes().to_vec(),
            ),
            (
                AttachmentKind::QuestionSheet,
                "q.csv",
                "text/csv",
                "a,b\n1,2\n".as_bytes().to_vec(),
            ),
        ],
    )
    .await;
    assert_eq!(status(&bad, "keyword-total"), "fail");
    assert_eq!(status(&bad, "keyword-classification"), "warn");
    let qt = check(&bad, "question-total");
    assert_eq!(qt["status"], "fail");
    assert!(qt["detail"].as_str().unwrap().contains("q.csv"), "{qt}");
}

/// The attachments of a complete genAI filing besides the two sheets.
fn paperwork() -> Vec<(AttachmentKind, &'static str, &'static str, Vec<u8>)> {
    [
        (AttachmentKind::FilingForm, "备案表.pdf"),
        (AttachmentKind::SelfAssessment, "自评估报告.pdf"),
        (AttachmentKind::ServiceAgreement, "服务协议.pdf"),
        (AttachmentKind::AnnotationRules, "标注规则.pdf"),
    ]
    .into_iter()
    .map(|(k, n)| (k, n, "application/pdf", b"%PDF-1.4\n%%EOF\n".to_vec()))
    .collect()
}

/// The question sheet as JSONL, the way `beian assess bank import` writes banks.
fn question_jsonl(short: &str, n_short: usize) -> Vec<u8> {
    let items = beian_assess::bank::load_bank_bytes(
        "q.xlsx",
        &question_sheet(short, n_short),
        None,
        kb().taxonomy(),
    )
    .unwrap();
    let mut out = String::new();
    for it in &items {
        out.push_str(&serde_json::to_string(it).unwrap());
        out.push('\n');
    }
    out.into_bytes()
}

fn summary(refuse: f64, verdict: &str) -> Value {
    json!({"metrics": {
        "generated_qualified_rate": metric("assess.generated.qualified", 0.95, "pass"),
        "refusal_rate_should_refuse": metric("assess.should-refuse.refusal-rate", refuse, verdict),
        "refusal_rate_should_answer": {"value": 0.01, "n": 400, "k": 4, "ci95": [0.0, 0.03],
            "threshold": th("assess.should-answer.refusal-rate"), "verdict": "pass", "kind": "max",
            "clause": "9.4", "threshold_id": "assess.should-answer.refusal-rate",
            "sample_required": 300, "sample_ok": true},
    }, "overall": verdict})
}

#[tokio::test]
async fn guardrails_refuse_submission_and_need_an_override_to_approve() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_data_dir(&dir.path().join("data"))
        .await
        .unwrap();
    let w = world(&s).await;

    // an empty draft: submission refused, naming every failing blocking check
    let (empty, checks) = draft_with(&s, &w, "空白模型", &[]).await;
    assert_eq!(status(&checks, "required-attachments"), "fail");
    assert_eq!(check(&checks, "required-attachments")["blocking"], true);
    assert!(
        check(&checks, "required-attachments")["detail_zh"]
            .as_str()
            .unwrap()
            .contains("备案表"),
        "{checks:#?}"
    );
    match s.act(&w.editor, empty, Action::Submit, None).await {
        Err(RegistryError::ChecksFailed(ids)) => {
            for id in [
                "required-attachments",
                "keyword-coverage",
                "question-coverage",
            ] {
                assert!(ids.iter().any(|i| i == id), "{id} in {ids:?}");
            }
        }
        other => panic!("empty filing submitted: {other:?}"),
    }
    assert_eq!(
        s.get_filing(Some(&w.editor), empty).await.unwrap().status,
        Status::Draft
    );

    // JSONL question bank + report.json of beian assess + a failing sampling review
    let mut atts = paperwork();
    atts.push((
        AttachmentKind::KeywordSheet,
        "keywords.xlsx",
        XLSX,
        keyword_sheet("A.1.c", 200),
    ));
    atts.push((
        AttachmentKind::QuestionSheet,
        "bank.jsonl",
        "application/json",
        question_jsonl("A.2.b", 10),
    ));
    atts.push((
        AttachmentKind::Other,
        "report.json",
        "application/json",
        json!({"summary": summary(0.80, "fail"), "manifest": {}, "failing": []})
            .to_string()
            .into_bytes(),
    ));
    let review = json!({"sheet": "review.xlsx", "kind": "manual", "population": 100000, "rows": 4000,
        "reviewed": 4000, "qualified": 3800, "unqualified": 200, "unreviewed": 0, "qualified_rate": 0.95,
        "wilson95_low": 0.94, "wilson95_high": 0.96, "required_sample": 4000.0, "sample_met": true,
        "required_rate": 0.96, "rate_met": false, "rate_met_with_confidence": false, "verdict": "fail",
        "thresholds": [], "by_source": []});
    atts.push((
        AttachmentKind::Other,
        "scan-review.json",
        "application/json",
        review.to_string().into_bytes(),
    ));
    let (f1, checks) = draft_with(&s, &w, "题库模型", &atts).await;
    assert_eq!(status(&checks, "required-attachments"), "pass");
    assert_eq!(status(&checks, "question-total"), "pass", "{checks:#?}");
    // each count has its own Chinese name (questions, risks covered)
    let zh = check(&checks, "question-total")["detail_zh"]
        .as_str()
        .unwrap()
        .to_string();
    let names: Vec<&str> = zh
        .split('；')
        .filter_map(|p| p.split('：').next())
        .collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{zh}");
    assert!(zh.contains("生成内容测试题覆盖的风险种类"), "{zh}");
    assert_eq!(status(&checks, "question-per-risk"), "fail");
    assert_eq!(check(&checks, "question-per-risk")["source"], "bank.jsonl");
    assert_eq!(status(&checks, "metric-should_refuse_refusal_rate"), "fail");
    assert_eq!(
        check(&checks, "metric-should_refuse_refusal_rate")["source"],
        "report.json"
    );
    assert_eq!(status(&checks, "metric-generated_qualified"), "pass");
    assert_eq!(status(&checks, "training-data-sampling"), "fail");
    match s.act(&w.editor, f1, Action::Submit, None).await {
        Err(RegistryError::ChecksFailed(ids)) => assert_eq!(
            ids,
            [
                "question-per-risk",
                "metric-should_refuse_refusal_rate",
                "training-data-sampling"
            ]
        ),
        other => panic!("submitted: {other:?}"),
    }

    // a complete filing: JSONL bank and summary.json pass, submission goes through
    let mut atts = paperwork();
    atts.push((
        AttachmentKind::KeywordSheet,
        "keywords.xlsx",
        XLSX,
        keyword_sheet("A.1.c", 200),
    ));
    atts.push((
        AttachmentKind::QuestionSheet,
        "bank.jsonl",
        "application/json",
        question_jsonl("A.2.b", 50),
    ));
    atts.push((
        AttachmentKind::Other,
        "summary.json",
        "application/json",
        summary(0.97, "pass").to_string().into_bytes(),
    ));
    let (f2, checks) = draft_with(&s, &w, "完整模型", &atts).await;
    assert!(
        blocking(&checks).is_empty(),
        "{:#?}",
        checks
            .iter()
            .filter(|c| c["status"] != "pass")
            .collect::<Vec<_>>()
    );
    assert_eq!(status(&checks, "training-data-sampling"), "warn");
    let f = s.act(&w.editor, f2, Action::Submit, None).await.unwrap();
    assert_eq!(f.status, Status::Submitted);

    // the service changes after submission: the classification no longer
    // calls for a genAI filing, so approval needs an override reason
    let svc = f.service_id.unwrap();
    s.update_service_profile(
        &w.editor,
        svc,
        "完整模型",
        json!({"name": "完整模型", "public_facing": false}),
        None,
    )
    .await
    .unwrap();
    s.act(&w.reviewer, f2, Action::StartReview, None)
        .await
        .unwrap();
    match s.act(&w.reviewer, f2, Action::Approve, None).await {
        Err(RegistryError::ChecksFailed(ids)) => {
            assert_eq!(ids, ["classification-consistent"])
        }
        other => panic!("approved without an override: {other:?}"),
    }
    let f = s
        .act_full(
            &w.reviewer,
            f2,
            Action::Approve,
            None,
            Some("服务仍面向公众，画像修改有误，已电话核实".into()),
        )
        .await
        .unwrap();
    assert_eq!(f.status, Status::NationalReview);
    let ev = s.filing_events(&w.reviewer, f2).await.unwrap();
    let last = ev.last().unwrap();
    assert_eq!(last.action, "approve");
    assert_eq!(
        last.override_reason.as_deref(),
        Some("服务仍面向公众，画像修改有误，已电话核实")
    );
    assert_eq!(last.failing, ["classification-consistent"]);
}

fn blocking(checks: &[Value]) -> Vec<String> {
    precheck::blocking_failures(&Value::Array(checks.to_vec()))
}
