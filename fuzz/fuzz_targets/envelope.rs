//! cargo-fuzz target `envelope`: see `rollbook_fuzz::envelope`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rollbook_fuzz::envelope(data));
