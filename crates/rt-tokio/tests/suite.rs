//! The shared behavioural suite (`courier-suite`) against the tokio adapter.

use std::sync::{Arc, mpsc};

use courier_rt_tokio::{Server, create_server, request};
use courier_suite::client::{ClientAdapter, Exchange, Outcome};
use courier_suite::{Adapter, Running, ServerSpec, async_client};
use tokio::io::AsyncWriteExt;

async fn echo<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(io: S) {
    let (mut rd, mut wr) = tokio::io::split(io);
    let _ = tokio::io::copy(&mut rd, &mut wr).await;
}

fn server(spec: &ServerSpec) -> Server {
    courier_suite::async_server!(spec, create_server, tokio::time::sleep, echo, shutdown)
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

struct Tokio;

impl Adapter for Tokio {
    fn start(spec: ServerSpec) -> Running {
        start_at(spec, None)
    }

    fn start_unix(spec: ServerSpec, path: &std::path::Path) -> Running {
        start_at(spec, Some(path.to_owned()))
    }
}

/// A server on 127.0.0.1 or on the Unix socket `path`, on a runtime of its own thread.
fn start_at(spec: ServerSpec, path: Option<std::path::PathBuf>) -> Running {
    let (addr_tx, addr_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        multi_thread().block_on(async move {
            let server = server(&spec);
            let addr = match path {
                Some(path) => {
                    server.listen_unix(path).unwrap();
                    courier_suite::UNIX_SERVER_ADDR
                }
                None => server.listen("127.0.0.1:0").await.unwrap(),
            };
            addr_tx.send((addr, server.clone())).unwrap();
            let _ = stop_rx.await;
            server.close();
            server.close_all_connections();
        });
    });
    let (addr, server) = addr_rx.recv().unwrap();
    Running::new(addr, courier_suite::controls!(server), move || {
        let _ = stop_tx.send(());
        let _ = thread.join();
    })
}

courier_suite::server_suite!(Tokio);

/// One runtime for every client exchange of the test binary: pooled sockets live on it.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(multi_thread)
}

impl ClientAdapter for Tokio {
    fn exchange(x: Exchange) -> Outcome {
        runtime().block_on(async_client::exchange(x, request, tokio::time::sleep))
    }

    fn connector() -> Arc<dyn courier_rt::client::Connector> {
        Arc::new(courier_rt_tokio::TokioConnector)
    }

    fn exchange_all(xs: Vec<Exchange>) -> Vec<Outcome> {
        runtime().block_on(async_client::exchange_all(
            xs,
            request,
            tokio::time::sleep,
            |task| {
                let handle = tokio::spawn(task);
                async move { handle.await.unwrap() }
            },
        ))
    }
}

courier_suite::client_suite!(Tokio);
