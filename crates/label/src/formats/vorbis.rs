//! Vorbis comments (`KEY=value`, keys case-insensitive): FLAC `VORBIS_COMMENT`
//! metadata blocks (read and write) and the comment headers of Ogg streams (Vorbis,
//! Opus, FLAC-in-Ogg, Theora, Speex; written by [`super::ogg`]).
//!
//! Only the metadata at the start of the file is read: the FLAC metadata blocks, or
//! the first pages of an Ogg file up to each stream's comment header. Audio frames
//! are never read.

use super::{RawItem, Scan};
use crate::io::{MAX_ITEM, MAX_NODES, Piece, Src, le32};
use crate::{Config, Error};

/// Most bytes of Ogg pages read while looking for comment headers.
const OGG_HEAD_LIMIT: u64 = 2 * MAX_ITEM;

/// The comments of a Vorbis comment body (without any packet prefix):
/// (KEY upper-cased, value).
pub fn comments(b: &[u8]) -> Result<Vec<(String, String)>, Error> {
    let bad = |w: &str| Error::Truncated(format!("Vorbis comment {w}"));
    let vlen = b
        .get(0..4)
        .map(|_| le32(b, 0) as usize)
        .ok_or_else(|| bad("vendor"))?;
    let mut p = 4usize.checked_add(vlen).ok_or_else(|| bad("vendor"))?;
    if p + 4 > b.len() {
        return Err(bad("count"));
    }
    let n = le32(b, p) as usize;
    p += 4;
    let mut out = Vec::new();
    for _ in 0..n.min(MAX_NODES) {
        if p + 4 > b.len() {
            return Err(bad("entry"));
        }
        let l = le32(b, p) as usize;
        p += 4;
        let e = b.get(p..p.saturating_add(l)).ok_or_else(|| bad("entry"))?;
        p += l;
        let s = String::from_utf8_lossy(e);
        if let Some((k, v)) = s.split_once('=') {
            out.push((k.to_ascii_uppercase(), v.to_string()));
        }
    }
    Ok(out)
}

fn push(s: &mut Scan, carrier: &'static str, b: &[u8]) -> Result<(), Error> {
    for (key, value) in comments(b)? {
        s.items.push(RawItem {
            carrier,
            key,
            value,
        });
    }
    Ok(())
}

/// A FLAC metadata block: offset of the block header, type, body length, last flag.
type Block = (u64, u8, u64, bool);

/// FLAC metadata blocks, and where the audio frames start.
fn flac_blocks(src: &mut Src, start: u64) -> Result<(Vec<Block>, u64), Error> {
    let sig = src.read_at(start, 4, "FLAC signature")?;
    if sig != b"fLaC" {
        return Err(Error::Malformed("not a FLAC stream".into()));
    }
    let mut off = start + 4;
    let mut out = Vec::new();
    for _ in 0..MAX_NODES {
        let h = src.read_at(off, 4, "FLAC metadata block header")?;
        let last = h[0] & 0x80 != 0;
        let ty = h[0] & 0x7F;
        let len = ((h[1] as u64) << 16) | ((h[2] as u64) << 8) | h[3] as u64;
        if off + 4 + len > src.len {
            return Err(Error::Truncated(format!("FLAC metadata block {ty}")));
        }
        out.push((off, ty, len, last));
        off += 4 + len;
        if last {
            return Ok((out, off));
        }
    }
    Err(Error::Malformed("FLAC: too many metadata blocks".into()))
}

/// Where the FLAC stream starts (after an ID3v2 tag some tools put in front).
fn flac_start(src: &mut Src) -> Result<u64, Error> {
    let h = src.read_upto(0, 10)?;
    if h.len() == 10 && &h[..3] == b"ID3" {
        let size = ((h[6] as u64 & 0x7f) << 21)
            | ((h[7] as u64 & 0x7f) << 14)
            | ((h[8] as u64 & 0x7f) << 7)
            | (h[9] as u64 & 0x7f);
        let footer = if h[5] & 0x10 != 0 { 10 } else { 0 };
        return Ok(10 + size + footer);
    }
    Ok(0)
}

/// Reads FLAC metadata: `VORBIS_COMMENT` entries (and an ID3v2 tag in front).
pub fn read_flac(src: &mut Src, s: &mut Scan) -> Result<(), Error> {
    let start = flac_start(src)?;
    if start > 0 {
        super::id3::read_file(src, s, "flac:TXXX")?;
    }
    let (blocks, _) = flac_blocks(src, start)?;
    for (off, ty, len, _) in blocks {
        if ty == 4 {
            if len > MAX_ITEM {
                s.fail(Error::Oversized {
                    what: "FLAC VORBIS_COMMENT".into(),
                    size: len,
                });
                continue;
            }
            let b = src.read_at(off + 4, len, "FLAC VORBIS_COMMENT")?;
            if let Err(e) = push(s, "flac:vorbis", &b) {
                s.fail(e);
            }
        }
    }
    Ok(())
}

fn block_header(ty: u8, last: bool, n: u64) -> Result<Vec<u8>, Error> {
    if n >= 1 << 24 {
        return Err(Error::Unsupported("FLAC metadata block over 16 MiB".into()));
    }
    Ok(vec![
        ty | if last { 0x80 } else { 0 },
        (n >> 16) as u8,
        (n >> 8) as u8,
        n as u8,
    ])
}

/// A Vorbis comment body with `key` set to `value` (other entries kept).
pub(crate) fn comment_with(old: Option<&[u8]>, key: &str, value: &str) -> Vec<u8> {
    let mut vendor = b"beian-label".to_vec();
    let mut entries: Vec<Vec<u8>> = Vec::new();
    if let Some(b) = old
        && b.len() >= 8
    {
        let vlen = le32(b, 0) as usize;
        if let Some(v) = b.get(4..4 + vlen) {
            vendor = v.to_vec();
            let mut p = 4 + vlen;
            let n = b.get(p..p + 4).map_or(0, |_| le32(b, p) as usize);
            p += 4;
            for _ in 0..n.min(MAX_NODES) {
                let Some(l) = b.get(p..p + 4).map(|_| le32(b, p) as usize) else {
                    break;
                };
                let Some(e) = b.get(p + 4..p + 4 + l) else {
                    break;
                };
                p += 4 + l;
                let k = e.split(|&c| c == b'=').next().unwrap_or_default();
                if !k.eq_ignore_ascii_case(key.as_bytes()) {
                    entries.push(e.to_vec());
                }
            }
        }
    }
    entries.push(format!("{key}={value}").into_bytes());
    let mut out = (vendor.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&vendor);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        out.extend_from_slice(&(e.len() as u32).to_le_bytes());
        out.extend(e);
    }
    out
}

/// Plans a labelled FLAC: the `VORBIS_COMMENT` block is replaced (other comments
/// kept) or added after STREAMINFO; other blocks and the audio frames are copied.
pub fn plan_flac(src: &mut Src, cfg: &Config, payload: &str) -> Result<Vec<Piece>, Error> {
    let Some(ch) = cfg.write_channel("flac", "flac:vorbis") else {
        return Ok(vec![Piece::Copy(0, src.len)]);
    };
    let start = flac_start(src)?;
    let (blocks, audio) = flac_blocks(src, start)?;
    let mut old = None;
    for &(off, ty, len, _) in &blocks {
        if ty == 4 && old.is_none() {
            old = Some(src.read_at(off + 4, len, "FLAC VORBIS_COMMENT")?);
        }
    }
    let comment = comment_with(old.as_deref(), &ch.key, payload);
    // (type, body source): keep order, our comment where the old one was, or second
    let mut out: Vec<(u8, Option<(u64, u64)>)> = Vec::new();
    let mut placed = false;
    for &(off, ty, len, _) in &blocks {
        if ty == 4 {
            if !placed {
                out.push((4, None));
                placed = true;
            }
            continue;
        }
        out.push((ty, Some((off + 4, len))));
        if ty == 0 && !placed {
            out.push((4, None));
            placed = true;
        }
    }
    if !placed {
        out.insert(out.len().min(1), (4, None));
    }
    let mut plan = vec![Piece::Copy(0, start + 4)];
    // an ID3v2 tag in front carrying TXXX:AIGC would keep the old label: retagged
    if start > 0
        && let Some(key) = cfg
            .channels
            .iter()
            .find(|c| c.carrier == "flac:TXXX")
            .map(|c| c.key.clone())
        && super::id3::parse_has(src, &key)?
        && let Some(Piece::Bytes(tag)) = super::id3::retag(src, &key, payload)?.into_iter().next()
    {
        plan = vec![Piece::Bytes(tag), Piece::Copy(start, 4)];
    }
    let n = out.len();
    for (i, (ty, body)) in out.into_iter().enumerate() {
        let last = i + 1 == n;
        match body {
            None => {
                let mut b = block_header(4, last, comment.len() as u64)?;
                b.extend_from_slice(&comment);
                plan.push(Piece::Bytes(b));
            }
            Some((o, l)) => {
                plan.push(Piece::Bytes(block_header(ty, last, l)?));
                plan.push(Piece::Copy(o, l));
            }
        }
    }
    plan.push(Piece::Copy(audio, src.len - audio));
    Ok(plan)
}

/// Reads the comment headers of the streams of an Ogg file.
pub fn read_ogg(src: &mut Src, s: &mut Scan) -> Result<(), Error> {
    // per stream serial: (packets so far, partial packet, kind, done)
    struct Stream {
        serial: u32,
        packets: usize,
        partial: Vec<u8>,
        kind: u8, // 0 unknown, 1 vorbis, 2 opus, 3 flac, 4 theora, 5 speex
        done: bool,
    }
    let mut streams: Vec<Stream> = Vec::new();
    let mut off = 0u64;
    // every stream's beginning page comes first: until a page that is not one, a stream
    // may still begin (a Skeleton's, read as done at once, is often the first)
    let mut begun = false;
    for _ in 0..MAX_NODES {
        if off >= src.len {
            break;
        }
        if off > OGG_HEAD_LIMIT {
            s.fail(Error::Oversized {
                what: "Ogg header pages".into(),
                size: off,
            });
            return Ok(());
        }
        let h = src.read_at(off, 27, "Ogg page header")?;
        if &h[..4] != b"OggS" {
            return Err(Error::Malformed(format!("Ogg: no page at {off}")));
        }
        let serial = le32(&h, 14);
        let nseg = h[26] as u64;
        let lacing = src.read_at(off + 27, nseg, "Ogg segment table")?;
        let body_len: u64 = lacing.iter().map(|&x| x as u64).sum();
        let body = src.read_at(off + 27 + nseg, body_len, "Ogg page")?;
        let mut zeroed = h.clone();
        zeroed[22..26].fill(0);
        let crc = super::ogg::crc(super::ogg::crc(super::ogg::crc(0, &zeroed), &lacing), &body);
        if crc != le32(&h, 22) {
            s.fail(Error::Malformed(format!(
                "Ogg page at byte {off}: CRC mismatch (the page is damaged)"
            )));
        }
        off += 27 + nseg + body_len;
        begun |= h[5] & 0x02 == 0;
        let idx = match streams.iter().position(|st| st.serial == serial) {
            Some(i) => i,
            None => {
                if streams.len() >= 16 {
                    continue;
                }
                streams.push(Stream {
                    serial,
                    packets: 0,
                    partial: Vec::new(),
                    kind: 0,
                    done: false,
                });
                streams.len() - 1
            }
        };
        let st = &mut streams[idx];
        if st.done {
            if begun && streams.iter().all(|x| x.done) {
                break;
            }
            continue;
        }
        if h[5] & 0x01 == 0 {
            st.partial.clear(); // not a continuation: start afresh
        }
        let mut p = 0usize;
        for &l in &lacing {
            let l = l as usize;
            st.partial.extend_from_slice(&body[p..p + l]);
            p += l;
            if st.partial.len() as u64 > MAX_ITEM {
                st.done = true;
                s.fail(Error::Oversized {
                    what: "Ogg header packet".into(),
                    size: st.partial.len() as u64,
                });
                break;
            }
            if l < 255 {
                let pkt = std::mem::take(&mut st.partial);
                st.packets += 1;
                if st.packets == 1 {
                    st.kind = if pkt.starts_with(b"\x01vorbis") {
                        1
                    } else if pkt.starts_with(b"OpusHead") {
                        2
                    } else if pkt.starts_with(b"\x7FFLAC") {
                        3
                    } else if pkt.starts_with(b"\x80theora") {
                        4
                    } else if pkt.starts_with(b"Speex   ") {
                        5
                    } else {
                        st.done = true;
                        0
                    };
                    continue;
                }
                let body = match st.kind {
                    1 => pkt.strip_prefix(b"\x03vorbis"),
                    2 => pkt.strip_prefix(b"OpusTags"),
                    4 => pkt.strip_prefix(b"\x81theora"),
                    5 => Some(&pkt[..]),
                    // FLAC-in-Ogg: metadata blocks as packets; type 4 is the comment
                    3 if pkt.first().is_some_and(|b| b & 0x7F == 4) => pkt.get(4..),
                    _ => None,
                };
                if let Some(b) = body {
                    if let Err(e) = push(s, "ogg:vorbis", b) {
                        s.fail(e);
                    }
                    st.done = true;
                } else if st.kind != 3 || st.packets > 64 {
                    st.done = true;
                }
            }
        }
        if begun && streams.iter().all(|x| x.done) {
            break;
        }
    }
    if off < src.len {
        ogg_tail(src, off, s)?;
    }
    Ok(())
}

/// Checks that the file ends with a whole Ogg page, with one read of at most the
/// largest page size at the end (the media pages in between are not walked).
fn ogg_tail(src: &mut Src, from: u64, s: &mut Scan) -> Result<(), Error> {
    const MAX_PAGE: u64 = 27 + 255 + 255 * 255;
    let n = MAX_PAGE.min(src.len - from);
    let start = src.len - n;
    let t = src.read_at(start, n, "Ogg tail")?;
    let mut i = t.len();
    while let Some(p) = super::find_last(&t[..i], b"OggS") {
        i = p;
        let Some(h) = t.get(p..p + 27) else { continue };
        let nseg = h[26] as usize;
        let Some(lacing) = t.get(p + 27..p + 27 + nseg) else {
            continue;
        };
        let end = p + 27 + nseg + lacing.iter().map(|&x| x as usize).sum::<usize>();
        if end != t.len() {
            continue;
        }
        let mut page = t[p..end].to_vec();
        page[22..26].fill(0);
        if super::ogg::crc(0, &page) == le32(h, 22) {
            return Ok(());
        }
    }
    s.fail(Error::Truncated(
        "the last Ogg page (no whole page ends the file)".into(),
    ));
    Ok(())
}
