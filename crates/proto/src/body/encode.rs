//! Body encoders: Content-Length, chunked (RES-19, RES-20) and close-delimited framing.
//!
//! An [`Encoder`] turns each piece of body into the segments to write, in order, as
//! [`Bytes`]. The caller's bytes are never copied: for chunked coding a piece becomes
//! three segments, a size line, the piece itself and CRLF, ready for a vectored write.

use core::fmt;

use crate::chars::{is_field_value_byte, is_tchar};
use bytes::Bytes;
use smallvec::SmallVec;

use crate::headers::Headers;

/// The wire segments produced for one piece of body: for chunked coding a size
/// prefix, the caller's bytes untouched, and CRLF.
pub type Encoded = SmallVec<[Bytes; 3]>;

const CRLF: &[u8] = b"\r\n";
const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// How an outgoing body is framed on the wire.
///
/// ```
/// use bytes::Bytes;
/// use courier_proto::body::Encoder;
///
/// // Node's `res.write('ab'); res.end('cd')` on a chunked response (RES-19).
/// let mut enc = Encoder::Chunked;
/// let mut wire = Vec::new();
/// for seg in enc.encode(Bytes::from_static(b"ab")) {
///     wire.extend_from_slice(&seg);
/// }
/// for seg in enc.encode(Bytes::from_static(b"cd")) {
///     wire.extend_from_slice(&seg);
/// }
/// for seg in enc.finish(None)? {
///     wire.extend_from_slice(&seg);
/// }
/// assert_eq!(wire, b"2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n");
/// # Ok::<(), courier_proto::body::EncodeError>(())
/// ```
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

/// Why an encoder refused to produce output.
///
/// ```
/// use courier_proto::body::{EncodeError, Encoder};
///
/// let mut enc = Encoder::length(5);
/// let err = enc.finish_strict(None).unwrap_err();
/// assert_eq!(err, EncodeError::LengthMismatch { remaining: 5 });
/// assert_eq!(err.code(), "ERR_HTTP_CONTENT_LENGTH_MISMATCH");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// [`Encoder::finish_strict`] on a Content-Length body that is not complete
    /// (Node's `strictContentLength`, RES-28).
    LengthMismatch {
        /// Bytes still expected.
        remaining: u64,
    },
    /// The trailer at this index in the list has a name that is not a token (RES-20).
    InvalidTrailerName {
        /// Index of the field in the trailer list.
        index: usize,
    },
    /// The trailer at this index in the list has a value with a byte outside
    /// HTAB, SP, VCHAR and obs-text (RES-20).
    InvalidTrailerValue {
        /// Index of the field in the trailer list.
        index: usize,
    },
    /// The chunk extension at this index has a name that is not a token, or a value
    /// that cannot be written as a token or quoted string.
    InvalidExtension {
        /// Index of the extension in the list.
        index: usize,
    },
}

impl EncodeError {
    /// The Node error code closest to this error: `ERR_HTTP_CONTENT_LENGTH_MISMATCH`,
    /// `ERR_INVALID_HTTP_TOKEN` (bad names) or `ERR_INVALID_CHAR` (bad values).
    ///
    /// ```
    /// use courier_proto::body::EncodeError;
    ///
    /// assert_eq!(EncodeError::InvalidTrailerValue { index: 0 }.code(), "ERR_INVALID_CHAR");
    /// ```
    pub const fn code(&self) -> &'static str {
        match self {
            Self::LengthMismatch { .. } => "ERR_HTTP_CONTENT_LENGTH_MISMATCH",
            Self::InvalidTrailerName { .. } => "ERR_INVALID_HTTP_TOKEN",
            Self::InvalidTrailerValue { .. } | Self::InvalidExtension { .. } => "ERR_INVALID_CHAR",
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LengthMismatch { remaining } => write!(
                f,
                "{}: body ended {remaining} byte(s) short of its Content-Length",
                self.code()
            ),
            Self::InvalidTrailerName { index } => {
                write!(f, "{}: trailer {index} has an invalid name", self.code())
            }
            Self::InvalidTrailerValue { index } => {
                write!(f, "{}: trailer {index} has an invalid value", self.code())
            }
            Self::InvalidExtension { index } => {
                write!(f, "{}: chunk extension {index} is invalid", self.code())
            }
        }
    }
}

impl std::error::Error for EncodeError {}

impl Encoder {
    /// A Content-Length encoder for a body of `len` bytes.
    ///
    /// ```
    /// use courier_proto::body::Encoder;
    ///
    /// assert_eq!(Encoder::length(3).remaining(), Some(3));
    /// ```
    pub const fn length(len: u64) -> Self {
        Self::Length { remaining: len }
    }

    /// Whether this encoder uses chunked coding (the only framing with trailers).
    ///
    /// ```
    /// use courier_proto::body::Encoder;
    ///
    /// assert!(Encoder::Chunked.is_chunked());
    /// assert!(!Encoder::CloseDelimited.is_chunked());
    /// ```
    pub const fn is_chunked(&self) -> bool {
        matches!(self, Self::Chunked)
    }

    /// For Content-Length framing, the bytes still expected (`Some(0)` once complete,
    /// and also after more than the length was written); `None` for the others.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use courier_proto::body::Encoder;
    ///
    /// let mut enc = Encoder::length(5);
    /// enc.encode(Bytes::from_static(b"abc"));
    /// assert_eq!(enc.remaining(), Some(2));
    /// assert_eq!(Encoder::Chunked.remaining(), None);
    /// ```
    pub const fn remaining(&self) -> Option<u64> {
        match self {
            Self::Length { remaining } => Some(*remaining),
            Self::Chunked | Self::CloseDelimited => None,
        }
    }

    /// Whether the body may end now without breaking its framing: true for chunked
    /// and close-delimited bodies, and for Content-Length once every byte was written.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use courier_proto::body::Encoder;
    ///
    /// let mut enc = Encoder::length(2);
    /// assert!(!enc.is_complete());
    /// enc.encode(Bytes::from_static(b"ok"));
    /// assert!(enc.is_complete());
    /// ```
    pub const fn is_complete(&self) -> bool {
        match self {
            Self::Length { remaining } => *remaining == 0,
            Self::Chunked | Self::CloseDelimited => true,
        }
    }

    /// Frames one piece of body.
    ///
    /// * chunked: `"<len in lower-case hex>\r\n"`, `data`, `"\r\n"`; an empty piece
    ///   produces nothing (RES-19);
    /// * Content-Length and close-delimited: `data` as it is (nothing when empty).
    ///   Content-Length is not enforced (RES-28): bytes beyond the length are passed
    ///   on too and [`Encoder::remaining`] stays at 0. Check `remaining()` first to
    ///   apply Node's `strictContentLength`.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use courier_proto::body::Encoder;
    ///
    /// let data = Bytes::from(vec![b'x'; 26]);
    /// let segs = Encoder::Chunked.encode(data.clone());
    /// assert_eq!(&segs[0][..], b"1a\r\n");
    /// assert_eq!(segs[1], data); // the same bytes, not a copy
    /// assert_eq!(&segs[2][..], b"\r\n");
    /// assert!(Encoder::Chunked.encode(Bytes::new()).is_empty());
    /// ```
    pub fn encode(&mut self, data: Bytes) -> Encoded {
        let mut out = Encoded::new();
        if data.is_empty() {
            return out;
        }
        match self {
            Self::Length { remaining } => {
                *remaining = remaining.saturating_sub(data.len() as u64);
                out.push(data);
            }
            Self::CloseDelimited => out.push(data),
            Self::Chunked => {
                let mut line = [0u8; 18];
                let n = write_hex(&mut line, data.len() as u64);
                line[n] = b'\r';
                line[n + 1] = b'\n';
                out.push(Bytes::copy_from_slice(&line[..n + 2]));
                out.push(data);
                out.push(Bytes::from_static(CRLF));
            }
        }
        out
    }

    /// Like [`Encoder::encode`], with chunk extensions on the size line:
    /// `<hex>;name=value;name\r\n`. A value is written as a token when it is one, else
    /// as a quoted string with `"` and `\` escaped. Names must be tokens and values may
    /// hold HTAB, SP, VCHAR and obs-text. Extensions are only written with chunked
    /// coding; an empty piece still produces nothing.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use courier_proto::body::Encoder;
    ///
    /// let segs = Encoder::Chunked.encode_with_extensions(
    ///     Bytes::from_static(b"hello"),
    ///     &[(b"a", Some(b"1")), (b"b", None), (b"c", Some(b"x y"))],
    /// )?;
    /// assert_eq!(&segs[0][..], b"5;a=1;b;c=\"x y\"\r\n");
    /// # Ok::<(), courier_proto::body::EncodeError>(())
    /// ```
    pub fn encode_with_extensions(
        &mut self,
        data: Bytes,
        extensions: &[(&[u8], Option<&[u8]>)],
    ) -> Result<Encoded, EncodeError> {
        if !self.is_chunked() || extensions.is_empty() || data.is_empty() {
            return Ok(self.encode(data));
        }
        let mut line = Vec::with_capacity(32);
        let mut hex = [0u8; 16];
        let n = write_hex(&mut hex, data.len() as u64);
        line.extend_from_slice(&hex[..n]);
        for (index, (name, value)) in extensions.iter().enumerate() {
            if !is_token(name) {
                return Err(EncodeError::InvalidExtension { index });
            }
            line.push(b';');
            line.extend_from_slice(name);
            if let Some(value) = value {
                line.push(b'=');
                if is_token(value) {
                    line.extend_from_slice(value);
                } else if value.iter().all(|&b| is_field_value_byte(b)) {
                    line.push(b'"');
                    for &b in value.iter() {
                        if b == b'"' || b == b'\\' {
                            line.push(b'\\');
                        }
                        line.push(b);
                    }
                    line.push(b'"');
                } else {
                    return Err(EncodeError::InvalidExtension { index });
                }
            }
        }
        line.extend_from_slice(CRLF);
        let mut out = Encoded::new();
        out.push(Bytes::from(line));
        out.push(data);
        out.push(Bytes::from_static(CRLF));
        Ok(out)
    }

    /// Ends the body, Node's default way (RES-28: a short Content-Length body is not
    /// an error; see [`Encoder::finish_strict`]).
    ///
    /// * chunked: `"0\r\n"`, one `Name: value\r\n` line per trailer field in list order,
    ///   `"\r\n"` (RES-19, RES-20);
    /// * Content-Length and close-delimited: nothing; trailers are dropped silently, as
    ///   Node does (RES-20).
    ///
    /// Trailer fields are checked here as Node's `addTrailers` checks them (names are
    /// tokens, values hold HTAB, SP, VCHAR and obs-text only), so that a list built
    /// without validation can never break the framing. Call it once.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use courier_proto::Headers;
    /// use courier_proto::body::Encoder;
    ///
    /// let mut trailers = Headers::new();
    /// trailers.append("X-T", "v").unwrap();
    /// let segs = Encoder::Chunked.finish(Some(&trailers))?;
    /// assert_eq!(segs.concat(), b"0\r\nX-T: v\r\n\r\n");
    /// assert!(Encoder::length(0).finish(Some(&trailers))?.is_empty());
    /// # Ok::<(), courier_proto::body::EncodeError>(())
    /// ```
    pub fn finish(&mut self, trailers: Option<&Headers>) -> Result<Encoded, EncodeError> {
        let mut out = Encoded::new();
        if !self.is_chunked() {
            return Ok(out);
        }
        match trailers {
            Some(t) if !t.is_empty() => {
                let mut len = 5;
                for (index, (name, value)) in t.iter().enumerate() {
                    if !is_token(name) {
                        return Err(EncodeError::InvalidTrailerName { index });
                    }
                    if !value.iter().all(|&b| is_field_value_byte(b)) {
                        return Err(EncodeError::InvalidTrailerValue { index });
                    }
                    len += name.len() + value.len() + 4;
                }
                let mut block = Vec::with_capacity(len);
                block.extend_from_slice(b"0\r\n");
                for (name, value) in t.iter() {
                    block.extend_from_slice(name);
                    block.extend_from_slice(b": ");
                    block.extend_from_slice(value);
                    block.extend_from_slice(CRLF);
                }
                block.extend_from_slice(CRLF);
                out.push(Bytes::from(block));
            }
            _ => out.push(Bytes::from_static(LAST_CHUNK)),
        }
        Ok(out)
    }

    /// Like [`Encoder::finish`], but a Content-Length body that is still short fails
    /// with [`EncodeError::LengthMismatch`] (Node's `strictContentLength`, RES-28).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use courier_proto::body::Encoder;
    ///
    /// let mut enc = Encoder::length(3);
    /// enc.encode(Bytes::from_static(b"abc"));
    /// assert!(enc.finish_strict(None)?.is_empty());
    /// # Ok::<(), courier_proto::body::EncodeError>(())
    /// ```
    pub fn finish_strict(&mut self, trailers: Option<&Headers>) -> Result<Encoded, EncodeError> {
        if let Self::Length { remaining } = *self {
            if remaining != 0 {
                return Err(EncodeError::LengthMismatch { remaining });
            }
        }
        self.finish(trailers)
    }
}

/// Writes `v` in lower-case hex (no leading zeros, `0` for zero) at the start of
/// `out`; returns the number of digits.
fn write_hex(out: &mut [u8], v: u64) -> usize {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digits = if v == 0 {
        1
    } else {
        (64 - v.leading_zeros() as usize).div_ceil(4)
    };
    for (i, slot) in out[..digits].iter_mut().enumerate() {
        let shift = 4 * (digits - 1 - i);
        *slot = DIGITS[((v >> shift) & 0xf) as usize];
    }
    digits
}

/// A non-empty run of tchars (RFC 9110).
fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_and_minimal() {
        let mut buf = [0u8; 16];
        for (v, s) in [
            (0u64, "0"),
            (1, "1"),
            (15, "f"),
            (16, "10"),
            (26, "1a"),
            (0xabcdef, "abcdef"),
            (u64::MAX, "ffffffffffffffff"),
        ] {
            let n = write_hex(&mut buf, v);
            assert_eq!(&buf[..n], s.as_bytes());
        }
    }

    fn trailers(fields: &[(&'static [u8], &'static [u8])]) -> Headers {
        let mut t = Headers::new();
        for &(n, v) in fields {
            t.push_unchecked(Bytes::from_static(n), Bytes::from_static(v));
        }
        t
    }

    #[test]
    fn unvalidated_trailers_cannot_break_the_framing() {
        // RES-20: names must be tokens (ERR_INVALID_HTTP_TOKEN), values field-value
        // bytes (ERR_INVALID_CHAR); a list built without `append` is checked too.
        let bad_names: &[&[u8]] = &[b"", b"a b", b"a:b", b"a\r\nb", b"\xe9"];
        for &name in bad_names {
            let t = trailers(&[(b"ok", b"1"), (name, b"v")]);
            assert_eq!(
                Encoder::Chunked.finish(Some(&t)),
                Err(EncodeError::InvalidTrailerName { index: 1 }),
                "{name:?}"
            );
        }
        let bad_values: &[&[u8]] = &[b"a\r\nX: y", b"a\nb", b"\0", b"\x7f"];
        for &value in bad_values {
            let t = trailers(&[(b"x", value)]);
            assert_eq!(
                Encoder::Chunked.finish(Some(&t)),
                Err(EncodeError::InvalidTrailerValue { index: 0 }),
                "{value:?}"
            );
        }
        let t = trailers(&[(b"X-Ok", b"a\tb \x80\xff~"), (b"e", b"")]);
        assert_eq!(
            Encoder::Chunked.finish(Some(&t)).map(|s| s.concat()),
            Ok(b"0\r\nX-Ok: a\tb \x80\xff~\r\ne: \r\n\r\n".to_vec())
        );
        // Dropped trailers are not checked: nothing of them reaches the wire (RES-20).
        let bad = trailers(&[(b"a b", b"\r\n")]);
        assert_eq!(Encoder::length(0).finish(Some(&bad)), Ok(Encoded::new()));
    }
}
