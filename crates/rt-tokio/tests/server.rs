//! The tokio server over real loopback sockets, driven by raw clients.

use std::time::Duration;

use bytes::Bytes;
use courier_rt_tokio::{HeaderValue, Server, ServerOptions, create_server};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

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
fn strip_date(resp: &[u8]) -> String {
    let text = String::from_utf8(resp.to_vec()).unwrap();
    let start = text.find("\r\nDate: ").expect("a Date field") + 8;
    let end = start + text[start..].find("\r\n").unwrap();
    let date = httpdate::parse_http_date(&text[start..end]).expect("an IMF-fixdate");
    let skew = std::time::SystemTime::now()
        .duration_since(date)
        .unwrap_or_default();
    assert!(skew < Duration::from_secs(5), "a current date");
    format!("{}<date>{}", &text[..start], &text[end..])
}

async fn send<S: AsyncWrite + Unpin>(s: &mut S, bytes: &[u8]) {
    s.write_all(bytes).await.unwrap();
}

#[tokio::test]
async fn answers_a_raw_request_with_nodes_exact_bytes() {
    let (server, mut client) = hello_server().await;
    send(&mut client, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    let resp = read_response(&mut client, &mut Vec::new()).await;
    assert_eq!(
        strip_date(&resp),
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: <date>\r\n\
         Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 13\r\n\r\n\
         Hello, World!"
    );
    assert_eq!(server.connection_count(), 1, "kept alive");
    server.close_all_connections();
    server.closed().await;
    server.close();
    assert!(!server.listening());
}

#[tokio::test]
async fn keeps_the_connection_alive_for_a_second_request() {
    let server = create_server(ServerOptions::default(), |req, mut res| async move {
        let body = format!("{} {}", req.method(), req.url());
        res.end(Some(body.into())).await.unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(addr).await.unwrap();
    let mut buf = Vec::new();
    send(&mut client, b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let first = read_response(&mut client, &mut buf).await;
    assert!(first.ends_with(b"\r\n\r\nGET /one"), "{first:?}");
    send(
        &mut client,
        b"POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    let second = read_response(&mut client, &mut buf).await;
    assert!(second.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(second.ends_with(b"\r\n\r\nPOST /two"), "{second:?}");
    assert_eq!(server.connection_count(), 1);

    // Pipelined: both requests in one write, answered in order.
    send(
        &mut client,
        b"GET /3 HTTP/1.1\r\nHost: a\r\n\r\nGET /4 HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .await;
    assert!(
        read_response(&mut client, &mut buf)
            .await
            .ends_with(b"GET /3")
    );
    assert!(
        read_response(&mut client, &mut buf)
            .await
            .ends_with(b"GET /4")
    );
}

#[tokio::test]
async fn streams_a_chunked_request_body_to_the_handler() {
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<Bytes>();
    let server = create_server(ServerOptions::default(), move |mut req, mut res| {
        let seen = seen_tx.clone();
        async move {
            assert_eq!(
                req.headers().get_str("transfer-encoding").as_deref(),
                Some("chunked")
            );
            assert!(req.trailers().is_none());
            let mut total = Vec::new();
            while let Some(piece) = req.chunk().await {
                let piece = piece.unwrap();
                seen.send(piece.clone()).unwrap();
                total.extend_from_slice(&piece);
            }
            assert!(req.complete());
            let trailers = req.trailers().expect("trailers after the end");
            let t = trailers.get_str("x-sum").unwrap_or_default();
            assert_eq!(
                req.raw_trailers().unwrap(),
                vec![Bytes::from_static(b"X-Sum"), Bytes::from_static(b"42")]
            );
            res.write_head(
                200,
                None,
                [("X-Len", HeaderValue::from(total.len().to_string()))],
            )
            .unwrap();
            res.write(total).await.unwrap();
            res.end(Some(format!("|{t}").into())).await.unwrap();
        }
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(addr).await.unwrap();
    send(
        &mut client,
        b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    )
    .await;
    // The handler sees the first piece before the rest of the body exists.
    assert_eq!(&seen_rx.recv().await.unwrap()[..], b"hello");
    send(&mut client, b"6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n").await;
    let resp = read_response(&mut client, &mut Vec::new()).await;
    let text = String::from_utf8(resp).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\nX-Len: 11\r\n"),
        "{text}"
    );
    assert!(text.contains("Transfer-Encoding: chunked\r\n"), "{text}");
    assert!(
        text.ends_with("\r\n\r\nb\r\nhello world\r\n3\r\n|42\r\n0\r\n\r\n"),
        "{text}"
    );
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

#[tokio::test]
async fn a_large_response_is_written_with_back_pressure() {
    let server = create_server(ServerOptions::default(), |_req, mut res| async move {
        res.set_header("Content-Length", 1_048_576u64).unwrap();
        for _ in 0..16 {
            res.write(vec![b'y'; 65_536]).await.unwrap();
        }
        res.end(None).await.unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(addr).await.unwrap();
    send(&mut client, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let resp = read_response(&mut client, &mut Vec::new()).await;
    assert!(resp.ends_with(&[b'y'; 1000]));
    let head_end = find(&resp, b"\r\n\r\n").unwrap() + 4;
    assert_eq!(resp.len() - head_end, 1_048_576);
}

#[tokio::test]
async fn a_bad_request_gets_nodes_default_400_and_the_connection_closes() {
    let (_server, mut client) = hello_server().await;
    send(
        &mut client,
        b"GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n",
    )
    .await;
    let mut all = Vec::new();
    client.read_to_end(&mut all).await.unwrap();
    assert_eq!(
        all,
        b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
    );
}

/// A response dropped before anything was sent is ended as Node's `res.end()`
/// would end it (an empty body); one dropped mid-body destroys the connection.
#[tokio::test]
async fn a_dropped_response_is_ended_when_unsent_and_destroyed_mid_body() {
    let server = create_server(ServerOptions::default(), |req, mut res| async move {
        res.set_status_code(204).unwrap();
        if req.url() == "/mid" {
            res.set_status_code(200).unwrap();
            res.write(Bytes::from_static(b"partial")).await.unwrap();
        }
        drop(res);
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(addr).await.unwrap();
    send(&mut client, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let resp = read_response(&mut client, &mut Vec::new()).await;
    assert!(resp.starts_with(b"HTTP/1.1 204 No Content\r\n"), "{resp:?}");
    send(&mut client, b"GET /mid HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let mut all = Vec::new();
    let _ = client.read_to_end(&mut all).await;
    assert!(!String::from_utf8_lossy(&all).contains("0\r\n\r\n"));
}

/// A handler that panics, at once (polled on the connection's task) or after a
/// pending first poll (on a task of its own): its response is dropped, so that
/// connection is destroyed, and the server goes on serving other connections.
#[tokio::test]
async fn a_panicking_handler_destroys_only_its_connection() {
    let server = create_server(ServerOptions::default(), |req, mut res| async move {
        match req.url().as_ref() {
            "/now" => panic!("handler panics in its first poll"),
            "/later" => {
                tokio::task::yield_now().await;
                panic!("handler panics on its own task");
            }
            _ => {
                res.end(Some(Bytes::from_static(b"ok"))).await.unwrap();
            }
        }
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").await.unwrap();
    for path in ["/now", "/later"] {
        let mut client = TcpStream::connect(addr).await.unwrap();
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
        send(&mut client, req.as_bytes()).await;
        let mut all = Vec::new();
        let _ = client.read_to_end(&mut all).await;
        assert!(
            all.is_empty(),
            "{path}: {:?}",
            String::from_utf8_lossy(&all)
        );
    }
    let mut client = TcpStream::connect(addr).await.unwrap();
    send(&mut client, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    let mut buf = Vec::new();
    let resp = read_response(&mut client, &mut buf).await;
    assert!(
        resp.ends_with(b"\r\n\r\nok"),
        "{:?}",
        String::from_utf8_lossy(&resp)
    );
}

#[cfg(unix)]
#[tokio::test]
async fn listens_on_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("courier-rt-tokio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("server.sock");
    let _ = std::fs::remove_file(&path);
    let server = create_server(ServerOptions::default(), |req, mut res| async move {
        res.end(Some(format!("unix {}", req.url()).into()))
            .await
            .unwrap();
    })
    .unwrap();
    server.listen_unix(&path).unwrap();
    assert_eq!(server.local_addr(), None);
    let mut client = tokio::net::UnixStream::connect(&path).await.unwrap();
    send(
        &mut client,
        b"GET /sock HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .await;
    let resp = read_response(&mut client, &mut Vec::new()).await;
    assert!(resp.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(resp.ends_with(b"unix /sock"));
    server.close();
    assert!(!path.exists(), "close() removes the socket file");
    let _ = std::fs::remove_dir(&dir);
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

#[tokio::test]
async fn close_idle_connections_spares_a_connection_mid_request() {
    let (server, mut idle) = hello_server().await;
    let addr = server.local_addr().unwrap();
    send(&mut idle, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
    read_response(&mut idle, &mut Vec::new()).await;
    let mut busy = TcpStream::connect(addr).await.unwrap();
    send(&mut busy, b"GET / HTTP/1.1\r\nHo").await;
    // Accepted is enough: a connection is not idle before its first request ends
    // (SRV-23), whether or not its partial head was read yet.
    while server.connection_count() < 2 {
        tokio::task::yield_now().await;
    }

    server.close_idle_connections();
    assert_eq!(
        idle.read(&mut [0u8; 8]).await.unwrap(),
        0,
        "the idle one is closed"
    );
    send(&mut busy, b"st: a\r\n\r\n").await;
    let resp = read_response(&mut busy, &mut Vec::new()).await;
    assert!(resp.ends_with(b"Hello, World!"));
}

/// RES-3, RES-6: the header-store views, `setHeaders` with `set-cookie` gathered,
/// the status message and date flags; `writableFinished` after `end`; `destroy`.
#[tokio::test]
async fn response_header_store_views_and_destroy() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let server = create_server(ServerOptions::default(), move |req, mut res| {
        let tx = tx.clone();
        async move {
            if req.url() == "/destroy" {
                res.write(Bytes::from_static(b"partial")).await.unwrap();
                res.destroy();
                tx.send(format!("destroyed ended={}", res.writable_ended()))
                    .unwrap();
                return;
            }
            res.set_header("X-Foo", "1").unwrap();
            res.set_headers([
                ("Set-Cookie", HeaderValue::from("a=1")),
                ("content-type", HeaderValue::from("text/plain")),
                ("set-cookie", HeaderValue::from("b=2")),
            ])
            .unwrap();
            res.set_status_message("Fine").unwrap();
            res.set_send_date(false).unwrap();
            let summary = format!(
                "names={:?} raw={:?} headers={} msg={:?} date={} strict={} finished={}",
                res.get_header_names(),
                res.get_raw_header_names(),
                res.get_headers().len(),
                res.status_message(),
                res.send_date(),
                res.strict_content_length(),
                res.writable_finished(),
            );
            res.end(Some(Bytes::from_static(b"ok"))).await.unwrap();
            tx.send(summary).unwrap();
            tx.send(format!("finished={}", res.writable_finished()))
                .unwrap();
        }
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").await.unwrap();
    let mut client = TcpStream::connect(addr).await.unwrap();
    send(&mut client, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut buf = Vec::new();
    let resp = String::from_utf8(read_response(&mut client, &mut buf).await).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200 Fine\r\n"), "{resp}");
    assert!(!resp.contains("Date:"), "{resp}");
    assert!(
        resp.contains("set-cookie: a=1\r\nset-cookie: b=2\r\n"),
        "{resp}"
    );
    assert_eq!(
        rx.recv().await.unwrap(),
        "names=[\"x-foo\", \"content-type\", \"set-cookie\"] \
         raw=[\"X-Foo\", \"content-type\", \"set-cookie\"] headers=3 \
         msg=Some(\"Fine\") date=false strict=false finished=false"
    );
    assert_eq!(rx.recv().await.unwrap(), "finished=true");

    // destroy(): the connection closes with the partial response.
    send(&mut client, b"GET /destroy HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(rx.recv().await.unwrap(), "destroyed ended=true");
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).await.unwrap();
    assert!(!String::from_utf8_lossy(&rest).contains("0\r\n\r\n"));
    server.close();
}
