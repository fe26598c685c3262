//! `http.request` / `http.get` over tokio: sockets, the connector and the client's
//! I/O loop. Every HTTP decision is proto's; the request, response and agent handles
//! are `courier-rt`'s.

use core::time::Duration;
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Buf, BytesMut};
use courier_proto::client::Close;
use courier_rt::client::{
    ClientConnection, ClientError, ClientOptions, ClientOptionsError, ClientRequest, ClientRuntime,
    ConnectFuture, ConnectTarget, ConnectTask, Connector, Transport,
};
use tokio::io::AsyncWrite;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Sleep;

/// Segments handed to one vectored write.
const MAX_IOVECS: usize = 64;

/// The clock the client reads: tokio's, so that `tokio::time::pause` drives it.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
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
    let mut req = request(options)?;
    req.end(None)?;
    Ok(req)
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
                        drive(io, conn).await;
                    }
                }
                Err(e) => task.failed(e),
            }
        });
    }
}

/// Node's code for an I/O error (`ECONNREFUSED`, `ECONNRESET`, …).
pub fn error_code(e: &io::Error) -> &'static str {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "ECONNREFUSED",
        K::ConnectionReset => "ECONNRESET",
        K::ConnectionAborted => "ECONNABORTED",
        K::BrokenPipe => "EPIPE",
        K::NotFound => "ENOENT",
        K::PermissionDenied => "EACCES",
        K::TimedOut => "ETIMEDOUT",
        K::AddrInUse => "EADDRINUSE",
        K::AddrNotAvailable => "EADDRNOTAVAIL",
        K::HostUnreachable => "EHOSTUNREACH",
        K::NetworkUnreachable => "ENETUNREACH",
        K::InvalidInput => "EINVAL",
        _ => "EIO",
    }
}

/// `syscall CODE detail`, Node's message for a socket error.
fn sys_error(syscall: &str, e: &io::Error, detail: &str) -> ClientError {
    let code = error_code(e);
    let message = if detail.is_empty() {
        format!("{syscall} {code}")
    } else {
        format!("{syscall} {code} {detail}")
    };
    ClientError::io(code, &message)
}

/// A client socket: TCP or a Unix socket.
#[derive(Debug)]
pub enum TokioSocket {
    /// TCP.
    Tcp(TcpStream),
    /// A Unix socket (`socketPath`).
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

impl TokioSocket {
    fn poll_ready_read(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(s) => s.poll_read_ready(cx),
            #[cfg(unix)]
            Self::Unix(s) => s.poll_read_ready(cx),
        }
    }

    fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_read_buf(buf),
            #[cfg(unix)]
            Self::Unix(s) => s.try_read_buf(buf),
        }
    }

    /// The local address of a TCP socket.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Self::Tcp(s) => s.local_addr().ok(),
            #[cfg(unix)]
            Self::Unix(_) => None,
        }
    }
}

impl Transport for TokioSocket {
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.poll_ready_read(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            if buf.capacity() == buf.len() {
                buf.reserve(8 * 1024);
            }
            match self.try_read_buf(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return Poll::Ready(r),
            }
        }
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self {
            Self::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(unix)]
            Self::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Self::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            Self::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }

    fn set_no_delay(&self, on: bool) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.set_nodelay(on),
            #[cfg(unix)]
            Self::Unix(_) => Ok(()),
        }
    }

    fn set_keep_alive(&self, enable: bool, initial_delay: Duration) -> io::Result<()> {
        match self {
            Self::Tcp(s) => {
                let sock = socket2::SockRef::from(s);
                if !enable {
                    return sock.set_keepalive(false);
                }
                let mut ka = socket2::TcpKeepalive::new();
                if !initial_delay.is_zero() {
                    ka = ka.with_time(initial_delay);
                }
                sock.set_tcp_keepalive(&ka)
            }
            #[cfg(unix)]
            Self::Unix(_) => Ok(()),
        }
    }
}

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
        if let Some(path) = &target.socket_path {
            #[cfg(unix)]
            {
                return tokio::net::UnixStream::connect(path)
                    .await
                    .map(TokioSocket::Unix)
                    .map_err(|e| sys_error("connect", &e, path));
            }
            #[cfg(not(unix))]
            {
                return Err(ClientError::io(
                    "ENOTSUP",
                    &format!("connect ENOTSUP {path}"),
                ));
            }
        }
        let host = target.host.as_str();
        // An IP address is used as it is (Node ignores `family` for it); a name is
        // resolved and filtered by `family` and by the local address's family.
        let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, target.port)],
            Err(_) => {
                let not_found =
                    || ClientError::io("ENOTFOUND", &format!("getaddrinfo ENOTFOUND {host}"));
                let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, target.port))
                    .await
                    .map_err(|_| not_found())?
                    .filter(|a| match target.family {
                        Some(4) => a.is_ipv4(),
                        Some(6) => a.is_ipv6(),
                        _ => true,
                    })
                    .filter(|a| match target.local_address {
                        Some(IpAddr::V4(_)) => a.is_ipv4(),
                        Some(IpAddr::V6(_)) => a.is_ipv6(),
                        None => true,
                    })
                    .collect();
                if addrs.is_empty() {
                    return Err(not_found());
                }
                addrs
            }
        };
        let mut last = None;
        for addr in addrs {
            match Self::connect_addr(addr, target).await {
                Ok(s) => {
                    if target.no_delay {
                        let _ = s.set_nodelay(true);
                    }
                    let sock = TokioSocket::Tcp(s);
                    if let Some(d) = target.keep_alive {
                        let _ = sock.set_keep_alive(true, d);
                    }
                    return Ok(sock);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(ClientError::HangUp))
    }

    async fn connect_addr(
        addr: SocketAddr,
        target: &ConnectTarget,
    ) -> Result<TcpStream, ClientError> {
        // Node writes `::1:80`, without brackets.
        let detail = format!("{}:{}", addr.ip(), addr.port());
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
            Ok(Box::new(s) as Box<dyn Transport>)
        })
    }
}

/// Runs one client connection until its socket is closed or handed over.
pub(crate) async fn drive(io: Box<dyn Transport>, conn: ClientConnection) {
    let mut state = Loop {
        io: Some(io),
        conn: conn.clone(),
        sleep: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
        armed: None,
        read_error: false,
    };
    let guard = FinishGuard(Some(conn));
    core::future::poll_fn(|cx| state.poll(cx)).await;
    drop(state);
    drop(guard);
}

/// Finishes the connection however the loop ends (also when the runtime drops the
/// task): its request fails and the agent forgets the socket.
struct FinishGuard(Option<ClientConnection>);

impl Drop for FinishGuard {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            conn.lock().finish();
            conn.settle(now());
        }
    }
}

struct Loop {
    io: Option<Box<dyn Transport>>,
    conn: ClientConnection,
    sleep: Pin<Box<Sleep>>,
    armed: Option<Instant>,
    read_error: bool,
}

enum Step {
    Again,
    Wait,
    Shutdown,
    Done,
}

impl Loop {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            let step = self.step(cx);
            self.conn.settle(now());
            match step {
                Step::Again => {}
                Step::Wait => {
                    // The agent's free-socket deadline may have moved meanwhile.
                    if self.arm(cx) {
                        continue;
                    }
                    return Poll::Pending;
                }
                Step::Done => return Poll::Ready(()),
                Step::Shutdown => {
                    return match self.io.as_mut() {
                        Some(io) => io.poll_shutdown(cx).map(|_| ()),
                        None => Poll::Ready(()),
                    };
                }
            }
        }
    }

    /// Arms the timer for the connection's next deadline; true when it is due.
    fn arm(&mut self, cx: &mut Context<'_>) -> bool {
        match self.conn.poll_timeout() {
            Some(t) if t <= now() => true,
            Some(t) => {
                if self.armed != Some(t) {
                    self.sleep.as_mut().reset(tokio::time::Instant::from_std(t));
                    self.armed = Some(t);
                }
                if self.sleep.as_mut().poll(cx).is_ready() {
                    self.armed = None;
                    true
                } else {
                    false
                }
            }
            None => {
                self.armed = None;
                false
            }
        }
    }

    fn step(&mut self, cx: &mut Context<'_>) -> Step {
        let now = now();
        let Some(io) = self.io.as_mut() else {
            return Step::Done;
        };
        let mut d = self.conn.lock();
        d.register(cx.waker());
        d.process();
        let mut progress = false;

        // 1. an upgrade takes the socket
        if let Some(h) = d.take_upgrade() {
            drop(d);
            if let Some(io) = self.io.take() {
                h.complete(io);
            }
            return Step::Done;
        }

        // 2. socket options (CLI-26)
        if let Some(opts) = d.take_socket_options() {
            if let Some(on) = opts.no_delay {
                let _ = io.set_no_delay(on);
            }
            if let Some((on, delay)) = opts.keep_alive {
                let _ = io.set_keep_alive(on, delay);
            }
        }

        // 3. write
        loop {
            let written = {
                let out = d.outgoing();
                if out.is_empty() {
                    break;
                }
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let n = out.chunks_vectored(&mut slices);
                io.poll_write_vectored(cx, &slices[..n])
            };
            match written {
                Poll::Ready(Ok(n)) if n > 0 => {
                    d.transmitted(now, n);
                    progress = true;
                }
                Poll::Ready(Ok(_)) => {
                    d.socket_error(ClientError::io("EPIPE", "write EPIPE"));
                    return Step::Done;
                }
                Poll::Ready(Err(e)) => {
                    d.socket_error(sys_error("write", &e, ""));
                    return Step::Done;
                }
                Poll::Pending => break,
            }
        }

        // 4. close
        match d.wants_close() {
            Some(Close::Now) => return Step::Done,
            Some(Close::AfterFlush) if d.outgoing().is_empty() => return Step::Shutdown,
            _ => {}
        }

        // 5. read (idle sockets too: a close or stray bytes take them out of the
        // pool, AGT-9)
        if !self.read_error && d.wants_read() {
            match io.poll_read_buf(cx, d.recv_buf()) {
                Poll::Ready(Ok(n)) => {
                    d.received(now, n);
                    progress = true;
                }
                Poll::Ready(Err(e)) => {
                    self.read_error = true;
                    d.socket_error(sys_error("read", &e, ""));
                    return Step::Done;
                }
                Poll::Pending => {}
            }
        }

        // 6. the connection's own timers
        if d.poll_timeout().is_some_and(|t| t <= now) {
            d.handle_timeout(now);
            progress = true;
        }
        drop(d);
        if !progress && self.conn.poll_timeout().is_some_and(|t| t <= now) {
            // A due deadline of the agent's: settle expires the free sockets.
            self.conn.settle(now);
            let mut d = self.conn.lock();
            d.handle_timeout(now);
            progress = true;
        }
        if progress { Step::Again } else { Step::Wait }
    }
}
