#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| gatepass::internal::fuzzing::cookie_header(data));
