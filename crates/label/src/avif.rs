//! The explicit image label on AVIF (AV1-coded HEIF): the image is decoded (libaom,
//! through `avif-decode`), the label is drawn as on PNG, JPEG and WebP
//! (`render::draw_label`), and it is encoded again as an 8-bit AVIF (rav1e,
//! through `ravif`, at quality [`QUALITY`]). Needs the `avif` feature; without it, and
//! for HEIC (HEVC-coded HEIF, for which no permissively licensed codec exists), the
//! label is refused with an error that says why.
//!
//! Carried over: the Exif item (thumbnail unlinked and zeroed) and the XMP packet, into
//! which the implicit label is then written (`bmff::plan_heif_seeded`).
//! The primary item's rotation and mirroring (`irot`, `imir`) are applied to the pixels.
//! Samples deeper than 8 bits are rounded to 8 (reported in `metadata.dropped`).
//! Refused (nothing written): grid (tiled) primaries, image sequences, an ICC profile or
//! nclx colours other than sRGB/BT.709 (HDR, wide gamut: the new file would be tagged
//! sRGB), a clean aperture (`clap`), premultiplied alpha, images over [`MAX_PIXELS`].

use crate::Error;
use crate::formats::bmff::HeifSource;

/// The encoder's quality (1-100; rav1e quantizer through `ravif`).
pub const QUALITY: f32 = 90.0;
/// The encoder's speed (1 slowest - 10 fastest): a 1024x1024 image takes about 2 s in
/// a release build on 2 cores.
pub const SPEED: u8 = 9;
/// The largest image re-encoded (pixels).
pub const MAX_PIXELS: u64 = 64 << 20;

/// Whether a HEIF is AV1-coded: its primary item is `av01`, or (no item type read) it
/// carries an AVIF brand.
pub(crate) fn is_avif(h: &HeifSource) -> bool {
    match h.primary_type {
        Some(t) => &t == b"av01" || (&t == b"grid" && h.brands.iter().any(|b| b == b"avif")),
        None => h.brands.iter().any(|b| b == b"avif" || b == b"avis"),
    }
}

const CONVERT: &str = "nothing was written: drop --explicit to embed the implicit label only, \
                       or convert the file to PNG, JPEG or AVIF first";

/// The error for an animated AVIF (major brand `avis`, read as MP4).
pub(crate) fn animated() -> Error {
    Error::Unsupported(format!(
        "explicit labels on animated AVIF (an image sequence: only one frame would be \
         kept); {CONVERT}"
    ))
}

/// The error for an AVIF in a build without the `avif` feature.
#[cfg(not(feature = "avif"))]
pub(crate) fn not_built() -> Error {
    Error::Unsupported(format!(
        "explicit labels on AVIF need beian built with `--features avif` (libaom's AV1 \
         decoder, built from source with cmake and nasm); {CONVERT}"
    ))
}

/// Checks that the label can be drawn on this HEIF, before any decoding: AVIF, a single
/// still image, colours that an sRGB re-encoding keeps.
pub(crate) fn check(h: &HeifSource) -> Result<(), Error> {
    if !is_avif(h) {
        let coded = match h.primary_type {
            Some(t) if matches!(&t, b"hvc1" | b"hev1") => "HEIC (HEVC-coded HEIF)".to_string(),
            Some(t) => format!(
                "HEIF whose image is coded as '{}'",
                String::from_utf8_lossy(&t).escape_default()
            ),
            None => "HEIF without an AV1 image".to_string(),
        };
        return Err(Error::Unsupported(format!(
            "explicit labels are not drawn on {coded}: re-encoding needs an HEVC encoder and \
             no permissively licensed one exists (AVIF, AV1-coded HEIF, is supported); {CONVERT}"
        )));
    }
    if h.sequence || h.brands.first().is_some_and(|b| b == b"avis") {
        return Err(animated());
    }
    if h.primary_type.is_some_and(|t| &t == b"grid") {
        return Err(Error::Unsupported(format!(
            "explicit labels on a grid (tiled) AVIF: the AV1 decoder here reads single-tile \
             images only; {CONVERT}"
        )));
    }
    if h.icc {
        return Err(Error::Unsupported(format!(
            "explicit labels on an AVIF with an ICC colour profile: the AVIF encoder here \
             cannot carry the profile, so the colours would change; {CONVERT}"
        )));
    }
    if let Some((prim, tc, _, _)) = h.nclx {
        // BT.709/sRGB primaries or unspecified; BT.709, sRGB, BT.601, BT.2020 SDR or
        // unspecified transfer
        if !matches!(prim, 1 | 2) || !matches!(tc, 1 | 2 | 6 | 13 | 14 | 15) {
            return Err(Error::Unsupported(format!(
                "explicit labels on an AVIF with colour primaries {prim} and transfer {tc} \
                 (nclx; wide gamut or HDR): it would be re-encoded as 8-bit sRGB and its \
                 colours would change; {CONVERT}"
            )));
        }
    }
    if h.clap {
        return Err(Error::Unsupported(format!(
            "explicit labels on an AVIF with a clean aperture (clap crop); {CONVERT}"
        )));
    }
    Ok(())
}

#[cfg(feature = "avif")]
pub(crate) use imp::label_avif;

#[cfg(feature = "avif")]
mod imp {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::path::Path;

    use image::{RgbaImage, imageops};

    use super::{CONVERT, MAX_PIXELS, QUALITY, SPEED};
    use crate::carry::Carried;
    use crate::formats::bmff::{HeifSeed, HeifSource};
    use crate::render::{Drawn, draw_label, find_font};
    use crate::{Config, Error};

    fn parse_err(e: avif_parse::Error) -> Error {
        match e {
            avif_parse::Error::Unsupported(s) => {
                Error::Unsupported(format!("AVIF: {s}; {CONVERT}"))
            }
            avif_parse::Error::UnexpectedEOF => Error::Truncated("AVIF".into()),
            other => Error::Malformed(format!("AVIF: {other}")),
        }
    }

    fn decode_err(e: avif_decode::Error) -> Error {
        match e {
            avif_decode::Error::Parse(p) => parse_err(p),
            other => Error::Image(format!("AVIF: {other}")),
        }
    }

    /// 16-bit to 8-bit, rounded.
    fn to8(v: u16) -> u8 {
        ((u32::from(v) * 255 + 32767) / 65535) as u8
    }

    /// The decoded image as RGBA, whether it has alpha, whether samples were deeper
    /// than 8 bits. The parser and the decoder's colour conversion assert on some
    /// malformed inputs: a panic there is an error here, not a crash.
    fn decode(bytes: &[u8]) -> Result<(RgbaImage, bool, bool), Error> {
        catch_unwind(|| decode_unguarded(bytes))
            .map_err(|_| Error::Malformed("AVIF: the parser or decoder rejected it".into()))?
    }

    fn decode_unguarded(bytes: &[u8]) -> Result<(RgbaImage, bool, bool), Error> {
        let avif = avif_parse::read_avif(&mut &bytes[..]).map_err(parse_err)?;
        if avif.premultiplied_alpha {
            return Err(Error::Unsupported(format!(
                "explicit labels on an AVIF with premultiplied alpha; {CONVERT}"
            )));
        }
        let meta = avif.primary_item_metadata().map_err(parse_err)?;
        let (w, h) = (meta.max_frame_width.get(), meta.max_frame_height.get());
        if u64::from(w) * u64::from(h) > MAX_PIXELS {
            return Err(Error::Unsupported(format!(
                "explicit labels on an AVIF of {w}x{h} pixels (limit {MAX_PIXELS} pixels)"
            )));
        }
        if let Some(a) = avif.alpha_item_metadata().map_err(parse_err)?
            && (a.max_frame_width, a.max_frame_height)
                != (meta.max_frame_width, meta.max_frame_height)
        {
            return Err(Error::Malformed(
                "AVIF alpha image and colour image differ in size".into(),
            ));
        }
        let img = avif_decode::Decoder::from_avif(bytes)
            .and_then(|d| d.to_image())
            .map_err(decode_err)?;
        use avif_decode::Image as I;
        let (w, h) = match &img {
            I::Rgb8(i) => (i.width(), i.height()),
            I::Rgb16(i) => (i.width(), i.height()),
            I::Rgba8(i) => (i.width(), i.height()),
            I::Rgba16(i) => (i.width(), i.height()),
            I::Gray8(i) => (i.width(), i.height()),
            I::Gray16(i) => (i.width(), i.height()),
        };
        let (w32, h32) = (
            u32::try_from(w).map_err(|_| Error::Image("AVIF too wide".into()))?,
            u32::try_from(h).map_err(|_| Error::Image("AVIF too tall".into()))?,
        );
        let mut raw = Vec::with_capacity(w * h * 4);
        let (alpha, deep) = match &img {
            I::Rgb8(i) => {
                i.pixels().for_each(|p| raw.extend([p.r, p.g, p.b, 255]));
                (false, false)
            }
            I::Rgba8(i) => {
                i.pixels().for_each(|p| raw.extend([p.r, p.g, p.b, p.a]));
                (true, false)
            }
            I::Rgb16(i) => {
                i.pixels()
                    .for_each(|p| raw.extend([to8(p.r), to8(p.g), to8(p.b), 255]));
                (false, true)
            }
            I::Rgba16(i) => {
                i.pixels()
                    .for_each(|p| raw.extend([to8(p.r), to8(p.g), to8(p.b), to8(p.a)]));
                (true, true)
            }
            I::Gray8(i) => {
                i.pixels()
                    .for_each(|p| raw.extend([p.value(), p.value(), p.value(), 255]));
                (false, false)
            }
            I::Gray16(i) => {
                i.pixels().for_each(|p| {
                    let g = to8(p.value());
                    raw.extend([g, g, g, 255]);
                });
                (false, true)
            }
        };
        let rgba = RgbaImage::from_raw(w32, h32, raw)
            .ok_or_else(|| Error::Image("AVIF: decoded image has the wrong size".into()))?;
        Ok((rgba, alpha, deep || meta.bit_depth > 8))
    }

    /// Draws the label on an AVIF and encodes it again; returns the new AVIF (without
    /// Exif or XMP), the original's Exif and XMP to write into it, and what was drawn.
    /// [`super::check`] has passed.
    pub(crate) fn label_avif(
        bytes: &[u8],
        info: &HeifSource,
        font_path: Option<&Path>,
        cfg: &Config,
    ) -> Result<(Vec<u8>, HeifSeed, Drawn), Error> {
        let text = &cfg.image.text;
        let (path, font) = find_font(font_path, text)?;
        let (mut rgba, had_alpha, deep) = decode(bytes)?;
        let mut metadata = Carried::default();
        // MIAF order: rotation, then mirroring
        rgba = match info.irot {
            1 => imageops::rotate270(&rgba),
            2 => imageops::rotate180(&rgba),
            3 => imageops::rotate90(&rgba),
            _ => rgba,
        };
        match info.imir {
            Some(0) => imageops::flip_horizontal_in_place(&mut rgba),
            Some(_) => imageops::flip_vertical_in_place(&mut rgba),
            None => {}
        }
        if info.irot != 0 || info.imir.is_some() {
            metadata
                .kept
                .push("irot/imir (rotation, mirroring: applied to the pixels)".into());
        }
        let short = rgba.width().min(rgba.height());
        let th_px = draw_label(&mut rgba, &font, text, cfg.image.min_height_ratio)?;
        let (w, h) = (rgba.width() as usize, rgba.height() as usize);
        let enc = ravif::Encoder::new()
            .with_quality(QUALITY)
            .with_alpha_quality(QUALITY)
            .with_speed(SPEED)
            .with_bit_depth(ravif::BitDepth::Eight);
        let encoded = catch_unwind(AssertUnwindSafe(|| {
            if had_alpha {
                let px: Vec<ravif::RGBA8> = rgba
                    .pixels()
                    .map(|p| ravif::RGBA8::new(p[0], p[1], p[2], p[3]))
                    .collect();
                enc.encode_rgba(ravif::Img::new(&px[..], w, h))
            } else {
                let px: Vec<ravif::RGB8> = rgba
                    .pixels()
                    .map(|p| ravif::RGB8::new(p[0], p[1], p[2]))
                    .collect();
                enc.encode_rgb(ravif::Img::new(&px[..], w, h))
            }
        }))
        .map_err(|_| Error::Image("AVIF encoder failed".into()))?
        .map_err(|e| Error::Image(format!("AVIF encoder: {e}")))?;
        // metadata: Exif (thumbnail dropped) and XMP go into the new file
        let mut seed = info.seed.clone();
        if let Some(t) = seed.tiff.as_mut() {
            metadata.kept.push("Exif".into());
            if crate::exif::drop_thumbnail(t) {
                metadata
                    .dropped
                    .push("EXIF thumbnail (shows the image before the label)".into());
            }
        }
        if seed.xmp.is_some() {
            metadata.kept.push("XMP".into());
        }
        if deep {
            metadata.dropped.push(
                "samples deeper than 8 bits (re-encoded as 8-bit AVIF, values rounded)".into(),
            );
        }
        let carried = 1
            + usize::from(had_alpha)
            + info.exif_items.min(usize::from(seed.tiff.is_some()))
            + info.xmp_items.min(usize::from(seed.xmp.is_some()));
        let other = info.items.saturating_sub(carried);
        if other > 0 {
            metadata.dropped.push(format!(
                "{other} other HEIF item(s) (thumbnails, depth or gain maps, extra Exif/XMP: \
                 they show or describe the image before the label)"
            ));
        }
        if info.c2pa {
            metadata
                .dropped
                .push("C2PA (C2PA manifest: its hash of the old pixels no longer matches)".into());
        }
        let drawn = Drawn::new(&path, th_px, short, "avif-q90", metadata);
        Ok((encoded.avif_file, seed, drawn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avif(f: impl FnOnce(&mut HeifSource)) -> Result<(), Error> {
        let mut h = HeifSource {
            brands: vec![*b"avif", *b"mif1"],
            primary_type: Some(*b"av01"),
            items: 1,
            ..HeifSource::default()
        };
        f(&mut h);
        check(&h)
    }

    #[test]
    fn what_is_refused_before_decoding() {
        assert!(avif(|_| {}).is_ok());
        assert!(avif(|h| h.nclx = Some((1, 13, 6, true))).is_ok());
        for (why, f) in [
            (
                "HEVC",
                Box::new(|h: &mut HeifSource| h.primary_type = Some(*b"hvc1"))
                    as Box<dyn FnOnce(&mut HeifSource)>,
            ),
            (
                "grid",
                Box::new(|h: &mut HeifSource| h.primary_type = Some(*b"grid")),
            ),
            ("animated", Box::new(|h: &mut HeifSource| h.sequence = true)),
            ("ICC", Box::new(|h: &mut HeifSource| h.icc = true)),
            (
                "HDR",
                Box::new(|h: &mut HeifSource| h.nclx = Some((9, 16, 9, false))),
            ),
            ("clap", Box::new(|h: &mut HeifSource| h.clap = true)),
        ] {
            let e = avif(f).expect_err(why);
            assert!(matches!(e, Error::Unsupported(_)), "{e}");
            assert!(e.to_string().contains(why), "{why}: {e}");
        }
    }
}
