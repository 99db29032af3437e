//! Built engines (and judge models), kept per process and shared by the
//! `Screen`s made from the same lexicons and options (the `Judge`s of the
//! same model file).
//!
//! Ray, Spark and `multiprocessing` unpickle a `Screen` once per task, not
//! once per worker: without this every task rebuilt the engine (about 0.13 s
//! for konsheng from source), far more than screening a batch costs. An
//! engine is immutable, so `Screen`s may share it.
//!
//! Invariant: an engine is reused only for the same options and the same
//! lexicon and allow files, as they are now: the files the loader reads
//! (`beian_scan::lexicon::lexicon_paths`, its own walk of the given paths),
//! each with its size and a hash of its contents (of its header for a
//! compiled lexicon: the header holds the payload's checksum). So an edited file is a new engine even where its
//! size and modification time did not change. A path that cannot be read is
//! never cached (the build reports it). A pickled compiled lexicon is keyed
//! by its header in the same way. At most [`CAPACITY`] engines are held, the
//! least recently used dropped first. `BEIAN_ENGINE_CACHE=0` turns it off.

use std::any::Any;
use std::collections::VecDeque;
use std::hash::{DefaultHasher, Hasher};
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::prelude::*;

use beian_scan::lexicon::lexicon_paths;
use beian_screen::is_compiled;

/// Engines held at most.
pub(crate) const CAPACITY: usize = 4;

/// A file's identity as the cache sees it: path, size and digest.
type Stamp = (PathBuf, u64, u64);

/// Bytes of a compiled lexicon's header that identify it (magic, format,
/// build fingerprint, payload length and checksum, and some to spare).
const HEAD: usize = 64;

/// What an engine was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    /// Source (or compiled) lexicon files on disk.
    Files {
        /// The options and anything else of the config that shapes the engine.
        build: String,
        lexicons: Vec<Stamp>,
        allow: Vec<Stamp>,
    },
    /// A compiled lexicon's bytes (a portable pickle).
    Bytes {
        build: String,
        len: usize,
        head: Vec<u8>,
    },
}

impl Key {
    /// The key of an engine built from `lexicons` and `allow` with `build`;
    /// `None` when a path cannot be read.
    pub(crate) fn files(build: String, lexicons: &[PathBuf], allow: &[PathBuf]) -> Option<Key> {
        let stamps = |ps: &[PathBuf]| {
            let files = lexicon_paths(ps).ok()?;
            files.into_iter().map(stamp).collect::<Option<Vec<_>>>()
        };
        Some(Key::Files {
            build,
            lexicons: stamps(lexicons)?,
            allow: stamps(allow)?,
        })
    }

    /// The key of an engine loaded from compiled bytes: their header holds
    /// the payload's checksum.
    pub(crate) fn bytes(build: String, data: &[u8]) -> Key {
        Key::Bytes {
            build,
            len: data.len(),
            head: data[..data.len().min(HEAD)].to_vec(),
        }
    }
}

/// A file the loader reads, stamped: a compiled lexicon by its header (not
/// read whole), any other regular file by its contents; `None` (never
/// cached) for a pipe or device.
fn stamp(path: PathBuf) -> Option<Stamp> {
    // A pipe or device can be read once, and that read is the build's (and
    // opening a FIFO waits for a writer): looked at before it is opened.
    if !std::fs::metadata(&path).ok()?.is_file() {
        return None;
    }
    let mut f = std::fs::File::open(&path).ok()?;
    let mut bytes = Vec::new();
    (&mut f).take(HEAD as u64).read_to_end(&mut bytes).ok()?;
    if !is_compiled(&bytes) {
        f.read_to_end(&mut bytes).ok()?;
    }
    let len = f.metadata().ok()?.len();
    let mut h = DefaultHasher::new();
    h.write(&bytes);
    Some((path, len, h.finish()))
}

/// What the cache holds: an engine or a judge model, told apart by type
/// (their keys differ as well).
type Held = Arc<dyn Any + Send + Sync>;

struct Cache {
    /// Most recently used first.
    held: VecDeque<(Key, Held)>,
    hits: u64,
    misses: u64,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    held: VecDeque::new(),
    hits: 0,
    misses: 0,
});

fn lock() -> MutexGuard<'static, Cache> {
    // The cache holds no invariant a panic elsewhere could break.
    CACHE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The engine (or model) for `key`: the one held, or `build`'s (then held).
/// Without a key, `build`'s, not held. The lock is not held while building:
/// two threads asking for the same new key both build, and the first is kept.
pub(crate) fn engine<T: Any + Send + Sync, E>(
    key: Option<Key>,
    build: impl FnOnce() -> Result<T, E>,
) -> Result<Arc<T>, E> {
    let Some(key) = key.filter(|_| enabled()) else {
        return build().map(Arc::new);
    };
    // The position and value of the one held for `key`.
    let find = |c: &Cache| {
        c.held.iter().enumerate().find_map(|(i, (k, h))| {
            (*k == key)
                .then(|| Arc::clone(h).downcast::<T>().ok())
                .flatten()
                .map(|t| (i, t))
        })
    };
    {
        let mut c = lock();
        if let Some((i, t)) = find(&c) {
            c.hits += 1;
            if let Some(hit) = c.held.remove(i) {
                c.held.push_front(hit);
            }
            return Ok(t);
        }
    }
    let built = Arc::new(build()?);
    let mut c = lock();
    c.misses += 1;
    if let Some((_, t)) = find(&c) {
        // Built meanwhile by another thread: share that one.
        return Ok(t);
    }
    let held: Held = built.clone();
    c.held.push_front((key, held));
    c.held.truncate(CAPACITY);
    Ok(built)
}

/// Whether engines are held: not where `BEIAN_ENGINE_CACHE` is `0` (for a
/// process that must build every `Screen` anew, or to measure what the
/// cache saves).
fn enabled() -> bool {
    std::env::var_os("BEIAN_ENGINE_CACHE").is_none_or(|v| v != "0")
}

/// Hits, misses and engines held.
pub(crate) fn info() -> (u64, u64, usize) {
    let c = lock();
    (c.hits, c.misses, c.held.len())
}

/// Drops every engine held (those in use stay alive with their `Screen`s)
/// and zeroes the counts.
pub(crate) fn clear() {
    let mut c = lock();
    c.held.clear();
    c.hits = 0;
    c.misses = 0;
}

/// The lexicon cache on disk that `beian scan` uses
/// (`beian_scan::lexicon_cache::dir_from_env`), for an engine built from
/// source lexicons: a Ray or Spark worker process then loads in
/// milliseconds what another process built. `None` where the environment
/// turns it off (`BEIAN_LEXICON_CACHE=0`). Its entries are this package's
/// own: the build string names the extension module's file, size and
/// modification time, so a reinstalled package never loads an old entry
/// (nor the CLI's, nor the CLI this package's).
pub(crate) fn disk(py: Python<'_>) -> Option<beian_scan::LexiconCache> {
    // `None` (no disk cache) where the module's file cannot be found.
    static BUILD: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let (dir, _) = beian_scan::lexicon_cache::dir_from_env().ok()?;
    let build = BUILD.get_or_init(|| {
        let file: String = py
            .import("beian._beian")
            .and_then(|m| m.getattr("__file__"))
            .and_then(|f| f.extract())
            .ok()?;
        beian_scan::lexicon_cache::build_of(
            concat!("beian-python ", env!("CARGO_PKG_VERSION")),
            std::path::Path::new(&file),
        )
    });
    Some(beian_scan::LexiconCache::new(dir, build.clone()?))
}
