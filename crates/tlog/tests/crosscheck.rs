//! Cross-checks our RFC 6962 tree and proofs against two independent
//! implementations: `ct-merkle` and Cloudflare's `tlog_tiles` (a port of Go's
//! `sumdb/tlog`), and our tiles against the spec's path examples.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use beian_tlog::merkle::{self, Tree, leaf_hash, verify_consistency, verify_inclusion};
use beian_tlog::tile::{self, TileId};
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use sha2_011::Sha256;

fn entry(i: usize) -> Vec<u8> {
    format!("{{\"i\":{i},\"x\":\"{}\"}}", "ab".repeat(i % 7)).into_bytes()
}

fn th(h: &merkle::Hash) -> tlog_tiles::Hash {
    tlog_tiles::Hash(*h)
}

#[test]
fn roots_and_proofs_match_ct_merkle_and_tlog_tiles() {
    let mut ours = Tree::new();
    let mut theirs: MemoryBackedTree<Sha256, Vec<u8>> = MemoryBackedTree::new();
    let mut roots = vec![merkle::empty_root()];
    for n in 1..=300usize {
        let e = entry(n - 1);
        ours.push(&e);
        theirs.push(e.clone());
        assert_eq!(leaf_hash(&e), tlog_tiles::record_hash(&e).0);
        let root = ours.root();
        assert_eq!(
            root.as_slice(),
            theirs.root().as_bytes().as_slice(),
            "root at {n}"
        );
        roots.push(root);
        // inclusion of a few leaves in this tree
        for idx in [0, n / 3, n / 2, n - 1] {
            let p = ours.inclusion_proof(idx as u64, n as u64).expect("proof");
            let flat: Vec<u8> = p.iter().flatten().copied().collect();
            assert_eq!(
                flat,
                theirs.prove_inclusion(idx).as_bytes(),
                "inclusion {idx} in {n}"
            );
            verify_inclusion(&leaf_hash(&entry(idx)), idx as u64, n as u64, &p, &root)
                .expect("ours");
            let tp: Vec<tlog_tiles::Hash> = p.iter().map(th).collect();
            tlog_tiles::check_record(
                &tp,
                n as u64,
                th(&root),
                idx as u64,
                th(&leaf_hash(&entry(idx))),
            )
            .expect("tlog_tiles accepts our inclusion proof");
            // a wrong leaf or index fails
            assert!(verify_inclusion(&leaf_hash(b"x"), idx as u64, n as u64, &p, &root).is_err());
            if n > 1 {
                let other = (idx + 1) % n;
                assert!(
                    verify_inclusion(&leaf_hash(&entry(idx)), other as u64, n as u64, &p, &root)
                        .is_err()
                );
            }
        }
        // consistency from a few older sizes
        for m in [1, n / 2, n - 1, n] {
            if m == 0 {
                continue;
            }
            let p = ours.consistency_proof(m as u64, n as u64).expect("proof");
            if m < n {
                let flat: Vec<u8> = p.iter().flatten().copied().collect();
                assert_eq!(
                    flat,
                    theirs.prove_consistency(n - m).as_bytes(),
                    "consistency {m}->{n}"
                );
                let tp: Vec<tlog_tiles::Hash> = p.iter().map(th).collect();
                tlog_tiles::check_tree(&tp, n as u64, th(&root), m as u64, th(&roots[m]))
                    .expect("tlog_tiles accepts our consistency proof");
            }
            verify_consistency(m as u64, n as u64, &roots[m], &root, &p).expect("ours");
            assert_eq!(ours.root_at(m as u64).expect("root"), roots[m]);
            if m < n {
                let mut bad = roots[m];
                bad[0] ^= 1;
                assert!(verify_consistency(m as u64, n as u64, &bad, &root, &p).is_err());
            }
        }
    }
}

#[test]
fn tile_paths_follow_the_spec() {
    assert_eq!(tile::encode_index(1234067), "x001/x234/067");
    assert_eq!(tile::encode_index(5), "005");
    let t = TileId {
        level: Some(0),
        index: 1234067,
        width: 256,
    };
    assert_eq!(t.path(), "tile/0/x001/x234/067");
    let p = TileId {
        level: None,
        index: 5,
        width: 7,
    };
    assert_eq!(p.path(), "tile/entries/005.p/7");
    for id in [
        t,
        p,
        TileId {
            level: Some(2),
            index: 0,
            width: 1,
        },
    ] {
        let rest = id.path();
        assert_eq!(
            TileId::parse(rest.strip_prefix("tile/").expect("prefix")),
            Ok(id)
        );
    }
    for bad in [
        "0/5",
        "0/x005",
        "0/005.p/0",
        "0/005.p/256",
        "0/005.p/07",
        "64/000",
        "01/000",
        "e/000",
        "0/1234",
        "0/000/",
        "0/x1/000",
    ] {
        assert!(TileId::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn hash_tiles_are_level_hashes() {
    let mut t = Tree::new();
    for i in 0..70_000 {
        t.push(&entry(i));
    }
    let ids = tile::tiles_for(t.size());
    // level 0: 273 full + 1 partial; level 1: 1 full (65536) + partial 17; level 2: partial 1
    assert_eq!(ids.iter().filter(|i| i.level == Some(0)).count(), 274);
    assert!(ids.contains(&TileId {
        level: Some(1),
        index: 1,
        width: 17
    }));
    assert!(ids.contains(&TileId {
        level: Some(2),
        index: 0,
        width: 1
    }));
    for id in &ids {
        let b = tile::hash_tile(&t, id.level.unwrap_or(0), id.index, id.width).expect("tile");
        assert_eq!(b.len(), id.width as usize * 32);
    }
    // a level-1 tile hash is the root of the 256 level-0 hashes below it
    let l1 = tile::tile_hashes(&tile::hash_tile(&t, 1, 0, 1).expect("tile")).expect("hashes");
    let l0 = tile::tile_hashes(&tile::hash_tile(&t, 0, 0, 256).expect("tile")).expect("hashes");
    assert_eq!(l1[0], merkle::root_of(&l0));
    assert!(tile::hash_tile(&t, 0, 273, 113).is_none());
    let bundle =
        tile::encode_bundle([b"a".as_slice(), b"".as_slice(), b"xyz".as_slice()]).expect("bundle");
    assert_eq!(bundle, b"\x00\x01a\x00\x00\x00\x03xyz");
    assert_eq!(tile::decode_bundle(&bundle).expect("decode").len(), 3);
    assert!(tile::decode_bundle(b"\x00\x05ab").is_err());
}

#[test]
fn checkpoints_sign_and_verify() {
    use beian_tlog::note::{self, Checkpoint, LogSigner};
    let k = LogSigner::generate("example.org/log").expect("key");
    let again = LogSigner::from_skey(&k.skey()).expect("reload");
    assert_eq!(k.vkey(), again.vkey());
    // vkey format: name+8 hex+base64(0x01||32 bytes)
    let parts: Vec<&str> = k.vkey().split('+').collect();
    assert_eq!(parts[0], "example.org/log");
    assert_eq!(parts[1].len(), 8);
    let cp = Checkpoint {
        origin: "example.org/log".into(),
        size: 3,
        root: [7; 32],
    };
    let n = k.sign(&cp).expect("sign");
    assert!(n.starts_with("example.org/log\n3\nBwcH"));
    assert!(n.contains("\n\n\u{2014} example.org/log "));
    assert_eq!(note::open_checkpoint(&n, k.vkey()).expect("open"), cp);
    // another key, a changed body, a changed signature: all refused
    let other = LogSigner::generate("example.org/log").expect("key");
    assert!(note::open_checkpoint(&n, other.vkey()).is_err());
    assert!(note::open_checkpoint(&n.replacen("\n3\n", "\n4\n", 1), k.vkey()).is_err());
    // a witness cosignature keeps the log's signature
    let w = LogSigner::generate("witness.example").expect("key");
    let co = w.cosigner().cosign(&n, 1_679_315_147).expect("cosign");
    assert_eq!(note::open_checkpoint(&co, k.vkey()).expect("open"), cp);
    let wv = w.cosigner().vkey().to_string();
    assert_eq!(
        note::cosignature_time(&co, &wv).expect("check"),
        Some(1_679_315_147)
    );
    assert_eq!(note::cosignature_time(&n, &wv).expect("check"), None);
    // not a plain (type 0x01) note signature
    assert!(!note::has_signature(&co, w.vkey()).expect("check"));
    check_cosignature(&co, &wv, 1_679_315_147);
    // a changed body or time fails
    let forged = co.replacen("\n3\n", "\n4\n", 1);
    assert_eq!(note::cosignature_time(&forged, &wv).expect("check"), None);
}

/// An independent check of a C2SP tlog-cosignature/v1 (written from the
/// spec, with sha2 0.11 and ed25519-dalek only).
#[allow(clippy::unwrap_used, clippy::expect_used)]
fn check_cosignature(note: &str, vkey: &str, time: u64) {
    use sha2_011::Digest;
    let mut p = vkey.splitn(3, '+');
    let (name, id_hex, key_b64) = (p.next().unwrap(), p.next().unwrap(), p.next().unwrap());
    let key = B64.decode(key_b64).unwrap();
    assert_eq!(key.len(), 33);
    assert_eq!(key[0], 0x04, "cosignature/v1 type byte");
    let mut h = sha2_011::Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([0x04u8]);
    h.update(&key[1..]);
    let id = h.finalize();
    let id_want: String = id[..4].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        id_hex, id_want,
        "key id = SHA-256(name || \\n || 0x04 || key)[:4]"
    );
    let (body, sigs) = note.rsplit_once("\n\n").unwrap();
    let line = sigs
        .lines()
        .find(|l| l.starts_with(&format!("\u{2014} {name} ")))
        .expect("a signature line by the witness");
    let raw = B64.decode(line.rsplit(' ').next().unwrap()).unwrap();
    assert_eq!(raw.len(), 4 + 8 + 64, "key id, timestamp, signature");
    assert_eq!(&raw[..4], &id[..4]);
    assert_eq!(u64::from_be_bytes(raw[4..12].try_into().unwrap()), time);
    let msg = format!("cosignature/v1\ntime {time}\n{body}\n");
    let pk = ed25519_dalek::VerifyingKey::from_bytes(&key[1..].try_into().unwrap()).unwrap();
    let sig = ed25519_dalek::Signature::from_slice(&raw[12..]).unwrap();
    pk.verify_strict(msg.as_bytes(), &sig)
        .expect("cosignature verifies");
}

/// Undoing appends (a write whose transaction did not commit) leaves exactly
/// the tree that had only those leaves: same roots, proofs and tiles, and
/// appending again gives the same tree as never having truncated.
#[test]
fn truncate_undoes_appends() {
    for (keep, extra) in [
        (0usize, 5usize),
        (1, 1),
        (255, 2),
        (256, 300),
        (300, 213),
        (511, 1),
        (1000, 77),
    ] {
        let mut a = Tree::new();
        let mut b = Tree::new();
        for i in 0..keep {
            a.push(&entry(i));
            b.push(&entry(i));
        }
        for i in 0..extra {
            b.push(&entry(10_000 + i));
        }
        b.truncate(keep as u64);
        assert_eq!(b.size(), keep as u64);
        assert_eq!(b.root(), a.root(), "keep {keep}, extra {extra}");
        for l in 0..12 {
            assert_eq!(b.level(l), a.level(l), "level {l}");
        }
        for i in keep..keep + 40 {
            a.push(&entry(i));
            b.push(&entry(i));
        }
        assert_eq!(b.root(), a.root());
        let n = a.size();
        assert_eq!(b.inclusion_proof(n / 2, n), a.inclusion_proof(n / 2, n));
        assert_eq!(b.consistency_proof(n / 3, n), a.consistency_proof(n / 3, n));
    }
}
