//! The agent's bookkeeping: Node's `addRequest`, `'free'` handler, `removeSocket`,
//! `keepSocketAlive` and `destroy`, as one pure data structure.

use core::fmt::Debug;
use core::hash::Hash;
use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use super::{
    Action, AgentOptions, AgentOptionsError, FailedExchange, FastMap, PoolKey, PoolOptions, ReqId,
    RequestOptions, RequestState, Retry, Reusable, Scheduling, Slot, SocketState, Ticket,
    retry_decision,
};

/// Node's margin on the server's keep-alive hint (CONST-8, AGT-8).
const HINT_MARGIN: Duration = Duration::from_millis(1000);

/// An HTTP agent's socket pool, as a pure data structure (AGT-1 … AGT-12).
///
/// `S` is the caller's socket handle: the adapters own the real sockets and refer
/// to them by any small copyable id. See the [module docs](super) for the protocol.
#[derive(Debug, Clone)]
pub struct Pool<S> {
    opts: AgentOptions,
    pool_opts: PoolOptions,
    keys: FastMap<PoolKey, KeyState<S>>,
    /// Insertion counter: orders the keys of the three Node objects, and makes
    /// deadline entries unique.
    seq: u64,
    /// The keys of Node's `requests` object, in insertion order.
    request_order: BTreeMap<u64, PoolKey>,
    socks: FastMap<S, SockInfo>,
    tickets: FastMap<Ticket, TicketInfo>,
    reqs: FastMap<ReqId, RequestState<S>>,
    deadlines: BTreeMap<(Instant, u64), S>,
    total: usize,
    next_ticket: u64,
    actions: VecDeque<Action<S>>,
    /// The memory of the last free list that emptied, for the next one (a key's
    /// free list comes and goes with every exchange).
    spare_free: VecDeque<S>,
}

/// One key's entries in Node's `sockets`, `freeSockets` and `requests` objects.
/// `None` = the object has no such key; `sockets` may hold an empty list (Node
/// creates it in `addRequest` even when the request has to wait).
#[derive(Debug, Clone)]
struct KeyState<S> {
    sockets: Option<List<Slot<S>>>,
    free: Option<List<S>>,
    requests: Option<List<Waiting>>,
}

impl<S> Default for KeyState<S> {
    fn default() -> Self {
        Self {
            sockets: None,
            free: None,
            requests: None,
        }
    }
}

impl<S> KeyState<S> {
    fn is_empty(&self) -> bool {
        self.sockets.is_none() && self.free.is_none() && self.requests.is_none()
    }

    fn active_len(&self) -> usize {
        self.sockets.as_ref().map_or(0, |l| l.items.len())
    }

    fn free_len(&self) -> usize {
        self.free.as_ref().map_or(0, |l| l.items.len())
    }
}

#[derive(Debug, Clone)]
struct List<T> {
    /// When the key was added to the object (JS key order).
    seq: u64,
    items: VecDeque<T>,
}

#[derive(Debug, Clone, Copy)]
struct Waiting {
    req: ReqId,
    timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
struct SockInfo {
    key: PoolKey,
    /// `options.timeout` of the `createConnection` call that made the socket; a
    /// socket made for a waiting request of the same key after this one closes
    /// inherits it (Node reuses the closed socket's options).
    created_with: Duration,
    state: SockState,
}

#[derive(Debug, Clone, Copy)]
enum SockState {
    InUse {
        req: ReqId,
        /// The request's own `timeout` option.
        req_timeout: Option<Duration>,
        /// The socket's idle timeout while this request runs.
        timeout: Duration,
    },
    Free {
        timeout: Duration,
        deadline: Option<(Instant, u64)>,
    },
}

#[derive(Debug, Clone)]
struct TicketInfo {
    key: PoolKey,
    req: ReqId,
    req_timeout: Option<Duration>,
    created_with: Duration,
    timeout: Duration,
}

/// Something the agent tracks as a socket: a connection attempt or a socket.
#[derive(Debug, Clone, Copy)]
enum Handle<S> {
    Ticket(Ticket),
    Sock(S),
}

fn opt(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

impl<S: Copy + Eq + Hash + Debug> Pool<S> {
    /// `new Agent(options)`, with our extra [`PoolOptions`]. Fails as Node's
    /// constructor does (AGT-1).
    pub fn new(options: AgentOptions, pool: PoolOptions) -> Result<Self, AgentOptionsError> {
        Ok(Self {
            opts: options.normalized()?,
            pool_opts: pool,
            keys: FastMap::default(),
            seq: 0,
            request_order: BTreeMap::new(),
            socks: FastMap::default(),
            tickets: FastMap::default(),
            reqs: FastMap::default(),
            deadlines: BTreeMap::new(),
            total: 0,
            next_ticket: 0,
            actions: VecDeque::new(),
            spare_free: VecDeque::new(),
        })
    }

    /// `http.globalAgent` of Node v20 (AGT-2).
    pub fn global() -> Self {
        Self::new(AgentOptions::global(), PoolOptions::default())
            .expect("the global agent's options are valid")
    }

    /// The brand-new `new Agent()` Node makes for a request with `agent: false`
    /// (CLI-2): default options, used by that one request and then dropped.
    pub fn one_off() -> Self {
        Self::new(AgentOptions::default(), PoolOptions::default())
            .expect("the default options are valid")
    }

    /// The agent's options, normalized (AGT-1).
    pub fn options(&self) -> &AgentOptions {
        &self.opts
    }

    /// Our own options.
    pub fn pool_options(&self) -> &PoolOptions {
        &self.pool_opts
    }

    // ------------------------------------------------------------------ inputs --

    /// A request wants a socket for `key` (`agent.addRequest`, AGT-5), with no
    /// `timeout` option of its own. See [`Pool::request_with`].
    pub fn request(&mut self, key: PoolKey, req: ReqId, now: Instant) -> bool {
        self.request_with(key, req, RequestOptions::default(), now)
    }

    /// A request wants a socket for `key` (AGT-5):
    /// 1. a free socket of the key is taken (`Lifo`: the most recently freed,
    ///    `Fifo`: the least recently freed) → [`Action::Assign`] with `reused`;
    /// 2. else if the key has fewer than `max_sockets` sockets (in use, connecting
    ///    and free) and the agent fewer than `max_total_sockets` →
    ///    [`Action::Connect`];
    /// 3. else the request waits in the key's queue.
    ///
    /// Free sockets whose deadline is `<= now` are closed first. Returns false (and
    /// does nothing else) when `req` is already known to the pool.
    pub fn request_with(
        &mut self,
        key: PoolKey,
        req: ReqId,
        options: RequestOptions,
        now: Instant,
    ) -> bool {
        self.expire(now);
        if self.reqs.contains_key(&req) {
            return false;
        }
        if options.fresh {
            self.flush_free(&key);
        }
        let seq = self.next_seq();
        let ks = self.keys.entry(key.clone()).or_default();
        if ks.sockets.is_none() {
            ks.sockets = Some(List {
                seq,
                items: VecDeque::new(),
            });
        }
        // With the key's entry at hand, a free socket is taken from it and joins
        // its `sockets` list without another look-up (`pop_free`, `push_active`).
        let reusable = if options.fresh {
            None
        } else {
            let lifo = self.opts.scheduling == Scheduling::Lifo;
            let sock = ks.free.as_mut().and_then(|list| {
                if lifo {
                    list.items.pop_back()
                } else {
                    list.items.pop_front()
                }
            });
            if ks.free.as_ref().is_some_and(|l| l.items.is_empty()) {
                if let Some(list) = ks.free.take() {
                    self.spare_free = list.items;
                }
            }
            if let (Some(sock), Some(active)) = (sock, ks.sockets.as_mut()) {
                active.items.push_back(Slot::Socket(sock));
            }
            sock
        };
        if let Some(sock) = reusable {
            // (`push_active` took a sequence number.)
            self.next_seq();
            self.reuse(sock, req, options.timeout);
            return true;
        }
        let ks = &self.keys[&key];
        let under_key = self
            .opts
            .max_sockets
            .is_none_or(|m| ks.active_len() + ks.free_len() < m);
        let under_total = self.opts.max_total_sockets.is_none_or(|m| self.total < m);
        if under_key && under_total {
            let created_with = self.creation_timeout(options.timeout);
            self.connect(&key, req, options.timeout, created_with);
        } else {
            self.push_request(
                &key,
                Waiting {
                    req,
                    timeout: options.timeout,
                },
            );
        }
        true
    }

    /// The connection of `ticket` is up as `sock` → [`Action::Assign`] for the
    /// request it was opened for, `reused: false`. Returns false when the ticket is
    /// unknown (aborted by [`Pool::destroy`]) or `sock` is already tracked: the
    /// caller then closes `sock`.
    pub fn connected(&mut self, ticket: Ticket, sock: S, now: Instant) -> bool {
        self.expire(now);
        if self.socks.contains_key(&sock) {
            return false;
        }
        let Some(info) = self.tickets.remove(&ticket) else {
            return false;
        };
        if let Some(list) = self
            .keys
            .get_mut(&info.key)
            .and_then(|k| k.sockets.as_mut())
        {
            if let Some(slot) = list
                .items
                .iter_mut()
                .find(|s| **s == Slot::Connecting(ticket))
            {
                *slot = Slot::Socket(sock);
            }
        }
        self.socks.insert(
            sock,
            SockInfo {
                key: info.key,
                created_with: info.created_with,
                state: SockState::InUse {
                    req: info.req,
                    req_timeout: info.req_timeout,
                    timeout: info.timeout,
                },
            },
        );
        self.reqs.insert(info.req, RequestState::Assigned(sock));
        self.actions.push_back(Action::Assign {
            req: info.req,
            sock,
            reused: false,
            timeout: opt(info.timeout),
        });
        true
    }

    /// The connection attempt of `ticket` failed. The request it was opened for
    /// fails with the connection error (returned); the slot is freed and may let a
    /// waiting request connect (AGT-9).
    pub fn connect_failed(&mut self, ticket: Ticket, now: Instant) -> Option<ReqId> {
        self.expire(now);
        let info = self.tickets.get(&ticket)?.clone();
        self.remove_handle(Handle::Ticket(ticket));
        self.after_removal(&info.key, info.created_with);
        Some(info.req)
    }

    /// The request on `sock` is done with it (CLI-18; Node's `'free'`, AGT-7):
    /// * [`Reusable::No`] → [`Action::Close`];
    /// * else the oldest waiting request of the key gets it
    ///   ([`Action::Assign`], `reused: false`);
    /// * else it is closed unless `keep_alive` is on, the agent is within
    ///   `max_total_sockets` and the key within `max_sockets`, the key has fewer than
    ///   `max_free_sockets` free sockets and the server's hint allows it (AGT-8);
    /// * else it joins the end of the key's free list, with a deadline of
    ///   `now + timeout` when the free-socket timeout is not zero.
    ///
    /// Returns false (and does nothing) when `sock` is not in use.
    pub fn release(&mut self, sock: S, now: Instant, reusable: Reusable) -> bool {
        self.expire(now);
        let Some(info) = self.socks.get(&sock) else {
            return false;
        };
        let SockState::InUse {
            req,
            req_timeout,
            timeout,
        } = info.state
        else {
            return false;
        };
        let key = info.key.clone();
        self.reqs.remove(&req);
        let hint = match reusable {
            Reusable::No => {
                self.destroy_socket(sock);
                return true;
            }
            Reusable::Yes { keep_alive_hint } => keep_alive_hint,
        };
        if let Some(next) = self.pop_request(&key) {
            // Node's responseKeepAlive clears the request's timeout listener with
            // setTimeout(0) when it had one; setRequestSocket then applies the next
            // request's own timeout if it differs from the agent's.
            let had_listener = req_timeout.is_some() || !self.agent_timeout().is_zero();
            let base = if had_listener {
                Duration::ZERO
            } else {
                timeout
            };
            let timeout = self.apply_request_timeout(base, next.timeout);
            self.set_state(
                sock,
                SockState::InUse {
                    req: next.req,
                    req_timeout: next.timeout,
                    timeout,
                },
            );
            self.reqs.insert(next.req, RequestState::Assigned(sock));
            self.actions.push_back(Action::Assign {
                req: next.req,
                sock,
                reused: false,
                timeout: opt(timeout),
            });
            return true;
        }
        if !self.opts.keep_alive {
            self.destroy_socket(sock);
            return true;
        }
        let ks = &self.keys[&key];
        let free_len = ks.free_len();
        let count = free_len + ks.active_len();
        let over = self.opts.max_total_sockets.is_some_and(|m| self.total > m)
            || self.opts.max_sockets.is_some_and(|m| count > m)
            || free_len >= self.opts.max_free_sockets;
        let free_timeout = if over { None } else { self.free_timeout(hint) };
        let Some(free_timeout) = free_timeout else {
            self.destroy_socket(sock);
            return true;
        };
        let deadline = (!free_timeout.is_zero()).then(|| (now + free_timeout, self.next_seq()));
        if let Some(d) = deadline {
            self.deadlines.insert(d, sock);
        }
        self.set_state(
            sock,
            SockState::Free {
                timeout: free_timeout,
                deadline,
            },
        );
        // `remove_active` and `push_free` on one look-up of the key.
        let seq = self.next_seq();
        if let Some(ks) = self.keys.get_mut(&key) {
            if let Some(list) = ks.sockets.as_mut() {
                if let Some(i) = list.items.iter().position(|s| *s == Slot::Socket(sock)) {
                    list.items.remove(i);
                    if list.items.is_empty() {
                        ks.sockets = None;
                    }
                }
            }
            let spare = &mut self.spare_free;
            ks.free
                .get_or_insert_with(|| List {
                    seq,
                    items: core::mem::take(spare),
                })
                .items
                .push_back(sock);
        }
        // `after_removal`: no request of this key waits (`pop_request` found none
        // above), so only another key's first waiter may get a connection.
        self.connect_first_waiting();
        true
    }

    /// `sock` closed or failed, wherever it is (Node's `'close'` listener, AGT-9):
    /// it leaves the bookkeeping, which may let a waiting request connect. The
    /// request running on it, if any, is the caller's to fail. Returns false when
    /// the pool no longer tracks `sock` (for instance after its own
    /// [`Action::Close`]).
    pub fn closed(&mut self, sock: S) -> bool {
        let Some(info) = self.socks.get(&sock) else {
            return false;
        };
        let (key, created_with) = (info.key.clone(), info.created_with);
        self.remove_handle(Handle::Sock(sock));
        self.after_removal(&key, created_with);
        true
    }

    /// `sock` leaves the agent without being closed: Node's `'agentRemove'`, used
    /// when a response upgrades the connection or answers CONNECT (AGT-10, CLI-16).
    /// Same bookkeeping as [`Pool::closed`].
    pub fn detach(&mut self, sock: S) -> bool {
        self.closed(sock)
    }

    /// Bytes arrived on `sock` while no request owned it, or the caller otherwise
    /// no longer trusts it (robustness need #25): [`Action::Close`] and removal, so
    /// it is never handed out. Node v20 has no such check.
    pub fn poisoned(&mut self, sock: S) -> bool {
        if !self.socks.contains_key(&sock) {
            return false;
        }
        self.destroy_socket(sock);
        true
    }

    /// A waiting request was aborted: it leaves the queue. Returns false when `req`
    /// is not waiting; a request that holds a ticket or a socket ends by closing
    /// it ([`Pool::connect_failed`], [`Pool::closed`]).
    pub fn cancel(&mut self, req: ReqId) -> bool {
        let Some(RequestState::Queued(key)) = self.reqs.get(&req) else {
            return false;
        };
        let key = key.clone();
        self.reqs.remove(&req);
        let ks = self.keys.get_mut(&key).expect("a queued request's key");
        let list = ks.requests.as_mut().expect("a queued request's list");
        list.items.retain(|w| w.req != req);
        if list.items.is_empty() {
            let seq = list.seq;
            ks.requests = None;
            self.request_order.remove(&seq);
            // Node's addRequest left an empty `sockets` entry for the key; with its
            // last waiter gone nothing would ever remove it.
            if ks.sockets.as_ref().is_some_and(|l| l.items.is_empty()) {
                ks.sockets = None;
            }
        }
        self.gc(&key);
        true
    }

    /// `agent.destroy()` (AGT-12): every free, in-use and connecting socket is
    /// closed ([`Action::Close`], [`Action::Abort`]), free lists first. As in Node,
    /// waiting requests stay queued, and each socket that goes away lets the oldest
    /// of them connect.
    pub fn destroy(&mut self) {
        let mut handles = Vec::new();
        for (_, socks) in self.free_sockets() {
            handles.extend(socks.into_iter().map(Handle::Sock));
        }
        for (_, slots) in self.sockets() {
            handles.extend(slots.into_iter().map(|s| match s {
                Slot::Connecting(t) => Handle::Ticket(t),
                Slot::Socket(s) => Handle::Sock(s),
            }));
        }
        for h in &handles {
            self.actions.push_back(match *h {
                Handle::Ticket(t) => Action::Abort(t),
                Handle::Sock(s) => Action::Close(s),
            });
        }
        for h in handles {
            let (key, created_with) = match h {
                Handle::Ticket(t) => {
                    let i = &self.tickets[&t];
                    (i.key.clone(), i.created_with)
                }
                Handle::Sock(s) => {
                    let i = &self.socks[&s];
                    (i.key.clone(), i.created_with)
                }
            };
            self.remove_handle(h);
            self.after_removal(&key, created_with);
        }
    }

    /// Time passed: free sockets whose deadline is `<= now` are closed (AGT-9).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.expire(now);
    }

    // ----------------------------------------------------------------- outputs --

    /// The next thing the caller must do, in order.
    pub fn poll_action(&mut self) -> Option<Action<S>> {
        self.actions.pop_front()
    }

    /// The earliest free-socket deadline: call [`Pool::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.keys().next().map(|&(t, _)| t)
    }

    /// [`retry_decision`] with this pool's [`PoolOptions`].
    pub fn retry_decision(&self, failed: &FailedExchange) -> Retry {
        retry_decision(&self.pool_opts, failed)
    }

    // ------------------------------------------------------------------- views --

    /// Node's `agent.sockets`: per key (in Node's key order) the sockets in use or
    /// connecting, in the order they joined. A key whose requests all wait shows
    /// an empty list, as in Node.
    pub fn sockets(&self) -> Vec<(PoolKey, Vec<Slot<S>>)> {
        self.view(|k| k.sockets.as_ref())
    }

    /// Node's `agent.freeSockets`: per key the idle sockets, least recently freed
    /// first.
    pub fn free_sockets(&self) -> Vec<(PoolKey, Vec<S>)> {
        self.view(|k| k.free.as_ref())
    }

    /// Node's `agent.requests`: per key the waiting requests, oldest first.
    pub fn requests(&self) -> Vec<(PoolKey, Vec<ReqId>)> {
        self.view(|k| k.requests.as_ref())
            .into_iter()
            .map(|(k, w)| (k, w.into_iter().map(|w: Waiting| w.req).collect()))
            .collect()
    }

    /// Node's `agent.totalSocketCount`: connecting, in-use and free sockets.
    pub fn total_socket_count(&self) -> usize {
        self.total
    }

    /// Where a request is.
    pub fn request_state(&self, req: ReqId) -> Option<&RequestState<S>> {
        self.reqs.get(&req)
    }

    /// Where a socket is.
    pub fn socket_state(&self, sock: S) -> Option<SocketState> {
        self.socks.get(&sock).map(|i| match i.state {
            SockState::InUse { req, .. } => SocketState::InUse(req),
            SockState::Free { .. } => SocketState::Free,
        })
    }

    /// The key a tracked socket belongs to.
    pub fn socket_key(&self, sock: S) -> Option<&PoolKey> {
        self.socks.get(&sock).map(|i| &i.key)
    }

    fn view<T: Copy>(
        &self,
        pick: impl Fn(&KeyState<S>) -> Option<&List<T>>,
    ) -> Vec<(PoolKey, Vec<T>)> {
        let mut v: Vec<_> = self
            .keys
            .iter()
            .filter_map(|(k, s)| {
                pick(s).map(|l| (l.seq, k.clone(), l.items.iter().copied().collect()))
            })
            .collect();
        v.sort_unstable_by_key(|e| e.0);
        v.into_iter().map(|(_, k, items)| (k, items)).collect()
    }

    // --------------------------------------------------------------- internals --

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// `agent.options.timeout || 0`.
    fn agent_timeout(&self) -> Duration {
        self.opts.timeout.unwrap_or(Duration::ZERO)
    }

    /// `options.timeout` of a `createConnection` call for a request: the agent's
    /// options win over the request's.
    fn creation_timeout(&self, req_timeout: Option<Duration>) -> Duration {
        self.opts.timeout.or(req_timeout).unwrap_or(Duration::ZERO)
    }

    /// Node's setRequestSocket: a request timeout that differs from the agent's is
    /// applied to the socket; otherwise the socket keeps `base` (AGT-11).
    fn apply_request_timeout(&self, base: Duration, req_timeout: Option<Duration>) -> Duration {
        match req_timeout {
            Some(t) if t != self.agent_timeout() => t,
            _ => base,
        }
    }

    /// keepSocketAlive (AGT-8): the free-socket timeout, or `None` when the
    /// server's hint is too short to keep the socket.
    fn free_timeout(&self, hint: Option<Duration>) -> Option<Duration> {
        let agent = self.agent_timeout();
        match hint.map(|h| h.saturating_sub(HINT_MARGIN)) {
            Some(h) if h.is_zero() => None,
            Some(h) if h < agent => Some(h),
            _ => Some(agent),
        }
    }

    /// Hands a socket taken from the list of free sockets (and put on the key's
    /// `sockets` list) to `req` (AGT-5 step 1).
    fn reuse(&mut self, sock: S, req: ReqId, req_timeout: Option<Duration>) {
        let Some(SockState::Free { timeout, deadline }) = self.socks.get(&sock).map(|i| i.state)
        else {
            unreachable!("a free socket's state");
        };
        if let Some(d) = deadline {
            self.deadlines.remove(&d);
        }
        let timeout = if self.pool_opts.restore_timeout_on_reuse {
            let created = self.creation_timeout(req_timeout);
            self.apply_request_timeout(created, req_timeout)
        } else {
            self.apply_request_timeout(timeout, req_timeout)
        };
        self.set_state(
            sock,
            SockState::InUse {
                req,
                req_timeout,
                timeout,
            },
        );
        self.reqs.insert(req, RequestState::Assigned(sock));
        self.actions.push_back(Action::Assign {
            req,
            sock,
            reused: true,
            timeout: opt(timeout),
        });
    }

    /// createSocket for `req` (AGT-5 step 3, AGT-9).
    fn connect(
        &mut self,
        key: &PoolKey,
        req: ReqId,
        req_timeout: Option<Duration>,
        created_with: Duration,
    ) {
        let ticket = Ticket(self.next_ticket);
        self.next_ticket += 1;
        self.total += 1;
        self.push_active(key, Slot::Connecting(ticket));
        let timeout = self.apply_request_timeout(created_with, req_timeout);
        self.tickets.insert(
            ticket,
            TicketInfo {
                key: key.clone(),
                req,
                req_timeout,
                created_with,
                timeout,
            },
        );
        self.reqs.insert(req, RequestState::Connecting(ticket));
        self.actions.push_back(Action::Connect {
            key: key.clone(),
            req,
            ticket,
            timeout: opt(timeout),
        });
    }

    /// Node's removeSocket, after the socket has left the lists: a waiting request
    /// of the same key gets a new connection (made with the removed socket's
    /// options); otherwise the first key of `requests` gets one if it has no socket
    /// in use. Neither checks the limits (AGT-9).
    fn after_removal(&mut self, key: &PoolKey, created_with: Duration) {
        if let Some(next) = self.pop_request(key) {
            self.connect(key, next.req, next.timeout, created_with);
            return;
        }
        self.connect_first_waiting();
    }

    /// The second half of [`Self::after_removal`]: the first key of `requests` gets
    /// a connection if it has no socket in use.
    fn connect_first_waiting(&mut self) {
        let Some((_, first)) = self.request_order.first_key_value() else {
            return;
        };
        let first = first.clone();
        if self.keys[&first].active_len() > 0 {
            return;
        }
        let next = self
            .pop_request(&first)
            .expect("a key of `requests` has waiters");
        let created_with = self.creation_timeout(next.timeout);
        self.connect(&first, next.req, next.timeout, created_with);
    }

    /// socket.destroy() followed by its `'close'`.
    fn destroy_socket(&mut self, sock: S) {
        let info = &self.socks[&sock];
        let (key, created_with) = (info.key.clone(), info.created_with);
        self.actions.push_back(Action::Close(sock));
        self.remove_handle(Handle::Sock(sock));
        self.after_removal(&key, created_with);
    }

    /// Closes the free sockets of `key` (a retry must not meet another stale one).
    fn flush_free(&mut self, key: &PoolKey) {
        while let Some(sock) = self
            .keys
            .get(key)
            .and_then(|k| k.free.as_ref())
            .and_then(|l| l.items.front().copied())
        {
            self.destroy_socket(sock);
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some((&(t, _), &sock)) = self.deadlines.first_key_value() {
            if t > now {
                break;
            }
            self.destroy_socket(sock);
        }
    }

    /// Takes a handle out of every list and out of the count.
    fn remove_handle(&mut self, h: Handle<S>) {
        self.total -= 1;
        match h {
            Handle::Ticket(t) => {
                let info = self.tickets.remove(&t).expect("a tracked ticket");
                self.reqs.remove(&info.req);
                self.remove_active(&info.key, Slot::Connecting(t));
                self.gc(&info.key);
            }
            Handle::Sock(s) => {
                let info = self.socks.remove(&s).expect("a tracked socket");
                match info.state {
                    SockState::InUse { req, .. } => {
                        if self.reqs.get(&req) == Some(&RequestState::Assigned(s)) {
                            self.reqs.remove(&req);
                        }
                        self.remove_active(&info.key, Slot::Socket(s));
                    }
                    SockState::Free { deadline, .. } => {
                        if let Some(d) = deadline {
                            self.deadlines.remove(&d);
                        }
                        self.remove_free(&info.key, s);
                    }
                }
                self.gc(&info.key);
            }
        }
    }

    fn set_state(&mut self, sock: S, state: SockState) {
        if let Some(i) = self.socks.get_mut(&sock) {
            i.state = state;
        }
    }

    fn push_active(&mut self, key: &PoolKey, slot: Slot<S>) {
        let seq = self.next_seq();
        let ks = self.keys.entry(key.clone()).or_default();
        ks.sockets
            .get_or_insert_with(|| List {
                seq,
                items: VecDeque::new(),
            })
            .items
            .push_back(slot);
    }

    fn remove_active(&mut self, key: &PoolKey, slot: Slot<S>) {
        let Some(ks) = self.keys.get_mut(key) else {
            return;
        };
        if let Some(list) = ks.sockets.as_mut() {
            if let Some(i) = list.items.iter().position(|s| *s == slot) {
                list.items.remove(i);
                if list.items.is_empty() {
                    ks.sockets = None;
                }
            }
        }
    }

    fn remove_free(&mut self, key: &PoolKey, sock: S) {
        let Some(ks) = self.keys.get_mut(key) else {
            return;
        };
        if let Some(list) = ks.free.as_mut() {
            if let Some(i) = list.items.iter().position(|s| *s == sock) {
                list.items.remove(i);
                if list.items.is_empty() {
                    ks.free = None;
                }
            }
        }
    }

    fn push_request(&mut self, key: &PoolKey, w: Waiting) {
        let seq = self.next_seq();
        let ks = self.keys.entry(key.clone()).or_default();
        let list = ks.requests.get_or_insert_with(|| List {
            seq,
            items: VecDeque::new(),
        });
        if list.seq == seq {
            self.request_order.insert(seq, key.clone());
        }
        list.items.push_back(w);
        self.reqs.insert(w.req, RequestState::Queued(key.clone()));
    }

    fn pop_request(&mut self, key: &PoolKey) -> Option<Waiting> {
        let ks = self.keys.get_mut(key)?;
        let list = ks.requests.as_mut()?;
        let w = list.items.pop_front()?;
        if list.items.is_empty() {
            self.request_order.remove(&list.seq);
            ks.requests = None;
        }
        self.reqs.remove(&w.req);
        Some(w)
    }

    /// Drops a key that no longer appears in any of the three objects.
    fn gc(&mut self, key: &PoolKey) {
        if self.keys.get(key).is_some_and(KeyState::is_empty) {
            self.keys.remove(key);
        }
    }
}
