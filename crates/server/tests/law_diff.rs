//! `/tools/law-diff`: the changes in the law between two dates, through the real router
//! over a real SQLite store, in both languages.

#![allow(clippy::unwrap_used)] // tests: a panic is a failure with its message

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};

async fn page(ctx: &common::Ctx, uri: &str, lang: &str) -> (StatusCode, String) {
    let req = Request::get(uri)
        .header("cookie", format!("beian_lang={lang}"))
        .body(Body::empty())
        .unwrap();
    let r = ctx.raw(req).await;
    (r.status, String::from_utf8_lossy(&r.bytes).into_owned())
}

#[tokio::test]
async fn law_diff_page_lists_the_2026_changes_in_both_languages() {
    let ctx = common::sqlite().await;
    let (status, h) = page(&ctx, "/tools/law-diff?from=2025-06-01&to=2026-06-01", "en").await;
    assert_eq!(status, StatusCode::OK, "{h}");
    assert!(h.contains("Changes in the law"), "{h}");
    assert!(h.contains("CSL-2025") && h.contains("INCIDENT-2025"), "{h}");
    assert!(h.contains("CSL-2017 Art. 21 → CSL-2025 Art. 23"), "{h}");
    assert!(
        h.contains("Report an incident to the provincial CAC within 4 hours"),
        "{h}"
    );

    let (status, h) = page(&ctx, "/tools/law-diff?from=2025-06-01&to=2026-06-01", "zh").await;
    assert_eq!(status, StatusCode::OK);
    assert!(h.contains("法律变化") && h.contains("条文序号变化"), "{h}");
    assert!(h.contains("第二十一条 → CSL-2025 第二十三条"), "{h}");

    // the EU high-risk dates the Omnibus moved, in both languages
    let (_, h) = page(&ctx, "/tools/law-diff?from=2026-06-01&to=2026-08-05", "en").await;
    assert!(h.contains("Dates of application changed"), "{h}");
    assert!(h.contains("2026-08-02 → 2027-12-02"), "{h}");
    let (_, h) = page(&ctx, "/tools/law-diff?from=2026-06-01&to=2026-08-05", "zh").await;
    assert!(h.contains("适用日期变更") && h.contains("第九条"), "{h}");

    // nothing changes within a quiet week; a bad date is said plainly
    let (_, h) = page(&ctx, "/tools/law-diff?from=2024-03-01&to=2024-03-05", "en").await;
    assert!(h.contains("no-changes"), "{h}");
    let (status, h) = page(&ctx, "/tools/law-diff?from=2025-13-01&to=2026-01-01", "en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(h.contains("not a YYYY-MM-DD date"), "{h}");
}
