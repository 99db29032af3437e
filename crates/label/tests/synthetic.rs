//! Synthetic containers laid out as other writers do: HEIF items (read and written), WAV
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
    // embedding replaces both items (twice: still one of each), the rest is kept
    let new = Label {
        produce_id: "h-3".into(),
        ..label.clone()
    };
    let once = embed_bytes(&file, &EmbedOptions::new(new.clone())).expect("embed heif");
    let twice = embed_bytes(&once, &EmbedOptions::new(new)).expect("embed heif again");
    for out in [&once, &twice] {
        let r = verify_bytes("a.heic", out);
        assert_eq!(r.verdict.as_str(), "compliant", "{:?}", r.problems);
        let chans: Vec<&str> = r.channels.iter().map(|c| c.channel.as_str()).collect();
        assert_eq!(chans, ["heif:exif:UserComment", "heif:xmp"]);
        assert_eq!(r.implicit.expect("implicit")["ProduceID"], "h-3");
        assert_eq!(&out[..24], &file[..24], "ftyp kept");
    }
    // no new items on the second run: the item table has the same size
    assert_eq!(once.len(), twice.len());
}

/// HEIF with only a coded image item: embedding adds the Exif and XMP items, keeps
/// the image bytes and points the image's iloc offset at where they moved.
#[test]
fn heif_embed_adds_items() {
    let coded: Vec<u8> = (0..200u8).collect();
    let ftyp = bx(b"ftyp", b"avif\0\0\0\0mif1avif");
    let hdlr = full(b"hdlr", 0, &[&[0u8; 4][..], b"pict", &[0u8; 13]].concat());
    let pitm = full(b"pitm", 0, &1u16.to_be_bytes());
    let infe = full(
        b"infe",
        2,
        &[&1u16.to_be_bytes()[..], &[0, 0], b"av01", b"\0"].concat(),
    );
    let iinf = full(b"iinf", 0, &[&1u16.to_be_bytes()[..], &infe].concat());
    let iloc_for = |off: u32| {
        let mut b = vec![0x44, 0x00];
        b.extend_from_slice(&1u16.to_be_bytes());
        b.extend_from_slice(&1u16.to_be_bytes());
        b.extend_from_slice(&0u16.to_be_bytes());
        b.extend_from_slice(&1u16.to_be_bytes());
        b.extend_from_slice(&off.to_be_bytes());
        b.extend_from_slice(&(coded.len() as u32).to_be_bytes());
        full(b"iloc", 0, &b)
    };
    let meta_of = |off| {
        full(
            b"meta",
            0,
            &[hdlr.clone(), pitm.clone(), iinf.clone(), iloc_for(off)].concat(),
        )
    };
    let at = (ftyp.len() + meta_of(0).len() + 8) as u32;
    let file = [ftyp.clone(), meta_of(at), bx(b"mdat", &coded)].concat();
    assert_eq!(verify_bytes("a.avif", &file).verdict.as_str(), "not_found");
    let label = Label {
        label: "1".into(),
        content_producer: "001191110102MAD55U9H0F10002".into(),
        produce_id: "h-4".into(),
        ..Label::default()
    };
    let out = embed_bytes(&file, &EmbedOptions::new(label.clone())).expect("embed");
    let r = verify_bytes("a.avif", &out);
    assert_eq!(r.verdict.as_str(), "compliant", "{:?}", r.problems);
    assert_eq!(r.channels.len(), 2);
    // the coded bytes are there unchanged, and the image's iloc offset points at them
    let pos = out
        .windows(coded.len())
        .position(|w| w == coded.as_slice())
        .expect("coded");
    let iloc = out.windows(4).position(|w| w == b"iloc").expect("iloc");
    // version 0, sizes 0x44 0x00, count, then item 1: id, dri, extent count, offset
    assert_eq!(&out[iloc + 8..iloc + 10], &[0x44, 0x00]);
    let id1 = iloc + 12;
    assert_eq!(&out[id1..id1 + 2], &1u16.to_be_bytes());
    let off = u32::from_be_bytes(out[id1 + 6..id1 + 10].try_into().unwrap()) as usize;
    assert_eq!(off, pos, "image offset not shifted");
    assert!(out.windows(4).any(|w| w == b"cdsc"), "no cdsc reference");
    let twice = embed_bytes(&out, &EmbedOptions::new(label.clone())).expect("embed again");
    assert_eq!(twice.len(), out.len());
    assert_eq!(verify_bytes("a.avif", &twice).channels.len(), 2);
    // an XMP uuid box at the top level (read as heif:xmp) is emptied, not left stale
    let old = Label {
        produce_id: "h-old".into(),
        ..label.clone()
    };
    let packet = beian_label::xmp::new_packet(
        "http://www.tc260.org.cn/ns/AIGC/1.0/",
        "TC260",
        "AIGC",
        &old.to_json_wrapped(),
    );
    let uuid = [
        0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF,
        0xAC,
    ];
    let with_uuid = [
        file.clone(),
        bx(b"uuid", &[&uuid[..], packet.as_bytes()].concat()),
    ]
    .concat();
    assert_eq!(
        verify_bytes("a.avif", &with_uuid).implicit.expect("old")["ProduceID"],
        "h-old"
    );
    let out = embed_bytes(&with_uuid, &EmbedOptions::new(label)).expect("embed");
    let r = verify_bytes("a.avif", &out);
    assert_eq!(r.verdict.as_str(), "compliant", "{:?}", r.problems);
    assert_eq!(r.channels.len(), 2);
    assert!(!out.windows(5).any(|w| w == b"h-old"), "stale label left");
    assert!(out.windows(coded.len()).any(|w| w == coded.as_slice()));
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

/// A minimal MP3: an ID3v2.4 tag and one frame header.
fn mp3() -> Vec<u8> {
    let mut m = b"ID3\x04\0\0\0\0\0\x10".to_vec();
    m.resize(10 + 16, 0);
    m.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0]);
    m
}

#[test]
fn explicit_mp3_is_refused_by_name_and_nothing_is_written() {
    let d = tempfile::tempdir().expect("tempdir");
    let input = d.path().join("in.mp3");
    std::fs::write(&input, mp3()).expect("write");
    let out = d.path().join("out.mp3");
    let opts = EmbedOptions::new(label()).explicit(true);
    let err = beian_label::embed_file(&input, &out, &opts).expect_err("explicit MP3");
    assert!(matches!(err, beian_label::Error::Unsupported(_)), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("MP3") && msg.contains("--explicit"), "{msg}");
    // nothing was written, no temporary file left behind
    let left: Vec<_> = std::fs::read_dir(d.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, [std::ffi::OsString::from("in.mp3")]);
    // the implicit label alone is written
    let o = embed_bytes(&webp(), &EmbedOptions::new(label())).expect("implicit WebP");
    assert_eq!(verify_bytes("x.webp", &o).verdict.as_str(), "compliant");
}

/// A WAV of `frames` silent frames in the given fmt (tag, channels, bytes/sample).
fn wav(tag: u16, channels: u16, width: u16, rate: u32, frames: usize) -> Vec<u8> {
    let block = channels * width;
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&tag.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * block as u32).to_le_bytes());
    fmt.extend_from_slice(&block.to_le_bytes());
    fmt.extend_from_slice(&(width * 8).to_le_bytes());
    let silence = if tag == 1 && width == 1 { 128u8 } else { 0 };
    let data = vec![silence; frames * block as usize];
    let mut body = b"WAVE".to_vec();
    body.extend_from_slice(b"fmt ");
    body.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    body.extend(fmt);
    body.extend_from_slice(b"data");
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend(data);
    [&b"RIFF"[..], &(body.len() as u32).to_le_bytes(), &body].concat()
}

#[test]
fn audio_prompt_in_every_pcm_and_float_width() {
    for (tag, width, what) in [
        (1u16, 1u16, "8-bit PCM"),
        (1, 2, "16-bit PCM"),
        (1, 3, "24-bit PCM"),
        (1, 4, "32-bit PCM"),
        (3, 4, "32-bit float"),
        (3, 8, "64-bit float"),
    ] {
        for channels in [1u16, 2] {
            let input = wav(tag, channels, width, 8000, 4000);
            let opts = EmbedOptions::new(label()).explicit(true);
            let out = embed_bytes(&input, &opts).unwrap_or_else(|e| panic!("{what}: {e}"));
            let r = verify_bytes("x.wav", &out);
            assert_eq!(r.verdict.as_str(), "compliant", "{what}: {:?}", r.problems);
            assert_eq!(
                r.explicit["audio_prompt"], "short-long-short-short",
                "{what} x{channels}: {}",
                r.explicit
            );
            // the original samples follow the prompt unchanged
            let tail = &input[input.len() - 4000 * (channels * width) as usize..];
            assert!(out.windows(tail.len()).any(|w| w == tail), "{what}");
            // the file without the prompt has none
            let plain = verify_bytes("x.wav", &input);
            assert!(plain.explicit["audio_prompt"].is_null(), "{what}");
        }
    }
    // compressed samples (A-law) are refused by name
    let err = embed_bytes(
        &wav(6, 1, 1, 8000, 100),
        &EmbedOptions::new(label()).explicit(true),
    )
    .expect_err("A-law");
    assert!(err.to_string().contains("PCM"), "{err}");
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

/// A FLAC stream: STREAMINFO (last block) and a frame's worth of bytes.
fn flac() -> Vec<u8> {
    let mut f = b"fLaC\x80\0\0\x22".to_vec();
    f.extend_from_slice(&[
        0x10, 0, 0x10, 0, 0, 0, 0x10, 0, 0, 0x10, 0x0A, 0xC4, 0x40, 0xF0,
    ]);
    f.resize(8 + 34, 0);
    f.extend_from_slice(b"\xFF\xF8AUDIO-FRAMES");
    f
}

#[test]
fn flac_comment_written_and_an_id3_tag_in_front_kept_in_step() {
    let plain = flac();
    let out = embed_bytes(&plain, &EmbedOptions::new(label())).expect("flac");
    let r = verify_bytes("x.flac", &out);
    assert_eq!(r.verdict.as_str(), "compliant", "{:?}", r.problems);
    assert_eq!(r.channels[0].channel, "flac:vorbis:AIGC");
    assert!(
        out.ends_with(b"\xFF\xF8AUDIO-FRAMES"),
        "audio frames copied"
    );
    // relabelling replaces the comment (other comments kept)
    let mut other = label();
    other.produce_id = "w-2".into();
    let again = embed_bytes(&out, &EmbedOptions::new(other.clone())).expect("again");
    let r = verify_bytes("x.flac", &again);
    assert_eq!(r.channels.len(), 1);
    assert_eq!(r.implicit.expect("implicit")["ProduceID"], "w-2");
    // an ID3v2 tag in front with TXXX:AIGC is updated too, so the channels agree
    let payload = label().to_json_wrapped();
    let mut frame = vec![0u8];
    frame.extend_from_slice(b"AIGC\0");
    frame.extend_from_slice(payload.as_bytes());
    let mut tag = b"ID3\x03\0\0".to_vec();
    let body_len = 10 + frame.len();
    tag.extend_from_slice(&[0, 0, (body_len >> 7) as u8 & 0x7f, body_len as u8 & 0x7f]);
    tag.extend_from_slice(b"TXXX");
    tag.extend_from_slice(&(frame.len() as u32).to_be_bytes());
    tag.extend_from_slice(&[0, 0]);
    tag.extend(frame);
    let with_id3 = [tag, flac()].concat();
    let r = verify_bytes("x.flac", &with_id3);
    assert_eq!(r.format, "flac");
    assert_eq!(r.channels[0].channel, "flac:id3:TXXX:AIGC");
    let out = embed_bytes(&with_id3, &EmbedOptions::new(other)).expect("flac+id3");
    let r = verify_bytes("x.flac", &out);
    assert_eq!(r.verdict.as_str(), "compliant", "{:?}", r.problems);
    assert_eq!(r.channels.len(), 2, "{:?}", r.channels);
    assert_eq!(r.implicit.expect("implicit")["ProduceID"], "w-2");
}
