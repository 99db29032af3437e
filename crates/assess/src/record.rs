//! `results.jsonl` records, crash-tolerant reading, and effective outcomes
//! (automatic verdicts overridden by human review).

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bank::BankKind;
use crate::client::{CallError, Completion};
use crate::error::{AssessError, Result};
use crate::judge::{ContentFinding, GuardVerdict, RefusalVerdict};

/// All judges' verdicts on one answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemVerdict {
    pub refusal: RefusalVerdict,
    #[serde(default)]
    pub content: Vec<ContentFinding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<GuardVerdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard_error: Option<String>,
    /// Combined: the answer is a refusal (guard's Refusal line when present, else the rules).
    pub refused: bool,
    /// Combined: no content finding and the guard (if any) did not say Unsafe.
    pub qualified: bool,
    /// Why a human should look (judges disagree, guard says Controversial…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uncertain: Vec<String>,
    /// Where the answer carries the explicit AIGC text notice (LABEL-2025 Art. 4,
    /// GB 45438): "start", "end", or null when it carries none (beian-label).
    #[serde(default)]
    pub text_notice: Option<String>,
}

/// One line of `results.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemRecord {
    pub id: String,
    pub bank: BankKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
    pub question: String,
    /// The request body sent (model, messages, sampling parameters).
    pub request: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Completion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CallError>,
    pub attempts: u32,
    pub latency_ms: u64,
    pub total_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_token_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<ItemVerdict>,
    pub at: String,
}

impl ItemRecord {
    /// Completed: answered and judged. Error records are retried on resume.
    pub fn is_complete(&self) -> bool {
        self.response.is_some() && self.verdict.is_some()
    }
}

/// What reading `results.jsonl` found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub records: Vec<ItemRecord>,
    /// Byte length of the valid prefix (a truncated last line is excluded).
    pub valid_len: u64,
    pub truncated_tail: bool,
}

/// Reads `results.jsonl`, tolerating a truncated or half-written last line (a
/// crash mid-write). A bad line elsewhere is an error naming the line.
pub fn load_results(path: &Path) -> Result<Loaded> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::default()),
        Err(e) => return Err(AssessError::io(path, e)),
    };
    let mut out = Loaded::default();
    let mut pos = 0usize;
    let mut line_no = 0usize;
    while pos < bytes.len() {
        line_no += 1;
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| pos + i);
        let (line, next, complete) = match end {
            Some(e) => (&bytes[pos..e], e + 1, true),
            None => (&bytes[pos..], bytes.len(), false),
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            pos = next;
            if complete {
                out.valid_len = pos as u64;
            }
            continue;
        }
        match serde_json::from_slice::<ItemRecord>(line) {
            Ok(r) if complete => {
                out.records.push(r);
                out.valid_len = next as u64;
            }
            // The last line may be cut short by a crash (with or without its newline).
            _ if !complete || next >= bytes.len() => {
                out.truncated_tail = true;
                break;
            }
            Err(e) => {
                return Err(AssessError::record(
                    path,
                    line_no,
                    format!("invalid result record: {e}"),
                ));
            }
            Ok(_) => {}
        }
        pos = next;
    }
    Ok(out)
}

/// Truncates `results.jsonl` to its valid prefix and opens it for appending.
pub fn open_for_append(path: &Path, valid_len: u64) -> Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| AssessError::io(path, e))?;
    let len = f.metadata().map_err(|e| AssessError::io(path, e))?.len();
    if len > valid_len {
        f.set_len(valid_len).map_err(|e| AssessError::io(path, e))?;
    }
    Ok(f)
}

/// Appends one record as a line; the write is a single `write_all` on an
/// unbuffered file so a completed line is on disk when this returns.
pub fn append(f: &mut std::fs::File, rec: &ItemRecord) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(rec).map_err(std::io::Error::other)?;
    line.push(b'\n');
    f.write_all(&line)
}

/// A human reviewer's decision on one item (`review.jsonl`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReviewDecision {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

pub fn load_reviews(path: &Path) -> Result<HashMap<String, ReviewDecision>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(AssessError::io(path, e)),
    };
    let mut m = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let d: ReviewDecision = serde_json::from_str(line).map_err(|e| {
            AssessError::record(path, i + 1, format!("invalid review decision: {e}"))
        })?;
        m.insert(d.id.clone(), d);
    }
    Ok(m)
}

/// The effective outcome of one answered item.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub id: String,
    pub bank: BankKind,
    pub risk: Option<String>,
    pub refused: bool,
    pub qualified: bool,
    pub uncertain: bool,
    pub reviewed: bool,
    /// The answer carries the explicit AIGC text notice.
    pub text_notice: bool,
}

/// Latest complete record per id among `sampled` ids (never two per id), plus
/// error counts for ids never completed.
pub fn effective(
    records: &[ItemRecord],
    sampled: &BTreeMap<BankKind, Vec<String>>,
    reviews: &HashMap<String, ReviewDecision>,
) -> (
    Vec<Outcome>,
    BTreeMap<String, ItemRecord>,
    BTreeMap<BankKind, usize>,
) {
    let wanted: std::collections::HashSet<&str> =
        sampled.values().flatten().map(String::as_str).collect();
    let mut best: BTreeMap<String, ItemRecord> = BTreeMap::new();
    let mut errored: BTreeMap<String, BankKind> = BTreeMap::new();
    for r in records {
        if !wanted.contains(r.id.as_str()) {
            continue;
        }
        if r.is_complete() {
            best.insert(r.id.clone(), r.clone());
        } else {
            errored.insert(r.id.clone(), r.bank);
        }
    }
    let mut errors: BTreeMap<BankKind, usize> = BTreeMap::new();
    for (id, bank) in &errored {
        if !best.contains_key(id) {
            *errors.entry(*bank).or_default() += 1;
        }
    }
    let outcomes = best
        .values()
        .filter_map(|r| {
            let v = r.verdict.as_ref()?;
            let rev = reviews.get(&r.id);
            Some(Outcome {
                id: r.id.clone(),
                bank: r.bank,
                risk: r.risk.clone(),
                refused: rev.and_then(|d| d.refused).unwrap_or(v.refused),
                qualified: rev.and_then(|d| d.qualified).unwrap_or(v.qualified),
                uncertain: !v.uncertain.is_empty(),
                reviewed: rev.is_some(),
                text_notice: v.text_notice.is_some(),
            })
        })
        .collect();
    (outcomes, best, errors)
}
