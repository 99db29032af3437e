//! C2PA manifest stores (JUMBF) are detected and reported, read-only, in PNG (`caBX`),
//! JPEG (APP11), MP4 (`uuid` box) and RIFF (`C2PA` chunk), next to GB 45438 labels.
//!
//! These stores are built by hand here (JUMBF boxes and CBOR written below), so the
//! tests run without other tools; `interop.rs` reads files the C2PA SDK signed.

use beian_label::{EmbedOptions, Label, embed_bytes, verify_bytes};

const PNG: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0,
    0, 0, 58, 126, 155, 85, 0, 0, 0, 10, 73, 68, 65, 84, 120, 156, 99, 96, 0, 0, 0, 2, 0, 1, 229,
    39, 222, 252, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

/// A JUMBF manifest store: jumb { jumd("c2pa"), jumb { jumd("urn:uuid:...") } }.
fn store() -> Vec<u8> {
    let bx = |t: &[u8], b: &[u8]| [&((b.len() + 8) as u32).to_be_bytes()[..], t, b].concat();
    let jumd = |label: &str| {
        let mut d = b"c2pa\x00\x11\x00\x10\x80\x00\x00\xaa\x00\x38\x9b\x71".to_vec();
        d.push(3);
        d.extend_from_slice(label.as_bytes());
        d.push(0);
        bx(b"jumd", &d)
    };
    let manifest = bx(
        b"jumb",
        &jumd("urn:uuid:6e1b3c57-8d1f-4f7e-9d3a-2b1f0c9e8a77"),
    );
    bx(b"jumb", &[jumd("c2pa"), manifest].concat())
}

fn png_chunk(ty: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = (data.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(ty);
    v.extend_from_slice(data);
    let crc = crc32(&v[4..]);
    v.extend_from_slice(&crc.to_be_bytes());
    v
}

fn crc32(b: &[u8]) -> u32 {
    // CRC-32 (IEEE), bitwise: the test does not depend on the crate's implementation
    let mut c = 0xFFFF_FFFFu32;
    for &x in b {
        c ^= x as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn png_c2pa_with_label() {
    let mut png = PNG[..33].to_vec();
    png.extend(png_chunk(b"caBX", &store()));
    png.extend_from_slice(&PNG[33..]);
    let r = verify_bytes("a.png", &png);
    let c = r.c2pa.as_ref().expect("c2pa reported");
    assert_eq!(c.channel, "png:caBX");
    assert_eq!(
        c.manifests,
        ["urn:uuid:6e1b3c57-8d1f-4f7e-9d3a-2b1f0c9e8a77"]
    );
    assert!(!c.validated);
    assert_eq!(
        r.verdict.as_str(),
        "not_found",
        "C2PA alone is not a GB 45438 label"
    );
    // embedding keeps the manifest store bytes
    let label = Label {
        label: "1".into(),
        content_producer: "P".into(),
        produce_id: "1".into(),
        ..Label::default()
    };
    let out = embed_bytes(&png, &EmbedOptions::new(label)).expect("embed");
    let r = verify_bytes("a.png", &out);
    assert_eq!(r.verdict.as_str(), "compliant");
    assert!(r.c2pa.is_some());
}

#[test]
fn jpeg_app11_c2pa() {
    let s = store();
    let mut seg = b"JP\x00\x01\x00\x00\x00\x01".to_vec();
    seg.extend_from_slice(&s);
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xEB];
    jpeg.extend_from_slice(&((seg.len() + 2) as u16).to_be_bytes());
    jpeg.extend_from_slice(&seg);
    jpeg.extend_from_slice(&[0xFF, 0xDA, 0, 2, 0xFF, 0xD9]);
    let r = verify_bytes("a.jpg", &jpeg);
    let c = r.c2pa.expect("c2pa");
    assert_eq!(c.channel, "jpeg:APP11");
    assert_eq!(c.manifests.len(), 1);
}

#[test]
fn mp4_uuid_c2pa() {
    let bx = |t: &[u8], b: &[u8]| [&((b.len() + 8) as u32).to_be_bytes()[..], t, b].concat();
    let mut uuid = vec![
        0xD8, 0xFE, 0xC3, 0xD6, 0x1B, 0x0E, 0x48, 0x3C, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7E, 0xC4,
        0x81,
    ];
    uuid.extend_from_slice(&[0, 0, 0, 0]);
    uuid.extend_from_slice(b"manifest\0");
    uuid.extend(store());
    let mp4 = [
        bx(b"ftyp", b"isom\0\0\0\0isom"),
        bx(b"moov", &[]),
        bx(b"uuid", &uuid),
        bx(b"mdat", b"x"),
    ]
    .concat();
    let r = verify_bytes("a.mp4", &mp4);
    assert_eq!(r.c2pa.expect("c2pa").channel, "mp4:uuid:c2pa");
}

/// CBOR (RFC 8949) for the test: text strings, unsigned ints, arrays, maps.
enum C {
    T(&'static str),
    A(Vec<C>),
    M(Vec<(&'static str, C)>),
}

fn head(major: u8, n: usize, out: &mut Vec<u8>) {
    if n < 24 {
        out.push(major << 5 | n as u8);
    } else if n < 256 {
        out.extend_from_slice(&[major << 5 | 24, n as u8]);
    } else {
        out.push(major << 5 | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    }
}

fn cbor(c: &C, out: &mut Vec<u8>) {
    match c {
        C::T(s) => {
            head(3, s.len(), out);
            out.extend_from_slice(s.as_bytes());
        }
        C::A(v) => {
            head(4, v.len(), out);
            v.iter().for_each(|x| cbor(x, out));
        }
        C::M(v) => {
            head(5, v.len(), out);
            for (k, x) in v {
                cbor(&C::T(k), out);
                cbor(x, out);
            }
        }
    }
}

fn superbox(kind: &[u8; 4], label: &str, children: &[Vec<u8>]) -> Vec<u8> {
    let bx = |t: &[u8], b: &[u8]| [&((b.len() + 8) as u32).to_be_bytes()[..], t, b].concat();
    let mut d = kind.to_vec();
    d.extend_from_slice(b"\x00\x11\x00\x10\x80\x00\x00\xaa\x00\x38\x9b\x71\x03");
    d.extend_from_slice(label.as_bytes());
    d.push(0);
    let mut body = bx(b"jumd", &d);
    for c in children {
        body.extend_from_slice(c);
    }
    bx(b"jumb", &body)
}

fn cbor_box(label: &str, c: &C) -> Vec<u8> {
    let mut b = Vec::new();
    cbor(c, &mut b);
    let content = [&((b.len() + 8) as u32).to_be_bytes()[..], b"cbor", &b].concat();
    superbox(b"cbor", label, &[content])
}

/// A store with two manifests; the last (active) one records an AI edit.
fn store_with_claim() -> Vec<u8> {
    let first = superbox(
        b"c2ma",
        "urn:uuid:00000000-0000-4000-8000-000000000001",
        &[],
    );
    let actions = C::M(vec![(
        "actions",
        C::A(vec![
            C::M(vec![
                ("action", C::T("c2pa.opened")),
                (
                    "digitalSourceType",
                    C::T("http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"),
                ),
            ]),
            C::M(vec![
                ("action", C::T("c2pa.edited")),
                ("softwareAgent", C::T("Inpaint Tool 3.1")),
                (
                    "parameters",
                    C::M(vec![(
                        "digitalSourceType",
                        C::T(
                            "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
                        ),
                    )]),
                ),
            ]),
        ]),
    )]);
    let assertions = superbox(
        b"c2as",
        "c2pa.assertions",
        &[cbor_box("c2pa.actions", &actions)],
    );
    let claim = cbor_box(
        "c2pa.claim",
        &C::M(vec![
            ("claim_generator", C::T("Example Editor/7.0 c2pa-rs/0.30")),
            ("dc:title", C::T("beach.jpg")),
            ("dc:format", C::T("image/jpeg")),
        ]),
    );
    let active = superbox(
        b"c2ma",
        "urn:uuid:00000000-0000-4000-8000-000000000002",
        &[assertions, claim],
    );
    superbox(b"c2pa", "c2pa", &[first, active])
}

#[test]
fn claim_and_actions_are_read_from_cbor() {
    let mut png = PNG[..33].to_vec();
    png.extend(png_chunk(b"caBX", &store_with_claim()));
    png.extend_from_slice(&PNG[33..]);
    let r = verify_bytes("a.png", &png);
    let c = r.c2pa.expect("c2pa");
    // (with `c2pa-validate`, the SDK refuses this unsigned store: said in problems)
    assert!(
        c.problems.iter().all(|p| p.starts_with("C2PA SDK")),
        "{:?}",
        c.problems
    );
    assert_eq!(c.manifests.len(), 2);
    assert_eq!(
        c.active_manifest.as_deref(),
        Some("urn:uuid:00000000-0000-4000-8000-000000000002")
    );
    assert_eq!(
        c.claim_generator.as_deref(),
        Some("Example Editor/7.0 c2pa-rs/0.30")
    );
    assert_eq!(c.title.as_deref(), Some("beach.jpg"));
    assert_eq!(c.format.as_deref(), Some("image/jpeg"));
    assert_eq!(c.assertions, ["c2pa.actions"]);
    assert_eq!(c.actions.len(), 2);
    assert_eq!(c.actions[1].action, "c2pa.edited");
    assert_eq!(
        c.actions[1].software_agent.as_deref(),
        Some("Inpaint Tool 3.1")
    );
    assert_eq!(
        c.digital_source_types,
        ["digitalCapture", "compositeWithTrainedAlgorithmicMedia"]
    );
    assert!(c.ai_generated);
    assert_eq!(c.signature, "not validated");
    // without a GB 45438 label: a warning, the verdict unchanged
    let r = verify_bytes("a.png", &png);
    assert_eq!(r.verdict.as_str(), "not_found");
    assert_eq!(r.warning_codes, ["c2pa-declares-ai"]);
    // the JSONL report carries the fields
    let line = serde_json::to_value(verify_bytes("a.png", &png)).expect("json");
    assert_eq!(line["c2pa"]["ai_generated"], true);
    assert_eq!(line["c2pa"]["signature"], "not validated");
}

#[test]
fn damaged_stores_are_reported_not_panicking() {
    let s = store_with_claim();
    for cut in [9, 40, s.len() / 2, s.len() - 3] {
        let mut png = PNG[..33].to_vec();
        png.extend(png_chunk(b"caBX", &s[..cut]));
        png.extend_from_slice(&PNG[33..]);
        let r = verify_bytes("a.png", &png);
        let c = r.c2pa.expect("c2pa still reported");
        assert!(
            !c.problems.is_empty() || c.claim_generator.is_none(),
            "cut {cut}"
        );
        assert!(!c.ai_generated || cut > s.len() / 2);
    }
}
