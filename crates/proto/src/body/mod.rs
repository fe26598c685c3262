//! Body codecs: decoders for Content-Length, chunked and close-delimited bodies, and
//! the matching encoders. Decoders never copy body bytes: they report ranges of the
//! input, which the parser hands out as `Bytes` slices of its receive buffer.
//!
//! The decoders are internal to the crate (the [`crate::Parser`] drives them): a
//! chunked decoder that follows Node v20's parser byte for byte (PRS-19), and a
//! Content-Length counter. A close-delimited body needs no decoder: every byte until
//! EOF is body. The encoders are public: see [`Encoder`].

// The parser is the only user of the decoders; until it drives them, only the tests do.
pub(crate) mod decode;
pub mod encode;

pub use encode::{EncodeError, Encoded, Encoder};
