//! Problems found by `verify`, each with a stable code and English and Chinese text.

use serde::Serialize;

use crate::Error;

/// One problem: a stable machine code plus the message in English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Stable code (`missing-key`, `bad-label`, ...): what tools should match on.
    pub code: &'static str,
    /// English message (the default in reports).
    pub en: String,
    /// Chinese message (`--lang zh`).
    pub zh: String,
}

impl Problem {
    /// A problem from its parts.
    pub fn new(code: &'static str, en: impl Into<String>, zh: impl Into<String>) -> Problem {
        Problem {
            code,
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// The message in the chosen language.
    pub fn text(&self, zh: bool) -> &str {
        if zh { &self.zh } else { &self.en }
    }

    /// The same problem, prefixed with the channel it was found in.
    pub fn in_channel(&self, channel: &str) -> Problem {
        Problem::new(
            self.code,
            format!("{channel}: {}", self.en),
            format!("{channel}:{}", self.zh),
        )
    }

    /// The payload text is not JSON.
    pub fn not_json(detail: &str) -> Problem {
        Problem::new(
            "payload-not-json",
            format!("payload is not JSON ({detail})"),
            "载荷不是有效的 JSON",
        )
    }

    /// The payload is JSON but not an object.
    pub fn not_object() -> Problem {
        Problem::new(
            "payload-not-object",
            "payload is not a JSON object",
            "载荷不是 JSON 对象",
        )
    }

    /// One of the seven keys is missing.
    pub fn missing_key(key: &str) -> Problem {
        Problem::new(
            "missing-key",
            format!("missing key {key}"),
            format!("缺少字段 {key}"),
        )
    }

    /// `Label` is not 1, 2 or 3.
    pub fn bad_label(value: &str) -> Problem {
        let q = serde_json::Value::String(value.to_string());
        Problem::new(
            "bad-label",
            format!("Label {q} is not 1, 2 or 3"),
            format!("Label 的值 {q} 不是 1、2 或 3"),
        )
    }

    /// A key that must have a value is empty.
    pub fn empty_key(key: &str) -> Problem {
        Problem::new(
            "empty-key",
            format!("{key} is empty"),
            format!("{key} 为空"),
        )
    }

    /// Only one of ContentPropagator and PropagateID is given.
    pub fn propagator_pair() -> Problem {
        Problem::new(
            "propagator-pair",
            "ContentPropagator and PropagateID must be given together",
            "ContentPropagator 与 PropagateID 须同时填写",
        )
    }

    /// A value has characters outside visible ASCII.
    pub fn not_ascii(key: &str) -> Problem {
        Problem::new(
            "non-ascii",
            format!("{key} has characters outside visible ASCII 0x20-0x7E (GB 45438 Annex E)"),
            format!("{key} 含有可见 ASCII 字符(0x20-0x7E)以外的字符(GB 45438 附录 E)"),
        )
    }

    /// Two channels carry different values for one key.
    pub fn disagree(key: &str, first: (&str, &str), other: (&str, &str)) -> Problem {
        let (a, b) = (
            serde_json::Value::String(first.1.to_string()),
            serde_json::Value::String(other.1.to_string()),
        );
        Problem::new(
            "channels-disagree",
            format!(
                "channels disagree on {key}: {} has {a}, {} has {b}",
                first.0, other.0
            ),
            format!(
                "各通道的 {key} 不一致:{} 为 {a},{} 为 {b}",
                first.0, other.0
            ),
        )
    }

    /// The file could not be fully read.
    pub fn read_error(e: &Error) -> Problem {
        let zh = match e {
            Error::Truncated(_) => "文件被截断(结构超出文件末尾)".to_string(),
            Error::Oversized { size, .. } => format!(
                "元数据项过大(声明 {size} 字节,上限 {} 字节)",
                crate::io::MAX_ITEM
            ),
            Error::Io(_) => "读取出错".to_string(),
            _ => "文件结构损坏".to_string(),
        };
        Problem::new(
            "unreadable",
            format!("could not read the whole file: {e}"),
            format!("无法完整读取文件:{zh}"),
        )
    }

    /// The file could not be opened or read at all.
    pub fn cannot_open(e: &std::io::Error) -> Problem {
        Problem::new(
            "cannot-open",
            format!("cannot open: {e}"),
            "无法打开或读取文件",
        )
    }

    /// The file is not in a format `verify` supports.
    pub fn unsupported_format() -> Problem {
        Problem::new(
            "unsupported-format",
            "the file format is not supported (not checked for labels)",
            "不支持该文件格式(未检查标识)",
        )
    }

    /// Something a reader tolerated (reported as a warning, the verdict unchanged).
    pub fn tolerated(code: &'static str, en: &str, zh: &str) -> Problem {
        Problem::new(code, en, zh)
    }

    /// A key written in another case or spelling than GB 45438 Annex E's.
    pub fn key_case(found: &str, want: &str) -> Problem {
        Problem::new(
            "key-case",
            format!("key {found:?} read as {want} (Annex E spells it {want})"),
            format!("字段 {found:?} 按 {want} 读取(附录 E 的写法为 {want})"),
        )
    }

    /// A key that is not one of the seven (kept out of `implicit`, reported).
    pub fn extra_key(key: &str) -> Problem {
        Problem::new(
            "extra-key",
            format!("key {key:?} is not one of the seven keys of GB 45438 Annex E"),
            format!("字段 {key:?} 不属于 GB 45438 附录 E 的七个字段"),
        )
    }

    /// A JSONL record could not be checked.
    pub fn bad_record(line: usize, detail: &str) -> Problem {
        Problem::new(
            "bad-record",
            format!("line {line}: {detail}"),
            format!("第 {line} 行:无法读取指定字段"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_kebab_and_texts_differ() {
        let e = Error::Truncated("box header".into());
        for p in [
            Problem::not_json("x"),
            Problem::not_object(),
            Problem::missing_key("Label"),
            Problem::bad_label("7"),
            Problem::empty_key("ProduceID"),
            Problem::propagator_pair(),
            Problem::not_ascii("ProduceID"),
            Problem::disagree("Label", ("a", "1"), ("b", "2")),
            Problem::read_error(&e),
            Problem::unsupported_format(),
            Problem::bad_record(3, "not JSON"),
            Problem::key_case("label", "Label"),
            Problem::extra_key("Extra"),
            Problem::tolerated(
                "bom",
                "payload starts with a byte-order mark",
                "载荷以字节顺序标记(BOM)开头",
            ),
        ] {
            assert!(p.code.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            assert_ne!(p.en, p.zh);
            assert!(
                p.zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{}",
                p.zh
            );
        }
    }
}
