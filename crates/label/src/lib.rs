//! GB 45438-2025 AIGC labels: read, verify and embed.
//!
//! * **Implicit labels**: the seven-key payload (`Label`, `ContentProducer`, `ProduceID`,
//!   `ReservedCode1`, `ContentPropagator`, `PropagateID`, `ReservedCode2`), bare or
//!   wrapped as `{"AIGC": {...}}`, carried in container metadata. Where it goes is data
//!   ([`config::CHANNELS_TOML`]), not code.
//! * **Readers** walk container structure with bounded reads and seek over media data
//!   (`IDAT`, `mdat`, `data`, scan data), so memory stays flat in file size.
//! * **Writers** produce an output plan ([`io::Piece`]): input bytes outside the
//!   metadata are copied unchanged, never re-encoded.
//! * **Explicit labels**: the text notice, an image label rendered with a CJK font
//!   ([`render`]), the WAV Morse-rhythm prompt ([`morse`]).
//! * **C2PA**: a JUMBF/C2PA manifest store is read and reported ([`c2pa`]: claim
//!   generator, title, actions, digital source types, whether generative AI is
//!   declared), read-only: the signature is not validated.
//!
//! ```
//! use beian_label::{verify_bytes, Label, embed_bytes, EmbedOptions};
//! let label = Label { label: "1".into(), content_producer: "001191110102MAD55U9H0F10002".into(),
//!     produce_id: "img-1".into(), ..Label::default() };
//! // a 1x1 PNG
//! let png = [137u8,80,78,71,13,10,26,10,0,0,0,13,73,72,68,82,0,0,0,1,0,0,0,1,8,0,0,0,0,58,126,155,85,
//!     0,0,0,10,73,68,65,84,120,156,99,96,0,0,0,2,0,1,229,39,222,252,0,0,0,0,73,69,78,68,174,66,96,130];
//! let out = embed_bytes(&png, &EmbedOptions::new(label)).unwrap();
//! let report = verify_bytes("x.png", &out);
//! assert_eq!(report.verdict.as_str(), "compliant");
//! ```

pub mod avif;
pub mod c2pa;
pub mod carry;
pub mod config;
pub mod embed;
pub mod explicit;
pub mod formats;
pub mod io;
pub mod morse;
pub mod payload;
pub mod problem;
pub mod render;
pub mod samples;
pub mod verify;
pub mod xmp;

mod exif;

pub use config::{Channel, Config};
pub use embed::{EmbedOptions, TextPosition, embed_bytes, embed_file};
pub use formats::Format;
pub use payload::Label;
pub use problem::Problem;
pub use verify::{
    ChannelHit, Report, Verdict, verify_bytes, verify_path, verify_paths, verify_reader,
};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file ends inside a structure.
    #[error("truncated: {0} runs past the end of the file")]
    Truncated(String),
    /// A structure is not what its format says.
    #[error("malformed: {0}")]
    Malformed(String),
    /// A metadata item is larger than the reader accepts.
    #[error("oversized: {what} declares {size} bytes (limit {limit})", limit = io::MAX_ITEM)]
    Oversized {
        /// What it was.
        what: String,
        /// Its declared size.
        size: u64,
    },
    /// The format cannot be written (or this part of it).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// No CJK font to render an explicit image label.
    #[error(
        "no CJK font found for the explicit image label (looked for {looked}); install fonts-wqy-zenhei (Debian/Ubuntu) or pass --font FILE"
    )]
    NoFont {
        /// Where we looked.
        looked: String,
    },
    /// A font file could not be used.
    #[error("font {path}: {reason}")]
    Font {
        /// The font path.
        path: String,
        /// Why.
        reason: String,
    },
    /// Image decoding or encoding failed.
    #[error("image: {0}")]
    Image(String),
    /// Bad options.
    #[error("{0}")]
    Options(String),
}
