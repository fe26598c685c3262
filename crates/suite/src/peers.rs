//! Peers nobody here wrote, over loopback: Node v20's own `http` client (and a raw
//! `net` socket) and curl against each adapter's server running the suite's app, and
//! each adapter's client against Node v20's own `http` server.
//!
//! The Node scripts are rt-tokio's `tests/peers/node-client.js` (each scenario prints
//! one JSON object of what Node saw) and `tests/peers/node-server.js` (prints its port,
//! exits when its stdin closes). `node` (v20) and `curl` must be on `PATH`.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use courier_rt::client::{Agent, AgentChoice, AgentOptions, ClientOptions, RequestOptions};
use serde_json::{Value, json};

use crate::client::{ClientAdapter, Exchange, Outcome};
use crate::{Adapter, Listeners, ServerSpec};

fn peer_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("peers/{name}"))
}

/// A server with the `'upgrade'` and `'connect'` listeners (the scripts use both).
fn start<A: Adapter>() -> crate::Running {
    A::start(ServerSpec::new().listeners(Listeners {
        upgrade: true,
        connect: true,
        ..Listeners::default()
    }))
}

/// Runs one scenario of `node-client.js` against `port` and parses what it printed.
fn node(scenario: &str, port: u16) -> Value {
    let out = Command::new("node")
        .arg(peer_script("node-client.js"))
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

/// Runs curl with `args` (stdin: `stdin`) and returns (stdout, stderr).
fn curl(args: &[&str], stdin: Option<&[u8]>) -> (String, String) {
    let mut child = Command::new("curl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("curl on PATH");
    let mut input = child.stdin.take().expect("curl's stdin");
    if let Some(bytes) = stdin {
        input.write_all(bytes).expect("write curl's stdin");
    }
    drop(input);
    let out = child.wait_with_output().expect("curl's output");
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

// ------------------------------------------------------ Node's client, curl --

/// SRV-3, SRV-14, RES-14, CLI-24, AGT-5: Node's keep-alive Agent with one socket
/// reuses the server's connection for every request, queued ones included.
pub fn node_client_keep_alive_agent_reuses_one_connection<A: Adapter>() {
    let server = start::<A>();
    let v = node("keepalive", server.addr().port());
    let seq = v["sequential"].as_array().expect("sequential");
    assert_eq!(seq.len(), 3);
    for (i, r) in seq.iter().enumerate() {
        assert_eq!(r["status"], 200);
        assert_eq!(s(&r["body"]), "Hello, World!");
        assert_eq!(s(&r["headers"]["content-type"]), "text/plain");
        assert_eq!(s(&r["headers"]["content-length"]), "13");
        assert_eq!(s(&r["headers"]["connection"]), "keep-alive");
        assert_eq!(s(&r["headers"]["keep-alive"]), "timeout=5");
        assert!(r["headers"]["date"].is_string());
        assert_eq!(r["reused"], i > 0, "request {i}");
        assert_eq!(r["localPort"], seq[0]["localPort"], "one socket");
    }
    let par = v["parallel"].as_array().expect("parallel");
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
}

/// SRV-15, RES-30, RES-14: three requests pipelined in one write (Node's raw `net`
/// socket) are answered in order; the last one's `Connection: close` closes the
/// connection after its response.
pub fn node_raw_socket_pipelining_answers_in_order<A: Adapter>() {
    let server = start::<A>();
    let v = node("pipeline", server.addr().port());
    let raw = crate::wire::strip_date(s(&v["raw"]));
    assert_eq!(
        raw,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: <date>\r\n\
         Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 13\r\n\r\nHello, World!\
         HTTP/1.1 200 OK\r\nX-Method: POST\r\nX-Te: \r\nX-Expect: \r\nX-Trailers: \r\n\
         Date: <date>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\
         Content-Length: 5\r\n\r\nhello\
         HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: <date>\r\n\
         Connection: close\r\nContent-Length: 13\r\n\r\nHello, World!"
    );
}

/// MSG-11, RES-23: Node's chunked upload written in pieces arrives whole.
pub fn node_client_chunked_upload<A: Adapter>() {
    let server = start::<A>();
    let v = node("chunked", server.addr().port());
    assert_eq!(v["status"], 200);
    assert_eq!(s(&v["body"]), "one,two,three");
    assert_eq!(s(&v["headers"]["x-method"]), "PUT");
    assert_eq!(s(&v["headers"]["x-te"]), "chunked");
}

/// SRV-6, SRV-7: without a `'checkContinue'` listener the server answers
/// `100 Continue` by itself; Node's client then sends the body.
pub fn node_client_expect_100_continue<A: Adapter>() {
    let server = start::<A>();
    let v = node("continue", server.addr().port());
    assert_eq!(v["events"], json!(["continue", "response"]));
    assert_eq!(v["status"], 200);
    assert_eq!(s(&v["body"]), "body");
}

/// RES-20, MSG-8, MSG-9: the server's trailers reach Node's `res.trailers`, and
/// Node's `req.addTrailers` reach the app's request.
pub fn node_client_trailers_both_ways<A: Adapter>() {
    let server = start::<A>();
    let v = node("trailers", server.addr().port());
    let down = &v["down"];
    assert_eq!(s(&down["body"]), "part1,part2");
    assert_eq!(s(&down["headers"]["transfer-encoding"]), "chunked");
    assert_eq!(s(&down["trailers"]["x-checksum"]), "abc123");
    assert_eq!(down["rawTrailers"], json!(["X-Checksum", "abc123"]));
    let up = &v["up"];
    assert_eq!(s(&up["body"]), "abc");
    assert_eq!(s(&up["headers"]["x-te"]), "chunked");
    assert_eq!(s(&up["headers"]["x-trailers"]), "x-sum=42");
}

/// SRV-8, CLI-16: Node's client upgrades: its 'upgrade' event gets the 101 and the
/// socket, which then carries the new protocol (the app's echo).
pub fn node_client_upgrade<A: Adapter>() {
    let server = start::<A>();
    let v = node("upgrade", server.addr().port());
    assert_eq!(v["status"], 101);
    assert_eq!(s(&v["headers"]["upgrade"]), "echo");
    assert_eq!(s(&v["headers"]["connection"]), "Upgrade");
    assert_eq!(s(&v["stream"]), "ping");
}

/// SRV-9, CLI-16: Node's client opens a CONNECT tunnel: its 'connect' event gets the
/// 200 and the socket, which then carries the tunnel.
pub fn node_client_connect_tunnel<A: Adapter>() {
    let server = start::<A>();
    let v = node("connect", server.addr().port());
    assert_eq!(v["status"], 200);
    assert_eq!(s(&v["message"]), "Connection Established");
    assert_eq!(s(&v["stream"]), "hello");
}

/// SRV-14: curl `--http1.1` with two URLs on one command line reuses the connection
/// (the second transfer makes no new connect).
pub fn curl_keep_alive_reuse<A: Adapter>() {
    let server = start::<A>();
    let port = server.addr().port();
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
    );
    assert_eq!(
        out, "Hello, World! connects=1\nHello, World! connects=0\n",
        "{err}"
    );
}

/// MSG-8, MSG-11: curl `-T -` uploads from stdin with chunked framing (size unknown);
/// the server reads the whole body.
pub fn curl_chunked_upload<A: Adapter>() {
    let server = start::<A>();
    let url = format!("http://127.0.0.1:{}/echo", server.addr().port());
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
    );
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}{err}");
    assert!(out.contains("X-Method: PUT\r\n"), "{out}");
    assert!(out.contains("X-Te: chunked\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nstreamed from curl's stdin"), "{out}");
}

/// SRV-6, SRV-7: curl with `Expect: 100-continue` sees the interim `100 Continue`
/// before sending the body.
pub fn curl_expect_100_continue<A: Adapter>() {
    let server = start::<A>();
    let url = format!("http://127.0.0.1:{}/echo", server.addr().port());
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
    );
    assert!(err.contains("< HTTP/1.1 100 Continue"), "{err}");
    assert!(err.contains("< X-Expect: 100-continue"), "{err}");
    assert_eq!(out, "payload-after-100");
}

// ------------------------------------------------------------ Node's server --

/// A running `node-server.js`; killed when dropped.
struct NodeServer {
    child: Child,
    port: u16,
}

impl NodeServer {
    fn start() -> Self {
        let mut child = Command::new("node")
            .arg(peer_script("node-server.js"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node v20 on PATH");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("node's stdout"))
            .read_line(&mut line)
            .expect("node-server.js's port");
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("node-server.js printed {line:?}: {e}"));
        let port = v["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .expect("a port");
        Self { child, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Options for `path` on a connection of its own.
    fn own(&self, path: &str) -> ClientOptions {
        ClientOptions::url(self.url(path)).agent(AgentChoice::OneOff)
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keep_alive_agent(max_sockets: Option<usize>) -> Agent {
    Agent::new(AgentOptions {
        keep_alive: true,
        max_sockets,
        ..AgentOptions::default()
    })
    .expect("an agent")
}

fn ok(out: &Outcome) {
    assert_eq!((out.error.as_deref(), out.status), (None, 200), "{out:?}");
}

/// CLI-11, CLI-24, AGT-7: a keep-alive Agent carries sequential requests to Node's
/// server on one connection; the second and third report `reusedSocket`.
pub fn node_server_keep_alive_agent_reuses_one_connection<A: ClientAdapter>() {
    let node = NodeServer::start();
    let agent = keep_alive_agent(None);
    let mut ports = Vec::new();
    for i in 0..3 {
        let out = A::exchange(Exchange {
            options: ClientOptions::url(node.url("/hello"))
                .agent(AgentChoice::Agent(agent.clone())),
            ..Exchange::default()
        });
        ok(&out);
        assert_eq!(out.header("connection"), "keep-alive");
        assert_eq!(out.header("keep-alive"), "timeout=5");
        assert_eq!(out.header("x-count"), (i + 1).to_string());
        assert_eq!(out.body.as_ref(), b"Hello, World!");
        assert_eq!(out.reused_socket, i > 0, "request {i}");
        ports.push(out.header("x-remote-port").to_owned());
    }
    assert!(ports.iter().all(|p| *p == ports[0]), "{ports:?}");
    agent.destroy();
}

/// AGT-5, AGT-7, CLI-24: with `maxSockets: 1`, three requests made at once wait in
/// the agent's queue and go out one after another on the one connection.
pub fn node_server_queued_requests_share_one_socket<A: ClientAdapter>() {
    let node = NodeServer::start();
    let agent = keep_alive_agent(Some(1));
    let xs = (0..3)
        .map(|_| Exchange {
            options: ClientOptions::url(node.url("/hello"))
                .agent(AgentChoice::Agent(agent.clone())),
            ..Exchange::default()
        })
        .collect();
    let outs = A::exchange_all(xs);
    let mut counts = Vec::new();
    for out in &outs {
        ok(out);
        assert_eq!(out.body.as_ref(), b"Hello, World!");
        assert_eq!(out.header("x-remote-port"), outs[0].header("x-remote-port"));
        counts.push(out.header("x-count").to_owned());
    }
    counts.sort();
    assert_eq!(counts, ["1", "2", "3"]);
    agent.destroy();
}

/// CLI-12, MSG-11: a body written in pieces without a length goes out chunked and
/// Node reassembles it.
pub fn node_server_chunked_upload<A: ClientAdapter>() {
    let node = NodeServer::start();
    let out = A::exchange(Exchange {
        options: node.own("/echo").method("PUT"),
        writes: vec![Bytes::from_static(b"one,"), Bytes::from_static(b"two,")],
        end: Some(Bytes::from_static(b"three")),
        ..Exchange::default()
    });
    ok(&out);
    assert_eq!(out.header("x-method"), "PUT");
    assert_eq!(out.header("x-te"), "chunked");
    assert_eq!(out.body.as_ref(), b"one,two,three");
}

/// CLI-14, CLI-15, SRV-6: with `Expect: 100-continue` the client waits for Node's
/// `100 Continue` (its 'checkContinue' listener) before sending the body.
pub fn node_server_expect_100_continue<A: ClientAdapter>() {
    let node = NodeServer::start();
    let out = A::exchange(Exchange {
        options: node
            .own("/echo")
            .method("POST")
            .header("Expect", "100-continue")
            .header("Content-Length", 4),
        end: Some(Bytes::from_static(b"body")),
        wait_for_continue: true,
        ..Exchange::default()
    });
    ok(&out);
    assert!(out.events.contains(&"continue".to_owned()), "{out:?}");
    assert_eq!(out.header("x-continued"), "yes");
    assert_eq!(out.header("x-expect"), "100-continue");
    assert_eq!(out.body.as_ref(), b"body");
}

/// CLI-15: Node's `writeEarlyHints` arrives as an 'information' event before the
/// final response.
pub fn node_server_early_hints_are_information<A: ClientAdapter>() {
    let node = NodeServer::start();
    let out = A::exchange(Exchange {
        options: node.own("/hints"),
        ..Exchange::default()
    });
    ok(&out);
    assert_eq!(out.body.as_ref(), b"done");
    assert_eq!(
        out.events,
        ["socket", "finish", "information 103", "close"],
        "{out:?}"
    );
}

/// MSG-8, RES-20: trailers both ways: Node's response trailers reach the client's
/// response, the client's reach Node's `req.trailers`.
pub fn node_server_trailers_both_ways<A: ClientAdapter>() {
    let node = NodeServer::start();
    let out = A::exchange(Exchange {
        options: node.own("/trailers"),
        ..Exchange::default()
    });
    ok(&out);
    assert_eq!(out.body.as_ref(), b"part1,part2");
    assert!(out.complete);
    assert_eq!(
        out.trailers,
        [("x-checksum".to_owned(), "abc123".to_owned())]
    );

    let out = A::exchange(Exchange {
        options: node.own("/echo").method("POST").header("Trailer", "X-Sum"),
        writes: vec![Bytes::from_static(b"abc")],
        trailers: vec![("X-Sum", "42")],
        ..Exchange::default()
    });
    ok(&out);
    assert_eq!(out.header("x-trailers"), "x-sum=42");
    assert_eq!(out.body.as_ref(), b"abc");
}

/// CLI-16, SRV-8: an upgrade: Node's 'upgrade' listener answers 101 and the socket
/// then echoes what the client writes.
pub fn node_server_upgrade<A: ClientAdapter>() {
    let node = NodeServer::start();
    let out = A::exchange(Exchange {
        options: node
            .own("/chat")
            .header("Connection", "Upgrade")
            .header("Upgrade", "echo"),
        upgrade: Some((Bytes::from_static(b"ping"), 4)),
        ..Exchange::default()
    });
    assert_eq!((out.error.as_deref(), out.status), (None, 101), "{out:?}");
    assert_eq!(out.body.as_ref(), b"ping");
}

/// CLI-16, SRV-9: a CONNECT tunnel through Node's 'connect' listener.
pub fn node_server_connect_tunnel<A: ClientAdapter>() {
    let node = NodeServer::start();
    let options = ClientOptions::from(RequestOptions {
        method: Some("CONNECT".into()),
        path: Some("example.test:443".into()),
        hostname: Some("127.0.0.1".into()),
        port: Some(node.port),
        ..RequestOptions::default()
    })
    .agent(AgentChoice::OneOff);
    let want = b"example.test:443|hello";
    let out = A::exchange(Exchange {
        options,
        upgrade: Some((Bytes::from_static(b"hello"), want.len())),
        ..Exchange::default()
    });
    assert_eq!((out.error.as_deref(), out.status), (None, 200), "{out:?}");
    assert_eq!(out.body.as_ref(), want);
}
