//! The lexicon cache's place and identity for this binary
//! (`beian_scan::lexicon_cache` does the rest).
//!
//! `BEIAN_LEXICON_CACHE`: a directory, or `0` / `off` / `false` / `no` for
//! no cache. Unset: `$XDG_CACHE_HOME/beian/lexicons`, else
//! `$HOME/.cache/beian/lexicons`, else no cache.

use std::path::PathBuf;
use std::thread::JoinHandle;

use beian_scan::LexiconCache;
use beian_scan::lexicon_cache::CacheWriteError;

/// The cache a command uses, and whether the user chose its place.
pub struct Cache {
    pub cache: LexiconCache,
    /// `BEIAN_LEXICON_CACHE` named the directory: a failed write is then
    /// worth a line on stderr (in the default place it is not: a read-only
    /// home only means no cache).
    explicit: bool,
}

/// The cache from the environment; `None` when `off` (the command's
/// `--no-lexicon-cache`) or turned off or placeless.
pub fn from_env(off: bool) -> Option<Cache> {
    if off {
        return None;
    }
    let (dir, explicit) = match std::env::var_os("BEIAN_LEXICON_CACHE") {
        Some(v) if v.is_empty() => return None,
        Some(v) => {
            let s = v.to_string_lossy().to_ascii_lowercase();
            if ["0", "off", "false", "no"].contains(&s.as_str()) {
                return None;
            }
            (PathBuf::from(v), true)
        }
        None => {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME")
                        .filter(|v| !v.is_empty())
                        .map(|h| PathBuf::from(h).join(".cache"))
                })?;
            (base.join("beian").join("lexicons"), false)
        }
    };
    Some(Cache {
        cache: LexiconCache::new(dir, build_id()),
        explicit,
    })
}

/// This binary: its version, and its path, size and modification time
/// (a rebuilt or replaced binary may load lexicons differently).
fn build_id() -> String {
    let exe = std::env::current_exe().ok();
    let meta = exe.as_ref().and_then(|p| std::fs::metadata(p).ok());
    let mtime = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!(
        "beian {} {} {} {mtime}",
        env!("CARGO_PKG_VERSION"),
        exe.map(|p| p.display().to_string()).unwrap_or_default(),
        meta.map_or(0, |m| m.len()),
    )
}

impl Cache {
    /// Waits for a cache entry being written; a failure is one line on
    /// stderr where the user named the directory, else silent.
    pub fn finish(&self, w: JoinHandle<Result<PathBuf, CacheWriteError>>, cmd: &str) {
        match w.join() {
            Ok(Err(e)) if self.explicit => {
                eprintln!(
                    "{cmd}: warning: {e} (the scan is complete; the next run builds the engine again)"
                );
            }
            _ => {}
        }
    }
}
