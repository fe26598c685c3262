//! Node's `IncomingMessage` for a response, and the socket of an upgrade.

use std::borrow::Cow;
use std::io::{self, IoSlice};
#[cfg(feature = "tokio-io")]
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use courier_proto::head::ResponseHead;
use courier_proto::headers::latin1;
use courier_proto::{NodeDistinct, NodeHeaders, Version};

use super::Transport;
use crate::body::{BodyReceiver, body_stream};
use crate::views::HeadViews;

/// A response (Node's `IncomingMessage` on the client side, MSG-1 … MSG-11).
///
/// The head is available at once; the body is a [`Stream`](futures_core::Stream) of
/// [`Bytes`] pieces
/// (also [`Self::chunk`], [`Self::read_body`], and `tokio::io::AsyncRead` with the
/// `tokio-io` feature). Unread body bytes are bounded: while the high-water mark of
/// them waits, the connection stops reading the socket. A body cut short yields
/// one `ConnectionReset` error, `aborted` (Node's `ECONNRESET`, MSG-10), and
/// [`Self::aborted`] becomes true. Dropping the response discards the rest of the
/// body, which is still read so that the connection can be reused (MSG-13).
pub struct ClientResponse {
    head: HeadViews<ResponseHead>,
    body: BodyReceiver,
}

impl core::fmt::Debug for ClientResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientResponse")
            .field("status", &self.head.status)
            .finish_non_exhaustive()
    }
}

impl ClientResponse {
    pub(crate) fn new(head: Box<ResponseHead>, body: BodyReceiver, join: bool) -> Self {
        Self {
            head: HeadViews::new(head, join),
            body,
        }
    }

    /// `res.statusCode`.
    pub fn status_code(&self) -> u16 {
        self.head.status
    }

    /// `res.statusMessage`: the reason phrase, `""` when absent.
    pub fn status_message(&self) -> Cow<'_, str> {
        match core::str::from_utf8(&self.head.reason) {
            Ok(s) if s.is_ascii() => Cow::Borrowed(s),
            _ => Cow::Owned(latin1(&self.head.reason)),
        }
    }

    /// `res.httpVersion`, e.g. `"1.1"`.
    pub fn http_version(&self) -> String {
        self.head.version.to_node_string()
    }

    /// The version as a value.
    pub fn version(&self) -> Version {
        self.head.version
    }

    /// `res.headers`: lower-cased names, duplicates merged by Node's rules (MSG-3,
    /// MSG-4 with the request's `joinDuplicateHeaders`).
    pub fn headers(&self) -> &NodeHeaders {
        self.head.headers()
    }

    /// `res.headersDistinct` (MSG-5).
    pub fn headers_distinct(&self) -> &NodeDistinct {
        self.head.distinct()
    }

    /// `res.rawHeaders` (MSG-2).
    pub fn raw_headers(&self) -> Vec<Bytes> {
        self.head.raw()
    }

    /// The whole parsed head.
    pub fn head(&self) -> &ResponseHead {
        &self.head
    }

    /// `res.trailers` once the body is complete (`None` before; empty without
    /// trailers, MSG-8).
    pub fn trailers(&self) -> Option<NodeHeaders> {
        self.head.trailers(&self.body)
    }

    /// `res.rawTrailers` once the body is complete.
    pub fn raw_trailers(&self) -> Option<Vec<Bytes>> {
        self.head.raw_trailers(&self.body)
    }

    /// `res.complete` (MSG-9).
    pub fn complete(&self) -> bool {
        self.body.is_complete()
    }

    /// `res.aborted` (MSG-10).
    pub fn aborted(&self) -> bool {
        self.body.is_aborted()
    }

    /// The next body piece; `None` at the end of a complete body.
    pub async fn chunk(&mut self) -> Option<io::Result<Bytes>> {
        self.body.chunk().await
    }

    /// Reads the rest of the body into one buffer.
    pub async fn read_body(&mut self) -> io::Result<Bytes> {
        self.body.read_all().await
    }

    /// The body, polled directly.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        self.body.poll_chunk(cx)
    }

    /// The body queue itself.
    pub fn body_mut(&mut self) -> &mut BodyReceiver {
        &mut self.body
    }
}

body_stream!(ClientResponse, body);

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

    /// Writes some of `bufs` to the socket.
    pub fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_vectored(cx, bufs)
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncRead for ClientUpgrade {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.head.is_empty() {
            crate::body::read_front(&mut this.head, buf);
            return Poll::Ready(Ok(()));
        }
        let mut tmp = bytes::BytesMut::with_capacity(buf.remaining().min(64 * 1024));
        match this.io.poll_read_buf(cx, &mut tmp) {
            Poll::Ready(Ok(_)) => {
                buf.put_slice(&tmp);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncWrite for ClientUpgrade {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .io
            .poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().io.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().io.poll_shutdown(cx)
    }
}
