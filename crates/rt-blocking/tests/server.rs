//! The blocking server over real loopback sockets, driven by raw clients.

mod common;

use std::io::Read;
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use courier_rt_blocking::{HeaderValue, ServerOptions, create_server};

#[test]
fn answers_a_raw_request_with_nodes_exact_bytes() {
    let (server, mut client) = hello_server();
    send(&mut client, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let resp = read_response(&mut client, &mut Vec::new());
    assert_eq!(
        strip_date(&resp),
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: <date>\r\n\
         Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 13\r\n\r\n\
         Hello, World!"
    );
    assert_eq!(server.connection_count(), 1, "kept alive");
    server.close_all_connections();
    server.closed();
    server.close();
    assert!(!server.listening());
}

#[test]
fn keeps_the_connection_alive_and_answers_pipelined_requests_in_order() {
    let server = create_server(ServerOptions::default(), |req, mut res| {
        let body = format!("{} {}", req.method(), req.url());
        res.end(Some(body.into())).unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut client = connect(addr);
    let mut buf = Vec::new();
    send(&mut client, b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
    let first = read_response(&mut client, &mut buf);
    assert!(first.ends_with(b"\r\n\r\nGET /one"), "{first:?}");
    send(
        &mut client,
        b"POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    );
    let second = read_response(&mut client, &mut buf);
    assert!(second.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(second.ends_with(b"\r\n\r\nPOST /two"), "{second:?}");
    assert_eq!(server.connection_count(), 1);

    // Pipelined: three requests in one write, answered in order.
    send(
        &mut client,
        b"GET /3 HTTP/1.1\r\nHost: a\r\n\r\nGET /4 HTTP/1.1\r\nHost: a\r\n\r\nGET /5 HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert!(read_response(&mut client, &mut buf).ends_with(b"GET /3"));
    assert!(read_response(&mut client, &mut buf).ends_with(b"GET /4"));
    assert!(read_response(&mut client, &mut buf).ends_with(b"GET /5"));
    server.close();
}

#[test]
fn streams_a_chunked_request_body_to_the_handler() {
    let (seen_tx, seen_rx) = mpsc::channel::<Bytes>();
    let seen_tx = std::sync::Mutex::new(seen_tx);
    let server = create_server(ServerOptions::default(), move |mut req, mut res| {
        let seen = seen_tx.lock().unwrap().clone();
        assert_eq!(
            req.headers().get_str("transfer-encoding").as_deref(),
            Some("chunked")
        );
        assert!(req.trailers().is_none());
        let mut total = Vec::new();
        while let Some(piece) = req.chunk() {
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
        res.write(total).unwrap();
        res.end(Some(format!("|{t}").into())).unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut client = connect(addr);
    send(
        &mut client,
        b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    );
    // The handler sees the first piece before the rest of the body exists: its own
    // blocking read pumped the connection.
    assert_eq!(
        &seen_rx.recv_timeout(Duration::from_secs(10)).unwrap()[..],
        b"hello"
    );
    send(&mut client, b"6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n");
    let resp = read_response(&mut client, &mut Vec::new());
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
    server.close();
}

#[test]
fn the_body_is_a_std_read() {
    let server = create_server(ServerOptions::default(), |mut req, mut res| {
        let mut body = Vec::new();
        req.read_to_end(&mut body).unwrap();
        res.end(Some(format!("{}", body.len()).into())).unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut client = connect(addr);
    let body = vec![b'x'; 300_000];
    let mut req = b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 300000\r\n\r\n".to_vec();
    req.extend_from_slice(&body);
    send(&mut client, &req);
    let resp = read_response(&mut client, &mut Vec::new());
    assert!(
        resp.ends_with(b"\r\n\r\n300000"),
        "{:?}",
        String::from_utf8_lossy(&resp)
    );
    server.close();
}

#[test]
fn a_large_response_is_written_with_back_pressure_through_std_write() {
    use std::io::Write;
    let server = create_server(ServerOptions::default(), |_req, mut res| {
        res.set_header("Content-Length", 1_048_576u64).unwrap();
        for _ in 0..16 {
            res.write_all(&[b'y'; 65_536]).unwrap();
        }
        res.end(None).unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut client = connect(addr);
    send(&mut client, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    // Let the server fill the socket's buffers before reading.
    std::thread::sleep(Duration::from_millis(50));
    let resp = read_response(&mut client, &mut Vec::new());
    assert!(resp.ends_with(&[b'y'; 1000]));
    let head_end = find(&resp, b"\r\n\r\n").unwrap() + 4;
    assert_eq!(resp.len() - head_end, 1_048_576);
    server.close();
}

/// SRV-12: without a `'clientError'` listener Node's default 400 and a close.
#[test]
fn a_bad_request_gets_nodes_default_400_and_the_connection_closes() {
    let (server, mut client) = hello_server();
    send(
        &mut client,
        b"GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n",
    );
    assert_eq!(
        read_to_end(&mut client),
        b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
    );
    server.closed();
    server.close();
}

/// A response dropped before anything was sent is ended as Node's `res.end()`
/// would end it (an empty body), and the connection goes on.
#[test]
fn a_response_dropped_unsent_is_ended() {
    let server = create_server(ServerOptions::default(), |_req, res| drop(res)).unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut client = connect(addr);
    send(
        &mut client,
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    let all = String::from_utf8(read_to_end(&mut client)).unwrap();
    assert!(all.starts_with("HTTP/1.1 200 OK\r\n"), "{all}");
    assert!(all.ends_with("Content-Length: 0\r\n\r\n"), "{all}");
    server.close();
}

#[test]
fn a_handler_returning_without_end_gets_rts_drop_behaviour() {
    // The response lives in the handler's frame only: returning drops it.
    let server = create_server(ServerOptions::default(), |_req, mut res| {
        res.write(Bytes::from_static(b"partial")).unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut client = connect(addr);
    send(&mut client, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    // Destroyed: whatever was sent, the chunked body never ends.
    let all = String::from_utf8(read_to_end(&mut client)).unwrap();
    assert!(!all.ends_with("0\r\n\r\n"), "never ended: {all}");
    server.close();
}

#[test]
fn a_response_finished_on_another_thread_is_written() {
    let server = create_server(ServerOptions::default(), |req, mut res| {
        let url = req.url().into_owned();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            res.write(Bytes::from_static(b"from ")).unwrap();
            res.end(Some(format!("worker {url}").into())).unwrap();
        });
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut client = connect(addr);
    let mut buf = Vec::new();
    send(&mut client, b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
    let resp = read_response(&mut client, &mut buf);
    assert!(
        resp.ends_with(b"5\r\nfrom \r\n9\r\nworker /a\r\n0\r\n\r\n"),
        "{resp:?}"
    );
    send(&mut client, b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n");
    let resp = read_response(&mut client, &mut buf);
    assert!(resp.ends_with(b"worker /b\r\n0\r\n\r\n"), "{resp:?}");
    server.close();
}

#[cfg(unix)]
#[test]
fn listens_on_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("courier-rt-blocking-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("server.sock");
    let _ = std::fs::remove_file(&path);
    let server = create_server(ServerOptions::default(), |req, mut res| {
        res.end(Some(format!("unix {}", req.url()).into())).unwrap();
    })
    .unwrap();
    server.listen_unix(&path).unwrap();
    assert_eq!(server.local_addr(), None);
    let mut client = std::os::unix::net::UnixStream::connect(&path).unwrap();
    send(
        &mut client,
        b"GET /sock HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    let resp = read_response(&mut client, &mut Vec::new());
    assert!(resp.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(resp.ends_with(b"unix /sock"));
    server.close();
    assert!(!path.exists(), "close() removes the socket file");
    let _ = std::fs::remove_dir(&dir);
}

/// SRV-18: an idle keep-alive connection is closed by the keep-alive timeout (here
/// a short one; Node adds its 1 s socket-timeout margin).
#[test]
fn an_idle_keep_alive_connection_closes_after_the_keep_alive_timeout() {
    let options = ServerOptions {
        keep_alive_timeout: Duration::from_millis(50),
        ..ServerOptions::default()
    };
    let server = create_server(options, |_req, mut res| {
        res.end(Some(Bytes::from_static(b"ok"))).unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut client = connect(addr);
    send(&mut client, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let mut buf = Vec::new();
    let resp = String::from_utf8(read_response(&mut client, &mut buf)).unwrap();
    assert!(
        resp.contains("Keep-Alive: timeout=0\r\n") || resp.contains("Keep-Alive"),
        "{resp}"
    );
    let n = client.read(&mut [0u8; 16]).unwrap();
    assert_eq!(n, 0, "closed by the server");
    server.closed();
    server.close();
}

/// SRV-17: an incomplete head gets Node's 408 (short headers/request timeouts).
#[test]
fn an_incomplete_head_gets_nodes_408() {
    let options = ServerOptions {
        headers_timeout: Some(Duration::from_millis(100)),
        request_timeout: Duration::from_millis(200),
        connections_checking_interval: Duration::from_millis(50),
        ..ServerOptions::default()
    };
    let server = create_server(options, |_req, mut res| {
        res.end(None).unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut client = connect(addr);
    send(&mut client, b"GET / HTTP/1.1\r\nHost: a\r\n");
    assert_eq!(
        read_to_end(&mut client),
        b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n"
    );
    server.close();
}

/// SRV-23: closeIdleConnections spares a connection mid-request.
#[test]
fn close_idle_connections_spares_a_connection_mid_request() {
    let (server, mut idle) = hello_server();
    let addr = server.local_addr().unwrap();
    send(&mut idle, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    read_response(&mut idle, &mut Vec::new());
    let mut busy = connect(addr);
    send(&mut busy, b"GET / HTTP/1.1\r\nHo");
    while server.connection_count() < 2 {
        std::thread::sleep(Duration::from_millis(1));
    }
    server.close_idle_connections();
    assert_eq!(
        idle.read(&mut [0u8; 8]).unwrap(),
        0,
        "the idle one is closed"
    );
    send(&mut busy, b"st: a\r\n\r\n");
    let resp = read_response(&mut busy, &mut Vec::new());
    assert!(resp.ends_with(b"Hello, World!"));
    server.close();
}

/// SRV-21, SRV-22: close() stops accepting; closeAllConnections ends a connection
/// whose thread is blocked reading; 'close' fires once everything is gone.
#[test]
fn close_and_close_all_connections() {
    // The handler holds its request until told: the connection is busy, not idle.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = std::sync::Mutex::new(go_rx);
    let server = create_server(ServerOptions::default(), move |_req, mut res| {
        let _ = go_rx.lock().unwrap().recv_timeout(Duration::from_secs(10));
        let _ = res.end(Some(Bytes::from_static(b"late")));
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut client = connect(addr);
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    server.on_close(move || tx.lock().unwrap().send(()).unwrap());
    send(&mut client, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    while server.connection_count() == 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
    server.close();
    assert!(!server.listening());
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "no longer accepting"
    );
    assert!(rx.try_recv().is_err(), "a connection is still open");
    assert_eq!(server.connection_count(), 1);
    // The connection's thread is inside the handler: closeAllConnections still ends
    // the socket at once.
    server.close_all_connections();
    assert_eq!(client.read(&mut [0u8; 8]).unwrap_or(0), 0);
    go_tx.send(()).unwrap();
    server.wait();
    rx.recv_timeout(Duration::from_secs(5)).unwrap();
}

/// The pool bound: with one thread, a second connection waits in the backlog until
/// the first is closed.
#[test]
fn connections_past_max_threads_wait_in_the_backlog() {
    let server = create_server(ServerOptions::default(), |_req, mut res| {
        res.end(Some(Bytes::from_static(b"Hello, World!"))).unwrap();
    })
    .unwrap();
    server.set_max_threads(1);
    assert_eq!(server.max_threads(), 1);
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut first = connect(addr);
    send(&mut first, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    read_response(&mut first, &mut Vec::new());
    // Connected (the kernel's backlog) and sent, but not served: the one thread is
    // `first`'s, kept alive.
    let mut second = connect(addr);
    send(&mut second, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    second
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let waited = second.read(&mut [0u8; 1]);
    assert!(
        waited.is_err(),
        "not served while the pool is full: {waited:?}"
    );
    assert_eq!(server.connection_count(), 1);
    drop(first);
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let resp = read_response(&mut second, &mut Vec::new());
    assert!(resp.ends_with(b"Hello, World!"));
    server.close_all_connections();
    server.close();
}

/// RES-3, RES-6: the header-store views; `writableFinished` after `end`; `destroy`.
#[test]
fn response_header_store_views_and_destroy() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = create_server(ServerOptions::default(), move |req, mut res| {
        let tx = tx.lock().unwrap().clone();
        if req.url() == "/destroy" {
            res.write(Bytes::from_static(b"partial")).unwrap();
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
        res.end(Some(Bytes::from_static(b"ok"))).unwrap();
        tx.send(summary).unwrap();
        assert!(res.wait_finished());
        tx.send(format!("finished={}", res.writable_finished()))
            .unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut client = connect(addr);
    send(&mut client, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = Vec::new();
    let resp = String::from_utf8(read_response(&mut client, &mut buf)).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200 Fine\r\n"), "{resp}");
    assert!(!resp.contains("Date:"), "{resp}");
    assert!(
        resp.contains("set-cookie: a=1\r\nset-cookie: b=2\r\n"),
        "{resp}"
    );
    let t = Duration::from_secs(10);
    assert_eq!(
        rx.recv_timeout(t).unwrap(),
        "names=[\"x-foo\", \"content-type\", \"set-cookie\"] \
         raw=[\"X-Foo\", \"content-type\", \"set-cookie\"] headers=3 \
         msg=Some(\"Fine\") date=false strict=false finished=false"
    );
    assert_eq!(rx.recv_timeout(t).unwrap(), "finished=true");

    send(&mut client, b"GET /destroy HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(rx.recv_timeout(t).unwrap(), "destroyed ended=true");
    let rest = read_to_end(&mut client);
    assert!(!String::from_utf8_lossy(&rest).contains("0\r\n\r\n"));
    server.close();
}

/// Socket writes happen without the connection's lock: a peer that stops reading
/// blocks its connection's thread only, not `close()` from another thread;
/// `closeAllConnections()` (SRV-22) then ends the blocked write.
#[test]
fn a_peer_that_does_not_read_blocks_neither_close_nor_close_all() {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let server = create_server(ServerOptions::default(), move |_req, mut res| {
        let mut sent = 0usize;
        while sent < 64 * 1024 * 1024 {
            if res.write(vec![b'z'; 65_536]).is_err() {
                break;
            }
            sent += 65_536;
        }
        let _ = tx.lock().unwrap().send(sent);
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut client = connect(addr);
    send(&mut client, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    std::thread::sleep(Duration::from_millis(200));
    let start = std::time::Instant::now();
    server.close();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "close() did not wait"
    );
    assert_eq!(server.connection_count(), 1, "still writing");
    server.close_all_connections();
    let sent = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(sent < 64 * 1024 * 1024, "the write failed once destroyed");
    server.wait();
}
