//! C2SP tlog-checkpoint bodies and C2SP signed-note signatures (Ed25519),
//! through Cloudflare's `signed_note` crate.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use signed_note::{Note, StandardSigner, StandardVerifier, Verifier, VerifierList};

use crate::merkle::Hash;

/// Errors of checkpoints, notes and keys.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    #[error("malformed checkpoint: {0}")]
    Checkpoint(String),
    #[error("malformed note: {0}")]
    Note(String),
    #[error("checkpoint signature does not verify with key {0}")]
    Signature(String),
    #[error("malformed key {what}: {message}")]
    Key { what: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The body of a checkpoint: origin, tree size, root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: `<origin>\n<size>\n<base64 root>\n`.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Parses a note text (the body; extension lines after the third are ignored).
    pub fn parse_body(text: &str) -> Result<Checkpoint, NoteError> {
        let bad = |m: &str| NoteError::Checkpoint(m.to_string());
        let mut lines = text.split('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| bad("no origin line"))?;
        let size = lines.next().ok_or_else(|| bad("no size line"))?;
        if size.is_empty()
            || (size.len() > 1 && size.starts_with('0'))
            || !size.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad("tree size is not a decimal number"));
        }
        let size: u64 = size.parse().map_err(|_| bad("tree size out of range"))?;
        let root = lines.next().ok_or_else(|| bad("no root hash line"))?;
        let root = B64
            .decode(root)
            .map_err(|_| bad("root hash is not base64"))?;
        let root: Hash = root
            .try_into()
            .map_err(|_| bad("root hash is not 32 bytes"))?;
        if !text.ends_with('\n') {
            return Err(bad("text does not end in a newline"));
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
        })
    }
}

/// A log's signing key (Ed25519), stored as a Go-compatible note key:
/// `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ seed)>`.
pub struct LogSigner {
    signer: StandardSigner,
    seed: [u8; 32],
    name: String,
    vkey: String,
}

fn key_err(what: &str, m: impl ToString) -> NoteError {
    NoteError::Key {
        what: what.to_string(),
        message: m.to_string(),
    }
}

impl LogSigner {
    /// A key from its private key string.
    pub fn from_skey(skey: &str) -> Result<LogSigner, NoteError> {
        let skey = skey.trim();
        let signer = StandardSigner::new(skey).map_err(|e| key_err("signing key", e))?;
        let seed = skey
            .splitn(5, '+')
            .nth(4)
            .and_then(|b| B64.decode(b).ok())
            .filter(|k| k.len() == 33 && k[0] == 1)
            .ok_or_else(|| key_err("signing key", "not an Ed25519 key"))?;
        let mut s = [0u8; 32];
        s.copy_from_slice(&seed[1..]);
        let sk = ed25519_dalek::SigningKey::from_bytes(&s);
        let name = signed_note::Signer::name(&signer).to_string();
        let vkey = signed_note::new_ed25519_verifier_key(&name, &sk.verifying_key());
        Ok(LogSigner {
            signer,
            seed: s,
            name,
            vkey,
        })
    }

    /// A new random key for `name` (the log origin).
    pub fn generate(name: &str) -> Result<LogSigner, NoteError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(key_err("name", format!("{name:?}: no spaces or '+'")));
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| key_err("random", e))?;
        let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
        let mut pk = vec![1u8];
        pk.extend_from_slice(&sk.verifying_key().to_bytes());
        let id = signed_note::key_id(name, &pk);
        let mut priv_ = vec![1u8];
        priv_.extend_from_slice(&seed);
        LogSigner::from_skey(&format!(
            "PRIVATE+KEY+{name}+{id:08x}+{}",
            B64.encode(priv_)
        ))
    }

    /// Loads the key in `path`, creating it (mode 0600) for `name` if missing.
    pub fn load_or_create(path: &Path, name: &str) -> Result<LogSigner, NoteError> {
        let io = |source| NoteError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(s) => LogSigner::from_skey(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let k = LogSigner::generate(name)?;
                write_private(path, format!("{}\n", k.skey()).as_bytes()).map_err(io)?;
                Ok(k)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The private key string (what the key file holds).
    pub fn skey(&self) -> String {
        // StandardSigner keeps its key private; rebuild the string from parts.
        let mut priv_ = vec![1u8];
        priv_.extend_from_slice(&self.seed);
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            signed_note::Signer::key_id(&self.signer),
            B64.encode(priv_)
        )
    }

    /// The key name (the log origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key: `<name>+<hex key id>+<base64(0x01 ‖ public key)>`.
    pub fn vkey(&self) -> &str {
        &self.vkey
    }

    /// A bare Ed25519 signer with this key (the floor benchmarks compare
    /// note signing with).
    pub fn raw_signer(&self) -> impl Fn(&[u8]) -> [u8; 64] + use<> {
        use ed25519_dalek::Signer as _;
        let k = ed25519_dalek::SigningKey::from_bytes(&self.seed);
        move |m: &[u8]| k.sign(m).to_bytes()
    }

    /// Signs `text` as a note; returns the whole note.
    pub fn sign_text(&self, text: &str) -> Result<String, NoteError> {
        let mut n = Note::new(text.as_bytes(), &[]).map_err(|e| NoteError::Note(e.to_string()))?;
        n.add_sigs(&[&self.signer])
            .map_err(|e| NoteError::Note(e.to_string()))?;
        String::from_utf8(n.to_bytes()).map_err(|e| NoteError::Note(e.to_string()))
    }

    /// Signs a checkpoint; returns the signed note.
    pub fn sign(&self, cp: &Checkpoint) -> Result<String, NoteError> {
        self.sign_text(&cp.body())
    }

    /// Adds this key's C2SP tlog-cosignature/v1 to an existing checkpoint
    /// note, timestamped now, keeping the signatures already there (see
    /// [`Cosigner`]).
    pub fn cosign(&self, note: &str) -> Result<String, NoteError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.cosigner().cosign(note, now)
    }

    /// This key as a C2SP tlog-cosignature/v1 cosigner (witness).
    pub fn cosigner(&self) -> Cosigner {
        Cosigner::new(&self.name, self.seed)
    }
}

/// Signature type byte of a C2SP tlog-cosignature/v1 Ed25519 cosignature.
pub const COSIGNATURE_V1: u8 = 0x04;

/// A witness: signs checkpoints as C2SP tlog-cosignature/v1 (signature type
/// 0x04). The signed message is `cosignature/v1\ntime <T>\n` followed by the
/// checkpoint note body; the note signature is the 8-byte big-endian `T`
/// followed by the 64-byte Ed25519 signature; the key id is
/// `SHA-256(name ‖ \n ‖ 0x04 ‖ public key)[:4]`.
pub struct Cosigner {
    sk: ed25519_dalek::SigningKey,
    name: String,
    id: u32,
    vkey: String,
}

/// The message a tlog-cosignature/v1 signs over a note body.
pub fn cosignature_message(time: u64, body: &[u8]) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {time}\n").into_bytes();
    m.extend_from_slice(body);
    m
}

impl Cosigner {
    /// A cosigner named `name` with the Ed25519 private key `seed`.
    pub fn new(name: &str, seed: [u8; 32]) -> Cosigner {
        let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
        let mut pk = vec![COSIGNATURE_V1];
        pk.extend_from_slice(&sk.verifying_key().to_bytes());
        let id = signed_note::key_id(name, &pk);
        let vkey = format!("{name}+{id:08x}+{}", B64.encode(&pk));
        Cosigner {
            sk,
            name: name.to_string(),
            id,
            vkey,
        }
    }

    /// The cosigner's verifier key: `<name>+<hex key id>+<base64(0x04 ‖ public key)>`.
    pub fn vkey(&self) -> &str {
        &self.vkey
    }

    /// Adds a cosignature made at `time` (Unix seconds) to `note`, replacing
    /// an earlier one by this key and keeping the others.
    pub fn cosign(&self, note: &str, time: u64) -> Result<String, NoteError> {
        if time > i64::MAX as u64 {
            return Err(NoteError::Note("cosignature time out of range".into()));
        }
        let mut n =
            Note::from_bytes(note.as_bytes()).map_err(|e| NoteError::Note(e.to_string()))?;
        Checkpoint::parse_body(
            std::str::from_utf8(n.text()).map_err(|e| NoteError::Note(e.to_string()))?,
        )?;
        let at = AtTime { c: self, time };
        n.add_sigs(&[&at])
            .map_err(|e| NoteError::Note(e.to_string()))?;
        String::from_utf8(n.to_bytes()).map_err(|e| NoteError::Note(e.to_string()))
    }
}

/// A cosigner fixed at one time, as `signed_note` wants a signer.
struct AtTime<'a> {
    c: &'a Cosigner,
    time: u64,
}

impl signed_note::Signer for AtTime<'_> {
    fn name(&self) -> &str {
        &self.c.name
    }
    fn key_id(&self) -> u32 {
        self.c.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        use ed25519_dalek::Signer as _;
        let sig = self.c.sk.sign(&cosignature_message(self.time, msg));
        let mut out = self.time.to_be_bytes().to_vec();
        out.extend_from_slice(&sig.to_bytes());
        Ok(out)
    }
}

/// Checks a tlog-cosignature/v1 by the cosigner `vkey` (type 0x04) on `note`;
/// returns its timestamp, or `None` when the note carries no valid one.
pub fn cosignature_time(note: &str, vkey: &str) -> Result<Option<u64>, NoteError> {
    let bad = |m: &str| key_err("cosigner key", m);
    let mut parts = vkey.trim().splitn(3, '+');
    let (name, id, key) = match (parts.next(), parts.next(), parts.next()) {
        (Some(n), Some(i), Some(k)) => (n, i, k),
        _ => return Err(bad("not <name>+<id>+<key>")),
    };
    let key = B64.decode(key).map_err(|_| bad("key is not base64"))?;
    if key.len() != 33 || key[0] != COSIGNATURE_V1 {
        return Err(bad("not an Ed25519 cosignature/v1 key (type 0x04)"));
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| bad("key id is not hex"))?;
    if id != signed_note::key_id(name, &key) {
        return Err(bad("key id does not match name and key"));
    }
    let pk = ed25519_dalek::VerifyingKey::from_bytes(&key[1..].try_into().expect("32 bytes"))
        .map_err(|_| bad("not an Ed25519 public key"))?;
    let Some((text, sigs)) = note.rsplit_once("\n\n") else {
        return Err(NoteError::Note(
            "no blank line before the signatures".into(),
        ));
    };
    let msg_body = format!("{text}\n");
    for line in sigs.lines() {
        let Some((n, b)) = line
            .strip_prefix("\u{2014} ")
            .and_then(|r| r.split_once(' '))
        else {
            continue;
        };
        let Ok(raw) = B64.decode(b) else { continue };
        if n != name || raw.len() != 4 + 8 + 64 || raw[..4] != id.to_be_bytes() {
            continue;
        }
        let time = u64::from_be_bytes(raw[4..12].try_into().expect("8 bytes"));
        let sig = ed25519_dalek::Signature::from_slice(&raw[12..]).expect("64 bytes");
        if pk
            .verify_strict(&cosignature_message(time, msg_body.as_bytes()), &sig)
            .is_ok()
        {
            return Ok(Some(time));
        }
    }
    Ok(None)
}

/// Writes a file readable only by its owner (Unix), atomically (temp + rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp: PathBuf = path.with_extension("tmp");
    {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut f = o.open(&tmp)?;
        std::io::Write::write_all(&mut f, bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Checks a signed checkpoint note against a verifier key and returns its
/// body. Signatures by other keys (witnesses) are ignored.
pub fn open_checkpoint(note: &str, vkey: &str) -> Result<Checkpoint, NoteError> {
    let v = StandardVerifier::new(vkey.trim()).map_err(|e| key_err("verifier key", e))?;
    let name = v.name().to_string();
    let list = VerifierList::new(vec![Box::new(v)]);
    let n = Note::from_bytes(note.as_bytes()).map_err(|e| NoteError::Note(e.to_string()))?;
    let (ok, _) = n
        .verify(&list)
        .map_err(|_| NoteError::Signature(vkey.trim().to_string()))?;
    if !ok.iter().any(|s| s.name() == name) {
        return Err(NoteError::Signature(vkey.trim().to_string()));
    }
    let text = std::str::from_utf8(n.text()).map_err(|e| NoteError::Note(e.to_string()))?;
    let cp = Checkpoint::parse_body(text)?;
    if cp.origin != name {
        return Err(NoteError::Checkpoint(format!(
            "origin {:?} is not the key's name {name:?}",
            cp.origin
        )));
    }
    Ok(cp)
}

/// Checks that `vkey` has signed `note` with a plain Ed25519 note signature
/// (type 0x01). Witness cosignatures (type 0x04) are checked by
/// [`cosignature_time`].
pub fn has_signature(note: &str, vkey: &str) -> Result<bool, NoteError> {
    let v = StandardVerifier::new(vkey.trim()).map_err(|e| key_err("verifier key", e))?;
    let list = VerifierList::new(vec![Box::new(v)]);
    let n = Note::from_bytes(note.as_bytes()).map_err(|e| NoteError::Note(e.to_string()))?;
    match n.verify(&list) {
        Ok((ok, _)) => Ok(!ok.is_empty()),
        Err(_) => Ok(false),
    }
}
