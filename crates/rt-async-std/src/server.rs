//! `http.createServer` over async-io: accept loops and connections on the
//! application's executor.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

use courier_net::{bind_listener, listen_first};
use courier_rt::drive::{AsyncServer, RequestFn, Runtime, accept_loop};
pub use courier_rt::serving::ListenAddr;
use courier_rt::{ConfigError, ServerOptions};

use crate::rt::{AsyncRt, Spawn};
use crate::stream::{AsyncSocket, Served, Upgraded};

/// Node's default `backlog` for `server.listen`.
pub const DEFAULT_BACKLOG: i32 = 511;

/// `http.createServer(options, requestListener)` on smol's global executor: see
/// [`create_server_with`].
///
/// ```no_run
/// use courier_rt_async_std::{ServerOptions, create_server};
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
#[cfg(feature = "smol")]
pub fn create_server<H, F>(options: ServerOptions, handler: H) -> Result<Server, ConfigError>
where
    H: RequestFn<F>,
    F: Future<Output = ()> + Send + 'static,
{
    create_server_on(options, AsyncRt::smol(), handler)
}

/// `http.createServer(options, requestListener)`: a server that calls `handler` for
/// every request (Node's `'request'` event), its connections and waiting handlers
/// spawned with `spawner`. The handler's future is first polled on the connection's
/// task; if it does not complete there it continues on a task of its own. A
/// panicking handler is reported by the panic hook and its response dropped (the
/// connection is destroyed).
///
/// Fails as Node's constructor does on invalid options (SRV-1).
///
/// ```no_run
/// use courier_rt_async_std::{ServerOptions, create_server_with};
///
/// let server = create_server_with(
///     ServerOptions::default(),
///     |f| smol::spawn(f).detach(),
///     |_req, mut res| async move {
///         let _ = res.end(Some("hi".into())).await;
///     },
/// )
/// .expect("valid options");
/// # drop(server);
/// ```
pub fn create_server_with<S, H, F>(
    options: ServerOptions,
    spawner: S,
    handler: H,
) -> Result<Server, ConfigError>
where
    S: Spawn,
    H: RequestFn<F>,
    F: Future<Output = ()> + Send + 'static,
{
    create_server_on(options, AsyncRt::new(Arc::new(spawner)), handler)
}

fn create_server_on<H, F>(
    options: ServerOptions,
    rt: AsyncRt,
    handler: H,
) -> Result<Server, ConfigError>
where
    H: RequestFn<F>,
    F: Future<Output = ()> + Send + 'static,
{
    Ok(Server {
        inner: Arc::new(Inner(AsyncServer::new(options, rt, handler)?)),
    })
}

/// A listening (or not yet listening) HTTP server. Cloning gives another handle to
/// the same server.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

courier_rt::server_debug!(Server);

/// Stops an accept loop: set, then wake it.
#[derive(Default)]
struct Stop {
    stopped: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Stop {
    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        if let Some(w) = lock(&self.waker).take() {
            w.wake();
        }
    }

    async fn stopped(&self) {
        core::future::poll_fn(|cx| {
            *lock(&self.waker) = Some(cx.waker().clone());
            if self.stopped.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

/// The shared server core, and the accept loops it starts.
pub(crate) struct Inner(AsyncServer<AsyncRt, Upgraded>);

impl core::ops::Deref for Inner {
    type Target = AsyncServer<AsyncRt, Upgraded>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    /// Registers an accepted stream, emits `'connection'` and spawns its I/O loop.
    fn serve_socket(&self, io: AsyncSocket, remote: Option<SocketAddr>, local: Option<SocketAddr>) {
        self.serve(Served::new(io), remote, local, |io, remote, local, open| {
            Upgraded::new(io.into_socket(), remote, local, open)
        });
    }

    fn tune(&self, stream: &async_net::TcpStream) {
        courier_net::set_server_options(stream.into(), &self.options);
    }

    /// Listens on `addr`, accepting with `accept` until `close()`.
    fn listen<A, Fut>(self: &Arc<Self>, addr: ListenAddr, accept: A)
    where
        A: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<(AsyncSocket, Option<SocketAddr>)>> + Send,
    {
        self.state.listen(self.rt.now(), addr, || {
            let stop = Arc::new(Stop::default());
            self.spawn_accept(Arc::clone(&stop), accept);
            move || stop.stop()
        });
    }

    /// Accepts with `accept` until `stop`; an accept error is Node's `'error'` on
    /// the server, which goes on accepting (a short pause keeps a persistent failure,
    /// `EMFILE`, from spinning).
    fn spawn_accept<A, Fut>(self: &Arc<Self>, stop: Arc<Stop>, accept: A)
    where
        A: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<(AsyncSocket, Option<SocketAddr>)>> + Send,
    {
        let inner = Arc::clone(self);
        let rt = self.rt.clone();
        self.rt.spawn(async move {
            accept_loop(
                &rt,
                || {
                    futures_lite::future::or(async { Some(accept().await) }, async {
                        stop.stopped().await;
                        None
                    })
                },
                |(stream, remote)| {
                    if let AsyncSocket::Tcp(s) = &stream {
                        inner.tune(s);
                    }
                    let local = stream.local_addr();
                    inner.serve_socket(stream, remote, local);
                },
                |e| inner.state.registry().emit_error(e),
            )
            .await;
        });
    }
}

impl Server {
    /// `server.listen(port, host)`: binds `addr` (`"127.0.0.1:0"` picks a free port)
    /// with Node's backlog of 511 and starts accepting. Returns the bound address.
    pub async fn listen(&self, addr: impl async_net::AsyncToSocketAddrs) -> io::Result<SocketAddr> {
        self.listen_with_backlog(addr, DEFAULT_BACKLOG).await
    }

    /// `server.listen({ port, host, backlog })`.
    pub async fn listen_with_backlog(
        &self,
        addr: impl async_net::AsyncToSocketAddrs,
        backlog: i32,
    ) -> io::Result<SocketAddr> {
        let addrs = async_net::resolve(addr).await?;
        let listener = listen_first(addrs, |a| bind_listener(a, backlog, true))?;
        self.listen_on(listener.try_into()?)
    }

    /// `server.listen(handle)`: accepts on an already bound listener.
    pub fn listen_on(&self, listener: async_net::TcpListener) -> io::Result<SocketAddr> {
        let addr = listener.local_addr()?;
        self.inner.listen(ListenAddr::Tcp(addr), move || {
            let listener = listener.clone();
            async move {
                let (s, remote) = listener.accept().await?;
                Ok((AsyncSocket::Tcp(s), Some(remote)))
            }
        });
        Ok(addr)
    }

    /// `server.listen(path)`: listens on a Unix socket. As in Node, an existing file
    /// at `path` makes this fail (`EADDRINUSE`); [`Server::close`] removes the file.
    #[cfg(unix)]
    pub fn listen_unix(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref().to_path_buf();
        let listener = async_net::unix::UnixListener::bind(&path)?;
        self.inner.listen(ListenAddr::Unix(path), move || {
            let listener = listener.clone();
            async move {
                let (s, _) = listener.accept().await?;
                Ok((AsyncSocket::Unix(s), None))
            }
        });
        Ok(())
    }
}

courier_rt::async_server_impl!(Server, AsyncRt, Upgraded);
