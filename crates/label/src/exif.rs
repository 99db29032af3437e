//! EXIF (TIFF structure) UserComment: read, and set without moving existing bytes.
//!
//! Setting appends a copy of the Exif IFD (and of IFD0 when it had no Exif pointer)
//! with the new entry at the end of the TIFF data and repoints the one offset that
//! referred to the old IFD; every other byte and offset stays where it was.

use crate::Error;

const TAG_EXIF_IFD: u16 = 0x8769;
const TAG_USER_COMMENT: u16 = 0x9286;

#[derive(Clone, Copy)]
struct Tiff<'a> {
    b: &'a [u8],
    le: bool,
}

impl Tiff<'_> {
    fn u16(&self, i: usize) -> Option<u16> {
        let s = self.b.get(i..i + 2)?;
        Some(if self.le {
            u16::from_le_bytes([s[0], s[1]])
        } else {
            u16::from_be_bytes([s[0], s[1]])
        })
    }
    fn u32(&self, i: usize) -> Option<u32> {
        let s = self.b.get(i..i + 4)?;
        let a = [s[0], s[1], s[2], s[3]];
        Some(if self.le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }
    /// Entries of the IFD at `off`: (tag, type, count, value-or-offset position).
    fn entries(&self, off: usize) -> Option<Vec<(u16, u16, u32, usize)>> {
        let n = self.u16(off)? as usize;
        if n > 4096 {
            return None;
        }
        let mut v = Vec::with_capacity(n);
        for k in 0..n {
            let e = off + 2 + 12 * k;
            v.push((self.u16(e)?, self.u16(e + 2)?, self.u32(e + 4)?, e + 8));
        }
        Some(v)
    }
}

fn header(b: &[u8]) -> Result<Tiff<'_>, Error> {
    let le = match b.get(0..4) {
        Some([b'I', b'I', 42, 0]) => true,
        Some([b'M', b'M', 0, 42]) => false,
        _ => return Err(Error::Malformed("EXIF: not a TIFF header".into())),
    };
    Ok(Tiff { b, le })
}

/// Unlinks the thumbnail IFD (IFD1) of a TIFF/EXIF block and zeroes the thumbnail
/// image it points to, so a preview of the image before an edit does not survive the
/// edit. Other offsets stay valid (nothing moves). Returns whether there was one.
pub fn drop_thumbnail(tiff: &mut [u8]) -> bool {
    let Ok(t) = header(tiff) else {
        return false;
    };
    let Some(ifd0) = t.u32(4).map(|x| x as usize) else {
        return false;
    };
    let Some(n) = t.entries(ifd0).map(|e| e.len()) else {
        return false;
    };
    let next_at = ifd0 + 2 + 12 * n;
    let Some(ifd1) = t.u32(next_at).map(|x| x as usize) else {
        return false;
    };
    if ifd1 == 0 {
        return false;
    }
    let le = t.le;
    let mut zero = None;
    if let Some(es) = t.entries(ifd1) {
        let val = |tag: u16| {
            es.iter()
                .find(|e| e.0 == tag)
                .and_then(|e| t.u32(e.3))
                .map(|x| x as usize)
        };
        if let (Some(off), Some(len)) = (val(0x0201), val(0x0202))
            && off.checked_add(len).is_some_and(|end| end <= tiff.len())
        {
            zero = Some((off, len));
        }
    }
    if let Some((off, len)) = zero {
        tiff[off..off + len].fill(0);
    }
    set32(tiff, next_at, le, 0);
    true
}

/// Strips an `Exif\0\0` prefix if present.
pub fn strip_prefix(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"Exif\0\0").unwrap_or(b)
}

/// The decoded UserComment of a TIFF/EXIF block, if any.
pub fn user_comment(tiff: &[u8]) -> Result<Option<String>, Error> {
    let t = header(tiff)?;
    let bad = || Error::Malformed("EXIF: IFD out of bounds".into());
    let ifd0 = t.u32(4).ok_or_else(bad)? as usize;
    let entries = t.entries(ifd0).ok_or_else(bad)?;
    let Some(&(_, _, _, pos)) = entries.iter().find(|e| e.0 == TAG_EXIF_IFD) else {
        return Ok(None);
    };
    let exif_off = t.u32(pos).ok_or_else(bad)? as usize;
    let entries = t.entries(exif_off).ok_or_else(bad)?;
    let Some(&(_, _, count, pos)) = entries.iter().find(|e| e.0 == TAG_USER_COMMENT) else {
        return Ok(None);
    };
    let count = count as usize;
    let data = if count <= 4 {
        t.b.get(pos..pos + count)
    } else {
        let o = t.u32(pos).ok_or_else(bad)? as usize;
        o.checked_add(count).and_then(|e| t.b.get(o..e))
    }
    .ok_or_else(|| Error::Truncated("EXIF UserComment".into()))?;
    Ok(Some(decode_comment(data, t.le)))
}

fn decode_comment(d: &[u8], le: bool) -> String {
    let (code, body) = if d.len() >= 8 {
        d.split_at(8)
    } else {
        (&d[..0], d)
    };
    let s = if code.starts_with(b"UNICODE") {
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        // a BOM, if present, wins over the TIFF byte order
        match units.first() {
            Some(0xFFFE) => String::from_utf16_lossy(
                &units[1..]
                    .iter()
                    .map(|u| u.swap_bytes())
                    .collect::<Vec<_>>(),
            ),
            Some(0xFEFF) => String::from_utf16_lossy(&units[1..]),
            _ => String::from_utf16_lossy(&units),
        }
    } else if code.len() == 8 {
        String::from_utf8_lossy(body).into_owned()
    } else {
        String::from_utf8_lossy(d).into_owned()
    };
    s.trim_end_matches(['\0', ' ']).to_string()
}

fn put16(v: &mut Vec<u8>, le: bool, x: u16) {
    v.extend_from_slice(&if le { x.to_le_bytes() } else { x.to_be_bytes() });
}
fn put32(v: &mut Vec<u8>, le: bool, x: u32) {
    v.extend_from_slice(&if le { x.to_le_bytes() } else { x.to_be_bytes() });
}
fn set32(v: &mut [u8], at: usize, le: bool, x: u32) {
    v[at..at + 4].copy_from_slice(&if le { x.to_le_bytes() } else { x.to_be_bytes() });
}

/// UserComment bytes: the `ASCII\0\0\0` character code and the text.
pub fn encode_comment(text: &str) -> Vec<u8> {
    let mut v = b"ASCII\0\0\0".to_vec();
    v.extend_from_slice(text.as_bytes());
    v
}

/// Returns TIFF data with UserComment set to `comment` (already encoded).
/// `existing` is the current TIFF data, if the file has EXIF.
pub fn set_user_comment(existing: Option<&[u8]>, comment: &[u8]) -> Result<Vec<u8>, Error> {
    let Some(old) = existing else {
        // II*\0, IFD0 at 8 with one entry (Exif IFD pointer), Exif IFD with
        // ExifVersion and UserComment.
        let le = true;
        let mut v = b"II*\0".to_vec();
        put32(&mut v, le, 8);
        put16(&mut v, le, 1);
        put16(&mut v, le, TAG_EXIF_IFD);
        put16(&mut v, le, 4);
        put32(&mut v, le, 1);
        put32(&mut v, le, 26);
        put32(&mut v, le, 0);
        // Exif IFD at 26
        put16(&mut v, le, 2);
        put16(&mut v, le, 0x9000);
        put16(&mut v, le, 7);
        put32(&mut v, le, 4);
        v.extend_from_slice(b"0232");
        put16(&mut v, le, TAG_USER_COMMENT);
        put16(&mut v, le, 7);
        put32(&mut v, le, comment.len() as u32);
        put32(&mut v, le, 26 + 2 + 24 + 4);
        put32(&mut v, le, 0);
        v.extend_from_slice(comment);
        return Ok(v);
    };
    let t = header(old)?;
    let le = t.le;
    let bad = || Error::Malformed("EXIF: IFD out of bounds".into());
    let ifd0 = t.u32(4).ok_or_else(bad)? as usize;
    let e0 = t.entries(ifd0).ok_or_else(bad)?;
    let next0 = t.u32(ifd0 + 2 + 12 * e0.len()).ok_or_else(bad)?;
    let mut out = old.to_vec();
    let align = |v: &mut Vec<u8>| {
        if v.len() % 2 == 1 {
            v.push(0);
        }
    };
    // an IFD from raw 12-byte entries plus (tag, type, count, value bytes) extras
    let write_ifd = |out: &mut Vec<u8>,
                     raw: Vec<[u8; 12]>,
                     extra: Vec<(u16, u16, u32, [u8; 4])>,
                     next: u32|
     -> usize {
        let mut all: Vec<(u16, [u8; 12])> = raw
            .into_iter()
            .map(|r| {
                let tag = if le {
                    u16::from_le_bytes([r[0], r[1]])
                } else {
                    u16::from_be_bytes([r[0], r[1]])
                };
                (tag, r)
            })
            .collect();
        for (tag, ty, count, val) in extra {
            let mut r = Vec::with_capacity(12);
            put16(&mut r, le, tag);
            put16(&mut r, le, ty);
            put32(&mut r, le, count);
            r.extend_from_slice(&val);
            let mut a = [0u8; 12];
            a.copy_from_slice(&r);
            all.retain(|(t, _)| *t != tag);
            all.push((tag, a));
        }
        all.sort_by_key(|(t, _)| *t);
        align(out);
        let at = out.len();
        put16(out, le, all.len() as u16);
        for (_, r) in &all {
            out.extend_from_slice(r);
        }
        put32(out, le, next);
        at
    };
    let raw_of = |entries: &[(u16, u16, u32, usize)], skip: u16| -> Vec<[u8; 12]> {
        entries
            .iter()
            .filter(|e| e.0 != skip)
            .map(|e| {
                let mut a = [0u8; 12];
                a.copy_from_slice(&old[e.3 - 8..e.3 + 4]);
                a
            })
            .collect()
    };
    // the new Exif IFD, followed by the comment data: [IFD][data]
    let uc_ifd = |out: &mut Vec<u8>, raw: Vec<[u8; 12]>, next: u32| -> usize {
        align(out);
        let at = out.len();
        let n = raw.len() + 1;
        let data_at = (at + 2 + 12 * n + 4) as u32;
        let mut tmp = Vec::new();
        put32(&mut tmp, le, data_at);
        let mut off4 = [0u8; 4];
        off4.copy_from_slice(&tmp);
        let at2 = write_ifd(
            out,
            raw,
            vec![(TAG_USER_COMMENT, 7u16, comment.len() as u32, off4)],
            next,
        );
        debug_assert_eq!(at, at2);
        out.extend_from_slice(comment);
        at
    };
    match e0.iter().find(|e| e.0 == TAG_EXIF_IFD) {
        Some(&(_, _, _, pos)) => {
            let exif_off = t.u32(pos).ok_or_else(bad)? as usize;
            let ee = t.entries(exif_off).ok_or_else(bad)?;
            let next = t.u32(exif_off + 2 + 12 * ee.len()).unwrap_or(0);
            // our own earlier layout at the end of the block ([IFD][data] as the
            // tail): rewrite it in place instead of leaving it orphaned
            let ours =
                ee.iter()
                    .find(|e| e.0 == TAG_USER_COMMENT)
                    .is_some_and(|&(_, _, count, vpos)| {
                        let d = t.u32(vpos).unwrap_or(0) as usize;
                        d == exif_off + 2 + 12 * ee.len() + 4
                            && d + count as usize == old.len()
                            && exif_off > ifd0
                    });
            if ours {
                out.truncate(exif_off);
            } else if let Some(&(_, _, count, vpos)) = ee.iter().find(|e| e.0 == TAG_USER_COMMENT) {
                // the old value (an old label) would stay in the block, unreferenced:
                // zeroed, unless another entry's value or an IFD shares those bytes
                let count = count as usize;
                let (from, to) = if count <= 4 {
                    (vpos, vpos + count)
                } else {
                    let d = t.u32(vpos).unwrap_or(0) as usize;
                    (d, d.saturating_add(count))
                };
                let ifds = [
                    (ifd0, ifd0 + 2 + 12 * e0.len() + 4),
                    (exif_off, exif_off + 2 + 12 * ee.len() + 4),
                ];
                let shared = count > 4
                    && (ifds.iter().any(|&(a, b)| from < b && a < to)
                        || ee.iter().chain(e0.iter()).any(|e| {
                            e.0 != TAG_USER_COMMENT
                                && t.u32(e.3)
                                    .is_some_and(|o| (from..to).contains(&(o as usize)))
                        }));
                if from >= 8 && to <= out.len() && !shared {
                    out[from..to].fill(0);
                }
            }
            let at = uc_ifd(&mut out, raw_of(&ee, TAG_USER_COMMENT), next);
            set32(&mut out, pos, le, at as u32);
        }
        None => {
            let at = uc_ifd(&mut out, Vec::new(), 0);
            let mut v = Vec::new();
            put32(&mut v, le, at as u32);
            let mut a = [0u8; 4];
            a.copy_from_slice(&v);
            let at0 = write_ifd(
                &mut out,
                raw_of(&e0, TAG_EXIF_IFD),
                vec![(TAG_EXIF_IFD, 4, 1, a)],
                next0,
            );
            set32(&mut out, 4, le, at0 as u32);
        }
    }
    if out.len() > u32::MAX as usize {
        return Err(Error::Malformed("EXIF too large".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_update() {
        let a = set_user_comment(None, &encode_comment("hello")).expect("new");
        assert_eq!(user_comment(&a).expect("read").as_deref(), Some("hello"));
        let b = set_user_comment(Some(&a), &encode_comment("second value")).expect("update");
        assert_eq!(
            user_comment(&b).expect("read").as_deref(),
            Some("second value")
        );
        // our own tail ([Exif IFD][data]) is rewritten in place: IFD0 is untouched
        assert_eq!(&a[..26], &b[..26]);
        let c = set_user_comment(Some(&b), &encode_comment("second value")).expect("again");
        assert_eq!(b, c);
        // a foreign layout (comment not at the tail) keeps every existing byte but
        // the Exif IFD pointer (IFD0 entry value at 18..22) and the old comment's
        // value (at 56, 20 bytes), which is zeroed so the old label does not linger
        let mut d = b.clone();
        d.extend_from_slice(b"trailing data of another writer");
        let e = set_user_comment(Some(&d), &encode_comment("third")).expect("foreign");
        assert_eq!(user_comment(&e).expect("read").as_deref(), Some("third"));
        let old_value = 56..56 + encode_comment("second value").len();
        for i in 0..d.len() {
            if old_value.contains(&i) {
                assert_eq!(e[i], 0, "byte {i}");
            } else if !(18..22).contains(&i) {
                assert_eq!(d[i], e[i], "byte {i}");
            }
        }
        assert!(!e.windows(6).any(|w| w == b"second"));
    }
}
