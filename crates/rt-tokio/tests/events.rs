//! The server's events over real loopback sockets, driven by raw clients: only what
//! the shared suite (`courier-suite`, tests/suite.rs) cannot express — the handed-over
//! socket as tokio's `RawStream::Unix`, and the `'timeout'` listeners' exact times on
//! tokio's paused clock. Each test cites the rules of `spec/node-http.md` it checks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

mod common;

use common::{read_all, read_n, read_response, send};
use courier_rt_tokio::{RawStream, Server, ServerOptions, create_server};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// A server whose request handler answers `req <url>` and counts its calls.
fn counting_server(options: ServerOptions) -> (Server, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let server = create_server(options, move |mut req, mut res| {
        c.fetch_add(1, Ordering::SeqCst);
        async move {
            let _ = req.read_body().await;
            res.set_send_date(false).unwrap();
            let _ = res.end(Some(format!("req {}", req.url()).into())).await;
        }
    })
    .unwrap();
    (server, calls)
}

async fn connect(server: &Server) -> TcpStream {
    let addr = match server.local_addr() {
        Some(a) => a,
        None => server.listen("127.0.0.1:0").await.unwrap(),
    };
    TcpStream::connect(addr).await.unwrap()
}

/// Echoes everything read back until the peer half-closes.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut io: S) {
    let mut buf = [0u8; 1024];
    loop {
        match io.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if io.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = io.shutdown().await;
}

// ------------------------------------------------------------ upgrade/connect --

/// SRV-8 over a Unix socket: the handover gives the Unix stream.
#[cfg(unix)]
#[tokio::test]
async fn a_unix_socket_upgrade_hands_over_the_unix_stream() {
    let dir = std::env::temp_dir().join(format!("courier-events-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("upgrade.sock");
    let _ = std::fs::remove_file(&path);
    let (server, _) = counting_server(ServerOptions::default());
    server.on_upgrade(|_req, io, head| async move {
        assert_eq!(io.remote_addr(), None);
        assert_eq!(io.local_addr(), None);
        let RawStream::Unix(mut stream) = io.into_inner() else {
            panic!("a Unix stream");
        };
        stream
            .write_all(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
            .await
            .unwrap();
        stream.write_all(&head).await.unwrap();
        echo(stream).await;
    });
    server.listen_unix(&path).unwrap();
    let mut client = tokio::net::UnixStream::connect(&path).await.unwrap();
    send(
        &mut client,
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\nunix",
    )
    .await;
    let head = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
    assert_eq!(
        read_n(&mut client, head.len() + 4).await,
        format!("{head}unix")
    );
    send(&mut client, b"ping").await;
    assert_eq!(read_n(&mut client, 4).await, "ping");
    server.close();
    let _ = std::fs::remove_dir(&dir);
}

// -------------------------------------------------------------------- timeout --

/// SRV-19, SRV-20: with a server `'timeout'` listener an inactive socket is not
/// destroyed; the listener gets it and it keeps serving.
#[tokio::test(start_paused = true)]
async fn a_timeout_listener_keeps_the_socket() {
    let (server, _) = counting_server(ServerOptions::default());
    let (tx, mut rx) = mpsc::unbounded_channel();
    server.set_timeout(Duration::from_secs(2), move |socket| {
        tx.send(socket).unwrap();
    });
    let mut client = connect(&server).await;
    let start = tokio::time::Instant::now();
    let socket = rx.recv().await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert!(!socket.is_destroyed());
    send(&mut client, b"GET /late HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let resp = read_response(&mut client, &mut Vec::new()).await;
    assert!(resp.ends_with("req /late"), "{resp}");
    // The listener decides: destroy.
    socket.destroy();
    assert_eq!(read_all(&mut client).await, "");
}

/// SRV-19: without any `'timeout'` listener the inactive socket is destroyed, no bytes.
#[tokio::test(start_paused = true)]
async fn without_a_timeout_listener_the_socket_is_destroyed() {
    let (server, _) = counting_server(ServerOptions {
        timeout: Duration::from_secs(3),
        ..ServerOptions::default()
    });
    let mut client = connect(&server).await;
    let start = tokio::time::Instant::now();
    assert_eq!(read_all(&mut client).await, "");
    assert_eq!(start.elapsed(), Duration::from_secs(3));
}

/// SRV-19, SRV-18: a server `'timeout'` listener also keeps an idle keep-alive
/// connection past the keep-alive timeout.
#[tokio::test(start_paused = true)]
async fn a_timeout_listener_keeps_an_idle_keep_alive_connection() {
    let (server, _) = counting_server(ServerOptions::default());
    let (tx, mut rx) = mpsc::unbounded_channel();
    server.on_timeout(move |socket| {
        tx.send(socket).unwrap();
    });
    let mut client = connect(&server).await;
    send(&mut client, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    read_response(&mut client, &mut Vec::new()).await;
    let idle_from = tokio::time::Instant::now();
    let socket = rx.recv().await.unwrap();
    assert_eq!(idle_from.elapsed(), Duration::from_secs(6));
    assert!(!socket.is_destroyed());
    assert_eq!(server.connection_count(), 1);
}
