//! The shared behavioural suite (`courier-suite`) against the tokio adapter.

use std::sync::mpsc;

use courier_rt_tokio::{IncomingMessage, Server, ServerResponse, create_server};
use courier_suite::app::{self, Reply, Request};
use courier_suite::{Adapter, Running, ServerSpec};
use tokio::io::AsyncWriteExt;

/// What the suite's app sees of `req`, its body read whole.
async fn request_of(req: &mut IncomingMessage) -> Request {
    let body = req.read_body().await.unwrap_or_default();
    let pairs = |h: &courier_proto::NodeHeaders| {
        h.iter()
            .map(|(n, _)| (n.to_owned(), h.get_str(n).unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    Request {
        method: req.method().to_owned(),
        url: req.url().into_owned(),
        headers: pairs(req.headers()),
        body,
        trailers: req.trailers().as_ref().map(pairs).unwrap_or_default(),
    }
}

/// Carries out the app's reply.
async fn perform(reply: Reply, mut res: ServerResponse) {
    if reply.drop_unended {
        return;
    }
    res.set_status_code(reply.status).unwrap();
    for (name, value) in reply.headers {
        res.set_header(name, value).unwrap();
    }
    for chunk in reply.writes {
        res.write(chunk).await.unwrap();
    }
    if !reply.trailers.is_empty() {
        let trailers: Vec<_> = reply
            .trailers
            .iter()
            .map(|(n, v)| (*n, v.as_str().into()))
            .collect();
        res.add_trailers(trailers).unwrap();
    }
    res.end(reply.end).await.unwrap();
}

async fn handle(mut req: IncomingMessage, res: ServerResponse) {
    let r = request_of(&mut req).await;
    perform(app::reply(&r), res).await;
}

async fn echo<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(io: S) {
    let (mut rd, mut wr) = tokio::io::split(io);
    let _ = tokio::io::copy(&mut rd, &mut wr).await;
}

fn server(spec: &ServerSpec) -> Server {
    let server = create_server(spec.options.clone(), handle).unwrap();
    let l = spec.listeners;
    if l.check_continue {
        server.on_check_continue(|mut req, mut res| async move {
            let head_only = Request {
                url: req.url().into_owned(),
                ..Request::default()
            };
            if app::check_continue(&head_only) {
                res.write_continue().unwrap();
                let r = request_of(&mut req).await;
                perform(app::reply(&r), res).await;
            } else {
                perform(app::reply(&head_only), res).await;
            }
        });
    }
    if l.check_expectation {
        server.on_check_expectation(handle);
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
        server.on_client_error(|err, mut io| async move {
            let _ = io.write_all(&app::client_error_reply(err.code())).await;
            let _ = io.shutdown().await;
        });
    }
    server
}

struct Tokio;

impl Adapter for Tokio {
    fn start(spec: ServerSpec) -> Running {
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
                addr_tx
                    .send(server.listen("127.0.0.1:0").await.unwrap())
                    .unwrap();
                let _ = stop_rx.await;
                server.close();
                server.close_all_connections();
            });
        });
        let addr = addr_rx.recv().unwrap();
        Running::new(addr, move || {
            let _ = stop_tx.send(());
            let _ = thread.join();
        })
    }
}

courier_suite::server_suite!(Tokio);
