use std::process::ExitCode;

use anyhow::Context;
use beian_kb::Kb;
use chrono::{Datelike, NaiveDate};

/// Count working days on the PRC calendar (public holidays and make-up working days).
#[derive(clap::Args)]
#[command(after_help = "\
The start day is not counted (PRC Civil Code Art. 201); the result is the date of the
N-th working day after --from. Dates outside the published holiday schedules are an
error, not a guess (`beian kb calendar` lists the known years).

Examples:
  beian deadline --from 2025-09-26 --working-days 10     # algorithm filing after launch
  beian deadline --from 2026-01-30 --working-days 20 --format json")]
pub struct Args {
    /// Start date (YYYY-MM-DD), not counted.
    #[arg(long)]
    pub from: String,
    /// Number of working days.
    #[arg(long)]
    pub working_days: u32,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let from = NaiveDate::parse_from_str(&args.from, "%Y-%m-%d")
        .with_context(|| format!("--from {:?}: expected a date YYYY-MM-DD", args.from))?;
    let kb = Kb::embedded()?;
    let cal = kb.calendar();
    let due = cal.add_working_days(from, args.working_days)?;
    let years: Vec<String> = cal
        .years()
        .filter(|y| (from.year()..=due.year()).contains(&y.year))
        .map(|y| {
            let flag = if y.unconfirmed { ", unconfirmed" } else { "" };
            format!("{} ({}{flag})", y.year, y.source)
        })
        .collect();
    match args.format {
        Format::Text => {
            println!("{due}");
            eprintln!(
                "{} working days after {from} (start day not counted); calendar: {}",
                args.working_days,
                years.join(", ")
            );
        }
        Format::Json => {
            let v = serde_json::json!({
                "from": from.to_string(),
                "working_days": args.working_days,
                "due": due.to_string(),
                "calendar": years,
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
