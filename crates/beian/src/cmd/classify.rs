use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use beian_classify::{Classifier, Lang, render_markdown, render_text};
use beian_kb::{Kb, Profile, ProfileFormat};

/// Output format of `beian classify`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// Output language.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LangArg {
    En,
    Zh,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::En => Lang::En,
            LangArg::Zh => Lang::Zh,
        }
    }
}

/// Say which filings and obligations apply to an AI service, why, and where the law says so.
#[derive(clap::Args)]
#[command(after_help = "\
Regimes: cn-current (default), cn-cass-draft, cn-cupl-draft, cn-tc260-framework, eu-ai-act
(added by default when the profile sets `eu_market = true`); `--regime all` selects every regime.

Examples:
  beian classify examples/public-chatbot.toml
  beian classify examples/public-chatbot.toml --as-of 2026-06-01   # the law on that day
  beian classify examples/face-swap-app.toml --lang zh
  beian classify examples/public-chatbot.toml --regime cn-current --regime eu-ai-act --compare
  beian classify examples/cv-screening.yaml --regime all --format markdown > report.md
  beian classify profile.json --format json | jq '.results[0].filings'
  beian classify profile.toml --rules my-rules/   # add or override rules without recompiling
  cat profile.json | beian classify -             # profile from standard input")]
pub struct Args {
    /// Service profile (.toml, .json, .yaml), or `-` for standard input (format
    /// sniffed: JSON if it starts with `{`, else TOML, else YAML); `beian kb profile`
    /// lists the keys.
    pub profile: PathBuf,
    /// Regime to evaluate (repeatable); `all` for every regime.
    #[arg(long = "regime", value_name = "ID")]
    pub regimes: Vec<String>,
    /// Directory of rule overrides: DIR/<regime-id>/*.toml and *.rego.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Language of titles and reasons.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: LangArg,
    /// Add a side-by-side comparison of the regimes by theme.
    #[arg(long)]
    pub compare: bool,
    /// Classify under the law in force on this date (YYYY-MM-DD; default today). Filings
    /// due before it (from `launch_date`) are flagged overdue; duties entering into force
    /// within 12 months are listed as upcoming.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub as_of: Option<chrono::NaiveDate>,
}

fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| format!("{s:?} is not a YYYY-MM-DD date ({e})"))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let kb = Kb::load(args.rules.as_deref()).with_context(|| match &args.rules {
        Some(d) => format!("loading the knowledge base with rules from {}", d.display()),
        None => "loading the embedded knowledge base".to_string(),
    })?;
    let classifier = Classifier::new(kb).context("preparing the rule packs")?;
    let schema = classifier.kb().profile_schema();
    let profile = if args.profile.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("reading the profile from standard input")?;
        let format = if text.trim_start().starts_with('{') {
            ProfileFormat::Json
        } else if toml::from_str::<toml::Value>(&text).is_ok() {
            ProfileFormat::Toml
        } else {
            ProfileFormat::Yaml
        };
        Profile::from_text(&text, format, "<stdin>", schema)?
    } else {
        Profile::from_path(&args.profile, schema)?
    };
    let mut regimes: Vec<String> = if args.regimes.is_empty() {
        // A profile placed on the EU market gets the EU AI Act beside the PRC rules: the
        // fact is in the profile, so the answer should not need a flag.
        let eu = profile.flag("eu_market");
        let mut v = vec!["cn-current".to_string()];
        if eu {
            v.push("eu-ai-act".to_string());
        }
        v
    } else {
        args.regimes.clone()
    };
    if regimes.iter().any(|r| r == "all") {
        regimes = classifier
            .regime_ids()
            .iter()
            .map(|s| s.to_string())
            .collect();
    }
    let ids: Vec<&str> = regimes.iter().map(String::as_str).collect();
    let lang = Lang::from(args.lang);
    let as_of = args
        .as_of
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let report = if args.compare {
        classifier.compare_at(&profile, &ids, lang, as_of)?
    } else {
        classifier.classify_at(&profile, &ids, lang, as_of)?
    };
    let out = match args.format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Text => render_text(&report, lang),
        Format::Markdown => render_markdown(&report, lang),
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .context("writing the report")?;
    Ok(ExitCode::SUCCESS)
}
