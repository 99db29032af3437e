//! PNG: `tEXt`/`iTXt`/`zTXt` chunks, XMP in `iTXt XML:com.adobe.xmp`, EXIF
//! UserComment in `eXIf` (read only), C2PA in `caBX`.

use std::io::Read;

use super::{C2pa, RawItem, Scan, text};
use crate::io::{MAX_ITEM, MAX_NODES, Piece, Src, be32};
use crate::{Config, Error};

const SIG: &[u8] = b"\x89PNG\r\n\x1a\n";

struct Chunk {
    off: u64,
    len: u64,
    ty: [u8; 4],
}

fn chunks(
    src: &mut Src,
    mut each: impl FnMut(&mut Src, &Chunk) -> Result<(), Error>,
) -> Result<(), Error> {
    let sig = src.read_at(0, 8, "PNG signature")?;
    if sig != SIG {
        return Err(Error::Malformed("not a PNG signature".into()));
    }
    let mut off = 8u64;
    for _ in 0..MAX_NODES {
        if off == src.len {
            return Err(Error::Truncated("PNG (no IEND chunk)".into()));
        }
        let h = src.read_at(off, 8, "PNG chunk header")?;
        let len = be32(&h, 0) as u64;
        if len > 0x7FFF_FFFF {
            return Err(Error::Malformed(format!(
                "PNG chunk at {off} has length {len}"
            )));
        }
        let ty = [h[4], h[5], h[6], h[7]];
        if off + 12 + len > src.len {
            return Err(Error::Truncated(format!(
                "PNG chunk {}",
                String::from_utf8_lossy(&ty)
            )));
        }
        let c = Chunk { off, len, ty };
        each(src, &c)?;
        off += 12 + len;
        if &ty == b"IEND" {
            return Ok(());
        }
    }
    Err(Error::Malformed("PNG: too many chunks".into()))
}

fn read_data(src: &mut Src, c: &Chunk) -> Result<Vec<u8>, Error> {
    let what = format!("PNG {} chunk", String::from_utf8_lossy(&c.ty));
    if c.len > MAX_ITEM {
        return Err(Error::Oversized { what, size: c.len });
    }
    let d = src.read_at(c.off + 4, 4 + c.len + 4, &what)?;
    let body = &d[4..4 + c.len as usize];
    let crc = be32(&d, 4 + c.len as usize);
    let mut h = crc32fast::Hasher::new();
    h.update(&d[..4 + c.len as usize]);
    if h.finalize() != crc {
        return Err(Error::Malformed(format!("{what}: CRC mismatch")));
    }
    Ok(body.to_vec())
}

fn inflate(b: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(b)
        .take(MAX_ITEM + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::Malformed(format!("PNG compressed text: {e}")))?;
    if out.len() as u64 > MAX_ITEM {
        return Err(Error::Oversized {
            what: "PNG compressed text".into(),
            size: out.len() as u64,
        });
    }
    Ok(out)
}

/// Parses a text chunk body into (keyword, text).
fn parse_text(ty: &[u8; 4], d: &[u8]) -> Result<(String, String), Error> {
    let nul = d
        .iter()
        .position(|&c| c == 0)
        .ok_or_else(|| Error::Malformed("PNG text chunk without keyword".into()))?;
    let key = super::latin1(&d[..nul]);
    let rest = &d[nul + 1..];
    match ty {
        b"tEXt" => Ok((key, super::latin1(rest))),
        b"zTXt" => {
            let body = rest
                .get(1..)
                .ok_or_else(|| Error::Malformed("zTXt".into()))?;
            Ok((key, super::latin1(&inflate(body)?)))
        }
        _ => {
            // iTXt: flag, method, language\0, translated\0, text (UTF-8)
            if rest.len() < 2 {
                return Err(Error::Malformed("iTXt too short".into()));
            }
            let flag = rest[0];
            let r = &rest[2..];
            let l = r
                .iter()
                .position(|&c| c == 0)
                .ok_or_else(|| Error::Malformed("iTXt language".into()))?;
            let r = &r[l + 1..];
            let t = r
                .iter()
                .position(|&c| c == 0)
                .ok_or_else(|| Error::Malformed("iTXt translated keyword".into()))?;
            let body = &r[t + 1..];
            let body = if flag == 1 {
                inflate(body)?
            } else {
                body.to_vec()
            };
            Ok((key, text(&body)))
        }
    }
}

/// Reads PNG metadata.
pub fn read(src: &mut Src, s: &mut Scan) -> Result<(), Error> {
    chunks(src, |src, c| {
        match &c.ty {
            t @ (b"tEXt" | b"iTXt" | b"zTXt") => {
                let carrier = match t {
                    b"tEXt" => "png:tEXt",
                    b"iTXt" => "png:iTXt",
                    _ => "png:zTXt",
                };
                match read_data(src, c).and_then(|d| parse_text(t, &d)) {
                    Ok((key, value)) => s.items.push(RawItem {
                        carrier,
                        key,
                        value,
                    }),
                    Err(e) => s.fail(e),
                }
            }
            b"eXIf" => match read_data(src, c)
                .and_then(|d| crate::exif::user_comment(crate::exif::strip_prefix(&d)))
            {
                Ok(Some(v)) => s.items.push(RawItem {
                    carrier: "png:exif",
                    key: "UserComment".into(),
                    value: v,
                }),
                Ok(None) => {}
                Err(e) => s.fail(e),
            },
            b"caBX" => match read_data(src, c) {
                Ok(d) => s.c2pa = Some(C2pa::from_store("png:caBX", &d)),
                Err(e) => s.fail(e),
            },
            _ => {}
        }
        Ok(())
    })
}

/// One PNG chunk: length, type, data and CRC.
pub(crate) fn chunk(ty: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(data.len() + 12);
    v.extend_from_slice(&(data.len() as u32).to_be_bytes());
    v.extend_from_slice(ty);
    v.extend_from_slice(data);
    let mut h = crc32fast::Hasher::new();
    h.update(&v[4..]);
    v.extend_from_slice(&h.finalize().to_be_bytes());
    v
}

/// Plans a labelled copy: existing label and XMP chunks are replaced, the new text
/// chunk and XMP chunk go right after IHDR, every other chunk is copied unchanged.
pub fn plan(src: &mut Src, cfg: &Config, payload: &str) -> Result<Vec<Piece>, Error> {
    let text_ch = cfg.write_channel("png", "png:tEXt");
    let xmp_ch = cfg.writable("png").find(|c| c.xmp);
    // (offset, length, replacement bytes)
    let mut keep: Vec<(u64, u64, Option<Vec<u8>>)> = Vec::new();
    let mut old_xmp: Option<String> = None;
    let mut ihdr_end = None;
    chunks(src, |src, c| {
        let mut drop = false;
        if &c.ty == b"eXIf" {
            // a UserComment there would keep the old label: it gets the new one
            let d = read_data(src, c)?;
            let tiff = crate::exif::strip_prefix(&d);
            if crate::exif::user_comment(tiff)?.is_some() {
                let new = crate::exif::set_user_comment(
                    Some(tiff),
                    &crate::exif::encode_comment(payload),
                )?;
                keep.push((c.off, 12 + c.len, Some(chunk(b"eXIf", &new))));
                return Ok(());
            }
        }
        if matches!(&c.ty, b"tEXt" | b"iTXt" | b"zTXt") {
            let d = read_data(src, c)?;
            let (key, value) = parse_text(&c.ty, &d)?;
            if cfg
                .channels
                .iter()
                .any(|ch| ch.format == "png" && !ch.xmp && ch.key.eq_ignore_ascii_case(&key))
            {
                drop = true;
            }
            if let Some(x) = xmp_ch
                && key == x.key
            {
                old_xmp = Some(value);
                drop = true;
            }
        }
        if &c.ty == b"IHDR" {
            ihdr_end = Some(c.off + 12 + c.len);
        }
        if !drop {
            keep.push((c.off, 12 + c.len, None));
        }
        Ok(())
    })?;
    let ihdr_end = ihdr_end.ok_or_else(|| Error::Malformed("PNG without IHDR".into()))?;
    let chunk_end = keep.iter().map(|k| k.0 + k.1).max().unwrap_or(8);
    let mut new = Vec::new();
    if let Some(ch) = text_ch {
        let mut d = ch.key.as_bytes().to_vec();
        d.push(0);
        d.extend_from_slice(payload.as_bytes());
        new.extend(chunk(b"tEXt", &d));
    }
    if let Some(ch) = xmp_ch {
        let packet = cfg.xmp.upsert(old_xmp.as_deref(), payload);
        let mut d = ch.key.as_bytes().to_vec();
        d.extend_from_slice(&[0, 0, 0, 0, 0]);
        d.extend_from_slice(packet.as_bytes());
        new.extend(chunk(b"iTXt", &d));
    }
    let mut plan = vec![Piece::Copy(0, 8)];
    for (off, len, bytes) in keep {
        match bytes {
            Some(b) => plan.push(Piece::Bytes(b)),
            None => plan.push(Piece::Copy(off, len)),
        }
        if off + len == ihdr_end {
            plan.push(Piece::Bytes(std::mem::take(&mut new)));
        }
    }
    let end = src.len;
    let last = chunk_end;
    if last < end {
        plan.push(Piece::Copy(last, end - last)); // bytes after IEND, kept
    }
    Ok(plan)
}
