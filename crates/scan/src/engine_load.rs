//! Building the screening engine from `--lexicon` arguments: lexicon files
//! and directories, or one compiled lexicon (`beian lexicon compile`).

use std::io::Read;
use std::path::{Path, PathBuf};

use beian_screen::{Detector, Engine, EngineBuilder, Options, is_compiled};

use crate::ScanError;

/// What the command line asks for.
#[derive(Debug, Clone)]
pub struct EngineSpec<'a> {
    /// `--lexicon` paths: source files and directories, or one compiled file.
    pub lexicons: &'a [PathBuf],
    /// `--allow` files.
    pub allow: &'a [PathBuf],
    /// `--risk`: the risk of terms that have none.
    pub risk: Option<&'a str>,
    /// Matching options.
    pub options: Options,
    /// Detectors to run.
    pub detectors: &'a [Detector],
}

/// Whether `path` is a compiled lexicon (by its first bytes). Only a
/// regular file is looked into: the bytes read from a pipe (`--lexicon
/// <(zcat words.txt.gz)`) would be gone for the loader.
pub fn is_compiled_file(path: &Path) -> bool {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut head = [0u8; 8];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && is_compiled(&head)
}

/// Builds the engine: from source lexicons, or by loading a compiled one
/// (which must then be the only `--lexicon`, with no `--allow` or `--risk`,
/// and the same matching options it was compiled with).
pub fn build_engine(spec: &EngineSpec<'_>) -> Result<Engine, ScanError> {
    build_engine_reporting(spec).map(|(engine, _)| engine)
}

/// [`build_engine`], with what each source lexicon file gave (new entries,
/// files skipped and why, unknown risk codes): empty for a compiled lexicon.
pub fn build_engine_reporting(
    spec: &EngineSpec<'_>,
) -> Result<(Engine, Vec<crate::LoadedFile>), ScanError> {
    if let Some(c) = spec.lexicons.iter().find(|p| is_compiled_file(p)) {
        let name = c.display();
        if spec.lexicons.len() != 1 {
            return Err(ScanError::Input(format!(
                "{name}: a compiled lexicon must be the only --lexicon (compile them together with `beian lexicon compile`)"
            )));
        }
        if !spec.allow.is_empty() || spec.risk.is_some() {
            return Err(ScanError::Input(format!(
                "{name}: a compiled lexicon already holds its allow-lists and risks; give --allow and --risk to `beian lexicon compile`"
            )));
        }
        let bytes = read_whole(c).map_err(|source| ScanError::Io {
            path: c.clone(),
            source,
        })?;
        let engine = load_compiled(&bytes, &spec.options, spec.detectors).map_err(|e| {
            ScanError::Input(match e {
                CompiledLoadError::Bytes(e) => format!("{name}: {e}"),
                CompiledLoadError::Options(d) => format!(
                    "{name}: compiled with other matching options than asked for now (compiled, not asked: {}): recompile it with the same flags, or drop them",
                    d.join("; ")
                ),
            })
        })?;
        return Ok((engine, Vec::new()));
    }
    let mut b = EngineBuilder::new();
    // The normalization table builds while the lexicon files are read.
    b.options(spec.options).warm_up().no_detectors();
    for &d in spec.detectors {
        b.detector(d, true, None);
    }
    let loaded = crate::load_lexicon_files(&mut b, spec.lexicons, spec.risk)?;
    if !spec.allow.is_empty() {
        crate::load_allow_files(&mut b, spec.allow)?;
    }
    Ok((b.into_engine()?, loaded))
}

/// A file's bytes. A large one is read in parts on scoped threads (at most
/// four, one per core), each into its own part of one buffer: the kernel's
/// copy and the faulting-in of the new buffer's pages, most of a compiled
/// lexicon's read, then run side by side. A file that changes size while
/// it is read is an error (`UnexpectedEof`) or read to its first length.
pub(crate) fn read_whole(path: &Path) -> std::io::Result<Vec<u8>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::open(path)?;
        let len = usize::try_from(f.metadata()?.len()).unwrap_or(usize::MAX);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        if threads > 1 && len >= 4 << 20 {
            // Zeroed by the allocator with fresh pages: nothing touched yet.
            let mut buf = vec![0u8; len];
            let part = len.div_ceil(threads);
            std::thread::scope(|s| {
                let reads: Vec<_> = buf
                    .chunks_mut(part)
                    .enumerate()
                    .map(|(i, chunk)| {
                        let f = &f;
                        s.spawn(move || f.read_exact_at(chunk, (i * part) as u64))
                    })
                    .collect();
                reads.into_iter().try_for_each(|r| {
                    r.join()
                        .unwrap_or_else(|_| Err(std::io::Error::other("a reading thread panicked")))
                })
            })?;
            return Ok(buf);
        }
    }
    std::fs::read(path)
}

/// Why the bytes of a compiled lexicon were not loaded ([`load_compiled`]).
#[derive(Debug)]
pub enum CompiledLoadError {
    /// Not a compiled lexicon, one of another build, or a damaged one.
    Bytes(beian_screen::ScreenError),
    /// Compiled with other matching options than asked for: each
    /// difference, named (`min_term_chars: 1, not 2`).
    Options(Vec<String>),
}

/// The engine of a compiled lexicon's bytes, if it was compiled with
/// `options`, with `detectors` on (a compiled lexicon keeps no detector
/// choice). Callers name the bytes in their own messages.
pub fn load_compiled(
    bytes: &[u8],
    options: &Options,
    detectors: &[Detector],
) -> Result<Engine, CompiledLoadError> {
    let mut engine = Engine::from_compiled(bytes).map_err(CompiledLoadError::Bytes)?;
    if engine.options() != options {
        return Err(CompiledLoadError::Options(
            engine.options().differences(options),
        ));
    }
    engine.set_detectors(detectors);
    Ok(engine)
}

/// Compiles source lexicons (and allow-lists) into the bytes of a compiled
/// lexicon; detectors are chosen when it is loaded.
pub fn compile_lexicons(spec: &EngineSpec<'_>) -> Result<Vec<u8>, ScanError> {
    if let Some(c) = spec.lexicons.iter().find(|p| is_compiled_file(p)) {
        return Err(ScanError::Input(format!(
            "{}: already a compiled lexicon; compile from the source lexicons",
            c.display()
        )));
    }
    let engine = build_engine(spec)?;
    Ok(engine.to_compiled())
}

#[cfg(test)]
mod tests {
    use super::read_whole;

    #[test]
    fn a_large_file_read_in_parts_is_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        // Over the 4 MiB threshold, and of a length no part count divides.
        for len in [(5 << 20) + 7, 3, 0] {
            let path = dir.path().join(format!("f{len}"));
            let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            std::fs::write(&path, &bytes).expect("write");
            assert_eq!(read_whole(&path).expect("read"), bytes, "{len} bytes");
        }
        let missing = dir.path().join("missing");
        assert_eq!(
            read_whole(&missing).expect_err("missing").kind(),
            std::io::ErrorKind::NotFound
        );
    }
}
