//! The socket logic courier's runtime adapters share: Node's TCP options on a
//! [`socket2::SockRef`] (any std, tokio or async-net socket lends one), the
//! listening socket with a backlog, and the connect policy (the addresses of a
//! target, each tried in turn).
//!
//! Runtime-neutral: the adapters bring their own resolver and connect, as closures
//! returning futures; this crate only decides what to try and in what order.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use courier_rt::ServerOptions;
use courier_rt::client::sys::{filter_resolved, literal_addr, not_found, sys_error};
use courier_rt::client::{ClientError, ConnectTarget};
use socket2::{Domain, Protocol, SockRef, Socket, Type};

/// `setKeepAlive(enable, initialDelay)` on a TCP socket: keep-alive on with Node's
/// initial delay (zero keeps the system's), or off.
pub fn set_keep_alive(sock: SockRef<'_>, enable: bool, initial_delay: Duration) -> io::Result<()> {
    if !enable {
        return sock.set_keepalive(false);
    }
    let mut ka = socket2::TcpKeepalive::new();
    if !initial_delay.is_zero() {
        ka = ka.with_time(initial_delay);
    }
    sock.set_tcp_keepalive(&ka)
}

/// The options an agent asks of a freshly connected client socket (AGT-5):
/// `noDelay`, then TCP keep-alive with its initial delay. Like Node, a failure to
/// set either is ignored.
pub fn set_client_options(sock: SockRef<'_>, target: &ConnectTarget) {
    if target.no_delay {
        let _ = sock.set_tcp_nodelay(true);
    }
    if let Some(d) = target.keep_alive {
        let _ = set_keep_alive(sock, true, d);
    }
}

/// The options a server sets on each accepted TCP connection: `noDelay`, and
/// keep-alive with its initial delay when `keepAlive` is on. Best effort, as in
/// Node: a failure is not reported.
pub fn set_server_options(sock: SockRef<'_>, options: &ServerOptions) {
    let _ = sock.set_tcp_nodelay(options.no_delay);
    if options.keep_alive {
        let _ = set_keep_alive(sock, true, options.keep_alive_initial_delay);
    }
}

/// A listening TCP socket on `addr` as Node binds one: `SO_REUSEADDR` on Unix, then
/// `listen(backlog)`; non-blocking when asked (for an async runtime's reactor).
pub fn bind_listener(addr: SocketAddr, backlog: i32, nonblocking: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    if nonblocking {
        socket.set_nonblocking(true)?;
    }
    Ok(socket.into())
}

/// `server.listen(...)` over the resolved addresses: the first one `listen`
/// succeeds on, else the last error (`InvalidInput` when there was no address).
pub fn listen_first<T>(
    addrs: impl IntoIterator<Item = SocketAddr>,
    mut listen: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addrs {
        match listen(a) {
            Ok(listening) => return Ok(listening),
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to listen on")))
}

/// Node's `net.createConnection` policy. With `socketPath`, `unix` connects to
/// that Unix socket (`connect ENOTSUP path` where there are none). Otherwise an IP
/// address is used as it is (Node ignores `family` for it); a name is resolved by
/// `resolve` and filtered by `family` and by the local address's family
/// (`getaddrinfo ENOTFOUND host` when resolution fails or nothing is left). Then
/// `tcp` tries each address in turn: the first socket it opens, else the last
/// error. Errors carry Node's codes and messages.
pub async fn connect_target<T, I, U, R, C>(
    target: &ConnectTarget,
    unix: impl FnOnce(&str) -> U,
    resolve: impl FnOnce(&str, u16) -> R,
    mut tcp: impl FnMut(SocketAddr) -> C,
) -> Result<T, ClientError>
where
    I: IntoIterator<Item = SocketAddr>,
    U: Future<Output = io::Result<T>>,
    R: Future<Output = io::Result<I>>,
    C: Future<Output = Result<T, ClientError>>,
{
    if let Some(path) = &target.socket_path {
        if cfg!(unix) {
            return unix(path).await.map_err(|e| sys_error("connect", &e, path));
        }
        return Err(ClientError::io(
            "ENOTSUP",
            &format!("connect ENOTSUP {path}"),
        ));
    }
    let addrs: Vec<SocketAddr> = match literal_addr(target) {
        Some(addr) => vec![addr],
        None => {
            let host = target.host.as_str();
            let resolved = resolve(host, target.port)
                .await
                .map_err(|_| not_found(host))?;
            filter_resolved(target, resolved)?
        }
    };
    let mut last = None;
    for addr in addrs {
        match tcp(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(ClientError::HangUp))
}

/// The `unix` connect of [`connect_target`] where there are no Unix sockets (it is
/// never called there).
pub fn no_unix<T>(_path: &str) -> std::future::Ready<io::Result<T>> {
    std::future::ready(Err(io::ErrorKind::Unsupported.into()))
}

/// The `connect ...` detail of Node's messages for `addr`: `::1:80`, without
/// brackets.
pub fn connect_detail(addr: SocketAddr) -> String {
    format!("{}:{}", addr.ip(), addr.port())
}

/// [`connect_target`] with a blocking Unix connect, resolver and TCP connect
/// (std's): the same policy, run on the calling thread.
pub fn connect_target_blocking<T, I>(
    target: &ConnectTarget,
    unix: impl FnOnce(&str) -> io::Result<T>,
    resolve: impl FnOnce(&str, u16) -> io::Result<I>,
    mut tcp: impl FnMut(SocketAddr) -> Result<T, ClientError>,
) -> Result<T, ClientError>
where
    I: IntoIterator<Item = SocketAddr>,
{
    let policy = pin!(connect_target(
        target,
        |path| std::future::ready(unix(path)),
        |host, port| std::future::ready(resolve(host, port)),
        |addr| std::future::ready(tcp(addr)),
    ));
    // Every future it awaits is ready: one poll runs it to the end.
    match policy.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r,
        Poll::Pending => unreachable!("a policy over ready futures is never pending"),
    }
}

/// A stream that is TCP or a Unix socket (the adapters' socket enums): Node's
/// socket methods that only mean something on TCP, a Unix socket ignoring them.
pub trait MaybeTcp {
    /// The TCP socket; `None` for a Unix socket.
    fn tcp(&self) -> Option<SockRef<'_>>;

    /// `setNoDelay(on)`; a Unix socket ignores it.
    fn tcp_set_no_delay(&self, on: bool) -> io::Result<()> {
        match self.tcp() {
            Some(s) => s.set_tcp_nodelay(on),
            None => Ok(()),
        }
    }

    /// `setKeepAlive(enable, initialDelay)`; a Unix socket ignores it.
    fn tcp_set_keep_alive(&self, enable: bool, initial_delay: Duration) -> io::Result<()> {
        match self.tcp() {
            Some(s) => set_keep_alive(s, enable, initial_delay),
            None => Ok(()),
        }
    }

    /// The local address of a TCP socket.
    fn tcp_local_addr(&self) -> Option<SocketAddr> {
        self.tcp()?.local_addr().ok()?.as_socket()
    }

    /// The peer's address of a TCP socket.
    fn tcp_peer_addr(&self) -> Option<SocketAddr> {
        self.tcp()?.peer_addr().ok()?.as_socket()
    }
}
