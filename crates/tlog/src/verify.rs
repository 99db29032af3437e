//! A verifier of a published log: what a monitor or a journalist runs.
//! It fetches the checkpoint, checks its signature, fetches every entry
//! bundle and hash tile, recomputes the tree, compares the root, and checks
//! that the log extends the checkpoint seen last (by recomputation and by
//! the server's consistency proof).

use std::future::Future;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::merkle::{self, Hash, ProofError, Tree};
use crate::note::{self, Checkpoint, NoteError};
use crate::tile::{self, TILE_WIDTH, TileId};

/// Fetches paths under the log prefix (`checkpoint`, `tile/0/000`,
/// `consistency?from=1&to=2`). `Ok(None)` means not found.
pub trait Fetch {
    fn get(&self, path: &str) -> impl Future<Output = Result<Option<Vec<u8>>, String>> + Send;
}

/// Why verification failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("fetching {path}: {message}")]
    Fetch { path: String, message: String },
    #[error("{0}: not found")]
    Missing(String),
    #[error(transparent)]
    Note(#[from] NoteError),
    #[error("{path}: {message}")]
    Bundle { path: String, message: String },
    #[error("{0}: does not match the hashes recomputed from the entries")]
    Tile(String),
    #[error("root hash recomputed from {size} entries does not match the signed checkpoint")]
    Root { size: u64 },
    #[error("the log shrank: saw {old} entries before, the checkpoint now says {new}")]
    Rollback { old: u64, new: u64 },
    #[error("the log no longer contains the tree of {old} entries seen before (history rewritten)")]
    Fork { old: u64 },
    #[error("consistency proof {old} → {new}: {source}")]
    Consistency {
        old: u64,
        new: u64,
        #[source]
        source: ProofError,
    },
    #[error("consistency proof: {0}")]
    ProofFormat(String),
}

/// What a successful verification saw.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The checkpoint (body).
    pub checkpoint: Checkpoint,
    /// The signed note as served.
    pub note: String,
    /// Every entry, in order.
    pub entries: Vec<Vec<u8>>,
    /// The recomputed tree.
    pub tree: Tree,
    /// Tiles fetched and compared.
    pub tiles_checked: usize,
}

async fn must<F: Fetch>(f: &F, path: &str) -> Result<Vec<u8>, VerifyError> {
    match f.get(path).await {
        Ok(Some(b)) => Ok(b),
        Ok(None) => Err(VerifyError::Missing(path.to_string())),
        Err(message) => Err(VerifyError::Fetch {
            path: path.to_string(),
            message,
        }),
    }
}

/// Decodes a consistency or inclusion proof: a JSON array of base64 hashes.
pub fn decode_proof(v: &serde_json::Value) -> Result<Vec<Hash>, String> {
    let arr = v.as_array().ok_or("proof is not an array")?;
    arr.iter()
        .map(|h| {
            let s = h.as_str().ok_or("proof hash is not a string")?;
            let b = B64.decode(s).map_err(|_| "proof hash is not base64")?;
            <Hash>::try_from(b).map_err(|_| "proof hash is not 32 bytes")
        })
        .collect::<Result<Vec<_>, &str>>()
        .map_err(str::to_string)
}

/// Encodes a proof as a list of base64 hashes.
pub fn encode_proof(p: &[Hash]) -> Vec<String> {
    p.iter().map(|h| B64.encode(h)).collect()
}

/// Verifies the log behind `fetch` with `vkey`; `previous` is the signed
/// checkpoint seen last (if any), which the log must extend.
pub async fn verify_log<F: Fetch>(
    fetch: &F,
    vkey: &str,
    previous: Option<&str>,
) -> Result<Verified, VerifyError> {
    let note_bytes = must(fetch, "checkpoint").await?;
    let note = String::from_utf8(note_bytes)
        .map_err(|_| NoteError::Note("checkpoint is not UTF-8".into()))?;
    let cp = note::open_checkpoint(&note, vkey)?;
    let prev = previous
        .map(|p| note::open_checkpoint(p, vkey))
        .transpose()?;
    if let Some(p) = &prev
        && p.size > cp.size
    {
        return Err(VerifyError::Rollback {
            old: p.size,
            new: cp.size,
        });
    }
    // Entries, bundle by bundle.
    let mut entries = Vec::with_capacity(cp.size as usize);
    let mut tree = Tree::new();
    let bundles = cp.size.div_ceil(TILE_WIDTH);
    for i in 0..bundles {
        let width = (cp.size - i * TILE_WIDTH).min(TILE_WIDTH) as u32;
        let id = TileId {
            level: None,
            index: i,
            width,
        };
        let path = id.path();
        let b = must(fetch, &path).await?;
        let es = tile::decode_bundle(&b).map_err(|e| VerifyError::Bundle {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if es.len() != width as usize {
            return Err(VerifyError::Bundle {
                path,
                message: format!("{} entries, expected {width}", es.len()),
            });
        }
        for e in es {
            tree.push(&e);
            entries.push(e);
        }
    }
    // Every hash tile must match the hashes recomputed from the entries.
    let mut tiles_checked = 0;
    for id in tile::tiles_for(cp.size) {
        let path = id.path();
        let served = must(fetch, &path).await?;
        let level = id.level.unwrap_or(0);
        let want = tile::hash_tile(&tree, level, id.index, id.width);
        if want.as_deref() != Some(served.as_slice()) {
            return Err(VerifyError::Tile(path));
        }
        tiles_checked += 1;
    }
    if tree.root() != cp.root {
        return Err(VerifyError::Root { size: cp.size });
    }
    if let Some(p) = &prev {
        if tree.root_at(p.size).ok() != Some(p.root) {
            return Err(VerifyError::Fork { old: p.size });
        }
        if p.size > 0 && p.size < cp.size {
            let path = format!("consistency?from={}&to={}", p.size, cp.size);
            let body = must(fetch, &path).await?;
            let v: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| VerifyError::ProofFormat(e.to_string()))?;
            let proof = decode_proof(&v["proof"]).map_err(VerifyError::ProofFormat)?;
            merkle::verify_consistency(p.size, cp.size, &p.root, &cp.root, &proof).map_err(
                |source| VerifyError::Consistency {
                    old: p.size,
                    new: cp.size,
                    source,
                },
            )?;
        }
    }
    Ok(Verified {
        checkpoint: cp,
        note,
        entries,
        tree,
        tiles_checked,
    })
}
