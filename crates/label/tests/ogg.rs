//! Ogg writing on hand-built streams (no other tools needed; `interop.rs` covers files
//! made by FFmpeg and mutagen): the comment header is rewritten and re-paged, later
//! pages are renumbered with valid CRCs, media page bodies and granule positions stay
//! identical, and damaged files are refused or reported, never panicking.

mod common;

use beian_label::{EmbedOptions, Label, Verdict, embed_bytes, verify_bytes};

use common::ogg_crc as crc;

fn page(serial: u32, seq: u32, flags: u8, granule: u64, lacing: &[u8], body: &[u8]) -> Vec<u8> {
    let mut p = b"OggS\0".to_vec();
    p.push(flags);
    p.extend_from_slice(&granule.to_le_bytes());
    p.extend_from_slice(&serial.to_le_bytes());
    p.extend_from_slice(&seq.to_le_bytes());
    p.extend_from_slice(&[0; 4]);
    p.push(lacing.len() as u8);
    p.extend_from_slice(lacing);
    p.extend_from_slice(body);
    let c = crc(&p);
    p[22..26].copy_from_slice(&c.to_le_bytes());
    p
}

/// Pages for header packets, at most `per_page` segments a page (as mutagen does, 16).
fn header_pages(serial: u32, seq: &mut u32, packets: &[Vec<u8>], per_page: usize) -> Vec<u8> {
    let mut segs: Vec<(u8, usize, usize)> = Vec::new(); // (len, packet, start)
    for (i, p) in packets.iter().enumerate() {
        let mut at = 0;
        while p.len() - at >= 255 {
            segs.push((255, i, at));
            at += 255;
        }
        segs.push(((p.len() - at) as u8, i, at));
    }
    let mut out = Vec::new();
    let mut cont = false;
    for chunk in segs.chunks(per_page) {
        let lacing: Vec<u8> = chunk.iter().map(|s| s.0).collect();
        let body: Vec<u8> = chunk
            .iter()
            .flat_map(|&(l, i, at)| packets[i][at..at + l as usize].to_vec())
            .collect();
        let ends = chunk.iter().any(|s| s.0 < 255);
        let granule = if ends { 0 } else { u64::MAX };
        out.extend(page(
            serial,
            *seq,
            if cont { 1 } else { 0 },
            granule,
            &lacing,
            &body,
        ));
        *seq += 1;
        cont = chunk.last().is_some_and(|s| s.0 == 255);
    }
    out
}

fn comment(prefix: &[u8], entries: &[&[u8]], trailing: &[u8]) -> Vec<u8> {
    let mut c = prefix.to_vec();
    c.extend_from_slice(&6u32.to_le_bytes());
    c.extend_from_slice(b"vendor");
    c.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        c.extend_from_slice(&(e.len() as u32).to_le_bytes());
        c.extend_from_slice(e);
    }
    c.extend_from_slice(trailing);
    c
}

/// An Ogg Opus stream: OpusHead page, OpusTags over pages of `per_page` segments,
/// then `n` media pages with increasing granule positions.
fn opus(serial: u32, entries: &[&[u8]], per_page: usize, n: u32) -> Vec<u8> {
    let mut head = b"OpusHead\x01\x01\x38\x01".to_vec();
    head.extend_from_slice(&48000u32.to_le_bytes());
    head.extend_from_slice(&[0, 0, 0]);
    let mut out = page(serial, 0, 0x02, 0, &[head.len() as u8], &head);
    let mut seq = 1;
    out.extend(header_pages(
        serial,
        &mut seq,
        &[comment(b"OpusTags", entries, &[])],
        per_page,
    ));
    for k in 0..n {
        let body: Vec<u8> = (0..100u32).map(|i| (i * 7 + k) as u8).collect();
        let flags = if k + 1 == n { 0x04 } else { 0 };
        out.extend(page(
            serial,
            seq,
            flags,
            960 * (k as u64 + 1),
            &[50, 50],
            &body,
        ));
        seq += 1;
    }
    out
}

struct P {
    serial: u32,
    seq: u32,
    granule: u64,
    body: Vec<u8>,
}

fn pages(b: &[u8]) -> Vec<P> {
    let mut out = Vec::new();
    let mut p = 0;
    while p < b.len() {
        assert_eq!(&b[p..p + 4], b"OggS", "page at {p}");
        let n = b[p + 26] as usize;
        let len: usize = b[p + 27..p + 27 + n].iter().map(|&x| x as usize).sum();
        let mut whole = b[p..p + 27 + n + len].to_vec();
        let stored = u32::from_le_bytes(whole[22..26].try_into().expect("slice length"));
        whole[22..26].fill(0);
        assert_eq!(crc(&whole), stored, "CRC of the page at {p}");
        out.push(P {
            serial: u32::from_le_bytes(b[p + 14..p + 18].try_into().expect("slice length")),
            seq: u32::from_le_bytes(b[p + 18..p + 22].try_into().expect("slice length")),
            granule: u64::from_le_bytes(b[p + 6..p + 14].try_into().expect("slice length")),
            body: b[p + 27 + n..p + 27 + n + len].to_vec(),
        });
        p += 27 + n + len;
    }
    out
}

fn media(b: &[u8]) -> Vec<(u32, u64, Vec<u8>)> {
    pages(b)
        .into_iter()
        .filter(|p| p.granule != 0 && p.granule != u64::MAX)
        .map(|p| (p.serial, p.granule, p.body))
        .collect()
}

fn label(id: &str) -> EmbedOptions {
    EmbedOptions::new(Label {
        label: "1".into(),
        content_producer: "001191110102MAD55U9H0F10002".into(),
        produce_id: id.into(),
        ..Label::default()
    })
}

fn sequences_run_on(b: &[u8]) {
    let mut next = std::collections::HashMap::new();
    for p in pages(b) {
        let want = next.entry(p.serial).or_insert(0u32);
        assert_eq!(p.seq, *want, "stream {:08x}", p.serial);
        *want += 1;
    }
}

#[test]
fn huge_comment_over_many_pages_is_rewritten_on_as_many_pages() {
    let title = [b"TITLE=".as_slice(), &[b'x'; 200_000]].concat();
    let old = br#"aigc={"AIGC":{"Label":"1","ContentProducer":"old","ProduceID":"old-1","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}}"#;
    let input = opus(7, &[&title, old], 16, 30);
    let before = pages(&input).len();
    let out = embed_bytes(&input, &label("ogg-1")).expect("embed");
    // 200 kB over 4 kB pages: the new comment is spread over as many pages, so the
    // later pages keep their numbers and bytes
    assert_eq!(pages(&out).len(), before);
    sequences_run_on(&out);
    let tail = |b: &[u8]| b[b.len() - 30 * (27 + 2 + 100)..].to_vec();
    assert_eq!(tail(&out), tail(&input), "media pages copied unchanged");
    assert_eq!(media(&out), media(&input), "media pages changed");
    let r = verify_bytes("a.opus", &out);
    assert_eq!(r.verdict, Verdict::Compliant, "{:?}", r.problems);
    assert_eq!(r.channels.len(), 1, "the old AIGC comment is replaced");
    assert_eq!(r.implicit.as_ref().unwrap()["ProduceID"], "ogg-1");
    // the other comment is kept, whole
    let hay = pages(&out)
        .into_iter()
        .flat_map(|p| p.body)
        .collect::<Vec<u8>>();
    assert!(hay.windows(title.len()).any(|w| w == &title[..]));
    assert!(!hay.windows(5).any(|w| w == b"old-1"));
    // again: same size (the label replaced, nothing grows)
    let again = embed_bytes(&out, &label("ogg-2")).expect("again");
    assert_eq!(again.len(), out.len());
    assert_eq!(media(&again), media(&input));
    sequences_run_on(&again);
}

/// A TITLE entry that makes the OpusTags packet 509 * 255 + 200 bytes: 510 segments,
/// two full 255-segment pages; a label entry (~185 bytes) makes it 511.
fn full_title() -> Vec<u8> {
    [b"TITLE=".as_slice(), &vec![b'x'; 509 * 255 + 200 - 26 - 6]].concat()
}

#[test]
fn a_header_that_outgrows_its_pages_renumbers_the_later_ones() {
    // a comment packet of 510 segments fills two 255-segment pages; the label makes it
    // 511: three pages, so every later page's number and CRC change
    let input = opus(11, &[&full_title()], 255, 40);
    let before = pages(&input).len();
    let out = embed_bytes(&input, &label("grow-1")).expect("embed");
    assert_eq!(pages(&out).len(), before + 1);
    sequences_run_on(&out); // CRCs checked by pages()
    assert_eq!(
        media(&out),
        media(&input),
        "media bodies or granules changed"
    );
    let r = verify_bytes("g.opus", &out);
    assert_eq!(r.verdict, Verdict::Compliant, "{:?}", r.problems);
    // and back: labelling again keeps the new page count
    let again = embed_bytes(&out, &label("grow-2")).expect("again");
    assert_eq!(pages(&again).len(), before + 1);
    assert_eq!(again.len(), out.len());
    sequences_run_on(&again);
}

#[test]
fn two_streams_both_labelled() {
    // Vorbis (3 header packets, framing bit) and Opus, multiplexed
    let mut vhead = b"\x01vorbis".to_vec();
    vhead.extend_from_slice(&[0; 23]);
    vhead.push(1);
    let a = opus(1, &[b"TITLE=a"], 255, 3);
    let ap = pages(&a);
    let mut out = page(2, 0, 0x02, 0, &[vhead.len() as u8], &vhead);
    let bos_a = &a[..27 + 1 + ap[0].body.len()];
    let mut file = bos_a.to_vec();
    file.extend_from_slice(&out);
    // Opus tags page, then the Vorbis comment + setup on one page
    let tags_len = 27 + 1 + ap[1].body.len();
    let rest_a = &a[bos_a.len()..];
    file.extend_from_slice(&rest_a[..tags_len]);
    let mut seq = 1;
    out = header_pages(
        2,
        &mut seq,
        &[
            comment(b"\x03vorbis", &[b"ARTIST=b"], &[1]),
            b"\x05vorbis-setup".to_vec(),
        ],
        255,
    );
    file.extend(out);
    file.extend(page(2, seq, 0, 1024, &[10], &[9; 10]));
    file.extend_from_slice(&rest_a[tags_len..]);
    let r = verify_bytes("m.ogg", &file);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let o = embed_bytes(&file, &label("two")).expect("embed");
    sequences_run_on(&o);
    assert_eq!(media(&o), media(&file));
    let hay: Vec<u8> = pages(&o).into_iter().flat_map(|p| p.body).collect();
    let n = hay.windows(9).filter(|w| w == b"AIGC={\"AI").count();
    assert_eq!(n, 2, "both streams carry the label");
    // the Vorbis framing bit and setup packet are kept
    assert!(hay.windows(12).any(|w| w == b"vorbis-setup"));
    assert_eq!(verify_bytes("m.ogg", &o).verdict, Verdict::Compliant);
}

#[test]
fn damaged_files_are_refused_or_inconclusive() {
    let good = opus(5, &[b"TITLE=t"], 16, 4);
    let tags_page = 27 + 1 + 19; // the comment page starts after the OpusHead page
    // bad CRC on the comment page: embed refuses (it would bless the damage), verify
    // says inconclusive
    let mut bad = good.clone();
    bad[tags_page + 40] ^= 0x20;
    let e = embed_bytes(&bad, &label("x")).expect_err("bad CRC");
    assert!(e.to_string().contains("CRC mismatch"), "{e}");
    assert_eq!(verify_bytes("a.opus", &bad).verdict, Verdict::Inconclusive);
    // truncated inside the comment page
    let e = embed_bytes(&good[..tags_page + 30], &label("x")).expect_err("truncated");
    assert!(e.to_string().contains("truncated"), "{e}");
    let labelled = embed_bytes(&good, &label("x")).expect("embed");
    let cut = &labelled[..labelled.len() - 20];
    assert_eq!(verify_bytes("a.opus", cut).verdict, Verdict::Inconclusive);
    // truncated in the media: when pages need renumbering it is refused by name
    let long = opus(5, &[&full_title()], 255, 4);
    let Err(e) = embed_bytes(&long[..long.len() - 5], &label("x")) else {
        panic!("a cut media page was not refused")
    };
    assert!(e.to_string().contains("Ogg page"), "{e}");
    // when they keep their numbers, the cut tail is copied as it was
    let short = opus(5, &[b"TITLE=t"], 255, 4);
    let out = embed_bytes(&short[..short.len() - 5], &label("x")).expect("copied");
    assert!(out.ends_with(&short[short.len() - 200..short.len() - 5]));
    // a comment count that runs past the packet
    let mut broken = comment(b"OpusTags", &[b"A=b"], &[]);
    broken[8 + 4 + 6..8 + 4 + 6 + 4].copy_from_slice(&1000u32.to_le_bytes());
    let mut head = b"OpusHead\x01\x01\x38\x01".to_vec();
    head.extend_from_slice(&[0; 7]);
    let mut f = page(3, 0, 2, 0, &[head.len() as u8], &head);
    let mut seq = 1;
    f.extend(header_pages(3, &mut seq, &[broken], 255));
    let e = embed_bytes(&f, &label("x")).expect_err("bad comment");
    assert!(e.to_string().contains("comment header"), "{e}");
    // audio on the same page as the last header packet
    let mut f = page(3, 0, 2, 0, &[head.len() as u8], &head);
    let tags = comment(b"OpusTags", &[b"A=b"], &[]);
    let mut body = tags.clone();
    body.extend_from_slice(&[1, 2, 3]);
    f.extend(page(3, 1, 0, 960, &[tags.len() as u8, 3], &body));
    let e = embed_bytes(&f, &label("x")).expect_err("shared page");
    assert!(e.to_string().contains("shares a page"), "{e}");
    // oversized: a 17 MiB comment packet is refused, not loaded without bound
    let huge = [b"T=".as_slice(), &vec![b'z'; 17 << 20]].concat();
    let f = opus(9, &[&huge], 255, 1);
    let e = embed_bytes(&f, &label("x")).expect_err("oversized");
    assert!(e.to_string().contains("oversized"), "{e}");
    assert_eq!(verify_bytes("a.opus", &f).verdict, Verdict::Inconclusive);
}
