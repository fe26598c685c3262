//! Node's `http.Agent` bookkeeping as a pure data structure (AGT-1 … AGT-12).
//!
//! A [`Pool`] decides everything Node's `Agent` decides: which request gets which
//! socket, when a connection is opened, which idle socket is reused (`lifo`/`fifo`),
//! when a socket is kept or closed after a response, when an idle socket expires, and
//! what happens to waiting requests when a socket goes away. It owns no socket and
//! reads no clock: the caller's socket handles `S` and `Instant`s go in, [`Action`]s
//! and one deadline come out.
//!
//! | input | Node |
//! |---|---|
//! | [`Pool::request`] / [`Pool::request_with`] | `agent.addRequest(req, options)` |
//! | [`Pool::connected`] / [`Pool::connect_failed`] | the socket from `createConnection` connects / emits `'error'` + `'close'` |
//! | [`Pool::release`] | the response ended and the request finished (CLI-18): `'free'`, or `destroy()` when not persistent |
//! | [`Pool::closed`] | the socket's `'close'` (server closed it, error, …) |
//! | [`Pool::detach`] | `'agentRemove'` (upgrade, CONNECT) |
//! | [`Pool::cancel`] | the request is destroyed while it waits |
//! | [`Pool::destroy`] | `agent.destroy()` |
//! | [`Pool::handle_timeout`] | a free socket's `'timeout'` |
//! | [`Pool::poisoned`] | (ours) bytes arrived on an idle socket |
//!
//! | output | meaning |
//! |---|---|
//! | [`Action::Connect`] | open a connection for `req` (Node's `createConnection`; the request is bound to it at once and emits `'socket'`); report back with the ticket |
//! | [`Action::Assign`] | `req` now runs on `sock` (`reusedSocket` = `reused`, CLI-24), with this idle timeout |
//! | [`Action::Close`] | destroy `sock`; the pool has already forgotten it |
//! | [`Action::Abort`] | give up the connection attempt of a ticket (`agent.destroy()`) |
//! | [`Pool::poll_timeout`] | the earliest free-socket expiry |
//!
//! Views mirror Node's objects: [`Pool::sockets`], [`Pool::free_sockets`],
//! [`Pool::requests`] (per key, in Node's key order) and
//! [`Pool::total_socket_count`].
//!
//! ```
//! use std::time::{Duration, Instant};
//! use courier_proto::agent::{Action, NameOptions, Pool, ReqId, Reusable};
//!
//! let t0 = Instant::now();
//! let mut pool: Pool<u32> = Pool::global(); // keep-alive, timeout 5000 ms
//! let key = NameOptions { host: Some("127.0.0.1"), port: Some(8080), ..Default::default() }.get_name();
//! assert_eq!(key.as_str(), "127.0.0.1:8080:");
//!
//! pool.request(key.clone(), ReqId(1), t0);
//! let Some(Action::Connect { ticket, .. }) = pool.poll_action() else { panic!() };
//! pool.connected(ticket, 7, t0);
//! assert_eq!(
//!     pool.poll_action(),
//!     Some(Action::Assign { req: ReqId(1), sock: 7, reused: false, timeout: Some(Duration::from_secs(5)) })
//! );
//!
//! // The response said `Keep-Alive: timeout=5`: kept for 5 s − 1 s.
//! pool.release(7, t0, Reusable::Yes { keep_alive_hint: Some(Duration::from_secs(5)) });
//! assert_eq!(pool.poll_timeout(), Some(t0 + Duration::from_secs(4)));
//!
//! pool.request(key, ReqId(2), t0 + Duration::from_secs(1));
//! assert_eq!(
//!     pool.poll_action(),
//!     Some(Action::Assign { req: ReqId(2), sock: 7, reused: true, timeout: Some(Duration::from_secs(4)) })
//! );
//! ```
//!
//! # Timeouts
//!
//! Node gives agent sockets an idle timeout (`socket.setTimeout`): while a request
//! runs, its expiry is the request's `'timeout'` event (CLI-23); while the socket is
//! free, expiry destroys it. The pool reports the in-use value in [`Action::Connect`]
//! and [`Action::Assign`], computed exactly as Node does (AGT-8, AGT-11), quirks
//! included: a socket handed over from the queue keeps no timeout when the previous
//! request listened for one; a reused socket keeps the free-socket value, shortened
//! by the server's hint (node issue #53458, see [`PoolOptions::restore_timeout_on_reuse`]);
//! a connection opened for a waiting request after another socket of its key closed
//! inherits the closed socket's creation timeout. The free-socket expiry is the
//! pool's own deadline ([`Pool::poll_timeout`]): the caller need not watch the idle
//! timer of a free socket.
//!
//! # Node quirks kept
//!
//! * `maxTotalSockets` is leaky. When a socket joins the free list and the first key
//!   of `requests` has no socket in use, Node opens a connection for that key's
//!   oldest request without checking the caps, so the total can exceed
//!   `maxTotalSockets` until releases bring it back (sockets are then closed instead
//!   of kept). Only the *first* key of `requests` is looked at: a waiting request of
//!   a later key keeps waiting even when its key has no socket. A free socket of one
//!   key is never closed to make room for another key.
//! * Connections opened because a socket went away (AGT-9) ignore the caps too.
//! * `agent.destroy()` leaves waiting requests queued; each closed socket lets one
//!   of them connect.
//!
//! # Where the pool differs from Node v20 (our additions)
//!
//! * **Immediate removal.** When the pool emits [`Action::Close`] the socket has left
//!   the bookkeeping already; Node keeps a destroyed socket counted until its
//!   `'close'` event, a moment later.
//! * **Expiry before input.** Every input that carries `now` first closes free
//!   sockets whose deadline has passed, so a socket past its deadline is never
//!   reused even when the timer has not been serviced yet.
//! * **Cancelled waiters leave the queue.** Node keeps a destroyed request in
//!   `agent.requests` until a socket reaches it, then passes the socket on (or, for a
//!   connection opened just for it, destroys that connection). [`Pool::cancel`]
//!   removes it at once.
//! * **Poisoned idle sockets** (robustness need #25). Any byte that arrives on a free
//!   socket means the connection can no longer be trusted (an unsolicited response
//!   would be matched to the next request): the caller keeps reading free sockets
//!   and reports such bytes with [`Pool::poisoned`], which closes the socket.
//! * **Opt-in safe retry** (robustness need #1, [`PoolOptions::retry`], off by
//!   default; Node never retries). A request whose reused socket failed before any
//!   request byte was written, or an idempotent request with a replayable body that
//!   lost its connection before any response byte, may be sent again once, on a new
//!   connection: [`retry_decision`] decides, and
//!   [`RequestOptions::fresh`] makes the second attempt skip the free list (the
//!   key's free sockets, suspect after one proved stale, are closed).
//! * **Opt-in timeout restore** ([`PoolOptions::restore_timeout_on_reuse`]): a reused
//!   socket gets the idle timeout a new socket would get.

mod hash;
mod name;
mod options;
mod pool;
mod retry;

use core::time::Duration;

pub use hash::{FastHasher, FastMap};
pub use name::{NameOptions, PoolKey, keep_alive_hint};
pub use options::{AgentOptions, AgentOptionsError, PoolOptions, Scheduling};
pub use pool::Pool;
pub use retry::{FailedExchange, Retry, is_idempotent, retry_decision};

/// The caller's id for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReqId(pub u64);

/// One connection attempt ([`Action::Connect`]), until it is reported
/// [`Pool::connected`] or [`Pool::connect_failed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(u64);

impl Ticket {
    /// The ticket's number (unique within its pool).
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// An instruction from the pool to its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action<S> {
    /// Open a new connection for `req` (Node's `createConnection`, AGT-5). The
    /// request is bound to it now (Node emits `'socket'` with the connecting socket);
    /// report the outcome with [`Pool::connected`] or [`Pool::connect_failed`].
    /// Connection parameters come from the request (`host`, `port`, …) and from
    /// [`AgentOptions::tcp_keep_alive`] and [`AgentOptions::no_delay`].
    Connect {
        /// The pool the connection belongs to.
        key: PoolKey,
        /// The request it is opened for.
        req: ReqId,
        /// The attempt's ticket.
        ticket: Ticket,
        /// The socket's idle timeout from the start (`None`: none).
        timeout: Option<Duration>,
    },
    /// `req` runs on `sock` from now on.
    Assign {
        /// The request.
        req: ReqId,
        /// Its socket.
        sock: S,
        /// The socket came from the free list: `req.reusedSocket` (CLI-24).
        reused: bool,
        /// The socket's idle timeout while the request runs (`None`: none), as Node
        /// leaves it (AGT-11).
        timeout: Option<Duration>,
    },
    /// Destroy `sock`. The pool no longer tracks it; a request running on it fails
    /// (Node: `socket hang up`).
    Close(S),
    /// Stop the connection attempt of a ticket (`agent.destroy()`); the request bound
    /// to it fails.
    Abort(Ticket),
}

/// How a socket comes back after a response (CLI-18), for [`Pool::release`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reusable {
    /// The exchange cannot continue on this socket: the request was not
    /// persistent-capable ([`AgentOptions::persistent_requests`]), the response does
    /// not keep the connection alive (PRS-25), or the socket is no longer writable.
    /// Node destroys it without a `'free'` event.
    No,
    /// The socket may serve another request.
    Yes {
        /// The server's `Keep-Alive: timeout=N` hint, N seconds
        /// ([`keep_alive_hint`]); the pool subtracts Node's 1 s margin (AGT-8).
        keep_alive_hint: Option<Duration>,
    },
}

impl Reusable {
    /// `Yes` without a hint.
    pub const YES: Self = Self::Yes {
        keep_alive_hint: None,
    };

    /// From the exchange's persistence and the response's `keep-alive` header value
    /// (Node's `headers['keep-alive']`), if any.
    pub fn from_response(persistent: bool, keep_alive_header: Option<&[u8]>) -> Self {
        if persistent {
            Self::Yes {
                keep_alive_hint: keep_alive_header.and_then(keep_alive_hint),
            }
        } else {
            Self::No
        }
    }
}

/// Per-request options of [`Pool::request_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestOptions {
    /// The request's own `timeout` option (CLI-23): applied to its socket when it
    /// differs from the agent's (AGT-11).
    pub timeout: Option<Duration>,
    /// Do not take a free socket: the key's free sockets are closed and the request
    /// connects (or waits). For the second attempt of a [`Retry::FreshConnection`].
    pub fresh: bool,
}

/// A socket slot in Node's `agent.sockets`: a connection attempt or a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot<S> {
    /// Connecting.
    Connecting(Ticket),
    /// Connected.
    Socket(S),
}

/// Where a request is ([`Pool::request_state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestState<S> {
    /// Waiting in `agent.requests` for this key.
    Queued(PoolKey),
    /// Bound to a connection attempt.
    Connecting(Ticket),
    /// Running on a socket.
    Assigned(S),
}

/// Where a socket is ([`Pool::socket_state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketState {
    /// In `agent.sockets`, running this request.
    InUse(ReqId),
    /// In `agent.freeSockets`.
    Free,
}
