//! `http.createServer` over tokio.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use courier_rt::drive::{
    AsyncRegistry, ClientErrorHandler, Runtime, UpgradeHandler, hand_over, request_handler,
    serve_connection,
};
use courier_rt::{
    ClientErrorEvent, ConfigError, Connection, IncomingMessage, ServerOptions, ServerResponse,
    Socket,
};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::drive::{Tokio, boxed};
use crate::upgraded::{OpenGuard, RawStream, Upgraded};

/// The server's listeners (the registry is `courier-rt`'s).
type Registry = AsyncRegistry<Tokio, Upgraded>;

/// Node's default `backlog` for `server.listen`.
pub const DEFAULT_BACKLOG: u32 = 511;

/// `http.createServer(options, requestListener)`: a server that calls `handler` for
/// every request (Node's `'request'` event). The handler's future is first polled on
/// the connection's task; if it does not complete there it continues on a task of its
/// own (a handler that answers at once costs no task). A panicking handler is
/// reported by the panic hook and its response dropped (the connection is destroyed).
///
/// Fails as Node's constructor does on invalid options (SRV-1). Must be listened on
/// from within a tokio runtime.
///
/// ```no_run
/// use courier_rt_tokio::{ServerOptions, create_server};
///
/// # async fn run() -> std::io::Result<()> {
/// let server = create_server(ServerOptions::default(), |_req, mut res| async move {
///     let _ = res.set_header("Content-Type", "text/plain");
///     let _ = res.end(Some("Hello, World!".into())).await;
/// })
/// .expect("valid options");
/// let addr = server.listen("127.0.0.1:0").await?;
/// println!("listening on {addr}");
/// # Ok(())
/// # }
/// ```
pub fn create_server<H, F>(options: ServerOptions, handler: H) -> Result<Server, ConfigError>
where
    H: Fn(IncomingMessage, ServerResponse) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let base = options.to_config()?;
    Ok(Server {
        inner: Arc::new(Inner {
            registry: Registry::new(base, request_handler(handler)),
            options,
            handed_over: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            close_emitted: AtomicBool::new(false),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            listeners: Mutex::new(Vec::new()),
            origin: Mutex::new(None),
            all_closed: Notify::new(),
        }),
    })
}

/// A listening (or not yet listening) HTTP server. Cloning gives another handle to
/// the same server.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for Server {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Server")
            .field("addresses", &self.addresses())
            .field("connections", &self.connection_count())
            .finish_non_exhaustive()
    }
}

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
    accept: JoinHandle<()>,
}

pub(crate) struct Inner {
    /// The listeners, over the options' configuration.
    registry: Registry,
    options: ServerOptions,
    /// Handed-over sockets still open ([`Upgraded`]).
    handed_over: AtomicUsize,
    /// `close()` was called: `'close'` fires when the last connection is gone.
    closing: AtomicBool,
    close_emitted: AtomicBool,
    conns: Mutex<HashMap<u64, Connection>>,
    next_conn: AtomicU64,
    listeners: Mutex<Vec<Listener>>,
    /// When the server first started listening: the request-timeout checker's origin.
    origin: Mutex<Option<Instant>>,
    all_closed: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    fn origin(&self) -> Instant {
        *lock(&self.origin).get_or_insert_with(|| Tokio.now())
    }

    /// Open connections: HTTP ones and handed-over sockets.
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

    /// Wakes [`Server::closed`] and emits `'close'` once nothing is open after
    /// `close()` (SRV-21).
    fn check_closed(&self) {
        if self.open_count() != 0 {
            return;
        }
        self.all_closed.notify_waiters();
        if self.closing.load(Ordering::SeqCst) && !self.close_emitted.swap(true, Ordering::SeqCst) {
            self.registry.emit_close();
        }
    }

    /// The accept loop hit an error (Node's `'error'` on the server).
    fn accept_error(&self, e: io::Error) {
        self.registry.emit_error(e);
    }

    /// Registers an accepted stream, emits `'connection'` and spawns its I/O loop.
    fn serve(
        self: &Arc<Self>,
        io: RawStream,
        remote: Option<SocketAddr>,
        local: Option<SocketAddr>,
    ) {
        let handlers = self.registry.snapshot();
        let conn = Connection::new(Arc::clone(handlers.config()), Tokio.now(), self.origin());
        conn.set_addresses(remote, local);
        let key = self.next_conn.fetch_add(1, Ordering::Relaxed);
        lock(&self.conns).insert(key, conn.clone());
        handlers.emit_connection(&conn.socket());
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let handover = serve_connection(io, conn, &handlers, &Tokio).await;
            // A handed-over socket stays counted: take it over before the connection
            // leaves the list.
            let app = handover.map(|(h, io)| {
                let open = OpenGuard::new(Arc::clone(&this));
                (h, Upgraded::new(io, remote, local, open))
            });
            lock(&this.conns).remove(&key);
            this.check_closed();
            if let Some((h, upgraded)) = app {
                hand_over(&Tokio, &handlers, h, upgraded);
            }
        });
    }

    fn tune(&self, stream: &TcpStream) {
        // Socket options are best effort, as in Node (a failure is not reported).
        let _ = stream.set_nodelay(self.options.no_delay);
        if self.options.keep_alive {
            let mut ka = socket2::TcpKeepalive::new();
            if !self.options.keep_alive_initial_delay.is_zero() {
                ka = ka.with_time(self.options.keep_alive_initial_delay);
            }
            let _ = socket2::SockRef::from(stream).set_tcp_keepalive(&ka);
        }
    }
}

impl Server {
    /// `server.listen(port, host)`: binds `addr` (`"127.0.0.1:0"` picks a free port)
    /// with Node's backlog of 511 and starts accepting. Returns the bound address.
    pub async fn listen(&self, addr: impl tokio::net::ToSocketAddrs) -> io::Result<SocketAddr> {
        self.listen_with_backlog(addr, DEFAULT_BACKLOG).await
    }

    /// `server.listen({ port, host, backlog })`.
    pub async fn listen_with_backlog(
        &self,
        addr: impl tokio::net::ToSocketAddrs,
        backlog: u32,
    ) -> io::Result<SocketAddr> {
        let mut last = None;
        for a in tokio::net::lookup_host(addr).await? {
            match bind(a, backlog) {
                Ok(listener) => return self.listen_on(listener),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "no address to listen on")
        }))
    }

    /// `server.listen(handle)`: accepts on an already bound listener.
    pub fn listen_on(&self, listener: TcpListener) -> io::Result<SocketAddr> {
        let addr = listener.local_addr()?;
        self.inner.origin();
        let inner = Arc::clone(&self.inner);
        let accept = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, remote)) => {
                        inner.tune(&stream);
                        let local = stream.local_addr().ok();
                        inner.serve(RawStream::Tcp(stream), Some(remote), local);
                    }
                    // Node reports the error and goes on accepting; a short pause
                    // keeps a persistent failure (EMFILE) from spinning.
                    Err(e) => {
                        inner.accept_error(e);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        });
        lock(&self.inner.listeners).push(Listener {
            addr: ListenAddr::Tcp(addr),
            accept,
        });
        Ok(addr)
    }

    /// `server.listen(path)`: listens on a Unix socket. As in Node, an existing file
    /// at `path` makes this fail (`EADDRINUSE`); [`Server::close`] removes the file.
    #[cfg(unix)]
    pub fn listen_unix(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref().to_path_buf();
        let listener = tokio::net::UnixListener::bind(&path)?;
        self.inner.origin();
        let inner = Arc::clone(&self.inner);
        let accept = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => inner.serve(RawStream::Unix(stream), None, None),
                    Err(e) => {
                        inner.accept_error(e);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        });
        lock(&self.inner.listeners).push(Listener {
            addr: ListenAddr::Unix(path),
            accept,
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

    fn connections(&self) -> Vec<Connection> {
        lock(&self.inner.conns).values().cloned().collect()
    }

    /// `server.close()` (SRV-21): stops accepting, removes Unix socket files,
    /// destroys idle connections; active ones finish their requests (without the
    /// request timeout checks) and then end by the keep-alive timeout. Use
    /// [`Server::closed`] to wait for the last one; [`Server::on_close`] listeners run
    /// then (handed-over sockets count until dropped).
    pub fn close(&self) {
        self.inner.closing.store(true, Ordering::SeqCst);
        let listeners: Vec<Listener> = lock(&self.inner.listeners).drain(..).collect();
        for l in listeners {
            l.accept.abort();
            if let ListenAddr::Unix(path) = l.addr {
                let _ = std::fs::remove_file(path);
            }
        }
        for c in self.connections() {
            c.server_close();
        }
        self.inner.check_closed();
    }

    /// Resolves when no connection is open, handed-over sockets included (Node's
    /// `'close'` after `close()`).
    pub async fn closed(&self) {
        loop {
            let notified = self.inner.all_closed.notified();
            if self.inner.open_count() == 0 {
                // The last connection may be between leaving the list and running
                // the `'close'` listeners: make sure they ran.
                self.inner.check_closed();
                return;
            }
            notified.await;
        }
    }

    /// `server.closeIdleConnections()` (SRV-23): destroys every connection with no
    /// request in progress and no response unfinished.
    pub fn close_idle_connections(&self) {
        for c in self.connections() {
            c.close_if_idle();
        }
    }

    /// `server.closeAllConnections()` (SRV-22): destroys every connection now.
    pub fn close_all_connections(&self) {
        for c in self.connections() {
            c.destroy();
        }
    }
}

/// Binds a TCP listener as Node does: `SO_REUSEADDR` on Unix, then `listen(backlog)`.
fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Event listeners (SRV-24).
///
/// Listeners that receive the connection's socket or requests (`'checkContinue'`,
/// `'checkExpectation'`, `'upgrade'`, `'connect'`, `'clientError'`, `'dropRequest'`,
/// `'timeout'`, `'connection'`) and `set_timeout` apply to connections accepted
/// **after** the call: register them before [`Server::listen`]. A connection keeps the
/// listeners it was accepted with. Where Node's defaults depend on whether a listener
/// exists (SRV-6, SRV-8, SRV-9, SRV-11, SRV-19) the connection behaves as Node does
/// with or without one. Handlers given a request, a response or a socket that left
/// HTTP return a future that runs on a task of its own (the request handlers' futures
/// are first polled on the connection's task, see [`create_server`]); a
/// second registration replaces the first. The plain callbacks (`Fn(Socket)` and the
/// like) run on the connection's task and must not block; each registration adds one.
impl Server {
    /// `server.on('checkContinue', (req, res) => …)`: requests with
    /// `Expect: 100-continue` go to `handler` instead of the request handler, and no
    /// `100 Continue` is written automatically: call
    /// [`ServerResponse::write_continue`] to get the body, or answer at once (SRV-6,
    /// SRV-7).
    pub fn on_check_continue<H, F>(&self, handler: H) -> &Self
    where
        H: Fn(IncomingMessage, ServerResponse) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        self.inner
            .registry
            .set_check_continue(request_handler(handler));
        self
    }

    /// `server.on('checkExpectation', (req, res) => …)`: requests with an `Expect`
    /// value other than `100-continue` go to `handler` instead of being answered `417`
    /// (SRV-6).
    pub fn on_check_expectation<H, F>(&self, handler: H) -> &Self
    where
        H: Fn(IncomingMessage, ServerResponse) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        self.inner
            .registry
            .set_check_expectation(request_handler(handler));
        self
    }

    /// `server.on('upgrade', (req, socket, head) => …)`: a request with
    /// `Connection: upgrade` and `Upgrade` leaves HTTP (SRV-8). Once the responses
    /// before it are written, `handler` gets the request, the socket and `head`: every
    /// byte already received after the request head. Nothing is written for it: the
    /// handler writes its own `101` (or refusal) on the socket. Without this listener
    /// such a request is an ordinary request (Node v20).
    pub fn on_upgrade<H, F>(&self, handler: H) -> &Self
    where
        H: Fn(IncomingMessage, Upgraded, Bytes) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let h: UpgradeHandler<Upgraded> =
            Arc::new(move |req, io, head| boxed(handler(req, io, head)));
        self.inner.registry.set_upgrade(h);
        self
    }

    /// `server.on('connect', (req, socket, head) => …)`: a `CONNECT` request leaves
    /// HTTP and goes to `handler` like an upgrade (SRV-9). Without this listener the
    /// connection is closed with no bytes written.
    pub fn on_connect<H, F>(&self, handler: H) -> &Self
    where
        H: Fn(IncomingMessage, Upgraded, Bytes) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let h: UpgradeHandler<Upgraded> =
            Arc::new(move |req, io, head| boxed(handler(req, io, head)));
        self.inner.registry.set_connect(h);
        self
    }

    /// `server.on('clientError', (err, socket) => …)`: on a parse error or request
    /// timeout nothing is written and the socket goes to `handler` once the output
    /// before the error is written (SRV-11); it may write a raw reply and close.
    /// Without this listener Node's default reply is sent and the connection closed
    /// (SRV-12).
    pub fn on_client_error<H, F>(&self, handler: H) -> &Self
    where
        H: Fn(ClientErrorEvent, Upgraded) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let h: ClientErrorHandler<Upgraded> = Arc::new(move |err, io| boxed(handler(err, io)));
        self.inner.registry.set_client_error(h);
        self
    }

    /// `server.on('dropRequest', (req, socket) => …)`: a request over
    /// `maxRequestsPerSocket`, already answered `503` (SRV-5). Runs on the connection's
    /// task; dropping `req` discards its body.
    pub fn on_drop_request(
        &self,
        listener: impl Fn(IncomingMessage, Socket) + Send + Sync + 'static,
    ) -> &Self {
        self.inner.registry.set_drop_request(Arc::new(listener));
        self
    }

    /// `server.on('timeout', socket => …)`: socket inactivity (SRV-19). With this
    /// listener an expired socket is no longer destroyed: the listener decides
    /// (for example [`Socket::destroy`]). That includes idle keep-alive connections.
    pub fn on_timeout(&self, listener: impl Fn(Socket) + Send + Sync + 'static) -> &Self {
        self.inner.registry.add_timeout(Arc::new(listener));
        self
    }

    /// `server.setTimeout(ms, cb)` (SRV-20): the inactivity timeout of new connections
    /// (zero turns it off) and a `'timeout'` listener, as [`Server::on_timeout`].
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

    /// `server.on('close', …)`: after [`Server::close`], once the last connection
    /// (handed-over sockets included) is gone (SRV-21). Runs once, on the task that
    /// closed the last connection, or within `close()` when nothing was open.
    pub fn on_close(&self, listener: impl Fn() + Send + Sync + 'static) -> &Self {
        self.inner.registry.add_close(Arc::new(listener));
        self
    }

    /// `server.on('error', err => …)`: an accept failed (for example `EMFILE`); the
    /// server goes on accepting. A second registration replaces the first.
    pub fn on_error(&self, listener: impl Fn(io::Error) + Send + Sync + 'static) -> &Self {
        self.inner.registry.set_error(Arc::new(listener));
        self
    }
}
