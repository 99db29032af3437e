//! `beian audit`: verify and read the hash-chained audit log.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Audit-log tools: `verify` recomputes the hash chain and reports the first
/// edited, deleted or reordered entry (exit 1); `log` prints entries.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  beian audit verify
  beian audit verify --data-dir /var/lib/beian --format json
  beian audit verify --database-url postgres://beian:secret@localhost/beian
  beian audit log --after 100 --limit 20")]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Verify the hash chain (exit 0: intact, 1: broken).
    Verify(Common),
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
            Command::Verify(c) => {
                if c.database_url.is_none() && !c.data_dir.join("beian.db").exists() {
                    anyhow::bail!(
                        "no database at {} (use --data-dir or --database-url)",
                        c.data_dir.join("beian.db").display()
                    );
                }
                let store =
                    super::serve::open_store(c.database_url.as_deref(), &c.data_dir).await?;
                let res = store
                    .audit_verify()
                    .await
                    .context("reading the audit log")?;
                store.close().await;
                let (ok, out) = match &res {
                    Ok(n) => (true, serde_json::json!({"ok": true, "entries": n})),
                    Err(e) => (
                        false,
                        serde_json::json!({"ok": false, "error": e.to_string(), "detail": e}),
                    ),
                };
                if c.format == Format::Json {
                    println!("{out}");
                } else {
                    match &res {
                        Ok(n) => println!("audit chain intact: {n} entries"),
                        Err(e) => println!("audit chain BROKEN: {e}"),
                    }
                }
                Ok(if ok {
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
