//! Detectors beside the lexicon: identifiers with check digits and contact
//! data. They read the original bytes (ASCII forms), and, when the record
//! holds full-width letters, digits or `＠`, or grouped digits, a folded view
//! of it where full-width forms become ASCII and digit groups in the usual layouts (`138 1234 5678`,
//! `6222-0212-3456-7890`) are joined; findings in the folded view map back
//! to the original bytes.

/// A built-in detector. Each reports under a risk code (see
/// [`Detector::default_risk`]; the builder can override it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Detector {
    /// PRC resident identity number, 18 characters, GB 11643 check digit.
    IdCard,
    /// Mainland mobile number, 11 digits starting 13-19.
    Mobile,
    /// Bank card number, 16-19 digits passing the Luhn check.
    BankCard,
    /// Unified social credit code, 18 characters, GB 32100 check character.
    Uscc,
    /// E-mail address.
    Email,
    /// IPv4 or IPv6 address.
    Ip,
}

impl Detector {
    pub const ALL: [Detector; 6] = [
        Detector::IdCard,
        Detector::Mobile,
        Detector::BankCard,
        Detector::Uscc,
        Detector::Email,
        Detector::Ip,
    ];

    /// The name used in findings (`detector` field) and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Detector::IdCard => "id-card",
            Detector::Mobile => "mobile",
            Detector::BankCard => "bank-card",
            Detector::Uscc => "uscc",
            Detector::Email => "email",
            Detector::Ip => "ip",
        }
    }

    pub fn from_name(name: &str) -> Option<Detector> {
        Detector::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Risk code of GB/T 45654 Appendix A: personal data are A.4.f
    /// (personal-information rights); a company's credit code is A.4.g.
    pub fn default_risk(self) -> &'static str {
        match self {
            Detector::Uscc => "A.4.g",
            _ => "A.4.f",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// GB 11643-1999 check: 17 digits, then a check character (digit or X).
/// The birth date must also be plausible (year 1900-2099, month, day).
pub fn resident_id_valid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = b[..17]
        .iter()
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize];
    if b[17].to_ascii_uppercase() != check {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let (y, m, d) = (num(6..10), num(10..12), num(12..14));
    (1900..=2099).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)
}

/// Luhn check over ASCII digits.
pub fn luhn_valid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b
        .iter()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = u32::from(c - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn uscc_value(c: u8) -> Option<u32> {
    const ALPHA: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    ALPHA
        .iter()
        .position(|&a| a == c.to_ascii_uppercase())
        .map(|p| p as u32)
}

/// GB 32100-2015 check: 18 characters from `0-9A-HJ-NPQRTUWXY`, the last
/// one a check character (weights 3^i mod 31).
pub fn uscc_valid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 {
        return false;
    }
    const W: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let mut sum = 0u32;
    for (c, w) in b[..17].iter().zip(W) {
        match uscc_value(*c) {
            Some(v) => sum += v * w,
            None => return false,
        }
    }
    let check = (31 - sum % 31) % 31;
    // Real codes start with a registration authority code (1-9, A-G, Y) and
    // are not all digits ending in a digit run that an ID would also be.
    uscc_value(b[17]) == Some(check) && b[..2].iter().all(u8::is_ascii_alphanumeric)
}

fn is_mobile(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
}

/// Runs the enabled detectors over `text`, pushing `(start, end, detector)`:
/// over the original bytes, then over the folded view when it differs.
pub(crate) fn detect(text: &str, enabled: &[bool; 6], out: &mut Vec<(usize, usize, Detector)>) {
    let first = out.len();
    // Read once for both views of the text.
    let trigger = has_trigger(text.as_bytes());
    if trigger {
        detect_ascii(text, enabled, out);
    }
    if let Some((folded, map)) = fold(text, trigger) {
        let mut more = Vec::new();
        if has_trigger(folded.as_bytes()) {
            detect_ascii(&folded, enabled, &mut more);
        }
        for (s, e, d) in more {
            let (Some(&os), Some(&oe)) = (map.get(s), map.get(e)) else {
                continue;
            };
            let overlaps = out[first..].iter().any(|&(a, b, _)| a < oe && os < b);
            if !overlaps {
                out.push((os, oe, d));
            }
        }
    }
}

/// A full-width form (U+FF01..U+FF5E) as ASCII.
fn fold_char(c: char) -> Option<u8> {
    match c {
        '\u{FF01}'..='\u{FF5E}' => u8::try_from(c as u32 - 0xFF01 + 0x21).ok(),
        '\u{3000}' => Some(b' '),
        _ => None,
    }
}

/// Whether `b` holds a full-width digit, letter or `＠` (U+FF10..U+FF19,
/// U+FF20..U+FF3A, U+FF41..U+FF5A; not the full-width punctuation of
/// ordinary Chinese text). Branch-free per block, like [`has_trigger`].
fn has_fullwidth_alnum(b: &[u8]) -> bool {
    let (x, y, z) = match b.len() {
        0..3 => return false,
        n => (&b[..n - 2], &b[1..n - 1], &b[2..]),
    };
    x.chunks(64)
        .zip(y.chunks(64))
        .zip(z.chunks(64))
        .any(|((x, y), z)| {
            x.iter().zip(y).zip(z).fold(false, |acc, ((&x, &y), &z)| {
                let bc = (x == 0xEF) & (y == 0xBC);
                let bd = (x == 0xEF) & (y == 0xBD);
                acc | (bc & (z.wrapping_sub(0x90) < 10))
                    | (bc & (z.wrapping_sub(0xA0) < 27))
                    | (bd & (z.wrapping_sub(0x81) < 26))
            })
        })
}

/// Digit-group layouts that are joined in the folded view: mobile numbers,
/// bank cards, resident identity numbers.
const LAYOUTS: &[&[usize]] = &[
    &[3, 4, 4],
    &[4, 4, 4, 4],
    &[4, 4, 4, 4, 3],
    &[4, 4, 4, 4, 2],
    &[6, 8, 4],
    &[6, 4, 4, 4],
];

/// The folded view of `text` and, for every byte of it (and its end), the
/// original byte offset; `None` when nothing would change (`trigger`:
/// whether `text` has an ASCII digit or `@`, see [`has_trigger`]).
fn fold(text: &str, trigger: bool) -> Option<(String, Vec<usize>)> {
    let fullwidth = has_fullwidth_alnum(text.as_bytes());
    let grouped = trigger
        && text
            .as_bytes()
            .windows(3)
            .any(|w| w[0].is_ascii_digit() && matches!(w[1], b' ' | b'-') && w[2].is_ascii_digit());
    if !fullwidth && !grouped {
        return None;
    }
    // One ASCII byte per folded character; other characters keep their bytes.
    let mut out = String::with_capacity(text.len());
    let mut map = Vec::with_capacity(text.len() + 1);
    for (i, c) in text.char_indices() {
        match fold_char(c) {
            Some(a) => {
                out.push(char::from(a));
                map.push(i);
            }
            None => {
                out.push(c);
                map.extend(i..i + c.len_utf8());
            }
        }
    }
    map.push(text.len());
    // Join digit groups in the known layouts.
    let b = out.as_bytes();
    let mut drop = vec![false; b.len()];
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && b[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let mut groups = Vec::new();
        let mut seps = Vec::new();
        let mut j = i;
        loop {
            let gs = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            groups.push(j - gs);
            if j + 1 < b.len() && matches!(b[j], b' ' | b'-') && b[j + 1].is_ascii_digit() {
                seps.push(j);
                j += 1;
            } else {
                break;
            }
        }
        let bounded = j >= b.len() || !b[j].is_ascii_alphanumeric();
        if bounded && LAYOUTS.contains(&groups.as_slice()) {
            for s in seps {
                drop[s] = true;
            }
        }
        i = j.max(i + 1);
    }
    let mut joined = String::with_capacity(out.len());
    let mut jmap = Vec::with_capacity(map.len());
    for (k, ch) in out.char_indices() {
        if drop[k] {
            continue;
        }
        joined.push(ch);
        jmap.extend_from_slice(&map[k..k + ch.len_utf8()]);
    }
    jmap.push(text.len());
    if joined == text {
        return None;
    }
    Some((joined, jmap))
}

/// The detectors' findings in `text`, which the caller has checked with
/// [`has_trigger`]: every detector needs an ASCII digit or an `@`, and most
/// Chinese records have neither.
fn detect_ascii(text: &str, enabled: &[bool; 6], out: &mut Vec<(usize, usize, Detector)>) {
    let b = text.as_bytes();
    let on = |d: Detector| enabled[d.index()];
    let tokens = on(Detector::IdCard)
        || on(Detector::Mobile)
        || on(Detector::BankCard)
        || on(Detector::Uscc);
    let mut saw_at = false;
    let mut saw_dot = false;
    let mut saw_colon = false;
    if tokens {
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b'@' {
                saw_at = true;
            } else if c == b'.' {
                saw_dot = true;
            } else if c == b':' {
                saw_colon = true;
            }
            if !c.is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
            let start = i;
            let mut digits = true;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                digits &= b[i].is_ascii_digit();
                i += 1;
            }
            let len = i - start;
            if !(11..=19).contains(&len) {
                continue;
            }
            let tok = &text[start..i];
            if len == 18 && on(Detector::IdCard) && resident_id_valid(tok) {
                out.push((start, i, Detector::IdCard));
            } else if len == 11 && on(Detector::Mobile) && is_mobile(tok) {
                out.push((start, i, Detector::Mobile));
            } else if digits && len >= 16 && on(Detector::BankCard) && luhn_valid(tok) {
                out.push((start, i, Detector::BankCard));
            } else if len == 18 && !digits && on(Detector::Uscc) && uscc_valid(tok) {
                out.push((start, i, Detector::Uscc));
            }
        }
    } else {
        saw_at = memchr_byte(b, b'@');
        saw_dot = memchr_byte(b, b'.');
        saw_colon = memchr_byte(b, b':');
    }
    if saw_at && on(Detector::Email) {
        emails(b, out);
    }
    if saw_dot && on(Detector::Ip) {
        ipv4(b, out);
    }
    if saw_colon && on(Detector::Ip) {
        let from = out.len();
        ipv6(b, out);
        // An IPv4 tail (`::ffff:192.0.2.128`) is part of the IPv6 address.
        let v6: Vec<(usize, usize)> = out[from..].iter().map(|&(s, e, _)| (s, e)).collect();
        out.retain(|&(s, e, d)| {
            d != Detector::Ip
                || !v6
                    .iter()
                    .any(|&(vs, ve)| (vs, ve) != (s, e) && vs <= s && e <= ve)
        });
    }
}

/// Whether `b` holds an ASCII digit or `@` (branch-free per 64-byte block,
/// so the compiler vectorizes it).
fn has_trigger(b: &[u8]) -> bool {
    b.chunks(64).any(|block| {
        block.iter().fold(false, |acc, &c| {
            acc | (c.wrapping_sub(b'0') < 10) | (c == b'@')
        })
    })
}

fn memchr_byte(b: &[u8], x: u8) -> bool {
    b.contains(&x)
}

fn emails(b: &[u8], out: &mut Vec<(usize, usize, Detector)>) {
    let local = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-');
    let dom = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-');
    let mut last_end = 0;
    for at in 0..b.len() {
        if b[at] != b'@' || at < last_end {
            continue;
        }
        let mut s = at;
        while s > last_end && local(b[s - 1]) {
            s -= 1;
        }
        while s < at && b[s] == b'.' {
            s += 1;
        }
        let mut e = at + 1;
        while e < b.len() && dom(b[e]) {
            e += 1;
        }
        while e > at + 1 && matches!(b[e - 1], b'.' | b'-') {
            e -= 1;
        }
        if s == at || e == at + 1 {
            continue;
        }
        let domain = &b[at + 1..e];
        let Some(dot) = domain.iter().rposition(|&c| c == b'.') else {
            continue;
        };
        let tld = &domain[dot + 1..];
        if dot == 0 || tld.len() < 2 || !tld.iter().all(u8::is_ascii_alphabetic) {
            continue;
        }
        out.push((s, e, Detector::Email));
        last_end = e;
    }
}

fn ipv4(b: &[u8], out: &mut Vec<(usize, usize, Detector)>) {
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit()
            || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.'))
        {
            i += 1;
            continue;
        }
        let start = i;
        let mut parts = 0;
        let mut ok = true;
        let mut j = i;
        loop {
            let ps = j;
            let mut v = 0u32;
            while j < b.len() && b[j].is_ascii_digit() && j - ps < 4 {
                v = v * 10 + u32::from(b[j] - b'0');
                j += 1;
            }
            let plen = j - ps;
            if plen == 0 || plen > 3 || v > 255 || (plen > 1 && b[ps] == b'0') {
                ok = false;
                break;
            }
            parts += 1;
            if parts == 4 {
                break;
            }
            if j < b.len() && b[j] == b'.' && j + 1 < b.len() && b[j + 1].is_ascii_digit() {
                j += 1;
            } else {
                ok = false;
                break;
            }
        }
        let bounded = j >= b.len()
            || !(b[j].is_ascii_alphanumeric()
                || (b[j] == b'.' && b.get(j + 1).is_some_and(u8::is_ascii_digit)));
        if ok && parts == 4 && bounded {
            if std::str::from_utf8(&b[start..j])
                .ok()
                .and_then(|t| t.parse::<std::net::Ipv4Addr>().ok())
                .is_some_and(|a| personal_ip(std::net::IpAddr::V4(a)))
            {
                out.push((start, j, Detector::Ip));
            }
            i = j;
        } else {
            i = start + 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
}

/// IPv6 addresses: maximal runs of hex digits, colons and dots (for an
/// embedded IPv4 tail), bounded by neither a letter nor a digit, that
/// `Ipv6Addr` parses, with at least two non-empty groups and at least three
/// unless `::` compresses zeros (so `12:30`, `a::b` inside `std::b` and
/// `::1` are not reported).
fn ipv6(b: &[u8], out: &mut Vec<(usize, usize, Detector)>) {
    let tok = |c: u8| c.is_ascii_hexdigit() || c == b':' || c == b'.';
    let mut i = 0;
    while i < b.len() {
        if !tok(b[i]) || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b':')) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && tok(b[i]) {
            i += 1;
        }
        let mut end = i;
        // A sentence may end with a dot right after the address.
        while end > start && b[end - 1] == b'.' {
            end -= 1;
        }
        if i < b.len() && b[i].is_ascii_alphanumeric() {
            continue;
        }
        let s = &b[start..end];
        let colons = s.iter().filter(|&&c| c == b':').count();
        if colons < 2 {
            continue;
        }
        let Ok(text) = std::str::from_utf8(s) else {
            continue;
        };
        let groups = text.split(':').filter(|g| !g.is_empty()).count();
        let compressed = text.contains("::");
        if groups < 2 || (!compressed && groups < 3) {
            continue;
        }
        if text
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|a| personal_ip(std::net::IpAddr::V6(a)))
        {
            out.push((start, end, Detector::Ip));
        }
    }
}

/// Whether an address may identify a person's connection: not loopback,
/// unspecified, documentation (RFC 5737, RFC 3849), private (RFC 1918,
/// RFC 4193), link-local, shared (RFC 6598), benchmarking, multicast or
/// broadcast. `127.0.0.1` in a config snippet is not personal information.
fn personal_ip(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_private()
                || a.is_link_local()
                || a.is_documentation()
                || a.is_broadcast()
                || a.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240)
        }
        std::net::IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return personal_ip(std::net::IpAddr::V4(v4));
            }
            let s = a.segments();
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<(String, &'static str)> {
        let mut v = Vec::new();
        detect(text, &[true; 6], &mut v);
        v.into_iter()
            .map(|(s, e, d)| (text[s..e].to_string(), d.name()))
            .collect()
    }

    #[test]
    fn id_card_check_digit() {
        // GB 11643 example number.
        assert!(resident_id_valid("11010519491231002X"));
        assert!(resident_id_valid("11010519491231002x"));
        assert!(!resident_id_valid("110105194912310021"));
        assert!(!resident_id_valid("11010519491331002X")); // month 13
        assert_eq!(
            run("身份证11010519491231002X。"),
            vec![("11010519491231002X".into(), "id-card")]
        );
        assert!(run("身份证110105194912310021").is_empty());
    }

    #[test]
    fn mobile_numbers() {
        assert_eq!(
            run("电话13812345678联系"),
            vec![("13812345678".into(), "mobile")]
        );
        assert!(run("12812345678").is_empty());
        assert!(run("138123456789").is_empty());
    }

    #[test]
    fn bank_card_luhn() {
        assert!(luhn_valid("4111111111111111"));
        assert!(!luhn_valid("4111111111111112"));
        assert_eq!(
            run("卡号 4111111111111111"),
            vec![("4111111111111111".into(), "bank-card")]
        );
        assert!(run("卡号 4111111111111112").is_empty());
    }

    #[test]
    fn uscc_check_character() {
        // Published example: 91350100M000100Y43.
        assert!(uscc_valid("91350100M000100Y43"));
        assert!(!uscc_valid("91350100M000100Y44"));
        assert!(!uscc_valid("91350100M000100I43")); // I is not in the alphabet
        assert_eq!(
            run("代码91350100M000100Y43。"),
            vec![("91350100M000100Y43".into(), "uscc")]
        );
    }

    #[test]
    fn email_and_ip() {
        assert_eq!(
            run("写信给 a.b-c@example.com.cn。"),
            vec![("a.b-c@example.com.cn".into(), "email")]
        );
        assert!(run("a@b").is_empty());
        assert_eq!(
            run("服务器 61.135.169.121 上"),
            vec![("61.135.169.121".into(), "ip")]
        );
        assert!(run("版本 1.2.3.4.5").is_empty());
        assert!(run("256.1.1.1").is_empty());
    }

    #[test]
    fn ipv6_addresses() {
        assert_eq!(
            run("服务器 2400:da00::8a2e:370:7334 上"),
            vec![("2400:da00::8a2e:370:7334".into(), "ip")]
        );
        assert_eq!(
            run("地址2408:8000::1ff:fe23:4567:890a。"),
            vec![("2408:8000::1ff:fe23:4567:890a".into(), "ip")]
        );
        assert_eq!(
            run("full 2400:0db8:0000:0000:0000:ff00:0042:8329."),
            vec![("2400:0db8:0000:0000:0000:ff00:0042:8329".into(), "ip")]
        );
        assert_eq!(
            run("mapped ::ffff:61.135.169.121 here"),
            vec![("::ffff:61.135.169.121".into(), "ip")]
        );
        // Times, ratios, scopes and the loopback are not addresses.
        assert!(run("时间 12:30:45").is_empty());
        assert!(run("比分 3:2").is_empty());
        assert!(run("std::vector<int> a::b").is_empty());
        assert!(run("loopback ::1").is_empty());
        assert!(run("bad 2001:db8:::1").is_empty());
    }

    /// Issue 9 §3.9: loopback, unspecified, documentation and private
    /// addresses are not about a person.
    #[test]
    fn non_personal_addresses_are_not_reported() {
        for t in [
            "listen 127.0.0.1:8080",
            "bind 0.0.0.0",
            "lan 192.168.1.10 and 10.0.0.7 and 172.16.5.4",
            "docs 192.0.2.1, 198.51.100.7, 203.0.113.9",
            "link 169.254.1.1",
            "v6 2001:db8::8a2e:370:7334 fe80::1ff:fe23:4567:890a fd00::1:2",
            "mapped ::ffff:127.0.0.1",
        ] {
            assert!(run(t).is_empty(), "{t}: {:?}", run(t));
        }
        assert_eq!(run("from 8.8.8.8"), vec![("8.8.8.8".into(), "ip")]);
    }

    #[test]
    fn folded_forms_and_grouped_digits() {
        assert_eq!(
            run("电话１３８１２３４５６７８联系"),
            vec![("１３８１２３４５６７８".into(), "mobile")]
        );
        assert_eq!(
            run("call 138 1234 5678 now"),
            vec![("138 1234 5678".into(), "mobile")]
        );
        assert_eq!(
            run("卡号4111-1111-1111-1111。"),
            vec![("4111-1111-1111-1111".into(), "bank-card")]
        );
        assert_eq!(
            run("信箱ａ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
            vec![("ａ＠ｅｘａｍｐｌｅ．ｃｏｍ".into(), "email")]
        );
        // Two numbers side by side stay two numbers.
        assert_eq!(run("13812345678 13912345678").len(), 2);
        // Other groupings are not joined, and no finding is reported twice.
        assert!(run("1381 2345 678").is_empty());
        assert_eq!(run("13812345678，１３８").len(), 1);
    }
}
