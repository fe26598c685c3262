//! The shared behavioural suite (`courier-suite`) against the futures-io adapter,
//! on smol's global executor.

use std::sync::{Arc, mpsc};

use courier_rt_async_std::{IncomingMessage, Server, ServerResponse, create_server};
use courier_suite::app;
use courier_suite::async_app;
use courier_suite::{Adapter, Controls, Events, Running, ServerSpec};
use futures_lite::{AsyncRead, AsyncWrite, AsyncWriteExt};

async fn handle(req: IncomingMessage, res: ServerResponse, ev: Arc<Events>) {
    async_app::handle(
        req,
        res,
        |d| async move {
            async_io::Timer::after(d).await;
        },
        &ev,
    )
    .await;
}

async fn echo<S: AsyncRead + AsyncWrite + Unpin>(io: S) {
    let (rd, mut wr) = futures_lite::io::split(io);
    let _ = futures_lite::io::copy(rd, &mut wr).await;
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
                let _ = io.close().await;
            }
        });
    }
    server
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

/// A server on 127.0.0.1 or on the Unix socket `path`.
fn start_at(spec: ServerSpec, path: Option<&std::path::Path>) -> Running {
    let server = server(&spec);
    let addr = match path {
        Some(path) => {
            server.listen_unix(path).unwrap();
            std::net::SocketAddr::from(([127, 0, 0, 1], 0))
        }
        None => smol::block_on(server.listen("127.0.0.1:0")).unwrap(),
    };
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

// ------------------------------------------------------------------- client --

use courier_rt_async_std::{ClientRequest, request};
use courier_suite::async_client;
use courier_suite::client::{ClientAdapter, Exchange, Outcome};

fn begin(x: &mut Exchange) -> Result<ClientRequest, Box<Outcome>> {
    async_client::begin(x, request)
}

async fn carry_out(begun: Result<ClientRequest, Box<Outcome>>, x: Exchange) -> Outcome {
    async_client::carry_out(begun, x, |d| async move {
        async_io::Timer::after(d).await;
    })
    .await
}

async fn exchange(mut x: Exchange) -> Outcome {
    let begun = begin(&mut x);
    carry_out(begun, x).await
}

impl ClientAdapter for Smol {
    fn exchange(x: Exchange) -> Outcome {
        smol::block_on(exchange(x))
    }

    fn connector() -> Arc<dyn courier_rt::client::Connector> {
        Arc::new(courier_rt_async_std::AsyncConnector)
    }

    fn exchange_all(xs: Vec<Exchange>) -> Vec<Outcome> {
        smol::block_on(async {
            // Every request() first, so that all of them are made before any answer.
            let begun: Vec<_> = xs.into_iter().map(|mut x| (begin(&mut x), x)).collect();
            let tasks: Vec<_> = begun
                .into_iter()
                .map(|(b, x)| smol::spawn(carry_out(b, x)))
                .collect();
            let mut outs = Vec::new();
            for t in tasks {
                outs.push(t.await);
            }
            outs
        })
    }
}

courier_suite::client_suite!(Smol);
