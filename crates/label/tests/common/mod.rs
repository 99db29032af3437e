//! Helpers shared by the label test crates.

/// CRC-32 as Ogg uses it (polynomial 0x04C11DB7, MSB first, no reflection, initial 0),
/// computed bitwise so that the tests do not depend on the crate's table.
#[allow(dead_code)] // not every test crate uses it
pub fn ogg_crc(b: &[u8]) -> u32 {
    let mut c = 0u32;
    for &x in b {
        c ^= (x as u32) << 24;
        for _ in 0..8 {
            c = if c & 0x8000_0000 != 0 {
                (c << 1) ^ 0x04C1_1DB7
            } else {
                c << 1
            };
        }
    }
    c
}

/// Options for a label 1 by the test producer code, with `id` as ProduceID.
#[allow(dead_code)] // not every test crate uses it
pub fn opts(id: &str) -> beian_label::EmbedOptions {
    beian_label::EmbedOptions::new(beian_label::Label {
        label: "1".into(),
        content_producer: "001191110102MAD55U9H0F10002".into(),
        produce_id: id.into(),
        ..beian_label::Label::default()
    })
}
