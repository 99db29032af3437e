//! The lexicon cache's place and identity for this binary
//! (`beian_scan::lexicon_cache` does the rest).
//!
//! The place: `beian_scan::lexicon_cache::dir_from_env` (`BEIAN_LEXICON_CACHE`,
//! `XDG_CACHE_HOME`, `HOME`); the identity: this binary's version, path, size
//! and modification time.

use std::path::PathBuf;
use std::process::ExitCode;
use std::thread::JoinHandle;

use anyhow::Context;
use beian_scan::LexiconCache;
use beian_scan::lexicon_cache::{CacheWriteError, DEFAULT_KEEP};

use super::Format;

/// The cache a command uses, and whether the user chose its place.
pub struct Cache {
    pub cache: LexiconCache,
    /// `BEIAN_LEXICON_CACHE` named the directory: a failed write is then
    /// worth a line on stderr (in the default place it is not: a read-only
    /// home only means no cache).
    explicit: bool,
}

/// The cache from the environment (`beian_scan::lexicon_cache::dir_from_env`);
/// `None` when `off` (the command's `--no-lexicon-cache`) or turned off or
/// placeless, or where this binary's file cannot be looked at.
pub fn from_env(off: bool) -> Option<Cache> {
    if off {
        return None;
    }
    let (dir, explicit) = beian_scan::lexicon_cache::dir_from_env().ok()?;
    // This binary: its version, and its path, size and modification time
    // (a rebuilt or replaced binary may load lexicons differently).
    let build = beian_scan::lexicon_cache::build_of(
        concat!("beian ", env!("CARGO_PKG_VERSION")),
        &std::env::current_exe().ok()?,
    )?;
    Some(Cache {
        cache: LexiconCache::new(dir, build),
        explicit,
    })
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

#[derive(clap::Args)]
pub struct CacheArgs {
    /// Remove every entry (files of other names in the directory are left).
    #[arg(long)]
    pub clear: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// `beian lexicon cache`.
pub fn run(a: &CacheArgs) -> anyhow::Result<ExitCode> {
    let Some(c) = from_env(false) else {
        let why = beian_scan::lexicon_cache::dir_from_env()
            .err()
            .unwrap_or("off");
        if a.format == Format::Json {
            let v = serde_json::json!({ "dir": null, "off": why, "entries": [] });
            super::emit(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
        } else {
            super::emit(&format!("lexicon cache: off ({why})\n"))?;
        }
        return Ok(ExitCode::SUCCESS);
    };
    let dir = c.cache.dir().to_owned();
    if a.clear {
        let n = c
            .cache
            .clear()
            .with_context(|| format!("clearing the lexicon cache {}", dir.display()))?;
        if a.format == Format::Json {
            let v = serde_json::json!({ "dir": dir, "removed": n });
            super::emit(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
        } else {
            super::emit(&format!(
                "lexicon cache {}: {n} entr{} removed\n",
                dir.display(),
                if n == 1 { "y" } else { "ies" }
            ))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let entries = c
        .cache
        .entries()
        .with_context(|| format!("reading the lexicon cache {}", dir.display()))?;
    if a.format == Format::Json {
        let v = serde_json::json!({ "dir": dir, "keep": DEFAULT_KEEP, "entries": entries });
        super::emit(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
        return Ok(ExitCode::SUCCESS);
    }
    let total: u64 = entries.iter().map(|e| e.bytes).sum();
    let mut o = String::new();
    outln!(
        o,
        "lexicon cache {}: {} entr{}, {:.1} MiB (at most {DEFAULT_KEEP} kept)",
        dir.display(),
        entries.len(),
        if entries.len() == 1 { "y" } else { "ies" },
        total as f64 / f64::from(1u32 << 20)
    );
    for e in &entries {
        let used = e
            .last_used_unix
            .and_then(|s| chrono::DateTime::from_timestamp(i64::try_from(s).ok()?, 0))
            .map_or_else(
                || "?".to_owned(),
                |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
            );
        let name = e
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let from = match e.lexicons.as_slice() {
            [] => "(description unreadable)".to_owned(),
            [one] => one.clone(),
            [first, rest @ ..] => format!("{first} and {} more", rest.len()),
        };
        outln!(
            o,
            "  {}  {:>6.1} MiB  used {used}  {}  {from}{}",
            name.get(..12).unwrap_or(&name),
            e.bytes as f64 / f64::from(1u32 << 20),
            if e.this_build {
                "this build   "
            } else {
                "another build"
            },
            if e.allow.is_empty() {
                String::new()
            } else {
                format!(" (allow: {})", e.allow.join(", "))
            }
        );
    }
    super::emit(&o)?;
    Ok(ExitCode::SUCCESS)
}
