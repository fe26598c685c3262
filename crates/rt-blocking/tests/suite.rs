//! The shared behavioural suite (`courier-suite`) against the blocking adapter.

use std::io::{Read, Write};
use std::sync::Arc;

use courier_rt_blocking::{
    BlockingClientRequest, BlockingRequest, BlockingResponse, ClientError, RequestEvent, Server,
    create_server, request,
};
use courier_suite::app::{self, Reply, Request, SCRIPT_TIMEOUT, Script, code};
use courier_suite::client::{
    ClientAdapter, Exchange, Outcome, body_read, end_request, event_name, fill_to_high_water,
    prepare, response_views,
};
use courier_suite::{Adapter, Events, Running, ServerSpec};

/// What the suite's app sees of `req`, its body read whole.
fn request_of(req: &mut BlockingRequest) -> Request {
    let body = req.read_body().unwrap_or_default();
    Request::of(req, body)
}

/// Carries out the app's reply.
fn perform(reply: Reply, mut res: BlockingResponse) {
    reply.start(&mut res);
    for chunk in &reply.writes {
        res.write(chunk.clone()).unwrap();
    }
    if !reply.drop_unended {
        reply.add_trailers(&mut res);
        res.end(reply.end).unwrap();
    }
}

/// Carries out `script` (see [`Script`]'s variants) and notes what it saw.
fn run_script(script: Script, mut req: BlockingRequest, mut res: BlockingResponse, ev: &Events) {
    match script {
        Script::ResTimeout => {
            res.set_timeout(SCRIPT_TIMEOUT);
            res.write("partial").unwrap();
            let finished = res.wait_finished();
            let more = code(res.write("more"));
            ev.note(format!("res-timeout finished={finished} write={more}"));
        }
        Script::ResTimeoutNotify => {
            let mut timeout = res.set_timeout_notify(SCRIPT_TIMEOUT);
            res.write("partial").unwrap();
            res.wait_timeout(&mut timeout);
            res.end(Some("|end".into())).unwrap();
        }
        Script::ReqTimeout => {
            req.set_timeout(SCRIPT_TIMEOUT);
            let read = app::read_note(req.read_body());
            let end = code(res.end(Some("x".into())));
            ev.note(format!(
                "req-timeout-plain read={read} aborted={} end={end}",
                req.aborted()
            ));
        }
        Script::ReqTimeoutNotify => {
            let mut timeout = req.set_timeout_notify(SCRIPT_TIMEOUT);
            req.wait_timeout(&mut timeout);
            ev.note(format!("req-timeout count={}", timeout.count()));
            res.set_status_code(408).unwrap();
            res.end(Some("slow".into())).unwrap();
        }
        Script::Finish => {
            let before = res.events().outcome();
            res.end(Some("done".into())).unwrap();
            let finished = res.wait_finished();
            ev.note(format!("finish before={before:?} finished={finished}"));
        }
        Script::Leave => {
            res.write("part").unwrap();
            let finished = res.wait_finished();
            let more = code(res.write("more"));
            ev.note(format!("leave finished={finished} write={more}"));
        }
        Script::DestroyUnread => {
            let first = app::chunk_note(req.chunk());
            req.destroy(Some(std::io::Error::other("enough")));
            let err = app::chunk_note(req.chunk());
            let then_end = req.chunk().is_none();
            let end = code(res.end(Some("x".into())));
            let finished = res.wait_finished();
            ev.note(format!(
                "destroy-unread first={first} err={err} then-end={then_end} aborted={} \
                 end={end} finished={finished}",
                req.aborted()
            ));
        }
        Script::DestroyRead => {
            let body = req.read_body().unwrap();
            req.destroy(None);
            ev.note(format!("destroy-read aborted={}", req.aborted()));
            res.end(Some(body)).unwrap();
        }
        Script::Stream => {
            let first = req.chunk().unwrap().unwrap();
            ev.note(format!("stream first={}", String::from_utf8_lossy(&first)));
            let body = [first, req.read_body().unwrap()].concat();
            let (note, end) = app::stream_end(&req);
            ev.note(note);
            res.write_head(200, None, app::x_len(body.len())).unwrap();
            res.write(body).unwrap();
            res.end(Some(end)).unwrap();
        }
        Script::HeaderStore => {
            ev.note(app::header_store(&mut res));
            res.end(Some("ok".into())).unwrap();
            ev.note(format!("finished={}", res.writable_finished()));
        }
        Script::ResDestroy => {
            res.write("partial").unwrap();
            res.destroy();
            ev.note(format!("destroyed ended={}", res.writable_ended()));
        }
        Script::OtherThread => {
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(20));
                res.write("from ").unwrap();
                res.end(Some("worker".into())).unwrap();
            });
        }
        Script::Flood => {
            let piece = app::flood_piece();
            let mut sent = 0;
            while sent < app::FLOOD_CAP && res.write(piece.clone()).is_ok() {
                sent += piece.len();
            }
            ev.note(app::flood_note(sent));
        }
    }
}

fn handle(mut req: BlockingRequest, res: BlockingResponse, ev: &Events) {
    if let Some(script) = app::script(&req.url()) {
        run_script(script, req, res, ev);
        return;
    }
    let pause = app::read_delay(&req.url());
    if !pause.is_zero() {
        std::thread::sleep(pause);
    }
    let r = request_of(&mut req);
    perform(app::reply(&r), res);
}

/// Echoes until the peer closes.
fn echo(mut io: impl Read + Write) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = io.read(&mut buf) {
        if n == 0 || io.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

fn server(spec: &ServerSpec) -> Server {
    let ev = Arc::clone(&spec.events);
    let server = create_server(spec.options.clone(), move |req, res| {
        ev.request();
        handle(req, res, &ev)
    })
    .unwrap();
    courier_suite::record_events!(server, spec);
    let l = spec.listeners;
    if l.check_continue {
        server.on_check_continue(|mut req, mut res| {
            let head_only = Request::head_only(&req);
            if app::check_continue(&head_only) {
                res.write_continue().unwrap();
                let r = request_of(&mut req);
                perform(app::reply(&r), res);
            } else {
                perform(app::reply(&head_only), res);
            }
        });
    }
    if l.check_expectation {
        let ev = Arc::clone(&spec.events);
        server.on_check_expectation(move |req, res| handle(req, res, &ev));
    }
    if l.upgrade {
        server.on_upgrade(|_req, mut io, head| {
            io.write_all(app::UPGRADE_101).unwrap();
            io.write_all(&head).unwrap();
            echo(io);
        });
    }
    if l.connect {
        server.on_connect(|req, mut io, head| {
            io.write_all(&app::connect_reply(&req.url())).unwrap();
            io.write_all(&head).unwrap();
            echo(io);
        });
    }
    if l.client_error {
        let ev = Arc::clone(&spec.events);
        server.on_client_error(move |err, mut io| {
            ev.note(app::client_error_note(&err));
            let _ = io.write_all(&app::client_error_reply(err.code()));
        });
    }
    server
}

struct Blocking;

impl Adapter for Blocking {
    fn start(spec: ServerSpec) -> Running {
        let server = server(&spec);
        let addr = server.listen("127.0.0.1:0").unwrap();
        stops_on_drop(server, addr)
    }

    fn start_unix(spec: ServerSpec, path: &std::path::Path) -> Running {
        let server = server(&spec);
        server.listen_unix(path).unwrap();
        stops_on_drop(server, courier_suite::UNIX_SERVER_ADDR)
    }
}

/// The listening `server` as a [`Running`]: its connections live on the server's own
/// threads, so stopping is closing.
fn stops_on_drop(server: Server, addr: std::net::SocketAddr) -> Running {
    Running::new(addr, courier_suite::controls!(server.clone()), move || {
        server.close();
        server.close_all_connections();
    })
}

courier_suite::server_suite!(Blocking);

// ------------------------------------------------------------------- client --

fn failed(out: &mut Outcome, e: &ClientError) {
    out.error = Some(e.code().to_owned());
    out.message = e.to_string();
}

impl ClientAdapter for Blocking {
    fn connector() -> Arc<dyn courier_rt::client::Connector> {
        Arc::new(courier_rt_blocking::BlockingConnector)
    }

    fn exchange_all(xs: Vec<Exchange>) -> Vec<Outcome> {
        // Every request() first, so that all of them are made before any answer.
        let begun: Vec<_> = xs.into_iter().map(|mut x| (begin(&mut x), x)).collect();
        std::thread::scope(|scope| {
            let threads: Vec<_> = begun
                .into_iter()
                .map(|(b, x)| scope.spawn(move || carry_out(b, x)))
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        })
    }

    fn exchange(mut x: Exchange) -> Outcome {
        let begun = begin(&mut x);
        carry_out(begun, x)
    }
}

/// `request()` for `x` (its options taken), or the outcome of a refusal.
fn begin(x: &mut Exchange) -> Result<BlockingClientRequest, Box<Outcome>> {
    request(std::mem::take(&mut x.options)).map_err(|e| {
        Box::new(Outcome {
            error: Some(e.code().to_owned()),
            message: e.to_string(),
            ..Outcome::default()
        })
    })
}

/// Carries out `x` on the request [`begin`] made.
fn carry_out(begun: Result<BlockingClientRequest, Box<Outcome>>, x: Exchange) -> Outcome {
    begun.map_or_else(|refused| *refused, |req| carry_out_on(req, x))
}

/// Carries out `x` on `req`, a request made.
fn carry_out_on(mut req: BlockingClientRequest, x: Exchange) -> Outcome {
    let mut out = Outcome::default();
    if x.abort_at_once || x.abort_after_socket {
        if x.abort_after_socket {
            while let Some(e) = req.next_event() {
                out.events.push(event_name(&e));
                if e == RequestEvent::Socket {
                    break;
                }
            }
        }
        req.abort();
        if let Err(e) = req.response() {
            failed(&mut out, &e);
        }
        while let Some(e) = req.next_event() {
            out.events.push(event_name(&e));
        }
        return out;
    }
    prepare(req.inner_mut(), &x, &mut out);
    if x.wait_for_continue {
        req.flush_headers().unwrap();
        while let Some(e) = req.next_event() {
            out.events.push(event_name(&e));
            if e == RequestEvent::Continue {
                break;
            }
        }
    }
    if let Some(pause) = x.pause_before_writes {
        std::thread::sleep(pause);
    }
    if let Some(piece) = &x.fill {
        out.queued = fill_to_high_water(req.inner_mut(), piece);
        let start = std::time::Instant::now();
        req.drained();
        out.drain_waited = start.elapsed();
    }
    for chunk in &x.writes {
        req.write(chunk.clone()).unwrap();
    }
    end_request(req.inner_mut(), &x, &mut out);
    if let Some(t) = x.set_timeout_after_finish {
        while let Some(e) = req.next_event() {
            out.events.push(event_name(&e));
            if e == RequestEvent::Finish {
                req.set_timeout(Some(t));
                break;
            }
        }
    }
    if x.destroy_on_timeout {
        while let Some(e) = req.next_event() {
            out.events.push(event_name(&e));
            if e == RequestEvent::Timeout {
                req.destroy();
                break;
            }
        }
    }
    if x.abort_after_finish || x.destroy_after_finish {
        while let Some(e) = req.next_event() {
            out.events.push(event_name(&e));
            if e == RequestEvent::Finish && x.abort_after_finish {
                req.abort();
                break;
            }
            if e == RequestEvent::Finish && x.destroy_after_finish {
                req.destroy();
                break;
            }
        }
    }
    if let Some((send, n)) = x.upgrade {
        match req.upgrade() {
            Ok(mut up) => {
                out.status = up.status_code();
                up.write_all(&send).unwrap();
                let mut back = vec![0u8; n];
                up.read_exact(&mut back).unwrap();
                out.body = back.into();
            }
            Err(e) => failed(&mut out, &e),
        }
        return out;
    }
    match req.response() {
        Ok(mut res) => {
            if let Some(pause) = x.pause_before_body {
                std::thread::sleep(pause);
            }
            response_views(res.inner(), &mut out);
            let mut first = bytes::Bytes::new();
            if x.abort_during_body {
                if let Some(Ok(chunk)) = res.chunk() {
                    first = chunk;
                }
                req.abort();
            }
            let rest = res.read_body();
            body_read(res.inner(), first, rest, &mut out);
        }
        Err(e) => failed(&mut out, &e),
    }
    out.reused_socket = req.reused_socket();
    while let Some(e) = req.next_event() {
        out.events.push(event_name(&e));
    }
    out
}

courier_suite::client_suite!(Blocking);
