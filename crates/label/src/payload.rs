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
    /// The payload object (unwrapped), when the text is JSON.
    pub object: Option<Map<String, Value>>,
    /// Problems (empty when the payload follows the rules).
    pub problems: Vec<Problem>,
}

/// Parses a channel's text: bare or wrapped, also a JSON string holding JSON.
pub fn parse(text: &str, cfg: &Config) -> Parsed {
    let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    let mut value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Parsed {
                object: None,
                problems: vec![Problem::not_json(&e.to_string())],
            };
        }
    };
    if let Value::String(inner) = &value
        && let Ok(v) = serde_json::from_str::<Value>(inner)
    {
        value = v;
    }
    let mut obj = match value {
        Value::Object(m) => m,
        _ => {
            return Parsed {
                object: None,
                problems: vec![Problem::not_object()],
            };
        }
    };
    if obj.len() == 1
        && let Some(Value::Object(inner)) = obj.get(&cfg.payload.wrapper)
    {
        obj = inner.clone();
    } else if let Some(Value::String(s)) = obj.get(&cfg.payload.wrapper)
        && obj.len() == 1
        && let Ok(Value::Object(inner)) = serde_json::from_str::<Value>(s)
    {
        obj = inner;
    }
    let problems = check(&obj, cfg);
    Parsed {
        object: Some(obj),
        problems,
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
}
