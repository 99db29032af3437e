//! The parallel pipeline, generic over what is done to a record.
//!
//! ```text
//!  readers (files side by side) ──chunks──▶ workers (split, decode, map) ──▶ caller, in input order
//! ```
//!
//! - Reader threads take the inputs in order, one input each at a time, and
//!   cut them into chunks at record boundaries: large reads of whole lines
//!   for text and JSONL (gzip and single-frame zstd decompressed on the fly,
//!   pipelined; the frames of a multi-frame zstd file several at a time, in
//!   parallel); records
//!   packed into one buffer for CSV, TSV and Parquet.
//! - Workers split the chunks into records, decode UTF-8 (lossily: an
//!   invalid byte reads as U+007F, one byte for one byte, so offsets stay
//!   exact), parse JSON, and call the map function on each record. Records
//!   are borrowed slices of the chunk ([`RecordIn`]), never one allocation
//!   each.
//! - The caller's thread receives the results in input order, whatever the
//!   number of threads, readers or the chunk size. Each reader has a fixed
//!   number of chunks in flight, so memory stays bounded whatever the input
//!   size, and the input the output waits for can always go on.
//!
//! [`run_map`] / [`run_map_with`] are the generic entry points (`beian judge
//! predict` uses them); [`run`] screens with a [`beian_screen::Engine`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};
use std::sync::{Arc, Mutex};

use beian_screen::{Engine, Finding, Hit, Scratch};

pub use crate::input::Window;
use crate::input::{
    Body, FieldSpec, InputSpec, PackedRec, ReadCfg, RecordErr, RecordIn, fix_utf8_prefix, json_get,
    json_text, overlap_for, plain_len, read_chunks, window_at,
};

/// A screened record.
#[derive(Debug, Clone)]
pub struct Scanned<'a> {
    pub rec: RecordIn<'a>,
    pub findings: Vec<Finding>,
}

/// What [`run`]'s caller receives, in input order.
#[derive(Debug, Clone)]
pub enum Out<'a> {
    Rec(Scanned<'a>),
    /// A record or input that could not be read (`number` 0: the whole input).
    Err(RecordErr),
    /// A record read with a caveat (invalid UTF-8 decoded lossily: once per
    /// input, before the record it concerns). Not an error.
    Warn(RecordErr),
}

/// What [`run_map`]'s caller receives, in input order.
#[derive(Debug)]
pub enum MapOut<'a, T> {
    /// A record and what the map function made of it.
    Rec(RecordIn<'a>, T),
    /// A record or input that could not be read (`number` 0: the whole input).
    Err(RecordErr),
    /// A record read with a caveat (invalid UTF-8 decoded lossily: once per
    /// input, before the record it concerns). Not an error.
    Warn(RecordErr),
}

/// Pipeline settings.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Records per chunk at most (CSV, TSV, Parquet).
    pub batch_records: usize,
    /// Bytes per chunk, about (a chunk ends at a record boundary; a single
    /// larger record still forms a chunk).
    pub batch_bytes: usize,
    /// Chunks in flight at most, over all readers (reading, mapping, or
    /// waiting to be handed out).
    pub in_flight: usize,
    /// Inputs read side by side at most (each by its own thread).
    pub readers: usize,
    /// A plain (uncompressed) text or JSONL file of more than twice this
    /// many bytes is read in parts of this size, cut at line boundaries,
    /// by several readers side by side, as if they were files of their
    /// own (one reader cannot feed many workers); 0: never, nor when the
    /// inputs are 8 per reader or more. Record numbers and offsets stay
    /// those of the whole file.
    pub split_bytes: usize,
    /// [`run`] screens a longer record in overlapping windows of this many
    /// bytes (offsets stay exact): the engine's memory is bounded by it.
    /// ([`run_map_windows`] takes its window size as an argument.)
    pub max_record_bytes: usize,
}

/// Default for `--max-record-bytes`: 16 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;

impl PipelineConfig {
    pub fn with_threads(threads: usize) -> Self {
        let threads = threads.max(1);
        let (batch_bytes, in_flight, readers) = (1 << 20, (threads * 4).max(4), threads.min(8));
        // With few workers one reader keeps up (on 2 cores, two readers
        // in parts cost about 3%).
        let many = threads >= 4;
        PipelineConfig {
            threads,
            batch_records: 4096,
            batch_bytes,
            in_flight,
            readers,
            // A part is what one reader may have in flight: the readers of
            // the parts after the one being handed out read ahead.
            split_bytes: if many {
                (in_flight / readers).max(2) * batch_bytes
            } else {
                0
            },
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

/// Screens the inputs with `engine`. `sink` sees every record and record
/// error in input order; it returns `false` to stop early (for example when
/// stdout closed). Records longer than `cfg.max_record_bytes` are screened
/// in overlapping windows ([`find_windowed`]).
pub fn run(
    engine: &Engine,
    inputs: &[InputSpec],
    fields: &FieldSpec,
    cfg: &PipelineConfig,
    sink: &mut dyn FnMut(Out<'_>) -> bool,
) {
    let max = cfg.max_record_bytes;
    run_map_with(
        inputs,
        fields,
        cfg,
        &Scratch::new,
        &|scratch: &mut Scratch, rec: &RecordIn<'_>| find_windowed(engine, rec.text, max, scratch),
        &mut |o| match o {
            MapOut::Rec(rec, findings) => sink(Out::Rec(Scanned { rec, findings })),
            MapOut::Err(e) => sink(Out::Err(e)),
            MapOut::Warn(e) => sink(Out::Warn(e)),
        },
    );
}

/// Runs `map` on every record, in parallel, and hands the results to `sink`
/// in input order (`false` from `sink` stops the run early). `map` must be
/// cheap to share (`Sync`); for per-thread state use [`run_map_with`].
pub fn run_map<T: Send>(
    inputs: &[InputSpec],
    fields: &FieldSpec,
    cfg: &PipelineConfig,
    map: &(dyn Fn(&RecordIn<'_>) -> T + Sync),
    sink: &mut dyn FnMut(MapOut<'_, T>) -> bool,
) {
    run_map_with(inputs, fields, cfg, &|| (), &|_: &mut (), r| map(r), sink);
}

/// Like [`run_map`], with per-worker state: each worker thread calls `init`
/// once and passes its state to every `map` call (scratch buffers).
pub fn run_map_with<S, T: Send>(
    inputs: &[InputSpec],
    fields: &FieldSpec,
    cfg: &PipelineConfig,
    init: &(dyn Fn() -> S + Sync),
    map: &(dyn Fn(&mut S, &RecordIn<'_>) -> T + Sync),
    sink: &mut dyn FnMut(MapOut<'_, T>) -> bool,
) {
    run_map_windows(
        inputs,
        fields,
        cfg,
        0,
        init,
        &|s, r, _| map(s, r),
        &mut |o, _| sink(o),
    );
}

/// Like [`run_map_with`], but a plain-text line longer than `window_bytes`
/// (0: never) is never held whole: the reader hands it on in overlapping
/// windows, the same windows [`hits_windowed`] would screen the whole
/// record in, each a [`MapOut::Rec`] of its own whose `text` is the
/// window's text, with the record's number and offset and `Some(Window)`
/// saying where the window lies (`None` for a whole record). A record's
/// windows reach `sink` one after the other, in order, the last one marked;
/// `map` should keep only what starts below [`Window::keep_below`]
/// ([`hits_in_window`] does) so that the overlap counts once. A line made
/// only of white space is no record: for a windowed line, the caller sees
/// that every window is blank. JSONL, CSV, TSV and Parquet records are
/// always whole (a field needs the whole line).
///
/// A large plain file may be read in parts side by side
/// ([`PipelineConfig::split_bytes`]): `sink` sees every record with its
/// number in the whole file, but `map`, which may run before the parts
/// ahead of its record are read, sees the number counted from the start of
/// the record's part (offsets are always those of the whole file).
#[allow(clippy::too_many_arguments)]
pub fn run_map_windows<S, T: Send>(
    inputs: &[InputSpec],
    fields: &FieldSpec,
    cfg: &PipelineConfig,
    window_bytes: usize,
    init: &(dyn Fn() -> S + Sync),
    map: &(dyn Fn(&mut S, &RecordIn<'_>, Option<Window>) -> T + Sync),
    sink: &mut dyn FnMut(MapOut<'_, T>, Option<Window>) -> bool,
) {
    run_filter_map_windows(
        inputs,
        fields,
        cfg,
        window_bytes,
        init,
        &|s, r, w| Some(map(s, r, w)),
        sink,
    );
}

/// What [`run_filter_map_windows`] calls on each record (with the worker's
/// state and, for a window of a long line, where it lies): `None` drops it.
pub type FilterMap<'m, S, T> =
    dyn Fn(&mut S, &RecordIn<'_>, Option<Window>) -> Option<T> + Sync + 'm;

/// Like [`run_map_windows`], but a record for which `map` returns `None`
/// never reaches `sink` (its warnings and errors still do): a caller that
/// has nothing to do with most records (a scan where most have no
/// finding) lets the workers drop them. The caller's thread then no
/// longer validates a whole chunk's text, only that of the records it
/// gets, where that costs less: with many workers that one
/// thread, which sees every record handed on, is what limits the rate.
#[allow(clippy::too_many_arguments)]
pub fn run_filter_map_windows<S, T: Send>(
    inputs: &[InputSpec],
    fields: &FieldSpec,
    cfg: &PipelineConfig,
    window_bytes: usize,
    init: &(dyn Fn() -> S + Sync),
    map: &FilterMap<'_, S, T>,
    sink: &mut dyn FnMut(MapOut<'_, T>, Option<Window>) -> bool,
) {
    if inputs.is_empty() {
        return;
    }
    let parts = plan_parts(inputs, cfg);
    let parts = &parts[..];
    let readers = cfg.readers.clamp(1, parts.len());
    let per_reader = (cfg.in_flight / readers).max(2);
    let rcfg = ReadCfg {
        chunk_bytes: cfg.batch_bytes.max(1),
        chunk_records: cfg.batch_records.max(1),
        decompress_threads: cfg.threads.max(1),
        window_bytes,
    };
    let (job_tx, job_rx) = channel::<Job>();
    let (done_tx, done_rx) = channel::<Done<T>>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let next_input = AtomicUsize::new(0);
    let mut token_txs = Vec::with_capacity(readers);
    let mut token_rxs = Vec::with_capacity(readers);
    for _ in 0..readers {
        let (tx, rx) = sync_channel::<()>(per_reader);
        for _ in 0..per_reader {
            let _ = tx.send(());
        }
        token_txs.push(tx);
        token_rxs.push(rx);
    }
    // One window of a long line per reader is screened at a time (the
    // reader reads the next meanwhile): the engine's working memory grows
    // with the window, so this bounds memory whatever the thread count.
    let mut window_txs = Vec::with_capacity(readers);
    let mut window_rxs = Vec::with_capacity(readers);
    for _ in 0..readers {
        let (tx, rx) = sync_channel::<()>(1);
        let _ = tx.send(());
        window_txs.push(tx);
        window_rxs.push(rx);
    }
    std::thread::scope(|s| {
        for (id, (tokens, windows)) in token_rxs.into_iter().zip(window_rxs).enumerate() {
            let tx = job_tx.clone();
            let next = &next_input;
            s.spawn(move || reader(id, inputs, parts, fields, rcfg, next, tx, tokens, windows));
        }
        drop(job_tx);
        for _ in 0..cfg.threads.max(1) {
            let rx = Arc::clone(&job_rx);
            let tx = done_tx.clone();
            s.spawn(move || worker(fields, rx, tx, init, map));
        }
        drop(done_tx);
        let mut pending: HashMap<(u32, u64), Done<T>> = HashMap::new();
        let mut warned = vec![false; inputs.len()];
        let (mut cur, mut idx) = (0u32, 0u64);
        // Lines of the parts of the current input before the current part,
        // and whether one of them stopped with an error (the parts after
        // it are then left out: their record numbers are unknown).
        let (mut base, mut broken) = (0u64, false);
        'outer: while let Ok(d) = done_rx.recv() {
            pending.insert((d.source, d.idx), d);
            while let Some(d) = pending.remove(&(cur, idx)) {
                let (reader_id, last, lines) = (d.reader, d.last, d.lines);
                let window = d.parsed.window.is_some();
                if !broken && !emit(d, base, &mut warned, sink) {
                    break 'outer;
                }
                // The reader may be done (receiver gone): that is fine.
                let _ = token_txs[reader_id].try_send(());
                if window {
                    let _ = window_txs[reader_id].try_send(());
                }
                if last {
                    let this = parts[cur as usize].input;
                    cur += 1;
                    idx = 0;
                    let Some(next) = parts.get(cur as usize) else {
                        break 'outer;
                    };
                    if next.input == this {
                        match lines {
                            Some(n) => base += n,
                            None => broken = true,
                        }
                    } else {
                        (base, broken) = (0, false);
                    }
                } else {
                    idx += 1;
                }
            }
        }
        // Dropping the receiver and the token senders stops readers and workers.
        drop(done_rx);
        drop(token_txs);
        drop(window_txs);
    });
}

/// What one reader reads at a time: a whole input, or a part of a large
/// plain one (see [`PipelineConfig::split_bytes`]).
#[derive(Debug, Clone, Copy)]
struct Part {
    input: u32,
    range: Option<(u64, u64)>,
}

/// The parts the inputs are read in, in input order.
fn plan_parts(inputs: &[InputSpec], cfg: &PipelineConfig) -> Vec<Part> {
    // One reader has no one to share with; many inputs keep the readers
    // busy side by side as they are: no file is asked its size then (a
    // million small files, a million more calls before the first read).
    let split = if cfg.readers > 1 && inputs.len() < 8 * cfg.readers {
        cfg.split_bytes as u64
    } else {
        0
    };
    let mut parts = Vec::with_capacity(inputs.len());
    for (i, spec) in inputs.iter().enumerate() {
        let input = i as u32;
        match (split > 0).then(|| plain_len(spec, 2 * split)).flatten() {
            Some(len) => {
                let n = len.div_ceil(split);
                for k in 0..n {
                    // The last part reads to the end, should the file grow.
                    let end = if k + 1 == n {
                        u64::MAX
                    } else {
                        (k + 1) * split
                    };
                    parts.push(Part {
                        input,
                        range: Some((k * split, end)),
                    });
                }
            }
            _ => parts.push(Part { input, range: None }),
        }
    }
    parts
}

/// A chunk on its way to a worker.
struct Job {
    /// Index into the parts (the order of the output).
    source: u32,
    /// Index into the inputs.
    input: u32,
    idx: u64,
    last: bool,
    /// With `last`: the lines the part held (`None`: not lines, or broken).
    lines: Option<u64>,
    reader: usize,
    body: Body,
}

/// A chunk split into records, with the map's results.
struct Done<T> {
    source: u32,
    input: u32,
    idx: u64,
    last: bool,
    lines: Option<u64>,
    reader: usize,
    parsed: Parsed,
    /// One per record of the chunk (not per error): `None`, not handed on.
    results: Vec<Option<T>>,
}

/// Where a record's text lies.
#[derive(Debug, Clone, Copy)]
enum Loc {
    /// In the chunk's own (decoded) buffer.
    Raw(usize, usize),
    /// In the side buffer (JSON strings with escapes, numbers).
    Extra(usize, usize),
}

#[derive(Debug)]
enum PKind {
    Rec {
        text: Loc,
        group: Option<Loc>,
        warn: Option<String>,
    },
    Err(String),
}

#[derive(Debug)]
struct PRec {
    number: u64,
    offset: u64,
    kind: PKind,
}

#[derive(Debug, Default)]
struct Parsed {
    /// The chunk's bytes, valid UTF-8 as a whole (invalid sequences already
    /// replaced, one byte for one): kept as bytes so that every validation
    /// is SIMD (`simdutf8`). A reader of the records validates the chunk
    /// once ([`Parsed::str`]) and slices it: `String::from_utf8`'s scalar
    /// check was a tenth of a whole scan's CPU time on Chinese text, and one
    /// SIMD check per record another twelfth; a `String` made without a
    /// check would need `unsafe`.
    text: Vec<u8>,
    extra: String,
    recs: Vec<PRec>,
    /// Set when the chunk is one window of a long record.
    window: Option<Window>,
}

impl Parsed {
    /// The chunk as `&str`: valid by construction; were it not, no record
    /// would be read from it (each would read as empty), never a panic.
    fn str(text: &[u8]) -> &str {
        let s = simdutf8::basic::from_utf8(text);
        debug_assert!(s.is_ok(), "a parsed chunk is valid UTF-8");
        s.unwrap_or("")
    }
}

fn at<'a>(text: &'a str, extra: &'a str, loc: Loc) -> &'a str {
    match loc {
        // Spans are made on character boundaries; one off a boundary
        // (never made) would read as empty, not panic.
        Loc::Raw(a, b) => text.get(a..b).unwrap_or(""),
        Loc::Extra(a, b) => extra.get(a..b).unwrap_or(""),
    }
}

fn view<'a>(text: &'a str, extra: &'a str, source: u32, r: &PRec) -> Option<RecordIn<'a>> {
    match &r.kind {
        PKind::Rec { text: t, group, .. } => Some(RecordIn {
            source,
            number: r.number,
            offset: r.offset,
            text: at(text, extra, *t),
            group: group.map(|g| at(text, extra, g)),
        }),
        PKind::Err(_) => None,
    }
}

fn emit<T>(
    d: Done<T>,
    base: u64,
    warned: &mut [bool],
    sink: &mut dyn FnMut(MapOut<'_, T>, Option<Window>) -> bool,
) -> bool {
    let source = d.input;
    let Parsed {
        text,
        extra,
        recs,
        window,
    } = d.parsed;
    // The text of the records handed on: each record's own validated,
    // unless that costs more than validating the whole chunk once (a call
    // costs about what 200 bytes do).
    let handed: usize = recs
        .iter()
        .filter_map(|r| match &r.kind {
            PKind::Rec { text: t, .. } => Some(*t),
            PKind::Err(_) => None,
        })
        .zip(&d.results)
        .filter(|(_, v)| v.is_some())
        .map(|(t, _)| match t {
            Loc::Raw(a, b) | Loc::Extra(a, b) => b.saturating_sub(a) + 200,
        })
        .sum();
    let whole = (handed >= text.len()).then(|| Parsed::str(&text));
    let get = |loc: Loc| -> &str {
        match (whole, loc) {
            (Some(t), l) => at(t, &extra, l),
            // Spans lie on character boundaries of a valid chunk.
            (None, Loc::Raw(a, b)) => text
                .get(a..b)
                .and_then(|b| simdutf8::basic::from_utf8(b).ok())
                .unwrap_or(""),
            (None, l) => at("", &extra, l),
        }
    };
    let mut results = d.results.into_iter();
    for r in recs {
        // Numbered from the part's first line; 0 (the whole input) stays.
        let number = if r.number == 0 { 0 } else { r.number + base };
        let offset = r.offset;
        let item = match r.kind {
            PKind::Err(message) => MapOut::Err(RecordErr {
                source,
                number,
                offset,
                message,
            }),
            PKind::Rec {
                text: t,
                group,
                warn,
            } => {
                if let Some(message) = warn
                    && let Some(w) = warned.get_mut(source as usize)
                    && !*w
                {
                    *w = true;
                    if !sink(
                        MapOut::Warn(RecordErr {
                            source,
                            number,
                            offset,
                            message,
                        }),
                        None,
                    ) {
                        return false;
                    }
                }
                let Some(value) = results.next() else {
                    return true;
                };
                // Dropped by the workers.
                let Some(value) = value else { continue };
                MapOut::Rec(
                    RecordIn {
                        source,
                        number,
                        offset,
                        text: get(t),
                        group: group.map(get),
                    },
                    value,
                )
            }
        };
        if !sink(item, window) {
            return false;
        }
    }
    true
}

/// Sends one input's chunks, the last one marked, each against a token.
struct ChunkSender<'a> {
    id: usize,
    source: u32,
    input: u32,
    idx: u64,
    tx: &'a Sender<Job>,
    tokens: &'a Receiver<()>,
    /// Taken for each window of a long line (see `run_map_windows`).
    windows: &'a Receiver<()>,
}

impl ChunkSender<'_> {
    fn send(&mut self, body: Body, last: bool, lines: Option<u64>) -> bool {
        if self.tokens.recv().is_err() {
            return false;
        }
        if matches!(body, Body::Window { .. }) && self.windows.recv().is_err() {
            return false;
        }
        let ok = self
            .tx
            .send(Job {
                source: self.source,
                input: self.input,
                idx: self.idx,
                last,
                lines,
                reader: self.id,
                body,
            })
            .is_ok();
        self.idx += 1;
        ok
    }
}

#[allow(clippy::too_many_arguments)]
fn reader(
    id: usize,
    inputs: &[InputSpec],
    parts: &[Part],
    fields: &FieldSpec,
    rcfg: ReadCfg,
    next: &AtomicUsize,
    tx: Sender<Job>,
    tokens: Receiver<()>,
    windows: Receiver<()>,
) {
    loop {
        let i = next.fetch_add(1, Ordering::SeqCst);
        let Some(part) = parts.get(i) else { return };
        let Some(spec) = inputs.get(part.input as usize) else {
            return;
        };
        let mut out = ChunkSender {
            id,
            source: i as u32,
            input: part.input,
            idx: 0,
            tx: &tx,
            tokens: &tokens,
            windows: &windows,
        };
        // One chunk is held back so that the last one can be marked.
        let mut held: Option<Body> = None;
        let mut alive = true;
        let lines = read_chunks(spec, part.range, fields, rcfg, &mut |body| {
            if let Some(prev) = held.replace(body) {
                alive = out.send(prev, false, None);
            }
            alive
        });
        if !alive {
            return;
        }
        let body = held.unwrap_or(Body::Packed {
            buf: Vec::new(),
            recs: Vec::new(),
        });
        if !out.send(body, true, lines) {
            return;
        }
    }
}

fn worker<S, T: Send>(
    fields: &FieldSpec,
    rx: Arc<Mutex<Receiver<Job>>>,
    tx: Sender<Done<T>>,
    init: &(dyn Fn() -> S + Sync),
    map: &FilterMap<'_, S, T>,
) {
    let mut state = init();
    loop {
        let job = {
            let Ok(guard) = rx.lock() else { return };
            guard.recv()
        };
        let Ok(job) = job else { return };
        let mut results = Vec::new();
        let mut parsed = parse(job.body, fields, &mut |text, extra, recs, window| {
            results.reserve(recs.len());
            for r in recs {
                if let Some(v) = view(text, extra, job.input, r) {
                    results.push(map(&mut state, &v, window));
                }
            }
        });
        drop_unsent(&mut parsed, &mut results);
        let done = Done {
            source: job.source,
            input: job.input,
            idx: job.idx,
            last: job.last,
            lines: job.lines,
            reader: job.reader,
            parsed,
            results,
        };
        if tx.send(done).is_err() {
            return;
        }
    }
}

/// Leaves out of a chunk the records `map` dropped and that carry no
/// warning, and, when none is left, the chunk's text: the thread that
/// orders the output (one, whatever the number of workers) then neither
/// walks past them nor frees the chunk's buffers. `results` stays one per
/// record left.
fn drop_unsent<T>(parsed: &mut Parsed, results: &mut Vec<Option<T>>) {
    if !results.iter().any(Option::is_none) {
        return;
    }
    let keep: Vec<bool> = parsed
        .recs
        .iter()
        .filter_map(|r| match &r.kind {
            PKind::Rec { warn, .. } => Some(warn.is_some()),
            PKind::Err(_) => None,
        })
        .zip(results.iter())
        .map(|(warn, v)| warn || v.is_some())
        .collect();
    let mut k = keep.iter();
    parsed.recs.retain(|r| match r.kind {
        PKind::Rec { .. } => k.next().copied().unwrap_or(true),
        PKind::Err(_) => true,
    });
    let mut k = keep.iter();
    results.retain(|_| k.next().copied().unwrap_or(true));
    if parsed.recs.is_empty() {
        parsed.text = Vec::new();
        parsed.extra = String::new();
    }
}

/// Replaces every invalid UTF-8 sequence in `buf` by U+007F bytes (one for
/// one, so offsets stay), noting where each began: the reader's
/// [`fix_utf8_prefix`] over the whole buffer, a truncated sequence at its
/// end included.
fn fix_utf8(buf: &mut [u8], bad: &mut Vec<usize>) {
    fix_utf8_prefix(buf, 0, true, bad);
}

/// What [`parse`] hands its caller while the chunk is borrowed as `&str`:
/// the chunk, the text of JSON-unescaped fields, the records, the window.
type Each<'e> = dyn FnMut(&str, &str, &[PRec], Option<Window>) + 'e;

/// Parses a chunk into records, calls `each` with them and the chunk as
/// `&str` (validated once: a second validation to read records out again
/// would be a pass over every byte), and returns them.
fn parse(body: Body, fields: &FieldSpec, each: &mut Each<'_>) -> Parsed {
    match body {
        Body::Lines {
            buf,
            first_number,
            offset,
            jsonl,
        } => parse_lines(buf, first_number, offset, jsonl, fields, each),
        Body::Packed { buf, recs } => parse_packed(buf, recs, each),
        Body::Window {
            buf,
            number,
            offset,
            win,
            warn,
        } => {
            // The reader fixed the window's UTF-8 already.
            let len = buf.len();
            let recs = vec![PRec {
                number,
                offset,
                kind: PKind::Rec {
                    text: Loc::Raw(0, len),
                    group: None,
                    warn,
                },
            }];
            each(Parsed::str(&buf), "", &recs, Some(win));
            Parsed {
                text: buf,
                extra: String::new(),
                recs,
                window: Some(win),
            }
        }
    }
}

fn parse_packed(mut buf: Vec<u8>, recs: Vec<PackedRec>, each: &mut Each<'_>) -> Parsed {
    let mut bad = Vec::new();
    let mut out = Vec::with_capacity(recs.len());
    for r in recs {
        let kind = match r.text {
            Err(m) => PKind::Err(m),
            Ok((a, b)) => {
                bad.clear();
                fix_utf8(&mut buf[a..b], &mut bad);
                let warn = bad.first().map(|p| {
                    format!(
                        "invalid UTF-8 at byte {p} of the field: read lossily (each invalid byte as U+007F); later invalid bytes in this input are not reported"
                    )
                });
                if let Some((ga, gb)) = r.group {
                    fix_utf8(&mut buf[ga..gb], &mut bad);
                }
                PKind::Rec {
                    text: Loc::Raw(a, b),
                    group: r.group.map(|(a, b)| Loc::Raw(a, b)),
                    warn,
                }
            }
        };
        out.push(PRec {
            number: r.number,
            offset: r.offset,
            kind,
        });
    }
    // Bytes between the records (JSON syntax, other fields) are made valid
    // too, so that the chunk is valid as a whole (see `Parsed::text`);
    // nothing reads them.
    bad.clear();
    fix_utf8(&mut buf, &mut bad);
    each(Parsed::str(&buf), "", &out, None);
    Parsed {
        text: buf,
        extra: String::new(),
        recs: out,
        window: None,
    }
}

fn parse_lines(
    buf: Vec<u8>,
    first_number: u64,
    offset: u64,
    jsonl: bool,
    fields: &FieldSpec,
    each: &mut Each<'_>,
) -> Parsed {
    let mut bad = Vec::new();
    let mut buf = buf;
    // Valid text (the common case) is validated once, here; invalid bytes
    // are mended first, then the mended buffer is validated.
    let (extra, recs) = match simdutf8::basic::from_utf8(&buf) {
        Ok(text) => split_lines(text, first_number, offset, jsonl, fields, &bad, each),
        Err(_) => {
            fix_utf8(&mut buf, &mut bad);
            // Valid after fix_utf8; were it not, no record would be read.
            let text = simdutf8::basic::from_utf8(&buf).unwrap_or("");
            split_lines(text, first_number, offset, jsonl, fields, &bad, each)
        }
    };
    Parsed {
        text: buf,
        extra,
        recs,
        window: None,
    }
}

/// The lines of `text`, each with its `\n` (as `str::split_inclusive`),
/// found with `memchr`'s vectorized search: the standard library's
/// `split_inclusive` searches a word at a time, which cost about one
/// instruction per byte of input on the screening thread.
fn lines_inclusive(text: &str) -> impl Iterator<Item = &str> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let rest = text.get(at..).filter(|r| !r.is_empty())?;
        let len = memchr::memchr(b'\n', rest.as_bytes()).map_or(rest.len(), |p| p + 1);
        at += len;
        // `len` ends after a `\n` or at the end: a character boundary.
        rest.get(..len)
    })
}

/// The records of the lines of `text` (`bad`: where invalid UTF-8 was
/// mended), handed to `each`.
fn split_lines(
    text: &str,
    first_number: u64,
    offset: u64,
    jsonl: bool,
    fields: &FieldSpec,
    bad: &[usize],
    each: &mut Each<'_>,
) -> (String, Vec<PRec>) {
    let mut extra = String::new();
    let mut recs = Vec::new();
    let mut pos = 0usize;
    let mut bi = 0usize;
    for (n, line) in (first_number..).zip(lines_inclusive(text)) {
        let start = pos;
        pos += line.len();
        let mut l = line.strip_suffix('\n').unwrap_or(line);
        l = l.strip_suffix('\r').unwrap_or(l);
        let mut s0 = start;
        // The byte order mark opens the file, not a part read on its own.
        if offset == 0
            && start == 0
            && let Some(rest) = l.strip_prefix('\u{feff}')
        {
            l = rest;
            s0 += 3;
        }
        while bi < bad.len() && bad[bi] < start {
            bi += 1;
        }
        let warn = bad.get(bi).filter(|&&p| p < pos).map(|&p| {
            format!(
                "invalid UTF-8 at byte {}: read lossily (each invalid byte as U+007F); later invalid bytes in this input are not reported",
                offset + p as u64
            )
        });
        // A blank line is no record (line numbers still count it).
        if l.trim().is_empty() {
            continue;
        }
        let rec_offset = offset + start as u64;
        let kind = if jsonl {
            match pick_json(l, fields, &mut extra) {
                Ok((t, g)) => PKind::Rec {
                    text: shift(t, text, l),
                    group: g.map(|g| shift(g, text, l)),
                    warn,
                },
                Err(m) => PKind::Err(m),
            }
        } else {
            PKind::Rec {
                text: Loc::Raw(s0, s0 + l.len()),
                group: None,
                warn,
            }
        };
        recs.push(PRec {
            number: n,
            offset: rec_offset,
            kind,
        });
    }
    each(text, &extra, &recs, None);
    (extra, recs)
}

/// A location inside the line `l` (a slice of `text`) made absolute.
fn shift(loc: Loc, text: &str, l: &str) -> Loc {
    match loc {
        Loc::Raw(a, b) => {
            let base = l.as_ptr() as usize - text.as_ptr() as usize;
            Loc::Raw(base + a, base + b)
        }
        e => e,
    }
}

// ---- JSON: pick the text (and group) field without building a tree ----

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;

enum Val<'de> {
    Str(Cow<'de, str>),
    Null,
    /// A number or boolean (its text comes from the tree parse).
    Scalar,
    /// An object or array.
    Complex,
}

struct ValSeed;

impl<'de> DeserializeSeed<'de> for ValSeed {
    type Value = Val<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Val<'de>, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v)))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Val<'de>, E> {
        Ok(Val::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Val<'de>, E> {
        Ok(Val::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Val<'de>, E> {
        Ok(Val::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Val<'de>, E> {
        Ok(Val::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Val<'de>, A::Error> {
        while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Val::Complex)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Val<'de>, A::Error> {
        while s.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Val::Complex)
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        struct K;
        impl<'de> Visitor<'de> for K {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
        }
        d.deserialize_str(K)
    }
}

/// The top level: `None` when it is not an object.
struct Top<'f> {
    field: &'f str,
    group: Option<&'f str>,
}

type Picked<'de> = Option<(Option<Val<'de>>, Option<Val<'de>>)>;

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = Picked<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Picked<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Picked<'de>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Picked<'de>, A::Error> {
        let (mut t, mut g) = (None, None);
        while let Some(k) = m.next_key_seed(KeySeed)? {
            if k == self.field {
                t = Some(m.next_value_seed(ValSeed)?);
            } else if Some(&*k) == self.group {
                g = Some(m.next_value_seed(ValSeed)?);
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Some((t, g)))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Picked<'de>, A::Error> {
        while s.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Picked<'de>, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Picked<'de>, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Picked<'de>, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Picked<'de>, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Picked<'de>, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Picked<'de>, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Picked<'de>, E> {
        Ok(None)
    }
}

fn put(extra: &mut String, s: &str) -> Loc {
    let a = extra.len();
    extra.push_str(s);
    Loc::Extra(a, extra.len())
}

/// The text (and group) of one JSONL line: `Loc::Raw` relative to the line
/// when the string has no escapes, else copied into `extra`.
fn pick_json(
    line: &str,
    fields: &FieldSpec,
    extra: &mut String,
) -> Result<(Loc, Option<Loc>), String> {
    let field = fields.field();
    let mut de = serde_json::Deserializer::from_str(line);
    let top = Top {
        field,
        group: fields.group.as_deref(),
    };
    let picked = top.deserialize(&mut de).and_then(|p| de.end().map(|()| p));
    let picked = match picked {
        Err(e) => return Err(format!("malformed JSON at column {}: {e}", e.column())),
        Ok(p) => p,
    };
    let base = line.as_ptr() as usize;
    let loc = |s: &Cow<'_, str>, extra: &mut String| match s {
        Cow::Borrowed(b) => {
            let a = b.as_ptr() as usize - base;
            Loc::Raw(a, a + b.len())
        }
        Cow::Owned(o) => put(extra, o),
    };
    if let Some((t, g)) = &picked {
        let fast_group = match g {
            None if fields.group.as_deref().is_some_and(|g| g.contains('.')) => None,
            None | Some(Val::Null) | Some(Val::Complex) => Some(None),
            Some(Val::Str(s)) => Some(Some(s)),
            Some(Val::Scalar) => None,
        };
        if let Some(fg) = fast_group {
            match t {
                Some(Val::Str(s)) => {
                    let tl = loc(s, extra);
                    return Ok((tl, fg.map(|g| loc(g, extra))));
                }
                Some(Val::Null) => return Err(format!("field `{field}` is null")),
                Some(Val::Complex) => return Err(format!("field `{field}` is not a string")),
                None if !field.contains('.') => return Err(format!("missing field `{field}`")),
                _ => {}
            }
        }
    }
    // The tree: dotted paths, numbers and booleans, a non-object line.
    let v: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Err(format!("malformed JSON at column {}: {e}", e.column())),
    };
    match json_get(&v, field) {
        None => Err(format!("missing field `{field}`")),
        Some(x) => match json_text(x) {
            None if x.is_null() => Err(format!("field `{field}` is null")),
            None => Err(format!("field `{field}` is not a string")),
            Some(t) => {
                let tl = put(extra, &t);
                let gl = fields
                    .group
                    .as_deref()
                    .and_then(|g| json_get(&v, g))
                    .and_then(json_text)
                    .map(|g| put(extra, &g));
                Ok((tl, gl))
            }
        },
    }
}

/// Screens `text`, in overlapping windows of at most `max_bytes` bytes when
/// it is longer (0: no limit). Findings keep exact offsets into `text`; a
/// finding is reported by the window it starts in before the overlap, so
/// none is reported twice. The overlap is a quarter of the window, at most
/// 64 KiB: a match longer than that across a window edge can be missed.
pub fn find_windowed(
    engine: &Engine,
    text: &str,
    max_bytes: usize,
    scratch: &mut Scratch,
) -> Vec<Finding> {
    let mut hits = Vec::new();
    hits_windowed(engine, text, max_bytes, scratch, &mut hits);
    engine.findings_from_hits(text, &hits)
}

/// Like [`find_windowed`], but leaves the compact hits in `out` (cleared
/// first; ordered by span, offsets into `text`): turn them into findings
/// with [`Engine::findings_from_hits`] only where strings are needed.
pub fn hits_windowed(
    engine: &Engine,
    text: &str,
    max_bytes: usize,
    scratch: &mut Scratch,
    out: &mut Vec<Hit>,
) {
    if max_bytes == 0 || text.len() <= max_bytes {
        engine.scan(text, scratch, out);
        return;
    }
    out.clear();
    let overlap = overlap_for(max_bytes);
    let mut win = Vec::new();
    let mut ws = 0usize;
    loop {
        let (we, next, last) = window_at(&text.as_bytes()[ws..], max_bytes, overlap);
        let (we, next) = (ws + we, ws + next);
        engine.scan(&text[ws..we], scratch, &mut win);
        for mut h in win.drain(..) {
            h.start += ws;
            h.end += ws;
            // All hits of one span start together: a finding is kept or
            // dropped whole.
            if last || h.start < next {
                out.push(h);
            }
        }
        if last {
            return;
        }
        ws = next;
    }
}

/// Screens one window of a long record (see [`run_map_windows`]): `out`
/// (cleared first) gets the hits that start below [`Window::keep_below`],
/// with offsets into the record. A record's windows, screened in order and
/// their hits put one after the other, give exactly what [`hits_windowed`]
/// gives for the whole record.
pub fn hits_in_window(
    engine: &Engine,
    text: &str,
    win: &Window,
    scratch: &mut Scratch,
    out: &mut Vec<Hit>,
) {
    engine.scan(text, scratch, out);
    let keep = win.keep_below.saturating_sub(win.start);
    out.retain(|h| win.last || h.start < keep);
    for h in out.iter_mut() {
        h.start += win.start;
        h.end += win.start;
    }
}

#[cfg(test)]
mod tests {
    use super::lines_inclusive;

    #[test]
    fn lines_inclusive_splits_as_split_inclusive() {
        for text in [
            "",
            "\n",
            "\n\n",
            "一",
            "一\n",
            "一\r\n二\n\n三",
            "a\nb\nc\n",
            "末行没有换行",
        ] {
            let got: Vec<&str> = lines_inclusive(text).collect();
            let want: Vec<&str> = text.split_inclusive('\n').collect();
            assert_eq!(got, want, "{text:?}");
        }
    }
}
