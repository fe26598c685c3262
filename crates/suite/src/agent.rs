//! The Agent scenarios: scheduling, the free list and its expiry, the connection
//! options, the hooks, the global agent; carried out with each adapter's `request()`
//! against raw `std::net` servers (and, for the load scenarios, against the adapter's
//! own server). Agents are `courier-rt`'s, the same for every adapter, so the
//! scenarios build and inspect them themselves.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use courier_rt::client::{
    Agent, AgentChoice, AgentOptions, ClientOptions, ConnectFuture, ConnectTarget, Connector,
    RequestOptions, Scheduling, global_agent,
};

use crate::client::{
    ClientAdapter, Exchange, OK_HELLO, RawServer, Step, keep_alive_agent, one_off, with_agent,
};
use crate::wait_until;
use crate::wire::SAFETY_TIMEOUT;

/// A server whose n-th connection (in accept order) answers every request with body
/// `n`, its first answer delayed by (n + 1) × 100 ms, so that its sockets are freed in
/// accept order. It accepts at most `conns` connections.
fn tagging_server(conns: usize) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for n in 0..conns {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            std::thread::spawn(move || {
                s.set_read_timeout(Some(SAFETY_TIMEOUT)).unwrap();
                let mut buf = Vec::new();
                let mut first = true;
                while !try_read(&mut s, &mut buf).is_empty() {
                    if first {
                        std::thread::sleep(Duration::from_millis(100 * (n as u64 + 1)));
                        first = false;
                    }
                    let body = n.to_string();
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if s.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// One bodiless request's head, or `""` when the client closed (or went silent).
fn try_read(s: &mut TcpStream, buf: &mut Vec<u8>) -> String {
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return String::from_utf8_lossy(&buf.drain(..i + 4).collect::<Vec<_>>()).into_owned();
        }
        let mut c = [0u8; 4096];
        match s.read(&mut c) {
            Ok(n) if n > 0 => buf.extend_from_slice(&c[..n]),
            _ => return String::new(),
        }
    }
}

/// AGT-5: three sockets freed in the order A, B, C: `lifo` reuses C, `fifo` A;
/// AGT-7: `maxFreeSockets: 1` keeps only the first socket freed (the others are
/// destroyed as the free list is full).
pub fn lifo_and_fifo_scheduling_and_max_free_sockets<A: ClientAdapter>() {
    for (scheduling, max_free, expect_reused, expect_free) in [
        (Scheduling::Lifo, 256, "2", 3),
        (Scheduling::Fifo, 256, "0", 3),
        (Scheduling::Lifo, 1, "0", 1),
    ] {
        let addr = tagging_server(4);
        let agent = Agent::new(AgentOptions {
            keep_alive: true,
            scheduling,
            max_free_sockets: max_free,
            ..AgentOptions::default()
        })
        .unwrap();
        let url = format!("http://{addr}/");
        let outs = A::exchange_all(
            (0..3)
                .map(|_| Exchange {
                    options: with_agent(&url, &agent),
                    ..Exchange::default()
                })
                .collect(),
        );
        let mut tags: Vec<_> = outs.iter().map(|o| o.body.clone()).collect();
        tags.sort();
        assert_eq!(tags, ["0", "1", "2"], "three connections: {outs:?}");
        wait_until("the free sockets", || {
            agent.free_sockets().first().map(|f| f.1) == Some(expect_free)
        });
        let next = A::exchange(Exchange {
            options: with_agent(&url, &agent),
            ..Exchange::default()
        });
        assert_eq!(
            (next.body.as_ref(), next.reused_socket),
            (expect_reused.as_bytes(), true),
            "{scheduling:?} maxFreeSockets {max_free}: {next:?}"
        );
        agent.destroy();
    }
}

/// How long a free socket stays in `agent`'s pool after the exchange on `url`
/// (whose server answers `reply`), or `None` when it was never pooled.
fn free_socket_life<A: ClientAdapter>(agent: &Agent, reply: &'static [u8]) -> Option<Duration> {
    let server = RawServer::start(vec![vec![Step::Read, Step::Write(reply), Step::Eof]]);
    let out = A::exchange(Exchange {
        options: with_agent(&server.url("/"), agent),
        ..Exchange::default()
    });
    assert_eq!((out.error.as_deref(), out.status), (None, 200), "{out:?}");
    let mut pooled = None;
    wait_until("the socket to leave the agent", || {
        if pooled.is_none() && agent.free_sockets().len() == 1 {
            pooled = Some(Instant::now());
        }
        agent.total_socket_count() == 0
    });
    assert_eq!(server.seen()[1], "eof", "the expired socket is closed");
    pooled.map(|p| p.elapsed())
}

/// AGT-9: a free socket is destroyed when the agent's `timeout` expires; AGT-8: the
/// server's `Keep-Alive: timeout=N` hint shortens it to N s − 1 s, and `timeout=1`
/// means the socket is never pooled.
pub fn a_free_socket_expires_after_the_timeout_or_the_servers_hint<A: ClientAdapter>() {
    let short = Agent::new(AgentOptions {
        keep_alive: true,
        timeout: Some(Duration::from_millis(100)),
        ..AgentOptions::default()
    })
    .unwrap();
    let life = free_socket_life::<A>(&short, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        .expect("pooled");
    assert!(
        life < Duration::from_millis(900),
        "gone after ~100 ms: {life:?}"
    );
    let long = Agent::new(AgentOptions {
        keep_alive: true,
        timeout: Some(Duration::from_secs(5)),
        ..AgentOptions::default()
    })
    .unwrap();
    let life = free_socket_life::<A>(
        &long,
        b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=2\r\nContent-Length: 0\r\n\r\n",
    )
    .expect("pooled");
    assert!(
        (Duration::from_millis(900)..Duration::from_millis(3500)).contains(&life),
        "the hint's 2 s - 1 s, not the agent's 5 s: {life:?}"
    );
    let life = free_socket_life::<A>(
        &long,
        b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(life, None, "timeout=1: never pooled");
}

/// AGT-3: `localAddress` binds the socket before it connects and is part of the
/// agent's name (and so of the free list's key).
pub fn local_address_binds_the_socket<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![
        Step::Peer,
        Step::Read,
        Step::Write(OK_HELLO),
        Step::Eof,
    ]]);
    let agent = keep_alive_agent();
    let options = with_agent(&server.url("/"), &agent).local_address("127.0.0.2");
    let name = Agent::get_name(&options);
    let port = server.addr.port();
    assert_eq!(name, format!("127.0.0.1:{port}:127.0.0.2"));
    let out = A::exchange(Exchange {
        options,
        ..Exchange::default()
    });
    assert_eq!((out.error.as_deref(), out.status), (None, 200), "{out:?}");
    wait_until("the free socket under the name", || {
        agent.free_sockets() == vec![(name.clone(), 1)]
    });
    agent.destroy();
    assert_eq!(server.seen()[0], "127.0.0.2");
}

/// `family` (CLI-5, AGT-3; Node v20 observed): a name resolves to the family asked
/// for (`localhost` with 4 reaches an IPv4 listener), an IP literal ignores it, and
/// an IPv6 literal appears without brackets in `connect`'s message.
pub fn family_selects_the_address_and_ipv6_messages<A: ClientAdapter>() {
    if let Ok(l) = TcpListener::bind("[::1]:0") {
        let port = l.local_addr().unwrap().port();
        drop(l);
        let out = A::exchange(Exchange {
            options: ClientOptions::from(RequestOptions {
                hostname: Some("::1".into()),
                port: Some(port),
                ..RequestOptions::default()
            })
            .agent(AgentChoice::OneOff),
            ..Exchange::default()
        });
        assert_eq!(
            (out.error.as_deref(), out.message),
            (
                Some("ECONNREFUSED"),
                format!("connect ECONNREFUSED ::1:{port}")
            )
        );
    }
    let server = RawServer::start(vec![
        vec![Step::Read, Step::Write(OK_HELLO)],
        vec![Step::Read, Step::Write(OK_HELLO)],
    ]);
    let port = server.addr.port();
    for (host, family) in [("127.0.0.1", 6), ("localhost", 4)] {
        let out = A::exchange(Exchange {
            options: one_off(format!("http://{host}:{port}/")).family(family),
            ..Exchange::default()
        });
        assert_eq!(
            (out.error.as_deref(), out.body.as_ref()),
            (None, &b"hello"[..]),
            "{host} family {family}: {out:?}"
        );
    }
    server.seen();
}

/// AGT-2, CLI-11: without an `agent` option the request goes through the global
/// agent (keep-alive, lifo, timeout 5000), so it asks for `Connection: keep-alive`.
pub fn the_global_agent_is_the_default<A: ClientAdapter>() {
    assert_eq!(global_agent().options(), AgentOptions::global());
    let server = RawServer::start(vec![vec![Step::Read, Step::Write(OK_HELLO)]]);
    let out = A::exchange(Exchange {
        options: ClientOptions::url(server.url("/g")),
        ..Exchange::default()
    });
    assert_eq!((out.error.as_deref(), out.status), (None, 200), "{out:?}");
    let seen = server.seen();
    assert!(seen[0].contains("Connection: keep-alive\r\n"), "{seen:?}");
}

/// AGT-8: `keepSocketAlive` returning false destroys the socket; AGT-10:
/// `reuseSocket` runs on each reuse; AGT-12: `destroy()` closes the free sockets.
pub fn agent_hooks_and_destroy<A: ClientAdapter>() {
    let server = RawServer::start(vec![
        vec![Step::Read, Step::Write(OK_HELLO), Step::Eof],
        vec![
            Step::Read,
            Step::Write(OK_HELLO),
            Step::Read,
            Step::Write(OK_HELLO),
            Step::Eof,
        ],
    ]);
    let agent = keep_alive_agent();
    let keep = Arc::new(AtomicUsize::new(0));
    let k = Arc::clone(&keep);
    agent.set_keep_socket_alive(move |_| k.fetch_add(1, Ordering::SeqCst) > 0);
    let reused = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&reused);
    agent.set_reuse_socket(move |_| {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let url = server.url("/");
    let get = || {
        A::exchange(Exchange {
            options: with_agent(&url, &agent),
            ..Exchange::default()
        })
    };
    let first = get();
    assert_eq!(first.status, 200, "{first:?}");
    wait_until("the refused socket to go", || {
        agent.total_socket_count() == 0
    });
    let second = get();
    assert!(!second.reused_socket, "{second:?}");
    wait_until("a free socket", || agent.free_sockets().len() == 1);
    let third = get();
    assert!(third.reused_socket, "{third:?}");
    assert_eq!(reused.load(Ordering::SeqCst), 1);
    wait_until("a free socket", || agent.free_sockets().len() == 1);
    agent.destroy();
    assert_eq!(agent.total_socket_count(), 0);
    assert!(agent.free_sockets().is_empty());
    let seen = server.seen();
    assert_eq!((seen[1].as_str(), seen[4].as_str()), ("eof", "eof"));
}

/// A `createConnection` hook that sends every connection to `port` on 127.0.0.1
/// through the adapter's own connector, counting the calls.
struct Redirect {
    inner: Arc<dyn Connector>,
    port: u16,
    calls: AtomicUsize,
    hosts: Mutex<Vec<String>>,
}

impl Connector for Redirect {
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.hosts.lock().unwrap().push(target.host.clone());
        let mut t = target.clone();
        t.host = "127.0.0.1".into();
        t.port = self.port;
        self.inner.connect(&t)
    }
}

/// AGT-10: a connector replaces `createConnection`; the request still names the
/// original host.
pub fn a_connector_hook_opens_the_connections<A: ClientAdapter>() {
    let server = RawServer::start(vec![vec![Step::Read, Step::Write(OK_HELLO)]]);
    let agent = keep_alive_agent();
    let hook = Arc::new(Redirect {
        inner: A::connector(),
        port: server.addr.port(),
        calls: AtomicUsize::new(0),
        hosts: Mutex::new(Vec::new()),
    });
    agent.set_connector(hook.clone());
    let out = A::exchange(Exchange {
        options: with_agent("http://example.invalid/", &agent),
        ..Exchange::default()
    });
    assert_eq!(
        (out.error.as_deref(), out.body.as_ref()),
        (None, &b"hello"[..]),
        "{out:?}"
    );
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1);
    assert_eq!(*hook.hosts.lock().unwrap(), ["example.invalid"]);
    agent.destroy();
    let seen = server.seen();
    assert!(seen[0].contains("Host: example.invalid\r\n"), "{seen:?}");
}

/// AGT-7, CLI-24: a socket is back in the agent's free list before the application
/// sees its response end (Node frees it before the next tick), so sequential
/// requests to the adapter's own server always reuse the one socket.
pub fn sequential_requests_always_reuse_the_released_socket<A: ClientAdapter + crate::Adapter>() {
    let server = A::start(crate::ServerSpec::new());
    let agent = keep_alive_agent();
    let url = format!("http://{}/hello", server.addr());
    for i in 0..100 {
        let out = A::exchange(Exchange {
            options: with_agent(&url, &agent),
            ..Exchange::default()
        });
        assert_eq!(out.body.as_ref(), b"Hello, World!", "{out:?}");
        assert_eq!(out.reused_socket, i > 0, "request {i}");
    }
    assert_eq!(agent.total_socket_count(), 1);
    agent.destroy();
}

/// AGT-5, AGT-7: many requests at once through one agent capped at 4 sockets,
/// against the adapter's own server: every body arrives whole, and the agent ends
/// with free sockets only, within its caps.
pub fn many_requests_at_once_through_a_capped_agent<A: ClientAdapter + crate::Adapter>() {
    let server = A::start(crate::ServerSpec::new());
    let agent = Agent::new(AgentOptions {
        keep_alive: true,
        max_sockets: Some(4),
        ..AgentOptions::default()
    })
    .unwrap();
    let url = format!("http://{}/echo", server.addr());
    for round in 0..5 {
        let outs = A::exchange_all(
            (0..16)
                .map(|i| Exchange {
                    options: with_agent(&url, &agent).method("POST"),
                    writes: vec![Bytes::from(format!("{round}/{i}:"))],
                    end: Some(Bytes::from_static(b"y")),
                    ..Exchange::default()
                })
                .collect(),
        );
        for (i, out) in outs.iter().enumerate() {
            assert_eq!(out.body, Bytes::from(format!("{round}/{i}:y")), "{out:?}");
        }
    }
    wait_until("every socket free", || agent.sockets().is_empty());
    let free: usize = agent.free_sockets().iter().map(|f| f.1).sum();
    assert!((1..=4).contains(&free), "{free}");
    assert!(agent.requests().is_empty());
    agent.destroy();
}
