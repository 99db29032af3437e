//! Fuzz the text readers (front matter, HTML meta, the notice) and the payload
//! parser's tolerant paths. Must never panic or hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = beian_label::verify_bytes("x.md", data);
    let mut b = b"---\nAIGC:\n".to_vec();
    b.extend_from_slice(data);
    let _ = beian_label::verify_bytes("x.md", &b);
    let _ = beian_label::verify_bytes("x.html", &b);
    let _ = beian_label::payload::parse(
        &String::from_utf8_lossy(data),
        beian_label::Config::embedded(),
    );
});
