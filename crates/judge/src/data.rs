//! Labelled data: JSONL lines `{"text": "...", "label": "..."}`.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::JudgeError;
use crate::model::hex;

/// One labelled text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub text: String,
    pub label: String,
    /// Clean background text (added as the safe label), not labelled data.
    pub background: bool,
}

/// A labelled file, read.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub examples: Vec<Example>,
    /// 1-based line of each example.
    pub lines: Vec<usize>,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
}

/// Field names of labelled JSONL.
#[derive(Debug, Clone)]
pub struct Fields {
    pub text: String,
    pub label: String,
}

impl Default for Fields {
    fn default() -> Self {
        Fields {
            text: "text".into(),
            label: "label".into(),
        }
    }
}

/// Reads a labelled JSONL file. Every bad line is an error naming the file
/// and the line; an empty file is an error.
pub fn read_labelled(path: &Path, fields: &Fields) -> Result<Labelled, JudgeError> {
    let bytes = std::fs::read(path).map_err(|e| JudgeError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    parse_labelled(&path.display().to_string(), &bytes, fields)
}

/// Parses labelled JSONL bytes; `name` names the source in errors.
pub fn parse_labelled(name: &str, bytes: &[u8], fields: &Fields) -> Result<Labelled, JudgeError> {
    let sha256 = hex(&Sha256::digest(bytes));
    let bad = |line: usize, message: String| JudgeError::BadLine {
        path: name.to_owned(),
        line,
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        bad(line, format!("invalid UTF-8 at byte {}", e.valid_up_to()))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut examples = Vec::new();
    let mut lines = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(raw).map_err(|e| bad(line, format!("not JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad(line, "not a JSON object".into()))?;
        let keys = || {
            obj.keys()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let get = |field: &str, what: &str| -> Result<String, JudgeError> {
            match obj.get(field) {
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                Some(serde_json::Value::Number(n)) if what == "label" => Ok(n.to_string()),
                Some(other) => Err(bad(
                    line,
                    format!("{what} field {field:?} is not a string: {other}"),
                )),
                None => Err(bad(
                    line,
                    format!(
                        "no {what} field {field:?} (fields: {}); name it with --{}",
                        keys(),
                        if what == "label" {
                            "label-field"
                        } else {
                            "field"
                        }
                    ),
                )),
            }
        };
        let t = get(&fields.text, "text")?;
        let label = get(&fields.label, "label")?;
        let label = label.trim().to_owned();
        if label.is_empty() {
            return Err(bad(line, "empty label".into()));
        }
        examples.push(Example {
            text: t,
            label,
            background: false,
        });
        lines.push(line);
    }
    if examples.is_empty() {
        return Err(JudgeError::BadFile {
            path: name.to_owned(),
            message: "no examples (the file is empty or has only blank lines)".into(),
        });
    }
    Ok(Labelled {
        examples,
        lines,
        sha256,
    })
}

/// SHA-256 of a file's bytes (streamed).
pub fn file_sha256(path: &Path) -> Result<String, JudgeError> {
    use std::io::Read;
    let io = |e| JudgeError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}
