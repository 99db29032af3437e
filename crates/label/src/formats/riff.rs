//! RIFF containers: WebP (`EXIF`, `XMP `, `C2PA` chunks) and WAV (`AIGC` chunk,
//! `_PMX` XMP, `id3 ` ID3v2, `C2PA`).

use super::{C2pa, RawItem, Scan, text};
use crate::io::{MAX_ITEM, MAX_NODES, Piece, Src, le32};
use crate::{Config, Error, exif};

/// A chunk: offset of its header, id, data length (without pad).
#[derive(Clone)]
pub(crate) struct Chunk {
    pub off: u64,
    pub id: [u8; 4],
    pub len: u64,
}

impl Chunk {
    pub fn total(&self) -> u64 {
        8 + self.len + (self.len & 1)
    }
}

/// The chunks of a RIFF file (form type checked by the caller).
pub(crate) fn chunks(src: &mut Src, s: Option<&mut Scan>) -> Result<(Vec<Chunk>, [u8; 4]), Error> {
    let h = src.read_at(0, 12, "RIFF header")?;
    if &h[0..4] != b"RIFF" {
        return Err(Error::Malformed("not a RIFF file".into()));
    }
    let form = [h[8], h[9], h[10], h[11]];
    let riff_end = (8 + le32(&h, 4) as u64).min(src.len);
    let mut off = 12u64;
    let mut out = Vec::new();
    let mut truncated = None;
    for _ in 0..MAX_NODES {
        if off + 8 > riff_end {
            if off < riff_end {
                truncated = Some("RIFF chunk header".to_string());
            }
            break;
        }
        let c = src.read_at(off, 8, "RIFF chunk header")?;
        let ch = Chunk {
            off,
            id: [c[0], c[1], c[2], c[3]],
            len: le32(&c, 4) as u64,
        };
        if off + 8 + ch.len > src.len {
            truncated = Some(format!("RIFF chunk {}", String::from_utf8_lossy(&ch.id)));
            break;
        }
        off += ch.total();
        out.push(ch);
    }
    if let Some(t) = truncated {
        match s {
            Some(s) => s.fail(Error::Truncated(t)),
            None => return Err(Error::Truncated(t)),
        }
    }
    Ok((out, form))
}

fn body(src: &mut Src, c: &Chunk) -> Result<Vec<u8>, Error> {
    let what = format!("RIFF chunk {}", String::from_utf8_lossy(&c.id));
    if c.len > MAX_ITEM {
        return Err(Error::Oversized { what, size: c.len });
    }
    src.read_at(c.off + 8, c.len, &what)
}

/// Reads WebP or WAV metadata (`kind` is "webp" or "wav").
pub fn read(src: &mut Src, s: &mut Scan, kind: &str) -> Result<(), Error> {
    let (chunks, _) = chunks(src, Some(s))?;
    let cfg = crate::Config::embedded();
    let mut fmt: Option<Vec<u8>> = None;
    for c in &chunks {
        let r: Result<(), Error> = (|| {
            match (kind, &c.id) {
                ("webp", b"EXIF") => {
                    let d = body(src, c)?;
                    if let Some(v) = exif::user_comment(exif::strip_prefix(&d))? {
                        s.items.push(RawItem {
                            carrier: "webp:exif",
                            key: "UserComment".into(),
                            value: v,
                        });
                    }
                }
                ("webp", b"XMP ") => {
                    let d = body(src, c)?;
                    s.items.push(RawItem {
                        carrier: "webp:xmp",
                        key: "XMP ".into(),
                        value: text(&d),
                    });
                }
                ("wav", b"_PMX") => {
                    let d = body(src, c)?;
                    s.items.push(RawItem {
                        carrier: "wav:xmp",
                        key: "_PMX".into(),
                        value: text(&d),
                    });
                }
                ("wav", b"id3 " | b"ID3 ") => {
                    let d = body(src, c)?;
                    let mut cur = std::io::Cursor::new(d);
                    let mut sub = Src::new(&mut cur)?;
                    super::id3::read_file(&mut sub, s, "wav:TXXX")?;
                }
                ("wav", b"LIST") => {
                    let d = body(src, c)?;
                    for (id, v) in info_items(&d) {
                        s.items.push(RawItem {
                            carrier: "wav:INFO",
                            key: id,
                            value: text(v).trim_end_matches('\0').to_string(),
                        });
                    }
                }
                ("wav", b"fmt ") => fmt = Some(body(src, c)?),
                ("wav", b"data") => {
                    if let Some(f) = &fmt {
                        s.explicit = crate::morse::detect(src, f, c.off + 8, c.len);
                    }
                }
                (_, b"C2PA") => {
                    let d = body(src, c)?;
                    s.c2pa = Some(C2pa::from_store(&format!("{kind}:C2PA"), &d));
                }
                ("wav", id) => {
                    let key = String::from_utf8_lossy(id).into_owned();
                    if cfg.channel_for("wav:chunk", &key).is_some() {
                        let d = body(src, c)?;
                        s.items.push(RawItem {
                            carrier: "wav:chunk",
                            key,
                            value: text(&d).trim_end_matches('\0').to_string(),
                        });
                    }
                }
                _ => {}
            }
            Ok(())
        })();
        if let Err(e) = r {
            s.fail(e);
        }
    }
    Ok(())
}

/// Sub-chunks of a `LIST` body of type `INFO`: (id, data).
fn info_items(d: &[u8]) -> Vec<(String, &[u8])> {
    let mut out = Vec::new();
    if d.len() < 4 || &d[..4] != b"INFO" {
        return out;
    }
    let mut p = 4;
    while p + 8 <= d.len() && out.len() < 4096 {
        let n = le32(d, p + 4) as usize;
        let Some(v) = d.get(p + 8..p + 8 + n) else {
            break;
        };
        out.push((String::from_utf8_lossy(&d[p..p + 4]).into_owned(), v));
        p += 8 + n + (n & 1);
    }
    out
}

/// A `LIST/INFO` body with the `key` sub-chunk's value replaced by `payload`.
fn info_with(d: &[u8], key: &str, payload: &str) -> Vec<u8> {
    let mut out = b"INFO".to_vec();
    for (id, v) in info_items(d) {
        let v: &[u8] = if id == key { payload.as_bytes() } else { v };
        out.extend(chunk(id.as_bytes(), v));
    }
    out
}

/// One RIFF chunk: id, little-endian size, data and a pad byte to an even length.
pub(crate) fn chunk(id: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(data.len() + 9);
    v.extend_from_slice(id);
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    if data.len() % 2 == 1 {
        v.push(0);
    }
    v
}

/// VP8X for a simple-format WebP, from its VP8 or VP8L bitstream header.
fn vp8x_for(src: &mut Src, c: &Chunk) -> Result<Vec<u8>, Error> {
    let d = src.read_at(c.off + 8, c.len.min(30), "WebP bitstream header")?;
    let (w, h, alpha) = match &c.id {
        b"VP8 " if d.len() >= 10 && d[3..6] == [0x9d, 0x01, 0x2a] => (
            (u16::from_le_bytes([d[6], d[7]]) & 0x3fff) as u32,
            (u16::from_le_bytes([d[8], d[9]]) & 0x3fff) as u32,
            false,
        ),
        b"VP8L" if d.len() >= 5 && d[0] == 0x2f => {
            let b = le32(&d, 1);
            (
                (b & 0x3fff) + 1,
                ((b >> 14) & 0x3fff) + 1,
                (b >> 28) & 1 == 1,
            )
        }
        _ => {
            return Err(Error::Malformed(
                "WebP: unrecognised bitstream header".into(),
            ));
        }
    };
    let mut data = vec![if alpha { 0x10 } else { 0 }, 0, 0, 0];
    data.extend_from_slice(&(w.saturating_sub(1)).to_le_bytes()[..3]);
    data.extend_from_slice(&(h.saturating_sub(1)).to_le_bytes()[..3]);
    Ok(chunk(b"VP8X", &data))
}

/// Plans a labelled WebP or WAV: old label/XMP/EXIF chunks are replaced by new ones
/// appended at the end of the RIFF form (WebP EXIF keeps its other tags); the RIFF
/// size is updated; every other chunk is copied unchanged.
pub fn plan(src: &mut Src, cfg: &Config, payload: &str, kind: &str) -> Result<Vec<Piece>, Error> {
    let (chunks, _) = chunks(src, None)?;
    let mut keep: Vec<Piece> = Vec::new();
    let mut appended: Vec<u8> = Vec::new();
    let mut old_xmp: Option<String> = None;
    let mut old_exif: Option<Vec<u8>> = None;
    let mut exif_prefixed = false;
    let xmp_ch = cfg.writable(kind).find(|c| c.xmp);
    let label_chunk = if kind == "wav" {
        cfg.write_channel("wav", "wav:chunk")
    } else {
        None
    };
    let mut has_vp8x = false;
    for c in &chunks {
        let id = &c.id[..];
        let is_xmp = xmp_ch.is_some_and(|x| x.key.as_bytes() == id);
        if is_xmp {
            old_xmp = Some(text(&body(src, c)?));
            continue;
        }
        if kind == "webp" && id == b"EXIF" {
            let d = body(src, c)?;
            exif_prefixed = d.starts_with(b"Exif\0\0");
            old_exif = Some(exif::strip_prefix(&d).to_vec());
            continue;
        }
        if kind == "wav"
            && cfg
                .channels
                .iter()
                .any(|ch| ch.carrier == "wav:chunk" && ch.key.as_bytes() == id)
        {
            continue;
        }
        if kind == "wav" && (id == b"id3 " || id == b"ID3 ") {
            // an ID3 tag in the WAV may carry TXXX:AIGC too: update it, keep the rest
            let key = cfg
                .channels
                .iter()
                .find(|c| c.carrier == "wav:TXXX")
                .map(|c| c.key.clone());
            if let Some(key) = key {
                let d = body(src, c)?;
                let mut cur = std::io::Cursor::new(d);
                let mut sub = Src::new(&mut cur)?;
                if super::id3::parse_has(&mut sub, &key)? {
                    let plan = super::id3::retag(&mut sub, &key, payload)?;

                    let mut tag = Vec::new();
                    crate::io::execute(&plan, &mut cur, &mut tag)?;
                    keep.push(Piece::Bytes(chunk(id, &tag)));
                    continue;
                }
            }
        }
        if kind == "wav" && id == b"LIST" {
            // a stale label in LIST/INFO would disagree with the new one: update it
            let key = cfg
                .channels
                .iter()
                .find(|c| c.carrier == "wav:INFO")
                .map(|c| c.key.clone());
            if let Some(key) = key {
                let d = body(src, c)?;
                if info_items(&d).iter().any(|(id, _)| *id == key) {
                    keep.push(Piece::Bytes(chunk(b"LIST", &info_with(&d, &key, payload))));
                    continue;
                }
            }
        }
        if kind == "webp" && id == b"VP8X" {
            has_vp8x = true;
            let mut d = body(src, c)?;
            if d.is_empty() {
                return Err(Error::Malformed("WebP: empty VP8X".into()));
            }
            d[0] |= 0x08 | 0x04; // EXIF and XMP present
            keep.push(Piece::Bytes(chunk(b"VP8X", &d)));
            continue;
        }
        keep.push(Piece::Copy(c.off, c.total()));
    }
    if kind == "webp" && !has_vp8x {
        let img = chunks
            .iter()
            .find(|c| &c.id == b"VP8 " || &c.id == b"VP8L")
            .ok_or_else(|| Error::Malformed("WebP without image data".into()))?;
        let mut x = vp8x_for(src, img)?;
        x[8] |= 0x08 | 0x04;
        keep.insert(0, Piece::Bytes(x));
    }
    if kind == "webp" && cfg.write_channel("webp", "webp:exif").is_some() {
        let tiff = exif::set_user_comment(old_exif.as_deref(), &exif::encode_comment(payload))?;
        let mut d = if exif_prefixed {
            b"Exif\0\0".to_vec()
        } else {
            Vec::new()
        };
        d.extend_from_slice(&tiff);
        appended.extend(chunk(b"EXIF", &d));
    }
    if let Some(ch) = label_chunk {
        if ch.key.len() != 4 {
            return Err(Error::Options(format!(
                "channel {}: a RIFF chunk id has 4 bytes",
                ch.id
            )));
        }
        appended.extend(chunk(ch.key.as_bytes(), payload.as_bytes()));
    }
    if let Some(ch) = xmp_ch {
        let packet = cfg.xmp.upsert(old_xmp.as_deref(), payload);
        appended.extend(chunk(ch.key.as_bytes(), packet.as_bytes()));
    }
    keep.push(Piece::Bytes(appended));
    let body_len: u64 = keep
        .iter()
        .map(|p| match p {
            Piece::Copy(_, l) => *l,
            Piece::Bytes(b) => b.len() as u64,
        })
        .sum::<u64>()
        + 4;
    if body_len > u32::MAX as u64 {
        return Err(Error::Unsupported("RIFF file over 4 GiB".into()));
    }
    let form = src.read_at(8, 4, "RIFF form")?;
    let mut head = b"RIFF".to_vec();
    head.extend_from_slice(&(body_len as u32).to_le_bytes());
    head.extend_from_slice(&form);
    let mut plan = vec![Piece::Bytes(head)];
    plan.extend(keep);
    Ok(plan)
}
