//! The one place where a service profile meets the classifier
//! (`beian-classify`, regime `cn-current`). The classification attached to a
//! service is `{"classifier", "regime", "filings": [kinds…], "report": {…}}`.

use std::sync::OnceLock;

use beian_classify::{Classifier, Lang};
use beian_kb::Profile;
use serde_json::{Value, json};

/// The regime a registry classifies against.
pub const REGIME: &str = "cn-current";

fn classifier() -> Result<&'static Classifier, String> {
    static C: OnceLock<Result<Classifier, String>> = OnceLock::new();
    C.get_or_init(|| Classifier::embedded().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// Why a profile cannot be classified: (field, message).
pub type ProfileProblem = (String, String);

/// Validates `profile` and classifies it. Invalid profiles name the key.
pub fn classify_profile(profile: &Value) -> Result<Value, ProfileProblem> {
    let c = classifier().map_err(|e| {
        (
            "profile".to_string(),
            format!("classifier unavailable: {e}"),
        )
    })?;
    let p = Profile::from_value(profile.clone(), None, "profile", c.kb().profile_schema())
        .map_err(|e| {
            let field = e
                .key
                .as_ref()
                .map(|k| format!("profile.{k}"))
                .unwrap_or_else(|| "profile".to_string());
            (field, e.message.clone())
        })?;
    let report = c
        .classify(&p, &[REGIME], Lang::En)
        .map_err(|e| ("profile".to_string(), e.to_string()))?;
    let filings: Vec<&str> = report
        .results
        .iter()
        .flat_map(|r| r.filings.iter().map(|f| f.kind.as_str()))
        .collect();
    Ok(json!({
        "classifier": "beian-classify",
        "regime": REGIME,
        "filings": filings,
        "report": report,
    }))
}

/// Filing kinds a classification calls for.
pub fn required_kinds(classification: &Value) -> Option<Vec<String>> {
    classification
        .get("filings")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .or_else(|| v.get("kind").and_then(Value::as_str).map(str::to_string))
                })
                .collect()
        })
}
