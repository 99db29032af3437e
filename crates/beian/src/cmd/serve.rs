//! `beian serve`: the filing registry service.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Run the filing registry: JSON API under /api/v1, OpenAPI at /api/openapi.json,
/// /healthz, /metrics. SQLite under --data-dir by default (created and migrated on
/// first start), PostgreSQL with --database-url. SIGTERM or Ctrl-C shut it down
/// gracefully (in-flight requests finish).
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  beian serve                                   # 127.0.0.1:8080, SQLite in ./beian-data
  beian serve --listen 0.0.0.0:9000 --data-dir /var/lib/beian
  beian serve --database-url postgres://beian:secret@localhost/beian
  RUST_LOG=debug beian serve --log-format json
  beian serve --witness-key 'beian-witness+1a2b3c4d+BP...'   # accept that witness's cosignatures

First user (then sign in with POST /api/v1/auth/login):
  BEIAN_PASSWORD=... beian registry add-user --username cac --role national-reviewer")]
pub struct Args {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Directory of the embedded SQLite database (created if missing).
    #[arg(long, default_value = "./beian-data")]
    pub data_dir: PathBuf,
    /// Database URL (`postgres://…` or `sqlite://…`); overrides --data-dir.
    #[arg(long, env = "BEIAN_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Mark session cookies Secure (when served behind TLS).
    #[arg(long)]
    pub secure_cookies: bool,
    /// The transparency log's signing key file (default: <data-dir>/log-key,
    /// created on first start; or the key itself in BEIAN_LOG_KEY).
    #[arg(long, env = "BEIAN_LOG_KEY_FILE")]
    pub log_key: Option<PathBuf>,
    /// Require `Authorization: Bearer <token>` on /metrics.
    #[arg(long, env = "BEIAN_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Anonymous requests a second per client IP to the register and the
    /// log (429 with Retry-After beyond; 0 = no limit, e.g. for benchmarks).
    #[arg(long, default_value_t = 100.0)]
    pub public_rate: f64,
    /// A witness whose C2SP tlog-cosignature/v1 cosignatures the log accepts
    /// on POST /log/cosignatures and then serves with its checkpoints
    /// (`<name>+<hex id>+<base64(0x04 ‖ key)>`, as `beian log witness`
    /// prints it). Repeatable.
    #[arg(long = "witness-key", value_name = "VKEY")]
    pub witness_keys: Vec<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Opens the store named by --database-url or --data-dir.
pub async fn open_store(
    database_url: Option<&str>,
    data_dir: &std::path::Path,
) -> anyhow::Result<beian_registry::Store> {
    match database_url {
        Some(url) => beian_registry::Store::open(url)
            .await
            .with_context(|| format!("opening database {}", redact(url))),
        None => beian_registry::Store::open_data_dir(data_dir)
            .await
            .with_context(|| format!("opening data directory {}", data_dir.display())),
    }
}

/// Opens the store and its transparency log: the signing key and the
/// checkpoint file live in `data_dir` (also for PostgreSQL), unless
/// `log_key` names the key file.
pub async fn open_store_with_log(
    database_url: Option<&str>,
    data_dir: &std::path::Path,
    log_key: Option<&std::path::Path>,
) -> anyhow::Result<beian_registry::Store> {
    let store = open_store(database_url, data_dir).await?;
    // PostgreSQL: the key and checkpoint file live in an explicit --data-dir
    // (or the key comes from --log-key / BEIAN_LOG_KEY); without one the log
    // is kept but not signed.
    let explicit_dir = data_dir != std::path::Path::new("./beian-data");
    let env_key = std::env::var("BEIAN_LOG_KEY").is_ok_and(|k| !k.trim().is_empty());
    if (database_url.is_some() && (explicit_dir || env_key)) || log_key.is_some() {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        store
            .enable_log_in(data_dir, log_key)
            .await
            .context("opening the transparency log")?;
    }
    Ok(store)
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(a)) if a > s => format!("{}://***{}", &url[..s], &url[a..]),
        _ => url.to_string(),
    }
}

fn init_logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    use std::io::IsTerminal;
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => b.try_init(),
        LogFormat::Json => b.json().try_init(),
    };
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs(args.log_format);
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        let store = open_store_with_log(
            args.database_url.as_deref(),
            &args.data_dir,
            args.log_key.as_deref(),
        )
        .await?;
        store
            .set_log_witnesses(&args.witness_keys)
            .context("--witness-key")?;
        // A database that no longer matches its signed log is not published
        // as if intact: the log endpoints answer 503 and say why.
        let rep = store
            .log_startup_check()
            .await
            .context("checking the database against its transparency log")?;
        if !rep.ok {
            eprintln!(
                "beian serve: WARNING: the database does not match its transparency log ({} problems; run `beian audit verify`); the log is halted",
                rep.problems.len()
            );
        }
        // Build the register index before the port opens: the first request
        // never waits for it.
        store
            .register_search(&beian_registry::RegisterQuery::default())
            .await
            .context("loading the public register")?;
        let backend = store.backend();
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        let mut state = beian_server::AppState::new(store);
        state.secure_cookies = args.secure_cookies;
        state.metrics_token = args
            .metrics_token
            .filter(|t| !t.is_empty())
            .map(std::sync::Arc::from);
        let d = beian_server::limits::Limits::default();
        let public = if args.public_rate > 0.0 {
            beian_server::limits::Rate::new(args.public_rate, args.public_rate * 4.0)
        } else {
            beian_server::limits::Rate::OFF
        };
        state.limits = std::sync::Arc::new(beian_server::limits::Limits::new(
            public,
            if args.public_rate > 0.0 { d.export } else { beian_server::limits::Rate::OFF },
            d.login_ip,
            d.login_global,
        ));
        tracing::info!(%addr, ?backend, "beian serve started");
        eprintln!("beian serve: listening on http://{addr} ({backend:?})");
        beian_server::serve(listener, state, shutdown_signal())
            .await
            .context("serving")?;
        tracing::info!("beian serve stopped");
        Ok(ExitCode::SUCCESS)
    })
}
