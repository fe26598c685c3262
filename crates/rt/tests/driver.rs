//! The driver core without any runtime: bytes in through `recv_buf`, events out,
//! partial writes reported by hand, futures polled with a no-op waker.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::Buf;
use courier_rt::{ConnEvent, Connection, Handover, Listeners, RequestKind, ServerOptions};

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
