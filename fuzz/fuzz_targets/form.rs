//! cargo-fuzz target `form`: see `rollbook_fuzz::form`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rollbook_fuzz::form(data));
