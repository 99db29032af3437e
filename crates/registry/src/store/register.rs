//! The public register: search, export, import of published lists.

use super::*;

impl Store {
    /// Keeps the public register's snapshot fresh from a background task
    /// (every [`crate::register::CHECK`]): new snapshots are built off to the
    /// side and swapped in, so no reader waits for a reload caused by age or
    /// by another process's writes. Needs a Tokio runtime; the task ends
    /// when the store is dropped.
    pub fn start_register_refresher(self: &Arc<Self>) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self
            .register
            .background
            .swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            return;
        }
        let weak = Arc::downgrade(self);
        rt.spawn(async move {
            loop {
                tokio::time::sleep(crate::register::CHECK).await;
                let Some(store) = weak.upgrade() else { break };
                if store.pool.is_closed() {
                    break;
                }
                if let Err(e) = store.register.refresh(&store).await {
                    tracing::warn!(error = %e, "register refresh failed");
                }
            }
        });
    }

    /// After a write to the register by this process: the new snapshot is
    /// built before the write returns (read-your-writes), while readers keep
    /// answering from the old one (no reader waits for the rebuild).
    pub(crate) async fn register_changed(&self) {
        if let Err(e) = self
            .register
            .rebuild_after_write(self, || self.bump())
            .await
        {
            // the write has committed; readers rebuild on their next request
            tracing::warn!(error = %e, "register rebuild after a write failed");
        }
    }

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

    /// [`Store::register_export`] and the register version it was read at
    /// (see [`Store::register_version`]).
    pub async fn register_export_versioned(
        &self,
        q: &RegisterQuery,
    ) -> Result<(u64, Vec<RegisterItem>)> {
        self.register.export_versioned(self, q).await
    }

    /// The version of the public register as it is answered now: equal
    /// versions mean identical register rows (a write, here or by another
    /// process, gives a new one), so exports rendered at one version can be
    /// served again while it lasts. Unique within this process only.
    pub async fn register_version(&self) -> Result<u64> {
        self.register.version(self).await
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
        let mut added: Vec<String> = Vec::new();
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
            added.push(r.filing_number.clone());
        }
        if sum.inserted > 0 {
            self.audit(&mut tx, actor, "register.import", &format!("file:{base}"),
                json!({"inserted": sum.inserted, "unchanged": sum.unchanged, "conflicts": sum.conflicts, "skipped": sum.skipped})).await?;
            // one log entry per imported row, carrying the row
            self.log_register_rows(&mut tx, "register.import", actor, &added)
                .await?;
        }
        self.commit(tx).await?;
        if sum.inserted > 0 {
            self.register_changed().await;
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
        let mut added: Vec<String> = Vec::with_capacity(n);
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
                .bind(&number).bind(k.as_str()).bind(format!("合成服务{i}号模型")).bind(format!("测试科技有限公司{}", i % 5000)).bind(p.0)
                .bind(format!("2025-{:02}-{:02}", 1 + i % 12, 1 + i % 28))
                .execute(&mut *tx).await?;
            if r.rows_affected() > 0 {
                added.push(number);
            }
            inserted += r.rows_affected() as usize;
        }
        if !added.is_empty() {
            self.audit(
                &mut tx,
                "system",
                "register.seed",
                "register",
                json!({"inserted": added.len()}),
            )
            .await?;
            self.log_register_rows(&mut tx, "register.seed", "system", &added)
                .await?;
        }
        self.commit(tx).await?;
        self.register_changed().await;
        Ok(inserted)
    }
}
