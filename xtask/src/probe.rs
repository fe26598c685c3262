//! `cargo xtask probe server|client`: bytes through courier's side of a
//! connection, printed in `node-oracle.js`'s output shape (one JSON line per
//! case).
//!
//! * `probe server`: request bytes through courier's in-memory server
//!   connection, answered by the same handler as `node-oracle.js server`.
//! * `probe client`: response bytes, as a raw server's answer to one request,
//!   through courier's client connection machine, as `node-oracle.js client`
//!   runs them through `http.request()`.
//!
//! `cargo xtask diff` compares these lines with Node's; see
//! `docs/conformance.md`.

use std::io::Write as _;

use serde_json::{Value, json};

pub(crate) mod cases;
mod client_engine;
mod engine;
pub(crate) mod options;

pub(crate) use engine::ProbeOptions;
pub(crate) use options::{ClientProbeOptions, Mode};

const USAGE: &str = "usage: cargo xtask probe server [--insecure] [--max-header-size N] [--upgrade] [--no-require-host] < cases.jsonl
       cargo xtask probe client [--insecure] [--max-header-size N] [--upgrade] [--method M] [--no-eof] < cases.jsonl

Reads JSON lines {\"id\", \"input_b64\" | \"input\"} and prints, per case, one line
shaped like `node-oracle.js <mode>` output:
  server  id, requests, client_error, upgrades, response_b64
  client  id, response, information, upgrade, error, response_error, request_b64
A client case may also carry \"method\" and \"path\" (default: --method, or GET; /).
The flags mean what they mean to the oracle.";

pub(crate) fn run(args: &[String]) -> crate::Result {
    match args.split_first() {
        Some((mode, rest)) if mode == ProbeOptions::NAME => probe::<ProbeOptions>(rest),
        Some((mode, rest)) if mode == ClientProbeOptions::NAME => probe::<ClientProbeOptions>(rest),
        Some((h, _)) if h == "--help" || h == "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}

fn probe<M: Mode>(args: &[String]) -> crate::Result {
    if crate::help_asked(args, USAGE) {
        return Ok(());
    }
    let opts: M = options::parse(args)?;
    let cases = cases::read_stdin()?;
    let mut out = std::io::stdout().lock();
    for c in &cases {
        let line = crate::conformance::record::line_with_id(&c.id, &[&run_one(c, &opts)]);
        writeln!(out, "{line}").map_err(|e| format!("writing stdout: {e}"))?;
    }
    Ok(())
}

/// One case through the mode's engine. A panic becomes `{"panic": message}`,
/// which the comparison reports as a difference of its own.
pub(crate) fn run_one<M: Mode>(case: &cases::ProbeCase, opts: &M) -> Value {
    crate::catch_panic(|| opts.run(case)).unwrap_or_else(|msg| json!({ "panic": msg }))
}
