//! The server connection machine, rule by rule (SRV-1 … SRV-24, RES-29 … RES-31,
//! MSG-10, MSG-12), driven with no sockets and a virtual clock.

use std::time::{Duration, Instant};

use bytes::Bytes;
use courier_proto::server::{Close, Dispatch, Listeners, ReqId, ServerConfig, ServerEvent};
use courier_proto::testing::ServerPeer;
use courier_proto::{ErrorKind, ParserConfig};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
const KEEP: &str = "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn peer(cfg: ServerConfig) -> ServerPeer {
    ServerPeer::new(cfg, Instant::now())
}

fn text(p: &mut ServerPeer) -> String {
    p.pump();
    p.take_wire().iter().map(|&b| char::from(b)).collect()
}

/// The ids of the requests dispatched in `events`, with their dispatch.
fn requests(events: &[ServerEvent]) -> Vec<(ReqId, Dispatch)> {
    events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Request { id, dispatch, .. } => Some((*id, *dispatch)),
            _ => None,
        })
        .collect()
}

fn only_request(p: &mut ServerPeer) -> ReqId {
    let ev = p.events();
    let r = requests(&ev);
    assert_eq!(r.len(), 1, "{ev:?}");
    r[0].0
}

/// Answers `id` with `end(body)` and implicit headers.
fn end(p: &mut ServerPeer, id: ReqId, body: &'static str) {
    let mut res = p.conn.response(id).expect("response open");
    res.end(Some(Bytes::from_static(body.as_bytes()))).unwrap();
}

fn ok_bytes(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\n{KEEP}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

// ------------------------------------------------------------------ SRV-1, 2 --

#[test]
fn srv_1_defaults_and_headers_timeout_rule() {
    let cfg = ServerConfig::default();
    assert!(cfg.require_host_header);
    assert_eq!(cfg.keep_alive_timeout, ms(5000));
    assert_eq!(cfg.request_timeout, ms(300_000));
    assert_eq!(cfg.headers_timeout(), ms(60_000));
    assert_eq!(cfg.connections_checking_interval, ms(30_000));
    assert_eq!(cfg.timeout, Duration::ZERO);
    assert_eq!(cfg.max_requests_per_socket, 0);
    assert!(!cfg.http_allow_half_open);
    let zero = ServerConfig {
        request_timeout: Duration::ZERO,
        ..ServerConfig::default()
    };
    assert_eq!(zero.headers_timeout(), Duration::ZERO);
    assert!(zero.validate().is_ok());
    let bad = ServerConfig {
        headers_timeout: Some(ms(2000)),
        request_timeout: ms(1000),
        ..ServerConfig::default()
    };
    assert_eq!(bad.validate().unwrap_err().code(), "ERR_OUT_OF_RANGE");
}

#[test]
fn srv_2_parser_options_apply_per_connection() {
    let cfg = ServerConfig {
        parser: ParserConfig::default().with_max_header_size(64),
        ..ServerConfig::default()
    };
    let mut p = peer(cfg);
    p.send(format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n", "v".repeat(80)).as_bytes());
    let ev = p.events();
    assert!(
        matches!(&ev[0], ServerEvent::ClientError { error } if error.kind() == ErrorKind::HeaderOverflow)
    );
    assert_eq!(
        text(&mut p),
        "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n"
    );
}

// ---------------------------------------------------------------- SRV-3, 4 --

#[test]
fn srv_3_http_10_skips_host_expect_and_counting() {
    let mut p = peer(ServerConfig {
        max_requests_per_socket: 1,
        ..ServerConfig::default()
    });
    p.send(b"GET /a HTTP/1.0\r\nExpect: bogus\r\nConnection: keep-alive\r\n\r\n");
    let ev = p.events();
    assert_eq!(requests(&ev)[0].1, Dispatch::Request);
    end(&mut p, requests(&ev)[0].0, "x");
    // RES-18: a 1.0 client gets a close-delimited body.
    assert_eq!(
        text(&mut p),
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nx"
    );
    assert_eq!(p.closed(), Some(Close::AfterFlush));
}

#[test]
fn srv_4_missing_host_gets_400_without_request_event() {
    for req in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        b"GET http://a/ HTTP/1.1\r\n\r\n", // absolute-form does not exempt
    ] {
        let mut p = peer(ServerConfig::default());
        p.send(req);
        let ev = p.events();
        assert_eq!(requests(&ev)[0].1, Dispatch::Answered);
        assert_eq!(
            text(&mut p),
            "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        );
        assert_eq!(p.closed(), Some(Close::AfterFlush));
    }
    // An empty Host counts as present; requireHostHeader: false turns the check off.
    let mut p = peer(ServerConfig::default());
    p.send(b"GET / HTTP/1.1\r\nHost:\r\n\r\n");
    assert_eq!(requests(&p.events())[0].1, Dispatch::Request);
    let mut p = peer(ServerConfig {
        require_host_header: false,
        ..ServerConfig::default()
    });
    p.send(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(requests(&p.events())[0].1, Dispatch::Request);
}

#[test]
fn srv_4_date_is_sent_when_the_clock_date_is_set() {
    let mut p = peer(ServerConfig::default());
    p.conn
        .set_date(Bytes::from_static(b"Sun, 06 Nov 1994 08:49:37 GMT"));
    p.send(b"GET / HTTP/1.1\r\n\r\n");
    p.events();
    assert_eq!(
        text(&mut p),
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    );
}

// -------------------------------------------------------------------- SRV-5 --

#[test]
fn srv_5_max_requests_per_socket() {
    let mut p = peer(ServerConfig {
        max_requests_per_socket: 2,
        ..ServerConfig::default()
    });
    p.send(GET);
    let id = only_request(&mut p);
    end(&mut p, id, "a");
    assert_eq!(
        text(&mut p),
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=2\r\nContent-Length: 1\r\n\r\na"
    );
    p.send(GET);
    let id = only_request(&mut p);
    end(&mut p, id, "b");
    // The limit is reached: Connection: close, but the server does not close.
    assert_eq!(
        text(&mut p),
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nb"
    );
    assert_eq!(p.closed(), None);
    p.send(GET);
    let ev = p.events();
    assert_eq!(requests(&ev)[0].1, Dispatch::DropRequest);
    assert_eq!(
        text(&mut p),
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    );
}

// ---------------------------------------------------------------- SRV-6, 7 --

#[test]
fn srv_6_automatic_100_continue_even_for_empty_bodies() {
    for expect in ["100-continue", "100-Continue", "foo, 100-continue"] {
        let mut p = peer(ServerConfig::default());
        p.send(format!("GET / HTTP/1.1\r\nHost: a\r\nExpect: {expect}\r\n\r\n").as_bytes());
        let id = only_request(&mut p);
        assert_eq!(text(&mut p), "HTTP/1.1 100 Continue\r\n\r\n", "{expect}");
        end(&mut p, id, "ok");
        assert_eq!(text(&mut p), ok_bytes("ok"));
    }
}

#[test]
fn srv_6_check_continue_listener_gets_the_request() {
    let mut p = peer(ServerConfig {
        listeners: Listeners {
            check_continue: true,
            ..Listeners::default()
        },
        ..ServerConfig::default()
    });
    p.send(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    let ev = p.events();
    let (id, d) = requests(&ev)[0];
    assert_eq!(d, Dispatch::CheckContinue);
    assert_eq!(text(&mut p), "");
    p.conn.response(id).unwrap().write_continue().unwrap();
    assert_eq!(text(&mut p), "HTTP/1.1 100 Continue\r\n\r\n");
    p.send(b"hi");
    p.events();
    end(&mut p, id, "ok");
    assert_eq!(text(&mut p), ok_bytes("ok"));
    assert_eq!(p.closed(), None);
}

#[test]
fn srv_6_other_expectations_get_417_and_keep_the_connection() {
    let mut p = peer(ServerConfig::default());
    p.send(b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n");
    let ev = p.events();
    assert_eq!(requests(&ev)[0].1, Dispatch::Answered);
    assert_eq!(
        text(&mut p),
        format!(
            "HTTP/1.1 417 Expectation Failed\r\n{KEEP}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
    );
    assert_eq!(p.closed(), None);
    let mut p = peer(ServerConfig {
        listeners: Listeners {
            check_expectation: true,
            ..Listeners::default()
        },
        ..ServerConfig::default()
    });
    p.send(b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n");
    assert_eq!(requests(&p.events())[0].1, Dispatch::CheckExpectation);
    assert_eq!(text(&mut p), "");
}

#[test]
fn srv_7_final_response_without_100_is_not_persistent() {
    let mut p = peer(ServerConfig {
        listeners: Listeners {
            check_continue: true,
            ..Listeners::default()
        },
        ..ServerConfig::default()
    });
    p.send(b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    let id = only_request(&mut p);
    {
        let mut res = p.conn.response(id).unwrap();
        res.set_status_code(403);
        res.end(None).unwrap();
    }
    assert_eq!(
        text(&mut p),
        "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(p.closed(), Some(Close::AfterFlush));
}

// ---------------------------------------------------------------- SRV-8, 9 --

#[test]
fn srv_8_upgrade_taken_hands_over_every_following_byte() {
    let mut p = peer(ServerConfig {
        listeners: Listeners {
            upgrade: true,
            ..Listeners::default()
        },
        ..ServerConfig::default()
    });
    p.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: ws\r\nContent-Length: 3\r\n\r\nabcREST");
    let ev = p.events();
    assert_eq!(ev.len(), 1, "{ev:?}");
    let ServerEvent::Upgrade {
        leftover, connect, ..
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(&leftover[..], b"abcREST");
    assert!(!connect);
    assert!(!p.conn.wants_read());
}

#[test]
fn srv_8_upgrade_without_taker_is_an_ordinary_request() {
    let mut p = peer(ServerConfig::default());
    p.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: ws\r\nContent-Length: 3\r\n\r\nabc");
    let ev = p.events();
    let (id, d) = requests(&ev)[0];
    assert_eq!(d, Dispatch::Request);
    assert!(
        ev.iter()
            .any(|e| matches!(e, ServerEvent::Data { data, .. } if &data[..] == b"abc"))
    );
    assert!(ev.iter().any(|e| matches!(e, ServerEvent::End { .. })));
    end(&mut p, id, "ok");
    assert!(text(&mut p).starts_with("HTTP/1.1 200 OK\r\n"));
}

#[test]
fn srv_9_connect() {
    let mut p = peer(ServerConfig {
        listeners: Listeners {
            connect: true,
            ..Listeners::default()
        },
        ..ServerConfig::default()
    });
    p.send(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\nEXTRA");
    let ev = p.events();
    let ServerEvent::Upgrade {
        head,
        leftover,
        connect,
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert!(connect);
    assert_eq!(head.url(), b"a:443");
    assert_eq!(&leftover[..], b"EXTRA");
    // Without a taker: destroyed, no bytes written.
    let mut p = peer(ServerConfig::default());
    p.send(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\nEXTRA");
    assert!(p.events().is_empty());
    assert_eq!(text(&mut p), "");
    assert_eq!(p.closed(), Some(Close::Now));
}

#[test]
fn srv_10_h2_preface_is_a_client_error() {
    let mut p = peer(ServerConfig::default());
    p.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    let ev = p.events();
    assert!(
        matches!(&ev[0], ServerEvent::ClientError { error } if error.code() == "HPE_PAUSED_H2_UPGRADE")
    );
    assert_eq!(
        text(&mut p),
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(p.closed(), Some(Close::AfterFlush));
}

// ------------------------------------------------------------ SRV-11 … 13 --

#[test]
fn srv_11_a_client_error_taker_owns_the_connection() {
    let mut p = peer(ServerConfig {
        listeners: Listeners {
            client_error: true,
            ..Listeners::default()
        },
        ..ServerConfig::default()
    });
    p.send(b"FOO / HTTP/1.1\r\n\r\n");
    let ev = p.events();
    assert!(
        matches!(&ev[0], ServerEvent::ClientError { error } if error.code() == "HPE_INVALID_METHOD")
    );
    assert_eq!(text(&mut p), "");
    assert_eq!(p.closed(), None);
    p.conn
        .write_raw(Bytes::from_static(b"HTTP/1.1 418 x\r\n\r\n"));
    p.conn.close();
    assert_eq!(text(&mut p), "HTTP/1.1 418 x\r\n\r\n");
    assert_eq!(p.closed(), Some(Close::AfterFlush));
}

#[test]
fn srv_12_default_replies() {
    let cases: [(&[u8], &str); 3] = [
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX: 1 \x01\r\n\r\n",
            "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;",
            "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\n",
            "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n",
        ),
    ];
    for (i, (input, want)) in cases.into_iter().enumerate() {
        let mut p = peer(ServerConfig::default());
        p.send(input);
        if i == 1 {
            p.send(&vec![b'a'; 16_400]);
            p.send(b"\r\n");
        }
        if i == 2 {
            p.send(format!("X: {}\r\n\r\n", "v".repeat(16_400)).as_bytes());
        }
        let ev = p.events();
        assert!(
            ev.iter()
                .any(|e| matches!(e, ServerEvent::ClientError { .. })),
            "{ev:?}"
        );
        assert_eq!(text(&mut p), want);
        assert_eq!(p.closed(), Some(Close::AfterFlush));
    }
}

#[test]
fn srv_12_nothing_written_once_the_response_started() {
    let mut p = peer(ServerConfig::default());
    p.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab");
    let id = only_request(&mut p);
    p.conn
        .response(id)
        .unwrap()
        .write(Bytes::from_static(b"partial"))
        .unwrap();
    let started = text(&mut p);
    assert!(started.ends_with("7\r\npartial\r\n"), "{started:?}");
    p.eof();
    let ev = p.events();
    assert!(
        matches!(&ev[0], ServerEvent::ClientError { error } if error.code() == "HPE_INVALID_EOF_STATE")
    );
    assert!(ev.contains(&ServerEvent::Aborted { id }), "MSG-10: {ev:?}");
    assert_eq!(text(&mut p), "");
    assert!(p.closed().is_some());
}

#[test]
fn srv_13_a_later_bad_request_overtakes_an_unwritten_response() {
    for input in [
        &b"GET /1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
    ] {
        let mut p = peer(ServerConfig::default());
        p.send(input);
        let ev = p.events();
        assert_eq!(requests(&ev).len(), 1);
        assert!(ev.iter().any(|e| matches!(e, ServerEvent::ClientError { error } if error.code() == "HPE_CLOSED_CONNECTION")));
        assert!(p.conn.response(requests(&ev)[0].0).is_none());
        assert_eq!(text(&mut p), "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    }
    // Trailing CR/LF after a closing request is harmless.
    let mut p = peer(ServerConfig::default());
    p.send(b"GET /1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n\r\n\r\n");
    let id = only_request(&mut p);
    end(&mut p, id, "ok");
    assert_eq!(
        text(&mut p),
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    );
}

// ------------------------------------------------------------ SRV-14 … 16 --

/// SRV-14, SRV-15 and RES-30: responses finished out of order go out in request order.
#[test]
fn srv_14_15_pipelined_responses_go_out_in_request_order() {
    let mut p = peer(ServerConfig::default());
    p.send(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n");
    let ids: Vec<ReqId> = requests(&p.events()).into_iter().map(|r| r.0).collect();
    assert_eq!(ids.len(), 3);
    end(&mut p, ids[1], "2");
    end(&mut p, ids[2], "3");
    assert_eq!(text(&mut p), "", "held until /1 finishes");
    end(&mut p, ids[0], "1");
    assert_eq!(
        text(&mut p),
        format!("{}{}{}", ok_bytes("1"), ok_bytes("2"), ok_bytes("3"))
    );
    let finished: Vec<ReqId> = p
        .events()
        .into_iter()
        .filter_map(|e| match e {
            ServerEvent::Finished { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(finished, ids);
    assert!(p.conn.is_idle());
}

#[test]
fn srv_15_pipelining_is_bounded() {
    let mut p = peer(ServerConfig {
        max_pipelined: 2,
        ..ServerConfig::default()
    });
    p.send(&GET.repeat(5));
    let ids: Vec<ReqId> = requests(&p.events()).into_iter().map(|r| r.0).collect();
    assert_eq!(ids.len(), 2, "parsing stops at the bound");
    assert!(!p.conn.wants_read());
    end(&mut p, ids[0], "a");
    let more = requests(&p.events());
    assert_eq!(more.len(), 1, "one slot freed, one more request");
    assert!(!p.conn.wants_read());
}

#[test]
fn srv_15_backpressure_with_a_slow_reader() {
    let mut p = peer(ServerConfig {
        high_water_mark: 1024,
        ..ServerConfig::default()
    });
    p.set_read_limit(Some(100));
    p.send(GET);
    let id = only_request(&mut p);
    let big = Bytes::from(vec![b'x'; 2000]);
    let below = p.conn.response(id).unwrap().write(big).unwrap();
    assert!(
        !below,
        "write reports back-pressure above the high-water mark"
    );
    assert!(!p.conn.wants_read());
    for _ in 0..30 {
        p.pump();
    }
    assert!(p.conn.wants_read(), "resumes once the client caught up");
}

#[test]
fn srv_16_eof_at_a_boundary_ends_the_connection_and_loses_pending_responses() {
    let mut p = peer(ServerConfig::default());
    p.send(GET);
    let id = only_request(&mut p);
    p.eof();
    p.events();
    assert!(p.conn.response(id).is_none());
    assert_eq!(text(&mut p), "");
    assert_eq!(p.closed(), Some(Close::AfterFlush));
}

#[test]
fn srv_16_eof_inside_a_message_is_a_400() {
    let mut p = peer(ServerConfig::default());
    p.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello");
    let id = only_request(&mut p);
    p.eof();
    let ev = p.events();
    assert!(
        matches!(&ev[0], ServerEvent::ClientError { error } if error.code() == "HPE_INVALID_EOF_STATE")
    );
    assert_eq!(ev[1], ServerEvent::Aborted { id });
    assert_eq!(
        text(&mut p),
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn srv_16_half_open_finishes_the_last_response() {
    let mut p = peer(ServerConfig {
        http_allow_half_open: true,
        ..ServerConfig::default()
    });
    p.send(GET);
    let id = only_request(&mut p);
    p.eof();
    p.events();
    assert_eq!(p.closed(), None);
    end(&mut p, id, "ok");
    assert_eq!(text(&mut p), ok_bytes("ok"));
    assert_eq!(p.closed(), Some(Close::AfterFlush));
}

// ------------------------------------------------------------ SRV-17 … 20 --

fn timers(h: u64, r: u64, interval: u64) -> ServerConfig {
    ServerConfig {
        headers_timeout: Some(ms(h)),
        request_timeout: ms(r),
        connections_checking_interval: ms(interval),
        ..ServerConfig::default()
    }
}

#[test]
fn srv_17_headers_timeout_is_seen_at_the_next_check() {
    let mut p = peer(timers(300, 1000, 50));
    p.advance(ms(349));
    assert!(p.events().is_empty());
    p.advance(ms(1));
    let ev = p.events();
    assert!(
        matches!(&ev[0], ServerEvent::ClientError { error } if error.kind() == ErrorKind::RequestTimeout && error.reason() == "Request timeout")
    );
    assert_eq!(
        text(&mut p),
        "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(p.closed(), Some(Close::AfterFlush));
}

#[test]
fn srv_17_request_timeout_covers_a_trickling_body_but_not_the_handler() {
    let mut p = peer(timers(300, 1000, 50));
    p.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n");
    only_request(&mut p);
    for _ in 0..9 {
        p.advance(ms(100));
        p.send(b"x");
        assert!(
            p.events()
                .iter()
                .all(|e| !matches!(e, ServerEvent::ClientError { .. }))
        );
    }
    p.advance(ms(100));
    assert!(p.events().is_empty(), "1000 ms is not yet past the limit");
    p.advance(ms(50));
    assert!(
        p.events()
            .iter()
            .any(|e| matches!(e, ServerEvent::ClientError { .. }))
    );
    assert!(text(&mut p).starts_with("HTTP/1.1 408 Request Timeout\r\n"));

    // A slow handler after a complete request is never counted.
    let mut p = peer(timers(300, 1000, 50));
    p.send(GET);
    let id = only_request(&mut p);
    p.advance(ms(5000));
    assert!(p.events().is_empty());
    end(&mut p, id, "ok");
    assert_eq!(text(&mut p), ok_bytes("ok"));
}

#[test]
fn srv_17_the_check_runs_on_the_servers_ticks() {
    // Ticks every 30 s from the listen time; the connection arrived 10 s after it.
    let listen = Instant::now();
    let mut p = ServerPeer::new(timers(1000, 2000, 30_000), listen + ms(10_000));
    p.conn.set_check_origin(listen);
    assert_eq!(p.conn.poll_timeout(), Some(listen + ms(30_000)));
    // server.close() stops the checker (SRV-21).
    p.conn.stop_checker();
    assert_eq!(p.conn.poll_timeout(), None);
}

#[test]
fn srv_18_keep_alive_timer_and_advertised_seconds() {
    for (kat, adv) in [(300u64, "timeout=0"), (2500, "timeout=2")] {
        let mut p = peer(ServerConfig {
            keep_alive_timeout: ms(kat),
            ..ServerConfig::default()
        });
        p.send(GET);
        let id = only_request(&mut p);
        end(&mut p, id, "ok");
        let wire = text(&mut p);
        assert!(wire.contains(&format!("Keep-Alive: {adv}\r\n")), "{wire}");
        assert!(matches!(
            p.events()[..],
            [ServerEvent::Finished { status: 200, .. }]
        ));
        p.advance(ms(kat + 999));
        assert_eq!(p.closed(), None);
        p.advance(ms(1));
        let ev = p.events();
        assert!(matches!(
            ev[0],
            ServerEvent::Timeout {
                request: None,
                response: None
            }
        ));
        p.pump();
        assert_eq!(p.closed(), Some(Close::Now), "silently destroyed");
    }
}

#[test]
fn srv_18_next_request_restores_server_timeout_and_zero_disables() {
    let mut p = peer(ServerConfig {
        keep_alive_timeout: ms(300),
        ..ServerConfig::default()
    });
    p.send(GET);
    let id = only_request(&mut p);
    end(&mut p, id, "ok");
    p.pump();
    p.advance(ms(1000));
    p.send(GET);
    let id = only_request(&mut p);
    p.advance(ms(10_000));
    assert_eq!(
        p.closed(),
        None,
        "no keep-alive timer while a request is active"
    );
    end(&mut p, id, "ok");
    p.pump();

    let mut p = peer(ServerConfig {
        keep_alive_timeout: Duration::ZERO,
        ..ServerConfig::default()
    });
    p.send(GET);
    let id = only_request(&mut p);
    end(&mut p, id, "ok");
    assert_eq!(
        text(&mut p),
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"
    );
    assert_eq!(p.conn.poll_timeout(), None);
}

#[test]
fn srv_19_inactivity_timeout_with_and_without_a_listener() {
    let mut p = peer(ServerConfig {
        timeout: ms(1000),
        ..ServerConfig::default()
    });
    p.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab");
    let id = only_request(&mut p);
    p.advance(ms(1000));
    let ev = p.events();
    assert!(ev.contains(&ServerEvent::Timeout {
        request: Some(id),
        response: Some(id)
    }));
    assert!(ev.contains(&ServerEvent::Aborted { id }));
    p.pump();
    assert_eq!(p.closed(), Some(Close::Now));
    assert_eq!(text(&mut p), "");

    let mut p = peer(ServerConfig {
        timeout: ms(1000),
        listeners: Listeners {
            timeout: true,
            ..Listeners::default()
        },
        ..ServerConfig::default()
    });
    p.advance(ms(1000));
    assert!(matches!(p.events()[0], ServerEvent::Timeout { .. }));
    p.pump();
    assert_eq!(p.closed(), None, "a listener keeps the connection");
    p.advance(ms(5000));
    assert!(p.events().is_empty(), "fires once per inactivity period");
}

#[test]
fn srv_20_res_29_response_set_timeout_takes_the_timeout() {
    let mut p = peer(ServerConfig::default());
    p.send(GET);
    let id = only_request(&mut p);
    p.conn.response(id).unwrap().set_timeout(ms(200));
    p.advance(ms(200));
    assert!(matches!(p.events()[0], ServerEvent::Timeout { response: Some(r), .. } if r == id));
    p.pump();
    assert_eq!(p.closed(), None);
}

// ------------------------------------------------------------ SRV-21 … 23 --

#[test]
fn srv_21_23_closing_idle_and_active_connections() {
    // A connection that sent nothing is active (observed in Node).
    let mut fresh = peer(ServerConfig::default());
    assert!(!fresh.conn.is_idle());
    fresh.conn.server_close();
    fresh.pump();
    assert_eq!(fresh.closed(), None);

    // Idle after a finished exchange: destroyed.
    let mut idle = peer(ServerConfig::default());
    idle.send(GET);
    let id = only_request(&mut idle);
    end(&mut idle, id, "ok");
    idle.pump();
    idle.events();
    assert!(idle.conn.is_idle());
    assert!(idle.conn.close_if_idle());
    idle.pump();
    assert_eq!(idle.closed(), Some(Close::Now));

    // Active: finishes normally and lives on.
    let mut active = peer(ServerConfig::default());
    active.send(GET);
    let id = only_request(&mut active);
    active.conn.server_close();
    end(&mut active, id, "ok");
    assert_eq!(text(&mut active), ok_bytes("ok"));
    assert_eq!(active.closed(), None);
}

#[test]
fn srv_22_destroy_writes_nothing() {
    let mut p = peer(ServerConfig::default());
    p.send(GET);
    let id = only_request(&mut p);
    p.conn.destroy();
    assert!(p.conn.response(id).is_none());
    assert_eq!(text(&mut p), "");
    assert_eq!(p.closed(), Some(Close::Now));
}

// ------------------------------------------------------------ MSG-12, RES-31 --

/// MSG-12 and RES-31: an unread body is drained and does not block keep-alive.
#[test]
fn msg_12_unread_bodies_are_drained_not_parsed_as_requests() {
    let mut p = peer(ServerConfig::default());
    p.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
    let id = only_request(&mut p);
    end(&mut p, id, "ok");
    p.send(b"helloGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
    let ev = p.events();
    let r = requests(&ev);
    assert_eq!(r.len(), 1);
    end(&mut p, r[0].0, "2");
    assert_eq!(text(&mut p), format!("{}{}", ok_bytes("ok"), ok_bytes("2")));
}

#[test]
fn msg_12_draining_is_bounded() {
    let mut p = peer(ServerConfig {
        drain_budget: 10,
        ..ServerConfig::default()
    });
    p.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n");
    let id = only_request(&mut p);
    end(&mut p, id, "ok");
    p.pump();
    p.send(&[b'x'; 20]);
    p.events();
    p.pump();
    assert_eq!(p.closed(), Some(Close::AfterFlush));
}

#[test]
fn srv_14_nothing_is_written_after_a_last_response() {
    // Two pipelined requests without Host: the first 400 ends the connection; the
    // second is dispatched (as in Node) but its 400 is never written.
    let mut p = peer(ServerConfig::default());
    p.send(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
    let ev = p.events();
    assert_eq!(requests(&ev).len(), 2);
    let second = requests(&ev)[1].0;
    assert!(ev.contains(&ServerEvent::Dropped { id: second }));
    assert_eq!(
        text(&mut p),
        "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    );
}

/// SRV-24: every Node server event the machine decides has its `ServerEvent`
/// (request, checkContinue, checkExpectation, dropRequest, upgrade, connect,
/// clientError, timeout); `'connection'`, `'close'`, `'listening'` and `'error'`
/// belong to the adapters.
#[test]
fn srv_24_server_events() {
    let all = Listeners {
        check_continue: true,
        check_expectation: true,
        upgrade: true,
        connect: true,
        client_error: true,
        timeout: true,
    };
    let dispatch_of = |cfg: ServerConfig, input: &[u8]| {
        let mut p = peer(cfg);
        p.send(input);
        p.events()
    };
    let cfg = || ServerConfig {
        listeners: all,
        max_requests_per_socket: 1,
        timeout: ms(10),
        ..ServerConfig::default()
    };
    let d = |ev: &[ServerEvent]| requests(ev).first().map(|r| r.1);
    assert_eq!(d(&dispatch_of(cfg(), GET)), Some(Dispatch::Request));
    assert_eq!(
        d(&dispatch_of(
            cfg(),
            b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n"
        )),
        Some(Dispatch::CheckContinue)
    );
    assert_eq!(
        d(&dispatch_of(
            cfg(),
            b"GET / HTTP/1.1\r\nHost: a\r\nExpect: x\r\n\r\n"
        )),
        Some(Dispatch::CheckExpectation)
    );
    let ev = dispatch_of(cfg(), &GET.repeat(2));
    assert_eq!(requests(&ev)[1].1, Dispatch::DropRequest);
    let ev = dispatch_of(
        cfg(),
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n",
    );
    assert!(matches!(ev[0], ServerEvent::Upgrade { connect: false, .. }));
    let ev = dispatch_of(cfg(), b"CONNECT a:1 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(matches!(ev[0], ServerEvent::Upgrade { connect: true, .. }));
    let ev = dispatch_of(cfg(), b"BAD / HTTP/1.1\r\n\r\n");
    assert!(matches!(ev[0], ServerEvent::ClientError { .. }));
    let mut p = peer(cfg());
    p.advance(ms(10));
    assert!(matches!(p.events()[0], ServerEvent::Timeout { .. }));
}
