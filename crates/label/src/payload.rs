//! The implicit-label payload: seven keys, bare or wrapped as `{"AIGC": {...}}`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::problem::Problem;

/// A GB 45438 implicit label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Label {
    /// 1 = AI-generated, 2 = possibly, 3 = suspected.
    #[serde(rename = "Label")]
    pub label: String,
    /// Generation service provider name or code.
    #[serde(rename = "ContentProducer")]
    pub content_producer: String,
    /// Content ID given by the producer.
    #[serde(rename = "ProduceID")]
    pub produce_id: String,
    /// Reserved; producers may put an integrity field here.
    #[serde(rename = "ReservedCode1")]
    pub reserved_code1: String,
    /// Propagation service provider name or code.
    #[serde(rename = "ContentPropagator")]
    pub content_propagator: String,
    /// Content ID given by the propagator.
    #[serde(rename = "PropagateID")]
    pub propagate_id: String,
    /// Reserved; propagators may put an integrity field here.
    #[serde(rename = "ReservedCode2")]
    pub reserved_code2: String,
}

impl Label {
    /// The payload as `embed` writes it: `{"AIGC":{...}}` with the keys in Annex E order.
    pub fn to_json_wrapped(&self) -> String {
        let fields = [
            ("Label", &self.label),
            ("ContentProducer", &self.content_producer),
            ("ProduceID", &self.produce_id),
            ("ReservedCode1", &self.reserved_code1),
            ("ContentPropagator", &self.content_propagator),
            ("PropagateID", &self.propagate_id),
            ("ReservedCode2", &self.reserved_code2),
        ];
        let mut s = String::from("{\"AIGC\":{");
        for (i, (k, v)) in fields.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push('"');
            s.push_str(k);
            s.push_str("\":");
            s.push_str(&Value::String((*v).clone()).to_string());
        }
        s.push_str("}}");
        s
    }

    /// The seven keys as a JSON object.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// A payload as read from one channel, with what is wrong with it.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The payload object (unwrapped, keys in their Annex E spelling), when the
    /// text is JSON (or could be read as JSON, see `warnings`).
    pub object: Option<Map<String, Value>>,
    /// Problems (empty when the payload follows the rules).
    pub problems: Vec<Problem>,
    /// What was tolerated to read the payload (a byte-order mark, full-width
    /// punctuation, single quotes, keys in another case): the label is read, the
    /// verdict is not changed, the writer should still be told.
    pub warnings: Vec<Problem>,
}

/// Full-width ASCII (U+FF01-U+FF5E), the ideographic space and curly quotes as
/// their ASCII forms; `None` when there is nothing to change.
fn halfwidth(s: &str) -> Option<String> {
    let mut changed = false;
    let out: String = s
        .chars()
        .map(|c| {
            let r = match c {
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                '\u{3000}' => ' ',
                '\u{201C}' | '\u{201D}' | '\u{2033}' => '"',
                '\u{2018}' | '\u{2019}' => '\'',
                '\u{3001}' => ',',
                _ => c,
            };
            changed |= r != c;
            r
        })
        .collect();
    changed.then_some(out)
}

/// A Python-literal style object (`{'Label': '1', ...}`, as `str(dict)` writes) as
/// JSON: single-quoted strings become double-quoted; `None`/`True`/`False` mapped.
fn python_literal(s: &str) -> Option<String> {
    if !s.contains('\'') {
        return None;
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let q = c;
                out.push('"');
                while let Some(d) = chars.next() {
                    match d {
                        '\\' => {
                            let e = chars.next()?;
                            if e == '\'' {
                                out.push('\'');
                            } else {
                                out.push('\\');
                                out.push(e);
                            }
                        }
                        d if d == q => break,
                        '"' => out.push_str("\\\""),
                        d => out.push(d),
                    }
                }
                out.push('"');
            }
            c if c.is_ascii_alphabetic() => {
                let mut w = String::from(c);
                while let Some(&d) = chars.peek() {
                    if d.is_ascii_alphanumeric() {
                        w.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push_str(match w.as_str() {
                    "None" => "null",
                    "True" => "true",
                    "False" => "false",
                    _ => &w,
                });
            }
            c => out.push(c),
        }
    }
    Some(out)
}

fn lenient(text: &str, warnings: &mut Vec<Problem>) -> Result<Value, serde_json::Error> {
    let first = match serde_json::from_str::<Value>(text) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let mut cur = text.to_string();
    if let Some(h) = halfwidth(&cur) {
        if let Ok(v) = serde_json::from_str(&h) {
            warnings.push(Problem::tolerated(
                "full-width-json",
                "payload JSON written with full-width punctuation",
                "载荷 JSON 使用了全角标点",
            ));
            return Ok(v);
        }
        cur = h;
    }
    if let Some(p) = python_literal(&cur)
        && let Ok(v) = serde_json::from_str(&p)
    {
        warnings.push(Problem::tolerated(
            "single-quoted-json",
            "payload written with single quotes (a Python literal), not JSON",
            "载荷使用单引号(Python 字面量),不是标准 JSON",
        ));
        return Ok(v);
    }
    Err(first)
}

/// Normalises a key for matching: lower case, without `_`, `-` and spaces.
fn fold(k: &str) -> String {
    k.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Parses a channel's text: bare or wrapped, also a JSON string holding JSON.
/// Tolerates (with a warning) a byte-order mark, full-width punctuation, single
/// quotes, and the wrapper and keys in another case or spelling (`aigc`,
/// `contentProducer`, `content_producer`).
pub fn parse(text: &str, cfg: &Config) -> Parsed {
    let mut warnings = Vec::new();
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    let text = trimmed.trim_start_matches('\u{FEFF}').trim_start();
    if text.len() != trimmed.len() {
        warnings.push(Problem::tolerated(
            "bom",
            "payload starts with a byte-order mark",
            "载荷以字节顺序标记(BOM)开头",
        ));
    }
    let mut value: Value = match lenient(text, &mut warnings) {
        Ok(v) => v,
        Err(e) => {
            return Parsed {
                object: None,
                problems: vec![Problem::not_json(&e.to_string())],
                warnings,
            };
        }
    };
    if let Value::String(inner) = &value
        && let Ok(v) = lenient(inner.trim(), &mut warnings)
    {
        value = v;
    }
    let mut obj = match value {
        Value::Object(m) => m,
        _ => {
            return Parsed {
                object: None,
                problems: vec![Problem::not_object()],
                warnings,
            };
        }
    };
    let wrapper = cfg.payload.wrapper.as_str();
    if obj.len() == 1
        && let Some((k, v)) = obj.iter().next()
        && k.eq_ignore_ascii_case(wrapper)
    {
        let inner = match v {
            Value::Object(m) => Some(m.clone()),
            Value::String(s) => match lenient(s.trim(), &mut warnings) {
                Ok(Value::Object(m)) => Some(m),
                _ => None,
            },
            _ => None,
        };
        if let Some(m) = inner {
            if k != wrapper {
                warnings.push(Problem::key_case(k, wrapper));
            }
            obj = m;
        }
    }
    // keys in another case or spelling: renamed to the Annex E names
    let renames: Vec<(String, String)> = obj
        .keys()
        .filter(|k| !cfg.payload.keys.contains(k))
        .filter_map(|k| {
            let f = fold(k);
            cfg.payload
                .keys
                .iter()
                .find(|want| fold(want) == f && !obj.contains_key(*want))
                .map(|want| (k.clone(), want.clone()))
        })
        .collect();
    for (from, to) in renames {
        if let Some(v) = obj.remove(&from) {
            warnings.push(Problem::key_case(&from, &to));
            obj.insert(to, v);
        }
    }
    for k in obj.keys() {
        if !cfg.payload.keys.contains(k) {
            warnings.push(Problem::extra_key(k));
        }
    }
    let problems = check(&obj, cfg);
    Parsed {
        object: Some(obj),
        problems,
        warnings,
    }
}

/// A value as text: strings as is, numbers as written, objects as JSON.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn check(obj: &Map<String, Value>, cfg: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    for key in &cfg.payload.keys {
        if !obj.contains_key(key) {
            problems.push(Problem::missing_key(key));
        }
    }
    if let Some(v) = obj.get("Label") {
        let t = value_text(v);
        if !cfg.payload.labels.contains_key(&t) {
            problems.push(Problem::bad_label(&t));
        }
    }
    for key in ["ContentProducer", "ProduceID"] {
        if let Some(v) = obj.get(key)
            && value_text(v).trim().is_empty()
        {
            problems.push(Problem::empty_key(key));
        }
    }
    let prop = obj
        .get("ContentPropagator")
        .map(value_text)
        .unwrap_or_default();
    let pid = obj.get("PropagateID").map(value_text).unwrap_or_default();
    if prop.trim().is_empty() != pid.trim().is_empty() {
        problems.push(Problem::propagator_pair());
    }
    if cfg.payload.visible_ascii {
        for key in &cfg.payload.keys {
            if let Some(v) = obj.get(key)
                && value_text(v).chars().any(|c| !(' '..='~').contains(&c))
            {
                problems.push(Problem::not_ascii(key));
            }
        }
    }
    problems
}

/// The seven keys of a parsed object as a [`Label`] (missing keys empty).
pub fn to_label(obj: &Map<String, Value>) -> Label {
    let g = |k: &str| obj.get(k).map(value_text).unwrap_or_default();
    Label {
        label: g("Label"),
        content_producer: g("ContentProducer"),
        produce_id: g("ProduceID"),
        reserved_code1: g("ReservedCode1"),
        content_propagator: g("ContentPropagator"),
        propagate_id: g("PropagateID"),
        reserved_code2: g("ReservedCode2"),
    }
}

/// Reads an integrity field (`{"Type":..,"AlgID":..}`) from a reserved code, if it is one.
pub fn integrity(reserved: &str) -> Option<Value> {
    let v: Value = serde_json::from_str(reserved.trim()).ok()?;
    let m = v.as_object()?;
    if m.contains_key("Type") || m.contains_key("AlgID") {
        Some(v)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> &'static Config {
        Config::embedded()
    }

    #[test]
    fn bare_and_wrapped() {
        let bare = r#"{"Label":"1","ContentProducer":"P","ProduceID":"x","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}"#;
        let p = parse(bare, cfg());
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let wrapped = format!("{{\"AIGC\":{bare}}}");
        let q = parse(&wrapped, cfg());
        assert_eq!(p.object, q.object);
        let l = to_label(q.object.as_ref().expect("object"));
        assert_eq!(parse(&l.to_json_wrapped(), cfg()).object, q.object);
    }

    #[test]
    fn bad_label_and_missing_key() {
        let p = parse(
            r#"{"AIGC":{"Label":"7","ContentProducer":"P","ProduceID":"x"}}"#,
            cfg(),
        );
        assert!(
            p.problems
                .iter()
                .any(|s| s.en == "Label \"7\" is not 1, 2 or 3")
        );
        assert!(
            p.problems
                .iter()
                .any(|s| s.en == "missing key ReservedCode2")
        );
        assert!(!parse("not json", cfg()).problems.is_empty());
    }

    #[test]
    fn extra_keys_are_warned_about() {
        let p = parse(
            r#"{"AIGC":{"Label":"1","ContentProducer":"P","ProduceID":"x","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":"","Extra":"y"}}"#,
            cfg(),
        );
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.warnings.len(), 1);
        assert_eq!(p.warnings[0].code, "extra-key");
    }

    #[test]
    fn tolerated_forms_are_read_with_a_warning() {
        let canonical = parse(
            r#"{"AIGC":{"Label":"1","ContentProducer":"P","ProduceID":"x","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}}"#,
            cfg(),
        );
        assert!(canonical.warnings.is_empty() && canonical.problems.is_empty());
        for (text, code) in [
            (
                "\u{feff}{\"AIGC\":{\"Label\":\"1\",\"ContentProducer\":\"P\",\"ProduceID\":\"x\",\"ReservedCode1\":\"\",\"ContentPropagator\":\"\",\"PropagateID\":\"\",\"ReservedCode2\":\"\"}}",
                "bom",
            ),
            (
                "｛＂AIGC＂：｛＂Label＂：＂1＂，＂ContentProducer＂：＂P＂，＂ProduceID＂：＂x＂，＂ReservedCode1＂：＂＂，＂ContentPropagator＂：＂＂，＂PropagateID＂：＂＂，＂ReservedCode2＂：＂＂｝｝",
                "full-width-json",
            ),
            (
                "{'AIGC': {'Label': '1', 'ContentProducer': 'P', 'ProduceID': 'x', 'ReservedCode1': '', 'ContentPropagator': '', 'PropagateID': '', 'ReservedCode2': ''}}",
                "single-quoted-json",
            ),
            (
                r#"{"aigc":{"label":"1","contentProducer":"P","produce_id":"x","ReservedCode1":"","ContentPropagator":"","PropagateID":"","reservedcode2":""}}"#,
                "key-case",
            ),
            (
                "\n  {\n  \"AIGC\" : {\n \"Label\" : 1 , \"ContentProducer\":\"P\",\"ProduceID\":\"x\",\"ReservedCode1\":\"\",\"ContentPropagator\":\"\",\"PropagateID\":\"\",\"ReservedCode2\":\"\"}}\n\0",
                "",
            ),
        ] {
            let p = parse(text, cfg());
            assert!(p.problems.is_empty(), "{text}: {:?}", p.problems);
            assert_eq!(
                p.object,
                canonical.object.clone().map(|mut o| {
                    if code.is_empty() {
                        o.insert("Label".into(), Value::from(1));
                    }
                    o
                }),
                "{text}"
            );
            if code.is_empty() {
                assert!(p.warnings.is_empty(), "{text}: {:?}", p.warnings);
            } else {
                assert!(
                    p.warnings.iter().any(|w| w.code == code),
                    "{text}: {:?}",
                    p.warnings
                );
            }
        }
    }
}
