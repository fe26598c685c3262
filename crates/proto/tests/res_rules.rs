//! One or more tests per outgoing-message rule of the Node v20 specification
//! (RES-1 … RES-28; RES-29 … RES-31 are the connection's), asserting exact wire
//! bytes. The examples come from the specification, which took them from Node
//! v20.20.2; cases marked `// oracle:` were asked of Node v20.20.2 directly (an
//! `http.createServer` handler and a raw `net` client, Date masked).

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use courier_proto::Version;
use courier_proto::outgoing::{
    HeaderValue, JsNumber, OutgoingError, ResponseSetup, ServerResponse,
};
use proptest::prelude::*;

const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

/// A response with the default setup (HTTP/1.1 GET, keep-alive, keepAliveTimeout
/// 5000) and a clock date.
fn res() -> ServerResponse {
    res_with(|_| {})
}

fn res_with(f: impl FnOnce(&mut ResponseSetup)) -> ServerResponse {
    let mut setup = ResponseSetup::default();
    f(&mut setup);
    let mut r = ServerResponse::new(setup);
    r.set_clock_date(Bytes::from_static(DATE.as_bytes()));
    r
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&c| char::from(c)).collect()
}

/// The queued segments, each as a Latin-1 string.
fn segments(r: &mut ServerResponse) -> Vec<String> {
    let mut q = VecDeque::new();
    r.take_output(&mut q);
    q.iter().map(|s| latin1(s)).collect()
}

/// Everything queued so far, as one Latin-1 string.
fn wire(r: &mut ServerResponse) -> String {
    segments(r).concat()
}

/// `expected` with `<date>` replaced by the clock date.
fn exp(expected: &str) -> String {
    expected.replace("<date>", DATE)
}

const KA: &str = "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n";

// ----- 5.1 State and defaults -----

#[test]
fn res_1_defaults() {
    let r = ServerResponse::new(ResponseSetup::default());
    assert_eq!(r.status_code(), 200);
    assert_eq!(r.status_message(), None);
    assert!(r.send_date());
    assert!(!r.headers_sent());
    assert!(!r.writable_ended());
    assert!(!r.finished());
    assert!(!r.strict_content_length());
    assert!(!r.chunked_encoding());
    assert!(!r.destroyed());
    assert!(!r.is_complete());
    assert_eq!(r.buffered_len(), 0);
}

// ----- 5.2 Header store -----

#[test]
fn res_2_set_header_replaces_in_place_with_new_casing() {
    let mut r = res();
    r.set_header("A", 1).unwrap();
    r.set_header("B", 2).unwrap();
    r.set_header("a", 3).unwrap();
    assert_eq!(
        r.get_header("A"),
        Some(&HeaderValue::Int(3)),
        "numbers stay numbers"
    );
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\na: 3\r\nB: 2\r\nDate: <date>\r\n{KA}Content-Length: 0\r\n\r\n"
        ))
    );
    let err = r.set_header("C", "x").unwrap_err();
    assert_eq!(err, OutgoingError::HeadersSent);
    assert_eq!(err.code(), "ERR_HTTP_HEADERS_SENT");
    assert_eq!(
        err.to_string(),
        "Cannot set headers after they are sent to the client"
    );
}

#[test]
fn res_2_set_header_validates_name_then_value() {
    let mut r = res();
    let err = r.set_header("a b", "1").unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_HTTP_TOKEN");
    assert_eq!(
        err.to_string(),
        r#"Header name must be a valid HTTP token ["a b"]"#
    );
    let err = r.set_header("X-Foo", "a\r\nb").unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_CHAR");
    assert_eq!(
        err.to_string(),
        r#"Invalid character in header content ["X-Foo"]"#
    );
    assert!(!r.has_header("x-foo"), "a refused value is not stored");
}

#[test]
fn res_3_getters_read_the_store() {
    let mut r = res();
    r.set_header("X-Num", 42).unwrap();
    r.set_header("Content-Type", "text/plain").unwrap();
    r.set_header("x-NUM", 43).unwrap();
    assert_eq!(r.get_header("x-num"), Some(&HeaderValue::Int(43)));
    assert_eq!(r.get_header("missing"), None);
    assert!(r.has_header("CONTENT-type"));
    assert_eq!(r.get_header_names(), ["x-num", "content-type"]);
    assert_eq!(r.get_raw_header_names(), ["x-NUM", "Content-Type"]);
    assert_eq!(
        r.get_headers(),
        [
            ("x-num", &HeaderValue::Int(43)),
            ("content-type", &HeaderValue::from("text/plain"))
        ]
    );
    r.end(None).unwrap();
    // Still readable once rendered.
    assert_eq!(
        r.get_header("Content-Type"),
        Some(&HeaderValue::from("text/plain"))
    );
}

#[test]
fn res_4_remove_header_side_effects() {
    // connection: no automatic Connection; persists iff keep.
    let mut r = res();
    r.remove_header("Connection").unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp("HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Length: 0\r\n\r\n")
    );
    assert!(!r.is_last());

    let mut r = res_with(|s| s.keep_alive = false);
    r.remove_header("connection").unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp("HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Length: 0\r\n\r\n")
    );
    assert!(r.is_last());

    // content-length: no automatic Content-Length, chunked instead.
    let mut r = res();
    r.remove_header("content-length").unwrap();
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n{KA}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        ))
    );

    // date: sendDate = false, even though no Date header was ever set.
    let mut r = res();
    r.remove_header("Date").unwrap();
    assert!(!r.send_date());
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        format!("HTTP/1.1 200 OK\r\n{KA}Content-Length: 0\r\n\r\n")
    );

    // The entry itself goes.
    let mut r = res();
    r.set_header("X", "1").unwrap();
    r.remove_header("x").unwrap();
    assert!(!r.has_header("X"));
    r.end(None).unwrap();
    let err = r.remove_header("X").unwrap_err();
    assert_eq!(err.code(), "ERR_HTTP_HEADERS_SENT");
    assert_eq!(
        err.to_string(),
        "Cannot remove headers after they are sent to the client"
    );
}

#[test]
fn res_4_removed_transfer_encoding() {
    // Only TE removed: the known length of end(data) still gives Content-Length.
    let mut r = res();
    r.remove_header("Transfer-Encoding").unwrap();
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n{KA}Content-Length: 3\r\n\r\nabc"
        ))
    );
    assert!(!r.is_last());
}

#[test]
fn res_5_append_header() {
    let mut r = res();
    r.set_header("X-Foo", "a").unwrap();
    r.append_header("x-foo", "b").unwrap();
    assert_eq!(
        r.get_header("X-FOO"),
        Some(&HeaderValue::from(vec!["a", "b"]))
    );
    r.append_header("New", vec!["1", "2"]).unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nX-Foo: a\r\nX-Foo: b\r\nNew: 1\r\nNew: 2\r\nDate: <date>\r\n{KA}Content-Length: 0\r\n\r\n"
        ))
    );
    let err = r.append_header("X", "1").unwrap_err();
    assert_eq!(err.code(), "ERR_HTTP_HEADERS_SENT");
    assert_eq!(
        err.to_string(),
        "Cannot append headers after they are sent to the client"
    );
}

#[test]
fn res_5_append_to_a_number() {
    // oracle: setHeader('A',1); appendHeader('a',[2,3]) -> getHeader [1,2,3], raw names ['A'],
    // wire "A: 1\r\nA: 2\r\nA: 3\r\n"
    let mut r = res();
    r.set_header("A", 1).unwrap();
    r.append_header("a", vec!["2", "3"]).unwrap();
    assert_eq!(r.get_raw_header_names(), ["A"]);
    r.end(None).unwrap();
    assert!(wire(&mut r).starts_with("HTTP/1.1 200 OK\r\nA: 1\r\nA: 2\r\nA: 3\r\nDate"));
}

#[test]
fn res_6_set_headers_gathers_set_cookie() {
    // oracle: a Headers object with set-cookie a=1, X-A 1, set-cookie b=2 ->
    // "x-a: 1\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n"
    let mut r = res();
    r.set_headers([
        ("set-cookie", HeaderValue::from("a=1")),
        ("x-a", HeaderValue::from("1")),
        ("set-cookie", HeaderValue::from("b=2")),
    ])
    .unwrap();
    assert_eq!(
        r.get_header("set-cookie"),
        Some(&HeaderValue::from(vec!["a=1", "b=2"]))
    );
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nx-a: 1\r\nset-cookie: a=1\r\nset-cookie: b=2\r\nDate: <date>\r\n{KA}Content-Length: 0\r\n\r\n"
        ))
    );
    // All pairs are checked before any is applied.
    let mut r = res();
    assert!(
        r.set_headers([
            ("ok", HeaderValue::from("1")),
            ("b ad", HeaderValue::from("2"))
        ])
        .is_err()
    );
    assert!(!r.has_header("ok"));
}

// ----- 5.3 writeHead and the status line -----

#[test]
fn res_7_status_code_range() {
    let mut r = res();
    for bad in [0u16, 99, 1000, 65535] {
        let err = r.write_head(bad, None, []).unwrap_err();
        assert_eq!(err.code(), "ERR_HTTP_INVALID_STATUS_CODE");
        assert_eq!(err.to_string(), format!("Invalid status code: {bad}"));
        assert!(!r.headers_sent());
    }
    r.write_head(999, None, []).unwrap();
    r.end(None).unwrap();
    assert!(wire(&mut r).starts_with("HTTP/1.1 999 unknown\r\n"));
}

#[test]
fn res_7_reason_phrase() {
    let line = |f: &dyn Fn(&mut ServerResponse)| {
        let mut r = res();
        f(&mut r);
        r.end(None).unwrap();
        let w = wire(&mut r);
        w[..w.find("\r\n").unwrap() + 2].to_owned()
    };
    assert_eq!(
        line(&|r| {
            r.write_head(200, Some(""), []).unwrap();
        }),
        "HTTP/1.1 200 \r\n"
    );
    assert_eq!(
        line(&|r| {
            r.write_head(200, Some("Fine"), []).unwrap();
        }),
        "HTTP/1.1 200 Fine\r\n"
    );
    assert_eq!(
        line(&|r| {
            r.set_status_message(Some("Yes"));
            r.write_head(201, None, []).unwrap();
        }),
        "HTTP/1.1 201 Yes\r\n"
    );
    assert_eq!(
        line(&|r| {
            r.set_status_message(Some(""));
            r.write_head(418, None, []).unwrap();
        }),
        "HTTP/1.1 418 I'm a Teapot\r\n"
    );
    assert_eq!(
        line(&|r| {
            r.write_head(299, None, []).unwrap();
        }),
        "HTTP/1.1 299 unknown\r\n"
    );
    assert_eq!(
        line(&|r| {
            r.write_head(200, Some("\u{e9}"), []).unwrap();
        }),
        "HTTP/1.1 200 \u{e9}\r\n",
        "Latin-1 on the wire"
    );
    let mut r = res();
    r.write_head(404, None, []).unwrap();
    assert_eq!(r.status_code(), 404);
    assert_eq!(r.status_message(), Some("Not Found"));
}

#[test]
fn res_7_invalid_reason() {
    for bad in ["OK\r\nX: y", "a\0", "\u{101}"] {
        let mut r = res();
        let err = r.write_head(200, Some(bad), []).unwrap_err();
        assert_eq!(err.code(), "ERR_INVALID_CHAR");
        assert_eq!(err.to_string(), "Invalid character in statusMessage");
        assert!(!r.headers_sent());
        assert_eq!(r.status_message(), None, "nothing changed");
    }
}

#[test]
fn res_7_write_head_twice_and_no_body_statuses() {
    let mut r = res();
    r.write_head(200, None, []).unwrap();
    let err = r.write_head(200, None, []).unwrap_err();
    assert_eq!(err.code(), "ERR_HTTP_HEADERS_SENT");
    assert_eq!(
        err.to_string(),
        "Cannot write headers after they are sent to the client"
    );

    for status in [204u16, 304, 100, 150, 199] {
        let mut r = res();
        r.write_head(status, None, []).unwrap();
        r.end(Some(b("body"))).unwrap();
        let w = wire(&mut r);
        assert!(
            w.ends_with(&exp(&format!("Date: <date>\r\n{KA}\r\n"))),
            "{status}: {w:?}"
        );
    }
}

#[test]
fn res_8_headers_through_the_store() {
    let mut r = res();
    r.set_header("X-Num", 5).unwrap();
    r.write_head(
        200,
        None,
        [
            ("x-num", HeaderValue::from(6)),
            ("", HeaderValue::from("skipped")),
        ],
    )
    .unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nx-num: 6\r\nDate: <date>\r\n{KA}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        ))
    );
    assert_eq!(r.get_header("X-NUM"), Some(&HeaderValue::Int(6)));
}

#[test]
fn res_8_headers_rendered_directly() {
    let mut r = res();
    r.write_head(
        200,
        None,
        [
            ("X-A", HeaderValue::from("1")),
            ("x-a", HeaderValue::from("2")),
        ],
    )
    .unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nDate: <date>\r\n{KA}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        ))
    );
    assert!(
        !r.has_header("x-a"),
        "direct headers do not enter the store"
    );

    let mut r = res();
    r.write_head(
        200,
        None,
        [("A", "1".into()), ("A", "2".into()), ("b", "3".into())],
    )
    .unwrap();
    r.end(None).unwrap();
    assert!(wire(&mut r).starts_with("HTTP/1.1 200 OK\r\nA: 1\r\nA: 2\r\nb: 3\r\nDate"));

    // Each direct header is validated; an empty name is not a token.
    let mut r = res();
    let err = r
        .write_head(200, None, [("", HeaderValue::from("x"))])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Header name must be a valid HTTP token [""]"#
    );
    let err = r
        .write_head(200, None, [("X-Bad", HeaderValue::from("a\nb"))])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Invalid character in header content ["X-Bad"]"#
    );
    assert!(!r.headers_sent());
    assert_eq!(r.buffered_len(), 0);
}

#[test]
fn res_8_store_once_used_stays_in_charge() {
    // oracle: setHeader('X','1'); removeHeader('X'); writeHead(200,{'A':'1','a':'2'}) ->
    // "a: 2" only, getHeaderNames() ['a']
    let mut r = res();
    r.set_header("X", "1").unwrap();
    r.remove_header("X").unwrap();
    r.write_head(200, None, [("A", "1".into()), ("a", "2".into())])
        .unwrap();
    r.end(None).unwrap();
    assert!(wire(&mut r).starts_with("HTTP/1.1 200 OK\r\na: 2\r\nDate"));
    assert_eq!(r.get_header_names(), ["a"]);
}

#[test]
fn res_8_the_connection_machines_calls() {
    let mut r = res();
    r.write_head(
        200,
        None,
        [
            ("Content-Type", HeaderValue::from("text/plain")),
            ("Content-Length", HeaderValue::from(3)),
        ],
    )
    .unwrap();
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nDate: <date>\r\n{KA}\r\nabc"
        ))
    );
    // SRV-4's reply.
    let mut r = res();
    r.write_head(400, None, [("Connection", "close".into())])
        .unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(
            "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nDate: <date>\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
    );
    assert!(r.is_last());
    let mut r = res();
    r.write_head(200, None, Vec::new()).unwrap();
}

#[test]
fn res_9_status_line_is_always_http_1_1() {
    for version in [
        Version::HTTP_10,
        Version::HTTP_09,
        Version { major: 2, minor: 0 },
    ] {
        let mut r = res_with(|s| {
            s.version = version;
            s.keep_alive = false;
        });
        r.end(Some(b("hello"))).unwrap();
        assert_eq!(
            wire(&mut r),
            exp("HTTP/1.1 200 OK\r\nDate: <date>\r\nConnection: close\r\n\r\nhello"),
            "{version}"
        );
    }
}

#[test]
fn res_10_implicit_headers() {
    let mut r = res();
    r.set_status_code(404);
    r.set_status_message(Some("Nope"));
    r.end(None).unwrap();
    assert!(wire(&mut r).starts_with("HTTP/1.1 404 Nope\r\n"));

    // An invalid statusCode fails the call that renders, and the response stays writable.
    let mut r = res();
    r.set_status_code(1000);
    for attempt in [r.write(b("x")), r.end(None), r.flush_headers()] {
        let err = attempt.unwrap_err();
        assert_eq!(err.code(), "ERR_HTTP_INVALID_STATUS_CODE");
        assert_eq!(err.to_string(), "Invalid status code: 1000");
    }
    assert!(!r.headers_sent());
    assert!(!r.writable_ended());
    assert_eq!(r.buffered_len(), 0);
    r.set_status_code(201);
    r.end(Some(b("ok"))).unwrap();
    assert!(wire(&mut r).starts_with("HTTP/1.1 201 Created\r\n"));
}

// ----- 5.4 Rendering the header block -----

#[test]
fn res_11_layout() {
    let mut r = res();
    r.set_header("X-Int", -7).unwrap();
    r.set_header("X-Empty", "").unwrap();
    r.end(Some(b("x"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(
            "HTTP/1.1 200 OK\r\nX-Int: -7\r\nX-Empty: \r\nDate: <date>\r\nConnection: keep-alive\r\n\
             Keep-Alive: timeout=5\r\nContent-Length: 1\r\n\r\nx"
        )
    );
}

#[test]
fn res_12_array_values() {
    let mut r = res_with(|s| s.unique_headers = Arc::from(vec!["x-u".into()]));
    r.set_header("Set-Cookie", vec!["a=1", "b=2"]).unwrap();
    r.set_header("Cookie", vec!["a=1", "b=2"]).unwrap();
    r.set_header("X-U", vec!["a", "b"]).unwrap();
    r.set_header("X-None", Vec::<&str>::new()).unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nCookie: a=1; b=2\r\nX-U: a; b\r\n\
             Date: <date>\r\n{KA}Content-Length: 0\r\n\r\n"
        ))
    );
    assert!(r.has_header("x-none"), "stored, just not rendered");
}

#[test]
fn res_12_edge_lists() {
    // oracle: uniqueHeaders ['x-u']: X-U [] -> "X-U: \r\n" (joined, so one empty line);
    // Cookie ['a'] -> "Cookie: a"; X-E [] -> no line; cookie2 ['a','b'] -> two lines
    let mut r = res_with(|s| s.unique_headers = Arc::from(vec!["x-u".into()]));
    r.set_header("X-U", Vec::<&str>::new()).unwrap();
    r.set_header("Cookie", vec!["a"]).unwrap();
    r.set_header("X-E", Vec::<&str>::new()).unwrap();
    r.set_header("cookie2", vec!["a", "b"]).unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nX-U: \r\nCookie: a\r\ncookie2: a\r\ncookie2: b\r\nDate: <date>\r\n{KA}Content-Length: 0\r\n\r\n"
        ))
    );
}

#[test]
fn res_13_date() {
    let mut r = res();
    r.set_header("date", "yesterday").unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        format!("HTTP/1.1 200 OK\r\ndate: yesterday\r\n{KA}Content-Length: 0\r\n\r\n")
    );
    let mut r = res();
    r.set_send_date(false);
    r.end(None).unwrap();
    assert!(!wire(&mut r).contains("Date"));
    // No clock date given: no Date.
    let mut r = ServerResponse::new(ResponseSetup::default());
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        format!("HTTP/1.1 200 OK\r\n{KA}Content-Length: 0\r\n\r\n")
    );
    // A clock value that could break the framing is ignored.
    let mut r = ServerResponse::new(ResponseSetup::default());
    r.set_clock_date(Bytes::from_static(b"x\r\nEvil: 1"));
    r.end(None).unwrap();
    assert!(!wire(&mut r).contains("Evil"));
}

#[test]
fn res_14_user_connection() {
    // `close` token: last, no automatic fields.
    let mut r = res();
    r.set_header("Connection", "close").unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp("HTTP/1.1 200 OK\r\nConnection: close\r\nDate: <date>\r\nContent-Length: 0\r\n\r\n")
    );
    assert!(r.is_last());
    // Any other value keeps the connection, even if the client asked to close.
    let mut r = res_with(|s| s.keep_alive = false);
    r.set_header("Connection", "keep-alive").unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(
            "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nDate: <date>\r\nContent-Length: 0\r\n\r\n"
        )
    );
    assert!(!r.is_last());
    assert!(r.keep_alive());
}

#[test]
fn res_14_connection_list() {
    // oracle: setHeader('Connection',['close','keep-alive']); end('x') ->
    // "Connection: close\r\nConnection: keep-alive\r\nDate: …\r\nContent-Length: 1\r\n\r\nx", then FIN
    let mut r = res();
    r.set_header("Connection", vec!["close", "keep-alive"])
        .unwrap();
    r.end(Some(b("x"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(
            "HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\nDate: <date>\r\nContent-Length: 1\r\n\r\nx"
        )
    );
    assert!(r.is_last());
}

#[test]
fn res_14_automatic_fields() {
    // Client asked to close.
    let mut r = res_with(|s| s.keep_alive = false);
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp("HTTP/1.1 200 OK\r\nDate: <date>\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    );
    assert!(r.is_last());
    // keepAliveTimeout and maxRequestsPerSocket.
    for (ms, max, field) in [
        (300, 0, "Keep-Alive: timeout=0\r\n"),
        (2500, 0, "Keep-Alive: timeout=2\r\n"),
        (5000, 3, "Keep-Alive: timeout=5, max=3\r\n"),
        (0, 3, ""),
    ] {
        let mut r = res_with(|s| {
            s.keep_alive_timeout_ms = ms;
            s.max_requests_per_socket = max;
        });
        r.end(None).unwrap();
        assert_eq!(
            wire(&mut r),
            exp(&format!(
                "HTTP/1.1 200 OK\r\nDate: <date>\r\nConnection: keep-alive\r\n{field}Content-Length: 0\r\n\r\n"
            ))
        );
        assert!(!r.is_last());
    }
    // A user Keep-Alive suppresses only the automatic Keep-Alive.
    let mut r = res();
    r.set_header("Keep-Alive", "timeout=9").unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(
            "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=9\r\nDate: <date>\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
        )
    );
}

#[test]
fn res_14_requests_limit_reached() {
    // SRV-5: Connection: close, but not the last response.
    let mut r = res_with(|s| {
        s.max_requests_per_socket = 2;
        s.requests_limit_reached = true;
    });
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp("HTTP/1.1 200 OK\r\nDate: <date>\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    );
    assert!(!r.is_last());
}

#[test]
fn res_14_expect_continue_without_100() {
    // SRV-7: a final head before any 100 Continue is not persistent.
    let mut r = res_with(|s| s.expect_continue = true);
    r.write_head(403, None, []).unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(
            "HTTP/1.1 403 Forbidden\r\nDate: <date>\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
    );
    assert!(r.is_last());
    // After a 100 it is.
    let mut r = res_with(|s| s.expect_continue = true);
    r.write_continue().unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nDate: <date>\r\n{KA}Content-Length: 0\r\n\r\n"
        ))
    );
    assert!(!r.is_last());
}

#[test]
fn res_15_known_length_only_from_end() {
    let mut r = res();
    r.end(Some(Bytes::from("h\u{e9}llo"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n{KA}Content-Length: 6\r\n\r\nh\u{c3}\u{a9}llo"
        ))
    );
    let mut r = res();
    r.write_head(201, None, [("X-A", "1".into())]).unwrap();
    r.end(Some(b("x"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 201 Created\r\nX-A: 1\r\nDate: <date>\r\n{KA}Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
        ))
    );
    let mut r = res();
    r.write(Bytes::new()).unwrap();
    r.end(Some(b("x"))).unwrap();
    assert!(wire(&mut r).contains("Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"));
    let mut r = res();
    r.flush_headers().unwrap();
    r.end(None).unwrap();
    assert!(wire(&mut r).ends_with("Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
}

#[test]
fn res_15_user_framing_fields() {
    let mut r = res();
    r.set_header("Content-Length", 5).unwrap();
    r.write(b("ab")).unwrap();
    r.end(Some(b("cde"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: <date>\r\n{KA}\r\nabcde"
        ))
    );
    let mut r = res();
    r.set_header("Transfer-Encoding", "gzip, Chunked").unwrap();
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nDate: <date>\r\n{KA}\r\n3\r\nabc\r\n0\r\n\r\n"
        ))
    );
    assert!(r.chunked_encoding());
    let mut r = res();
    r.set_header("Transfer-Encoding", "gzip").unwrap();
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nDate: <date>\r\n{KA}\r\nabc"
        ))
    );
    assert!(!r.is_last(), "kept alive");
    // Content-Length syntax is not checked (VAL-3).
    let mut r = res();
    r.set_header("Content-Length", "abc").unwrap();
    r.end(None).unwrap();
    assert!(wire(&mut r).starts_with("HTTP/1.1 200 OK\r\nContent-Length: abc\r\n"));
}

#[test]
fn res_15_both_removed_quirk() {
    let mut r = res();
    r.remove_header("Content-Length").unwrap();
    r.remove_header("Transfer-Encoding").unwrap();
    r.write(b("ab")).unwrap();
    r.end(Some(b("c"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(
            "HTTP/1.1 200 OK\r\nDate: <date>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nabc"
        )
    );
    assert!(r.is_last(), "closed although it said keep-alive");
}

#[test]
fn res_16_head_requests() {
    let mut r = res_with(|s| s.head_request = true);
    r.end(Some(b("hello"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!("HTTP/1.1 200 OK\r\nDate: <date>\r\n{KA}\r\n"))
    );
    let mut r = res_with(|s| s.head_request = true);
    r.write_head(200, None, [("Content-Length", "100".into())])
        .unwrap();
    r.write(b("dropped")).unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nDate: <date>\r\n{KA}\r\n"
        ))
    );
    // A user Transfer-Encoding: chunked on HEAD: sent, but no terminator.
    let mut r = res_with(|s| s.head_request = true);
    r.set_header("Transfer-Encoding", "chunked").unwrap();
    r.end(Some(b("x"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nDate: <date>\r\n{KA}\r\n"
        ))
    );
}

#[test]
fn res_16_no_body_statuses_drop_the_body() {
    for status in [204u16, 304] {
        let mut r = res();
        r.set_status_code(status);
        r.write(b("abc")).unwrap();
        assert_eq!(
            r.buffered_len(),
            0,
            "a dropped write does not release the head"
        );
        r.end(Some(b("def"))).unwrap();
        let w = wire(&mut r);
        assert!(
            w.ends_with(&exp(&format!("\r\nDate: <date>\r\n{KA}\r\n"))),
            "{w:?}"
        );
    }
}

#[test]
fn res_16_reject_non_standard_body_writes() {
    let setup = |s: &mut ResponseSetup| {
        s.head_request = true;
        s.reject_non_standard_body_writes = true;
    };
    // oracle: HEAD + rejectNonStandardBodyWrites: write('x') throws
    // ERR_HTTP_BODY_NOT_ALLOWED with headersSent true; end() then sends the head.
    let mut r = res_with(setup);
    let err = r.write(b("x")).unwrap_err();
    assert_eq!(err.code(), "ERR_HTTP_BODY_NOT_ALLOWED");
    assert_eq!(
        err.to_string(),
        "Adding content for this request method or response status is not allowed."
    );
    assert!(r.headers_sent());
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!("HTTP/1.1 200 OK\r\nDate: <date>\r\n{KA}\r\n"))
    );
    // Even an empty write.
    let mut r = res_with(setup);
    assert_eq!(r.write(Bytes::new()), Err(OutgoingError::BodyNotAllowed));
    let mut r = res_with(|s| s.reject_non_standard_body_writes = true);
    r.write_head(204, None, []).unwrap();
    assert_eq!(r.end(Some(b("x"))), Err(OutgoingError::BodyNotAllowed));
    assert!(!r.writable_ended());
    r.end(None).unwrap();
}

#[test]
fn res_17_no_chunked_coding_for_204_and_304() {
    for (status, text) in [(204u16, "No Content"), (304, "Not Modified")] {
        let mut r = res();
        r.write_head(status, None, [("Transfer-Encoding", "chunked".into())])
            .unwrap();
        r.end(Some(b("x"))).unwrap();
        assert_eq!(
            wire(&mut r),
            exp(&format!(
                "HTTP/1.1 {status} {text}\r\nTransfer-Encoding: chunked\r\nDate: <date>\r\nConnection: close\r\n\r\n"
            ))
        );
        assert!(r.is_last());
        assert!(!r.chunked_encoding());
    }
}

#[test]
fn res_17_user_connection_wins() {
    // oracle: writeHead(204,{'Transfer-Encoding':'chunked','Connection':'keep-alive'}); end('x') ->
    // "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nDate: …\r\n\r\n",
    // connection left open
    let mut r = res();
    r.write_head(
        204,
        None,
        [
            ("Transfer-Encoding", "chunked".into()),
            ("Connection", "keep-alive".into()),
        ],
    )
    .unwrap();
    r.end(Some(b("x"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(
            "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nDate: <date>\r\n\r\n"
        )
    );
    assert!(!r.is_last());
}

#[test]
fn res_18_http_1_0_peers() {
    let v10 = |s: &mut ResponseSetup| {
        s.version = Version::HTTP_10;
        s.keep_alive = false;
    };
    let mut r = res_with(v10);
    r.end(Some(b("hello"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp("HTTP/1.1 200 OK\r\nDate: <date>\r\nConnection: close\r\n\r\nhello")
    );
    assert!(r.is_last());
    // oracle: HTTP/1.0 + Connection: keep-alive, no Content-Length -> "Connection: close", FIN
    let mut r = res_with(|s| s.version = Version::HTTP_10);
    r.end(Some(b("hello"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp("HTTP/1.1 200 OK\r\nDate: <date>\r\nConnection: close\r\n\r\nhello")
    );
    assert!(r.is_last());
    // oracle: HTTP/1.0 + Connection: keep-alive + setHeader('Content-Length',5) ->
    // "Content-Length: 5\r\nDate: …\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nhello"
    let mut r = res_with(|s| s.version = Version::HTTP_10);
    r.set_header("Content-Length", 5).unwrap();
    r.end(Some(b("hello"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: <date>\r\n{KA}\r\nhello"
        ))
    );
    assert!(!r.is_last());
    // oracle: HTTP/1.0 + Connection: keep-alive + TE: chunked -> keep-alive, Content-Length: 5
    let mut r = res_with(|s| {
        s.version = Version::HTTP_10;
        s.te_chunked = true;
    });
    r.end(Some(b("hello"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n{KA}Content-Length: 5\r\n\r\nhello"
        ))
    );
    assert!(!r.is_last());
    // Written body without a known length: close-delimited, no chunk coding.
    let mut r = res_with(v10);
    r.write(b("ab")).unwrap();
    r.end(Some(b("c"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp("HTTP/1.1 200 OK\r\nDate: <date>\r\nConnection: close\r\n\r\nabc")
    );
}

// ----- 5.5 Body coding -----

#[test]
fn res_19_chunked_coding() {
    let mut r = res();
    r.write(b("ab")).unwrap();
    r.end(Some(b("cd"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n{KA}Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"
        ))
    );
    let mut r = res();
    r.flush_headers().unwrap();
    segments(&mut r);
    let data = Bytes::from(vec![b'z'; 26]);
    r.write(data.clone()).unwrap();
    r.write(Bytes::new()).unwrap();
    let mut q = VecDeque::new();
    r.take_output(&mut q);
    assert_eq!(q.len(), 3, "an empty write adds nothing");
    assert_eq!(&q[0][..], b"1a\r\n");
    assert_eq!(
        q[1].as_ptr(),
        data.as_ptr(),
        "the caller's bytes, not a copy"
    );
    assert_eq!(&q[2][..], b"\r\n");
    r.end(None).unwrap();
    assert_eq!(wire(&mut r), "0\r\n\r\n");
}

#[test]
fn res_19_raw_bodies_are_not_copied() {
    let mut r = res();
    r.set_header("Content-Length", 3).unwrap();
    let data = b("abc");
    r.end(Some(data.clone())).unwrap();
    let mut q = VecDeque::new();
    r.take_output(&mut q);
    assert_eq!(q.len(), 2);
    assert_eq!(q[1].as_ptr(), data.as_ptr());
}

#[test]
fn res_20_trailers() {
    let mut r = res();
    r.add_trailers([("X-Old", HeaderValue::from("gone"))])
        .unwrap();
    r.add_trailers([
        ("X-T", HeaderValue::from("v")),
        ("X-U", HeaderValue::from(vec!["1", "2"])),
    ])
    .unwrap();
    r.write(b("x")).unwrap();
    r.end(None).unwrap();
    assert!(wire(&mut r).ends_with("1\r\nx\r\n0\r\nX-T: v\r\nX-U: 1\r\nX-U: 2\r\n\r\n"));
    // Dropped without chunked coding.
    let mut r = res();
    r.add_trailers([("X-T", HeaderValue::from("v"))]).unwrap();
    r.end(Some(b("x"))).unwrap();
    assert!(wire(&mut r).ends_with("Content-Length: 1\r\n\r\nx"));
}

#[test]
fn res_20_trailer_lists() {
    // oracle: addTrailers({'X-A':[], 'X-B':['1'], 'Cookie':['a','b']}) ->
    // "0\r\nX-A: \r\nX-B: 1\r\nCookie: a\r\nCookie: b\r\n\r\n"
    let mut r = res_with(|s| s.unique_headers = Arc::from(vec!["x-j".into()]));
    r.add_trailers([
        ("X-A", HeaderValue::List(vec![])),
        ("X-B", HeaderValue::from(vec!["1"])),
        ("Cookie", HeaderValue::from(vec!["a", "b"])),
        ("X-J", HeaderValue::from(vec!["a", "b"])),
    ])
    .unwrap();
    r.write(b("x")).unwrap();
    r.end(None).unwrap();
    assert!(
        wire(&mut r)
            .ends_with("0\r\nX-A: \r\nX-B: 1\r\nCookie: a\r\nCookie: b\r\nX-J: a; b\r\n\r\n")
    );
}

#[test]
fn res_20_trailer_validation() {
    let mut r = res();
    r.add_trailers([("X-Keep", HeaderValue::from("1"))])
        .unwrap();
    let err = r
        .add_trailers([("a b", HeaderValue::from("1"))])
        .unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_HTTP_TOKEN");
    assert_eq!(
        err.to_string(),
        r#"Trailer name must be a valid HTTP token ["a b"]"#
    );
    let err = r
        .add_trailers([("a", HeaderValue::from("x\r\ny"))])
        .unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_CHAR");
    assert_eq!(
        err.to_string(),
        r#"Invalid character in trailer content ["a"]"#
    );
    let err = r
        .add_trailers([("a", HeaderValue::from(vec!["ok", "\0"]))])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Invalid character in trailer content ["a"]"#
    );
    // The earlier trailers stay.
    r.write(b("x")).unwrap();
    r.end(None).unwrap();
    assert!(wire(&mut r).ends_with("0\r\nX-Keep: 1\r\n\r\n"));
}

#[test]
fn res_20_trailer_field() {
    // A Trailer field disables the automatic Content-Length.
    let mut r = res();
    r.set_header("Trailer", "X-T").unwrap();
    r.add_trailers([("X-T", HeaderValue::from("v"))]).unwrap();
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nTrailer: X-T\r\nDate: <date>\r\n{KA}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: v\r\n\r\n"
        ))
    );
    // With a user Content-Length it cannot be chunked.
    let mut r = res();
    r.set_header("Trailer", "X-T").unwrap();
    r.set_header("Content-Length", 3).unwrap();
    let err = r.end(Some(b("abc"))).unwrap_err();
    assert_eq!(err.code(), "ERR_HTTP_TRAILER_INVALID");
    assert_eq!(
        err.to_string(),
        "Trailers are invalid with this transfer encoding"
    );
    assert!(!r.headers_sent());
    assert_eq!(r.buffered_len(), 0);
}

#[test]
fn res_20_trailer_field_on_head() {
    // oracle: HEAD request, setHeader('Trailer','x'); end() -> ERR_HTTP_TRAILER_INVALID,
    // headersSent false
    let mut r = res_with(|s| s.head_request = true);
    r.set_header("Trailer", "x").unwrap();
    assert_eq!(r.end(None), Err(OutgoingError::TrailerInvalid));
    assert!(!r.headers_sent());
}

// ----- 5.6 Interim responses and flushing -----

#[test]
fn res_21_head_held_back_until_body() {
    let mut r = res();
    r.write_head(200, None, []).unwrap();
    assert!(r.headers_sent());
    assert!(!r.header_flushed());
    assert_eq!(r.buffered_len(), 0);
    r.write(b("abc")).unwrap();
    assert!(r.header_flushed());
    // Head and first chunk leave together.
    let segs = segments(&mut r);
    assert_eq!(
        segs.concat(),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n{KA}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
        ))
    );
}

#[test]
fn res_21_first_empty_write_sends_the_head() {
    let mut r = res();
    r.write(Bytes::new()).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 200 OK\r\nDate: <date>\r\n{KA}Transfer-Encoding: chunked\r\n\r\n"
        ))
    );
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(wire(&mut r), "3\r\nabc\r\n0\r\n\r\n");
    // flushHeaders too.
    let mut r = res();
    r.flush_headers().unwrap();
    assert!(r.header_flushed());
    assert!(wire(&mut r).ends_with("Transfer-Encoding: chunked\r\n\r\n"));
    // A user Expect field sends the block at once.
    let mut r = res();
    r.write_head(200, None, [("Expect", "x".into())]).unwrap();
    assert!(r.header_flushed());
}

#[test]
fn res_22_continue_and_processing() {
    let mut r = res();
    r.write_continue().unwrap();
    assert!(r.sent_continue());
    r.write_processing().unwrap();
    r.write_continue().unwrap();
    assert_eq!(
        wire(&mut r),
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
    );
    // Before a held-back head: they go first.
    r.write_head(200, None, []).unwrap();
    r.write_processing().unwrap();
    r.end(None).unwrap();
    assert!(wire(&mut r).starts_with("HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\n"));
}

#[test]
fn res_22_no_interim_after_the_head_left() {
    // oracle: writeHead(200); writeContinue(); write('a'); writeContinue(); end() ->
    // Node writes the second "HTTP/1.1 100 Continue\r\n\r\n" inside the chunked body;
    // here it is refused instead.
    let mut r = res();
    r.write(b("a")).unwrap();
    let err = r.write_continue().unwrap_err();
    assert_eq!(err, OutgoingError::HeadersSentWrite);
    assert_eq!(r.write_processing(), Err(OutgoingError::HeadersSentWrite));
    assert_eq!(
        r.write_early_hints(["</a>"], []),
        Err(OutgoingError::HeadersSentWrite)
    );
    assert!(!r.sent_continue());
}

#[test]
fn res_22_early_hints() {
    let mut r = res();
    r.write_early_hints(
        ["</a.css>; rel=preload", "</b.js>; rel=preload"],
        [("x-foo", HeaderValue::from("bar"))],
    )
    .unwrap();
    assert_eq!(
        wire(&mut r),
        "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload, </b.js>; rel=preload\r\nx-foo: bar\r\n\r\n"
    );
    // No link: nothing.
    r.write_early_hints([], [("x-foo", HeaderValue::from("bar"))])
        .unwrap();
    assert_eq!(r.buffered_len(), 0);
    // One string link.
    r.write_early_hints(["</styles.css>; rel=preload; as=style"], [])
        .unwrap();
    assert_eq!(
        wire(&mut r),
        "HTTP/1.1 103 Early Hints\r\nLink: </styles.css>; rel=preload; as=style\r\n\r\n"
    );
}

#[test]
fn res_22_early_hints_errors() {
    let mut r = res();
    let err = r.write_early_hints(["bad link"], []).unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_ARG_VALUE");
    assert_eq!(
        err.to_string(),
        "The argument 'hints' must be an array or string of format \
         \"</styles.css>; rel=preload; as=style\". Received 'bad link'"
    );
    // oracle: link ['</a>; rel=preload', "it's"] -> "… Received \"it's\""
    let err = r
        .write_early_hints(["</a>; rel=preload", "it's"], [])
        .unwrap_err();
    assert!(err.to_string().ends_with("Received \"it's\""), "{err}");
    // oracle: {link:'<a\r\nX: y>', 'x-foo':'b\r\nar'} -> Node writes both raw
    // ("Link: <a\r\nX: y>\r\nx-foo: b\r\nar\r\n"); here they are refused.
    let err = r.write_early_hints(["<a\r\nX: y>"], []).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Invalid character in header content ["Link"]"#
    );
    let err = r
        .write_early_hints(["</a>"], [("x-foo", HeaderValue::from("b\r\nar"))])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Invalid character in header content ["x-foo"]"#
    );
    let err = r
        .write_early_hints(["</a>"], [("x foo", HeaderValue::from("1"))])
        .unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_HTTP_TOKEN");
    assert_eq!(r.buffered_len(), 0);
}

// ----- 5.7 end, write, events, errors -----

#[test]
fn res_23_write_renders_implicit_headers() {
    let mut r = res();
    r.set_status_code(202);
    r.write(b("a")).unwrap();
    assert!(r.headers_sent());
    assert!(r.chunked_encoding());
    assert!(wire(&mut r).starts_with("HTTP/1.1 202 Accepted\r\n"));
}

#[test]
fn res_24_end() {
    let mut r = res();
    r.end(None).unwrap();
    assert!(r.writable_ended());
    assert!(r.finished());
    let first = wire(&mut r);
    assert!(first.ends_with("Content-Length: 0\r\n\r\n"));
    r.end(None).unwrap();
    r.end(Some(Bytes::new())).unwrap();
    assert_eq!(r.buffered_len(), 0, "a second end() is a no-op");
    assert_eq!(
        OutgoingError::AlreadyFinished.code(),
        "ERR_STREAM_ALREADY_FINISHED"
    );
    assert_eq!(
        OutgoingError::AlreadyFinished.to_string(),
        "Cannot call end after a stream was finished"
    );
}

#[test]
fn res_25_write_after_end_and_destroy() {
    let mut r = res();
    r.end(None).unwrap();
    let err = r.write(b("x")).unwrap_err();
    assert_eq!(err.code(), "ERR_STREAM_WRITE_AFTER_END");
    assert_eq!(err.to_string(), "write after end");
    assert_eq!(r.end(Some(b("x"))), Err(OutgoingError::WriteAfterEnd));

    let mut r = res();
    r.write(b("x")).unwrap();
    r.destroy();
    assert!(r.destroyed());
    assert_eq!(r.buffered_len(), 0, "queued output is dropped");
    let err = r.write(b("y")).unwrap_err();
    assert_eq!(err.code(), "ERR_STREAM_DESTROYED");
    assert_eq!(
        err.to_string(),
        "Cannot call write after a stream was destroyed"
    );
    assert_eq!(r.end(Some(b("y"))), Err(OutgoingError::Destroyed));
    r.end(None).unwrap();
    assert_eq!(r.buffered_len(), 0);
}

#[test]
fn res_26_headers_sent_means_rendered() {
    let mut r = res();
    r.write_head(200, None, []).unwrap();
    assert!(r.headers_sent());
    assert_eq!(r.buffered_len(), 0);
    let mut r = res();
    r.flush_headers().unwrap();
    assert!(r.headers_sent());
    let mut r = res();
    r.write(b("x")).unwrap();
    assert!(r.headers_sent());
}

#[test]
fn res_27_complete_once_ended_and_taken() {
    let mut r = res();
    r.write(b("x")).unwrap();
    assert!(!r.is_complete());
    r.end(None).unwrap();
    assert!(!r.is_complete(), "bytes still queued");
    assert!(r.buffered_len() > 0);
    segments(&mut r);
    assert!(r.is_complete());
}

#[test]
fn res_28_content_length_not_checked_by_default() {
    let mut r = res();
    r.set_header("Content-Length", 5).unwrap();
    r.end(Some(b("abc"))).unwrap();
    assert!(wire(&mut r).ends_with("\r\n\r\nabc"));
    let mut r = res();
    r.set_header("Content-Length", 2).unwrap();
    r.end(Some(b("abcdef"))).unwrap();
    assert!(wire(&mut r).ends_with("\r\n\r\nabcdef"));
}

#[test]
fn res_28_strict_content_length() {
    // oracle: strictContentLength, Content-Length 5, end('abc') -> throws; headersSent true,
    // writableEnded false, and no byte reaches the peer. Here nothing is rendered or queued.
    let mut r = res();
    r.set_strict_content_length(true);
    r.set_header("Content-Length", 5).unwrap();
    let err = r.end(Some(b("abc"))).unwrap_err();
    assert_eq!(err.code(), "ERR_HTTP_CONTENT_LENGTH_MISMATCH");
    assert_eq!(
        err.to_string(),
        "Response body's content-length of 3 byte(s) does not match the content-length of 5 byte(s) set in header"
    );
    assert_eq!(r.buffered_len(), 0);
    assert!(!r.writable_ended());
    r.end(Some(b("abcde"))).unwrap();
    assert!(wire(&mut r).ends_with("\r\n\r\nabcde"));

    // oracle: Content-Length 2; write('a') (renders, unchecked); write('bc') throws "3 … 2";
    // end('b') -> "ab"
    let mut r = res();
    r.set_strict_content_length(true);
    r.set_header("Content-Length", 2).unwrap();
    r.write(b("a")).unwrap();
    let err = r.write(b("bc")).unwrap_err();
    assert_eq!(
        err,
        OutgoingError::ContentLengthMismatch {
            actual: 3,
            expected: JsNumber(2.0)
        }
    );
    r.end(Some(b("b"))).unwrap();
    assert!(wire(&mut r).ends_with("\r\n\r\nab"));

    // end() short of the length.
    let mut r = res();
    r.set_strict_content_length(true);
    r.set_header("Content-Length", 5).unwrap();
    r.write(b("abc")).unwrap();
    let err = r.end(None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Response body's content-length of 3 byte(s) does not match the content-length of 5 byte(s) set in header"
    );
    assert!(!r.writable_ended());

    // Not applied to chunked bodies.
    let mut r = res();
    r.set_strict_content_length(true);
    r.write(b("abc")).unwrap();
    r.end(None).unwrap();
}

#[test]
fn res_28_strict_with_odd_lengths() {
    // oracle: Content-Length ' 0x3 ', end('ab') -> "content-length of 2 … of 3 byte(s)"
    let mut r = res();
    r.set_strict_content_length(true);
    r.set_header("Content-Length", " 0x3 ").unwrap();
    assert_eq!(
        r.end(Some(b("ab"))).unwrap_err().to_string(),
        "Response body's content-length of 2 byte(s) does not match the content-length of 3 byte(s) set in header"
    );
    // oracle: Content-Length 'abc', write('a') passes, end() -> "of 1 byte(s) … of NaN byte(s)"
    let mut r = res();
    r.set_strict_content_length(true);
    r.set_header("Content-Length", "abc").unwrap();
    r.write(b("a")).unwrap();
    assert_eq!(
        r.end(None).unwrap_err().to_string(),
        "Response body's content-length of 1 byte(s) does not match the content-length of NaN byte(s) set in header"
    );
}

// RES-29 (setTimeout, cork), RES-30 (ordering across responses) and RES-31 (draining
// unread request bodies) belong to the connection. The part that is the response's:
// it buffers everything, in order, until the connection takes it.
#[test]
fn res_30_output_waits_in_order_until_taken() {
    let mut r = res();
    r.write_continue().unwrap();
    r.write(b("a")).unwrap();
    r.write(b("b")).unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        exp(&format!(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nDate: <date>\r\n{KA}Transfer-Encoding: chunked\r\n\r\n\
             1\r\na\r\n1\r\nb\r\n0\r\n\r\n"
        ))
    );
    assert!(r.is_complete());
}

// ----- 6 VAL-1 … VAL-3, CONST-9 -----

#[test]
fn val_latin1_values() {
    let mut r = res();
    r.set_header("X-L", "\u{e9}\u{ff}\ta").unwrap();
    let err = r.set_header("X-Bad", "\u{101}").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"Invalid character in header content ["X-Bad"]"#
    );
    let err = r.set_header("X-Bad", "\u{1f600}").unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_CHAR");
    r.set_header("X-Bytes", &b"\x80\xfe"[..]).unwrap();
    assert!(r.set_header("X-Del", "\u{7f}").is_err());
    assert!(r.set_header("\u{e9}", "1").is_err());
    r.set_header("!#$%&'*+-.^_`|~09AZaz", "ok").unwrap();
    r.end(None).unwrap();
    let mut q = VecDeque::new();
    r.take_output(&mut q);
    let all: Vec<u8> = q.iter().flat_map(|s| s.iter().copied()).collect();
    let head = latin1(&all);
    assert!(head.contains("X-L: \u{e9}\u{ff}\ta\r\nX-Bytes: \u{80}\u{fe}\r\n"));
    assert!(
        all.windows(7).any(|w| w == b"X-L: \xe9\xff"),
        "one byte per char"
    );
}

// ----- property: nothing breaks the header block -----

#[derive(Debug, Clone)]
enum Val {
    Str(String),
    Raw(Vec<u8>),
    Int(i64),
    List(Vec<String>),
}

impl Val {
    fn value(&self) -> HeaderValue {
        match self {
            Val::Str(s) => HeaderValue::from(s.as_str()),
            Val::Raw(v) => HeaderValue::from(v.clone()),
            Val::Int(n) => HeaderValue::from(*n),
            Val::List(v) => HeaderValue::from(v.clone()),
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Set(String, Val),
    Append(String, Val),
    Remove(String),
    StatusMessage(String),
    WriteHead(u16, Option<String>, Vec<(String, Val)>),
    Trailers(Vec<(String, Val)>),
    Write,
}

/// Strings that mix ordinary text, CR/LF/NUL, an injection attempt and chars above
/// U+00FF.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 ,;=]{0,6}",
        "[a-z\r\n\0\t\u{7f}\u{e9}\u{101}]{0,6}",
        Just("x\r\nInjected: 1".to_owned()),
        Just("x\nInjected: 1".to_owned()),
        Just("\r\n\r\nInjected".to_owned()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z-]{1,6}",
        Just("Connection".to_owned()),
        Just("Content-Length".to_owned()),
        Just("Transfer-Encoding".to_owned()),
        Just("Trailer".to_owned()),
        Just("Cookie".to_owned()),
        text(),
    ]
}

fn val() -> impl Strategy<Value = Val> {
    prop_oneof![
        text().prop_map(Val::Str),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(Val::Raw),
        any::<i64>().prop_map(Val::Int),
        proptest::collection::vec(text(), 0..3).prop_map(Val::List),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let pairs = || proptest::collection::vec((name(), val()), 0..3);
    prop_oneof![
        (name(), val()).prop_map(|(n, v)| Op::Set(n, v)),
        (name(), val()).prop_map(|(n, v)| Op::Append(n, v)),
        name().prop_map(Op::Remove),
        text().prop_map(Op::StatusMessage),
        (90u16..1010, proptest::option::of(text()), pairs())
            .prop_map(|(s, r, h)| Op::WriteHead(s, r, h)),
        pairs().prop_map(Op::Trailers),
        Just(Op::Write),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// RES-2, RES-7, RES-8, RES-20, VAL-1 … VAL-3: whatever the calls, CR, LF and NUL
    /// appear in the header block and the trailers only as CRLF line terminators, and
    /// no injected field line appears.
    #[test]
    fn no_cr_lf_or_nul_escapes_into_the_header_block(ops in proptest::collection::vec(op(), 0..8)) {
        let mut r = res();
        for op in &ops {
            let _ = match op {
                Op::Set(n, v) => r.set_header(n, v.value()).map(drop),
                Op::Append(n, v) => r.append_header(n, v.value()).map(drop),
                Op::Remove(n) => r.remove_header(n).map(drop),
                Op::StatusMessage(m) => {
                    r.set_status_message(Some(m));
                    Ok(())
                }
                Op::WriteHead(s, reason, h) => r
                    .write_head(*s, reason.as_deref(), h.iter().map(|(n, v)| (n.as_str(), v.value())))
                    .map(drop),
                Op::Trailers(t) => r.add_trailers(t.iter().map(|(n, v)| (n.as_str(), v.value()))),
                Op::Write => r.write(Bytes::from_static(b"body")),
            };
        }
        let _ = r.end(None);
        let _ = r.flush_headers();
        let mut q = VecDeque::new();
        r.take_output(&mut q);
        let all: Vec<u8> = q.iter().flat_map(|s| s.iter().copied()).collect();
        // The body is only ever "body" pieces, so every CRLF-separated piece of the
        // output is a status line, a field line, a chunk line or empty.
        for piece in all.split(|&c| c == b'\n') {
            let line = piece.strip_suffix(b"\r").unwrap_or(piece);
            prop_assert!(!line.contains(&b'\r'), "lone CR in {:?}", latin1(&all));
            prop_assert!(!line.contains(&0), "NUL in {:?}", latin1(&all));
            prop_assert!(!line.starts_with(b"Injected"), "injection in {:?}", latin1(&all));
        }
        for pair in all.windows(2) {
            if pair[1] == b'\n' {
                prop_assert_eq!(pair[0], b'\r', "lone LF in {:?}", latin1(&all));
            }
        }
        if !all.is_empty() {
            prop_assert!(all.starts_with(b"HTTP/1.1 "));
            let head_end = all.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 2);
            let head = &all[..head_end.unwrap_or(all.len())];
            for line in head.split(|&c| c == b'\n').skip(1) {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.is_empty() { continue; }
                let colon = line.iter().position(|&c| c == b':');
                prop_assert!(colon.is_some_and(|i| i > 0 && line[..i].iter().all(|c| c.is_ascii_graphic())),
                    "not a field line: {:?}", latin1(line));
            }
        }
    }
}
