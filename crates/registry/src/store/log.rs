//! The transparency log behind the register and the audit trail.
//!
//! Every audit event appends one entry in the same transaction, and every
//! register row imported or seeded appends one more. An entry is canonical
//! JSON (sorted keys, no spaces) with the change, its time and the full new
//! state of every row of `filings`, `users`, `organisations`, `register` and
//! `issued_numbers` it touched (large text columns as SHA-256). Entries form
//! an RFC 6962 tree (beian-tlog); after each commit the store signs a
//! checkpoint (C2SP signed note, Ed25519) and keeps it in the database and
//! in a file outside it. [`Store::log_verify`] recomputes everything from
//! the database and compares it with the last signed checkpoint.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use beian_tlog::note::{self, Checkpoint, LogSigner};
use beian_tlog::{Tree, tile};

use super::*;
use crate::audit::sha256_hex;

/// Largest entry we write (a bundle holds at most 65,535 bytes).
const ENTRY_BUDGET: usize = 60_000;

/// Default key name and checkpoint origin.
pub const DEFAULT_ORIGIN: &str = "beian.localhost/register";

/// The log's in-memory side: the tree, the signer, the last checkpoint.
#[derive(Default)]
pub(crate) struct LogState {
    tree: std::sync::RwLock<Tree>,
    sync: tokio::sync::Mutex<()>,
    signer: std::sync::RwLock<Option<std::sync::Arc<LogSigner>>>,
    file: std::sync::RwLock<Option<PathBuf>>,
    note: std::sync::RwLock<Option<(u64, String)>>,
    /// Set when the database no longer matches the last signed checkpoint:
    /// the log then signs nothing more and its endpoints refuse to serve.
    halted: std::sync::RwLock<Option<String>>,
    /// Leaf hashes this process appended and has not committed yet, by
    /// index: at commit, every entry beyond the last signed checkpoint must
    /// be one of these (anything else was appended outside the registry and
    /// is never signed).
    pending: std::sync::Mutex<BTreeMap<u64, beian_tlog::Hash>>,
    /// The key in the data directory was there before this process started:
    /// then an empty log with no checkpoint anywhere is a wiped log, not a
    /// new one, and is not signed.
    old_dir_key: std::sync::atomic::AtomicBool,
    /// Verifier keys of the witnesses whose cosignatures the log accepts.
    witnesses: std::sync::RwLock<Vec<String>>,
    /// The newest checkpoint with witness cosignatures (log signature and
    /// every accepted cosignature), by tree size.
    witnessed: std::sync::RwLock<Option<(u64, String)>>,
}

/// A checkpoint signed inside a write's transaction, waiting for the commit.
pub(crate) struct Prepared<'a> {
    _guard: tokio::sync::MutexGuard<'a, ()>,
    base: u64,
    size: u64,
    note: String,
}

/// An entry's index, inclusion proof and the checkpoint it is proved against.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LogProof {
    /// The register entry's filing number.
    pub filing_number: String,
    /// Index of the last log entry that carries this register row.
    pub index: u64,
    /// The entry (canonical JSON).
    pub entry: String,
    /// Tree size the proof is for (the checkpoint's).
    pub tree_size: u64,
    /// Inclusion proof: base64 hashes, leaf to root (RFC 6962 PATH).
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint (C2SP signed note).
    pub checkpoint: String,
}

/// What `audit verify` found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LogReport {
    pub ok: bool,
    /// Entries in the database's log.
    pub entries: u64,
    /// Size of the signed checkpoint compared with.
    pub checkpoint_size: Option<u64>,
    /// Where that checkpoint came from (`file:…`, `database`, `argument`).
    pub checkpoint_source: Option<String>,
    /// The verifier key checked against: compare it with one kept elsewhere
    /// (a replaced key that re-signed everything looks intact otherwise).
    pub vkey: Option<String>,
    /// Audit entries checked.
    pub audit_entries: u64,
    /// Rows checked per table.
    pub rows: BTreeMap<String, u64>,
    /// Entries after the last signed checkpoint (a crash between commit and
    /// signing, or entries appended outside the registry). Not ok.
    pub unsigned_entries: u64,
    /// Everything that did not match (empty when ok).
    pub problems: Vec<String>,
    /// What could not be checked (not failures).
    pub warnings: Vec<String>,
}

#[derive(sqlx::FromRow, serde::Serialize)]
struct UserStateRow {
    id: i64,
    username: String,
    password_hash: String,
    role: String,
    org_id: Option<i64>,
    province: Option<String>,
    created_at: String,
}

#[derive(sqlx::FromRow, serde::Serialize)]
struct RegisterStateRow {
    id: i64,
    filing_number: String,
    kind: String,
    name: String,
    provider: String,
    province: String,
    date: String,
    role: String,
    product: String,
    purpose: String,
    remark: String,
    status: String,
    source: String,
    filing_id: Option<i64>,
}

#[derive(sqlx::FromRow, serde::Serialize)]
struct IssuedStateRow {
    number: String,
    filing_id: i64,
    issued_at: String,
}

const USER_STATE_COLS: &str = "id, username, password_hash, role, org_id, province, created_at";
const REGISTER_STATE_COLS: &str = "id, filing_number, kind, name, provider, province, date, role, product, purpose, remark, status, source, filing_id";
const ISSUED_STATE_COLS: &str = "number, filing_id, issued_at";

/// The tables whose rows the log commits to, and each row's key.
pub const COVERED_TABLES: [&str; 5] = [
    "filings",
    "issued_numbers",
    "organisations",
    "register",
    "users",
];

fn state(table: &str, key: String, row: Value) -> Value {
    json!({"table": table, "key": key, "row": row})
}

fn filing_state(r: &FilingRow) -> (String, Value) {
    (
        r.id.to_string(),
        json!({
            "id": r.id, "org_id": r.org_id, "service_id": r.service_id, "kind": r.kind,
            "purpose": r.purpose, "parent_id": r.parent_id, "status": r.status, "name": r.name,
            "name_latin": r.name_latin, "province": r.province, "form_sha256": sha256_hex(r.form.as_bytes()),
            "number": r.number, "checks_sha256": sha256_hex(r.checks.as_bytes()), "comment": r.comment,
            "created_at": r.created_at, "updated_at": r.updated_at, "submitted_on": r.submitted_on,
            "approved_on": r.approved_on,
        }),
    )
}

fn org_state(r: &OrgRow) -> (String, Value) {
    (
        r.id.to_string(),
        json!({
            "id": r.id, "uscc": r.uscc, "name": r.name, "kind": r.kind, "province": r.province,
            "division_code": r.division_code, "legal_representative": r.legal_representative,
            "security_officer": r.security_officer, "assessment_lead": r.assessment_lead,
        }),
    )
}

fn user_state(r: &UserStateRow) -> (String, Value) {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("password_hash");
        o.insert(
            "password_hash_sha256".into(),
            Value::String(sha256_hex(r.password_hash.as_bytes())),
        );
    }
    (r.id.to_string(), v)
}

fn register_state(r: &RegisterStateRow) -> (String, Value) {
    (
        r.filing_number.clone(),
        serde_json::to_value(r).unwrap_or(Value::Null),
    )
}

fn issued_state(r: &IssuedStateRow) -> (String, Value) {
    (
        r.number.clone(),
        serde_json::to_value(r).unwrap_or(Value::Null),
    )
}

/// Reads rows of a covered table (`cond` with `$1`/`$2` bound to `a`/`b`).
async fn table_states(
    conn: &mut AnyConnection,
    table: &str,
    cond: &str,
    binds: &[i64],
) -> Result<Vec<(String, Value)>> {
    let cols = match table {
        "filings" => FILING_COLS,
        "organisations" => ORG_COLS,
        "users" => USER_STATE_COLS,
        "register" => REGISTER_STATE_COLS,
        "issued_numbers" => ISSUED_STATE_COLS,
        _ => return Err(RegistryError::invalid("table", table)),
    };
    let sql = format!("SELECT {cols} FROM {table} WHERE {cond}");
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in binds {
        q = q.bind(*b);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(match table {
            "filings" => filing_state(&FilingRow::from_row(r)?),
            "organisations" => org_state(&OrgRow::from_row(r)?),
            "users" => user_state(&UserStateRow::from_row(r)?),
            "register" => register_state(&RegisterStateRow::from_row(r)?),
            _ => issued_state(&IssuedStateRow::from_row(r)?),
        });
    }
    Ok(out)
}

/// Canonical JSON: serde_json's maps are sorted (no `preserve_order`), compact.
fn canonical(v: &Value) -> String {
    v.to_string()
}

/// The audit part of an entry; a detail too large for a bundle is replaced
/// by its hash (the same rule applies when verifying).
fn audit_fields(
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &Value,
) -> Value {
    let d = canonical(detail);
    let detail = if d.len() > ENTRY_BUDGET / 2 {
        json!({"sha256": sha256_hex(d.as_bytes()), "omitted": true})
    } else {
        detail.clone()
    };
    json!({"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject, "detail": detail})
}

fn write_checkpoint_file(path: &Path, note: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, note)?;
    std::fs::rename(&tmp, path)
}

/// Reads a checkpoint file's tree size (from its second line).
fn note_size(note: &str) -> Option<u64> {
    note.split('\n').nth(1)?.parse().ok()
}

impl Store {
    /// Appends one entry inside the caller's transaction (after the audit
    /// entry, whose head lock serialises appends on PostgreSQL).
    pub(crate) async fn log_append(&self, conn: &mut AnyConnection, entry: &Value) -> Result<u64> {
        let data = canonical(entry);
        if data.len() > tile::MAX_ENTRY {
            return Err(RegistryError::Corrupt(format!(
                "log entry of {} bytes is too long",
                data.len()
            )));
        }
        let row = sqlx::query("SELECT COALESCE(MAX(idx), -1) + 1 AS n FROM log_entries")
            .fetch_one(&mut *conn)
            .await?;
        let idx = get_i(&row, "n")?;
        sqlx::query("INSERT INTO log_entries (idx, data) VALUES ($1, $2)")
            .bind(idx)
            .bind(&data)
            .execute(&mut *conn)
            .await?;
        self.note_pending(idx as u64, data.as_bytes());
        Ok(idx as u64)
    }

    /// The log entry of an audit event: the event and the new state of the
    /// rows its subject names.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn log_audit(
        &self,
        conn: &mut AnyConnection,
        seq: i64,
        at: &str,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &Value,
    ) -> Result<()> {
        let mut states = Vec::new();
        let (kind, id) = subject.split_once(':').unwrap_or((subject, ""));
        let id: Option<i64> = id.parse().ok();
        match (kind, id) {
            ("filing", Some(id)) => {
                let fs = table_states(conn, "filings", "id = $1", &[id]).await?;
                let parent = fs
                    .first()
                    .and_then(|(_, v)| v["parent_id"].as_i64())
                    .unwrap_or(-1);
                let fs2 = table_states(conn, "filings", "id = $1", &[parent]).await?;
                for (k, v) in fs.into_iter().chain(fs2) {
                    states.push(state("filings", k, v));
                }
                for t in ["register", "issued_numbers"] {
                    for (k, v) in
                        table_states(conn, t, "filing_id IN ($1, $2)", &[id, parent]).await?
                    {
                        states.push(state(t, k, v));
                    }
                }
            }
            ("user", Some(id)) => {
                for (k, v) in table_states(conn, "users", "id = $1", &[id]).await? {
                    states.push(state("users", k, v));
                }
            }
            ("organisation", Some(id)) => {
                for (k, v) in table_states(conn, "organisations", "id = $1", &[id]).await? {
                    states.push(state("organisations", k, v));
                }
            }
            _ => {}
        }
        let mut e = audit_fields(seq, at, actor, action, subject, detail);
        if let Some(o) = e.as_object_mut() {
            o.insert("v".into(), json!(1));
            o.insert("kind".into(), json!("audit"));
            o.insert("state".into(), Value::Array(states));
        }
        self.log_append(conn, &e).await?;
        Ok(())
    }

    /// Log entries for register rows written outside an audit event's
    /// subject (import, seed): one entry per row, carrying the row.
    pub(crate) async fn log_register_rows(
        &self,
        conn: &mut AnyConnection,
        kind: &str,
        actor: &str,
        filing_numbers: &[String],
    ) -> Result<()> {
        let row = sqlx::query("SELECT COALESCE(MAX(idx), -1) + 1 AS n FROM log_entries")
            .fetch_one(&mut *conn)
            .await?;
        let first = get_i(&row, "n")?;
        let at = now();
        let sql = format!("SELECT {REGISTER_STATE_COLS} FROM register WHERE filing_number = $1");
        for (idx, n) in (first..).zip(filing_numbers) {
            let row = sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(n)
                .fetch_one(&mut *conn)
                .await?;
            let (k, v) = register_state(&RegisterStateRow::from_row(&row)?);
            let e = json!({"v": 1, "kind": kind, "at": at, "actor": actor, "state": [state("register", k, v)]});
            let data = canonical(&e);
            if data.len() > tile::MAX_ENTRY {
                return Err(RegistryError::Corrupt(format!(
                    "log entry of {} bytes is too long",
                    data.len()
                )));
            }
            sqlx::query("INSERT INTO log_entries (idx, data) VALUES ($1, $2)")
                .bind(idx)
                .bind(&data)
                .execute(&mut *conn)
                .await?;
            self.note_pending(idx as u64, data.as_bytes());
        }
        Ok(())
    }

    fn note_pending(&self, idx: u64, data: &[u8]) {
        if let Ok(mut p) = self.log.pending.lock() {
            p.insert(idx, beian_tlog::leaf_hash(data));
        }
    }

    /// Signs, inside the write's transaction, the checkpoint of the log with
    /// this transaction's entries, and stores it in the database's
    /// checkpoint row in the same transaction: a committed entry is always
    /// signed (no window between commit and signing), so an unsigned entry
    /// can only come from outside the registry. Entries beyond the last
    /// signed checkpoint that this process did not append halt the log
    /// instead. Hold the result until the commit, then call [`Store::log_finish`].
    pub(crate) async fn log_prepare(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<Option<Prepared<'_>>> {
        let signer = self.log.signer.read().map_err(|_| lock_err())?.clone();
        let pending = std::mem::take(&mut *self.log.pending.lock().map_err(|_| lock_err())?);
        let Some(signer) = signer else {
            return Ok(None);
        };
        if self.log_halted().is_some() {
            return Ok(None);
        }
        let (guard, base, rows) = self.log_tail(conn).await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let vkey = signer.vkey().to_string();
        // What is signed already: ours, or a valid newer one in the database.
        let ours = self.signed_size().unwrap_or(0);
        let db = sqlx::query("SELECT size, note FROM log_checkpoint WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| Ok::<_, RegistryError>((get_i(&r, "size")? as u64, get_s(&r, "note")?)))
            .transpose()?
            .and_then(|(n, note)| {
                note::open_checkpoint(&note, &vkey)
                    .ok()
                    .filter(|cp| cp.size == n)
            });
        let covered = ours.max(db.as_ref().map_or(0, |c| c.size));
        if covered < base {
            self.log_halt(format!(
                "log entries {covered}..{base} are in the database but no checkpoint signs them (appended outside the registry?): not signing"
            ))?;
            return Ok(None);
        }
        let mut hashes = Vec::with_capacity(rows.len());
        for (next, r) in (base..).zip(&rows) {
            let idx = get_i(r, "idx")? as u64;
            if idx != next {
                self.log_halt(format!("log entry {next} is missing (next is {idx})"))?;
                return Ok(None);
            }
            let h = beian_tlog::leaf_hash(get_s(r, "data")?.as_bytes());
            if idx >= covered && pending.get(&idx) != Some(&h) {
                self.log_halt(format!(
                    "log entry {idx} was appended outside the registry (not by this process, not signed): not signing it"
                ))?;
                return Ok(None);
            }
            hashes.push(h);
        }
        let (size, root, db_ok) = {
            let mut t = self.log.tree.write().map_err(|_| lock_err())?;
            for h in hashes {
                t.push_hash(h);
            }
            let db_ok = db
                .as_ref()
                .is_none_or(|c| t.root_at(c.size).ok() == Some(c.root));
            (t.size(), t.root(), db_ok)
        };
        if !db_ok {
            self.log
                .tree
                .write()
                .map_err(|_| lock_err())?
                .truncate(base);
            self.log_halt(
                "the database's signed checkpoint does not match its log entries: not signing"
                    .into(),
            )?;
            return Ok(None);
        }
        let cp = Checkpoint {
            origin: signer.name().to_string(),
            size,
            root,
        };
        let note = match signer.sign(&cp) {
            Ok(n) => n,
            Err(e) => {
                self.log
                    .tree
                    .write()
                    .map_err(|_| lock_err())?
                    .truncate(base);
                return Err(RegistryError::Corrupt(e.to_string()));
            }
        };
        let sql = match self.backend {
            Backend::Sqlite => {
                "INSERT INTO log_checkpoint (id, size, note) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note WHERE log_checkpoint.size < excluded.size"
            }
            Backend::Postgres => {
                "INSERT INTO log_checkpoint (id, size, note) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET size = EXCLUDED.size, note = EXCLUDED.note WHERE log_checkpoint.size < EXCLUDED.size"
            }
        };
        if let Err(e) = sqlx::query(sql)
            .bind(size as i64)
            .bind(&note)
            .execute(&mut *conn)
            .await
        {
            self.log
                .tree
                .write()
                .map_err(|_| lock_err())?
                .truncate(base);
            return Err(e.into());
        }
        Ok(Some(Prepared {
            _guard: guard,
            base,
            size,
            note,
        }))
    }

    /// After the commit of a transaction [`Store::log_prepare`] signed:
    /// keeps the checkpoint and writes the file outside the database, or
    /// (the commit failed) drops the uncommitted leaves again.
    pub(crate) fn log_finish(&self, p: Prepared<'_>, committed: bool) {
        if !committed {
            if let Ok(mut t) = self.log.tree.write() {
                t.truncate(p.base);
            }
            return;
        }
        if let Ok(mut n) = self.log.note.write() {
            *n = Some((p.size, p.note.clone()));
        }
        let file = self.log.file.read().ok().and_then(|f| f.clone());
        if let Some(path) = file {
            // Another process may have written a newer one.
            let newer = std::fs::read_to_string(&path)
                .ok()
                .and_then(|n| note_size(&n))
                .is_some_and(|s| s > p.size);
            if !newer && let Err(e) = write_checkpoint_file(&path, &p.note) {
                tracing::warn!(path = %path.display(), error = %e, "transparency log: could not write the checkpoint file");
            }
        }
    }

    /// Creates the log of a database written before the log existed: one
    /// entry per audit event, then a snapshot entry per covered row.
    pub(crate) async fn log_bootstrap(&self) -> Result<()> {
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("SELECT COUNT(*) AS n FROM log_entries")
            .fetch_one(&mut *tx)
            .await?;
        if get_i(&n, "n")? > 0 {
            return Ok(());
        }
        let audits = sqlx::query(
            "SELECT seq, at, actor, action, subject, detail FROM audit_log ORDER BY seq",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut any = !audits.is_empty();
        for r in &audits {
            let detail = get_json(r, "detail").unwrap_or(Value::Null);
            let mut e = audit_fields(
                get_i(r, "seq")?,
                &get_s(r, "at")?,
                &get_s(r, "actor")?,
                &get_s(r, "action")?,
                &get_s(r, "subject")?,
                &detail,
            );
            if let Some(o) = e.as_object_mut() {
                o.insert("v".into(), json!(1));
                o.insert("kind".into(), json!("audit"));
                o.insert("state".into(), json!([]));
            }
            self.log_append(&mut tx, &e).await?;
        }
        let at = now();
        for t in COVERED_TABLES {
            for (k, v) in table_states(&mut tx, t, "1 = 1", &[]).await? {
                any = true;
                let e = json!({"v": 1, "kind": "snapshot", "at": at, "actor": "system", "state": [state(t, k, v)]});
                self.log_append(&mut tx, &e).await?;
            }
        }
        if any {
            tx.commit().await?;
        }
        Ok(())
    }

    /// Sets the signing key and the checkpoint file (outside the database),
    /// then brings the log up to date and signs a checkpoint.
    pub async fn enable_log(
        &self,
        signer: LogSigner,
        checkpoint_file: Option<PathBuf>,
    ) -> Result<()> {
        *self.log.signer.write().map_err(|_| lock_err())? = Some(std::sync::Arc::new(signer));
        *self.log.file.write().map_err(|_| lock_err())? = checkpoint_file.clone();
        // Never sign a checkpoint inconsistent with the last one signed.
        let size = self.log_sync().await?;
        let vkey = self.log_vkey().unwrap_or_default();
        let mut notes = Vec::new();
        if let Some(p) = &checkpoint_file
            && let Ok(n) = std::fs::read_to_string(p)
        {
            notes.push(n);
        }
        if let Some(r) = sqlx::query("SELECT note FROM log_checkpoint WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
        {
            notes.push(get_s(&r, "note")?);
        }
        let mut last: Option<(u64, String)> = None;
        for n in notes {
            let Ok(cp) = note::open_checkpoint(&n, &vkey) else {
                continue; // another key's, or damaged: not ours to keep
            };
            let root = self
                .log
                .tree
                .read()
                .map_err(|_| lock_err())?
                .root_at(cp.size)
                .ok();
            if cp.size > size || root != Some(cp.root) {
                self.log_halt(format!(
                    "the database's log ({size} entries) does not extend the last signed checkpoint ({} entries): entries deleted or edited",
                    cp.size
                ))?;
            }
            if last.as_ref().is_none_or(|(s, _)| cp.size > *s) {
                last = Some((cp.size, n));
            }
        }
        let first_start = last.is_none() && size == 0;
        *self.log.note.write().map_err(|_| lock_err())? = last;
        if first_start
            && self
                .log
                .old_dir_key
                .load(std::sync::atomic::Ordering::Acquire)
        {
            self.log_halt("the log key in the data directory is older than this process, but the log is empty and no signed checkpoint exists (the database and the checkpoint file were wiped?); to start a new log on purpose, move the old log-key away".into())?;
            return Ok(());
        }
        if first_start {
            // A new, empty log: sign its empty tree, so that even a wipe
            // before the first write is measured against a checkpoint.
            self.log_publish().await?;
        }
        Ok(())
    }

    /// Sets the witnesses (C2SP tlog-cosignature/v1 verifier keys,
    /// `<name>+<hex id>+<base64(0x04 ‖ key)>`) whose cosignatures
    /// [`Store::log_add_cosignatures`] accepts, and loads the newest
    /// cosigned checkpoint kept in the data directory (`log-witnessed`).
    pub fn set_log_witnesses(&self, vkeys: &[String]) -> Result<()> {
        let probe = "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n";
        for k in vkeys {
            note::cosignature_time(probe, k)
                .map_err(|e| RegistryError::invalid("witness-key", format!("{k}: {e}")))?;
        }
        *self.log.witnesses.write().map_err(|_| lock_err())? = vkeys.to_vec();
        let file = self.log.file.read().map_err(|_| lock_err())?.clone();
        if let Some(p) = file.map(|f| f.with_file_name("log-witnessed"))
            && let Ok(n) = std::fs::read_to_string(&p)
            && let Some(vkey) = self.log_vkey()
            && let Ok(cp) = note::open_checkpoint(&n, &vkey)
            && self
                .log
                .tree
                .read()
                .map_err(|_| lock_err())?
                .root_at(cp.size)
                .ok()
                == Some(cp.root)
        {
            *self.log.witnessed.write().map_err(|_| lock_err())? = Some((cp.size, n));
        }
        Ok(())
    }

    /// Accepts a checkpoint this log signed, co-signed by configured
    /// witnesses (C2SP tlog-cosignature/v1): keeps the log's signature and
    /// every valid cosignature by a configured witness (merged with those
    /// already held for the same tree size). Returns how many witness
    /// cosignatures the kept note carries.
    pub async fn log_add_cosignatures(&self, cosigned: &str) -> Result<usize> {
        let bad = |m: String| RegistryError::invalid("checkpoint", m);
        let vkey = self
            .log_vkey()
            .ok_or_else(|| bad("this log has no key".into()))?;
        let cp = note::open_checkpoint(cosigned, &vkey).map_err(|e| bad(e.to_string()))?;
        self.log_checkpoint().await?;
        let signed = self.signed_size().unwrap_or(0);
        let root = self
            .log
            .tree
            .read()
            .map_err(|_| lock_err())?
            .root_at(cp.size)
            .ok();
        if cp.size > signed || root != Some(cp.root) {
            return Err(bad(format!(
                "not a checkpoint of this log (size {}, signed size {signed})",
                cp.size
            )));
        }
        let witnesses = self.log.witnesses.read().map_err(|_| lock_err())?.clone();
        let split = |n: &str| -> Option<(String, Vec<String>)> {
            let (body, sigs) = n.split_once("\n\n")?;
            Some((
                format!("{body}\n"),
                sigs.lines().map(str::to_string).collect(),
            ))
        };
        let (body, lines) = split(cosigned).ok_or_else(|| bad("no signatures".into()))?;
        let single = |l: &str| format!("{body}\n{l}\n");
        let is_cosig = |l: &str| {
            witnesses.iter().any(|w| {
                note::cosignature_time(&single(l), w)
                    .ok()
                    .flatten()
                    .is_some()
            })
        };
        // The submission itself must carry a valid cosignature by a known witness.
        let mut keep: Vec<String> = Vec::new();
        let mut log_sig = None;
        for l in lines {
            if keep.contains(&l) {
                continue;
            }
            if note::has_signature(&single(&l), &vkey).unwrap_or(false) {
                log_sig = Some(l);
            } else if is_cosig(&l) {
                keep.push(l);
            }
        }
        if keep.is_empty() {
            return Err(bad(
                "no valid cosignature by a witness this log accepts (beian serve --witness-key)"
                    .into(),
            ));
        }
        let log_sig = log_sig.ok_or_else(|| bad("no signature by the log".into()))?;
        let prev = self.log.witnessed.read().map_err(|_| lock_err())?.clone();
        if let Some((ps, pn)) = &prev
            && *ps == cp.size
            && let Some((_, pl)) = split(pn)
        {
            for l in pl {
                if !keep.contains(&l) && l != log_sig && is_cosig(&l) {
                    keep.push(l);
                }
            }
        }
        keep.insert(0, log_sig);
        let cosigs = keep.len() - 1;
        if prev.as_ref().is_some_and(|(ps, _)| *ps > cp.size) {
            return Ok(cosigs); // valid, but older than the one kept
        }
        let note = format!("{body}\n{}\n", keep.join("\n"));
        let file = self.log.file.read().map_err(|_| lock_err())?.clone();
        if let Some(p) = file.map(|f| f.with_file_name("log-witnessed"))
            && let Err(e) = write_checkpoint_file(&p, &note)
        {
            tracing::warn!(path = %p.display(), error = %e, "could not keep the cosigned checkpoint");
        }
        *self.log.witnessed.write().map_err(|_| lock_err())? = Some((cp.size, note));
        Ok(cosigs)
    }

    /// The newest checkpoint carrying witness cosignatures, if any.
    pub fn log_witnessed(&self) -> Option<(u64, String)> {
        self.log.witnessed.read().ok()?.clone()
    }

    /// Stops signing and serving the log, with the reason.
    pub fn log_halt(&self, reason: String) -> Result<()> {
        tracing::error!(%reason, "transparency log halted");
        let mut h = self.log.halted.write().map_err(|_| lock_err())?;
        if h.is_none() {
            *h = Some(reason);
        }
        Ok(())
    }

    /// Why the log is halted, if it is.
    pub fn log_halted(&self) -> Option<String> {
        self.log.halted.read().ok()?.clone()
    }

    /// Runs [`Store::log_verify`] and halts the log if anything differs
    /// (what `beian serve` does at start, so a tampered database is never
    /// published as if intact). Returns the report.
    pub async fn log_startup_check(&self) -> Result<LogReport> {
        // Entries after the last signed checkpoint are never signed here:
        // every write signs its checkpoint in its own transaction, so they
        // were appended outside the registry (or by a process without the key).
        let rep = self.log_verify(None, None).await?;
        if !rep.ok {
            let mut msg = rep
                .problems
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ");
            if rep.problems.len() > 3 {
                msg.push_str(&format!("; and {} more", rep.problems.len() - 3));
            }
            self.log_halt(format!("the database does not match its log: {msg}"))?;
        }
        Ok(rep)
    }

    /// Loads (or creates) the log key for a data directory: `BEIAN_LOG_KEY`
    /// (the key itself), else `BEIAN_LOG_KEY_FILE`, else `<dir>/log-key`
    /// (created on first start with origin `BEIAN_LOG_ORIGIN` or
    /// [`DEFAULT_ORIGIN`]); checkpoints go to `<dir>/log-checkpoint`.
    pub async fn enable_log_in(&self, data_dir: &Path, key_file: Option<&Path>) -> Result<()> {
        let env_key = std::env::var("BEIAN_LOG_KEY").is_ok_and(|k| !k.trim().is_empty());
        let from_dir =
            key_file.is_none() && !env_key && std::env::var_os("BEIAN_LOG_KEY_FILE").is_none();
        self.log.old_dir_key.store(
            from_dir && data_dir.join("log-key").exists(),
            std::sync::atomic::Ordering::Release,
        );
        let signer = log_key(data_dir, key_file)?;
        self.enable_log(signer, Some(data_dir.join("log-checkpoint")))
            .await
    }

    /// The verifier key of this log, if a key is set.
    pub fn log_vkey(&self) -> Option<String> {
        self.log
            .signer
            .read()
            .ok()?
            .as_ref()
            .map(|s| s.vkey().to_string())
    }

    /// Under the log's sync lock (returned held): the size of this
    /// process's tree, and the log rows from that index on.
    async fn log_tail(
        &self,
        conn: &mut AnyConnection,
    ) -> Result<(tokio::sync::MutexGuard<'_, ()>, u64, Vec<sqlx::any::AnyRow>)> {
        let guard = self.log.sync.lock().await;
        let have = self.log.tree.read().map_err(|_| lock_err())?.size();
        let rows = sqlx::query("SELECT idx, data FROM log_entries WHERE idx >= $1 ORDER BY idx")
            .bind(have as i64)
            .fetch_all(&mut *conn)
            .await?;
        Ok((guard, have, rows))
    }

    /// Reads entries this process has not seen yet into the tree.
    pub async fn log_sync(&self) -> Result<u64> {
        // The connection first, then the lock: a writer holds its
        // transaction's connection while it waits for the lock in
        // `log_prepare`, so waiting for a connection under the lock could
        // starve the pool.
        let mut conn = self.pool.acquire().await?;
        let (_g, have, rows) = self.log_tail(&mut conn).await?;
        if rows.is_empty() {
            return Ok(have);
        }
        let mut hashes = Vec::with_capacity(rows.len());
        for (next, r) in (have..).zip(&rows) {
            if get_i(r, "idx")? as u64 != next {
                break; // a gap: another transaction has not committed yet
            }
            hashes.push(beian_tlog::leaf_hash(get_s(r, "data")?.as_bytes()));
        }
        let mut t = self.log.tree.write().map_err(|_| lock_err())?;
        if t.size() == have {
            for h in hashes {
                t.push_hash(h);
            }
        }
        Ok(t.size())
    }

    /// Syncs the tree and, when it grew, signs a checkpoint and stores it in
    /// the database and the checkpoint file. Errors are logged, not
    /// returned: the write that triggered it has committed.
    pub(crate) async fn log_publish(&self) -> Result<()> {
        if let Err(e) = self.log_publish_inner().await {
            tracing::warn!(error = %e, "transparency log: could not publish a checkpoint");
        }
        Ok(())
    }

    async fn log_publish_inner(&self) -> Result<()> {
        let signer = self.log.signer.read().map_err(|_| lock_err())?.clone();
        let Some(signer) = signer else { return Ok(()) };
        if self.log_halted().is_some() {
            return Ok(());
        }
        let size = self.log_sync().await?;
        let _g = self.log.sync.lock().await;
        let last = self
            .log
            .note
            .read()
            .map_err(|_| lock_err())?
            .as_ref()
            .map(|(s, _)| *s);
        if last.is_some_and(|l| l >= size) {
            return Ok(());
        }
        let root = self
            .log
            .tree
            .read()
            .map_err(|_| lock_err())?
            .root_at(size)
            .map_err(|e| RegistryError::Corrupt(e.to_string()))?;
        let cp = Checkpoint {
            origin: signer.name().to_string(),
            size,
            root,
        };
        let note = signer
            .sign(&cp)
            .map_err(|e| RegistryError::Corrupt(e.to_string()))?;
        let sql = match self.backend {
            Backend::Sqlite => {
                "INSERT INTO log_checkpoint (id, size, note) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note WHERE log_checkpoint.size < excluded.size"
            }
            Backend::Postgres => {
                "INSERT INTO log_checkpoint (id, size, note) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET size = EXCLUDED.size, note = EXCLUDED.note WHERE log_checkpoint.size < EXCLUDED.size"
            }
        };
        sqlx::query(sql)
            .bind(size as i64)
            .bind(&note)
            .execute(&self.pool)
            .await?;
        let file = self.log.file.read().map_err(|_| lock_err())?.clone();
        if let Some(path) = file {
            // Another process may have written a newer one.
            let newer = std::fs::read_to_string(&path)
                .ok()
                .and_then(|n| note_size(&n))
                .is_some_and(|s| s > size);
            if !newer {
                write_checkpoint_file(&path, &note).map_err(|source| RegistryError::DataDir {
                    path: path.display().to_string(),
                    source,
                })?;
            }
        }
        *self.log.note.write().map_err(|_| lock_err())? = Some((size, note));
        Ok(())
    }

    /// The latest signed checkpoint (signing one first if the log grew).
    pub async fn log_checkpoint(&self) -> Result<Option<String>> {
        if let Some(h) = self.log_halted() {
            return Err(RegistryError::Corrupt(format!(
                "transparency log halted: {h}"
            )));
        }
        // Reads never sign: a checkpoint is signed after this process's own
        // commits; another process's newer one is picked up from the database.
        let size = self.log_sync().await?;
        let ours = self.signed_size();
        if let Some(r) = sqlx::query("SELECT size, note FROM log_checkpoint WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
        {
            let (dsize, dnote) = (get_i(&r, "size")? as u64, get_s(&r, "note")?);
            if ours.is_none_or(|o| dsize > o) && dsize <= size {
                let vkey = self.log_vkey().unwrap_or_default();
                let root = self
                    .log
                    .tree
                    .read()
                    .map_err(|_| lock_err())?
                    .root_at(dsize)
                    .ok();
                match note::open_checkpoint(&dnote, &vkey) {
                    Ok(cp) if Some(cp.root) == root && cp.size == dsize => {
                        *self.log.note.write().map_err(|_| lock_err())? = Some((dsize, dnote));
                    }
                    _ => {}
                }
            }
        }
        Ok(self
            .log
            .note
            .read()
            .map_err(|_| lock_err())?
            .as_ref()
            .map(|(_, n)| n.clone()))
    }

    fn signed_size(&self) -> Option<u64> {
        self.log.note.read().ok()?.as_ref().map(|(s, _)| *s)
    }

    /// A hash tile (`level`, `index`, `width`) of the signed tree, if it exists.
    pub async fn log_tile(&self, level: u8, index: u64, width: u32) -> Result<Option<Vec<u8>>> {
        self.log_checkpoint().await?;
        let size = self.signed_size().unwrap_or(0);
        // Only tiles of the signed tree: hashes at that level below size >> 8·level.
        let avail = size >> (8 * u32::from(level));
        let end = index.saturating_mul(256).saturating_add(u64::from(width));
        if end > avail {
            return Ok(None);
        }
        let t = self.log.tree.read().map_err(|_| lock_err())?;
        Ok(tile::hash_tile(&t, level, index, width))
    }

    /// An entry bundle of the signed tree, if it exists.
    pub async fn log_bundle(&self, index: u64, width: u32) -> Result<Option<Vec<u8>>> {
        self.log_checkpoint().await?;
        let size = self.signed_size().unwrap_or(0);
        let start = index.saturating_mul(256);
        let end = start.saturating_add(u64::from(width));
        if end > size {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT idx, data FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(start as i64)
        .bind(end as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for r in &rows {
            entries.push(get_s(r, "data")?);
        }
        if entries.len() as u64 != end - start {
            return Err(RegistryError::Corrupt("log entries missing".into()));
        }
        tile::encode_bundle(entries.iter().map(|e| e.as_bytes()))
            .map(Some)
            .map_err(|e| RegistryError::Corrupt(e.to_string()))
    }

    /// A consistency proof between two tree sizes (`to` at most the signed size).
    pub async fn log_consistency(&self, from: u64, to: u64) -> Result<Vec<beian_tlog::Hash>> {
        self.log_checkpoint().await?;
        let size = self.signed_size().unwrap_or(0);
        if to > size {
            return Err(RegistryError::invalid(
                "to",
                format!("larger than the signed tree size {size}"),
            ));
        }
        let t = self.log.tree.read().map_err(|_| lock_err())?;
        t.consistency_proof(from, to)
            .map_err(|e| RegistryError::invalid("from", e.to_string()))
    }

    /// Inclusion proof of entry `index` in the tree of `size` entries
    /// (default: the signed size), with the signed checkpoint when `size`
    /// is the signed size.
    pub async fn log_inclusion(
        &self,
        index: u64,
        size: Option<u64>,
    ) -> Result<(Vec<beian_tlog::Hash>, u64, Option<String>)> {
        let note = self.log_checkpoint().await?;
        let signed = self.signed_size().unwrap_or(0);
        let size = size.unwrap_or(signed);
        if size > signed {
            return Err(RegistryError::invalid(
                "size",
                format!("larger than the signed tree size {signed}"),
            ));
        }
        let proof = self
            .log
            .tree
            .read()
            .map_err(|_| lock_err())?
            .inclusion_proof(index, size)
            .map_err(|e| RegistryError::invalid("index", e.to_string()))?;
        Ok((proof, size, note.filter(|_| size == signed)))
    }

    /// The inclusion proof of a register entry's latest state.
    pub async fn log_register_proof(&self, filing_number: &str) -> Result<LogProof> {
        let note = self
            .log_checkpoint()
            .await?
            .ok_or_else(|| RegistryError::NotFound("no signed checkpoint yet".into()))?;
        let size = note_size(&note).unwrap_or(0);
        // The last entry carrying this row: scan newest first.
        let pat = format!(
            "%\"key\":{}%",
            serde_json::to_string(filing_number).unwrap_or_default()
        );
        let rows = sqlx::query(
            "SELECT idx, data FROM log_entries WHERE idx < $1 AND data LIKE $2 ORDER BY idx DESC",
        )
        .bind(size as i64)
        .bind(pat)
        .fetch_all(&self.pool)
        .await?;
        let carries = |data: &str| {
            serde_json::from_str::<Value>(data).ok().is_some_and(|v| {
                v["state"].as_array().is_some_and(|a| {
                    a.iter()
                        .any(|s| s["table"] == "register" && s["key"] == filing_number)
                })
            })
        };
        let Some(row) = rows
            .iter()
            .find(|r| get_s(r, "data").is_ok_and(|d| carries(&d)))
        else {
            return Err(RegistryError::NotFound(format!(
                "register entry {filing_number}"
            )));
        };
        let index = get_i(row, "idx")? as u64;
        let entry = get_s(row, "data")?;
        let proof = self
            .log
            .tree
            .read()
            .map_err(|_| lock_err())?
            .inclusion_proof(index, size)
            .map_err(|e| RegistryError::Corrupt(e.to_string()))?;
        Ok(LogProof {
            filing_number: filing_number.to_string(),
            index,
            entry,
            tree_size: size,
            inclusion_proof: beian_tlog::verify::encode_proof(&proof),
            checkpoint: note,
        })
    }

    /// Recomputes the log from the database and compares it with the last
    /// signed checkpoint (`checkpoint` if given, else the newest of the file
    /// and the database copy), the audit table, and the current rows of
    /// every covered table. `vkey` defaults to this store's key.
    pub async fn log_verify(
        &self,
        checkpoint: Option<String>,
        vkey: Option<String>,
    ) -> Result<LogReport> {
        let mut rep = LogReport::default();
        let mut problems = Vec::new();
        let mut conn = self.pool.acquire().await?;
        // 1. the entries
        let rows = sqlx::query("SELECT idx, data FROM log_entries ORDER BY idx")
            .fetch_all(&mut *conn)
            .await?;
        let mut tree = Tree::new();
        let mut entries: Vec<Value> = Vec::with_capacity(rows.len());
        for r in &rows {
            let idx = get_i(r, "idx")?;
            if idx as u64 != tree.size() {
                problems.push(format!("log entry {} missing (next is {idx})", tree.size()));
                break;
            }
            let data = get_s(r, "data")?;
            tree.push(data.as_bytes());
            match serde_json::from_str::<Value>(&data) {
                Ok(v) if canonical(&v) == data => entries.push(v),
                _ => problems.push(format!("log entry {idx} is not canonical JSON")),
            }
        }
        rep.entries = tree.size();
        // 2. the checkpoint
        let vkey = vkey.or_else(|| self.log_vkey());
        rep.vkey = vkey.clone();
        let mut candidates: Vec<(String, String)> = Vec::new();
        if let Some(c) = checkpoint {
            candidates.push(("argument".into(), c));
        } else {
            let file = self.log.file.read().map_err(|_| lock_err())?.clone();
            if let Some(p) = file
                && let Ok(s) = std::fs::read_to_string(&p)
            {
                candidates.push((format!("file:{}", p.display()), s));
            }
            if let Some(r) = sqlx::query("SELECT note FROM log_checkpoint WHERE id = 1")
                .fetch_optional(&mut *conn)
                .await?
            {
                candidates.push(("database".into(), get_s(&r, "note")?));
            }
        }
        let mut best: Option<(String, Checkpoint)> = None;
        match &vkey {
            None => rep.warnings.push(
                "no log key configured: the log is not signed, so a wipe or rewrite of the whole log cannot be detected (give --data-dir with the log key, or --vkey and --checkpoint)".into(),
            ),
            Some(vk) => {
                for (src, n) in &candidates {
                    match note::open_checkpoint(n, vk) {
                        Ok(cp) => {
                            // every checkpoint seen must be a prefix of the database's log
                            if tree.root_at(cp.size).ok() != Some(cp.root) {
                                problems.push(format!(
                                    "checkpoint from {src} (size {}) does not match the log in the database (entries edited, deleted or re-chained)",
                                    cp.size
                                ));
                            }
                            if best.as_ref().is_none_or(|(_, b)| cp.size > b.size) {
                                best = Some((src.clone(), cp));
                            }
                        }
                        Err(e) => problems.push(format!("checkpoint from {src}: {e}")),
                    }
                }
            }
        }
        // The database keeps a copy of every checkpoint before the file is
        // written: a file newer than the database's copy means it was removed.
        let size_of = |prefix: &str| {
            candidates
                .iter()
                .filter(|(s, _)| s.starts_with(prefix))
                .filter_map(|(_, n)| {
                    vkey.as_deref()
                        .and_then(|k| note::open_checkpoint(n, k).ok())
                })
                .map(|c| c.size)
                .max()
        };
        if let Some(f) = size_of("file:")
            && size_of("database").is_none_or(|d| d < f)
        {
            problems.push(format!(
                "the database's copy of the signed checkpoint is missing or older than the file's (size {f}): deleted?"
            ));
        }
        match &best {
            Some((src, cp)) => {
                rep.checkpoint_size = Some(cp.size);
                rep.checkpoint_source = Some(src.clone());
                if cp.size > tree.size() {
                    problems.push(format!(
                        "the signed checkpoint has {} entries but the database has {} (entries deleted or log wiped)",
                        cp.size,
                        tree.size()
                    ));
                } else if cp.size < tree.size() {
                    rep.unsigned_entries = tree.size() - cp.size;
                }
            }
            None if vkey.is_some() => problems.push("no signed checkpoint found".into()),
            None => {}
        }
        // 3. replay
        let mut audits: BTreeMap<i64, Value> = BTreeMap::new();
        let mut latest: BTreeMap<(String, String), Value> = BTreeMap::new();
        for (i, e) in entries.iter().enumerate() {
            if e["kind"] == "audit" {
                let seq = e["seq"].as_i64().unwrap_or(-1);
                if audits.insert(seq, e.clone()).is_some() {
                    problems.push(format!("log entry {i}: audit entry {seq} logged twice"));
                }
            }
            if let Some(states) = e["state"].as_array() {
                for s in states {
                    let t = s["table"].as_str().unwrap_or_default().to_string();
                    let k = s["key"].as_str().unwrap_or_default().to_string();
                    latest.insert((t, k), s["row"].clone());
                }
            }
        }
        // 4. the audit table against the log (and its own hash chain)
        let arows = sqlx::query(
            "SELECT seq, at, actor, action, subject, detail FROM audit_log ORDER BY seq",
        )
        .fetch_all(&mut *conn)
        .await?;
        rep.audit_entries = arows.len() as u64;
        let mut seen = std::collections::BTreeSet::new();
        for r in &arows {
            let seq = get_i(r, "seq")?;
            seen.insert(seq);
            let detail = get_json(r, "detail").unwrap_or(Value::Null);
            let got = audit_fields(
                seq,
                &get_s(r, "at")?,
                &get_s(r, "actor")?,
                &get_s(r, "action")?,
                &get_s(r, "subject")?,
                &detail,
            );
            match audits.get(&seq) {
                None => problems.push(format!("audit entry {seq} is not in the log (inserted?)")),
                Some(e) => {
                    let same = ["seq", "at", "actor", "action", "subject", "detail"]
                        .iter()
                        .all(|k| e[*k] == got[*k]);
                    if !same {
                        problems.push(format!("audit entry {seq} differs from the log (edited?)"));
                    }
                }
            }
        }
        for seq in audits.keys() {
            if !seen.contains(seq) {
                problems.push(format!(
                    "audit entry {seq} is in the log but not in the database (deleted?)"
                ));
            }
        }
        drop(conn);
        if let Err(e) = self.audit_verify().await? {
            problems.push(format!("audit hash chain: {e}"));
        }
        // 5. covered tables against the replayed state
        let mut conn = self.pool.acquire().await?;
        for t in COVERED_TABLES {
            let rows = table_states(&mut conn, t, "1 = 1", &[]).await?;
            rep.rows.insert(t.to_string(), rows.len() as u64);
            let mut keys = std::collections::BTreeSet::new();
            for (k, v) in rows {
                match latest.get(&(t.to_string(), k.clone())) {
                    None => problems.push(format!(
                        "{t} {k}: row is not in the log (inserted outside the registry?)"
                    )),
                    Some(l) if *l != v => problems.push(format!(
                        "{t} {k}: row differs from its last logged state (edited?)"
                    )),
                    _ => {}
                }
                keys.insert(k);
            }
            for (tt, k) in latest.keys() {
                if tt == t && !keys.contains(k) {
                    problems.push(format!(
                        "{t} {k}: row is in the log but missing from the database (deleted?)"
                    ));
                }
            }
        }
        rep.ok = problems.is_empty() && rep.unsigned_entries == 0;
        if rep.unsigned_entries > 0 {
            problems.push(format!(
                "{} log entries after the last signed checkpoint are not signed (appended outside the registry, or by a process without the log key; every write of the registry signs its checkpoint in its own transaction)",
                rep.unsigned_entries
            ));
        }
        rep.problems = problems;
        Ok(rep)
    }
}

fn lock_err() -> RegistryError {
    RegistryError::Corrupt("log lock poisoned".into())
}

/// The log key for a data directory (see [`Store::enable_log_in`]).
pub fn log_key(data_dir: &Path, key_file: Option<&Path>) -> Result<LogSigner> {
    let kerr = |e: note::NoteError| RegistryError::invalid("log-key", e.to_string());
    if let Ok(k) = std::env::var("BEIAN_LOG_KEY")
        && !k.trim().is_empty()
    {
        return LogSigner::from_skey(&k).map_err(kerr);
    }
    let env_file = std::env::var_os("BEIAN_LOG_KEY_FILE").map(PathBuf::from);
    if let Some(p) = key_file.map(Path::to_path_buf).or(env_file) {
        let s = std::fs::read_to_string(&p).map_err(|source| RegistryError::DataDir {
            path: p.display().to_string(),
            source,
        })?;
        return LogSigner::from_skey(&s).map_err(kerr);
    }
    let origin = std::env::var("BEIAN_LOG_ORIGIN").unwrap_or_else(|_| DEFAULT_ORIGIN.to_string());
    LogSigner::load_or_create(&data_dir.join("log-key"), &origin).map_err(kerr)
}
