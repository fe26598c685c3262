//! Misuses of an outgoing message, with Node's codes and messages.

use core::fmt;

use crate::validate::InvalidHeader;

/// A misuse of an outgoing message. [`OutgoingError::code`] is Node's `code` string
/// and `Display` is Node's message text.
///
/// ```
/// use courier_proto::outgoing::OutgoingError;
///
/// let e = OutgoingError::HeadersSent;
/// assert_eq!(e.code(), "ERR_HTTP_HEADERS_SENT");
/// assert_eq!(e.to_string(), "Cannot set headers after they are sent to the client");
/// assert_eq!(OutgoingError::InvalidStatusCode(99).to_string(), "Invalid status code: 99");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutgoingError {
    /// `ERR_HTTP_HEADERS_SENT` from `setHeader`/`setHeaders` (RES-2):
    /// `Cannot set headers after they are sent to the client`.
    HeadersSent,
    /// `ERR_HTTP_HEADERS_SENT` from `removeHeader` (RES-4):
    /// `Cannot remove headers after they are sent to the client`.
    HeadersSentRemove,
    /// `ERR_HTTP_HEADERS_SENT` from `appendHeader` (RES-5):
    /// `Cannot append headers after they are sent to the client`.
    HeadersSentAppend,
    /// `ERR_HTTP_HEADERS_SENT` from `writeHead` (RES-7), and here also from an
    /// interim response once the final header block left (RES-22):
    /// `Cannot write headers after they are sent to the client`.
    HeadersSentWrite,
    /// A header or trailer name or value, or the status message, failed Node's check
    /// (VAL-1 … VAL-3): `ERR_INVALID_HTTP_TOKEN`, `ERR_INVALID_CHAR` or
    /// `ERR_HTTP_INVALID_HEADER_VALUE`, with Node's message.
    InvalidHeader(InvalidHeader),
    /// `ERR_HTTP_INVALID_STATUS_CODE` (RES-7, RES-10): `Invalid status code: <n>`.
    InvalidStatusCode(u16),
    /// `ERR_HTTP_TRAILER_INVALID` (RES-20): a `Trailer` field on a message that is
    /// not chunked. `Trailers are invalid with this transfer encoding`.
    TrailerInvalid,
    /// `ERR_HTTP_BODY_NOT_ALLOWED` (RES-16, with `rejectNonStandardBodyWrites`):
    /// `Adding content for this request method or response status is not allowed.`
    BodyNotAllowed,
    /// `ERR_HTTP_CONTENT_LENGTH_MISMATCH` (RES-28, `strictContentLength`).
    ContentLengthMismatch {
        /// Body bytes the message would have carried.
        actual: u64,
        /// The Content-Length field's value as JavaScript reads it (`+value`).
        expected: JsNumber,
    },
    /// `ERR_STREAM_WRITE_AFTER_END` (RES-25): `write after end`.
    WriteAfterEnd,
    /// `ERR_STREAM_DESTROYED` (RES-25): `Cannot call write after a stream was destroyed`.
    Destroyed,
    /// `ERR_STREAM_ALREADY_FINISHED` (RES-24): `Cannot call end after a stream was
    /// finished`. The message itself never fails with it (a second `end()` is a
    /// no-op); the connection reports it to an `end` callback given after `'finish'`.
    AlreadyFinished,
    /// `ERR_INVALID_ARG_VALUE` from `writeEarlyHints` (RES-22): a link does not have
    /// the form `<uri>; param=value …`.
    InvalidHints {
        /// Node's `util.inspect` of the rejected link (quoted, at most 128 chars + `...`).
        received: String,
    },
    /// `ERR_UNESCAPED_CHARACTERS` (CLI-4): a request path holds a char outside
    /// U+0021 … U+00FF. `Request path contains unescaped characters`.
    UnescapedPath,
    /// `ERR_INVALID_PROTOCOL` (CLI-3): the request's `protocol` is not its agent's.
    /// `Protocol "https:" not supported. Expected "http:"`.
    InvalidProtocol {
        /// The `protocol` option.
        protocol: String,
        /// The agent's protocol.
        expected: String,
    },
    /// `URIError: URI malformed` (CLI-1): a URL's username or password holds a `%`
    /// not followed by two hex digits, or percent-encoded bytes that are not UTF-8,
    /// so `decodeURIComponent` fails while the URL becomes request options.
    ///
    /// Node throws a plain `URIError`, which has a `name` and no `code`; here
    /// [`OutgoingError::code`] answers that name, `"URIError"`.
    UriMalformed,
}

impl OutgoingError {
    /// `ERR_HTTP_CONTENT_LENGTH_MISMATCH` for `actual` body bytes against the
    /// header's `expected` (a JavaScript number, RES-28).
    pub(crate) fn length_mismatch(actual: u64, expected: f64) -> Self {
        Self::ContentLengthMismatch {
            actual,
            expected: JsNumber(expected),
        }
    }

    /// Node's code.
    ///
    /// ```
    /// use courier_proto::outgoing::OutgoingError;
    /// assert_eq!(OutgoingError::WriteAfterEnd.code(), "ERR_STREAM_WRITE_AFTER_END");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Self::HeadersSent
            | Self::HeadersSentRemove
            | Self::HeadersSentAppend
            | Self::HeadersSentWrite => "ERR_HTTP_HEADERS_SENT",
            Self::InvalidHeader(e) => e.code(),
            Self::InvalidStatusCode(_) => "ERR_HTTP_INVALID_STATUS_CODE",
            Self::TrailerInvalid => "ERR_HTTP_TRAILER_INVALID",
            Self::BodyNotAllowed => "ERR_HTTP_BODY_NOT_ALLOWED",
            Self::ContentLengthMismatch { .. } => "ERR_HTTP_CONTENT_LENGTH_MISMATCH",
            Self::WriteAfterEnd => "ERR_STREAM_WRITE_AFTER_END",
            Self::Destroyed => "ERR_STREAM_DESTROYED",
            Self::AlreadyFinished => "ERR_STREAM_ALREADY_FINISHED",
            Self::InvalidHints { .. } => "ERR_INVALID_ARG_VALUE",
            Self::UnescapedPath => "ERR_UNESCAPED_CHARACTERS",
            Self::InvalidProtocol { .. } => "ERR_INVALID_PROTOCOL",
            Self::UriMalformed => "URIError",
        }
    }
}

impl fmt::Display for OutgoingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sent = |f: &mut fmt::Formatter<'_>, op: &str| {
            write!(f, "Cannot {op} headers after they are sent to the client")
        };
        match self {
            Self::HeadersSent => sent(f, "set"),
            Self::HeadersSentRemove => sent(f, "remove"),
            Self::HeadersSentAppend => sent(f, "append"),
            Self::HeadersSentWrite => sent(f, "write"),
            Self::InvalidHeader(e) => f.write_str(e.message()),
            Self::InvalidStatusCode(n) => write!(f, "Invalid status code: {n}"),
            Self::TrailerInvalid => f.write_str("Trailers are invalid with this transfer encoding"),
            Self::BodyNotAllowed => f.write_str(
                "Adding content for this request method or response status is not allowed.",
            ),
            Self::ContentLengthMismatch { actual, expected } => write!(
                f,
                "Response body's content-length of {actual} byte(s) does not match the \
                 content-length of {expected} byte(s) set in header"
            ),
            Self::WriteAfterEnd => f.write_str("write after end"),
            Self::Destroyed => f.write_str("Cannot call write after a stream was destroyed"),
            Self::AlreadyFinished => f.write_str("Cannot call end after a stream was finished"),
            Self::InvalidHints { received } => write!(
                f,
                "The argument 'hints' must be an array or string of format \
                 \"</styles.css>; rel=preload; as=style\". Received {received}"
            ),
            Self::UnescapedPath => f.write_str("Request path contains unescaped characters"),
            Self::InvalidProtocol { protocol, expected } => {
                write!(
                    f,
                    "Protocol \"{protocol}\" not supported. Expected \"{expected}\""
                )
            }
            Self::UriMalformed => f.write_str("URI malformed"),
        }
    }
}

impl std::error::Error for OutgoingError {}

impl From<InvalidHeader> for OutgoingError {
    fn from(e: InvalidHeader) -> Self {
        Self::InvalidHeader(e)
    }
}

/// A JavaScript number, as Node holds the value of a `Content-Length` field it
/// compares against with `strictContentLength` (`+value`: `"5"` → 5, `" 0x3 "` → 3,
/// `"abc"` → NaN). `Display` prints it as JavaScript does.
///
/// ```
/// use courier_proto::outgoing::JsNumber;
/// assert_eq!(JsNumber(5.0).to_string(), "5");
/// assert_eq!(JsNumber(2.5).to_string(), "2.5");
/// assert_eq!(JsNumber(f64::NAN).to_string(), "NaN");
/// assert_eq!(JsNumber(1e21).to_string(), "1e+21");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct JsNumber(pub f64);

/// Bitwise equality (so that `NaN == NaN`, as two equal errors should compare equal).
impl PartialEq for JsNumber {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits() || (self.0.is_nan() && other.0.is_nan())
    }
}

impl Eq for JsNumber {}

impl fmt::Display for JsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        if x.is_nan() {
            f.write_str("NaN")
        } else if x.is_infinite() {
            f.write_str(if x > 0.0 { "Infinity" } else { "-Infinity" })
        } else if x == 0.0 {
            // `util.format('%s', -0)` keeps the sign.
            f.write_str(if x.is_sign_negative() { "-0" } else { "0" })
        } else if x.abs() >= 1e21 || x.abs() < 1e-6 {
            let s = format!("{x:e}");
            match s.split_once('e') {
                Some((m, e)) if !e.starts_with('-') => write!(f, "{m}e+{e}"),
                _ => f.write_str(&s),
            }
        } else {
            write!(f, "{x}")
        }
    }
}

/// JavaScript's `+value` for a header value read as Latin-1 (`StringToNumber`).
pub(crate) fn js_to_number(value: &[u8]) -> f64 {
    let is_ws = |b: &u8| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0xa0);
    let start = value.iter().position(|b| !is_ws(b)).unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_ws(b))
        .map_or(start, |i| i + 1);
    let s = &value[start..end];
    if s.is_empty() {
        return 0.0;
    }
    let radix = match s {
        [b'0', b'x' | b'X', ..] => Some(16),
        [b'0', b'o' | b'O', ..] => Some(8),
        [b'0', b'b' | b'B', ..] => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        let digits = &s[2..];
        if digits.is_empty() {
            return f64::NAN;
        }
        let mut n = 0.0f64;
        for &d in digits {
            match char::from(d).to_digit(radix) {
                Some(v) => n = n * f64::from(radix) + f64::from(v),
                None => return f64::NAN,
            }
        }
        return n;
    }
    let (sign, body) = match s {
        [b'-', rest @ ..] => (-1.0, rest),
        [b'+', rest @ ..] => (1.0, rest),
        _ => (1.0, s),
    };
    if body == b"Infinity" {
        return sign * f64::INFINITY;
    }
    if !is_decimal_literal(body) {
        return f64::NAN;
    }
    // The grammar was checked above and is a subset of what `f64::from_str` takes.
    core::str::from_utf8(body)
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .map_or(f64::NAN, |v| sign * v)
}

/// `digits ["." [digits]] [exp]` or `"." digits [exp]` (no sign).
fn is_decimal_literal(s: &[u8]) -> bool {
    let digits = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
    let int = digits(s);
    let mut i = int;
    let mut frac = 0;
    if s.get(i) == Some(&b'.') {
        i += 1;
        frac = digits(&s[i..]);
        i += frac;
    }
    if int == 0 && frac == 0 {
        return false;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = digits(&s[i..]);
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_number_follows_javascript() {
        let cases: &[(&[u8], f64)] = &[
            (b"5", 5.0),
            (b" 5\t", 5.0),
            (b"", 0.0),
            (b"  ", 0.0),
            (b"0x10", 16.0),
            (b" 0x3 ", 3.0),
            (b"0b11", 3.0),
            (b"0o17", 15.0),
            (b"1e3", 1000.0),
            (b".5", 0.5),
            (b"5.", 5.0),
            (b"-2", -2.0),
            (b"+Infinity", f64::INFINITY),
            (b"\xa05", 5.0),
        ];
        for &(s, v) in cases {
            assert_eq!(js_to_number(s), v, "{s:?}");
        }
        for s in [
            &b"abc"[..],
            b"5x",
            b"0x",
            b"-0x5",
            b"1e",
            b".",
            b"inf",
            b"NaN",
            b"1 2",
        ] {
            assert!(js_to_number(s).is_nan(), "{s:?}");
        }
    }

    #[test]
    fn numbers_print_like_javascript() {
        assert_eq!(JsNumber(-0.0).to_string(), "-0");
        assert_eq!(JsNumber(1e-7).to_string(), "1e-7");
        assert_eq!(JsNumber(123456789.0).to_string(), "123456789");
        assert_eq!(JsNumber(f64::NEG_INFINITY).to_string(), "-Infinity");
        assert_eq!(JsNumber(f64::NAN), JsNumber(f64::NAN));
    }
}
