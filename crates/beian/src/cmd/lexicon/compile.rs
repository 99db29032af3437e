//! `beian lexicon compile`: lexicons (and allow-lists) built once into a
//! file that every command taking `--lexicon` loads in milliseconds.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use beian_scan::{EngineSpec, compile_lexicons};
use beian_screen::{Detector, Engine, Options};

/// Build lexicons into a compiled lexicon file.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  beian lexicon compile ../shared/data/lexicons/konsheng -o konsheng.bin
  beian scan --lexicon konsheng.bin corpus.jsonl
  beian lexicon compile words.tsv --allow allow.txt --min-term-chars 1 -o words.bin
  beian scan --lexicon words.bin --min-term-chars 1 posts.csv

The file holds the built automata, gate tables and entries of this beian
build, with the matching options given here (the same flags as `beian scan`;
scanning with other matching flags is an error: recompile). Detectors are
chosen when scanning. A file from another beian build, a damaged or foreign
file is refused with a clear error.")]
pub struct CompileArgs {
    /// Lexicon files or directories.
    #[arg(required = true, value_name = "LEXICON")]
    pub files: Vec<PathBuf>,
    /// Where to write the compiled lexicon.
    #[arg(short = 'o', long, value_name = "FILE", required = true)]
    pub out: PathBuf,
    /// Allow-list files compiled in (repeatable).
    #[arg(long, value_name = "FILE")]
    pub allow: Vec<PathBuf>,
    /// Risk code for terms that have none (default: by file name, else `unclassified`).
    #[arg(long, value_name = "CODE")]
    pub risk: Option<String>,
    #[command(flatten)]
    pub matching: MatchArgs,
}

/// The matching flags, shared by `beian scan` and `beian lexicon compile`
/// (a compiled lexicon bakes them in).
#[derive(clap::Args, Debug, Clone)]
pub struct MatchArgs {
    /// Turn off all normalization (raw matching).
    #[arg(long)]
    pub no_normalize: bool,
    /// Turn off pinyin, initials and mixed-pinyin variants.
    #[arg(long)]
    pub no_pinyin: bool,
    /// Turn off traditional-to-simplified folding.
    #[arg(long)]
    pub no_traditional: bool,
    /// Turn off separator skipping.
    #[arg(long)]
    pub no_separators: bool,
    /// Turn off full-width and compatibility-form folding.
    #[arg(long)]
    pub no_width: bool,
    /// Turn off case folding.
    #[arg(long)]
    pub no_case: bool,
    /// Turn off Chinese-numeral and digit-variant folding.
    #[arg(long)]
    pub no_digits: bool,
    /// Also match Chinese terms of 3+ characters by sound (谐音): same-sound
    /// characters (发论公 for 法轮功), `"via": "homophone"`; expect more false
    /// positives. (Pinyin mixed in, 法lun功, is matched by default:
    /// `"via": "mixed-pinyin"`.)
    #[arg(long)]
    pub homophones: bool,
    /// Also match the pinyin initials of Chinese terms of 3+ characters
    /// (`flg` for 法轮功), `"via": "initials"`. Off by default: three letters
    /// stand for many words (`xhs` is usually 小红书).
    #[arg(long)]
    pub initials: bool,
    /// Match terms of this many characters or more (after normalization).
    #[arg(long, default_value_t = 2)]
    pub min_term_chars: usize,
    /// Separator characters skipped at most between two characters of a term.
    #[arg(long, default_value_t = 3)]
    pub max_skip: usize,
}

impl MatchArgs {
    /// The engine options these flags ask for.
    pub fn options(&self) -> Options {
        let mut opts = if self.no_normalize {
            Options::none()
        } else {
            Options::default()
        };
        if self.no_pinyin {
            opts.pinyin = false;
            opts.pinyin_initials = false;
            opts.mixed_pinyin = false;
        }
        if self.no_traditional {
            opts.traditional = false;
        }
        if self.no_separators {
            opts.separators = false;
        }
        if self.no_width {
            opts.width = false;
        }
        if self.no_case {
            opts.case = false;
        }
        if self.no_digits {
            opts.digits = false;
        }
        opts.homophones = self.homophones;
        opts.pinyin_initials = self.initials && !self.no_pinyin && !self.no_normalize;
        opts.min_term_chars = self.min_term_chars;
        opts.max_skip = self.max_skip;
        opts
    }
}

pub fn run(a: CompileArgs) -> anyhow::Result<ExitCode> {
    if let Some(r) = &a.risk {
        let kb = beian_kb::Kb::embedded()?;
        anyhow::ensure!(
            kb.taxonomy().is_risk_code(r) || r == beian_screen::UNCLASSIFIED,
            "--risk {r}: not a risk code of GB/T 45654 Appendix A (see `beian kb risks`)"
        );
    }
    let t0 = std::time::Instant::now();
    let bytes = compile_lexicons(&EngineSpec {
        lexicons: &a.files,
        allow: &a.allow,
        risk: a.risk.as_deref(),
        options: a.matching.options(),
        detectors: &Detector::ALL,
    })
    .context("compiling lexicons")?;
    let built = t0.elapsed();
    // Write beside, then rename: a reader never sees half a file.
    let tmp = a.out.with_extension("partial");
    std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &a.out).with_context(|| format!("writing {}", a.out.display()))?;
    let t1 = std::time::Instant::now();
    let engine = Engine::from_compiled(&bytes).context("checking the compiled lexicon")?;
    let load = t1.elapsed();
    let st = engine.stats();
    eprintln!(
        "beian lexicon compile: wrote {} ({:.1} MiB): {} entries, {} patterns; built in {:.0} ms, loads in {:.1} ms",
        a.out.display(),
        bytes.len() as f64 / (1 << 20) as f64,
        st.entries,
        st.patterns,
        built.as_secs_f64() * 1e3,
        load.as_secs_f64() * 1e3
    );
    Ok(ExitCode::SUCCESS)
}
