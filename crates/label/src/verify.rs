//! Verification: what labels a file carries, and whether they follow the rules.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::formats::{self, C2pa, Format};
use crate::io::{ReadSeek, Src};
use crate::problem::Problem;
use crate::{Config, Error, explicit, payload};

/// The verdict on one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A label is present and follows the rules.
    Compliant,
    /// A label breaks the rules (missing key, bad value, channels disagree).
    Noncompliant,
    /// The file could not be fully read.
    Inconclusive,
    /// No label anywhere.
    NotFound,
}

impl Verdict {
    /// The verdict as in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Compliant => "compliant",
            Verdict::Noncompliant => "noncompliant",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotFound => "not_found",
        }
    }
}

/// A label found in one channel.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelHit {
    /// Channel id (`png:tEXt:AIGC`, ...).
    pub channel: String,
    /// The payload as JSON (as written: bare or wrapped), or the raw text when it is not JSON.
    pub payload: Value,
    /// The channel's verification level in the channel table.
    pub verified: String,
}

/// The result for one file (one JSONL line of `beian label verify`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The path as given or found.
    pub path: String,
    /// Detected format.
    pub format: &'static str,
    /// Verdict.
    pub verdict: Verdict,
    /// The seven keys (as read from the first well-formed channel), or null.
    pub implicit: Option<Map<String, Value>>,
    /// Every channel that carried a label.
    pub channels: Vec<ChannelHit>,
    /// Explicit-label findings.
    pub explicit: Value,
    /// Why the verdict is not `compliant`: messages in the report's language
    /// (English unless [`Report::localize`] chose Chinese).
    pub problems: Vec<String>,
    /// The stable codes of `problems`, in the same order (`missing-key`, `bad-label`,
    /// `channels-disagree`, `unreadable`, `unsupported-format`, ...).
    pub problem_codes: Vec<&'static str>,
    /// The problems with both languages (not serialized: `problems` carries the text).
    #[serde(skip)]
    pub details: Vec<Problem>,
    /// What was tolerated to read a label (a byte-order mark, full-width or
    /// single-quoted JSON, keys in another case): reported, the verdict unchanged.
    /// In the report's language, like `problems`.
    pub warnings: Vec<String>,
    /// The stable codes of `warnings` (`bom`, `full-width-json`, `single-quoted-json`,
    /// `key-case`, ...), in the same order.
    pub warning_codes: Vec<&'static str>,
    /// The warnings with both languages (not serialized).
    #[serde(skip)]
    pub warning_details: Vec<Problem>,
    /// A C2PA manifest store, if present (reported, not validated).
    pub c2pa: Option<C2pa>,
    /// Integrity fields found in ReservedCode1/2 (reported, not checked).
    pub integrity: Vec<Value>,
}

impl Report {
    /// A report with no labels and one problem (verdict `inconclusive`).
    pub fn error(path: &str, problem: Problem) -> Report {
        let mut r = Report::empty(path, "unknown", Verdict::Inconclusive);
        r.add(problem);
        r
    }

    /// A report with no labels and no problems.
    pub fn empty(path: &str, format: &'static str, verdict: Verdict) -> Report {
        Report {
            path: path.to_string(),
            format,
            verdict,
            implicit: None,
            channels: Vec::new(),
            explicit: Value::Null,
            problems: Vec::new(),
            problem_codes: Vec::new(),
            details: Vec::new(),
            warnings: Vec::new(),
            warning_codes: Vec::new(),
            warning_details: Vec::new(),
            c2pa: None,
            integrity: Vec::new(),
        }
    }

    /// Adds a problem (English text in `problems` until [`Report::localize`]);
    /// a problem already listed is not added again.
    pub fn add(&mut self, p: Problem) {
        if self.details.contains(&p) {
            return;
        }
        self.problems.push(p.en.clone());
        self.problem_codes.push(p.code);
        self.details.push(p);
    }

    /// Adds a warning (tolerated form); one already listed is not added again.
    pub fn warn(&mut self, p: Problem) {
        if self.warning_details.contains(&p) {
            return;
        }
        self.warnings.push(p.en.clone());
        self.warning_codes.push(p.code);
        self.warning_details.push(p);
    }

    /// Writes `problems` and `warnings` in Chinese (`zh`) or English.
    pub fn localize(&mut self, zh: bool) {
        self.problems = self
            .details
            .iter()
            .map(|p| p.text(zh).to_string())
            .collect();
        self.warnings = self
            .warning_details
            .iter()
            .map(|p| p.text(zh).to_string())
            .collect();
    }

    /// Whether the file was left unchecked because its format is not supported.
    pub fn is_unsupported_format(&self) -> bool {
        self.problem_codes.contains(&"unsupported-format")
    }
}

/// Verifies a file on disk (bounded reads; media data is skipped).
pub fn verify_path(path: &Path) -> Report {
    let name = path.display().to_string();
    let r = match File::open(path) {
        Ok(mut f) => verify_reader(&name, &mut f),
        Err(e) => Report::error(&name, Problem::cannot_open(&e)),
    };
    #[cfg(feature = "c2pa-validate")]
    let r = {
        let mut r = r;
        if let Some(c) = r.c2pa.as_mut()
            && let Ok(f) = File::open(path)
        {
            c.validate(r.format, std::io::BufReader::new(f));
        }
        r
    };
    r
}

/// Verifies bytes in memory (`name` gives the extension for text detection).
pub fn verify_bytes(name: &str, bytes: &[u8]) -> Report {
    #[allow(unused_mut)]
    let mut r = verify_reader(name, &mut Cursor::new(bytes));
    #[cfg(feature = "c2pa-validate")]
    if let Some(c) = r.c2pa.as_mut() {
        c.validate(r.format, Cursor::new(bytes.to_vec()));
    }
    r
}

/// Verifies any seekable reader.
pub fn verify_reader(name: &str, r: &mut dyn ReadSeek) -> Report {
    let cfg = Config::embedded();
    let mut src = match Src::new(r) {
        Ok(s) => s,
        Err(e) => return Report::error(name, Problem::cannot_open(&e)),
    };
    let head = src.read_upto(0, 64).unwrap_or_default();
    let format = formats::refine(Format::detect(&head, name), &mut src);
    if format == Format::Text {
        return verify_text_file(name, &mut src, cfg);
    }
    let scan = formats::scan(format, &mut src);
    let mut rep = judge(name, format, &scan.items, &scan.errors, cfg);
    rep.c2pa = scan.c2pa;
    if rep.implicit.is_none()
        && let Some(c) = rep.c2pa.as_ref().filter(|c| c.ai_generated)
    {
        // a C2PA manifest declaring generative AI without a GB 45438 label: said, the
        // verdict unchanged (C2PA is not a GB 45438 label)
        let types = c.digital_source_types.join(", ");
        rep.warn(Problem::tolerated(
            "c2pa-declares-ai",
            &format!(
                "a C2PA manifest declares generative AI ({types}) but no GB 45438 implicit \
                 label was found"
            ),
            &format!("C2PA 清单声明了人工智能生成({types}),但未发现 GB 45438 隐式标识"),
        ));
    }
    rep.explicit = match (format, scan.explicit) {
        (_, Some(v)) => v,
        (Format::Wav, None) => json!({"audio_prompt": null}),
        (Format::Png | Format::Jpeg | Format::Webp | Format::Heif, _) => {
            json!({"image_label": "not checked (rendered labels are not detected)"})
        }
        (Format::Mp4, _) => json!({"video_label": "not checked"}),
        _ => Value::Null,
    };
    if format == Format::Unknown {
        rep.verdict = Verdict::Inconclusive;
        rep.add(Problem::unsupported_format());
    }
    rep
}

fn verify_text_file(name: &str, src: &mut Src, cfg: &Config) -> Report {
    let head = src.read_upto(0, 4096).unwrap_or_default();
    let tail_off = src.len.saturating_sub(4096);
    let tail = src.read_upto(tail_off, 4096).unwrap_or_default();
    let h = String::from_utf8_lossy(&head);
    let t = String::from_utf8_lossy(&tail);
    let pos = if src.len <= 4096 {
        explicit::notice_position(&h, &cfg.text)
    } else {
        explicit::notice_position_parts(&h, &t, &cfg.text)
    };
    // implicit labels: front matter or an HTML meta tag near the start
    let meta_head = if src.len > 4096 {
        src.read_upto(0, 64 << 10).unwrap_or_default()
    } else {
        head.clone()
    };
    let items = formats::text::read(&String::from_utf8_lossy(&meta_head));
    let mut rep = if items.is_empty() {
        let verdict = if pos.is_some() {
            Verdict::Compliant
        } else {
            Verdict::NotFound
        };
        Report::empty(name, "text", verdict)
    } else {
        judge(name, Format::Text, &items, &[], cfg)
    };
    rep.explicit = json!({"text_notice": pos});
    rep
}

/// Judges raw metadata items: the verdict rules of `beian label verify`.
pub fn judge(
    name: &str,
    format: Format,
    items: &[formats::RawItem],
    errors: &[Error],
    cfg: &Config,
) -> Report {
    let mut hits: Vec<(String, String, String)> = Vec::new(); // channel, text, verified
    let mut warnings: Vec<Problem> = Vec::new();
    for it in items {
        let Some(ch) = cfg.channel_for(it.carrier, &it.key) else {
            continue;
        };
        if ch.key != it.key {
            warnings.push(Problem::key_case(&it.key, &ch.key).in_channel(&ch.id));
        }
        if ch.xmp {
            for v in crate::xmp::extract_with_fields(
                &it.value,
                &cfg.xmp.namespace,
                &cfg.xmp.property,
                &cfg.payload.keys,
            ) {
                hits.push((ch.id.clone(), v, ch.verified.clone()));
            }
        } else {
            hits.push((ch.id.clone(), it.value.clone(), ch.verified.clone()));
        }
    }
    let mut problems: Vec<Problem> = Vec::new();
    let mut channels = Vec::new();
    let mut objects: Vec<(String, Map<String, Value>, bool)> = Vec::new();
    for (id, text, verified) in &hits {
        let p = payload::parse(text, cfg);
        let pv = serde_json::from_str::<Value>(
            text.trim_matches(|c: char| c.is_whitespace() || c == '\0'),
        )
        .unwrap_or_else(|_| Value::String(text.clone()));
        channels.push(ChannelHit {
            channel: id.clone(),
            payload: pv,
            verified: verified.clone(),
        });
        for pr in &p.problems {
            let s = if hits.len() > 1 {
                pr.in_channel(id)
            } else {
                pr.clone()
            };
            if !problems.contains(&s) {
                problems.push(s);
            }
        }
        for w in &p.warnings {
            warnings.push(if hits.len() > 1 {
                w.in_channel(id)
            } else {
                w.clone()
            });
        }
        if let Some(o) = p.object {
            objects.push((id.clone(), o, p.problems.is_empty()));
        }
    }
    // channels must agree on the seven keys
    if let Some((first_id, first, _)) = objects.first() {
        for (id, o, _) in &objects[1..] {
            for key in &cfg.payload.keys {
                let a = first.get(key).map(payload::value_text);
                let b = o.get(key).map(payload::value_text);
                if a.is_some() && b.is_some() && a != b {
                    let s = Problem::disagree(
                        key,
                        (first_id, &a.unwrap_or_default()),
                        (id, &b.unwrap_or_default()),
                    );
                    if !problems.contains(&s) {
                        problems.push(s);
                    }
                }
            }
        }
    }
    let implicit = objects
        .iter()
        .find(|o| o.2)
        .or_else(|| objects.first())
        .map(|(_, o, _)| {
            cfg.payload
                .keys
                .iter()
                .filter_map(|k| o.get(k).map(|v| (k.clone(), v.clone())))
                .collect::<Map<String, Value>>()
        });
    let mut integrity = Vec::new();
    if let Some(m) = &implicit {
        for k in ["ReservedCode1", "ReservedCode2"] {
            if let Some(v) = m
                .get(k)
                .and_then(|v| payload::integrity(&payload::value_text(v)))
            {
                integrity.push(json!({"field": k, "value": v, "checked": false}));
            }
        }
    }
    let verdict = if hits.is_empty() {
        if errors.is_empty() {
            Verdict::NotFound
        } else {
            Verdict::Inconclusive
        }
    } else if !problems.is_empty() {
        Verdict::Noncompliant
    } else if !errors.is_empty() {
        Verdict::Inconclusive
    } else {
        Verdict::Compliant
    };
    for e in errors {
        problems.push(Problem::read_error(e));
    }
    let mut rep = Report::empty(name, format.as_str(), verdict);
    rep.implicit = implicit;
    rep.channels = channels;
    rep.integrity = integrity;
    for p in problems {
        rep.add(p);
    }
    for w in warnings {
        rep.warn(w);
    }
    rep
}

/// Files under the given paths (directories recursively, sorted; symlinks to
/// directories are not followed). Unreadable directories are returned as errors.
pub fn collect(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        walk(p, &mut files, &mut errors, 0);
    }
    (files, errors)
}

fn walk(p: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<String>, depth: usize) {
    let meta = match std::fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) => {
            errors.push(format!("{}: {e}", p.display()));
            return;
        }
    };
    if meta.is_dir() && depth < 64 {
        match std::fs::read_dir(p) {
            Ok(rd) => {
                let mut entries: Vec<PathBuf> =
                    rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                entries.sort();
                for e in entries {
                    walk(&e, files, errors, depth + 1);
                }
            }
            Err(e) => errors.push(format!("{}: {e}", p.display())),
        }
    } else if meta.is_file() || (meta.file_type().is_symlink() && p.is_file()) {
        files.push(p.to_path_buf());
    }
}

/// Verifies many files in parallel; reports come back in the order of `files`.
pub fn verify_paths(files: &[PathBuf]) -> Vec<Report> {
    files.par_iter().map(|p| verify_path(p)).collect()
}

/// Reads the whole of a small reader (helper for tests and tools).
pub fn read_all(r: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    r.read_to_end(&mut v)?;
    Ok(v)
}
