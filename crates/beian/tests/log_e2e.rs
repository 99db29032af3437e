//! The transparency log end to end: a registry with every kind of entry,
//! `beian serve` over real HTTP on loopback, an independent verifier (our
//! own code here: manual note parsing, Ed25519 via ed25519-dalek, RFC 6962
//! via ct-merkle; none of beian-tlog) of the tiles, the root and the
//! signature, inclusion proofs of every entry kind, a consistency proof
//! across an approval, `beian log verify` and `beian audit verify`; then
//! the database is tampered with in many ways and both must fail each time.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use beian_registry::*;
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use serde_json::{Value, json};
use sha2_011::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_beian");
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/registry");

/// A way to tamper with a copied data directory.
type Tamper = Box<dyn Fn(&Path)>;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[String]) -> Server {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("BEIAN_LOG_KEY")
        .env_remove("BEIAN_LOG_KEY_FILE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn beian serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = loop {
        assert!(Instant::now() < deadline, "server did not start");
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(rest) = l.split("listening on http://").nth(1) {
                    break rest.split_whitespace().next().unwrap().to_string();
                }
            }
            _ => panic!("server exited before listening"),
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        base: format!("http://{addr}"),
    }
}

fn get(base: &str, path: &str) -> (u16, Vec<u8>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .get(format!("{base}{path}"))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .unwrap();
        let st = r.status().as_u16();
        (st, r.bytes().await.unwrap().to_vec())
    })
}

fn post(base: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let st = r.status().as_u16();
        let b = r.bytes().await.unwrap();
        (st, serde_json::from_slice(&b).unwrap_or(Value::Null))
    })
}

fn ok_json(base: &str, path: &str) -> Value {
    let (st, b) = get(base, path);
    assert_eq!(st, 200, "{path}: {}", String::from_utf8_lossy(&b));
    serde_json::from_slice(&b).unwrap()
}

// ------------------------------------------------------------------ independent verifier

fn sha(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Checks the signed note with the verifier key by hand (C2SP signed-note):
/// returns (origin, size, root).
fn check_note(note: &str, vkey: &str) -> (String, u64, [u8; 32]) {
    let mut vk = vkey.trim().splitn(3, '+');
    let (name, id_hex, key_b64) = (vk.next().unwrap(), vk.next().unwrap(), vk.next().unwrap());
    let key = B64.decode(key_b64).unwrap();
    assert_eq!(key.len(), 33);
    assert_eq!(key[0], 1, "Ed25519 type byte");
    let id = sha(&[name.as_bytes(), b"\n", &key]);
    assert_eq!(
        hex4(&id[..4]),
        id_hex,
        "key id = SHA-256(name || \\n || 0x01 || key)[:4]"
    );
    let (text, sigs) = note
        .split_once("\n\n")
        .expect("blank line before signatures");
    let text = format!("{text}\n");
    let pk = ed25519_dalek::VerifyingKey::from_bytes(&key[1..].try_into().unwrap()).unwrap();
    let mut verified = false;
    for line in sigs.lines() {
        let rest = line.strip_prefix("\u{2014} ").expect("signature line");
        let (n, b) = rest.split_once(' ').unwrap();
        let raw = B64.decode(b).unwrap();
        if n == name && raw[..4] == id[..4] {
            let sig = ed25519_dalek::Signature::from_slice(&raw[4..]).unwrap();
            pk.verify_strict(text.as_bytes(), &sig)
                .expect("signature verifies");
            verified = true;
        }
    }
    assert!(verified, "no signature by the log key");
    let mut l = text.lines();
    let origin = l.next().unwrap().to_string();
    assert_eq!(origin, name);
    let size: u64 = l.next().unwrap().parse().unwrap();
    let root: [u8; 32] = B64.decode(l.next().unwrap()).unwrap().try_into().unwrap();
    (origin, size, root)
}

/// Checks a witness's C2SP tlog-cosignature/v1 by hand: key id
/// SHA-256(name || \n || 0x04 || key)[:4], signature = 8-byte big-endian
/// time || Ed25519 over "cosignature/v1\ntime <T>\n" || note body.
/// Returns the time.
fn check_cosignature(note: &str, vkey: &str) -> u64 {
    let mut vk = vkey.trim().splitn(3, '+');
    let (name, id_hex, key_b64) = (vk.next().unwrap(), vk.next().unwrap(), vk.next().unwrap());
    let key = B64.decode(key_b64).unwrap();
    assert_eq!(key.len(), 33);
    assert_eq!(key[0], 4, "cosignature/v1 type byte");
    let id = sha(&[name.as_bytes(), b"\n", &key]);
    assert_eq!(hex4(&id[..4]), id_hex);
    let (text, sigs) = note.rsplit_once("\n\n").unwrap();
    let pk = ed25519_dalek::VerifyingKey::from_bytes(&key[1..].try_into().unwrap()).unwrap();
    for line in sigs.lines() {
        let rest = line.strip_prefix("\u{2014} ").expect("signature line");
        let (n, b) = rest.split_once(' ').unwrap();
        let raw = B64.decode(b).unwrap();
        if n == name && raw[..4] == id[..4] {
            assert_eq!(raw.len(), 4 + 8 + 64);
            let t = u64::from_be_bytes(raw[4..12].try_into().unwrap());
            let msg = format!("cosignature/v1\ntime {t}\n{text}\n");
            let sig = ed25519_dalek::Signature::from_slice(&raw[12..]).unwrap();
            pk.verify_strict(msg.as_bytes(), &sig)
                .expect("cosignature verifies");
            return t;
        }
    }
    panic!("no cosignature by {vkey}");
}

fn hex4(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn idx_path(mut n: u64) -> String {
    let mut s = format!("{:03}", n % 1000);
    while n >= 1000 {
        n /= 1000;
        s = format!("x{:03}/{s}", n % 1000);
    }
    s
}

struct Seen {
    vkey: String,
    size: u64,
    root: [u8; 32],
    entries: Vec<Vec<u8>>,
}

/// Fetches and checks the whole log without beian-tlog.
fn independent(base: &str) -> Seen {
    let (st, vkey) = get(base, "/log/vkey");
    assert_eq!(st, 200);
    let vkey = String::from_utf8(vkey).unwrap().trim().to_string();
    let (st, note) = get(base, "/log/checkpoint");
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&note));
    let (_, size, root) = check_note(&String::from_utf8(note).unwrap(), &vkey);
    let mut entries = Vec::new();
    for i in 0..size.div_ceil(256) {
        let w = (size - i * 256).min(256);
        let p = if w == 256 {
            String::new()
        } else {
            format!(".p/{w}")
        };
        let (st, b) = get(base, &format!("/log/tile/entries/{}{p}", idx_path(i)));
        assert_eq!(st, 200);
        let mut b = b.as_slice();
        while !b.is_empty() {
            let len = u16::from_be_bytes([b[0], b[1]]) as usize;
            entries.push(b[2..2 + len].to_vec());
            b = &b[2 + len..];
        }
    }
    assert_eq!(entries.len() as u64, size);
    let mut t: MemoryBackedTree<Sha256, Vec<u8>> = MemoryBackedTree::new();
    for e in &entries {
        t.push(e.clone());
    }
    assert_eq!(
        t.root().as_bytes().as_slice(),
        root.as_slice(),
        "root recomputed with ct-merkle"
    );
    // level-0 tiles: leaf hashes; level-1 tiles: roots of 256-leaf subtrees
    let leaves: Vec<[u8; 32]> = entries.iter().map(|e| sha(&[&[0u8], e])).collect();
    for i in 0..size.div_ceil(256) {
        let w = (size - i * 256).min(256);
        let p = if w == 256 {
            String::new()
        } else {
            format!(".p/{w}")
        };
        let (st, b) = get(base, &format!("/log/tile/0/{}{p}", idx_path(i)));
        assert_eq!(st, 200);
        let want: Vec<u8> = leaves[(i * 256) as usize..(i * 256 + w) as usize].concat();
        assert_eq!(b, want, "tile 0/{i}");
    }
    if size >= 256 {
        let w = size / 256;
        let p = if w == 256 {
            String::new()
        } else {
            format!(".p/{}", w.min(255))
        };
        let (st, b) = get(base, &format!("/log/tile/1/000{p}"));
        assert_eq!(st, 200);
        for j in 0..w.min(255) as usize {
            let mut sub: MemoryBackedTree<Sha256, Vec<u8>> = MemoryBackedTree::new();
            for e in &entries[j * 256..(j + 1) * 256] {
                sub.push(e.clone());
            }
            assert_eq!(
                &b[j * 32..(j + 1) * 32],
                sub.root().as_bytes().as_slice(),
                "tile 1/000 hash {j}"
            );
        }
    }
    // a tile beyond the tree is 404, a malformed path 400
    assert_eq!(
        get(base, &format!("/log/tile/0/{}", idx_path(size / 256 + 5))).0,
        404
    );
    assert_eq!(get(base, "/log/tile/0/1234").0, 400);
    Seen {
        vkey,
        size,
        root,
        entries,
    }
}

fn decode_proof(v: &Value) -> Vec<u8> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|h| B64.decode(h.as_str().unwrap()).unwrap())
        .collect()
}

fn check_inclusion(seen: &Seen, index: u64, proof: &Value) {
    let root = RootHash::<Sha256>::new(seen.root.into(), seen.size);
    let p = InclusionProof::<Sha256>::from_bytes(decode_proof(proof));
    root.verify_inclusion(&seen.entries[index as usize], index, &p)
        .unwrap_or_else(|e| panic!("inclusion of {index}: {e:?}"));
}

// ------------------------------------------------------------------ the registry

struct World {
    national_token: String,
    pending: i64,
    numbers: BTreeMap<&'static str, String>,
}

fn nu(name: &str, role: Role, org: Option<i64>, prov: Option<&str>) -> NewUser {
    NewUser {
        username: name.into(),
        password: "correct horse battery staple 9".into(),
        role,
        org_id: org,
        province: prov.map(str::to_string),
    }
}

async fn filing_to(
    s: &Store,
    u: &BTreeMap<&str, User>,
    service: i64,
    name: &str,
    steps: &[(&str, Action)],
) -> Filing {
    let f = s
        .create_filing(
            &u["editor"],
            NewFiling {
                kind: FilingKind::GenaiFiling,
                name: name.into(),
                name_latin: None,
                service_id: Some(service),
                province: None,
                form: json!({}),
                org_id: None,
            },
        )
        .await
        .unwrap();
    let kb = beian_kb::Kb::embedded().unwrap();
    for (kind, fname, ct, bytes) in precheck::fixtures::complete(&kb, FilingKind::GenaiFiling) {
        s.add_attachment(&u["editor"], f.id, kind, &fname, &ct, &bytes)
            .await
            .unwrap();
    }
    for (who, a) in steps {
        s.act(&u[*who], f.id, *a, Some("ok".into())).await.unwrap();
    }
    s.get_filing(Some(&u["auditor"]), f.id).await.unwrap()
}

async fn build_world(s: &Store) -> World {
    let national = s
        .create_user(None, nu("national", Role::NationalReviewer, None, None))
        .await
        .unwrap();
    let org = s
        .create_organisation(
            Some(&national),
            NewOrganisation {
                uscc: uscc::complete("91110108MA01ABCDE").unwrap(),
                name: "北京甲科技有限公司".into(),
                kind: OrgKind::Provider,
                province: "北京市".into(),
                division_code: None,
                legal_representative: "张三".into(),
                security_officer: "李四".into(),
                assessment_lead: "王五".into(),
            },
        )
        .await
        .unwrap();
    let mut u: BTreeMap<&str, User> = BTreeMap::new();
    u.insert("national", national.clone());
    for (k, role, o, p) in [
        ("editor", Role::ProviderEditor, Some(org.id), None),
        ("admin", Role::ProviderAdmin, Some(org.id), None),
        ("rev", Role::ProvincialReviewer, None, Some("北京市")),
        ("auditor", Role::Auditor, None, None),
    ] {
        u.insert(
            k,
            s.create_user(Some(&national), nu(k, role, o, p))
                .await
                .unwrap(),
        );
    }
    let service = s
        .create_service(&u["editor"], NewService { name: "甲助手".into(), profile: json!({"name": "甲助手", "public_facing": true, "generative": true, "public_opinion_attributes": true, "model_source": "self-developed"}), launched_on: Some("2025-01-02".into()), stopped_on: None, org_id: None })
        .await
        .unwrap();
    // imported
    let p = import::parse_file(Path::new(&format!("{DATA}/genai-2025-03.csv"))).unwrap();
    let sum = s.import(&p, "test").await.unwrap();
    assert!(sum.inserted > 30);
    let approve = [
        ("editor", Action::Submit),
        ("rev", Action::StartReview),
        ("rev", Action::Approve),
        ("national", Action::Approve),
    ];
    // approved, then changed
    let f1 = filing_to(s, &u, service.id, "甲大模型", &approve).await;
    let changed = f1.number.clone().unwrap();
    let c = s
        .create_change(
            &u["editor"],
            f1.id,
            FilingPatch {
                name: Some("甲大模型二代".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let kb = beian_kb::Kb::embedded().unwrap();
    for (kind, fname, ct, bytes) in precheck::fixtures::complete(&kb, FilingKind::GenaiFiling) {
        s.add_attachment(&u["editor"], c.id, kind, &fname, &ct, &bytes)
            .await
            .unwrap();
    }
    for (who, a) in approve {
        s.act(&u[who], c.id, a, Some("ok".into())).await.unwrap();
    }
    // approved, then cancelled
    let f2 = filing_to(s, &u, service.id, "甲画图", &approve).await;
    let cancelled = f2.number.clone().unwrap();
    s.act(&u["admin"], f2.id, Action::Cancel, Some("停止服务".into()))
        .await
        .unwrap();
    // approved and left
    let f3 = filing_to(s, &u, service.id, "甲写作", &approve).await;
    // waiting for the national reviewer (approved over HTTP later)
    let f4 = filing_to(s, &u, service.id, "甲翻译", &approve[..3]).await;
    // a sign-in, a restricted read
    s.login("auditor", "correct horse battery staple 9")
        .await
        .unwrap();
    s.get_filing(Some(&u["auditor"]), f4.id).await.unwrap();
    let token = s.create_api_token(&u["national"], "e2e").await.unwrap();
    let mut numbers = BTreeMap::new();
    numbers.insert("imported", p.records[0].filing_number.clone());
    numbers.insert("changed", changed);
    numbers.insert("cancelled", cancelled);
    numbers.insert("approved", f3.number.unwrap());
    World {
        national_token: token,
        pending: f4.id,
        numbers,
    }
}

/// A monitor that saw the untampered log (its state copied from `state` to
/// `st`) must fail `log verify` against the server at `base`.
fn log_verify_fails(base: &str, state: &Path, st: &Path, name: &str) {
    std::fs::copy(state, st).unwrap();
    let st = st.display().to_string();
    let (ok, out) = run(&["log", "verify", "--url", base, "--state", &st]);
    assert!(!ok, "log verify passed after: {name}\n{out}");
}

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("BEIAN_LOG_KEY")
        .env_remove("BEIAN_LOG_KEY_FILE")
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Ways to tamper with the database (SQLite dialect); each must be caught.
fn tampers() -> Vec<(&'static str, String)> {
    let zeros = "0".repeat(64);
    vec![
        ("wipe the audit log and the log", format!("DROP TRIGGER audit_log_no_delete; DROP TRIGGER log_entries_no_delete; DELETE FROM audit_log; DELETE FROM log_entries; DELETE FROM log_checkpoint; UPDATE audit_head SET seq = 0, hash = '{zeros}';")),
        ("delete the tail and update the head", "DROP TRIGGER audit_log_no_delete; DROP TRIGGER log_entries_no_delete; DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log); UPDATE audit_head SET seq = (SELECT MAX(seq) FROM audit_log), hash = (SELECT hash FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)); DELETE FROM log_entries WHERE idx = (SELECT MAX(idx) FROM log_entries);".into()),
        ("delete the tail of the log only", "DROP TRIGGER log_entries_no_delete; DELETE FROM log_entries WHERE idx = (SELECT MAX(idx) FROM log_entries);".into()),
        ("edit an audit entry", "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'user:1:someone-else' WHERE seq = 3;".into()),
        ("edit a log entry", "DROP TRIGGER log_entries_no_update; UPDATE log_entries SET data = replace(data, '北京', '上海') WHERE idx = (SELECT MIN(idx) FROM log_entries WHERE data LIKE '%北京%');".into()),
        ("edit a register entry", "UPDATE register SET name = name || '（改）' WHERE id = (SELECT MIN(id) FROM register);".into()),
        ("delete a register entry", "DELETE FROM register WHERE id = (SELECT MAX(id) FROM register);".into()),
        ("insert a register entry", "INSERT INTO register (filing_number, kind, name, provider, province, date, role, product, purpose, remark, status, source, filing_id) VALUES ('Beijing-Fake-202501010001', 'genai-filing', '伪造模型', '伪造公司', '北京市', '2025-01-01', '', '', '', '', 'active', 'import:x:1', NULL);".into()),
        ("uncancel a register entry", "UPDATE register SET status = 'active', remark = '' WHERE status = 'cancelled';".into()),
        ("forge a filing status", "UPDATE filings SET status = 'returned' WHERE id = (SELECT MAX(id) FROM filings WHERE status = 'approved');".into()),
        ("forge a filing number", "UPDATE filings SET number = 'Beijing-Forged-202501010009' WHERE id = (SELECT MIN(id) FROM filings WHERE number IS NOT NULL);".into()),
        ("delete an issued number", "DELETE FROM issued_numbers WHERE number = (SELECT MIN(number) FROM issued_numbers);".into()),
        ("raise a user's role", "UPDATE users SET role = 'national-reviewer' WHERE username = 'editor';".into()),
        ("change a password hash", "UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE username = 'national') WHERE username = 'auditor';".into()),
        ("insert a user", "INSERT INTO users (username, password_hash, role, org_id, province, created_at) VALUES ('mallory', 'x', 'national-reviewer', NULL, NULL, '2025-01-01T00:00:00Z');".into()),
        ("delete a user", "DELETE FROM api_tokens WHERE user_id = (SELECT id FROM users WHERE username = 'auditor'); DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = 'auditor'); DELETE FROM users WHERE username = 'auditor';".into()),
        ("edit an organisation", "UPDATE organisations SET province = '上海市';".into()),
        ("delete the signed checkpoint in the database", "DELETE FROM log_checkpoint;".into()),
        ("delete a log entry in the middle and renumber the rest", "DROP TRIGGER log_entries_no_delete; DROP TRIGGER log_entries_no_update; DELETE FROM log_entries WHERE idx = 5; UPDATE log_entries SET idx = idx - 1 WHERE idx > 5;".into()),
        ("swap two log entries", format!("DROP TRIGGER log_entries_no_update; {SWAP}")),
        ("delete the cancelled register row", "DELETE FROM register WHERE status = 'cancelled';".into()),
        ("delete the cancelled register row and its log entries", "DROP TRIGGER log_entries_no_delete; DROP TRIGGER log_entries_no_update; DELETE FROM register WHERE status = 'cancelled'; DELETE FROM log_entries WHERE data LIKE '%\"status\":\"cancelled\"%';".into()),
        ("edit an issued number's time", "UPDATE issued_numbers SET issued_at = '2020-01-01T00:00:00Z' WHERE number = (SELECT MIN(number) FROM issued_numbers);".into()),
        ("give an issued number to another filing", "UPDATE issued_numbers SET filing_id = (SELECT MIN(id) FROM filings) WHERE number = (SELECT MAX(number) FROM issued_numbers);".into()),
        ("move a filing to another province", "UPDATE filings SET province = '上海市' WHERE id = (SELECT MIN(id) FROM filings);".into()),
        ("backdate an audit entry", "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET at = '2020-01-01T00:00:00.000Z' WHERE seq = 3;".into()),
        ("backdate a filing", "UPDATE filings SET updated_at = '2020-01-01T00:00:00Z', submitted_on = '2020-01-01' WHERE id = (SELECT MAX(id) FROM filings);".into()),
        ("backdate a register entry", "UPDATE register SET date = '2020-01-01' WHERE id = (SELECT MIN(id) FROM register);".into()),
        ("backdate a user", "UPDATE users SET created_at = '2020-01-01T00:00:00Z' WHERE username = 'national';".into()),
        ("backdate a log entry", "DROP TRIGGER log_entries_no_update; UPDATE log_entries SET data = replace(data, '\"at\":\"2', '\"at\":\"1') WHERE idx = 2;".into()),
        ("append an unsigned log entry", "INSERT INTO log_entries (idx, data) SELECT MAX(idx) + 1, '{\"v\":1}' FROM log_entries;".into()),
    ]
}

/// Swaps log entries 3 and 4 (both dialects; the update trigger dropped).
const SWAP: &str = "UPDATE log_entries SET idx = -1 WHERE idx = 3; UPDATE log_entries SET idx = 3 WHERE idx = 4; UPDATE log_entries SET idx = 4 WHERE idx = -1;";

/// Appends a forged, well-formed entry as someone who can write the database
/// but has no log key: the editor is raised to national reviewer, with an
/// audit row chained correctly (new head) and a log entry carrying exactly
/// the new row, so everything but the signature matches.
async fn forge_append(url: &str) {
    let s = Store::open(url).await.unwrap();
    let data = s
        .raw_texts("SELECT data FROM log_entries WHERE data LIKE '%\"username\":\"editor\"%' ORDER BY idx DESC")
        .await
        .unwrap();
    let last: Value = serde_json::from_str(&data[0]).unwrap();
    let st = last["state"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["table"] == "users" && x["row"]["username"] == "editor")
        .unwrap()
        .clone();
    let mut row = st["row"].clone();
    row["role"] = json!("national-reviewer");
    let entries = s.audit_entries(None, 0, i64::MAX).await.unwrap();
    let prev = entries.last().unwrap();
    let seq = prev.seq + 1;
    let at = "2026-12-04T21:00:00.000Z";
    let (actor, action) = ("user:1:national", "user.role");
    let subject = format!("user:{}", st["key"].as_str().unwrap());
    let detail = json!({"role": "national-reviewer"});
    let h = audit::entry_hash(&prev.hash, seq, at, actor, action, &subject, &detail);
    let entry = json!({"v": 1, "kind": "audit", "seq": seq, "at": at, "actor": actor, "action": action,
        "subject": subject, "detail": detail, "state": [{"table": "users", "key": st["key"], "row": row}]});
    s.raw_execute(&format!(
        "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES ({seq}, '{at}', '{actor}', '{action}', '{subject}', '{detail}', '{}', '{h}'); \
         UPDATE audit_head SET seq = {seq}, hash = '{h}'; \
         UPDATE users SET role = 'national-reviewer' WHERE username = 'editor'; \
         INSERT INTO log_entries (idx, data) SELECT MAX(idx) + 1, '{entry}' FROM log_entries;",
        prev.hash
    ))
    .await
    .unwrap();
    s.close().await;
}

/// Replaces the log key with a new one and re-signs both checkpoints over
/// the database's log (after `edit`): a rewrite by someone who can write the
/// whole data directory. Only a pinned key or an earlier checkpoint kept
/// elsewhere (`--vkey`, `--checkpoint`, `log verify --state`, witnesses)
/// can tell this from a new log.
async fn resign_with_new_key(d: &Path, url: &str, edit: &str) {
    let k = beian_tlog::LogSigner::generate(beian_registry::store::log::DEFAULT_ORIGIN).unwrap();
    std::fs::write(d.join("log-key"), format!("{}\n", k.skey())).unwrap();
    let s = Store::open(url).await.unwrap();
    if !edit.is_empty() {
        s.raw_execute(edit).await.unwrap();
    }
    let mut t = beian_tlog::Tree::new();
    for e in s
        .raw_texts("SELECT data FROM log_entries ORDER BY idx")
        .await
        .unwrap()
    {
        t.push(e.as_bytes());
    }
    let note = k
        .sign(&beian_tlog::Checkpoint {
            origin: k.name().to_string(),
            size: t.size(),
            root: t.root(),
        })
        .unwrap();
    s.raw_execute(&format!(
        "UPDATE log_checkpoint SET size = {}, note = '{note}'",
        t.size()
    ))
    .await
    .unwrap();
    s.close().await;
    std::fs::write(d.join("log-checkpoint"), &note).unwrap();
}

/// Puts the database files of `from` in `to` (a rollback of the database
/// only; `to` keeps its checkpoint file and key).
fn restore_db(from: &Path, to: &Path) {
    for f in ["beian.db", "beian.db-wal", "beian.db-shm"] {
        let _ = std::fs::remove_file(to.join(f));
        if from.join(f).exists() {
            std::fs::copy(from.join(f), to.join(f)).unwrap();
        }
    }
}

/// Rewrites the audit chain after editing entry 2 (valid hashes, new head)
/// and the matching log entry: a re-chain by someone who can write the
/// database but has no log key.
async fn rechain(url: &str) {
    let s = Store::open(url).await.unwrap();
    let drop = if s.backend() == Backend::Postgres {
        "DROP TRIGGER audit_log_no_change ON audit_log; DROP TRIGGER log_entries_no_change ON log_entries;"
    } else {
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS log_entries_no_update;"
    };
    s.raw_execute(drop).await.unwrap();
    s.raw_execute("UPDATE audit_log SET actor = 'user:9:ghost' WHERE seq = 2;")
        .await
        .unwrap();
    let entries = s.audit_entries(None, 0, i64::MAX).await.unwrap();
    let mut prev = audit::GENESIS.to_string();
    for e in &entries {
        let h = audit::entry_hash(
            &prev, e.seq, &e.at, &e.actor, &e.action, &e.subject, &e.detail,
        );
        s.raw_execute(&format!(
            "UPDATE audit_log SET prev_hash = '{prev}', hash = '{h}' WHERE seq = {}",
            e.seq
        ))
        .await
        .unwrap();
        prev = h;
    }
    s.raw_execute(&format!("UPDATE audit_head SET hash = '{prev}'"))
        .await
        .unwrap();
    s.raw_execute("UPDATE log_entries SET data = replace(data, '\"actor\":\"user:1:national\"', '\"actor\":\"user:9:ghost\"') WHERE idx = 1;").await.unwrap();
    assert!(
        s.audit_verify().await.unwrap().is_ok(),
        "the chain itself is valid after a re-chain"
    );
    s.close().await;
}

#[test]
fn log_end_to_end_and_tampering_sqlite() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let world = rt.block_on(async {
        let s = Store::open_data_dir(&dir).await.unwrap();
        let w = build_world(&s).await;
        s.close().await;
        w
    });
    drop(rt);
    let dir_s = dir.display().to_string();
    // the data directory before the approval over HTTP (for rollbacks)
    let early = tmp.path().join("early");
    copy_dir(&dir, &early);
    let srv = spawn(&["--data-dir".into(), dir_s.clone()]);

    // independent verification of tiles, root and signature
    let seen = independent(&srv.base);
    assert!(seen.size > 60, "{}", seen.size);
    assert!(
        std::fs::read_to_string(dir.join("log-key"))
            .unwrap()
            .starts_with("PRIVATE+KEY+")
    );
    // an inclusion proof for every entry kind
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for (i, e) in seen.entries.iter().enumerate() {
        let v: Value = serde_json::from_slice(e).unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap().as_bytes(),
            e.as_slice(),
            "canonical JSON"
        );
        let k = format!(
            "{}:{}",
            v["kind"].as_str().unwrap(),
            v["action"].as_str().unwrap_or("")
        );
        kinds.entry(k).or_insert(i as u64);
    }
    for needed in [
        "audit:filing.approve",
        "audit:filing.cancel",
        "audit:filing.submit",
        "audit:user.create",
        "audit:session.login",
        "audit:filing.read",
        "audit:register.import",
        "register.import:",
        "audit:organisation.create",
    ] {
        assert!(
            kinds.contains_key(needed),
            "no {needed} entry: {:?}",
            kinds.keys()
        );
    }
    for (k, i) in &kinds {
        let p = ok_json(&srv.base, &format!("/log/inclusion?index={i}"));
        assert_eq!(p["tree_size"], seen.size, "{k}");
        check_inclusion(&seen, *i, &p["proof"]);
    }
    // register entries: imported, approved, changed, cancelled
    for (what, n) in &world.numbers {
        let p = ok_json(&srv.base, &format!("/api/v1/register/{}/proof", percent(n)));
        let idx = p["index"].as_u64().unwrap();
        assert_eq!(
            p["entry"].as_str().unwrap().as_bytes(),
            seen.entries[idx as usize].as_slice()
        );
        check_inclusion(&seen, idx, &p["inclusion_proof"]);
        let (_, size, root) = check_note(p["checkpoint"].as_str().unwrap(), &seen.vkey);
        assert_eq!((size, root), (seen.size, seen.root));
        let e: Value = serde_json::from_str(p["entry"].as_str().unwrap()).unwrap();
        let row = e["state"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["table"] == "register" && s["key"] == n.as_str())
            .unwrap();
        match *what {
            "cancelled" => assert_eq!(row["row"]["status"], "cancelled"),
            "changed" => assert_eq!(row["row"]["name"], "甲大模型二代"),
            _ => assert_eq!(row["row"]["status"], "active"),
        }
    }
    assert_eq!(
        get(&srv.base, "/api/v1/register/NO-SUCH-NUMBER/proof").0,
        404
    );
    // the public entry page links the proof and the log, with a note
    let n = &world.numbers["approved"];
    let (st, page) = get(&srv.base, &format!("/register/entry?number={}", percent(n)));
    assert_eq!(st, 200);
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains(&format!("/api/v1/register/{n}/proof")),
        "{page}"
    );
    assert!(page.contains("/log/checkpoint") && page.contains("/log/consistency"));
    assert!(page.contains("自行核验此条目"));

    // log verify, remembering the checkpoint
    let state = tmp.path().join("state.json");
    let state_s = state.display().to_string();
    let (ok, out) = run(&["log", "verify", "--url", &srv.base, "--state", &state_s]);
    assert!(ok, "{out}");

    // consistency across an approval
    let (st, v) = post(
        &srv.base,
        &format!("/api/v1/filings/{}/actions", world.pending),
        &world.national_token,
        json!({"action": "approve"}),
    );
    assert_eq!(st, 200, "{v}");
    let after = independent(&srv.base);
    assert!(after.size > seen.size);
    let c = ok_json(
        &srv.base,
        &format!("/log/consistency?from={}&to={}", seen.size, after.size),
    );
    let old = RootHash::<Sha256>::new(seen.root.into(), seen.size);
    let new = RootHash::<Sha256>::new(after.root.into(), after.size);
    new.verify_consistency(
        &old,
        &ConsistencyProof::try_from_bytes(decode_proof(&c["proof"])).unwrap(),
    )
    .expect("consistency proof across the approval");
    assert_eq!(after.entries[..seen.size as usize], seen.entries[..]);
    assert_eq!(
        get(
            &srv.base,
            &format!(
                "/log/consistency?from={}&to={}",
                after.size,
                after.size + 10
            )
        )
        .0,
        400
    );
    let (ok, out) = run(&["log", "verify", "--url", &srv.base, "--state", &state_s]);
    assert!(ok, "{out}");
    // a witness co-signs
    let wkey = tmp.path().join("witness.key").display().to_string();
    let wout = tmp.path().join("cosigned.txt");
    let (ok, out) = run(&[
        "log",
        "witness",
        "--url",
        &srv.base,
        "--state",
        &tmp.path().join("w.json").display().to_string(),
        "--key",
        &wkey,
        "--once",
        "--out",
        &wout.display().to_string(),
        "--format",
        "json",
    ]);
    assert!(ok, "{out}");
    let co = std::fs::read_to_string(&wout).unwrap();
    assert_eq!(co.matches("\n\u{2014} ").count(), 2, "{co}");
    check_note(&co, &after.vkey);
    let report: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON report");
    let wvkey = report["cosigner_vkey"].as_str().expect("cosigner_vkey");
    let t = check_cosignature(&co, wvkey);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        t <= now && t + 3600 > now,
        "cosignature time {t}, now {now}"
    );
    drop(srv);

    let (ok, out) = run(&["audit", "verify", "--data-dir", &dir_s]);
    assert!(ok, "{out}");
    let pristine = tmp.path().join("pristine");
    copy_dir(&dir, &pristine);

    // tampering: each on a fresh copy; audit verify and log verify must fail
    let mut cases: Vec<(String, Tamper)> = Vec::new();
    for (name, sql) in tampers() {
        cases.push((
            name.to_string(),
            Box::new(move |d: &Path| {
                let url = format!("sqlite://{}", d.join("beian.db").display());
                let rt = tokio::runtime::Runtime::new().unwrap();
                rt.block_on(async {
                    let s = Store::open(&url).await.unwrap();
                    s.raw_execute(&sql).await.unwrap();
                    s.close().await;
                });
            }),
        ));
    }
    cases.push((
        "re-chain the audit log and the log entry".into(),
        Box::new(|d: &Path| {
            let url = format!("sqlite://{}", d.join("beian.db").display());
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(rechain(&url));
        }),
    ));
    cases.push((
        "delete both checkpoints".into(),
        Box::new(|d: &Path| {
            std::fs::remove_file(d.join("log-checkpoint")).unwrap();
            let url = format!("sqlite://{}", d.join("beian.db").display());
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let s = Store::open(&url).await.unwrap();
                s.raw_execute("DELETE FROM log_checkpoint").await.unwrap();
                s.close().await;
            });
        }),
    ));
    cases.push((
        "append a forged, well-formed entry (a raised role, chained audit row)".into(),
        Box::new(|d: &Path| {
            let url = format!("sqlite://{}", d.join("beian.db").display());
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(forge_append(&url));
        }),
    ));
    cases.push((
        "wipe the database and delete both checkpoints".into(),
        Box::new(|d: &Path| {
            std::fs::remove_file(d.join("log-checkpoint")).unwrap();
            let url = format!("sqlite://{}", d.join("beian.db").display());
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let s = Store::open(&url).await.unwrap();
                s.raw_execute(&tampers()[0].1).await.unwrap();
                s.close().await;
            });
        }),
    ));
    cases.push((
        "delete the database and the checkpoint file (the key stays)".into(),
        Box::new(|d: &Path| {
            for f in ["log-checkpoint", "beian.db", "beian.db-wal", "beian.db-shm"] {
                let _ = std::fs::remove_file(d.join(f));
            }
        }),
    ));
    cases.push((
        "replace the log key (checkpoints left as they were)".into(),
        Box::new(|d: &Path| {
            let k = beian_tlog::LogSigner::generate(beian_registry::store::log::DEFAULT_ORIGIN)
                .unwrap();
            std::fs::write(d.join("log-key"), format!("{}\n", k.skey())).unwrap();
        }),
    ));
    {
        let early = early.clone();
        cases.push((
            "roll the database back to an earlier copy".into(),
            Box::new(move |d: &Path| restore_db(&early, d)),
        ));
    }
    for (i, (name, tamper)) in cases.iter().enumerate() {
        let d = tmp.path().join(format!("t{i}"));
        copy_dir(&pristine, &d);
        tamper(&d);
        let ds = d.display().to_string();
        let (ok, out) = run(&["audit", "verify", "--data-dir", &ds]);
        assert!(!ok, "audit verify passed after: {name}\n{out}");
        let srv = spawn(&["--data-dir".into(), ds.clone()]);
        log_verify_fails(
            &srv.base,
            &state,
            &tmp.path().join(format!("st{i}.json")),
            name,
        );
        drop(srv);
        // a second look after the restart: still broken
        let (ok, out) = run(&["audit", "verify", "--data-dir", &ds]);
        assert!(
            !ok,
            "audit verify passed after a restart, after: {name}\n{out}"
        );
        eprintln!("caught: {name}");
    }

    // Rewrites of the whole data directory: caught by what was kept
    // elsewhere (the checkpoint saved before, the pinned key, the monitor's
    // state), never by the data directory alone.
    let saved_cp = tmp.path().join("saved-checkpoint");
    std::fs::copy(pristine.join("log-checkpoint"), &saved_cp).unwrap();
    let saved_cp = saved_cp.display().to_string();
    let vkey = after.vkey.clone();
    let anchors: Vec<(&str, Tamper)> = vec![
        (
            "roll the whole data directory back (database, checkpoint file, key)",
            Box::new(move |d: &Path| {
                std::fs::remove_dir_all(d).unwrap();
                copy_dir(&early, d);
            }),
        ),
        (
            "replace the key and re-sign both checkpoints",
            Box::new(|d: &Path| {
                let url = format!("sqlite://{}", d.join("beian.db").display());
                tokio::runtime::Runtime::new()
                    .unwrap()
                    .block_on(resign_with_new_key(d, &url, ""));
            }),
        ),
        (
            "edit a register entry and its log entry, new key, re-sign both checkpoints",
            Box::new(|d: &Path| {
                let url = format!("sqlite://{}", d.join("beian.db").display());
                tokio::runtime::Runtime::new()
                    .unwrap()
                    .block_on(resign_with_new_key(d, &url, "DROP TRIGGER log_entries_no_update; UPDATE log_entries SET data = replace(data, '甲写作', '乙写作'); UPDATE register SET name = replace(name, '甲写作', '乙写作'); UPDATE filings SET name = replace(name, '甲写作', '乙写作');"));
            }),
        ),
    ];
    for (i, (name, tamper)) in anchors.iter().enumerate() {
        let d = tmp.path().join(format!("a{i}"));
        copy_dir(&pristine, &d);
        tamper(&d);
        let ds = d.display().to_string();
        let (ok, out) = run(&[
            "audit",
            "verify",
            "--data-dir",
            &ds,
            "--checkpoint",
            &saved_cp,
        ]);
        assert!(!ok, "audit verify --checkpoint passed after: {name}\n{out}");
        let (ok, out) = run(&["audit", "verify", "--data-dir", &ds, "--vkey", &vkey]);
        assert!(
            !ok || i == 0,
            "audit verify --vkey passed after: {name}\n{out}"
        );
        let srv = spawn(&["--data-dir".into(), ds.clone()]);
        log_verify_fails(
            &srv.base,
            &state,
            &tmp.path().join(format!("sa{i}.json")),
            name,
        );
        drop(srv);
        eprintln!("caught with an outside anchor: {name}");
    }
}

fn percent(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// The same on PostgreSQL (a subset of the tampering, each on a copy made
/// with `CREATE DATABASE … TEMPLATE`).
#[test]
fn log_end_to_end_and_tampering_postgres() {
    let Some(base) = beian_registry::testing::postgres_url("log_end_to_end_and_tampering_postgres")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt
        .block_on(beian_registry::testing::fresh_postgres_db(&base))
        .unwrap();
    rt.block_on(async {
        let s = Store::open(&url).await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        s.enable_log_in(&dir, None).await.unwrap();
        build_world(&s).await;
        s.close().await;
    });
    // an earlier copy of the database (for a rollback), then one more write
    let early = rt
        .block_on(beian_registry::testing::copy_postgres_db(&base, &url))
        .unwrap();
    rt.block_on(async {
        let s = Store::open(&url).await.unwrap();
        s.enable_log_in(&dir, None).await.unwrap();
        s.login("auditor", "correct horse battery staple 9")
            .await
            .unwrap();
        s.close().await;
    });
    let dir_s = dir.display().to_string();
    let args = |u: &str, d: &str| {
        vec![
            "--database-url".to_string(),
            u.to_string(),
            "--data-dir".to_string(),
            d.to_string(),
        ]
    };
    let srv = spawn(&args(&url, &dir_s));
    let seen = independent(&srv.base);
    assert!(seen.size > 60);
    let state = tmp.path().join("state.json");
    let (ok, out) = run(&[
        "log",
        "verify",
        "--url",
        &srv.base,
        "--state",
        &state.display().to_string(),
    ]);
    assert!(ok, "{out}");
    drop(srv);
    let (ok, out) = run(&[
        "audit",
        "verify",
        "--database-url",
        &url,
        "--data-dir",
        &dir_s,
    ]);
    assert!(ok, "{out}");
    let pg = [
        (
            "wipe",
            "DROP TRIGGER audit_log_no_change ON audit_log; DROP TRIGGER log_entries_no_change ON log_entries; DELETE FROM audit_log; DELETE FROM log_entries; DELETE FROM log_checkpoint; UPDATE audit_head SET seq = 0;",
        ),
        (
            "tail and head",
            "DROP TRIGGER audit_log_no_change ON audit_log; DROP TRIGGER log_entries_no_change ON log_entries; DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log); UPDATE audit_head SET seq = (SELECT MAX(seq) FROM audit_log), hash = (SELECT hash FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)); DELETE FROM log_entries WHERE idx = (SELECT MAX(idx) FROM log_entries);",
        ),
        (
            "edit a register entry",
            "UPDATE register SET name = name || 'X' WHERE id = (SELECT MIN(id) FROM register);",
        ),
        (
            "delete a register entry",
            "DELETE FROM register WHERE id = (SELECT MAX(id) FROM register);",
        ),
        (
            "forge a number",
            "UPDATE filings SET number = 'Beijing-Forged-202501010009' WHERE id = (SELECT MIN(id) FROM filings WHERE number IS NOT NULL);",
        ),
        (
            "raise a role",
            "UPDATE users SET role = 'national-reviewer' WHERE username = 'editor';",
        ),
        (
            "edit a log entry",
            "DROP TRIGGER log_entries_no_change ON log_entries; UPDATE log_entries SET data = replace(data, '北京', '上海') WHERE idx = (SELECT MIN(idx) FROM log_entries WHERE data LIKE '%北京%');",
        ),
        (
            "swap two log entries",
            &format!("DROP TRIGGER log_entries_no_change ON log_entries; {SWAP}"),
        ),
        (
            "delete the cancelled register row",
            "DELETE FROM register WHERE status = 'cancelled';",
        ),
        (
            "edit an issued number's time",
            "UPDATE issued_numbers SET issued_at = '2020-01-01T00:00:00Z' WHERE number = (SELECT MIN(number) FROM issued_numbers);",
        ),
        (
            "move a filing to another province",
            "UPDATE filings SET province = '上海市' WHERE id = (SELECT MIN(id) FROM filings);",
        ),
        (
            "backdate an audit entry",
            "DROP TRIGGER audit_log_no_change ON audit_log; UPDATE audit_log SET at = '2020-01-01T00:00:00.000Z' WHERE seq = 3;",
        ),
        (
            "change a password hash",
            "UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE username = 'national') WHERE username = 'auditor';",
        ),
        (
            "append an unsigned log entry",
            "INSERT INTO log_entries (idx, data) SELECT MAX(idx) + 1, '{\"v\":1}' FROM log_entries;",
        ),
        (
            "delete the signed checkpoint in the database",
            "DELETE FROM log_checkpoint;",
        ),
    ];
    for (i, (name, sql)) in pg.iter().enumerate() {
        let copy = rt
            .block_on(beian_registry::testing::copy_postgres_db(&base, &url))
            .unwrap();
        let d = tmp.path().join(format!("pg{i}"));
        copy_dir(&dir, &d);
        rt.block_on(async {
            let s = Store::open(&copy).await.unwrap();
            s.raw_execute(sql).await.unwrap();
            s.close().await;
        });
        let ds = d.display().to_string();
        let (ok, out) = run(&[
            "audit",
            "verify",
            "--database-url",
            &copy,
            "--data-dir",
            &ds,
        ]);
        assert!(!ok, "audit verify passed after: {name}\n{out}");
        let srv = spawn(&args(&copy, &ds));
        log_verify_fails(
            &srv.base,
            &state,
            &tmp.path().join(format!("pgst{i}.json")),
            name,
        );
        drop(srv);
        eprintln!("caught on PostgreSQL: {name}");
    }
    // a forged, well-formed append; a rollback of the database to an
    // earlier copy (the data directory's checkpoint is newer)
    let forged = rt
        .block_on(beian_registry::testing::copy_postgres_db(&base, &url))
        .unwrap();
    rt.block_on(forge_append(&forged));
    for (i, (name, db)) in [("forged append", &forged), ("rollback", &early)]
        .into_iter()
        .enumerate()
    {
        let d = tmp.path().join(format!("pgx{i}"));
        copy_dir(&dir, &d);
        let ds = d.display().to_string();
        let (ok, out) = run(&["audit", "verify", "--database-url", db, "--data-dir", &ds]);
        assert!(!ok, "audit verify passed after: {name}\n{out}");
        let srv = spawn(&args(db, &ds));
        log_verify_fails(
            &srv.base,
            &state,
            &tmp.path().join(format!("pgxst{i}.json")),
            name,
        );
        drop(srv);
        let (ok, out) = run(&["audit", "verify", "--database-url", db, "--data-dir", &ds]);
        assert!(
            !ok,
            "audit verify passed after a restart, after: {name}\n{out}"
        );
        eprintln!("caught on PostgreSQL: {name}");
    }
    // a re-chain
    let copy = rt
        .block_on(beian_registry::testing::copy_postgres_db(&base, &url))
        .unwrap();
    rt.block_on(rechain(&copy));
    let (ok, out) = run(&[
        "audit",
        "verify",
        "--database-url",
        &copy,
        "--data-dir",
        &dir_s,
    ]);
    assert!(!ok, "audit verify passed after a re-chain\n{out}");
}

/// A second, independent verifier written from the specs in Python
/// (tests/verify_log.py: hashlib, urllib, Ed25519 from `cryptography` or a
/// pure-Python RFC 8032 check) reads the same log over HTTP: signed note,
/// key id, entry bundles, hash tiles at levels 0 and 1 (full and partial),
/// 404 beyond the tree, inclusion and consistency proofs by RFC 9162's
/// algorithms, Content-Type and caching headers. It must agree with
/// `beian log verify` on size and root, before and after a write.
#[test]
fn python_verifier_agrees() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/verify_log.py");
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIP python_verifier_agrees: no python3");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let world = rt.block_on(async {
        let s = Store::open_data_dir(&dir).await.unwrap();
        let w = build_world(&s).await;
        // past 512 entries: full bundles and tiles, a partial level-1 tile
        s.seed_register(600).await.unwrap();
        s.close().await;
        w
    });
    drop(rt);
    let srv = spawn(&[
        "--data-dir".into(),
        dir.display().to_string(),
        "--public-rate".into(),
        "0".into(),
    ]);
    let py = |base: &str| -> Value {
        let out = Command::new("python3")
            .args([script, base])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "python verifier failed: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(text.trim()).unwrap()
    };
    let ours = |base: &str| -> Value {
        let (ok, out) = run(&["log", "verify", "--url", base, "--format", "json"]);
        assert!(ok, "{out}");
        serde_json::from_str(out.trim()).unwrap()
    };
    // the verifier's own checks can fail (RFC 8032 vector, RFC 6962 proofs
    // built by the RFC's definitions, accepted and refused when changed)
    let st = Command::new("python3")
        .args([script, "--self-test"])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stdout)
    );
    let a = py(&srv.base);
    let b = ours(&srv.base);
    assert!(a["size"].as_u64().unwrap() > 600, "{a}");
    assert!(a["hash_tiles"].as_u64().unwrap() >= 4, "{a}");
    assert_eq!((&a["size"], &a["root"]), (&b["size"], &b["root"]));
    let (st, v) = post(
        &srv.base,
        &format!("/api/v1/filings/{}/actions", world.pending),
        &world.national_token,
        json!({"action": "approve"}),
    );
    assert_eq!(st, 200, "{v}");
    let c = py(&srv.base);
    let d = ours(&srv.base);
    assert!(c["size"].as_u64() > a["size"].as_u64());
    assert_eq!((&c["size"], &c["root"]), (&d["size"], &d["root"]));
}

/// Witness cosignatures end to end: `beian log verify --witness-key` fails
/// while the witness has not co-signed, `beian log witness --submit` hands
/// its C2SP tlog-cosignature/v1 to the log (which serves it with the
/// checkpoint, and at /log/witnessed once the log has grown), a second
/// required witness that never co-signed fails verification, and the log
/// refuses cosignatures that do not verify or come from unknown witnesses.
#[test]
fn witness_cosignatures_are_required_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = Store::open_data_dir(&dir).await.unwrap();
        s.create_user(None, nu("national", Role::NationalReviewer, None, None))
            .await
            .unwrap();
        s.close().await;
    });
    let w = beian_tlog::LogSigner::generate("test-witness").unwrap();
    let wkey = tmp.path().join("witness.key");
    std::fs::write(&wkey, format!("{}\n", w.skey())).unwrap();
    let wvkey = w.cosigner().vkey().to_string();
    let other = beian_tlog::LogSigner::generate("other-witness").unwrap();
    let ovkey = other.cosigner().vkey().to_string();
    let srv = spawn(&[
        "--data-dir".into(),
        dir.display().to_string(),
        "--witness-key".into(),
        wvkey.clone(),
        "--witness-key".into(),
        ovkey.clone(),
    ]);
    let verify = |keys: &[&str]| {
        let mut a = vec!["log", "verify", "--url", &srv.base];
        for k in keys {
            a.extend(["--witness-key", k]);
        }
        run(&a)
    };
    let (ok, out) = verify(&[&wvkey]);
    assert!(!ok, "verify passed without any cosignature\n{out}");
    assert_eq!(get(&srv.base, "/log/witnessed").0, 404);
    let wstate = tmp.path().join("w.json").display().to_string();
    let wk = wkey.display().to_string();
    let (ok, out) = run(&[
        "log", "witness", "--url", &srv.base, "--state", &wstate, "--key", &wk, "--once",
        "--submit",
    ]);
    assert!(ok, "{out}");
    let (st, note) = get(&srv.base, "/log/checkpoint");
    assert_eq!(st, 200);
    let note = String::from_utf8(note).unwrap();
    check_cosignature(&note, &wvkey);
    let (ok, out) = verify(&[&wvkey]);
    assert!(ok, "{out}");
    // a second required witness that never co-signed
    let (ok, out) = verify(&[&wvkey, &ovkey]);
    assert!(!ok, "verify passed without the second witness\n{out}");
    // the log grows (a failed sign-in is audited): the served checkpoint has
    // no cosignature yet, the co-signed one is a prefix of the log
    let (st, _) = post(
        &srv.base,
        "/api/v1/auth/login",
        "",
        json!({"username": "nobody", "password": "wrong password 123"}),
    );
    assert!(st == 401 || st == 400, "{st}");
    let (_, note2) = get(&srv.base, "/log/checkpoint");
    assert_ne!(String::from_utf8(note2).unwrap(), note, "the log grew");
    let (ok, out) = verify(&[&wvkey]);
    assert!(ok, "{out}");
    // cosignatures that do not verify, or by a witness the log does not know
    // the second witness co-signs the same checkpoint: merged, both verify
    let (st, b) = post_text(
        &srv.base,
        "/log/cosignatures",
        &other.cosign(&note).unwrap(),
    );
    assert_eq!(st, 200, "{b}");
    let (_, both) = get(&srv.base, "/log/witnessed");
    let both = String::from_utf8(both).unwrap();
    check_cosignature(&both, &wvkey);
    check_cosignature(&both, &ovkey);
    let (ok, out) = verify(&[&wvkey, &ovkey]);
    assert!(ok, "{out}");
    let line = note_sig_line(&note, &wvkey);
    let plain = note.replace(&format!("{line}\n"), "");
    let stranger = beian_tlog::LogSigner::generate("stranger").unwrap();
    let (st, _) = post_text(
        &srv.base,
        "/log/cosignatures",
        &stranger.cosign(&plain).unwrap(),
    );
    assert_eq!(st, 400, "a stranger's cosignature kept");
    let (st, _) = post_text(&srv.base, "/log/cosignatures", &plain);
    assert_eq!(st, 400, "a note without cosignatures accepted");
    let mut raw = B64.decode(line.rsplit(' ').next().unwrap()).unwrap();
    raw[20] ^= 1;
    let forged = note.replace(
        &line,
        &format!("\u{2014} test-witness {}", B64.encode(&raw)),
    );
    let (st, _) = post_text(&srv.base, "/log/cosignatures", &forged);
    assert_eq!(st, 400, "a bad cosignature kept");
    let (st, _) = post_text(&srv.base, "/log/cosignatures", "not a note");
    assert_eq!(st, 400);
}

/// The signature line of `vkey`'s name in `note`.
fn note_sig_line(note: &str, vkey: &str) -> String {
    let name = vkey.split('+').next().unwrap();
    note.lines()
        .find(|l| l.starts_with(&format!("\u{2014} {name} ")))
        .unwrap()
        .to_string()
}

fn post_text(base: &str, path: &str, body: &str) -> (u16, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{base}{path}"))
            .header("content-type", "text/plain; charset=utf-8")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let st = r.status().as_u16();
        (st, r.text().await.unwrap_or_default())
    })
}
