//! `beian scan`: screen text and corpora against the 31 risks of GB/T 45654.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

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
use beian_scan::input::{FieldSpec, InputFormat, expand_inputs};
use beian_scan::pipeline::{self, Out, PipelineConfig};
use beian_scan::progress::{Progress, ProgressCounter};
use beian_scan::sample::{SampleMode, SampleRow, Sampler, review};
use beian_screen::{Detector, mask_text};

/// Screen records against keyword lexicons, detectors and regular expressions.
#[derive(clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "\
Examples:
  beian scan --lexicon ../shared/data/lexicons/konsheng corpus.jsonl
  beian scan --lexicon words.tsv --allow allow.txt --format summary data/
  beian scan --lexicon words.txt --risk A.1.f --field content posts.csv.gz
  zstdcat dump.jsonl.zst | beian scan --lexicon words.txt --input-format jsonl -
  beian scan --lexicon words.txt --mask notes.txt > masked.txt
  beian scan --lexicon words.txt --sample 4000 --seed 42 --sample-out review corpus/
  beian scan --lexicon words.txt --sample-fraction 0.1 --format summary --by-source corpus/
  beian scan --lexicon pruned.tsv --model risk.judge --format summary corpus/
  beian scan --lexicon pruned.tsv --min-weight 0.5 --model default corpus/
  beian scan review review.xlsx
  BEIAN_LEXICON_CACHE=0 beian scan --lexicon words.txt corpus/   # build, no lexicon cache

Lexicon cache: an engine built from source lexicons is kept compiled in
~/.cache/beian/lexicons ($XDG_CACHE_HOME/beian/lexicons, or the directory
BEIAN_LEXICON_CACHE names) and loaded by the next run with the same files
(by content), options and binary; --no-lexicon-cache builds every time.

Output (--format jsonl), one finding per line:
  {\"source\": \"a.txt\", \"record\": 12, \"start\": 30, \"end\": 42, \"matched\": \"...\",
   \"term\": \"...\", \"risk\": \"A.1.h\", \"risks\": [\"A.1.h\"], \"detector\": \"lexicon\"}
start/end are byte offsets into the record; record is the 1-based line or row. One
finding per span: risks lists the risks of every entry matching it. Audited lexicons
(`beian lexicon audit`) add \"weight\"; --model adds a \"detector\": \"model\" finding
over the whole record (start..end; matched is its first 60 characters) with its \"score\".

Exit status: 0 done; 1 done but some records or inputs could not be read
(each named on stderr and counted); 2 fatal (bad lexicon, bad arguments)."
)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: Option<Sub>,
    /// Lexicon file or directory (repeatable). Plain (one term per line) or
    /// TSV `term<TAB>risk[<TAB>severity[<TAB>action]]`; `re:` lines are
    /// regular expressions. konsheng file names map to risk codes.
    #[arg(long, value_name = "FILE", required = true)]
    pub lexicon: Vec<PathBuf>,
    /// Allow-list file (repeatable): a hit inside an allowed phrase is dropped.
    #[arg(long, value_name = "FILE")]
    pub allow: Vec<PathBuf>,
    /// Risk code for lexicon terms that have none (default: by file name, else `unclassified`).
    #[arg(long, value_name = "CODE")]
    pub risk: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// JSONL field, CSV/TSV column or Parquet column holding the text [default: text].
    #[arg(long, value_name = "NAME")]
    pub field: Option<String>,
    /// Input format (default: by file extension; text for stdin).
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "jsonl", "csv", "tsv", "parquet"])]
    pub input_format: Option<String>,
    /// Write the records back with every finding masked instead of listing findings.
    #[arg(long)]
    pub mask: bool,
    /// Report per source (the input file, or `--by-source=FIELD`: a JSONL
    /// field or CSV/TSV/Parquet column) and flag sources over the
    /// corpus.source-illegal-max share.
    #[arg(long, value_name = "FIELD", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub by_source: Option<String>,
    #[command(flatten)]
    pub more: Box<MoreArgs>,
    /// Files, directories (recursive) or `-` for stdin; gzip/zstd transparently.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<String>,
}

/// Sampling, detector and normalization options (boxed: `Args` stays small).
#[derive(clap::Args)]
pub struct MoreArgs {
    /// Draw a reproducible reservoir sample of N records for manual review.
    #[arg(long, value_name = "N", conflicts_with = "sample_fraction")]
    pub sample: Option<usize>,
    /// Seed for --sample / --sample-fraction.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sample each record with probability F (technical sampling).
    #[arg(long, value_name = "F")]
    pub sample_fraction: Option<f64>,
    /// Review sheet path without extension (writes .csv and .xlsx).
    #[arg(long, value_name = "PATH", default_value = "beian-sample")]
    pub sample_out: PathBuf,
    /// Detectors to run, comma separated (id-card,mobile,bank-card,uscc,email,ip), or `none`.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "id-card,mobile,bank-card,uscc,email,ip"
    )]
    pub detectors: Vec<String>,
    #[command(flatten)]
    pub matching: super::lexicon::compile::MatchArgs,
    /// Also classify each record with a `beian judge` model: a finding with
    /// detector `model` (and its score) for records at or over the model's
    /// threshold, and model figures in the summary (`default`: the model
    /// shipped inside beian).
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// Threshold for --model [default: the model's calibrated one].
    #[arg(long, value_name = "X", requires = "model")]
    pub model_threshold: Option<f32>,
    /// Leave out lexicon findings whose audited weight (`beian lexicon audit`)
    /// is below W (everyday words); entries without a weight are kept. Says on
    /// stderr how many entries that sets aside.
    #[arg(long, value_name = "W")]
    pub min_weight: Option<f32>,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Screen records longer than this many bytes in overlapping windows
    /// (offsets stay exact; bounds the engine's memory per record). A
    /// plain-text line that long is read window by window, never whole
    /// (except with --mask, --sample, --sample-fraction or --model, which
    /// need the whole record); JSONL, CSV, TSV and Parquet records are read
    /// whole.
    #[arg(long, value_name = "BYTES", default_value_t = beian_scan::pipeline::DEFAULT_MAX_RECORD_BYTES)]
    pub max_record_bytes: usize,
    /// Build the engine from the source lexicons even where the lexicon
    /// cache holds it, and leave the cache as it is. By default an engine
    /// built from source lexicons is kept compiled in the cache
    /// (`$BEIAN_LEXICON_CACHE`, else `$XDG_CACHE_HOME/beian/lexicons`, else
    /// `~/.cache/beian/lexicons`; `BEIAN_LEXICON_CACHE=0` turns it off), and
    /// the next run with the same files, options and beian binary loads it
    /// in milliseconds instead of building it.
    #[arg(long)]
    pub no_lexicon_cache: bool,
}

#[derive(clap::Subcommand)]
pub enum Sub {
    /// Read a reviewed sheet back: qualified rate, Wilson 95% interval, verdict.
    #[command(after_help = "\
Examples:
  beian scan review beian-sample.xlsx
  beian scan review beian-sample.csv --format json

Fill the `verdict` column with qualified / unqualified (合格 / 不合格, ok / illegal, 1 / 0).")]
    Review(ReviewArgs),
}

#[derive(clap::Args)]
pub struct ReviewArgs {
    /// The reviewed sheet (.csv or .xlsx).
    pub sheet: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReviewFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Text,
    Summary,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReviewFormat {
    Text,
    Json,
}

#[derive(serde::Serialize)]
struct JsonFinding<'a> {
    source: &'a str,
    record: u64,
    start: usize,
    end: usize,
    matched: &'a str,
    term: &'a str,
    risk: &'a str,
    detector: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    via: Option<beian_screen::Via>,
    /// Every risk of the entries matching this span (`risk` is the first).
    risks: Vec<&'a str>,
    /// Audited weight (lexicons from `beian lexicon audit`).
    #[serde(skip_serializing_if = "Option::is_none")]
    weight: Option<f32>,
    /// P(not safe) for the `model` detector.
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f32>,
}

/// How many of the heaviest records a summary lists.
const RANKED: usize = 20;

#[derive(Default, Clone, Copy)]
struct SourceCount {
    records: u64,
    flagged: u64,
}

impl SourceCount {
    fn add(&mut self, c: SourceCount) {
        self.records += c.records;
        self.flagged += c.flagged;
    }
}

/// Counts one record under its source (`--by-source`): its file's name, or
/// with `--by-source=FIELD` (`by_field`) its value of that field, `(none)`
/// where it has none. The output thread's count; workers keep their own
/// ([`WorkerTally`]).
fn count_source(
    per_source: &mut BTreeMap<String, SourceCount>,
    by_field: &Option<String>,
    group: Option<&str>,
    name: &str,
    flagged: bool,
) {
    let key = match by_field {
        Some(_) => group.unwrap_or("(none)"),
        None => name,
    };
    per_source
        .entry(key.to_owned())
        .or_default()
        .add(SourceCount {
            records: 1,
            flagged: u64::from(flagged),
        });
}

/// A record for the heaviest list (weight, input, record number, matched
/// text): kept with the others, and the list cut to the [`RANKED`]
/// heaviest whenever it holds ten times that many.
fn push_ranked(ranked: &mut Vec<(f32, String, u64, String)>, entry: (f32, String, u64, String)) {
    ranked.push(entry);
    if ranked.len() >= 10 * RANKED {
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.truncate(RANKED);
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(Sub::Review(r)) = args.cmd {
        return run_review(&r);
    }
    // The matching flags are shared with `beian lexicon compile`.
    let opts = args.more.matching.options();
    let mut detectors = Vec::new();
    for d in &args.more.detectors {
        if d == "none" || d.is_empty() {
            continue;
        }
        detectors.push(Detector::from_name(d).with_context(|| format!("unknown detector `{d}`"))?);
    }
    if let Some(r) = &args.risk {
        anyhow::ensure!(
            beian_kb::Taxonomy::embedded()?.is_risk_code(r) || r == beian_screen::UNCLASSIFIED,
            "--risk {r}: not a risk code of GB/T 45654 Appendix A (see `beian kb risks`)"
        );
    }
    // Source lexicons, or one compiled lexicon (`beian lexicon compile`),
    // loaded as `beian_scan::build_engine` does for every command.
    let compiled = args.lexicon.iter().any(|p| beian_scan::is_compiled_file(p));
    let cache = super::lexicon::cache::from_env(args.more.no_lexicon_cache);
    let built = beian_scan::build_engine_cached(
        &beian_scan::EngineSpec {
            lexicons: &args.lexicon,
            allow: &args.allow,
            risk: args.risk.as_deref(),
            options: opts,
            detectors: &detectors,
        },
        cache.as_ref().map(|c| &c.cache),
    )
    .context(if compiled {
        "loading the compiled lexicon"
    } else {
        "building the screening engine"
    })?;
    super::lexicon::warn_loaded("beian scan", &built.loaded);
    // The engine lives until the process ends (it is never dropped, see
    // the end of this function): a new cache entry is written from it on
    // a thread of its own while the scan runs.
    let engine: &'static beian_screen::Engine = Box::leak(Box::new(built.engine));
    let cache_write = built
        .store
        .map(|st| std::thread::spawn(move || st.write(engine)));
    let min_chars = opts.min_term_chars.max(1);
    // No term is shorter than one character: with `--min-term-chars 1`
    // there is nothing to count.
    let short_terms = if compiled || min_chars <= 1 {
        0
    } else {
        engine
            .entries()
            .iter()
            .filter(|e| !e.regex && e.term.chars().count() < min_chars)
            .count()
    };
    if short_terms > 0 {
        eprintln!(
            "beian scan: {short_terms} lexicon entries are shorter than {min_chars} characters and are not matched (one-character terms flag most ordinary text); --min-term-chars 1 matches them"
        );
    }
    let model = match &args.more.model {
        Some(p) => Some(super::judge::load_model(p)?),
        None => None,
    };
    if let Some(t) = args.more.model_threshold {
        anyhow::ensure!(
            (0.0..=1.0).contains(&t),
            "--model-threshold {t}: must be between 0 and 1"
        );
    }
    let model_threshold = args
        .more
        .model_threshold
        .or(model.as_ref().map(beian_judge::Model::threshold))
        .unwrap_or(1.0);
    let (mut model_flagged, mut model_and_lexicon) = (0u64, 0u64);
    let mut model_labels: BTreeMap<String, u64> = BTreeMap::new();
    // The RANKED records with the highest audited weight (sum over
    // findings), ties in input order.
    let mut ranked: Vec<(f32, String, u64, String)> = Vec::new();
    let min_weight = args.more.min_weight;
    if let Some(mw) = min_weight {
        anyhow::ensure!(
            (0.0..=1.0).contains(&mw),
            "--min-weight {mw}: must be between 0 and 1"
        );
        let below = engine
            .entries()
            .iter()
            .filter(|e| e.weight.is_some_and(|w| w < mw))
            .count();
        let unweighted = engine
            .entries()
            .iter()
            .filter(|e| e.weight.is_none())
            .count();
        eprintln!(
            "beian scan: --min-weight {mw}: findings of {below} audited lexicon entries weighing less are left out; {unweighted} entries without a weight are kept"
        );
    }

    let forced = args
        .input_format
        .as_deref()
        .and_then(InputFormat::from_name);
    let inputs = expand_inputs(&args.inputs, forced).context("listing inputs")?;
    // A directory with nothing to read is said, not silently scanned as empty.
    for arg in &args.inputs {
        let dir = std::path::Path::new(arg);
        if arg != "-"
            && dir.is_dir()
            && !inputs
                .iter()
                .any(|i| i.path.as_deref().is_some_and(|p| p.starts_with(dir)))
        {
            eprintln!(
                "beian scan: warning: {arg}: no files to read in this directory (hidden files and FIFOs are left out)"
            );
        }
    }
    let by_field = args
        .by_source
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let fields = FieldSpec {
        field: args.field.clone(),
        group: by_field.clone(),
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let mut sampler = match (args.more.sample, args.more.sample_fraction) {
        (Some(n), _) => Some(Sampler::new(SampleMode::Count {
            n,
            seed: args.more.seed,
        })),
        (None, Some(f)) => {
            anyhow::ensure!(
                (0.0..=1.0).contains(&f),
                "--sample-fraction must be between 0 and 1"
            );
            let spill = args.more.sample_out.with_extension("partial.csv");
            Some(
                Sampler::new(SampleMode::Fraction {
                    f,
                    seed: args.more.seed,
                })
                .spill_to(&spill)?,
            )
        }
        _ => None,
    };

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut progress = Progress::stderr(!args.more.quiet);
    let mut records = 0u64;
    let mut flagged = 0u64;
    let mut findings_n = 0u64;
    let mut errors = 0u64;
    let mut per_risk: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut per_source: BTreeMap<String, SourceCount> = BTreeMap::new();
    let mut write_err: Option<std::io::Error> = None;
    let structured = |src: u32| inputs[src as usize].format != InputFormat::Text;

    // The engine and, with --model, the classifier run in the workers;
    // `verdict` carries the classifier's result to the output side.
    let max_record = args.more.max_record_bytes;
    let mut verdict: Option<beian_judge::Verdict> = None;
    // A plain summary only counts: the workers hand over compact hits, and
    // no finding is made as strings (the other outputs make them here, on
    // the output thread, never in a worker).
    let counting =
        args.format == Format::Summary && !args.mask && sampler.is_none() && model.is_none();
    // Whether any lexicon entry has an audited weight: without one no
    // group is weighed, and a summary needs no window's findings.
    let weighted = engine.entries().iter().any(|e| e.weight.is_some());
    let slots = Slots::new(engine, counting);
    let mut tally = Tally::new(&slots, weighted);
    let mut line: Vec<u8> = Vec::new();
    // A plain-text line over --max-record-bytes reaches the workers in
    // windows: the reader never holds it whole, the workers make the
    // findings of each window, and they are joined here in order. Not when
    // the output needs a record's whole text (--mask, --sample,
    // --sample-fraction, --model): then the line is read whole and
    // screened in the same windows by the worker. JSONL, CSV, TSV and
    // Parquet records are always read whole.
    let window_bytes = if args.mask || sampler.is_some() || model.is_some() {
        0
    } else {
        max_record
    };
    let mut joined = Joined::default();
    // A plain summary needs a window's findings only to rank records by
    // audited weight.
    let window_findings = !counting || weighted;
    // The length of the record handed on (a joined record has no text here).
    let mut rec_len = 0usize;
    // Where every output only counts a record without findings (no --mask,
    // --sample, --model, --by-source), the workers drop such records and
    // count them here instead: the output thread, which sees every record
    // handed on, is the one that limits many workers.
    let sparse = !args.mask && sampler.is_none() && model.is_none() && args.by_source.is_none();
    let by_source = match (&args.by_source, &by_field) {
        (None, _) => None,
        (Some(_), None) => Some(BySource::File),
        (Some(_), Some(_)) => Some(BySource::Field),
    };
    let dropped = AtomicU64::new(0);
    let summed = std::sync::Mutex::new(Summed::default());
    let progress_counter = progress.counter();
    pipeline::run_filter_map_windows(
        &inputs,
        &fields,
        &PipelineConfig {
            max_record_bytes: max_record,
            ..PipelineConfig::with_threads(threads)
        },
        window_bytes,
        &|| WorkerState {
            screen: beian_screen::Scratch::new(),
            judge: beian_judge::Scratch::default(),
            hits: Vec::new(),
            gone: DroppedHere::new(&dropped, progress_counter.clone()),
            // A plain summary is counted in the workers, record by record
            // (by source too): the output thread then gets only the windows
            // of long lines and, with audited weights, the records that may
            // be among the heaviest (it alone knows a record's number in the
            // whole file).
            tally: counting
                .then(|| WorkerTally::new(Tally::new(&slots, weighted), by_source, &summed)),
        },
        &|st: &mut WorkerState<'_, '_, '_>, rec, win| {
            let WorkerState {
                screen: sc,
                judge: js,
                hits: buf,
                gone,
                tally: here,
            } = st;
            let mut hits = Vec::new();
            if let Some(w) = win {
                pipeline::hits_in_window(engine, rec.text, &w, sc, &mut hits);
                if !window_findings {
                    let piece = Piece {
                        findings: Vec::new(),
                        blank: rec.text.trim().is_empty(),
                    };
                    return Some((hits, None, Some(piece), None));
                }
                // The findings need the window's text: made here.
                let rel: Vec<beian_screen::Hit> = hits
                    .iter()
                    .map(|h| beian_screen::Hit {
                        start: h.start - w.start,
                        end: h.end - w.start,
                        ..*h
                    })
                    .collect();
                let mut fs = engine.findings_from_hits(rec.text, &rel);
                for f in &mut fs {
                    f.start += w.start;
                    f.end += w.start;
                }
                let piece = Piece {
                    findings: fs,
                    blank: rec.text.trim().is_empty(),
                };
                return Some((hits, None, Some(piece), None));
            }
            // Screened into the worker's buffer, handed on in one exact
            // allocation (a record with many hits would otherwise grow a
            // fresh vector several times).
            pipeline::hits_windowed(engine, rec.text, max_record, sc, buf);
            if let Some(t) = here {
                let w = t.record(engine, rec, buf, min_weight);
                gone.count(rec.text.len());
                // Counted; handed on only to be ranked, if it may be.
                if !t.may_rank(w) {
                    return None;
                }
                hits.extend_from_slice(buf);
                return Some((hits, None, None, Some(w)));
            }
            if sparse && buf.is_empty() {
                gone.count(rec.text.len());
                return None;
            }
            hits.extend_from_slice(buf);
            Some((
                hits,
                model.as_ref().map(|m| m.predict_with(rec.text, js)),
                None,
                None,
            ))
        },
        &mut |o, win| match match o {
            pipeline::MapOut::Rec(rec, (hits, v, piece, counted)) => {
                verdict = v;
                // A windowed record: gather its windows, go on at the last.
                let (hits, pre) = match (win, piece) {
                    (Some(w), Some(p)) => {
                        if w.start == 0 {
                            joined = Joined {
                                blank: true,
                                ..Joined::default()
                            };
                        }
                        joined.blank &= p.blank;
                        let name = &inputs[rec.source as usize].name;
                        if counting {
                            joined.hits.extend(hits);
                            joined.findings.extend(p.findings);
                        } else {
                            // JSONL or text (the only other outputs that
                            // take windows): written now, in record order.
                            let mut fs = p.findings;
                            if let Some(mw) = min_weight {
                                fs.retain(|f| f.weight.is_none_or(|w| w >= mw));
                            }
                            for f in &fs {
                                if !per_risk.contains_key(&*f.risk) {
                                    per_risk.insert(f.risk.to_string(), (0, 0));
                                }
                                if let Some(e) = per_risk.get_mut(&*f.risk) {
                                    e.0 += 1;
                                    if !joined.risks.contains(&f.risk) {
                                        joined.risks.push(f.risk.clone());
                                        e.1 += 1;
                                    }
                                }
                            }
                            joined.written += fs.len() as u64;
                            let r = write_findings(
                                &mut out,
                                &mut line,
                                args.format,
                                name,
                                rec.number,
                                &fs,
                            );
                            if let Err(e) = r {
                                write_err = Some(e);
                                return false;
                            }
                        }
                        if !w.last {
                            return true;
                        }
                        let j = std::mem::take(&mut joined);
                        // A line of white space only is no record.
                        if j.blank {
                            return true;
                        }
                        rec_len = w.keep_below;
                        if !counting {
                            records += 1;
                            progress.record(rec_len);
                            findings_n += j.written;
                            flagged += u64::from(j.written > 0);
                            if args.by_source.is_some() {
                                // A windowed line is plain text: no field.
                                count_source(&mut per_source, &by_field, None, name, j.written > 0);
                            }
                            return true;
                        }
                        (j.hits, Some(j.findings))
                    }
                    _ => {
                        rec_len = rec.text.len();
                        (hits, None)
                    }
                };
                if counting {
                    let name = &inputs[rec.source as usize].name;
                    // Counted in the worker already: only to be ranked.
                    let w = match counted {
                        Some(w) => w,
                        None => {
                            records += 1;
                            progress.record(rec_len);
                            let (n, w) = tally.record(engine, &hits, min_weight);
                            flagged += u64::from(n > 0);
                            findings_n += n;
                            if args.by_source.is_some() {
                                count_source(&mut per_source, &by_field, rec.group, name, n > 0);
                            }
                            w
                        }
                    };
                    if w > 0.0 {
                        let kept = beian_screen::span_groups(&hits)
                            .enumerate()
                            .filter(|(_, g)| {
                                min_weight
                                    .is_none_or(|mw| engine.group_weight(g).is_none_or(|x| x >= mw))
                            });
                        // One finding per span group, in the same order.
                        let matched = |(k, g): (usize, &[beian_screen::Hit])| match &pre {
                            Some(fs) => fs.get(k).map_or("", |f| f.matched.as_str()),
                            None => rec.text.get(g[0].start..g[0].end).unwrap_or_default(),
                        };
                        push_ranked(
                            &mut ranked,
                            (
                                w,
                                name.clone(),
                                rec.number,
                                kept.map(matched).collect::<Vec<_>>().join(" | "),
                            ),
                        );
                    }
                    return true;
                }
                let findings = match pre {
                    Some(f) => f,
                    None => engine.findings_from_hits(rec.text, &hits),
                };
                Out::Rec(pipeline::Scanned { rec, findings })
            }
            pipeline::MapOut::Err(e) => Out::Err(e),
            pipeline::MapOut::Warn(w) => Out::Warn(w),
        } {
            Out::Warn(w) => {
                let name = &inputs[w.source as usize].name;
                progress.println(&format!(
                    "beian scan: warning: {name}: record {} at byte {}: {}",
                    w.number, w.offset, w.message
                ));
                true
            }
            Out::Err(e) => {
                errors += 1;
                let name = &inputs[e.source as usize].name;
                if e.number == 0 {
                    // Input-level errors already name the input.
                    progress.println(&format!("beian scan: {}", e.message));
                } else {
                    progress.println(&format!(
                        "beian scan: {name}: record {} at byte {}: {}",
                        e.number, e.offset, e.message
                    ));
                }
                true
            }
            Out::Rec(mut s) => {
                records += 1;
                progress.record(rec_len);
                let name = &inputs[s.rec.source as usize].name;
                if let Some(mw) = min_weight {
                    s.findings.retain(|f| f.weight.is_none_or(|w| w >= mw));
                }
                let lexicon_flagged = !s.findings.is_empty();
                let w: f32 = s.findings.iter().filter_map(|f| f.weight).sum();
                if w > 0.0 && args.format == Format::Summary {
                    push_ranked(
                        &mut ranked,
                        (
                            w,
                            name.clone(),
                            s.rec.number,
                            s.findings
                                .iter()
                                .map(|f| f.matched.as_str())
                                .collect::<Vec<_>>()
                                .join(" | "),
                        ),
                    );
                }
                if let (Some(m), Some(v)) = (&model, verdict.take())
                    && v.score >= model_threshold
                {
                    model_flagged += 1;
                    model_and_lexicon += u64::from(lexicon_flagged);
                    let label: std::sync::Arc<str> =
                        std::sync::Arc::from(m.labels()[v.label].as_str());
                    *model_labels.entry(label.to_string()).or_default() += 1;
                    // The span is the whole record (start..end); `matched`
                    // keeps its first 60 characters (and `…`), not a copy of
                    // every long record.
                    let t = s.rec.text;
                    let matched = match t.char_indices().nth(60) {
                        Some((i, _)) => format!("{}…", &t[..i]),
                        None => t.to_owned(),
                    };
                    s.findings.push(beian_screen::Finding {
                        start: 0,
                        end: t.len(),
                        matched,
                        term: label.clone(),
                        risk: label.clone(),
                        risks: vec![label],
                        weight: Some((v.score * 10_000.0).round() / 10_000.0),
                        detector: "model",
                        severity: None,
                        action: None,
                        via: None,
                    });
                }
                let is_flagged = !s.findings.is_empty();
                if is_flagged {
                    flagged += 1;
                }
                findings_n += s.findings.len() as u64;
                let mut seen_risk: Vec<&str> = Vec::new();
                for f in &s.findings {
                    // One String per risk code, not one per finding.
                    if !per_risk.contains_key(&*f.risk) {
                        per_risk.insert(f.risk.to_string(), (0, 0));
                    }
                    if let Some(e) = per_risk.get_mut(&*f.risk) {
                        e.0 += 1;
                        if !seen_risk.contains(&&*f.risk) {
                            seen_risk.push(&f.risk);
                            e.1 += 1;
                        }
                    }
                }
                if args.by_source.is_some() {
                    count_source(&mut per_source, &by_field, s.rec.group, name, is_flagged);
                }
                if let Some(sm) = sampler.as_mut() {
                    sm.offer(|| {
                        SampleRow::new(
                            match &by_field {
                                Some(_) => s.rec.group.unwrap_or(name).to_owned(),
                                None => name.clone(),
                            },
                            s.rec.number,
                            is_flagged,
                            seen_risk.join(" "),
                            s.findings
                                .iter()
                                .map(|f| f.matched.as_str())
                                .collect::<Vec<_>>()
                                .join(" | "),
                            s.rec.text.to_owned(),
                        )
                    });
                }
                let r = if args.mask {
                    let masked =
                        mask_text(s.rec.text, s.findings.iter().map(|f| (f.start, f.end)), '*');
                    if structured(s.rec.source) {
                        let v = serde_json::json!({"source": name, "record": s.rec.number, "text": masked});
                        writeln!(out, "{v}")
                    } else {
                        writeln!(out, "{masked}")
                    }
                } else {
                    match args.format {
                        Format::Summary => Ok(()),
                        Format::Jsonl | Format::Text => write_findings(
                            &mut out,
                            &mut line,
                            args.format,
                            name,
                            s.rec.number,
                            &s.findings,
                        ),
                    }
                };
                if let Err(e) = r {
                    write_err = Some(e);
                    return false;
                }
                true
            }
        },
    );
    progress.finish();
    // Every worker has flushed its count (its state is gone with it).
    records += dropped.load(Ordering::Relaxed);
    tally.merge_into(&mut per_risk);
    let summed = summed.into_inner().unwrap_or_else(|e| e.into_inner());
    flagged += summed.flagged;
    findings_n += summed.findings;
    for (risk, (f, r)) in summed.per_risk {
        let e = per_risk.entry(risk).or_default();
        e.0 += f;
        e.1 += r;
    }
    let by_file = summed.by_file.iter().enumerate();
    let by_file = by_file.map(|(i, c)| (inputs[i].name.as_str(), c));
    for (key, c) in by_file.chain(summed.by_field.iter().map(|(k, c)| (k.as_str(), c))) {
        if c.records > 0 {
            per_source.entry(key.to_owned()).or_default().add(*c);
        }
    }
    if let Some(e) = write_err {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(e).context("writing output");
    }

    // The thresholds and the taxonomy alone, not the whole knowledge base.
    let thresholds = beian_kb::Thresholds::embedded()?;
    let taxonomy = beian_kb::Taxonomy::embedded()?;
    let max_t = thresholds
        .get("corpus.source-illegal-max")
        .context("threshold corpus.source-illegal-max missing from the knowledge base")?;
    let share = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut report = String::new();
    use std::fmt::Write as _;
    if args.format == Format::Summary && !args.mask {
        let _ = writeln!(
            report,
            "records {records}  flagged {flagged} ({:.2}%)  findings {findings_n}  unreadable {errors}",
            100.0 * share(flagged, records)
        );
        let _ = writeln!(
            report,
            "{:<14} {:>10} {:>10} {:>8}  name",
            "risk", "findings", "records", "share"
        );
        for (risk, (n, recs)) in &per_risk {
            let name = taxonomy.risk(risk).map_or("", |r| r.zh.as_str());
            let _ = writeln!(
                report,
                "{risk:<14} {n:>10} {recs:>10} {:>7.2}%  {name}",
                100.0 * share(*recs, records)
            );
        }
        if model.is_some() {
            let _ = writeln!(
                report,
                "\nmodel: flagged {model_flagged} ({:.2}%) at threshold {model_threshold:.4}; {model_and_lexicon} of them also have a lexicon or detector finding",
                100.0 * share(model_flagged, records)
            );
            for (label, n) in &model_labels {
                let _ = writeln!(report, "  {label:<14} {n:>10}");
            }
        }
        if !ranked.is_empty() {
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
            ranked.truncate(RANKED);
            let _ = writeln!(
                report,
                "\nrecords ranked by audited weight (sum of the findings' weights):"
            );
            for (w, src, rec, m) in &ranked {
                let _ = writeln!(report, "{w:>8.3}  {src}:{rec}  {m}");
            }
        }
    }
    if args.by_source.is_some() {
        let _ = writeln!(
            report,
            "\nper source: share of records flagged; a source whose illegal share is over {:.0}% must not be used ({}, {}); confirm by review:",
            100.0 * max_t.value,
            max_t.id,
            max_t.clause
        );
        for (src, c) in &per_source {
            let sh = share(c.flagged, c.records);
            let flag = if max_t.is_met(sh) { "" } else { "  OVER LIMIT" };
            let _ = writeln!(
                report,
                "{src}\t{} records\t{} flagged\t{:.2}%{flag}",
                c.records,
                c.flagged,
                100.0 * sh
            );
        }
    }
    if !report.is_empty() {
        if args.format == Format::Summary && !args.mask {
            pipe_ok(out.write_all(report.as_bytes()))?;
        } else {
            eprint!("{report}");
        }
    }
    pipe_ok(out.flush())?;
    if let Some(sm) = sampler {
        let population = sm.population();
        let (c, x, n) = sm
            .write_sheets(&args.more.sample_out)
            .context("writing the review sheet")?;
        eprintln!(
            "beian scan: sampled {n} of {population} records into {} and {}",
            c.display(),
            x.display()
        );
    }
    // The engine is not dropped: the OS takes its many small allocations
    // back faster than dropping them one by one.
    if let (Some(w), Some(c)) = (cache_write, &cache) {
        c.finish(w, "beian scan");
    }
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes a record's findings as JSONL or text lines.
fn write_findings(
    out: &mut dyn Write,
    line: &mut Vec<u8>,
    format: Format,
    name: &str,
    record: u64,
    findings: &[beian_screen::Finding],
) -> std::io::Result<()> {
    findings.iter().try_for_each(|f| match format {
        Format::Jsonl => {
            let j = JsonFinding {
                source: name,
                record,
                start: f.start,
                end: f.end,
                matched: &f.matched,
                term: &f.term,
                risk: &f.risk,
                detector: f.detector,
                severity: f.severity.as_deref(),
                action: f.action.as_deref(),
                via: f.via.filter(|v| *v != beian_screen::Via::Text),
                risks: f.risks.iter().map(|r| &**r).collect(),
                weight: f.weight.filter(|_| f.detector != "model"),
                score: f.weight.filter(|_| f.detector == "model"),
            };
            // Serialize first so that an IO error keeps its kind (a closed
            // pipe ends the run quietly); one line buffer for the whole run.
            line.clear();
            serde_json::to_writer(&mut *line, &j).map_err(std::io::Error::other)?;
            line.push(b'\n');
            out.write_all(line)
        }
        Format::Text => writeln!(
            out,
            "{name}:{record}:{}-{}\t{}\t{}\t{}\t{}",
            f.start, f.end, f.risk, f.detector, f.term, f.matched
        ),
        Format::Summary => Ok(()),
    })
}

/// What a worker made of one window of a long record.
struct Piece {
    /// The window's findings (offsets into the record).
    findings: Vec<beian_screen::Finding>,
    /// The window is white space only.
    blank: bool,
}

/// One worker's count of the records it dropped (no finding, see `sparse`
/// in `run`), added to the shared one now and then and when the worker
/// ends (an atomic add per record would have every worker write the same
/// cache line).
struct DroppedHere<'a> {
    records: u64,
    bytes: u64,
    into: &'a AtomicU64,
    progress: ProgressCounter,
}

impl<'a> DroppedHere<'a> {
    fn new(into: &'a AtomicU64, progress: ProgressCounter) -> Self {
        DroppedHere {
            records: 0,
            bytes: 0,
            into,
            progress,
        }
    }

    fn count(&mut self, bytes: usize) {
        self.records += 1;
        self.bytes += bytes as u64;
        if self.records >= 4096 {
            self.flush();
        }
    }

    fn flush(&mut self) {
        self.into.fetch_add(self.records, Ordering::Relaxed);
        self.progress.add(self.records, self.bytes);
        (self.records, self.bytes) = (0, 0);
    }
}

impl Drop for DroppedHere<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// The windows of a long record gathered so far: a summary joins their hits
/// (and findings); JSONL and text output is written window by window, and
/// only the counts are kept.
#[derive(Default)]
struct Joined {
    hits: Vec<beian_screen::Hit>,
    findings: Vec<beian_screen::Finding>,
    blank: bool,
    /// Findings written so far.
    written: u64,
    /// Risks counted for this record so far.
    risks: Vec<std::sync::Arc<str>>,
}

/// The risk slot of each lexicon entry, shared by every [`Tally`] of a
/// run (the output thread's and each worker's).
struct Slots<'e> {
    /// Risk code of each slot.
    names: Vec<&'e str>,
    /// Slot of each lexicon entry's risk.
    entry_slot: Vec<u32>,
}

impl<'e> Slots<'e> {
    /// Empty unless `on` (a summary that only counts).
    fn new(engine: &'e beian_screen::Engine, on: bool) -> Self {
        let mut s = Slots {
            names: Vec::new(),
            entry_slot: Vec::new(),
        };
        if !on {
            return s;
        }
        let mut slots: std::collections::HashMap<&str, u32> = Default::default();
        // Entries of one lexicon file mostly share a risk: the map is asked
        // only when it changes (hashing every entry's risk was a quarter of a
        // compiled lexicon's start-up).
        let mut last: Option<(&str, u32)> = None;
        for e in engine.entries() {
            let slot = match last {
                Some((risk, slot)) if risk == &*e.risk => slot,
                _ => *slots.entry(&e.risk).or_insert_with(|| {
                    s.names.push(&e.risk);
                    (s.names.len() - 1) as u32
                }),
            };
            last = Some((&e.risk, slot));
            s.entry_slot.push(slot);
        }
        s
    }
}

/// Per-risk counts of a plain summary, by risk slot instead of by string.
struct Tally<'s, 'e> {
    slots: &'s Slots<'e>,
    /// Risk codes of detectors' findings, slots after the entries' ones.
    more: Vec<&'e str>,
    /// Findings and records per slot.
    counts: Vec<(u64, u64)>,
    /// The record a slot was last counted for (1-based; 0: never).
    seen: Vec<u64>,
    record: u64,
    /// Whether any entry has an audited weight (none: no group is weighed).
    weighted: bool,
}

impl<'s, 'e> Tally<'s, 'e> {
    fn new(slots: &'s Slots<'e>, weighted: bool) -> Self {
        let n = slots.names.len();
        Tally {
            slots,
            more: Vec::new(),
            counts: vec![(0, 0); n],
            seen: vec![0; n],
            record: 0,
            weighted,
        }
    }

    /// Counts one record's findings (hits grouped by span, those under
    /// `min_weight` left out, as the other outputs do): the number of
    /// findings and the sum of their weights.
    fn record(
        &mut self,
        engine: &'e beian_screen::Engine,
        hits: &[beian_screen::Hit],
        min_weight: Option<f32>,
    ) -> (u64, f32) {
        use beian_screen::HitKind;
        self.record += 1;
        let (mut n, mut w) = (0u64, 0.0f32);
        for g in beian_screen::span_groups(hits) {
            let gw = if self.weighted {
                engine.group_weight(g)
            } else {
                None
            };
            if let Some(mw) = min_weight
                && gw.is_some_and(|x| x < mw)
            {
                continue;
            }
            n += 1;
            w += gw.unwrap_or(0.0);
            let slot = match g[0].kind {
                HitKind::Entry { entry, .. } | HitKind::Regex { entry } => {
                    self.slots.entry_slot[entry as usize] as usize
                }
                HitKind::Detector(_) => {
                    let risk = engine.risk_of(&g[0]);
                    let mut names = self.slots.names.iter().chain(&self.more);
                    match names.position(|r| *r == risk) {
                        Some(i) => i,
                        None => {
                            self.more.push(risk);
                            self.counts.push((0, 0));
                            self.seen.push(0);
                            self.counts.len() - 1
                        }
                    }
                }
            };
            self.counts[slot].0 += 1;
            if self.seen[slot] != self.record {
                self.seen[slot] = self.record;
                self.counts[slot].1 += 1;
            }
        }
        (n, w)
    }

    fn merge_into(&self, per_risk: &mut BTreeMap<String, (u64, u64)>) {
        let names = self.slots.names.iter().chain(&self.more);
        for (name, c) in names.zip(&self.counts) {
            if c.0 > 0 {
                let e = per_risk.entry((*name).to_owned()).or_default();
                e.0 += c.0;
                e.1 += c.1;
            }
        }
    }
}

/// What each worker of a scan keeps between records.
struct WorkerState<'a, 's, 'e> {
    screen: beian_screen::Scratch,
    judge: beian_judge::Scratch,
    /// The hits of the record at hand.
    hits: Vec<beian_screen::Hit>,
    gone: DroppedHere<'a>,
    /// Where a summary is counted in the workers.
    tally: Option<WorkerTally<'a, 's, 'e>>,
}

/// The counts of a summary made in the workers, added up when they end.
#[derive(Default)]
struct Summed {
    flagged: u64,
    findings: u64,
    per_risk: BTreeMap<String, (u64, u64)>,
    /// `--by-source`: records of each input, by input index.
    by_file: Vec<SourceCount>,
    /// `--by-source=FIELD`: records of each value of the field.
    by_field: std::collections::HashMap<String, SourceCount>,
}

/// What `--by-source` counts by.
#[derive(Clone, Copy)]
enum BySource {
    File,
    Field,
}

/// One worker's summary counts, added to the run's [`Summed`] when the
/// worker ends.
struct WorkerTally<'a, 's, 'e> {
    tally: Tally<'s, 'e>,
    flagged: u64,
    findings: u64,
    by_source: Option<BySource>,
    by_file: Vec<SourceCount>,
    by_field: std::collections::HashMap<String, SourceCount>,
    /// The weights of the [`RANKED`] heaviest records seen (fewer at first).
    top: Vec<f32>,
    into: &'a std::sync::Mutex<Summed>,
}

impl<'a, 's, 'e> WorkerTally<'a, 's, 'e> {
    fn new(
        tally: Tally<'s, 'e>,
        by_source: Option<BySource>,
        into: &'a std::sync::Mutex<Summed>,
    ) -> Self {
        WorkerTally {
            tally,
            flagged: 0,
            findings: 0,
            by_source,
            by_file: Vec::new(),
            by_field: Default::default(),
            top: Vec::new(),
            into,
        }
    }

    /// Counts one record; returns the sum of its findings' weights.
    fn record(
        &mut self,
        engine: &'e beian_screen::Engine,
        rec: &beian_scan::input::RecordIn<'_>,
        hits: &[beian_screen::Hit],
        min_weight: Option<f32>,
    ) -> f32 {
        let (n, w) = self.tally.record(engine, hits, min_weight);
        self.flagged += u64::from(n > 0);
        self.findings += n;
        let one = SourceCount {
            records: 1,
            flagged: u64::from(n > 0),
        };
        match self.by_source {
            None => {}
            Some(BySource::File) => {
                let i = rec.source as usize;
                if self.by_file.len() <= i {
                    self.by_file.resize(i + 1, SourceCount::default());
                }
                self.by_file[i].add(one);
            }
            Some(BySource::Field) => {
                let key = rec.group.unwrap_or("(none)");
                // A String only for a value this worker has not seen.
                match self.by_field.get_mut(key) {
                    Some(c) => c.add(one),
                    None => {
                        self.by_field.insert(key.to_owned(), one);
                    }
                }
            }
        }
        w
    }

    /// Whether a record of weight `w` may be among the run's [`RANKED`]
    /// heaviest: it is unless that many records this worker saw weigh more
    /// (one that weighs as much may still rank, before them in the input).
    fn may_rank(&mut self, w: f32) -> bool {
        if w <= 0.0 {
            return false;
        }
        if self.top.len() < RANKED {
            self.top.push(w);
            return true;
        }
        let lightest = self.top.iter_mut().min_by(|a, b| a.total_cmp(b));
        match lightest {
            Some(m) if w >= *m => {
                *m = w;
                true
            }
            _ => false,
        }
    }
}

impl Drop for WorkerTally<'_, '_, '_> {
    fn drop(&mut self) {
        // A worker that panicked while holding the lock still leaves counts
        // that are whole (each is added under the lock at once).
        let mut s = self.into.lock().unwrap_or_else(|e| e.into_inner());
        s.flagged += self.flagged;
        s.findings += self.findings;
        self.tally.merge_into(&mut s.per_risk);
        if s.by_file.len() < self.by_file.len() {
            s.by_file.resize(self.by_file.len(), SourceCount::default());
        }
        for (into, c) in s.by_file.iter_mut().zip(&self.by_file) {
            into.add(*c);
        }
        for (k, c) in self.by_field.drain() {
            s.by_field.entry(k).or_default().add(c);
        }
    }
}

fn run_review(r: &ReviewArgs) -> anyhow::Result<ExitCode> {
    let rev = review(&r.sheet).with_context(|| format!("reviewing {}", display(&r.sheet)))?;
    let mut o = String::new();
    if r.format == ReviewFormat::Json {
        outln!(o, "{}", serde_json::to_string_pretty(&rev)?);
    } else {
        outln!(o, "sheet        {}", rev.sheet);
        outln!(
            o,
            "sampling     {} (population {})",
            rev.kind,
            rev.population.map_or("unknown".into(), |p| p.to_string())
        );
        outln!(
            o,
            "reviewed     {} of {} rows ({} qualified, {} unqualified, {} not reviewed)",
            rev.reviewed,
            rev.rows,
            rev.qualified,
            rev.unqualified,
            rev.unreviewed
        );
        outln!(
            o,
            "qualified    {:.2}%  (Wilson 95%: {:.2}% - {:.2}%)",
            100.0 * rev.qualified_rate,
            100.0 * rev.wilson95_low,
            100.0 * rev.wilson95_high
        );
        if rev.kind == "technical" {
            outln!(
                o,
                "sample size  needs at least {:.0}% of the population: {}",
                100.0 * rev.required_sample,
                yes(rev.sample_met)
            );
        } else {
            outln!(
                o,
                "sample size  needs at least {:.0} items: {}",
                rev.required_sample,
                yes(rev.sample_met)
            );
        }
        outln!(
            o,
            "rate         needs at least {:.0}%: {} (lower bound too: {})",
            100.0 * rev.required_rate,
            yes(rev.rate_met),
            yes(rev.rate_met_with_confidence)
        );
        outln!(o, "verdict      {}", rev.verdict.to_uppercase());
        for s in rev.by_source.iter().filter(|s| s.over_limit) {
            outln!(
                o,
                "source       {}: {:.2}% unqualified of {} reviewed: over the limit, must not be used",
                s.source,
                100.0 * s.illegal_share,
                s.reviewed
            );
        }
        for t in &rev.thresholds {
            outln!(o, "threshold    {t}");
        }
    }
    emit(&o)?;
    Ok(match rev.verdict.as_str() {
        "pass" => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}

/// A reader that closed the pipe (`| head`) is not an error.
fn pipe_ok(r: std::io::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing output"),
        _ => Ok(()),
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
