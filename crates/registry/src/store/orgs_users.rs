//! Organisations, users, sessions and API tokens.

use super::*;

/// Days an API token is valid unless asked otherwise.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;
use crate::audit;

impl Store {
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
        self.commit(tx).await?;
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
        if auth::is_common_password(&new.password)
            || new.password.trim().eq_ignore_ascii_case(uname)
        {
            return Err(RegistryError::invalid(
                "password",
                "too common: it is among the 10,000 most used passwords (or is the username)",
            ));
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
        let pw = new.password.clone();
        let hash = self.blocking(move || auth::hash_password(&pw)).await??;
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
        self.commit(tx).await?;
        Ok(user)
    }

    pub(super) async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let row =
            sqlx::query("SELECT id, username, role, org_id, province FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Checks a password (rate-limited per username) and opens a session.
    pub async fn login(&self, username: &str, password: &str) -> Result<NewSession> {
        self.login_from(username, password, None).await
    }

    /// Signs in from a client address: failures are counted per (username,
    /// address), and the password is checked on a bounded blocking pool, never
    /// on the async workers.
    pub async fn login_from(
        &self,
        username: &str,
        password: &str,
        ip: Option<std::net::IpAddr>,
    ) -> Result<NewSession> {
        let key = auth::LoginLimiter::key(username, ip);
        self.logins.begin(&key)?;
        let res = self.check_password(username, password).await;
        let ok = matches!(res, Ok(Some(_)));
        self.logins.finish(&key, ok);
        let row = match res {
            Ok(r) => r,
            Err(e) => return Err(e),
        };
        let Some(id) = row else {
            let known = sqlx::query("SELECT id FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?
                .is_some();
            self.audit_login_failure(
                username,
                if known {
                    "wrong password"
                } else {
                    "unknown user"
                },
            )
            .await?;
            return Err(RegistryError::Unauthenticated(
                "wrong username or password".into(),
            ));
        };
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
        self.commit(tx).await?;
        Ok(NewSession { token, csrf, user })
    }

    /// Checks a password on the blocking pool (at most as many at once as
    /// there are CPUs); `Some(user id)` when it matches.
    async fn check_password(&self, username: &str, password: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT id, password_hash FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        let (id, phc) = match &row {
            Some(r) => (Some(get_i(r, "id")?), Some(get_s(r, "password_hash")?)),
            None => (None, None),
        };
        let password = password.to_string();
        let ok = self
            .blocking(move || match phc {
                Some(h) => auth::verify_password(&password, &h),
                None => {
                    auth::burn_time();
                    false
                }
            })
            .await?;
        Ok(id.filter(|_| ok))
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

    /// Issues an API token for `user` (returned once, stored hashed), valid
    /// for [`DEFAULT_TOKEN_DAYS`] days.
    pub async fn create_api_token(&self, user: &User, name: &str) -> Result<String> {
        self.create_api_token_for(user, name, None).await
    }

    /// Issues an API token valid for `days` (1–365; default 90).
    pub async fn create_api_token_for(
        &self,
        user: &User,
        name: &str,
        days: Option<u32>,
    ) -> Result<String> {
        require_nonempty("name", name, 100)?;
        let days = days.unwrap_or(DEFAULT_TOKEN_DAYS);
        if !(1..=365).contains(&days) {
            return Err(RegistryError::invalid("expires_in_days", "1 to 365"));
        }
        let token = auth::random_token("beian");
        let expires = (chrono::Utc::now() + chrono::Duration::days(i64::from(days))).to_rfc3339();
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO api_tokens (token_hash, user_id, name, created_at, expires_at) VALUES ($1,$2,$3,$4,$5)",
        )
        .bind(audit::sha256_hex(token.as_bytes()))
        .bind(user.id)
        .bind(name)
        .bind(now())
        .bind(&expires)
        .execute(&mut *tx)
        .await?;
        self.audit(
            &mut tx,
            &actor_name(Some(user)),
            "token.create",
            &format!("user:{}", user.id),
            json!({"name": name, "expires_at": expires}),
        )
        .await?;
        self.commit(tx).await?;
        Ok(token)
    }

    /// Revokes an API token of `user` (its owner signing out, say).
    pub async fn revoke_api_token(&self, user: &User, token: &str) -> Result<bool> {
        let _g = self.lock().await;
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE token_hash = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(now())
            .bind(audit::sha256_hex(token.as_bytes()))
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Ok(false);
        }
        self.audit(
            &mut tx,
            &actor_name(Some(user)),
            "token.revoke",
            &format!("user:{}", user.id),
            json!({}),
        )
        .await?;
        self.commit(tx).await?;
        Ok(true)
    }

    /// The user of an API token.
    pub async fn token_user(&self, token: &str) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT user_id, expires_at, revoked_at FROM api_tokens WHERE token_hash = $1",
        )
        .bind(audit::sha256_hex(token.as_bytes()))
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        if get_os(&r, "revoked_at")?.is_some() {
            return Ok(None);
        }
        if let Some(exp) = get_os(&r, "expires_at")?
            && exp < chrono::Utc::now().to_rfc3339()
        {
            return Ok(None);
        }
        self.user_by_id(get_i(&r, "user_id")?).await
    }
}
