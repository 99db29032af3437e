//! Inputs: files, directories (recursive), stdin; text, JSONL, CSV, TSV,
//! Parquet; gzip and zstd detected by their magic bytes.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::ScanError;

/// How records are read from an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// One record per line.
    Text,
    /// One JSON object per line; the record is a string field.
    Jsonl,
    /// CSV with a header row; the record is a column.
    Csv,
    /// Tab-separated with a header row (no quoting).
    Tsv,
    /// Apache Parquet; the record is a string column.
    Parquet,
}

impl InputFormat {
    pub fn from_name(s: &str) -> Option<InputFormat> {
        Some(match s {
            "text" | "txt" => InputFormat::Text,
            "jsonl" | "ndjson" | "json" => InputFormat::Jsonl,
            "csv" => InputFormat::Csv,
            "tsv" => InputFormat::Tsv,
            "parquet" => InputFormat::Parquet,
            _ => return None,
        })
    }

    /// Guesses the format from a file name (compression suffixes ignored).
    pub fn from_path(p: &Path) -> InputFormat {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let base = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".zst"))
            .or_else(|| name.strip_suffix(".zstd"))
            .unwrap_or(&name);
        let ext = base.rsplit_once('.').map_or("", |(_, e)| e);
        match ext {
            "jsonl" | "ndjson" | "json" => InputFormat::Jsonl,
            "csv" => InputFormat::Csv,
            "tsv" | "tab" => InputFormat::Tsv,
            "parquet" | "pq" => InputFormat::Parquet,
            _ => InputFormat::Text,
        }
    }
}

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// `None` for stdin.
    pub path: Option<PathBuf>,
    /// Name used in output (`source`): the path as given, or `-`.
    pub name: String,
    pub format: InputFormat,
}

/// Expands the command's inputs: `-` is stdin, directories are walked
/// recursively in sorted order (hidden entries skipped). A missing or
/// unreadable file is kept: the pipeline reports it once as an input error
/// (record 0) and reads the other inputs.
pub fn expand_inputs(
    inputs: &[String],
    forced: Option<InputFormat>,
) -> Result<Vec<InputSpec>, ScanError> {
    let mut out = Vec::new();
    for i in inputs {
        if i == "-" {
            out.push(InputSpec {
                path: None,
                name: "-".into(),
                format: forced.unwrap_or(InputFormat::Text),
            });
            continue;
        }
        let p = PathBuf::from(i);
        // A path that cannot be read stays in the list: reading it reports
        // the error once, as an input error, and the other inputs go on.
        let is_dir = std::fs::metadata(&p).is_ok_and(|m| m.is_dir());
        let mut files = Vec::new();
        if is_dir {
            crate::lexicon::walk_dir(&p, &mut files, &|_| true)?;
        } else {
            files.push(p);
        }
        for f in files {
            out.push(InputSpec {
                name: f.display().to_string(),
                format: forced.unwrap_or_else(|| InputFormat::from_path(&f)),
                path: Some(f),
            });
        }
    }
    Ok(out)
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ScanError + '_ {
    move |source| ScanError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The magic bytes a gzip member starts with.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The magic bytes a zstd frame starts with.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Whether a stream that starts with `head` is gzip or zstd.
fn compressed(head: &[u8]) -> bool {
    head.starts_with(&GZIP_MAGIC) || head.starts_with(&ZSTD_MAGIC)
}

/// A reader, buffered and told apart by its magic bytes.
enum Sniffed<R> {
    /// Neither gzip nor zstd: the reader itself.
    Plain(BufReader<R>),
    /// A reader that decompresses it.
    Decoded(Box<dyn BufRead + Send>),
}

fn sniff<R: Read + Send + 'static>(inner: R) -> std::io::Result<Sniffed<R>> {
    let mut br = BufReader::with_capacity(1 << 16, inner);
    let (gzip, zstd) = {
        let head = br.fill_buf()?;
        (head.starts_with(&GZIP_MAGIC), head.starts_with(&ZSTD_MAGIC))
    };
    Ok(if gzip {
        Sniffed::Decoded(Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(br),
        )))
    } else if zstd {
        Sniffed::Decoded(Box::new(BufReader::with_capacity(
            1 << 16,
            zstd::stream::read::Decoder::with_buffer(br)?,
        )))
    } else {
        Sniffed::Plain(br)
    })
}

/// Wraps a reader, decompressing gzip or zstd when its magic bytes say so.
pub fn decompress<R: Read + Send + 'static>(inner: R) -> std::io::Result<Box<dyn BufRead + Send>> {
    Ok(match sniff(inner)? {
        Sniffed::Plain(br) => Box::new(br),
        Sniffed::Decoded(d) => d,
    })
}

/// The compressed spans of the frames of a zstd stream (skippable frames
/// left out), found by walking frame and block headers without
/// decompressing; `None` when `b` is not a well-formed sequence of frames.
pub(crate) fn zstd_frames(b: &[u8]) -> Option<Vec<(usize, usize)>> {
    let le = |x: &[u8]| x.iter().rev().fold(0usize, |a, &c| (a << 8) | c as usize);
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < b.len() {
        let magic = le(b.get(i..i + 4)?);
        if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
            let n = le(b.get(i + 4..i + 8)?);
            i = i.checked_add(8 + n)?;
            continue;
        }
        if magic != 0xFD2F_B528 {
            return None;
        }
        let start = i;
        let fhd = *b.get(i + 4)?;
        let single = fhd & 0x20 != 0;
        let fcs = match fhd >> 6 {
            0 => usize::from(single),
            1 => 2,
            2 => 4,
            _ => 8,
        };
        let did = [0usize, 1, 2, 4][usize::from(fhd & 3)];
        i += 5 + usize::from(!single) + did + fcs;
        loop {
            let h = le(b.get(i..i + 3)?);
            let size = h >> 3;
            i += 3 + match (h >> 1) & 3 {
                0 | 2 => size,
                1 => 1,
                _ => return None,
            };
            if h & 1 == 1 {
                break;
            }
        }
        if fhd & 4 != 0 {
            i += 4;
        }
        if i > b.len() {
            return None;
        }
        out.push((start, i));
    }
    Some(out)
}

/// The members of a BGZF file (bgzip, htslib: gzip members of at most
/// 64 KiB whose `BC` extra field gives the member's size), found by walking
/// their headers without inflating; `None` when `b` is not BGZF throughout.
pub(crate) fn bgzf_members(b: &[u8]) -> Option<Vec<(usize, usize)>> {
    let le16 = |x: &[u8]| usize::from(x[0]) | (usize::from(x[1]) << 8);
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < b.len() {
        let h = b.get(i..i + 12)?;
        // gzip magic, deflate, FEXTRA set.
        if h[..3] != [0x1f, 0x8b, 8] || h[3] & 4 == 0 {
            return None;
        }
        let xlen = le16(&h[10..12]);
        let extra = b.get(i + 12..i + 12 + xlen)?;
        let mut bsize = None;
        let mut j = 0usize;
        while j + 4 <= extra.len() {
            let slen = le16(&extra[j + 2..j + 4]);
            if extra[j..j + 2] == *b"BC" && slen == 2 {
                bsize = Some(le16(extra.get(j + 4..j + 6)?));
            }
            j += 4 + slen;
        }
        // The member is BSIZE + 1 bytes: header, deflate data, CRC and size.
        let end = i.checked_add(bsize? + 1)?;
        if end > b.len() || end < i + 12 + xlen + 8 {
            return None;
        }
        out.push((i, end));
        i = end;
    }
    Some(out)
}

/// How one frame (zstd) or member (BGZF) is decompressed.
type Decode = fn(&[u8], &mut Vec<u8>) -> std::io::Result<()>;

fn decode_zstd(b: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
    zstd::stream::read::Decoder::with_buffer(b)?.read_to_end(out)?;
    Ok(())
}

fn decode_gzip_member(b: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
    flate2::bufread::GzDecoder::new(b).read_to_end(out)?;
    Ok(())
}

/// Compressed bytes one thread decompresses in a row (frames and BGZF
/// members are small: one thread per frame would cost more than it saves).
const GROUP_BYTES: usize = 1 << 20;

/// Decompresses the frames of a multi-frame zstd file, or the members of a
/// BGZF file, on several threads at a time, in order, as a reader.
struct ParallelFrames {
    data: Vec<u8>,
    frames: Vec<(usize, usize)>,
    decode: Decode,
    next: usize,
    par: usize,
    ready: std::collections::VecDeque<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ParallelFrames {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.cur.len() {
            if let Some(v) = self.ready.pop_front() {
                self.cur = v;
                self.pos = 0;
                continue;
            }
            if self.next >= self.frames.len() {
                return Ok(0);
            }
            // Up to `par` groups of consecutive frames, one per thread.
            let mut groups = Vec::with_capacity(self.par);
            let mut end = self.next;
            while groups.len() < self.par && end < self.frames.len() {
                let g0 = end;
                let mut bytes = 0usize;
                while end < self.frames.len() && (end == g0 || bytes < GROUP_BYTES) {
                    bytes += self.frames[end].1 - self.frames[end].0;
                    end += 1;
                }
                groups.push(&self.frames[g0..end]);
            }
            let (data, decode) = (&self.data, self.decode);
            let done: Vec<std::io::Result<Vec<u8>>> = std::thread::scope(|s| {
                let hs: Vec<_> = groups
                    .iter()
                    .map(|&g| {
                        s.spawn(move || -> std::io::Result<Vec<u8>> {
                            let mut v = Vec::new();
                            for &(a, b) in g {
                                decode(&data[a..b], &mut v)?;
                            }
                            Ok(v)
                        })
                    })
                    .collect();
                hs.into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(std::io::Error::other("decompression panicked"))
                        })
                    })
                    .collect()
            });
            for d in done {
                self.ready.push_back(d?);
            }
            self.next = end;
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Compressed files up to this size whose zstd stream has several frames,
/// or that are BGZF, are decompressed in parallel.
const PARALLEL_MAX: u64 = 4 << 30;

/// A multi-frame zstd file or a BGZF file as a reader that decompresses
/// on `par` threads; `None` for anything else (read as a stream).
pub(crate) fn open_parallel(path: &Path, par: usize) -> Option<Box<dyn BufRead + Send>> {
    // Only a regular file is looked into: the bytes read from a pipe
    // (`beian scan <(zcat a.gz)`) would be gone for the reader that follows.
    if par < 2 || !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let mut f = File::open(path).ok()?;
    let mut head = [0u8; 4];
    f.read_exact(&mut head).ok()?;
    let zstd = head == ZSTD_MAGIC;
    let bgzf = head[..3] == [0x1f, 0x8b, 8] && head[3] & 4 != 0;
    if !(zstd || bgzf) || f.metadata().ok()?.len() > PARALLEL_MAX {
        return None;
    }
    let data = std::fs::read(path).ok()?;
    let (frames, decode): (_, Decode) = if zstd {
        (zstd_frames(&data)?, decode_zstd as Decode)
    } else {
        (bgzf_members(&data)?, decode_gzip_member as Decode)
    };
    if frames.len() < 2 {
        return None;
    }
    Some(Box::new(BufReader::with_capacity(
        1 << 16,
        ParallelFrames {
            data,
            frames,
            decode,
            next: 0,
            par,
            ready: std::collections::VecDeque::new(),
            cur: Vec::new(),
            pos: 0,
        },
    )))
}

/// Opens a file (decompressing as needed).
pub fn open(path: &Path) -> Result<Box<dyn BufRead + Send>, ScanError> {
    let f = File::open(path).map_err(io_err(path))?;
    decompress(f).map_err(io_err(path))
}

/// Reads a whole (possibly compressed) file as UTF-8.
pub fn read_file_to_string(path: &Path) -> Result<String, ScanError> {
    let mut r = open(path)?;
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes).map_err(io_err(path))?;
    String::from_utf8(bytes).map_err(|e| ScanError::Utf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })
}

/// A record as the pipeline hands it out: borrowed from the batch it was
/// read in (no allocation per record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordIn<'a> {
    /// Index into the list of inputs.
    pub source: u32,
    /// 1-based line (text, JSONL) or data row (CSV, TSV, Parquet).
    pub number: u64,
    /// Byte offset of the record in the (decompressed) input (0 for Parquet).
    pub offset: u64,
    /// The text. Invalid UTF-8 bytes read as U+007F (one byte each), so
    /// byte offsets into `text` are byte offsets into the original field.
    pub text: &'a str,
    /// The `--by-source` field value, when grouping by a field.
    pub group: Option<&'a str>,
}

/// A record that could not be read, or a warning about one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordErr {
    pub source: u32,
    /// 0 when the whole input failed.
    pub number: u64,
    pub offset: u64,
    pub message: String,
}

/// What field(s) to read.
#[derive(Debug, Clone, Default)]
pub struct FieldSpec {
    /// The text field or column (`text` by default; unused for plain text).
    pub field: Option<String>,
    /// A field or column giving the record's source, for `--by-source`.
    pub group: Option<String>,
}

impl FieldSpec {
    pub(crate) fn field(&self) -> &str {
        self.field.as_deref().unwrap_or("text")
    }
}

pub(crate) fn json_get<'a>(v: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    if let Some(x) = v.get(path) {
        return Some(x);
    }
    let mut cur = v;
    for part in path.split('.') {
        cur = match cur {
            serde_json::Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => cur.get(part)?,
        };
    }
    Some(cur)
}

pub(crate) fn json_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Chunked reading. A reader thread cuts one input into chunks; workers parse
// them (pipeline.rs). Line formats travel as raw blocks ending at a line
// break, so splitting lines, checking UTF-8 and parsing JSON happen in the
// workers, in parallel; CSV, TSV and Parquet are cut into records by the
// reader and travel packed into one buffer per chunk.

/// A span of a chunk's buffer.
pub(crate) type Span = (usize, usize);

/// One record of a packed chunk.
#[derive(Debug)]
pub(crate) struct PackedRec {
    pub number: u64,
    pub offset: u64,
    pub text: Result<Span, String>,
    pub group: Option<Span>,
}

#[derive(Debug)]
pub(crate) enum Body {
    /// Whole lines of a text or JSONL input.
    Lines {
        buf: Vec<u8>,
        first_number: u64,
        offset: u64,
        jsonl: bool,
    },
    /// Records cut by the reader; texts and groups packed in `buf`, back to
    /// back, covering it.
    Packed { buf: Vec<u8>, recs: Vec<PackedRec> },
    /// One window of a plain-text line longer than the window size, cut by
    /// the reader so that the line is never held whole: `buf` is the
    /// window's text (invalid UTF-8 already replaced, BOM and line end left
    /// out), `win` where it lies in the record.
    Window {
        buf: Vec<u8>,
        number: u64,
        offset: u64,
        win: Window,
        warn: Option<String>,
    },
}

/// Where a window of a long record lies: byte offsets into the record's
/// text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Offset of the window's first byte in the record.
    pub start: usize,
    /// Hits starting at or after this offset belong to the next window
    /// (the overlap); the record's length for the last window.
    pub keep_below: usize,
    /// The record's last window.
    pub last: bool,
}

/// The overlap of windows of `max` bytes: a quarter, at most 64 KiB.
pub(crate) fn overlap_for(max: usize) -> usize {
    (max / 4).min(64 << 10)
}

/// The window of at most `max` bytes starting at the beginning of `t` (a
/// record's valid UTF-8 text from the window's start on; the whole rest of
/// the record when the result says `last`, else at least `max + 1` bytes):
/// `(end, next start, last)`, relative to `t`. A window never splits a
/// character; one smaller than a character takes the character.
pub(crate) fn window_at(t: &[u8], max: usize, overlap: usize) -> (usize, usize, bool) {
    let boundary = |i: usize| i == 0 || i >= t.len() || (t[i] as i8) >= -0x40;
    let floor = |mut i: usize| {
        while !boundary(i) {
            i -= 1;
        }
        i
    };
    let mut we = floor(max.min(t.len()));
    if we == 0 {
        we = match t.first() {
            None => 0,
            Some(&b) if b < 0x80 => 1,
            Some(&b) if b >= 0xf0 => 4,
            Some(&b) if b >= 0xe0 => 3,
            Some(_) => 2,
        }
        .min(t.len());
    }
    let last = we >= t.len();
    let next = if last {
        t.len()
    } else {
        let n = floor(we.saturating_sub(overlap));
        if n == 0 { we } else { n }
    };
    (we, next, last)
}

/// Replaces invalid UTF-8 in `buf[from..]` by U+007F bytes, one for one,
/// noting where each invalid sequence began; an incomplete sequence at the
/// end is left for more bytes unless `end`. Returns how far `buf` is fixed.
/// Fixing in steps gives the same bytes as fixing the whole at once.
pub(crate) fn fix_utf8_prefix(
    buf: &mut [u8],
    from: usize,
    end: bool,
    bad: &mut Vec<usize>,
) -> usize {
    // The common case, valid text, in one SIMD pass.
    if buf
        .get(from..)
        .is_some_and(|b| simdutf8::basic::from_utf8(b).is_ok())
    {
        return buf.len();
    }
    let mut i = from;
    loop {
        match std::str::from_utf8(&buf[i..]) {
            Ok(_) => return buf.len(),
            Err(e) => {
                let p = i + e.valid_up_to();
                let n = match e.error_len() {
                    Some(n) => n,
                    None if !end => return p,
                    None => buf.len() - p,
                };
                bad.push(p);
                for b in &mut buf[p..p + n] {
                    *b = 0x7f;
                }
                i = p + n;
            }
        }
    }
}

/// Where chunks go: returns `false` when the run stopped.
pub(crate) type ChunkSink<'s> = dyn FnMut(Body) -> bool + 's;

/// Reading settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadCfg {
    /// Bytes per chunk (about; a chunk always ends at a record boundary).
    pub chunk_bytes: usize,
    /// Records per packed chunk at most.
    pub chunk_records: usize,
    /// Threads decompressing the frames of a multi-frame zstd file or the
    /// members of a BGZF file.
    pub decompress_threads: usize,
    /// Plain-text lines longer than this many bytes are handed on in
    /// overlapping windows ([`Body::Window`]); 0: never.
    pub window_bytes: usize,
}

/// The size of a plain (uncompressed) text or JSONL file larger than `min`
/// bytes, which can be read in parts ([`LineRange`]); `None` for any other
/// input (smaller, stdin, CSV, TSV, Parquet, gzip, zstd) or one that cannot
/// be opened (reading it whole reports the error). The size is asked first:
/// only a large file is opened for its magic bytes.
pub(crate) fn plain_len(spec: &InputSpec, min: u64) -> Option<u64> {
    if !matches!(spec.format, InputFormat::Text | InputFormat::Jsonl) {
        return None;
    }
    let path = spec.path.as_deref()?;
    let len = std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file() && m.len() > min)?
        .len();
    let mut f = File::open(path).ok()?;
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    (!compressed(&head[..got])).then_some(len)
}

/// A reader of lines ([`read_lines`]) that can append to a chunk's buffer
/// directly: a plain file is read by the kernel into the chunk, not into a
/// reader's buffer and then copied (that copy was a seventh of a reader's
/// CPU time).
pub(crate) trait Source: BufRead + Send {
    /// Appends at most `max` bytes to `buf`; 0 at the end of the input.
    fn append(&mut self, buf: &mut Vec<u8>, max: usize) -> std::io::Result<usize> {
        append_buffered(self, buf, max)
    }
}

/// [`Source::append`] through the reader's buffer (a copy).
fn append_buffered<R: BufRead + ?Sized>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<usize> {
    let b = r.fill_buf()?;
    let n = b.len().min(max);
    buf.extend_from_slice(&b[..n]);
    r.consume(n);
    Ok(n)
}

/// Any buffered reader (a decompressing one, stdin): through its buffer.
impl Source for Box<dyn BufRead + Send> {}

/// Reads up to `max` bytes of `f` straight into `buf`'s spare capacity
/// (`File` reads into it without zeroing it first).
fn append_direct(f: &mut File, buf: &mut Vec<u8>, max: u64) -> std::io::Result<usize> {
    buf.reserve(max.min(usize::MAX as u64) as usize);
    f.take(max).read_to_end(buf)
}

impl Source for BufReader<File> {
    fn append(&mut self, buf: &mut Vec<u8>, max: usize) -> std::io::Result<usize> {
        if !self.buffer().is_empty() {
            return append_buffered(self, buf, max);
        }
        append_direct(self.get_mut(), buf, max as u64)
    }
}

/// A plain (uncompressed) file, read directly ([`Source`]); any other input
/// through [`decompress`].
fn open_source(path: &Path) -> std::io::Result<Box<dyn Source>> {
    Ok(match sniff(File::open(path)?)? {
        Sniffed::Plain(br) => Box::new(br),
        Sniffed::Decoded(d) => Box::new(d),
    })
}

/// The lines of a plain file that start at a byte in `[start, end)`: a
/// part of the file one reader reads while others read the parts beside
/// it. The part's first line is the one after the first line break at or
/// after `start - 1`; its last line is the one holding byte `end - 1`,
/// read to its line break (or the end of the file), so the parts of a file
/// hold each of its lines exactly once.
pub(crate) struct LineRange<R> {
    inner: R,
    /// File position of the next byte handed out.
    pos: u64,
    end: u64,
    /// Where a line break just before `pos` was seen: at `end`, the part
    /// ends there.
    nl_at: Option<u64>,
    /// Past `end`: the position just after the line break that ends the
    /// part's last line, once seen.
    stop_at: Option<u64>,
    done: bool,
}

impl LineRange<BufReader<File>> {
    /// Opens the part `[start, end)` of the file at `path`; the position of
    /// its first line comes with it.
    pub(crate) fn open(path: &Path, start: u64, end: u64) -> std::io::Result<(Self, u64)> {
        use std::io::{Seek, SeekFrom};
        let mut f = File::open(path)?;
        let mut pos = start;
        if start > 0 {
            f.seek(SeekFrom::Start(start - 1))?;
            pos = start - 1;
        }
        let mut inner = BufReader::with_capacity(1 << 16, f);
        if start > 0 {
            // Skip the end of the line that started before `start`.
            loop {
                let b = match inner.fill_buf() {
                    Ok(b) => b,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                if b.is_empty() {
                    break;
                }
                let (n, found) = match memchr::memchr(b'\n', b) {
                    Some(i) => (i + 1, true),
                    None => (b.len(), false),
                };
                inner.consume(n);
                pos += n as u64;
                if found {
                    break;
                }
            }
        }
        let r = LineRange {
            inner,
            pos,
            end,
            nl_at: None,
            stop_at: None,
            // No line starts in the part: the line before ran past its end.
            done: pos >= end && start > 0,
        };
        Ok((r, pos))
    }
}

impl<R: BufRead> Read for LineRange<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let b = self.fill_buf()?;
            let n = b.len().min(out.len());
            out[..n].copy_from_slice(&b[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineRange<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.done {
            return Ok(&[]);
        }
        let (pos, end) = (self.pos, self.end);
        if pos >= end && (self.nl_at == Some(pos) || pos == 0) {
            // The last line ended exactly at `end` (or the part is empty).
            self.done = true;
            return Ok(&[]);
        }
        let b = self.inner.fill_buf()?;
        if pos < end {
            let n = (end - pos).min(b.len() as u64) as usize;
            if n > 0 && b[n - 1] == b'\n' {
                self.nl_at = Some(pos + n as u64);
            }
            return Ok(&b[..n]);
        }
        // Past `end`: the rest of the line that holds byte `end - 1`.
        match memchr::memchr(b'\n', b) {
            Some(i) => {
                self.stop_at = Some(pos + i as u64 + 1);
                Ok(&b[..=i])
            }
            None => Ok(b),
        }
    }

    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
        self.pos += n as u64;
        if self.stop_at.is_some_and(|s| self.pos >= s) {
            self.done = true;
        }
    }
}

impl Source for LineRange<BufReader<File>> {
    fn append(&mut self, buf: &mut Vec<u8>, max: usize) -> std::io::Result<usize> {
        // Inside the range and nothing buffered: straight from the file.
        // The rest (the buffer, the last line past `end`) as `fill_buf`
        // hands it out.
        if self.done || self.pos >= self.end || !self.inner.buffer().is_empty() {
            return append_buffered(self, buf, max);
        }
        let from = buf.len();
        let n = append_direct(
            self.inner.get_mut(),
            buf,
            (self.end - self.pos).min(max as u64),
        )?;
        self.pos += n as u64;
        if buf[from..].last() == Some(&b'\n') {
            self.nl_at = Some(self.pos);
        }
        Ok(n)
    }
}

/// Reads one input, or a part of a plain one (`range`: its bytes, see
/// [`LineRange`]; the record numbers then count from the part's first
/// line, as 1), into chunks. An error that stops the input (cannot open,
/// missing column, broken stream) becomes a packed record error numbered 0
/// after the chunks read so far. Returns the number of lines read when the
/// input was read to its end as lines (text, JSONL), else `None`.
pub(crate) fn read_chunks(
    spec: &InputSpec,
    range: Option<(u64, u64)>,
    fields: &FieldSpec,
    cfg: ReadCfg,
    sink: &mut ChunkSink<'_>,
) -> Option<u64> {
    let r = match spec.format {
        InputFormat::Parquet => match spec.path.as_deref() {
            Some(p) => {
                crate::parquet_in::read_parquet(p, &spec.name, fields, cfg, sink).map(|()| None)
            }
            None => Err(ScanError::Input(
                "-: parquet cannot be read from stdin".into(),
            )),
        },
        _ => {
            // The reader, and the offset of its first byte in the input.
            let reader = match (&spec.path, range) {
                (Some(p), Some((start, end))) => LineRange::open(p, start, end)
                    .map(|(part, first)| (Box::new(part) as Box<dyn Source>, first))
                    .map_err(io_err(p)),
                (Some(p), None) => match open_parallel(p, cfg.decompress_threads) {
                    Some(r) => Ok((Box::new(r) as Box<dyn Source>, 0)),
                    None => open_source(p).map(|r| (r, 0)).map_err(io_err(p)),
                },
                (None, _) => decompress(std::io::stdin())
                    .map(|r| (Box::new(r) as Box<dyn Source>, 0))
                    .map_err(io_err(Path::new("-"))),
            };
            match reader {
                Err(e) => Err(e),
                Ok((r, first)) => match spec.format {
                    InputFormat::Csv | InputFormat::Tsv => {
                        read_delimited(r as Box<dyn BufRead + Send>, spec, fields, cfg, sink)
                            .map(|()| None)
                    }
                    _ => read_lines(r, spec, first, cfg, sink).map(Some),
                },
            }
        }
    };
    r.unwrap_or_else(|e| {
        sink(Body::Packed {
            buf: Vec::new(),
            recs: vec![PackedRec {
                number: 0,
                offset: 0,
                text: Err(e.to_string()),
                group: None,
            }],
        });
        None
    })
}

/// Counts line breaks.
pub(crate) fn count_lines(b: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', b).count() as u64
}

/// Reads whole lines into chunks, the first at byte `offset` of the input;
/// returns the number of lines read.
fn read_lines(
    mut reader: Box<dyn Source>,
    spec: &InputSpec,
    mut offset: u64,
    cfg: ReadCfg,
    sink: &mut ChunkSink<'_>,
) -> Result<u64, ScanError> {
    let path = spec.path.clone().unwrap_or_else(|| PathBuf::from("-"));
    let jsonl = spec.format == InputFormat::Jsonl;
    let want = cfg.chunk_bytes.max(1);
    let mut carry: Vec<u8> = Vec::new();
    let mut number = 1u64;
    // Plain-text lines longer than this are handed on in windows.
    let window = if jsonl { 0 } else { cfg.window_bytes };
    'outer: loop {
        let mut buf = Vec::with_capacity(want + carry.len() + 1);
        buf.append(&mut carry);
        let mut eof = false;
        let mut last_nl: Option<usize> = None;
        // Read until the block holds a line break and `want` bytes, or EOF:
        // the rest of the block at once, then 64 KiB at a time (a long line).
        loop {
            let before = buf.len();
            let max = if before < want {
                want - before
            } else {
                1 << 16
            };
            let got = match reader.append(&mut buf, max) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    // Hand on the whole lines read so far, then the error.
                    if let Some(p) = memchr::memrchr(b'\n', &buf) {
                        buf.truncate(p + 1);
                        sink(Body::Lines {
                            buf,
                            first_number: number,
                            offset,
                            jsonl,
                        });
                    }
                    return Err(ScanError::Io { path, source });
                }
            };
            if got == 0 {
                eof = true;
                break;
            }
            if let Some(q) = memchr::memrchr(b'\n', &buf[before..]) {
                last_nl = Some(before + q);
            }
            // A line already over the window size: the whole lines before
            // it go on as a chunk, the line itself in windows.
            let tail = last_nl.map_or(0, |q| q + 1);
            if window > 0 && buf.len() - tail > window + 1 {
                let line = buf.split_off(tail);
                if !buf.is_empty() {
                    let lines = count_lines(&buf);
                    if !send_lines(sink, buf, lines, (&mut number, &mut offset), jsonl) {
                        return Ok(number - 1);
                    }
                }
                let Some((len, at_end)) =
                    read_long_line(&mut reader, line, number, offset, window, &path, sink)?
                else {
                    return Ok(number - 1);
                };
                number += 1;
                offset += len;
                if at_end {
                    return Ok(number - 1);
                }
                continue 'outer;
            }
            if last_nl.is_some() && buf.len() >= want {
                break;
            }
        }
        if !eof && let Some(p) = memchr::memrchr(b'\n', &buf) {
            carry.extend_from_slice(&buf[p + 1..]);
            buf.truncate(p + 1);
        }
        if buf.is_empty() {
            return Ok(number - 1);
        }
        let lines = count_lines(&buf) + u64::from(!buf.ends_with(b"\n"));
        if !send_lines(sink, buf, lines, (&mut number, &mut offset), jsonl) {
            return Ok(number - 1);
        }
        if eof {
            return Ok(number - 1);
        }
    }
}

/// Hands on `buf`, holding `lines` records, as one chunk; then the next record's
/// number and byte offset (`at`) move past it. False when the run stopped.
fn send_lines(
    sink: &mut ChunkSink<'_>,
    buf: Vec<u8>,
    lines: u64,
    at: (&mut u64, &mut u64),
    jsonl: bool,
) -> bool {
    let (number, offset) = at;
    let len = buf.len() as u64;
    let sent = sink(Body::Lines {
        buf,
        first_number: *number,
        offset: *offset,
        jsonl,
    });
    *number += lines;
    *offset += len;
    sent
}

/// Reads the rest of a plain-text line longer than `max` bytes (`line`: its
/// first bytes, no line break) and hands it on in overlapping windows
/// ([`Body::Window`]), the same windows `pipeline::hits_windowed` screens a
/// whole record in: never more than about one window of the line is held.
/// Returns the line's length in the input (with its line break) and whether
/// the input ended; `None` when the run stopped.
fn read_long_line(
    reader: &mut Box<dyn Source>,
    mut line: Vec<u8>,
    number: u64,
    offset: u64,
    max: usize,
    path: &Path,
    sink: &mut ChunkSink<'_>,
) -> Result<Option<(u64, bool)>, ScanError> {
    let overlap = overlap_for(max);
    let mut raw = line.len() as u64;
    // The byte order mark of the first line is no part of the record.
    let skip = if number == 1 && offset == 0 && line.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    line.drain(..skip);
    // Offset of line[0] in the record's text.
    let mut base = 0usize;
    let mut bad = Vec::new();
    let mut warn: Option<String> = None;
    let mut warned = false;
    let mut note = |bad: &mut Vec<usize>, base: usize, warn: &mut Option<String>| {
        if !warned && let Some(&p) = bad.first() {
            warned = true;
            *warn = Some(format!(
                "invalid UTF-8 at byte {}: read lossily (each invalid byte as U+007F); later invalid bytes in this input are not reported",
                offset + (skip + base + p) as u64
            ));
        }
        bad.clear();
    };
    let mut fixed = fix_utf8_prefix(&mut line, 0, false, &mut bad);
    note(&mut bad, base, &mut warn);
    let mut at_end = false;
    loop {
        // Every window that is surely not the record's last (and whose
        // first character, should it be wider than the window, is whole).
        while fixed > max + 4 {
            let (we, next, _) = window_at(&line[..fixed], max, overlap);
            let body = take_window(&mut line, we, next, &mut base, (number, offset), &mut warn);
            if !sink(body) {
                return Ok(None);
            }
            fixed -= next;
        }
        let (got, nl) = match reader.fill_buf() {
            Ok(b) => match b.iter().position(|&c| c == b'\n') {
                Some(k) => {
                    line.extend_from_slice(&b[..k]);
                    (k + 1, true)
                }
                None => {
                    line.extend_from_slice(b);
                    (b.len(), false)
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(ScanError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        if got == 0 {
            at_end = true;
        } else {
            reader.consume(got);
            raw += got as u64;
        }
        let done = nl || at_end;
        fixed = fix_utf8_prefix(&mut line, fixed, done, &mut bad);
        note(&mut bad, base, &mut warn);
        if done {
            break;
        }
    }
    // The line is complete: its text ends before a `\r\n`.
    let mut len = line.len();
    if line.last() == Some(&b'\r') {
        len -= 1;
    }
    loop {
        let (we, next, last) = window_at(&line[..len], max, overlap);
        if last {
            line.truncate(len);
            let body = Body::Window {
                buf: line,
                number,
                offset,
                win: Window {
                    start: base,
                    keep_below: base + len,
                    last: true,
                },
                warn: warn.take(),
            };
            if !sink(body) {
                return Ok(None);
            }
            return Ok(Some((raw, at_end)));
        }
        let body = take_window(&mut line, we, next, &mut base, (number, offset), &mut warn);
        if !sink(body) {
            return Ok(None);
        }
        len -= next;
    }
}

/// The window `line[..we]` of a long record (not its last) as a body; then `line`
/// drops the first `next` bytes, which no later window needs, and `base` (the
/// offset of `line[0]` in the record's text) moves on by as many.
fn take_window(
    line: &mut Vec<u8>,
    we: usize,
    next: usize,
    base: &mut usize,
    (number, offset): (u64, u64),
    warn: &mut Option<String>,
) -> Body {
    let body = Body::Window {
        buf: line[..we].to_vec(),
        number,
        offset,
        win: Window {
            start: *base,
            keep_below: *base + next,
            last: false,
        },
        warn: warn.take(),
    };
    line.drain(..next);
    *base += next;
    body
}

fn read_delimited(
    reader: Box<dyn BufRead + Send>,
    spec: &InputSpec,
    fields: &FieldSpec,
    cfg: ReadCfg,
    sink: &mut ChunkSink<'_>,
) -> Result<(), ScanError> {
    let tsv = spec.format == InputFormat::Tsv;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(if tsv { b'\t' } else { b',' })
        .quoting(!tsv)
        .flexible(true)
        .has_headers(true)
        .buffer_capacity(1 << 16)
        .from_reader(reader);
    let headers = rdr
        .byte_headers()
        .map_err(|e| ScanError::Input(format!("{}: cannot read the header row: {e}", spec.name)))?
        .clone();
    let find = |name: &str| {
        headers.iter().position(|h| {
            let h = h.strip_prefix("\u{feff}".as_bytes()).unwrap_or(h);
            h == name.as_bytes()
        })
    };
    let col = find(fields.field()).ok_or_else(|| {
        let names: Vec<String> = headers
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect();
        ScanError::Input(format!(
            "{}: record 0 (header) at byte 0: missing column `{}` (columns: {})",
            spec.name,
            fields.field(),
            names.join(", ")
        ))
    })?;
    let gcol = fields.group.as_deref().and_then(find);
    let mut rec = csv::ByteRecord::new();
    let mut number = 0u64;
    let mut packer = Packer::new(cfg);
    loop {
        let offset = rdr.position().byte();
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => {
                packer.flush(sink);
                return Ok(());
            }
            Ok(true) => {
                number += 1;
                match rec.get(col) {
                    None => packer.err(
                        number,
                        offset,
                        format!(
                            "row has no column `{}` ({} fields)",
                            fields.field(),
                            rec.len()
                        ),
                    ),
                    Some(b) => packer.rec(number, offset, b, gcol.and_then(|g| rec.get(g))),
                }
            }
            Err(e) => {
                number += 1;
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                packer.err(number, offset, format!("malformed row: {e}"));
                if fatal {
                    packer.flush(sink);
                    return Ok(());
                }
            }
        }
        if packer.full() && !packer.flush(sink) {
            return Ok(());
        }
    }
}

/// Packs records cut by a reader into chunks.
pub(crate) struct Packer {
    cfg: ReadCfg,
    buf: Vec<u8>,
    recs: Vec<PackedRec>,
}

impl Packer {
    pub(crate) fn new(cfg: ReadCfg) -> Packer {
        Packer {
            cfg,
            buf: Vec::new(),
            recs: Vec::new(),
        }
    }

    pub(crate) fn rec(&mut self, number: u64, offset: u64, text: &[u8], group: Option<&[u8]>) {
        let s = self.buf.len();
        self.buf.extend_from_slice(text);
        let t = (s, self.buf.len());
        let group = group.map(|g| {
            let s = self.buf.len();
            self.buf.extend_from_slice(g);
            (s, self.buf.len())
        });
        self.recs.push(PackedRec {
            number,
            offset,
            text: Ok(t),
            group,
        });
    }

    pub(crate) fn err(&mut self, number: u64, offset: u64, message: String) {
        self.recs.push(PackedRec {
            number,
            offset,
            text: Err(message),
            group: None,
        });
    }

    pub(crate) fn full(&self) -> bool {
        self.recs.len() >= self.cfg.chunk_records || self.buf.len() >= self.cfg.chunk_bytes
    }

    /// Sends what is packed; `false` when the run stopped.
    pub(crate) fn flush(&mut self, sink: &mut ChunkSink<'_>) -> bool {
        if self.recs.is_empty() {
            return true;
        }
        sink(Body::Packed {
            buf: std::mem::take(&mut self.buf),
            recs: std::mem::take(&mut self.recs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The empty member bgzip ends a file with.
    const BGZF_EOF: [u8; 28] = [
        0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0x1b, 0, 3, 0, 0, 0, 0, 0,
        0, 0, 0, 0,
    ];

    #[test]
    fn bgzf_members_are_found_and_anything_else_is_refused() {
        let two = [BGZF_EOF, BGZF_EOF].concat();
        assert_eq!(bgzf_members(&two), Some(vec![(0, 28), (28, 56)]));
        let mut out = Vec::new();
        decode_gzip_member(&two[28..], &mut out).expect("inflate");
        assert!(out.is_empty());
        // Truncated, or a plain gzip member (no BC field): not BGZF.
        assert_eq!(bgzf_members(&two[..40]), None);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"text\n").expect("gzip");
        assert_eq!(bgzf_members(&gz.finish().expect("gzip")), None);
        // A size field pointing past the end.
        let mut bad = BGZF_EOF;
        bad[16] = 0xff;
        assert_eq!(bgzf_members(&bad), None);
    }

    /// One BGZF member holding `data`.
    fn member(data: &[u8]) -> Vec<u8> {
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut d, data).expect("deflate");
        let cdata = d.finish().expect("deflate");
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let mut m = BGZF_EOF[..16].to_vec();
        m.extend_from_slice(&((cdata.len() + 25) as u16).to_le_bytes());
        m.extend_from_slice(&cdata);
        m.extend_from_slice(&crc.sum().to_le_bytes());
        m.extend_from_slice(&(data.len() as u32).to_le_bytes());
        m
    }

    #[test]
    fn bgzf_files_are_inflated_in_parallel_in_order() {
        let text: Vec<u8> = (0..5000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let mut file = Vec::new();
        for c in text.chunks(777) {
            file.extend(member(c));
        }
        file.extend_from_slice(&BGZF_EOF);
        let dir = std::env::temp_dir().join(format!("beian-bgzf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("t.txt.gz");
        std::fs::write(&path, &file).expect("write");
        // One thread: the stream decoder; several: member by member.
        assert!(open_parallel(&path, 1).is_none());
        let mut r = open_parallel(&path, 3).expect("BGZF is read in parallel");
        let mut got = Vec::new();
        r.read_to_end(&mut got).expect("read");
        assert_eq!(got, text);
        let mut plain = Vec::new();
        open(&path)
            .expect("open")
            .read_to_end(&mut plain)
            .expect("read");
        assert_eq!(plain, text);
        // Damage one member's deflate data: an error, not silent loss.
        let mut bad = file.clone();
        bad[40] ^= 0xff;
        std::fs::write(&path, &bad).expect("write");
        let mut r = open_parallel(&path, 3).expect("still BGZF by its headers");
        assert!(r.read_to_end(&mut Vec::new()).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
