//! Raw-socket helpers shared by the blocking adapter's tests.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;
use courier_rt_blocking::{Server, ServerOptions, create_server};

/// A server answering `Hello, World!` as plain text, listening on a free port, and a
/// raw client connected to it.
pub fn hello_server() -> (Server, TcpStream) {
    let server = create_server(ServerOptions::default(), |_req, mut res| {
        res.set_header("Content-Type", "text/plain").unwrap();
        res.end(Some(Bytes::from_static(b"Hello, World!"))).unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    assert_ne!(addr.port(), 0);
    assert_eq!(server.local_addr(), Some(addr));
    (server, connect(addr))
}

/// A raw client with a generous read timeout (a hung test fails instead of hanging).
pub fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one response: a head, then a `Content-Length` or chunked body.
pub fn read_response<S: Read>(s: &mut S, buf: &mut Vec<u8>) -> Vec<u8> {
    loop {
        if let Some(end) = complete_len(buf) {
            return buf.drain(..end).collect();
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).unwrap();
        assert!(
            n > 0,
            "EOF before a whole response: {:?}",
            String::from_utf8_lossy(buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn complete_len(buf: &[u8]) -> Option<usize> {
    let head_end = find(buf, b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    if head.starts_with("http/1.1 1") {
        return Some(head_end);
    }
    if let Some(line) = head.lines().find(|l| l.starts_with("content-length:")) {
        let n: usize = line["content-length:".len()..].trim().parse().unwrap();
        return (buf.len() >= head_end + n).then_some(head_end + n);
    }
    if head.contains("transfer-encoding: chunked") {
        return find(&buf[head_end..], b"0\r\n\r\n").map(|i| head_end + i + 5);
    }
    Some(head_end)
}

/// Replaces the value of the `Date` field with `<date>`.
pub fn strip_date(resp: &[u8]) -> String {
    let text = String::from_utf8(resp.to_vec()).unwrap();
    let start = text.find("\r\nDate: ").expect("a Date field") + 8;
    let end = start + text[start..].find("\r\n").unwrap();
    assert!(text[start..end].ends_with(" GMT"), "an IMF-fixdate");
    format!("{}<date>{}", &text[..start], &text[end..])
}

pub fn send<S: Write>(s: &mut S, bytes: &[u8]) {
    s.write_all(bytes).unwrap();
}

pub fn read_to_end<S: Read>(s: &mut S) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    all
}
