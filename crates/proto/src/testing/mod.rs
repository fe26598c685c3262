//! Test utilities: an in-memory peer for the connection machines, on a virtual
//! clock, and the handler that `node-oracle.js` installs, so that tests and the
//! differential probe drive the machines exactly like the oracle drives Node.
//!
//! Nothing here touches a socket or reads the clock: the caller supplies the start
//! instant and moves time forward explicitly.
//!
//! ```
//! use std::time::Instant;
//! use courier_proto::server::ServerConfig;
//! use courier_proto::testing::ServerPeer;
//!
//! let mut peer = ServerPeer::new(ServerConfig::default(), Instant::now());
//! peer.send(b"GET / HTTP/1.1\r\n\r\n"); // no Host: Node answers 400 itself (SRV-4)
//! peer.events();
//! peer.pump();
//! assert!(peer.take_wire().starts_with(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"));
//! assert!(peer.closed().is_some());
//! ```

use core::time::Duration;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::Error;
use crate::head::RequestHead;
use crate::headers::Headers;
use crate::outgoing::HeaderValue;
use crate::server::{Close, Dispatch, ReqId, ServerConfig, ServerConn, ServerEvent};

/// A scripted client on the other end of a [`ServerConn`], with a virtual clock.
#[derive(Debug)]
pub struct ServerPeer {
    /// The machine under test.
    pub conn: ServerConn,
    now: Instant,
    wire: Vec<u8>,
    closed: Option<Close>,
    /// At most this many bytes are read per [`ServerPeer::pump`]; `None` = all.
    read_limit: Option<usize>,
    log: Vec<ServerEvent>,
}

impl ServerPeer {
    /// A connection accepted at `start`.
    pub fn new(cfg: ServerConfig, start: Instant) -> Self {
        Self {
            conn: ServerConn::new(Arc::new(cfg), start),
            now: start,
            wire: Vec::new(),
            closed: None,
            read_limit: None,
            log: Vec::new(),
        }
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Client bytes arrive now.
    pub fn send(&mut self, bytes: &[u8]) {
        self.conn.feed(self.now, bytes);
    }

    /// The client half-closes.
    pub fn eof(&mut self) {
        self.conn.recv_eof();
    }

    /// Makes the client read at most `n` bytes per pump (a slow reader); `None` reads all.
    pub fn set_read_limit(&mut self, n: Option<usize>) {
        self.read_limit = n;
    }

    /// Every event the machine has now, in order (also kept in [`ServerPeer::log`]).
    pub fn events(&mut self) -> Vec<ServerEvent> {
        let mut out = Vec::new();
        while let Some(e) = self.conn.poll_event() {
            self.log.push(e.clone());
            out.push(e);
        }
        out
    }

    /// Every event so far.
    pub fn log(&self) -> &[ServerEvent] {
        &self.log
    }

    /// The client reads what the server wrote (up to the read limit) and the
    /// connection's close request is noted.
    pub fn pump(&mut self) {
        let q = self.conn.outgoing();
        let mut budget = self.read_limit.unwrap_or(usize::MAX);
        let mut n = 0;
        for seg in q.iter() {
            if budget == 0 {
                break;
            }
            let take = seg.len().min(budget);
            self.wire.extend_from_slice(&seg[..take]);
            budget -= take;
            n += take;
        }
        let now = self.now;
        self.conn.transmitted(now, n);
        if self.closed.is_none() {
            match self.conn.wants_close() {
                Some(Close::Now) => self.closed = Some(Close::Now),
                Some(Close::AfterFlush) if self.conn.outgoing().is_empty() => {
                    self.closed = Some(Close::AfterFlush);
                }
                _ => {}
            }
        }
    }

    /// Moves the virtual clock forward by `d`, firing every deadline on the way in order.
    pub fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = self.conn.poll_timeout() {
            if t > end {
                break;
            }
            self.now = self.now.max(t);
            self.conn.handle_timeout(self.now);
        }
        self.now = end;
    }

    /// Everything the client has read so far, emptied.
    pub fn take_wire(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.wire)
    }

    /// Everything the client has read so far.
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// Whether the server closed the connection, and how.
    pub fn closed(&self) -> Option<Close> {
        self.closed
    }
}

/// One request as `node-oracle.js` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// The head.
    pub head: Box<RequestHead>,
    /// How it was dispatched (`emitted` = [`Dispatch::Request`]).
    pub dispatch: Dispatch,
    /// The body as received.
    pub body: Vec<u8>,
    /// Trailers, once complete.
    pub trailers: Option<Headers>,
    /// The message was complete.
    pub complete: bool,
    /// It was aborted (MSG-10).
    pub aborted: bool,
    /// The status of its response once finished.
    pub response_status: Option<u16>,
}

/// An upgrade or CONNECT as the oracle records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenUpgrade {
    /// The head.
    pub head: Box<RequestHead>,
    /// Node's `head` buffer.
    pub leftover: Bytes,
    /// `'connect'` rather than `'upgrade'`.
    pub connect: bool,
}

/// What one oracle case produced.
#[derive(Debug, Clone, Default)]
pub struct OracleRun {
    /// Every request the server parsed (also the ones it answered itself).
    pub requests: Vec<SeenRequest>,
    /// Every client error, in order.
    pub client_errors: Vec<Error>,
    /// Upgrades and CONNECTs taken.
    pub upgrades: Vec<SeenUpgrade>,
    /// Everything the server wrote.
    pub response: Vec<u8>,
}

/// Runs `input` through a fresh server connection the way `node-oracle.js server`
/// runs it through Node: the bytes arrive in one piece, the handler reads each body
/// and answers `200` with `Content-Type: text/plain`, `Content-Length: 3` and `ok\n`,
/// upgrade/CONNECT takers (when `cfg.listeners` has them) answer 101 / 200 on the raw
/// connection, then the client half-closes.
pub fn run_oracle_case(input: &[u8], cfg: ServerConfig, start: Instant) -> OracleRun {
    let mut peer = ServerPeer::new(cfg, start);
    let mut run = OracleRun::default();
    let mut ids: Vec<ReqId> = Vec::new();
    let mut switched = false;
    if !input.is_empty() {
        peer.send(input);
    }
    settle(&mut peer, &mut run, &mut ids, &mut switched);
    peer.eof();
    if switched {
        // The taker ends its side when the client does.
        peer.conn.close();
    }
    settle(&mut peer, &mut run, &mut ids, &mut switched);
    run.response = peer.take_wire();
    run
}

/// Polls, answers and flushes until nothing changes.
fn settle(peer: &mut ServerPeer, run: &mut OracleRun, ids: &mut Vec<ReqId>, switched: &mut bool) {
    loop {
        let events = peer.events();
        let mut ended = Vec::new();
        for e in &events {
            record(e, run, ids, switched, &mut ended);
            if let ServerEvent::Upgrade { connect, .. } = e {
                peer.conn.write_raw(Bytes::from_static(if *connect {
                    b"HTTP/1.1 200 Connection Established\r\n\r\n"
                } else {
                    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: oracle\r\n\r\n"
                }));
            }
        }
        for id in ended {
            let Some(i) = ids.iter().position(|x| *x == id) else {
                continue;
            };
            if run.requests[i].dispatch != Dispatch::Request {
                continue;
            }
            if let Some(mut res) = peer.conn.response(id) {
                let _ = res.write_head(
                    200,
                    None,
                    [
                        ("Content-Type", HeaderValue::from("text/plain")),
                        ("Content-Length", HeaderValue::from("3")),
                    ],
                );
                let _ = res.end(Some(Bytes::from_static(b"ok\n")));
            }
        }
        let before = peer.wire().len();
        peer.pump();
        let quiet = peer.wire().len() == before;
        if events.is_empty() && quiet {
            break;
        }
    }
}

fn record(
    e: &ServerEvent,
    run: &mut OracleRun,
    ids: &mut Vec<ReqId>,
    switched: &mut bool,
    ended: &mut Vec<ReqId>,
) {
    let find = |ids: &[ReqId], id: &ReqId| ids.iter().position(|x| x == id);
    match e {
        ServerEvent::Request {
            id,
            head,
            dispatch,
            complete,
        } => {
            ids.push(*id);
            run.requests.push(SeenRequest {
                head: head.clone(),
                dispatch: *dispatch,
                body: Vec::new(),
                // A complete request stands for its `End` without trailers.
                trailers: complete.then(Headers::default),
                complete: *complete,
                aborted: false,
                response_status: None,
            });
            if *complete {
                ended.push(*id);
            }
        }
        ServerEvent::Data { id, data } => {
            if let Some(i) = find(ids, id) {
                run.requests[i].body.extend_from_slice(data);
            }
        }
        ServerEvent::End { id, trailers } => {
            if let Some(i) = find(ids, id) {
                run.requests[i].complete = true;
                run.requests[i].trailers = Some(trailers.as_deref().cloned().unwrap_or_default());
                ended.push(*id);
            }
        }
        ServerEvent::Aborted { id } => {
            if let Some(i) = find(ids, id) {
                run.requests[i].aborted = true;
            }
        }
        ServerEvent::Finished { id, status } => {
            if let Some(i) = find(ids, id) {
                run.requests[i].response_status = Some(*status);
            }
        }
        ServerEvent::Upgrade {
            head,
            leftover,
            connect,
        } => {
            *switched = true;
            run.upgrades.push(SeenUpgrade {
                head: head.clone(),
                leftover: leftover.clone(),
                connect: *connect,
            });
        }
        ServerEvent::ClientError { error } => run.client_errors.push(error.clone()),
        ServerEvent::Timeout { .. } | ServerEvent::Dropped { .. } => {}
    }
}

mod client;

pub use client::{
    ClientCase, ClientOracleRun, Pair, SeenResponse, SeenUpgradeResponse, run_client_oracle_case,
};
