//! cargo-fuzz target `api_json`: see `rollbook_fuzz::api_json`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rollbook_fuzz::api_json(data));
