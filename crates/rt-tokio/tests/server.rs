//! The tokio server over real loopback sockets, driven by raw clients: only what the
//! shared suite (`courier-suite`, tests/suite.rs) cannot express — the body as a
//! tokio `AsyncRead`, and Node's default timeouts to the second on tokio's paused
//! clock.

use std::time::Duration;

use bytes::Bytes;
use courier_rt_tokio::{Server, ServerOptions, create_server};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// A server answering `Hello, World!` as plain text, listening on a free port.
async fn hello_server() -> (Server, TcpStream) {
    let server = create_server(ServerOptions::default(), |_req, mut res| async move {
        res.set_header("Content-Type", "text/plain").unwrap();
        res.end(Some(Bytes::from_static(b"Hello, World!")))
            .await
            .unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").await.unwrap();
    assert_ne!(addr.port(), 0);
    assert_eq!(server.local_addr(), Some(addr));
    let client = TcpStream::connect(addr).await.unwrap();
    (server, client)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one response: a head, then a `Content-Length` or chunked body.
async fn read_response<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> Vec<u8> {
    loop {
        if let Some(end) = complete_len(buf) {
            return buf.drain(..end).collect();
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.unwrap();
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
    if let Some(line) = head.lines().find(|l| l.starts_with("content-length:")) {
        let n: usize = line["content-length:".len()..].trim().parse().unwrap();
        return (buf.len() >= head_end + n).then_some(head_end + n);
    }
    if head.contains("transfer-encoding: chunked") {
        return find(&buf[head_end..], b"0\r\n\r\n").map(|i| head_end + i + 5);
    }
    Some(head_end)
}

/// Replaces the value of the `Date` field with `<date>` after checking it is an
/// IMF-fixdate close to now.
async fn send<S: AsyncWrite + Unpin>(s: &mut S, bytes: &[u8]) {
    s.write_all(bytes).await.unwrap();
}

#[tokio::test]
async fn the_body_is_an_async_read() {
    let server = create_server(ServerOptions::default(), |mut req, mut res| async move {
        let mut body = Vec::new();
        req.read_to_end(&mut body).await.unwrap();
        res.end(Some(format!("{}", body.len()).into()))
            .await
            .unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(addr).await.unwrap();
    let body = vec![b'x'; 300_000];
    let mut req = b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 300000\r\n\r\n".to_vec();
    req.extend_from_slice(&body);
    send(&mut client, &req).await;
    let resp = read_response(&mut client, &mut Vec::new()).await;
    assert!(
        resp.ends_with(b"\r\n\r\n300000"),
        "{:?}",
        String::from_utf8_lossy(&resp)
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_keep_alive_connection_closes_after_the_keep_alive_timeout() {
    let (server, mut client) = hello_server().await;
    send(&mut client, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let mut buf = Vec::new();
    read_response(&mut client, &mut buf).await;
    let idle_from = tokio::time::Instant::now();
    // The paused clock jumps to the next timer while the client waits.
    let n = client.read(&mut [0u8; 16]).await.unwrap();
    assert_eq!(n, 0, "closed by the server");
    // Node: keepAliveTimeout (5 s) plus its 1 s socket-timeout margin (SRV-18).
    assert_eq!(idle_from.elapsed(), Duration::from_secs(6));
    server.closed().await;
}

#[tokio::test(start_paused = true)]
async fn an_incomplete_head_gets_nodes_408_at_a_checker_tick() {
    let (_server, mut client) = hello_server().await;
    let start = tokio::time::Instant::now();
    send(&mut client, b"GET / HTTP/1.1\r\nHost: a\r\n").await;
    let mut all = Vec::new();
    client.read_to_end(&mut all).await.unwrap();
    assert_eq!(
        all,
        b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n"
    );
    // headersTimeout 60 s, detected at the first 30 s checker tick strictly after it.
    assert_eq!(start.elapsed(), Duration::from_secs(90));
}
