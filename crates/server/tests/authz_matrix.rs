//! Authorisation matrix: every endpoint × every role, including provider A
//! against provider B's filings and a provincial reviewer against another
//! province. Each cell runs against fresh records in the state the endpoint
//! needs, so one cell's write never changes another's answer.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use beian_registry::Status;
use common::{Ctx, ROLES};
use serde_json::json;

#[derive(Clone, Copy)]
enum Setup {
    None,
    Filing(Status),
    FilingWithAttachment,
}

struct Row {
    name: &'static str,
    method: &'static str,
    /// `{f}` is replaced by the filing id, `{a}` by its attachment id, `{org}` by org A, `{svc}` by A's service, `{n}` by a unique counter.
    uri: &'static str,
    body: Option<&'static str>,
    setup: Setup,
    /// anonymous, editor-a, admin-a, admin-b, rev-bj, rev-sh, national, auditor
    expect: [u16; 8],
}

const ROWS: &[Row] = &[
    Row {
        name: "healthz",
        method: "GET",
        uri: "/healthz",
        body: None,
        setup: Setup::None,
        expect: [200; 8],
    },
    Row {
        name: "metrics",
        method: "GET",
        uri: "/metrics",
        body: None,
        setup: Setup::None,
        expect: [200; 8],
    },
    Row {
        name: "openapi",
        method: "GET",
        uri: "/api/openapi.json",
        body: None,
        setup: Setup::None,
        expect: [200; 8],
    },
    Row {
        name: "register",
        method: "GET",
        uri: "/api/v1/register?q=x",
        body: None,
        setup: Setup::None,
        expect: [200; 8],
    },
    Row {
        name: "register.csv",
        method: "GET",
        uri: "/api/v1/register.csv",
        body: None,
        setup: Setup::None,
        expect: [200; 8],
    },
    Row {
        name: "register.xlsx",
        method: "GET",
        uri: "/api/v1/register.xlsx",
        body: None,
        setup: Setup::None,
        expect: [200; 8],
    },
    Row {
        name: "me",
        method: "GET",
        uri: "/api/v1/me",
        body: None,
        setup: Setup::None,
        expect: [401, 200, 200, 200, 200, 200, 200, 200],
    },
    Row {
        name: "create token",
        method: "POST",
        uri: "/api/v1/tokens",
        body: Some(r#"{"name":"ci"}"#),
        setup: Setup::None,
        expect: [401, 201, 201, 201, 201, 201, 201, 201],
    },
    Row {
        name: "create organisation",
        method: "POST",
        uri: "/api/v1/organisations",
        body: Some(
            r#"{"uscc":"{uscc}","name":"新公司{n}","kind":"provider","province":"广东省","legal_representative":"a","security_officer":"b","assessment_lead":"c"}"#,
        ),
        setup: Setup::None,
        expect: [401, 403, 403, 403, 403, 403, 201, 403],
    },
    Row {
        name: "get organisation A",
        method: "GET",
        uri: "/api/v1/organisations/{org}",
        body: None,
        setup: Setup::None,
        expect: [401, 200, 200, 404, 200, 200, 200, 200],
    },
    Row {
        name: "create user in org A",
        method: "POST",
        uri: "/api/v1/users",
        body: Some(
            r#"{"username":"u{n}","password":"password-123","role":"provider-editor","org_id":{org}}"#,
        ),
        setup: Setup::None,
        expect: [401, 403, 201, 403, 403, 403, 201, 403],
    },
    Row {
        name: "create service",
        method: "POST",
        uri: "/api/v1/services",
        body: Some(r#"{"name":"服务","profile":{}}"#),
        setup: Setup::None,
        expect: [401, 201, 201, 201, 403, 403, 403, 403],
    },
    Row {
        name: "list services",
        method: "GET",
        uri: "/api/v1/services",
        body: None,
        setup: Setup::None,
        expect: [401, 200, 200, 200, 200, 200, 200, 200],
    },
    Row {
        name: "get service A",
        method: "GET",
        uri: "/api/v1/services/{svc}",
        body: None,
        setup: Setup::None,
        // a Shanghai reviewer has no business with a Beijing provider's service
        expect: [401, 200, 200, 404, 200, 404, 200, 200],
    },
    Row {
        name: "patch service A",
        method: "PATCH",
        uri: "/api/v1/services/{svc}",
        body: Some(r#"{"changed_on":"2025-06-03"}"#),
        setup: Setup::None,
        expect: [401, 200, 200, 404, 403, 403, 403, 403],
    },
    Row {
        name: "service A deadlines",
        method: "GET",
        uri: "/api/v1/services/{svc}/deadlines",
        body: None,
        setup: Setup::None,
        expect: [401, 200, 200, 404, 200, 404, 200, 200],
    },
    Row {
        name: "create filing",
        method: "POST",
        uri: "/api/v1/filings",
        body: Some(r#"{"kind":"genai-filing","name":"某模型"}"#),
        setup: Setup::None,
        expect: [401, 201, 201, 201, 403, 403, 403, 403],
    },
    Row {
        name: "list filings",
        method: "GET",
        uri: "/api/v1/filings",
        body: None,
        setup: Setup::None,
        expect: [401, 200, 200, 200, 200, 200, 200, 200],
    },
    Row {
        name: "get draft",
        method: "GET",
        uri: "/api/v1/filings/{f}",
        body: None,
        setup: Setup::Filing(Status::Draft),
        expect: [401, 200, 200, 404, 404, 404, 404, 200],
    },
    Row {
        name: "get submitted",
        method: "GET",
        uri: "/api/v1/filings/{f}",
        body: None,
        setup: Setup::Filing(Status::Submitted),
        expect: [401, 200, 200, 404, 200, 404, 200, 200],
    },
    Row {
        name: "get missing",
        method: "GET",
        uri: "/api/v1/filings/999999",
        body: None,
        setup: Setup::None,
        expect: [401, 404, 404, 404, 404, 404, 404, 404],
    },
    Row {
        name: "patch draft",
        method: "PATCH",
        uri: "/api/v1/filings/{f}",
        body: Some(r#"{"name":"改名模型"}"#),
        setup: Setup::Filing(Status::Draft),
        expect: [401, 200, 200, 404, 404, 404, 404, 403],
    },
    Row {
        name: "checks",
        method: "GET",
        uri: "/api/v1/filings/{f}/checks",
        body: None,
        setup: Setup::Filing(Status::Submitted),
        expect: [401, 200, 200, 404, 200, 404, 200, 200],
    },
    Row {
        name: "submit draft",
        method: "POST",
        uri: "/api/v1/filings/{f}/actions",
        body: Some(r#"{"action":"submit"}"#),
        setup: Setup::Filing(Status::Draft),
        expect: [401, 200, 200, 404, 404, 404, 404, 403],
    },
    Row {
        name: "start review",
        method: "POST",
        uri: "/api/v1/filings/{f}/actions",
        body: Some(r#"{"action":"start-review"}"#),
        setup: Setup::Filing(Status::Submitted),
        expect: [401, 403, 403, 404, 200, 404, 403, 403],
    },
    Row {
        name: "provincial approve",
        method: "POST",
        uri: "/api/v1/filings/{f}/actions",
        body: Some(r#"{"action":"approve"}"#),
        setup: Setup::Filing(Status::ProvincialReview),
        expect: [401, 403, 403, 404, 200, 404, 403, 403],
    },
    Row {
        name: "provincial return",
        method: "POST",
        uri: "/api/v1/filings/{f}/actions",
        body: Some(r#"{"action":"return","comment":"补充"}"#),
        setup: Setup::Filing(Status::ProvincialReview),
        expect: [401, 403, 403, 404, 200, 404, 403, 403],
    },
    Row {
        name: "national approve",
        method: "POST",
        uri: "/api/v1/filings/{f}/actions",
        body: Some(r#"{"action":"approve"}"#),
        setup: Setup::Filing(Status::NationalReview),
        expect: [401, 403, 403, 404, 403, 404, 200, 403],
    },
    Row {
        name: "national reject",
        method: "POST",
        uri: "/api/v1/filings/{f}/actions",
        body: Some(r#"{"action":"reject","comment":"不符合"}"#),
        setup: Setup::Filing(Status::NationalReview),
        expect: [401, 403, 403, 404, 403, 404, 200, 403],
    },
    Row {
        name: "cancel approved",
        method: "POST",
        uri: "/api/v1/filings/{f}/actions",
        body: Some(r#"{"action":"cancel","comment":"服务已停止"}"#),
        setup: Setup::Filing(Status::Approved),
        expect: [401, 403, 200, 404, 403, 404, 200, 403],
    },
    Row {
        name: "change approved",
        method: "POST",
        uri: "/api/v1/filings/{f}/changes",
        body: Some(r#"{"name":"新名模型"}"#),
        setup: Setup::Filing(Status::Approved),
        expect: [401, 201, 201, 404, 403, 404, 403, 403],
    },
    Row {
        name: "upload attachment",
        method: "POST",
        uri: "/api/v1/filings/{f}/attachments?kind=keyword-sheet&filename=k.csv",
        body: None,
        setup: Setup::Filing(Status::Draft),
        expect: [401, 201, 201, 404, 404, 404, 404, 403],
    },
    Row {
        name: "list attachments",
        method: "GET",
        uri: "/api/v1/filings/{f}/attachments",
        body: None,
        setup: Setup::FilingWithAttachment,
        expect: [401, 200, 200, 404, 200, 404, 200, 200],
    },
    Row {
        name: "download attachment",
        method: "GET",
        uri: "/api/v1/filings/{f}/attachments/{a}",
        body: None,
        setup: Setup::FilingWithAttachment,
        expect: [401, 200, 200, 404, 200, 404, 200, 200],
    },
    Row {
        name: "audit log",
        method: "GET",
        uri: "/api/v1/audit",
        body: None,
        setup: Setup::None,
        expect: [401, 403, 403, 403, 403, 403, 200, 200],
    },
    Row {
        name: "audit verify",
        method: "GET",
        uri: "/api/v1/audit/verify",
        body: None,
        setup: Setup::None,
        expect: [401, 403, 403, 403, 403, 403, 200, 200],
    },
    Row {
        name: "logout",
        method: "POST",
        uri: "/api/v1/auth/logout",
        body: None,
        setup: Setup::None,
        expect: [401, 204, 204, 204, 204, 204, 204, 204],
    },
];

async fn run_matrix(ctx: Ctx) {
    let mut n = 0u32;
    let mut failures = Vec::new();
    for row in ROWS {
        for (ri, role) in ROLES.iter().enumerate() {
            n += 1;
            let (fid, aid) = match row.setup {
                Setup::None => (0, 0),
                Setup::Filing(st) => (ctx.filing_in(st).await.id, 0),
                Setup::FilingWithAttachment => {
                    let f = ctx.filing_in(Status::Submitted).await;
                    let a = ctx
                        .store()
                        .list_attachments(ctx.user("editor-a"), f.id)
                        .await
                        .unwrap();
                    (f.id, a[0].id)
                }
            };
            let uscc = beian_registry::uscc::complete(&format!("91440300MA5{:06}", n)).unwrap();
            let fill = |s: &str| {
                s.replace("{f}", &fid.to_string())
                    .replace("{a}", &aid.to_string())
                    .replace("{org}", &ctx.org_a.id.to_string())
                    .replace("{svc}", &ctx.service_a.id.to_string())
                    .replace("{n}", &n.to_string())
                    .replace("{uscc}", &uscc)
            };
            let uri = fill(row.uri);
            let res = if row.name == "upload attachment" {
                let mut b = axum::http::Request::builder()
                    .method("POST")
                    .uri(&uri)
                    .header("content-type", "text/csv");
                if let Some(t) = ctx.tokens.get(role) {
                    b = b.header("authorization", format!("Bearer {t}"));
                }
                ctx.raw(
                    b.body(axum::body::Body::from("关键词,一级分类\n词,A.1\n"))
                        .unwrap(),
                )
                .await
            } else {
                let body = row.body.map(|b| serde_json::from_str(&fill(b)).unwrap());
                ctx.call(role, row.method, &uri, body).await
            };
            if res.status.as_u16() != row.expect[ri] {
                failures.push(format!(
                    "{:<22} as {:<9}: got {}, expected {} ({})",
                    row.name,
                    role,
                    res.status.as_u16(),
                    row.expect[ri],
                    String::from_utf8_lossy(&res.bytes)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // the reviewer of another province and provider B never learned anything: audit still verifies
    let v = ctx
        .call("auditor", "GET", "/api/v1/audit/verify", None)
        .await
        .json();
    assert_eq!(v["ok"], json!(true), "{v}");
}

#[tokio::test]
async fn matrix_sqlite() {
    run_matrix(common::sqlite().await).await;
}

#[tokio::test]
async fn matrix_postgres() {
    if let Some(ctx) = common::postgres("matrix_postgres").await {
        run_matrix(ctx).await;
    }
}
