//! The tokio side of the shared I/O loops ([`courier_rt::drive`]): tokio's clock,
//! timers and spawn, and the streams' readiness-based reads.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use courier_net::MaybeTcp;
use courier_rt::drive::{Runtime, Timer, Transport};
use tokio::io::Interest;
use tokio::time::Sleep;

use crate::upgraded::RawStream;

/// The largest write [`RawStream`] tries without polling first (see its
/// `Transport::poll_write`): a socket's send buffer takes this much at once unless
/// the peer has stopped reading.
const TRY_WRITE_MAX: usize = 16 * 1024;

/// tokio as the loops' runtime: tokio's clock (so that `tokio::time::pause` drives
/// it in tests), its timers, `tokio::spawn`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tokio;

/// A tokio `Sleep`, reset to each deadline.
pub(crate) struct TokioTimer(Pin<Box<Sleep>>);

impl Timer for TokioTimer {
    fn reset(&mut self, deadline: Instant) {
        self.0
            .as_mut()
            .reset(tokio::time::Instant::from_std(deadline));
    }

    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl Runtime for Tokio {
    type Timer = TokioTimer;

    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn timer(&self) -> TokioTimer {
        TokioTimer(Box::pin(tokio::time::sleep(Duration::ZERO)))
    }

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, future: F) {
        tokio::spawn(future);
    }
}

/// [`Transport::try_read_buf`] on a tokio stream `$s` (a `TcpStream` or a
/// `UnixStream`): its `try_read_buf` inside its `try_io`, so that a read that filled
/// less than the spare capacity of `$buf`, reported to `try_io` as `WouldBlock`,
/// clears the readiness.
macro_rules! try_read_drained {
    ($s:expr, $buf:expr) => {{
        let (s, buf) = ($s, $buf);
        let spare = buf.capacity() - buf.len();
        let mut short = 0;
        let tried = s.try_io(Interest::READABLE, || match s.try_read_buf(buf) {
            Ok(n) if 0 < n && n < spare => {
                short = n;
                Err(io::ErrorKind::WouldBlock.into())
            }
            r => r,
        });
        if short > 0 {
            Some(Ok(short))
        } else {
            match tried {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
                r => Some(r),
            }
        }
    }};
}

impl RawStream {
    /// The local address of a TCP socket.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.tcp_local_addr()
    }

    fn poll_ready_read(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(s) => s.poll_read_ready(cx),
            #[cfg(unix)]
            Self::Unix(s) => s.poll_read_ready(cx),
        }
    }
}

/// tokio's readiness, and tokio's own read straight into the spare capacity.
impl Transport for RawStream {
    fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready_read(cx)
    }

    /// tokio's `read_buf` polls the registration's readiness first.
    fn read_waits_for_ready(&self) -> bool {
        true
    }

    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        if buf.capacity() == buf.len() {
            buf.reserve(8 * 1024);
        }
        // Through `AsyncRead` (polled once; the read is cancel-safe): a read that
        // fills less than the spare capacity also clears the socket's readiness, so
        // the next look parks the task at once instead of trying a read that would
        // block (one `recv` per request rather than two).
        let read = core::pin::pin!(tokio::io::AsyncReadExt::read_buf(self, buf));
        read.poll(cx)
    }

    /// tokio's `try_io` around its `try_read_buf`: a look at the socket's readiness,
    /// no task budget, no waker. A read that fills less than the spare capacity is
    /// reported to the outer `try_io` as `WouldBlock`, which clears the readiness (as
    /// tokio's `poll_read` does), so that the next look parks the task at once.
    fn try_read_buf(&mut self, buf: &mut BytesMut) -> Option<io::Result<usize>> {
        if buf.capacity() == buf.len() {
            buf.reserve(8 * 1024);
        }
        match self {
            Self::Tcp(s) => try_read_drained!(s, buf),
            #[cfg(unix)]
            Self::Unix(s) => try_read_drained!(s, buf),
        }
    }

    /// A small write is tried at once (tokio's `try_write`: a look at the socket's
    /// readiness, no task budget, no waker); only one that would block is polled,
    /// which registers the waker. A larger one goes to `poll_write` directly: it may
    /// be partial, and tokio's `poll_write` then forgets the socket's readiness, so
    /// that the next write waits for the reactor instead of failing with `EAGAIN`.
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.len() <= TRY_WRITE_MAX {
            let tried = match self {
                Self::Tcp(s) => s.try_write(buf),
                #[cfg(unix)]
                Self::Unix(s) => s.try_write(buf),
            };
            match tried {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return Poll::Ready(r),
            }
        }
        tokio::io::AsyncWrite::poll_write(Pin::new(self), cx, buf)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write_vectored(Pin::new(self), cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(self), cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(self), cx)
    }

    fn set_no_delay(&self, on: bool) -> io::Result<()> {
        self.tcp_set_no_delay(on)
    }

    fn set_keep_alive(&self, enable: bool, initial_delay: Duration) -> io::Result<()> {
        self.tcp_set_keep_alive(enable, initial_delay)
    }
}

impl courier_net::MaybeTcp for RawStream {
    fn tcp(&self) -> Option<socket2::SockRef<'_>> {
        match self {
            Self::Tcp(s) => Some(s.into()),
            #[cfg(unix)]
            Self::Unix(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A connected pair: the server side as a [`RawStream`], the client side.
    async fn pair() -> (RawStream, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (RawStream::Tcp(server), client)
    }

    async fn readable(s: &mut RawStream) {
        core::future::poll_fn(|cx| s.poll_read_ready(cx))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn try_read_buf_reads_what_came_and_then_waits_for_readiness() {
        let (mut server, mut client) = pair().await;
        let mut buf = BytesMut::with_capacity(64);
        // Nothing came: not known to be readable, nothing read.
        assert!(server.try_read_buf(&mut buf).is_none());
        client.write_all(b"hello").await.unwrap();
        readable(&mut server).await;
        assert_eq!(server.try_read_buf(&mut buf).unwrap().unwrap(), 5);
        assert_eq!(&buf[..], b"hello");
        // The short read cleared the readiness: no read is tried, and the readiness
        // poll pends (registering the waker) instead of finding the socket readable.
        assert!(server.try_read_buf(&mut buf).is_none());
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(server.poll_read_ready(&mut cx).is_pending());
        // The end of input.
        drop(client);
        readable(&mut server).await;
        assert_eq!(server.try_read_buf(&mut buf).unwrap().unwrap(), 0);
    }
}
