//! beian-tlog: the public register and audit log as a verifiable
//! transparency log.
//!
//! - [`merkle`]: RFC 6962 leaf and node hashes, an append-only [`Tree`] of
//!   complete-subtree hashes, inclusion and consistency proofs and their
//!   checks (RFC 9162 §2.1.3–2.1.4).
//! - [`tile`]: C2SP tlog-tiles paths (`tile/<L>/<N>[.p/<W>]`,
//!   `tile/entries/<N>[.p/<W>]`), hash tiles and entry bundles.
//! - [`note`]: C2SP tlog-checkpoint bodies signed as C2SP signed notes with
//!   Ed25519 (Cloudflare's `signed_note`), key files, verifier keys.
//! - [`verify`]: a verifier of a published log over any [`verify::Fetch`].
//!
//! No HTTP and no SQL here: the registry stores entries, the server serves
//! tiles, the binary fetches them.

pub mod merkle;
pub mod note;
pub mod tile;
pub mod verify;

pub use merkle::{Hash, ProofError, Tree, leaf_hash, node_hash};
pub use note::{Checkpoint, LogSigner, NoteError};
pub use tile::TileId;
