//! The client scenarios: each adapter's `request()` against raw `std::net` servers
//! that check the exact bytes Node's client sends and answer with exact bytes.
//!
//! Options, Agents and events are `courier-rt`'s, the same for every adapter, so an
//! adapter only carries out an [`Exchange`] ([`ClientAdapter::exchange`]) and reports
//! the [`Outcome`].

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use courier_rt::client::{
    Agent, AgentChoice, AgentOptions, ClientOptions, RequestEvent, RequestOptions,
};

use crate::wait_until;
use crate::wire::SAFETY_TIMEOUT;

/// One request to carry out.
#[derive(Debug, Default)]
pub struct Exchange {
    /// What to pass to the adapter's `request()`.
    pub options: ClientOptions,
    /// `req.write(chunk)` calls, in order, before `end`.
    pub writes: Vec<Bytes>,
    /// `req.addTrailers(…)` before `end`, when not empty.
    pub trailers: Vec<(&'static str, &'static str)>,
    /// `req.end(chunk)`.
    pub end: Option<Bytes>,
    /// Flush the head, wait for the `'continue'` event, then write and end.
    pub wait_for_continue: bool,
    /// On a `'timeout'` event, `req.destroy()` (Node's documented pattern).
    pub destroy_on_timeout: bool,
    /// On the `'finish'` event (the whole request handed to the socket),
    /// `req.abort()`.
    pub abort_after_finish: bool,
    /// On the `'finish'` event, `req.destroy()`.
    pub destroy_after_finish: bool,
    /// `req.abort()` at once, before anything else (no writes, no `end`); then the
    /// response is awaited (an error) and the events drained.
    pub abort_at_once: bool,
    /// Wait for the `'socket'` event, then `req.abort()`; then the response is
    /// awaited (an error) and the events drained.
    pub abort_after_socket: bool,
    /// Read the first body chunk, then `req.abort()`, then read on (the error, if
    /// any, in [`Outcome::error`]).
    pub abort_during_body: bool,
    /// Wait this long (the runtime's sleep) after the response head before reading
    /// the body.
    pub pause_before_body: Option<Duration>,
    /// Take the socket with `upgrade()` instead of `response()`; write these bytes on
    /// it, then read `.1` bytes back.
    pub upgrade: Option<(Bytes, usize)>,
    /// `req.setTimeout(ms)` right after `request()`.
    pub set_timeout: Option<Duration>,
    /// `req.setTimeout(ms)` on the `'finish'` event (the socket assigned and the
    /// request sent), before [`Exchange::destroy_on_timeout`] waits.
    pub set_timeout_after_finish: Option<Duration>,
    /// `req.setNoDelay(true)` and `req.setSocketKeepAlive(true, 1000)` right after
    /// `request()` (applied once the socket is there).
    pub socket_options: bool,
    /// `req.setHeader(name, value)` right after `request()`, in order (each result in
    /// [`Outcome::header_results`]).
    pub set_headers: Vec<(&'static str, &'static str)>,
    /// `req.appendHeader(name, value)` after `set_headers`, in order (each result in
    /// [`Outcome::header_results`]).
    pub append_headers: Vec<(&'static str, &'static str)>,
    /// `req.setHeader(name, value)` after `end` (each result in
    /// [`Outcome::header_results`], after the others).
    pub set_headers_after_end: Vec<(&'static str, &'static str)>,
    /// `req.flushHeaders()` before the writes ([`Outcome::headers_sent`] is
    /// `req.headersSent` right after it).
    pub flush_headers: bool,
    /// Wait this long (the runtime's sleep) before the writes.
    pub pause_before_writes: Option<Duration>,
    /// Before the writes: `req.write(piece)` without waiting (Node's return value)
    /// until it returns `false` (at most [`FILL_CAP`] bytes), the bytes queued counted in
    /// [`Outcome::queued`]; then wait for `'drain'` ([`Outcome::drain_waited`]).
    pub fill: Option<Bytes>,
}

/// The most [`Exchange::fill`] writes before it gives up waiting for `false`.
pub const FILL_CAP: usize = 64 * 1024 * 1024;

/// What happened.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The error code (`ECONNRESET`, `ECONNREFUSED`, `HPE_*`, `ERR_*`), if the request
    /// failed.
    pub error: Option<String>,
    /// The error's message.
    pub message: String,
    /// `res.statusCode` (0 without a response).
    pub status: u16,
    /// `res.statusMessage`.
    pub status_message: String,
    /// `res.headers` as `(name, value)` pairs.
    pub headers: Vec<(String, String)>,
    /// `res.rawHeaders`.
    pub raw_headers: Vec<String>,
    /// `res.httpVersion`.
    pub http_version: String,
    /// `res.aborted`.
    pub aborted: bool,
    /// `req.method` and `req.path` right after `request()`.
    pub method_and_path: (String, String),
    /// `req.getHeaderNames()` and `req.getRawHeaderNames()` after
    /// [`Exchange::set_headers`] and [`Exchange::append_headers`].
    pub header_names: (Vec<String>, Vec<String>),
    /// The body, read to its end (for an upgrade: the `.1` bytes read back, the
    /// `head` bytes first).
    pub body: Bytes,
    /// `res.trailers` as pairs.
    pub trailers: Vec<(String, String)>,
    /// `res.complete`.
    pub complete: bool,
    /// `req.reusedSocket`.
    pub reused_socket: bool,
    /// The request's events, named as Node names them ([`event_name`]).
    pub events: Vec<String>,
    /// For each of [`Exchange::set_headers`] then [`Exchange::append_headers`]: `ok`
    /// or the error's code.
    pub header_results: Vec<String>,
    /// `req.headersSent` right after [`Exchange::flush_headers`].
    pub headers_sent: bool,
    /// The bytes [`Exchange::fill`] queued until `write` returned `false`.
    pub queued: usize,
    /// How long the wait for `'drain'` after [`Exchange::fill`] took.
    pub drain_waited: Duration,
}

/// The calls an [`Exchange`] makes on its request right after `request()` (written
/// once: every adapter's request is, or wraps, rt's `ClientRequest`):
/// `set_timeout`, `set_headers`, `append_headers`.
pub fn prepare(req: &mut courier_rt::client::ClientRequest, x: &Exchange, out: &mut Outcome) {
    out.method_and_path = (req.method().to_owned(), req.path().to_owned());
    if let Some(t) = x.set_timeout {
        req.set_timeout(Some(t));
    }
    if x.socket_options {
        req.set_no_delay(true);
        req.set_socket_keep_alive(true, Duration::from_secs(1));
    }
    for (name, value) in &x.set_headers {
        out.header_results
            .push(result_code(req.set_header(name, *value)));
    }
    for (name, value) in &x.append_headers {
        out.header_results
            .push(result_code(req.append_header(name, *value)));
    }
    out.header_names = (req.get_header_names(), req.get_raw_header_names());
    if x.flush_headers {
        req.flush_headers().unwrap();
        out.headers_sent = req.headers_sent();
    }
}

/// The calls an [`Exchange`] makes once its writes are done: `add_trailers` (when it
/// has trailers), `end`, then its `set_headers_after_end`.
pub fn end_request(req: &mut courier_rt::client::ClientRequest, x: &Exchange, out: &mut Outcome) {
    if !x.trailers.is_empty() {
        req.add_trailers(&x.trailers).unwrap();
    }
    req.end(x.end.clone()).unwrap();
    after_end(req, &x.set_headers_after_end, out);
}

/// What an [`Outcome`] reports once the response body was read: the bytes read
/// before an abort (`first`) and the rest (or the error that ended the read), then
/// `complete`, `aborted` and the trailers.
pub fn body_read<E: core::fmt::Display>(
    res: &courier_rt::client::ClientResponse,
    first: Bytes,
    rest: Result<Bytes, E>,
    out: &mut Outcome,
) {
    match rest {
        Ok(body) => out.body = [first, body].concat().into(),
        Err(e) => {
            out.body = first;
            out.error = Some(e.to_string());
        }
    }
    out.complete = res.complete();
    out.aborted = res.aborted();
    if let Some(t) = res.trailers() {
        out.trailers = crate::app::pairs(&t);
    }
}

/// The calls an [`Exchange`] makes on its request right after `end`: its
/// `set_headers_after_end`, given here.
pub fn after_end(
    req: &mut courier_rt::client::ClientRequest,
    set_headers: &[(&'static str, &'static str)],
    out: &mut Outcome,
) {
    for (name, value) in set_headers {
        out.header_results
            .push(result_code(req.set_header(name, *value)));
    }
}

/// The views of the response head an [`Outcome`] reports.
pub fn response_views(res: &courier_rt::client::ClientResponse, out: &mut Outcome) {
    out.status = res.status_code();
    out.status_message = res.status_message().into_owned();
    let h = res.headers();
    out.headers = h
        .iter()
        .map(|(n, _)| (n.to_owned(), h.get_str(n).unwrap_or_default()))
        .collect();
    out.raw_headers = res
        .raw_headers()
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    out.http_version = res.http_version();
}

/// [`Exchange::fill`]'s writes without waiting, until `write` says `false`; returns
/// the bytes queued (the caller then waits for `'drain'`).
pub fn fill_to_high_water(req: &mut courier_rt::client::ClientRequest, piece: &Bytes) -> usize {
    let mut queued = 0;
    while queued < FILL_CAP {
        let below = req.write_now(piece.clone()).expect("write while filling");
        queued += piece.len();
        if !below {
            break;
        }
    }
    queued
}

/// `ok`, or the code of `r`'s error.
pub fn result_code(r: Result<(), courier_proto::outgoing::OutgoingError>) -> String {
    r.map_or_else(|e| e.code().to_owned(), |()| "ok".to_owned())
}

impl Outcome {
    /// The value of response header `name`, or `""`.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// Node's name of a request event (`information 103` for an interim response).
pub fn event_name(e: &RequestEvent) -> String {
    match e {
        RequestEvent::Socket => "socket".into(),
        RequestEvent::Continue => "continue".into(),
        RequestEvent::Information { status, .. } => format!("information {status}"),
        RequestEvent::Finish => "finish".into(),
        RequestEvent::Timeout => "timeout".into(),
        RequestEvent::Abort => "abort".into(),
        RequestEvent::Close => "close".into(),
        other => format!("{other:?}"),
    }
}

/// A runtime adapter's client under test.
pub trait ClientAdapter {
    /// Carries out `x` with the adapter's `request()` and reports what happened. The
    /// adapter's runtime must outlive the call (Agents keep pooled sockets on it).
    fn exchange(x: Exchange) -> Outcome;

    /// Carries out every exchange of `xs` at once (each `request()` made before any
    /// response is awaited; for the blocking adapter, each on a thread of its own)
    /// and reports the outcomes in the order of `xs`.
    fn exchange_all(xs: Vec<Exchange>) -> Vec<Outcome>;

    /// The adapter's own connector (what `request()` uses without a hook), for an
    /// Agent hook that wraps it (AGT-10 `createConnection`).
    fn connector() -> std::sync::Arc<dyn courier_rt::client::Connector>;
}

/// Generates every client scenario of this module and of [`crate::peers`] (against
/// Node's server) as a `#[test]` for `$adapter`.
#[macro_export]
macro_rules! client_suite {
    ($adapter:ty) => {
        $crate::client_suite!(@tests $adapter; client;
            a_get_sends_nodes_exact_head,
            invalid_urls_and_options_fail_with_nodes_codes,
            a_keep_alive_agent_reuses_the_socket,
            a_body_without_length_is_chunked_with_trailers,
            a_content_length_body_is_sent_as_is,
            response_bodies_by_length_chunked_and_close,
            response_trailers_and_interim_responses,
            expect_100_continue_waits_for_the_server,
            an_upgrade_hands_over_the_socket,
            a_connect_tunnel,
            a_refused_connection_is_econnrefused,
            a_hang_up_before_the_response_is_econnreset,
            a_malformed_response_is_a_parse_error,
            a_timeout_is_only_an_event_until_destroyed,
            max_sockets_queues_requests_on_one_socket,
            a_free_socket_closed_by_the_server_is_not_reused,
            a_hang_up_on_a_reused_socket_says_reused,
            abort_before_the_response,
            join_duplicate_headers_and_max_header_size_apply_to_the_response,
            head_and_304_responses_have_no_body,
            a_large_response_body_arrives_whole,
            destroy_before_the_response,
            a_truncated_response_body_is_aborted,
            abort_while_queued_leaves_the_agents_queue,
            a_socket_path_request_goes_over_a_unix_socket,
            an_unread_response_body_stops_the_client_reading,
            request_option_forms,
            append_header_trailers_and_max_headers_count,
            flush_headers_sends_the_head_at_once,
            request_writes_report_back_pressure,
            a_body_held_for_100_continue_counts_for_back_pressure,
            a_request_set_timeout_fires_the_timeout_event,
            a_url_with_credentials_and_the_response_views,
            abort_during_the_response_body,
            abort_while_connecting,
            a_poisoned_free_socket_leaves_the_pool,
            end_with_data_gives_content_length,
            set_timeout_after_the_socket_is_assigned,
        );
        $crate::client_suite!(@tests $adapter; agent;
            lifo_and_fifo_scheduling_and_max_free_sockets,
            a_free_socket_expires_after_the_timeout_or_the_servers_hint,
            local_address_binds_the_socket,
            family_selects_the_address_and_ipv6_messages,
            the_global_agent_is_the_default,
            agent_hooks_and_destroy,
            a_connector_hook_opens_the_connections,
            sequential_requests_always_reuse_the_released_socket,
            many_requests_at_once_through_a_capped_agent,
        );
        $crate::client_suite!(@tests $adapter; peers;
            node_server_keep_alive_agent_reuses_one_connection,
            node_server_queued_requests_share_one_socket,
            node_server_chunked_upload,
            node_server_expect_100_continue,
            node_server_early_hints_are_information,
            node_server_trailers_both_ways,
            node_server_upgrade,
            node_server_connect_tunnel,
        );
    };
    (@tests $adapter:ty; $module:ident; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                $crate::$module::$name::<$adapter>();
            }
        )*
    };
}

/// A raw server: for each accepted connection, the `scripts` entry of that index runs
/// (reading requests and writing exact answers); the thread returns every request
/// head and body it read.
pub(crate) struct RawServer {
    pub(crate) addr: SocketAddr,
    thread: JoinHandle<Vec<String>>,
}

/// One step of a raw connection script.
#[derive(Clone)]
pub(crate) enum Step {
    /// Read one whole request (head and body) and record it.
    Read,
    /// Read just a head and record it.
    ReadHead,
    /// Read exactly this many bytes and record them.
    ReadN(usize),
    /// Write these bytes.
    Write(&'static [u8]),
    /// Write these bytes, built at run time.
    WriteOwned(Vec<u8>),
    /// Wait this long.
    Pause(Duration),
    /// Write a response head with `Content-Length: n` and `n` bytes of `r`; record
    /// `stalled` if a write made no progress for 200 ms (the client stopped reading),
    /// then write the rest.
    WriteStalling(usize),
    /// Record the peer's IP address.
    Peer,
    /// Record how many bytes already arrived beyond what was read.
    Buffered,
    /// Read to the end of a chunked body (`0\r\n\r\n`) and record how many bytes
    /// that took, those already buffered included.
    ReadChunkedTotal,
    /// Wait for the client to close: record `eof`, or the bytes it sent instead.
    Eof,
    /// Close the connection.
    Close,
}

impl RawServer {
    pub(crate) fn start(scripts: Vec<Vec<Step>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let thread = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for script in scripts {
                let (mut s, peer) = listener.accept().unwrap();
                s.set_read_timeout(Some(SAFETY_TIMEOUT)).unwrap();
                let mut buf = Vec::new();
                for step in script {
                    match step {
                        Step::Peer => seen.push(peer.ip().to_string()),
                        Step::Buffered => seen.push(buf.len().to_string()),
                        Step::ReadChunkedTotal => seen.push(read_chunked_total(&mut s, &mut buf)),
                        Step::Eof => {
                            let n = fill(&mut s, &mut buf);
                            seen.push(if n == 0 {
                                "eof".to_owned()
                            } else {
                                String::from_utf8_lossy(&buf).into_owned()
                            });
                        }
                        Step::Read => seen.push(read_message(&mut s, &mut buf, false)),
                        Step::ReadHead => seen.push(read_message(&mut s, &mut buf, true)),
                        Step::ReadN(n) => seen.push(read_n(&mut s, &mut buf, n)),
                        Step::Write(b) => s.write_all(b).unwrap(),
                        Step::WriteOwned(b) => s.write_all(&b).unwrap(),
                        Step::Pause(d) => std::thread::sleep(d),
                        Step::WriteStalling(n) => seen.push(write_stalling(&mut s, n)),
                        Step::Close => break,
                    }
                }
            }
            seen
        });
        Self { addr, thread }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn seen(self) -> Vec<String> {
        self.thread.join().expect("the raw server")
    }
}

fn write_stalling(s: &mut TcpStream, n: usize) -> String {
    s.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n").as_bytes())
        .unwrap();
    let chunk = vec![b'r'; 64 * 1024];
    let mut sent = 0;
    let mut stalled = false;
    s.set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    while sent < n {
        match s.write(&chunk[..chunk.len().min(n - sent)]) {
            Ok(k) => sent += k,
            Err(_) if !stalled => {
                stalled = true;
                s.set_write_timeout(None).unwrap();
            }
            Err(e) => panic!("write the body: {e}"),
        }
    }
    if stalled { "stalled" } else { "never stalled" }.to_owned()
}

fn read_chunked_total(s: &mut TcpStream, buf: &mut Vec<u8>) -> String {
    let mut total = buf.len();
    let mut tail = std::mem::take(buf);
    let mut chunk = vec![0u8; 256 * 1024];
    while !tail.ends_with(b"\r\n0\r\n\r\n") && tail != b"0\r\n\r\n" {
        let n = s.read(&mut chunk).unwrap_or(0);
        assert!(n > 0, "EOF before the chunked body's end");
        total += n;
        tail.extend_from_slice(&chunk[..n]);
        let keep = tail.len().saturating_sub(16);
        tail.drain(..keep);
    }
    total.to_string()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn fill(s: &mut TcpStream, buf: &mut Vec<u8>) -> usize {
    let mut c = [0u8; 16 * 1024];
    let n = s.read(&mut c).unwrap_or(0);
    buf.extend_from_slice(&c[..n]);
    n
}

fn read_n(s: &mut TcpStream, buf: &mut Vec<u8>, n: usize) -> String {
    while buf.len() < n {
        assert!(fill(s, buf) > 0, "EOF in a raw read");
    }
    String::from_utf8_lossy(&buf.drain(..n).collect::<Vec<_>>()).into_owned()
}

pub(crate) fn read_message(s: &mut TcpStream, buf: &mut Vec<u8>, head_only: bool) -> String {
    loop {
        if let Some(h) = find(buf, b"\r\n\r\n") {
            let end = h + 4;
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let total = if head_only {
                Some(end)
            } else if let Some(l) = head.lines().find(|l| l.starts_with("content-length:")) {
                let n: usize = l["content-length:".len()..].trim().parse().unwrap();
                (buf.len() >= end + n).then_some(end + n)
            } else if head.contains("transfer-encoding: chunked") {
                find(&buf[end..], b"\r\n0\r\n")
                    .and_then(|i| {
                        find(&buf[end + i + 5..], b"\r\n\r\n").map(|j| end + i + 5 + j + 4)
                    })
                    .or_else(|| buf[end..].starts_with(b"0\r\n\r\n").then_some(end + 5))
            } else {
                Some(end)
            };
            if let Some(total) = total {
                return String::from_utf8_lossy(&buf.drain(..total).collect::<Vec<_>>())
                    .into_owned();
            }
        }
        assert!(fill(s, buf) > 0, "EOF before a whole request");
    }
}

pub(crate) fn one_off(url: String) -> ClientOptions {
    ClientOptions::url(url).agent(AgentChoice::OneOff)
}

pub(crate) fn keep_alive_agent() -> Agent {
    Agent::new(AgentOptions {
        keep_alive: true,
        ..AgentOptions::default()
    })
    .unwrap()
}

pub(crate) const OK_HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

/// CLI-8, CLI-9, CLI-11: Node's request line, `Host` and `Connection: close` for a
/// request without a keep-alive agent; events `socket`, `finish`, `close` (CLI-19);
/// CLI-2: with `agent: false` the client closes the socket after the response.
pub fn a_get_sends_nodes_exact_head<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![Step::Read, Step::Write(OK_HELLO), Step::Eof]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/a/b?c=d")),
        ..Exchange::default()
    });
    assert_eq!(out.error, None);
    assert_eq!((out.status, out.body.as_ref()), (200, &b"hello"[..]));
    assert!(out.complete);
    assert_eq!(out.events, ["socket", "finish", "close"]);
    let port = server.addr.port();
    assert_eq!(
        server.seen(),
        [
            format!("GET /a/b?c=d HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"),
            "eof".to_owned()
        ]
    );
}

/// CLI-11, CLI-24, AGT-7: a keep-alive agent sends `Connection: keep-alive` and
/// carries the second request on the same socket (`reusedSocket`).
pub fn a_keep_alive_agent_reuses_the_socket<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Write(OK_HELLO),
        Step::Read,
        Step::Write(OK_HELLO),
    ]]);
    let agent = keep_alive_agent();
    let url = server.url("/");
    let x = || Exchange {
        options: ClientOptions::url(url.as_str()).agent(AgentChoice::Agent(agent.clone())),
        ..Exchange::default()
    };
    let first = A::exchange(x());
    // AGT-3, AGT-4, AGT-7: the socket waits in the free list under the agent's name.
    let name = Agent::get_name(&ClientOptions::from(RequestOptions {
        hostname: Some("127.0.0.1".into()),
        port: Some(server.addr.port()),
        ..RequestOptions::default()
    }));
    assert_eq!(name, format!("127.0.0.1:{}:", server.addr.port()));
    wait_until("the socket to be free", || {
        agent.free_sockets() == vec![(name.clone(), 1)]
    });
    assert!(agent.sockets().is_empty());
    assert_eq!(agent.total_socket_count(), 1);
    let second = A::exchange(x());
    assert_eq!((first.status, first.reused_socket), (200, false));
    assert_eq!(
        (second.status, second.reused_socket),
        (200, true),
        "{second:?}"
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "two requests on one connection");
    assert!(
        seen[1].ends_with("\r\nConnection: keep-alive\r\n\r\n"),
        "{seen:?}"
    );
    agent.destroy();
}

/// CLI-12, RES-20: writes without a length go out chunked; trailers follow.
pub fn a_body_without_length_is_chunked_with_trailers<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![Step::Read, Step::Write(OK_HELLO)]]);
    let options = one_off(server.url("/up"))
        .method("PUT")
        .header("Trailer", "X-Sum");
    let out = A::exchange(Exchange {
        options,
        writes: vec![Bytes::from_static(b"abc"), Bytes::from_static(b"de")],
        trailers: vec![("X-Sum", "42")],
        ..Exchange::default()
    });
    assert_eq!(out.status, 200);
    let seen = server.seen();
    assert!(
        seen[0].ends_with(
            "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 42\r\n\r\n"
        ),
        "{seen:?}"
    );
}

/// CLI-12: with `Content-Length` the body goes out as is.
pub fn a_content_length_body_is_sent_as_is<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![Step::Read, Step::Write(OK_HELLO)]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/"))
            .method("POST")
            .header("Content-Length", 5),
        end: Some(Bytes::from_static(b"hello")),
        ..Exchange::default()
    });
    assert_eq!(out.status, 200);
    let port = server.addr.port();
    assert_eq!(
        server.seen(),
        [format!(
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\nhello"
        )]
    );
}

/// MSG-9, MSG-11: bodies framed by length, by chunks and by the connection's close
/// all arrive whole; `complete` is true for each.
pub fn response_bodies_by_length_chunked_and_close<A: ClientAdapter>() {
    for answer in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\nhello world",
    ] {
        let server = RawServer::start(vec![vec![Step::Read, Step::Write(answer), Step::Close]]);
        let out = A::exchange(Exchange {
            options: one_off(server.url("/")),
            ..Exchange::default()
        });
        assert_eq!(out.error, None, "{answer:?}");
        assert_eq!(out.body.as_ref(), b"hello world", "{answer:?}");
        assert!(out.complete, "{answer:?}");
        server.seen();
    }
}

/// MSG-8, CLI-15: response trailers; `102` and `103` arrive as 'information' events
/// before the response.
pub fn response_trailers_and_interim_responses<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Write(b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"),
        Step::Write(b"HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n"),
    ]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/")),
        ..Exchange::default()
    });
    assert_eq!(out.body.as_ref(), b"abc");
    assert_eq!(out.trailers, [("x-sum".to_owned(), "42".to_owned())]);
    assert_eq!(
        out.events,
        [
            "socket",
            "finish",
            "information 102",
            "information 103",
            "close"
        ]
    );
    server.seen();
}

/// CLI-14, CLI-15: with `Expect: 100-continue` the body waits for the server's
/// `100 Continue` ('continue' event).
pub fn expect_100_continue_waits_for_the_server<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::ReadHead,
        Step::Write(b"HTTP/1.1 100 Continue\r\n\r\n"),
        Step::ReadN(4),
        Step::Write(OK_HELLO),
    ]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/"))
            .method("PUT")
            .header("Expect", "100-continue")
            .header("Content-Length", 4),
        end: Some(Bytes::from_static(b"body")),
        wait_for_continue: true,
        ..Exchange::default()
    });
    assert_eq!(out.status, 200);
    assert!(
        out.events
            .starts_with(&["socket".to_owned(), "continue".to_owned()]),
        "{:?}",
        out.events
    );
    let seen = server.seen();
    assert!(seen[0].contains("\r\nExpect: 100-continue\r\n"));
    assert_eq!(seen[1], "body");
}

/// CLI-16: a `101` hands the socket over with the bytes that followed the head.
pub fn an_upgrade_hands_over_the_socket<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::ReadHead,
        Step::Write(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nfirst"),
        Step::ReadN(4),
        Step::Write(b"pong"),
    ]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/ws"))
            .header("Connection", "Upgrade")
            .header("Upgrade", "echo"),
        upgrade: Some((Bytes::from_static(b"ping"), 9)),
        ..Exchange::default()
    });
    assert_eq!(out.status, 101);
    assert_eq!(out.body.as_ref(), b"firstpong");
    assert_eq!(server.seen()[1], "ping");
}

/// CLI-16: any answer to `CONNECT` hands the socket over.
pub fn a_connect_tunnel<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::ReadHead,
        Step::Write(b"HTTP/1.1 200 Connection Established\r\n\r\n"),
        Step::ReadN(5),
        Step::Write(b"olleh"),
    ]]);
    let mut options = one_off(server.url("/")).method("CONNECT");
    options.request.path = Some("example.com:443".into());
    let out = A::exchange(Exchange {
        options,
        upgrade: Some((Bytes::from_static(b"hello"), 5)),
        ..Exchange::default()
    });
    assert_eq!((out.status, out.body.as_ref()), (200, &b"olleh"[..]));
    let seen = server.seen();
    assert!(
        seen[0].starts_with("CONNECT example.com:443 HTTP/1.1\r\n"),
        "{seen:?}"
    );
}

/// CLI-20: a refused connection fails with `ECONNREFUSED`, then 'close'.
pub fn a_refused_connection_is_econnrefused<A: ClientAdapter>() {
    // Port 1 (tcpmux) has no listener on any machine here; a port freed by this test
    // could be taken at once by a concurrent test's server.
    let port = 1;
    let out = A::exchange(Exchange {
        options: one_off(format!("http://127.0.0.1:{port}/")),
        ..Exchange::default()
    });
    assert_eq!(out.error.as_deref(), Some("ECONNREFUSED"));
    assert_eq!(
        out.message,
        format!("connect ECONNREFUSED 127.0.0.1:{port}")
    );
    assert_eq!(out.events.last().map(String::as_str), Some("close"));
}

/// CLI-20: the server closing before any response is `ECONNRESET` `socket hang up`.
pub fn a_hang_up_before_the_response_is_econnreset<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![Step::Read, Step::Close]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/")),
        ..Exchange::default()
    });
    assert_eq!(out.error.as_deref(), Some("ECONNRESET"));
    assert_eq!(out.message, "socket hang up");
    server.seen();
}

/// CLI-20, PRS: a malformed response fails with Node's parse error code.
pub fn a_malformed_response_is_a_parse_error<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello"),
    ]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/")),
        ..Exchange::default()
    });
    assert_eq!(out.error.as_deref(), Some("HPE_UNEXPECTED_CONTENT_LENGTH"));
    assert!(out.message.starts_with("Parse Error: "), "{out:?}");
    server.seen();
}

/// CLI-23: a timeout is only an event; the application destroys the request, which
/// then fails with `socket hang up`.
pub fn a_timeout_is_only_an_event_until_destroyed<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Pause(Duration::from_millis(600)),
        Step::WriteOwned(OK_HELLO.to_vec()),
    ]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/")).timeout(Duration::from_millis(100)),
        destroy_on_timeout: true,
        ..Exchange::default()
    });
    assert!(
        out.events.contains(&"timeout".to_owned()),
        "{:?}",
        out.events
    );
    assert_eq!(out.error.as_deref(), Some("ECONNRESET"));
    assert_eq!(out.message, "socket hang up");
    server.seen();
}

pub(crate) fn with_agent(url: &str, agent: &Agent) -> ClientOptions {
    ClientOptions::url(url).agent(AgentChoice::Agent(agent.clone()))
}

/// AGT-5, AGT-7, CLI-24: with `maxSockets: 1` requests made at once wait in the
/// agent's queue and go out one after another on the one socket; a socket handed over
/// from the queue is not `reusedSocket`.
/// AGT-4: meanwhile the agent's bookkeeping shows one socket in use and two requests
/// waiting under the name.
pub fn max_sockets_queues_requests_on_one_socket<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Pause(Duration::from_millis(200)),
        Step::Write(OK_HELLO),
        Step::Read,
        Step::Write(OK_HELLO),
        Step::Read,
        Step::Write(OK_HELLO),
    ]]);
    let agent = Agent::new(AgentOptions {
        keep_alive: true,
        max_sockets: Some(1),
        ..AgentOptions::default()
    })
    .unwrap();
    let url = server.url("/");
    let name = format!("127.0.0.1:{}:", server.addr.port());
    let (outs, queued) = std::thread::scope(|scope| {
        // While the first answer waits, the other two requests are queued.
        let watch = scope.spawn(|| {
            let start = std::time::Instant::now();
            loop {
                let state = (agent.sockets(), agent.requests());
                if state.1.iter().any(|r| r.1 == 2) || start.elapsed() > SAFETY_TIMEOUT {
                    return state;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        let outs = A::exchange_all(
            (0..3)
                .map(|_| Exchange {
                    options: with_agent(&url, &agent),
                    ..Exchange::default()
                })
                .collect(),
        );
        (outs, watch.join().unwrap())
    });
    assert_eq!(queued, (vec![(name.clone(), 1)], vec![(name, 2)]));
    for out in &outs {
        assert_eq!((out.error.as_deref(), out.status), (None, 200), "{out:?}");
        assert_eq!(out.body.as_ref(), b"hello");
        assert!(!out.reused_socket, "AGT-7: {out:?}");
    }
    assert_eq!(
        server.seen().len(),
        3,
        "three requests on the one connection"
    );
    agent.destroy();
}

/// AGT-9: a free socket the server closes leaves the pool; the next request gets a
/// new connection.
pub fn a_free_socket_closed_by_the_server_is_not_reused<A: ClientAdapter>() {
    let server = RawServer::start(vec![
        vec![Step::Read, Step::Write(OK_HELLO), Step::Close],
        vec![Step::Read, Step::Write(OK_HELLO)],
    ]);
    let agent = keep_alive_agent();
    let url = server.url("/");
    let first = A::exchange(Exchange {
        options: with_agent(&url, &agent),
        ..Exchange::default()
    });
    assert_eq!(first.status, 200, "{first:?}");
    wait_until("the closed socket to leave the pool", || {
        agent.total_socket_count() == 0
    });
    let second = A::exchange(Exchange {
        options: with_agent(&url, &agent),
        ..Exchange::default()
    });
    assert_eq!(
        (second.error.as_deref(), second.status),
        (None, 200),
        "{second:?}"
    );
    assert!(!second.reused_socket);
    assert_eq!(server.seen().len(), 2);
    agent.destroy();
}

/// CLI-24, CLI-20: the server drops a request sent on a reused socket: `ECONNRESET`
/// `socket hang up` with `reusedSocket` true (the condition for a safe retry).
pub fn a_hang_up_on_a_reused_socket_says_reused<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Write(OK_HELLO),
        Step::Read,
        Step::Close,
    ]]);
    let agent = keep_alive_agent();
    let url = server.url("/");
    let first = A::exchange(Exchange {
        options: with_agent(&url, &agent),
        ..Exchange::default()
    });
    assert_eq!(first.status, 200, "{first:?}");
    let second = A::exchange(Exchange {
        options: with_agent(&url, &agent),
        ..Exchange::default()
    });
    assert_eq!(
        (second.error.as_deref(), second.message.as_str()),
        (Some("ECONNRESET"), "socket hang up"),
        "{second:?}"
    );
    assert!(second.reused_socket);
    server.seen();
    agent.destroy();
}

/// CLI-21: `abort()` after the request went out, before any response (Node v20
/// observed: `socket`, `finish`, `abort`, `'error'` `ECONNRESET` `socket hang up`,
/// `close`).
pub fn abort_before_the_response<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Pause(Duration::from_millis(300)),
    ]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/")),
        abort_after_finish: true,
        ..Exchange::default()
    });
    assert_eq!(
        (out.error.as_deref(), out.message.as_str()),
        (Some("ECONNRESET"), "socket hang up"),
        "{out:?}"
    );
    assert_eq!(out.events, ["socket", "finish", "abort", "close"]);
    server.seen();
}

/// CLI-27, MSG-4: the request's `joinDuplicateHeaders` and `maxHeaderSize` apply to
/// its response.
pub fn join_duplicate_headers_and_max_header_size_apply_to_the_response<A: ClientAdapter>() {
    let server = RawServer::start(vec![
        vec![
            Step::Read,
            Step::Write(b"HTTP/1.1 200 OK\r\nLocation: /a\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"),
        ],
        vec![
            Step::Read,
            Step::Write(b"HTTP/1.1 200 OK\r\nLocation: /a\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"),
        ],
        vec![
            Step::Read,
            Step::Write(b"HTTP/1.1 200 OK\r\nX-Big: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"),
        ],
    ]);
    let with = |r: RequestOptions| one_off(server.url("/")).with(r);
    let joined = A::exchange(Exchange {
        options: with(RequestOptions {
            join_duplicate_headers: Some(true),
            ..RequestOptions::default()
        }),
        ..Exchange::default()
    });
    assert_eq!(joined.header("location"), "/a, /b", "{joined:?}");
    let plain = A::exchange(Exchange {
        options: with(RequestOptions::default()),
        ..Exchange::default()
    });
    // MSG-4: without joining, a duplicate `Location` keeps the first value.
    assert_eq!(plain.header("location"), "/a", "{plain:?}");
    let small = A::exchange(Exchange {
        options: with(RequestOptions {
            max_header_size: Some(40),
            ..RequestOptions::default()
        }),
        ..Exchange::default()
    });
    assert_eq!(
        small.error.as_deref(),
        Some("HPE_HEADER_OVERFLOW"),
        "{small:?}"
    );
    server.seen();
}

/// MSG-9, CLI-17: a response to `HEAD` and a `304` have no body whatever their
/// `Content-Length` says, and are complete at once; the connection is kept for the
/// next request.
pub fn head_and_304_responses_have_no_body<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Write(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"),
        Step::Read,
        Step::Write(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"),
        Step::Read,
        Step::Write(OK_HELLO),
    ]]);
    let agent = keep_alive_agent();
    let url = server.url("/");
    let head = A::exchange(Exchange {
        options: with_agent(&url, &agent).method("HEAD"),
        ..Exchange::default()
    });
    assert_eq!(head.header("content-length"), "99");
    assert_eq!(
        (head.body.as_ref(), head.complete),
        (&b""[..], true),
        "{head:?}"
    );
    let cached = A::exchange(Exchange {
        options: with_agent(&url, &agent),
        ..Exchange::default()
    });
    assert_eq!(
        (cached.status, cached.status_message.as_str()),
        (304, "Not Modified")
    );
    assert_eq!((cached.body.as_ref(), cached.complete), (&b""[..], true));
    let last = A::exchange(Exchange {
        options: with_agent(&url, &agent),
        ..Exchange::default()
    });
    assert_eq!(last.body.as_ref(), b"hello");
    assert!(cached.reused_socket && last.reused_socket);
    assert_eq!(server.seen().len(), 3);
    agent.destroy();
}

/// MSG-11: a response body far above every buffer (4 MiB) arrives whole.
pub fn a_large_response_body_arrives_whole<A: ClientAdapter>() {
    const LEN: usize = 4 * 1024 * 1024;
    let mut answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {LEN}\r\n\r\n").into_bytes();
    answer.extend(std::iter::repeat_n(b'q', LEN));
    let server = RawServer::start(vec![vec![Step::Read, Step::WriteOwned(answer)]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/big")),
        ..Exchange::default()
    });
    assert_eq!(out.error, None);
    assert_eq!(out.body.len(), LEN);
    assert!(out.body.iter().all(|&b| b == b'q'));
    assert!(out.complete);
    server.seen();
}

/// CLI-21: `destroy()` after the request went out, before any response: `'error'`
/// `ECONNRESET` `socket hang up`, then `'close'`; no `'abort'`.
pub fn destroy_before_the_response<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Pause(Duration::from_millis(300)),
    ]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/")),
        destroy_after_finish: true,
        ..Exchange::default()
    });
    assert_eq!(
        (out.error.as_deref(), out.message.as_str()),
        (Some("ECONNRESET"), "socket hang up"),
        "{out:?}"
    );
    assert_eq!(out.events, ["socket", "finish", "close"]);
    server.seen();
}

/// CLI-20, MSG-10: a response body cut short by the server's close (EOF before its
/// `Content-Length`) ends with `aborted`; the response is not `complete`.
pub fn a_truncated_response_body_is_aborted<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal"),
        Step::Close,
    ]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/")),
        ..Exchange::default()
    });
    assert_eq!(out.status, 200);
    // The adapters report a body error by its message.
    assert_eq!(out.error.as_deref(), Some("aborted"), "{out:?}");
    assert!(!out.complete);
    server.seen();
}

/// CLI-21, AGT-5: `abort()` on a request waiting in the agent's queue: it leaves the
/// queue (the server never sees it); Node's order before a socket is `'close'`, then
/// `'abort'`.
pub fn abort_while_queued_leaves_the_agents_queue<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        // The first answer waits: the second request is still queued when aborted.
        Step::Pause(Duration::from_millis(200)),
        Step::Write(OK_HELLO),
        Step::Read,
        Step::Write(OK_HELLO),
    ]]);
    let agent = Agent::new(AgentOptions {
        keep_alive: true,
        max_sockets: Some(1),
        ..AgentOptions::default()
    })
    .unwrap();
    let x = |path: &str, abort_at_once: bool| Exchange {
        options: with_agent(&server.url(path), &agent),
        abort_at_once,
        ..Exchange::default()
    };
    let outs = A::exchange_all(vec![x("/a", false), x("/b", true), x("/c", false)]);
    assert_eq!(outs[1].events, ["close", "abort"], "{:?}", outs[1]);
    assert_eq!(outs[1].status, 0);
    assert_eq!((outs[0].status, outs[2].status), (200, 200), "{outs:?}");
    let seen = server.seen();
    assert!(
        seen[0].starts_with("GET /a ") && seen[1].starts_with("GET /c "),
        "{seen:?}"
    );
    agent.destroy();
}

/// CLI-5, AGT-3: `socketPath` connects to a Unix socket; `Host` still names the
/// host (`localhost`). (The suite, like the adapters, targets Unix.)
pub fn a_socket_path_request_goes_over_a_unix_socket<A: ClientAdapter>() {
    use std::os::unix::net::UnixListener;
    let dir = std::env::temp_dir().join(format!(
        "courier-suite-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("s.sock");
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(SAFETY_TIMEOUT)).unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while find(&buf, b"\r\n\r\n").is_none() {
            let n = s.read(&mut chunk).unwrap();
            assert!(n > 0, "EOF before a request head");
            buf.extend_from_slice(&chunk[..n]);
        }
        s.write_all(OK_HELLO).unwrap();
        String::from_utf8_lossy(&buf).into_owned()
    });
    let options = ClientOptions::from(RequestOptions {
        path: Some("/unix".into()),
        ..RequestOptions::default()
    })
    .socket_path(path.to_str().unwrap())
    .agent(AgentChoice::OneOff);
    let out = A::exchange(Exchange {
        options,
        ..Exchange::default()
    });
    assert_eq!(
        (out.error.as_deref(), out.body.as_ref()),
        (None, &b"hello"[..]),
        "{out:?}"
    );
    assert_eq!(
        server.join().unwrap(),
        "GET /unix HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    );
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_dir(&dir);
}

/// MSG-11, back-pressure: while the application does not read the response body
/// the client stops reading the socket, so the server's writes of a 64 MiB body
/// stall; once it reads, every byte arrives in order.
pub fn an_unread_response_body_stops_the_client_reading<A: ClientAdapter>() {
    const LEN: usize = 64 * 1024 * 1024;
    let server = RawServer::start(vec![vec![Step::Read, Step::WriteStalling(LEN)]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/")),
        pause_before_body: Some(Duration::from_millis(1500)),
        ..Exchange::default()
    });
    assert_eq!(out.error, None);
    assert_eq!(out.body.len(), LEN);
    assert!(out.complete);
    assert_eq!(server.seen()[1], "stalled");
}

/// CLI-1 … CLI-6: `request()` refuses bad URLs and options with Node's codes and
/// messages, before any socket (checked against Node v20).
pub fn invalid_urls_and_options_fail_with_nodes_codes<A: ClientAdapter>() {
    let refused = |options: ClientOptions| {
        let out = A::exchange(Exchange {
            options,
            ..Exchange::default()
        });
        assert!(out.events.is_empty(), "no socket: {:?}", out.events);
        (out.error.unwrap_or_default(), out.message)
    };
    assert_eq!(
        refused(ClientOptions::url("nope")),
        ("ERR_INVALID_URL".to_owned(), "Invalid URL".to_owned())
    );
    assert_eq!(
        refused(ClientOptions::url("http://exa mple.com/")).0,
        "ERR_INVALID_URL"
    );
    assert_eq!(
        refused(ClientOptions::url("ftp://x/")),
        (
            "ERR_INVALID_PROTOCOL".to_owned(),
            "Protocol \"ftp:\" not supported. Expected \"http:\"".to_owned()
        )
    );
    assert_eq!(
        refused(ClientOptions::url("http://127.0.0.1:1/").family(5)),
        (
            "ERR_INVALID_ARG_VALUE".to_owned(),
            "The property 'options.family' must be one of: 0, 4, 6. Received 5".to_owned()
        )
    );
    assert_eq!(
        refused(ClientOptions::url("http://127.0.0.1:1/").local_address("nope")),
        (
            "ERR_INVALID_IP_ADDRESS".to_owned(),
            "Invalid IP address: nope".to_owned()
        )
    );
    let bad_path = ClientOptions::from(RequestOptions {
        path: Some("/a b".into()),
        ..RequestOptions::default()
    });
    assert_eq!(refused(bad_path).0, "ERR_UNESCAPED_CHARACTERS");
    assert_eq!(
        refused(ClientOptions::url("http://127.0.0.1:1/").method("GE T")).0,
        "ERR_INVALID_HTTP_TOKEN"
    );
}

/// CLI-9, CLI-10: headers given as a raw list are rendered at once, without `Host`
/// (a later `setHeader` is refused with `ERR_HTTP_HEADERS_SENT`); `setHost: false`
/// leaves `Host` out; `defaultPort` equal to the port leaves the port out of `Host`;
/// CLI-27: `insecureHTTPParser` accepts an obs-fold in the response.
pub fn request_option_forms<A: ClientAdapter>() {
    let server = RawServer::start(vec![
        vec![Step::Read, Step::Write(OK_HELLO)],
        vec![Step::Read, Step::Write(OK_HELLO)],
        vec![
            Step::Read,
            Step::Write(b"HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
        ],
    ]);
    let port = server.addr.port();
    let base = RequestOptions {
        hostname: Some("127.0.0.1".into()),
        port: Some(port),
        ..RequestOptions::default()
    };
    let one_off = |r: RequestOptions| ClientOptions::from(r).agent(AgentChoice::OneOff);
    let array = A::exchange(Exchange {
        options: one_off(RequestOptions {
            headers: courier_rt::client::RequestHeaders::Array(vec![
                ("X-A".into(), "1".into()),
                ("X-A".into(), "2".into()),
            ]),
            ..base.clone()
        }),
        set_headers: vec![("X-B", "3")],
        ..Exchange::default()
    });
    assert_eq!(array.header_results, ["ERR_HTTP_HEADERS_SENT"]);
    assert_eq!(array.status, 200, "{array:?}");
    let no_host = A::exchange(Exchange {
        options: one_off(RequestOptions {
            set_host: false,
            default_port: Some(port),
            ..base.clone()
        }),
        ..Exchange::default()
    });
    assert_eq!(no_host.status, 200, "{no_host:?}");
    let folded = A::exchange(Exchange {
        options: one_off(RequestOptions {
            default_port: Some(port),
            insecure_http_parser: Some(true),
            ..base.clone()
        }),
        ..Exchange::default()
    });
    assert_eq!(
        (folded.error.as_deref(), folded.header("x-fold")),
        (None, "a b"),
        "{folded:?}"
    );
    assert_eq!(
        server.seen(),
        [
            "GET / HTTP/1.1\r\nX-A: 1\r\nX-A: 2\r\nConnection: close\r\n\r\n",
            "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        ]
    );
}

/// RES-5 `appendHeader` repeats a field; RES-20, CLI-12: trailers after a chunked
/// upload; CLI-27: `maxHeadersCount` reaches the response parser (more lines than it
/// fail the response, docs/deviations.md "Too many response header lines").
pub fn append_header_trailers_and_max_headers_count<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Write(b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 0\r\n\r\n"),
    ]]);
    let mut options = with_agent(&server.url("/"), &keep_alive_agent()).method("POST");
    options.max_headers_count = Some(2);
    let out = A::exchange(Exchange {
        options,
        set_headers: vec![("Trailer", "X-Sum")],
        append_headers: vec![("X-List", "a"), ("X-List", "b")],
        writes: vec![Bytes::from_static(b"abc")],
        trailers: vec![("X-Sum", "42")],
        ..Exchange::default()
    });
    assert_eq!(out.header_results, ["ok", "ok", "ok"]);
    assert_eq!(
        out.header_names,
        (
            vec!["host".to_owned(), "trailer".into(), "x-list".into()],
            vec!["Host".to_owned(), "Trailer".into(), "X-List".into()]
        ),
        "CLI-9: Host is set by the constructor"
    );
    assert_eq!(out.error.as_deref(), Some("HPE_HEADER_OVERFLOW"), "{out:?}");
    let port = server.addr.port();
    assert_eq!(
        server.seen(),
        [format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTrailer: X-Sum\r\nX-List: a\r\n\
             X-List: b\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n\
             3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n"
        )]
    );
}

/// CLI-13: `flushHeaders()` sends the head at once (chunked for a POST of unknown
/// length) and `headersSent` turns true; the body follows later. `setNoDelay` and
/// `setSocketKeepAlive` before the socket exists are applied without effect on the
/// bytes.
pub fn flush_headers_sends_the_head_at_once<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::ReadHead,
        Step::Buffered,
        Step::ReadN(14),
        Step::Write(OK_HELLO),
    ]]);
    let out = A::exchange(Exchange {
        options: with_agent(&server.url("/f"), &keep_alive_agent()).method("POST"),
        socket_options: true,
        flush_headers: true,
        pause_before_writes: Some(Duration::from_millis(300)),
        end: Some(Bytes::from_static(b"late")),
        ..Exchange::default()
    });
    assert!(out.headers_sent);
    assert_eq!((out.error.as_deref(), out.status), (None, 200), "{out:?}");
    let port = server.addr.port();
    assert_eq!(
        server.seen(),
        [
            format!(
                "POST /f HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\
                 Transfer-Encoding: chunked\r\n\r\n"
            ),
            "0".to_owned(),
            "4\r\nlate\r\n0\r\n\r\n".to_owned(),
        ]
    );
}

/// MSG-6 (the writable side's high-water mark): `write` returns `false` once the
/// socket does not take the bytes, `'drain'` follows when it does, and nothing
/// written is lost.
pub fn request_writes_report_back_pressure<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::ReadHead,
        Step::Pause(Duration::from_millis(200)),
        Step::ReadChunkedTotal,
        Step::Write(OK_HELLO),
    ]]);
    let out = A::exchange(Exchange {
        options: with_agent(&server.url("/"), &keep_alive_agent()).method("POST"),
        fill: Some(Bytes::from(vec![b'x'; 64 * 1024])),
        ..Exchange::default()
    });
    assert_eq!((out.error.as_deref(), out.status), (None, 200), "{out:?}");
    assert!(out.queued < FILL_CAP, "write never returned false");
    let seen = server.seen();
    let total: usize = seen[1].parse().unwrap();
    assert!(
        total > out.queued,
        "every body byte arrived ({total} > {})",
        out.queued
    );
}

/// CLI-14 (our hold, docs/deviations.md): body bytes held back for a `100 Continue`
/// count for `write`'s back-pressure; when no `100` comes the hold ends after the
/// continue timeout (1 s), the body goes out and `'drain'` follows.
pub fn a_body_held_for_100_continue_counts_for_back_pressure<A: ClientAdapter>() {
    const PIECE: usize = 48 * 1024;
    let server = RawServer::start(vec![vec![
        Step::ReadHead,
        Step::ReadChunkedTotal,
        Step::Write(OK_HELLO),
    ]]);
    let out = A::exchange(Exchange {
        options: with_agent(&server.url("/"), &keep_alive_agent())
            .method("POST")
            .header("Expect", "100-continue"),
        fill: Some(Bytes::from(vec![b'a'; PIECE])),
        ..Exchange::default()
    });
    assert_eq!((out.error.as_deref(), out.status), (None, 200), "{out:?}");
    assert_eq!(out.queued, 2 * PIECE, "the second write is over the mark");
    assert!(
        out.drain_waited >= Duration::from_millis(900),
        "'drain' waited for the hold to end: {:?}",
        out.drain_waited
    );
    let seen = server.seen();
    assert!(seen[1].parse::<usize>().unwrap() > 2 * PIECE, "{seen:?}");
}

/// CLI-23: `req.setTimeout(ms)` after `request()` arms the socket's idle timeout:
/// `'timeout'` fires; the request lives on until destroyed (`ECONNRESET`).
pub fn a_request_set_timeout_fires_the_timeout_event<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Pause(Duration::from_millis(600)),
        Step::Write(OK_HELLO),
    ]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/")),
        set_timeout: Some(Duration::from_millis(50)),
        destroy_on_timeout: true,
        ..Exchange::default()
    });
    assert_eq!(
        out.events,
        ["socket", "finish", "timeout", "close"],
        "{out:?}"
    );
    assert_eq!(
        (out.error.as_deref(), out.message.as_str()),
        (Some("ECONNRESET"), "socket hang up")
    );
    server.seen();
}

/// CLI-23: `req.setTimeout(ms)` on a request already running on its socket (the
/// connection waiting for the response) still arms the idle timeout.
pub fn set_timeout_after_the_socket_is_assigned<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Pause(Duration::from_millis(600)),
        Step::Write(OK_HELLO),
    ]]);
    let out = A::exchange(Exchange {
        options: one_off(server.url("/")),
        set_timeout_after_finish: Some(Duration::from_millis(50)),
        destroy_on_timeout: true,
        ..Exchange::default()
    });
    assert_eq!(
        out.events,
        ["socket", "finish", "timeout", "close"],
        "{out:?}"
    );
    assert_eq!(
        (out.error.as_deref(), out.message.as_str()),
        (Some("ECONNRESET"), "socket hang up")
    );
    server.seen();
}

/// CLI-12: `end(data)` as the only body call gives `Content-Length`; CLI-8: the
/// method is upper-cased; CLI-25: once the head is out `setHeader` fails with
/// `ERR_HTTP_HEADERS_SENT`.
pub fn end_with_data_gives_content_length<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![Step::Read, Step::Write(OK_HELLO)]]);
    let out = A::exchange(Exchange {
        options: with_agent(&server.url("/up"), &keep_alive_agent()).method("post"),
        set_headers: vec![("Content-Type", "text/plain")],
        end: Some(Bytes::from_static(b"abc")),
        set_headers_after_end: vec![("X", "1")],
        ..Exchange::default()
    });
    assert_eq!(out.status, 200, "{out:?}");
    assert_eq!(out.header_results, ["ok", "ERR_HTTP_HEADERS_SENT"]);
    let port = server.addr.port();
    assert_eq!(
        server.seen(),
        [format!(
            "POST /up HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/plain\r\n\
             Connection: keep-alive\r\nContent-Length: 3\r\n\r\nabc"
        )]
    );
}

/// CLI-1, CLI-8: a URL's credentials become `Authorization: Basic …` and its
/// fragment is dropped (`req.path`); MSG-2, MSG-3: the response's views (`headers`
/// joins a duplicate `X-A`, `rawHeaders` keeps every line, `httpVersion`).
pub fn a_url_with_credentials_and_the_response_views<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Write(b"HTTP/1.1 200 OK\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 5\r\n\r\nhello"),
    ]]);
    let port = server.addr.port();
    let agent = keep_alive_agent();
    let out = A::exchange(Exchange {
        options: with_agent(&format!("http://u:p@127.0.0.1:{port}/p?q=1#h"), &agent),
        ..Exchange::default()
    });
    assert_eq!(out.method_and_path, ("GET".to_owned(), "/p?q=1".to_owned()));
    assert_eq!((out.status, out.status_message.as_str()), (200, "OK"));
    assert_eq!(out.http_version, "1.1");
    assert_eq!(out.header("x-a"), "1, 2");
    assert_eq!(
        out.raw_headers,
        ["X-A", "1", "X-A", "2", "Content-Length", "5"]
    );
    assert_eq!(out.body.as_ref(), b"hello");
    assert!(out.complete && !out.aborted);
    assert_eq!(out.events, ["socket", "finish", "close"]);
    assert!(!out.reused_socket);
    agent.destroy();
    assert_eq!(
        server.seen(),
        [format!(
            "GET /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic dTpw\r\n\
             Connection: keep-alive\r\n\r\n"
        )]
    );
}

/// CLI-21: `abort()` during the response body: `'abort'`, the body ends with
/// `aborted` (not `complete`), no error on the request, and the socket is destroyed.
pub fn abort_during_the_response_body<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal"),
        Step::Eof,
    ]]);
    let agent = keep_alive_agent();
    let out = A::exchange(Exchange {
        options: with_agent(&server.url("/"), &agent),
        abort_during_body: true,
        ..Exchange::default()
    });
    assert_eq!(out.body.as_ref(), b"hal");
    assert_eq!(out.error.as_deref(), Some("aborted"), "{out:?}");
    assert!(out.aborted && !out.complete);
    assert_eq!(out.events, ["socket", "finish", "abort", "close"]);
    wait_until("the socket to be closed", || {
        agent.total_socket_count() == 0
    });
    assert_eq!(server.seen()[1], "eof");
}

/// A future that is ready once a thread slept `d` (no runtime of its own, so that
/// every adapter can poll it).
fn delay(d: Duration) -> impl std::future::Future<Output = ()> + Send {
    let state = std::sync::Arc::new(std::sync::Mutex::new((false, None::<std::task::Waker>)));
    let s = std::sync::Arc::clone(&state);
    std::thread::spawn(move || {
        std::thread::sleep(d);
        let mut st = s.lock().unwrap();
        st.0 = true;
        if let Some(w) = st.1.take() {
            w.wake();
        }
    });
    core::future::poll_fn(move |cx| {
        let mut st = state.lock().unwrap();
        if st.0 {
            std::task::Poll::Ready(())
        } else {
            st.1 = Some(cx.waker().clone());
            std::task::Poll::Pending
        }
    })
}

/// A `createConnection` hook that connects through the adapter's own connector
/// after a pause.
struct SlowConnector(std::sync::Arc<dyn courier_rt::client::Connector>);

impl courier_rt::client::Connector for SlowConnector {
    fn connect(
        &self,
        target: &courier_rt::client::ConnectTarget,
    ) -> courier_rt::client::ConnectFuture {
        let inner = std::sync::Arc::clone(&self.0);
        let t = target.clone();
        Box::pin(async move {
            delay(Duration::from_millis(30)).await;
            inner.connect(&t).await
        })
    }
}

/// CLI-21 while the socket connects (Node v20 observed: `socket`, `abort`, `'error'`
/// `socket hang up`, `close`): the connection that comes up is closed unused.
pub fn abort_while_connecting<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![Step::Eof]]);
    let agent = keep_alive_agent();
    agent.set_connector(std::sync::Arc::new(SlowConnector(A::connector())));
    let out = A::exchange(Exchange {
        options: with_agent(&server.url("/"), &agent),
        abort_after_socket: true,
        ..Exchange::default()
    });
    assert_eq!(out.events, ["socket", "abort", "close"], "{out:?}");
    assert_eq!(
        (out.error.as_deref(), out.message.as_str()),
        (Some("ECONNRESET"), "socket hang up")
    );
    assert_eq!(server.seen(), ["eof"], "the socket is closed unused");
    wait_until("no socket", || agent.total_socket_count() == 0);
}

/// Bytes on an idle pooled socket (an unsolicited response) take it out of the pool
/// (our addition, proto's `Pool::poisoned`; Node destroys such a socket too).
pub fn a_poisoned_free_socket_leaves_the_pool<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Read,
        Step::Write(OK_HELLO),
        Step::Pause(Duration::from_millis(30)),
        Step::Write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        Step::Eof,
    ]]);
    let agent = keep_alive_agent();
    let out = A::exchange(Exchange {
        options: with_agent(&server.url("/"), &agent),
        ..Exchange::default()
    });
    assert_eq!(out.status, 200, "{out:?}");
    wait_until("the poisoned socket to go", || {
        agent.total_socket_count() == 0
    });
    assert_eq!(server.seen()[1], "eof");
}
