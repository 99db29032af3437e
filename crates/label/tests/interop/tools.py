#!/usr/bin/env python3
"""Fixtures for beian-label made by other tools (Pillow, mutagen, Python's wave), and
read-back checks of what beian wrote.

  tools.py make OUTDIR PAYLOAD       write fixtures into OUTDIR
  tools.py read FILE                 print what Pillow/mutagen see, as JSON
"""
import io
import json
import math
import struct
import sys
import wave

from PIL import Image, PngImagePlugin


def rgb_image(w=64, h=48):
    img = Image.new("RGB", (w, h))
    img.putdata([((x * 4) % 256, (y * 5) % 256, (x * y) % 256) for y in range(h) for x in range(w)])
    return img


def exif_with_comment(img, text):
    ex = img.getexif()
    ifd = ex.get_ifd(0x8769)
    ifd[0x9286] = b"ASCII\0\0\0" + text.encode()
    ex[0x010F] = "Pillow-fixture"  # Make, in IFD0, to check other tags survive
    return ex


def write_wav(path, seconds=1.0, rate=16000):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
            for i in range(int(seconds * rate))
        )
        w.writeframes(frames)


def box(ty, body):
    return struct.pack(">I", len(body) + 8) + ty + body


def write_mp4(path, marker=b"SAMPLE-DATA-MARKER"):
    """A minimal MP4: ftyp, moov (mvhd, one trak with stco pointing at mdat), mdat."""
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    mvhd = box(b"mvhd", b"\0" * 4 + struct.pack(">IIII", 0, 0, 1000, 1000) + b"\0\x01\0\0" + b"\x01\0" + b"\0" * 10
               + b"\0\x01\0\0" + b"\0" * 12 + b"\0\x01\0\0" + b"\0" * 12 + b"\x40\0\0\0" + b"\0" * 24 + struct.pack(">I", 2))

    def moov_with(offset):
        stco = box(b"stco", b"\0" * 4 + struct.pack(">II", 1, offset))
        stsz = box(b"stsz", b"\0" * 4 + struct.pack(">III", 0, 1, len(marker)))
        stsc = box(b"stsc", b"\0" * 4 + struct.pack(">IIII", 1, 1, 1, 1))
        stts = box(b"stts", b"\0" * 4 + struct.pack(">III", 1, 1, 1000))
        entry = box(b"mp4v", b"\0" * 6 + struct.pack(">H", 1) + b"\0" * 8 + struct.pack(">HHHHI", 2, 16, 0, 0, 44100 << 16))
        stsd = box(b"stsd", b"\0" * 4 + struct.pack(">I", 1) + entry)
        stbl = box(b"stbl", stsd + stts + stsc + stsz + stco)
        dref = box(b"dref", b"\0" * 4 + struct.pack(">I", 1) + box(b"url ", b"\0\0\0\x01"))
        minf = box(b"minf", box(b"dinf", dref) + stbl)
        hdlr = box(b"hdlr", b"\0" * 8 + b"vide" + b"\0" * 12 + b"\0")
        mdhd = box(b"mdhd", b"\0" * 4 + struct.pack(">IIII", 0, 0, 1000, 1000) + b"\0\0\0\0")
        mdia = box(b"mdia", mdhd + hdlr + minf)
        trak = box(b"trak", mdia)
        return box(b"moov", mvhd + trak)

    size = len(ftyp) + len(moov_with(0))
    moov = moov_with(size + 8)
    data = ftyp + moov + box(b"mdat", marker)
    with open(path, "wb") as f:
        f.write(data)


def make(out, payload):
    import mutagen.id3 as id3
    import mutagen.mp4 as mp4
    import mutagen.wave as mwave

    img = rgb_image()
    # PNG: tEXt, iTXt, zTXt
    for name, add in [("pil_text.png", lambda i: i.add_text("AIGC", payload)),
                      ("pil_itxt.png", lambda i: i.add_itxt("AIGC", payload)),
                      ("pil_ztxt.png", lambda i: i.add_text("AIGC", payload, zip=True))]:
        info = PngImagePlugin.PngInfo()
        add(info)
        img.save(f"{out}/{name}", pnginfo=info)
    img.save(f"{out}/plain.png")
    # bad payloads in a tEXt chunk
    bad = json.loads(payload)
    bad["AIGC"]["Label"] = "7"
    info = PngImagePlugin.PngInfo()
    info.add_text("AIGC", json.dumps(bad))
    img.save(f"{out}/bad_label.png", pnginfo=info)
    missing = json.loads(payload)
    del missing["AIGC"]["ProduceID"]
    info = PngImagePlugin.PngInfo()
    info.add_text("AIGC", json.dumps(missing))
    img.save(f"{out}/missing_key.png", pnginfo=info)
    # two channels that disagree: tEXt and XMP
    other = json.loads(payload)
    other["AIGC"]["ProduceID"] = "another-id"
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description rdf:about="" xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/" TC260:AIGC="%s"/>'
           '</rdf:RDF></x:xmpmeta>') % json.dumps(other).replace("&", "&amp;").replace('"', "&quot;")
    info = PngImagePlugin.PngInfo()
    info.add_text("AIGC", payload)
    info.add_itxt("XML:com.adobe.xmp", xmp)
    img.save(f"{out}/conflict.png", pnginfo=info)
    # JPEG and WebP with EXIF UserComment
    img.save(f"{out}/pil_exif.jpg", exif=exif_with_comment(img, payload), quality=90)
    img.save(f"{out}/plain.jpg", quality=90)
    img.save(f"{out}/pil_exif.webp", exif=exif_with_comment(img, payload).tobytes(), quality=80)
    img.save(f"{out}/plain.webp", quality=80)
    img.save(f"{out}/plain_lossless.webp", lossless=True)
    # MP3: ID3v2.4 UTF-8 and ID3v2.3 UTF-16 TXXX
    frame = b"\xff\xfb\x90\x64" + b"\0" * 413
    for name, ver, enc in [("mutagen_v24.mp3", 4, 3), ("mutagen_v23.mp3", 3, 1)]:
        with open(f"{out}/{name}", "wb") as f:
            f.write(frame * 20)
        t = id3.ID3()
        t.add(id3.TXXX(encoding=enc, desc="AIGC", text=[payload]))
        t.add(id3.TIT2(encoding=enc, text=["title"]))
        t.save(f"{out}/{name}", v2_version=ver)
    with open(f"{out}/plain.mp3", "wb") as f:
        f.write(frame * 20)
    # WAV
    write_wav(f"{out}/plain.wav")
    write_wav(f"{out}/mutagen_id3.wav")
    w = mwave.WAVE(f"{out}/mutagen_id3.wav")
    w.add_tags()
    w.tags.add(id3.TXXX(encoding=3, desc="AIGC", text=[payload]))
    w.save()
    # MP4: plain, and with an iTunes freeform item written by mutagen
    write_mp4(f"{out}/plain.mp4")
    write_mp4(f"{out}/mutagen_freeform.mp4")
    m = mp4.MP4(f"{out}/mutagen_freeform.mp4")
    if m.tags is None:
        m.add_tags()
    m.tags["----:com.apple.iTunes:AIGC"] = [mp4.MP4FreeForm(payload.encode())]
    m.tags["\xa9nam"] = ["title"]
    m.save()


def read(path):
    out = {}
    low = path.lower()
    if low.endswith((".png", ".jpg", ".jpeg", ".webp")):
        img = Image.open(path)
        img.load()
        out["size"] = img.size
        out["pixels_sha"] = __import__("hashlib").sha256(img.tobytes()).hexdigest()
        if low.endswith(".png"):
            out["text"] = {k: v for k, v in img.text.items()}
        ex = img.getexif()
        uc = ex.get_ifd(0x8769).get(0x9286)
        if uc is not None:
            out["user_comment"] = uc.decode("ascii", "replace") if isinstance(uc, bytes) else uc
        out["make"] = ex.get(0x010F)
        xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
        if xmp is not None:
            out["xmp"] = xmp.decode() if isinstance(xmp, bytes) else xmp
    elif low.endswith(".mp3"):
        import mutagen.id3 as id3
        import mutagen.mp3 as mp3
        try:
            t = id3.ID3(path)
        except id3.ID3NoHeaderError:
            t = id3.ID3()
        out["txxx"] = {f.desc: f.text[0] for f in t.getall("TXXX")}
        out["frames"] = sorted(k for k in t.keys())
        out["length"] = mp3.MP3(path).info.length
    elif low.endswith(".wav"):
        with wave.open(path, "rb") as w:
            out["frames"] = w.getnframes()
            out["frames_sha"] = __import__("hashlib").sha256(w.readframes(w.getnframes())).hexdigest()
        import mutagen.wave as mwave
        mwave.WAVE(path)
        out["mutagen_ok"] = True
    elif low.endswith(".mp4"):
        import mutagen.mp4 as mp4
        m = mp4.MP4(path)
        out["tags"] = {k: (bytes(v[0]).decode() if k.startswith("----") else str(v[0])) for k, v in (m.tags or {}).items()}
        out["length"] = m.info.length
        data = open(path, "rb").read()
        i = data.find(b"stco")
        off = struct.unpack(">I", data[i + 12:i + 16])[0]
        out["stco_points_at_sample"] = data[off:off + 18] == b"SAMPLE-DATA-MARKER"
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    else:
        read(sys.argv[2])
