//! The plaintext benchmark server (../shared/bench/README.md): every request gets
//! `200`, `Content-Type: text/plain`, `Date`, `Content-Length: 13` and
//! `Hello, World!`, over keep-alive connections, pipelining included.
//!
//! ```sh
//! cargo run --release -p courier-rt-tokio --example hello-server -- --port 8080 --threads 1
//! ```

use bytes::Bytes;
use courier_rt_tokio::{ServerOptions, create_server};

fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    runtime.block_on(async move {
        let server = create_server(ServerOptions::default(), |_req, mut res| async move {
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
