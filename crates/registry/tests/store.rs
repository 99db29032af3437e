//! The repository test suite, run against SQLite and (when
//! BEIAN_TEST_POSTGRES_URL is set) PostgreSQL: the same assertions on both.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use beian_registry::import::parse_file;
use beian_registry::*;
use serde_json::json;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/registry");

struct World {
    national: User,
    admin_a: User,
    editor_a: User,
    admin_b: User,
    rev_bj: User,
    rev_sh: User,
    auditor: User,
    org_a: Organisation,
}

fn new_org(uscc17: &str, name: &str, prov: &str) -> NewOrganisation {
    NewOrganisation {
        uscc: uscc::complete(uscc17).unwrap(),
        name: name.into(),
        kind: OrgKind::Provider,
        province: prov.into(),
        division_code: None,
        legal_representative: "张三".into(),
        security_officer: "李四".into(),
        assessment_lead: "王五".into(),
    }
}

fn nu(name: &str, role: Role, org: Option<i64>, prov: Option<&str>) -> NewUser {
    NewUser {
        username: name.into(),
        password: "password-123".into(),
        role,
        org_id: org,
        province: prov.map(str::to_string),
    }
}

async fn world(s: &Store) -> World {
    let national = s
        .create_user(None, nu("nat", Role::NationalReviewer, None, None))
        .await
        .unwrap();
    let org_a = s
        .create_organisation(
            Some(&national),
            new_org("91110108MA01ABCDE", "北京甲科技有限公司", "北京市"),
        )
        .await
        .unwrap();
    let org_b = s
        .create_organisation(
            Some(&national),
            new_org("91310000MA1FL0000", "上海乙科技有限公司", "上海"),
        )
        .await
        .unwrap();
    let admin_a = s
        .create_user(
            Some(&national),
            nu("admin-a", Role::ProviderAdmin, Some(org_a.id), None),
        )
        .await
        .unwrap();
    let editor_a = s
        .create_user(
            Some(&admin_a),
            nu("editor-a", Role::ProviderEditor, Some(org_a.id), None),
        )
        .await
        .unwrap();
    let admin_b = s
        .create_user(
            Some(&national),
            nu("admin-b", Role::ProviderAdmin, Some(org_b.id), None),
        )
        .await
        .unwrap();
    let rev_bj = s
        .create_user(
            Some(&national),
            nu("rev-bj", Role::ProvincialReviewer, None, Some("北京")),
        )
        .await
        .unwrap();
    let rev_sh = s
        .create_user(
            Some(&national),
            nu("rev-sh", Role::ProvincialReviewer, None, Some("上海市")),
        )
        .await
        .unwrap();
    let auditor = s
        .create_user(Some(&national), nu("aud", Role::Auditor, None, None))
        .await
        .unwrap();
    World {
        national,
        admin_a,
        editor_a,
        admin_b,
        rev_bj,
        rev_sh,
        auditor,
        org_a,
    }
}

/// Uploads everything a complete filing of `f.kind` needs.
async fn complete(s: &Store, u: &User, f: &Filing) {
    let kb = beian_kb::Kb::embedded().unwrap();
    for (k, n, ct, b) in precheck::fixtures::complete(&kb, f.kind) {
        s.add_attachment(u, f.id, k, &n, &ct, &b).await.unwrap();
    }
}

async fn suite(s: Store) {
    let w = world(&s).await;
    // provider admin A cannot create a user for org B; bad USCC is refused naming the field
    assert!(matches!(
        s.create_user(
            Some(&w.admin_a),
            nu("x", Role::ProviderEditor, Some(999), None)
        )
        .await,
        Err(RegistryError::Forbidden(_))
    ));
    let mut bad = new_org("91110108MA01ABCDE", "x", "北京市");
    bad.uscc.pop();
    bad.uscc.push('Z');
    assert!(
        matches!(s.create_organisation(None, bad).await, Err(RegistryError::Invalid { field, .. }) if field == "uscc")
    );
    assert!(matches!(
        s.create_organisation(None, new_org("91110108MA01ABCDE", "dup", "北京市"))
            .await,
        Err(RegistryError::Conflict(_))
    ));

    // service with a profile; classification attached automatically
    let svc = s.create_service(&w.editor_a, NewService { name: "甲助手".into(), profile: json!({"name": "甲助手", "public_facing": true, "generative": true, "public_opinion_attributes": true, "model_source": "self-developed"}), launched_on: Some("2025-03-07".into()), stopped_on: None, org_id: None }).await.unwrap();
    assert!(svc.classification.get("filings").is_some());
    let dl = s.service_deadlines(&w.editor_a, svc.id).await.unwrap();
    assert_eq!(dl[0].due, "2025-03-21");
    assert!(dl[0].overdue, "no filing submitted: overdue");
    assert_eq!(dl[0].calendar, "prc");
    // a change on 2025-09-26 is due 10 working days later, after the National Day holidays
    s.update_service(
        &w.editor_a,
        svc.id,
        ServicePatch {
            changed_on: Some("2025-09-26".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let dl = s.service_deadlines(&w.editor_a, svc.id).await.unwrap();
    assert_eq!(
        (dl[1].kind.as_str(), dl[1].due.as_str(), dl[1].overdue),
        ("change", "2025-10-16", true)
    );
    assert!(matches!(
        s.update_service(&w.rev_bj, svc.id, ServicePatch::default())
            .await,
        Err(RegistryError::Forbidden(_))
    ));
    assert!(
        matches!(s.update_service(&w.editor_a, svc.id, ServicePatch { stopped_on: Some("2025-02-30".into()), ..Default::default() }).await, Err(RegistryError::Invalid { field, .. }) if field == "stopped_on")
    );

    // the lifecycle of a genAI filing
    let f = s.create_filing(&w.editor_a, NewFiling { kind: FilingKind::GenaiFiling, name: "甲大模型".into(), name_latin: None, service_id: Some(svc.id), province: None, form: json!({"assessment": {"generated_qualified": 0.95, "should_refuse_refusal_rate": 0.97, "should_answer_refusal_rate": 0.02}}), org_id: None }).await.unwrap();
    assert_eq!(f.status, Status::Draft);
    assert_eq!(f.name_latin, "JiaDaMoXing");
    assert_eq!(f.province, "北京市");
    // drafts are invisible to reviewers and other providers (404)
    assert!(matches!(
        s.get_filing(Some(&w.rev_bj), f.id).await,
        Err(RegistryError::NotFound(_))
    ));
    assert!(matches!(
        s.get_filing(Some(&w.admin_b), f.id).await,
        Err(RegistryError::NotFound(_))
    ));
    assert!(matches!(
        s.get_filing(None, f.id).await,
        Err(RegistryError::NotFound(_))
    ));
    assert!(s.get_filing(Some(&w.auditor), f.id).await.is_ok());
    // illegal transitions refused with a clear error
    match s.act(&w.editor_a, f.id, Action::Cancel, None).await {
        Err(RegistryError::Forbidden(m)) => assert!(m.contains("cancel"), "{m}"),
        other => panic!("{other:?}"),
    }
    match s.act(&w.admin_a, f.id, Action::Cancel, None).await {
        Err(RegistryError::Transition(e)) => {
            assert_eq!(e.to_string(), "cannot cancel a filing in state draft")
        }
        other => panic!("{other:?}"),
    }
    // attachments: type checks, content addressing
    let kw = "关键词,一级分类,二级分类\n词1,A.1,A.1.a\n词2,A.1,A.1.b\n";
    let a = s
        .add_attachment(
            &w.editor_a,
            f.id,
            AttachmentKind::KeywordSheet,
            "附件4-拦截关键词列表.csv",
            "text/csv",
            kw.as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(a.sha256.len(), 64);
    assert!(
        matches!(s.add_attachment(&w.editor_a, f.id, AttachmentKind::SelfAssessment, "r.pdf", "application/pdf", b"not a pdf").await, Err(RegistryError::Invalid { field, .. }) if field == "content_type")
    );
    assert!(matches!(
        s.add_attachment(
            &w.admin_b,
            f.id,
            AttachmentKind::Other,
            "x.txt",
            "text/plain",
            b"x"
        )
        .await,
        Err(RegistryError::NotFound(_))
    ));
    s.add_attachment(
        &w.editor_a,
        f.id,
        AttachmentKind::SelfAssessment,
        "report.pdf",
        "application/pdf",
        b"%PDF-1.7 test",
    )
    .await
    .unwrap();

    // an incomplete filing is not submitted: the refusal names the failing checks
    match s.act(&w.editor_a, f.id, Action::Submit, None).await {
        Err(RegistryError::ChecksFailed(ids)) => {
            assert!(ids.contains(&"required-attachments".to_string()), "{ids:?}");
            assert!(ids.contains(&"keyword-total".to_string()), "{ids:?}");
        }
        other => panic!("incomplete filing submitted: {other:?}"),
    }
    let live = s.live_checks(&w.editor_a, f.id).await.unwrap();
    let checks = live.as_array().unwrap();
    let status_of = |id: &str| {
        checks
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap().to_string())
    };
    assert_eq!(
        status_of("classification-attached").as_deref(),
        Some("pass")
    );
    assert_eq!(
        status_of("classification-consistent").as_deref(),
        Some("pass")
    );
    assert_eq!(status_of("required-attachments").as_deref(), Some("fail"));
    assert_eq!(
        status_of("keyword-total").as_deref(),
        Some("fail"),
        "2 keywords < 10000"
    );
    assert_eq!(
        status_of("metric-generated_qualified").as_deref(),
        Some("pass")
    );
    complete(&s, &w.editor_a, &f).await;
    let f = s
        .act(&w.editor_a, f.id, Action::Submit, None)
        .await
        .unwrap();
    assert_eq!(f.status, Status::Submitted);
    assert!(precheck::blocking_failures(&f.checks).is_empty());
    // other province's reviewer: not found; own province: ok
    assert!(matches!(
        s.act(&w.rev_sh, f.id, Action::StartReview, None).await,
        Err(RegistryError::NotFound(_))
    ));
    assert!(matches!(
        s.act(&w.editor_a, f.id, Action::StartReview, None).await,
        Err(RegistryError::Forbidden(_))
    ));
    let f = s
        .act(&w.rev_bj, f.id, Action::StartReview, None)
        .await
        .unwrap();
    assert!(
        matches!(s.act(&w.rev_bj, f.id, Action::Return, None).await, Err(RegistryError::Invalid { field, .. }) if field == "comment")
    );
    let f = s
        .act(&w.rev_bj, f.id, Action::Return, Some("补充附件".into()))
        .await
        .unwrap();
    assert_eq!(f.status, Status::Returned);
    let f = s
        .act(&w.editor_a, f.id, Action::Submit, None)
        .await
        .unwrap();
    let f = s
        .act(&w.rev_bj, f.id, Action::StartReview, None)
        .await
        .unwrap();
    let f = s.act(&w.rev_bj, f.id, Action::Approve, None).await.unwrap();
    assert_eq!(f.status, Status::NationalReview);
    assert!(matches!(
        s.act(&w.rev_bj, f.id, Action::Approve, None).await,
        Err(RegistryError::Forbidden(_))
    ));
    let f = s
        .act(&w.national, f.id, Action::Approve, None)
        .await
        .unwrap();
    assert_eq!(f.status, Status::Approved);
    let number = f.number.clone().unwrap();
    let parsed = number::parse(&number).unwrap();
    assert_eq!(parsed.kind, FilingKind::GenaiFiling);
    assert!(parsed.irregular.is_none(), "{number}");
    assert!(number.starts_with("Beijing-JiaDaMoXing-"), "{number}");
    let page = s
        .register_search(&RegisterQuery {
            q: Some("甲大模型".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].filing_number, number);
    assert_eq!(page.items[0].provider, "北京甲科技有限公司");

    // registration: provincial review only; algorithm: national number format
    let reg_svc = s
        .create_service(
            &w.admin_a,
            NewService {
                name: "甲应用".into(),
                profile: json!({"name": "甲应用", "public_facing": true, "generative": true,
                    "public_opinion_attributes": true, "model_source": "filed-model-api",
                    "algorithm_types": ["generation-synthesis"], "modalities": ["text"],
                    "deep_synthesis_functions": ["text-generation"]}),
                launched_on: None,
                stopped_on: None,
                org_id: None,
            },
        )
        .await
        .unwrap();
    let alg_svc = s
        .create_service(
            &w.admin_a,
            NewService {
                name: "甲推荐".into(),
                profile: json!({"name": "甲推荐", "public_facing": true, "generative": false,
                    "public_opinion_attributes": true, "model_source": "self-developed",
                    "algorithm_types": ["personalized-push", "sorting-selection"]}),
                launched_on: None,
                stopped_on: None,
                org_id: None,
            },
        )
        .await
        .unwrap();
    let r = s
        .create_filing(
            &w.admin_a,
            NewFiling {
                kind: FilingKind::GenaiRegistration,
                name: "甲应用".into(),
                name_latin: None,
                service_id: Some(reg_svc.id),
                province: None,
                form: json!({}),
                org_id: None,
            },
        )
        .await
        .unwrap();
    complete(&s, &w.admin_a, &r).await;
    for (u, a) in [
        (&w.admin_a, Action::Submit),
        (&w.rev_bj, Action::StartReview),
        (&w.rev_bj, Action::Approve),
    ] {
        s.act(u, r.id, a, None).await.unwrap();
    }
    let r = s.get_filing(Some(&w.admin_a), r.id).await.unwrap();
    assert_eq!(r.status, Status::Approved);
    assert!(
        r.number.as_deref().unwrap().contains("S0001"),
        "{:?}",
        r.number
    );
    let al = s
        .create_filing(
            &w.admin_a,
            NewFiling {
                kind: FilingKind::Algorithm,
                name: "甲推荐算法".into(),
                name_latin: None,
                service_id: Some(alg_svc.id),
                province: None,
                form: json!({}),
                org_id: None,
            },
        )
        .await
        .unwrap();
    complete(&s, &w.admin_a, &al).await;
    for (u, a) in [
        (&w.admin_a, Action::Submit),
        (&w.rev_bj, Action::StartReview),
        (&w.rev_bj, Action::Approve),
        (&w.national, Action::Approve),
    ] {
        s.act(u, al.id, a, None).await.unwrap();
    }
    let al = s.get_filing(Some(&w.national), al.id).await.unwrap();
    let an = al.number.unwrap();
    assert!(
        an.starts_with("网信算备110000") && an.ends_with('号') && an.chars().count() == 26,
        "{an}"
    );

    // change filing
    let ch = s
        .create_change(
            &w.editor_a,
            f.id,
            FilingPatch {
                name: Some("甲大模型2".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ch.purpose, Purpose::Change);
    assert!(
        matches!(
            s.create_change(&w.editor_a, f.id, FilingPatch::default())
                .await,
            Err(RegistryError::Conflict(_))
        ),
        "one open change at a time"
    );
    s.act(&w.editor_a, ch.id, Action::Submit, None)
        .await
        .unwrap();
    assert_eq!(
        s.get_filing(Some(&w.editor_a), f.id).await.unwrap().status,
        Status::ChangeSubmitted
    );
    assert!(
        s.act(&w.admin_a, f.id, Action::Cancel, None).await.is_err(),
        "no cancel while a change is pending"
    );
    s.act(&w.rev_bj, ch.id, Action::StartReview, None)
        .await
        .unwrap();
    s.act(&w.rev_bj, ch.id, Action::Approve, None)
        .await
        .unwrap();
    s.act(&w.national, ch.id, Action::Approve, None)
        .await
        .unwrap();
    let f2 = s.get_filing(Some(&w.editor_a), f.id).await.unwrap();
    assert_eq!(
        (f2.status, f2.name.as_str(), f2.number.as_deref()),
        (Status::Approved, "甲大模型2", Some(number.as_str()))
    );
    // cancellation needs a reason; it leaves the active register (still listed
    // as cancelled); its number is never reused
    assert!(
        matches!(s.act(&w.admin_a, f.id, Action::Cancel, None).await, Err(RegistryError::Invalid { field, .. }) if field == "comment")
    );
    s.act(&w.admin_a, f.id, Action::Cancel, Some("服务已下线".into()))
        .await
        .unwrap();
    let gone = s
        .register_search(&RegisterQuery {
            q: Some("甲大模型".into()),
            status: Some("cancelled".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(gone.total, 1);
    assert_eq!(gone.items[0].status, "cancelled");
    assert!(gone.items[0].cancelled_on.is_some(), "{:?}", gone.items[0]);
    let page = s
        .register_search(&RegisterQuery {
            q: Some("甲大模型".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 0);
    let f3 = s
        .create_filing(
            &w.editor_a,
            NewFiling {
                kind: FilingKind::GenaiFiling,
                name: "甲大模型".into(),
                name_latin: None,
                service_id: Some(svc.id),
                province: None,
                form: json!({}),
                org_id: None,
            },
        )
        .await
        .unwrap();
    complete(&s, &w.editor_a, &f3).await;
    for (u, a) in [
        (&w.editor_a, Action::Submit),
        (&w.rev_bj, Action::StartReview),
        (&w.rev_bj, Action::Approve),
        (&w.national, Action::Approve),
    ] {
        s.act(u, f3.id, a, None).await.unwrap();
    }
    let n3 = s
        .get_filing(Some(&w.editor_a), f3.id)
        .await
        .unwrap()
        .number
        .unwrap();
    assert_ne!(n3, number);

    // lists
    assert_eq!(s.list_filings(&w.admin_b, None).await.unwrap().len(), 0);
    assert!(s.list_filings(&w.rev_sh, None).await.unwrap().is_empty());
    assert!(!s.list_filings(&w.rev_bj, None).await.unwrap().is_empty());

    // import of the real lists; idempotent
    let files = [
        "genai-2025-03.csv",
        "genai-2025-10.csv",
        "deep-synthesis-2023-06.csv",
    ];
    let mut first = 0;
    for f in files {
        let p = parse_file(std::path::Path::new(&format!("{DATA}/{f}"))).unwrap();
        let sum = s.import(&p, "test").await.unwrap();
        assert!(sum.inserted > 30, "{f}: {sum:?}");
        first += sum.inserted;
    }
    let audit_before = s.count("audit_log").await.unwrap();
    let reg_before = s.count("register").await.unwrap();
    for f in files {
        let p = parse_file(std::path::Path::new(&format!("{DATA}/{f}"))).unwrap();
        let sum = s.import(&p, "test").await.unwrap();
        assert_eq!(
            (sum.inserted, sum.conflicts),
            (0, 0),
            "{f}: re-import changes nothing"
        );
    }
    assert_eq!(s.count("register").await.unwrap(), reg_before);
    assert_eq!(s.count("audit_log").await.unwrap(), audit_before);
    assert!(first > 200);
    let page = s
        .register_search(&RegisterQuery {
            kind: Some("algorithm-filing".into()),
            province: Some("北京".into()),
            page: Some(1),
            q: None,
            status: None,
        })
        .await
        .unwrap();
    assert!(
        page.total > 10
            && page
                .items
                .iter()
                .all(|i| i.kind == "algorithm-filing" && i.province == "北京市")
    );
    let page = s
        .register_search(&RegisterQuery {
            q: Some("商汤AI代码生成模型".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.items[0].provider, "深圳市商汤科技有限公司",
        "swapped columns corrected"
    );
    assert!(
        matches!(s.register_search(&RegisterQuery { kind: Some("nope".into()), ..Default::default() }).await, Err(RegistryError::Invalid { field, .. }) if field == "kind")
    );

    // audit chain: verifies, and detects edits and deletions
    assert!(s.audit_entries(Some(&w.admin_a), 0, 10).await.is_err());
    let n = s.audit_verify().await.unwrap().unwrap();
    assert!(n > 20);
    assert!(
        s.raw_execute("UPDATE audit_log SET actor = 'x' WHERE seq = 3")
            .await
            .is_err(),
        "append-only trigger"
    );
    let drop = match s.backend() {
        Backend::Sqlite => "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;",
        Backend::Postgres => "DROP TRIGGER audit_log_no_change ON audit_log;",
    };
    s.raw_execute(drop).await.unwrap();
    s.raw_execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
        .await
        .unwrap();
    let e = s.audit_verify().await.unwrap().unwrap_err();
    assert_eq!(e, audit::ChainError::Content { seq: 3 });
    let _ = w.org_a;
}

#[tokio::test]
async fn sqlite_suite() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_data_dir(&dir.path().join("data"))
        .await
        .unwrap();
    assert_eq!(s.journal_mode().await.unwrap(), "wal");
    suite(s).await;
}

#[tokio::test]
async fn postgres_suite() {
    let Some(base) = beian_registry::testing::postgres_url("postgres_suite") else {
        return;
    };
    let url = beian_registry::testing::fresh_postgres_db(&base)
        .await
        .unwrap();
    let s = Store::open(&url).await.unwrap();
    assert_eq!(s.backend(), Backend::Postgres);
    suite(s).await;
}

#[tokio::test]
async fn deleted_audit_entry_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_data_dir(dir.path()).await.unwrap();
    let w = world(&s).await;
    let _ = w.national;
    s.raw_execute("DROP TRIGGER audit_log_no_delete")
        .await
        .unwrap();
    s.raw_execute("DELETE FROM audit_log WHERE seq = 2")
        .await
        .unwrap();
    assert_eq!(
        s.audit_verify().await.unwrap().unwrap_err(),
        audit::ChainError::Gap {
            seq: 3,
            expected: 2
        }
    );
    let s2 = Store::open_data_dir(dir.path()).await.unwrap();
    s2.raw_execute("DELETE FROM audit_log WHERE seq > 1")
        .await
        .unwrap();
    assert!(
        matches!(
            s2.audit_verify().await.unwrap(),
            Err(audit::ChainError::Head { .. })
        ),
        "tail deletion caught by the head record"
    );
}

#[test]
fn every_published_file_imports_without_crashing() {
    let mut records = 0;
    let mut skipped = 0;
    for e in std::fs::read_dir(DATA).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "csv") {
            let parsed = parse_file(&p).unwrap();
            records += parsed.records.len();
            skipped += parsed
                .anomalies
                .iter()
                .filter(|a| a.severity == import::Severity::Skipped)
                .count();
        }
    }
    // 1,846 genAI rows - 4 repeated headers - 1 truncated number; 3,833 algorithm rows
    assert_eq!(records, 1842 - 1 + 3833);
    assert_eq!(skipped, 1);
}

#[tokio::test]
async fn register_index_agrees_with_a_plain_scan() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_data_dir(dir.path()).await.unwrap();
    let mut recs = Vec::new();
    for f in ["genai-2024-04.csv", "deep-synthesis-2024-02.csv"] {
        let p = parse_file(std::path::Path::new(&format!("{DATA}/{f}"))).unwrap();
        s.import(&p, "test").await.unwrap();
        recs.extend(p.records.into_iter().filter(|r| !r.cancelled));
    }
    for q in [
        "文",
        "文心",
        "文心一言",
        "beijing",
        "BEIJING-wen",
        "有限公司",
        "zzzz",
        "网信算备11",
        "算法",
        "a",
        "有限公",
        "公司",
        "",
    ] {
        let ql = q.to_lowercase();
        let expected = recs
            .iter()
            .filter(|r| {
                format!("{}\u{1}{}\u{1}{}", r.name, r.provider, r.filing_number)
                    .to_lowercase()
                    .contains(&ql)
            })
            .count();
        let page = s
            .register_search(&RegisterQuery {
                q: Some(q.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(page.total as usize, expected, "query {q:?}");
        let again = s
            .register_search_json(&RegisterQuery {
                q: Some(q.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&again.json).unwrap()["total"],
            expected
        );
        // With filters (dense and sparse posting lists meet), and page 2:
        // the JSON answer and the page value list the same entries.
        for (kind, province) in [
            (Some("algorithm-filing"), None),
            (None, Some("北京")),
            (Some("genai-filing"), Some("广东")),
        ] {
            let expected = recs
                .iter()
                .filter(|r| {
                    format!("{}\u{1}{}\u{1}{}", r.name, r.provider, r.filing_number)
                        .to_lowercase()
                        .contains(&ql)
                        && kind.is_none_or(|k| r.kind.as_str() == k)
                        && province.is_none_or(|p| {
                            let canonical = beian_registry::province::canonical;
                            canonical(&r.province).is_some()
                                && canonical(&r.province) == canonical(p)
                        })
                })
                .count();
            for page in [1, 2] {
                let query = RegisterQuery {
                    q: Some(q.into()),
                    kind: kind.map(Into::into),
                    province: province.map(Into::into),
                    page: Some(page),
                    status: None,
                };
                let p = s.register_search(&query).await.unwrap();
                assert_eq!(p.total as usize, expected, "{q:?} {kind:?} {province:?}");
                assert_eq!(
                    p.items.len(),
                    expected.saturating_sub((page as usize - 1) * 50).min(50)
                );
                let j = s.register_search_json(&query).await.unwrap();
                let v: serde_json::Value = serde_json::from_str(&j.json).unwrap();
                assert_eq!(v["items"], serde_json::to_value(&p.items).unwrap());
            }
        }
    }
}

#[tokio::test]
async fn xlsx_lists_import_like_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("广东省生成式人工智能服务已备案信息.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let rows = [
        [
            "序号",
            "属地",
            "大模型名称",
            "备案单位",
            "备案编号",
            "备案时间",
        ],
        [
            "1",
            "广东省",
            "灵聚灵脑大模型",
            "广州灵聚信息科技有限公司",
            "Guangdong-LingJuLingNaoDaMoXing-202503050023",
            "2025/3/28",
        ],
        ["", "", "", "", "", ""],
        [
            "序号",
            "属地",
            "应用/功能名称",
            "登记单位",
            "上线编号",
            "登记时间",
        ],
        [
            "2",
            "广东省",
            "某应用",
            "某科技有限公司",
            "Guangdong-MouYingYong-20250301S0001",
            "2025/4/1（补登）",
        ],
        [
            "3",
            "广东省",
            "坏编号",
            "某科技有限公司",
            "Guangdong-HuaiBianHao-",
            "2025/4/1",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    // a real date cell, as Excel stores it
    let d = rust_xlsxwriter::ExcelDateTime::from_ymd(2025, 5, 6).unwrap();
    ws.write_string(6, 0, "4").unwrap();
    ws.write_string(6, 1, "广东省").unwrap();
    ws.write_string(6, 2, "日期应用").unwrap();
    ws.write_string(6, 3, "日期科技有限公司").unwrap();
    ws.write_string(6, 4, "Guangdong-RiQi-20250501S0002")
        .unwrap();
    let fmt = rust_xlsxwriter::Format::new().set_num_format("yyyy/m/d");
    ws.write_datetime_with_format(6, 5, &d, &fmt).unwrap();
    // an Excel serial number without a date format (seen when cells lose their style)
    for (c, v) in [
        "5",
        "广东省",
        "序号应用",
        "序号科技有限公司",
        "Guangdong-XuHao-20250501S0003",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(7, c as u16, *v).unwrap();
    }
    ws.write_number(7, 5, 45783.0).unwrap();
    wb.save(&path).unwrap();
    let p = parse_file(&path).unwrap();
    assert_eq!(p.records.len(), 4, "{:?}", p.anomalies);
    assert_eq!(p.records[1].kind, FilingKind::GenaiRegistration);
    assert_eq!(p.records[1].date, "2025-04-01");
    assert_eq!(p.records[2].date, "2025-05-06");
    assert_eq!(p.records[3].date, "2025-05-06");
    let rows_of: Vec<(usize, import::Severity)> =
        p.anomalies.iter().map(|a| (a.row, a.severity)).collect();
    assert_eq!(
        rows_of,
        vec![
            (4, import::Severity::Note),
            (5, import::Severity::Corrected),
            (6, import::Severity::Skipped),
            (8, import::Severity::Corrected)
        ]
    );
    let s = Store::open_data_dir(dir.path()).await.unwrap();
    assert_eq!(s.import(&p, "t").await.unwrap().inserted, 4);
    assert_eq!(s.import(&p, "t").await.unwrap().inserted, 0);
    // not a workbook at all: a clear error, no panic
    let bad = dir.path().join("bad.xlsx");
    std::fs::write(&bad, b"not a zip").unwrap();
    assert!(matches!(
        parse_file(&bad),
        Err(import::ImportError::Xlsx { .. })
    ));
}

/// Two stores on one database stand for two server processes: what one
/// imports, the other's register shows within `register::CHECK`.
#[tokio::test]
async fn register_sees_writes_of_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let a = Store::open_data_dir(dir.path()).await.unwrap();
    let b = Store::open_data_dir(dir.path()).await.unwrap();
    let all = RegisterQuery::default();
    assert_eq!(b.register_search(&all).await.unwrap().total, 0);
    let p = parse_file(std::path::Path::new(&format!("{DATA}/genai-2024-04.csv"))).unwrap();
    let imported = a.import(&p, "test").await.unwrap();
    assert!(imported.inserted > 0);
    // `a` wrote: it sees the entries at once.
    assert_eq!(
        a.register_search(&all).await.unwrap().total as usize,
        imported.inserted
    );
    tokio::time::sleep(beian_registry::register::CHECK + std::time::Duration::from_millis(100))
        .await;
    assert_eq!(
        b.register_search(&all).await.unwrap().total as usize,
        imported.inserted
    );
}
