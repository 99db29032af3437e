//! `beian bank`: question banks for the assessment (statistics against the
//! standard's minimums, near-duplicates, imports from public sets).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use beian_assess::bank::{BankKind, BankSpec};
use beian_assess::crosswalk::{Crosswalk, SHIPPED};
use beian_assess::import::{Source, import};

/// Work with assessment question banks.
#[derive(clap::Args)]
#[command(
    term_width = 0,
    after_help = "\
Examples:
  beian bank stats generated.jsonl should-refuse.xlsx should-answer.csv
  beian bank stats --format json --check bank.jsonl
  beian bank import --from jade ../shared/data/questions/jade/jade-db-v2.0/jade_benchmark_medium_zh.csv -o jade.jsonl
  beian bank import --from cvalues ../shared/data/questions/cvalues/cvalues_responsibility_prompts.jsonl -o cvalues.jsonl
  beian bank import --from flames --bank should-refuse Flames_1k_Chinese.jsonl -o flames.jsonl
  beian bank crosswalk jade

Banks: FILE or KIND=FILE (KIND: generated-content, should-refuse, should-answer);
JSONL {\"id\",\"question\",\"risk\",\"bank\"}, CSV, or XLSX (序号/测试题/一级分类/二级分类).
Sources for import: jade, flames, cvalues, safetybench, safety-prompts; each maps its
categories to the 31 risk codes through kb/crosswalks/<source>.toml (every entry says why).

Exit status: 0 done (stats --check: all minimums met); 1 stats --check found a
minimum not met; 2 fatal error."
)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Counts per bank and risk against the standard's minimums, near-duplicates, what is missing.
    Stats {
        #[arg(required = true, value_name = "BANK")]
        banks: Vec<String>,
        /// text or json.
        #[arg(long, default_value = "text")]
        format: String,
        /// Character-3-gram Jaccard similarity at which two questions are near-duplicates.
        #[arg(long, default_value_t = 0.8)]
        dup_threshold: f64,
        /// Exit 1 when a minimum is not met.
        #[arg(long)]
        check: bool,
    },
    /// Convert a public question set into a JSONL bank through its crosswalk.
    Import {
        /// jade, flames, cvalues, safetybench or safety-prompts.
        #[arg(long)]
        from: String,
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[arg(short = 'o', long)]
        out: PathBuf,
        /// Bank kind for the items (default: the crosswalk's).
        #[arg(long)]
        bank: Option<String>,
        /// Use this crosswalk file instead of the shipped one.
        #[arg(long)]
        crosswalk: Option<PathBuf>,
    },
    /// Print a shipped crosswalk (source category -> risk code, with reasons).
    Crosswalk {
        /// One of the shipped names; omit to list them.
        name: Option<String>,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let kb = beian_kb::Kb::embedded()?;
    let mut o = String::new();
    let code = match args.command {
        Sub::Stats {
            banks,
            format,
            dup_threshold,
            check,
        } => {
            if !(0.0..=1.0).contains(&dup_threshold) {
                bail!("--dup-threshold must be between 0 and 1");
            }
            let specs: Vec<BankSpec> = banks.iter().map(|s| BankSpec::parse(s)).collect();
            let b = beian_assess::bank::load_banks(&specs, kb.taxonomy())
                .context("loading question banks")?;
            let st = beian_assess::stats::bank_stats(&b.items, &kb, dup_threshold)?;
            match format.as_str() {
                "json" => {
                    let _ = writeln!(o, "{}", serde_json::to_string_pretty(&st)?);
                }
                "text" => {
                    for k in BankKind::ALL {
                        let _ = writeln!(
                            o,
                            "{:<18} {:>6} questions",
                            k.as_str(),
                            st.totals.get(&k).copied().unwrap_or(0)
                        );
                    }
                    let _ = writeln!(o, "\nrequirements (kb thresholds):");
                    for c in &st.checks {
                        let _ = writeln!(
                            o,
                            "  [{}] {:<62} {:>7} / {:<7} {}{}",
                            if c.met { "ok" } else { "!!" },
                            c.what,
                            c.actual,
                            c.required,
                            c.clause,
                            if c.unconfirmed { " (unconfirmed)" } else { "" }
                        );
                    }
                    if !st.missing.is_empty() {
                        let _ = writeln!(o, "\nmissing ({} strata short):", st.missing.len());
                        for m in &st.missing {
                            let _ = writeln!(
                                o,
                                "  {:<18} {:<8} {:>4} of {:>3}  (need {} more)  {}",
                                m.bank.as_str(),
                                m.stratum,
                                m.have,
                                m.need,
                                m.need - m.have,
                                m.name
                            );
                        }
                    }
                    let per: Vec<String> = st
                        .per_risk
                        .iter()
                        .map(|(k, m)| {
                            format!(
                                "{}: {}",
                                k.as_str(),
                                m.iter()
                                    .map(|(r, n)| format!("{r}={n}"))
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            )
                        })
                        .collect();
                    let _ = writeln!(o, "\nper risk:\n  {}", per.join("\n  "));
                    let _ = writeln!(
                        o,
                        "\nnear-duplicates (Jaccard >= {}): {} pairs",
                        dup_threshold,
                        st.near_duplicates.len()
                    );
                    for d in st.near_duplicates.iter().take(20) {
                        let _ = writeln!(o, "  {:.3}  {}  {}", d.jaccard, d.a, d.b);
                    }
                    if st.near_duplicates.len() > 20 {
                        let _ = writeln!(
                            o,
                            "  … {} more (--format json lists all)",
                            st.near_duplicates.len() - 20
                        );
                    }
                }
                other => bail!("--format {other:?}: expected text or json"),
            }
            if check && !st.all_met {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Sub::Import {
            from,
            files,
            out,
            bank,
            crosswalk,
        } => {
            let source = Source::parse(&from).with_context(|| {
                format!(
                    "--from {from:?}: expected jade, flames, cvalues, safetybench or safety-prompts"
                )
            })?;
            let cw = match &crosswalk {
                Some(f) => Crosswalk::from_file(f, kb.taxonomy())?,
                None => Crosswalk::shipped(source.crosswalk_name(), kb.taxonomy())?,
            };
            let bank = match bank.as_deref() {
                Some(b) => Some(BankKind::parse(b).with_context(|| {
                    format!(
                        "--bank {b:?}: expected generated-content, should-refuse or should-answer"
                    )
                })?),
                None => None,
            };
            let mut items = Vec::new();
            for f in &files {
                let rep = import(source, f, &cw, bank)
                    .with_context(|| format!("importing {}", f.display()))?;
                eprintln!(
                    "{}: {} questions, {} through low-confidence mappings, {} skipped",
                    f.display(),
                    rep.items.len(),
                    rep.low_confidence,
                    rep.skipped
                );
                for (label, n) in &rep.unmapped {
                    eprintln!("  unmapped: {label} ({n} questions left without a risk code)");
                }
                items.extend(rep.items);
            }
            beian_assess::bank::write_jsonl(&out, &items)?;
            eprintln!("{} questions written to {}", items.len(), out.display());
            ExitCode::SUCCESS
        }
        Sub::Crosswalk { name } => {
            match name {
                None => {
                    for n in SHIPPED {
                        let cw = Crosswalk::shipped(n, kb.taxonomy())?;
                        let _ = writeln!(o, "{n:<16} {} entries  {}", cw.map.len(), cw.title);
                    }
                }
                Some(n) => {
                    let cw = Crosswalk::shipped(&n, kb.taxonomy())?;
                    let _ = writeln!(
                        o,
                        "# {} ({}; {})",
                        cw.title,
                        cw.source,
                        cw.license.as_deref().unwrap_or("?")
                    );
                    if let Some(b) = &cw.default_bank {
                        let _ = writeln!(
                            o,
                            "# default bank: {b}. {}",
                            cw.bank_why.as_deref().unwrap_or("")
                        );
                    }
                    for e in &cw.map {
                        let _ = writeln!(
                            o,
                            "{:<40} -> {:<8} {}{}",
                            e.from,
                            e.label().unwrap_or("-"),
                            e.why,
                            if e.confidence.as_deref() == Some("low") {
                                " [low confidence]"
                            } else {
                                ""
                            }
                        );
                    }
                }
            }
            ExitCode::SUCCESS
        }
    };
    emit(&o)?;
    Ok(code)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub(crate) fn emit(s: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(s.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
