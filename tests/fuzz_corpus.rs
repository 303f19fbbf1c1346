//! Replays the saved fuzz corpus (`fuzz/corpus/<target>/*`: seeds, and every input that once
//! found a problem) through the very functions the cargo-fuzz targets call, so `cargo test`
//! re-checks them without cargo-fuzz or a nightly toolchain. See `scripts/fuzz.sh`.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

/// Runs every file of `fuzz/corpus/<target>/` through `run`; fails naming each input that
/// panics.
fn replay(target: &str) {
    let (_, run) = harness::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a known target");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut inputs: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} holds no inputs", dir.display());
    let failed: Vec<String> = inputs
        .iter()
        .filter_map(|path| {
            let data = fs::read(path).expect("a readable input");
            catch_unwind(AssertUnwindSafe(|| run(&data)))
                .is_err()
                .then(|| path.display().to_string())
        })
        .collect();
    assert!(failed.is_empty(), "inputs that panic: {failed:#?}");
}

#[test]
fn envelope_corpus_decodes_or_is_refused() {
    replay("envelope");
}

#[test]
fn snapshot_corpus_loads_or_falls_back_to_replay() {
    replay("snapshot");
}

#[test]
fn form_corpus_gets_no_server_error() {
    replay("form");
}

#[test]
fn api_json_corpus_gets_json_and_no_server_error() {
    replay("api_json");
}

#[test]
fn parsers_corpus_parses_stably() {
    replay("parsers");
}

/// Every target has a corpus directory, so a new target cannot go unreplayed.
#[test]
fn every_target_has_a_corpus() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (name, _) in harness::TARGETS {
        assert!(root.join(name).is_dir(), "fuzz/corpus/{name} is missing");
    }
}
