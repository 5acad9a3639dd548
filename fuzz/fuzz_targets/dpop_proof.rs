#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| gatepass::internal::fuzzing::dpop_proof(data));
