//! The `beian` binary: thin glue over the library crates.
//!
//! Each subcommand lives in its own module under `cmd/`, exposing a clap
//! `Args` struct and `run(args) -> anyhow::Result<ExitCode>`. Libraries return
//! typed errors; this binary adds context with anyhow.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

// mimalloc: the engine build and the scan pipeline allocate and free across
// threads (lexicon entries, hit buffers, record batches); glibc's malloc spent
// 12% of start-up in malloc/free/consolidate (benchmarks/results/scale-*.md).
// Built with mimalloc's `no_thp` feature: it does not ask for transparent
// huge pages itself, which stalled short runs in the kernel's compaction
// (see the workspace Cargo.toml).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// beian (备案): China's AI governance machinery as software.
#[derive(Parser)]
#[command(name = "beian", version, about, long_about = None, after_help = "\
Examples:
  beian classify examples/public-chatbot.toml
  beian classify examples/face-swap-app.toml --regime cn-current --regime eu-ai-act --compare
  beian deadline --from 2025-09-28 --working-days 10
  beian scan --lexicon ../shared/data/lexicons/konsheng corpus.jsonl --format summary
  beian serve")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Say which filings and obligations apply to an AI service, with citations.
    Classify(cmd::classify::Args),
    /// Count working days on the PRC calendar (holidays and make-up days included).
    Deadline(cmd::deadline::Args),
    /// Inspect the embedded knowledge base (instruments, risks, thresholds, regimes).
    Kb(cmd::kb::Args),
    /// Screen text and corpora against the 31 risks of GB/T 45654.
    Scan(cmd::scan::Args),
    /// Work with keyword lexicons (statistics against the standard's minimums).
    Lexicon(cmd::lexicon::Args),
    /// Train, evaluate and apply a risk classifier (GB/T 45654 8.4 classification model).
    Judge(cmd::judge::Args),
    /// Run the generative-AI security assessment against a model endpoint.
    Assess(cmd::assess::Args),
    /// Work with assessment question banks.
    Bank(cmd::bank::Args),
    /// Run the filing registry (API and web pages).
    Serve(cmd::serve::Args),
    /// Registry administration (import published lists).
    Registry(cmd::registry::Args),
    /// Audit-log tools (verify the log, the chain and the registry's tables).
    Audit(cmd::audit::Args),
    /// Verify a published register log from outside; witness it.
    Log(cmd::log::Args),
    /// Embed and verify GB 45438 AIGC labels (images, audio, video, text).
    Label(cmd::label::Args),
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Classify(a) => cmd::classify::run(a),
        Command::Deadline(a) => cmd::deadline::run(a),
        Command::Kb(a) => cmd::kb::run(a),
        Command::Scan(a) => cmd::scan::run(a),
        Command::Lexicon(a) => cmd::lexicon::run(a),
        Command::Judge(a) => cmd::judge::run(a),
        Command::Assess(a) => cmd::assess::run(a),
        Command::Bank(a) => cmd::bank::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Registry(a) => cmd::registry::run(a),
        Command::Audit(a) => cmd::audit::run(a),
        Command::Log(a) => cmd::log::run(a),
        Command::Label(a) => cmd::label::run(a),
    };
    match result {
        Ok(code) => code,
        Err(err) if closed_stdout(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", error_chain(&err));
            ExitCode::from(2)
        }
    }
}

/// `beian kb diff | head` closes stdout early; `println!` then panics with
/// "failed printing to stdout: Broken pipe". A reader that has stopped reading
/// is not an error: leave quietly with status 0, as `cat` or `grep` would with
/// SIGPIPE ignored. Every other panic goes to the default hook.
fn quiet_on_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
}

/// Whether the command failed only because its reader closed stdout (see
/// [`quiet_on_closed_stdout`]).
fn closed_stdout(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes, `: `-separated; a cause whose text an earlier
/// message already contains (errors that print their source) is said once.
fn error_chain(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain() {
        let c = cause.to_string();
        if msg.contains(&c) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&c);
    }
    msg
}
