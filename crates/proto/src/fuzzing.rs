//! Harness functions shared by the cargo-fuzz targets (`fuzz/`) and the corpus replay
//! test, so the same code runs under libFuzzer and under `cargo test` on stable.
//! Compiled with the `fuzzing` feature (and in this crate's own tests).
