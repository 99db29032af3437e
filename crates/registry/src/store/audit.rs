//! The audit log: entries, verification, and test helpers.

use super::*;
use crate::audit;

impl Store {
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

    /// Runs a raw query and returns its first column as text (tests and the
    /// tamper demonstration only; cast non-text columns in the SQL).
    #[doc(hidden)]
    pub async fn raw_texts(&self, sql: &str) -> Result<Vec<String>> {
        let rows = sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(Into::into))
            .collect()
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
