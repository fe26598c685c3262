//! [`HeadParser`]: one head from a byte slice into a reusable, raw-first field list.
//!
//! This is the head parse of [`crate::Parser`] on its own, for callers that keep their
//! own buffers (proxies, benchmarks): no copy, no allocation once warmed up, results as
//! ranges of the caller's slice, and exactly the [`crate::Parser`]'s answers: the
//! one-pass fast path for plain heads, the Node-exact scanner otherwise, with the same
//! errors, reasons and offsets.

use core::ops::Range;

use crate::config::ParserConfig;
use crate::error::Error;
use crate::head::Version;
use crate::head::scan::{Mode, Scan, Scanner};

/// Parses heads (request or status line plus fields) from byte slices.
///
/// ```
/// use courier_proto::ParserConfig;
/// use courier_proto::head::HeadParser;
///
/// let buf = b"GET /a?b HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\n\r\nbody";
/// let mut p = HeadParser::request(&ParserConfig::default());
/// assert_eq!(p.parse(buf)?, Some(buf.len() - 4));
/// assert_eq!(p.method(), "GET");
/// assert_eq!(p.url(buf), b"/a?b");
/// let fields: Vec<_> = p.fields(buf).collect();
/// assert_eq!(fields, [(&b"Host"[..], &b"example.com"[..]), (b"X-A", b"1")]);
///
/// // Reuse it for the next head: nothing is allocated once warmed up.
/// p.reset();
/// assert_eq!(p.parse(b"GET / HTTP/1.1\r\nHost")?, None); // needs more bytes
/// # Ok::<(), courier_proto::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct HeadParser {
    scanner: Scanner,
    mode: Mode,
    done: bool,
}

impl HeadParser {
    /// A parser for request heads.
    pub fn request(cfg: &ParserConfig) -> Self {
        Self {
            scanner: Scanner::new(Mode::Request, cfg),
            mode: Mode::Request,
            done: false,
        }
    }

    /// A parser for response heads.
    pub fn response(cfg: &ParserConfig) -> Self {
        Self {
            scanner: Scanner::new(Mode::Response, cfg),
            mode: Mode::Response,
            done: false,
        }
    }

    /// Forgets the last head, keeping the field storage.
    pub fn reset(&mut self) {
        self.scanner.reset(self.mode);
        self.done = false;
    }

    /// Parses the head at the start of `buf`: `Ok(Some(len))` when it is complete (the
    /// body starts at `len`), `Ok(None)` when more bytes are needed. Call again with the
    /// same bytes extended: progress is kept, so a head fed in pieces costs linear time.
    /// Error offsets count from `buf[0]`.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Option<usize>, Error> {
        if self.done {
            return Ok(Some(self.scanner.pos));
        }
        if let Some(end) = self.scanner.try_fast(buf) {
            self.done = true;
            return Ok(Some(end));
        }
        match self.scanner.scan(buf, 0)? {
            Scan::Partial => Ok(None),
            Scan::Complete(end) => {
                self.done = true;
                Ok(Some(end))
            }
        }
    }

    /// The request method (requests; `""` before a head is parsed).
    pub fn method(&self) -> &'static str {
        core::str::from_utf8(self.scanner.method_name()).unwrap_or_default()
    }

    /// The request-target (requests), a slice of `buf`.
    pub fn url<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        &buf[self.scanner.url.0..self.scanner.url.1]
    }

    /// The version.
    pub fn version(&self) -> Version {
        self.scanner.version
    }

    /// The status code (responses).
    pub fn status(&self) -> u16 {
        self.scanner.status
    }

    /// The reason phrase (responses), a slice of `buf`.
    pub fn reason<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        &buf[self.scanner.reason.0..self.scanner.reason.1]
    }

    /// Number of field lines.
    pub fn len(&self) -> usize {
        self.scanner.fields.len()
    }

    /// Whether there are no field lines.
    pub fn is_empty(&self) -> bool {
        self.scanner.fields.is_empty()
    }

    /// The byte ranges of each field's name and value (values trimmed of OWS), in wire
    /// order.
    pub fn ranges(&self) -> impl ExactSizeIterator<Item = (Range<usize>, Range<usize>)> + '_ {
        self.scanner.fields.iter().map(|s| {
            (
                s.name_range().unwrap_or_default(),
                s.value_range().unwrap_or_default(),
            )
        })
    }

    /// `(name, value)` pairs as slices of `buf`, in wire order: Node's `rawHeaders`.
    ///
    /// With the `headers` leniency an obs-fold value spans several lines; this gives its
    /// first line only ([`HeadParser::has_folds`] tells) — [`crate::Parser`] joins them.
    pub fn fields<'b>(
        &'b self,
        buf: &'b [u8],
    ) -> impl ExactSizeIterator<Item = (&'b [u8], &'b [u8])> + 'b {
        self.ranges().map(move |(n, v)| (&buf[n], &buf[v]))
    }

    /// Whether a value continues on an obs-fold line (lenient parsing only).
    pub fn has_folds(&self) -> bool {
        !self.scanner.folds.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_answers_as_the_parser() {
        // PRS-7: errors keep Node's code, reason and offset.
        let mut p = HeadParser::request(&ParserConfig::default());
        let e = p.parse(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n").unwrap_err();
        assert_eq!((e.code(), e.offset()), ("HPE_INVALID_HEADER_TOKEN", 20));
        // A head split in two parses once complete, through the scanner.
        p.reset();
        let buf = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(p.parse(&buf[..10]).unwrap(), None);
        assert_eq!(p.parse(buf).unwrap(), Some(buf.len()));
        assert_eq!(
            p.fields(buf).collect::<Vec<_>>(),
            [(&b"Host"[..], &b"a"[..])]
        );
        // Responses.
        let mut r = HeadParser::response(&ParserConfig::default());
        let res = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(r.parse(res).unwrap(), Some(res.len()));
        assert_eq!((r.status(), r.reason(res)), (404, &b"Not Found"[..]));
    }
}
