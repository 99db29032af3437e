//! Human-readable renderings of a [`Report`]: grouped text for terminals, Markdown
//! for documents. JSON is `serde_json` of the report itself.

use std::fmt::Write;

use crate::compare::article;
use crate::{Lang, RegimeResult, Report, zh_article};

struct Words {
    regime: &'static str,
    tier: &'static str,
    categories: &'static str,
    negative_list: &'static str,
    filings: &'static str,
    obligations: &'static str,
    notes: &'static str,
    note: &'static str,
    why: &'static str,
    source: &'static str,
    deadline: &'static str,
    due: &'static str,
    authority: &'static str,
    unconfirmed: &'static str,
    assumed: &'static str,
    none: &'static str,
    compare: &'static str,
    theme: &'static str,
    as_of: &'static str,
    todo: &'static str,
    before_launch: &'static str,
    after_launch: &'static str,
    working_days: (&'static str, &'static str),
    on_event: &'static str,
    ongoing: &'static str,
    overdue: &'static str,
    upcoming: &'static str,
    upcoming_none: &'static str,
    from: &'static str,
    replaces: &'static str,
    when: &'static str,
    what: &'static str,
    basis: &'static str,
    kind: &'static str,
    title: &'static str,
    date_flag: &'static str,
    citation: &'static str,
}

const EN: Words = Words {
    regime: "Regime",
    tier: "Tier",
    categories: "Categories",
    negative_list: "Negative list",
    filings: "Filings",
    obligations: "Obligations",
    notes: "Notes",
    note: "note",
    why: "why",
    source: "source",
    deadline: "deadline",
    due: "due",
    authority: "authority",
    unconfirmed: "UNCONFIRMED citation",
    assumed: "Assumed (absent from the profile, defaults used)",
    none: "none",
    compare: "Comparison by theme",
    theme: "Theme",
    as_of: "Law in force on",
    todo: "What to do",
    before_launch: "Before launch",
    after_launch: "After launch",
    working_days: ("Within ", " working days of launch"),
    on_event: "On an event (incident, breach, change)",
    ongoing: "Ongoing",
    overdue: "OVERDUE unless already done",
    upcoming: "Upcoming (entering into force within 12 months)",
    upcoming_none: "nothing enters into force within 12 months",
    from: "from",
    replaces: "replaces",
    when: "when",
    what: "what",
    basis: "basis",
    kind: "kind",
    title: "title",
    date_flag: "date from secondary sources",
    citation: "cited as",
};

const ZH: Words = Words {
    regime: "规则体系",
    tier: "分级",
    categories: "类别",
    negative_list: "负面清单",
    filings: "备案",
    obligations: "义务",
    notes: "说明",
    note: "注",
    why: "依据事实",
    source: "出处",
    deadline: "期限",
    due: "截止日期",
    authority: "主管部门",
    unconfirmed: "条文未经确认",
    assumed: "缺省项（档案未填写，采用默认值）",
    none: "无",
    compare: "按主题比较",
    theme: "主题",
    as_of: "适用法律日期",
    todo: "应办事项",
    before_launch: "上线前",
    after_launch: "上线后",
    working_days: ("上线之日起", "个工作日内"),
    on_event: "发生事件时（安全事件、泄露、变更）",
    ongoing: "持续义务",
    overdue: "已逾期（如尚未办理）",
    upcoming: "即将生效（12个月内施行）",
    upcoming_none: "12个月内无新施行的义务",
    from: "施行日期",
    replaces: "取代",
    when: "时间",
    what: "事项",
    basis: "依据",
    kind: "类型",
    title: "名称",
    date_flag: "日期来自二手来源",
    citation: "引用",
};

/// One thing to do, for the "what to do" sections.
struct Action {
    group: (u8, u32),
    title: String,
    basis: String,
    deadline: String,
    due: Option<String>,
    overdue: bool,
    authority: String,
    why: String,
    unconfirmed: bool,
}

fn art(lang: Lang, a: &str) -> String {
    match lang {
        Lang::En => article(a),
        Lang::Zh => zh_article(a).trim().to_string(),
    }
}

/// Filings and obligations of one regime, grouped by when they fall due: before launch
/// (0), within N working days of launch (1, N), after launch (2), on an event (3), ongoing (4).
fn actions(r: &RegimeResult, lang: Lang) -> Vec<Action> {
    let mut v = Vec::new();
    for f in &r.filings {
        let group = match f.deadline_working_days {
            Some(n) => (1, n),
            None => (0, 0),
        };
        let (inst, a) = f.basis.split_once(':').unwrap_or((&f.basis, ""));
        v.push(Action {
            group,
            title: f.title.clone(),
            basis: format!("{inst} {}", art(lang, a)).trim().to_string(),
            deadline: f.deadline.clone(),
            due: f.due_date.clone(),
            overdue: f.overdue,
            authority: f.authority_detail.clone(),
            why: f.reason.clone(),
            unconfirmed: f.verified == "unconfirmed",
        });
    }
    for o in &r.obligations {
        let group = match o.timing.as_str() {
            "before-launch" => (0, 0),
            "after-launch" => (2, 0),
            "on-event" => (3, 0),
            _ => (4, 0),
        };
        v.push(Action {
            group,
            title: o.title.clone(),
            basis: format!("{} {}", o.instrument, art(lang, &o.article)),
            deadline: o.deadline.clone(),
            due: None,
            overdue: false,
            authority: o.authority.clone(),
            why: o.reason.clone(),
            unconfirmed: o.verified == "unconfirmed",
        });
    }
    v.sort_by_key(|a| a.group);
    v
}

fn group_name(w: &Words, g: (u8, u32)) -> String {
    match g.0 {
        0 => w.before_launch.to_string(),
        1 => format!("{}{}{}", w.working_days.0, g.1, w.working_days.1),
        2 => w.after_launch.to_string(),
        3 => w.on_event.to_string(),
        _ => w.ongoing.to_string(),
    }
}

/// A regime's status in the output language.
fn status_word(lang: Lang, status: &str) -> &str {
    match (lang, status) {
        (Lang::Zh, "in-force") => "现行有效",
        (Lang::Zh, "draft") => "草案",
        (Lang::Zh, "expert-draft") => "专家建议稿",
        (Lang::Zh, "guidance") => "指引",
        (Lang::Zh, "foreign-law") => "外国法",
        // negative-list statuses
        (Lang::Zh, "likely-listed") => "可能列入负面清单",
        (Lang::Zh, "not-listed") => "未列入负面清单",
        (Lang::Zh, "unknown") => "不明",
        _ => status,
    }
}

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
    }
}

/// Plain text, grouped by regime and instrument.
pub fn render_text(report: &Report, lang: Lang) -> String {
    let w = words(lang);
    let mut s = String::new();
    let _ = writeln!(s, "{} ({})", report.profile.name, report.profile.origin);
    let _ = writeln!(s, "{}: {}", w.as_of, report.as_of);
    for r in &report.results {
        let _ = writeln!(
            s,
            "\n== {}: {} [{}] ({})",
            w.regime,
            r.regime_name,
            r.regime,
            status_word(lang, &r.regime_status)
        );
        let _ = writeln!(s, "{}: {} ({})", w.tier, r.tier_label, r.tier);
        if !r.category_labels.is_empty() {
            let cats: Vec<&str> = r.category_labels.iter().map(|c| c.label.as_str()).collect();
            let _ = writeln!(s, "{}: {}", w.categories, cats.join("; "));
        }
        let acts = actions(r, lang);
        let _ = writeln!(s, "\n{}:", w.todo);
        if acts.is_empty() {
            let _ = writeln!(s, "  {}", w.none);
        }
        let mut last = None;
        for a in &acts {
            if last != Some(a.group) {
                let _ = writeln!(s, "  {}:", group_name(w, a.group));
                last = Some(a.group);
            }
            let due = match (&a.due, a.overdue) {
                (Some(d), true) => format!(" ({}: {d}, {})", w.due, w.overdue),
                (Some(d), false) => format!(" ({}: {d})", w.due),
                _ => String::new(),
            };
            let flag = if a.unconfirmed {
                format!(" [{}]", w.unconfirmed)
            } else {
                String::new()
            };
            let mark = if a.overdue { "!" } else { "-" };
            let _ = writeln!(
                s,
                "    {mark} {} [{}]{flag}: {}{due} | {}: {}",
                a.title, a.basis, a.deadline, w.authority, a.authority
            );
            let _ = writeln!(s, "        {}: {}", w.why, a.why);
        }
        let _ = writeln!(s, "\n{}:", w.upcoming);
        if r.upcoming.is_empty() {
            let _ = writeln!(s, "  {}", w.upcoming_none);
        }
        for u in &r.upcoming {
            let rep = u
                .replaces_basis
                .as_ref()
                .or(u.replaces.as_ref())
                .map(|x| format!(" ({} {x})", w.replaces))
                .unwrap_or_default();
            let flag = date_flag(u.date_verified.as_deref(), w);
            let _ = writeln!(
                s,
                "  * {} {}: {} [{} {}]{rep}{flag}",
                w.from,
                u.in_force_from,
                u.title,
                u.instrument,
                art(lang, &u.article)
            );
        }
        if let Some(n) = &r.negative_list {
            let flag = match (n.unconfirmed, lang) {
                (false, _) => "",
                (true, Lang::En) => " (unconfirmed)",
                (true, Lang::Zh) => "（未经确认）",
            };
            let _ = writeln!(
                s,
                "{}: {}{}{}",
                w.negative_list,
                status_word(lang, &n.status),
                flag,
                facts_suffix(&n.facts)
            );
        }
        let _ = writeln!(s, "\n{} ({}):", w.filings, r.filings.len());
        if r.filings.is_empty() {
            let _ = writeln!(s, "  {}", w.none);
        }
        for f in &r.filings {
            let _ = match lang {
                Lang::En => writeln!(
                    s,
                    "  * {} [{}, {}] {}",
                    f.kind, f.authority, f.basis, f.title
                ),
                // the level and basis in words; the kind stays as its id, for grep
                Lang::Zh => {
                    let level = match f.authority.as_str() {
                        "national" => "国家级",
                        "provincial" => "省级",
                        other => other,
                    };
                    let (inst, a) = f.basis.split_once(':').unwrap_or((&f.basis, ""));
                    writeln!(
                        s,
                        "  * {} [{level}，{inst} {}] ({})",
                        f.title,
                        art(lang, a),
                        f.kind
                    )
                }
            };
            let _ = writeln!(s, "      {}: {}", w.authority, f.authority_detail);
            let _ = writeln!(s, "      {}: {}", w.deadline, f.deadline);
            if let Some(d) = &f.due_date {
                let od = if f.overdue {
                    format!(" ({})", w.overdue)
                } else {
                    String::new()
                };
                let _ = writeln!(s, "      {}: {d}{od}", w.due);
            }
            if let Some(e) = &f.due_date_error {
                let _ = writeln!(s, "      {}: ({e})", w.due);
            }
            let _ = writeln!(s, "      {}: {}", w.why, f.reason);
            let _ = writeln!(
                s,
                "      {}: {}{}",
                w.source,
                f.citation,
                flag(&f.verified, w)
            );
        }
        let _ = writeln!(s, "\n{} ({}):", w.obligations, r.obligations.len());
        if r.obligations.is_empty() {
            let _ = writeln!(s, "  {}", w.none);
        }
        let mut last = "";
        for o in &r.obligations {
            if o.instrument != last {
                let _ = writeln!(s, "  {}", o.instrument);
                last = &o.instrument;
            }
            let _ = writeln!(
                s,
                "  * [{}] {}{}",
                art(lang, &o.article),
                o.title,
                flag(&o.verified, w)
            );
            let _ = writeln!(s, "      {}", o.duty);
            let _ = writeln!(s, "      {}: {}", w.why, o.reason);
            let _ = writeln!(
                s,
                "      {}: {} | {}: {}",
                w.deadline, o.deadline, w.authority, o.authority
            );
            let _ = writeln!(s, "      {}: {}", w.source, o.citation);
            // a note without a Chinese text is left out of zh output
            if let Some(n) = &o.note
                && (lang == Lang::En || !n.is_ascii())
            {
                let _ = writeln!(s, "      {}: {n}", w.note);
            }
        }
        if !r.notes.is_empty() {
            let _ = writeln!(s, "\n{}:", w.notes);
            for n in &r.notes {
                let _ = writeln!(s, "  * {}{} [{}]", n.text, flag(&n.verified, w), n.source);
            }
        }
    }
    if let Some(c) = &report.comparison {
        let _ = writeln!(s, "\n== {}", w.compare);
        let _ = writeln!(s, "{}:", w.tier);
        for (r, t) in c.regimes.iter().zip(&c.tiers) {
            let _ = writeln!(s, "  {r:<20} {t}");
        }
        let _ = writeln!(s, "{}:", w.filings);
        for (r, f) in c.regimes.iter().zip(&c.filings) {
            let f = if f.is_empty() {
                w.none.to_string()
            } else {
                f.join("; ")
            };
            let _ = writeln!(s, "  {r:<20} {f}");
        }
        for row in &c.rows {
            let mark = if row.differs { " *" } else { "" };
            let _ = writeln!(s, "{}: {}{}", w.theme, row.theme, mark);
            for (r, cell) in c.regimes.iter().zip(&row.cells) {
                let text = if cell.is_empty() {
                    "-".to_string()
                } else {
                    cell.join("; ")
                };
                let _ = writeln!(s, "  {r:<20} {text}");
            }
        }
    }
    if !report.profile.assumed.is_empty() {
        let _ = writeln!(s, "\n{}: {}", w.assumed, report.profile.assumed.join(", "));
    }
    s
}

/// Markdown, with tables a lawyer can review line by line.
pub fn render_markdown(report: &Report, lang: Lang) -> String {
    let w = words(lang);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {}\n\n_{}_\n\n{}: **{}**\n",
        md(&report.profile.name),
        md(&report.profile.origin),
        w.as_of,
        report.as_of
    );
    for r in &report.results {
        let _ = writeln!(
            s,
            "## {} (`{}`, {})\n",
            md(&r.regime_name),
            r.regime,
            status_word(lang, &r.regime_status)
        );
        let _ = writeln!(s, "- **{}**: {} (`{}`)", w.tier, md(&r.tier_label), r.tier);
        if !r.category_labels.is_empty() {
            let cats: Vec<String> = r.category_labels.iter().map(|c| md(&c.label)).collect();
            let _ = writeln!(s, "- **{}**: {}", w.categories, cats.join("; "));
        }
        if let Some(n) = &r.negative_list {
            let _ = writeln!(
                s,
                "- **{}**: {}{}{}",
                w.negative_list,
                status_word(lang, &n.status),
                match (n.unconfirmed, lang) {
                    (false, _) => "",
                    (true, Lang::En) => " (unconfirmed)",
                    (true, Lang::Zh) => "（未经确认）",
                },
                facts_suffix(&n.facts)
            );
        }
        let _ = writeln!(s, "\n### {}\n", w.todo);
        let acts = actions(r, lang);
        if acts.is_empty() {
            let _ = writeln!(s, "{}\n", w.none);
        } else {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |\n|---|---|---|---|---|---|",
                w.when, w.what, w.deadline, w.authority, w.basis, w.why
            );
            for a in &acts {
                let due = match (&a.due, a.overdue) {
                    (Some(d), true) => format!(" ({}: {d}, **{}**)", w.due, w.overdue),
                    (Some(d), false) => format!(" ({}: {d})", w.due),
                    _ => String::new(),
                };
                let flag = if a.unconfirmed {
                    format!(" [{}]", w.unconfirmed)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {}{} | {} | {}{} | {} |",
                    group_name(w, a.group),
                    md(&a.title),
                    md(&a.deadline),
                    due,
                    md(&a.authority),
                    md(&a.basis),
                    flag,
                    md(&a.why)
                );
            }
            s.push('\n');
        }
        let _ = writeln!(s, "### {}\n", w.upcoming);
        if r.upcoming.is_empty() {
            let _ = writeln!(s, "{}\n", w.upcoming_none);
        } else {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |\n|---|---|---|---|",
                w.from, w.what, w.basis, w.source
            );
            for u in &r.upcoming {
                let rep = u
                    .replaces_basis
                    .as_ref()
                    .or(u.replaces.as_ref())
                    .map(|x| format!(" ({} {})", w.replaces, md(x)))
                    .unwrap_or_default();
                let flag = date_flag(u.date_verified.as_deref(), w);
                let _ = writeln!(
                    s,
                    "| {}{} | {}{} | {} {}{} | {} |",
                    u.in_force_from,
                    flag,
                    md(&u.title),
                    rep,
                    u.instrument,
                    md(&art(lang, &u.article)),
                    self::flag(&u.verified, w),
                    md(&u.citation)
                );
            }
            s.push('\n');
        }
        let _ = writeln!(s, "### {}\n", w.filings);
        if r.filings.is_empty() {
            let _ = writeln!(s, "{}\n", w.none);
        } else {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |\n|---|---|---|---|---|",
                w.kind, w.authority, w.deadline, w.basis, w.why
            );
            for f in &r.filings {
                let due = match (&f.due_date, f.overdue) {
                    (Some(d), true) => format!(" ({}: {d}, **{}**)", w.due, w.overdue),
                    (Some(d), false) => format!(" ({}: {d})", w.due),
                    _ => String::new(),
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {}{} | {}{} | {} |",
                    f.kind,
                    md(&f.authority_detail),
                    md(&f.deadline),
                    due,
                    f.basis,
                    flag(&f.verified, w),
                    md(&f.reason)
                );
            }
            s.push('\n');
        }
        let _ = writeln!(s, "### {}\n", w.obligations);
        if r.obligations.is_empty() {
            let _ = writeln!(s, "{}\n", w.none);
        } else {
            let _ = writeln!(
                s,
                "| id | {} | {} | {} | {} | {} | {} |\n|---|---|---|---|---|---|---|",
                w.basis, w.title, w.deadline, w.authority, w.why, w.citation
            );
            for o in &r.obligations {
                let _ = writeln!(
                    s,
                    "| `{}` | {} {}{} | {} | {} | {} | {} | {} |",
                    o.id,
                    o.instrument,
                    md(&art(lang, &o.article)),
                    flag(&o.verified, w),
                    md(&o.title),
                    md(&o.deadline),
                    md(&o.authority),
                    md(&o.reason),
                    md(&o.citation)
                );
            }
            s.push('\n');
        }
        if !r.notes.is_empty() {
            let _ = writeln!(s, "### {}\n", w.notes);
            for n in &r.notes {
                let _ = writeln!(
                    s,
                    "- {}{} ({})",
                    md(&n.text),
                    flag(&n.verified, w),
                    md(&n.source)
                );
            }
            s.push('\n');
        }
    }
    if let Some(c) = &report.comparison {
        let _ = writeln!(s, "## {}\n", w.compare);
        let _ = writeln!(s, "| {} | {} |", w.theme, c.regimes.join(" | "));
        let _ = writeln!(s, "|---|{}", "---|".repeat(c.regimes.len()));
        let _ = writeln!(
            s,
            "| {} | {} |",
            w.tier,
            c.tiers
                .iter()
                .map(|t| md(t))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(
            s,
            "| {} | {} |",
            w.filings,
            c.filings
                .iter()
                .map(|f| if f.is_empty() {
                    "-".into()
                } else {
                    md(&f.join("<br>"))
                })
                .collect::<Vec<_>>()
                .join(" | ")
        );
        for row in &c.rows {
            let cells: Vec<String> = row
                .cells
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        "-".into()
                    } else {
                        md(&c.join("<br>"))
                    }
                })
                .collect();
            let _ = writeln!(
                s,
                "| {}{} | {} |",
                row.theme,
                if row.differs { " *" } else { "" },
                cells.join(" | ")
            );
        }
        s.push('\n');
    }
    if !report.profile.assumed.is_empty() {
        let _ = writeln!(s, "_{}: {}_", w.assumed, report.profile.assumed.join(", "));
    }
    s
}

fn flag(verified: &str, w: &Words) -> String {
    if verified == "unconfirmed" {
        format!(" [{}]", w.unconfirmed)
    } else {
        String::new()
    }
}

/// ` [date from a secondary source]` when the in-force date is only `secondary`.
fn date_flag(date_verified: Option<&str>, w: &Words) -> String {
    if date_verified == Some("secondary") {
        format!(" [{}]", w.date_flag)
    } else {
        String::new()
    }
}

fn facts_suffix(facts: &[String]) -> String {
    if facts.is_empty() {
        String::new()
    } else {
        format!(" ({})", facts.join(", "))
    }
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
