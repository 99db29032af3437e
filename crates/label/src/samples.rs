//! Checking sample outputs attached to a filing (pure: bytes in, verdicts out).

use serde::Serialize;

use crate::verify::{Verdict, verify_bytes};

/// File name extensions of media samples whose implicit labels can be checked.
pub const SAMPLE_EXTENSIONS: &[&str] = &[
    ".png", ".jpg", ".jpeg", ".webp", ".heic", ".heif", ".avif", ".mp4", ".mov", ".m4a", ".m4v",
    ".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus",
];

/// Whether a file name looks like a media sample (by extension).
pub fn is_sample_name(name: &str) -> bool {
    let n = name.to_lowercase();
    SAMPLE_EXTENSIONS.iter().any(|e| n.ends_with(e))
}

/// One sample's result.
#[derive(Debug, Clone, Serialize)]
pub struct SampleResult {
    /// The attachment's file name.
    pub name: String,
    /// Detected format.
    pub format: &'static str,
    /// Verdict.
    pub verdict: Verdict,
    /// Problems (empty when compliant).
    pub problems: Vec<String>,
}

/// The result over all samples.
#[derive(Debug, Clone, Serialize)]
pub struct SamplesCheck {
    /// Samples in a format that carries labels (images, audio, video, text).
    pub checked: usize,
    /// Of those, compliant.
    pub compliant: usize,
    /// Every checked sample is compliant and there is at least one.
    pub passed: bool,
    /// Per sample, in the order given (samples of unknown format are listed as
    /// `inconclusive` and do not count as checked).
    pub files: Vec<SampleResult>,
}

/// Verifies sample outputs: each must carry a compliant GB 45438 label (implicit
/// metadata for media; the explicit notice for text files).
pub fn check(samples: &[(&str, &[u8])]) -> SamplesCheck {
    let mut files = Vec::with_capacity(samples.len());
    let (mut checked, mut compliant) = (0, 0);
    for (name, bytes) in samples {
        let r = verify_bytes(name, bytes);
        if r.format != "unknown" {
            checked += 1;
            compliant += usize::from(r.verdict == Verdict::Compliant);
        }
        files.push(SampleResult {
            name: name.to_string(),
            format: r.format,
            verdict: r.verdict,
            problems: r.problems,
        });
    }
    SamplesCheck {
        checked,
        compliant,
        passed: checked > 0 && checked == compliant,
        files,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EmbedOptions, Label, embed_bytes};

    #[test]
    fn samples() {
        let png = [
            137u8, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1, 0, 0, 0, 1,
            8, 0, 0, 0, 0, 58, 126, 155, 85, 0, 0, 0, 10, 73, 68, 65, 84, 120, 156, 99, 96, 0, 0,
            0, 2, 0, 1, 229, 39, 222, 252, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
        ];
        let label = Label {
            label: "1".into(),
            content_producer: "P".into(),
            produce_id: "1".into(),
            ..Label::default()
        };
        let good = embed_bytes(&png, &EmbedOptions::new(label)).expect("embed");
        let c = check(&[
            ("a.png", &good),
            ("b.txt", "本内容由人工智能生成\n\n你好".as_bytes()),
        ]);
        assert!(c.passed, "{c:?}");
        let c = check(&[("a.png", &good), ("c.png", &png)]);
        assert!(!c.passed);
        assert_eq!(c.files[1].verdict, Verdict::NotFound);
        assert!(!check(&[]).passed);
    }
}
