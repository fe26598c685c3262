//! The URL form of `http.request(url[, options])` (CLI-1), without a URL parser.
//!
//! Node turns a URL into request options with `urlToHttpOptions` and then copies the
//! caller's `options` over them (`Object.assign`). Parsing the URL string is the
//! WHATWG URL Standard's job, done outside this crate (the adapters use the `url`
//! crate, which implements the same standard as Node's `new URL()`); what this
//! module takes is the parsed URL's parts, as the WHATWG URL API exposes them
//! ([`UrlParts`]), and it does the rest:
//!
//! * [`UrlParts::to_options`] is `urlToHttpOptions`: `protocol`; `hostname` without
//!   the brackets of an IPv6 literal; `port` when the URL has one; `path` =
//!   `pathname + search` (the fragment is dropped); `auth` =
//!   `decodeURIComponent(username) + ':' + decodeURIComponent(password)` when either
//!   is non-empty. A malformed percent-sequence in the user info fails with
//!   [`OutgoingError::UriMalformed`], as Node's `URIError: URI malformed`.
//! * [`RequestOptions::with_url`] is the merge: every option the caller gave wins
//!   over the URL's.
//!
//! ```
//! use courier_proto::outgoing::{ClientRequest, RequestOptions, UrlParts};
//!
//! // new URL('http://u:p@127.0.0.1:3000/p?q=1#h'), as the URL API exposes it.
//! let url = UrlParts {
//!     protocol: "http:".into(),
//!     hostname: "127.0.0.1".into(),
//!     port: Some(3000),
//!     pathname: "/p".into(),
//!     search: "?q=1".into(),
//!     hash: "#h".into(),
//!     username: "u".into(),
//!     password: "p".into(),
//! };
//! // http.get(url)
//! let mut req = ClientRequest::new(RequestOptions::default().with_url(&url)?)?;
//! req.end(None)?;
//! let mut wire = std::collections::VecDeque::new();
//! req.take_output(&mut wire);
//! assert_eq!(
//!     wire.make_contiguous().concat(),
//!     b"GET /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n\
//!       Authorization: Basic dTpw\r\nConnection: keep-alive\r\n\r\n"
//! );
//! # Ok::<(), courier_proto::outgoing::OutgoingError>(())
//! ```

use super::error::OutgoingError;
use super::request::RequestOptions;

/// The parts of a parsed WHATWG URL that Node's `urlToHttpOptions` reads, as the
/// URL API (`new URL(…)`) exposes them: normalised, and still percent-encoded.
///
/// Fill it from whatever parsed the URL. With the `url` crate (WHATWG, like Node):
///
/// ```
/// use courier_proto::outgoing::UrlParts;
///
/// /// `url`'s getters without the `:`, `?` and `#` that the URL API's have, and
/// /// with `None` where the URL API has an empty string.
/// fn parts(u: &url::Url) -> UrlParts {
///     let with = |mark: &str, s: Option<&str>| match s {
///         Some(s) if !s.is_empty() => format!("{mark}{s}"),
///         _ => String::new(),
///     };
///     UrlParts {
///         protocol: format!("{}:", u.scheme()),
///         hostname: u.host_str().unwrap_or_default().to_owned(),
///         port: u.port(),
///         pathname: u.path().to_owned(),
///         search: with("?", u.query()),
///         hash: with("#", u.fragment()),
///         username: u.username().to_owned(),
///         password: u.password().unwrap_or_default().to_owned(),
///     }
/// }
///
/// let u = url::Url::parse("HTTP://a%40b:p%C3%A4ss@[::1]:80/x y?z#f").unwrap();
/// let p = parts(&u);
/// assert_eq!(p.hostname, "[::1]");
/// assert_eq!(p.port, None); // 80 is http's default port: the URL API says ""
/// assert_eq!(p.path(), "/x%20y?z");
/// assert_eq!(p.hostname_option(), "::1");
/// assert_eq!(p.auth()?.as_deref(), Some("a@b:päss"));
/// # Ok::<(), courier_proto::outgoing::OutgoingError>(())
/// ```
///
/// Every `String` field may be empty, which is how the URL API says "absent".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlParts {
    /// `url.protocol`: the scheme, lower-cased, with its colon (`"http:"`).
    pub protocol: String,
    /// `url.hostname`: a domain (lower-cased, IDNA-encoded: `"xn--bcher-kva.example"`),
    /// an IPv4 address in dotted decimal, or an IPv6 literal in brackets
    /// (`"[::1]"`).
    pub hostname: String,
    /// `url.port`, as a number: `None` where the URL API's port string is empty,
    /// which includes a URL that names its scheme's default port (`http://h:80/`).
    ///
    /// Node sets the `port` option to `Number(url.port)` only when the string is
    /// non-empty. The URL API's port string is always empty or a decimal number up
    /// to 65535, so this loses nothing. `Some(0)` (`http://h:0/`) is kept: the
    /// option is then 0, which Node treats as no port (CLI-5).
    pub port: Option<u16>,
    /// `url.pathname`, percent-encoded (`"/a%20b"`).
    pub pathname: String,
    /// `url.search`: `"?"` and the query, percent-encoded, or empty when the query
    /// is absent or empty.
    pub search: String,
    /// `url.hash`: `"#"` and the fragment, or empty. Never sent: Node drops it.
    pub hash: String,
    /// `url.username`, percent-encoded.
    pub username: String,
    /// `url.password`, percent-encoded.
    pub password: String,
}

impl UrlParts {
    /// The `hostname` option: `hostname` with the first and last char removed when
    /// it starts with `[` (an IPv6 literal: `"[::1]"` → `"::1"`). The `Host` field
    /// puts the brackets back (CLI-9).
    ///
    /// ```
    /// use courier_proto::outgoing::UrlParts;
    /// let p = UrlParts { hostname: "[::1]".into(), ..UrlParts::default() };
    /// assert_eq!(p.hostname_option(), "::1");
    /// ```
    pub fn hostname_option(&self) -> &str {
        // JavaScript's `hostname.slice(1, -1)`.
        match self.hostname.strip_prefix('[') {
            Some(rest) => {
                let end = rest.char_indices().next_back().map_or(0, |(i, _)| i);
                &rest[..end]
            }
            None => &self.hostname,
        }
    }

    /// The `path` option: `pathname` followed by `search`; the fragment is dropped.
    ///
    /// ```
    /// use courier_proto::outgoing::UrlParts;
    /// let p = UrlParts {
    ///     pathname: "/p".into(),
    ///     search: "?q=1".into(),
    ///     hash: "#h".into(),
    ///     ..UrlParts::default()
    /// };
    /// assert_eq!(p.path(), "/p?q=1");
    /// ```
    pub fn path(&self) -> String {
        let mut path = String::with_capacity(self.pathname.len() + self.search.len());
        path.push_str(&self.pathname);
        path.push_str(&self.search);
        path
    }

    /// The `auth` option: `None` when both `username` and `password` are empty,
    /// else `decodeURIComponent(username) + ':' + decodeURIComponent(password)`.
    ///
    /// Fails with [`OutgoingError::UriMalformed`] where `decodeURIComponent` throws:
    /// a `%` not followed by two hex digits, or percent-encoded bytes that are not
    /// well-formed UTF-8 (a stray continuation byte, a truncated, overlong or
    /// surrogate sequence, a code point above U+10FFFF).
    ///
    /// ```
    /// use courier_proto::outgoing::{OutgoingError, UrlParts};
    ///
    /// let p = UrlParts { username: "a%40b".into(), password: "p%C3%A4".into(), ..UrlParts::default() };
    /// assert_eq!(p.auth()?.as_deref(), Some("a@b:pä"));
    /// let p = UrlParts { username: "u".into(), ..UrlParts::default() };
    /// assert_eq!(p.auth()?.as_deref(), Some("u:"));
    /// assert_eq!(UrlParts::default().auth()?, None);
    ///
    /// let p = UrlParts { password: "%zz".into(), ..UrlParts::default() };
    /// let e = p.auth().unwrap_err();
    /// assert_eq!(e, OutgoingError::UriMalformed);
    /// assert_eq!((e.code(), e.to_string().as_str()), ("URIError", "URI malformed"));
    /// # Ok::<(), OutgoingError>(())
    /// ```
    pub fn auth(&self) -> Result<Option<String>, OutgoingError> {
        if self.username.is_empty() && self.password.is_empty() {
            return Ok(None);
        }
        let mut auth = decode_uri_component(&self.username)?;
        auth.push(':');
        auth.push_str(&decode_uri_component(&self.password)?);
        Ok(Some(auth))
    }

    /// Node's `urlToHttpOptions(url)`: [`RequestOptions::default`] with `protocol`,
    /// `hostname` ([`Self::hostname_option`]), `port` (when the URL has one),
    /// `path` ([`Self::path`]) and `auth` ([`Self::auth`]) taken from the URL.
    ///
    /// This is what `http.request(url)` uses when no options object follows the
    /// URL. Nothing is checked here beyond the user info: the protocol and path
    /// checks are [`ClientRequest::new`](super::ClientRequest::new)'s.
    ///
    /// ```
    /// use courier_proto::outgoing::UrlParts;
    ///
    /// let url = UrlParts {
    ///     protocol: "http:".into(),
    ///     hostname: "[::1]".into(),
    ///     port: Some(8080),
    ///     pathname: "/a".into(),
    ///     search: "?b".into(),
    ///     hash: "#c".into(),
    ///     ..UrlParts::default()
    /// };
    /// let o = url.to_options()?;
    /// assert_eq!(o.protocol.as_deref(), Some("http:"));
    /// assert_eq!(o.hostname.as_deref(), Some("::1"));
    /// assert_eq!(o.port, Some(8080));
    /// assert_eq!(o.path.as_deref(), Some("/a?b"));
    /// assert_eq!(o.auth, None);
    /// # Ok::<(), courier_proto::outgoing::OutgoingError>(())
    /// ```
    pub fn to_options(&self) -> Result<RequestOptions, OutgoingError> {
        Ok(RequestOptions {
            protocol: Some(self.protocol.clone()),
            hostname: Some(self.hostname_option().to_owned()),
            port: self.port,
            path: Some(self.path()),
            auth: self.auth()?,
            ..RequestOptions::default()
        })
    }
}

impl RequestOptions {
    /// `http.request(url, options)`: these options over the URL's (CLI-1).
    ///
    /// The URL first becomes options ([`UrlParts::to_options`]), so a malformed
    /// user info fails with [`OutgoingError::UriMalformed`] even when `self` gives
    /// an `auth`, as in Node. Then `self` is copied over them, as Node's
    /// `Object.assign(urlOptions, options)` does.
    ///
    /// # Which options count as given
    ///
    /// Node copies every key present in `options`, whatever its value. Here an
    /// option is given when it is `Some`, whatever it holds: `Some("")` and
    /// `Some(0)` replace the URL's value, and then fall back to the default as
    /// Node's falsy values do (`path: Some("")` sends `/`, not the URL's path;
    /// `port: Some(0)` the default port; `auth: Some("")` no `Authorization`). That
    /// is also how to write Node's `{path: undefined}`, which replaces the URL's
    /// path in the same way. `None` is a key left out: the URL's value stays.
    ///
    /// The URL only ever supplies `protocol`, `hostname`, `port`, `path` and `auth`;
    /// every other option (`method`, `headers`, `set_host`, `agent`, …) is `self`'s
    /// as it is. In particular the URL's `hostname` beats a `host` option, since
    /// the target host is `hostname || host` (CLI-5): to send a URL's request to
    /// another host, give `hostname`.
    ///
    /// ```
    /// use courier_proto::outgoing::{ClientRequest, RequestOptions, UrlParts};
    ///
    /// let url = UrlParts {
    ///     protocol: "http:".into(),
    ///     hostname: "127.0.0.1".into(),
    ///     port: Some(3000),
    ///     pathname: "/p".into(),
    ///     search: "?q=1".into(),
    ///     username: "u".into(),
    ///     password: "p".into(),
    ///     ..UrlParts::default()
    /// };
    /// // http.request(url, {path: '/override', method: 'post'})
    /// let o = RequestOptions {
    ///     path: Some("/override".into()),
    ///     method: Some("post".into()),
    ///     ..RequestOptions::default()
    /// }
    /// .with_url(&url)?;
    /// assert_eq!(o.path.as_deref(), Some("/override"));
    /// assert_eq!(o.port, Some(3000));
    /// assert_eq!(o.auth.as_deref(), Some("u:p"));
    /// let req = ClientRequest::new(o)?;
    /// assert_eq!((req.method(), req.path(), req.host()), ("POST", "/override", "127.0.0.1"));
    /// # Ok::<(), courier_proto::outgoing::OutgoingError>(())
    /// ```
    pub fn with_url(self, url: &UrlParts) -> Result<Self, OutgoingError> {
        let from_url = url.to_options()?;
        Ok(Self {
            protocol: self.protocol.or(from_url.protocol),
            hostname: self.hostname.or(from_url.hostname),
            port: self.port.or(from_url.port),
            path: self.path.or(from_url.path),
            auth: self.auth.or(from_url.auth),
            ..self
        })
    }
}

/// ECMAScript's `decodeURIComponent`: every `%XX` run that spells one UTF-8
/// encoded char becomes that char; everything else is copied. Fails where
/// JavaScript throws `URIError: URI malformed`.
fn decode_uri_component(s: &str) -> Result<String, OutgoingError> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(at) = memchr::memchr(b'%', &b[i..]) {
        // `%` is ASCII, so both ends are char boundaries.
        out.push_str(&s[i..i + at]);
        i += at;
        let lead = escaped_byte(b, i)?;
        i += 3;
        // The number of bytes the lead byte announces (ECMAScript's `n`); a
        // continuation byte (10xxxxxx) or 11111xxx cannot start a char.
        let len = match lead {
            0x00..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => return Err(OutgoingError::UriMalformed),
        };
        let mut buf = [lead, 0, 0, 0];
        for slot in &mut buf[1..len] {
            *slot = escaped_byte(b, i)?;
            i += 3;
        }
        // Rejects what ECMAScript rejects after collecting the bytes: a byte that
        // is not 10xxxxxx, overlong forms, surrogates, code points past U+10FFFF.
        let ch = core::str::from_utf8(&buf[..len]).map_err(|_| OutgoingError::UriMalformed)?;
        out.push_str(ch);
    }
    out.push_str(&s[i..]);
    Ok(out)
}

/// The byte `%XX` at `b[i..]` spells, if `b[i..]` starts with such an escape.
fn escaped_byte(b: &[u8], i: usize) -> Result<u8, OutgoingError> {
    match b.get(i..i + 3) {
        Some(&[b'%', hi, lo]) => match (hex(hi), hex(lo)) {
            (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
            _ => Err(OutgoingError::UriMalformed),
        },
        _ => Err(OutgoingError::UriMalformed),
    }
}

fn hex(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pair was printed by Node v20.20.2:
    /// `node -e 'for (const s of [...]) { try { console.log(JSON.stringify(s),
    /// JSON.stringify(decodeURIComponent(s))) } catch (e) { console.log(e.name,
    /// e.message) } }'`.
    #[test]
    fn decodes_like_javascript() {
        let ok: &[(&str, &str)] = &[
            ("", ""),
            ("plain", "plain"),
            ("%41", "A"),
            ("%c3%a4", "ä"),
            ("%C3%A4x", "äx"),
            ("ä%41", "äA"),
            ("%00", "\0"),
            ("%2F%3A%40", "/:@"),
            ("+%20", "+ "),
            ("%C2%80", "\u{80}"),
            ("%E0%A0%80", "\u{800}"),
            ("%ED%9F%BF", "\u{d7ff}"),
            ("%EE%80%80", "\u{e000}"),
            ("%EF%BF%BE", "\u{fffe}"),
            ("%EF%BF%BF", "\u{ffff}"),
            ("%F0%90%80%80", "\u{10000}"),
            ("%F0%9F%98%80", "😀"),
            ("%F4%8F%BF%BF", "\u{10ffff}"),
        ];
        for &(s, want) in ok {
            assert_eq!(decode_uri_component(s).as_deref(), Ok(want), "{s:?}");
        }
        for s in [
            "%",
            "%4",
            "a%2",
            "%zz",
            "%g4",
            "%%41",
            "%41%",
            "%C3",
            "%C3%",
            "%C3%A",
            "%C3%g4",
            "%C2A",
            "%C2%41",
            "%80",
            "%BF",
            "%FF",
            "%F8%80%80%80%80",
            "%C0%80",
            "%C1%BF",
            "%E0%80%80",
            "%E2%82",
            "%ED%A0%80",
            "%F0%8F%BF%BF",
            "%F4%90%80%80",
            "%4ä",
            "%ä",
        ] {
            assert_eq!(
                decode_uri_component(s),
                Err(OutgoingError::UriMalformed),
                "{s:?}"
            );
        }
    }

    #[test]
    fn hostname_option_is_javascript_slice() {
        let h = |s: &str| {
            UrlParts {
                hostname: s.into(),
                ..UrlParts::default()
            }
            .hostname_option()
            .to_owned()
        };
        assert_eq!(h("[::1]"), "::1");
        assert_eq!(h("example.com"), "example.com");
        assert_eq!(h(""), "");
        // `'['.slice(1, -1)` and `'[]'.slice(1, -1)` are both empty; the last char
        // goes whatever it is.
        assert_eq!(h("["), "");
        assert_eq!(h("[]"), "");
        assert_eq!(h("[ab"), "a");
        assert_eq!(h("[aé"), "a");
    }
}
