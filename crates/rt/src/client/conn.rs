//! The client's per-connection driver core: one proto [`ClientConn`] shared by the
//! adapter's I/O loop, the request handle running on it and its agent.
//!
//! The adapter owns the socket, the timer and the task; everything else lives here.
//! See the [module docs](super) for the loop's steps. Back-pressure runs both ways:
//! the connection stops reading while the response body holds the high-water mark
//! of unread bytes, and `ClientRequest::write` waits while the connection holds the
//! mark of unsent bytes.

use core::time::Duration;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use courier_proto::agent::{ReqId, Reusable};
use courier_proto::client::{
    Assignment, ClientConfig, ClientConn, ClientError, ClientEvent, Close, Disposition, OutQueue,
};
use courier_proto::head::ResponseHead;
use courier_proto::outgoing::{ClientRequest as ProtoRequest, OutgoingError, SocketOptions};

use super::Transport;
use super::agent::{Agent, SockId};
use super::request::{ReqShared, RequestEvent, Wakers};
use super::response::{ClientResponse, ClientUpgrade};
use crate::body::{self, BodyReceiver, BodySender};

/// Spare capacity the receive buffer gets before each read.
const READ_RESERVE: usize = 8 * 1024;

/// What the agent must hear about the socket once the lock is released.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Note {
    /// The exchange ended: back to the pool, or not (CLI-18).
    Release(Reusable),
    /// The socket left HTTP (upgrade, CONNECT).
    Detach,
    /// Bytes arrived on the idle socket.
    Poisoned,
    /// The socket is gone.
    Closed,
}

/// The request running on the connection.
#[derive(Debug)]
struct Current {
    id: ReqId,
    req: Arc<ReqShared>,
    join_duplicates: bool,
}

#[derive(Debug)]
struct Core {
    conn: ClientConn,
    sock: SockId,
    current: Option<Current>,
    body: Option<BodySender>,
    high_water: usize,
    io_waker: Option<Waker>,
    drain_waiters: Vec<Waker>,
    wake_later: Vec<Waker>,
    notes: Vec<Note>,
    /// A response body that ended while the agent had not yet heard what became of
    /// the socket: it is ended (made visible to the application) by
    /// [`ClientConnection::settle`], after the agent took the socket back.
    pending_end: Option<(BodySender, Option<Box<courier_proto::Headers>>)>,
    /// The last response's body queue, reused for the next one once it is gone.
    body_spare: body::BodySpare,
    /// The socket is gone.
    closed: bool,
    /// Reading into `scratch` (no response being read: bytes here poison the idle
    /// connection).
    scratch: Option<BytesMut>,
    upgrade: Option<UpgradeHandoff>,
    socket_options: Option<SocketOptions>,
    /// Until when the machine may hold body bytes for a `100 Continue`.
    hold_until: Option<Instant>,
    /// The last `write` found the output (held bytes included) at the mark.
    write_full: bool,
}

impl Core {
    fn wake_io(&mut self) {
        if let Some(w) = &self.io_waker {
            self.wake_later.push(w.clone());
        }
    }

    fn wake_drain_waiters(&mut self) {
        self.wake_later.append(&mut self.drain_waiters);
    }

    /// Runs `f` on the current request's state (if it is `id`, or any when `None`).
    fn with_current<R>(&mut self, f: impl FnOnce(&mut super::request::ReqState) -> R) -> Option<R> {
        let cur = self.current.as_ref()?;
        let mut st = cur.req.lock();
        let r = f(&mut st);
        st.take_wakers_into(&mut self.wake_later);
        Some(r)
    }

    /// Queues `ev` on the current request, waking its `next_event` waiters only:
    /// for an event that changes nothing the other waiters look at.
    fn push_event(&mut self, ev: RequestEvent) {
        let Some(cur) = self.current.as_ref() else {
            return;
        };
        let mut st = cur.req.lock();
        st.push(ev);
        st.take_event_wakers_into(&mut self.wake_later);
    }

    fn is_current(&self, id: ReqId) -> bool {
        self.current.as_ref().is_some_and(|c| c.id == id)
    }

    fn drained(&mut self) -> bool {
        if self.closed {
            return true;
        }
        if self.hold_until.is_some() && self.write_full {
            // Bytes held for a `100 Continue` are not in the queue: the machine's
            // own count (the last write's) stands until the hold ends.
            return false;
        }
        let out = self.conn.outgoing().len();
        let buffered = self.conn.current().map_or(0, ProtoRequest::buffered_len);
        out + buffered < self.high_water
    }

    /// The `100-continue` hold is over (a `100`, a final response, the end of the
    /// exchange, or its deadline): writers waiting on held bytes look again.
    fn end_hold(&mut self) {
        if self.hold_until.take().is_some() {
            self.write_full = false;
            self.wake_drain_waiters();
        }
    }

    /// Routes the machine's events to the request and response handles.
    fn route(&mut self) {
        self.route_events();
        if self.notes.is_empty() {
            self.deliver_end();
        }
    }

    /// Ends the body whose end was held back (see `pending_end`).
    fn deliver_end(&mut self) {
        if let Some((b, trailers)) = self.pending_end.take() {
            let trailers = trailers.map(|t| *t).unwrap_or_default();
            self.wake_later.extend(b.end_deferred(trailers));
        }
    }

    fn route_events(&mut self) {
        while let Some(ev) = self.conn.poll_event() {
            match ev {
                ClientEvent::Continue => {
                    self.end_hold();
                    self.push_event(RequestEvent::Continue);
                }
                ClientEvent::Information(head) => {
                    let join = self.current.as_ref().is_some_and(|c| c.join_duplicates);
                    let headers = head.headers.node_view(join);
                    self.push_event(RequestEvent::Information {
                        status: head.status,
                        headers,
                    });
                }
                ClientEvent::Response(head) => {
                    self.end_hold();
                    let join = self.current.as_ref().is_some_and(|c| c.join_duplicates);
                    let (tx, rx) = body::channel_reusing(&mut self.body_spare, self.high_water);
                    let res = ClientResponse::new(head, rx, join);
                    let kept = self.with_current(|st| {
                        if st.discard {
                            false
                        } else {
                            st.response = Some(res);
                            true
                        }
                    });
                    // Nobody takes the response: the body is read and discarded
                    // (MSG-13); the receiver is gone, so the sender drops the pieces.
                    let _ = kept;
                    self.body = Some(tx);
                }
                ClientEvent::Data(d) => {
                    if let Some(b) = &self.body {
                        b.push(d);
                    }
                }
                ClientEvent::End { trailers } => {
                    // Ended at the end of this routing, or after the agent heard the
                    // socket's release when that is pending (`settle`).
                    if let Some(b) = self.body.take() {
                        self.pending_end = Some((b, trailers));
                    }
                }
                ClientEvent::Finish => {
                    self.push_event(RequestEvent::Finish);
                    self.wake_drain_waiters();
                }
                ClientEvent::Upgrade { head, leftover, .. } => {
                    if let Some(cur) = &self.current {
                        self.upgrade = Some(UpgradeHandoff {
                            req: Arc::clone(&cur.req),
                            head: head.clone(),
                            leftover,
                        });
                    }
                    let res = ClientResponse::new(head, BodyReceiver::empty(), false);
                    self.with_current(|st| {
                        st.upgraded = true;
                        if !st.discard {
                            st.response = Some(res);
                        }
                    });
                    self.wake_io();
                }
                ClientEvent::Timeout => {
                    self.push_event(RequestEvent::Timeout);
                }
                ClientEvent::Abort => {
                    self.push_event(RequestEvent::Abort);
                }
                ClientEvent::Aborted { complete } => {
                    if let Some(b) = self.body.take() {
                        if complete {
                            self.pending_end = Some((b, None));
                        } else {
                            b.fail(std::io::ErrorKind::ConnectionReset, "aborted");
                        }
                    }
                }
                ClientEvent::Error(e) => {
                    self.with_current(|st| st.fail(e));
                }
                ClientEvent::Close(end) => {
                    self.end_hold();
                    if let Some(b) = self.body.take() {
                        b.fail(std::io::ErrorKind::ConnectionReset, "aborted");
                    }
                    self.with_current(|st| st.push(RequestEvent::Close));
                    self.current = None;
                    self.wake_drain_waiters();
                    self.notes.push(match end.disposition {
                        Disposition::Keep { keep_alive_hint } => {
                            Note::Release(Reusable::Yes { keep_alive_hint })
                        }
                        Disposition::Close => Note::Release(Reusable::No),
                        Disposition::Detached => Note::Detach,
                    });
                }
                ClientEvent::Poisoned => self.notes.push(Note::Poisoned),
            }
        }
    }
}

/// The socket of an upgraded connection goes to the request: the adapter calls
/// [`UpgradeHandoff::complete`] with its transport and stops driving it.
#[derive(Debug)]
pub struct UpgradeHandoff {
    req: Arc<ReqShared>,
    head: Box<ResponseHead>,
    leftover: Bytes,
}

impl UpgradeHandoff {
    /// Hands `io` to the request ([`super::ClientRequest::upgrade`]).
    pub fn complete(self, io: Box<dyn Transport>) {
        let up = ClientUpgrade::new(io, self.leftover, self.head);
        self.req.update(|st| {
            if !st.discard {
                st.upgrade = Some(up);
            }
        });
    }
}

#[derive(Debug)]
struct Shared {
    core: Mutex<Core>,
    agent: Agent,
}

/// A lock guard that wakes what the critical section scheduled once it unlocks.
struct Locked<'a> {
    guard: Option<MutexGuard<'a, Core>>,
    /// The loop's own step, which settles right after unlocking: with notes
    /// pending, nobody is woken (`settle` wakes the held wakers).
    settles: bool,
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
    fn drop(&mut self) {
        let Some(mut g) = self.guard.take() else {
            return;
        };
        // Notes for the agent are pending (a released socket, say): the
        // application's wakers wait until `ClientConnection::settle` has told the
        // agent, so that a request made as soon as a response ends finds the socket
        // free, as in Node (whose agent frees it before the application's next
        // tick). Only the loop's own waker is called now, so it settles.
        if !g.notes.is_empty() {
            if self.settles {
                return;
            }
            if let Some(w) = g.io_waker.clone() {
                drop(g);
                w.wake();
                return;
            }
        }
        match g.wake_later.len() {
            0 => {}
            1 => {
                let w = g.wake_later.pop();
                drop(g);
                w.into_iter().for_each(Waker::wake);
            }
            _ => {
                let wakers: Wakers = g.wake_later.drain(..).collect();
                drop(g);
                wakers.into_iter().for_each(Waker::wake);
            }
        }
    }
}

/// How [`ClientConnection::start`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Started {
    Yes,
    /// The request ended before it got here (destroyed, aborted). `bound`: it was
    /// bound to this connection while it connected (Node's `'socket'`), so the
    /// socket goes with it.
    RequestGone {
        /// The connection was opened for the request.
        bound: bool,
    },
    /// The connection cannot take it (closed meanwhile).
    ConnectionGone,
}

/// One client connection: the machine and the state its handles share. Cloning gives
/// another handle to the same connection.
#[derive(Debug, Clone)]
pub struct ClientConnection {
    shared: Arc<Shared>,
}

impl ClientConnection {
    pub(crate) fn new(agent: Agent, sock: SockId, now: Instant) -> Self {
        let cfg = ClientConfig::default();
        let high_water = cfg.high_water_mark;
        Self {
            shared: Arc::new(Shared {
                core: Mutex::new(Core {
                    conn: ClientConn::with_config(cfg, now),
                    sock,
                    current: None,
                    body: None,
                    high_water,
                    io_waker: None,
                    drain_waiters: Vec::new(),
                    wake_later: Vec::new(),
                    notes: Vec::new(),
                    closed: false,
                    scratch: None,
                    pending_end: None,
                    body_spare: body::BodySpare::default(),
                    upgrade: None,
                    socket_options: None,
                    hold_until: None,
                    write_full: false,
                }),
                agent,
            }),
        }
    }

    fn core(&self) -> Locked<'_> {
        self.core_settling(false)
    }

    fn core_settling(&self, settles: bool) -> Locked<'_> {
        Locked {
            guard: Some(
                self.shared
                    .core
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            ),
            settles,
        }
    }

    /// Locks the connection for one step of the adapter's loop.
    pub fn lock(&self) -> ClientDriver<'_> {
        ClientDriver { core: self.core() }
    }

    /// [`Self::lock`] for a step after which the loop calls [`Self::settle_step`]
    /// (or [`Self::settle`]) at once: a socket released meanwhile does not wake the
    /// loop's own task for that (the settle that follows tells the agent and wakes
    /// the application).
    pub(crate) fn lock_step(&self) -> ClientDriver<'_> {
        ClientDriver {
            core: self.core_settling(true),
        }
    }

    /// Whether the two handles are the same connection.
    pub fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The agent's id of the socket.
    pub(crate) fn sock(&self) -> SockId {
        self.core().sock
    }

    /// Runs request `req` (the agent assigned it, AGT-5).
    pub(crate) fn start(
        &self,
        now: Instant,
        req: &Arc<ReqShared>,
        reused: bool,
        timeout: Option<Duration>,
    ) -> Started {
        let mut core = self.core();
        if core.closed || !core.conn.is_idle() {
            return Started::ConnectionGone;
        }
        let mut st = req.lock();
        let Some(preq) = st.pending.take() else {
            return Started::RequestGone {
                bound: st.socket_emitted,
            };
        };
        let join = preq.join_duplicate_headers().unwrap_or(false);
        let opts = preq.socket_options();
        let hold = preq.expects_continue();
        // Bytes written before the socket came count as one write.
        let full = preq.buffered_len() >= core.high_water;
        let assignment = Assignment {
            reused,
            socket_timeout: timeout,
            upgrade_listener: true,
            connect_listener: true,
        };
        if let Err(preq) = core.conn.start_boxed(now, preq, assignment) {
            st.pending = Some(preq);
            return Started::ConnectionGone;
        }
        st.conn = Some(self.clone());
        st.reused = reused;
        if !st.socket_emitted {
            st.push(RequestEvent::Socket);
        }
        st.socket_emitted = false;
        let id = st.id;
        st.take_wakers_into(&mut core.wake_later);
        drop(st);
        core.current = Some(Current {
            id,
            req: Arc::clone(req),
            join_duplicates: join,
        });
        if opts != SocketOptions::default() {
            core.socket_options = Some(opts);
        }
        core.write_full = full;
        core.hold_until = if hold {
            core.conn.config().continue_timeout.map(|t| now + t)
        } else {
            None
        };
        core.wake_io();
        Started::Yes
    }

    /// Runs `f` on request `id` if it is the one running here.
    pub(crate) fn with_request<R>(
        &self,
        id: ReqId,
        f: impl FnOnce(&mut ProtoRequest) -> R,
    ) -> Option<R> {
        let mut core = self.core();
        if !core.is_current(id) {
            return None;
        }
        let r = {
            let mut requester = core.conn.request()?;
            f(&mut requester)
        };
        core.wake_io();
        Some(r)
    }

    /// `write` of request `id`; `Ok(false)` above the high-water mark.
    pub(crate) fn write(&self, id: ReqId, chunk: Bytes) -> Result<bool, OutgoingError> {
        let mut core = self.core();
        if !core.is_current(id) {
            return Err(OutgoingError::Destroyed);
        }
        let r = match core.conn.request() {
            Some(mut r) => r.write(chunk),
            None => Err(OutgoingError::Destroyed),
        };
        if let Ok(ok) = r {
            core.write_full = !ok;
        }
        core.wake_io();
        r
    }

    pub(crate) fn poll_drained(&self, id: ReqId, cx: &mut Context<'_>) -> Poll<()> {
        let mut core = self.core();
        if !core.is_current(id) || core.drained() {
            return Poll::Ready(());
        }
        if !core.drain_waiters.iter().any(|w| w.will_wake(cx.waker())) {
            core.drain_waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    pub(crate) fn abort(&self, id: ReqId) {
        let mut core = self.core();
        if core.is_current(id) {
            core.conn.abort();
            core.wake_io();
        }
    }

    pub(crate) fn destroy_request(&self, id: ReqId, err: Option<ClientError>) {
        let mut core = self.core();
        if core.is_current(id) {
            core.conn.destroy(err);
            core.wake_io();
        }
    }

    pub(crate) fn set_timeout(&self, id: ReqId, timeout: Option<Duration>) {
        let mut core = self.core();
        if core.is_current(id) {
            core.conn.set_timeout(timeout);
            core.wake_io();
        }
    }

    pub(crate) fn socket_options_changed(&self, id: ReqId) {
        let mut core = self.core();
        if core.is_current(id) {
            core.socket_options = core.conn.current().map(ProtoRequest::socket_options);
            core.wake_io();
        }
    }

    /// The agent closes the socket (`Action::Close`: expired, over a limit,
    /// `agent.destroy()`); a request running on it fails as Node's does.
    pub(crate) fn close(&self) {
        let mut core = self.core();
        core.conn.destroy(None);
        core.wake_io();
    }

    /// The earliest deadline of the connection and, while it is idle, of its agent's
    /// free sockets (AGT-9): sleep until then, then [`ClientDriver::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        let (own, idle) = {
            let core = self.core();
            let idle = core.conn.is_idle();
            (core.conn.poll_timeout(), idle)
        };
        let pool = if idle {
            self.shared.agent.poll_timeout()
        } else {
            None
        };
        match (own, pool) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Tells the agent what became of the socket since the last call (released,
    /// detached, poisoned, gone) and runs what the agent decides (AGT-7, AGT-9).
    /// Call after every step of the loop, with no lock held.
    pub fn settle(&self, now: Instant) {
        self.settle_with(now);
    }

    /// [`Self::settle`] after a step of the loop: with nothing to report, the agent
    /// is not visited (its free sockets expire when the loop's timer, which covers
    /// their deadline, calls [`Self::settle`]).
    pub fn settle_step(&self, now: impl FnOnce() -> Instant) {
        if self.core_settling(true).notes.is_empty() {
            // (A deferred body end waits for notes only: see `Core::route`.)
            return;
        }
        self.settle(now());
    }

    fn settle_with(&self, now: Instant) {
        let (notes, sock, held) = {
            let mut core = self.core();
            let notes: smallvec::SmallVec<[Note; 4]> = core.notes.drain(..).collect();
            let held: Wakers = if notes.is_empty() {
                Wakers::new()
            } else {
                core.wake_later.drain(..).collect()
            };
            (notes, core.sock, held)
        };
        self.shared.agent.handle_notes(self, sock, &notes, now);
        let ended: Wakers = {
            let mut core = self.core();
            core.deliver_end();
            core.wake_later.drain(..).collect()
        };
        for w in held.into_iter().chain(ended) {
            w.wake();
        }
    }
}

/// The connection, locked for one step of the adapter's loop. Wakers scheduled while
/// it is held are called when it is dropped.
pub struct ClientDriver<'a> {
    core: Locked<'a>,
}

impl core::fmt::Debug for ClientDriver<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientDriver").finish_non_exhaustive()
    }
}

impl ClientDriver<'_> {
    /// The adapter's task is woken through `waker` when a handle changed something.
    pub fn register(&mut self, waker: &Waker) {
        match &self.core.io_waker {
            Some(w) if w.will_wake(waker) => {}
            _ => self.core.io_waker = Some(waker.clone()),
        }
    }

    /// Routes the machine's events to the handles.
    pub fn process(&mut self) {
        self.core.route();
    }

    /// The socket goes to the application (upgrade, CONNECT): the adapter calls
    /// [`UpgradeHandoff::complete`] with it and stops driving the connection.
    pub fn take_upgrade(&mut self) -> Option<UpgradeHandoff> {
        self.core.route();
        let h = self.core.upgrade.take()?;
        self.core.closed = true;
        Some(h)
    }

    /// Whether [`Self::take_upgrade`] has a socket hand-off ready.
    pub(crate) fn upgrade_pending(&self) -> bool {
        self.core.upgrade.is_some()
    }

    /// Socket options the running request asked for (CLI-26), to apply now.
    pub fn take_socket_options(&mut self) -> Option<SocketOptions> {
        self.core.socket_options.take()
    }

    /// Whether the adapter should read now: the machine wants input (a response is
    /// being read, or the connection is idle and watched, AGT-9) and the response
    /// body is not holding the high-water mark of unread bytes.
    pub fn wants_read(&mut self) -> bool {
        if self.core.closed || !self.core.conn.wants_read() {
            return false;
        }
        match &self.core.body {
            Some(b) => !b.poll_full(self.core.io_waker.as_ref()),
            None => true,
        }
    }

    /// The buffer to read into, with spare capacity.
    pub fn recv_buf(&mut self) -> &mut BytesMut {
        let core = &mut *self.core;
        let use_parser = core.conn.recv_buf().is_some();
        if use_parser {
            core.scratch = None;
            let buf = core.conn.recv_buf().expect("checked above");
            if buf.capacity() - buf.len() < READ_RESERVE / 2 {
                buf.reserve(READ_RESERVE);
            }
            buf
        } else {
            let buf = core
                .scratch
                .get_or_insert_with(|| BytesMut::with_capacity(1024));
            buf.clear();
            buf
        }
    }

    /// `n` bytes were appended to [`Self::recv_buf`] at `now`; 0 is the end of input.
    pub fn received(&mut self, now: Instant, n: usize) {
        if n == 0 {
            self.core.scratch = None;
            self.core.conn.recv_eof();
        } else if let Some(buf) = self.core.scratch.take() {
            self.core.conn.feed(now, &buf);
        } else {
            self.core.conn.received(now, n);
        }
        self.core.route();
    }

    /// The bytes to write, in order.
    pub fn outgoing(&mut self) -> &OutQueue {
        self.core.conn.outgoing()
    }

    /// `n` bytes of [`Self::outgoing`] were written at `now`.
    pub fn transmitted(&mut self, now: Instant, n: usize) {
        self.core.conn.transmitted(now, n);
        if !self.core.drain_waiters.is_empty() && self.core.drained() {
            self.core.wake_drain_waiters();
        }
    }

    /// Whether and how to close the socket.
    pub fn wants_close(&mut self) -> Option<Close> {
        if self.core.closed {
            return Some(Close::Now);
        }
        self.core.conn.wants_close()
    }

    /// When the connection's own timers fire next (see also
    /// [`ClientConnection::poll_timeout`]).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.conn.poll_timeout()
    }

    /// Fires the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.core.conn.handle_timeout(now);
        if self.core.hold_until.is_some_and(|t| t <= now) {
            self.core.end_hold();
        }
        self.core.route();
    }

    /// The socket failed: `err` carries Node's code and message (`read
    /// ECONNRESET`, `write EPIPE`).
    pub fn socket_error(&mut self, err: ClientError) {
        self.core.conn.socket_error(err);
        self.core.route();
    }

    /// The socket is gone: a running request fails (`socket hang up` before a
    /// response, an aborted body during one), every waiting handle is woken and the
    /// agent forgets the socket at the next [`ClientConnection::settle`].
    pub fn finish(&mut self) {
        if !self.core.conn.is_closed() {
            self.core.conn.recv_eof();
        }
        self.core.conn.destroy(None);
        self.core.route();
        if let Some(b) = self.core.body.take() {
            b.fail(std::io::ErrorKind::ConnectionReset, "aborted");
        }
        if self.core.current.is_some() {
            self.core.with_current(|st| {
                st.fail(ClientError::HangUp);
                st.push(RequestEvent::Close);
            });
            self.core.current = None;
        }
        self.core.notes.push(Note::Closed);
        self.core.closed = true;
        self.core.wake_drain_waiters();
        self.core.io_waker = None;
    }
}
