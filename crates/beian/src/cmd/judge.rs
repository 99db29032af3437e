//! `beian judge`: train, evaluate and apply a risk classifier (the
//! classification model of TC260-003 / GB/T 45654 8.4).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use beian_judge::{Example, Fields, Model, TrainConfig, TrainingFile};
use beian_scan::input::{FieldSpec, InputFormat, expand_inputs};
use beian_scan::pipeline::{self, MapOut, PipelineConfig};
use beian_scan::progress::Progress;

/// Train, evaluate and apply a risk classifier.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  beian judge train --data labelled.jsonl --background ../shared/data/corpus/four-classic-novels --out risk.judge
  beian judge train --data a.jsonl --data b.jsonl --background reviews.csv --field content --safe-label 正常 --out m.judge
  beian judge eval --model risk.judge --data test.jsonl
  beian judge eval --model risk.judge --data test.jsonl --threshold 0.9 --format json
  beian judge predict --model risk.judge corpus.jsonl
  echo '今晚一起去网上赌场下注' | beian judge predict -          # the default model, shipped inside beian
  zstdcat dump.jsonl.zst | beian judge predict --model risk.judge --input-format jsonl --format summary -

Labelled data is JSONL, one {\"text\": \"...\", \"label\": \"...\"} per line; labels are
free strings (risk codes such as A.1.h, or a data set's own categories). Without --model,
eval and predict use the default model shipped inside beian (also `--model default`, and
`beian scan --model default`, `beian assess --judge-model default`).")]
pub struct Args {
    #[command(subcommand)]
    cmd: Sub,
}

#[derive(clap::Subcommand)]
// Parsed once per run: the size of the train variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Sub {
    /// Train a model on labelled JSONL and clean background text.
    #[command(after_help = "\
Examples:
  beian judge train --data labelled.jsonl --background ../shared/data/corpus/four-classic-novels --out risk.judge
  beian judge train --data train.jsonl --safe-label 正常 --format json --out m.judge

The trainer holds out a validation split (--held-out), calibrates the default threshold
on P(not safe) so that at most --max-safe-flagged of held-out safe and background
examples are flagged, prints a training report and writes the model.
Features: the screening engine's folding, character 1-3-grams hashed into 2^18 buckets,
1 + ln(tf) per distinct n-gram at unit length (--tf), IDF of the training split folded
into the weights (--no-idf), averaged SGD at rate 0.1 (--no-average, --learning-rate).
`--tf count --no-idf --no-average --learning-rate 0.5` is the trainer before 2026-12-05.")]
    Train(TrainArgs),
    /// Evaluate a model on labelled JSONL: per-label and binary figures, confusion matrix.
    #[command(after_help = "\
Examples:
  beian judge eval --model risk.judge --data test.jsonl
  beian judge eval --model risk.judge --data test.jsonl --threshold 0.9 --format json
  beian judge eval --data test.jsonl                     # the default model

JSON: {\"n\", \"threshold\", \"macro_f1\", \"labels\": {\"<label>\": {\"precision\", \"recall\", \"f1\", \"n\"}},
       \"binary\": {\"precision\", \"recall\", \"f1\", \"fpr\"}}; binary is \"not safe\" against the
safe label at the threshold.")]
    Eval(EvalArgs),
    /// Classify records (same inputs, readers and parallel pipeline as `beian scan`).
    #[command(after_help = "\
Examples:
  beian judge predict --model risk.judge corpus.jsonl
  beian judge predict --model risk.judge --field content --format summary posts.csv.gz
  echo '今晚一起去网上赌场下注' | beian judge predict --model risk.judge -
  beian judge predict --format summary reviews.txt       # the default model

JSONL, one line per record in input order:
  {\"source\": \"a.jsonl\", \"record\": 3, \"label\": \"博彩\", \"score\": 0.97, \"flagged\": true}
score is P(not safe); label is the most probable label; flagged is score >= threshold.

Exit status: 0 done; 1 done but some records or inputs could not be read; 2 fatal.")]
    Predict(PredictArgs),
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Labelled JSONL (repeatable).
    #[arg(long, value_name = "FILE.jsonl", required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Clean text added as safe examples (repeatable; any input `beian scan` reads).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    background: Vec<String>,
    /// The harmless label.
    #[arg(long, value_name = "LABEL", default_value = "safe")]
    safe_label: String,
    /// Where to write the model.
    #[arg(long, value_name = "MODEL")]
    out: PathBuf,
    /// Background: JSONL field, CSV/TSV or Parquet column holding the text [default: text].
    #[arg(long, value_name = "NAME")]
    field: Option<String>,
    /// Background input format (default: by file extension).
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "jsonl", "csv", "tsv", "parquet"])]
    input_format: Option<String>,
    /// Labelled data: the text field.
    #[arg(long, value_name = "NAME", default_value = "text")]
    text_field: String,
    /// Labelled data: the label field.
    #[arg(long, value_name = "NAME", default_value = "label")]
    label_field: String,
    /// Use at most this many background records (the first ones, in input order).
    #[arg(long, value_name = "N")]
    max_background: Option<usize>,
    /// Background records shorter than this many characters are skipped.
    #[arg(long, value_name = "N", default_value_t = 4)]
    min_background_chars: usize,
    /// Passes over the training data.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Hashed feature space: 2^BITS buckets (model size: 2^BITS × labels bytes).
    #[arg(long, value_name = "BITS", default_value_t = 18)]
    bucket_bits: u8,
    /// Longest character n-gram (1 to 4).
    #[arg(long, default_value_t = 3)]
    ngram_max: u8,
    /// How repeats of an n-gram in one text count: `log` (1 + ln tf per
    /// distinct n-gram, text scaled to unit length), `binary`, or `count`
    /// (every occurrence, text scaled by 1/sqrt(n); models before 2026-12-05).
    #[arg(long, value_name = "WEIGHTING", default_value = "log",
          value_parser = ["log", "binary", "count"])]
    tf: String,
    /// Do not scale n-grams by their inverse document frequency while training.
    #[arg(long)]
    no_idf: bool,
    /// Keep the last SGD weights instead of their average over all steps.
    #[arg(long)]
    no_average: bool,
    /// Share of examples held out for validation and calibration.
    #[arg(long, default_value_t = 0.1)]
    held_out: f64,
    /// Largest share of held-out safe examples the default threshold may flag:
    /// of the labelled safe examples and of the background, each on its own.
    #[arg(long, default_value_t = 0.01)]
    max_safe_flagged: f64,
    /// A separate bound for the held-out labelled safe examples alone (hard
    /// negatives such as sensitive but answerable questions) [default: --max-safe-flagged].
    #[arg(long, value_name = "SHARE")]
    max_labelled_safe_flagged: Option<f64>,
    /// Training date written to the model header (YYYY-MM-DD) [default: today, UTC];
    /// fix it to rebuild a model byte for byte.
    #[arg(long, value_name = "DATE")]
    created: Option<String>,
    /// Bound labelled safe and background examples as one pool instead (a large
    /// background then lets the threshold flag more of the labelled safe class).
    #[arg(long)]
    pooled_calibration: bool,
    /// Seed of the split and shuffles.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Starting learning rate (decays linearly to 0).
    #[arg(long, default_value_t = 0.1)]
    learning_rate: f32,
    /// Do not weigh examples by the inverse square root of their label's frequency.
    #[arg(long)]
    no_balance: bool,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    /// Worker threads for reading background (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(clap::Args)]
struct EvalArgs {
    /// Model file; `default` is the model shipped inside beian.
    #[arg(long, value_name = "MODEL", default_value = "default")]
    model: PathBuf,
    /// Labelled JSONL.
    #[arg(long, value_name = "FILE.jsonl")]
    data: PathBuf,
    /// Threshold on P(not safe) [default: the model's calibrated one].
    #[arg(long, value_name = "X")]
    threshold: Option<f32>,
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    #[arg(long, value_name = "NAME", default_value = "text")]
    text_field: String,
    #[arg(long, value_name = "NAME", default_value = "label")]
    label_field: String,
}

#[derive(clap::Args)]
struct PredictArgs {
    /// Model file; `default` is the model shipped inside beian.
    #[arg(long, value_name = "MODEL", default_value = "default")]
    model: PathBuf,
    /// Threshold on P(not safe) [default: the model's calibrated one].
    #[arg(long, value_name = "X")]
    threshold: Option<f32>,
    /// JSONL field, CSV/TSV column or Parquet column holding the text [default: text].
    #[arg(long, value_name = "NAME")]
    field: Option<String>,
    #[arg(long, value_enum, default_value = "jsonl")]
    format: PredictFormat,
    /// Input format (default: by file extension; text for stdin).
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "jsonl", "csv", "tsv", "parquet"])]
    input_format: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
    /// Files, directories (recursive) or `-` for stdin; gzip/zstd transparently.
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PredictFormat {
    Jsonl,
    Summary,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.cmd {
        Sub::Train(a) => train(a),
        Sub::Eval(a) => eval(a),
        Sub::Predict(a) => predict(a),
    }
}

fn check_threshold(t: Option<f32>) -> anyhow::Result<()> {
    if let Some(t) = t {
        anyhow::ensure!(
            (0.0..=1.0).contains(&t),
            "--threshold {t}: must be between 0 and 1"
        );
    }
    Ok(())
}

fn threads(n: Option<usize>) -> usize {
    n.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Loads a model, with the path in any error.
pub fn load_model(path: &std::path::Path) -> anyhow::Result<Model> {
    Ok(Model::load(path)?)
}

fn train(a: TrainArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let fields = Fields {
        text: a.text_field.clone(),
        label: a.label_field.clone(),
    };
    let mut examples: Vec<Example> = Vec::new();
    let mut files: Vec<TrainingFile> = Vec::new();
    for p in &a.data {
        let l = beian_judge::read_labelled(p, &fields)?;
        files.push(TrainingFile {
            path: p.display().to_string(),
            role: "data".into(),
            sha256: l.sha256,
            examples: l.examples.len(),
        });
        examples.extend(l.examples);
    }
    let mut errors = 0u64;
    if !a.background.is_empty() {
        let forced = a.input_format.as_deref().and_then(InputFormat::from_name);
        let inputs = expand_inputs(&a.background, forced).context("listing background inputs")?;
        let fspec = FieldSpec {
            field: a.field.clone(),
            group: None,
        };
        let mut per_source = vec![0usize; inputs.len()];
        let max = a.max_background.unwrap_or(usize::MAX);
        let min_chars = a.min_background_chars;
        let mut taken = 0usize;
        let safe = a.safe_label.clone();
        pipeline::run_map(
            &inputs,
            &fspec,
            &PipelineConfig::with_threads(threads(a.threads)),
            &|r| {
                let t = r.text.trim();
                (t.chars().nth(min_chars.saturating_sub(1)).is_some()).then(|| t.to_owned())
            },
            &mut |o| match o {
                MapOut::Rec(r, Some(text)) => {
                    per_source[r.source as usize] += 1;
                    examples.push(Example {
                        text,
                        label: safe.clone(),
                        background: true,
                    });
                    taken += 1;
                    taken < max
                }
                MapOut::Rec(_, None) => true,
                MapOut::Err(e) => {
                    errors += 1;
                    let name = &inputs[e.source as usize].name;
                    if e.number == 0 {
                        eprintln!("beian judge: {}", e.message);
                    } else {
                        eprintln!("beian judge: {name}: record {}: {}", e.number, e.message);
                    }
                    true
                }
                MapOut::Warn(w) => {
                    eprintln!(
                        "beian judge: warning: {}: record {} at byte {}: {}",
                        inputs[w.source as usize].name, w.number, w.offset, w.message
                    );
                    true
                }
            },
        );
        for (spec, n) in inputs.iter().zip(per_source) {
            let sha256 = match &spec.path {
                Some(p) => beian_judge::file_sha256(p)?,
                None => "stdin".into(),
            };
            files.push(TrainingFile {
                path: spec.name.clone(),
                role: "background".into(),
                sha256,
                examples: n,
            });
        }
    }
    let read_s = started.elapsed().as_secs_f64();
    let cfg = TrainConfig {
        features: beian_judge::FeatureSettings {
            bucket_bits: a.bucket_bits,
            ngram_max: a.ngram_max,
            tf: a.tf.clone(),
            ..Default::default()
        },
        idf: !a.no_idf,
        average: !a.no_average,
        safe_label: a.safe_label.clone(),
        epochs: a.epochs,
        learning_rate: a.learning_rate,
        held_out: a.held_out,
        seed: a.seed,
        max_safe_flagged: a.max_safe_flagged,
        max_labelled_safe_flagged: a.max_labelled_safe_flagged,
        balance: !a.no_balance,
        pooled_calibration: a.pooled_calibration,
        created: Some(
            a.created
                .clone()
                .unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d").to_string()),
        ),
    };
    let shares = [
        ("--max-safe-flagged", Some(a.max_safe_flagged)),
        ("--max-labelled-safe-flagged", a.max_labelled_safe_flagged),
    ];
    for (flag, v) in shares.iter().filter_map(|(f, v)| v.map(|v| (f, v))) {
        anyhow::ensure!(
            (0.0..=1.0).contains(&v),
            "{flag} {v}: must be between 0 and 1"
        );
    }
    if let Some(d) = &a.created {
        anyhow::ensure!(
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok(),
            "--created {d}: not a date (YYYY-MM-DD)"
        );
    }
    anyhow::ensure!(
        (0.0..0.9).contains(&a.held_out),
        "--held-out {}: must be at least 0 and below 0.9",
        a.held_out
    );
    let t0 = Instant::now();
    let (model, report) = beian_judge::train(&examples, files, &cfg)?;
    let train_s = t0.elapsed().as_secs_f64();
    model
        .save(&a.out)
        .with_context(|| format!("writing the model to {}", a.out.display()))?;
    let mut o = String::new();
    match a.format {
        ReportFormat::Json => {
            let mut v = serde_json::to_value(&report)?;
            v["model"] = serde_json::json!(a.out.display().to_string());
            v["read_seconds"] = serde_json::json!(read_s);
            v["train_seconds"] = serde_json::json!(train_s);
            o.push_str(&serde_json::to_string_pretty(&v)?);
            o.push('\n');
        }
        ReportFormat::Text => {
            use std::fmt::Write as _;
            let _ = writeln!(
                o,
                "model {}  ({} bytes, {} buckets, labels: {})",
                a.out.display(),
                report.model_bytes,
                report.buckets,
                report.labels.join(", ")
            );
            let _ = writeln!(
                o,
                "examples: {} trained, {} held out ({} background in all)",
                report.train_examples, report.held_out_examples, report.background_examples
            );
            for (l, n) in &report.label_counts {
                let _ = writeln!(o, "  {l}: {n}");
            }
            let _ = writeln!(
                o,
                "threshold {:.4}: flags {:.2}% of held-out safe examples ({:.2}% of labelled safe, {:.2}% of background)",
                report.threshold,
                100.0 * report.held_out_safe_flagged,
                100.0 * report.held_out_labelled_safe_flagged,
                100.0 * report.held_out_background_flagged
            );
            if let Some(n) = &report.calibration_note {
                let _ = writeln!(o, "note: {n}");
            }
            let _ = writeln!(o, "held-out evaluation:");
            o.push_str(&report.eval.to_text());
            let _ = writeln!(
                o,
                "read {read_s:.1} s, trained and calibrated {train_s:.1} s (one core)"
            );
        }
    }
    emit(&o)?;
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn eval(a: EvalArgs) -> anyhow::Result<ExitCode> {
    check_threshold(a.threshold)?;
    let model = load_model(&a.model)?;
    let fields = Fields {
        text: a.text_field,
        label: a.label_field,
    };
    let l = beian_judge::read_labelled(&a.data, &fields)?;
    let e = beian_judge::evaluate(
        &model,
        &l.examples,
        &a.data.display().to_string(),
        &l.lines,
        a.threshold,
    )?;
    let o = match a.format {
        ReportFormat::Json => {
            let mut v = serde_json::to_value(&e)?;
            if let Some(m) = v.as_object_mut() {
                // The contract's shape; the confusion matrix is in the text report.
                m.remove("label_order");
                m.insert(
                    "confusion".into(),
                    serde_json::json!({"labels": e.label_order, "matrix": e.confusion}),
                );
            }
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        ReportFormat::Text => e.to_text(),
    };
    emit(&o)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(serde::Serialize)]
struct PredLine<'a> {
    source: &'a str,
    record: u64,
    label: &'a str,
    score: f32,
    flagged: bool,
}

fn round4(x: f32) -> f32 {
    (x * 10_000.0).round() / 10_000.0
}

fn predict(a: PredictArgs) -> anyhow::Result<ExitCode> {
    check_threshold(a.threshold)?;
    let model = load_model(&a.model)?;
    let threshold = a.threshold.unwrap_or(model.threshold());
    let forced = a.input_format.as_deref().and_then(InputFormat::from_name);
    let inputs = expand_inputs(&a.inputs, forced).context("listing inputs")?;
    let fields = FieldSpec {
        field: a.field.clone(),
        group: None,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut progress = Progress::stderr(!a.quiet);
    let (mut records, mut flagged, mut errors, mut bytes) = (0u64, 0u64, 0u64, 0u64);
    let mut per_label = vec![0u64; model.labels().len()];
    let mut write_err: Option<std::io::Error> = None;
    let started = Instant::now();
    pipeline::run_map_with(
        &inputs,
        &fields,
        &PipelineConfig::with_threads(threads(a.threads)),
        &beian_judge::Scratch::default,
        &|s, r| model.predict_with(r.text, s),
        &mut |o| match o {
            MapOut::Rec(r, v) => {
                records += 1;
                bytes += r.text.len() as u64;
                per_label[v.label] += 1;
                let is_flagged = v.score >= threshold;
                flagged += u64::from(is_flagged);
                progress.record(r.text.len());
                if a.format == PredictFormat::Jsonl {
                    let line = PredLine {
                        source: &inputs[r.source as usize].name,
                        record: r.number,
                        label: &model.labels()[v.label],
                        score: round4(v.score),
                        flagged: is_flagged,
                    };
                    let res = serde_json::to_writer(&mut out, &line)
                        .map_err(std::io::Error::other)
                        .and_then(|()| out.write_all(b"\n"));
                    if let Err(e) = res {
                        write_err = Some(e);
                        return false;
                    }
                }
                true
            }
            MapOut::Err(e) => {
                errors += 1;
                let name = &inputs[e.source as usize].name;
                if e.number == 0 {
                    progress.println(&format!("beian judge: {}", e.message));
                } else {
                    progress.println(&format!(
                        "beian judge: {name}: record {} at byte {}: {}",
                        e.number, e.offset, e.message
                    ));
                }
                true
            }
            MapOut::Warn(w) => {
                progress.println(&format!(
                    "beian judge: warning: {}: record {} at byte {}: {}",
                    inputs[w.source as usize].name, w.number, w.offset, w.message
                ));
                true
            }
        },
    );
    progress.finish();
    match write_err {
        Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        Some(_) => return Ok(ExitCode::SUCCESS),
        None => {}
    }
    if a.format == PredictFormat::Summary {
        use std::fmt::Write as _;
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        let mut o = String::new();
        let _ = writeln!(
            o,
            "records {records}  flagged {flagged} ({:.2}%)  threshold {threshold:.4}  unreadable {errors}",
            if records > 0 {
                100.0 * flagged as f64 / records as f64
            } else {
                0.0
            }
        );
        let _ = writeln!(o, "{:<16} {:>10} {:>8}", "label", "records", "share");
        for (l, n) in model.labels().iter().zip(&per_label) {
            let _ = writeln!(
                o,
                "{l:<16} {n:>10} {:>7.2}%",
                if records > 0 {
                    100.0 * *n as f64 / records as f64
                } else {
                    0.0
                }
            );
        }
        let _ = writeln!(
            o,
            "{:.1} MB in {secs:.2} s ({:.1} MB/s)",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs
        );
        out.write_all(o.as_bytes())?;
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn emit(o: &str) -> anyhow::Result<()> {
    match std::io::stdout().lock().write_all(o.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
