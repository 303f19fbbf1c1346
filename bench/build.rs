//! Detects whether the main crate exports its envelope codec (`rollbook::store::decode_envelope`).
//! The `SQLite` peer decodes the same stored bytes rollbook does; while the codec module is
//! private, `src/codec_mirror.rs` decodes them with the same bincode shapes instead (and is
//! checked against rollbook's own decoding before every run).

use std::fs;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(rollbook_public_codec)");
    println!("cargo::rerun-if-changed=../src/store/mod.rs");
    let source = fs::read_to_string("../src/store/mod.rs").unwrap_or_default();
    if exports(&source, "decode_envelope") {
        println!("cargo::rustc-cfg=rollbook_public_codec");
    }
}

/// Whether a `pub use codec::…` item (possibly a multi-line `{…}` list) names `item`.
fn exports(source: &str, item: &str) -> bool {
    let mut rest = source;
    while let Some(at) = rest.find("pub use codec::") {
        let after = &rest[at..];
        let end = after.find(';').unwrap_or(after.len());
        if after[..end]
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|word| word == item)
        {
            return true;
        }
        rest = &after[end..];
    }
    false
}
