//! beian-screen: the screening engine behind `beian scan`.
//!
//! No IO. Lexicons are given as `&str` contents; the engine is built once
//! ([`EngineBuilder::build`]) and is `Send + Sync`, so one engine serves all
//! threads. Text is normalized character by character (width and
//! compatibility forms, case, traditional to simplified Chinese, digit
//! variants and Chinese numerals, bounded separator skipping) and run through
//! a charwise double-array Aho-Corasick automaton (daachorse), gated by a
//! Bloom table of the character pairs in patterns so that it runs only where
//! a match may end; pinyin variants of Chinese terms run in a second automaton over
//! ASCII. Every finding points at the exact bytes of the original record:
//! `matched == &record[start..end]`.
//!
//! ```
//! use beian_screen::EngineBuilder;
//! let mut b = EngineBuilder::new();
//! b.lexicon_text("demo.txt", "法轮功\n", Some("A.1.a"))?;
//! let engine = b.build()?;
//! let text = "他们在练 法.輪.功 吗";
//! let f = engine.find(text);
//! assert_eq!(f.len(), 1);
//! assert_eq!(&text[f[0].start..f[0].end], "法.輪.功");
//! assert_eq!(&*f[0].term, "法轮功");
//! assert_eq!(&*f[0].risk, "A.1.a");
//! # Ok::<(), beian_screen::ScreenError>(())
//! ```

mod bigram;
mod detect;
mod engine;
mod error;
mod lexicon;
mod normalize;
mod sound;

pub use detect::{Detector, luhn_valid, resident_id_valid, uscc_valid};
pub use engine::compiled::{COMPILED_FORMAT, engine_fingerprint, is_compiled};
pub use engine::{
    BuildStats, Engine, EngineBuilder, Entry, Finding, Hit, HitKind, Scratch, Via, mask_text,
    span_groups,
};
pub use error::ScreenError;
pub use lexicon::{LexiconLine, ParsedLexicon, parse_lexicon};
pub use normalize::{CharMap, Normalized, Options};

/// Whether this process has loaded OpenCC's traditional-to-simplified
/// tables (tens of milliseconds). With the default options neither a build
/// nor a scan needs them: the embedded table and compiled lexicons carry
/// every result that would. For tests.
#[doc(hidden)]
pub fn opencc_loaded() -> bool {
    normalize::opencc_loaded()
}

/// Risk code given to lexicon entries that have none.
pub const UNCLASSIFIED: &str = "unclassified";
