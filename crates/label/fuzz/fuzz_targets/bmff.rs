//! Fuzz the bmff reader: the format's magic followed by arbitrary bytes, and the raw
//! input as is. Must never panic or hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = beian_label::verify_bytes("x.mp4", data);
    let magic: &[u8] = b"\0\0\0\x18ftypisom";
    let mut b = magic.to_vec();
    b.extend_from_slice(data);
    let _ = beian_label::verify_bytes("x.mp4", &b);
});
