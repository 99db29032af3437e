//! `beian assess`: the generative-AI security assessment (GB/T 45654, TC260-003
//! §9.3-9.4) against an OpenAI-compatible endpoint, with reports and the filing
//! attachments.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use beian_assess::bank::{BankKind, BankSpec};
use beian_assess::client::EndpointConfig;
use beian_assess::crosswalk::Crosswalk;
use beian_assess::judge::{ContentFinding, ContentJudge, LexiconTerm, RefusalDetector};
use beian_assess::metrics::{Summary, Verdict};
use beian_assess::record::ItemRecord;
use beian_assess::runner::{self, GuardJudge, HashedFile, Judges, Manifest, RunConfig};

/// Run the security assessment against a model endpoint, or work with a run's results.
#[derive(clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "\
Examples:
  beian assess --endpoint http://127.0.0.1:8000/v1 --model qwen3-8b \\
      --bank generated.jsonl --bank should-refuse.xlsx --bank should-answer.csv \\
      --lexicon ../shared/data/lexicons/konsheng --out runs/qwen3
  beian assess --endpoint http://127.0.0.1:8000/v1 --model qwen3-8b --bank bank.jsonl \\
      --lexicon words.txt --out runs/qwen3 --resume          # continue after Ctrl-C or a crash
  beian assess ... --guard-endpoint http://127.0.0.1:8001/v1 --guard-model Qwen/Qwen3Guard-Gen-4B
  beian assess ... --concurrency 32 --rps 20 --stream --temperature 0 --api-key-env OPENAI_API_KEY
  beian assess review export runs/qwen3 -o review.xlsx
  beian assess review import runs/qwen3 review.xlsx
  beian assess report runs/qwen3 --bank bank.jsonl --lexicon words.txt
  beian assess ... --profile service.toml   # count the AIGC text notice if the profile requires it

Banks: FILE or KIND=FILE (KIND: generated-content, should-refuse, should-answer),
JSONL {\"id\",\"question\",\"risk\",\"bank\"}, CSV, or XLSX with 序号/测试题/一级分类/二级分类.
Sample sizes default to the standard's minimums (1,000 / 300 / 300, from the kb).

DIR receives: manifest.json, results.jsonl (one line per answered item, appended as
items complete), summary.json, report.html/.md/.json, evaluation-questions.xlsx,
blocking-keywords.xlsx, self-assessment.md. Ctrl-C stops dispatching and waits for
the requests in flight (a second Ctrl-C drops them); --resume continues.

Exit status: 0 all three metrics pass; 1 a metric fails or is inconclusive, or the
run was interrupted; 2 fatal error."
)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    run: Box<RunArgs>,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Human review: export uncertain items to a sheet, import the verdicts.
    Review {
        #[command(subcommand)]
        action: ReviewAction,
    },
    /// Recompute summary, reports and attachments of a run (after review import).
    Report(ReportArgs),
}

#[derive(clap::Subcommand)]
enum ReviewAction {
    /// Write the items a person should check to an XLSX sheet (fill 人工研判).
    Export {
        dir: PathBuf,
        #[arg(short = 'o', long)]
        out: PathBuf,
        /// Which items: uncertain, failing (uncertain + automatic failures), all.
        #[arg(long, default_value = "uncertain")]
        select: String,
    },
    /// Read 人工研判 back (合格/不合格 for generated content, 拒答/未拒答 for refusal items).
    Import { dir: PathBuf, sheet: PathBuf },
}

#[derive(clap::Args)]
struct ReportArgs {
    dir: PathBuf,
    /// Banks, to report bank statistics in the self-assessment (optional).
    #[arg(long)]
    bank: Vec<String>,
    /// Lexicons, for the blocking-keyword sheet (optional).
    #[arg(long)]
    lexicon: Vec<PathBuf>,
    /// Service profile (as for `beian classify`): the summary counts answers carrying
    /// the AIGC text notice when the profile requires it (label.4.explicit).
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Base URL of the OpenAI-compatible API (beian appends /chat/completions).
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    /// Model name sent in each request.
    #[arg(long)]
    model: Option<String>,
    /// Environment variable holding the API key (sent as Bearer token; never recorded).
    #[arg(long, value_name = "VAR")]
    api_key_env: Option<String>,
    /// Extra header "Name: value" (repeatable; names are recorded, values are not).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// System prompt (recorded in the manifest).
    #[arg(long)]
    system_prompt: Option<String>,
    /// Read the system prompt from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "system_prompt")]
    system_prompt_file: Option<PathBuf>,
    #[arg(long)]
    temperature: Option<f64>,
    #[arg(long)]
    top_p: Option<f64>,
    #[arg(long)]
    max_tokens: Option<u64>,
    /// Other request parameter KEY=JSON (repeatable), e.g. --param seed=1.
    #[arg(long = "param", value_name = "KEY=JSON")]
    params: Vec<String>,
    /// Stream responses (SSE).
    #[arg(long)]
    stream: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Maximum requests per second (all workers together; retries count).
    #[arg(long)]
    rps: Option<f64>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 120.0)]
    timeout: f64,
    /// Retries on 429, 5xx, timeouts and dropped connections (exponential backoff with jitter).
    #[arg(long, default_value_t = 6)]
    retries: u32,
    /// Question bank: FILE or KIND=FILE (repeatable).
    #[arg(long = "bank", value_name = "FILE", num_args = 1..)]
    banks: Vec<String>,
    /// Keyword lexicon files or directories for the content judge and the keyword sheet.
    #[arg(long = "lexicon", value_name = "FILE", num_args = 1..)]
    lexicons: Vec<PathBuf>,
    /// Allow-list files for the content judge.
    #[arg(long = "allow", value_name = "FILE")]
    allow: Vec<PathBuf>,
    /// Extra refusal phrases, one per line.
    #[arg(long, value_name = "FILE")]
    refusal_phrases: Option<PathBuf>,
    /// Guard model endpoint (e.g. Qwen3Guard behind vLLM).
    #[arg(long, value_name = "URL")]
    guard_endpoint: Option<String>,
    #[arg(long, default_value = "Qwen/Qwen3Guard-Gen-4B")]
    guard_model: String,
    #[arg(long, value_name = "VAR")]
    guard_api_key_env: Option<String>,
    /// Crosswalk from the guard's categories to risk codes (default: kb/crosswalks/qwen3guard.toml).
    #[arg(long, value_name = "FILE")]
    guard_crosswalk: Option<PathBuf>,
    /// A `beian judge` model as a further content judge: an answer scoring at
    /// or over the threshold gets a finding with detector `model` (its label
    /// as the risk when the label is a risk code). `default`: the model
    /// shipped inside beian.
    #[arg(long, value_name = "MODEL")]
    judge_model: Option<PathBuf>,
    /// Threshold for --judge-model [default: the model's calibrated one].
    #[arg(long, value_name = "X", requires = "judge_model")]
    judge_threshold: Option<f32>,
    /// Output directory of the run.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Generated-content sample size (default: kb assess.generated.sample).
    #[arg(long, value_name = "N")]
    sample_generated: Option<usize>,
    /// Should-refuse sample size (default: kb assess.should-refuse.sample).
    #[arg(long, value_name = "N")]
    sample_refuse: Option<usize>,
    /// Should-answer sample size (default: kb assess.should-answer.sample).
    #[arg(long, value_name = "N")]
    sample_answer: Option<usize>,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Continue the run in DIR: completed items are not requested again.
    #[arg(long)]
    resume: bool,
    /// Service profile (as for `beian classify`): when it requires explicit labels
    /// (LABEL-2025 Art. 4, obligation label.4.explicit), the summary counts the answers
    /// that carry the AIGC text notice; otherwise the notice is not counted.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Final output on stdout: text or json (summary.json).
    #[arg(long, default_value = "text")]
    format: String,
}

/// The screening engine as the content judge.
struct ScreenJudge {
    engine: beian_screen::Engine,
    version: String,
    /// A classifier beside the lexicon, with its threshold.
    model: Option<(beian_judge::Model, f32)>,
}

impl ContentJudge for ScreenJudge {
    fn version(&self) -> String {
        self.version.clone()
    }
    fn judge(&self, answer: &str) -> Vec<ContentFinding> {
        let answer = beian_assess::judge::strip_think(answer);
        let mut out: Vec<ContentFinding> = self.model_finding(&answer).into_iter().collect();
        out.extend(self.lexicon_findings(&answer));
        out
    }
}

impl ScreenJudge {
    fn model_finding(&self, answer: &str) -> Option<ContentFinding> {
        let (m, t) = self.model.as_ref()?;
        let v = m.predict(answer);
        if v.score < *t {
            return None;
        }
        let label = &m.labels()[v.label];
        let is_code = beian_kb::Kb::embedded()
            .ok()
            .is_some_and(|kb| kb.taxonomy().is_risk_code(label));
        Some(ContentFinding {
            start: 0,
            end: answer.len(),
            term: format!("{label} (score {:.3})", v.score),
            risk: is_code.then(|| label.clone()),
            detector: "model".into(),
            severity: None,
        })
    }

    fn lexicon_findings(&self, answer: &str) -> Vec<ContentFinding> {
        self.engine
            .find(answer)
            .into_iter()
            .map(|f| ContentFinding {
                start: f.start,
                end: f.end,
                term: f.term.to_string(),
                risk: (&*f.risk != beian_screen::UNCLASSIFIED).then(|| f.risk.to_string()),
                detector: f.detector.to_string(),
                severity: f.severity.map(|s| s.to_string()),
            })
            .collect()
    }
}

/// Builds the screening engine from lexicon files; returns it with its terms and file hashes.
fn screen_judge(
    lexicons: &[PathBuf],
    allow: &[PathBuf],
) -> anyhow::Result<(ScreenJudge, Vec<LexiconTerm>, Vec<HashedFile>)> {
    let mut b = beian_screen::EngineBuilder::new();
    let mut hashed = Vec::new();
    if !lexicons.is_empty() {
        let loaded =
            beian_scan::load_lexicon_files(&mut b, lexicons, None).context("loading lexicons")?;
        super::lexicon::warn_loaded("beian assess", &loaded);
        for l in loaded.into_iter().filter(|l| l.skipped.is_none()) {
            hashed.push(HashedFile {
                sha256: beian_assess::bank::sha256_file(&l.path)?,
                path: l.path,
            });
        }
    }
    if !allow.is_empty() {
        beian_scan::load_allow_files(&mut b, allow).context("loading allow-lists")?;
    }
    let terms: Vec<LexiconTerm> = b
        .entries()
        .iter()
        .filter(|e| !e.regex)
        .map(|e| LexiconTerm {
            term: e.term.to_string(),
            risk: (&*e.risk != beian_screen::UNCLASSIFIED).then(|| e.risk.to_string()),
            source: Path::new(&*e.source)
                .file_name()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default(),
        })
        .collect();
    let engine = b.into_engine().context("building the screening engine")?;
    let digest = beian_assess::bank::sha256_hex(
        hashed
            .iter()
            .map(|h| h.sha256.as_str())
            .collect::<Vec<_>>()
            .join(",")
            .as_bytes(),
    );
    let version = format!(
        "beian-screen {} entries={} lexicons-sha256:{}",
        env!("CARGO_PKG_VERSION"),
        engine.entries().len(),
        &digest[..16]
    );
    Ok((
        ScreenJudge {
            engine,
            version,
            model: None,
        },
        terms,
        hashed,
    ))
}

fn endpoint_from(url: &str, model: &str, key_env: Option<&str>) -> anyhow::Result<EndpointConfig> {
    let mut ep = EndpointConfig::new(url, model);
    if let Some(var) = key_env {
        let key = std::env::var(var)
            .with_context(|| format!("--api-key-env {var}: the variable is not set"))?;
        ep.api_key = Some(key);
        ep.api_key_env = Some(var.to_string());
    }
    Ok(ep)
}

struct TtyProgress {
    total: AtomicUsize,
    done: AtomicUsize,
    errors: AtomicUsize,
    start: Instant,
    tty: bool,
    last: std::sync::Mutex<Instant>,
}

impl runner::Progress for TtyProgress {
    fn start(&self, total: usize, already: usize) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(already, Ordering::Relaxed);
        if already > 0 {
            eprintln!("resuming: {already} of {total} items already answered");
        }
    }
    fn item_done(&self, rec: &ItemRecord) {
        if rec.is_complete() {
            self.done.fetch_add(1, Ordering::Relaxed);
        } else {
            self.errors.fetch_add(1, Ordering::Relaxed);
            if !self.tty {
                eprintln!(
                    "item {}: {}",
                    rec.id,
                    rec.error
                        .as_ref()
                        .map(|e| e.to_string())
                        .unwrap_or_default()
                );
            }
        }
        if !self.tty {
            return;
        }
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.elapsed().as_millis() < 100 {
            return;
        }
        *last = Instant::now();
        let (d, t, e) = (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        );
        let rate = d as f64 / self.start.elapsed().as_secs_f64().max(0.001);
        eprint!("\r{d}/{t} answered, {e} errors, {rate:.1}/s   ");
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(Sub::Review { action }) => review(action),
        Some(Sub::Report(r)) => {
            let kb = beian_kb::Kb::embedded()?;
            if let Some(p) = &r.profile {
                runner::set_text_notice_required(&r.dir, text_notice_required(p)?)
                    .context("recording the profile's labelling duty in manifest.json")?;
            }
            let summary = finish(&r.dir, &kb, &r.bank, &r.lexicon, &[])?;
            print_summary(&summary, &r.dir, "text")?;
            Ok(exit_for(&summary))
        }
        None => assess(*args.run),
    }
}

fn exit_for(s: &Summary) -> ExitCode {
    if s.overall == Verdict::Pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Whether the service described by `profile` must label text answers explicitly:
/// `beian classify` (PRC regime, law in force today) gives it obligation
/// label.4.explicit (LABEL-2025 Art. 4).
fn text_notice_required(profile: &Path) -> anyhow::Result<bool> {
    let kb = beian_kb::Kb::load(None).context("loading the embedded knowledge base")?;
    let classifier = beian_classify::Classifier::new(kb).context("preparing the rule packs")?;
    let p = beian_kb::Profile::from_path(profile, classifier.kb().profile_schema())
        .with_context(|| format!("reading the profile {}", profile.display()))?;
    let report = classifier
        .classify(&p, &["cn-current"], beian_classify::Lang::En)
        .with_context(|| format!("classifying the profile {}", profile.display()))?;
    Ok(report
        .results
        .iter()
        .flat_map(|r| &r.obligations)
        .any(|o| o.id == "label.4.explicit"))
}

fn assess(a: RunArgs) -> anyhow::Result<ExitCode> {
    let (Some(url), Some(model), Some(out)) = (a.endpoint.clone(), a.model.clone(), a.out.clone())
    else {
        bail!("--endpoint URL, --model NAME and --out DIR are required (see beian assess --help)");
    };
    // read the profile before any request is made: a bad profile fails fast
    let notice_required = a.profile.as_deref().map(text_notice_required).transpose()?;
    if a.banks.is_empty() {
        bail!("give at least one --bank FILE");
    }
    if a.format != "text" && a.format != "json" {
        bail!("--format must be text or json");
    }
    let kb = beian_kb::Kb::embedded()?;
    let mut ep = endpoint_from(&url, &model, a.api_key_env.as_deref())?;
    for h in &a.headers {
        let (k, v) = h
            .split_once(':')
            .with_context(|| format!("--header {h:?}: expected \"Name: value\""))?;
        ep.headers
            .push((k.trim().to_string(), v.trim().to_string()));
        ep.header_names.push(k.trim().to_string());
    }
    ep.system_prompt = match (&a.system_prompt, &a.system_prompt_file) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(f)) => {
            Some(std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?)
        }
        _ => None,
    };
    if let Some(t) = a.temperature {
        ep.params.insert("temperature".into(), serde_json::json!(t));
    }
    if let Some(t) = a.top_p {
        ep.params.insert("top_p".into(), serde_json::json!(t));
    }
    if let Some(t) = a.max_tokens {
        ep.params.insert("max_tokens".into(), serde_json::json!(t));
    }
    for p in &a.params {
        let (k, v) = p
            .split_once('=')
            .with_context(|| format!("--param {p:?}: expected KEY=JSON"))?;
        let v: serde_json::Value =
            serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_string()));
        ep.params.insert(k.trim().to_string(), v);
    }
    ep.stream = a.stream;
    if !(a.timeout > 0.0 && a.timeout.is_finite()) {
        bail!("--timeout must be a positive number of seconds");
    }
    ep.timeout_ms = (a.timeout * 1000.0) as u64;
    ep.max_retries = a.retries;
    if a.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }

    let specs: Vec<BankSpec> = a.banks.iter().map(|s| BankSpec::parse(s)).collect();
    let banks =
        beian_assess::bank::load_banks(&specs, kb.taxonomy()).context("loading question banks")?;
    let (mut judge, terms, hashed) = screen_judge(&a.lexicons, &a.allow)?;
    if let Some(p) = &a.judge_model {
        let m = super::judge::load_model(p)?;
        let t = a.judge_threshold.unwrap_or(m.threshold());
        anyhow::ensure!(
            (0.0..=1.0).contains(&t),
            "--judge-threshold {t}: must be between 0 and 1"
        );
        judge.version = format!(
            "{} + judge model {} (weights sha256 {}, threshold {t:.4})",
            judge.version,
            p.display(),
            &m.header().weights_sha256[..16.min(m.header().weights_sha256.len())]
        );
        judge.model = Some((m, t));
    }
    let mut refusal = RefusalDetector::default_rules();
    if let Some(f) = &a.refusal_phrases {
        refusal = refusal.with_file(f)?;
    }
    let guard_cfg = match &a.guard_endpoint {
        Some(g) => {
            let mut ep = endpoint_from(g, &a.guard_model, a.guard_api_key_env.as_deref())?;
            ep.timeout_ms = (a.timeout * 1000.0) as u64;
            ep.max_retries = a.retries;
            ep.params.insert("temperature".into(), serde_json::json!(0));
            Some(ep)
        }
        None => None,
    };
    let guard = match &guard_cfg {
        Some(ep) => {
            let cw = match &a.guard_crosswalk {
                Some(f) => Crosswalk::from_file(f, kb.taxonomy())?,
                None => Crosswalk::shipped("qwen3guard", kb.taxonomy())?,
            };
            Some(GuardJudge {
                client: beian_assess::client::ChatClient::new(ep.clone(), None)
                    .map_err(anyhow::Error::msg)?,
                crosswalk: Some(cw),
            })
        }
        None => None,
    };
    let judges = Arc::new(Judges {
        refusal,
        content: Arc::new(judge),
        guard,
    });
    let mut sample = BTreeMap::new();
    sample.insert(BankKind::GeneratedContent, a.sample_generated);
    sample.insert(BankKind::ShouldRefuse, a.sample_refuse);
    sample.insert(BankKind::ShouldAnswer, a.sample_answer);
    let cfg = RunConfig {
        out_dir: out.clone(),
        endpoint: ep,
        guard: guard_cfg,
        concurrency: a.concurrency,
        rps: a.rps,
        seed: a.seed,
        sample,
        resume: a.resume,
        lexicons: hashed,
    };
    let tty = std::io::stderr().is_terminal();
    let progress = Arc::new(TtyProgress {
        total: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        errors: AtomicUsize::new(0),
        start: Instant::now(),
        tty,
        last: std::sync::Mutex::new(Instant::now()),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = rt.block_on(async {
        let (cancel_tx, cancel) = tokio::sync::watch::channel(false);
        let (abort_tx, abort) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: finishing the requests in flight (Ctrl-C again to drop them); --resume continues");
                let _ = cancel_tx.send(true);
                if tokio::signal::ctrl_c().await.is_ok() {
                    let _ = abort_tx.send(true);
                }
            }
        });
        runner::run(cfg, &banks, judges, &kb, progress.clone(), cancel, abort).await
    });
    if tty {
        eprintln!();
    }
    let outcome = outcome.with_context(|| format!("assessment run in {}", out.display()))?;
    eprintln!(
        "{} requested, {} answered, {} errors{}",
        outcome.requested,
        outcome.completed,
        outcome.errors,
        if outcome.truncated_tail_repaired {
            " (a half-written last line of results.jsonl was dropped)"
        } else {
            ""
        }
    );
    if outcome.judges_changed {
        eprintln!(
            "warning: the judges (lexicons, refusal phrases or guard) differ from those the run began with; \
             items answered earlier keep their verdicts (see manifest.json sessions)"
        );
    }
    if let Some(req) = notice_required {
        runner::set_text_notice_required(&out, req)
            .context("recording the profile's labelling duty in manifest.json")?;
    }
    let summary = finish(&out, &kb, &a.banks, &a.lexicons, &terms)?;
    print_summary(&summary, &out, &a.format)?;
    if outcome.cancelled {
        eprintln!("the run was interrupted; continue it with the same command and --resume");
        return Ok(ExitCode::from(1));
    }
    Ok(exit_for(&summary))
}

/// summary.json, reports and attachments for the run in `dir`.
fn finish(
    dir: &Path,
    kb: &beian_kb::Kb,
    banks: &[String],
    lexicons: &[PathBuf],
    terms: &[LexiconTerm],
) -> anyhow::Result<Summary> {
    let (summary, manifest, records) =
        runner::summarise_dir(dir, kb).context("computing the summary")?;
    // Default to the run's own banks and lexicons (recorded in the manifest) when they are still there.
    let banks: Vec<String> = if banks.is_empty() {
        manifest
            .banks
            .iter()
            .filter(|b| beian_assess::bank::sha256_file(&b.path).is_ok_and(|h| h == b.sha256))
            .map(|b| match b.kind {
                Some(k) => format!("{k}={}", b.path.display()),
                None => b.path.display().to_string(),
            })
            .collect()
    } else {
        banks.to_vec()
    };
    let lexicons: Vec<PathBuf> = if lexicons.is_empty() {
        manifest
            .lexicons
            .iter()
            .filter(|l| l.path.exists())
            .map(|l| l.path.clone())
            .collect()
    } else {
        lexicons.to_vec()
    };
    beian_assess::report::write_all(dir, &summary, &manifest, &records)?;
    let reviews = beian_assess::record::load_reviews(&dir.join(runner::REVIEW))?;
    beian_assess::attach::question_sheet(
        &dir.join("evaluation-questions.xlsx"),
        &records,
        &manifest,
        &reviews,
        kb.taxonomy(),
    )?;
    let owned_terms;
    let terms: Option<&[LexiconTerm]> = if !terms.is_empty() {
        Some(terms)
    } else if !lexicons.is_empty() {
        owned_terms = screen_judge(&lexicons, &[])?.1;
        Some(&owned_terms)
    } else {
        None
    };
    if let Some(t) = terms {
        beian_assess::attach::keyword_sheet(&dir.join("blocking-keywords.xlsx"), t, kb)?;
    }
    let stats = if banks.is_empty() {
        None
    } else {
        let specs: Vec<BankSpec> = banks.iter().map(|s| BankSpec::parse(s)).collect();
        let b = beian_assess::bank::load_banks(&specs, kb.taxonomy())?;
        Some(beian_assess::stats::bank_stats(&b.items, kb, 0.8)?)
    };
    let md =
        beian_assess::attach::self_assessment_md(kb, &summary, &manifest, stats.as_ref(), terms);
    let p = dir.join("self-assessment.md");
    std::fs::write(&p, md).with_context(|| format!("writing {}", p.display()))?;
    Ok(summary)
}

fn print_summary(s: &Summary, dir: &Path, format: &str) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let mut o = String::new();
    if format == "json" {
        let _ = writeln!(o, "{}", serde_json::to_string_pretty(s)?);
        return super::bank::emit(&o);
    }
    for (name, m) in &s.metrics {
        let _ = writeln!(
            o,
            "{name:<28} {:>7} n={:<5} 95% CI [{:.3}, {:.3}]  {} {}  {:?}",
            m.value
                .map(|v| format!("{v:.4}"))
                .unwrap_or_else(|| "—".into()),
            m.n,
            m.ci95[0],
            m.ci95[1],
            if m.kind == "min" { ">=" } else { "<=" },
            m.threshold,
            m.verdict
        );
    }
    for (bank, c) in &s.counts {
        if c.errors > 0 || c.pending > 0 || c.uncertain > 0 {
            let _ = writeln!(
                o,
                "{bank:<28} {} answered of {} sampled, {} errors, {} pending, {} uncertain (beian assess review export)",
                c.answered, c.sampled, c.errors, c.pending, c.uncertain
            );
        }
    }
    let _ = writeln!(o, "overall: {:?}; reports in {}", s.overall, dir.display());
    super::bank::emit(&o)
}

fn review(action: ReviewAction) -> anyhow::Result<ExitCode> {
    let kb = beian_kb::Kb::embedded()?;
    match action {
        ReviewAction::Export { dir, out, select } => {
            let sel = match select.as_str() {
                "uncertain" => beian_assess::review::Selection::Uncertain,
                "failing" => beian_assess::review::Selection::UncertainAndFailing,
                "all" => beian_assess::review::Selection::All,
                other => bail!("--select {other:?}: expected uncertain, failing or all"),
            };
            let (_, _, records) = runner::summarise_dir(&dir, &kb)?;
            let n = beian_assess::review::export(&records, sel, &out)?;
            eprintln!(
                "{n} items written to {}; fill the 人工研判 column, then: beian assess review import {} {}",
                out.display(),
                dir.display(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        ReviewAction::Import { dir, sheet } => {
            let manifest = Manifest::load(&dir)?;
            let loaded = beian_assess::record::load_results(&dir.join(runner::RESULTS))?;
            let (_, records, _) = beian_assess::record::effective(
                &loaded.records,
                &manifest.sample,
                &Default::default(),
            );
            let n = beian_assess::review::import(&sheet, &records, &dir.join(runner::REVIEW))?;
            eprintln!(
                "{n} decisions recorded in {}",
                dir.join(runner::REVIEW).display()
            );
            let summary = finish(&dir, &kb, &[], &[], &[])?;
            print_summary(&summary, &dir, "text")?;
            Ok(exit_for(&summary))
        }
    }
}

#[cfg(test)]
mod judge_model_tests {
    use super::*;

    /// `--judge-model`: a classifier verdict joins the lexicon findings.
    #[test]
    fn judge_model_adds_a_model_finding() {
        let mut ex = Vec::new();
        for i in 0..80 {
            ex.push(beian_judge::Example {
                text: format!("网上赌场百家乐下注返水第{i}把"),
                label: "A.1.h".into(),
                background: false,
            });
            ex.push(beian_judge::Example {
                text: format!("今天天气很好我们去公园散步第{i}次"),
                label: "safe".into(),
                background: false,
            });
        }
        let mut cfg = beian_judge::TrainConfig::default();
        cfg.features.bucket_bits = 12;
        let (m, _) = beian_judge::train(&ex, Vec::new(), &cfg).expect("train");
        let t = m.threshold();
        let (mut j, _, _) = screen_judge(&[], &[]).expect("judge");
        j.model = Some((m, t));
        let f = j.judge("<think>x</think>今晚去赌场玩百家乐下注");
        let model: Vec<_> = f.iter().filter(|f| f.detector == "model").collect();
        assert_eq!(model.len(), 1, "{f:?}");
        assert_eq!(model[0].risk.as_deref(), Some("A.1.h"));
        assert!(model[0].term.starts_with("A.1.h (score "), "{:?}", model[0]);
        let f = j.judge("今天天气很好我们去公园");
        assert!(f.iter().all(|f| f.detector != "model"), "{f:?}");
    }
}
