//! `http.createServer` over tokio.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use courier_proto::server::ServerConfig;
use courier_rt::{ConfigError, Connection, IncomingMessage, ServerOptions, ServerResponse};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::drive::{Transport, boxed, drive};

/// The application's request handler, boxed.
pub(crate) type Handler = Arc<
    dyn Fn(IncomingMessage, ServerResponse) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// Node's default `backlog` for `server.listen`.
pub const DEFAULT_BACKLOG: u32 = 511;

/// `http.createServer(options, requestListener)`: a server that calls `handler` for
/// every request (Node's `'request'` event), each call on a task of its own.
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
    let config = Arc::new(options.to_config()?);
    let handler: Handler = Arc::new(move |req, res| boxed(handler(req, res)));
    Ok(Server {
        inner: Arc::new(Inner {
            config,
            options,
            handler,
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

struct Inner {
    config: Arc<ServerConfig>,
    options: ServerOptions,
    handler: Handler,
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
        *lock(&self.origin).get_or_insert_with(|| tokio::time::Instant::now().into_std())
    }

    /// Registers an accepted stream and spawns its I/O loop.
    fn serve<T: Transport>(self: &Arc<Self>, io: T) {
        let now = tokio::time::Instant::now().into_std();
        let conn = Connection::new(Arc::clone(&self.config), now, self.origin());
        let key = self.next_conn.fetch_add(1, Ordering::Relaxed);
        lock(&self.conns).insert(key, conn.clone());
        let this = Arc::clone(self);
        let handler = Arc::clone(&self.handler);
        tokio::spawn(async move {
            drive(io, conn, handler).await;
            let mut conns = lock(&this.conns);
            conns.remove(&key);
            if conns.is_empty() {
                this.all_closed.notify_waiters();
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
                    Ok((stream, _)) => {
                        inner.tune(&stream);
                        inner.serve(stream);
                    }
                    // Node retries after EMFILE and friends; a short pause keeps a
                    // persistent failure from spinning.
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
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
                    Ok((stream, _)) => inner.serve(stream),
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
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

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        lock(&self.inner.conns).len()
    }

    fn connections(&self) -> Vec<Connection> {
        lock(&self.inner.conns).values().cloned().collect()
    }

    /// `server.close()` (SRV-21): stops accepting, removes Unix socket files,
    /// destroys idle connections; active ones finish their requests (without the
    /// request timeout checks) and then end by the keep-alive timeout. Use
    /// [`Server::closed`] to wait for the last one.
    pub fn close(&self) {
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
    }

    /// Resolves when no connection is open (Node's `'close'` after `close()`).
    pub async fn closed(&self) {
        loop {
            let notified = self.inner.all_closed.notified();
            if lock(&self.inner.conns).is_empty() {
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
