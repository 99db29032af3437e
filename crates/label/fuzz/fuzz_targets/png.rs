//! Fuzz the png reader: the format's magic followed by arbitrary bytes, and the raw
//! input as is. Must never panic or hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = beian_label::verify_bytes("x.png", data);
    let magic: &[u8] = b"\x89PNG\r\n\x1a\n";
    let mut b = magic.to_vec();
    b.extend_from_slice(data);
    let _ = beian_label::verify_bytes("x.png", &b);
});
