//! The peer of `beian scan --format summary` in the scaling benchmark
//! (bench/scale_bench.py): raw daachorse, whole process, one thread.
//!
//! Reads the lexicon files given (one term per line, TSV: the first column),
//! keeps the terms of at least `--min-chars` characters, builds a charwise
//! leftmost-longest automaton, reads the input line by line and prints the
//! number of lines, flagged lines and matches. No normalization: the same
//! pattern set, the least work a matcher can do.
//!
//! `--save FILE` also writes the built automaton (daachorse's own
//! serialization); `--load FILE` reads it instead of building: the peer of
//! a compiled beian lexicon, so that those rows compare equal work too.
//!
//! ```text
//! cargo run --release -p beian-screen --example daachorse_peer -- --min-chars 2 LEXDIR INPUT
//! cargo run --release -p beian-screen --example daachorse_peer -- --min-chars 2 --save ac.bin LEXDIR INPUT
//! cargo run --release -p beian-screen --example daachorse_peer -- --load ac.bin INPUT
//! ```

use std::io::BufRead;

pub fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut min_chars = 1usize;
    let (mut save, mut load) = (None::<String>, None::<String>);
    while args.len() > 1 && args[0].starts_with("--") {
        match args[0].as_str() {
            "--min-chars" => min_chars = args[1].parse().unwrap_or(1),
            "--save" => save = Some(args[1].clone()),
            "--load" => load = Some(args[1].clone()),
            _ => break,
        }
        args.drain(..2);
    }
    let Some((input, lexicons)) = args.split_last() else {
        eprintln!(
            "usage: daachorse_peer [--min-chars N] [--save FILE] LEXICON... INPUT | --load FILE INPUT"
        );
        std::process::exit(2);
    };
    if let Some(path) = &load {
        let bytes = std::fs::read(path).unwrap_or_else(|e| {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        });
        match daachorse::CharwiseDoubleArrayAhoCorasick::<u32>::deserialize(&bytes) {
            Ok((ac, _)) => return screen(&ac, input, "loaded".into()),
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(2);
            }
        }
    }
    let mut files = Vec::new();
    for l in lexicons {
        let p = std::path::Path::new(l);
        if p.is_dir() {
            let mut v: Vec<_> = std::fs::read_dir(p)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "txt" || x == "tsv"))
                .collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(p.to_path_buf());
        }
    }
    let mut terms: Vec<String> = Vec::new();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for line in text.lines() {
            let t = line.split('\t').next().unwrap_or("").trim();
            if !t.is_empty() && !t.starts_with('#') && t.chars().count() >= min_chars {
                terms.push(t.to_owned());
            }
        }
    }
    terms.sort();
    terms.dedup();
    let ac: daachorse::CharwiseDoubleArrayAhoCorasick<u32> =
        match daachorse::CharwiseDoubleArrayAhoCorasickBuilder::new()
            .match_kind(daachorse::MatchKind::LeftmostLongest)
            .build(&terms)
        {
            Ok(a) => a,
            Err(e) => {
                eprintln!("daachorse: {e}");
                std::process::exit(2);
            }
        };
    if let Some(path) = &save
        && let Err(e) = std::fs::write(path, ac.serialize())
    {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    }
    screen(&ac, input, terms.len().to_string());
}

/// Screens `input` line by line and prints the counts.
fn screen(ac: &daachorse::CharwiseDoubleArrayAhoCorasick<u32>, input: &str, terms: String) {
    let f = match std::fs::File::open(input) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{input}: {e}");
            std::process::exit(2);
        }
    };
    let mut r = std::io::BufReader::with_capacity(1 << 16, f);
    let (mut lines, mut flagged, mut matches) = (0u64, 0u64, 0u64);
    let mut buf = String::new();
    loop {
        buf.clear();
        match r.read_line(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        lines += 1;
        let n = ac.leftmost_find_iter(buf.as_str()).count() as u64;
        matches += n;
        flagged += u64::from(n > 0);
    }
    println!("terms {terms}  lines {lines}  flagged {flagged}  matches {matches}");
}
