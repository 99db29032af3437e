//! Parsing the regulator's published lists (CSV or XLSX) into register
//! records, with every irregularity reported by file and row. Parsing never
//! panics on content; rows that cannot be used are skipped with an anomaly.
//!
//! Quirks handled (see `shared/data/registry/README.md`): changing headers
//! (`模型名称`/`大模型名称`, `备案号`/`备案编号`, extra `适用场景`), header rows
//! repeated inside the data (the registration section `应用/功能名称,登记单位,
//! 上线编号,登记时间`), name and company swapped, remarks in dates
//! (`2025/6/30（补登）`), truncated or over-long numbers, empty `序号`, change
//! and cancellation remarks in `备注`.

use std::path::Path;

use serde::Serialize;

use crate::domain::FilingKind;
use crate::number;
use crate::province;

/// One usable row of a published list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportRecord {
    pub kind: FilingKind,
    pub name: String,
    pub provider: String,
    pub filing_number: String,
    pub province: String,
    /// YYYY-MM-DD (genAI lists) or YYYY-MM (algorithm batches: month of the batch from the file name), or empty.
    pub date: String,
    pub role: String,
    pub product: String,
    pub purpose: String,
    pub remark: String,
    pub cancelled: bool,
    /// 1-based row in the file (the header is row 1).
    pub row: usize,
}

/// How bad an anomaly is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Row imported after a correction or with a remark.
    Corrected,
    /// Row not imported.
    Skipped,
    /// Structural note (e.g. a repeated header row).
    Note,
}

/// Something irregular in a file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anomaly {
    pub file: String,
    pub row: usize,
    pub severity: Severity,
    pub message: String,
}

impl std::fmt::Display for Anomaly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Corrected => "corrected",
            Severity::Skipped => "skipped",
            Severity::Note => "note",
        };
        write!(f, "{}:{}: {sev}: {}", self.file, self.row, self.message)
    }
}

/// A file that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: not a CSV file: {message}")]
    Csv { file: String, message: String },
    #[error("{file}: not a readable XLSX workbook: {message}")]
    Xlsx { file: String, message: String },
    #[error(
        "{file}: no header row with known columns (expected 序号/属地/模型名称/... or 算法名称/主体名称/备案编号)"
    )]
    NoHeader { file: String },
}

/// Parsed content of one file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ParsedFile {
    pub file: String,
    pub records: Vec<ImportRecord>,
    pub anomalies: Vec<Anomaly>,
}

#[derive(Default, Clone)]
struct Columns {
    province: Option<usize>,
    name: Option<usize>,
    provider: Option<usize>,
    number: Option<usize>,
    date: Option<usize>,
    role: Option<usize>,
    product: Option<usize>,
    purpose: Option<usize>,
    remark: Option<usize>,
    algorithm: bool,
    registration_section: bool,
}

fn header_columns(row: &[String]) -> Option<Columns> {
    let mut c = Columns::default();
    let mut known = 0;
    for (i, cell) in row.iter().enumerate() {
        // Headings vary between notices and provinces: whitespace and a
        // bracketed note (`备案号（登记编号）`) are ignored.
        let h: String = cell.chars().filter(|c| !c.is_whitespace()).collect();
        let h = h
            .split(['（', '('])
            .next()
            .unwrap_or("")
            .trim_start_matches('\u{feff}')
            .to_string();
        let slot = match h.as_str() {
            "属地" | "省份" | "所属省份" | "地区" | "所属地区" | "所在地" | "属地网信办" => {
                &mut c.province
            }
            "模型名称"
            | "大模型名称"
            | "应用/功能名称"
            | "应用名称"
            | "功能名称"
            | "服务名称"
            | "产品名称"
            | "模型/应用名称" => {
                if h == "应用/功能名称" {
                    c.registration_section = true;
                }
                &mut c.name
            }
            "算法名称" => {
                c.algorithm = true;
                &mut c.name
            }
            "备案单位" | "登记单位" | "主体名称" | "企业名称" | "单位名称" | "公司名称"
            | "备案主体" | "服务提供者" => &mut c.provider,
            "备案号" | "备案编号" | "上线编号" | "登记编号" | "备案登记编号" => {
                &mut c.number
            }
            "备案时间" | "登记时间" | "上线时间" | "备案日期" | "登记日期" | "上线日期" => {
                &mut c.date
            }
            "角色" => &mut c.role,
            "应用产品" => &mut c.product,
            "主要用途" => &mut c.purpose,
            "备注" => &mut c.remark,
            _ => continue,
        };
        *slot = Some(i);
        known += 1;
    }
    (known >= 3 && c.name.is_some() && c.provider.is_some() && c.number.is_some()).then_some(c)
}

/// Parses dates like `2025/6/30`, `2025-06-30`, `2025年6月30日`, with a remark
/// in brackets after it. Returns (ISO date, remark).
pub fn parse_date(raw: &str) -> Option<(String, String)> {
    let raw = raw.trim();
    let split = raw.find(['（', '(']).unwrap_or(raw.len());
    let (d, rest) = raw.split_at(split);
    let remark = rest
        .trim_matches(|c| matches!(c, '（' | '）' | '(' | ')' | ' '))
        .to_string();
    let nums: Vec<&str> = d
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect();
    if nums.len() != 3 {
        return None;
    }
    let y: i32 = nums[0].parse().ok()?;
    let m: u32 = nums[1].parse().ok()?;
    let day: u32 = nums[2].parse().ok()?;
    let date = chrono::NaiveDate::from_ymd_opt(y, m, day)?;
    Some((date.format("%Y-%m-%d").to_string(), remark))
}

fn looks_like_company(s: &str) -> bool {
    ["公司", "集团", "研究院", "研究所", "大学"]
        .iter()
        .any(|suf| s.ends_with(suf))
}

/// Province of an algorithm number from its division-code prefix.
fn province_of_algorithm_number(n: &str) -> String {
    let code: String = n.trim_start_matches("网信算备").chars().take(2).collect();
    province::find(&code)
        .map(|p| p.0.to_string())
        .unwrap_or_default()
}

fn batch_month(file: &str) -> String {
    // `deep-synthesis-2023-06.csv` → `2023-06`
    let b = file.as_bytes();
    for i in 0..b.len().saturating_sub(6) {
        let w = &b[i..i + 7];
        if w[..4].iter().all(u8::is_ascii_digit)
            && w[4] == b'-'
            && w[5..7].iter().all(u8::is_ascii_digit)
        {
            return String::from_utf8_lossy(w).into_owned();
        }
    }
    String::new()
}

/// Turns rows (header included) into records and anomalies.
pub fn parse_rows(file: &str, rows: Vec<(usize, Vec<String>)>) -> Result<ParsedFile, ImportError> {
    let mut out = ParsedFile {
        file: file.to_string(),
        ..Default::default()
    };
    let mut cols: Option<Columns> = None;
    let month = batch_month(file);
    let note = |out: &mut ParsedFile, row, severity, message: String| {
        out.anomalies.push(Anomaly {
            file: file.to_string(),
            row,
            severity,
            message,
        })
    };
    for (row, cells) in rows {
        let cells: Vec<String> = cells.into_iter().map(|c| c.trim().to_string()).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        if let Some(h) = header_columns(&cells) {
            if cols.is_some() {
                let what = if h.registration_section {
                    "header row repeated inside the data (registration section 应用/功能名称 starts); columns re-read"
                } else {
                    "header row repeated inside the data; columns re-read"
                };
                note(&mut out, row, Severity::Note, what.to_string());
            }
            cols = Some(h);
            continue;
        }
        let Some(c) = cols.as_ref() else {
            note(
                &mut out,
                row,
                Severity::Skipped,
                "row before any header row".to_string(),
            );
            continue;
        };
        let get = |i: Option<usize>| i.and_then(|i| cells.get(i)).cloned().unwrap_or_default();
        let mut name = get(c.name);
        let mut provider = get(c.provider);
        let filing_number = get(c.number);
        if name.is_empty() || provider.is_empty() {
            let field = if name.is_empty() { "name" } else { "provider" };
            note(&mut out, row, Severity::Skipped, format!("empty {field}"));
            continue;
        }
        let parsed = match number::parse(&filing_number) {
            Ok(p) => p,
            Err(e) => {
                note(
                    &mut out,
                    row,
                    Severity::Skipped,
                    format!("filing number: {e}"),
                );
                continue;
            }
        };
        if let Some(irr) = &parsed.irregular {
            note(
                &mut out,
                row,
                Severity::Corrected,
                format!("filing number {filing_number:?}: {irr}; imported as published"),
            );
        }
        let kind = if c.algorithm {
            FilingKind::Algorithm
        } else {
            parsed.kind
        };
        if c.algorithm != (parsed.kind == FilingKind::Algorithm) {
            note(
                &mut out,
                row,
                Severity::Skipped,
                format!("filing number {filing_number:?} does not fit this list"),
            );
            continue;
        }
        if c.registration_section && kind == FilingKind::GenaiFiling {
            note(
                &mut out,
                row,
                Severity::Corrected,
                "filing number without S in the registration section; kind taken from the number"
                    .to_string(),
            );
        }
        if !c.algorithm && looks_like_company(&name) && !looks_like_company(&provider) {
            std::mem::swap(&mut name, &mut provider);
            note(
                &mut out,
                row,
                Severity::Corrected,
                format!(
                    "service name and company swapped in the source; read as name {name:?}, provider {provider:?}"
                ),
            );
        }
        let (date, date_remark) = if c.date.is_some() {
            let raw = get(c.date);
            let serial = raw
                .parse::<u32>()
                .ok()
                .filter(|n| (20_000..80_000).contains(n));
            let parsed = match serial {
                Some(n) => chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
                    .and_then(|e| e.checked_add_days(chrono::Days::new(n.into())))
                    .map(|d| (d.format("%Y-%m-%d").to_string(), String::new()))
                    .inspect(|(d, _)| {
                        note(
                            &mut out,
                            row,
                            Severity::Corrected,
                            format!("date {raw:?} is an Excel serial number; read as {d}"),
                        )
                    }),
                None => parse_date(&raw),
            };
            match parsed {
                Some((d, r)) => {
                    if !r.is_empty() {
                        note(
                            &mut out,
                            row,
                            Severity::Corrected,
                            format!("date {raw:?} carries a remark; date {d}, remark {r:?}"),
                        );
                    }
                    (d, r)
                }
                None => {
                    note(
                        &mut out,
                        row,
                        Severity::Corrected,
                        format!("date {raw:?} unreadable; imported without date"),
                    );
                    (String::new(), String::new())
                }
            }
        } else {
            (month.clone(), String::new())
        };
        let province = if c.algorithm {
            province_of_algorithm_number(&filing_number)
        } else {
            let raw = get(c.province);
            province::canonical(&raw).map(str::to_string).unwrap_or(raw)
        };
        let mut remark = get(c.remark);
        if !date_remark.is_empty() {
            remark = if remark.is_empty() {
                date_remark
            } else {
                format!("{remark}; {date_remark}")
            };
        }
        let cancelled = remark.contains("已注销");
        out.records.push(ImportRecord {
            kind,
            name,
            provider,
            filing_number: filing_number.trim().to_string(),
            province,
            date,
            role: get(c.role),
            product: get(c.product),
            purpose: get(c.purpose),
            remark,
            cancelled,
            row,
        });
    }
    if cols.is_none() {
        return Err(ImportError::NoHeader {
            file: file.to_string(),
        });
    }
    Ok(out)
}

/// Reads a CSV or XLSX file (by extension; anything not `.xlsx`/`.xlsm`/`.xls` is read as CSV).
pub fn parse_file(path: &Path) -> Result<ParsedFile, ImportError> {
    let file = path.display().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let rows = if matches!(ext.as_str(), "xlsx" | "xlsm" | "xls" | "ods") {
        read_xlsx(path, &file)?
    } else {
        let bytes = std::fs::read(path).map_err(|source| ImportError::Io {
            file: file.clone(),
            source,
        })?;
        read_csv(&bytes, &file)?
    };
    parse_rows(&file, rows)
}

/// Reads CSV bytes (UTF-8, optional BOM) into numbered rows.
pub fn read_csv(bytes: &[u8], file: &str) -> Result<Vec<(usize, Vec<String>)>, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut rows = Vec::new();
    // Line of each record = newlines before its first byte + 1 (the csv
    // crate's own line count lags by one on CRLF files).
    let (mut cursor, mut newlines) = (0usize, 0usize);
    for rec in rdr.byte_records() {
        let rec = rec.map_err(|e| ImportError::Csv {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        let mut start = rec
            .position()
            .map(|p| p.byte() as usize)
            .unwrap_or(cursor)
            .min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= cursor {
            newlines += bytes[cursor..start].iter().filter(|b| **b == b'\n').count();
            cursor = start;
        }
        let line = newlines + 1;
        let cells = rec
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        rows.push((line, cells));
    }
    Ok(rows)
}

fn read_xlsx(path: &Path, file: &str) -> Result<Vec<(usize, Vec<String>)>, ImportError> {
    use calamine::{Data, Reader, open_workbook_auto};
    let err = |e: &dyn std::fmt::Display| ImportError::Xlsx {
        file: file.to_string(),
        message: e.to_string(),
    };
    let mut wb = open_workbook_auto(path).map_err(|e| err(&e))?;
    let Some(sheet) = wb.sheet_names().first().cloned() else {
        return Err(err(&"workbook has no sheets"));
    };
    let range = wb.worksheet_range(&sheet).map_err(|e| err(&e))?;
    let first_row = range.start().map(|(r, _)| r as usize).unwrap_or(0);
    let mut rows = Vec::new();
    for (i, r) in range.rows().enumerate() {
        let cells = r
            .iter()
            .map(|c| match c {
                Data::Empty => String::new(),
                Data::String(s) => s.clone(),
                Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
                Data::Float(f) => f.to_string(),
                Data::Int(i) => i.to_string(),
                Data::Bool(b) => b.to_string(),
                Data::DateTime(d) => {
                    let (y, m, day, ..) = d.to_ymd_hms_milli();
                    format!("{y:04}-{m:02}-{day:02}")
                }
                Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                Data::Error(e) => format!("#ERR {e:?}"),
            })
            .collect();
        rows.push((first_row + i + 1, cells));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(csv: &str) -> Vec<(usize, Vec<String>)> {
        read_csv(csv.as_bytes(), "t.csv").unwrap()
    }

    #[test]
    fn quirks() {
        let csv = "序号,属地,模型名称,备案单位,备案号,备案时间\n\
            1,北京市,文心一言,北京百度网讯科技有限公司,Beijing-WenXinYiYan-20230821,2023/8/31\n\
            2,广东省,深圳市商汤科技有限公司,商汤AI代码生成模型,Guangdong-ShangTang-202503050020,2025/3/28\n\
            序号,属地,应用/功能名称,登记单位,上线编号,登记时间\n\
            3,江苏省,四维,南京四维向量科技有限公司,Jiangsu-SiWei-,2025/10/29\n\
            4,北京市,某应用,某公司,Beijing-MouYingYong-20240801S0001,2025/6/30（补登）\n";
        let p = parse_rows("genai-2025-03.csv", rows(csv)).unwrap();
        assert_eq!(p.records.len(), 3);
        assert_eq!(p.records[1].name, "商汤AI代码生成模型");
        assert_eq!(p.records[1].provider, "深圳市商汤科技有限公司");
        assert_eq!(p.records[2].kind, FilingKind::GenaiRegistration);
        assert_eq!(p.records[2].date, "2025-06-30");
        assert_eq!(p.records[2].remark, "补登");
        let rows_with: Vec<usize> = p.anomalies.iter().map(|a| a.row).collect();
        assert_eq!(rows_with, vec![3, 4, 5, 6]);
        assert_eq!(p.anomalies[2].severity, Severity::Skipped);
    }

    #[test]
    fn algorithm_list() {
        let csv = "序号,算法名称,角色,主体名称,应用产品,主要用途,备案编号,备注\n\
            ,A算法,服务提供者,北京甲科技有限公司,甲(APP),生成,网信算备110108105858001230019号,已注销\n\
            2,B算法,服务技术支持者,上海乙公司,--,生成,Beijing-X-20230101,\n";
        let p = parse_rows("deep-synthesis-2023-06.csv", rows(csv)).unwrap();
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.records[0].province, "北京市");
        assert_eq!(p.records[0].date, "2023-06");
        assert!(p.records[0].cancelled);
        assert_eq!(p.anomalies.len(), 1);
    }

    #[test]
    fn crlf_rows_are_numbered_like_lines() {
        let csv = "序号,属地,模型名称,备案单位,备案号,备案时间\r\n1,北京市,甲,乙公司,Beijing-A-20230821,2023/8/31\r\n2,北京市,丙公司,丁模型,Beijing-B-20230821,2023/8/31\r\n";
        let p = parse_rows("t.csv", rows(csv)).unwrap();
        assert_eq!(p.records[1].row, 3);
        assert_eq!(p.anomalies[0].row, 3);
    }

    #[test]
    fn other_headings_of_the_same_columns() {
        let csv = "\u{feff}序号,省份,产品名称,企业名称,备案号（登记编号）,备案日期\n\
            1,上海市,甲模型,上海甲科技有限公司,Shanghai-JiaMoXing-20240601,2024年6月1日\n";
        let p = parse_rows("genai-x.csv", rows(csv)).unwrap();
        assert_eq!(p.records.len(), 1, "{:?}", p.anomalies);
        let r = &p.records[0];
        assert_eq!(
            (r.province.as_str(), r.name.as_str(), r.provider.as_str()),
            ("上海市", "甲模型", "上海甲科技有限公司")
        );
        assert_eq!(r.filing_number, "Shanghai-JiaMoXing-20240601");
        assert_eq!(r.date, "2024-06-01");
    }

    #[test]
    fn no_header_is_an_error() {
        assert!(matches!(
            parse_rows("x.csv", rows("a,b\n1,2\n")),
            Err(ImportError::NoHeader { .. })
        ));
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "",
            "\u{0}\u{1}",
            "序号,算法名称,主体名称,备案编号\n,,,,,,,,,\n\"unterminated",
        ] {
            let _ = read_csv(s.as_bytes(), "g.csv").map(|r| parse_rows("g.csv", r));
        }
    }
}
