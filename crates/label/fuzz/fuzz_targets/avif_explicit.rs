//! Fuzz the explicit label on AVIF: the container parser (avif-parse), the AV1 decoder
//! (rav1d, which runs behind `extern "C"`: a panic there would abort, not unwind) and
//! the colour conversion. Whatever is labelled must verify. Seed it with AVIF files,
//! e.g. `python3 -c "from PIL import Image; Image.new('RGB',(64,48),(9,99,199)).save('corpus/avif_explicit/a.avif')"`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let label = beian_label::Label {
        label: "1".into(),
        content_producer: "P".into(),
        produce_id: "x".into(),
        ..Default::default()
    };
    let opts = beian_label::EmbedOptions::new(label).explicit(true);
    if let Ok(out) = beian_label::embed_bytes(data, &opts) {
        let r = beian_label::verify_bytes("x.avif", &out);
        assert_ne!(r.verdict, beian_label::Verdict::NotFound);
    }
});
