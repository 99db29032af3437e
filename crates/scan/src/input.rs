//! Inputs: files, directories (recursive), stdin; text, JSONL, CSV, TSV,
//! Parquet; gzip and zstd detected by their magic bytes.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::ScanError;

/// How records are read from an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// One record per line.
    Text,
    /// One JSON object per line; the record is a string field.
    Jsonl,
    /// CSV with a header row; the record is a column.
    Csv,
    /// Tab-separated with a header row (no quoting).
    Tsv,
    /// Apache Parquet; the record is a string column.
    Parquet,
}

impl InputFormat {
    pub fn from_name(s: &str) -> Option<InputFormat> {
        Some(match s {
            "text" | "txt" => InputFormat::Text,
            "jsonl" | "ndjson" | "json" => InputFormat::Jsonl,
            "csv" => InputFormat::Csv,
            "tsv" => InputFormat::Tsv,
            "parquet" => InputFormat::Parquet,
            _ => return None,
        })
    }

    /// Guesses the format from a file name (compression suffixes ignored).
    pub fn from_path(p: &Path) -> InputFormat {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let base = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".zst"))
            .or_else(|| name.strip_suffix(".zstd"))
            .unwrap_or(&name);
        let ext = base.rsplit_once('.').map_or("", |(_, e)| e);
        match ext {
            "jsonl" | "ndjson" | "json" => InputFormat::Jsonl,
            "csv" => InputFormat::Csv,
            "tsv" | "tab" => InputFormat::Tsv,
            "parquet" | "pq" => InputFormat::Parquet,
            _ => InputFormat::Text,
        }
    }
}

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// `None` for stdin.
    pub path: Option<PathBuf>,
    /// Name used in output (`source`): the path as given, or `-`.
    pub name: String,
    pub format: InputFormat,
}

/// Expands the command's inputs: `-` is stdin, directories are walked
/// recursively in sorted order (hidden entries skipped).
pub fn expand_inputs(
    inputs: &[String],
    forced: Option<InputFormat>,
) -> Result<Vec<InputSpec>, ScanError> {
    let mut out = Vec::new();
    for i in inputs {
        if i == "-" {
            out.push(InputSpec {
                path: None,
                name: "-".into(),
                format: forced.unwrap_or(InputFormat::Text),
            });
            continue;
        }
        let p = PathBuf::from(i);
        let meta = std::fs::metadata(&p).map_err(|source| ScanError::Io {
            path: p.clone(),
            source,
        })?;
        let mut files = Vec::new();
        if meta.is_dir() {
            crate::lexicon::walk_dir(&p, &mut files, &|_| true)?;
        } else {
            files.push(p);
        }
        for f in files {
            out.push(InputSpec {
                name: f.display().to_string(),
                format: forced.unwrap_or_else(|| InputFormat::from_path(&f)),
                path: Some(f),
            });
        }
    }
    Ok(out)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ScanError + '_ {
    move |source| ScanError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Wraps a reader, decompressing gzip or zstd when its magic bytes say so.
pub fn decompress<R: Read + Send + 'static>(inner: R) -> std::io::Result<Box<dyn BufRead + Send>> {
    let mut br = BufReader::with_capacity(1 << 16, inner);
    let head = br.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(br),
        )))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            zstd::stream::read::Decoder::with_buffer(br)?,
        )))
    } else {
        Ok(Box::new(br))
    }
}

/// Opens a file (decompressing as needed).
pub fn open(path: &Path) -> Result<Box<dyn BufRead + Send>, ScanError> {
    let f = File::open(path).map_err(io_err(path))?;
    decompress(f).map_err(io_err(path))
}

/// Reads a whole (possibly compressed) file as UTF-8.
pub fn read_file_to_string(path: &Path) -> Result<String, ScanError> {
    let mut r = open(path)?;
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes).map_err(io_err(path))?;
    String::from_utf8(bytes).map_err(|e| ScanError::Utf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })
}

/// A record read from an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordIn {
    /// Index into the list of inputs.
    pub source: u32,
    /// 1-based line (text, JSONL) or data row (CSV, TSV, Parquet).
    pub number: u64,
    /// Byte offset of the record in the (decompressed) input.
    pub offset: u64,
    pub text: String,
    /// The `--by-source` field value, when grouping by a field.
    pub group: Option<String>,
}

/// A record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordErr {
    pub source: u32,
    /// 0 when the whole input failed.
    pub number: u64,
    pub offset: u64,
    pub message: String,
}

/// What a reader yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Rec(RecordIn),
    Err(RecordErr),
}

/// What field(s) to read.
#[derive(Debug, Clone, Default)]
pub struct FieldSpec {
    /// The text field or column (`text` by default; unused for plain text).
    pub field: Option<String>,
    /// A field or column giving the record's source, for `--by-source`.
    pub group: Option<String>,
}

impl FieldSpec {
    fn field(&self) -> &str {
        self.field.as_deref().unwrap_or("text")
    }
}

fn json_get<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    if let Some(x) = v.get(path) {
        return Some(x);
    }
    let mut cur = v;
    for part in path.split('.') {
        cur = match cur {
            serde_json::Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => cur.get(part)?,
        };
    }
    Some(cur)
}

fn json_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads one input, calling `sink` for every record or record error.
/// `sink` returns `false` to stop. Errors that stop the whole input (cannot
/// open, missing column) are returned.
pub fn read_input(
    spec: &InputSpec,
    source: u32,
    fields: &FieldSpec,
    sink: &mut dyn FnMut(Item) -> bool,
) -> Result<(), ScanError> {
    if spec.format == InputFormat::Parquet {
        let path = spec
            .path
            .as_deref()
            .ok_or_else(|| ScanError::Input("parquet cannot be read from stdin".into()))?;
        return crate::parquet_in::read_parquet(path, &spec.name, source, fields, sink);
    }
    let reader: Box<dyn BufRead + Send> = match &spec.path {
        Some(p) => open(p)?,
        None => decompress(std::io::stdin()).map_err(|source| ScanError::Io {
            path: PathBuf::from("-"),
            source,
        })?,
    };
    match spec.format {
        InputFormat::Text | InputFormat::Jsonl => read_lines(reader, spec, source, fields, sink),
        InputFormat::Csv | InputFormat::Tsv => read_delimited(reader, spec, source, fields, sink),
        InputFormat::Parquet => Ok(()),
    }
}

fn read_lines(
    mut reader: Box<dyn BufRead + Send>,
    spec: &InputSpec,
    source: u32,
    fields: &FieldSpec,
    sink: &mut dyn FnMut(Item) -> bool,
) -> Result<(), ScanError> {
    let mut buf = Vec::with_capacity(1 << 12);
    let mut offset = 0u64;
    let mut number = 0u64;
    let path = spec.path.clone().unwrap_or_else(|| PathBuf::from("-"));
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| ScanError::Io {
                path: path.clone(),
                source,
            })?;
        if n == 0 {
            return Ok(());
        }
        number += 1;
        let start = offset;
        offset += n as u64;
        let mut line: &[u8] = &buf;
        if let Some(l) = line.strip_suffix(b"\n") {
            line = l;
        }
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        if number == 1
            && let Some(l) = line.strip_prefix("\u{feff}".as_bytes())
        {
            line = l;
        }
        let err = |message: String| {
            Item::Err(RecordErr {
                source,
                number,
                offset: start,
                message,
            })
        };
        let text = match std::str::from_utf8(line) {
            Ok(t) => t,
            Err(e) => {
                let at = start + e.valid_up_to() as u64;
                if !sink(err(format!("invalid UTF-8 at byte {at}"))) {
                    return Ok(());
                }
                continue;
            }
        };
        // A blank line is no record (line numbers still count it).
        if text.trim().is_empty() {
            continue;
        }
        let item = if spec.format == InputFormat::Jsonl {
            match serde_json::from_str::<serde_json::Value>(text) {
                Err(e) => err(format!("malformed JSON at column {}: {e}", e.column())),
                Ok(v) => match json_get(&v, fields.field()) {
                    None => err(format!("missing field `{}`", fields.field())),
                    Some(x) => match json_text(x) {
                        None if x.is_null() => err(format!("field `{}` is null", fields.field())),
                        None => err(format!("field `{}` is not a string", fields.field())),
                        Some(t) => Item::Rec(RecordIn {
                            source,
                            number,
                            offset: start,
                            text: t,
                            group: fields
                                .group
                                .as_deref()
                                .and_then(|g| json_get(&v, g))
                                .and_then(json_text),
                        }),
                    },
                },
            }
        } else {
            Item::Rec(RecordIn {
                source,
                number,
                offset: start,
                text: text.to_owned(),
                group: None,
            })
        };
        if !sink(item) {
            return Ok(());
        }
    }
}

fn read_delimited(
    reader: Box<dyn BufRead + Send>,
    spec: &InputSpec,
    source: u32,
    fields: &FieldSpec,
    sink: &mut dyn FnMut(Item) -> bool,
) -> Result<(), ScanError> {
    let tsv = spec.format == InputFormat::Tsv;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(if tsv { b'\t' } else { b',' })
        .quoting(!tsv)
        .flexible(true)
        .has_headers(true)
        .from_reader(reader);
    let headers = rdr
        .byte_headers()
        .map_err(|e| ScanError::Input(format!("{}: cannot read the header row: {e}", spec.name)))?
        .clone();
    let find = |name: &str| {
        headers.iter().position(|h| {
            let h = h.strip_prefix("\u{feff}".as_bytes()).unwrap_or(h);
            h == name.as_bytes()
        })
    };
    let col = find(fields.field()).ok_or_else(|| {
        let names: Vec<String> = headers
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect();
        ScanError::Input(format!(
            "{}: record 0 (header) at byte 0: missing column `{}` (columns: {})",
            spec.name,
            fields.field(),
            names.join(", ")
        ))
    })?;
    let gcol = fields.group.as_deref().and_then(find);
    let mut rec = csv::ByteRecord::new();
    let mut number = 0u64;
    loop {
        let offset = rdr.position().byte();
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                number += 1;
                let item = match rec.get(col) {
                    None => Item::Err(RecordErr {
                        source,
                        number,
                        offset,
                        message: format!(
                            "row has no column `{}` ({} fields)",
                            fields.field(),
                            rec.len()
                        ),
                    }),
                    Some(b) => match std::str::from_utf8(b) {
                        Err(e) => Item::Err(RecordErr {
                            source,
                            number,
                            offset,
                            message: format!(
                                "invalid UTF-8 in column `{}` at byte {}",
                                fields.field(),
                                e.valid_up_to()
                            ),
                        }),
                        Ok(t) => Item::Rec(RecordIn {
                            source,
                            number,
                            offset,
                            text: t.to_owned(),
                            group: gcol
                                .and_then(|g| rec.get(g))
                                .map(|g| String::from_utf8_lossy(g).into_owned()),
                        }),
                    },
                };
                if !sink(item) {
                    return Ok(());
                }
            }
            Err(e) => {
                number += 1;
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                if !sink(Item::Err(RecordErr {
                    source,
                    number,
                    offset,
                    message: format!("malformed row: {e}"),
                })) || fatal
                {
                    return Ok(());
                }
            }
        }
    }
}
