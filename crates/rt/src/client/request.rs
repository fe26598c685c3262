//! Node's `ClientRequest` as an application handle.

use core::time::Duration;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use courier_proto::NodeHeaders;
use courier_proto::agent::ReqId;
use courier_proto::client::ClientError;
use courier_proto::outgoing::{ClientRequest as ProtoRequest, HeaderValue, OutgoingError};

use super::conn::ClientConnection;
use super::response::{ClientResponse, ClientUpgrade};
use super::{Agent, ClientOptions, ClientOptionsError, ClientRuntime};

/// Wakers taken out of a lock to call once it is released.
pub(crate) type Wakers = smallvec::SmallVec<[Waker; 4]>;

/// Events kept for [`ClientRequest::next_event`] at most; older `Information`
/// events are dropped first (a server may send any number of interim responses).
const MAX_EVENTS: usize = 256;

/// The least room the rendering arena is lent with: a usual request head.
const LENT_BLOCK: usize = 384;

/// The size of a new rendering arena: the heads of a few dozen requests in flight
/// are cut from one allocation.
const ARENA_SIZE: usize = 4096;

std::thread_local! {
    /// This thread's rendering arena for request heads ([`with_arena`]).
    static ARENA: core::cell::RefCell<BytesMut> = core::cell::RefCell::new(BytesMut::new());
}

/// Runs `f` on `req` with the thread's rendering arena lent to it, so that a head
/// rendered meanwhile is cut from the arena instead of allocated on its own. The
/// arena is reclaimed in place once every head cut from it was written, and
/// replaced when it has too little room.
fn with_arena<R>(req: &mut ProtoRequest, f: impl FnOnce(&mut ProtoRequest) -> R) -> R {
    if req.headers_sent() {
        return f(req);
    }
    let buf = ARENA
        .try_with(|a| {
            a.try_borrow_mut().ok().map(|mut a| {
                if a.capacity() < LENT_BLOCK && !a.try_reclaim(LENT_BLOCK) {
                    *a = BytesMut::with_capacity(ARENA_SIZE);
                }
                core::mem::take(&mut *a)
            })
        })
        .ok()
        .flatten();
    let Some(buf) = buf else { return f(req) };
    req.lend_buf(buf);
    let r = f(req);
    let rest = req.take_lent_buf();
    let _ = ARENA.try_with(|a| {
        if let Ok(mut a) = a.try_borrow_mut() {
            *a = rest;
        }
    });
    r
}

std::thread_local! {
    /// The names of the last request made on this thread ([`shared_names`]).
    static LAST_NAMES: core::cell::RefCell<Option<Arc<str>>> = const { core::cell::RefCell::new(None) };
}

/// `method`, `path` and `host` concatenated: the last request's on this thread when
/// they are the same (a client repeating a request allocates them once).
fn shared_names(method: &str, path: &str, host: &str) -> Arc<str> {
    let same = |n: &str| {
        n.len() == method.len() + path.len() + host.len()
            && n.starts_with(method)
            && n[method.len()..].starts_with(path)
            && n.ends_with(host)
    };
    let cached = LAST_NAMES
        .try_with(|last| {
            let last = last.try_borrow().ok()?;
            last.as_ref().filter(|n| same(n)).cloned()
        })
        .ok()
        .flatten();
    if let Some(names) = cached {
        return names;
    }
    // Concatenated on the stack when short, so that the `Arc` is the only
    // allocation.
    let mut joined: smallvec::SmallVec<[u8; 256]> = smallvec::SmallVec::new();
    for part in [method, path, host] {
        joined.extend_from_slice(part.as_bytes());
    }
    let names: Arc<str> = match core::str::from_utf8(&joined) {
        Ok(text) => Arc::from(text),
        Err(_) => Arc::from([method, path, host].concat()),
    };
    let _ = LAST_NAMES.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = Some(Arc::clone(&names));
        }
    });
    names
}

/// One event of a request, in Node's order (CLI-19 … CLI-23). Errors are not
/// events: [`ClientRequest::response`] and [`ClientRequest::upgrade`] return them,
/// and [`ClientRequest::error`] keeps the first.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestEvent {
    /// `'socket'`: the request was bound to a connection (new or reused, AGT-6).
    Socket,
    /// `'continue'`: the server sent `100 Continue` (CLI-15).
    Continue,
    /// `'information'`: an interim response other than 101 (CLI-15).
    Information {
        /// Its status code.
        status: u16,
        /// Its headers, in Node's view (MSG-3).
        headers: NodeHeaders,
    },
    /// `'finish'`: every request byte was handed to the socket (CLI-19).
    Finish,
    /// `'timeout'`: the socket was idle for the timeout; nothing else happens
    /// (CLI-23).
    Timeout,
    /// `'abort'` (CLI-21).
    Abort,
    /// `'close'`: the exchange is over; always the last event.
    Close,
}

/// The state of one request, shared by its handle, its connection and its agent.
#[derive(Debug)]
pub(crate) struct ReqShared {
    state: Mutex<ReqState>,
}

#[derive(Debug)]
pub(crate) struct ReqState {
    pub(crate) id: ReqId,
    /// The request before it runs on a connection (boxed: the shared state stays
    /// small enough for the allocator's fast path).
    pub(crate) pending: Option<Box<ProtoRequest>>,
    /// The connection it runs (or ran) on.
    pub(crate) conn: Option<ClientConnection>,
    pub(crate) reused: bool,
    /// Oldest first; inline room for an ordinary exchange's events.
    pub(crate) events: smallvec::SmallVec<[RequestEvent; 4]>,
    pub(crate) response: Option<ClientResponse>,
    pub(crate) upgrade: Option<ClientUpgrade>,
    pub(crate) error: Option<ClientError>,
    /// `'close'` was queued.
    pub(crate) closed: bool,
    /// `'socket'` was queued for the current binding.
    pub(crate) socket_emitted: bool,
    /// The handle is gone: a response is discarded (MSG-13).
    pub(crate) discard: bool,
    pub(crate) upgraded: bool,
    /// Output queued on the connection above which `write` waits.
    pub(crate) high_water: usize,
    /// Handle calls waiting for a response, an upgrade, an error, the end or room
    /// to write.
    wakers: Wakers,
    /// `next_event` calls waiting: only these hear of an event that changes
    /// nothing else (`'finish'`, `'continue'`, …). Rarely used: no inline room.
    event_wakers: Vec<Waker>,
}

impl ReqShared {
    pub(crate) fn new(id: ReqId, req: Box<ProtoRequest>, high_water: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(ReqState {
                id,
                pending: Some(req),
                conn: None,
                reused: false,
                events: smallvec::SmallVec::new(),
                response: None,
                upgrade: None,
                error: None,
                closed: false,
                socket_emitted: false,
                discard: false,
                upgraded: false,
                high_water,
                wakers: Wakers::new(),
                event_wakers: Vec::new(),
            }),
        })
    }

    /// Runs `f` on the state, waking nobody (for a handle's own polls).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut ReqState) -> R) -> R {
        f(&mut self.lock())
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ReqState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the state and wakes every waiter afterwards.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut ReqState) -> R) -> R {
        let (r, wakers) = {
            let mut st = self.lock();
            let r = f(&mut st);
            let st = &mut *st;
            let wakers: Wakers = st
                .wakers
                .drain(..)
                .chain(st.event_wakers.drain(..))
                .collect();
            (r, wakers)
        };
        for w in wakers {
            w.wake();
        }
        r
    }
}

impl ReqState {
    /// Queues an event for `next_event`. Nothing follows `'close'`, except the
    /// `'abort'` of a request aborted before it had a socket (CLI-21).
    pub(crate) fn push(&mut self, ev: RequestEvent) {
        if self.closed && ev != RequestEvent::Abort {
            return;
        }
        if matches!(ev, RequestEvent::Close) {
            self.closed = true;
        }
        if self.events.len() >= MAX_EVENTS {
            if let Some(i) = self
                .events
                .iter()
                .position(|e| matches!(e, RequestEvent::Information { .. }))
            {
                self.events.remove(i);
            }
        }
        self.events.push(ev);
    }

    /// The first error wins (CLI-20).
    pub(crate) fn fail(&mut self, err: ClientError) {
        if self.error.is_none() {
            self.error = Some(err);
        }
    }

    /// Moves the wakers of every waiting handle call to `out`, for the caller to
    /// wake after unlocking.
    pub(crate) fn take_wakers_into(&mut self, out: &mut Vec<Waker>) {
        out.extend(self.wakers.drain(..));
        out.append(&mut self.event_wakers);
    }

    /// Moves the wakers of the waiting `next_event` calls only to `out`: after an
    /// event that changes nothing else, the other waiters would find nothing new.
    pub(crate) fn take_event_wakers_into(&mut self, out: &mut Vec<Waker>) {
        out.append(&mut self.event_wakers);
    }

    fn wait(&mut self, waker: &Waker) {
        if !self.wakers.iter().any(|w| w.will_wake(waker)) {
            self.wakers.push(waker.clone());
        }
    }

    fn wait_event(&mut self, waker: &Waker) {
        if !self.event_wakers.iter().any(|w| w.will_wake(waker)) {
            self.event_wakers.push(waker.clone());
        }
    }

    /// A request that never reached a connection ends: `error` (if any), `'close'`.
    pub(crate) fn end_pending(&mut self, error: Option<ClientError>) {
        self.pending = None;
        if let Some(e) = error {
            self.fail(e);
        }
        self.push(RequestEvent::Close);
    }
}

/// Node's `ClientRequest`: made by the adapter's `request()`, it is bound to a socket
/// by its agent at once or when one frees up. Set headers, write the body (with
/// back-pressure), [`end`](Self::end), then await the [`response`](Self::response).
///
/// Dropping the handle before [`end`](Self::end) destroys the request; dropping it
/// after lets the exchange finish, and a response nobody takes is read and
/// discarded (MSG-13).
#[derive(Debug)]
pub struct ClientRequest {
    shared: Arc<ReqShared>,
    /// The request's id (fixed for its life).
    id: ReqId,
    agent: Agent,
    /// `method`, `path` and `host`, one after the other (one allocation, shared
    /// by the requests a thread makes in a row to the same place).
    names: Arc<str>,
    /// Where `path` and `host` start in `names`.
    path_at: usize,
    host_at: usize,
    ended: bool,
}

/// What the request is doing now.
enum Place {
    Pending,
    Running(ClientConnection),
    Done,
}

impl ClientRequest {
    /// `http.request(options)` on `runtime`: validates the options (Node's
    /// synchronous throws, as [`ClientOptionsError`]) and hands the request to its
    /// agent. Adapters call this; applications call the adapter's `request`.
    pub fn new(
        options: impl Into<ClientOptions>,
        runtime: Arc<dyn ClientRuntime>,
    ) -> Result<Self, ClientOptionsError> {
        Self::make(options.into(), runtime, false).map(|(req, _)| req)
    }

    /// `http.get(options)` on `runtime`: [`Self::new`], then [`Self::end`]. The
    /// request is ended before its agent sees it, so that the head is rendered
    /// once and a free socket finds it complete (as in Node, where `end()` runs
    /// before the agent hands the socket over).
    pub fn get(
        options: impl Into<ClientOptions>,
        runtime: Arc<dyn ClientRuntime>,
    ) -> Result<Self, ClientOptionsError> {
        let (mut req, ended) = Self::make(options.into(), runtime, true)?;
        if !ended {
            req.end(None)?;
        }
        Ok(req)
    }

    /// Resolves `options` and hands the request to its agent, ended first if
    /// `end` and that succeeds (the flag returned).
    fn make(
        options: ClientOptions,
        runtime: Arc<dyn ClientRuntime>,
        end: bool,
    ) -> Result<(Self, bool), ClientOptionsError> {
        let mut resolved = options.resolve()?;
        // A failed end leaves the request to be ended (and fail) as usual.
        let ended = end && with_arena(&mut resolved.req, |r| r.end(None)).is_ok();
        let (method, path, host) = (
            resolved.req.method(),
            resolved.req.path(),
            resolved.req.host(),
        );
        let names = shared_names(method, path, host);
        let (path_at, host_at) = (method.len(), method.len() + path.len());
        let agent = resolved.agent.clone();
        let shared = agent.add_request(runtime, resolved);
        let id = shared.with(|st| st.id);
        let req = Self {
            shared,
            id,
            agent,
            names,
            path_at,
            host_at,
            ended,
        };
        Ok((req, ended))
    }

    fn place(&self) -> Place {
        let st = self.shared.lock();
        if st.pending.is_some() {
            Place::Pending
        } else if let (Some(c), false) = (&st.conn, st.closed) {
            Place::Running(c.clone())
        } else {
            Place::Done
        }
    }

    fn id(&self) -> ReqId {
        self.id
    }

    /// Runs `f` on the request wherever it is: pending (under the request's lock) or
    /// running on its connection. `None` when the exchange is over.
    fn with_req<R>(&self, f: impl FnOnce(&mut ProtoRequest) -> R) -> Option<R> {
        let mut f = Some(f);
        {
            let mut st = self.shared.lock();
            if let Some(req) = st.pending.as_mut() {
                return f.take().map(|f| f(req));
            }
        }
        match self.place() {
            Place::Running(conn) => conn
                .with_request(self.id(), |r| f.take().map(|f| f(r)))
                .flatten(),
            Place::Pending => {
                // Bound between the two looks: it runs now.
                let mut st = self.shared.lock();
                st.pending.as_mut().and_then(|r| f.take().map(|f| f(r)))
            }
            Place::Done => None,
        }
    }

    /// `setHeader(name, value)` (RES-2, CLI-25).
    pub fn set_header(
        &mut self,
        name: &str,
        value: impl Into<HeaderValue>,
    ) -> Result<(), OutgoingError> {
        let value = value.into();
        self.with_req(|r| r.set_header(name, value).map(|_| ()))
            .unwrap_or(Err(OutgoingError::HeadersSent))
    }

    /// `appendHeader(name, value)` (RES-5).
    pub fn append_header(
        &mut self,
        name: &str,
        value: impl Into<HeaderValue>,
    ) -> Result<(), OutgoingError> {
        let value = value.into();
        self.with_req(|r| r.append_header(name, value).map(|_| ()))
            .unwrap_or(Err(OutgoingError::HeadersSentAppend))
    }

    crate::header_read_methods!(with_req);

    /// `addTrailers(headers)` (RES-20): sent after a chunked body.
    pub fn add_trailers(&mut self, trailers: &[(&str, &str)]) -> Result<(), OutgoingError> {
        self.with_req(|r| r.add_trailers(trailers.iter().map(|&(n, v)| (n, HeaderValue::from(v)))))
            .unwrap_or(Err(OutgoingError::Destroyed))
    }

    /// `removeHeader(name)` (RES-4, CLI-25).
    pub fn remove_header(&mut self, name: &str) -> Result<(), OutgoingError> {
        self.with_req(|r| r.remove_header(name).map(|_| ()))
            .unwrap_or(Err(OutgoingError::HeadersSentRemove))
    }

    /// `write(chunk)` without waiting: `Ok(true)` while the unsent output stays below
    /// the high-water mark, `Ok(false)` when the caller should wait for
    /// [`Self::drained`] (Node's return value and `'drain'`). The bytes are queued
    /// either way.
    pub fn write_now(&mut self, chunk: impl Into<Bytes>) -> Result<bool, OutgoingError> {
        let chunk = chunk.into();
        let hwm = self.shared.lock().high_water;
        {
            let mut st = self.shared.lock();
            if let Some(req) = st.pending.as_mut() {
                req.write(chunk)?;
                return Ok(req.buffered_len() < hwm);
            }
        }
        match self.place() {
            Place::Running(conn) => conn.write(self.id(), chunk),
            Place::Pending => {
                let mut st = self.shared.lock();
                match st.pending.as_mut() {
                    Some(req) => {
                        req.write(chunk)?;
                        Ok(req.buffered_len() < hwm)
                    }
                    None => Err(OutgoingError::Destroyed),
                }
            }
            Place::Done => Err(OutgoingError::Destroyed),
        }
    }

    /// `write(chunk)`, then waits while the connection holds more unsent bytes than
    /// the high-water mark.
    pub async fn write(&mut self, chunk: impl Into<Bytes>) -> Result<(), OutgoingError> {
        if !self.write_now(chunk)? {
            self.drained().await;
        }
        Ok(())
    }

    /// Resolves once the unsent output is below the high-water mark (Node's
    /// `'drain'`), or the exchange is over.
    pub async fn drained(&self) {
        core::future::poll_fn(|cx| self.poll_drained(cx)).await;
    }

    fn poll_drained(&self, cx: &mut Context<'_>) -> Poll<()> {
        {
            let mut st = self.shared.lock();
            if let Some(req) = st.pending.as_ref() {
                if req.buffered_len() < st.high_water {
                    return Poll::Ready(());
                }
                st.wait(cx.waker());
                return Poll::Pending;
            }
        }
        match self.place() {
            Place::Running(conn) => conn.poll_drained(self.id(), cx),
            Place::Pending => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Place::Done => Poll::Ready(()),
        }
    }

    /// `end(chunk)`: the last piece, if any, and the end of the request (CLI-12).
    pub fn end(&mut self, chunk: Option<Bytes>) -> Result<(), OutgoingError> {
        let r = {
            let mut st = self.shared.lock();
            st.pending
                .as_mut()
                .map(|req| with_arena(req, |req| req.end(chunk.clone())))
        };
        let r = match r {
            Some(r) => r,
            None => match self.place() {
                Place::Running(conn) => conn
                    .with_request(self.id(), |req| with_arena(req, |req| req.end(chunk)))
                    .unwrap_or(Ok(())),
                Place::Pending => self.with_req(|req| req.end(chunk)).unwrap_or(Ok(())),
                Place::Done => Ok(()),
            },
        };
        if r.is_ok() {
            self.ended = true;
        }
        r
    }

    /// `flushHeaders()`: renders the head and sends it at once (CLI-13).
    pub fn flush_headers(&mut self) -> Result<(), OutgoingError> {
        self.with_req(|r| r.flush_headers()).unwrap_or(Ok(()))
    }

    /// `abort()` (CLI-21): `'abort'`, then `'close'`; no error. A response being read
    /// is aborted (its body ends with `aborted`).
    pub fn abort(&mut self) {
        self.ended = true;
        match self.place() {
            Place::Pending => self.end_pending(true, None),
            Place::Running(conn) => conn.abort(self.id()),
            Place::Done => {}
        }
    }

    /// `destroy()` (CLI-21): before a response, the request fails with `ECONNRESET`
    /// `socket hang up`; a response being read is aborted. Then `'close'`.
    pub fn destroy(&mut self) {
        self.destroy_inner(None);
    }

    /// `destroy(err)`: the request fails with `err`, then `'close'`.
    pub fn destroy_with(&mut self, err: ClientError) {
        self.destroy_inner(Some(err));
    }

    fn destroy_inner(&mut self, err: Option<ClientError>) {
        self.ended = true;
        match self.place() {
            Place::Pending => self.end_pending(false, Some(err.unwrap_or(ClientError::HangUp))),
            Place::Running(conn) => conn.destroy_request(self.id(), err),
            Place::Done => {}
        }
    }

    fn end_pending(&self, abort: bool, err: Option<ClientError>) {
        let cancelled = self.shared.update(|st| {
            if st.pending.is_none() {
                return false;
            }
            // Node's order (CLI-21): before any socket, 'close' then 'abort' and no
            // error; bound to a connecting socket, 'abort', then the socket's close
            // fails the request with `socket hang up` (as Node v20 does), 'close'.
            let bound = st.socket_emitted;
            if abort && bound {
                st.push(RequestEvent::Abort);
                st.fail(ClientError::HangUp);
            }
            st.end_pending(err);
            if abort && !bound {
                st.push(RequestEvent::Abort);
            }
            true
        });
        if cancelled {
            self.agent.cancel(self.id());
        } else if let Place::Running(conn) = self.place() {
            // Bound meanwhile.
            if abort {
                conn.abort(self.id());
            } else {
                conn.destroy_request(self.id(), None);
            }
        }
    }

    /// `setTimeout(ms)` (CLI-23): the socket's idle timeout while the request runs;
    /// `None` or zero turns it off. [`RequestEvent::Timeout`] reports expiry.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        if self
            .with_req(|r| {
                r.set_timeout(timeout);
            })
            .is_some()
        {
            if let Place::Running(conn) = self.place() {
                conn.set_timeout(self.id(), timeout);
            }
        }
    }

    /// `setNoDelay(noDelay)`, applied once the request has a socket (CLI-26).
    pub fn set_no_delay(&mut self, no_delay: bool) {
        self.with_req(|r| r.set_no_delay(no_delay));
        if let Place::Running(conn) = self.place() {
            conn.socket_options_changed(self.id());
        }
    }

    /// `setSocketKeepAlive(enable, initialDelay)`, applied once the request has a
    /// socket (CLI-26).
    pub fn set_socket_keep_alive(&mut self, enable: bool, initial_delay: Duration) {
        self.with_req(|r| r.set_socket_keep_alive(enable, initial_delay));
        if let Place::Running(conn) = self.place() {
            conn.socket_options_changed(self.id());
        }
    }

    /// `reusedSocket`: the agent took the socket from its free list (CLI-24).
    pub fn reused_socket(&self) -> bool {
        self.shared.lock().reused
    }

    /// `path`.
    pub fn path(&self) -> &str {
        &self.names[self.path_at..self.host_at]
    }

    /// `method`, upper-cased.
    pub fn method(&self) -> &str {
        &self.names[..self.path_at]
    }

    /// `host`.
    pub fn host(&self) -> &str {
        &self.names[self.host_at..]
    }

    /// `headersSent`: the head was rendered.
    pub fn headers_sent(&self) -> bool {
        self.with_req(|r| r.headers_sent()).unwrap_or(true)
    }

    /// The first error of the request (`'error'`), if any.
    pub fn error(&self) -> Option<ClientError> {
        self.shared.lock().error.clone()
    }

    /// `destroyed`: the exchange is over (closed) or was destroyed.
    pub fn destroyed(&self) -> bool {
        self.shared.lock().closed
    }

    /// The agent the request goes through.
    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    /// The response (`'response'`), or the request's error. A response that
    /// upgraded the connection (101, CONNECT) is given here too, with no body;
    /// [`Self::upgrade`] gives its socket. Ends the request first if the
    /// application has not (Node's `get` does, CLI-1).
    pub async fn response(&mut self) -> Result<ClientResponse, ClientError> {
        if !self.ended {
            // Node's `get`; an error here leaves the request as it was.
            let _ = self.end(None);
        }
        core::future::poll_fn(|cx| {
            // `lock`, not `update`: waking the waiters here would wake this very
            // call again at once.
            self.shared.with(|st| {
                if let Some(r) = st.response.take() {
                    return Poll::Ready(Ok(r));
                }
                if let Some(e) = &st.error {
                    return Poll::Ready(Err(e.clone()));
                }
                if st.closed {
                    return Poll::Ready(Err(ClientError::HangUp));
                }
                st.wait(cx.waker());
                Poll::Pending
            })
        })
        .await
    }

    /// The connection after a `101 Switching Protocols` with `Upgrade` or any
    /// response to CONNECT (Node's `'upgrade'` / `'connect'`, CLI-16): the socket,
    /// the bytes that followed the head, and the response head. Fails with the
    /// request's error, or `ECONNRESET` when the exchange ended without an upgrade.
    pub async fn upgrade(&mut self) -> Result<ClientUpgrade, ClientError> {
        if !self.ended {
            let _ = self.end(None);
        }
        core::future::poll_fn(|cx| {
            // `lock`, not `update`: waking the waiters here would wake this very
            // call again at once.
            self.shared.with(|st| {
                if let Some(u) = st.upgrade.take() {
                    return Poll::Ready(Ok(u));
                }
                if let Some(e) = &st.error {
                    return Poll::Ready(Err(e.clone()));
                }
                if st.closed && !st.upgraded {
                    return Poll::Ready(Err(ClientError::HangUp));
                }
                st.wait(cx.waker());
                Poll::Pending
            })
        })
        .await
    }

    /// The next event; `None` after [`RequestEvent::Close`] was returned.
    pub async fn next_event(&mut self) -> Option<RequestEvent> {
        core::future::poll_fn(|cx| {
            let mut st = self.shared.lock();
            if !st.events.is_empty() {
                return Poll::Ready(Some(st.events.remove(0)));
            }
            if st.closed {
                return Poll::Ready(None);
            }
            st.wait_event(cx.waker());
            Poll::Pending
        })
        .await
    }

    /// Events queued now, without waiting.
    pub fn take_events(&mut self) -> Vec<RequestEvent> {
        self.shared.lock().events.drain(..).collect()
    }
}

impl Drop for ClientRequest {
    fn drop(&mut self) {
        if !self.ended {
            self.destroy();
        }
        let (response, upgrade) = {
            let mut st = self.shared.lock();
            st.discard = true;
            (st.response.take(), st.upgrade.take())
        };
        drop(response);
        drop(upgrade);
    }
}
