//! The tokio server over real loopback sockets, driven by raw clients: only what the
//! shared suite (`courier-suite`, tests/suite.rs) cannot express — the body as a
//! tokio `AsyncRead`, and Node's default timeouts to the second on tokio's paused
//! clock.

use std::time::Duration;

use bytes::Bytes;
mod common;

use common::{read_response, send};
use courier_rt_tokio::{Server, ServerOptions, create_server};
use tokio::io::AsyncReadExt;
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
    assert!(resp.ends_with("\r\n\r\n300000"), "{resp}");
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
