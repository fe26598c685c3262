//! The shared behavioural suite (`courier-suite`) against the tokio adapter.

use std::sync::{Arc, mpsc};

use courier_rt_tokio::{IncomingMessage, Server, ServerResponse, create_server};
use courier_suite::app;
use courier_suite::async_app;
use courier_suite::{Adapter, Controls, Events, Running, ServerSpec};
use tokio::io::AsyncWriteExt;

async fn handle(req: IncomingMessage, res: ServerResponse, ev: Arc<Events>) {
    async_app::handle(req, res, tokio::time::sleep, &ev).await;
}

async fn echo<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(io: S) {
    let (mut rd, mut wr) = tokio::io::split(io);
    let _ = tokio::io::copy(&mut rd, &mut wr).await;
}

fn server(spec: &ServerSpec) -> Server {
    let ev = Arc::clone(&spec.events);
    let server = create_server(spec.options.clone(), move |req, res| {
        ev.request();
        handle(req, res, Arc::clone(&ev))
    })
    .unwrap();
    let ev = Arc::clone(&spec.events);
    server.on_drop_request(move |req, _socket| ev.drop_request(&req.url()));
    let ev = Arc::clone(&spec.events);
    server.on_connection(move |socket| ev.connection(socket.remote_addr(), socket.local_addr()));
    let ev = Arc::clone(&spec.events);
    server.on_close(move || ev.close());
    let l = spec.listeners;
    if l.timeout {
        let ev = Arc::clone(&spec.events);
        server.on_timeout(move |_socket| ev.timeout());
    }
    if l.check_continue {
        server.on_check_continue(async_app::check_continue);
    }
    if l.check_expectation {
        let ev = Arc::clone(&spec.events);
        server.on_check_expectation(move |req, res| handle(req, res, Arc::clone(&ev)));
    }
    if l.upgrade {
        server.on_upgrade(|_req, mut io, head| async move {
            io.write_all(app::UPGRADE_101).await.unwrap();
            io.write_all(&head).await.unwrap();
            echo(io).await;
        });
    }
    if l.connect {
        server.on_connect(|req, mut io, head| async move {
            io.write_all(&app::connect_reply(&req.url())).await.unwrap();
            io.write_all(&head).await.unwrap();
            echo(io).await;
        });
    }
    if l.client_error {
        let ev = Arc::clone(&spec.events);
        server.on_client_error(move |err, mut io| {
            ev.note(app::client_error_note(&err));
            async move {
                let _ = io.write_all(&app::client_error_reply(err.code())).await;
                let _ = io.shutdown().await;
            }
        });
    }
    server
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

/// A server on 127.0.0.1 or on the Unix socket `path`.
fn start_at(spec: ServerSpec, path: Option<std::path::PathBuf>) -> Running {
    let (addr_tx, addr_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let server = server(&spec);
            let addr = match path {
                Some(path) => {
                    server.listen_unix(path).unwrap();
                    std::net::SocketAddr::from(([127, 0, 0, 1], 0))
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
    let controls = Controls {
        close: Box::new({
            let s = server.clone();
            move || s.close()
        }),
        close_idle_connections: Box::new({
            let s = server.clone();
            move || s.close_idle_connections()
        }),
        connection_count: Box::new({
            let s = server.clone();
            move || s.connection_count()
        }),
        listening: Box::new({
            let s = server.clone();
            move || s.listening()
        }),
        close_all_connections: Box::new({
            let s = server.clone();
            move || s.close_all_connections()
        }),
    };
    Running::new(addr, controls, move || {
        let _ = stop_tx.send(());
        let _ = thread.join();
    })
}

courier_suite::server_suite!(Tokio);

// ------------------------------------------------------------------- client --

use courier_rt_tokio::{ClientRequest, request};
use courier_suite::async_client;
use courier_suite::client::{ClientAdapter, Exchange, Outcome};

/// One runtime for every client exchange of the test binary: pooled sockets live on it.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn begin(x: &mut Exchange) -> Result<ClientRequest, Box<Outcome>> {
    async_client::begin(x, request)
}

async fn carry_out(begun: Result<ClientRequest, Box<Outcome>>, x: Exchange) -> Outcome {
    async_client::carry_out(begun, x, tokio::time::sleep).await
}

async fn exchange(mut x: Exchange) -> Outcome {
    let begun = begin(&mut x);
    carry_out(begun, x).await
}

impl ClientAdapter for Tokio {
    fn exchange(x: Exchange) -> Outcome {
        runtime().block_on(exchange(x))
    }

    fn connector() -> Arc<dyn courier_rt::client::Connector> {
        Arc::new(courier_rt_tokio::TokioConnector)
    }

    fn exchange_all(xs: Vec<Exchange>) -> Vec<Outcome> {
        runtime().block_on(async {
            // Every request() first, so that all of them are made before any answer.
            let begun: Vec<_> = xs.into_iter().map(|mut x| (begin(&mut x), x)).collect();
            let tasks: Vec<_> = begun
                .into_iter()
                .map(|(b, x)| tokio::spawn(carry_out(b, x)))
                .collect();
            let mut outs = Vec::new();
            for t in tasks {
                outs.push(t.await.unwrap());
            }
            outs
        })
    }
}

courier_suite::client_suite!(Tokio);
