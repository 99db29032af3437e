//! Attachments (content-addressed blobs).

use super::*;
use crate::audit;

impl Store {
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
        let f = self.visible_filing(&mut tx, actor, filing_id).await?;
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
        self.commit(tx).await?;
        Ok(a)
    }

    /// Attachments of a visible filing.
    pub async fn list_attachments(&self, actor: &User, filing_id: i64) -> Result<Vec<Attachment>> {
        let mut conn = self.pool.acquire().await?;
        self.visible_filing(&mut conn, actor, filing_id).await?;
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
        self.visible_filing(&mut tx, actor, filing_id).await?;
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
        self.commit(tx).await?;
        Ok((a, data))
    }
}
