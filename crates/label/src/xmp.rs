//! Minimal XMP handling: find the values of one property (element or attribute form)
//! and insert or replace it, leaving the rest of the packet as it was.

/// Values of property `local` in namespace `ns` in an XMP packet.
pub fn extract(packet: &str, ns: &str, local: &str) -> Vec<String> {
    extract_with_fields(packet, ns, local, &[])
}

/// Like [`extract`], and also reads the forms other writers use:
/// * the value in a language alternative, bag or sequence (`<rdf:Alt><rdf:li>`);
/// * the property as a structure whose `fields` are sub-properties in the same
///   namespace (`<p:AIGC rdf:parseType="Resource"><p:Label>1</p:Label>...`, or a
///   nested `rdf:Description` with attributes), returned as a JSON object;
/// * no property at all, but the `fields` as properties of their own in the
///   namespace (`<p:Label>1</p:Label><p:ContentProducer>...`), returned as a JSON
///   object (when at least two of them are there).
///
/// The namespace matches with or without its trailing `/`.
pub fn extract_with_fields(packet: &str, ns: &str, local: &str, fields: &[String]) -> Vec<String> {
    let pfx = prefixes(packet, ns);
    let mut out = Vec::new();
    for prefix in &pfx {
        for raw in raw_values(packet, prefix, local) {
            out.push(resolve(raw, &pfx, fields));
        }
    }
    if out.is_empty()
        && !fields.is_empty()
        && let Some(obj) = struct_fields(packet, &pfx, fields, 2)
    {
        out.push(obj);
    }
    out
}

/// A raw value: element content (still escaped) or an attribute value (unescaped).
enum Raw<'a> {
    Element(&'a str),
    Attribute(String),
}

/// Values of `prefix:local` in element and attribute form.
fn raw_values<'a>(packet: &'a str, prefix: &str, local: &str) -> Vec<Raw<'a>> {
    let mut out = Vec::new();
    let qname = format!("{prefix}:{local}");
    // element form: <p:AIGC>text</p:AIGC> (possibly with attributes)
    let open = format!("<{qname}");
    let close = format!("</{qname}>");
    let mut from = 0;
    while let Some(i) = packet[from..].find(&open) {
        let start = from + i + open.len();
        from = start;
        let rest = &packet[start..];
        let Some(c) = rest.chars().next() else { break };
        if c == '>' {
            if let Some(end) = rest.find(&close) {
                out.push(Raw::Element(&rest[1..end]));
                from = start + end;
            }
        } else if c.is_whitespace() {
            // attributes on the element, then > or />
            if let Some(gt) = rest.find('>') {
                if rest[..gt].ends_with('/') {
                    continue;
                }
                if let Some(end) = rest[gt + 1..].find(&close) {
                    out.push(Raw::Element(&rest[gt + 1..gt + 1 + end]));
                    from = start + gt + 1 + end;
                }
            }
        }
    }
    // attribute form: p:AIGC="..." or p:AIGC='...'
    let attr = format!("{qname}=");
    let mut from = 0;
    while let Some(i) = packet[from..].find(&attr) {
        let at = from + i;
        from = at + attr.len();
        let prev = packet[..at].chars().next_back();
        if !matches!(prev, Some(c) if c.is_whitespace()) {
            continue;
        }
        let rest = &packet[from..];
        let Some(q) = rest.chars().next() else { break };
        if q != '"' && q != '\'' {
            continue;
        }
        if let Some(end) = rest[1..].find(q) {
            out.push(Raw::Attribute(unescape(&rest[1..1 + end])));
            from += 1 + end;
        }
    }
    out
}

/// The inner text of the first `<tag ...>...</tag>` in `s`, if `s` starts with it.
fn strip_element<'a>(s: &'a str, tag: &str) -> Option<&'a str> {
    let s = s.trim();
    let open = format!("<{tag}");
    let rest = s.strip_prefix(&open)?;
    if !rest.starts_with(['>', ' ', '\t', '\n', '\r']) {
        return None;
    }
    let gt = rest.find('>')?;
    if rest[..gt].ends_with('/') {
        return Some("");
    }
    let body = &rest[gt + 1..];
    let end = body.find(&format!("</{tag}>"))?;
    Some(&body[..end])
}

fn resolve(raw: Raw<'_>, pfx: &[String], fields: &[String]) -> String {
    let inner = match raw {
        Raw::Attribute(v) => return v,
        Raw::Element(e) => e,
    };
    let mut t = inner.trim();
    for container in ["rdf:Alt", "rdf:Bag", "rdf:Seq"] {
        if let Some(c) = strip_element(t, container) {
            t = strip_element(c, "rdf:li").unwrap_or(c).trim();
            break;
        }
    }
    if let Some(v) = strip_element(t, "rdf:value") {
        t = v.trim();
    }
    if t.starts_with('<')
        && !fields.is_empty()
        && let Some(obj) = struct_fields(t, pfx, fields, 1)
    {
        return obj;
    }
    unescape(t)
}

/// The `fields` found as `prefix:field` (element or attribute form) in `s`, as a
/// JSON object, when at least `min` of them are there.
fn struct_fields(s: &str, pfx: &[String], fields: &[String], min: usize) -> Option<String> {
    let mut obj = serde_json::Map::new();
    for f in fields {
        let v = pfx
            .iter()
            .find_map(|p| raw_values(s, p, f).into_iter().next());
        if let Some(v) = v {
            let text = match v {
                Raw::Attribute(a) => a,
                Raw::Element(e) => {
                    let e = e.trim();
                    let e = strip_element(e, "rdf:Alt")
                        .map(|c| strip_element(c, "rdf:li").unwrap_or(c))
                        .unwrap_or(e);
                    unescape(e.trim())
                }
            };
            obj.insert(f.clone(), serde_json::Value::String(text));
        }
    }
    (obj.len() >= min).then(|| serde_json::Value::Object(obj).to_string())
}

/// The prefixes bound to `ns` (xmlns:p="ns").
fn prefixes(packet: &str, ns: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = packet[from..].find("xmlns:") {
        let start = from + i + 6;
        from = start;
        let rest = &packet[start..];
        let Some(eq) = rest.find('=') else { break };
        let prefix = rest[..eq].trim();
        let val = rest[eq + 1..].trim_start();
        let Some(q) = val.chars().next() else { break };
        if (q == '"' || q == '\'')
            && let Some(end) = val[1..].find(q)
            && val[1..1 + end].trim_end_matches('/') == ns.trim_end_matches('/')
            && !prefix.is_empty()
            && prefix
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
            && !out.iter().any(|p| p == prefix)
        {
            out.push(prefix.to_string());
        }
    }
    out
}

/// XML-escapes text for an element's content.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

/// Resolves the five XML entities and numeric character references.
pub fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut o = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        o.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest.bytes().take(12).position(|b| b == b';') else {
            o.push('&');
            rest = &rest[1..];
            continue;
        };
        let ent = &rest[1..semi];
        let rep = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if ent.starts_with("#x") || ent.starts_with("#X") => {
                u32::from_str_radix(&ent[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match rep {
            Some(c) => {
                o.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                o.push('&');
                rest = &rest[1..];
            }
        }
    }
    o.push_str(rest);
    o
}

/// A new packet holding only the property.
pub fn new_packet(ns: &str, prefix: &str, local: &str, value: &str) -> String {
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
 <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
{}\
 </rdf:RDF>\n\
</x:xmpmeta>\n\
<?xpacket end=\"w\"?>",
        description(ns, prefix, local, value)
    )
}

fn description(ns: &str, prefix: &str, local: &str, value: &str) -> String {
    format!(
        "  <rdf:Description rdf:about=\"\" xmlns:{prefix}=\"{ns}\">\n   <{prefix}:{local}>{}</{prefix}:{local}>\n  </rdf:Description>\n",
        escape(value)
    )
}

/// Removes every element-form and attribute-form value of `pre:local` from `p`.
fn remove_property(p: &mut String, pre: &str, local: &str) {
    let open = format!("<{pre}:{local}");
    let close = format!("</{pre}:{local}>");
    while let Some(i) = p.find(&open) {
        let after = &p[i + open.len()..];
        let end = if after.starts_with('>') || after.starts_with(char::is_whitespace) {
            after
                .find(&close)
                .map(|e| i + open.len() + e + close.len())
                .or_else(|| after.find("/>").map(|e| i + open.len() + e + 2))
        } else {
            None
        };
        match end {
            Some(e) => p.replace_range(i..e, ""),
            None => break,
        }
    }
    // attribute form
    let attr = format!(" {pre}:{local}=");
    while let Some(i) = p.find(&attr) {
        let vstart = i + attr.len();
        let q = p[vstart..].chars().next();
        let end = match q {
            Some(q @ ('"' | '\'')) => p[vstart + 1..].find(q).map(|e| vstart + 1 + e + 1),
            _ => None,
        };
        match end {
            Some(e) => p.replace_range(i..e, ""),
            None => break,
        }
    }
}

/// Sets the property in an existing packet: a description holding only our property
/// is replaced; other values of the property are removed; otherwise a new
/// `rdf:Description` is added after `<rdf:RDF ...>`. A packet without `rdf:RDF` is
/// replaced by a new one.
pub fn upsert(packet: Option<&str>, ns: &str, prefix: &str, local: &str, value: &str) -> String {
    let Some(packet) = packet else {
        return new_packet(ns, prefix, local, value);
    };
    let mut p = packet.to_string();
    // remove existing values of the property, and the Annex E keys some writers put as
    // properties of their own in the namespace (they would keep the old label)
    let fields = &crate::Config::embedded().payload.keys;
    for pre in prefixes(&p.clone(), ns) {
        remove_property(&mut p, &pre, local);
        for f in fields {
            remove_property(&mut p, &pre, f);
        }
    }
    // drop descriptions left empty that only bound our namespace
    let mut from = 0;
    while let Some(i) = p[from..].find("<rdf:Description") {
        let at = from + i;
        let Some(gt) = p[at..].find('>') else { break };
        let open = &p[at..at + gt + 1];
        let close = "</rdf:Description>";
        let after = &p[at + gt + 1..];
        let ws = after.len() - after.trim_start().len();
        if open.contains(ns) && !open.ends_with("/>") && after.trim_start().starts_with(close) {
            let mut end = at + gt + 1 + ws + close.len();
            if p[end..].starts_with('\n') {
                end += 1;
            }
            let start = at - (p[..at].len() - p[..at].trim_end_matches(' ').len());
            p.replace_range(start..end, "");
            from = start;
        } else {
            from = at + gt + 1;
        }
    }
    let Some(rdf) = p.find("<rdf:RDF") else {
        return new_packet(ns, prefix, local, value);
    };
    let Some(gt) = p[rdf..].find('>') else {
        return new_packet(ns, prefix, local, value);
    };
    let mut at = rdf + gt + 1;
    if p[at..].starts_with('\n') {
        at += 1;
    } else {
        p.insert(at, '\n');
        at += 1;
    }
    p.insert_str(at, &description(ns, prefix, local, value));
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    const NS: &str = "http://www.tc260.org.cn/ns/AIGC/1.0/";

    #[test]
    fn close_tag_before_the_open_tag_ends() {
        // found by fuzzing: the close tag comes before the `>` of the open tag
        let p = format!("<x xmlns:t='{NS}'><t:AIGC </t:AIGC> a>b");
        let _ = extract(&p, NS, "AIGC");
    }

    #[test]
    fn round_trip_and_forms() {
        let p = new_packet(NS, "TC260", "AIGC", "{\"a\":\"<&>\"}");
        assert_eq!(extract(&p, NS, "AIGC"), vec!["{\"a\":\"<&>\"}".to_string()]);
        let attr = format!("<rdf:Description xmlns:t='{NS}' t:AIGC='{{&quot;x&quot;:1}}'/>");
        assert_eq!(extract(&attr, NS, "AIGC"), vec!["{\"x\":1}".to_string()]);
        let other = "<rdf:RDF xmlns:rdf='r'><rdf:Description xmlns:dc='d'><dc:title>t</dc:title></rdf:Description></rdf:RDF>";
        let up = upsert(Some(other), NS, "TC260", "AIGC", "v1");
        assert!(up.contains("<dc:title>t</dc:title>"));
        let up2 = upsert(Some(&up), NS, "TC260", "AIGC", "v2");
        assert_eq!(extract(&up2, NS, "AIGC"), vec!["v2".to_string()]);
    }

    #[test]
    fn other_writers_forms() {
        let f: Vec<String> = ["Label", "ContentProducer", "ProduceID"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let alt = format!(
            "<rdf:Description xmlns:t='{NS}'><t:AIGC><rdf:Alt><rdf:li xml:lang='x-default'>{{&quot;Label&quot;:&quot;1&quot;}}</rdf:li></rdf:Alt></t:AIGC></rdf:Description>"
        );
        assert_eq!(
            extract_with_fields(&alt, NS, "AIGC", &f),
            vec!["{\"Label\":\"1\"}"]
        );
        let st = "<rdf:Description xmlns:t='http://www.tc260.org.cn/ns/AIGC/1.0'><t:AIGC rdf:parseType='Resource'><t:Label>1</t:Label><t:ProduceID>a&amp;b</t:ProduceID></t:AIGC></rdf:Description>";
        let v: serde_json::Value =
            serde_json::from_str(&extract_with_fields(st, NS, "AIGC", &f)[0]).expect("json");
        assert_eq!(v["Label"], "1");
        assert_eq!(v["ProduceID"], "a&b");
        let nested = format!(
            "<rdf:Description xmlns:t='{NS}'><t:AIGC><rdf:Description t:Label='2' t:ContentProducer='P'/></t:AIGC></rdf:Description>"
        );
        let v: serde_json::Value =
            serde_json::from_str(&extract_with_fields(&nested, NS, "AIGC", &f)[0]).expect("json");
        assert_eq!(v["Label"], "2");
        assert_eq!(v["ContentProducer"], "P");
        let flat = format!(
            "<rdf:Description xmlns:t='{NS}' t:Label='1'><t:ContentProducer>P</t:ContentProducer></rdf:Description>"
        );
        let v: serde_json::Value =
            serde_json::from_str(&extract_with_fields(&flat, NS, "AIGC", &f)[0]).expect("json");
        assert_eq!(v["ContentProducer"], "P");
        assert!(extract_with_fields("<x/>", NS, "AIGC", &f).is_empty());
    }
}
