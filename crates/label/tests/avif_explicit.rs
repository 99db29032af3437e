//! Explicit labels on AVIF (the `avif` feature, on by default): fixtures written by Pillow (RGB with
//! EXIF and XMP, RGBA, with an ICC profile, animated), labelled through the library API
//! and read back by Pillow; HEIC refused with the reason; malformed AVIF is an error.
//!
//! Needs python3 with Pillow built with AVIF (`.ci/label-fixtures.sh`) and a CJK font
//! (fonts-wqy-zenhei); without them the Pillow cases skip, except under CI=true.

mod common;

use beian_label::{Error, embed_bytes, embed_file};
use common::opts;

fn boxed(ty: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(ty);
    b.extend_from_slice(body);
    b
}

/// A HEIF whose primary item is coded as `coded` (no image data: the explicit label is
/// refused before any decoding).
fn heif_with(brand: &[u8; 4], coded: &[u8; 4]) -> Vec<u8> {
    let mut ftyp = brand.to_vec();
    ftyp.extend_from_slice(&[0, 0, 0, 0]);
    ftyp.extend_from_slice(brand);
    ftyp.extend_from_slice(b"mif1");
    let mut hdlr = vec![0u8; 8];
    hdlr.extend_from_slice(b"pict");
    hdlr.extend_from_slice(&[0; 13]);
    let pitm = [0, 0, 0, 0, 0, 1];
    let mut infe = vec![2, 0, 0, 0, 0, 1, 0, 0];
    infe.extend_from_slice(coded);
    infe.push(0);
    let mut iinf = vec![0, 0, 0, 0, 0, 1];
    iinf.extend(boxed(b"infe", &infe));
    // iloc v0, 4-byte offsets and lengths: item 1 at offset 0, length 0 (to the end)
    let iloc = [
        0, 0, 0, 0, 0x44, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let mut meta = vec![0, 0, 0, 0];
    meta.extend(boxed(b"hdlr", &hdlr));
    meta.extend(boxed(b"pitm", &pitm));
    meta.extend(boxed(b"iinf", &iinf));
    meta.extend(boxed(b"iloc", &iloc));
    let mut f = boxed(b"ftyp", &ftyp);
    f.extend(boxed(b"meta", &meta));
    f.extend(boxed(b"mdat", &[0; 16]));
    f
}

#[test]
fn heic_is_refused_with_the_reason() {
    let heic = heif_with(b"heic", b"hvc1");
    let e = embed_bytes(&heic, &opts("h-1").explicit(true)).expect_err("HEIC refused");
    let msg = e.to_string();
    assert!(matches!(e, Error::Unsupported(_)), "{msg}");
    assert!(msg.contains("HEVC") && msg.contains("AVIF"), "{msg}");
    // the implicit label alone still goes in
    embed_bytes(&heic, &opts("h-1")).expect("implicit label on HEIC");
    let d = tempfile::tempdir().expect("tempdir");
    let (input, out) = (d.path().join("x.heic"), d.path().join("y.heic"));
    std::fs::write(&input, &heic).expect("write");
    assert!(embed_file(&input, &out, &opts("h-1").explicit(true)).is_err());
    assert!(!out.exists(), "nothing is written");
}

#[cfg(not(feature = "avif"))]
#[test]
fn avif_needs_the_feature() {
    let avif = heif_with(b"avif", b"av01");
    let e = embed_bytes(&avif, &opts("a-1").explicit(true)).expect_err("refused");
    assert!(matches!(e, Error::Unsupported(_)), "{e}");
    assert!(e.to_string().contains("`avif` feature"), "{e}");
}

/// Malformed AVIF (truncated, a bogus AV1 payload, random damage) is an error or a
/// labelled file, never a panic.
#[test]
fn malformed_avif_is_an_error() {
    let avif = heif_with(b"avif", b"av01");
    let e = embed_bytes(&avif, &opts("m-1").explicit(true)).expect_err("no AV1 data");
    eprintln!("bogus payload: {e}");
    for cut in [10, 40, 100, avif.len() - 20] {
        let r = embed_bytes(&avif[..cut], &opts("m-1").explicit(true));
        assert!(r.is_err(), "truncated at {cut}");
    }
}

/// Pillow fixtures (the `avif` feature).
#[cfg(feature = "avif")]
mod pillow {
    use std::path::Path;
    use std::process::Command;

    use beian_label::{Error, Verdict, embed_bytes, embed_file, verify_path};
    use serde_json::Value;

    use super::opts;

    const PY_MAKE: &str = r#"
import io, sys
from PIL import Image, ImageCms
d = sys.argv[1]
w, h = 400, 300
rgb = Image.new("RGB", (w, h))
rgb.putdata([((x * 255) // w, (y * 255) // h, 90) for y in range(h) for x in range(w)])
ex = Image.Exif()
ex[0x010F] = "AvifMake"
ex[0x0110] = "AvifModel"
xmp = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
       b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">avif-title</rdf:li></rdf:Alt></dc:title>'
       b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
rgb.save(d + "/rgb.avif", quality=95, exif=ex.tobytes(), xmp=xmp)
rgba = rgb.copy()
rgba.putalpha(Image.new("L", (w, h), 140))
rgba.save(d + "/rgba.avif", quality=95)
p = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
rgb.save(d + "/icc.avif", quality=95, icc_profile=p)
rgb.resize((60, 40)).save(d + "/small.avif")
rgb.save(d + "/yuv444.avif", quality=95, subsampling="4:4:4")
rgb.save(d + "/yuv422_limited.avif", quality=95, subsampling="4:2:2", range="limited")
rgb.convert("L").save(d + "/gray.avif", quality=95)
frames = [Image.new("RGB", (200, 150), (40 * i, 0, 0)) for i in range(3)]
frames[0].save(d + "/anim.avif", save_all=True, append_images=frames[1:])
    "#;

    /// Reads an original and its labelled copy: sizes, modes, mean absolute differences of
    /// the top-left and bottom-right regions, mean alpha, EXIF make, XMP.
    const PY_READ: &str = r#"
import json, sys
from PIL import Image
a, b = Image.open(sys.argv[1]), Image.open(sys.argv[2])
b.load()
def mad(box):
    x = a.convert("RGB").crop(box).tobytes()
    y = b.convert("RGB").crop(box).tobytes()
    return sum(abs(p - q) for p, q in zip(x, y)) / len(x)
w, h = a.size
alpha = b.getchannel("A").crop((0, 0, w // 3, h // 3)) if "A" in b.getbands() else None
print(json.dumps({
    "size_a": a.size, "size_b": b.size, "mode_a": a.mode, "mode_b": b.mode,
    "top_left": mad((0, 0, w // 3, h // 3)),
    "bottom_right": mad((w - w // 4, h - h // 8, w, h)),
    "alpha_mean": None if alpha is None else sum(alpha.tobytes()) / len(alpha.tobytes()),
    "make": b.getexif().get(0x010F),
    "xmp": (b.info.get("xmp") or b"").decode("utf-8", "replace"),
}))
    "#;

    fn pillow_avif() -> bool {
        let ok = Command::new("python3")
            .args([
                "-c",
                "from PIL import features; assert features.check('avif')",
            ])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("python3 with Pillow built with AVIF missing under CI");
            }
            eprintln!(
                "skipping: no python3 with Pillow built with AVIF (run .ci/label-fixtures.sh)"
            );
            return false;
        }
        if let Err(e) = beian_label::render::find_font(None, "人工智能生成") {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("no CJK font under CI: {e}");
            }
            eprintln!("skipping explicit AVIF labels: {e}");
            return false;
        }
        true
    }

    fn py(script: &str, args: &[&Path]) -> String {
        let o = Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .expect("python3");
        assert!(
            o.status.success(),
            "python failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// A directory with the Pillow fixtures of [`PY_MAKE`], or `None` where Pillow
    /// with AVIF or a CJK font is missing (outside CI).
    fn fixtures() -> Option<tempfile::TempDir> {
        if !pillow_avif() {
            return None;
        }
        let t = tempfile::tempdir().expect("tempdir");
        py(PY_MAKE, &[t.path()]);
        Some(t)
    }

    /// Chroma layouts and ranges other than the 4:2:0 full-range default: the colours
    /// that come out of the YUV to RGB conversion are the ones Pillow (libavif) reads.
    #[test]
    fn colour_layouts_and_ranges_convert_faithfully() {
        let Some(t) = fixtures() else {
            return;
        };
        let d = t.path();
        for name in ["yuv444.avif", "yuv422_limited.avif", "gray.avif"] {
            let (input, out) = (d.join(name), d.join(format!("ex_{name}")));
            embed_file(&input, &out, &opts("av-8").explicit(true)).expect(name);
            assert_eq!(verify_path(&out).verdict, Verdict::Compliant, "{name}");
            let r: Value = serde_json::from_str(&py(PY_READ, &[&input, &out])).expect("json");
            assert_eq!(r["size_b"], serde_json::json!([400, 300]), "{name}: {r}");
            assert!(r["top_left"].as_f64().expect("mad") < 3.0, "{name}: {r}");
            assert!(
                r["bottom_right"].as_f64().expect("mad") > 15.0,
                "{name}: {r}"
            );
        }
    }

    #[test]
    fn avif_gets_the_label() {
        let Some(t) = fixtures() else {
            return;
        };
        let d = t.path();
        for (name, alpha) in [("rgb.avif", false), ("rgba.avif", true)] {
            let (input, out) = (d.join(name), d.join(format!("ex_{name}")));
            let started = std::time::Instant::now();
            let o = embed_file(&input, &out, &opts("av-7").explicit(true)).expect("explicit AVIF");
            eprintln!("{name}: labelled in {:?}", started.elapsed());
            assert_eq!(o.format, "heif");
            let drawn = o.explicit.expect("drawn");
            assert_eq!(drawn["encoding"], "avif-q90", "{drawn}");
            assert_eq!(drawn["corner"], "bottom-right", "{drawn}");
            assert!(drawn["ratio"].as_f64().expect("ratio") >= 0.05, "{drawn}");
            assert!(
                drawn["text_height_px"].as_u64().expect("h") >= 15,
                "{drawn}"
            );
            let rep = verify_path(&out);
            assert_eq!(rep.verdict, Verdict::Compliant, "{name}: {rep:?}");
            let implicit = serde_json::to_string(&rep.implicit).expect("json");
            assert!(implicit.contains("av-7"), "{name}: {implicit}");
            let r: Value = serde_json::from_str(&py(PY_READ, &[&input, &out])).expect("json");
            assert_eq!(r["size_a"], r["size_b"], "{name}: {r}");
            assert_eq!(r["size_b"], serde_json::json!([400, 300]), "{name}: {r}");
            // lossy both times: the untouched region stays close, the corner changes
            assert!(r["top_left"].as_f64().expect("mad") < 3.0, "{name}: {r}");
            assert!(
                r["bottom_right"].as_f64().expect("mad") > 15.0,
                "{name}: {r}"
            );
            if alpha {
                assert_eq!(r["mode_b"], "RGBA", "{name}: alpha lost: {r}");
                let a = r["alpha_mean"].as_f64().expect("alpha");
                assert!((a - 140.0).abs() < 4.0, "{name}: alpha {a}");
            } else {
                assert_eq!(r["mode_b"], "RGB", "{name}: {r}");
                // the original's EXIF and XMP are carried, with the label written into them
                assert_eq!(r["make"], "AvifMake", "{name}: {r} {drawn}");
                let xmp = r["xmp"].as_str().expect("xmp");
                assert!(xmp.contains("avif-title"), "{name}: XMP lost: {xmp}");
                assert!(xmp.contains("av-7"), "{name}: no label in XMP: {xmp}");
                let kept = drawn["metadata"]["kept"].to_string();
                assert!(kept.contains("Exif") && kept.contains("XMP"), "{drawn}");
            }
            // labelling the labelled file again keeps one label
            let again = d.join(format!("again_{name}"));
            embed_file(&out, &again, &opts("av-7").explicit(true)).expect("again");
            assert_eq!(verify_path(&again).verdict, Verdict::Compliant);
        }
        // refused, nothing written
        for (name, why) in [
            ("icc.avif", "ICC"),
            ("small.avif", "too small"),
            ("anim.avif", "animated"),
        ] {
            let out = d.join(format!("ex_{name}"));
            let e =
                embed_file(&d.join(name), &out, &opts("av-7").explicit(true)).expect_err("refused");
            assert!(matches!(e, Error::Unsupported(_)), "{name}: {e}");
            assert!(e.to_string().contains(why), "{name}: {e}");
            assert!(!out.exists(), "{name}: nothing is written");
        }
        // damaged AV1 data: an error (or a labelled image), never a panic
        let good = std::fs::read(d.join("rgb.avif")).expect("read");
        // every byte of a small one's header and meta, flipped in turn: decoded, then
        // refused as too small (nothing re-encoded: fast), or an error
        let small = std::fs::read(d.join("small.avif")).expect("read");
        for at in 0..small.len().min(400) {
            let mut bad = small.clone();
            bad[at] ^= 0xFF;
            assert!(
                embed_bytes(&bad, &opts("av-7").explicit(true)).is_err(),
                "{at}"
            );
        }
        for at in [good.len() / 2, good.len() * 3 / 4, good.len() - 30] {
            let mut bad = good.clone();
            for b in &mut bad[at..(at + 24).min(good.len())] {
                *b ^= 0x5A;
            }
            let r = embed_bytes(&bad, &opts("av-7").explicit(true));
            eprintln!("damaged at {at}: {:?}", r.as_ref().map(|_| ()));
            let r = embed_bytes(&good[..at], &opts("av-7").explicit(true));
            assert!(r.is_err(), "truncated at {at}");
        }
    }
}
