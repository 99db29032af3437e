//! Synthetic containers laid out as other writers do: HEIF items (read only), WAV
//! LIST/INFO, MP4 with the mdta meta directly under moov.
//!
//! HEIF: the Exif item and an XMP `mime` item are located through `iinf` and `iloc`.

use beian_label::{EmbedOptions, Label, embed_bytes, verify_bytes};

fn bx(t: &[u8], b: &[u8]) -> Vec<u8> {
    [&((b.len() + 8) as u32).to_be_bytes()[..], t, b].concat()
}

fn full(t: &[u8], version: u8, b: &[u8]) -> Vec<u8> {
    bx(t, &[&[version, 0, 0, 0][..], b].concat())
}

/// TIFF/EXIF bytes carrying a UserComment, taken from a JPEG that beian-label labelled.
fn exif_tiff(label: &Label) -> Vec<u8> {
    let jpeg = [0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 0xFF, 0xD9];
    let out = embed_bytes(&jpeg, &EmbedOptions::new(label.clone())).expect("jpeg");
    let i = out.windows(6).position(|w| w == b"Exif\0\0").expect("exif");
    let len = u16::from_be_bytes([out[i - 2], out[i - 1]]) as usize;
    out[i + 6..i - 2 + len].to_vec()
}

fn heif(exif: &[u8], xmp: &[u8]) -> Vec<u8> {
    let ftyp = bx(b"ftyp", b"heic\0\0\0\0mif1heic");
    let hdlr = full(b"hdlr", 0, &[&[0u8; 4][..], b"pict", &[0u8; 13]].concat());
    let infe_exif = full(
        b"infe",
        2,
        &[&1u16.to_be_bytes()[..], &[0, 0], b"Exif", b"\0"].concat(),
    );
    let infe_xmp = full(
        b"infe",
        2,
        &[
            &2u16.to_be_bytes()[..],
            &[0, 0],
            b"mime",
            b"\0",
            b"application/rdf+xml\0",
        ]
        .concat(),
    );
    let iinf = full(
        b"iinf",
        0,
        &[&2u16.to_be_bytes()[..], &infe_exif, &infe_xmp].concat(),
    );
    let exif_item = [&0u32.to_be_bytes()[..], exif].concat();
    // iloc v0: offset_size 4, length_size 4, base_offset_size 0; offsets patched below
    let iloc_for = |mdat_data: u32| {
        let mut b = vec![0x44, 0x00];
        b.extend_from_slice(&2u16.to_be_bytes());
        for (id, off, len) in [
            (1u16, mdat_data, exif_item.len() as u32),
            (2, mdat_data + exif_item.len() as u32, xmp.len() as u32),
        ] {
            b.extend_from_slice(&id.to_be_bytes());
            b.extend_from_slice(&0u16.to_be_bytes()); // data reference index
            b.extend_from_slice(&1u16.to_be_bytes()); // extent count
            b.extend_from_slice(&off.to_be_bytes());
            b.extend_from_slice(&len.to_be_bytes());
        }
        full(b"iloc", 0, &b)
    };
    let meta_len = full(
        b"meta",
        0,
        &[hdlr.clone(), iinf.clone(), iloc_for(0)].concat(),
    )
    .len();
    let data_at = (ftyp.len() + meta_len + 8) as u32;
    let meta = full(b"meta", 0, &[hdlr, iinf, iloc_for(data_at)].concat());
    let mdat = bx(b"mdat", &[exif_item.as_slice(), xmp].concat());
    [ftyp, meta, mdat].concat()
}

#[test]
fn heif_exif_and_xmp_items() {
    let label = Label {
        label: "1".into(),
        content_producer: "001191110102MAD55U9H0F10002".into(),
        produce_id: "h-1".into(),
        ..Label::default()
    };
    let json = label.to_json_wrapped();
    let xmp = beian_label::xmp::new_packet(
        "http://www.tc260.org.cn/ns/AIGC/1.0/",
        "TC260",
        "AIGC",
        &json,
    );
    let file = heif(&exif_tiff(&label), xmp.as_bytes());
    let r = verify_bytes("a.heic", &file);
    assert_eq!(r.format, "heif");
    assert_eq!(r.verdict.as_str(), "compliant", "{:?}", r.problems);
    let chans: Vec<&str> = r.channels.iter().map(|c| c.channel.as_str()).collect();
    assert_eq!(chans, ["heif:exif:UserComment", "heif:xmp"]);
    assert_eq!(r.implicit.expect("implicit")["ProduceID"], "h-1");
    // the two items disagree: noncompliant
    let other = Label {
        produce_id: "h-2".into(),
        ..label.clone()
    };
    let file = heif(&exif_tiff(&other), xmp.as_bytes());
    assert_eq!(
        verify_bytes("a.heic", &file).verdict.as_str(),
        "noncompliant"
    );
    // writing HEIF is refused with a clear error, not a broken file
    let err = embed_bytes(&file, &EmbedOptions::new(label)).expect_err("read only");
    assert!(err.to_string().contains("HEIF"), "{err}");
}

/// WAV with the label in a `LIST/INFO` sub-chunk (as some implementations write it):
/// read, and replaced (not left stale) when beian embeds a new label.
#[test]
fn wav_list_info() {
    let sub = |id: &[u8], v: &[u8]| {
        let mut c = id.to_vec();
        c.extend_from_slice(&(v.len() as u32).to_le_bytes());
        c.extend_from_slice(v);
        if v.len() % 2 == 1 {
            c.push(0);
        }
        c
    };
    let old = Label {
        label: "1".into(),
        content_producer: "P".into(),
        produce_id: "old".into(),
        ..Label::default()
    };
    let info = [
        b"INFO".to_vec(),
        sub(b"INAM", b"title\0"),
        sub(b"AIGC", old.to_json_wrapped().as_bytes()),
    ]
    .concat();
    let body = [
        b"WAVE".to_vec(),
        sub(
            b"fmt ",
            &[1, 0, 1, 0, 0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0, 2, 0, 16, 0],
        ),
        sub(b"LIST", &info),
        sub(b"data", &[0, 0, 1, 0, 2, 0, 3, 0]),
    ]
    .concat();
    let wav = [
        b"RIFF".to_vec(),
        (body.len() as u32).to_le_bytes().to_vec(),
        body,
    ]
    .concat();
    let r = verify_bytes("a.wav", &wav);
    assert_eq!(r.verdict.as_str(), "compliant", "{:?}", r.problems);
    assert_eq!(r.channels[0].channel, "wav:LIST:INFO:AIGC");
    let new = Label {
        produce_id: "new".into(),
        ..old
    };
    let out = embed_bytes(&wav, &EmbedOptions::new(new)).expect("embed");
    let r = verify_bytes("a.wav", &out);
    assert_eq!(r.verdict.as_str(), "compliant", "{:?}", r.problems);
    assert_eq!(r.channels.len(), 3);
    assert!(
        out.windows(6).any(|w| w == b"title\0"),
        "other INFO items kept"
    );
}

/// `moov/meta` (hdlr mdta, keys, ilst) directly under moov, as some muxers write it:
/// read, and updated in place when embedding (no second, disagreeing copy).
#[test]
fn mp4_moov_meta_mdta() {
    let old = Label {
        label: "1".into(),
        content_producer: "P".into(),
        produce_id: "old".into(),
        ..Label::default()
    };
    let payload = old.to_json_wrapped();
    let hdlr = full(b"hdlr", 0, &[&[0u8; 4][..], b"mdta", &[0u8; 13]].concat());
    let key = [&(8u32 + 4).to_be_bytes()[..], b"mdta", b"AIGC"].concat();
    let keys = full(b"keys", 0, &[&1u32.to_be_bytes()[..], &key].concat());
    let data = bx(
        b"data",
        &[&[0, 0, 0, 1, 0, 0, 0, 0][..], payload.as_bytes()].concat(),
    );
    let ilst = bx(b"ilst", &bx(&1u32.to_be_bytes(), &data));
    let meta = full(b"meta", 0, &[hdlr, keys, ilst].concat());
    let ftyp = bx(b"ftyp", b"qt  \0\0\0\0qt  ");
    // stco points at the sample in mdat, after moov
    let moov_for = |off: u32| {
        let stco = full(
            b"stco",
            0,
            &[&1u32.to_be_bytes()[..], &off.to_be_bytes()].concat(),
        );
        bx(
            b"moov",
            &[
                bx(b"trak", &bx(b"mdia", &bx(b"minf", &bx(b"stbl", &stco)))),
                meta.clone(),
            ]
            .concat(),
        )
    };
    let at = (ftyp.len() + moov_for(0).len() + 8) as u32;
    let file = [ftyp, moov_for(at), bx(b"mdat", b"SAMPLE")].concat();
    let r = verify_bytes("a.mov", &file);
    assert_eq!(r.verdict.as_str(), "compliant", "{:?}", r.problems);
    assert_eq!(r.channels[0].channel, "mp4:udta:meta:AIGC");

    let new = Label {
        produce_id: "new".into(),
        ..old
    };
    let out = embed_bytes(&file, &EmbedOptions::new(new)).expect("embed");
    let r = verify_bytes("a.mov", &out);
    assert_eq!(r.verdict.as_str(), "compliant", "{:?}", r.problems);
    assert_eq!(r.implicit.expect("implicit")["ProduceID"], "new");
    assert_eq!(r.channels.len(), 2, "meta item + XMP uuid, no stale copy");
    // the chunk offset follows the sample
    let i = out.windows(4).position(|w| w == b"stco").expect("stco");
    let off = u32::from_be_bytes([out[i + 12], out[i + 13], out[i + 14], out[i + 15]]) as usize;
    assert_eq!(&out[off..off + 6], b"SAMPLE");
}

/// A 1x1 lossless WebP (VP8L), as in the fuzz seeds.
fn webp() -> Vec<u8> {
    let mut w = b"RIFF\0\0\0\0WEBPVP8L\x06\0\0\0\x2f\0\0\0\0\0".to_vec();
    let n = (w.len() - 8) as u32;
    w[4..8].copy_from_slice(&n.to_le_bytes());
    w
}

fn label() -> Label {
    Label {
        label: "1".into(),
        content_producer: "P1".into(),
        produce_id: "w-1".into(),
        ..Label::default()
    }
}

#[test]
fn explicit_webp_is_refused_by_name_and_nothing_is_written() {
    let d = tempfile::tempdir().expect("tempdir");
    let input = d.path().join("in.webp");
    std::fs::write(&input, webp()).expect("write");
    let out = d.path().join("out.webp");
    let opts = EmbedOptions::new(label()).explicit(true);
    let err = beian_label::embed_file(&input, &out, &opts).expect_err("explicit WebP");
    assert!(matches!(err, beian_label::Error::Unsupported(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("WebP") && msg.contains("--explicit"), "{msg}");
    // nothing was written, no temporary file left behind
    let left: Vec<_> = std::fs::read_dir(d.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("in.webp")]);
    // the implicit label alone is written
    let o = embed_bytes(&webp(), &EmbedOptions::new(label())).expect("implicit WebP");
    assert_eq!(verify_bytes("x.webp", &o).verdict.as_str(), "compliant");
}

#[test]
fn unsupported_formats_say_so_with_a_code() {
    for (name, bytes) in [
        ("meta.json", &b"{\"a\":1}"[..]),
        ("blob.bin", &[0u8, 1, 2, 3][..]),
    ] {
        let mut r = verify_bytes(name, bytes);
        assert_eq!(r.format, "unknown");
        assert_eq!(r.verdict.as_str(), "inconclusive");
        assert!(r.is_unsupported_format());
        assert_eq!(r.problem_codes, ["unsupported-format"]);
        r.localize(true);
        assert_eq!(r.problems, ["不支持该文件格式(未检查标识)"]);
        r.localize(false);
        assert!(r.problems[0].contains("not supported"));
    }
    // a truncated PNG is unreadable, not unsupported
    let r = verify_bytes("x.png", b"\x89PNG\r\n\x1a\n\0\0");
    assert!(!r.is_unsupported_format());
    assert!(
        r.problem_codes.contains(&"unreadable"),
        "{:?}",
        r.problem_codes
    );
}
