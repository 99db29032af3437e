//! Metadata carried over when an image is re-encoded for an explicit label: the
//! pixels are decoded, drawn on and encoded again, which by itself would drop the
//! colour profile, camera data, XMP and text. These functions put the original's
//! metadata into the new encoding.
//!
//! * **PNG**: the colour chunks (`iCCP`, `sRGB`, `gAMA`, `cHRM`, `cICP`, `mDCV`, `cLLI`),
//!   and every ancillary chunk marked safe-to-copy (lower-case fourth letter: `tEXt`,
//!   `zTXt`, `iTXt`, `eXIf`, `pHYs`, ...), in their original order, right after `IHDR`.
//!   Dropped: chunks that describe the old encoding or pixels (`tRNS`, `bKGD`, `sBIT`,
//!   `hIST`, `sPLT`), `tIME` (the image changed), `caBX` (a C2PA manifest's hash of the
//!   old pixels no longer matches) and other unsafe-to-copy chunks.
//! * **JPEG**: APP1 (EXIF, XMP, extended XMP), APP2 `ICC_PROFILE`, APP12, APP13
//!   (Photoshop/IPTC) and COM segments, and the original JFIF APP0 in place of the
//!   encoder's. Dropped: APP2 `MPF` (offsets of images after the old EOI), APP11
//!   (C2PA/JUMBF, bound to the old bytes), APP14 (Adobe colour transform of the old
//!   encoding) and other APPn.
//! * **WebP** (written back as lossless WebP): `ICCP`, `EXIF` and `XMP ` in an extended
//!   (`VP8X`) file. Dropped: `C2PA` and other chunks.
//! * EXIF thumbnails (IFD1) show the image before the label: they are unlinked and
//!   zeroed.
//!
//! The implicit label channels are then written by the format's writer, as for any
//! other file (an old label there is replaced).

use serde::Serialize;

use crate::Error;
use crate::formats::png::chunk;
use crate::formats::riff::chunk as riff_chunk;
use crate::io::be32;

/// What was carried over and what was dropped, by chunk type or segment name.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Carried {
    /// Kept, in file order (`iCCP`, `APP1 Exif`, ...).
    pub kept: Vec<String>,
    /// Dropped, with the reason in words.
    pub dropped: Vec<String>,
}

impl Carried {
    fn keep(&mut self, what: String) {
        if !self.kept.contains(&what) {
            self.kept.push(what);
        }
    }
    fn drop(&mut self, what: String) {
        if !self.dropped.contains(&what) {
            self.dropped.push(what);
        }
    }
}

/// Whether an ICC profile describes pixels in `space` (`RGB ` or `GRAY`): its header's
/// data colour space (bytes 16..20). A profile too short to say is kept.
fn icc_fits(profile: &[u8], space: &[u8; 4]) -> bool {
    profile.get(16..20).is_none_or(|s| s == space)
}

fn icc_mismatch(space: &[u8; 4]) -> String {
    format!(
        "ICC profile (its colour space is not that of the re-encoded {} pixels)",
        String::from_utf8_lossy(space).trim_end()
    )
}

/// A PNG iCCP body: keyword, NUL, method, zlib data (only the header is inflated).
fn png_icc_fits(body: &[u8], space: &[u8; 4]) -> bool {
    use std::io::Read;
    let Some(z) = body
        .iter()
        .position(|&b| b == 0)
        .and_then(|p| body.get(p + 2..))
    else {
        return true;
    };
    let mut head = [0u8; 20];
    let mut d = flate2::read::ZlibDecoder::new(z);
    match d.read_exact(&mut head) {
        Ok(()) => icc_fits(&head, space),
        Err(_) => true,
    }
}

/// The first ICC_PROFILE APP2 segment of a JPEG (sequence number 1) holds the header.
fn jpeg_icc_fits(segs: &[JpegSeg<'_>], space: &[u8; 4]) -> bool {
    segs.iter()
        .find(|(m, s)| {
            *m == 0xE2 && s.get(4..16) == Some(b"ICC_PROFILE\0") && s.get(16) == Some(&1)
        })
        .is_none_or(|(_, s)| icc_fits(s.get(18..).unwrap_or_default(), space))
}

const COLOUR: [&[u8; 4]; 7] = [
    b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"cICP", b"mDCV", b"cLLI",
];

/// A PNG chunk (type, whole chunk bytes), or a RIFF chunk (id, body).
type PngChunk<'a> = ([u8; 4], &'a [u8]);
/// A JPEG marker segment: (marker, whole segment bytes).
type JpegSeg<'a> = (u8, &'a [u8]);

/// PNG chunks, IHDR to IEND.
fn png_chunks(b: &[u8]) -> Result<Vec<PngChunk<'_>>, Error> {
    if !b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(Error::Malformed("not a PNG signature".into()));
    }
    let mut out = Vec::new();
    let mut p = 8usize;
    while p + 12 <= b.len() {
        let len = be32(b, p) as usize;
        let end = p
            .checked_add(12 + len)
            .filter(|&e| e <= b.len())
            .ok_or_else(|| Error::Truncated("PNG chunk".into()))?;
        let ty = [b[p + 4], b[p + 5], b[p + 6], b[p + 7]];
        out.push((ty, &b[p..end]));
        p = end;
        if &ty == b"IEND" {
            break;
        }
    }
    Ok(out)
}

/// The original PNG's metadata chunks put into the re-encoded PNG.
pub fn png(original: &[u8], encoded: &[u8], space: &[u8; 4]) -> Result<(Vec<u8>, Carried), Error> {
    let old = png_chunks(original)?;
    let new = png_chunks(encoded)?;
    let mut c = Carried::default();
    let mut carried: Vec<u8> = Vec::new();
    for (ty, bytes) in &old {
        let name = String::from_utf8_lossy(ty).into_owned();
        let critical = ty[0] & 0x20 == 0;
        if critical {
            continue;
        }
        if ty == b"eXIf" {
            let mut d = bytes.to_vec();
            let body = &mut d[8..bytes.len() - 4];
            if crate::exif::drop_thumbnail(body) {
                c.drop("EXIF thumbnail (shows the image before the label)".into());
                let fixed = chunk(b"eXIf", body);
                carried.extend(fixed);
            } else {
                carried.extend_from_slice(bytes);
            }
            c.keep(name);
            continue;
        }
        if ty == b"iCCP" && !png_icc_fits(&bytes[8..bytes.len() - 4], space) {
            c.drop(icc_mismatch(space));
            continue;
        }
        let colour = COLOUR.contains(&ty);
        let safe = ty[3] & 0x20 != 0;
        if colour && new.iter().any(|(t, _)| t == ty) {
            continue; // the encoder wrote its own
        }
        if colour || safe {
            // chunks after IDAT (text) move before it; their order is kept
            carried.extend_from_slice(bytes);
            c.keep(name);
        } else {
            let why = match ty {
                b"caBX" => "C2PA manifest: its hash of the old pixels no longer matches",
                b"tIME" => "last-modified time: the image changed",
                b"acTL" | b"fcTL" | b"fdAT" => "animation",
                _ => "describes the old encoding or pixels",
            };
            c.drop(format!("{name} ({why})"));
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (ty, bytes) in &new {
        out.extend_from_slice(bytes);
        if ty == b"IHDR" {
            out.extend_from_slice(&carried);
        }
    }
    Ok((out, c))
}

/// JPEG marker segments before the scan: (marker, whole segment bytes), and where
/// the first non-APP/COM segment starts.
fn jpeg_segments(b: &[u8]) -> Result<(Vec<JpegSeg<'_>>, usize), Error> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return Err(Error::Malformed("not a JPEG (no SOI)".into()));
    }
    let mut out = Vec::new();
    let mut p = 2usize;
    let mut first_other = None;
    loop {
        // fill bytes
        while b.get(p) == Some(&0xFF) && b.get(p + 1) == Some(&0xFF) {
            p += 1;
        }
        let (Some(&0xFF), Some(&m)) = (b.get(p), b.get(p + 1)) else {
            return Err(Error::Truncated("JPEG marker".into()));
        };
        if m == 0xDA || m == 0xD9 {
            return Ok((out, first_other.unwrap_or(p)));
        }
        let len = b
            .get(p + 2..p + 4)
            .map(|s| u16::from_be_bytes([s[0], s[1]]) as usize)
            .ok_or_else(|| Error::Truncated("JPEG segment".into()))?;
        let end = p + 2 + len;
        if len < 2 || end > b.len() {
            return Err(Error::Truncated("JPEG segment".into()));
        }
        if (0xE0..=0xEF).contains(&m) || m == 0xFE {
            out.push((m, &b[p..end]));
        } else if first_other.is_none() {
            first_other = Some(p);
        }
        p = end;
        if out.len() > 10_000 {
            return Err(Error::Malformed("JPEG: too many segments".into()));
        }
    }
}

/// The original JPEG's metadata segments put into the re-encoded JPEG.
pub fn jpeg(original: &[u8], encoded: &[u8], space: &[u8; 4]) -> Result<(Vec<u8>, Carried), Error> {
    let (old, _) = jpeg_segments(original)?;
    let (new, body) = jpeg_segments(encoded)?;
    let mut c = Carried::default();
    let mut carried: Vec<u8> = Vec::new();
    let has_jfif = old
        .iter()
        .any(|(m, s)| *m == 0xE0 && s.get(4..9) == Some(b"JFIF\0"));
    for (m, seg) in &old {
        let d = &seg[4..];
        let (name, keep): (String, Result<(), &str>) = match m {
            0xE0 if d.starts_with(b"JFIF\0") => ("APP0 JFIF".into(), Ok(())),
            0xE1 if d.starts_with(b"Exif\0\0") => ("APP1 Exif".into(), Ok(())),
            0xE1 if d.starts_with(b"http://ns.adobe.com/xap/1.0/\0") => ("APP1 XMP".into(), Ok(())),
            0xE1 if d.starts_with(b"http://ns.adobe.com/xmp/extension/\0") => {
                ("APP1 extended XMP".into(), Ok(()))
            }
            0xE2 if d.starts_with(b"ICC_PROFILE\0") => ("APP2 ICC_PROFILE".into(), Ok(())),
            0xE2 if d.starts_with(b"MPF\0") => (
                "APP2 MPF".into(),
                Err("offsets of images after the old end of image"),
            ),
            0xEB => (
                "APP11 JUMBF".into(),
                Err("C2PA manifest: bound to the old bytes"),
            ),
            0xEC => ("APP12".into(), Ok(())),
            0xED => ("APP13 Photoshop/IPTC".into(), Ok(())),
            0xEE => (
                "APP14 Adobe".into(),
                Err("colour transform of the old encoding"),
            ),
            0xFE => ("COM".into(), Ok(())),
            _ => (
                format!("APP{}", m - 0xE0),
                Err("not known to be independent of the encoding"),
            ),
        };
        match keep {
            Ok(()) if name == "APP1 Exif" => {
                let mut s = seg.to_vec();
                if crate::exif::drop_thumbnail(&mut s[10..]) {
                    c.drop("EXIF thumbnail (shows the image before the label)".into());
                }
                carried.extend(s);
                c.keep(name);
            }
            Ok(()) if name == "APP2 ICC_PROFILE" && !jpeg_icc_fits(&old, space) => {
                c.drop(icc_mismatch(space));
            }
            Ok(()) => {
                carried.extend_from_slice(seg);
                c.keep(name);
            }
            Err(why) => c.drop(format!("{name} ({why})")),
        }
    }
    let mut out = vec![0xFF, 0xD8];
    let old_exif = old
        .iter()
        .any(|(m, s)| *m == 0xE1 && s.get(4..10) == Some(b"Exif\0\0"));
    // the encoder's own APP0 only when the original had neither JFIF nor EXIF
    if !has_jfif && !old_exif {
        for (m, seg) in &new {
            if *m == 0xE0 {
                out.extend_from_slice(seg);
            }
        }
    }
    out.extend(carried);
    let old_icc = c.kept.iter().any(|k| k == "APP2 ICC_PROFILE");
    for (m, seg) in &new {
        let icc = *m == 0xE2 && seg.get(4..16) == Some(b"ICC_PROFILE\0");
        if *m != 0xE0 && !(icc && old_icc) {
            out.extend_from_slice(seg); // e.g. an ICC profile the encoder wrote
        }
    }
    out.extend_from_slice(&encoded[body..]);
    Ok((out, c))
}

/// RIFF chunks of a WebP: (id, body).
fn riff_chunks(b: &[u8]) -> Result<Vec<PngChunk<'_>>, Error> {
    if b.len() < 12 || &b[..4] != b"RIFF" || &b[8..12] != b"WEBP" {
        return Err(Error::Malformed("not a WebP (RIFF WEBP) file".into()));
    }
    let mut out = Vec::new();
    let mut p = 12usize;
    while p + 8 <= b.len() {
        let id = [b[p], b[p + 1], b[p + 2], b[p + 3]];
        let len = u32::from_le_bytes([b[p + 4], b[p + 5], b[p + 6], b[p + 7]]) as usize;
        let end = p
            .checked_add(8 + len)
            .filter(|&e| e <= b.len())
            .ok_or_else(|| Error::Truncated("WebP chunk".into()))?;
        out.push((id, &b[p + 8..end]));
        p = end + (len & 1);
        if out.len() > 10_000 {
            return Err(Error::Malformed("WebP: too many chunks".into()));
        }
    }
    Ok(out)
}

/// The original WebP's ICC profile, EXIF and XMP put into the re-encoded (lossless,
/// single-image) WebP, in an extended (`VP8X`) file.
pub fn webp(original: &[u8], encoded: &[u8], space: &[u8; 4]) -> Result<(Vec<u8>, Carried), Error> {
    let old = riff_chunks(original)?;
    let new = riff_chunks(encoded)?;
    let mut c = Carried::default();
    let (mut icc, mut exif, mut xmp) = (None, None, None);
    for (id, body) in &old {
        let name = String::from_utf8_lossy(id).trim_end().to_string();
        match id {
            b"ICCP" if !icc_fits(body, space) => {
                c.drop(icc_mismatch(space));
                continue;
            }
            b"ICCP" => icc = Some(*body),
            b"EXIF" => exif = Some(*body),
            b"XMP " => xmp = Some(*body),
            b"VP8X" | b"VP8 " | b"VP8L" | b"ALPH" => continue,
            b"C2PA" => {
                c.drop("C2PA (C2PA manifest: its hash of the old pixels no longer matches)".into());
                continue;
            }
            _ => {
                c.drop(format!(
                    "{name} (not known to be independent of the encoding)"
                ));
                continue;
            }
        }
        c.keep(name);
    }
    if icc.is_none() && exif.is_none() && xmp.is_none() {
        return Ok((encoded.to_vec(), c));
    }
    let image: Vec<&([u8; 4], &[u8])> = new
        .iter()
        .filter(|(id, _)| matches!(id, b"VP8L" | b"VP8 " | b"ALPH"))
        .collect();
    // canvas size and alpha from the encoder's VP8X, else its VP8L header
    let (w, h, alpha) = if let Some((_, x)) = new.iter().find(|(id, _)| id == b"VP8X") {
        let rd24 = |i: usize| {
            x.get(i..i + 3)
                .map(|s| u32::from_le_bytes([s[0], s[1], s[2], 0]) + 1)
        };
        (
            rd24(4).unwrap_or(1),
            rd24(7).unwrap_or(1),
            x.first().is_some_and(|f| f & 0x10 != 0),
        )
    } else {
        let (_, l) = image
            .iter()
            .find(|(id, _)| id == b"VP8L")
            .ok_or_else(|| Error::Image("the re-encoded WebP is not lossless".into()))?;
        if l.len() < 5 || l[0] != 0x2F {
            return Err(Error::Image(
                "the re-encoded WebP has a bad VP8L header".into(),
            ));
        }
        let bits = u32::from_le_bytes([l[1], l[2], l[3], l[4]]);
        (
            (bits & 0x3FFF) + 1,
            ((bits >> 14) & 0x3FFF) + 1,
            bits >> 28 & 1 == 1,
        )
    };
    let mut flags = 0u8;
    if icc.is_some() {
        flags |= 0x20;
    }
    if alpha {
        flags |= 0x10;
    }
    if exif.is_some() {
        flags |= 0x08;
    }
    if xmp.is_some() {
        flags |= 0x04;
    }
    let mut x = vec![flags, 0, 0, 0];
    x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let mut body = b"WEBP".to_vec();
    body.extend(riff_chunk(b"VP8X", &x));
    if let Some(i) = icc {
        body.extend(riff_chunk(b"ICCP", i));
    }
    for (id, b) in image {
        body.extend(riff_chunk(id, b));
    }
    if let Some(e) = exif {
        let mut e = e.to_vec();
        let at = if e.starts_with(b"Exif\0\0") { 6 } else { 0 };
        if crate::exif::drop_thumbnail(&mut e[at..]) {
            c.drop("EXIF thumbnail (shows the image before the label)".into());
        }
        body.extend(riff_chunk(b"EXIF", &e));
    }
    if let Some(x) = xmp {
        body.extend(riff_chunk(b"XMP ", x));
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    Ok((out, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded_png() -> Vec<u8> {
        let img = image::RgbImage::from_pixel(4, 3, image::Rgb([1, 2, 3]));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("encode");
        out
    }

    #[test]
    fn png_keeps_profile_and_text_drops_pixel_bound_chunks() {
        let base = encoded_png();
        let chunks = png_chunks(&base).expect("chunks");
        let mut orig = b"\x89PNG\r\n\x1a\n".to_vec();
        for (ty, bytes) in &chunks {
            orig.extend_from_slice(bytes);
            if ty == b"IHDR" {
                for (t, d) in [
                    (b"iCCP", &b"icc\0\0xyz"[..]),
                    (b"bKGD", &[0, 1, 0, 1, 0, 1][..]),
                    (b"caBX", &b"jumbf"[..]),
                    (b"tIME", &[7, 234, 1, 1, 0, 0, 0][..]),
                    (b"tEXt", &b"Comment\0hi"[..]),
                    (b"prVt", &b"private, safe to copy"[..]),
                ] {
                    orig.extend(chunk(t, d));
                }
            }
        }
        let (out, c) = png(&orig, &base, b"RGB ").expect("carry");
        assert_eq!(c.kept, ["iCCP", "tEXt", "prVt"]);
        assert_eq!(c.dropped.len(), 3, "{:?}", c.dropped);
        let types: Vec<[u8; 4]> = png_chunks(&out).expect("out").iter().map(|c| c.0).collect();
        assert_eq!(&types[..4], [*b"IHDR", *b"iCCP", *b"tEXt", *b"prVt"]);
        assert!(image::load_from_memory(&out).is_ok());
    }

    #[test]
    fn jpeg_keeps_exif_icc_xmp_and_drops_thumbnail_and_mpf() {
        let img = image::RgbImage::from_pixel(16, 16, image::Rgb([9, 9, 9]));
        let mut enc = Vec::new();
        image::DynamicImage::ImageRgb8(img)
            .write_to(
                &mut std::io::Cursor::new(&mut enc),
                image::ImageFormat::Jpeg,
            )
            .expect("encode");
        // TIFF (big-endian): IFD0 with one entry, next IFD -> IFD1 with a thumbnail
        let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
        tiff.extend_from_slice(&[0, 1, 0x01, 0x0F, 0, 2, 0, 0, 0, 2, b'X', 0, 0, 0]);
        tiff.extend_from_slice(&26u32.to_be_bytes()); // next IFD at 26
        tiff.extend_from_slice(&[0, 2]);
        tiff.extend_from_slice(&[0x02, 0x01, 0, 4, 0, 0, 0, 1, 0, 0, 0, 56]);
        tiff.extend_from_slice(&[0x02, 0x02, 0, 4, 0, 0, 0, 1, 0, 0, 0, 4]);
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        tiff.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xD9]);
        let seg = |m: u8, body: &[u8]| {
            let mut v = vec![0xFF, m];
            v.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
            v.extend_from_slice(body);
            v
        };
        let mut orig = vec![0xFF, 0xD8];
        orig.extend(seg(0xE1, &[&b"Exif\0\0"[..], &tiff].concat()));
        orig.extend(seg(0xE2, b"ICC_PROFILE\0\x01\x01icc"));
        orig.extend(seg(0xE2, b"MPF\0offsets"));
        orig.extend(seg(0xEB, b"JP\0\x01\0\0\0\x01jumbf"));
        orig.extend(seg(0xFE, b"a comment"));
        let body = jpeg_segments(&enc).expect("segments").1;
        orig.extend_from_slice(&enc[body..]); // the encoder's tables and scan
        let (out, c) = jpeg(&orig, &enc, b"RGB ").expect("carry");
        assert_eq!(c.kept, ["APP1 Exif", "APP2 ICC_PROFILE", "COM"]);
        assert!(c.dropped.iter().any(|d| d.starts_with("EXIF thumbnail")));
        assert!(c.dropped.iter().any(|d| d.starts_with("APP2 MPF")));
        assert!(c.dropped.iter().any(|d| d.starts_with("APP11")));
        // the thumbnail is unlinked and zeroed; IFD0 is intact
        let at = find(&out, b"MM\0\x2a").expect("tiff");
        let t = &out[at..at + tiff.len()];
        assert_eq!(&t[22..26], &[0, 0, 0, 0], "next-IFD pointer cleared");
        assert_eq!(&t[56..60], &[0, 0, 0, 0], "thumbnail zeroed");
        assert_eq!(&t[..22], &tiff[..22]);
        assert!(image::load_from_memory(&out).is_ok());
    }

    #[test]
    fn icc_profiles_of_another_colour_space_are_dropped() {
        use std::io::Write;
        let base = encoded_png();
        let iccp = |space: &[u8; 4]| {
            let mut profile = vec![0u8; 128];
            profile[16..20].copy_from_slice(space);
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(&profile).expect("zlib");
            let mut d = b"p\0\0".to_vec();
            d.extend(z.finish().expect("zlib"));
            chunk(b"iCCP", &d)
        };
        for (space, kept) in [(b"RGB ", true), (b"CMYK", false), (b"GRAY", false)] {
            let mut orig = base[..33].to_vec();
            orig.extend(iccp(space));
            orig.extend_from_slice(&base[33..]);
            let (_, c) = png(&orig, &base, b"RGB ").expect("carry");
            assert_eq!(c.kept.contains(&"iCCP".to_string()), kept, "{space:?}");
            assert_eq!(c.dropped.iter().any(|d| d.starts_with("ICC")), !kept);
        }
        // a grey profile on grey pixels is kept
        let mut orig = base[..33].to_vec();
        orig.extend(iccp(b"GRAY"));
        orig.extend_from_slice(&base[33..]);
        let (_, c) = png(&orig, &base, b"GRAY").expect("carry");
        assert_eq!(c.kept, ["iCCP"]);
    }

    fn find(h: &[u8], n: &[u8]) -> Option<usize> {
        h.windows(n.len()).position(|w| w == n)
    }
}
