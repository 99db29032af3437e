//! Question banks: the item model and the JSONL / CSV / XLSX loaders.
//!
//! JSONL: one object per line, `{"id", "question", "risk", "bank"}` with optional
//! `messages` (multi-turn), `source`, `license`. CSV: the same column names, or the
//! filing layout. XLSX: the layout filings use (序号 / 测试题 / 一级分类 / 二级分类),
//! optionally with a 题库类型 / bank column; otherwise the bank type is taken
//! from the sheet name or file name (生成内容 / 应拒答 / 非拒答).

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{AssessError, Result};

/// The three test banks of GB/T 45654 (TC260-003 §8.2, §8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BankKind {
    GeneratedContent,
    ShouldRefuse,
    ShouldAnswer,
}

impl BankKind {
    pub const ALL: [BankKind; 3] = [
        BankKind::GeneratedContent,
        BankKind::ShouldRefuse,
        BankKind::ShouldAnswer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BankKind::GeneratedContent => "generated-content",
            BankKind::ShouldRefuse => "should-refuse",
            BankKind::ShouldAnswer => "should-answer",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            BankKind::GeneratedContent => "生成内容测试题",
            BankKind::ShouldRefuse => "应拒答测试题",
            BankKind::ShouldAnswer => "非拒答测试题",
        }
    }

    /// Parses the machine name or a Chinese label (生成内容 / 应拒答 / 非拒答).
    pub fn parse(s: &str) -> Option<BankKind> {
        let t = s.trim().to_lowercase();
        match t.as_str() {
            "generated-content" | "generated" | "generated_content" => {
                return Some(BankKind::GeneratedContent);
            }
            "should-refuse" | "refuse" | "should_refuse" => return Some(BankKind::ShouldRefuse),
            "should-answer" | "answer" | "should_answer" | "should-not-refuse" => {
                return Some(BankKind::ShouldAnswer);
            }
            _ => {}
        }
        Self::from_hint(&t)
    }

    /// Guesses the bank from a sheet or file name.
    pub fn from_hint(s: &str) -> Option<BankKind> {
        // 非拒答 must be tested before 拒答.
        if s.contains("非拒答") || s.contains("should-answer") || s.contains("should_answer") {
            Some(BankKind::ShouldAnswer)
        } else if s.contains("应拒答")
            || s.contains("拒答")
            || s.contains("should-refuse")
            || s.contains("should_refuse")
        {
            Some(BankKind::ShouldRefuse)
        } else if s.contains("生成内容") || s.contains("generated") {
            Some(BankKind::GeneratedContent)
        } else {
            None
        }
    }
}

impl std::fmt::Display for BankKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One chat message of a multi-turn item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

/// One test question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub question: String,
    /// GB/T 45654 Annex A risk code (e.g. "A.1.a"); should-answer items may
    /// carry an aspect instead (e.g. "history") or nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
    pub bank: BankKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Message>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
}

impl Item {
    /// The chat messages sent for this item (the question as one user turn
    /// unless the item is multi-turn).
    pub fn chat(&self) -> Vec<Message> {
        match &self.messages {
            Some(m) if !m.is_empty() => m.clone(),
            _ => vec![Message {
                role: "user".into(),
                content: self.question.clone(),
            }],
        }
    }

    /// Stratum key for sampling and breakdowns.
    pub fn risk_key(&self) -> &str {
        self.risk.as_deref().unwrap_or("unlabelled")
    }
}

/// A loaded bank file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BankFile {
    pub path: PathBuf,
    /// The bank kind given on the command line (`KIND=FILE`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<BankKind>,
    pub sha256: String,
    pub items: usize,
}

/// All loaded banks.
#[derive(Debug, Clone, Default)]
pub struct Banks {
    pub files: Vec<BankFile>,
    pub items: Vec<Item>,
}

impl Banks {
    pub fn by_kind(&self, kind: BankKind) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(move |i| i.bank == kind)
    }
}

/// sha256 of a file's bytes, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| AssessError::io(path, e))?;
    Ok(sha256_hex(&bytes))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A bank argument: `FILE` or `KIND=FILE` (the kind then applies to rows
/// without their own bank column).
#[derive(Debug, Clone)]
pub struct BankSpec {
    pub path: PathBuf,
    pub kind: Option<BankKind>,
}

impl BankSpec {
    pub fn parse(s: &str) -> BankSpec {
        if let Some((k, p)) = s.split_once('=')
            && let Some(kind) = BankKind::parse(k)
        {
            return BankSpec {
                path: PathBuf::from(p),
                kind: Some(kind),
            };
        }
        BankSpec {
            path: PathBuf::from(s),
            kind: None,
        }
    }
}

/// Loads several banks, validating ids are unique across all of them.
pub fn load_banks(specs: &[BankSpec], taxonomy: &beian_kb::Taxonomy) -> Result<Banks> {
    let mut banks = Banks::default();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for spec in specs {
        let items = load_bank(&spec.path, spec.kind, taxonomy)?;
        for it in &items {
            if let Some(prev) = seen.insert(it.id.clone(), spec.path.clone()) {
                return Err(AssessError::file(
                    &spec.path,
                    format!("duplicate item id {:?} (also in {})", it.id, prev.display()),
                ));
            }
        }
        banks.files.push(BankFile {
            path: spec.path.clone(),
            kind: spec.kind,
            sha256: sha256_file(&spec.path)?,
            items: items.len(),
        });
        banks.items.extend(items);
    }
    Ok(banks)
}

/// Loads one bank file, choosing the format by extension.
pub fn load_bank(
    path: &Path,
    kind: Option<BankKind>,
    taxonomy: &beian_kb::Taxonomy,
) -> Result<Vec<Item>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    let hint = kind.or_else(|| {
        BankKind::from_hint(
            &path
                .file_name()
                .map(|f| f.to_string_lossy().to_lowercase())
                .unwrap_or_default(),
        )
    });
    let items = match ext.as_str() {
        "jsonl" | "ndjson" => load_jsonl(path, hint, taxonomy)?,
        "csv" => load_csv(path, hint, taxonomy)?,
        "xlsx" | "xlsm" | "xls" | "ods" => load_xlsx(path, hint, taxonomy)?,
        _ => {
            return Err(AssessError::file(
                path,
                "unknown bank format (expected .jsonl, .csv or .xlsx)",
            ));
        }
    };
    Ok(items)
}

/// Loads one bank held in memory (an uploaded attachment, say): the same
/// formats and rules as [`load_bank`]. `name` stands for the file name: its
/// extension chooses the format (without a known one, a zip signature means
/// XLSX), it may hint the bank kind, and errors name it.
pub fn load_bank_bytes(
    name: &str,
    bytes: &[u8],
    kind: Option<BankKind>,
    taxonomy: &beian_kb::Taxonomy,
) -> Result<Vec<Item>> {
    let path = Path::new(name);
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_lowercase();
    let hint = kind.or_else(|| BankKind::from_hint(&name.to_lowercase()));
    match ext.as_str() {
        "jsonl" | "ndjson" => jsonl_items(path, &decode_text(path, bytes)?, hint, taxonomy),
        "csv" => csv_items(path, &decode_text(path, bytes)?, hint, taxonomy),
        _ if matches!(ext.as_str(), "xlsx" | "xlsm" | "xls" | "ods")
            || bytes.starts_with(b"PK\x03\x04") =>
        {
            let wb =
                calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).map_err(|e| {
                    AssessError::Sheet {
                        path: path.into(),
                        msg: e.to_string(),
                    }
                })?;
            sheets_items(path, wb, hint, taxonomy)
        }
        _ => Err(AssessError::file(
            path,
            "unknown bank format (expected .jsonl, .csv or .xlsx)",
        )),
    }
}

#[derive(Deserialize)]
struct JsonItem {
    id: Option<serde_json::Value>,
    question: Option<String>,
    risk: Option<String>,
    bank: Option<String>,
    messages: Option<Vec<Message>>,
    source: Option<String>,
    license: Option<String>,
}

fn load_jsonl(path: &Path, hint: Option<BankKind>, tax: &beian_kb::Taxonomy) -> Result<Vec<Item>> {
    let text = read_text(path)?;
    jsonl_items(path, &text, hint, tax)
}

fn jsonl_items(
    path: &Path,
    text: &str,
    hint: Option<BankKind>,
    tax: &beian_kb::Taxonomy,
) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let j: JsonItem = serde_json::from_str(line)
            .map_err(|e| AssessError::record(path, ln, format!("invalid JSON: {e}")))?;
        let id = match j.id {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s,
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => {
                return Err(AssessError::record(
                    path,
                    ln,
                    "field `id`: missing or empty",
                ));
            }
        };
        let question = match (j.question, &j.messages) {
            (Some(q), _) if !q.trim().is_empty() => q,
            (_, Some(m)) => m
                .iter()
                .rev()
                .find(|m| m.role == "user")
                .map(|m| m.content.clone())
                .ok_or_else(|| AssessError::record(path, ln, "field `messages`: no user turn"))?,
            _ => {
                return Err(AssessError::record(
                    path,
                    ln,
                    "field `question`: missing or empty",
                ));
            }
        };
        let bank = match j.bank.as_deref() {
            Some(b) => BankKind::parse(b).ok_or_else(|| {
                AssessError::record(
                    path,
                    ln,
                    format!("field `bank`: {b:?} is not generated-content, should-refuse or should-answer"),
                )
            })?,
            None => hint.ok_or_else(|| AssessError::record(path, ln, "field `bank`: missing"))?,
        };
        let risk = resolve_risk(j.risk.as_deref(), None, bank, tax)
            .map_err(|m| AssessError::record(path, ln, format!("field `risk`: {m}")))?;
        out.push(Item {
            id,
            question,
            risk,
            bank,
            messages: j.messages,
            source: j.source,
            license: j.license,
        });
    }
    Ok(out)
}

/// Resolves a risk label: a code ("A.1.a"), a code with its name ("A.1.a 煽动…"),
/// or the Chinese name. Should-answer items may carry any aspect label.
pub fn resolve_risk(
    second: Option<&str>,
    first: Option<&str>,
    bank: BankKind,
    tax: &beian_kb::Taxonomy,
) -> std::result::Result<Option<String>, String> {
    let s = match second.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s,
        None => {
            return match first.map(str::trim).filter(|s| !s.is_empty()) {
                Some(f) if bank == BankKind::ShouldAnswer => Ok(Some(f.to_string())),
                _ => Ok(None),
            };
        }
    };
    let code_part = s
        .split(|c: char| c.is_whitespace() || c == '：' || c == ':')
        .next()
        .unwrap_or(s);
    if tax.is_risk_code(code_part) {
        return Ok(Some(code_part.to_string()));
    }
    if let Some(r) = tax
        .risks
        .iter()
        .find(|r| r.zh == s || r.en.eq_ignore_ascii_case(s) || s.ends_with(r.zh.as_str()))
    {
        return Ok(Some(r.code.clone()));
    }
    if bank == BankKind::ShouldAnswer {
        // Should-answer banks are organised by aspect (制度、信仰、形象…), not risk.
        return Ok(Some(s.to_string()));
    }
    Err(format!(
        "{s:?} is neither a GB/T 45654 Annex A risk code (A.1.a … A.5.b) nor a risk name"
    ))
}

fn read_text(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| AssessError::io(path, e))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)
        .map_err(|e| AssessError::io(path, e))?;
    decode_text(path, &bytes)
}

fn decode_text(path: &Path, bytes: &[u8]) -> Result<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        AssessError::file(
            path,
            format!("not UTF-8 (byte offset {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// Column roles for tabular banks (CSV and XLSX).
#[derive(Default, Debug)]
struct Columns {
    id: Option<usize>,
    question: Option<usize>,
    first: Option<usize>,
    second: Option<usize>,
    bank: Option<usize>,
    source: Option<usize>,
    license: Option<usize>,
}

impl Columns {
    fn from_header(header: &[String]) -> Columns {
        let mut c = Columns::default();
        for (i, h) in header.iter().enumerate() {
            let h = h.trim().trim_start_matches('\u{feff}').to_lowercase();
            match h.as_str() {
                "序号" | "id" | "编号" => c.id = c.id.or(Some(i)),
                "测试题" | "question" | "问题" | "题目" | "prompt" => {
                    c.question = c.question.or(Some(i))
                }
                "一级分类" | "category" => c.first = c.first.or(Some(i)),
                "二级分类" | "risk" | "风险" => c.second = c.second.or(Some(i)),
                "题库类型" | "题库" | "bank" => c.bank = c.bank.or(Some(i)),
                "source" | "来源" => c.source = c.source.or(Some(i)),
                "license" | "许可" => c.license = c.license.or(Some(i)),
                _ => {}
            }
        }
        c
    }
}

fn rows_to_items(
    path: &Path,
    sheet: Option<&str>,
    rows: Vec<(usize, Vec<String>)>,
    hint: Option<BankKind>,
    tax: &beian_kb::Taxonomy,
) -> Result<Vec<Item>> {
    let mut it = rows.into_iter();
    let Some((_, header)) = it.next() else {
        return Ok(Vec::new());
    };
    let cols = Columns::from_header(&header);
    let where_ = |ln: usize| match sheet {
        Some(s) => format!("sheet {s:?} row {ln}"),
        None => format!("line {ln}"),
    };
    let qcol = cols.question.ok_or_else(|| {
        AssessError::file(
            path,
            format!(
                "{}no question column (expected 测试题 or question)",
                sheet.map(|s| format!("sheet {s:?}: ")).unwrap_or_default()
            ),
        )
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let hint = sheet
        .and_then(|s| BankKind::from_hint(&s.to_lowercase()))
        .or(hint);
    let mut out = Vec::new();
    for (ln, row) in it {
        let get = |c: Option<usize>| {
            c.and_then(|c| row.get(c))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        let Some(question) = get(Some(qcol)) else {
            if row.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            return Err(AssessError::file(
                path,
                format!("{}: column 测试题/question is empty", where_(ln)),
            ));
        };
        let bank = match get(cols.bank) {
            Some(b) => BankKind::parse(b).ok_or_else(|| {
                AssessError::file(path, format!("{}: bank {b:?} is not generated-content, should-refuse or should-answer", where_(ln)))
            })?,
            None => hint.ok_or_else(|| {
                AssessError::file(path, format!("{}: no bank column (题库类型/bank) and the sheet/file name does not say 生成内容, 应拒答 or 非拒答; pass KIND=FILE", where_(ln)))
            })?,
        };
        let risk = resolve_risk(get(cols.second), get(cols.first), bank, tax).map_err(|m| {
            AssessError::file(path, format!("{}: column 二级分类/risk: {m}", where_(ln)))
        })?;
        let raw_id = get(cols.id)
            .map(str::to_string)
            .unwrap_or_else(|| ln.to_string());
        let id = match (
            cols.id.is_some() && header_is_plain_id(&header, cols.id),
            sheet,
        ) {
            (true, _) => raw_id,
            (false, Some(s)) => format!("{stem}:{s}:{raw_id}"),
            (false, None) => format!("{stem}:{raw_id}"),
        };
        out.push(Item {
            id,
            question: question.to_string(),
            risk,
            bank,
            messages: None,
            source: get(cols.source).map(str::to_string),
            license: get(cols.license).map(str::to_string),
        });
    }
    Ok(out)
}

/// `id` columns are globally unique ids; 序号 is a row number, prefixed with the file.
fn header_is_plain_id(header: &[String], col: Option<usize>) -> bool {
    col.and_then(|c| header.get(c))
        .is_some_and(|h| h.trim().eq_ignore_ascii_case("id"))
}

fn load_csv(path: &Path, hint: Option<BankKind>, tax: &beian_kb::Taxonomy) -> Result<Vec<Item>> {
    let text = read_text(path)?;
    csv_items(path, &text, hint, tax)
}

fn csv_items(
    path: &Path,
    text: &str,
    hint: Option<BankKind>,
    tax: &beian_kb::Taxonomy,
) -> Result<Vec<Item>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| AssessError::record(path, i + 1, format!("CSV: {e}")))?;
        rows.push((i + 1, rec.iter().map(str::to_string).collect()));
    }
    rows_to_items(path, None, rows, hint, tax)
}

fn load_xlsx(path: &Path, hint: Option<BankKind>, tax: &beian_kb::Taxonomy) -> Result<Vec<Item>> {
    let wb = calamine::open_workbook_auto(path).map_err(|e| AssessError::Sheet {
        path: path.into(),
        msg: e.to_string(),
    })?;
    sheets_items(path, wb, hint, tax)
}

fn sheets_items<RS: std::io::Read + std::io::Seek>(
    path: &Path,
    mut wb: calamine::Sheets<RS>,
    hint: Option<BankKind>,
    tax: &beian_kb::Taxonomy,
) -> Result<Vec<Item>> {
    use calamine::Reader;
    let mut out = Vec::new();
    for name in wb.sheet_names().to_vec() {
        let range = wb.worksheet_range(&name).map_err(|e| AssessError::Sheet {
            path: path.into(),
            msg: format!("sheet {name:?}: {e}"),
        })?;
        let rows: Vec<(usize, Vec<String>)> = range
            .rows()
            .enumerate()
            .map(|(i, r)| (i + 1, r.iter().map(cell_string).collect()))
            .collect();
        if rows.is_empty() {
            continue;
        }
        out.extend(rows_to_items(path, Some(name.as_str()), rows, hint, tax)?);
    }
    Ok(out)
}

pub(crate) fn cell_string(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// Writes items as JSONL (the canonical bank format).
pub fn write_jsonl(path: &Path, items: &[Item]) -> Result<()> {
    let mut s = String::new();
    for it in items {
        s.push_str(&serde_json::to_string(it).map_err(|e| AssessError::file(path, e.to_string()))?);
        s.push('\n');
    }
    std::fs::write(path, s).map_err(|e| AssessError::io(path, e))
}

/// Counts per bank and stratum.
pub fn counts(items: &[Item]) -> BTreeMap<BankKind, BTreeMap<String, usize>> {
    let mut m: BTreeMap<BankKind, BTreeMap<String, usize>> = BTreeMap::new();
    for it in items {
        *m.entry(it.bank)
            .or_default()
            .entry(it.risk_key().to_string())
            .or_default() += 1;
    }
    m
}
