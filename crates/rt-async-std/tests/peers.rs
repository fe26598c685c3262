//! Node v20's own `http` client (and a raw `net` socket) against the futures-io
//! adapter's server, with the client script of the tokio adapter's peer tests
//! (`crates/rt-tokio/tests/peers/node-client.js`). `node` must be on `PATH`.

use std::path::PathBuf;
use std::process::Command;

use bytes::Bytes;
use courier_rt_async_std::{
    HeaderValue, IncomingMessage, Server, ServerOptions, ServerResponse, create_server,
};
use futures_lite::AsyncWriteExt;
use serde_json::Value;

/// `/hello…`: text; `/echo`: the body back with `x-method`, `x-te` and
/// `x-trailers`; `/trailers`: a chunked body with an `x-checksum` trailer.
async fn handle(mut req: IncomingMessage, mut res: ServerResponse) {
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

fn server() -> (Server, u16) {
    let server = create_server(ServerOptions::default(), handle).unwrap();
    server.on_upgrade(|_req, mut io, head| async move {
        io.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n",
        )
        .await
        .unwrap();
        io.write_all(&head).await.unwrap();
        let (r, mut w) = futures_lite::io::split(io);
        let _ = futures_lite::io::copy(r, &mut w).await;
    });
    server.on_connect(|req, mut io, head| async move {
        let reply = format!("HTTP/1.1 200 Connection Established\r\n\r\n{}|", req.url());
        io.write_all(reply.as_bytes()).await.unwrap();
        io.write_all(&head).await.unwrap();
        let (r, mut w) = futures_lite::io::split(io);
        let _ = futures_lite::io::copy(r, &mut w).await;
    });
    let addr = smol::block_on(server.listen("127.0.0.1:0")).unwrap();
    (server, addr.port())
}

/// Runs one scenario of the Node client and parses what it printed.
fn node(scenario: &str, port: u16) -> Value {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rt-tokio/tests/peers/node-client.js");
    let out = Command::new("node")
        .arg(script)
        .arg(scenario)
        .arg(port.to_string())
        .output()
        .expect("node v20 on PATH");
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.get("error").is_none(), "node reported: {v}");
    v
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

#[test]
fn node_keep_alive_agent_reuses_one_connection() {
    let (server, port) = server();
    let v = node("keepalive", port);
    let seq = v["sequential"].as_array().unwrap();
    assert_eq!(seq.len(), 3);
    for (i, r) in seq.iter().enumerate() {
        assert_eq!(r["status"], 200);
        assert_eq!(s(&r["body"]), "Hello, World!");
        assert_eq!(s(&r["headers"]["keep-alive"]), "timeout=5");
        assert_eq!(r["reused"], i > 0, "request {i}");
        assert_eq!(r["localPort"], seq[0]["localPort"], "one socket");
    }
    let par = v["parallel"].as_array().unwrap();
    assert_eq!(s(&par[1]["body"]), "abc");
    assert_eq!(s(&par[1]["headers"]["x-method"]), "POST");
    server.close_all_connections();
    server.close();
}

#[test]
fn node_raw_socket_pipelining_answers_in_order() {
    let (server, port) = server();
    let v = node("pipeline", port);
    let raw = s(&v["raw"]);
    assert_eq!(raw.matches("HTTP/1.1 200 OK\r\n").count(), 3, "{raw}");
    assert!(raw.ends_with("\r\n\r\nHello, World!"), "{raw}");
    assert!(raw.contains("\r\n\r\nhello"), "{raw}");
    server.close();
}

#[test]
fn node_chunked_upload_and_expect_continue() {
    let (server, port) = server();
    let v = node("chunked", port);
    assert_eq!(s(&v["body"]), "one,two,three");
    assert_eq!(s(&v["headers"]["x-te"]), "chunked");
    let v = node("continue", port);
    assert_eq!(v["events"], serde_json::json!(["continue", "response"]));
    assert_eq!(s(&v["body"]), "body");
    server.close();
}

#[test]
fn node_trailers_both_ways() {
    let (server, port) = server();
    let v = node("trailers", port);
    assert_eq!(s(&v["down"]["body"]), "part1,part2");
    assert_eq!(s(&v["down"]["trailers"]["x-checksum"]), "abc123");
    assert_eq!(s(&v["up"]["body"]), "abc");
    assert_eq!(s(&v["up"]["headers"]["x-trailers"]), "x-sum=42");
    server.close();
}

#[test]
fn node_upgrade_and_connect_tunnel() {
    let (server, port) = server();
    let v = node("upgrade", port);
    assert_eq!(v["status"], 101);
    assert_eq!(s(&v["headers"]["upgrade"]), "echo");
    assert_eq!(s(&v["stream"]), "ping");
    let v = node("connect", port);
    assert_eq!(v["status"], 200);
    assert_eq!(s(&v["stream"]), "example.test:443|hello");
    server.close();
}
