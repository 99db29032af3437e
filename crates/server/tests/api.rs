//! API behaviour through the real router (`oneshot`) and over loopback TCP.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use beian_registry::Status;
use serde_json::{Value, json};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/registry");

async fn lifecycle(ctx: common::Ctx) {
    // create via the API, drive through the state machine, find it in the public register
    // an application calling a filed model: a genAI registration
    let r = ctx.call("editor-a", "POST", "/api/v1/services", Some(json!({"name": "甲写作助手", "profile": {"public_facing": true, "generative": true, "public_opinion_attributes": true, "model_source": "filed-model-api", "algorithm_types": ["generation-synthesis"], "modalities": ["text"], "deep_synthesis_functions": ["text-generation"]}}))).await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.bytes)
    );
    let reg_service = r.json()["id"].as_i64().unwrap();
    let r = ctx.call("editor-a", "POST", "/api/v1/filings", Some(json!({"kind": "genai-registration", "name": "甲写作助手", "service_id": reg_service}))).await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.bytes)
    );
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(r.json()["status"], "draft");
    let act = |who: &'static str, action: &'static str| {
        let uri = format!("/api/v1/filings/{id}/actions");
        let ctx = &ctx;
        async move {
            ctx.call(who, "POST", &uri, Some(json!({"action": action})))
                .await
        }
    };
    let r = act("rev-bj", "approve").await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "draft invisible to reviewers"
    );
    let r = act("editor-a", "approve").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // incomplete: 409 naming the failing pre-checks
    let r = act("editor-a", "submit").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let failing = r.json()["failing_checks"].clone();
    assert!(
        failing
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == "required-attachments"),
        "{failing}"
    );
    let kb = beian_kb::Kb::embedded().unwrap();
    for (kind, name, ct, bytes) in beian_registry::precheck::fixtures::complete(
        &kb,
        beian_registry::FilingKind::GenaiRegistration,
    ) {
        ctx.store()
            .add_attachment(ctx.user("editor-a"), id, kind, &name, &ct, &bytes)
            .await
            .unwrap();
    }
    assert_eq!(act("editor-a", "submit").await.status, StatusCode::OK);
    let r = act("editor-a", "submit").await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "{}",
        String::from_utf8_lossy(&r.bytes)
    );
    let r = act("rev-bj", "approve").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "illegal transition");
    assert_eq!(
        r.json()["error"],
        "cannot approve a filing in state submitted"
    );
    assert_eq!(act("rev-bj", "start-review").await.status, StatusCode::OK);
    let r = act("rev-bj", "approve").await;
    assert_eq!(r.status, StatusCode::OK);
    let number = r.json()["number"].as_str().unwrap().to_string();
    assert!(
        number.starts_with("Beijing-JiaXieZuoZhuShou-") && number.contains('S'),
        "{number}"
    );
    let checks = ctx
        .call(
            "rev-bj",
            "GET",
            &format!("/api/v1/filings/{id}/checks"),
            None,
        )
        .await
        .json();
    assert!(
        checks
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "required-attachments" && c["status"] == "pass"),
        "{checks}"
    );
    assert!(beian_registry::precheck::blocking_failures(&checks).is_empty());

    // the register contract, exactly
    let r = ctx.call("anonymous", "GET", "/api/v1/register?q=%E7%94%B2%E5%86%99%E4%BD%9C&kind=genai-registration&province=%E5%8C%97%E4%BA%AC&page=1", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["items", "total"]);
    assert_eq!(v["total"], 1);
    let item = &v["items"][0];
    let mut ik: Vec<&String> = item.as_object().unwrap().keys().collect();
    ik.sort();
    assert_eq!(
        ik,
        [
            "date",
            "filing_number",
            "kind",
            "name",
            "product",
            "provider",
            "province",
            "purpose",
            "remark",
            "role",
            "status"
        ]
    );
    assert_eq!(item["filing_number"], number.as_str());
    assert_eq!(item["provider"], "北京甲科技有限公司");
    assert_eq!(item["kind"], "genai-registration");
    assert_eq!(item["province"], "北京市");

    // exports of the same query
    let csv = ctx
        .call(
            "anonymous",
            "GET",
            "/api/v1/register.csv?q=%E7%94%B2%E5%86%99%E4%BD%9C",
            None,
        )
        .await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let text = String::from_utf8(csv.bytes).unwrap();
    assert!(text.starts_with("\u{feff}name,provider,filing_number,kind,province,date\n"));
    assert!(text.contains(&number));
    let x = ctx
        .call(
            "anonymous",
            "GET",
            "/api/v1/register.xlsx?q=%E7%94%B2%E5%86%99%E4%BD%9C",
            None,
        )
        .await;
    assert_eq!(x.status, StatusCode::OK);
    assert!(x.bytes.starts_with(b"PK\x03\x04"));
    {
        use calamine::{Reader, Xlsx};
        let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(x.bytes.clone())).unwrap();
        let range = wb.worksheet_range("register").unwrap();
        assert_eq!(range.get_size().0, 2);
        assert_eq!(range.get((1, 2)).unwrap().to_string(), number);
    }
    // bad query parameters name the field
    let r = ctx
        .call("anonymous", "GET", "/api/v1/register?kind=bogus", None)
        .await;
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("kind"))
    );
    let r = ctx
        .call("anonymous", "GET", "/api/v1/register?page=abc", None)
        .await;
    assert_eq!(
        (r.status, r.json()["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("page"))
    );
    let r = ctx
        .call(
            "anonymous",
            "GET",
            "/api/v1/register?province=Atlantis",
            None,
        )
        .await;
    assert_eq!(r.json()["field"], "province");
}

#[tokio::test]
async fn lifecycle_sqlite() {
    lifecycle(common::sqlite().await).await;
}

#[tokio::test]
async fn lifecycle_postgres() {
    if let Some(ctx) = common::postgres("lifecycle_postgres").await {
        lifecycle(ctx).await;
    }
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let ctx = common::sqlite().await;
    let before = ctx.store().count("filings").await.unwrap();
    let audit_before = ctx.store().count("audit_log").await.unwrap();
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "/api/v1/filings",
            json!({"kind": "genai-filing"}),
            422,
            "name",
        ),
        (
            "/api/v1/filings",
            json!({"kind": "nope", "name": "x"}),
            422,
            "kind",
        ),
        (
            "/api/v1/filings",
            json!({"kind": "genai-filing", "name": 5}),
            422,
            "name",
        ),
        (
            "/api/v1/filings",
            json!({"kind": "genai-filing", "name": "x", "extra": 1}),
            422,
            "extra",
        ),
        (
            "/api/v1/filings",
            json!({"kind": "genai-filing", "name": "  "}),
            422,
            "name",
        ),
        (
            "/api/v1/filings",
            json!({"kind": "genai-filing", "name": "x", "province": "Atlantis"}),
            422,
            "province",
        ),
        (
            "/api/v1/filings",
            json!({"kind": "genai-filing", "name": "x", "form": [1]}),
            422,
            "form",
        ),
        (
            "/api/v1/filings",
            json!({"kind": "genai-filing", "name": "x", "service_id": 424242}),
            422,
            "service_id",
        ),
        (
            "/api/v1/filings",
            json!({"kind": "genai-filing", "name": "x", "name_latin": "含中文"}),
            422,
            "name_latin",
        ),
        (
            "/api/v1/services",
            json!({"name": "s", "launched_on": "2025-13-01"}),
            422,
            "launched_on",
        ),
        (
            "/api/v1/services",
            json!({"name": "s", "profile": {"generative": "yes"}}),
            422,
            "profile.generative",
        ),
    ];
    for (uri, body, status, field) in cases {
        let r = ctx.call("editor-a", "POST", uri, Some(body.clone())).await;
        assert_eq!(
            r.status.as_u16(),
            status,
            "{body}: {}",
            String::from_utf8_lossy(&r.bytes)
        );
        assert_eq!(
            r.json()["field"],
            field,
            "{body}: {}",
            String::from_utf8_lossy(&r.bytes)
        );
        assert!(
            r.json()["error"].as_str().unwrap().contains(field),
            "message names the field: {}",
            r.json()
        );
    }
    let r = ctx.call("national", "POST", "/api/v1/organisations", Some(json!({"uscc": "91110108MA01ABCDEX", "name": "n", "kind": "provider", "province": "北京", "legal_representative": "a", "security_officer": "b", "assessment_lead": "c"}))).await;
    assert_eq!(
        (r.status.as_u16(), r.json()["field"].clone()),
        (422, json!("uscc")),
        "{}",
        r.json()
    );
    // malformed JSON, wrong media type, oversized body
    let t = ctx.tokens["editor-a"].clone();
    let req = |ct: &str, body: Body| {
        Request::builder()
            .method("POST")
            .uri("/api/v1/filings")
            .header("authorization", format!("Bearer {t}"))
            .header("content-type", ct)
            .body(body)
            .unwrap()
    };
    let r = ctx
        .raw(req("application/json", Body::from("{\"kind\": ")))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["field"].clone()),
        (400, json!("body"))
    );
    let r = ctx.raw(req("text/plain", Body::from("{}"))).await;
    assert_eq!(r.status.as_u16(), 415);
    let big = format!(
        "{{\"kind\":\"genai-filing\",\"name\":\"{}\"}}",
        "x".repeat(300 * 1024)
    );
    let r = ctx.raw(req("application/json", Body::from(big))).await;
    assert_eq!(r.status.as_u16(), 413);
    // attachments: wrong type, wrong magic, unknown kind
    let f = ctx.filing_in(Status::Draft).await;
    let up = |q: &str, ct: &str, body: &'static [u8]| {
        Request::builder()
            .method("POST")
            .uri(format!("/api/v1/filings/{}/attachments?{q}", f.id))
            .header("authorization", format!("Bearer {t}"))
            .header("content-type", ct)
            .body(Body::from(body))
            .unwrap()
    };
    let r = ctx
        .raw(up(
            "kind=self-assessment-report&filename=a.exe",
            "application/x-msdownload",
            b"MZ",
        ))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["field"].clone()),
        (422, json!("content_type"))
    );
    let r = ctx
        .raw(up(
            "kind=self-assessment-report&filename=a.pdf",
            "application/pdf",
            b"PK\x03\x04",
        ))
        .await;
    assert_eq!(r.status.as_u16(), 422);
    let r = ctx
        .raw(up(
            "kind=secret&filename=a.pdf",
            "application/pdf",
            b"%PDF-",
        ))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["field"].clone()),
        (422, json!("kind"))
    );
    // nothing half-written: only the fixture's own filing and its writes
    assert_eq!(ctx.store().count("filings").await.unwrap(), before + 1);
    let audit_now = ctx.store().count("audit_log").await.unwrap();
    assert_eq!(
        audit_now,
        audit_before
            + 2
            + beian_registry::AttachmentKind::required_for(beian_registry::FilingKind::GenaiFiling)
                .len() as i64
            + 1,
        "filing.create, the attachment.add of a complete package and the auditor's filing.read of the fixture only"
    );
}

#[tokio::test]
async fn sessions_csrf_and_login_rate_limit() {
    let ctx = common::sqlite().await;
    let login = |u: &str, p: &str| {
        Request::builder()
            .method("POST")
            .uri("/api/v1/auth/login")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"username": u, "password": p}).to_string(),
            ))
            .unwrap()
    };
    let r = ctx.raw(login("editor-a", "password-123")).await;
    assert_eq!(r.status, StatusCode::OK);
    let cookie = r.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let csrf = r.json()["csrf_token"].as_str().unwrap().to_string();
    let with_cookie = |m: &str, uri: &str, csrf: Option<&str>, body: Option<Value>| {
        let mut b = Request::builder()
            .method(m)
            .uri(uri)
            .header("cookie", &session);
        if let Some(c) = csrf {
            b = b.header("x-csrf-token", c);
        }
        match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        }
    };
    assert_eq!(
        ctx.raw(with_cookie("GET", "/api/v1/me", None, None))
            .await
            .json()["username"],
        "editor-a"
    );
    let body = json!({"kind": "genai-filing", "name": "会话模型"});
    assert_eq!(
        ctx.raw(with_cookie(
            "POST",
            "/api/v1/filings",
            None,
            Some(body.clone())
        ))
        .await
        .status,
        StatusCode::FORBIDDEN,
        "no CSRF header"
    );
    assert_eq!(
        ctx.raw(with_cookie(
            "POST",
            "/api/v1/filings",
            Some("wrong"),
            Some(body.clone())
        ))
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ctx.raw(with_cookie(
            "POST",
            "/api/v1/filings",
            Some(&csrf),
            Some(body)
        ))
        .await
        .status,
        StatusCode::CREATED
    );
    assert_eq!(
        ctx.raw(with_cookie(
            "POST",
            "/api/v1/auth/logout",
            Some(&csrf),
            None
        ))
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        ctx.raw(with_cookie("GET", "/api/v1/me", None, None))
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "session ended"
    );
    // bad token: 401
    let r = ctx
        .raw(
            Request::builder()
                .uri("/api/v1/me")
                .header("authorization", "Bearer nope")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // rate limit: 5 failures, then 429 even with the right password
    for _ in 0..5 {
        assert_eq!(
            ctx.raw(login("admin-a", "wrong-password")).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        ctx.raw(login("admin-a", "password-123")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        ctx.raw(login("admin-b", "password-123")).await.status,
        StatusCode::OK,
        "other users unaffected"
    );
}

#[tokio::test]
async fn attachments_are_private_and_reads_audited() {
    let ctx = common::sqlite().await;
    let f = ctx.filing_in(Status::Submitted).await;
    let list = ctx
        .call(
            "rev-bj",
            "GET",
            &format!("/api/v1/filings/{}/attachments", f.id),
            None,
        )
        .await
        .json();
    let aid = list[0]["id"].as_i64().unwrap();
    let uri = format!("/api/v1/filings/{}/attachments/{aid}", f.id);
    let r = ctx.call("rev-bj", "GET", &uri, None).await;
    assert_eq!(r.bytes, b"%PDF-1.4\n%%EOF\n");
    assert_eq!(r.headers["content-type"], "application/pdf");
    assert_eq!(
        ctx.call("admin-b", "GET", &uri, None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ctx.call("anonymous", "GET", &uri, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let log = ctx
        .call("auditor", "GET", "/api/v1/audit?limit=1000", None)
        .await
        .json();
    let reads: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "attachment.read")
        .collect();
    assert_eq!(
        reads.len(),
        1,
        "one read by rev-bj, none by the refused callers"
    );
    assert!(reads[0]["actor"].as_str().unwrap().contains("rev-bj"));
}

#[tokio::test]
async fn import_fills_the_register_and_metrics_count() {
    let ctx = common::sqlite().await;
    for f in ["genai-2024-04.csv", "deep-synthesis-2024-01.csv"] {
        let p = beian_registry::import::parse_file(std::path::Path::new(&format!("{DATA}/{f}")))
            .unwrap();
        ctx.store().import(&p, "test").await.unwrap();
    }
    let v = ctx
        .call(
            "anonymous",
            "GET",
            "/api/v1/register?q=%E6%96%87%E5%BF%83%E4%B8%80%E8%A8%80",
            None,
        )
        .await
        .json();
    assert_eq!(
        v["items"][0]["filing_number"],
        "Beijing-WenXinYiYan-20230821"
    );
    assert_eq!(v["items"][0]["date"], "2023-08-31");
    let all = ctx
        .call(
            "anonymous",
            "GET",
            "/api/v1/register?kind=algorithm-filing",
            None,
        )
        .await
        .json();
    assert_eq!(
        all["total"],
        129 - 5,
        "129 rows, 5 marked 已注销 (cancelled) are not in the public register"
    );
    assert_eq!(all["items"].as_array().unwrap().len(), 50);
    let p3 = ctx
        .call(
            "anonymous",
            "GET",
            "/api/v1/register?kind=algorithm-filing&page=3",
            None,
        )
        .await
        .json();
    assert_eq!(p3["items"].as_array().unwrap().len(), 24);
    let m = String::from_utf8(ctx.call("anonymous", "GET", "/metrics", None).await.bytes).unwrap();
    assert!(
        m.contains(
            "beian_http_requests_total{method=\"GET\",route=\"/api/v1/register\",status=\"200\"} 3"
        ),
        "{m}"
    );
    assert!(m.contains("beian_register_entries 246"), "{m}");
    assert!(m.contains("# TYPE beian_http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn openapi_committed_copy_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
    let current = beian_server::api::openapi().to_pretty_json().unwrap() + "\n";
    if std::env::var("BEIAN_UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::write(path, &current).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == current,
        "openapi.json at the repository root is stale: run `BEIAN_UPDATE_OPENAPI=1 cargo test -p beian-server --test api openapi` and commit it"
    );
    let doc: Value = serde_json::from_str(&current).unwrap();
    for p in [
        "/api/v1/filings",
        "/api/v1/register",
        "/api/v1/filings/{id}/actions",
        "/healthz",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} documented");
    }
}

#[tokio::test]
async fn loopback_serves_and_shuts_down_gracefully() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ctx = common::sqlite().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(beian_server::serve(listener, ctx.state.clone(), async {
        let _ = rx.await;
    }));
    let get = |path: &'static str| async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf).into_owned()
    };
    let h = get("/healthz").await;
    assert!(h.starts_with("HTTP/1.1 200") && h.ends_with("ok"), "{h}");
    let r = get("/api/v1/register").await;
    assert!(r.contains("\"total\":0"), "{r}");
    tx.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listener closed after shutdown"
    );
}
