//! The explicit audio label for WAV: a short-long-short-short tone rhythm (Morse
//! "AI") put before the audio, and its detection at the start of a file.

use serde_json::{Value, json};

use crate::formats::riff;
use crate::io::{Piece, Src, le32};
use crate::{Config, Error};

struct Fmt {
    channels: u16,
    rate: u32,
    /// Bytes per sample (1, 2, 3, 4 or 8).
    width: usize,
    /// IEEE float samples (32 or 64 bit) rather than integer PCM.
    float: bool,
    block: u16,
}

/// PCM (8-bit unsigned, 16/24/32-bit signed) or IEEE float (32/64-bit), plain or
/// WAVE_FORMAT_EXTENSIBLE.
fn parse_fmt(f: &[u8]) -> Option<Fmt> {
    if f.len() < 16 {
        return None;
    }
    let mut tag = u16::from_le_bytes([f[0], f[1]]);
    if tag == 0xFFFE && f.len() >= 26 {
        tag = u16::from_le_bytes([f[24], f[25]]);
    }
    let channels = u16::from_le_bytes([f[2], f[3]]).max(1);
    let block = u16::from_le_bytes([f[12], f[13]]);
    let width = block as usize / channels as usize;
    if width == 0 || block as usize != width * channels as usize {
        return None;
    }
    let float = match (tag, width) {
        (1, 1..=4) => false,
        (3, 4 | 8) => true,
        _ => return None,
    };
    Some(Fmt {
        channels,
        rate: le32(f, 4),
        width,
        float,
        block,
    })
}

impl Fmt {
    /// One sample (-1.0..1.0) in this format.
    fn encode(&self, x: f64, out: &mut Vec<u8>) {
        let x = x.clamp(-1.0, 1.0);
        match (self.float, self.width) {
            (true, 4) => out.extend_from_slice(&(x as f32).to_le_bytes()),
            (true, _) => out.extend_from_slice(&x.to_le_bytes()),
            (false, 1) => out.push(((x * 127.0).round() as i16 + 128) as u8),
            (false, w) => {
                let v = (x * ((1i64 << (8 * w - 1)) - 1) as f64).round() as i64;
                out.extend_from_slice(&v.to_le_bytes()[..w]);
            }
        }
    }

    /// One sample at `b` as a value on the 16-bit scale (-32768..32767).
    fn decode(&self, b: &[u8]) -> f64 {
        match (self.float, self.width) {
            (true, 4) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64 * 32768.0,
            (true, _) => {
                let mut a = [0u8; 8];
                a.copy_from_slice(&b[..8]);
                f64::from_le_bytes(a) * 32768.0
            }
            (false, 1) => (b[0] as f64 - 128.0) * 256.0,
            (false, w) => {
                let mut v: i64 = 0;
                for (k, &x) in b[..w].iter().enumerate() {
                    v |= (x as i64) << (8 * k);
                }
                let shift = 64 - 8 * w as u32;
                let v = (v << shift) >> shift; // sign-extend
                v as f64 / (1i64 << (8 * w - 16)) as f64
            }
        }
    }
}

/// The prompt as frames in the file's own sample format (interleaved for `channels`).
fn prompt(fmt: &Fmt, cfg: &Config) -> Vec<u8> {
    let unit = (fmt.rate as u64 * cfg.audio.unit_ms as u64 / 1000) as usize;
    // on/off pattern in units: . - (letter gap) . . then a pause
    let pattern: [(bool, usize); 9] = [
        (true, 1),
        (false, 1),
        (true, 3),
        (false, 3),
        (true, 1),
        (false, 1),
        (true, 1),
        (false, 3),
        (false, 1),
    ];
    let mut out = Vec::new();
    let fade = (fmt.rate as usize / 200).max(1);
    for (on, n) in pattern {
        let len = unit * n;
        for i in 0..len {
            let s = if on {
                let env = (i.min(len - 1 - i).min(fade) as f64) / fade as f64;
                let t = i as f64 / fmt.rate as f64;
                0.5 * env * (2.0 * std::f64::consts::PI * cfg.audio.tone_hz as f64 * t).sin()
            } else {
                0.0
            };
            for _ in 0..fmt.channels {
                fmt.encode(s, &mut out);
            }
        }
    }
    out
}

/// Plans a WAV with the prompt before the audio: the `data` chunk gets the prompt
/// frames, then the original samples unchanged; other chunks are copied.
pub fn plan_prompt(src: &mut Src, cfg: &Config) -> Result<Vec<Piece>, Error> {
    let (chunks, _) = riff::chunks(src, None)?;
    let fmt_c = chunks
        .iter()
        .find(|c| &c.id == b"fmt ")
        .ok_or_else(|| Error::Malformed("WAV without fmt chunk".into()))?;
    let f = src.read_at(fmt_c.off + 8, fmt_c.len.min(64), "WAV fmt")?;
    let fmt = parse_fmt(&f).ok_or_else(|| {
        Error::Unsupported(
            "the audio prompt is written into PCM (8/16/24/32-bit) and IEEE float (32/64-bit) \
             WAV; this WAV holds compressed or unknown samples"
                .into(),
        )
    })?;
    let p = prompt(&fmt, cfg);
    let mut body: Vec<Piece> = Vec::new();
    let mut added = 0u64;
    for c in &chunks {
        if &c.id == b"data" {
            let n = c.len + p.len() as u64;
            if n > u32::MAX as u64 {
                return Err(Error::Unsupported("WAV over 4 GiB".into()));
            }
            let mut h = b"data".to_vec();
            h.extend_from_slice(&(n as u32).to_le_bytes());
            h.extend_from_slice(&p);
            body.push(Piece::Bytes(h));
            body.push(Piece::Copy(c.off + 8, c.total() - 8));
            added = p.len() as u64;
        } else {
            body.push(Piece::Copy(c.off, c.total()));
        }
    }
    if added == 0 {
        return Err(Error::Malformed("WAV without data chunk".into()));
    }
    let total: u64 = 4 + body
        .iter()
        .map(|x| match x {
            Piece::Copy(_, l) => *l,
            Piece::Bytes(b) => b.len() as u64,
        })
        .sum::<u64>();
    let mut head = b"RIFF".to_vec();
    head.extend_from_slice(&(total.min(u32::MAX as u64) as u32).to_le_bytes());
    head.extend_from_slice(b"WAVE");
    let mut plan = vec![Piece::Bytes(head)];
    plan.extend(body);
    Ok(plan)
}

/// Looks for the rhythm in the first 4 s of PCM or float audio (first channel).
pub fn detect(src: &mut Src, fmt: &[u8], data_off: u64, data_len: u64) -> Option<Value> {
    let f = parse_fmt(fmt)?;
    if f.rate == 0 || f.rate > 768_000 {
        return None;
    }
    let want = (f.rate as u64 * 4 * f.block as u64).min(data_len);
    let d = src.read_upto(data_off, want).ok()?;
    let win = (f.rate / 100).max(1) as usize; // 10 ms
    let frame = f.block as usize;
    let frames = d.len() / frame.max(1);
    let mut rms = Vec::new();
    let mut i = 0;
    while i + win <= frames {
        let mut acc = 0f64;
        for k in i..i + win {
            let s = f.decode(&d[k * frame..k * frame + f.width]);
            acc += s * s;
        }
        rms.push((acc / win as f64).sqrt());
        i += win;
    }
    let max = rms.iter().cloned().fold(0f64, f64::max);
    if max < 300.0 {
        return Some(json!({"audio_prompt": null}));
    }
    let th = max * 0.3;
    let mut runs: Vec<(usize, usize)> = Vec::new(); // (start window, length)
    let mut cur: Option<usize> = None;
    for (k, &r) in rms.iter().enumerate() {
        match (r >= th, cur) {
            (true, None) => cur = Some(k),
            (false, Some(s)) => {
                runs.push((s, k - s));
                cur = None;
            }
            _ => {}
        }
    }
    if let Some(s) = cur {
        runs.push((s, rms.len() - s));
    }
    let ok = runs.len() >= 4 && {
        let d: Vec<f64> = runs[..4].iter().map(|r| r.1 as f64).collect();
        let short = [d[0], d[2], d[3]];
        let smax = short.iter().cloned().fold(0f64, f64::max);
        let smin = short.iter().cloned().fold(f64::MAX, f64::min);
        d[1] >= 2.0 * smax && smax <= 1.8 * smin && runs[0].0 * 10 <= 1000
    };
    Some(json!({
        "audio_prompt": if ok { Value::String("short-long-short-short".into()) } else { Value::Null },
        "at_ms": if ok { json!(runs[0].0 * 10) } else { Value::Null },
    }))
}
