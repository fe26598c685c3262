//! The server's other events on the blocking adapter: checkContinue,
//! checkExpectation, upgrade, connect, clientError, dropRequest, timeout,
//! connection. Rule ids refer to `spec/node-http.md`.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use bytes::Bytes;
use common::{read_response, read_to_end, send};
use courier_rt_blocking::{BlockingRequest, Server, ServerOptions, Upgraded, create_server};

const T: Duration = Duration::from_secs(10);

fn text(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap()
}

/// The response as text, its `Date` field removed.
fn without_date(resp: Vec<u8>) -> String {
    let t = text(resp);
    match t.find("\r\nDate: ") {
        Some(i) => {
            let end = i + 2 + t[i + 2..].find("\r\n").unwrap();
            format!("{}{}", &t[..i], &t[end..])
        }
        None => t,
    }
}

fn header(req: &BlockingRequest, name: &str) -> String {
    req.headers().get_str(name).unwrap_or_default()
}

fn read_n<S: Read>(s: &mut S, n: usize) -> String {
    let mut b = vec![0u8; n];
    s.read_exact(&mut b).unwrap();
    text(b)
}

/// A server whose request handler answers `req <url>` and counts its calls.
fn counting_server(options: ServerOptions) -> (Server, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let server = create_server(options, move |mut req, mut res| {
        c.fetch_add(1, Ordering::SeqCst);
        let _ = req.read_body();
        res.set_send_date(false).unwrap();
        let _ = res.end(Some(format!("req {}", req.url()).into()));
    })
    .unwrap();
    (server, calls)
}

fn connect(server: &Server) -> TcpStream {
    let addr = match server.local_addr() {
        Some(a) => a,
        None => server.listen("127.0.0.1:0").unwrap(),
    };
    common::connect(addr)
}

/// Echoes everything read back until the peer half-closes.
fn echo(mut io: Upgraded) {
    let mut buf = [0u8; 1024];
    loop {
        match io.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if io.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = io.shutdown(Shutdown::Write);
}

/// SRV-6, SRV-7: with a `'checkContinue'` listener the request goes to it, no `100` is
/// written, and a final answer without `100` makes the response the connection's last.
#[test]
fn check_continue_listener_gets_the_request_and_no_automatic_100() {
    let (server, calls) = counting_server(ServerOptions::default());
    server.on_check_continue(|req, mut res| {
        assert_eq!(header(&req, "expect"), "100-continue");
        res.set_send_date(false).unwrap();
        res.set_status_code(403).unwrap();
        res.end(Some("no".into())).unwrap();
    });
    let mut client = connect(&server);
    send(
        &mut client,
        b"POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    assert_eq!(
        text(read_to_end(&mut client)),
        "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "no 'request'");
    server.close();
}

/// SRV-6, SRV-7: `write_continue` sends `100 Continue`; the client then sends the body.
#[test]
fn write_continue_sends_100_and_the_body_follows() {
    let (server, _) = counting_server(ServerOptions::default());
    server.on_check_continue(|mut req, mut res| {
        res.write_continue().unwrap();
        let body = req.read_body().unwrap();
        res.set_send_date(false).unwrap();
        res.end(Some(body)).unwrap();
    });
    let mut client = connect(&server);
    send(
        &mut client,
        b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    assert_eq!(read_n(&mut client, 25), "HTTP/1.1 100 Continue\r\n\r\n");
    send(&mut client, b"hello");
    assert_eq!(
        text(read_response(&mut client, &mut Vec::new())),
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\
         Content-Length: 5\r\n\r\nhello"
    );
    server.close();
}

/// SRV-6: without a listener `100 Continue` goes out at once and `'request'` runs.
#[test]
fn without_a_check_continue_listener_100_is_automatic() {
    let (server, calls) = counting_server(ServerOptions::default());
    let mut client = connect(&server);
    send(
        &mut client,
        b"PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
    );
    assert_eq!(read_n(&mut client, 25), "HTTP/1.1 100 Continue\r\n\r\n");
    send(&mut client, b"ok");
    let resp = text(read_response(&mut client, &mut Vec::new()));
    assert!(resp.ends_with("\r\n\r\nreq /x"), "{resp}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    server.close();
}

/// SRV-6: `'checkExpectation'` gets `Expect: foo`; without it Node's 417 (exact
/// bytes) and the connection is kept.
#[test]
fn check_expectation_with_and_without_a_listener() {
    let (server, calls) = counting_server(ServerOptions::default());
    let mut client = connect(&server);
    let mut buf = Vec::new();
    send(
        &mut client,
        b"GET / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n\r\n",
    );
    assert_eq!(
        without_date(read_response(&mut client, &mut buf)),
        "HTTP/1.1 417 Expectation Failed\r\nConnection: keep-alive\r\n\
         Keep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    );
    send(&mut client, b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(text(read_response(&mut client, &mut buf)).ends_with("req /next"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    server.close();

    let (server, calls) = counting_server(ServerOptions::default());
    server.on_check_expectation(|req, mut res| {
        let expect = header(&req, "expect");
        res.end(Some(format!("expect {expect}").into())).unwrap();
    });
    let mut client = connect(&server);
    send(
        &mut client,
        b"GET / HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n\r\n",
    );
    let resp = text(read_response(&mut client, &mut Vec::new()));
    assert!(resp.ends_with("\r\n\r\nexpect foo"), "{resp}");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "no 'request'");
    server.close();
}

/// SRV-8: the upgrade listener gets the request, the bytes after the head as `head`,
/// and the std stream; a handed-over socket counts until dropped (SRV-21).
#[test]
fn upgrade_hands_over_head_bytes_and_the_socket() {
    let (server, calls) = counting_server(ServerOptions::default());
    server.on_upgrade(|req, mut io, head| {
        assert_eq!(req.url(), "/chat");
        assert_eq!(header(&req, "upgrade"), "echo");
        io.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
        )
        .unwrap();
        io.write_all(&head).unwrap();
        echo(io);
    });
    let closed = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&closed);
    server.on_close(move || {
        c.fetch_add(1, Ordering::SeqCst);
    });
    let mut client = connect(&server);
    send(
        &mut client,
        b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nHELLO",
    );
    let head = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n";
    assert_eq!(read_n(&mut client, head.len() + 5), format!("{head}HELLO"));
    send(&mut client, b"ping");
    assert_eq!(read_n(&mut client, 4), "ping");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    server.close();
    assert_eq!(server.connection_count(), 1, "the handed-over socket");
    assert_eq!(closed.load(Ordering::SeqCst), 0);
    client.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut client), b"");
    server.wait();
    assert_eq!(closed.load(Ordering::SeqCst), 1);
}

/// SRV-8: an upgrade pipelined behind a request waits for that request's response.
#[test]
fn an_upgrade_waits_for_the_responses_before_it() {
    let server = create_server(ServerOptions::default(), |_req, mut res| {
        std::thread::sleep(Duration::from_millis(20));
        res.set_send_date(false).unwrap();
        res.end(Some("first".into())).unwrap();
    })
    .unwrap();
    server.on_upgrade(|_req, mut io, _head| {
        io.write_all(b"UPGRADED").unwrap();
    });
    let mut client = connect(&server);
    send(
        &mut client,
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n",
    );
    let all = text(read_to_end(&mut client));
    assert!(all.ends_with("\r\n\r\nfirstUPGRADED"), "{all}");
    server.close();
}

/// SRV-9: CONNECT goes to the `'connect'` listener; without one the connection is
/// closed with no bytes.
#[test]
fn connect_opens_a_tunnel_or_closes_silently() {
    let (server, calls) = counting_server(ServerOptions::default());
    let mut client = connect(&server);
    send(
        &mut client,
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    );
    assert_eq!(read_to_end(&mut client), b"");
    server.close();

    let (server2, calls2) = counting_server(ServerOptions::default());
    server2.on_connect(|req, mut io, head| {
        assert_eq!(req.method(), "CONNECT");
        assert_eq!(req.url(), "example.com:443");
        io.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .unwrap();
        io.write_all(&head).unwrap();
        echo(io);
    });
    let mut client = connect(&server2);
    send(
        &mut client,
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nEXTRA",
    );
    let head = "HTTP/1.1 200 Connection Established\r\n\r\n";
    assert_eq!(read_n(&mut client, head.len() + 5), format!("{head}EXTRA"));
    send(&mut client, b"tunnelled");
    assert_eq!(read_n(&mut client, 9), "tunnelled");
    assert_eq!(
        calls.load(Ordering::SeqCst) + calls2.load(Ordering::SeqCst),
        0
    );
    server2.close();
}

/// SRV-12: without a listener Node's default replies (400, 431) and a close.
#[test]
fn without_a_client_error_listener_the_default_reply_is_sent() {
    let (server, _) = counting_server(ServerOptions::default());
    let mut client = connect(&server);
    send(&mut client, b"XYZ / HTTP/1.1\r\n\r\n");
    assert_eq!(
        text(read_to_end(&mut client)),
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
    );
    let mut client = connect(&server);
    let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    let _ = client.write_all(long.as_bytes());
    assert_eq!(
        text(read_to_end(&mut client)),
        "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n"
    );
    server.close();
}

/// SRV-11, SRV-13: with a listener nothing is written; it gets Node's error and the
/// socket after the earlier pipelined response was written.
#[test]
fn a_client_error_listener_gets_the_error_and_the_socket() {
    let (server, _) = counting_server(ServerOptions::default());
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    server.on_client_error(move |err, mut io| {
        tx.lock()
            .unwrap()
            .send((
                err.code(),
                err.message(),
                err.bytes_parsed(),
                err.raw_packet().clone(),
            ))
            .unwrap();
        io.write_all(b"HTTP/1.1 400 Custom\r\n\r\n").unwrap();
    });
    let mut client = connect(&server);
    send(&mut client, b"XYZ / HTTP/1.1\r\n\r\n");
    assert_eq!(
        text(read_to_end(&mut client)),
        "HTTP/1.1 400 Custom\r\n\r\n"
    );
    let (code, message, parsed, raw) = rx.recv_timeout(T).unwrap();
    assert_eq!(code, "HPE_INVALID_METHOD");
    assert_eq!(message, "Parse Error: Invalid method encountered");
    assert_eq!(parsed, 0);
    assert_eq!(raw, Bytes::from_static(b"XYZ / HTTP/1.1\r\n\r\n"));

    let mut client = connect(&server);
    send(
        &mut client,
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nBAD / HTTP/1.1\r\n\r\n",
    );
    assert_eq!(
        text(read_to_end(&mut client)),
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\
         Content-Length: 6\r\n\r\nreq /1HTTP/1.1 400 Custom\r\n\r\n"
    );
    let (code, _, parsed, raw) = rx.recv_timeout(T).unwrap();
    assert_eq!((code, parsed), ("HPE_INVALID_METHOD", 29));
    assert_eq!(raw, Bytes::from_static(b"BAD / HTTP/1.1\r\n\r\n"));
    server.close();
}

/// SRV-11, SRV-17: a request timeout (short) goes to the listener as
/// `ERR_HTTP_REQUEST_TIMEOUT`.
#[test]
fn a_request_timeout_goes_to_the_client_error_listener() {
    let (server, _) = counting_server(ServerOptions {
        headers_timeout: Some(Duration::from_millis(100)),
        request_timeout: Duration::from_millis(200),
        connections_checking_interval: Duration::from_millis(50),
        ..ServerOptions::default()
    });
    server.on_client_error(|err, mut io| {
        assert_eq!(err.code(), "ERR_HTTP_REQUEST_TIMEOUT");
        io.write_all(b"late").unwrap();
    });
    let mut client = connect(&server);
    send(&mut client, b"GET / HTTP/1.1\r\nHost: a\r\n");
    assert_eq!(text(read_to_end(&mut client)), "late");
    server.close();
}

/// SRV-5: over `maxRequestsPerSocket` the request gets Node's 503 and goes to
/// `'dropRequest'`, not `'request'`.
#[test]
fn a_request_over_max_requests_per_socket_is_dropped() {
    let (server, calls) = counting_server(ServerOptions {
        max_requests_per_socket: 1,
        ..ServerOptions::default()
    });
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    server.on_drop_request(move |req, socket| {
        tx.lock()
            .unwrap()
            .send((req.url().into_owned(), socket.is_destroyed()))
            .unwrap();
    });
    let mut client = connect(&server);
    send(
        &mut client,
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    let mut buf = Vec::new();
    assert_eq!(
        text(read_response(&mut client, &mut buf)),
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 6\r\n\r\nreq /1"
    );
    assert_eq!(
        without_date(read_response(&mut client, &mut buf)),
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\
         Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    );
    assert_eq!(rx.recv_timeout(T).unwrap(), ("/2".to_owned(), false));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    server.close();
}

/// SRV-19, SRV-20: with a `'timeout'` listener (short `setTimeout`) an inactive
/// socket is kept and keeps serving; the listener decides (destroy). Without any
/// listener it is destroyed with no bytes.
#[test]
fn timeout_with_and_without_a_listener() {
    let (server, _) = counting_server(ServerOptions::default());
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    server.set_timeout(Duration::from_millis(100), move |socket| {
        let _ = tx.lock().unwrap().send(socket);
    });
    let mut client = connect(&server);
    let socket = rx.recv_timeout(T).unwrap();
    assert!(!socket.is_destroyed());
    send(&mut client, b"GET /late HTTP/1.1\r\nHost: a\r\n\r\n");
    let resp = text(read_response(&mut client, &mut Vec::new()));
    assert!(resp.ends_with("req /late"), "{resp}");
    // The listener decides, here from the test's thread: destroy.
    socket.destroy();
    assert_eq!(read_to_end(&mut client), b"");
    server.close();

    let (server, _) = counting_server(ServerOptions {
        timeout: Duration::from_millis(100),
        ..ServerOptions::default()
    });
    let mut client = connect(&server);
    assert_eq!(read_to_end(&mut client), b"");
    server.close();
}

/// SRV-24: `'connection'` gets every accepted socket with its addresses.
#[test]
fn connection_listener_gets_the_socket() {
    let (server, _) = counting_server(ServerOptions::default());
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    server.on_connection(move |socket| {
        let _ = tx.lock().unwrap().send(socket.remote_addr());
    });
    let client = connect(&server);
    assert_eq!(
        rx.recv_timeout(T).unwrap(),
        Some(client.local_addr().unwrap())
    );
    server.close_all_connections();
    server.close();
}

/// SRV-8 over a Unix socket: the handover gives the Unix stream.
#[cfg(unix)]
#[test]
fn a_unix_socket_upgrade_hands_over_the_unix_stream() {
    use courier_rt_blocking::Stream;
    let dir = std::env::temp_dir().join(format!("courier-blocking-up-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("up.sock");
    let _ = std::fs::remove_file(&path);
    let (server, _) = counting_server(ServerOptions::default());
    server.on_upgrade(|_req, io, head| {
        assert!(io.remote_addr().is_none());
        let Stream::Unix(mut s) = io.into_inner() else {
            panic!("a Unix stream");
        };
        s.write_all(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
            .unwrap();
        s.write_all(&head).unwrap();
    });
    server.listen_unix(&path).unwrap();
    let mut client = std::os::unix::net::UnixStream::connect(&path).unwrap();
    send(
        &mut client,
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\nhead",
    );
    assert_eq!(
        text(read_to_end(&mut client)),
        "HTTP/1.1 101 Switching Protocols\r\n\r\nhead"
    );
    server.close();
    server.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
