//! The client side of one connection as a pure state machine (CLI-13 … CLI-27).
//!
//! A [`ClientConn`] is one connected socket. It runs one [`ClientRequest`] at a time,
//! as Node's `ClientRequest` does on an agent socket: [`ClientConn::start`] assigns a
//! request (Node's `'socket'` / `tickOnSocket`), the application writes through
//! [`ClientConn::request`], and the machine turns the response bytes into the
//! request's events ([`ClientEvent`]) in Node's order. The last event of every
//! exchange is [`ClientEvent::Close`], which says what becomes of the connection
//! ([`Disposition`]: back to the pool, closed, or handed over after an upgrade) and,
//! for a failed exchange, what the retry decision needs to know
//! ([`FailedExchange`]).
//!
//! Bytes in ([`ClientConn::feed`], [`ClientConn::recv_buf`] + [`ClientConn::received`],
//! [`ClientConn::recv_eof`], [`ClientConn::socket_error`]), events out
//! ([`ClientConn::poll_event`]), bytes out ([`ClientConn::outgoing`],
//! [`ClientConn::transmitted`]), deadlines out ([`ClientConn::poll_timeout`]) and time
//! in ([`ClientConn::handle_timeout`]).
//!
//! ```
//! use std::time::Instant;
//! use courier_proto::client::{Assignment, ClientConn, ClientEvent, Disposition};
//! use courier_proto::outgoing::{ClientRequest, RequestOptions};
//!
//! let now = Instant::now();
//! let req = ClientRequest::new(RequestOptions {
//!     hostname: Some("127.0.0.1".into()),
//!     port: Some(8080),
//!     ..RequestOptions::default()
//! })?;
//! let mut conn = ClientConn::new(now);
//! conn.start(now, req, Assignment::default()).unwrap();
//! conn.request().unwrap().end(None)?;
//!
//! let wire: Vec<u8> = conn.outgoing().iter().flat_map(|b| b.to_vec()).collect();
//! assert_eq!(wire, b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: keep-alive\r\n\r\n");
//! let n = wire.len();
//! conn.transmitted(now, n);
//! assert_eq!(conn.poll_event(), Some(ClientEvent::Finish));
//!
//! conn.feed(now, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
//! let Some(ClientEvent::Response(head)) = conn.poll_event() else { panic!() };
//! assert_eq!(head.status, 200);
//! assert_eq!(conn.poll_event(), Some(ClientEvent::Data("ok".into())));
//! assert!(matches!(conn.poll_event(), Some(ClientEvent::End { .. })));
//! let Some(ClientEvent::Close(end)) = conn.poll_event() else { panic!() };
//! assert_eq!(end.disposition, Disposition::Keep { keep_alive_hint: None });
//! assert!(conn.is_idle());
//! # Ok::<(), courier_proto::outgoing::OutgoingError>(())
//! ```
//!
//! # Where this differs from Node v20
//!
//! * **`Expect: 100-continue` holds the body** (the issue's requirement; Node leaves
//!   it to the application, CLI-14). When the rendered head asks for
//!   `100-continue`, body bytes written before the `100` wait until a `100`
//!   arrives, or until [`ClientConfig::continue_timeout`] passes; a final response
//!   that comes first discards them, and the connection is then not reused.
//!   `continue_timeout: None` restores Node's behaviour (the body goes at once).
//! * **Bytes on an idle connection poison it** ([`ClientEvent::Poisoned`]): an
//!   unsolicited response would otherwise be matched to the next request.
//! * **Too many header lines fail the response** with `HPE_HEADER_OVERFLOW`, as on
//!   the server (Node drops the extra lines; see `docs/deviations.md`).

mod error;

use core::ops::{Deref, DerefMut};
use core::time::Duration;
use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;

pub use error::ClientError;

use crate::agent::{FailedExchange, is_idempotent, keep_alive_hint};
use crate::config::ParserConfig;
pub use crate::conn::{Close, OutQueue};
use crate::head::ResponseHead;
use crate::headers::Headers;
use crate::outgoing::{ClientRequest, OutgoingError};
use crate::parser::{Event, Parser, ResponseContext};

/// Connection-wide options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// How long a body written before the `100 Continue` of an `Expect:
    /// 100-continue` request is held (default 1 s, curl's value). `None` sends it at
    /// once, as Node does (CLI-14).
    pub continue_timeout: Option<Duration>,
    /// The parser used when the request does not set `insecureHTTPParser` (the
    /// process-wide `--insecure-http-parser` flag): strict by default.
    pub insecure_http_parser: bool,
    /// `http.maxHeaderSize`, used when the request does not set `maxHeaderSize`.
    pub max_header_size: usize,
    /// Body bytes queued in events and not yet polled above which
    /// [`ClientConn::wants_read`] says stop (default 64 KiB).
    pub high_water_mark: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            continue_timeout: Some(Duration::from_secs(1)),
            insecure_http_parser: false,
            max_header_size: crate::MAX_HEADER_SIZE,
            high_water_mark: 64 * 1024,
        }
    }
}

/// How a request got its socket, and who listens ([`ClientConn::start`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Assignment {
    /// The agent took the socket from its free list (`reusedSocket`, CLI-24).
    pub reused: bool,
    /// The socket's idle timeout as the agent set it (`Action::Assign`'s
    /// `timeout`); the request's own `timeout` wins (CLI-23).
    pub socket_timeout: Option<Duration>,
    /// The request has an `'upgrade'` listener (CLI-16).
    pub upgrade_listener: bool,
    /// The request has a `'connect'` listener (CLI-16).
    pub connect_listener: bool,
}

/// What becomes of the connection when an exchange ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The connection stays open and idle, ready for another request: Node's
    /// `'free'` (`Pool::release` with `Reusable::Yes`, AGT-7).
    Keep {
        /// The server's `Keep-Alive: timeout=N` (AGT-8).
        keep_alive_hint: Option<Duration>,
    },
    /// The connection is closing ([`ClientConn::wants_close`]): `Pool::release`
    /// with `Reusable::No`, or `Pool::closed`.
    Close,
    /// The connection left HTTP after an upgrade or CONNECT: `Pool::detach`.
    Detached,
}

/// The end of an exchange ([`ClientEvent::Close`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExchangeEnd {
    /// What becomes of the connection.
    pub disposition: Disposition,
    /// Set when the exchange failed (an `'error'` or an aborted response): what
    /// [`crate::agent::retry_decision`] needs. The caller sets `body_replayable`
    /// when it still holds a body it wrote, and `retried`.
    pub failure: Option<FailedExchange>,
    /// Request bytes handed to the transport during the exchange.
    pub request_bytes: u64,
    /// Response bytes received during the exchange.
    pub response_bytes: u64,
}

/// One event of the request running on the connection, in Node's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// `'continue'`: a `100 Continue` arrived (CLI-15); [`ClientEvent::Information`]
    /// follows.
    Continue,
    /// `'information'`: an interim response other than 101 (CLI-15).
    Information(Box<ResponseHead>),
    /// `'response'`: the final response head (CLI-17).
    Response(Box<ResponseHead>),
    /// Response body bytes (`res` `'data'`), slices of the receive buffer.
    Data(Bytes),
    /// The response is complete (`res` `'end'`, `complete = true`).
    End {
        /// The trailers, `None` without (boxed: the event stays small).
        trailers: Option<Box<Headers>>,
    },
    /// `'finish'`: every request byte was handed to the transport (CLI-19).
    Finish,
    /// `'upgrade'` (101) or `'connect'` (a response to CONNECT) with a listener
    /// (CLI-16): the connection left HTTP. Flush [`ClientConn::outgoing`] if wanted,
    /// then hand the transport and `leftover` (Node's `head`) to the application.
    /// [`ClientEvent::Close`] with [`Disposition::Detached`] follows.
    Upgrade {
        /// The response head.
        head: Box<ResponseHead>,
        /// Every byte received after the head.
        leftover: Bytes,
        /// `'connect'` rather than `'upgrade'`.
        connect: bool,
    },
    /// `'timeout'`: the socket was idle for the timeout (CLI-23). Nothing else
    /// happens; the application may destroy the request.
    Timeout,
    /// `'abort'` (CLI-21).
    Abort,
    /// The response ended early: `res` `'aborted'`; after [`ClientEvent::Close`] the
    /// response emits `'error'` (`ECONNRESET`, `aborted`) when listened, then
    /// `'close'` (CLI-20, CLI-21).
    Aborted {
        /// Node's `res.complete` afterwards: true for a body delimited by the end of
        /// the connection, which Node's closing `parser.finish()` completes even
        /// though `'end'` never comes.
        complete: bool,
    },
    /// `'error'` on the request, at most once (CLI-20).
    Error(ClientError),
    /// `'close'` on the request: the exchange is over (CLI-18 … CLI-21).
    Close(ExchangeEnd),
    /// Bytes arrived while no request was running (our addition): the connection is
    /// closed and must never be handed out again (`Pool::poisoned`).
    Poisoned,
}

/// Where the response stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resp {
    /// No final response head yet (interim ones may have come).
    Waiting,
    /// The final head was delivered; its body is being read.
    Body,
    /// `res` `'end'` was delivered.
    Complete,
}

/// The `Expect: 100-continue` hold (our addition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Nothing is held back.
    Off,
    /// Body bytes wait for a `100` until the deadline.
    Waiting(Instant),
    /// A final response came first: the held body was dropped.
    Refused,
}

/// The request running on the connection.
#[derive(Debug)]
struct Exchange {
    /// Boxed: the exchange is built and moved without copying the request.
    req: Box<ClientRequest>,
    upgrade_listener: bool,
    connect_listener: bool,
    parser: Parser,
    resp: Resp,
    /// The final response said the connection may stay open (PRS-25).
    resp_keep_alive: bool,
    /// `Keep-Alive: timeout=N` of the final response.
    hint: Option<Duration>,
    /// The parser is no longer fed: the final response completed in an earlier
    /// read (Node frees the parser after the read that completed it, CLI-17).
    parser_freed: bool,
    /// `'finish'` was reported.
    finished: bool,
    /// The response ended and the connection will not be kept, but request bytes are
    /// still unsent: the exchange closes after `'finish'` (Node ends the socket after
    /// its pending writes, so `'finish'` precedes `'close'`).
    close_after_finish: bool,
    /// The request's first segment (its head) went to the queue.
    head_queued: bool,
    hold: Hold,
    held: VecDeque<Bytes>,
    /// Request bytes of this exchange still in the connection's queue.
    unsent: usize,
    request_bytes: u64,
    response_bytes: u64,
    error_sent: bool,
    /// The error was the connection going away.
    lost: bool,
    /// A second response began in the read that completed the first: the rest of
    /// the read is parsed for errors only, then the connection is destroyed.
    doomed: bool,
    /// The head of an upgrade or CONNECT response, until the parser pauses.
    upgrade_head: Option<Box<ResponseHead>>,
    /// Body bytes queued as events.
    queued_data: usize,
    // timers
    timeout: Option<Duration>,
    timeout_fired: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Connected, no request.
    Idle,
    /// A request runs.
    Active,
    /// The connection left HTTP.
    Switched,
    /// Closing or closed.
    Closing(Close),
}

/// The client side of one connection.
#[derive(Debug)]
pub struct ClientConn {
    cfg: ClientConfig,
    state: State,
    ex: Option<Exchange>,
    out: OutQueue,
    events: VecDeque<ClientEvent>,
    eof: bool,
    last_activity: Instant,
    /// The receive buffer of the last exchange, emptied, for the next one's parser
    /// (its memory is reused when the slices handed out of it are gone).
    spare_buf: bytes::BytesMut,
    /// The field list of the last exchange's parser, for the next one.
    spare_fields: Vec<crate::headers::Slot>,
    /// The (empty) list `sync` collects the request's output in, kept for its memory.
    sync_buf: VecDeque<Bytes>,
    /// Something changed since the last look of `outgoing`, `wants_close` or
    /// `poll_event`: they sync first. (`sync` reaches its fixed point in one call,
    /// so with nothing changed it would do nothing.)
    changed: bool,
}

impl ClientConn {
    /// A connection that is connected at `now`, with the default options.
    pub fn new(now: Instant) -> Self {
        Self::with_config(ClientConfig::default(), now)
    }

    /// A connection that is connected at `now`.
    pub fn with_config(cfg: ClientConfig, now: Instant) -> Self {
        Self {
            cfg,
            state: State::Idle,
            ex: None,
            out: OutQueue::default(),
            events: VecDeque::new(),
            eof: false,
            last_activity: now,
            spare_buf: bytes::BytesMut::new(),
            spare_fields: Vec::new(),
            sync_buf: VecDeque::new(),
            changed: true,
        }
    }

    /// The options.
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// Runs `req` on this connection (Node's `onSocket`). Fails, giving the request
    /// back, when the connection is busy, closing or switched.
    ///
    /// The response parser takes the request's `maxHeaderSize`,
    /// `insecureHTTPParser` and `maxHeadersCount` (CLI-27) and its method (HEAD and
    /// CONNECT frame responses differently, PRS-17, CLI-16).
    // The request is handed back whole so that the caller can run it elsewhere.
    #[allow(clippy::result_large_err)]
    pub fn start(
        &mut self,
        now: Instant,
        req: ClientRequest,
        assignment: Assignment,
    ) -> Result<(), ClientRequest> {
        self.start_boxed(now, Box::new(req), assignment)
            .map_err(|req| *req)
    }

    /// [`ClientConn::start`] for a boxed request (kept in its box: nothing is
    /// copied).
    pub fn start_boxed(
        &mut self,
        now: Instant,
        mut req: Box<ClientRequest>,
        assignment: Assignment,
    ) -> Result<(), Box<ClientRequest>> {
        self.changed = true;
        if self.state != State::Idle {
            return Err(req);
        }
        let insecure = req
            .insecure_http_parser()
            .unwrap_or(self.cfg.insecure_http_parser);
        let mut pcfg = if insecure {
            ParserConfig::insecure()
        } else {
            ParserConfig::default()
        };
        pcfg.max_header_size = self.cfg.max_header_size;
        if let Some(n) = req.max_header_size().filter(|&n| n > 0) {
            pcfg = pcfg.with_max_header_size(n);
        }
        if let Some(n) = req.max_headers_count() {
            pcfg.max_headers_count = n;
        }
        let mut parser = Parser::response(pcfg);
        *parser.recv_buf() = core::mem::take(&mut self.spare_buf);
        parser.swap_field_storage(&mut self.spare_fields);
        parser.set_response_context(ResponseContext {
            head: req.method() == "HEAD",
            connect: req.method() == "CONNECT",
        });
        req.set_reused_socket(assignment.reused);
        let timeout = req
            .timeout()
            .or(assignment.socket_timeout)
            .filter(|d| !d.is_zero());
        let hold = if req.expects_continue() {
            self.cfg
                .continue_timeout
                .map_or(Hold::Off, |t| Hold::Waiting(now + t))
        } else {
            Hold::Off
        };
        self.ex = Some(Exchange {
            req,
            upgrade_listener: assignment.upgrade_listener,
            connect_listener: assignment.connect_listener,
            parser,
            resp: Resp::Waiting,
            resp_keep_alive: false,
            hint: None,
            parser_freed: false,
            finished: false,
            close_after_finish: false,
            head_queued: false,
            hold,
            held: VecDeque::new(),
            unsent: 0,
            request_bytes: 0,
            response_bytes: 0,
            error_sent: false,
            lost: false,
            doomed: false,
            upgrade_head: None,
            queued_data: 0,
            timeout,
            timeout_fired: false,
        });
        self.state = State::Active;
        self.last_activity = now;
        self.sync();
        Ok(())
    }

    /// The running request, for writing (`setHeader`, `write`, `end`, …). Dropping
    /// the view lets the connection pick up the output.
    pub fn request(&mut self) -> Option<Requester<'_>> {
        if self.state == State::Active && self.ex.is_some() {
            Some(Requester { conn: self })
        } else {
            None
        }
    }

    /// The running request, read-only.
    pub fn current(&self) -> Option<&ClientRequest> {
        self.ex.as_ref().map(|ex| &*ex.req)
    }

    /// Whether the connection is open with no request: it may be handed out.
    pub fn is_idle(&self) -> bool {
        self.state == State::Idle
    }

    /// Whether the connection is closing or closed.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closing(_))
    }

    // ------------------------------------------------------------------ input --

    /// Bytes received at `now`. They are parsed at once, as Node parses each read:
    /// the bytes of the read that completes the response are still parsed (a second
    /// response in them destroys the connection, junk in them is an `'error'`,
    /// CLI-17, CLI-20); later reads are not.
    pub fn feed(&mut self, now: Instant, data: &[u8]) {
        self.changed = true;
        if data.is_empty() {
            return;
        }
        self.touch(now);
        match self.state {
            State::Idle => self.poison(),
            State::Active => {
                let Some(ex) = self.ex.as_mut() else { return };
                if ex.parser_freed {
                    return;
                }
                ex.response_bytes += data.len() as u64;
                ex.parser.feed(data);
                self.pump(false);
            }
            State::Switched | State::Closing(_) => {}
        }
    }

    /// The receive buffer, to read straight into its spare capacity; call
    /// [`ClientConn::received`] afterwards. `None` when no response is being read
    /// (use [`ClientConn::feed`], which detects bytes on an idle connection).
    pub fn recv_buf(&mut self) -> Option<&mut bytes::BytesMut> {
        match (&self.state, self.ex.as_mut()) {
            (State::Active, Some(ex)) if !ex.parser_freed => Some(ex.parser.recv_buf()),
            _ => None,
        }
    }

    /// `n` bytes were appended to [`ClientConn::recv_buf`] at `now`.
    pub fn received(&mut self, now: Instant, n: usize) {
        self.changed = true;
        if n == 0 || self.state != State::Active {
            return;
        }
        self.touch(now);
        if let Some(ex) = self.ex.as_mut() {
            ex.response_bytes += n as u64;
        }
        self.pump(false);
    }

    /// The server half-closed the connection (Node's `socketOnEnd`).
    ///
    /// Before a final response: `'error'` `socket hang up` (CLI-20). During a body:
    /// an EOF-delimited body ends normally; any other is aborted. The connection
    /// closes.
    pub fn recv_eof(&mut self) {
        self.changed = true;
        if self.eof {
            return;
        }
        self.eof = true;
        match self.state {
            State::Idle => self.state = State::Closing(Close::Now),
            State::Active => {
                if self.ex.as_ref().is_some_and(|ex| ex.resp == Resp::Waiting) {
                    self.error(ClientError::HangUp);
                }
                self.finish_parser();
                self.connection_gone();
            }
            State::Switched | State::Closing(_) => {}
        }
    }

    /// The transport failed (Node's `socketErrorListener`): `'error'` with `err`
    /// (unless one was emitted), an unfinished response is aborted, the connection
    /// closes. On an idle connection the connection just closes.
    pub fn socket_error(&mut self, err: ClientError) {
        self.changed = true;
        match self.state {
            State::Idle => self.state = State::Closing(Close::Now),
            State::Active => {
                self.error(err);
                self.finish_parser();
                self.connection_gone();
                self.out.clear();
                self.state = State::Closing(Close::Now);
            }
            State::Switched | State::Closing(_) => self.state = State::Closing(Close::Now),
        }
    }

    /// Whether the machine wants more input: a response is being read and not too
    /// many body bytes wait in events, or the connection is idle (so that bytes on
    /// it are seen, [`ClientEvent::Poisoned`]).
    pub fn wants_read(&self) -> bool {
        match self.state {
            State::Idle => !self.eof,
            State::Active => self.ex.as_ref().is_some_and(|ex| {
                !self.eof && !ex.parser_freed && ex.queued_data < self.cfg.high_water_mark
            }),
            State::Switched | State::Closing(_) => false,
        }
    }

    // ----------------------------------------------------------------- output --

    /// The bytes to write, in order.
    pub fn outgoing(&mut self) -> &OutQueue {
        self.sync_if_changed();
        &self.out
    }

    /// `n` bytes of [`ClientConn::outgoing`] were written at `now`.
    pub fn transmitted(&mut self, now: Instant, n: usize) {
        self.changed = true;
        if n == 0 {
            return;
        }
        bytes::Buf::advance(&mut self.out, n);
        self.touch(now);
        if let Some(ex) = self.ex.as_mut() {
            let mine = n.min(ex.unsent);
            ex.unsent -= mine;
            ex.request_bytes += mine as u64;
        }
        self.sync();
    }

    /// Whether and how the connection should close.
    pub fn wants_close(&mut self) -> Option<Close> {
        self.sync_if_changed();
        match self.state {
            State::Closing(c) => Some(c),
            _ => None,
        }
    }

    // ------------------------------------------------------- the application --

    /// `req.abort()` (CLI-21): `'abort'`; then, before a response, `'error'`
    /// `ECONNRESET` `socket hang up` (Node v20 observed: the socket is destroyed under a
    /// request still waiting for its response), or during a response body, `res`
    /// `'aborted'` and no request `'error'`; then `'close'`. Returns false when there
    /// is no request or it was aborted already.
    pub fn abort(&mut self) -> bool {
        self.changed = true;
        if self.state != State::Active {
            return false;
        }
        let Some(ex) = self.ex.as_mut() else {
            return false;
        };
        if !ex.req.abort() {
            return false;
        }
        let waiting = ex.resp == Resp::Waiting;
        if !waiting {
            // No 'error' follows an abort once the response has arrived.
            ex.error_sent = true;
        }
        self.events.push_back(ClientEvent::Abort);
        if waiting {
            self.error(ClientError::HangUp);
        }
        self.out.clear();
        self.connection_gone();
        true
    }

    /// `req.destroy(err)` (CLI-21): with `err`, `'error'` with it; without, `'error'`
    /// `socket hang up` when no response arrived. An unfinished response is aborted;
    /// then `'close'`. The connection is destroyed.
    pub fn destroy(&mut self, err: Option<ClientError>) {
        self.changed = true;
        match self.state {
            State::Active => {
                let waiting = self.ex.as_ref().is_some_and(|ex| ex.resp == Resp::Waiting);
                if let Some(ex) = self.ex.as_mut() {
                    ex.req.destroy();
                }
                match err {
                    Some(e) => self.error(e),
                    None if waiting => self.error(ClientError::HangUp),
                    None => {}
                }
                self.out.clear();
                self.connection_gone();
            }
            _ => {
                self.out.clear();
                self.state = State::Closing(Close::Now);
            }
        }
    }

    /// `req.setTimeout(ms)` (CLI-23): the socket idle timeout while this request
    /// runs; `None` or zero turns it off. A no-op once the response ended.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.changed = true;
        if let Some(ex) = self.ex.as_mut() {
            if ex.resp != Resp::Complete {
                ex.timeout = timeout.filter(|d| !d.is_zero());
                ex.timeout_fired = false;
                ex.req.set_timeout(timeout);
            }
        }
    }

    // ----------------------------------------------------------------- events --

    /// The next event, or `None`.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.sync_if_changed();
        let ev = self.events.pop_front()?;
        if let (ClientEvent::Data(d), Some(ex)) = (&ev, self.ex.as_mut()) {
            ex.queued_data = ex.queued_data.saturating_sub(d.len());
        }
        Some(ev)
    }

    // ----------------------------------------------------------------- timers --

    fn idle_deadline(&self) -> Option<Instant> {
        let ex = self.ex.as_ref()?;
        if self.state != State::Active || ex.resp == Resp::Complete || ex.timeout_fired {
            return None;
        }
        Some(self.last_activity + ex.timeout?)
    }

    fn hold_deadline(&self) -> Option<Instant> {
        match self.ex.as_ref()?.hold {
            Hold::Waiting(t) if self.state == State::Active => Some(t),
            _ => None,
        }
    }

    /// The earliest time at which [`ClientConn::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.idle_deadline(), self.hold_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fires the timers due at `now`: `'timeout'` (CLI-23) and the end of the
    /// `100-continue` hold.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.changed = true;
        if self.hold_deadline().is_some_and(|t| t <= now) {
            self.release_hold();
        }
        if self.idle_deadline().is_some_and(|t| t <= now) {
            if let Some(ex) = self.ex.as_mut() {
                ex.timeout_fired = true;
            }
            self.events.push_back(ClientEvent::Timeout);
        }
    }

    // -------------------------------------------------------------- internals --

    /// Socket activity at `now`: the idle timeout starts again (CLI-23).
    fn touch(&mut self, now: Instant) {
        self.last_activity = now;
        if let Some(ex) = self.ex.as_mut() {
            ex.timeout_fired = false;
        }
    }

    /// Node's `parser.finish()` on a body being read, before the socket goes
    /// (`socketOnEnd`, `socketErrorListener`): a body delimited by the end of the
    /// connection is complete; the parser's verdict on any other is ignored.
    fn finish_parser(&mut self) {
        if let Some(ex) = self.ex.as_mut() {
            if self.state == State::Active && ex.resp == Resp::Body && !ex.parser_freed {
                ex.parser.feed_eof();
                self.pump(true);
            }
        }
    }

    fn poison(&mut self) {
        self.events.push_back(ClientEvent::Poisoned);
        self.out.clear();
        self.state = State::Closing(Close::Now);
    }

    /// Moves the request's output to the queue, holding body bytes while a
    /// `100-continue` is awaited, and reports `'finish'` and the end of a kept
    /// exchange.
    fn sync_if_changed(&mut self) {
        if self.changed {
            self.changed = false;
            self.sync();
        }
    }

    fn sync(&mut self) {
        if self.state != State::Active {
            return;
        }
        let Some(ex) = self.ex.as_mut() else { return };
        let mut segs = core::mem::take(&mut self.sync_buf);
        ex.req.take_output(&mut segs);
        for seg in segs.drain(..) {
            if !ex.head_queued {
                ex.head_queued = true;
                ex.unsent += seg.len();
                self.out.push(seg);
            } else {
                match ex.hold {
                    Hold::Waiting(_) => ex.held.push_back(seg),
                    Hold::Refused => {}
                    Hold::Off => {
                        ex.unsent += seg.len();
                        self.out.push(seg);
                    }
                }
            }
        }
        self.sync_buf = segs;
        if matches!(ex.hold, Hold::Waiting(_)) && ex.req.is_complete() && ex.held.is_empty() {
            // The request ended without a body byte: nothing to hold.
            ex.hold = Hold::Off;
        }
        if !ex.finished
            && ex.hold == Hold::Off
            && ex.req.is_complete()
            && ex.held.is_empty()
            && ex.unsent == 0
        {
            ex.finished = true;
            self.events.push_back(ClientEvent::Finish);
            if ex.close_after_finish {
                self.end_exchange(Disposition::Close, Close::AfterFlush);
                return;
            }
        }
        self.maybe_keep();
    }

    fn release_hold(&mut self) {
        if let Some(ex) = self.ex.as_mut() {
            if let Hold::Waiting(_) = ex.hold {
                ex.hold = Hold::Off;
                for seg in ex.held.drain(..) {
                    ex.unsent += seg.len();
                    self.out.push(seg);
                }
            }
        }
        self.sync();
    }

    /// Responds to the parser's output for the bytes just received. At EOF the
    /// parser's own error is ignored, as Node ignores `parser.finish()`'s.
    fn pump(&mut self, at_eof: bool) {
        loop {
            if self.state != State::Active {
                return;
            }
            let Some(ex) = self.ex.as_mut() else { return };
            match ex.parser.poll() {
                Ok(Some(ev)) => {
                    if !self.on_parser_event(ev) {
                        return;
                    }
                }
                Ok(None) => break,
                Err(_) if at_eof => break,
                Err(e) => {
                    self.error(ClientError::Parse(e));
                    self.connection_gone();
                    return;
                }
            }
        }
        let Some(ex) = self.ex.as_mut() else { return };
        if ex.doomed {
            self.connection_gone();
        } else if ex.parser.is_paused() {
            self.switch();
        } else if ex.resp == Resp::Complete {
            // Node frees the parser after the read that completed the response
            // (CLI-17); a response that cannot keep the connection closes it.
            ex.parser_freed = true;
            let unfinished = !ex.finished && ex.req.is_complete() && ex.hold == Hold::Off;
            if self.keeps_connection() {
                self.maybe_keep();
            } else if unfinished {
                if let Some(ex) = self.ex.as_mut() {
                    ex.close_after_finish = true;
                }
            } else {
                self.end_exchange(Disposition::Close, Close::AfterFlush);
            }
        }
    }

    /// One parser event. Returns false when parsing of this read stops.
    fn on_parser_event(&mut self, ev: Event) -> bool {
        let Some(ex) = self.ex.as_mut() else {
            return false;
        };
        if ex.doomed {
            return true;
        }
        match ev {
            Event::Response(head) => {
                if ex.resp != Resp::Waiting {
                    // A second response in the read that completed the first: Node
                    // destroys the socket but parses the rest of the read (CLI-17).
                    ex.doomed = true;
                    return true;
                }
                if head.info.upgrade {
                    // Handed over by `switch` once the parser pauses.
                    ex.resp = Resp::Body;
                    ex.upgrade_head = Some(head);
                    return true;
                }
                if (100..200).contains(&head.status) && head.status != 101 {
                    let release = head.status == 100 && matches!(ex.hold, Hold::Waiting(_));
                    if head.status == 100 {
                        self.events.push_back(ClientEvent::Continue);
                    }
                    self.events.push_back(ClientEvent::Information(head));
                    if release {
                        self.release_hold();
                    }
                    return true;
                }
                if let Hold::Waiting(_) = ex.hold {
                    // The body the server did not ask for is dropped; a request
                    // that had none left to send loses nothing.
                    ex.hold = if ex.held.is_empty() && ex.req.is_complete() {
                        Hold::Off
                    } else {
                        Hold::Refused
                    };
                    ex.held.clear();
                }
                ex.resp = Resp::Body;
                // CLI-18: the server must say keep-alive for us to keep it.
                ex.resp_keep_alive = head.info.keep_alive;
                ex.hint = head.headers.get("keep-alive").and_then(keep_alive_hint);
                self.events.push_back(ClientEvent::Response(head));
                true
            }
            Event::Data(d) => {
                if ex.resp == Resp::Body {
                    ex.queued_data += d.len();
                    self.events.push_back(ClientEvent::Data(d));
                }
                true
            }
            Event::End(trailers) => {
                // The End of an interim response only restarts the parser (CLI-15).
                if ex.resp == Resp::Body {
                    ex.resp = Resp::Complete;
                    ex.timeout = None;
                    // A second response in this read is not an answer to HEAD:
                    // Node's callback returns 0 for it, so its body is read.
                    ex.parser.set_response_context(ResponseContext::default());
                    // Whether the connection is kept is decided once the rest of
                    // this read is parsed (`pump`): Node's `'end'` comes later.
                    self.events.push_back(ClientEvent::End { trailers });
                }
                true
            }
            Event::Request(_) => true,
        }
    }

    /// The parser paused after an upgrade head (101 with Upgrade, or any response
    /// to CONNECT): hand over, or destroy without a listener (CLI-16).
    fn switch(&mut self) {
        let Some(ex) = self.ex.as_mut() else { return };
        let Some(head) = ex.upgrade_head.take() else {
            return;
        };
        let leftover = ex.parser.take_leftover();
        let connect = ex.req.method() == "CONNECT";
        let listened = if connect {
            ex.connect_listener
        } else {
            ex.upgrade_listener
        };
        ex.resp = Resp::Complete;
        if listened {
            self.events.push_back(ClientEvent::Upgrade {
                head,
                leftover,
                connect,
            });
            self.finish_exchange(Disposition::Detached);
            self.state = State::Switched;
        } else {
            self.end_exchange(Disposition::Close, Close::Now);
        }
    }

    /// Whether the exchange, once over, leaves the connection open (CLI-18).
    fn keeps_connection(&self) -> bool {
        self.ex.as_ref().is_some_and(|ex| {
            ex.req.keep_alive()
                && ex.resp_keep_alive
                && ex.hold != Hold::Refused
                && !ex.req.destroyed()
                && !self.eof
        })
    }

    /// `'error'`, at most once per request.
    fn error(&mut self, err: ClientError) {
        if let Some(ex) = self.ex.as_mut() {
            if !ex.error_sent {
                ex.error_sent = true;
                ex.lost |= err.is_connection_lost();
                self.events.push_back(ClientEvent::Error(err));
            }
        }
    }

    /// The socket is going away during the exchange (Node's `socketCloseListener`):
    /// an unfinished response is aborted, then `'close'`.
    fn connection_gone(&mut self) {
        if self.state != State::Active {
            return;
        }
        if let Some(ex) = self.ex.as_mut() {
            if ex.resp == Resp::Body {
                let complete = !ex.parser_freed && !ex.doomed && {
                    ex.parser.feed_eof();
                    matches!(ex.parser.poll(), Ok(Some(Event::End(_))))
                };
                self.events.push_back(ClientEvent::Aborted { complete });
            }
        }
        self.end_exchange(Disposition::Close, Close::Now);
    }

    /// When the response ended and the request finished, a persistent exchange
    /// gives the connection back (CLI-18).
    fn maybe_keep(&mut self) {
        let Some(ex) = self.ex.as_ref() else { return };
        if self.state == State::Active
            && ex.resp == Resp::Complete
            && ex.parser_freed
            && ex.finished
            && self.keeps_connection()
        {
            let hint = ex.hint;
            self.finish_exchange(Disposition::Keep {
                keep_alive_hint: hint,
            });
            self.state = State::Idle;
        }
    }

    fn end_exchange(&mut self, disposition: Disposition, close: Close) {
        if self.state != State::Active {
            return;
        }
        if close == Close::Now {
            self.out.clear();
        }
        self.finish_exchange(disposition);
        self.state = State::Closing(close);
    }

    /// Emits `'close'` with the exchange's outcome and forgets the request.
    fn finish_exchange(&mut self, disposition: Disposition) {
        // Worked on in place and dropped there (moving the exchange out copies it).
        let Some(ex) = self.ex.as_mut() else { return };
        if ex.parser.buffered() == 0 {
            self.spare_buf = core::mem::take(ex.parser.recv_buf());
        }
        ex.parser.swap_field_storage(&mut self.spare_fields);
        let failed = ex.error_sent || (ex.resp == Resp::Body);
        let failure = failed.then(|| FailedExchange {
            reused_socket: ex.req.reused_socket(),
            connection_lost: ex.lost || self.eof,
            request_bytes_written: ex.request_bytes > 0,
            response_bytes_received: ex.response_bytes > 0,
            idempotent: is_idempotent(ex.req.method().as_bytes()),
            body_replayable: false,
            retried: false,
        });
        self.events.push_back(ClientEvent::Close(ExchangeEnd {
            disposition,
            failure,
            request_bytes: ex.request_bytes,
            response_bytes: ex.response_bytes,
        }));
        self.ex = None;
    }
}

/// Borrowing view of the running request (Node's `ClientRequest`). It dereferences
/// to [`ClientRequest`]; dropping it lets the connection pick up the output.
#[derive(Debug)]
pub struct Requester<'a> {
    conn: &'a mut ClientConn,
}

impl Requester<'_> {
    /// `req.write(chunk)`: `Ok(true)` while the unsent output stays below the
    /// high-water mark, `Ok(false)` when the caller should wait for
    /// [`ClientConn::transmitted`] (Node's `write` return value and `'drain'`).
    pub fn write(&mut self, chunk: impl Into<Bytes>) -> Result<bool, OutgoingError> {
        self.req_mut().write(chunk.into())?;
        self.conn.sync();
        let held = self
            .conn
            .ex
            .as_ref()
            .map_or(0, |ex| ex.held.iter().map(Bytes::len).sum::<usize>());
        Ok(self.conn.out.len() + held < self.conn.cfg.high_water_mark)
    }

    fn req_mut(&mut self) -> &mut ClientRequest {
        self.conn.changed = true;
        &mut self.conn.ex.as_mut().expect("a running request").req
    }
}

impl Deref for Requester<'_> {
    type Target = ClientRequest;
    fn deref(&self) -> &ClientRequest {
        &self.conn.ex.as_ref().expect("a running request").req
    }
}

impl DerefMut for Requester<'_> {
    fn deref_mut(&mut self) -> &mut ClientRequest {
        self.req_mut()
    }
}

impl Drop for Requester<'_> {
    fn drop(&mut self) {
        self.conn.changed = true;
        self.conn.sync();
    }
}
