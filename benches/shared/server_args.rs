//! The command line of the plaintext benchmark servers (`../shared/bench/README.md`):
//! `--port P --threads T`. Included with `#[path]` by each adapter's benchmark
//! example, which `courier-benches` also builds as a binary.

use std::time::Duration;

/// The servers' `keepAliveTimeout`: 0, no idle timeout, as hyper's anchor has none.
/// Node (and courier, SRV-18, RES-14) then sends no `Keep-Alive: timeout=5` hint, so
/// a response is 139 bytes (the benchmark's shape and `Connection: keep-alive`;
/// hyper's anchor sends 130 with its `server` field) instead of 162. wrk, the
/// bottleneck of `bench server`, parses every byte: docs/benchmarks.md measures both.
/// `headersTimeout` and `requestTimeout` keep Node's defaults.
pub(crate) const KEEP_ALIVE_TIMEOUT: Duration = Duration::ZERO;

/// `(port, threads)` from the process's arguments (defaults 8080 and 1).
pub(crate) fn port_and_threads() -> Result<(u16, usize), Box<dyn std::error::Error>> {
    let mut port: u16 = 8080;
    let mut threads: usize = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--port" => port = value.parse()?,
            "--threads" => threads = value.parse()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok((port, threads))
}
