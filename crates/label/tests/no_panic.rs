//! No container parser panics or hangs on arbitrary bytes: random data behind each
//! format's magic, and random damage to valid labelled files (bit flips, cuts,
//! overwritten length fields). Reading and writing are both exercised.

mod common;

use beian_label::{EmbedOptions, Label, embed_bytes, verify_bytes};
use proptest::prelude::*;

fn label() -> EmbedOptions {
    EmbedOptions::new(Label {
        label: "1".into(),
        content_producer: "P".into(),
        produce_id: "x".into(),
        ..Label::default()
    })
}

const PNG: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0,
    0, 0, 58, 126, 155, 85, 0, 0, 0, 10, 73, 68, 65, 84, 120, 156, 99, 96, 0, 0, 0, 2, 0, 1, 229,
    39, 222, 252, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

/// One Ogg page (serial 1) holding one packet under 255 bytes, with its CRC.
fn ogg_page(seq: u32, flags: u8, granule: u64, packet: &[u8]) -> Vec<u8> {
    ogg_page_of(1, seq, flags, granule, packet)
}

fn ogg_page_of(serial: u32, seq: u32, flags: u8, granule: u64, packet: &[u8]) -> Vec<u8> {
    let mut p = b"OggS\0".to_vec();
    p.push(flags);
    p.extend_from_slice(&granule.to_le_bytes());
    p.extend_from_slice(&serial.to_le_bytes());
    p.extend_from_slice(&seq.to_le_bytes());
    p.extend_from_slice(&[0; 4]);
    p.extend_from_slice(&[1, packet.len() as u8]);
    p.extend_from_slice(packet);
    let c = common::ogg_crc(&p);
    p[22..26].copy_from_slice(&c.to_le_bytes());
    p
}

fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut v = vec![("a.png", PNG.to_vec())];
    // minimal JPEG: SOI, APP0, SOS, data, EOI
    let jpeg = [
        &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16][..],
        b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0",
        &[0xFF, 0xDA, 0, 2, 1, 2, 3, 0xFF, 0xD9],
    ]
    .concat();
    v.push(("a.jpg", jpeg));
    // WAV: fmt + data
    let mut wav = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x80\x3e\0\0\0\x7d\0\0\x02\0\x10\0data\x08\0\0\0".to_vec();
    wav.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    let n = (wav.len() - 8) as u32;
    wav[4..8].copy_from_slice(&n.to_le_bytes());
    v.push(("a.wav", wav));
    // WebP lossless header (VP8L) 1x1
    let mut webp = b"RIFF\0\0\0\0WEBPVP8L\x06\0\0\0\x2f\0\0\0\0\0".to_vec();
    let n = (webp.len() - 8) as u32;
    webp[4..8].copy_from_slice(&n.to_le_bytes());
    v.push(("a.webp", webp));
    // MP4: ftyp, moov(trak/mdia/minf/stbl/stco), mdat
    let bx = |t: &[u8], b: &[u8]| [&((b.len() + 8) as u32).to_be_bytes()[..], t, b].concat();
    let stco = bx(b"stco", &[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    let moov = bx(
        b"moov",
        &bx(b"trak", &bx(b"mdia", &bx(b"minf", &bx(b"stbl", &stco)))),
    );
    let mp4 = [
        bx(b"ftyp", b"isom\0\0\0\0isom"),
        moov,
        bx(b"mdat", b"media"),
    ]
    .concat();
    v.push(("a.mp4", mp4));
    // MP3 with an ID3v2.4 tag
    let mut mp3 = b"ID3\x04\0\0\0\0\0\x20TXXX\0\0\0\x0c\0\0\x03AIGC\0{\"a\":1}".to_vec();
    mp3.resize(10 + 32, 0);
    mp3.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0]);
    v.push(("a.mp3", mp3));
    // FLAC: STREAMINFO (last block) and a frame's worth of bytes
    let mut flac = b"fLaC\x80\0\0\x22".to_vec();
    flac.extend_from_slice(&[
        0x10, 0, 0x10, 0, 0, 0, 0x10, 0, 0, 0x10, 0x0A, 0xC4, 0x40, 0xF0,
    ]);
    flac.resize(8 + 34, 0);
    flac.extend_from_slice(&[0xFF, 0xF8, 0x69, 0x08, 0, 0, 0, 0]);
    v.push(("a.flac", flac));
    // fragmented MP4: ftyp, moov, moof(traf/tfhd with a base offset), mdat, mfra(tfra)
    let tfhd = bx(
        b"tfhd",
        &[&[0, 0, 0, 1][..], &[0, 0, 0, 1], &[0u8; 8]].concat(),
    );
    let moof = bx(b"moof", &bx(b"traf", &tfhd));
    let tfra = bx(
        b"tfra",
        &[
            &[0, 0, 0, 0][..],
            &[0, 0, 0, 1],
            &[0, 0, 0, 0],
            &[0, 0, 0, 1],
            &[0, 0, 0, 0],
            &[0, 0, 0, 0x40],
            &[1, 1, 1],
        ]
        .concat(),
    );
    let frag = [
        bx(b"ftyp", b"isom\0\0\0\0isom"),
        bx(b"moov", &bx(b"mvex", b"")),
        moof,
        bx(b"mdat", b"media"),
        bx(b"mfra", &tfra),
    ]
    .concat();
    v.push(("f.mp4", frag));
    // MP3 with an ID3v2.2 tag, and with an unsynchronised ID3v2.3 tag
    let mut v22 = b"ID3\x02\0\0\0\0\0\x20TXX\0\0\x0d\0AIGC\0{\"a\":1}".to_vec();
    v22.resize(10 + 32, 0);
    v22.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0]);
    v.push(("b.mp3", v22));
    let mut v23 = b"ID3\x03\0\x80\0\0\0\x20TIT2\0\0\0\x03\0\0\0\xff\0\xe0".to_vec();
    v23.resize(10 + 32, 0);
    v23.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0]);
    v.push(("c.mp3", v23));
    // HEIF/AVIF: an av01 image item in mdat (iloc base offset), a grid item in idat
    // (construction method 1); iloc version 1 and 2 (32-bit item ids)
    for (name, ver) in [("a.avif", 1u8), ("b.heic", 2u8)] {
        let full = |t: &[u8], b: &[u8]| bx(t, &[&[0u8, 0, 0, 0][..], b].concat());
        let id = |v: u32| {
            if ver == 2 {
                v.to_be_bytes().to_vec()
            } else {
                (v as u16).to_be_bytes().to_vec()
            }
        };
        let infe = |i: u16, ty: &[u8]| {
            bx(
                b"infe",
                &[&[2u8, 0, 0, 0][..], &i.to_be_bytes(), &[0, 0], ty, b"\0"].concat(),
            )
        };
        let iinf = full(
            b"iinf",
            &[&[0u8, 2][..], &infe(1, b"av01"), &infe(2, b"grid")].concat(),
        );
        let iloc_for = |base: u32| {
            let mut b = vec![ver, 0, 0, 0, 0x44, 0x40];
            b[1..4].copy_from_slice(&[0, 0, 0]);
            b.extend(id(2));
            b.extend(id(1));
            b.extend_from_slice(&[0, 0, 0, 0]); // method 0, dri 0
            b.extend_from_slice(&base.to_be_bytes());
            b.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 5]);
            b.extend(id(2));
            b.extend_from_slice(&[0, 1, 0, 0]); // method 1 (idat)
            b.extend_from_slice(&0u32.to_be_bytes());
            b.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 8]);
            bx(b"iloc", &b)
        };
        let meta_of = |base: u32| {
            full(
                b"meta",
                &[
                    full(b"hdlr", &[&[0u8; 4][..], b"pict", &[0u8; 13]].concat()),
                    full(b"pitm", &[0, 2]),
                    iinf.clone(),
                    iloc_for(base),
                    bx(b"idat", &[0, 0, 1, 0, 0, 1, 0, 1]),
                ]
                .concat(),
            )
        };
        let ftyp = bx(b"ftyp", b"avif\0\0\0\0mif1avif");
        let base = (ftyp.len() + meta_of(0).len() + 8) as u32;
        v.push((name, [ftyp, meta_of(base), bx(b"mdat", b"media")].concat()));
    }
    // Ogg Opus: OpusHead page, OpusTags page, two media pages
    let mut head = b"OpusHead\x01\x01\x38\x01".to_vec();
    head.extend_from_slice(&[0x80, 0xBB, 0, 0, 0, 0, 0]);
    let tags = b"OpusTags\x02\0\0\0ve\x01\0\0\0\x03\0\0\0A=b".to_vec();
    let mut ogg = ogg_page(0, 2, 0, &head);
    ogg.extend(ogg_page(1, 0, 0, &tags));
    ogg.extend(ogg_page(2, 0, 960, &[0xFC; 40]));
    ogg.extend(ogg_page(3, 4, 1920, &[0xFC; 40]));
    v.push(("a.opus", ogg.clone()));
    // the same behind a Skeleton 4 stream: fishead (segment length, content offset),
    // an index with one keypoint on the first media page, the Skeleton's end page
    let media = &ogg[2 * 28 + head.len() + tags.len()..];
    let skeleton = |media_at: usize| {
        let mut fishead = b"fishead\0\x04\0\0\0".to_vec();
        fishead.extend_from_slice(&[0; 52]);
        fishead.extend_from_slice(&((media_at + media.len()) as u64).to_le_bytes());
        fishead.extend_from_slice(&(media_at as u64).to_le_bytes());
        let mut index = b"index\0\x01\0\0\0\x01\0\0\0\0\0\0\0\xe8\x03".to_vec();
        index.extend_from_slice(&[0; 6 + 16]);
        index.extend_from_slice(&[(media_at & 0x7F) as u8, (media_at >> 7) as u8 | 0x80, 0x80]);
        let mut skel = ogg_page_of(7, 0, 2, 0, &fishead);
        skel.extend(ogg_page(0, 2, 0, &head));
        skel.extend(ogg_page_of(7, 1, 0, 0, &index));
        skel.extend(ogg_page(1, 0, 0, &tags));
        skel.extend(ogg_page_of(7, 2, 4, 0, &[]));
        skel
    };
    let media_at = skeleton(200).len();
    let mut skel = skeleton(media_at);
    skel.extend_from_slice(media);
    if let Err(e) = embed_bytes(&skel, &label()) {
        panic!("the Skeleton 4 seed must be writable: {e}");
    }
    v.push(("s.opus", skel));
    // labelled versions of each
    let labelled: Vec<(&str, Vec<u8>)> = v
        .iter()
        .filter_map(|(n, b)| embed_bytes(b, &label()).ok().map(|o| (*n, o)))
        .collect();
    assert!(labelled.len() >= 11, "seeds must be writable");
    v.extend(labelled);
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512), failure_persistence: None, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_behind_magic(which in 0usize..14, tail in proptest::collection::vec(any::<u8>(), 0..600)) {
        let magic: &[&[u8]] = &[b"\x89PNG\r\n\x1a\n", &[0xFF, 0xD8, 0xFF], b"RIFF\x40\0\0\0WEBP", b"RIFF\x40\0\0\0WAVE",
            b"\0\0\0\x18ftypisom", b"\0\0\0\x18ftypheic", b"ID3\x04\0", b"ID3\x03\x80", b"ID3\x02\0",
            b"fLaC", b"OggS\0\x02", b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\x01\x13OpusHead",
            b"---\nAIGC:\n", b"<html><meta name=AIGC content="];
        let mut b = magic[which].to_vec();
        b.extend_from_slice(&tail);
        let name = if which >= 12 { "f.md" } else { "f.mp3" };
        let r = verify_bytes(name, &b);
        prop_assert!(!r.format.is_empty());
        let _ = embed_bytes(&b, &label());
    }

    #[test]
    fn c2pa_store_from_random_bytes(tail in proptest::collection::vec(any::<u8>(), 0..400), size in any::<u32>(), label in any::<bool>()) {
        // a JUMBF superbox header, a description box, then anything
        let mut b = size.to_be_bytes().to_vec();
        b.extend_from_slice(b"jumb\0\0\0\x20jumdc2pa\0\x11\0\x10\x80\0\0\xaa\0\x38\x9b\x71");
        b.push(if label { 3 } else { 0 });
        b.extend_from_slice(&tail);
        let c = beian_label::c2pa::C2pa::from_store("x", &b);
        prop_assert!(!c.validated);
    }

    #[test]
    fn damaged_valid_files(seed in 0usize..32, edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>(), do_cut in any::<bool>()) {
        let seeds = seeds();
        let (name, mut b) = seeds[seed % seeds.len()].clone();
        for (i, v) in edits {
            let k = i.index(b.len());
            b[k] = v;
        }
        if do_cut {
            b.truncate(cut.index(b.len() + 1));
        }
        let r = verify_bytes(name, &b);
        prop_assert!(!r.verdict.as_str().is_empty());
        if let Ok(out) = embed_bytes(&b, &label()) {
            // whatever we could write, we can read back without panicking
            let _ = verify_bytes(name, &out);
        }
    }
}

#[test]
fn every_seed_round_trips() {
    for (name, b) in seeds().into_iter().take(13) {
        let out = embed_bytes(&b, &label()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let r = verify_bytes(name, &out);
        assert_eq!(r.verdict.as_str(), "compliant", "{name}: {:?}", r.problems);
        // re-labelling replaces, never duplicates
        let again = embed_bytes(&out, &label()).expect("again");
        let r2 = verify_bytes(name, &again);
        assert_eq!(r2.channels.len(), r.channels.len(), "{name}");
        assert_eq!(again.len(), out.len(), "{name}: relabelling grew the file");
    }
}
