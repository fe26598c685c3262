//! `http.request` / `http.get` over async-io: the connector and the client's
//! runtime hooks. Every HTTP decision is proto's; the request, response and agent
//! handles are `courier-rt`'s, the I/O loop is [`courier_rt::drive`]'s.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use async_io::Async;
use courier_rt::client::sys::sys_error;
use courier_rt::client::{
    ClientError, ClientOptions, ClientOptionsError, ClientRequest, ClientRuntime, ConnectFuture,
    ConnectTarget, ConnectTask, Connector, Transport,
};
use courier_rt::drive::{Runtime, drive_client_connection};

use crate::rt::{AsyncRt, Spawn};
use crate::stream::AsyncSocket;

pub use courier_rt::client::sys::error_code;

/// `http.request(options)` (CLI-1 … CLI-7) with connections on smol's global
/// executor: see [`Client::request`].
///
/// ```no_run
/// use courier_rt_async_std::client::request;
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
#[cfg(feature = "smol")]
pub fn request(options: impl Into<ClientOptions>) -> Result<ClientRequest, ClientOptionsError> {
    Client::smol().request(options)
}

/// `http.get(options)`: [`request`] with the request ended at once (CLI-1).
#[cfg(feature = "smol")]
pub fn get(options: impl Into<ClientOptions>) -> Result<ClientRequest, ClientOptionsError> {
    Client::smol().get(options)
}

/// The client on an executor of the application's choosing: its connections run
/// on tasks spawned with the [`Spawn`] it was made with.
#[derive(Clone)]
pub struct Client {
    runtime: Arc<AsyncClientRuntime>,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// A client spawning its connections with `spawner`.
    pub fn new(spawner: impl Spawn) -> Self {
        Self::on(AsyncRt::new(Arc::new(spawner)))
    }

    fn on(rt: AsyncRt) -> Self {
        Self {
            runtime: Arc::new(AsyncClientRuntime { rt }),
        }
    }

    /// The client on smol's global executor.
    #[cfg(feature = "smol")]
    pub fn smol() -> Self {
        static C: std::sync::OnceLock<Client> = std::sync::OnceLock::new();
        C.get_or_init(|| Self::on(AsyncRt::smol())).clone()
    }

    /// `http.request(options)`: a request bound to its agent's socket at once or when
    /// one frees up. Fails as Node's synchronous throws do (an invalid URL,
    /// protocol, path, method, header, family, local address).
    pub fn request(
        &self,
        options: impl Into<ClientOptions>,
    ) -> Result<ClientRequest, ClientOptionsError> {
        ClientRequest::new(options, self.runtime.clone())
    }

    /// `http.get(options)`: [`Client::request`] with the request ended at once.
    pub fn get(
        &self,
        options: impl Into<ClientOptions>,
    ) -> Result<ClientRequest, ClientOptionsError> {
        ClientRequest::get(options, self.runtime.clone())
    }
}

/// The client core's runtime hooks: the system clock, one task per connection.
struct AsyncClientRuntime {
    rt: AsyncRt,
}

impl ClientRuntime for AsyncClientRuntime {
    fn now(&self) -> Instant {
        self.rt.now()
    }

    fn open(&self, task: ConnectTask) {
        let rt = self.rt.clone();
        self.rt.spawn(async move {
            let connector = task.connector().unwrap_or_else(|| Arc::new(AsyncConnector));
            let target = task.target().clone();
            match connector.connect(&target).await {
                Ok(io) => {
                    if let Some(conn) = task.connected(rt.now()) {
                        drive_client_connection(io, conn, rt).await;
                    }
                }
                Err(e) => task.failed(e),
            }
        });
    }
}

/// Node's `net.createConnection` on async-net: resolves the host (on async-net's
/// blocking pool, keeping only the `family` asked for), binds `localAddress` when
/// given, connects to each address in turn, then sets `noDelay` and TCP keep-alive
/// as the agent asks (AGT-5). With `socketPath` it connects to that Unix socket.
/// Errors carry Node's codes and messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncConnector;

impl AsyncConnector {
    /// Opens the socket for `target`.
    pub async fn connect_socket(target: &ConnectTarget) -> Result<AsyncSocket, ClientError> {
        #[cfg(unix)]
        let unix = |path: &str| {
            let connect = async_net::unix::UnixStream::connect(path.to_owned());
            async move { connect.await.map(AsyncSocket::Unix) }
        };
        #[cfg(not(unix))]
        let unix = courier_net::no_unix;
        courier_net::connect_target(
            target,
            unix,
            |host, port| async_net::resolve((host.to_owned(), port)),
            |addr| async move {
                let s = Self::connect_addr(addr, target.local_address).await?;
                courier_net::set_client_options((&s).into(), target);
                Ok(AsyncSocket::Tcp(s))
            },
        )
        .await
    }

    async fn connect_addr(
        addr: SocketAddr,
        local: Option<IpAddr>,
    ) -> Result<async_net::TcpStream, ClientError> {
        let detail = courier_net::connect_detail(addr);
        let err = |e: io::Error| sys_error("connect", &e, &detail);
        let Some(local) = local else {
            return async_net::TcpStream::connect(addr).await.map_err(err);
        };
        use socket2::{Domain, Protocol, Socket, Type};
        let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(err)?;
        sock.bind(&SocketAddr::new(local, 0).into())
            .map_err(|e| sys_error("bind", &e, &local.to_string()))?;
        sock.set_nonblocking(true).map_err(err)?;
        match sock.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if in_progress(&e) => {}
            Err(e) => return Err(err(e)),
        }
        let stream = Async::new(std::net::TcpStream::from(sock)).map_err(err)?;
        stream.writable().await.map_err(err)?;
        if let Some(e) = stream.get_ref().take_error().map_err(err)? {
            return Err(err(e));
        }
        Ok(stream.into())
    }
}

/// A non-blocking connect that has started (`EINPROGRESS`).
fn in_progress(e: &io::Error) -> bool {
    #[cfg(target_os = "linux")]
    const EINPROGRESS: i32 = 115;
    #[cfg(not(target_os = "linux"))]
    const EINPROGRESS: i32 = 36;
    e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(EINPROGRESS)
}

impl Connector for AsyncConnector {
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture {
        let target = target.clone();
        Box::pin(async move {
            let s = Self::connect_socket(&target).await?;
            Ok(Box::new(s) as Box<dyn Transport>)
        })
    }
}
