//! Ogg writing on hand-built streams (no other tools needed; `interop.rs` covers files
//! made by FFmpeg and mutagen): the comment header is rewritten and re-paged, later
//! pages are renumbered with valid CRCs, media page bodies and granule positions stay
//! identical, and damaged files are refused or reported, never panicking.

mod common;

use beian_label::{Verdict, embed_bytes, verify_bytes};

use common::ogg_crc as crc;
use common::opts as label;

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

/// Ogg Skeleton 4 (fishead, fisbone, keyframe index, end page) in front of an Opus
/// stream with `title` bytes of title; the index lists every media page. Returns the
/// file and the media pages' offsets.
fn skeleton4(title: usize, n: u32) -> (Vec<u8>, Vec<usize>) {
    skeleton4_with(title, n, None)
}

/// As `skeleton4`, with the first keypoint set to `first` when given.
fn skeleton4_with(title: usize, n: u32, first: Option<u64>) -> (Vec<u8>, Vec<usize>) {
    let varint = |mut v: u64, out: &mut Vec<u8>| loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b | 0x80);
            break;
        }
        out.push(b);
    };
    let t = [b"TITLE=".as_slice(), &vec![b't'; title]].concat();
    let opus_file = opus(5, &[&t], 255, n);
    let op = pages(&opus_file);
    let mut offsets: Vec<usize> = vec![0; n as usize];
    // twice: the second pass puts the offsets the first pass measured
    let mut file = Vec::new();
    for _ in 0..3 {
        let mut fishead = b"fishead\0".to_vec();
        fishead.extend_from_slice(&4u16.to_le_bytes());
        fishead.extend_from_slice(&0u16.to_le_bytes());
        for v in [0u64, 1000, 0, 1000] {
            fishead.extend_from_slice(&v.to_le_bytes());
        }
        fishead.extend_from_slice(&[0; 20]); // UTC
        let seg_len_at = fishead.len();
        fishead.extend_from_slice(&[0; 16]); // segment length, content offset
        let mut fisbone = b"fisbone\0".to_vec();
        fisbone.extend_from_slice(&44u32.to_le_bytes());
        fisbone.extend_from_slice(&5u32.to_le_bytes());
        fisbone.extend_from_slice(&2u32.to_le_bytes());
        for v in [48000u64, 1, 0] {
            fisbone.extend_from_slice(&v.to_le_bytes());
        }
        fisbone.extend_from_slice(&3840u32.to_le_bytes());
        fisbone.extend_from_slice(&[0, 0, 0, 0]);
        fisbone.extend_from_slice(b"Content-Type: audio/opus\r\n");
        let mut index = b"index\0".to_vec();
        index.extend_from_slice(&5u32.to_le_bytes());
        index.extend_from_slice(&(n as u64).to_le_bytes());
        index.extend_from_slice(&1000u64.to_le_bytes());
        index.extend_from_slice(&0u64.to_le_bytes());
        index.extend_from_slice(&(20 * n as u64).to_le_bytes());
        let mut last = (0u64, 0u64);
        for (k, &o) in offsets.iter().enumerate() {
            let o = match (k, first) {
                (0, Some(v)) => v as usize,
                _ => o,
            };
            varint((o as u64).saturating_sub(last.0), &mut index);
            varint(20 * k as u64 - last.1, &mut index);
            last = (o as u64, 20 * k as u64);
        }
        // BOS pages first (Skeleton, then Opus), then the header pages, the Skeleton's
        // end page, then media
        let mut f = page(7, 0, 0x02, 0, &[fishead.len() as u8], &fishead);
        let bos_len = 27 + 1 + op[0].body.len();
        f.extend_from_slice(&opus_file[..bos_len]);
        let mut seq = 1;
        f.extend(header_pages(7, &mut seq, &[fisbone, index], 255));
        let tags_len: usize = {
            let mut p = bos_len;
            let mut total = 0;
            for pg in &op[1..] {
                if pg.granule != 0 && pg.granule != u64::MAX {
                    break;
                }
                let nseg = opus_file[p + 26] as usize;
                let l = 27 + nseg + pg.body.len();
                total += l;
                p += l;
            }
            total
        };
        f.extend_from_slice(&opus_file[bos_len..bos_len + tags_len]);
        f.extend(page(7, seq, 0x04, 0, &[0], &[]));
        let content = f.len();
        let media = &opus_file[bos_len + tags_len..];
        let mut at = content;
        for (k, pg) in pages(media).iter().enumerate() {
            offsets[k] = at;
            at += 27 + 2 + pg.body.len();
        }
        f.extend_from_slice(media);
        // fill the fishead's offsets and redo its page
        let total = f.len() as u64;
        fishead[seg_len_at..seg_len_at + 8].copy_from_slice(&total.to_le_bytes());
        fishead[seg_len_at + 8..seg_len_at + 16].copy_from_slice(&(content as u64).to_le_bytes());
        let head = page(7, 0, 0x02, 0, &[fishead.len() as u8], &fishead);
        f[..head.len()].copy_from_slice(&head);
        file = f;
    }
    (file, offsets)
}

/// The Skeleton 4 fields of a file: (segment length, content offset, keypoint offsets).
fn skeleton_offsets(b: &[u8]) -> (u64, u64, Vec<u64>) {
    let ps = pages(b);
    let head = &ps[0].body;
    assert!(head.starts_with(b"fishead\0"));
    let le64 = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8"));
    let packets: Vec<u8> = ps
        .iter()
        .filter(|p| p.serial == 7)
        .skip(1)
        .flat_map(|p| p.body.clone())
        .collect();
    let at = packets
        .windows(6)
        .position(|w| w == b"index\0")
        .expect("index packet");
    let idx = &packets[at..];
    let n = le64(idx, 10);
    let mut p = 42;
    let mut off = 0u64;
    let mut keys = Vec::new();
    let read = |p: &mut usize| {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let x = idx[*p];
            *p += 1;
            v |= u64::from(x & 0x7F) << shift;
            shift += 7;
            if x & 0x80 != 0 {
                return v;
            }
        }
    };
    for _ in 0..n {
        off += read(&mut p);
        let _time = read(&mut p);
        keys.push(off);
    }
    (le64(head, 64), le64(head, 72), keys)
}

/// Every keypoint lands on the page it named before, the fishead's segment length is
/// the file's and its content offset the first media page's.
fn skeleton_is_true(before: &[u8], after: &[u8]) {
    let (len, content, keys) = skeleton_offsets(after);
    assert_eq!(len, after.len() as u64, "segment length");
    let (_, content0, keys0) = skeleton_offsets(before);
    assert_eq!(keys.len(), keys0.len());
    let granule = |b: &[u8], o: u64| {
        let o = o as usize;
        assert_eq!(&b[o..o + 4], b"OggS", "no page at keypoint {o}");
        (
            u32::from_le_bytes(b[o + 14..o + 18].try_into().expect("4")),
            u64::from_le_bytes(b[o + 6..o + 14].try_into().expect("8")),
        )
    };
    for (k, k0) in keys.iter().zip(&keys0) {
        assert_eq!(
            granule(after, *k),
            granule(before, *k0),
            "keypoint {k0} -> {k}"
        );
    }
    assert_eq!(
        granule(after, content),
        granule(before, content0),
        "content offset"
    );
}

#[test]
fn skeleton_4_offsets_follow_the_longer_header() {
    let (file, offsets) = skeleton4(40, 6);
    let (len, content, keys) = skeleton_offsets(&file);
    assert_eq!(len, file.len() as u64, "the fixture is self-consistent");
    assert_eq!(content, offsets[0] as u64);
    assert_eq!(
        keys.iter().map(|&k| k as usize).collect::<Vec<_>>(),
        offsets
    );
    let out = embed_bytes(&file, &label("skel")).expect("embed");
    assert!(out.len() > file.len());
    sequences_run_on(&out);
    assert_eq!(media(&out), media(&file));
    skeleton_is_true(&file, &out);
    let r = verify_bytes("s.opus", &out);
    assert_eq!(r.verdict, Verdict::Compliant, "{:?}", r.problems);
    // a second label replaces the first, and the offsets still hold
    let again = embed_bytes(&out, &label("skel-2")).expect("embed again");
    sequences_run_on(&again);
    skeleton_is_true(&file, &again);
    assert_eq!(verify_bytes("s.opus", &again).verdict, Verdict::Compliant);
}

#[test]
fn skeleton_4_keypoint_that_needs_a_longer_varint_settles() {
    // a title that puts the first media page just under 16,384 bytes: the label pushes
    // it past, so its varint takes a third byte and the Skeleton's pages grow too
    let mut found = None;
    for t in (15_000..16_400).step_by(7) {
        let (file, offsets) = skeleton4(t, 3);
        if (16_384 - 120..16_384).contains(&offsets[0]) {
            found = Some(file);
            break;
        }
    }
    let file = found.expect("a title length that lands near 16,384");
    let out = embed_bytes(&file, &label("varint")).expect("embed");
    let (_, _, keys) = skeleton_offsets(&out);
    assert!(
        keys[0] >= 16_384,
        "the first keypoint crossed into three varint bytes"
    );
    sequences_run_on(&out);
    assert_eq!(media(&out), media(&file));
    skeleton_is_true(&file, &out);
}

#[test]
fn skeleton_3_is_copied_and_damaged_skeletons_are_refused() {
    // Skeleton 3: no byte offsets, its pages copied as they were
    let mut head = b"fishead\0".to_vec();
    head.extend_from_slice(&3u16.to_le_bytes());
    head.extend_from_slice(&0u16.to_le_bytes());
    head.extend_from_slice(&[0; 52]);
    let o = opus(5, &[b"TITLE=t"], 255, 3);
    let mut f = page(9, 0, 0x02, 0, &[head.len() as u8], &head);
    f.extend_from_slice(&o[..27 + 1 + 19]);
    let skel_eos = page(9, 1, 0x04, 0, &[0], &[]);
    f.extend_from_slice(&skel_eos);
    f.extend_from_slice(&o[27 + 1 + 19..]);
    let out = embed_bytes(&f, &label("s3")).expect("embed");
    assert!(
        out.starts_with(&f[..27 + 1 + head.len()]),
        "fishead page kept"
    );
    assert!(out.windows(skel_eos.len()).any(|w| w == skel_eos));
    sequences_run_on(&out);
    assert_eq!(verify_bytes("s.opus", &out).verdict, Verdict::Compliant);
    // an unknown Skeleton version is refused by name
    let mut v5 = f.clone();
    v5[27 + 1 + 8] = 5;
    let c = {
        let mut p = v5[..27 + 1 + head.len()].to_vec();
        p[22..26].fill(0);
        crc(&p)
    };
    v5[22..26].copy_from_slice(&c.to_le_bytes());
    let e = embed_bytes(&v5, &label("x")).expect_err("version 5");
    assert!(e.to_string().contains("Skeleton version 5"), "{e}");
    // a Skeleton 4 keypoint that points into the header pages is refused
    let (bad, _) = skeleton4_with(10, 2, Some(5));
    let e = embed_bytes(&bad, &label("x")).expect_err("keypoint in the headers");
    assert!(
        e.to_string().contains("points into the header pages"),
        "{e}"
    );
    // a Skeleton with no end page before the media is refused, not guessed
    let (good, _) = skeleton4(10, 2);
    let eos = (0..4)
        .map(|seq| page(7, seq, 0x04, 0, &[0], &[]))
        .find(|e| good.windows(e.len()).any(|w| w == e))
        .expect("the Skeleton's end page");
    let at = good
        .windows(eos.len())
        .position(|w| w == eos)
        .expect("found above");
    let cut = [&good[..at], &good[at + eos.len()..]].concat();
    assert!(embed_bytes(&cut, &label("x")).is_err());
}
