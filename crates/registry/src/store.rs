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
use sqlx::{AnyPool, Row};

use crate::audit;
use crate::auth;
use crate::domain::*;
use crate::error::{RegistryError, Result};
use crate::import::{Anomaly, ParsedFile, Severity};
use crate::number;
use crate::precheck;
use crate::province;
use crate::register::RegisterIndex;
use crate::state::{self, Action};

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

const MIGRATIONS_SQLITE: &[(&str, &str)] = &[(
    "0001_init",
    include_str!("../migrations/sqlite/0001_init.sql"),
)];
const MIGRATIONS_POSTGRES: &[(&str, &str)] = &[(
    "0001_init",
    include_str!("../migrations/postgres/0001_init.sql"),
)];

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
        None => "anonymous".to_string(),
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
fn get_oi(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}
fn get_json(row: &AnyRow, col: &str) -> Result<Value> {
    let s = get_s(row, col)?;
    serde_json::from_str(&s).map_err(|e| RegistryError::Corrupt(format!("{col}: {e}")))
}
fn parse_enum<T>(s: &str, f: fn(&str) -> Option<T>, what: &str) -> Result<T> {
    f(s).ok_or_else(|| RegistryError::Corrupt(format!("unknown {what} {s:?}")))
}

const FILING_COLS: &str = "id, org_id, service_id, kind, purpose, parent_id, status, name, name_latin, province, form, number, checks, comment, created_at, updated_at, submitted_on, approved_on";

fn filing_from_row(r: &AnyRow) -> Result<Filing> {
    Ok(Filing {
        id: get_i(r, "id")?,
        org_id: get_i(r, "org_id")?,
        service_id: get_oi(r, "service_id")?,
        kind: parse_enum(&get_s(r, "kind")?, FilingKind::parse, "kind")?,
        purpose: parse_enum(&get_s(r, "purpose")?, Purpose::parse, "purpose")?,
        parent_id: get_oi(r, "parent_id")?,
        status: parse_enum(&get_s(r, "status")?, Status::parse, "status")?,
        name: get_s(r, "name")?,
        name_latin: get_s(r, "name_latin")?,
        province: get_s(r, "province")?,
        form: get_json(r, "form")?,
        number: get_os(r, "number")?,
        checks: get_json(r, "checks")?,
        comment: get_os(r, "comment")?,
        created_at: get_s(r, "created_at")?,
        updated_at: get_s(r, "updated_at")?,
        submitted_on: get_os(r, "submitted_on")?,
        approved_on: get_os(r, "approved_on")?,
    })
}

const ORG_COLS: &str = "id, uscc, name, kind, province, division_code, legal_representative, security_officer, assessment_lead";

fn org_from_row(r: &AnyRow) -> Result<Organisation> {
    Ok(Organisation {
        id: get_i(r, "id")?,
        uscc: get_s(r, "uscc")?,
        name: get_s(r, "name")?,
        kind: parse_enum(&get_s(r, "kind")?, OrgKind::parse, "org kind")?,
        province: get_s(r, "province")?,
        division_code: get_s(r, "division_code")?,
        legal_representative: get_s(r, "legal_representative")?,
        security_officer: get_s(r, "security_officer")?,
        assessment_lead: get_s(r, "assessment_lead")?,
    })
}

fn user_from_row(r: &AnyRow) -> Result<User> {
    Ok(User {
        id: get_i(r, "id")?,
        username: get_s(r, "username")?,
        role: parse_enum(&get_s(r, "role")?, Role::parse, "role")?,
        org_id: get_oi(r, "org_id")?,
        province: get_os(r, "province")?,
    })
}

fn service_from_row(r: &AnyRow) -> Result<Service> {
    Ok(Service {
        id: get_i(r, "id")?,
        org_id: get_i(r, "org_id")?,
        name: get_s(r, "name")?,
        profile: get_json(r, "profile")?,
        classification: get_json(r, "classification")?,
        launched_on: get_os(r, "launched_on")?,
        stopped_on: get_os(r, "stopped_on")?,
        changed_on: get_os(r, "changed_on")?,
    })
}

fn attachment_from_row(r: &AnyRow) -> Result<Attachment> {
    Ok(Attachment {
        id: get_i(r, "id")?,
        filing_id: get_i(r, "filing_id")?,
        kind: parse_enum(&get_s(r, "kind")?, AttachmentKind::parse, "attachment kind")?,
        filename: get_s(r, "filename")?,
        content_type: get_s(r, "content_type")?,
        size: get_i(r, "size")?,
        sha256: get_s(r, "sha256")?,
        created_at: get_s(r, "created_at")?,
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
        let path = data_dir.join("beian.db");
        Store::open(&format!("sqlite://{}?mode=rwc", path.display())).await
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
        };
        store.migrate().await?;
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
        let hash = audit::entry_hash(&prev_hash, seq, &at, actor, action, subject, &detail);
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
        Ok(())
    }

    // ---------------------------------------------------------------- organisations & users

    /// Creates an organisation (national reviewers; `None` = system bootstrap).
    pub async fn create_organisation(
        &self,
        actor: Option<&User>,
        new: NewOrganisation,
    ) -> Result<Organisation> {
        if let Some(u) = actor
            && u.role != Role::NationalReviewer
        {
            return Err(RegistryError::Forbidden(
                "only national reviewers register organisations".into(),
            ));
        }
        let uscc = new.uscc.trim().to_ascii_uppercase();
        crate::uscc::validate(&uscc).map_err(|e| RegistryError::invalid("uscc", e.to_string()))?;
        require_nonempty("name", &new.name, 200)?;
        require_nonempty("legal_representative", &new.legal_representative, 100)?;
        require_nonempty("security_officer", &new.security_officer, 100)?;
        require_nonempty("assessment_lead", &new.assessment_lead, 100)?;
        let prov = province::find(&new.province).ok_or_else(|| {
            RegistryError::invalid("province", format!("unknown province {:?}", new.province))
        })?;
        let division = match &new.division_code {
            Some(d) if d.len() == 6 && d.chars().all(|c| c.is_ascii_digit()) => d.clone(),
            Some(d) => {
                return Err(RegistryError::invalid(
                    "division_code",
                    format!("{d:?} is not 6 digits"),
                ));
            }
            None => format!("{}0000", prov.1),
        };
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(AssertSqlSafe(format!("INSERT INTO organisations (uscc, name, kind, province, division_code, legal_representative, security_officer, assessment_lead, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING {ORG_COLS}")))
            .bind(&uscc)
            .bind(new.name.trim())
            .bind(new.kind.as_str())
            .bind(prov.0)
            .bind(&division)
            .bind(new.legal_representative.trim())
            .bind(new.security_officer.trim())
            .bind(new.assessment_lead.trim())
            .bind(now())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "organisation with this uscc"))?;
        let org = org_from_row(&row)?;
        self.audit(
            &mut tx,
            &actor_name(actor),
            "organisation.create",
            &format!("organisation:{}", org.id),
            json!({"uscc": uscc, "name": org.name}),
        )
        .await?;
        tx.commit().await?;
        Ok(org)
    }

    /// An organisation, visible to its own members, reviewers and auditors.
    pub async fn get_organisation(&self, actor: &User, id: i64) -> Result<Organisation> {
        let visible = match actor.role {
            Role::ProviderEditor | Role::ProviderAdmin => actor.org_id == Some(id),
            _ => true,
        };
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ORG_COLS} FROM organisations WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) if visible => org_from_row(&r),
            _ => Err(RegistryError::NotFound(format!("organisation {id}"))),
        }
    }

    /// Creates a user. Provider admins create provider users of their own
    /// organisation; national reviewers create anyone; `None` = system bootstrap.
    pub async fn create_user(&self, actor: Option<&User>, new: NewUser) -> Result<User> {
        if let Some(a) = actor {
            let ok = match a.role {
                Role::NationalReviewer => true,
                Role::ProviderAdmin => new.role.is_provider() && new.org_id == a.org_id,
                _ => false,
            };
            if !ok {
                return Err(RegistryError::Forbidden(
                    "not allowed to create this user".into(),
                ));
            }
        }
        let uname = new.username.trim();
        if uname.is_empty()
            || uname.len() > 64
            || !uname
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
        {
            return Err(RegistryError::invalid(
                "username",
                "1-64 characters of letters, digits, - _ . @",
            ));
        }
        if new.password.chars().count() < 10 {
            return Err(RegistryError::invalid("password", "at least 10 characters"));
        }
        let (org_id, prov) = match new.role {
            Role::ProviderEditor | Role::ProviderAdmin => {
                let Some(o) = new.org_id else {
                    return Err(RegistryError::invalid(
                        "org_id",
                        "required for provider roles",
                    ));
                };
                (Some(o), None)
            }
            Role::ProvincialReviewer => {
                let p = new
                    .province
                    .as_deref()
                    .and_then(province::canonical)
                    .ok_or_else(|| {
                        RegistryError::invalid(
                            "province",
                            "a known province is required for provincial reviewers",
                        )
                    })?;
                (None, Some(p.to_string()))
            }
            _ => (None, None),
        };
        let hash = auth::hash_password(&new.password)?;
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        if let Some(o) = org_id {
            let exists = sqlx::query("SELECT id FROM organisations WHERE id = $1")
                .bind(o)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(RegistryError::invalid(
                    "org_id",
                    format!("no organisation {o}"),
                ));
            }
        }
        let row = sqlx::query("INSERT INTO users (username, password_hash, role, org_id, province, created_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id, username, role, org_id, province")
            .bind(uname)
            .bind(&hash)
            .bind(new.role.as_str())
            .bind(org_id)
            .bind(prov.clone())
            .bind(now())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map_unique(e, "user with this username"))?;
        let user = user_from_row(&row)?;
        self.audit(&mut tx, &actor_name(actor), "user.create", &format!("user:{}", user.id), json!({"username": uname, "role": new.role.as_str(), "org_id": org_id, "province": prov})).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let row =
            sqlx::query("SELECT id, username, role, org_id, province FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Checks a password (rate-limited per username) and opens a session.
    pub async fn login(&self, username: &str, password: &str) -> Result<NewSession> {
        self.logins.check(username)?;
        let row = sqlx::query("SELECT id, password_hash FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        let ok = match &row {
            Some(r) => auth::verify_password(password, &get_s(r, "password_hash")?),
            None => {
                auth::burn_time();
                false
            }
        };
        if !ok {
            self.logins.failed(username);
            return Err(RegistryError::Unauthenticated(
                "wrong username or password".into(),
            ));
        }
        self.logins.succeeded(username);
        let id = row
            .as_ref()
            .map(|r| get_i(r, "id"))
            .transpose()?
            .unwrap_or_default();
        let user = self
            .user_by_id(id)
            .await?
            .ok_or_else(|| RegistryError::Unauthenticated("user vanished".into()))?;
        let token = auth::random_token("s");
        let csrf = auth::random_token("c");
        let expires = (chrono::Utc::now() + chrono::Duration::hours(12)).to_rfc3339();
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, expires_at) VALUES ($1,$2,$3,$4)",
        )
        .bind(audit::sha256_hex(token.as_bytes()))
        .bind(user.id)
        .bind(&csrf)
        .bind(&expires)
        .execute(&mut *tx)
        .await?;
        self.audit(
            &mut tx,
            &actor_name(Some(&user)),
            "session.login",
            &format!("user:{}", user.id),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(NewSession { token, csrf, user })
    }

    /// The user and CSRF token of a live session.
    pub async fn session(&self, token: &str) -> Result<Option<(User, String)>> {
        let row =
            sqlx::query("SELECT user_id, csrf, expires_at FROM sessions WHERE token_hash = $1")
                .bind(audit::sha256_hex(token.as_bytes()))
                .fetch_optional(&self.pool)
                .await?;
        let Some(r) = row else { return Ok(None) };
        if get_s(&r, "expires_at")? < chrono::Utc::now().to_rfc3339() {
            return Ok(None);
        }
        let user = self.user_by_id(get_i(&r, "user_id")?).await?;
        Ok(user.map(|u| (u, get_s(&r, "csrf").unwrap_or_default())))
    }

    /// Ends a session.
    pub async fn logout(&self, token: &str) -> Result<()> {
        let _g = self.lock().await;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(audit::sha256_hex(token.as_bytes()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Issues an API token for `user` (returned once, stored hashed).
    pub async fn create_api_token(&self, user: &User, name: &str) -> Result<String> {
        require_nonempty("name", name, 100)?;
        let token = auth::random_token("beian");
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES ($1,$2,$3,$4)",
        )
        .bind(audit::sha256_hex(token.as_bytes()))
        .bind(user.id)
        .bind(name)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        self.audit(
            &mut tx,
            &actor_name(Some(user)),
            "token.create",
            &format!("user:{}", user.id),
            json!({"name": name}),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The user of an API token.
    pub async fn token_user(&self, token: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT user_id FROM api_tokens WHERE token_hash = $1")
            .bind(audit::sha256_hex(token.as_bytes()))
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => self.user_by_id(get_i(&r, "user_id")?).await,
            None => Ok(None),
        }
    }

    // ---------------------------------------------------------------- services

    fn acting_org(actor: &User, requested: Option<i64>) -> Result<i64> {
        match actor.role {
            Role::ProviderEditor | Role::ProviderAdmin => {
                let own = actor
                    .org_id
                    .ok_or_else(|| RegistryError::Forbidden("user has no organisation".into()))?;
                if requested.is_some_and(|r| r != own) {
                    return Err(RegistryError::Forbidden(
                        "cannot act for another organisation".into(),
                    ));
                }
                Ok(own)
            }
            _ => Err(RegistryError::Forbidden(format!(
                "{} cannot create provider records",
                actor.role
            ))),
        }
    }

    /// Creates a service and attaches its classification.
    pub async fn create_service(&self, actor: &User, new: NewService) -> Result<Service> {
        let org_id = Self::acting_org(actor, new.org_id)?;
        require_nonempty("name", &new.name, 200)?;
        check_date("launched_on", &new.launched_on)?;
        check_date("stopped_on", &new.stopped_on)?;
        let mut profile = if new.profile.is_null() {
            json!({})
        } else {
            new.profile
        };
        let Some(obj) = profile.as_object_mut() else {
            return Err(RegistryError::invalid("profile", "must be a JSON object"));
        };
        // the profile's name defaults to the service's
        obj.entry("name")
            .or_insert_with(|| Value::String(new.name.trim().to_string()));
        let classification = crate::classify::classify_profile(&profile)
            .map_err(|(field, message)| RegistryError::Invalid { field, message })?;
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("INSERT INTO services (org_id, name, profile, classification, launched_on, stopped_on, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id, org_id, name, profile, classification, launched_on, stopped_on, changed_on")
            .bind(org_id)
            .bind(new.name.trim())
            .bind(profile.to_string())
            .bind(classification.to_string())
            .bind(new.launched_on)
            .bind(new.stopped_on)
            .bind(now())
            .fetch_one(&mut *tx)
            .await?;
        let s = service_from_row(&row)?;
        self.audit(
            &mut tx,
            &actor_name(Some(actor)),
            "service.create",
            &format!("service:{}", s.id),
            json!({"name": s.name}),
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }

    /// A service, visible to its organisation, reviewers and auditors.
    pub async fn get_service(&self, actor: &User, id: i64) -> Result<Service> {
        let row = sqlx::query("SELECT id, org_id, name, profile, classification, launched_on, stopped_on, changed_on FROM services WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let s = row.as_ref().map(service_from_row).transpose()?;
        match s {
            Some(s) if !actor.role.is_provider() || actor.org_id == Some(s.org_id) => Ok(s),
            _ => Err(RegistryError::NotFound(format!("service {id}"))),
        }
    }

    /// Records launch, change or stop dates of a service (its organisation's provider users).
    pub async fn update_service(
        &self,
        actor: &User,
        id: i64,
        patch: ServicePatch,
    ) -> Result<Service> {
        check_date("launched_on", &patch.launched_on)?;
        check_date("changed_on", &patch.changed_on)?;
        check_date("stopped_on", &patch.stopped_on)?;
        let s = self.get_service(actor, id).await?;
        if !actor.role.is_provider() {
            return Err(RegistryError::Forbidden(
                "only the service's organisation records its dates".into(),
            ));
        }
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("UPDATE services SET launched_on = $1, changed_on = $2, stopped_on = $3 WHERE id = $4 RETURNING id, org_id, name, profile, classification, launched_on, stopped_on, changed_on")
            .bind(patch.launched_on.clone().or(s.launched_on))
            .bind(patch.changed_on.clone().or(s.changed_on))
            .bind(patch.stopped_on.clone().or(s.stopped_on))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let ns = service_from_row(&row)?;
        self.audit(
            &mut tx,
            &actor_name(Some(actor)),
            "service.update",
            &format!("service:{id}"),
            serde_json::to_value(&patch).unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        Ok(ns)
    }

    /// Services visible to `actor`, newest first (at most 500): own organisation's for providers, all for others.
    pub async fn list_services(&self, actor: &User) -> Result<Vec<Service>> {
        let rows = if actor.role.is_provider() {
            sqlx::query("SELECT id, org_id, name, profile, classification, launched_on, stopped_on, changed_on FROM services WHERE org_id = $1 ORDER BY id DESC LIMIT 500")
                .bind(actor.org_id.unwrap_or(-1))
                .fetch_all(&self.pool)
                .await?
        } else {
            sqlx::query("SELECT id, org_id, name, profile, classification, launched_on, stopped_on, changed_on FROM services ORDER BY id DESC LIMIT 500")
                .fetch_all(&self.pool)
                .await?
        };
        rows.iter().map(service_from_row).collect()
    }

    /// Deadlines of a service on the PRC working-day calendar.
    pub async fn service_deadlines(&self, actor: &User, id: i64) -> Result<Vec<Deadline>> {
        let s = self.get_service(actor, id).await?;
        let filings = sqlx::query(
            "SELECT status, submitted_on, purpose, updated_at FROM filings WHERE service_id = $1",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut first_submitted: Option<String> = None;
        let mut change_submitted: Vec<String> = Vec::new();
        let mut cancelled_on: Option<String> = None;
        for r in &filings {
            let submitted = get_os(r, "submitted_on")?;
            match get_s(r, "purpose")?.as_str() {
                "change" => change_submitted.extend(submitted),
                _ => {
                    if let Some(d) = submitted
                        && first_submitted.as_ref().is_none_or(|f| &d < f)
                    {
                        first_submitted = Some(d);
                    }
                }
            }
            if get_s(r, "status")? == "cancelled" {
                cancelled_on = Some(get_s(r, "updated_at")?.chars().take(10).collect());
            }
        }
        let parse = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
        let today = today_cn();
        let mut out = Vec::new();
        let mk = |kind: &str,
                  from: chrono::NaiveDate,
                  n: u32,
                  met_on: Option<chrono::NaiveDate>|
         -> Result<Deadline> {
            let (due, exact) = crate::calendar::add_working_days(from, n)
                .map_err(|e| RegistryError::invalid("date", e))?;
            let met = met_on.is_some_and(|d| d <= due);
            Ok(Deadline {
                kind: kind.into(),
                from: from.to_string(),
                working_days: n,
                due: due.to_string(),
                met,
                overdue: !met && today > due,
                calendar: if exact { "prc" } else { "weekends-only" }.to_string(),
            })
        };
        if let Some(l) = check_date("launched_on", &s.launched_on)? {
            out.push(mk(
                "file-after-launch",
                l,
                10,
                first_submitted.as_deref().and_then(parse),
            )?);
        }
        if let Some(c) = check_date("changed_on", &s.changed_on)? {
            let met_on = change_submitted
                .iter()
                .filter_map(|d| parse(d))
                .filter(|d| *d >= c)
                .min();
            out.push(mk("change", c, 10, met_on)?);
        }
        if let Some(st) = check_date("stopped_on", &s.stopped_on)? {
            out.push(mk(
                "cancel-after-stop",
                st,
                20,
                cancelled_on.as_deref().and_then(parse),
            )?);
        }
        Ok(out)
    }

    // ---------------------------------------------------------------- filings

    async fn filing_raw(&self, conn: &mut AnyConnection, id: i64) -> Result<Option<Filing>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {FILING_COLS} FROM filings WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(filing_from_row).transpose()
    }

    /// Creates a draft filing.
    pub async fn create_filing(&self, actor: &User, new: NewFiling) -> Result<Filing> {
        let org_id = Self::acting_org(actor, new.org_id)?;
        require_nonempty("name", &new.name, 200)?;
        let form = if new.form.is_null() {
            json!({})
        } else {
            new.form
        };
        if !form.is_object() {
            return Err(RegistryError::invalid("form", "must be a JSON object"));
        }
        let latin = match new.name_latin {
            Some(l) if number::valid_latin(&l) => l,
            Some(l) => {
                return Err(RegistryError::invalid(
                    "name_latin",
                    format!("{l:?}: 1-64 ASCII letters or digits"),
                ));
            }
            None => number::latin_name(&new.name),
        };
        if new.kind != FilingKind::Algorithm && !number::valid_latin(&latin) {
            return Err(RegistryError::invalid(
                "name_latin",
                "required: the name has no pinyin/Latin form",
            ));
        }
        let mut conn = self.pool.acquire().await?;
        let org = sqlx::query("SELECT province FROM organisations WHERE id = $1")
            .bind(org_id)
            .fetch_optional(&mut *conn)
            .await?;
        let org_prov = org
            .map(|r| get_s(&r, "province"))
            .transpose()?
            .ok_or_else(|| RegistryError::NotFound(format!("organisation {org_id}")))?;
        let prov = match &new.province {
            Some(p) => province::canonical(p)
                .ok_or_else(|| {
                    RegistryError::invalid("province", format!("unknown province {p:?}"))
                })?
                .to_string(),
            None => org_prov,
        };
        if let Some(sid) = new.service_id {
            let s = sqlx::query("SELECT org_id FROM services WHERE id = $1")
                .bind(sid)
                .fetch_optional(&mut *conn)
                .await?;
            if s.map(|r| get_i(&r, "org_id")).transpose()? != Some(org_id) {
                return Err(RegistryError::invalid(
                    "service_id",
                    format!("no service {sid} in your organisation"),
                ));
            }
        }
        drop(conn);
        let ts = now();
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(AssertSqlSafe(format!("INSERT INTO filings (org_id, service_id, kind, purpose, parent_id, status, name, name_latin, province, form, number, checks, comment, created_at, updated_at) VALUES ($1,$2,$3,'initial',NULL,'draft',$4,$5,$6,$7,NULL,'[]',NULL,$8,$8) RETURNING {FILING_COLS}")))
            .bind(org_id)
            .bind(new.service_id)
            .bind(new.kind.as_str())
            .bind(new.name.trim())
            .bind(&latin)
            .bind(&prov)
            .bind(form.to_string())
            .bind(&ts)
            .fetch_one(&mut *tx)
            .await?;
        let f = filing_from_row(&row)?;
        self.audit(
            &mut tx,
            &actor_name(Some(actor)),
            "filing.create",
            &format!("filing:{}", f.id),
            json!({"kind": f.kind, "name": f.name}),
        )
        .await?;
        tx.commit().await?;
        Ok(f)
    }

    /// A filing, if visible to `actor` (NotFound otherwise). Reads of
    /// non-approved filings by reviewers and auditors are audited.
    pub async fn get_filing(&self, actor: Option<&User>, id: i64) -> Result<Filing> {
        let mut conn = self.pool.acquire().await?;
        let f = self.filing_raw(&mut conn, id).await?;
        drop(conn);
        match f {
            Some(f) if can_see(actor, &f) => {
                if let Some(u) = actor.filter(|u| !u.role.is_provider()) {
                    let _g = self.lock().await;
                    let mut tx = self.pool.begin().await?;
                    self.audit(
                        &mut tx,
                        &actor_name(Some(u)),
                        "filing.read",
                        &format!("filing:{id}"),
                        json!({}),
                    )
                    .await?;
                    tx.commit().await?;
                }
                Ok(f)
            }
            _ => Err(RegistryError::NotFound(format!("filing {id}"))),
        }
    }

    /// Filings visible to `actor`, newest first (at most 500).
    pub async fn list_filings(&self, actor: &User, status: Option<Status>) -> Result<Vec<Filing>> {
        let (cond, arg): (&str, Option<String>) = match actor.role {
            Role::ProviderEditor | Role::ProviderAdmin => {
                ("org_id = $1", Some(actor.org_id.unwrap_or(-1).to_string()))
            }
            Role::ProvincialReviewer => (
                "province = $1 AND status <> 'draft'",
                actor.province.clone(),
            ),
            Role::NationalReviewer => ("status <> 'draft' AND $1 = $1", Some(String::new())),
            Role::Auditor => ("$1 = $1", Some(String::new())),
        };
        let sql =
            format!("SELECT {FILING_COLS} FROM filings WHERE {cond} ORDER BY id DESC LIMIT 500");
        let q = sqlx::query(AssertSqlSafe(sql));
        let rows = if actor.role.is_provider() {
            q.bind(actor.org_id.unwrap_or(-1))
                .fetch_all(&self.pool)
                .await?
        } else {
            q.bind(arg.unwrap_or_default())
                .fetch_all(&self.pool)
                .await?
        };
        let mut out = Vec::new();
        for r in &rows {
            let f = filing_from_row(r)?;
            if status.is_none_or(|s| s == f.status) {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// Edits a draft or returned filing (its organisation's provider users).
    pub async fn update_filing(&self, actor: &User, id: i64, patch: FilingPatch) -> Result<Filing> {
        if let Some(n) = &patch.name {
            require_nonempty("name", n, 200)?;
        }
        if let Some(l) = &patch.name_latin
            && !number::valid_latin(l)
        {
            return Err(RegistryError::invalid(
                "name_latin",
                "1-64 ASCII letters or digits",
            ));
        }
        if let Some(f) = &patch.form
            && !f.is_object()
        {
            return Err(RegistryError::invalid("form", "must be a JSON object"));
        }
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        let f = self
            .filing_raw(&mut tx, id)
            .await?
            .filter(|f| can_see(Some(actor), f));
        let Some(f) = f else {
            return Err(RegistryError::NotFound(format!("filing {id}")));
        };
        if !actor.role.is_provider() {
            return Err(RegistryError::Forbidden(
                "only the filing organisation edits a filing".into(),
            ));
        }
        if !matches!(f.status, Status::Draft | Status::Returned) {
            return Err(RegistryError::Conflict(format!(
                "filing {id} is {} and cannot be edited",
                f.status
            )));
        }
        if let Some(sid) = patch.service_id {
            let s = sqlx::query("SELECT org_id FROM services WHERE id = $1")
                .bind(sid)
                .fetch_optional(&mut *tx)
                .await?;
            if s.map(|r| get_i(&r, "org_id")).transpose()? != Some(f.org_id) {
                return Err(RegistryError::invalid(
                    "service_id",
                    format!("no service {sid} in your organisation"),
                ));
            }
        }
        let name = patch.name.clone().unwrap_or(f.name.clone());
        let latin = patch.name_latin.clone().unwrap_or(if patch.name.is_some() {
            number::latin_name(&name)
        } else {
            f.name_latin.clone()
        });
        let form = patch.form.clone().unwrap_or(f.form.clone());
        let service_id = patch.service_id.or(f.service_id);
        let row = sqlx::query(AssertSqlSafe(format!("UPDATE filings SET name = $1, name_latin = $2, form = $3, service_id = $4, updated_at = $5 WHERE id = $6 RETURNING {FILING_COLS}")))
            .bind(name.trim())
            .bind(&latin)
            .bind(form.to_string())
            .bind(service_id)
            .bind(now())
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let nf = filing_from_row(&row)?;
        self.audit(
            &mut tx,
            &actor_name(Some(actor)),
            "filing.update",
            &format!("filing:{id}"),
            json!({"fields": serde_json::to_value(&patch).unwrap_or_default()}),
        )
        .await?;
        tx.commit().await?;
        Ok(nf)
    }

    /// Opens a change filing against an approved filing.
    pub async fn create_change(
        &self,
        actor: &User,
        parent_id: i64,
        patch: FilingPatch,
    ) -> Result<Filing> {
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        let p = self
            .filing_raw(&mut tx, parent_id)
            .await?
            .filter(|f| can_see(Some(actor), f));
        let Some(p) = p else {
            return Err(RegistryError::NotFound(format!("filing {parent_id}")));
        };
        if !actor.role.is_provider() {
            return Err(RegistryError::Forbidden(
                "only the filing organisation files changes".into(),
            ));
        }
        if p.status != Status::Approved || p.purpose != Purpose::Initial {
            return Err(RegistryError::Conflict(format!(
                "changes can only be filed against an approved filing (filing {parent_id} is {})",
                p.status
            )));
        }
        let open = sqlx::query("SELECT id FROM filings WHERE parent_id = $1 AND status IN ('draft', 'submitted', 'provincial-review', 'national-review', 'returned')")
            .bind(p.id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(o) = open {
            return Err(RegistryError::Conflict(format!(
                "change filing {} of filing {parent_id} is still open",
                get_i(&o, "id")?
            )));
        }
        let name = patch.name.clone().unwrap_or(p.name.clone());
        require_nonempty("name", &name, 200)?;
        let form = patch.form.clone().unwrap_or(p.form.clone());
        if !form.is_object() {
            return Err(RegistryError::invalid("form", "must be a JSON object"));
        }
        let ts = now();
        let row = sqlx::query(AssertSqlSafe(format!("INSERT INTO filings (org_id, service_id, kind, purpose, parent_id, status, name, name_latin, province, form, number, checks, comment, created_at, updated_at) VALUES ($1,$2,$3,'change',$4,'draft',$5,$6,$7,$8,NULL,'[]',NULL,$9,$9) RETURNING {FILING_COLS}")))
            .bind(p.org_id)
            .bind(patch.service_id.or(p.service_id))
            .bind(p.kind.as_str())
            .bind(p.id)
            .bind(name.trim())
            .bind(&p.name_latin)
            .bind(&p.province)
            .bind(form.to_string())
            .bind(&ts)
            .fetch_one(&mut *tx)
            .await?;
        let f = filing_from_row(&row)?;
        self.audit(
            &mut tx,
            &actor_name(Some(actor)),
            "filing.change.create",
            &format!("filing:{}", f.id),
            json!({"parent": p.id}),
        )
        .await?;
        tx.commit().await?;
        Ok(f)
    }

    /// Performs a state transition.
    pub async fn act(
        &self,
        actor: &User,
        id: i64,
        action: Action,
        comment: Option<String>,
    ) -> Result<Filing> {
        if let Some(c) = &comment
            && c.chars().count() > 4000
        {
            return Err(RegistryError::invalid(
                "comment",
                "longer than 4000 characters",
            ));
        }
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        let f = self
            .filing_raw(&mut tx, id)
            .await?
            .filter(|f| can_see(Some(actor), f));
        let Some(f) = f else {
            return Err(RegistryError::NotFound(format!("filing {id}")));
        };
        if !state::actor_role_ok(actor.role, f.status, action) {
            return Err(RegistryError::Forbidden(format!(
                "{} may not {} a filing in state {}",
                actor.role,
                action.as_str(),
                f.status
            )));
        }
        if action == Action::Cancel && f.purpose == Purpose::Change {
            return Err(RegistryError::Conflict(
                "a change filing cannot be cancelled; cancel the filing it changes".into(),
            ));
        }
        let to = state::next(f.status, f.kind, action)?;
        if matches!(action, Action::Return | Action::Reject)
            && comment.as_deref().is_none_or(|c| c.trim().is_empty())
        {
            return Err(RegistryError::invalid(
                "comment",
                "a reason is required to return or reject",
            ));
        }
        let ts = now();
        let today = today_cn();
        let mut number_issued: Option<String> = None;
        let mut checks = f.checks.clone();
        let mut submitted_on = f.submitted_on.clone();
        match (action, to) {
            (Action::Submit, _) => {
                checks = precheck::run(self, &mut tx, &f).await?;
                submitted_on = Some(today.to_string());
                if f.purpose == Purpose::Change
                    && let Some(pid) = f.parent_id
                {
                    let r = sqlx::query("UPDATE filings SET status = 'change-submitted', updated_at = $1 WHERE id = $2 AND status IN ('approved', 'change-submitted')")
                        .bind(&ts).bind(pid).execute(&mut *tx).await?;
                    if r.rows_affected() != 1 {
                        return Err(RegistryError::Conflict(format!(
                            "filing {pid} is no longer approved; this change cannot be submitted"
                        )));
                    }
                }
            }
            (Action::Approve, Status::Approved) if f.purpose == Purpose::Change => {
                let pid = f
                    .parent_id
                    .ok_or_else(|| RegistryError::Corrupt("change filing without parent".into()))?;
                sqlx::query("UPDATE filings SET status = 'approved', name = $1, form = $2, service_id = $3, updated_at = $4 WHERE id = $5 AND status = 'change-submitted'")
                    .bind(&f.name).bind(f.form.to_string()).bind(f.service_id).bind(&ts).bind(pid)
                    .execute(&mut *tx).await?;
                sqlx::query("UPDATE register SET name = $1, remark = $2 WHERE filing_id = $3")
                    .bind(&f.name)
                    .bind(format!("变更 {today}"))
                    .bind(pid)
                    .execute(&mut *tx)
                    .await?;
            }
            (Action::Approve, Status::Approved) => {
                let n = self.issue_number(&mut tx, &f, today).await?;
                number_issued = Some(n);
            }
            (Action::Reject, _) if f.purpose == Purpose::Change => {
                if let Some(pid) = f.parent_id {
                    sqlx::query("UPDATE filings SET status = 'approved', updated_at = $1 WHERE id = $2 AND status = 'change-submitted'")
                        .bind(&ts).bind(pid).execute(&mut *tx).await?;
                }
            }
            (Action::Cancel, _) => {
                sqlx::query(
                    "UPDATE register SET status = 'cancelled', remark = $1 WHERE filing_id = $2",
                )
                .bind(format!("已注销 {today}"))
                .bind(f.id)
                .execute(&mut *tx)
                .await?;
            }
            _ => {}
        }
        let approved_on = if to == Status::Approved {
            Some(today.to_string())
        } else {
            f.approved_on.clone()
        };
        let row = sqlx::query(AssertSqlSafe(format!("UPDATE filings SET status = $1, number = COALESCE($2, number), checks = $3, comment = $4, updated_at = $5, submitted_on = $6, approved_on = $7 WHERE id = $8 AND status = $9 RETURNING {FILING_COLS}")))
            .bind(to.as_str())
            .bind(number_issued.clone())
            .bind(checks.to_string())
            .bind(comment.clone().or(f.comment.clone()))
            .bind(&ts)
            .bind(submitted_on)
            .bind(approved_on)
            .bind(id)
            .bind(f.status.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(RegistryError::Conflict(format!(
                "filing {id} changed concurrently; retry"
            )));
        };
        let nf = filing_from_row(&row)?;
        self.audit(
            &mut tx,
            &actor_name(Some(actor)),
            &format!("filing.{}", action.as_str()),
            &format!("filing:{id}"),
            json!({"from": f.status, "to": to, "comment": comment, "number": number_issued}),
        )
        .await?;
        tx.commit().await?;
        if matches!(action, Action::Approve | Action::Cancel) {
            self.bump();
        }
        Ok(nf)
    }

    async fn issue_number(
        &self,
        conn: &mut AnyConnection,
        f: &Filing,
        today: chrono::NaiveDate,
    ) -> Result<String> {
        let org = sqlx::query("SELECT name, division_code FROM organisations WHERE id = $1")
            .bind(f.org_id)
            .fetch_one(&mut *conn)
            .await?;
        let division = get_s(&org, "division_code")?;
        let provider = get_s(&org, "name")?;
        let prov = province::find(&f.province)
            .ok_or_else(|| RegistryError::Corrupt(format!("province {:?}", f.province)))?;
        let date = f
            .submitted_on
            .as_deref()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .unwrap_or(today);
        let date = if f.kind == FilingKind::Algorithm {
            today
        } else {
            date
        };
        let key = number::counter_key(f.kind, prov.2, &division, date);
        // Draw serials until one has never been issued (numbers imported from
        // published lists occupy serials too); a counter never goes back.
        for _ in 0..10_000 {
            let row = sqlx::query("INSERT INTO counters (key, value) VALUES ($1, 1) ON CONFLICT (key) DO UPDATE SET value = counters.value + 1 RETURNING value")
                .bind(&key)
                .fetch_one(&mut *conn)
                .await?;
            let serial = get_i(&row, "value")?;
            let n = number::format_number(
                f.kind,
                prov.2,
                &division,
                f.org_id,
                &f.name_latin,
                date,
                serial,
            )?;
            let taken = sqlx::query("SELECT number FROM issued_numbers WHERE number = $1 UNION ALL SELECT filing_number FROM register WHERE filing_number = $1")
                .bind(&n)
                .fetch_optional(&mut *conn)
                .await?;
            if taken.is_some() {
                continue;
            }
            sqlx::query(
                "INSERT INTO issued_numbers (number, filing_id, issued_at) VALUES ($1,$2,$3)",
            )
            .bind(&n)
            .bind(f.id)
            .bind(now())
            .execute(&mut *conn)
            .await?;
            sqlx::query("INSERT INTO register (filing_number, kind, name, provider, province, date, role, product, purpose, remark, status, source, filing_id) VALUES ($1,$2,$3,$4,$5,$6,'','','','','active','beian',$7)")
                .bind(&n).bind(f.kind.as_str()).bind(&f.name).bind(&provider).bind(&f.province).bind(today.to_string()).bind(f.id)
                .execute(&mut *conn).await?;
            return Ok(n);
        }
        Err(number::NumberError::Exhausted(key).into())
    }

    // ---------------------------------------------------------------- attachments

    /// Stores an attachment (content-addressed) for a draft or returned filing.
    pub async fn add_attachment(
        &self,
        actor: &User,
        filing_id: i64,
        kind: AttachmentKind,
        filename: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<Attachment> {
        if bytes.is_empty() {
            return Err(RegistryError::invalid("body", "attachment is empty"));
        }
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(RegistryError::invalid(
                "body",
                format!("attachment larger than {MAX_ATTACHMENT_BYTES} bytes"),
            ));
        }
        let fname = filename.trim();
        if fname.is_empty() || fname.len() > 200 || fname.contains(['/', '\\', '\0']) {
            return Err(RegistryError::invalid(
                "filename",
                "1-200 characters, no path separators",
            ));
        }
        let ct = crate::attachments::check_type_for(kind, fname, content_type, bytes)
            .map_err(|m| RegistryError::invalid("content_type", m))?;
        let sha = audit::sha256_hex(bytes);
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        let f = self
            .filing_raw(&mut tx, filing_id)
            .await?
            .filter(|f| can_see(Some(actor), f));
        let Some(f) = f else {
            return Err(RegistryError::NotFound(format!("filing {filing_id}")));
        };
        if !actor.role.is_provider() {
            return Err(RegistryError::Forbidden(
                "only the filing organisation adds attachments".into(),
            ));
        }
        if !matches!(f.status, Status::Draft | Status::Returned) {
            return Err(RegistryError::Conflict(format!(
                "filing {filing_id} is {}; attachments can be added to drafts or returned filings",
                f.status
            )));
        }
        let have = sqlx::query("SELECT sha256 FROM blobs WHERE sha256 = $1")
            .bind(&sha)
            .fetch_optional(&mut *tx)
            .await?;
        if have.is_none() {
            sqlx::query("INSERT INTO blobs (sha256, data) VALUES ($1, $2)")
                .bind(&sha)
                .bind(bytes.to_vec())
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query("INSERT INTO attachments (filing_id, kind, filename, content_type, size, sha256, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id, filing_id, kind, filename, content_type, size, sha256, created_at")
            .bind(filing_id).bind(kind.as_str()).bind(fname).bind(ct).bind(bytes.len() as i64).bind(&sha).bind(now())
            .fetch_one(&mut *tx).await?;
        let a = attachment_from_row(&row)?;
        self.audit(
            &mut tx,
            &actor_name(Some(actor)),
            "attachment.add",
            &format!("filing:{filing_id}"),
            json!({"attachment": a.id, "kind": kind, "sha256": sha, "size": a.size}),
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Attachments of a visible filing.
    pub async fn list_attachments(&self, actor: &User, filing_id: i64) -> Result<Vec<Attachment>> {
        let mut conn = self.pool.acquire().await?;
        let f = self
            .filing_raw(&mut conn, filing_id)
            .await?
            .filter(|f| can_see(Some(actor), f));
        if f.is_none() {
            return Err(RegistryError::NotFound(format!("filing {filing_id}")));
        }
        self.attachments_of(&mut conn, filing_id).await
    }

    pub(crate) async fn attachments_of(
        &self,
        conn: &mut AnyConnection,
        filing_id: i64,
    ) -> Result<Vec<Attachment>> {
        let rows = sqlx::query("SELECT id, filing_id, kind, filename, content_type, size, sha256, created_at FROM attachments WHERE filing_id = $1 ORDER BY id")
            .bind(filing_id).fetch_all(&mut *conn).await?;
        rows.iter().map(attachment_from_row).collect()
    }

    pub(crate) async fn blob(&self, conn: &mut AnyConnection, sha: &str) -> Result<Vec<u8>> {
        let row = sqlx::query("SELECT data FROM blobs WHERE sha256 = $1")
            .bind(sha)
            .fetch_optional(&mut *conn)
            .await?;
        let data: Vec<u8> = row
            .ok_or_else(|| RegistryError::Corrupt(format!("blob {sha} missing")))?
            .try_get("data")?;
        if audit::sha256_hex(&data) != sha {
            return Err(RegistryError::Corrupt(format!(
                "blob {sha} does not match its hash"
            )));
        }
        Ok(data)
    }

    /// Reads an attachment; audited.
    pub async fn get_attachment(
        &self,
        actor: &User,
        filing_id: i64,
        attachment_id: i64,
    ) -> Result<(Attachment, Vec<u8>)> {
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        let f = self
            .filing_raw(&mut tx, filing_id)
            .await?
            .filter(|f| can_see(Some(actor), f));
        if f.is_none() {
            return Err(RegistryError::NotFound(format!("filing {filing_id}")));
        }
        let a = self
            .attachments_of(&mut tx, filing_id)
            .await?
            .into_iter()
            .find(|a| a.id == attachment_id)
            .ok_or_else(|| RegistryError::NotFound(format!("attachment {attachment_id}")))?;
        let data = self.blob(&mut tx, &a.sha256).await?;
        self.audit(
            &mut tx,
            &actor_name(Some(actor)),
            "attachment.read",
            &format!("filing:{filing_id}"),
            json!({"attachment": a.id, "sha256": a.sha256}),
        )
        .await?;
        tx.commit().await?;
        Ok((a, data))
    }

    // ---------------------------------------------------------------- register & import

    /// Searches the public register.
    pub async fn register_search(&self, q: &RegisterQuery) -> Result<RegisterPage> {
        self.register.search_page(self, q).await
    }

    /// Searches the public register; the answer as JSON (`{"total", "items"}`), cached per query.
    pub async fn register_search_json(
        &self,
        q: &RegisterQuery,
    ) -> Result<Arc<crate::register::CachedPage>> {
        self.register.search(self, q).await
    }

    /// All entries matching a query (for CSV/XLSX export; at most 200,000).
    pub async fn register_export(&self, q: &RegisterQuery) -> Result<Vec<RegisterItem>> {
        self.register.export(self, q).await
    }

    /// Imports parsed published lists; idempotent (same number and content → unchanged).
    pub async fn import(&self, parsed: &ParsedFile, actor: &str) -> Result<ImportSummary> {
        let mut sum = ImportSummary {
            file: parsed.file.clone(),
            rows: parsed.records.len(),
            anomalies: parsed.anomalies.clone(),
            ..Default::default()
        };
        sum.skipped = parsed
            .anomalies
            .iter()
            .filter(|a| a.severity == Severity::Skipped)
            .count();
        let base = Path::new(&parsed.file)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        for r in &parsed.records {
            let status = if r.cancelled { "cancelled" } else { "active" };
            let existing = sqlx::query("SELECT kind, name, provider, province, date, remark, status, source FROM register WHERE filing_number = $1")
                .bind(&r.filing_number).fetch_optional(&mut *tx).await?;
            if let Some(e) = existing {
                let same = get_s(&e, "kind")? == r.kind.as_str()
                    && get_s(&e, "name")? == r.name
                    && get_s(&e, "provider")? == r.provider
                    && get_s(&e, "province")? == r.province
                    && get_s(&e, "date")? == r.date
                    && get_s(&e, "remark")? == r.remark
                    && get_s(&e, "status")? == status;
                if same {
                    sum.unchanged += 1;
                } else {
                    sum.conflicts += 1;
                    sum.anomalies.push(Anomaly { file: parsed.file.clone(), row: r.row, severity: Severity::Skipped,
                        message: format!("filing number {} already in the register with different content (from {}); kept the existing entry", r.filing_number, get_s(&e, "source")?) });
                }
                continue;
            }
            sqlx::query("INSERT INTO register (filing_number, kind, name, provider, province, date, role, product, purpose, remark, status, source, filing_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,NULL)")
                .bind(&r.filing_number).bind(r.kind.as_str()).bind(&r.name).bind(&r.provider).bind(&r.province).bind(&r.date)
                .bind(&r.role).bind(&r.product).bind(&r.purpose).bind(&r.remark).bind(status).bind(format!("import:{base}:{}", r.row))
                .execute(&mut *tx).await?;
            sum.inserted += 1;
        }
        if sum.inserted > 0 {
            self.audit(&mut tx, actor, "register.import", &format!("file:{base}"),
                json!({"inserted": sum.inserted, "unchanged": sum.unchanged, "conflicts": sum.conflicts, "skipped": sum.skipped})).await?;
        }
        tx.commit().await?;
        if sum.inserted > 0 {
            self.bump();
        }
        Ok(sum)
    }

    /// Inserts synthetic register entries (benchmarks only): `n` entries in one transaction.
    pub async fn seed_register(&self, n: usize) -> Result<usize> {
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        let provs = province::PROVINCES;
        let kinds = FilingKind::ALL;
        let mut inserted = 0;
        for i in 0..n {
            let p = provs[i % (provs.len() - 1)];
            let k = kinds[i % kinds.len()];
            let number = match k {
                FilingKind::Algorithm => {
                    format!("网信算备{}0000{:07}0125{:04}号", p.1, i / 10000, i % 10000)
                }
                FilingKind::GenaiFiling => {
                    format!("{}-SynthModel{i}-20250101{:04}", p.2, i % 10000)
                }
                FilingKind::GenaiRegistration => {
                    format!("{}-SynthApp{i}-20250101S{:04}", p.2, i % 10000)
                }
            };
            let r = sqlx::query("INSERT INTO register (filing_number, kind, name, provider, province, date, role, product, purpose, remark, status, source, filing_id) VALUES ($1,$2,$3,$4,$5,$6,'','','','','active','seed',NULL) ON CONFLICT (filing_number) DO NOTHING")
                .bind(number).bind(k.as_str()).bind(format!("合成服务{i}号模型")).bind(format!("测试科技有限公司{}", i % 5000)).bind(p.0)
                .bind(format!("2025-{:02}-{:02}", 1 + i % 12, 1 + i % 28))
                .execute(&mut *tx).await?;
            inserted += r.rows_affected() as usize;
        }
        tx.commit().await?;
        self.bump();
        Ok(inserted)
    }

    // ---------------------------------------------------------------- audit

    /// Audit entries (auditors and national reviewers), from `after_seq`, at most `limit`.
    pub async fn audit_entries(
        &self,
        actor: Option<&User>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>> {
        if let Some(u) = actor
            && !matches!(u.role, Role::Auditor | Role::NationalReviewer)
        {
            return Err(RegistryError::Forbidden(
                "only auditors and national reviewers read the audit log".into(),
            ));
        }
        let rows = sqlx::query("SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after_seq).bind(limit.clamp(1, 1_000_000)).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    seq: get_i(r, "seq")?,
                    at: get_s(r, "at")?,
                    actor: get_s(r, "actor")?,
                    action: get_s(r, "action")?,
                    subject: get_s(r, "subject")?,
                    detail: get_json(r, "detail").unwrap_or(Value::Null),
                    prev_hash: get_s(r, "prev_hash")?,
                    hash: get_s(r, "hash")?,
                })
            })
            .collect()
    }

    /// Verifies the whole audit chain; returns the number of entries.
    pub async fn audit_verify(&self) -> Result<std::result::Result<usize, audit::ChainError>> {
        let entries = self.audit_entries(None, 0, i64::MAX).await?;
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        let head = head
            .map(|r| Ok::<_, RegistryError>((get_i(&r, "seq")?, get_s(&r, "hash")?)))
            .transpose()?;
        Ok(audit::verify(&entries, head))
    }

    /// Runs raw SQL (tests and the tamper demonstration only).
    #[doc(hidden)]
    pub async fn raw_execute(&self, sql: &str) -> Result<u64> {
        let _g = self.lock().await;
        Ok(sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Counts rows of a table (tests, metrics).
    pub async fn count(&self, table: &str) -> Result<i64> {
        if ![
            "filings",
            "register",
            "audit_log",
            "users",
            "organisations",
            "attachments",
            "services",
        ]
        .contains(&table)
        {
            return Err(RegistryError::invalid("table", table));
        }
        let row = sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table}")))
            .fetch_one(&self.pool)
            .await?;
        get_i(&row, "n")
    }

    /// Closes the pool (checkpointing the WAL on SQLite).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
