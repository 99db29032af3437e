//! Provider workspace: services with their guided profile and classification,
//! filings (assemble, edit, attach, submit, answer a return, change, cancel),
//! and the filing page shared with reviewers and auditors.

use std::collections::HashMap;
use std::sync::OnceLock;

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use beian_classify::{Classifier, Lang as CLang, RegimeResult};
use beian_kb::Profile;
use beian_kb::profile::FieldSpec;
use beian_registry::{
    Action, Attachment, AttachmentKind, Deadline, Filing, FilingKind, FilingPatch, NewFiling,
    NewService, Role, Service, Status, User,
};
use serde_json::{Map, Value, json};

use super::{Ctx, FormData, WebError, WebResult, render, see_other};
use crate::AppState;

/// The classifier, compiled once (Rego rule packs of the embedded knowledge base).
pub fn classifier() -> Result<&'static Classifier, WebError> {
    static C: OnceLock<Result<Classifier, String>> = OnceLock::new();
    C.get_or_init(|| Classifier::embedded().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| {
            WebError::Status(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                format!("classifier: {e}"),
            )
        })
}

/// The profile schema's fields (from the knowledge base).
pub fn schema_fields() -> Result<&'static [FieldSpec], WebError> {
    Ok(&classifier()?.kb().profile_schema().fields)
}

/// Keys of the filing form a provider fills in (regime-facts §1.3 and the genAI package §2.4).
pub const FORM_FIELDS: &[&str] = &[
    "service_form",
    "application_field",
    "scenarios",
    "algorithm_mechanism",
    "model",
    "training_data",
    "compute",
    "security_measures",
];

/// A profile field as shown in the guided form.
pub struct FieldView {
    pub key: String,
    pub ty: String,
    pub label: String,
    pub help: String,
    pub required: bool,
    /// enum / enum-list choices: (value, checked)
    pub choices: Vec<(String, bool)>,
    /// Current value (text forms), or "true" for a ticked checkbox.
    pub value: String,
}

impl FieldView {
    pub fn input_type(&self) -> &'static str {
        match self.ty.as_str() {
            "integer" | "number" => "number",
            "date" => "date",
            _ => "text",
        }
    }
    pub fn step(&self) -> &'static str {
        if self.ty == "number" { "any" } else { "1" }
    }
}

fn field_views(c: &Ctx, values: &Map<String, Value>) -> Result<Vec<FieldView>, WebError> {
    let mut out = Vec::new();
    for f in schema_fields()? {
        let cur = values.get(&f.key);
        let list: Vec<String> = cur
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let value = match cur {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Array(_)) if f.ty == "string-list" => list.join("\n"),
            _ => String::new(),
        };
        let choices = f
            .values
            .iter()
            .map(|v| (v.clone(), list.contains(v) || value == *v))
            .collect();
        out.push(FieldView {
            key: f.key.clone(),
            ty: f.ty.clone(),
            label: c.pick(&f.zh, &f.en).to_string(),
            help: c.pick(&f.help_zh, &f.help_en).to_string(),
            required: f.required,
            choices,
            value,
        });
    }
    Ok(out)
}

/// Builds a profile JSON object from the guided form (empty optional fields are left out).
pub fn profile_from_form(form: &FormData) -> Result<Map<String, Value>, WebError> {
    let mut m = Map::new();
    for f in schema_fields()? {
        let key = format!("p.{}", f.key);
        match f.ty.as_str() {
            "bool" => {
                m.insert(
                    f.key.clone(),
                    Value::Bool(form.get(&key).is_some_and(|v| v == "true" || v == "on")),
                );
            }
            "enum-list" => {
                let vals: Vec<Value> = form
                    .all(&key)
                    .filter(|v| !v.is_empty())
                    .map(|v| Value::String(v.to_string()))
                    .collect();
                m.insert(f.key.clone(), Value::Array(vals));
            }
            "string-list" => {
                if let Some(v) = form.get_trimmed(&key) {
                    let vals = v
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(|l| Value::String(l.to_string()))
                        .collect();
                    m.insert(f.key.clone(), Value::Array(vals));
                }
            }
            "integer" => {
                if let Some(v) = form.get_trimmed(&key) {
                    let n: u64 = v.parse().map_err(|_| {
                        WebError::bad(format!("{}: {v:?} is not a whole number", f.key))
                    })?;
                    m.insert(f.key.clone(), json!(n));
                }
            }
            "number" => {
                if let Some(v) = form.get_trimmed(&key) {
                    let n: f64 = v
                        .parse()
                        .map_err(|_| WebError::bad(format!("{}: {v:?} is not a number", f.key)))?;
                    m.insert(f.key.clone(), json!(n));
                }
            }
            _ => {
                if let Some(v) = form.get_trimmed(&key) {
                    m.insert(f.key.clone(), Value::String(v.to_string()));
                }
            }
        }
    }
    Ok(m)
}

/// Classifies a stored profile under `regimes` (errors are shown, not fatal).
pub fn classify_value(
    profile: &Value,
    origin: &str,
    regimes: &[&str],
    lang: CLang,
    compare: bool,
) -> Result<beian_classify::Report, String> {
    let c = classifier().map_err(|e| e.message())?;
    let p = Profile::from_value(profile.clone(), None, origin, c.kb().profile_schema())
        .map_err(|e| e.to_string())?;
    if compare {
        c.compare(&p, regimes, lang)
    } else {
        c.classify(&p, regimes, lang)
    }
    .map_err(|e| e.to_string())
}

pub fn clang(c: &Ctx) -> CLang {
    if c.zh() { CLang::Zh } else { CLang::En }
}

fn require_provider(c: &Ctx) -> Result<&User, WebError> {
    let u = c.require()?;
    if !u.role.is_provider() {
        return Err(WebError::Status(
            axum::http::StatusCode::FORBIDDEN,
            "the provider workspace is for provider users".into(),
        ));
    }
    Ok(u)
}

/// Services of the caller's organisation. The store has no listing call yet,
/// so this walks service ids through `get_service` (which enforces visibility).
pub async fn my_services(s: &AppState, u: &User) -> Result<Vec<Service>, WebError> {
    let n = s.store.count("services").await?;
    let mut out = Vec::new();
    let lo = (n - 500).max(1);
    for id in (lo..=n).rev() {
        if let Ok(sv) = s.store.get_service(u, id).await
            && Some(sv.org_id) == u.org_id
        {
            out.push(sv);
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------ workspace

struct ServiceRow {
    service: Service,
    deadlines: Vec<Deadline>,
}

#[derive(Template)]
#[template(path = "workspace.html")]
struct Workspace {
    c: Ctx,
    services: Vec<ServiceRow>,
    filings: Vec<Filing>,
}

pub async fn workspace(State(s): State<AppState>, c: Ctx) -> WebResult {
    let u = c.require()?.clone();
    if !u.role.is_provider() {
        return Ok(see_other(if u.role == Role::Auditor {
            "/audit"
        } else {
            "/review"
        }));
    }
    let mut services = Vec::new();
    for sv in my_services(&s, &u).await? {
        let deadlines = s
            .store
            .service_deadlines(&u, sv.id)
            .await
            .unwrap_or_default();
        services.push(ServiceRow {
            service: sv,
            deadlines,
        });
    }
    let filings = s.store.list_filings(&u, None).await?;
    Ok(render(&Workspace {
        c,
        services,
        filings,
    }))
}

// ------------------------------------------------------------------ services

#[derive(Template)]
#[template(path = "service_new.html")]
struct ServiceNew {
    c: Ctx,
    fields: Vec<FieldView>,
    error: Option<String>,
}

pub async fn service_new(c: Ctx) -> WebResult {
    require_provider(&c)?;
    let fields = field_views(&c, &Map::new())?;
    Ok(render(&ServiceNew {
        c,
        fields,
        error: None,
    }))
}

pub async fn service_create(State(s): State<AppState>, c: Ctx, form: FormData) -> WebResult {
    let u = require_provider(&c)?.clone();
    c.check_csrf(form.get("csrf"))?;
    let name = form.get_trimmed("p.name").unwrap_or("").to_string();
    let launched_on = form.get_trimmed("p.launch_date").map(str::to_string);
    let mut values = Map::new();
    let result = async {
        values = profile_from_form(&form)?;
        let schema = classifier()?.kb().profile_schema();
        Profile::from_value(Value::Object(values.clone()), None, "form", schema)
            .map_err(|e| WebError::bad(e.to_string()))?;
        let new = NewService {
            name: name.clone(),
            profile: Value::Object(values.clone()),
            launched_on: launched_on.clone(),
            stopped_on: None,
            org_id: None,
        };
        Ok::<_, WebError>(s.store.create_service(&u, new).await?)
    }
    .await;
    match result {
        Ok(sv) => Ok(see_other(&format!("/services/{}", sv.id))),
        Err(WebError::Status(status, msg))
            if status.is_client_error() && status != axum::http::StatusCode::FORBIDDEN =>
        {
            let fields = field_views(&c, &values)?;
            let page = ServiceNew {
                c,
                fields,
                error: Some(msg),
            };
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServiceView {
    c: Ctx,
    service: Service,
    facts: Vec<(String, String)>,
    result: Option<RegimeResult>,
    error: Option<String>,
    deadlines: Vec<Deadline>,
    kinds: Vec<&'static str>,
    suggested: Vec<String>,
}

impl ServiceView {
    fn is_suggested(&self, k: &str) -> bool {
        self.suggested.iter().any(|s| s == k)
    }
    fn first_suggested(&self, k: &str) -> bool {
        self.suggested.first().is_some_and(|s| s == k)
    }
}

pub async fn service_view(State(s): State<AppState>, c: Ctx, Path(id): Path<i64>) -> WebResult {
    let u = c.require()?.clone();
    let service = s.store.get_service(&u, id).await?;
    let (result, error) = match classify_value(
        &service.profile,
        &format!("service {}", service.id),
        &["cn-current"],
        clang(&c),
        false,
    ) {
        Ok(mut r) => (r.results.pop(), None),
        Err(e) => (None, Some(e)),
    };
    let suggested: Vec<String> = result
        .as_ref()
        .map(|r| r.filings.iter().map(|f| f.kind.clone()).collect())
        .unwrap_or_default();
    let mut facts = Vec::new();
    if let Some(obj) = service.profile.as_object() {
        for f in schema_fields()? {
            if let Some(v) = obj.get(&f.key) {
                let shown = match v {
                    Value::String(s) => s.clone(),
                    Value::Array(a) => a
                        .iter()
                        .map(|x| {
                            x.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| x.to_string())
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    Value::Bool(true) => c.t("yes").to_string(),
                    Value::Bool(false) => c.t("no").to_string(),
                    other => other.to_string(),
                };
                if !shown.is_empty() {
                    facts.push((c.pick(&f.zh, &f.en).to_string(), shown));
                }
            }
        }
    }
    let deadlines = s.store.service_deadlines(&u, id).await.unwrap_or_default();
    let kinds = FilingKind::ALL.iter().map(|k| k.as_str()).collect();
    Ok(render(&ServiceView {
        c,
        service,
        facts,
        result,
        error,
        deadlines,
        kinds,
        suggested,
    }))
}

// ------------------------------------------------------------------ filings

pub async fn filing_create(State(s): State<AppState>, c: Ctx, form: FormData) -> WebResult {
    let u = require_provider(&c)?.clone();
    c.check_csrf(form.get("csrf"))?;
    let kind = form
        .get("kind")
        .and_then(FilingKind::parse)
        .ok_or_else(|| WebError::bad("kind: choose a filing kind"))?;
    let service_id = match form.get_trimmed("service_id") {
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| WebError::bad("service_id: not a number"))?,
        ),
        None => None,
    };
    let name = form.get("name").unwrap_or("").trim().to_string();
    let new = NewFiling {
        kind,
        name,
        name_latin: form.get_trimmed("name_latin").map(str::to_string),
        service_id,
        province: None,
        form: json!({}),
        org_id: None,
    };
    let f = s.store.create_filing(&u, new).await?;
    Ok(see_other(&format!("/filings/{}", f.id)))
}

struct ActionView {
    action: &'static str,
    needs_comment: bool,
}

#[derive(Template)]
#[template(path = "filing.html")]
struct FilingView {
    c: Ctx,
    f: Filing,
    service: Option<Service>,
    deadlines: Vec<Deadline>,
    attachments: Vec<Attachment>,
    missing: Vec<&'static str>,
    checks: Vec<CheckView>,
    form_fields: Vec<(&'static str, String)>,
    editable: bool,
    actions: Vec<ActionView>,
    can_change: bool,
    attachment_kinds: Vec<&'static str>,
    flash: Option<String>,
}

struct CheckView {
    id: String,
    title: String,
    status: String,
    detail: String,
}

impl FilingView {
    fn help_key(&self, k: &str) -> String {
        format!("{k}_help")
    }
    fn viewable(&self, a: &Attachment) -> bool {
        matches!(
            a.content_type.as_str(),
            "application/json" | "text/plain" | "text/html"
        )
    }
}

fn allowed_actions(u: &User, f: &Filing) -> Vec<ActionView> {
    let mut out = Vec::new();
    for a in [
        Action::Submit,
        Action::StartReview,
        Action::Approve,
        Action::Return,
        Action::Reject,
        Action::Cancel,
    ] {
        if beian_registry::state::next(f.status, f.kind, a).is_ok()
            && beian_registry::state::actor_role_ok(u.role, f.status, a)
        {
            out.push(ActionView {
                action: a.as_str(),
                needs_comment: matches!(a, Action::Return | Action::Reject),
            });
        }
    }
    out
}

async fn filing_page(s: &AppState, c: Ctx, id: i64, flash: Option<String>) -> WebResult {
    let u = c.require()?.clone();
    let f = s.store.get_filing(Some(&u), id).await?;
    let attachments = s.store.list_attachments(&u, id).await.unwrap_or_default();
    let service = match f.service_id {
        Some(sid) => s.store.get_service(&u, sid).await.ok(),
        None => None,
    };
    let deadlines = match &service {
        Some(sv) => s
            .store
            .service_deadlines(&u, sv.id)
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let missing = AttachmentKind::required_for(f.kind)
        .iter()
        .filter(|k| !attachments.iter().any(|a| a.kind == **k))
        .map(|k| k.as_str())
        .collect();
    let checks = f
        .checks
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| CheckView {
                    id: x["id"].as_str().unwrap_or("").to_string(),
                    title: x["title"].as_str().unwrap_or("").to_string(),
                    status: x["status"].as_str().unwrap_or("").to_string(),
                    detail: x["detail"].as_str().map(str::to_string).unwrap_or_else(|| {
                        if x["detail"].is_null() {
                            String::new()
                        } else {
                            x["detail"].to_string()
                        }
                    }),
                })
                .collect()
        })
        .unwrap_or_default();
    let form_fields = FORM_FIELDS
        .iter()
        .map(|k| {
            (
                *k,
                f.form
                    .get(*k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    let editable = u.role.is_provider() && matches!(f.status, Status::Draft | Status::Returned);
    let actions = allowed_actions(&u, &f);
    let can_change = u.role.is_provider() && f.status == Status::Approved;
    let attachment_kinds = AttachmentKind::ALL.iter().map(|k| k.as_str()).collect();
    Ok(render(&FilingView {
        c,
        f,
        service,
        deadlines,
        attachments,
        missing,
        checks,
        form_fields,
        editable,
        actions,
        can_change,
        attachment_kinds,
        flash,
    }))
}

pub async fn filing_view(State(s): State<AppState>, c: Ctx, Path(id): Path<i64>) -> WebResult {
    filing_page(&s, c, id, None).await
}

pub async fn filing_edit(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<i64>,
    form: FormData,
) -> WebResult {
    let u = c.require()?.clone();
    c.check_csrf(form.get("csrf"))?;
    let current = s.store.get_filing(Some(&u), id).await?;
    let mut obj = current.form.as_object().cloned().unwrap_or_default();
    for k in FORM_FIELDS {
        if let Some(v) = form.get(&format!("form.{k}")) {
            obj.insert((*k).to_string(), Value::String(v.trim().to_string()));
        }
    }
    let patch = FilingPatch {
        name: form.get_trimmed("name").map(str::to_string),
        name_latin: None,
        form: Some(Value::Object(obj)),
        service_id: None,
    };
    s.store.update_filing(&u, id, patch).await?;
    Ok(see_other(&format!("/filings/{id}")))
}

pub async fn filing_action(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<i64>,
    form: FormData,
) -> WebResult {
    let u = c.require()?.clone();
    c.check_csrf(form.get("csrf"))?;
    let action = form
        .get("action")
        .and_then(Action::parse)
        .ok_or_else(|| WebError::bad("action: unknown action"))?;
    let comment = form.get_trimmed("comment").map(str::to_string);
    match s.store.act(&u, id, action, comment).await {
        Ok(_) => Ok(see_other(&format!("/filings/{id}"))),
        Err(e) => {
            let e = WebError::from(e);
            match &e {
                // refused transitions and invalid input: show them on the filing page
                WebError::Status(st, m) if st.as_u16() == 409 || st.as_u16() == 422 => {
                    let msg = m.clone();
                    let mut res = filing_page(&s, c, id, Some(msg)).await?;
                    *res.status_mut() = *st;
                    Ok(res)
                }
                _ => Err(e),
            }
        }
    }
}

pub async fn filing_change(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<i64>,
    form: FormData,
) -> WebResult {
    let u = c.require()?.clone();
    c.check_csrf(form.get("csrf"))?;
    let patch = FilingPatch {
        name: form.get_trimmed("name").map(str::to_string),
        ..Default::default()
    };
    let f = s.store.create_change(&u, id, patch).await?;
    Ok(see_other(&format!("/filings/{}", f.id)))
}

/// Guesses a content type from a file name (browsers send `application/octet-stream` for some).
fn guess_type(filename: &str, declared: &str) -> String {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let by_ext = match ext.as_str() {
        "pdf" => "application/pdf",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "csv" => "text/csv",
        "txt" | "md" => "text/plain",
        "json" | "jsonl" => "application/json",
        "html" | "htm" => "text/html",
        _ => "",
    };
    if declared.is_empty()
        || declared == "application/octet-stream"
        || (!by_ext.is_empty() && declared != by_ext && !declared.starts_with(by_ext))
    {
        if by_ext.is_empty() {
            declared.to_string()
        } else {
            by_ext.to_string()
        }
    } else {
        declared.to_string()
    }
}

/// `multipart/form-data` upload (no JavaScript needed): fields `csrf`, `kind`, `file`.
pub async fn attachment_upload(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<i64>,
    mut mp: Multipart,
) -> WebResult {
    let u = c.require()?.clone();
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut file: Option<(String, String, Vec<u8>)> = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(WebError::Status(
                    e.status(),
                    format!("upload: {}", e.body_text()),
                ));
            }
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let filename = field.file_name().unwrap_or("").to_string();
            let ct = field.content_type().unwrap_or("").to_string();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| WebError::Status(e.status(), format!("upload: {}", e.body_text())))?;
            file = Some((filename, ct, bytes.to_vec()));
        } else {
            let text = field
                .text()
                .await
                .map_err(|e| WebError::Status(e.status(), format!("upload: {}", e.body_text())))?;
            fields.insert(name, text);
        }
    }
    c.check_csrf(fields.get("csrf").map(String::as_str))?;
    let kind = fields
        .get("kind")
        .and_then(|k| AttachmentKind::parse(k))
        .ok_or_else(|| WebError::bad("kind: choose an attachment kind"))?;
    let (filename, ct, bytes) = file
        .filter(|f| !f.0.is_empty())
        .ok_or_else(|| WebError::bad("file: choose a file"))?;
    let ct = guess_type(&filename, &ct);
    match s
        .store
        .add_attachment(&u, id, kind, &filename, &ct, &bytes)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/filings/{id}"))),
        Err(e) => {
            let e = WebError::from(e);
            match &e {
                WebError::Status(st, m) if matches!(st.as_u16(), 409 | 413 | 415 | 422) => {
                    let st = *st;
                    let mut res = filing_page(&s, c, id, Some(format!("{filename}: {m}"))).await?;
                    *res.status_mut() = st;
                    Ok(res)
                }
                _ => Err(e),
            }
        }
    }
}

/// Downloads an attachment through the store's access check (and its audit).
pub async fn attachment_download(
    State(s): State<AppState>,
    c: Ctx,
    Path((id, aid)): Path<(i64, i64)>,
) -> WebResult {
    let u = c.require()?.clone();
    let (a, data) = s.store.get_attachment(&u, id, aid).await?;
    let mut res = data.into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&a.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(super::ATTACHMENT_CSP),
    );
    let safe: String = a
        .filename
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_'))
        .collect();
    let disp = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        if safe.is_empty() { "attachment" } else { &safe },
        super::urlencode(&a.filename)
    );
    if let Ok(v) = HeaderValue::from_str(&disp) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
