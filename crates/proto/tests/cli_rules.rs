//! The client connection machine against the response-side rules of the Node v20
//! specification (CLI-15 … CLI-27) and the reuse reporting the Agent pool needs
//! (AGT-7, AGT-8), on a virtual clock. Event orders are Node's request/response
//! events as the specification lists them (observed on Node v20.20.2); the
//! whole-exchange results are also checked against Node by `cargo xtask diff client`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use courier_proto::ErrorKind;
use courier_proto::agent::{
    Action, FailedExchange, NameOptions, Pool, PoolOptions, ReqId, Retry, Reusable, retry_decision,
};
use courier_proto::client::{
    Assignment, ClientConfig, ClientConn, ClientError, ClientEvent, Close, Disposition, ExchangeEnd,
};
use courier_proto::outgoing::{
    ClientRequest, HeaderValue, RequestAgent, RequestHeaders, RequestOptions,
};

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

fn opts() -> RequestOptions {
    RequestOptions {
        hostname: Some("127.0.0.1".into()),
        port: Some(3000),
        ..RequestOptions::default()
    }
}

fn request(f: impl FnOnce(&mut RequestOptions)) -> ClientRequest {
    let mut o = opts();
    f(&mut o);
    ClientRequest::new(o).expect("valid options")
}

/// A connection at `t0` running `req` (assigned with `a`), its request ended.
fn running(req: ClientRequest, a: Assignment) -> (ClientConn, Instant) {
    let t0 = Instant::now();
    let mut conn = ClientConn::new(t0);
    conn.start(t0, req, a).expect("idle connection");
    conn.request().unwrap().end(None).unwrap();
    (conn, t0)
}

/// A GET through the global agent, ended, flushed.
fn get() -> (ClientConn, Instant) {
    let (mut conn, t0) = running(request(|_| {}), Assignment::default());
    flush(&mut conn, t0);
    (conn, t0)
}

fn flush(conn: &mut ClientConn, now: Instant) -> Vec<u8> {
    let out = conn.outgoing();
    let wire: Vec<u8> = out.iter().flat_map(|b| b.to_vec()).collect();
    conn.transmitted(now, wire.len());
    wire
}

fn events(conn: &mut ClientConn) -> Vec<ClientEvent> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// The events reduced to names, for order assertions.
fn names(evs: &[ClientEvent]) -> Vec<String> {
    evs.iter()
        .map(|e| match e {
            ClientEvent::Continue => "continue".into(),
            ClientEvent::Information(h) => format!("information {}", h.status),
            ClientEvent::Response(h) => format!("response {}", h.status),
            ClientEvent::Data(d) => format!("data {}", String::from_utf8_lossy(d)),
            ClientEvent::End { .. } => "end".into(),
            ClientEvent::Finish => "finish".into(),
            ClientEvent::Upgrade { connect, .. } => {
                if *connect { "connect" } else { "upgrade" }.into()
            }
            ClientEvent::Timeout => "timeout".into(),
            ClientEvent::Abort => "abort".into(),
            ClientEvent::Aborted { .. } => "aborted".into(),
            ClientEvent::Error(e) => format!("error {}", e.code()),
            ClientEvent::Close(end) => format!("close {:?}", end.disposition),
            ClientEvent::Poisoned => "poisoned".into(),
        })
        .collect()
}

fn last_end(evs: &[ClientEvent]) -> ExchangeEnd {
    match evs.last() {
        Some(ClientEvent::Close(end)) => *end,
        other => panic!("the last event is not close: {other:?}"),
    }
}

const KEEP: &str = "close Keep { keep_alive_hint: None }";
const CLOSE: &str = "close Close";

// ----------------------------------------------------------------- CLI-15 --

#[test]
fn cli_15_interim_responses_in_order_then_the_final_one() {
    let (mut conn, t0) = get();
    events(&mut conn);
    conn.feed(
        t0,
        b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n\
          HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
    let evs = events(&mut conn);
    assert_eq!(
        names(&evs),
        [
            "information 102",
            "information 103",
            "continue",
            "information 100",
            "response 200",
            "end",
            KEEP
        ]
    );
    let ClientEvent::Information(h103) = &evs[1] else {
        panic!()
    };
    assert_eq!(h103.headers.get("link"), Some(&b"</a>; rel=preload"[..]));
}

#[test]
fn cli_15_an_interim_response_alone_is_not_a_response() {
    let (mut conn, t0) = get();
    events(&mut conn);
    conn.feed(t0, b"HTTP/1.1 100 Continue\r\n\r\n");
    conn.recv_eof();
    // The final response never came: socket hang up (CLI-20).
    assert_eq!(
        names(&events(&mut conn)),
        ["continue", "information 100", "error ECONNRESET", CLOSE]
    );
}

// ----------------------------------------------------------------- CLI-16 --

fn upgrade_request() -> ClientRequest {
    request(|o| {
        o.headers = RequestHeaders::Object(vec![
            ("Connection".into(), HeaderValue::from("Upgrade")),
            ("Upgrade".into(), HeaderValue::from("websocket")),
        ])
    })
}

#[test]
fn cli_16_a_101_with_upgrade_hands_over_with_the_leftover() {
    let a = Assignment {
        upgrade_listener: true,
        ..Assignment::default()
    };
    let (mut conn, t0) = running(upgrade_request(), a);
    flush(&mut conn, t0);
    events(&mut conn);
    conn.feed(
        t0,
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x00",
    );
    let evs = events(&mut conn);
    assert_eq!(names(&evs), ["upgrade", "close Detached"]);
    let ClientEvent::Upgrade { head, leftover, .. } = &evs[0] else {
        panic!()
    };
    assert_eq!(head.status, 101);
    assert_eq!(&leftover[..], b"\x81\x00");
    // The connection left HTTP: later bytes belong to the new protocol.
    conn.feed(t0, b"more");
    assert!(events(&mut conn).is_empty());
    assert!(!conn.is_idle() && !conn.wants_read());
}

#[test]
fn cli_16_without_a_listener_the_socket_is_destroyed_and_only_close_is_emitted() {
    let (mut conn, t0) = running(upgrade_request(), Assignment::default());
    flush(&mut conn, t0);
    events(&mut conn);
    conn.feed(
        t0,
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    );
    assert_eq!(names(&events(&mut conn)), [CLOSE]);
    assert_eq!(conn.wants_close(), Some(Close::Now));
}

#[test]
fn cli_16_any_response_to_connect_is_a_connect() {
    for status in [
        &b"200 Connection Established"[..],
        b"407 Proxy Authentication Required",
    ] {
        let a = Assignment {
            connect_listener: true,
            ..Assignment::default()
        };
        let (mut conn, t0) = running(
            request(|o| {
                o.method = Some("CONNECT".into());
                o.path = Some("example.com:443".into());
            }),
            a,
        );
        assert!(flush(&mut conn, t0).starts_with(b"CONNECT example.com:443 HTTP/1.1\r\n"));
        events(&mut conn);
        let mut input = b"HTTP/1.1 ".to_vec();
        input.extend_from_slice(status);
        input.extend_from_slice(b"\r\nContent-Length: 5\r\n\r\ntunnel");
        conn.feed(t0, &input);
        let evs = events(&mut conn);
        assert_eq!(names(&evs), ["connect", "close Detached"]);
        let ClientEvent::Upgrade { leftover, .. } = &evs[0] else {
            panic!()
        };
        // The body framing of a CONNECT answer is ignored: everything is tunnel.
        assert_eq!(&leftover[..], b"tunnel");
    }
}

#[test]
fn cli_16_a_non_101_advertising_upgrade_is_an_ordinary_response() {
    let a = Assignment {
        upgrade_listener: true,
        ..Assignment::default()
    };
    let (mut conn, t0) = running(upgrade_request(), a);
    flush(&mut conn, t0);
    events(&mut conn);
    conn.feed(
        t0,
        b"HTTP/1.1 200 OK\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nContent-Length: 2\r\n\r\nok",
    );
    assert_eq!(
        names(&events(&mut conn)),
        ["response 200", "data ok", "end", KEEP]
    );
}

#[test]
fn cli_16_a_101_without_upgrade_fields_is_a_final_response_and_nothing_more_is_read() {
    // oracle: `HTTP/1.1 101 Switching Protocols\r\n\r\nrest` → 'response' 101,
    // complete, no error.
    let (mut conn, t0) = get();
    events(&mut conn);
    conn.feed(t0, b"HTTP/1.1 101 Switching Protocols\r\n\r\nrest");
    let evs = events(&mut conn);
    assert_eq!(names(&evs[..2]), ["response 101", "end"]);
    assert!(!evs.iter().any(|e| matches!(e, ClientEvent::Error(_))));
}

// ----------------------------------------------------------------- CLI-17 --

#[test]
fn cli_17_head_responses_have_no_body() {
    let (mut conn, t0) = running(
        request(|o| o.method = Some("HEAD".into())),
        Assignment::default(),
    );
    flush(&mut conn, t0);
    events(&mut conn);
    conn.feed(t0, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    assert_eq!(names(&events(&mut conn)), ["response 200", "end", KEEP]);
}

#[test]
fn cli_17_304_and_204_are_complete_at_once() {
    for head in [
        &b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"[..],
        b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
    ] {
        let (mut conn, t0) = get();
        events(&mut conn);
        conn.feed(t0, head);
        let evs = names(&events(&mut conn));
        assert_eq!(evs[1..], ["end".to_string(), KEEP.to_string()]);
    }
}

#[test]
fn cli_17_a_second_response_in_the_same_read_destroys_the_connection() {
    // oracle `two-responses` (samples): the first response only, no error.
    let (mut conn, t0) = get();
    events(&mut conn);
    conn.feed(
        t0,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny",
    );
    assert_eq!(
        names(&events(&mut conn)),
        ["response 200", "data x", "end", CLOSE]
    );
    assert_eq!(conn.wants_close(), Some(Close::Now));
}

#[test]
fn cli_17_a_response_in_a_later_read_poisons_the_idle_connection() {
    let (mut conn, t0) = get();
    conn.feed(t0, OK);
    assert_eq!(
        last_end(&events(&mut conn)).disposition,
        Disposition::Keep {
            keep_alive_hint: None
        }
    );
    assert!(conn.is_idle());
    conn.feed(t0, b"HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!(names(&events(&mut conn)), ["poisoned"]);
    assert_eq!(conn.wants_close(), Some(Close::Now));
    assert!(!conn.is_idle());
}

// ----------------------------------------------------------------- CLI-18 --

#[test]
fn cli_18_kept_only_when_both_sides_keep_alive() {
    // Request persistent (global agent) + HTTP/1.1 response: kept.
    let (mut conn, t0) = get();
    conn.feed(t0, OK);
    assert_eq!(names(&events(&mut conn)).last().unwrap(), KEEP);

    // The server says close.
    let (mut conn, t0) = get();
    conn.feed(
        t0,
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(names(&events(&mut conn)).last().unwrap(), CLOSE);
    assert_eq!(conn.wants_close(), Some(Close::AfterFlush));

    // HTTP/1.0 without keep-alive.
    let (mut conn, t0) = get();
    conn.feed(t0, b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(names(&events(&mut conn)).last().unwrap(), CLOSE);

    // A close-delimited body can never be kept (PRS-25).
    let (mut conn, t0) = get();
    events(&mut conn);
    conn.feed(t0, b"HTTP/1.1 200 OK\r\n\r\nabc");
    conn.recv_eof();
    assert_eq!(
        names(&events(&mut conn)),
        ["response 200", "data abc", "end", CLOSE]
    );

    // The request is not persistent (`agent: false` sends `Connection: close`).
    let (mut conn, t0) = running(
        request(|o| o.agent = Some(RequestAgent::one_off())),
        Assignment::default(),
    );
    assert!(flush(&mut conn, t0).ends_with(b"Connection: close\r\n\r\n"));
    conn.feed(t0, OK);
    assert_eq!(names(&events(&mut conn)).last().unwrap(), CLOSE);
}

#[test]
fn cli_18_the_socket_returns_only_once_the_request_finished_too() {
    let t0 = Instant::now();
    let mut conn = ClientConn::new(t0);
    conn.start(
        t0,
        request(|o| o.method = Some("POST".into())),
        Assignment::default(),
    )
    .unwrap();
    conn.request().unwrap().write("part").unwrap();
    flush(&mut conn, t0);
    // The server answers before the body is complete.
    conn.feed(t0, OK);
    assert_eq!(
        names(&events(&mut conn)),
        ["response 200", "data ok", "end"]
    );
    assert!(!conn.is_idle());
    conn.request().unwrap().end(None).unwrap();
    flush(&mut conn, t0);
    assert_eq!(names(&events(&mut conn)), ["finish", KEEP]);
    assert!(conn.is_idle());
}

#[test]
fn agt_8_the_keep_alive_hint_is_reported() {
    let (mut conn, t0) = get();
    conn.feed(
        t0,
        b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(
        last_end(&events(&mut conn)).disposition,
        Disposition::Keep {
            keep_alive_hint: Some(Duration::from_secs(5))
        }
    );
}

// ----------------------------------------------------------------- CLI-19 --

#[test]
fn cli_19_event_order_of_a_plain_get() {
    let (mut conn, t0) = running(request(|_| {}), Assignment::default());
    assert!(
        events(&mut conn).is_empty(),
        "nothing before the bytes leave"
    );
    flush(&mut conn, t0);
    conn.feed(t0, OK);
    assert_eq!(
        names(&events(&mut conn)),
        ["finish", "response 200", "data ok", "end", KEEP]
    );
}

#[test]
fn cli_19_finish_waits_for_the_transport() {
    let (mut conn, t0) = running(request(|_| {}), Assignment::default());
    let n = conn.outgoing().len();
    conn.transmitted(t0, n - 1);
    assert!(events(&mut conn).is_empty());
    conn.transmitted(t0, 1);
    assert_eq!(names(&events(&mut conn)), ["finish"]);
}

#[test]
fn cli_19_with_100_continue_the_body_follows_the_100() {
    let t0 = Instant::now();
    let mut conn = ClientConn::new(t0);
    let req = request(|o| {
        o.method = Some("PUT".into());
        o.headers = RequestHeaders::Object(vec![
            ("Expect".into(), HeaderValue::from("100-continue")),
            ("Content-Length".into(), HeaderValue::from(4u32)),
        ]);
    });
    conn.start(t0, req, Assignment::default()).unwrap();
    let head = flush(&mut conn, t0);
    assert_eq!(
        head,
        b"PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\nHost: 127.0.0.1:3000\r\nConnection: keep-alive\r\n\r\n"
    );
    // Written early, held back (our 100-continue hold).
    conn.request()
        .unwrap()
        .end(Some(Bytes::from_static(b"body")))
        .unwrap();
    assert!(flush(&mut conn, t0).is_empty());
    conn.feed(t0, b"HTTP/1.1 100 Continue\r\n\r\n");
    assert_eq!(flush(&mut conn, t0), b"body");
    conn.feed(t0, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(
        names(&events(&mut conn)),
        [
            "continue",
            "information 100",
            "finish",
            "response 201",
            "end",
            KEEP
        ]
    );
}

#[test]
fn continue_hold_a_final_response_first_drops_the_body_and_the_connection() {
    let t0 = Instant::now();
    let mut conn = ClientConn::new(t0);
    let req = request(|o| {
        o.method = Some("PUT".into());
        o.headers = RequestHeaders::Object(vec![
            ("Expect".into(), HeaderValue::from("100-continue")),
            ("Content-Length".into(), HeaderValue::from(4u32)),
        ]);
    });
    conn.start(t0, req, Assignment::default()).unwrap();
    conn.request()
        .unwrap()
        .end(Some(Bytes::from_static(b"body")))
        .unwrap();
    flush(&mut conn, t0);
    conn.feed(
        t0,
        b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(
        flush(&mut conn, t0).is_empty(),
        "the held body is never sent"
    );
    assert_eq!(names(&events(&mut conn)), ["response 417", "end", CLOSE]);
}

#[test]
fn continue_hold_ends_at_its_deadline_or_is_off() {
    let req = || {
        request(|o| {
            o.method = Some("POST".into());
            o.headers =
                RequestHeaders::Object(vec![("Expect".into(), HeaderValue::from("100-continue"))]);
        })
    };
    let t0 = Instant::now();
    let mut conn = ClientConn::new(t0);
    conn.start(t0, req(), Assignment::default()).unwrap();
    conn.request()
        .unwrap()
        .end(Some(Bytes::from_static(b"abc")))
        .unwrap();
    flush(&mut conn, t0);
    assert_eq!(conn.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    conn.handle_timeout(t0 + Duration::from_millis(999));
    assert!(flush(&mut conn, t0).is_empty());
    conn.handle_timeout(t0 + Duration::from_secs(1));
    assert_eq!(flush(&mut conn, t0), b"3\r\nabc\r\n0\r\n\r\n");

    // Node's behaviour: no hold.
    let cfg = ClientConfig {
        continue_timeout: None,
        ..ClientConfig::default()
    };
    let mut conn = ClientConn::with_config(cfg, t0);
    conn.start(t0, req(), Assignment::default()).unwrap();
    conn.request()
        .unwrap()
        .end(Some(Bytes::from_static(b"abc")))
        .unwrap();
    assert!(flush(&mut conn, t0).ends_with(b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
}

// ----------------------------------------------------------------- CLI-20 --

#[test]
fn cli_20_server_closes_before_a_response_socket_hang_up() {
    let (mut conn, _) = get();
    events(&mut conn);
    conn.recv_eof();
    let evs = events(&mut conn);
    assert_eq!(names(&evs), ["error ECONNRESET", CLOSE]);
    let ClientEvent::Error(e) = &evs[0] else {
        panic!()
    };
    assert_eq!(e, &ClientError::HangUp);
    assert_eq!(e.to_string(), "socket hang up");
    // Also in the middle of a head.
    let (mut conn, t0) = get();
    events(&mut conn);
    conn.feed(t0, b"HTTP/1.1 200 OK\r\nContent-Le");
    conn.recv_eof();
    assert_eq!(names(&events(&mut conn)), ["error ECONNRESET", CLOSE]);
}

#[test]
fn cli_20_a_reset_before_a_response_is_the_socket_error() {
    let (mut conn, _) = get();
    events(&mut conn);
    conn.socket_error(ClientError::io("ECONNRESET", "read ECONNRESET"));
    let evs = events(&mut conn);
    assert_eq!(names(&evs), ["error ECONNRESET", CLOSE]);
    assert_eq!(
        evs[0],
        ClientEvent::Error(ClientError::io("ECONNRESET", "read ECONNRESET"))
    );
    assert!(last_end(&evs).failure.unwrap().connection_lost);
}

#[test]
fn cli_20_parse_errors_carry_the_hpe_code() {
    for (input, code) in [
        (
            &b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"[..],
            "HPE_UNEXPECTED_CONTENT_LENGTH",
        ),
        (
            b"HTTP/1.1 200 OK\nContent-Length: 1\n\nx",
            "HPE_CR_EXPECTED",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "HPE_INVALID_TRANSFER_ENCODING",
        ),
    ] {
        let (mut conn, t0) = get();
        events(&mut conn);
        conn.feed(t0, input);
        let evs = events(&mut conn);
        assert_eq!(
            names(&evs),
            [format!("error {code}"), CLOSE.into()],
            "{input:?}"
        );
        let ClientEvent::Error(e) = &evs[0] else {
            panic!()
        };
        assert!(e.to_string().starts_with("Parse Error: "));
        assert_eq!(conn.wants_close(), Some(Close::Now));
    }
}

#[test]
fn cli_20_junk_after_a_complete_response_in_the_same_read_is_an_error() {
    // PRS-17's example: a 204 with a stray body.
    let (mut conn, t0) = get();
    events(&mut conn);
    conn.feed(
        t0,
        b"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nabc",
    );
    let evs = names(&events(&mut conn));
    assert_eq!(
        evs,
        ["response 204", "end", "error HPE_INVALID_CONSTANT", CLOSE]
    );
}

#[test]
fn cli_20_a_truncated_body_is_aborted_without_a_request_error() {
    for input in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhi"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    ] {
        let (mut conn, t0) = get();
        events(&mut conn);
        conn.feed(t0, input);
        conn.recv_eof();
        let evs = events(&mut conn);
        assert_eq!(names(&evs)[0], "response 200");
        assert_eq!(names(&evs)[names(&evs).len() - 2..], ["aborted", CLOSE]);
        assert!(!evs.iter().any(|e| matches!(e, ClientEvent::Error(_))));
        let failure = last_end(&evs).failure.expect("a failed exchange");
        assert!(failure.response_bytes_received && failure.request_bytes_written);
    }
}

#[test]
fn cli_20_an_error_is_emitted_at_most_once() {
    let (mut conn, t0) = get();
    events(&mut conn);
    conn.feed(t0, b"XTTP/1.1 200 OK\r\n\r\n");
    conn.socket_error(ClientError::io("ECONNRESET", "read ECONNRESET"));
    conn.recv_eof();
    conn.destroy(Some(ClientError::io("EBOOM", "boom")));
    let evs = names(&events(&mut conn));
    assert_eq!(evs, ["error HPE_INVALID_CONSTANT", CLOSE]);
}

// ----------------------------------------------------------------- CLI-21 --

/// Node v20.20.2 observed (a connected socket, no response yet):
/// `abort | error:ECONNRESET:socket hang up | close`. CLI-21's "no 'error'" holds only
/// before a socket was assigned (the adapter's case), see `docs/deviations.md`.
#[test]
fn cli_21_abort_before_a_response_is_abort_then_hang_up_then_close() {
    let (mut conn, _) = get();
    events(&mut conn);
    assert!(conn.abort());
    assert!(!conn.abort(), "a second abort does nothing");
    assert_eq!(
        names(&events(&mut conn)),
        ["abort", "error ECONNRESET", CLOSE]
    );
    // The message is Node's: `socket hang up`.
    let (mut conn, _) = get();
    events(&mut conn);
    conn.abort();
    let hang_up = events(&mut conn).into_iter().find_map(|e| match e {
        ClientEvent::Error(e) => Some(e.to_string()),
        _ => None,
    });
    assert_eq!(hang_up.as_deref(), Some("socket hang up"));
    assert_eq!(conn.wants_close(), Some(Close::Now));
}

#[test]
fn cli_21_abort_during_the_body() {
    let (mut conn, t0) = get();
    events(&mut conn);
    conn.feed(t0, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhi");
    events(&mut conn);
    assert!(conn.abort());
    let evs = events(&mut conn);
    assert_eq!(names(&evs), ["abort", "aborted", CLOSE]);
    assert_eq!(evs[1], ClientEvent::Aborted { complete: false });
}

#[test]
fn cli_21_destroy_before_a_response_is_socket_hang_up() {
    let (mut conn, _) = get();
    events(&mut conn);
    conn.destroy(None);
    assert_eq!(names(&events(&mut conn)), ["error ECONNRESET", CLOSE]);
    assert!(conn.current().is_none());
}

#[test]
fn cli_21_destroy_during_the_body_aborts_the_response_without_error() {
    let (mut conn, t0) = get();
    events(&mut conn);
    conn.feed(t0, b"HTTP/1.1 200 OK\r\n\r\nabc");
    events(&mut conn);
    conn.destroy(None);
    let evs = events(&mut conn);
    assert_eq!(names(&evs), ["aborted", CLOSE]);
    // oracle (`--no-eof`, close-delimited body): `aborted: true, complete: true`:
    // Node's closing `parser.finish()` completes a close-delimited body.
    assert_eq!(evs[0], ClientEvent::Aborted { complete: true });
}

#[test]
fn cli_21_destroy_with_an_error_reports_it() {
    let (mut conn, _) = get();
    events(&mut conn);
    conn.destroy(Some(ClientError::io("EMINE", "mine")));
    let evs = events(&mut conn);
    assert_eq!(names(&evs), ["error EMINE", CLOSE]);
    assert!(!last_end(&evs).failure.unwrap().connection_lost);
}

// ----------------------------------------------------------------- CLI-22 --

#[test]
fn cli_22_an_abort_signal_is_abort_err_and_leaves_aborted_false() {
    let (mut conn, _) = get();
    events(&mut conn);
    conn.destroy(Some(ClientError::AbortSignal));
    let evs = events(&mut conn);
    assert_eq!(names(&evs), ["error ABORT_ERR", CLOSE]);
    let ClientEvent::Error(e) = &evs[0] else {
        panic!()
    };
    assert_eq!(e.to_string(), "The operation was aborted");
    assert!(!evs.contains(&ClientEvent::Abort));
}

// ----------------------------------------------------------------- CLI-23 --

#[test]
fn cli_23_timeout_only_notifies_and_rearms_on_activity() {
    let a = Assignment {
        socket_timeout: Some(Duration::from_secs(5)),
        ..Assignment::default()
    };
    let (mut conn, t0) = running(request(|_| {}), a);
    flush(&mut conn, t0);
    events(&mut conn);
    assert_eq!(conn.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    conn.handle_timeout(t0 + Duration::from_millis(4999));
    assert!(events(&mut conn).is_empty());
    let t5 = t0 + Duration::from_secs(5);
    conn.handle_timeout(t5);
    assert_eq!(names(&events(&mut conn)), ["timeout"]);
    // Not destroyed; fires once per idle period.
    assert_eq!(conn.poll_timeout(), None);
    assert!(conn.wants_close().is_none());
    conn.feed(t5, b"HTTP/1.1 200 OK\r\n");
    assert_eq!(conn.poll_timeout(), Some(t5 + Duration::from_secs(5)));
    conn.feed(t5, b"Content-Length: 0\r\n\r\n");
    events(&mut conn);
    // After the response the timeout listeners are gone.
    assert_eq!(conn.poll_timeout(), None);
}

#[test]
fn cli_23_the_request_timeout_wins_over_the_agent_and_set_timeout_changes_it() {
    let a = Assignment {
        socket_timeout: Some(Duration::from_secs(5)),
        ..Assignment::default()
    };
    let (mut conn, t0) = running(request(|o| o.timeout = Some(Duration::from_millis(300))), a);
    assert_eq!(conn.poll_timeout(), Some(t0 + Duration::from_millis(300)));
    conn.set_timeout(Some(Duration::from_secs(2)));
    assert_eq!(conn.poll_timeout(), Some(t0 + Duration::from_secs(2)));
    conn.set_timeout(None);
    assert_eq!(conn.poll_timeout(), None);
    // No timeout anywhere: none fires.
    let (conn, _) = running(request(|_| {}), Assignment::default());
    assert_eq!(conn.poll_timeout(), None);
}

// ----------------------------------------------------------------- CLI-24 --

#[test]
fn cli_24_reused_socket_and_the_stale_connection_report() {
    let a = Assignment {
        reused: true,
        ..Assignment::default()
    };
    let (mut conn, _) = running(request(|_| {}), a);
    assert!(conn.current().unwrap().reused_socket());
    // The server had closed the idle connection: EOF before anything was written.
    conn.recv_eof();
    let evs = events(&mut conn);
    assert_eq!(names(&evs), ["error ECONNRESET", CLOSE]);
    let failure = last_end(&evs).failure.unwrap();
    assert_eq!(
        failure,
        FailedExchange {
            reused_socket: true,
            connection_lost: true,
            request_bytes_written: false,
            response_bytes_received: false,
            idempotent: true,
            body_replayable: false,
            retried: false,
        }
    );
    // Node never retries; the opt-in retry does, once.
    assert_eq!(retry_decision(&PoolOptions::default(), &failure), Retry::No);
    let on = PoolOptions {
        retry: true,
        ..PoolOptions::default()
    };
    assert_eq!(retry_decision(&on, &failure), Retry::FreshConnection);
}

#[test]
fn cli_24_a_new_socket_is_not_reused() {
    let (conn, _) = get();
    assert!(!conn.current().unwrap().reused_socket());
}

// ----------------------------------------------------------------- CLI-25 --

#[test]
fn cli_25_headers_cannot_change_once_rendered() {
    let (mut conn, _) = get();
    let mut r = conn.request().unwrap();
    assert_eq!(
        r.set_header("X-Late", "1").unwrap_err().code(),
        "ERR_HTTP_HEADERS_SENT"
    );
}

// ----------------------------------------------------------------- CLI-27 --

fn response_with(f: impl FnOnce(&mut RequestOptions), input: &[u8]) -> Vec<ClientEvent> {
    let (mut conn, t0) = running(request(f), Assignment::default());
    flush(&mut conn, t0);
    events(&mut conn);
    conn.feed(t0, input);
    events(&mut conn)
}

#[test]
fn cli_27_max_header_size_counts_the_reason_phrase() {
    // PRS-21: reason "OK" (2) + "X" (1) + value: sum ≥ 20 fails.
    let fits = b"HTTP/1.1 200 OK\r\nX: 0123456789abcdef\r\n\r\n"; // 2+1+16 = 19
    let over = b"HTTP/1.1 200 OK\r\nX: 0123456789abcdefg\r\n\r\n"; // 20
    let evs = response_with(|o| o.max_header_size = Some(20), fits);
    assert_eq!(names(&evs)[0], "response 200");
    let evs = response_with(|o| o.max_header_size = Some(20), over);
    assert_eq!(names(&evs), ["error HPE_HEADER_OVERFLOW", CLOSE]);
    let ClientEvent::Error(ClientError::Parse(e)) = &evs[0] else {
        panic!()
    };
    assert_eq!(e.kind(), ErrorKind::HeaderOverflow);
}

#[test]
fn cli_27_insecure_http_parser_accepts_obs_fold() {
    let input = b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n";
    let evs = response_with(|_| {}, input);
    assert_eq!(names(&evs)[0], "error HPE_INVALID_HEADER_TOKEN");
    let evs = response_with(|o| o.insecure_http_parser = Some(true), input);
    let ClientEvent::Response(head) = &evs[0] else {
        panic!("{evs:?}")
    };
    assert_eq!(head.headers.get("x"), Some(&b"a b"[..]));
}

#[test]
fn cli_27_the_process_wide_parser_defaults_come_from_the_config() {
    let t0 = Instant::now();
    let cfg = ClientConfig {
        insecure_http_parser: true,
        max_header_size: 10,
        ..ClientConfig::default()
    };
    let mut conn = ClientConn::with_config(cfg, t0);
    conn.start(t0, request(|_| {}), Assignment::default())
        .unwrap();
    conn.feed(t0, b"HTTP/1.1 200 OK\r\nX-Long: abcdefgh\r\n\r\n");
    assert_eq!(names(&events(&mut conn))[0], "error HPE_HEADER_OVERFLOW");
}

#[test]
fn cli_27_max_headers_count_is_a_limit_deviation() {
    // Node keeps the first 5 lines and drops the rest; courier fails the response
    // (docs/deviations.md, "Too many header lines").
    let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..6 {
        input.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    input.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    let t0 = Instant::now();
    let mut conn = ClientConn::new(t0);
    let mut req = request(|_| {});
    req.set_max_headers_count(Some(5));
    conn.start(t0, req, Assignment::default()).unwrap();
    conn.feed(t0, &input);
    assert_eq!(names(&events(&mut conn))[0], "error HPE_HEADER_OVERFLOW");
}

// ------------------------------------------------------- reuse and pool --

#[test]
fn a_connection_runs_one_request_at_a_time() {
    let (mut conn, t0) = get();
    let second = request(|_| {});
    assert!(conn.start(t0, second, Assignment::default()).is_err());
    conn.feed(t0, OK);
    events(&mut conn);
    assert!(
        conn.start(t0, request(|_| {}), Assignment::default())
            .is_ok()
    );
}

#[test]
fn an_idle_connection_closed_by_the_server_just_closes() {
    let (mut conn, t0) = get();
    conn.feed(t0, OK);
    events(&mut conn);
    conn.recv_eof();
    assert!(events(&mut conn).is_empty());
    assert_eq!(conn.wants_close(), Some(Close::Now));
    assert!(!conn.wants_read());
}

#[test]
fn agt_7_the_pool_and_the_machine_together() {
    // Two requests in sequence through the global agent: the second reuses the
    // socket the first gave back (AGT-5, AGT-7, CLI-24).
    let t0 = Instant::now();
    let mut pool: Pool<u32> = Pool::global();
    let key = NameOptions {
        host: Some("127.0.0.1"),
        port: Some(3000),
        ..NameOptions::default()
    }
    .get_name();
    let mut conn = None;
    for (i, expect_reused) in [(1, false), (2, true)] {
        pool.request(key.clone(), ReqId(i), t0);
        let assigned = loop {
            match pool.poll_action().expect("an action") {
                Action::Connect { ticket, .. } => {
                    conn = Some(ClientConn::new(t0));
                    pool.connected(ticket, 7, t0);
                }
                Action::Assign {
                    reused, timeout, ..
                } => break (reused, timeout),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(assigned.0, expect_reused);
        let c = conn.as_mut().unwrap();
        let a = Assignment {
            reused: assigned.0,
            socket_timeout: assigned.1,
            ..Assignment::default()
        };
        c.start(t0, request(|_| {}), a).unwrap();
        c.request().unwrap().end(None).unwrap();
        flush(c, t0);
        c.feed(
            t0,
            b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n",
        );
        let end = last_end(&events(c));
        let Disposition::Keep { keep_alive_hint } = end.disposition else {
            panic!("{end:?}")
        };
        assert!(pool.release(7, t0, Reusable::Yes { keep_alive_hint }));
    }
    assert_eq!(pool.free_sockets().len(), 1);
}

// ----------------------------------------------------------- CLI-21, CLI-26 --

#[test]
fn cli_21_abort_before_a_socket_leaves_the_agent_queue() {
    // maxSockets 1, one request running: the second waits; aborting it sets
    // `aborted`, and the pool never gives it a socket. (The adapter emits its
    // 'close' then 'abort', as Node does before a socket was assigned.)
    let t0 = Instant::now();
    let options = courier_proto::agent::AgentOptions {
        keep_alive: true,
        max_sockets: Some(1),
        ..courier_proto::agent::AgentOptions::default()
    };
    let mut pool: Pool<u32> = Pool::new(options, PoolOptions::default()).unwrap();
    let key = NameOptions::default().get_name();
    pool.request(key.clone(), ReqId(1), t0);
    let Some(Action::Connect { ticket, .. }) = pool.poll_action() else {
        panic!()
    };
    pool.connected(ticket, 1, t0);
    assert!(matches!(pool.poll_action(), Some(Action::Assign { .. })));
    pool.request(key, ReqId(2), t0);
    assert_eq!(pool.poll_action(), None, "queued");
    let mut waiting = request(|_| {});
    assert!(waiting.abort() && waiting.aborted() && waiting.destroyed());
    assert!(pool.cancel(ReqId(2)));
    pool.release(1, t0, Reusable::YES);
    assert_eq!(
        pool.poll_action(),
        None,
        "the aborted request never gets a socket"
    );
    assert_eq!(pool.free_sockets().len(), 1);
}

#[test]
fn cli_26_socket_options_wait_for_the_socket() {
    let mut req = request(|_| {});
    req.set_no_delay(false);
    req.set_socket_keep_alive(true, Duration::from_millis(1500));
    let t0 = Instant::now();
    let mut conn = ClientConn::new(t0);
    conn.start(t0, req, Assignment::default()).unwrap();
    let opts = conn.current().unwrap().socket_options();
    assert_eq!(opts.no_delay, Some(false));
    assert_eq!(opts.keep_alive, Some((true, Duration::from_millis(1500))));
}

/// CLI-19: a response that ends (and closes the connection) while request bytes are
/// still unsent waits for them: `'finish'` comes before `'close'`, as Node ends the
/// socket only after its pending writes.
#[test]
fn cli_19_finish_precedes_close_when_the_response_beats_the_request_bytes() {
    let (mut conn, t0) = running(request(|_| {}), Assignment::default());
    conn.feed(
        t0,
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    );
    assert_eq!(
        names(&events(&mut conn)),
        ["response 200", "data ok", "end"]
    );
    assert_eq!(
        conn.wants_close(),
        None,
        "the request's bytes are still queued"
    );
    flush(&mut conn, t0);
    assert_eq!(names(&events(&mut conn)), ["finish", CLOSE]);
    assert_eq!(conn.wants_close(), Some(Close::AfterFlush));
}
