//! Properties of the message parser that must hold for every input:
//! the httparse fast path agrees with the Node-exact scanner, and the result does not
//! depend on how the input is split into reads (PRS-1 … PRS-31, MSG-2).

use courier_proto::{Event, Parser, ParserConfig, ResponseContext};
use proptest::prelude::*;

/// Runs `input` through a parser fed in the given pieces, then EOF, and returns a
/// normalised trace: events with adjacent `Data` merged, then the final error.
fn trace(
    request: bool,
    cfg: ParserConfig,
    pieces: &[&[u8]],
    fast: bool,
    ctx: ResponseContext,
) -> Vec<String> {
    let mut p = if request {
        Parser::request(cfg)
    } else {
        Parser::response(cfg)
    };
    p.set_response_context(ctx);
    if !fast {
        p.disable_fast_path();
    }
    let mut out: Vec<String> = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    let drain = |p: &mut Parser, out: &mut Vec<String>, data: &mut Vec<u8>| -> bool {
        loop {
            match p.poll() {
                Ok(Some(Event::Data(d))) => {
                    assert!(!d.is_empty(), "empty Data event");
                    data.extend_from_slice(&d);
                }
                Ok(Some(ev)) => {
                    if !data.is_empty() {
                        out.push(format!("data {:?}", String::from_utf8_lossy(data)));
                        data.clear();
                    }
                    out.push(format!("{ev:?}"));
                    if p.is_paused() {
                        p.resume();
                    }
                }
                Ok(None) => {
                    if p.is_paused() {
                        p.resume();
                        continue;
                    }
                    return true;
                }
                Err(e) => {
                    if !data.is_empty() {
                        out.push(format!("data {:?}", String::from_utf8_lossy(data)));
                        data.clear();
                    }
                    out.push(format!(
                        "error {} {:?} @{}",
                        e.code(),
                        e.reason(),
                        e.offset()
                    ));
                    return false;
                }
            }
        }
    };
    for piece in pieces {
        p.feed(piece);
        if !drain(&mut p, &mut out, &mut data) {
            return out;
        }
    }
    p.feed_eof();
    drain(&mut p, &mut out, &mut data);
    if !data.is_empty() {
        out.push(format!("data {:?}", String::from_utf8_lossy(&data)));
    }
    out
}

fn request_line() -> impl Strategy<Value = Vec<u8>> {
    let method = prop::sample::select(vec![
        "GET", "POST", "PUT", "HEAD", "CONNECT", "OPTIONS", "PRI", "get", "FOO", "GETX",
        "M-SEARCH", "SOURCE", "DESCRIBE", "QUERY",
    ]);
    let target = prop::sample::select(vec![
        "/",
        "/a?b=1#f",
        "*",
        "http://h:80/p?q",
        "h:443",
        "/\u{e9}",
        "/a\tb",
        "/x\"{}|",
        "//",
        "/?",
        "",
    ]);
    let version = prop::sample::select(vec![
        " HTTP/1.1",
        " HTTP/1.0",
        " HTTP/2.0",
        " HTTP/1.2",
        " http/1.1",
        "",
        " RTSP/1.0",
        "  HTTP/1.1",
        " HTTP/1.1 ",
    ]);
    let sep = prop::sample::select(vec![" ", "  "]);
    (method, sep, target, version).prop_map(|(m, s, t, v)| format!("{m}{s}{t}{v}").into_bytes())
}

fn status_line() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![
        "HTTP/1.1 200 OK",
        "HTTP/1.0 200 OK",
        "HTTP/1.1 204 No Content",
        "HTTP/1.1 304 NM",
        "HTTP/1.1 101 Switching",
        "HTTP/1.1 100 Continue",
        "HTTP/1.1 200",
        "HTTP/1.1 200 ",
        "HTTP/1.1 2000 X",
        "HTTP/1.1 20 X",
        "HTTP/1.1  200 OK",
        "ICE/1.0 200 OK",
        "HTTP/1.1 103 Early",
        "HTTP/1.1 200 \u{1}x",
    ])
    .prop_map(|s| s.as_bytes().to_vec())
}

fn field() -> impl Strategy<Value = Vec<u8>> {
    let name = prop::sample::select(vec![
        "Host",
        "connection",
        "Content-Length",
        "CONTENT-LENGTH",
        "Transfer-Encoding",
        "transfer-encoding",
        "Upgrade",
        "Proxy-Connection",
        "X-A",
        "x-a",
        "Set-Cookie",
        "Bad Name",
        "",
        "Content-Lengthx",
        "Connectio",
    ]);
    let colon = prop::sample::select(vec![": ", ":", ":\t", " : ", ":  "]);
    let value = prop::sample::select(vec![
        "a",
        "chunked",
        "CHUNKED ",
        "gzip, chunked",
        "chunked, gzip",
        "identity",
        "close",
        "Close ",
        "keep-alive",
        "Upgrade",
        "keep-alive, upgrade",
        "close\t",
        " close, foo",
        "closed",
        "5",
        "0",
        " 12 ",
        "3\t",
        "3, 3",
        "-1",
        "",
        "a\u{1}b",
        "\u{e9}t\u{e9}",
        "websocket",
        "18446744073709551616",
        "007",
        "a \t b \t ",
    ]);
    (name, colon, value).prop_map(|(n, c, v)| format!("{n}{c}{v}").into_bytes())
}

fn eol() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![
        &b"\r\n"[..],
        b"\r\n",
        b"\r\n",
        b"\r\n",
        b"\n",
        b"\r",
        b"\r\n ",
    ])
}

fn message(request: bool) -> impl Strategy<Value = Vec<u8>> {
    let start = if request {
        request_line().boxed()
    } else {
        status_line().boxed()
    };
    let body = prop::sample::select(vec![
        "",
        "hello",
        "5\r\nhello\r\n0\r\n\r\n",
        "0\r\n\r\n",
        "3;a=b\r\nabc\r\n0\r\nT: v\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "\r\n\r\n",
        "zz\r\n",
    ]);
    (
        start,
        eol(),
        prop::collection::vec((field(), eol()), 0..6),
        eol(),
        body,
    )
        .prop_map(|(s, e1, fields, e2, b)| {
            let mut m = s;
            m.extend_from_slice(e1);
            for (f, e) in fields {
                m.extend_from_slice(&f);
                m.extend_from_slice(e);
            }
            m.extend_from_slice(e2);
            m.extend_from_slice(b.as_bytes());
            m
        })
}

fn configs() -> impl Strategy<Value = ParserConfig> {
    prop_oneof![
        Just(ParserConfig::default()),
        Just(ParserConfig::insecure()),
        (8usize..120).prop_map(|n| ParserConfig::default().with_max_header_size(n)),
        (1usize..4).prop_map(|n| ParserConfig {
            max_headers_count: n,
            ..ParserConfig::default()
        }),
    ]
}

fn cuts(len: usize, seed: &[usize]) -> Vec<usize> {
    let mut v: Vec<usize> = seed.iter().map(|s| s % (len + 1)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn split<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut last = 0;
    for &c in cuts {
        out.push(&input[last..c]);
        last = c;
    }
    out.push(&input[last..]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// The fast path never changes a result (events, errors, offsets).
    #[test]
    fn fast_path_agrees_with_scanner_requests(
        msgs in prop::collection::vec(message(true), 1..3),
        cfg in configs(),
    ) {
        let input: Vec<u8> = msgs.concat();
        let ctx = ResponseContext::default();
        prop_assert_eq!(
            trace(true, cfg, &[&input], true, ctx),
            trace(true, cfg, &[&input], false, ctx)
        );
    }

    #[test]
    fn fast_path_agrees_with_scanner_responses(
        msgs in prop::collection::vec(message(false), 1..3),
        cfg in configs(),
        head in any::<bool>(),
    ) {
        let input: Vec<u8> = msgs.concat();
        let ctx = ResponseContext { head, connect: false };
        prop_assert_eq!(
            trace(false, cfg, &[&input], true, ctx),
            trace(false, cfg, &[&input], false, ctx)
        );
    }

    /// Split invariance: any partition of the input gives the same trace.
    #[test]
    fn split_invariance(
        msgs in prop::collection::vec(message(true), 1..3),
        resp in prop::collection::vec(message(false), 1..3),
        cfg in configs(),
        seed in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let ctx = ResponseContext::default();
        for (request, input) in [(true, msgs.concat()), (false, resp.concat())] {
            let whole = trace(request, cfg, &[&input], true, ctx);
            let c = cuts(input.len(), &seed);
            prop_assert_eq!(&whole, &trace(request, cfg, &split(&input, &c), true, ctx));
        }
    }
}

/// Byte-by-byte feeding of every llhttp corpus-like sample gives the whole-input trace.
#[test]
fn byte_by_byte_equals_whole() {
    let samples: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"\r\n\r\nPOST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.0\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nA: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET /a\nHost: a\r\n\r\n",
    ];
    for s in samples {
        let whole = trace(
            true,
            ParserConfig::default(),
            &[s],
            true,
            ResponseContext::default(),
        );
        let bytes: Vec<&[u8]> = s.chunks(1).collect();
        let drip = trace(
            true,
            ParserConfig::default(),
            &bytes,
            true,
            ResponseContext::default(),
        );
        assert_eq!(whole, drip, "{:?}", String::from_utf8_lossy(s));
    }
}
