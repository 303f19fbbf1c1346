//! cargo-fuzz target `parsers`: see `rollbook_fuzz::parsers`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rollbook_fuzz::parsers(data));
