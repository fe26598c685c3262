//! The socket handed to the application when it leaves HTTP.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;

use courier_rt::serving::HandoverGuard;

/// An accepted stream, as it came from the listener.
#[derive(Debug)]
pub enum RawStream {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A Unix socket connection.
    #[cfg(unix)]
    Unix(UnixStream),
}

impl AsyncRead for RawStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            Self::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for RawStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            Self::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(unix)]
            Self::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Tcp(s) => s.is_write_vectored(),
            #[cfg(unix)]
            Self::Unix(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Self::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            Self::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

courier_rt::handed_over_socket! {
/// A socket that left HTTP: the `socket` of Node's `'upgrade'`, `'connect'` and
/// `'clientError'` events.
///
/// It reads and writes the raw stream (tokio's [`AsyncRead`] and [`AsyncWrite`]).
/// Everything the server had to write before the handover (an earlier response, a
/// `101` the application wrote through a response, nothing for a client error) was
/// written first. Bytes the server had already read after the request head are not
/// in the stream: they are the `head` argument of the event (SRV-8, SRV-9) or the
/// error's [`crate::ClientErrorEvent::raw_packet`].
///
/// It counts as one of the server's open connections ([`crate::Server::closed`] and
/// the `'close'` event wait for it) until it is dropped or [`Upgraded::into_inner`]
/// takes the stream out. [`crate::Server::close_all_connections`] does not reach it:
/// the application owns it.
pub struct Upgraded(RawStream, HandoverGuard);
}

courier_rt::handed_over_io!(tokio, Upgraded);
