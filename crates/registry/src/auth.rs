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

/// The bundled list of common passwords (see `data/common-passwords.txt`).
static COMMON: &str = include_str!("../data/common-passwords.txt");

/// Is `password` (case-insensitively) one of the 10,000 most common passwords?
pub fn is_common_password(password: &str) -> bool {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    let set = SET.get_or_init(|| {
        COMMON
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    });
    set.contains(password.trim().to_lowercase().as_str())
}

/// Failed sign-ins per (username, client IP): after
/// [`LoginLimiter::MAX_FAILURES`] within [`LoginLimiter::WINDOW`] that pair
/// is refused until the window ends, so nobody can lock an account out from
/// their own address. An attempt reserves its place before the password is
/// checked, so concurrent attempts cannot slip past the limit.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Slot>>,
}

#[derive(Clone, Copy)]
struct Slot {
    failures: u32,
    in_flight: u32,
    since: Instant,
}

impl LoginLimiter {
    pub const MAX_FAILURES: u32 = 5;
    pub const WINDOW: Duration = Duration::from_secs(300);

    /// The limiter key of a username and an address.
    pub fn key(username: &str, ip: Option<std::net::IpAddr>) -> String {
        match ip {
            Some(ip) => format!("{username}\u{0}{ip}"),
            None => format!("{username}\u{0}-"),
        }
    }

    /// Reserves an attempt for `key`, or refuses when failures plus
    /// attempts in flight reach the limit within the window.
    pub fn begin(&self, key: &str) -> Result<()> {
        let mut map = self
            .failures
            .lock()
            .map_err(|_| RegistryError::RateLimited("limiter poisoned".into()))?;
        if map.len() > 100_000 {
            map.retain(|_, s| s.in_flight > 0 || s.since.elapsed() < Self::WINDOW);
        }
        let s = map.entry(key.to_string()).or_insert(Slot {
            failures: 0,
            in_flight: 0,
            since: Instant::now(),
        });
        if s.since.elapsed() >= Self::WINDOW && s.in_flight == 0 {
            *s = Slot {
                failures: 0,
                in_flight: 0,
                since: Instant::now(),
            };
        }
        if s.failures + s.in_flight >= Self::MAX_FAILURES {
            let wait = Self::WINDOW
                .saturating_sub(s.since.elapsed())
                .as_secs()
                .max(1);
            return Err(RegistryError::RateLimited(format!(
                "{} failed sign-ins for this user from this address; try again in {wait} s",
                s.failures
            )));
        }
        s.in_flight += 1;
        Ok(())
    }

    /// Ends an attempt begun with [`LoginLimiter::begin`].
    pub fn finish(&self, key: &str, ok: bool) {
        if let Ok(mut map) = self.failures.lock()
            && let Some(s) = map.get_mut(key)
        {
            s.in_flight = s.in_flight.saturating_sub(1);
            if ok {
                s.failures = 0;
            } else {
                if s.failures == 0 {
                    s.since = Instant::now();
                }
                s.failures += 1;
            }
        }
    }

    /// Refuses when the key is over the limit (without reserving).
    pub fn check(&self, key: &str) -> Result<()> {
        self.begin(key)?;
        if let Ok(mut map) = self.failures.lock()
            && let Some(s) = map.get_mut(key)
        {
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        Ok(())
    }

    /// Records a failure.
    pub fn failed(&self, key: &str) {
        if self.begin(key).is_ok() {
            self.finish(key, false);
        } else if let Ok(mut map) = self.failures.lock()
            && let Some(s) = map.get_mut(key)
        {
            s.failures += 1;
        }
    }

    /// Clears failures after a success.
    pub fn succeeded(&self, key: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(key);
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
    fn common_passwords() {
        assert!(is_common_password("password123"));
        assert!(is_common_password("QwertyUIOP"));
        assert!(!is_common_password("ochre-lantern-47-quietly"));
    }

    #[test]
    fn concurrent_attempts_cannot_pass_the_limit() {
        let l = LoginLimiter::default();
        let k = LoginLimiter::key("a", None);
        // 7 attempts in flight at once: only 5 get a place
        let ok = (0..7).filter(|_| l.begin(&k).is_ok()).count();
        assert_eq!(ok, LoginLimiter::MAX_FAILURES as usize);
        for _ in 0..ok {
            l.finish(&k, false);
        }
        assert!(l.begin(&k).is_err());
        // another address for the same user is not locked out
        assert!(
            l.begin(&LoginLimiter::key("a", Some([10, 0, 0, 2].into())))
                .is_ok()
        );
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
