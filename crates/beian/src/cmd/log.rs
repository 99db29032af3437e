//! `beian log`: verify a published register log from outside, and witness it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use beian_tlog::note::LogSigner;
use beian_tlog::verify::{self, Fetch, Verified};

/// Transparency-log tools for monitors, journalists and witnesses.
///
/// `verify` fetches the signed checkpoint, checks its Ed25519 signature,
/// fetches every entry bundle and hash tile (C2SP tlog-tiles), recomputes
/// the RFC 6962 tree and compares the root; with `--state` it also checks
/// that the log extends the checkpoint it saw last (recomputed, and by the
/// server's consistency proof) and then remembers the new one. It also
/// compares the register the server publishes with the register the log
/// commits to. Exit 0: consistent; 1: any mismatch.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  beian log verify --url http://127.0.0.1:8080
  beian log verify --url https://register.example --state ~/.beian-log-state.json
  beian log verify --url http://127.0.0.1:8080 --vkey 'beian.localhost/register+1a2b3c4d+AR...'
  beian log verify --url http://127.0.0.1:8080 --witness-key 'beian-witness+5e6f7a8b+BP...'
  beian log witness --url http://127.0.0.1:8080 --state witness.json --key witness.key --once --submit
  beian log witness --url http://127.0.0.1:8080 --state witness.json --key witness.key --interval 60
  beian log witness --url http://127.0.0.1:8080 --state witness.json --key witness.key --once --out cosigned.txt")]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Verify the log at URL once (exit 0: consistent, 1: mismatch).
    Verify(VerifyArgs),
    /// Verify on a schedule and co-sign each consistent checkpoint
    /// (C2SP tlog-cosignature/v1: timestamped Ed25519, signature type 0x04).
    Witness(WitnessArgs),
    /// Measure the log's own costs (benchmarks/log-bench.sh).
    #[command(hide = true)]
    Bench {
        /// Entries to append.
        #[arg(long, default_value_t = 100_000)]
        entries: usize,
        /// Checkpoints to sign.
        #[arg(long, default_value_t = 2_000)]
        signatures: usize,
        /// Instead: seconds of sequential register queries over HTTP (an
        /// in-process server over this many seeded rows) while this process
        /// approves filings; reports the readers' latency after each write.
        #[arg(long)]
        tail_seconds: Option<u64>,
        /// Approvals during the tail measurement.
        #[arg(long, default_value_t = 10)]
        tail_writes: usize,
    },
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Server base URL (the log is under <URL>/log/).
    #[arg(long)]
    pub url: String,
    /// State file: the verifier key and the last checkpoint seen (JSON).
    /// Created on first use; the new checkpoint is saved after success.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// The log's verifier key (`<name>+<hex id>+<base64>`). Default: the
    /// key in --state, else the server's /log/vkey (trust on first use).
    #[arg(long)]
    pub vkey: Option<String>,
    /// Skip comparing the published register (/api/v1/register.csv) with the log.
    #[arg(long)]
    pub no_register_check: bool,
    /// Require a valid C2SP tlog-cosignature/v1 by this witness
    /// (`<name>+<hex id>+<base64(0x04 ‖ key)>`) on the checkpoint, or on
    /// the newest co-signed checkpoint (/log/witnessed), which the verified
    /// log must then extend. Repeatable: every key is required.
    #[arg(long = "witness-key", value_name = "VKEY")]
    pub witness_keys: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(clap::Args)]
pub struct WitnessArgs {
    #[command(flatten)]
    pub verify: VerifyArgs,
    /// The witness's signing key file (created with name --name if missing).
    #[arg(long)]
    pub key: PathBuf,
    /// Witness key name (when creating the key).
    #[arg(long, default_value = "beian-witness")]
    pub name: String,
    /// Seconds between checks.
    #[arg(long, default_value_t = 60)]
    pub interval: u64,
    /// Check once and exit.
    #[arg(long)]
    pub once: bool,
    /// Write each co-signed checkpoint here (default: <state>.cosigned, or ./cosigned-checkpoint).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also hand each co-signed checkpoint to the log (POST <URL>/log/cosignatures),
    /// which serves it to verifiers when started with --witness-key for this witness.
    #[arg(long)]
    pub submit: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct State {
    vkey: Option<String>,
    checkpoint: Option<String>,
}

struct Http {
    client: reqwest::Client,
    base: String,
}

impl Fetch for Http {
    fn get(
        &self,
        path: &str,
    ) -> impl std::future::Future<Output = Result<Option<Vec<u8>>, String>> + Send {
        let url = format!("{}/log/{path}", self.base);
        let client = self.client.clone();
        async move {
            // A public server rate-limits anonymous reads: wait as told (429).
            let mut tries = 0;
            let r = loop {
                let r = client.get(&url).send().await.map_err(|e| e.to_string())?;
                if r.status() != reqwest::StatusCode::TOO_MANY_REQUESTS || tries >= 20 {
                    break r;
                }
                tries += 1;
                let wait = r
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1)
                    .clamp(1, 60);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            };
            if r.status() == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !r.status().is_success() {
                let st = r.status();
                let body = r.text().await.unwrap_or_default();
                return Err(format!(
                    "HTTP {st}: {}",
                    body.chars().take(300).collect::<String>()
                ));
            }
            r.bytes()
                .await
                .map(|b| Some(b.to_vec()))
                .map_err(|e| e.to_string())
        }
    }
}

fn read_state(path: Option<&Path>) -> anyhow::Result<State> {
    match path {
        Some(p) if p.exists() => {
            let s =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_str(&s)
                .with_context(|| format!("{}: not a log state file", p.display()))
        }
        _ => Ok(State::default()),
    }
}

fn write_state(path: &Path, st: &State) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(st)? + "\n")
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// One verification; returns what it saw (the state is saved by the caller).
async fn verify_once(
    a: &VerifyArgs,
    http: &Http,
) -> anyhow::Result<(Verified, String, Vec<String>)> {
    let st = read_state(a.state.as_deref())?;
    let vkey = match (&a.vkey, &st.vkey) {
        (Some(k), Some(s)) if k.trim() != s.trim() => {
            anyhow::bail!(
                "--vkey differs from the key in the state file; refusing (a new key is a new log)"
            )
        }
        (Some(k), _) => k.trim().to_string(),
        (None, Some(s)) => s.clone(),
        (None, None) => {
            let b = http
                .get("vkey")
                .await
                .map_err(|e| anyhow::anyhow!("fetching {}/log/vkey: {e}", http.base))?
                .ok_or_else(|| anyhow::anyhow!("{}/log/vkey: not found", http.base))?;
            String::from_utf8(b)
                .context("vkey is not UTF-8")?
                .trim()
                .to_string()
        }
    };
    let v = verify::verify_log(http, &vkey, st.checkpoint.as_deref()).await?;
    if !a.witness_keys.is_empty() {
        witness_check(http, &v, &vkey, &a.witness_keys).await?;
    }
    let mut problems = Vec::new();
    if !a.no_register_check {
        problems = register_check(http, &v).await?;
    }
    Ok((v, vkey, problems))
}

/// Every required witness must have co-signed the served checkpoint, or the
/// newest co-signed one (`/log/witnessed`), which must be a checkpoint of
/// this log that the verified tree extends.
async fn witness_check(
    http: &Http,
    v: &Verified,
    vkey: &str,
    keys: &[String],
) -> anyhow::Result<()> {
    use beian_tlog::note;
    let all = |n: &str| -> anyhow::Result<Vec<String>> {
        let mut missing = Vec::new();
        for k in keys {
            if note::cosignature_time(n, k)
                .with_context(|| format!("--witness-key {k}"))?
                .is_none()
            {
                missing.push(k.clone());
            }
        }
        Ok(missing)
    };
    if all(&v.note)?.is_empty() {
        return Ok(());
    }
    let w = http
        .get("witnessed")
        .await
        .map_err(|e| anyhow::anyhow!("fetching {}/log/witnessed: {e}", http.base))?;
    let Some(w) = w else {
        anyhow::bail!(
            "no checkpoint co-signed by the required witnesses (checkpoint lacks it, /log/witnessed: not found)"
        );
    };
    let w = String::from_utf8(w).context("/log/witnessed is not UTF-8")?;
    let cp = note::open_checkpoint(&w, vkey).context("/log/witnessed")?;
    let missing = all(&w)?;
    anyhow::ensure!(
        missing.is_empty(),
        "missing or bad cosignature by witness {} (on the checkpoint of size {} and on /log/witnessed)",
        missing.join(", "),
        cp.size
    );
    anyhow::ensure!(
        cp.size <= v.checkpoint.size && v.tree.root_at(cp.size).ok() == Some(cp.root),
        "the co-signed checkpoint (size {}) is not a prefix of the verified log (size {}): the witnesses saw another history",
        cp.size,
        v.checkpoint.size
    );
    Ok(())
}

/// Compares the published register (CSV export) with the register rows the
/// log commits to (latest state of each, active ones).
async fn register_check(http: &Http, v: &Verified) -> anyhow::Result<Vec<String>> {
    let mut want: BTreeMap<String, [String; 5]> = BTreeMap::new();
    for e in &v.entries {
        let Ok(j) = serde_json::from_slice::<serde_json::Value>(e) else {
            continue;
        };
        for s in j["state"].as_array().into_iter().flatten() {
            if s["table"] != "register" {
                continue;
            }
            let r = &s["row"];
            let key = s["key"].as_str().unwrap_or_default().to_string();
            if r["status"] == "active" {
                let f = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                want.insert(
                    key,
                    [
                        f("name"),
                        f("provider"),
                        f("kind"),
                        f("province"),
                        f("date"),
                    ],
                );
            } else {
                want.remove(&key);
            }
        }
    }
    let url = format!("{}/api/v1/register.csv", http.base);
    let r = http
        .client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("fetching {url}"))?;
    anyhow::ensure!(r.status().is_success(), "{url}: HTTP {}", r.status());
    let body = r.bytes().await?;
    let body = body
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(&body);
    let mut rd = csv::Reader::from_reader(body);
    // CSV cells that would start a formula are served with a leading "'".
    let clean = |s: &str| -> String {
        match s.strip_prefix('\'') {
            Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_string(),
            _ => s.to_string(),
        }
    };
    let mut got: BTreeMap<String, [String; 5]> = BTreeMap::new();
    for rec in rd.records() {
        let rec = rec.context("register.csv")?;
        let c = |i: usize| clean(rec.get(i).unwrap_or_default());
        got.insert(c(2), [c(0), c(1), c(3), c(4), c(5)]);
    }
    let mut problems = Vec::new();
    for (k, w) in &want {
        match got.get(k) {
            None => problems.push(format!(
                "register entry {k} is in the log but not published"
            )),
            Some(g) if g != w => problems.push(format!(
                "register entry {k}: published {g:?}, the log says {w:?}"
            )),
            _ => {}
        }
    }
    for k in got.keys() {
        if !want.contains_key(k) {
            problems.push(format!(
                "register entry {k} is published but not in the log"
            ));
        }
    }
    Ok(problems)
}

fn client() -> anyhow::Result<reqwest::Client> {
    // rustls needs a process-wide crypto provider; an error only means one is set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .context("building the HTTP client")
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        match args.command {
            Command::Verify(a) => {
                let http = Http {
                    client: client()?,
                    base: a.url.trim_end_matches('/').to_string(),
                };
                Ok(report(&a, verify_once(&a, &http).await, None, None).await)
            }
            Command::Bench {
                entries,
                tail_seconds: Some(secs),
                tail_writes,
                ..
            } => tail_bench(entries, secs, tail_writes).await,
            Command::Bench {
                entries,
                signatures,
                ..
            } => bench(entries, signatures),
            Command::Witness(w) => {
                let http = Http {
                    client: client()?,
                    base: w.verify.url.trim_end_matches('/').to_string(),
                };
                let key = LogSigner::load_or_create(&w.key, &w.name)
                    .with_context(|| format!("witness key {}", w.key.display()))?;
                let out = w.out.clone().unwrap_or_else(|| match &w.verify.state {
                    Some(s) => s.with_extension("cosigned"),
                    None => PathBuf::from("cosigned-checkpoint"),
                });
                loop {
                    let code = report(
                        &w.verify,
                        verify_once(&w.verify, &http).await,
                        Some((&key, &out)),
                        Some((&http, w.submit)),
                    )
                    .await;
                    if w.once || code != ExitCode::SUCCESS {
                        return Ok(code);
                    }
                    tokio::time::sleep(Duration::from_secs(w.interval.max(1))).await;
                }
            }
        }
    })
}

/// Prints the outcome, saves state (and a cosignature) on success.
async fn report(
    a: &VerifyArgs,
    res: anyhow::Result<(Verified, String, Vec<String>)>,
    witness: Option<(&LogSigner, &PathBuf)>,
    submit: Option<(&Http, bool)>,
) -> ExitCode {
    let out = |ok: bool, j: serde_json::Value, text: String| {
        if a.format == Format::Json {
            println!("{j}");
        } else if ok {
            println!("{text}");
        } else {
            eprintln!("{text}");
        }
    };
    match res {
        Err(e) => {
            out(
                false,
                serde_json::json!({"ok": false, "error": format!("{e:#}")}),
                format!("log verification FAILED: {e:#}"),
            );
            ExitCode::from(1)
        }
        Ok((_, _, problems)) if !problems.is_empty() => {
            let mut t = format!(
                "log verification FAILED: the published register differs from the log ({} differences)",
                problems.len()
            );
            for p in problems.iter().take(20) {
                t.push_str(&format!("\n  {p}"));
            }
            out(
                false,
                serde_json::json!({"ok": false, "error": "register differs from the log", "problems": problems}),
                t,
            );
            ExitCode::from(1)
        }
        Ok((v, vkey, _)) => {
            let mut cosigned = None;
            let cosigner_vkey = witness.map(|(k, _)| k.cosigner().vkey().to_string());
            if let Some((k, path)) = witness {
                match k.cosign(&v.note) {
                    Ok(n) => {
                        if let Some((http, true)) = submit
                            && let Err(e) = submit_cosigned(http, &n).await
                        {
                            out(
                                false,
                                serde_json::json!({"ok": false, "error": format!("{e:#}")}),
                                format!("handing the cosignature to the log: {e:#}"),
                            );
                            return ExitCode::from(1);
                        }
                        if let Err(e) = std::fs::write(path, &n) {
                            out(
                                false,
                                serde_json::json!({"ok": false, "error": e.to_string()}),
                                format!("writing {}: {e}", path.display()),
                            );
                            return ExitCode::from(1);
                        }
                        cosigned = Some(path.display().to_string());
                    }
                    Err(e) => {
                        out(
                            false,
                            serde_json::json!({"ok": false, "error": e.to_string()}),
                            format!("co-signing: {e}"),
                        );
                        return ExitCode::from(1);
                    }
                }
            }
            if let Some(p) = &a.state {
                let st = State {
                    vkey: Some(vkey.clone()),
                    checkpoint: Some(v.note.clone()),
                };
                if let Err(e) = write_state(p, &st) {
                    out(
                        false,
                        serde_json::json!({"ok": false, "error": format!("{e:#}")}),
                        format!("{e:#}"),
                    );
                    return ExitCode::from(1);
                }
            }
            let root = base64_root(&v.checkpoint.root);
            out(
                true,
                serde_json::json!({"ok": true, "origin": v.checkpoint.origin, "size": v.checkpoint.size, "root": root,
                    "tiles_checked": v.tiles_checked, "vkey": vkey, "cosigned": cosigned,
                    "cosigner_vkey": cosigner_vkey}),
                format!(
                    "log consistent: {} entries, root {root}, {} tiles checked, signed by {}{}",
                    v.checkpoint.size,
                    v.tiles_checked,
                    v.checkpoint.origin,
                    cosigned
                        .map(|c| format!(
                            "; co-signed (tlog-cosignature/v1) checkpoint written to {c}, witness key {}",
                            cosigner_vkey.as_deref().unwrap_or_default()
                        ))
                        .unwrap_or_default()
                ),
            );
            ExitCode::SUCCESS
        }
    }
}

/// Hands a co-signed checkpoint to the log (POST /log/cosignatures).
async fn submit_cosigned(http: &Http, note: &str) -> anyhow::Result<()> {
    let url = format!("{}/log/cosignatures", http.base);
    let r = http
        .client
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(note.to_string())
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let st = r.status();
    let body = r.text().await.unwrap_or_default();
    anyhow::ensure!(
        st.is_success(),
        "POST {url}: HTTP {st}: {}",
        body.chars().take(300).collect::<String>()
    );
    Ok(())
}

fn base64_root(h: &beian_tlog::Hash) -> String {
    verify::encode_proof(std::slice::from_ref(h)).remove(0)
}

/// Appending, root, proofs and signing, each against a named floor in the
/// same run: SHA-256 of the same bytes (hashing floor) and a bare Ed25519
/// signature (signing floor). Prints Markdown rows.
fn bench(n: usize, sigs: usize) -> anyhow::Result<ExitCode> {
    use std::time::Instant;
    let entries: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            serde_json::json!({"v": 1, "kind": "register.seed", "at": "2026-12-04T00:00:00.000Z", "actor": "system",
                "state": [{"table": "register", "key": format!("Beijing-SynthModel{i}-202501010001"),
                "row": {"name": format!("合成服务{i}号模型"), "provider": format!("测试科技有限公司{}", i % 5000), "status": "active"}}]})
            .to_string()
            .into_bytes()
        })
        .collect();
    // floor: one SHA-256 per entry
    let t = Instant::now();
    let mut acc = 0u8;
    for e in &entries {
        acc ^= beian_tlog::merkle::leaf_hash(e)[0];
    }
    let floor = t.elapsed();
    let t = Instant::now();
    let mut tree = beian_tlog::Tree::new();
    for e in &entries {
        tree.push(e);
    }
    let append = t.elapsed();
    let t = Instant::now();
    let root = tree.root();
    let root_t = t.elapsed();
    let t = Instant::now();
    let k = 1000.min(n as u64);
    for i in 0..k {
        let _ = tree.inclusion_proof(i * (n as u64 / k), n as u64);
    }
    let incl = t.elapsed() / k as u32;
    let key = LogSigner::generate("bench.example/log")?;
    let mut lat = Vec::with_capacity(sigs);
    for i in 0..sigs {
        let cp = beian_tlog::Checkpoint {
            origin: "bench.example/log".into(),
            size: n as u64 + i as u64,
            root,
        };
        let t = Instant::now();
        let _ = key.sign(&cp)?;
        lat.push(t.elapsed());
    }
    lat.sort();
    let sk = LogSigner::generate("floor")?.raw_signer();
    let mut bare = Vec::with_capacity(sigs);
    for i in 0..sigs {
        let msg = format!("bench.example/log\n{}\nAAAA\n", n + i);
        let t = Instant::now();
        let _ = sk(msg.as_bytes());
        bare.push(t.elapsed());
    }
    bare.sort();
    let p = |v: &[std::time::Duration], q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    println!(
        "| in-memory tree: append {n} entries | {:.1} ms | {:.0} entries/s | SHA-256 of the same entries: {:.1} ms ({:.2}x) |",
        append.as_secs_f64() * 1e3,
        n as f64 / append.as_secs_f64(),
        floor.as_secs_f64() * 1e3,
        append.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "| root of {n} entries (from stored subtrees) | {:.1} µs | | |",
        root_t.as_secs_f64() * 1e6
    );
    println!(
        "| inclusion proof in {n} entries | {:.1} µs | | |",
        incl.as_secs_f64() * 1e6
    );
    println!(
        "| checkpoint signing (signed note, Ed25519) p50 / p99 | {:.1} / {:.1} µs | | bare Ed25519 signature p50 {:.1} µs ({:.2}x) |",
        p(&lat, 0.5).as_secs_f64() * 1e6,
        p(&lat, 0.99).as_secs_f64() * 1e6,
        p(&bare, 0.5).as_secs_f64() * 1e6,
        p(&lat, 0.5).as_secs_f64() / p(&bare, 0.5).as_secs_f64()
    );
    std::hint::black_box(acc);
    Ok(ExitCode::SUCCESS)
}

/// Readers' latency around this process's own register writes: a server in
/// this process over `rows` seeded register rows, one client sending
/// sequential distinct Chinese queries with a province filter for `secs`
/// seconds, while the store approves `writes` filings (each rebuilds the
/// register snapshot off to the side). Prints Markdown rows.
async fn tail_bench(rows: usize, secs: u64, writes: usize) -> anyhow::Result<ExitCode> {
    use beian_registry::*;
    use std::time::Instant;
    let tmp = std::env::temp_dir().join(format!("beian-tail-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let store = Store::open_data_dir(&tmp).await?;
    store.seed_register(rows).await?;
    let user = |name: &str, role, org, prov: Option<&str>| NewUser {
        username: name.into(),
        password: "correct horse battery staple 9".into(),
        role,
        org_id: org,
        province: prov.map(str::to_string),
    };
    let national = store
        .create_user(None, user("national", Role::NationalReviewer, None, None))
        .await?;
    let org = store
        .create_organisation(
            Some(&national),
            NewOrganisation {
                uscc: uscc::complete("91110108MA01ABCDE").context("uscc")?,
                name: "北京甲科技有限公司".into(),
                kind: OrgKind::Provider,
                province: "北京市".into(),
                division_code: None,
                legal_representative: "张三".into(),
                security_officer: "李四".into(),
                assessment_lead: "王五".into(),
            },
        )
        .await?;
    let editor = store
        .create_user(
            Some(&national),
            user("editor", Role::ProviderEditor, Some(org.id), None),
        )
        .await?;
    let rev = store
        .create_user(
            Some(&national),
            user("rev", Role::ProvincialReviewer, None, Some("北京市")),
        )
        .await?;
    let service = store
        .create_service(
            &editor,
            NewService {
                name: "甲助手".into(),
                profile: serde_json::json!({"name": "甲助手", "public_facing": true, "generative": true, "public_opinion_attributes": true, "model_source": "self-developed"}),
                launched_on: Some("2025-01-02".into()),
                stopped_on: None,
                org_id: None,
            },
        )
        .await?;
    let kb = beian_kb::Kb::embedded()?;
    let mut pending = Vec::new();
    for i in 0..writes {
        let f = store
            .create_filing(
                &editor,
                NewFiling {
                    kind: FilingKind::GenaiFiling,
                    name: format!("尾延迟测试模型{i}"),
                    name_latin: None,
                    service_id: Some(service.id),
                    province: None,
                    form: serde_json::json!({}),
                    org_id: None,
                },
            )
            .await?;
        for (kind, fname, ct, bytes) in precheck::fixtures::complete(&kb, FilingKind::GenaiFiling) {
            store
                .add_attachment(&editor, f.id, kind, &fname, &ct, &bytes)
                .await?;
        }
        for (who, a) in [
            (&editor, Action::Submit),
            (&rev, Action::StartReview),
            (&rev, Action::Approve),
        ] {
            store.act(who, f.id, a, Some("ok".into())).await?;
        }
        pending.push(f.id);
    }
    let mut state = beian_server::AppState::new(store);
    let d = beian_server::limits::Limits::default();
    state.limits = std::sync::Arc::new(beian_server::limits::Limits::new(
        beian_server::limits::Rate::OFF,
        beian_server::limits::Rate::OFF,
        d.login_ip,
        d.login_global,
    ));
    let store = state.store.clone();
    store.register_search(&RegisterQuery::default()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(beian_server::serve(listener, state, async {
        let _ = stop_rx.await;
    }));
    let start = Instant::now();
    let dur = Duration::from_secs(secs);
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut done = Vec::new();
            let gap = dur / (pending.len() as u32 + 1);
            for id in pending {
                tokio::time::sleep(gap).await;
                let t = Instant::now();
                let at = start.elapsed();
                if store
                    .act(&national, id, Action::Approve, Some("ok".into()))
                    .await
                    .is_ok()
                {
                    done.push((at, t.elapsed()));
                }
            }
            done
        })
    };
    let client = client()?;
    let provs = ["北京", "上海", "广东", "浙江"];
    let mut lat: Vec<(Duration, Duration)> = Vec::new();
    let mut n = 0usize;
    while start.elapsed() < dur {
        n += 1;
        let url = format!(
            "http://{addr}/api/v1/register?q=合成服务{}&province={}",
            (n * 31) % rows.max(1),
            provs[n % 4]
        );
        let at = start.elapsed();
        let t = Instant::now();
        let r = client.get(&url).send().await?;
        anyhow::ensure!(r.status().is_success(), "{url}: HTTP {}", r.status());
        let _ = r.bytes().await?;
        lat.push((at, t.elapsed()));
    }
    let done = writer.await?;
    let _ = stop_tx.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&tmp);
    let mut all: Vec<Duration> = lat.iter().map(|(_, l)| *l).collect();
    all.sort();
    let q = |v: &[Duration], p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    // readers that started within 2 s after a write began
    let mut after: Vec<Duration> = lat
        .iter()
        .filter(|(at, _)| {
            done.iter()
                .any(|(w, _)| *at >= *w && *at < *w + Duration::from_secs(2))
        })
        .map(|(_, l)| *l)
        .collect();
    after.sort();
    let mut wl: Vec<Duration> = done.iter().map(|(_, l)| *l).collect();
    wl.sort();
    println!(
        "| sequential distinct zh+province queries over {rows} rows, {secs} s, {} approvals by this process | {} requests | p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms | within 2 s after a write: {} requests, p99 {:.2} ms, max {:.1} ms; the approvals themselves (commit + signed checkpoint + snapshot rebuild): p50 {:.0} ms, max {:.0} ms |",
        done.len(),
        all.len(),
        ms(q(&all, 0.5)),
        ms(q(&all, 0.99)),
        ms(*all.last().unwrap_or(&Duration::ZERO)),
        after.len(),
        if after.is_empty() {
            0.0
        } else {
            ms(q(&after, 0.99))
        },
        ms(after.last().copied().unwrap_or_default()),
        if wl.is_empty() { 0.0 } else { ms(q(&wl, 0.5)) },
        ms(wl.last().copied().unwrap_or_default()),
    );
    Ok(ExitCode::SUCCESS)
}
