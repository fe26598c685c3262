//! Peers nobody here wrote, over loopback: Node v20's own `http` client (and a raw
//! `net` socket) and curl against courier's blocking server.
//!
//! The Node side is rt-tokio's `tests/peers/node-client.js` (shared: the same
//! scenarios run against every adapter); each scenario prints one JSON object of
//! what Node saw, asserted here. `node` and `curl` must be on `PATH`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use courier_rt_blocking::{
    BlockingRequest, BlockingResponse, HeaderValue, Server, ServerOptions, Upgraded, create_server,
};
use serde_json::Value;

/// What the test server saw.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
}

/// Answers `/hello…` (text), `/echo` (the body back with `x-method`, `x-te`,
/// `x-expect`, `x-trailers`) and `/trailers` (a chunked body with a trailer), as the
/// tokio peers' server does.
fn handle(mut req: BlockingRequest, mut res: BlockingResponse, seen: &Seen) {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    let url = req.url().into_owned();
    if url.starts_with("/hello") {
        res.set_header("Content-Type", "text/plain").unwrap();
        res.end(Some(Bytes::from_static(b"Hello, World!"))).unwrap();
    } else if url == "/echo" {
        let mut body = Vec::new();
        req.read_to_end(&mut body).unwrap();
        let te = req
            .headers()
            .get_str("transfer-encoding")
            .unwrap_or_default();
        let expect = req.headers().get_str("expect").unwrap_or_default();
        let trailers = req
            .trailers()
            .map(|t| {
                t.iter()
                    .map(|(k, _)| format!("{k}={}", t.get_str(k).unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .unwrap_or_default();
        res.set_header("x-method", req.method()).unwrap();
        res.set_header("x-te", te.as_str()).unwrap();
        res.set_header("x-expect", expect.as_str()).unwrap();
        res.set_header("x-trailers", trailers.as_str()).unwrap();
        res.end(Some(body.into())).unwrap();
    } else if url == "/trailers" {
        res.set_header("Trailer", "x-checksum").unwrap();
        res.write(Bytes::from_static(b"part1,")).unwrap();
        // `std::io::Write` is `res.write(chunk)` too.
        res.write_all(b"part2").unwrap();
        res.add_trailers([("x-checksum", HeaderValue::from("abc123"))])
            .unwrap();
        res.end(None).unwrap();
    } else {
        res.set_status_code(404).unwrap();
        res.end(None).unwrap();
    }
}

/// Copies everything read back until the peer closes.
fn echo(mut io: Upgraded) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = io.read(&mut buf) {
        if n == 0 || io.write_all(&buf[..n]).is_err() {
            break;
        }
    }
}

fn server() -> (Server, u16, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let s = Arc::clone(&seen);
    let server = create_server(ServerOptions::default(), move |req, res| {
        handle(req, res, &s)
    })
    .unwrap();
    // 'upgrade': 101 to the `echo` protocol, then every byte back (SRV-8).
    server.on_upgrade(|_req, mut io, head| {
        io.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n",
        )
        .unwrap();
        io.write_all(&head).unwrap();
        echo(io);
    });
    // 'connect': a tunnel that answers with the authority, then echoes (SRV-9).
    server.on_connect(|req, mut io, head| {
        let reply = format!("HTTP/1.1 200 Connection Established\r\n\r\n{}|", req.url());
        io.write_all(reply.as_bytes()).unwrap();
        io.write_all(&head).unwrap();
        echo(io);
    });
    let addr = server.listen("127.0.0.1:0").unwrap();
    (server, addr.port(), seen)
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rt-tokio/tests/peers/node-client.js")
}

/// Runs one scenario of the Node client and parses what it printed.
fn node(scenario: &str, port: u16) -> Value {
    let out = Command::new("node")
        .arg(script())
        .arg(scenario)
        .arg(port.to_string())
        .output()
        .expect("node v20 on PATH");
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON from node ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert!(v.get("error").is_none(), "node reported: {v}");
    v
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// SRV-3, SRV-14, RES-14, CLI-24, AGT-5: Node's keep-alive Agent with one socket
/// reuses our connection for every request, queued ones included.
#[test]
fn node_keep_alive_agent_reuses_one_connection() {
    let (server, port, seen) = server();
    let v = node("keepalive", port);
    let seq = v["sequential"].as_array().unwrap();
    assert_eq!(seq.len(), 3);
    for (i, r) in seq.iter().enumerate() {
        assert_eq!(r["status"], 200);
        assert_eq!(s(&r["body"]), "Hello, World!");
        assert_eq!(s(&r["headers"]["content-length"]), "13");
        assert_eq!(s(&r["headers"]["connection"]), "keep-alive");
        assert_eq!(s(&r["headers"]["keep-alive"]), "timeout=5");
        assert!(r["headers"]["date"].is_string());
        assert_eq!(r["reused"], i > 0, "request {i}");
        assert_eq!(r["localPort"], seq[0]["localPort"], "one socket");
    }
    let par = v["parallel"].as_array().unwrap();
    assert_eq!(s(&par[0]["body"]), "Hello, World!");
    assert_eq!(s(&par[1]["body"]), "abc");
    assert_eq!(s(&par[1]["headers"]["x-method"]), "POST");
    assert_eq!(par[0]["reused"], true);
    assert_eq!(par[1]["reused"], false);
    for r in par {
        assert_eq!(r["localPort"], seq[0]["localPort"]);
    }
    assert_eq!(seen.requests.load(Ordering::SeqCst), 5);
    server.close_all_connections();
    server.close();
}

/// SRV-15, RES-30, RES-14: three requests pipelined in one write are answered in
/// order; the last one's `Connection: close` closes the connection after it.
#[test]
fn node_raw_socket_pipelining_answers_in_order() {
    let (server, port, _) = server();
    let v = node("pipeline", port);
    let raw = s(&v["raw"]);
    let starts: Vec<usize> = raw
        .match_indices("HTTP/1.1 200 OK\r\n")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(starts.len(), 3, "{raw}");
    let (first, second, third) = (
        &raw[starts[0]..starts[1]],
        &raw[starts[1]..starts[2]],
        &raw[starts[2]..],
    );
    assert!(first.ends_with("\r\n\r\nHello, World!"), "{first}");
    assert!(first.contains("Connection: keep-alive\r\n"), "{first}");
    assert!(second.contains("x-method: POST\r\n"), "{second}");
    assert!(second.ends_with("\r\n\r\nhello"), "{second}");
    assert!(third.contains("Connection: close\r\n"), "{third}");
    assert!(third.ends_with("\r\n\r\nHello, World!"), "{third}");
    server.close();
}

/// MSG-11, RES-23: a chunked upload written in pieces arrives whole.
#[test]
fn node_chunked_upload() {
    let (server, port, _) = server();
    let v = node("chunked", port);
    assert_eq!(v["status"], 200);
    assert_eq!(s(&v["body"]), "one,two,three");
    assert_eq!(s(&v["headers"]["x-method"]), "PUT");
    assert_eq!(s(&v["headers"]["x-te"]), "chunked");
    server.close();
}

/// SRV-6, SRV-7: without a checkContinue handler the server answers `100 Continue`
/// by itself; Node's client then sends the body.
#[test]
fn node_expect_100_continue() {
    let (server, port, _) = server();
    let v = node("continue", port);
    assert_eq!(v["events"], serde_json::json!(["continue", "response"]));
    assert_eq!(v["status"], 200);
    assert_eq!(s(&v["body"]), "body");
    server.close();
}

/// RES-20, MSG-8, MSG-9: trailers both ways.
#[test]
fn node_trailers_both_ways() {
    let (server, port, _) = server();
    let v = node("trailers", port);
    let down = &v["down"];
    assert_eq!(s(&down["body"]), "part1,part2");
    assert_eq!(s(&down["headers"]["transfer-encoding"]), "chunked");
    assert_eq!(s(&down["trailers"]["x-checksum"]), "abc123");
    assert_eq!(
        down["rawTrailers"],
        serde_json::json!(["x-checksum", "abc123"])
    );
    let up = &v["up"];
    assert_eq!(s(&up["body"]), "abc");
    assert_eq!(s(&up["headers"]["x-te"]), "chunked");
    assert_eq!(s(&up["headers"]["x-trailers"]), "x-sum=42");
    server.close();
}

/// SRV-8, CLI-16: Node's client upgrades and the socket then carries our echo.
#[test]
fn node_upgrade() {
    let (server, port, seen) = server();
    let v = node("upgrade", port);
    assert_eq!(v["status"], 101);
    assert_eq!(s(&v["headers"]["upgrade"]), "echo");
    assert_eq!(s(&v["stream"]), "ping");
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0);
    server.close();
}

/// SRV-9, CLI-16: Node's client opens a CONNECT tunnel.
#[test]
fn node_connect_tunnel() {
    let (server, port, seen) = server();
    let v = node("connect", port);
    assert_eq!(v["status"], 200);
    assert_eq!(s(&v["message"]), "Connection Established");
    assert_eq!(s(&v["stream"]), "example.test:443|hello");
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0);
    server.close();
}

/// curl `--http1.1` with two URLs reuses the connection; `-T -` uploads chunked.
#[test]
fn curl_keep_alive_and_chunked_upload() {
    let (server, port, seen) = server();
    let u1 = format!("http://127.0.0.1:{port}/hello?a");
    let u2 = format!("http://127.0.0.1:{port}/hello?b");
    let out = Command::new("curl")
        .args([
            "--http1.1",
            "-sS",
            "-w",
            " connects=%{num_connects}\n",
            &u1,
            &u2,
        ])
        .output()
        .expect("curl on PATH");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Hello, World! connects=1\nHello, World! connects=0\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(seen.requests.load(Ordering::SeqCst), 2);

    let url = format!("http://127.0.0.1:{port}/echo");
    let mut child = Command::new("curl")
        .args([
            "--http1.1",
            "-sS",
            "-D",
            "-",
            "-H",
            "Expect:",
            "-T",
            "-",
            &url,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("curl on PATH");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"streamed from curl's stdin")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("x-te: chunked\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nstreamed from curl's stdin"), "{out}");
    server.close();
}
