//! ISO BMFF / QuickTime: MP4, MOV, M4A and HEIF/AVIF (read and write).
//!
//! Read: `moov/udta/meta` and `moov/meta` items (QuickTime `keys` + `ilst`, or iTunes
//! freeform `----` items), `moov/udta/XMP_`, the XMP `uuid` box, the C2PA `uuid` box;
//! for HEIF the `Exif` and XMP (`mime` application/rdf+xml) items of the top `meta`.
//! Media data (`mdat`) is skipped by seeking, never read.

use super::{C2pa, RawItem, Scan, text};
use crate::io::{MAX_NODES, Piece, Src, be16, be32, be64};
use crate::{Config, Error, exif};

/// The XMP uuid (BE7ACFCB-97A9-42E8-9C71-999491E3AFAC).
pub const XMP_UUID: [u8; 16] = [
    0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC,
];
/// The C2PA uuid (D8FEC3D6-1B0E-483C-9297-5828877EC481).
pub const C2PA_UUID: [u8; 16] = [
    0xD8, 0xFE, 0xC3, 0xD6, 0x1B, 0x0E, 0x48, 0x3C, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7E, 0xC4, 0x81,
];

/// A box: offset, header length, total size, type, uuid (for `uuid` boxes).
#[derive(Debug, Clone)]
pub(crate) struct Bx {
    pub off: u64,
    pub hdr: u64,
    pub size: u64,
    pub ty: [u8; 4],
    pub uuid: Option<[u8; 16]>,
}

impl Bx {
    fn body(&self) -> (u64, u64) {
        (self.off + self.hdr, self.size - self.hdr)
    }
}

/// The boxes in [start, end) of a file.
fn children(src: &mut Src, start: u64, end: u64) -> Result<Vec<Bx>, Error> {
    let mut out = Vec::new();
    let mut off = start;
    for _ in 0..MAX_NODES {
        if off + 8 > end {
            if off < end && end - off >= 8 {
                return Err(Error::Truncated("box header".into()));
            }
            return Ok(out);
        }
        let h = src.read_upto(off, 32)?;
        let b = parse_header(&h, off, end)?;
        off += b.size;
        out.push(b);
    }
    Err(Error::Malformed("too many boxes".into()))
}

fn parse_header(h: &[u8], off: u64, end: u64) -> Result<Bx, Error> {
    if h.len() < 8 {
        return Err(Error::Truncated("box header".into()));
    }
    let mut size = be32(h, 0) as u64;
    let ty = [h[4], h[5], h[6], h[7]];
    let mut hdr = 8u64;
    if size == 1 {
        if h.len() < 16 {
            return Err(Error::Truncated("box largesize".into()));
        }
        size = be64(h, 8);
        hdr = 16;
    } else if size == 0 {
        size = end - off;
    }
    let mut uuid = None;
    if &ty == b"uuid" {
        let u = h
            .get(hdr as usize..hdr as usize + 16)
            .ok_or_else(|| Error::Truncated("uuid box".into()))?;
        let mut a = [0u8; 16];
        a.copy_from_slice(u);
        uuid = Some(a);
        hdr += 16;
    }
    if size < hdr {
        return Err(Error::Malformed(format!(
            "box {} at {off} has size {size}",
            String::from_utf8_lossy(&ty)
        )));
    }
    if off.checked_add(size).is_none_or(|e| e > end) {
        return Err(Error::Truncated(format!(
            "box {}",
            String::from_utf8_lossy(&ty)
        )));
    }
    Ok(Bx {
        off,
        hdr,
        size,
        ty,
        uuid,
    })
}

/// Boxes inside an in-memory buffer.
fn mem_children(b: &[u8]) -> Result<Vec<Bx>, Error> {
    let mut out = Vec::new();
    let mut off = 0u64;
    let end = b.len() as u64;
    while off + 8 <= end && out.len() < MAX_NODES {
        let x = parse_header(&b[off as usize..b.len().min(off as usize + 32)], off, end)?;
        off += x.size;
        out.push(x);
    }
    Ok(out)
}

fn slice<'a>(b: &'a [u8], x: &Bx) -> &'a [u8] {
    &b[(x.off + x.hdr) as usize..(x.off + x.size) as usize]
}

/// Is this `meta` body a FullBox (4 bytes of version and flags first)?
fn meta_is_full(body: &[u8]) -> bool {
    !(body.len() >= 8 && &body[4..8] == b"hdlr")
}

/// Items of a `meta` body: (key, value).
fn meta_items(body: &[u8]) -> Result<Vec<(String, String)>, Error> {
    let inner = if meta_is_full(body) {
        body.get(4..).unwrap_or_default()
    } else {
        body
    };
    let kids = mem_children(inner)?;
    let mut keys: Vec<String> = Vec::new();
    if let Some(k) = kids.iter().find(|x| &x.ty == b"keys") {
        let d = slice(inner, k);
        if d.len() >= 8 {
            let n = be32(d, 4) as usize;
            let mut p = 8;
            for _ in 0..n.min(10_000) {
                if p + 8 > d.len() {
                    break;
                }
                let sz = be32(d, p) as usize;
                if sz < 8 || p + sz > d.len() {
                    break;
                }
                keys.push(text(&d[p + 8..p + sz]));
                p += sz;
            }
        }
    }
    let mut out = Vec::new();
    if let Some(il) = kids.iter().find(|x| &x.ty == b"ilst") {
        let d = slice(inner, il);
        for item in mem_children(d)? {
            let ib = slice(d, &item);
            let sub = mem_children(ib)?;
            let name = if &item.ty == b"----" {
                sub.iter()
                    .find(|x| &x.ty == b"name")
                    .map(|x| text(slice(ib, x).get(4..).unwrap_or_default()))
            } else {
                let idx = u32::from_be_bytes(item.ty) as usize;
                if idx >= 1 && idx <= keys.len() {
                    Some(keys[idx - 1].clone())
                } else {
                    Some(super::latin1(&item.ty))
                }
            };
            let Some(name) = name else { continue };
            for dbox in sub.iter().filter(|x| &x.ty == b"data") {
                let v = slice(ib, dbox);
                if v.len() >= 8 {
                    out.push((name.clone(), text(&v[8..])));
                }
            }
        }
    }
    Ok(out)
}

/// Reads MP4 or HEIF metadata.
pub fn read(src: &mut Src, s: &mut Scan, heif: bool) -> Result<(), Error> {
    let top = children(src, 0, src.len);
    let top = match top {
        Ok(t) => t,
        Err(e) => {
            // keep what was before the damage
            s.fail(e);
            partial_children(src)
        }
    };
    for b in &top {
        let r: Result<(), Error> = (|| {
            match (&b.ty, b.uuid) {
                (b"moov", _) => read_moov(src, s, b)?,
                (b"uuid", Some(u)) if u == XMP_UUID => {
                    let (o, l) = b.body();
                    let d = src.read_at(o, l, "XMP uuid box")?;
                    s.items.push(RawItem {
                        carrier: if heif { "heif:xmp" } else { "mp4:xmp" },
                        key: if heif {
                            "application/rdf+xml".into()
                        } else {
                            "BE7ACFCB97A942E89C71999491E3AFAC".into()
                        },
                        value: text(&d),
                    });
                }
                (b"uuid", Some(u)) if u == C2PA_UUID => {
                    let (o, l) = b.body();
                    let d = src.read_at(o, l.min(crate::io::MAX_ITEM), "C2PA uuid box")?;
                    let mut c = C2pa::from_store(
                        if heif {
                            "heif:uuid:c2pa"
                        } else {
                            "mp4:uuid:c2pa"
                        },
                        &d,
                    );
                    c.bytes = l;
                    s.c2pa = Some(c);
                }
                (b"meta", _) if heif => read_heif_meta(src, s, b)?,
                _ => {}
            }
            Ok(())
        })();
        if let Err(e) = r {
            s.fail(e);
        }
    }
    Ok(())
}

fn partial_children(src: &mut Src) -> Vec<Bx> {
    let mut out = Vec::new();
    let mut off = 0;
    while let Ok(h) = src.read_upto(off, 32) {
        match parse_header(&h, off, src.len) {
            Ok(b) => {
                off += b.size;
                out.push(b);
            }
            Err(_) => break,
        }
        if out.len() > MAX_NODES {
            break;
        }
    }
    out
}

fn read_moov(src: &mut Src, s: &mut Scan, moov: &Bx) -> Result<(), Error> {
    let (o, l) = moov.body();
    for c in children(src, o, o + l)? {
        match &c.ty {
            b"udta" => {
                let (uo, ul) = c.body();
                for u in children(src, uo, uo + ul)? {
                    let (bo, bl) = u.body();
                    match &u.ty {
                        b"meta" => {
                            let d = src.read_at(bo, bl, "moov/udta/meta")?;
                            for (k, v) in meta_items(&d)? {
                                s.items.push(RawItem {
                                    carrier: "mp4:meta",
                                    key: k,
                                    value: v,
                                });
                            }
                        }
                        b"XMP_" => {
                            let d = src.read_at(bo, bl, "moov/udta/XMP_")?;
                            s.items.push(RawItem {
                                carrier: "mp4:xmp",
                                key: "BE7ACFCB97A942E89C71999491E3AFAC".into(),
                                value: text(&d),
                            });
                        }
                        _ => {}
                    }
                }
            }
            b"meta" => {
                let (bo, bl) = c.body();
                let d = src.read_at(bo, bl, "moov/meta")?;
                for (k, v) in meta_items(&d)? {
                    s.items.push(RawItem {
                        carrier: "mp4:meta",
                        key: k,
                        value: v,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

struct Cur<'a> {
    b: &'a [u8],
    p: usize,
}

impl Cur<'_> {
    fn n(&mut self, size: usize) -> Result<u64, Error> {
        let s = self
            .b
            .get(self.p..self.p + size)
            .ok_or_else(|| Error::Truncated("HEIF item table".into()))?;
        self.p += size;
        Ok(s.iter().fold(0u64, |a, &x| (a << 8) | x as u64))
    }
    fn cstr(&mut self) -> Result<String, Error> {
        let rest = self.b.get(self.p..).unwrap_or_default();
        let e = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        self.p += (e + 1).min(rest.len());
        Ok(text(&rest[..e]))
    }
}

/// An item info entry (`infe` version 2 or 3): item id, item type, and for a `mime`
/// item its content type and content encoding (empty when absent); `None` for the
/// older versions, which name no item type.
struct Infe {
    id: u64,
    ty: [u8; 4],
    content_type: String,
    encoding: String,
}

fn parse_infe(eb: &[u8]) -> Result<Option<Infe>, Error> {
    let ver = eb.first().copied().unwrap_or(0);
    if ver < 2 {
        return Ok(None);
    }
    let mut c = Cur { b: eb, p: 4 };
    let id = c.n(if ver == 2 { 2 } else { 4 })?;
    c.n(2)?;
    let ty = (c.n(4)? as u32).to_be_bytes();
    c.cstr()?;
    let (content_type, encoding) = if &ty == b"mime" {
        (c.cstr()?, c.cstr()?)
    } else {
        (String::new(), String::new())
    };
    Ok(Some(Infe {
        id,
        ty,
        content_type,
        encoding,
    }))
}

/// The primary item's id from a `pitm` box's body.
fn parse_pitm(d: &[u8]) -> Result<u64, Error> {
    let mut c = Cur { b: d, p: 0 };
    let v = c.n(1)?;
    c.n(3)?;
    c.n(if v == 0 { 2 } else { 4 })
}

fn read_heif_meta(src: &mut Src, s: &mut Scan, meta: &Bx) -> Result<(), Error> {
    let (o, l) = meta.body();
    let d = src.read_at(o, l, "HEIF meta")?;
    let inner = d.get(4..).unwrap_or_default();
    let kids = mem_children(inner)?;
    // iinf: id -> (type, content type)
    let mut infos: Vec<(u64, [u8; 4], String)> = Vec::new();
    if let Some(ii) = kids.iter().find(|x| &x.ty == b"iinf") {
        let b = slice(inner, ii);
        let v = b.first().copied().unwrap_or(0);
        let start = if v == 0 { 6 } else { 8 };
        for e in mem_children(b.get(start..).unwrap_or_default())? {
            if &e.ty != b"infe" {
                continue;
            }
            if let Some(i) = parse_infe(slice(b.get(start..).unwrap_or_default(), &e))? {
                infos.push((i.id, i.ty, i.content_type));
            }
        }
    }
    let idat = kids
        .iter()
        .find(|x| &x.ty == b"idat")
        .map(|x| (o + 4 + x.off + x.hdr, x.size - x.hdr));
    let Some(il) = kids.iter().find(|x| &x.ty == b"iloc") else {
        return Ok(());
    };
    let b = slice(inner, il);
    let mut c = Cur { b, p: 0 };
    let ver = c.n(1)?;
    c.n(3)?;
    let sizes = c.n(1)?;
    let (off_sz, len_sz) = ((sizes >> 4) as usize, (sizes & 15) as usize);
    let sizes2 = c.n(1)?;
    let (base_sz, idx_sz) = (
        (sizes2 >> 4) as usize,
        if ver >= 1 { (sizes2 & 15) as usize } else { 0 },
    );
    let count = c.n(if ver < 2 { 2 } else { 4 })?;
    for _ in 0..count.min(100_000) {
        let id = c.n(if ver < 2 { 2 } else { 4 })?;
        let method = if ver >= 1 { c.n(2)? & 15 } else { 0 };
        c.n(2)?;
        let base = c.n(base_sz)?;
        let extents = c.n(2)?;
        let mut data = Vec::new();
        let info = infos.iter().find(|i| i.0 == id);
        for _ in 0..extents {
            if idx_sz > 0 {
                c.n(idx_sz)?;
            }
            let eo = c.n(off_sz)?;
            let el = c.n(len_sz)?;
            if let Some((ty, ct)) = info.map(|i| (i.1, &i.2))
                && (&ty == b"Exif" || (&ty == b"mime" && ct.contains("rdf+xml")))
            {
                let at = match (method, idat) {
                    (1, Some((io, _))) => io + base + eo,
                    _ => base + eo,
                };
                let len = if el == 0 {
                    src.len.saturating_sub(at)
                } else {
                    el
                };
                data.extend(src.read_at(at, len, "HEIF item")?);
            }
        }
        if let Some((_, ty, _)) = info
            && !data.is_empty()
        {
            if ty == b"Exif" {
                if data.len() >= 4 {
                    let skip = 4 + be32(&data, 0) as usize;
                    if let Some(t) = data.get(skip..)
                        && let Some(v) = exif::user_comment(t)?
                    {
                        s.items.push(RawItem {
                            carrier: "heif:exif",
                            key: "UserComment".into(),
                            value: v,
                        });
                    }
                }
            } else {
                s.items.push(RawItem {
                    carrier: "heif:xmp",
                    key: "application/rdf+xml".into(),
                    value: text(&data),
                });
            }
        }
    }
    Ok(())
}

fn boxed(ty: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(body.len() + 8);
    v.extend_from_slice(&((body.len() + 8) as u32).to_be_bytes());
    v.extend_from_slice(ty);
    v.extend_from_slice(body);
    v
}

fn data_box(value: &str) -> Vec<u8> {
    let mut d = vec![0, 0, 0, 1, 0, 0, 0, 0];
    d.extend_from_slice(value.as_bytes());
    boxed(b"data", &d)
}

/// A new or updated `meta` body holding `key` = `value`.
fn meta_with(old: Option<&[u8]>, key: &str, value: &str) -> Result<Vec<u8>, Error> {
    let hdlr_mdta = {
        let mut h = vec![0u8; 8];
        h.extend_from_slice(b"mdta");
        h.extend_from_slice(&[0u8; 13]);
        boxed(b"hdlr", &h)
    };
    let Some(old) = old else {
        let mut keys = vec![0, 0, 0, 0, 0, 0, 0, 1];
        keys.extend_from_slice(&((8 + key.len()) as u32).to_be_bytes());
        keys.extend_from_slice(b"mdta");
        keys.extend_from_slice(key.as_bytes());
        let ilst = boxed(b"ilst", &boxed(&1u32.to_be_bytes(), &data_box(value)));
        let mut m = vec![0, 0, 0, 0];
        m.extend(hdlr_mdta);
        m.extend(boxed(b"keys", &keys));
        m.extend(ilst);
        return Ok(m);
    };
    let full = meta_is_full(old);
    let (prefix, inner) = if full {
        (
            old.get(..4).unwrap_or_default(),
            old.get(4..).unwrap_or_default(),
        )
    } else {
        (&old[..0], old)
    };
    let kids = mem_children(inner)?;
    let handler = kids
        .iter()
        .find(|x| &x.ty == b"hdlr")
        .and_then(|x| slice(inner, x).get(8..12))
        .map(|h| [h[0], h[1], h[2], h[3]]);
    let mut out = prefix.to_vec();
    if handler.as_ref() == Some(b"mdta") {
        // parse keys, rebuild keys and ilst
        let mut keys: Vec<(Vec<u8>, Vec<u8>)> = Vec::new(); // (namespace, name)
        if let Some(k) = kids.iter().find(|x| &x.ty == b"keys") {
            let d = slice(inner, k);
            let n = if d.len() >= 8 { be32(d, 4) as usize } else { 0 };
            let mut p = 8;
            for _ in 0..n.min(10_000) {
                if p + 8 > d.len() {
                    break;
                }
                let sz = be32(d, p) as usize;
                if sz < 8 || p + sz > d.len() {
                    break;
                }
                keys.push((d[p + 4..p + 8].to_vec(), d[p + 8..p + sz].to_vec()));
                p += sz;
            }
        }
        let idx = match keys
            .iter()
            .position(|(_, n)| n.eq_ignore_ascii_case(key.as_bytes()))
        {
            Some(i) => {
                keys[i].1 = key.as_bytes().to_vec();
                i + 1
            }
            None => {
                keys.push((b"mdta".to_vec(), key.as_bytes().to_vec()));
                keys.len()
            }
        };
        let mut kb = vec![0, 0, 0, 0];
        kb.extend_from_slice(&(keys.len() as u32).to_be_bytes());
        for (ns, n) in &keys {
            kb.extend_from_slice(&((8 + n.len()) as u32).to_be_bytes());
            kb.extend_from_slice(ns);
            kb.extend_from_slice(n);
        }
        let mut ilst = Vec::new();
        if let Some(il) = kids.iter().find(|x| &x.ty == b"ilst") {
            let d = slice(inner, il);
            for item in mem_children(d)? {
                if u32::from_be_bytes(item.ty) as usize != idx {
                    ilst.extend_from_slice(&d[item.off as usize..(item.off + item.size) as usize]);
                }
            }
        }
        ilst.extend(boxed(&(idx as u32).to_be_bytes(), &data_box(value)));
        let mut wrote = (false, false);
        for x in &kids {
            match &x.ty {
                b"keys" => {
                    out.extend(boxed(b"keys", &kb));
                    wrote.0 = true;
                }
                b"ilst" => {
                    out.extend(boxed(b"ilst", &ilst));
                    wrote.1 = true;
                }
                _ => out.extend_from_slice(&inner[x.off as usize..(x.off + x.size) as usize]),
            }
        }
        if !wrote.0 {
            out.extend(boxed(b"keys", &kb));
        }
        if !wrote.1 {
            out.extend(boxed(b"ilst", &ilst));
        }
    } else {
        // iTunes-style: a freeform ----:com.apple.iTunes:KEY item
        let mut free = boxed(
            b"mean",
            &[&[0u8, 0, 0, 0][..], b"com.apple.iTunes"].concat(),
        );
        free.extend(boxed(
            b"name",
            &[&[0u8, 0, 0, 0][..], key.as_bytes()].concat(),
        ));
        free.extend(data_box(value));
        let item = boxed(b"----", &free);
        let mut wrote = false;
        for x in &kids {
            if &x.ty == b"ilst" {
                let d = slice(inner, x);
                let mut il = Vec::new();
                for it in mem_children(d)? {
                    let ib = slice(d, &it);
                    let is_ours = &it.ty == b"----"
                        && mem_children(ib)?.iter().any(|s| {
                            &s.ty == b"name"
                                && slice(ib, s)
                                    .get(4..)
                                    .is_some_and(|n| n.eq_ignore_ascii_case(key.as_bytes()))
                        });
                    if !is_ours {
                        il.extend_from_slice(&d[it.off as usize..(it.off + it.size) as usize]);
                    }
                }
                il.extend_from_slice(&item);
                out.extend(boxed(b"ilst", &il));
                wrote = true;
            } else {
                out.extend_from_slice(&inner[x.off as usize..(x.off + x.size) as usize]);
            }
        }
        if !wrote {
            out.extend(boxed(b"ilst", &item));
        }
    }
    Ok(out)
}

/// Rebuilds a container body, replacing or adding one child.
fn replace_child(
    body: &[u8],
    ty: &[u8; 4],
    f: impl FnOnce(Option<&[u8]>) -> Result<Vec<u8>, Error>,
) -> Result<Vec<u8>, Error> {
    let kids = mem_children(body)?;
    let mut out = Vec::with_capacity(body.len() + 256);
    let mut f = Some(f);
    for x in &kids {
        if &x.ty == ty
            && let Some(f) = f.take()
        {
            out.extend(boxed(ty, &f(Some(slice(body, x)))?));
        } else {
            out.extend_from_slice(&body[x.off as usize..(x.off + x.size) as usize]);
        }
    }
    if let Some(f) = f {
        out.extend(boxed(ty, &f(None)?));
    }
    Ok(out)
}

/// Adds `map(offset)` to every chunk offset in stco/co64 inside a moov body.
fn patch_offsets(b: &mut [u8], map: &dyn Fn(u64) -> u64) -> Result<(), Error> {
    for x in mem_children(b)? {
        let (s, e) = ((x.off + x.hdr) as usize, (x.off + x.size) as usize);
        match &x.ty {
            b"trak" | b"mdia" | b"minf" | b"stbl" => patch_offsets(&mut b[s..e], map)?,
            b"stco" | b"co64" => {
                let d = &mut b[s..e];
                if d.len() < 8 {
                    continue;
                }
                let n = be32(d, 4) as usize;
                let w = if &x.ty == b"stco" { 4 } else { 8 };
                if 8 + n * w > d.len() {
                    return Err(Error::Malformed(
                        "chunk offset table runs past its box".into(),
                    ));
                }
                for k in 0..n {
                    let p = 8 + k * w;
                    if w == 4 {
                        let v = map(be32(d, p) as u64);
                        let v = u32::try_from(v).map_err(|_| {
                            Error::Unsupported("chunk offset over 4 GiB in stco".into())
                        })?;
                        d[p..p + 4].copy_from_slice(&v.to_be_bytes());
                    } else {
                        let v = map(be64(d, p));
                        d[p..p + 8].copy_from_slice(&v.to_be_bytes());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Shifts the absolute file offsets of a `moof` body (tfhd base-data-offset, when
/// flagged) or an `mfra` body (tfra moof offsets); returns whether anything changed.
fn patch_fragment_offsets(b: &mut [u8], map: &dyn Fn(u64) -> u64) -> Result<bool, Error> {
    let mut changed = false;
    for x in mem_children(b)? {
        let (s, e) = ((x.off + x.hdr) as usize, (x.off + x.size) as usize);
        match &x.ty {
            b"traf" => changed |= patch_fragment_offsets(&mut b[s..e], map)?,
            b"tfhd" => {
                let d = &mut b[s..e];
                if d.len() >= 16 && d[3] & 1 != 0 {
                    let old = be64(d, 8);
                    let new = map(old);
                    d[8..16].copy_from_slice(&new.to_be_bytes());
                    changed |= new != old;
                }
            }
            b"tfra" => {
                let d = &mut b[s..e];
                if d.len() < 16 {
                    continue;
                }
                let v1 = d[0] == 1;
                let sizes = be32(d, 8);
                let (lt, lr, ls) = (
                    ((sizes >> 4) & 3) as usize + 1,
                    ((sizes >> 2) & 3) as usize + 1,
                    (sizes & 3) as usize + 1,
                );
                let n = be32(d, 12) as usize;
                let w = if v1 { 8 } else { 4 };
                let entry = 2 * w + lt + lr + ls;
                if n.checked_mul(entry).is_none_or(|t| 16 + t > d.len()) {
                    return Err(Error::Malformed("tfra runs past its box".into()));
                }
                for k in 0..n {
                    let p = 16 + k * entry + w;
                    if v1 {
                        let old = be64(d, p);
                        let new = map(old);
                        d[p..p + 8].copy_from_slice(&new.to_be_bytes());
                        changed |= new != old;
                    } else {
                        let old = be32(d, p) as u64;
                        let new = u32::try_from(map(old)).map_err(|_| {
                            Error::Unsupported("moof offset over 4 GiB in tfra".into())
                        })?;
                        d[p..p + 4].copy_from_slice(&new.to_be_bytes());
                        changed |= new as u64 != old;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(changed)
}

/// Plans a labelled MP4: `moov` is rebuilt with the label in `udta/meta` (other boxes
/// copied), the XMP `uuid` box is replaced by one appended at the end, and chunk
/// offsets (stco/co64) are shifted by exactly the bytes inserted before them.
pub fn plan(src: &mut Src, cfg: &Config, payload: &str) -> Result<Vec<Piece>, Error> {
    let top = children(src, 0, src.len)?;
    let meta_ch = cfg.write_channel("mp4", "mp4:meta");
    let xmp_ch = cfg.write_channel("mp4", "mp4:xmp");
    let moov = top
        .iter()
        .find(|b| &b.ty == b"moov")
        .ok_or_else(|| Error::Malformed("MP4 without moov".into()))?
        .clone();
    let (mo, ml) = moov.body();
    let body = src.read_at_big(mo, ml, "moov")?;
    let mut old_xmp: Option<String> = None;
    let moov_has_meta = mem_children(&body)?.iter().any(|x| &x.ty == b"meta");
    let mut new_body = match meta_ch {
        // a moov/meta already there (as some writers put it) gets the item
        Some(ch) if moov_has_meta => {
            replace_child(&body, b"meta", |m| meta_with(m, &ch.key, payload))?
        }
        Some(ch) => replace_child(&body, b"udta", |udta| {
            replace_child(udta.unwrap_or_default(), b"meta", |m| {
                meta_with(m, &ch.key, payload)
            })
        })?,
        None => body.clone(),
    };
    // remove udta/XMP_ (moved to the uuid box), remember its packet
    if xmp_ch.is_some() {
        let kids = mem_children(&new_body)?;
        if let Some(u) = kids.iter().find(|x| &x.ty == b"udta") {
            let ub = slice(&new_body, u).to_vec();
            if let Some(x) = mem_children(&ub)?.iter().find(|x| &x.ty == b"XMP_") {
                old_xmp = Some(text(slice(&ub, x)));
                new_body = replace_child(&new_body, b"udta", |_| {
                    let mut o = Vec::new();
                    for c in mem_children(&ub)? {
                        if &c.ty != b"XMP_" {
                            o.extend_from_slice(&ub[c.off as usize..(c.off + c.size) as usize]);
                        }
                    }
                    Ok(o)
                })?;
            }
        }
    }
    let new_moov_len = if moov.size > u32::MAX as u64 || new_body.len() + 8 > u32::MAX as usize {
        return Err(Error::Unsupported("moov over 4 GiB".into()));
    } else {
        new_body.len() as u64 + 8
    };
    // changes: (orig end, delta)
    let mut changes: Vec<(u64, i64)> =
        vec![(moov.off + moov.size, new_moov_len as i64 - moov.size as i64)];
    let mut drop: Vec<u64> = Vec::new();
    if xmp_ch.is_some() {
        for b in top.iter().filter(|b| b.uuid == Some(XMP_UUID)) {
            let (o, l) = b.body();
            if old_xmp.is_none() {
                old_xmp = Some(text(&src.read_at(o, l, "XMP uuid box")?));
            }
            changes.push((b.off + b.size, -(b.size as i64)));
            drop.push(b.off);
        }
    }
    let map = |o: u64| -> u64 {
        let d: i64 = changes
            .iter()
            .filter(|(end, _)| *end <= o)
            .map(|(_, d)| *d)
            .sum();
        (o as i64 + d) as u64
    };
    patch_offsets(&mut new_body, &map)?;
    let xmp_box = xmp_ch.map(|_| {
        let packet = cfg.xmp.upsert(old_xmp.as_deref(), payload);
        let mut u = ((packet.len() + 24) as u32).to_be_bytes().to_vec();
        u.extend_from_slice(b"uuid");
        u.extend_from_slice(&XMP_UUID);
        u.extend_from_slice(packet.as_bytes());
        u
    });
    // a fragmented file's random-access index (mfra) stays last: readers find it
    // through the mfro box in the file's final 16 bytes, so the XMP box goes before it
    let mfra_at = top.last().filter(|b| &b.ty == b"mfra").map(|b| b.off);
    let mut xmp_box = xmp_box;
    let mut plan = Vec::new();
    for b in &top {
        if Some(b.off) == mfra_at
            && let Some(u) = xmp_box.take()
        {
            plan.push(Piece::Bytes(u));
        }
        if b.off == moov.off {
            let mut h = (new_moov_len as u32).to_be_bytes().to_vec();
            h.extend_from_slice(b"moov");
            plan.push(Piece::Bytes(h));
            plan.push(Piece::Bytes(std::mem::take(&mut new_body)));
        } else if drop.contains(&b.off) {
        } else if &b.ty == b"moof" || &b.ty == b"mfra" {
            // absolute offsets: tfhd base-data-offset, tfra moof offsets
            let (o, l) = b.body();
            let mut body = src.read_at(o, l, "moof/mfra")?;
            let changed = patch_fragment_offsets(&mut body, &map)?;
            if changed {
                plan.push(Piece::Copy(b.off, b.hdr));
                plan.push(Piece::Bytes(body));
            } else {
                plan.push(Piece::Copy(b.off, b.size));
            }
        } else {
            plan.push(Piece::Copy(b.off, b.size));
        }
    }
    let end = top.last().map_or(0, |b| b.off + b.size);
    if end < src.len {
        plan.push(Piece::Copy(end, src.len - end));
    }
    if let Some(u) = xmp_box {
        plan.push(Piece::Bytes(u));
    }
    let _ = be16;
    Ok(plan)
}

/// One `iloc` entry.
#[derive(Debug, Clone)]
struct Loc {
    id: u64,
    method: u64,
    dri: u64,
    base: u64,
    /// (index, offset, length)
    extents: Vec<(u64, u64, u64)>,
}

/// A parsed `iloc` box body.
struct Iloc {
    version: u8,
    idx_sz: usize,
    locs: Vec<Loc>,
}

fn parse_iloc(b: &[u8]) -> Result<Iloc, Error> {
    let mut c = Cur { b, p: 0 };
    let ver = c.n(1)?;
    if ver > 2 {
        return Err(Error::Unsupported(format!("HEIF iloc version {ver}")));
    }
    c.n(3)?;
    let sizes = c.n(1)?;
    let (off_sz, len_sz) = ((sizes >> 4) as usize, (sizes & 15) as usize);
    let sizes2 = c.n(1)?;
    let (base_sz, idx_sz) = (
        (sizes2 >> 4) as usize,
        if ver >= 1 { (sizes2 & 15) as usize } else { 0 },
    );
    for s in [off_sz, len_sz, base_sz, idx_sz] {
        if ![0, 4, 8].contains(&s) {
            return Err(Error::Malformed(format!("HEIF iloc field size {s}")));
        }
    }
    let count = c.n(if ver < 2 { 2 } else { 4 })?;
    let mut locs = Vec::new();
    for _ in 0..count {
        if locs.len() >= 100_000 {
            return Err(Error::Unsupported("HEIF with over 100000 items".into()));
        }
        let id = c.n(if ver < 2 { 2 } else { 4 })?;
        let method = if ver >= 1 { c.n(2)? & 15 } else { 0 };
        let dri = c.n(2)?;
        let base = c.n(base_sz)?;
        let n = c.n(2)?;
        let mut extents = Vec::new();
        for _ in 0..n {
            let i = c.n(idx_sz)?;
            let o = c.n(off_sz)?;
            let l = c.n(len_sz)?;
            extents.push((i, o, l));
        }
        locs.push(Loc {
            id,
            method,
            dri,
            base,
            extents,
        });
    }
    Ok(Iloc {
        version: ver as u8,
        idx_sz,
        locs,
    })
}

fn put(v: &mut Vec<u8>, x: u64, size: usize) {
    v.extend_from_slice(&x.to_be_bytes()[8 - size..]);
}

/// Encodes an `iloc` body with 4- or 8-byte fields (`wide`).
fn encode_iloc(il: &Iloc, wide: bool) -> Vec<u8> {
    let w = if wide { 8 } else { 4 };
    let base_sz = if il.locs.iter().any(|l| l.base != 0) {
        w
    } else {
        0
    };
    let mut v = vec![il.version, 0, 0, 0, ((w << 4) | w) as u8];
    v.push(((base_sz << 4) | if il.version >= 1 { il.idx_sz } else { 0 }) as u8);
    let idw = if il.version < 2 { 2 } else { 4 };
    put(&mut v, il.locs.len() as u64, idw);
    for l in &il.locs {
        put(&mut v, l.id, idw);
        if il.version >= 1 {
            put(&mut v, l.method, 2);
        }
        put(&mut v, l.dri, 2);
        put(&mut v, l.base, base_sz);
        put(&mut v, l.extents.len() as u64, 2);
        for &(i, o, n) in &l.extents {
            if il.version >= 1 {
                put(&mut v, i, il.idx_sz);
            }
            put(&mut v, o, w);
            put(&mut v, n, w);
        }
    }
    v
}

/// The data of item `id` (by file offset or in `idat`), as a reader finds it; `None`
/// for items stored elsewhere (another file, by item reference).
fn read_item(
    src: &mut Src,
    iloc: &Iloc,
    idat: Option<&[u8]>,
    id: u64,
) -> Result<Option<Vec<u8>>, Error> {
    let Some(l) = iloc.locs.iter().find(|l| l.id == id) else {
        return Ok(None);
    };
    if l.dri != 0 {
        return Ok(None);
    }
    let mut d = Vec::new();
    for &(_, o, n) in &l.extents {
        match l.method {
            0 => {
                let at = l.base.saturating_add(o);
                let n = if n == 0 {
                    src.len.saturating_sub(at)
                } else {
                    n
                };
                d.extend(src.read_at_big(at, n, "HEIF item")?);
            }
            1 => {
                let i = idat.unwrap_or_default();
                let at = l.base.saturating_add(o) as usize;
                let n = if n == 0 {
                    i.len().saturating_sub(at)
                } else {
                    n as usize
                };
                d.extend_from_slice(
                    i.get(at..at.saturating_add(n))
                        .ok_or_else(|| Error::Truncated("HEIF idat item".into()))?,
                );
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(d))
}

/// What an explicit label needs to know of a HEIF/AVIF before re-encoding it: the
/// brands, the primary item and its properties, the Exif and XMP to carry over, and
/// what else the file holds (dropped by a re-encoding).
#[derive(Debug, Default)]
pub(crate) struct HeifSource {
    /// The major brand, then the compatible brands.
    pub brands: Vec<[u8; 4]>,
    /// A `moov` box (an image sequence) is present.
    pub sequence: bool,
    /// The primary item's type (`av01`, `hvc1`, `grid`, ...).
    pub primary_type: Option<[u8; 4]>,
    /// Items in `iinf`.
    pub items: usize,
    /// Exif and XMP items.
    pub exif_items: usize,
    pub xmp_items: usize,
    /// The Exif TIFF and XMP packet to carry over.
    pub seed: HeifSeed,
    /// The primary item's colour properties: an ICC profile; nclx (primaries,
    /// transfer, matrix, full range).
    pub icc: bool,
    pub nclx: Option<(u16, u16, u16, bool)>,
    /// The primary item's transforms: `irot` (quarter turns anticlockwise), `imir`
    /// (axis: 0 = about a vertical axis, left-right; 1 = about a horizontal axis,
    /// top-bottom), `clap`.
    pub irot: u8,
    pub imir: Option<u8>,
    pub clap: bool,
    /// A top-level C2PA `uuid` box.
    pub c2pa: bool,
}

/// Reads [`HeifSource`] from a HEIF/AVIF file.
pub(crate) fn heif_source(src: &mut Src) -> Result<HeifSource, Error> {
    let mut out = HeifSource::default();
    let top = children(src, 0, src.len)?;
    let mut meta = None;
    for b in &top {
        match &b.ty {
            b"ftyp" => {
                let (o, l) = b.body();
                let d = src.read_at(o, l.min(4096), "ftyp")?;
                if d.len() >= 4 {
                    out.brands.push([d[0], d[1], d[2], d[3]]);
                }
                for c in d.get(8..).unwrap_or_default().chunks_exact(4) {
                    out.brands.push([c[0], c[1], c[2], c[3]]);
                }
            }
            b"moov" | b"moof" => out.sequence = true,
            b"meta" if meta.is_none() => meta = Some(b.clone()),
            b"uuid" if b.uuid == Some(C2PA_UUID) => out.c2pa = true,
            b"uuid" if b.uuid == Some(XMP_UUID) && out.seed.xmp.is_none() && b.size < 16 << 20 => {
                let (o, l) = b.body();
                out.seed.xmp = Some(text(&src.read_at(o, l, "XMP uuid box")?));
            }
            _ => {}
        }
    }
    let meta = meta.ok_or_else(|| Error::Malformed("HEIF without a top-level meta box".into()))?;
    let (mo, ml) = meta.body();
    let body = src.read_at_big(mo, ml, "HEIF meta")?;
    if !meta_is_full(&body) || body.len() < 4 {
        return Err(Error::Malformed("HEIF meta box is not a full box".into()));
    }
    let inner = &body[4..];
    let kids = mem_children(inner)?;
    let find = |ty: &[u8; 4]| kids.iter().find(|x| &x.ty == ty).map(|x| slice(inner, x));
    let primary = find(b"pitm").map(parse_pitm).transpose()?;
    let mut exif_ids = Vec::new();
    let mut xmp_ids = Vec::new();
    if let Some(b) = find(b"iinf") {
        let v = b.first().copied().unwrap_or(0);
        let rest = b
            .get(if v == 0 { 6 } else { 8 }..)
            .ok_or_else(|| Error::Truncated("HEIF iinf".into()))?;
        for e in mem_children(rest)? {
            if &e.ty != b"infe" {
                continue;
            }
            out.items += 1;
            let Some(i) = parse_infe(slice(rest, &e))? else {
                continue;
            };
            if Some(i.id) == primary {
                out.primary_type = Some(i.ty);
            }
            if &i.ty == b"Exif" {
                exif_ids.push(i.id);
            } else if i.content_type.contains("rdf+xml") && i.encoding.is_empty() {
                // a compressed packet (content encoding) is not read
                xmp_ids.push(i.id);
            }
        }
    }
    out.exif_items = exif_ids.len();
    out.xmp_items = xmp_ids.len();
    if let Some(il) = find(b"iloc") {
        let iloc = parse_iloc(il)?;
        let idat = find(b"idat");
        for &id in &exif_ids {
            if let Some(d) = read_item(src, &iloc, idat, id)?
                && d.len() >= 4
                && let Some(t) = d.get(4usize.saturating_add(be32(&d, 0) as usize)..)
            {
                out.seed.tiff = Some(t.to_vec());
                break;
            }
        }
        for &id in &xmp_ids {
            if let Some(d) = read_item(src, &iloc, idat, id)? {
                out.seed.xmp = Some(text(&d));
                break;
            }
        }
    }
    // the primary item's properties: ipma's associations into ipco
    let Some(primary) = primary else {
        return Ok(out);
    };
    let Some(iprp) = find(b"iprp") else {
        return Ok(out);
    };
    let pk = mem_children(iprp)?;
    let Some(ipco) = pk.iter().find(|x| &x.ty == b"ipco").map(|x| slice(iprp, x)) else {
        return Ok(out);
    };
    let props = mem_children(ipco)?;
    let mut assoc: Vec<usize> = Vec::new();
    for ipma in pk.iter().filter(|x| &x.ty == b"ipma") {
        let b = slice(iprp, ipma);
        let mut c = Cur { b, p: 0 };
        let ver = c.n(1)?;
        let flags = c.n(3)?;
        let n = c.n(4)?;
        for _ in 0..n.min(100_000) {
            let id = c.n(if ver < 1 { 2 } else { 4 })?;
            let k = c.n(1)?;
            for _ in 0..k {
                let idx = if flags & 1 != 0 {
                    c.n(2)? & 0x7FFF
                } else {
                    c.n(1)? & 0x7F
                };
                if id == primary && idx > 0 {
                    assoc.push(idx as usize - 1);
                }
            }
        }
    }
    for p in assoc.iter().filter_map(|&i| props.get(i)) {
        let d = slice(ipco, p);
        match &p.ty {
            b"colr" => match d.get(..4) {
                Some(b"nclx") if d.len() >= 11 => {
                    out.nclx.get_or_insert((
                        u16::from_be_bytes([d[4], d[5]]),
                        u16::from_be_bytes([d[6], d[7]]),
                        u16::from_be_bytes([d[8], d[9]]),
                        d[10] & 0x80 != 0,
                    ));
                }
                Some(b"prof") | Some(b"rICC") => out.icc = true,
                _ => {}
            },
            b"irot" => out.irot = d.first().copied().unwrap_or(0) & 3,
            b"imir" => out.imir = Some(d.first().copied().unwrap_or(0) & 1),
            b"clap" => out.clap = true,
            _ => {}
        }
    }
    Ok(out)
}

/// A version 2/3 `infe` box.
fn infe(id: u64, ty: &[u8; 4], content_type: Option<&str>) -> Vec<u8> {
    let mut b = vec![if id > 0xFFFF { 3 } else { 2 }, 0, 0, 0];
    put(&mut b, id, if id > 0xFFFF { 4 } else { 2 });
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(ty);
    b.push(0);
    if let Some(ct) = content_type {
        b.extend_from_slice(ct.as_bytes());
        b.push(0);
    }
    boxed(b"infe", &b)
}

/// Plans a labelled HEIF/AVIF: the top `meta` box is rebuilt (the Exif and XMP items
/// updated in place, or added with `infe`, `iloc` and a `cdsc` reference to the
/// primary item), their data is appended in a new `mdat` at the end, and every
/// absolute `iloc` offset past the `meta` box is shifted by the bytes it grew.
/// Coded image data is copied unchanged.
pub fn plan_heif(src: &mut Src, cfg: &Config, payload: &str) -> Result<Vec<Piece>, Error> {
    plan_heif_seeded(src, cfg, payload, &HeifSeed::default())
}

/// Metadata of an original HEIF/AVIF to put into its re-encoding (an explicit label):
/// used where the re-encoded file has no Exif or XMP item of its own.
#[derive(Debug, Default, Clone)]
pub(crate) struct HeifSeed {
    /// The Exif item's TIFF data (without the 4-byte offset in front).
    pub tiff: Option<Vec<u8>>,
    /// The XMP packet.
    pub xmp: Option<String>,
}

/// [`plan_heif`], with the Exif and XMP of `seed` where the file has none: they are
/// written (with the label where its channel is on) even where a channel is off.
pub(crate) fn plan_heif_seeded(
    src: &mut Src,
    cfg: &Config,
    payload: &str,
    seed: &HeifSeed,
) -> Result<Vec<Piece>, Error> {
    let exif_ch = cfg.write_channel("heif", "heif:exif").is_some();
    let xmp_ch = cfg.write_channel("heif", "heif:xmp").is_some();
    let top = children(src, 0, src.len)?;
    for b in &top {
        if &b.ty == b"moof" || &b.ty == b"mfra" {
            return Err(Error::Unsupported(
                "writing labels into fragmented HEIF image sequences".into(),
            ));
        }
    }
    let mut metas = top.iter().filter(|b| &b.ty == b"meta");
    let meta = metas
        .next()
        .ok_or_else(|| Error::Malformed("HEIF without a top-level meta box".into()))?
        .clone();
    if metas.next().is_some() {
        return Err(Error::Unsupported(
            "HEIF with two top-level meta boxes".into(),
        ));
    }
    let meta_end = meta.off + meta.size;
    let (mo, ml) = meta.body();
    let body = src.read_at_big(mo, ml, "HEIF meta")?;
    if !meta_is_full(&body) || body.len() < 4 {
        return Err(Error::Malformed("HEIF meta box is not a full box".into()));
    }
    let (prefix, inner) = body.split_at(4);
    let kids = mem_children(inner)?;
    let find = |ty: &[u8; 4]| kids.iter().find(|x| &x.ty == ty);
    // primary item
    let primary = find(b"pitm")
        .map(|p| parse_pitm(slice(inner, p)))
        .transpose()?;
    // iinf: keep the entries, note the metadata items
    let (iinf_ver, mut entries, mut exif_ids, mut xmp_ids) = match find(b"iinf") {
        Some(ii) => {
            let b = slice(inner, ii);
            let v = b.first().copied().unwrap_or(0);
            let start = if v == 0 { 6 } else { 8 };
            let rest = b
                .get(start..)
                .ok_or_else(|| Error::Truncated("HEIF iinf".into()))?;
            let mut entries = Vec::new();
            let (mut ex, mut xm) = (Vec::new(), Vec::new());
            for e in mem_children(rest)? {
                entries.push(rest[e.off as usize..(e.off + e.size) as usize].to_vec());
                if &e.ty != b"infe" {
                    continue;
                }
                let Some(i) = parse_infe(slice(rest, &e))? else {
                    continue;
                };
                if &i.ty == b"Exif" {
                    ex.push(i.id);
                } else if i.content_type.contains("rdf+xml") {
                    if !i.encoding.is_empty() {
                        return Err(Error::Unsupported(
                            "writing into a HEIF XMP item with a content encoding".into(),
                        ));
                    }
                    xm.push(i.id);
                }
            }
            (v, entries, ex, xm)
        }
        None => (0, Vec::new(), Vec::new(), Vec::new()),
    };
    let idat = find(b"idat").map(|x| slice(inner, x));
    let mut iloc = match find(b"iloc") {
        Some(il) => parse_iloc(slice(inner, il))?,
        None => Iloc {
            version: 0,
            idx_sz: 0,
            locs: Vec::new(),
        },
    };
    // the data of an item, as the reader finds it
    let item_data = |src: &mut Src, id: u64| read_item(src, &iloc, idat, id);
    let mut old_tiff: Option<Vec<u8>> = None;
    for &id in &exif_ids {
        if let Some(d) = item_data(src, id)?
            && d.len() >= 4
        {
            let skip = 4usize.saturating_add(be32(&d, 0) as usize);
            if let Some(t) = d.get(skip..) {
                old_tiff = Some(t.to_vec());
                break;
            }
        }
    }
    if old_tiff.is_none() {
        old_tiff.clone_from(&seed.tiff);
    }
    let mut old_xmp: Option<String> = None;
    for &id in &xmp_ids {
        if let Some(d) = item_data(src, id)? {
            old_xmp = Some(text(&d));
            break;
        }
    }
    // a top-level XMP uuid box (read as the same channel) becomes a zeroed `free` box
    // of the same size, so no offset moves and no stale label is left
    let uuid_xmp: Vec<Bx> = if xmp_ch {
        top.iter()
            .filter(|b| b.uuid == Some(XMP_UUID))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    for b in &uuid_xmp {
        if b.size > 16 << 20 {
            return Err(Error::Unsupported(format!(
                "a HEIF XMP uuid box of {} bytes (limit 16 MiB)",
                b.size
            )));
        }
        if old_xmp.is_none() {
            let (o, l) = b.body();
            old_xmp = Some(text(&src.read_at(o, l, "XMP uuid box")?));
        }
    }
    // new item data
    let mut next_id = iloc
        .locs
        .iter()
        .map(|l| l.id)
        .chain(exif_ids.iter().copied())
        .chain(xmp_ids.iter().copied())
        .max()
        .unwrap_or(0);
    let mut new_items: Vec<(u64, [u8; 4], Option<&str>)> = Vec::new();
    let mut blobs: Vec<(Vec<u64>, Vec<u8>)> = Vec::new();
    if old_xmp.is_none() {
        old_xmp.clone_from(&seed.xmp);
    }
    let seed_exif = exif_ids.is_empty() && seed.tiff.is_some();
    let seed_xmp = xmp_ids.is_empty() && uuid_xmp.is_empty() && seed.xmp.is_some();
    if exif_ch || seed_exif {
        let tiff = if exif_ch {
            exif::set_user_comment(old_tiff.as_deref(), &exif::encode_comment(payload))?
        } else {
            seed.tiff.clone().unwrap_or_default()
        };
        let mut d = vec![0, 0, 0, 0];
        d.extend(tiff);
        if exif_ids.is_empty() {
            next_id += 1;
            exif_ids.push(next_id);
            new_items.push((next_id, *b"Exif", None));
        }
        blobs.push((exif_ids.clone(), d));
    }
    if xmp_ch || seed_xmp {
        let packet = if xmp_ch {
            cfg.xmp.upsert(old_xmp.as_deref(), payload)
        } else {
            seed.xmp.clone().unwrap_or_default()
        };
        if xmp_ids.is_empty() {
            next_id += 1;
            xmp_ids.push(next_id);
            new_items.push((next_id, *b"mime", Some("application/rdf+xml")));
        }
        blobs.push((xmp_ids.clone(), packet.into_bytes()));
    }
    let added_len: u64 = blobs.iter().map(|b| b.1.len() as u64).sum();
    let wide = src.len + ml + added_len + (1 << 20) > u32::MAX as u64
        || iloc.locs.iter().any(|l| {
            l.base > u32::MAX as u64
                || l.extents
                    .iter()
                    .any(|e| e.1 > u32::MAX as u64 || e.2 > u32::MAX as u64)
        });
    if (next_id > 0xFFFF || iloc.locs.len() + 2 > 0xFFFF) && iloc.version < 2 {
        iloc.version = 2;
    }
    // metadata items get their location rewritten; others keep theirs (shifted below)
    let rewritten: Vec<u64> = blobs.iter().flat_map(|b| b.0.clone()).collect();
    // the old data of the rewritten items (by file offset, outside the meta box and
    // shared with no other item) is zeroed, so no stale label is left in the file
    let flen = src.len;
    let extents_of = |keep: bool| -> Vec<(u64, u64)> {
        iloc.locs
            .iter()
            .filter(|l| rewritten.contains(&l.id) != keep && l.method == 0 && l.dri == 0)
            .flat_map(|l| {
                l.extents.iter().map(move |e| {
                    let at = l.base.saturating_add(e.1);
                    let n = if e.2 == 0 {
                        flen.saturating_sub(at)
                    } else {
                        e.2
                    };
                    (at, at.saturating_add(n).min(flen))
                })
            })
            .collect()
    };
    let kept = extents_of(true);
    let blank: Vec<(u64, u64)> = extents_of(false)
        .into_iter()
        .filter(|&(a, b)| {
            a < b && (b <= meta.off || a >= meta_end) && !kept.iter().any(|&(x, y)| x < b && a < y)
        })
        .collect();
    iloc.locs.retain(|l| !rewritten.contains(&l.id));
    for l in &iloc.locs {
        if l.method == 0 && l.dri == 0 {
            for &(_, o, _) in &l.extents {
                let at = l.base.saturating_add(o);
                if at >= meta.off && at < meta_end {
                    return Err(Error::Unsupported(
                        "HEIF item stored inside the meta box by file offset".into(),
                    ));
                }
            }
        }
    }
    // iinf
    for (id, ty, ct) in &new_items {
        entries.push(infe(*id, ty, *ct));
    }
    let iinf_v = if entries.len() > 0xFFFF { 1 } else { iinf_ver };
    let mut iinf = vec![iinf_v, 0, 0, 0];
    put(
        &mut iinf,
        entries.len() as u64,
        if iinf_v == 0 { 2 } else { 4 },
    );
    for e in &entries {
        iinf.extend_from_slice(e);
    }
    // iref: cdsc from each new item to the primary item
    let mut iref: Option<Vec<u8>> = find(b"iref").map(|x| slice(inner, x).to_vec());
    if let Some(p) = primary
        && !new_items.is_empty()
    {
        let mut r = iref.take().unwrap_or_else(|| vec![0, 0, 0, 0]);
        let w = if r.first().copied().unwrap_or(0) == 0 {
            2
        } else {
            4
        };
        for (id, _, _) in &new_items {
            if w == 2 && (*id > 0xFFFF || p > 0xFFFF) {
                return Err(Error::Unsupported(
                    "HEIF item ids over 65535 in iref v0".into(),
                ));
            }
            let mut c = Vec::new();
            put(&mut c, *id, w);
            put(&mut c, 1, 2);
            put(&mut c, p, w);
            r.extend(boxed(b"cdsc", &c));
        }
        iref = Some(r);
    }
    let build = |iloc: &Iloc| -> Vec<u8> {
        let mut out = prefix.to_vec();
        let (mut wrote_iinf, mut wrote_iref, mut wrote_iloc) = (false, false, false);
        for x in &kids {
            match &x.ty {
                b"iinf" => {
                    out.extend(boxed(b"iinf", &iinf));
                    wrote_iinf = true;
                    if !wrote_iref && find(b"iref").is_none() {
                        if let Some(r) = &iref {
                            out.extend(boxed(b"iref", r));
                        }
                        wrote_iref = true;
                    }
                }
                b"iloc" => {
                    out.extend(boxed(b"iloc", &encode_iloc(iloc, wide)));
                    wrote_iloc = true;
                }
                b"iref" => {
                    if let Some(r) = &iref {
                        out.extend(boxed(b"iref", r));
                    }
                    wrote_iref = true;
                }
                _ => out.extend_from_slice(&inner[x.off as usize..(x.off + x.size) as usize]),
            }
        }
        if !wrote_iinf {
            out.extend(boxed(b"iinf", &iinf));
        }
        if !wrote_iloc {
            out.extend(boxed(b"iloc", &encode_iloc(iloc, wide)));
        }
        if !wrote_iref && let Some(r) = &iref {
            out.extend(boxed(b"iref", r));
        }
        out
    };
    // final iloc: the size of the meta box does not depend on the offset values
    let mut probe = Iloc {
        version: iloc.version,
        idx_sz: iloc.idx_sz,
        locs: iloc.locs.clone(),
    };
    for (ids, d) in &blobs {
        for id in ids {
            probe.locs.push(Loc {
                id: *id,
                method: 0,
                dri: 0,
                base: 0,
                extents: vec![(0, 0, d.len() as u64)],
            });
        }
    }
    let new_meta_len = build(&probe).len() as u64 + 8;
    if new_meta_len > u32::MAX as u64 {
        return Err(Error::Unsupported("HEIF meta box over 4 GiB".into()));
    }
    let delta = new_meta_len as i64 - meta.size as i64;
    let shift = |o: u64| (o as i64 + delta) as u64;
    for l in probe.locs.iter_mut() {
        if l.method != 0 || l.dri != 0 || rewritten.contains(&l.id) {
            continue;
        }
        for e in l.extents.iter_mut() {
            if e.2 == 0 {
                // "to the end of the file": the end moves, so the length is spelled out
                e.2 = src.len.saturating_sub(l.base.saturating_add(e.1));
            }
        }
        if l.base >= meta_end {
            l.base = shift(l.base);
            continue;
        }
        for e in l.extents.iter_mut() {
            let at = l.base + e.1;
            if at >= meta_end {
                e.1 = shift(at) - l.base;
            }
        }
    }
    // a last mdat holding only the data of the items rewritten here (as an earlier run
    // left it) is dropped, so labelling again does not grow the file
    let end = top.last().map_or(0, |b| b.off + b.size);
    let dropped = top.last().filter(|b| {
        &b.ty == b"mdat"
            && !top.iter().any(|t| &t.ty == b"moov")
            && b.off >= meta_end
            && end == src.len
            && !probe.locs.iter().any(|l| {
                !rewritten.contains(&l.id)
                    && l.dri == 0
                    && l.method == 0
                    && l.extents.iter().any(|e| {
                        let at = l.base.saturating_add(e.1);
                        let at = if at >= meta_end {
                            (at as i64 - delta) as u64
                        } else {
                            at
                        };
                        at.saturating_add(e.2) > b.off && at < end
                    })
            })
    });
    let dropped_off = dropped.map(|b| b.off);
    // new data goes in an mdat appended at the end
    let mut at = shift(src.len) - dropped.map_or(0, |b| b.size) + 8;
    let mut mdat = Vec::new();
    for (ids, d) in &blobs {
        for l in probe.locs.iter_mut().filter(|l| ids.contains(&l.id)) {
            l.extents = vec![(0, at, d.len() as u64)];
        }
        at += d.len() as u64;
        mdat.extend_from_slice(d);
    }
    let new_meta = build(&probe);
    debug_assert_eq!(new_meta.len() as u64 + 8, new_meta_len);
    let mut plan = Vec::new();
    let last = top.last().map(|b| b.off);
    for b in &top {
        if Some(b.off) == dropped_off {
            continue;
        }
        if uuid_xmp.iter().any(|u| u.off == b.off) {
            let mut h = src.read_at(b.off, b.hdr - 16, "uuid box")?;
            h[4..8].copy_from_slice(b"free");
            h.resize(b.size as usize, 0);
            plan.push(Piece::Bytes(h));
            continue;
        }
        if b.off == meta.off {
            let mut h = (new_meta_len as u32).to_be_bytes().to_vec();
            h.extend_from_slice(b"meta");
            plan.push(Piece::Bytes(h));
            plan.push(Piece::Bytes(new_meta.clone()));
        } else if &b.ty == b"moov" {
            let (o, l) = b.body();
            let mut body = src.read_at_big(o, l, "moov")?;
            patch_offsets(&mut body, &|x| if x >= meta_end { shift(x) } else { x })?;
            plan.push(Piece::Copy(b.off, b.hdr));
            plan.push(Piece::Bytes(body));
        } else if Some(b.off) == last && be32(&src.read_at(b.off, 4, "box")?, 0) == 0 {
            // a last box running "to the end" gets its real size
            let s = u32::try_from(b.size)
                .map_err(|_| Error::Unsupported("open-ended box over 4 GiB".into()))?;
            plan.push(Piece::Bytes(s.to_be_bytes().to_vec()));
            plan.push(Piece::Copy(b.off + 4, b.size - 4));
        } else {
            plan.push(Piece::Copy(b.off, b.size));
        }
    }
    if end < src.len {
        plan.push(Piece::Copy(end, src.len - end));
    }
    let mut plan = blank_ranges(plan, &blank);
    if !mdat.is_empty() {
        let total = u32::try_from(mdat.len() + 8)
            .map_err(|_| Error::Unsupported("metadata over 4 GiB".into()))?;
        let mut h = total.to_be_bytes().to_vec();
        h.extend_from_slice(b"mdat");
        plan.push(Piece::Bytes(h));
        plan.push(Piece::Bytes(mdat));
    }
    Ok(plan)
}

/// Replaces the input bytes in `ranges` ([start, end) offsets) by zeros in a plan.
fn blank_ranges(plan: Vec<Piece>, ranges: &[(u64, u64)]) -> Vec<Piece> {
    if ranges.is_empty() {
        return plan;
    }
    let mut out = Vec::with_capacity(plan.len() + 2 * ranges.len());
    for p in plan {
        let Piece::Copy(o, l) = p else {
            out.push(p);
            continue;
        };
        let end = o + l;
        let mut cut: Vec<(u64, u64)> = ranges
            .iter()
            .map(|&(a, b)| (a.max(o), b.min(end)))
            .filter(|(a, b)| a < b)
            .collect();
        cut.sort_unstable();
        let mut pos = o;
        for (a, b) in cut {
            if b <= pos {
                continue;
            }
            let a = a.max(pos);
            if a > pos {
                out.push(Piece::Copy(pos, a - pos));
            }
            out.push(Piece::Bytes(vec![0; (b - a) as usize]));
            pos = b;
        }
        if pos < end {
            out.push(Piece::Copy(pos, end - pos));
        }
    }
    out
}
