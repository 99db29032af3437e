//! The service profile: facts about one AI service, validated against the schema in
//! `kb/profile.toml`. Accepts TOML, JSON or YAML. Unknown keys and wrong types are
//! errors that name the file, the line and the key (and suggest the closest key).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One field of the profile schema.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FieldSpec {
    pub key: String,
    /// bool | string | integer | number | date | country | enum | enum-list | string-list
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub values: Vec<String>,
    /// The values in Chinese, in the order of `values` (for output in Chinese).
    #[serde(default)]
    pub values_zh: Vec<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<toml::Value>,
    pub zh: String,
    pub en: String,
    #[serde(default)]
    pub help_en: String,
    #[serde(default)]
    pub help_zh: String,
}

impl FieldSpec {
    /// Human description of the expected type.
    pub fn expected(&self) -> String {
        match self.ty.as_str() {
            "bool" => "a boolean (true or false)".into(),
            "string" => "a string".into(),
            "integer" => "a non-negative integer".into(),
            "number" => "a non-negative number".into(),
            "date" => "a date string YYYY-MM-DD".into(),
            "country" => "an ISO 3166-1 alpha-2 code such as \"CN\"".into(),
            "enum" => format!("one of {}", quoted(&self.values)),
            "enum-list" => format!("a list of {}", quoted(&self.values)),
            "string-list" => "a list of strings".into(),
            other => format!("a value of type {other}"),
        }
    }

    fn default_json(&self) -> Value {
        match &self.default {
            Some(v) => serde_json::to_value(v).unwrap_or(Value::Null),
            None => Value::Null,
        }
    }
}

fn quoted(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The profile schema (`kb/profile.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileSchema {
    pub version: String,
    #[serde(rename = "field")]
    pub fields: Vec<FieldSpec>,
}

impl ProfileSchema {
    pub(crate) fn parse(text: &str, path: &str) -> Result<ProfileSchema, crate::KbError> {
        let s: ProfileSchema = toml::from_str(text).map_err(|e| crate::KbError::parse(path, e))?;
        for f in &s.fields {
            if !f.required && f.default.is_none() {
                return Err(crate::KbError::invalid(
                    path,
                    format!("field {} is optional but has no default", f.key),
                ));
            }
        }
        Ok(s)
    }

    /// The embedded schema.
    pub fn embedded() -> Result<ProfileSchema, crate::KbError> {
        ProfileSchema::parse(crate::embedded_str("profile.toml")?, "kb/profile.toml")
    }

    /// The spec of one key.
    pub fn field(&self, key: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// The valid key closest to `key`, if any is close enough to suggest.
    pub fn suggest(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .map(|f| {
                (
                    strsim::normalized_damerau_levenshtein(key, &f.key),
                    f.key.as_str(),
                )
            })
            .filter(|(score, _)| *score >= 0.5)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k)
            .or_else(|| {
                // a key that contains or is contained in a valid key
                self.fields
                    .iter()
                    .find(|f| f.key.contains(key) || key.contains(f.key.as_str()))
                    .map(|f| f.key.as_str())
            })
    }
}

/// The format of a profile file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileFormat {
    Toml,
    Json,
    Yaml,
}

impl ProfileFormat {
    /// Guess from a file name's extension.
    pub fn from_path(path: &Path) -> Option<ProfileFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "toml" => Some(ProfileFormat::Toml),
            "json" => Some(ProfileFormat::Json),
            "yaml" | "yml" => Some(ProfileFormat::Yaml),
            _ => None,
        }
    }
}

/// An invalid profile: names the file, the line (when known) and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ProfileError {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl ProfileError {
    fn render(&self) -> String {
        let mut s = self.file.clone();
        if let Some(l) = self.line {
            s.push_str(&format!(":{l}"));
            if let Some(c) = self.column {
                s.push_str(&format!(":{c}"));
            }
        }
        s.push_str(": ");
        if let Some(k) = &self.key {
            s.push_str(&format!("key `{k}`: "));
        }
        s.push_str(&self.message);
        s
    }
}

/// A validated service profile. Every schema key is present (defaults filled in).
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    values: Map<String, Value>,
    assumed: Vec<String>,
    origin: String,
}

impl Profile {
    /// Reads and validates a profile file (format from the extension: .toml, .json, .yaml, .yml).
    pub fn from_path(path: &Path, schema: &ProfileSchema) -> Result<Profile, ProfileError> {
        let origin = path.display().to_string();
        let format = ProfileFormat::from_path(path).ok_or_else(|| ProfileError {
            file: origin.clone(),
            line: None,
            column: None,
            key: None,
            message: "unknown profile format: use a .toml, .json, .yaml or .yml file".into(),
        })?;
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
            file: origin.clone(),
            line: None,
            column: None,
            key: None,
            message: format!("cannot read file: {e}"),
        })?;
        Profile::from_text(&text, format, &origin, schema)
    }

    /// Parses and validates profile text. `origin` names the source in errors.
    pub fn from_text(
        text: &str,
        format: ProfileFormat,
        origin: &str,
        schema: &ProfileSchema,
    ) -> Result<Profile, ProfileError> {
        let syntax = |line: Option<usize>, column: Option<usize>, message: String| ProfileError {
            file: origin.to_string(),
            line,
            column,
            key: None,
            message,
        };
        let value: Value = match format {
            ProfileFormat::Json => serde_json::from_str(text).map_err(|e| {
                syntax(
                    Some(e.line()),
                    Some(e.column()),
                    format!("malformed JSON: {e}"),
                )
            })?,
            ProfileFormat::Toml => {
                let v: toml::Value = toml::from_str(text).map_err(|e| {
                    let (line, col) = e
                        .span()
                        .map(|s| line_col(text, s.start))
                        .map_or((None, None), |(l, c)| (Some(l), Some(c)));
                    syntax(line, col, format!("malformed TOML: {}", e.message()))
                })?;
                serde_json::to_value(v).map_err(|e| syntax(None, None, e.to_string()))?
            }
            ProfileFormat::Yaml => {
                let v: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
                    let loc = e.location();
                    syntax(
                        loc.as_ref().map(|l| l.line()),
                        loc.as_ref().map(|l| l.column()),
                        format!("malformed YAML: {e}"),
                    )
                })?;
                serde_json::to_value(v)
                    .map_err(|e| syntax(None, None, format!("unsupported YAML value: {e}")))?
            }
        };
        Profile::from_value(value, Some(text), origin, schema)
    }

    /// Validates a JSON value (for API callers). `text`, when given, is used to find lines.
    pub fn from_value(
        value: Value,
        text: Option<&str>,
        origin: &str,
        schema: &ProfileSchema,
    ) -> Result<Profile, ProfileError> {
        let err = |key: &str, message: String| ProfileError {
            file: origin.to_string(),
            line: text.and_then(|t| find_key_line(t, key)),
            column: None,
            key: Some(key.to_string()),
            message,
        };
        let Value::Object(map) = value else {
            return Err(ProfileError {
                file: origin.to_string(),
                line: None,
                column: None,
                key: None,
                message: "a profile must be a table/object of keys".into(),
            });
        };
        let mut values = Map::new();
        for (key, v) in &map {
            let Some(spec) = schema.field(key) else {
                let hint = match schema.suggest(key) {
                    Some(s) => format!("unknown key; did you mean `{s}`?"),
                    None => "unknown key".to_string(),
                };
                return Err(err(key, hint));
            };
            let checked = check_value(spec, v).map_err(|m| err(key, m))?;
            values.insert(key.clone(), checked);
        }
        let mut assumed = Vec::new();
        for spec in &schema.fields {
            if values.contains_key(&spec.key) {
                continue;
            }
            if spec.required {
                return Err(ProfileError {
                    file: origin.to_string(),
                    line: None,
                    column: None,
                    key: Some(spec.key.clone()),
                    message: format!("required key is missing (expected {})", spec.expected()),
                });
            }
            values.insert(spec.key.clone(), spec.default_json());
            assumed.push(spec.key.clone());
        }
        Ok(Profile {
            values,
            assumed,
            origin: origin.to_string(),
        })
    }

    /// The service name.
    pub fn name(&self) -> &str {
        self.values
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Where the profile came from (file path or label).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Keys absent from the input, filled with their defaults.
    pub fn assumed(&self) -> &[String] {
        &self.assumed
    }

    /// One value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// A boolean value (false when absent).
    pub fn flag(&self, key: &str) -> bool {
        self.values
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// All values as a JSON object: the policy input.
    pub fn to_json(&self) -> Value {
        Value::Object(self.values.clone())
    }

    /// `key = value` rendering of one fact, for reasons.
    pub fn fact(&self, key: &str) -> String {
        match self.values.get(key) {
            Some(Value::String(s)) => format!("{key} = \"{s}\""),
            Some(v) => format!("{key} = {v}"),
            None => format!("{key} (absent)"),
        }
    }
}

fn check_value(spec: &FieldSpec, v: &Value) -> Result<Value, String> {
    let found = describe(v);
    let wrong = || format!("expected {}, found {found}", spec.expected());
    match spec.ty.as_str() {
        "bool" => v.as_bool().map(Value::Bool).ok_or_else(wrong),
        "string" => v
            .as_str()
            .map(|s| Value::String(s.to_string()))
            .ok_or_else(wrong),
        "integer" => match v {
            Value::Number(n) if n.as_u64().is_some() => Ok(v.clone()),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 9.0e18 => Ok(Value::from(f as u64)),
                _ => Err(wrong()),
            },
            _ => Err(wrong()),
        },
        "number" => match v.as_f64() {
            Some(f) if f >= 0.0 && f.is_finite() => Ok(v.clone()),
            _ => Err(wrong()),
        },
        "date" => {
            let s = v.as_str().ok_or_else(wrong)?;
            if s.is_empty() || chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
                Ok(v.clone())
            } else {
                Err(format!("expected {}, found \"{s}\"", spec.expected()))
            }
        }
        "country" => {
            let s = v.as_str().ok_or_else(wrong)?;
            if s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
                Ok(Value::String(s.to_ascii_uppercase()))
            } else {
                Err(format!("expected {}, found \"{s}\"", spec.expected()))
            }
        }
        "enum" => {
            let s = v.as_str().ok_or_else(wrong)?;
            if spec.values.iter().any(|x| x == s) {
                Ok(v.clone())
            } else {
                Err(enum_error(spec, s))
            }
        }
        "enum-list" | "string-list" => {
            let items = v.as_array().ok_or_else(wrong)?;
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let s = item.as_str().ok_or_else(|| {
                    format!("item {} must be a string, found {}", i + 1, describe(item))
                })?;
                if spec.ty == "enum-list" && !spec.values.iter().any(|x| x == s) {
                    return Err(format!("item {}: {}", i + 1, enum_error(spec, s)));
                }
                if !out.iter().any(|x: &Value| x.as_str() == Some(s)) {
                    out.push(Value::String(s.to_string()));
                }
            }
            Ok(Value::Array(out))
        }
        other => Err(format!("schema error: unknown type {other}")),
    }
}

fn enum_error(spec: &FieldSpec, s: &str) -> String {
    let near = spec
        .values
        .iter()
        .map(|x| (strsim::normalized_damerau_levenshtein(s, x), x))
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, x)| format!("; did you mean \"{x}\"?"))
        .unwrap_or_default();
    format!("\"{s}\" is not one of {}{near}", quoted(&spec.values))
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string \"{s}\""),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a table".into(),
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, col)
}

/// The 1-based line where `key` appears as a key (`key =`, `"key":`, `key:`).
fn find_key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let t = line.trim_start().trim_start_matches(['"', '\'']);
            t.strip_prefix(key).is_some_and(|rest| {
                let rest = rest.trim_start_matches(['"', '\'']).trim_start();
                rest.starts_with('=') || rest.starts_with(':')
            })
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> ProfileSchema {
        ProfileSchema::embedded().unwrap()
    }

    #[test]
    fn unknown_key_names_line_and_suggests() {
        let text = "name = \"x\"\npublic_facng = true\n";
        let e = Profile::from_text(text, ProfileFormat::Toml, "p.toml", &schema()).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.key.as_deref(), Some("public_facng"));
        assert!(
            e.to_string().contains("did you mean `public_facing`"),
            "{e}"
        );
        assert!(e.to_string().starts_with("p.toml:2: "), "{e}");
    }

    #[test]
    fn wrong_type_names_expected_type() {
        let text = "{\n  \"name\": \"x\",\n  \"generative\": \"yes\"\n}";
        let e = Profile::from_text(text, ProfileFormat::Json, "p.json", &schema()).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("expected a boolean"), "{e}");
        assert!(e.message.contains("string \"yes\""), "{e}");
    }

    #[test]
    fn yaml_enum_list_and_defaults() {
        let text = "name: feed\nalgorithm_types: [personalized-push, sorting-selection]\n";
        let p = Profile::from_text(text, ProfileFormat::Yaml, "p.yaml", &schema()).unwrap();
        assert_eq!(
            p.get("algorithm_types").unwrap().as_array().unwrap().len(),
            2
        );
        assert!(p.assumed().iter().any(|k| k == "public_facing"));
        assert!(!p.flag("public_facing"));
    }

    #[test]
    fn bad_enum_suggests_value() {
        let text = "name = \"x\"\nrole = \"service_provider\"\n";
        let e = Profile::from_text(text, ProfileFormat::Toml, "p.toml", &schema()).unwrap_err();
        assert!(
            e.message.contains("did you mean \"service-provider\""),
            "{e}"
        );
    }

    #[test]
    fn malformed_toml_has_line() {
        let text = "name = \"x\"\ngenerative = = true\n";
        let e = Profile::from_text(text, ProfileFormat::Toml, "p.toml", &schema()).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn integer_accepts_float_written_integers_for_compute() {
        let text = "name = \"x\"\ntraining_compute_flops = 1e25\nparameters = 7000000000\n";
        let p = Profile::from_text(text, ProfileFormat::Toml, "p.toml", &schema()).unwrap();
        assert_eq!(
            p.get("training_compute_flops").unwrap().as_f64(),
            Some(1e25)
        );
        let text = "name = \"x\"\nregistered_users = -3\n";
        assert!(Profile::from_text(text, ProfileFormat::Toml, "p.toml", &schema()).is_err());
    }
}
