// Rebuild when the embedded knowledge base changes (include_dir does not track files).
fn main() {
    println!("cargo:rerun-if-changed=../../kb");
}
