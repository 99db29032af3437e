//! The public register served from memory: a snapshot of the active
//! `register` rows, reloaded when this process wrote to it (generation
//! counter) or after [`TTL`] (other processes on PostgreSQL), with a per-snapshot
//! cache of answered pages. The database stays the source of truth.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use sqlx::Row;

use crate::domain::{FilingKind, RegisterItem, RegisterPage, RegisterQuery};
use crate::error::{RegistryError, Result};
use crate::province;
use crate::store::Store;

/// Items per page.
pub const PAGE_SIZE: usize = 50;
/// Snapshot lifetime when nothing was written through this process.
pub const TTL: Duration = Duration::from_secs(10);
const CACHE_MAX: usize = 4096;

/// (query text, kind, province, page)
type PageKey = (String, String, String, usize);

struct Entry {
    item: RegisterItem,
    hay: String,
}

/// An answered page, with its JSON ready to send.
#[derive(Debug)]
pub struct CachedPage {
    pub page: RegisterPage,
    pub json: String,
}

struct Snapshot {
    generation: u64,
    loaded: Instant,
    entries: Vec<Entry>,
    /// Character n-gram index: unigram and bigram keys → ascending entry indexes.
    grams: HashMap<u64, Vec<u32>>,
    cache: Mutex<HashMap<PageKey, Arc<CachedPage>>>,
}

fn unigram(c: char) -> u64 {
    ((c as u64) << 32) | 0xFFFF_FFFF
}

fn bigram(a: char, b: char) -> u64 {
    ((a as u64) << 32) | b as u64
}

fn index(entries: &[Entry]) -> HashMap<u64, Vec<u32>> {
    let mut grams: HashMap<u64, Vec<u32>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let i = i as u32;
        let mut push = |k: u64| {
            let v = grams.entry(k).or_default();
            if v.last() != Some(&i) {
                v.push(i);
            }
        };
        let mut prev: Option<char> = None;
        for c in e.hay.chars() {
            push(unigram(c));
            if let Some(p) = prev {
                push(bigram(p, c));
            }
            prev = Some(c);
        }
    }
    grams
}

#[derive(Default)]
pub(crate) struct RegisterIndex {
    snap: RwLock<Option<Arc<Snapshot>>>,
    reload: tokio::sync::Mutex<()>,
}

struct Norm {
    q: String,
    kind: String,
    province: String,
    page: usize,
}

fn normalise(q: &RegisterQuery) -> Result<Norm> {
    let text = q.q.as_deref().unwrap_or("").trim().to_lowercase();
    if text.chars().count() > 200 {
        return Err(RegistryError::invalid("q", "longer than 200 characters"));
    }
    let kind = match q.kind.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => String::new(),
        Some(k) => FilingKind::parse(k)
            .ok_or_else(|| {
                RegistryError::invalid(
                    "kind",
                    format!("{k:?}: one of algorithm-filing, genai-filing, genai-registration"),
                )
            })?
            .as_str()
            .to_string(),
    };
    let province = match q
        .province
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => String::new(),
        Some(p) => province::canonical(p)
            .ok_or_else(|| RegistryError::invalid("province", format!("unknown province {p:?}")))?
            .to_string(),
    };
    let page = q.page.unwrap_or(1);
    if !(1..=1_000_000).contains(&page) {
        return Err(RegistryError::invalid("page", "must be 1 or more"));
    }
    Ok(Norm {
        q: text,
        kind,
        province,
        page: page as usize,
    })
}

impl Snapshot {
    /// Candidate entry indexes for the query text: the shortest posting list
    /// among the query's bigrams (its unigram for one character), or all.
    fn candidates(&self, q: &str) -> Option<Vec<u32>> {
        let chars: Vec<char> = q.chars().collect();
        let keys: Vec<u64> = match chars.len() {
            0 => return None,
            1 => vec![unigram(chars[0])],
            _ => chars.windows(2).map(|w| bigram(w[0], w[1])).collect(),
        };
        let mut lists: Vec<&[u32]> = keys
            .iter()
            .map(|k| self.grams.get(k).map(Vec::as_slice).unwrap_or(&[]))
            .collect();
        lists.sort_by_key(|l| l.len());
        let (first, rest) = lists.split_first()?;
        // intersect the shortest list with the next shortest ones (all sorted)
        Some(
            first
                .iter()
                .copied()
                .filter(|i| rest.iter().take(3).all(|l| l.binary_search(i).is_ok()))
                .collect(),
        )
    }

    fn matches<'a>(&'a self, n: &'a Norm) -> Box<dyn Iterator<Item = &'a Entry> + 'a> {
        let keep = move |e: &&Entry| {
            (n.kind.is_empty() || e.item.kind == n.kind)
                && (n.province.is_empty() || e.item.province == n.province)
                && (n.q.is_empty() || e.hay.contains(&n.q))
        };
        match self.candidates(&n.q) {
            None => Box::new(self.entries.iter().filter(keep)),
            Some(c) => Box::new(
                c.into_iter()
                    .filter_map(|i| self.entries.get(i as usize))
                    .filter(keep),
            ),
        }
    }
}

impl RegisterIndex {
    async fn current(&self, store: &Store) -> Result<Arc<Snapshot>> {
        let fresh = |s: &Option<Arc<Snapshot>>| {
            s.as_ref()
                .filter(|s| s.generation == store.generation() && s.loaded.elapsed() < TTL)
                .cloned()
        };
        if let Some(s) = fresh(
            &*self
                .snap
                .read()
                .map_err(|_| RegistryError::Corrupt("register lock".into()))?,
        ) {
            return Ok(s);
        }
        // Only the TTL ran out (no write through this process): one request
        // reloads, the others keep answering from the old snapshot meanwhile.
        let stale = self
            .snap
            .read()
            .map_err(|_| RegistryError::Corrupt("register lock".into()))?
            .as_ref()
            .filter(|s| s.generation == store.generation())
            .cloned();
        let _g = match (stale, self.reload.try_lock()) {
            (Some(s), Err(_)) => return Ok(s),
            (_, Ok(g)) => g,
            (None, Err(_)) => self.reload.lock().await,
        };
        if let Some(s) = fresh(
            &*self
                .snap
                .read()
                .map_err(|_| RegistryError::Corrupt("register lock".into()))?,
        ) {
            return Ok(s);
        }
        let generation = store.generation();
        let rows = sqlx::query("SELECT filing_number, kind, name, provider, province, date FROM register WHERE status = 'active' ORDER BY date DESC, filing_number")
            .fetch_all(store.pool())
            .await?;
        let mut entries = Vec::with_capacity(rows.len());
        for r in &rows {
            let item = RegisterItem {
                name: r.try_get("name")?,
                provider: r.try_get("provider")?,
                filing_number: r.try_get("filing_number")?,
                kind: r.try_get("kind")?,
                province: r.try_get("province")?,
                date: r.try_get("date")?,
            };
            let hay = format!(
                "{}\u{1}{}\u{1}{}",
                item.name, item.provider, item.filing_number
            )
            .to_lowercase();
            entries.push(Entry { item, hay });
        }
        let grams = index(&entries);
        let snap = Arc::new(Snapshot {
            generation,
            loaded: Instant::now(),
            entries,
            grams,
            cache: Mutex::default(),
        });
        *self
            .snap
            .write()
            .map_err(|_| RegistryError::Corrupt("register lock".into()))? = Some(snap.clone());
        Ok(snap)
    }

    pub(crate) async fn search(&self, store: &Store, q: &RegisterQuery) -> Result<Arc<CachedPage>> {
        let n = normalise(q)?;
        let snap = self.current(store).await?;
        let key = (n.q.clone(), n.kind.clone(), n.province.clone(), n.page);
        if let Some(p) = snap.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(p);
        }
        let skip = (n.page - 1) * PAGE_SIZE;
        let mut total = 0i64;
        let mut items = Vec::new();
        for e in snap.matches(&n) {
            if total as usize >= skip && items.len() < PAGE_SIZE {
                items.push(e.item.clone());
            }
            total += 1;
        }
        let page = RegisterPage { total, items };
        let json =
            serde_json::to_string(&page).map_err(|e| RegistryError::Corrupt(e.to_string()))?;
        let page = Arc::new(CachedPage { page, json });
        if let Ok(mut c) = snap.cache.lock() {
            if c.len() >= CACHE_MAX {
                c.clear();
            }
            c.insert(key, page.clone());
        }
        Ok(page)
    }

    pub(crate) async fn export(
        &self,
        store: &Store,
        q: &RegisterQuery,
    ) -> Result<Vec<RegisterItem>> {
        let n = normalise(q)?;
        let snap = self.current(store).await?;
        Ok(snap
            .matches(&n)
            .take(200_000)
            .map(|e| e.item.clone())
            .collect())
    }
}
