//! Node's `IncomingMessage` for a response, and the socket of an upgrade.

use std::borrow::Cow;
use std::io::{self, IoSlice};
#[cfg(feature = "tokio-io")]
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use courier_proto::head::ResponseHead;

use super::Transport;
use crate::body::BodyReceiver;
use crate::received::{Received, node_string, received_message};

/// A response (Node's `IncomingMessage` on the client side, MSG-1 … MSG-11).
///
/// A [`Received`] message (its head, header and trailer views, `complete`, `aborted`
/// and body reads are there, through `Deref`) with the status.
///
/// The body is a [`Stream`](futures_core::Stream) of [`Bytes`] pieces (also
/// `tokio::io::AsyncRead` with the `tokio-io` feature). Unread body bytes are
/// bounded: while the high-water mark of them waits, the connection stops reading
/// the socket. A body cut short yields one `ConnectionReset` error, `aborted`
/// (Node's `ECONNRESET`, MSG-10), and [`aborted`](Received::aborted) becomes true.
/// Dropping the response discards the rest of the body, which is still read so that
/// the connection can be reused (MSG-13).
pub struct ClientResponse {
    msg: Received<ResponseHead>,
}

received_message!(ClientResponse, ResponseHead, msg);

impl core::fmt::Debug for ClientResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientResponse")
            .field("status", &self.status_code())
            .finish_non_exhaustive()
    }
}

impl ClientResponse {
    pub(crate) fn new(head: Box<ResponseHead>, body: BodyReceiver, join: bool) -> Self {
        Self {
            msg: Received::new(head, join, body),
        }
    }

    /// `res.statusCode`.
    pub fn status_code(&self) -> u16 {
        self.head().status
    }

    /// `res.statusMessage`: the reason phrase, `""` when absent.
    pub fn status_message(&self) -> Cow<'_, str> {
        node_string(&self.head().reason)
    }
}

/// The connection after an upgrade or a CONNECT (Node's `'upgrade'` / `'connect'`
/// arguments, CLI-16): the socket, left to the application, the bytes received
/// after the response head (`head`), and the response head.
///
/// With the `tokio-io` feature it is `AsyncRead` (the `head` bytes first, then the
/// socket) and `AsyncWrite`.
pub struct ClientUpgrade {
    io: Box<dyn Transport>,
    head: Bytes,
    response: Box<ResponseHead>,
}

impl core::fmt::Debug for ClientUpgrade {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientUpgrade")
            .field("status", &self.response.status)
            .field("head", &self.head)
            .finish_non_exhaustive()
    }
}

impl ClientUpgrade {
    pub(crate) fn new(io: Box<dyn Transport>, head: Bytes, response: Box<ResponseHead>) -> Self {
        Self { io, head, response }
    }

    /// The bytes that followed the response head (Node's `head`), not yet read
    /// through `AsyncRead`.
    pub fn head(&self) -> &Bytes {
        &self.head
    }

    /// The response head (status 101, or the CONNECT answer).
    pub fn response(&self) -> &ResponseHead {
        &self.response
    }

    /// `res.statusCode`.
    pub fn status_code(&self) -> u16 {
        self.response.status
    }

    /// The socket and the bytes that followed the head.
    pub fn into_parts(self) -> (Box<dyn Transport>, Bytes) {
        (self.io, self.head)
    }

    /// The socket, as the connector made it.
    pub fn transport(&self) -> &dyn Transport {
        &*self.io
    }

    /// Reads into `buf`: the `head` bytes first, then the socket's (a read larger
    /// than `buf` keeps the rest for the next one). `Ok(0)` at the end (or for an
    /// empty `buf` with nothing held).
    pub fn poll_read_slice(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.len());
            buf[..n].copy_from_slice(&self.head.split_to(n));
            return Poll::Ready(Ok(n));
        }
        match self.io.poll_read_ready(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        let mut tmp = bytes::BytesMut::with_capacity(buf.len().clamp(1, 64 * 1024));
        match self.io.poll_read_buf(cx, &mut tmp) {
            Poll::Ready(Ok(_)) => {
                let n = tmp.len().min(buf.len());
                buf[..n].copy_from_slice(&tmp[..n]);
                self.head = tmp.split_off(n).freeze();
                Poll::Ready(Ok(n))
            }
            other => other,
        }
    }

    /// Writes some of `buf` to the socket.
    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    /// Writes some of `bufs` to the socket.
    pub fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_vectored(cx, bufs)
    }

    /// Flushes the socket.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_flush(cx)
    }

    /// Shuts the socket's write side down.
    pub fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_shutdown(cx)
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncRead for ClientUpgrade {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // The `head` bytes first; then what the socket gives (a read larger than
        // `buf` keeps its rest there).
        let Self { io, head, .. } = self.get_mut();
        crate::body::poll_read_held(head, buf, |room| {
            let mut read = bytes::BytesMut::with_capacity(room.min(64 * 1024));
            match io.poll_read_buf(cx, &mut read) {
                Poll::Ready(Ok(0)) => Poll::Ready(None),
                Poll::Ready(Ok(_)) => Poll::Ready(Some(Ok(read.freeze()))),
                Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
                Poll::Pending => Poll::Pending,
            }
        })
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncWrite for ClientUpgrade {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ClientUpgrade::poll_write(self.get_mut(), cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ClientUpgrade::poll_write_vectored(self.get_mut(), cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ClientUpgrade::poll_flush(self.get_mut(), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ClientUpgrade::poll_shutdown(self.get_mut(), cx)
    }
}
