//! The outgoing-message encoders: Node's `ServerResponse` (RES-1 … RES-31) and the
//! outgoing side of `ClientRequest` (CLI-1 … CLI-14), on one header store, renderer and
//! output queue.
//!
//! A [`ServerResponse`] is a pure state object. The application sets headers, a status
//! and body pieces; the response renders Node's exact header block (implicit headers,
//! `Date`, `Connection`, `Keep-Alive`, `Content-Length` or chunked) and queues wire
//! segments that its owner (the server connection machine) takes with
//! [`ServerResponse::take_output`] when the response is at the head of the
//! connection's response queue.
//!
//! The pieces a `ClientRequest` shares with the response live in their own modules:
//! [`HeaderValue`], the [`HeaderStore`], [`OutgoingError`], the header-block renderer
//! with its framing and persistence decisions, and the output queue with chunk coding.
//!
//! The URL form of `http.request(url[, options])` (CLI-1) takes an already-parsed
//! URL's [`UrlParts`] and merges them into [`RequestOptions`] with
//! [`RequestOptions::with_url`].

mod error;
mod hints;
mod output;
mod render;
pub(crate) use render::{ARENA_IDLE, ARENA_MAX, LENT_BLOCK, has_word};
mod request;
mod response;
mod store;
mod url;
mod value;

pub use self::url::UrlParts;
pub use error::{JsNumber, OutgoingError};
pub use request::{ClientRequest, RequestAgent, RequestHeaders, RequestOptions, SocketOptions};
pub(crate) use response::LastHead;
pub use response::{ResponseSetup, ServerResponse};
pub use store::{HeaderStore, check_header};
pub use value::HeaderValue;
