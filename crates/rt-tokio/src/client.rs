//! `http.request` / `http.get` over tokio: sockets, the connector and the client's
//! I/O loop. Every HTTP decision is proto's; the request, response and agent handles
//! are `courier-rt`'s.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;

use courier_rt::client::sys::sys_error;
use courier_rt::client::{
    ClientError, ClientOptions, ClientOptionsError, ClientRequest, ClientRuntime, ConnectFuture,
    ConnectTarget, ConnectTask, Connector, Transport,
};
use courier_rt::drive::{Runtime, drive_client_connection};
use tokio::net::{TcpSocket, TcpStream};

use crate::drive::Tokio;
use crate::upgraded::RawStream;

/// The clock the client reads: tokio's, so that `tokio::time::pause` drives it.
///
/// The client reads the clock at every call, in its I/O loop too ([`Tokio::clock`]),
/// not the server loop's cached loop time: the client loop re-reads the time after a
/// timer fires and handles a deadline only once that reading has reached it, which a
/// cached reading would turn into up to 16 idle turns of the loop.
fn now() -> Instant {
    Tokio::clock().now()
}

/// `http.request(options)` (CLI-1 … CLI-7): a request bound to its agent's socket at
/// once or when one frees up. Fails as Node's synchronous throws do (an invalid URL,
/// protocol, path, method, header, family, local address). Must be called within a
/// tokio runtime.
///
/// ```no_run
/// use courier_rt_tokio::client::request;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let mut req = request("http://127.0.0.1:8080/upload")?;
/// req.set_header("Content-Type", "text/plain")?;
/// req.write("hello ").await?;
/// req.end(Some("world".into()))?;
/// let mut res = req.response().await?;
/// println!("{} {:?}", res.status_code(), res.read_body().await?);
/// # Ok(())
/// # }
/// ```
pub fn request(options: impl Into<ClientOptions>) -> Result<ClientRequest, ClientOptionsError> {
    ClientRequest::new(options, runtime())
}

/// `http.get(options)`: [`request`] with the request ended at once (CLI-1).
pub fn get(options: impl Into<ClientOptions>) -> Result<ClientRequest, ClientOptionsError> {
    ClientRequest::get(options, runtime())
}

fn runtime() -> Arc<dyn ClientRuntime> {
    static RT: OnceLock<Arc<TokioRuntime>> = OnceLock::new();
    RT.get_or_init(|| Arc::new(TokioRuntime)).clone()
}

/// The client core's runtime hooks on tokio: tokio's clock, one task per connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioRuntime;

impl ClientRuntime for TokioRuntime {
    fn now(&self) -> Instant {
        now()
    }

    fn open(&self, task: ConnectTask) {
        // Outside a runtime (one shutting down) the task is dropped, which fails it.
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        handle.spawn(async move {
            let connector = task.connector().unwrap_or_else(|| Arc::new(TokioConnector));
            let target = task.target().clone();
            match connector.connect(&target).await {
                Ok(io) => {
                    if let Some(conn) = task.connected(now()) {
                        drive_client_connection(io, conn, Tokio::clock()).await;
                    }
                }
                Err(e) => task.failed(e),
            }
        });
    }
}

pub use courier_rt::client::sys::error_code;

/// A client socket: TCP or a Unix socket (the same stream type the server hands
/// over).
pub type TokioSocket = RawStream;

/// Node's `net.createConnection` on tokio: resolves the host (keeping only the
/// `family` asked for), binds `localAddress` when given, connects to each address in
/// turn, then sets `noDelay` and TCP keep-alive as the agent asks (AGT-5). With
/// `socketPath` it connects to that Unix socket. Errors carry Node's codes and
/// messages (`connect ECONNREFUSED 127.0.0.1:1`, `getaddrinfo ENOTFOUND host`,
/// `connect ENOENT /path`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioConnector;

impl TokioConnector {
    /// Opens the socket for `target`.
    pub async fn connect_socket(target: &ConnectTarget) -> Result<TokioSocket, ClientError> {
        #[cfg(unix)]
        let unix = |path: &str| {
            let connect = tokio::net::UnixStream::connect(path.to_owned());
            async move { connect.await.map(TokioSocket::Unix) }
        };
        #[cfg(not(unix))]
        let unix = courier_net::no_unix;
        courier_net::connect_target(
            target,
            unix,
            |host, port| tokio::net::lookup_host((host.to_owned(), port)),
            |addr| async move {
                let s = Self::connect_addr(addr, target).await?;
                courier_net::set_client_options((&s).into(), target);
                Ok(TokioSocket::Tcp(s))
            },
        )
        .await
    }

    async fn connect_addr(
        addr: SocketAddr,
        target: &ConnectTarget,
    ) -> Result<TcpStream, ClientError> {
        let detail = courier_net::connect_detail(addr);
        let err = |e: io::Error| sys_error("connect", &e, &detail);
        let sock = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(err)?;
        if let Some(local) = target.local_address {
            sock.bind(SocketAddr::new(local, 0))
                .map_err(|e| sys_error("bind", &e, &local.to_string()))?;
        }
        sock.connect(addr).await.map_err(err)
    }
}

impl Connector for TokioConnector {
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture {
        let target = target.clone();
        Box::pin(async move {
            let s = Self::connect_socket(&target).await?;
            Ok(Box::new(ClientSocket(s)) as Box<dyn Transport>)
        })
    }
}

/// The socket of a connection [`TokioConnector`] opened. Reads go through tokio's
/// `read_buf` into the receive buffer's spare capacity (as the server's do), which
/// forgets the socket's readiness after a short read: the loop's next look at an
/// idle pooled socket (AGT-9) then waits for the reactor instead of trying a read
/// that would block (`try_read` keeps the readiness until a read fails with
/// `EAGAIN`, one wasted system call per response).
struct ClientSocket(TokioSocket);

impl Transport for ClientSocket {
    fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Transport::poll_read_ready(&mut self.0, cx)
    }

    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        Transport::poll_read_buf(&mut self.0, cx, buf)
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Transport::poll_write(&mut self.0, cx, buf)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Transport::poll_write_vectored(&mut self.0, cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Transport::poll_flush(&mut self.0, cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Transport::poll_shutdown(&mut self.0, cx)
    }

    fn set_no_delay(&self, on: bool) -> io::Result<()> {
        Transport::set_no_delay(&self.0, on)
    }

    fn set_keep_alive(&self, enable: bool, initial_delay: Duration) -> io::Result<()> {
        Transport::set_keep_alive(&self.0, enable, initial_delay)
    }
}
