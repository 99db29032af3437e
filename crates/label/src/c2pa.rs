//! C2PA manifest stores, read-only: the JUMBF boxes (ISO/IEC 19566-5) and the CBOR
//! (RFC 8949) of the active manifest's claim and assertions, enough to report who made
//! the content (claim generator), its title, the actions recorded and their
//! `digitalSourceType` (IPTC: `trainedAlgorithmicMedia` for generative AI,
//! `compositeWithTrainedAlgorithmicMedia` for AI edits), and whether an
//! AI-generation assertion is present.
//!
//! **The signature is not validated** (no COSE/X.509 checks, no hash bindings): every
//! report says so in `signature`. A C2PA manifest is reported next to GB 45438 labels,
//! never as one. Parsing is bounded (depth, item counts, sizes) and never panics.

use serde::Serialize;
use serde_json::{Map, Value};

/// The IPTC digital source types that mean generative AI made or changed the content.
pub const AI_SOURCE_TYPES: &[&str] = &[
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
];

/// One action of the active manifest's actions assertion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    /// `c2pa.created`, `c2pa.edited`, ...
    pub action: String,
    /// The IPTC digital source type, short form (`trainedAlgorithmicMedia`), if given.
    pub digital_source_type: Option<String>,
    /// The software agent (name and version), if given.
    pub software_agent: Option<String>,
}

/// A C2PA manifest store found in a file (read-only; the signature is not validated).
#[derive(Debug, Clone, Serialize)]
pub struct C2pa {
    /// Where it was (e.g. `png:caBX`, `jpeg:APP11`).
    pub channel: String,
    /// Bytes of the store.
    pub bytes: u64,
    /// Manifest labels in the store (`urn:uuid:...`, `urn:c2pa:...`), in order; the
    /// last one is the active manifest.
    pub manifests: Vec<String>,
    /// Label of the active manifest (the last in the store).
    pub active_manifest: Option<String>,
    /// The claim generator (`claim_generator`, or the first `claim_generator_info`
    /// name and version).
    pub claim_generator: Option<String>,
    /// `dc:title` of the claim.
    pub title: Option<String>,
    /// `dc:format` of the claim.
    pub format: Option<String>,
    /// Labels of the active manifest's assertions (`c2pa.actions.v2`, `c2pa.hash.data`, ...).
    pub assertions: Vec<String>,
    /// The actions recorded in the active manifest.
    pub actions: Vec<Action>,
    /// Distinct digital source types of those actions (short form).
    pub digital_source_types: Vec<String>,
    /// Whether an action says generative AI made or changed the content
    /// (`trainedAlgorithmicMedia`, `compositeWithTrainedAlgorithmicMedia`).
    pub ai_generated: bool,
    /// False unless built with the `c2pa-validate` feature, which checks the store
    /// with the C2PA SDK (c2pa-rs).
    pub validated: bool,
    /// "not validated" (the default build: the claim signature, certificate chain and
    /// hash bindings are not checked; the fields above are what the manifest says);
    /// with `c2pa-validate`: "valid", "valid, trusted signer" or "invalid".
    pub signature: &'static str,
    /// Validation status codes that failed (`assertion.dataHash.mismatch`,
    /// `signingCredential.untrusted`, ...), when validated.
    pub validation_failures: Vec<String>,
    /// What could not be read (the fields above hold what was).
    pub problems: Vec<String>,
}

impl C2pa {
    /// Reads a manifest store (a JUMBF superbox, possibly after a carrier prefix).
    pub fn from_store(channel: &str, data: &[u8]) -> C2pa {
        let mut c = C2pa {
            channel: channel.to_string(),
            bytes: data.len() as u64,
            manifests: Vec::new(),
            active_manifest: None,
            claim_generator: None,
            title: None,
            format: None,
            assertions: Vec::new(),
            actions: Vec::new(),
            digital_source_types: Vec::new(),
            ai_generated: false,
            validated: false,
            signature: "not validated",
            validation_failures: Vec::new(),
            problems: Vec::new(),
        };
        let Some(start) = (0..data.len().min(64)).find(|&i| {
            data.get(i + 4..i + 8) == Some(b"jumb") && data.get(i + 12..i + 16) == Some(b"jumd")
        }) else {
            c.problems
                .push("no JUMBF superbox at the start of the store".into());
            return c;
        };
        let declared = u32::from_be_bytes([
            data[start],
            data[start + 1],
            data[start + 2],
            data[start + 3],
        ]) as usize;
        let avail = data.len() - start;
        if declared > avail {
            c.problems.push(format!(
                "the manifest store declares {declared} bytes, {avail} are there"
            ));
        }
        let end = if declared < 8 {
            avail
        } else {
            declared.min(avail)
        };
        let Some(store) = Super::parse(&data[start + 8..start + end]) else {
            c.problems
                .push("the manifest store's JUMBF boxes are malformed".into());
            return c;
        };
        if store.label.as_deref() != Some("c2pa") {
            c.problems.push(format!(
                "the JUMBF superbox is labelled {:?}, not \"c2pa\"",
                store.label.as_deref().unwrap_or("")
            ));
        }
        let manifests: Vec<Super> = store
            .children
            .iter()
            .filter(|(t, _)| t == b"jumb")
            .filter_map(|(_, b)| Super::parse(b))
            .take(256)
            .collect();
        c.manifests = manifests.iter().filter_map(|m| m.label.clone()).collect();
        let Some(active) = manifests.last() else {
            c.problems.push("the store holds no manifest".into());
            return c;
        };
        c.active_manifest = active.label.clone();
        for (t, b) in &active.children {
            if t != b"jumb" {
                continue;
            }
            let Some(s) = Super::parse(b) else { continue };
            let label = s.label.clone().unwrap_or_default();
            if label == "c2pa.assertions" {
                for (t, b) in &s.children {
                    if t != b"jumb" {
                        continue;
                    }
                    let Some(a) = Super::parse(b) else { continue };
                    let al = a.label.clone().unwrap_or_default();
                    if al.starts_with("c2pa.actions") {
                        match a.content() {
                            Some(v) => c.read_actions(&v),
                            None => c.problems.push(format!("assertion {al} is not readable")),
                        }
                    }
                    if c.assertions.len() < 256 {
                        c.assertions.push(al);
                    }
                }
            } else if label.starts_with("c2pa.claim") {
                match s.content() {
                    Some(v) => c.read_claim(&v),
                    None => c.problems.push(format!("{label} is not readable CBOR")),
                }
            }
        }
        c.ai_generated = c
            .digital_source_types
            .iter()
            .any(|t| AI_SOURCE_TYPES.contains(&t.as_str()));
        c
    }

    /// Validates the store with the C2PA SDK (the `c2pa-validate` feature): signature,
    /// certificate profile, hash bindings. `format` is the report's format name.
    #[cfg(feature = "c2pa-validate")]
    pub fn validate(&mut self, format: &str, stream: impl std::io::Read + std::io::Seek + Send) {
        let mime = match format {
            "png" => "image/png",
            "jpeg" => "image/jpeg",
            "webp" => "image/webp",
            "heif" => "image/heif",
            "mp4" => "video/mp4",
            "wav" => "audio/wav",
            "mp3" => "audio/mpeg",
            _ => return,
        };
        match c2pa::Reader::from_context(c2pa::Context::new()).with_stream(mime, stream) {
            Ok(r) => {
                self.validated = true;
                self.signature = match r.validation_state() {
                    c2pa::ValidationState::Trusted => "valid, trusted signer",
                    c2pa::ValidationState::Valid => "valid",
                    _ => "invalid",
                };
                if let Some(m) = r.validation_results().and_then(|v| v.active_manifest()) {
                    self.validation_failures =
                        m.failure().iter().map(|s| s.code().to_string()).collect();
                }
            }
            Err(e) => self.problems.push(format!("C2PA SDK: {e}")),
        }
    }

    fn read_claim(&mut self, v: &Value) {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        self.title = s("dc:title");
        self.format = s("dc:format");
        self.claim_generator = s("claim_generator").or_else(|| {
            let info = v.get("claim_generator_info")?;
            let first = match info {
                Value::Array(a) => a.first()?,
                o => o,
            };
            agent(first)
        });
    }

    fn read_actions(&mut self, v: &Value) {
        let Some(list) = v.get("actions").and_then(Value::as_array) else {
            self.problems
                .push("the actions assertion has no \"actions\" list".into());
            return;
        };
        for a in list.iter().take(1024) {
            let dst = a
                .get("digitalSourceType")
                .or_else(|| a.get("parameters").and_then(|p| p.get("digitalSourceType")))
                .and_then(Value::as_str)
                .map(|u| u.rsplit('/').next().unwrap_or(u).to_string());
            if let Some(d) = &dst
                && !self.digital_source_types.contains(d)
            {
                self.digital_source_types.push(d.clone());
            }
            self.actions.push(Action {
                action: a
                    .get("action")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                digital_source_type: dst,
                software_agent: a.get("softwareAgent").and_then(agent),
            });
        }
    }
}

/// A software agent or generator: a string, or `{name, version}`.
fn agent(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => {
            let name = o.get("name").and_then(Value::as_str)?;
            Some(match o.get("version").and_then(Value::as_str) {
                Some(ver) => format!("{name} {ver}"),
                None => name.to_string(),
            })
        }
        _ => None,
    }
}

/// The boxes in `b`: (type, body). None when a box runs past the end.
fn boxes(b: &[u8]) -> Option<Vec<([u8; 4], &[u8])>> {
    let mut out = Vec::new();
    let mut p = 0usize;
    while p + 8 <= b.len() {
        let size = u32::from_be_bytes(b[p..p + 4].try_into().ok()?) as u64;
        let ty: [u8; 4] = b[p + 4..p + 8].try_into().ok()?;
        let (head, total) = match size {
            0 => (8u64, (b.len() - p) as u64),
            1 => {
                let x = u64::from_be_bytes(b.get(p + 8..p + 16)?.try_into().ok()?);
                (16, x)
            }
            n => (8, n),
        };
        if total < head || (p as u64).checked_add(total)? > b.len() as u64 {
            return None;
        }
        out.push((ty, &b[p + head as usize..p + total as usize]));
        p += total as usize;
        if out.len() > 4096 {
            return None;
        }
    }
    Some(out)
}

/// A JUMBF superbox: its description (type UUID, label) and the boxes after it.
struct Super<'a> {
    label: Option<String>,
    children: Vec<([u8; 4], &'a [u8])>,
}

impl<'a> Super<'a> {
    fn parse(body: &'a [u8]) -> Option<Super<'a>> {
        let mut bs = boxes(body)?;
        if bs.is_empty() || &bs[0].0 != b"jumd" {
            return None;
        }
        let d = bs.remove(0).1;
        let toggles = *d.get(16)?;
        let label = if toggles & 0x02 != 0 {
            let rest = d.get(17..)?;
            let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
            Some(String::from_utf8_lossy(&rest[..end]).into_owned())
        } else {
            None
        };
        Some(Super {
            label,
            children: bs,
        })
    }

    /// The content of a CBOR or JSON content box.
    fn content(&self) -> Option<Value> {
        for (t, b) in &self.children {
            match t {
                b"cbor" => return Cbor { b, p: 0 }.value(0),
                b"json" => return serde_json::from_slice(b).ok(),
                _ => {}
            }
        }
        None
    }
}

/// A bounded CBOR decoder into JSON values (byte strings become their length,
/// tags are dropped, non-text map keys are written as text).
struct Cbor<'a> {
    b: &'a [u8],
    p: usize,
}

impl Cbor<'_> {
    fn byte(&mut self) -> Option<u8> {
        let c = *self.b.get(self.p)?;
        self.p += 1;
        Some(c)
    }

    fn take(&mut self, n: u64) -> Option<&[u8]> {
        let n = usize::try_from(n).ok()?;
        let s = self.b.get(self.p..self.p.checked_add(n)?)?;
        self.p += n;
        Some(s)
    }

    /// The argument of an initial byte; None for indefinite length (31).
    fn arg(&mut self, info: u8) -> Option<Option<u64>> {
        Some(Some(match info {
            0..=23 => info as u64,
            24 => self.byte()? as u64,
            25 => u16::from_be_bytes(self.take(2)?.try_into().ok()?) as u64,
            26 => u32::from_be_bytes(self.take(4)?.try_into().ok()?) as u64,
            27 => u64::from_be_bytes(self.take(8)?.try_into().ok()?),
            31 => return Some(None),
            _ => return None,
        }))
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > 64 {
            return None;
        }
        let ib = self.byte()?;
        let (major, info) = (ib >> 5, ib & 0x1F);
        if major == 7 {
            return Some(match info {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 | 23 => Value::Null,
                25 => {
                    let h = u16::from_be_bytes(self.take(2)?.try_into().ok()?);
                    serde_json::Number::from_f64(half(h)).map_or(Value::Null, Value::Number)
                }
                26 => {
                    let f = f32::from_be_bytes(self.take(4)?.try_into().ok()?);
                    serde_json::Number::from_f64(f as f64).map_or(Value::Null, Value::Number)
                }
                27 => {
                    let f = f64::from_be_bytes(self.take(8)?.try_into().ok()?);
                    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                }
                0..=19 | 24 => {
                    if info == 24 {
                        self.byte()?;
                    }
                    Value::Null
                }
                _ => return None,
            });
        }
        let arg = self.arg(info)?;
        match major {
            0 => Some(Value::from(arg?)),
            1 => Some(i64::try_from(-1i128 - arg? as i128).map_or(Value::Null, Value::from)),
            2 | 3 => {
                let bytes: Vec<u8> = match arg {
                    Some(n) => self.take(n)?.to_vec(),
                    None => {
                        let mut v = Vec::new();
                        loop {
                            if *self.b.get(self.p)? == 0xFF {
                                self.p += 1;
                                break;
                            }
                            let ib = self.byte()?;
                            if ib >> 5 != major {
                                return None;
                            }
                            let n = self.arg(ib & 0x1F)??;
                            v.extend_from_slice(self.take(n)?);
                        }
                        v
                    }
                };
                Some(if major == 3 {
                    Value::String(String::from_utf8_lossy(&bytes).into_owned())
                } else {
                    serde_json::json!({ "bytes": bytes.len() })
                })
            }
            4 => {
                let mut v = Vec::new();
                for _ in 0..arg.unwrap_or(u64::MAX).min(100_000) {
                    if arg.is_none() && *self.b.get(self.p)? == 0xFF {
                        self.p += 1;
                        return Some(Value::Array(v));
                    }
                    v.push(self.value(depth + 1)?);
                }
                arg.map(|_| Value::Array(v))
            }
            5 => {
                let mut m = Map::new();
                for _ in 0..arg.unwrap_or(u64::MAX).min(100_000) {
                    if arg.is_none() && *self.b.get(self.p)? == 0xFF {
                        self.p += 1;
                        return Some(Value::Object(m));
                    }
                    let k = match self.value(depth + 1)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    let v = self.value(depth + 1)?;
                    m.insert(k, v);
                }
                arg.map(|_| Value::Object(m))
            }
            6 => {
                arg?;
                self.value(depth + 1)
            }
            _ => None,
        }
    }
}

fn half(h: u16) -> f64 {
    let exp = (h >> 10) & 0x1F;
    let mant = (h & 0x3FF) as f64;
    let v = match exp {
        0 => mant * 2f64.powi(-24),
        31 => f64::NAN,
        e => (1.0 + mant / 1024.0) * 2f64.powi(e as i32 - 15),
    };
    if h & 0x8000 != 0 { -v } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cbor_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Cbor { b: &b, p: 0 }.value(0);
        }
    }

    #[test]
    fn cbor_values() {
        // {"a": [1, -2, "x", h'0102', true, null, 1.5], "b": {_ "c": 0}}
        let b = [
            0xA2, 0x61, b'a', 0x87, 0x01, 0x21, 0x61, b'x', 0x42, 1, 2, 0xF5, 0xF6, 0xF9, 0x3E,
            0x00, 0x61, b'b', 0xBF, 0x61, b'c', 0x00, 0xFF,
        ];
        let v = Cbor { b: &b, p: 0 }.value(0).expect("cbor");
        assert_eq!(
            v,
            serde_json::json!({"a": [1, -2, "x", {"bytes": 2}, true, null, 1.5], "b": {"c": 0}})
        );
        // truncated and over-deep input: None, no panic
        assert!(Cbor { b: &b[..10], p: 0 }.value(0).is_none());
        let deep = vec![0x81u8; 1000];
        assert!(Cbor { b: &deep, p: 0 }.value(0).is_none());
    }
}
