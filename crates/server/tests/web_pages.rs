//! The web pages through the real router (`oneshot`) over a real SQLite store:
//! the HTML says what it should, sessions and CSRF work, roles are enforced.

#![allow(clippy::unwrap_used)] // tests: a panic is a failure with its message

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use beian_registry::Status;
use common::{Ctx, Resp};

fn html(r: &Resp) -> String {
    String::from_utf8_lossy(&r.bytes).into_owned()
}

fn enc(s: &str) -> String {
    beian_server::web::urlencode(s)
}

/// Opens the sign-in form: (login CSRF cookie, hidden field's token).
async fn login_form(ctx: &Ctx) -> (String, String) {
    let r = get(ctx, "", "/login").await;
    assert_eq!(r.status, StatusCode::OK);
    let set = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        set.starts_with("beian_login_csrf=")
            && set.contains("HttpOnly")
            && set.contains("SameSite=Strict")
            && set.contains("Max-Age="),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    let token = html(&r)
        .split("name=\"login_csrf\" value=\"")
        .nth(1)
        .map(|x| x.split('"').next().unwrap().to_string())
        .expect("login_csrf field on the sign-in form");
    assert_eq!(cookie, format!("beian_login_csrf={token}"));
    (cookie, token)
}

/// A browser session: (cookie header, csrf token).
async fn login(ctx: &Ctx, user: &str) -> (String, String) {
    let (lc, token) = login_form(ctx).await;
    let r = post_form(
        ctx,
        &lc,
        "/login",
        &[
            ("username", user),
            ("password", "password-123"),
            ("next", "/"),
            ("login_csrf", &token),
        ],
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "login {user}: {}",
        html(&r)
    );
    let set = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("beian_session="))
        .unwrap();
    let cookie = set.split(';').next().unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"));
    // the CSRF token is in every page's forms
    let page = get(ctx, &cookie, "/tools/screen").await;
    let h = html(&page);
    let csrf = h
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .map(|x| x.split('"').next().unwrap().to_string())
        .expect("csrf field on page");
    (cookie, csrf)
}

async fn get(ctx: &Ctx, cookie: &str, uri: &str) -> Resp {
    let mut b = Request::get(uri);
    if !cookie.is_empty() {
        b = b.header("cookie", cookie);
    }
    ctx.raw(b.body(Body::empty()).unwrap()).await
}

async fn post_form(ctx: &Ctx, cookie: &str, uri: &str, fields: &[(&str, &str)]) -> Resp {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    let mut b = Request::post(uri).header("content-type", "application/x-www-form-urlencoded");
    if !cookie.is_empty() {
        b = b.header("cookie", cookie);
    }
    ctx.raw(b.body(Body::from(body.join("&"))).unwrap()).await
}

fn location(r: &Resp) -> String {
    r.headers
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn public_register_renders_server_side_with_exports_and_languages() {
    let ctx = common::sqlite().await;
    let f = ctx.filing_in(Status::Approved).await;
    let number = f.number.clone().unwrap();
    // no cookie, no JS: the results are in the HTML
    let r = get(&ctx, "", &format!("/register?q={}", enc("甲大模型"))).await;
    assert_eq!(r.status, StatusCode::OK);
    let h = html(&r);
    assert!(h.contains("<html lang=\"zh\""), "Chinese by default");
    assert!(h.contains("备案公示查询"));
    assert!(h.contains(&number), "{h}");
    assert!(h.contains("北京甲科技有限公司"));
    assert!(h.contains(&format!("/api/v1/register.csv?q={}", enc("甲大模型"))));
    assert!(h.contains("/api/v1/register.xlsx?q="));
    assert!(h.contains("<span id=\"total\">1</span>"));
    // a page per entry
    let r = get(
        &ctx,
        "",
        &format!("/register/entry?number={}", enc(&number)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(html(&r).contains("甲大模型") && html(&r).contains(&number));
    assert_eq!(
        get(&ctx, "", "/register/entry?number=nope").await.status,
        StatusCode::NOT_FOUND
    );
    // filters: another province finds nothing; bad input names the field
    let r = get(
        &ctx,
        "",
        &format!("/register?q={}&province={}", enc("甲大模型"), enc("上海市")),
    )
    .await;
    assert!(html(&r).contains("<span id=\"total\">0</span>"));
    let r = get(&ctx, "", "/register?kind=bogus").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("kind"), "{}", html(&r));
    let r = get(&ctx, "", "/register?page=abc").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // language switch is remembered in a cookie; pages follow it
    let r = get(&ctx, "", "/lang/en?next=%2Fregister").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/register");
    assert!(
        r.headers
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("beian_lang=en")
    );
    let h = html(&get(&ctx, "beian_lang=en", "/register").await);
    assert!(
        h.contains("<html lang=\"en\"") && h.contains("Public register"),
        "{h}"
    );
    // open redirects are refused
    let r = get(&ctx, "", "/lang/zh?next=%2F%2Fevil.example").await;
    assert_eq!(location(&r), "/");
    // static assets
    let css = get(&ctx, "", "/static/beian.css").await;
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
}

#[tokio::test]
async fn sign_in_and_csrf() {
    let ctx = common::sqlite().await;
    let (lc, token) = login_form(&ctx).await;
    let r = post_form(
        &ctx,
        &lc,
        "/login",
        &[
            ("username", "editor-a"),
            ("password", "wrong"),
            ("login_csrf", &token),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(html(&r).contains("login-error"));
    let (cookie, csrf) = login(&ctx, "editor-a").await;
    let h = html(&get(&ctx, &cookie, "/workspace").await);
    assert!(h.contains("editor-a") && h.contains("甲助手"), "{h}");
    // a form without the CSRF token is refused, with it accepted
    let fields = [
        ("p.name", "甲问答"),
        ("p.generative", "true"),
        ("p.public_facing", "true"),
        ("p.modalities", "text"),
        ("p.model_source", "self-developed"),
        ("p.launch_date", "2025-03-03"),
    ];
    let r = post_form(&ctx, &cookie, "/services", &fields).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut with = fields.to_vec();
    with.push(("csrf", &csrf));
    let r = post_form(&ctx, &cookie, "/services", &with).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    assert!(location(&r).starts_with("/services/"));
    // sign out needs the token too
    assert_eq!(
        post_form(&ctx, &cookie, "/logout", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let r = post_form(&ctx, &cookie, "/logout", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = get(&ctx, &cookie, "/workspace").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/login?next="));
}

#[tokio::test]
async fn login_without_its_csrf_token_is_refused() {
    let ctx = common::sqlite().await;
    let (lc, token) = login_form(&ctx).await;
    let creds = [("username", "editor-a"), ("password", "password-123")];
    let with = |t: &'static str| vec![creds[0], creds[1], ("login_csrf", t)];
    // no token at all; token without its cookie; cookie without the token;
    // a token that differs from the cookie's
    let token: &'static str = Box::leak(token.into_boxed_str());
    let other: &'static str = Box::leak(format!("{}x", &token[..token.len() - 1]).into_boxed_str());
    for (cookie, fields) in [
        ("", creds.to_vec()),
        ("", with(token)),
        (lc.as_str(), creds.to_vec()),
        (lc.as_str(), with(other)),
        (lc.as_str(), with("")),
    ] {
        let r = post_form(&ctx, cookie, "/login", &fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{cookie} {fields:?}");
        assert!(html(&r).contains("登录表单已过期"), "{}", html(&r));
        assert!(
            r.headers.get("set-cookie").is_none(),
            "no session on a refused login"
        );
    }
    // the same request with the matching pair signs in
    let r = post_form(&ctx, &lc, "/login", &with(token)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
}

#[tokio::test]
async fn guided_profile_classification_and_filing_lifecycle() {
    let ctx = common::sqlite().await;
    let (ed, ed_csrf) = login(&ctx, "editor-a").await;
    // the guided form has every schema field with its help text, over its four steps
    let mut h = html(&get(&ctx, &ed, "/services/new").await);
    for go in ["step-2", "step-3", "step-4"] {
        let r = post_form(
            &ctx,
            &ed,
            "/services",
            &[
                ("csrf", &ed_csrf),
                ("step", "1"),
                ("go", go),
                ("p.name", "x"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{go}");
        h.push_str(&html(&r));
    }
    let kb = beian_kb::Kb::embedded().unwrap();
    for f in &kb.profile_schema().fields {
        assert!(
            h.contains(&format!("name=\"p.{}\"", f.key)),
            "field {} missing",
            f.key
        );
        assert!(
            h.contains(&f.help_zh.replace('"', "&#34;").replace('\'', "&#39;"))
                || f.help_zh.is_empty()
                || h.contains(&f.key),
            "help of {}",
            f.key
        );
    }
    assert!(h.contains(&kb.profile_schema().fields[0].help_zh));
    // a wrong value is shown back on the form, naming the field
    let r = post_form(
        &ctx,
        &ed,
        "/services",
        &[
            ("csrf", &ed_csrf),
            ("p.name", "x"),
            ("p.registered_users", "many"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("registered_users"));
    let r = post_form(
        &ctx,
        &ed,
        "/services",
        &[
            ("csrf", &ed_csrf),
            ("p.name", "甲智能写作"),
            ("p.generative", "true"),
            ("p.public_facing", "true"),
            ("p.public_opinion_attributes", "true"),
            ("p.modalities", "text"),
            ("p.deep_synthesis_functions", "text-generation"),
            ("p.algorithm_types", "generation-synthesis"),
            ("p.model_source", "self-developed"),
            ("p.province", "北京"),
            ("p.launch_date", "2025-03-03"),
        ],
    )
    .await;
    let svc = location(&r);
    let h = html(&get(&ctx, &ed, &svc).await);
    let required: Vec<&str> = h
        .split("<li class=\"filing-req\">")
        .skip(1)
        .map(|x| x.split("</li>").next().unwrap())
        .collect();
    assert!(
        required
            .iter()
            .any(|x| x.contains("生成式人工智能服务备案")),
        "classification requires the genAI filing: {required:?}"
    );
    assert!(
        required.iter().any(|x| x.contains("算法备案")),
        "and the algorithm filing: {required:?}"
    );
    assert!(h.contains("<cite>"), "citations shown");
    assert!(h.contains("上线后备案"), "deadline shown");
    // assemble the filing
    let sid = svc.rsplit('/').next().unwrap();
    let r = post_form(
        &ctx,
        &ed,
        "/filings",
        &[
            ("csrf", &ed_csrf),
            ("kind", "genai-filing"),
            ("name", "甲智能写作"),
            ("service_id", sid),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let fpath = location(&r);
    let fid = fpath.rsplit('/').next().unwrap().to_string();
    let r = post_form(
        &ctx,
        &ed,
        &format!("{fpath}/edit"),
        &[
            ("csrf", &ed_csrf),
            ("name", "甲智能写作"),
            ("form.scenarios", "写作辅助"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // upload an attachment with a real multipart form
    let boundary = "XyZbeian";
    let report =
        br#"{"assess.generated.qualified": 0.97, "assess.should-refuse.refusal-rate": 0.5}"#;
    let mut body = Vec::new();
    for (k, v) in [
        ("csrf", ed_csrf.as_str()),
        ("kind", "self-assessment-report"),
    ] {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"run.json\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    body.extend(report);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::post(format!("{fpath}/attachments"))
        .header("cookie", &ed)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let r = ctx.raw(req).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let h = html(&get(&ctx, &ed, &fpath).await);
    assert!(h.contains("run.json") && h.contains("缺少必需附件"), "{h}");
    let aid = h
        .split(&format!("/filings/{fid}/assessment/"))
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    // the assessment viewer compares metrics with the kb's thresholds
    let h = html(&get(&ctx, &ed, &format!("/filings/{fid}/assessment/{aid}")).await);
    assert!(
        h.contains("assess.generated.qualified") && h.contains("badge ok"),
        "{h}"
    );
    assert!(h.contains("badge bad"), "refusal rate 0.5 fails: {h}");
    // incomplete: the submission is refused on the page, naming the checks
    let r = post_form(
        &ctx,
        &ed,
        &format!("{fpath}/action"),
        &[("csrf", &ed_csrf), ("action", "submit")],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(html(&r).contains("必备附件齐全"), "{}", html(&r));
    ctx.attach_complete(fid.parse().unwrap()).await;
    // submit; the checklist appears
    let r = post_form(
        &ctx,
        &ed,
        &format!("{fpath}/action"),
        &[("csrf", &ed_csrf), ("action", "submit")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let h = html(&get(&ctx, &ed, &fpath).await);
    assert!(h.contains("id=\"checklist\""), "{h}");
    // an illegal transition is refused on the page with the reason
    let r = post_form(
        &ctx,
        &ed,
        &format!("{fpath}/action"),
        &[("csrf", &ed_csrf), ("action", "submit")],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(html(&r).contains("此操作当前不可执行"), "{}", html(&r));

    // the other province's reviewer cannot see it; the Beijing reviewer queues it
    let (sh, _) = login(&ctx, "rev-sh").await;
    assert_eq!(get(&ctx, &sh, &fpath).await.status, StatusCode::NOT_FOUND);
    assert!(!html(&get(&ctx, &sh, "/review").await).contains("甲智能写作"));
    let (bj, bj_csrf) = login(&ctx, "rev-bj").await;
    let h = html(&get(&ctx, &bj, "/review").await);
    assert!(h.contains("甲智能写作") && h.contains("q-submitted"), "{h}");
    let r = post_form(
        &ctx,
        &bj,
        &format!("{fpath}/action"),
        &[("csrf", &bj_csrf), ("action", "start-review")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = post_form(
        &ctx,
        &bj,
        &format!("{fpath}/action"),
        &[
            ("csrf", &bj_csrf),
            ("action", "return"),
            ("comment", "请补充训练语料说明"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    // the provider sees the comment and may edit again
    let h = html(&get(&ctx, &ed, &fpath).await);
    assert!(
        h.contains("请补充训练语料说明")
            && h.contains("已退回修改")
            && h.contains("id=\"save-filing\""),
        "{h}"
    );
    // another organisation gets the same 404 as for a missing filing
    let (b, _) = login(&ctx, "admin-b").await;
    let r = get(&ctx, &b, &fpath).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        html(&r).replace(&format!("%2Ffilings%2F{fid}\""), "%2Ffilings%2FN\""),
        html(&get(&ctx, &b, "/filings/999999").await)
            .replace("%2Ffilings%2F999999\"", "%2Ffilings%2FN\"")
    );
    assert_eq!(
        get(&ctx, &b, &format!("/filings/{fid}/attachments/{aid}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&ctx, &b, &format!("/filings/{fid}/assessment/{aid}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(&ctx, &b, &svc).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn roles_are_enforced_on_pages() {
    let ctx = common::sqlite().await;
    let f = ctx.filing_in(Status::Submitted).await;
    // anonymous: private pages redirect to sign-in
    for uri in [
        "/workspace",
        "/review",
        "/audit",
        "/services/new",
        &format!("/filings/{}", f.id),
    ] {
        let r = get(&ctx, "", uri).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{uri}");
        assert!(location(&r).starts_with("/login?next="), "{uri}");
    }
    // anonymous writes: redirect, nothing written
    let r = post_form(
        &ctx,
        "",
        &format!("/filings/{}/action", f.id),
        &[("action", "cancel")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // a provider cannot read the audit log nor act as a reviewer
    let (ed, ed_csrf) = login(&ctx, "editor-a").await;
    assert_eq!(get(&ctx, &ed, "/audit").await.status, StatusCode::FORBIDDEN);
    let r = post_form(
        &ctx,
        &ed,
        &format!("/filings/{}/action", f.id),
        &[("csrf", &ed_csrf), ("action", "start-review")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let h = html(&get(&ctx, &ed, &format!("/filings/{}", f.id)).await);
    assert!(
        !h.contains("act-approve") && !h.contains("act-start-review"),
        "no reviewer buttons for providers"
    );
    // reviewers get no provider workspace forms
    let (rv, _) = login(&ctx, "rev-bj").await;
    assert_eq!(
        get(&ctx, &rv, "/services/new").await.status,
        StatusCode::FORBIDDEN
    );
    let h = html(&get(&ctx, &rv, &format!("/filings/{}", f.id)).await);
    assert!(
        h.contains("act-start-review") && !h.contains("act-submit"),
        "{h}"
    );
    // the auditor sees the log and the chain status, filterable
    let (au, _) = login(&ctx, "auditor").await;
    let h = html(&get(&ctx, &au, "/audit").await);
    assert!(h.contains("审计链校验通过"), "{h}");
    assert!(h.contains("filing.") || h.contains("service.create"), "{h}");
    let h = html(&get(&ctx, &au, "/audit?action=session.login").await);
    assert!(
        h.contains("session.login") && !h.contains(">service.create<"),
        "{h}"
    );
}

#[tokio::test]
async fn playground_highlights_disguised_terms_and_compare_renders() {
    let ctx = common::sqlite().await;
    let text = "他们在练 法.輪.功 吗？联系 13800138000";
    let r = post_form(&ctx, "", "/tools/screen", &[("text", text)]).await;
    assert_eq!(r.status, StatusCode::OK);
    let h = html(&r);
    assert!(h.contains("<mark class=\"hit\" data-risk=\"A.1.h\""), "{h}");
    assert!(
        h.contains(">法.輪.功<sup"),
        "the original bytes are highlighted in place: {h}"
    );
    // text around the finding is kept and escaped
    let r = post_form(
        &ctx,
        "",
        "/tools/screen",
        &[("text", "<script>x</script> 正常文本")],
    )
    .await;
    let h = html(&r);
    assert!(
        h.contains("&#60;script&#62;") || h.contains("&lt;script&gt;"),
        "{h}"
    );
    assert!(h.contains("<span id=\"hit-count\">0</span>"));
    // the home page and an empty comparison form render for anyone
    let h = html(&get(&ctx, "", "/").await);
    assert!(h.contains("href=\"/register\"") && h.contains("href=\"/tools/screen\""));
    let r = get(&ctx, "", "/tools/compare").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(html(&r).contains("public-chatbot") && !html(&r).contains("id=\"comparison\""));
    // regime comparison of an example profile
    let r = get(&ctx, "", "/tools/compare?example=public-chatbot").await;
    assert_eq!(r.status, StatusCode::OK, "{}", html(&r));
    let h = html(&r);
    assert!(h.contains("id=\"comparison\""), "{h}");
    let cls = beian_classify::Classifier::embedded().unwrap();
    assert_eq!(
        h.matches("<th scope=\"col\">").count(),
        cls.regime_ids().len() + 1
    );
    // a provider compares its own service; another org's service is a 404
    let url = format!("/tools/compare?service={}", ctx.service_a.id);
    let (b, _) = login(&ctx, "admin-b").await;
    assert_eq!(get(&ctx, &b, &url).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn change_and_cancel_an_approved_filing() {
    let ctx = common::sqlite().await;
    let f = ctx.filing_in(Status::Approved).await;
    let path = format!("/filings/{}", f.id);
    // editors may file a change; only the provider admin may cancel
    let (ed, ed_csrf) = login(&ctx, "editor-a").await;
    let h = html(&get(&ctx, &ed, &path).await);
    assert!(
        h.contains("id=\"act-change\"") && !h.contains("id=\"act-cancel\""),
        "{h}"
    );
    let r = post_form(
        &ctx,
        &ed,
        &format!("{path}/change"),
        &[("csrf", &ed_csrf), ("name", "甲大模型二代")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let change = location(&r);
    assert_ne!(change, path);
    let h = html(&get(&ctx, &ed, &change).await);
    assert!(
        h.contains("甲大模型二代") && h.contains(&format!("href=\"{path}\"")),
        "{h}"
    );
    assert!(
        h.contains("id=\"act-submit\""),
        "the change is a draft to submit: {h}"
    );
    let (ad, ad_csrf) = login(&ctx, "admin-a").await;
    let h = html(&get(&ctx, &ad, &path).await);
    assert!(h.contains("id=\"act-cancel\""), "{h}");
    // a reason, then a confirmation step
    let r = post_form(
        &ctx,
        &ad,
        &format!("{path}/action"),
        &[("csrf", &ad_csrf), ("action", "cancel")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = post_form(
        &ctx,
        &ad,
        &format!("{path}/action"),
        &[
            ("csrf", &ad_csrf),
            ("action", "cancel"),
            ("comment", "停止运营"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(html(&r).contains("id=\"confirm-action\""), "{}", html(&r));
    assert!(!html(&r).contains("status s-cancelled"));
    let r = post_form(
        &ctx,
        &ad,
        &format!("{path}/action"),
        &[
            ("csrf", &ad_csrf),
            ("action", "cancel"),
            ("comment", "停止运营"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let h = html(&get(&ctx, &ad, &path).await);
    assert!(h.contains("已注销"), "{h}");
}

/// Uploads `bytes` as `filename` of `kind` through the filing page's multipart form.
async fn upload(
    ctx: &Ctx,
    cookie: &str,
    csrf: &str,
    fid: i64,
    kind: &str,
    filename: &str,
    bytes: &[u8],
) -> Resp {
    let boundary = "XyZbeianHtml";
    let mut body = Vec::new();
    for (k, v) in [("csrf", csrf), ("kind", kind)] {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: text/html\r\n\r\n").as_bytes());
    body.extend(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::post(format!("/filings/{fid}/attachments"))
        .header("cookie", cookie)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    ctx.raw(req).await
}

#[tokio::test]
async fn html_assessment_report_is_served_sandboxed_to_the_filing_readers_only() {
    let ctx = common::sqlite().await;
    let f = ctx.filing_in(Status::Draft).await;
    let (ed, ed_csrf) = login(&ctx, "editor-a").await;
    let report = b"<!doctype html><html><head><style>p{color:#123}</style></head><body><p id=\"r\">assess run</p><script>alert(1)</script></body></html>";
    // HTML is refused for any other attachment kind
    let r = upload(&ctx, &ed, &ed_csrf, f.id, "other", "report.html", report).await;
    assert!(
        r.status.is_client_error() && html(&r).contains("网页报告只能作为评估运行报告上传"),
        "{} {}",
        r.status,
        html(&r)
    );
    let r = upload(
        &ctx,
        &ed,
        &ed_csrf,
        f.id,
        "assessment-report",
        "report.html",
        report,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    // the filing page links to the viewer, the viewer to the sandboxed report
    let h = html(&get(&ctx, &ed, &format!("/filings/{}", f.id)).await);
    // the report uploaded last (the fixture's summary.json has a viewer link too)
    let aid = h
        .split(&format!("/filings/{}/assessment/", f.id))
        .last()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let viewer = html(&get(&ctx, &ed, &format!("/filings/{}/assessment/{aid}", f.id)).await);
    let href = format!("/filings/{}/assessment/{aid}/report.html", f.id);
    assert!(
        viewer.contains(&format!("href=\"{href}\"")) && viewer.contains("id=\"html-report\""),
        "{viewer}"
    );
    // the provider reads it inline, under a sandbox CSP
    let r = get(&ctx, &ed, &href).await;
    assert_eq!(r.status, StatusCode::OK, "{}", html(&r));
    assert_eq!(r.bytes, report);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(
        r.headers["content-security-policy"],
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    );
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert!(
        r.headers
            .get("content-disposition")
            .is_none_or(|v| v == "inline")
    );
    // a download of the same attachment carries the sandbox too (web and API)
    let r = get(&ctx, &ed, &format!("/filings/{}/attachments/{aid}", f.id)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox;")
    );
    // another organisation: 404, like a missing filing; anonymous: sign in first
    let (b, _) = login(&ctx, "admin-b").await;
    assert_eq!(get(&ctx, &b, &href).await.status, StatusCode::NOT_FOUND);
    let r = get(&ctx, "", &href).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/login?next="), "{}", location(&r));
    // the report route serves nothing that is not HTML
    let other = ctx
        .store()
        .list_attachments(ctx.user("editor-a"), f.id)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.content_type != "text/html")
        .unwrap();
    assert_eq!(
        get(
            &ctx,
            &ed,
            &format!("/filings/{}/assessment/{}/report.html", f.id, other.id)
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

/// The guided profile form without JavaScript: one step per page, the other
/// steps' values carried as hidden inputs, Next checks the step on screen,
/// Back keeps everything, a failed save reopens the step of the field at fault.
#[tokio::test]
async fn guided_form_steps_work_without_javascript() {
    let ctx = common::sqlite().await;
    let (ed, csrf) = login(&ctx, "editor-a").await;
    let h = html(&get(&ctx, &ed, "/services/new?example=public-chatbot").await);
    assert_eq!(h.matches("<fieldset class=\"step\"").count(), 1, "{h}");
    assert!(h.contains("id=\"step-1\"") && h.contains("aria-current=\"step\""));
    assert!(
        !h.contains("id=\"create-service\""),
        "save on the last step"
    );
    // province: the 34 province-level divisions, after a "choose" placeholder
    let select = h
        .split("id=\"p-province\"")
        .nth(1)
        .and_then(|x| x.split("</select>").next())
        .unwrap();
    assert_eq!(select.matches("<option").count(), 35, "{select}");
    assert!(select.contains("<option value=\"北京市\" selected>北京市</option>"));
    // the example's step-2 values travel hidden on step 1
    assert!(h.contains("<input type=\"hidden\" name=\"p.generative\" value=\"true\">"));
    // Next with a province outside the list: 422, still step 1, values kept
    let step1 = |prov: &'static str| {
        vec![
            ("step", "1"),
            ("go", "next"),
            ("p.name", "乙写作"),
            ("p.province", prov),
            ("p.public_facing", "true"),
            ("p.generative", "true"),
            ("p.modalities", "text"),
        ]
    };
    let mut f = step1("火星省");
    f.push(("csrf", &csrf));
    let r = post_form(&ctx, &ed, "/services", &f).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let h = html(&r);
    assert!(
        h.contains("id=\"form-error\"") && h.contains("省级行政区"),
        "{h}"
    );
    assert!(h.contains("id=\"step-1\"") && h.contains("value=\"乙写作\""));
    assert!(h.contains("<input type=\"hidden\" name=\"p.modalities\" value=\"text\">"));
    // a valid step 1 moves on, carrying it hidden
    let mut f = step1("北京");
    f.push(("csrf", &csrf));
    let r = post_form(&ctx, &ed, "/services", &f).await;
    assert_eq!(r.status, StatusCode::OK);
    let h = html(&r);
    assert!(
        h.contains("id=\"step-2\"") && !h.contains("id=\"step-1\""),
        "{h}"
    );
    assert!(h.contains("<input type=\"hidden\" name=\"p.name\" value=\"乙写作\">"));
    assert!(h.contains("id=\"p-modalities-text\" name=\"p.modalities\" value=\"text\" checked"));
    // Back needs no check and keeps what step 2 had
    let r = post_form(
        &ctx,
        &ed,
        "/services",
        &[
            ("csrf", &csrf),
            ("step", "2"),
            ("go", "back"),
            ("p.name", "乙写作"),
            ("p.province", "北京"),
            ("p.model_source", "self-developed"),
        ],
    )
    .await;
    let h = html(&r);
    assert!(h.contains("id=\"step-1\""), "{h}");
    assert!(h.contains("<input type=\"hidden\" name=\"p.model_source\" value=\"self-developed\">"));
    // a failed save from the last step reopens the step of the field at fault
    let r = post_form(
        &ctx,
        &ed,
        "/services",
        &[
            ("csrf", &csrf),
            ("step", "4"),
            ("go", "save"),
            ("p.name", "乙写作"),
            ("p.parameters", "many"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let h = html(&r);
    assert!(
        h.contains("id=\"step-2\"") && h.contains("value=\"many\""),
        "{h}"
    );
    // and the save itself classifies
    let r = post_form(
        &ctx,
        &ed,
        "/services",
        &[
            ("csrf", &csrf),
            ("step", "4"),
            ("go", "save"),
            ("p.name", "乙写作"),
            ("p.province", "北京"),
            ("p.public_facing", "true"),
            ("p.generative", "true"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    assert!(location(&r).starts_with("/services/"));
}

/// The national reviewer's province decision on the filing page: the control
/// only for national reviewers before a number, a reason, a confirmation
/// step, then the change (audited `filing.province`, in the thread).
#[tokio::test]
async fn national_reviewer_moves_a_filing_to_another_province() {
    let ctx = common::sqlite().await;
    let f = ctx.filing_in(Status::Submitted).await;
    assert_eq!(f.province, "北京市");
    let uri = format!("/filings/{}", f.id);
    let post = format!("/filings/{}/province", f.id);
    // a provincial reviewer sees no control and is refused
    let (bj, bj_csrf) = login(&ctx, "rev-bj").await;
    assert!(!html(&get(&ctx, &bj, &uri).await).contains("id=\"province-form\""));
    let r = post_form(
        &ctx,
        &bj,
        &post,
        &[
            ("csrf", &bj_csrf),
            ("province", "上海"),
            ("reason", "x"),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // the national reviewer: the control, the list of provinces
    let (nat, csrf) = login(&ctx, "national").await;
    let h = html(&get(&ctx, &nat, &uri).await);
    assert!(
        h.contains("id=\"province-form\"") && h.contains("变更审核省份"),
        "{h}"
    );
    assert!(h.contains("<option value=\"上海市\">上海市</option>"));
    // no reason: refused, nothing changed
    let r = post_form(
        &ctx,
        &nat,
        &post,
        &[("csrf", &csrf), ("province", "上海市"), ("reason", " ")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("请填写理由"));
    // a reason: the confirmation step first
    let reason = "运营主体已迁至上海，由上海市网信办审核";
    let r = post_form(
        &ctx,
        &nat,
        &post,
        &[("csrf", &csrf), ("province", "上海市"), ("reason", reason)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let h = html(&r);
    assert!(
        h.contains("id=\"confirm-province-box\"") && h.contains(reason),
        "{h}"
    );
    let now = ctx
        .store()
        .get_filing(Some(ctx.user("auditor")), f.id)
        .await
        .unwrap();
    assert_eq!(now.province, "北京市", "not before the confirmation");
    // confirmed: moved, audited, in the thread
    let r = post_form(
        &ctx,
        &nat,
        &post,
        &[
            ("csrf", &csrf),
            ("province", "上海市"),
            ("reason", reason),
            ("confirm", "yes"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let now = ctx
        .store()
        .get_filing(Some(ctx.user("auditor")), f.id)
        .await
        .unwrap();
    assert_eq!(now.province, "上海市");
    let audit = ctx
        .call("auditor", "GET", "/api/v1/audit?limit=1000", None)
        .await
        .json();
    let e = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "filing.province")
        .expect("audited");
    assert_eq!(e["detail"]["reason"], reason, "{e}");
    let h = html(&get(&ctx, &nat, &uri).await);
    assert!(h.contains("变更审核省份") && h.contains(reason));
    // in English too
    let r = ctx
        .raw(
            Request::get(&uri)
                .header("cookie", format!("{nat}; beian_lang=en"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let h = html(&r);
    assert!(
        h.contains("Change the reviewing province") && h.contains(">Shanghai</option>"),
        "{h}"
    );
    // the Shanghai reviewer now reviews it; once numbered, no control
    let g = ctx.filing_in(Status::Approved).await;
    assert!(
        !html(&get(&ctx, &nat, &format!("/filings/{}", g.id)).await)
            .contains("id=\"province-form\"")
    );
}
