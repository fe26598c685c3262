//! A received head with Node's views of its fields, made on first use: what the
//! server's `IncomingMessage` and the client's `ClientResponse` both answer
//! `headers`, `headersDistinct`, `rawHeaders` and the trailer views from.

use std::sync::OnceLock;

use bytes::Bytes;
use courier_proto::head::{RequestHead, ResponseHead};
use courier_proto::{Headers, NodeDistinct, NodeHeaders};

use crate::body::BodyReceiver;

/// A parsed head whose header fields Node views.
pub(crate) trait HasFields {
    /// The header fields in wire order.
    fn fields(&self) -> &Headers;
}

impl HasFields for RequestHead {
    fn fields(&self) -> &Headers {
        &self.headers
    }
}

impl HasFields for ResponseHead {
    fn fields(&self) -> &Headers {
        &self.headers
    }
}

/// The head (reached through `Deref`) and its views: the merged and the distinct
/// one are built once, on first use.
#[derive(Debug)]
pub(crate) struct HeadViews<H> {
    head: Box<H>,
    /// `joinDuplicateHeaders` (MSG-4): repeated fields joined with `, `.
    join_duplicates: bool,
    headers: OnceLock<NodeHeaders>,
    distinct: OnceLock<NodeDistinct>,
}

impl<H: HasFields> HeadViews<H> {
    pub(crate) fn new(head: Box<H>, join_duplicates: bool) -> Self {
        Self {
            head,
            join_duplicates,
            headers: OnceLock::new(),
            distinct: OnceLock::new(),
        }
    }

    /// `headers`: lower-cased names, duplicates merged by Node's rules (MSG-3, MSG-4).
    pub(crate) fn headers(&self) -> &NodeHeaders {
        self.headers
            .get_or_init(|| self.head.fields().node_view(self.join_duplicates))
    }

    /// `headersDistinct`: every value of every name, as lists (MSG-5).
    pub(crate) fn distinct(&self) -> &NodeDistinct {
        self.distinct.get_or_init(|| self.head.fields().distinct())
    }

    /// `rawHeaders`: names and values alternating, in wire order and case (MSG-2).
    pub(crate) fn raw(&self) -> Vec<Bytes> {
        self.head.fields().raw()
    }

    /// `trailers` of `body`, viewed as the headers are, once it is complete (MSG-8).
    pub(crate) fn trailers(&self, body: &BodyReceiver) -> Option<NodeHeaders> {
        body.with_trailers(|t| t.node_view(self.join_duplicates))
    }

    /// `rawTrailers` of `body`, once it is complete.
    pub(crate) fn raw_trailers(&self, body: &BodyReceiver) -> Option<Vec<Bytes>> {
        body.with_trailers(Headers::raw)
    }
}

impl<H> core::ops::Deref for HeadViews<H> {
    type Target = H;
    fn deref(&self) -> &H {
        &self.head
    }
}
