//! The outgoing-message encoder: Node's `ServerResponse` semantics (RES-1 … RES-31).
//!
//! A [`ServerResponse`] is a pure state object. The application sets headers, a status
//! and body pieces; the response renders Node's exact header block (implicit headers,
//! `Date`, `Connection`, `Keep-Alive`, `Content-Length` or chunked) and queues wire
//! segments that its owner (the server connection machine) takes with
//! [`ServerResponse::take_output`] when the response is at the head of the
//! connection's response queue.

mod response;

pub use response::{HeaderValue, OutgoingError, ResponseSetup, ServerResponse};
