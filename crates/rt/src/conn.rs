//! The per-connection driver core: one [`ServerConn`] shared by the adapter's I/O loop
//! and the application's [`IncomingMessage`] / [`ServerResponse`] handles.
//!
//! The adapter owns the socket, the timer and the spawning; everything else lives here.
//! One loop iteration of an adapter, with the lock held by [`Connection::lock`]:
//!
//! 1. [`Driver::register`] the task's waker and [`Driver::set_wall_clock`];
//! 2. hand every [`Driver::next_event`] to the application (spawn or poll it);
//! 3. write [`Driver::outgoing`] (vectored) and report [`Driver::transmitted`]; then,
//!    if [`Driver::take_handover`] returns the socket's handover (upgrade, CONNECT,
//!    a client error with a listener), stop driving and give the transport to the
//!    application;
//! 4. honour [`Driver::wants_close`]: `Now` = drop the socket, `AfterFlush` = once the
//!    queue is empty, shut the write side down and drop the socket;
//! 5. while [`Driver::wants_read`], read into [`Driver::recv_buf`] and report
//!    [`Driver::received`] (0 bytes = end of input);
//! 6. sleep until [`Driver::poll_timeout`] and call [`Driver::handle_timeout`];
//! 7. when the socket is gone (closed, failed), call [`Driver::finish`].
//!
//! Handles never touch the socket: they change the machine under the lock and wake the
//! adapter's task, which then writes. Request bodies go from the driver to their
//! [`IncomingMessage`] through a [`crate::body`] queue (made only for a request whose
//! head announces a body). Back-pressure runs both ways: the connection stops reading
//! while a request body holds more than the high-water mark of unread bytes, and
//! `ServerResponse::write` waits while the connection holds more than the mark of
//! unsent bytes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::{Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use courier_proto::head::{BodyKind, RequestHead};
use courier_proto::server::{
    Close, Dispatch, OutQueue, ReqId, ServerConfig, ServerConn, ServerEvent,
};

use crate::body::{self, BodyReceiver, BodySender, QueueRef};
use crate::date::DateCache;
use crate::events::{
    ClientErrorEvent, ConnEvent, Handover, RequestKind, Signal, Socket, TimeoutTarget,
};
use crate::handle_ref::HandleRef;
use crate::message::IncomingMessage;
use crate::response::ServerResponse;

/// Spare capacity the receive buffer gets before each read.
const READ_RESERVE: usize = 8 * 1024;

/// The most receive buffers a thread keeps for its connections to read into (see
/// [`Driver::recv_buf_with`]).
const RECV_POOL_MAX: usize = 8;

/// The buffers a thread keeps for its connections (see [`Driver::recv_buf_with`]).
struct ThreadBufs {
    /// Receive buffers given back by idle connections, for the next read on this
    /// thread (any connection's), so that idle connections hold none.
    recv: Vec<BytesMut>,
    /// The output buffer of the connection that went idle last, handed to the next
    /// connection that reads: a thread renders every connection's responses into
    /// the buffer it used last, which stays in its cache, rather than into one per
    /// connection.
    out: Vec<u8>,
    /// Heads of requests the application dropped on this thread, emptied, for the
    /// next requests of the thread's connections ([`ServerConn::recycle_heads`]): a
    /// dropped request takes no lock, and a busy connection allocates no head.
    #[allow(clippy::vec_box)]
    heads: Vec<Box<RequestHead>>,
}

std::thread_local! {
    /// The thread's spare buffers: one per thread, taken once per read and once per
    /// release.
    static BUFS: std::cell::RefCell<ThreadBufs> = const {
        std::cell::RefCell::new(ThreadBufs { recv: Vec::new(), out: Vec::new(), heads: Vec::new() })
    };
}

/// Gives the thread's spare request heads to `conn` (the usual one without a
/// vector's append).
#[inline]
#[allow(clippy::vec_box)]
fn take_heads(conn: &mut ServerConn, heads: &mut Vec<Box<RequestHead>>) {
    if heads.len() > 1 {
        conn.recycle_heads(heads);
    } else if let Some(head) = heads.pop() {
        conn.recycle_head(head);
    }
}

/// The largest output buffer [`ThreadBufs::out`] keeps (a larger one stays with its
/// connection).
const OUT_BUF_MAX: usize = 16 * 1024;

/// A map keyed by request id, for the few requests a connection has in flight (at
/// most the pipelining bound plus the ones whose handles are still alive): a vector
/// in id order (ids only grow), looked up by the offset from its first id (ids are
/// mostly consecutive) or else searched linearly, which keeps its capacity, so a
/// steady stream of requests allocates nothing and hashes nothing.
#[derive(Debug)]
pub(crate) struct IdMap<V> {
    entries: Vec<(ReqId, V)>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<V> IdMap<V> {
    #[inline]
    fn position(&self, id: ReqId) -> Option<usize> {
        // Entries are in id order and ids mostly consecutive: try the offset from
        // the first entry, then search from the newest end.
        let first = self.entries.first()?.0;
        let d = id.0.wrapping_sub(first.0);
        if d < self.entries.len() as u64 {
            let i = d as usize;
            if self.entries[i].0 == id {
                return Some(i);
            }
        }
        self.position_slow(id)
    }

    #[inline(never)]
    fn position_slow(&self, id: ReqId) -> Option<usize> {
        self.entries.iter().rposition(|(k, _)| *k == id)
    }

    pub(crate) fn get(&self, id: &ReqId) -> Option<&V> {
        let i = self.position(*id)?;
        Some(&self.entries[i].1)
    }

    pub(crate) fn get_mut(&mut self, id: &ReqId) -> Option<&mut V> {
        let i = self.position(*id)?;
        Some(&mut self.entries[i].1)
    }

    /// Adds the value for a new `id`, above every id in the map (request ids only
    /// grow: no search).
    fn push_new(&mut self, id: ReqId, value: V) {
        debug_assert!(
            self.entries.last().is_none_or(|(k, _)| *k < id),
            "request ids grow"
        );
        self.entries.push((id, value));
    }

    /// Removes the value for `id` (the others keep their order).
    pub(crate) fn remove(&mut self, id: &ReqId) -> Option<V> {
        let i = self.position(*id)?;
        Some(self.entries.remove(i).1)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    fn retain(&mut self, f: impl FnMut(&mut (ReqId, V)) -> bool) {
        self.entries.retain_mut(f);
    }
}

/// Where a response with a live handle or unresolved `'finish'`/`'close'` stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResState {
    /// Not finished yet.
    Open,
    /// Finished: its last bytes end at this offset of the output stream; `'finish'`
    /// once the socket took them.
    Finishing(u64),
    /// `'finish'` (`true`) or `'close'` without it (`false`).
    Done(bool),
}

/// One response's `'finish'`/`'close'` bookkeeping. The [`Signal`] that
/// [`ResponseEvents`](crate::ResponseEvents) waits on is made only when
/// [`ServerResponse::events`] is called.
#[derive(Debug)]
pub(crate) struct ResEntry {
    state: ResState,
    signal: Option<Arc<Signal>>,
    /// The [`ServerResponse`] handle is alive.
    handle: bool,
}

/// Everything behind the connection's lock.
///
/// The fields a wake-up of the adapter's loop reads come first, in this order
/// (`repr(C)`; [`Shared`] is aligned to a cache line), so that they share a few
/// cache lines rather than being spread over the machine's.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Core {
    io_waker: Option<Waker>,
    /// Wakers to call once the lock is released.
    wake_later: Vec<Waker>,
    /// The adapter's task is running a step or handing out its events, and will run
    /// another step before it waits: waking it is not needed (see
    /// [`Driver::register`]).
    driving: bool,
    /// The adapter finished: the socket is gone (or was handed over).
    pub(crate) closed: bool,
    /// The adapter reads with [`Driver::recv_buf_with`] and releases the receive
    /// buffer itself (into the thread's pool).
    pooled_recv: bool,
    /// A handover waiting for the output to be flushed (boxed: rare and large).
    pending_handover: Option<Box<Handover>>,
    /// Handles to drop once the lock is released (their `Drop` takes the lock).
    drop_later: Vec<Handover>,
    /// The producing ends of the request bodies still being received (a request
    /// without a body has none).
    bodies: IdMap<BodySender>,
    /// Bytes written to the socket so far.
    transmitted_total: u64,
    /// One past the highest id of a response that finished. Responses finish in
    /// order and none finishes after one that closed, so a response no longer in
    /// `responses` finished exactly when its id is below this.
    finished_below: u64,
    /// `'finish'`/`'close'` of the responses handed out: kept while the handle lives
    /// (and has not ended the response) or the outcome is not known yet.
    responses: IdMap<ResEntry>,
    pub(crate) drain_waiters: Vec<Waker>,
    /// The request whose end has not been received yet.
    receiving: Option<ReqId>,
    date: DateCache,
    pub(crate) conn: ServerConn,
    /// Unread body bytes above which the connection stops reading.
    body_high_water: usize,
    /// Unsent response bytes above which `write` waits.
    pub(crate) write_high_water: usize,
    pub(crate) remote_addr: Option<SocketAddr>,
    pub(crate) local_addr: Option<SocketAddr>,
    /// `'timeout'` listeners on requests and responses.
    pub(crate) timeout_listeners: HashMap<TimeoutTarget, Vec<Arc<Signal>>>,
}

/// An event for the application as the connection's lock finds it. Its handles are
/// made once the lock is released ([`Found::into_event`], or by the server loop
/// where it calls the handler): a request's parts are a few words and its handles
/// many, so they are built where the application takes them rather than moved
/// along the loop.
pub(crate) enum Found {
    /// [`ConnEvent::Request`].
    Request {
        kind: RequestKind,
        parts: RequestParts,
    },
    /// [`ConnEvent::DropRequest`].
    DropRequest { parts: RequestParts },
    /// [`ConnEvent::Timeout`].
    Timeout,
}

/// What a request's handles are made of.
pub(crate) struct RequestParts {
    pub(crate) id: ReqId,
    head: Box<RequestHead>,
    join_duplicates: bool,
    body: QueueRef,
}

impl RequestParts {
    /// The request's handle.
    pub(crate) fn request(self, shared: HandleRef) -> IncomingMessage {
        let body = self.body.receiver();
        IncomingMessage::new(shared, self.id, self.head, self.join_duplicates, body)
    }
}

impl Found {
    /// The event, its handles made.
    pub(crate) fn into_event(self, shared: &Arc<Shared>) -> ConnEvent {
        match self {
            Found::Request { kind, parts } => {
                let res = ServerResponse::new(Arc::clone(shared).into(), parts.id);
                ConnEvent::Request {
                    kind,
                    req: parts.request(Arc::clone(shared).into()),
                    res,
                }
            }
            Found::DropRequest { parts } => ConnEvent::DropRequest {
                req: parts.request(Arc::clone(shared).into()),
            },
            Found::Timeout => ConnEvent::Timeout {
                socket: Socket::new(Arc::clone(shared)),
            },
        }
    }
}

/// The id given to an upgrade request's [`IncomingMessage`] (the machine gives it none).
const UPGRADE_ID: ReqId = ReqId(u64::MAX);

impl Core {
    /// Schedules the adapter's task (after the lock is released), unless it is
    /// driving the connection right now and will look again anyway.
    pub(crate) fn wake_io(&mut self) {
        if self.driving {
            return;
        }
        if let Some(w) = &self.io_waker {
            self.wake_later.push(w.clone());
        }
    }

    /// Schedules every `write`/`end` waiting for the output to drain.
    fn wake_drain_waiters(&mut self) {
        if !self.drain_waiters.is_empty() {
            let waiters = std::mem::take(&mut self.drain_waiters);
            self.wake_later.extend(waiters);
        }
    }

    fn schedule(&mut self, wakers: Vec<Waker>) {
        self.wake_later.extend(wakers);
    }

    /// Resolves every response `pick` chooses (given its state) to the outcome it
    /// returns: wakes its listeners, and forgets it when its handle is gone.
    fn resolve_responses(&mut self, mut pick: impl FnMut(ReqId, ResState) -> Option<bool>) {
        let wake_later = &mut self.wake_later;
        let finished_below = &mut self.finished_below;
        self.responses.retain(|(id, e)| {
            if let Some(v) = pick(*id, e.state) {
                e.state = ResState::Done(v);
                if v {
                    *finished_below = (*finished_below).max(id.0.saturating_add(1));
                }
                if let Some(sig) = &e.signal {
                    wake_later.extend(sig.resolve(v));
                }
            }
            e.handle || !matches!(e.state, ResState::Done(_))
        });
    }

    /// The outcome of a response no longer in `responses` (see `finished_below`).
    fn past_outcome(&self, id: ReqId) -> bool {
        id.0 < self.finished_below
    }

    /// Resolves `'finish'` for every finished response whose bytes are all written.
    #[inline]
    fn settle_finishing(&mut self) {
        let done = self.transmitted_total;
        // The usual case: the one response in the map finished and was written, its
        // handle gone and nobody listening. It is forgotten (what
        // `resolve_responses` would do).
        if let [(id, e)] = self.responses.entries.as_slice() {
            if matches!(e.state, ResState::Finishing(mark) if mark <= done)
                && !e.handle
                && e.signal.is_none()
            {
                self.finished_below = self.finished_below.max(id.0.saturating_add(1));
                self.responses.entries.clear();
                return;
            }
        }
        self.settle_finishing_all(done);
    }

    /// [`Self::settle_finishing`] with any number of responses.
    #[inline(never)]
    fn settle_finishing_all(&mut self, done: u64) {
        // Every response in the map finished and was written, its handle gone and
        // nobody listening (a pipelined run): they are all forgotten, without the
        // pass that keeps some.
        let entries = &self.responses.entries;
        if let Some((last, _)) = entries.last() {
            let all_gone = entries.iter().all(|(_, e)| {
                matches!(e.state, ResState::Finishing(mark) if mark <= done)
                    && !e.handle
                    && e.signal.is_none()
            });
            if all_gone {
                self.finished_below = self.finished_below.max(last.0.saturating_add(1));
                self.responses.entries.clear();
                return;
            }
        }
        self.resolve_responses(|_, s| match s {
            ResState::Finishing(mark) if mark <= done => Some(true),
            _ => None,
        });
    }

    /// Resolves `'close'` for every response that will not finish now.
    fn close_all_signals(&mut self) {
        self.resolve_responses(|_, s| match s {
            ResState::Open | ResState::Finishing(_) => Some(false),
            ResState::Done(_) => None,
        });
    }

    /// Response `id` will not finish (dropped by the machine): `'close'`.
    fn close_response(&mut self, id: ReqId) {
        self.resolve_responses(|k, s| (k == id && s == ResState::Open).then_some(false));
    }

    /// The `'finish'`/`'close'` signal of response `id`, made on first use.
    pub(crate) fn response_signal(&mut self, id: ReqId) -> Arc<Signal> {
        let Some(e) = self.responses.get_mut(&id) else {
            // Its outcome is known: the entry went with the handle's end.
            let sig = Arc::new(Signal::default());
            let _ = sig.resolve(self.past_outcome(id));
            return sig;
        };
        if let Some(sig) = &e.signal {
            return Arc::clone(sig);
        }
        let sig = Arc::new(Signal::default());
        if let ResState::Done(v) = e.state {
            let _ = sig.resolve(v);
        }
        e.signal = Some(Arc::clone(&sig));
        sig
    }

    /// The outcome of response `id`, once known: `Some(true)` finished,
    /// `Some(false)` closed without finishing.
    pub(crate) fn response_outcome(&self, id: ReqId) -> Option<bool> {
        let Some(e) = self.responses.get(&id) else {
            return Some(self.past_outcome(id));
        };
        match e.state {
            ResState::Done(v) => Some(v),
            _ => None,
        }
    }

    /// The handle of response `id` was dropped, or ended the response (it then
    /// needs no entry: its outcome, once known, is kept by `finished_below`, and
    /// dropping it takes no lock).
    #[inline]
    pub(crate) fn response_handle_dropped(&mut self, id: ReqId) {
        if let Some(i) = self.responses.position(id) {
            let e = &mut self.responses.entries[i].1;
            e.handle = false;
            if matches!(e.state, ResState::Done(_)) {
                self.forget_response_at(i);
            }
        }
    }

    /// Removes the `i`th entry of `responses` (out of line: the rare part of
    /// [`Self::response_handle_dropped`]).
    #[inline(never)]
    fn forget_response_at(&mut self, i: usize) {
        self.responses.entries.remove(i);
    }

    fn fire_timeout(&mut self, target: TimeoutTarget) {
        let signals: Vec<Arc<Signal>> = self
            .timeout_listeners
            .get(&target)
            .cloned()
            .unwrap_or_default();
        for s in signals {
            let w = s.fire();
            self.schedule(w);
        }
    }

    /// Whether a body holds the high-water mark of unread bytes; the adapter's task
    /// is woken when it drains below.
    fn body_full(&self) -> bool {
        // Usually no request body is being received.
        if self.bodies.entries.is_empty() {
            return false;
        }
        let waker = self.io_waker.as_ref();
        self.bodies.values().any(|b| b.poll_full(waker))
    }

    /// Request `id`'s body will get no more pieces: `aborted` for its reader.
    fn abort_body(&mut self, id: ReqId) {
        if let Some(b) = self.bodies.remove(&id) {
            let w = b.fail_deferred(std::io::ErrorKind::ConnectionReset, "aborted");
            self.wake_later.extend(w);
        }
    }

    /// Whether response `id` may take more bytes without waiting: it is gone (finished
    /// or dropped), the connection is gone, or the unsent bytes ahead of and in it are
    /// below the mark.
    pub(crate) fn writable(&mut self, id: ReqId) -> bool {
        if self.closed {
            return true;
        }
        let queued = self.conn.outgoing().len();
        match self.conn.response(id) {
            None => true,
            Some(r) => queued + r.buffered_len() < self.write_high_water,
        }
    }
}

/// The state shared by the adapter's task and the application's handles (aligned to
/// a cache line: see [`Core`]).
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct Shared {
    core: Mutex<Core>,
}

/// Spare request heads a thread keeps at most ([`ThreadBufs::heads`]).
const SPARE_HEADS: usize = 32;

/// A guard that wakes the tasks the critical section scheduled once it unlocks.
pub(crate) struct Locked<'a> {
    guard: Option<MutexGuard<'a, Core>>,
}

impl core::ops::Deref for Locked<'_> {
    type Target = Core;
    fn deref(&self) -> &Core {
        self.guard.as_ref().expect("the guard lives until drop")
    }
}

impl core::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Core {
        self.guard.as_mut().expect("the guard lives until drop")
    }
}

impl Drop for Locked<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(g) = &self.guard {
            if g.wake_later.is_empty() && g.drop_later.is_empty() {
                return;
            }
        }
        self.unlock_and_wake();
    }
}

impl Locked<'_> {
    /// Unlocks, then calls the wakers and drops the handles the critical section
    /// scheduled.
    #[inline(never)]
    fn unlock_and_wake(&mut self) {
        let (wakers, handles) = match self.guard.as_mut() {
            Some(g) => (
                std::mem::take(&mut g.wake_later),
                std::mem::take(&mut g.drop_later),
            ),
            None => (Vec::new(), Vec::new()),
        };
        drop(self.guard.take());
        drop(handles);
        for w in wakers {
            w.wake();
        }
    }
}

impl Shared {
    pub(crate) fn lock(&self) -> Locked<'_> {
        Locked {
            guard: Some(self.core.lock().unwrap_or_else(PoisonError::into_inner)),
        }
    }

    /// A dropped request's head, emptied, kept for the next request of a connection
    /// of the thread (no lock taken).
    pub(crate) fn recycle_head(&self, head: Box<RequestHead>) {
        let _ = BUFS.try_with(|t| {
            if let Ok(mut t) = t.try_borrow_mut() {
                if t.heads.len() < SPARE_HEADS {
                    t.heads.push(head);
                }
            }
        });
    }
}

/// One accepted connection: the machine and the state its handles share.
///
/// Cloning gives another handle to the same connection (the server keeps one to
/// close it from outside).
#[derive(Debug, Clone)]
pub struct Connection {
    shared: Arc<Shared>,
}

impl Connection {
    /// A connection accepted at `now`. `check_origin` is when the server started
    /// listening: the request-timeout checker ticks from there (SRV-17).
    pub fn new(config: Arc<ServerConfig>, now: Instant, check_origin: Instant) -> Self {
        let body_high_water = config.high_water_mark.max(1);
        let write_high_water = config.high_water_mark.max(1);
        let mut conn = ServerConn::new(config, now);
        conn.set_check_origin(check_origin);
        let core = Core {
            conn,
            bodies: IdMap::default(),
            body_high_water,
            write_high_water,
            io_waker: None,
            driving: false,
            drain_waiters: Vec::new(),
            wake_later: Vec::new(),
            drop_later: Vec::new(),
            date: DateCache::new(),
            closed: false,
            remote_addr: None,
            local_addr: None,
            transmitted_total: 0,
            responses: IdMap::default(),
            finished_below: 0,
            timeout_listeners: HashMap::new(),
            pending_handover: None,
            receiving: None,
            pooled_recv: false,
        };
        Self {
            shared: Arc::new(Shared {
                core: Mutex::new(core),
            }),
        }
    }

    /// The state the handles share.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Locks the connection for one step of the adapter's loop.
    pub fn lock(&self) -> Driver<'_> {
        let core = self.shared.lock();
        Driver {
            core,
            shared: &self.shared,
        }
    }

    /// Records the socket's addresses (what [`Socket::remote_addr`] and
    /// [`Socket::local_addr`] report); `None` for a Unix socket.
    pub fn set_addresses(&self, remote: Option<SocketAddr>, local: Option<SocketAddr>) {
        let mut core = self.shared.lock();
        core.remote_addr = remote;
        core.local_addr = local;
    }

    /// A handle on the connection's socket (for `'connection'`, SRV-24).
    pub fn socket(&self) -> Socket {
        Socket::new(Arc::clone(&self.shared))
    }

    /// `closeIdleConnections()` for this connection (SRV-23): destroys it when idle.
    /// A connection whose socket is about to be handed over (an upgrade, CONNECT or
    /// client error taken by a listener) has left HTTP and is never idle.
    pub fn close_if_idle(&self) -> bool {
        let mut d = self.lock();
        if d.core.pending_handover.is_some() {
            return false;
        }
        let closed = d.core.conn.close_if_idle();
        d.core.wake_io();
        closed
    }

    /// `server.close()` for this connection (SRV-21): destroyed when idle, otherwise
    /// left to finish without the request timeout checks.
    pub fn server_close(&self) {
        let mut d = self.lock();
        if d.core.pending_handover.is_some() {
            return;
        }
        d.core.conn.server_close();
        d.core.wake_io();
    }

    /// `closeAllConnections()` for this connection (SRV-22): destroyed now.
    pub fn destroy(&self) {
        let mut d = self.lock();
        d.core.conn.destroy();
        d.core.wake_io();
    }

    /// Whether no request is in progress and no response unfinished (SRV-23).
    pub fn is_idle(&self) -> bool {
        self.lock().core.conn.is_idle()
    }
}

/// The connection, locked for the adapter's loop. Wakers scheduled while it is held
/// are called when it is dropped.
pub struct Driver<'a> {
    core: Locked<'a>,
    shared: &'a Arc<Shared>,
}

impl core::fmt::Debug for Driver<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Driver").finish_non_exhaustive()
    }
}

impl Driver<'_> {
    /// The adapter's task is woken through `waker` when a handle changed something
    /// (output to write, a body drained below the mark, a response ended).
    pub fn register(&mut self, waker: &Waker) {
        match &self.core.io_waker {
            Some(w) if w.will_wake(waker) => {}
            _ => self.core.io_waker = Some(waker.clone()),
        }
    }

    /// Whether the adapter's task is driving the connection: while on, the handles do
    /// not wake the task (the waker registered with [`Driver::register`]), which saves
    /// a pointless wake-up when the application runs on that task (a handler polled
    /// inline). An adapter turning it on promises to take the lock for another step
    /// before it waits, and turns it off in the step after which it waits (under the
    /// same lock as its last look at the state, so no change is missed). A body queue
    /// that held the connection back wakes the task regardless when it drains (it
    /// has a lock of its own; this happens only at the high-water mark).
    pub fn set_driving(&mut self, on: bool) {
        self.core.driving = on;
    }

    /// The wall-clock time, for the automatic `Date` value (re-rendered once a second).
    pub fn set_wall_clock(&mut self, now: SystemTime) {
        if let Some(date) = self.core.date.refresh(now) {
            self.core.conn.set_date(date);
        }
    }

    /// The clocks for the automatic `Date` value: the wall clock (`wall`) is read
    /// only when the monotonic `now` has passed the end of the second last rendered
    /// ([`DateCache::refresh_at`]).
    pub fn set_clocks(&mut self, now: Instant, wall: impl FnOnce() -> SystemTime) {
        if let Some(date) = self.core.date.refresh_at(now, wall) {
            self.core.conn.set_date(date);
        }
    }

    /// Routes the machine's events (body data to the body channels, ends, aborts,
    /// finished responses, timeouts) and returns the next event for the application,
    /// if any.
    ///
    /// Requests the server answered by itself (400 for a missing Host, 417 without a
    /// `'checkExpectation'` listener) are not handed out: Node emits no event for them.
    /// An upgrade, a CONNECT or a client error taken by the application is not an
    /// event here: see [`Driver::take_handover`].
    pub fn next_event(&mut self) -> Option<ConnEvent> {
        let found = self.next_found()?;
        Some(found.into_event(self.shared))
    }

    /// [`Driver::next_event`] with the handles not made yet.
    #[inline]
    pub(crate) fn next_found(&mut self) -> Option<Found> {
        // The usual last look of a step, answered without the full routine's set-up.
        if self.core.conn.has_no_event() {
            return None;
        }
        self.next_found_full()
    }

    #[inline(never)]
    fn next_found_full(&mut self) -> Option<Found> {
        loop {
            let event = self.core.conn.poll_event()?;
            if let Some(e) = self.route(event) {
                return Some(e);
            }
        }
    }

    /// Every event [`Driver::next_found`] would return, in order, appended to `out`
    /// (one call for a pipelined batch): whether there was any.
    #[inline]
    pub(crate) fn found_into(&mut self, out: &mut Vec<Found>) -> bool {
        if self.core.conn.has_no_event() {
            return false;
        }
        self.found_into_full(out)
    }

    #[inline(never)]
    fn found_into_full(&mut self, out: &mut Vec<Found>) -> bool {
        let before = out.len();
        while let Some(event) = self.core.conn.poll_event() {
            if let Some(e) = self.route(event) {
                out.push(e);
            }
        }
        out.len() > before
    }

    /// The parts of request `id`'s handle. Its body queue is made only when the head
    /// says a body follows: a request without one allocates none.
    #[inline(always)]
    fn new_request(&mut self, id: ReqId, head: Box<RequestHead>) -> RequestParts {
        let body = match head.info.body {
            BodyKind::None | BodyKind::Length(0) => QueueRef::default(),
            _ => {
                let (tx, rx) = body::channel_ref(self.core.body_high_water);
                self.core.bodies.push_new(id, tx);
                rx
            }
        };
        RequestParts {
            id,
            head,
            join_duplicates: self.core.conn.config().join_duplicate_headers,
            body,
        }
    }

    #[inline(always)]
    fn route(&mut self, event: ServerEvent) -> Option<Found> {
        match event {
            ServerEvent::Request {
                id,
                head,
                dispatch,
                complete,
            } => {
                // A complete request (no body) has no end to wait for: its body,
                // when it has a handle, is the empty one, complete from the start.
                self.core.receiving = (!complete).then_some(id);
                let kind = match dispatch {
                    Dispatch::Request => RequestKind::Request,
                    Dispatch::CheckContinue => RequestKind::CheckContinue,
                    Dispatch::CheckExpectation => RequestKind::CheckExpectation,
                    Dispatch::DropRequest => {
                        let parts = self.new_request(id, head);
                        return Some(Found::DropRequest { parts });
                    }
                    Dispatch::Answered => return None,
                };
                let parts = self.new_request(id, head);
                self.core.responses.push_new(
                    id,
                    ResEntry {
                        state: ResState::Open,
                        signal: None,
                        handle: true,
                    },
                );
                return Some(Found::Request { kind, parts });
            }
            ServerEvent::Data { id, data } => {
                // Pieces of a body nobody reads any more (MSG-12) are dropped by its
                // queue; those of a request not handed out have no queue.
                if let Some(b) = self.core.bodies.get(&id) {
                    let w = b.push_deferred(data);
                    self.core.wake_later.extend(w);
                }
            }
            ServerEvent::End { id, trailers } => {
                if self.core.receiving == Some(id) {
                    self.core.receiving = None;
                }
                if let Some(b) = self.core.bodies.remove(&id) {
                    let w = b.end_deferred(trailers.map(|t| *t).unwrap_or_default());
                    self.core.wake_later.extend(w);
                }
            }
            ServerEvent::Aborted { id } => {
                if self.core.receiving == Some(id) {
                    self.core.receiving = None;
                }
                self.core.abort_body(id);
            }
            ServerEvent::Finished { id, .. } => {
                // The response's last bytes are now in the output queue: it has
                // finished once the socket took everything queued so far.
                let queued = self.core.conn.outgoing().len() as u64;
                let mark = self.core.transmitted_total + queued;
                let open = match self.core.responses.get_mut(&id) {
                    Some(e) if e.state == ResState::Open => {
                        e.state = ResState::Finishing(mark);
                        true
                    }
                    _ => false,
                };
                if open {
                    // Responses finishing earlier were settled when their bytes were
                    // written; this one can be only if nothing is queued.
                    if queued == 0 {
                        self.core.settle_finishing();
                    }
                }
                self.core.wake_drain_waiters();
            }
            ServerEvent::Dropped { id } => {
                self.core.close_response(id);
                self.core.wake_drain_waiters();
            }
            ServerEvent::Upgrade {
                head,
                leftover,
                connect,
            } => {
                // The connection leaves HTTP: what follows the head is the upgraded
                // protocol's (`leftover`), the request itself has no body.
                let join = self.core.conn.config().join_duplicate_headers;
                let shared = Arc::clone(self.shared);
                let body = BodyReceiver::empty();
                let req = IncomingMessage::new(shared.into(), UPGRADE_ID, head, join, body);
                self.core.pending_handover = Some(Box::new(Handover::Upgrade {
                    req,
                    head: leftover,
                    connect,
                }));
            }
            ServerEvent::ClientError { error } => {
                // Without a listener Node's default reply (SRV-12) is already queued
                // and the connection is closing.
                if self.core.conn.config().listeners.client_error {
                    let raw = Bytes::copy_from_slice(&self.core.conn.recv_buf()[..]);
                    self.core.pending_handover = Some(Box::new(Handover::ClientError(
                        ClientErrorEvent::new(error, raw),
                    )));
                }
            }
            ServerEvent::Timeout { request, response } => {
                if let Some(id) = request {
                    self.core.fire_timeout(TimeoutTarget::Request(id));
                }
                if let Some(id) = response {
                    self.core.fire_timeout(TimeoutTarget::Response(id));
                }
                return Some(Found::Timeout);
            }
        }
        None
    }

    /// The socket's handover, once it is due and the output before it is written:
    ///
    /// * an upgrade or CONNECT taken by a listener (SRV-8, SRV-9), once every response
    ///   to the requests before it finished and all output was written;
    /// * a client error taken by a listener (SRV-11), once the responses to the
    ///   requests received completely before it finished and all output was written.
    ///   The request still being received (if any) is then aborted and its response
    ///   dropped (its handle fails with `ERR_STREAM_DESTROYED`, its
    ///   [`crate::ResponseEvents`] report `'close'`).
    ///
    /// When it returns `Some`, the connection has left HTTP: the handles no longer
    /// reach the socket (as after [`Driver::finish`]) and the adapter gives its
    /// transport to the application without closing it. Do not call
    /// [`Driver::finish`] afterwards.
    pub fn take_handover(&mut self) -> Option<Handover> {
        let upgrade = match self.core.pending_handover.as_deref()? {
            Handover::Upgrade { .. } => true,
            Handover::ClientError(_) => false,
        };
        if self.core.closed || self.core.conn.wants_close() == Some(Close::Now) {
            return None;
        }
        if !self.core.conn.outgoing().is_empty() {
            return None;
        }
        let waiting = if upgrade {
            !self.core.conn.is_idle()
        } else {
            let receiving = self.core.receiving;
            self.core
                .responses
                .entries
                .iter()
                .any(|(id, e)| e.state == ResState::Open && Some(*id) != receiving)
        };
        if waiting {
            return None;
        }
        let handover = self.core.pending_handover.take().map(|h| *h);
        self.detach();
        handover
    }

    /// Whether a handover is waiting (for the output before it, or for the responses
    /// before it to finish): [`Driver::take_handover`] has something to return once
    /// it is due.
    pub fn handover_pending(&self) -> bool {
        self.core.pending_handover.is_some()
    }

    /// Whether the adapter should read now: the machine wants input and no request
    /// body holds more unread bytes than the high-water mark.
    pub fn wants_read(&self) -> bool {
        !self.core.closed && self.core.conn.wants_read() && !self.core.body_full()
    }

    /// The receive buffer, with at least 8 KiB of spare capacity to read into. The
    /// connection frees it when it goes idle.
    pub fn recv_buf(&mut self) -> &mut BytesMut {
        // Heads of requests dropped on the thread since, for the requests this read
        // brings.
        let conn = &mut self.core.conn;
        let _ = BUFS.try_with(|t| {
            if let Ok(mut t) = t.try_borrow_mut() {
                take_heads(conn, &mut t.heads);
            }
        });
        let buf = self.core.conn.recv_buf();
        if buf.capacity() - buf.len() < READ_RESERVE / 2 {
            buf.reserve(READ_RESERVE);
        }
        buf
    }

    /// The receive buffer, with `spare` bytes of spare capacity to read into when it
    /// has less than half of that (an adapter sizing its reads to what arrives).
    ///
    /// For an adapter that calls [`Driver::release_recv_buf`] whenever it has nothing
    /// to read: the buffer then goes back to a small pool of the thread's, and a new
    /// one is taken from there (reused without allocating once the bytes handed out
    /// of it are gone), so that neither an idle connection nor the next request
    /// costs a buffer of its own. The buffer responses are rendered into goes the
    /// same way (a slot of its own): the thread's connections share the one it used
    /// last, which is in its cache.
    pub fn recv_buf_with(&mut self, spare: usize) -> &mut BytesMut {
        let core = &mut *self.core;
        if !core.pooled_recv {
            // Released by `release_recv_buf`, not by the machine going idle.
            core.pooled_recv = true;
            core.conn.set_keep_idle_buffer(true);
        }
        let want_out = !core.conn.has_output_buffer();
        let (cap, len) = {
            let buf = core.conn.recv_buf();
            (buf.capacity(), buf.len())
        };
        let short = cap - len < spare / 2;
        let mut pooled = None;
        {
            let conn = &mut core.conn;
            let _ = BUFS.try_with(|t| {
                let Ok(mut t) = t.try_borrow_mut() else {
                    return;
                };
                // Heads of requests dropped on the thread since, for the requests
                // this read brings.
                take_heads(conn, &mut t.heads);
                if want_out && t.out.capacity() > 0 {
                    // The connection has none: it takes this one.
                    let _ = conn.give_output_buffer(std::mem::take(&mut t.out));
                }
                if short && cap == 0 {
                    pooled = t.recv.pop();
                }
            });
        }
        let buf = core.conn.recv_buf();
        if short {
            if cap == 0 {
                // A pooled buffer with room enough left after the bytes handed out of
                // it is read into as it is: it is reclaimed (moved back to the start
                // of its memory, which takes a copy) only once that room runs short.
                *buf = pooled
                    .and_then(|mut b| {
                        (b.capacity() >= spare / 2 || b.try_reclaim(spare)).then_some(b)
                    })
                    .unwrap_or_else(|| BytesMut::with_capacity(spare));
            } else {
                buf.reserve(spare);
            }
        }
        buf
    }

    /// Frees the receive buffer if it holds no bytes: for an adapter with nothing to
    /// read right now, so that an idle connection keeps no buffer. A buffer made by
    /// [`Driver::recv_buf_with`] goes back to the thread's pool.
    /// So does the output buffer of such a connection when nothing waits in it.
    pub fn release_recv_buf(&mut self) {
        let core = &mut *self.core;
        let give_out = core.pooled_recv && core.conn.has_output_buffer();
        let buf = core.conn.recv_buf();
        let give_recv = buf.is_empty() && buf.capacity() > 0;
        if !core.pooled_recv {
            if give_recv {
                drop(std::mem::take(buf));
            }
            return;
        }
        if !give_out && !give_recv {
            return;
        }
        let conn = &mut core.conn;
        let kept = BUFS.try_with(|t| {
            let Ok(mut t) = t.try_borrow_mut() else {
                return false;
            };
            if give_out && t.out.capacity() == 0 {
                if let Some(out) = conn.take_output_buffer() {
                    if out.capacity() <= OUT_BUF_MAX {
                        t.out = out;
                    } else {
                        let _ = conn.give_output_buffer(out);
                    }
                }
            }
            if give_recv && t.recv.len() < RECV_POOL_MAX {
                t.recv.push(std::mem::take(conn.recv_buf()));
                return true;
            }
            false
        });
        if give_recv && kept != Ok(true) {
            drop(std::mem::take(conn.recv_buf()));
        }
    }

    /// `n` bytes were appended to [`Driver::recv_buf`] at `now`; `n == 0` is the end
    /// of input.
    pub fn received(&mut self, now: Instant, n: usize) {
        if n == 0 {
            self.core.conn.recv_eof();
        } else {
            self.core.conn.received(now);
        }
    }

    /// The bytes to write, in order (a `bytes::Buf`: `chunks_vectored` for writev).
    pub fn outgoing(&mut self) -> &OutQueue {
        self.core.conn.outgoing()
    }

    /// `n` bytes of [`Driver::outgoing`] were written at `now`.
    pub fn transmitted(&mut self, now: Instant, n: usize) {
        self.core.conn.transmitted(now, n);
        self.core.transmitted_total += n as u64;
        if self
            .core
            .responses
            .values()
            .any(|e| matches!(e.state, ResState::Finishing(_)))
        {
            self.core.settle_finishing();
        }
        if !self.core.drain_waiters.is_empty() {
            self.core.wake_drain_waiters();
        }
    }

    /// Whether and how to close the socket.
    pub fn wants_close(&mut self) -> Option<Close> {
        self.core.conn.wants_close()
    }

    /// When [`Driver::handle_timeout`] has work next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.conn.poll_timeout()
    }

    /// Fires the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.core.conn.handle_timeout(now);
    }

    /// The socket failed (a read or write error): the connection is destroyed.
    pub fn socket_error(&mut self) {
        self.core.conn.destroy();
    }

    /// The socket is gone. Every request still being received is aborted, every
    /// waiting handle is woken, and later calls on the handles fail as Node's do on a
    /// destroyed socket.
    pub fn finish(&mut self) {
        if let Some(h) = self.core.pending_handover.take() {
            self.core.drop_later.push(*h);
        }
        self.detach();
    }

    /// The connection leaves the socket: destroyed for HTTP, handles woken.
    fn detach(&mut self) {
        self.core.conn.destroy();
        // Route the aborts and drops the destruction produced.
        // Requests not handed out yet never will be (no handles are made for them).
        while let Some(event) = self.core.conn.poll_event() {
            match event {
                ServerEvent::Request { .. } | ServerEvent::Upgrade { .. } => {}
                ServerEvent::ClientError { .. } | ServerEvent::Timeout { .. } => {}
                other => {
                    let _ = self.route(other);
                }
            }
        }
        self.core.closed = true;
        for (_, b) in std::mem::take(&mut self.core.bodies.entries) {
            let w = b.fail_deferred(std::io::ErrorKind::ConnectionReset, "aborted");
            self.core.wake_later.extend(w);
        }
        self.core.close_all_signals();
        self.core.timeout_listeners.clear();
        self.core.wake_drain_waiters();
        self.core.io_waker = None;
        self.core.driving = false;
    }
}
