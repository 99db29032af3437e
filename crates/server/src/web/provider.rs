//! Provider workspace: services with their guided profile and classification,
//! filings (assemble, edit, attach, submit, answer a return, change, cancel),
//! and the filing page shared with reviewers and auditors.

use std::collections::HashMap;
use std::sync::OnceLock;

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use beian_classify::{Classifier, Lang as CLang, RegimeResult};
use beian_kb::Profile;
use beian_kb::profile::FieldSpec;
use beian_registry::{
    Action, Attachment, AttachmentKind, Filing, FilingDeadline, FilingKind, FilingPatch, NewFiling,
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
    /// enum / enum-list choices: (value, label, checked)
    pub choices: Vec<(String, String, bool)>,
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
    /// The value(s) this field carries as hidden inputs while another step is
    /// on screen (a ticked checkbox is `true`, a list one input per choice).
    pub fn hidden_values(&self) -> Vec<String> {
        match self.ty.as_str() {
            "bool" if self.value == "true" => vec!["true".into()],
            "bool" => Vec::new(),
            "enum-list" => self
                .choices
                .iter()
                .filter(|c| c.2)
                .map(|c| c.0.clone())
                .collect(),
            _ if self.value.is_empty() => Vec::new(),
            _ => vec![self.value.clone()],
        }
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
        let mut choices: Vec<(String, String, bool)> = f
            .values
            .iter()
            .map(|v| {
                (
                    v.clone(),
                    super::i18n::value_label(c.lang, v),
                    list.contains(v) || value == *v,
                )
            })
            .collect();
        if f.key == "province" {
            // the 34 province-level divisions (SASAC, through which central
            // SOEs file, only when a saved profile already names it)
            let cur = beian_registry::province::canonical(&value).unwrap_or("");
            choices = beian_registry::province::PROVINCES
                .iter()
                .filter(|p| p.1 != "00" || p.0 == cur)
                .map(|p| (p.0.to_string(), c.province(p.0), p.0 == cur))
                .collect();
        }
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

/// The value of a checkbox (`bool`) or a set of checkboxes (`enum-list`): the
/// same whether the form parses or is only shown again after an error.
fn choice_value(form: &FormData, key: &str, ty: &str) -> Value {
    if ty == "bool" {
        Value::Bool(form.get(key).is_some_and(|v| v == "true" || v == "on"))
    } else {
        Value::Array(
            form.all(key)
                .filter(|v| !v.is_empty())
                .map(|v| Value::String(v.to_string()))
                .collect(),
        )
    }
}

/// Builds a profile JSON object from the guided form (empty optional fields are left out).
pub fn profile_from_form(form: &FormData) -> Result<Map<String, Value>, WebError> {
    let mut m = Map::new();
    for f in schema_fields()? {
        let key = format!("p.{}", f.key);
        match f.ty.as_str() {
            "bool" | "enum-list" => {
                m.insert(f.key.clone(), choice_value(form, &key, &f.ty));
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
                    if f.key == "province" {
                        let p = beian_registry::province::canonical(v).ok_or_else(|| {
                            WebError::bad(format!("province: unknown province {v:?}"))
                        })?;
                        m.insert(f.key.clone(), Value::String(p.to_string()));
                        continue;
                    }
                    m.insert(f.key.clone(), Value::String(v.to_string()));
                }
            }
        }
    }
    Ok(m)
}

/// The steps of the guided profile form: (title key, fields).
pub const STEPS: &[(&str, &[&str])] = &[
    (
        "step_service",
        &[
            "name",
            "description",
            "public_facing",
            "provider_location",
            "province",
            "role",
            "sector",
            "launch_date",
            "research_and_development",
        ],
    ),
    (
        "step_content",
        &[
            "generative",
            "algorithm_types",
            "modalities",
            "deep_synthesis_functions",
            "public_opinion_attributes",
            "model_source",
            "general_purpose_model",
            "parameters",
            "training_compute_flops",
            "dispatches_workers",
            "dynamic_pricing",
            "automated_decisions",
        ],
    ),
    (
        "step_personal",
        &[
            "processes_personal_information",
            "processes_sensitive_personal_information",
            "biometric_editing",
            "cross_border_personal_information",
            "critical_information_infrastructure",
        ],
    ),
    (
        "step_users",
        &[
            "minors_users",
            "elderly_users",
            "registered_users",
            "monthly_active_users",
            "app_distribution_platform",
            "eu_market",
            "eu_practices",
        ],
    ),
];

/// The step (1-based) that holds the profile field `key` (unknown keys: the last).
fn step_of(key: &str) -> usize {
    STEPS
        .iter()
        .position(|(_, keys)| keys.contains(&key))
        .unwrap_or(STEPS.len() - 1)
        + 1
}

/// Which button of the guided form was pressed (`go`), from which step (`step`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Go {
    /// Save and classify (also a post without `go`: the whole form at once).
    Save,
    /// Show step n (1-based); moving forward checks the current step first.
    To(usize),
}

fn go_of(form: &FormData) -> (usize, Go) {
    let n = STEPS.len();
    let cur = form
        .get("step")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(n)
        .clamp(1, n);
    let go = match form.get("go") {
        Some("next") => Go::To((cur + 1).min(n)),
        Some("back") => Go::To(cur.saturating_sub(1).max(1)),
        Some(v) => match v
            .strip_prefix("step-")
            .and_then(|x| x.parse::<usize>().ok())
        {
            Some(k) => Go::To(k.clamp(1, n)),
            None => Go::Save,
        },
        None => Go::Save,
    };
    (cur, go)
}

/// Checks the fields of step `n` alone (numbers, province, required fields):
/// `Err(message)` names the first field that is wrong.
fn check_step(form: &FormData, n: usize) -> Result<(), WebError> {
    let keys = STEPS.get(n - 1).map(|s| s.1).unwrap_or(&[]);
    let only = FormData(
        form.0
            .iter()
            .filter(|(k, _)| k.strip_prefix("p.").is_some_and(|k| keys.contains(&k)))
            .cloned()
            .collect(),
    );
    profile_from_form(&only)?;
    for f in schema_fields()? {
        if f.required
            && keys.contains(&f.key.as_str())
            && form.get_trimmed(&format!("p.{}", f.key)).is_none()
        {
            return Err(WebError::bad(format!("{}: required", f.key)));
        }
    }
    Ok(())
}

/// One step of the guided form.
pub struct StepView {
    pub n: usize,
    pub title: &'static str,
    pub fields: Vec<FieldView>,
}

/// The fields grouped into [`STEPS`]; fields of no step go to the last one.
fn step_views(c: &Ctx, values: &Map<String, Value>) -> Result<Vec<StepView>, WebError> {
    let mut all = field_views(c, values)?;
    let mut steps = Vec::new();
    for (i, (title, keys)) in STEPS.iter().enumerate() {
        let mut fields = Vec::new();
        for k in *keys {
            if let Some(pos) = all.iter().position(|f| f.key == *k) {
                fields.push(all.remove(pos));
            }
        }
        steps.push(StepView {
            n: i + 1,
            title: c.t(title),
            fields,
        });
    }
    if let Some(last) = steps.last_mut() {
        last.fields.extend(all);
    }
    Ok(steps)
}

/// The example profiles of `examples/`, embedded: (slug, text, format).
const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "public-chatbot",
        include_str!("../../../../examples/public-chatbot.toml"),
        "toml",
    ),
    (
        "filed-model-app",
        include_str!("../../../../examples/filed-model-app.toml"),
        "toml",
    ),
    (
        "face-swap-app",
        include_str!("../../../../examples/face-swap-app.toml"),
        "toml",
    ),
    (
        "news-aggregator",
        include_str!("../../../../examples/news-aggregator.toml"),
        "toml",
    ),
    (
        "recommendation-feed",
        include_str!("../../../../examples/recommendation-feed.yaml"),
        "yaml",
    ),
    (
        "digital-human-livestream",
        include_str!("../../../../examples/digital-human-livestream.toml"),
        "toml",
    ),
    (
        "tutoring-minors",
        include_str!("../../../../examples/tutoring-minors.toml"),
        "toml",
    ),
    (
        "enterprise-copilot",
        include_str!("../../../../examples/enterprise-copilot.toml"),
        "toml",
    ),
    (
        "gov-service-bot",
        include_str!("../../../../examples/gov-service-bot.toml"),
        "toml",
    ),
    (
        "frontier-model-api",
        include_str!("../../../../examples/frontier-model-api.toml"),
        "toml",
    ),
    (
        "voice-synthesis-supplier",
        include_str!("../../../../examples/voice-synthesis-supplier.json"),
        "json",
    ),
    (
        "ride-hailing-dispatch",
        include_str!("../../../../examples/ride-hailing-dispatch.toml"),
        "toml",
    ),
    (
        "cross-border-ecommerce",
        include_str!("../../../../examples/cross-border-ecommerce.toml"),
        "toml",
    ),
    (
        "cv-ranking-cn",
        include_str!("../../../../examples/cv-ranking-cn.toml"),
        "toml",
    ),
    (
        "medical-imaging",
        include_str!("../../../../examples/medical-imaging.toml"),
        "toml",
    ),
    (
        "autonomous-driving-rd",
        include_str!("../../../../examples/autonomous-driving-rd.toml"),
        "toml",
    ),
    (
        "cv-screening",
        include_str!("../../../../examples/cv-screening.yaml"),
        "yaml",
    ),
    (
        "foundation-model-eu",
        include_str!("../../../../examples/foundation-model-eu.toml"),
        "toml",
    ),
];

/// An example profile's values, by slug.
pub fn example_values(slug: &str) -> Option<Map<String, Value>> {
    let (_, text, fmt) = EXAMPLES.iter().find(|e| e.0 == slug)?;
    let format = match *fmt {
        "yaml" => beian_kb::profile::ProfileFormat::Yaml,
        "json" => beian_kb::profile::ProfileFormat::Json,
        _ => beian_kb::profile::ProfileFormat::Toml,
    };
    let schema = classifier().ok()?.kb().profile_schema();
    let p = Profile::from_text(text, format, slug, schema).ok()?;
    let mut m = p.to_json().as_object().cloned()?;
    if let Some(Value::String(prov)) = m.get("province")
        && let Some(canon) = beian_registry::province::canonical(prov)
    {
        m.insert("province".into(), Value::String(canon.to_string()));
    }
    Some(m)
}

/// (slug, label) of the examples in the page language: the Chinese name in
/// brackets on Chinese pages, the whole name on English ones.
pub fn example_choices(c: &Ctx) -> Vec<(&'static str, String)> {
    EXAMPLES
        .iter()
        .map(|(slug, text, _)| {
            let name = example_values(slug)
                .and_then(|m| m.get("name").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| slug.to_string());
            let zh = name
                .split_once('(')
                .or_else(|| name.split_once('（'))
                .map(|(_, r)| r.split([')', '）']).next().unwrap_or(r).trim().to_string());
            let _ = text;
            let label = match (c.zh(), zh) {
                (true, Some(z)) => z,
                _ => name,
            };
            (*slug, label)
        })
        .collect()
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
    deadlines: Vec<FilingDeadline>,
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
            .filing_deadlines(&u, sv.id)
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
    steps: Vec<StepView>,
    error: Option<String>,
    examples: Vec<(&'static str, String)>,
    example: String,
    /// `Some(id)` when editing a saved service.
    editing: Option<i64>,
    /// The step on screen (1-based); the others travel as hidden inputs.
    current: usize,
}

/// The guided form at step `current` with `values` (200, or 422 with `error`).
fn profile_page(
    c: Ctx,
    values: &Map<String, Value>,
    current: usize,
    error: Option<String>,
    example: String,
    editing: Option<i64>,
) -> WebResult {
    let steps = step_views(&c, values)?;
    let examples = example_choices(&c);
    let status = if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    let page = ServiceNew {
        c,
        steps,
        error,
        examples,
        example,
        editing,
        current: current.clamp(1, STEPS.len()),
    };
    Ok((status, render(&page)).into_response())
}

/// Moving between steps (`go` = back, next, step-N): `Some(page)`; a save: `None`.
/// Moving forward checks the step on screen first and stays there on an error.
fn profile_nav(
    c: &Ctx,
    form: &FormData,
    editing: Option<i64>,
) -> Result<Option<WebResult>, WebError> {
    let (cur, go) = go_of(form);
    let Go::To(to) = go else { return Ok(None) };
    let values = raw_values(form)?;
    let example = form.get("example").unwrap_or("").to_string();
    if to > cur
        && let Err(WebError::Status(_, msg)) = check_step(form, cur)
    {
        let error = Some(profile_error(c, &msg));
        return Ok(Some(profile_page(
            c.clone(),
            &values,
            cur,
            error,
            example,
            editing,
        )));
    }
    Ok(Some(profile_page(
        c.clone(),
        &values,
        to,
        None,
        example,
        editing,
    )))
}

/// After a failed save: the form again, on the step of the field at fault.
fn profile_failed(c: Ctx, form: &FormData, msg: &str, editing: Option<i64>) -> WebResult {
    let values = raw_values(form)?;
    let step = error_field(msg).map_or_else(|| go_of(form).0, |f| step_of(&f.key));
    let error = Some(profile_error(&c, msg));
    let example = form.get("example").unwrap_or("").to_string();
    profile_page(c, &values, step, error, example, editing)
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct NewParams {
    example: Option<String>,
}

pub async fn service_new(c: Ctx, Query(p): Query<NewParams>) -> WebResult {
    require_provider(&c)?;
    let example = p.example.unwrap_or_default();
    let values = if example.is_empty() {
        Map::new()
    } else {
        example_values(&example).ok_or_else(|| WebError::not_found("example profile"))?
    };
    profile_page(c, &values, 1, None, example, None)
}

/// The raw form values as a profile map (for re-showing after an error:
/// whatever was typed survives, even what did not parse).
fn raw_values(form: &FormData) -> Result<Map<String, Value>, WebError> {
    let mut m = Map::new();
    for f in schema_fields()? {
        let key = format!("p.{}", f.key);
        match f.ty.as_str() {
            "bool" | "enum-list" => {
                m.insert(f.key.clone(), choice_value(form, &key, &f.ty));
            }
            _ => {
                if let Some(v) = form.get(&key) {
                    m.insert(f.key.clone(), Value::String(v.to_string()));
                }
            }
        }
    }
    Ok(m)
}

/// The profile field a problem message names (the longest key it mentions).
fn error_field(msg: &str) -> Option<&'static FieldSpec> {
    schema_fields().ok().and_then(|fs| {
        fs.iter()
            .filter(|f| msg.contains(f.key.as_str()))
            .max_by_key(|f| f.key.len())
    })
}

/// A profile problem in the page language: the field's label, then the detail (English pages only).
fn profile_error(c: &Ctx, msg: &str) -> String {
    let field = error_field(msg);
    match (c.zh(), field) {
        (true, Some(f)) => format!("{}：{}", c.t("profile_invalid"), f.zh),
        (true, None) => c.t("profile_invalid").to_string(),
        (false, Some(f)) => format!("{} {}: {msg}", c.t("profile_invalid"), f.en),
        (false, None) => format!("{} {msg}", c.t("profile_invalid")),
    }
}

pub async fn service_create(State(s): State<AppState>, c: Ctx, form: FormData) -> WebResult {
    let u = require_provider(&c)?.clone();
    c.check_csrf(form.get("csrf"))?;
    if let Some(page) = profile_nav(&c, &form, None)? {
        return page;
    }
    let name = form.get_trimmed("p.name").unwrap_or("").to_string();
    let launched_on = form.get_trimmed("p.launch_date").map(str::to_string);
    let result = async {
        let values = profile_from_form(&form)?;
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
            profile_failed(c, &form, &msg, None)
        }
        Err(e) => Err(e),
    }
}

/// `GET /services/{id}/edit`: the guided form with the saved profile.
pub async fn service_edit_form(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<i64>,
) -> WebResult {
    let u = require_provider(&c)?.clone();
    let sv = s.store.get_service(&u, id).await?;
    let mut values = sv.profile.as_object().cloned().unwrap_or_default();
    values.insert("name".into(), Value::String(sv.name.clone()));
    profile_page(c, &values, 1, None, String::new(), Some(id))
}

/// Obligations and filings gained and lost by an edit: (added, removed) titles.
pub struct ObligationDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub filings_added: Vec<String>,
    pub filings_removed: Vec<String>,
}

fn obligation_titles(c: &Ctx, classification: &Value) -> Vec<(String, String)> {
    classification
        .pointer("/report/results/0/obligations")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|o| {
                    let id = o.get("id")?.as_str()?.to_string();
                    let t = if c.zh() { "title_zh" } else { "title_en" };
                    let title = o
                        .get(t)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .or_else(|| o.get("title").and_then(Value::as_str))
                        .unwrap_or(&id)
                        .to_string();
                    Some((id, title))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn diff(c: &Ctx, old: &Value, new: &Value) -> ObligationDiff {
    let (a, b) = (obligation_titles(c, old), obligation_titles(c, new));
    let added = b
        .iter()
        .filter(|(id, _)| !a.iter().any(|(x, _)| x == id))
        .map(|(_, t)| t.clone())
        .collect();
    let removed = a
        .iter()
        .filter(|(id, _)| !b.iter().any(|(x, _)| x == id))
        .map(|(_, t)| t.clone())
        .collect();
    let (fa, fb) = (
        beian_registry::classify::required_kinds(old).unwrap_or_default(),
        beian_registry::classify::required_kinds(new).unwrap_or_default(),
    );
    ObligationDiff {
        added,
        removed,
        filings_added: fb
            .iter()
            .filter(|k| !fa.contains(k))
            .map(|k| c.label(k))
            .collect(),
        filings_removed: fa
            .iter()
            .filter(|k| !fb.contains(k))
            .map(|k| c.label(k))
            .collect(),
    }
}

/// `POST /services/{id}/edit`: saves, re-classifies and shows the obligation diff.
pub async fn service_edit(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<i64>,
    form: FormData,
) -> WebResult {
    let u = require_provider(&c)?.clone();
    c.check_csrf(form.get("csrf"))?;
    // the service must be the caller's before any step of its form is shown
    s.store.get_service(&u, id).await?;
    if let Some(page) = profile_nav(&c, &form, Some(id))? {
        return page;
    }
    let name = form.get_trimmed("p.name").unwrap_or("").to_string();
    let launched_on = form.get_trimmed("p.launch_date").map(str::to_string);
    let result = async {
        let values = profile_from_form(&form)?;
        let schema = classifier()?.kb().profile_schema();
        Profile::from_value(Value::Object(values.clone()), None, "form", schema)
            .map_err(|e| WebError::bad(e.to_string()))?;
        Ok::<_, WebError>(
            s.store
                .update_service_profile(&u, id, &name, Value::Object(values), launched_on)
                .await?,
        )
    }
    .await;
    match result {
        Ok((old, new)) => {
            let d = diff(&c, &old.classification, &new.classification);
            service_page(&s, c, id, Some(d)).await
        }
        Err(WebError::Status(status, msg))
            if status.is_client_error()
                && status != axum::http::StatusCode::FORBIDDEN
                && status != axum::http::StatusCode::NOT_FOUND =>
        {
            profile_failed(c, &form, &msg, Some(id))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServiceView {
    c: Ctx,
    service: Service,
    /// (label, value, free text: marked `translate="no"`)
    facts: Vec<(String, String, bool)>,
    result: Option<RegimeResult>,
    error: Option<String>,
    deadlines: Vec<FilingDeadline>,
    kinds: Vec<&'static str>,
    suggested: Vec<String>,
    /// After an edit: what changed in the obligations.
    diff: Option<ObligationDiff>,
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
    service_page(&s, c, id, None).await
}

async fn service_page(s: &AppState, c: Ctx, id: i64, diff: Option<ObligationDiff>) -> WebResult {
    let u = c.require()?.clone();
    let service = s.store.read_service(&u, id).await?;
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
                let enumish = !f.values.is_empty();
                let shown = match v {
                    Value::String(s) if enumish => super::i18n::value_label(c.lang, s),
                    Value::String(s) => s.clone(),
                    Value::Array(a) => a
                        .iter()
                        .map(|x| {
                            x.as_str()
                                .map(|s| super::i18n::value_label(c.lang, s))
                                .unwrap_or_else(|| x.to_string())
                        })
                        .collect::<Vec<_>>()
                        .join(if c.zh() { "、" } else { ", " }),
                    Value::Bool(true) => c.t("yes").to_string(),
                    Value::Bool(false) => c.t("no").to_string(),
                    other => other.to_string(),
                };
                // free text (names, descriptions) is the provider's data, not interface text
                let data = !enumish && matches!(v, Value::String(_) | Value::Array(_));
                if !shown.is_empty() {
                    facts.push((c.pick(&f.zh, &f.en).to_string(), shown, data));
                }
            }
        }
    }
    let deadlines = s.store.filing_deadlines(&u, id).await.unwrap_or_default();
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
        diff,
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
    /// Return, reject and cancel need a reason.
    needs_comment: bool,
    /// Reject and cancel ask for a confirmation on a second page.
    confirm: bool,
}

#[derive(Template)]
#[template(path = "filing.html")]
struct FilingView {
    c: Ctx,
    f: Filing,
    service: Option<Service>,
    deadlines: Vec<FilingDeadline>,
    attachments: Vec<Attachment>,
    missing: Vec<&'static str>,
    checks: Vec<CheckView>,
    /// The checklist was computed now (drafts and returned filings).
    live: bool,
    /// Titles of the blocking checks that fail.
    blocking: Vec<String>,
    form_fields: Vec<(&'static str, String)>,
    /// `form.assessment` figures: (key, value).
    metrics: Vec<(&'static str, String)>,
    editable: bool,
    actions: Vec<ActionView>,
    can_change: bool,
    attachment_kinds: Vec<&'static str>,
    flash: Option<String>,
    events: Vec<EventView>,
    /// The latest approval over failing checks: (reviewer, reason).
    override_note: Option<(String, String)>,
    /// A reject or cancel waiting for confirmation: (action, reason).
    confirm: Option<(&'static str, String)>,
    /// National reviewers before a number is issued: the provinces to move
    /// the filing to, (value, label, current).
    provinces: Vec<(&'static str, String, bool)>,
    /// A province change waiting for confirmation: (from label, to value, to label, reason).
    confirm_province: Option<(String, String, String, String)>,
}

/// The service deadline `d` as it applies to filing `f`: its own kind's
/// deadline with the state from this filing alone; for an initial filing
/// also the change and cancellation deadlines, for a change filing the
/// change deadline; others' kinds not at all.
pub fn own_deadline(d: FilingDeadline, f: &Filing) -> Option<FilingDeadline> {
    let initial = f.purpose == beian_registry::Purpose::Initial;
    match d.filing_kind.as_deref() {
        Some(k) if k == f.kind.as_str() && initial => {
            Some(beian_registry::store::deadline_for_filing(d, f))
        }
        Some(_) => None,
        None if initial || d.kind == "change" => Some(d),
        None => None,
    }
}

/// A province-level division's name in the page language.
fn province_label(c: &Ctx, name: &str) -> String {
    c.province(name)
}

/// May `u` move `f` to another province now? (National reviewers, before a number.)
fn can_move_province(u: &User, f: &Filing) -> bool {
    u.role == Role::NationalReviewer
        && f.number.is_none()
        && matches!(
            f.status,
            Status::Submitted
                | Status::ProvincialReview
                | Status::NationalReview
                | Status::Returned
        )
}

pub struct CheckView {
    pub id: String,
    pub title: String,
    pub status: String,
    pub detail: String,
    pub blocking: bool,
}

pub struct EventView {
    pub at: String,
    pub who: String,
    pub role: String,
    pub action: String,
    pub body: String,
    pub override_reason: Option<String>,
}

/// The form keys of the assessment metrics (`form.assessment.<key>`).
pub const METRIC_FIELDS: &[&str] = &[
    "generated_qualified",
    "should_refuse_refusal_rate",
    "should_answer_refusal_rate",
];

impl FilingView {
    fn help_key(&self, k: &str) -> String {
        format!("{k}_help")
    }
    /// `查看报告` only for what the report page can show: the HTML report of
    /// `beian assess` and JSON run records (`summary.json`, `report.json`),
    /// never JSONL banks, sheets or plain text.
    fn viewable(&self, a: &Attachment) -> bool {
        let name = a.filename.to_lowercase();
        a.content_type == "text/html"
            || (a.content_type == "application/json"
                && name.ends_with(".json")
                && !matches!(
                    a.kind,
                    AttachmentKind::QuestionSheet | AttachmentKind::KeywordSheet
                ))
    }
    fn metric_key(&self, k: &str) -> String {
        format!("metric_{k}")
    }
}

/// Checks of a stored or live checklist, in the page language.
pub fn check_views(c: &Ctx, checks: &Value) -> Vec<CheckView> {
    checks
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    let id = x["id"].as_str().unwrap_or("").to_string();
                    let (tz, te) = beian_registry::precheck::title(&id).unwrap_or(("", ""));
                    let title = if c.zh() {
                        x["title_zh"].as_str().unwrap_or(tz)
                    } else {
                        x["title"].as_str().unwrap_or(te)
                    };
                    let detail = if c.zh() {
                        x["detail_zh"].as_str()
                    } else {
                        x["detail"].as_str()
                    };
                    CheckView {
                        title: if title.is_empty() {
                            id.clone()
                        } else {
                            title.to_string()
                        },
                        status: x["status"].as_str().unwrap_or("").to_string(),
                        detail: detail.unwrap_or("").to_string(),
                        blocking: x.get("blocking").and_then(Value::as_bool) != Some(false),
                        id,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Title of a check id in the page language.
pub fn check_title(c: &Ctx, id: &str) -> String {
    match beian_registry::precheck::title(id) {
        Some((zh, en)) => c.pick(zh, en).to_string(),
        None => id.to_string(),
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
            && !(a == Action::Cancel && f.purpose == beian_registry::Purpose::Change)
        {
            out.push(ActionView {
                action: a.as_str(),
                needs_comment: matches!(a, Action::Return | Action::Reject | Action::Cancel),
                confirm: matches!(a, Action::Reject | Action::Cancel),
            });
        }
    }
    out
}

/// The user name in an actor string `user:<id>:<name>`.
fn actor_short(actor: &str) -> String {
    actor.splitn(3, ':').nth(2).unwrap_or(actor).to_string()
}

async fn filing_page(s: &AppState, c: Ctx, id: i64, flash: Option<String>) -> WebResult {
    filing_page_full(s, c, id, flash, None, None).await
}

async fn filing_page_full(
    s: &AppState,
    c: Ctx,
    id: i64,
    flash: Option<String>,
    confirm: Option<(&'static str, String)>,
    move_to: Option<(String, String)>,
) -> WebResult {
    let u = c.require()?.clone();
    let f = s.store.get_filing(Some(&u), id).await?;
    let provinces = if can_move_province(&u, &f) {
        beian_registry::province::PROVINCES
            .iter()
            .map(|p| (p.0, c.province(p.0), p.0 == f.province))
            .collect()
    } else {
        Vec::new()
    };
    let confirm_province = move_to.map(|(to, reason)| {
        (
            province_label(&c, &f.province),
            to.clone(),
            province_label(&c, &to),
            reason,
        )
    });
    let attachments = s.store.list_attachments(&u, id).await.unwrap_or_default();
    let service = match f.service_id {
        Some(sid) => s.store.get_service(&u, sid).await.ok(),
        None => None,
    };
    let deadlines = match &service {
        Some(sv) => s
            .store
            .filing_deadlines(&u, sv.id)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|d| own_deadline(d, &f))
            .collect(),
        None => Vec::new(),
    };
    let missing = AttachmentKind::required_for(f.kind)
        .iter()
        .filter(|k| !attachments.iter().any(|a| a.kind == **k))
        .map(|k| k.as_str())
        .collect();
    // live on drafts and returned filings, and for reviewers deciding now
    let live = matches!(
        f.status,
        Status::Draft | Status::Returned | Status::ProvincialReview | Status::NationalReview
    );
    let raw_checks = if live {
        s.store
            .live_checks(&u, id)
            .await
            .unwrap_or(f.checks.clone())
    } else {
        f.checks.clone()
    };
    let checks = check_views(&c, &raw_checks);
    let blocking = beian_registry::precheck::blocking_failures(&raw_checks)
        .iter()
        .map(|id| check_title(&c, id))
        .collect();
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
    let metrics = METRIC_FIELDS
        .iter()
        .map(|k| {
            let v = f.form.get("assessment").and_then(|a| a.get(*k));
            let shown = match v {
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            (*k, shown)
        })
        .collect();
    let editable = u.role.is_provider() && matches!(f.status, Status::Draft | Status::Returned);
    let actions = allowed_actions(&u, &f);
    let can_change = u.role.is_provider() && f.status == Status::Approved;
    let attachment_kinds = AttachmentKind::ALL.iter().map(|k| k.as_str()).collect();
    let events: Vec<EventView> = s
        .store
        .filing_events(&u, id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|e| EventView {
            at: super::i18n::shanghai(&e.at),
            who: actor_short(&e.actor),
            role: c.label(&e.role),
            action: c.t(&format!("ev_{}", e.action)).to_string(),
            body: e.body,
            override_reason: e.override_reason,
        })
        .collect();
    let override_note = events
        .iter()
        .rev()
        .find_map(|e| e.override_reason.clone().map(|r| (e.who.clone(), r)));
    Ok(render(&FilingView {
        c,
        f,
        service,
        deadlines,
        attachments,
        missing,
        checks,
        live,
        blocking,
        form_fields,
        metrics,
        editable,
        actions,
        can_change,
        attachment_kinds,
        flash,
        events,
        override_note,
        confirm,
        provinces,
        confirm_province,
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
    let mut assessment = obj
        .get("assessment")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for k in METRIC_FIELDS {
        if let Some(v) = form.get(&format!("form.assessment.{k}")) {
            let v = v.trim();
            if v.is_empty() {
                assessment.remove(*k);
                continue;
            }
            match v.parse::<f64>() {
                Ok(x) if (0.0..=1.0).contains(&x) => {
                    assessment.insert((*k).to_string(), json!(x));
                }
                _ => {
                    let msg = format!(
                        "{}：{v:?} {}",
                        c.t(&format!("metric_{k}")),
                        c.t("bad_ratio")
                    );
                    let mut res = filing_page(&s, c, id, Some(msg)).await?;
                    *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
                    return Ok(res);
                }
            }
        }
    }
    if !assessment.is_empty() || obj.contains_key("assessment") {
        obj.insert("assessment".into(), Value::Object(assessment));
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

/// A refused action, in the page language.
fn refusal(c: &Ctx, e: &beian_registry::RegistryError) -> String {
    use beian_registry::RegistryError as E;
    match e {
        E::ChecksFailed(ids) => {
            let titles: Vec<String> = ids.iter().map(|i| check_title(c, i)).collect();
            format!(
                "{}{}",
                c.t("refused_checks"),
                titles.join(if c.zh() { "、" } else { ", " })
            )
        }
        E::Invalid { field, .. } if field == "comment" => c.t("reason_required").to_string(),
        E::Invalid { field, .. } if field == "override_reason" => {
            c.t("override_too_long").to_string()
        }
        E::Transition(_) | E::Conflict(_) if c.zh() => c.t("action_refused").to_string(),
        other => {
            if c.zh() {
                c.t("action_refused").to_string()
            } else {
                other.to_string()
            }
        }
    }
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
    let override_reason = form.get_trimmed("override_reason").map(str::to_string);
    // reject and cancel: a reason, then a confirmation page
    if matches!(action, Action::Reject | Action::Cancel) && form.get("confirm") != Some("yes") {
        let Some(reason) = comment else {
            let msg = c.t("reason_required").to_string();
            let mut res = filing_page(&s, c, id, Some(msg)).await?;
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(res);
        };
        let a: &'static str = if action == Action::Reject {
            "reject"
        } else {
            "cancel"
        };
        return filing_page_full(&s, c, id, None, Some((a, reason)), None).await;
    }
    match s
        .store
        .act_full(&u, id, action, comment, override_reason)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/filings/{id}"))),
        Err(e) => {
            let msg = refusal(&c, &e);
            let e = WebError::from(e);
            match &e {
                // refused transitions and invalid input: show them on the filing page
                WebError::Status(st, _) if st.as_u16() == 409 || st.as_u16() == 422 => {
                    let st = *st;
                    let mut res = filing_page(&s, c, id, Some(msg)).await?;
                    *res.status_mut() = st;
                    Ok(res)
                }
                _ => Err(e),
            }
        }
    }
}

/// `POST /filings/{id}/province`: a national reviewer moves a filing to
/// another province's review (the API's `POST /api/v1/filings/{id}/province`):
/// a province and a reason, then a confirmation page, then the change (audited).
pub async fn filing_province(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<i64>,
    form: FormData,
) -> WebResult {
    let u = c.require()?.clone();
    c.check_csrf(form.get("csrf"))?;
    let f = s.store.get_filing(Some(&u), id).await?;
    let fail = |c: Ctx, msg: String, st: axum::http::StatusCode| {
        let s = s.clone();
        async move {
            let mut res = filing_page(&s, c, id, Some(msg)).await?;
            *res.status_mut() = st;
            Ok::<_, WebError>(res)
        }
    };
    if !can_move_province(&u, &f) {
        let msg = c.t("action_refused").to_string();
        let st = if u.role == Role::NationalReviewer {
            axum::http::StatusCode::CONFLICT
        } else {
            axum::http::StatusCode::FORBIDDEN
        };
        return fail(c, msg, st).await;
    }
    let Some(to) = form
        .get_trimmed("province")
        .and_then(beian_registry::province::canonical)
    else {
        let msg = c.t("choose_province").to_string();
        return fail(c, msg, axum::http::StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let Some(reason) = form.get_trimmed("reason").map(str::to_string) else {
        let msg = c.t("reason_required").to_string();
        return fail(c, msg, axum::http::StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    if to == f.province {
        let msg = c.t("province_same").to_string();
        return fail(c, msg, axum::http::StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    if form.get("confirm") != Some("yes") {
        return filing_page_full(&s, c, id, None, None, Some((to.to_string(), reason))).await;
    }
    match s.store.set_filing_province(&u, id, to, &reason).await {
        Ok(_) => Ok(see_other(&format!("/filings/{id}"))),
        Err(e) => {
            let msg = refusal(&c, &e);
            match WebError::from(e) {
                WebError::Status(st, _) if st.as_u16() == 409 || st.as_u16() == 422 => {
                    fail(c, msg, st).await
                }
                other => Err(other),
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
                    let msg = if c.zh() {
                        let why = match st.as_u16() {
                            413 => "文件过大（上限 20 MiB）",
                            409 => "备案当前状态不允许上传",
                            _ if m.contains("filename") => "文件名不合规",
                            _ if m.contains("empty") => "文件为空",
                            _ => {
                                "文件类型与所选附件类型不符或不被接受（网页报告只能作为评估运行报告上传）"
                            }
                        };
                        format!("{filename}：{} {why}", c.t("upload_refused"))
                    } else {
                        format!("{filename}: {m}")
                    };
                    let mut res = filing_page(&s, c, id, Some(msg)).await?;
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
