//! Filings and their state transitions (including number issue).

use super::*;

impl Store {
    pub(super) async fn filing_raw(
        &self,
        conn: &mut AnyConnection,
        id: i64,
    ) -> Result<Option<Filing>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {FILING_COLS} FROM filings WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(filing_from_row).transpose()
    }

    /// A filing `actor` may see, or `NotFound` (never `Forbidden`: a filing a
    /// user may not see does not exist for them).
    pub(super) async fn visible_filing(
        &self,
        conn: &mut AnyConnection,
        actor: &User,
        id: i64,
    ) -> Result<Filing> {
        self.filing_raw(conn, id)
            .await?
            .filter(|f| can_see(Some(actor), f))
            .ok_or_else(|| RegistryError::NotFound(format!("filing {id}")))
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
            None => org_prov.clone(),
        };
        // A filing is reviewed in its organisation's province; only a
        // national reviewer may decide otherwise (providers cannot pick).
        if prov != org_prov && actor.role != Role::NationalReviewer {
            return Err(RegistryError::invalid(
                "province",
                format!("must be the organisation's province ({org_prov})"),
            ));
        }
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
        self.commit(tx).await?;
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
                    self.commit(tx).await?;
                }
                Ok(f)
            }
            Some(_) => {
                if let Some(u) = actor {
                    self.audit_refused_read(u, &format!("filing:{id}")).await?;
                }
                Err(RegistryError::NotFound(format!("filing {id}")))
            }
            None => Err(RegistryError::NotFound(format!("filing {id}"))),
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
        let f = self.visible_filing(&mut tx, actor, id).await?;
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
        self.commit(tx).await?;
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
        let p = self.visible_filing(&mut tx, actor, parent_id).await?;
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
        self.commit(tx).await?;
        Ok(f)
    }

    /// Performs a state transition. `submit` is refused while a blocking
    /// pre-check fails; `approve` over a failing one needs `override_reason`
    /// (audited, kept in the filing's thread); return, reject and cancel need
    /// a reason (`comment`).
    pub async fn act_full(
        &self,
        actor: &User,
        id: i64,
        action: Action,
        comment: Option<String>,
        override_reason: Option<String>,
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
        let f = self.visible_filing(&mut tx, actor, id).await?;
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
        if matches!(action, Action::Return | Action::Reject | Action::Cancel)
            && comment.as_deref().is_none_or(|c| c.trim().is_empty())
        {
            return Err(RegistryError::invalid(
                "comment",
                "a reason is required to return, reject or cancel",
            ));
        }
        let guard = self
            .guard(&mut tx, &f, action, override_reason.as_deref())
            .await?;
        let ts = now();
        let today = today_cn();
        let mut number_issued: Option<String> = None;
        let checks = guard.checks.clone().unwrap_or_else(|| f.checks.clone());
        let mut submitted_on = f.submitted_on.clone();
        match (action, to) {
            (Action::Submit, _) => {
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
            json!({"from": f.status, "to": to, "comment": comment, "number": number_issued,
                "override_reason": guard.override_reason, "failing_checks": guard.failing}),
        )
        .await?;
        self.record_event(&mut tx, actor, id, action, comment.as_deref(), &guard)
            .await?;
        self.commit(tx).await?;
        if matches!(action, Action::Approve | Action::Cancel) {
            self.register_changed().await;
        }
        Ok(nf)
    }

    pub(super) async fn issue_number(
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
}

impl Store {
    /// A national reviewer's decision to review a filing in a province other
    /// than its organisation's (the only way a filing's province departs
    /// from its organisation's). Only before a number is issued (submitted,
    /// in review or returned); the reason is required. Audited as
    /// `filing.province` (from, to, reason) and kept in the filing's event
    /// thread (`province`).
    pub async fn set_filing_province(
        &self,
        actor: &User,
        id: i64,
        province: &str,
        reason: &str,
    ) -> Result<Filing> {
        let to = province::canonical(province.trim())
            .ok_or_else(|| {
                RegistryError::invalid("province", format!("unknown province {province:?}"))
            })?
            .to_string();
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        let f = self.visible_filing(&mut tx, actor, id).await?;
        if actor.role != Role::NationalReviewer {
            return Err(RegistryError::Forbidden(
                "only a national reviewer decides a filing's province".into(),
            ));
        }
        require_nonempty("reason", reason, 2000)?;
        if f.number.is_some()
            || !matches!(
                f.status,
                Status::Submitted
                    | Status::ProvincialReview
                    | Status::NationalReview
                    | Status::Returned
            )
        {
            return Err(RegistryError::Conflict(format!(
                "filing {id} is {}: its province can change only before a number is issued",
                f.status.as_str()
            )));
        }
        if f.province == to {
            return Ok(f);
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE filings SET province = $1, updated_at = $2 WHERE id = $3 RETURNING {FILING_COLS}"
        )))
        .bind(&to)
        .bind(now())
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let nf = filing_from_row(&row)?;
        sqlx::query("INSERT INTO filing_events (filing_id, at, actor, role, action, body, override_reason, failing) VALUES ($1,$2,$3,$4,$5,$6,NULL,'[]')")
            .bind(id)
            .bind(now())
            .bind(actor_name(Some(actor)))
            .bind(actor.role.as_str())
            .bind("province")
            .bind(format!("{} → {}: {}", f.province, to, reason.trim()))
            .execute(&mut *tx)
            .await?;
        self.audit(
            &mut tx,
            &actor_name(Some(actor)),
            "filing.province",
            &format!("filing:{id}"),
            json!({"from": f.province, "to": to, "reason": reason.trim()}),
        )
        .await?;
        self.commit(tx).await?;
        Ok(nf)
    }
}
