//! The parallel pipeline: one reader thread cuts the inputs into batches,
//! `threads` workers screen them, and the caller's thread receives the
//! results in input order. A fixed number of batches is in flight at once,
//! so memory stays bounded whatever the input size.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use beian_screen::{Engine, Finding, Scratch};

use crate::input::{FieldSpec, InputSpec, Item, RecordErr, RecordIn, read_input};

/// A screened record.
#[derive(Debug, Clone)]
pub struct Scanned {
    pub rec: RecordIn,
    pub findings: Vec<Finding>,
}

/// What the caller receives, in input order.
#[derive(Debug, Clone)]
pub enum Out {
    Rec(Scanned),
    Err(RecordErr),
}

/// Pipeline settings.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Records per batch at most.
    pub batch_records: usize,
    /// Text bytes per batch at most (a single larger record still forms a batch).
    pub batch_bytes: usize,
    /// Batches in flight at most (reading, screening, or waiting to be written).
    pub in_flight: usize,
}

impl PipelineConfig {
    pub fn with_threads(threads: usize) -> Self {
        let threads = threads.max(1);
        PipelineConfig {
            threads,
            batch_records: 2048,
            batch_bytes: 1 << 20,
            in_flight: threads * 4,
        }
    }
}

type Job = (u64, Vec<Item>);
type Done = (u64, Vec<Out>);

/// Runs the pipeline. `sink` sees every record and record error in input
/// order; it returns `false` to stop early (for example when stdout closed).
pub fn run(
    engine: &Engine,
    inputs: &[InputSpec],
    fields: &FieldSpec,
    cfg: &PipelineConfig,
    sink: &mut dyn FnMut(Out) -> bool,
) {
    let (job_tx, job_rx) = sync_channel::<Job>(cfg.in_flight);
    let (done_tx, done_rx) = sync_channel::<Done>(cfg.in_flight);
    let (token_tx, token_rx) = sync_channel::<()>(cfg.in_flight);
    for _ in 0..cfg.in_flight {
        let _ = token_tx.send(());
    }
    let job_rx = Arc::new(Mutex::new(job_rx));
    std::thread::scope(|s| {
        s.spawn(move || reader(inputs, fields, cfg, job_tx, token_rx));
        for _ in 0..cfg.threads {
            let rx = Arc::clone(&job_rx);
            let tx = done_tx.clone();
            s.spawn(move || worker(engine, rx, tx));
        }
        drop(done_tx);
        let mut pending: BTreeMap<u64, Vec<Out>> = BTreeMap::new();
        let mut next = 0u64;
        'outer: while let Ok((seq, outs)) = done_rx.recv() {
            pending.insert(seq, outs);
            while let Some(outs) = pending.remove(&next) {
                next += 1;
                for o in outs {
                    if !sink(o) {
                        break 'outer;
                    }
                }
                // The reader may be done (receiver gone): that is fine.
                let _ = token_tx.try_send(());
            }
        }
        // Dropping the receivers and the token sender stops reader and workers.
        drop(done_rx);
        drop(token_tx);
    });
}

fn reader(
    inputs: &[InputSpec],
    fields: &FieldSpec,
    cfg: &PipelineConfig,
    job_tx: SyncSender<Job>,
    tokens: Receiver<()>,
) {
    let mut seq = 0u64;
    let mut batch: Vec<Item> = Vec::with_capacity(cfg.batch_records);
    let mut bytes = 0usize;
    let mut alive = true;
    let mut send = |batch: &mut Vec<Item>, bytes: &mut usize| -> bool {
        if batch.is_empty() {
            return true;
        }
        if tokens.recv().is_err() {
            return false;
        }
        let b = std::mem::replace(batch, Vec::with_capacity(cfg.batch_records));
        *bytes = 0;
        let ok = job_tx.send((seq, b)).is_ok();
        seq += 1;
        ok
    };
    for (i, spec) in inputs.iter().enumerate() {
        let mut sink = |item: Item| {
            if let Item::Rec(r) = &item {
                bytes += r.text.len();
            }
            batch.push(item);
            if batch.len() >= cfg.batch_records || bytes >= cfg.batch_bytes {
                alive = send(&mut batch, &mut bytes);
            }
            alive
        };
        if let Err(e) = read_input(spec, i as u32, fields, &mut sink) {
            batch.push(Item::Err(RecordErr {
                source: i as u32,
                number: 0,
                offset: 0,
                message: e.to_string(),
            }));
        }
        if !alive {
            return;
        }
    }
    send(&mut batch, &mut bytes);
}

fn worker(engine: &Engine, rx: Arc<Mutex<Receiver<Job>>>, tx: SyncSender<Done>) {
    let mut scratch = Scratch::new();
    loop {
        let job = {
            let Ok(guard) = rx.lock() else { return };
            guard.recv()
        };
        let Ok((seq, items)) = job else { return };
        let outs = items
            .into_iter()
            .map(|it| match it {
                Item::Rec(rec) => {
                    let findings = engine.find_with(&rec.text, &mut scratch);
                    Out::Rec(Scanned { rec, findings })
                }
                Item::Err(e) => Out::Err(e),
            })
            .collect();
        if tx.send((seq, outs)).is_err() {
            return;
        }
    }
}
