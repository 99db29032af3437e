//! Attachment type checks: the declared content type must be one we accept
//! and agree with the file's extension and magic bytes.
//!
//! `text/html` is accepted only for [`AttachmentKind::AssessmentReport`] (the
//! self-contained `report.html` of a `beian assess` run); the server serves
//! it only inside a `sandbox` Content-Security-Policy.

use crate::domain::AttachmentKind;

/// The one content type accepted only for assessment reports.
pub const HTML: &str = "text/html";

const ALLOWED: &[(&str, &[&str])] = &[
    ("application/pdf", &["pdf"]),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &["xlsx"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &["docx"],
    ),
    ("text/csv", &["csv"]),
    ("text/plain", &["txt", "md"]),
    ("application/json", &["json", "jsonl"]),
];

/// Like [`check_type`], for an attachment of `kind`: also accepts `text/html`
/// (`.html`/`.htm`, UTF-8) when `kind` is [`AttachmentKind::AssessmentReport`].
pub fn check_type_for(
    kind: AttachmentKind,
    filename: &str,
    content_type: &str,
    bytes: &[u8],
) -> Result<&'static str, String> {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if ct != HTML {
        return check_type(filename, content_type, bytes);
    }
    if kind != AttachmentKind::AssessmentReport {
        return Err(format!(
            "{HTML} is accepted only for {} attachments",
            AttachmentKind::AssessmentReport
        ));
    }
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if !matches!(ext.as_str(), "html" | "htm") {
        return Err(format!("file extension {ext:?} does not match {HTML}"));
    }
    if std::str::from_utf8(bytes).is_err() {
        return Err(format!("content does not look like {HTML} (not UTF-8)"));
    }
    Ok(HTML)
}

/// Returns the normalised content type, or why the file is refused.
pub fn check_type(
    filename: &str,
    content_type: &str,
    bytes: &[u8],
) -> Result<&'static str, String> {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let Some((canon, exts)) = ALLOWED.iter().find(|(c, _)| *c == ct) else {
        return Err(format!(
            "{content_type:?} is not accepted (PDF, XLSX, DOCX, CSV, TXT, JSON)"
        ));
    };
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if !exts.contains(&ext.as_str()) {
        return Err(format!("file extension {ext:?} does not match {canon}"));
    }
    let magic_ok = match *canon {
        "application/pdf" => bytes.starts_with(b"%PDF-"),
        c if c.contains("openxmlformats") => bytes.starts_with(b"PK\x03\x04"),
        _ => std::str::from_utf8(bytes).is_ok(),
    };
    if !magic_ok {
        return Err(format!("content does not look like {canon}"));
    }
    Ok(canon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_only_for_assessment_reports() {
        let page = b"<!doctype html><p>ok</p>";
        assert_eq!(
            check_type_for(
                AttachmentKind::AssessmentReport,
                "report.html",
                "text/html; charset=utf-8",
                page
            ),
            Ok(HTML)
        );
        let other = check_type_for(AttachmentKind::Other, "report.html", "text/html", page);
        assert!(other.is_err_and(|m| m.contains("assessment-report")));
        assert!(
            check_type_for(
                AttachmentKind::AssessmentReport,
                "report.pdf",
                "text/html",
                page
            )
            .is_err()
        );
        assert!(
            check_type_for(
                AttachmentKind::AssessmentReport,
                "report.html",
                "text/html",
                b"\xff\xfe"
            )
            .is_err()
        );
        // other types still go through the ordinary checks
        assert_eq!(
            check_type_for(
                AttachmentKind::AssessmentReport,
                "run.json",
                "application/json",
                b"{}"
            ),
            Ok("application/json")
        );
    }
}
