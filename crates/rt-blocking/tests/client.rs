//! The blocking client over real loopback sockets, against raw servers (threads with
//! std sockets) that check and send exact bytes, and against our blocking server.
//! Rule ids refer to `spec/node-http.md`.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use common::find;
use courier_rt_blocking::{
    Agent, AgentChoice, AgentOptions, BlockingClientRequest, ClientError, ClientOptions,
    RequestEvent, RequestOptions, ServerOptions, create_server, get, request,
};

fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
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

/// Reads one whole request.
fn read_request<S: Read>(s: &mut S, buf: &mut Vec<u8>) -> String {
    loop {
        if let Some(end) = complete_len(buf) {
            let req: Vec<u8> = buf.drain(..end).collect();
            return String::from_utf8_lossy(&req).into_owned();
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).unwrap();
        assert!(
            n > 0,
            "EOF before a whole request: {:?}",
            String::from_utf8_lossy(buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads up to the end of a head.
fn read_head<S: Read>(s: &mut S, buf: &mut Vec<u8>) -> String {
    loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            let head: Vec<u8> = buf.drain(..i + 4).collect();
            return String::from_utf8_lossy(&head).into_owned();
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "EOF before a head");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A raw server thread: accepts one connection, runs `f` on it.
fn serve_one<T: Send + 'static>(
    l: TcpListener,
    f: impl FnOnce(&mut std::net::TcpStream) -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        f(&mut s)
    })
}

fn keep_alive_agent() -> Agent {
    Agent::new(AgentOptions {
        keep_alive: true,
        ..AgentOptions::default()
    })
    .unwrap()
}

fn opts(url: String, agent: &Agent) -> ClientOptions {
    ClientOptions::url(url).agent(AgentChoice::Agent(agent.clone()))
}

fn events(req: &mut BlockingClientRequest) -> Vec<RequestEvent> {
    let mut v = Vec::new();
    while let Some(e) = req.next_event() {
        v.push(e);
    }
    v
}

fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..400 {
        if f() {
            return;
        }
        thread::sleep(Duration::from_millis(5));
    }
    panic!("timed out waiting for {what}");
}

const OK_HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello";

/// CLI-1, CLI-8, CLI-9, CLI-11, CLI-19, MSG-2, MSG-3: the URL form, the exact head,
/// the response's views and Node's event order.
#[test]
fn get_url_exact_bytes_and_events() {
    let (l, port) = listener();
    let server = serve_one(l, |s| {
        let req = read_request(s, &mut Vec::new());
        s.write_all(OK_HELLO).unwrap();
        req
    });
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://u:p@127.0.0.1:{port}/p?q=1#h"), &agent)).unwrap();
    assert_eq!((req.method(), req.path()), ("GET", "/p?q=1"));
    let mut res = req.response().unwrap();
    assert_eq!(
        server.join().unwrap(),
        format!(
            "GET /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic dTpw\r\n\
             Connection: keep-alive\r\n\r\n"
        )
    );
    assert_eq!(res.status_code(), 200);
    assert_eq!(res.status_message(), "OK");
    assert_eq!(res.http_version(), "1.1");
    assert_eq!(res.headers().get_str("x-a").as_deref(), Some("1, 2"));
    assert_eq!(res.headers_distinct().get("x-a").unwrap().len(), 2);
    assert_eq!(res.raw_headers().len(), 6);
    let mut body = String::new();
    res.read_to_string(&mut body).unwrap();
    assert_eq!(body, "hello");
    assert!(res.complete() && !res.aborted());
    assert_eq!(
        events(&mut req),
        [
            RequestEvent::Socket,
            RequestEvent::Finish,
            RequestEvent::Close
        ]
    );
    assert!(!req.reused_socket());
}

/// CLI-12: `end(data)` gives `Content-Length`; `write` before `end` gives chunked.
#[test]
fn post_with_content_length_and_chunked_upload() {
    let (l, port) = listener();
    let server = serve_one(l, |s| {
        let mut buf = Vec::new();
        let a = read_request(s, &mut buf);
        s.write_all(OK_HELLO).unwrap();
        let b = read_request(s, &mut buf);
        s.write_all(OK_HELLO).unwrap();
        (a, b)
    });
    let agent = keep_alive_agent();
    let mut req =
        request(opts(format!("http://127.0.0.1:{port}/up"), &agent).method("post")).unwrap();
    req.set_header("Content-Type", "text/plain").unwrap();
    req.end(Some(Bytes::from_static(b"abc"))).unwrap();
    let mut res = req.response().unwrap();
    assert_eq!(res.status_code(), 200);
    res.read_body().unwrap();
    // CLI-25: the head is out.
    assert_eq!(
        req.set_header("X", "1").unwrap_err().code(),
        "ERR_HTTP_HEADERS_SENT"
    );
    // The socket goes back to the pool once the exchange is over (else the agent
    // would open a second connection, which this raw server never accepts).
    until("the free socket", || agent.free_sockets().len() == 1);

    let mut req = request(opts(format!("http://127.0.0.1:{port}/"), &agent).method("PUT")).unwrap();
    req.write("ab").unwrap();
    req.write(Bytes::from_static(b"cd")).unwrap();
    req.end(None).unwrap();
    assert_eq!(req.response().unwrap().status_code(), 200);
    assert!(req.reused_socket(), "CLI-24");
    let (a, b) = server.join().unwrap();
    assert_eq!(
        a,
        format!(
            "POST /up HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/plain\r\n\
             Connection: keep-alive\r\nContent-Length: 3\r\n\r\nabc"
        )
    );
    assert_eq!(
        b,
        format!(
            "PUT / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\
             Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"
        )
    );
}

/// MSG-11: an unread response body stops the client reading; reading it lets
/// everything through, in order.
#[test]
fn response_body_back_pressure() {
    const TOTAL: usize = 8 * 1024 * 1024;
    let (l, port) = listener();
    let written = Arc::new(AtomicUsize::new(0));
    let w = Arc::clone(&written);
    serve_one(l, move |s| {
        read_request(s, &mut Vec::new());
        s.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {TOTAL}\r\n\r\n").as_bytes())
            .unwrap();
        let piece: Vec<u8> = (0..16 * 1024).map(|i| (i % 251) as u8).collect();
        while w.load(Ordering::SeqCst) < TOTAL {
            s.write_all(&piece).unwrap();
            w.fetch_add(piece.len(), Ordering::SeqCst);
        }
    });
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://127.0.0.1:{port}/big"), &agent)).unwrap();
    let mut res = req.response().unwrap();
    thread::sleep(Duration::from_millis(300));
    let held = written.load(Ordering::SeqCst);
    assert!(
        held < TOTAL,
        "the server wrote everything ({held}) to an unread body"
    );
    let mut got = 0usize;
    let mut first = true;
    while let Some(piece) = res.chunk() {
        let piece = piece.unwrap();
        if first {
            assert_eq!(piece[1], 1);
            first = false;
        }
        got += piece.len();
    }
    assert_eq!(got, TOTAL);
    assert!(res.complete());
}

/// CLI-24, AGT-5, AGT-7: a kept socket goes to the free list and the next request
/// takes it; AGT-9: a free socket the server closes leaves the pool.
#[test]
fn keep_alive_reuse_and_a_closed_free_socket_leaves_the_pool() {
    let (l, port) = listener();
    let server = serve_one(l, |s| {
        let mut buf = Vec::new();
        for _ in 0..2 {
            read_request(s, &mut buf);
            s.write_all(OK_HELLO).unwrap();
        }
        thread::sleep(Duration::from_millis(20));
        // closed while idle in the pool
    });
    let agent = keep_alive_agent();
    let name = format!("127.0.0.1:{port}:");
    let mut first = get(opts(format!("http://127.0.0.1:{port}/1"), &agent)).unwrap();
    assert_eq!(first.response().unwrap().read_body().unwrap(), "hello");
    assert!(!first.reused_socket());
    until("the socket to be free", || {
        agent.free_sockets() == vec![(name.clone(), 1)]
    });
    let mut second = get(opts(format!("http://127.0.0.1:{port}/2"), &agent)).unwrap();
    assert_eq!(second.response().unwrap().read_body().unwrap(), "hello");
    assert!(second.reused_socket(), "CLI-24");
    server.join().unwrap();
    until("the closed socket to leave the pool", || {
        agent.free_sockets().is_empty() && agent.total_socket_count() == 0
    });
}

/// AGT-5: `maxSockets: 1` queues the other requests; served in order on one socket.
#[test]
fn max_sockets_queues_requests() {
    let (l, port) = listener();
    // The first answer waits until the queue was looked at: answered at once, it
    // could hand the socket to the next request before the check.
    let (looked, wait_look) = std::sync::mpsc::channel::<()>();
    let server = serve_one(l, move |s| {
        let mut buf = Vec::new();
        let mut paths = Vec::new();
        for i in 0..3 {
            let req = read_request(s, &mut buf);
            paths.push(req.split(' ').nth(1).unwrap().to_owned());
            if i == 0 {
                wait_look.recv().unwrap();
            }
            s.write_all(OK_HELLO).unwrap();
        }
        paths
    });
    let agent = Agent::new(AgentOptions {
        keep_alive: true,
        max_sockets: Some(1),
        ..AgentOptions::default()
    })
    .unwrap();
    let mut reqs: Vec<_> = (0..3)
        .map(|i| get(opts(format!("http://127.0.0.1:{port}/{i}"), &agent)).unwrap())
        .collect();
    let name = format!("127.0.0.1:{port}:");
    assert_eq!(agent.requests(), vec![(name.clone(), 2)]);
    looked.send(()).unwrap();
    for r in &mut reqs {
        assert_eq!(r.response().unwrap().read_body().unwrap(), "hello");
    }
    assert_eq!(server.join().unwrap(), ["/0", "/1", "/2"]);
}

/// CLI-13, CLI-15, CLI-19: `Expect: 100-continue` sends the head alone; the body is
/// written on `'continue'`.
#[test]
fn expect_100_continue() {
    let (l, port) = listener();
    let server = serve_one(l, |s| {
        let mut buf = Vec::new();
        let head = read_head(s, &mut buf);
        assert!(buf.is_empty(), "no body before 100");
        s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
        while buf.len() < 4 {
            let mut c = [0u8; 64];
            let n = s.read(&mut c).unwrap();
            buf.extend_from_slice(&c[..n]);
        }
        s.write_all(OK_HELLO).unwrap();
        (head, buf)
    });
    let agent = keep_alive_agent();
    let mut req = request(
        opts(format!("http://127.0.0.1:{port}/"), &agent)
            .method("PUT")
            .header("Expect", "100-continue")
            .header("Content-Length", 4),
    )
    .unwrap();
    assert_eq!(req.next_event(), Some(RequestEvent::Socket));
    assert_eq!(req.next_event(), Some(RequestEvent::Continue));
    let Some(RequestEvent::Information { status, .. }) = req.next_event() else {
        panic!("information");
    };
    assert_eq!(status, 100);
    req.end(Some(Bytes::from_static(b"body"))).unwrap();
    assert_eq!(req.next_event(), Some(RequestEvent::Finish));
    assert_eq!(req.response().unwrap().status_code(), 200);
    let (head, body) = server.join().unwrap();
    assert!(
        head.starts_with("PUT / HTTP/1.1\r\nExpect: 100-continue\r\n"),
        "{head}"
    );
    assert_eq!(body, b"body");
}

/// CLI-16: a 101 hands the socket and the bytes after the head to the application.
#[test]
fn upgrade_gives_the_stream_and_head() {
    let (l, port) = listener();
    serve_one(l, |s| {
        let head = read_head(s, &mut Vec::new());
        assert!(head.contains("Upgrade: echo\r\n"));
        s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nfirst")
            .unwrap();
        let mut c = [0u8; 64];
        let n = s.read(&mut c).unwrap();
        s.write_all(&c[..n]).unwrap();
    });
    let agent = keep_alive_agent();
    let mut req = request(
        opts(format!("http://127.0.0.1:{port}/ws"), &agent)
            .header("Connection", "Upgrade")
            .header("Upgrade", "echo"),
    )
    .unwrap();
    req.end(None).unwrap();
    let mut up = req.upgrade().unwrap();
    assert_eq!(up.status_code(), 101);
    assert_eq!(up.head(), "first");
    let mut first = [0u8; 5];
    up.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"first");
    up.write_all(b"ping").unwrap();
    let mut back = [0u8; 4];
    up.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"ping");
    until("the agent to forget the socket", || {
        agent.total_socket_count() == 0
    });
}

/// CLI-16: any response to CONNECT hands the socket over.
#[test]
fn connect_tunnel() {
    let (l, port) = listener();
    let server = serve_one(l, |s| {
        let head = read_head(s, &mut Vec::new());
        s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\ntunnel")
            .unwrap();
        head
    });
    let agent = keep_alive_agent();
    let mut req = request(
        ClientOptions::from(RequestOptions {
            method: Some("CONNECT".into()),
            path: Some("example.com:443".into()),
            hostname: Some("127.0.0.1".into()),
            port: Some(port),
            ..RequestOptions::default()
        })
        .agent(AgentChoice::Agent(agent.clone())),
    )
    .unwrap();
    let up = req.upgrade().unwrap();
    assert_eq!(up.status_code(), 200);
    assert_eq!(up.head(), "tunnel");
    // The std stream itself, and the bytes after the head.
    let (stream, head) = up.into_stream().unwrap();
    assert!(matches!(stream, courier_rt_blocking::Stream::Tcp(_)));
    assert_eq!(head, "tunnel");
    assert_eq!(
        server.join().unwrap(),
        format!(
            "CONNECT example.com:443 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\r\n"
        )
    );
}

/// MSG-8: trailers are there once the body is complete.
#[test]
fn response_trailers() {
    let (l, port) = listener();
    serve_one(l, |s| {
        read_request(s, &mut Vec::new());
        s.write_all(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n\
              3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n",
        )
        .unwrap();
        thread::sleep(Duration::from_millis(100));
    });
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    let mut res = req.response().unwrap();
    assert_eq!(res.read_body().unwrap(), "abc");
    assert_eq!(
        res.trailers().unwrap().get_str("x-sum").as_deref(),
        Some("42")
    );
}

/// CLI-23: an idle socket gives `'timeout'` (a short one); the application destroys
/// and the request fails with `socket hang up` (CLI-21).
#[test]
fn timeout_then_destroy() {
    let (l, port) = listener();
    serve_one(l, |s| {
        read_request(s, &mut Vec::new());
        thread::sleep(Duration::from_secs(2));
    });
    let agent = keep_alive_agent();
    let mut req =
        get(opts(format!("http://127.0.0.1:{port}/"), &agent).timeout(Duration::from_millis(100)))
            .unwrap();
    loop {
        match req.next_event() {
            Some(RequestEvent::Timeout) => break,
            Some(_) => {}
            None => panic!("no timeout"),
        }
    }
    req.destroy();
    assert_eq!(req.response().unwrap_err(), ClientError::HangUp);
}

/// CLI-21: the server closes before a response: `socket hang up`.
#[test]
fn server_closes_before_response() {
    let (l, port) = listener();
    serve_one(l, |s| {
        read_request(s, &mut Vec::new());
    });
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    let err = req.response().unwrap_err();
    assert_eq!(err, ClientError::HangUp);
    assert_eq!(err.code(), "ECONNRESET");
}

/// CLI-20: a refused connection: `'socket'`, the error with Node's message, `'close'`.
#[test]
fn connection_refused() {
    let (l, port) = listener();
    drop(l);
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    let err = req.response().unwrap_err();
    assert_eq!(err.code(), "ECONNREFUSED");
    assert_eq!(
        err.to_string(),
        format!("connect ECONNREFUSED 127.0.0.1:{port}")
    );
    assert_eq!(
        events(&mut req),
        [RequestEvent::Socket, RequestEvent::Close]
    );
    assert_eq!(agent.total_socket_count(), 0);
}

/// `socketPath`: a Unix socket.
#[cfg(unix)]
#[test]
fn unix_socket_path() {
    let dir = std::env::temp_dir().join(format!("courier-blocking-client-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("s.sock");
    let _ = std::fs::remove_file(&path);
    let l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let req = read_request(&mut s, &mut Vec::new());
        s.write_all(OK_HELLO).unwrap();
        req
    });
    let agent = keep_alive_agent();
    let o = ClientOptions::from(RequestOptions {
        path: Some("/unix".into()),
        ..RequestOptions::default()
    })
    .socket_path(path.to_str().unwrap())
    .agent(AgentChoice::Agent(agent.clone()));
    let mut req = get(o).unwrap();
    assert_eq!(req.response().unwrap().read_body().unwrap(), "hello");
    assert_eq!(
        server.join().unwrap(),
        "GET /unix HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n"
    );
    let _ = std::fs::remove_file(&path);
}

/// Against our blocking server: a chunked upload echoed back, two requests on one
/// kept connection, and requests from several threads at once.
#[test]
fn against_our_server() {
    let server = create_server(ServerOptions::default(), |mut req, mut res| {
        let body = req.read_body().unwrap_or_default();
        res.set_header("X-Method", req.method()).unwrap();
        res.end(Some(body)).unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let agent = keep_alive_agent();
    for i in 0..2 {
        let mut req = request(opts(format!("http://{addr}/echo"), &agent).method("POST")).unwrap();
        req.write("hello ").unwrap();
        req.end(Some(Bytes::from(format!("world {i}")))).unwrap();
        let mut res = req.response().unwrap();
        assert_eq!(res.status_code(), 200);
        assert_eq!(res.headers().get_str("x-method").as_deref(), Some("POST"));
        assert!(res.headers().contains("date"));
        assert_eq!(res.read_body().unwrap(), format!("hello world {i}"));
        assert_eq!(req.reused_socket(), i == 1);
        until("the free socket", || agent.free_sockets().len() == 1);
    }
    let workers: Vec<_> = (0..8)
        .map(|i| {
            let agent = agent.clone();
            thread::spawn(move || {
                for j in 0..10 {
                    let mut req =
                        request(opts(format!("http://{addr}/t"), &agent).method("PUT")).unwrap();
                    let body = vec![b'a' + (i as u8); 100_000 + j];
                    req.write(body.clone()).unwrap();
                    req.end(None).unwrap();
                    let mut res = req.response().unwrap();
                    assert_eq!(res.read_body().unwrap(), body);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    server.close_all_connections();
    server.close();
}

/// CLI-23: `setTimeout` on a request already running on its socket (the connection's
/// thread is blocked reading) still fires.
#[test]
fn set_timeout_after_the_socket_is_assigned() {
    let (l, port) = listener();
    serve_one(l, |s| {
        read_request(s, &mut Vec::new());
        thread::sleep(Duration::from_secs(2));
    });
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    assert_eq!(req.next_event(), Some(RequestEvent::Socket));
    assert_eq!(req.next_event(), Some(RequestEvent::Finish));
    req.set_timeout(Some(Duration::from_millis(50)));
    assert_eq!(req.next_event(), Some(RequestEvent::Timeout));
    req.destroy();
    assert_eq!(req.response().unwrap_err(), ClientError::HangUp);
}

/// AGT-10: a connector replaces `createConnection`; its transport (here the
/// adapter's own `Stream`) is driven by the poll loop, also when the socket is
/// reused from the pool.
#[test]
fn connector_hook() {
    use courier_rt_blocking::{BlockingConnector, ConnectTarget, Connector, Transport};
    struct Redirect {
        port: u16,
        calls: AtomicUsize,
    }
    impl Connector for Redirect {
        fn connect(&self, target: &ConnectTarget) -> courier_rt_blocking::ConnectFuture {
            self.calls.fetch_add(1, Ordering::SeqCst);
            assert_eq!(target.host, "example.invalid");
            let mut t = target.clone();
            t.host = "127.0.0.1".into();
            t.port = self.port;
            Box::pin(async move {
                let s = BlockingConnector::connect_stream(&t)?;
                Ok(Box::new(s) as Box<dyn Transport>)
            })
        }
    }
    let (l, port) = listener();
    let server = serve_one(l, |s| {
        let mut buf = Vec::new();
        let a = read_request(s, &mut buf);
        s.write_all(OK_HELLO).unwrap();
        let b = read_request(s, &mut buf);
        s.write_all(OK_HELLO).unwrap();
        (a, b)
    });
    let agent = keep_alive_agent();
    let hook = Arc::new(Redirect {
        port,
        calls: AtomicUsize::new(0),
    });
    agent.set_connector(hook.clone());
    let mut req = get(opts("http://example.invalid/".into(), &agent)).unwrap();
    assert_eq!(req.response().unwrap().read_body().unwrap(), "hello");
    until("the free socket", || agent.free_sockets().len() == 1);
    let mut req = request(opts("http://example.invalid/2".into(), &agent).method("POST")).unwrap();
    req.write("late ").unwrap();
    req.end(Some("body".into())).unwrap();
    assert_eq!(req.response().unwrap().read_body().unwrap(), "hello");
    assert!(req.reused_socket());
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1);
    let (a, b) = server.join().unwrap();
    assert!(a.contains("Host: example.invalid\r\n"));
    assert!(b.ends_with("5\r\nlate \r\n4\r\nbody\r\n0\r\n\r\n"), "{b}");
}
