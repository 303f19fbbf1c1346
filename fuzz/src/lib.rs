//! What the fuzz targets run, one function per target, kept apart from libFuzzer so that
//! `tests/fuzz_corpus.rs` replays the saved corpus through exactly the same code.
//!
//! Each function takes arbitrary bytes and must never panic: a panic (or a failed assertion on
//! a property below) is a finding. Errors returned by rollbook are expected answers to bad
//! input, not findings.

#[path = "parsers.rs"]
mod parsers;
#[path = "stored.rs"]
mod stored;
#[path = "web_app.rs"]
mod web_app;

pub use parsers::parsers;
pub use stored::{envelope, snapshot};
pub use web_app::{api_json, form};

/// What a fuzz target runs on one input.
pub type Target = fn(&[u8]);

/// The fuzz targets by name, as `fuzz/corpus/<name>/` holds their inputs.
pub const TARGETS: [(&str, Target); 5] = [
    ("envelope", envelope),
    ("snapshot", snapshot),
    ("form", form),
    ("api_json", api_json),
    ("parsers", parsers),
];
