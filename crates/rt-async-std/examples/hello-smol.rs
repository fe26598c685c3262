//! The plaintext benchmark server on the futures-io adapter (the same answer as the
//! tokio adapter's `hello-server`): `200`, `Content-Type: text/plain`, `Date`,
//! `Content-Length: 13` and `Hello, World!`, keep-alive and pipelining included.
//! Connections run on a `smol::Executor` driven by `--threads` threads; with one
//! thread, on a `smol::LocalExecutor` (the counterpart of the tokio example's
//! current-thread runtime: no work-stealing queues to pay for).
//!
//! ```sh
//! cargo run --release -p courier-rt-async-std --example hello-smol -- --port 8080 --threads 1
//! ```

use std::sync::Arc;

use bytes::Bytes;
use courier_rt_async_std::{ServerOptions, ServerResponse, create_server_with};

#[path = "../../../benches/shared/server_args.rs"]
mod server_args;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (port, threads) = server_args::port_and_threads()?;
    if threads <= 1 {
        return serve_on_one_thread(port);
    }
    let ex = Arc::new(smol::Executor::new());
    let spawner = Arc::clone(&ex);
    let server = create_server_with(
        options(),
        move |f| spawner.spawn(f).detach(),
        |_req, res| hello(res),
    )?;
    for _ in 1..threads {
        let ex = Arc::clone(&ex);
        std::thread::spawn(move || smol::block_on(ex.run(std::future::pending::<()>())));
    }
    smol::block_on(ex.run(async move {
        let addr = server.listen(("127.0.0.1", port)).await?;
        eprintln!("hello-smol listening on http://{addr}/ ({threads} threads)");
        std::future::pending::<Result<(), Box<dyn std::error::Error>>>().await
    }))
}

thread_local! {
    /// The one thread's executor. Every spawn happens on that thread (the adapter
    /// spawns from the tasks it runs), so the spawner, which must be `Send + Sync`,
    /// reaches it through the thread-local.
    static LOCAL: smol::LocalExecutor<'static> = const { smol::LocalExecutor::new() };
}

fn serve_on_one_thread(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let server = create_server_with(
        options(),
        |f| LOCAL.with(|ex| ex.spawn(f).detach()),
        |_req, res| hello(res),
    )?;
    LOCAL.with(|ex| {
        smol::block_on(ex.run(async move {
            let addr = server.listen(("127.0.0.1", port)).await?;
            eprintln!("hello-smol listening on http://{addr}/ (1 thread)");
            std::future::pending::<Result<(), Box<dyn std::error::Error>>>().await
        }))
    })
}

/// The benchmark's options (see [`server_args::KEEP_ALIVE_TIMEOUT`]).
fn options() -> ServerOptions {
    ServerOptions {
        keep_alive_timeout: server_args::KEEP_ALIVE_TIMEOUT,
        ..ServerOptions::default()
    }
}

/// The answer. The request is dropped before the future is made (as the tokio
/// example's closure does), so the future holds the response only.
async fn hello(mut res: ServerResponse) {
    let _ = res.set_header("Content-Type", Bytes::from_static(b"text/plain"));
    let _ = res.end(Some(Bytes::from_static(b"Hello, World!"))).await;
}
