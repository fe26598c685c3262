//! Node's `IncomingMessage` on the server: the request head and its body stream.

use std::borrow::Cow;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use courier_proto::head::RequestHead;
use courier_proto::server::ReqId;

use crate::body::BodyReceiver;
use crate::events::{Socket, TimeoutListener, TimeoutTarget};
use crate::handle_ref::HandleRef;
use crate::received::{Received, node_string, received_message};

/// A request received by the server (Node's `IncomingMessage`, MSG-1 … MSG-12).
///
/// A [`Received`] message (its head, header and trailer views, `complete`, `aborted`
/// and body reads are there, through `Deref`) with the request's own: `method`,
/// `url`, the socket, timeouts and `destroy`.
///
/// The body is a [`Stream`](futures_core::Stream) of [`Bytes`] (also
/// `tokio::io::AsyncRead` with the `tokio-io` feature), read from the
/// [`crate::body`] queue the connection fills. Body bytes are slices of the
/// connection's receive buffer, never copied. While more than the server's
/// high-water mark of body bytes waits unread, the connection stops reading from the
/// socket: a slow reader slows the client down instead of filling memory. A request
/// without a body has no queue.
///
/// When the client goes away before the body is complete, the stream yields one
/// error (`ConnectionReset`, `aborted`, Node's `ECONNRESET`) and
/// [`aborted`](Received::aborted) becomes true. Dropping the request discards the
/// rest of its body (the connection reads it on, within the server's drain budget,
/// MSG-12).
pub struct IncomingMessage {
    // Fields drop in this order: the connection reference last, so that a request
    // dropped where it was made has the rest of its drop folded away before the
    // reference's release (a call) could, as far as the compiler knows, change it.
    msg: Received<RequestHead>,
    id: ReqId,
    shared: HandleRef,
}

received_message!(IncomingMessage, RequestHead, msg);

impl core::fmt::Debug for IncomingMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IncomingMessage")
            .field("id", &self.id)
            .field("method", &self.method())
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

impl Drop for IncomingMessage {
    // Inlined: where the handle was just made (a handler that drops its request at
    // once), what the rest of its drop looks at is known and folded away.
    #[inline(always)]
    fn drop(&mut self) {
        // The head's memory goes back to the connection, for the next request's head
        // (its contents, slices of the receive buffer, are dropped now).
        if let Some(mut head) = self.msg.take_head() {
            head.set_url(Bytes::new());
            head.headers.clear();
            self.shared.recycle_head(head);
        }
    }
}

impl IncomingMessage {
    pub(crate) fn new(
        shared: HandleRef,
        id: ReqId,
        head: Box<RequestHead>,
        join_duplicates: bool,
        body: BodyReceiver,
    ) -> Self {
        Self {
            shared,
            id,
            msg: Received::new(head, join_duplicates, body),
        }
    }

    /// `req.method`, e.g. `"GET"`.
    pub fn method(&self) -> &str {
        self.head().method.as_str()
    }

    /// `req.url`: the request-target as sent, read as latin-1 like Node's strings.
    pub fn url(&self) -> Cow<'_, str> {
        node_string(self.head().url())
    }

    /// The request-target's bytes.
    pub fn url_bytes(&self) -> &[u8] {
        self.head().url()
    }

    /// The request's id on its connection.
    pub fn id(&self) -> ReqId {
        self.id
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
    /// aborted ([`aborted`](Received::aborted) becomes true) and the connection's
    /// socket destroyed, as Node's `IncomingMessage._destroy` does (MSG-10): unsent
    /// response bytes are dropped and the response fails with `ERR_STREAM_DESTROYED`.
    /// After a complete read only this stream ends. Later reads return `err` once (if
    /// given), then the end.
    pub fn destroy(&mut self, err: Option<io::Error>) {
        if self.msg.body.destroy(err) {
            let mut core = self.shared.lock();
            if !core.closed {
                core.conn.destroy();
                core.wake_io();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// A request handle is moved whole (into the handler, into its future): at 128
    /// bytes or less a move is a few vector stores, above it a call to `memcpy`.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_request_handle_moves_without_memcpy() {
        let size = size_of::<super::IncomingMessage>();
        assert!(size <= 128, "IncomingMessage is {size} bytes");
    }
}
