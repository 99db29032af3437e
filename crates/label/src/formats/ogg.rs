//! Writing Vorbis comments into Ogg files (Vorbis, Opus, FLAC-in-Ogg, Theora, Speex)
//! without touching the media packets.
//!
//! The comment header packet of each stream is rewritten (`AIGC=<payload>`, replacing
//! an existing entry, other entries and the vendor string kept), the stream's header
//! packets after the identification header are laid out on new pages, and, when that
//! changes the stream's page count, the sequence numbers of its later pages are shifted
//! and their CRCs updated. Page bodies (audio and video packets), granule positions and
//! other streams' pages are copied unchanged.
//!
//! CRC updates of later pages use the linearity of the Ogg CRC (no reflection, zero
//! initial value, no final XOR), so their bodies are never read: a page that was
//! damaged before stays damaged. Header pages that are rewritten must carry a valid CRC,
//! else the file is refused.
//!
//! A Skeleton stream (`fishead`) is kept. Skeleton 3 holds no byte offsets and is copied
//! as it was. Skeleton 4 holds three kinds: the segment length and the content offset in
//! its `fishead`, and the keyframe offsets of each `index` packet (delta-coded varints,
//! so only the first keypoint of each index changes). A longer comment header moves
//! every one of them by the same amount, the bytes the header pages grew by, which
//! includes the Skeleton's own pages when a varint gets longer: that amount is found by
//! iterating to a fixed point. (Layout per the Ogg Skeleton 4.0 specification, Xiph
//! wiki `Ogg_Skeleton_4`, as Firefox's `SkeletonState` reads it.)

use crate::io::{MAX_ITEM, MAX_NODES, Piece, Src, le32};
use crate::{Config, Error};

/// Most bytes of Ogg pages read while collecting header packets.
const HEAD_LIMIT: u64 = 2 * MAX_ITEM;
/// Most header packets per stream (FLAC-in-Ogg metadata blocks; a Skeleton has a
/// fisbone and an index per stream, 32 streams at most, and its end packet).
const MAX_HEADERS: usize = 66;
/// Least length of a Skeleton 4 `fishead` packet, and where its byte offsets are.
const SKELETON4_HEAD: usize = 80;
const FISHEAD_SEGMENT_LENGTH: usize = 64;
const FISHEAD_CONTENT_OFFSET: usize = 72;
/// Least length of a Skeleton 4 `index` packet, and where its keypoints start.
const INDEX_KEYPOINTS: usize = 42;

const TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut j = 0;
        while j < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04C1_1DB7
            } else {
                r << 1
            };
            j += 1;
        }
        t[i] = r;
        i += 1;
    }
    t
};

/// The Ogg page CRC (polynomial 0x04C11DB7, MSB first, initial value `c`).
pub fn crc(mut c: u32, b: &[u8]) -> u32 {
    for &x in b {
        c = (c << 8) ^ TABLE[(((c >> 24) as u8) ^ x) as usize];
    }
    c
}

/// `a * b mod P` over GF(2) (P the Ogg CRC polynomial, x^32 implicit).
fn mulmod(a: u32, b: u32) -> u32 {
    let mut r = 0u32;
    for i in (0..32).rev() {
        let carry = r & 0x8000_0000 != 0;
        r <<= 1;
        if carry {
            r ^= 0x04C1_1DB7;
        }
        if b >> i & 1 == 1 {
            r ^= a;
        }
    }
    r
}

/// The CRC state `c` after `n` zero bytes: `c * x^(8n) mod P`, by squaring (so a
/// renumbered page's CRC costs the same whatever its length).
fn crc_zeros(c: u32, mut n: u64) -> u32 {
    let mut pow = 1u32; // x^0
    let mut base = 1u32 << 8; // x^8
    while n > 0 {
        if n & 1 == 1 {
            pow = mulmod(pow, base);
        }
        base = mulmod(base, base);
        n >>= 1;
    }
    mulmod(c, pow)
}

/// An Ogg page header as found in the file.
#[derive(Debug, Clone)]
struct Page {
    off: u64,
    head: Vec<u8>, // the 27 fixed bytes
    lacing: Vec<u8>,
    body_len: u64,
}

impl Page {
    fn flags(&self) -> u8 {
        self.head[5]
    }
    fn serial(&self) -> u32 {
        le32(&self.head, 14)
    }
    fn seq(&self) -> u32 {
        le32(&self.head, 18)
    }
    fn crc(&self) -> u32 {
        le32(&self.head, 22)
    }
    fn len(&self) -> u64 {
        27 + self.lacing.len() as u64 + self.body_len
    }
    fn body_off(&self) -> u64 {
        self.off + 27 + self.lacing.len() as u64
    }
}

fn read_page(src: &mut Src, off: u64) -> Result<Page, Error> {
    let head = src.read_at(off, 27, "Ogg page header")?;
    if &head[..4] != b"OggS" {
        return Err(Error::Malformed(format!("Ogg: no page at byte {off}")));
    }
    if head[4] != 0 {
        return Err(Error::Malformed(format!(
            "Ogg page at byte {off}: stream structure version {}",
            head[4]
        )));
    }
    let lacing = src.read_at(off + 27, head[26] as u64, "Ogg segment table")?;
    let body_len = lacing.iter().map(|&x| x as u64).sum();
    let p = Page {
        off,
        head,
        lacing,
        body_len,
    };
    if p.off + p.len() > src.len {
        return Err(Error::Truncated(format!("Ogg page at byte {off}")));
    }
    Ok(p)
}

/// Codec of a logical stream, from its first packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vorbis,
    Opus,
    Flac,
    Theora,
    Speex,
    /// Skeleton 4 (byte offsets to keep true); Skeleton 3 is `Other`.
    Skeleton,
    Other,
}

impl Kind {
    fn of(first: &[u8]) -> Result<Kind, Error> {
        Ok(if first.starts_with(b"\x01vorbis") {
            Kind::Vorbis
        } else if first.starts_with(b"OpusHead") {
            Kind::Opus
        } else if first.starts_with(b"\x7FFLAC") {
            Kind::Flac
        } else if first.starts_with(b"\x80theora") {
            Kind::Theora
        } else if first.starts_with(b"Speex   ") {
            Kind::Speex
        } else if first.starts_with(b"fishead\0") {
            match first.get(8..10).map(|v| u16::from_le_bytes([v[0], v[1]])) {
                // Skeleton 3 holds no byte offsets: copied as it is
                Some(0..=3) => Kind::Other,
                Some(4) if first.len() >= SKELETON4_HEAD => Kind::Skeleton,
                Some(4) => {
                    return Err(Error::Malformed(format!(
                        "Ogg Skeleton 4 fishead of {} bytes (at least {SKELETON4_HEAD})",
                        first.len()
                    )));
                }
                Some(v) => {
                    return Err(Error::Unsupported(format!(
                        "Ogg Skeleton version {v} (its byte offsets are not known; \
                         versions 3 and 4 are written)"
                    )));
                }
                None => {
                    return Err(Error::Malformed("Ogg Skeleton fishead is cut short".into()));
                }
            }
        } else {
            Kind::Other
        })
    }

    /// Header packets in all (identification, comment, ...), when fixed.
    fn headers(self, first: &[u8]) -> Option<usize> {
        match self {
            Kind::Vorbis | Kind::Theora => Some(3),
            Kind::Opus => Some(2),
            Kind::Speex => {
                let extra = first.get(68..72).map_or(0, |_| le32(first, 68) as usize);
                Some(2 + extra.min(MAX_HEADERS))
            }
            Kind::Flac | Kind::Skeleton | Kind::Other => None,
        }
    }

    /// The comment packet's prefix before the Vorbis comment body.
    fn prefix(self) -> &'static [u8] {
        match self {
            Kind::Vorbis => b"\x03vorbis",
            Kind::Opus => b"OpusTags",
            Kind::Theora => b"\x81theora",
            _ => b"",
        }
    }
}

/// One logical stream's headers as read.
struct Stream {
    serial: u32,
    kind: Kind,
    first: Vec<u8>,
    need: Option<usize>,
    /// Header packets after the first one.
    packets: Vec<Vec<u8>>,
    partial: Vec<u8>,
    /// Indices (into the header pages read) of pages holding packets after the first.
    pages: Vec<usize>,
    /// Index of its beginning-of-stream page.
    bos: usize,
    done: bool,
    eos: bool,
}

/// Length of a Vorbis comment body (vendor, count, entries); the rest is trailing data
/// (the Vorbis framing bit, Opus padding).
fn comment_len(b: &[u8]) -> Result<usize, Error> {
    let bad = || Error::Malformed("Ogg comment header: entries run past the packet".into());
    let vlen = b.get(0..4).map(|_| le32(b, 0) as usize).ok_or_else(bad)?;
    let mut p = 4usize.checked_add(vlen).ok_or_else(bad)?;
    b.get(p..p + 4).ok_or_else(bad)?;
    let n = le32(b, p) as usize;
    p += 4;
    if n > MAX_NODES {
        return Err(bad());
    }
    for _ in 0..n {
        b.get(p..p + 4).ok_or_else(bad)?;
        let l = le32(b, p) as usize;
        p = p.checked_add(4 + l).ok_or_else(bad)?;
        if p > b.len() {
            return Err(bad());
        }
    }
    Ok(p)
}

/// The new comment packet of a stream.
fn new_comment(kind: Kind, pkt: &[u8], key: &str, payload: &str) -> Result<Vec<u8>, Error> {
    if kind == Kind::Flac {
        if pkt.len() < 4 || pkt[0] & 0x7F != 4 {
            return Err(Error::Malformed(
                "Ogg FLAC: the second header packet is not a VORBIS_COMMENT block".into(),
            ));
        }
        let len = ((pkt[1] as usize) << 16) | ((pkt[2] as usize) << 8) | pkt[3] as usize;
        let body = pkt.get(4..4 + len).ok_or_else(|| {
            Error::Malformed("Ogg FLAC: VORBIS_COMMENT block runs past its packet".into())
        })?;
        let end = comment_len(body)?;
        let mut c = super::vorbis::comment_with(Some(&body[..end]), key, payload);
        c.extend_from_slice(&body[end..]);
        if c.len() >= 1 << 24 {
            return Err(Error::Unsupported("FLAC metadata block over 16 MiB".into()));
        }
        let n = c.len();
        let mut out = vec![pkt[0], (n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend(c);
        out.extend_from_slice(&pkt[4 + len..]);
        return Ok(out);
    }
    let prefix = kind.prefix();
    let body = pkt.strip_prefix(prefix).ok_or_else(|| {
        Error::Malformed(format!(
            "Ogg: the second header packet does not start with {:?}",
            String::from_utf8_lossy(prefix)
        ))
    })?;
    let end = comment_len(body)?;
    let mut out = prefix.to_vec();
    out.extend(super::vorbis::comment_with(
        Some(&body[..end]),
        key,
        payload,
    ));
    out.extend_from_slice(&body[end..]);
    Ok(out)
}

/// Lays packets out on pages numbered from `seq`: on `want` pages when they fit
/// (segments spread evenly, so later pages keep their numbers), else on as few pages
/// of at most 255 segments as they need.
fn lay(packets: &[Vec<u8>], serial: u32, seq: u32, eos: bool, want: usize) -> Vec<Vec<u8>> {
    // (segment length, packet index, last segment of its packet)
    let mut segs: Vec<(usize, usize, bool)> = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        let full = p.len() / 255;
        for _ in 0..full {
            segs.push((255, i, false));
        }
        segs.push((p.len() % 255, i, true));
    }
    let total = segs.len();
    let sizes: Vec<usize> = if want >= 1 && want <= total && total <= 255 * want {
        (0..want)
            .map(|i| total / want + usize::from(i < total % want))
            .collect()
    } else {
        (0..total.div_ceil(255))
            .map(|i| 255.min(total - 255 * i))
            .collect()
    };
    let mut pages = Vec::new();
    let mut pos = vec![0usize; packets.len()]; // bytes of each packet written
    let mut k = 0;
    let mut continued = false;
    for size in sizes {
        let chunk = &segs[k..k + size];
        k += chunk.len();
        let ends = chunk.iter().any(|s| s.2);
        let granule: u64 = if ends { 0 } else { u64::MAX };
        let mut flags = if continued { 0x01 } else { 0 };
        if eos && k == segs.len() {
            flags |= 0x04;
        }
        let mut page = b"OggS\0".to_vec();
        page.push(flags);
        page.extend_from_slice(&granule.to_le_bytes());
        page.extend_from_slice(&serial.to_le_bytes());
        page.extend_from_slice(&seq.wrapping_add(pages.len() as u32).to_le_bytes());
        page.extend_from_slice(&[0; 4]);
        page.push(chunk.len() as u8);
        page.extend(chunk.iter().map(|s| s.0 as u8));
        for &(l, i, _) in chunk {
            page.extend_from_slice(&packets[i][pos[i]..pos[i] + l]);
            pos[i] += l;
        }
        let c = crc(0, &page);
        page[22..26].copy_from_slice(&c.to_le_bytes());
        continued = !chunk.last().is_some_and(|s| s.2);
        pages.push(page);
    }
    pages
}

fn bytes_of(pages: &[Vec<u8>]) -> i64 {
    pages.iter().map(|p| p.len() as i64).sum()
}

/// Reads a Skeleton varint at `p` (7-bit groups, least significant first, the last byte
/// marked by its high bit): the value and the bytes it took.
fn read_varint(b: &[u8], p: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for i in 0..10 {
        let x = *b.get(p + i)?;
        let part = u64::from(x & 0x7F);
        if i == 9 && part > 1 {
            return None; // past 64 bits
        }
        v |= part << (7 * i);
        if x & 0x80 != 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn write_varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b | 0x80);
            return;
        }
        out.push(b);
    }
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

/// A Skeleton 4 stream's packets with its byte offsets moved by `by`: the fishead's
/// segment length and content offset (0 means unknown and stays 0; a value before
/// `floor`, the end of the rewritten pages, is left as it was), and the first keypoint
/// of each index (the others are deltas from it), which must lie at or after `floor`.
fn shift_skeleton(
    first: &[u8],
    packets: &[Vec<u8>],
    by: i64,
    floor: u64,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), Error> {
    let moved = |v: u64, what: &str| {
        v.checked_add_signed(by).ok_or_else(|| {
            Error::Malformed(format!("Ogg Skeleton {what} {v} cannot move by {by} bytes"))
        })
    };
    let mut head = first.to_vec();
    for (at, what) in [
        (FISHEAD_SEGMENT_LENGTH, "segment length"),
        (FISHEAD_CONTENT_OFFSET, "content offset"),
    ] {
        let v = le64(&head, at);
        if v >= floor && v != 0 {
            head[at..at + 8].copy_from_slice(&moved(v, what)?.to_le_bytes());
        }
    }
    let mut out = Vec::with_capacity(packets.len());
    for p in packets {
        if !p.starts_with(b"index\0") {
            out.push(p.clone());
            continue;
        }
        if p.len() < INDEX_KEYPOINTS {
            return Err(Error::Malformed(format!(
                "Ogg Skeleton index packet of {} bytes (at least {INDEX_KEYPOINTS})",
                p.len()
            )));
        }
        if le64(p, 10) == 0 || p.len() == INDEX_KEYPOINTS {
            out.push(p.clone()); // no keypoints
            continue;
        }
        let (v, n) = read_varint(p, INDEX_KEYPOINTS).ok_or_else(|| {
            Error::Malformed("Ogg Skeleton index: its first keypoint runs past the packet".into())
        })?;
        if v < floor {
            return Err(Error::Malformed(format!(
                "Ogg Skeleton index: a keypoint at byte {v} points into the header pages \
                 (they end at byte {floor})"
            )));
        }
        let mut q = p[..INDEX_KEYPOINTS].to_vec();
        write_varint(moved(v, "keypoint")?, &mut q);
        q.extend_from_slice(&p[INDEX_KEYPOINTS + n..]);
        out.push(q);
    }
    Ok((head, out))
}

/// The Skeleton 4 stream's new pages: its beginning page (the fishead, same length,
/// new CRC) and the pages of its other packets, with every offset moved by what the
/// header pages grow by. That includes the Skeleton's own pages when a keypoint's
/// varint gets longer, so the amount is iterated to a fixed point.
fn relay_skeleton(
    st: &Stream,
    head_pages: &[Page],
    grow: i64,
    floor: u64,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), Error> {
    let bos = &head_pages[st.bos];
    if bos.body_len != st.first.len() as u64 {
        return Err(Error::Unsupported(
            "Ogg Skeleton: its fishead does not fill its first page".into(),
        ));
    }
    let old: i64 = st.pages.iter().map(|&i| head_pages[i].len() as i64).sum();
    let seq = st.pages.first().map_or(0, |&i| head_pages[i].seq());
    let mut own = 0i64;
    for _ in 0..8 {
        let (head, packets) = shift_skeleton(&st.first, &st.packets, grow + own, floor)?;
        let pages = lay(&packets, st.serial, seq, st.eos, st.pages.len());
        let now = bytes_of(&pages) - old;
        if now == own {
            let mut page = bos.head.clone();
            page[22..26].fill(0);
            page.extend_from_slice(&bos.lacing);
            page.extend_from_slice(&head);
            let c = crc(0, &page);
            page[22..26].copy_from_slice(&c.to_le_bytes());
            return Ok((page, pages));
        }
        own = now;
    }
    Err(Error::Unsupported(
        "Ogg Skeleton: its page layout does not settle after moving its offsets".into(),
    ))
}

/// Plans an Ogg file with `AIGC=<payload>` in the comment header of every stream that
/// has one (Vorbis, Opus, FLAC, Theora, Speex).
pub fn plan(src: &mut Src, cfg: &Config, payload: &str) -> Result<Vec<Piece>, Error> {
    let Some(ch) = cfg.write_channel("ogg", "ogg:vorbis") else {
        return Ok(vec![Piece::Copy(0, src.len)]);
    };
    let key = ch.key.clone();
    let mut streams: Vec<Stream> = Vec::new();
    let mut head_pages: Vec<Page> = Vec::new();
    let mut off = 0u64;
    let mut read = 0u64;
    // 1. the pages up to the end of every stream's headers
    loop {
        if off >= src.len {
            break;
        }
        if head_pages.len() >= MAX_NODES {
            return Err(Error::Malformed("Ogg: too many header pages".into()));
        }
        let page = read_page(src, off)?;
        let bos = page.flags() & 0x02 != 0;
        let serial = page.serial();
        let idx = match streams.iter().position(|s| s.serial == serial) {
            Some(i) => i,
            None if bos => {
                if streams.len() >= 32 {
                    return Err(Error::Unsupported("Ogg: over 32 logical streams".into()));
                }
                streams.push(Stream {
                    serial,
                    kind: Kind::Other,
                    first: Vec::new(),
                    need: None,
                    packets: Vec::new(),
                    partial: Vec::new(),
                    pages: Vec::new(),
                    bos: head_pages.len(),
                    done: false,
                    eos: false,
                });
                streams.len() - 1
            }
            None => {
                return Err(Error::Malformed(format!(
                    "Ogg page at byte {off}: stream {serial:08x} has no beginning-of-stream page"
                )));
            }
        };
        if streams[idx].done {
            // a page after this stream's headers: the header part ends once all are done
            if streams.iter().all(|s| s.done) {
                break;
            }
            head_pages.push(page.clone());
            off += page.len();
            continue;
        }
        read += page.len();
        if read > HEAD_LIMIT {
            return Err(Error::Oversized {
                what: "Ogg header pages".into(),
                size: read,
            });
        }
        let body = src.read_at(page.body_off(), page.body_len, "Ogg page")?;
        let mut zeroed = page.head.clone();
        zeroed[22..26].fill(0);
        let c = crc(crc(crc(0, &zeroed), &page.lacing), &body);
        if c != page.crc() {
            return Err(Error::Malformed(format!(
                "Ogg page at byte {off}: CRC mismatch (stored {:08x}, computed {c:08x}); \
                 the header pages are damaged",
                page.crc()
            )));
        }
        let pi = head_pages.len();
        let st = &mut streams[idx];
        if page.flags() & 0x01 == 0 && !st.partial.is_empty() {
            return Err(Error::Malformed(format!(
                "Ogg page at byte {off}: a header packet is cut short"
            )));
        }
        st.eos |= page.flags() & 0x04 != 0;
        if !st.first.is_empty() && page.lacing.is_empty() {
            st.pages.push(pi); // an empty page among the header pages: re-laid with them
        }
        let mut p = 0usize;
        let nseg = page.lacing.len();
        for (si, &l) in page.lacing.iter().enumerate() {
            let l = l as usize;
            st.partial.extend_from_slice(&body[p..p + l]);
            p += l;
            if st.partial.len() as u64 > MAX_ITEM {
                return Err(Error::Oversized {
                    what: "Ogg header packet".into(),
                    size: st.partial.len() as u64,
                });
            }
            if !st.first.is_empty() && st.pages.last() != Some(&pi) {
                st.pages.push(pi);
            }
            if l == 255 {
                continue;
            }
            let pkt = std::mem::take(&mut st.partial);
            if st.first.is_empty() {
                st.kind = Kind::of(&pkt)?;
                st.need = st.kind.headers(&pkt);
                st.first = if pkt.is_empty() { vec![0] } else { pkt };
                if si + 1 != nseg {
                    return Err(Error::Malformed(format!(
                        "Ogg page at byte {off}: the first page of a stream holds more than \
                         its identification header"
                    )));
                }
                if st.kind == Kind::Other {
                    st.done = true;
                    break;
                }
                continue;
            }
            let last_flac = st.kind == Kind::Flac && pkt.first().is_some_and(|b| b & 0x80 != 0);
            st.packets.push(pkt);
            let complete = match st.need {
                Some(n) => st.packets.len() + 1 >= n,
                // a Skeleton's packets are all headers, up to its end-of-stream page
                None if st.kind == Kind::Skeleton => page.flags() & 0x04 != 0 && si + 1 == nseg,
                None => last_flac,
            };
            if complete {
                if si + 1 != nseg {
                    return Err(Error::Unsupported(format!(
                        "Ogg page at byte {off}: media data shares a page with the header \
                         packets"
                    )));
                }
                st.done = true;
            } else if st.packets.len() >= MAX_HEADERS {
                return Err(Error::Malformed(format!(
                    "Ogg: more than {MAX_HEADERS} header packets in one stream"
                )));
            }
        }
        head_pages.push(page.clone());
        off += page.len();
    }
    if streams.is_empty() {
        return Err(Error::Malformed("Ogg: no pages".into()));
    }
    let mut written = 0;
    // 2. new header pages per labelled stream, and each stream's page-count change
    let mut new_pages: Vec<(usize, Vec<Vec<u8>>)> = Vec::new(); // (first old page, pages)
    let mut skip = vec![false; head_pages.len()];
    let mut delta: Vec<(u32, i64)> = Vec::new();
    // bytes the header pages grow by (a comment header that shrinks gives less)
    let mut grow = 0i64;
    for st in &streams {
        if matches!(st.kind, Kind::Other | Kind::Skeleton) {
            continue;
        }
        if !st.done {
            return Err(Error::Truncated(format!(
                "Ogg stream {:08x}: its header packets",
                st.serial
            )));
        }
        let mut packets = st.packets.clone();
        packets[0] = new_comment(st.kind, &packets[0], &key, payload)?;
        let first = st.pages[0];
        let seq = head_pages[first].seq();
        let pages = lay(&packets, st.serial, seq, st.eos, st.pages.len());
        let d = pages.len() as i64 - st.pages.len() as i64;
        if d != 0 {
            delta.push((st.serial, d));
        }
        grow += bytes_of(&pages)
            - st.pages
                .iter()
                .map(|&i| head_pages[i].len() as i64)
                .sum::<i64>();
        for &i in &st.pages {
            skip[i] = true;
        }
        new_pages.push((first, pages));
        written += 1;
    }
    let skeletons: Vec<&Stream> = streams
        .iter()
        .filter(|s| s.kind == Kind::Skeleton)
        .collect();
    if skeletons.len() > 1 {
        return Err(Error::Malformed(
            "Ogg: more than one Skeleton stream".into(),
        ));
    }
    if let (Some(st), true) = (skeletons.first(), written > 0) {
        if !st.done {
            return Err(Error::Truncated(
                "Ogg Skeleton stream: no end-of-stream page before the media".into(),
            ));
        }
        // offsets at or after the end of the last page rewritten move; none may lie before
        let floor = head_pages
            .iter()
            .enumerate()
            .filter(|(i, _)| skip[*i] || st.pages.contains(i) || *i == st.bos)
            .map(|(_, p)| p.off + p.len())
            .max()
            .unwrap_or(0);
        let (bos, pages) = relay_skeleton(st, &head_pages, grow, floor)?;
        let d = pages.len() as i64 - st.pages.len() as i64;
        if d != 0 {
            delta.push((st.serial, d));
        }
        for &i in &st.pages {
            skip[i] = true;
        }
        skip[st.bos] = true;
        new_pages.push((st.bos, vec![bos]));
        if let Some(&first) = st.pages.first() {
            new_pages.push((first, pages));
        }
    }
    if written == 0 {
        return Err(Error::Unsupported(
            "this Ogg file has no stream with a comment header (Vorbis, Opus, FLAC, \
             Theora, Speex)"
                .into(),
        ));
    }
    // 3. the plan: header part with new pages, then the rest (renumbered if needed)
    let mut plan = Vec::new();
    let mut run: Option<(u64, u64)> = None; // pending copy
    let flush = |plan: &mut Vec<Piece>, run: &mut Option<(u64, u64)>| {
        if let Some((o, l)) = run.take() {
            plan.push(Piece::Copy(o, l));
        }
    };
    // (serials whose beginning page was seen, serials that began again)
    let mut seen: (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    let emit = |plan: &mut Vec<Piece>,
                run: &mut Option<(u64, u64)>,
                page: &Page,
                seen: &mut (Vec<u32>, Vec<u32>),
                after_headers: bool| {
        let serial = page.serial();
        if page.flags() & 0x02 != 0 {
            if seen.0.contains(&serial) {
                seen.1.push(serial); // a chained link reusing the serial starts afresh
            } else {
                seen.0.push(serial);
            }
        }
        let stopped = &seen.1;
        let d = delta
            .iter()
            .find(|x| x.0 == serial && after_headers && !stopped.contains(&serial))
            .map(|x| x.1);
        match d {
            None => match run {
                Some((o, l)) if *o + *l == page.off => *l += page.len(),
                _ => {
                    flush(plan, run);
                    *run = Some((page.off, page.len()));
                }
            },
            Some(d) => {
                flush(plan, run);
                let seq = (page.seq() as i64 + d) as u32;
                let mut diff = [0u8; 4];
                for (k, b) in diff.iter_mut().enumerate() {
                    *b = page.head[18 + k] ^ seq.to_le_bytes()[k];
                }
                let c = page.crc() ^ crc_zeros(crc(0, &diff), page.len() - 22);
                let mut h = page.head.clone();
                h[18..22].copy_from_slice(&seq.to_le_bytes());
                h[22..26].copy_from_slice(&c.to_le_bytes());
                plan.push(Piece::Bytes(h));
                *run = Some((page.off + 27, page.len() - 27));
            }
        }
    };
    for (i, page) in head_pages.iter().enumerate() {
        if let Some((_, pages)) = new_pages.iter_mut().find(|(f, _)| *f == i) {
            flush(&mut plan, &mut run);
            for p in std::mem::take(pages) {
                plan.push(Piece::Bytes(p));
            }
        }
        if skip[i] {
            continue;
        }
        let after = streams
            .iter()
            .find(|s| s.serial == page.serial())
            .is_some_and(|s| s.pages.last().is_some_and(|&l| i > l));
        emit(&mut plan, &mut run, page, &mut seen, after);
    }
    if delta.is_empty() {
        flush(&mut plan, &mut run);
        if off < src.len {
            plan.push(Piece::Copy(off, src.len - off));
        }
        return Ok(plan);
    }
    while off < src.len {
        let page = read_page(src, off)?;
        emit(&mut plan, &mut run, &page, &mut seen, true);
        off += page.len();
    }
    flush(&mut plan, &mut run);
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_a_known_page() {
        // the CRC of "OggS" + zeros is what libogg computes (checked by linearity)
        let a = crc(0, b"OggS\0\0\0\0");
        let b = crc_zeros(crc(0, b"OggS"), 4);
        assert_eq!(a, b);
        assert_ne!(a, 0);
    }

    #[test]
    fn zeros_by_squaring_match_the_bytewise_crc() {
        for n in [0u64, 1, 2, 7, 255, 4096, 65_307] {
            let mut c = crc(0, b"OggS page");
            let fast = crc_zeros(c, n);
            for _ in 0..n {
                c = (c << 8) ^ TABLE[(c >> 24) as usize];
            }
            assert_eq!(fast, c, "{n}");
        }
    }

    #[test]
    fn skeleton_varints_round_trip() {
        for v in [0u64, 1, 127, 128, 16_383, 16_384, 1 << 35, u64::MAX] {
            let mut b = vec![9u8];
            write_varint(v, &mut b);
            let (got, n) = read_varint(&b, 1).expect("reads back");
            assert_eq!((got, n + 1), (v, b.len()), "{v}");
        }
        // 128 is two bytes, the last one marked: 0x00 0x81
        let mut b = Vec::new();
        write_varint(128, &mut b);
        assert_eq!(b, [0x00, 0x81]);
        // unterminated, or past 64 bits
        assert!(read_varint(&[0x01, 0x02], 0).is_none());
        assert!(
            read_varint(
                &[0x7F; 9].iter().copied().chain([0x82]).collect::<Vec<_>>(),
                0
            )
            .is_none()
        );
    }

    #[test]
    fn keeps_the_page_count_when_it_can() {
        let packets = vec![vec![7u8; 5000]];
        let pages = lay(&packets, 9, 1, false, 3);
        assert_eq!(pages.len(), 3);
        // 20 segments on 3 pages: 7, 7, 6
        assert_eq!(pages.iter().map(|p| p[26]).collect::<Vec<_>>(), [7, 7, 6]);
        // more than 255 segments a page would need: as few pages as fit
        assert_eq!(lay(&[vec![1u8; 70_000]], 9, 1, false, 1).len(), 2);
    }

    #[test]
    fn lays_long_packets_over_pages() {
        let packets = vec![vec![7u8; 70_000], vec![1u8; 10]];
        let pages = lay(&packets, 9, 1, false, 0);
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0][5], 0, "first page is not a continuation");
        assert_eq!(pages[1][5], 1, "second page continues the packet");
        assert_eq!(&pages[0][6..14], &u64::MAX.to_le_bytes(), "no packet ends");
        let body: usize = pages.iter().map(|p| p.len() - 27 - p[26] as usize).sum();
        assert_eq!(body, 70_010);
    }
}
