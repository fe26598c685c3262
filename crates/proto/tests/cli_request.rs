//! One or more tests per request-head rule of the Node v20 specification (CLI-1 …
//! CLI-14, with CLI-21, CLI-24, CLI-25 as far as the request object goes), asserting
//! exact wire bytes. The examples come from the specification, which took them from
//! Node v20.20.2; cases marked `// oracle:` were asked of Node v20.20.2 directly (an
//! `http.request` against a raw `net.createServer` on 127.0.0.1 that printed the
//! bytes it received, the port masked).

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use courier_proto::agent::AgentOptions;
use courier_proto::outgoing::{
    ClientRequest, HeaderValue, JsNumber, OutgoingError, RequestAgent, RequestHeaders,
    RequestOptions,
};
use proptest::prelude::*;

const PORT: u16 = 3000;
const HOST: &str = "Host: 127.0.0.1:3000\r\n";
const KA: &str = "Connection: keep-alive\r\n";
const CLOSE: &str = "Connection: close\r\n";

/// `http.request({hostname: '127.0.0.1', port: 3000, ...})` through the global agent.
fn opts() -> RequestOptions {
    RequestOptions {
        hostname: Some("127.0.0.1".into()),
        port: Some(PORT),
        ..RequestOptions::default()
    }
}

fn req(f: impl FnOnce(&mut RequestOptions)) -> ClientRequest {
    try_req(f).expect("valid options")
}

fn try_req(f: impl FnOnce(&mut RequestOptions)) -> Result<ClientRequest, OutgoingError> {
    let mut o = opts();
    f(&mut o);
    ClientRequest::new(o)
}

fn method(m: &str) -> ClientRequest {
    req(|o| o.method = Some(m.into()))
}

fn object(pairs: &[(&str, HeaderValue)]) -> RequestHeaders {
    RequestHeaders::Object(
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect(),
    )
}

fn array(pairs: &[(&str, HeaderValue)]) -> RequestHeaders {
    RequestHeaders::Array(
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect(),
    )
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&c| char::from(c)).collect()
}

/// The queued segments, each as a Latin-1 string.
fn segments(r: &mut ClientRequest) -> Vec<String> {
    let mut q = VecDeque::new();
    r.take_output(&mut q);
    q.iter().map(|s| latin1(s)).collect()
}

/// Everything queued so far, as one Latin-1 string.
fn wire(r: &mut ClientRequest) -> String {
    segments(r).concat()
}

/// `end()` then the whole wire.
fn ended(mut r: ClientRequest) -> String {
    r.end(None).unwrap();
    wire(&mut r)
}

fn err_text(e: &OutgoingError) -> (&'static str, String) {
    (e.code(), e.to_string())
}

// ----- 7.1 Options -----

#[test]
fn cli_1_url_parts_as_options() {
    // `get('http://u:p@127.0.0.1:<port>/p?q=1#h')`: the URL becomes hostname, port,
    // path (pathname + search) and auth.
    let r = req(|o| {
        o.path = Some("/p?q=1".into());
        o.auth = Some("u:p".into());
    });
    assert_eq!(
        ended(r),
        format!("GET /p?q=1 HTTP/1.1\r\n{HOST}Authorization: Basic dTpw\r\n{KA}\r\n")
    );
    // `get()` = `request()` + `end()`: the head goes out at once, without framing.
    let mut r = req(|_| {});
    r.end(None).unwrap();
    assert!(r.writable_ended());
    assert_eq!(wire(&mut r), format!("GET / HTTP/1.1\r\n{HOST}{KA}\r\n"));
    assert!(r.is_complete());
}

#[test]
fn cli_2_agent_choices() {
    // oracle: agent undefined (globalAgent) → keep-alive; agent:false → close;
    // new Agent({maxSockets:5}) → keep-alive; createConnection without agent → close.
    let r = req(|_| {});
    assert!(r.keep_alive() && !r.is_last());
    assert_eq!(ended(r), format!("GET / HTTP/1.1\r\n{HOST}{KA}\r\n"));

    let r = req(|o| o.agent = Some(RequestAgent::one_off()));
    assert!(!r.keep_alive() && r.is_last());
    assert_eq!(ended(r), format!("GET / HTTP/1.1\r\n{HOST}{CLOSE}\r\n"));

    let r = req(|o| {
        o.agent = Some(RequestAgent::one_off());
        o.method = Some("POST".into());
    });
    assert_eq!(
        ended(r),
        format!("POST / HTTP/1.1\r\n{HOST}{CLOSE}Content-Length: 0\r\n\r\n")
    );

    let limited = AgentOptions {
        max_sockets: Some(5),
        ..AgentOptions::default()
    };
    let r = req(|o| o.agent = Some(RequestAgent::from_options(&limited)));
    assert_eq!(ended(r), format!("GET / HTTP/1.1\r\n{HOST}{KA}\r\n"));
    let r = req(|o| o.agent = Some(RequestAgent::from_options(&AgentOptions::global())));
    assert_eq!(ended(r), format!("GET / HTTP/1.1\r\n{HOST}{KA}\r\n"));

    // oracle: createConnection, POST end('x') → close.
    let r = req(|o| {
        o.agent = None;
        o.method = Some("POST".into());
    });
    assert!(r.agent().is_none() && !r.keep_alive() && r.is_last());
    let mut r = r;
    r.end(Some(b("x"))).unwrap();
    assert_eq!(
        wire(&mut r),
        format!("POST / HTTP/1.1\r\n{HOST}{CLOSE}Content-Length: 1\r\n\r\nx")
    );
}

#[test]
fn cli_3_protocol_must_be_the_agents() {
    let e = try_req(|o| o.protocol = Some("https:".into())).unwrap_err();
    assert_eq!(
        err_text(&e),
        (
            "ERR_INVALID_PROTOCOL",
            r#"Protocol "https:" not supported. Expected "http:""#.to_owned()
        )
    );
    assert_eq!(
        req(|o| o.protocol = Some("http:".into())).protocol(),
        "http:"
    );
    assert_eq!(
        req(|o| o.protocol = Some(String::new())).protocol(),
        "http:"
    );
    // oracle: an agent whose protocol is 'https:', no protocol option.
    let e = try_req(|o| {
        o.agent = Some(RequestAgent {
            protocol: "https:".into(),
            ..RequestAgent::default()
        })
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"Protocol "http:" not supported. Expected "https:""#
    );
}

#[test]
fn cli_4_path_check() {
    let unescaped = (
        "ERR_UNESCAPED_CHARACTERS",
        "Request path contains unescaped characters".to_owned(),
    );
    for bad in ["/a b", "/a\tb", "/\u{100}", "/a\r\nX: y", "/\0", "/😀"] {
        let e = try_req(|o| o.path = Some(bad.into())).unwrap_err();
        assert_eq!(err_text(&e), unescaped, "{bad:?}");
    }
    // oracle: '/\u00e9\u007f' → bytes 2f e9 7f on the wire.
    let mut r = req(|o| o.path = Some("/\u{e9}\u{7f}".into()));
    assert_eq!(r.path(), "/\u{e9}\u{7f}");
    r.end(None).unwrap();
    let mut q = VecDeque::new();
    r.take_output(&mut q);
    assert!(q[0].starts_with(b"GET /\xe9\x7f HTTP/1.1\r\n"));
    // oracle: path '' → '/'.
    let r = req(|o| o.path = Some(String::new()));
    assert_eq!(r.path(), "/");
    assert_eq!(ended(r), format!("GET / HTTP/1.1\r\n{HOST}{KA}\r\n"));
    // The path check comes first (before the method and protocol checks).
    let e = try_req(|o| {
        o.path = Some("/ ".into());
        o.method = Some("G T".into());
        o.protocol = Some("ftp:".into());
    })
    .unwrap_err();
    assert_eq!(e, OutgoingError::UnescapedPath);
}

#[test]
fn cli_5_host_and_port() {
    // oracle: hostname wins over host.
    let r = req(|o| o.host = Some("other".into()));
    assert_eq!(r.host(), "127.0.0.1");
    assert_eq!(ended(r), format!("GET / HTTP/1.1\r\n{HOST}{KA}\r\n"));
    // host when there is no hostname; `localhost` when neither.
    let r = req(|o| {
        o.hostname = None;
        o.host = Some("example.com".into());
    });
    assert_eq!(
        ended(r),
        format!("GET / HTTP/1.1\r\nHost: example.com:3000\r\n{KA}\r\n")
    );
    let r = req(|o| o.hostname = Some(String::new()));
    assert_eq!(r.host(), "localhost");
    // The port defaults to the agent's default port (80), which Host leaves out;
    // port 0 counts as none (oracle: port:0 → Host: 127.0.0.1).
    for port in [None, Some(0), Some(80)] {
        let r = req(|o| o.port = port);
        assert_eq!(r.port(), 80);
        assert_eq!(r.get_header("host"), Some(&HeaderValue::from("127.0.0.1")));
    }
    // defaultPort option: the port left out of Host (oracle: {port, defaultPort: port}).
    let r = req(|o| o.default_port = Some(PORT));
    assert_eq!(r.port(), PORT);
    assert_eq!(
        ended(r),
        format!("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n{KA}\r\n")
    );
    let r = req(|o| {
        o.port = None;
        o.default_port = Some(8080);
    });
    assert_eq!(r.port(), 8080);
    assert_eq!(r.get_header("host"), Some(&HeaderValue::from("127.0.0.1")));
}

#[test]
fn cli_6_method() {
    // oracle: 'purge' → PURGE, framed like POST.
    let r = method("purge");
    assert_eq!(r.method(), "PURGE");
    assert_eq!(
        ended(r),
        format!("PURGE / HTTP/1.1\r\n{HOST}{KA}Content-Length: 0\r\n\r\n")
    );
    // oracle: '' → GET.
    let r = method("");
    assert_eq!(r.method(), "GET");
    // oracle: 'm-search' with path '*'.
    let r = req(|o| {
        o.method = Some("m-search".into());
        o.path = Some("*".into());
    });
    assert_eq!(
        ended(r),
        format!("M-SEARCH * HTTP/1.1\r\n{HOST}{KA}Content-Length: 0\r\n\r\n")
    );
    // Any token, not only METHODS.
    assert_eq!(method("x-Custom!").method(), "X-CUSTOM!");
    // oracle: 'GE T'.
    let e = try_req(|o| o.method = Some("GE T".into())).unwrap_err();
    assert_eq!(
        err_text(&e),
        (
            "ERR_INVALID_HTTP_TOKEN",
            r#"Method must be a valid HTTP token ["GE T"]"#.to_owned()
        )
    );
    for bad in ["GET\r\n", "G\0", "GÉT", "(GET)"] {
        assert!(try_req(|o| o.method = Some(bad.into())).is_err(), "{bad:?}");
    }
}

#[test]
fn cli_7_other_options_and_defaults() {
    let r = req(|o| {
        o.timeout = Some(Duration::from_millis(1500));
        o.max_header_size = Some(100);
        o.insecure_http_parser = Some(true);
        o.join_duplicate_headers = Some(false);
        o.unique_headers = vec!["X-U".into()];
    });
    assert_eq!(r.timeout(), Some(Duration::from_millis(1500)));
    assert_eq!(r.max_header_size(), Some(100));
    assert_eq!(r.insecure_http_parser(), Some(true));
    assert_eq!(r.join_duplicate_headers(), Some(false));
    assert_eq!(r.unique_headers(), [Box::<str>::from("x-u")]);
    // Defaults on the object.
    let mut r = req(|_| {});
    assert_eq!(r.max_headers_count(), None);
    assert!(!r.reused_socket());
    assert_eq!(r.timeout(), None);
    assert!(!r.aborted() && !r.destroyed());
    assert!(!r.headers_sent() && !r.writable_ended() && !r.finished());
    assert_eq!(
        (r.method(), r.path(), r.host(), r.protocol()),
        ("GET", "/", "127.0.0.1", "http:")
    );
    r.set_max_headers_count(Some(5));
    assert_eq!(r.max_headers_count(), Some(5));
    r.set_timeout(Some(Duration::from_secs(1)));
    assert_eq!(r.timeout(), Some(Duration::from_secs(1)));
}

// ----- 7.2 The request head -----

#[test]
fn cli_8_request_line() {
    let r = req(|o| {
        o.method = Some("OPTIONS".into());
        o.path = Some("*".into());
    });
    assert!(ended(r).starts_with("OPTIONS * HTTP/1.1\r\n"));
    // oracle: CONNECT with an authority path.
    let r = req(|o| {
        o.method = Some("CONNECT".into());
        o.path = Some("example.com:443".into());
    });
    assert_eq!(
        ended(r),
        format!("CONNECT example.com:443 HTTP/1.1\r\n{HOST}{KA}\r\n")
    );
}

#[test]
fn cli_9_field_order() {
    // oracle: user headers, Host, Authorization, Connection.
    let r = req(|o| {
        o.auth = Some("us er:pä:ss".into());
        o.headers = object(&[("X-A", "1".into())]);
    });
    assert_eq!(r.get_raw_header_names(), ["X-A", "Host", "Authorization"]);
    assert_eq!(
        ended(r),
        format!(
            "GET / HTTP/1.1\r\nX-A: 1\r\n{HOST}Authorization: Basic dXMgZXI6cMOkOnNz\r\n{KA}\r\n"
        )
    );
    // oracle: auth 'ü😀:p' → UTF-8, then base64.
    let r = req(|o| o.auth = Some("ü😀:p".into()));
    assert_eq!(
        r.get_header("authorization"),
        Some(&HeaderValue::from("Basic w7zwn5iAOnA="))
    );
    // Then framing after Connection (oracle: POST end() → Content-Length: 0).
    let r = req(|o| {
        o.method = Some("POST".into());
        o.auth = Some("u:p".into());
    });
    assert_eq!(
        ended(r),
        format!(
            "POST / HTTP/1.1\r\n{HOST}Authorization: Basic dTpw\r\n{KA}Content-Length: 0\r\n\r\n"
        )
    );
    // A later set_header goes after Host (oracle: removeHeader('host'); setHeader('X-Late')).
    let mut r = req(|_| {});
    r.set_header("X-Late", "1").unwrap();
    assert_eq!(
        ended(r),
        format!("GET / HTTP/1.1\r\n{HOST}X-Late: 1\r\n{KA}\r\n")
    );
    let mut r = req(|_| {});
    r.remove_header("host").unwrap();
    r.set_header("X-Late", "1").unwrap();
    assert_eq!(ended(r), format!("GET / HTTP/1.1\r\nX-Late: 1\r\n{KA}\r\n"));
    // Object pairs go through setHeader: same name, any case, replaces in place.
    let r = req(|o| {
        o.headers = object(&[
            ("X-A", "1".into()),
            ("X-B", "2".into()),
            ("x-a", "3".into()),
        ]);
    });
    assert_eq!(
        ended(r),
        format!("GET / HTTP/1.1\r\nx-a: 3\r\nX-B: 2\r\n{HOST}{KA}\r\n")
    );
    // No Date, no Keep-Alive is added; user ones are sent as given (oracle).
    let mut r = req(|_| {});
    r.set_header("Date", "x").unwrap();
    r.set_header("Keep-Alive", "timeout=1").unwrap();
    assert_eq!(
        ended(r),
        format!("GET / HTTP/1.1\r\n{HOST}Date: x\r\nKeep-Alive: timeout=1\r\n{KA}\r\n")
    );
}

#[test]
fn cli_9_user_host_and_authorization() {
    // oracle: a user Host field (any case) is kept with its casing.
    let r = req(|o| {
        o.headers = object(&[("X-A", "1".into()), ("HOST", "example.com".into())]);
    });
    assert_eq!(
        ended(r),
        format!("GET / HTTP/1.1\r\nX-A: 1\r\nHOST: example.com\r\n{KA}\r\n")
    );
    // oracle: a falsy user Host ('' or 0) is replaced in place, casing `Host`.
    let r = req(|o| {
        o.headers = object(&[
            ("X-A", "1".into()),
            ("host", "".into()),
            ("X-B", "2".into()),
        ]);
    });
    assert_eq!(
        ended(r),
        format!("GET / HTTP/1.1\r\nX-A: 1\r\n{HOST}X-B: 2\r\n{KA}\r\n")
    );
    let r = req(|o| o.headers = object(&[("X-A", "1".into()), ("HOST", 0.into())]));
    assert_eq!(
        ended(r),
        format!("GET / HTTP/1.1\r\nX-A: 1\r\n{HOST}{KA}\r\n")
    );
    // oracle: a user Authorization wins over auth; a falsy one is replaced in place.
    let r = req(|o| {
        o.auth = Some("u:p".into());
        o.headers = object(&[("authorization", "Bearer x".into())]);
    });
    assert_eq!(
        ended(r),
        format!("GET / HTTP/1.1\r\nauthorization: Bearer x\r\n{HOST}{KA}\r\n")
    );
    for falsy in [HeaderValue::from(""), HeaderValue::from(0)] {
        let r = req(|o| {
            o.auth = Some("u:p".into());
            o.headers = object(&[("authorization", falsy)]);
        });
        assert_eq!(
            ended(r),
            format!("GET / HTTP/1.1\r\nAuthorization: Basic dTpw\r\n{HOST}{KA}\r\n")
        );
    }
    // An empty auth adds nothing.
    let r = req(|o| o.auth = Some(String::new()));
    assert!(!r.has_header("authorization"));
}

#[test]
fn cli_9_host_value() {
    let host_of = |host: &str| {
        let r = req(|o| o.hostname = Some(host.into()));
        r.get_header("host").cloned()
    };
    // oracle: '::1' → [::1]:<port>; '[::1]' kept; 'a:b' (one colon) not bracketed.
    assert_eq!(host_of("::1"), Some("[::1]:3000".into()));
    assert_eq!(host_of("[::1]"), Some("[::1]:3000".into()));
    assert_eq!(host_of("a:b"), Some("a:b:3000".into()));
    assert_eq!(host_of("fe80::1%lo"), Some("[fe80::1%lo]:3000".into()));
    // oracle: setHost false → no Host.
    let r = req(|o| o.set_host = false);
    assert_eq!(ended(r), format!("GET / HTTP/1.1\r\n{KA}\r\n"));
    // oracle: the Host value is checked like any header value.
    for bad in ["a\r\nb", "ā"] {
        let e = try_req(|o| o.hostname = Some(bad.into())).unwrap_err();
        assert_eq!(
            err_text(&e),
            (
                "ERR_INVALID_CHAR",
                r#"Invalid character in header content ["Host"]"#.to_owned()
            )
        );
        // Without Host the name only matters to the connection.
        assert!(
            try_req(|o| {
                o.hostname = Some(bad.into());
                o.set_host = false;
            })
            .is_ok()
        );
    }
    // oracle: no agent and no defaultPort → the port is always written.
    let r = req(|o| {
        o.agent = None;
        o.hostname = None;
        o.port = Some(80);
    });
    assert_eq!(
        ended(r),
        format!("GET / HTTP/1.1\r\nHost: localhost:80\r\n{CLOSE}\r\n")
    );
    let r = req(|o| {
        o.agent = None;
        o.hostname = None;
        o.port = Some(80);
        o.default_port = Some(80);
    });
    assert_eq!(
        ended(r),
        format!("GET / HTTP/1.1\r\nHost: localhost\r\n{CLOSE}\r\n")
    );
}

#[test]
fn cli_9_header_option_is_validated() {
    let e = try_req(|o| o.headers = object(&[("a b", "1".into())])).unwrap_err();
    assert_eq!(
        err_text(&e),
        (
            "ERR_INVALID_HTTP_TOKEN",
            r#"Header name must be a valid HTTP token ["a b"]"#.to_owned()
        )
    );
    let e = try_req(|o| o.headers = object(&[("X-Foo", "a\nb".into())])).unwrap_err();
    assert_eq!(
        err_text(&e),
        (
            "ERR_INVALID_CHAR",
            r#"Invalid character in header content ["X-Foo"]"#.to_owned()
        )
    );
}

#[test]
fn cli_10_array_headers() {
    let r = req(|o| o.headers = array(&[("X-A", "1".into()), ("X-A", "2".into())]));
    assert!(r.headers_sent());
    assert_eq!(
        ended(r),
        format!("GET / HTTP/1.1\r\nX-A: 1\r\nX-A: 2\r\n{KA}\r\n")
    );
    // oracle: pairs form, POST end('abc') → chunked (the head was rendered before the
    // length was known); no Host, no Authorization.
    let mut r = req(|o| {
        o.method = Some("POST".into());
        o.auth = Some("u:p".into());
        o.headers = array(&[("X-A", "1".into()), ("x-a", "2".into())]);
    });
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(
        wire(&mut r),
        format!(
            "POST / HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\n{KA}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        )
    );
    // oracle: setHeader/removeHeader throw, getHeader sees nothing.
    let mut r = req(|o| o.headers = array(&[("X-A", "1".into())]));
    let e = r.set_header("X", "1").unwrap_err();
    assert_eq!(
        err_text(&e),
        (
            "ERR_HTTP_HEADERS_SENT",
            "Cannot set headers after they are sent to the client".to_owned()
        )
    );
    let e = r.remove_header("X").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Cannot remove headers after they are sent to the client"
    );
    assert_eq!(
        r.append_header("X", "1").unwrap_err().to_string(),
        "Cannot append headers after they are sent to the client"
    );
    assert_eq!(r.get_header("x-a"), None);
    // An empty array renders at once too.
    let r = req(|o| o.headers = array(&[]));
    assert!(r.headers_sent());
    assert_eq!(ended(r), format!("GET / HTTP/1.1\r\n{KA}\r\n"));
    // Array headers are validated.
    let e = try_req(|o| o.headers = array(&[("X", "\0".into())])).unwrap_err();
    assert_eq!(e.code(), "ERR_INVALID_CHAR");
}

#[test]
fn cli_10_array_headers_ignore_unique_headers() {
    // oracle: the constructor renders array headers before it reads uniqueHeaders:
    // X-U is not joined (cookie still is). With object headers it is joined.
    let pairs = [
        ("X-U", HeaderValue::from(vec!["a", "b"])),
        ("Cookie", HeaderValue::from(vec!["c=1", "d=2"])),
    ];
    let r = req(|o| {
        o.unique_headers = vec!["x-u".into()];
        o.headers = array(&pairs);
    });
    assert_eq!(
        ended(r),
        format!("GET / HTTP/1.1\r\nX-U: a\r\nX-U: b\r\nCookie: c=1; d=2\r\n{KA}\r\n")
    );
    let r = req(|o| {
        o.unique_headers = vec!["X-U".into()];
        o.headers = object(&pairs);
    });
    assert_eq!(
        ended(r),
        format!("GET / HTTP/1.1\r\nX-U: a; b\r\nCookie: c=1; d=2\r\n{HOST}{KA}\r\n")
    );
}

#[test]
fn cli_11_connection_field() {
    // oracle: a user Connection field suppresses the automatic one and decides.
    let mut r = req(|o| {
        o.method = Some("POST".into());
        o.headers = object(&[("connection", "close".into())]);
    });
    r.end(Some(b("x"))).unwrap();
    assert!(r.is_last());
    assert_eq!(
        wire(&mut r),
        format!("POST / HTTP/1.1\r\nconnection: close\r\n{HOST}Content-Length: 1\r\n\r\nx")
    );
    let mut r = req(|o| {
        o.agent = Some(RequestAgent::one_off());
        o.headers = object(&[("Connection", "keep-alive".into())]);
    });
    r.end(Some(b("x"))).unwrap();
    assert!(r.keep_alive());
    assert_eq!(
        wire(&mut r),
        format!("GET / HTTP/1.1\r\nConnection: keep-alive\r\n{HOST}\r\nx")
    );
    // oracle: removeHeader('connection') → no Connection field.
    let mut r = method("POST");
    r.remove_header("connection").unwrap();
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(
        wire(&mut r),
        format!("POST / HTTP/1.1\r\n{HOST}Content-Length: 3\r\n\r\nabc")
    );
}

#[test]
fn cli_11_no_agent_head_rendered_by_the_constructor() {
    // oracle: createConnection + array headers. Node renders the head before it
    // marks an agent-less request non-persistent: a POST says keep-alive, a GET close.
    let mut r = req(|o| {
        o.agent = None;
        o.method = Some("POST".into());
        o.headers = array(&[("X-A", "1".into())]);
    });
    assert!(!r.keep_alive() && r.is_last());
    r.end(Some(b("x"))).unwrap();
    assert_eq!(
        wire(&mut r),
        format!(
            "POST / HTTP/1.1\r\nX-A: 1\r\n{KA}Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
        )
    );
    let mut r = req(|o| {
        o.agent = None;
        o.headers = array(&[("X-A", "1".into())]);
    });
    r.end(Some(b("x"))).unwrap();
    assert_eq!(
        wire(&mut r),
        format!("GET / HTTP/1.1\r\nX-A: 1\r\n{CLOSE}\r\nx")
    );
    // oracle: createConnection + Expect, POST.
    let mut r = req(|o| {
        o.agent = None;
        o.method = Some("POST".into());
        o.headers = object(&[("expect", "100-continue".into())]);
    });
    r.end(Some(b("x"))).unwrap();
    assert_eq!(
        wire(&mut r),
        format!(
            "POST / HTTP/1.1\r\nexpect: 100-continue\r\n{HOST}{KA}Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
        )
    );
}

#[test]
fn cli_12_unframed_methods() {
    // GET write('ab'); end('cd') → raw, unframed (spec example; oracle with X-A).
    let mut r = req(|o| o.headers = object(&[("X-A", "1".into())]));
    r.write(b("ab")).unwrap();
    r.end(Some(b("cd"))).unwrap();
    assert!(!r.chunked_encoding());
    assert_eq!(
        wire(&mut r),
        format!("GET / HTTP/1.1\r\nX-A: 1\r\n{HOST}{KA}\r\nabcd")
    );
    // oracle: DELETE, HEAD and OPTIONS end('x') → raw; TRACE and CONNECT likewise.
    for m in [
        "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "get", "Head",
    ] {
        let mut r = method(m);
        r.end(Some(b("x"))).unwrap();
        assert_eq!(
            wire(&mut r),
            format!("{} / HTTP/1.1\r\n{HOST}{KA}\r\nx", m.to_ascii_uppercase()),
            "{m}"
        );
        let mut r = method(m);
        r.write(b("ab")).unwrap();
        r.end(None).unwrap();
        assert!(wire(&mut r).ends_with(&format!("{KA}\r\nab")), "{m}");
    }
}

#[test]
fn cli_12_framed_methods() {
    // POST write('ab'); end('cd') → chunked; POST end('abc') → Content-Length: 3.
    let mut r = method("POST");
    r.write(b("ab")).unwrap();
    r.end(Some(b("cd"))).unwrap();
    assert!(r.chunked_encoding());
    assert_eq!(
        wire(&mut r),
        format!(
            "POST / HTTP/1.1\r\n{HOST}{KA}Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n"
        )
    );
    let mut r = method("POST");
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(
        wire(&mut r),
        format!("POST / HTTP/1.1\r\n{HOST}{KA}Content-Length: 3\r\n\r\nabc")
    );
    // oracle: PATCH end('x'); every other method is framed.
    for m in ["PATCH", "PUT", "PURGE", "QUERY", "FOO"] {
        let mut r = method(m);
        r.end(Some(b("x"))).unwrap();
        assert_eq!(
            wire(&mut r),
            format!("{m} / HTTP/1.1\r\n{HOST}{KA}Content-Length: 1\r\n\r\nx")
        );
    }
    // `end()` on a POST → Content-Length: 0 (oracle).
    assert_eq!(
        ended(method("POST")),
        format!("POST / HTTP/1.1\r\n{HOST}{KA}Content-Length: 0\r\n\r\n")
    );
    // Multi-byte body length is the byte length.
    let mut r = method("PUT");
    r.end(Some(b("héllo"))).unwrap();
    assert!(wire(&mut r).contains("Content-Length: 6\r\n"));
}

#[test]
fn cli_12_user_framing_fields() {
    // oracle: a user Content-Length on GET is sent verbatim, body raw.
    let mut r = req(|o| o.headers = object(&[("Content-Length", 3.into())]));
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(
        wire(&mut r),
        format!("GET / HTTP/1.1\r\nContent-Length: 3\r\n{HOST}{KA}\r\nabc")
    );
    // oracle: a user `Transfer-Encoding: chunked` on GET → chunked coding.
    let mut r = req(|o| o.headers = object(&[("Transfer-Encoding", "chunked".into())]));
    r.write(b("ab")).unwrap();
    r.end(Some(b("c"))).unwrap();
    assert_eq!(
        wire(&mut r),
        format!(
            "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n{HOST}{KA}\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"
        )
    );
    // oracle: `Transfer-Encoding: gzip` on POST → raw body.
    let mut r = req(|o| {
        o.method = Some("POST".into());
        o.headers = object(&[("Transfer-Encoding", "gzip".into())]);
    });
    r.write(b("ab")).unwrap();
    r.end(Some(b("c"))).unwrap();
    assert_eq!(
        wire(&mut r),
        format!("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n{HOST}{KA}\r\nabc")
    );
    // A mismatching user Content-Length is not checked by default (RES-28).
    let mut r = req(|o| {
        o.method = Some("POST".into());
        o.headers = object(&[("Content-Length", "5".into())]);
    });
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(
        wire(&mut r),
        format!("POST / HTTP/1.1\r\nContent-Length: 5\r\n{HOST}{KA}\r\nabc")
    );
    // oracle: removed Content-Length → chunked; both removed → raw, close-delimited.
    let mut r = method("POST");
    r.remove_header("content-length").unwrap();
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(
        wire(&mut r),
        format!(
            "POST / HTTP/1.1\r\n{HOST}{KA}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        )
    );
    let mut r = method("POST");
    r.remove_header("content-length").unwrap();
    r.remove_header("Transfer-Encoding").unwrap();
    r.write(b("ab")).unwrap();
    r.end(Some(b("c"))).unwrap();
    assert!(r.is_last());
    assert_eq!(
        wire(&mut r),
        format!("POST / HTTP/1.1\r\n{HOST}{KA}\r\nabc")
    );
}

#[test]
fn cli_12_trailers() {
    // oracle: POST addTrailers + write + end().
    let mut r = method("POST");
    r.add_trailers([("X-T", HeaderValue::from("v"))]).unwrap();
    r.write(b("ab")).unwrap();
    r.end(None).unwrap();
    assert_eq!(
        wire(&mut r),
        format!(
            "POST / HTTP/1.1\r\n{HOST}{KA}Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nX-T: v\r\n\r\n"
        )
    );
    // oracle: a Trailer field forces chunked even when end() knows the length.
    let mut r = req(|o| {
        o.method = Some("POST".into());
        o.headers = object(&[("Trailer", "X-T".into())]);
    });
    r.add_trailers([("X-T", HeaderValue::from("v"))]).unwrap();
    r.end(Some(b("ab"))).unwrap();
    assert_eq!(
        wire(&mut r),
        format!(
            "POST / HTTP/1.1\r\nTrailer: X-T\r\n{HOST}{KA}Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nX-T: v\r\n\r\n"
        )
    );
    // oracle: a Trailer field on GET (never chunked) → ERR_HTTP_TRAILER_INVALID,
    // nothing rendered.
    let mut r = req(|o| o.headers = object(&[("Trailer", "X-T".into())]));
    let e = r.end(Some(b("ab"))).unwrap_err();
    assert_eq!(
        err_text(&e),
        (
            "ERR_HTTP_TRAILER_INVALID",
            "Trailers are invalid with this transfer encoding".to_owned()
        )
    );
    assert!(!r.headers_sent() && !r.writable_ended());
    assert_eq!(r.buffered_len(), 0);
    // Trailers without chunked coding are dropped.
    let mut r = method("POST");
    r.add_trailers([("X-T", HeaderValue::from("v"))]).unwrap();
    r.end(Some(b("ab"))).unwrap();
    assert!(wire(&mut r).ends_with("Content-Length: 2\r\n\r\nab"));
    // Trailer checks.
    let e = method("POST")
        .add_trailers([("a b", HeaderValue::from("v"))])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"Trailer name must be a valid HTTP token ["a b"]"#
    );
    let e = method("POST")
        .add_trailers([("X-T", HeaderValue::from("a\r\nb"))])
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"Invalid character in trailer content ["X-T"]"#
    );
}

#[test]
fn cli_13_head_is_held_back_until_the_body() {
    let mut r = method("POST");
    r.set_header("X-A", "1").unwrap();
    r.write(b("ab")).unwrap();
    assert!(r.headers_sent() && r.header_flushed());
    let segs = segments(&mut r);
    assert_eq!(
        segs[0],
        format!("POST / HTTP/1.1\r\n{HOST}X-A: 1\r\n{KA}Transfer-Encoding: chunked\r\n\r\n")
    );
    assert_eq!(segs[1..].concat(), "2\r\nab\r\n");
    // Body bytes are not copied.
    let mut r = method("PUT");
    let body = b("some body");
    r.end(Some(body.clone())).unwrap();
    let mut q = VecDeque::new();
    r.take_output(&mut q);
    assert!(q.iter().any(|s| s.as_ptr() == body.as_ptr()));
}

#[test]
fn cli_13_flush_headers_and_empty_write() {
    // oracle: flushHeaders() on POST → head at once (chunked), body later.
    let mut r = method("POST");
    r.flush_headers().unwrap();
    assert!(r.headers_sent());
    assert_eq!(
        segments(&mut r),
        [format!(
            "POST / HTTP/1.1\r\n{HOST}{KA}Transfer-Encoding: chunked\r\n\r\n"
        )]
    );
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(wire(&mut r), "3\r\nabc\r\n0\r\n\r\n");
    assert!(r.is_complete());
    // oracle: flushHeaders() on GET → no framing, raw body.
    let mut r = method("GET");
    r.flush_headers().unwrap();
    assert_eq!(wire(&mut r), format!("GET / HTTP/1.1\r\n{HOST}{KA}\r\n"));
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(wire(&mut r), "abc");
    // oracle: write('') → head at once, chunked.
    let mut r = method("POST");
    r.write(Bytes::new()).unwrap();
    assert_eq!(
        wire(&mut r),
        format!("POST / HTTP/1.1\r\n{HOST}{KA}Transfer-Encoding: chunked\r\n\r\n")
    );
    r.end(Some(b("abc"))).unwrap();
    assert_eq!(wire(&mut r), "3\r\nabc\r\n0\r\n\r\n");
    // flush_headers twice is harmless.
    r.flush_headers().unwrap();
    assert_eq!(r.buffered_len(), 0);
}

#[test]
fn cli_13_expect_renders_in_the_constructor() {
    // Spec example (oracle: two segments, the head first).
    let mut r = req(|o| {
        o.method = Some("PUT".into());
        o.headers = object(&[
            ("Expect", "100-continue".into()),
            ("Content-Length", 4.into()),
        ]);
    });
    assert!(r.headers_sent() && r.header_flushed() && r.expects_continue());
    assert_eq!(
        segments(&mut r),
        [format!(
            "PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n{HOST}{KA}\r\n"
        )]
    );
    r.end(Some(b("abcd"))).unwrap();
    assert_eq!(wire(&mut r), "abcd");
    // oracle: POST without Content-Length → chunked, decided at construction.
    let mut r = req(|o| {
        o.method = Some("POST".into());
        o.headers = object(&[("Expect", "100-continue".into())]);
    });
    assert_eq!(
        wire(&mut r),
        format!(
            "POST / HTTP/1.1\r\nExpect: 100-continue\r\n{HOST}{KA}Transfer-Encoding: chunked\r\n\r\n"
        )
    );
    // oracle: setHeader afterwards → ERR_HTTP_HEADERS_SENT.
    assert_eq!(
        r.set_header("X", "1").unwrap_err(),
        OutgoingError::HeadersSent
    );
    r.end(Some(b("abcd"))).unwrap();
    assert_eq!(wire(&mut r), "4\r\nabcd\r\n0\r\n\r\n");
    // oracle: array headers with Expect → the head leaves at once as well.
    let mut r = req(|o| {
        o.method = Some("POST".into());
        o.headers = array(&[("Expect", "100-continue".into())]);
    });
    assert!(r.expects_continue());
    assert_eq!(
        wire(&mut r),
        format!(
            "POST / HTTP/1.1\r\nExpect: 100-continue\r\n{KA}Transfer-Encoding: chunked\r\n\r\n"
        )
    );
}

#[test]
fn cli_13_expect_truthiness() {
    // oracle: `Expect: ''` is falsy → not rendered in the constructor; end('abcd')
    // then knows the length.
    let mut r = req(|o| {
        o.method = Some("POST".into());
        o.headers = object(&[("Expect", "".into())]);
    });
    assert!(!r.headers_sent());
    r.end(Some(b("abcd"))).unwrap();
    assert!(!r.expects_continue());
    assert_eq!(
        wire(&mut r),
        format!("POST / HTTP/1.1\r\nExpect: \r\n{HOST}{KA}Content-Length: 4\r\n\r\nabcd")
    );
    // oracle: `Expect: []` is truthy → rendered at construction, but no Expect line,
    // so the head is held back; chunked.
    let mut r = req(|o| {
        o.method = Some("POST".into());
        o.headers = object(&[("Expect", HeaderValue::List(vec![]))]);
    });
    assert!(r.headers_sent() && !r.header_flushed());
    assert_eq!(r.buffered_len(), 0);
    r.end(Some(b("x"))).unwrap();
    assert_eq!(
        wire(&mut r),
        format!(
            "POST / HTTP/1.1\r\n{HOST}{KA}Transfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
        )
    );
    // oracle: set_header('Expect') after construction → rendered by end().
    let mut r = req(|o| {
        o.method = Some("POST".into());
        o.headers = object(&[("Content-Length", 1.into())]);
    });
    r.set_header("Expect", "100-continue").unwrap();
    assert!(!r.headers_sent());
    r.end(Some(b("x"))).unwrap();
    assert!(r.expects_continue());
    assert_eq!(
        wire(&mut r),
        format!("POST / HTTP/1.1\r\nContent-Length: 1\r\n{HOST}Expect: 100-continue\r\n{KA}\r\nx")
    );
}

#[test]
fn cli_14_expect_is_not_managed() {
    // The request never holds the body itself: it is queued as soon as it is written.
    let mut r = req(|o| {
        o.method = Some("POST".into());
        o.headers = object(&[("expect", "100-Continue".into())]);
    });
    assert!(r.expects_continue());
    wire(&mut r);
    r.write(b("ab")).unwrap();
    assert_eq!(wire(&mut r), "2\r\nab\r\n");
    // Any other expectation is sent the same way, but does not ask for a 100.
    let r = req(|o| o.headers = object(&[("Expect", "something".into())]));
    assert!(r.headers_sent() && !r.expects_continue());
    // Without Expect.
    assert!(!ended_flag(method("POST")));
}

fn ended_flag(mut r: ClientRequest) -> bool {
    r.end(None).unwrap();
    r.expects_continue()
}

// ----- 7.4 and the RES rules the request shares -----

#[test]
fn cli_21_abort_and_destroy() {
    let mut r = method("POST");
    r.write(b("ab")).unwrap();
    assert!(r.abort());
    assert!(!r.abort(), "the second abort does nothing");
    assert!(r.aborted() && r.destroyed());
    assert_eq!(r.buffered_len(), 0, "queued output is dropped");
    // oracle: write after destroy → ERR_STREAM_DESTROYED.
    let mut r = method("POST");
    r.destroy();
    let e = r.write(b("x")).unwrap_err();
    assert_eq!(
        err_text(&e),
        (
            "ERR_STREAM_DESTROYED",
            "Cannot call write after a stream was destroyed".to_owned()
        )
    );
    assert!(!r.aborted());
    r.end(None).unwrap();
    assert_eq!(r.buffered_len(), 0);
}

#[test]
fn cli_24_reused_socket_is_the_connections() {
    let mut r = req(|_| {});
    assert!(!r.reused_socket());
    r.set_reused_socket(true);
    assert!(r.reused_socket());
}

#[test]
fn cli_25_after_the_head_and_after_end() {
    let mut r = method("POST");
    r.set_header("X-A", "1").unwrap();
    r.flush_headers().unwrap();
    assert_eq!(
        r.set_header("X", "1").unwrap_err(),
        OutgoingError::HeadersSent
    );
    assert_eq!(
        r.remove_header("X-A").unwrap_err(),
        OutgoingError::HeadersSentRemove
    );
    assert_eq!(
        r.set_headers([("X", HeaderValue::from("1"))]).unwrap_err(),
        OutgoingError::HeadersSent
    );
    // The getters still read the store.
    assert_eq!(r.get_header("x-a"), Some(&HeaderValue::from("1")));
    assert_eq!(r.get_header_names(), ["host", "x-a"]);
    r.end(None).unwrap();
    // oracle: write after end → ERR_STREAM_WRITE_AFTER_END, `write after end`.
    let e = r.write(b("x")).unwrap_err();
    assert_eq!(
        err_text(&e),
        ("ERR_STREAM_WRITE_AFTER_END", "write after end".to_owned())
    );
    assert_eq!(
        r.end(Some(b("x"))).unwrap_err(),
        OutgoingError::WriteAfterEnd
    );
    r.end(None).unwrap();
    assert!(r.writable_ended() && r.finished());
}

#[test]
fn res_header_store_on_a_request() {
    // oracle: getHeaders / getRawHeaderNames after the constructor.
    let mut r = req(|o| {
        o.auth = Some("a:b".into());
        o.headers = object(&[("X-A", "1".into())]);
    });
    assert_eq!(
        r.get_headers(),
        [
            ("x-a", &HeaderValue::from("1")),
            ("host", &HeaderValue::from("127.0.0.1:3000")),
            ("authorization", &HeaderValue::from("Basic YTpi")),
        ]
    );
    r.append_header("x-a", "2").unwrap();
    r.set_headers([
        ("Set-Cookie", HeaderValue::from("a=1")),
        ("X-B", HeaderValue::from(2)),
        ("set-cookie", HeaderValue::from("b=2")),
    ])
    .unwrap();
    assert!(r.has_header("X-B"));
    assert_eq!(r.headers().len(), 5);
    assert_eq!(
        ended(r),
        format!(
            "GET / HTTP/1.1\r\nX-A: 1\r\nX-A: 2\r\n{HOST}Authorization: Basic YTpi\r\nX-B: 2\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n{KA}\r\n"
        )
    );
}

#[test]
fn res_28_strict_content_length_on_a_request() {
    // oracle: Content-Length 5 + end('abc') with strictContentLength → the message.
    let mut r = req(|o| {
        o.method = Some("POST".into());
        o.headers = object(&[("Content-Length", 5.into())]);
    });
    r.set_strict_content_length(true);
    let e = r.end(Some(b("abc"))).unwrap_err();
    assert_eq!(
        err_text(&e),
        (
            "ERR_HTTP_CONTENT_LENGTH_MISMATCH",
            "Response body's content-length of 3 byte(s) does not match the content-length of 5 byte(s) set in header".to_owned()
        )
    );
    assert_eq!(
        e,
        OutgoingError::ContentLengthMismatch {
            actual: 3,
            expected: JsNumber(5.0)
        }
    );
    assert!(!r.headers_sent() && r.buffered_len() == 0);
    // The first write renders unchecked; later writes may not exceed.
    r.write(b("abcd")).unwrap();
    assert!(r.write(b("xy")).is_err());
    r.write(b("e")).unwrap();
    r.end(None).unwrap();
    assert!(wire(&mut r).ends_with("\r\n\r\nabcde"));
}

// ----- no CR, LF or NUL in the head except as line ends -----

/// Strings drawn mostly from the characters that could break a head.
fn nasty() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        Just('\r'),
        Just('\n'),
        Just('\0'),
        Just(' '),
        Just(':'),
        Just('\t'),
        Just('\u{7f}'),
        Just('\u{85}'),
        Just('é'),
        Just('ā'),
        Just('\u{2028}'),
        Just('😀'),
        proptest::char::range('!', '~'),
    ];
    proptest::collection::vec(ch, 0..8).prop_map(|v| v.into_iter().collect())
}

/// Mostly harmless text, sometimes [`nasty`].
fn text() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[ -~]{0,6}", 1 => nasty()]
}

fn value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![
        text().prop_map(HeaderValue::from),
        any::<i64>().prop_map(HeaderValue::from),
        proptest::collection::vec(text(), 0..3).prop_map(HeaderValue::from),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(HeaderValue::from),
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "X-A", "Host", "expect", "Content-Length", "Transfer-Encoding", "Connection",
            "Trailer", "cookie", "Authorization",
        ])
        .prop_map(str::to_owned),
        1 => nasty(),
    ]
}

fn pairs() -> impl Strategy<Value = Vec<(String, HeaderValue)>> {
    proptest::collection::vec((name(), value()), 0..4)
}

/// `None`, a usual value, or something hostile.
fn option(usual: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        2 => prop::sample::select(usual).prop_map(|s| Some(s.to_owned())),
        2 => nasty().prop_map(Some),
    ]
}

/// `block` (a head, or a last chunk with trailers) must be non-empty lines free of
/// CR, LF and NUL, each ended by CRLF, then one empty line.
fn assert_clean_block(block: &[u8]) {
    let shown = latin1(block);
    let lines = block
        .strip_suffix(b"\r\n\r\n")
        .unwrap_or_else(|| panic!("not one complete block: {shown:?}"));
    let mut rest = lines;
    loop {
        let end = rest.windows(2).position(|w| w == b"\r\n");
        let line = &rest[..end.unwrap_or(rest.len())];
        assert!(!line.is_empty(), "empty line inside {shown:?}");
        assert!(
            !line.iter().any(|&b| matches!(b, b'\r' | b'\n' | b'\0')),
            "CR, LF or NUL inside a line of {shown:?}"
        );
        match end {
            Some(i) => rest = &rest[i + 2..],
            None => break,
        }
    }
}

proptest! {
    // About a quarter of the cases get past the option checks and render a head.
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn no_option_or_value_breaks_the_head(
        method in option(&["POST", "get", "PUT", "HEAD"]),
        path in option(&["/", "/a?b=c", "*", "/\u{e9}"]),
        hostname in option(&["127.0.0.1", "::1", "example.com"]),
        host in option(&["localhost", "[::1]"]),
        auth in option(&["u:p", "us er:p\u{e4}"]),
        port in any::<Option<u16>>(),
        agent in prop::sample::select(vec![
            None,
            Some(RequestAgent::global()),
            Some(RequestAgent::one_off()),
        ]),
        set_host in any::<bool>(),
        as_array in any::<bool>(),
        headers in pairs(),
        later in pairs(),
        trailer in (nasty(), value()),
        body in proptest::collection::vec(any::<u8>(), 0..4),
    ) {
        let headers = if as_array {
            RequestHeaders::Array(headers)
        } else {
            RequestHeaders::Object(headers)
        };
        let options = RequestOptions {
            method,
            path,
            hostname,
            host,
            auth,
            port,
            headers,
            agent,
            set_host,
            ..RequestOptions::default()
        };
        let Ok(mut r) = ClientRequest::new(options) else { return Ok(()) };
        for (name, value) in &later {
            let _ = r.set_header(name, value.clone());
            let _ = r.append_header(name, value.clone());
        }
        let _ = r.add_trailers([(trailer.0.as_str(), trailer.1.clone())]);
        if r.end(Some(Bytes::from(body))).is_err() {
            let _ = r.end(None);
        }
        let mut q = VecDeque::new();
        r.take_output(&mut q);
        if r.headers_sent() {
            // The head is one segment of its own, the first.
            assert_clean_block(&q[0]);
            if r.chunked_encoding() && r.writable_ended() {
                assert_clean_block(&q[q.len() - 1]);
            }
        } else {
            prop_assert!(q.is_empty());
        }
    }
}
