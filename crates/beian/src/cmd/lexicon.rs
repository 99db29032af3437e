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

/// `beian lexicon compile`.
pub mod compile;

/// Where the lexicon cache is, from the environment.
pub mod cache;

use anyhow::Context;
use beian_scan::{LoadedFile, lexicon_stats, load_lexicon_files};
use beian_screen::EngineBuilder;

/// Work with keyword lexicons.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  beian lexicon stats ../shared/data/lexicons/konsheng
  beian lexicon stats words.tsv --format json
  beian lexicon stats plain.txt --risk A.1.f
  beian lexicon audit ../shared/data/lexicons/konsheng --reference ../shared/data/corpus/four-classic-novels -o pruned.tsv
  beian lexicon audit words.tsv --reference reviews.csv --field content --max-share 0.0005 --format json
  beian lexicon compile ../shared/data/lexicons/konsheng -o konsheng.bin
  beian lexicon cache
  beian lexicon cache --clear

Exit status (stats): 0 every minimum met; 1 some risk or the total falls short; 2 fatal.")]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(clap::Subcommand)]
pub enum What {
    /// Count distinct terms per risk code against the keyword-library minimums
    /// (total, per A.1 risk, per A.2 risk) and list the risks that fall short.
    /// Exits 1 when any falls short.
    Stats(StatsArgs),
    /// Measure each term on clean reference text: the share of clean records
    /// it hits, its risks and a weight (specificity); write a pruned lexicon
    /// without the everyday words, and an allow-list of the words dropped.
    #[command(after_help = "\
Examples:
  beian lexicon audit ../shared/data/lexicons/konsheng --reference ../shared/data/corpus/four-classic-novels -o pruned.tsv
  beian lexicon audit words.tsv --reference reviews.csv --field content --max-share 0.0005 --format json

A term is dropped when it hits more than --max-share of the clean records
(`没有: hits 14.6% of clean records`). The pruned lexicon is TSV
term<TAB>risk<TAB>severity<TAB>action<TAB>weight; `beian scan --lexicon pruned.tsv`
reports each finding's weight and ranks records by it. weight = ln(1/(share+e)) / ln(1/e)
with e = 1/(clean records + 1): 1 for a term no clean record contains, towards 0 for
everyday words. The allow-list (-o's name with .allow.txt) lists the dropped words.")]
    Audit(AuditArgs),
    /// Build lexicons (and allow-lists) into one compiled file that every
    /// command taking --lexicon loads in milliseconds.
    Compile(compile::CompileArgs),
    /// List the lexicon cache (engines `beian scan` built from source
    /// lexicons, kept compiled), or clear it.
    #[command(after_help = "\
Examples:
  beian lexicon cache
  beian lexicon cache --format json
  beian lexicon cache --clear
  BEIAN_LEXICON_CACHE=/data/beian-cache beian lexicon cache

The cache is $BEIAN_LEXICON_CACHE, else $XDG_CACHE_HOME/beian/lexicons, else
~/.cache/beian/lexicons (BEIAN_LEXICON_CACHE=0: none). `beian scan` writes an
entry when it builds an engine from source lexicons and loads it on the next
run with the same files (by content), options and binary; 8 are kept, the
least recently used go first. Entries of another beian binary are listed as
such and never loaded.")]
    Cache(cache::CacheArgs),
}

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Lexicon files or directories.
    #[arg(required = true, value_name = "LEXICON")]
    pub files: Vec<PathBuf>,
    /// Clean reference text (files, directories or `-`; any input `beian scan` reads).
    #[arg(long, required = true, value_name = "CLEAN", num_args = 1..)]
    pub reference: Vec<String>,
    /// Drop terms hitting more than this share of clean records.
    #[arg(long, default_value_t = 0.001)]
    pub max_share: f64,
    /// Write the pruned lexicon (TSV with weights) here, and the allow-list beside it.
    #[arg(short = 'o', long, value_name = "PRUNED.tsv")]
    pub out: Option<PathBuf>,
    /// Risk code for terms that have none (default: by file name, else `unclassified`).
    #[arg(long, value_name = "CODE")]
    pub risk: Option<String>,
    /// JSONL field, CSV/TSV column or Parquet column of the reference text [default: text].
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,
    /// Reference input format (default: by file extension).
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "jsonl", "csv", "tsv", "parquet"])]
    pub input_format: Option<String>,
    /// List this many terms (most frequent first) in the text report; 0 lists all.
    #[arg(long, default_value_t = 30)]
    pub top: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
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

/// Prints the warnings of loaded lexicon files (skipped files, unknown
/// risk codes) on stderr, prefixed with the command's name.
pub fn warn_loaded(cmd: &str, loaded: &[LoadedFile]) {
    for f in loaded {
        if let Some(why) = &f.skipped {
            eprintln!("{cmd}: warning: skipped {}: {why}", f.path.display());
        }
        for w in &f.warnings {
            eprintln!("{cmd}: warning: {w}");
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let a = match args.what {
        What::Stats(a) => a,
        What::Audit(a) => return audit(a),
        What::Compile(a) => return compile::run(a),
        What::Cache(a) => return cache::run(&a),
    };
    let mut b = EngineBuilder::new();
    let loaded =
        load_lexicon_files(&mut b, &a.files, a.risk.as_deref()).context("loading lexicons")?;
    warn_loaded("beian lexicon", &loaded);
    let stats = lexicon_stats(&b)?;
    let all_met = stats.total_meets && stats.short.is_empty();
    let code = if all_met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    let mut o = String::new();
    if a.format == Format::Json {
        let v = serde_json::json!({ "files": loaded, "stats": stats, "meets": all_met });
        outln!(o, "{}", serde_json::to_string_pretty(&v)?);
        emit(&o)?;
        return Ok(code);
    }
    for f in loaded.iter().filter(|f| f.skipped.is_none()) {
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
        if stats.total_meets { "enough" } else { "SHORT" }
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
    outln!(
        o,
        "{}",
        if all_met {
            "verdict: meets every keyword-library minimum"
        } else {
            "verdict: SHORT of the keyword-library minimums (exit status 1)"
        }
    );
    emit(&o)?;
    Ok(code)
}

#[derive(serde::Serialize)]
struct AuditTerm {
    term: String,
    risks: Vec<String>,
    /// Clean records containing the term.
    hits: u64,
    share: f64,
    weight: f64,
    dropped: bool,
}

fn audit(a: AuditArgs) -> anyhow::Result<ExitCode> {
    use beian_scan::input::{FieldSpec, InputFormat, expand_inputs};
    use beian_scan::pipeline::{MapOut, PipelineConfig, run_map_with};
    use beian_screen::{HitKind, Options, Scratch};
    use std::collections::BTreeMap;

    anyhow::ensure!(
        (0.0..=1.0).contains(&a.max_share),
        "--max-share {}: must be between 0 and 1",
        a.max_share
    );
    let mut b = EngineBuilder::new();
    // What `beian scan` matches by default, one-character terms included
    // (they are measured too).
    b.options(Options {
        min_term_chars: 1,
        ..Options::default()
    })
    .no_detectors();
    let loaded =
        load_lexicon_files(&mut b, &a.files, a.risk.as_deref()).context("loading lexicons")?;
    warn_loaded("beian lexicon", &loaded);
    let engine = b.into_engine().context("building the screening engine")?;
    let forced = a.input_format.as_deref().and_then(InputFormat::from_name);
    let inputs = expand_inputs(&a.reference, forced).context("listing reference inputs")?;
    let fields = FieldSpec {
        field: a.field.clone(),
        group: None,
    };
    let threads = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let n_entries = engine.entries().len();
    let mut counts = vec![0u64; n_entries];
    let mut records = 0u64;
    let mut errors = 0u64;
    run_map_with(
        &inputs,
        &fields,
        &PipelineConfig::with_threads(threads),
        &|| (Scratch::new(), Vec::new()),
        &|(scratch, hits): &mut (Scratch, Vec<beian_screen::Hit>), r| {
            engine.scan(r.text, scratch, hits);
            let mut e: Vec<u32> = hits
                .iter()
                .filter_map(|h| match h.kind {
                    HitKind::Entry { entry, .. } | HitKind::Regex { entry } => Some(entry),
                    HitKind::Detector(_) => None,
                })
                .collect();
            e.sort_unstable();
            e.dedup();
            e
        },
        &mut |o| match o {
            MapOut::Rec(_, hit) => {
                records += 1;
                for i in hit {
                    counts[i as usize] += 1;
                }
                true
            }
            MapOut::Err(e) => {
                errors += 1;
                let name = &inputs[e.source as usize].name;
                if e.number == 0 {
                    eprintln!("beian lexicon: {}", e.message);
                } else {
                    eprintln!("beian lexicon: {name}: record {}: {}", e.number, e.message);
                }
                true
            }
            MapOut::Warn(w) => {
                eprintln!(
                    "beian lexicon: warning: {}: record {} at byte {}: {}",
                    inputs[w.source as usize].name, w.number, w.offset, w.message
                );
                true
            }
        },
    );
    anyhow::ensure!(
        records > 0,
        "no clean reference records were read from {}",
        a.reference.join(", ")
    );
    let eps = 1.0 / (records as f64 + 1.0);
    let weight = |share: f64| ((1.0 / (share + eps)).ln() / (1.0 / eps).ln()).clamp(0.0, 1.0);
    // The engine reports one entry per span, so of two entries that fold to
    // the same text (系统 and 系統, QQ and qq) only one is credited: share the
    // hits among all entries of one folded form, so that none survives the
    // audit unmeasured.
    let fold = beian_screen::CharMap::new(Options::default())?;
    let mut by_form: BTreeMap<String, u64> = BTreeMap::new();
    let forms: Vec<String> = engine
        .entries()
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let f: String = if e.regex {
                format!("re:{}", e.term)
            } else {
                e.term.chars().filter_map(|c| fold.map(c)).collect()
            };
            let n = by_form.entry(f.clone()).or_default();
            *n = (*n).max(counts[i]);
            f
        })
        .collect();
    // Per term (entries of one term with several risks count once).
    let mut by_term: BTreeMap<&str, (u64, Vec<String>)> = BTreeMap::new();
    for (i, e) in engine.entries().iter().enumerate() {
        let t = by_term.entry(&e.term).or_default();
        t.0 = t.0.max(counts[i]).max(by_form[&forms[i]]);
        if !t.1.iter().any(|r| **r == *e.risk) {
            t.1.push(e.risk.to_string());
        }
    }
    let mut terms: Vec<AuditTerm> = by_term
        .into_iter()
        .map(|(term, (hits, risks))| {
            let share = hits as f64 / records as f64;
            AuditTerm {
                term: term.to_owned(),
                risks,
                hits,
                share,
                weight: (weight(share) * 10_000.0).round() / 10_000.0,
                dropped: share > a.max_share,
            }
        })
        .collect();
    terms.sort_by(|x, y| y.hits.cmp(&x.hits).then_with(|| x.term.cmp(&y.term)));
    let dropped: Vec<&AuditTerm> = terms.iter().filter(|t| t.dropped).collect();

    if let Some(out) = &a.out {
        use std::fmt::Write as _;
        let w_of: BTreeMap<&str, f64> = terms.iter().map(|t| (t.term.as_str(), t.weight)).collect();
        let mut tsv = String::from(
            "#! pruned by `beian lexicon audit`: term, risk, severity, action, weight (specificity on clean text)\n",
        );
        for e in engine.entries() {
            if dropped.iter().any(|d| d.term == *e.term) {
                continue;
            }
            let term = if e.regex {
                format!("re:{}", e.term)
            } else {
                e.term.to_string()
            };
            let w = if e.regex {
                String::new()
            } else {
                format!("{:.4}", w_of.get(&*e.term).copied().unwrap_or(1.0))
            };
            let _ = writeln!(
                tsv,
                "{term}\t{}\t{}\t{}\t{w}",
                e.risk,
                e.severity.as_deref().unwrap_or(""),
                e.action.as_deref().unwrap_or("")
            );
        }
        std::fs::write(out, tsv).with_context(|| format!("writing {}", out.display()))?;
        let allow = out.with_extension("allow.txt");
        let mut text = String::from(
            "#! everyday words dropped by `beian lexicon audit` (share of clean records above the limit)\n",
        );
        for d in &dropped {
            let _ = writeln!(text, "{}", d.term);
        }
        std::fs::write(&allow, text).with_context(|| format!("writing {}", allow.display()))?;
        eprintln!(
            "beian lexicon: wrote {} ({} terms kept) and {} ({} dropped)",
            out.display(),
            terms.len() - dropped.len(),
            allow.display(),
            dropped.len()
        );
    }

    let mut o = String::new();
    if a.format == Format::Json {
        let v = serde_json::json!({
            "records": records,
            "max_share": a.max_share,
            "terms": terms.len(),
            "dropped": dropped.len(),
            "unreadable": errors,
            "entries": terms,
        });
        outln!(o, "{}", serde_json::to_string_pretty(&v)?);
    } else {
        outln!(
            o,
            "{} terms measured on {records} clean records; {} hit more than {:.3}% and are dropped",
            terms.len(),
            dropped.len(),
            100.0 * a.max_share
        );
        let limit = if a.top == 0 { usize::MAX } else { a.top };
        for t in terms.iter().filter(|t| t.hits > 0).take(limit) {
            outln!(
                o,
                "{}: hits {:.3}% of clean records ({}; weight {:.4}){}",
                t.term,
                100.0 * t.share,
                t.risks.join(", "),
                t.weight,
                if t.dropped { "  DROPPED" } else { "" }
            );
        }
        let never = terms.iter().filter(|t| t.hits == 0).count();
        outln!(o, "{never} terms hit no clean record (weight 1)");
    }
    emit(&o)?;
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
