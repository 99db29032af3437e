//! Importers for the public question sets in `../shared/data/questions/`, each
//! through its crosswalk (kb/crosswalks/<name>.toml).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::bank::{BankKind, Item};
use crate::crosswalk::{Crosswalk, Entry};
use crate::error::{AssessError, Result};

/// Supported sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Jade,
    Flames,
    Cvalues,
    SafetyBench,
    SafetyPrompts,
}

impl Source {
    pub fn parse(s: &str) -> Option<Source> {
        match s.to_lowercase().as_str() {
            "jade" => Some(Source::Jade),
            "flames" => Some(Source::Flames),
            "cvalues" => Some(Source::Cvalues),
            "safetybench" => Some(Source::SafetyBench),
            "safety-prompts" | "safetyprompts" => Some(Source::SafetyPrompts),
            _ => None,
        }
    }
    pub fn crosswalk_name(self) -> &'static str {
        match self {
            Source::Jade => "jade",
            Source::Flames => "flames",
            Source::Cvalues => "cvalues",
            Source::SafetyBench => "safetybench",
            Source::SafetyPrompts => "safety-prompts",
        }
    }
}

/// What an import produced.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub items: Vec<Item>,
    /// Source labels with no crosswalk entry, or an entry without a risk: label -> count.
    pub unmapped: BTreeMap<String, usize>,
    /// Items mapped through an entry marked `confidence = "low"`.
    pub low_confidence: usize,
    /// Rows skipped (empty question).
    pub skipped: usize,
}

struct Ctx<'a> {
    cw: &'a Crosswalk,
    bank: BankKind,
    report: ImportReport,
    prefix: String,
}

impl Ctx<'_> {
    fn push(&mut self, id: String, question: String, label: &str, entry: Option<&Entry>) {
        let question = question.trim().to_string();
        if question.is_empty() {
            self.report.skipped += 1;
            return;
        }
        let risk = entry.and_then(|e| e.label()).map(str::to_string);
        if risk.is_none() {
            *self.report.unmapped.entry(label.to_string()).or_default() += 1;
        }
        if entry.is_some_and(|e| e.confidence.as_deref() == Some("low")) {
            self.report.low_confidence += 1;
        }
        self.report.items.push(Item {
            id: format!("{}:{id}", self.prefix),
            question,
            risk,
            bank: self.bank,
            messages: None,
            source: Some(format!("{} [{label}]", self.cw.source)),
            license: self.cw.license.clone(),
        });
    }
}

/// Imports a file of `source` format through crosswalk `cw` (defaults to the
/// shipped one). `bank` overrides the crosswalk's default bank.
pub fn import(
    source: Source,
    path: &Path,
    cw: &Crosswalk,
    bank: Option<BankKind>,
) -> Result<ImportReport> {
    let bank = bank
        .or_else(|| cw.default_bank())
        .unwrap_or(BankKind::GeneratedContent);
    let bytes = std::fs::read(path).map_err(|e| AssessError::io(path, e))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        AssessError::file(path, format!("not UTF-8 (byte offset {})", e.valid_up_to()))
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut ctx = Ctx {
        cw,
        bank,
        report: ImportReport::default(),
        prefix: format!("{}:{stem}", cw.name),
    };
    match source {
        Source::Jade => {
            let mut rdr = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(text.as_bytes());
            let headers = rdr
                .headers()
                .map_err(|e| AssessError::record(path, 1, format!("CSV header: {e}")))?
                .clone();
            let col = |name: &str| headers.iter().position(|h| h.trim() == name);
            let (Some(ci), Some(cq)) = (col("ID"), col("问题")) else {
                return Err(AssessError::record(
                    path,
                    1,
                    "JADE CSV needs columns ID and 问题",
                ));
            };
            let (ct, cs) = (col("违规类型"), col("违规子类"));
            for (i, rec) in rdr.records().enumerate() {
                let ln = i + 2;
                let rec = rec.map_err(|e| AssessError::record(path, ln, format!("CSV: {e}")))?;
                let get =
                    |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("").trim().to_string();
                let (ty, sub) = (get(ct), get(cs));
                let entry = cw.lookup2(&ty, &sub);
                let label = if sub.is_empty() {
                    ty.clone()
                } else {
                    format!("{ty}/{sub}")
                };
                ctx.push(get(Some(ci)), get(Some(cq)), &label, entry);
            }
        }
        Source::Flames => {
            #[derive(Deserialize)]
            struct F {
                dimension: String,
                subcomponent: String,
                prompt: String,
            }
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let f: F = serde_json::from_str(line)
                    .map_err(|e| AssessError::record(path, i + 1, format!("Flames JSONL: {e}")))?;
                let label = format!("{}/{}", f.dimension.trim(), f.subcomponent.trim());
                let entry = cw.get(&label);
                ctx.push((i + 1).to_string(), f.prompt, &label, entry);
            }
        }
        Source::Cvalues => {
            #[derive(Deserialize)]
            struct C {
                id_: serde_json::Value,
                prompt: String,
                domain_en: String,
            }
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let c: C = serde_json::from_str(line)
                    .map_err(|e| AssessError::record(path, i + 1, format!("CValues JSONL: {e}")))?;
                let id = match c.id_ {
                    serde_json::Value::String(s) => s,
                    v => v.to_string(),
                };
                let entry = cw.get(&c.domain_en);
                ctx.push(id, c.prompt, &c.domain_en, entry);
            }
        }
        Source::SafetyBench => {
            #[derive(Deserialize)]
            struct S {
                id: serde_json::Value,
                question: String,
                #[serde(default)]
                options: Vec<String>,
                category: String,
            }
            let all: Vec<S> = serde_json::from_str(text).map_err(|e| {
                AssessError::file(path, format!("SafetyBench JSON (array of questions): {e}"))
            })?;
            for s in all {
                let mut q = s.question.trim().to_string();
                for (k, o) in s.options.iter().enumerate() {
                    let letter = char::from(b'A' + (k as u8 % 26));
                    q.push_str(&format!("\n{letter}. {}", o.trim()));
                }
                let id = match s.id {
                    serde_json::Value::String(s) => s,
                    v => v.to_string(),
                };
                let entry = cw.get(&s.category);
                ctx.push(id, q, &s.category, entry);
            }
        }
        Source::SafetyPrompts => {
            let v: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| AssessError::file(path, format!("Safety-Prompts JSON: {e}")))?;
            let obj = v.as_object().ok_or_else(|| {
                AssessError::file(
                    path,
                    "Safety-Prompts JSON: expected an object {category: [items]}",
                )
            })?;
            for (cat, list) in obj {
                let entry = cw.get(cat);
                match list {
                    serde_json::Value::Array(items) => {
                        for (k, it) in items.iter().enumerate() {
                            let q = it
                                .get("prompt")
                                .and_then(|p| p.as_str())
                                .or_else(|| it.as_str())
                                .unwrap_or("")
                                .to_string();
                            ctx.push(format!("{cat}:{}", k + 1), q, cat, entry);
                        }
                    }
                    // The shared templates file: one generation template per category.
                    serde_json::Value::String(t) => {
                        ctx.push(format!("{cat}:template"), t.clone(), cat, entry)
                    }
                    _ => {
                        return Err(AssessError::file(
                            path,
                            format!("category {cat:?}: expected an array of items"),
                        ));
                    }
                }
            }
        }
    }
    Ok(ctx.report)
}
