//! The plaintext benchmark server (../shared/bench/README.md): every request gets
//! `200`, `Content-Type: text/plain`, `Date`, `Content-Length: 13` and
//! `Hello, World!`, over keep-alive connections, pipelining included. Like hyper's
//! anchor it closes no idle connection (`keepAliveTimeout` 0), so it sends no
//! `Keep-Alive` hint either (benches/shared/server_args.rs says why that matters).
//!
//! ```sh
//! cargo run --release -p courier-rt-tokio --example hello-server -- --port 8080 --threads 1
//! ```

use bytes::Bytes;
use courier_rt_tokio::{ServerOptions, create_server};

#[path = "../../../benches/shared/server_args.rs"]
mod server_args;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (port, threads) = server_args::port_and_threads()?;
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    // No idle timeout, as hyper's anchor (see `server_args::KEEP_ALIVE_TIMEOUT`).
    let options = ServerOptions {
        keep_alive_timeout: server_args::KEEP_ALIVE_TIMEOUT,
        ..ServerOptions::default()
    };
    runtime.block_on(async move {
        let server = create_server(options, |_req, mut res| async move {
            // Fixed, valid values: these calls cannot fail on a live response. A static
            // value is not copied (as hyper's anchor uses `HeaderValue::from_static`).
            let _ = res.set_header("Content-Type", Bytes::from_static(b"text/plain"));
            let _ = res.end(Some(Bytes::from_static(b"Hello, World!"))).await;
        })?;
        let addr = server.listen(("127.0.0.1", port)).await?;
        eprintln!("hello-server listening on http://{addr}/ ({threads} thread(s))");
        std::future::pending::<Result<(), Box<dyn std::error::Error>>>().await
    })
}
