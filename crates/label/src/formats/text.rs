//! Implicit labels in text files: an `AIGC:` block in YAML front matter (as AI coding
//! and writing tools put at the top of Markdown files), and an HTML
//! `<meta name="AIGC" content="...">`.
//!
//! The front matter is read with a small line reader (no YAML library): `AIGC:`
//! followed by either an inline value (a JSON string, quoted or not) or indented
//! `Key: value` lines. The seven keys become a JSON payload judged like any other
//! channel.

use serde_json::{Map, Value};

use super::RawItem;

/// A YAML scalar as text: quotes removed (`''` in single quotes is `'`), an
/// unquoted value cut at ` #` (a comment).
fn scalar(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        return v[1..v.len() - 1].replace("''", "'");
    }
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        return serde_json::from_str::<String>(v).unwrap_or_else(|_| v[1..v.len() - 1].into());
    }
    match v.find(" #") {
        Some(i) => v[..i].trim_end().to_string(),
        None => v.to_string(),
    }
}

/// The front matter's lines (between a first line `---` and the next `---`/`...`).
fn front_matter(text: &str) -> Option<Vec<&str>> {
    let t = text.trim_start_matches('\u{FEFF}');
    let mut lines = t.lines();
    if lines.next()?.trim_end() != "---" {
        return None;
    }
    let mut out = Vec::new();
    for l in lines {
        let e = l.trim_end();
        if e == "---" || e == "..." {
            return Some(out);
        }
        out.push(l);
    }
    None
}

fn indent(l: &str) -> usize {
    l.len() - l.trim_start_matches([' ', '\t']).len()
}

/// The `AIGC` block of YAML lines, as payload text.
fn aigc_block(lines: &[&str], key: &str) -> Option<String> {
    let (i, l) = lines.iter().enumerate().find(|(_, l)| {
        indent(l) == 0
            && l.split_once(':')
                .is_some_and(|(k, _)| scalar(k).eq_ignore_ascii_case(key))
    })?;
    let rest = l.split_once(':').map(|(_, r)| r.trim()).unwrap_or_default();
    if !rest.is_empty() && !rest.starts_with('#') {
        return Some(scalar(rest));
    }
    let mut obj = Map::new();
    for l in &lines[i + 1..] {
        if l.trim().is_empty() || l.trim_start().starts_with('#') {
            continue;
        }
        if indent(l) == 0 {
            break;
        }
        if let Some((k, v)) = l.trim().split_once(':') {
            obj.insert(scalar(k), Value::String(scalar(v)));
        }
    }
    let mut wrapped = Map::new();
    wrapped.insert(key.to_string(), Value::Object(obj));
    Some(Value::Object(wrapped).to_string())
}

/// The value of the `content` attribute of `<meta name="KEY" ...>` tags.
fn html_meta(text: &str, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("<meta") {
        let at = from + i;
        let Some(end) = lower[at..].find('>').map(|e| at + e) else {
            break;
        };
        from = end;
        let tag = &text[at..end];
        let attrs = attributes(tag);
        let named = attrs
            .iter()
            .any(|(k, v)| (k == "name" || k == "property") && v.eq_ignore_ascii_case(key));
        if named && let Some((_, v)) = attrs.iter().find(|(k, _)| k == "content") {
            out.push(crate::xmp::unescape(v));
        }
    }
    out
}

/// `name="value"` pairs of a tag (names lower-cased).
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = tag.trim_start_matches("<meta").trim_start_matches("<META");
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq]
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let v = rest[eq + 1..].trim_start();
        let Some(q) = v.chars().next() else { break };
        if q == '"' || q == '\'' {
            let Some(e) = v[1..].find(q) else { break };
            out.push((name, v[1..1 + e].to_string()));
            rest = &v[1 + e + 1..];
        } else {
            let e = v.find(char::is_whitespace).unwrap_or(v.len());
            out.push((name, v[..e].trim_end_matches('/').to_string()));
            rest = &v[e..];
        }
    }
    out
}

/// Implicit-label items at the start of a text file.
pub fn read(head: &str) -> Vec<RawItem> {
    let mut out = Vec::new();
    if let Some(lines) = front_matter(head)
        && let Some(v) = aigc_block(&lines, "AIGC")
    {
        out.push(RawItem {
            carrier: "text:front-matter",
            key: "AIGC".into(),
            value: v,
        });
    }
    for v in html_meta(head, "AIGC") {
        out.push(RawItem {
            carrier: "html:meta",
            key: "AIGC".into(),
            value: v,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_and_meta() {
        let md = "---\ntitle: x\nAIGC:\n    Label: \"1\"\n    ContentProducer: 001191440300708461136T1XGW3\n    ProduceID: 'a''b'\n    ReservedCode1: abc=\n---\n# body\n";
        let items = read(md);
        assert_eq!(items.len(), 1);
        let v: Value = serde_json::from_str(&items[0].value).expect("json");
        assert_eq!(v["AIGC"]["Label"], "1");
        assert_eq!(v["AIGC"]["ContentProducer"], "001191440300708461136T1XGW3");
        assert_eq!(v["AIGC"]["ProduceID"], "a'b");
        assert_eq!(v["AIGC"]["ReservedCode1"], "abc=");
        let inline = "---\nAIGC: '{\"Label\":\"1\"}'\n---\n";
        assert_eq!(read(inline)[0].value, "{\"Label\":\"1\"}");
        assert!(read("no front matter\nAIGC:\n  Label: 1\n").is_empty());
        assert!(read("---\nAIGC:\n  Label: 1\n").is_empty(), "unclosed");
        let html =
            "<html><head><META content='{&quot;Label&quot;:&quot;1&quot;}' name=\"aigc\"></head>";
        assert_eq!(read(html)[0].value, "{\"Label\":\"1\"}");
    }
}
