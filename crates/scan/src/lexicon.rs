//! Lexicon files: loading into an engine builder, and statistics against
//! the keyword-library minimums of GB/T 45654 (thresholds from `beian-kb`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use beian_screen::{EngineBuilder, ParsedLexicon, UNCLASSIFIED};
use serde::{Deserialize, Serialize};

use crate::ScanError;
use crate::input::read_file_to_string;

/// One lexicon map of the knowledge base (`kb/lexicon-maps/*.toml`): file
/// names of a published list (its categories) to Annex A risk codes, each
/// with why and how sure. beian's judgement, not the list's; `--risk` or a
/// TSV risk column overrides it.
#[derive(Debug, Clone, Deserialize)]
pub struct LexiconMap {
    pub name: String,
    pub source: String,
    #[serde(default)]
    pub license: Option<String>,
    pub map: Vec<LexiconMapEntry>,
}

/// A file name (without extension) and its risk code.
#[derive(Debug, Clone, Deserialize)]
pub struct LexiconMapEntry {
    pub from: String,
    pub risk: String,
    pub why: String,
    /// `high`, `medium` or `low`.
    pub confidence: String,
}

/// The lexicon maps shipped in the knowledge base, checked: every risk is
/// an Annex A code, every entry says why.
pub fn lexicon_maps() -> Result<&'static [LexiconMap], ScanError> {
    static MAPS: std::sync::OnceLock<Result<Vec<LexiconMap>, String>> = std::sync::OnceLock::new();
    MAPS.get_or_init(|| {
        let tax = beian_kb::Taxonomy::embedded().map_err(|e| e.to_string())?;
        let dir = beian_kb::EMBEDDED
            .get_dir("lexicon-maps")
            .ok_or("kb/lexicon-maps is missing")?;
        let mut files: Vec<_> = dir.files().collect();
        files.sort_by_key(|f| f.path().to_path_buf());
        let mut maps = Vec::new();
        for f in files {
            let origin = format!("kb/{}", f.path().display());
            let text = f.contents_utf8().ok_or(format!("{origin}: not UTF-8"))?;
            let m: LexiconMap = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
            for e in &m.map {
                if !tax.is_risk_code(&e.risk) {
                    return Err(format!(
                        "{origin}: {:?}: {:?} is not an Annex A risk code",
                        e.from, e.risk
                    ));
                }
                if e.why.trim().is_empty()
                    || !["high", "medium", "low"].contains(&e.confidence.as_str())
                {
                    return Err(format!(
                        "{origin}: {:?}: needs `why` and a confidence of high, medium or low",
                        e.from
                    ));
                }
            }
            maps.push(m);
        }
        Ok(maps)
    })
    .as_ref()
    .map(Vec::as_slice)
    .map_err(|e| ScanError::Kb(e.clone()))
}

/// The risk code for a lexicon file name (without extension), if a shipped
/// lexicon map knows it.
pub fn risk_for_file_name(stem: &str) -> Option<&'static str> {
    lexicon_maps()
        .ok()?
        .iter()
        .flat_map(|m| &m.map)
        .find(|e| e.from == stem)
        .map(|e| e.risk.as_str())
}

fn is_lexicon_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let base = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .unwrap_or(name);
    [".txt", ".tsv", ".lex"].iter().any(|e| base.ends_with(e))
}

fn stem_of(p: &Path) -> String {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut base = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .unwrap_or(name);
    for e in [".txt", ".tsv", ".lex"] {
        if let Some(b) = base.strip_suffix(e) {
            base = b;
        }
    }
    base.to_owned()
}

/// Expands files and directories (recursively, sorted) into lexicon files.
pub fn lexicon_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScanError> {
    Ok(lexicon_paths_in(paths)?
        .into_iter()
        .map(|(p, _)| p)
        .collect())
}

/// Licence and documentation files that sit beside lexicons in a directory
/// (`LICENSE.txt`, `README.txt`, `NOTICE`, `COPYING`): never terms.
pub fn is_doc_file(p: &Path) -> bool {
    let up = stem_of(p).to_ascii_uppercase();
    [
        "LICENSE",
        "LICENCE",
        "README",
        "NOTICE",
        "COPYING",
        "AUTHORS",
        "CHANGELOG",
    ]
    .iter()
    .any(|d| {
        up == *d
            || up.starts_with(&format!("{d}-"))
            || up.starts_with(&format!("{d}."))
            || up.starts_with(&format!("{d}_"))
    })
}

/// Whether lexicon contents look like prose rather than one term per line:
/// of the first 200 non-empty lines (at least 3), half or more are long
/// sentences (clause punctuation in 15+ characters, or 4+ words in 25+).
/// TSV lines never count as prose.
pub fn looks_like_prose(text: &str) -> bool {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("#!"))
        .take(200)
        .collect();
    if lines.len() < 3 {
        return false;
    }
    let prose = lines
        .iter()
        .filter(|l| {
            if l.contains('\t') {
                return false;
            }
            let n = l.chars().count();
            let clause = l.chars().any(|c| "。，！？；".contains(c));
            let words = l.split_whitespace().count();
            (clause && n >= 15) || (words >= 4 && n >= 25)
        })
        .count();
    prose * 2 >= lines.len()
}

/// Like [`lexicon_paths`], marking files found in a directory (`true`):
/// those are the ones skipped when they are documentation or prose.
fn lexicon_paths_in(paths: &[PathBuf]) -> Result<Vec<(PathBuf, bool)>, ScanError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| ScanError::Io {
            path: p.clone(),
            source,
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk_dir(p, &mut found, &is_lexicon_file)?;
            if found.is_empty() {
                return Err(ScanError::NoLexiconFiles { path: p.clone() });
            }
            out.extend(found.into_iter().map(|f| (f, true)));
        } else {
            out.push((p.clone(), false));
        }
    }
    Ok(out)
}

/// The files under `dir` (recursively, sorted; hidden entries skipped)
/// that `keep` accepts: inputs and lexicon directories alike.
pub(crate) fn walk_dir(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    keep: &dyn Fn(&Path) -> bool,
) -> Result<(), ScanError> {
    walk_dir_once(dir, out, keep, &mut std::collections::HashSet::new())
}

/// [`walk_dir`], entering each directory once (by its canonical path): a
/// symbolic link back up the tree is a loop, not the same files again and
/// again. Only regular files are listed (and paths that cannot be looked at,
/// so that reading them reports why): a FIFO or socket in a directory
/// would block the reader, a device is not data.
fn walk_dir_once(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    keep: &dyn Fn(&Path) -> bool,
    seen: &mut std::collections::HashSet<PathBuf>,
) -> Result<(), ScanError> {
    if let Ok(c) = std::fs::canonicalize(dir)
        && !seen.insert(c)
    {
        return Ok(());
    }
    let rd = std::fs::read_dir(dir).map_err(|source| ScanError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut entries: Vec<PathBuf> = Vec::new();
    for e in rd {
        let e = e.map_err(|source| ScanError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        entries.push(e.path());
    }
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => walk_dir_once(&p, out, keep, seen)?,
            Ok(m) if !m.is_file() => {}
            _ if keep(&p) => out.push(p),
            _ => {}
        }
    }
    Ok(())
}

/// What was loaded from one lexicon file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadedFile {
    pub path: PathBuf,
    /// The risk code given to terms without one (`None`: unclassified).
    pub risk: Option<String>,
    /// Distinct entries after this file minus before.
    pub new_entries: usize,
    /// Why the file was skipped (a licence or README in a lexicon
    /// directory, or prose), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Warnings about the file's lines (unknown risk codes), each naming
    /// the file and line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Reads lexicon files and directories into `builder`. Directory entries
/// are `.txt`, `.tsv` or `.lex` files (gzip/zstd allowed), sorted; a file
/// named like a konsheng category gets that category's risk code unless
/// `default_risk` is given. An empty or unreadable file is an error.
///
/// In a directory, licence and documentation files (`LICENSE`, `README`,
/// `NOTICE`, `COPYING`) and files whose lines look like prose are skipped
/// and returned with [`LoadedFile::skipped`] set: the caller warns. Risk
/// codes outside GB/T 45654 Appendix A are kept, with a warning per line
/// in [`LoadedFile::warnings`].
pub fn load_lexicon_files(
    builder: &mut EngineBuilder,
    paths: &[PathBuf],
    default_risk: Option<&str>,
) -> Result<Vec<LoadedFile>, ScanError> {
    // A broken shipped map is an error here, not files silently unclassified.
    lexicon_maps()?;
    // The taxonomy alone: parsing the whole knowledge base would add its
    // regimes to every scan's start-up.
    let tax = beian_kb::Taxonomy::embedded().map_err(|e| ScanError::Kb(e.to_string()))?;
    let mut loaded = Vec::new();
    // Every file is read first (in order: the first unreadable one stops
    // the load, before anything is added). Then each is checked for prose
    // and parsed on a scoped thread, file after file, while this thread
    // adds the ones already parsed, in order: the parse of the next file
    // overlaps the adding of this one. The builder makes room for all
    // their lines (counted by their line breaks) at once.
    let mut texts = Vec::new();
    for (path, in_dir) in lexicon_paths_in(paths)? {
        let text = if in_dir && is_doc_file(&path) {
            None
        } else {
            Some(read_file_to_string(&path)?)
        };
        texts.push((path, in_dir, text));
    }
    let lines: usize = texts
        .iter()
        .filter_map(|(_, _, t)| t.as_deref())
        .map(|t| memchr::memchr_iter(b'\n', t.as_bytes()).count() + 1)
        .sum();
    builder.reserve(lines);
    /// A file checked and parsed, or why it is skipped.
    type Parsed<'t> = Result<Result<ParsedLexicon<'t>, beian_screen::ScreenError>, &'static str>;
    fn parse((path, in_dir, text): &(PathBuf, bool, Option<String>)) -> Parsed<'_> {
        let Some(text) = text else {
            return Err("a licence or documentation file, not a lexicon");
        };
        if *in_dir && looks_like_prose(text) {
            return Err(
                "its lines look like prose, not one term per line (name the file itself to load it)",
            );
        }
        Ok(ParsedLexicon::parse(&path.display().to_string(), text))
    }
    in_order(&texts, parse, |k, parsed| -> Result<(), ScanError> {
        let path = texts[k].0.clone();
        let risk = default_risk.or_else(|| risk_for_file_name(&stem_of(&path)));
        let parsed = match parsed {
            Ok(parsed) => parsed?,
            Err(why) => {
                loaded.push(LoadedFile {
                    path,
                    risk: risk.map(str::to_owned),
                    new_entries: 0,
                    skipped: Some(why.to_owned()),
                    warnings: Vec::new(),
                });
                return Ok(());
            }
        };
        let before = builder.len();
        let name = parsed.source_name();
        builder.lexicon_parsed(&parsed, risk)?;
        let mut warnings = Vec::new();
        // Risks are interned and a file's entries mostly share one: the
        // taxonomy (a list) is searched only when the risk changes.
        let mut last: Option<(&std::sync::Arc<str>, bool)> = None;
        for e in &builder.entries()[before..] {
            let known = match last {
                Some((r, k)) if std::sync::Arc::ptr_eq(r, &e.risk) => k,
                _ => {
                    let k = &*e.risk == UNCLASSIFIED || tax.is_risk_code(&e.risk);
                    last = Some((&e.risk, k));
                    k
                }
            };
            if !known {
                warnings.push(format!(
                    "{name} line {}: unknown risk code {:?} (not in GB/T 45654 Appendix A; see `beian kb risks`)",
                    e.line, &*e.risk
                ));
            }
        }
        loaded.push(LoadedFile {
            path,
            risk: risk.map(str::to_owned),
            new_entries: builder.len() - before,
            skipped: None,
            warnings,
        });
        Ok(())
    })?;
    Ok(loaded)
}

/// Calls `consume` with each item's index and `f` of it, in order, while
/// `f` runs on a scoped thread, item after item, ahead of `consume`: `f` of
/// the next item overlaps `consume` of this one. On one core, or with one
/// item, everything runs on this thread. The first error of `consume`
/// stops both. A panic in `f` goes on in the caller, as it would serially.
fn in_order<'a, T: Sync, R: Send, E>(
    items: &'a [T],
    f: impl Fn(&'a T) -> R + Sync,
    mut consume: impl FnMut(usize, R) -> Result<(), E>,
) -> Result<(), E> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores <= 1 || items.len() <= 1 {
        for (k, item) in items.iter().enumerate() {
            consume(k, f(item))?;
        }
        return Ok(());
    }
    let f = &f;
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let h = s.spawn(move || {
            for item in items {
                // The receiver is gone when `consume` failed: stop.
                if tx.send(f(item)).is_err() {
                    break;
                }
            }
        });
        for (k, r) in rx.iter().enumerate() {
            consume(k, r)?;
        }
        // The sender is done: every item came, or `f` panicked, and the
        // panic goes on here.
        h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        Ok(())
    })
}

/// Reads allow-list files into `builder`.
pub fn load_allow_files(builder: &mut EngineBuilder, paths: &[PathBuf]) -> Result<(), ScanError> {
    for path in lexicon_paths(paths)? {
        let text = read_file_to_string(&path)?;
        builder.allow_text(&path.display().to_string(), &text)?;
    }
    Ok(())
}

/// One risk's count against its minimum.
#[derive(Debug, Clone, Serialize)]
pub struct RiskCount {
    pub code: String,
    pub name_zh: String,
    pub terms: usize,
    /// The minimum for this risk (A.1 and A.2 risks), if any.
    pub minimum: Option<f64>,
    pub meets: Option<bool>,
}

/// Keyword-library statistics against the standard's minimums.
#[derive(Debug, Clone, Serialize)]
pub struct LexiconStats {
    /// Distinct terms (not counting `re:` entries and risks).
    pub total_terms: usize,
    pub total_minimum: f64,
    pub total_meets: bool,
    pub regexes: usize,
    /// Lines repeating an earlier term with the same risk.
    pub duplicates: usize,
    /// Terms of one character: counted here, but not matched by default
    /// (`min_term_chars`), because they flag most ordinary text.
    pub single_char_terms: usize,
    /// Terms with a code outside the taxonomy (besides `unclassified`).
    pub unknown_codes: BTreeMap<String, usize>,
    pub unclassified: usize,
    pub risks: Vec<RiskCount>,
    /// Risks below their minimum.
    pub short: Vec<String>,
    pub clauses: Vec<String>,
}

/// Counts distinct terms per risk code and compares with the kb thresholds
/// `keyword-library.total`, `.per-a1-risk`, `.per-a2-risk`.
pub fn lexicon_stats(builder: &EngineBuilder) -> Result<LexiconStats, ScanError> {
    let kb = beian_kb::Kb::embedded().map_err(|e| ScanError::Kb(e.to_string()))?;
    let th = kb.thresholds();
    let get = |id: &str| {
        th.get(id)
            .ok_or_else(|| ScanError::Kb(format!("threshold {id} missing")))
    };
    let total_t = get("keyword-library.total")?;
    let a1_t = get("keyword-library.per-a1-risk")?;
    let a2_t = get("keyword-library.per-a2-risk")?;
    let mut per: BTreeMap<String, std::collections::BTreeSet<&str>> = BTreeMap::new();
    let mut terms = std::collections::BTreeSet::new();
    let mut regexes = 0;
    for e in builder.entries() {
        if e.regex {
            regexes += 1;
            continue;
        }
        terms.insert(&*e.term);
        per.entry(e.risk.to_string()).or_default().insert(&e.term);
    }
    let tax = kb.taxonomy();
    let mut unknown = BTreeMap::new();
    let mut unclassified = 0;
    for (code, set) in &per {
        if code == UNCLASSIFIED {
            unclassified = set.len();
        } else if !tax.is_risk_code(code) {
            unknown.insert(code.clone(), set.len());
        }
    }
    let mut risks = Vec::new();
    let mut short = Vec::new();
    for r in &tax.risks {
        let n = per.get(&r.code).map_or(0, |s| s.len());
        let t = if r.code.starts_with("A.1.") {
            Some(a1_t)
        } else if r.code.starts_with("A.2.") {
            Some(a2_t)
        } else {
            None
        };
        let meets = t.map(|t| t.is_met(n as f64));
        if meets == Some(false) {
            short.push(r.code.clone());
        }
        risks.push(RiskCount {
            code: r.code.clone(),
            name_zh: r.zh.clone(),
            terms: n,
            minimum: t.map(|t| t.value),
            meets,
        });
    }
    let mut clauses: Vec<String> = [total_t, a1_t, a2_t]
        .iter()
        .map(|t| t.clause.clone())
        .collect();
    clauses.dedup();
    Ok(LexiconStats {
        total_terms: terms.len(),
        total_minimum: total_t.value,
        total_meets: total_t.is_met(terms.len() as f64),
        regexes,
        duplicates: builder.stats().duplicates,
        single_char_terms: terms.iter().filter(|t| t.chars().count() == 1).count(),
        unknown_codes: unknown,
        unclassified,
        risks,
        short,
        clauses,
    })
}

/// One row of a blocking-keyword sheet (拦截关键词列表).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SheetTerm {
    pub term: String,
    /// The risk code (`A.1.a`); the label as written when it is neither a
    /// code nor a risk name of the taxonomy; `None` when unclassified.
    pub risk: Option<String>,
}

/// Resolves a 二级分类 / 一级分类 label: a code (`A.1.a`), a code followed by
/// its name (`A.1.a 煽动颠覆国家政权…`, as beian-assess writes it), or the
/// Chinese or English risk name. Empty and `未分类…` labels are unclassified.
fn sheet_risk(second: &str, first: &str, tax: &beian_kb::Taxonomy) -> Option<String> {
    let resolve = |s: &str| -> Option<String> {
        let code = s
            .split(|c: char| c.is_whitespace() || c == '：' || c == ':')
            .next()
            .unwrap_or(s);
        if tax.is_risk_code(code) {
            return Some(code.to_owned());
        }
        tax.risks
            .iter()
            .find(|r| r.zh == s || r.en.eq_ignore_ascii_case(s) || s.ends_with(r.zh.as_str()))
            .map(|r| r.code.clone())
    };
    let (second, first) = (second.trim(), first.trim());
    if !second.is_empty() && !second.starts_with("未分类") {
        return Some(resolve(second).unwrap_or_else(|| second.to_owned()));
    }
    // Only 一级分类 given: it counts when it names a risk itself.
    resolve(first)
}

fn sheet_cell(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string(),
    }
}

/// Terms of one table (header row first); `None` when it has no keyword column.
fn sheet_table_terms(
    rows: &[Vec<String>],
    tax: &beian_kb::Taxonomy,
    out: &mut Vec<SheetTerm>,
) -> Option<()> {
    let header = rows.first()?;
    let col = |names: &[&str]| {
        header.iter().position(|h| {
            let h = h.trim().trim_start_matches('\u{feff}').to_lowercase();
            names.contains(&h.as_str())
        })
    };
    let term_col = col(&["关键词", "keyword", "term", "敏感词"])?;
    let first_col = col(&["一级分类", "category"]);
    let second_col = col(&["二级分类", "risk", "风险"]);
    for row in &rows[1..] {
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).map_or("", |s| s.trim());
        let term = get(Some(term_col));
        if term.is_empty() {
            continue;
        }
        out.push(SheetTerm {
            term: term.to_owned(),
            risk: sheet_risk(get(second_col), get(first_col), tax),
        });
    }
    Some(())
}

/// Reads a blocking-keyword sheet from memory: the layout beian-assess's
/// `attach::keyword_sheet` writes and filings attach (columns 关键词 /
/// 一级分类 / 二级分类; risk labels as codes, `code name`, or names,
/// resolved through `tax`). XLSX is recognised by its zip signature (every
/// worksheet with a 关键词 column is read, others such as 覆盖情况 are
/// skipped); anything else is read as UTF-8 CSV (a BOM is allowed).
/// `source_name` names the sheet in errors.
pub fn keyword_sheet_terms(
    source_name: &str,
    bytes: &[u8],
    tax: &beian_kb::Taxonomy,
) -> Result<Vec<SheetTerm>, ScanError> {
    let err = |message: String| ScanError::Sheet {
        path: PathBuf::from(source_name),
        message,
    };
    let mut out = Vec::new();
    let mut found = false;
    if bytes.starts_with(b"PK\x03\x04") {
        use calamine::Reader;
        let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes))
            .map_err(|e| err(format!("not a readable XLSX workbook: {e}")))?;
        for name in wb.sheet_names().to_vec() {
            let range = wb
                .worksheet_range(&name)
                .map_err(|e| err(format!("sheet {name:?}: {e}")))?;
            let rows: Vec<Vec<String>> = range
                .rows()
                .map(|r| r.iter().map(sheet_cell).collect())
                .collect();
            found |= sheet_table_terms(&rows, tax, &mut out).is_some();
        }
    } else {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).map_err(|e| {
            err(format!(
                "not UTF-8 CSV (invalid byte at offset {})",
                e.valid_up_to()
            ))
        })?;
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut rows = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| err(format!("record {}: {e}", i + 1)))?;
            rows.push(rec.iter().map(str::to_owned).collect());
        }
        found = sheet_table_terms(&rows, tax, &mut out).is_some();
    }
    if !found {
        return Err(err(
            "no keyword column (expected a header 关键词 with 一级分类 / 二级分类)".into(),
        ));
    }
    Ok(out)
}

/// [`lexicon_stats`] of a blocking-keyword sheet held in memory (see
/// [`keyword_sheet_terms`]): distinct terms per risk against the kb's
/// `keyword-library.*` minimums. Unclassified rows count towards the total
/// only.
pub fn keyword_sheet_stats(source_name: &str, bytes: &[u8]) -> Result<LexiconStats, ScanError> {
    let kb = beian_kb::Kb::embedded().map_err(|e| ScanError::Kb(e.to_string()))?;
    let terms = keyword_sheet_terms(source_name, bytes, kb.taxonomy())?;
    let mut builder = EngineBuilder::new();
    for t in &terms {
        builder.term(&t.term, t.risk.as_deref().unwrap_or(UNCLASSIFIED));
    }
    lexicon_stats(&builder)
}

#[cfg(test)]
mod tests {
    use super::in_order;

    #[test]
    fn in_order_gives_every_item_in_order_and_stops_at_the_first_error() {
        let items: Vec<u32> = (0..200).collect();
        let mut seen = Vec::new();
        let r: Result<(), String> = in_order(
            &items,
            |x| x * 3,
            |k, v| {
                seen.push((k, v));
                Ok(())
            },
        );
        assert!(r.is_ok());
        assert_eq!(
            seen,
            (0..200).map(|k| (k as usize, k * 3)).collect::<Vec<_>>()
        );

        let mut got = Vec::new();
        let r = in_order(
            &items,
            |x| *x,
            |k, v| {
                if v == 57 {
                    return Err(format!("stop at {k}"));
                }
                got.push(v);
                Ok(())
            },
        );
        assert_eq!(r, Err("stop at 57".to_owned()));
        assert_eq!(got, (0..57).collect::<Vec<_>>());
    }
}
