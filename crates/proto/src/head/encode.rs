//! Head serialization: request lines, status lines and field lines.
//!
//! These write exactly what they are given, after checking that nothing can break the
//! framing: no CR, LF or NUL (or any byte outside its class) reaches the wire from a
//! method, target, reason phrase, field name or field value (VAL-1, VAL-2, RES-7).
//! Node's policy (which automatic headers to add, RES-10 … RES-18) is the job of the
//! outgoing-message encoder built on top of these.

use bytes::{BufMut, BytesMut};

use super::Version;
use crate::chars::{is_field_value_byte, is_tchar};
use crate::headers::Headers;

/// Why a head could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeadError {
    /// The method is not a token (`ERR_INVALID_HTTP_TOKEN`, CLI-6).
    InvalidMethod,
    /// The request-target holds a byte outside U+0021..U+00FF (`ERR_UNESCAPED_CHARACTERS`, CLI-4).
    InvalidTarget,
    /// The status code is outside 100..=999 (`ERR_HTTP_INVALID_STATUS_CODE`, RES-7).
    InvalidStatus,
    /// The reason phrase holds a byte that is not a field-value byte (`ERR_INVALID_CHAR`, RES-7).
    InvalidReason,
    /// A field name is not a token (`ERR_INVALID_HTTP_TOKEN`, VAL-1).
    InvalidFieldName,
    /// A field value holds a forbidden byte (`ERR_INVALID_CHAR`, VAL-2).
    InvalidFieldValue,
}

impl HeadError {
    /// Node's error code for this problem.
    pub const fn code(self) -> &'static str {
        match self {
            Self::InvalidMethod | Self::InvalidFieldName => "ERR_INVALID_HTTP_TOKEN",
            Self::InvalidTarget => "ERR_UNESCAPED_CHARACTERS",
            Self::InvalidStatus => "ERR_HTTP_INVALID_STATUS_CODE",
            Self::InvalidReason | Self::InvalidFieldValue => "ERR_INVALID_CHAR",
        }
    }
}

impl core::fmt::Display for HeadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for HeadError {}

fn put_version(v: Version, dst: &mut BytesMut) {
    dst.put_slice(b"HTTP/");
    dst.put_u8(b'0' + v.major % 10);
    dst.put_u8(b'.');
    dst.put_u8(b'0' + v.minor % 10);
}

/// Writes `METHOD SP target SP HTTP/x.y CRLF`, the field lines and the empty line.
///
/// ```
/// use bytes::BytesMut;
/// use courier_proto::{Headers, Version};
/// use courier_proto::head::encode::write_request_head;
///
/// let mut h = Headers::new();
/// h.append("Host", "example.com").unwrap();
/// let mut out = BytesMut::new();
/// write_request_head("GET", b"/a?b", Version::HTTP_11, &h, &mut out).unwrap();
/// assert_eq!(&out[..], b"GET /a?b HTTP/1.1\r\nHost: example.com\r\n\r\n");
/// ```
pub fn write_request_head(
    method: &str,
    target: &[u8],
    version: Version,
    headers: &Headers,
    dst: &mut BytesMut,
) -> Result<(), HeadError> {
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(HeadError::InvalidMethod);
    }
    if target.is_empty() || !target.iter().all(|&b| b > 0x20 && b != 0x7f) {
        return Err(HeadError::InvalidTarget);
    }
    check_fields(headers)?;
    dst.reserve(method.len() + target.len() + 12 + fields_len(headers) + 2);
    dst.put_slice(method.as_bytes());
    dst.put_u8(b' ');
    dst.put_slice(target);
    dst.put_u8(b' ');
    put_version(version, dst);
    dst.put_slice(b"\r\n");
    put_fields(headers, dst);
    dst.put_slice(b"\r\n");
    Ok(())
}

/// Writes `HTTP/x.y SP code SP reason CRLF`, the field lines and the empty line.
/// An empty reason keeps the space (RES-9).
///
/// ```
/// use bytes::BytesMut;
/// use courier_proto::{Headers, Version};
/// use courier_proto::head::encode::write_response_head;
///
/// let mut out = BytesMut::new();
/// write_response_head(Version::HTTP_11, 200, b"", &Headers::new(), &mut out).unwrap();
/// assert_eq!(&out[..], b"HTTP/1.1 200 \r\n\r\n");
/// ```
pub fn write_response_head(
    version: Version,
    status: u16,
    reason: &[u8],
    headers: &Headers,
    dst: &mut BytesMut,
) -> Result<(), HeadError> {
    if !(100..=999).contains(&status) {
        return Err(HeadError::InvalidStatus);
    }
    if !reason.iter().all(|&b| is_field_value_byte(b)) {
        return Err(HeadError::InvalidReason);
    }
    check_fields(headers)?;
    dst.reserve(15 + reason.len() + fields_len(headers) + 2);
    put_version(version, dst);
    dst.put_u8(b' ');
    let mut code = itoa::Buffer::new();
    dst.put_slice(code.format(status).as_bytes());
    dst.put_u8(b' ');
    dst.put_slice(reason);
    dst.put_slice(b"\r\n");
    put_fields(headers, dst);
    dst.put_slice(b"\r\n");
    Ok(())
}

/// Checks every field again at encode time (they were checked when set, but a
/// `Headers` may have been built from parsed input in lenient mode).
pub(crate) fn check_fields(headers: &Headers) -> Result<(), HeadError> {
    for f in headers {
        if f.name().is_empty() || !f.name().iter().all(|&b| is_tchar(b)) {
            return Err(HeadError::InvalidFieldName);
        }
        if !f.value().iter().all(|&b| is_field_value_byte(b)) {
            return Err(HeadError::InvalidFieldValue);
        }
    }
    Ok(())
}

fn fields_len(headers: &Headers) -> usize {
    headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum()
}

/// Writes `name: value CRLF` per field; the caller has checked them.
pub(crate) fn put_fields(headers: &Headers, dst: &mut BytesMut) {
    for (n, v) in headers.iter() {
        dst.put_slice(n);
        dst.put_slice(b": ");
        dst.put_slice(v);
        dst.put_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_cr_lf_or_nul_reaches_the_wire() {
        let mut out = BytesMut::new();
        assert_eq!(
            write_request_head("GE T", b"/", Version::HTTP_11, &Headers::new(), &mut out),
            Err(HeadError::InvalidMethod)
        );
        assert_eq!(
            write_request_head("GET", b"/a b", Version::HTTP_11, &Headers::new(), &mut out),
            Err(HeadError::InvalidTarget)
        );
        assert_eq!(
            write_response_head(
                Version::HTTP_11,
                200,
                b"OK\r\nX: y",
                &Headers::new(),
                &mut out
            ),
            Err(HeadError::InvalidReason)
        );
        assert_eq!(
            write_response_head(Version::HTTP_11, 99, b"", &Headers::new(), &mut out),
            Err(HeadError::InvalidStatus)
        );
        assert!(out.is_empty(), "nothing is written when a check fails");
        assert_eq!(HeadError::InvalidTarget.code(), "ERR_UNESCAPED_CHARACTERS");
    }
}
