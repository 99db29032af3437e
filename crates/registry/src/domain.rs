//! Domain vocabulary: filing kinds, statuses, roles, and the records the
//! registry keeps. Every enum serialises to the kebab-case strings used in the
//! API and in the database.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! str_enum {
    ($(#[doc = $doc:literal])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $var),+ }
        // By hand: utoipa's derive does not see `serde(rename)` made by a
        // macro and listed the Rust names (`GenaiRegistration`), not the
        // accepted values (`genai-registration`).
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let doc: &[&str] = &[$($doc),*];
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(doc.iter().map(|l| l.trim()).collect::<Vec<_>>().join("\n")))
                    .enum_values(Some([$($s),+]))
                    .into()
            }
        }
        impl ToSchema for $name {}
        impl $name {
            /// All values, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// The stable string form.
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $s),+ } }
            /// Parses the stable string form.
            pub fn parse(s: &str) -> Option<$name> { match s { $($s => Some($name::$var),)+ _ => None } }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

str_enum!(
    /// The three kinds of filing kept by the regulator.
    FilingKind {
        /// 算法备案 (Algorithm Recommendation Provisions Art. 24; Deep Synthesis Art. 19).
        Algorithm = "algorithm-filing",
        /// 生成式人工智能服务备案 (own or fine-tuned model).
        GenaiFiling = "genai-filing",
        /// 生成式人工智能服务登记 (app or feature calling a filed model).
        GenaiRegistration = "genai-registration",
    }
);

impl FilingKind {
    /// Whether this kind goes to national review after provincial review.
    /// genAI registrations are decided by the provincial office alone
    /// (regime-facts §2.2 "240+ (provincial)").
    pub fn needs_national_review(self) -> bool {
        !matches!(self, FilingKind::GenaiRegistration)
    }
}

str_enum!(
    /// Lifecycle state of a filing.
    Status {
        Draft = "draft",
        Submitted = "submitted",
        ProvincialReview = "provincial-review",
        NationalReview = "national-review",
        Approved = "approved",
        Returned = "returned",
        Rejected = "rejected",
        ChangeSubmitted = "change-submitted",
        Cancelled = "cancelled",
    }
);

str_enum!(
    /// What a filing record asks for.
    Purpose {
        Initial = "initial",
        Change = "change",
    }
);

str_enum!(
    /// Roles of signed-in users. The anonymous public has no role.
    Role {
        ProviderEditor = "provider-editor",
        ProviderAdmin = "provider-admin",
        ProvincialReviewer = "provincial-reviewer",
        NationalReviewer = "national-reviewer",
        Auditor = "auditor",
    }
);

impl Role {
    /// Provider roles belong to an organisation.
    pub fn is_provider(self) -> bool {
        matches!(self, Role::ProviderEditor | Role::ProviderAdmin)
    }
}

str_enum!(
    /// Kind of organisation.
    OrgKind {
        Provider = "provider",
        TechnicalSupporter = "technical-supporter",
    }
);

str_enum!(
    /// Attachment types of a filing package (regime-facts §2.4).
    AttachmentKind {
        SelfAssessment = "self-assessment-report",
        KeywordSheet = "keyword-sheet",
        QuestionSheet = "question-sheet",
        ServiceAgreement = "service-agreement",
        AnnotationRules = "annotation-rules",
        FilingForm = "filing-form",
        Commitment = "commitment-letter",
        ModelProof = "model-proof",
        /// The self-contained HTML report of a `beian assess` run (the only
        /// kind that may be `text/html`; served sandboxed).
        AssessmentReport = "assessment-report",
        Other = "other",
    }
);

impl AttachmentKind {
    /// Required attachments per filing kind (regime-facts §1.3, §2.4).
    pub fn required_for(kind: FilingKind) -> &'static [AttachmentKind] {
        use AttachmentKind::*;
        match kind {
            FilingKind::Algorithm => &[SelfAssessment, Commitment],
            FilingKind::GenaiFiling => &[
                FilingForm,
                SelfAssessment,
                ServiceAgreement,
                AnnotationRules,
                KeywordSheet,
                QuestionSheet,
            ],
            FilingKind::GenaiRegistration => &[
                FilingForm,
                ModelProof,
                ServiceAgreement,
                KeywordSheet,
                QuestionSheet,
            ],
        }
    }
}

/// An organisation: provider or technical supporter.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Organisation {
    pub id: i64,
    /// Unified social credit code (GB 32100-2015), check digit validated.
    pub uscc: String,
    pub name: String,
    pub kind: OrgKind,
    /// Province (Chinese name as in the published lists, e.g. `北京市`).
    pub province: String,
    /// 6-digit administrative division code (GB/T 2260); used in algorithm filing numbers.
    pub division_code: String,
    pub legal_representative: String,
    /// 算法安全责任人.
    pub security_officer: String,
    /// 安全评估负责人.
    pub assessment_lead: String,
}

/// Input to create an organisation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    pub uscc: String,
    pub name: String,
    pub kind: OrgKind,
    pub province: String,
    /// Optional; defaults to the province code followed by `0000`.
    #[serde(default)]
    pub division_code: Option<String>,
    pub legal_representative: String,
    pub security_officer: String,
    pub assessment_lead: String,
}

/// A signed-in user (never carries the password hash).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    /// Organisation for provider roles.
    pub org_id: Option<i64>,
    /// Province for provincial reviewers.
    pub province: Option<String>,
}

/// Input to create a user.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
    #[serde(default)]
    pub org_id: Option<i64>,
    #[serde(default)]
    pub province: Option<String>,
}

/// A service with its profile (the classify input) and classification.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Service {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    /// The service profile (input of `beian classify`).
    #[schema(value_type = Object)]
    pub profile: serde_json::Value,
    /// Classification result attached automatically.
    #[schema(value_type = Object)]
    pub classification: serde_json::Value,
    /// Date the service went live (YYYY-MM-DD).
    pub launched_on: Option<String>,
    /// Date the service stopped (YYYY-MM-DD).
    pub stopped_on: Option<String>,
    /// Date of the last change that needs a change filing (YYYY-MM-DD).
    pub changed_on: Option<String>,
}

/// Dates recorded on a service later (launch, change, stop); absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePatch {
    #[serde(default)]
    pub launched_on: Option<String>,
    #[serde(default)]
    pub changed_on: Option<String>,
    #[serde(default)]
    pub stopped_on: Option<String>,
}

/// Input to create a service.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewService {
    pub name: String,
    #[schema(value_type = Object)]
    #[serde(default)]
    pub profile: serde_json::Value,
    #[serde(default)]
    pub launched_on: Option<String>,
    #[serde(default)]
    pub stopped_on: Option<String>,
    /// Only for users not bound to an organisation (national reviewers).
    #[serde(default)]
    pub org_id: Option<i64>,
}

/// A filing (initial or change).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Filing {
    pub id: i64,
    pub org_id: i64,
    pub service_id: Option<i64>,
    pub kind: FilingKind,
    pub purpose: Purpose,
    /// For change filings: the approved filing being changed.
    pub parent_id: Option<i64>,
    pub status: Status,
    /// Service / algorithm name as it will be published.
    pub name: String,
    /// Latin (pinyin CamelCase) form of the name used in genAI numbers.
    pub name_latin: String,
    pub province: String,
    /// Form content (free JSON: purpose, scenarios, compute, corpus, ...).
    #[schema(value_type = Object)]
    pub form: serde_json::Value,
    pub number: Option<String>,
    /// Automatic pre-check checklist, computed on submission.
    #[schema(value_type = Object)]
    pub checks: serde_json::Value,
    pub comment: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub submitted_on: Option<String>,
    pub approved_on: Option<String>,
}

/// Input to create a filing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFiling {
    pub kind: FilingKind,
    pub name: String,
    /// Optional Latin name for the filing number; derived from pinyin if absent.
    #[serde(default)]
    pub name_latin: Option<String>,
    #[serde(default)]
    pub service_id: Option<i64>,
    /// Defaults to the organisation's province.
    #[serde(default)]
    pub province: Option<String>,
    #[schema(value_type = Object)]
    #[serde(default)]
    pub form: serde_json::Value,
    /// Only for users not bound to an organisation.
    #[serde(default)]
    pub org_id: Option<i64>,
}

/// Edits to a draft or returned filing.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilingPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub name_latin: Option<String>,
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub form: Option<serde_json::Value>,
    #[serde(default)]
    pub service_id: Option<i64>,
}

/// Metadata of a stored attachment; the bytes live content-addressed by SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Attachment {
    pub id: i64,
    pub filing_id: i64,
    pub kind: AttachmentKind,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: String,
}

/// One public-register entry (imported or approved in beian).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RegisterItem {
    pub name: String,
    pub provider: String,
    pub filing_number: String,
    pub kind: String,
    pub province: String,
    pub date: String,
    /// `active` or `cancelled` (已注销).
    pub status: String,
    /// 角色 (published lists of deep-synthesis filings: 服务提供者 / 技术支持者).
    pub role: String,
    /// 应用产品.
    pub product: String,
    /// 主要用途.
    pub purpose: String,
    /// 备注 (e.g. `已注销 2025-03-04`, `变更 2025-05-01`).
    pub remark: String,
    /// 算法机制机理 as filed (filings approved here), published with the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm_mechanism: Option<String>,
    /// Date of cancellation (YYYY-MM-DD), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_on: Option<String>,
}

/// A page of the public register.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RegisterPage {
    pub total: i64,
    pub items: Vec<RegisterItem>,
}

/// Public-register query.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq, Hash)]
pub struct RegisterQuery {
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub province: Option<String>,
    /// `active` (default), `cancelled` or `all`.
    #[serde(default)]
    pub status: Option<String>,
    /// 1-based page number (50 items a page).
    #[serde(default)]
    pub page: Option<i64>,
}

/// One audit-log entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// One entry of a filing's thread: a return note, the provider's reply, a
/// rejection, a cancellation, or an approval over failing pre-checks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FilingEvent {
    pub id: i64,
    pub filing_id: i64,
    /// RFC 3339 UTC.
    pub at: String,
    /// `user:<id>:<name>`.
    pub actor: String,
    pub role: String,
    /// `return`, `reply` (a resubmission with a note), `reject`, `cancel`, `approve`,
    /// `province` (a national reviewer moved the filing to another province).
    pub action: String,
    pub body: String,
    /// Set when a reviewer approved over failing blocking pre-checks.
    pub override_reason: Option<String>,
    /// Ids of the blocking pre-checks failing at that moment.
    pub failing: Vec<String>,
}

/// A filing deadline of a service, from the filing kinds its classification
/// calls for and the state of its filings (working days on the PRC calendar).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FilingDeadline {
    /// `file-before-launch`, `file-after-launch`, `change` (10 WD), `cancel-after-stop` (20 WD).
    pub kind: String,
    /// The filing kind this deadline is for (`file-*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filing_kind: Option<String>,
    /// The filing that answers it (the earliest submitted, else the latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filing_id: Option<i64>,
    /// Start date (launch, change or stop); empty when the service has no launch date.
    pub from: String,
    /// 0 for `file-before-launch`.
    pub working_days: u32,
    /// Due date; empty when unknown.
    pub due: String,
    /// `met` (the required filing exists and was submitted in time), `late`,
    /// `missing` (no such filing), `not-submitted` (a draft), `returned`,
    /// `rejected`, `pending` (no launch date yet).
    pub state: String,
    /// True only for `met`.
    pub met: bool,
    /// Past due and not met.
    pub overdue: bool,
    /// `prc` (holidays and make-up days) or `weekends-only` (year not in the calendar).
    pub calendar: String,
}
