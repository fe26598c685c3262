//! Benchmarks for courier, run by `cargo xtask bench`.
//!
//! * [`inputs`]: the byte inputs (the shared anchors' `BROWSER` and `TINY` requests, a
//!   30-field request, a typical response head, a chunked upload).
//! * [`timing`]: an interleaving wall-clock sampler that reports per-round samples.
//! * [`kernels`]: one operation each — our parser, raw httparse on the same bytes,
//!   Node's `headers` view, chunked decoding, a memcpy floor.
//! * [`cases`]: which kernels are measured side by side, and against which target.
//!
//! The `bench-parse` binary runs the cases (wall clock) or one kernel a fixed number of
//! times (for instruction counting under callgrind); see `docs/benchmarks.md`.

pub mod cases;
pub mod inputs;
pub mod kernels;
pub mod timing;
