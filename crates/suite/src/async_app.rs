//! The suite's application on an async adapter's server, written once: tokio's and
//! async-std's servers hand the same `courier_rt` `IncomingMessage` and
//! `ServerResponse` to their listeners, so their test crates only register these.

use std::future::Future;
use std::time::Duration;

use courier_rt::{IncomingMessage, ServerResponse};

use crate::Events;
use crate::app::{self, Reply, Request, SCRIPT_TIMEOUT, Script, code};

/// What the suite's app sees of `req`, its body read whole.
pub async fn request_of(req: &mut IncomingMessage) -> Request {
    let body = req.read_body().await.unwrap_or_default();
    Request::of(req, body)
}

/// Carries out the app's reply on `res` (see [`app`]'s module docs).
pub async fn perform(reply: Reply, mut res: ServerResponse) {
    reply.start(&mut res);
    for chunk in &reply.writes {
        res.write(chunk.clone()).await.unwrap();
    }
    if reply.drop_unended {
        return;
    }
    reply.add_trailers(&mut res);
    res.end(reply.end).await.unwrap();
}

/// The `'request'` (and `'checkExpectation'`) listener: carries out the URL's
/// [`app::script`] if it has one; else waits [`app::read_delay`] with the runtime's
/// `sleep`, reads the body, answers with [`app::reply`].
pub async fn handle<F: Future<Output = ()>>(
    mut req: IncomingMessage,
    res: ServerResponse,
    sleep: impl FnOnce(Duration) -> F,
    events: &Events,
) {
    if let Some(script) = app::script(&req.url()) {
        run_script(script, req, res, events).await;
        return;
    }
    let pause = app::read_delay(&req.url());
    if !pause.is_zero() {
        sleep(pause).await;
    }
    let r = request_of(&mut req).await;
    perform(app::reply(&r), res).await;
}

/// The `'checkContinue'` listener: [`app::check_continue`] decides between
/// `write_continue()` then the body, and an answer at once.
pub async fn check_continue(mut req: IncomingMessage, mut res: ServerResponse) {
    let head_only = Request::head_only(&req);
    if app::check_continue(&head_only) {
        res.write_continue().unwrap();
        let r = request_of(&mut req).await;
        perform(app::reply(&r), res).await;
    } else {
        perform(app::reply(&head_only), res).await;
    }
}

/// Carries out `script` (see [`Script`]'s variants) and notes what it saw.
pub async fn run_script(
    script: Script,
    mut req: IncomingMessage,
    mut res: ServerResponse,
    events: &Events,
) {
    match script {
        Script::ResTimeout => {
            res.set_timeout(SCRIPT_TIMEOUT);
            res.write("partial").await.unwrap();
            let finished = res.events().await;
            let more = code(res.write("more").await);
            events.note(format!("res-timeout finished={finished} write={more}"));
        }
        Script::ResTimeoutNotify => {
            let mut timeout = res.set_timeout_notify(SCRIPT_TIMEOUT);
            res.write("partial").await.unwrap();
            timeout.fired().await;
            res.end(Some("|end".into())).await.unwrap();
        }
        Script::ReqTimeout => {
            req.set_timeout(SCRIPT_TIMEOUT);
            let read = app::read_note(req.read_body().await);
            let end = code(res.end(Some("x".into())).await);
            events.note(format!(
                "req-timeout-plain read={read} aborted={} end={end}",
                req.aborted()
            ));
        }
        Script::ReqTimeoutNotify => {
            let mut timeout = req.set_timeout_notify(SCRIPT_TIMEOUT);
            timeout.fired().await;
            events.note(format!("req-timeout count={}", timeout.count()));
            res.set_status_code(408).unwrap();
            res.end(Some("slow".into())).await.unwrap();
        }
        Script::Finish => {
            let outcome = res.events();
            let before = outcome.outcome();
            res.end(Some("done".into())).await.unwrap();
            drop(res);
            let finished = outcome.await;
            events.note(format!("finish before={before:?} finished={finished}"));
        }
        Script::Leave => {
            res.write("part").await.unwrap();
            let finished = res.events().await;
            let more = code(res.write("more").await);
            events.note(format!("leave finished={finished} write={more}"));
        }
        Script::DestroyUnread => {
            let first = app::chunk_note(req.chunk().await);
            req.destroy(Some(std::io::Error::other("enough")));
            let err = app::chunk_note(req.chunk().await);
            let then_end = req.chunk().await.is_none();
            let end = code(res.end(Some("x".into())).await);
            let finished = res.events().await;
            events.note(format!(
                "destroy-unread first={first} err={err} then-end={then_end} aborted={} \
                 end={end} finished={finished}",
                req.aborted()
            ));
        }
        Script::DestroyRead => {
            let body = req.read_body().await.unwrap();
            req.destroy(None);
            events.note(format!("destroy-read aborted={}", req.aborted()));
            res.end(Some(body)).await.unwrap();
        }
        Script::Stream => {
            let first = req.chunk().await.unwrap().unwrap();
            events.note(format!("stream first={}", String::from_utf8_lossy(&first)));
            let body = [first, req.read_body().await.unwrap()].concat();
            let (note, end) = app::stream_end(&req);
            events.note(note);
            res.write_head(200, None, app::x_len(body.len())).unwrap();
            res.write(body).await.unwrap();
            res.end(Some(end)).await.unwrap();
        }
        Script::HeaderStore => {
            events.note(app::header_store(&mut res));
            res.end(Some("ok".into())).await.unwrap();
            events.note(format!("finished={}", res.writable_finished()));
        }
        Script::ResDestroy => {
            res.write("partial").await.unwrap();
            res.destroy();
            events.note(format!("destroyed ended={}", res.writable_ended()));
        }
        Script::OtherThread => {
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                res.write_now("from ").unwrap();
                res.end_now(Some("worker".into())).unwrap();
            });
        }
        Script::Flood => {
            let piece = app::flood_piece();
            let mut sent = 0;
            while sent < app::FLOOD_CAP && res.write(piece.clone()).await.is_ok() {
                sent += piece.len();
            }
            events.note(app::flood_note(sent));
        }
    }
}

/// The suite's server on an async adapter: `$create_server(options, handler)` with the
/// [`handle`] handler (its pauses on `$sleep`, a `Fn(Duration) -> impl Future`), the
/// listeners that always record ([`crate::Events`]) and those `$spec`
/// (`&ServerSpec`) asks for. `$echo` is the adapter's `async fn(io)` copying a
/// handed-over socket's input back to it; `$close` the method of the runtime's
/// `AsyncWriteExt` (in scope at the call) that closes a socket for writing.
#[macro_export]
macro_rules! async_server {
    ($spec:expr, $create_server:path, $sleep:expr, $echo:path, $close:ident) => {{
        use ::std::sync::Arc;
        use $crate::{app, async_app};
        let spec: &$crate::ServerSpec = $spec;
        let ev = Arc::clone(&spec.events);
        let server = $create_server(spec.options.clone(), move |req, res| {
            ev.request();
            let ev = Arc::clone(&ev);
            async move { async_app::handle(req, res, $sleep, &ev).await }
        })
        .unwrap();
        $crate::record_events!(server, spec);
        let l = spec.listeners;
        if l.check_continue {
            server.on_check_continue(async_app::check_continue);
        }
        if l.check_expectation {
            let ev = Arc::clone(&spec.events);
            server.on_check_expectation(move |req, res| {
                let ev = Arc::clone(&ev);
                async move { async_app::handle(req, res, $sleep, &ev).await }
            });
        }
        if l.upgrade {
            server.on_upgrade(|_req, mut io, head| async move {
                io.write_all(app::UPGRADE_101).await.unwrap();
                io.write_all(&head).await.unwrap();
                $echo(io).await;
            });
        }
        if l.connect {
            server.on_connect(|req, mut io, head| async move {
                io.write_all(&app::connect_reply(&req.url())).await.unwrap();
                io.write_all(&head).await.unwrap();
                $echo(io).await;
            });
        }
        if l.client_error {
            let ev = Arc::clone(&spec.events);
            server.on_client_error(move |err, mut io| {
                ev.note(app::client_error_note(&err));
                async move {
                    let _ = io.write_all(&app::client_error_reply(err.code())).await;
                    let _ = io.$close().await;
                }
            });
        }
        server
    }};
}
