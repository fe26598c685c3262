//! The plaintext benchmark server (../shared/bench/README.md) on the blocking
//! adapter: every request gets `200`, `Content-Type: text/plain`, `Date`,
//! `Content-Length: 13` and `Hello, World!`, over keep-alive connections, pipelining
//! included.
//!
//! One thread serves each connection, so `--threads` (the benchmark's core count) does
//! not bound them: `--max-threads N` (default 4096) is the adapter's connection bound,
//! set high enough for the benchmark's idle-connection probe.
//!
//! ```sh
//! cargo run --release -p courier-rt-blocking --example hello-blocking -- --port 8080
//! ```

use bytes::Bytes;
use courier_rt_blocking::{ServerOptions, create_server};

// Its own command line (`--max-threads`): only the shared options are used.
#[allow(dead_code)]
#[path = "../../../benches/shared/server_args.rs"]
mod server_args;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut port: u16 = 8080;
    let mut max_threads: usize = 4096;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--port" => port = value.parse()?,
            // The benchmark passes its core count; connections each get a thread.
            "--threads" => {}
            "--max-threads" => max_threads = value.parse()?,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    // No idle timeout, as hyper's anchor (see `server_args::KEEP_ALIVE_TIMEOUT`).
    let options = ServerOptions {
        keep_alive_timeout: server_args::KEEP_ALIVE_TIMEOUT,
        ..ServerOptions::default()
    };
    let server = create_server(options, |_req, mut res| {
        // Fixed, valid values: these calls cannot fail on a live response.
        let _ = res.set_header("Content-Type", Bytes::from_static(b"text/plain"));
        let _ = res.end(Some(Bytes::from_static(b"Hello, World!")));
    })?;
    server.set_max_threads(max_threads);
    let addr = server.listen(("127.0.0.1", port))?;
    eprintln!(
        "hello-server (blocking) listening on http://{addr}/ (up to {max_threads} connections)"
    );
    server.wait();
    Ok(())
}
