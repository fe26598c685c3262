#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| courier_proto::fuzzing::client_conn(data));
