//! The driver core without any runtime: bytes in through `recv_buf`, events out,
//! partial writes reported by hand, futures polled with a no-op waker.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use bytes::{Buf, Bytes};
use courier_rt::{
    Close, ConnEvent, Connection, Handover, IncomingMessage, Listeners, RequestKind, ServerOptions,
    ServerResponse,
};

fn connection(listeners: Listeners, options: ServerOptions) -> Connection {
    let mut cfg = options.to_config().unwrap();
    cfg.listeners = listeners;
    let now = Instant::now();
    Connection::new(Arc::new(cfg), now, now)
}

fn feed(conn: &Connection, bytes: &[u8]) {
    let mut d = conn.lock();
    d.recv_buf().extend_from_slice(bytes);
    d.received(Instant::now(), bytes.len());
}

fn events(conn: &Connection) -> Vec<ConnEvent> {
    let mut d = conn.lock();
    std::iter::from_fn(|| d.next_event()).collect()
}

/// Writes at most `n` bytes of the output; returns them.
fn write(conn: &Connection, n: usize) -> Vec<u8> {
    let mut d = conn.lock();
    let out = d.outgoing();
    let n = n.min(out.remaining());
    let mut bytes = Vec::new();
    for seg in out.iter() {
        let take = (n - bytes.len()).min(seg.len());
        bytes.extend_from_slice(&seg[..take]);
        if bytes.len() == n {
            break;
        }
    }
    d.transmitted(Instant::now(), n);
    bytes
}

fn poll_once<F: Future>(f: F) -> Poll<F::Output> {
    let mut f = pin!(f);
    f.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

/// RES-27: `'finish'` waits until the socket took the response's last byte.
#[test]
fn finish_waits_for_the_last_byte_to_be_written() {
    let conn = connection(Listeners::default(), ServerOptions::default());
    feed(&conn, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let mut evs = events(&conn);
    let Some(ConnEvent::Request {
        kind: RequestKind::Request,
        req,
        mut res,
    }) = evs.pop()
    else {
        panic!("a request");
    };
    let finished = res.events();
    res.set_send_date(false).unwrap();
    res.end_now(Some("hello".into())).unwrap();
    assert!(events(&conn).is_empty());
    assert_eq!(finished.outcome(), None, "nothing written yet");
    let first = write(&conn, 10);
    assert_eq!(first, b"HTTP/1.1 2");
    assert!(poll_once(finished.clone()).is_pending());
    let rest = write(&conn, usize::MAX);
    assert!(rest.ends_with(b"hello"));
    assert_eq!(poll_once(finished), Poll::Ready(true));
    drop((req, res));
}

/// RES-27: a response the connection drops resolves `'close'` (`false`).
#[test]
fn close_when_the_connection_is_destroyed_first() {
    let conn = connection(Listeners::default(), ServerOptions::default());
    feed(&conn, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let Some(ConnEvent::Request { req, res, .. }) = events(&conn).pop() else {
        panic!("a request");
    };
    let finished = res.events();
    req.socket().destroy();
    let _ = events(&conn);
    assert_eq!(finished.outcome(), Some(false));
    conn.lock().finish();
    drop((req, res));
}

/// RES-27: the `'finish'`/`'close'` signal is made on the first `events()` call: one
/// asked for only after the response was written, or after its connection was
/// destroyed, resolves at once with the right outcome.
#[test]
fn events_asked_for_late_resolve_with_the_known_outcome() {
    let conn = connection(Listeners::default(), ServerOptions::default());
    feed(
        &conn,
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    let mut evs = events(&conn);
    assert_eq!(evs.len(), 2);
    let Some(ConnEvent::Request {
        req: req2,
        res: res2,
        ..
    }) = evs.pop()
    else {
        panic!("the second request");
    };
    let Some(ConnEvent::Request { req, mut res, .. }) = evs.pop() else {
        panic!("the first request");
    };
    res.end_now(Some("one".into())).unwrap();
    assert!(events(&conn).is_empty());
    assert_eq!(res.events().outcome(), None, "ended, not written yet");
    let _ = write(&conn, usize::MAX);
    assert_eq!(res.events().outcome(), Some(true));
    assert_eq!(poll_once(res.events()), Poll::Ready(true));
    // The second response is dropped by a destroyed connection.
    req2.socket().destroy();
    let _ = events(&conn);
    assert_eq!(res2.events().outcome(), Some(false));
    assert_eq!(
        res.events().outcome(),
        Some(true),
        "the first one stays finished"
    );
    conn.lock().finish();
    drop((req, res, req2, res2));
}

/// The two requests of one pipelined write, their handles.
fn two_requests(conn: &Connection) -> [(IncomingMessage, ServerResponse); 2] {
    feed(
        conn,
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    let mut evs = events(conn).into_iter().map(|e| match e {
        ConnEvent::Request { req, res, .. } => (req, res),
        other => panic!("a request, not {other:?}"),
    });
    let (Some(first), Some(second), None) = (evs.next(), evs.next(), evs.next()) else {
        panic!("two requests");
    };
    [first, second]
}

/// The bytes queued for the socket.
fn queued(conn: &Connection) -> usize {
    conn.lock().outgoing().remaining()
}

/// RES-27: responses ended in turn, nobody listening when they end (the connection
/// keeps no entry for them), each finish once the socket took their own last byte,
/// asked for while their handles live.
#[test]
fn responses_ended_in_turn_finish_at_their_own_last_byte() {
    let conn = connection(Listeners::default(), ServerOptions::default());
    let [(req1, mut res1), (req2, mut res2)] = two_requests(&conn);
    res1.end_now(Some("one".into())).unwrap();
    let first_len = queued(&conn);
    res2.end_now(Some("two".into())).unwrap();
    assert!(events(&conn).is_empty());
    assert_eq!(res1.events().outcome(), None, "ended, not written yet");
    let second = res2.events();
    assert!(poll_once(second.clone()).is_pending());
    let _ = write(&conn, first_len - 1);
    assert_eq!(res1.events().outcome(), None, "one byte left");
    let _ = write(&conn, 1);
    assert_eq!(res1.events().outcome(), Some(true), "its last byte went");
    assert_eq!(second.outcome(), None, "the second is still queued");
    assert_eq!(res2.events().outcome(), None);
    let _ = write(&conn, usize::MAX);
    assert_eq!(poll_once(second), Poll::Ready(true));
    assert_eq!(res2.events().outcome(), Some(true));
    assert_eq!(res1.events().outcome(), Some(true));
    // A second `end` of a finished response is a no-op, one with data fails.
    assert!(res1.end_now(None).is_ok());
    assert!(res1.end_now(Some("x".into())).is_err());
    assert!(res1.writable_finished() && res2.writable_finished());
    conn.lock().finish();
    assert_eq!(
        res2.events().outcome(),
        Some(true),
        "finished stays finished"
    );
    drop((req1, res1, req2, res2));
}

/// RES-27: a response ended in turn whose bytes the connection drops (destroyed
/// before writing them) reports `'close'`, and a later `end` fails as destroyed.
#[test]
fn a_response_ended_in_turn_closes_when_its_bytes_never_go() {
    let conn = connection(Listeners::default(), ServerOptions::default());
    let [(req1, mut res1), (req2, res2)] = two_requests(&conn);
    res1.end_now(Some("one".into())).unwrap();
    assert_eq!(res1.events().outcome(), None);
    let _ = write(&conn, 3);
    res1.destroy();
    let _ = events(&conn);
    conn.lock().finish();
    assert_eq!(res1.events().outcome(), Some(false), "never written whole");
    assert_eq!(res2.events().outcome(), Some(false), "never ended");
    assert_eq!(
        res1.end_now(Some("x".into())).map_err(|e| e.code()),
        Err("ERR_STREAM_DESTROYED")
    );
    drop((req1, res1, req2, res2));
}

/// RES-27, RES-30: a response ended before the one ahead of it is queued only once
/// that one finished; it finishes after it, whether asked for early or late.
#[test]
fn a_response_ended_before_its_turn_finishes_after_the_one_ahead() {
    let conn = connection(Listeners::default(), ServerOptions::default());
    let [(req1, mut res1), (req2, mut res2)] = two_requests(&conn);
    res2.end_now(Some("two".into())).unwrap();
    assert_eq!(queued(&conn), 0, "waits for the first");
    res1.end_now(Some("one".into())).unwrap();
    assert!(events(&conn).is_empty());
    let all = queued(&conn);
    let _ = write(&conn, all - 1);
    assert_eq!(res2.events().outcome(), None, "one byte left");
    let out = write(&conn, usize::MAX);
    assert_eq!(out, b"o");
    // Asked for only now: the connection kept its outcome.
    assert_eq!(res2.events().outcome(), Some(true));
    assert_eq!(res1.events().outcome(), Some(true));
    conn.lock().finish();
    assert_eq!(res2.events().outcome(), Some(true));
    drop((req1, res1, req2, res2));
}

/// RES-27: the same, listened to from before the end.
#[test]
fn a_response_ended_before_its_turn_and_listened_to_finishes_after_the_one_ahead() {
    let conn = connection(Listeners::default(), ServerOptions::default());
    let [(req1, mut res1), (req2, mut res2)] = two_requests(&conn);
    let second = res2.events();
    res2.end_now(Some("two".into())).unwrap();
    drop((req2, res2));
    res1.end_now(Some("one".into())).unwrap();
    let _ = events(&conn);
    let all = queued(&conn);
    let _ = write(&conn, all - 1);
    assert!(poll_once(second.clone()).is_pending());
    let _ = write(&conn, 1);
    assert_eq!(poll_once(second), Poll::Ready(true));
    conn.lock().finish();
    drop((req1, res1));
}

/// RES-27: a response ended before its turn, nobody listening, that the connection
/// drops reports `'close'`; the one before it, dropped unended, too.
#[test]
fn a_response_ended_before_its_turn_closes_with_its_connection() {
    let conn = connection(Listeners::default(), ServerOptions::default());
    let [(req1, res1), (req2, mut res2)] = two_requests(&conn);
    res2.end_now(Some("two".into())).unwrap();
    req1.socket().destroy();
    let _ = events(&conn);
    assert_eq!(res2.events().outcome(), Some(false));
    assert_eq!(res1.events().outcome(), Some(false));
    conn.lock().finish();
    assert_eq!(res2.events().outcome(), Some(false));
    drop((req1, res1, req2, res2));
}

/// SRV-11: a client error taken by a listener is handed over only once the responses
/// to the requests before it finished and were written (none of them listened to).
#[test]
fn a_client_error_is_handed_over_after_the_responses_before_it() {
    let conn = connection(
        Listeners {
            client_error: true,
            ..Listeners::default()
        },
        ServerOptions::default(),
    );
    feed(
        &conn,
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nBAD\x01 / HTTP/1.1\r\n\r\n",
    );
    let evs = events(&conn);
    assert_eq!(evs.len(), 2, "two requests before the error");
    let mut handles = evs.into_iter().map(|e| match e {
        ConnEvent::Request { req, res, .. } => (req, res),
        other => panic!("a request, not {other:?}"),
    });
    let (Some((req1, mut res1)), Some((req2, mut res2))) = (handles.next(), handles.next()) else {
        panic!("two requests");
    };
    assert!(conn.lock().take_handover().is_none(), "two pending");
    res2.end_now(Some("two".into())).unwrap();
    drop((req2, res2));
    let _ = events(&conn);
    assert!(conn.lock().take_handover().is_none(), "the first pending");
    res1.end_now(Some("one".into())).unwrap();
    drop((req1, res1));
    let _ = events(&conn);
    assert!(conn.lock().take_handover().is_none(), "bytes still queued");
    let out = write(&conn, usize::MAX);
    assert!(out.ends_with(b"two"));
    let _ = events(&conn);
    let Some(Handover::ClientError(err)) = conn.lock().take_handover() else {
        panic!("the client error");
    };
    assert_eq!(err.code(), "HPE_INVALID_METHOD");
}

/// SRV-8: the upgrade is handed over only after the earlier response was written.
#[test]
fn an_upgrade_is_handed_over_after_the_output_before_it() {
    let conn = connection(
        Listeners {
            upgrade: true,
            ..Listeners::default()
        },
        ServerOptions::default(),
    );
    feed(
        &conn,
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\nNEXT",
    );
    let mut evs = events(&conn);
    assert_eq!(evs.len(), 1, "only the first request is an event");
    let Some(ConnEvent::Request { req, mut res, .. }) = evs.pop() else {
        panic!("a request");
    };
    assert!(
        conn.lock().take_handover().is_none(),
        "the response is pending"
    );
    res.end_now(Some("one".into())).unwrap();
    let _ = events(&conn);
    write(&conn, 5);
    assert!(conn.lock().take_handover().is_none(), "bytes still queued");
    write(&conn, usize::MAX);
    let Some(Handover::Upgrade {
        req: up,
        head,
        connect,
    }) = conn.lock().take_handover()
    else {
        panic!("the upgrade");
    };
    assert_eq!(up.url(), "/2");
    assert_eq!(&head[..], b"NEXT");
    assert!(!connect);
    assert!(up.socket().is_destroyed(), "the socket left HTTP");
    // The upgrade request has no body: what follows its head is `head`.
    assert!(up.complete() && !up.aborted());
    assert_eq!(up.trailers().map(|t| t.len()), Some(0));
    drop((req, res, up));
}

/// SRV-5: over `maxRequestsPerSocket` the request is a `DropRequest` event and the
/// 503 is already queued.
#[test]
fn a_request_over_the_limit_is_a_drop_request_event() {
    let conn = connection(
        Listeners::default(),
        ServerOptions {
            max_requests_per_socket: 1,
            ..ServerOptions::default()
        },
    );
    feed(
        &conn,
        b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    let evs = events(&conn);
    assert_eq!(evs.len(), 2);
    assert!(matches!(&evs[0], ConnEvent::Request { req, .. } if req.url() == "/1"));
    assert!(matches!(&evs[1], ConnEvent::DropRequest { req } if req.url() == "/2"));
    drop(evs);
}

fn request(conn: &Connection) -> (IncomingMessage, ServerResponse) {
    match events(conn).pop() {
        Some(ConnEvent::Request { req, res, .. }) => (req, res),
        other => panic!("a request, not {other:?}"),
    }
}

fn poll_chunk(req: &mut IncomingMessage) -> Poll<Option<std::io::Result<Bytes>>> {
    req.poll_chunk(&mut Context::from_waker(Waker::noop()))
}

/// Counts its wakes.
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Back-pressure: the connection stops reading while a body holds the high-water mark
/// of unread bytes, and its task is woken when the reader drains it below.
#[test]
fn a_body_at_the_mark_stops_reading_until_it_is_read() {
    let conn = connection(
        Listeners::default(),
        ServerOptions {
            high_water_mark: 4,
            ..ServerOptions::default()
        },
    );
    let count = Arc::new(Count(AtomicUsize::new(0)));
    conn.lock().register(&Waker::from(Arc::clone(&count)));
    feed(
        &conn,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab",
    );
    let (mut req, res) = request(&conn);
    assert!(conn.lock().wants_read(), "2 bytes unread, below the mark");
    feed(&conn, b"cde");
    assert!(events(&conn).is_empty());
    assert!(!conn.lock().wants_read(), "5 bytes unread");
    assert!(!req.complete());
    assert!(matches!(poll_chunk(&mut req), Poll::Ready(Some(Ok(b))) if b == "ab"));
    assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken below the mark");
    assert!(conn.lock().wants_read());
    feed(&conn, b"fghij");
    let _ = events(&conn);
    assert!(req.complete() && !req.aborted());
    assert!(matches!(poll_chunk(&mut req), Poll::Ready(Some(Ok(b))) if b == "cde"));
    assert!(matches!(poll_chunk(&mut req), Poll::Ready(Some(Ok(b))) if b == "fghij"));
    assert!(matches!(poll_chunk(&mut req), Poll::Ready(None)));
    drop((req, res));
}

/// MSG-8, MSG-9: the trailers come with the end; MSG-12: a dropped request's unread
/// body no longer holds the connection back.
#[test]
fn trailers_after_the_end_and_a_dropped_body_is_discarded() {
    let conn = connection(
        Listeners::default(),
        ServerOptions {
            high_water_mark: 4,
            ..ServerOptions::default()
        },
    );
    feed(
        &conn,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    );
    let (req, res) = request(&conn);
    assert!(!conn.lock().wants_read());
    assert_eq!(req.trailers(), None);
    drop(req);
    assert!(conn.lock().wants_read(), "nobody reads the body: discarded");
    feed(&conn, b"0\r\nX-Sum: 1\r\n\r\n");
    assert!(events(&conn).is_empty());
    drop(res);

    let conn = connection(Listeners::default(), ServerOptions::default());
    feed(
        &conn,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
          2\r\nhi\r\n0\r\nX-Sum: 1\r\n\r\n",
    );
    let (mut req, res) = request(&conn);
    assert!(req.complete());
    let trailers = req.trailers().expect("the body ended");
    assert_eq!(trailers.get_str("x-sum").as_deref(), Some("1"));
    assert_eq!(req.raw_trailers().map(|t| t.len()), Some(2));
    assert!(matches!(poll_once(req.read_body()), Poll::Ready(Ok(b)) if b == "hi"));
    drop((req, res));
}

/// MSG-10: the connection going away mid-body aborts the request: one
/// `ECONNRESET` `aborted` error after the pieces received.
#[test]
fn a_body_cut_short_is_aborted() {
    let conn = connection(Listeners::default(), ServerOptions::default());
    feed(
        &conn,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab",
    );
    let (mut req, res) = request(&conn);
    conn.lock().finish();
    assert!(req.aborted() && !req.complete());
    assert!(matches!(poll_chunk(&mut req), Poll::Ready(Some(Ok(b))) if b == "ab"));
    let Poll::Ready(Some(Err(e))) = poll_chunk(&mut req) else {
        panic!("an error");
    };
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset);
    assert_eq!(e.to_string(), "aborted");
    assert!(matches!(poll_chunk(&mut req), Poll::Ready(None)));
    drop((req, res));
}

/// MSG-10: `destroy` before the end was read aborts the request and destroys the
/// socket; after it, the stream returns the given error once, then its end.
#[test]
fn destroy_before_the_end_aborts_and_destroys_the_socket() {
    let conn = connection(Listeners::default(), ServerOptions::default());
    feed(
        &conn,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab",
    );
    let (mut req, res) = request(&conn);
    req.destroy(Some(std::io::Error::other("mine")));
    assert!(req.aborted());
    assert_eq!(conn.lock().wants_close(), Some(Close::Now));
    assert!(matches!(poll_chunk(&mut req), Poll::Ready(Some(Err(e))) if e.to_string() == "mine"));
    assert!(matches!(poll_chunk(&mut req), Poll::Ready(None)));
    drop((req, res));

    // Read to its end first: only the stream ends.
    let conn = connection(Listeners::default(), ServerOptions::default());
    feed(&conn, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let (mut req, res) = request(&conn);
    assert!(req.complete(), "no body: complete at once");
    assert!(matches!(poll_chunk(&mut req), Poll::Ready(None)));
    req.destroy(None);
    assert!(!req.aborted());
    assert_eq!(conn.lock().wants_close(), None);
    drop((req, res));
}
