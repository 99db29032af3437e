//! Append-only, hash-chained audit log. Each entry's hash is
//! `SHA-256(prev_hash ‖ "\n" ‖ canonical JSON of {seq, at, actor, action, subject, detail})`,
//! hex-encoded; the first entry's `prev_hash` is 64 zeros. Editing any field,
//! deleting or reordering entries breaks the chain; truncating the tail is
//! caught by the head record kept beside the log (`audit_head`).

use crate::domain::AuditEntry;
use sha2::{Digest, Sha256};

/// `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Hex encoding (lower case).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The hash of an entry given its predecessor's hash.
pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at: &str,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &serde_json::Value,
) -> String {
    // serde_json::Value's maps are BTreeMaps (no preserve_order), so key order is canonical.
    let body = serde_json::json!({
        "seq": seq, "at": at, "actor": actor, "action": action, "subject": subject, "detail": detail,
    });
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(body.to_string().as_bytes());
    hex(&h.finalize())
}

/// A break in the chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
pub enum ChainError {
    #[error("entry {seq}: sequence gap, expected {expected} (entry deleted?)")]
    Gap { seq: i64, expected: i64 },
    #[error(
        "entry {seq}: prev_hash does not match the previous entry (entry deleted or reordered?)"
    )]
    Link { seq: i64 },
    #[error("entry {seq}: content does not match its hash (entry edited?)")]
    Content { seq: i64 },
    #[error("log ends at entry {last} but the head record says {head_seq} (tail deleted?)")]
    Head { last: i64, head_seq: i64 },
}

/// Verifies entries in sequence order; `head` is the (seq, hash) kept beside the log.
pub fn verify(entries: &[AuditEntry], head: Option<(i64, String)>) -> Result<usize, ChainError> {
    let mut prev = GENESIS.to_string();
    let mut expected = 1;
    for e in entries {
        if e.seq != expected {
            return Err(ChainError::Gap {
                seq: e.seq,
                expected,
            });
        }
        if e.prev_hash != prev {
            return Err(ChainError::Link { seq: e.seq });
        }
        let h = entry_hash(
            &e.prev_hash,
            e.seq,
            &e.at,
            &e.actor,
            &e.action,
            &e.subject,
            &e.detail,
        );
        if h != e.hash {
            return Err(ChainError::Content { seq: e.seq });
        }
        prev = e.hash.clone();
        expected += 1;
    }
    let last = expected - 1;
    if let Some((head_seq, head_hash)) = head
        && (head_seq != last || (last > 0 && head_hash != prev))
    {
        return Err(ChainError::Head { last, head_seq });
    }
    Ok(entries.len())
}
