//! Runs one case through courier's client connection machine, the way
//! `node-oracle.js client` runs it through Node's `http.request()`, and shapes
//! the result like the oracle's output line.
//!
//! A placeholder until the client machine lands: every case answers
//! `{"engine": "unimplemented"}`, which the comparison reports as differences.

use super::options::ClientProbeOptions;

/// One client case through courier's client machine, as `node-oracle.js client` runs it.
pub(crate) fn run_case(
    input: &[u8],
    method: &str,
    path: &str,
    opts: &ClientProbeOptions,
) -> serde_json::Value {
    let _ = (input, method, path, opts);
    serde_json::json!({ "engine": "unimplemented" })
}
