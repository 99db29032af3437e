//! Filing numbers in the regulator's published formats (regime-facts §1.4,
//! §2.3 and `shared/data/registry/README.md`):
//!
//! - algorithm filings: `网信算备` + 21 digits + `号`; the first 6 digits are the
//!   GB/T 2260 division code of the filer (inferred). beian fills the rest as
//!   7 digits of organisation id, `01`, 2-digit year, 4-digit serial, which is
//!   the layout the published numbers show (`330110 5072064 01 23 0027`);
//! - generative-AI filings: `Province-Name-YYYYMMDDnnnn` (early ones without
//!   the serial: `Province-Name-YYYYMMDD`);
//! - generative-AI registrations: `Province-Name-YYYYMMDDSnnnn`.

use crate::domain::FilingKind;
use pinyin::ToPinyin;

/// What a published number says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedNumber {
    pub kind: FilingKind,
    /// A remark when the number is usable but irregular.
    pub irregular: Option<String>,
}

/// Why a number cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("empty filing number")]
    Empty,
    #[error("filing number {0:?} is cut short (no date/serial after the last '-')")]
    Truncated(String),
    #[error("filing number {0:?} matches no known format")]
    Unknown(String),
    #[error("serial numbers for {0} are exhausted")]
    Exhausted(String),
}

/// Classifies a published filing number.
pub fn parse(number: &str) -> Result<ParsedNumber, NumberError> {
    let n = number.trim();
    if n.is_empty() {
        return Err(NumberError::Empty);
    }
    if let Some(rest) = n.strip_prefix("网信算备") {
        let digits = rest.strip_suffix('号').unwrap_or(rest);
        if digits.chars().all(|c| c.is_ascii_digit()) && !digits.is_empty() {
            let irregular = (digits.len() != 21 || !rest.ends_with('号')).then(|| {
                format!(
                    "algorithm number has {} digits (expected 21 + 号)",
                    digits.len()
                )
            });
            return Ok(ParsedNumber {
                kind: FilingKind::Algorithm,
                irregular,
            });
        }
        return Err(NumberError::Unknown(n.to_string()));
    }
    let (Some(first), Some(last)) = (n.find('-'), n.rfind('-')) else {
        return Err(NumberError::Unknown(n.to_string()));
    };
    if first == last || first == 0 {
        return Err(NumberError::Unknown(n.to_string()));
    }
    let tail = &n[last + 1..];
    if tail.is_empty() {
        return Err(NumberError::Truncated(n.to_string()));
    }
    let all_digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if let Some((date, serial)) = tail.split_once('S') {
        if date.len() == 8 && all_digits(date) && all_digits(serial) {
            let irregular = (serial.len() != 4).then(|| {
                format!(
                    "registration serial has {} digits (expected 4)",
                    serial.len()
                )
            });
            return Ok(ParsedNumber {
                kind: FilingKind::GenaiRegistration,
                irregular,
            });
        }
        return Err(NumberError::Unknown(n.to_string()));
    }
    if all_digits(tail) {
        let irregular = match tail.len() {
            8 | 12 => None,
            l => Some(format!(
                "date/serial tail has {l} digits (expected 8 or 12)"
            )),
        };
        if tail.len() < 8 {
            return Err(NumberError::Truncated(n.to_string()));
        }
        return Ok(ParsedNumber {
            kind: FilingKind::GenaiFiling,
            irregular,
        });
    }
    Err(NumberError::Unknown(n.to_string()))
}

/// Latin (pinyin CamelCase) form of a service name: `文心一言` → `WenXinYiYan`.
/// ASCII letters and digits are kept; other characters are dropped.
pub fn latin_name(name: &str) -> String {
    let mut out = String::new();
    for (c, py) in name.chars().zip(name.to_pinyin()) {
        if let Some(p) = py {
            let plain = p.plain();
            let mut cs = plain.chars();
            if let Some(f) = cs.next() {
                out.extend(f.to_uppercase());
                out.push_str(cs.as_str());
            }
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        }
    }
    out
}

/// Is a Latin name usable inside a number?
pub fn valid_latin(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Counter key and formatted number for a new approval.
/// `serial` is the next value of the counter named by [`counter_key`].
pub fn format_number(
    kind: FilingKind,
    province_pinyin: &str,
    division_code: &str,
    org_id: i64,
    name_latin: &str,
    date: chrono::NaiveDate,
    serial: i64,
) -> Result<String, NumberError> {
    if !(1..=9999).contains(&serial) {
        return Err(NumberError::Exhausted(counter_key(
            kind,
            province_pinyin,
            division_code,
            date,
        )));
    }
    Ok(match kind {
        FilingKind::Algorithm => format!(
            "网信算备{division_code:0>6}{:07}01{}{serial:04}号",
            org_id.rem_euclid(10_000_000),
            date.format("%y")
        ),
        FilingKind::GenaiFiling => {
            format!(
                "{province_pinyin}-{name_latin}-{}{serial:04}",
                date.format("%Y%m%d")
            )
        }
        FilingKind::GenaiRegistration => {
            format!(
                "{province_pinyin}-{name_latin}-{}S{serial:04}",
                date.format("%Y%m%d")
            )
        }
    })
}

/// Name of the serial counter a new number draws from.
pub fn counter_key(
    kind: FilingKind,
    province_pinyin: &str,
    division_code: &str,
    date: chrono::NaiveDate,
) -> String {
    match kind {
        FilingKind::Algorithm => format!("alg:{division_code}:{}", date.format("%y")),
        FilingKind::GenaiFiling => format!("genai:{province_pinyin}:{}", date.format("%Y%m%d")),
        FilingKind::GenaiRegistration => {
            format!("reg:{province_pinyin}:{}", date.format("%Y%m%d"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn parses_published_forms() {
        let p = |s| parse(s).map(|p| p.kind);
        assert_eq!(
            p("网信算备330110507206401230027号"),
            Ok(FilingKind::Algorithm)
        );
        assert_eq!(
            p("ZheJiang-TongYiQianWen-20230901"),
            Ok(FilingKind::GenaiFiling)
        );
        assert_eq!(
            p("Hunan-PinCaiMao-202412310003"),
            Ok(FilingKind::GenaiFiling)
        );
        assert_eq!(
            p("Beijing-X-20240801S0001"),
            Ok(FilingKind::GenaiRegistration)
        );
        assert!(matches!(
            parse("Jiangsu-SiWeiXiangLiangZhiSuanYun-"),
            Err(NumberError::Truncated(_))
        ));
        let odd = parse("ZheJiang-HuaShuShiHuaWenLvDaMoXing-20250609000026").unwrap();
        assert_eq!(odd.kind, FilingKind::GenaiFiling);
        assert!(odd.irregular.is_some());
        assert!(parse("hello").is_err());
    }

    #[test]
    fn formats_round_trip() {
        let d = NaiveDate::from_ymd_opt(2025, 3, 5).unwrap();
        let a = format_number(FilingKind::Algorithm, "Zhejiang", "330110", 42, "", d, 27).unwrap();
        assert_eq!(a, "网信算备330110000004201250027号");
        assert!(parse(&a).unwrap().irregular.is_none());
        let g = format_number(
            FilingKind::GenaiFiling,
            "Guangdong",
            "440000",
            1,
            "LingJu",
            d,
            20,
        )
        .unwrap();
        assert_eq!(g, "Guangdong-LingJu-202503050020");
        let r = format_number(
            FilingKind::GenaiRegistration,
            "Beijing",
            "110000",
            1,
            "A",
            d,
            1,
        )
        .unwrap();
        assert_eq!(parse(&r).unwrap().kind, FilingKind::GenaiRegistration);
        assert!(format_number(FilingKind::GenaiFiling, "B", "1", 1, "A", d, 10000).is_err());
    }

    #[test]
    fn pinyin_names() {
        assert_eq!(latin_name("文心一言"), "WenXinYiYan");
        assert_eq!(latin_name("通义千问"), "TongYiQianWen");
        assert_eq!(latin_name("AI助手"), "AIZhuShou");
    }
}
