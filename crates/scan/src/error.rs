use std::path::PathBuf;

use thiserror::Error;

/// Errors of the IO side of scanning.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ScanError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not valid UTF-8 at byte {offset}", path.display())]
    Utf8 { path: PathBuf, offset: usize },
    #[error("{}: no lexicon files found (looked for .txt, .tsv, .lex, optionally .gz/.zst)", path.display())]
    NoLexiconFiles { path: PathBuf },
    #[error(transparent)]
    Screen(#[from] beian_screen::ScreenError),
    #[error("{0}")]
    Input(String),
    #[error("{}: {message}", path.display())]
    Sheet { path: PathBuf, message: String },
    #[error("knowledge base: {0}")]
    Kb(String),
}
