//! Server hardening (issue 11 §5): open redirects, metrics labels and
//! token, login flood and lockout, public rate limits, CSV formula
//! injection, common passwords, API token expiry and revocation, read-only
//! data directory, OpenAPI enums, province, NUL in names, nosniff, oversized
//! path ids. In-process (`oneshot`) where the router suffices; real HTTP on
//! loopback for rate limits and the login flood.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use beian_registry::*;
use beian_server::limits::{Limits, Rate};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(c: &common::Ctx, uri: &str) -> common::Resp {
    c.raw(Request::get(uri).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn next_parameter_allows_only_local_paths() {
    let c = common::sqlite().await;
    for (next, want) in [
        ("/register", "/register"),
        ("/%09/evil.example", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example", "/"),
        ("/%20/evil.example", "/"),
    ] {
        let r = get(&c, &format!("/lang/en?next={next}")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next}");
        assert_eq!(r.headers["location"], want, "{next}");
    }
    for next in ["/a%0d%0aSet-Cookie:%20x=1", "/a%0a", "/a%7f"] {
        let r = get(&c, &format!("/lang/en?next={next}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{next}");
    }
    // the login page keeps only a local next
    let r = get(&c, "/login?next=%2F%09%2Fevil.example").await;
    let page = String::from_utf8_lossy(&r.bytes).into_owned();
    assert!(page.contains("name=\"next\" value=\"/\""), "{page}");
}

#[tokio::test]
async fn metrics_labels_are_bounded_and_can_need_a_token() {
    let c = common::sqlite().await;
    for m in ["FOO", "BAR1", "PROPFIND"] {
        c.raw(
            Request::builder()
                .method(m)
                .uri("/healthz")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    }
    let body = String::from_utf8(get(&c, "/metrics").await.bytes).unwrap();
    assert!(body.contains("method=\"other\""), "{body}");
    assert!(!body.contains("FOO") && !body.contains("PROPFIND"));
    let mut state = c.state.clone();
    state.metrics_token = Some(Arc::from("s3cret-metrics"));
    let app = beian_server::router(state);
    use tower::ServiceExt;
    let r = app
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .oneshot(
            Request::get("/metrics")
                .header("authorization", "Bearer s3cret-metrics")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn small_fixes_nosniff_oversized_id_nul_province() {
    let c = common::sqlite().await;
    let r = get(&c, "/api/v1/register").await;
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    let r = c
        .call(
            "national",
            "GET",
            "/api/v1/filings/999999999999999999999999",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(r.json()["error"].as_str().is_some(), "{:?}", r.json());
    let r = c
        .call(
            "editor-a",
            "POST",
            "/api/v1/filings",
            Some(json!({"kind": "genai-filing", "name": "甲\u{0}模型"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.json());
    assert_eq!(r.json()["field"], "name");
    let r = c
        .call(
            "editor-a",
            "POST",
            "/api/v1/filings",
            Some(json!({"kind": "genai-filing", "name": "甲模型", "province": "上海市"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.json());
    assert_eq!(r.json()["field"], "province");
    let r = c
        .call(
            "editor-a",
            "POST",
            "/api/v1/filings",
            Some(json!({"kind": "genai-filing", "name": "甲模型", "province": "北京市"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json());
}

#[tokio::test]
async fn national_reviewer_decides_a_filing_province() {
    let c = common::sqlite().await;
    let f = c.filing_in(Status::Submitted).await;
    assert_eq!(f.province, "北京市");
    let uri = format!("/api/v1/filings/{}/province", f.id);
    let to_sh = json!({"province": "上海市", "reason": "服务器与运营团队在上海"});
    // providers and provincial reviewers cannot; one who cannot see it gets 404
    for (who, want) in [
        ("editor-a", StatusCode::FORBIDDEN),
        ("admin-a", StatusCode::FORBIDDEN),
        ("rev-bj", StatusCode::FORBIDDEN),
        ("rev-sh", StatusCode::NOT_FOUND),
        ("anonymous", StatusCode::UNAUTHORIZED),
    ] {
        let r = c.call(who, "POST", &uri, Some(to_sh.clone())).await;
        assert_eq!(r.status, want, "{who}: {:?}", r.json());
    }
    // a reason is required; the province must exist
    let r = c
        .call(
            "national",
            "POST",
            &uri,
            Some(json!({"province": "上海市", "reason": " "})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["field"], "reason");
    let r = c
        .call(
            "national",
            "POST",
            &uri,
            Some(json!({"province": "火星", "reason": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["field"], "province");
    let before = c
        .call(
            "national",
            "GET",
            &format!("/api/v1/filings/{}", f.id),
            None,
        )
        .await
        .json();
    assert_eq!(before["province"], "北京市");
    // the national reviewer decides
    let r = c.call("national", "POST", &uri, Some(to_sh.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json());
    assert_eq!(r.json()["province"], "上海市");
    // the filing now belongs to Shanghai's reviewers
    let fu = format!("/api/v1/filings/{}", f.id);
    assert_eq!(
        c.call("rev-sh", "GET", &fu, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        c.call("rev-bj", "GET", &fu, None).await.status,
        StatusCode::NOT_FOUND
    );
    // audited, and in the filing's thread
    let audit = c
        .call("auditor", "GET", "/api/v1/audit?limit=1000", None)
        .await
        .json();
    let e = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "filing.province")
        .expect("filing.province audited");
    assert_eq!(e["subject"], format!("filing:{}", f.id));
    assert_eq!(e["detail"]["from"], "北京市");
    assert_eq!(e["detail"]["to"], "上海市");
    assert_eq!(e["detail"]["reason"], "服务器与运营团队在上海");
    assert!(e["actor"].as_str().unwrap().contains("national"), "{e}");
    let ev = c
        .call(
            "national",
            "GET",
            &format!("/api/v1/filings/{}/events", f.id),
            None,
        )
        .await
        .json();
    assert!(
        ev.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "province"
                && e["body"]
                    .as_str()
                    .unwrap()
                    .contains("服务器与运营团队在上海")),
        "{ev}"
    );
    // Shanghai reviews and approves; the number carries Shanghai
    let s = c.store();
    s.act(c.user("rev-sh"), f.id, Action::StartReview, None)
        .await
        .unwrap();
    s.act(c.user("rev-sh"), f.id, Action::Approve, None)
        .await
        .unwrap();
    let done = s
        .act(c.user("national"), f.id, Action::Approve, None)
        .await
        .unwrap();
    assert!(
        done.number
            .as_deref()
            .unwrap_or("")
            .starts_with("Shanghai-"),
        "{:?}",
        done.number
    );
    // once a number is issued the province is fixed
    let r = c
        .call(
            "national",
            "POST",
            &uri,
            Some(json!({"province": "北京市", "reason": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json());
    // and the audit chain and log still verify
    let v = c.call("auditor", "GET", "/api/v1/audit/verify", None).await;
    assert_eq!(v.status, StatusCode::OK, "{:?}", v.json());
    assert_eq!(v.json()["ok"], true, "{:?}", v.json());
}

#[tokio::test]
async fn openapi_enums_list_accepted_values() {
    let c = common::sqlite().await;
    let doc = get(&c, "/api/openapi.json").await.json();
    let kinds = &doc["components"]["schemas"]["FilingKind"]["enum"];
    assert_eq!(
        kinds,
        &json!(["algorithm-filing", "genai-filing", "genai-registration"])
    );
    let roles = doc["components"]["schemas"]["Role"]["enum"]
        .as_array()
        .unwrap();
    assert!(roles.contains(&json!("provincial-reviewer")));
    assert!(!roles.contains(&json!("ProvincialReviewer")));
}

#[tokio::test]
async fn csv_export_neutralises_formulas() {
    let c = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("list.csv");
    std::fs::write(
        &p,
        "序号,属地,大模型名称,备案单位,备案编号,备案时间\n1,北京市,=HYPERLINK(\"http://x\"),@SUM(A1),Beijing-Formula-20250101,2025/1/7\n2,北京市,正常模型,+甲公司,Beijing-Normal-20250101,2025/1/7\n",
    )
    .unwrap();
    let parsed = import::parse_file(&p).unwrap();
    assert_eq!(c.store().import(&parsed, "test").await.unwrap().inserted, 2);
    let r = get(&c, "/api/v1/register.csv?q=Beijing").await;
    assert_eq!(r.status, StatusCode::OK);
    let text = String::from_utf8(r.bytes).unwrap();
    assert!(text.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{text}");
    assert!(text.contains(",'@SUM(A1),"), "{text}");
    assert!(text.contains(",'+甲公司,"), "{text}");
    assert!(!text.contains(",=HYPERLINK") && !text.contains(",@SUM"));
}

#[tokio::test]
async fn exports_are_rendered_once_per_register_version() {
    let c = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("list.csv");
    std::fs::write(
        &p,
        "序号,属地,大模型名称,备案单位,备案编号,备案时间\n1,北京市,缓存模型甲,甲公司,Beijing-CacheA-20250101,2025/1/7\n",
    )
    .unwrap();
    let parsed = import::parse_file(&p).unwrap();
    assert_eq!(c.store().import(&parsed, "test").await.unwrap().inserted, 1);
    let renders = || c.state.exports.renders();
    let r0 = renders();
    let first = get(&c, "/api/v1/register.csv?q=Cache").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.headers["x-beian-export-cache"], "miss");
    assert_eq!(renders(), r0 + 1);
    // no write in between: the same bytes, from the cache, not rendered again
    let second = get(&c, "/api/v1/register.csv?q=Cache").await;
    assert_eq!(second.headers["x-beian-export-cache"], "hit");
    assert_eq!(second.bytes, first.bytes);
    assert_eq!(renders(), r0 + 1);
    // another query or format is its own entry
    let x1 = get(&c, "/api/v1/register.xlsx?q=Cache").await;
    assert_eq!(x1.headers["x-beian-export-cache"], "miss");
    let x2 = get(&c, "/api/v1/register.xlsx?q=Cache").await;
    assert_eq!(x2.headers["x-beian-export-cache"], "hit");
    assert_eq!(x1.bytes, x2.bytes);
    assert_eq!(renders(), r0 + 2);
    // a write gives a new register version: rendered again, with the new row
    std::fs::write(
        &p,
        "序号,属地,大模型名称,备案单位,备案编号,备案时间\n1,北京市,缓存模型乙,乙公司,Beijing-CacheB-20250101,2025/1/8\n",
    )
    .unwrap();
    let parsed = import::parse_file(&p).unwrap();
    assert_eq!(c.store().import(&parsed, "test").await.unwrap().inserted, 1);
    let third = get(&c, "/api/v1/register.csv?q=Cache").await;
    assert_eq!(third.headers["x-beian-export-cache"], "miss");
    assert_eq!(renders(), r0 + 3);
    let text = String::from_utf8(third.bytes.clone()).unwrap();
    assert!(text.contains("Beijing-CacheA-20250101"), "{text}");
    assert!(text.contains("Beijing-CacheB-20250101"), "{text}");
    assert_ne!(third.bytes, first.bytes);
    let x3 = get(&c, "/api/v1/register.xlsx?q=Cache").await;
    assert_eq!(x3.headers["x-beian-export-cache"], "miss");
    let fourth = get(&c, "/api/v1/register.csv?q=Cache").await;
    assert_eq!(fourth.headers["x-beian-export-cache"], "hit");
    assert_eq!(fourth.bytes, third.bytes);
}

#[tokio::test]
async fn common_passwords_are_refused() {
    let c = common::sqlite().await;
    for pw in ["password123", "1234567890", "qwertyuiop"] {
        let r = c
            .call(
                "national",
                "POST",
                "/api/v1/users",
                Some(json!({"username": "u1", "password": pw, "role": "auditor"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{pw}");
        assert_eq!(r.json()["field"], "password");
    }
    let r = c
        .call("national", "POST", "/api/v1/users", Some(json!({"username": "u1", "password": "lantern-ochre-47-quietly", "role": "auditor"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json());
}

#[tokio::test]
async fn api_tokens_expire_and_logout_revokes() {
    let c = common::sqlite().await;
    let r = c
        .call(
            "auditor",
            "POST",
            "/api/v1/tokens",
            Some(json!({"name": "ci", "expires_in_days": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let t = r.json()["token"].as_str().unwrap().to_string();
    let me = |tok: String| {
        Request::get("/api/v1/me")
            .header("authorization", format!("Bearer {tok}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(c.raw(me(t.clone())).await.status, StatusCode::OK);
    let r = c
        .raw(
            Request::post("/api/v1/auth/logout?revoke_token=true")
                .header("authorization", format!("Bearer {t}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        c.raw(me(t)).await.status,
        StatusCode::UNAUTHORIZED,
        "revoked by logout"
    );
    // expiry
    let r = c
        .call(
            "auditor",
            "POST",
            "/api/v1/tokens",
            Some(json!({"name": "old"})),
        )
        .await;
    let t2 = r.json()["token"].as_str().unwrap().to_string();
    assert_eq!(c.raw(me(t2.clone())).await.status, StatusCode::OK);
    c.store()
        .raw_execute(
            "UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00+00:00' WHERE name = 'old'",
        )
        .await
        .unwrap();
    assert_eq!(
        c.raw(me(t2)).await.status,
        StatusCode::UNAUTHORIZED,
        "expired"
    );
    let r = c
        .call(
            "auditor",
            "POST",
            "/api/v1/tokens",
            Some(json!({"name": "x", "expires_in_days": 1000})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn read_only_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    // Whoever runs this: a data directory under a file fails at once and
    // names the path (a read-only mount, root included, is covered by
    // crates/beian/tests/serve_readonly.rs in a private mount namespace).
    let under_file = dir.path().join("file");
    std::fs::write(&under_file, b"x").unwrap();
    let start = Instant::now();
    let err = Store::open_data_dir(&under_file.join("data"))
        .await
        .err()
        .expect("must fail");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(
        err.to_string()
            .contains(&under_file.join("data").display().to_string()),
        "{err}"
    );
    if std::fs::write(ro.join("probe"), b"").is_ok() {
        eprintln!(
            "SKIP read_only_data_dir 0555 part: running as a user who can write a 0555 directory (root); see serve_readonly.rs"
        );
        return;
    }
    let start = Instant::now();
    let err = Store::open_data_dir(&ro).await.err().expect("must fail");
    assert!(start.elapsed() < Duration::from_secs(5));
    let msg = err.to_string();
    assert!(
        msg.starts_with("cannot write ") && msg.contains("read-only"),
        "{msg}"
    );
}

#[tokio::test]
async fn lockout_is_per_user_and_address_and_has_no_race() {
    let c = common::sqlite().await;
    let s = c.state.store.clone();
    let a: std::net::IpAddr = [10, 0, 0, 1].into();
    let b: std::net::IpAddr = [10, 0, 0, 2].into();
    // 7 concurrent wrong passwords from one address: 5 are checked, 2 refused
    let mut tasks = Vec::new();
    for _ in 0..7 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.login_from("auditor", "wrong-password-1", Some(a)).await
        }));
    }
    let mut wrong = 0;
    let mut limited = 0;
    for t in tasks {
        match t.await.unwrap() {
            Err(RegistryError::Unauthenticated(_)) => wrong += 1,
            Err(RegistryError::RateLimited(_)) => limited += 1,
            other => panic!("{:?}", other.map(|_| ())),
        }
    }
    assert_eq!((wrong, limited), (5, 2));
    // locked from a, not from b: nobody can lock an account for everyone
    assert!(matches!(
        s.login_from("auditor", "password-123", Some(a)).await,
        Err(RegistryError::RateLimited(_))
    ));
    assert!(
        s.login_from("auditor", "password-123", Some(b))
            .await
            .is_ok()
    );
}

// ------------------------------------------------------------------ real HTTP

async fn serve(state: beian_server::AppState) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(beian_server::serve(l, state, std::future::pending()));
    addr
}

/// One HTTP/1.1 request on a fresh loopback connection: (status, head, body).
async fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_lowercase(), body.to_string())
}

#[tokio::test]
async fn public_endpoints_and_logins_are_rate_limited() {
    let c = common::sqlite().await;
    let mut state = c.state.clone();
    state.limits = Arc::new(Limits::new(
        Rate::new(1.0, 3.0),
        Rate::new(0.1, 1.0),
        Rate::new(0.5, 2.0),
        Rate::OFF,
    ));
    let addr = serve(state).await;
    let mut codes = Vec::new();
    let mut retry = None;
    for _ in 0..6 {
        let (st, head, _) = http(&addr, "GET", "/api/v1/register", "").await;
        codes.push(st);
        if st == 429 {
            retry = head
                .lines()
                .find_map(|l| l.strip_prefix("retry-after: ").map(str::to_string));
        }
    }
    assert!(
        codes.starts_with(&[200, 200, 200]) && codes.contains(&429),
        "{codes:?}"
    );
    assert!(retry.is_some_and(|r| r.trim().parse::<u64>().unwrap() >= 1));
    // logins per address: the third attempt in a burst of 2 is refused
    let body = json!({"username": "auditor", "password": "wrong-password-9"}).to_string();
    let mut login = Vec::new();
    for _ in 0..3 {
        login.push(http(&addr, "POST", "/api/v1/auth/login", &body).await.0);
    }
    assert_eq!(login, vec![401, 401, 429]);
}

/// A bounded flood of wrong passwords (no rate limits: every one is hashed)
/// on loopback must not slow `/healthz`: hashing runs on the bounded
/// blocking pool, not on the async workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_flood_keeps_healthz_fast() {
    let c = common::sqlite().await;
    let mut state = c.state.clone();
    state.limits = Arc::new(Limits::new(Rate::OFF, Rate::OFF, Rate::OFF, Rate::OFF));
    let addr = serve(state).await;
    let stop = Instant::now() + Duration::from_secs(4);
    let mut flood = Vec::new();
    for i in 0..8 {
        let addr = addr.clone();
        flood.push(tokio::spawn(async move {
            let mut n = 0;
            // bounded: at most 60 attempts per client, and 4 s
            while n < 60 && Instant::now() < stop {
                let body =
                    json!({"username": format!("nobody{i}"), "password": "wrong-password-9"})
                        .to_string();
                http(&addr, "POST", "/api/v1/auth/login", &body).await;
                n += 1;
            }
            n
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut lat = Vec::new();
    while Instant::now() < stop && lat.len() < 200 {
        let t = Instant::now();
        let (st, _, body) = http(&addr, "GET", "/healthz", "").await;
        lat.push(t.elapsed());
        assert_eq!((st, body.as_str()), (200, "ok"));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut attempts = 0;
    for f in flood {
        attempts += f.await.unwrap();
    }
    lat.sort();
    let p50 = lat[lat.len() / 2];
    eprintln!(
        "login flood: {attempts} attempts; /healthz p50 {p50:?} over {} requests",
        lat.len()
    );
    assert!(attempts >= 16, "the flood ran ({attempts})");
    assert!(
        p50 < Duration::from_millis(10),
        "healthz p50 {p50:?} during a login flood"
    );
}
