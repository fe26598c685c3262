//! Peers nobody here wrote, over loopback: Node v20's own `http` client (and a raw
//! `net` socket) and curl against courier's tokio server.
//!
//! The Node side is `tests/peers/node-client.js`; each scenario prints one JSON object
//! of what Node saw, asserted here. `node` and `curl` must be on `PATH` (CI installs
//! curl when missing; Node is on every machine of the project).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use courier_rt_tokio::{
    HeaderValue, IncomingMessage, Server, ServerOptions, ServerResponse, create_server,
};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

/// What the test server saw.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
}

/// Answers:
/// * `/hello…`: `Hello, World!` as text;
/// * `/echo`: the request body back, with `x-method`, `x-te` (the request's
///   `Transfer-Encoding`), `x-expect` and `x-trailers` (its trailers as `name=value;…`);
/// * `/trailers`: a chunked body in two writes with an `x-checksum` trailer.
async fn handle(mut req: IncomingMessage, mut res: ServerResponse, seen: Arc<Seen>) {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    let url = req.url().into_owned();
    if url.starts_with("/hello") {
        res.set_header("Content-Type", "text/plain").unwrap();
        res.end(Some(Bytes::from_static(b"Hello, World!")))
            .await
            .unwrap();
    } else if url == "/echo" {
        let body = req.read_body().await.unwrap();
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
        res.end(Some(body)).await.unwrap();
    } else if url == "/trailers" {
        res.set_header("Trailer", "x-checksum").unwrap();
        res.write(Bytes::from_static(b"part1,")).await.unwrap();
        res.write(Bytes::from_static(b"part2")).await.unwrap();
        res.add_trailers([("x-checksum", HeaderValue::from("abc123"))])
            .unwrap();
        res.end(None).await.unwrap();
    } else {
        res.set_status_code(404).unwrap();
        res.end(None).await.unwrap();
    }
}

async fn server() -> (Server, u16, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let s = Arc::clone(&seen);
    let server = create_server(ServerOptions::default(), move |req, res| {
        handle(req, res, Arc::clone(&s))
    })
    .unwrap();
    // 'upgrade': 101 to the `echo` protocol, then every byte back (SRV-8).
    server.on_upgrade(|_req, mut io, head| async move {
        io.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n",
        )
        .await
        .unwrap();
        io.write_all(&head).await.unwrap();
        let (mut r, mut w) = tokio::io::split(io);
        let _ = tokio::io::copy(&mut r, &mut w).await;
    });
    // 'connect': a tunnel that answers with the authority, then echoes (SRV-9).
    server.on_connect(|req, mut io, head| async move {
        let reply = format!("HTTP/1.1 200 Connection Established\r\n\r\n{}|", req.url());
        io.write_all(reply.as_bytes()).await.unwrap();
        io.write_all(&head).await.unwrap();
        let (mut r, mut w) = tokio::io::split(io);
        let _ = tokio::io::copy(&mut r, &mut w).await;
    });
    let addr = server.listen("127.0.0.1:0").await.unwrap();
    (server, addr.port(), seen)
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/node-client.js")
}

/// Runs one scenario of the Node client and parses what it printed.
async fn node(scenario: &str, port: u16) -> Value {
    let scenario = scenario.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script())
            .arg(&scenario)
            .arg(port.to_string())
            .output()
            .expect("node v20 on PATH")
    })
    .await
    .unwrap();
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

/// Runs curl with `args` and returns (stdout, stderr).
async fn curl(args: &[&str], stdin: Option<&'static [u8]>) -> (String, String) {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new("curl")
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("curl on PATH");
        let mut input = child.stdin.take().unwrap();
        if let Some(bytes) = stdin {
            input.write_all(bytes).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// SRV-3, SRV-14, RES-14 (keep-alive), CLI-24, AGT-5: Node's keep-alive Agent with one socket
/// reuses our connection for every request, queued ones included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_keep_alive_agent_reuses_one_connection() {
    let (server, port, seen) = server().await;
    let v = node("keepalive", port).await;
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
    // CLI-24: the first took the free socket (reused); the second was handed the
    // same socket from the agent's wait queue, which Node reports as not reused.
    assert_eq!(par[0]["reused"], true);
    assert_eq!(par[1]["reused"], false);
    for r in par {
        assert_eq!(r["localPort"], seq[0]["localPort"]);
    }
    assert_eq!(seen.requests.load(Ordering::SeqCst), 5);
    server.close_all_connections();
    server.close();
}

/// SRV-15, RES-30, RES-14: three requests pipelined in one write are answered in order; the
/// last one's `Connection: close` closes the connection after its response.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_raw_socket_pipelining_answers_in_order() {
    let (server, port, _) = server().await;
    let v = node("pipeline", port).await;
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
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_chunked_upload() {
    let (server, port, _) = server().await;
    let v = node("chunked", port).await;
    assert_eq!(v["status"], 200);
    assert_eq!(s(&v["body"]), "one,two,three");
    assert_eq!(s(&v["headers"]["x-method"]), "PUT");
    assert_eq!(s(&v["headers"]["x-te"]), "chunked");
    server.close();
}

/// SRV-6, SRV-7: without a checkContinue handler the server answers
/// `100 Continue` by itself; Node's client then sends the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_expect_100_continue() {
    let (server, port, _) = server().await;
    let v = node("continue", port).await;
    assert_eq!(v["events"], serde_json::json!(["continue", "response"]));
    assert_eq!(v["status"], 200);
    assert_eq!(s(&v["body"]), "body");
    server.close();
}

/// RES-20, MSG-8/MSG-9: trailers from our server reach Node's `res.trailers`, and
/// Node's `req.addTrailers` reach our `req.trailers()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_trailers_both_ways() {
    let (server, port, _) = server().await;
    let v = node("trailers", port).await;
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

/// curl `--http1.1` with two URLs on one command line reuses the connection (the
/// second transfer makes no new connect).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_keep_alive_reuse() {
    let (server, port, seen) = server().await;
    let u1 = format!("http://127.0.0.1:{port}/hello?a");
    let u2 = format!("http://127.0.0.1:{port}/hello?b");
    let (out, err) = curl(
        &[
            "--http1.1",
            "-sS",
            "-w",
            " connects=%{num_connects}\n",
            &u1,
            &u2,
        ],
        None,
    )
    .await;
    assert_eq!(
        out, "Hello, World! connects=1\nHello, World! connects=0\n",
        "{err}"
    );
    assert_eq!(seen.requests.load(Ordering::SeqCst), 2);
    server.close();
}

/// curl `-T -` uploads from stdin with chunked framing (size unknown); our server
/// reads the whole body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_chunked_upload() {
    let (server, port, _) = server().await;
    let url = format!("http://127.0.0.1:{port}/echo");
    let (out, err) = curl(
        &[
            "--http1.1",
            "-sS",
            "-D",
            "-",
            "-H",
            "Expect:",
            "-T",
            "-",
            &url,
        ],
        Some(b"streamed from curl's stdin"),
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}{err}");
    assert!(out.contains("x-method: PUT\r\n"), "{out}");
    assert!(out.contains("x-te: chunked\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nstreamed from curl's stdin"), "{out}");
    server.close();
}

/// SRV-6, SRV-7: curl with `Expect: 100-continue` sees our interim `100 Continue`
/// before sending the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_expect_100_continue() {
    let (server, port, _) = server().await;
    let url = format!("http://127.0.0.1:{port}/echo");
    let (out, err) = curl(
        &[
            "--http1.1",
            "-sS",
            "-v",
            "-H",
            "Expect: 100-continue",
            "--data-binary",
            "payload-after-100",
            &url,
        ],
        None,
    )
    .await;
    assert!(err.contains("< HTTP/1.1 100 Continue"), "{err}");
    assert!(err.contains("< x-expect: 100-continue"), "{err}");
    assert_eq!(out, "payload-after-100");
    server.close();
}

/// SRV-8, CLI-16: Node's client upgrades: its 'upgrade' event gets our 101 and the
/// socket, and the socket then carries the new protocol (our echo).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_upgrade() {
    let (server, port, seen) = server().await;
    let v = node("upgrade", port).await;
    assert_eq!(v["status"], 101);
    assert_eq!(s(&v["headers"]["upgrade"]), "echo");
    assert_eq!(s(&v["headers"]["connection"]), "Upgrade");
    assert_eq!(s(&v["stream"]), "ping");
    // An upgrade is not a 'request'.
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0);
    server.close();
}

/// SRV-9, CLI-16: Node's client opens a CONNECT tunnel: its 'connect' event gets our
/// 200 and the socket, which then carries the tunnel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_connect_tunnel() {
    let (server, port, seen) = server().await;
    let v = node("connect", port).await;
    assert_eq!(v["status"], 200);
    assert_eq!(s(&v["message"]), "Connection Established");
    assert_eq!(s(&v["stream"]), "example.test:443|hello");
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0);
    server.close();
}
