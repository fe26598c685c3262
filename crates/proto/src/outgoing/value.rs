//! Header values as an application hands them to an outgoing message (RES-2, RES-11,
//! RES-12).
//!
//! Node keeps a header value with its JavaScript type: a string, a number or an
//! array. Strings are written to the wire as Latin-1, one byte per character. A
//! [`HeaderValue`] holds the same three shapes, with strings already as those bytes.

use core::fmt;

use bytes::Bytes;

/// A header value as the application set it.
///
/// Build one with `From`: `&str`/`String` (Latin-1, see below), `Bytes`/`&[u8]`/`Vec<u8>`
/// (taken as they are), integers (`Int`) and vectors of those strings or byte strings
/// (`List`).
///
/// A `&str` goes on the wire as Latin-1: each char up to U+00FF becomes one byte. A
/// char above U+00FF has no Latin-1 byte; Node refuses such a value with
/// `ERR_INVALID_CHAR` (VAL-2), so the conversion puts a NUL byte in its place, which
/// every setter rejects with that same error. Such a value therefore never reaches
/// the wire.
///
/// ```
/// use bytes::Bytes;
/// use courier_proto::outgoing::HeaderValue;
///
/// assert_eq!(HeaderValue::from("text/plain"), HeaderValue::Text(Bytes::from_static(b"text/plain")));
/// assert_eq!(HeaderValue::from("é"), HeaderValue::Text(Bytes::from_static(b"\xe9")));
/// assert_eq!(HeaderValue::from(3u32), HeaderValue::Int(3));
/// assert_eq!(
///     HeaderValue::from(vec!["a=1", "b=2"]),
///     HeaderValue::List(vec![Bytes::from_static(b"a=1"), Bytes::from_static(b"b=2")])
/// );
/// // Displayed as JavaScript's `String(value)` would show it (arrays join with ",").
/// assert_eq!(HeaderValue::from(vec!["a", "é"]).to_string(), "a,é");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    /// One value, as the bytes that go on the wire (a string in Latin-1).
    Text(Bytes),
    /// A number (kept as a number for `get_header`, printed in decimal).
    Int(i64),
    /// Several values (one line each, RES-12).
    List(Vec<Bytes>),
}

impl HeaderValue {
    /// Whether this is a [`HeaderValue::List`].
    ///
    /// ```
    /// use courier_proto::outgoing::HeaderValue;
    /// assert!(HeaderValue::from(vec!["a"]).is_list());
    /// assert!(!HeaderValue::from("a").is_list());
    /// ```
    pub fn is_list(&self) -> bool {
        matches!(self, Self::List(_))
    }

    /// The single wire value of a `Text` or `Int` (an `Int` in decimal); `None` for a
    /// `List`.
    ///
    /// ```
    /// use courier_proto::outgoing::HeaderValue;
    /// assert_eq!(HeaderValue::from(-42).as_single().as_deref(), Some(&b"-42"[..]));
    /// assert_eq!(HeaderValue::from(vec!["a"]).as_single(), None);
    /// ```
    pub fn as_single(&self) -> Option<Bytes> {
        match self {
            Self::Text(b) => Some(b.clone()),
            Self::Int(n) => Some(int_bytes(*n)),
            Self::List(_) => None,
        }
    }

    /// The values this one turns into when it is appended to (`appendHeader`, RES-5):
    /// a list's elements, or the value itself.
    pub(crate) fn into_items(self) -> Vec<Bytes> {
        match self {
            Self::Text(b) => vec![b],
            Self::Int(n) => vec![int_bytes(n)],
            Self::List(v) => v,
        }
    }

    /// JavaScript truthiness of the stored value: an empty string and the number 0
    /// are falsy, every list (even an empty one) is truthy. Node's `ClientRequest`
    /// tests `getHeader('host')`, `getHeader('authorization')` and
    /// `getHeader('expect')` this way (CLI-9, CLI-13).
    pub(crate) fn is_truthy(&self) -> bool {
        match self {
            Self::Text(b) => !b.is_empty(),
            Self::Int(n) => *n != 0,
            Self::List(_) => true,
        }
    }

    /// JavaScript's `String(value)` as bytes: arrays join their elements with `,`.
    /// This is the text Node's value check looks at (VAL-2).
    pub(crate) fn joined(&self, sep: &[u8]) -> Bytes {
        match self {
            Self::List(v) => join(v, sep),
            other => other.as_single().unwrap_or_default(),
        }
    }
}

/// The decimal form of `n` as bytes.
pub(crate) fn int_bytes(n: i64) -> Bytes {
    let mut buf = itoa::Buffer::new();
    Bytes::copy_from_slice(buf.format(n).as_bytes())
}

/// `items` joined with `sep`.
pub(crate) fn join(items: &[Bytes], sep: &[u8]) -> Bytes {
    match items {
        [] => Bytes::new(),
        [one] => one.clone(),
        _ => {
            let len = items.iter().map(Bytes::len).sum::<usize>() + sep.len() * (items.len() - 1);
            let mut out = Vec::with_capacity(len);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(sep);
                }
                out.extend_from_slice(item);
            }
            Bytes::from(out)
        }
    }
}

/// `s` in Latin-1: one byte per char up to U+00FF, NUL for any char above (which
/// no value check lets through, as Node rejects those chars).
pub(crate) fn latin1_bytes(s: &str) -> Bytes {
    if s.is_ascii() {
        return Bytes::copy_from_slice(s.as_bytes());
    }
    Bytes::from(latin1_vec(s))
}

fn latin1_vec(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(0))
        .collect()
}

fn latin1_owned(s: String) -> Bytes {
    if s.is_ascii() {
        Bytes::from(s.into_bytes())
    } else {
        Bytes::from(latin1_vec(&s))
    }
}

impl From<&str> for HeaderValue {
    fn from(s: &str) -> Self {
        Self::Text(latin1_bytes(s))
    }
}

impl From<String> for HeaderValue {
    fn from(s: String) -> Self {
        Self::Text(latin1_owned(s))
    }
}

impl From<&String> for HeaderValue {
    fn from(s: &String) -> Self {
        Self::from(s.as_str())
    }
}

impl From<Bytes> for HeaderValue {
    fn from(b: Bytes) -> Self {
        Self::Text(b)
    }
}

impl From<&[u8]> for HeaderValue {
    fn from(b: &[u8]) -> Self {
        Self::Text(Bytes::copy_from_slice(b))
    }
}

impl From<Vec<u8>> for HeaderValue {
    fn from(b: Vec<u8>) -> Self {
        Self::Text(Bytes::from(b))
    }
}

macro_rules! from_small_int {
    ($($t:ty),*) => {$(
        impl From<$t> for HeaderValue {
            fn from(n: $t) -> Self {
                Self::Int(i64::from(n))
            }
        }
    )*};
}
from_small_int!(i8, u8, i16, u16, i32, u32, i64);

macro_rules! from_wide_int {
    ($($t:ty),*) => {$(
        /// Values above `i64::MAX` are kept as their exact decimal text.
        impl From<$t> for HeaderValue {
            fn from(n: $t) -> Self {
                match i64::try_from(n) {
                    Ok(n) => Self::Int(n),
                    Err(_) => Self::Text(Bytes::from(n.to_string())),
                }
            }
        }
    )*};
}
from_wide_int!(u64, usize);

impl From<Vec<&str>> for HeaderValue {
    fn from(v: Vec<&str>) -> Self {
        Self::List(v.into_iter().map(latin1_bytes).collect())
    }
}

impl From<&[&str]> for HeaderValue {
    fn from(v: &[&str]) -> Self {
        Self::List(v.iter().copied().map(latin1_bytes).collect())
    }
}

impl From<Vec<String>> for HeaderValue {
    fn from(v: Vec<String>) -> Self {
        Self::List(v.into_iter().map(latin1_owned).collect())
    }
}

impl From<Vec<Bytes>> for HeaderValue {
    fn from(v: Vec<Bytes>) -> Self {
        Self::List(v)
    }
}

/// JavaScript's `String(value)`: the bytes read as Latin-1, list elements joined
/// with `,`.
impl fmt::Display for HeaderValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn latin1(f: &mut fmt::Formatter<'_>, b: &[u8]) -> fmt::Result {
            b.iter()
                .try_for_each(|&c| fmt::Write::write_char(f, char::from(c)))
        }
        match self {
            Self::Text(b) => latin1(f, b),
            Self::Int(n) => write!(f, "{n}"),
            Self::List(v) => {
                for (i, item) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    latin1(f, item)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_conversion() {
        assert_eq!(latin1_bytes("aé\u{ff}"), Bytes::from_static(b"a\xe9\xff"));
        // Above U+00FF: a NUL, which the value check refuses.
        assert_eq!(latin1_bytes("ā😀"), Bytes::from_static(b"\0\0"));
        assert_eq!(
            HeaderValue::from(String::from("é")),
            HeaderValue::Text(Bytes::from_static(b"\xe9"))
        );
    }

    #[test]
    fn wide_integers() {
        assert_eq!(HeaderValue::from(7usize), HeaderValue::Int(7));
        assert_eq!(
            HeaderValue::from(u64::MAX),
            HeaderValue::Text(Bytes::from_static(b"18446744073709551615"))
        );
    }

    #[test]
    fn join_and_items() {
        let v = HeaderValue::from(vec!["a", "b"]);
        assert_eq!(v.joined(b"; "), Bytes::from_static(b"a; b"));
        assert_eq!(
            HeaderValue::from(5).into_items(),
            vec![Bytes::from_static(b"5")]
        );
        assert_eq!(HeaderValue::List(vec![]).joined(b","), Bytes::new());
    }
}
