//! What a connection hands the application besides `'request'`: the other server
//! events ([`ConnEvent`]), the socket leaving HTTP ([`Handover`]), the socket handle
//! ([`Socket`]), and the `'timeout'` / `'finish'` / `'close'` notifications.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::time::Duration;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use courier_proto::Error;
use courier_proto::server::{Close, ReqId};

use crate::conn::Shared;
use crate::message::IncomingMessage;
use crate::response::ServerResponse;

/// Which server event a request is (SRV-3, SRV-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// `'request'(req, res)`. For `Expect: 100-continue` without a `'checkContinue'`
    /// listener the `100 Continue` has already been queued (SRV-6).
    Request,
    /// `'checkContinue'(req, res)`: only with a `'checkContinue'` listener. Nothing
    /// was written: answer with [`ServerResponse::write_continue`] or a final response
    /// (SRV-6, SRV-7).
    CheckContinue,
    /// `'checkExpectation'(req, res)`: an `Expect` value other than `100-continue`,
    /// only with a `'checkExpectation'` listener (no automatic 417, SRV-6).
    CheckExpectation,
}

/// One event of a connection for the application, from [`crate::Driver::next_event`].
#[derive(Debug)]
pub enum ConnEvent {
    /// A request to answer: `'request'`, `'checkContinue'` or `'checkExpectation'`.
    Request {
        /// Which of the three events.
        kind: RequestKind,
        /// The request.
        req: IncomingMessage,
        /// Its response.
        res: ServerResponse,
    },
    /// `'dropRequest'(req, socket)`: a request over `maxRequestsPerSocket`, already
    /// answered with Node's 503 (SRV-5). Dropping `req` discards its body.
    DropRequest {
        /// The dropped request.
        req: IncomingMessage,
    },
    /// The server's `'timeout'(socket)`: the socket was inactive for its timeout
    /// (SRV-19). Without any `'timeout'` listener (server, request or response) the
    /// connection has already been destroyed; with one it is left alone.
    Timeout {
        /// The connection's socket.
        socket: Socket,
    },
}

/// The socket leaving the connection's HTTP processing, from
/// [`crate::Driver::take_handover`]. The adapter gives the application its transport
/// together with this value.
#[derive(Debug)]
pub enum Handover {
    /// `'upgrade'(req, socket, head)` or `'connect'(req, socket, head)` (SRV-8, SRV-9).
    Upgrade {
        /// The upgrade or CONNECT request (its body is empty: every byte after the head
        /// is in `head`).
        req: IncomingMessage,
        /// Every byte received after the request head (Node's `head`), including bytes
        /// the request declared as its body.
        head: Bytes,
        /// `'connect'` rather than `'upgrade'`.
        connect: bool,
    },
    /// `'clientError'(err, socket)` with a listener (SRV-11): nothing was written; the
    /// application owns the socket (write a raw reply, end it, or drop it).
    ClientError(ClientErrorEvent),
}

/// A parse error or request timeout on a connection (Node's `'clientError'` error,
/// SRV-11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientErrorEvent {
    error: Error,
    raw_packet: Bytes,
}

impl ClientErrorEvent {
    pub(crate) fn new(error: Error, raw_packet: Bytes) -> Self {
        Self { error, raw_packet }
    }

    /// Node's `err.code`: an `HPE_*` code from the parser or
    /// `ERR_HTTP_REQUEST_TIMEOUT` (SRV-17).
    pub fn code(&self) -> &'static str {
        self.error.code()
    }

    /// Node's `err.message`, e.g. `"Parse Error: Invalid method encountered"`.
    pub fn message(&self) -> String {
        self.error.message()
    }

    /// Node's `err.bytesParsed`, counted from the start of the connection's input
    /// (Node counts from the start of the last read; see `docs/deviations.md`).
    pub fn bytes_parsed(&self) -> u64 {
        self.error.offset()
    }

    /// Node's `err.rawPacket`: the received bytes the parser had not consumed when it
    /// failed, starting with the offending message's unparsed part (empty for a request
    /// timeout with nothing buffered).
    pub fn raw_packet(&self) -> &Bytes {
        &self.raw_packet
    }

    /// The protocol error, with its kind and default status (SRV-12).
    pub fn error(&self) -> &Error {
        &self.error
    }
}

impl fmt::Display for ClientErrorEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for ClientErrorEvent {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// A handle on a connection's socket (Node's `net.Socket` as the server events pass
/// it). Cheap to clone; every clone controls the same connection.
///
/// Once the socket has been handed over ([`Handover`]) or is gone, the handle controls
/// nothing: [`Socket::is_destroyed`] is true and the other calls do nothing. The
/// addresses stay readable.
#[derive(Clone)]
pub struct Socket {
    shared: Arc<Shared>,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("remote_addr", &self.remote_addr())
            .field("local_addr", &self.local_addr())
            .finish_non_exhaustive()
    }
}

impl Socket {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// `socket.remoteAddress` / `remotePort`: `None` on a Unix socket or when the
    /// adapter did not say ([`crate::Connection::set_addresses`]).
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.shared.lock().remote_addr
    }

    /// `socket.localAddress` / `localPort`: `None` on a Unix socket or when the adapter
    /// did not say.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.shared.lock().local_addr
    }

    /// `socket.setTimeout(ms)`: the inactivity timeout from now on (zero turns it off,
    /// SRV-19). What happens on expiry depends on the `'timeout'` listeners.
    pub fn set_timeout(&self, timeout: Duration) {
        let mut core = self.shared.lock();
        if !core.closed {
            core.conn.set_idle_timeout(timeout);
            core.wake_io();
        }
    }

    /// `socket.end()`: closes after the queued bytes are written.
    pub fn end(&self) {
        let mut core = self.shared.lock();
        if !core.closed {
            core.conn.close();
            core.wake_io();
        }
    }

    /// `socket.destroy()`: closes now; unsent bytes are dropped and requests still
    /// being received are aborted (MSG-10).
    pub fn destroy(&self) {
        let mut core = self.shared.lock();
        if !core.closed {
            core.conn.destroy();
            core.wake_io();
        }
    }

    /// `socket.destroyed`: destroyed, gone, or handed over.
    pub fn is_destroyed(&self) -> bool {
        let mut core = self.shared.lock();
        core.closed || core.conn.wants_close() == Some(Close::Now)
    }
}

/// A one-shot or counting notification shared between the connection and a handle.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    state: Mutex<SignalState>,
}

#[derive(Debug, Default)]
struct SignalState {
    /// The outcome of a one-shot signal.
    value: Option<bool>,
    /// How often a counting signal fired.
    count: u64,
    wakers: Vec<Waker>,
}

impl Signal {
    fn state(&self) -> std::sync::MutexGuard<'_, SignalState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Resolves a one-shot signal (the first outcome wins); returns the wakers to call.
    pub(crate) fn resolve(&self, value: bool) -> Vec<Waker> {
        let mut s = self.state();
        if s.value.is_some() {
            return Vec::new();
        }
        s.value = Some(value);
        core::mem::take(&mut s.wakers)
    }

    /// Counts one firing; returns the wakers to call.
    pub(crate) fn fire(&self) -> Vec<Waker> {
        let mut s = self.state();
        s.count += 1;
        core::mem::take(&mut s.wakers)
    }

    fn poll_value(&self, cx: &mut Context<'_>) -> Poll<bool> {
        let mut s = self.state();
        match s.value {
            Some(v) => Poll::Ready(v),
            None => {
                if !s.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    s.wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }

    fn poll_count(&self, seen: u64, cx: &mut Context<'_>) -> Poll<u64> {
        let mut s = self.state();
        if s.count > seen {
            Poll::Ready(s.count)
        } else {
            if !s.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                s.wakers.push(cx.waker().clone());
            }
            Poll::Pending
        }
    }
}

/// The end of a response: `'finish'` or `'close'` (RES-27), from
/// [`ServerResponse::events`].
///
/// A future resolving to `true` (`'finish'`) once every byte of the response was
/// written to the socket, or `false` (`'close'` without `'finish'`) when the response
/// will never be completely written: its connection was destroyed, the client went
/// away, or the response was dropped unended. Cheap to clone; `'static`, so it can be
/// awaited after the response itself was dropped.
#[derive(Debug, Clone)]
pub struct ResponseEvents {
    signal: Arc<Signal>,
}

impl ResponseEvents {
    pub(crate) fn new(signal: Arc<Signal>) -> Self {
        Self { signal }
    }

    /// The outcome, if already known: `Some(true)` finished, `Some(false)` closed.
    pub fn outcome(&self) -> Option<bool> {
        self.signal.state().value
    }
}

impl Future for ResponseEvents {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        self.signal.poll_value(cx)
    }
}

/// What a [`TimeoutListener`] listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TimeoutTarget {
    /// `req.on('timeout')`: fires while the request is being received.
    Request(ReqId),
    /// `res.on('timeout')`: fires while the response is the connection's current one.
    Response(ReqId),
}

/// A `'timeout'` listener on a request or response (`req.setTimeout(ms, cb)`,
/// `res.setTimeout(ms, cb)`, SRV-19, RES-29).
///
/// While it lives, the socket's inactivity timeout does not destroy the connection
/// when it expires for its request (still being received) or its response (the one
/// being written); [`TimeoutListener::fired`] resolves instead, and the application
/// decides (for example [`Socket::destroy`]). Dropping it removes the listener.
pub struct TimeoutListener {
    shared: Arc<Shared>,
    signal: Arc<Signal>,
    target: TimeoutTarget,
    seen: u64,
}

impl fmt::Debug for TimeoutListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutListener")
            .field("target", &self.target)
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl TimeoutListener {
    /// Registers a listener on `target` (the caller set the timeout).
    pub(crate) fn register(shared: &Arc<Shared>, target: TimeoutTarget) -> Self {
        let signal = Arc::new(Signal::default());
        let mut core = shared.lock();
        core.timeout_listeners
            .entry(target)
            .or_default()
            .push(Arc::clone(&signal));
        match target {
            TimeoutTarget::Request(id) => core.conn.set_request_timeout_listener(id, true),
            TimeoutTarget::Response(id) => core.conn.set_response_timeout_listener(id, true),
        }
        core.wake_io();
        drop(core);
        Self {
            shared: Arc::clone(shared),
            signal,
            target,
            seen: 0,
        }
    }

    /// Resolves at the next `'timeout'` not yet seen through this listener.
    pub async fn fired(&mut self) {
        let signal = Arc::clone(&self.signal);
        let seen = self.seen;
        self.seen = core::future::poll_fn(|cx| signal.poll_count(seen, cx)).await;
    }

    /// How many times the timeout fired for this listener so far.
    pub fn count(&self) -> u64 {
        self.signal.state().count
    }
}

impl Drop for TimeoutListener {
    fn drop(&mut self) {
        let mut core = self.shared.lock();
        let mut now_empty = false;
        if let Some(list) = core.timeout_listeners.get_mut(&self.target) {
            list.retain(|s| !Arc::ptr_eq(s, &self.signal));
            now_empty = list.is_empty();
        }
        if now_empty {
            core.timeout_listeners.remove(&self.target);
            match self.target {
                TimeoutTarget::Request(id) => core.conn.set_request_timeout_listener(id, false),
                TimeoutTarget::Response(id) => core.conn.set_response_timeout_listener(id, false),
            }
        }
    }
}
