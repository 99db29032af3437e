//! Reliability of `beian serve` as a real process: SIGKILL under concurrent
//! submissions loses no acknowledged write and leaves the audit chain intact;
//! SIGTERM shuts down gracefully. Traffic goes to 127.0.0.1 only; loops are
//! bounded in count and time.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use beian_registry::*;

const BIN: &str = env!("CARGO_BIN_EXE_beian");

struct Server {
    child: Child,
    addr: String,
}

fn spawn(db_args: &[String]) -> Server {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(db_args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn beian serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = loop {
        assert!(
            Instant::now() < deadline,
            "server did not report its address"
        );
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(rest) = l.split("listening on http://").nth(1) {
                    break rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                }
            }
            _ => panic!("server exited before listening"),
        }
    };
    // keep draining stderr so the child never blocks on a full pipe
    std::thread::spawn(move || for _ in lines {});
    Server { child, addr }
}

/// One HTTP/1.1 request over a fresh loopback connection: (status, body).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

async fn setup(store: &Store) -> Vec<String> {
    let nat = store
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
    let mut tokens = Vec::new();
    for (i, prov) in ["北京市", "上海市", "广东省", "浙江省"].iter().enumerate() {
        let org = store
            .create_organisation(
                Some(&nat),
                NewOrganisation {
                    uscc: uscc::complete(&format!("9111010800000000{i}")).unwrap(),
                    name: format!("测试公司{i}"),
                    kind: OrgKind::Provider,
                    province: prov.to_string(),
                    division_code: None,
                    legal_representative: "a".into(),
                    security_officer: "b".into(),
                    assessment_lead: "c".into(),
                },
            )
            .await
            .unwrap();
        let u = store
            .create_user(
                Some(&nat),
                NewUser {
                    username: format!("p{i}"),
                    password: "password-123".into(),
                    role: Role::ProviderAdmin,
                    org_id: Some(org.id),
                    province: None,
                },
            )
            .await
            .unwrap();
        tokens.push(store.create_api_token(&u, "load").await.unwrap());
    }
    tokens
}

fn kill_under_load(db_args: Vec<String>, tokens: Vec<String>) -> Vec<(i64, String)> {
    let server = spawn(&db_args);
    let addr = server.addr.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::<(i64, String)>::new()));
    let mut clients = Vec::new();
    for (c, token) in tokens.iter().enumerate() {
        let (addr, token, stop, acked) = (addr.clone(), token.clone(), stop.clone(), acked.clone());
        clients.push(std::thread::spawn(move || {
            for i in 0..3000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let name = format!("负载模型{c}x{i}");
                let body =
                    format!(r#"{{"kind":"genai-filing","name":"{name}","form":{{"n":{i}}}}}"#);
                match http(&addr, "POST", "/api/v1/filings", &token, Some(&body)) {
                    Ok((201, b)) => {
                        let v: serde_json::Value =
                            serde_json::from_str(&b).expect("201 body is JSON");
                        let id = v["id"].as_i64().expect("id");
                        // submit it too: a second acknowledged write on the same record
                        if let Ok((200, _)) = http(
                            &addr,
                            "POST",
                            &format!("/api/v1/filings/{id}/actions"),
                            &token,
                            Some(r#"{"action":"submit"}"#),
                        ) {
                            acked.lock().unwrap().push((id, "submitted".into()));
                        } else {
                            acked.lock().unwrap().push((id, "any".into()));
                        }
                    }
                    Ok((s, b)) => panic!("unexpected {s}: {b}"),
                    Err(_) => break, // server gone
                }
            }
        }));
    }
    // let load build up, then SIGKILL mid-flight
    let start = Instant::now();
    while acked.lock().unwrap().len() < 60 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut child = server.child;
    child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix
    let status = child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    assert!(!status.success(), "killed, not exited");
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 60,
        "load reached the server: {} acknowledged",
        acked.len()
    );
    acked
}

fn check_after_restart(db_args: Vec<String>, tokens: &[String], acked: &[(i64, String)]) {
    let mut server = spawn(&db_args);
    let mut found = 0;
    for (id, state) in acked {
        // the writer's token: try each (other organisations get 404)
        let hit = tokens.iter().find_map(|t| {
            match http(
                &server.addr,
                "GET",
                &format!("/api/v1/filings/{id}"),
                t,
                None,
            ) {
                Ok((200, b)) => Some(b),
                _ => None,
            }
        });
        let b = hit.unwrap_or_else(|| panic!("acknowledged filing {id} lost after SIGKILL"));
        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
        if state == "submitted" {
            assert_eq!(v["status"], "submitted", "acknowledged submit of {id} lost");
        }
        found += 1;
    }
    assert_eq!(found, acked.len());
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let out = Command::new(BIN)
        .args(["audit", "verify", "--format", "json"])
        .args(&db_args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "audit chain broken after SIGKILL: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["ok"], true);
    assert!(v["entries"].as_u64().unwrap() as usize >= acked.len());
}

#[test]
fn sigkill_under_concurrent_submissions_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tokens = rt.block_on(async {
        let s = Store::open_data_dir(&data).await.unwrap();
        let t = setup(&s).await;
        s.close().await;
        t
    });
    let args = vec!["--data-dir".to_string(), data.display().to_string()];
    let acked = kill_under_load(args.clone(), tokens.clone());
    check_after_restart(args, &tokens, &acked);
}

#[test]
fn sigkill_under_concurrent_submissions_postgres() {
    let Some(base) =
        beian_registry::testing::postgres_url("sigkill_under_concurrent_submissions_postgres")
    else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, tokens) = rt.block_on(async {
        let url = beian_registry::testing::fresh_postgres_db(&base)
            .await
            .unwrap();
        let s = Store::open(&url).await.unwrap();
        let t = setup(&s).await;
        s.close().await;
        (url, t)
    });
    let args = vec!["--database-url".to_string(), url];
    let acked = kill_under_load(args.clone(), tokens.clone());
    check_after_restart(args, &tokens, &acked);
}

#[cfg(unix)]
#[test]
fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn(&["--data-dir".to_string(), dir.path().display().to_string()]);
    let (s, b) = http(&server.addr, "GET", "/healthz", "", None).unwrap();
    assert_eq!((s, b.as_str()), (200, "ok"));
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = server.child.try_wait().unwrap() {
            assert!(st.success(), "graceful exit code 0, got {st}");
            break;
        }
        assert!(Instant::now() < deadline, "no exit within 20 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new(BIN)
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
}
