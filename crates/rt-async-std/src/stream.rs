//! The streams: accepted and connected sockets (TCP or Unix), the socket handed to
//! the application when it leaves HTTP, and a client's upgraded connection, all
//! futures-io `AsyncRead` + `AsyncWrite`.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_io::Async;
use bytes::{Bytes, BytesMut};
use courier_net::MaybeTcp;
use courier_rt::client::ClientUpgrade;
use courier_rt::drive::{Transport, poll_read_into_slice};
use courier_rt::serving::HandoverGuard;
use futures_io::{AsyncRead, AsyncWrite};
use std::sync::Arc;

/// A socket from async-net: TCP or a Unix socket.
#[derive(Debug)]
pub enum AsyncSocket {
    /// A TCP connection.
    Tcp(async_net::TcpStream),
    /// A Unix socket connection.
    #[cfg(unix)]
    Unix(async_net::unix::UnixStream),
}

macro_rules! each {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            AsyncSocket::Tcp($s) => $e,
            #[cfg(unix)]
            AsyncSocket::Unix($s) => $e,
        }
    };
}

impl AsyncSocket {
    /// The local address of a TCP socket.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.tcp_local_addr()
    }

    /// The peer's address of a TCP socket.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.tcp_peer_addr()
    }
}

impl courier_net::MaybeTcp for AsyncSocket {
    fn tcp(&self) -> Option<socket2::SockRef<'_>> {
        match self {
            Self::Tcp(s) => Some(s.into()),
            #[cfg(unix)]
            Self::Unix(_) => None,
        }
    }
}

impl AsyncRead for AsyncSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        each!(self.get_mut(), s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for AsyncSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self.get_mut(), s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each!(self.get_mut(), s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self.get_mut(), s => Pin::new(s).poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self.get_mut(), s => Pin::new(s).poll_close(cx))
    }
}

/// The shared loops' view: futures-io reads into the thread's scratch buffer, copied
/// to the receive buffer (no zeroing of the slice first), writes vectored, shutdown is
/// `poll_close` (for sockets, a write-side shutdown).
impl Transport for AsyncSocket {
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        poll_read_into_slice(buf, |slice| AsyncRead::poll_read(Pin::new(self), cx, slice))
    }

    courier_rt::transport_writes!(futures);

    fn set_no_delay(&self, on: bool) -> io::Result<()> {
        self.tcp_set_no_delay(on)
    }

    fn set_keep_alive(&self, enable: bool, initial_delay: Duration) -> io::Result<()> {
        self.tcp_set_keep_alive(enable, initial_delay)
    }

    fn as_any(&self) -> Option<&(dyn core::any::Any + Send)> {
        Some(self)
    }

    fn into_any(self: Box<Self>) -> Option<Box<dyn core::any::Any + Send>> {
        Some(self)
    }
}

/// The server loop's transport: an [`AsyncSocket`] read and written through
/// async-io's `Async` directly, remembering whether the last read drained the
/// socket. After a short read the next one waits for the reactor's readiness first
/// (`poll_read_ready`) instead of trying the socket, which would fail with `EAGAIN`
/// and then register interest anyway: one system call less per wait, as tokio's
/// readiness tracking saves it.
///
/// async-io's epoll registrations are one-shot: each wait for readiness costs an
/// `epoll_ctl` to re-arm, and the wake goes through the reactor. So on a busy
/// server, after a short read the connection first yields to the executor once and
/// then tries the socket again: when the peer's next bytes arrived meanwhile (a
/// client pipelining or under load) the read finds them with no registration at
/// all. Whether that pays is learnt per connection: a probe that finds nothing
/// counts against it, and a connection whose probes keep failing (an idle
/// keep-alive one) registers at once, trying a probe again only now and then.
///
/// A registration is taken back through `poll_readable` when the task wakes
/// (not by reading at once): async-io remembers a readiness event until
/// `poll_readable` reports it, so a wait ended by a read would make the next
/// `poll_readable` report that old event, and the read it allowed fail with
/// `EAGAIN`.
///
/// Reads land in a per-thread scratch buffer and are copied to the receive buffer
/// ([`poll_read_into_slice`]): safe code would otherwise have to zero the spare capacity
/// before every read. A single slice goes out with a plain `send`, not a `writev`.
pub(crate) struct Served {
    socket: AsyncSocket,
    /// The socket's async-io handle, taken once (not per read).
    raw: Raw,
    /// The last read returned less than it asked for.
    drained: bool,
    /// Interest in readability is registered (a read or `poll_readable` was
    /// `Pending`) and its event not yet taken with `poll_readable`.
    registered: bool,
    /// Yielded once after a short read: the next read is a probe.
    yielded: bool,
    /// The read in progress is a probe.
    probing: bool,
    /// How well probes did lately: probe after a short read while `>= 0`.
    score: i8,
    /// Registrations since the score went negative.
    direct: u8,
}

/// The async-io handle under an [`AsyncSocket`].
enum Raw {
    Tcp(Arc<Async<std::net::TcpStream>>),
    #[cfg(unix)]
    Unix(Arc<Async<std::os::unix::net::UnixStream>>),
}

macro_rules! raw {
    ($raw:expr, $io:ident => $e:expr) => {
        match $raw {
            Raw::Tcp($io) => $e,
            #[cfg(unix)]
            Raw::Unix($io) => $e,
        }
    };
}

/// A score's bounds, what a probe that finds bytes adds and one that finds none
/// takes (probing goes on while more than a third of the probes find bytes: a
/// failed probe costs a `recv`, one that finds bytes saves an `epoll_ctl` and the
/// reactor's wake-up), and the registrations after which a failing connection
/// probes again.
const SCORE_MAX: i8 = 8;
const SCORE_MIN: i8 = -4;
const PROBE_FOUND: i8 = 2;
const PROBE_EMPTY: i8 = 1;
const REPROBE_AFTER: u8 = 32;

impl Served {
    pub(crate) fn new(socket: AsyncSocket) -> Self {
        let raw = match &socket {
            AsyncSocket::Tcp(s) => Raw::Tcp(s.clone().into()),
            #[cfg(unix)]
            AsyncSocket::Unix(s) => Raw::Unix(s.clone().into()),
        };
        Self {
            socket,
            raw,
            drained: false,
            registered: false,
            yielded: false,
            probing: false,
            score: 0,
            direct: 0,
        }
    }

    /// The socket, for the handover.
    pub(crate) fn into_socket(self) -> AsyncSocket {
        self.socket
    }
}

/// One read of `io` into `slice`: `Pending` (interest registered) when it has
/// nothing.
fn read_async<T>(io: &Async<T>, cx: &mut Context<'_>, slice: &mut [u8]) -> Poll<io::Result<usize>>
where
    for<'a> &'a T: io::Read,
{
    loop {
        match io::Read::read(&mut io.get_ref(), slice) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            r => return Poll::Ready(r),
        }
        if let Err(e) = std::task::ready!(io.poll_readable(cx)) {
            return Poll::Ready(Err(e));
        }
    }
}

impl Transport for Served {
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        let raw = &self.raw;
        let mut want = 0;
        let r = poll_read_into_slice(buf, |slice| {
            want = slice.len();
            raw!(raw, io => read_async(io, cx, slice))
        });
        if core::mem::take(&mut self.probing) {
            self.score = match r {
                Poll::Ready(Ok(n)) if n > 0 => (self.score + PROBE_FOUND).min(SCORE_MAX),
                Poll::Pending => (self.score - PROBE_EMPTY).max(SCORE_MIN),
                _ => self.score,
            };
        }
        match r {
            Poll::Ready(Ok(n)) => self.drained = n < want,
            Poll::Pending => self.registered = true,
            Poll::Ready(Err(_)) => {}
        }
        r
    }

    fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.registered {
            // Woken (by the reactor or otherwise): take the event, or go on waiting.
            let r = raw!(&self.raw, io => io.poll_readable(cx));
            if r.is_ready() {
                self.registered = false;
                self.drained = false;
            }
            return r;
        }
        if !self.drained {
            return Poll::Ready(Ok(()));
        }
        if core::mem::take(&mut self.yielded) {
            // Back from the yield: try the socket.
            self.drained = false;
            self.probing = true;
            return Poll::Ready(Ok(()));
        }
        if self.score >= 0 {
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.direct += 1;
        if self.direct >= REPROBE_AFTER {
            self.direct = 0;
            self.score = 0;
        }
        let r = raw!(&self.raw, io => io.poll_readable(cx));
        if r.is_ready() {
            self.drained = false;
        } else {
            self.registered = true;
        }
        r
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        raw!(&self.raw, io => AsyncWrite::poll_write(Pin::new(&mut &**io), cx, buf))
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        raw!(&self.raw, io => AsyncWrite::poll_write_vectored(Pin::new(&mut &**io), cx, bufs))
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_close(Pin::new(&mut self.socket), cx)
    }

    fn set_no_delay(&self, on: bool) -> io::Result<()> {
        self.socket.tcp_set_no_delay(on)
    }

    fn set_keep_alive(&self, enable: bool, initial_delay: Duration) -> io::Result<()> {
        self.socket.tcp_set_keep_alive(enable, initial_delay)
    }
}

courier_rt::handed_over_socket! {
/// A socket that left HTTP: the `socket` of Node's `'upgrade'`, `'connect'` and
/// `'clientError'` events, a futures-io [`AsyncRead`] + [`AsyncWrite`] stream.
///
/// Everything the server had to write before the handover was written first. Bytes
/// the server had already read after the request head are not in the stream: they
/// are the `head` argument of the event (SRV-8, SRV-9) or the error's
/// [`crate::ClientErrorEvent::raw_packet`].
///
/// It counts as one of the server's open connections ([`crate::Server::closed`] and
/// the `'close'` event wait for it) until it is dropped or [`Upgraded::into_inner`]
/// takes the stream out.
pub struct Upgraded(AsyncSocket, HandoverGuard);
}

courier_rt::handed_over_io!(futures, Upgraded);

/// A client connection after an upgrade or a CONNECT, as a futures-io stream:
/// reads give the bytes that followed the response head first, then the socket's.
/// The [`ClientUpgrade`] it wraps (status, head, response) is reached through
/// `Deref`.
#[derive(Debug)]
pub struct ClientStream(ClientUpgrade);

impl ClientStream {
    /// The socket, as the connector made it ([`AsyncSocket`] for the default one),
    /// and the bytes after the head not yet read.
    pub fn into_parts(self) -> (Box<dyn Transport>, Bytes) {
        self.0.into_parts()
    }
}

impl core::ops::Deref for ClientStream {
    type Target = ClientUpgrade;

    fn deref(&self) -> &ClientUpgrade {
        &self.0
    }
}

impl From<ClientUpgrade> for ClientStream {
    fn from(up: ClientUpgrade) -> Self {
        Self(up)
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().0.poll_read_slice(cx, buf)
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().0.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().0.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().0.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().0.poll_shutdown(cx)
    }
}
