//! ID3v2 tags (MP3, and WAV `id3 ` chunks): `TXXX` frames.

use super::{RawItem, Scan, latin1};
use crate::io::{MAX_NODES, Piece, Src};
use crate::{Config, Error};

fn syncsafe(b: &[u8]) -> u32 {
    ((b[0] as u32 & 0x7f) << 21)
        | ((b[1] as u32 & 0x7f) << 14)
        | ((b[2] as u32 & 0x7f) << 7)
        | (b[3] as u32 & 0x7f)
}

fn unsync(b: &[u8]) -> Vec<u8> {
    let mut o = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        o.push(b[i]);
        if b[i] == 0xFF && b.get(i + 1) == Some(&0) {
            i += 1;
        }
        i += 1;
    }
    o
}

/// Decodes an ID3 text in `enc`; returns (first string, rest after terminator).
fn split_text(enc: u8, b: &[u8]) -> (String, &[u8]) {
    let wide = enc == 1 || enc == 2;
    let end = if wide {
        (0..b.len() / 2)
            .map(|k| 2 * k)
            .find(|&i| b[i] == 0 && b[i + 1] == 0)
    } else {
        b.iter().position(|&c| c == 0)
    };
    let (s, rest) = match end {
        Some(e) => (&b[..e], &b[e + if wide { 2 } else { 1 }..]),
        None => (b, &b[b.len()..]),
    };
    (decode(enc, s), rest)
}

fn decode(enc: u8, s: &[u8]) -> String {
    match enc {
        0 => latin1(s),
        1 | 2 => {
            let mut be = enc == 2;
            let mut s = s;
            if s.len() >= 2 {
                if s[0] == 0xFF && s[1] == 0xFE {
                    be = false;
                    s = &s[2..];
                } else if s[0] == 0xFE && s[1] == 0xFF {
                    be = true;
                    s = &s[2..];
                }
            }
            let u: Vec<u16> = s
                .chunks_exact(2)
                .map(|c| {
                    if be {
                        u16::from_be_bytes([c[0], c[1]])
                    } else {
                        u16::from_le_bytes([c[0], c[1]])
                    }
                })
                .collect();
            String::from_utf16_lossy(&u)
        }
        _ => String::from_utf8_lossy(s).into_owned(),
    }
}

/// The parsed tag: version, flags, tag size (without header), the tag body (after
/// tag-level unsynchronisation is undone, for v2.2/v2.3) and frames (id, offset of
/// the frame header within `body`, total size, frame data for reading or `None`
/// when compressed or encrypted).
struct Tag {
    major: u8,
    flags: u8,
    size: u64,
    body: Vec<u8>,
    frames: Vec<(String, usize, usize, Option<Vec<u8>>)>,
}

fn parse(src: &mut Src) -> Result<Option<Tag>, Error> {
    if src.len < 10 {
        return Ok(None);
    }
    let h = src.read_at(0, 10, "ID3v2 header")?;
    if &h[..3] != b"ID3" {
        return Ok(None);
    }
    let major = h[3];
    let flags = h[5];
    let size = syncsafe(&h[6..10]) as u64;
    if !(2..=4).contains(&major) {
        return Err(Error::Malformed(format!(
            "ID3v2.{major} is not a known version"
        )));
    }
    let raw = src.read_at(10, size, "ID3v2 tag")?;
    let body = if flags & 0x80 != 0 && major < 4 {
        unsync(&raw)
    } else {
        raw
    };
    let mut pos = 0usize;
    if flags & 0x40 != 0 && major >= 3 {
        let b = body
            .get(0..4)
            .ok_or_else(|| Error::Truncated("ID3 extended header".into()))?;
        let n = if major == 4 {
            syncsafe(b) as usize
        } else {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize + 4
        };
        pos = n;
    }
    let hl = if major == 2 { 6 } else { 10 };
    let mut frames = Vec::new();
    for _ in 0..MAX_NODES {
        if pos + hl > body.len() || body[pos] == 0 {
            break;
        }
        let (id, fsize, fflags) = if major == 2 {
            let b = &body[pos..pos + 6];
            (
                latin1(&b[..3]),
                ((b[3] as usize) << 16) | ((b[4] as usize) << 8) | b[5] as usize,
                0u16,
            )
        } else {
            let b = &body[pos..pos + 10];
            let sz = if major == 4 {
                syncsafe(&b[4..8]) as usize
            } else {
                u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as usize
            };
            (latin1(&b[..4]), sz, u16::from_be_bytes([b[8], b[9]]))
        };
        if pos + hl + fsize > body.len() {
            return Err(Error::Truncated(format!("ID3 frame {id}")));
        }
        let mut fb = body[pos + hl..pos + hl + fsize].to_vec();
        if major == 4 {
            if fflags & 0x0001 != 0 && fb.len() >= 4 {
                fb.drain(..4);
            }
            if fflags & 0x0002 != 0 {
                fb = unsync(&fb);
            }
        }
        let skip = major >= 3 && fflags & if major == 4 { 0x000C } else { 0x00C0 } != 0; // compressed/encrypted
        frames.push((id, pos, hl + fsize, (!skip).then_some(fb)));
        pos += hl + fsize;
    }
    Ok(Some(Tag {
        major,
        flags,
        size,
        body,
        frames,
    }))
}

/// Whether the tag at the start of `src` has a `TXXX` frame with this description.
pub fn parse_has(src: &mut Src, key: &str) -> Result<bool, Error> {
    let Some(tag) = parse(src)? else {
        return Ok(false);
    };
    Ok(tag
        .frames
        .iter()
        .any(|(id, _, _, b)| is_txxx(id, b.as_deref(), key)))
}

/// Reads `TXXX` frames of an ID3v2 tag at the start of `src`.
pub fn read_file(src: &mut Src, s: &mut Scan, carrier: &'static str) -> Result<(), Error> {
    let Some(tag) = parse(src)? else {
        return Ok(());
    };
    for (id, _, _, b) in &tag.frames {
        let Some(b) = b else { continue };
        if (id == "TXXX" || id == "TXX") && !b.is_empty() {
            let (desc, rest) = split_text(b[0], &b[1..]);
            let (value, _) = split_text(b[0], rest);
            s.items.push(RawItem {
                carrier,
                key: desc,
                value,
            });
        }
    }
    Ok(())
}

fn is_txxx(id: &str, b: Option<&[u8]>, key: &str) -> bool {
    (id == "TXXX" || id == "TXX")
        && b.is_some_and(|b| !b.is_empty() && split_text(b[0], &b[1..]).0.eq_ignore_ascii_case(key))
}

/// ID3v2.2 frame ids and their ID3v2.3 names (as the ID3v2.3 informal standard's
/// list of changes gives them).
#[rustfmt::skip]
const V22_TO_V23: &[(&str, &str)] = &[
    ("BUF", "RBUF"), ("CNT", "PCNT"), ("COM", "COMM"), ("CRA", "AENC"), ("ETC", "ETCO"),
    ("EQU", "EQUA"), ("GEO", "GEOB"), ("IPL", "IPLS"), ("LNK", "LINK"), ("MCI", "MCDI"),
    ("MLL", "MLLT"), ("PIC", "APIC"), ("POP", "POPM"), ("REV", "RVRB"), ("RVA", "RVAD"),
    ("SLT", "SYLT"), ("STC", "SYTC"), ("TAL", "TALB"), ("TBP", "TBPM"), ("TCM", "TCOM"),
    ("TCO", "TCON"), ("TCP", "TCMP"), ("TCR", "TCOP"), ("TDA", "TDAT"), ("TDY", "TDLY"),
    ("TEN", "TENC"), ("TFT", "TFLT"), ("TIM", "TIME"), ("TKE", "TKEY"), ("TLA", "TLAN"),
    ("TLE", "TLEN"), ("TMT", "TMED"), ("TOA", "TOPE"), ("TOF", "TOFN"), ("TOL", "TOLY"),
    ("TOR", "TORY"), ("TOT", "TOAL"), ("TP1", "TPE1"), ("TP2", "TPE2"), ("TP3", "TPE3"),
    ("TP4", "TPE4"), ("TPA", "TPOS"), ("TPB", "TPUB"), ("TRC", "TSRC"), ("TRD", "TRDA"),
    ("TRK", "TRCK"), ("TS2", "TSO2"), ("TSA", "TSOA"), ("TSC", "TSOC"), ("TSI", "TSIZ"),
    ("TSP", "TSOP"), ("TSS", "TSSE"), ("TST", "TSOT"), ("TT1", "TIT1"), ("TT2", "TIT2"),
    ("TT3", "TIT3"), ("TXT", "TEXT"), ("TXX", "TXXX"), ("TYE", "TYER"), ("UFI", "UFID"),
    ("ULT", "USLT"), ("WAF", "WOAF"), ("WAR", "WOAR"), ("WAS", "WOAS"), ("WCM", "WCOM"),
    ("WCP", "WCOP"), ("WPB", "WPUB"), ("WXX", "WXXX"),
];

/// An ID3v2.3 frame: id, 4-byte size, no flags, data.
fn frame_v23(id: &str, data: &[u8]) -> Vec<u8> {
    let mut f = id.as_bytes().to_vec();
    f.extend_from_slice(&(data.len() as u32).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(data);
    f
}

/// An ID3v2.2 frame as an ID3v2.3 frame (PIC's 3-letter image format becomes
/// APIC's MIME type), or an error naming a frame that has no v2.3 form.
fn upgrade_v22(id: &str, data: &[u8]) -> Result<Vec<u8>, Error> {
    let new = V22_TO_V23
        .iter()
        .find(|(a, _)| *a == id)
        .map(|(_, b)| *b)
        .ok_or_else(|| {
            Error::Unsupported(format!(
                "rewriting an ID3v2.2 tag: frame {id} has no ID3v2.3 form (it would be lost)"
            ))
        })?;
    if id == "PIC" && data.len() >= 5 {
        let fmt = String::from_utf8_lossy(&data[1..4]).to_ascii_lowercase();
        let mime = match fmt.as_str() {
            "jpg" => "image/jpeg".to_string(),
            "-->" => "-->".to_string(),
            f => format!("image/{f}"),
        };
        let mut d = vec![data[0]];
        d.extend_from_slice(mime.as_bytes());
        d.push(0);
        d.extend_from_slice(&data[4..]);
        return Ok(frame_v23(new, &d));
    }
    Ok(frame_v23(new, data))
}

fn txxx(major: u8, desc: &str, value: &str) -> Vec<u8> {
    let mut b = vec![3u8]; // UTF-8 (v2.4); v2.3 gets Latin-1, the payload is ASCII
    if major == 3 {
        b[0] = 0;
    }
    b.extend_from_slice(desc.as_bytes());
    b.push(0);
    b.extend_from_slice(value.as_bytes());
    let mut f = b"TXXX".to_vec();
    let n = b.len() as u32;
    if major == 4 {
        f.extend_from_slice(&[
            (n >> 21) as u8 & 0x7f,
            (n >> 14) as u8 & 0x7f,
            (n >> 7) as u8 & 0x7f,
            n as u8 & 0x7f,
        ]);
    } else {
        f.extend_from_slice(&n.to_be_bytes());
    }
    f.extend_from_slice(&[0, 0]);
    f.extend(b);
    f
}

/// Plans a labelled MP3: the ID3v2 tag is rebuilt with our `TXXX` frame (other frames
/// copied as they were), or a new ID3v2.4 tag is put in front; the audio is copied.
/// An unsynchronised v2.3 tag is written back without unsynchronisation; a v2.2 tag
/// is written as v2.3 (frames renamed, PIC as APIC).
pub fn plan(src: &mut Src, cfg: &Config, payload: &str) -> Result<Vec<Piece>, Error> {
    let Some(ch) = cfg.write_channel("mp3", "mp3:TXXX") else {
        return Ok(vec![Piece::Copy(0, src.len)]);
    };
    retag(src, &ch.key, payload)
}

/// The tag rebuilt with `TXXX:key` = `payload`, followed by the rest of `src`.
pub fn retag(src: &mut Src, key: &str, payload: &str) -> Result<Vec<Piece>, Error> {
    let (major, frames_bytes, audio_at) = match parse(src)? {
        None => (4u8, Vec::new(), 0u64),
        Some(tag) => {
            let mut out = Vec::new();
            for (id, pos, total, b) in &tag.frames {
                if is_txxx(id, b.as_deref(), key) {
                    continue;
                }
                let raw = tag
                    .body
                    .get(*pos..*pos + *total)
                    .ok_or_else(|| Error::Truncated(format!("ID3 frame {id}")))?;
                if tag.major == 2 {
                    out.extend(upgrade_v22(id, &raw[6..])?);
                } else {
                    out.extend_from_slice(raw);
                }
            }
            let footer = if tag.major == 4 && tag.flags & 0x10 != 0 {
                10
            } else {
                0
            };
            (tag.major.max(3), out, 10 + tag.size + footer)
        }
    };
    let mut body = frames_bytes;
    body.extend(txxx(major, key, payload));
    body.extend(std::iter::repeat_n(0u8, 256)); // padding
    let n = body.len() as u32;
    if n >= 1 << 28 {
        return Err(Error::Unsupported("ID3 tag over 256 MiB".into()));
    }
    let mut head = vec![b'I', b'D', b'3', major, 0, 0];
    head.extend_from_slice(&[
        (n >> 21) as u8 & 0x7f,
        (n >> 14) as u8 & 0x7f,
        (n >> 7) as u8 & 0x7f,
        n as u8 & 0x7f,
    ]);
    head.extend(body);
    if audio_at > src.len {
        return Err(Error::Truncated("ID3v2 tag".into()));
    }
    Ok(vec![
        Piece::Bytes(head),
        Piece::Copy(audio_at, src.len - audio_at),
    ])
}
