//! beian-scan: the IO side of `beian scan`.
//!
//! - [`input`]: files, directories, stdin; text, JSONL, CSV, TSV, Parquet;
//!   gzip and zstd; per-record errors that name source, record and byte.
//! - [`pipeline`]: parallel, bounded-memory screening with output in input order.
//! - [`sample`]: reproducible sampling, review sheets (CSV, XLSX) and review.
//! - [`lexicon`]: lexicon files into an engine builder; statistics against
//!   the keyword-library minimums of the knowledge base.
//! - [`lexicon_cache`]: engines built from source lexicons, kept on disk
//!   compiled, so the next run with the same files loads instead of builds.

mod engine_load;
mod error;
pub mod input;
pub mod lexicon;
pub mod lexicon_cache;
mod parquet_in;
pub mod pipeline;
pub mod progress;
pub mod sample;

pub use engine_load::{
    CompiledLoadError, EngineSpec, build_engine, build_engine_reporting, compile_lexicons,
    is_compiled_file, load_compiled,
};
pub use error::ScanError;
pub use lexicon::{
    LexiconMap, LexiconMapEntry, LexiconStats, LoadedFile, is_doc_file, keyword_sheet_stats,
    keyword_sheet_terms, lexicon_maps, lexicon_stats, load_allow_files, load_lexicon_files,
    looks_like_prose, risk_for_file_name,
};
pub use lexicon_cache::{Built, CacheUse, LexiconCache, build_engine_cached};
