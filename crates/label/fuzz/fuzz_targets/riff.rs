//! Fuzz the riff reader: the format's magic followed by arbitrary bytes, and the raw
//! input as is. Must never panic or hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = beian_label::verify_bytes("x.webp", data);
    let magic: &[u8] = b"RIFF\x40\0\0\0WEBP";
    let mut b = magic.to_vec();
    b.extend_from_slice(data);
    let _ = beian_label::verify_bytes("x.webp", &b);
});
