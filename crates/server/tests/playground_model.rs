//! The screening playground shows a `beian judge` model's verdict when
//! `BEIAN_PLAYGROUND_MODEL` names one (its own test binary: the variable is
//! read once per process).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};

fn train_model(p: &std::path::Path) {
    let mut ex = Vec::new();
    for i in 0..80 {
        ex.push(beian_judge::Example {
            text: format!("网上赌场百家乐下注返水第{i}把"),
            label: "博彩".into(),
            background: false,
        });
        ex.push(beian_judge::Example {
            text: format!("今天天气很好我们去公园散步第{i}次"),
            label: "safe".into(),
            background: false,
        });
    }
    let mut cfg = beian_judge::TrainConfig::default();
    cfg.features.bucket_bits = 12;
    let (model, _) = beian_judge::train(&ex, Vec::new(), &cfg).unwrap();
    model.save(p).unwrap();
}

/// The environment variable is set for a child run of this same test (the
/// workspace forbids `unsafe`, so the test cannot set it in-process).
#[tokio::test]
async fn playground_shows_the_model_score() {
    let Ok(path) = std::env::var("BEIAN_PLAYGROUND_MODEL") else {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.judge");
        train_model(&p);
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["playground_shows_the_model_score", "--exact", "--nocapture"])
            .env("BEIAN_PLAYGROUND_MODEL", &p)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
        return;
    };
    let model = beian_judge::Model::load(std::path::Path::new(&path)).unwrap();
    let ctx = common::sqlite().await;
    let text = "今晚去赌场玩百家乐下注";
    let body = format!("text={}", beian_server::web::urlencode(text));
    let r = ctx
        .raw(
            Request::post("/tools/screen")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let h = String::from_utf8_lossy(&r.bytes);
    assert!(
        h.contains("id=\"model-score\" data-flagged=\"true\""),
        "{h}"
    );
    assert!(h.contains("<strong>博彩</strong>"), "{h}");
    let v = model.predict(text);
    assert!(
        h.contains(&format!("id=\"model-score-value\">{:.3}<", v.score)),
        "{h}"
    );
}
