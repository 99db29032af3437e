//! The channel table and label rules (`channels.toml`, embedded at compile time).

use std::sync::OnceLock;

use serde::Deserialize;

/// The embedded `channels.toml`.
pub const CHANNELS_TOML: &str = include_str!("../channels.toml");

/// The whole label configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Payload rules (the seven keys).
    pub payload: PayloadRules,
    /// The XMP property.
    pub xmp: XmpRules,
    /// Explicit text notice.
    pub text: TextRules,
    /// Explicit image label.
    pub image: ImageRules,
    /// Explicit audio prompt.
    pub audio: AudioRules,
    /// The channels, in the data's order.
    #[serde(rename = "channel")]
    pub channels: Vec<Channel>,
}

/// The implicit-label payload rules.
#[derive(Debug, Clone, Deserialize)]
pub struct PayloadRules {
    /// The seven keys, in Annex E order.
    pub keys: Vec<String>,
    /// The wrapper key (`AIGC`).
    pub wrapper: String,
    /// Allowed `Label` values and their meaning.
    pub labels: std::collections::BTreeMap<String, String>,
    /// Values must be visible ASCII (0x20-0x7E).
    pub visible_ascii: bool,
    /// Source.
    pub source: String,
    /// Verification level.
    pub verified: String,
}

impl XmpRules {
    /// `packet` (or a new packet) with this property set to `payload`: see
    /// [`crate::xmp::upsert`].
    pub fn upsert(&self, packet: Option<&str>, payload: &str) -> String {
        crate::xmp::upsert(
            packet,
            &self.namespace,
            &self.prefix,
            &self.property,
            payload,
        )
    }
}

/// The XMP property that carries the payload.
#[derive(Debug, Clone, Deserialize)]
pub struct XmpRules {
    /// Namespace URI.
    pub namespace: String,
    /// Prefix used when writing.
    pub prefix: String,
    /// Local property name.
    pub property: String,
    /// Source.
    pub source: String,
    /// Verification level.
    pub verified: String,
}

/// Explicit text notice rules.
#[derive(Debug, Clone, Deserialize)]
pub struct TextRules {
    /// The notice `embed --explicit` adds.
    pub notice: String,
    /// "AI" words.
    pub marks: Vec<String>,
    /// "generated" words.
    pub verbs: Vec<String>,
    /// Characters from the start or end searched.
    pub window: usize,
    /// Source.
    pub source: String,
    /// Verification level.
    pub verified: String,
}

/// Explicit image label rules.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageRules {
    /// The text drawn.
    pub text: String,
    /// Minimum text height as a fraction of the shorter side.
    pub min_height_ratio: f32,
    /// Source.
    pub source: String,
    /// Verification level.
    pub verified: String,
}

/// Explicit audio prompt rules.
#[derive(Debug, Clone, Deserialize)]
pub struct AudioRules {
    /// Human-readable rhythm.
    pub rhythm: String,
    /// Morse unit in milliseconds.
    pub unit_ms: u32,
    /// Tone frequency.
    pub tone_hz: f32,
    /// Source.
    pub source: String,
    /// Verification level.
    pub verified: String,
}

/// One place a container carries the payload.
#[derive(Debug, Clone, Deserialize)]
pub struct Channel {
    /// Stable id, e.g. `png:tEXt:AIGC`.
    pub id: String,
    /// Container format name.
    pub format: String,
    /// Raw item kind the reader yields.
    pub carrier: String,
    /// Keyword, description, chunk id or meta key.
    pub key: String,
    /// The item is an XMP packet holding the property.
    #[serde(default)]
    pub xmp: bool,
    /// `embed` writes it.
    #[serde(default)]
    pub write: bool,
    /// Source.
    pub source: String,
    /// Verification level.
    pub verified: String,
}

impl Config {
    /// Parses a configuration (for `--channels FILE` style overrides and tests).
    pub fn parse(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    /// The embedded configuration.
    pub fn embedded() -> &'static Config {
        static CFG: OnceLock<Config> = OnceLock::new();
        #[allow(clippy::expect_used)]
        CFG.get_or_init(|| {
            Config::parse(CHANNELS_TOML).expect("embedded channels.toml is valid (tested)")
        })
    }

    /// The channel for a raw item, if any: the key as written, else the key in
    /// another ASCII case (`aigc` for `AIGC`; the caller reports that as a warning).
    pub fn channel_for(&self, carrier: &str, key: &str) -> Option<&Channel> {
        self.channels
            .iter()
            .find(|c| c.carrier == carrier && c.key == key)
            .or_else(|| {
                self.channels
                    .iter()
                    .find(|c| c.carrier == carrier && c.key.eq_ignore_ascii_case(key))
            })
    }

    /// The channels `embed` writes for a format.
    pub fn writable(&self, format: &str) -> impl Iterator<Item = &Channel> {
        self.channels
            .iter()
            .filter(move |c| c.format == format && c.write)
    }

    /// The writable channel of a format with this carrier.
    pub fn write_channel(&self, format: &str, carrier: &str) -> Option<&Channel> {
        self.writable(format).find(|c| c.carrier == carrier)
    }
}
