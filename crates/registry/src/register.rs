//! The public register served from memory: a snapshot of the active
//! `register` rows with a per-snapshot cache of answered pages. The database
//! stays the source of truth. The snapshot is reloaded at once when this
//! process wrote to the register (generation counter); writes by other
//! processes (several servers on one PostgreSQL, `registry import` beside a
//! running server) are seen within [`CHECK`]: every register write appends
//! to the audit log in its transaction, so one request per [`CHECK`] compares
//! the log's last sequence number with the snapshot's. [`TTL`] is a backstop
//! for writes that bypass the log (`registry seed`, benchmarks only).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use sqlx::Row;

use crate::domain::{FilingKind, RegisterItem, RegisterPage, RegisterQuery};
use crate::error::{RegistryError, Result};
use crate::province;
use crate::store::Store;

/// Items per page.
pub const PAGE_SIZE: usize = 50;
/// How often the audit log is asked whether another process wrote.
pub const CHECK: Duration = Duration::from_secs(1);
/// Snapshot lifetime, whatever the audit log says.
pub const TTL: Duration = Duration::from_secs(60);
const CACHE_MAX: usize = 4096;

/// (query text, kind, province, page)
type PageKey = (String, String, String, usize);

struct Entry {
    item: RegisterItem,
    /// Lower-cased `name \u{1} provider \u{1} filing_number`: what `q` searches.
    hay: String,
    /// The item as JSON, serialized once per snapshot.
    json: String,
}

/// An answered page: its JSON ready to send, and the entries it lists.
pub struct CachedPage {
    /// Entries matching the query (all pages).
    pub total: i64,
    /// Indexes of this page's entries in the snapshot.
    items: Vec<u32>,
    /// `{"total": N, "items": [...]}`.
    pub json: String,
}

impl std::fmt::Debug for CachedPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedPage")
            .field("total", &self.total)
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

/// A posting list: the ascending indexes of the entries holding a key,
/// kept as a bit set once it is denser than one entry in 64.
enum Posting {
    Sparse(Vec<u32>),
    Dense(Box<[u64]>),
}

impl Posting {
    fn len_hint(&self) -> usize {
        match self {
            Posting::Sparse(v) => v.len(),
            Posting::Dense(_) => usize::MAX,
        }
    }
}

/// Ids of snapshots, unique in this process (see [`RegisterIndex::version`]).
static SNAPSHOT_IDS: AtomicU64 = AtomicU64::new(1);

struct Snapshot {
    /// Unique in this process: a new id means the rows may differ.
    id: u64,
    generation: u64,
    loaded: Instant,
    /// Last audit sequence number when the rows were read.
    audit_seq: i64,
    /// Milliseconds after `loaded` of the last check of the audit log.
    checked_ms: AtomicU64,
    entries: Vec<Entry>,
    /// Character n-gram index of `hay`: unigram, bigram and trigram keys.
    grams: GramMap<Posting>,
    /// Exact-value index of `kind` and `province`.
    facets: HashMap<(Facet, String), Posting>,
    cache: Mutex<HashMap<PageKey, Arc<CachedPage>>>,
    /// Match counts per (query text, kind, province), for later pages.
    totals: Mutex<HashMap<(String, String, String), usize>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Facet {
    Kind,
    Province,
    Status,
}

fn unigram(c: char) -> u64 {
    ((c as u64) << 32) | 0xFFFF_FFFF
}

fn bigram(a: char, b: char) -> u64 {
    ((a as u64) << 32) | b as u64
}

/// Bit 63 tells trigrams from the other keys (chars take 21 bits).
fn trigram(a: char, b: char, c: char) -> u64 {
    1 << 63 | (a as u64) << 42 | (b as u64) << 21 | c as u64
}

/// Multiply-shift hashing for the n-gram keys (already well spread integers;
/// SipHash made building the index several times slower).
#[derive(Default, Clone, Copy)]
struct GramHasher(u64);

impl std::hash::Hasher for GramHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    }
    fn write_u64(&mut self, k: u64) {
        self.0 = (k ^ (k >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type GramMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<GramHasher>>;

fn postings<K: std::hash::Hash + Eq, H: std::hash::BuildHasher + Default>(
    lists: HashMap<K, Vec<u32>, H>,
    n: usize,
) -> HashMap<K, Posting, H> {
    let words = n.div_ceil(64);
    lists
        .into_iter()
        .map(|(k, v)| {
            let p = if v.len() * 64 >= n {
                let mut bits = vec![0u64; words].into_boxed_slice();
                for i in v {
                    bits[i as usize >> 6] |= 1 << (i & 63);
                }
                Posting::Dense(bits)
            } else {
                Posting::Sparse(v)
            };
            (k, p)
        })
        .collect()
}

fn index(entries: &[Entry]) -> (GramMap<Posting>, HashMap<(Facet, String), Posting>) {
    let mut grams: GramMap<Vec<u32>> = GramMap::default();
    let mut facets: HashMap<(Facet, String), Vec<u32>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let i = i as u32;
        let mut push = |k: u64| {
            let v = grams.entry(k).or_default();
            if v.last() != Some(&i) {
                v.push(i);
            }
        };
        let (mut p2, mut p1): (Option<char>, Option<char>) = (None, None);
        for c in e.hay.chars() {
            push(unigram(c));
            if let Some(b) = p1 {
                push(bigram(b, c));
                if let Some(a) = p2 {
                    push(trigram(a, b, c));
                }
            }
            (p2, p1) = (p1, Some(c));
        }
        facets
            .entry((Facet::Kind, e.item.kind.clone()))
            .or_default()
            .push(i);
        facets
            .entry((Facet::Province, e.item.province.clone()))
            .or_default()
            .push(i);
        facets
            .entry((Facet::Status, e.item.status.clone()))
            .or_default()
            .push(i);
    }
    let n = entries.len();
    (postings(grams, n), postings(facets, n))
}

/// The date in a remark such as `已注销 2025-03-04` (or `2025年3月4日注销`).
fn cancelled_date(remark: &str) -> Option<String> {
    let digits: Vec<&str> = remark
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    for w in digits.windows(3) {
        if let (Ok(y), Ok(m), Ok(d)) = (
            w[0].parse::<i32>(),
            w[1].parse::<u32>(),
            w[2].parse::<u32>(),
        ) && w[0].len() == 4
            && let Some(date) = chrono::NaiveDate::from_ymd_opt(y, m, d)
        {
            return Some(date.to_string());
        }
    }
    None
}

/// The audit log's last sequence number (0 when empty).
async fn last_audit_seq(store: &Store) -> Result<i64> {
    let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS seq FROM audit_log")
        .fetch_one(store.pool())
        .await?;
    Ok(row.try_get::<i64, _>("seq")?)
}

/// The first index of ascending `c` whose value is `x` or more, searching
/// from the front in doubling steps (lists walked in step cost little).
fn gallop(c: &[u32], x: u32) -> usize {
    let mut hi = 1;
    while hi < c.len() && c[hi - 1] < x {
        hi *= 2;
    }
    let lo = hi / 2;
    let hi = hi.min(c.len());
    lo + c[lo..hi].partition_point(|&y| y < x)
}

#[derive(Default)]
pub(crate) struct RegisterIndex {
    snap: RwLock<Option<Arc<Snapshot>>>,
    reload: tokio::sync::Mutex<()>,
    /// A background task keeps the snapshot fresh (see
    /// [`Store::start_register_refresher`]): readers never reload for age
    /// or for other processes' writes, only after this process's own.
    pub(crate) background: std::sync::atomic::AtomicBool,
}

struct Norm {
    q: String,
    kind: String,
    province: String,
    /// `active`, `cancelled`, or empty for all.
    status: String,
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
    let status = match q.status.as_deref().map(str::trim).unwrap_or("") {
        "" | "active" => "active".to_string(),
        "cancelled" => "cancelled".to_string(),
        "all" => String::new(),
        other => {
            return Err(RegistryError::invalid(
                "status",
                format!("{other:?}: one of active, cancelled, all"),
            ));
        }
    };
    let page = q.page.unwrap_or(1);
    if !(1..=1_000_000).contains(&page) {
        return Err(RegistryError::invalid("page", "must be 1 or more"));
    }
    Ok(Norm {
        q: text,
        kind,
        province,
        status,
        page: page as usize,
    })
}

impl Snapshot {
    /// How to find the entries matching `n`.
    ///
    /// The posting lists of the query's trigrams (its bigram or unigram
    /// when shorter) and of the kind and province filters are intersected:
    /// the dense ones as bit sets, word by word, the sparse ones by walking
    /// the shortest and galloping through the others. Candidates are then
    /// checked for the whole query text, unless one gram is the whole query.
    fn plan<'a>(&'a self, n: &'a Norm) -> Plan<'a> {
        let chars: Vec<char> = n.q.chars().collect();
        let mut keys: Vec<u64> = match chars.len() {
            0 => Vec::new(),
            1 => vec![unigram(chars[0])],
            2 => vec![bigram(chars[0], chars[1])],
            _ => chars
                .windows(3)
                .map(|w| trigram(w[0], w[1], w[2]))
                .collect(),
        };
        keys.sort_unstable();
        keys.dedup();
        let mut lists: Vec<&Posting> = Vec::with_capacity(keys.len() + 2);
        for k in &keys {
            match self.grams.get(k) {
                Some(p) => lists.push(p),
                None => return Plan::Nothing,
            }
        }
        for (facet, value) in [
            (Facet::Kind, &n.kind),
            (Facet::Province, &n.province),
            (Facet::Status, &n.status),
        ] {
            if !value.is_empty() {
                match self.facets.get(&(facet, value.clone())) {
                    Some(p) => lists.push(p),
                    None => return Plan::Nothing,
                }
            }
        }
        if lists.is_empty() {
            return Plan::All;
        }
        lists.sort_by_key(|p| p.len_hint());
        let mut dense: Option<Vec<u64>> = None;
        let mut sparse: Vec<&[u32]> = Vec::new();
        for p in lists {
            match p {
                Posting::Sparse(v) => sparse.push(v),
                Posting::Dense(bits) => match &mut dense {
                    None => dense = Some(bits.to_vec()),
                    Some(acc) => acc.iter_mut().zip(bits.iter()).for_each(|(a, b)| *a &= b),
                },
            }
        }
        Plan::Lists {
            dense,
            sparse,
            verify: (chars.len() > 3)
                .then(|| Box::new(memchr::memmem::Finder::new(n.q.as_bytes()))),
        }
    }

    /// Calls `f` with the index of every entry matching `n`, in register
    /// order, until `f` returns false.
    fn for_each_match(&self, n: &Norm, mut f: impl FnMut(u32) -> bool) {
        let (dense, sparse, verify) = match self.plan(n) {
            Plan::Nothing => return,
            Plan::All => {
                for i in 0..self.entries.len() as u32 {
                    if !f(i) {
                        return;
                    }
                }
                return;
            }
            Plan::Lists {
                dense,
                sparse,
                verify,
            } => (dense, sparse, verify),
        };
        let mut check = |i: u32| -> bool {
            if let Some(finder) = &verify {
                let found = self
                    .entries
                    .get(i as usize)
                    .is_some_and(|e| finder.find(e.hay.as_bytes()).is_some());
                if !found {
                    return true;
                }
            }
            f(i)
        };
        let in_dense = |i: u32| {
            dense.as_ref().is_none_or(|d| {
                d.get(i as usize >> 6)
                    .is_some_and(|w| (w >> (i & 63)) & 1 == 1)
            })
        };
        match sparse.split_first() {
            Some((driver, rest)) => {
                let mut cursors: Vec<&[u32]> = rest.to_vec();
                'outer: for &i in *driver {
                    if !in_dense(i) {
                        continue;
                    }
                    for c in cursors.iter_mut() {
                        let at = gallop(c, i);
                        *c = &c[at..];
                        if c.first() != Some(&i) {
                            if c.is_empty() {
                                return;
                            }
                            continue 'outer;
                        }
                    }
                    if !check(i) {
                        return;
                    }
                }
            }
            None => {
                let Some(d) = &dense else { return };
                for (w, &word) in d.iter().enumerate() {
                    let mut bits = word;
                    while bits != 0 {
                        let i = (w as u32) << 6 | bits.trailing_zeros();
                        bits &= bits - 1;
                        if !check(i) {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// The number of entries matching `n`, and the indexes of `take` of
    /// them after the first `skip`. Counting needs no walk where the plan
    /// allows (everything, or bit sets alone with no text to check), and
    /// the walk stops after the page when `known` gives the count (from an
    /// earlier page of the same query).
    fn select(
        &self,
        n: &Norm,
        skip: usize,
        take: usize,
        known: Option<usize>,
    ) -> (usize, Vec<u32>) {
        match self.plan(n) {
            Plan::Nothing => return (0, Vec::new()),
            Plan::All => {
                let len = self.entries.len();
                let items = (skip.min(len)..(skip + take).min(len))
                    .map(|i| i as u32)
                    .collect();
                return (len, items);
            }
            Plan::Lists {
                dense: Some(d),
                sparse,
                verify: None,
            } if sparse.is_empty() => {
                let total = d.iter().map(|w| w.count_ones() as usize).sum();
                let mut items = Vec::with_capacity(take);
                let mut seen = 0usize;
                for (w, &word) in d.iter().enumerate() {
                    let ones = word.count_ones() as usize;
                    if seen + ones <= skip {
                        seen += ones;
                        continue;
                    }
                    let mut bits = word;
                    while bits != 0 && items.len() < take {
                        let i = (w as u32) << 6 | bits.trailing_zeros();
                        bits &= bits - 1;
                        if seen >= skip {
                            items.push(i);
                        }
                        seen += 1;
                    }
                    if items.len() >= take {
                        break;
                    }
                }
                return (total, items);
            }
            Plan::Lists { .. } => {}
        }
        let mut total = 0usize;
        let mut items = Vec::with_capacity(take);
        self.for_each_match(n, |i| {
            if total >= skip && items.len() < take {
                items.push(i);
            }
            total += 1;
            known.is_none() || items.len() < take
        });
        (known.unwrap_or(total), items)
    }
}

/// See [`Snapshot::plan`].
enum Plan<'a> {
    /// Some key is in no entry.
    Nothing,
    /// No query and no filter.
    All,
    Lists {
        /// The intersection of the dense lists.
        dense: Option<Vec<u64>>,
        /// The sparse lists, shortest first.
        sparse: Vec<&'a [u32]>,
        /// The whole query text, when no gram covers it.
        verify: Option<Box<memchr::memmem::Finder<'a>>>,
    },
}

impl Snapshot {
    /// Built at this process's current register `generation` and younger
    /// than [`TTL`].
    fn usable(&self, generation: u64) -> bool {
        self.generation == generation && self.loaded.elapsed() < TTL
    }

    /// Usable, and checked against the audit log within [`CHECK`].
    fn fresh(&self, generation: u64) -> bool {
        self.usable(generation)
            && self.loaded.elapsed().as_millis() as u64
                <= self.checked_ms.load(Ordering::Relaxed) + CHECK.as_millis() as u64
    }
}

impl RegisterIndex {
    /// The snapshot readers answer from now, if any.
    fn snapshot(&self) -> Result<Option<Arc<Snapshot>>> {
        self.snap
            .read()
            .map(|s| s.clone())
            .map_err(|_| RegistryError::Corrupt("register lock".into()))
    }

    async fn current(&self, store: &Store) -> Result<Arc<Snapshot>> {
        let cur = self.snapshot()?;
        if let Some(s) = cur.as_ref().filter(|s| s.fresh(store.generation())) {
            return Ok(s.clone());
        }
        if self.background.load(Ordering::Relaxed)
            && let Some(s) = cur.as_ref().filter(|s| s.generation == store.generation())
        {
            return Ok(s.clone());
        }
        // One request checks (and reloads if needed); the others keep
        // answering from the current snapshot meanwhile. After this
        // process's own write the writer rebuilds (holding the reload lock,
        // see `Store::register_changed`) and readers keep the old snapshot
        // until the new one is swapped in: nobody but the writer waits. While
        // someone else reloads, any snapshot (even one past its TTL) is
        // answered: the reload under way will replace it, and a reader never
        // queues behind a rebuild. Only a process with no snapshot yet waits.
        let stale = cur;
        let _g = match (&stale, self.reload.try_lock()) {
            (Some(s), Err(_)) => return Ok(s.clone()),
            (_, Ok(g)) => g,
            (None, Err(_)) => self.reload.lock().await,
        };
        self.reload_locked(store).await
    }

    /// The background refresher's step: checks the database and swaps in a
    /// new snapshot, built off to the side, when the register changed or the
    /// snapshot is older than [`TTL`]. Readers keep the old one meanwhile.
    pub(crate) async fn refresh(&self, store: &Store) -> Result<()> {
        let _g = self.reload.lock().await;
        self.reload_locked(store).await.map(|_| ())
    }

    /// After this process changed the register: under the reload lock,
    /// marks the snapshot out of date (`bump`) and builds the new one off to
    /// the side. Readers meanwhile find the lock taken and answer from the
    /// old snapshot; when this returns, the write is visible to every reader.
    pub(crate) async fn rebuild_after_write(
        &self,
        store: &Store,
        bump: impl FnOnce(),
    ) -> Result<()> {
        let _g = self.reload.lock().await;
        bump();
        self.reload_locked(store).await.map(|_| ())
    }

    async fn reload_locked(&self, store: &Store) -> Result<Arc<Snapshot>> {
        let cur = self.snapshot()?;
        if let Some(s) = cur.as_ref().filter(|s| s.fresh(store.generation())) {
            return Ok(s.clone());
        }
        let generation = store.generation();
        let seq = last_audit_seq(store).await?;
        if let Some(s) = cur.filter(|s| s.usable(store.generation()) && s.audit_seq == seq) {
            s.checked_ms
                .store(s.loaded.elapsed().as_millis() as u64, Ordering::Relaxed);
            return Ok(s);
        }
        let rows = sqlx::query("SELECT r.filing_number, r.kind, r.name, r.provider, r.province, r.date, r.role, r.product, r.purpose, r.remark, r.status, f.form AS form, f.updated_at AS updated_at, f.status AS filing_status, s.profile AS profile FROM register r LEFT JOIN filings f ON f.id = r.filing_id LEFT JOIN services s ON s.id = f.service_id ORDER BY r.date DESC, r.filing_number")
            .fetch_all(store.pool())
            .await?;
        // Building the entries and the index is CPU work (about a second at
        // 100,000 rows): on a blocking thread, so that it never holds an async
        // worker that readers' requests are waiting for.
        let (entries, grams, facets) = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut entries = Vec::with_capacity(rows.len());
            for r in &rows {
                let status: String = r.try_get("status")?;
                let remark: String = r.try_get("remark")?;
                let form: Option<String> = r.try_get("form")?;
                let form: Option<serde_json::Value> =
                    form.as_deref().and_then(|f| serde_json::from_str(f).ok());
                let text = |k: &str| {
                    form.as_ref()
                        .and_then(|f| f.get(k))
                        .and_then(serde_json::Value::as_str)
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                };
                let cancelled_on = if status == "cancelled" {
                    cancelled_date(&remark).or_else(|| {
                        let fs: Option<String> = r.try_get("filing_status").ok().flatten();
                        let at: Option<String> = r.try_get("updated_at").ok().flatten();
                        at.filter(|_| fs.as_deref() == Some("cancelled"))
                            .map(|a| a.chars().take(10).collect())
                    })
                } else {
                    None
                };
                let mut role: String = r.try_get("role")?;
                if role.is_empty() {
                    // filings approved here: the service profile's role, as the published lists word it
                    let profile: Option<String> = r.try_get("profile").ok().flatten();
                    let pr = profile
                        .as_deref()
                        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok());
                    role = match pr
                        .as_ref()
                        .and_then(|p| p.get("role"))
                        .and_then(|v| v.as_str())
                    {
                        Some("service-provider") => "服务提供者".into(),
                        Some("technical-supporter") => "技术支持者".into(),
                        _ => String::new(),
                    };
                }
                let mut purpose: String = r.try_get("purpose")?;
                let mut product: String = r.try_get("product")?;
                if purpose.is_empty() {
                    purpose = text("application_field").unwrap_or_default();
                }
                if product.is_empty() {
                    product = text("service_form").unwrap_or_default();
                }
                let item = RegisterItem {
                    name: r.try_get("name")?,
                    provider: r.try_get("provider")?,
                    filing_number: r.try_get("filing_number")?,
                    kind: r.try_get("kind")?,
                    province: r.try_get("province")?,
                    date: r.try_get("date")?,
                    status,
                    role,
                    product,
                    purpose,
                    remark,
                    algorithm_mechanism: text("algorithm_mechanism"),
                    cancelled_on,
                };
                let hay = format!(
                    "{}\u{1}{}\u{1}{}",
                    item.name, item.provider, item.filing_number
                )
                .to_lowercase();
                let json = serde_json::to_string(&item)
                    .map_err(|e| RegistryError::Corrupt(e.to_string()))?;
                entries.push(Entry { item, hay, json });
            }
            let (grams, facets) = index(&entries);
            Ok((entries, grams, facets))
        })
        .await
        .map_err(|e| RegistryError::Corrupt(format!("register build: {e}")))??;
        let snap = Arc::new(Snapshot {
            id: SNAPSHOT_IDS.fetch_add(1, Ordering::Relaxed),
            generation,
            loaded: Instant::now(),
            audit_seq: seq,
            checked_ms: AtomicU64::new(0),
            entries,
            grams,
            facets,
            cache: Mutex::default(),
            totals: Mutex::default(),
        });
        *self
            .snap
            .write()
            .map_err(|_| RegistryError::Corrupt("register lock".into()))? = Some(snap.clone());
        Ok(snap)
    }

    pub(crate) async fn search(&self, store: &Store, q: &RegisterQuery) -> Result<Arc<CachedPage>> {
        Ok(self.lookup(store, q).await?.1)
    }

    /// The page as a value (for the web pages).
    pub(crate) async fn search_page(
        &self,
        store: &Store,
        q: &RegisterQuery,
    ) -> Result<RegisterPage> {
        let (snap, page) = self.lookup(store, q).await?;
        Ok(RegisterPage {
            total: page.total,
            items: page
                .items
                .iter()
                .filter_map(|&i| snap.entries.get(i as usize))
                .map(|e| e.item.clone())
                .collect(),
        })
    }

    async fn lookup(
        &self,
        store: &Store,
        q: &RegisterQuery,
    ) -> Result<(Arc<Snapshot>, Arc<CachedPage>)> {
        let n = normalise(q)?;
        let snap = self.current(store).await?;
        let key = (
            n.q.clone(),
            format!("{}\u{1}{}", n.kind, n.status),
            n.province.clone(),
            n.page,
        );
        if let Some(p) = snap.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok((snap, p));
        }
        let qkey = (key.0.clone(), key.1.clone(), key.2.clone());
        let known = snap.totals.lock().ok().and_then(|t| t.get(&qkey).copied());
        let (total, items) = snap.select(&n, (n.page - 1) * PAGE_SIZE, PAGE_SIZE, known);
        if known.is_none()
            && let Ok(mut t) = snap.totals.lock()
        {
            if t.len() >= CACHE_MAX {
                t.clear();
            }
            t.insert(qkey, total);
        }
        let mut json = String::with_capacity(32 + items.len() * 200);
        json.push_str("{\"total\":");
        json.push_str(&total.to_string());
        json.push_str(",\"items\":[");
        for (k, &i) in items.iter().enumerate() {
            if k > 0 {
                json.push(',');
            }
            if let Some(e) = snap.entries.get(i as usize) {
                json.push_str(&e.json);
            }
        }
        json.push_str("]}");
        let page = Arc::new(CachedPage {
            total: total as i64,
            items,
            json,
        });
        if let Ok(mut c) = snap.cache.lock() {
            if c.len() >= CACHE_MAX {
                c.clear();
            }
            c.insert(key, page.clone());
        }
        Ok((snap, page))
    }

    /// The version of the register as it would be answered now: the id of
    /// the current snapshot (after the usual freshness check). Equal versions
    /// mean identical rows, so anything rendered from them can be reused.
    pub(crate) async fn version(&self, store: &Store) -> Result<u64> {
        Ok(self.current(store).await?.id)
    }

    pub(crate) async fn export(
        &self,
        store: &Store,
        q: &RegisterQuery,
    ) -> Result<Vec<RegisterItem>> {
        Ok(self.export_versioned(store, q).await?.1)
    }

    /// [`Self::export`] and the version of the snapshot it read.
    pub(crate) async fn export_versioned(
        &self,
        store: &Store,
        q: &RegisterQuery,
    ) -> Result<(u64, Vec<RegisterItem>)> {
        let n = normalise(q)?;
        let snap = self.current(store).await?;
        let mut out = Vec::new();
        snap.for_each_match(&n, |i| {
            if let Some(e) = snap.entries.get(i as usize) {
                out.push(e.item.clone());
            }
            out.len() < 200_000
        });
        Ok((snap.id, out))
    }
}

#[cfg(test)]
mod tests {
    use super::gallop;

    #[test]
    fn gallop_finds_the_first_not_smaller() {
        let c: Vec<u32> = (0..100).map(|i| i * 3).collect();
        for x in 0..310 {
            assert_eq!(gallop(&c, x), c.partition_point(|&y| y < x), "{x}");
        }
        assert_eq!(gallop(&[], 5), 0);
    }
}
