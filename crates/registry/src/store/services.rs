//! Services and their filing deadlines.

use super::*;

impl Store {
    pub(super) fn acting_org(actor: &User, requested: Option<i64>) -> Result<i64> {
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
        self.commit(tx).await?;
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
        self.commit(tx).await?;
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
}
