//! `http.createServer` on std::net: accept loops on threads of their own, one thread
//! per connection from a bounded pool.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, ToSocketAddrs};
#[cfg(unix)]
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use courier_net::{bind_listener, listen_first};
use courier_rt::registry::Route;
pub use courier_rt::serving::ListenAddr;
use courier_rt::serving::ServerState;
use courier_rt::{ClientErrorEvent, ConfigError, Connection, Handover, ServerOptions};

use crate::conn::serve;
use crate::io::{Stream, block_on, lock};
use crate::message::{BlockingRequest, BlockingResponse};
use crate::upgraded::Upgraded;

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
            state: Arc::new(State::new(Registry::new(base, handler))),
            options,
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

/// The server's state shared with the async adapters (`courier-rt`'s).
type State = ServerState<Handler, UpgradeHandler, ClientErrorHandler>;

pub(crate) struct Inner {
    state: Arc<State>,
    options: ServerOptions,
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
    fn registry(&self) -> &Registry {
        self.state.registry()
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
        let handlers = self.registry().snapshot();
        let now = Instant::now();
        let conn = Connection::new(Arc::clone(handlers.config()), now, self.state.origin(now));
        conn.set_addresses(stream.peer_addr(), stream.local_addr());
        // `closeAllConnections()` shuts the socket down, so that a read blocked on
        // the connection's thread returns.
        let key = match stream.try_clone() {
            Ok(s) => self.state.add_connection_with_abort(
                conn.clone(),
                Arc::new(move || {
                    let _ = s.shutdown(Shutdown::Both);
                }),
            ),
            Err(_) => self.state.add_connection(conn.clone()),
        };
        handlers.emit_connection(&conn.socket());
        let state = Arc::clone(&self.state);
        let spawned = std::thread::Builder::new()
            .name("courier-conn".into())
            .spawn(move || {
                let _slot = slot;
                let handover = serve(stream, conn, Arc::clone(&handlers));
                let app =
                    handover.map(|(h, s)| (h, Upgraded::handed_over(s, state.handover_guard())));
                state.remove_connection(key);
                if let Some((h, upgraded)) = app {
                    hand_over(&handlers, h, upgraded);
                }
            });
        if let Err(e) = spawned {
            self.state.remove_connection(key);
            self.registry().emit_error(e);
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
                    self.registry().emit_error(e);
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    /// Starts an accept loop on a thread of its own; `close()` stops it: sets
    /// `stop`, shuts the listening socket down (`waker`, a clone of it) so that the
    /// blocked accept returns, and joins the thread.
    fn start_accepting(
        self: &Arc<Self>,
        addr: ListenAddr,
        waker: socket2::Socket,
        accept: impl FnMut() -> io::Result<Stream> + Send + 'static,
    ) -> io::Result<()> {
        let stop = Arc::new(AtomicBool::new(false));
        let inner = Arc::clone(self);
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("courier-accept".into())
            .spawn(move || inner.accept_loop(&stop2, accept))?;
        let inner = Arc::clone(self);
        self.state.listen(Instant::now(), addr, move || {
            move || {
                stop.store(true, Ordering::SeqCst);
                let _ = waker.shutdown(Shutdown::Both);
                inner.slot_freed.notify_all();
                // Not from the accept thread itself (a `'connection'` listener).
                if thread.thread().id() != std::thread::current().id() {
                    let _ = thread.join();
                }
            }
        });
        Ok(())
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
        let waker = socket2::Socket::from(listener.try_clone()?);
        let inner = Arc::clone(&self.inner);
        self.inner
            .start_accepting(ListenAddr::Tcp(addr), waker, move || {
                let (stream, _) = listener.accept()?;
                inner.tune(&stream);
                Ok(Stream::Tcp(stream))
            })?;
        Ok(addr)
    }

    /// `server.listen(path)`: listens on a Unix socket. As in Node, an existing file
    /// at `path` makes this fail (`EADDRINUSE`); [`Server::close`] removes the file.
    #[cfg(unix)]
    pub fn listen_unix(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref().to_path_buf();
        let listener = UnixListener::bind(&path)?;
        let waker = socket2::Socket::from(std::os::fd::OwnedFd::from(listener.try_clone()?));
        self.inner
            .start_accepting(ListenAddr::Unix(path), waker, move || {
                Ok(Stream::Unix(listener.accept()?.0))
            })
    }

    /// `server.address()` for the first TCP listener.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.inner.state.local_addr()
    }

    /// Every address the server listens on.
    pub fn addresses(&self) -> Vec<ListenAddr> {
        self.inner.state.addresses()
    }

    /// `server.listening`.
    pub fn listening(&self) -> bool {
        self.inner.state.listening()
    }

    /// Open connections, handed-over sockets ([`Upgraded`]) included.
    pub fn connection_count(&self) -> usize {
        self.inner.state.open_count()
    }

    /// `server.close()` (SRV-21): stops accepting (the accept threads end before it
    /// returns), removes Unix socket files, destroys idle connections; active ones
    /// finish their requests (without the request timeout checks) and then end by
    /// the keep-alive timeout. [`Server::closed`] / [`Server::wait`] block until the
    /// last one is gone; [`Server::on_close`] listeners run then.
    pub fn close(&self) {
        self.inner.state.close();
    }

    /// Blocks until no connection is open, handed-over sockets included (and the
    /// `'close'` listeners ran, if [`Server::close`] was called).
    pub fn closed(&self) {
        block_on(core::future::poll_fn(|cx| self.inner.state.poll_closed(cx)));
    }

    /// Blocks until the server was closed ([`Server::close`], from any thread or a
    /// handler) and its last connection is gone: what a program's `main` calls
    /// after listening.
    pub fn wait(&self) {
        block_on(core::future::poll_fn(|cx| {
            self.inner.state.poll_shut_down(cx)
        }));
    }

    /// `server.closeIdleConnections()` (SRV-23).
    pub fn close_idle_connections(&self) {
        self.inner.state.close_idle_connections();
    }

    /// `server.closeAllConnections()` (SRV-22): destroys every connection now (its
    /// socket is shut down first, so that a thread blocked on it returns).
    pub fn close_all_connections(&self) {
        self.inner.state.close_all_connections();
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
        self.registry().set_check_continue(Arc::new(handler));
        self
    }

    /// `server.on('checkExpectation', (req, res) => …)` (SRV-6): no automatic 417.
    pub fn on_check_expectation(
        &self,
        handler: impl Fn(BlockingRequest, BlockingResponse) + Send + Sync + 'static,
    ) -> &Self {
        self.registry().set_check_expectation(Arc::new(handler));
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
        self.registry().set_upgrade(Arc::new(handler));
        self
    }

    /// `server.on('connect', (req, socket, head) => …)` (SRV-9). Without this
    /// listener the connection is closed with no bytes written.
    pub fn on_connect(
        &self,
        handler: impl Fn(BlockingRequest, Upgraded, Bytes) + Send + Sync + 'static,
    ) -> &Self {
        self.registry().set_connect(Arc::new(handler));
        self
    }

    /// `server.on('clientError', (err, socket) => …)` (SRV-11): nothing is written
    /// and the socket goes to `handler`. Without it Node's default reply is sent
    /// (SRV-12).
    pub fn on_client_error(
        &self,
        handler: impl Fn(ClientErrorEvent, Upgraded) + Send + Sync + 'static,
    ) -> &Self {
        self.registry().set_client_error(Arc::new(handler));
        self
    }

    fn registry(&self) -> &Registry {
        self.inner.registry()
    }

    courier_rt::plain_listener_methods!();
}
