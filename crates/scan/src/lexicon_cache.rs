//! Engines built from source lexicons, kept on disk as compiled lexicons,
//! so that the next run with the same files loads the engine in
//! milliseconds instead of building it (konsheng: about 0.12 s to build,
//! 0.02 s to load).
//!
//! This is what `beian lexicon compile` does by hand, done for the user: a
//! corpus screened one file per process, or by many processes side by
//! side, builds the engine once.
//!
//! ```text
//!  DIR/<key>.json   what the engine was built from (the key, written out) and what the loader reported
//!  DIR/<key>.bin    the compiled lexicon (`Engine::to_compiled`)
//! ```
//!
//! Invariants:
//! - An entry is used only for the same build of the caller (the `build`
//!   string it gives, and this crate's and the engine's own fingerprints),
//!   the same matching options, `--risk`, and the same lexicon and allow
//!   files: each file the loader reads (the walk of
//!   [`crate::lexicon::lexicon_paths`]), by path as given, length and
//!   SHA-256 of its contents. An edited file is a new key whatever its
//!   modification time. `<key>` is the SHA-256 of that description, and
//!   the description in `<key>.json` must equal it as well.
//! - A `.bin` is loaded with every check of a compiled lexicon (format,
//!   engine fingerprint, checksum, options): a damaged or stale entry is a
//!   miss, rebuilt and written again, never an error.
//! - Files are written beside their final name and renamed into place,
//!   the `.json` first: a reader never sees half an entry, and processes
//!   writing the same key at once write the same bytes.
//! - At most [`LexiconCache::keep`] entries are kept, the least recently
//!   used (by modification time, refreshed on every hit) removed first.
//! - Only files named as the cache names them (`<64 hex digits>.bin`,
//!   `.json`, `….<pid>.partial`) are ever removed: a directory shared with
//!   other files loses none of them.
//! - The cache never changes what a run finds, only how its engine is made.
//!
//! The directory is trusted as the binary is: an entry is checked for
//! damage, not for who wrote it, so it must not be writable by other users.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use beian_screen::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::lexicon::{LoadedFile, lexicon_paths};
use crate::{EngineSpec, ScanError, is_compiled_file};

/// Entries kept by default.
pub const DEFAULT_KEEP: usize = 8;

/// Bumped when the files' layout or the key's meaning changes.
const CACHE_FORMAT: u32 = 1;

/// A directory of cached engines. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct LexiconCache {
    dir: PathBuf,
    build: String,
    keep: usize,
}

impl LexiconCache {
    /// A cache in `dir` (created when first written) for engines built by
    /// `build`: a string that changes whenever the program that loads the
    /// lexicons may load them differently (its version, and for a binary
    /// its path, size and modification time).
    pub fn new(dir: impl Into<PathBuf>, build: impl Into<String>) -> Self {
        LexiconCache {
            dir: dir.into(),
            build: build.into(),
            keep: DEFAULT_KEEP,
        }
    }

    /// Keep at most `n` entries (at least 1).
    pub fn keep(mut self, n: usize) -> Self {
        self.keep = n.max(1);
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry(&self, key: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{key}.{ext}"))
    }
}

/// A `build` string for [`LexiconCache::new`] naming the file a program
/// runs from (the `beian` binary, the Python extension module): `label`
/// (name and version), then the file's path, size and modification time,
/// so a rebuilt or replaced file never loads an older one's entries.
/// `None` when the file cannot be looked at: an entry could then not be
/// told from another build's, so there is no cache.
pub fn build_of(label: &str, file: &Path) -> Option<String> {
    let meta = std::fs::metadata(file).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!("{label} {} {} {mtime}", file.display(), meta.len()))
}

/// The cache's directory as the environment sets it, and whether the user
/// named it (`BEIAN_LEXICON_CACHE`); or why there is none.
///
/// `BEIAN_LEXICON_CACHE`: a directory, or `0` / `off` / `false` / `no` (or
/// empty) for none. Unset: `$XDG_CACHE_HOME/beian/lexicons`, else
/// `$HOME/.cache/beian/lexicons`, else none. The `beian` binary and the
/// Python package both follow this.
pub fn dir_from_env() -> Result<(PathBuf, bool), &'static str> {
    match std::env::var_os("BEIAN_LEXICON_CACHE") {
        Some(v) => {
            let s = v.to_string_lossy().to_ascii_lowercase();
            if s.is_empty() || ["0", "off", "false", "no"].contains(&s.as_str()) {
                return Err("BEIAN_LEXICON_CACHE turns it off");
            }
            Ok((PathBuf::from(v), true))
        }
        None => {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME")
                        .filter(|v| !v.is_empty())
                        .map(|h| PathBuf::from(h).join(".cache"))
                })
                .ok_or("neither XDG_CACHE_HOME nor HOME is set")?;
            Ok((base.join("beian").join("lexicons"), false))
        }
    }
}

/// How the engine of [`build_engine_cached`] was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheUse {
    /// Loaded from this cached compiled lexicon.
    Hit(PathBuf),
    /// Built from the source lexicons; [`Built::store`] writes it here.
    Miss(PathBuf),
    /// Built (or loaded) without the cache, and why: a compiled lexicon was
    /// given, or a lexicon file could not be read for its key (the build
    /// then reports it) or is a pipe or device, not a regular file.
    Bypassed(&'static str),
}

/// An engine, what its source files gave, and how the cache was used.
pub struct Built {
    pub engine: Engine,
    /// What each source lexicon file gave (replayed from the cache on a hit).
    pub loaded: Vec<crate::LoadedFile>,
    pub cache: CacheUse,
    /// On a miss: writes the new engine into the cache. It takes tens of
    /// milliseconds (the engine serialized and written), so a caller may run
    /// it beside its own work and wait for it before it exits.
    pub store: Option<CacheStore>,
}

/// The writing of one cache entry ([`Built::store`]).
#[derive(Debug)]
pub struct CacheStore {
    cache: LexiconCache,
    key: String,
    sidecar: Vec<u8>,
}

/// Why a cache entry was not written.
#[derive(Debug, thiserror::Error)]
#[error("lexicon cache {}: {source}", path.display())]
pub struct CacheWriteError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The description an entry is keyed by (and written in its `.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct KeyDoc {
    format: u32,
    build: String,
    scan: String,
    engine: String,
    options: String,
    risk: Option<String>,
    lexicons: Vec<Stamp>,
    allow: Vec<Stamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    path: String,
    len: u64,
    sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Sidecar {
    key: KeyDoc,
    loaded: Vec<LoadedFile>,
}

/// What a file in the cache's directory is to the cache, by its name:
/// only names it writes count (`<64 hex>.bin`, `.json`, and those with
/// `.<pid>.partial` after), so that a directory shared with other files
/// (`BEIAN_LEXICON_CACHE=/tmp`) loses none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bin,
    Json,
    Partial,
}

fn kind_of(p: &Path) -> Option<Kind> {
    let name = p.file_name()?.to_str()?;
    let (key, rest) = name.split_at_checked(64)?;
    if !key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    match rest {
        ".bin" => Some(Kind::Bin),
        ".json" => Some(Kind::Json),
        _ => {
            let mid = rest
                .strip_prefix(".bin.")
                .or_else(|| rest.strip_prefix(".json."))?
                .strip_suffix(".partial")?;
            (!mid.is_empty() && mid.bytes().all(|b| b.is_ascii_digit())).then_some(Kind::Partial)
        }
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The stamps of the files the loader reads for `paths`; `None` when one
/// cannot be listed or read (the build then says which and why), or is
/// not a regular file: a pipe (`--lexicon <(…)`) can be read only once,
/// and that read is the build's.
fn stamps(paths: &[PathBuf]) -> Option<Vec<Stamp>> {
    lexicon_paths(paths)
        .ok()?
        .into_iter()
        .map(|p| {
            if !std::fs::metadata(&p).ok()?.is_file() {
                return None;
            }
            let bytes = std::fs::read(&p).ok()?;
            Some(Stamp {
                path: p.display().to_string(),
                len: bytes.len() as u64,
                sha256: hex(&Sha256::digest(&bytes)),
            })
        })
        .collect()
}

impl LexiconCache {
    fn key_doc(&self, spec: &EngineSpec<'_>) -> Option<KeyDoc> {
        Some(KeyDoc {
            format: CACHE_FORMAT,
            build: self.build.clone(),
            scan: scan_fingerprint(),
            engine: format!("{:016x}", beian_screen::engine_fingerprint()),
            options: format!("{:?}", spec.options),
            risk: spec.risk.map(str::to_owned),
            lexicons: stamps(spec.lexicons)?,
            allow: if spec.allow.is_empty() {
                Vec::new()
            } else {
                stamps(spec.allow)?
            },
        })
    }

    /// The entry of `doc`, if it is there, whole and current.
    fn load(&self, key: &str, doc: &KeyDoc, spec: &EngineSpec<'_>) -> Option<Built> {
        let side = std::fs::read(self.entry(key, "json")).ok()?;
        let side: Sidecar = serde_json::from_slice(&side).ok()?;
        if side.key != *doc {
            return None;
        }
        let bin = self.entry(key, "bin");
        let bytes = crate::engine_load::read_whole(&bin).ok()?;
        let engine = crate::load_compiled(&bytes, &spec.options, spec.detectors).ok()?;
        // Least recently used first out: a hit is a use.
        if let Ok(f) = std::fs::File::options().append(true).open(&bin) {
            let _ = f.set_modified(SystemTime::now());
        }
        Some(Built {
            engine,
            loaded: side.loaded,
            cache: CacheUse::Hit(bin),
            store: None,
        })
    }
}

/// What of this crate shapes an engine from the same files: its version and
/// its lexicon loader (file names to risks, skipped files), and the
/// embedded knowledge base's lexicon maps and taxonomy it consults (their
/// bytes as embedded: parsing them would cost a warm start more than the
/// rest of the key).
fn scan_fingerprint() -> String {
    static FP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FP.get_or_init(|| {
        let mut h = Sha256::new();
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(include_str!("lexicon.rs").as_bytes());
        h.update(include_str!("engine_load.rs").as_bytes());
        let kb = &beian_kb::EMBEDDED;
        let maps = kb
            .get_dir("lexicon-maps")
            .map(|d| d.files().collect::<Vec<_>>());
        let mut files: Vec<_> = maps.unwrap_or_default();
        files.extend(kb.get_file("taxonomy.toml"));
        files.sort_by_key(|f| f.path());
        for f in files {
            h.update(f.path().to_string_lossy().as_bytes());
            h.update((f.contents().len() as u64).to_le_bytes());
            h.update(f.contents());
        }
        hex(&h.finalize()[..16])
    })
    .clone()
}

/// [`crate::build_engine_reporting`] through `cache`: a source lexicon's
/// engine is loaded from the cache when it holds it, else built (and
/// [`Built::store`] set to write it). A compiled lexicon is loaded as
/// always. With `cache` `None` this is a plain build.
pub fn build_engine_cached(
    spec: &EngineSpec<'_>,
    cache: Option<&LexiconCache>,
) -> Result<Built, ScanError> {
    let plain = |why| -> Result<Built, ScanError> {
        let (engine, loaded) = crate::build_engine_reporting(spec)?;
        Ok(Built {
            engine,
            loaded,
            cache: CacheUse::Bypassed(why),
            store: None,
        })
    };
    let Some(cache) = cache else {
        return plain("no cache");
    };
    if spec.lexicons.iter().any(|p| is_compiled_file(p)) {
        return plain("a compiled lexicon was given");
    }
    let Some(doc) = cache.key_doc(spec) else {
        return plain("a lexicon file could not be read, or is not a regular file");
    };
    let Ok(doc_json) = serde_json::to_vec(&doc) else {
        return plain("the key could not be written");
    };
    let key = hex(&Sha256::digest(&doc_json));
    if let Some(hit) = cache.load(&key, &doc, spec) {
        return Ok(hit);
    }
    let (engine, loaded) = crate::build_engine_reporting(spec)?;
    let sidecar = serde_json::to_vec_pretty(&Sidecar {
        key: doc,
        loaded: loaded.clone(),
    });
    let Ok(sidecar) = sidecar else {
        return Ok(Built {
            engine,
            loaded,
            cache: CacheUse::Bypassed("the key could not be written"),
            store: None,
        });
    };
    Ok(Built {
        engine,
        loaded,
        cache: CacheUse::Miss(cache.entry(&key, "bin")),
        store: Some(CacheStore {
            cache: cache.clone(),
            key,
            sidecar,
        }),
    })
}

impl CacheStore {
    /// Writes `engine` (the one [`build_engine_cached`] built) into the
    /// cache, then removes the least recently used entries over the limit.
    pub fn write(self, engine: &Engine) -> Result<PathBuf, CacheWriteError> {
        let c = &self.cache;
        let err = |path: &Path| {
            let path = path.to_owned();
            move |source| CacheWriteError { path, source }
        };
        std::fs::create_dir_all(&c.dir).map_err(err(&c.dir))?;
        let side = c.entry(&self.key, "json");
        put(&side, &self.sidecar).map_err(err(&side))?;
        let bin = c.entry(&self.key, "bin");
        put(&bin, &engine.to_compiled()).map_err(err(&bin))?;
        c.evict();
        Ok(bin)
    }
}

/// Writes `bytes` beside `path` and renames them into place.
fn put(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.{}.partial",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    let mut f = std::fs::File::create(&tmp)?;
    let written = f.write_all(bytes).and_then(|()| f.flush());
    drop(f);
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// One entry of a cache, as [`LexiconCache::entries`] lists it.
#[derive(Debug, Clone, Serialize)]
pub struct CacheEntry {
    /// The compiled lexicon.
    pub file: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// When it was written or last loaded (its modification time).
    #[serde(skip)]
    pub last_used: Option<SystemTime>,
    /// The same, in seconds since the Unix epoch.
    pub last_used_unix: Option<u64>,
    /// The lexicon files it was built from, as given (empty when its
    /// description cannot be read).
    pub lexicons: Vec<String>,
    /// The allow-list files.
    pub allow: Vec<String>,
    /// The matching options it was built with.
    pub options: String,
    /// Whether this cache's build made it (else a run of this build never
    /// loads it: it goes when newer entries push it out, or by
    /// [`LexiconCache::clear`]).
    pub this_build: bool,
}

impl LexiconCache {
    /// The entries, most recently used first. A directory not made yet
    /// has none.
    pub fn entries(&self) -> std::io::Result<Vec<CacheEntry>> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let (scan, engine) = (
            scan_fingerprint(),
            format!("{:016x}", beian_screen::engine_fingerprint()),
        );
        let mut out = Vec::new();
        for e in rd {
            let p = e?.path();
            if kind_of(&p) != Some(Kind::Bin) {
                continue;
            }
            let meta = std::fs::metadata(&p)?;
            let side: Option<Sidecar> = std::fs::read(p.with_extension("json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            let last_used = meta.modified().ok();
            let (lexicons, allow, options, this_build) = match side {
                Some(Sidecar { key, .. }) => (
                    key.lexicons.into_iter().map(|s| s.path).collect(),
                    key.allow.into_iter().map(|s| s.path).collect(),
                    key.options,
                    key.format == CACHE_FORMAT
                        && key.build == self.build
                        && key.scan == scan
                        && key.engine == engine,
                ),
                None => (Vec::new(), Vec::new(), String::new(), false),
            };
            out.push(CacheEntry {
                file: p,
                bytes: meta.len(),
                last_used,
                last_used_unix: last_used
                    .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                    .map(|d| d.as_secs()),
                lexicons,
                allow,
                options,
                this_build,
            });
        }
        out.sort_by_key(|e| std::cmp::Reverse(e.last_used));
        Ok(out)
    }

    /// Removes every entry (and any file a writing process left); returns
    /// how many entries there were. Other files in the directory are left.
    pub fn clear(&self) -> std::io::Result<usize> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut n = 0;
        for e in rd {
            let p = e?.path();
            match kind_of(&p) {
                Some(Kind::Bin) => {
                    std::fs::remove_file(&p)?;
                    n += 1;
                }
                Some(Kind::Json | Kind::Partial) => std::fs::remove_file(&p)?,
                None => {}
            }
        }
        Ok(n)
    }

    /// Removes entries over [`keep`](Self::keep), least recently used
    /// first, and `.partial` files a process left an hour or more ago.
    fn evict(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        let mut bins = Vec::new();
        for e in rd.flatten() {
            let p = e.path();
            let modified = e.metadata().and_then(|m| m.modified()).unwrap_or(now);
            match kind_of(&p) {
                Some(Kind::Bin) => bins.push((modified, p)),
                Some(Kind::Partial)
                    if now.duration_since(modified).unwrap_or_default()
                        >= Duration::from_secs(3600) =>
                {
                    let _ = std::fs::remove_file(&p);
                }
                _ => {}
            }
        }
        bins.sort_by_key(|b| std::cmp::Reverse(b.0));
        for (_, p) in bins.into_iter().skip(self.keep) {
            let _ = std::fs::remove_file(p.with_extension("json"));
            let _ = std::fs::remove_file(&p);
        }
    }
}
