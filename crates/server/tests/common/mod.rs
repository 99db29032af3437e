#![allow(dead_code, clippy::unwrap_used)]
//! Shared test fixture: a real store (SQLite in a temp dir, or PostgreSQL
//! when BEIAN_TEST_POSTGRES_URL is set), a world of organisations and users
//! with API tokens, and helpers that call the router with `oneshot`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use beian_registry::*;
use beian_server::AppState;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const ROLES: [&str; 8] = [
    "anonymous",
    "editor-a",
    "admin-a",
    "admin-b",
    "rev-bj",
    "rev-sh",
    "national",
    "auditor",
];

pub struct Ctx {
    pub app: Router,
    pub state: AppState,
    pub tokens: HashMap<&'static str, String>,
    pub users: HashMap<&'static str, User>,
    pub org_a: Organisation,
    pub org_b: Organisation,
    pub service_a: Service,
    _dir: Option<tempfile::TempDir>,
}

pub fn org(uscc17: &str, name: &str, prov: &str) -> NewOrganisation {
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

pub fn nu(name: &str, role: Role, org: Option<i64>, prov: Option<&str>) -> NewUser {
    NewUser {
        username: name.into(),
        password: "password-123".into(),
        role,
        org_id: org,
        province: prov.map(str::to_string),
    }
}

pub async fn sqlite() -> Ctx {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_data_dir(dir.path()).await.unwrap();
    build(store, Some(dir)).await
}

pub async fn postgres(test: &str) -> Option<Ctx> {
    let base = beian_registry::testing::postgres_url(test)?;
    let url = beian_registry::testing::fresh_postgres_db(&base)
        .await
        .unwrap();
    Some(build(Store::open(&url).await.unwrap(), None).await)
}

async fn build(s: Store, dir: Option<tempfile::TempDir>) -> Ctx {
    let national = s
        .create_user(None, nu("national", Role::NationalReviewer, None, None))
        .await
        .unwrap();
    let org_a = s
        .create_organisation(
            Some(&national),
            org("91110108MA01ABCDE", "北京甲科技有限公司", "北京市"),
        )
        .await
        .unwrap();
    let org_b = s
        .create_organisation(
            Some(&national),
            org("91310000MA1FL0000", "上海乙科技有限公司", "上海市"),
        )
        .await
        .unwrap();
    let mut users = HashMap::new();
    users.insert("national", national.clone());
    for (name, role, o, p) in [
        ("editor-a", Role::ProviderEditor, Some(org_a.id), None),
        ("admin-a", Role::ProviderAdmin, Some(org_a.id), None),
        ("admin-b", Role::ProviderAdmin, Some(org_b.id), None),
        ("rev-bj", Role::ProvincialReviewer, None, Some("北京市")),
        ("rev-sh", Role::ProvincialReviewer, None, Some("上海市")),
        ("auditor", Role::Auditor, None, None),
    ] {
        users.insert(
            name,
            s.create_user(Some(&national), nu(name, role, o, p))
                .await
                .unwrap(),
        );
    }
    let mut tokens = HashMap::new();
    for (k, u) in &users {
        tokens.insert(*k, s.create_api_token(u, "test").await.unwrap());
    }
    let service_a = s
        .create_service(&users["editor-a"], NewService { name: "甲助手".into(), profile: json!({"name": "甲助手", "public_facing": true, "generative": true, "public_opinion_attributes": true, "model_source": "self-developed"}), launched_on: Some("2025-01-02".into()), stopped_on: None, org_id: None })
        .await
        .unwrap();
    let state = AppState::new(s);
    Ctx {
        app: beian_server::router(state.clone()),
        state,
        tokens,
        users,
        org_a,
        org_b,
        service_a,
        _dir: dir,
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub bytes: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
}

impl Ctx {
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    pub async fn raw(&self, req: Request<Body>) -> Resp {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Resp {
            status,
            headers,
            bytes,
        }
    }

    /// Calls as `role` (`anonymous` = no credentials) with an optional JSON body.
    pub async fn call(&self, role: &str, method: &str, uri: &str, body: Option<Value>) -> Resp {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(t) = self.tokens.get(role) {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        self.raw(req).await
    }

    pub fn user(&self, role: &str) -> &User {
        &self.users[role]
    }

    /// Uploads every attachment a complete genAI filing needs (passing keyword
    /// sheet, JSONL question bank, summary.json and the paperwork).
    pub async fn attach_complete(&self, filing_id: i64) {
        let kb = beian_kb::Kb::embedded().unwrap();
        for (kind, name, ct, bytes) in precheck::fixtures::complete(&kb, FilingKind::GenaiFiling) {
            self.store()
                .add_attachment(self.user("editor-a"), filing_id, kind, &name, &ct, &bytes)
                .await
                .unwrap();
        }
    }

    /// A genAI filing of org A (Beijing) brought to `status` through the store.
    pub async fn filing_in(&self, status: Status) -> Filing {
        let s = self.store();
        let f = s
            .create_filing(
                self.user("editor-a"),
                NewFiling {
                    kind: FilingKind::GenaiFiling,
                    name: "甲大模型".into(),
                    name_latin: None,
                    service_id: Some(self.service_a.id),
                    province: None,
                    form: json!({}),
                    org_id: None,
                },
            )
            .await
            .unwrap();
        // everything a complete filing needs, so the pre-checks pass
        self.attach_complete(f.id).await;
        let steps: &[(&str, Action)] = match status {
            Status::Draft => &[],
            Status::Submitted => &[("editor-a", Action::Submit)],
            Status::ProvincialReview => &[
                ("editor-a", Action::Submit),
                ("rev-bj", Action::StartReview),
            ],
            Status::NationalReview => &[
                ("editor-a", Action::Submit),
                ("rev-bj", Action::StartReview),
                ("rev-bj", Action::Approve),
            ],
            Status::Approved => &[
                ("editor-a", Action::Submit),
                ("rev-bj", Action::StartReview),
                ("rev-bj", Action::Approve),
                ("national", Action::Approve),
            ],
            other => panic!("unsupported {other}"),
        };
        for (who, a) in steps {
            s.act(self.user(who), f.id, *a, None).await.unwrap();
        }
        s.get_filing(Some(self.user("auditor")), f.id)
            .await
            .unwrap()
    }
}
