//! The repository: all SQL of beian lives here. One code path for SQLite and
//! PostgreSQL through sqlx's `Any` driver with runtime queries (no database
//! is needed to build); dialect differences are confined to the two
//! migration trees and a few `match self.backend` lines. Every write runs in
//! one transaction that also appends to the audit chain.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AssertSqlSafe};
use sqlx::{AnyPool, FromRow, Row};

use crate::audit as chain;
use crate::auth;
use crate::domain::*;
use crate::error::{RegistryError, Result};
use crate::import::{Anomaly, ParsedFile, Severity};
use crate::number;
use crate::precheck;
use crate::province;
use crate::register::RegisterIndex;
use crate::state::{self, Action};

mod attachments;
mod audit;
mod filings;
pub mod log;
mod orgs_users;
mod register;
mod services;
mod workflow;
pub use workflow::{deadline_for_filing, set_cli_actor};

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

const MIGRATIONS_SQLITE: &[(&str, &str)] = &[
    (
        "0001_init",
        include_str!("../../migrations/sqlite/0001_init.sql"),
    ),
    (
        "0002_workflow",
        include_str!("../../migrations/sqlite/0002_workflow.sql"),
    ),
    (
        "0003_log",
        include_str!("../../migrations/sqlite/0003_log.sql"),
    ),
];
const MIGRATIONS_POSTGRES: &[(&str, &str)] = &[
    (
        "0001_init",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        "0002_workflow",
        include_str!("../../migrations/postgres/0002_workflow.sql"),
    ),
    (
        "0003_log",
        include_str!("../../migrations/postgres/0003_log.sql"),
    ),
];

/// Maximum attachment size (bytes).
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;

/// Result of importing one parsed file.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ImportSummary {
    pub file: String,
    pub rows: usize,
    pub inserted: usize,
    pub unchanged: usize,
    pub conflicts: usize,
    pub skipped: usize,
    pub anomalies: Vec<Anomaly>,
}

/// A new browser session.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf: String,
    pub user: User,
}

/// Deadline view of a service (working days on the PRC calendar).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Deadline {
    /// `file-after-launch` (10 WD), `change` (10 WD), `cancel-after-stop` (20 WD).
    pub kind: String,
    pub from: String,
    pub working_days: u32,
    pub due: String,
    pub met: bool,
    pub overdue: bool,
    /// `prc` (holidays and make-up days) or `weekends-only` (year not in the calendar).
    pub calendar: String,
}

/// The registry store.
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    write_lock: tokio::sync::Mutex<()>,
    pub(crate) register: RegisterIndex,
    logins: auth::LoginLimiter,
    generation: AtomicU64,
    pub(crate) log: log::LogState,
    /// Bounds password hashing on the blocking pool.
    hash_slots: tokio::sync::Semaphore,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Today in China Standard Time.
pub fn today_cn() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

fn actor_name(u: Option<&User>) -> String {
    match u {
        Some(u) => format!("user:{}:{}", u.id, u.username),
        None => workflow::system_actor(),
    }
}

fn get_s(row: &AnyRow, col: &str) -> Result<String> {
    Ok(row.try_get::<String, _>(col)?)
}
fn get_os(row: &AnyRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}
fn get_i(row: &AnyRow, col: &str) -> Result<i64> {
    Ok(row.try_get::<i64, _>(col)?)
}
fn get_json(row: &AnyRow, col: &str) -> Result<Value> {
    json_col(col, &get_s(row, col)?)
}
fn parse_enum<T>(s: &str, f: fn(&str) -> Option<T>, what: &str) -> Result<T> {
    f(s).ok_or_else(|| RegistryError::Corrupt(format!("unknown {what} {s:?}")))
}

const FILING_COLS: &str = "id, org_id, service_id, kind, purpose, parent_id, status, name, name_latin, province, form, number, checks, comment, created_at, updated_at, submitted_on, approved_on";

fn json_col(col: &str, s: &str) -> Result<Value> {
    serde_json::from_str(s).map_err(|e| RegistryError::Corrupt(format!("{col}: {e}")))
}

/// A `filings` row as stored (enums and JSON as text).
#[derive(sqlx::FromRow)]
struct FilingRow {
    id: i64,
    org_id: i64,
    service_id: Option<i64>,
    kind: String,
    purpose: String,
    parent_id: Option<i64>,
    status: String,
    name: String,
    name_latin: String,
    province: String,
    form: String,
    number: Option<String>,
    checks: String,
    comment: Option<String>,
    created_at: String,
    updated_at: String,
    submitted_on: Option<String>,
    approved_on: Option<String>,
}

impl TryFrom<FilingRow> for Filing {
    type Error = RegistryError;
    fn try_from(r: FilingRow) -> Result<Filing> {
        Ok(Filing {
            id: r.id,
            org_id: r.org_id,
            service_id: r.service_id,
            kind: parse_enum(&r.kind, FilingKind::parse, "kind")?,
            purpose: parse_enum(&r.purpose, Purpose::parse, "purpose")?,
            parent_id: r.parent_id,
            status: parse_enum(&r.status, Status::parse, "status")?,
            name: r.name,
            name_latin: r.name_latin,
            province: r.province,
            form: json_col("form", &r.form)?,
            number: r.number,
            checks: json_col("checks", &r.checks)?,
            comment: r.comment,
            created_at: r.created_at,
            updated_at: r.updated_at,
            submitted_on: r.submitted_on,
            approved_on: r.approved_on,
        })
    }
}

fn filing_from_row(r: &AnyRow) -> Result<Filing> {
    FilingRow::from_row(r)?.try_into()
}

const ORG_COLS: &str = "id, uscc, name, kind, province, division_code, legal_representative, security_officer, assessment_lead";

/// An `organisations` row as stored.
#[derive(sqlx::FromRow)]
struct OrgRow {
    id: i64,
    uscc: String,
    name: String,
    kind: String,
    province: String,
    division_code: String,
    legal_representative: String,
    security_officer: String,
    assessment_lead: String,
}

fn org_from_row(r: &AnyRow) -> Result<Organisation> {
    let r = OrgRow::from_row(r)?;
    Ok(Organisation {
        id: r.id,
        uscc: r.uscc,
        name: r.name,
        kind: parse_enum(&r.kind, OrgKind::parse, "org kind")?,
        province: r.province,
        division_code: r.division_code,
        legal_representative: r.legal_representative,
        security_officer: r.security_officer,
        assessment_lead: r.assessment_lead,
    })
}

/// A `users` row as stored (without the password hash).
#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    username: String,
    role: String,
    org_id: Option<i64>,
    province: Option<String>,
}

fn user_from_row(r: &AnyRow) -> Result<User> {
    let r = UserRow::from_row(r)?;
    Ok(User {
        id: r.id,
        username: r.username,
        role: parse_enum(&r.role, Role::parse, "role")?,
        org_id: r.org_id,
        province: r.province,
    })
}

/// A `services` row as stored.
#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: i64,
    org_id: i64,
    name: String,
    profile: String,
    classification: String,
    launched_on: Option<String>,
    stopped_on: Option<String>,
    changed_on: Option<String>,
}

fn service_from_row(r: &AnyRow) -> Result<Service> {
    let r = ServiceRow::from_row(r)?;
    Ok(Service {
        id: r.id,
        org_id: r.org_id,
        name: r.name,
        profile: json_col("profile", &r.profile)?,
        classification: json_col("classification", &r.classification)?,
        launched_on: r.launched_on,
        stopped_on: r.stopped_on,
        changed_on: r.changed_on,
    })
}

/// An `attachments` row as stored.
#[derive(sqlx::FromRow)]
struct AttachmentRow {
    id: i64,
    filing_id: i64,
    kind: String,
    filename: String,
    content_type: String,
    size: i64,
    sha256: String,
    created_at: String,
}

fn attachment_from_row(r: &AnyRow) -> Result<Attachment> {
    let r = AttachmentRow::from_row(r)?;
    Ok(Attachment {
        id: r.id,
        filing_id: r.filing_id,
        kind: parse_enum(&r.kind, AttachmentKind::parse, "attachment kind")?,
        filename: r.filename,
        content_type: r.content_type,
        size: r.size,
        sha256: r.sha256,
        created_at: r.created_at,
    })
}

/// Can `user` see this filing at all? (Otherwise: 404.)
pub fn can_see(user: Option<&User>, f: &Filing) -> bool {
    let Some(u) = user else { return false };
    match u.role {
        Role::ProviderEditor | Role::ProviderAdmin => u.org_id == Some(f.org_id),
        Role::ProvincialReviewer => {
            f.status != Status::Draft && u.province.as_deref() == Some(f.province.as_str())
        }
        Role::NationalReviewer => f.status != Status::Draft,
        Role::Auditor => true,
    }
}

fn require_nonempty(field: &str, v: &str, max: usize) -> Result<()> {
    if v.trim().is_empty() {
        return Err(RegistryError::invalid(field, "must not be empty"));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(RegistryError::invalid(
            field,
            "must not contain control characters (NUL, line breaks, tabs)",
        ));
    }
    if v.chars().count() > max {
        return Err(RegistryError::invalid(
            field,
            format!("longer than {max} characters"),
        ));
    }
    Ok(())
}

fn check_date(field: &str, v: &Option<String>) -> Result<Option<chrono::NaiveDate>> {
    match v {
        None => Ok(None),
        Some(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| RegistryError::invalid(field, format!("{s:?} is not a YYYY-MM-DD date"))),
    }
}

fn map_unique(e: sqlx::Error, what: &str) -> RegistryError {
    if let sqlx::Error::Database(d) = &e
        && d.is_unique_violation()
    {
        return RegistryError::Conflict(format!("{what} already exists"));
    }
    RegistryError::Db(e)
}

impl Store {
    /// Opens (creating and migrating if needed) the SQLite database in `data_dir`.
    pub async fn open_data_dir(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|source| RegistryError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        // Fail at once with a clear message rather than at the first write
        // (SQLite would time out waiting for a lock it can never take).
        let probe = data_dir.join(".beian-write-test");
        if let Err(e) = std::fs::write(&probe, b"") {
            let message = if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem
                || e.raw_os_error() == Some(30)
            {
                "read-only file system".to_string()
            } else if e.kind() == std::io::ErrorKind::PermissionDenied {
                "read-only: permission denied".to_string()
            } else {
                e.to_string()
            };
            return Err(RegistryError::ReadOnly {
                path: data_dir.display().to_string(),
                message,
            });
        }
        let _ = std::fs::remove_file(&probe);
        let path = data_dir.join("beian.db");
        let store = Store::open(&format!("sqlite://{}?mode=rwc", path.display())).await?;
        store.enable_log_in(data_dir, None).await?;
        Ok(store)
    }

    /// Opens a store from a URL (`sqlite://…` or `postgres://…`) and migrates it.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(RegistryError::invalid(
                "database-url",
                "must start with sqlite: or postgres:",
            ));
        };
        let mut opts =
            AnyPoolOptions::new().max_connections(if backend == Backend::Sqlite { 4 } else { 8 });
        if backend == Backend::Sqlite {
            opts = opts.after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::raw_sql("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
                        .execute(conn)
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = opts.connect(url).await?;
        if backend == Backend::Sqlite {
            sqlx::raw_sql("PRAGMA journal_mode = WAL;")
                .execute(&pool)
                .await?;
        }
        let store = Store {
            pool,
            backend,
            write_lock: tokio::sync::Mutex::new(()),
            register: RegisterIndex::default(),
            logins: auth::LoginLimiter::default(),
            generation: AtomicU64::new(1),
            log: log::LogState::default(),
            hash_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
        };
        store.migrate().await?;
        store.log_bootstrap().await?;
        store.log_sync().await?;
        Ok(store)
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// SQLite's journal mode (for tests: must be `wal`).
    pub async fn journal_mode(&self) -> Result<String> {
        let row = sqlx::query("PRAGMA journal_mode")
            .fetch_one(&self.pool)
            .await?;
        get_s(&row, "journal_mode")
    }

    async fn migrate(&self) -> Result<()> {
        let _g = self.write_lock.lock().await;
        let mut conn = self.pool.acquire().await?;
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS beian_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            .execute(&mut *conn)
            .await?;
        let list = match self.backend {
            Backend::Sqlite => MIGRATIONS_SQLITE,
            Backend::Postgres => MIGRATIONS_POSTGRES,
        };
        for (name, sql) in list {
            let done = sqlx::query("SELECT name FROM beian_migrations WHERE name = $1")
                .bind(*name)
                .fetch_optional(&mut *conn)
                .await?;
            if done.is_some() {
                continue;
            }
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(*sql)
                .execute(&mut *tx)
                .await
                .map_err(|source| RegistryError::Migration {
                    name: name.to_string(),
                    source,
                })?;
            sqlx::query("INSERT INTO beian_migrations (name, applied_at) VALUES ($1, $2)")
                .bind(*name)
                .bind(now())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    async fn lock(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            // SQLite has one writer; serialising here avoids BUSY on lock upgrade.
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        }
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Appends one entry to the audit chain inside the caller's transaction.
    async fn audit(
        &self,
        conn: &mut AnyConnection,
        actor: &str,
        action: &str,
        subject: &str,
        detail: Value,
    ) -> Result<()> {
        let sql = match self.backend {
            Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
            Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        };
        let head = sqlx::query(sql).fetch_one(&mut *conn).await?;
        let (prev_seq, prev_hash) = (get_i(&head, "seq")?, get_s(&head, "hash")?);
        let seq = prev_seq + 1;
        let at = now();
        let hash = chain::entry_hash(&prev_hash, seq, &at, actor, action, subject, &detail);
        sqlx::query("INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(seq)
            .bind(&at)
            .bind(actor)
            .bind(action)
            .bind(subject)
            .bind(detail.to_string())
            .bind(&prev_hash)
            .bind(&hash)
            .execute(&mut *conn)
            .await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&hash)
            .execute(&mut *conn)
            .await?;
        self.log_audit(conn, seq, &at, actor, action, subject, &detail)
            .await
    }

    /// Runs CPU-heavy work (password hashing) on the blocking pool, at most
    /// one job per CPU at a time; the async workers stay free.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let _permit = self
            .hash_slots
            .acquire()
            .await
            .map_err(|_| RegistryError::Crypto("hash pool closed".into()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| RegistryError::Crypto(e.to_string()))
    }

    /// Commits a write and publishes the log's new checkpoint.
    /// The checkpoint is signed and stored inside the transaction (see
    /// `log_prepare`), so no committed entry is ever unsigned.
    pub(crate) async fn commit(&self, mut tx: sqlx::Transaction<'_, sqlx::Any>) -> Result<()> {
        let prepared = self.log_prepare(&mut tx).await?;
        let res = tx.commit().await;
        if let Some(p) = prepared {
            self.log_finish(p, res.is_ok());
        }
        Ok(res?)
    }
}
