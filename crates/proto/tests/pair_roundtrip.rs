//! Client/server round trips through [`courier_proto::testing::Pair`]: a
//! `ClientConn` and a `ServerConn` back to back on one virtual clock. Every test
//! checks both sides' events and, where Node fixes them, the exact bytes on the
//! wire. Rule ids (CLI-*, SRV-*, RES-*, PRS-*) are in the test names or comments.

use std::time::{Duration, Instant};

use bytes::Bytes;
use courier_proto::client::{
    Assignment, ClientConfig, ClientConn, ClientError, ClientEvent, Disposition, ExchangeEnd,
};
use courier_proto::headers::Headers;
use courier_proto::outgoing::{ClientRequest, HeaderValue, RequestHeaders, RequestOptions};
use courier_proto::server::{Dispatch, Listeners, ReqId, Responder, ServerConfig, ServerEvent};
use courier_proto::testing::Pair;
use proptest::prelude::*;

// ------------------------------------------------------------------- helpers --

const HOST: &str = "Host: 127.0.0.1:8080\r\n";
const CLIENT_KEEP: &str = "Connection: keep-alive\r\n";
const SERVER_KEEP: &str = "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n";
const KEEP5: Disposition = Disposition::Keep {
    keep_alive_hint: Some(Duration::from_secs(5)),
};

fn pair() -> Pair {
    pair_with(ServerConfig::default())
}

fn pair_with(cfg: ServerConfig) -> Pair {
    Pair::new(cfg, Instant::now())
}

/// A pair whose client end has `cfg` (the Pair builds a default client).
fn pair_with_client(server: ServerConfig, cfg: ClientConfig) -> Pair {
    let mut p = pair_with(server);
    p.client = ClientConn::with_config(cfg, p.now());
    p
}

fn listeners(f: impl FnOnce(&mut Listeners)) -> ServerConfig {
    let mut cfg = ServerConfig::default();
    f(&mut cfg.listeners);
    cfg
}

/// A request through the global (keep-alive) agent to 127.0.0.1:8080.
fn request(method: &str, headers: &[(&str, &str)]) -> ClientRequest {
    request_to(method, "/", headers)
}

fn request_to(method: &str, path: &str, headers: &[(&str, &str)]) -> ClientRequest {
    ClientRequest::new(RequestOptions {
        method: Some(method.into()),
        path: Some(path.into()),
        hostname: Some("127.0.0.1".into()),
        port: Some(8080),
        headers: RequestHeaders::Object(
            headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), HeaderValue::from(*v)))
                .collect(),
        ),
        ..RequestOptions::default()
    })
    .expect("a valid request")
}

fn text(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
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

fn only_request(events: &[ServerEvent]) -> ReqId {
    let r = requests(events);
    assert_eq!(r.len(), 1, "one request expected in {events:?}");
    r[0].0
}

/// The request body the server saw for `id`, and whether it ended (with its trailers).
fn server_body(events: &[ServerEvent], id: ReqId) -> (Vec<u8>, Option<Headers>) {
    let mut body = Vec::new();
    let mut end = None;
    for e in events {
        match e {
            ServerEvent::Request {
                id: i,
                complete: true,
                ..
            } if *i == id => end = Some(Headers::default()),
            ServerEvent::Data { id: i, data } if *i == id => body.extend_from_slice(data),
            ServerEvent::End { id: i, trailers } if *i == id => {
                end = Some(trailers.as_deref().cloned().unwrap_or_default());
            }
            _ => {}
        }
    }
    (body, end)
}

/// Answers request `id` through its `Responder`, then moves the bytes.
fn respond(
    p: &mut Pair,
    id: ReqId,
    f: impl FnOnce(&mut Responder<'_>),
) -> (Vec<ClientEvent>, Vec<ServerEvent>) {
    {
        let mut res = p.server.response(id).expect("an unfinished response");
        f(&mut res);
    }
    p.pump()
}

/// The connection's end: when one side closes after flushing, the other reads EOF.
/// Returns the new client events (also appended to `client_log`).
fn deliver_close(p: &mut Pair) -> Vec<ClientEvent> {
    let mut ce = Vec::new();
    if p.server.wants_close().is_some() && p.server.outgoing().is_empty() {
        p.client.recv_eof();
        while let Some(e) = p.client.poll_event() {
            ce.push(e);
        }
    }
    p.client_log.extend(ce.iter().cloned());
    ce
}

/// The shape of client events, with heads reduced to their status and bodies to
/// their bytes, for whole-sequence comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Continue,
    Info(u16),
    Response(u16),
    Data(Vec<u8>),
    End(Vec<(String, String)>),
    Finish,
    Upgrade(u16, Vec<u8>, bool),
    Close(Disposition, bool),
    Other(String),
}

fn shape(events: &[ClientEvent]) -> Vec<Ev> {
    let mut out: Vec<Ev> = Vec::new();
    for e in events {
        let ev = match e {
            ClientEvent::Continue => Ev::Continue,
            ClientEvent::Information(h) => Ev::Info(h.status),
            ClientEvent::Response(h) => Ev::Response(h.status),
            ClientEvent::Data(d) => {
                if let Some(Ev::Data(prev)) = out.last_mut() {
                    prev.extend_from_slice(d);
                    continue;
                }
                Ev::Data(d.to_vec())
            }
            ClientEvent::End { trailers } => Ev::End(
                trailers
                    .iter()
                    .flat_map(|t| t.iter())
                    .map(|(n, v)| (text(n), text(v)))
                    .collect(),
            ),
            ClientEvent::Finish => Ev::Finish,
            ClientEvent::Upgrade {
                head,
                leftover,
                connect,
            } => Ev::Upgrade(head.status, leftover.to_vec(), *connect),
            ClientEvent::Close(end) => Ev::Close(end.disposition, end.failure.is_some()),
            other => Ev::Other(format!("{other:?}")),
        };
        out.push(ev);
    }
    out
}

fn data(b: &str) -> Ev {
    Ev::Data(b.as_bytes().to_vec())
}

fn the_response(events: &[ClientEvent]) -> &courier_proto::head::ResponseHead {
    events
        .iter()
        .find_map(|e| match e {
            ClientEvent::Response(h) => Some(&**h),
            _ => None,
        })
        .expect("a response")
}

fn ends(events: &[ClientEvent]) -> Vec<ExchangeEnd> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Close(end) => Some(*end),
            _ => None,
        })
        .collect()
}

/// Starts `req` with a default assignment, lets `body` write it, and moves the bytes.
fn send(
    p: &mut Pair,
    req: ClientRequest,
    assignment: Assignment,
    body: impl FnOnce(&mut courier_proto::client::Requester<'_>),
) -> (Vec<ClientEvent>, Vec<ServerEvent>) {
    p.start(req, assignment);
    {
        let mut r = p.client.request().expect("the request runs");
        body(&mut r);
    }
    p.pump()
}

fn end_empty(r: &mut courier_proto::client::Requester<'_>) {
    r.end(None).unwrap();
}

// ------------------------------------------------------- request framings --

/// CLI-12, CLI-19, RES-15: GET without body; the response has a Content-Length.
#[test]
fn cli_12_get_without_body_and_content_length_response() {
    let mut p = pair();
    let (ce, se) = send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    assert_eq!(
        text(&p.client_wire),
        format!("GET / HTTP/1.1\r\n{HOST}{CLIENT_KEEP}\r\n")
    );
    assert_eq!(shape(&ce), [Ev::Finish]);
    let id = only_request(&se);
    assert_eq!(server_body(&se, id), (vec![], Some(Headers::new())));

    let (ce, se) = respond(&mut p, id, |r| r.end(Some("hello".into())).unwrap());
    assert_eq!(
        text(&p.server_wire),
        format!("HTTP/1.1 200 OK\r\n{SERVER_KEEP}Content-Length: 5\r\n\r\nhello")
    );
    assert_eq!(
        shape(&ce),
        [
            Ev::Response(200),
            data("hello"),
            Ev::End(vec![]),
            Ev::Close(KEEP5, false)
        ]
    );
    assert!(matches!(
        se[..],
        [ServerEvent::Finished { status: 200, .. }]
    ));
    let end = ends(&ce)[0];
    assert_eq!(end.request_bytes, p.client_wire.len() as u64);
    assert_eq!(end.response_bytes, p.server_wire.len() as u64);
    assert!(p.client.is_idle());
    assert_eq!(p.server.wants_close(), None);
}

/// CLI-12: POST `end(data)` → Content-Length.
#[test]
fn cli_12_post_end_data_is_content_length() {
    let mut p = pair();
    let (ce, se) = send(&mut p, request("POST", &[]), Assignment::default(), |r| {
        r.end(Some("abc".into())).unwrap();
    });
    assert_eq!(
        text(&p.client_wire),
        format!("POST / HTTP/1.1\r\n{HOST}{CLIENT_KEEP}Content-Length: 3\r\n\r\nabc")
    );
    assert_eq!(shape(&ce), [Ev::Finish]);
    let id = only_request(&se);
    assert_eq!(
        server_body(&se, id),
        (b"abc".to_vec(), Some(Headers::new()))
    );
    let (ce, _) = respond(&mut p, id, |r| r.end(None).unwrap());
    assert_eq!(
        text(&p.server_wire),
        format!("HTTP/1.1 200 OK\r\n{SERVER_KEEP}Content-Length: 0\r\n\r\n")
    );
    assert_eq!(
        shape(&ce),
        [Ev::Response(200), Ev::End(vec![]), Ev::Close(KEEP5, false)]
    );
}

/// CLI-12, RES-19: POST `write` + `end` → chunked.
#[test]
fn cli_12_post_write_end_is_chunked() {
    let mut p = pair();
    let (_, se) = send(&mut p, request("POST", &[]), Assignment::default(), |r| {
        assert!(r.write("ab").unwrap());
        r.end(Some("cd".into())).unwrap();
    });
    assert_eq!(
        text(&p.client_wire),
        format!(
            "POST / HTTP/1.1\r\n{HOST}{CLIENT_KEEP}Transfer-Encoding: chunked\r\n\r\n\
             2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"
        )
    );
    let id = only_request(&se);
    let head = se
        .iter()
        .find_map(|e| match e {
            ServerEvent::Request { head, .. } => Some(head),
            _ => None,
        })
        .unwrap();
    assert_eq!(head.headers.get("transfer-encoding"), Some(&b"chunked"[..]));
    assert_eq!(
        server_body(&se, id),
        (b"abcd".to_vec(), Some(Headers::new()))
    );
    let (ce, _) = respond(&mut p, id, |r| r.end(Some("ok".into())).unwrap());
    assert_eq!(
        shape(&ce),
        [
            Ev::Response(200),
            data("ok"),
            Ev::End(vec![]),
            Ev::Close(KEEP5, false)
        ]
    );
}

/// CLI-12, RES-20, MSG-8: request trailers via `add_trailers` reach the server's `End`.
#[test]
fn cli_12_request_trailers() {
    let mut p = pair();
    let (_, se) = send(&mut p, request("PUT", &[]), Assignment::default(), |r| {
        r.write("xyz").unwrap();
        r.add_trailers([
            ("X-Sum", HeaderValue::from("3")),
            ("X-U", HeaderValue::from("u")),
        ])
        .unwrap();
        r.end(None).unwrap();
    });
    assert_eq!(
        text(&p.client_wire),
        format!(
            "PUT / HTTP/1.1\r\n{HOST}{CLIENT_KEEP}Transfer-Encoding: chunked\r\n\r\n\
             3\r\nxyz\r\n0\r\nX-Sum: 3\r\nX-U: u\r\n\r\n"
        )
    );
    let id = only_request(&se);
    let (body, trailers) = server_body(&se, id);
    assert_eq!(body, b"xyz");
    let trailers = trailers.expect("End");
    assert_eq!(trailers.get("x-sum"), Some(&b"3"[..]));
    assert_eq!(trailers.get("x-u"), Some(&b"u"[..]));
    let (ce, _) = respond(&mut p, id, |r| r.end(None).unwrap());
    assert_eq!(ends(&ce)[0].disposition, KEEP5);
}

// ------------------------------------------------------ response framings --

/// RES-19, RES-20, PRS-19, PRS-20: a chunked response with trailers.
#[test]
fn res_20_chunked_response_with_trailers() {
    let mut p = pair();
    let (_, se) = send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    let id = only_request(&se);
    let (ce, _) = respond(&mut p, id, |r| {
        r.write("ab").unwrap();
        r.add_trailers([("X-T", HeaderValue::from("v"))]).unwrap();
        r.end(Some("cde".into())).unwrap();
    });
    assert_eq!(
        text(&p.server_wire),
        format!(
            "HTTP/1.1 200 OK\r\n{SERVER_KEEP}Transfer-Encoding: chunked\r\n\r\n\
             2\r\nab\r\n3\r\ncde\r\n0\r\nX-T: v\r\n\r\n"
        )
    );
    assert_eq!(
        shape(&ce),
        [
            Ev::Response(200),
            data("abcde"),
            Ev::End(vec![("X-T".into(), "v".into())]),
            Ev::Close(KEEP5, false)
        ]
    );
    assert!(p.client.is_idle());
}

/// RES-14, CLI-18: `Connection: close` from the server makes the exchange `Close`.
#[test]
fn cli_18_server_connection_close() {
    let mut p = pair();
    let (_, se) = send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    let id = only_request(&se);
    let (ce, _) = respond(&mut p, id, |r| {
        r.set_header("Connection", "close").unwrap();
        r.end(Some("bye".into())).unwrap();
    });
    assert_eq!(
        text(&p.server_wire),
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye"
    );
    assert_eq!(
        shape(&ce),
        [
            Ev::Response(200),
            data("bye"),
            Ev::End(vec![]),
            Ev::Close(Disposition::Close, false)
        ]
    );
    assert!(p.client.is_closed());
    assert!(p.server.wants_close().is_some());
    // The server's close reaches the client as EOF: nothing more happens.
    assert_eq!(deliver_close(&mut p), []);
}

/// RES-15 case 5, PRS-17 case 4, PRS-25: a body delimited by the end of the
/// connection. The server removed both framing fields; Node still writes
/// `Connection: keep-alive` (the RES-15 quirk) and then closes. The client's
/// response is complete at EOF, and a close-delimited response never keeps.
#[test]
fn res_15_close_delimited_response() {
    let mut p = pair();
    let (_, se) = send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    let id = only_request(&se);
    let (ce, _) = respond(&mut p, id, |r| {
        r.remove_header("Content-Length").unwrap();
        r.remove_header("Transfer-Encoding").unwrap();
        r.write("ab").unwrap();
        r.end(Some("c".into())).unwrap();
    });
    assert_eq!(
        text(&p.server_wire),
        format!("HTTP/1.1 200 OK\r\n{SERVER_KEEP}\r\nabc")
    );
    assert_eq!(shape(&ce), [Ev::Response(200), data("abc")]);
    assert!(!the_response(&ce).info.keep_alive);
    assert!(p.server.wants_close().is_some());
    let ce = deliver_close(&mut p);
    assert_eq!(
        shape(&ce),
        [Ev::End(vec![]), Ev::Close(Disposition::Close, false)]
    );
}

/// RES-14, RES-15, PRS-25: `Connection: close` with a close-delimited body.
#[test]
fn res_14_connection_close_and_close_delimited_body() {
    let mut p = pair();
    let (_, se) = send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    let id = only_request(&se);
    let (ce, _) = respond(&mut p, id, |r| {
        r.set_header("Connection", "close").unwrap();
        r.remove_header("Content-Length").unwrap();
        r.remove_header("Transfer-Encoding").unwrap();
        r.write("stream").unwrap();
        r.end(None).unwrap();
    });
    assert_eq!(
        text(&p.server_wire),
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nstream"
    );
    assert_eq!(shape(&ce), [Ev::Response(200), data("stream")]);
    let ce = deliver_close(&mut p);
    assert_eq!(
        shape(&ce),
        [Ev::End(vec![]), Ev::Close(Disposition::Close, false)]
    );
}

/// PRS-17, RES-16, CLI-17: a response to HEAD has no body although the server sets
/// Content-Length; the connection is reused and the next exchange is intact.
#[test]
fn prs_17_head_response_has_no_body() {
    let mut p = pair();
    let (_, se) = send(
        &mut p,
        request("HEAD", &[]),
        Assignment::default(),
        end_empty,
    );
    assert_eq!(
        text(&p.client_wire),
        format!("HEAD / HTTP/1.1\r\n{HOST}{CLIENT_KEEP}\r\n")
    );
    let id = only_request(&se);
    let (ce, se) = respond(&mut p, id, |r| {
        r.set_header("Content-Length", 5).unwrap();
        r.end(Some("hello".into())).unwrap();
    });
    assert_eq!(
        text(&p.server_wire),
        format!("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n{SERVER_KEEP}\r\n")
    );
    assert_eq!(
        shape(&ce),
        [Ev::Response(200), Ev::End(vec![]), Ev::Close(KEEP5, false)]
    );
    assert_eq!(
        the_response(&ce).headers.get("content-length"),
        Some(&b"5"[..])
    );
    assert!(matches!(
        se[..],
        [ServerEvent::Finished { status: 200, .. }]
    ));

    // The next exchange on the same connection sees only its own bytes.
    let reused = Assignment {
        reused: true,
        ..Assignment::default()
    };
    let (_, se) = send(&mut p, request("GET", &[]), reused, end_empty);
    let id = only_request(&se);
    let (ce, _) = respond(&mut p, id, |r| r.end(Some("x".into())).unwrap());
    assert_eq!(
        shape(&ce),
        [
            Ev::Response(200),
            data("x"),
            Ev::End(vec![]),
            Ev::Close(KEEP5, false)
        ]
    );
}

/// RES-16, PRS-17: 204 and 304 are complete at once, with no framing field.
#[test]
fn res_16_204_and_304_have_no_body() {
    for (status, line) in [(204, "204 No Content"), (304, "304 Not Modified")] {
        let mut p = pair();
        let (_, se) = send(
            &mut p,
            request("GET", &[]),
            Assignment::default(),
            end_empty,
        );
        let id = only_request(&se);
        let (ce, _) = respond(&mut p, id, |r| {
            r.set_status_code(status);
            r.end(Some("dropped".into())).unwrap();
        });
        assert_eq!(
            text(&p.server_wire),
            format!("HTTP/1.1 {line}\r\n{SERVER_KEEP}\r\n")
        );
        assert_eq!(
            shape(&ce),
            [
                Ev::Response(status),
                Ev::End(vec![]),
                Ev::Close(KEEP5, false)
            ]
        );
        assert!(p.client.is_idle());
    }
}

// ------------------------------------------------------------- keep-alive --

/// CLI-18, CLI-24, AGT-7: two exchanges on one connection; the second is on a
/// reused socket.
#[test]
fn cli_24_two_exchanges_on_one_connection() {
    let mut p = pair();
    let (_, se) = send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    let first = only_request(&se);
    let (ce, _) = respond(&mut p, first, |r| r.end(Some("one".into())).unwrap());
    assert_eq!(ends(&ce)[0].disposition, KEEP5);
    assert!(p.client.is_idle());

    let reused = Assignment {
        reused: true,
        ..Assignment::default()
    };
    let (_, se) = send(&mut p, request_to("POST", "/2", &[]), reused, |r| {
        r.end(Some("two".into())).unwrap();
    });
    assert!(p.client.current().unwrap().reused_socket());
    let second = only_request(&se);
    assert_ne!(first, second);
    assert_eq!(server_body(&se, second).0, b"two");
    let (ce, _) = respond(&mut p, second, |r| r.end(Some("2".into())).unwrap());
    assert_eq!(
        shape(&ce),
        [
            Ev::Response(200),
            data("2"),
            Ev::End(vec![]),
            Ev::Close(KEEP5, false)
        ]
    );
    let wire = text(&p.client_wire);
    assert_eq!(
        wire,
        format!(
            "GET / HTTP/1.1\r\n{HOST}{CLIENT_KEEP}\r\n\
             POST /2 HTTP/1.1\r\n{HOST}{CLIENT_KEEP}Content-Length: 3\r\n\r\ntwo"
        )
    );
    let all = ends(&p.client_log);
    assert_eq!(all.len(), 2);
    assert_eq!(
        all[0].request_bytes + all[1].request_bytes,
        wire.len() as u64
    );
    assert_eq!(
        all[0].response_bytes + all[1].response_bytes,
        p.server_wire.len() as u64
    );
}

/// CLI-18, RES-14: the second exchange ends `Close` when the server says
/// `Connection: close`.
#[test]
fn cli_18_keep_then_close() {
    let mut p = pair();
    let (_, se) = send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    let id = only_request(&se);
    let (ce, _) = respond(&mut p, id, |r| r.end(None).unwrap());
    assert_eq!(ends(&ce)[0].disposition, KEEP5);
    let reused = Assignment {
        reused: true,
        ..Assignment::default()
    };
    let (_, se) = send(&mut p, request("GET", &[]), reused, end_empty);
    let id = only_request(&se);
    let (ce, _) = respond(&mut p, id, |r| {
        r.set_header("Connection", "close").unwrap();
        r.end(None).unwrap();
    });
    assert_eq!(ends(&ce)[0].disposition, Disposition::Close);
    assert!(p.client.is_closed());
    // A closed connection takes no more requests.
    assert!(
        p.client
            .start(p.now(), request("GET", &[]), reused)
            .is_err()
    );
}

/// CLI-19, CLI-18: the server answers before the request body is finished; the
/// exchange ends (and keeps the connection) only once `'finish'` came.
#[test]
fn cli_19_early_response_waits_for_finish() {
    let mut p = pair();
    let (ce, se) = send(&mut p, request("POST", &[]), Assignment::default(), |r| {
        r.write("ab").unwrap();
    });
    assert_eq!(shape(&ce), []);
    let id = only_request(&se);
    let (ce, _) = respond(&mut p, id, |r| r.end(Some("early".into())).unwrap());
    assert_eq!(
        shape(&ce),
        [Ev::Response(200), data("early"), Ev::End(vec![])]
    );
    assert!(!p.client.is_idle());
    {
        let mut r = p.client.request().unwrap();
        r.end(Some("cd".into())).unwrap();
    }
    let (ce, se) = p.pump();
    assert_eq!(shape(&ce), [Ev::Finish, Ev::Close(KEEP5, false)]);
    // RES-31: the server still reads the rest of the body.
    assert_eq!(server_body(&se, id), (b"cd".to_vec(), Some(Headers::new())));
    assert_eq!(
        text(&p.client_wire),
        format!(
            "POST / HTTP/1.1\r\n{HOST}{CLIENT_KEEP}Transfer-Encoding: chunked\r\n\r\n\
             2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"
        )
    );
    assert!(p.client.is_idle());
}

/// SRV-18, SRV-19, CLI-24: the server's keep-alive timer closes the idle connection;
/// seen as EOF, the idle client connection closes and takes no request.
#[test]
fn srv_18_idle_close_reaches_the_client() {
    let mut p = pair();
    let (_, se) = send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    let id = only_request(&se);
    respond(&mut p, id, |r| r.end(None).unwrap());
    // keepAliveTimeout 5 s + 1 s (SRV-18).
    p.advance(Duration::from_millis(5999));
    let (_, se) = p.pump();
    assert!(se.is_empty());
    p.advance(Duration::from_millis(1));
    let (_, se) = p.pump();
    assert!(matches!(
        se[..],
        [ServerEvent::Timeout {
            request: None,
            response: None
        }]
    ));
    assert!(p.server.wants_close().is_some());
    assert_eq!(deliver_close(&mut p), []);
    assert!(p.client.is_closed());
    assert!(
        p.client
            .start(p.now(), request("GET", &[]), Assignment::default())
            .is_err()
    );
}

/// CLI-20, CLI-24: a request sent on a reused connection that the server closed
/// meanwhile fails with `socket hang up`, flagged as a retry candidate.
#[test]
fn cli_24_reused_connection_closed_by_the_server() {
    let mut p = pair();
    let (_, se) = send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    let id = only_request(&se);
    respond(&mut p, id, |r| r.end(None).unwrap());
    p.advance(Duration::from_secs(6));
    p.pump();
    // The EOF has not reached the client yet: it sends the next request.
    let reused = Assignment {
        reused: true,
        ..Assignment::default()
    };
    let (ce, se) = send(&mut p, request("GET", &[]), reused, end_empty);
    assert_eq!(shape(&ce), [Ev::Finish]);
    assert!(se.is_empty(), "the closed server reads nothing");
    let ce = deliver_close(&mut p);
    assert!(matches!(
        ce[..],
        [
            ClientEvent::Error(ClientError::HangUp),
            ClientEvent::Close(_)
        ]
    ));
    let end = ends(&ce)[0];
    assert_eq!(end.disposition, Disposition::Close);
    let failure = end.failure.expect("a failed exchange");
    assert!(failure.reused_socket && failure.connection_lost && failure.idempotent);
    assert!(!failure.response_bytes_received);
}

// -------------------------------------------------------------------- 1xx --

/// CLI-15, RES-22: `102`, `103` (Link), `100`, then `200`: information 102,
/// information 103, continue, information 100, response 200.
#[test]
fn cli_15_interim_responses_in_order() {
    let mut p = pair();
    let (_, se) = send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    let id = only_request(&se);
    let (ce, _) = respond(&mut p, id, |r| {
        r.write_processing().unwrap();
        r.write_early_hints(["</a.css>; rel=preload"], []).unwrap();
        r.write_continue().unwrap();
        r.end(Some("final".into())).unwrap();
    });
    assert_eq!(
        text(&p.server_wire),
        format!(
            "HTTP/1.1 102 Processing\r\n\r\n\
             HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n\
             HTTP/1.1 100 Continue\r\n\r\n\
             HTTP/1.1 200 OK\r\n{SERVER_KEEP}Content-Length: 5\r\n\r\nfinal"
        )
    );
    assert_eq!(
        shape(&ce),
        [
            Ev::Info(102),
            Ev::Info(103),
            Ev::Continue,
            Ev::Info(100),
            Ev::Response(200),
            data("final"),
            Ev::End(vec![]),
            Ev::Close(KEEP5, false)
        ]
    );
    let link = ce.iter().find_map(|e| match e {
        ClientEvent::Information(h) if h.status == 103 => h.headers.get("link"),
        _ => None,
    });
    assert_eq!(link, Some(&b"</a.css>; rel=preload"[..]));
}

/// CLI-15: interim responses that arrive one at a time, in separate reads.
#[test]
fn cli_15_interim_responses_in_separate_reads() {
    let mut p = pair();
    let (_, se) = send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    let id = only_request(&se);
    let (ce, _) = respond(&mut p, id, |r| r.write_processing().unwrap());
    assert_eq!(shape(&ce), [Ev::Info(102)]);
    let (ce, _) = respond(&mut p, id, |r| {
        r.write_early_hints(
            ["</b.js>; rel=preload"],
            [("x-foo", HeaderValue::from("bar"))],
        )
        .unwrap();
    });
    assert_eq!(shape(&ce), [Ev::Info(103)]);
    let (ce, _) = respond(&mut p, id, |r| r.end(None).unwrap());
    assert_eq!(
        shape(&ce),
        [Ev::Response(200), Ev::End(vec![]), Ev::Close(KEEP5, false)]
    );
}

// -------------------------------------------------------- 100-continue --

const EXPECT: &[(&str, &str)] = &[("Expect", "100-continue")];

fn expect_head() -> String {
    format!(
        "POST / HTTP/1.1\r\nExpect: 100-continue\r\n{HOST}{CLIENT_KEEP}\
         Transfer-Encoding: chunked\r\n\r\n"
    )
}

/// CLI-13, CLI-15, CLI-19, SRV-6: the server's automatic 100 releases the held body;
/// `'finish'` follows `'continue'`.
#[test]
fn cli_14_automatic_100_releases_the_held_body() {
    let mut p = pair();
    p.start(request("POST", EXPECT), Assignment::default());
    // CLI-13: the head is rendered in the constructor and leaves at once.
    {
        let mut r = p.client.request().unwrap();
        r.write("abc").unwrap();
        r.end(None).unwrap();
    }
    let (ce, se) = p.pump();
    assert_eq!(
        text(&p.client_wire),
        format!("{}3\r\nabc\r\n0\r\n\r\n", expect_head())
    );
    assert_eq!(shape(&ce), [Ev::Continue, Ev::Info(100), Ev::Finish]);
    let (id, dispatch) = requests(&se)[0];
    assert_eq!(dispatch, Dispatch::Request);
    assert_eq!(
        server_body(&se, id),
        (b"abc".to_vec(), Some(Headers::new()))
    );
    let (ce, _) = respond(&mut p, id, |r| r.end(Some("ok".into())).unwrap());
    assert_eq!(
        text(&p.server_wire),
        format!(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n{SERVER_KEEP}Content-Length: 2\r\n\r\nok"
        )
    );
    assert_eq!(
        shape(&ce),
        [
            Ev::Response(200),
            data("ok"),
            Ev::End(vec![]),
            Ev::Close(KEEP5, false)
        ]
    );
}

/// The 100-continue hold, SRV-6, SRV-7: a `checkContinue` server answers with a final
/// response and no 100: the held body is never sent and the connection is not
/// reused, whatever the response says.
#[test]
fn cli_14_final_response_first_drops_the_held_body() {
    for (status, conn) in [(417, None), (200, None), (200, Some("keep-alive"))] {
        let mut p = pair_with(listeners(|l| l.check_continue = true));
        p.start(request("POST", EXPECT), Assignment::default());
        {
            let mut r = p.client.request().unwrap();
            r.write("held").unwrap();
            r.end(Some("back".into())).unwrap();
        }
        let (ce, se) = p.pump();
        assert_eq!(shape(&ce), []);
        assert_eq!(text(&p.client_wire), expect_head());
        let (id, dispatch) = requests(&se)[0];
        assert_eq!(dispatch, Dispatch::CheckContinue);
        let (ce, _) = respond(&mut p, id, |r| {
            r.set_status_code(status);
            if let Some(c) = conn {
                r.set_header("Connection", c).unwrap();
            }
            r.end(Some("no".into())).unwrap();
        });
        let got = shape(&ce);
        assert_eq!(
            got,
            [
                Ev::Response(status),
                data("no"),
                Ev::End(vec![]),
                Ev::Close(Disposition::Close, false)
            ],
            "{status} {conn:?}"
        );
        // SRV-7: without a 100 the server closes too, unless told otherwise.
        assert_eq!(
            text(&p.server_wire).contains("Connection: close"),
            conn.is_none()
        );
        // Nothing more is ever sent, also after the hold deadline.
        p.advance(Duration::from_secs(5));
        let (ce, _) = p.pump();
        assert_eq!(shape(&ce), []);
        assert_eq!(text(&p.client_wire), expect_head());
        assert!(p.client.is_closed());
    }
}

/// CLI-15 and the hold: a `102` does not release the held body; the `100` does.
#[test]
fn cli_15_only_a_100_releases_the_held_body() {
    let mut p = pair_with(listeners(|l| l.check_continue = true));
    let (ce, se) = send(
        &mut p,
        request("POST", EXPECT),
        Assignment::default(),
        |r| {
            r.write("abc").unwrap();
            r.end(None).unwrap();
        },
    );
    assert_eq!(shape(&ce), []);
    let id = only_request(&se);
    let (ce, se) = respond(&mut p, id, |r| r.write_processing().unwrap());
    assert_eq!(shape(&ce), [Ev::Info(102)]);
    assert!(se.is_empty());
    assert_eq!(text(&p.client_wire), expect_head());
    let (ce, se) = respond(&mut p, id, |r| r.write_continue().unwrap());
    assert_eq!(shape(&ce), [Ev::Continue, Ev::Info(100), Ev::Finish]);
    assert_eq!(
        server_body(&se, id),
        (b"abc".to_vec(), Some(Headers::new()))
    );
    // SRV-7: a 100 was written, so the final response keeps the connection.
    let (ce, _) = respond(&mut p, id, |r| r.end(None).unwrap());
    assert_eq!(
        shape(&ce),
        [Ev::Response(200), Ev::End(vec![]), Ev::Close(KEEP5, false)]
    );
}

/// CLI-14, SRV-6: the automatic 100 arrives before the application wrote the body;
/// the body written later goes out at once.
#[test]
fn cli_14_body_written_after_the_100() {
    let mut p = pair();
    let (ce, se) = send(
        &mut p,
        request("POST", EXPECT),
        Assignment::default(),
        |_| {},
    );
    assert_eq!(text(&p.client_wire), expect_head());
    assert_eq!(shape(&ce), [Ev::Continue, Ev::Info(100)]);
    let id = only_request(&se);
    {
        let mut r = p.client.request().unwrap();
        r.end(Some("late".into())).unwrap();
    }
    let (ce, se) = p.pump();
    assert_eq!(shape(&ce), [Ev::Finish]);
    assert_eq!(
        server_body(&se, id),
        (b"late".to_vec(), Some(Headers::new()))
    );
}

/// CLI-14: `continue_timeout: None` is Node's behaviour: the body goes at once.
#[test]
fn cli_14_without_the_hold_the_body_goes_at_once() {
    let cfg = ClientConfig {
        continue_timeout: None,
        ..ClientConfig::default()
    };
    let mut p = pair_with_client(listeners(|l| l.check_continue = true), cfg);
    p.start(request("POST", EXPECT), Assignment::default());
    {
        let mut r = p.client.request().unwrap();
        r.write("abc").unwrap();
        r.end(None).unwrap();
    }
    let (ce, se) = p.pump();
    assert_eq!(
        text(&p.client_wire),
        format!("{}3\r\nabc\r\n0\r\n\r\n", expect_head())
    );
    assert_eq!(shape(&ce), [Ev::Finish]);
    let (id, dispatch) = requests(&se)[0];
    assert_eq!(dispatch, Dispatch::CheckContinue);
    assert_eq!(server_body(&se, id).0, b"abc");
    let (ce, _) = respond(&mut p, id, |r| {
        r.write_continue().unwrap();
        r.end(None).unwrap();
    });
    assert_eq!(
        shape(&ce),
        [
            Ev::Continue,
            Ev::Info(100),
            Ev::Response(200),
            Ev::End(vec![]),
            Ev::Close(KEEP5, false)
        ]
    );
}

/// The hold's deadline (1 s by default) on the virtual clock releases the body.
#[test]
fn cli_14_hold_deadline_releases_the_body() {
    let mut p = pair_with(listeners(|l| l.check_continue = true));
    p.start(request("POST", EXPECT), Assignment::default());
    {
        let mut r = p.client.request().unwrap();
        r.write("late").unwrap();
        r.end(None).unwrap();
    }
    let (_, se) = p.pump();
    let (id, _) = requests(&se)[0];
    assert_eq!(
        p.client.poll_timeout(),
        Some(p.now() + Duration::from_secs(1))
    );
    p.advance(Duration::from_millis(999));
    let (ce, se) = p.pump();
    assert_eq!(shape(&ce), []);
    assert!(se.is_empty());
    assert_eq!(text(&p.client_wire), expect_head());

    p.advance(Duration::from_millis(1));
    let (ce, se) = p.pump();
    assert_eq!(shape(&ce), [Ev::Finish]);
    assert_eq!(
        text(&p.client_wire),
        format!("{}4\r\nlate\r\n0\r\n\r\n", expect_head())
    );
    assert_eq!(
        server_body(&se, id),
        (b"late".to_vec(), Some(Headers::new()))
    );
    // SRV-7: the server answers without a 100, so it closes.
    let (ce, _) = respond(&mut p, id, |r| r.end(Some("ok".into())).unwrap());
    assert_eq!(
        shape(&ce),
        [
            Ev::Response(200),
            data("ok"),
            Ev::End(vec![]),
            Ev::Close(Disposition::Close, false)
        ]
    );
}

// ---------------------------------------------------------------- upgrade --

const UPGRADE: &[(&str, &str)] = &[("Connection", "Upgrade"), ("Upgrade", "x")];
const SWITCH: &str =
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n";

fn upgrade_pair(listener: bool) -> (Pair, Vec<ClientEvent>) {
    let mut p = pair_with(listeners(|l| l.upgrade = true));
    let assignment = Assignment {
        upgrade_listener: listener,
        ..Assignment::default()
    };
    let (ce, se) = send(&mut p, request("GET", UPGRADE), assignment, end_empty);
    assert_eq!(
        text(&p.client_wire),
        format!("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: x\r\n{HOST}\r\n")
    );
    let [
        ServerEvent::Upgrade {
            connect: false,
            leftover,
            head,
        },
    ] = &se[..]
    else {
        panic!("server upgrade expected: {se:?}");
    };
    assert!(leftover.is_empty());
    assert_eq!(head.headers.get("upgrade"), Some(&b"x"[..]));
    p.server.write_raw(Bytes::from(format!("{SWITCH}hello, x")));
    let (more, se) = p.pump();
    assert!(se.is_empty());
    let mut ce = ce;
    ce.extend(more);
    (p, ce)
}

/// CLI-16, SRV-8: with an `'upgrade'` listener the client hands over with the bytes
/// that followed the 101 head; the connection is detached.
#[test]
fn cli_16_upgrade_with_listener() {
    let (p, ce) = upgrade_pair(true);
    assert_eq!(text(&p.server_wire), format!("{SWITCH}hello, x"));
    assert_eq!(
        shape(&ce),
        [
            Ev::Finish,
            Ev::Upgrade(101, b"hello, x".to_vec(), false),
            Ev::Close(Disposition::Detached, false)
        ]
    );
    let up = ce
        .iter()
        .find_map(|e| match e {
            ClientEvent::Upgrade { head, .. } => Some(head),
            _ => None,
        })
        .unwrap();
    assert_eq!(up.headers.get("upgrade"), Some(&b"x"[..]));
    assert!(!p.client.is_idle() && !p.client.is_closed());
}

/// CLI-16: without a listener the connection is destroyed; no `'response'`, no
/// `'error'`, only `'close'`.
#[test]
fn cli_16_upgrade_without_listener_closes() {
    let (mut p, ce) = upgrade_pair(false);
    assert_eq!(
        shape(&ce),
        [Ev::Finish, Ev::Close(Disposition::Close, false)]
    );
    assert!(p.client.is_closed());
    assert_eq!(
        p.client.wants_close(),
        Some(courier_proto::client::Close::Now)
    );
}

/// CLI-16, SRV-9: CONNECT; the server's connect listener answers on the socket.
#[test]
fn cli_16_connect_with_listener() {
    let mut p = pair_with(listeners(|l| l.connect = true));
    let assignment = Assignment {
        connect_listener: true,
        ..Assignment::default()
    };
    let (ce, se) = send(
        &mut p,
        request_to("CONNECT", "example.com:443", &[]),
        assignment,
        end_empty,
    );
    assert_eq!(
        text(&p.client_wire),
        format!("CONNECT example.com:443 HTTP/1.1\r\n{HOST}{CLIENT_KEEP}\r\n")
    );
    let [
        ServerEvent::Upgrade {
            connect: true,
            head,
            ..
        },
    ] = &se[..]
    else {
        panic!("server connect expected: {se:?}");
    };
    assert_eq!(head.url(), b"example.com:443");
    assert_eq!(shape(&ce), [Ev::Finish]);
    p.server.write_raw(Bytes::from_static(
        b"HTTP/1.1 200 Connection Established\r\n\r\ntunnel bytes",
    ));
    let (ce, _) = p.pump();
    assert_eq!(
        shape(&ce),
        [
            Ev::Upgrade(200, b"tunnel bytes".to_vec(), true),
            Ev::Close(Disposition::Detached, false)
        ]
    );
}

/// CLI-16: a CONNECT answered without a `'connect'` listener closes the connection.
#[test]
fn cli_16_connect_without_listener_closes() {
    let mut p = pair_with(listeners(|l| l.connect = true));
    let (_, _) = send(
        &mut p,
        request_to("CONNECT", "example.com:443", &[]),
        Assignment::default(),
        end_empty,
    );
    p.server.write_raw(Bytes::from_static(
        b"HTTP/1.1 200 Connection Established\r\n\r\n",
    ));
    let (ce, _) = p.pump();
    assert_eq!(shape(&ce), [Ev::Close(Disposition::Close, false)]);
    assert!(p.client.is_closed());
}

// --------------------------------------------------------------- proptest --

#[derive(Debug, Clone)]
enum Interim {
    Continue,
    Processing,
    EarlyHints,
}

#[derive(Debug, Clone)]
struct Exchange {
    method: &'static str,
    /// Request body pieces; `end_with_data` sends the last one with `end`.
    req_pieces: Vec<Vec<u8>>,
    end_with_data: bool,
    interims: Vec<Interim>,
    status: u16,
    resp_pieces: Vec<Vec<u8>>,
    /// Chunked via `write`, or `end(data)` with the whole body (Content-Length).
    resp_chunked: bool,
}

fn pieces() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..5)
}

fn exchange() -> impl Strategy<Value = Exchange> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "HEAD", "DELETE"]),
        pieces(),
        any::<bool>(),
        prop::collection::vec(
            prop_oneof![
                Just(Interim::Continue),
                Just(Interim::Processing),
                Just(Interim::EarlyHints)
            ],
            0..3,
        ),
        prop::sample::select(vec![200u16, 201, 404, 500]),
        pieces(),
        any::<bool>(),
    )
        .prop_map(
            |(method, req_pieces, end_with_data, interims, status, resp_pieces, resp_chunked)| {
                Exchange {
                    method,
                    req_pieces,
                    end_with_data,
                    interims,
                    status,
                    resp_pieces,
                    resp_chunked,
                }
            },
        )
}

fn concat(p: &[Vec<u8>]) -> Vec<u8> {
    p.concat()
}

/// Runs one exchange on `p`; returns the client's events and the server's.
fn run_exchange(p: &mut Pair, x: &Exchange, reused: bool) -> (Vec<ClientEvent>, Vec<ServerEvent>) {
    let body = concat(&x.req_pieces);
    // CLI-12: GET, HEAD and DELETE send body bytes unframed, so a body there gets a
    // user Content-Length (used verbatim).
    let unframed = matches!(x.method, "GET" | "HEAD" | "DELETE");
    let len = body.len().to_string();
    let headers: Vec<(&str, &str)> = if unframed && !body.is_empty() {
        vec![("Content-Length", len.as_str())]
    } else {
        vec![]
    };
    let assignment = Assignment {
        reused,
        ..Assignment::default()
    };
    let (mut ce, mut se) = send(p, request(x.method, &headers), assignment, |r| {
        let n = x.req_pieces.len();
        for (i, piece) in x.req_pieces.iter().enumerate() {
            if x.end_with_data && i + 1 == n {
                r.end(Some(Bytes::from(piece.clone()))).unwrap();
            } else {
                r.write(Bytes::from(piece.clone())).unwrap();
            }
        }
        r.end(None).unwrap();
    });
    let id = only_request(&se);
    let (c2, s2) = respond(p, id, |r| {
        for i in &x.interims {
            match i {
                Interim::Continue => r.write_continue().unwrap(),
                Interim::Processing => r.write_processing().unwrap(),
                Interim::EarlyHints => r.write_early_hints(["</s.css>; rel=preload"], []).unwrap(),
            }
        }
        r.set_status_code(x.status);
        if x.resp_chunked {
            for piece in &x.resp_pieces {
                r.write(Bytes::from(piece.clone())).unwrap();
            }
            r.end(None).unwrap();
        } else {
            r.end(Some(Bytes::from(concat(&x.resp_pieces)))).unwrap();
        }
    });
    ce.extend(c2);
    se.extend(s2);
    (ce, se)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// CLI-12, CLI-15, CLI-17, CLI-18, RES-15, RES-16, RES-19: random keep-alive
    /// exchanges on one connection deliver exactly the bytes sent both ways.
    #[test]
    fn keep_alive_exchanges_deliver_every_body(xs in prop::collection::vec(exchange(), 1..4)) {
        let mut p = pair();
        for (n, x) in xs.iter().enumerate() {
            let (ce, se) = run_exchange(&mut p, x, n > 0);
            let id = only_request(&se);
            let (got, end) = server_body(&se, id);
            prop_assert_eq!(got, concat(&x.req_pieces), "request body of {}", n);
            prop_assert!(end.is_some());

            let mut body = Vec::new();
            let mut closes = 0;
            let mut infos = 0;
            let mut saw_response = false;
            for (i, e) in ce.iter().enumerate() {
                match e {
                    ClientEvent::Data(d) => body.extend_from_slice(d),
                    ClientEvent::Information(_) => {
                        prop_assert!(!saw_response);
                        infos += 1;
                    }
                    ClientEvent::Response(h) => {
                        prop_assert_eq!(h.status, x.status);
                        saw_response = true;
                    }
                    ClientEvent::Close(end) => {
                        closes += 1;
                        prop_assert_eq!(i, ce.len() - 1, "Close is last: {:?}", ce);
                        prop_assert_eq!(end.disposition, KEEP5);
                        prop_assert!(end.failure.is_none());
                    }
                    ClientEvent::Error(e) => prop_assert!(false, "error {:?}", e),
                    ClientEvent::Aborted { .. } | ClientEvent::Poisoned | ClientEvent::Abort
                    | ClientEvent::Upgrade { .. } | ClientEvent::Timeout => {
                        prop_assert!(false, "unexpected {:?}", e);
                    }
                    _ => {}
                }
            }
            let expected = if x.method == "HEAD" { vec![] } else { concat(&x.resp_pieces) };
            prop_assert_eq!(body, expected, "response body of {}", n);
            prop_assert_eq!(closes, 1);
            prop_assert_eq!(infos, x.interims.len());
            prop_assert!(p.client.is_idle());
            prop_assert!(p.server.wants_close().is_none());
        }
    }
}

// ------------------------------------------------- failures and timeouts --

fn drain(p: &mut Pair) -> Vec<ClientEvent> {
    let mut v = Vec::new();
    while let Some(e) = p.client.poll_event() {
        v.push(e);
    }
    p.client_log.extend(v.iter().cloned());
    v
}

/// CLI-21: `abort()` during the body: `'abort'`, `'aborted'`, `'close'`, no `'error'`.
#[test]
fn cli_21_abort_during_the_body() {
    let mut p = pair();
    let (_, se) = send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    let id = only_request(&se);
    let (ce, _) = respond(&mut p, id, |r| {
        r.write("part").unwrap();
    });
    assert_eq!(shape(&ce), [Ev::Response(200), data("part")]);
    assert!(p.client.abort());
    let ce = drain(&mut p);
    assert!(
        matches!(
            ce[..],
            [
                ClientEvent::Abort,
                ClientEvent::Aborted { complete: false },
                ClientEvent::Close(ExchangeEnd {
                    disposition: Disposition::Close,
                    failure: Some(_),
                    ..
                })
            ]
        ),
        "{ce:?}"
    );
    assert_eq!(
        p.client.wants_close(),
        Some(courier_proto::client::Close::Now)
    );
    assert!(!p.client.abort(), "abort() twice does nothing");
}

/// CLI-21: `destroy()` before a response: `'error'` `socket hang up`, `'close'`.
#[test]
fn cli_21_destroy_before_the_response() {
    let mut p = pair();
    send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    p.client.destroy(None);
    let ce = drain(&mut p);
    assert!(
        matches!(
            ce[..],
            [
                ClientEvent::Error(ClientError::HangUp),
                ClientEvent::Close(_)
            ]
        ),
        "{ce:?}"
    );
    let failure = ends(&ce)[0].failure.expect("a failed exchange");
    assert!(!failure.reused_socket && !failure.response_bytes_received);
}

/// CLI-20, MSG-10: the server goes away in the middle of a Content-Length body: the
/// response is aborted, incomplete.
#[test]
fn cli_20_truncated_body_is_aborted() {
    let mut p = pair();
    let (_, se) = send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    let id = only_request(&se);
    let (ce, _) = respond(&mut p, id, |r| {
        r.set_header("Content-Length", 10).unwrap();
        r.write("hi").unwrap();
    });
    assert_eq!(
        text(&p.server_wire),
        format!("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n{SERVER_KEEP}\r\nhi")
    );
    assert_eq!(shape(&ce), [Ev::Response(200), data("hi")]);
    p.server.destroy();
    let ce = deliver_close(&mut p);
    assert!(
        matches!(
            ce[..],
            [
                ClientEvent::Aborted { complete: false },
                ClientEvent::Close(_)
            ]
        ),
        "{ce:?}"
    );
    let failure = ends(&ce)[0].failure.expect("a failed exchange");
    assert!(failure.connection_lost && failure.response_bytes_received);
}

/// CLI-23: the request's `timeout` emits `'timeout'` once per idle period and
/// nothing else; the response then still arrives.
#[test]
fn cli_23_timeout_is_only_an_event() {
    let mut p = pair();
    let mut req = request("GET", &[]);
    req.set_timeout(Some(Duration::from_secs(2)));
    let (_, se) = send(&mut p, req, Assignment::default(), end_empty);
    let id = only_request(&se);
    assert_eq!(
        p.client.poll_timeout(),
        Some(p.now() + Duration::from_secs(2))
    );
    p.advance(Duration::from_secs(5));
    let (ce, _) = p.pump();
    assert_eq!(shape(&ce), [Ev::Other("Timeout".into())]);
    let (ce, _) = respond(&mut p, id, |r| r.end(Some("late".into())).unwrap());
    assert_eq!(
        shape(&ce),
        [
            Ev::Response(200),
            data("late"),
            Ev::End(vec![]),
            Ev::Close(KEEP5, false)
        ]
    );
    assert_eq!(p.client.poll_timeout(), None);
}

// ------------------------------------------- same-read and hold corner cases --

/// A response followed, in the same read, by the bytes of the server's answer
/// and `extra`: what the client machine reports.
fn same_read_extra(extra: &'static str) -> (Pair, Vec<ClientEvent>) {
    let mut p = pair();
    let (_, se) = send(
        &mut p,
        request("GET", &[]),
        Assignment::default(),
        end_empty,
    );
    let id = only_request(&se);
    {
        let mut r = p.server.response(id).unwrap();
        r.end(Some("x".into())).unwrap();
    }
    p.server.write_raw(Bytes::from_static(extra.as_bytes()));
    let (ce, _) = p.pump();
    assert_eq!(
        text(&p.server_wire),
        format!("HTTP/1.1 200 OK\r\n{SERVER_KEEP}Content-Length: 1\r\n\r\nx{extra}")
    );
    (p, ce)
}

/// CLI-17: a second response in the read that completed a keep-alive response makes
/// Node destroy the socket (`parserOnIncomingClient`: "the server sent a double
/// response"), whatever the request's persistence.
#[test]
fn cli_17_a_second_response_in_the_same_read_closes_a_kept_alive_connection() {
    let (p, ce) = same_read_extra("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny");
    assert_eq!(
        shape(&ce),
        [
            Ev::Response(200),
            data("x"),
            Ev::End(vec![]),
            Ev::Close(Disposition::Close, false)
        ]
    );
    assert!(p.client.is_closed());
}

/// CLI-20: junk after a complete response, in the same read, is an `'error'` (Node's
/// `socketOnData` sees `parser.execute` fail) and the socket is destroyed, also for a
/// keep-alive exchange.
#[test]
fn cli_20_junk_in_the_same_read_is_an_error_on_keep_alive_too() {
    let (p, ce) = same_read_extra("JUNK");
    assert!(
        matches!(
            ce[..],
            [
                ClientEvent::Response(_),
                ClientEvent::Data(_),
                ClientEvent::End { .. },
                ClientEvent::Error(ClientError::Parse(_)),
                ClientEvent::Close(ExchangeEnd {
                    disposition: Disposition::Close,
                    ..
                })
            ]
        ),
        "{ce:?}"
    );
    assert!(p.client.is_closed());
}

/// CLI-19 with the 100-continue hold: a request whose body is empty holds nothing
/// back, so `'finish'` comes at once and a final response without a `100` keeps the
/// connection.
#[test]
fn cli_19_expect_continue_without_body_finishes_at_once() {
    let mut p = pair_with(listeners(|l| l.check_continue = true));
    let (ce, se) = send(
        &mut p,
        request("GET", EXPECT),
        Assignment::default(),
        end_empty,
    );
    assert_eq!(
        text(&p.client_wire),
        format!("GET / HTTP/1.1\r\nExpect: 100-continue\r\n{HOST}{CLIENT_KEEP}\r\n")
    );
    let id = only_request(&se);
    let (more, _) = respond(&mut p, id, |r| {
        r.set_header("Connection", "keep-alive").unwrap();
        r.end(None).unwrap();
    });
    let mut all = ce;
    all.extend(more);
    // Every request byte was handed over: Node emits 'finish' right away.
    assert_eq!(
        shape(&all),
        [
            Ev::Finish,
            Ev::Response(200),
            Ev::End(vec![]),
            Ev::Close(
                Disposition::Keep {
                    keep_alive_hint: None
                },
                false
            )
        ]
    );
}
