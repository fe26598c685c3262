//! Server events, timeouts and shutdown: what the server's listeners are told
//! ([`crate::Events`]), what its timeouts do, and what `close()` /
//! `closeIdleConnections()` spare. Timeouts are short; the scenarios assert what
//! happens, never how long it took.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::app::{self, UPGRADE_101};
use crate::wire::Client;
use crate::{Adapter, Events, Listeners, Running, ServerSpec, wait_until};

const KEEP_ALIVE: &str = "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n";

/// A server with the default spec, what its listeners see, and a client connected
/// to it.
fn connected<A: Adapter>() -> (Arc<Events>, Running, Client) {
    let spec = ServerSpec::new();
    let events = Arc::clone(&spec.events);
    let server = A::start(spec);
    let c = Client::connect(server.addr());
    (events, server, c)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// SRV-5, SRV-24: the request over `maxRequestsPerSocket` gets Node's `503` and goes
/// to `'dropRequest'`, not to `'request'`.
pub fn a_request_over_max_requests_per_socket_goes_to_drop_request<A: Adapter>() {
    let spec = ServerSpec::new().options(|o| o.max_requests_per_socket = 1);
    let events = spec.events.clone();
    let server = A::start(spec);
    let mut c = Client::connect(server.addr());
    c.send(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(c.response(false).ends_with("\r\n\r\nGET /1"));
    assert!(
        c.response(false)
            .starts_with("HTTP/1.1 503 Service Unavailable\r\n")
    );
    wait_until("'dropRequest' for /2", || {
        !events.dropped.lock().unwrap().is_empty()
    });
    assert_eq!(*events.dropped.lock().unwrap(), ["/2"]);
    assert_eq!(events.requests.load(Ordering::SeqCst), 1);
}

/// SRV-24: `'connection'` gets every accepted socket with its addresses.
pub fn the_connection_event_gets_the_addresses<A: Adapter>() {
    let spec = ServerSpec::new();
    let events = spec.events.clone();
    let server = A::start(spec);
    let c = std::net::TcpStream::connect(server.addr()).unwrap();
    wait_until("a 'connection'", || {
        !events.connections.lock().unwrap().is_empty()
    });
    assert_eq!(
        *events.connections.lock().unwrap(),
        [(Some(c.local_addr().unwrap()), Some(server.addr()))]
    );
}

/// SRV-21: `close()` leaves an active connection (a partial head) alone: its request
/// is answered, still as keep-alive; `'close'` fires only once it is gone.
pub fn close_waits_for_an_active_connection_before_the_close_event<A: Adapter>() {
    let (events, server, mut c) = connected::<A>();
    c.send(b"GET /hello HTTP/1.1\r\n");
    wait_until("one open connection", || server.connection_count() == 1);
    assert!(server.listening());
    server.close();
    assert!(!server.listening(), "close() stops listening at once");
    assert_eq!(server.connection_count(), 1);
    std::thread::sleep(ms(50));
    assert_eq!(
        events.closes.load(Ordering::SeqCst),
        0,
        "a connection is open"
    );
    c.send(b"Host: a\r\n\r\n");
    let r = c.response(false);
    assert!(r.contains(KEEP_ALIVE), "SRV-21: {r}");
    assert!(r.ends_with("Hello, World!"), "{r}");
    assert_eq!(events.closes.load(Ordering::SeqCst), 0);
    drop(c);
    wait_until("'close'", || events.closes.load(Ordering::SeqCst) == 1);
}

/// SRV-21: with no connection open, `'close'` fires within `close()`.
pub fn the_close_event_fires_at_once_without_connections<A: Adapter>() {
    let spec = ServerSpec::new();
    let events = spec.events.clone();
    let server = A::start(spec);
    server.close();
    assert_eq!(events.closes.load(Ordering::SeqCst), 1);
}

/// SRV-19, SRV-20: with a server `'timeout'` listener an inactive socket is not
/// destroyed: the listener is told and the socket keeps serving.
pub fn a_timeout_listener_keeps_the_inactive_socket<A: Adapter>() {
    let spec = ServerSpec::new()
        .options(|o| o.timeout = ms(100))
        .listeners(Listeners {
            timeout: true,
            ..Listeners::default()
        });
    let events = spec.events.clone();
    let server = A::start(spec);
    let mut c = Client::connect(server.addr());
    wait_until("a 'timeout'", || events.timeouts.load(Ordering::SeqCst) > 0);
    c.send(b"GET /late HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(c.response(false).ends_with("\r\n\r\nGET /late"));
}

/// SRV-19: the server `'timeout'` listener decides: `socket.destroy()` closes the
/// inactive connection with no bytes written, once.
pub fn a_timeout_listener_may_destroy_the_socket<A: Adapter>() {
    let spec = ServerSpec::new()
        .options(|o| o.timeout = ms(100))
        .listeners(Listeners {
            timeout: true,
            ..Listeners::default()
        });
    let events = spec.events.clone();
    events.destroy_on_timeout.store(true, Ordering::SeqCst);
    let server = A::start(spec);
    let mut c = Client::connect(server.addr());
    assert_eq!(c.until_closed(), "");
    assert_eq!(events.timeouts.load(Ordering::SeqCst), 1);
    wait_until("the connection gone", || server.connection_count() == 0);
}

/// SRV-19: without any `'timeout'` listener the inactive socket is destroyed, no bytes.
pub fn without_a_timeout_listener_the_inactive_socket_is_destroyed<A: Adapter>() {
    let server = A::start(ServerSpec::new().options(|o| o.timeout = ms(100)));
    let mut c = Client::connect(server.addr());
    assert_eq!(c.until_closed(), "");
}

/// SRV-19, SRV-18: a server `'timeout'` listener also keeps an idle keep-alive
/// connection past the keep-alive timeout.
pub fn a_timeout_listener_keeps_an_idle_keep_alive_connection<A: Adapter>() {
    let spec = ServerSpec::new()
        .options(|o| o.keep_alive_timeout = ms(100))
        .listeners(Listeners {
            timeout: true,
            ..Listeners::default()
        });
    let events = spec.events.clone();
    let server = A::start(spec);
    let mut c = Client::connect(server.addr());
    c.send(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(c.response(false).ends_with("GET /1"));
    wait_until("a 'timeout'", || events.timeouts.load(Ordering::SeqCst) > 0);
    assert_eq!(server.connection_count(), 1);
    c.send(b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(c.response(false).ends_with("GET /2"));
}

/// SRV-17, SRV-12: a head not complete by `headersTimeout` gets Node's default
/// `408` at a checker tick, and the connection closes.
pub fn an_incomplete_head_gets_nodes_408<A: Adapter>() {
    let server = A::start(ServerSpec::new().options(|o| {
        o.headers_timeout = Some(ms(300));
        o.request_timeout = ms(1000);
        o.connections_checking_interval = ms(50);
    }));
    let mut c = Client::connect(server.addr());
    c.send(b"GET / HTTP/1.1\r\nHost: a\r\n");
    assert_eq!(
        c.until_closed(),
        "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n"
    );
}

/// SRV-17: a body still trickling in at `requestTimeout` gets Node's `408`.
pub fn a_trickling_body_gets_nodes_408_at_the_request_timeout<A: Adapter>() {
    let server = A::start(ServerSpec::new().options(|o| {
        o.headers_timeout = Some(ms(200));
        o.request_timeout = ms(400);
        o.connections_checking_interval = ms(50);
    }));
    let mut c = Client::connect(server.addr());
    c.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    assert_eq!(
        c.until_closed(),
        "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n"
    );
}

/// SRV-12, SRV-13: a bad request pipelined behind one whose response is not yet
/// written: Node's `400` goes out alone (checked against Node v20 with a handler that
/// answers on the request's `'end'`, as the suite's app does).
pub fn a_bad_request_pipelined_behind_a_request_gets_only_the_400<A: Adapter>() {
    let server = A::start(ServerSpec::new());
    let mut c = Client::connect(server.addr());
    c.send(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nBAD / HTTP/1.1\r\n\r\n");
    assert_eq!(
        c.until_closed(),
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
    );
}

/// SRV-23: `closeIdleConnections()` destroys the idle keep-alive connection and spares
/// the one with a request in progress, which is then answered.
pub fn close_idle_connections_spares_an_active_request<A: Adapter>() {
    let server = A::start(ServerSpec::new());
    let mut idle = Client::connect(server.addr());
    idle.send(b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    idle.response(false);
    let mut busy = Client::connect(server.addr());
    busy.send(b"GET /hello HTTP/1.1\r\nHo");
    wait_until("two open connections", || server.connection_count() == 2);
    server.close_idle_connections();
    assert_eq!(idle.until_closed(), "", "the idle one is closed");
    busy.send(b"st: a\r\n\r\n");
    assert!(busy.response(false).ends_with("Hello, World!"));
}

/// SRV-8, SRV-15: an upgrade pipelined behind a request waits for that request's
/// response; the response is written first, then the socket is handed over.
pub fn an_upgrade_waits_for_the_earlier_pipelined_response<A: Adapter>() {
    let server = A::start(ServerSpec::new().listeners(Listeners {
        upgrade: true,
        ..Listeners::default()
    }));
    let mut c = Client::connect(server.addr());
    c.send(
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nfirst\
          GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
    );
    assert!(c.response(false).ends_with("\r\n\r\nfirst"));
    let want = String::from_utf8_lossy(UPGRADE_101).into_owned();
    assert_eq!(c.exactly(want.len()), want);
    c.send(b"ping");
    assert_eq!(c.exactly(4), "ping");
}

/// RES-16: `204`, `304` and any response to `HEAD` have no body and no framing field
/// (Node v20's exact bytes); the connection goes on.
pub fn no_body_responses_have_no_framing<A: Adapter>() {
    let server = A::start(ServerSpec::new());
    let mut c = Client::connect(server.addr());
    c.send(
        b"GET /status/204 HTTP/1.1\r\nHost: a\r\n\r\nGET /status/304 HTTP/1.1\r\nHost: a\r\n\r\n\
          HEAD /chunks HTTP/1.1\r\nHost: a\r\n\r\nGET /z HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert_eq!(
        c.response(true),
        format!("HTTP/1.1 204 No Content\r\nDate: <date>\r\n{KEEP_ALIVE}\r\n")
    );
    assert_eq!(
        c.response(true),
        format!("HTTP/1.1 304 Not Modified\r\nDate: <date>\r\n{KEEP_ALIVE}\r\n")
    );
    assert_eq!(
        c.response(true),
        format!("HTTP/1.1 200 OK\r\nDate: <date>\r\n{KEEP_ALIVE}\r\n")
    );
    assert_eq!(
        c.response(false),
        format!("HTTP/1.1 200 OK\r\nDate: <date>\r\n{KEEP_ALIVE}Content-Length: 6\r\n\r\nGET /z")
    );
}

/// MSG-11, SRV-15: a request body far above every buffer (4 MiB, sent while the
/// server may not be reading) reaches the application whole and is echoed whole.
pub fn a_large_request_body_arrives_whole<A: Adapter>() {
    const LEN: usize = 4 * 1024 * 1024;
    let server = A::start(ServerSpec::new());
    let mut c = Client::connect(server.addr());
    let mut sender = c.try_clone();
    let writer = std::thread::spawn(move || {
        sender.send(
            format!("PUT /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {LEN}\r\n\r\n").as_bytes(),
        );
        sender.send(&vec![b'z'; LEN]);
    });
    let r = c.response(false);
    writer.join().unwrap();
    assert!(
        r.contains(&format!("\r\nContent-Length: {LEN}\r\n")),
        "{}",
        &r[..200]
    );
    assert_eq!(r.bytes().filter(|&b| b == b'z').count(), LEN);
}

/// SRV-11, SRV-13: with a `'clientError'` listener the response to the request
/// before the bad one is written first, then the socket goes to the listener.
pub fn a_client_error_listener_gets_the_socket_after_earlier_responses<A: Adapter>() {
    let server = A::start(ServerSpec::new().listeners(Listeners {
        client_error: true,
        ..Listeners::default()
    }));
    let mut c = Client::connect(server.addr());
    c.send(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nBAD / HTTP/1.1\r\n\r\n");
    assert_eq!(
        c.until_closed(),
        format!(
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n{KEEP_ALIVE}Content-Length: 6\r\n\r\nGET /1{}",
            String::from_utf8_lossy(&app::client_error_reply("HPE_INVALID_METHOD"))
        )
    );
}

/// SRV-11, SRV-17: with a `'clientError'` listener a request timeout goes to it as
/// `ERR_HTTP_REQUEST_TIMEOUT`; no default `408` is written.
pub fn a_request_timeout_goes_to_the_client_error_listener<A: Adapter>() {
    let server = A::start(
        ServerSpec::new()
            .options(|o| {
                o.headers_timeout = Some(ms(200));
                o.request_timeout = ms(400);
                o.connections_checking_interval = ms(50);
            })
            .listeners(Listeners {
                client_error: true,
                ..Listeners::default()
            }),
    );
    let mut c = Client::connect(server.addr());
    c.send(b"GET / HTTP/1.1\r\nHost: a\r\n");
    assert_eq!(
        c.until_closed().into_bytes(),
        app::client_error_reply("ERR_HTTP_REQUEST_TIMEOUT")
    );
}

/// SRV-8: a declared body of an upgrade request is part of `head` (Node v20:
/// `Content-Length: 3` + `"abcREST"` → head `"abcREST"`).
pub fn an_upgrade_requests_body_is_part_of_head<A: Adapter>() {
    let server = A::start(ServerSpec::new().listeners(Listeners {
        upgrade: true,
        ..Listeners::default()
    }));
    let mut c = Client::connect(server.addr());
    c.send(
        b"POST /up HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: echo\r\n\
          Content-Length: 3\r\n\r\nabcREST",
    );
    let want = format!("{}abcREST", String::from_utf8_lossy(UPGRADE_101));
    assert_eq!(c.exactly(want.len()), want);
}

/// SRV-8, SRV-21: a handed-over socket counts as an open connection until the
/// application drops it; `'close'` after `close()` waits for it.
pub fn a_handed_over_socket_counts_until_dropped<A: Adapter>() {
    let spec = ServerSpec::new().listeners(Listeners {
        upgrade: true,
        ..Listeners::default()
    });
    let events = spec.events.clone();
    let server = A::start(spec);
    let mut c = Client::connect(server.addr());
    c.send(b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
    assert_eq!(c.exactly(UPGRADE_101.len()).as_bytes(), UPGRADE_101);
    assert_eq!(server.connection_count(), 1);
    server.close();
    std::thread::sleep(ms(50));
    assert_eq!(server.connection_count(), 1, "the application owns it");
    assert_eq!(events.closes.load(Ordering::SeqCst), 0, "'close' waits");
    c.send(b"ping");
    assert_eq!(c.exactly(4), "ping");
    // The client's end of stream ends the app's echo, which drops the socket.
    drop(c);
    wait_until("'close'", || events.closes.load(Ordering::SeqCst) == 1);
    assert_eq!(server.connection_count(), 0);
}

/// A panicking handler destroys only its own connection (no bytes, the pipelined
/// request after it unanswered); the server goes on serving.
pub fn a_panicking_handler_destroys_only_its_connection<A: Adapter>() {
    let server = A::start(ServerSpec::new());
    let mut c = Client::connect(server.addr());
    c.send(b"GET /panic HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.until_closed(), "");
    let mut c = Client::connect(server.addr());
    c.send(b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(c.response(false).ends_with("Hello, World!"));
}

/// SRV-15, MSG-11: back-pressure on a request body: while the handler does not read
/// (it pauses first), the server stops reading the socket, so the client's writes
/// stall long before a 64 MiB body is sent; once the handler reads, every byte arrives.
pub fn a_request_body_not_read_stops_the_server_reading<A: Adapter>() {
    const LEN: usize = 64 * 1024 * 1024;
    let server = A::start(ServerSpec::new());
    let mut c = Client::connect(server.addr());
    c.send(
        format!("POST /paused-count HTTP/1.1\r\nHost: a\r\nContent-Length: {LEN}\r\n\r\n")
            .as_bytes(),
    );
    let chunk = vec![b'b'; 64 * 1024];
    let mut sent = 0;
    // Well within the handler's pause: the first write that makes no progress for
    // 200 ms shows the server is not reading.
    while sent < LEN {
        match c.send_within(&chunk[..chunk.len().min(LEN - sent)], ms(200)) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    assert!(sent < LEN, "the whole body went in while nothing read it");
    let mut rest = c.try_clone();
    let writer = std::thread::spawn(move || {
        while sent < LEN {
            let n = chunk.len().min(LEN - sent);
            rest.send(&chunk[..n]);
            sent += n;
        }
    });
    let r = c.response(false);
    writer.join().unwrap();
    assert!(r.ends_with(&format!("\r\n\r\n{LEN}")), "{r}");
}

/// RES-29, SRV-19: `res.setTimeout(ms)` without a listener: expiry destroys the
/// socket mid-response (the client gets the truncated body), the response closes
/// without `'finish'` and a later write fails with `ERR_STREAM_DESTROYED`.
pub fn a_response_timeout_without_a_listener_destroys_the_socket<A: Adapter>() {
    let (events, _server, mut c) = connected::<A>();
    c.send(b"GET /res-timeout HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        c.until_closed(),
        format!(
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n{KEEP_ALIVE}Transfer-Encoding: chunked\r\n\r\n\
             7\r\npartial\r\n"
        )
    );
    assert_eq!(
        events.first_note(),
        "res-timeout finished=false write=ERR_STREAM_DESTROYED"
    );
}

/// RES-29, SRV-19: `res.setTimeout(ms, listener)`: expiry calls the listener and
/// keeps the socket; the response then ends normally.
pub fn a_response_timeout_listener_keeps_the_socket<A: Adapter>() {
    let server = A::start(ServerSpec::new());
    let mut c = Client::connect(server.addr());
    c.send(b"GET /res-timeout-notify HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        c.response(false),
        format!(
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n{KEEP_ALIVE}Transfer-Encoding: chunked\r\n\r\n\
             7\r\npartial\r\n4\r\n|end\r\n0\r\n\r\n"
        )
    );
}

/// SRV-19: `req.setTimeout(ms)` without a listener while the body is still arriving:
/// expiry destroys the socket (no bytes reach the client); the body read fails with
/// `aborted` and the response can no longer be written.
pub fn a_request_timeout_without_a_listener_destroys_the_socket<A: Adapter>() {
    let (events, _server, mut c) = connected::<A>();
    c.send(b"POST /req-timeout HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    assert_eq!(c.until_closed(), "", "destroyed, no bytes");
    assert_eq!(
        events.first_note(),
        "req-timeout-plain read=aborted aborted=true end=ERR_STREAM_DESTROYED"
    );
}

/// SRV-19: `req.setTimeout(ms, listener)` while the body is still arriving: the
/// listener fires once and the socket is kept; the handler answers.
pub fn a_request_timeout_listener_keeps_the_socket_while_receiving<A: Adapter>() {
    let (events, _server, mut c) = connected::<A>();
    c.send(b"POST /req-timeout-notify HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    let resp = c.response(false);
    assert!(
        resp.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{resp}"
    );
    assert!(resp.ends_with("\r\n\r\nslow"), "{resp}");
    assert_eq!(events.first_note(), "req-timeout count=1");
}

/// RES-27: the response reports `'finish'` once its last byte was written (and not
/// before `end`).
pub fn a_response_reports_finish_once_written<A: Adapter>() {
    let (events, _server, mut c) = connected::<A>();
    c.send(b"GET /finish HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        c.response(false),
        format!("HTTP/1.1 200 OK\r\nDate: <date>\r\n{KEEP_ALIVE}Content-Length: 4\r\n\r\ndone")
    );
    assert_eq!(events.first_note(), "finish before=None finished=true");
}

/// RES-27, MSG-10: the client goes away mid-response: the response reports
/// `'close'` without `'finish'`, and a later write fails with
/// `ERR_STREAM_DESTROYED`.
pub fn a_response_reports_close_when_the_client_leaves<A: Adapter>() {
    let (events, _server, mut c) = connected::<A>();
    c.send(b"GET /leave HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        c.response(true),
        format!(
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n{KEEP_ALIVE}Transfer-Encoding: chunked\r\n\r\n"
        )
    );
    drop(c);
    assert_eq!(
        events.first_note(),
        "leave finished=false write=ERR_STREAM_DESTROYED"
    );
}

/// MSG-10: `req.destroy(err)` before the body was read to its end aborts the
/// request and destroys the socket: the next read gives `err`, then the end; the
/// response can no longer be written (nothing reaches the client).
pub fn destroying_an_unread_request_destroys_the_socket<A: Adapter>() {
    let (events, _server, mut c) = connected::<A>();
    c.send(b"POST /destroy-unread HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    assert_eq!(c.until_closed(), "", "destroyed, no bytes");
    assert_eq!(
        events.first_note(),
        "destroy-unread first=abc err=enough then-end=true aborted=true \
         end=ERR_STREAM_DESTROYED finished=false"
    );
}

/// MSG-10: after the body was read to its end `req.destroy()` ends only the stream;
/// the request is not aborted and the response still goes out (Node v20's
/// `_destroy`).
pub fn destroying_a_fully_read_request_keeps_the_socket<A: Adapter>() {
    let (events, _server, mut c) = connected::<A>();
    c.send(b"POST /destroy-read HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(
        c.response(false),
        format!("HTTP/1.1 200 OK\r\nDate: <date>\r\n{KEEP_ALIVE}Content-Length: 3\r\n\r\nabc")
    );
    assert_eq!(events.first_note(), "destroy-read aborted=false");
}

/// MSG-11, MSG-6: a chunked request body streams to the handler (its first piece
/// arrives before the rest exists); `complete` and `rawTrailers` after the end;
/// RES-10: `writeHead` fields come first, then Node's own.
pub fn a_chunked_request_body_streams_to_the_handler<A: Adapter>() {
    let (events, _server, mut c) = connected::<A>();
    c.send(b"POST /stream HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    assert_eq!(events.first_note(), "stream first=hello");
    c.send(b"6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n");
    assert_eq!(
        c.response(false),
        format!(
            "HTTP/1.1 200 OK\r\nX-Len: 11\r\nDate: <date>\r\n{KEEP_ALIVE}\
             Transfer-Encoding: chunked\r\n\r\nb\r\nhello world\r\n3\r\n|42\r\n0\r\n\r\n"
        )
    );
    assert_eq!(
        events.notes.lock().unwrap()[1],
        "stream complete=true raw-trailers=[b\"X-Sum\", b\"42\"]"
    );
}

/// RES-3, RES-6: the header store's views (`getHeaderNames`, `getRawHeaderNames`,
/// `setHeaders` gathering `set-cookie`), `statusMessage`, `sendDate = false`,
/// `writableFinished` before and after `end` (the bytes and views are Node v20's for
/// `setHeaders(new Headers([...]))`, checked with a script).
pub fn the_response_header_store_and_its_views<A: Adapter>() {
    let (events, _server, mut c) = connected::<A>();
    c.send(b"GET /header-store HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(
        c.response(false),
        format!(
            "HTTP/1.1 200 Fine\r\nX-Foo: 1\r\ncontent-type: text/plain\r\n\
             set-cookie: a=1\r\nset-cookie: b=2\r\n{KEEP_ALIVE}Content-Length: 2\r\n\r\nok"
        )
    );
    wait_until("two notes", || events.notes.lock().unwrap().len() == 2);
    assert_eq!(
        *events.notes.lock().unwrap(),
        [
            "names=[\"x-foo\", \"content-type\", \"set-cookie\"] \
             raw=[\"X-Foo\", \"content-type\", \"set-cookie\"] headers=3 \
             msg=Some(\"Fine\") date=false strict=false finished=false",
            "finished=true"
        ]
    );
}

/// RES-28: `res.destroy()` mid-response closes the connection with the partial
/// response (no terminating chunk); `writableEnded` is then true.
pub fn destroying_a_response_closes_the_connection<A: Adapter>() {
    let (events, _server, mut c) = connected::<A>();
    c.send(b"GET /res-destroy HTTP/1.1\r\nHost: x\r\n\r\n");
    let all = c.until_closed();
    assert!(!all.contains("0\r\n\r\n"), "{all}");
    assert_eq!(events.first_note(), "destroyed ended=true");
}

/// A response moved off the handler to a std thread and ended there is written, and
/// the connection goes on (the runtime is woken from a foreign thread).
pub fn a_response_ended_on_another_thread_is_written<A: Adapter>() {
    let server = A::start(ServerSpec::new());
    let mut c = Client::connect(server.addr());
    for _ in 0..2 {
        c.send(b"GET /other-thread HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(
            c.response(false),
            format!(
                "HTTP/1.1 200 OK\r\nDate: <date>\r\n{KEEP_ALIVE}Transfer-Encoding: chunked\r\n\r\n\
                 5\r\nfrom \r\n6\r\nworker\r\n0\r\n\r\n"
            )
        );
    }
}

/// SRV-21, SRV-22: `close()` spares an active connection (a partial head);
/// `closeAllConnections()` then ends it (the client sees the close, no bytes) and
/// `'close'` fires.
pub fn close_all_connections_ends_an_active_connection<A: Adapter>() {
    let (events, server, mut c) = connected::<A>();
    c.send(b"GET /hello HTTP/1.1\r\n");
    wait_until("one open connection", || server.connection_count() == 1);
    server.close();
    assert_eq!(server.connection_count(), 1);
    server.close_all_connections();
    assert_eq!(c.until_closed(), "");
    wait_until("'close'", || events.closes.load(Ordering::SeqCst) == 1);
    assert_eq!(server.connection_count(), 0);
}

/// SRV-21, SRV-22: a peer that stops reading a large response blocks only its own
/// connection: `close()` returns at once (the connection still counts), and
/// `closeAllConnections()` ends the blocked write (the handler's `write` fails).
pub fn a_peer_that_does_not_read_blocks_neither_close_nor_close_all<A: Adapter>() {
    let (events, server, mut c) = connected::<A>();
    c.send(b"GET /flood HTTP/1.1\r\nHost: a\r\n\r\n");
    std::thread::sleep(ms(200));
    let start = std::time::Instant::now();
    server.close();
    assert!(start.elapsed() < Duration::from_secs(2), "close() waited");
    assert_eq!(server.connection_count(), 1, "still writing");
    assert!(events.notes.lock().unwrap().is_empty(), "still writing");
    server.close_all_connections();
    assert_eq!(events.first_note(), "flood failed=true");
    wait_until("'close'", || events.closes.load(Ordering::SeqCst) == 1);
    drop(c);
}
