//! Bounded random access for container readers, and output plans for writers.

use std::io::{self, Read, Seek, SeekFrom, Write};

use crate::Error;

/// Largest metadata item read into memory (larger ones are reported as oversized).
pub const MAX_ITEM: u64 = 16 << 20;
/// Most boxes, chunks or segments walked in one file.
pub const MAX_NODES: usize = 200_000;

/// Something to read metadata from.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// A file or buffer with its length; every read is bounded by the length.
pub struct Src<'a> {
    r: &'a mut dyn ReadSeek,
    /// Total length in bytes.
    pub len: u64,
}

impl<'a> Src<'a> {
    /// Wraps a reader, measuring its length.
    pub fn new(r: &'a mut dyn ReadSeek) -> io::Result<Src<'a>> {
        let len = r.seek(SeekFrom::End(0))?;
        r.seek(SeekFrom::Start(0))?;
        Ok(Src { r, len })
    }

    /// Reads exactly `n` bytes at `off`, or `Error::Truncated` when the file ends first.
    pub fn read_at(&mut self, off: u64, n: u64, what: &str) -> Result<Vec<u8>, Error> {
        if off.checked_add(n).is_none_or(|e| e > self.len) {
            return Err(Error::Truncated(what.to_string()));
        }
        if n > MAX_ITEM {
            return Err(Error::Oversized {
                what: what.to_string(),
                size: n,
            });
        }
        self.r.seek(SeekFrom::Start(off))?;
        let mut buf = vec![0u8; n as usize];
        self.r.read_exact(&mut buf)?;
        Ok(buf)
    }

    /// Reads up to `n` bytes at `off` (fewer at the end of the file).
    pub fn read_upto(&mut self, off: u64, n: u64) -> Result<Vec<u8>, Error> {
        if off >= self.len {
            return Ok(Vec::new());
        }
        let n = n.min(self.len - off).min(MAX_ITEM);
        self.read_at(off, n, "data")
    }
}

/// One piece of an output file.
#[derive(Debug, Clone)]
pub enum Piece {
    /// Copy `len` bytes from the input at `off`.
    Copy(u64, u64),
    /// Write these bytes.
    Bytes(Vec<u8>),
}

/// Executes a plan: the output is the pieces in order; input bytes are copied
/// unchanged, streaming (memory stays flat in file size).
pub fn execute(plan: &[Piece], input: &mut dyn ReadSeek, out: &mut dyn Write) -> io::Result<()> {
    for p in plan {
        match p {
            Piece::Copy(off, len) => {
                input.seek(SeekFrom::Start(*off))?;
                let n = io::copy(&mut input.take(*len), out)?;
                if n != *len {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "input shrank while copying",
                    ));
                }
            }
            Piece::Bytes(b) => out.write_all(b)?,
        }
    }
    Ok(())
}

pub fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}
pub fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}
pub fn be64(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_be_bytes(a)
}
pub fn le32(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

impl Src<'_> {
    /// Like `read_at` with a larger limit (256 MiB), for structures a writer must
    /// rebuild (an MP4 `moov`).
    pub fn read_at_big(&mut self, off: u64, n: u64, what: &str) -> Result<Vec<u8>, Error> {
        if n > 256 << 20 {
            return Err(Error::Oversized {
                what: what.to_string(),
                size: n,
            });
        }
        if off.checked_add(n).is_none_or(|e| e > self.len) {
            return Err(Error::Truncated(what.to_string()));
        }
        self.r.seek(SeekFrom::Start(off))?;
        let mut buf = vec![0u8; n as usize];
        self.r.read_exact(&mut buf)?;
        Ok(buf)
    }
}
