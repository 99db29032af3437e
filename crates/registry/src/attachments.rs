//! Attachment type checks: the declared content type must be one we accept
//! and agree with the file's extension and magic bytes.

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
