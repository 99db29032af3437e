//! Fuzz the FLAC and Ogg (Vorbis comment) readers and the FLAC and Ogg writers: each magic
//! followed by arbitrary bytes. Must never panic or hang.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (name, magic) in [("x.flac", &b"fLaC"[..]), ("x.ogg", &b"OggS\0\x02"[..])] {
        let mut b = magic.to_vec();
        b.extend_from_slice(data);
        let _ = beian_label::verify_bytes(name, &b);
        let opts = beian_label::EmbedOptions::new(beian_label::Label {
            label: "1".into(),
            content_producer: "P".into(),
            produce_id: "x".into(),
            ..Default::default()
        });
        let _ = beian_label::embed_bytes(&b, &opts);
    }
});
