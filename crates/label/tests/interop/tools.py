#!/usr/bin/env python3
"""Fixtures for beian-label made by other tools (Pillow, mutagen, PyAV/FFmpeg, Python's
wave, and hand-built tags where no tool writes the variant), and read-back checks of
what beian wrote.

  tools.py make OUTDIR PAYLOAD       write fixtures into OUTDIR
  tools.py make-c2pa OUTDIR          C2PA-signed files (c2pa-python), after `make`
  tools.py read FILE                 print what Pillow/mutagen see, as JSON
  tools.py read-c2pa FILE            print what the C2PA SDK reads, as JSON
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
    rgb_image(400, 300).save(f"{out}/big_lossy.webp", quality=80)  # for the explicit label
    # camera-like images with an ICC profile, EXIF (Make, Model, an old UserComment),
    # pHYs/density and a PNG text chunk: an explicit label must keep them
    from PIL import ImageCms
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    cam = rgb_image(400, 300)
    ex = cam.getexif()
    ex[0x010F] = "Pillow-fixture"
    ex[0x0110] = "Model-X"
    ex.get_ifd(0x8769)[0x9286] = b"ASCII\0\0\0" + payload.encode()
    cam.save(f"{out}/icc_exif.jpg", icc_profile=icc, exif=ex, quality=90, dpi=(300, 300))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "kept-comment")
    cam.save(f"{out}/icc_exif.png", icc_profile=icc, exif=ex, pnginfo=info, dpi=(300, 300))
    cam.save(f"{out}/icc_exif.webp", icc_profile=icc, exif=ex, quality=80)
    cam.resize((40, 30)).save(f"{out}/thumb.jpg", quality=80)
    cam.convert("L").save(f"{out}/grey.jpg", quality=90)
    cam.convert("LA").save(f"{out}/grey_alpha.png")
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
    make_variants(out, payload)
    try:
        make_av(out, payload)
    except ImportError as e:
        print("no PyAV:", e, file=sys.stderr)


XMP_HEAD = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/">')
XMP_TAIL = '</rdf:Description></rdf:RDF></x:xmpmeta>'


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def xmp_packet(inner):
    return XMP_HEAD + inner + XMP_TAIL


def syncsafe(n):
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def id3v22(payload):
    """An ID3v2.2 tag (3-letter frames, as old iTunes wrote): TT2, TXX AIGC, PIC."""
    def fr(fid, data):
        return fid + struct.pack(">I", len(data))[1:] + data
    frames = fr(b"TT2", b"\0old title") + fr(b"TXX", b"\0AIGC\0" + payload.encode())
    frames += fr(b"PIC", b"\0PNG\x03cover\0" + b"\x89PNG\xff\xe0fake")
    body = frames + b"\0" * 64
    return b"ID3\x02\x00\x00" + syncsafe(len(body)) + body


def id3v23_unsync(payload):
    """An ID3v2.3 tag with the unsynchronisation flag: every 0xFF followed by a byte
    >= 0xE0 or 0x00 gets a 0x00 inserted (the APIC data has such bytes)."""
    def fr(fid, data):
        return fid + struct.pack(">I", len(data)) + b"\0\0" + data
    frames = fr(b"TIT2", b"\0title") + fr(b"TXXX", b"\0AIGC\0" + payload.encode())
    frames += fr(b"APIC", b"\0image/png\0\x03\0" + b"\xff\xe0\xff\x00\xff\xfbpicture")
    out = bytearray()
    for i, b in enumerate(frames):
        out.append(b)
        if b == 0xFF and (i + 1 == len(frames) or frames[i + 1] >= 0xE0 or frames[i + 1] == 0):
            out.append(0)
    body = bytes(out) + b"\0" * 32
    return b"ID3\x03\x00\x80" + syncsafe(len(body)) + body


def make_variants(out, payload):
    """Payload and XMP forms other writers use, each in a PNG text chunk or XMP."""
    img = rgb_image(16, 16)
    obj = json.loads(payload)["AIGC"]
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if 0x21 <= ord(c) <= 0x7E and c in '{}":,' else c for c in payload)
    texts = {
        "var_bom.png": "\ufeff" + payload,
        "var_pretty.png": "\n" + json.dumps(json.loads(payload), indent=4) + "\n",
        "var_bare.png": json.dumps(obj),
        "var_fullwidth.png": fullwidth,
        "var_python.png": str(json.loads(payload)),
        "var_lowercase.png": json.dumps({"aigc": {k[0].lower() + k[1:]: v for k, v in obj.items()}}),
        "var_string.png": json.dumps({"AIGC": json.dumps(obj)}),
        "var_number_label.png": json.dumps({"AIGC": {**obj, "Label": 1}}),
    }
    for name, t in texts.items():
        info = PngImagePlugin.PngInfo()
        info.add_itxt("AIGC", t)
        img.save(f"{out}/{name}", pnginfo=info)
    fields = "".join(f"<TC260:{k}>{esc(v)}</TC260:{k}>" for k, v in obj.items())
    xmps = {
        "xmp_raw_json.png": xmp_packet("<TC260:AIGC>" + json.dumps(obj) + "</TC260:AIGC>"),
        "xmp_alt.png": xmp_packet('<TC260:AIGC><rdf:Alt><rdf:li xml:lang="x-default">' + esc(payload)
                                  + "</rdf:li></rdf:Alt></TC260:AIGC>"),
        "xmp_struct.png": xmp_packet('<TC260:AIGC rdf:parseType="Resource">' + fields + "</TC260:AIGC>"),
        "xmp_flat.png": xmp_packet(fields),
        "xmp_noslash.png": xmp_packet("<TC260:AIGC>" + esc(payload) + "</TC260:AIGC>").replace(
            "AIGC/1.0/", "AIGC/1.0"),
    }
    # EXIF in a PNG eXIf chunk (Pillow), and the text keyword in lower case
    big = rgb_image()
    big.save(f"{out}/pil_exif.png", exif=exif_with_comment(big, payload))
    info = PngImagePlugin.PngInfo()
    info.add_text("aigc", payload)
    img.save(f"{out}/var_keyword_case.png", pnginfo=info)
    for name, x in xmps.items():
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", x, zip=name == "xmp_struct.png")
        img.save(f"{out}/{name}", pnginfo=info)
    # Pillow's own XMP writers (JPEG, WebP, AVIF) and AVIF EXIF
    x = xmp_packet("<TC260:AIGC>" + esc(payload) + "</TC260:AIGC>").encode()
    big = rgb_image()
    big.save(f"{out}/pil_xmp.jpg", xmp=x, quality=90)
    big.save(f"{out}/pil_xmp.webp", xmp=x, quality=80)
    try:
        from PIL import features
        if features.check("avif"):
            big.save(f"{out}/pil_exif_xmp.avif", exif=exif_with_comment(big, payload), xmp=x)
            big.save(f"{out}/plain.avif")
    except Exception as e:  # noqa: BLE001 -- AVIF support is optional in Pillow
        print("no AVIF:", e, file=sys.stderr)
    # HEIC by libheif (pillow-heif: x265-coded items, libheif's own iloc layout)
    try:
        import pillow_heif
        pillow_heif.register_heif_opener()
        big.save(f"{out}/pil_exif_xmp.heic", exif=exif_with_comment(big, payload), xmp=x)
        # a fresh image: pillow-heif would carry metadata from an image's info
        rgb_image().save(f"{out}/plain.heic")
    except Exception as e:  # noqa: BLE001 -- pillow-heif is optional
        print("no HEIC:", e, file=sys.stderr)
    # text: YAML front matter (as AI coding tools write it) and an HTML meta tag
    fm = "---\ntitle: notes\nAIGC:\n" + "".join(f"    {k}: '{v}'\n" for k, v in obj.items()) + "---\n\n# Notes\n"
    with open(f"{out}/front_matter.md", "w") as f:
        f.write(fm)
    with open(f"{out}/page.html", "w") as f:
        f.write(f"<!doctype html><html><head><meta name=\"AIGC\" content=\"{esc(payload)}\"></head><body>x</body></html>")
    # MP3: hand-built ID3v2.2 and unsynchronised ID3v2.3 tags (mutagen reads both)
    frame = b"\xff\xfb\x90\x64" + b"\0" * 413
    for name, tag in [("id3v22.mp3", id3v22(payload)), ("id3v23_unsync.mp3", id3v23_unsync(payload))]:
        with open(f"{out}/{name}", "wb") as f:
            f.write(tag + frame * 20)


def make_av(out, payload):
    """MP4/MOV/M4A (plain and fragmented), FLAC, Opus and MP3 muxed by FFmpeg
    through PyAV, with the label as container metadata (`AIGC`)."""
    import av

    def video(path, opts, label=True):
        c = av.open(path, "w", options=opts)
        if label:
            c.metadata["AIGC"] = payload
        c.metadata["title"] = "title"
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(20):
            f = av.VideoFrame(64, 48, "rgb24")
            f.planes[0].update(bytes([(i * 12) % 256]) * f.planes[0].buffer_size)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
        c.close()

    def audio(path, codec, opts=None, rate=16000, label=True, fmt=None, stereo=False, copts=None):
        c = av.open(path, "w", format=fmt, options=opts or {})
        if label:
            c.metadata["AIGC"] = payload
        s = c.add_stream(codec, rate=rate, options=copts or {})
        layout = "stereo" if stereo else "mono"
        s.layout = layout
        n = 1024
        for k in range(8):
            # FFmpeg's own Vorbis encoder takes planar float, stereo only
            sf = "fltp" if stereo else "s16"
            f = av.AudioFrame(format=sf, layout=layout, samples=n)
            f.sample_rate = rate
            f.pts = k * n
            for pl in f.planes:
                if stereo:
                    pl.update(b"".join(struct.pack("<f", 0.25 * math.sin(0.05 * j)) for j in range(k * n, (k + 1) * n)))
                else:
                    pl.update(b"".join(struct.pack("<h", int(8000 * math.sin(0.05 * j)))
                                       for j in range(k * n, (k + 1) * n)))
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
        c.close()

    tags = {"movflags": "use_metadata_tags"}
    frag = {"movflags": "frag_keyframe+empty_moov+use_metadata_tags"}
    video(f"{out}/ff_meta.mp4", tags)
    video(f"{out}/ff_meta.mov", tags)
    video(f"{out}/ff_frag.mp4", frag)
    video(f"{out}/ff_frag_plain.mp4", {"movflags": "frag_keyframe+empty_moov"}, label=False)
    video(f"{out}/ff_plain.mp4", {"movflags": "faststart"}, label=False)
    audio(f"{out}/ff.m4a", "aac", tags)
    audio(f"{out}/ff.flac", "flac")
    audio(f"{out}/ff_plain.flac", "flac", label=False)
    audio(f"{out}/ff.opus", "libopus", rate=48000)
    audio(f"{out}/ff_plain.opus", "libopus", rate=48000, label=False)
    # Ogg Vorbis (FFmpeg's experimental native encoder) and FLAC in Ogg
    audio(f"{out}/ff.ogg", "vorbis", rate=44100, stereo=True, copts={"strict": "-2"})
    audio(f"{out}/ff_flac.oga", "flac", fmt="ogg")
    audio(f"{out}/ff.mp3", "libmp3lame")
    # mutagen writes the Vorbis comment of an Ogg Opus stream and a FLAC file itself
    import mutagen.flac
    import mutagen.oggopus
    for src, dst, cls in [("ff_plain.flac", "mutagen.flac", mutagen.flac.FLAC)]:
        with open(f"{out}/{src}", "rb") as a, open(f"{out}/{dst}", "wb") as b:
            b.write(a.read())
        m = cls(f"{out}/{dst}")
        m["aigc"] = payload
        m["title"] = "title"
        m.save()
    with open(f"{out}/ff.opus", "rb") as a, open(f"{out}/mutagen.opus", "wb") as b:
        b.write(a.read())
    o = mutagen.oggopus.OggOpus(f"{out}/mutagen.opus")
    o.clear()
    o["Aigc"] = payload
    o["title"] = "x" * 70000  # a comment header over several Ogg pages
    o.save()
    # mutagen's Ogg Vorbis comment writer, and an Ogg FLAC comment
    import mutagen.oggvorbis
    import mutagen.oggflac
    for src, dst, cls in [("ff.ogg", "mutagen.ogg", mutagen.oggvorbis.OggVorbis),
                          ("ff_flac.oga", "mutagen_flac.oga", mutagen.oggflac.OggFLAC)]:
        with open(f"{out}/{src}", "rb") as a, open(f"{out}/{dst}", "wb") as b:
            b.write(a.read())
        o = cls(f"{out}/{dst}")
        o["aigc"] = payload
        o["title"] = "title"
        o.save()
    # liboggz's oggz-chop puts a Skeleton 3 stream in front of the audio (Debian
    # oggz-tools; the cases are skipped where it is missing)
    import shutil
    import subprocess
    if shutil.which("oggz-chop"):
        for src, dst in [("ff.ogg", "oggz_skeleton.ogg"), ("ff.opus", "oggz_skeleton.opus")]:
            subprocess.run(["oggz-chop", "-o", f"{out}/{dst}", f"{out}/{src}"], check=True)


def test_signer():
    """A throwaway ES256 signer: a test CA and a leaf certificate made here (the
    manifests are only for reading; nothing trusts this CA)."""
    import datetime
    from cryptography import x509
    from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    import c2pa

    now = datetime.datetime.now(datetime.timezone.utc)

    def cert(name, key, issuer, issuer_key, ca):
        b = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
        if ca:
            b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        else:
            b = (b.add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
                 .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
                 .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False))
        return b.sign(issuer_key, hashes.SHA256())

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "beian tests")])

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = cert(name("beian test CA"), ca_key, name("beian test CA"), ca_key, True)
    leaf = cert(name("beian test signer"), key, name("beian test CA"), ca_key, False)
    chain = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    pk = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", chain, pk, None))


C2PA_MIME = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "mp4": "video/mp4", "wav": "audio/wav"}


def make_c2pa(out):
    """Files signed by the C2PA SDK (c2pa-python): an AI-generated image (action
    c2pa.created, trainedAlgorithmicMedia), an AI edit (compositeWithTrainedAlgorithmicMedia)
    with a large thumbnail (the JPEG store spans several APP11 segments), a camera
    capture (digitalCapture), in JPEG, PNG, WebP, MP4 and WAV."""
    import c2pa

    signer = test_signer()

    def manifest(title, action, dst, agent, before=()):
        a = {"action": action, "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/" + dst}
        if agent:
            a["softwareAgent"] = {"name": agent, "version": "2"}
        return {"claim_generator_info": [{"name": "beian-fixture", "version": "1.0"}], "title": title,
                "assertions": [{"label": "c2pa.actions", "data": {"actions": [*before, a]}}]}

    captured = {"action": "c2pa.created",
                "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}

    noisy = Image.frombytes("RGB", (900, 700), bytes((i * 7919) % 251 for i in range(900 * 700 * 3)))
    cases = [
        ("c2pa_ai.jpg", rgb_image(), manifest("generated.jpg", "c2pa.created", "trainedAlgorithmicMedia", "beian-test-model")),
        ("c2pa_ai.png", rgb_image(), manifest("generated.png", "c2pa.created", "trainedAlgorithmicMedia", "beian-test-model")),
        ("c2pa_ai.webp", rgb_image(), manifest("generated.webp", "c2pa.created", "trainedAlgorithmicMedia", None)),
        ("c2pa_edit.jpg", noisy, manifest("edited.jpg", "c2pa.edited", "compositeWithTrainedAlgorithmicMedia", "inpainter",
                                                  [captured])),
        ("c2pa_camera.jpg", rgb_image(), manifest("photo.jpg", "c2pa.created", "digitalCapture", None)),
    ]
    for name, img, m in cases:
        ext = name.rsplit(".", 1)[1]
        src = io.BytesIO()
        img.save(src, {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[ext])
        sign(signer, m, C2PA_MIME[ext], src.getvalue(), f"{out}/{name}")
    for name, src in [("c2pa_ai.mp4", "ff_plain.mp4"), ("c2pa_ai.wav", "plain.wav")]:
        try:
            data = open(f"{out}/{src}", "rb").read()
        except FileNotFoundError:
            continue
        ext = name.rsplit(".", 1)[1]
        sign(signer, manifest("generated." + ext, "c2pa.created", "trainedAlgorithmicMedia", "beian-test-model"),
             C2PA_MIME[ext], data, f"{out}/{name}")


def sign(signer, manifest, mime, data, path):
    import c2pa
    dst = io.BytesIO()
    c2pa.Builder(json.dumps(manifest)).sign(signer, mime, io.BytesIO(data), dst)
    with open(path, "wb") as f:
        f.write(dst.getvalue())


def read_c2pa(path):
    """What the C2PA SDK reads: the active manifest's generator, title, actions and
    the validation state (as JSON)."""
    import c2pa
    ext = path.rsplit(".", 1)[1].lower()
    with open(path, "rb") as f:
        r = c2pa.Reader(C2PA_MIME.get(ext, "image/jpeg"), io.BytesIO(f.read()))
    store = json.loads(r.json())
    m = store["manifests"][store["active_manifest"]]
    acts = []
    for a in m.get("assertions", []):
        if a["label"].startswith("c2pa.actions"):
            for x in a["data"]["actions"]:
                acts.append([x["action"], x.get("digitalSourceType", "").rsplit("/", 1)[-1] or None])
    info = m.get("claim_generator_info") or [{}]
    info = info[0] if isinstance(info, list) else info
    print(json.dumps({"active_manifest": store["active_manifest"], "generator": info.get("name"),
                      "title": m.get("title"), "actions": acts,
                      "validation_state": store.get("validation_state"),
                      "failures": [s.get("code") for s in (store.get("validation_results", {}).get("activeManifest", {}).get("failure", []))]}))


def read(path):
    out = {}
    low = path.lower()
    base = low.rsplit("/", 1)[-1]
    base = base[4:] if base.startswith("out_") else base
    if low.endswith((".png", ".jpg", ".jpeg", ".webp", ".avif", ".heic")):
        if low.endswith(".heic"):
            import pillow_heif
            pillow_heif.register_heif_opener()
        img = Image.open(path)
        img.load()
        out["size"] = img.size
        out["mode"] = img.mode
        out["pixels_sha"] = __import__("hashlib").sha256(img.tobytes()).hexdigest()
        if low.endswith(".png"):
            out["text"] = {k: v for k, v in img.text.items()}
        ex = img.getexif()
        uc = ex.get_ifd(0x8769).get(0x9286)
        if uc is not None:
            out["user_comment"] = uc.decode("ascii", "replace") if isinstance(uc, bytes) else uc
        out["make"] = ex.get(0x010F)
        icc = img.info.get("icc_profile")
        if icc:
            out["icc_sha"] = __import__("hashlib").sha256(icc).hexdigest()
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
    elif low.endswith((".flac", ".opus", ".ogg", ".oga")):
        import mutagen
        m = mutagen.File(path)
        out["tags"] = {k.lower(): v[0][:200] for k, v in (m.tags or {}).items()}
        out["length"] = m.info.length
        out["decoded"] = av_decode(path)
    elif low.endswith((".mov", ".m4a")) or (base.startswith("ff_") and low.endswith(".mp4")):
        out["decoded"] = av_decode(path)
        import av
        with av.open(path) as c:
            out["tags"] = dict(c.metadata)
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


def av_decode(path):
    """Frames and a hash of the decoded media, by FFmpeg through PyAV."""
    import hashlib
    import av
    h = hashlib.sha256()
    n = 0
    with av.open(path) as c:
        # the first audio or video stream (a Skeleton stream is data)
        st = next((x for x in c.streams if x.type in ("audio", "video")), c.streams[0])
        for fr in c.decode(st):
            for p in fr.planes:
                h.update(bytes(p))
            n += 1
    return {"frames": n, "sha": h.hexdigest()}


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "make-c2pa":
        make_c2pa(sys.argv[2])
    elif sys.argv[1] == "read-c2pa":
        read_c2pa(sys.argv[2])
    else:
        read(sys.argv[2])
