//! A progress bar on stderr (bytes, records, rate), only when stderr is a
//! terminal; silent otherwise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress of a scan.
pub struct Progress {
    bar: Option<ProgressBar>,
    records: u64,
    bytes: u64,
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
            bar,
            records: 0,
            bytes: 0,
        }
    }

    /// Counts one record of `bytes` bytes.
    pub fn record(&mut self, bytes: usize) {
        self.records += 1;
        self.bytes += bytes as u64 + 1;
        if let Some(b) = &self.bar
            && self.records.is_multiple_of(4096)
        {
            b.set_position(self.bytes);
            b.set_message(self.records.to_string());
        }
    }

    /// Prints a line above the bar (or plainly).
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
