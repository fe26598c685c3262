//! `http.createServer` on std::net: accept loops on threads of their own, one thread
//! per connection from a bounded pool.

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, ToSocketAddrs};
#[cfg(unix)]
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use courier_net::{bind_listener, listen_first};
use courier_rt::registry::Route;
use courier_rt::{
    ClientErrorEvent, ConfigError, Connection, Handover, IncomingMessage, ServerOptions, Socket,
};

use crate::conn::serve;
use crate::io::{Stream, lock};
use crate::message::{BlockingRequest, BlockingResponse};
use crate::upgraded::{OpenGuard, Upgraded};

/// The application's request handler.
pub(crate) type Handler = Arc<dyn Fn(BlockingRequest, BlockingResponse) + Send + Sync>;
/// An `'upgrade'` or `'connect'` handler.
type UpgradeHandler = Arc<dyn Fn(BlockingRequest, Upgraded, Bytes) + Send + Sync>;
/// A `'clientError'` handler.
type ClientErrorHandler = Arc<dyn Fn(ClientErrorEvent, Upgraded) + Send + Sync>;

/// The listeners a connection is served with (the registry is `courier-rt`'s).
pub(crate) type Handlers =
    courier_rt::registry::Handlers<Handler, UpgradeHandler, ClientErrorHandler>;
type Registry = courier_rt::registry::Registry<Handler, UpgradeHandler, ClientErrorHandler>;

/// Node's default `backlog` for `server.listen`.
pub const DEFAULT_BACKLOG: i32 = 511;

/// How many connections a server serves at once unless told otherwise
/// ([`Server::set_max_threads`]).
pub const DEFAULT_MAX_THREADS: usize = 64;

/// `http.createServer(options, requestListener)`: a server that calls `handler` for
/// every request (Node's `'request'` event), on the connection's thread.
///
/// The handler runs synchronously: its blocking calls (reading the body, writing
/// above the high-water mark, `end`) drive the connection on that thread. Requests
/// pipelined behind it are handled in order once it returns. Fails as Node's
/// constructor does on invalid options (SRV-1).
///
/// ```no_run
/// use courier_rt_blocking::{ServerOptions, create_server};
///
/// # fn run() -> std::io::Result<()> {
/// let server = create_server(ServerOptions::default(), |_req, mut res| {
///     let _ = res.set_header("Content-Type", "text/plain");
///     let _ = res.end(Some("Hello, World!".into()));
/// })
/// .expect("valid options");
/// let addr = server.listen("127.0.0.1:0")?;
/// println!("listening on {addr}");
/// # Ok(())
/// # }
/// ```
pub fn create_server<H>(options: ServerOptions, handler: H) -> Result<Server, ConfigError>
where
    H: Fn(BlockingRequest, BlockingResponse) + Send + Sync + 'static,
{
    let base = options.to_config()?;
    let handler: Handler = Arc::new(handler);
    Ok(Server {
        inner: Arc::new(Inner {
            registry: Registry::new(base, handler),
            options,
            handed_over: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            close_emitted: AtomicBool::new(false),
            close_done: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            listeners: Mutex::new(Vec::new()),
            origin: Mutex::new(None),
            changed: Condvar::new(),
            changed_lock: Mutex::new(()),
            max_threads: AtomicUsize::new(DEFAULT_MAX_THREADS),
            busy: Mutex::new(0),
            slot_freed: Condvar::new(),
        }),
    })
}

/// A listening (or not yet listening) HTTP server. Cloning gives another handle to
/// the same server.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

courier_rt::server_debug!(Server);

/// Where a server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix socket path.
    Unix(PathBuf),
}

struct Listener {
    addr: ListenAddr,
    stop: Arc<AtomicBool>,
    /// Unblocks the accept call (shuts the listening socket down).
    wake: Box<dyn Fn() + Send>,
    thread: Option<JoinHandle<()>>,
}

/// One served connection, as the server sees it.
struct Entry {
    conn: Connection,
    /// Another handle on its socket, to unblock its thread from outside.
    stream: Option<Stream>,
}

pub(crate) struct Inner {
    registry: Registry,
    options: ServerOptions,
    handed_over: AtomicUsize,
    closing: AtomicBool,
    close_emitted: AtomicBool,
    /// The `'close'` listeners ran.
    close_done: AtomicBool,
    conns: Mutex<HashMap<u64, Entry>>,
    next_conn: AtomicU64,
    listeners: Mutex<Vec<Listener>>,
    origin: Mutex<Option<Instant>>,
    /// Signalled when a connection closes.
    changed: Condvar,
    changed_lock: Mutex<()>,
    max_threads: AtomicUsize,
    /// Connection threads running.
    busy: Mutex<usize>,
    slot_freed: Condvar,
}

/// A connection thread's place in the pool, given back on drop.
struct Slot {
    inner: Arc<Inner>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        *lock(&self.inner.busy) -= 1;
        self.inner.slot_freed.notify_all();
    }
}

impl Inner {
    fn origin(&self) -> Instant {
        *lock(&self.origin).get_or_insert_with(Instant::now)
    }

    fn open_count(&self) -> usize {
        lock(&self.conns).len() + self.handed_over.load(Ordering::SeqCst)
    }

    pub(crate) fn open_handed_over(&self) {
        self.handed_over.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn close_handed_over(&self) {
        self.handed_over.fetch_sub(1, Ordering::SeqCst);
        self.check_closed();
    }

    /// Wakes the waiters and emits `'close'` once nothing is open after `close()`
    /// (SRV-21).
    fn check_closed(&self) {
        if self.open_count() == 0
            && self.closing.load(Ordering::SeqCst)
            && !self.close_emitted.swap(true, Ordering::SeqCst)
        {
            self.registry.emit_close();
            self.close_done.store(true, Ordering::SeqCst);
        }
        let _g = lock(&self.changed_lock);
        self.changed.notify_all();
    }

    /// Blocks until the `'close'` listeners ran, if `close_emitted` says another
    /// thread is running them.
    fn wait_close_done(&self) {
        let mut g = lock(&self.changed_lock);
        while self.close_emitted.load(Ordering::SeqCst) && !self.close_done.load(Ordering::SeqCst) {
            g = self
                .changed
                .wait_timeout(g, Duration::from_millis(100))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    fn accept_error(&self, e: io::Error) {
        self.registry.emit_error(e);
    }

    /// Waits for a free connection thread; `None` once `stop` is set.
    fn acquire(self: &Arc<Self>, stop: &AtomicBool) -> Option<Slot> {
        let mut busy = lock(&self.busy);
        loop {
            if stop.load(Ordering::SeqCst) {
                return None;
            }
            if *busy < self.max_threads.load(Ordering::SeqCst).max(1) {
                *busy += 1;
                return Some(Slot {
                    inner: Arc::clone(self),
                });
            }
            busy = self
                .slot_freed
                .wait_timeout(busy, Duration::from_millis(100))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    fn tune(&self, stream: &std::net::TcpStream) {
        courier_net::set_server_options(stream.into(), &self.options);
    }

    /// Registers an accepted stream, emits `'connection'` and serves it on a thread.
    fn serve(self: &Arc<Self>, stream: Stream, slot: Slot) {
        let handlers = self.registry.snapshot();
        let conn = Connection::new(Arc::clone(handlers.config()), Instant::now(), self.origin());
        conn.set_addresses(stream.peer_addr(), stream.local_addr());
        let key = self.next_conn.fetch_add(1, Ordering::Relaxed);
        lock(&self.conns).insert(
            key,
            Entry {
                conn: conn.clone(),
                stream: stream.try_clone().ok(),
            },
        );
        handlers.emit_connection(&conn.socket());
        let this = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("courier-conn".into())
            .spawn(move || {
                let _slot = slot;
                let handover = serve(stream, conn, Arc::clone(&handlers));
                let app = handover.map(|(h, s)| {
                    (
                        h,
                        Upgraded::handed_over(s, OpenGuard::new(Arc::clone(&this))),
                    )
                });
                lock(&this.conns).remove(&key);
                this.check_closed();
                if let Some((h, upgraded)) = app {
                    hand_over(&handlers, h, upgraded);
                }
            });
        if let Err(e) = spawned {
            lock(&self.conns).remove(&key);
            self.check_closed();
            self.accept_error(e);
        }
    }

    /// Accepts with `accept` until `stop` is set.
    fn accept_loop(
        self: &Arc<Self>,
        stop: &AtomicBool,
        mut accept: impl FnMut() -> io::Result<Stream>,
    ) {
        loop {
            let Some(slot) = self.acquire(stop) else {
                return;
            };
            match accept() {
                Ok(stream) => {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    self.serve(stream, slot);
                }
                Err(e) => {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    // Node reports the error and goes on accepting; a short pause
                    // keeps a persistent failure (EMFILE) from spinning.
                    self.accept_error(e);
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }
}

impl Server {
    /// The number of connections served at once (one thread each; at least 1).
    /// Connections past it wait in the listen backlog: the accept loop accepts
    /// again when a connection's thread is free. Default [`DEFAULT_MAX_THREADS`].
    pub fn set_max_threads(&self, n: usize) -> &Self {
        self.inner.max_threads.store(n.max(1), Ordering::SeqCst);
        self.inner.slot_freed.notify_all();
        self
    }

    /// The bound set by [`Server::set_max_threads`].
    pub fn max_threads(&self) -> usize {
        self.inner.max_threads.load(Ordering::SeqCst)
    }

    /// `server.listen(port, host)`: binds `addr` (`"127.0.0.1:0"` picks a free port)
    /// with Node's backlog of 511 and starts accepting on a thread of its own.
    /// Returns the bound address.
    pub fn listen(&self, addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
        self.listen_with_backlog(addr, DEFAULT_BACKLOG)
    }

    /// `server.listen({ port, host, backlog })`.
    pub fn listen_with_backlog(
        &self,
        addr: impl ToSocketAddrs,
        backlog: i32,
    ) -> io::Result<SocketAddr> {
        let listener = listen_first(addr.to_socket_addrs()?, |a| {
            bind_listener(a, backlog, false)
        })?;
        self.listen_on(listener)
    }

    /// `server.listen(handle)`: accepts on an already bound listener.
    pub fn listen_on(&self, listener: TcpListener) -> io::Result<SocketAddr> {
        let addr = listener.local_addr()?;
        let waker = listener.try_clone()?;
        self.inner.origin();
        let stop = Arc::new(AtomicBool::new(false));
        let inner = Arc::clone(&self.inner);
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("courier-accept".into())
            .spawn(move || {
                inner.accept_loop(&stop2, || {
                    let (stream, _) = listener.accept()?;
                    inner.tune(&stream);
                    Ok(Stream::Tcp(stream))
                });
            })?;
        lock(&self.inner.listeners).push(Listener {
            addr: ListenAddr::Tcp(addr),
            stop,
            wake: Box::new(move || {
                let _ = socket2::SockRef::from(&waker).shutdown(Shutdown::Both);
            }),
            thread: Some(thread),
        });
        Ok(addr)
    }

    /// `server.listen(path)`: listens on a Unix socket. As in Node, an existing file
    /// at `path` makes this fail (`EADDRINUSE`); [`Server::close`] removes the file.
    #[cfg(unix)]
    pub fn listen_unix(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref().to_path_buf();
        let listener = UnixListener::bind(&path)?;
        let waker = listener.try_clone()?;
        self.inner.origin();
        let stop = Arc::new(AtomicBool::new(false));
        let inner = Arc::clone(&self.inner);
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("courier-accept".into())
            .spawn(move || {
                inner.accept_loop(&stop2, || Ok(Stream::Unix(listener.accept()?.0)));
            })?;
        lock(&self.inner.listeners).push(Listener {
            addr: ListenAddr::Unix(path),
            stop,
            wake: Box::new(move || {
                let _ = socket2::SockRef::from(&waker).shutdown(Shutdown::Both);
            }),
            thread: Some(thread),
        });
        Ok(())
    }

    /// `server.address()` for the first TCP listener.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        lock(&self.inner.listeners)
            .iter()
            .find_map(|l| match l.addr {
                ListenAddr::Tcp(a) => Some(a),
                ListenAddr::Unix(_) => None,
            })
    }

    /// Every address the server listens on.
    pub fn addresses(&self) -> Vec<ListenAddr> {
        lock(&self.inner.listeners)
            .iter()
            .map(|l| l.addr.clone())
            .collect()
    }

    /// `server.listening`.
    pub fn listening(&self) -> bool {
        !lock(&self.inner.listeners).is_empty()
    }

    /// Open connections, handed-over sockets ([`Upgraded`]) included.
    pub fn connection_count(&self) -> usize {
        self.inner.open_count()
    }

    fn connections(&self) -> Vec<(Connection, Option<Stream>)> {
        lock(&self.inner.conns)
            .values()
            .map(|e| {
                (
                    e.conn.clone(),
                    e.stream.as_ref().and_then(|s| s.try_clone().ok()),
                )
            })
            .collect()
    }

    /// `server.close()` (SRV-21): stops accepting (the accept threads end before it
    /// returns), removes Unix socket files, destroys idle connections; active ones
    /// finish their requests (without the request timeout checks) and then end by
    /// the keep-alive timeout. [`Server::closed`] / [`Server::wait`] block until the
    /// last one is gone; [`Server::on_close`] listeners run then.
    pub fn close(&self) {
        self.inner.closing.store(true, Ordering::SeqCst);
        let listeners: Vec<Listener> = lock(&self.inner.listeners).drain(..).collect();
        for l in &listeners {
            l.stop.store(true, Ordering::SeqCst);
            (l.wake)();
        }
        self.inner.slot_freed.notify_all();
        for mut l in listeners {
            if let Some(t) = l.thread.take() {
                // Not from the accept thread itself (a `'connection'` listener).
                if t.thread().id() != std::thread::current().id() {
                    let _ = t.join();
                }
            }
            if let ListenAddr::Unix(path) = l.addr {
                let _ = std::fs::remove_file(path);
            }
        }
        for (c, _) in self.connections() {
            c.server_close();
        }
        self.inner.check_closed();
    }

    /// Blocks until no connection is open, handed-over sockets included.
    pub fn closed(&self) {
        let mut g = lock(&self.inner.changed_lock);
        while self.inner.open_count() != 0 {
            g = self
                .inner
                .changed
                .wait_timeout(g, Duration::from_millis(100))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        drop(g);
        self.inner.check_closed();
        self.inner.wait_close_done();
    }

    /// Blocks until the server was closed ([`Server::close`], from any thread or a
    /// handler) and its last connection is gone: what a program's `main` calls
    /// after listening.
    pub fn wait(&self) {
        let mut g = lock(&self.inner.changed_lock);
        while !self.inner.closing.load(Ordering::SeqCst) || self.inner.open_count() != 0 {
            g = self
                .inner
                .changed
                .wait_timeout(g, Duration::from_millis(100))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        drop(g);
        self.inner.check_closed();
        self.inner.wait_close_done();
    }

    /// `server.closeIdleConnections()` (SRV-23).
    pub fn close_idle_connections(&self) {
        for (c, _) in self.connections() {
            c.close_if_idle();
        }
    }

    /// `server.closeAllConnections()` (SRV-22): destroys every connection now (its
    /// socket is shut down first, so that a thread blocked on it returns).
    pub fn close_all_connections(&self) {
        for (c, s) in self.connections() {
            if let Some(s) = s {
                let _ = s.shutdown(Shutdown::Both);
            }
            c.destroy();
        }
    }
}

/// Gives a socket that left HTTP to its listener, on the connection's thread.
fn hand_over(handlers: &Handlers, handover: Handover, upgraded: Upgraded) {
    // Without a listener the socket is dropped (closed), as Node destroys an
    // untaken CONNECT (SRV-9).
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        match handlers.route(handover) {
            Some(Route::Upgrade { handler, req, head }) => {
                handler(BlockingRequest::new(req, None), upgraded, head);
            }
            Some(Route::ClientError { handler, err }) => handler(err, upgraded),
            None => {}
        }
    }));
}

/// Event listeners (SRV-24).
///
/// Listeners that receive the connection's socket or requests and `set_timeout`
/// apply to connections accepted **after** the call: register them before
/// [`Server::listen`]. Handlers given a request, a response or a socket that left
/// HTTP run on the connection's thread (blocking it is fine: it is theirs); a second
/// registration replaces the first. The plain callbacks (`Fn(Socket)` and the like)
/// run on the connection's thread (`'connection'`: on the accept thread) and should
/// not block; each registration adds one.
impl Server {
    /// `server.on('checkContinue', (req, res) => …)` (SRV-6, SRV-7): no automatic
    /// `100 Continue`; call [`ServerResponse::write_continue`](courier_rt::ServerResponse::write_continue) (through `Deref`) to get the body.
    pub fn on_check_continue(
        &self,
        handler: impl Fn(BlockingRequest, BlockingResponse) + Send + Sync + 'static,
    ) -> &Self {
        self.inner.registry.set_check_continue(Arc::new(handler));
        self
    }

    /// `server.on('checkExpectation', (req, res) => …)` (SRV-6): no automatic 417.
    pub fn on_check_expectation(
        &self,
        handler: impl Fn(BlockingRequest, BlockingResponse) + Send + Sync + 'static,
    ) -> &Self {
        self.inner.registry.set_check_expectation(Arc::new(handler));
        self
    }

    /// `server.on('upgrade', (req, socket, head) => …)` (SRV-8): once the responses
    /// before it are written, `handler` gets the request, the socket and `head`
    /// (every byte already received after the request head). Nothing is written for
    /// it. Without this listener such a request is an ordinary request (Node v20).
    pub fn on_upgrade(
        &self,
        handler: impl Fn(BlockingRequest, Upgraded, Bytes) + Send + Sync + 'static,
    ) -> &Self {
        self.inner.registry.set_upgrade(Arc::new(handler));
        self
    }

    /// `server.on('connect', (req, socket, head) => …)` (SRV-9). Without this
    /// listener the connection is closed with no bytes written.
    pub fn on_connect(
        &self,
        handler: impl Fn(BlockingRequest, Upgraded, Bytes) + Send + Sync + 'static,
    ) -> &Self {
        self.inner.registry.set_connect(Arc::new(handler));
        self
    }

    /// `server.on('clientError', (err, socket) => …)` (SRV-11): nothing is written
    /// and the socket goes to `handler`. Without it Node's default reply is sent
    /// (SRV-12).
    pub fn on_client_error(
        &self,
        handler: impl Fn(ClientErrorEvent, Upgraded) + Send + Sync + 'static,
    ) -> &Self {
        self.inner.registry.set_client_error(Arc::new(handler));
        self
    }

    /// `server.on('dropRequest', (req, socket) => …)` (SRV-5).
    pub fn on_drop_request(
        &self,
        listener: impl Fn(IncomingMessage, Socket) + Send + Sync + 'static,
    ) -> &Self {
        self.inner.registry.set_drop_request(Arc::new(listener));
        self
    }

    /// `server.on('timeout', socket => …)` (SRV-19): with it an expired socket is
    /// no longer destroyed; the listener decides.
    pub fn on_timeout(&self, listener: impl Fn(Socket) + Send + Sync + 'static) -> &Self {
        self.inner.registry.add_timeout(Arc::new(listener));
        self
    }

    /// `server.setTimeout(ms, cb)` (SRV-20).
    pub fn set_timeout(
        &self,
        timeout: Duration,
        listener: impl Fn(Socket) + Send + Sync + 'static,
    ) -> &Self {
        self.inner.registry.set_timeout(timeout, Arc::new(listener));
        self
    }

    /// `server.on('connection', socket => …)`: every accepted connection, before its
    /// first byte is read.
    pub fn on_connection(&self, listener: impl Fn(Socket) + Send + Sync + 'static) -> &Self {
        self.inner.registry.add_connection(Arc::new(listener));
        self
    }

    /// `server.on('close', …)` (SRV-21): after [`Server::close`], once the last
    /// connection is gone. Runs once.
    pub fn on_close(&self, listener: impl Fn() + Send + Sync + 'static) -> &Self {
        self.inner.registry.add_close(Arc::new(listener));
        self
    }

    /// `server.on('error', err => …)`: an accept failed; the server goes on.
    pub fn on_error(&self, listener: impl Fn(io::Error) + Send + Sync + 'static) -> &Self {
        self.inner.registry.set_error(Arc::new(listener));
        self
    }
}
