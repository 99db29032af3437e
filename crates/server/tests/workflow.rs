//! The filing workflow's guardrails through the real router over a real
//! SQLite store: the 409 body naming failing pre-checks, approval over
//! failing checks only with an override reason (audited, in the thread),
//! cancel with a reason, the register's `status=`, restricted reads refused
//! and audited, failed sign-ins audited, and the language of every page
//! (no English in Chinese pages, no Chinese interface text in English ones).

#![allow(clippy::unwrap_used)] // tests: a panic is a failure with its message

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use beian_registry::{Action, FilingKind, NewFiling, Status};
use common::{Ctx, Resp};
use serde_json::{Value, json};

fn html(r: &Resp) -> String {
    String::from_utf8_lossy(&r.bytes).into_owned()
}

/// A page as `role` (API token) in `lang`.
async fn page(ctx: &Ctx, role: &str, lang: &str, uri: &str) -> Resp {
    let mut b = Request::get(uri).header("cookie", format!("beian_lang={lang}"));
    if let Some(t) = ctx.tokens.get(role) {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    ctx.raw(b.body(Body::empty()).unwrap()).await
}

async fn audit_actions(ctx: &Ctx) -> Vec<Value> {
    let r = ctx
        .call("auditor", "GET", "/api/v1/audit?limit=1000", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    r.json().as_array().unwrap().clone()
}

#[tokio::test]
async fn api_guardrails_override_cancel_and_register_status() {
    guardrails(common::sqlite().await).await;
}

#[tokio::test]
async fn api_guardrails_postgres() {
    if let Some(ctx) = common::postgres("api_guardrails_postgres").await {
        guardrails(ctx).await;
    }
}

async fn guardrails(ctx: Ctx) {
    let sid = ctx.service_a.id;
    // an empty genAI filing: the live checklist names what is missing
    let r = ctx
        .call(
            "editor-a",
            "POST",
            "/api/v1/filings",
            Some(json!({"kind": "genai-filing", "name": "空白模型", "service_id": sid})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let fid = r.json()["id"].as_i64().unwrap();
    let checks = ctx
        .call(
            "editor-a",
            "GET",
            &format!("/api/v1/filings/{fid}/checks"),
            None,
        )
        .await
        .json();
    let req = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "required-attachments")
        .unwrap();
    assert_eq!(req["status"], "fail");
    assert_eq!(req["blocking"], true);
    // submit: 409 naming each failing check
    let r = ctx
        .call(
            "editor-a",
            "POST",
            &format!("/api/v1/filings/{fid}/actions"),
            Some(json!({"action": "submit"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", html(&r));
    let ids: Vec<String> = serde_json::from_value(r.json()["failing_checks"].clone()).unwrap();
    for id in [
        "required-attachments",
        "keyword-coverage",
        "question-coverage",
        "metric-generated_qualified",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} in {ids:?}");
    }
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("required-attachments")
    );
    // with the complete package it goes through
    ctx.attach_complete(fid).await;
    let r = ctx
        .call(
            "editor-a",
            "POST",
            &format!("/api/v1/filings/{fid}/actions"),
            Some(json!({"action": "submit"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", html(&r));
    assert_eq!(r.json()["status"], "submitted");

    // the service changes after submission: approval now meets a failing check
    ctx.store()
        .update_service_profile(
            ctx.user("editor-a"),
            sid,
            "甲助手",
            json!({"name": "甲助手", "public_facing": false}),
            None,
        )
        .await
        .unwrap();
    let act = |a: Value| {
        let ctx = &ctx;
        async move {
            ctx.call(
                if a["action"] == "approve" && a.get("national").is_some() {
                    "national"
                } else {
                    "rev-bj"
                },
                "POST",
                &format!("/api/v1/filings/{fid}/actions"),
                Some({
                    let mut a = a;
                    a.as_object_mut().unwrap().remove("national");
                    a
                }),
            )
            .await
        }
    };
    assert_eq!(
        act(json!({"action": "start-review"})).await.status,
        StatusCode::OK
    );
    let r = act(json!({"action": "approve"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        r.json()["failing_checks"],
        json!(["classification-consistent"])
    );
    let r = act(json!({"action": "approve", "override_reason": "   "})).await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "a blank reason is no reason"
    );
    let r = act(json!({"action": "approve", "override_reason": "画像误改，已核实服务仍面向公众"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", html(&r));
    assert_eq!(r.json()["status"], "national-review");
    let r = act(json!({"action": "approve", "national": true, "override_reason": "同意省级意见"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", html(&r));
    let number = r.json()["number"].as_str().unwrap().to_string();
    // the override is in the thread and in the audit log
    let ev = ctx
        .call(
            "editor-a",
            "GET",
            &format!("/api/v1/filings/{fid}/events"),
            None,
        )
        .await
        .json();
    let overrides: Vec<&Value> = ev
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["override_reason"].is_string())
        .collect();
    assert_eq!(overrides.len(), 2, "{ev:#}");
    assert_eq!(
        overrides[0]["override_reason"],
        "画像误改，已核实服务仍面向公众"
    );
    assert_eq!(
        overrides[0]["failing"],
        json!(["classification-consistent"])
    );
    let audit = audit_actions(&ctx).await;
    assert!(
        audit.iter().any(|e| e["action"] == "filing.approve"
            && e["detail"]["override_reason"] == "画像误改，已核实服务仍面向公众"
            && e["detail"]["failing_checks"] == json!(["classification-consistent"])),
        "override audited"
    );

    // cancel needs a reason
    let r = ctx
        .call(
            "admin-a",
            "POST",
            &format!("/api/v1/filings/{fid}/actions"),
            Some(json!({"action": "cancel"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["field"], "comment");
    let r = ctx
        .call(
            "admin-a",
            "POST",
            &format!("/api/v1/filings/{fid}/actions"),
            Some(json!({"action": "cancel", "comment": "服务已停止运营"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", html(&r));

    // the register: active by default, cancelled and all on request; every item has a status
    let reg = |q: &'static str| {
        let ctx = &ctx;
        async move {
            ctx.call(
                "anonymous",
                "GET",
                &format!("/api/v1/register?q=%E7%A9%BA%E7%99%BD{q}"),
                None,
            )
            .await
        }
    };
    let active = reg("").await.json();
    assert_eq!(active["total"], 0, "{active}");
    let cancelled = reg("&status=cancelled").await.json();
    assert_eq!(cancelled["total"], 1, "{cancelled}");
    let item = &cancelled["items"][0];
    assert_eq!(item["filing_number"], number);
    assert_eq!(item["status"], "cancelled");
    assert!(item["cancelled_on"].is_string(), "{item}");
    let all = reg("&status=all").await.json();
    assert_eq!(all["total"], 1);
    let every = ctx
        .call("anonymous", "GET", "/api/v1/register?status=all", None)
        .await
        .json();
    for i in every["items"].as_array().unwrap() {
        assert!(
            matches!(i["status"].as_str(), Some("active" | "cancelled")),
            "{i}"
        );
    }
    let r = reg("&status=gone").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["field"], "status");
    // its page stays, marked cancelled with the date
    let r = page(
        &ctx,
        "anonymous",
        "zh",
        &format!(
            "/register/entry?number={}",
            beian_server::web::urlencode(&number)
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let h = html(&r);
    assert!(
        h.contains("已注销") && h.contains(item["cancelled_on"].as_str().unwrap()),
        "{h}"
    );
    for label in ["角色", "应用产品", "主要用途", "备注", "算法机制"] {
        assert!(h.contains(label), "entry page shows {label}");
    }
}

#[tokio::test]
async fn restricted_reads_and_failed_sign_ins_are_audited() {
    let ctx = common::sqlite().await;
    let sid = ctx.service_a.id;
    // a Shanghai reviewer cannot read a Beijing provider's service: 404, audited
    for uri in [format!("/api/v1/services/{sid}")] {
        let r = ctx.call("rev-sh", "GET", &uri, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
    }
    let r = page(&ctx, "rev-sh", "zh", &format!("/services/{sid}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let h = html(&r);
    assert!(
        h.contains("页面不存在") && h.contains("/review"),
        "zh 404 page with navigation: {h}"
    );
    assert!(
        !h.contains("登录 Sign in") && !h.contains(">登录<"),
        "signed-in state: {h}"
    );
    let r = page(&ctx, "rev-bj", "zh", &format!("/services/{sid}")).await;
    assert_eq!(r.status, StatusCode::OK);
    // a filing of another organisation: 404 and audited
    let f = ctx.filing_in(Status::Draft).await;
    let r = ctx
        .call("admin-b", "GET", &format!("/api/v1/filings/{}", f.id), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // failed sign-in
    let r = ctx
        .call(
            "anonymous",
            "POST",
            "/api/v1/auth/login",
            Some(json!({"username": "editor-a", "password": "wrong-password"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let audit = audit_actions(&ctx).await;
    let has = |action: &str, subject: &str, actor: &str| {
        audit.iter().any(|e| {
            e["action"] == action
                && e["subject"] == subject
                && e["actor"].as_str().unwrap().contains(actor)
        })
    };
    assert!(
        has("read.refused", &format!("service:{sid}"), "rev-sh"),
        "{audit:#?}"
    );
    assert!(has("service.read", &format!("service:{sid}"), "rev-bj"));
    assert!(has("read.refused", &format!("filing:{}", f.id), "admin-b"));
    assert!(has(
        "session.login.failed",
        "username:editor-a",
        "anonymous"
    ));
    assert!(
        !audit
            .iter()
            .any(|e| e.to_string().contains("wrong-password")),
        "no password in the log"
    );
    // error pages: English for English users, with the sign-in link when anonymous
    let r = page(&ctx, "anonymous", "en", "/no/such/page").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let h = html(&r);
    assert!(
        h.contains("Not found") && h.contains("Sign in") && h.contains("href=\"/register\""),
        "{h}"
    );
}

/// The visible text of a page, without data: `<code>`, `<script>`,
/// `<style>`, and elements marked `translate="no"` or `class="mono"` (names,
/// file names, filing numbers, identifiers), plus `title`/`placeholder`/
/// `aria-label` attribute values.
fn ui_text(h: &str) -> String {
    let body = h.split("<body").nth(1).unwrap_or(h);
    let mut out = String::new();
    let mut rest = body;
    // skip a whole element starting at `rest` (which begins with `<tag`)
    fn skip_element(s: &str) -> &str {
        let tag: String = s[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let close = format!("</{tag}>");
        let open = format!("<{tag}");
        let mut depth = 0usize;
        let mut i = 0;
        while i < s.len() {
            if s[i..].starts_with(&open) {
                depth += 1;
                i += open.len();
            } else if s[i..].starts_with(&close) {
                depth -= 1;
                i += close.len();
                if depth == 0 {
                    return &s[i..];
                }
            } else {
                i += s[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
        ""
    }
    while let Some(p) = rest.find('<') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let end = rest.find('>').unwrap_or(rest.len() - 1);
        let tag = &rest[..=end];
        let name: String = tag[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let data = matches!(
            name.as_str(),
            "code" | "script" | "style" | "time" | "cite" | "textarea"
        ) || tag.contains("translate=\"no\"")
            || tag.contains("class=\"mono")
            || tag.contains(" mono\"")
            || tag.contains("class=\"who\"")
            || tag.contains("lang=\"en\"")
            || tag.contains("lang=\"zh\"");
        if data && !tag.ends_with("/>") && !matches!(name.as_str(), "input" | "br") {
            rest = skip_element(rest);
            out.push(' ');
            continue;
        }
        for attr in ["title=\"", "placeholder=\"", "aria-label=\""] {
            if let Some(v) = tag.split(attr).nth(1) {
                out.push(' ');
                out.push_str(v.split('"').next().unwrap_or(""));
                out.push(' ');
            }
        }
        out.push(' ');
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
}

/// English words (3+ ASCII letters) in a Chinese page's interface text.
fn english_words(text: &str, allowed: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 3)
        .filter(|w| !allowed.iter().any(|a| a.eq_ignore_ascii_case(w)))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[tokio::test]
async fn zh_pages_have_no_english_and_en_pages_no_chinese_interface_text() {
    let ctx = common::sqlite().await;
    let sid = ctx.service_a.id;
    let draft = ctx.filing_in(Status::Draft).await;
    let approved = ctx.filing_in(Status::Approved).await;
    let submitted = ctx.filing_in(Status::Submitted).await;
    let s = ctx.store();
    let empty = s
        .create_filing(
            ctx.user("editor-a"),
            NewFiling {
                kind: FilingKind::GenaiFiling,
                name: "空白模型".into(),
                name_latin: None,
                service_id: Some(sid),
                province: None,
                form: json!({}),
                org_id: None,
            },
        )
        .await
        .unwrap();
    s.act(
        ctx.user("admin-a"),
        approved.id,
        Action::Cancel,
        Some("停止运营".into()),
    )
    .await
    .unwrap();
    let number = beian_server::web::urlencode(approved.number.as_deref().unwrap());
    // a filing in every other state a user meets
    let provincial = ctx.filing_in(Status::ProvincialReview).await;
    let national_rev = ctx.filing_in(Status::NationalReview).await;
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
    let summary = s
        .list_attachments(ctx.user("editor-a"), draft.id)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.filename == "summary.json")
        .unwrap()
        .id;
    let mut more: Vec<(&str, String)> = Vec::new();
    for who in ["editor-a", "rev-bj", "national", "auditor"] {
        for id in [
            submitted.id,
            provincial.id,
            national_rev.id,
            returned.id,
            rejected.id,
            approved.id,
        ] {
            more.push((who, format!("/filings/{id}")));
        }
        more.push((who, "/filings/999999".into()));
        more.push((who, "/no/such/page".into()));
        more.push((who, format!("/filings/{}/assessment/{summary}", draft.id)));
    }
    for who in ["rev-bj", "rev-sh", "national"] {
        more.push((who, "/review?status=returned".into()));
        more.push((who, format!("/services/{sid}")));
    }
    more.push(("rev-sh", "/review".into()));
    more.push((
        "national",
        "/review?province=%E5%8C%97%E4%BA%AC%E5%B8%82".into(),
    ));
    more.push(("auditor", "/audit?action=filing".into()));
    more.push(("editor-a", "/review".into()));
    more.push(("editor-a", "/audit".into()));
    more.push(("anonymous", "/register?status=cancelled".into()));
    let mut pages: Vec<(&str, String)> = vec![
        ("anonymous", "/".into()),
        ("anonymous", "/register".into()),
        ("anonymous", "/register?status=all".into()),
        ("anonymous", format!("/register/entry?number={number}")),
        ("anonymous", "/login".into()),
        ("anonymous", "/tools/screen".into()),
        ("anonymous", "/tools/compare".into()),
        ("anonymous", "/tools/compare?example=public-chatbot".into()),
        ("anonymous", "/tools/law-diff".into()),
        ("anonymous", "/no/such/page".into()),
        ("editor-a", "/workspace".into()),
        ("editor-a", "/services/new".into()),
        ("editor-a", "/services/new?example=public-chatbot".into()),
        ("editor-a", format!("/services/{sid}")),
        ("editor-a", format!("/services/{sid}/edit")),
        ("editor-a", format!("/filings/{}", draft.id)),
        ("editor-a", format!("/filings/{}", empty.id)),
        ("editor-a", format!("/filings/{}", approved.id)),
        ("rev-bj", "/review".into()),
        ("rev-bj", format!("/filings/{}", submitted.id)),
        ("national", "/review".into()),
        ("auditor", "/audit".into()),
        ("admin-b", format!("/filings/{}", draft.id)),
    ];
    pages.extend(more);
    // names of things (data, not interface): the product names of beian and of formats
    let allowed = [
        "beian", "CSV", "XLSX", "JSON", "JSONL", "PDF", "HTML", "UTC", "API", "TC", "GB", "assess",
        "summary", "report", "scan", "review", "format", "json", "classify", "htmx", "ISO", "RFC",
        "YYYY",
    ];
    // Chinese glosses the knowledge base gives in English help texts
    let glosses = ["应用领域", "备案号"];
    let zh_ui: Vec<&str> = beian_server::web::i18n::STRINGS
        .iter()
        .chain(beian_server::web::i18n::LABELS.iter())
        .map(|x| x.1)
        .filter(|z| z.chars().count() >= 3 && !z.chars().any(|c| c.is_ascii_alphabetic()))
        .collect();
    let mut problems = Vec::new();
    for (role, uri) in &pages {
        let zh = page(&ctx, role, "zh", uri).await;
        assert!(
            zh.status.is_success()
                || zh.status.is_redirection()
                || zh.status == StatusCode::NOT_FOUND
                || zh.status == StatusCode::FORBIDDEN,
            "{role} {uri}: {}",
            zh.status
        );
        if let Ok(dir) = std::env::var("BEIAN_DUMP_PAGES") {
            let name = format!("{role}{uri}").replace(['/', '?', '=', '&'], "_");
            std::fs::write(format!("{dir}/{name}.zh.txt"), ui_text(&html(&zh))).unwrap();
        }
        let words = english_words(&ui_text(&html(&zh)), &allowed);
        if !words.is_empty() {
            problems.push(format!("zh {role} {uri}: {words:?}"));
        }
        let en = page(&ctx, role, "en", uri).await;
        let text = ui_text(&html(&en));
        let leaked: Vec<&&str> = zh_ui
            .iter()
            .filter(|z| text.contains(**z) && !glosses.contains(*z))
            .collect();
        if !leaked.is_empty() {
            problems.push(format!("en {role} {uri}: {leaked:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every example profile as a saved service: its page (classification,
/// obligations, deadlines), its edit form and its regime comparison carry no
/// English interface text in Chinese and no Chinese interface strings in English.
#[tokio::test]
async fn example_services_pages_speak_the_page_language() {
    let ctx = common::sqlite().await;
    let kb = beian_kb::Kb::embedded().unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    let allowed = [
        "beian", "CSV", "XLSX", "JSON", "JSONL", "PDF", "HTML", "UTC", "API", "TC", "GB", "assess",
        "summary", "report", "scan", "review", "format", "json", "classify", "htmx", "ISO", "RFC",
        "YYYY",
    ];
    let glosses = ["应用领域", "备案号"];
    let zh_ui: Vec<&str> = beian_server::web::i18n::STRINGS
        .iter()
        .chain(beian_server::web::i18n::LABELS.iter())
        .map(|x| x.1)
        .filter(|z| z.chars().count() >= 3 && !z.chars().any(|c| c.is_ascii_alphabetic()))
        .filter(|z| !glosses.contains(z))
        .collect();
    let mut problems = Vec::new();
    let mut n = 0;
    for path in names {
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => beian_kb::ProfileFormat::Toml,
            Some("yaml" | "yml") => beian_kb::ProfileFormat::Yaml,
            Some("json") => beian_kb::ProfileFormat::Json,
            _ => continue,
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let slug = path.file_stem().unwrap().to_string_lossy().to_string();
        let p = beian_kb::Profile::from_text(&text, format, &slug, kb.profile_schema())
            .unwrap_or_else(|e| panic!("{slug}: {e}"));
        let mut profile = p.to_json();
        // the registry keeps Chinese province names
        if let Some(prov) = profile.get("province").and_then(|v| v.as_str())
            && let Some(canon) = beian_registry::province::canonical(prov)
        {
            profile["province"] = json!(canon);
        }
        let sv = ctx
            .store()
            .create_service(
                ctx.user("editor-a"),
                beian_registry::NewService {
                    name: slug.clone(),
                    profile,
                    launched_on: None,
                    stopped_on: None,
                    org_id: None,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{slug}: {e}"));
        n += 1;
        let mut uris = vec![
            format!("/services/{}", sv.id),
            format!("/services/{}/edit", sv.id),
            format!("/tools/compare?service={}", sv.id),
        ];
        // the examples the guided form offers to start from
        if html(&page(&ctx, "editor-a", "zh", "/services/new").await)
            .contains(&format!("<option value=\"{slug}\""))
        {
            uris.push(format!("/services/new?example={slug}"));
        }
        for uri in uris {
            let zh = page(&ctx, "editor-a", "zh", &uri).await;
            assert_eq!(zh.status, StatusCode::OK, "{uri}");
            let words = english_words(&ui_text(&html(&zh)), &allowed);
            if !words.is_empty() {
                problems.push(format!("zh {slug} {uri}: {words:?}"));
            }
            let en = page(&ctx, "editor-a", "en", &uri).await;
            let text = ui_text(&html(&en));
            let leaked: Vec<&&str> = zh_ui.iter().filter(|z| text.contains(**z)).collect();
            if !leaked.is_empty() {
                problems.push(format!("en {slug} {uri}: {leaked:?}"));
            }
        }
    }
    assert!(n >= 13, "examples found: {n}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A filing's page and the reviewer queue take the deadline's state from
/// that filing alone: a draft is "not submitted" even when another filing of
/// the service answers the deadline, and 已按期 only for a filing submitted in time.
#[tokio::test]
async fn filing_pages_show_their_own_deadline_state() {
    let ctx = common::sqlite().await;
    let s = ctx.store();
    let states = |h: &str| -> Vec<String> {
        h.split("data-state=\"")
            .skip(1)
            .map(|x| x.split('"').next().unwrap().to_string())
            .collect()
    };
    // service_a launched 2025-01-02: a genAI filing submitted now is late
    let late = ctx.filing_in(Status::Submitted).await;
    let draft = ctx.filing_in(Status::Draft).await;
    let h = html(&page(&ctx, "editor-a", "zh", &format!("/filings/{}", late.id)).await);
    assert_eq!(states(&h).first().map(String::as_str), Some("late"), "{h}");
    assert!(!h.contains("已按期"));
    let h = html(&page(&ctx, "editor-a", "zh", &format!("/filings/{}", draft.id)).await);
    assert_eq!(
        states(&h).first().map(String::as_str),
        Some("not-submitted"),
        "a draft does not borrow the other filing's state"
    );
    assert!(h.contains("未提交") && !h.contains("逾期提交"), "{h}");
    // a service launching later: submitted before launch is on time
    let sv = s
        .create_service(
            ctx.user("editor-a"),
            beian_registry::NewService {
                name: "甲新助手".into(),
                profile: json!({"name": "甲新助手", "public_facing": true, "generative": true, "public_opinion_attributes": true, "model_source": "self-developed"}),
                launched_on: Some("2099-01-02".into()),
                stopped_on: None,
                org_id: None,
            },
        )
        .await
        .unwrap();
    let on_time = s
        .create_filing(
            ctx.user("editor-a"),
            NewFiling {
                kind: FilingKind::GenaiFiling,
                name: "甲新模型".into(),
                name_latin: None,
                service_id: Some(sv.id),
                province: None,
                form: json!({}),
                org_id: None,
            },
        )
        .await
        .unwrap();
    ctx.attach_complete(on_time.id).await;
    s.act(ctx.user("editor-a"), on_time.id, Action::Submit, None)
        .await
        .unwrap();
    let h = html(&page(&ctx, "editor-a", "zh", &format!("/filings/{}", on_time.id)).await);
    assert_eq!(states(&h).first().map(String::as_str), Some("met"), "{h}");
    assert!(h.contains("已按期"));
    let h = html(&page(&ctx, "rev-bj", "zh", "/review?status=submitted").await);
    assert!(states(&h).contains(&"met".to_string()), "{h}");
    assert!(states(&h).contains(&"late".to_string()), "{h}");
}
