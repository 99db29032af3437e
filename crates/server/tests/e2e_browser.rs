//! End to end in a real headless Chromium, driven over W3C WebDriver
//! (Debian's `chromium` + `chromium-driver`; a tiny HTTP/1.1 client over
//! loopback, no extra crates).
//!
//! Flows: a provider files a generative-AI service, the provincial reviewer
//! returns it, the provider fixes it, the reviewers approve, the public finds
//! it by name; a user of another organisation cannot reach it; the screening
//! playground highlights a disguised term. Screenshots of the key pages go to
//! `$CARGO_TARGET_DIR/e2e-screenshots/` (default `target/e2e-screenshots/`).
//!
//! Without a browser the test prints a notice and passes, unless
//! `BEIAN_REQUIRE_BROWSER=1` (CI), where it fails.
//! Override the binaries with `BEIAN_CHROMIUM` and `BEIAN_CHROMEDRIVER`.

#![allow(clippy::unwrap_used)] // tests: a panic is a failure with its message

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_binary(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p)).filter(|p| p.exists());
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request on loopback; returns the body.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Vec<u8>, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    // read until the body is complete (chromedriver may keep the connection open)
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let (split, head) = loop {
        let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before headers".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break (p, String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase());
        }
    };
    let len = head.lines().find_map(|l| {
        l.strip_prefix("content-length:")
            .and_then(|v| v.trim().parse::<usize>().ok())
    });
    loop {
        let body_len = buf.len() - split - 4;
        let done = match len {
            Some(l) => body_len >= l,
            None => buf.ends_with(b"0\r\n\r\n"),
        };
        if done {
            break;
        }
        let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let mut body = buf[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or("bad chunk")?;
            let n = usize::from_str_radix(String::from_utf8_lossy(&rest[..nl]).trim(), 16)
                .map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + n]);
            rest = &rest[nl + 2 + n + 2..];
        }
        body = out;
    }
    Ok(body)
}

fn b64decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

struct Driver {
    child: Child,
    port: u16,
    session: String,
    base: String,
    shots: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let full = format!("/session/{}{path}", self.session);
        let raw = http(self.port, method, &full, body.as_ref())
            .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"));
        let v: Value = serde_json::from_slice(&raw).unwrap_or_else(|e| {
            panic!(
                "webdriver {method} {path}: {e}: {}",
                String::from_utf8_lossy(&raw)
            )
        });
        if v["value"].get("error").is_some() {
            panic!(
                "webdriver {method} {path}: {}\npage: {}",
                v["value"],
                self.source_snippet()
            );
        }
        v["value"].clone()
    }
    fn source_snippet(&self) -> String {
        let full = format!("/session/{}/source", self.session);
        let raw = http(self.port, "GET", &full, None).unwrap_or_default();
        let v: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        v["value"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(3000)
            .collect()
    }
    fn goto(&self, path: &str) {
        self.cmd(
            "POST",
            "/url",
            Some(json!({"url": format!("{}{path}", self.base)})),
        );
    }
    fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }
    fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }
    fn count(&self, css: &str) -> usize {
        self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .map_or(0, Vec::len)
    }
    fn click(&self, css: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})));
    }
    /// Clicks something that loads a new page and waits until the new document is ready.
    fn submit(&self, css: &str) {
        self.script("window.__beian_old_page = true;");
        self.click(css);
        let t0 = Instant::now();
        loop {
            let v = self.script("return (window.__beian_old_page === undefined) && document.readyState === 'complete';");
            if v == json!(true) {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "no new page after clicking {css}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    /// Chooses an option of a `<select>`.
    fn select(&self, css: &str, value: &str) {
        let js = format!(
            "const s = document.querySelector({css:?}); s.value = {value:?}; return s.value;"
        );
        assert_eq!(self.script(&js), json!(value), "select {css} = {value}");
    }
    fn fill(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        );
    }
    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.cmd("GET", &format!("/element/{e}/text"), None)
            .as_str()
            .unwrap_or("")
            .to_string()
    }
    fn body_text(&self) -> String {
        self.text("body")
    }
    fn script(&self, js: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
    }
    fn shot(&self, name: &str) {
        let v = self.cmd("GET", "/screenshot", None);
        let png = b64decode(v.as_str().unwrap_or(""));
        assert!(png.starts_with(b"\x89PNG"), "screenshot {name} is a PNG");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }
    fn sign_in(&self, user: &str) {
        self.cmd("DELETE", "/cookie", None);
        self.goto("/lang/zh?next=%2Flogin");
        self.fill("#username", user);
        self.fill("#password", "password-123");
        self.submit("#login-submit");
        assert!(
            !self.url().contains("/login"),
            "{user} signed in: {}",
            self.body_text()
        );
    }
}

fn start_driver(
    chromium: &Path,
    chromedriver: &Path,
    base: String,
    shots: PathBuf,
    profile: &Path,
) -> Driver {
    let port = free_port();
    let mut child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let t0 = Instant::now();
    loop {
        if let Ok(b) = http(port, "GET", "/status", None) {
            let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
            if v["value"]["ready"] == true {
                break;
            }
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("chromedriver did not become ready");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
        "binary": chromium.to_string_lossy(),
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--lang=zh-CN", "--window-size=1280,1000", format!("--user-data-dir={}", profile.display())]
    }}}});
    let session = http(port, "POST", "/session", Some(&caps))
        .ok()
        .and_then(|raw| serde_json::from_slice::<Value>(&raw).ok())
        .and_then(|v| v["value"]["sessionId"].as_str().map(str::to_string));
    let Some(session) = session else {
        let _ = child.kill();
        panic!(
            "chromedriver could not start a Chromium session ({})",
            chromium.display()
        );
    };
    Driver {
        child,
        port,
        session,
        base,
        shots,
    }
}

/// (chromium, chromedriver), or `None` (the test is skipped) unless
/// `BEIAN_REQUIRE_BROWSER=1`, where a missing browser is a failure.
fn browser_bins(test: &str) -> Option<(PathBuf, PathBuf)> {
    let chromium = find_binary(
        "BEIAN_CHROMIUM",
        &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
    );
    let chromedriver = find_binary("BEIAN_CHROMEDRIVER", &["/usr/bin/chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        if std::env::var("BEIAN_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "BEIAN_REQUIRE_BROWSER=1 but chromium/chromedriver are not installed (apt-get install chromium chromium-driver)"
            );
        }
        eprintln!(
            "SKIP {test}: chromium and chromedriver not found (apt-get install chromium chromium-driver; BEIAN_REQUIRE_BROWSER=1 makes this a failure)"
        );
        return None;
    };
    Some((chromium, chromedriver))
}

#[test]
fn browser_end_to_end() {
    let Some((chromium, chromedriver)) = browser_bins("browser_end_to_end") else {
        return;
    };

    // the real server on loopback
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ctx = rt.block_on(common::sqlite());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = ctx.app.clone();
    rt.spawn(async move { axum::serve(listener, app).await });

    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    let shots = target.join("e2e-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let profile = tmp.path().join("chromium-profile");
    let d = start_driver(
        &chromium,
        &chromedriver,
        format!("http://{addr}"),
        shots.clone(),
        &profile,
    );
    d.cmd(
        "POST",
        "/window/rect",
        Some(json!({"width": 1280, "height": 1000})),
    );

    // --- provider: describe the service with the guided form (steps, province list)
    d.sign_in("editor-a");
    d.goto("/services/new");
    // one step on screen at a time, with a step indicator
    assert_eq!(d.count("fieldset.step"), 1, "one step on screen");
    assert_eq!(d.count("#step-indicator li"), 4, "four steps");
    assert!(
        d.text("#step-indicator [aria-current=step]")
            .contains("关于服务")
    );
    assert_eq!(d.count("#create-service"), 0, "save only on the last step");
    d.fill("#p-name", "甲灵感写作");
    d.fill("#p-description", "面向公众的文本生成服务");
    d.click("#p-public_facing");
    d.select("#p-province", "北京市");
    d.script("document.getElementById('p-launch_date').value = '2025-03-03';");
    d.shot("01-service-form");
    let invalid = d.script("return Array.from(document.querySelectorAll('form.profile :invalid')).map(e => e.name + '=' + e.value + ':' + e.validationMessage).join('; ')");
    assert_eq!(invalid, json!(""), "the guided form validates");
    // a province outside the list is refused server-side on Next, and every value survives
    d.script("const s = document.getElementById('p-province'); s.add(new Option('火星省', '火星省')); s.value = '火星省';");
    d.submit("#next-step");
    assert!(
        d.count("#form-error") == 1,
        "error shown: {}",
        d.body_text()
    );
    assert_eq!(d.count("#step-1"), 1, "still on step 1");
    assert_eq!(
        d.script("return document.getElementById('p-name').value"),
        json!("甲灵感写作")
    );
    assert_eq!(
        d.script("return document.getElementById('p-public_facing').checked"),
        json!(true)
    );
    d.select("#p-province", "北京市");
    d.submit("#next-step");
    assert_eq!(d.count("#step-2"), 1, "step 2: {}", d.body_text());
    assert!(
        d.text("#step-indicator [aria-current=step]")
            .contains("内容与模型")
    );
    d.click("#p-generative");
    d.click("#p-public_opinion_attributes");
    d.click("#p-modalities-text");
    d.click("#p-deep_synthesis_functions-text-generation");
    d.click("#p-algorithm_types-generation-synthesis");
    d.select("#p-model_source", "self-developed");
    d.submit("#next-step");
    assert_eq!(d.count("#step-3"), 1);
    // back and forth: the values of every step are kept
    d.submit("#prev-step");
    assert_eq!(d.count("#step-2"), 1);
    assert_eq!(
        d.script("return document.getElementById('p-generative').checked"),
        json!(true)
    );
    assert_eq!(
        d.script("return document.getElementById('p-model_source').value"),
        json!("self-developed")
    );
    d.submit("#prev-step");
    assert_eq!(
        d.script("return [document.getElementById('p-name').value, document.getElementById('p-province').value, document.getElementById('p-launch_date').value].join('|')"),
        json!("甲灵感写作|北京市|2025-03-03")
    );
    d.submit("#goto-step-4");
    assert_eq!(d.count("#step-4"), 1);
    d.shot("01b-service-form-step4");
    d.submit("#create-service");
    let body = d.body_text();
    assert!(
        body.contains("生成式人工智能服务备案"),
        "classification shown: {body}"
    );
    let service_path = d.url().trim_start_matches(&d.base).to_string();
    // deadlines from the filing kinds the classification calls for: none filed yet
    let states = d.script("return Array.from(document.querySelectorAll('#deadlines .dl')).map(e => e.dataset.state).join(',')");
    assert!(states.as_str().unwrap().contains("missing"), "{states}");
    assert!(
        !d.text("#deadlines").contains("已按期"),
        "nothing is on time yet"
    );
    d.shot("02-classification");
    // starting from an example profile fills the steps
    d.goto("/services/new?example=public-chatbot");
    assert_eq!(
        d.script("return document.getElementById('p-province').value"),
        json!("北京市")
    );
    d.submit("#next-step");
    assert_eq!(
        d.script("return document.getElementById('p-generative').checked"),
        json!(true)
    );

    // assemble the filing (the classification pre-selects the genAI filing)
    d.goto(&service_path);
    d.select("#f-kind", "genai-filing");
    d.submit("#create-filing");
    let filing_url = d.url();
    let filing_path = filing_url.trim_start_matches(&d.base).to_string();
    assert!(filing_path.starts_with("/filings/"), "{filing_url}");
    // the live checklist of a draft
    assert_eq!(
        d.script("return document.querySelector('#checklist [data-check=\"required-attachments\"]').dataset.status"),
        json!("fail")
    );
    assert!(d.count("#blocking-summary") == 1);
    d.fill("#e-scenarios", "写作辅助");
    d.submit("#save-filing");
    // submitting an incomplete filing is refused, naming the checks
    d.submit("#act-submit");
    assert_eq!(d.text("#filing-status"), "草稿");
    assert!(
        d.text("#flash").contains("必备附件齐全"),
        "{}",
        d.text("#flash")
    );
    d.shot("03-submit-refused");
    // upload the package a provider assembles: JSONL bank, summary.json, keyword sheet, paperwork
    let kb = beian_kb::Kb::embedded().unwrap();
    let upload = |kind: &str, name: &str, bytes: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        d.select("#a-kind", kind);
        let input = d.find("#a-file");
        d.cmd(
            "POST",
            &format!("/element/{input}/value"),
            Some(json!({"text": p.to_string_lossy()})),
        );
        d.submit("#upload");
        assert!(d.text("#attachment-list").contains(name), "{name} uploaded");
    };
    let check_status = |id: &str| {
        d.script(&format!(
            "const e = document.querySelector('#checklist [data-check=\"{id}\"]'); return e ? e.dataset.status : null;"
        ))
    };
    upload(
        "question-sheet",
        "questions.jsonl",
        &beian_registry::precheck::fixtures::question_jsonl(&kb, Some(("A.2.b", 10))),
    );
    assert_eq!(
        check_status("question-total"),
        json!("pass"),
        "JSONL bank read"
    );
    assert_eq!(check_status("question-per-risk"), json!("fail"));
    assert!(
        d.text("#checklist").contains("A.2.b"),
        "the short risk is named"
    );
    upload(
        "question-sheet",
        "questions-fixed.jsonl",
        &beian_registry::precheck::fixtures::question_jsonl(&kb, None),
    );
    assert_eq!(check_status("question-per-risk"), json!("pass"));
    assert_eq!(
        check_status("metric-generated_qualified"),
        json!("fail"),
        "no metrics yet"
    );
    upload(
        "other",
        "summary.json",
        &beian_registry::precheck::fixtures::summary_json(&kb, 0.97),
    );
    for id in [
        "metric-generated_qualified",
        "metric-should_refuse_refusal_rate",
        "metric-should_answer_refusal_rate",
    ] {
        assert_eq!(check_status(id), json!("pass"), "{id} from summary.json");
    }
    upload(
        "keyword-sheet",
        "keywords.csv",
        &beian_registry::precheck::fixtures::keyword_csv(&kb),
    );
    for kind in [
        "filing-form",
        "self-assessment-report",
        "service-agreement",
        "annotation-rules",
    ] {
        upload(kind, &format!("{kind}.pdf"), b"%PDF-1.4\n%%EOF\n");
    }
    assert_eq!(check_status("required-attachments"), json!("pass"));
    assert_eq!(d.count("#blocking-summary"), 0, "{}", d.text("#checklist"));
    // `查看报告` only where a report exists (the summary.json)
    assert_eq!(d.count("a.view-report"), 1);
    d.submit("#act-submit");
    assert_eq!(d.text("#filing-status"), "已提交");
    assert!(d.count("#checklist li") > 0, "pre-checks listed");
    // the filing's own deadline: a genAI filing is due before launch (2025-03-03): late
    assert_eq!(
        d.script("return Array.from(document.querySelectorAll('#deadlines .dl')).map(e => e.dataset.state).join(',')"),
        json!("late")
    );
    d.shot("03-filing-submitted");

    // --- another organisation's user cannot reach it (same 404 as a missing filing)
    d.sign_in("admin-b");
    d.goto(&filing_path);
    assert!(
        d.text("h1").starts_with("404"),
        "admin-b gets 404: {}",
        d.body_text()
    );
    assert!(!d.body_text().contains("甲灵感写作"));
    assert!(d.body_text().contains("页面不存在"), "Chinese error page");
    assert!(
        d.count("header.top nav") == 1,
        "navigation on the error page"
    );
    assert!(d.body_text().contains("admin-b"), "signed-in state kept");

    // --- the Beijing reviewer returns it with a comment
    d.sign_in("rev-bj");
    d.goto("/review");
    assert!(d.text("#q-submitted").contains("已提交"));
    assert!(d.count(".precheck-cell") > 0, "pre-check column");
    assert_eq!(
        d.count("#r-province"),
        0,
        "one-province reviewer: no province filter"
    );
    d.shot("04-review-queue");
    d.goto(&filing_path);
    d.submit("#act-start-review");
    d.fill("#c-return", "请补充训练语料来源说明");
    d.submit("#act-return");
    assert_eq!(d.text("#filing-status"), "已退回修改");

    // --- the provider sees the comment, replies, fixes the form and resubmits
    d.sign_in("editor-a");
    d.goto(&filing_path);
    assert!(
        d.text("#reviewer-comment")
            .contains("请补充训练语料来源说明")
    );
    d.fill("#e-training_data", "自有版权语料与公开许可语料，共 2TB");
    d.submit("#save-filing");
    d.fill("#c-submit", "已补充训练语料来源说明，见备案表第三部分");
    d.submit("#act-submit");
    assert_eq!(d.text("#filing-status"), "已提交");
    assert_eq!(
        d.count("#reviewer-comment"),
        0,
        "the return note only while open"
    );
    let thread = d.text("#thread");
    let (a, b) = (
        thread.find("请补充训练语料来源说明").unwrap(),
        thread.find("已补充训练语料来源说明").unwrap(),
    );
    assert!(a < b, "comment, then reply: {thread}");
    // the provider edits the service: re-classified, with the obligation diff
    d.goto(&service_path);
    d.submit("#edit-service");
    assert!(d.url().ends_with("/edit"));
    assert_eq!(
        d.script("return document.getElementById('p-name').value"),
        json!("甲灵感写作")
    );
    d.submit("#goto-step-4");
    d.click("#p-minors_users");
    d.submit("#goto-step-2");
    d.click("#p-generative");
    d.submit("#create-service");
    assert!(d.count("#obligation-diff") == 1, "{}", d.body_text());
    let diff = d.text("#obligation-diff");
    assert!(diff.contains("不再要求的备案"), "{diff}");
    d.shot("05-profile-diff");

    // --- provincial approval meets a failing check: only with an override reason
    d.sign_in("rev-bj");
    d.goto(&filing_path);
    d.submit("#act-start-review");
    assert_eq!(
        d.script("return document.querySelector('#checklist [data-check=\"classification-consistent\"]').dataset.status"),
        json!("fail")
    );
    d.submit("#act-approve");
    assert_eq!(d.text("#filing-status"), "省级审核中");
    assert!(
        d.text("#flash").contains("分类结果与备案类型一致"),
        "{}",
        d.text("#flash")
    );
    d.fill(
        "#o-approve",
        "服务仍含生成式功能，画像修改待更正，已电话核实",
    );
    d.submit("#act-approve");
    assert_eq!(d.text("#filing-status"), "国家级审核中");
    assert!(d.text("#override-note").contains("已电话核实"));
    d.sign_in("national");
    d.goto(&filing_path);
    d.shot("06-filing-review");
    d.fill("#o-approve", "同意省级意见");
    d.submit("#act-approve");
    assert_eq!(d.text("#filing-status"), "已通过");
    let number = d.text("#filing-number");
    assert!(number.starts_with("Beijing-"), "{number}");

    // --- the public finds it by name, in English too
    d.cmd("DELETE", "/cookie", None);
    d.goto("/lang/zh?next=%2Fregister");
    d.fill("#q", "灵感写作");
    d.submit("form.filters button[type=submit]");
    assert!(
        d.body_text().contains(&number),
        "register shows the number: {}",
        d.body_text()
    );
    d.shot("07-public-register");
    d.submit("table.register td a");
    assert_eq!(d.text("#entry-number"), number);
    d.goto("/lang/en?next=%2Fregister%3Fq%3D%E7%81%B5%E6%84%9F");
    assert!(d.text("h1").contains("Public register"));
    assert!(d.body_text().contains(&number));

    // --- cancellation: a reason, then a confirmation step
    d.sign_in("national");
    d.goto(&filing_path);
    d.submit("#act-cancel");
    assert_eq!(d.text("#filing-status"), "已通过", "no reason: refused");
    assert!(d.text("#flash").contains("理由"));
    d.fill("#c-cancel", "服务已停止运营");
    d.submit("#act-cancel");
    assert_eq!(d.text("#filing-status"), "已通过", "not before confirming");
    assert!(d.text("#confirm-box").contains("服务已停止运营"));
    d.shot("08-confirm-cancel");
    d.submit("#confirm-action");
    assert_eq!(d.text("#filing-status"), "已注销");
    // the entry keeps its page, marked cancelled with the date
    d.cmd("DELETE", "/cookie", None);
    d.goto(&format!(
        "/lang/zh?next={}",
        beian_server::web::urlencode(&format!(
            "/register/entry?number={}",
            beian_server::web::urlencode(&number)
        ))
    ));
    assert!(d.text("#entry-status").contains("已注销"));
    assert!(d.text("#cancelled-note").contains("20"), "date shown");
    d.goto("/register?q=%E7%81%B5%E6%84%9F");
    assert!(!d.body_text().contains(&number), "not among active entries");
    d.goto("/register?q=%E7%81%B5%E6%84%9F&status=cancelled");
    assert!(d.body_text().contains(&number));

    // --- the Chinese pages are Chinese (interface text, not data)
    let english = "const skip = 'code, script, style, time, [translate=no], .mono, .who, body [lang=en], body [lang=zh]';
        const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const words = new Set(); let n;
        while ((n = walk.nextNode())) {
          if (n.parentElement.closest(skip)) continue;
          for (const w of (n.textContent.match(/[A-Za-z]{3,}/g) || [])) words.add(w);
        }
        return Array.from(words).filter(w => !['beian','CSV','XLSX','JSON','JSONL','PDF','HTML','UTC','API','ISO','YYYY','RFC','assess','summary','report','scan','review','json','classify','format'].includes(w)).join(' ');";
    d.sign_in("editor-a");
    for path in [
        filing_path.as_str(),
        service_path.as_str(),
        "/workspace",
        "/services/new",
        "/register",
    ] {
        d.goto(path);
        assert_eq!(d.script(english), json!(""), "English on zh page {path}");
    }

    // --- the screening playground highlights a disguised term
    d.goto("/tools/screen");
    d.fill("#text", "他们在练 法.輪.功 吗？");
    d.submit("#screen-run");
    let mark = d.text("mark.hit");
    assert!(mark.starts_with("法.輪.功"), "highlighted in place: {mark}");
    assert!(mark.contains("A.1.h"), "{mark}");
    d.shot("09-playground");

    // --- the audit page at 1366 px: fits, key-value details, China times, filters keep values
    d.sign_in("auditor");
    d.cmd(
        "POST",
        "/window/rect",
        Some(json!({"width": 1366, "height": 900})),
    );
    d.goto("/audit?action=filing");
    assert_eq!(
        d.script("return document.getElementById('a-action').value"),
        json!("filing")
    );
    assert!(
        d.text("table.audit tbody").contains("+08:00"),
        "China time with offset"
    );
    assert!(
        d.count("table.audit dl.kv") > 0,
        "details as key-value lists"
    );
    let narrow = d.script("return Array.from(document.querySelectorAll('table.audit th')).map(e => e.getBoundingClientRect().width).filter(w => w < 48).length");
    assert_eq!(narrow, json!(0), "no column collapses");
    d.shot("10-audit-1366");

    // --- both layouts hold at 375 px and 1366 px: nothing overflows the viewport
    let overflow = "const w = document.documentElement.clientWidth;
        const bad = Array.from(document.querySelectorAll('body *')).filter(e => {
          const r = e.getBoundingClientRect();
          if (r.width === 0 || r.right <= w + 1) return false;
          for (let p = e.parentElement; p; p = p.parentElement) {
            const s = getComputedStyle(p);
            if ((s.overflowX === 'auto' || s.overflowX === 'scroll' || s.overflowX === 'hidden') && p.getBoundingClientRect().right <= w + 1) return false;
          }
          return true;
        });
        return bad.slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id + ':' + Math.round(e.getBoundingClientRect().right)).join(' ') + (document.documentElement.scrollWidth > w + 1 ? ' scrollWidth=' + document.documentElement.scrollWidth : '');";
    for (width, user) in [(375, "auditor"), (1366, "editor-a"), (375, "editor-a")] {
        d.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": 900})),
        );
        d.sign_in(user);
        let pages: Vec<String> = if user == "auditor" {
            vec!["/audit".into(), filing_path.clone()]
        } else {
            vec![
                "/tools/compare?example=public-chatbot".into(),
                service_path.clone(),
                filing_path.clone(),
                "/workspace".into(),
                "/register".into(),
                "/tools/law-diff".into(),
            ]
        };
        for path in pages {
            d.goto(&path);
            assert_eq!(d.script(overflow), json!(""), "{path} at {width} px");
            let name = path.trim_matches('/').replace(['/', '?', '=', '&'], "-");
            d.shot(&format!("11-{width}-{user}-{name}"));
        }
    }
    assert!(
        d.script("return document.querySelectorAll('table.compare th').length")
            .as_u64()
            .is_some()
    );
    drop(d);
    eprintln!("screenshots in {}", shots.display());
}

/// Every page a signed-in provider, provincial reviewer, national reviewer
/// and auditor (and the public) can reach, in Chinese and English, at 375 px
/// and 1366 px: nothing overflows the viewport, Chinese pages carry no
/// English interface text, English pages none of the Chinese interface
/// strings, and error pages keep the navigation and the sign-in state.
#[test]
fn every_page_in_both_languages_at_both_widths() {
    let Some((chromium, chromedriver)) =
        browser_bins("every_page_in_both_languages_at_both_widths")
    else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ctx = rt.block_on(common::sqlite());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = ctx.app.clone();
    rt.spawn(async move { axum::serve(listener, app).await });

    // a filing in every state
    use beian_registry::{Action, FilingKind, NewFiling, Status};
    let (
        draft,
        empty,
        submitted,
        provincial,
        national_rev,
        approved,
        cancelled,
        returned,
        rejected,
    ) = rt.block_on(async {
        let s = ctx.store();
        let draft = ctx.filing_in(Status::Draft).await;
        let empty = s
            .create_filing(
                ctx.user("editor-a"),
                NewFiling {
                    kind: FilingKind::GenaiFiling,
                    name: "空白模型".into(),
                    name_latin: None,
                    service_id: Some(ctx.service_a.id),
                    province: None,
                    form: json!({}),
                    org_id: None,
                },
            )
            .await
            .unwrap();
        let submitted = ctx.filing_in(Status::Submitted).await;
        let provincial = ctx.filing_in(Status::ProvincialReview).await;
        let national_rev = ctx.filing_in(Status::NationalReview).await;
        let approved = ctx.filing_in(Status::Approved).await;
        let cancelled = ctx.filing_in(Status::Approved).await;
        s.act(
            ctx.user("admin-a"),
            cancelled.id,
            Action::Cancel,
            Some("服务已停止运营".into()),
        )
        .await
        .unwrap();
        let returned = ctx.filing_in(Status::ProvincialReview).await;
        s.act(
            ctx.user("rev-bj"),
            returned.id,
            Action::Return,
            Some("请补充训练语料来源说明".into()),
        )
        .await
        .unwrap();
        let rejected = ctx.filing_in(Status::ProvincialReview).await;
        s.act(
            ctx.user("rev-bj"),
            rejected.id,
            Action::Reject,
            Some("安全评估不充分".into()),
        )
        .await
        .unwrap();
        (
            draft,
            empty,
            submitted,
            provincial,
            national_rev,
            approved,
            cancelled,
            returned,
            rejected,
        )
    });
    let summary = rt.block_on(async {
        ctx.store()
            .list_attachments(ctx.user("editor-a"), draft.id)
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.filename == "summary.json")
            .map(|a| a.id)
            .unwrap()
    });
    let sid = ctx.service_a.id;
    let enc = beian_server::web::urlencode;
    let entry =
        |n: &Option<String>| format!("/register/entry?number={}", enc(n.as_deref().unwrap()));
    let f = |id: i64| format!("/filings/{id}");
    let public: Vec<String> = vec![
        "/".into(),
        "/register".into(),
        "/register?status=all".into(),
        "/register?status=cancelled".into(),
        entry(&approved.number),
        entry(&cancelled.number),
        "/tools/screen".into(),
        "/tools/compare".into(),
        "/tools/compare?example=public-chatbot".into(),
        "/tools/law-diff".into(),
        "/no/such/page".into(),
    ];
    let mut plan: Vec<(&str, Vec<String>)> = vec![(
        "anonymous",
        [public.clone(), vec!["/login".into()]].concat(),
    )];
    plan.push((
        "editor-a",
        [
            vec![
                "/workspace".into(),
                "/services/new".into(),
                "/services/new?example=public-chatbot".into(),
                format!("/services/{sid}"),
                format!("/services/{sid}/edit"),
                f(draft.id),
                f(empty.id),
                f(submitted.id),
                f(returned.id),
                f(rejected.id),
                f(approved.id),
                f(cancelled.id),
                format!("/filings/{}/assessment/{summary}", draft.id),
                "/review".into(),
                "/audit".into(),
                "/filings/999999".into(),
            ],
            public.clone(),
        ]
        .concat(),
    ));
    plan.push((
        "rev-bj",
        vec![
            "/review".into(),
            "/review?status=returned".into(),
            f(submitted.id),
            f(provincial.id),
            f(returned.id),
            f(rejected.id),
            f(approved.id),
            format!("/services/{sid}"),
            "/workspace".into(),
            "/no/such/page".into(),
        ],
    ));
    plan.push((
        "rev-sh",
        vec![
            "/review".into(),
            f(submitted.id),
            format!("/services/{sid}"),
        ],
    ));
    plan.push((
        "national",
        vec![
            "/review".into(),
            format!("/review?province={}", enc("北京市")),
            f(submitted.id),
            f(national_rev.id),
            f(approved.id),
            f(cancelled.id),
            format!("/filings/{}/assessment/{summary}", draft.id),
        ],
    ));
    plan.push((
        "auditor",
        vec![
            "/audit".into(),
            "/audit?action=filing".into(),
            f(approved.id),
            f(cancelled.id),
        ],
    ));

    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    let shots = target.join("e2e-screenshots").join("sweep");
    std::fs::create_dir_all(&shots).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = start_driver(
        &chromium,
        &chromedriver,
        format!("http://{addr}"),
        shots.clone(),
        &tmp.path().join("chromium-profile"),
    );
    // Chinese glosses the knowledge base gives in English help texts
    let glosses = ["应用领域", "备案号"];
    let zh_ui: Vec<&str> = beian_server::web::i18n::STRINGS
        .iter()
        .chain(beian_server::web::i18n::LABELS.iter())
        .map(|x| x.1)
        .filter(|z| z.chars().count() >= 3 && !z.chars().any(|c| c.is_ascii_alphabetic()))
        .filter(|z| !glosses.contains(z))
        .collect();
    let allowed = [
        "beian", "CSV", "XLSX", "JSON", "JSONL", "PDF", "HTML", "UTC", "API", "GB", "ISO", "YYYY",
        "assess", "summary", "report", "scan", "review", "json", "classify", "format", "RFC",
    ];
    let check = format!(
        "const zh = document.documentElement.lang === 'zh';
        const w = document.documentElement.clientWidth;
        const over = Array.from(document.querySelectorAll('body *')).filter(e => {{
          const r = e.getBoundingClientRect();
          if (r.width === 0 || r.right <= w + 1) return false;
          for (let p = e.parentElement; p; p = p.parentElement) {{
            const s = getComputedStyle(p);
            if ((s.overflowX === 'auto' || s.overflowX === 'scroll' || s.overflowX === 'hidden') && p.getBoundingClientRect().right <= w + 1) return false;
          }}
          return true;
        }}).slice(0, 4).map(e => e.tagName + '.' + e.className + '#' + e.id + ':' + Math.round(e.getBoundingClientRect().right));
        if (document.documentElement.scrollWidth > w + 1) over.push('scrollWidth=' + document.documentElement.scrollWidth);
        const skip = 'code, script, style, time, cite, textarea, [translate=no], .mono, .who, body [lang=en], body [lang=zh]';
        const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        let text = ''; let n;
        while ((n = walk.nextNode())) {{ if (!n.parentElement.closest(skip)) text += ' ' + n.textContent; }}
        for (const e of document.querySelectorAll('[title], [placeholder], [aria-label]')) {{
          if (e.closest(skip)) continue;
          for (const a of ['title', 'placeholder', 'aria-label']) if (e.getAttribute(a)) text += ' ' + e.getAttribute(a);
        }}
        const allowed = {allowed};
        const english = zh ? Array.from(new Set(text.match(/[A-Za-z]{{3,}}/g) || [])).filter(x => !allowed.some(a => a.toLowerCase() === x.toLowerCase())) : [];
        const zhui = {zh_ui};
        const leaked = zh ? [] : zhui.filter(z => text.includes(z));
        const nav = !!document.querySelector('header.top nav a[href=\"/register\"]');
        const signedIn = !!document.querySelector('header .session .who');
        const loginLink = !!document.querySelector('header .session a[href^=\"/login\"]');
        return {{lang: document.documentElement.lang, width: w, over: over.join(' '), english: english.join(' '), leaked: leaked.join(' '), nav, signedIn, loginLink, title: document.title}};",
        allowed = serde_json::to_string(&allowed).unwrap(),
        zh_ui = serde_json::to_string(&zh_ui).unwrap(),
    );
    let mut problems = Vec::new();
    let mut visited = 0;
    for width in [375u32, 1366] {
        d.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": 900})),
        );
        for (user, pages) in &plan {
            if *user == "anonymous" {
                d.cmd("DELETE", "/cookie", None);
            } else {
                d.sign_in(user);
            }
            for lang in ["zh", "en"] {
                d.goto(&format!("/lang/{lang}?next=%2F"));
                let mut probe = |path: &str, problems: &mut Vec<String>| {
                    visited += 1;
                    let v = d.script(&check);
                    let here = format!("{user} {lang} {width}px {path}");
                    if v["lang"] != lang {
                        problems.push(format!("{here}: page language {}", v["lang"]));
                    }
                    if v["over"] != "" {
                        problems.push(format!("{here}: overflow {}", v["over"]));
                    }
                    if v["english"] != "" {
                        problems.push(format!("{here}: English {}", v["english"]));
                    }
                    if v["leaked"] != "" {
                        problems.push(format!("{here}: Chinese {}", v["leaked"]));
                    }
                    if v["nav"] != true {
                        problems.push(format!("{here}: no navigation"));
                    }
                    let signed = *user != "anonymous";
                    if v["signedIn"] != signed || v["loginLink"] == signed {
                        problems.push(format!("{here}: wrong sign-in state {v}"));
                    }
                    let name = format!("{width}-{lang}-{user}-{}", path.trim_matches('/'))
                        .replace(['/', '?', '=', '&', '%', ' '], "-");
                    if let Ok(dir) = std::env::var("BEIAN_DUMP_PAGES") {
                        let text = d.script("return document.body.innerText");
                        std::fs::write(format!("{dir}/{name}.txt"), text.as_str().unwrap_or(""))
                            .unwrap();
                    }
                    if lang == "zh" || width == 375 {
                        d.shot(&name);
                    }
                };
                for path in pages {
                    d.goto(path);
                    probe(path, &mut problems);
                }
                // pages that only a form post reaches: the other steps of the
                // guided form, refusals, and the confirmation steps
                match *user {
                    "editor-a" => {
                        d.goto("/services/new?example=public-chatbot");
                        for n in 2..=4 {
                            d.submit(&format!("#goto-step-{n}"));
                            probe(&format!("services-new step {n}"), &mut problems);
                        }
                        d.goto(&f(empty.id));
                        d.submit("#act-submit");
                        assert_eq!(d.count("#flash"), 1, "submit refused");
                        probe("refused submit", &mut problems);
                        d.goto(&format!("/services/{sid}/edit"));
                        d.submit("#create-service");
                        probe("obligation diff", &mut problems);
                    }
                    "rev-bj" => {
                        d.goto(&f(provincial.id));
                        d.fill("#c-reject", "材料不全");
                        d.submit("#act-reject");
                        assert_eq!(d.count("#confirm-box"), 1);
                        probe("confirm reject", &mut problems);
                    }
                    "national" => {
                        d.goto(&f(submitted.id));
                        d.select("#pv-province", "上海市");
                        d.fill("#pv-reason", "运营主体已迁至上海");
                        d.submit("#act-province");
                        assert_eq!(d.count("#confirm-province-box"), 1);
                        probe("confirm province", &mut problems);
                        d.goto(&f(approved.id));
                        d.fill("#c-cancel", "服务已停止运营");
                        d.submit("#act-cancel");
                        assert_eq!(d.count("#confirm-box"), 1);
                        probe("confirm cancel", &mut problems);
                    }
                    _ => {}
                }
            }
        }
    }
    eprintln!("{visited} page views; screenshots in {}", shots.display());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    drop(d);
}
