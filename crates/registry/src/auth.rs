//! Passwords (argon2id, PHC strings), random tokens and the login rate limiter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{RegistryError, Result};

fn argon() -> Argon2<'static> {
    // OWASP minimum for argon2id: m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Random bytes from the OS.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // getrandom only fails if the OS has no entropy source at all.
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (i, x) in b.iter_mut().enumerate() {
            *x = (t >> ((i % 16) * 8)) as u8 ^ i as u8;
        }
    }
    b
}

/// Hashes a password into a PHC string (argon2id).
pub fn hash_password(password: &str) -> Result<String> {
    let salt_bytes = random_bytes::<16>();
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| RegistryError::Crypto(e.to_string()))?;
    argon()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| RegistryError::Crypto(e.to_string()))
}

/// Verifies a password against a PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| argon().verify_password(password.as_bytes(), &h).is_ok())
}

/// Spends about as long as a verification (unknown users look like known ones).
pub fn burn_time() {
    let _ = hash_password("timing-equaliser");
}

/// A random token: `prefix_` + 64 hex characters.
pub fn random_token(prefix: &str) -> String {
    format!("{prefix}_{}", crate::audit::hex(&random_bytes::<32>()))
}

/// At most [`LoginLimiter::MAX_FAILURES`] failed logins per username per window.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    pub const MAX_FAILURES: u32 = 5;
    pub const WINDOW: Duration = Duration::from_secs(300);

    /// Refuses when the username has too many recent failures.
    pub fn check(&self, username: &str) -> Result<()> {
        let map = self
            .failures
            .lock()
            .map_err(|_| RegistryError::RateLimited("limiter poisoned".into()))?;
        if let Some((n, since)) = map.get(username)
            && *n >= Self::MAX_FAILURES
            && since.elapsed() < Self::WINDOW
        {
            return Err(RegistryError::RateLimited(format!(
                "{n} failed logins for this user; try again in {} s",
                (Self::WINDOW - since.elapsed()).as_secs()
            )));
        }
        Ok(())
    }

    /// Records a failure.
    pub fn failed(&self, username: &str) {
        if let Ok(mut map) = self.failures.lock() {
            if map.len() > 100_000 {
                map.retain(|_, (_, t)| t.elapsed() < Self::WINDOW);
            }
            let e = map
                .entry(username.to_string())
                .or_insert((0, Instant::now()));
            if e.1.elapsed() >= Self::WINDOW {
                *e = (0, Instant::now());
            }
            e.0 += 1;
        }
    }

    /// Clears failures after a success.
    pub fn succeeded(&self, username: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(username);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn limiter() {
        let l = LoginLimiter::default();
        for _ in 0..LoginLimiter::MAX_FAILURES {
            assert!(l.check("a").is_ok());
            l.failed("a");
        }
        assert!(matches!(l.check("a"), Err(RegistryError::RateLimited(_))));
        assert!(l.check("b").is_ok());
    }
}
