use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use beian_label::Problem;
use beian_label::verify::{Report, collect};
use beian_label::{
    Config, EmbedOptions, Label, TextPosition, Verdict, embed_file, explicit, verify_paths,
};
use rayon::prelude::*;

/// Embed and verify GB 45438 AIGC labels (implicit metadata and explicit notices).
#[derive(clap::Args)]
#[command(after_help = "\
Implicit labels are the seven-key payload of GB 45438-2025 Annex E written into every
metadata channel the format has (PNG text and XMP; JPEG/WebP EXIF UserComment and XMP;
MP4/MOV/M4A, fragmented too, moov/udta/meta and XMP; MP3 ID3v2 TXXX; WAV RIFF chunk and
XMP; FLAC Vorbis comment AIGC; HEIF/AVIF Exif and XMP items; Ogg Vorbis/Opus/FLAC
comment header of every stream, pages re-laid, media pages untouched). Text files are
read for YAML front matter (AIGC:) and HTML for <meta name=\"AIGC\">.
Channel placements come from TC260 practice guides as quoted by public implementations
(secondary); `beian label channels` lists them with their sources.

Examples:
  beian label embed out.png -o labelled.png --label 1 --producer 001191110102MAD55U9H0F10002 --produce-id img-42
  beian label embed photo.jpg -o photo-ai.jpg --label 1 --producer P1 --produce-id 7 --explicit
  beian label embed gen/ --out-dir labelled/ --label 1 --producer P1 --produce-id batch-2025-09
  beian label embed answers.jsonl -o answers-labelled.jsonl --explicit --field answer --label 1 --producer P1 --produce-id x
  beian label verify uploads/ --format summary
  beian label verify a.png b.mp4 --format jsonl")]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(clap::Subcommand)]
pub enum Sub {
    /// Write labels into a file, a directory tree, or a JSONL corpus (--field).
    Embed(Box<EmbedArgs>),
    /// Read and check labels in files and directories (recursive, parallel).
    Verify(VerifyArgs),
    /// List the label channels (where each format carries the label) with sources.
    Channels,
}

#[derive(clap::Args)]
#[command(after_help = "\
Media bytes are never re-encoded for implicit labels: only metadata changes. With
--explicit, text gets the notice 本内容由人工智能生成, PNG/JPEG/WebP images get a rendered
label in the bottom-right corner (text height >= 5% of the shorter side; a CJK font
from the system or --font; WebP is written back as lossless WebP, animated WebP is
refused), AVIF too (re-encoded as 8-bit AVIF, quality 90; grid,
animated, ICC-profiled and HDR AVIF are refused), PCM (8/16/24/32-bit) and float WAV gets the short-long-short-short
prompt. --explicit on HEIC (HEVC: no permissive encoder exists), MP4, MP3, FLAC or Ogg
is refused with an error naming the format and nothing is written (drop --explicit to
write the implicit label only).
A re-encoded image keeps its ICC profile, EXIF (less the old thumbnail), XMP and text
(\"explicit\".\"metadata\" lists what was kept and what was dropped, and why). A C2PA
manifest is kept by implicit labelling (its hash no longer matches: a warning says so)
and dropped by --explicit; the output line's \"warnings\" and stderr say which.
In batch mode (INPUT is a directory) each file's ProduceID is `<ID>-<n>` (n = 1, 2, ...
in path order) and the tree is kept under --out-dir; other files are skipped.

Examples:
  beian label embed out.png -o labelled.png --label 1 --producer 001191110102MAD55U9H0F10002 --produce-id img-42
  beian label embed clip.mp4 -o clip.mp4 --label 1 --producer P1 --produce-id v9 --propagator PLAT --propagate-id u123
  beian label embed story.txt -o story-ai.txt --explicit --text-position start --label 1 --producer P1 --produce-id t1
  beian label embed gen/ --out-dir labelled/ --label 1 --producer P1 --produce-id batch7")]
pub struct EmbedArgs {
    /// File, directory (with --out-dir) or JSONL corpus (with --field).
    pub input: PathBuf,
    /// Output file.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Output directory for batch mode (keeps the tree).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Label value: 1 = AI-generated, 2 = possibly, 3 = suspected.
    #[arg(long, value_parser = ["1", "2", "3"])]
    pub label: String,
    /// ContentProducer: the generation service provider's code.
    #[arg(long)]
    pub producer: String,
    /// ProduceID: the content's ID at the producer.
    #[arg(long)]
    pub produce_id: String,
    /// ContentPropagator: the propagation platform's code.
    #[arg(long, requires = "propagate_id")]
    pub propagator: Option<String>,
    /// PropagateID: the content's ID at the platform.
    #[arg(long, requires = "propagator")]
    pub propagate_id: Option<String>,
    /// ReservedCode1 (e.g. an integrity field).
    #[arg(long, default_value = "")]
    pub reserved_code1: String,
    /// ReservedCode2.
    #[arg(long, default_value = "")]
    pub reserved_code2: String,
    /// Also add the explicit label (text notice, image label, WAV prompt).
    #[arg(long)]
    pub explicit: bool,
    /// Where the text notice goes.
    #[arg(long, value_parser = ["start", "end"], default_value = "end")]
    pub text_position: String,
    /// Font file for the image label (a CJK TrueType/OpenType font or collection).
    #[arg(long)]
    pub font: Option<PathBuf>,
    /// JSONL input: add the text notice to this field (dotted path) of every record.
    #[arg(long)]
    pub field: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Text,
    Summary,
}

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

#[derive(clap::Args)]
#[command(after_help = "\
Verdicts: not_found (no label anywhere), noncompliant (a label that breaks the rules:
missing key, bad Label value, channels that disagree), inconclusive (the file could not
be fully read), compliant (otherwise). C2PA manifest stores are reported read-only
(claim generator, title, actions, digitalSourceType, ai_generated; signature \"not
validated\" unless beian was built with the c2pa-validate feature).
Text files (.txt, .md) and JSONL fields (--field) are checked for the explicit notice.
Files of other formats (e.g. .json in an upload bucket) are listed as inconclusive with
format \"unknown\" and problem code unsupported-format, and counted apart in the summary
(\"skipped (not a supported format)\"). Each problem has a stable code in problem_codes;
--lang zh writes problems and the text/summary output in Chinese.

Examples:
  beian label verify labelled.png
  beian label verify uploads/ --format summary
  beian label verify uploads/ --format jsonl > report.jsonl
  beian label verify answers.jsonl --field answer --format summary --lang zh")]
pub struct VerifyArgs {
    /// Files or directories (read recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    /// JSONL input: check this field (dotted path) of every record for the text notice.
    #[arg(long)]
    pub field: Option<String>,
    /// Exit with status 1 unless every file is compliant (files of unsupported formats
    /// are skipped).
    #[arg(long)]
    pub strict: bool,
    /// Language of text and summary output.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: Lang,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Sub::Embed(a) => embed(*a),
        Sub::Verify(a) => verify(a),
        Sub::Channels => {
            let cfg = Config::embedded();
            for c in &cfg.channels {
                println!(
                    "{}",
                    serde_json::json!({"channel": c.id, "format": c.format, "write": c.write, "verified": c.verified, "source": c.source})
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn options(a: &EmbedArgs, produce_id: String) -> EmbedOptions {
    let label = Label {
        label: a.label.clone(),
        content_producer: a.producer.clone(),
        produce_id,
        reserved_code1: a.reserved_code1.clone(),
        content_propagator: a.propagator.clone().unwrap_or_default(),
        propagate_id: a.propagate_id.clone().unwrap_or_default(),
        reserved_code2: a.reserved_code2.clone(),
    };
    EmbedOptions::new(label)
        .explicit(a.explicit)
        .text_position(if a.text_position == "start" {
            TextPosition::Start
        } else {
            TextPosition::End
        })
        .font(a.font.clone())
}

fn embed(a: EmbedArgs) -> anyhow::Result<ExitCode> {
    let opts = options(&a, a.produce_id.clone());
    opts.validate()?;
    if let Some(field) = &a.field {
        let out = a.output.as_ref().context("--field needs -o OUTPUT")?;
        if !a.explicit {
            bail!("--field adds the explicit text notice: pass --explicit");
        }
        return embed_jsonl(&a.input, out, field, opts.text_position.as_str());
    }
    if a.input.is_dir() {
        let out_dir = a
            .out_dir
            .as_ref()
            .context("INPUT is a directory: give --out-dir DIR")?;
        return embed_dir(&a, out_dir);
    }
    let out = a
        .output
        .as_ref()
        .context("give -o OUTPUT (or --out-dir for a directory)")?;
    let o = embed_file(&a.input, out, &opts).with_context(|| format!("{}", a.input.display()))?;
    for w in &o.warnings {
        eprintln!("warning: {}: {w}", a.input.display());
    }
    println!(
        "{}",
        serde_json::json!({"input": a.input.display().to_string(), "output": out.display().to_string(), "format": o.format, "channels": o.channels, "explicit": o.explicit, "warnings": o.warnings})
    );
    Ok(ExitCode::SUCCESS)
}

fn embed_dir(a: &EmbedArgs, out_dir: &Path) -> anyhow::Result<ExitCode> {
    let (files, errors) = collect(std::slice::from_ref(&a.input));
    for e in &errors {
        eprintln!("warning: {e}");
    }
    let tty = std::io::stderr().is_terminal();
    let results: Vec<(PathBuf, Result<serde_json::Value, String>)> = files
        .par_iter()
        .enumerate()
        .map(|(i, f)| {
            let rel = f.strip_prefix(&a.input).unwrap_or(f);
            let dest = out_dir.join(rel);
            let opts = options(a, format!("{}-{}", a.produce_id, i + 1));
            let r = (|| -> Result<serde_json::Value, String> {
                if let Some(p) = dest.parent() {
                    std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
                }
                let o = embed_file(f, &dest, &opts).map_err(|e| e.to_string())?;
                Ok(serde_json::json!({"input": f.display().to_string(), "output": dest.display().to_string(), "format": o.format, "channels": o.channels, "explicit": o.explicit, "produce_id": opts.label.produce_id, "warnings": o.warnings}))
            })();
            (f.clone(), r)
        })
        .collect();
    let mut stdout = BufWriter::new(std::io::stdout().lock());
    let (mut ok, mut skipped) = (0, 0);
    for (f, r) in results {
        match r {
            Ok(v) => {
                ok += 1;
                writeln!(stdout, "{v}")?;
            }
            Err(e) => {
                skipped += 1;
                eprintln!("skipped {}: {e}", f.display());
            }
        }
    }
    stdout.flush()?;
    if tty || skipped > 0 {
        eprintln!(
            "labelled {ok} files into {}; skipped {skipped}",
            out_dir.display()
        );
    }
    Ok(if skipped > 0 && ok == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn embed_jsonl(input: &Path, out: &Path, field: &str, position: &str) -> anyhow::Result<ExitCode> {
    let cfg = Config::embedded();
    let r =
        BufReader::new(std::fs::File::open(input).with_context(|| format!("{}", input.display()))?);
    let tmp = out.with_extension("beian-label-tmp");
    let mut w =
        BufWriter::new(std::fs::File::create(&tmp).with_context(|| format!("{}", tmp.display()))?);
    let mut bad = 0usize;
    for (i, line) in r.lines().enumerate() {
        let line = line.with_context(|| format!("{}: line {}", input.display(), i + 1))?;
        if line.trim().is_empty() {
            writeln!(w, "{line}")?;
            continue;
        }
        match explicit::label_record(&line, field, position, &cfg.text) {
            Ok(l) => writeln!(w, "{l}")?,
            Err(e) => {
                bad += 1;
                eprintln!(
                    "{}: line {}: {e} (copied unchanged)",
                    input.display(),
                    i + 1
                );
                writeln!(w, "{line}")?;
            }
        }
    }
    w.flush()?;
    drop(w);
    std::fs::rename(&tmp, out)?;
    Ok(if bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Where reports go: printed as they come (jsonl, text) or counted (summary).
struct Sink<W: Write> {
    out: W,
    format: Format,
    zh: bool,
    files: usize,
    all_ok: bool,
    by_format: BTreeMap<&'static str, [usize; 4]>,
    c2pa: usize,
    /// Of those, manifests declaring generative AI (digitalSourceType).
    c2pa_ai: usize,
    /// Files of a format `verify` does not support (kept out of the per-format counts).
    skipped: usize,
}

impl<W: Write> Sink<W> {
    fn push(&mut self, r: &mut Report) -> anyhow::Result<()> {
        self.files += 1;
        r.localize(self.zh);
        if r.is_unsupported_format() {
            // not media: listed in jsonl/text, counted apart, and no reason for --strict to fail
            self.skipped += 1;
        } else {
            self.all_ok &= r.verdict == Verdict::Compliant;
        }
        match self.format {
            Format::Jsonl => writeln!(self.out, "{}", serde_json::to_string(r)?)?,
            Format::Text => {
                let v = if self.zh {
                    verdict_zh(r.verdict)
                } else {
                    r.verdict.as_str()
                };
                let chans: Vec<&str> = r.channels.iter().map(|c| c.channel.as_str()).collect();
                writeln!(
                    self.out,
                    "{}\t{}\t{}\t{}",
                    r.path,
                    r.format,
                    v,
                    chans.join(",")
                )?;
                for p in &r.problems {
                    writeln!(self.out, "  - {p}")?;
                }
                let tag = if self.zh { "提示" } else { "warning" };
                for w in &r.warnings {
                    writeln!(self.out, "  ~ {tag}: {w}")?;
                }
                if let Some(c) = &r.c2pa {
                    let gen_ai = if c.ai_generated {
                        c.digital_source_types.join(",")
                    } else if self.zh {
                        "否".into()
                    } else {
                        "no".into()
                    };
                    let who = c.claim_generator.as_deref().unwrap_or("?");
                    if self.zh {
                        writeln!(
                            self.out,
                            "  c2pa: {} 生成者 {who}; 声明人工智能生成: {gen_ai}; 签名{}",
                            c.channel,
                            match c.signature {
                                "valid" => "有效",
                                "valid, trusted signer" => "有效(可信签名者)",
                                "invalid" => "无效",
                                _ => "未验证",
                            }
                        )?;
                    } else {
                        writeln!(
                            self.out,
                            "  c2pa: {} by {who}; declares generative AI: {gen_ai}; signature {}",
                            c.channel, c.signature
                        )?;
                    }
                }
            }
            Format::Summary if r.is_unsupported_format() => {}
            Format::Summary => {
                let k = match r.verdict {
                    Verdict::Compliant => 0,
                    Verdict::Noncompliant => 1,
                    Verdict::Inconclusive => 2,
                    Verdict::NotFound => 3,
                };
                self.by_format.entry(r.format).or_default()[k] += 1;
                self.c2pa += usize::from(r.c2pa.is_some());
                self.c2pa_ai += usize::from(r.c2pa.as_ref().is_some_and(|c| c.ai_generated));
            }
        }
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<bool> {
        if self.format == Format::Summary {
            let zh = self.zh;
            let heads = if zh {
                ["格式", "合规", "不合规", "无法判定", "未发现标识"]
            } else {
                [
                    "format",
                    "compliant",
                    "noncompliant",
                    "inconclusive",
                    "not_found",
                ]
            };
            let out = &mut self.out;
            writeln!(
                out,
                "{} {}",
                if zh { "文件数:" } else { "files:" },
                self.files
            )?;
            writeln!(out, "{}", row(heads))?;
            for (f, c) in &self.by_format {
                let c = c.map(|n| n.to_string());
                writeln!(out, "{}", row([f, &c[0], &c[1], &c[2], &c[3]]))?;
            }
            let t = [0usize, 1, 2, 3].map(|k| {
                self.by_format
                    .values()
                    .map(|c| c[k])
                    .sum::<usize>()
                    .to_string()
            });
            let total = if zh { "合计" } else { "total" };
            writeln!(out, "{}", row([total, &t[0], &t[1], &t[2], &t[3]]))?;
            if self.skipped > 0 {
                writeln!(
                    out,
                    "{} {}",
                    if zh {
                        "已跳过(不支持的格式):"
                    } else {
                        "skipped (not a supported format):"
                    },
                    self.skipped
                )?;
            }
            if self.c2pa > 0 {
                writeln!(
                    out,
                    "{} {}",
                    if zh {
                        "含 C2PA 清单(未验证签名):"
                    } else {
                        "with a C2PA manifest (not validated):"
                    },
                    self.c2pa
                )?;
                writeln!(
                    out,
                    "{} {}",
                    if zh {
                        "其中声明人工智能生成(digitalSourceType):"
                    } else {
                        "of which declare generative AI (digitalSourceType):"
                    },
                    self.c2pa_ai
                )?;
            }
        }
        self.out.flush()?;
        Ok(self.all_ok)
    }
}

fn verify(a: VerifyArgs) -> anyhow::Result<ExitCode> {
    let mut sink = Sink {
        out: BufWriter::new(std::io::stdout().lock()),
        format: a.format,
        zh: a.lang == Lang::Zh,
        files: 0,
        all_ok: true,
        by_format: BTreeMap::new(),
        c2pa: 0,
        c2pa_ai: 0,
        skipped: 0,
    };
    if let Some(field) = &a.field {
        for p in &a.paths {
            let mut reports = Vec::new();
            verify_jsonl(p, field, &mut reports)?;
            for r in &mut reports {
                sink.push(r)?;
            }
        }
    } else {
        let (files, errors) = collect(&a.paths);
        for e in &errors {
            eprintln!("warning: {e}");
        }
        let tty = std::io::stderr().is_terminal() && files.len() > 1000;
        // bounded batches: output streams and memory does not grow with the file count
        for (i, chunk) in files.chunks(4096).enumerate() {
            for mut r in verify_paths(chunk) {
                sink.push(&mut r)?;
            }
            if tty {
                let done = (i * 4096 + chunk.len()).min(files.len());
                if sink.zh {
                    eprint!("\r已检查 {done} / {} 个文件", files.len());
                } else {
                    eprint!("\rverified {done} / {} files", files.len());
                }
            }
        }
        if tty {
            eprintln!();
        }
    }
    let all_ok = sink.finish()?;
    Ok(if a.strict && !all_ok {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn verdict_zh(v: Verdict) -> &'static str {
    match v {
        Verdict::Compliant => "合规",
        Verdict::Noncompliant => "不合规",
        Verdict::Inconclusive => "无法判定",
        Verdict::NotFound => "未发现标识",
    }
}

fn verify_jsonl(path: &Path, field: &str, reports: &mut Vec<Report>) -> anyhow::Result<()> {
    let cfg = Config::embedded();
    let r =
        BufReader::new(std::fs::File::open(path).with_context(|| format!("{}", path.display()))?);
    for (i, line) in r.lines().enumerate() {
        let line = line.with_context(|| format!("{}: line {}", path.display(), i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let name = format!("{}:{}", path.display(), i + 1);
        let rep = match explicit::record_field(&line, field) {
            Ok(text) => {
                let pos = explicit::notice_position(&text, &cfg.text);
                text_report(&name, pos, None)
            }
            Err(e) => text_report(
                &name,
                None,
                Some(Problem::bad_record(i + 1, &e.to_string())),
            ),
        };
        reports.push(rep);
    }
    Ok(())
}

fn text_report(name: &str, pos: Option<&str>, problem: Option<Problem>) -> Report {
    let verdict = if problem.is_some() {
        Verdict::Inconclusive
    } else if pos.is_some() {
        Verdict::Compliant
    } else {
        Verdict::NotFound
    };
    let mut r = Report::empty(name, "jsonl", verdict);
    r.explicit = serde_json::json!({"text_notice": pos});
    if let Some(p) = problem {
        r.add(p);
    }
    r
}

/// Columns of the summary table (display columns; CJK characters are two wide).
const COLUMNS: [(usize, bool); 5] = [(10, false), (14, true), (14, true), (14, true), (14, true)];

/// One summary row: first column left-aligned, counts right-aligned, by display width.
fn row(cells: [&str; 5]) -> String {
    let mut s = String::new();
    for (cell, (w, right)) in cells.iter().zip(COLUMNS) {
        let pad = " ".repeat(w.saturating_sub(display_width(cell)));
        if right {
            s.push_str(&pad);
            s.push_str(cell);
        } else {
            s.push_str(cell);
            s.push_str(&pad);
        }
    }
    s.trim_end().to_string()
}

/// Terminal display width: East Asian wide and fullwidth characters count 2.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let u = c as u32;
            let wide = matches!(u,
                0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
                | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
            if wide { 2 } else { 1 }
        })
        .sum()
}
