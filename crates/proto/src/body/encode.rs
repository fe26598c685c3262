//! Body encoders. Filled in by the body-codec work.

use bytes::Bytes;
use smallvec::SmallVec;

/// The wire segments produced for one piece of body: for chunked coding a size
/// prefix, the caller's bytes untouched, and CRLF.
pub type Encoded = SmallVec<[Bytes; 3]>;

/// How an outgoing body is framed on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoder {
    /// `Content-Length` framing: the bytes are sent as they are.
    Length {
        /// Bytes still expected.
        remaining: u64,
    },
    /// Chunked transfer coding.
    Chunked,
    /// The body ends when the connection closes.
    CloseDelimited,
}
