//! Workflow guardrails: live pre-checks, the refusal of a submission while a
//! blocking check fails, approval over failing checks only with an override
//! reason, the thread of a filing (returns, replies, rejections,
//! cancellations, overrides), and deadlines from the filing kinds a
//! service's classification calls for.

use super::*;

/// Who acts when no signed-in user does (`None` actor): `cli:<user running
/// it>` once the command line sets it, else `anonymous`.
static SYSTEM_ACTOR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Records actions of this process without a signed-in user as
/// `cli:<user>` (the operating-system user running the command line).
pub fn set_cli_actor(os_user: &str) {
    let name: String = os_user
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    let _ = SYSTEM_ACTOR.set(format!(
        "cli:{}",
        if name.is_empty() { "unknown" } else { &name }
    ));
}

/// The actor recorded for actions without a signed-in user.
pub(crate) fn system_actor() -> String {
    SYSTEM_ACTOR
        .get()
        .cloned()
        .unwrap_or_else(|| "anonymous".to_string())
}

/// What the guard decided for one transition.
pub(crate) struct Guard {
    /// Fresh checklist (submit and approve), stored on the filing.
    pub checks: Option<Value>,
    /// Blocking checks failing now.
    pub failing: Vec<String>,
    /// The override reason, kept only when it overrode something.
    pub override_reason: Option<String>,
}

impl Store {
    /// Audits a failed sign-in (unknown user or wrong password) in its own
    /// transaction; the password is never recorded.
    pub(crate) async fn audit_login_failure(&self, username: &str, why: &str) -> Result<()> {
        let name: String = username.chars().take(64).collect();
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        self.audit(
            &mut tx,
            "anonymous",
            "session.login.failed",
            &format!("username:{name}"),
            json!({"reason": why}),
        )
        .await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Audits a refused read of something that exists but is not visible
    /// to `actor` (answered 404, like a missing record).
    pub(crate) async fn audit_refused_read(&self, actor: &User, subject: &str) -> Result<()> {
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        self.audit(
            &mut tx,
            &actor_name(Some(actor)),
            "read.refused",
            subject,
            json!({"role": actor.role}),
        )
        .await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Whether a provincial reviewer's province is the service's (its
    /// organisation's, or that of one of its filings past draft); everyone
    /// else who may see services at all: yes.
    pub(crate) async fn service_in_scope(&self, actor: &User, s: &Service) -> Result<bool> {
        if actor.role != Role::ProvincialReviewer {
            return Ok(true);
        }
        let prov = actor.province.clone().unwrap_or_default();
        let org = sqlx::query("SELECT province FROM organisations WHERE id = $1")
            .bind(s.org_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| get_s(&r, "province"))
            .transpose()?;
        if org.as_deref() == Some(prov.as_str()) {
            return Ok(true);
        }
        Ok(sqlx::query(
            "SELECT id FROM filings WHERE service_id = $1 AND province = $2 AND status <> 'draft'",
        )
        .bind(s.id)
        .bind(&prov)
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }

    /// A service as a page or API read: provider users see their
    /// organisation's, provincial reviewers those of their province (the
    /// organisation's, or one of a filing they may review), national
    /// reviewers and auditors all. Reads by reviewers and auditors are
    /// audited; refused reads are 404 and audited.
    pub async fn read_service(&self, actor: &User, id: i64) -> Result<Service> {
        let s = match self.get_service(actor, id).await {
            Ok(s) => s,
            Err(RegistryError::NotFound(m)) => {
                let exists = sqlx::query("SELECT id FROM services WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?
                    .is_some();
                if exists {
                    self.audit_refused_read(actor, &format!("service:{id}"))
                        .await?;
                }
                return Err(RegistryError::NotFound(m));
            }
            Err(e) => return Err(e),
        };
        if actor.role.is_provider() {
            return Ok(s);
        }
        if !self.service_in_scope(actor, &s).await? {
            self.audit_refused_read(actor, &format!("service:{id}"))
                .await?;
            return Err(RegistryError::NotFound(format!("service {id}")));
        }
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        self.audit(
            &mut tx,
            &actor_name(Some(actor)),
            "service.read",
            &format!("service:{id}"),
            json!({}),
        )
        .await?;
        self.commit(tx).await?;
        Ok(s)
    }

    /// Replaces a service's profile (its organisation's provider users),
    /// re-classifies it and returns the service before and after, so the
    /// caller can show what changed in the obligations. Audited with the
    /// filing kinds before and after.
    pub async fn update_service_profile(
        &self,
        actor: &User,
        id: i64,
        name: &str,
        profile: Value,
        launched_on: Option<String>,
    ) -> Result<(Service, Service)> {
        require_nonempty("name", name, 200)?;
        check_date("launched_on", &launched_on)?;
        let old = self.get_service(actor, id).await?;
        if !actor.role.is_provider() {
            return Err(RegistryError::Forbidden(
                "only the service's organisation edits its profile".into(),
            ));
        }
        let mut profile = if profile.is_null() {
            json!({})
        } else {
            profile
        };
        let Some(obj) = profile.as_object_mut() else {
            return Err(RegistryError::invalid("profile", "must be a JSON object"));
        };
        obj.entry("name")
            .or_insert_with(|| Value::String(name.trim().to_string()));
        let classification = crate::classify::classify_profile(&profile)
            .map_err(|(field, message)| RegistryError::Invalid { field, message })?;
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("UPDATE services SET name = $1, profile = $2, classification = $3, launched_on = $4 WHERE id = $5 RETURNING id, org_id, name, profile, classification, launched_on, stopped_on, changed_on")
            .bind(name.trim())
            .bind(profile.to_string())
            .bind(classification.to_string())
            .bind(launched_on.or(old.launched_on.clone()))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let new = service_from_row(&row)?;
        self.audit(
            &mut tx,
            &actor_name(Some(actor)),
            "service.profile.update",
            &format!("service:{id}"),
            json!({
                "filings_before": crate::classify::required_kinds(&old.classification),
                "filings_after": crate::classify::required_kinds(&new.classification),
            }),
        )
        .await?;
        self.commit(tx).await?;
        Ok((old, new))
    }

    /// Moves a filing through the state machine (see [`Store::act_full`]);
    /// approval over failing blocking pre-checks is refused here.
    pub async fn act(
        &self,
        actor: &User,
        id: i64,
        action: Action,
        comment: Option<String>,
    ) -> Result<Filing> {
        self.act_full(actor, id, action, comment, None).await
    }

    /// The pre-checks of a filing computed now (drafts included), without
    /// storing them: the live checklist a provider works through.
    pub async fn live_checks(&self, actor: &User, id: i64) -> Result<Value> {
        let mut conn = self.pool.acquire().await?;
        let f = self.visible_filing(&mut conn, actor, id).await?;
        precheck::run(self, &mut conn, &f).await
    }

    /// Runs the pre-checks a transition needs and refuses it when a blocking
    /// check fails: `submit` always, `approve` unless an override reason is given.
    pub(crate) async fn guard(
        &self,
        conn: &mut AnyConnection,
        f: &Filing,
        action: Action,
        override_reason: Option<&str>,
    ) -> Result<Guard> {
        let reason = override_reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string);
        if let Some(r) = &reason
            && r.chars().count() > 4000
        {
            return Err(RegistryError::invalid(
                "override_reason",
                "longer than 4000 characters",
            ));
        }
        if !matches!(action, Action::Submit | Action::Approve) {
            return Ok(Guard {
                checks: None,
                failing: Vec::new(),
                override_reason: None,
            });
        }
        let checks = precheck::run(self, conn, f).await?;
        let failing = precheck::blocking_failures(&checks);
        if !failing.is_empty() && (action == Action::Submit || reason.is_none()) {
            return Err(RegistryError::ChecksFailed(failing));
        }
        Ok(Guard {
            checks: Some(checks),
            override_reason: reason.filter(|_| !failing.is_empty()),
            failing,
        })
    }

    /// Appends the transition to the filing's thread when it carries words:
    /// a return, reject or cancel reason, a provider's reply on resubmission,
    /// or an approval over failing checks.
    pub(crate) async fn record_event(
        &self,
        conn: &mut AnyConnection,
        actor: &User,
        filing_id: i64,
        action: Action,
        comment: Option<&str>,
        guard: &Guard,
    ) -> Result<()> {
        let body = comment.map(str::trim).unwrap_or("");
        let kind = match action {
            Action::Submit if !body.is_empty() => "reply",
            Action::Return => "return",
            Action::Reject => "reject",
            Action::Cancel => "cancel",
            Action::Approve if guard.override_reason.is_some() || !body.is_empty() => "approve",
            _ => return Ok(()),
        };
        sqlx::query("INSERT INTO filing_events (filing_id, at, actor, role, action, body, override_reason, failing) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)")
            .bind(filing_id)
            .bind(now())
            .bind(actor_name(Some(actor)))
            .bind(actor.role.as_str())
            .bind(kind)
            .bind(body)
            .bind(guard.override_reason.clone())
            .bind(serde_json::to_string(&guard.failing).unwrap_or_else(|_| "[]".into()))
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// The thread of a filing, oldest first (whoever may see the filing).
    pub async fn filing_events(&self, actor: &User, id: i64) -> Result<Vec<FilingEvent>> {
        let mut conn = self.pool.acquire().await?;
        self.visible_filing(&mut conn, actor, id).await?;
        let rows = sqlx::query("SELECT id, filing_id, at, actor, role, action, body, override_reason, failing FROM filing_events WHERE filing_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(FilingEvent {
                    id: get_i(r, "id")?,
                    filing_id: get_i(r, "filing_id")?,
                    at: get_s(r, "at")?,
                    actor: get_s(r, "actor")?,
                    role: get_s(r, "role")?,
                    action: get_s(r, "action")?,
                    body: get_s(r, "body")?,
                    override_reason: get_os(r, "override_reason")?,
                    failing: serde_json::from_str(&get_s(r, "failing")?).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Deadlines of a service: one per filing kind its classification calls
    /// for (before launch for generative-AI filings and registrations, N
    /// working days after launch where the knowledge base gives N), then the
    /// change and cancellation deadlines. `met` means the required filing
    /// exists and was submitted in time; a missing filing is `missing`.
    pub async fn filing_deadlines(&self, actor: &User, id: i64) -> Result<Vec<FilingDeadline>> {
        let s = self.get_service(actor, id).await?;
        if !self.service_in_scope(actor, &s).await? {
            return Err(RegistryError::NotFound(format!("service {id}")));
        }
        let rows = sqlx::query(
            "SELECT id, kind, status, submitted_on, purpose, updated_at FROM filings WHERE service_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        struct F {
            id: i64,
            kind: String,
            status: String,
            submitted_on: Option<String>,
            purpose: String,
            updated_at: String,
        }
        let mut fs = Vec::new();
        for r in &rows {
            fs.push(F {
                id: get_i(r, "id")?,
                kind: get_s(r, "kind")?,
                status: get_s(r, "status")?,
                submitted_on: get_os(r, "submitted_on")?,
                purpose: get_s(r, "purpose")?,
                updated_at: get_s(r, "updated_at")?,
            });
        }
        let parse = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
        let today = today_cn();
        let launch = s
            .launched_on
            .as_deref()
            .or_else(|| s.profile.get("launch_date").and_then(Value::as_str))
            .and_then(parse);
        let kb = beian_kb::Kb::embedded().ok();
        let defs = kb
            .as_ref()
            .and_then(|kb| kb.regime(crate::classify::REGIME))
            .map(|r| r.filings.clone())
            .unwrap_or_default();
        // filing kinds and their working days, in classification order
        let mut required: Vec<(String, Option<u32>)> = Vec::new();
        let report_filings = s
            .classification
            .pointer("/report/results/0/filings")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for f in &report_filings {
            let Some(kind) = f.get("kind").and_then(Value::as_str) else {
                continue;
            };
            let fid = f.get("id").and_then(Value::as_str).unwrap_or("");
            let wd = defs
                .iter()
                .find(|d| d.id == fid)
                .and_then(|d| d.deadline_working_days);
            match required.iter_mut().find(|(k, _)| k == kind) {
                Some(r) => r.1 = r.1.min(wd).or(r.1).or(wd),
                None => required.push((kind.to_string(), wd)),
            }
        }
        if report_filings.is_empty() {
            for k in crate::classify::required_kinds(&s.classification).unwrap_or_default() {
                let wd = defs
                    .iter()
                    .find(|d| d.kind == k)
                    .and_then(|d| d.deadline_working_days);
                required.push((k, wd));
            }
        }
        let mut out = Vec::new();
        for (kind, wd) in required {
            let (due, exact) = match (launch, wd) {
                (Some(l), Some(n)) => {
                    let (d, exact) = crate::calendar::add_working_days(l, n)
                        .map_err(|e| RegistryError::invalid("date", e))?;
                    (Some(d), exact)
                }
                (Some(l), None) => (Some(l), true),
                (None, _) => (None, true),
            };
            let mine: Vec<&F> = fs
                .iter()
                .filter(|f| f.kind == kind && f.purpose == "initial")
                .collect();
            let submitted = mine
                .iter()
                .filter(|f| f.submitted_on.is_some())
                .min_by_key(|f| f.submitted_on.clone());
            let answer = submitted.or(mine.last());
            let (state, met) = match answer {
                None => ("missing", false),
                Some(f) => {
                    let on = f.submitted_on.as_deref().and_then(parse);
                    match (f.status.as_str(), on, due) {
                        ("draft", _, _) | (_, None, _) => ("not-submitted", false),
                        ("returned", _, _) => ("returned", false),
                        ("rejected", _, _) => ("rejected", false),
                        (_, Some(on), Some(due)) if on <= due => ("met", true),
                        (_, Some(_), Some(_)) => ("late", false),
                        (_, Some(_), None) => ("pending", false),
                    }
                }
            };
            let state = if due.is_none() && state != "met" && state != "late" {
                if answer.is_none() { "missing" } else { state }
            } else {
                state
            };
            out.push(FilingDeadline {
                kind: if wd.is_some() {
                    "file-after-launch"
                } else {
                    "file-before-launch"
                }
                .to_string(),
                filing_kind: Some(kind.clone()),
                filing_id: answer.map(|f| f.id),
                from: launch.map(|d| d.to_string()).unwrap_or_default(),
                working_days: wd.unwrap_or(0),
                due: due.map(|d| d.to_string()).unwrap_or_default(),
                state: state.to_string(),
                met,
                overdue: !met && state != "late" && due.is_some_and(|d| today > d),
                calendar: if exact { "prc" } else { "weekends-only" }.to_string(),
            });
        }
        // change and cancellation deadlines
        let mk = |kind: &str,
                  from: chrono::NaiveDate,
                  n: u32,
                  met_on: Option<chrono::NaiveDate>|
         -> Result<FilingDeadline> {
            let (due, exact) = crate::calendar::add_working_days(from, n)
                .map_err(|e| RegistryError::invalid("date", e))?;
            let met = met_on.is_some_and(|d| d <= due);
            let state = match met_on {
                Some(_) if met => "met",
                Some(_) => "late",
                None => "missing",
            };
            Ok(FilingDeadline {
                kind: kind.into(),
                filing_kind: None,
                filing_id: None,
                from: from.to_string(),
                working_days: n,
                due: due.to_string(),
                state: state.into(),
                met,
                overdue: met_on.is_none() && today > due,
                calendar: if exact { "prc" } else { "weekends-only" }.to_string(),
            })
        };
        if let Some(c) = check_date("changed_on", &s.changed_on)? {
            let met_on = fs
                .iter()
                .filter(|f| f.purpose == "change")
                .filter_map(|f| f.submitted_on.as_deref().and_then(parse))
                .filter(|d| *d >= c)
                .min();
            out.push(mk("change", c, 10, met_on)?);
        }
        if let Some(st) = check_date("stopped_on", &s.stopped_on)? {
            let cancelled = fs
                .iter()
                .filter(|f| f.status == "cancelled")
                .filter_map(|f| parse(&f.updated_at.chars().take(10).collect::<String>()))
                .min();
            out.push(mk("cancel-after-stop", st, 20, cancelled)?);
        }
        Ok(out)
    }
}

/// A service's deadline for `f`'s kind seen from `f` itself: its state
/// comes from this filing alone (a draft is `not-submitted` even when
/// another filing of the service answers the deadline), so a filing's page
/// never borrows another filing's 已按期.
pub fn deadline_for_filing(mut d: FilingDeadline, f: &crate::Filing) -> FilingDeadline {
    let parse = |x: &str| chrono::NaiveDate::parse_from_str(x, "%Y-%m-%d").ok();
    let due = parse(&d.due);
    let on = f.submitted_on.as_deref().and_then(parse);
    let state = match (f.status.as_str(), on, due) {
        ("draft", _, _) | (_, None, _) => "not-submitted",
        ("returned", _, _) => "returned",
        ("rejected", _, _) => "rejected",
        (_, Some(on), Some(due)) if on <= due => "met",
        (_, Some(_), Some(_)) => "late",
        (_, Some(_), None) => "pending",
    };
    d.filing_id = Some(f.id);
    d.state = state.to_string();
    d.met = state == "met";
    d.overdue = !d.met && state != "late" && due.is_some_and(|x| super::today_cn() > x);
    d
}
