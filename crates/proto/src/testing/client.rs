//! The client end: the case runner that mirrors `node-oracle.js client`, and a
//! client/server pair wired back to back on one virtual clock.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use core::time::Duration;

use crate::client::{Assignment, ClientConn, ClientError, ClientEvent, ExchangeEnd};
use crate::head::ResponseHead;
use crate::headers::Headers;
use crate::outgoing::{ClientRequest, HeaderValue, RequestAgent, RequestHeaders, RequestOptions};
use crate::server::{ServerConfig, ServerConn, ServerEvent};

/// How `node-oracle.js client` builds its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCase {
    /// The method (`--method`, or the case's `method`).
    pub method: String,
    /// The path (the case's `path`, default `/`).
    pub path: String,
    /// `--insecure`: `insecureHTTPParser: true`.
    pub insecure: bool,
    /// `--max-header-size N`.
    pub max_header_size: Option<usize>,
    /// `--upgrade`: `'upgrade'` and `'connect'` listeners on the request.
    pub upgrade: bool,
    /// The raw server half-closes after its answer (unless `--no-eof`).
    pub eof: bool,
}

impl Default for ClientCase {
    fn default() -> Self {
        Self {
            method: "GET".into(),
            path: "/".into(),
            insecure: false,
            max_header_size: None,
            upgrade: false,
            eof: true,
        }
    }
}

/// A final response as the oracle records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenResponse {
    /// The head.
    pub head: Box<ResponseHead>,
    /// The body as received.
    pub body: Vec<u8>,
    /// The trailers, set at `'end'`.
    pub trailers: Option<Headers>,
    /// `res.complete`.
    pub complete: bool,
    /// `'aborted'` was emitted.
    pub aborted: bool,
}

/// An `'upgrade'` or `'connect'` as the oracle records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenUpgradeResponse {
    /// The response head.
    pub head: Box<ResponseHead>,
    /// Node's `head` buffer.
    pub leftover: Bytes,
    /// `'connect'` rather than `'upgrade'`.
    pub connect: bool,
}

/// What one client case produced.
#[derive(Debug, Clone, Default)]
pub struct ClientOracleRun {
    /// The final response, if `'response'` was emitted.
    pub response: Option<SeenResponse>,
    /// Every `'information'`, in order.
    pub information: Vec<Box<ResponseHead>>,
    /// The `'upgrade'` / `'connect'`, if one was emitted.
    pub upgrade: Option<SeenUpgradeResponse>,
    /// The request's `'error'`.
    pub error: Option<ClientError>,
    /// The response's `'error'` (`ECONNRESET` `aborted` after `'aborted'`).
    pub response_error: Option<ClientError>,
    /// Every byte the request wrote.
    pub request: Vec<u8>,
    /// The events, in order (for tests).
    pub events: Vec<ClientEvent>,
}

/// Runs `input` as the raw server's answer to a request built the way
/// `node-oracle.js client` builds it (`agent: false`, `headers: {Host:
/// 'oracle.test'}`, then `end()`): the answer arrives in one piece once the request
/// head is out, then the server half-closes (unless `case.eof` is false, in which
/// case the request is destroyed when nothing more happens, as the oracle does).
pub fn run_client_oracle_case(input: &[u8], case: &ClientCase, start: Instant) -> ClientOracleRun {
    let mut run = ClientOracleRun::default();
    let req = ClientRequest::new(RequestOptions {
        method: Some(case.method.clone()),
        path: Some(case.path.clone()),
        hostname: Some("127.0.0.1".into()),
        port: Some(80),
        headers: RequestHeaders::Object(vec![("Host".into(), HeaderValue::from("oracle.test"))]),
        agent: Some(RequestAgent::one_off()),
        max_header_size: case.max_header_size,
        insecure_http_parser: case.insecure.then_some(true),
        ..RequestOptions::default()
    });
    let req = match req {
        Ok(r) => r,
        Err(_) => return run,
    };
    let mut conn = ClientConn::new(start);
    let assignment = Assignment {
        upgrade_listener: case.upgrade,
        connect_listener: case.upgrade,
        ..Assignment::default()
    };
    if conn.start(start, req, assignment).is_err() {
        return run;
    }
    if let Some(mut r) = conn.request() {
        let _ = r.end(None);
    }
    flush(&mut conn, start, &mut run.request);
    drain(&mut conn, &mut run);
    if !conn.is_closed() && !input.is_empty() {
        conn.feed(start, input);
        drain(&mut conn, &mut run);
    }
    if !conn.is_closed() {
        if case.eof {
            conn.recv_eof();
        } else {
            conn.destroy(None);
        }
        drain(&mut conn, &mut run);
    }
    run
}

fn flush(conn: &mut ClientConn, now: Instant, wire: &mut Vec<u8>) {
    let out = conn.outgoing();
    let n = out.len();
    for seg in out.iter() {
        wire.extend_from_slice(seg);
    }
    conn.transmitted(now, n);
}

fn drain(conn: &mut ClientConn, run: &mut ClientOracleRun) {
    while let Some(ev) = conn.poll_event() {
        match &ev {
            ClientEvent::Information(head) => run.information.push(head.clone()),
            ClientEvent::Response(head) => {
                run.response = Some(SeenResponse {
                    head: head.clone(),
                    body: Vec::new(),
                    trailers: None,
                    complete: false,
                    aborted: false,
                });
            }
            ClientEvent::Data(d) => {
                if let Some(r) = run.response.as_mut() {
                    r.body.extend_from_slice(d);
                }
            }
            ClientEvent::End { trailers } => {
                if let Some(r) = run.response.as_mut() {
                    r.complete = true;
                    r.trailers = Some(trailers.as_deref().cloned().unwrap_or_default());
                }
            }
            ClientEvent::Aborted { complete } => {
                if let Some(r) = run.response.as_mut() {
                    r.aborted = true;
                    r.complete = *complete;
                }
                run.response_error = Some(ClientError::io("ECONNRESET", "aborted"));
            }
            ClientEvent::Error(e) => {
                if run.error.is_none() {
                    run.error = Some(e.clone());
                }
            }
            ClientEvent::Upgrade {
                head,
                leftover,
                connect,
            } => {
                run.upgrade = Some(SeenUpgradeResponse {
                    head: head.clone(),
                    leftover: leftover.clone(),
                    connect: *connect,
                });
            }
            ClientEvent::Continue
            | ClientEvent::Finish
            | ClientEvent::Timeout
            | ClientEvent::Abort
            | ClientEvent::Close(_)
            | ClientEvent::Poisoned => {}
        }
        run.events.push(ev);
    }
}

/// A copy of every queued byte, in order.
fn take_all(q: &crate::conn::OutQueue) -> Vec<u8> {
    q.iter().flat_map(|b| b.iter().copied()).collect()
}

/// A [`ClientConn`] and a [`ServerConn`] wired back to back on one virtual clock:
/// whatever one writes the other reads. For round trips of every framing, 1xx,
/// `100-continue`, upgrade and CONNECT.
#[derive(Debug)]
pub struct Pair {
    /// The client end.
    pub client: ClientConn,
    /// The server end.
    pub server: ServerConn,
    now: Instant,
    /// Client events seen so far, in order.
    pub client_log: Vec<ClientEvent>,
    /// Server events seen so far, in order.
    pub server_log: Vec<ServerEvent>,
    /// Bytes the client wrote, in order.
    pub client_wire: Vec<u8>,
    /// Bytes the server wrote, in order.
    pub server_wire: Vec<u8>,
}

impl Pair {
    /// A fresh connection between a client and a server with `cfg`, at `start`.
    pub fn new(cfg: ServerConfig, start: Instant) -> Self {
        Self {
            client: ClientConn::new(start),
            server: ServerConn::new(Arc::new(cfg), start),
            now: start,
            client_log: Vec::new(),
            server_log: Vec::new(),
            client_wire: Vec::new(),
            server_wire: Vec::new(),
        }
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Starts `req` on the client end.
    pub fn start(&mut self, req: ClientRequest, assignment: Assignment) {
        let now = self.now;
        if self.client.start(now, req, assignment).is_err() {
            panic!("the client connection is busy");
        }
    }

    /// Moves bytes both ways until neither side has anything to send; returns the
    /// new events of each side.
    pub fn pump(&mut self) -> (Vec<ClientEvent>, Vec<ServerEvent>) {
        let (mut ce, mut se) = (Vec::new(), Vec::new());
        let mut seen = 0;
        loop {
            let now = self.now;
            let mut moved = false;
            let bytes = take_all(self.client.outgoing());
            if !bytes.is_empty() {
                self.client.transmitted(now, bytes.len());
                self.client_wire.extend_from_slice(&bytes);
                self.server.feed(now, &bytes);
                moved = true;
            }
            se.extend(std::iter::from_fn(|| self.server.poll_event()));
            let bytes = take_all(self.server.outgoing());
            if !bytes.is_empty() {
                self.server.transmitted(now, bytes.len());
                self.server_wire.extend_from_slice(&bytes);
                self.client.feed(now, &bytes);
                moved = true;
            }
            ce.extend(std::iter::from_fn(|| self.client.poll_event()));
            moved |= ce.len() + se.len() > seen;
            seen = ce.len() + se.len();
            if !moved {
                break;
            }
        }
        self.client_log.extend(ce.iter().cloned());
        self.server_log.extend(se.iter().cloned());
        (ce, se)
    }

    /// Moves the clock forward by `d`, firing both sides' timers on the way.
    pub fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next = [self.client.poll_timeout(), self.server.poll_timeout()]
                .into_iter()
                .flatten()
                .filter(|t| *t <= end)
                .min();
            let Some(t) = next else { break };
            self.now = self.now.max(t);
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
        }
        self.now = end;
    }

    /// The last exchange end the client reported.
    pub fn last_end(&self) -> Option<ExchangeEnd> {
        self.client_log.iter().rev().find_map(|e| match e {
            ClientEvent::Close(end) => Some(*end),
            _ => None,
        })
    }
}
