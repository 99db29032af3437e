//! `beian label embed INPUT -o OUTPUT` (implicit label only) as a small binary over the
//! library, for benchmarks that should not need a release build of the whole `beian`
//! binary.
//!
//! cargo run --release -p beian-label --example embed -- INPUT OUTPUT [PRODUCE_ID]

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: embed INPUT OUTPUT [PRODUCE_ID]");
        return std::process::ExitCode::from(2);
    }
    let label = beian_label::Label {
        label: "1".into(),
        content_producer: "001191110102MAD55U9H0F10002".into(),
        produce_id: args.get(2).cloned().unwrap_or_else(|| "bench-1".into()),
        ..beian_label::Label::default()
    };
    let opts = beian_label::EmbedOptions::new(label);
    match beian_label::embed_file(args[0].as_ref(), args[1].as_ref(), &opts) {
        Ok(o) => {
            eprintln!("{}: {}", o.format, o.channels.join(", "));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: {e}", args[0]);
            std::process::ExitCode::FAILURE
        }
    }
}
