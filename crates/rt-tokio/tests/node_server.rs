//! courier's tokio client against a peer nobody here wrote: Node v20's own `http`
//! server (`tests/peers/node-server.js`), over loopback. Keep-alive through the Agent,
//! requests queued behind one socket, a chunked upload, 100-continue, 1xx hints,
//! trailers both ways, an upgrade and a CONNECT tunnel. `node` must be on `PATH` (it is
//! on every machine of the project). Rule ids refer to `spec/node-http.md`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use courier_rt_tokio::{
    Agent, AgentChoice, AgentOptions, ClientOptions, ClientResponse, RequestEvent, RequestOptions,
    get, request,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running `node-server.js`; killed when dropped.
struct NodeServer {
    child: Child,
    port: u16,
}

impl NodeServer {
    fn start() -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/node-server.js");
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

    /// Options for `path` on a connection of its own (`agent: false`): the tests of
    /// this binary run on runtimes of their own, and a global-agent socket pooled by
    /// one test must not be handed to another.
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
    .unwrap()
}

fn header(res: &ClientResponse, name: &str) -> String {
    res.headers().get_str(name).unwrap_or_default()
}

async fn body(res: &mut ClientResponse) -> String {
    String::from_utf8(res.read_body().await.unwrap().to_vec()).unwrap()
}

/// CLI-11, CLI-24, AGT-7: a keep-alive Agent carries sequential requests on one
/// connection, and the second and third report `reusedSocket`.
#[tokio::test]
async fn keep_alive_agent_reuses_one_connection() {
    let node = NodeServer::start();
    let agent = keep_alive_agent(None);
    let mut ports = Vec::new();
    for i in 0..3 {
        let mut req =
            get(ClientOptions::url(node.url("/hello")).agent(AgentChoice::Agent(agent.clone())))
                .unwrap();
        let mut res = req.response().await.unwrap();
        assert_eq!(res.status_code(), 200);
        assert_eq!(header(&res, "connection"), "keep-alive");
        assert_eq!(header(&res, "keep-alive"), "timeout=5");
        assert_eq!(header(&res, "x-count"), (i + 1).to_string());
        assert_eq!(body(&mut res).await, "Hello, World!");
        assert_eq!(req.reused_socket(), i > 0, "request {i}");
        ports.push(header(&res, "x-remote-port"));
    }
    assert!(ports.iter().all(|p| *p == ports[0]), "{ports:?}");
    agent.destroy();
}

/// AGT-5, AGT-7, CLI-24: with `maxSockets: 1`, three requests made at once wait in
/// the agent's queue and go out one after another on the one connection. (Node's
/// client does not pipeline; neither does courier's.)
#[tokio::test]
async fn queued_requests_share_one_socket_in_order() {
    let node = NodeServer::start();
    let agent = keep_alive_agent(Some(1));
    let mut reqs: Vec<_> = (0..3)
        .map(|_| {
            get(ClientOptions::url(node.url("/hello")).agent(AgentChoice::Agent(agent.clone())))
                .unwrap()
        })
        .collect();
    let mut seen = Vec::new();
    for req in &mut reqs {
        let mut res = req.response().await.unwrap();
        seen.push((header(&res, "x-remote-port"), header(&res, "x-count")));
        assert_eq!(body(&mut res).await, "Hello, World!");
    }
    assert!(seen.iter().all(|(p, _)| *p == seen[0].0), "{seen:?}");
    let counts: Vec<_> = seen.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(counts, ["1", "2", "3"]);
    agent.destroy();
}

/// CLI-12, MSG-11: a body written in pieces without a length goes out chunked and
/// Node reassembles it.
#[tokio::test]
async fn chunked_upload() {
    let node = NodeServer::start();
    let mut req = request(node.own("/echo").method("PUT")).unwrap();
    req.write(Bytes::from_static(b"one,")).await.unwrap();
    req.write(Bytes::from_static(b"two,")).await.unwrap();
    req.end(Some(Bytes::from_static(b"three"))).unwrap();
    let mut res = req.response().await.unwrap();
    assert_eq!(res.status_code(), 200);
    assert_eq!(header(&res, "x-method"), "PUT");
    assert_eq!(header(&res, "x-te"), "chunked");
    assert_eq!(body(&mut res).await, "one,two,three");
}

/// CLI-14, CLI-15, SRV-6: with `Expect: 100-continue` the client waits for Node's
/// `100 Continue` (its 'checkContinue' listener) before sending the body.
#[tokio::test]
async fn expect_100_continue() {
    let node = NodeServer::start();
    let mut req = request(
        node.own("/echo")
            .method("POST")
            .header("Expect", "100-continue")
            .header("Content-Length", 4),
    )
    .unwrap();
    req.flush_headers().unwrap();
    loop {
        match req.next_event().await {
            Some(RequestEvent::Continue) => break,
            Some(_) => {}
            None => panic!("no 'continue' from Node"),
        }
    }
    req.end(Some(Bytes::from_static(b"body"))).unwrap();
    let mut res = req.response().await.unwrap();
    assert_eq!(res.status_code(), 200);
    assert_eq!(header(&res, "x-continued"), "yes");
    assert_eq!(header(&res, "x-expect"), "100-continue");
    assert_eq!(body(&mut res).await, "body");
}

/// CLI-15: Node's `writeEarlyHints` arrives as an 'information' event before the
/// final response.
#[tokio::test]
async fn early_hints_are_information() {
    let node = NodeServer::start();
    let mut req = get(node.own("/hints")).unwrap();
    let mut res = req.response().await.unwrap();
    assert_eq!(res.status_code(), 200);
    assert_eq!(body(&mut res).await, "done");
    drop(res);
    let mut hints = Vec::new();
    while let Some(e) = req.next_event().await {
        if let RequestEvent::Information { status, headers } = e {
            hints.push((status, headers.get_str("link")));
        }
    }
    assert_eq!(
        hints,
        [(103, Some("</style.css>; rel=preload; as=style".to_owned()))]
    );
}

/// MSG-8, RES-20: trailers both ways: Node's response trailers reach
/// `ClientResponse::trailers`, ours reach Node's `req.trailers`.
#[tokio::test]
async fn trailers_both_ways() {
    let node = NodeServer::start();
    let mut req = get(node.own("/trailers")).unwrap();
    let mut res = req.response().await.unwrap();
    assert_eq!(body(&mut res).await, "part1,part2");
    assert!(res.complete());
    let trailers = res.trailers().unwrap();
    assert_eq!(trailers.get_str("x-checksum").as_deref(), Some("abc123"));

    let mut req = request(node.own("/echo").method("POST").header("Trailer", "X-Sum")).unwrap();
    req.write(Bytes::from_static(b"abc")).await.unwrap();
    req.add_trailers(&[("X-Sum", "42")]).unwrap();
    req.end(None).unwrap();
    let mut res = req.response().await.unwrap();
    assert_eq!(header(&res, "x-trailers"), "x-sum=42");
    assert_eq!(body(&mut res).await, "abc");
}

/// CLI-16, SRV-8: an upgrade: Node's 'upgrade' listener answers 101 and the socket
/// then echoes what we write.
#[tokio::test]
async fn upgrade() {
    let node = NodeServer::start();
    let mut req = request(
        node.own("/chat")
            .header("Connection", "Upgrade")
            .header("Upgrade", "echo"),
    )
    .unwrap();
    req.end(None).unwrap();
    let mut up = req.upgrade().await.unwrap();
    assert_eq!(up.status_code(), 101);
    assert_eq!(
        up.response().headers.get("upgrade"),
        Some(&b"echo"[..]),
        "the 101's Upgrade field"
    );
    up.write_all(b"ping").await.unwrap();
    let mut back = [0u8; 4];
    up.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"ping");
}

/// CLI-16, SRV-9: a CONNECT tunnel through Node's 'connect' listener.
#[tokio::test]
async fn connect_tunnel() {
    let node = NodeServer::start();
    let mut req = request(
        ClientOptions::from(RequestOptions {
            method: Some("CONNECT".into()),
            path: Some("example.test:443".into()),
            hostname: Some("127.0.0.1".into()),
            port: Some(node.port),
            ..RequestOptions::default()
        })
        .agent(AgentChoice::OneOff),
    )
    .unwrap();
    let mut up = req.upgrade().await.unwrap();
    assert_eq!(up.status_code(), 200);
    up.write_all(b"hello").await.unwrap();
    let want = b"example.test:443|hello";
    let mut got = vec![0u8; want.len()];
    up.read_exact(&mut got).await.unwrap();
    assert_eq!(got, want);
}
