//! Explicit text labels: the notice (人工智能生成 / AI生成) at the start or end of a
//! text, and the same for one field of each JSONL record.

use serde_json::Value;

use crate::config::TextRules;

/// Where a notice is found or put.
pub fn notice_position<'a>(text: &str, rules: &TextRules) -> Option<&'a str> {
    notice_position_parts(text, text, rules)
}

/// Like [`notice_position`] with the start and end given separately (for files read
/// only at both ends). When `head` and `tail` are the same short text, a notice
/// counts as at the start when it begins in the first half, else at the end.
pub fn notice_position_parts<'a>(head: &str, tail: &str, rules: &TextRules) -> Option<&'a str> {
    if std::ptr::eq(head, tail) && head.trim().chars().count() <= 2 * rules.window {
        let t = head.trim();
        let i = find_notice(t, rules)?;
        let before = t[..i].chars().count();
        return Some(if before * 2 <= t.chars().count() {
            "start"
        } else {
            "end"
        });
    }
    let start: String = head.trim_start().chars().take(rules.window).collect();
    if find_notice(&start, rules).is_some() {
        return Some("start");
    }
    let t = tail.trim_end();
    let n = t.chars().count();
    let end: String = t.chars().skip(n.saturating_sub(rules.window)).collect();
    if find_notice(&end, rules).is_some() {
        return Some("end");
    }
    None
}

/// Byte offset of the first notice ("AI"/"人工智能" followed by "生成"/"合成").
fn find_notice(s: &str, rules: &TextRules) -> Option<usize> {
    let mut best: Option<usize> = None;
    for m in &rules.marks {
        let mut from = 0;
        while let Some(i) = s[from..].find(m.as_str()) {
            let after = s[from + i + m.len()..].trim_start_matches([' ', '\u{3000}', '\t']);
            if rules.verbs.iter().any(|v| after.starts_with(v.as_str())) {
                best = Some(best.map_or(from + i, |b: usize| b.min(from + i)));
                break;
            }
            from += i + m.len();
        }
    }
    best
}

/// Adds the notice at `position` ("start" or "end") unless one is already there.
pub fn add_notice(text: &str, position: &str, rules: &TextRules) -> String {
    if notice_position(text, rules) == Some(position) {
        return text.to_string();
    }
    if position == "start" {
        format!("{}\n\n{text}", rules.notice)
    } else {
        let body = text.trim_end_matches(['\n', '\r']);
        let nl = if text.ends_with('\n') { "\n" } else { "" };
        format!("{body}\n\n{}{nl}", rules.notice)
    }
}

fn field_mut<'a>(v: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut cur = v;
    for part in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get_mut(part)?,
            Value::Array(a) => a.get_mut(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The text of `field` (dotted path) in one JSONL record.
pub fn record_field(line: &str, field: &str) -> Result<String, String> {
    let mut v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    match field_mut(&mut v, field) {
        Some(Value::String(s)) => Ok(std::mem::take(s)),
        Some(_) => Err(format!("field {field} is not a string")),
        None => Err(format!("no field {field}")),
    }
}

/// One JSONL record with the notice added to `field`.
pub fn label_record(
    line: &str,
    field: &str,
    position: &str,
    rules: &TextRules,
) -> Result<String, String> {
    let mut v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    match field_mut(&mut v, field) {
        Some(Value::String(s)) => {
            *s = add_notice(s, position, rules);
        }
        Some(_) => return Err(format!("field {field} is not a string")),
        None => return Err(format!("no field {field}")),
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn notice() {
        let r = &Config::embedded().text;
        assert_eq!(notice_position("AI 生成：今天天气很好", r), Some("start"));
        assert_eq!(
            notice_position("今天天气很好。\n（本内容由人工智能生成）\n", r),
            Some("end")
        );
        assert_eq!(notice_position("今天天气很好", r), None);
        let s = add_notice("你好", "end", r);
        assert_eq!(notice_position(&s, r), Some("end"));
        assert_eq!(add_notice(&s, "end", r), s);
        let rec = label_record(r#"{"a":{"b":"答"}}"#, "a.b", "start", r).expect("record");
        assert!(
            record_field(&rec, "a.b")
                .expect("field")
                .starts_with(&r.notice)
        );
        assert!(label_record(r#"{"a":1}"#, "a", "start", r).is_err());
    }
}
