//! Runs one case through a fresh in-memory server connection (placeholder).
/// Options shared with `node-oracle.js server`.
#[derive(Debug, Clone, Default)]
pub struct ProbeOptions { pub insecure: bool, pub max_header_size: Option<usize>, pub upgrade: bool, pub require_host: bool }
/// One case's result, shaped like the oracle's output line (without `id`).
pub fn run_case(input: &[u8], opts: &ProbeOptions) -> serde_json::Value { let _ = (input, opts); serde_json::json!({"requests": [], "client_error": null, "upgrades": [], "response_b64": ""}) }
