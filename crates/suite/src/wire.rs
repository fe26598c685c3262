//! A raw `std::net` client for the scenarios: exact bytes out, whole responses in.
//!
//! Reads give up after [`SAFETY_TIMEOUT`] so that a broken adapter fails a test instead
//! of hanging it; no scenario depends on that duration.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::{Duration, SystemTime};

/// How long a read may block before the scenario fails.
pub const SAFETY_TIMEOUT: Duration = Duration::from_secs(20);

/// A TCP or Unix-domain connection.
#[derive(Debug)]
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn set_write_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        match self {
            Self::Tcp(s) => s.set_write_timeout(t),
            Self::Unix(s) => s.set_write_timeout(t),
        }
    }

    fn try_clone(&self) -> std::io::Result<Self> {
        Ok(match self {
            Self::Tcp(s) => Self::Tcp(s.try_clone()?),
            Self::Unix(s) => Self::Unix(s.try_clone()?),
        })
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read(buf),
            Self::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Tcp(s) => s.write(buf),
            Self::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Tcp(s) => s.flush(),
            Self::Unix(s) => s.flush(),
        }
    }
}

/// A client connection with a buffer of bytes read but not yet consumed.
#[derive(Debug)]
pub struct Client {
    stream: Stream,
    buf: Vec<u8>,
}

impl Client {
    /// Connects to the Unix socket `path`.
    pub fn connect_unix(path: &std::path::Path) -> Self {
        let stream = UnixStream::connect(path).expect("connect to the server's Unix socket");
        stream
            .set_read_timeout(Some(SAFETY_TIMEOUT))
            .expect("a read timeout");
        Self {
            stream: Stream::Unix(stream),
            buf: Vec::new(),
        }
    }

    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect to the server under test");
        stream
            .set_read_timeout(Some(SAFETY_TIMEOUT))
            .expect("a read timeout");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        Self {
            stream: Stream::Tcp(stream),
            buf: Vec::new(),
        }
    }

    /// Another handle on the same connection (for writing from another thread), with
    /// an empty buffer.
    pub fn try_clone(&self) -> Self {
        Self {
            stream: self.stream.try_clone().expect("clone the connection"),
            buf: Vec::new(),
        }
    }

    /// Writes what the socket takes of `bytes` within `timeout`: `Ok(n)`, or `Err` once
    /// a write waited `timeout` without progress (the peer stopped reading).
    pub fn send_within(&mut self, bytes: &[u8], timeout: Duration) -> std::io::Result<usize> {
        self.stream.set_write_timeout(Some(timeout))?;
        let r = self.stream.write(bytes);
        self.stream.set_write_timeout(None)?;
        r
    }

    /// Writes `bytes`.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the server");
    }

    fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 16 * 1024];
        let n = self
            .stream
            .read(&mut chunk)
            .unwrap_or_else(|e| panic!("read from the server: {e}; have {:?}", self.text()));
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }

    /// Reads one whole response (head, then a `Content-Length`, chunked or empty
    /// body; `head_only` for a response to `HEAD`) and returns it with the value of
    /// its `Date` field, if any, replaced by `<date>` (after checking it is a current
    /// IMF-fixdate).
    pub fn response(&mut self, head_only: bool) -> String {
        loop {
            if let Some(end) = response_len(&self.buf, head_only) {
                let bytes: Vec<u8> = self.buf.drain(..end).collect();
                return strip_date(&String::from_utf8_lossy(&bytes));
            }
            assert!(
                self.fill() > 0,
                "EOF before a whole response: {:?}",
                self.text()
            );
        }
    }

    /// Reads exactly `n` bytes.
    pub fn exactly(&mut self, n: usize) -> String {
        while self.buf.len() < n {
            assert!(self.fill() > 0, "EOF after {:?}", self.text());
        }
        let bytes: Vec<u8> = self.buf.drain(..n).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Reads until the server closes the connection (a reset counts as closed) and
    /// returns everything not yet consumed, `Date` values replaced by `<date>`.
    pub fn until_closed(&mut self) -> String {
        loop {
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("read until close: {e}; have {:?}", self.text()),
            }
        }
        let all = std::mem::take(&mut self.buf);
        strip_date(&String::from_utf8_lossy(&all))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The length of the first whole response in `buf` (head, then a `Content-Length`,
/// chunked or empty body; `head_only` for a response to `HEAD`), if it is all there:
/// for test clients on other I/O than `std::net`.
pub fn response_len(buf: &[u8], head_only: bool) -> Option<usize> {
    let head_end = find(buf, b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    if head_only || head.starts_with("http/1.1 1") {
        return Some(head_end);
    }
    if let Some(line) = head.lines().find(|l| l.starts_with("content-length:")) {
        let n: usize = line["content-length:".len()..].trim().parse().ok()?;
        return (buf.len() >= head_end + n).then_some(head_end + n);
    }
    if head.contains("transfer-encoding: chunked") {
        return chunked_len(&buf[head_end..]).map(|n| head_end + n);
    }
    Some(head_end)
}

/// The length of a whole chunked body (trailers included) at the start of `body`.
fn chunked_len(body: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let line_end = at + find(&body[at..], b"\r\n")?;
        let size_text = String::from_utf8_lossy(&body[at..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at = line_end + 2;
        if size == 0 {
            // Trailers, then an empty line.
            let end = at + find(&body[at..], b"\r\n")?;
            if end == at {
                return Some(at + 2);
            }
            return find(&body[at..], b"\r\n\r\n").map(|i| at + i + 4);
        }
        if body.len() < at + size + 2 {
            return None;
        }
        at += size + 2;
    }
}

/// Replaces every `Date` field value with `<date>`, checking each is an IMF-fixdate
/// within a minute of now (CONST-10).
pub fn strip_date(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("\r\nDate: ") {
        let start = i + 8;
        let end = start + rest[start..].find("\r\n").unwrap_or(rest.len() - start);
        let date = httpdate::parse_http_date(&rest[start..end])
            .unwrap_or_else(|e| panic!("Date {:?}: {e}", &rest[start..end]));
        let skew = SystemTime::now()
            .duration_since(date)
            .unwrap_or_else(|e| e.duration());
        assert!(skew < Duration::from_secs(60), "a current Date");
        out.push_str(&rest[..start]);
        out.push_str("<date>");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}
