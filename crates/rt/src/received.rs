//! What a received message is on both sides (Node's `IncomingMessage`): the head, Node's
//! views of its fields, and the body. The server's [`IncomingMessage`] and the client's
//! [`ClientResponse`] are a [`Received`] (reached through `Deref`) and what only their
//! side has.
//!
//! [`IncomingMessage`]: crate::IncomingMessage
//! [`ClientResponse`]: crate::client::ClientResponse

use std::borrow::Cow;
use std::io;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use bytes::Bytes;
use courier_proto::head::{RequestHead, ResponseHead};
use courier_proto::headers::latin1;
use courier_proto::{Headers, NodeDistinct, NodeHeaders, Version};

use crate::body::BodyReceiver;

mod sealed {
    pub trait Sealed {}
    impl Sealed for courier_proto::head::RequestHead {}
    impl Sealed for courier_proto::head::ResponseHead {}
}

/// A parsed head a [`Received`] message carries: a request's or a response's.
pub trait ReceivedHead: sealed::Sealed {
    /// The header fields in wire order.
    fn fields(&self) -> &Headers;
    /// The HTTP version.
    fn version(&self) -> Version;
}

impl ReceivedHead for RequestHead {
    fn fields(&self) -> &Headers {
        &self.headers
    }
    fn version(&self) -> Version {
        self.version
    }
}

impl ReceivedHead for ResponseHead {
    fn fields(&self) -> &Headers {
        &self.headers
    }
    fn version(&self) -> Version {
        self.version
    }
}

/// A received message (Node's `IncomingMessage`, MSG-1 … MSG-12): its head, available
/// at once, with Node's views of the fields (built once, on first use), and its body,
/// read from a [`BodyReceiver`].
#[derive(Debug)]
pub struct Received<H> {
    /// `None` only while the owner is being dropped (a request's head goes back to
    /// its connection for reuse).
    head: Option<Box<H>>,
    /// `joinDuplicateHeaders` (MSG-4): repeated fields joined with `, `.
    join_duplicates: bool,
    headers: OnceLock<NodeHeaders>,
    distinct: OnceLock<NodeDistinct>,
    pub(crate) body: BodyReceiver,
}

impl<H: ReceivedHead> Received<H> {
    pub(crate) fn new(head: Box<H>, join_duplicates: bool, body: BodyReceiver) -> Self {
        Self {
            head: Some(head),
            join_duplicates,
            headers: OnceLock::new(),
            distinct: OnceLock::new(),
            body,
        }
    }

    /// The whole parsed head.
    pub fn head(&self) -> &H {
        self.head.as_deref().expect("the head lives until drop")
    }

    /// Takes the head out, for the owner's `Drop` (nothing reads it afterwards).
    pub(crate) fn take_head(&mut self) -> Option<Box<H>> {
        self.head.take()
    }

    /// `message.httpVersion`, e.g. `"1.1"`.
    pub fn http_version(&self) -> String {
        self.version().to_node_string()
    }

    /// `message.httpVersionMajor`.
    pub fn http_version_major(&self) -> u8 {
        self.version().major
    }

    /// `message.httpVersionMinor`.
    pub fn http_version_minor(&self) -> u8 {
        self.version().minor
    }

    /// The version as a value.
    pub fn version(&self) -> Version {
        self.head().version()
    }

    /// `message.headers`: lower-cased names, duplicates merged by Node's rules (MSG-3,
    /// MSG-4, honouring `joinDuplicateHeaders`: the server's option for a request,
    /// the request's for its response).
    pub fn headers(&self) -> &NodeHeaders {
        self.headers
            .get_or_init(|| self.head().fields().node_view(self.join_duplicates))
    }

    /// `message.headersDistinct`: every value of every name, as lists (MSG-5).
    pub fn headers_distinct(&self) -> &NodeDistinct {
        self.distinct
            .get_or_init(|| self.head().fields().distinct())
    }

    /// `message.rawHeaders`: names and values alternating, in wire order and case
    /// (MSG-2).
    pub fn raw_headers(&self) -> Vec<Bytes> {
        self.head().fields().raw()
    }

    /// The header fields in wire order (the store `rawHeaders` is read from).
    pub fn header_fields(&self) -> &Headers {
        self.head().fields()
    }

    /// `message.trailers` once the body is complete (`None` before; empty without
    /// trailers, MSG-8), viewed as the headers are.
    pub fn trailers(&self) -> Option<NodeHeaders> {
        self.body
            .with_trailers(|t| t.node_view(self.join_duplicates))
    }

    /// `message.rawTrailers` once the body is complete (`None` before).
    pub fn raw_trailers(&self) -> Option<Vec<Bytes>> {
        self.body.with_trailers(Headers::raw)
    }

    /// `message.complete`: the whole message was received (MSG-9).
    pub fn complete(&self) -> bool {
        self.body.is_complete()
    }

    /// `message.aborted`: the connection ended before the message was complete, or
    /// the message was destroyed before its body was read to the end (MSG-10).
    pub fn aborted(&self) -> bool {
        self.body.is_aborted()
    }

    /// The next piece of the body; `None` at the end of a complete body.
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

/// Bytes of a head (a request-target, a reason phrase) as a Node string: latin-1.
pub(crate) fn node_string(bytes: &[u8]) -> Cow<'_, str> {
    match core::str::from_utf8(bytes) {
        Ok(s) if s.is_ascii() => Cow::Borrowed(s),
        _ => Cow::Owned(latin1(bytes)),
    }
}

/// A message type that is a [`Received`] in its field `$field` reaches it through
/// `Deref`, and is a `Stream` of its body's pieces (and, with the `tokio-io` feature,
/// `tokio::io::AsyncRead`).
macro_rules! received_message {
    ($ty:ty, $head:ty, $field:ident) => {
        impl core::ops::Deref for $ty {
            type Target = $crate::received::Received<$head>;
            fn deref(&self) -> &Self::Target {
                &self.$field
            }
        }

        impl core::ops::DerefMut for $ty {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.$field
            }
        }

        impl futures_core::Stream for $ty {
            type Item = std::io::Result<bytes::Bytes>;

            fn poll_next(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Self::Item>> {
                self.get_mut().$field.body.poll_chunk(cx)
            }
        }

        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let body = std::pin::Pin::new(&mut self.get_mut().$field.body);
                tokio::io::AsyncRead::poll_read(body, cx, buf)
            }
        }
    };
}
pub(crate) use received_message;
