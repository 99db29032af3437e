//! Writing labels: implicit labels into every channel a format has (metadata only,
//! media bytes copied unchanged), and explicit labels on request.

use std::fs::File;
use std::io::{BufWriter, Cursor, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};

use crate::formats::{self, Format, bmff, id3, jpeg, ogg, png, riff, vorbis};
use crate::io::{Piece, ReadSeek, Src, execute};
use crate::{Config, Error, Label, explicit, morse, payload, render};

/// Where the text notice goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextPosition {
    /// Before the text.
    Start,
    /// After the text (default).
    #[default]
    End,
}

impl TextPosition {
    /// "start" or "end".
    pub fn as_str(self) -> &'static str {
        match self {
            TextPosition::Start => "start",
            TextPosition::End => "end",
        }
    }
}

/// What to embed.
#[derive(Debug, Clone)]
pub struct EmbedOptions {
    /// The implicit label.
    pub label: Label,
    /// Also add the explicit label (text notice, image label, WAV prompt).
    pub explicit: bool,
    /// Where the text notice goes.
    pub text_position: TextPosition,
    /// A font for the image label (else one is looked for on the system).
    pub font: Option<PathBuf>,
}

impl EmbedOptions {
    /// Implicit label only.
    pub fn new(label: Label) -> EmbedOptions {
        EmbedOptions {
            label,
            explicit: false,
            text_position: TextPosition::End,
            font: None,
        }
    }
    /// With or without the explicit label.
    pub fn explicit(mut self, yes: bool) -> Self {
        self.explicit = yes;
        self
    }
    /// Text notice position.
    pub fn text_position(mut self, p: TextPosition) -> Self {
        self.text_position = p;
        self
    }
    /// Font file for the image label.
    pub fn font(mut self, p: Option<PathBuf>) -> Self {
        self.font = p;
        self
    }

    /// Checks the label against the payload rules before anything is written.
    pub fn validate(&self) -> Result<(), Error> {
        let p = payload::parse(&self.label.to_json_wrapped(), Config::embedded());
        if p.problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Options(format!(
                "the label breaks the rules: {}",
                p.problems
                    .iter()
                    .map(|p| p.en.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )))
        }
    }
}

/// What `embed` did to one file.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Detected format.
    pub format: &'static str,
    /// Channels written.
    pub channels: Vec<String>,
    /// Explicit label added, if any.
    pub explicit: Option<Value>,
    /// What the caller should know (e.g. a C2PA manifest whose hash binding the new
    /// metadata breaks); empty when nothing.
    pub warnings: Vec<String>,
}

fn c2pa_warning(c: &formats::C2pa, explicit: bool) -> String {
    if explicit {
        format!(
            "the C2PA manifest ({}) was dropped: the redrawn image no longer matches its              hash; sign a new manifest if one is wanted",
            c.channel
        )
    } else {
        format!(
            "the file carries a C2PA manifest ({}); it is kept, but the new metadata              lies inside the bytes its hash binding covers, so C2PA validators will report              the content as changed: re-sign after labelling",
            c.channel
        )
    }
}

/// Labels bytes in memory.
pub fn embed_bytes(bytes: &[u8], opts: &EmbedOptions) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    embed_reader("", &mut Cursor::new(bytes), &mut out, opts)?;
    Ok(out)
}

/// Labels `input` into `output` (written to a temporary file beside it, then renamed;
/// `output` may be `input`).
pub fn embed_file(input: &Path, output: &Path, opts: &EmbedOptions) -> Result<Outcome, Error> {
    let mut f = File::open(input)?;
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.beian-label-tmp",
        output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let res = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        let o = embed_reader(&input.display().to_string(), &mut f, &mut w, opts)?;
        w.flush()?;
        drop(w);
        std::fs::rename(&tmp, output)?;
        Ok(o)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Labels what `r` holds into `out`.
pub fn embed_reader(
    name: &str,
    r: &mut dyn ReadSeek,
    out: &mut dyn Write,
    opts: &EmbedOptions,
) -> Result<Outcome, Error> {
    opts.validate()?;
    let cfg = Config::embedded();
    let mut src = Src::new(r)?;
    let head = src.read_upto(0, 64)?;
    let format = formats::refine(Format::detect(&head, name), &mut src);
    let mut explicit_done = None;
    if format == Format::Text {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".html") || lower.ends_with(".htm") {
            return Err(Error::Unsupported(
                "HTML pages are read (a <meta name=\"AIGC\"> tag), not written: add the \
                 notice and the meta tag in the page template"
                    .into(),
            ));
        }
        if !opts.explicit {
            return Err(Error::Unsupported(
                "text carries no metadata; pass --explicit to add the notice".into(),
            ));
        }
        let bytes = src.read_at_big(0, src.len, "text file")?;
        let text =
            String::from_utf8(bytes).map_err(|_| Error::Malformed("text is not UTF-8".into()))?;
        let labelled = explicit::add_notice(&text, opts.text_position.as_str(), &cfg.text);
        out.write_all(labelled.as_bytes())?;
        return Ok(Outcome {
            format: "text",
            channels: vec![],
            explicit: Some(json!({"text_notice": opts.text_position.as_str()})),
            warnings: vec![],
        });
    }
    // keep the reserved codes of a label already there for the same content
    let mut label = opts.label.clone();
    let existing = formats::scan(format, &mut src);
    let rep = crate::verify::judge(name, format, &existing.items, &[], cfg);
    if let Some(m) = &rep.implicit {
        let old = payload::to_label(m);
        if old.content_producer == label.content_producer && old.produce_id == label.produce_id {
            if label.reserved_code1.is_empty() {
                label.reserved_code1 = old.reserved_code1;
            }
            if label.reserved_code2.is_empty() && old.content_propagator == label.content_propagator
            {
                label.reserved_code2 = old.reserved_code2;
            }
        }
    }
    let payload = label.to_json_wrapped();
    if opts.explicit {
        match format {
            Format::Png | Format::Jpeg | Format::Webp => {
                let bytes = src.read_at_big(0, src.len, "image")?;
                let (img, drawn) = render::label_image(&bytes, opts.font.as_deref(), cfg)?;
                return write_redrawn(format, img, &drawn, existing.c2pa.as_ref(), cfg, out, |s| {
                    plan_for(format, s, cfg, &payload)
                });
            }
            Format::Wav => {
                if existing
                    .explicit
                    .as_ref()
                    .and_then(|v| v.get("audio_prompt"))
                    .is_some_and(|v| !v.is_null())
                {
                    explicit_done = Some(json!({"audio_prompt": "already present"}));
                } else {
                    let plan = morse::plan_prompt(&mut src, cfg)?;
                    let mut buf = Vec::new();

                    execute(&plan, r, &mut buf)?;
                    let mut cur = Cursor::new(buf);
                    let mut s2 = Src::new(&mut cur)?;
                    let plan = plan_for(format, &mut s2, cfg, &payload)?;
                    execute(&plan, &mut cur, out)?;
                    return Ok(Outcome {
                        format: "wav",
                        channels: written(format, cfg),
                        explicit: Some(json!({"audio_prompt": cfg.audio.rhythm})),
                        warnings: existing
                            .c2pa
                            .iter()
                            .map(|c| c2pa_warning(c, false))
                            .collect(),
                    });
                }
            }
            Format::Heif => {
                let info = bmff::heif_source(&mut src)?;
                crate::avif::check(&info)?;
                #[cfg(not(feature = "avif"))]
                return Err(crate::avif::not_built());
                #[cfg(feature = "avif")]
                {
                    let bytes = src.read_at_big(0, src.len, "image")?;
                    let (img, seed, drawn) =
                        crate::avif::label_avif(&bytes, &info, opts.font.as_deref(), cfg)?;
                    return write_redrawn(
                        format,
                        img,
                        &drawn,
                        existing.c2pa.as_ref(),
                        cfg,
                        out,
                        |s| bmff::plan_heif_seeded(s, cfg, &payload, &seed),
                    );
                }
            }
            Format::Mp4 if head.get(8..12) == Some(b"avis") => {
                return Err(crate::avif::animated());
            }
            _ => {
                let name = match format {
                    Format::Mp4 => "MP4",
                    Format::Mp3 => "MP3",
                    Format::Flac => "FLAC",
                    Format::Ogg => "Ogg",
                    other => other.as_str(),
                };
                return Err(Error::Unsupported(format!(
                    "explicit labels are not written for {name} files (only text, PNG, JPEG, \
                     WebP, AVIF and WAV get one); nothing was written: drop --explicit to embed the \
                     implicit label only, or convert the file to PNG or JPEG first"
                )));
            }
        }
    }
    let plan = plan_for(format, &mut src, cfg, &payload)?;

    execute(&plan, r, out)?;
    Ok(Outcome {
        format: format.as_str(),
        channels: written(format, cfg),
        explicit: explicit_done,
        warnings: existing
            .c2pa
            .iter()
            .map(|c| c2pa_warning(c, false))
            .collect(),
    })
}

/// Writes an image with a drawn label (`img`, re-encoded) and its implicit label,
/// which `plan` lays into it.
fn write_redrawn(
    format: Format,
    img: Vec<u8>,
    drawn: &render::Drawn,
    c2pa: Option<&formats::C2pa>,
    cfg: &Config,
    out: &mut dyn Write,
    plan: impl FnOnce(&mut Src) -> Result<Vec<Piece>, Error>,
) -> Result<Outcome, Error> {
    let mut cur = Cursor::new(img);
    let mut s2 = Src::new(&mut cur)?;
    let plan = plan(&mut s2)?;
    execute(&plan, &mut cur, out)?;
    Ok(Outcome {
        format: format.as_str(),
        channels: written(format, cfg),
        explicit: Some(serde_json::to_value(drawn).unwrap_or(Value::Null)),
        warnings: c2pa
            .map(|c| vec![c2pa_warning(c, true)])
            .unwrap_or_default(),
    })
}

fn written(format: Format, cfg: &Config) -> Vec<String> {
    cfg.writable(format.as_str())
        .map(|c| c.id.clone())
        .collect()
}

fn plan_for(
    format: Format,
    src: &mut Src,
    cfg: &Config,
    payload: &str,
) -> Result<Vec<Piece>, Error> {
    match format {
        Format::Png => png::plan(src, cfg, payload),
        Format::Jpeg => jpeg::plan(src, cfg, payload),
        Format::Webp => riff::plan(src, cfg, payload, "webp"),
        Format::Wav => riff::plan(src, cfg, payload, "wav"),
        Format::Mp4 => bmff::plan(src, cfg, payload),
        Format::Mp3 => id3::plan(src, cfg, payload),
        Format::Flac => vorbis::plan_flac(src, cfg, payload),
        Format::Ogg => ogg::plan(src, cfg, payload),
        Format::Heif => bmff::plan_heif(src, cfg, payload),
        Format::Text | Format::Unknown => {
            Err(Error::Unsupported("unrecognised file format".into()))
        }
    }
}
