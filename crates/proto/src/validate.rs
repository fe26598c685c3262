//! Header name and value validation: Node's `validateHeaderName` and
//! `validateHeaderValue` (VAL-1 … VAL-3) with Node's codes and messages.
//!
//! Names must be non-empty tokens (CONST-9 tchar). Values may hold HTAB, `0x20..=0x7E`
//! and `0x80..=0xFF`. The `&str` functions apply Node's rule to characters: a char
//! above U+00FF (`ā`, an emoji) is rejected, U+0080 … U+00FF are accepted. The byte
//! functions treat each byte as one Latin-1 character, so `0x80..=0xFF` are accepted.
//!
//! ```
//! use courier_proto::validate::{validate_header_name, validate_header_value};
//!
//! assert!(validate_header_name("X-Request-Id").is_ok());
//! let err = validate_header_name("a b").unwrap_err();
//! assert_eq!(err.code(), "ERR_INVALID_HTTP_TOKEN");
//! assert_eq!(err.message(), r#"Header name must be a valid HTTP token ["a b"]"#);
//!
//! let err = validate_header_value("x-foo", Some("a\r\nb")).unwrap_err();
//! assert_eq!(err.code(), "ERR_INVALID_CHAR");
//! assert_eq!(err.message(), r#"Invalid character in header content ["x-foo"]"#);
//! ```

use crate::chars::{is_field_value_byte, is_tchar};
use core::fmt;

/// The label Node puts before `must be a valid HTTP token` for header names.
pub const HEADER_NAME: &str = "Header name";
/// The label Node uses for trailer names (`addTrailers`, VAL-3).
pub const TRAILER_NAME: &str = "Trailer name";
/// The label Node uses for a request method (VAL-3).
pub const METHOD: &str = "Method";
/// The label Node puts after `Invalid character in` for header values.
pub const HEADER_CONTENT: &str = "header content";
/// The label Node uses for trailer values (`addTrailers`, VAL-3).
pub const TRAILER_CONTENT: &str = "trailer content";

/// Which of Node's checks failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidHeaderKind {
    /// `ERR_INVALID_HTTP_TOKEN`: a name is empty or holds a non-tchar (VAL-1).
    InvalidToken,
    /// `ERR_HTTP_INVALID_HEADER_VALUE`: the value is missing (Node: `undefined`, VAL-2).
    MissingValue,
    /// `ERR_INVALID_CHAR`: a value holds a character outside the field-value class (VAL-2).
    InvalidChar,
}

impl InvalidHeaderKind {
    /// Node's error code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::InvalidToken => "ERR_INVALID_HTTP_TOKEN",
            Self::MissingValue => "ERR_HTTP_INVALID_HEADER_VALUE",
            Self::InvalidChar => "ERR_INVALID_CHAR",
        }
    }
}

/// A header name or value that Node would refuse. Node throws these as `TypeError`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidHeader {
    kind: InvalidHeaderKind,
    message: String,
}

impl InvalidHeader {
    /// `<label> must be a valid HTTP token ["<name>"]` (VAL-1).
    fn token(label: &str, name: &str) -> Self {
        Self {
            kind: InvalidHeaderKind::InvalidToken,
            message: format!("{label} must be a valid HTTP token [\"{name}\"]"),
        }
    }

    /// `Invalid value "undefined" for header "<name>"` (VAL-2).
    fn missing(name: &str) -> Self {
        Self {
            kind: InvalidHeaderKind::MissingValue,
            message: format!("Invalid value \"undefined\" for header \"{name}\""),
        }
    }

    /// `Invalid character in <label> ["<name>"]` (VAL-2).
    fn char(label: &str, name: &str) -> Self {
        Self {
            kind: InvalidHeaderKind::InvalidChar,
            message: format!("Invalid character in {label} [\"{name}\"]"),
        }
    }

    /// Which check failed.
    pub fn kind(&self) -> InvalidHeaderKind {
        self.kind
    }

    /// Node's error code: `ERR_INVALID_HTTP_TOKEN`, `ERR_INVALID_CHAR` or `ERR_HTTP_INVALID_HEADER_VALUE`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// Node's message text.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message)
    }
}

impl std::error::Error for InvalidHeader {}

/// Whether `name` is a non-empty token.
#[inline]
fn is_token(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| is_tchar(b))
}

/// Whether every byte is a field-value byte.
///
/// The test is arithmetic rather than a table lookup so that the compiler can check
/// many bytes per instruction; chunks keep the early exit for long bad values. What
/// is left (most values are short) goes 8 bytes at a time through [`word_plain`],
/// the last word overlapping the one before, so that a value of 8 bytes or more
/// needs no byte-by-byte pass unless a word holds a tab or a bad byte.
#[inline]
fn all_field_value_bytes(value: &[u8]) -> bool {
    // The last 8 bytes of the value (some may be checked twice).
    let Some(last) = value.len().checked_sub(8) else {
        return all_field_value_bytes_exact(value);
    };
    let mut at = 0;
    if value.len() >= 32 {
        if !chunks_ok(value) {
            return false;
        }
        at = value.len() / 32 * 32;
    }
    let word = |at: usize| {
        value
            .get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .is_some_and(|w| word_plain(u64::from_le_bytes(w)))
    };
    while at < last {
        if !word(at) {
            // A tab (allowed) also lands here: the exact test decides.
            return all_field_value_bytes_exact(&value[at..]);
        }
        at += 8;
    }
    word(last) || all_field_value_bytes_exact(&value[last..])
}

/// Whether every whole 32-byte chunk of `value` holds field-value bytes only.
#[inline(never)]
fn chunks_ok(value: &[u8]) -> bool {
    value
        .chunks_exact(32)
        .all(|chunk| chunk.iter().fold(true, |ok, &b| ok & value_byte_ok(b)))
}

/// [`all_field_value_bytes`] a byte at a time.
#[inline]
fn all_field_value_bytes_exact(value: &[u8]) -> bool {
    value.iter().all(|&b| is_field_value_byte(b))
}

/// Whether none of the 8 bytes of `x` is below `0x20` or `0x7F` (a `false` may be
/// wrong only for a word that holds such a byte, or a tab).
#[inline(always)]
const fn word_plain(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A byte below 0x20 (bytes from 0x80 up never count), then a 0x7F.
    let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGHS;
    let y = x ^ (ONES * 0x7f);
    let del = y.wrapping_sub(ONES) & !y & HIGHS;
    (below_space | del) == 0
}

#[inline(always)]
const fn value_byte_ok(b: u8) -> bool {
    ((b >= 0x20) & (b != 0x7f)) | (b == b'\t')
}

/// Whether the characters of `value` are all field-value characters.
///
/// `value` is UTF-8, so every char above U+00FF starts with a byte `>= 0xC4`, while
/// U+0080 … U+00FF are `0xC2`/`0xC3` followed by a continuation byte (`0x80..=0xBF`).
/// Rejecting the bytes `>= 0xC4` therefore rejects exactly the chars above U+00FF.
#[inline]
fn all_field_value_chars(value: &str) -> bool {
    let mut chunks = value.as_bytes().chunks_exact(32);
    for chunk in &mut chunks {
        if !chunk.iter().fold(true, |ok, &b| ok & str_byte_ok(b)) {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| str_byte_ok(b))
}

#[inline(always)]
fn str_byte_ok(b: u8) -> bool {
    value_byte_ok(b) & (b < 0xc4)
}

/// Node's `validateHeaderName(name)`: `name` must be a non-empty token (VAL-1).
///
/// Fails with `ERR_INVALID_HTTP_TOKEN`, message
/// `Header name must be a valid HTTP token ["<name>"]`.
pub fn validate_header_name(name: &str) -> Result<(), InvalidHeader> {
    validate_token(HEADER_NAME, name)
}

/// Node's `validateHeaderName(name, label)`: like [`validate_header_name`] with another
/// label in the message, e.g. [`TRAILER_NAME`] or [`METHOD`] (VAL-1, VAL-3).
///
/// ```
/// use courier_proto::validate::{METHOD, validate_token};
/// let err = validate_token(METHOD, "GE T").unwrap_err();
/// assert_eq!(err.message(), r#"Method must be a valid HTTP token ["GE T"]"#);
/// ```
pub fn validate_token(label: &str, name: &str) -> Result<(), InvalidHeader> {
    if is_token(name.as_bytes()) {
        Ok(())
    } else {
        Err(InvalidHeader::token(label, name))
    }
}

/// Node's `validateHeaderValue(name, value)` (VAL-2). `None` stands for `undefined`.
///
/// Fails with `ERR_HTTP_INVALID_HEADER_VALUE` (`Invalid value "undefined" for header
/// "<name>"`) for `None`, and with `ERR_INVALID_CHAR` (`Invalid character in header
/// content ["<name>"]`) when a char is not HTAB, `' '..='~'` or U+0080 … U+00FF. The
/// name itself is not checked.
pub fn validate_header_value(name: &str, value: Option<&str>) -> Result<(), InvalidHeader> {
    match value {
        None => Err(InvalidHeader::missing(name)),
        Some(v) => validate_value_chars(HEADER_CONTENT, name, v),
    }
}

/// The character check of [`validate_header_value`] with another label in the message,
/// e.g. [`TRAILER_CONTENT`] for `addTrailers` (VAL-3): `Invalid character in <label>
/// ["<name>"]`. There is no missing-value case: `addTrailers` stringifies its values.
pub fn validate_value_chars(label: &str, name: &str, value: &str) -> Result<(), InvalidHeader> {
    if all_field_value_chars(value) {
        Ok(())
    } else {
        Err(InvalidHeader::char(label, name))
    }
}

/// The check `writeHead` applies to the final reason phrase (RES-7, VAL-3): every char
/// must be a field-value char, else `ERR_INVALID_CHAR` with the message
/// `Invalid character in statusMessage`.
pub fn validate_status_message(reason: &str) -> Result<(), InvalidHeader> {
    if all_field_value_chars(reason) {
        Ok(())
    } else {
        Err(InvalidHeader {
            kind: InvalidHeaderKind::InvalidChar,
            message: "Invalid character in statusMessage".to_owned(),
        })
    }
}

/// [`validate_header_name`] for raw bytes (each byte one Latin-1 char in the message).
pub fn validate_header_name_bytes(name: &[u8]) -> Result<(), InvalidHeader> {
    validate_token_bytes(HEADER_NAME, name)
}

/// [`validate_token`] for raw bytes (each byte one Latin-1 char in the message).
pub fn validate_token_bytes(label: &str, name: &[u8]) -> Result<(), InvalidHeader> {
    if is_token(name) {
        Ok(())
    } else {
        Err(InvalidHeader::token(label, &crate::headers::latin1(name)))
    }
}

/// [`validate_header_value`] for raw bytes: `0x80..=0xFF` are accepted, as Node
/// accepts U+0080 … U+00FF. `None` stands for `undefined`.
pub fn validate_header_value_bytes(name: &[u8], value: Option<&[u8]>) -> Result<(), InvalidHeader> {
    match value {
        None => Err(InvalidHeader::missing(&crate::headers::latin1(name))),
        Some(v) => validate_value_bytes(HEADER_CONTENT, name, v),
    }
}

/// [`validate_value_chars`] for raw bytes.
#[inline]
pub fn validate_value_bytes(label: &str, name: &[u8], value: &[u8]) -> Result<(), InvalidHeader> {
    if all_field_value_bytes(value) {
        Ok(())
    } else {
        Err(invalid_value_char(label, name))
    }
}

/// The error of [`validate_value_bytes`] (out of line: the check is inlined).
#[cold]
#[inline(never)]
fn invalid_value_char(label: &str, name: &[u8]) -> InvalidHeader {
    InvalidHeader::char(label, &crate::headers::latin1(name))
}

/// The name check behind [`crate::Headers::append`] and [`crate::Headers::set`].
#[inline]
pub(crate) fn check_name(name: &[u8]) -> Result<(), InvalidHeader> {
    validate_header_name_bytes(name)
}

/// The value check behind [`crate::Headers::append`] and [`crate::Headers::set`].
#[inline]
pub(crate) fn check_value(name: &[u8], value: &[u8]) -> Result<(), InvalidHeader> {
    validate_value_bytes(HEADER_CONTENT, name, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_test_agrees_with_the_table() {
        let bytes_ok = |v: &[u8]| v.iter().all(|&b| is_field_value_byte(b));
        // Each byte value at each position of values of every length up to 40,
        // among plain and non-ASCII neighbours.
        for len in 1..=40usize {
            for at in 0..len {
                for b in 0..=255u8 {
                    for fill in [b'a', 0xe9, b'\t'] {
                        let mut v = vec![fill; len];
                        v[at] = b;
                        assert_eq!(
                            all_field_value_bytes(&v),
                            bytes_ok(&v),
                            "byte {b:#x} at {at} of {len}, fill {fill:#x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn tables_match_const_9() {
        let tchars: Vec<u8> = (0..=255u8).filter(|&b| is_tchar(b)).collect();
        let mut expected: Vec<u8> = b"!#$%&'*+-.^_`|~".to_vec();
        expected.extend(b'0'..=b'9');
        expected.extend(b'A'..=b'Z');
        expected.extend(b'a'..=b'z');
        expected.sort_unstable();
        assert_eq!(tchars, expected);
        for b in 0..=255u8 {
            let expected = b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80;
            assert_eq!(is_field_value_byte(b), expected, "byte {b:#04x}");
            assert_eq!(value_byte_ok(b), expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn char_rule_matches_code_points() {
        for c in (0u32..0x400)
            .chain([0xfeff, 0x1f600])
            .filter_map(char::from_u32)
        {
            let expected =
                c == '\t' || (' '..='~').contains(&c) || ('\u{80}'..='\u{ff}').contains(&c);
            let s = format!("{c}{c}");
            assert_eq!(all_field_value_chars(&s), expected, "{:#x}", c as u32);
        }
    }

    #[test]
    fn long_values_check_every_chunk() {
        let mut v = vec![b'a'; 100];
        assert!(all_field_value_bytes(&v));
        for i in [0, 31, 32, 63, 64, 95, 96, 99] {
            v[i] = b'\n';
            assert!(!all_field_value_bytes(&v), "bad byte at {i}");
            v[i] = b'a';
        }
    }
}
