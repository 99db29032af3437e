//! `beian lexicon`: keyword-library statistics against the standard's minimums.

use std::path::PathBuf;
use std::process::ExitCode;

/// Appends a line to the output buffer (written once, at the end).
macro_rules! outln {
    ($o:expr, $($t:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($o, $($t)*);
    }};
}

/// Writes the buffered output; a closed pipe (`| head`) is not an error.
fn emit(o: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(o.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

use anyhow::Context;
use beian_scan::{lexicon_stats, load_lexicon_files};
use beian_screen::EngineBuilder;

/// Work with keyword lexicons.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  beian lexicon stats ../shared/data/lexicons/konsheng
  beian lexicon stats words.tsv --format json
  beian lexicon stats plain.txt --risk A.1.f")]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(clap::Subcommand)]
pub enum What {
    /// Count distinct terms per risk code against the keyword-library minimums
    /// (total, per A.1 risk, per A.2 risk) and list the risks that fall short.
    Stats(StatsArgs),
}

#[derive(clap::Args)]
pub struct StatsArgs {
    /// Lexicon files or directories.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Risk code for terms that have none (default: by file name, else `unclassified`).
    #[arg(long, value_name = "CODE")]
    pub risk: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let What::Stats(a) = args.what;
    let mut b = EngineBuilder::new();
    let loaded =
        load_lexicon_files(&mut b, &a.files, a.risk.as_deref()).context("loading lexicons")?;
    let stats = lexicon_stats(&b)?;
    let mut o = String::new();
    if a.format == Format::Json {
        let v = serde_json::json!({ "files": loaded, "stats": stats });
        outln!(o, "{}", serde_json::to_string_pretty(&v)?);
        emit(&o)?;
        return Ok(ExitCode::SUCCESS);
    }
    for f in &loaded {
        outln!(
            o,
            "{}  {} new terms  risk {}",
            f.path.display(),
            f.new_entries,
            f.risk.as_deref().unwrap_or(beian_screen::UNCLASSIFIED)
        );
    }
    outln!(
        o,
        "\ntotal distinct terms {} (minimum {:.0}): {}",
        stats.total_terms,
        stats.total_minimum,
        if stats.total_meets { "meets" } else { "SHORT" }
    );
    if stats.regexes > 0 {
        outln!(o, "regular expressions  {}", stats.regexes);
    }
    if stats.duplicates > 0 {
        outln!(o, "duplicate lines      {}", stats.duplicates);
    }
    if stats.single_char_terms > 0 {
        outln!(
            o,
            "one-character terms  {} (counted; not matched by `beian scan` unless --min-term-chars 1)",
            stats.single_char_terms
        );
    }
    if stats.unclassified > 0 {
        outln!(o, "unclassified terms   {}", stats.unclassified);
    }
    for (code, n) in &stats.unknown_codes {
        outln!(o, "unknown risk code    {code}: {n} terms");
    }
    outln!(o, "\n{:<8} {:>7} {:>8}  name", "risk", "terms", "minimum");
    for r in &stats.risks {
        let min = r.minimum.map_or("-".to_string(), |m| format!("{m:.0}"));
        let mark = match r.meets {
            Some(false) => "  SHORT",
            _ => "",
        };
        outln!(
            o,
            "{:<8} {:>7} {:>8}  {}{mark}",
            r.code,
            r.terms,
            min,
            r.name_zh
        );
    }
    outln!(
        o,
        "\n{} of the A.1/A.2 risks fall short: {}",
        stats.short.len(),
        if stats.short.is_empty() {
            "none".to_string()
        } else {
            stats.short.join(", ")
        }
    );
    outln!(o, "thresholds: {}", stats.clauses.join("; "));
    emit(&o)?;
    Ok(ExitCode::SUCCESS)
}
