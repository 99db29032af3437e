#!/usr/bin/env python3
"""An independent verifier of a beian transparency log, written from the specs
only (C2SP tlog-tiles, tlog-checkpoint, signed-note; RFC 6962 / RFC 9162),
with nothing but the Python standard library (hashlib, urllib) and Ed25519 from
the `cryptography` package when it is installed, else a pure-Python RFC 8032
verifier below. Used by crates/beian/tests/log_e2e.rs.

usage: verify_log.py BASE_URL
Exit 0 and one JSON line {"ok": true, "size": N, "root": "<base64>", ...} when
everything checks; exit 1 with the reason otherwise.
"""

import base64
import hashlib
import json
import sys
import urllib.error
import urllib.request

# ---------------------------------------------------------------- Ed25519 (RFC 8032 §5.1.7)

P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493


def _inv(x):
    return pow(x, P - 2, P)


D = -121665 * _inv(121666) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    A = (a[1] - a[0]) * (b[1] - b[0]) % P
    B = (a[1] + a[0]) * (b[1] + b[0]) % P
    C = 2 * a[3] * b[3] * D % P
    Dd = 2 * a[2] * b[2] % P
    E, F, G, H = B - A, Dd - C, Dd + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def _mul(s, pt):
    acc = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            acc = _add(acc, pt)
        pt = _add(pt, pt)
        s >>= 1
    return acc


def _eq(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * _inv(D * y * y + 1)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


_GY = 4 * _inv(5) % P
_GX = _recover_x(_GY, 0)
BASE = (_GX, _GY, 1, _GX * _GY % P)


def _decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


def ed25519_verify_pure(public, msg, sig):
    if len(sig) != 64:
        return False
    a = _decompress(public)
    r = _decompress(sig[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= Q:
        return False
    h = int.from_bytes(hashlib.sha512(sig[:32] + public + msg).digest(), "little") % Q
    return _eq(_mul(s, BASE), _add(r, _mul(h, a)))


try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    def ed25519_verify(public, msg, sig):
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(sig, msg)
            return True
        except InvalidSignature:
            return False

    ED25519 = "cryptography"
except ImportError:  # pragma: no cover - depends on the machine
    ed25519_verify = ed25519_verify_pure
    ED25519 = "pure-python RFC 8032"

# ---------------------------------------------------------------- RFC 6962 / RFC 9162


def leaf_hash(e):
    return hashlib.sha256(b"\x00" + e).digest()


def node_hash(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def mth(hashes):
    """Merkle Tree Hash over leaf hashes (RFC 6962 §2.1)."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, proof, first_hash, second_hash):
    """RFC 9162 §2.1.4.2."""
    if first == second:
        return not proof and first_hash == second_hash
    if first == 0 or first > second or not proof:
        return False
    if first & (first - 1) == 0:
        proof = [first_hash] + proof
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


# ---------------------------------------------------------------- HTTP and C2SP


class Fail(Exception):
    pass


def fetch(base, path):
    """(status, content-type, cache-control, body)"""
    try:
        with urllib.request.urlopen(base + path, timeout=30) as r:
            return r.status, r.headers.get("Content-Type"), r.headers.get("Cache-Control"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.headers.get("Cache-Control"), e.read()


def tile_index(n):
    """C2SP tlog-tiles: zero-padded 3-digit elements, all but the last with an x."""
    parts = ["%03d" % (n % 1000)]
    n //= 1000
    while n > 0:
        parts.append("x%03d" % (n % 1000))
        n //= 1000
    return "/".join(reversed(parts))


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def key_id(name, key):
    return hashlib.sha256(name.encode() + b"\n" + key).digest()[:4]


def main(base):
    base = base.rstrip("/")
    st, _, _, vkey = fetch(base, "/log/vkey")
    check(st == 200, "vkey: HTTP %d" % st)
    name, kid_hex, kb64 = vkey.decode().strip().split("+", 2)
    key = base64.b64decode(kb64, validate=True)
    check(len(key) == 33 and key[0] == 1, "vkey is not an Ed25519 note key")
    check(key_id(name, key).hex() == kid_hex, "vkey: key id is not SHA-256(name || 0x0A || 0x01 || key)[:4]")

    st, ctype, cache, note = fetch(base, "/log/checkpoint")
    check(st == 200, "checkpoint: HTTP %d" % st)
    check(ctype == "text/plain; charset=utf-8", "checkpoint Content-Type %r" % ctype)
    check(cache is not None and ("no-cache" in cache or "no-store" in cache or "max-age" in cache), "checkpoint Cache-Control %r" % cache)
    text = note.decode("utf-8")
    check("\n\n" in text and text.endswith("\n"), "signed note: no blank line before the signatures, or no final newline")
    body, sigs = text.split("\n\n", 1)
    body += "\n"
    lines = body.split("\n")[:-1]
    check(len(lines) >= 3, "checkpoint body has fewer than 3 lines")
    origin, size_s, root_b64 = lines[0], lines[1], lines[2]
    check(origin == name, "origin %r is not the key name %r" % (origin, name))
    check(size_s.isdigit() and (size_s == "0" or not size_s.startswith("0")), "tree size %r" % size_s)
    size = int(size_s)
    root = base64.b64decode(root_b64, validate=True)
    check(len(root) == 32, "root hash is not 32 bytes")
    ok = False
    for line in sigs.split("\n")[:-1]:
        check(line.startswith("\u2014 "), "signature line %r does not start with an em dash and a space" % line)
        sname, sb64 = line[2:].split(" ")
        raw = base64.b64decode(sb64, validate=True)
        if sname == name and raw[:4] == key_id(name, key):
            check(len(raw) == 4 + 64, "Ed25519 signature is not 4 + 64 bytes")
            check(ed25519_verify(key[1:], body.encode(), raw[4:]), "checkpoint signature does not verify")
            ok = True
    check(ok, "no signature by the log key")

    entries = []
    for i in range((size + 255) // 256):
        w = min(256, size - i * 256)
        path = "/log/tile/entries/" + tile_index(i) + ("" if w == 256 else ".p/%d" % w)
        st, ctype, cache, b = fetch(base, path)
        check(st == 200, "%s: HTTP %d" % (path, st))
        check(ctype == "application/octet-stream", "%s: Content-Type %r" % (path, ctype))
        check(cache is not None and "max-age" in cache, "%s: Cache-Control %r" % (path, cache))
        at, n = 0, 0
        while at < len(b):
            check(at + 2 <= len(b), "%s: truncated length" % path)
            ln = int.from_bytes(b[at:at + 2], "big")
            check(at + 2 + ln <= len(b), "%s: truncated entry" % path)
            entries.append(b[at + 2:at + 2 + ln])
            at += 2 + ln
            n += 1
        check(n == w, "%s: %d entries, want %d" % (path, n, w))
    leaves = [leaf_hash(e) for e in entries]
    check(mth(leaves) == root, "root recomputed from the entry bundles does not match the checkpoint")

    # hash tiles at every level: level l holds MTH of each 256**l-leaf subtree
    tiles = 0
    level, span = 0, 1
    while size // span > 0:
        n_hashes = size // span
        hashes = [mth(leaves[j * span:(j + 1) * span]) if span > 1 else leaves[j] for j in range(n_hashes)]
        for i in range((n_hashes + 255) // 256):
            w = min(256, n_hashes - i * 256)
            path = "/log/tile/%d/%s%s" % (level, tile_index(i), "" if w == 256 else ".p/%d" % w)
            st, ctype, _, b = fetch(base, path)
            check(st == 200, "%s: HTTP %d" % (path, st))
            check(ctype == "application/octet-stream", "%s: Content-Type %r" % (path, ctype))
            check(b == b"".join(hashes[i * 256:i * 256 + w]), "%s differs from the hashes recomputed from the entries" % path)
            tiles += 1
        level += 1
        span *= 256
    # beyond the tree: 404; empty or malformed: not 200
    st, _, _, _ = fetch(base, "/log/tile/0/" + tile_index(size // 256 + 1))
    check(st == 404, "a tile beyond the tree answered %d" % st)
    st, _, _, _ = fetch(base, "/log/tile/entries/" + tile_index(size // 256 + 1))
    check(st == 404, "an entry bundle beyond the tree answered %d" % st)
    if size % 256 != 255:
        st, _, _, _ = fetch(base, "/log/tile/0/%s.p/%d" % (tile_index(size // 256), size % 256 + 1))
        check(st == 404, "a partial tile wider than the tree answered %d" % st)
    for bad in ["/log/tile/0/1234", "/log/tile/00/000", "/log/tile/0/000.p/0", "/log/tile/0/000.p/256", "/log/tile/64/000"]:
        st, _, _, _ = fetch(base, bad)
        check(st in (400, 404), "%s answered %d" % (bad, st))

    # proofs served by the log, checked by RFC 9162's algorithms
    for idx in sorted({0, size // 3, size // 2, size - 1}):
        st, _, _, b = fetch(base, "/log/inclusion?index=%d" % idx)
        check(st == 200, "inclusion %d: HTTP %d" % (idx, st))
        j = json.loads(b)
        proof = [base64.b64decode(h) for h in j["proof"]]
        check(j["tree_size"] == size, "inclusion proof for another size")
        check(verify_inclusion(idx, size, leaves[idx], proof, root), "inclusion proof of %d does not verify" % idx)
    for old in sorted({1, size // 2, size - 1}):
        if old < 1 or old >= size:
            continue
        st, _, _, b = fetch(base, "/log/consistency?from=%d&to=%d" % (old, size))
        check(st == 200, "consistency %d: HTTP %d" % (old, st))
        proof = [base64.b64decode(h) for h in json.loads(b)["proof"]]
        check(verify_consistency(old, size, proof, mth(leaves[:old]), root), "consistency proof %d -> %d does not verify" % (old, size))

    print(json.dumps({"ok": True, "size": size, "root": root_b64, "origin": origin, "hash_tiles": tiles, "ed25519": ED25519}))


def _largest_pow2_below(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _path(m, d):
    """RFC 6962 §2.1.1 PATH(m, D[n]) over leaf hashes."""
    if len(d) == 1:
        return []
    k = _largest_pow2_below(len(d))
    if m < k:
        return _path(m, d[:k]) + [mth(d[k:])]
    return _path(m - k, d[k:]) + [mth(d[:k])]


def _subproof(m, d, b):
    """RFC 6962 §2.1.2 SUBPROOF(m, D[n], b)."""
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _largest_pow2_below(n)
    if m <= k:
        return _subproof(m, d[:k], b) + [mth(d[k:])]
    return _subproof(m - k, d[k:], False) + [mth(d[:k])]


def self_test():
    """The checks above must be able to fail: RFC 8032 test vector 1, and
    proofs built by RFC 6962's own recursive definitions, accepted as built
    and refused with one hash or index changed."""
    pk = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    sig = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    for f in (ed25519_verify, ed25519_verify_pure):
        check(f(pk, b"", sig), "RFC 8032 test 1 refused")
        check(not f(pk, b"x", sig), "a signature over another message accepted")
        check(not f(pk, b"", sig[:63] + bytes([sig[63] ^ 1])), "a changed signature accepted")
    flip = lambda h: bytes([h[0] ^ 1]) + h[1:]
    for n in range(1, 34):
        d = [leaf_hash(bytes([i])) for i in range(n)]
        root = mth(d)
        for m in range(n):
            p = _path(m, d)
            check(verify_inclusion(m, n, d[m], p, root), "inclusion %d/%d refused" % (m, n))
            if p:
                check(not verify_inclusion(m, n, d[m], [flip(p[0])] + p[1:], root), "bad inclusion accepted")
            check(not verify_inclusion(m, n, flip(d[m]), p, root), "wrong leaf accepted")
        for m in range(1, n):
            p = _subproof(m, d, True)
            check(verify_consistency(m, n, p, mth(d[:m]), root), "consistency %d->%d refused" % (m, n))
            check(not verify_consistency(m, n, p[:-1] + [flip(p[-1])], mth(d[:m]), root), "bad consistency accepted")
    check(mth([]) == hashlib.sha256(b"").digest(), "empty tree hash")
    check(tile_index(1234067) == "x001/x234/067" and tile_index(5) == "005", "tile index encoding")
    print(json.dumps({"ok": True, "self_test": True, "ed25519": ED25519}))


if __name__ == "__main__":
    try:
        if sys.argv[1] == "--self-test":
            self_test()
            sys.exit(0)
        main(sys.argv[1])
    except (Fail, ValueError, KeyError) as e:
        print(json.dumps({"ok": False, "error": str(e)}))
        sys.exit(1)
