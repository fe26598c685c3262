//! The server side of one connection as a pure state machine (SRV-1 … SRV-24).
//!
//! Bytes in ([`ServerConn::feed`], [`ServerConn::recv_eof`]), events out
//! ([`ServerConn::poll_event`]), bytes out ([`ServerConn::outgoing`],
//! [`ServerConn::transmitted`]), deadlines out ([`ServerConn::poll_timeout`]) and time
//! passed in ([`ServerConn::handle_timeout`]). Everything Node decides about a server
//! connection is decided here: dispatch order, automatic replies (100, 400, 417, 503),
//! response ordering under pipelining, persistence, client errors, the three
//! timers and shutdown. The application answers each request through
//! [`ServerConn::response`], a borrowing view over Node's `ServerResponse` semantics.
//!
//! ```
//! use std::time::Instant;
//! use courier_proto::server::{Dispatch, ServerConfig, ServerConn, ServerEvent};
//!
//! let now = Instant::now();
//! let mut conn = ServerConn::new(ServerConfig::default().into(), now);
//! conn.feed(now, b"GET /hi HTTP/1.1\r\nHost: a\r\n\r\n");
//! let Some(ServerEvent::Request { id, dispatch: Dispatch::Request, head, complete }) =
//!     conn.poll_event()
//! else {
//!     panic!()
//! };
//! assert_eq!(head.url(), b"/hi");
//! // No body: the request is complete, no `End` follows.
//! assert!(complete);
//! let mut res = conn.response(id).unwrap();
//! res.set_send_date(false);
//! res.end(Some("ok".into())).unwrap();
//! drop(res);
//! let wire: Vec<u8> = conn.outgoing().iter().flat_map(|b| b.to_vec()).collect();
//! assert_eq!(
//!     wire,
//!     b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok"
//! );
//! ```

mod config;

use core::ops::{Deref, DerefMut};
use core::time::Duration;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

pub use crate::conn::{Close, OutQueue};
pub use config::{ConfigError, Listeners, ServerConfig};

use crate::error::{Error, ErrorKind};
use crate::head::RequestHead;
use crate::headers::Headers;
use crate::outgoing::has_word;
use crate::outgoing::{HeaderValue, OutgoingError, ResponseSetup, ServerResponse};
use crate::parser::{Event, Parser};

/// Identifies one request on a connection (and the response that answers it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReqId(pub u64);

/// How a request was dispatched (SRV-3 … SRV-6): which Node event it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// `'request'(req, res)`. For `Expect: 100-continue` without a `checkContinue`
    /// taker the `100 Continue` is already queued.
    Request,
    /// `'checkContinue'(req, res)`: the application answers with
    /// `write_continue` or a final response.
    CheckContinue,
    /// `'checkExpectation'(req, res)`: an `Expect` value other than `100-continue`.
    CheckExpectation,
    /// `'dropRequest'(req, socket)`: over `maxRequestsPerSocket`; the 503 is already
    /// written (SRV-5).
    DropRequest,
    /// Answered by the server itself, with no Node event: 400 for a missing `Host`
    /// (SRV-4) or 417 for an unhandled expectation (SRV-6). Reported for
    /// observability (Node's `http.server.request.start` diagnostics channel).
    Answered,
}

/// One thing that happened on the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A request head is complete and dispatched (SRV-3).
    Request {
        /// The request (and response) id.
        id: ReqId,
        /// The parsed head.
        head: Box<RequestHead>,
        /// Which Node event this is.
        dispatch: Dispatch,
        /// The request has no body and was received completely: no
        /// [`ServerEvent::End`] follows for it (it stands for one without trailers,
        /// right after this event). Otherwise its body and its end follow.
        complete: bool,
    },
    /// A piece of the request body (MSG-11). Also reported after the response
    /// finished (the machine is then draining it, MSG-12): the application may ignore it.
    Data {
        /// The request.
        id: ReqId,
        /// The bytes, a slice of the receive buffer.
        data: Bytes,
    },
    /// The request is complete, with its trailers (MSG-8, MSG-9).
    End {
        /// The request.
        id: ReqId,
        /// The trailers; `None` without any (boxed: rare, and events are moved
        /// around).
        trailers: Option<Box<Headers>>,
    },
    /// The request ended early: `'aborted'` then `'error'` `ECONNRESET` (MSG-10).
    Aborted {
        /// The request.
        id: ReqId,
    },
    /// The response's last bytes were handed to the connection (`'finish'`, RES-27).
    /// Not reported for a response ended by
    /// [`ServerConn::end_response_usual_unreported`] (its caller takes that call's
    /// success as this event).
    Finished {
        /// The response.
        id: ReqId,
        /// Its status code.
        status: u16,
    },
    /// The response will never be written: the connection is ending or was destroyed
    /// first (`'close'` without `'finish'`, RES-27). [`ServerConn::response`] no
    /// longer finds it.
    Dropped {
        /// The response.
        id: ReqId,
    },
    /// An upgrade or CONNECT request was taken (SRV-8, SRV-9): the connection has
    /// left HTTP. Flush [`ServerConn::outgoing`], then hand the transport and
    /// `leftover` (Node's `head`) to the application.
    Upgrade {
        /// The request head.
        head: Box<RequestHead>,
        /// Every byte received after the head.
        leftover: Bytes,
        /// `'connect'` rather than `'upgrade'`.
        connect: bool,
    },
    /// A parse error or a request timeout (`'clientError'`, SRV-11). Unless the
    /// application takes client errors ([`Listeners::client_error`]), Node's default
    /// reply is already queued (SRV-12) and the connection is closing.
    ClientError {
        /// The error, with Node's code.
        error: Error,
    },
    /// Socket inactivity expired (`'timeout'`, SRV-19). Unless someone takes it, the
    /// connection is closing.
    Timeout {
        /// The request still being received, if any.
        request: Option<ReqId>,
        /// The response currently attached to the connection, if any.
        response: Option<ReqId>,
    },
}

/// A response waiting in the connection's queue (SRV-15).
#[derive(Debug)]
struct Slot {
    id: ReqId,
    res: ServerResponse,
    /// The rendered header block has been handed to the connection (Node's
    /// `_headerSent`, which decides whether SRV-12 may still write its reply).
    head_handed: bool,
    /// Someone listens for `'timeout'` on this response (RES-29).
    timeout_listener: bool,
    /// The [`ServerConn::set_date`] generation the response's clock date comes from.
    date_gen: u64,
}

/// Spare slots an idle connection keeps for its next requests (more are dropped,
/// and their memory given back, when it goes idle): a 16-deep pipelined batch
/// reuses its slots, while an idle connection holds at most this many (about
/// 0.5 KiB each) with whatever header values the last responses set.
const SPARE_SLOTS: usize = 16;

/// The responses waiting in the connection's queue, first to go out first: a ring
/// of slots that never move. A finished response leaves the queue at once and its
/// slot becomes a spare, reset in place for a later request ([`Slots::push`]): a
/// response is too large to build and move, or to drop and build again, for every
/// request. Indices count from the first unfinished slot.
#[derive(Debug)]
struct Slots {
    /// The live slots are `len` from `head` on, wrapping around; the others are
    /// spares (finished responses).
    buf: Vec<Slot>,
    head: usize,
    len: usize,
    /// The `uniqueHeaders` list the last reset slot gave back: the next request's
    /// response takes it rather than a clone of the server's (no reference-count
    /// traffic per request).
    spare_unique: Option<Arc<[Box<str>]>>,
}

impl Slots {
    fn with_capacity(n: usize) -> Self {
        Self {
            buf: Vec::with_capacity(n),
            head: 0,
            len: 0,
            spare_unique: None,
        }
    }

    /// The position in `buf` of live slot `i` (`i < buf.len()`).
    #[inline]
    fn at(&self, i: usize) -> usize {
        let p = self.head + i;
        if p >= self.buf.len() {
            p - self.buf.len()
        } else {
            p
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn get(&self, i: usize) -> Option<&Slot> {
        if i < self.len {
            Some(&self.buf[self.at(i)])
        } else {
            None
        }
    }

    fn front(&self) -> Option<&Slot> {
        if self.len == 0 {
            None
        } else {
            Some(&self.buf[self.head])
        }
    }

    fn front_mut(&mut self) -> Option<&mut Slot> {
        if self.len == 0 {
            None
        } else {
            Some(&mut self.buf[self.head])
        }
    }

    fn back(&self) -> Option<&Slot> {
        self.len.checked_sub(1).and_then(|i| self.get(i))
    }

    /// The `uniqueHeaders` list for a new response: the one a reset slot gave back
    /// when it is `cfg`'s (it always is, the server's list being fixed), else a
    /// clone of `cfg`.
    #[inline]
    fn unique_headers(&mut self, cfg: &Arc<[Box<str>]>) -> Arc<[Box<str>]> {
        match self.spare_unique.take() {
            Some(u) if Arc::ptr_eq(&u, cfg) => u,
            _ => cfg.clone(),
        }
    }

    /// A new last slot for request `id`: a spare reset in place, or a new one.
    fn push(&mut self, id: ReqId, setup: ResponseSetup, date_gen: u64) -> &mut Slot {
        if self.len < self.buf.len() {
            let p = self.at(self.len);
            self.len += 1;
            let slot = &mut self.buf[p];
            slot.id = id;
            self.spare_unique = Some(slot.res.reset(setup));
            slot.head_handed = false;
            slot.timeout_listener = false;
            slot.date_gen = date_gen;
            return slot;
        }
        self.push_new(id, setup, date_gen)
    }

    /// [`Slots::push`] when every slot is live: the ring is put in order (once per
    /// growth) and grows. Out of line: a response is large, and built on the stack.
    #[cold]
    #[inline(never)]
    fn push_new(&mut self, id: ReqId, setup: ResponseSetup, date_gen: u64) -> &mut Slot {
        self.buf.rotate_left(self.head);
        self.head = 0;
        self.len += 1;
        self.buf.push(Slot {
            id,
            res: ServerResponse::new(setup),
            head_handed: false,
            timeout_listener: false,
            date_gen,
        });
        let last = self.buf.len() - 1;
        &mut self.buf[last]
    }

    /// Where the slot of request `id` is, if it is live.
    #[inline(always)]
    fn find(&self, id: ReqId) -> Option<usize> {
        self.find_at(id).map(|(i, _)| i)
    }

    /// The slot of request `id` and where it is, if it is live.
    #[inline(always)]
    fn find_mut(&mut self, id: ReqId) -> Option<(usize, &mut Slot)> {
        let (i, p) = self.find_at(id)?;
        Some((i, &mut self.buf[p]))
    }

    /// Where the slot of request `id` is, if it is live: its index among the live
    /// slots and its position in `buf`.
    #[inline(always)]
    fn find_at(&self, id: ReqId) -> Option<(usize, usize)> {
        // Slots hold increasing ids, nearly always consecutive: try the offset first.
        if self.len > 0 {
            let d = id.0.wrapping_sub(self.buf[self.head].id.0);
            if d == 0 {
                // The front one (a handler answering in order): no wrap to work out.
                return Some((0, self.head));
            }
            if d < self.len as u64 {
                let i = d as usize;
                let p = self.at(i);
                if self.buf[p].id == id {
                    return Some((i, p));
                }
            }
        }
        self.find_slow(id).map(|i| (i, self.at(i)))
    }

    #[inline(never)]
    fn find_slow(&self, id: ReqId) -> Option<usize> {
        self.iter().position(|s| s.id == id)
    }

    fn iter(&self) -> impl Iterator<Item = &Slot> {
        let (before, from) = self.buf.split_at(self.head);
        from.iter().chain(before).take(self.len)
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Slot> {
        let (before, from) = self.buf.split_at_mut(self.head);
        from.iter_mut().chain(before).take(self.len)
    }

    /// The front slot finished: it leaves the queue and becomes a spare.
    fn retire_front(&mut self) {
        if self.len == 0 {
            return;
        }
        self.len -= 1;
        self.head = if self.len == 0 { 0 } else { self.at(1) };
    }

    /// Whether [`Self::trim_spares`] has anything to do.
    #[inline]
    fn has_extra_spares(&self) -> bool {
        self.len == 0 && self.buf.len() > SPARE_SLOTS
    }

    /// Every slot left the queue: at most [`SPARE_SLOTS`] spares are kept.
    fn trim_spares(&mut self) {
        if self.len == 0 && self.buf.len() > SPARE_SLOTS {
            self.buf.truncate(SPARE_SLOTS);
            // A long pipelined run grew the ring: an idle connection keeps none of it.
            self.buf.shrink_to(SPARE_SLOTS);
            self.head = 0;
        }
    }

    /// Takes every slot out of the queue, front first, through `f`.
    fn retire_all(&mut self, mut f: impl FnMut(&mut Slot)) {
        for s in self.iter_mut() {
            f(s);
        }
        self.len = 0;
        self.head = 0;
    }
}

impl core::ops::Index<usize> for Slots {
    type Output = Slot;
    fn index(&self, i: usize) -> &Slot {
        assert!(i < self.len, "slot index out of range");
        &self.buf[self.at(i)]
    }
}

impl core::ops::IndexMut<usize> for Slots {
    fn index_mut(&mut self, i: usize) -> &mut Slot {
        assert!(i < self.len, "slot index out of range");
        let p = self.at(i);
        &mut self.buf[p]
    }
}

/// The request whose body is being parsed.
#[derive(Debug, Clone, Copy)]
struct Reading {
    id: ReqId,
    /// Its response finished first: the rest of the body is discarded (MSG-12).
    draining: bool,
    drained: u64,
    /// Someone listens for `'timeout'` on this request (MSG, SRV-19).
    timeout_listener: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Serving HTTP.
    Open,
    /// A client error is being handled by the application (SRV-11): nothing more is
    /// parsed; the application may write raw bytes and close.
    ClientErrorTaken,
    /// The connection left HTTP (upgrade or CONNECT).
    Switched,
    /// Closing.
    Closing(Close),
}

/// The server side of one connection.
#[derive(Debug)]
pub struct ServerConn {
    cfg: Arc<ServerConfig>,
    parser: Parser,
    state: State,
    out: OutQueue,
    slots: Slots,
    reading: Option<Reading>,
    events: VecDeque<ServerEvent>,
    next_id: u64,
    /// HTTP/1.1 requests counted for `maxRequestsPerSocket` (SRV-5).
    requests_counted: u32,
    /// The configuration's `keepAliveTimeout` in milliseconds, for each response.
    keep_alive_timeout_ms: u64,
    /// The idle timeout between requests (SRV-18): `keepAliveTimeout` plus a second,
    /// `None` when `keepAliveTimeout` is zero.
    keep_alive_idle: Option<Duration>,
    /// The last [`ServerConn::set_date`] value, checked: `Some(None)` for one that
    /// is not a valid field value.
    date: Option<Option<Bytes>>,
    /// The buffer header blocks are rendered into, lent to each response while the
    /// application holds its [`Responder`]: rendering grows no buffer of its own,
    /// and each block is then copied into one allocation of its exact size (plus a
    /// small body that joins it).
    head_buf: BytesMut,
    /// The driver keeps the receive buffer of an idle connection (see
    /// [`ServerConn::set_keep_idle_buffer`]).
    keep_idle_buffer: bool,
    /// A response may have changed (output, completion) since the last
    /// [`Self::sync`]: set when a [`Responder`] is handed out and by `dispatch`.
    responses_changed: bool,
    /// The size of the allocation [`Self::head_buf`] was cut from.
    arena_size: usize,
    /// The header block the last one-pass `end` rendered, for the next one to copy.
    last_head: crate::outgoing::LastHead,
    /// Counts [`ServerConn::set_date`] calls: a response takes the date again only
    /// when it changed.
    date_gen: u64,
    eof_seen: bool,
    eof_handled: bool,
    /// Nothing more is parsed: the parser failed, or a declined upgrade ended.
    parse_stopped: bool,
    /// An upgrade request read as an ordinary request (SRV-8 without a taker).
    declined_upgrade: Option<ReqId>,
    /// After this response the connection ends (half-open EOF, SRV-16).
    close_after: Option<ReqId>,
    // --- timers ---
    last_activity: Instant,
    last_recv: Instant,
    /// The socket inactivity timeout in force (server.timeout or keep-alive).
    idle_timeout: Duration,
    keep_alive_armed: bool,
    idle_fired: bool,
    /// Start of the message being received (SRV-17); `None` while idle.
    message_start: Option<Instant>,
    headers_complete: bool,
    check_origin: Instant,
    checker_on: bool,
}

impl ServerConn {
    /// A connection accepted at `now`. The request-timeout checker's ticks are
    /// counted from `now` until [`ServerConn::set_check_origin`] says otherwise.
    pub fn new(cfg: Arc<ServerConfig>, now: Instant) -> Self {
        let parser = Parser::request(cfg.parser);
        let idle_timeout = cfg.timeout;
        Self {
            parser,
            state: State::Open,
            out: OutQueue::default(),
            // One slot is all a connection without pipelining needs; a VecDeque grows
            // to four at its first push (four responses: ~2.4 KiB per connection).
            slots: Slots::with_capacity(1),
            reading: None,
            events: VecDeque::new(),
            next_id: 0,
            requests_counted: 0,
            keep_alive_timeout_ms: millis(cfg.keep_alive_timeout),
            keep_alive_idle: (!cfg.keep_alive_timeout.is_zero()).then(|| {
                cfg.keep_alive_timeout
                    .saturating_add(Duration::from_millis(1000))
            }),
            date: None,
            head_buf: BytesMut::new(),
            arena_size: 0,
            last_head: Default::default(),
            responses_changed: false,
            keep_idle_buffer: false,
            date_gen: 0,
            eof_seen: false,
            eof_handled: false,
            parse_stopped: false,
            declined_upgrade: None,
            close_after: None,
            last_activity: now,
            last_recv: now,
            idle_timeout,
            keep_alive_armed: false,
            idle_fired: false,
            message_start: Some(now),
            headers_complete: false,
            check_origin: now,
            checker_on: true,
            cfg,
        }
    }

    /// The options.
    pub fn config(&self) -> &ServerConfig {
        &self.cfg
    }

    /// Counts the request-timeout checker's ticks from `origin` (the server's
    /// `'listening'` time, SRV-17) instead of the accept time.
    pub fn set_check_origin(&mut self, origin: Instant) {
        self.check_origin = origin;
    }

    /// Stops the headers/request timeout checks (`server.close()`, SRV-21).
    pub fn stop_checker(&mut self) {
        self.checker_on = false;
    }

    /// The value of the automatic `Date` field (an IMF-fixdate, CONST-10). The caller
    /// refreshes it once a second; without it no `Date` field is sent.
    pub fn set_date(&mut self, imf_fixdate: Bytes) {
        // Checked once here rather than by every response that takes it: a value
        // no field value may hold gives responses no clock date, as
        // `ServerResponse::set_clock_date` would.
        self.date = Some(ServerResponse::checked_clock_date(imf_fixdate));
        self.date_gen += 1;
    }

    // ------------------------------------------------------------------ input --

    /// Bytes received at `now`.
    ///
    /// Bytes that arrive after the connection stopped parsing (closing, switched,
    /// a declined upgrade's message ended) are dropped, as Node never reads them.
    pub fn feed(&mut self, now: Instant, data: &[u8]) {
        if data.is_empty() || !matches!(self.state, State::Open) || self.parse_stopped {
            return;
        }
        self.note_recv(now);
        self.parser.feed(data);
    }

    /// The receive buffer, for reading straight into its spare capacity; call
    /// [`ServerConn::received`] afterwards.
    pub fn recv_buf(&mut self) -> &mut bytes::BytesMut {
        self.parser.recv_buf()
    }

    /// Gives back the heads of requests the application is done with (taken from
    /// [`ServerEvent::Request`]): the next requests' heads are made in their memory,
    /// so a busy connection allocates no head per request. `heads` is left empty.
    /// See [`Parser::recycle_heads`].
    pub fn recycle_heads(&mut self, heads: &mut Vec<Box<RequestHead>>) {
        self.parser.recycle_heads(heads);
    }

    /// [`ServerConn::recycle_heads`] for one head.
    #[inline]
    pub fn recycle_head(&mut self, head: Box<RequestHead>) {
        self.parser.recycle_head(head);
    }

    /// Whether the receive buffer stays when the connection goes idle. By default it
    /// is freed (an idle keep-alive connection holds no receive buffer); a driver
    /// that takes it back itself when it has nothing to read (to reuse it for the
    /// next read rather than allocate another) turns this on.
    pub fn set_keep_idle_buffer(&mut self, keep: bool) {
        self.keep_idle_buffer = keep;
    }

    /// Bytes were appended to [`ServerConn::recv_buf`] at `now`.
    pub fn received(&mut self, now: Instant) {
        self.note_recv(now);
    }

    fn note_recv(&mut self, now: Instant) {
        self.touch(now);
        self.last_recv = now;
        if self.message_start.is_none() {
            self.message_start = Some(now);
        }
    }

    /// The peer half-closed (SRV-16).
    ///
    /// Once the connection is closing (a last response finished, a client error),
    /// the end of input changes nothing: Node has stopped reading by then.
    pub fn recv_eof(&mut self) {
        if !self.eof_seen {
            self.eof_seen = true;
            if matches!(self.state, State::Open) {
                self.parser.feed_eof();
            } else {
                self.eof_handled = true;
            }
        }
    }

    fn accepts_input(&self) -> bool {
        matches!(self.state, State::Open | State::Closing(Close::AfterFlush))
    }

    /// Whether the machine wants more input now: open, not at EOF, not paused by
    /// back-pressure (unsent output above the high-water mark, or too many
    /// unanswered pipelined requests). The driver polls events until `None` before
    /// reading, which keeps the receive buffer bounded by the parser's own limits.
    pub fn wants_read(&self) -> bool {
        matches!(self.state, State::Open)
            && !self.eof_seen
            && !self.pipeline_full()
            && !self.parser.is_done()
            && !self.parser.is_paused()
            && self.unsent() < self.cfg.high_water_mark
    }

    fn pipeline_full(&self) -> bool {
        self.slots.len() >= self.cfg.max_pipelined.max(1)
    }

    fn unsent(&self) -> usize {
        // Usually no response is in progress (the loop reads between requests).
        if self.slots.is_empty() {
            return self.out.len();
        }
        self.out.len()
            + self
                .slots
                .iter()
                .map(|s| s.res.buffered_len())
                .sum::<usize>()
    }

    // ----------------------------------------------------------------- output --

    /// The bytes to write, in order.
    pub fn outgoing(&mut self) -> &OutQueue {
        self.sync();
        &self.out
    }

    /// `n` bytes of [`ServerConn::outgoing`] were written at `now`.
    pub fn transmitted(&mut self, now: Instant, n: usize) {
        if n > 0 {
            bytes::Buf::advance(&mut self.out, n);
            self.touch(now);
        }
        self.sync();
        if self.slots.is_empty() {
            self.out.shrink_idle();
        }
    }

    /// The buffer responses are rendered into, when nothing waits to be written and
    /// it has room: for a driver that keeps one buffer for the connections of a
    /// thread (rendering into memory a busy thread just used, not into a buffer of
    /// each connection's that went cold). The connection makes a new one when it
    /// needs one and has none.
    pub fn take_output_buffer(&mut self) -> Option<Vec<u8>> {
        self.out.take_idle_buf()
    }

    /// Whether the connection has a buffer to render responses into.
    pub fn has_output_buffer(&self) -> bool {
        self.out.has_buf()
    }

    /// Gives the connection an empty buffer to render responses into (see
    /// [`ServerConn::take_output_buffer`]); `buf` comes back when the connection has
    /// one already.
    pub fn give_output_buffer(&mut self, buf: Vec<u8>) -> Result<(), Vec<u8>> {
        self.out.give_buf(buf)
    }

    /// Writes raw bytes (for an application that took a client error, SRV-11, or
    /// that answers on the socket directly).
    pub fn write_raw(&mut self, data: Bytes) {
        if !matches!(self.state, State::Closing(Close::Now)) {
            self.out.push(data);
        }
    }

    /// Whether and how the connection should close.
    pub fn wants_close(&mut self) -> Option<Close> {
        self.sync();
        match self.state {
            State::Closing(c) => Some(c),
            _ => None,
        }
    }

    /// Ends the connection after the queued bytes (`socket.end()`).
    pub fn close(&mut self) {
        self.begin_close(Close::AfterFlush);
    }

    /// Destroys the connection (`socket.destroy()`, `closeAllConnections`, SRV-22):
    /// unsent bytes are dropped, unfinished requests are aborted.
    pub fn destroy(&mut self) {
        self.begin_close(Close::Now);
        self.out.clear();
    }

    /// Node's idle test (SRV-21, SRV-23): no request in progress and no response
    /// unfinished. A connection that sent nothing yet is not idle.
    pub fn is_idle(&self) -> bool {
        self.message_start.is_none() && self.slots.is_empty()
    }

    /// `closeIdleConnections()` for this connection (SRV-23): destroys it when idle.
    /// Returns whether it did.
    pub fn close_if_idle(&mut self) -> bool {
        if self.is_idle() && !matches!(self.state, State::Closing(Close::Now)) {
            self.destroy();
            true
        } else {
            false
        }
    }

    /// `server.close()` for this connection (SRV-21): idle connections are destroyed,
    /// active ones go on, without the request timeout checks.
    pub fn server_close(&mut self) {
        self.stop_checker();
        self.close_if_idle();
    }

    // ----------------------------------------------------------------- events --

    /// The next event, or `None` when the machine needs input, is waiting for the
    /// application (pipelining bound, paused upgrade) or is done.
    #[inline]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        // What the full pass below would conclude, without its set-up, when no
        // response changed since the last pass: a queued event is next; otherwise,
        // with nothing received (the usual last look of a batch), there is none.
        if !self.responses_changed {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            if self.open_and_waiting() {
                return None;
            }
        }
        self.poll_event_full()
    }

    /// Whether [`ServerConn::poll_event`] has nothing to report now: no response
    /// changed, no event is queued and nothing was received since the last event. A
    /// cheap look for a driver's loop (`poll_event` would return `None`).
    #[inline]
    pub fn has_no_event(&self) -> bool {
        !self.responses_changed && self.events.is_empty() && self.open_and_waiting()
    }

    /// Serving HTTP, with nothing received to parse.
    #[inline]
    fn open_and_waiting(&self) -> bool {
        matches!(self.state, State::Open) && !self.parse_stopped && self.parser.is_waiting()
    }

    /// [`ServerConn::poll_event`]'s full pass.
    #[inline(never)]
    fn poll_event_full(&mut self) -> Option<ServerEvent> {
        loop {
            self.sync();
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            if !self.accepts_input() {
                return None;
            }
            if self.parse_stopped {
                if self.eof_seen && !self.eof_handled {
                    self.eof_handled = true;
                    self.on_eof();
                    continue;
                }
                return None;
            }
            if self.parser.is_idle() && self.pipeline_full() {
                return None;
            }
            match self.parser.poll() {
                Ok(Some(Event::Request(head))) => {
                    if let Some(e) = self.dispatch(head) {
                        return Some(e);
                    }
                }
                Ok(Some(Event::Data(data))) => {
                    let Some(r) = &mut self.reading else { continue };
                    let id = r.id;
                    if r.draining {
                        r.drained += data.len() as u64;
                        if r.drained > self.cfg.drain_budget {
                            self.begin_close(Close::AfterFlush);
                        }
                    }
                    return Some(ServerEvent::Data { id, data });
                }
                Ok(Some(Event::End(trailers))) => {
                    let Some(r) = self.reading.take() else {
                        continue;
                    };
                    self.message_ended();
                    if self.declined_upgrade == Some(r.id) {
                        // llhttp pauses for good at the end of an upgrade message that
                        // was read as an ordinary one; Node ignores every later byte.
                        self.parse_stopped = true;
                        self.message_start = None;
                    }
                    return Some(ServerEvent::End { id: r.id, trailers });
                }
                Ok(Some(Event::Response(_))) => continue,
                Ok(None) => {
                    if matches!(self.state, State::Closing(_)) {
                        // Every byte Node would still parse is parsed: the connection
                        // now closes, aborting the request still being received whose
                        // response never finished (MSG-10).
                        self.parse_stopped = true;
                        if let Some(r) = self.reading.take() {
                            if !r.draining {
                                self.events.push_back(ServerEvent::Aborted { id: r.id });
                            }
                        }
                        continue;
                    }
                    if self.parser.is_done() && self.eof_seen && !self.eof_handled {
                        self.eof_handled = true;
                        self.on_eof();
                        continue;
                    }
                    return None;
                }
                Err(e) => {
                    self.client_error(e);
                    continue;
                }
            }
        }
    }

    /// The message being received ended (its `reading` is taken): the request
    /// timer restarts with the next message's first byte.
    #[inline]
    fn message_ended(&mut self) {
        self.message_start = (self.parser.buffered() > 0).then_some(self.last_recv);
        self.headers_complete = false;
    }

    fn next_id(&mut self) -> ReqId {
        let id = ReqId(self.next_id);
        self.next_id += 1;
        id
    }

    /// SRV-3: what happens when a request head is complete.
    #[inline(always)]
    fn dispatch(&mut self, head: Box<RequestHead>) -> Option<ServerEvent> {
        self.headers_complete = true;
        // 1. the keep-alive timer gives way to server.timeout
        if self.keep_alive_armed {
            self.keep_alive_armed = false;
            self.idle_timeout = self.cfg.timeout;
        }
        // 2. upgrade candidates (PRS-27)
        if head.info.upgrade {
            let connect = head.method.is_connect();
            let taken = if connect {
                self.cfg.listeners.connect
            } else {
                self.cfg.listeners.upgrade
            };
            if taken {
                let leftover = self.parser.take_leftover();
                self.state = State::Switched;
                self.message_start = None;
                self.events.push_back(ServerEvent::Upgrade {
                    head,
                    leftover,
                    connect,
                });
                return None;
            }
            if connect {
                // SRV-9: no taker: destroyed, no bytes written.
                self.destroy();
                return None;
            }
            self.parser.resume();
        }
        let declined = head.info.upgrade;
        // 3. the response, queued behind unfinished ones (SRV-15)
        let id = self.next_id();
        if declined {
            self.declined_upgrade = Some(id);
        }
        let v = head.version;
        let is_11 = v.major == 1 && v.minor == 1;
        let mut setup = ResponseSetup {
            head_request: head.method.is_head(),
            version: v,
            keep_alive: head.info.keep_alive,
            te_chunked: is_11 || head.headers.get_all("te").any(|t| has_word(t, b"chunked")),
            keep_alive_timeout_ms: self.keep_alive_timeout_ms,
            max_requests_per_socket: self.cfg.max_requests_per_socket,
            requests_limit_reached: false,
            expect_continue: false,
            unique_headers: self.slots.unique_headers(&self.cfg.unique_headers),
            reject_non_standard_body_writes: self.cfg.reject_non_standard_body_writes,
        };
        // 4. HTTP/1.1 only: Host, maxRequestsPerSocket, Expect
        let mut dispatch = Dispatch::Request;
        let mut answer: Option<u16> = None;
        let mut write_continue = false;
        if is_11 {
            let max = self.cfg.max_requests_per_socket;
            // The parser noted both names as it read the fields.
            let (has_host, has_expect) = (head.info.has_host, head.info.has_expect);
            if self.cfg.require_host_header && !has_host {
                answer = Some(400);
                dispatch = Dispatch::Answered;
            } else {
                if max > 0 {
                    self.requests_counted = self.requests_counted.saturating_add(1);
                    setup.requests_limit_reached = max <= self.requests_counted;
                }
                if max > 0 && max < self.requests_counted {
                    answer = Some(503);
                    dispatch = Dispatch::DropRequest;
                } else if has_expect {
                    if head
                        .headers
                        .get_all("expect")
                        .any(|e| has_word(e, b"100-continue"))
                    {
                        setup.expect_continue = true;
                        if self.cfg.listeners.check_continue {
                            dispatch = Dispatch::CheckContinue;
                        } else {
                            write_continue = true;
                        }
                    } else if self.cfg.listeners.check_expectation {
                        dispatch = Dispatch::CheckExpectation;
                    } else {
                        answer = Some(417);
                        dispatch = Dispatch::Answered;
                    }
                }
            }
        }
        // 5. the event
        let open = matches!(self.state, State::Open);
        // Without an automatic reply the event goes straight back to `poll_event`
        // rather than through the queue: nothing is queued before it, and the pass of
        // `sync` it would wait for has nothing to pick up (the new response has no
        // output yet, and the others did not change since the last pass): it is not
        // owed one either.
        let direct = open && answer.is_none() && !write_continue && self.events.is_empty();
        // A request without a body ends right after its head (the parser has nothing
        // else to say in between): it is delivered complete, its end taken now rather
        // than in a second pass (never for a declined upgrade, which stops parsing
        // at its end).
        let complete = direct && !declined && self.parser.take_end_next();
        // The request is being received until its end (a complete one has ended).
        self.reading = if complete {
            None
        } else {
            Some(Reading {
                id,
                draining: false,
                drained: 0,
                timeout_listener: false,
            })
        };
        if complete {
            self.message_ended();
        }
        let event = ServerEvent::Request {
            id,
            head,
            dispatch,
            complete,
        };
        if !open {
            // A last response already ended the connection (SRV-14): this one is
            // dispatched, as Node does, but never written.
            self.events.push_back(event);
            self.events.push_back(ServerEvent::Dropped { id });
            return None;
        }
        let mut event = Some(event);
        if !direct {
            self.events.extend(event.take());
        }
        // Made in its slot (a spare reset in place when there is one): a response is
        // too large to build and then move.
        let date_gen = self.date_gen;
        let Slot { res, .. } = self.slots.push(id, setup, date_gen);
        self.responses_changed |= !direct;
        // The date is cloned only when the slot does not hold it already.
        let date = self.date.as_ref().and_then(Option::as_ref);
        if !res.has_clock_date(date) {
            res.set_clock_date_checked(date.cloned());
        }
        if answer.is_some() || write_continue {
            auto_reply(res, answer);
        }
        event
    }

    /// SRV-16: end of input at a message boundary.
    fn on_eof(&mut self) {
        if !matches!(self.state, State::Open) {
            return;
        }
        if !self.cfg.http_allow_half_open {
            // Responses not handed over yet are lost.
            self.abort_incoming();
            self.begin_close(Close::AfterFlush);
        } else if let Some(last) = self.slots.back() {
            self.close_after = Some(last.id);
        } else {
            self.begin_close(Close::AfterFlush);
        }
    }

    /// SRV-11/12: a parse error or a request timeout.
    fn client_error(&mut self, error: Error) {
        if !matches!(self.state, State::Open | State::Closing(Close::AfterFlush)) {
            return;
        }
        self.parse_stopped = true;
        let writable = matches!(self.state, State::Open);
        self.events.push_back(ServerEvent::ClientError {
            error: error.clone(),
        });
        if self.cfg.listeners.client_error {
            self.state = State::ClientErrorTaken;
            return;
        }
        let attached_sent = self.slots.front().is_some_and(|s| s.head_handed);
        if writable && !attached_sent {
            self.out
                .push(Bytes::from_static(default_reply(error.kind())));
        }
        self.abort_incoming();
        self.begin_close(Close::AfterFlush);
    }

    /// Requests whose responses will never be written: the one being received is
    /// aborted (MSG-10); pending responses are dropped.
    fn abort_incoming(&mut self) {
        if let Some(r) = self.reading.take() {
            if !r.draining {
                self.events.push_back(ServerEvent::Aborted { id: r.id });
            }
        }
        self.drop_slots();
        self.message_start = None;
    }

    /// Destroys every unfinished response.
    fn drop_slots(&mut self) {
        let events = &mut self.events;
        self.slots.retire_all(|s| {
            s.res.destroy();
            events.push_back(ServerEvent::Dropped { id: s.id });
        });
    }

    fn begin_close(&mut self, how: Close) {
        match (self.state, how) {
            (State::Closing(Close::Now), _) => {}
            (_, Close::Now) => {
                self.abort_incoming();
                self.state = State::Closing(Close::Now);
            }
            _ => self.state = State::Closing(Close::AfterFlush),
        }
    }

    /// Moves output of the attached response to the socket queue, retires finished
    /// responses in order (SRV-14) and arms the keep-alive timer.
    #[inline]
    fn sync(&mut self) {
        // Responses change only through a `Responder` and in `dispatch`: nothing to
        // look at since the last pass otherwise.
        if self.responses_changed {
            self.sync_changed();
        }
    }

    /// [`Self::sync`] when a response may have changed.
    #[inline(never)]
    fn sync_changed(&mut self) {
        self.responses_changed = false;
        let mut finished_any = false;
        while let Some(head) = self.slots.front_mut() {
            if head.res.buffered_len() > 0 {
                let out = &mut self.out;
                head.res.take_output_each(|seg| out.push(seg));
            }
            if head.res.headers_sent() && head.res.header_flushed() {
                head.head_handed = true;
            }
            if !head.res.is_complete() {
                break;
            }
            finished_any = true;
            if self.retire_finished_front() {
                return;
            }
        }
        if finished_any && self.slots.is_empty() && matches!(self.state, State::Open) {
            self.went_idle();
        }
    }

    /// The front response finished, every byte of it in the output queue: it leaves
    /// the queue (SRV-14). Returns `true` when it was the connection's last.
    #[inline(always)]
    fn retire_finished_front(&mut self) -> bool {
        let Some(head) = self.slots.front() else {
            return false;
        };
        let (id, status, last) = (head.id, head.res.status_code(), head.res.is_last());
        self.retire_front_as(id, status, last, true)
    }

    /// [`Self::retire_finished_front`] with what it reads of the front response:
    /// its id, status and whether it is the connection's last; `report`: whether
    /// its [`ServerEvent::Finished`] is queued.
    #[inline(always)]
    fn retire_front_as(&mut self, id: ReqId, status: u16, last: bool, report: bool) -> bool {
        // Left in place as a spare: a response is too large to move for nothing.
        self.slots.retire_front();
        if report {
            self.events.push_back(ServerEvent::Finished { id, status });
        }
        if let Some(r) = &mut self.reading {
            if r.id == id {
                r.draining = true;
            }
        }
        if last || self.close_after == Some(id) {
            self.last_finished();
            return true;
        }
        false
    }

    /// [`Self::sync`] after the front response was ended straight into the output
    /// queue ([`ServerResponse::end_into`]): what the first pass of
    /// [`Self::sync_changed`] would find is known. `report`: whether its
    /// [`ServerEvent::Finished`] is queued.
    #[inline(always)]
    fn sync_front_ended(&mut self, report: bool) {
        let Some(head) = self.slots.front_mut() else {
            // Not reached: the front response was just ended.
            self.responses_changed = false;
            if matches!(self.state, State::Open) {
                self.went_idle();
            }
            return;
        };
        debug_assert!(head.res.is_complete() && head.res.header_flushed());
        head.head_handed = true;
        let (id, status, last) = (head.id, head.res.status_code(), head.res.is_last());
        self.responses_changed = false;
        if self.retire_front_as(id, status, last, report) {
            return;
        }
        match self.slots.front() {
            // The next response was written to, or even finished, before this one
            // (what `sync_changed` picks up). One that was not, the usual case with
            // pipelined requests, leaves nothing to do: the ones behind it wait.
            Some(next) => {
                if next.res.buffered_len() > 0 || next.res.headers_sent() || next.res.is_complete()
                {
                    self.sync_changed();
                }
            }
            None => {
                if matches!(self.state, State::Open) {
                    self.went_idle();
                }
            }
        }
    }

    /// The connection's last response finished (out of line: once per connection).
    #[inline(never)]
    fn last_finished(&mut self) {
        // Later responses are never written.
        self.drop_slots();
        self.begin_close(Close::AfterFlush);
    }

    /// Every response finished and the connection stays open (out of line: once per
    /// batch of pipelined requests).
    #[inline(never)]
    fn went_idle(&mut self) {
        // Idle between requests: an idle connection holds no receive buffer, no
        // more than a few spare slots and a small rendering arena.
        if !self.keep_idle_buffer
            || self.slots.has_extra_spares()
            || self.arena_size > crate::outgoing::ARENA_IDLE
            || self.last_head.is_large()
        {
            self.release_idle_memory();
        }
        // SRV-18: keep-alive timer while waiting for the next request.
        if let Some(idle) = self.keep_alive_idle {
            self.keep_alive_armed = true;
            self.idle_timeout = idle;
            self.idle_fired = false;
        }
    }

    /// The memory part of [`Self::went_idle`] (out of line: a connection rarely
    /// holds more than it keeps when idle).
    #[inline(never)]
    fn release_idle_memory(&mut self) {
        if !self.keep_idle_buffer {
            self.parser.release_idle_buffer();
        }
        self.slots.trim_spares();
        if self.arena_size > crate::outgoing::ARENA_IDLE {
            self.head_buf = BytesMut::new();
            self.arena_size = 0;
        }
        self.last_head.shrink_idle();
    }

    // -------------------------------------------------------------- responses --

    /// The response to request `id`, while it is unfinished. Dropping the view lets
    /// the connection pick up what was written.
    pub fn response(&mut self, id: ReqId) -> Option<Responder<'_>> {
        let idx = self.slot_index(id)?;
        if !self.slots[idx].res.headers_sent() {
            self.refill_arena();
        }
        self.responses_changed = true;
        let slot = &mut self.slots[idx];
        slot.res.lend_buf(core::mem::take(&mut self.head_buf));
        if slot.date_gen != self.date_gen {
            // A new date since this response last saw one.
            slot.date_gen = self.date_gen;
            if let Some(d) = &self.date {
                slot.res.set_clock_date_checked(d.clone());
            }
        }
        Some(Responder { conn: self, idx })
    }

    /// `end(chunk)` on the response to request `id` ([`ServerConn::response`] then
    /// [`ServerResponse::end`], in one step): `None`, `chunk` left in place, when the
    /// response is gone; else `end`'s result and the response's bytes still unsent
    /// after it ([`ServerResponse::buffered_len`]).
    pub fn end_response(
        &mut self,
        id: ReqId,
        chunk: &mut Option<Bytes>,
    ) -> Option<(Result<(), OutgoingError>, usize)> {
        if let Some(data) = chunk.as_ref() {
            if self.end_response_usual(id, data) {
                *chunk = None;
                return Some((Ok(()), 0));
            }
        }
        self.end_response_general(id, chunk)
    }

    /// [`ServerConn::end_response`] in the usual case only: `end(data)` on the first
    /// response in the queue, fresh, with a small body (the usual case of
    /// `ServerResponse::end`) goes straight to the output, leaving no bytes
    /// unsent in the response. Returns `false`, having changed nothing, in any other
    /// case (then [`ServerConn::end_response_general`] ends it).
    #[inline]
    pub fn end_response_usual(&mut self, id: ReqId, data: &Bytes) -> bool {
        self.end_usual(id, data, true).is_some()
    }

    /// [`ServerConn::end_response_usual`] for a caller that takes its success as the
    /// response's [`ServerEvent::Finished`]: none is queued for it. Returns, when the
    /// response ended, how many bytes [`ServerConn::outgoing`] held right after its
    /// last one (the responses behind it, finished already, may have added theirs
    /// since: they report their own `Finished`).
    #[inline]
    pub fn end_response_usual_unreported(&mut self, id: ReqId, data: &Bytes) -> Option<usize> {
        self.end_usual(id, data, false)
    }

    /// [`ServerConn::end_response_usual`], its `Finished` queued when `report`;
    /// `Some(queued after it)` when it ended.
    #[inline(always)]
    fn end_usual(&mut self, id: ReqId, data: &Bytes, report: bool) -> Option<usize> {
        let waiting = self.slots.len();
        // The first response in the queue writes to the connection's output itself
        // (nothing of it, or of those before it, is waiting elsewhere).
        let slot = self.slots.front_mut()?;
        if slot.id != id {
            return None;
        }
        if slot.date_gen != self.date_gen {
            slot.date_gen = self.date_gen;
            if let Some(d) = &self.date {
                slot.res.set_clock_date_checked(d.clone());
            }
        }
        // Room for the responses waiting, as the rendering arena is sized.
        let room = (waiting * 256).min(crate::outgoing::ARENA_MAX * 4);
        let last = &mut self.last_head;
        if self
            .out
            .append(room, |out| slot.res.end_into(data, out, last))
        {
            let queued = self.out.len();
            self.sync_front_ended(report);
            return Some(queued);
        }
        None
    }

    /// [`ServerConn::end_response`] without trying [`ServerConn::end_response_usual`]
    /// (the caller did).
    pub fn end_response_general(
        &mut self,
        id: ReqId,
        chunk: &mut Option<Bytes>,
    ) -> Option<(Result<(), OutgoingError>, usize)> {
        let (idx, slot) = self.slots.find_mut(id)?;
        if slot.date_gen != self.date_gen {
            slot.date_gen = self.date_gen;
            if let Some(d) = &self.date {
                slot.res.set_clock_date_checked(d.clone());
            }
        }
        if !self.slots[idx].res.headers_sent() {
            self.refill_arena();
        }
        let slot = &mut self.slots[idx];
        slot.res.lend_buf(core::mem::take(&mut self.head_buf));
        let result = slot.res.end(chunk.take());
        let buffered = slot.res.buffered_len();
        self.head_buf = slot.res.take_lent_buf();
        self.responses_changed = true;
        self.sync();
        Some((result, buffered))
    }

    /// The response to request `id`, while it is unfinished, for changes that write
    /// nothing: its header store, status and flags (`set_header`, `status_code = …`).
    /// Cheaper than [`ServerConn::response`]: no rendering buffer is lent and nothing
    /// is picked up on return. Anything it does write (a header block, a body) is
    /// picked up by the next [`ServerConn::poll_event`] or [`ServerConn::outgoing`]
    /// and rendered without the connection's buffer.
    pub fn response_fields(&mut self, id: ReqId) -> Option<&mut ServerResponse> {
        let (_, slot) = self.slots.find_mut(id)?;
        self.responses_changed = true;
        Some(&mut slot.res)
    }

    /// The response to request `id`, while it is unfinished, to look at.
    pub fn response_state(&self, id: ReqId) -> Option<&ServerResponse> {
        let idx = self.slot_index(id)?;
        Some(&self.slots[idx].res)
    }

    /// Whether a response other than the one to request `except` is unfinished:
    /// still in the queue, its `Finished` (or `Dropped`) event not produced yet.
    pub fn has_response_other_than(&self, except: Option<ReqId>) -> bool {
        self.slots.iter().any(|s| Some(s.id) != except)
    }

    /// Where the response to request `id` is in the queue.
    #[inline]
    fn slot_index(&self, id: ReqId) -> Option<usize> {
        self.slots.find(id)
    }

    /// Makes sure the rendering arena has room for a header block: reclaimed in
    /// place when every block cut from it was written, else a new one, sized for
    /// the responses waiting (a pipelined run shares one allocation).
    fn refill_arena(&mut self) {
        use crate::outgoing::{ARENA_IDLE, ARENA_MAX, LENT_BLOCK};
        if self.head_buf.capacity() >= LENT_BLOCK || self.head_buf.try_reclaim(LENT_BLOCK) {
            return;
        }
        let size = (self.slots.len() * 256).clamp(ARENA_IDLE, ARENA_MAX);
        self.head_buf = BytesMut::with_capacity(size);
        self.arena_size = size;
    }

    /// Whether any response bytes of the attached response went out (SRV-12).
    pub fn response_started(&self) -> bool {
        self.slots.front().is_some_and(|s| s.head_handed)
    }

    // ----------------------------------------------------------------- timers --

    fn touch(&mut self, now: Instant) {
        self.last_activity = now;
        self.idle_fired = false;
    }

    fn idle_deadline(&self) -> Option<Instant> {
        if self.idle_timeout.is_zero()
            || self.idle_fired
            || !matches!(self.state, State::Open | State::ClientErrorTaken)
        {
            return None;
        }
        Some(self.last_activity + self.idle_timeout)
    }

    /// The first checker tick at which the running message counts as expired (SRV-17).
    /// The usual answer (no message under way) in place, the tick out of line.
    #[inline]
    fn check_deadline(&self) -> Option<Instant> {
        if !self.checker_on || !matches!(self.state, State::Open) {
            return None;
        }
        self.check_deadline_of(self.message_start?)
    }

    /// [`Self::check_deadline`] for a message that started at `start`.
    #[inline(never)]
    fn check_deadline_of(&self, start: Instant) -> Option<Instant> {
        let headers = self.cfg.headers_timeout();
        let request = self.cfg.request_timeout;
        let mut limit: Option<Duration> = None;
        if !self.headers_complete && !headers.is_zero() {
            limit = Some(headers);
        }
        if !request.is_zero() {
            limit = Some(limit.map_or(request, |l| l.min(request)));
        }
        let deadline = start + limit?;
        let interval = self.cfg.connections_checking_interval;
        if interval.is_zero() {
            return Some(deadline + Duration::from_millis(1));
        }
        // The first tick strictly after the deadline (Node checks `now - start > limit`).
        let since = deadline.saturating_duration_since(self.check_origin);
        let ticks = since.as_nanos() / interval.as_nanos() + 1;
        let ticks = u32::try_from(ticks).unwrap_or(u32::MAX);
        Some(self.check_origin + interval * ticks)
    }

    /// The earliest time at which [`ServerConn::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.idle_deadline(), self.check_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fires the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.check_deadline().is_some_and(|d| d <= now) {
            self.client_error(Error::new(ErrorKind::RequestTimeout, "Request timeout", 0));
        }
        if self.idle_deadline().is_some_and(|d| d <= now) {
            self.idle_fired = true;
            let request = self.reading.filter(|r| !r.draining).map(|r| r.id);
            let response = self.slots.front().map(|s| s.id);
            let listened = self.cfg.listeners.timeout
                || self.reading.is_some_and(|r| r.timeout_listener)
                || self.slots.front().is_some_and(|s| s.timeout_listener);
            self.events
                .push_back(ServerEvent::Timeout { request, response });
            if !listened {
                self.destroy();
            }
        }
    }

    /// Whether someone listens for `'timeout'` on request `id` (`req.setTimeout(ms, cb)`).
    /// While the request is still being received, such a listener keeps an inactivity
    /// timeout from destroying the connection (SRV-19).
    pub fn set_request_timeout_listener(&mut self, id: ReqId, on: bool) {
        if let Some(r) = &mut self.reading {
            if r.id == id {
                r.timeout_listener = on;
            }
        }
    }

    /// Whether someone listens for `'timeout'` on response `id` (RES-29). While the
    /// response is attached to the connection, such a listener keeps an inactivity
    /// timeout from destroying the connection (SRV-19).
    pub fn set_response_timeout_listener(&mut self, id: ReqId, on: bool) {
        if let Some(s) = self.slots.iter_mut().find(|s| s.id == id) {
            s.timeout_listener = on;
        }
    }

    /// Sets the socket inactivity timeout (`socket.setTimeout`, RES-29); zero turns it off.
    pub fn set_idle_timeout(&mut self, timeout: Duration) {
        self.idle_timeout = timeout;
        self.keep_alive_armed = false;
        self.idle_fired = false;
    }
}

/// Borrowing view of one response (Node's `ServerResponse`). It dereferences to
/// [`ServerResponse`]; dropping it lets the connection pick up the output.
#[derive(Debug)]
pub struct Responder<'a> {
    conn: &'a mut ServerConn,
    idx: usize,
}

impl Responder<'_> {
    /// The request this response answers.
    pub fn id(&self) -> ReqId {
        self.conn.slots[self.idx].id
    }

    /// `res.write(chunk)`: `Ok(true)` while the unsent output stays below the
    /// high-water mark, `Ok(false)` when the caller should wait (RES-23).
    pub fn write(&mut self, chunk: impl Into<Bytes>) -> Result<bool, OutgoingError> {
        self.conn.slots[self.idx].res.write(chunk.into())?;
        self.conn.sync_if_head(self.idx);
        Ok(self.conn.unsent() < self.conn.cfg.high_water_mark)
    }

    /// `res.setTimeout(ms)` with a callback (RES-29): sets the socket inactivity
    /// timeout; the `'timeout'` then goes to the application instead of closing.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.conn.slots[self.idx].timeout_listener = true;
        self.conn.set_idle_timeout(timeout);
    }
}

impl ServerConn {
    fn sync_if_head(&mut self, idx: usize) {
        self.responses_changed = true;
        if idx == 0 {
            self.sync();
        }
    }
}

impl Deref for Responder<'_> {
    type Target = ServerResponse;
    fn deref(&self) -> &ServerResponse {
        &self.conn.slots[self.idx].res
    }
}

impl DerefMut for Responder<'_> {
    fn deref_mut(&mut self) -> &mut ServerResponse {
        &mut self.conn.slots[self.idx].res
    }
}

impl Drop for Responder<'_> {
    fn drop(&mut self) {
        self.conn.head_buf = self.conn.slots[self.idx].res.take_lent_buf();
        self.conn.responses_changed = true;
        self.conn.sync();
    }
}

/// SRV-12: Node's default reply to a client error.
pub fn default_reply(kind: ErrorKind) -> &'static [u8] {
    match kind.status_hint() {
        431 => b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n",
        413 => b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n",
        408 => b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n",
        _ => b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n",
    }
}

/// Node's automatic reply to a request dispatched with one (SRV-3): the status
/// `answer` and its end, or else `100 Continue`. Out of line: most requests get
/// none, and [`ServerConn::dispatch`]'s frame stays small without it.
#[cold]
#[inline(never)]
fn auto_reply(res: &mut ServerResponse, answer: Option<u16>) {
    // Node's automatic replies cannot fail: fixed, valid statuses and fields.
    match answer {
        Some(400) => {
            let _ = res.write_head(400, None, [("Connection", HeaderValue::from("close"))]);
            let _ = res.end(None);
        }
        Some(code) => {
            let _ = res.write_head(code, None, []);
            let _ = res.end(None);
        }
        None => {
            let _ = res.write_continue();
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` and returns the ids of the requests they held.
    fn requests(conn: &mut ServerConn, now: Instant, bytes: &[u8]) -> Vec<ReqId> {
        conn.recv_buf().reserve(8192);
        conn.recv_buf().extend_from_slice(bytes);
        conn.received(now);
        let mut ids = Vec::new();
        while let Some(ev) = conn.poll_event() {
            if let ServerEvent::Request { id, .. } = ev {
                ids.push(id);
            }
        }
        ids
    }

    fn answer(conn: &mut ServerConn, id: ReqId, body: &'static [u8]) {
        let mut r = conn.response(id).expect("open");
        r.set_header("Content-Type", "text/plain").expect("valid");
        r.end(Some(Bytes::from_static(body))).expect("ends");
    }

    /// Every event, and whether `has_no_event` said there was none before each poll.
    fn drain(conn: &mut ServerConn) -> Vec<ServerEvent> {
        let mut out = Vec::new();
        loop {
            let quiet = conn.has_no_event();
            match conn.poll_event() {
                Some(e) => {
                    assert!(!quiet, "has_no_event before {e:?}");
                    out.push(e);
                }
                None => return out,
            }
        }
    }

    #[test]
    fn has_no_event_agrees_with_poll_event() {
        let now = Instant::now();
        let mut conn = ServerConn::new(Arc::new(ServerConfig::default()), now);
        assert!(conn.has_no_event());
        assert_eq!(conn.poll_event(), None);
        conn.feed(
            now,
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert!(!conn.has_no_event());
        let ids: Vec<_> = drain(&mut conn)
            .into_iter()
            .filter_map(|e| match e {
                ServerEvent::Request { id, .. } => Some(id),
                _ => None,
            })
            .collect();
        assert_eq!(ids.len(), 2);
        assert!(conn.has_no_event());
        answer(&mut conn, ids[0], b"a");
        answer(&mut conn, ids[1], b"b");
        assert!(!conn.has_no_event());
        let finished = drain(&mut conn)
            .into_iter()
            .filter(|e| matches!(e, ServerEvent::Finished { .. }))
            .count();
        assert_eq!(finished, 2);
        // A partial head is input: the full pass looks at it.
        conn.feed(now, b"GET /c HT");
        assert!(!conn.has_no_event());
        assert_eq!(conn.poll_event(), None);
        conn.recv_eof();
        assert!(!conn.has_no_event());
        assert!(matches!(
            conn.poll_event(),
            Some(ServerEvent::ClientError { .. })
        ));
    }

    #[test]
    fn an_idle_connection_gives_its_receive_buffer_back() {
        let now = Instant::now();
        let mut conn = ServerConn::new(Arc::new(ServerConfig::default()), now);
        let ids = requests(&mut conn, now, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(conn.recv_buf().capacity() > 0);
        answer(&mut conn, ids[0], b"hi");
        assert_eq!(conn.recv_buf().capacity(), 0, "idle: no receive buffer");
        // Not while a pipelined request is unanswered.
        let ids = requests(
            &mut conn,
            now,
            b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
        );
        answer(&mut conn, ids[0], b"1");
        assert!(conn.recv_buf().capacity() > 0);
        answer(&mut conn, ids[1], b"2");
        assert_eq!(conn.recv_buf().capacity(), 0);
        let wire: Vec<u8> = conn.outgoing().iter().flat_map(|b| b.to_vec()).collect();
        assert_eq!(
            wire.windows(12).filter(|w| w == b"HTTP/1.1 200").count(),
            3,
            "three responses"
        );
        assert!(wire.ends_with(b"Content-Length: 1\r\n\r\n2"));
    }

    /// What `answer` writes for each request of `input` on `conn`, answered last first.
    fn serve_reversed(conn: &mut ServerConn, now: Instant, input: &[u8]) -> Vec<u8> {
        let ids = requests(conn, now, input);
        for (i, id) in ids.iter().enumerate().rev() {
            let r = conn.response(*id).expect("open");
            assert_eq!(r.status_code(), 200, "fresh status");
            assert_eq!(r.status_message(), None, "fresh status message");
            assert!(r.send_date(), "fresh sendDate");
            assert!(!r.strict_content_length(), "fresh strictContentLength");
            assert!(!r.headers_sent(), "fresh headersSent");
            assert!(!r.has_header("x-round"), "fresh header store");
            assert!(r.get_header_names().is_empty(), "fresh header store");
            drop(r);
            answer(conn, *id, format!("{i}").leak().as_bytes());
        }
        while conn.poll_event().is_some() {}
        conn.outgoing().iter().flat_map(|b| b.to_vec()).collect()
    }

    #[test]
    fn the_ring_of_slots_keeps_request_order_when_it_wraps_and_grows() {
        let now = Instant::now();
        let cfg = ServerConfig {
            max_pipelined: 64,
            ..ServerConfig::default()
        };
        let mut conn = ServerConn::new(Arc::new(cfg), now);
        let req = |path: &str| format!("GET /{path} HTTP/1.1\r\nHost: a\r\n\r\n");
        let bodies: [&'static [u8]; 7] = [b"0", b"1", b"2", b"3", b"4", b"5", b"6"];
        let mut ids = requests(
            &mut conn,
            now,
            (req("0") + &req("1") + &req("2")).as_bytes(),
        );
        // The first finishes: its slot is a spare at the front of the ring.
        answer(&mut conn, ids[0], bodies[0]);
        // One more takes the spare (the ring wraps), the next ones grow it.
        ids.extend(requests(
            &mut conn,
            now,
            (req("3") + &req("4") + &req("5")).as_bytes(),
        ));
        ids.extend(requests(&mut conn, now, req("6").as_bytes()));
        assert_eq!(ids.len(), 7);
        for (i, id) in ids.iter().enumerate().skip(1).rev() {
            assert!(conn.response_state(*id).is_some(), "response {i} open");
            answer(&mut conn, *id, bodies[i]);
        }
        while conn.poll_event().is_some() {}
        assert!(conn.is_idle());
        let wire: Vec<u8> = conn.outgoing().iter().flat_map(|b| b.to_vec()).collect();
        let order: Vec<u8> = wire
            .windows(4)
            .enumerate()
            .filter(|(_, w)| w == b"\r\n\r\n")
            .map(|(at, _)| wire[at + 4])
            .collect();
        assert_eq!(order, b"0123456", "bodies in request order");
    }

    #[test]
    fn a_reused_slot_answers_as_a_new_response() {
        let now = Instant::now();
        let cfg = Arc::new(ServerConfig {
            max_pipelined: 64,
            ..ServerConfig::default()
        });
        let date = Bytes::from_static(b"Sun, 06 Nov 1994 08:49:37 GMT");
        let mut used = ServerConn::new(cfg.clone(), now);
        used.set_date(date.clone());
        // Round one: responses changed in every way that could outlive them.
        let first = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nHEAD /b HTTP/1.1\r\nHost: a\r\n\r\n\
                      GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
        let ids = requests(&mut used, now, first);
        assert_eq!(ids.len(), 3);
        for id in ids.iter().rev() {
            let mut r = used.response(*id).expect("open");
            r.set_status_code(404);
            r.set_status_message(Some("Nope"));
            r.set_send_date(false);
            r.set_strict_content_length(true);
            r.set_header("X-Round", "one").expect("valid");
            r.set_header("Content-Length", "4").expect("valid");
            r.end(Some(Bytes::from_static(b"gone"))).expect("ends");
        }
        while used.poll_event().is_some() {}
        let wire: Vec<u8> = used.outgoing().iter().flat_map(|b| b.to_vec()).collect();
        assert_eq!(
            wire.windows(12).filter(|w| w == b" 404 Nope\r\nX").count(),
            3
        );
        let n = wire.len();
        used.transmitted(now, n);
        assert!(used.is_idle());
        // Round two on the spares, against a connection that never had a request.
        let second = b"GET /d HTTP/1.1\r\nHost: a\r\n\r\nGET /e HTTP/1.1\r\nHost: a\r\n\r\n\
                       GET /f HTTP/1.1\r\nHost: a\r\n\r\nGET /g HTTP/1.1\r\nHost: a\r\n\r\n";
        let mut fresh = ServerConn::new(cfg, now);
        fresh.set_date(date);
        let reused = serve_reversed(&mut used, now, second);
        assert_eq!(reused, serve_reversed(&mut fresh, now, second));
        assert!(reused.starts_with(b"HTTP/1.1 200 OK\r\n"));
    }

    #[test]
    fn finished_responses_leave_the_queue_in_order() {
        let now = Instant::now();
        let cfg = ServerConfig {
            max_pipelined: 64,
            ..ServerConfig::default()
        };
        let mut conn = ServerConn::new(Arc::new(cfg), now);
        // More than an idle connection keeps as spares, out of order: the ring of
        // slots wraps around.
        let n = SPARE_SLOTS + 3;
        let mut input = Vec::new();
        for i in 0..n {
            input.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
        }
        let ids = requests(&mut conn, now, &input);
        assert_eq!(ids.len(), n);
        // The second half first (held back), then the rest in order: each finished
        // one leaves the queue, the others stay reachable by id.
        for (i, id) in ids.iter().enumerate().skip(n / 2) {
            answer(&mut conn, *id, format!("{i}").leak().as_bytes());
        }
        assert!(!conn.is_idle());
        for (i, id) in ids.iter().enumerate().take(n / 2) {
            assert!(
                conn.response_state(*id).is_some(),
                "response {i} still open"
            );
            answer(&mut conn, *id, format!("{i}").leak().as_bytes());
            assert!(conn.response_state(*id).is_none(), "response {i} finished");
        }
        let mut finished = Vec::new();
        while let Some(ev) = conn.poll_event() {
            if let ServerEvent::Finished { id, .. } = ev {
                finished.push(id);
            }
        }
        assert_eq!(finished, ids, "finished in order");
        assert!(conn.is_idle());
        // Idle: the spares beyond SPARE_SLOTS are dropped and their memory given back.
        assert_eq!(conn.slots.buf.len(), SPARE_SLOTS);
        assert!(conn.slots.buf.capacity() <= SPARE_SLOTS);
        let wire: Vec<u8> = conn.outgoing().iter().flat_map(|b| b.to_vec()).collect();
        let expected: Vec<String> = (0..n).map(|i| i.to_string()).collect();
        // Each body follows its head's blank line, in request order.
        for (i, chunk) in wire
            .windows(4)
            .enumerate()
            .filter(|(_, w)| w == b"\r\n\r\n")
            .map(|(at, _)| at + 4)
            .enumerate()
        {
            let rest = &wire[chunk..];
            let body = expected[i].as_bytes();
            assert!(rest.starts_with(body), "body {i} in order");
            assert!(rest.len() == body.len() || rest[body.len()..].starts_with(b"HTTP/1.1"));
            assert_eq!(i + 1 == n, rest.len() == body.len(), "{n} responses");
        }
    }

    #[test]
    fn a_small_body_goes_out_with_its_head() {
        let now = Instant::now();
        let mut conn = ServerConn::new(Arc::new(ServerConfig::default()), now);
        let ids = requests(&mut conn, now, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        answer(&mut conn, ids[0], b"Hello, World!");
        let segs: Vec<&[u8]> = conn.outgoing().iter().collect();
        assert_eq!(segs.len(), 1);
        assert!(segs[0].starts_with(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"));
        assert!(segs[0].ends_with(b"Content-Length: 13\r\n\r\nHello, World!"));
    }
}

#[cfg(test)]
mod direct_tests {
    use super::*;

    fn feed(conn: &mut ServerConn, now: Instant, bytes: &[u8]) -> Vec<ReqId> {
        conn.feed(now, bytes);
        let mut ids = Vec::new();
        while let Some(ev) = conn.poll_event() {
            if let ServerEvent::Request { id, .. } = ev {
                ids.push(id);
            }
        }
        ids
    }

    /// A connection with a fixed date and `n` pipelined bodiless GETs fed to it.
    fn conn_with_gets(n: usize) -> (ServerConn, Vec<ReqId>) {
        let now = Instant::now();
        let mut conn = ServerConn::new(Arc::new(ServerConfig::default()), now);
        conn.set_date(Bytes::from_static(b"Sun, 06 Nov 1994 08:49:37 GMT"));
        let ids = feed(
            &mut conn,
            now,
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n".repeat(n).as_slice(),
        );
        assert_eq!(ids.len(), n);
        (conn, ids)
    }

    #[test]
    fn the_usual_end_goes_straight_to_the_output() {
        let (mut conn, ids) = conn_with_gets(3);
        // The second ends first: it waits in its response; the first goes out
        // directly, then the second behind it; the third directly.
        for (id, body) in [(ids[1], "2"), (ids[0], "1"), (ids[2], "3")] {
            conn.response_fields(id)
                .expect("open")
                .set_header("X", "y")
                .expect("valid");
            let mut chunk = Some(Bytes::from(body));
            let (result, _) = conn.end_response(id, &mut chunk).expect("open");
            result.expect("ends");
        }
        let wire: Vec<u8> = conn.outgoing().iter().flat_map(|b| b.to_vec()).collect();
        let one = |n: &str| {
            format!(
                "HTTP/1.1 200 OK\r\nX: y\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
                 Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 1\r\n\r\n{n}"
            )
        };
        assert_eq!(
            String::from_utf8(wire).unwrap(),
            one("1") + &one("2") + &one("3")
        );
        let mut finished = Vec::new();
        while let Some(ev) = conn.poll_event() {
            if let ServerEvent::Finished { id, status } = ev {
                finished.push((id, status));
            }
        }
        assert_eq!(finished, [(ids[0], 200), (ids[1], 200), (ids[2], 200)]);
        assert!(conn.response_state(ids[2]).is_none());
    }

    #[test]
    fn a_usual_end_leaves_untouched_responses_behind_it_waiting() {
        let (mut conn, ids) = conn_with_gets(5);
        let end = |conn: &mut ServerConn, id: ReqId, body: &'static str| {
            let mut chunk = Some(Bytes::from(body));
            let (result, _) = conn.end_response(id, &mut chunk).expect("open");
            result.expect("ends");
        };
        // The first ends straight into the output while the second is untouched;
        // the second then gets a header only, the fourth (untouched behind the
        // third) is written to and ended early, the third ends without a body
        // shortcut (a flushed head first), the second ends straight into the output.
        end(&mut conn, ids[0], "0");
        conn.response_fields(ids[1])
            .expect("open")
            .set_header("X", "y")
            .expect("valid");
        conn.response(ids[3])
            .expect("open")
            .write(Bytes::from_static(b"3"))
            .expect("writes");
        end(&mut conn, ids[3], "");
        conn.response(ids[2])
            .expect("open")
            .flush_headers()
            .expect("flushes");
        end(&mut conn, ids[1], "1");
        end(&mut conn, ids[2], "2");
        end(&mut conn, ids[4], "4");
        let mut finished = Vec::new();
        while let Some(ev) = conn.poll_event() {
            if let ServerEvent::Finished { id, .. } = ev {
                finished.push(id);
            }
        }
        assert_eq!(finished, ids);
        let wire = String::from_utf8(conn.outgoing().iter().flat_map(|b| b.to_vec()).collect())
            .expect("ASCII");
        let bodies: Vec<&str> = wire
            .split("HTTP/1.1 200 OK\r\n")
            .skip(1)
            .map(|r| r.split_once("\r\n\r\n").map_or("", |(_, body)| body))
            .collect();
        assert_eq!(
            bodies,
            ["0", "1", "1\r\n2\r\n0\r\n\r\n", "1\r\n3\r\n0\r\n\r\n", "4"]
        );
        assert!(wire.contains("X: y\r\n"));
    }

    #[test]
    fn an_unreported_usual_end_queues_no_finished_event() {
        let (mut conn, ids) = conn_with_gets(3);
        // The second ends first (reported, when it leaves behind the first); the
        // first ends without its event, its last byte where the output stood then.
        let mut chunk = Some(Bytes::from("2"));
        let (result, _) = conn.end_response(ids[1], &mut chunk).expect("open");
        result.expect("ends");
        assert_eq!(
            conn.end_response_usual_unreported(ids[1], &Bytes::from("x")),
            None,
            "not the first in the queue"
        );
        let first = conn
            .end_response_usual_unreported(ids[0], &Bytes::from("1"))
            .expect("the usual end");
        let all = conn.outgoing().len();
        assert_eq!(all, 2 * first, "the second went out behind it");
        let third = conn
            .end_response_usual_unreported(ids[2], &Bytes::from("3"))
            .expect("the usual end");
        assert_eq!(third, 3 * first);
        let mut finished = Vec::new();
        while let Some(ev) = conn.poll_event() {
            if let ServerEvent::Finished { id, .. } = ev {
                finished.push(id);
            }
        }
        assert_eq!(finished, [ids[1]], "only the second reported");
        assert!(!conn.has_response_other_than(None));
        assert!(conn.is_idle());
    }

    #[test]
    fn has_response_other_than_sees_unfinished_responses() {
        let (mut conn, ids) = conn_with_gets(2);
        assert!(conn.has_response_other_than(None));
        assert!(conn.has_response_other_than(Some(ids[0])));
        assert!(conn.end_response_usual(ids[0], &Bytes::from("1")));
        assert!(!conn.has_response_other_than(Some(ids[1])));
        assert!(conn.has_response_other_than(None));
    }
}
