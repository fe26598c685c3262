//! The server scenarios. Each is generic over the [`Adapter`] and generated as a test
//! by [`crate::server_suite!`]. Exact bytes are Node v20's (the proto conformance
//! suites check the same bytes against Node itself).

use crate::app::{self, BIG_LEN, UPGRADE_101};
use crate::wire::Client;
use crate::{Adapter, Listeners, ServerSpec};

const KEEP_ALIVE: &str = "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n";

fn hello_bytes(connection: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: <date>\r\n{connection}\
         Content-Length: 13\r\n\r\nHello, World!"
    )
}

fn start<A: Adapter>() -> (crate::Running, Client) {
    start_with::<A>(ServerSpec::new())
}

fn start_with<A: Adapter>(spec: ServerSpec) -> (crate::Running, Client) {
    let server = A::start(spec);
    let client = Client::connect(server.addr());
    (server, client)
}

fn all_listeners() -> Listeners {
    Listeners {
        check_continue: true,
        check_expectation: true,
        upgrade: true,
        connect: true,
        client_error: true,
        timeout: false,
    }
}

/// RES-11, RES-14, CONST-10: `end(body)` gives `Content-Length`, an automatic `Date`
/// and Node's keep-alive fields, in Node's order.
pub fn hello_has_nodes_exact_bytes<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.response(false), hello_bytes(KEEP_ALIVE));
}

/// SRV-14, SRV-15: one connection carries sequential requests, and pipelined requests
/// are answered in order.
pub fn keep_alive_and_pipelining_answer_in_order<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        c.response(false),
        format!("HTTP/1.1 200 OK\r\nDate: <date>\r\n{KEEP_ALIVE}Content-Length: 8\r\n\r\nGET /one")
    );
    c.send(b"POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    assert!(c.response(false).ends_with("\r\n\r\nPOST /two"));
    c.send(
        b"GET /3 HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /5 HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert!(c.response(false).ends_with("\r\n\r\nGET /3"));
    assert!(c.response(false).ends_with("\r\n\r\nhello"));
    assert!(c.response(false).ends_with("\r\n\r\nGET /5"));
}

/// MSG-11: a `Content-Length` body reaches the application whole.
pub fn content_length_body_is_echoed<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"PUT /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world");
    let r = c.response(false);
    assert!(
        r.starts_with("HTTP/1.1 200 OK\r\nX-Method: PUT\r\nX-Te: \r\n"),
        "{r}"
    );
    assert!(r.ends_with("Content-Length: 11\r\n\r\nhello world"), "{r}");
}

/// MSG-8, MSG-11: a chunked body is de-chunked and its trailers reach the application.
pub fn chunked_body_and_trailers_are_echoed<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    c.send(b"2\r\nde\r\n0\r\nX-Sum: 42\r\n\r\n");
    let r = c.response(false);
    assert!(r.contains("\r\nX-Te: chunked\r\n"), "{r}");
    assert!(r.contains("\r\nX-Trailers: x-sum=42\r\n"), "{r}");
    assert!(r.ends_with("\r\n\r\nabcde"), "{r}");
}

/// RES-15, RES-20: writes without a length are chunked; trailers follow the last chunk.
pub fn a_chunked_response_with_trailers<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"GET /trailers HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        c.response(false),
        format!(
            "HTTP/1.1 200 OK\r\nTrailer: X-Checksum\r\nDate: <date>\r\n{KEEP_ALIVE}\
             Transfer-Encoding: chunked\r\n\r\n6\r\npart1,\r\n5\r\npart2\r\n0\r\n\
             X-Checksum: abc123\r\n\r\n"
        )
    );
    c.send(b"GET /chunks HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(
        c.response(false)
            .ends_with("6\r\npart1,\r\n5\r\npart2\r\n0\r\n\r\n")
    );
}

/// RES-17: a response to `HEAD` has no body and, as in Node (no body means no
/// framing field is rendered), no `Content-Length` either; the connection stays usable.
pub fn head_response_has_no_body<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        c.response(true),
        format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: <date>\r\n{KEEP_ALIVE}\r\n")
    );
    c.send(b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.response(false), hello_bytes(KEEP_ALIVE));
}

/// RES-23: a body far above the high-water mark arrives whole (the writer waits for
/// the socket instead of buffering without bound).
pub fn a_large_response_arrives_whole<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
    let r = c.response(false);
    assert!(r.contains("Transfer-Encoding: chunked\r\n"));
    assert_eq!(r.bytes().filter(|&b| b == b'y').count(), BIG_LEN);
}

/// SRV-12: a parse error gets Node's default `400` and the connection closes.
pub fn a_bad_request_gets_nodes_400_and_close<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n");
    assert_eq!(
        c.until_closed(),
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
    );
}

/// SRV-12, PRS-21: a head over 16 KiB gets Node's `431`.
pub fn a_header_overflow_gets_nodes_431<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    let long = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    c.send(long.as_bytes());
    assert_eq!(
        c.until_closed(),
        "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n"
    );
}

/// SRV-6: without a `'checkContinue'` listener `100 Continue` is written at once and
/// the request goes to `'request'`.
pub fn expect_100_continue_is_automatic_without_a_listener<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    assert_eq!(c.exactly(25), "HTTP/1.1 100 Continue\r\n\r\n");
    c.send(b"body");
    let r = c.response(false);
    assert!(r.contains("\r\nX-Expect: 100-continue\r\n"), "{r}");
    assert!(r.ends_with("\r\n\r\nbody"), "{r}");
}

/// SRV-6, SRV-7: with a `'checkContinue'` listener nothing is automatic: the listener
/// may refuse at once (the connection then closes after the answer), or write
/// `100 Continue` and read the body.
pub fn check_continue_listener_answers_before_the_body<A: Adapter>() {
    let spec = || ServerSpec::new().listeners(all_listeners());
    let first = spec();
    let events = first.events.clone();
    let (_server, mut c) = start_with::<A>(first);
    c.send(
        b"POST /refuse HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n",
    );
    let r = c.response(false);
    assert!(r.starts_with("HTTP/1.1 413 Payload Too Large\r\n"), "{r}");
    assert!(r.contains("\r\nConnection: close\r\n"), "SRV-7: {r}");
    assert_eq!(
        events.requests.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no 'request'"
    );

    let (_server, mut c) = start_with::<A>(spec());
    c.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    assert_eq!(c.exactly(25), "HTTP/1.1 100 Continue\r\n\r\n");
    c.send(b"data");
    assert!(c.response(false).ends_with("\r\n\r\ndata"));
}

/// SRV-6: an `Expect` other than `100-continue` without a listener gets Node's `417`
/// and the connection stays open.
pub fn without_a_check_expectation_listener_the_answer_is_417<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"GET /x HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n\r\n");
    assert_eq!(
        c.response(false),
        format!(
            "HTTP/1.1 417 Expectation Failed\r\nDate: <date>\r\n{KEEP_ALIVE}\
             Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
    );
    c.send(b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(c.response(false).ends_with("GET /next"));
}

/// SRV-6: with a `'checkExpectation'` listener the request goes to it.
pub fn check_expectation_listener_gets_the_request<A: Adapter>() {
    let (_server, mut c) = start_with::<A>(ServerSpec::new().listeners(all_listeners()));
    c.send(b"GET /x HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n\r\n");
    let r = c.response(false);
    assert!(
        r.starts_with("HTTP/1.1 200 OK\r\n") && r.ends_with("GET /x"),
        "{r}"
    );
}

/// SRV-8: the `'upgrade'` listener gets the socket and the bytes after the head.
pub fn upgrade_hands_over_the_socket_with_head<A: Adapter>() {
    let (_server, mut c) = start_with::<A>(ServerSpec::new().listeners(all_listeners()));
    c.send(b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nHELLO");
    let want = format!("{}HELLO", String::from_utf8_lossy(UPGRADE_101));
    assert_eq!(c.exactly(want.len()), want);
    c.send(b"ping");
    assert_eq!(c.exactly(4), "ping");
}

/// SRV-8: without an `'upgrade'` listener an upgrade request is an ordinary request.
pub fn without_an_upgrade_listener_the_request_is_ordinary<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
    assert_eq!(
        c.response(false),
        format!(
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n{KEEP_ALIVE}Content-Length: 9\r\n\r\nGET /chat"
        )
    );
}

/// SRV-9: `CONNECT` goes to the `'connect'` listener with the authority as `url`.
pub fn connect_opens_a_tunnel<A: Adapter>() {
    let (_server, mut c) = start_with::<A>(ServerSpec::new().listeners(all_listeners()));
    c.send(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nEXTRA");
    let want = format!(
        "{}EXTRA",
        String::from_utf8_lossy(&app::connect_reply("example.com:443"))
    );
    assert_eq!(c.exactly(want.len()), want);
    c.send(b"tunnelled");
    assert_eq!(c.exactly(9), "tunnelled");
}

/// SRV-9: without a `'connect'` listener the socket is closed and nothing is written.
pub fn without_a_connect_listener_the_socket_closes_silently<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    assert_eq!(c.until_closed(), "");
}

/// SRV-11: with a `'clientError'` listener nothing is written by the server; the
/// listener gets Node's error code and writes its own reply.
/// (Node v20: `HPE_INVALID_METHOD`, `Parse Error: Invalid method encountered`,
/// `bytesParsed` 0, the bytes as `rawPacket`).
pub fn a_client_error_listener_writes_its_own_reply<A: Adapter>() {
    let spec = ServerSpec::new().listeners(all_listeners());
    let events = spec.events.clone();
    let (_server, mut c) = start_with::<A>(spec);
    c.send(b"XYZ / HTTP/1.1\r\n\r\n");
    assert_eq!(
        c.until_closed().into_bytes(),
        app::client_error_reply("HPE_INVALID_METHOD")
    );
    assert_eq!(
        events.first_note(),
        "client-error code=HPE_INVALID_METHOD message=Parse Error: Invalid method \
         encountered bytes-parsed=0 raw=b\"XYZ / HTTP/1.1\\r\\n\\r\\n\""
    );
    assert_eq!(events.requests.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// SRV-5: the request past `maxRequestsPerSocket` gets Node's `503`; the last allowed
/// one says `Connection: close`.
pub fn over_max_requests_per_socket_gets_nodes_503<A: Adapter>() {
    let spec = ServerSpec::new().options(|o| o.max_requests_per_socket = 1);
    let (_server, mut c) = start_with::<A>(spec);
    c.send(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        c.response(false),
        "HTTP/1.1 200 OK\r\nDate: <date>\r\nConnection: close\r\nContent-Length: 6\r\n\r\nGET /1"
    );
    assert_eq!(
        c.response(false),
        "HTTP/1.1 503 Service Unavailable\r\nDate: <date>\r\nConnection: close\r\n\
         Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    );
}

/// SRV-18, CONST-8: an idle keep-alive connection is closed, without bytes, once
/// `keepAliveTimeout` (+ 1 s) passes.
pub fn an_idle_keep_alive_connection_closes_after_the_timeout<A: Adapter>() {
    let spec =
        ServerSpec::new().options(|o| o.keep_alive_timeout = std::time::Duration::from_millis(100));
    let (_server, mut c) = start_with::<A>(spec);
    c.send(b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    let r = c.response(false);
    assert!(r.contains("\r\nKeep-Alive: timeout=0\r\n"), "{r}");
    assert_eq!(c.until_closed(), "");
}

/// A response dropped without `end` before anything of it was sent is ended as
/// Node's `res.end()` ends it: its head as set, an empty body; the connection goes on.
pub fn a_response_dropped_unsent_is_ended_as_node_ends_it<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"GET /drop HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(
        c.response(false),
        format!(
            "HTTP/1.1 200 OK\r\nX-Dropped: yes\r\nDate: <date>\r\n{KEEP_ALIVE}Content-Length: 0\r\n\r\n"
        )
    );
    c.send(b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.response(false), hello_bytes(KEEP_ALIVE));
}

/// A response dropped without `end` after part of it was sent destroys its
/// connection (Node's `res.destroy()`): no terminating chunk passes the truncated
/// body off as complete.
pub fn a_response_dropped_mid_body_destroys_the_connection<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"GET /drop-mid HTTP/1.1\r\nHost: a\r\n\r\n");
    let all = c.until_closed();
    assert!(!all.contains("0\r\n\r\n"), "{all}");
}

/// RES-14, SRV-14: `Connection: close` from the client is answered with
/// `Connection: close` and the server closes after the response.
pub fn connection_close_is_honoured<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert_eq!(c.until_closed(), hello_bytes("Connection: close\r\n"));
}

/// RES-14, PRS-25: an HTTP/1.0 request without keep-alive gets `Connection: close`
/// and a body delimited by the close (Node renders no `Content-Length` when it will
/// not use chunked coding for the peer).
pub fn http_1_0_closes_after_the_response<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"GET /hello HTTP/1.0\r\n\r\n");
    assert_eq!(
        c.until_closed(),
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: <date>\r\nConnection: close\r\n\r\nHello, World!"
    );
}

/// SRV-18: `keepAliveTimeout = 0` disables the `Keep-Alive` field (and the idle
/// timer); the connection stays persistent.
pub fn keep_alive_timeout_zero_sends_no_keep_alive_field<A: Adapter>() {
    let spec = ServerSpec::new().options(|o| o.keep_alive_timeout = std::time::Duration::ZERO);
    let (_server, mut c) = start_with::<A>(spec);
    c.send(b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.response(false), hello_bytes("Connection: keep-alive\r\n"));
    c.send(b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.response(false), hello_bytes("Connection: keep-alive\r\n"));
}

/// RES-14, RES-18: an HTTP/1.0 request asking for keep-alive still gets
/// `Connection: close` when the body's length is only known at `end` (Node v20
/// renders no `Content-Length` for a 1.0 peer and closes).
pub fn http_1_0_keep_alive_with_an_end_body_still_closes<A: Adapter>() {
    let (_server, mut c) = start::<A>();
    c.send(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /hello HTTP/1.0\r\n\r\n");
    assert_eq!(
        c.until_closed(),
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: <date>\r\nConnection: close\r\n\r\nHello, World!"
    );
}

/// SRV-12, PRS-21: the server's `maxHeaderSize` option bounds the head: over it,
/// Node's `431`; under it, an ordinary answer.
pub fn the_max_header_size_option_bounds_the_head<A: Adapter>() {
    let spec = || ServerSpec::new().options(|o| o.max_header_size = 100);
    let (_server, mut c) = start_with::<A>(spec());
    c.send(
        format!(
            "GET /hello HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
            "a".repeat(200)
        )
        .as_bytes(),
    );
    assert_eq!(
        c.until_closed(),
        "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n"
    );
    let (_server, mut c) = start_with::<A>(spec());
    c.send(
        format!(
            "GET /hello HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
            "a".repeat(50)
        )
        .as_bytes(),
    );
    assert_eq!(c.response(false), hello_bytes(KEEP_ALIVE));
}

/// A fresh directory for a scenario's Unix socket.
fn socket_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "courier-suite-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// SRV-1 (`server.listen(path)`): the server answers on a Unix socket exactly as on
/// TCP; `close()` removes the socket file.
pub fn listens_on_a_unix_socket<A: Adapter>() {
    let dir = socket_dir("listen");
    let path = dir.join("server.sock");
    let server = A::start_unix(ServerSpec::new(), &path);
    let mut c = Client::connect_unix(&path);
    c.send(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(c.response(false), hello_bytes(KEEP_ALIVE));
    drop(c);
    server.close();
    assert!(!path.exists(), "close() removes the socket file");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SRV-8 on a Unix socket: the upgraded socket is handed over with the head bytes.
pub fn a_unix_socket_upgrade_hands_over_the_socket<A: Adapter>() {
    let dir = socket_dir("upgrade");
    let path = dir.join("upgrade.sock");
    let server = A::start_unix(ServerSpec::new().listeners(all_listeners()), &path);
    let mut c = Client::connect_unix(&path);
    c.send(b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nunix");
    let want = format!("{}unix", String::from_utf8_lossy(UPGRADE_101));
    assert_eq!(c.exactly(want.len()), want);
    c.send(b"ping");
    assert_eq!(c.exactly(4), "ping");
    drop(c);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
