//! The lexicon cache: a hit gives the engine a build gives (same findings,
//! same loader report); an edited file, other options, another build or a
//! damaged entry is a miss; entries over the limit go, least recently used
//! first; a cache that cannot be written costs nothing but the cache.

mod common;

use std::path::{Path, PathBuf};

use common::{shared, spec};

use beian_scan::{Built, CacheUse, EngineSpec, LexiconCache, build_engine_cached};
use beian_screen::{Engine, Options};

fn texts() -> Vec<String> {
    common::novel_lines(
        1,
        1000,
        &[
            "他们在练 法.輪.功 吗，电话 13812345678",
            "fa轮功 和 法lun功 还有 falungong",
            "赌博网站 賭博網站 ｄｕｂｏ 六合彩",
        ],
    )
}

fn findings(e: &Engine, texts: &[String]) -> Vec<Vec<beian_screen::Finding>> {
    texts.iter().map(|t| e.find(t)).collect()
}

/// Builds through the cache and writes a miss's entry at once.
fn cached(spec: &EngineSpec<'_>, cache: &LexiconCache) -> Built {
    let mut b = build_engine_cached(spec, Some(cache)).expect("build");
    if let Some(st) = b.store.take() {
        st.write(&b.engine).expect("cache write");
    }
    b
}

fn entries(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn a_hit_is_the_engine_a_build_makes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // konsheng, and a directory of the user's own with a README beside the
    // lexicon and a risk code the standard does not have: the loader skips
    // the one and warns about the other, and a hit must say so too.
    let own = tmp.path().join("own");
    std::fs::create_dir_all(&own).expect("dir");
    std::fs::write(own.join("README.txt"), "这些是我们自己的词。\n").expect("readme");
    std::fs::write(own.join("extra.tsv"), "六合彩开奖\tZ.9.z\n赌钱网\tA.1.h\n").expect("lex");
    let lex = vec![shared().join("lexicons/konsheng"), own];
    let allow = tmp.path().join("allow.txt");
    std::fs::write(&allow, "一个\n宋江\n").expect("allow");
    let allow = vec![allow];
    let cache = LexiconCache::new(tmp.path().join("cache"), "test build 1");
    let sp = spec(&lex, &allow, Options::default());

    let miss = cached(&sp, &cache);
    let CacheUse::Miss(bin) = &miss.cache else {
        panic!("first build: {:?}", miss.cache)
    };
    assert!(bin.is_file() && bin.with_extension("json").is_file());
    let hit = cached(&sp, &cache);
    assert_eq!(hit.cache, CacheUse::Hit(bin.clone()));
    assert!(hit.store.is_none());

    let plain = build_engine_cached(&sp, None).expect("plain build");
    assert_eq!(plain.cache, CacheUse::Bypassed("no cache"));
    let texts = texts();
    let want = findings(&plain.engine, &texts);
    assert!(want.iter().map(Vec::len).sum::<usize>() > 50);
    assert_eq!(findings(&miss.engine, &texts), want);
    assert_eq!(findings(&hit.engine, &texts), want);
    assert_eq!(hit.engine.entries().len(), plain.engine.entries().len());
    // The loader's report, replayed.
    let report = |b: &Built| serde_json::to_string(&b.loaded).expect("json");
    assert_eq!(report(&hit), report(&plain));
    assert!(
        plain.loaded.iter().any(|f| f.skipped.is_some()),
        "the README is reported skipped: {}",
        report(&plain)
    );
    assert!(
        plain.loaded.iter().any(|f| !f.warnings.is_empty()),
        "Z.9.z is warned about: {}",
        report(&plain)
    );
    assert_eq!(entries(cache.dir(), "bin").len(), 1);
}

#[test]
fn an_edit_other_options_or_another_build_is_a_miss() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lex_file = tmp.path().join("lex.tsv");
    std::fs::write(&lex_file, "赌博\tA.1.h\n六合彩\tA.1.h\n").expect("lex");
    let lex = vec![lex_file.clone()];
    let cache = LexiconCache::new(tmp.path().join("cache"), "build A");
    let sp = spec(&lex, &[], Options::default());
    assert!(matches!(cached(&sp, &cache).cache, CacheUse::Miss(_)));
    assert!(matches!(cached(&sp, &cache).cache, CacheUse::Hit(_)));

    // The same length and modification time, other contents.
    let mtime = std::fs::metadata(&lex_file)
        .and_then(|m| m.modified())
        .expect("mtime");
    std::fs::write(&lex_file, "赌钱\tA.1.h\n六合彩\tA.1.h\n").expect("lex");
    std::fs::File::options()
        .append(true)
        .open(&lex_file)
        .and_then(|f| f.set_modified(mtime))
        .expect("set mtime");
    let edited = cached(&sp, &cache);
    assert!(
        matches!(edited.cache, CacheUse::Miss(_)),
        "{:?}",
        edited.cache
    );
    let f = edited.engine.find("他去赌钱");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(edited.engine.find("赌博").is_empty());

    let o = Options {
        min_term_chars: 1,
        ..Options::default()
    };
    assert!(matches!(
        cached(&spec(&lex, &[], o), &cache).cache,
        CacheUse::Miss(_)
    ));
    let other = LexiconCache::new(cache.dir(), "build B");
    assert!(matches!(cached(&sp, &other).cache, CacheUse::Miss(_)));
    assert!(matches!(cached(&sp, &other).cache, CacheUse::Hit(_)));
    // Detectors are chosen at load, not cached.
    let none = EngineSpec {
        detectors: &[],
        ..spec(&lex, &[], Options::default())
    };
    let hit = cached(&none, &other);
    assert!(matches!(hit.cache, CacheUse::Hit(_)));
    assert!(hit.engine.find("电话 13812345678").is_empty());
    let with = cached(&sp, &other);
    assert_eq!(with.engine.find("电话 13812345678").len(), 1);
}

#[test]
fn a_damaged_entry_is_rebuilt_and_a_compiled_lexicon_bypasses_the_cache() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lex_file = tmp.path().join("lex.txt");
    std::fs::write(&lex_file, "违禁品\n赌博网站\n").expect("lex");
    let lex = vec![lex_file];
    let cache = LexiconCache::new(tmp.path().join("cache"), "b");
    let sp = spec(&lex, &[], Options::default());
    let CacheUse::Miss(bin) = cached(&sp, &cache).cache else {
        panic!("miss expected")
    };
    let mut b = std::fs::read(&bin).expect("bin");
    let n = b.len();
    b[n - 3] ^= 0x40;
    std::fs::write(&bin, &b).expect("damage");
    let again = cached(&sp, &cache);
    assert!(
        matches!(again.cache, CacheUse::Miss(_)),
        "{:?}",
        again.cache
    );
    assert_eq!(again.engine.find("有违禁品").len(), 1);
    assert!(matches!(cached(&sp, &cache).cache, CacheUse::Hit(_)));
    // A sidecar of other contents (another key's) is a miss too.
    std::fs::write(bin.with_extension("json"), b"{\"key\": 1}").expect("json");
    assert!(matches!(cached(&sp, &cache).cache, CacheUse::Miss(_)));

    let compiled = vec![tmp.path().join("lex.bin")];
    std::fs::write(&compiled[0], again.engine.to_compiled()).expect("compiled");
    let c = cached(&spec(&compiled, &[], Options::default()), &cache);
    assert_eq!(c.cache, CacheUse::Bypassed("a compiled lexicon was given"));
    assert_eq!(c.engine.find("有违禁品").len(), 1);
}

#[test]
fn old_entries_go_first_and_an_unwritable_cache_costs_only_the_cache() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = LexiconCache::new(tmp.path().join("cache"), "b").keep(2);
    let mut lexes = Vec::new();
    for (i, term) in ["违禁品", "赌博网站", "六合彩"].iter().enumerate() {
        let p = tmp.path().join(format!("lex{i}.txt"));
        std::fs::write(&p, format!("{term}\n")).expect("lex");
        lexes.push(vec![p]);
    }
    let first = cached(&spec(&lexes[0], &[], Options::default()), &cache);
    let CacheUse::Miss(first_bin) = first.cache else {
        panic!("miss")
    };
    // Modification times are the order: make them distinct.
    std::thread::sleep(std::time::Duration::from_millis(20));
    cached(&spec(&lexes[1], &[], Options::default()), &cache);
    std::thread::sleep(std::time::Duration::from_millis(20));
    // A hit on the first makes the second the least recently used.
    assert!(matches!(
        cached(&spec(&lexes[0], &[], Options::default()), &cache).cache,
        CacheUse::Hit(_)
    ));
    std::thread::sleep(std::time::Duration::from_millis(20));
    cached(&spec(&lexes[2], &[], Options::default()), &cache);
    let bins = entries(cache.dir(), "bin");
    assert_eq!(bins.len(), 2, "{bins:?}");
    assert!(bins.contains(&first_bin), "{bins:?}");
    assert_eq!(entries(cache.dir(), "json").len(), 2);
    assert!(matches!(
        cached(&spec(&lexes[1], &[], Options::default()), &cache).cache,
        CacheUse::Miss(_)
    ));

    // The cache's directory is a file: the build goes on, the write fails.
    let blocked = tmp.path().join("blocked");
    std::fs::write(&blocked, b"not a directory").expect("file");
    let bad = LexiconCache::new(&blocked, "b");
    let sp = spec(&lexes[0], &[], Options::default());
    let b = build_engine_cached(&sp, Some(&bad)).expect("build");
    assert_eq!(b.engine.find("有违禁品").len(), 1);
    let e = b
        .store
        .expect("a miss")
        .write(&b.engine)
        .expect_err("unwritable");
    assert!(e.to_string().contains("blocked"), "{e}");
    // A lexicon that cannot be read: the build's own error, not the cache's.
    let missing = vec![tmp.path().join("missing.txt")];
    let err = build_engine_cached(&spec(&missing, &[], Options::default()), Some(&cache))
        .err()
        .expect("missing lexicon");
    assert!(err.to_string().contains("missing.txt"), "{err}");
}

#[test]
fn entries_are_listed_and_cleared_and_other_files_are_left_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // A directory the user shares with other files (BEIAN_LEXICON_CACHE=/tmp).
    let dir = tmp.path().join("shared-dir");
    std::fs::create_dir_all(&dir).expect("dir");
    let foreign = ["other.bin", "notes.json", "upload.partial", "README"];
    for f in foreign {
        std::fs::write(dir.join(f), b"not the cache's").expect("foreign file");
    }
    let cache = LexiconCache::new(&dir, "build 1").keep(1);
    let lex_a = vec![tmp.path().join("a.txt")];
    let lex_b = vec![tmp.path().join("b.txt")];
    std::fs::write(&lex_a[0], "违禁品\n").expect("lex");
    std::fs::write(&lex_b[0], "赌博网站\n").expect("lex");
    cached(&spec(&lex_a, &[], Options::default()), &cache);
    std::thread::sleep(std::time::Duration::from_millis(20));
    // Over the limit of one: a's entry goes, the foreign files stay.
    cached(&spec(&lex_b, &[], Options::default()), &cache);
    for f in foreign {
        assert!(dir.join(f).exists(), "{f} removed");
    }
    let listed = cache.entries().expect("entries");
    assert_eq!(listed.len(), 1, "{listed:?}");
    let e = &listed[0];
    assert_eq!(e.lexicons, vec![lex_b[0].display().to_string()]);
    assert!(e.this_build && e.bytes > 1000 && e.last_used_unix.is_some());
    assert!(e.options.contains("min_term_chars: 2"), "{}", e.options);
    // Another build sees it, as not its own.
    let other = LexiconCache::new(&dir, "build 2");
    assert!(!other.entries().expect("entries")[0].this_build);

    assert_eq!(other.clear().expect("clear"), 1);
    assert!(cache.entries().expect("entries").is_empty());
    let mut left: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let mut want: Vec<_> = foreign.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(left, want);
    // A cache never written: nothing listed, nothing to clear.
    let none = LexiconCache::new(tmp.path().join("never"), "b");
    assert!(none.entries().expect("entries").is_empty());
    assert_eq!(none.clear().expect("clear"), 0);
}
