//! The explicit image label: "人工智能生成" drawn in the bottom-right corner, text
//! (ink) height at least 5% of the shorter side, with a CJK font from the system or
//! a given file. The image is decoded and re-encoded (PNG stays lossless; JPEG at
//! quality 92): an explicit label changes pixels by nature. The original's colour
//! profile, EXIF, XMP and text are carried into the new PNG, JPEG or WebP ([`crate::carry`]).
//! AVIF (the `avif` feature, on by default) is decoded and encoded by [`crate::avif`], which draws
//! with the same `draw_label`.

use std::path::{Path, PathBuf};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};
use image::{ImageFormat, Rgba, RgbaImage};

use crate::{Config, Error};

/// Where CJK fonts usually are.
pub const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/source-han-sans/SourceHanSans-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:\\Windows\\Fonts\\msyh.ttc",
    "C:\\Windows\\Fonts\\simhei.ttf",
];

/// What was drawn.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Drawn {
    /// The font file used.
    pub font: String,
    /// Ink height of the text in pixels.
    pub text_height_px: u32,
    /// Shorter side of the image in pixels.
    pub shorter_side_px: u32,
    /// `text_height_px / shorter_side_px`.
    pub ratio: f32,
    /// Corner.
    pub corner: &'static str,
    /// How the image was written back: in its own format (PNG; JPEG at quality 92;
    /// AVIF as 8-bit AVIF at quality 90, `avif-q90`), or, for WebP, as lossless WebP
    /// (the only WebP encoding available here).
    pub encoding: &'static str,
    /// The original's metadata carried into the new encoding (PNG, JPEG, WebP, AVIF), and what
    /// was dropped and why ([`crate::carry`]).
    pub metadata: crate::carry::Carried,
}

impl Drawn {
    /// A bottom-right label of `text_height_px` on an image whose shorter side is
    /// `shorter_side_px`, drawn with the font at `font`.
    pub(crate) fn new(
        font: &Path,
        text_height_px: u32,
        shorter_side_px: u32,
        encoding: &'static str,
        metadata: crate::carry::Carried,
    ) -> Drawn {
        Drawn {
            font: font.display().to_string(),
            text_height_px,
            shorter_side_px,
            ratio: text_height_px as f32 / shorter_side_px as f32,
            corner: "bottom-right",
            encoding,
            metadata,
        }
    }
}

fn load_font(path: &Path, text: &str) -> Result<FontVec, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Font {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let font = FontVec::try_from_vec_and_index(bytes, 0).map_err(|e| Error::Font {
        path: path.display().to_string(),
        reason: format!("not a TrueType/OpenType font ({e})"),
    })?;
    if let Some(c) = text
        .chars()
        .find(|&c| !c.is_whitespace() && font.glyph_id(c).0 == 0)
    {
        return Err(Error::Font {
            path: path.display().to_string(),
            reason: format!("has no glyph for {c:?} (a CJK font is needed)"),
        });
    }
    Ok(font)
}

/// Finds a CJK font: the given one, else the usual places, else any font file under
/// /usr/share/fonts whose name suggests CJK.
pub fn find_font(given: Option<&Path>, text: &str) -> Result<(PathBuf, FontVec), Error> {
    if let Some(p) = given {
        return Ok((p.to_path_buf(), load_font(p, text)?));
    }
    for c in FONT_CANDIDATES {
        let p = Path::new(c);
        if p.is_file()
            && let Ok(f) = load_font(p, text)
        {
            return Ok((p.to_path_buf(), f));
        }
    }
    let mut stack = vec![
        PathBuf::from("/usr/share/fonts"),
        PathBuf::from("/usr/local/share/fonts"),
    ];
    let mut seen = 0;
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            seen += 1;
            if seen > 20_000 {
                break;
            }
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            let cjk = [
                "cjk",
                "wqy",
                "han",
                "droidsansfallback",
                "sc",
                "hei",
                "song",
                "ming",
            ]
            .iter()
            .any(|k| n.contains(k));
            if cjk
                && (n.ends_with(".ttf") || n.ends_with(".ttc") || n.ends_with(".otf"))
                && let Ok(f) = load_font(&p, text)
            {
                return Ok((p, f));
            }
        }
    }
    Err(Error::NoFont {
        looked: format!("{} and /usr/share/fonts", FONT_CANDIDATES[0]),
    })
}

fn ink(font: &FontVec, scale: PxScale, text: &str) -> (f32, f32, f32, f32) {
    let sf = font.as_scaled(scale);
    let mut x = 0.0;
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for c in text.chars() {
        let id = font.glyph_id(c);
        let g = id.with_scale_and_position(scale, point(x, sf.ascent()));
        if let Some(o) = font.outline_glyph(g) {
            let b = o.px_bounds();
            x0 = x0.min(b.min.x);
            y0 = y0.min(b.min.y);
            x1 = x1.max(b.max.x);
            y1 = y1.max(b.max.y);
        }
        x += sf.h_advance(id);
    }
    (x0, y0, x1, y1)
}

/// Whether a WebP is animated (VP8X with the animation flag).
fn is_animated_webp(b: &[u8]) -> bool {
    b.len() > 20 && &b[12..16] == b"VP8X" && b[20] & 0x02 != 0
}

/// Draws the label onto an image and re-encodes it in its own format (WebP as
/// lossless WebP).
pub fn label_image(
    bytes: &[u8],
    font_path: Option<&Path>,
    cfg: &Config,
) -> Result<(Vec<u8>, Drawn), Error> {
    let fmt = image::guess_format(bytes).map_err(|e| Error::Image(e.to_string()))?;
    if !matches!(
        fmt,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP
    ) {
        return Err(Error::Unsupported(format!(
            "explicit image labels are drawn on PNG, JPEG and WebP, not {fmt:?}"
        )));
    }
    if fmt == ImageFormat::WebP && is_animated_webp(bytes) {
        return Err(Error::Unsupported(
            "explicit labels on animated WebP (only the first frame would be kept); \
             nothing was written"
                .into(),
        ));
    }
    let text = &cfg.image.text;
    let (path, font) = find_font(font_path, text)?;
    let img =
        image::load_from_memory_with_format(bytes, fmt).map_err(|e| Error::Image(e.to_string()))?;
    let had_alpha = img.color().has_alpha();
    // grey stays grey (the label is white on black), so a grey ICC profile still fits
    let grey = !img.color().has_color();
    let mut rgba: RgbaImage = img.to_rgba8();
    let short = rgba.width().min(rgba.height());
    let th_px = draw_label(&mut rgba, &font, text, cfg.image.min_height_ratio)?;
    let mut out = Vec::new();
    let mut cur = std::io::Cursor::new(&mut out);
    match fmt {
        ImageFormat::Png => {
            let dynimg = match (grey, had_alpha) {
                (false, true) => image::DynamicImage::ImageRgba8(rgba),
                (false, false) => image::DynamicImage::ImageRgba8(rgba).to_rgb8().into(),
                (true, true) => image::DynamicImage::ImageRgba8(rgba)
                    .to_luma_alpha8()
                    .into(),
                (true, false) => image::DynamicImage::ImageRgba8(rgba).to_luma8().into(),
            };
            dynimg
                .write_to(&mut cur, ImageFormat::Png)
                .map_err(|e| Error::Image(e.to_string()))?;
        }
        ImageFormat::WebP => {
            let enc = image::codecs::webp::WebPEncoder::new_lossless(&mut cur);
            let res = if had_alpha {
                image::DynamicImage::ImageRgba8(rgba).write_with_encoder(enc)
            } else {
                image::DynamicImage::ImageRgba8(rgba)
                    .to_rgb8()
                    .write_with_encoder(enc)
            };
            res.map_err(|e| Error::Image(e.to_string()))?;
        }
        _ => {
            let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut cur, 92);
            let res = if grey {
                image::DynamicImage::ImageRgba8(rgba)
                    .to_luma8()
                    .write_with_encoder(enc)
            } else {
                image::DynamicImage::ImageRgba8(rgba)
                    .to_rgb8()
                    .write_with_encoder(enc)
            };
            res.map_err(|e| Error::Image(e.to_string()))?;
        }
    }
    // the colour space the new pixels are in, for the ICC profile check
    let space = if grey && fmt != ImageFormat::WebP {
        b"GRAY"
    } else {
        b"RGB "
    };
    let (out, metadata) = match fmt {
        ImageFormat::Png => crate::carry::png(bytes, &out, space)?,
        ImageFormat::Jpeg => crate::carry::jpeg(bytes, &out, space)?,
        ImageFormat::WebP => crate::carry::webp(bytes, &out, space)?,
        _ => (out, crate::carry::Carried::default()),
    };
    let encoding = match fmt {
        ImageFormat::Png => "png",
        ImageFormat::WebP => "webp-lossless",
        _ => "jpeg-q92",
    };
    Ok((out, Drawn::new(&path, th_px, short, encoding, metadata)))
}

/// Draws `text` in the bottom-right corner of `rgba`: white on a 55% black box, ink
/// height at least `min_height_ratio` of the shorter side. Returns the ink height in
/// pixels. Shared by every image format that gets an explicit label.
pub(crate) fn draw_label(
    rgba: &mut RgbaImage,
    font: &FontVec,
    text: &str,
    min_height_ratio: f32,
) -> Result<u32, Error> {
    let (w, h) = rgba.dimensions();
    let short = w.min(h);
    let target = (short as f32 * min_height_ratio).ceil().max(8.0) + 1.0;
    let mut scale = PxScale::from(target / 0.8);
    let mut bounds = ink(font, scale, text);
    for _ in 0..8 {
        let hh = bounds.3 - bounds.1;
        if hh >= target {
            break;
        }
        scale = PxScale::from(scale.y * (target / hh.max(1.0)) + 0.5);
        bounds = ink(font, scale, text);
    }
    let (tw, th) = (bounds.2 - bounds.0, bounds.3 - bounds.1);
    let pad = (th * 0.3).ceil();
    let margin = (th * 0.4).ceil();
    let box_w = tw + 2.0 * pad;
    let box_h = th + 2.0 * pad;
    if box_w + margin > w as f32 || box_h + margin > h as f32 {
        return Err(Error::Unsupported(format!(
            "image {w}x{h} is too small for a legible label"
        )));
    }
    let bx = w as f32 - margin - box_w;
    let by = h as f32 - margin - box_h;
    // background box: black at 55%
    for y in by as u32..(by + box_h) as u32 {
        for x in bx as u32..(bx + box_w) as u32 {
            blend(rgba, x, y, [0, 0, 0], 0.55);
        }
    }
    let sf = font.as_scaled(scale);
    let ox = bx + pad - bounds.0;
    let oy = by + pad - bounds.1;
    let mut x = 0.0;
    for c in text.chars() {
        let id = font.glyph_id(c);
        let g = id.with_scale_and_position(scale, point(ox + x, oy + sf.ascent()));
        if let Some(o) = font.outline_glyph(g) {
            let b = o.px_bounds();
            o.draw(|gx, gy, cov| {
                let px = b.min.x as i64 + gx as i64;
                let py = b.min.y as i64 + gy as i64;
                if px >= 0 && py >= 0 && (px as u32) < w && (py as u32) < h {
                    blend(rgba, px as u32, py as u32, [255, 255, 255], cov.min(1.0));
                }
            });
        }
        x += sf.h_advance(id);
    }
    Ok(th.round() as u32)
}

fn blend(img: &mut RgbaImage, x: u32, y: u32, c: [u8; 3], a: f32) {
    let p: &mut Rgba<u8> = img.get_pixel_mut(x, y);
    for (ch, cv) in p.0.iter_mut().zip(c) {
        *ch = (*ch as f32 * (1.0 - a) + cv as f32 * a).round() as u8;
    }
    if p.0[3] < 255 {
        p.0[3] = (p.0[3] as f32 + (255.0 - p.0[3] as f32) * a).round() as u8;
    }
}
