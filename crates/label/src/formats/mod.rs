//! Container formats: detection, metadata readers and label writers.

use serde::Serialize;

use crate::Error;
use crate::io::Src;

pub mod bmff;
pub mod id3;
pub mod jpeg;
pub mod ogg;
pub mod png;
pub mod riff;
pub mod text;
pub mod vorbis;

/// A recognised file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// PNG.
    Png,
    /// JPEG (JFIF/EXIF).
    Jpeg,
    /// WebP.
    Webp,
    /// HEIF/HEIC/AVIF.
    Heif,
    /// MP4/MOV/M4A (ISO BMFF, QuickTime).
    Mp4,
    /// MP3 (ID3v2).
    Mp3,
    /// WAV (RIFF WAVE).
    Wav,
    /// FLAC (Vorbis comments).
    Flac,
    /// Ogg (Vorbis, Opus, FLAC, Theora, Speex comment headers).
    Ogg,
    /// Plain text (explicit notice only).
    Text,
    /// Anything else.
    Unknown,
}

impl Format {
    /// Lower-case name as in the `format` field of reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpeg",
            Format::Webp => "webp",
            Format::Heif => "heif",
            Format::Mp4 => "mp4",
            Format::Mp3 => "mp3",
            Format::Wav => "wav",
            Format::Flac => "flac",
            Format::Ogg => "ogg",
            Format::Text => "text",
            Format::Unknown => "unknown",
        }
    }

    /// Detects the format from the first bytes (up to 64) and the file name.
    pub fn detect(head: &[u8], name: &str) -> Format {
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Format::Png;
        }
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Format::Jpeg;
        }
        if head.len() >= 12 && &head[0..4] == b"RIFF" {
            match &head[8..12] {
                b"WEBP" => return Format::Webp,
                b"WAVE" => return Format::Wav,
                _ => {}
            }
        }
        if head.len() >= 12 && &head[4..8] == b"ftyp" {
            let brands = &head[8..head.len().min(64)];
            let heif = [
                b"heic", b"heix", b"mif1", b"msf1", b"avif", b"heim", b"heis", b"hevc",
            ];
            if heif.iter().any(|b| brands.starts_with(*b)) {
                return Format::Heif;
            }
            return Format::Mp4;
        }
        if head.len() >= 8
            && matches!(&head[4..8], b"moov" | b"mdat" | b"wide" | b"free" | b"skip")
            && matches!(ext.as_str(), "mov" | "mp4" | "m4a" | "m4v" | "qt")
        {
            return Format::Mp4;
        }
        if head.starts_with(b"fLaC") || (head.starts_with(b"ID3") && ext == "flac") {
            return Format::Flac;
        }
        if head.starts_with(b"OggS") {
            return Format::Ogg;
        }
        if head.starts_with(b"ID3") {
            return Format::Mp3;
        }
        if head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0 && ext == "mp3" {
            return Format::Mp3;
        }
        if matches!(
            ext.as_str(),
            "txt" | "md" | "markdown" | "text" | "html" | "htm"
        ) {
            return Format::Text;
        }
        Format::Unknown
    }
}

/// Refines a detection that needs more than the first bytes: an ID3v2 tag in front
/// of a FLAC stream (not an MP3) is seen by what follows the tag.
pub fn refine(format: Format, src: &mut Src) -> Format {
    if format == Format::Mp3
        && let Ok(h) = src.read_at(0, 10, "ID3v2 header")
        && &h[..3] == b"ID3"
    {
        let size = ((h[6] as u64 & 0x7f) << 21)
            | ((h[7] as u64 & 0x7f) << 14)
            | ((h[8] as u64 & 0x7f) << 7)
            | (h[9] as u64 & 0x7f);
        let footer = if h[5] & 0x10 != 0 { 10 } else { 0 };
        if src
            .read_at(10 + size + footer, 4, "FLAC signature")
            .ok()
            .as_deref()
            == Some(b"fLaC")
        {
            return Format::Flac;
        }
    }
    format
}

/// A metadata item a container reader found.
#[derive(Debug, Clone)]
pub struct RawItem {
    /// Carrier kind (see `channels.toml`).
    pub carrier: &'static str,
    /// Keyword, description, chunk id, meta key or tag name.
    pub key: String,
    /// The value as text.
    pub value: String,
}

pub use crate::c2pa::C2pa;

/// Looks for a JUMBF superbox labelled `c2pa` (the manifest store).
pub(crate) fn is_c2pa_jumbf(data: &[u8]) -> bool {
    find(&data[..data.len().min(256)], b"jumd").is_some()
        && find(&data[..data.len().min(256)], b"c2pa").is_some()
}

pub(crate) fn find_last(h: &[u8], n: &[u8]) -> Option<usize> {
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    h.windows(n.len()).rposition(|w| w == n)
}

pub(crate) fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    h.windows(n.len()).position(|w| w == n)
}

/// What a reader found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Metadata items, in file order.
    pub items: Vec<RawItem>,
    /// A C2PA manifest store.
    pub c2pa: Option<C2pa>,
    /// Why the file could not be fully read, if so (items found before are kept).
    pub errors: Vec<Error>,
    /// Explicit-label findings (audio prompt).
    pub explicit: Option<serde_json::Value>,
}

impl Scan {
    pub(crate) fn fail(&mut self, e: Error) {
        self.errors.push(e);
    }
}

/// Reads a container's metadata.
pub fn scan(format: Format, src: &mut Src) -> Scan {
    let mut s = Scan::default();
    let r = match format {
        Format::Png => png::read(src, &mut s),
        Format::Jpeg => jpeg::read(src, &mut s),
        Format::Webp => riff::read(src, &mut s, "webp"),
        Format::Wav => riff::read(src, &mut s, "wav"),
        Format::Mp4 => bmff::read(src, &mut s, false),
        Format::Heif => bmff::read(src, &mut s, true),
        Format::Mp3 => id3::read_file(src, &mut s, "mp3:TXXX"),
        Format::Flac => vorbis::read_flac(src, &mut s),
        Format::Ogg => vorbis::read_ogg(src, &mut s),
        Format::Text | Format::Unknown => Ok(()),
    };
    if let Err(e) = r {
        s.fail(e);
    }
    s
}

/// Decodes an ID3/latin-1 style byte string.
pub(crate) fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

/// Text from bytes: UTF-8 when valid, else Latin-1.
pub(crate) fn text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => latin1(b),
    }
}
