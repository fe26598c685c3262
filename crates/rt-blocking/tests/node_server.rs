//! courier's blocking client against Node v20's own `http` server (rt-tokio's
//! `tests/peers/node-server.js`, shared by the adapters), over loopback: keep-alive
//! through the Agent, queued requests on one socket, a chunked upload, 100-continue,
//! 1xx hints, trailers both ways, an upgrade and a CONNECT tunnel. `node` must be on
//! `PATH`. Rule ids refer to `spec/node-http.md`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use courier_rt_blocking::{
    Agent, AgentChoice, AgentOptions, BlockingClientResponse, ClientOptions, RequestEvent,
    RequestOptions, get, request,
};

/// A running `node-server.js`; killed when dropped.
struct NodeServer {
    child: Child,
    port: u16,
}

impl NodeServer {
    fn start() -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../rt-tokio/tests/peers/node-server.js");
        let mut child = Command::new("node")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node v20 on PATH");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("node-server.js printed {line:?}: {e}"));
        let port = u16::try_from(v["port"].as_u64().unwrap()).unwrap();
        Self { child, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
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
    .unwrap()
}

fn until(mut f: impl FnMut() -> bool) {
    for _ in 0..400 {
        if f() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("timed out");
}

fn header(res: &BlockingClientResponse, name: &str) -> String {
    res.headers().get_str(name).unwrap_or_default()
}

fn body(res: &mut BlockingClientResponse) -> String {
    let mut s = String::new();
    res.read_to_string(&mut s).unwrap();
    s
}

/// CLI-11, CLI-24, AGT-7: a keep-alive Agent carries sequential requests on one
/// connection; AGT-5: with `maxSockets: 1` requests made at once queue on it.
#[test]
fn keep_alive_agent_reuses_one_connection_and_queues() {
    let node = NodeServer::start();
    let agent = keep_alive_agent(None);
    let mut ports = Vec::new();
    for i in 0..3 {
        let mut req =
            get(ClientOptions::url(node.url("/hello")).agent(AgentChoice::Agent(agent.clone())))
                .unwrap();
        let mut res = req.response().unwrap();
        assert_eq!(res.status_code(), 200);
        assert_eq!(header(&res, "keep-alive"), "timeout=5");
        assert_eq!(header(&res, "x-count"), (i + 1).to_string());
        assert_eq!(body(&mut res), "Hello, World!");
        assert_eq!(req.reused_socket(), i > 0, "request {i}");
        ports.push(header(&res, "x-remote-port"));
        // The connection's thread frees the socket right after the body's end woke
        // this one: wait for it (as a Node program would across event-loop turns).
        until(|| agent.free_sockets().len() == 1);
    }
    assert!(ports.iter().all(|p| *p == ports[0]), "{ports:?}");
    agent.destroy();

    let agent = keep_alive_agent(Some(1));
    let mut reqs: Vec<_> = (0..3)
        .map(|_| {
            get(ClientOptions::url(node.url("/hello")).agent(AgentChoice::Agent(agent.clone())))
                .unwrap()
        })
        .collect();
    let mut seen = Vec::new();
    for req in &mut reqs {
        let mut res = req.response().unwrap();
        seen.push(header(&res, "x-remote-port"));
        assert_eq!(body(&mut res), "Hello, World!");
    }
    assert!(seen.iter().all(|p| *p == seen[0]), "{seen:?}");
    agent.destroy();
}

/// CLI-12, MSG-11: a body written in pieces goes out chunked; CLI-14, CLI-15: with
/// `Expect: 100-continue` the body waits for Node's `100 Continue`.
#[test]
fn chunked_upload_and_100_continue() {
    let node = NodeServer::start();
    let mut req = request(ClientOptions::url(node.url("/echo")).method("PUT")).unwrap();
    req.write(Bytes::from_static(b"one,")).unwrap();
    req.write(Bytes::from_static(b"two,")).unwrap();
    req.end(Some(Bytes::from_static(b"three"))).unwrap();
    let mut res = req.response().unwrap();
    assert_eq!(header(&res, "x-te"), "chunked");
    assert_eq!(body(&mut res), "one,two,three");

    let mut req = request(
        ClientOptions::url(node.url("/echo"))
            .method("POST")
            .header("Expect", "100-continue")
            .header("Content-Length", 4),
    )
    .unwrap();
    req.flush_headers().unwrap();
    loop {
        match req.next_event() {
            Some(RequestEvent::Continue) => break,
            Some(_) => {}
            None => panic!("no 'continue' from Node"),
        }
    }
    req.end(Some(Bytes::from_static(b"body"))).unwrap();
    let mut res = req.response().unwrap();
    assert_eq!(header(&res, "x-continued"), "yes");
    assert_eq!(body(&mut res), "body");
}

/// CLI-15: Node's `writeEarlyHints` is an 'information' event; MSG-8, RES-20:
/// trailers both ways.
#[test]
fn early_hints_and_trailers() {
    let node = NodeServer::start();
    let mut req = get(node.url("/hints")).unwrap();
    let mut res = req.response().unwrap();
    assert_eq!(body(&mut res), "done");
    drop(res);
    let mut hints = Vec::new();
    while let Some(e) = req.next_event() {
        if let RequestEvent::Information { status, headers } = e {
            hints.push((status, headers.get_str("link")));
        }
    }
    assert_eq!(
        hints,
        [(103, Some("</style.css>; rel=preload; as=style".to_owned()))]
    );

    let mut req = get(node.url("/trailers")).unwrap();
    let mut res = req.response().unwrap();
    assert_eq!(body(&mut res), "part1,part2");
    assert_eq!(
        res.trailers().unwrap().get_str("x-checksum").as_deref(),
        Some("abc123")
    );

    let mut req = request(
        ClientOptions::url(node.url("/echo"))
            .method("POST")
            .header("Trailer", "X-Sum"),
    )
    .unwrap();
    req.write(Bytes::from_static(b"abc")).unwrap();
    req.add_trailers(&[("X-Sum", "42")]).unwrap();
    req.end(None).unwrap();
    let mut res = req.response().unwrap();
    assert_eq!(header(&res, "x-trailers"), "x-sum=42");
    assert_eq!(body(&mut res), "abc");
}

/// CLI-16, SRV-8, SRV-9: an upgrade and a CONNECT tunnel through Node's listeners.
#[test]
fn upgrade_and_connect() {
    let node = NodeServer::start();
    let mut req = request(
        ClientOptions::url(node.url("/chat"))
            .header("Connection", "Upgrade")
            .header("Upgrade", "echo"),
    )
    .unwrap();
    req.end(None).unwrap();
    let mut up = req.upgrade().unwrap();
    assert_eq!(up.status_code(), 101);
    up.write_all(b"ping").unwrap();
    let mut back = [0u8; 4];
    up.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"ping");

    let mut req = request(ClientOptions::from(RequestOptions {
        method: Some("CONNECT".into()),
        path: Some("example.test:443".into()),
        hostname: Some("127.0.0.1".into()),
        port: Some(node.port),
        ..RequestOptions::default()
    }))
    .unwrap();
    let mut up = req.upgrade().unwrap();
    assert_eq!(up.status_code(), 200);
    up.write_all(b"hello").unwrap();
    let want = b"example.test:443|hello";
    let mut got = vec![0u8; want.len()];
    up.read_exact(&mut got).unwrap();
    assert_eq!(got, want);
}
