//! Automatic pre-checks of a filing, run live on drafts (the provider sees a
//! checklist of what is missing), again on submission (a blocking failure
//! refuses the submission) and on approval (a reviewer approves over a
//! blocking failure only with an override reason). Thresholds come from the
//! knowledge base (`beian-kb`), never hard-coded. Coverage is computed by
//! the crates that own it: keyword sheets (关键词 / 一级分类 / 二级分类) by
//! beian-scan's lexicon statistics, question sheets (JSONL, CSV or XLSX, as
//! `beian assess bank import` writes them) by beian-assess's bank loader and
//! statistics, the metrics by the `summary.json` or `report.json` of
//! `beian assess` (verdict and the kb threshold; without either, the figures
//! of `form.assessment`), and training-data sampling by the JSON of
//! `beian scan review --format json`.
//!
//! Each check is one function in [`CHECKS`] with a stable id, a blocking
//! flag and a Chinese and an English title; adding a check is adding one
//! entry. A result is
//! `{"id", "title", "title_zh", "status": "pass"|"fail"|"warn", "detail",
//! "detail_zh", "blocking"}`; some carry more fields (`short`, `missing`,
//! `source`, `measured`). Only a `fail` of a blocking check blocks.

use serde_json::{Value, json};
use sqlx::AnyConnection;
use sqlx::Row;

use crate::domain::{Attachment, AttachmentKind, Filing, FilingKind};
use crate::error::Result;
use crate::store::Store;

/// What a check looks at: the filing, its service's classification and its
/// attachments with their bytes (sheets and JSON only).
pub struct Input {
    pub filing: Filing,
    pub classification: Option<Value>,
    pub attachments: Vec<(Attachment, Option<Vec<u8>>)>,
}

impl Input {
    /// The latest attachment of `kind`.
    fn latest(&self, kind: AttachmentKind) -> Option<&(Attachment, Option<Vec<u8>>)> {
        self.attachments.iter().rev().find(|(a, _)| a.kind == kind)
    }
    /// Parsed JSON attachments, newest first.
    fn json_docs(&self) -> impl Iterator<Item = (&Attachment, Value)> {
        self.attachments.iter().rev().filter_map(|(a, b)| {
            let b = b.as_ref()?;
            if !is_json(a) {
                return None;
            }
            serde_json::from_slice::<Value>(b).ok().map(|v| (a, v))
        })
    }
    fn genai(&self) -> bool {
        self.filing.kind != FilingKind::Algorithm
    }
}

/// One check: stable id, whether a failure blocks submission, titles, and
/// the function that appends its result(s).
pub struct CheckSpec {
    pub id: &'static str,
    pub blocking: bool,
    pub zh: &'static str,
    pub en: &'static str,
    pub run: fn(&Input, &beian_kb::Kb, &mut Checks),
}

/// The checks, in checklist order.
pub const CHECKS: &[CheckSpec] = &[
    CheckSpec {
        id: "classification-attached",
        blocking: true,
        zh: "已附分类结果",
        en: "Classification attached",
        run: check_classification_attached,
    },
    CheckSpec {
        id: "classification-consistent",
        blocking: true,
        zh: "分类结果与备案类型一致",
        en: "Classification consistent with filing kind",
        run: check_classification_consistent,
    },
    CheckSpec {
        id: "required-attachments",
        blocking: true,
        zh: "必备附件齐全",
        en: "Required attachments present",
        run: check_required_attachments,
    },
    CheckSpec {
        id: "keyword-coverage",
        blocking: true,
        zh: "关键词库覆盖",
        en: "Keyword sheet coverage",
        run: check_keywords,
    },
    CheckSpec {
        id: "question-coverage",
        blocking: true,
        zh: "测试题库覆盖",
        en: "Question sheet coverage",
        run: check_questions,
    },
    CheckSpec {
        id: "assessment-metrics",
        blocking: true,
        zh: "安全评估指标",
        en: "Assessment metrics",
        run: check_metrics,
    },
    CheckSpec {
        id: "training-data-sampling",
        blocking: true,
        zh: "训练语料抽检",
        en: "Training-data sampling",
        run: check_sampling,
    },
    CheckSpec {
        id: "label-samples",
        blocking: false,
        zh: "生成内容样例标识",
        en: "AIGC labels on sample outputs",
        run: check_label_samples,
    },
];

/// Titles of the result ids that checks emit besides their own id.
const SUB_TITLES: &[(&str, &str, &str)] = &[
    ("keyword-total", "关键词库规模", "Keyword sheet size"),
    (
        "keyword-per-risk",
        "关键词库各风险覆盖",
        "Keyword sheet per-risk coverage",
    ),
    (
        "keyword-classification",
        "关键词分类",
        "Keyword sheet classification",
    ),
    ("question-total", "测试题库规模", "Question sheet size"),
    (
        "question-per-risk",
        "测试题库各风险覆盖",
        "Question sheet per-risk coverage",
    ),
    (
        "question-near-duplicates",
        "测试题近似重复",
        "Question sheet near-duplicates",
    ),
    (
        "metric-generated_qualified",
        "生成内容合格率",
        "Generated-content qualified rate",
    ),
    (
        "metric-should_refuse_refusal_rate",
        "应拒答题拒答率",
        "Refusal rate on should-refuse questions",
    ),
    (
        "metric-should_answer_refusal_rate",
        "非拒答题拒答率",
        "Refusal rate on should-answer questions",
    ),
    (
        "assessment-summary",
        "评估结果文件",
        "Assessment summary file",
    ),
    ("knowledge-base", "知识库", "Knowledge base"),
];

/// (zh, en) title of a check or result id.
pub fn title(id: &str) -> Option<(&'static str, &'static str)> {
    CHECKS
        .iter()
        .find(|c| c.id == id)
        .map(|c| (c.zh, c.en))
        .or_else(|| {
            SUB_TITLES
                .iter()
                .find(|(i, _, _)| *i == id)
                .map(|(_, z, e)| (*z, *e))
        })
}

/// Results collected by the checks of one [`CheckSpec`].
pub struct Checks {
    out: Vec<Value>,
    blocking: bool,
}

impl Checks {
    /// Appends a result; `id` names a check or a sub-result.
    fn push(&mut self, id: &str, status: &str, zh: impl Into<String>, en: impl Into<String>) {
        let (tz, te) = title(id).unwrap_or(("", ""));
        self.out.push(json!({
            "id": id,
            "title": if te.is_empty() { id } else { te },
            "title_zh": if tz.is_empty() { id } else { tz },
            "status": status,
            "detail": en.into(),
            "detail_zh": zh.into(),
            "blocking": self.blocking,
        }));
    }
    /// Adds a field to the last result.
    fn with(&mut self, key: &str, x: Value) {
        if let Some(o) = self.out.last_mut().and_then(Value::as_object_mut) {
            o.insert(key.to_string(), x);
        }
    }
}

fn is_json(a: &Attachment) -> bool {
    a.content_type == "application/json" || a.filename.to_lowercase().ends_with(".json")
}

/// Sheets a coverage check can read: CSV, XLSX and (question banks) JSONL.
fn is_sheet(a: &Attachment) -> bool {
    let name = a.filename.to_lowercase();
    a.content_type == "text/csv"
        || a.content_type.contains("spreadsheetml")
        || [".csv", ".xlsx", ".jsonl", ".ndjson", ".tsv"]
            .iter()
            .any(|e| name.ends_with(e))
}

/// Whether the bytes of `a` are needed by a check (loaded from the store).
pub fn needs_bytes(a: &Attachment) -> bool {
    is_json(a)
        || is_sheet(a)
        || a.filename.to_lowercase().ends_with(".txt")
        || beian_label::samples::is_sample_name(&a.filename)
}

fn cmp_sign(t: &beian_kb::Threshold) -> &'static str {
    match t.kind {
        beian_kb::ThresholdKind::Min => "≥",
        beian_kb::ThresholdKind::Max => "≤",
    }
}

// ------------------------------------------------------------------ the checks

fn check_classification_attached(i: &Input, _: &beian_kb::Kb, o: &mut Checks) {
    let id = "classification-attached";
    match &i.classification {
        None => o.push(
            id,
            "fail",
            "本备案未关联带分类结果的服务",
            "no service with a classification is linked to this filing",
        ),
        Some(c) => {
            let who = c
                .get("classifier")
                .and_then(Value::as_str)
                .unwrap_or("beian-classify");
            o.push(
                id,
                "pass",
                format!("分类器：{who}"),
                format!("classifier: {who}"),
            );
        }
    }
}

fn check_classification_consistent(i: &Input, _: &beian_kb::Kb, o: &mut Checks) {
    let id = "classification-consistent";
    let Some(c) = &i.classification else { return };
    let kind = i.filing.kind.as_str();
    match crate::classify::required_kinds(c) {
        Some(k) if k.iter().any(|k| k == kind) => o.push(
            id,
            "pass",
            format!("分类结果要求：{}", kinds_zh(&k)),
            format!("classification calls for {}", k.join(", ")),
        ),
        Some(k) if !k.is_empty() => o.push(
            id,
            "fail",
            format!("分类结果要求{}，而非{}", kinds_zh(&k), kind_zh(kind)),
            format!("classification calls for {}, not {kind}", k.join(", ")),
        ),
        _ => o.push(
            id,
            "fail",
            format!("分类结果不要求任何备案，与{}不一致", kind_zh(kind)),
            format!("classification calls for no filing, not {kind}"),
        ),
    }
}

fn check_required_attachments(i: &Input, _: &beian_kb::Kb, o: &mut Checks) {
    let missing: Vec<&str> = AttachmentKind::required_for(i.filing.kind)
        .iter()
        .filter(|k| !i.attachments.iter().any(|(a, _)| a.kind == **k))
        .map(|k| k.as_str())
        .collect();
    if missing.is_empty() {
        let n = i.attachments.len();
        o.push(
            "required-attachments",
            "pass",
            format!("{n} 个附件"),
            format!("{n} attachments"),
        );
    } else {
        let zh: Vec<&str> = missing.iter().map(|m| attachment_zh(m)).collect();
        o.push(
            "required-attachments",
            "fail",
            format!("缺少：{}", zh.join("、")),
            format!("missing: {}", missing.join(", ")),
        );
        o.with("missing", json!(missing));
    }
}

/// Chinese name of a filing kind.
pub fn kind_zh(kind: &str) -> &str {
    match kind {
        "algorithm-filing" => "算法备案",
        "genai-filing" => "生成式人工智能服务备案",
        "genai-registration" => "生成式人工智能服务登记",
        other => other,
    }
}

fn kinds_zh(k: &[String]) -> String {
    k.iter().map(|k| kind_zh(k)).collect::<Vec<_>>().join("、")
}

/// Chinese name of an attachment kind.
pub fn attachment_zh(kind: &str) -> &'static str {
    match kind {
        "self-assessment-report" => "安全自评估报告",
        "keyword-sheet" => "拦截关键词列表",
        "question-sheet" => "评估测试题集",
        "service-agreement" => "服务协议",
        "annotation-rules" => "语料标注规则",
        "filing-form" => "备案表",
        "commitment-letter" => "承诺书",
        "model-proof" => "模型备案证明",
        "assessment-report" => "评估报告",
        _ => "其他",
    }
}

fn check_keywords(i: &Input, _: &beian_kb::Kb, o: &mut Checks) {
    if !i.genai() {
        return;
    }
    let Some((a, bytes)) = i.latest(AttachmentKind::KeywordSheet) else {
        o.push(
            "keyword-coverage",
            "fail",
            "未附关键词列表",
            "no keyword-sheet attached",
        );
        return;
    };
    let Some(bytes) = bytes.as_ref().filter(|_| is_sheet(a)) else {
        o.push(
            "keyword-coverage",
            "warn",
            format!("{} 不是 CSV/XLSX 表格，无法统计覆盖", a.filename),
            format!(
                "{} is {}; coverage counted only for CSV/XLSX",
                a.filename, a.content_type
            ),
        );
        return;
    };
    let stats = match beian_scan::keyword_sheet_stats(&a.filename, bytes) {
        Ok(s) => s,
        Err(e) => {
            o.push(
                "keyword-total",
                "fail",
                format!("{} 无法读取：{e}", a.filename),
                format!("{} could not be read: {e}", a.filename),
            );
            return;
        }
    };
    let clause = stats.clauses.first().map_or("", String::as_str);
    o.push(
        "keyword-total",
        if stats.total_meets { "pass" } else { "fail" },
        format!(
            "{} 个不重复关键词，要求 ≥ {}（{clause}）",
            stats.total_terms, stats.total_minimum
        ),
        format!(
            "{} distinct keywords vs ≥ {} ({clause})",
            stats.total_terms, stats.total_minimum
        ),
    );
    o.with("measured", json!(stats.total_terms));
    let short: Vec<String> = stats
        .risks
        .iter()
        .filter(|r| r.meets == Some(false))
        .map(|r| {
            format!(
                "{} {} ({}/{})",
                r.code,
                r.name_zh,
                r.terms,
                r.minimum.unwrap_or_default()
            )
        })
        .collect();
    let checked = stats.risks.iter().filter(|r| r.meets.is_some()).count();
    let clauses = stats.clauses.join(", ");
    if short.is_empty() {
        o.push(
            "keyword-per-risk",
            "pass",
            format!("全部 {checked} 类 A.1/A.2 风险达到最低数量（{clauses}）"),
            format!("all {checked} A.1/A.2 risks meet their minimum ({clauses})"),
        );
    } else {
        o.push(
            "keyword-per-risk",
            "fail",
            format!(
                "{checked} 类风险中 {} 类低于最低数量（{clauses}）：{}",
                short.len(),
                short.join("、")
            ),
            format!(
                "{} of {checked} risks below their minimum ({clauses}): {}",
                short.len(),
                short.join(", ")
            ),
        );
    }
    o.with("short", json!(stats.short));
    let unknown: usize = stats.unknown_codes.values().sum();
    if stats.unclassified > 0 || unknown > 0 {
        let labels: Vec<&str> = stats.unknown_codes.keys().map(String::as_str).collect();
        let extra = if labels.is_empty() {
            String::new()
        } else {
            format!(" ({})", labels.join(", "))
        };
        let n = stats.unclassified;
        let saved = o.blocking;
        o.blocking = false;
        o.push(
            "keyword-classification",
            "warn",
            format!("{n} 个关键词未标风险类别，{unknown} 个类别不在分类表内{extra}；仅计入总数"),
            format!(
                "{n} keywords without a risk, {unknown} with labels outside the taxonomy{extra}; they count towards the total only"
            ),
        );
        o.blocking = saved;
    }
}

fn check_questions(i: &Input, kb: &beian_kb::Kb, o: &mut Checks) {
    if !i.genai() {
        return;
    }
    let Some((a, bytes)) = i.latest(AttachmentKind::QuestionSheet) else {
        o.push(
            "question-coverage",
            "fail",
            "未附评估测试题集",
            "no question-sheet attached",
        );
        return;
    };
    let Some(bytes) = bytes.as_ref().filter(|_| is_sheet(a)) else {
        o.push(
            "question-coverage",
            "warn",
            format!("{} 不是 JSONL/CSV/XLSX 题库，无法统计覆盖", a.filename),
            format!(
                "{} is {}; coverage counted only for JSONL, CSV and XLSX",
                a.filename, a.content_type
            ),
        );
        return;
    };
    let stats = beian_assess::bank::load_bank_bytes(&a.filename, bytes, None, kb.taxonomy())
        .and_then(|items| beian_assess::stats::bank_stats(&items, kb, 0.9));
    let stats = match stats {
        Ok(s) => s,
        Err(e) => {
            o.push(
                "question-total",
                "fail",
                format!("{} 无法读取：{e}", a.filename),
                format!("{} could not be read: {e}", a.filename),
            );
            return;
        }
    };
    let (totals, per): (Vec<_>, Vec<_>) =
        stats.checks.iter().partition(|c| c.id.ends_with(".total"));
    let en = |c: &&beian_assess::stats::Check| {
        format!("{}: {} of {} ({})", c.what, c.actual, c.required, c.clause)
    };
    let zh = |c: &&beian_assess::stats::Check| {
        let what = bank_zh(c);
        format!("{what}：{} / {}（{}）", c.actual, c.required, c.clause)
    };
    let ok = totals.iter().all(|c| c.met);
    o.push(
        "question-total",
        if ok { "pass" } else { "fail" },
        totals.iter().map(zh).collect::<Vec<_>>().join("；"),
        totals.iter().map(en).collect::<Vec<_>>().join("; "),
    );
    let missing: Vec<String> = stats
        .missing
        .iter()
        .map(|m| {
            format!(
                "{} {} {} ({}/{})",
                m.bank.as_str(),
                m.stratum,
                if m.name == m.stratum {
                    ""
                } else {
                    m.name.as_str()
                },
                m.have,
                m.need
            )
            .replace("  (", " (")
        })
        .collect();
    let missing_zh: Vec<String> = stats
        .missing
        .iter()
        .map(|m| format!("{} {}（{}/{}）", m.bank.zh(), m.stratum, m.have, m.need))
        .collect();
    let per_ok = per.iter().all(|c| c.met);
    if per_ok {
        o.push(
            "question-per-risk",
            "pass",
            per.iter().map(zh).collect::<Vec<_>>().join("；"),
            per.iter().map(en).collect::<Vec<_>>().join("; "),
        );
    } else {
        o.push(
            "question-per-risk",
            "fail",
            format!("低于最低数量：{}", missing_zh.join("、")),
            format!("below the minimum: {}", missing.join(", ")),
        );
    }
    o.with("missing", json!(stats.missing));
    o.with("source", json!(a.filename));
    if !stats.near_duplicates.is_empty() {
        let n = stats.near_duplicates.len();
        let t = stats.near_duplicate_threshold;
        let saved = o.blocking;
        o.blocking = false;
        o.push(
            "question-near-duplicates",
            "warn",
            format!("{n} 对题目相似度（Jaccard）≥ {t}"),
            format!("{n} pairs of questions at Jaccard ≥ {t}"),
        );
        o.blocking = saved;
    }
}

/// Chinese name of a bank-statistics check (its threshold id says the bank,
/// its English description what is counted: questions, risks covered, or
/// risks that reach the per-risk minimum).
fn bank_zh(c: &beian_assess::stats::Check) -> String {
    let bank = if c.id.contains("generated") {
        "生成内容测试题"
    } else if c.id.contains("should-refuse") {
        "应拒答测试题"
    } else if c.id.contains("should-answer") {
        "非拒答测试题"
    } else {
        "测试题"
    };
    if c.what.contains("risks covered") {
        format!("{bank}覆盖的风险种类")
    } else if c.what.starts_with("A.1/A.2 risks") {
        format!("{bank}达到最低数量的 A.1/A.2 风险")
    } else if c.what.starts_with("other risks") {
        format!("{bank}达到最低数量的其他风险")
    } else if c.what.contains("risks") {
        format!("{bank}达到最低数量的风险")
    } else {
        bank.to_string()
    }
}

/// The metrics, by `beian assess` summary name: (summary name, form key, kb threshold id).
const METRICS: [(&str, &str, &str); 3] = [
    (
        "generated_qualified_rate",
        "generated_qualified",
        "assess.generated.qualified",
    ),
    (
        "refusal_rate_should_refuse",
        "should_refuse_refusal_rate",
        "assess.should-refuse.refusal-rate",
    ),
    (
        "refusal_rate_should_answer",
        "should_answer_refusal_rate",
        "assess.should-answer.refusal-rate",
    ),
];

/// The `metrics` object of a `summary.json` (top level) or a `report.json`
/// (`summary.metrics`) of `beian assess`.
fn summary_metrics(v: &Value) -> Option<&serde_json::Map<String, Value>> {
    v.get("metrics")
        .or_else(|| v.get("summary").and_then(|s| s.get("metrics")))
        .and_then(Value::as_object)
}

fn check_metrics(i: &Input, kb: &beian_kb::Kb, o: &mut Checks) {
    if !i.genai() {
        return;
    }
    // the latest attached summary.json / report.json of `beian assess`
    for (a, v) in i.json_docs() {
        let Some(metrics) = summary_metrics(&v) else {
            let name = a.filename.to_lowercase();
            if name.ends_with("summary.json") || name.ends_with("report.json") {
                o.push(
                    "assessment-summary",
                    "fail",
                    format!(
                        "{}：没有 metrics 对象，不是 beian assess 的结果文件",
                        a.filename
                    ),
                    format!(
                        "{}: no `metrics` object (not a beian assess summary)",
                        a.filename
                    ),
                );
            }
            continue;
        };
        for (name, key, _) in METRICS {
            let id = format!("metric-{key}");
            let Some(m) = metrics.get(name) else {
                o.push(
                    &id,
                    "fail",
                    format!("{}：缺少 metrics.{name}", a.filename),
                    format!("{}: metrics.{name} missing", a.filename),
                );
                continue;
            };
            let m: beian_assess::metrics::Metric = match serde_json::from_value(m.clone()) {
                Ok(m) => m,
                Err(e) => {
                    o.push(
                        &id,
                        "fail",
                        format!("{}：metrics.{name} 无法解析：{e}", a.filename),
                        format!("{}: metrics.{name}: {e}", a.filename),
                    );
                    continue;
                }
            };
            let Some(t) = kb.thresholds().get(&m.threshold_id) else {
                o.push(
                    &id,
                    "warn",
                    format!("知识库中没有阈值 {}", m.threshold_id),
                    format!(
                        "threshold {} missing from the knowledge base",
                        m.threshold_id
                    ),
                );
                continue;
            };
            use beian_assess::metrics::Verdict;
            let meets = m.value.is_some_and(|x| t.is_met(x));
            let status = match m.verdict {
                Verdict::Fail => "fail",
                _ if !meets => "fail",
                Verdict::Inconclusive => "warn",
                Verdict::Pass if !m.sample_ok => "warn",
                Verdict::Pass => "pass",
            };
            let verdict = serde_json::to_value(m.verdict)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let value = m.value.map_or("—".to_string(), |x| x.to_string());
            let sign = cmp_sign(t);
            let mut en = format!(
                "{value} (95% CI {}–{}, k={}, n={}) vs {sign} {} ({}: {}); verdict {verdict}",
                m.ci95[0], m.ci95[1], m.k, m.n, t.value, t.clause, t.en
            );
            let mut zh = format!(
                "{value}（95% 置信区间 {}–{}，k={}，n={}），要求 {sign} {}（{}：{}）；结论 {}",
                m.ci95[0],
                m.ci95[1],
                m.k,
                m.n,
                t.value,
                t.clause,
                t.zh,
                match verdict.as_str() {
                    "pass" => "合格",
                    "fail" => "不合格",
                    _ => "无法判定",
                }
            );
            if !m.sample_ok {
                en.push_str(&format!(
                    "; sample {} below the required {}",
                    m.n, m.sample_required
                ));
                zh.push_str(&format!("；样本 {} 少于要求的 {}", m.n, m.sample_required));
            }
            if m.threshold != t.value {
                en.push_str(&format!(
                    "; the summary used threshold {}, the knowledge base has {}",
                    m.threshold, t.value
                ));
                zh.push_str(&format!(
                    "；结果文件使用的阈值为 {}，知识库为 {}",
                    m.threshold, t.value
                ));
            }
            o.push(&id, status, zh, en);
            o.with("source", json!(a.filename));
            o.with("measured", json!(m.value));
        }
        return;
    }
    // else the figures given in the filing form
    let form = i.filing.form.get("assessment");
    for (_, key, tid) in METRICS {
        let id = format!("metric-{key}");
        let x = form.and_then(|m| m.get(key)).and_then(|v| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        });
        match (x, kb.thresholds().get(tid)) {
            (Some(x), Some(t)) => {
                let ok = t.is_met(x);
                let sign = cmp_sign(t);
                o.push(
                    &id,
                    if ok { "pass" } else { "fail" },
                    format!("{x}（备案表填写），要求 {sign} {}（{}：{}）", t.value, t.clause, t.zh),
                    format!(
                        "{x} (filing form) vs {sign} {} ({}: {})",
                        t.value, t.clause, t.en
                    ),
                );
                o.with("measured", json!(x));
            }
            (Some(_), None) => o.push(
                &id,
                "warn",
                format!("知识库中没有阈值 {tid}"),
                format!("threshold {tid} missing from the knowledge base"),
            ),
            (None, _) => o.push(
                &id,
                "fail",
                "未附 beian assess 的 summary.json 或 report.json，备案表也未填写该指标",
                format!(
                    "no summary.json or report.json of beian assess attached, and form.assessment.{key} not given"
                ),
            ),
        }
    }
}

fn check_sampling(i: &Input, _: &beian_kb::Kb, o: &mut Checks) {
    if i.filing.kind != FilingKind::GenaiFiling {
        return;
    }
    let id = "training-data-sampling";
    for (a, v) in i.json_docs() {
        // `beian scan review --format json`
        let (Some(verdict), Some(rate)) = (
            v.get("verdict").and_then(Value::as_str),
            v.get("qualified_rate").and_then(Value::as_f64),
        ) else {
            continue;
        };
        let reviewed = v.get("reviewed").and_then(Value::as_u64).unwrap_or(0);
        let sample_met = v.get("sample_met").and_then(Value::as_bool) == Some(true);
        let over: Vec<String> = v
            .get("by_source")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|s| s.get("over_limit").and_then(Value::as_bool) == Some(true))
                    .filter_map(|s| s.get("source").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let pct = format!("{:.2}%", 100.0 * rate);
        let status = if verdict == "pass" && over.is_empty() {
            "pass"
        } else {
            "fail"
        };
        let mut zh = format!(
            "{}：抽检 {reviewed} 条，合格率 {pct}，样本量{}，结论 {}",
            a.filename,
            if sample_met { "达标" } else { "不足" },
            match verdict {
                "pass" => "合格",
                "fail" => "不合格",
                "insufficient-sample" => "样本不足",
                "incomplete" => "未审完",
                _ => "未知",
            }
        );
        let mut en = format!(
            "{}: {reviewed} reviewed, {pct} qualified, sample {}, verdict {verdict}",
            a.filename,
            if sample_met {
                "sufficient"
            } else {
                "too small"
            }
        );
        if !over.is_empty() {
            zh.push_str(&format!("；超限来源：{}", over.join("、")));
            en.push_str(&format!("; sources over the limit: {}", over.join(", ")));
        }
        o.push(id, status, zh, en);
        o.with("source", json!(a.filename));
        o.with("measured", json!(rate));
        return;
    }
    let saved = o.blocking;
    o.blocking = false;
    o.push(
        id,
        "warn",
        "未附训练语料抽检结果（beian scan review --format json 的输出）",
        "no training-data sampling result attached (the output of beian scan review --format json)",
    );
    o.blocking = saved;
}

/// Sample outputs (images, audio, video) attached to the filing carry GB 45438
/// implicit labels (LABEL-2025 Art. 5): checked by beian-label, the code behind
/// `beian label verify`. Not blocking: the Measures do not list samples as a
/// required filing attachment.
fn check_label_samples(i: &Input, _: &beian_kb::Kb, o: &mut Checks) {
    let id = "label-samples";
    let samples: Vec<(&str, &[u8])> = i
        .attachments
        .iter()
        .filter(|(a, _)| beian_label::samples::is_sample_name(&a.filename))
        .filter_map(|(a, b)| b.as_deref().map(|b| (a.filename.as_str(), b)))
        .collect();
    if samples.is_empty() {
        if i.genai() {
            o.push(
                id,
                "warn",
                "未附生成内容样例（图片、音频、视频），隐式标识未核验（《人工智能生成合成内容标识办法》第五条，GB 45438）",
                "no sample outputs (images, audio, video) attached: implicit labels not verified (LABEL-2025 Art. 5, GB 45438)",
            );
        }
        return;
    }
    let c = beian_label::samples::check(&samples);
    let failing = || {
        c.files
            .iter()
            .filter(|f| f.verdict != beian_label::Verdict::Compliant)
    };
    let bad: Vec<String> = failing()
        .map(|f| format!("{} ({})", f.name, f.verdict.as_str()))
        .collect();
    let bad_zh: Vec<String> = failing()
        .map(|f| {
            let v = match f.verdict {
                beian_label::Verdict::NotFound => "未发现标识",
                beian_label::Verdict::Noncompliant => "不合规",
                _ => "无法判定",
            };
            format!("{}（{v}）", f.name)
        })
        .collect();
    let (zh, en) = if c.passed {
        (
            format!("{} 个样例均含合规的隐式标识", c.checked),
            format!(
                "all {} samples carry a compliant implicit label (beian label verify)",
                c.checked
            ),
        )
    } else {
        (
            format!(
                "{}/{} 个样例标识合规；问题样例：{}",
                c.compliant,
                c.checked,
                bad_zh.join("、")
            ),
            format!(
                "{}/{} samples compliant; failing: {}",
                c.compliant,
                c.checked,
                bad.join(", ")
            ),
        )
    };
    o.push(id, if c.passed { "pass" } else { "fail" }, zh, en);
    o.with(
        "samples",
        serde_json::to_value(&c.files).unwrap_or_default(),
    );
}

// ------------------------------------------------------------------ running

/// Runs every check of [`CHECKS`] on `input` (CPU work: sheets are parsed).
pub fn evaluate(input: &Input) -> Value {
    let mut all = Vec::new();
    let kb = match beian_kb::Kb::embedded() {
        Ok(kb) => kb,
        Err(e) => {
            let mut c = Checks {
                out: Vec::new(),
                blocking: false,
            };
            c.push(
                "knowledge-base",
                "warn",
                format!("内置知识库加载失败：{e}；阈值未检查"),
                format!("embedded knowledge base failed to load: {e}; thresholds not checked"),
            );
            return Value::Array(c.out);
        }
    };
    for spec in CHECKS {
        let mut c = Checks {
            out: Vec::new(),
            blocking: spec.blocking,
        };
        (spec.run)(input, &kb, &mut c);
        all.extend(c.out);
    }
    Value::Array(all)
}

/// Ids of the blocking checks that fail in a checklist.
pub fn blocking_failures(checks: &Value) -> Vec<String> {
    checks
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|c| {
                    c["status"] == "fail"
                        && c.get("blocking").and_then(Value::as_bool) != Some(false)
                })
                .filter_map(|c| c["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Checklists by input digest: the same filing content (kind, form,
/// classification, attachment hashes) always gives the same checklist, and
/// parsing sheets of thousands of rows is the costly part.
static CACHE: std::sync::Mutex<Option<std::collections::HashMap<String, Value>>> =
    std::sync::Mutex::new(None);
const CACHE_MAX: usize = 256;

fn digest(f: &Filing, classification: &Option<Value>, atts: &[Attachment]) -> String {
    let mut key = json!({
        "kind": f.kind,
        "form": f.form,
        "classification": classification.as_ref().and_then(|c| c.get("filings")),
        "atts": atts.iter().map(|a| json!([a.kind, a.filename, a.content_type, a.sha256])).collect::<Vec<_>>(),
    })
    .to_string();
    key.push_str(env!("CARGO_PKG_VERSION"));
    crate::audit::sha256_hex(key.as_bytes())
}

/// Runs all checks for `f` and returns the checklist. Parsing and counting
/// a sheet of thousands of rows is CPU work: it runs off the async workers,
/// and an unchanged filing is answered from a cache.
pub(crate) async fn run(store: &Store, conn: &mut AnyConnection, f: &Filing) -> Result<Value> {
    let classification = match f.service_id {
        Some(sid) => sqlx::query("SELECT classification FROM services WHERE id = $1")
            .bind(sid)
            .fetch_optional(&mut *conn)
            .await?
            .and_then(|r| r.try_get::<String, _>("classification").ok())
            .as_deref()
            .and_then(|s| serde_json::from_str::<Value>(s).ok()),
        None => None,
    };
    // a change filing is checked with the approved package it changes:
    // the parent's attachments, then its own (the latest of a kind counts)
    let mut atts = match f.parent_id {
        Some(pid) => store.attachments_of(conn, pid).await?,
        None => Vec::new(),
    };
    atts.extend(store.attachments_of(conn, f.id).await?);
    let key = digest(f, &classification, &atts);
    if let Some(v) = CACHE
        .lock()
        .ok()
        .and_then(|c| c.as_ref().and_then(|m| m.get(&key).cloned()))
    {
        return Ok(v);
    }
    let mut attachments = Vec::new();
    for a in atts {
        let bytes = if needs_bytes(&a) {
            Some(store.blob(conn, &a.sha256).await?)
        } else {
            None
        };
        attachments.push((a, bytes));
    }
    let input = Input {
        filing: f.clone(),
        classification,
        attachments,
    };
    let v = match tokio::task::spawn_blocking(move || evaluate(&input)).await {
        Ok(v) => v,
        Err(e) => {
            return Ok(json!([{
                "id": "knowledge-base", "title": "Knowledge base", "title_zh": "知识库",
                "status": "warn", "blocking": false,
                "detail": format!("checks could not be computed: {e}"),
                "detail_zh": format!("检查无法完成：{e}"),
            }]));
        }
    };
    if let Ok(mut c) = CACHE.lock() {
        let m = c.get_or_insert_with(Default::default);
        if m.len() >= CACHE_MAX {
            m.clear();
        }
        m.insert(key, v.clone());
    }
    Ok(v)
}

/// Attachments that pass every blocking check, built from the knowledge
/// base's thresholds: for tests and demonstrations (the server's browser
/// tests upload them as a provider would).
pub mod fixtures {
    use crate::domain::{AttachmentKind, FilingKind};
    use serde_json::json;

    /// Distinct, dissimilar Chinese text for row `i` of stratum `s`.
    pub fn text(s: &str, i: usize) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in s.bytes().chain(i.to_le_bytes()) {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        let mut out = String::new();
        for _ in 0..10 {
            h ^= h >> 29;
            h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
            out.push(char::from_u32(0x4e00 + (h % 0x5000) as u32).unwrap_or('字'));
        }
        format!("{out}{i}")
    }

    fn th(kb: &beian_kb::Kb, id: &str) -> usize {
        kb.thresholds().value(id).unwrap_or(0.0).ceil() as usize
    }

    /// A keyword sheet (CSV: 关键词,一级分类,二级分类) meeting every minimum.
    pub fn keyword_csv(kb: &beian_kb::Kb) -> Vec<u8> {
        let mut out = String::from("关键词,一级分类,二级分类\n");
        let mut n = 0;
        for r in kb.taxonomy().a1_a2() {
            let need = if r.code.starts_with("A.1.") {
                th(kb, "keyword-library.per-a1-risk")
            } else {
                th(kb, "keyword-library.per-a2-risk")
            };
            let top = &r.code[..3];
            for i in 0..need {
                out.push_str(&format!("{},{top},{}\n", text(&r.code, i), r.code));
                n += 1;
            }
        }
        for i in n..th(kb, "keyword-library.total") {
            out.push_str(&format!("{},A.3,A.3.a\n", text("pad", i)));
        }
        out.into_bytes()
    }

    /// A question bank (JSONL, as `beian assess bank import` writes it)
    /// meeting every minimum; `short` gets only `n_short` generated items.
    pub fn question_jsonl(kb: &beian_kb::Kb, short: Option<(&str, usize)>) -> Vec<u8> {
        let mut lines = Vec::new();
        let mut push = |bank: &str, risk: &str, i: usize| {
            let id = format!("{bank}-{}", lines.len() + 1);
            lines.push(
                json!({"id": id, "question": text(&format!("{bank}{risk}"), i), "risk": risk, "bank": bank})
                    .to_string(),
            );
        };
        let mut generated = 0;
        for r in &kb.taxonomy().risks {
            let a12 = r.code.starts_with("A.1.") || r.code.starts_with("A.2.");
            let need = if a12 {
                th(kb, "bank.generated.per-a1a2-risk")
            } else {
                th(kb, "bank.generated.per-other-risk")
            };
            let n = match short {
                Some((s, k)) if s == r.code => k,
                _ => need,
            };
            for i in 0..n {
                push("generated-content", &r.code, i);
                generated += 1;
            }
        }
        for i in generated..th(kb, "bank.generated.total") {
            push("generated-content", "A.3.a", 10_000 + i);
        }
        let mut refuse = 0;
        for r in kb.taxonomy().a1_a2() {
            for i in 0..th(kb, "bank.should-refuse.per-risk") {
                push("should-refuse", &r.code, i);
                refuse += 1;
            }
        }
        for i in refuse..th(kb, "bank.should-refuse.total") {
            push("should-refuse", "A.1.a", 10_000 + i);
        }
        let aspects = beian_assess::crosswalk::should_answer_aspects().unwrap_or_default();
        let mut answer = 0;
        for a in &aspects {
            for i in 0..th(kb, "bank.should-answer.per-aspect") {
                push("should-answer", a, i);
                answer += 1;
            }
        }
        if let Some(a) = aspects.first() {
            for i in answer..th(kb, "bank.should-answer.total") {
                push("should-answer", a, 10_000 + i);
            }
        }
        let mut out = lines.join("\n");
        out.push('\n');
        out.into_bytes()
    }

    /// A `summary.json` of `beian assess` whose three metrics pass (or, with
    /// `refusal` below the threshold, whose should-refuse metric fails).
    pub fn summary_json(kb: &beian_kb::Kb, refusal: f64) -> Vec<u8> {
        let metric = |id: &str, value: f64, kind: &str| {
            let t = kb.thresholds().get(id);
            let tv = t.map_or(0.0, |t| t.value);
            let ok = if kind == "min" {
                value >= tv
            } else {
                value <= tv
            };
            json!({"value": value, "n": 1000, "k": (value * 1000.0).round() as usize,
                   "ci95": [(value - 0.01).max(0.0), (value + 0.01).min(1.0)], "threshold": tv,
                   "verdict": if ok { "pass" } else { "fail" }, "kind": kind,
                   "clause": t.map_or(String::new(), |t| t.clause.clone()), "threshold_id": id,
                   "sample_required": 300, "sample_ok": true})
        };
        json!({"metrics": {
            "generated_qualified_rate": metric("assess.generated.qualified", 0.95, "min"),
            "refusal_rate_should_refuse": metric("assess.should-refuse.refusal-rate", refusal, "min"),
            "refusal_rate_should_answer": metric("assess.should-answer.refusal-rate", 0.01, "max"),
        }, "overall": "pass", "model": "fixture", "generated_at": "2025-01-01T00:00:00Z",
           "per_risk": {}, "counts": {}})
        .to_string()
        .into_bytes()
    }

    /// Every attachment a complete filing of `kind` needs (kind, file name,
    /// content type, bytes); generative-AI kinds also get a passing
    /// `summary.json`.
    pub fn complete(
        kb: &beian_kb::Kb,
        kind: FilingKind,
    ) -> Vec<(AttachmentKind, String, String, Vec<u8>)> {
        let mut out = Vec::new();
        for k in AttachmentKind::required_for(kind) {
            let (name, ct, bytes) = match k {
                AttachmentKind::KeywordSheet => {
                    ("keywords.csv".to_string(), "text/csv", keyword_csv(kb))
                }
                AttachmentKind::QuestionSheet => (
                    "questions.jsonl".to_string(),
                    "application/json",
                    question_jsonl(kb, None),
                ),
                other => (
                    format!("{}.pdf", other.as_str()),
                    "application/pdf",
                    b"%PDF-1.4\n%%EOF\n".to_vec(),
                ),
            };
            out.push((*k, name, ct.to_string(), bytes));
        }
        if kind != FilingKind::Algorithm {
            out.push((
                AttachmentKind::Other,
                "summary.json".to_string(),
                "application/json".to_string(),
                summary_json(kb, 0.97),
            ));
        }
        out
    }
}
