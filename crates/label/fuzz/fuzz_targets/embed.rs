//! Fuzz the writers: whatever is accepted must be readable afterwards.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let label = beian_label::Label {
        label: "1".into(),
        content_producer: "P".into(),
        produce_id: "x".into(),
        ..Default::default()
    };
    if let Ok(out) = beian_label::embed_bytes(data, &beian_label::EmbedOptions::new(label)) {
        let r = beian_label::verify_bytes("x", &out);
        assert_ne!(r.verdict, beian_label::Verdict::NotFound);
    }
});
