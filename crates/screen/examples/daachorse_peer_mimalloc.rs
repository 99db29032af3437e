//! `daachorse_peer` with mimalloc as its global allocator, as the `beian`
//! binary has: the scaling benchmark (bench/scale_bench.py) runs both peers,
//! so that no ratio credits beian's allocator to its matcher.
//!
//! ```text
//! cargo run --release -p beian-screen --example daachorse_peer_mimalloc -- --min-chars 2 LEXDIR INPUT
//! ```

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "daachorse_peer.rs"]
mod peer;

fn main() {
    peer::main();
}
