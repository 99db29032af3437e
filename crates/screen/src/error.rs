use thiserror::Error;

/// Errors from building a screening engine.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ScreenError {
    /// A lexicon contained no usable term.
    #[error("lexicon {source_name}: no terms (empty or only blank lines)")]
    EmptyLexicon { source_name: String },
    /// A `re:` entry is not a valid regular expression.
    #[error("lexicon {source_name} line {line}: invalid regular expression {pattern:?}: {message}")]
    BadRegex {
        source_name: String,
        line: usize,
        pattern: String,
        message: String,
    },
    /// A TSV line is malformed (for example an empty term).
    #[error("lexicon {source_name} line {line}: {message}")]
    BadLine {
        source_name: String,
        line: usize,
        message: String,
    },
    /// No lexicon, detector or regular expression was given.
    #[error("nothing to screen for: no lexicon terms, regular expressions or detectors")]
    NothingToMatch,
    /// The automaton could not be built.
    #[error("building the automaton failed: {0}")]
    Automaton(String),
    /// A compiled lexicon is stale, foreign or damaged.
    #[error("compiled lexicon: {0}")]
    Compiled(String),
    /// The traditional-to-simplified tables could not be loaded.
    #[error("loading the OpenCC tables failed: {0}")]
    OpenCc(String),
}
