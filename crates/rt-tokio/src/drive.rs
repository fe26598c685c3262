//! The tokio side of the shared I/O loops ([`courier_rt::drive`]): tokio's clock,
//! timers and spawn, and the streams' readiness-based reads.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use courier_rt::drive::{Runtime, Timer, Transport};
use tokio::io::AsyncWrite;
use tokio::time::Sleep;

use crate::upgraded::RawStream;

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

impl RawStream {
    /// The local address of a TCP socket.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        match self {
            Self::Tcp(s) => s.local_addr().ok(),
            #[cfg(unix)]
            Self::Unix(_) => None,
        }
    }

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
}

/// tokio's readiness and its safe `try_read_buf` straight into the spare capacity.
impl Transport for RawStream {
    fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready_read(cx)
    }

    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        loop {
            if buf.capacity() == buf.len() {
                buf.reserve(8 * 1024);
            }
            match self.try_read_buf(buf) {
                // The readiness was stale (tokio cleared it): poll it again, which
                // registers the waker.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return Poll::Ready(r),
            }
            match self.poll_ready_read(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(Pin::new(self), cx, buf)
    }

    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write_vectored(Pin::new(self), cx, bufs)
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(Pin::new(self), cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_shutdown(Pin::new(self), cx)
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
            Self::Tcp(s) => courier_net::set_keep_alive(s.into(), enable, initial_delay),
            #[cfg(unix)]
            Self::Unix(_) => Ok(()),
        }
    }
}
