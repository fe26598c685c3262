//! The Agent pool, rule by rule (AGT-1 … AGT-12, CONST-7, CONST-8, CLI-2, CLI-11,
//! CLI-24), on a virtual clock and with no sockets: socket handles are plain `u32`s.
//!
//! `// oracle:` comments record what Node v20.20.2 answered to a small script (an
//! `http.Agent`, a server on 127.0.0.1:0, `agent.sockets` / `freeSockets` /
//! `requests` / `totalSocketCount`, `req.reusedSocket`, `socket.timeout`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use courier_proto::agent::{
    Action, AgentOptions, FailedExchange, NameOptions, Pool, PoolKey, PoolOptions, ReqId,
    RequestOptions, RequestState, Retry, Reusable, Scheduling, Slot, SocketState, Ticket,
    is_idempotent, keep_alive_hint, retry_decision,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn key(host: &str, port: u16) -> PoolKey {
    NameOptions {
        host: Some(host),
        port: Some(port),
        ..Default::default()
    }
    .get_name()
}

fn hint(secs: u64) -> Reusable {
    Reusable::Yes {
        keep_alive_hint: Some(Duration::from_secs(secs)),
    }
}

/// A pool plus the caller's side: new socket ids, tickets by request.
struct H {
    pool: Pool<u32>,
    t0: Instant,
    next_sock: u32,
    tickets: HashMap<ReqId, Ticket>,
}

impl H {
    fn new(opts: AgentOptions) -> Self {
        Self::with(opts, PoolOptions::default())
    }

    fn with(opts: AgentOptions, pool: PoolOptions) -> Self {
        Self {
            pool: Pool::new(opts, pool).unwrap(),
            t0: Instant::now(),
            next_sock: 1,
            tickets: HashMap::new(),
        }
    }

    fn at(&self, t: u64) -> Instant {
        self.t0 + ms(t)
    }

    /// All pending actions; remembers the tickets of `Connect`s.
    fn actions(&mut self) -> Vec<Action<u32>> {
        let mut v = Vec::new();
        while let Some(a) = self.pool.poll_action() {
            if let Action::Connect { req, ticket, .. } = &a {
                self.tickets.insert(*req, *ticket);
            }
            v.push(a);
        }
        v
    }

    fn add(&mut self, k: &PoolKey, r: u64) -> Vec<Action<u32>> {
        self.add_with(k, r, RequestOptions::default(), 0)
    }

    fn add_with(&mut self, k: &PoolKey, r: u64, o: RequestOptions, t: u64) -> Vec<Action<u32>> {
        assert!(self.pool.request_with(k.clone(), ReqId(r), o, self.at(t)));
        self.actions()
    }

    /// Connects the ticket of request `r`; returns the new socket.
    fn up(&mut self, r: u64) -> u32 {
        let t = self
            .tickets
            .remove(&ReqId(r))
            .expect("a ticket for the request");
        let s = self.next_sock;
        self.next_sock += 1;
        assert!(self.pool.connected(t, s, self.t0));
        s
    }

    /// Adds request `r`, expects a new connection, connects it; returns the socket.
    fn fresh_socket(&mut self, k: &PoolKey, r: u64) -> u32 {
        let a = self.add(k, r);
        assert!(matches!(a[..], [Action::Connect { .. }]), "{a:?}");
        let s = self.up(r);
        let a = self.actions();
        assert!(
            matches!(a[..], [Action::Assign { reused: false, .. }]),
            "{a:?}"
        );
        s
    }

    fn release(&mut self, s: u32, t: u64, r: Reusable) -> Vec<Action<u32>> {
        assert!(self.pool.release(s, self.at(t), r));
        self.actions()
    }

    fn free(&self) -> Vec<(String, Vec<u32>)> {
        self.pool
            .free_sockets()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    fn sockets(&self) -> Vec<(String, Vec<Slot<u32>>)> {
        self.pool
            .sockets()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    fn requests(&self) -> Vec<(String, Vec<u64>)> {
        self.pool
            .requests()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into_iter().map(|r| r.0).collect()))
            .collect()
    }
}

fn assign(req: u64, sock: u32, reused: bool, timeout: Option<u64>) -> Action<u32> {
    Action::Assign {
        req: ReqId(req),
        sock,
        reused,
        timeout: timeout.map(ms),
    }
}

fn keep_alive() -> AgentOptions {
    AgentOptions {
        keep_alive: true,
        ..Default::default()
    }
}

// ------------------------------------------------------------ AGT-1, CONST-7 --

#[test]
fn agt1_defaults_are_node_v20s() {
    let o = AgentOptions::default();
    assert!(!o.keep_alive);
    assert_eq!(o.keep_alive_msecs, ms(1000));
    assert_eq!(o.max_sockets, None);
    assert_eq!(o.max_free_sockets, 256);
    assert_eq!(o.max_total_sockets, None);
    assert_eq!(o.scheduling, Scheduling::Lifo);
    assert_eq!(o.timeout, None);
    assert!(o.no_delay);
    assert_eq!(o.tcp_keep_alive(), None);
}

#[test]
fn agt1_falsy_values_fall_back_to_the_defaults() {
    // oracle: new Agent({keepAliveMsecs:0, maxSockets:0, maxFreeSockets:0}) → 1000 Infinity 256
    let o = AgentOptions {
        keep_alive_msecs: Duration::ZERO,
        max_sockets: Some(0),
        max_free_sockets: 0,
        ..Default::default()
    }
    .normalized()
    .unwrap();
    assert_eq!(o.keep_alive_msecs, ms(1000));
    assert_eq!(o.max_sockets, None);
    assert_eq!(o.max_free_sockets, 256);
}

#[test]
fn agt1_validation_errors_have_nodes_code_and_message() {
    // oracle: {maxTotalSockets:0} → ERR_OUT_OF_RANGE
    let e = Pool::<u32>::new(
        AgentOptions {
            max_total_sockets: Some(0),
            ..Default::default()
        },
        PoolOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "ERR_OUT_OF_RANGE");
    assert_eq!(
        e.to_string(),
        "The value of \"maxTotalSockets\" is out of range. It must be >= 1. Received 0"
    );
    // oracle: {scheduling:'x'} → ERR_INVALID_ARG_VALUE
    let e = Scheduling::parse("x").unwrap_err();
    assert_eq!(e.code(), "ERR_INVALID_ARG_VALUE");
    assert_eq!(
        e.to_string(),
        "The argument 'scheduling' must be one of: 'fifo', 'lifo'. Received 'x'"
    );
    assert_eq!(Scheduling::parse("lifo"), Ok(Scheduling::Lifo));
    assert_eq!(Scheduling::Fifo.as_str(), "fifo");
}

#[test]
fn agt1_cli11_persistent_capable_requests() {
    // CLI-11: keep-alive agent or finite maxSockets → Connection: keep-alive.
    assert!(AgentOptions::global().persistent_requests());
    assert!(!AgentOptions::default().persistent_requests());
    assert!(
        AgentOptions {
            max_sockets: Some(5),
            ..Default::default()
        }
        .persistent_requests()
    );
    assert!(
        !AgentOptions {
            max_sockets: Some(0),
            ..Default::default()
        }
        .persistent_requests()
    );
}

// -------------------------------------------------------------------- AGT-2 --

#[test]
fn agt2_global_agent_keeps_alive_with_a_5s_timeout() {
    // oracle: globalAgent → true 1000 Infinity 256 Infinity lifo 5000
    let o = AgentOptions::global();
    assert!(o.keep_alive);
    assert_eq!(o.timeout, Some(ms(5000)));
    assert_eq!(o.scheduling, Scheduling::Lifo);
    assert_eq!(o.tcp_keep_alive(), Some(ms(1000)));
    let mut p: Pool<u32> = Pool::global();
    let t0 = Instant::now();
    p.request(key("a", 1), ReqId(1), t0);
    let Some(Action::Connect { timeout, .. }) = p.poll_action() else {
        panic!()
    };
    assert_eq!(timeout, Some(ms(5000)));
}

#[test]
fn agt2_cli2_agent_false_is_a_one_off_default_agent() {
    // oracle: agent:false → keepAlive false, not the global agent, shouldKeepAlive false,
    // and nothing left in it after the response.
    let mut p: Pool<u32> = Pool::one_off();
    assert_eq!(p.options(), &AgentOptions::default());
    assert!(!p.options().persistent_requests());
    let t0 = Instant::now();
    p.request(key("a", 1), ReqId(1), t0);
    let Some(Action::Connect { ticket, .. }) = p.poll_action() else {
        panic!()
    };
    p.connected(ticket, 9, t0);
    p.poll_action();
    p.release(9, t0, Reusable::No);
    assert_eq!(p.poll_action(), Some(Action::Close(9)));
    assert_eq!(p.total_socket_count(), 0);
    assert!(p.sockets().is_empty() && p.free_sockets().is_empty());
}

// -------------------------------------------------------------------- AGT-3 --

#[test]
fn agt3_get_name() {
    let n = |o: NameOptions<'_>| o.get_name().as_str().to_owned();
    // oracle: each of these, printed by agent.getName(o)
    assert_eq!(n(NameOptions::default()), "localhost::");
    assert_eq!(
        n(NameOptions {
            host: Some("h"),
            port: Some(8),
            local_address: Some("1.2.3.4"),
            family: Some(6),
            ..Default::default()
        }),
        "h:8:1.2.3.4:6"
    );
    assert_eq!(
        n(NameOptions {
            host: Some("h"),
            family: Some(5),
            ..Default::default()
        }),
        "h::"
    );
    assert_eq!(
        n(NameOptions {
            socket_path: Some("/s"),
            ..Default::default()
        }),
        "localhost:::/s"
    );
    assert_eq!(
        n(NameOptions {
            port: Some(0),
            ..Default::default()
        }),
        "localhost::"
    );
    assert_eq!(
        n(NameOptions {
            host: Some(""),
            port: Some(80),
            ..Default::default()
        }),
        "localhost:80:"
    );
    assert_eq!(
        n(NameOptions {
            host: Some("h"),
            port: Some(8),
            family: Some(4),
            socket_path: Some("/s"),
            ..Default::default()
        }),
        "h:8::4:/s"
    );
    assert_eq!(
        n(NameOptions {
            local_address: Some("::1"),
            family: Some(6),
            ..Default::default()
        }),
        "localhost::::1:6"
    );
    // oracle: http.get({host:'127.0.0.1', port}) → '127.0.0.1:<port>:';
    // http.get({hostname:'localhost'}) → 'localhost:80:' (port defaults to 80 first, CLI-5)
    assert_eq!(key("127.0.0.1", 44279).as_str(), "127.0.0.1:44279:");
    assert_eq!(key("localhost", 80).as_str(), "localhost:80:");
    assert_eq!(format!("{:?}", key("a", 1)), "\"a:1:\"");
    assert_eq!(PoolKey::from_name("x:1:"), key("x", 1));
}

// -------------------------------------------------------------------- AGT-4 --

#[test]
fn agt4_views_and_total_count() {
    // oracle (maxTotalSockets:1, keepAlive, two names): while B waits,
    // sockets = {A: [S1], B: []}, requests = {B: [B]}, total 1. After A's response:
    // sockets = {B: [S2]}, free = {A: [S1]}, total 2; after B's: free {A:[S1]}, total 1.
    let mut h = H::new(AgentOptions {
        max_total_sockets: Some(1),
        ..keep_alive()
    });
    let (a, b) = (key("127.0.0.1", 1), key("localhost", 1));
    let s1 = h.fresh_socket(&a, 1);
    assert_eq!(h.add(&b, 2), vec![]);
    assert_eq!(
        h.sockets(),
        vec![
            ("127.0.0.1:1:".into(), vec![Slot::Socket(s1)]),
            ("localhost:1:".into(), vec![])
        ]
    );
    assert_eq!(h.requests(), vec![("localhost:1:".into(), vec![2])]);
    assert_eq!(h.pool.total_socket_count(), 1);
    assert_eq!(
        h.pool.request_state(ReqId(2)),
        Some(&RequestState::Queued(b.clone()))
    );

    let acts = h.release(s1, 10, Reusable::YES);
    assert!(
        matches!(acts[..], [Action::Connect { req: ReqId(2), .. }]),
        "{acts:?}"
    );
    assert!(matches!(
        h.sockets()[..],
        [(ref k, ref v)] if k == "localhost:1:" && matches!(v[..], [Slot::Connecting(_)])
    ));
    assert_eq!(h.free(), vec![("127.0.0.1:1:".into(), vec![s1])]);
    assert_eq!(h.pool.total_socket_count(), 2);
    assert_eq!(h.pool.socket_state(s1), Some(SocketState::Free));
    let s2 = h.up(2);
    assert_eq!(h.actions(), vec![assign(2, s2, false, None)]);
    assert_eq!(h.pool.socket_state(s2), Some(SocketState::InUse(ReqId(2))));
    assert_eq!(h.pool.socket_key(s2), Some(&b));

    // total 2 > maxTotalSockets 1: B's socket is not kept (AGT-7 step 4).
    assert_eq!(h.release(s2, 20, Reusable::YES), vec![Action::Close(s2)]);
    assert!(h.sockets().is_empty());
    assert!(h.requests().is_empty());
    assert_eq!(h.free(), vec![("127.0.0.1:1:".into(), vec![s1])]);
    assert_eq!(h.pool.total_socket_count(), 1);
}

// -------------------------------------------------------------------- AGT-5 --

#[test]
fn agt5_scheduling_lifo_and_fifo() {
    // oracle: three sockets freed in order A, B, C → lifo reuses C, fifo reuses A.
    for (sched, want) in [(Scheduling::Lifo, 2), (Scheduling::Fifo, 0)] {
        let mut h = H::new(AgentOptions {
            scheduling: sched,
            ..keep_alive()
        });
        let k = key("a", 1);
        let s: Vec<u32> = (1..=3).map(|r| h.fresh_socket(&k, r)).collect();
        for (i, &sock) in s.iter().enumerate() {
            assert_eq!(h.release(sock, i as u64, Reusable::YES), vec![]);
        }
        assert_eq!(h.free(), vec![("a:1:".into(), s.clone())]);
        // oracle: the reused socket's timeout is 0 for an agent without timeout.
        assert_eq!(h.add(&k, 4), vec![assign(4, s[want], true, None)]);
    }
}

#[test]
fn agt5_max_sockets_1_queues_and_serves_in_order_on_one_socket() {
    // oracle: maxSockets:1, three concurrent requests → one socket, two queued,
    // all served in order on it, reusedSocket false for all.
    let mut h = H::new(AgentOptions {
        max_sockets: Some(1),
        ..keep_alive()
    });
    let k = key("a", 1);
    let s = h.fresh_socket(&k, 1);
    assert_eq!(h.add(&k, 2), vec![]);
    assert_eq!(h.add(&k, 3), vec![]);
    assert_eq!(h.requests(), vec![("a:1:".into(), vec![2, 3])]);
    assert_eq!(
        h.release(s, 1, Reusable::YES),
        vec![assign(2, s, false, None)]
    );
    assert_eq!(
        h.release(s, 2, Reusable::YES),
        vec![assign(3, s, false, None)]
    );
    assert_eq!(h.release(s, 3, Reusable::YES), vec![]);
    assert_eq!(h.free(), vec![("a:1:".into(), vec![s])]);
    assert_eq!(h.pool.total_socket_count(), 1);
}

#[test]
fn agt5_max_total_sockets_across_names() {
    // oracle: maxTotalSockets:2, requests X1 Y1 X2 Y2 → one socket and one queued
    // request per name; afterwards both sockets free, total 2.
    let mut h = H::new(AgentOptions {
        max_total_sockets: Some(2),
        ..keep_alive()
    });
    let (x, y) = (key("x", 1), key("y", 1));
    let sx = h.fresh_socket(&x, 1);
    let sy = h.fresh_socket(&y, 2);
    assert_eq!(h.add(&x, 3), vec![]);
    assert_eq!(h.add(&y, 4), vec![]);
    assert_eq!(
        h.requests(),
        vec![("x:1:".into(), vec![3]), ("y:1:".into(), vec![4])]
    );
    assert_eq!(
        h.release(sx, 1, Reusable::YES),
        vec![assign(3, sx, false, None)]
    );
    assert_eq!(
        h.release(sy, 1, Reusable::YES),
        vec![assign(4, sy, false, None)]
    );
    assert_eq!(h.release(sx, 2, Reusable::YES), vec![]);
    assert_eq!(h.release(sy, 2, Reusable::YES), vec![]);
    assert_eq!(
        h.free(),
        vec![("x:1:".into(), vec![sx]), ("y:1:".into(), vec![sy])]
    );
    assert_eq!(h.pool.total_socket_count(), 2);
}

#[test]
fn agt5_connecting_sockets_count_towards_max_sockets() {
    let mut h = H::new(AgentOptions {
        max_sockets: Some(2),
        ..keep_alive()
    });
    let k = key("a", 1);
    assert_eq!(h.add(&k, 1).len(), 1);
    assert_eq!(h.add(&k, 2).len(), 1);
    assert_eq!(h.add(&k, 3), vec![]);
    assert_eq!(h.pool.total_socket_count(), 2);
    assert!(matches!(
        h.pool.request_state(ReqId(1)),
        Some(RequestState::Connecting(_))
    ));
}

#[test]
fn agt5_a_free_socket_of_another_key_still_blocks_the_total_cap() {
    // oracle: maxTotalSockets:1, P's socket free for name X, Q for name Y waits
    // (sockets {Y: []}, requests {Y: [Q]}, free {X: [S1]}, total 1) until the
    // server closes S1; then Q gets a new connection.
    let mut h = H::new(AgentOptions {
        max_total_sockets: Some(1),
        ..keep_alive()
    });
    let (x, y) = (key("x", 1), key("y", 1));
    let s1 = h.fresh_socket(&x, 1);
    h.release(s1, 0, Reusable::YES);
    assert_eq!(h.add(&y, 2), vec![]);
    assert_eq!(h.requests(), vec![("y:1:".into(), vec![2])]);
    assert!(h.pool.closed(s1));
    let a = h.actions();
    assert!(
        matches!(a[..], [Action::Connect { req: ReqId(2), .. }]),
        "{a:?}"
    );
    assert!(h.free().is_empty());
    assert_eq!(h.pool.total_socket_count(), 1);
}

// -------------------------------------------------------------------- AGT-6 --

#[test]
fn agt6_every_request_gets_its_socket_once() {
    let mut h = H::new(AgentOptions {
        max_sockets: Some(2),
        ..keep_alive()
    });
    let k = key("a", 1);
    let mut got: HashMap<u64, u32> = HashMap::new();
    for r in 1..=5 {
        for a in h.add(&k, r) {
            assert!(matches!(a, Action::Connect { .. }));
        }
    }
    let s1 = h.up(1);
    let s2 = h.up(2);
    let mut pending = h.actions();
    let mut t = 0;
    while let Some(a) = pending.pop() {
        let Action::Assign { req, sock, .. } = a else {
            panic!("{a:?}")
        };
        assert!(got.insert(req.0, sock).is_none(), "{req:?} assigned twice");
        t += 1;
        pending.extend(h.release(sock, t, Reusable::YES));
    }
    assert_eq!(got.len(), 5);
    assert!(got.values().all(|s| *s == s1 || *s == s2));
}

// -------------------------------------------------------------------- AGT-7 --

#[test]
fn agt7_not_reusable_closes_and_a_waiter_gets_a_new_connection() {
    // oracle: maxSockets:1, response with Connection: close → the socket is
    // destroyed; the waiting request N gets a new socket (S4), reusedSocket false.
    let mut h = H::new(AgentOptions {
        max_sockets: Some(1),
        ..keep_alive()
    });
    let k = key("a", 1);
    let s = h.fresh_socket(&k, 1);
    h.add(&k, 2);
    let a = h.release(s, 1, Reusable::No);
    assert!(
        matches!(a[..], [Action::Close(x), Action::Connect { req: ReqId(2), .. }] if x == s),
        "{a:?}"
    );
    let s2 = h.up(2);
    assert_eq!(h.actions(), vec![assign(2, s2, false, None)]);
}

#[test]
fn agt7_keep_alive_false_hands_over_to_waiters_then_closes() {
    // oracle: new Agent({keepAlive:false, maxSockets:1}), A B C → all on S7
    // (reusedSocket false), then the socket is destroyed: total 0.
    let mut h = H::new(AgentOptions {
        max_sockets: Some(1),
        ..Default::default()
    });
    let k = key("a", 1);
    let s = h.fresh_socket(&k, 1);
    h.add(&k, 2);
    h.add(&k, 3);
    assert_eq!(
        h.release(s, 1, Reusable::YES),
        vec![assign(2, s, false, None)]
    );
    assert_eq!(
        h.release(s, 2, Reusable::YES),
        vec![assign(3, s, false, None)]
    );
    assert_eq!(h.release(s, 3, Reusable::YES), vec![Action::Close(s)]);
    assert_eq!(h.pool.total_socket_count(), 0);
    assert!(h.sockets().is_empty() && h.free().is_empty());
}

#[test]
fn agt7_max_free_sockets() {
    // oracle: maxFreeSockets:1 with three concurrent requests → only the first
    // socket freed is kept; total 1.
    let mut h = H::new(AgentOptions {
        max_free_sockets: 1,
        ..keep_alive()
    });
    let k = key("a", 1);
    let s: Vec<u32> = (1..=3).map(|r| h.fresh_socket(&k, r)).collect();
    assert_eq!(h.release(s[0], 1, Reusable::YES), vec![]);
    assert_eq!(h.release(s[1], 2, Reusable::YES), vec![Action::Close(s[1])]);
    assert_eq!(h.release(s[2], 3, Reusable::YES), vec![Action::Close(s[2])]);
    assert_eq!(h.free(), vec![("a:1:".into(), vec![s[0]])]);
    assert_eq!(h.pool.total_socket_count(), 1);
}

#[test]
fn agt7_release_of_an_unknown_or_free_socket_is_ignored() {
    let mut h = H::new(keep_alive());
    let s = h.fresh_socket(&key("a", 1), 1);
    h.release(s, 0, Reusable::YES);
    assert!(!h.pool.release(s, h.at(1), Reusable::YES));
    assert!(!h.pool.release(99, h.at(1), Reusable::YES));
    assert_eq!(h.actions(), vec![]);
}

// -------------------------------------------------------------------- AGT-8 --

#[test]
fn agt8_keep_alive_hint_parsing() {
    let secs = |v: &[u8]| keep_alive_hint(v).map(|d| d.as_secs());
    assert_eq!(secs(b"timeout=5"), Some(5));
    assert_eq!(secs(b"timeout=3, max=5"), Some(3));
    assert_eq!(secs(b"timeout=3.9"), Some(3));
    assert_eq!(secs(b"max=5, timeout=3"), None);
    assert_eq!(secs(b"Timeout=3"), None);
    assert_eq!(secs(b" timeout=3"), None);
    assert_eq!(secs(b"timeout="), None);
    assert_eq!(secs(b"timeout=99999999999999999999999"), Some(u64::MAX));
    assert_eq!(
        Reusable::from_response(true, Some(b"timeout=5")),
        Reusable::Yes {
            keep_alive_hint: Some(Duration::from_secs(5))
        }
    );
    assert_eq!(Reusable::from_response(true, None), Reusable::YES);
    assert_eq!(
        Reusable::from_response(false, Some(b"timeout=5")),
        Reusable::No
    );
}

/// Releases one fresh socket of a keep-alive agent with `timeout` and the
/// response's `keep-alive` header; returns the free socket's deadline offset, or
/// `None` when it was closed, or `Some(None)` when it is kept without a deadline.
fn free_deadline(timeout: Option<u64>, header: &[u8]) -> Option<Option<Duration>> {
    let mut h = H::new(AgentOptions {
        timeout: timeout.map(ms),
        ..keep_alive()
    });
    let s = h.fresh_socket(&key("a", 1), 1);
    let acts = h.release(s, 0, Reusable::from_response(true, Some(header)));
    if acts == vec![Action::Close(s)] {
        assert_eq!(h.pool.total_socket_count(), 0);
        return None;
    }
    assert_eq!(acts, vec![]);
    Some(h.pool.poll_timeout().map(|d| d - h.t0))
}

#[test]
fn agt8_the_server_hint_shortens_the_free_socket_timeout_by_one_second() {
    // oracle: free-socket timeout after one response, per agent timeout and header:
    assert_eq!(
        free_deadline(Some(5000), b"timeout=3"),
        Some(Some(ms(2000)))
    );
    assert_eq!(free_deadline(Some(5000), b"timeout=1"), None); // not pooled
    assert_eq!(free_deadline(Some(5000), b"timeout=0"), None); // not pooled
    assert_eq!(
        free_deadline(Some(5000), b"max=5, timeout=3"),
        Some(Some(ms(5000)))
    );
    assert_eq!(free_deadline(None, b"timeout=3"), Some(None)); // a hint never adds one
    assert_eq!(
        free_deadline(Some(5000), b"timeout=3, max=5"),
        Some(Some(ms(2000)))
    );
    assert_eq!(
        free_deadline(Some(5000), b"timeout=99999999999999999999999"),
        Some(Some(ms(5000)))
    );
    assert_eq!(
        free_deadline(Some(5000), b"Timeout=3"),
        Some(Some(ms(5000)))
    );
    assert_eq!(
        free_deadline(Some(5000), b"timeout=3.9"),
        Some(Some(ms(2000)))
    );
    assert_eq!(free_deadline(Some(5000), b"timeout="), Some(Some(ms(5000))));
    // oracle: global agent against a Node server (Keep-Alive: timeout=5) → 4000.
    assert_eq!(
        free_deadline(Some(5000), b"timeout=5"),
        Some(Some(ms(4000)))
    );
    // CONST-8: the margin is exactly 1000 ms.
    assert_eq!(
        free_deadline(Some(60_000), b"timeout=2"),
        Some(Some(ms(1000)))
    );
}

#[test]
fn agt8_the_deadline_counts_from_the_release() {
    let mut h = H::new(AgentOptions::global());
    let s = h.fresh_socket(&key("a", 1), 1);
    h.release(s, 700, Reusable::YES);
    assert_eq!(h.pool.poll_timeout(), Some(h.at(5700)));
}

// -------------------------------------------------------------------- AGT-9 --

#[test]
fn agt9_free_socket_expires_at_its_deadline() {
    // oracle: timeout:100 → the free socket is gone after ~100 ms, total 0.
    let mut h = H::new(AgentOptions {
        timeout: Some(ms(100)),
        ..keep_alive()
    });
    let s = h.fresh_socket(&key("a", 1), 1);
    h.release(s, 0, Reusable::YES);
    h.pool.handle_timeout(h.at(99));
    assert_eq!(h.actions(), vec![]);
    assert_eq!(h.pool.total_socket_count(), 1);
    h.pool.handle_timeout(h.at(100));
    assert_eq!(h.actions(), vec![Action::Close(s)]);
    assert_eq!(h.pool.total_socket_count(), 0);
    assert_eq!(h.pool.poll_timeout(), None);
    assert!(h.free().is_empty());
}

#[test]
fn agt9_an_expired_socket_is_not_reused_even_if_the_timer_was_not_serviced() {
    let mut h = H::new(AgentOptions {
        timeout: Some(ms(100)),
        ..keep_alive()
    });
    let k = key("a", 1);
    let s = h.fresh_socket(&k, 1);
    h.release(s, 0, Reusable::YES);
    let a = h.add_with(&k, 2, RequestOptions::default(), 100);
    assert!(
        matches!(a[..], [Action::Close(x), Action::Connect { req: ReqId(2), .. }] if x == s),
        "{a:?}"
    );
}

#[test]
fn agt9_closed_free_socket_is_removed() {
    let mut h = H::new(keep_alive());
    let s = h.fresh_socket(&key("a", 1), 1);
    h.release(s, 0, Reusable::YES);
    assert!(h.pool.closed(s));
    assert_eq!(h.actions(), vec![]);
    assert_eq!(h.pool.total_socket_count(), 0);
    assert!(h.free().is_empty());
    assert!(!h.pool.closed(s));
}

#[test]
fn agt9_an_in_use_socket_that_dies_lets_a_waiter_connect() {
    // oracle: maxSockets:1, the server destroys K's socket → K gets ECONNRESET, the
    // waiting L gets a new socket (S5), which ends up free; total 1.
    let mut h = H::new(AgentOptions {
        max_sockets: Some(1),
        ..keep_alive()
    });
    let k = key("a", 1);
    let s = h.fresh_socket(&k, 1);
    h.add(&k, 2);
    assert!(h.pool.closed(s));
    let a = h.actions();
    assert!(
        matches!(a[..], [Action::Connect { req: ReqId(2), .. }]),
        "{a:?}"
    );
    let s2 = h.up(2);
    h.actions();
    h.release(s2, 1, Reusable::YES);
    assert_eq!(h.free(), vec![("a:1:".into(), vec![s2])]);
    assert_eq!(h.pool.total_socket_count(), 1);
}

#[test]
fn agt9_connect_failures_pass_on_to_the_next_waiter() {
    // oracle: maxSockets:1, A B C to a closed port → each gets its own socket in
    // turn and ECONNREFUSED; nothing left.
    let mut h = H::new(AgentOptions {
        max_sockets: Some(1),
        ..keep_alive()
    });
    let k = key("127.0.0.1", 1);
    h.add(&k, 1);
    h.add(&k, 2);
    h.add(&k, 3);
    let first = h.tickets[&ReqId(1)];
    for r in 1..=3 {
        let t = h.tickets.remove(&ReqId(r)).unwrap();
        assert_eq!(h.pool.connect_failed(t, h.t0), Some(ReqId(r)));
        let a = h.actions();
        if r < 3 {
            assert!(
                matches!(a[..], [Action::Connect { req: ReqId(n), .. }] if n == r + 1),
                "{a:?}"
            );
        } else {
            assert_eq!(a, vec![]);
        }
    }
    assert!(h.sockets().is_empty() && h.requests().is_empty());
    assert_eq!(h.pool.total_socket_count(), 0);
    assert_eq!(h.pool.connect_failed(first, h.t0), None, "already failed");
}

#[test]
fn agt9_only_the_first_waiting_key_is_considered() {
    // oracle: maxTotalSockets:2, X1 Y1 (sockets), X2 Z1 (queued). When Y1's socket
    // goes free, Z1 still waits: the first key of `requests` is X, which has a
    // socket in use. X1 → X2 (hand-over); when X2 frees its socket, Z1 finally gets a
    // new connection (total 3); Z1's socket is then closed (3 > 2); end: free
    // {Y: [S2], X: [S1]}, total 2.
    let mut h = H::new(AgentOptions {
        max_total_sockets: Some(2),
        ..keep_alive()
    });
    let (x, y, z) = (key("x", 1), key("y", 1), key("z", 1));
    let s1 = h.fresh_socket(&x, 1);
    let s2 = h.fresh_socket(&y, 2);
    h.add(&x, 3);
    h.add(&z, 4);
    assert_eq!(h.release(s2, 20, Reusable::YES), vec![]);
    assert_eq!(
        h.requests(),
        vec![("x:1:".into(), vec![3]), ("z:1:".into(), vec![4])]
    );
    assert_eq!(
        h.release(s1, 100, Reusable::YES),
        vec![assign(3, s1, false, None)]
    );
    let a = h.release(s1, 200, Reusable::YES);
    assert!(
        matches!(a[..], [Action::Connect { req: ReqId(4), .. }]),
        "{a:?}"
    );
    assert_eq!(h.pool.total_socket_count(), 3);
    let s3 = h.up(4);
    h.actions();
    assert_eq!(h.release(s3, 210, Reusable::YES), vec![Action::Close(s3)]);
    assert_eq!(
        h.free(),
        vec![("y:1:".into(), vec![s2]), ("x:1:".into(), vec![s1])]
    );
    assert_eq!(h.pool.total_socket_count(), 2);
}

// ------------------------------------------------------------------- AGT-10 --

#[test]
fn agt10_cli24_reused_only_from_the_free_list() {
    let mut h = H::new(AgentOptions {
        max_sockets: Some(1),
        ..keep_alive()
    });
    let k = key("a", 1);
    let s = h.fresh_socket(&k, 1); // new: false
    h.add(&k, 2);
    assert_eq!(
        h.release(s, 1, Reusable::YES),
        vec![assign(2, s, false, None)]
    ); // hand-over: false
    h.release(s, 2, Reusable::YES);
    assert_eq!(h.add(&k, 3), vec![assign(3, s, true, None)]); // free list: true
}

#[test]
fn agt10_agent_remove_detaches_without_closing() {
    // CLI-16: an upgraded socket leaves the agent; a waiter then connects.
    let mut h = H::new(AgentOptions {
        max_sockets: Some(1),
        ..keep_alive()
    });
    let k = key("a", 1);
    let s = h.fresh_socket(&k, 1);
    h.add(&k, 2);
    assert!(h.pool.detach(s));
    let a = h.actions();
    assert!(
        matches!(a[..], [Action::Connect { req: ReqId(2), .. }]),
        "{a:?}"
    );
    assert_eq!(h.pool.socket_state(s), None);
    assert_eq!(h.pool.total_socket_count(), 1);
}

// ------------------------------------------------------------------- AGT-11 --

#[test]
fn agt11_socket_timeouts_on_hand_over_and_reuse() {
    // oracle (keepAlive, maxSockets:1, timeout:5000, Node server hint timeout=5):
    // X new → 5000; Y handed over → 0; free → 4000; Z reused → 4000;
    // W reused with timeout 7000 → 7000; V reused with timeout 5000 (= agent's) → 4000.
    let mut h = H::new(AgentOptions {
        max_sockets: Some(1),
        timeout: Some(ms(5000)),
        ..keep_alive()
    });
    let k = key("a", 1);
    assert!(matches!(
        h.add(&k, 1)[..],
        [Action::Connect { timeout: Some(t), .. }] if t == ms(5000)
    ));
    h.add(&k, 2);
    let s = h.up(1);
    assert_eq!(h.actions(), vec![assign(1, s, false, Some(5000))]);
    assert_eq!(h.release(s, 10, hint(5)), vec![assign(2, s, false, None)]);
    assert_eq!(h.release(s, 20, hint(5)), vec![]);
    assert_eq!(h.pool.poll_timeout(), Some(h.at(4020)));
    assert_eq!(h.add(&k, 3), vec![assign(3, s, true, Some(4000))]);
    h.release(s, 30, hint(5));
    let own = |t| RequestOptions {
        timeout: Some(ms(t)),
        ..Default::default()
    };
    assert_eq!(
        h.add_with(&k, 4, own(7000), 30),
        vec![assign(4, s, true, Some(7000))]
    );
    h.release(s, 40, hint(5));
    assert_eq!(
        h.add_with(&k, 5, own(5000), 40),
        vec![assign(5, s, true, Some(4000))]
    );
}

#[test]
fn agt11_restore_timeout_on_reuse_is_opt_in() {
    let mut h = H::with(
        AgentOptions::global(),
        PoolOptions {
            restore_timeout_on_reuse: true,
            ..Default::default()
        },
    );
    let k = key("a", 1);
    let s = h.fresh_socket(&k, 1);
    h.release(s, 0, hint(5));
    assert_eq!(h.add(&k, 2), vec![assign(2, s, true, Some(5000))]);
}

#[test]
fn agt11_a_replacement_socket_inherits_the_closed_sockets_creation_timeout() {
    // oracle (keepAlive, maxSockets:1, no agent timeout, responses with
    // Connection: close): M (timeout 3000) → 3000; N (no timeout) gets a new socket
    // with 3000; K (timeout 0, equal to the agent's 0) gets one with 3000 too.
    let mut h = H::new(AgentOptions {
        max_sockets: Some(1),
        ..keep_alive()
    });
    let k = key("a", 1);
    let own = |t| RequestOptions {
        timeout: Some(ms(t)),
        ..Default::default()
    };
    assert!(matches!(
        h.add_with(&k, 1, own(3000), 0)[..],
        [Action::Connect { timeout: Some(t), .. }] if t == ms(3000)
    ));
    h.add(&k, 2);
    h.add_with(&k, 3, own(0), 0);
    let s = h.up(1);
    assert_eq!(h.actions(), vec![assign(1, s, false, Some(3000))]);
    let a = h.release(s, 10, Reusable::No);
    assert!(
        matches!(a[..], [Action::Close(_), Action::Connect { req: ReqId(2), timeout: Some(t), .. }] if t == ms(3000)),
        "{a:?}"
    );
    let s2 = h.up(2);
    assert_eq!(h.actions(), vec![assign(2, s2, false, Some(3000))]);
    let a = h.release(s2, 20, Reusable::No);
    assert!(
        matches!(a[..], [Action::Close(_), Action::Connect { req: ReqId(3), timeout: Some(t), .. }] if t == ms(3000)),
        "{a:?}"
    );
}

#[test]
fn agt11_agent_timeout_wins_at_creation_unless_the_request_differs() {
    let mut h = H::new(AgentOptions::global());
    let k = key("a", 1);
    let a = h.add_with(
        &k,
        1,
        RequestOptions {
            timeout: Some(ms(1000)),
            ..Default::default()
        },
        0,
    );
    assert!(matches!(a[..], [Action::Connect { timeout: Some(t), .. }] if t == ms(1000)));
    let a = h.add_with(
        &k,
        2,
        RequestOptions {
            timeout: Some(Duration::ZERO),
            ..Default::default()
        },
        0,
    );
    assert!(
        matches!(a[..], [Action::Connect { timeout: None, .. }]),
        "{a:?}"
    );
}

// ------------------------------------------------------------------- AGT-12 --

#[test]
fn agt12_destroy_closes_everything_and_waiters_reconnect() {
    // oracle: maxSockets:1, A in flight, B C waiting; agent.destroy() → A gets
    // ECONNRESET, B gets a new socket (S12), C stays queued and is served by hand-over.
    let mut h = H::new(AgentOptions {
        max_sockets: Some(1),
        ..keep_alive()
    });
    let k = key("a", 1);
    let s = h.fresh_socket(&k, 1);
    h.add(&k, 2);
    h.add(&k, 3);
    h.pool.destroy();
    let a = h.actions();
    assert!(
        matches!(a[..], [Action::Close(x), Action::Connect { req: ReqId(2), .. }] if x == s),
        "{a:?}"
    );
    assert_eq!(h.requests(), vec![("a:1:".into(), vec![3])]);
    let s2 = h.up(2);
    h.actions();
    assert_eq!(
        h.release(s2, 1, Reusable::YES),
        vec![assign(3, s2, false, None)]
    );
}

#[test]
fn agt12_destroy_order_free_first_then_in_use_and_connecting() {
    // oracle: a free socket is destroyed: free {} and total 0 afterwards.
    let mut h = H::new(keep_alive());
    let (a, b) = (key("a", 1), key("b", 1));
    let s1 = h.fresh_socket(&a, 1);
    let s2 = h.fresh_socket(&b, 2);
    h.release(s2, 0, Reusable::YES);
    let t = match h.add(&a, 3)[..] {
        [Action::Connect { ticket, .. }] => ticket,
        ref x => panic!("{x:?}"),
    };
    h.pool.destroy();
    assert_eq!(
        h.actions(),
        vec![Action::Close(s2), Action::Close(s1), Action::Abort(t)]
    );
    assert_eq!(h.pool.total_socket_count(), 0);
    assert!(h.sockets().is_empty() && h.free().is_empty());
    assert!(
        !h.pool.connected(t, 50, h.t0),
        "an aborted ticket is unknown"
    );
}

// --------------------------------------------------------- our additions --

#[test]
fn poisoned_free_socket_is_closed_and_never_handed_out() {
    let mut h = H::new(keep_alive());
    let k = key("a", 1);
    let s = h.fresh_socket(&k, 1);
    h.release(s, 0, Reusable::YES);
    assert!(h.pool.poisoned(s));
    assert_eq!(h.actions(), vec![Action::Close(s)]);
    let a = h.add(&k, 2);
    assert!(matches!(a[..], [Action::Connect { .. }]), "{a:?}");
    assert!(!h.pool.poisoned(s));
}

#[test]
fn cancel_removes_a_waiting_request() {
    // oracle: Node keeps a destroyed waiting request in agent.requests until a
    // socket reaches it (then it errors and the socket passes on); we remove it at
    // once (documented deviation), with the same hand-over result.
    let mut h = H::new(AgentOptions {
        max_sockets: Some(1),
        ..keep_alive()
    });
    let k = key("a", 1);
    let s = h.fresh_socket(&k, 1);
    h.add(&k, 2);
    h.add(&k, 3);
    assert!(h.pool.cancel(ReqId(2)));
    assert!(!h.pool.cancel(ReqId(2)));
    assert!(!h.pool.cancel(ReqId(1)), "not waiting");
    assert_eq!(h.requests(), vec![("a:1:".into(), vec![3])]);
    assert_eq!(
        h.release(s, 1, Reusable::YES),
        vec![assign(3, s, false, None)]
    );
}

#[test]
fn cancel_of_the_last_waiter_leaves_no_empty_entries() {
    let mut h = H::new(AgentOptions {
        max_total_sockets: Some(1),
        ..keep_alive()
    });
    h.fresh_socket(&key("a", 1), 1);
    h.add(&key("b", 1), 2);
    assert_eq!(h.sockets().len(), 2);
    h.pool.cancel(ReqId(2));
    assert_eq!(h.sockets().len(), 1);
    assert!(h.requests().is_empty());
}

#[test]
fn duplicate_request_ids_are_refused() {
    let mut h = H::new(keep_alive());
    h.add(&key("a", 1), 1);
    assert!(!h.pool.request(key("a", 1), ReqId(1), h.t0));
    assert_eq!(h.actions(), vec![]);
}

#[test]
fn retry_decisions() {
    let on = PoolOptions {
        retry: true,
        ..Default::default()
    };
    let stale = FailedExchange {
        reused_socket: true,
        connection_lost: true,
        ..Default::default()
    };
    // Off by default: Node never retries.
    assert_eq!(retry_decision(&PoolOptions::default(), &stale), Retry::No);
    assert_eq!(retry_decision(&on, &stale), Retry::FreshConnection);
    // Once only.
    let again = FailedExchange {
        retried: true,
        ..stale
    };
    assert_eq!(retry_decision(&on, &again), Retry::No);
    // A written POST on a reused socket: the server may have seen it.
    let written = FailedExchange {
        request_bytes_written: true,
        ..stale
    };
    assert_eq!(retry_decision(&on, &written), Retry::No);
    // ... but an idempotent request with a replayable body may go again,
    let get = FailedExchange {
        idempotent: true,
        body_replayable: true,
        ..written
    };
    assert_eq!(retry_decision(&on, &get), Retry::FreshConnection);
    // unless a response had started, or the failure is not a lost connection.
    let started = FailedExchange {
        response_bytes_received: true,
        ..get
    };
    assert_eq!(retry_decision(&on, &started), Retry::No);
    let timeout = FailedExchange {
        connection_lost: false,
        ..get
    };
    assert_eq!(retry_decision(&on, &timeout), Retry::No);
    for m in ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"] {
        assert!(is_idempotent(m.as_bytes()), "{m}");
    }
    for m in ["POST", "PATCH", "CONNECT", "get"] {
        assert!(!is_idempotent(m.as_bytes()), "{m}");
    }
    let p: Pool<u32> = Pool::new(AgentOptions::global(), on).unwrap();
    assert_eq!(p.retry_decision(&stale), Retry::FreshConnection);
}

#[test]
fn a_fresh_request_skips_and_closes_the_free_sockets() {
    let mut h = H::new(AgentOptions::global());
    let k = key("a", 1);
    let s1 = h.fresh_socket(&k, 1);
    let s2 = h.fresh_socket(&k, 2);
    h.release(s1, 0, Reusable::YES);
    h.release(s2, 0, Reusable::YES);
    let a = h.add_with(
        &k,
        3,
        RequestOptions {
            fresh: true,
            ..Default::default()
        },
        1,
    );
    assert!(
        matches!(a[..], [Action::Close(x), Action::Close(y), Action::Connect { req: ReqId(3), .. }] if x == s1 && y == s2),
        "{a:?}"
    );
    assert_eq!(h.pool.total_socket_count(), 1);
}

// ------------------------------------------------------ reference model --

/// A literal transcription of the bookkeeping in Node v20's `_http_agent.js`
/// (`addRequest`, the `'free'` handler, `removeSocket`, `keepSocketAlive`,
/// `destroy`) over JS-like objects: `(name, list)` pairs in key insertion order,
/// lists spliced by `indexOf`. Times are milliseconds since `t0`. It includes the
/// pool's documented differences (immediate removal, cancel, poison, fresh).
mod model {
    use std::collections::HashMap;

    #[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
    pub(super) enum H {
        T(u64),
        S(u32),
    }

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub(super) enum Out {
        Connect {
            req: u64,
            ticket: u64,
            timeout: u64,
        },
        Assign {
            req: u64,
            sock: u32,
            reused: bool,
            timeout: u64,
        },
        Close(u32),
        Abort(u64),
    }

    #[derive(Clone, Debug)]
    struct Sock {
        key: String,
        created_with: u64,
        req: u64,
        rt: Option<u64>,
        timeout: u64,
        /// `(deadline, release order)` while free with a timeout.
        deadline: Option<(u64, u64)>,
    }

    type Obj<T> = Vec<(String, Vec<T>)>;

    fn get<'a, T>(o: &'a mut Obj<T>, k: &str) -> Option<&'a mut Vec<T>> {
        o.iter_mut().find(|e| e.0 == k).map(|e| &mut e.1)
    }

    fn len<T>(o: &Obj<T>, k: &str) -> usize {
        o.iter().find(|e| e.0 == k).map_or(0, |e| e.1.len())
    }

    fn entry<'a, T>(o: &'a mut Obj<T>, k: &str) -> &'a mut Vec<T> {
        if let Some(i) = o.iter().position(|e| e.0 == k) {
            return &mut o[i].1;
        }
        o.push((k.to_owned(), Vec::new()));
        &mut o.last_mut().unwrap().1
    }

    fn delete_if_empty<T>(o: &mut Obj<T>, k: &str) {
        o.retain(|e| e.0 != k || !e.1.is_empty());
    }

    fn splice<T: PartialEq>(o: &mut Obj<T>, k: &str, x: &T) {
        if let Some(l) = get(o, k) {
            if let Some(i) = l.iter().position(|y| y == x) {
                l.remove(i);
                delete_if_empty(o, k);
            }
        }
    }

    pub(super) struct Model {
        pub(super) keep_alive: bool,
        pub(super) max_sockets: usize,
        pub(super) max_free: usize,
        pub(super) max_total: usize,
        pub(super) fifo: bool,
        pub(super) agent_timeout: Option<u64>,
        pub(super) restore: bool,
        pub(super) sockets: Obj<H>,
        pub(super) free: Obj<u32>,
        pub(super) requests: Obj<(u64, Option<u64>)>,
        pub(super) total: usize,
        info: HashMap<H, Sock>,
        next_ticket: u64,
        releases: u64,
        pub(super) out: Vec<Out>,
    }

    impl Model {
        pub(super) fn new(
            keep_alive: bool,
            max_sockets: usize,
            max_free: usize,
            max_total: usize,
            fifo: bool,
            agent_timeout: Option<u64>,
            restore: bool,
        ) -> Self {
            Self {
                keep_alive,
                max_sockets,
                max_free,
                max_total,
                fifo,
                agent_timeout,
                restore,
                sockets: Vec::new(),
                free: Vec::new(),
                requests: Vec::new(),
                total: 0,
                info: HashMap::new(),
                next_ticket: 0,
                releases: 0,
                out: Vec::new(),
            }
        }

        fn agent_t0(&self) -> u64 {
            self.agent_timeout.unwrap_or(0)
        }

        /// `options.timeout` of createConnection: `{...request, ...agent.options}`.
        fn creation(&self, rt: Option<u64>) -> u64 {
            self.agent_timeout.or(rt).unwrap_or(0)
        }

        /// setRequestSocket.
        fn apply(&self, base: u64, rt: Option<u64>) -> u64 {
            match rt {
                Some(t) if t != self.agent_t0() => t,
                _ => base,
            }
        }

        pub(super) fn add_request(&mut self, key: &str, req: u64, rt: Option<u64>, fresh: bool) {
            if fresh {
                while let Some(&s) = get(&mut self.free, key).and_then(|l| l.first()) {
                    self.destroy_socket(s);
                }
            }
            entry(&mut self.sockets, key);
            let mut sock = None;
            if !fresh {
                if let Some(l) = get(&mut self.free, key) {
                    sock = if self.fifo {
                        Some(l.remove(0))
                    } else {
                        l.pop()
                    };
                    delete_if_empty(&mut self.free, key);
                }
            }
            let sock_len = len(&self.sockets, key) + len(&self.free, key);
            if let Some(s) = sock {
                let i = self.info.get(&H::S(s)).unwrap().clone();
                let timeout = if self.restore {
                    self.apply(self.creation(rt), rt)
                } else {
                    self.apply(i.timeout, rt)
                };
                let e = self.info.get_mut(&H::S(s)).unwrap();
                e.req = req;
                e.rt = rt;
                e.timeout = timeout;
                e.deadline = None;
                entry(&mut self.sockets, key).push(H::S(s));
                self.out.push(Out::Assign {
                    req,
                    sock: s,
                    reused: true,
                    timeout,
                });
            } else if sock_len < self.max_sockets && self.total < self.max_total {
                let cw = self.creation(rt);
                self.create(key, req, rt, cw);
            } else {
                entry(&mut self.requests, key).push((req, rt));
            }
        }

        fn create(&mut self, key: &str, req: u64, rt: Option<u64>, created_with: u64) {
            let t = self.next_ticket;
            self.next_ticket += 1;
            self.total += 1;
            entry(&mut self.sockets, key).push(H::T(t));
            let timeout = self.apply(created_with, rt);
            self.info.insert(
                H::T(t),
                Sock {
                    key: key.to_owned(),
                    created_with,
                    req,
                    rt,
                    timeout,
                    deadline: None,
                },
            );
            self.out.push(Out::Connect {
                req,
                ticket: t,
                timeout,
            });
        }

        pub(super) fn connected(&mut self, t: u64, s: u32) {
            let i = self.info.remove(&H::T(t)).unwrap();
            let l = get(&mut self.sockets, &i.key).unwrap();
            let at = l.iter().position(|h| *h == H::T(t)).unwrap();
            l[at] = H::S(s);
            self.out.push(Out::Assign {
                req: i.req,
                sock: s,
                reused: false,
                timeout: i.timeout,
            });
            self.info.insert(H::S(s), i);
        }

        pub(super) fn connect_failed(&mut self, t: u64) -> u64 {
            let req = self.info[&H::T(t)].req;
            self.on_close(H::T(t));
            req
        }

        /// The socket's `'close'` listener: count, removeSocket.
        fn on_close(&mut self, h: H) {
            let i = self.info.remove(&h).unwrap();
            self.total -= 1;
            splice(&mut self.sockets, &i.key, &h);
            if let H::S(s) = h {
                splice(&mut self.free, &i.key, &s);
            }
            self.remove_socket(&i.key, i.created_with);
        }

        /// The tail of removeSocket.
        fn remove_socket(&mut self, key: &str, created_with: u64) {
            if len(&self.requests, key) > 0 {
                let (req, rt) = get(&mut self.requests, key).unwrap().remove(0);
                delete_if_empty(&mut self.requests, key);
                self.create(key, req, rt, created_with);
                return;
            }
            let Some(first) = self.requests.first().map(|e| e.0.clone()) else {
                return;
            };
            if len(&self.sockets, &first) > 0 {
                return;
            }
            let (req, rt) = get(&mut self.requests, &first).unwrap().remove(0);
            delete_if_empty(&mut self.requests, &first);
            let cw = self.creation(rt);
            self.create(&first, req, rt, cw);
        }

        fn destroy_socket(&mut self, s: u32) {
            self.out.push(Out::Close(s));
            self.on_close(H::S(s));
        }

        /// `None`: no hint, `Some(None)`: not reusable, `Some(Some(secs))`: hint.
        pub(super) fn release(&mut self, s: u32, now: u64, reusable: Option<Option<u64>>) {
            let Some(hint) = reusable else {
                self.destroy_socket(s);
                return;
            };
            let i = self.info[&H::S(s)].clone();
            let key = i.key.clone();
            if len(&self.requests, &key) > 0 {
                let (req, rt) = get(&mut self.requests, &key).unwrap().remove(0);
                delete_if_empty(&mut self.requests, &key);
                let base = if i.rt.is_some() || self.agent_t0() > 0 {
                    0
                } else {
                    i.timeout
                };
                let timeout = self.apply(base, rt);
                let e = self.info.get_mut(&H::S(s)).unwrap();
                e.req = req;
                e.rt = rt;
                e.timeout = timeout;
                self.out.push(Out::Assign {
                    req,
                    sock: s,
                    reused: false,
                    timeout,
                });
                return;
            }
            if !self.keep_alive {
                self.destroy_socket(s);
                return;
            }
            let free_len = len(&self.free, &key);
            let count = free_len + len(&self.sockets, &key);
            if self.total > self.max_total || count > self.max_sockets || free_len >= self.max_free
            {
                self.destroy_socket(s);
                return;
            }
            // keepSocketAlive
            let mut t = self.agent_t0();
            if let Some(secs) = hint {
                let h = (secs * 1000).saturating_sub(1000);
                if h == 0 {
                    self.destroy_socket(s);
                    return;
                }
                if h < t {
                    t = h;
                }
            }
            entry(&mut self.free, &key);
            splice(&mut self.sockets, &key, &H::S(s));
            self.releases += 1;
            let e = self.info.get_mut(&H::S(s)).unwrap();
            e.timeout = t;
            e.deadline = (t > 0).then_some((now + t, self.releases));
            self.remove_socket(&key, i.created_with);
            entry(&mut self.free, &key).push(s);
        }

        pub(super) fn closed(&mut self, s: u32) {
            if self.info.contains_key(&H::S(s)) {
                self.on_close(H::S(s));
            }
        }

        pub(super) fn poisoned(&mut self, s: u32) {
            if self.info.contains_key(&H::S(s)) {
                self.destroy_socket(s);
            }
        }

        pub(super) fn cancel(&mut self, req: u64) {
            let Some(key) = self
                .requests
                .iter()
                .find(|e| e.1.iter().any(|w| w.0 == req))
                .map(|e| e.0.clone())
            else {
                return;
            };
            get(&mut self.requests, &key)
                .unwrap()
                .retain(|w| w.0 != req);
            if len(&self.requests, &key) == 0 {
                delete_if_empty(&mut self.requests, &key);
                delete_if_empty(&mut self.sockets, &key);
            }
        }

        pub(super) fn destroy(&mut self) {
            let mut hs = Vec::new();
            for (_, l) in &self.free {
                hs.extend(l.iter().map(|&s| H::S(s)));
            }
            for (_, l) in &self.sockets {
                hs.extend(l.iter().copied());
            }
            for h in &hs {
                self.out.push(match *h {
                    H::T(t) => Out::Abort(t),
                    H::S(s) => Out::Close(s),
                });
            }
            for h in hs {
                self.on_close(h);
            }
        }

        pub(super) fn next_deadline(&self) -> Option<(u64, u64, u32)> {
            self.info
                .iter()
                .filter_map(|(h, i)| match (h, i.deadline) {
                    (H::S(s), Some((d, n))) if self.is_free(*s) => Some((d, n, *s)),
                    _ => None,
                })
                .min()
        }

        fn is_free(&self, s: u32) -> bool {
            self.free.iter().any(|e| e.1.contains(&s))
        }

        pub(super) fn expire(&mut self, now: u64) {
            while let Some((d, _, s)) = self.next_deadline() {
                if d > now {
                    break;
                }
                self.destroy_socket(s);
            }
        }
    }
}

mod properties {
    use super::model::{H as MH, Model, Out};
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Req { key: u8, timeout: u8, fresh: bool },
        Up(u8),
        Fail(u8),
        Release { pick: u8, how: u8 },
        Close(u8),
        Poison(u8),
        Cancel(u8),
        Advance(u16),
        Destroy,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u8..3, 0u8..6, prop::bool::weighted(0.1))
                .prop_map(|(key, timeout, fresh)| Op::Req { key, timeout, fresh }),
            4 => any::<u8>().prop_map(Op::Up),
            1 => any::<u8>().prop_map(Op::Fail),
            5 => (any::<u8>(), 0u8..7).prop_map(|(pick, how)| Op::Release { pick, how }),
            1 => any::<u8>().prop_map(Op::Close),
            1 => any::<u8>().prop_map(Op::Poison),
            1 => any::<u8>().prop_map(Op::Cancel),
            2 => (0u16..6000).prop_map(Op::Advance),
            1 => Just(Op::Destroy),
        ]
    }

    #[derive(Debug, Clone)]
    struct Cfg {
        keep_alive: bool,
        max_sockets: usize,
        max_free: usize,
        max_total: usize,
        fifo: bool,
        timeout: Option<u64>,
        restore: bool,
    }

    fn cfg() -> impl Strategy<Value = Cfg> {
        (
            any::<bool>(),
            0usize..4,
            prop::sample::select(vec![1usize, 2, 256]),
            0usize..4,
            any::<bool>(),
            prop::sample::select(vec![None, Some(0u64), Some(1000), Some(5000)]),
            prop::bool::weighted(0.2),
        )
            .prop_map(
                |(keep_alive, max_sockets, max_free, max_total, fifo, timeout, restore)| Cfg {
                    keep_alive,
                    max_sockets,
                    max_free,
                    max_total,
                    fifo,
                    timeout,
                    restore,
                },
            )
    }

    const KEYS: [&str; 3] = ["a:1:", "b:1:", "c:1:"];
    const REQ_TIMEOUTS: [Option<u64>; 6] = [None, None, None, Some(1000), Some(5000), Some(0)];
    const HOW: [Option<Option<u64>>; 7] = [
        None,
        Some(None),
        Some(None),
        Some(Some(1)),
        Some(Some(3)),
        Some(Some(5)),
        Some(Some(60)),
    ];

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Fate {
        Pending,
        Assigned,
        Failed,
        Cancelled,
    }

    struct Run {
        cfg: Cfg,
        pool: Pool<u32>,
        model: Model,
        t0: Instant,
        now: u64,
        next_req: u64,
        next_sock: u32,
        fate: HashMap<u64, Fate>,
        /// Requests bound to a ticket, and running on a socket.
        on_ticket: HashMap<u64, u64>,
        on_sock: HashMap<u32, u64>,
    }

    fn norm(a: Action<u32>) -> Out {
        let t = |d: Option<Duration>| d.map_or(0, |d| d.as_millis() as u64);
        match a {
            Action::Connect {
                req,
                ticket,
                timeout,
                ..
            } => Out::Connect {
                req: req.0,
                ticket: ticket.get(),
                timeout: t(timeout),
            },
            Action::Assign {
                req,
                sock,
                reused,
                timeout,
            } => Out::Assign {
                req: req.0,
                sock,
                reused,
                timeout: t(timeout),
            },
            Action::Close(s) => Out::Close(s),
            Action::Abort(t) => Out::Abort(t.get()),
            a => panic!("unexpected {a:?}"),
        }
    }

    impl Run {
        fn new(cfg: Cfg) -> Self {
            let opts = AgentOptions {
                keep_alive: cfg.keep_alive,
                max_sockets: (cfg.max_sockets > 0).then_some(cfg.max_sockets),
                max_free_sockets: cfg.max_free,
                max_total_sockets: (cfg.max_total > 0).then_some(cfg.max_total),
                scheduling: if cfg.fifo {
                    Scheduling::Fifo
                } else {
                    Scheduling::Lifo
                },
                timeout: cfg.timeout.map(ms),
                ..Default::default()
            };
            let pool = Pool::new(
                opts,
                PoolOptions {
                    restore_timeout_on_reuse: cfg.restore,
                    ..Default::default()
                },
            )
            .unwrap();
            let lim = |n: usize| if n == 0 { usize::MAX } else { n };
            let model = Model::new(
                cfg.keep_alive,
                lim(cfg.max_sockets),
                cfg.max_free,
                lim(cfg.max_total),
                cfg.fifo,
                cfg.timeout,
                cfg.restore,
            );
            Self {
                cfg,
                pool,
                model,
                t0: Instant::now(),
                now: 0,
                next_req: 1,
                next_sock: 1,
                fate: HashMap::new(),
                on_ticket: HashMap::new(),
                on_sock: HashMap::new(),
            }
        }

        fn tickets(&self) -> Vec<Ticket> {
            let mut v: Vec<_> = self
                .pool
                .sockets()
                .into_iter()
                .flat_map(|(_, l)| l)
                .filter_map(|s| match s {
                    Slot::Connecting(t) => Some(t),
                    Slot::Socket(_) => None,
                })
                .collect();
            v.sort();
            v
        }

        fn in_use(&self) -> Vec<u32> {
            let mut v: Vec<_> = self
                .pool
                .sockets()
                .into_iter()
                .flat_map(|(_, l)| l)
                .filter_map(|s| match s {
                    Slot::Socket(s) => Some(s),
                    Slot::Connecting(_) => None,
                })
                .collect();
            v.sort();
            v
        }

        fn all_socks(&self) -> Vec<u32> {
            let mut v = self.in_use();
            v.extend(self.pool.free_sockets().into_iter().flat_map(|(_, l)| l));
            v.sort();
            v
        }

        fn queued(&self) -> Vec<u64> {
            let mut v: Vec<_> = self
                .pool
                .requests()
                .into_iter()
                .flat_map(|(_, l)| l)
                .map(|r| r.0)
                .collect();
            v.sort();
            v
        }

        fn pick<T: Copy>(v: &[T], i: u8) -> Option<T> {
            (!v.is_empty()).then(|| v[usize::from(i) % v.len()])
        }

        fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
            let before_requests = self.pool.requests();
            let before_free = self.pool.free_sockets();
            let total_before = self.pool.total_socket_count();
            let mut new_req = None;
            let mut cancelled = None;
            let at = self.t0 + ms(self.now);
            match *op {
                Op::Req {
                    key,
                    timeout,
                    fresh,
                } => {
                    let r = self.next_req;
                    self.next_req += 1;
                    new_req = Some((usize::from(key), r, fresh));
                    let rt = REQ_TIMEOUTS[usize::from(timeout)];
                    self.fate.insert(r, Fate::Pending);
                    let k = PoolKey::from_name(KEYS[usize::from(key)]);
                    let o = RequestOptions {
                        timeout: rt.map(ms),
                        fresh,
                    };
                    prop_assert!(self.pool.request_with(k, ReqId(r), o, at));
                    self.model.add_request(KEYS[usize::from(key)], r, rt, fresh);
                }
                Op::Up(i) => {
                    if let Some(t) = Self::pick(&self.tickets(), i) {
                        let s = self.next_sock;
                        self.next_sock += 1;
                        prop_assert!(self.pool.connected(t, s, at));
                        self.model.connected(t.get(), s);
                    }
                }
                Op::Fail(i) => {
                    if let Some(t) = Self::pick(&self.tickets(), i) {
                        let r = self.pool.connect_failed(t, at);
                        let m = self.model.connect_failed(t.get());
                        prop_assert_eq!(r, Some(ReqId(m)));
                        self.fate.insert(m, Fate::Failed);
                        self.on_ticket.remove(&t.get());
                    }
                }
                Op::Release { pick, how } => {
                    if let Some(s) = Self::pick(&self.in_use(), pick) {
                        let how = HOW[usize::from(how)];
                        let r = match how {
                            None => Reusable::No,
                            Some(h) => Reusable::Yes {
                                keep_alive_hint: h.map(Duration::from_secs),
                            },
                        };
                        prop_assert!(self.pool.release(s, at, r));
                        self.model.release(s, self.now, how);
                        self.on_sock.remove(&s);
                    }
                }
                Op::Close(i) => {
                    if let Some(s) = Self::pick(&self.all_socks(), i) {
                        prop_assert!(self.pool.closed(s));
                        self.model.closed(s);
                        if let Some(r) = self.on_sock.remove(&s) {
                            self.fate.insert(r, Fate::Failed);
                        }
                    }
                }
                Op::Poison(i) => {
                    if let Some(s) = Self::pick(&self.all_socks(), i) {
                        prop_assert!(self.pool.poisoned(s));
                        self.model.poisoned(s);
                    }
                }
                Op::Cancel(i) => {
                    if let Some(r) = Self::pick(&self.queued(), i) {
                        prop_assert!(self.pool.cancel(ReqId(r)));
                        self.model.cancel(r);
                        self.fate.insert(r, Fate::Cancelled);
                        cancelled = Some(r);
                    }
                }
                Op::Advance(d) => {
                    self.now += u64::from(d);
                    self.pool.handle_timeout(self.t0 + ms(self.now));
                    self.model.expire(self.now);
                }
                Op::Destroy => {
                    self.pool.destroy();
                    self.model.destroy();
                }
            }

            // Same actions as the reference model.
            let mut got = Vec::new();
            while let Some(a) = self.pool.poll_action() {
                got.push(norm(a));
            }
            let want = std::mem::take(&mut self.model.out);
            prop_assert_eq!(&got, &want, "actions after {:?}", op);
            self.track(&got);

            // Same views.
            let sockets: Vec<(String, Vec<MH>)> = self
                .pool
                .sockets()
                .into_iter()
                .map(|(k, l)| {
                    let l = l
                        .into_iter()
                        .map(|s| match s {
                            Slot::Connecting(t) => MH::T(t.get()),
                            Slot::Socket(s) => MH::S(s),
                        })
                        .collect();
                    (k.to_string(), l)
                })
                .collect();
            prop_assert_eq!(&sockets, &self.model.sockets);
            let free: Vec<(String, Vec<u32>)> = self
                .pool
                .free_sockets()
                .into_iter()
                .map(|(k, l)| (k.to_string(), l))
                .collect();
            prop_assert_eq!(&free, &self.model.free);
            let requests: Vec<(String, Vec<u64>)> = self
                .pool
                .requests()
                .into_iter()
                .map(|(k, l)| (k.to_string(), l.into_iter().map(|r| r.0).collect()))
                .collect();
            let model_requests: Vec<(String, Vec<u64>)> = self
                .model
                .requests
                .iter()
                .map(|(k, l)| (k.clone(), l.iter().map(|w| w.0).collect()))
                .collect();
            prop_assert_eq!(&requests, &model_requests);
            prop_assert_eq!(self.pool.total_socket_count(), self.model.total);
            prop_assert_eq!(
                self.pool.poll_timeout(),
                self.model.next_deadline().map(|(d, _, _)| self.t0 + ms(d))
            );

            self.invariants(&free)?;

            // A request connects by itself only under both caps (AGT-5).
            if let Some((key, r, false)) = new_req {
                if got
                    .iter()
                    .any(|a| matches!(a, Out::Connect { req, .. } if *req == r))
                {
                    let k = KEYS[key];
                    let active_free = before_free
                        .iter()
                        .filter(|(n, _)| n.as_str() == k)
                        .map(|(_, l)| l.len())
                        .sum::<usize>();
                    prop_assert_eq!(active_free, 0);
                    prop_assert!(self.cfg.max_total == 0 || total_before < self.cfg.max_total);
                }
                // Reuse order: lifo takes the last freed, fifo the first.
                if let Some(Out::Assign { sock, .. }) = got
                    .iter()
                    .find(|a| matches!(a, Out::Assign { req, reused: true, .. } if *req == r))
                {
                    let list = &before_free
                        .iter()
                        .find(|(n, _)| n.as_str() == KEYS[key])
                        .expect("a free list before reuse")
                        .1;
                    let want = if self.cfg.fifo {
                        list.first()
                    } else {
                        list.last()
                    };
                    prop_assert_eq!(Some(sock), want);
                }
            }
            // Only a request op reuses a free socket.
            if !matches!(op, Op::Req { fresh: false, .. }) {
                let reused = got
                    .iter()
                    .any(|a| matches!(a, Out::Assign { reused: true, .. }));
                prop_assert!(!reused, "reuse outside a request: {:?}", got);
            }
            // Waiting requests leave their key's queue in arrival order.
            let after: HashMap<String, Vec<u64>> = requests.into_iter().collect();
            for (k, before) in &before_requests {
                let before: Vec<u64> = before
                    .iter()
                    .map(|r| r.0)
                    .filter(|r| Some(*r) != cancelled)
                    .collect();
                let mut now: Vec<u64> = after.get(k.as_str()).cloned().unwrap_or_default();
                if let Some((key, r, _)) = new_req {
                    if KEYS[key] == k.as_str() && now.last() == Some(&r) {
                        now.pop();
                    }
                }
                prop_assert!(
                    before.ends_with(&now),
                    "queue of {} went from {:?} to {:?}",
                    k,
                    before,
                    now
                );
            }
            Ok(())
        }

        fn track(&mut self, got: &[Out]) {
            for a in got {
                match *a {
                    Out::Connect { req, ticket, .. } => {
                        self.on_ticket.insert(ticket, req);
                    }
                    Out::Assign { req, sock, .. } => {
                        self.fate.insert(req, Fate::Assigned);
                        self.on_sock.insert(sock, req);
                    }
                    Out::Close(s) => {
                        self.on_sock.remove(&s);
                    }
                    Out::Abort(t) => {
                        if let Some(r) = self.on_ticket.remove(&t) {
                            self.fate.insert(r, Fate::Failed);
                        }
                    }
                }
            }
        }

        fn invariants(&self, free: &[(String, Vec<u32>)]) -> Result<(), TestCaseError> {
            let sockets = self.pool.sockets();
            let mut seen = std::collections::HashSet::new();
            let mut count = 0;
            for (k, l) in &sockets {
                for s in l {
                    prop_assert!(seen.insert(*s), "{:?} twice", s);
                    count += 1;
                }
                let f = free
                    .iter()
                    .find(|(n, _)| n == k.as_str())
                    .map_or(0, |e| e.1.len());
                if self.cfg.max_sockets > 0 {
                    prop_assert!(l.len() + f <= self.cfg.max_sockets, "maxSockets for {}", k);
                }
            }
            for (k, l) in free {
                for s in l {
                    prop_assert!(seen.insert(Slot::Socket(*s)), "{} free and in use", s);
                    prop_assert_eq!(self.pool.socket_state(*s), Some(SocketState::Free));
                    count += 1;
                }
                if self.cfg.max_sockets > 0 && !sockets.iter().any(|(n, _)| n.as_str() == k) {
                    prop_assert!(l.len() <= self.cfg.max_sockets);
                }
            }
            prop_assert_eq!(count, self.pool.total_socket_count());
            // Node's maxTotalSockets can be passed by one: a socket that joins the
            // free list opens a connection for another key without checking it.
            if self.cfg.max_total > 0 {
                prop_assert!(self.pool.total_socket_count() <= self.cfg.max_total + 1);
            }
            Ok(())
        }

        /// Keeps providing sockets until nothing waits: connect every attempt,
        /// finish every exchange, and when only free sockets of other keys block
        /// the queue, let the server close one (or let time pass).
        fn settle(&mut self) -> Result<(), TestCaseError> {
            for _ in 0..500 {
                let ops = if let Some(&t) = self.tickets().first() {
                    let _ = t;
                    vec![Op::Up(0)]
                } else if !self.in_use().is_empty() {
                    vec![Op::Release { pick: 0, how: 1 }]
                } else if !self.queued().is_empty() {
                    let free = self.all_socks();
                    prop_assert!(!free.is_empty(), "requests wait with no socket at all");
                    vec![Op::Close(0)]
                } else {
                    break;
                };
                for op in &ops {
                    self.step(op)?;
                }
            }
            for (r, f) in &self.fate {
                prop_assert!(*f != Fate::Pending, "request {} never served", r);
            }
            Ok(())
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// The pool against the reference model, with the invariants checked after
        /// every step and liveness at the end.
        #[test]
        fn pool_matches_the_reference_model(cfg in cfg(), ops in prop::collection::vec(op(), 1..60)) {
            let mut run = Run::new(cfg);
            for op in &ops {
                run.step(op)?;
            }
            run.settle()?;
        }
    }
}
