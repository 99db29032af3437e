//! Lexicon parsing: plain lists (one term per line) and TSV
//! `term<TAB>risk[<TAB>severity[<TAB>action[<TAB>weight]]]`, with `re:`
//! entries. `weight` (0 to 1) is written by `beian lexicon audit`.

use crate::ScreenError;

/// One usable line of a lexicon.
#[derive(Debug, Clone, PartialEq)]
pub struct LexiconLine {
    /// 1-based line number in the source.
    pub line: usize,
    /// The term as written (trimmed), without a `re:` prefix.
    pub term: String,
    /// Risk code from the TSV column, if any.
    pub risk: Option<String>,
    pub severity: Option<String>,
    pub action: Option<String>,
    /// The term is a regular expression (`re:` prefix).
    pub regex: bool,
    /// Audited specificity (fifth TSV column), 0 to 1.
    pub weight: Option<f32>,
}

/// A [`LexiconLine`] borrowed from the lexicon's text (the engine builder
/// reads these: no allocation per line).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LineRef<'a> {
    pub line: usize,
    pub term: &'a str,
    pub risk: Option<&'a str>,
    pub severity: Option<&'a str>,
    pub action: Option<&'a str>,
    pub regex: bool,
    pub weight: Option<f32>,
}

impl LineRef<'_> {
    fn to_owned_line(self) -> LexiconLine {
        LexiconLine {
            line: self.line,
            term: self.term.to_owned(),
            risk: self.risk.map(str::to_owned),
            severity: self.severity.map(str::to_owned),
            action: self.action.map(str::to_owned),
            regex: self.regex,
            weight: self.weight,
        }
    }
}

/// A lexicon's lines, parsed and borrowed from its text: what
/// [`EngineBuilder::lexicon_parsed`](crate::EngineBuilder::lexicon_parsed)
/// adds. Parsing is the part of loading a lexicon that needs no builder, so
/// several files can be parsed on several threads and then added in order:
/// the builder ends the same as with
/// [`EngineBuilder::lexicon_text`](crate::EngineBuilder::lexicon_text) file
/// by file.
///
/// ```
/// use beian_screen::{EngineBuilder, ParsedLexicon};
/// let texts = [("a.txt", "甲乙\n丙丁\n"), ("b.tsv", "戊己\tA.1.a\n")];
/// let parsed: Vec<ParsedLexicon> = std::thread::scope(|s| {
///     let hs: Vec<_> = texts
///         .iter()
///         .map(|&(name, text)| s.spawn(move || ParsedLexicon::parse(name, text)))
///         .collect();
///     hs.into_iter().map(|h| h.join().unwrap().unwrap()).collect()
/// });
/// let mut b = EngineBuilder::new();
/// for p in &parsed {
///     b.lexicon_parsed(p, None).unwrap();
/// }
/// assert_eq!(b.len(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct ParsedLexicon<'a> {
    pub(crate) source_name: String,
    pub(crate) lines: Vec<LineRef<'a>>,
}

impl<'a> ParsedLexicon<'a> {
    /// Parses `text` (read from `source_name`) as [`parse_lexicon`] does,
    /// with the same errors.
    pub fn parse(source_name: &str, text: &'a str) -> Result<ParsedLexicon<'a>, ScreenError> {
        Ok(ParsedLexicon {
            source_name: source_name.to_owned(),
            lines: parse_lexicon_ref(source_name, text)?,
        })
    }

    /// The name the lexicon was parsed under.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Usable lines (blank lines, comments and a header left out;
    /// duplicates kept).
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// Parses lexicon contents. Handles a UTF-8 BOM, CRLF, blank lines and a
/// `term<TAB>risk...` header line; duplicates are kept here (the engine
/// builder removes them). Lines starting with `#!` are comments.
pub fn parse_lexicon(source_name: &str, text: &str) -> Result<Vec<LexiconLine>, ScreenError> {
    Ok(parse_lexicon_ref(source_name, text)?
        .into_iter()
        .map(LineRef::to_owned_line)
        .collect())
}

/// [`parse_lexicon`], borrowing from `text`.
pub(crate) fn parse_lexicon_ref<'a>(
    source_name: &str,
    text: &'a str,
) -> Result<Vec<LineRef<'a>>, ScreenError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // One line per break and a last one: counted first (one vectorized
    // pass), so that the lines fill one allocation.
    let mut out = Vec::with_capacity(memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1);
    let mut from = 0usize;
    // Line breaks found a block at a time (most lines are a few bytes).
    let breaks = memchr::memchr_iter(b'\n', text.as_bytes()).chain(std::iter::once(text.len()));
    for (idx, end) in breaks.enumerate() {
        let line_no = idx + 1;
        let raw = text.get(from..end).unwrap_or("");
        from = end + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let line = raw.trim_matches(|c: char| c == ' ' || c == '\u{feff}' || c == '\u{3000}');
        if line.trim().is_empty() || line.starts_with("#!") {
            continue;
        }
        // Most lines are a bare term: no field to split.
        let (term, risk, severity, action, weight) = if line.as_bytes().contains(&b'\t') {
            let mut fields = line.split('\t');
            let term = fields.next().unwrap_or("").trim();
            (
                term,
                non_empty(fields.next()),
                non_empty(fields.next()),
                non_empty(fields.next()),
                non_empty(fields.next()),
            )
        } else {
            (line.trim(), None, None, None, None)
        };
        let weight = match weight {
            None => None,
            Some(w) => match w.parse::<f32>() {
                Ok(x) if (0.0..=1.0).contains(&x) => Some(x),
                _ => {
                    return Err(ScreenError::BadLine {
                        source_name: source_name.to_owned(),
                        line: line_no,
                        message: format!("weight {w:?} is not a number from 0 to 1"),
                    });
                }
            },
        };
        if term.is_empty() {
            return Err(ScreenError::BadLine {
                source_name: source_name.to_owned(),
                line: line_no,
                message: "empty term before a tab".into(),
            });
        }
        if out.is_empty() && term.eq_ignore_ascii_case("term") && risk == Some("risk") {
            continue; // header
        }
        let (term, regex) = match term.strip_prefix("re:") {
            Some(rest) if !rest.is_empty() => (rest, true),
            _ => (term, false),
        };
        out.push(LineRef {
            line: line_no,
            term,
            risk,
            severity,
            action,
            regex,
            weight,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_crlf_blank_tsv_header() {
        let t = "\u{feff}term\trisk\r\n甲乙\r\n\r\n丙丁\tA.1.a\thigh\tblock\r\nre:\\d{3}\tA.4.f\n";
        let l = parse_lexicon("x", t).expect("test setup");
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].term, "甲乙");
        assert_eq!(l[0].line, 2);
        assert_eq!(l[1].risk.as_deref(), Some("A.1.a"));
        assert_eq!(l[1].severity.as_deref(), Some("high"));
        assert_eq!(l[1].action.as_deref(), Some("block"));
        assert!(l[2].regex);
        assert_eq!(l[2].term, "\\d{3}");
    }

    #[test]
    fn line_numbers_count_every_break_and_a_last_line_without_one() {
        let t = "甲乙\n\n\u{3000}丙 丁 \r\n#! note\n戊己\tA.2.b\t\t\t0.5\n庚辛";
        let l = parse_lexicon("x", t).expect("test setup");
        let got: Vec<(usize, &str, Option<&str>)> = l
            .iter()
            .map(|x| (x.line, x.term.as_str(), x.risk.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (1, "甲乙", None),
                (3, "丙 丁", None),
                (5, "戊己", Some("A.2.b")),
                (6, "庚辛", None)
            ]
        );
        assert_eq!(l[2].weight, Some(0.5));
        assert_eq!(l[2].action, None);
    }

    #[test]
    fn empty_term_with_tab_is_an_error() {
        let e = parse_lexicon("f.tsv", "ok\n\tA.1.a\n").expect_err("must fail");
        assert!(e.to_string().contains("f.tsv line 2"), "{e}");
    }
}
