//! C2PA manifest stores (JUMBF) are detected and reported, read-only, in PNG (`caBX`),
//! JPEG (APP11), MP4 (`uuid` box) and RIFF (`C2PA` chunk), next to GB 45438 labels.

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
