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
                    println!(
                        "{:<20} {:<20} {} / {}  (effective {})",
                        i.id,
                        i.status,
                        i.zh,
                        i.en,
                        i.effective.as_deref().unwrap_or("-")
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
