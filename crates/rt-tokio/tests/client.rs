//! The tokio client over real loopback sockets, against raw servers that check and
//! send exact bytes, and against our own server. Rule ids refer to
//! `spec/node-http.md`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use courier_rt_tokio::{
    Agent, AgentChoice, AgentOptions, ClientError, ClientOptions, ConnectTarget, Connector,
    RequestEvent, RequestOptions, ServerOptions, TokioConnector, Transport, create_server, get,
    request,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

// ------------------------------------------------------------------- helpers --

async fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The length of the first whole message in `buf` (head + Content-Length or chunked
/// body), if it is all there.
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
async fn read_request<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> String {
    loop {
        if let Some(end) = complete_len(buf) {
            let req: Vec<u8> = buf.drain(..end).collect();
            return String::from_utf8_lossy(&req).into_owned();
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.unwrap();
        assert!(
            n > 0,
            "EOF before a whole request: {:?}",
            String::from_utf8_lossy(buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads up to the end of a head.
async fn read_head<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> String {
    loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            let head: Vec<u8> = buf.drain(..i + 4).collect();
            return String::from_utf8_lossy(&head).into_owned();
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "EOF before a head");
        buf.extend_from_slice(&chunk[..n]);
    }
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

async fn events(req: &mut courier_rt_tokio::ClientRequest) -> Vec<RequestEvent> {
    let mut v = Vec::new();
    while let Some(e) = req.next_event().await {
        v.push(e);
    }
    v
}

/// Waits (in small real steps) until `f` holds.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..400 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for {what}");
}

const OK_HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello";

// --------------------------------------------------------------------- tests --

/// CLI-1, CLI-8, CLI-9, CLI-11, CLI-19, MSG-2, MSG-3: the URL form, the exact head,
/// the response's views and Node's event order.
#[tokio::test]
async fn get_url_exact_bytes_and_events() {
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let req = read_request(&mut s, &mut buf).await;
        s.write_all(OK_HELLO).await.unwrap();
        req
    });
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://u:p@127.0.0.1:{port}/p?q=1#h"), &agent)).unwrap();
    assert_eq!((req.method(), req.path()), ("GET", "/p?q=1"));
    let mut res = req.response().await.unwrap();
    assert_eq!(
        server.await.unwrap(),
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
    assert_eq!(res.read_body().await.unwrap(), "hello");
    assert!(res.complete() && !res.aborted());
    assert_eq!(
        events(&mut req).await,
        [
            RequestEvent::Socket,
            RequestEvent::Finish,
            RequestEvent::Close
        ]
    );
    assert!(!req.reused_socket());
}

/// CLI-12: `end(data)` as the only body call gives `Content-Length`.
#[tokio::test]
async fn post_with_content_length() {
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let req = read_request(&mut s, &mut buf).await;
        s.write_all(OK_HELLO).await.unwrap();
        req
    });
    let agent = keep_alive_agent();
    let mut req =
        request(opts(format!("http://127.0.0.1:{port}/up"), &agent).method("post")).unwrap();
    req.set_header("Content-Type", "text/plain").unwrap();
    assert!(req.get_header("content-type").is_some());
    req.end(Some(Bytes::from_static(b"abc"))).unwrap();
    let res = req.response().await.unwrap();
    assert_eq!(res.status_code(), 200);
    assert_eq!(
        server.await.unwrap(),
        format!(
            "POST /up HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/plain\r\n\
             Connection: keep-alive\r\nContent-Length: 3\r\n\r\nabc"
        )
    );
    // CLI-25: the head is out.
    assert_eq!(
        req.set_header("X", "1").unwrap_err().code(),
        "ERR_HTTP_HEADERS_SENT"
    );
}

/// CLI-12: `write` before `end` gives chunked coding; `write` waits for the drain.
#[tokio::test]
async fn post_chunked_upload() {
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let req = read_request(&mut s, &mut buf).await;
        s.write_all(OK_HELLO).await.unwrap();
        req
    });
    let agent = keep_alive_agent();
    let mut req = request(opts(format!("http://127.0.0.1:{port}/"), &agent).method("PUT")).unwrap();
    req.write("ab").await.unwrap();
    req.write(Bytes::from_static(b"cd")).await.unwrap();
    req.end(None).unwrap();
    assert_eq!(req.response().await.unwrap().status_code(), 200);
    assert_eq!(
        server.await.unwrap(),
        format!(
            "PUT / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\
             Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"
        )
    );
}

/// MSG-11 and back-pressure: an unread response body stops the client reading, so
/// the server cannot write it all; reading it lets everything through, in order.
#[tokio::test]
async fn response_body_back_pressure() {
    const TOTAL: usize = 32 * 1024 * 1024;
    let (l, port) = listener().await;
    let written = Arc::new(AtomicUsize::new(0));
    let w = Arc::clone(&written);
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        read_request(&mut s, &mut buf).await;
        s.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {TOTAL}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let piece: Vec<u8> = (0..16 * 1024).map(|i| (i % 251) as u8).collect();
        while w.load(Ordering::SeqCst) < TOTAL {
            s.write_all(&piece).await.unwrap();
            w.fetch_add(piece.len(), Ordering::SeqCst);
        }
    });
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://127.0.0.1:{port}/big"), &agent)).unwrap();
    let mut res = req.response().await.unwrap();
    // Nothing read for a while: the server is held back.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = written.load(Ordering::SeqCst);
    assert!(
        held < TOTAL,
        "the server wrote everything ({held}) to an unread body"
    );
    let mut got = 0usize;
    let mut first = true;
    while let Some(piece) = res.chunk().await {
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
/// takes it, with `reusedSocket`.
#[tokio::test]
async fn keep_alive_reuse_through_the_agent() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        for _ in 0..2 {
            read_request(&mut s, &mut buf).await;
            s.write_all(OK_HELLO).await.unwrap();
        }
        // Only one connection is ever accepted.
        let _ = l.accept().await;
        panic!("a second connection");
    });
    let agent = keep_alive_agent();
    let name = format!("127.0.0.1:{port}:");
    let mut first = get(opts(format!("http://127.0.0.1:{port}/1"), &agent)).unwrap();
    let mut res = first.response().await.unwrap();
    assert_eq!(res.read_body().await.unwrap(), "hello");
    assert!(!first.reused_socket());
    until("the socket to be free", || {
        agent.free_sockets() == vec![(name.clone(), 1)]
    })
    .await;
    assert_eq!(agent.total_socket_count(), 1);
    assert!(agent.sockets().is_empty());

    let mut second = get(opts(format!("http://127.0.0.1:{port}/2"), &agent)).unwrap();
    let mut res = second.response().await.unwrap();
    assert_eq!(res.read_body().await.unwrap(), "hello");
    assert!(second.reused_socket(), "CLI-24");
    assert_eq!(
        Agent::get_name(&ClientOptions::from(RequestOptions {
            hostname: Some("127.0.0.1".into()),
            port: Some(port),
            ..RequestOptions::default()
        })),
        name
    );
}

/// AGT-5: `maxSockets: 1` queues the other requests; they are served in order on
/// the one socket, handed over from the queue (`reusedSocket` false).
#[tokio::test]
async fn max_sockets_queues_requests() {
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut paths = Vec::new();
        for _ in 0..3 {
            let req = read_request(&mut s, &mut buf).await;
            paths.push(req.split(' ').nth(1).unwrap().to_owned());
            s.write_all(OK_HELLO).await.unwrap();
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
    assert_eq!(agent.sockets(), vec![(name, 1)]);
    for r in &mut reqs {
        let mut res = r.response().await.unwrap();
        assert_eq!(res.read_body().await.unwrap(), "hello");
    }
    assert_eq!(server.await.unwrap(), ["/0", "/1", "/2"]);
    assert!(reqs.iter().all(|r| !r.reused_socket()), "AGT-7 step 2");
}

/// AGT-9: a free socket the server closes leaves the pool; the next request gets a
/// new connection.
#[tokio::test]
async fn pooled_socket_closed_by_server_is_not_reused() {
    let (l, port) = listener().await;
    let accepted = Arc::new(AtomicUsize::new(0));
    let a = Arc::clone(&accepted);
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            a.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                read_request(&mut s, &mut buf).await;
                s.write_all(OK_HELLO).await.unwrap();
                // keep-alive said, then the connection is closed while idle
                tokio::time::sleep(Duration::from_millis(20)).await;
                drop(s);
            });
        }
    });
    let agent = keep_alive_agent();
    let name = format!("127.0.0.1:{port}:");
    let mut first = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    first.response().await.unwrap().read_body().await.unwrap();
    until("the free socket", || {
        agent.free_sockets() == vec![(name.clone(), 1)]
    })
    .await;
    until("the closed socket to leave the pool", || {
        agent.free_sockets().is_empty() && agent.total_socket_count() == 0
    })
    .await;
    let mut second = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    let mut res = second.response().await.unwrap();
    assert_eq!(res.read_body().await.unwrap(), "hello");
    assert!(!second.reused_socket());
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

/// Bytes on an idle pooled socket (an unsolicited response) take it out of the
/// pool (our addition, see proto's `Pool::poisoned`).
#[tokio::test]
async fn poisoned_idle_socket_leaves_the_pool() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        read_request(&mut s, &mut buf).await;
        s.write_all(OK_HELLO).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let agent = keep_alive_agent();
    let mut first = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    first.response().await.unwrap().read_body().await.unwrap();
    until("the poisoned socket to go", || {
        agent.total_socket_count() == 0
    })
    .await;
}

/// CLI-13, CLI-15, CLI-19: `Expect: 100-continue` sends the head alone; the
/// application writes the body on `'continue'`.
#[tokio::test]
async fn expect_100_continue() {
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let head = read_head(&mut s, &mut buf).await;
        assert!(buf.is_empty(), "no body before 100");
        s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.unwrap();
        while buf.len() < 4 {
            let mut c = [0u8; 64];
            let n = s.read(&mut c).await.unwrap();
            buf.extend_from_slice(&c[..n]);
        }
        s.write_all(OK_HELLO).await.unwrap();
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
    assert_eq!(req.next_event().await, Some(RequestEvent::Socket));
    assert_eq!(req.next_event().await, Some(RequestEvent::Continue));
    let Some(RequestEvent::Information { status, .. }) = req.next_event().await else {
        panic!("information");
    };
    assert_eq!(status, 100);
    req.end(Some(Bytes::from_static(b"body"))).unwrap();
    assert_eq!(req.next_event().await, Some(RequestEvent::Finish));
    let res = req.response().await.unwrap();
    assert_eq!(res.status_code(), 200);
    let (head, body) = server.await.unwrap();
    assert_eq!(
        head,
        format!(
            "PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\
             Host: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\r\n"
        )
    );
    assert_eq!(body, b"body");
}

/// CLI-15: every interim response is an `'information'` event, in order.
#[tokio::test]
async fn information_responses() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        read_request(&mut s, &mut buf).await;
        s.write_all(
            b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n",
        )
        .await
        .unwrap();
        s.write_all(OK_HELLO).await.unwrap();
    });
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    let res = req.response().await.unwrap();
    assert_eq!(res.status_code(), 200);
    drop(res);
    let evs = events(&mut req).await;
    let info: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            RequestEvent::Information { status, headers } => {
                Some((*status, headers.get_str("link")))
            }
            _ => None,
        })
        .collect();
    assert_eq!(info, [(102, None), (103, Some("</a.css>".to_owned()))]);
    assert_eq!(evs.last(), Some(&RequestEvent::Close));
}

/// CLI-16: a 101 hands the socket and the bytes after the head to the application;
/// the agent forgets the socket.
#[tokio::test]
async fn upgrade_gives_the_stream_and_head() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let head = read_head(&mut s, &mut buf).await;
        assert!(head.contains("Upgrade: echo\r\n"));
        s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nfirst")
            .await
            .unwrap();
        let mut c = [0u8; 64];
        let n = s.read(&mut c).await.unwrap();
        s.write_all(&c[..n]).await.unwrap();
    });
    let agent = keep_alive_agent();
    let mut req = request(
        opts(format!("http://127.0.0.1:{port}/ws"), &agent)
            .header("Connection", "Upgrade")
            .header("Upgrade", "echo"),
    )
    .unwrap();
    req.end(None).unwrap();
    let mut up = req.upgrade().await.unwrap();
    assert_eq!(up.status_code(), 101);
    assert_eq!(up.head(), "first");
    let mut first = [0u8; 5];
    up.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"first");
    up.write_all(b"ping").await.unwrap();
    let mut back = [0u8; 4];
    up.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"ping");
    until("the agent to forget the socket", || {
        agent.total_socket_count() == 0
    })
    .await;
}

/// CLI-16: any response to CONNECT hands the socket over.
#[tokio::test]
async fn connect_tunnel() {
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let head = read_head(&mut s, &mut buf).await;
        s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\ntunnel")
            .await
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
    let up = req.upgrade().await.unwrap();
    assert_eq!(up.status_code(), 200);
    assert_eq!(up.head(), "tunnel");
    assert_eq!(
        server.await.unwrap(),
        format!(
            "CONNECT example.com:443 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\r\n"
        )
    );
}

/// MSG-8: trailers are there once the body is complete.
#[tokio::test]
async fn response_trailers() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        read_request(&mut s, &mut buf).await;
        s.write_all(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n\
              3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n",
        )
        .await
        .unwrap();
    });
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    let mut res = req.response().await.unwrap();
    assert_eq!(res.read_body().await.unwrap(), "abc");
    assert_eq!(
        res.trailers().unwrap().get_str("x-sum").as_deref(),
        Some("42")
    );
    assert_eq!(res.raw_trailers().unwrap().len(), 2);
}

/// CLI-23: an idle socket gives `'timeout'` only; the application destroys, and the
/// request fails with `socket hang up` (CLI-21). Virtual time.
#[tokio::test(start_paused = true)]
async fn timeout_then_destroy() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        read_request(&mut s, &mut buf).await;
        tokio::time::sleep(Duration::from_secs(3600)).await;
    });
    let agent = keep_alive_agent();
    let mut req =
        get(opts(format!("http://127.0.0.1:{port}/"), &agent).timeout(Duration::from_millis(1500)))
            .unwrap();
    let start = tokio::time::Instant::now();
    assert_eq!(req.next_event().await, Some(RequestEvent::Socket));
    assert_eq!(req.next_event().await, Some(RequestEvent::Finish));
    assert_eq!(req.next_event().await, Some(RequestEvent::Timeout));
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_millis(1600),
        "{waited:?}"
    );
    req.destroy();
    let err = req.response().await.unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        ("ECONNRESET", "socket hang up")
    );
    assert_eq!(events(&mut req).await, [RequestEvent::Close]);
}

/// CLI-21: `abort()` during the body: `'abort'`, the body ends with `aborted`, no
/// error on the request.
#[tokio::test]
async fn abort_during_body() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        read_request(&mut s, &mut buf).await;
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    let mut res = req.response().await.unwrap();
    assert_eq!(res.chunk().await.unwrap().unwrap(), "hal");
    req.abort();
    let err = res.chunk().await.unwrap().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
    assert_eq!(err.to_string(), "aborted");
    assert!(res.aborted() && !res.complete());
    let evs = events(&mut req).await;
    assert_eq!(
        evs,
        [
            RequestEvent::Socket,
            RequestEvent::Finish,
            RequestEvent::Abort,
            RequestEvent::Close
        ]
    );
    assert_eq!(req.error(), None, "no error after abort");
    until("the socket to be closed", || {
        agent.total_socket_count() == 0
    })
    .await;
}

/// CLI-20: a truncated body (EOF before Content-Length) is aborted.
#[tokio::test]
async fn truncated_body_is_aborted() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        read_request(&mut s, &mut buf).await;
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal")
            .await
            .unwrap();
    });
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    let mut res = req.response().await.unwrap();
    let err = res.read_body().await.unwrap_err();
    assert_eq!(err.to_string(), "aborted");
    assert!(res.aborted());
}

/// CLI-20: the server closes before any response: `ECONNRESET` `socket hang up`.
#[tokio::test]
async fn server_closes_before_response() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        read_request(&mut s, &mut buf).await;
    });
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    let err = req.response().await.unwrap_err();
    assert_eq!(err, ClientError::HangUp);
    assert_eq!(err.code(), "ECONNRESET");
}

/// CLI-20: a refused connection: `'socket'`, the error with Node's message,
/// `'close'`.
#[tokio::test]
async fn connection_refused() {
    let (l, port) = listener().await;
    drop(l);
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    let err = req.response().await.unwrap_err();
    assert_eq!(err.code(), "ECONNREFUSED");
    assert_eq!(
        err.to_string(),
        format!("connect ECONNREFUSED 127.0.0.1:{port}")
    );
    assert_eq!(
        events(&mut req).await,
        [RequestEvent::Socket, RequestEvent::Close]
    );
    assert_eq!(agent.total_socket_count(), 0);
}

/// CLI-21: `destroy()` before the response: `socket hang up`; the request's
/// socket is closed.
#[tokio::test]
async fn destroy_before_response() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        read_request(&mut s, &mut buf).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let agent = keep_alive_agent();
    let mut req = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    assert_eq!(req.next_event().await, Some(RequestEvent::Socket));
    req.destroy_with(ClientError::io("EMINE", "mine"));
    let err = req.response().await.unwrap_err();
    assert_eq!((err.code(), err.to_string().as_str()), ("EMINE", "mine"));
    until("the socket to be closed", || {
        agent.total_socket_count() == 0
    })
    .await;
}

/// CLI-5, AGT-3: `socketPath` connects to a Unix socket; `Host` still names host
/// and port.
#[cfg(unix)]
#[tokio::test]
async fn unix_socket_path() {
    let dir = std::env::temp_dir().join(format!("courier-client-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("s.sock");
    let _ = std::fs::remove_file(&path);
    let l = tokio::net::UnixListener::bind(&path).unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let req = read_request(&mut s, &mut buf).await;
        s.write_all(OK_HELLO).await.unwrap();
        req
    });
    let agent = keep_alive_agent();
    let o = ClientOptions::from(RequestOptions {
        path: Some("/unix".into()),
        ..RequestOptions::default()
    })
    .socket_path(path.to_str().unwrap())
    .agent(AgentChoice::Agent(agent.clone()));
    assert_eq!(
        Agent::get_name(&o),
        format!("localhost:80::{}", path.to_str().unwrap())
    );
    let mut req = get(o).unwrap();
    let mut res = req.response().await.unwrap();
    assert_eq!(res.read_body().await.unwrap(), "hello");
    assert_eq!(
        server.await.unwrap(),
        "GET /unix HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n"
    );
    let _ = std::fs::remove_file(&path);
}

/// CLI-1, CLI-3, CLI-4, CLI-6, and the connection options: Node's synchronous
/// throws, with Node's codes and messages.
#[tokio::test]
async fn invalid_urls_and_options() {
    let e = request("nope").unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        ("ERR_INVALID_URL", "Invalid URL")
    );
    let e = request("http://exa mple.com/").unwrap_err();
    assert_eq!(e.code(), "ERR_INVALID_URL");
    let e = request("ftp://x/").unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        (
            "ERR_INVALID_PROTOCOL",
            "Protocol \"ftp:\" not supported. Expected \"http:\""
        )
    );
    let e = request(ClientOptions::url("http://127.0.0.1:1/").family(5)).unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        (
            "ERR_INVALID_ARG_VALUE",
            "The property 'options.family' must be one of: 0, 4, 6. Received 5"
        )
    );
    let e = request(ClientOptions::url("http://127.0.0.1:1/").local_address("nope")).unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        ("ERR_INVALID_IP_ADDRESS", "Invalid IP address: nope")
    );
    let e = request(ClientOptions::from(RequestOptions {
        path: Some("/a b".into()),
        ..RequestOptions::default()
    }))
    .unwrap_err();
    assert_eq!(e.code(), "ERR_UNESCAPED_CHARACTERS");
    let e = request(ClientOptions::url("http://127.0.0.1:1/").method("GE T")).unwrap_err();
    assert_eq!(e.code(), "ERR_INVALID_HTTP_TOKEN");
    let e = Agent::new(AgentOptions {
        max_total_sockets: Some(0),
        ..AgentOptions::default()
    })
    .unwrap_err();
    assert_eq!(e.code(), "ERR_OUT_OF_RANGE");
}

/// AGT-10: a connector replaces `createConnection`.
#[tokio::test]
async fn connector_hook() {
    struct Redirect {
        port: u16,
        calls: AtomicUsize,
    }
    impl Connector for Redirect {
        fn connect(&self, target: &ConnectTarget) -> courier_rt::client::ConnectFuture {
            self.calls.fetch_add(1, Ordering::SeqCst);
            assert_eq!(target.host, "example.invalid");
            let mut t = target.clone();
            t.host = "127.0.0.1".into();
            t.port = self.port;
            Box::pin(async move {
                let s = TokioConnector::connect_socket(&t).await?;
                Ok(Box::new(s) as Box<dyn Transport>)
            })
        }
    }
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let req = read_request(&mut s, &mut buf).await;
        s.write_all(OK_HELLO).await.unwrap();
        req
    });
    let agent = keep_alive_agent();
    let hook = Arc::new(Redirect {
        port,
        calls: AtomicUsize::new(0),
    });
    agent.set_connector(hook.clone());
    let mut req = get(opts("http://example.invalid/".into(), &agent)).unwrap();
    let mut res = req.response().await.unwrap();
    assert_eq!(res.read_body().await.unwrap(), "hello");
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1);
    assert!(server.await.unwrap().contains("Host: example.invalid\r\n"));
}

/// `localAddress`: the socket is bound to it before connecting (AGT-3 names it).
#[tokio::test]
async fn local_address_binds() {
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, peer) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        read_request(&mut s, &mut buf).await;
        s.write_all(OK_HELLO).await.unwrap();
        (peer, s)
    });
    let agent = keep_alive_agent();
    let o = opts(format!("http://127.0.0.1:{port}/"), &agent).local_address("127.0.0.2");
    let name = Agent::get_name(&o);
    let mut req = get(o).unwrap();
    req.response().await.unwrap().read_body().await.unwrap();
    let (peer, _kept) = server.await.unwrap();
    assert_eq!(peer.ip().to_string(), "127.0.0.2");
    assert_eq!(name, format!("127.0.0.1:{port}:127.0.0.2"));
    until("the free socket", || {
        agent.free_sockets() == vec![(format!("127.0.0.1:{port}:127.0.0.2"), 1)]
    })
    .await;
}

/// CLI-2, CLI-11: `agent: false` sends `Connection: close` and keeps nothing.
#[tokio::test]
async fn one_off_agent_closes() {
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let req = read_request(&mut s, &mut buf).await;
        s.write_all(OK_HELLO).await.unwrap();
        // The client closes its end.
        let mut c = [0u8; 16];
        let n = s.read(&mut c).await.unwrap();
        (req, n)
    });
    let mut req =
        get(ClientOptions::url(format!("http://127.0.0.1:{port}/")).agent(AgentChoice::OneOff))
            .unwrap();
    let mut res = req.response().await.unwrap();
    assert_eq!(res.read_body().await.unwrap(), "hello");
    let (head, n) = server.await.unwrap();
    assert!(head.contains("Connection: close\r\n"), "{head}");
    assert_eq!(n, 0, "the client closed the connection");
}

/// AGT-8: `keepSocketAlive` returning false destroys the socket; AGT-10:
/// `reuseSocket` is called on reuse; AGT-12: `destroy()` closes free sockets.
#[tokio::test]
async fn agent_hooks_and_destroy() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    read_request(&mut s, &mut buf).await;
                    s.write_all(OK_HELLO).await.unwrap();
                }
            });
        }
    });
    let agent = keep_alive_agent();
    let keep = Arc::new(AtomicUsize::new(0));
    let k = Arc::clone(&keep);
    agent.set_keep_socket_alive(move |_| k.fetch_add(1, Ordering::SeqCst) > 0);
    let reused = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&reused);
    agent.set_reuse_socket(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let url = format!("http://127.0.0.1:{port}/");
    // First: not kept (the hook says no).
    let mut a = get(opts(url.clone(), &agent)).unwrap();
    a.response().await.unwrap().read_body().await.unwrap();
    until("the refused socket to go", || {
        agent.total_socket_count() == 0
    })
    .await;
    // Second: kept; third: reused.
    let mut b = get(opts(url.clone(), &agent)).unwrap();
    b.response().await.unwrap().read_body().await.unwrap();
    until("a free socket", || agent.free_sockets().len() == 1).await;
    let mut c = get(opts(url.clone(), &agent)).unwrap();
    c.response().await.unwrap().read_body().await.unwrap();
    assert!(c.reused_socket());
    assert_eq!(reused.load(Ordering::SeqCst), 1);
    until("a free socket", || agent.free_sockets().len() == 1).await;
    agent.destroy();
    assert_eq!(agent.total_socket_count(), 0);
    assert!(agent.free_sockets().is_empty());
}

/// Against our own server: a chunked upload echoed back, two requests on one
/// kept connection.
#[tokio::test]
async fn against_our_server() {
    let server = create_server(ServerOptions::default(), |mut req, mut res| async move {
        let body = req.read_body().await.unwrap_or_default();
        res.set_header("X-Method", req.method()).unwrap();
        res.end(Some(body)).await.unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").await.unwrap();
    let agent = keep_alive_agent();
    for i in 0..2 {
        let mut req = request(opts(format!("http://{addr}/echo"), &agent).method("POST")).unwrap();
        req.write("hello ").await.unwrap();
        req.end(Some(Bytes::from(format!("world {i}")))).unwrap();
        let mut res = req.response().await.unwrap();
        assert_eq!(res.status_code(), 200);
        assert_eq!(res.headers().get_str("x-method").as_deref(), Some("POST"));
        assert!(res.headers().contains("date"));
        assert_eq!(res.read_body().await.unwrap(), format!("hello world {i}"));
        assert_eq!(req.reused_socket(), i == 1);
        until("the free socket", || agent.free_sockets().len() == 1).await;
    }
}

/// AGT-2: the global agent (keep-alive) is the default.
#[tokio::test]
async fn global_agent_by_default() {
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let req = read_request(&mut s, &mut buf).await;
        s.write_all(OK_HELLO).await.unwrap();
        req
    });
    let mut req = get(format!("http://127.0.0.1:{port}/g")).unwrap();
    req.response().await.unwrap().read_body().await.unwrap();
    assert!(server.await.unwrap().contains("Connection: keep-alive\r\n"));
    assert_eq!(
        courier_rt_tokio::global_agent().options(),
        AgentOptions::global()
    );
}

/// CLI-21, AGT-5: `abort()` on a request waiting in the agent's queue: it leaves
/// the queue; Node's order before a socket is `'close'`, then `'abort'`.
#[tokio::test]
async fn abort_while_queued() {
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut paths = Vec::new();
        for _ in 0..2 {
            let req = read_request(&mut s, &mut buf).await;
            paths.push(req.split(' ').nth(1).unwrap().to_owned());
            s.write_all(OK_HELLO).await.unwrap();
        }
        paths
    });
    let agent = Agent::new(AgentOptions {
        keep_alive: true,
        max_sockets: Some(1),
        ..AgentOptions::default()
    })
    .unwrap();
    let url = |p: &str| opts(format!("http://127.0.0.1:{port}/{p}"), &agent);
    let mut a = get(url("a")).unwrap();
    let mut b = get(url("b")).unwrap();
    let mut c = get(url("c")).unwrap();
    assert_eq!(agent.requests(), vec![(format!("127.0.0.1:{port}:"), 2)]);
    b.abort();
    assert_eq!(agent.requests(), vec![(format!("127.0.0.1:{port}:"), 1)]);
    assert_eq!(
        events(&mut b).await,
        [RequestEvent::Close, RequestEvent::Abort]
    );
    assert!(b.response().await.is_err());
    a.response().await.unwrap().read_body().await.unwrap();
    c.response().await.unwrap().read_body().await.unwrap();
    assert_eq!(server.await.unwrap(), ["/a", "/c"]);
}

/// Request back-pressure: `write` waits while the socket does not take the bytes,
/// and nothing written is lost.
#[tokio::test]
async fn request_write_back_pressure() {
    const PIECE: usize = 64 * 1024;
    let (l, port) = listener().await;
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        go_rx.await.unwrap();
        // Read to the chunked body's end, looking only at the tail.
        let mut total = 0usize;
        let mut tail = Vec::new();
        let mut chunk = vec![0u8; 256 * 1024];
        while !tail.ends_with(b"\r\n0\r\n\r\n") {
            let n = s.read(&mut chunk).await.unwrap();
            assert!(n > 0);
            total += n;
            tail.extend_from_slice(&chunk[..n]);
            let keep = tail.len().saturating_sub(16);
            tail.drain(..keep);
        }
        s.write_all(OK_HELLO).await.unwrap();
        total
    });
    let agent = keep_alive_agent();
    let mut req =
        request(opts(format!("http://127.0.0.1:{port}/"), &agent).method("POST")).unwrap();
    let piece = Bytes::from(vec![b'x'; PIECE]);
    let mut sent = 0usize;
    loop {
        match tokio::time::timeout(Duration::from_millis(200), req.write(piece.clone())).await {
            Ok(r) => {
                r.unwrap();
                sent += PIECE;
                assert!(sent < 256 * 1024 * 1024, "write never waited");
            }
            Err(_) => {
                // The piece was queued before the wait began.
                sent += PIECE;
                break;
            }
        }
    }
    go_tx.send(()).unwrap();
    req.drained().await;
    req.end(None).unwrap();
    let res = req.response().await.unwrap();
    assert_eq!(res.status_code(), 200);
    let total = server.await.unwrap();
    assert!(total > sent, "every body byte arrived ({total} > {sent})");
}

/// AGT-8, AGT-9: a free socket expires after the agent's timeout, shortened by the
/// server's `Keep-Alive: timeout=N` hint (N s − 1 s). Virtual time.
#[tokio::test(start_paused = true)]
async fn free_socket_expiry_and_hint() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        loop {
            let (mut s, _) = l.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                read_request(&mut s, &mut buf).await;
                s.write_all(
                    b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=3\r\nContent-Length: 0\r\n\r\n",
                )
                .await
                .unwrap();
                tokio::time::sleep(Duration::from_secs(3600)).await;
            });
        }
    });
    let agent = Agent::new(AgentOptions {
        keep_alive: true,
        timeout: Some(Duration::from_secs(5)),
        ..AgentOptions::default()
    })
    .unwrap();
    let mut req = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    req.response().await.unwrap().read_body().await.unwrap();
    let freed = loop {
        if agent.free_sockets().len() == 1 {
            break tokio::time::Instant::now();
        }
        tokio::task::yield_now().await;
    };
    tokio::time::sleep_until(freed + Duration::from_millis(1990)).await;
    assert_eq!(agent.total_socket_count(), 1, "still kept before 2 s");
    tokio::time::sleep_until(freed + Duration::from_millis(2010)).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(agent.total_socket_count(), 0, "expired after 3 s - 1 s");
}

/// CLI-13: `flushHeaders()` sends the head at once (chunked for a POST whose length
/// is unknown); the body follows later.
#[tokio::test]
async fn flush_headers_sends_the_head() {
    let (l, port) = listener().await;
    let (head_tx, head_rx) = tokio::sync::oneshot::channel::<String>();
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let head = read_head(&mut s, &mut buf).await;
        head_tx.send(head).unwrap();
        while find(&buf, b"0\r\n\r\n").is_none() {
            let mut c = [0u8; 256];
            let n = s.read(&mut c).await.unwrap();
            assert!(n > 0);
            buf.extend_from_slice(&c[..n]);
        }
        s.write_all(OK_HELLO).await.unwrap();
        String::from_utf8(buf).unwrap()
    });
    let agent = keep_alive_agent();
    let mut req =
        request(opts(format!("http://127.0.0.1:{port}/f"), &agent).method("POST")).unwrap();
    req.set_no_delay(true);
    req.set_socket_keep_alive(true, Duration::from_secs(1));
    req.flush_headers().unwrap();
    assert!(req.headers_sent());
    let head = head_rx.await.unwrap();
    assert_eq!(
        head,
        format!(
            "POST /f HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\n\
             Transfer-Encoding: chunked\r\n\r\n"
        )
    );
    req.end(Some(Bytes::from_static(b"late"))).unwrap();
    assert_eq!(req.response().await.unwrap().status_code(), 200);
    assert_eq!(server.await.unwrap(), "4\r\nlate\r\n0\r\n\r\n");
}

/// CLI-27, MSG-4: the request's `joinDuplicateHeaders` and `maxHeaderSize` apply to
/// its response; CLI-20: a response that does not parse fails the request with the
/// parser's code.
#[tokio::test]
async fn response_parsing_options_and_errors() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let replies: [&[u8]; 3] = [
            b"HTTP/1.1 200 OK\r\nLocation: /a\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX-Big: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        ];
        for reply in replies {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = Vec::new();
            read_request(&mut s, &mut buf).await;
            s.write_all(reply).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let url = format!("http://127.0.0.1:{port}/");
    let with = |r: RequestOptions| {
        ClientOptions::url(url.as_str())
            .with(r)
            .agent(AgentChoice::OneOff)
    };

    let mut req = get(with(RequestOptions {
        join_duplicate_headers: Some(true),
        ..RequestOptions::default()
    }))
    .unwrap();
    let res = req.response().await.unwrap();
    assert_eq!(res.headers().get_str("location").as_deref(), Some("/a, /b"));
    drop(res);

    let mut req = get(with(RequestOptions {
        max_header_size: Some(40),
        ..RequestOptions::default()
    }))
    .unwrap();
    assert_eq!(
        req.response().await.unwrap_err().code(),
        "HPE_HEADER_OVERFLOW"
    );

    let mut req = get(with(RequestOptions::default())).unwrap();
    let err = req.response().await.unwrap_err();
    assert_eq!(err.code(), "HPE_UNEXPECTED_CONTENT_LENGTH");
    assert!(err.to_string().starts_with("Parse Error: "), "{err}");
}

/// CLI-24: the server drops a request sent on a reused socket: `ECONNRESET`
/// `socket hang up` with `reusedSocket` true, the condition for a safe retry.
#[tokio::test]
async fn hang_up_on_a_reused_socket() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        read_request(&mut s, &mut buf).await;
        s.write_all(OK_HELLO).await.unwrap();
        read_request(&mut s, &mut buf).await;
        // dropped without an answer
    });
    let agent = keep_alive_agent();
    let url = format!("http://127.0.0.1:{port}/");
    let mut first = get(opts(url.clone(), &agent)).unwrap();
    first.response().await.unwrap().read_body().await.unwrap();
    until("the free socket", || agent.free_sockets().len() == 1).await;
    let mut second = get(opts(url, &agent)).unwrap();
    let err = second.response().await.unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        ("ECONNRESET", "socket hang up")
    );
    assert!(second.reused_socket());
}

/// MSG-9, CLI-17: a response to HEAD and a 304 have no body and are complete at
/// once; the connection is kept for the next request.
#[tokio::test]
async fn head_and_304_have_no_body() {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        read_request(&mut s, &mut buf).await;
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")
            .await
            .unwrap();
        read_request(&mut s, &mut buf).await;
        s.write_all(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n")
            .await
            .unwrap();
        read_request(&mut s, &mut buf).await;
        s.write_all(OK_HELLO).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    });
    let agent = keep_alive_agent();
    let url = format!("http://127.0.0.1:{port}/");
    let mut head = get(opts(url.clone(), &agent).method("HEAD")).unwrap();
    let mut res = head.response().await.unwrap();
    assert_eq!(
        res.headers().get_str("content-length").as_deref(),
        Some("99")
    );
    assert_eq!(res.read_body().await.unwrap(), "");
    assert!(res.complete());
    let mut cached = get(opts(url.clone(), &agent)).unwrap();
    let mut res = cached.response().await.unwrap();
    assert_eq!(res.status_code(), 304);
    assert_eq!(res.status_message(), "Not Modified");
    assert_eq!(res.read_body().await.unwrap(), "");
    let mut last = get(opts(url, &agent)).unwrap();
    assert_eq!(
        last.response().await.unwrap().read_body().await.unwrap(),
        "hello"
    );
    assert!(cached.reused_socket() && last.reused_socket());
}

/// CLI-14 (our hold, see docs/deviations.md): body bytes held for a `100 Continue`
/// count for `write`'s back-pressure; when no `100` comes, the hold ends after the
/// continue timeout (1 s) and the body goes out. Virtual time.
#[tokio::test(start_paused = true)]
async fn held_body_counts_for_back_pressure() {
    const PIECE: usize = 48 * 1024;
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        read_head(&mut s, &mut buf).await;
        let mut total = buf.len();
        let mut tail = buf.clone();
        let mut chunk = vec![0u8; 64 * 1024];
        while !tail.ends_with(b"\r\n0\r\n\r\n") {
            let n = s.read(&mut chunk).await.unwrap();
            assert!(n > 0);
            total += n;
            tail.extend_from_slice(&chunk[..n]);
            let keep = tail.len().saturating_sub(16);
            tail.drain(..keep);
        }
        s.write_all(OK_HELLO).await.unwrap();
        total
    });
    let agent = keep_alive_agent();
    let mut req = request(
        opts(format!("http://127.0.0.1:{port}/"), &agent)
            .method("POST")
            .header("Expect", "100-continue"),
    )
    .unwrap();
    let start = tokio::time::Instant::now();
    req.write(Bytes::from(vec![b'a'; PIECE])).await.unwrap();
    assert!(
        start.elapsed() < Duration::from_millis(10),
        "below the mark: no wait"
    );
    req.write(Bytes::from(vec![b'b'; PIECE])).await.unwrap();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(1),
        "the held body made write wait until the hold ended ({waited:?})"
    );
    req.end(None).unwrap();
    assert_eq!(req.response().await.unwrap().status_code(), 200);
    assert!(server.await.unwrap() > 2 * PIECE);
}

/// RES-20, CLI-12: request trailers after a chunked upload; RES-5 `appendHeader`;
/// CLI-27: `maxHeadersCount` reaches the response parser (more lines than it fail
/// the response: docs/deviations.md, "Too many response header lines").
#[tokio::test]
async fn request_trailers_and_header_count() {
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let head = read_head(&mut s, &mut buf).await;
        while find(&buf, b"\r\n\r\n").is_none() {
            let mut c = [0u8; 256];
            let n = s.read(&mut c).await.unwrap();
            assert!(n > 0);
            buf.extend_from_slice(&c[..n]);
        }
        s.write_all(b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        (head, String::from_utf8(buf).unwrap())
    });
    let agent = keep_alive_agent();
    let mut o = opts(format!("http://127.0.0.1:{port}/"), &agent).method("POST");
    o.max_headers_count = Some(2);
    let mut req = request(o).unwrap();
    req.set_header("Trailer", "X-Sum").unwrap();
    req.append_header("X-List", "a").unwrap();
    req.append_header("X-List", "b").unwrap();
    assert!(req.has_header("x-list"));
    assert_eq!(
        req.get_header_names(),
        ["host", "trailer", "x-list"],
        "CLI-9: Host is set by the constructor"
    );
    assert_eq!(req.get_raw_header_names(), ["Host", "Trailer", "X-List"]);
    let all = req.get_headers();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].0, "x-list");
    req.write("abc").await.unwrap();
    req.add_trailers(&[("X-Sum", "42")]).unwrap();
    req.end(None).unwrap();
    let err = req.response().await.unwrap_err();
    assert_eq!(err.code(), "HPE_HEADER_OVERFLOW");
    let (head, body) = server.await.unwrap();
    assert!(head.contains("X-List: a\r\nX-List: b\r\n"), "{head}");
    assert_eq!(body, "3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n");
}

/// A server whose n-th connection answers every request with body `n`, the first
/// answer delayed by (`n` + 1) × 40 ms (so sockets are freed in accept order).
async fn tagging_server() -> u16 {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        for n in 0.. {
            let (mut s, _) = l.accept().await.unwrap();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut first = true;
                loop {
                    read_request(&mut s, &mut buf).await;
                    if first {
                        tokio::time::sleep(Duration::from_millis(40 * (n + 1))).await;
                        first = false;
                    }
                    let body = n.to_string();
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if s.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

async fn body_of(mut req: courier_rt_tokio::ClientRequest) -> String {
    let mut res = req.response().await.unwrap();
    String::from_utf8(res.read_body().await.unwrap().to_vec()).unwrap()
}

/// AGT-5: three sockets freed in order A, B, C: `lifo` reuses C, `fifo` A; AGT-7:
/// `maxFreeSockets` caps the free list.
#[tokio::test]
async fn scheduling_and_max_free_sockets() {
    for (scheduling, max_free, expect_reused, expect_free) in [
        (courier_rt_tokio::Scheduling::Lifo, 256, "2", 3),
        (courier_rt_tokio::Scheduling::Fifo, 256, "0", 3),
        (courier_rt_tokio::Scheduling::Lifo, 1, "0", 1),
    ] {
        let port = tagging_server().await;
        let agent = Agent::new(AgentOptions {
            keep_alive: true,
            scheduling,
            max_free_sockets: max_free,
            ..AgentOptions::default()
        })
        .unwrap();
        let url = format!("http://127.0.0.1:{port}/");
        let mut first = Vec::new();
        for _ in 0..3 {
            first.push(get(opts(url.clone(), &agent)).unwrap());
            // one connection at a time, so that accept order is request order
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut bodies = Vec::new();
        for r in first {
            bodies.push(body_of(r).await);
        }
        assert_eq!(bodies, ["0", "1", "2"]);
        until("the free sockets", || {
            agent.free_sockets().first().map(|f| f.1) == Some(expect_free)
        })
        .await;
        let next = get(opts(url, &agent)).unwrap();
        assert_eq!(
            body_of(next).await,
            expect_reused,
            "{scheduling:?} max_free {max_free}"
        );
        agent.destroy();
    }
}

/// Many requests from many tasks on a multi-threaded runtime, through one agent
/// with a socket cap, against our own server: every response arrives whole, the
/// agent ends with only free sockets, within its caps (AGT-5, AGT-7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_on_a_multi_threaded_runtime() {
    let server = create_server(ServerOptions::default(), |mut req, mut res| async move {
        let body = req.read_body().await.unwrap_or_default();
        let mut out = req.url().into_owned().into_bytes();
        out.extend_from_slice(&body);
        res.end(Some(Bytes::from(out))).await.unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").await.unwrap();
    let agent = Agent::new(AgentOptions {
        keep_alive: true,
        max_sockets: Some(8),
        ..AgentOptions::default()
    })
    .unwrap();
    let tasks: Vec<_> = (0..32)
        .map(|t| {
            let agent = agent.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    let path = format!("/{t}/{i}");
                    let mut req =
                        request(opts(format!("http://{addr}{path}"), &agent).method("POST"))
                            .unwrap();
                    req.write("x").await.unwrap();
                    req.end(Some(Bytes::from_static(b"y"))).unwrap();
                    let mut res = req.response().await.unwrap();
                    assert_eq!(res.read_body().await.unwrap(), format!("{path}xy"));
                }
            })
        })
        .collect();
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(30), t)
            .await
            .expect("no request hangs")
            .unwrap();
    }
    until("every socket free", || agent.sockets().is_empty()).await;
    let free: usize = agent.free_sockets().iter().map(|f| f.1).sum();
    assert!((1..=8).contains(&free), "{free}");
    assert!(agent.requests().is_empty());
}

/// CLI-9, CLI-10: headers as a raw list (head rendered at once, no `Host`, later
/// `setHeader` refused), `setHost: false`, `defaultPort` leaving the port out of
/// `Host`; CLI-27: `insecureHTTPParser` accepts an obs-fold in the response.
#[tokio::test]
async fn request_option_forms() {
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        let mut heads = Vec::new();
        for reply in [
            OK_HELLO,
            OK_HELLO,
            b"HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length: 0\r\n\r\n".as_slice(),
        ] {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = Vec::new();
            heads.push(read_request(&mut s, &mut buf).await);
            s.write_all(reply).await.unwrap();
        }
        heads
    });
    let base = RequestOptions {
        hostname: Some("127.0.0.1".into()),
        port: Some(port),
        ..RequestOptions::default()
    };
    let one_off = |r: RequestOptions| ClientOptions::from(r).agent(AgentChoice::OneOff);

    let mut req = request(one_off(RequestOptions {
        headers: courier_rt_tokio::RequestHeaders::Array(vec![
            ("X-A".into(), "1".into()),
            ("X-A".into(), "2".into()),
        ]),
        ..base.clone()
    }))
    .unwrap();
    assert_eq!(
        req.set_header("X-B", "3").unwrap_err().code(),
        "ERR_HTTP_HEADERS_SENT"
    );
    req.response().await.unwrap().read_body().await.unwrap();

    let mut req = get(one_off(RequestOptions {
        set_host: false,
        default_port: Some(port),
        ..base.clone()
    }))
    .unwrap();
    req.response().await.unwrap().read_body().await.unwrap();

    let mut req = get(one_off(RequestOptions {
        default_port: Some(port),
        insecure_http_parser: Some(true),
        ..base.clone()
    }))
    .unwrap();
    let res = req.response().await.unwrap();
    assert_eq!(res.headers().get_str("x-fold").as_deref(), Some("a b"));

    let heads = server.await.unwrap();
    assert_eq!(
        heads[0],
        "GET / HTTP/1.1\r\nX-A: 1\r\nX-A: 2\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(heads[1], "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(
        heads[2],
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    );
}

/// CLI-21 while the socket connects (Node v20 observed: `socket`, `abort`,
/// `error` `socket hang up`, `close`): the connection that comes up is closed.
#[tokio::test]
async fn abort_while_connecting() {
    struct Slow;
    impl Connector for Slow {
        fn connect(&self, target: &ConnectTarget) -> courier_rt::client::ConnectFuture {
            let t = target.clone();
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                let s = TokioConnector::connect_socket(&t).await?;
                Ok(Box::new(s) as Box<dyn Transport>)
            })
        }
    }
    let (l, port) = listener().await;
    let accepted = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut c = [0u8; 16];
        s.read(&mut c).await.unwrap()
    });
    let agent = keep_alive_agent();
    agent.set_connector(Arc::new(Slow));
    let mut req = get(opts(format!("http://127.0.0.1:{port}/"), &agent)).unwrap();
    assert_eq!(req.next_event().await, Some(RequestEvent::Socket));
    req.abort();
    assert_eq!(
        events(&mut req).await,
        [RequestEvent::Abort, RequestEvent::Close]
    );
    assert_eq!(req.error(), Some(ClientError::HangUp));
    assert_eq!(accepted.await.unwrap(), 0, "the socket is closed unused");
    until("no socket", || agent.total_socket_count() == 0).await;
}

/// `family` and the error messages of `connect` (Node v20 observed): an IPv6
/// literal is written without brackets; a name resolves to the family asked for;
/// an IP literal ignores `family`.
#[tokio::test]
async fn family_and_ipv6_messages() {
    let v6 = std::net::TcpListener::bind("[::1]:0");
    let agent = keep_alive_agent();
    if let Ok(l) = v6 {
        let port = l.local_addr().unwrap().port();
        drop(l);
        let mut req = get(ClientOptions::from(RequestOptions {
            hostname: Some("::1".into()),
            port: Some(port),
            ..RequestOptions::default()
        })
        .agent(AgentChoice::Agent(agent.clone())))
        .unwrap();
        let err = req.response().await.unwrap_err();
        assert_eq!(err.to_string(), format!("connect ECONNREFUSED ::1:{port}"));
    }
    let (l, port) = listener().await;
    let server = tokio::spawn(async move {
        for _ in 0..2 {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = Vec::new();
            read_request(&mut s, &mut buf).await;
            s.write_all(OK_HELLO).await.unwrap();
        }
    });
    // An IPv4 literal with family 6 still connects.
    let o = ClientOptions::url(format!("http://127.0.0.1:{port}/"))
        .family(6)
        .agent(AgentChoice::OneOff);
    let mut req = get(o).unwrap();
    assert_eq!(
        req.response().await.unwrap().read_body().await.unwrap(),
        "hello"
    );
    // `localhost` with family 4 reaches the IPv4 listener.
    let o = ClientOptions::url(format!("http://localhost:{port}/"))
        .family(4)
        .agent(AgentChoice::OneOff);
    let mut req = get(o).unwrap();
    assert_eq!(
        req.response().await.unwrap().read_body().await.unwrap(),
        "hello"
    );
    server.await.unwrap();
}

/// AGT-7, CLI-24: a socket is back in the agent's free list before the application
/// sees its response end (Node frees it before the next tick), so sequential requests
/// on a multi-threaded runtime always reuse the one socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_requests_always_reuse_the_released_socket() {
    let server = create_server(ServerOptions::default(), |_req, mut res| async move {
        res.end(Some(Bytes::from_static(b"ok"))).await.unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").await.unwrap();
    let agent = keep_alive_agent();
    for i in 0..200 {
        let mut req = get(opts(format!("http://{addr}/"), &agent)).unwrap();
        let mut res = req.response().await.unwrap();
        assert_eq!(&res.read_body().await.unwrap()[..], b"ok");
        assert_eq!(req.reused_socket(), i > 0, "request {i}");
    }
    assert_eq!(agent.total_socket_count(), 1);
    agent.destroy();
}
