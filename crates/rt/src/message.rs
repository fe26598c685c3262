//! Node's `IncomingMessage` on the server: the request head and its body stream.

use std::borrow::Cow;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use courier_proto::head::RequestHead;
use courier_proto::headers::latin1;
use courier_proto::server::ReqId;
use courier_proto::{Headers, NodeDistinct, NodeHeaders, Version};

use crate::body::{BodyReceiver, body_stream};
use crate::conn::Shared;
use crate::events::{Socket, TimeoutListener, TimeoutTarget};
use crate::views::HeadViews;

/// A request received by the server (Node's `IncomingMessage`, MSG-1 … MSG-12).
///
/// The head is available at once; the body is a [`Stream`](futures_core::Stream) of
/// [`Bytes`] (also `tokio::io::AsyncRead` with the `tokio-io` feature), read from the
/// [`crate::body`] queue the connection fills. Body bytes are slices of the
/// connection's receive buffer, never copied. While more than the server's
/// high-water mark of body bytes waits unread, the connection stops reading from the
/// socket: a slow reader slows the client down instead of filling memory. A request
/// without a body has no queue.
///
/// When the client goes away before the body is complete, the stream yields one
/// error (`ConnectionReset`, `aborted`, Node's `ECONNRESET`) and [`Self::aborted`]
/// becomes true. Dropping the request discards the rest of its body (the connection
/// reads it on, within the server's drain budget, MSG-12).
pub struct IncomingMessage {
    shared: Arc<Shared>,
    id: ReqId,
    head: HeadViews<RequestHead>,
    body: BodyReceiver,
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
        body: BodyReceiver,
    ) -> Self {
        Self {
            shared,
            id,
            head: HeadViews::new(head, join_duplicates),
            body,
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
        self.head.version.to_node_string()
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
        self.head.headers()
    }

    /// `req.headersDistinct`: every value of every name, as lists.
    pub fn headers_distinct(&self) -> &NodeDistinct {
        self.head.distinct()
    }

    /// `req.rawHeaders`: names and values alternating, in wire order and case.
    pub fn raw_headers(&self) -> Vec<Bytes> {
        self.head.raw()
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

    /// `req.trailers` once the body ended (`None` before; empty without trailers).
    pub fn trailers(&self) -> Option<NodeHeaders> {
        self.head.trailers(&self.body)
    }

    /// `req.rawTrailers` once the body ended (`None` before).
    pub fn raw_trailers(&self) -> Option<Vec<Bytes>> {
        self.head.raw_trailers(&self.body)
    }

    /// `req.complete`: the whole message was received.
    pub fn complete(&self) -> bool {
        self.body.is_complete()
    }

    /// `req.aborted`: the connection ended before the message was complete, or the
    /// request was destroyed before its body was read to the end.
    pub fn aborted(&self) -> bool {
        self.body.is_aborted()
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
        if self.body.destroy(err) {
            let mut core = self.shared.lock();
            if !core.closed {
                core.conn.destroy();
                core.wake_io();
            }
        }
    }

    /// The next piece of the body; `None` at its end.
    pub async fn chunk(&mut self) -> Option<io::Result<Bytes>> {
        self.body.chunk().await
    }

    /// Reads the rest of the body into one buffer.
    pub async fn read_body(&mut self) -> io::Result<Bytes> {
        self.body.read_all().await
    }

    /// The body as a stream, polled directly.
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        self.body.poll_chunk(cx)
    }
}

body_stream!(IncomingMessage, body);
