//! Body codecs: decoders for Content-Length, chunked and close-delimited bodies, and
//! the matching encoders. Decoders never copy body bytes: they report ranges of the
//! input, which the parser hands out as `Bytes` slices of its receive buffer.

pub(crate) mod decode;
pub mod encode;

pub use encode::{Encoded, Encoder};
