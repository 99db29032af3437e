//! A progress bar on stderr (bytes, records, rate), only when stderr is a
//! terminal; silent otherwise.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress of a scan.
pub struct Progress {
    counter: ProgressCounter,
}

/// A handle on a [`Progress`] that other threads count with (a worker that
/// drops records the output thread never sees); cheap to clone.
#[derive(Clone)]
pub struct ProgressCounter {
    bar: Option<ProgressBar>,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    records: AtomicU64,
    bytes: AtomicU64,
}

impl Progress {
    /// A bar on stderr if it is a terminal and `enabled`.
    pub fn stderr(enabled: bool) -> Progress {
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
            let style = ProgressStyle::with_template("{spinner} {elapsed_precise} {binary_bytes} read, {msg} records, {binary_bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            b.set_style(style);
            b
        });
        Progress {
            counter: ProgressCounter {
                bar,
                counts: Arc::default(),
            },
        }
    }

    /// Counts one record of `bytes` bytes.
    pub fn record(&mut self, bytes: usize) {
        self.counter.add(1, bytes as u64);
    }

    /// A handle for other threads to count records with.
    pub fn counter(&self) -> ProgressCounter {
        self.counter.clone()
    }

    /// Prints a line above the bar (or plainly).
    pub fn println(&self, line: &str) {
        match &self.counter.bar {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.counter.bar {
            b.finish_and_clear();
        }
    }
}

impl ProgressCounter {
    /// Counts `records` records of `bytes` bytes of text in all (and a line
    /// break each); the bar moves every 4096 records.
    pub fn add(&self, records: u64, bytes: u64) {
        let Some(bar) = &self.bar else { return };
        let bytes = bytes + records;
        let r = self.counts.records.fetch_add(records, Ordering::Relaxed) + records;
        let b = self.counts.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if r / 4096 != (r - records) / 4096 {
            bar.set_position(b);
            bar.set_message(r.to_string());
        }
    }
}
