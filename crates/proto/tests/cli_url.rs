//! The URL form of `http.request(url[, options])` (CLI-1): a parsed URL's parts
//! become request options, the caller's options win over them, and the head is the
//! one CLI-9 builds from them (`Host`, `Authorization`).
//!
//! URL strings are parsed here by the `url` crate (a dev-dependency only), which
//! implements the WHATWG URL Standard as Node's `new URL()` does, so these tests go
//! through real WHATWG normalisation: IPv6 and IPv4 forms, default ports, IDNA,
//! percent-encoding of the path and query, backslashes, tabs.
//!
//! Every expectation was printed by Node v20.20.2 with `tests/data/cli_url_probe.js`:
//! `node cli_url_probe.js URL [OPTIONS]` for the wire bytes of
//! `http.request(URL, OPTIONS).end()` (received by a raw `net` server; the agent's
//! connections go to it whatever the URL's host and port, so the `Host` field is
//! the URL's), and `node cli_url_probe.js --options URL…` for
//! `urlToHttpOptions(new URL(URL))`.

use std::collections::VecDeque;

use courier_proto::outgoing::{
    ClientRequest, HeaderValue, OutgoingError, RequestAgent, RequestHeaders, RequestOptions,
    UrlParts,
};
use proptest::prelude::*;

/// `new URL(s)` as the URL API exposes it. The `url` crate's getters leave out the
/// `:`, `?` and `#` that the URL API's `protocol`, `search` and `hash` carry, and
/// say `None` where the URL API says `""`.
fn parts(s: &str) -> UrlParts {
    let u = url::Url::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
    let marked = |mark: char, s: Option<&str>| match s {
        Some(s) if !s.is_empty() => format!("{mark}{s}"),
        _ => String::new(),
    };
    UrlParts {
        protocol: format!("{}:", u.scheme()),
        hostname: u.host_str().unwrap_or_default().to_owned(),
        port: u.port(),
        pathname: u.path().to_owned(),
        search: marked('?', u.query()),
        hash: marked('#', u.fragment()),
        username: u.username().to_owned(),
        password: u.password().unwrap_or_default().to_owned(),
    }
}

/// `http.request(url, options)`.
fn request(url: &str, options: RequestOptions) -> Result<ClientRequest, OutgoingError> {
    ClientRequest::new(options.with_url(&parts(url))?)
}

/// The wire bytes of `http.request(url, options).end()`, as a Latin-1 string.
fn head_with(url: &str, options: RequestOptions) -> String {
    let mut req = request(url, options).unwrap_or_else(|e| panic!("{url:?}: {e}"));
    req.end(None).unwrap();
    let mut q = VecDeque::new();
    req.take_output(&mut q);
    q.iter()
        .flat_map(|s| s.iter())
        .map(|&c| char::from(c))
        .collect()
}

/// `http.get(url)`.
fn head(url: &str) -> String {
    head_with(url, RequestOptions::default())
}

/// What `http.request(url, options)` throws: `(code, message)`.
fn thrown(url: &str, options: RequestOptions) -> (&'static str, String) {
    match request(url, options) {
        Ok(_) => panic!("{url:?}: no error"),
        Err(e) => (e.code(), e.to_string()),
    }
}

fn uri_malformed() -> (&'static str, String) {
    ("URIError", "URI malformed".to_owned())
}

const KA: &str = "Connection: keep-alive\r\n\r\n";

// ----- CLI-1: the URL becomes options -----

#[test]
fn cli_1_get_with_a_url() {
    // The spec's example, port 3000: CLI-9's Host with the URL's port and
    // Authorization from its user info; the fragment is not sent.
    // node cli_url_probe.js 'http://u:p@127.0.0.1:3000/p?q=1#h'
    assert_eq!(
        head("http://u:p@127.0.0.1:3000/p?q=1#h"),
        "GET /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nAuthorization: Basic dTpw\r\n\
         Connection: keep-alive\r\n\r\n"
    );
}

#[test]
fn cli_1_url_to_http_options_matches_node() {
    // node cli_url_probe.js --options URL…: protocol, hostname, port, path, auth.
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        Option<u16>,
        &'static str,
        Option<&'static str>,
    );
    let rows: &[Row] = &[
        (
            "http://u:p@127.0.0.1:3000/p?q=1#h",
            "http:",
            "127.0.0.1",
            Some(3000),
            "/p?q=1",
            Some("u:p"),
        ),
        (
            "http://[::1]:8080/a?b#c",
            "http:",
            "::1",
            Some(8080),
            "/a?b",
            None,
        ),
        (
            "http://[::ffff:1.2.3.4]/",
            "http:",
            "::ffff:102:304",
            None,
            "/",
            None,
        ),
        ("http://h:80/", "http:", "h", None, "/", None),
        ("http://h:0080/x", "http:", "h", None, "/x", None),
        ("http://h:0/", "http:", "h", Some(0), "/", None),
        ("http://h:65535/", "http:", "h", Some(65535), "/", None),
        (
            "http://a%40b:c%3Ad@h/",
            "http:",
            "h",
            None,
            "/",
            Some("a@b:c:d"),
        ),
        (
            "http://u:pä ss@h/",
            "http:",
            "h",
            None,
            "/",
            Some("u:pä ss"),
        ),
        (
            "http://u%F0%9F%98%80@h/",
            "http:",
            "h",
            None,
            "/",
            Some("u😀:"),
        ),
        ("http://:p@h/", "http:", "h", None, "/", Some(":p")),
        ("http://u@h/", "http:", "h", None, "/", Some("u:")),
        ("http://u:@h/", "http:", "h", None, "/", Some("u:")),
        (
            "http://h/a b?c d#e f",
            "http:",
            "h",
            None,
            "/a%20b?c%20d",
            None,
        ),
        ("http://h/a?", "http:", "h", None, "/a", None),
        ("http://h/a?#", "http:", "h", None, "/a", None),
        (
            "http://h/a'b?c'd\"e<f>",
            "http:",
            "h",
            None,
            "/a'b?c%27d%22e%3Cf%3E",
            None,
        ),
        ("http://h/%zz?%zz", "http:", "h", None, "/%zz?%zz", None),
        ("http://h/é?é#é", "http:", "h", None, "/%C3%A9?%C3%A9", None),
        (
            "http://127.0.0.1\\a\\b",
            "http:",
            "127.0.0.1",
            None,
            "/a/b",
            None,
        ),
        ("http://h/a\tb", "http:", "h", None, "/ab", None),
        (
            "HTTP://EXAMPLE.com:3000/A",
            "http:",
            "example.com",
            Some(3000),
            "/A",
            None,
        ),
        (
            "http://bücher.example/",
            "http:",
            "xn--bcher-kva.example",
            None,
            "/",
            None,
        ),
        ("http://0x7f.1/", "http:", "127.0.0.1", None, "/", None),
        ("https://h/", "https:", "h", None, "/", None),
        ("https://h:443/", "https:", "h", None, "/", None),
        ("https://h:80/", "https:", "h", Some(80), "/", None),
        ("foo:a b", "foo:", "", None, "a b", None),
        ("file:///x", "file:", "", None, "/x", None),
    ];
    for &(url, protocol, hostname, port, path, auth) in rows {
        let o = parts(url).to_options().unwrap();
        assert_eq!(o.protocol.as_deref(), Some(protocol), "{url:?}");
        assert_eq!(o.hostname.as_deref(), Some(hostname), "{url:?}");
        assert_eq!(o.port, port, "{url:?}");
        assert_eq!(o.path.as_deref(), Some(path), "{url:?}");
        assert_eq!(o.auth.as_deref(), auth, "{url:?}");
        // Nothing else comes from the URL.
        let rest = RequestOptions {
            protocol: None,
            hostname: None,
            port: None,
            path: None,
            auth: None,
            ..o
        };
        assert_eq!(rest, RequestOptions::default(), "{url:?}");
    }
}

#[test]
fn cli_1_ipv6_hosts() {
    // node cli_url_probe.js 'http://[::1]:8080/a?b#c': the brackets come off for
    // the `hostname` option and CLI-9 puts them back in `Host`.
    let r = request("http://[::1]:8080/a?b#c", RequestOptions::default()).unwrap();
    assert_eq!((r.host(), r.port(), r.path()), ("::1", 8080, "/a?b"));
    assert_eq!(
        head("http://[::1]:8080/a?b#c"),
        format!("GET /a?b HTTP/1.1\r\nHost: [::1]:8080\r\n{KA}")
    );
    // WHATWG serialises an embedded IPv4 address in hex.
    assert_eq!(
        head("http://[::ffff:1.2.3.4]/"),
        format!("GET / HTTP/1.1\r\nHost: [::ffff:102:304]\r\n{KA}")
    );
}

#[test]
fn cli_1_default_port_is_left_out() {
    // node cli_url_probe.js 'http://127.0.0.1/' and 'http://127.0.0.1:80/': WHATWG
    // leaves the port string empty for the scheme's default port, so no `port`
    // option is set and CLI-9's Host has no port. A port of 0 is set, but falsy:
    // the default port again (CLI-5).
    for url in [
        "http://127.0.0.1/",
        "http://127.0.0.1:80/",
        "http://127.0.0.1:0080/",
        "http://127.0.0.1:0/",
    ] {
        assert_eq!(
            head(url),
            format!("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n{KA}"),
            "{url:?}"
        );
        assert_eq!(request(url, RequestOptions::default()).unwrap().port(), 80);
    }
}

#[test]
fn cli_1_user_info_is_percent_decoded() {
    // node cli_url_probe.js URL: the decoded `user:password` is base64-encoded as
    // UTF-8 (CLI-9).
    let cases = [
        // a@b:c:d
        ("http://a%40b:c%3Ad@h/", "YUBiOmM6ZA=="),
        // WHATWG percent-encodes `ä` and the space; Node decodes them back: u:pä ss
        ("http://u:pä ss@h/", "dTpww6Qgc3M="),
        // u😀:
        ("http://u%F0%9F%98%80@h/", "dfCfmIA6"),
        // :p
        ("http://:p@h/", "OnA="),
        // u:
        ("http://u@h/", "dTo="),
    ];
    for (url, basic) in cases {
        assert_eq!(
            head(url),
            format!("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic {basic}\r\n{KA}"),
            "{url:?}"
        );
    }
}

#[test]
fn cli_1_malformed_user_info_throws_uri_error() {
    // node cli_url_probe.js URL → `throw URIError undefined "URI malformed"`: a `%`
    // without two hex digits, a stray continuation byte, a truncated, overlong or
    // surrogate sequence, a code point past U+10FFFF.
    for url in [
        "http://u%41:p%zz@[::1]:8080/a?b#c",
        "http://u%zz@h/",
        "http://u%4@h/",
        "http://u%@h/",
        "http://u%80@h/",
        "http://u%FF@h/",
        "http://u:%E2%82@h/",
        "http://u%C0%80@h/",
        "http://u%ED%A0%80@h/",
        "http://u%F4%90%80%80@h/",
    ] {
        assert_eq!(
            thrown(url, RequestOptions::default()),
            uri_malformed(),
            "{url:?}"
        );
        assert_eq!(parts(url).auth(), Err(OutgoingError::UriMalformed));
    }
    // The URL becomes options before the caller's are copied over them: an `auth`
    // option does not save it (node cli_url_probe.js 'http://u%zz@h/' '{auth:"x:y"}').
    let with_auth = RequestOptions {
        auth: Some("x:y".into()),
        ..RequestOptions::default()
    };
    assert_eq!(thrown("http://u%zz@h/", with_auth), uri_malformed());
    // A malformed escape anywhere else is not decoded, and is sent as it is.
    assert_eq!(
        head("http://h/a%zz?r=%zz#%zz"),
        format!("GET /a%zz?r=%zz HTTP/1.1\r\nHost: h\r\n{KA}")
    );
}

#[test]
fn cli_1_path_is_pathname_and_search() {
    // node cli_url_probe.js URL: WHATWG percent-encodes spaces and non-ASCII in the
    // path and query (and `'` only in the query), drops tabs and newlines, reads
    // `\` as `/`; an empty query leaves no `?`; the fragment is never sent.
    let cases = [
        ("http://h/a b?c d#e f", "/a%20b?c%20d"),
        ("http://h/é?é#é", "/%C3%A9?%C3%A9"),
        ("http://h/a'b?c'd\"e<f>", "/a'b?c%27d%22e%3Cf%3E"),
        ("http://h/a\tb\nc", "/abc"),
        ("http://h\\a\\b", "/a/b"),
        ("http://h/a?", "/a"),
        ("http://h/a?#", "/a"),
        ("http://h", "/"),
    ];
    for (url, path) in cases {
        assert_eq!(
            head(url),
            format!("GET {path} HTTP/1.1\r\nHost: h\r\n{KA}"),
            "{url:?}"
        );
    }
}

#[test]
fn cli_1_host_normalisation() {
    // node cli_url_probe.js URL: lower-cased scheme and host, IDNA, IPv4 number
    // forms.
    assert_eq!(
        head("HTTP://EXAMPLE.com:3000/A"),
        format!("GET /A HTTP/1.1\r\nHost: example.com:3000\r\n{KA}")
    );
    assert_eq!(
        head("http://bücher.example/"),
        format!("GET / HTTP/1.1\r\nHost: xn--bcher-kva.example\r\n{KA}")
    );
    assert_eq!(
        head("http://0x7f.1/"),
        format!("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n{KA}")
    );
}

#[test]
fn cli_1_and_cli_3_other_protocols() {
    // node cli_url_probe.js 'https://h/' → `throw TypeError ERR_INVALID_PROTOCOL
    // "Protocol \"https:\" not supported. Expected \"http:\""`.
    let invalid = |p: &str| {
        (
            "ERR_INVALID_PROTOCOL",
            format!("Protocol \"{p}\" not supported. Expected \"http:\""),
        )
    };
    assert_eq!(
        thrown("https://h/", RequestOptions::default()),
        invalid("https:")
    );
    assert_eq!(
        thrown("file:///x", RequestOptions::default()),
        invalid("file:")
    );
    // The path is checked first (CLI-4): an opaque path keeps its space.
    assert_eq!(
        thrown("foo:a b", RequestOptions::default()),
        (
            "ERR_UNESCAPED_CHARACTERS",
            "Request path contains unescaped characters".to_owned()
        )
    );
    // A `protocol` option wins over the URL's; so does `""`, which then falls back
    // to the agent's `http:`. The https default port (443) is gone from the URL, so
    // the port is http's: 80 (node cli_url_probe.js 'https://h:443/x'
    // '{protocol:"http:"}').
    for protocol in ["http:", ""] {
        let o = || RequestOptions {
            protocol: Some(protocol.into()),
            ..RequestOptions::default()
        };
        for url in ["https://h/x", "https://h:443/x", "https://h:80/x"] {
            assert_eq!(
                head_with(url, o()),
                format!("GET /x HTTP/1.1\r\nHost: h\r\n{KA}"),
                "{url:?} {protocol:?}"
            );
        }
        assert_eq!(
            head_with("https://127.0.0.1:3000/x", o()),
            format!("GET /x HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n{KA}")
        );
    }
    // node cli_url_probe.js 'http://u:p@127.0.0.1:3000/p?q=1#h' '{protocol:"https:"}'
    let https = RequestOptions {
        protocol: Some("https:".into()),
        ..RequestOptions::default()
    };
    assert_eq!(
        thrown("http://u:p@127.0.0.1:3000/p?q=1#h", https),
        invalid("https:")
    );
}

// ----- CLI-1: options win over the URL -----

const URL: &str = "http://u:p@127.0.0.1:3000/p?q=1#h";

#[test]
fn cli_1_options_override_url_fields() {
    // node cli_url_probe.js 'http://u:p@127.0.0.1:3000/p?q=1#h' OPTIONS
    let d = RequestOptions::default;
    let auth = "Authorization: Basic dTpw\r\n";
    let cases: Vec<(&str, RequestOptions, String)> = vec![
        (
            "{path:'/override'}",
            RequestOptions {
                path: Some("/override".into()),
                ..d()
            },
            format!("GET /override HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n{auth}{KA}"),
        ),
        (
            "{path:''} and {path:undefined}",
            RequestOptions {
                path: Some(String::new()),
                ..d()
            },
            format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n{auth}{KA}"),
        ),
        (
            "{hostname:'other'}",
            RequestOptions {
                hostname: Some("other".into()),
                ..d()
            },
            format!("GET /p?q=1 HTTP/1.1\r\nHost: other:3000\r\n{auth}{KA}"),
        ),
        (
            "{port:8080}",
            RequestOptions {
                port: Some(8080),
                ..d()
            },
            format!("GET /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n{auth}{KA}"),
        ),
        (
            "{port:0} and {port:undefined}",
            RequestOptions {
                port: Some(0),
                ..d()
            },
            format!("GET /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}{KA}"),
        ),
        (
            "{auth:'x:y'}",
            RequestOptions {
                auth: Some("x:y".into()),
                ..d()
            },
            format!(
                "GET /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nAuthorization: Basic eDp5\r\n{KA}"
            ),
        ),
        (
            "{auth:''} and {auth:undefined}",
            RequestOptions {
                auth: Some(String::new()),
                ..d()
            },
            format!("GET /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n{KA}"),
        ),
        (
            "{defaultPort:3000}",
            RequestOptions {
                default_port: Some(3000),
                ..d()
            },
            format!("GET /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}{KA}"),
        ),
    ];
    for (node, options, want) in cases {
        assert_eq!(head_with(URL, options), want, "{node}");
    }
}

#[test]
fn cli_1_url_hostname_beats_a_host_option() {
    // The target host is `hostname || host` (CLI-5), and the URL always supplies
    // `hostname`: node cli_url_probe.js URL '{host:"other"}' still sends to the
    // URL's host; '{hostname:"", host:"other"}' and
    // '{hostname:undefined, host:"other"}' reach `host`.
    let host = RequestOptions {
        host: Some("other".into()),
        ..RequestOptions::default()
    };
    assert_eq!(
        head_with(URL, host.clone()),
        format!("GET /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nAuthorization: Basic dTpw\r\n{KA}")
    );
    let blank_hostname = RequestOptions {
        hostname: Some(String::new()),
        ..host
    };
    assert_eq!(
        head_with(URL, blank_hostname),
        format!("GET /p?q=1 HTTP/1.1\r\nHost: other:3000\r\nAuthorization: Basic dTpw\r\n{KA}")
    );
}

#[test]
fn cli_1_and_cli_9_other_options_apply_as_usual() {
    // node cli_url_probe.js 'http://u:p@127.0.0.1:3000/p?q=1#h' OPTIONS: the URL
    // supplies none of these; CLI-9 adds Host and Authorization around them.
    let d = RequestOptions::default;
    let object = |n: &str, v: &str| RequestHeaders::Object(vec![(n.into(), HeaderValue::from(v))]);
    let cases: Vec<(&str, RequestOptions, String)> = vec![
        (
            "{method:'post'}",
            RequestOptions {
                method: Some("post".into()),
                ..d()
            },
            "POST /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nAuthorization: Basic dTpw\r\n\
             Connection: keep-alive\r\nContent-Length: 0\r\n\r\n"
                .to_owned(),
        ),
        (
            "{headers:{authorization:'X'}}",
            RequestOptions {
                headers: object("authorization", "X"),
                ..d()
            },
            format!("GET /p?q=1 HTTP/1.1\r\nauthorization: X\r\nHost: 127.0.0.1:3000\r\n{KA}"),
        ),
        (
            "{headers:{host:'x'}}",
            RequestOptions {
                headers: object("host", "x"),
                ..d()
            },
            format!("GET /p?q=1 HTTP/1.1\r\nhost: x\r\nAuthorization: Basic dTpw\r\n{KA}"),
        ),
        (
            "{setHost:false}",
            RequestOptions {
                set_host: false,
                ..d()
            },
            format!("GET /p?q=1 HTTP/1.1\r\nAuthorization: Basic dTpw\r\n{KA}"),
        ),
        (
            "{agent:false}",
            RequestOptions {
                agent: Some(RequestAgent::one_off()),
                ..d()
            },
            "GET /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nAuthorization: Basic dTpw\r\n\
             Connection: close\r\n\r\n"
                .to_owned(),
        ),
        (
            // CLI-10: array headers, so neither Host nor Authorization.
            "{headers:['X-A','1']}",
            RequestOptions {
                headers: RequestHeaders::Array(vec![("X-A".into(), HeaderValue::from("1"))]),
                ..d()
            },
            format!("GET /p?q=1 HTTP/1.1\r\nX-A: 1\r\n{KA}"),
        ),
    ];
    for (node, options, want) in cases {
        assert_eq!(head_with(URL, options), want, "{node}");
    }
}

#[test]
fn cli_1_options_path_is_checked_after_the_merge() {
    // node cli_url_probe.js 'https://h/' '{path:"/a b"}' → ERR_UNESCAPED_CHARACTERS:
    // the merged options go through the constructor's checks in its order (CLI-4
    // before CLI-3).
    let o = RequestOptions {
        path: Some("/a b".into()),
        ..RequestOptions::default()
    };
    assert_eq!(thrown("https://h/", o).0, "ERR_UNESCAPED_CHARACTERS");
}

#[test]
fn cli_1_with_url_keeps_every_option_the_url_does_not_have() {
    let o = RequestOptions {
        method: Some("PUT".into()),
        host: Some("x".into()),
        default_port: Some(8080),
        set_host: false,
        agent: None,
        unique_headers: vec!["a".into()],
        max_header_size: Some(10),
        insecure_http_parser: Some(true),
        join_duplicate_headers: Some(false),
        timeout: Some(std::time::Duration::from_secs(1)),
        headers: RequestHeaders::Object(vec![("X".into(), HeaderValue::from("y"))]),
        ..RequestOptions::default()
    };
    let merged = o.clone().with_url(&parts(URL)).unwrap();
    assert_eq!(
        RequestOptions {
            protocol: None,
            hostname: None,
            port: None,
            path: None,
            auth: None,
            ..merged
        },
        o
    );
}

// ----- properties -----

/// Percent-encodes every byte of `s`, as an escape-everything encoder would.
fn encode_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

proptest! {
    /// Node's `decodeURIComponent` undoes any percent-encoding of UTF-8, so any
    /// user name and password survive the trip through the URL.
    #[test]
    fn user_info_round_trips(user in any::<String>(), pass in any::<String>()) {
        let url = UrlParts {
            username: encode_all(&user),
            password: encode_all(&pass),
            ..UrlParts::default()
        };
        let want = if user.is_empty() && pass.is_empty() { None } else { Some(format!("{user}:{pass}")) };
        prop_assert_eq!(url.auth(), Ok(want));
    }

    /// The `url` crate's WHATWG userinfo encoding, decoded, gives back what was
    /// written, as `urlToHttpOptions` does for a `URL` whose `username` and
    /// `password` were set (WHATWG leaves `%` itself unencoded, so it is left out).
    #[test]
    fn whatwg_user_info_decodes_back(user in "[a-zA-Z0-9 äé€😀]{1,12}", pass in "[a-zA-Z0-9 äé€😀]{0,12}") {
        let mut u = url::Url::parse("http://h/").unwrap();
        u.set_username(&user).unwrap();
        u.set_password(Some(&pass)).unwrap();
        let got = parts(u.as_str()).auth();
        prop_assert_eq!(got, Ok(Some(format!("{user}:{pass}"))));
    }

    /// Bytes that are not UTF-8 never decode.
    #[test]
    fn invalid_utf8_is_malformed(bytes in proptest::collection::vec(any::<u8>(), 1..8)) {
        prop_assume!(core::str::from_utf8(&bytes).is_err());
        let escaped: String = bytes.iter().map(|b| format!("%{b:02x}")).collect();
        let url = UrlParts { password: escaped, ..UrlParts::default() };
        prop_assert_eq!(url.auth(), Err(OutgoingError::UriMalformed));
    }

    /// A URL alone and a URL under empty options give the same request.
    #[test]
    fn no_options_is_the_url_alone(path in "/[a-z?=&]{0,10}", port in proptest::option::of(1u16..)) {
        let mut url = parts("http://u:p@example.com/");
        url.pathname = path;
        url.port = port;
        prop_assert_eq!(RequestOptions::default().with_url(&url), url.to_options());
    }
}
