//! `beian registry`: administration of the filing registry.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use beian_registry::import::{Severity, parse_file};
use beian_registry::{NewOrganisation, NewUser, OrgKind, Role};

/// Registry administration: import the regulator's published lists, create
/// organisations and users.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  beian registry import ../shared/data/registry/*.csv
  beian registry import list.xlsx --data-dir /var/lib/beian --format json
  beian registry add-org --uscc 91110108MA01ABCDEN --name 北京甲科技有限公司 --province 北京市 \\
      --legal-representative 张三 --security-officer 李四 --assessment-lead 王五
  BEIAN_PASSWORD=... beian registry add-user --username cac --role national-reviewer
  BEIAN_PASSWORD=... beian registry add-user --username bj --role provincial-reviewer --province 北京市")]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Args)]
pub struct Db {
    /// Directory of the SQLite database (created if missing).
    #[arg(long, default_value = "./beian-data")]
    pub data_dir: PathBuf,
    /// Database URL (overrides --data-dir).
    #[arg(long, env = "BEIAN_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Import published lists (CSV or XLSX): generative-AI filings/registrations and algorithm filings.
    /// Anomalies are reported with file and row; re-importing a file changes nothing.
    Import {
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        db: Db,
        /// Output: text (anomalies, then a summary per file) or json (one object per file).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Print only the summary, not each anomaly.
        #[arg(long)]
        quiet: bool,
    },
    /// Register an organisation (USCC check digit validated).
    AddOrg {
        #[arg(long)]
        uscc: String,
        #[arg(long)]
        name: String,
        /// provider or technical-supporter.
        #[arg(long, default_value = "provider")]
        kind: String,
        #[arg(long)]
        province: String,
        /// 6-digit administrative division code (default: province code + 0000).
        #[arg(long)]
        division_code: Option<String>,
        #[arg(long)]
        legal_representative: String,
        #[arg(long)]
        security_officer: String,
        #[arg(long)]
        assessment_lead: String,
        #[command(flatten)]
        db: Db,
    },
    /// Create a user; the password is read from BEIAN_PASSWORD or the first line of stdin.
    AddUser {
        #[arg(long)]
        username: String,
        /// provider-editor, provider-admin, provincial-reviewer, national-reviewer or auditor.
        #[arg(long)]
        role: String,
        #[arg(long)]
        org_id: Option<i64>,
        #[arg(long)]
        province: Option<String>,
        #[command(flatten)]
        db: Db,
    },
    /// Load N synthetic public-register entries (benchmarks only).
    #[command(hide = true)]
    Seed {
        #[arg(long)]
        synthetic: usize,
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // audit entries written without a signed-in user name who ran the CLI
    let os_user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    beian_registry::store::set_cli_actor(&os_user);
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(run_async(args))
}

async fn run_async(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Import {
            files,
            db,
            format,
            quiet,
        } => {
            let store =
                super::serve::open_store_with_log(db.database_url.as_deref(), &db.data_dir, None)
                    .await?;
            let mut failed = 0;
            let (mut ins, mut unch, mut anom) = (0, 0, 0);
            for f in &files {
                let parsed = match parse_file(f) {
                    Ok(p) => p,
                    Err(e) => {
                        failed += 1;
                        if format == Format::Json {
                            println!(
                                "{}",
                                serde_json::json!({"file": f.display().to_string(), "error": e.to_string()})
                            );
                        } else {
                            eprintln!("error: {e}");
                        }
                        continue;
                    }
                };
                let sum = store
                    .import(
                        &parsed,
                        &format!(
                            "cli:{}",
                            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
                        ),
                    )
                    .await
                    .with_context(|| format!("importing {}", f.display()))?;
                ins += sum.inserted;
                unch += sum.unchanged;
                anom += sum.anomalies.len();
                if format == Format::Json {
                    println!("{}", serde_json::to_string(&sum)?);
                } else {
                    if !quiet {
                        for a in &sum.anomalies {
                            println!("{a}");
                        }
                    }
                    // rows the parser skipped (conflicts found by the import are
                    // counted apart), so that read = inserted + unchanged + conflicting + skipped
                    let skipped = parsed
                        .anomalies
                        .iter()
                        .filter(|a| a.severity == Severity::Skipped)
                        .count();
                    let n = sum.anomalies.len();
                    eprintln!(
                        "{}: {} rows read: {} inserted, {} unchanged, {} conflicting (existing entry kept), {} skipped; {n} {}",
                        f.display(),
                        sum.rows + skipped,
                        sum.inserted,
                        sum.unchanged,
                        sum.conflicts,
                        skipped,
                        if n == 1 { "anomaly" } else { "anomalies" }
                    );
                }
            }
            store.close().await;
            if format == Format::Text {
                eprintln!(
                    "total: {ins} inserted, {unch} unchanged, {anom} {}, {failed} unreadable {}",
                    if anom == 1 { "anomaly" } else { "anomalies" },
                    if failed == 1 { "file" } else { "files" }
                );
            }
            Ok(if failed > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::AddOrg {
            uscc,
            name,
            kind,
            province,
            division_code,
            legal_representative,
            security_officer,
            assessment_lead,
            db,
        } => {
            let kind = OrgKind::parse(&kind)
                .with_context(|| format!("--kind {kind:?}: provider or technical-supporter"))?;
            let store =
                super::serve::open_store_with_log(db.database_url.as_deref(), &db.data_dir, None)
                    .await?;
            let org = store
                .create_organisation(
                    None,
                    NewOrganisation {
                        uscc,
                        name,
                        kind,
                        province,
                        division_code,
                        legal_representative,
                        security_officer,
                        assessment_lead,
                    },
                )
                .await?;
            store.close().await;
            println!("{}", serde_json::to_string(&org)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::AddUser {
            username,
            role,
            org_id,
            province,
            db,
        } => {
            let role = Role::parse(&role).with_context(|| format!("--role {role:?}: provider-editor, provider-admin, provincial-reviewer, national-reviewer or auditor"))?;
            let password = match std::env::var("BEIAN_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("reading the password from stdin")?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let store =
                super::serve::open_store_with_log(db.database_url.as_deref(), &db.data_dir, None)
                    .await?;
            let user = store
                .create_user(
                    None,
                    NewUser {
                        username,
                        password,
                        role,
                        org_id,
                        province,
                    },
                )
                .await?;
            store.close().await;
            println!("{}", serde_json::to_string(&user)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Seed { synthetic, db } => {
            let store =
                super::serve::open_store_with_log(db.database_url.as_deref(), &db.data_dir, None)
                    .await?;
            let n = store.seed_register(synthetic).await?;
            store.close().await;
            eprintln!("seeded {n} synthetic register entries");
            Ok(ExitCode::SUCCESS)
        }
    }
}
