//! C2SP tlog-tiles: tile paths, hash tiles and entry bundles.
//!
//! A hash tile at level `L`, index `N` holds up to 256 consecutive hashes of
//! the tree's level `8·L` (level 0 = leaf hashes); a partial tile of width
//! `W` (1–255) holds the first `W`. An entry bundle holds up to 256 entries,
//! each a big-endian `uint16` length followed by the entry bytes.

use crate::merkle::{Hash, Tree};

/// Entries (or hashes) in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels per tile level.
pub const TILE_HEIGHT: u32 = 8;
/// Longest entry a bundle can hold.
pub const MAX_ENTRY: usize = u16::MAX as usize;

/// A tile coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileId {
    /// `None` for an entry bundle (`tile/entries/…`), else the tile level.
    pub level: Option<u8>,
    /// Index within the level.
    pub index: u64,
    /// Width: 256 for a full tile, 1–255 for a partial one.
    pub width: u32,
}

/// A malformed tile path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a tile path: {0:?}")]
pub struct BadTilePath(pub String);

/// Writes an index in 3-digit groups: 1234067 → `x001/x234/067`.
pub fn encode_index(mut n: u64) -> String {
    let mut s = format!("{:03}", n % 1000);
    while n >= 1000 {
        n /= 1000;
        s = format!("x{:03}/{s}", n % 1000);
    }
    s
}

impl TileId {
    /// The path under the log prefix: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let l = match self.level {
            Some(l) => l.to_string(),
            None => "entries".to_string(),
        };
        let p = if u64::from(self.width) == TILE_WIDTH {
            String::new()
        } else {
            format!(".p/{}", self.width)
        };
        format!("tile/{l}/{}{p}", encode_index(self.index))
    }

    /// Parses what follows `tile/` (e.g. `0/x001/234.p/7` or `entries/005`).
    pub fn parse(rest: &str) -> Result<TileId, BadTilePath> {
        let bad = || BadTilePath(rest.to_string());
        if rest.len() > 80 {
            return Err(bad());
        }
        let mut parts: Vec<&str> = rest.split('/').collect();
        if parts.len() < 2 {
            return Err(bad());
        }
        let level = match parts[0] {
            "entries" => None,
            l if !l.is_empty() && l.len() <= 2 && l.bytes().all(|b| b.is_ascii_digit()) => {
                let v: u8 = l.parse().map_err(|_| bad())?;
                if v > 63 || (l.len() == 2 && l.starts_with('0')) {
                    return Err(bad());
                }
                Some(v)
            }
            _ => return Err(bad()),
        };
        parts.remove(0);
        let mut width = TILE_WIDTH as u32;
        if parts.len() >= 2 && parts[parts.len() - 2].ends_with(".p") {
            let w = parts.pop().ok_or_else(bad)?;
            if w.is_empty()
                || w.len() > 3
                || !w.bytes().all(|b| b.is_ascii_digit())
                || w.starts_with('0')
            {
                return Err(bad());
            }
            width = w.parse().map_err(|_| bad())?;
            if !(1..TILE_WIDTH as u32).contains(&width) {
                return Err(bad());
            }
            let last = parts.len() - 1;
            parts[last] = parts[last].strip_suffix(".p").ok_or_else(bad)?;
        }
        let mut index: u64 = 0;
        let n = parts.len();
        for (i, p) in parts.iter().enumerate() {
            let digits = if i + 1 < n {
                p.strip_prefix('x').ok_or_else(bad)?
            } else {
                p
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let d: u64 = digits.parse().map_err(|_| bad())?;
            index = index
                .checked_mul(1000)
                .and_then(|v| v.checked_add(d))
                .ok_or_else(bad)?;
        }
        Ok(TileId {
            level,
            index,
            width,
        })
    }
}

/// The bytes of hash tile `(level, index, width)` of `tree`, if the tree
/// holds that many hashes at that level.
pub fn hash_tile(tree: &Tree, level: u8, index: u64, width: u32) -> Option<Vec<u8>> {
    let lvl = tree.level(usize::from(level) * TILE_HEIGHT as usize);
    let start = index.checked_mul(TILE_WIDTH)?;
    let end = start.checked_add(u64::from(width))?;
    if end > lvl.len() as u64 {
        return None;
    }
    let mut out = Vec::with_capacity(width as usize * 32);
    for h in &lvl[start as usize..end as usize] {
        out.extend_from_slice(h);
    }
    Some(out)
}

/// The tiles a tree of `size` leaves publishes: for each level, the full
/// tiles and the partial tile at the end (if any).
pub fn tiles_for(size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    let mut n = size; // hashes at this tile level's tree level
    let mut level = 0u8;
    while n > 0 {
        for i in 0..n / TILE_WIDTH {
            out.push(TileId {
                level: Some(level),
                index: i,
                width: TILE_WIDTH as u32,
            });
        }
        if !n.is_multiple_of(TILE_WIDTH) {
            out.push(TileId {
                level: Some(level),
                index: n / TILE_WIDTH,
                width: (n % TILE_WIDTH) as u32,
            });
        }
        n /= TILE_WIDTH;
        level += 1;
    }
    out
}

/// Encodes entries as a bundle: each a big-endian `uint16` length and its bytes.
pub fn encode_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, EntryTooLong> {
    let mut out = Vec::new();
    for e in entries {
        let len = u16::try_from(e.len()).map_err(|_| EntryTooLong(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// An entry longer than a bundle can hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("log entry of {0} bytes is longer than 65535")]
pub struct EntryTooLong(pub usize);

/// A malformed entry bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed entry bundle at byte {0}")]
pub struct BadBundle(pub usize);

/// Splits a bundle into its entries.
pub fn decode_bundle(mut b: &[u8]) -> Result<Vec<Vec<u8>>, BadBundle> {
    let total = b.len();
    let mut out = Vec::new();
    while !b.is_empty() {
        let at = total - b.len();
        if b.len() < 2 {
            return Err(BadBundle(at));
        }
        let len = usize::from(u16::from_be_bytes([b[0], b[1]]));
        if b.len() < 2 + len {
            return Err(BadBundle(at));
        }
        out.push(b[2..2 + len].to_vec());
        b = &b[2 + len..];
    }
    Ok(out)
}

/// Splits a hash tile into hashes.
pub fn tile_hashes(b: &[u8]) -> Option<Vec<Hash>> {
    if !b.len().is_multiple_of(32) {
        return None;
    }
    Some(
        b.chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect(),
    )
}
