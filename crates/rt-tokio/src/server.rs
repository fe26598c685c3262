//! `http.createServer` over tokio.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::path::Path;
use std::sync::Arc;

use courier_net::{bind_listener, listen_first};
use courier_rt::drive::{AsyncServer, RequestFn, Runtime, accept_loop};
pub use courier_rt::serving::ListenAddr;
use courier_rt::{ConfigError, ServerOptions};
use tokio::net::TcpListener;

use crate::drive::Tokio;
use crate::upgraded::{RawStream, Upgraded};

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
    H: RequestFn<F>,
    F: Future<Output = ()> + Send + 'static,
{
    Ok(Server {
        inner: Arc::new(AsyncServer::new(options, Tokio::loop_time(), handler)?),
    })
}

/// A listening (or not yet listening) HTTP server. Cloning gives another handle to
/// the same server.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

courier_rt::server_debug!(Server);

pub(crate) type Inner = AsyncServer<Tokio, Upgraded>;

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
        // As tokio's `TcpSocket::listen`, a backlog over `i32::MAX` is refused.
        let backlog = i32::try_from(backlog).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "listen size exceeds i32::MAX")
        })?;
        let addrs = tokio::net::lookup_host(addr).await?;
        let listener = listen_first(addrs, |a| bind_listener(a, backlog, true))?;
        self.listen_on(TcpListener::from_std(listener)?)
    }

    /// `server.listen(handle)`: accepts on an already bound listener.
    pub fn listen_on(&self, listener: TcpListener) -> io::Result<SocketAddr> {
        let addr = listener.local_addr()?;
        let inner = Arc::clone(&self.inner);
        self.inner
            .state
            .listen(Tokio::clock().now(), ListenAddr::Tcp(addr), || {
                let accept = tokio::spawn(async move {
                    accept_loop(
                        &Tokio::clock(),
                        || async { Some(listener.accept().await) },
                        |(stream, remote)| {
                            courier_net::set_server_options((&stream).into(), &inner.options);
                            let local = stream.local_addr().ok();
                            inner.serve(RawStream::Tcp(stream), Some(remote), local, Upgraded::new);
                        },
                        |e| inner.state.registry().emit_error(e),
                    )
                    .await;
                });
                move || accept.abort()
            });
        Ok(addr)
    }

    /// `server.listen(path)`: listens on a Unix socket. As in Node, an existing file
    /// at `path` makes this fail (`EADDRINUSE`); [`Server::close`] removes the file.
    #[cfg(unix)]
    pub fn listen_unix(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref().to_path_buf();
        let listener = tokio::net::UnixListener::bind(&path)?;
        let inner = Arc::clone(&self.inner);
        self.inner
            .state
            .listen(Tokio::clock().now(), ListenAddr::Unix(path), || {
                let accept = tokio::spawn(async move {
                    accept_loop(
                        &Tokio::clock(),
                        || async { Some(listener.accept().await) },
                        |(stream, _)| {
                            inner.serve(RawStream::Unix(stream), None, None, Upgraded::new)
                        },
                        |e| inner.state.registry().emit_error(e),
                    )
                    .await;
                });
                move || accept.abort()
            });
        Ok(())
    }
}

courier_rt::async_server_impl!(Server, Tokio, Upgraded);
