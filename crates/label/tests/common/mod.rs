//! Helpers shared by the label test crates.

/// CRC-32 as Ogg uses it (polynomial 0x04C11DB7, MSB first, no reflection, initial 0),
/// computed bitwise so that the tests do not depend on the crate's table.
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
