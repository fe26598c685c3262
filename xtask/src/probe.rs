//! `cargo xtask probe server`: request bytes through courier's in-memory server
//! connection, answered by the same handler as `node-oracle.js server`, printed
//! in the oracle's output shape (one JSON line per case).
//!
//! `cargo xtask diff server` compares these lines with Node's; see
//! `docs/conformance.md`.

use std::io::Write as _;

use serde_json::{Value, json};

pub(crate) mod cases;
mod engine;
pub(crate) mod options;

pub(crate) use engine::ProbeOptions;

const USAGE: &str = "usage: cargo xtask probe server [--insecure] [--max-header-size N] [--upgrade] [--no-require-host] < cases.jsonl

Reads JSON lines {\"id\", \"input_b64\" | \"input\"} and prints, per case, one line
shaped like `node-oracle.js server` output: id, requests, client_error, upgrades,
response_b64. The flags mean what they mean to the oracle.";

pub(crate) fn run(args: &[String]) -> crate::Result {
    match args.split_first() {
        Some((mode, rest)) if mode == "server" => server(rest),
        Some((h, _)) if h == "--help" || h == "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}

fn server(args: &[String]) -> crate::Result {
    if crate::help_asked(args, USAGE) {
        return Ok(());
    }
    let opts = options::parse(args)?;
    let cases = cases::read_stdin()?;
    let mut out = std::io::stdout().lock();
    for c in &cases {
        let line = crate::conformance::record::line_with_id(&c.id, &[&run_one(&c.input, &opts)]);
        writeln!(out, "{line}").map_err(|e| format!("writing stdout: {e}"))?;
    }
    Ok(())
}

/// One case through the engine. A panic becomes `{"panic": message}`, which
/// the comparison reports as a difference of its own.
pub(crate) fn run_one(input: &[u8], opts: &ProbeOptions) -> Value {
    crate::catch_panic(|| engine::run_case(input, opts))
        .unwrap_or_else(|msg| json!({ "panic": msg }))
}
