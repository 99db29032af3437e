//! `beian audit`: verify and read the hash-chained audit log.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Audit-log tools. `verify` recomputes the transparency log from the
/// database and compares it with the last signed checkpoint (kept in the
/// database and in <data-dir>/log-checkpoint, or given with --checkpoint),
/// checks every audit entry against the log and the hash chain, and checks
/// the current rows of filings, issued numbers, organisations, the register
/// and users against the state the log commits to. Exit 1 on any edit,
/// deletion, wipe or re-chain. `log` prints entries.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  beian audit verify
  beian audit verify --data-dir /var/lib/beian --format json
  beian audit verify --database-url postgres://beian:secret@localhost/beian --data-dir /var/lib/beian
  beian audit verify --checkpoint saved-checkpoint.txt --vkey 'beian.localhost/register+1a2b3c4d+AR...'
  beian audit log --after 100 --limit 20")]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Verify the log, the audit chain and the covered tables (exit 0: intact, 1: not).
    Verify {
        #[command(flatten)]
        common: Common,
        /// A signed checkpoint to compare with (default: the newest of
        /// <data-dir>/log-checkpoint and the database's copy).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The log's verifier key (default: derived from the log key in --data-dir).
        #[arg(long)]
        vkey: Option<String>,
        /// The log's signing key file (default: <data-dir>/log-key).
        #[arg(long, env = "BEIAN_LOG_KEY_FILE")]
        log_key: Option<PathBuf>,
    },
    /// Print audit entries as JSON lines.
    Log {
        #[command(flatten)]
        common: Common,
        /// Entries after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(clap::Args)]
pub struct Common {
    /// Directory of the SQLite database.
    #[arg(long, default_value = "./beian-data")]
    pub data_dir: PathBuf,
    /// Database URL (overrides --data-dir).
    #[arg(long, env = "BEIAN_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        match args.command {
            Command::Verify {
                common: c,
                checkpoint,
                vkey,
                log_key,
            } => {
                if c.database_url.is_none() && !c.data_dir.join("beian.db").exists() {
                    anyhow::bail!(
                        "no database at {} (use --data-dir or --database-url)",
                        c.data_dir.join("beian.db").display()
                    );
                }
                let cp = checkpoint
                    .as_ref()
                    .map(|p| {
                        std::fs::read_to_string(p)
                            .with_context(|| format!("reading checkpoint {}", p.display()))
                    })
                    .transpose()?;
                let store = super::serve::open_store_with_log(
                    c.database_url.as_deref(),
                    &c.data_dir,
                    log_key.as_deref(),
                )
                .await?;
                let rep = store
                    .log_verify(cp, vkey)
                    .await
                    .context("reading the log")?;
                store.close().await;
                if c.format == Format::Json {
                    println!("{}", serde_json::to_string(&rep)?);
                } else if rep.ok {
                    for w in &rep.warnings {
                        eprintln!("warning: {w}");
                    }
                    println!(
                        "audit log intact: {} log entries match the signed checkpoint ({}, key {}), {} audit entries, rows {}",
                        rep.entries,
                        rep.checkpoint_source.as_deref().unwrap_or("-"),
                        rep.vkey.as_deref().unwrap_or("-"),
                        rep.audit_entries,
                        rep.rows
                            .iter()
                            .map(|(t, n)| format!("{t} {n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                } else {
                    println!("audit log BROKEN: {} problems", rep.problems.len());
                    for p in rep.problems.iter().take(50) {
                        println!("  {p}");
                    }
                }
                Ok(if rep.ok {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                })
            }
            Command::Log {
                common,
                after,
                limit,
            } => {
                let store =
                    super::serve::open_store(common.database_url.as_deref(), &common.data_dir)
                        .await?;
                let entries = store
                    .audit_entries(None, after, limit)
                    .await
                    .context("reading the audit log")?;
                store.close().await;
                for e in entries {
                    if common.format == Format::Json {
                        println!("{}", serde_json::to_string(&e)?);
                    } else {
                        println!(
                            "{:>6} {} {:<28} {:<24} {} {}",
                            e.seq, e.at, e.actor, e.action, e.subject, e.detail
                        );
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
