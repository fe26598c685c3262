//! Node's `IncomingMessage` on the server: the request head and its body stream.

use std::borrow::Cow;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use courier_proto::head::RequestHead;
use courier_proto::headers::latin1;
use courier_proto::server::ReqId;
use courier_proto::{Headers, NodeDistinct, NodeHeaders, Version};
use futures_core::Stream;

use crate::conn::Shared;
use crate::events::{Socket, TimeoutListener, TimeoutTarget};

/// A request received by the server (Node's `IncomingMessage`, MSG-1 … MSG-12).
///
/// The head is available at once; the body is a [`Stream`] of [`Bytes`] (also
/// `tokio::io::AsyncRead` with the `tokio-io` feature). Body bytes are slices of
/// the connection's receive buffer, never copied. While more than the server's
/// high-water mark of body bytes waits unread, the connection stops reading from the
/// socket: a slow reader slows the client down instead of filling memory.
///
/// When the client goes away before the body is complete, the stream yields one
/// error (`ConnectionReset`, `aborted`, Node's `ECONNRESET`) and [`Self::aborted`]
/// becomes true.
pub struct IncomingMessage {
    shared: Arc<Shared>,
    id: ReqId,
    head: Box<RequestHead>,
    join_duplicates: bool,
    headers: OnceLock<NodeHeaders>,
    distinct: OnceLock<NodeDistinct>,
    /// The unread rest of a chunk partly consumed through `AsyncRead`.
    pub(crate) pending: Bytes,
    /// The stream has returned its end (or its error).
    done: bool,
    /// The stream has returned its end (Node's `readableEnded`).
    read_ended: bool,
    /// The error given to [`IncomingMessage::destroy`], returned by the next read.
    destroy_error: Option<io::Error>,
}

impl core::fmt::Debug for IncomingMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IncomingMessage")
            .field("id", &self.id)
            .field("method", &self.method())
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

impl IncomingMessage {
    pub(crate) fn new(
        shared: Arc<Shared>,
        id: ReqId,
        head: Box<RequestHead>,
        join_duplicates: bool,
    ) -> Self {
        Self {
            shared,
            id,
            head,
            join_duplicates,
            headers: OnceLock::new(),
            distinct: OnceLock::new(),
            pending: Bytes::new(),
            done: false,
            read_ended: false,
            destroy_error: None,
        }
    }

    /// `req.method`, e.g. `"GET"`.
    pub fn method(&self) -> &str {
        self.head.method.as_str()
    }

    /// `req.url`: the request-target as sent, read as latin-1 like Node's strings.
    pub fn url(&self) -> Cow<'_, str> {
        match core::str::from_utf8(&self.head.url) {
            Ok(s) if s.is_ascii() => Cow::Borrowed(s),
            _ => Cow::Owned(latin1(&self.head.url)),
        }
    }

    /// The request-target's bytes.
    pub fn url_bytes(&self) -> &Bytes {
        &self.head.url
    }

    /// `req.httpVersion`, e.g. `"1.1"`.
    pub fn http_version(&self) -> String {
        let v = self.head.version;
        format!("{}.{}", v.major, v.minor)
    }

    /// `req.httpVersionMajor`.
    pub fn http_version_major(&self) -> u8 {
        self.head.version.major
    }

    /// `req.httpVersionMinor`.
    pub fn http_version_minor(&self) -> u8 {
        self.head.version.minor
    }

    /// The version as a value.
    pub fn version(&self) -> Version {
        self.head.version
    }

    /// `req.headers`: lower-cased names, duplicates merged by Node's rules (MSG-3,
    /// MSG-4, honouring `joinDuplicateHeaders`).
    pub fn headers(&self) -> &NodeHeaders {
        self.headers
            .get_or_init(|| self.head.headers.node_view(self.join_duplicates))
    }

    /// `req.headersDistinct`: every value of every name, as lists.
    pub fn headers_distinct(&self) -> &NodeDistinct {
        self.distinct.get_or_init(|| self.head.headers.distinct())
    }

    /// `req.rawHeaders`: names and values alternating, in wire order and case.
    pub fn raw_headers(&self) -> Vec<Bytes> {
        self.head.headers.raw()
    }

    /// The header fields in wire order (the store `rawHeaders` is read from).
    pub fn header_fields(&self) -> &Headers {
        &self.head.headers
    }

    /// The whole parsed head.
    pub fn head(&self) -> &RequestHead {
        &self.head
    }

    /// The request's id on its connection.
    pub fn id(&self) -> ReqId {
        self.id
    }

    fn with_trailers<R>(&self, f: impl FnOnce(&Headers) -> R) -> Option<R> {
        let core = self.shared.lock();
        core.bodies.get(&self.id)?.trailers.as_ref().map(f)
    }

    /// `req.trailers` once the body ended (`None` before; empty without trailers).
    pub fn trailers(&self) -> Option<NodeHeaders> {
        self.with_trailers(|t| t.node_view(self.join_duplicates))
    }

    /// `req.rawTrailers` once the body ended (`None` before).
    pub fn raw_trailers(&self) -> Option<Vec<Bytes>> {
        self.with_trailers(Headers::raw)
    }

    /// `req.complete`: the whole message was received.
    pub fn complete(&self) -> bool {
        let core = self.shared.lock();
        core.bodies.get(&self.id).is_some_and(|b| b.ended)
    }

    /// `req.aborted`: the connection ended before the message was complete.
    pub fn aborted(&self) -> bool {
        let core = self.shared.lock();
        core.bodies.get(&self.id).is_some_and(|b| b.aborted)
    }

    /// `req.socket`: the connection's socket.
    pub fn socket(&self) -> Socket {
        Socket::new(Arc::clone(&self.shared))
    }

    /// `req.setTimeout(ms)` without a callback: sets the socket's inactivity timeout
    /// (zero turns it off). With no `'timeout'` listener anywhere, expiry destroys the
    /// connection (SRV-19).
    pub fn set_timeout(&self, timeout: Duration) {
        self.socket().set_timeout(timeout);
    }

    /// `req.setTimeout(ms, cb)`: sets the socket's inactivity timeout and listens for
    /// `'timeout'` on this request. While the returned listener lives and the request
    /// is still being received, expiry resolves [`TimeoutListener::fired`] instead of
    /// destroying the connection (SRV-19).
    pub fn set_timeout_notify(&self, timeout: Duration) -> TimeoutListener {
        self.socket().set_timeout(timeout);
        TimeoutListener::register(&self.shared, TimeoutTarget::Request(self.id))
    }

    /// `req.destroy(err)`. When the body has not been read to its end, the request is
    /// aborted ([`Self::aborted`] becomes true) and the connection's socket destroyed,
    /// as Node's `IncomingMessage._destroy` does (MSG-10): unsent response bytes are
    /// dropped and the response fails with `ERR_STREAM_DESTROYED`. After a complete
    /// read only this stream ends. Later reads return `err` once (if given), then the end.
    pub fn destroy(&mut self, err: Option<io::Error>) {
        if !self.read_ended {
            let mut core = self.shared.lock();
            if let Some(body) = core.bodies.get_mut(&self.id) {
                body.aborted = true;
                body.queue.clear();
                body.queued = 0;
            }
            if !core.closed {
                core.conn.destroy();
                core.wake_io();
            }
        }
        self.pending = Bytes::new();
        self.done = true;
        self.destroy_error = err;
    }

    /// The next piece of the body; `None` at its end.
    pub async fn chunk(&mut self) -> Option<io::Result<Bytes>> {
        core::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Reads the rest of the body into one buffer.
    pub async fn read_body(&mut self) -> io::Result<Bytes> {
        let mut first: Option<Bytes> = None;
        let mut all = BytesMut::new();
        while let Some(piece) = self.chunk().await {
            let piece = piece?;
            match first.take() {
                None if all.is_empty() => first = Some(piece),
                Some(f) => {
                    all.extend_from_slice(&f);
                    all.extend_from_slice(&piece);
                }
                None => all.extend_from_slice(&piece),
            }
        }
        Ok(first.unwrap_or_else(|| all.freeze()))
    }

    /// The body as a stream, polled directly.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        if let Some(e) = self.destroy_error.take() {
            return Poll::Ready(Some(Err(e)));
        }
        if !self.pending.is_empty() {
            return Poll::Ready(Some(Ok(core::mem::take(&mut self.pending))));
        }
        if self.done {
            return Poll::Ready(None);
        }
        let mut core = self.shared.lock();
        let high_water = core.body_high_water;
        let closed = core.closed;
        let Some(body) = core.bodies.get_mut(&self.id) else {
            self.done = true;
            return Poll::Ready(None);
        };
        if let Some(piece) = body.queue.pop_front() {
            let was_full = body.queued >= high_water;
            body.queued -= piece.len();
            if was_full && body.queued < high_water {
                core.wake_io();
            }
            return Poll::Ready(Some(Ok(piece)));
        }
        if body.ended {
            self.done = true;
            self.read_ended = true;
            return Poll::Ready(None);
        }
        if body.aborted || closed {
            self.done = true;
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "aborted",
            ))));
        }
        match &body.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => body.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Stream for IncomingMessage {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncRead for IncomingMessage {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pending.is_empty() {
            match this.poll_chunk(cx) {
                Poll::Ready(Some(Ok(piece))) => this.pending = piece,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = this.pending.len().min(buf.remaining());
        buf.put_slice(&this.pending.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl Drop for IncomingMessage {
    fn drop(&mut self) {
        // Nobody reads this body any more: later pieces are discarded, and a reader that
        // held the connection back lets it read again.
        let mut core = self.shared.lock();
        let high_water = core.body_high_water;
        if core
            .bodies
            .discard(&self.id, |body| body.queued >= high_water)
            == Some(true)
        {
            core.wake_io();
        }
    }
}
