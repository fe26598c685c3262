//! Node's `http.Agent` over proto's [`Pool`]: the pool decides, this runs its
//! decisions on real connections.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use courier_proto::agent::{
    Action, AgentOptions, AgentOptionsError, FastMap, NameOptions, Pool, PoolKey, PoolOptions,
    ReqId, RequestOptions as PoolRequest, Reusable, Slot, Ticket,
};
use courier_proto::client::ClientError;

use super::conn::{ClientConnection, Note, Started};
use super::options::Resolved;
use super::request::ReqShared;
use super::{ClientOptions, ClientRuntime, ConnectTarget, Connector};

/// The agent's id of one socket.
pub(crate) type SockId = u64;

/// What the agent's hooks are told about a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketInfo {
    /// The socket's id within its agent.
    pub id: u64,
    /// The pool it belongs to (`getName`, AGT-3).
    pub name: String,
}

type KeepAliveHook = Arc<dyn Fn(&SocketInfo) -> bool + Send + Sync>;
type ReuseHook = Arc<dyn Fn(&SocketInfo) + Send + Sync>;

/// A request the agent knows while it waits or connects.
struct Waiting {
    req: Arc<ReqShared>,
    key: PoolKey,
    target: Arc<ConnectTarget>,
    timeout: Option<core::time::Duration>,
}

struct State {
    pool: Pool<SockId>,
    conns: FastMap<SockId, ClientConnection>,
    reqs: FastMap<ReqId, Waiting>,
    next_sock: SockId,
    runtime: Option<Arc<dyn ClientRuntime>>,
    connector: Option<Arc<dyn Connector>>,
    keep_socket_alive: Option<KeepAliveHook>,
    reuse_socket: Option<ReuseHook>,
}

struct Inner {
    state: Mutex<State>,
    /// The pool's options (fixed at creation), read without the lock.
    options: AgentOptions,
}

/// Node's `http.Agent` (AGT-1 … AGT-12): keeps sockets for reuse, limits them per
/// host and in total, queues requests over the limits. Every decision is proto's
/// [`Pool`]'s; idle sockets stay watched, so one the server closed (or sent bytes
/// on) leaves the pool and is never handed out (AGT-9). Cloning gives another handle
/// to the same agent.
///
/// ```
/// use courier_rt::client::{Agent, AgentOptions};
/// let agent = Agent::new(AgentOptions { keep_alive: true, max_sockets: Some(4), ..AgentOptions::default() })?;
/// assert_eq!(agent.total_socket_count(), 0);
/// assert!(Agent::new(AgentOptions { max_total_sockets: Some(0), ..AgentOptions::default() }).is_err());
/// # Ok::<(), courier_rt::client::AgentOptionsError>(())
/// ```
#[derive(Clone)]
pub struct Agent {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for Agent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Agent")
            .field("options", &self.options())
            .field("total_socket_count", &self.total_socket_count())
            .finish_non_exhaustive()
    }
}

static GLOBAL: OnceLock<Agent> = OnceLock::new();

/// `http.globalAgent` (AGT-2): keep-alive, `scheduling: 'lifo'`, `timeout: 5000`.
pub fn global_agent() -> Agent {
    GLOBAL
        .get_or_init(|| Agent::from_pool(Pool::global()))
        .clone()
}

impl Agent {
    /// `new Agent(options)`; fails as Node's constructor does (AGT-1).
    pub fn new(options: AgentOptions) -> Result<Self, AgentOptionsError> {
        Self::with_pool_options(options, PoolOptions::default())
    }

    /// `new Agent(options)` with our own pool options (retry, timeout restore).
    pub fn with_pool_options(
        options: AgentOptions,
        pool: PoolOptions,
    ) -> Result<Self, AgentOptionsError> {
        Ok(Self::from_pool(Pool::new(options, pool)?))
    }

    /// The agent of one `agent: false` request (CLI-2).
    pub(crate) fn one_off() -> Self {
        Self::from_pool(Pool::one_off())
    }

    fn from_pool(pool: Pool<SockId>) -> Self {
        let options = pool.options().clone();
        Self {
            inner: Arc::new(Inner {
                options,
                state: Mutex::new(State {
                    pool,
                    conns: FastMap::default(),
                    reqs: FastMap::default(),
                    next_sock: 0,
                    runtime: None,
                    connector: None,
                    keep_socket_alive: None,
                    reuse_socket: None,
                }),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The options, normalized (AGT-1).
    pub fn options(&self) -> AgentOptions {
        self.inner.options.clone()
    }

    /// `agent.sockets`: per pool name, the sockets in use or connecting (AGT-4).
    pub fn sockets(&self) -> Vec<(String, usize)> {
        self.state()
            .pool
            .sockets()
            .into_iter()
            .map(|(k, v): (PoolKey, Vec<Slot<SockId>>)| (k.as_str().to_owned(), v.len()))
            .collect()
    }

    /// `agent.freeSockets`: per pool name, the idle sockets.
    pub fn free_sockets(&self) -> Vec<(String, usize)> {
        self.state()
            .pool
            .free_sockets()
            .into_iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.len()))
            .collect()
    }

    /// `agent.requests`: per pool name, the requests waiting for a socket.
    pub fn requests(&self) -> Vec<(String, usize)> {
        self.state()
            .pool
            .requests()
            .into_iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.len()))
            .collect()
    }

    /// `agent.totalSocketCount`.
    pub fn total_socket_count(&self) -> usize {
        self.state().pool.total_socket_count()
    }

    /// The pool name requests with `options` go under: Node's `agent.getName` of the
    /// options `addRequest` sees (AGT-3), that is with the URL merged in (CLI-1) and
    /// host and port resolved (`hostname || host || 'localhost'`, `port ||
    /// defaultPort || 80`, CLI-5). A URL that does not parse is left out.
    ///
    /// ```
    /// use courier_rt::client::{Agent, ClientOptions};
    /// assert_eq!(Agent::get_name(&"http://h:8/x".into()), "h:8:");
    /// assert_eq!(Agent::get_name(&ClientOptions::default().socket_path("/s")), "localhost:80::/s");
    /// ```
    pub fn get_name(options: &ClientOptions) -> String {
        let r = options.merged_request();
        let given = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
        let host = given(&r.hostname)
            .or_else(|| given(&r.host))
            .unwrap_or_else(|| "localhost".to_owned());
        let port = r
            .port
            .filter(|&p| p != 0)
            .or(r.default_port.filter(|&p| p != 0))
            .unwrap_or(80);
        NameOptions {
            host: Some(&host),
            port: Some(port),
            local_address: options.local_address.as_deref(),
            family: options.family,
            socket_path: options.socket_path.as_deref(),
        }
        .get_name()
        .as_str()
        .to_owned()
    }

    /// `agent.destroy()` (AGT-12): every socket is closed; requests running on them
    /// fail.
    pub fn destroy(&self) {
        self.state().pool.destroy();
        self.run();
    }

    /// Overrides `keepSocketAlive` (AGT-8): returning false destroys a socket that
    /// would have joined the free list.
    pub fn set_keep_socket_alive(
        &self,
        hook: impl Fn(&SocketInfo) -> bool + Send + Sync + 'static,
    ) {
        self.state().keep_socket_alive = Some(Arc::new(hook));
    }

    /// Overrides `reuseSocket` (AGT-10): called when a free socket is handed to a
    /// request (which then has `reusedSocket`).
    pub fn set_reuse_socket(&self, hook: impl Fn(&SocketInfo) + Send + Sync + 'static) {
        self.state().reuse_socket = Some(Arc::new(hook));
    }

    /// Overrides `createConnection` (AGT-10): how new sockets are opened.
    pub fn set_connector(&self, connector: Arc<dyn Connector>) {
        self.state().connector = Some(connector);
    }

    fn info(state: &State, sock: SockId) -> SocketInfo {
        SocketInfo {
            id: sock,
            name: state
                .pool
                .socket_key(sock)
                .map(|k| k.as_str().to_owned())
                .unwrap_or_default(),
        }
    }

    /// `addRequest` (AGT-5).
    pub(crate) fn add_request(
        &self,
        runtime: Arc<dyn ClientRuntime>,
        resolved: Resolved,
    ) -> Arc<ReqShared> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = ReqId(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let now = runtime.now();
        let Resolved {
            req,
            target,
            name,
            timeout,
            ..
        } = resolved;
        let high_water = courier_proto::client::ClientConfig::default().high_water_mark;
        let shared = ReqShared::new(id, req, high_water);
        {
            let mut st = self.state();
            st.runtime = Some(runtime);
            st.reqs.insert(
                id,
                Waiting {
                    req: Arc::clone(&shared),
                    key: name.clone(),
                    target,
                    timeout,
                },
            );
            st.pool.request_with(
                name,
                id,
                PoolRequest {
                    timeout,
                    fresh: false,
                },
                now,
            );
        }
        self.run();
        shared
    }

    /// A waiting request was destroyed: it leaves the queue.
    pub(crate) fn cancel(&self, id: ReqId) {
        let mut st = self.state();
        if st.pool.cancel(id) {
            st.reqs.remove(&id);
        }
    }

    /// The earliest free-socket expiry.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.state().pool.poll_timeout()
    }

    /// What a connection reports (see [`ClientConnection::settle`]); also expires free
    /// sockets due at `now`.
    pub(crate) fn handle_notes(
        &self,
        conn: &ClientConnection,
        sock: SockId,
        notes: &[Note],
        now: Instant,
    ) {
        let mut st = self.state();
        st.pool.handle_timeout(now);
        for &note in notes {
            match note {
                Note::Release(mut r) => {
                    // keepSocketAlive (AGT-8) is asked only about a socket that would
                    // join the free list: no request of its pool waits for it. The
                    // hook runs with no lock held.
                    let ask = match (&r, st.keep_socket_alive.clone()) {
                        (Reusable::Yes { .. }, Some(hook)) if st.pool.options().keep_alive => {
                            let key = st.pool.socket_key(sock).cloned();
                            let waits = st
                                .pool
                                .requests()
                                .iter()
                                .any(|(k, _)| Some(k) == key.as_ref());
                            (!waits).then(|| (hook, Self::info(&st, sock)))
                        }
                        _ => None,
                    };
                    if let Some((hook, info)) = ask {
                        drop(st);
                        if !hook(&info) {
                            r = Reusable::No;
                        }
                        st = self.state();
                    }
                    st.pool.release(sock, now, r);
                }
                Note::Detach => {
                    st.pool.detach(sock);
                    st.conns.remove(&sock);
                }
                Note::Poisoned => {
                    st.pool.poisoned(sock);
                }
                Note::Closed => {
                    st.pool.closed(sock);
                    if st.conns.get(&sock).is_some_and(|c| c.same(conn)) {
                        st.conns.remove(&sock);
                    }
                }
            }
        }
        drop(st);
        self.run();
    }

    /// Runs the pool's actions until there are none.
    fn run(&self) {
        loop {
            let (action, runtime) = {
                let mut st = self.state();
                match st.pool.poll_action() {
                    Some(a) => (a, st.runtime.clone()),
                    None => return,
                }
            };
            let now = runtime.as_ref().map_or_else(Instant::now, |r| r.now());
            match action {
                Action::Connect { req, ticket, .. } => {
                    let (task, waiting) = {
                        let mut st = self.state();
                        let Some(w) = st.reqs.get(&req) else {
                            // No request to open it for: give the slot back.
                            st.pool.connect_failed(ticket, now);
                            continue;
                        };
                        (
                            ConnectTask {
                                agent: self.clone(),
                                ticket,
                                target: ConnectTarget::clone(&w.target),
                                connector: st.connector.clone(),
                                reported: false,
                            },
                            Arc::clone(&w.req),
                        )
                    };
                    waiting.update(|s| {
                        s.push(super::RequestEvent::Socket);
                        s.socket_emitted = true;
                    });
                    match runtime {
                        Some(rt) => rt.open(task),
                        None => task.failed(ClientError::io("ERR_INTERNAL", "no runtime")),
                    }
                }
                Action::Assign {
                    req,
                    sock,
                    reused,
                    timeout,
                } => {
                    let (conn, waiting, hook) = {
                        let mut st = self.state();
                        let conn = st.conns.get(&sock).cloned();
                        let hook = if reused {
                            st.reuse_socket.clone().map(|h| (h, Self::info(&st, sock)))
                        } else {
                            None
                        };
                        (conn, st.reqs.remove(&req), hook)
                    };
                    let conn = match (conn, waiting) {
                        (Some(conn), Some(waiting)) => (conn, waiting),
                        (Some(_), None) => {
                            // The request is gone: the socket goes back.
                            self.state().pool.release(sock, now, Reusable::YES);
                            continue;
                        }
                        (None, waiting) => {
                            // The connection is gone: forget it, queue the request again.
                            let mut st = self.state();
                            st.pool.closed(sock);
                            if let Some(w) = waiting {
                                let key = w.key.clone();
                                let opts = PoolRequest {
                                    timeout: w.timeout,
                                    fresh: false,
                                };
                                st.reqs.insert(req, w);
                                st.pool.request_with(key, req, opts, now);
                            }
                            continue;
                        }
                    };
                    let (conn, waiting) = conn;
                    if let Some((hook, info)) = hook {
                        hook(&info);
                    }
                    match conn.start(now, &waiting.req, reused, timeout) {
                        Started::Yes => {}
                        Started::RequestGone { bound } => {
                            // Node destroys the socket of a request destroyed while
                            // it connected; one handed over from the queue stays.
                            let mut st = self.state();
                            let r = if bound { Reusable::No } else { Reusable::YES };
                            st.pool.release(sock, now, r);
                        }
                        Started::ConnectionGone => {
                            // Closed under us: forget it and queue the request again.
                            let mut st = self.state();
                            st.pool.closed(sock);
                            st.conns.remove(&sock);
                            let key = waiting.key.clone();
                            let opts = PoolRequest {
                                timeout: waiting.timeout,
                                fresh: false,
                            };
                            st.reqs.insert(req, waiting);
                            st.pool.request_with(key, req, opts, now);
                        }
                    }
                }
                Action::Close(sock) => {
                    let conn = self.state().conns.remove(&sock);
                    if let Some(c) = conn {
                        c.close();
                    }
                }
                Action::Abort(_) => {
                    // The connect task finds its ticket unknown and drops the socket.
                }
                _ => {}
            }
        }
    }
}

/// One connection to open for an agent (the pool's `Connect` action): the adapter
/// connects, then reports [`Self::connected`] or [`Self::failed`].
///
/// A task dropped without a report (its runtime shut down) counts as failed with
/// `ECONNABORTED`, so that its request never waits forever.
pub struct ConnectTask {
    agent: Agent,
    ticket: Ticket,
    target: ConnectTarget,
    connector: Option<Arc<dyn Connector>>,
    reported: bool,
}

impl core::fmt::Debug for ConnectTask {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConnectTask")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl ConnectTask {
    /// Where to connect.
    pub fn target(&self) -> &ConnectTarget {
        &self.target
    }

    /// The agent's connector ([`Agent::set_connector`]); `None` = the adapter's.
    pub fn connector(&self) -> Option<Arc<dyn Connector>> {
        self.connector.clone()
    }

    /// The socket is up at `now`: the connection to drive, with its request
    /// started on it; `None` when the agent gave up the attempt (`agent.destroy()`),
    /// and the socket is then to be dropped.
    pub fn connected(mut self, now: Instant) -> Option<ClientConnection> {
        self.reported = true;
        let conn = {
            let mut st = self.agent.state();
            let sock = st.next_sock;
            st.next_sock += 1;
            let conn = ClientConnection::new(self.agent.clone(), sock, now);
            if !st.pool.connected(self.ticket, sock, now) {
                return None;
            }
            st.conns.insert(sock, conn.clone());
            conn
        };
        self.agent.run();
        Some(conn)
    }

    /// The connection failed with `err` (Node's `connect ECONNREFUSED …`): the
    /// request it was opened for fails (CLI-20).
    pub fn failed(mut self, err: ClientError) {
        self.report_failure(err);
    }

    fn report_failure(&mut self, err: ClientError) {
        self.reported = true;
        let now = {
            let st = self.agent.state();
            st.runtime.as_ref().map_or_else(Instant::now, |r| r.now())
        };
        let waiting = {
            let mut st = self.agent.state();
            st.pool
                .connect_failed(self.ticket, now)
                .and_then(|req| st.reqs.remove(&req))
        };
        if let Some(w) = waiting {
            w.req.update(|s| s.end_pending(Some(err)));
        }
        self.agent.run();
    }
}

impl Drop for ConnectTask {
    fn drop(&mut self) {
        if !self.reported {
            self.report_failure(ClientError::io("ECONNABORTED", "connect ECONNABORTED"));
        }
    }
}

/// Lets a connection find its agent's socket id.
impl ClientConnection {
    /// The id of the socket within its agent.
    pub fn socket_id(&self) -> u64 {
        self.sock()
    }
}
