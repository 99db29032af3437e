//! The explicit image label on AVIF (AV1-coded HEIF): the container is read by
//! `avif-parse`, the image decoded by rav1d (`re_rav1d`, a safe Rust port of dav1d) and
//! converted to RGB here (`imp::av1`), the label is drawn as on PNG, JPEG and WebP
//! (`render::draw_label`), and it is encoded again as an 8-bit AVIF (rav1e,
//! through `ravif`, at quality [`QUALITY`]). Needs the `avif` feature (on by default:
//! both codecs are pure Rust); without it, and for HEIC (HEVC-coded HEIF, for which no permissively licensed codec exists), the
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
        "explicit labels on AVIF need beian built with the `avif` feature (on by default; \
         this build left it out); {CONVERT}"
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

    fn av1_err(what: &str, e: re_rav1d::dav1d::Error) -> Error {
        Error::Image(format!(
            "AVIF: the AV1 decoder rejected the {what} image: {e}"
        ))
    }

    /// The decoded image as RGBA, whether it has alpha, whether samples were deeper
    /// than 8 bits. `nclx` (matrix, full range) is the container's colour property,
    /// which takes precedence over the AV1 sequence header's, as in libavif. The
    /// container parser asserts on some malformed inputs: a panic there is an error
    /// here, not a crash.
    pub(super) fn decode(
        bytes: &[u8],
        nclx: Option<(u16, bool)>,
    ) -> Result<(RgbaImage, bool, bool), Error> {
        catch_unwind(|| decode_unguarded(bytes, nclx))
            .map_err(|_| Error::Malformed("AVIF: the parser or decoder rejected it".into()))?
    }

    fn decode_unguarded(
        bytes: &[u8],
        nclx: Option<(u16, bool)>,
    ) -> Result<(RgbaImage, bool, bool), Error> {
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
        let color = av1::decode(&avif.primary_item).map_err(|e| av1_err("colour", e))?;
        let (w, h) = (color.width(), color.height());
        let mut raw = vec![255u8; w as usize * h as usize * 4];
        let deep = color.bit_depth() > 8;
        av1::to_rgb(&color, nclx, &mut raw)?;
        let alpha = match &avif.alpha_item {
            Some(a) => {
                let pic = av1::decode(a).map_err(|e| av1_err("alpha", e))?;
                if (pic.width(), pic.height()) != (w, h) {
                    return Err(Error::Malformed(
                        "AVIF alpha image and colour image differ in size".into(),
                    ));
                }
                av1::to_alpha(&pic, &mut raw);
                true
            }
            None => false,
        };
        let rgba = RgbaImage::from_raw(w, h, raw)
            .ok_or_else(|| Error::Image("AVIF: decoded image has the wrong size".into()))?;
        Ok((rgba, alpha, deep))
    }

    /// AV1 still images through rav1d (`re_rav1d`, a safe Rust port of dav1d, without
    /// assembly: pure Rust, nothing but cargo to build), and their conversion to RGB.
    mod av1 {
        use re_rav1d::dav1d::{
            Decoder, Error, Picture, PixelLayout, PlanarImageComponent, Settings,
        };

        use super::MAX_PIXELS;

        /// Decodes one AV1 still image (an AVIF item's OBUs). One thread, no frame
        /// delay; a bounded number of send/receive rounds, so that no input can loop.
        pub(super) fn decode(obus: &[u8]) -> Result<Picture, Error> {
            let mut s = Settings::new();
            s.set_n_threads(1);
            s.set_max_frame_delay(1);
            s.set_frame_size_limit(u32::try_from(MAX_PIXELS).unwrap_or(u32::MAX));
            s.set_all_layers(false);
            let mut dec = Decoder::with_settings(&s)?;
            match dec.send_data(obus.to_vec(), None, None, None) {
                Ok(()) => {}
                Err(e) if e.is_again() => {}
                Err(e) => return Err(e),
            }
            for _ in 0..16 {
                match dec.get_picture() {
                    Ok(p) => return Ok(p),
                    Err(e) if e.is_again() => match dec.send_pending_data() {
                        Ok(()) => {}
                        Err(e) if e.is_again() => {}
                        Err(e) => return Err(e),
                    },
                    Err(e) => return Err(e),
                }
            }
            Err(Error::InvalidArgument)
        }

        /// A plane's sample reader: 8-bit or native-endian 16-bit samples, `0` outside
        /// the plane (a malformed picture cannot index out of bounds).
        struct Samples {
            data: re_rav1d::dav1d::Plane,
            stride: usize,
            wide: bool,
        }

        impl Samples {
            fn of(pic: &Picture, c: PlanarImageComponent) -> Samples {
                Samples {
                    data: pic.plane(c),
                    stride: pic.stride(c) as usize,
                    wide: pic.bit_depth() > 8,
                }
            }

            #[inline]
            fn at(&self, x: usize, y: usize) -> f32 {
                let d: &[u8] = &self.data;
                if self.wide {
                    let i = y * self.stride + 2 * x;
                    d.get(i..i + 2)
                        .map_or(0.0, |b| f32::from(u16::from_ne_bytes([b[0], b[1]])))
                } else {
                    d.get(y * self.stride + x).map_or(0.0, |&b| f32::from(b))
                }
            }
        }

        /// Luma-style range mapping to 0..1: `(offset, scale)` of a sample.
        fn luma_range(depth: usize, full: bool) -> (f32, f32) {
            let k = (1u32 << depth.saturating_sub(8)) as f32;
            if full {
                (0.0, ((1u32 << depth) - 1) as f32)
            } else {
                (16.0 * k, 219.0 * k)
            }
        }

        /// Chroma range mapping to -0.5..0.5.
        fn chroma_range(depth: usize, full: bool) -> (f32, f32) {
            let k = (1u32 << depth.saturating_sub(8)) as f32;
            if full {
                ((1u32 << (depth - 1)) as f32, ((1u32 << depth) - 1) as f32)
            } else {
                (128.0 * k, 224.0 * k)
            }
        }

        fn to8(v: f32) -> u8 {
            (v.clamp(0.0, 1.0) * 255.0).round() as u8
        }

        /// Converts the colour picture into the RGB of `out` (RGBA, alpha untouched).
        /// Matrix coefficients (H.273): identity (GBR), BT.709, BT.601 (also for
        /// unspecified, as libavif does), FCC, SMPTE 240, YCgCo, BT.2020 (non-constant
        /// luminance), chromaticity-derived non-constant luminance (sRGB/BT.709
        /// primaries, as `check` requires, give BT.709's); others are refused by name.
        pub(super) fn to_rgb(
            pic: &Picture,
            nclx: Option<(u16, bool)>,
            out: &mut [u8],
        ) -> Result<(), crate::Error> {
            let depth = pic.bit_depth();
            let (mc, full) = match nclx {
                Some((mc, full)) => (mc, full),
                None => (
                    pic.matrix_coefficients() as u16,
                    matches!(pic.color_range(), re_rav1d::dav1d::pixel::YUVRange::Full),
                ),
            };
            let (kr, kb) = match mc {
                0 | 8 => (0.0, 0.0),
                1 | 12 => (0.2126, 0.0722),
                2 | 5 | 6 => (0.299, 0.114),
                4 => (0.30, 0.11),
                7 => (0.212, 0.087),
                9 => (0.2627, 0.0593),
                other => {
                    return Err(crate::Error::Unsupported(format!(
                        "explicit labels on an AVIF with matrix coefficients {other} (H.273): \
                         its colours cannot be converted here; {}",
                        super::CONVERT
                    )));
                }
            };
            let layout = pic.pixel_layout();
            let (sx, sy) = match layout {
                PixelLayout::I420 => (1, 1),
                PixelLayout::I422 => (1, 0),
                PixelLayout::I444 | PixelLayout::I400 => (0, 0),
            };
            let y_plane = Samples::of(pic, PlanarImageComponent::Y);
            let uv = (layout != PixelLayout::I400).then(|| {
                (
                    Samples::of(pic, PlanarImageComponent::U),
                    Samples::of(pic, PlanarImageComponent::V),
                )
            });
            // identity keeps every channel on the luma range
            let (yo, ys) = luma_range(depth, full);
            let (co, cs) = if mc == 0 {
                luma_range(depth, full)
            } else {
                chroma_range(depth, full)
            };
            let kg = 1.0 - kr - kb;
            let w = pic.width() as usize;
            for (i, px) in out.chunks_exact_mut(4).enumerate() {
                let (x, y) = (i % w, i / w);
                let luma = (y_plane.at(x, y) - yo) / ys;
                let (cb, cr) = match &uv {
                    Some((u, v)) => (
                        (u.at(x >> sx, y >> sy) - co) / cs,
                        (v.at(x >> sx, y >> sy) - co) / cs,
                    ),
                    None => (0.0, 0.0),
                };
                let (r, g, b) = match mc {
                    0 if uv.is_some() => (cr, luma, cb),
                    0 => (luma, luma, luma),
                    8 => {
                        let t = luma - cb;
                        (t + cr, luma + cb, t - cr)
                    }
                    _ => {
                        let r = luma + 2.0 * (1.0 - kr) * cr;
                        let b = luma + 2.0 * (1.0 - kb) * cb;
                        (r, (luma - kr * r - kb * b) / kg, b)
                    }
                };
                px[0] = to8(r);
                px[1] = to8(g);
                px[2] = to8(b);
            }
            Ok(())
        }

        /// Writes the alpha picture's luma into the alpha of `out` (RGBA), by the
        /// alpha image's own range.
        pub(super) fn to_alpha(pic: &Picture, out: &mut [u8]) {
            let full = matches!(pic.color_range(), re_rav1d::dav1d::pixel::YUVRange::Full);
            let (o, s) = luma_range(pic.bit_depth(), full);
            let a = Samples::of(pic, PlanarImageComponent::Y);
            let w = pic.width() as usize;
            for (i, px) in out.chunks_exact_mut(4).enumerate() {
                px[3] = to8((a.at(i % w, i / w) - o) / s);
            }
        }
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
        let (mut rgba, had_alpha, deep) =
            decode(bytes, info.nclx.map(|(_, _, mc, full)| (mc, full)))?;
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

    /// The YUV to RGB conversion against rav1e's own RGB to YUV: 8- and 10-bit, YCbCr
    /// (BT.601, ravif's choice) and identity (GBR), with and without alpha. Decoded
    /// colours stay within a few levels of what was encoded (near-lossless quality).
    #[cfg(feature = "avif")]
    #[test]
    fn decoded_colours_match_what_rav1e_encoded() {
        let (w, h) = (64usize, 48usize);
        let px: Vec<ravif::RGBA8> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                ravif::RGBA8::new(
                    (x * 4) as u8,
                    (y * 5) as u8,
                    200 - (x + y) as u8,
                    60 + y as u8,
                )
            })
            .collect();
        for depth in [ravif::BitDepth::Eight, ravif::BitDepth::Ten] {
            for model in [ravif::ColorModel::YCbCr, ravif::ColorModel::RGB] {
                for alpha in [false, true] {
                    let enc = ravif::Encoder::new()
                        .with_quality(100.0)
                        .with_alpha_quality(100.0)
                        .with_speed(10)
                        .with_bit_depth(depth)
                        .with_internal_color_model(model);
                    let file = if alpha {
                        enc.encode_rgba(ravif::Img::new(&px[..], w, h))
                    } else {
                        let rgb: Vec<ravif::RGB8> = px.iter().map(|p| p.rgb()).collect();
                        enc.encode_rgb(ravif::Img::new(&rgb[..], w, h))
                    }
                    .expect("encode")
                    .avif_file;
                    let what = format!("{depth:?} {model:?} alpha={alpha}");
                    let (img, had_alpha, deep) = imp::decode(&file, None).expect(&what);
                    assert_eq!((img.width(), img.height()), (w as u32, h as u32), "{what}");
                    assert_eq!(had_alpha, alpha, "{what}");
                    assert_eq!(deep, matches!(depth, ravif::BitDepth::Ten), "{what}");
                    let mut diff = [0u64; 4];
                    for (a, b) in px.iter().zip(img.pixels()) {
                        diff[0] += u64::from(a.r.abs_diff(b[0]));
                        diff[1] += u64::from(a.g.abs_diff(b[1]));
                        diff[2] += u64::from(a.b.abs_diff(b[2]));
                        diff[3] += u64::from(if alpha { a.a } else { 255 }.abs_diff(b[3]));
                    }
                    let mean = diff.map(|d| d as f64 / (w * h) as f64);
                    assert!(mean.iter().all(|m| *m < 2.5), "{what}: {mean:?}");
                }
            }
        }
    }

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
