//! What only the blocking adapter has, so the shared suite (`courier-suite`,
//! tests/suite.rs) cannot express it: bodies as `std::io::Read` / `std::io::Write`,
//! the bounded connection pool (`max_threads`) and its backlog, and handed-over
//! sockets as the std streams themselves. Every behaviour Node defines is a suite
//! scenario, run on all three adapters.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use courier_rt_blocking::{
    ClientOptions, RequestOptions, ServerOptions, Stream, create_server, get, request,
};
use courier_suite::wire::Client;

/// The handler pulls the request body through `Read::read` into a small buffer: every
/// byte arrives, in order, over many reads.
#[test]
fn a_request_body_is_pulled_through_std_read() {
    let server = create_server(ServerOptions::default(), |mut req, mut res| {
        let mut piece = [0u8; 1000];
        let (mut total, mut reads, mut in_order) = (0usize, 0usize, true);
        loop {
            let n = req.read(&mut piece).unwrap();
            if n == 0 {
                break;
            }
            in_order &= piece[..n]
                .iter()
                .enumerate()
                .all(|(i, b)| *b == ((total + i) % 199) as u8);
            total += n;
            reads += 1;
        }
        let summary = format!("{total} in_order={in_order} many={}", reads >= 300);
        res.end(Some(summary.into())).unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut c = Client::connect(addr);
    let body: Vec<u8> = (0..300_000).map(|i| (i % 199) as u8).collect();
    c.send(b"POST /pull HTTP/1.1\r\nHost: a\r\nContent-Length: 300000\r\n\r\n");
    c.send(&body);
    let r = c.response(false);
    assert!(r.ends_with("\r\n\r\n300000 in_order=true many=true"), "{r}");
    server.close_all_connections();
    server.close();
}

/// The handler writes a body through `Write::write_all` and `flush`; with a
/// `Content-Length` set first it goes out unchunked, byte for byte.
#[test]
fn a_response_body_is_pushed_through_std_write() {
    const PIECES: usize = 16;
    const PIECE: usize = 65_536;
    let server = create_server(ServerOptions::default(), |_req, mut res| {
        res.set_header("Content-Length", (PIECES * PIECE) as u64)
            .unwrap();
        for i in 0..PIECES {
            res.write_all(&[b'a' + i as u8; PIECE]).unwrap();
        }
        res.flush().unwrap();
        res.end(None).unwrap();
    })
    .unwrap();
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut c = Client::connect(addr);
    c.send(b"GET /push HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let r = c.response(false);
    let (head, body) = r.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("\r\nContent-Length: 1048576"), "{head}");
    assert!(!head.contains("Transfer-Encoding"), "{head}");
    assert_eq!(body.len(), PIECES * PIECE);
    for (i, piece) in body.as_bytes().chunks(PIECE).enumerate() {
        assert!(piece.iter().all(|b| *b == b'a' + i as u8), "piece {i}");
    }
    server.close();
}

/// `set_max_threads(1)`: one connection-serving thread; a second connection is
/// accepted by the kernel but waits unserved until the first one goes away.
#[test]
fn past_max_threads_a_connection_waits_in_the_backlog() {
    let server = create_server(ServerOptions::default(), |req, mut res| {
        res.end(Some(format!("served {}", req.url()).into()))
            .unwrap();
    })
    .unwrap();
    server.set_max_threads(1);
    assert_eq!(server.max_threads(), 1);
    let addr = server.listen("127.0.0.1:0").unwrap();
    let mut kept = Client::connect(addr);
    kept.send(b"GET /kept HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(kept.response(false).ends_with("served /kept"));

    let mut waiting = TcpStream::connect(addr).unwrap();
    waiting
        .write_all(b"GET /waiting HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let early = waiting.read(&mut [0u8; 1]);
    assert!(
        early.is_err(),
        "answered while the pool was full: {early:?}"
    );
    assert_eq!(server.connection_count(), 1, "only the kept one is served");

    drop(kept);
    waiting
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut answer = String::new();
    waiting.read_to_string(&mut answer).unwrap();
    assert!(answer.ends_with("served /waiting"), "{answer}");
    server.close();
}

/// SRV-8 on a Unix socket: `'upgrade'` gets `Stream::Unix`, a std `UnixStream` the
/// listener then uses directly.
#[cfg(unix)]
#[test]
fn an_upgrade_on_a_unix_socket_hands_over_a_std_unix_stream() {
    let dir = std::env::temp_dir().join(format!("courier-blocking-std-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("handover.sock");
    let _ = std::fs::remove_file(&path);
    let server = create_server(ServerOptions::default(), |_req, mut res| {
        res.end(None).unwrap();
    })
    .unwrap();
    server.on_upgrade(|req, io, head| {
        let Stream::Unix(mut unix) = io.into_inner() else {
            panic!("a Unix stream for {}", req.url());
        };
        unix.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        unix.write_all(b"HTTP/1.1 101 Switching Protocols\r\n\r\nhead=")
            .unwrap();
        unix.write_all(&head).unwrap();
        let mut word = [0u8; 3];
        unix.read_exact(&mut word).unwrap();
        word.reverse();
        unix.write_all(&word).unwrap();
    });
    server.listen_unix(&path).unwrap();
    let mut c = Client::connect_unix(&path);
    c.send(b"GET /u HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\nearly");
    let switched = "HTTP/1.1 101 Switching Protocols\r\n\r\nhead=early";
    assert_eq!(c.exactly(switched.len()), switched);
    c.send(b"abc");
    assert_eq!(c.until_closed(), "cba");
    server.close();
    server.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The client's response body is a `std::io::Read`, and a CONNECT tunnel's socket
/// comes out as the std `TcpStream` itself.
#[test]
fn the_clients_response_and_tunnel_are_std_io() {
    let server = create_server(ServerOptions::default(), |req, mut res| {
        res.end(Some(format!("body of {}", req.url()).into()))
            .unwrap();
    })
    .unwrap();
    server.on_connect(|_req, mut io, _head| {
        io.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .unwrap();
        let mut two = [0u8; 2];
        io.read_exact(&mut two).unwrap();
        io.write_all(&[two[1], two[0]]).unwrap();
    });
    let addr = server.listen("127.0.0.1:0").unwrap();

    let mut req = get(format!("http://{addr}/std-read")).unwrap();
    let mut res = req.response().unwrap();
    let mut text = String::new();
    res.read_to_string(&mut text).unwrap();
    assert_eq!(text, "body of /std-read");

    let mut tunnel = request(ClientOptions::from(RequestOptions {
        method: Some("CONNECT".into()),
        path: Some("example.com:443".into()),
        hostname: Some("127.0.0.1".into()),
        port: Some(addr.port()),
        ..RequestOptions::default()
    }))
    .unwrap();
    let up = tunnel.upgrade().unwrap();
    assert_eq!(up.status_code(), 200);
    let Ok((Stream::Tcp(mut tcp), head)) = up.into_stream() else {
        panic!("a TCP stream");
    };
    assert!(head.is_empty());
    assert_eq!(tcp.peer_addr().unwrap(), addr);
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    tcp.write_all(b"xy").unwrap();
    let mut back = [0u8; 2];
    tcp.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"yx");
    server.close_all_connections();
    server.close();
}
