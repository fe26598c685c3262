//! The shared behavioural suite (`courier-suite`) against the futures-io adapter,
//! on smol's global executor.

use std::sync::{Arc, mpsc};
use std::time::Duration;

use courier_rt_async_std::{Server, create_server, request};
use courier_suite::client::{ClientAdapter, Exchange, Outcome};
use courier_suite::{Adapter, Running, ServerSpec, async_client};
use futures_lite::{AsyncRead, AsyncWrite, AsyncWriteExt};

async fn sleep(d: Duration) {
    async_io::Timer::after(d).await;
}

async fn echo<S: AsyncRead + AsyncWrite + Unpin>(io: S) {
    let (rd, mut wr) = futures_lite::io::split(io);
    let _ = futures_lite::io::copy(rd, &mut wr).await;
}

fn server(spec: &ServerSpec) -> Server {
    courier_suite::async_server!(spec, create_server, sleep, echo, close)
}

struct Smol;

impl Adapter for Smol {
    fn start(spec: ServerSpec) -> Running {
        start_at(spec, None)
    }

    fn start_unix(spec: ServerSpec, path: &std::path::Path) -> Running {
        start_at(spec, Some(path))
    }
}

/// A server on 127.0.0.1 or on the Unix socket `path`; smol's global executor runs it.
fn start_at(spec: ServerSpec, path: Option<&std::path::Path>) -> Running {
    let server = server(&spec);
    let addr = match path {
        Some(path) => {
            server.listen_unix(path).unwrap();
            courier_suite::UNIX_SERVER_ADDR
        }
        None => smol::block_on(server.listen("127.0.0.1:0")).unwrap(),
    };
    let controls = courier_suite::controls!(server.clone());
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let _ = stop_rx.recv();
        server.close();
        server.close_all_connections();
    });
    Running::new(addr, controls, move || {
        let _ = stop_tx.send(());
        let _ = thread.join();
    })
}

courier_suite::server_suite!(Smol);

impl ClientAdapter for Smol {
    fn exchange(x: Exchange) -> Outcome {
        smol::block_on(async_client::exchange(x, request, sleep))
    }

    fn connector() -> Arc<dyn courier_rt::client::Connector> {
        Arc::new(courier_rt_async_std::AsyncConnector)
    }

    fn exchange_all(xs: Vec<Exchange>) -> Vec<Outcome> {
        smol::block_on(async_client::exchange_all(xs, request, sleep, smol::spawn))
    }
}

courier_suite::client_suite!(Smol);
