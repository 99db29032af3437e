use std::process::ExitCode;

use beian_kb::Kb;

/// Inspect the embedded knowledge base.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  beian kb regimes
  beian kb risks --format json
  beian kb thresholds
  beian kb profile          # the service-profile keys, types and help
  beian kb instruments
  beian kb calendar
  beian kb diff --from 2025-06-01 --to 2026-06-01     # what changed in the law
  beian kb diff --from 2025-01-01 --to 2028-12-31 --format json
  beian kb check --rules my-rules/   # validate overrides without classifying")]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
    /// Output format.
    #[arg(long, value_enum, default_value = "text", global = true)]
    pub format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Subcommand)]
pub enum What {
    /// The regimes (rule packs) and their status.
    Regimes,
    /// The 31 risks of GB/T 45654 Annex A.
    Risks,
    /// The standard's numeric thresholds.
    Thresholds,
    /// The instruments cited.
    Instruments,
    /// The service-profile schema.
    Profile,
    /// The years of the PRC calendar and their sources.
    Calendar,
    /// What changed between two dates: instruments in and out of force, renumbered
    /// articles, new and ended obligations.
    Diff {
        /// Start date (YYYY-MM-DD), exclusive.
        #[arg(long, value_name = "DATE")]
        from: String,
        /// End date (YYYY-MM-DD), inclusive; default today.
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        /// Language of titles (text output).
        #[arg(long, value_enum, default_value = "en")]
        lang: super::classify::LangArg,
    },
    /// Load and validate the knowledge base (and overrides), compile every policy.
    Check {
        #[arg(long, value_name = "DIR")]
        rules: Option<std::path::PathBuf>,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let json = matches!(args.format, Format::Json);
    if let What::Check { rules } = &args.what {
        let kb = Kb::load(rules.as_deref())?;
        let c = beian_classify::Classifier::new(kb)?;
        let n: usize = c.kb().regimes().iter().map(|r| r.obligations.len()).sum();
        println!(
            "ok: {} regimes, {} obligations, policies compile",
            c.kb().regimes().len(),
            n
        );
        return Ok(ExitCode::SUCCESS);
    }
    let kb = Kb::embedded()?;
    match args.what {
        What::Diff { from, to, lang } => {
            let to = to.unwrap_or_else(|| chrono::Utc::now().date_naive().to_string());
            let d = kb.diff(&from, &to)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                print!(
                    "{}",
                    render_diff(&d, matches!(lang, super::classify::LangArg::Zh))
                );
            }
        }
        What::Regimes => {
            if json {
                let v: Vec<_> = kb.regimes().iter().map(|r| &r.meta).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for r in kb.regimes() {
                    println!(
                        "{:<20} {:<13} {} obligations, {} filings  {}",
                        r.meta.id,
                        r.meta.status,
                        r.obligations.len(),
                        r.filings.len(),
                        r.meta.en
                    );
                }
            }
        }
        What::Risks => {
            let t = kb.taxonomy();
            if json {
                println!("{}", serde_json::to_string_pretty(t)?);
            } else {
                for c in &t.categories {
                    println!("{}  {} / {}", c.code, c.zh, c.en);
                    for r in t.risks_in(&c.code) {
                        println!("  {}  {} / {}", r.code, r.zh, r.en);
                    }
                }
                println!("source: {}", t.source);
            }
        }
        What::Thresholds => {
            if json {
                println!("{}", serde_json::to_string_pretty(&kb.thresholds().items)?);
            } else {
                for t in &kb.thresholds().items {
                    let op = match t.kind {
                        beian_kb::ThresholdKind::Min => ">=",
                        beian_kb::ThresholdKind::Max => "<=",
                    };
                    let flag = if t.unconfirmed { " [unconfirmed]" } else { "" };
                    println!(
                        "{:<36} {op} {:<8} {} ({}){flag}",
                        t.id, t.value, t.en, t.clause
                    );
                }
            }
        }
        What::Instruments => {
            if json {
                println!("{}", serde_json::to_string_pretty(kb.instruments())?);
            } else {
                for i in kb.instruments() {
                    let until = i
                        .in_force_until
                        .as_deref()
                        .map(|u| format!(" until {u}"))
                        .unwrap_or_default();
                    println!(
                        "{:<20} {:<20} {} / {}  (in force from {}{until}) [{}]",
                        i.id,
                        i.status,
                        i.zh,
                        i.en,
                        i.in_force_from.as_deref().unwrap_or("-"),
                        i.verified
                    );
                }
            }
        }
        What::Profile => {
            let s = kb.profile_schema();
            if json {
                println!("{}", serde_json::to_string_pretty(s)?);
            } else {
                for f in &s.fields {
                    let req = if f.required { " (required)" } else { "" };
                    println!("{}{req}: {}", f.key, f.expected());
                    println!("    {} / {}", f.en, f.zh);
                    if !f.help_en.is_empty() {
                        println!("    {}", f.help_en);
                    }
                }
            }
        }
        What::Calendar => {
            let years: Vec<_> = kb
                .calendar()
                .years()
                .map(|y| serde_json::json!({"year": y.year, "source": y.source, "unconfirmed": y.unconfirmed}))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&years)?);
            } else {
                for y in kb.calendar().years() {
                    let flag = if y.unconfirmed { " [unconfirmed]" } else { "" };
                    println!("{}  {}{flag}", y.year, y.source);
                }
            }
        }
        What::Check { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// The diff as text, in English or Chinese.
pub fn render_diff(d: &beian_kb::KbDiff, zh: bool) -> String {
    use beian_classify::{Lang, article_label};
    use std::fmt::Write;
    let t = |en: &'static str, z: &'static str| if zh { z } else { en };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} {} -> {}",
        t("Changes in the law", "法律变化"),
        d.from,
        d.to
    );
    if d.is_empty() {
        let _ = writeln!(s, "{}", t("no changes", "无变化"));
        return s;
    }
    let flag = |v: &str| match (v, zh) {
        ("confirmed", _) => String::new(),
        (v, false) => format!(" [{v}]"),
        ("secondary", true) => " [二手来源]".to_string(),
        (_, true) => " [未经确认]".to_string(),
    };
    let sections: [(&str, &Vec<beian_kb::InstrumentChange>); 2] = [
        (
            t("Instruments entering into force", "施行的法规"),
            &d.instruments_in,
        ),
        (
            t("Instruments leaving force", "失效或被取代的法规"),
            &d.instruments_out,
        ),
    ];
    for (title, v) in sections {
        if v.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n{title}:");
        for i in v {
            let _ = writeln!(
                s,
                "  {}  {:<20} {}{}",
                i.date,
                i.id,
                if zh { &i.zh } else { &i.en },
                flag(&i.verified)
            );
        }
    }
    if !d.renumbered.is_empty() {
        let _ = writeln!(
            s,
            "\n{}:",
            t("Renumbered or replaced articles", "条文序号变化或被取代")
        );
        for r in &d.renumbered {
            let l = if zh { Lang::Zh } else { Lang::En };
            let (a, b) = (
                article_label(&r.from_article, l),
                article_label(&r.to_article, l),
            );
            let _ = writeln!(
                s,
                "  {}  {} {a} -> {} {b}  {}{}",
                r.date,
                r.from_instrument,
                r.to_instrument,
                if zh { &r.title_zh } else { &r.title_en },
                flag(&r.verified)
            );
        }
    }
    if !d.rescheduled.is_empty() {
        let _ = writeln!(
            s,
            "\n{}:",
            t("Dates of application changed", "适用日期变更")
        );
        for r in &d.rescheduled {
            let art = article_label(&r.article, if zh { Lang::Zh } else { Lang::En });
            let _ = writeln!(
                s,
                "  {}  [{}] {} {art}  {}: {} -> {} ({} {}; {}){}",
                r.date,
                r.regime,
                r.instrument,
                if zh { &r.title_zh } else { &r.title_en },
                r.old_from,
                r.new_from,
                t("by", "依据"),
                r.by,
                r.id,
                flag(r.date_verified.as_deref().unwrap_or("confirmed"))
            );
        }
    }
    let sections = [
        (t("New obligations", "新增义务"), &d.obligations_new),
        (t("Obligations ended", "终止的义务"), &d.obligations_ended),
    ];
    for (title, v) in sections {
        if v.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n{title}:");
        for o in v {
            let art = article_label(&o.article, if zh { Lang::Zh } else { Lang::En });
            let date_flag = match (o.date_verified.as_deref(), zh) {
                (Some("secondary"), false) => " [date: secondary]",
                (Some("secondary"), true) => " [日期：二手来源]",
                _ => "",
            };
            let _ = writeln!(
                s,
                "  {}  [{}] {} {art}  {}{}{date_flag}",
                o.date,
                o.regime,
                o.instrument,
                if zh { &o.title_zh } else { &o.title_en },
                flag(&o.verified)
            );
        }
    }
    s
}
