//! cargo-fuzz target `snapshot`: see `rollbook_fuzz::snapshot`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rollbook_fuzz::snapshot(data));
