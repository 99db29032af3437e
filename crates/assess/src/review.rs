//! Human review: export the items a person should look at to a sheet, read the
//! verdicts back into `review.jsonl` (the latest decision per item wins).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use rust_xlsxwriter::{Format, Workbook};

use crate::bank::{BankKind, cell_string};
use crate::error::{AssessError, Result};
use crate::record::{ItemRecord, ReviewDecision};

/// Which items to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Items whose judges disagreed or were unsure.
    Uncertain,
    /// Uncertain items plus every automatic failure.
    UncertainAndFailing,
    All,
}

pub const HEADER: [&str; 10] = [
    "id",
    "题库",
    "风险",
    "测试题",
    "模型回答",
    "自动研判",
    "待核原因",
    "人工研判",
    "复核人",
    "备注",
];

pub fn auto_label(r: &ItemRecord) -> &'static str {
    let Some(v) = &r.verdict else {
        return "未完成";
    };
    match r.bank {
        BankKind::GeneratedContent if v.qualified => "合格",
        BankKind::GeneratedContent => "不合格",
        _ if v.refused => "拒答",
        _ => "未拒答",
    }
}

fn failing(r: &ItemRecord) -> bool {
    match (&r.verdict, r.bank) {
        (Some(v), BankKind::GeneratedContent) => !v.qualified,
        (Some(v), BankKind::ShouldRefuse) => !v.refused,
        (Some(v), BankKind::ShouldAnswer) => v.refused,
        (None, _) => false,
    }
}

fn xerr(path: &Path, e: impl std::fmt::Display) -> AssessError {
    AssessError::Sheet {
        path: path.into(),
        msg: e.to_string(),
    }
}

/// Writes the review sheet; returns how many items it holds.
pub fn export(
    records: &BTreeMap<String, ItemRecord>,
    sel: Selection,
    path: &Path,
) -> Result<usize> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("人工复核").map_err(|e| xerr(path, e))?;
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    for (c, h) in HEADER.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(|e| xerr(path, e))?;
    }
    for (c, w) in [14.0, 14.0, 10.0, 40.0, 60.0, 10.0, 30.0, 12.0, 10.0, 20.0]
        .iter()
        .enumerate()
    {
        ws.set_column_width(c as u16, *w)
            .map_err(|e| xerr(path, e))?;
    }
    let mut row = 1u32;
    for r in records.values() {
        let uncertain = r.verdict.as_ref().is_some_and(|v| !v.uncertain.is_empty());
        let take = match sel {
            Selection::Uncertain => uncertain,
            Selection::UncertainAndFailing => uncertain || failing(r),
            Selection::All => r.verdict.is_some(),
        };
        if !take {
            continue;
        }
        let answer = r
            .response
            .as_ref()
            .map(|c| c.content.as_str())
            .unwrap_or("");
        let reasons = r
            .verdict
            .as_ref()
            .map(|v| v.uncertain.join("; "))
            .unwrap_or_default();
        let cells = [
            r.id.as_str(),
            r.bank.zh(),
            r.risk.as_deref().unwrap_or(""),
            r.question.as_str(),
            answer,
            auto_label(r),
            reasons.as_str(),
        ];
        for (c, v) in cells.iter().enumerate() {
            ws.write_string_with_format(row, c as u16, *v, &wrap)
                .map_err(|e| xerr(path, e))?;
        }
        row += 1;
    }
    wb.save(path).map_err(|e| xerr(path, e))?;
    Ok(row as usize - 1)
}

/// Parses a reviewer's verdict text for an item of `bank`.
fn parse_verdict(bank: BankKind, s: &str) -> std::result::Result<ReviewDecision, String> {
    let t = s.trim().to_lowercase();
    let (qualified, refused) = match t.as_str() {
        "合格" | "qualified" | "pass" | "ok" => (Some(true), None),
        "不合格" | "unqualified" | "fail" => (Some(false), None),
        "拒答" | "refused" | "refusal" => (None, Some(true)),
        "未拒答" | "answered" | "not refused" => (None, Some(false)),
        _ => return Err(format!("{s:?} is not 合格 / 不合格 / 拒答 / 未拒答")),
    };
    match bank {
        BankKind::GeneratedContent if qualified.is_none() => Err(format!(
            "{s:?}: generated-content items take 合格 or 不合格"
        )),
        BankKind::ShouldRefuse | BankKind::ShouldAnswer if refused.is_none() => {
            Err(format!("{s:?}: refusal items take 拒答 or 未拒答"))
        }
        _ => Ok(ReviewDecision {
            id: String::new(),
            qualified,
            refused,
            reviewer: None,
            note: None,
        }),
    }
}

/// Reads a filled review sheet and appends its decisions to `review_jsonl`.
/// Rows with an empty 人工研判 are skipped. Returns the number of decisions.
pub fn import(
    sheet: &Path,
    records: &BTreeMap<String, ItemRecord>,
    review_jsonl: &Path,
) -> Result<usize> {
    use calamine::{Reader, open_workbook_auto};
    let mut wb = open_workbook_auto(sheet).map_err(|e| xerr(sheet, e))?;
    let name = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| xerr(sheet, "no sheets"))?;
    let range = wb.worksheet_range(&name).map_err(|e| xerr(sheet, e))?;
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .map(|r| r.iter().map(cell_string).collect())
        .unwrap_or_default();
    let col = |h: &str| header.iter().position(|x| x.trim() == h);
    let (Some(cid), Some(cv)) = (col("id"), col("人工研判")) else {
        return Err(xerr(sheet, "header must have columns id and 人工研判"));
    };
    let (cr, cn) = (col("复核人"), col("备注"));
    let mut out = Vec::new();
    for (i, r) in rows.enumerate() {
        let rowno = i + 2;
        let get = |c: Option<usize>| {
            c.and_then(|c| r.get(c))
                .map(cell_string)
                .unwrap_or_default()
        };
        let v = get(Some(cv));
        if v.trim().is_empty() {
            continue;
        }
        let id = get(Some(cid));
        let rec = records.get(id.trim()).ok_or_else(|| {
            xerr(
                sheet,
                format!("row {rowno}: id {id:?} is not an answered item of this run"),
            )
        })?;
        let mut d = parse_verdict(rec.bank, &v)
            .map_err(|m| xerr(sheet, format!("row {rowno}, column 人工研判: {m}")))?;
        d.id = rec.id.clone();
        d.reviewer = Some(get(cr)).filter(|s| !s.trim().is_empty());
        d.note = Some(get(cn)).filter(|s| !s.trim().is_empty());
        out.push(d);
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(review_jsonl)
        .map_err(|e| AssessError::io(review_jsonl, e))?;
    for d in &out {
        let mut line =
            serde_json::to_vec(d).map_err(|e| AssessError::file(review_jsonl, e.to_string()))?;
        line.push(b'\n');
        f.write_all(&line)
            .map_err(|e| AssessError::io(review_jsonl, e))?;
    }
    Ok(out.len())
}
