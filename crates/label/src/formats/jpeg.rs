//! JPEG: EXIF UserComment and XMP in APP1, C2PA (JUMBF) in APP11.

use super::{C2pa, RawItem, Scan, is_c2pa_jumbf, text};
use crate::io::{MAX_ITEM, MAX_NODES, Piece, Src, be16};
use crate::{Config, Error, exif};

const XMP_SIG: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const EXIF_SIG: &[u8] = b"Exif\0\0";

/// A marker segment: offset of the 0xFF, marker, total length (marker + length + data).
struct Seg {
    off: u64,
    marker: u8,
    total: u64,
}

/// Walks segments up to SOS; returns the offset of the SOS marker (or EOF/EOI).
fn segments(
    src: &mut Src,
    mut each: impl FnMut(&mut Src, &Seg) -> Result<(), Error>,
) -> Result<u64, Error> {
    let soi = src.read_at(0, 2, "JPEG SOI")?;
    if soi != [0xFF, 0xD8] {
        return Err(Error::Malformed("not a JPEG".into()));
    }
    let mut off = 2u64;
    for _ in 0..MAX_NODES {
        let h = src.read_at(off, 2, "JPEG marker")?;
        if h[0] != 0xFF {
            return Err(Error::Malformed(format!(
                "JPEG: expected a marker at {off}"
            )));
        }
        let m = h[1];
        if m == 0xFF {
            off += 1; // fill byte
            continue;
        }
        if m == 0xDA || m == 0xD9 {
            return Ok(off);
        }
        if (0xD0..=0xD7).contains(&m) || m == 0x01 || m == 0xD8 {
            off += 2;
            continue;
        }
        let l = be16(&src.read_at(off + 2, 2, "JPEG segment length")?, 0) as u64;
        if l < 2 {
            return Err(Error::Malformed(format!(
                "JPEG segment at {off} has length {l}"
            )));
        }
        if off + 2 + l > src.len {
            return Err(Error::Truncated(format!("JPEG segment 0x{m:02X}")));
        }
        let seg = Seg {
            off,
            marker: m,
            total: 2 + l,
        };
        each(src, &seg)?;
        off += 2 + l;
    }
    Err(Error::Malformed("JPEG: too many segments".into()))
}

fn data(src: &mut Src, s: &Seg) -> Result<Vec<u8>, Error> {
    src.read_at(s.off + 4, s.total - 4, "JPEG segment")
}

/// Reads JPEG metadata.
pub fn read(src: &mut Src, scan: &mut Scan) -> Result<(), Error> {
    let mut c2pa: Vec<u8> = Vec::new();
    let mut c2pa_en: Option<[u8; 2]> = None;
    segments(src, |src, s| {
        match s.marker {
            0xE1 => {
                let d = data(src, s)?;
                if let Some(t) = d.strip_prefix(EXIF_SIG) {
                    match exif::user_comment(t) {
                        Ok(Some(v)) => scan.items.push(RawItem {
                            carrier: "jpeg:exif",
                            key: "UserComment".into(),
                            value: v,
                        }),
                        Ok(None) => {}
                        Err(e) => scan.fail(e),
                    }
                } else if let Some(x) = d.strip_prefix(XMP_SIG) {
                    scan.items.push(RawItem {
                        carrier: "jpeg:xmp",
                        key: "http://ns.adobe.com/xap/1.0/".into(),
                        value: text(x),
                    });
                }
            }
            0xEB => {
                let d = data(src, s)?;
                // JPEG XT box: "JP", instance En (2), sequence Z (4), then the JUMBF box;
                // later segments of the same instance repeat the box header (LBox,
                // TBox and XLBox when LBox is 1), which is skipped when joining
                if d.len() > 16 && &d[..2] == b"JP" {
                    let en = [d[2], d[3]];
                    match c2pa_en {
                        None if is_c2pa_jumbf(&d[8..]) => {
                            c2pa_en = Some(en);
                            c2pa.extend_from_slice(&d[8..]);
                        }
                        Some(e) if e == en && (c2pa.len() as u64) < MAX_ITEM => {
                            let head = if d[8..12] == [0, 0, 0, 1] { 16 } else { 8 };
                            c2pa.extend_from_slice(d.get(8 + head..).unwrap_or_default());
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    if !c2pa.is_empty() {
        scan.c2pa = Some(C2pa::from_store("jpeg:APP11", &c2pa));
    }
    Ok(())
}

fn app1(sig: &[u8], body: &[u8]) -> Result<Vec<u8>, Error> {
    let len = 2 + sig.len() + body.len();
    if len > 0xFFFF {
        return Err(Error::Unsupported(format!(
            "JPEG APP1 segment would be {len} bytes (limit 65535)"
        )));
    }
    let mut v = vec![0xFF, 0xE1];
    v.extend_from_slice(&(len as u16).to_be_bytes());
    v.extend_from_slice(sig);
    v.extend_from_slice(body);
    Ok(v)
}

/// Plans a labelled copy: EXIF (UserComment set, other tags kept) and XMP (property
/// set, other properties kept) go after SOI and any JFIF APP0; the old EXIF and XMP
/// segments are dropped; everything else, scan data included, is copied unchanged.
pub fn plan(src: &mut Src, cfg: &Config, payload: &str) -> Result<Vec<Piece>, Error> {
    let mut old_exif: Option<Vec<u8>> = None;
    let mut old_xmp: Option<String> = None;
    let mut segs: Vec<(u64, u64, bool, bool)> = Vec::new(); // off, total, drop, is_app0
    let sos = segments(src, |src, s| {
        let mut drop = false;
        if s.marker == 0xE1 {
            let d = data(src, s)?;
            if let Some(t) = d.strip_prefix(EXIF_SIG) {
                if old_exif.is_none() {
                    old_exif = Some(t.to_vec());
                    drop = true;
                }
            } else if let Some(x) = d.strip_prefix(XMP_SIG)
                && old_xmp.is_none()
            {
                old_xmp = Some(text(x));
                drop = true;
            }
        }
        segs.push((s.off, s.total, drop, s.marker == 0xE0));
        Ok(())
    })?;
    let mut new = Vec::new();
    if cfg.write_channel("jpeg", "jpeg:exif").is_some() {
        let tiff = exif::set_user_comment(old_exif.as_deref(), &exif::encode_comment(payload))?;
        new.extend(app1(EXIF_SIG, &tiff)?);
    }
    if cfg.write_channel("jpeg", "jpeg:xmp").is_some() {
        let packet = cfg.xmp.upsert(old_xmp.as_deref(), payload);
        new.extend(app1(XMP_SIG, packet.as_bytes())?);
    }
    let mut plan = vec![Piece::Copy(0, 2)];
    let mut i = 0;
    while i < segs.len() && segs[i].3 {
        plan.push(Piece::Copy(segs[i].0, segs[i].1));
        i += 1;
    }
    plan.push(Piece::Bytes(new));
    let mut prev_end = segs.get(i.wrapping_sub(1)).map_or(2, |s| s.0 + s.1);
    for &(off, total, drop, _) in &segs[i..] {
        if off > prev_end {
            plan.push(Piece::Copy(prev_end, off - prev_end)); // fill bytes, kept
        }
        if !drop {
            plan.push(Piece::Copy(off, total));
        }
        prev_end = off + total;
    }
    if sos > prev_end {
        plan.push(Piece::Copy(prev_end, sos - prev_end));
    }
    plan.push(Piece::Copy(sos, src.len - sos));
    Ok(plan)
}
