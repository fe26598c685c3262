//! Encode → decode round trips of arbitrary messages: heads (raw header order and case),
//! bodies under every framing, chunk sizes, chunk extensions and trailers survive the
//! encoders and the parser unchanged, whatever the read boundaries (PRS-8, PRS-19,
//! PRS-20, MSG-2, MSG-8, MSG-11, RES-19, RES-20). Several messages written back to back
//! (pipelining) decode in order.

use bytes::{Bytes, BytesMut};
use courier_proto::body::Encoder;
use courier_proto::head::encode::{write_request_head, write_response_head};
use courier_proto::{Event, Headers, Parser, ParserConfig, ResponseContext, Version};
use proptest::prelude::*;

/// Chunk sizes with their extensions (name, optional value).
type Chunks = Vec<(usize, Vec<(String, Option<String>)>)>;
/// Trailer fields.
type Fields = Vec<(String, Vec<u8>)>;

#[derive(Debug, Clone)]
enum Framing {
    /// `Content-Length` framing.
    Length,
    /// Chunked: the body is cut at these sizes, each chunk with these extensions.
    Chunked(Chunks, Fields),
    /// Until EOF (responses only; must be the last message).
    Eof,
}

#[derive(Debug, Clone)]
struct Msg {
    start: Start,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    framing: Framing,
}

#[derive(Debug, Clone)]
enum Start {
    Request {
        method: &'static str,
        target: String,
        minor: u8,
    },
    Response {
        status: u16,
        reason: Vec<u8>,
        minor: u8,
    },
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}".prop_filter("not a framing field", |n| {
            !matches!(
                n.to_ascii_lowercase().as_str(),
                "content-length"
                    | "transfer-encoding"
                    | "connection"
                    | "proxy-connection"
                    | "upgrade"
            )
        }),
        prop::sample::select(vec!["Set-Cookie", "cookie", "Host", "X-A", "x-a", "ETag"])
            .prop_map(String::from),
    ]
}

/// A field value as Node hands it out: field-value bytes, inner SP/HTAB allowed, no
/// leading or trailing whitespace (PRS-8).
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            8 => 0x21u8..=0x7e,
            1 => Just(b' '),
            1 => Just(b'\t'),
            1 => 0x80u8..=0xff,
        ],
        0..24,
    )
    .prop_map(|mut v| {
        while v.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            v.remove(0);
        }
        while v.last().is_some_and(|b| *b == b' ' || *b == b'\t') {
            v.pop();
        }
        v
    })
}

fn ext() -> impl Strategy<Value = (String, Option<String>)> {
    (
        "[a-z0-9!#$%&'*+.^_`|~-]{1,6}",
        prop::option::of("[ -~]{0,8}"),
    )
}

fn msg(request: bool, allow_eof: bool) -> impl Strategy<Value = Msg> {
    let start = if request {
        (
            prop::sample::select(vec![
                "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "QUERY",
            ]),
            "/[a-zA-Z0-9/._~?=&%-]{0,20}",
            0u8..=1,
        )
            .prop_map(|(method, target, minor)| Start::Request {
                method,
                target,
                minor,
            })
            .boxed()
    } else {
        (
            prop::sample::select(vec![200u16, 201, 404, 500, 299, 999]),
            prop::collection::vec(0x20u8..=0x7e, 1..12),
            0u8..=1,
        )
            .prop_map(|(status, reason, minor)| Start::Response {
                status,
                reason,
                minor,
            })
            .boxed()
    };
    let framing = prop_oneof![
        3 => Just(0u8),
        3 => Just(1u8),
        1 => Just(2u8),
    ];
    (
        start,
        prop::collection::vec((name(), value()), 0..8),
        prop::collection::vec(any::<u8>(), 0..300),
        framing,
        prop::collection::vec((1usize..80, prop::collection::vec(ext(), 0..3)), 0..6),
        prop::collection::vec((name(), value()), 0..3),
    )
        .prop_map(move |(start, headers, body, f, chunks, trailers)| {
            let framing = match f {
                0 => Framing::Length,
                2 if allow_eof => Framing::Eof,
                _ => Framing::Chunked(chunks, trailers),
            };
            Msg {
                start,
                headers,
                body,
                framing,
            }
        })
}

/// HTTP/1.0 messages end the connection (PRS-25): only the last one may be 1.0.
fn keep_alive_until_last(msgs: &mut [Msg]) {
    let n = msgs.len();
    for m in &mut msgs[..n.saturating_sub(1)] {
        match &mut m.start {
            Start::Request { minor, .. } | Start::Response { minor, .. } => *minor = 1,
        }
    }
}

fn headers_of(fields: &[(String, Vec<u8>)]) -> Headers {
    let mut h = Headers::new();
    for (n, v) in fields {
        h.append(Bytes::from(n.clone()), Bytes::from(v.clone()))
            .unwrap();
    }
    h
}

fn encode(m: &Msg, out: &mut Vec<u8>) {
    let mut h = headers_of(&m.headers);
    let mut enc = match &m.framing {
        Framing::Length => {
            h.append("Content-Length", m.body.len().to_string())
                .unwrap();
            Encoder::length(m.body.len() as u64)
        }
        Framing::Chunked(..) => {
            h.append("Transfer-Encoding", "chunked").unwrap();
            Encoder::Chunked
        }
        Framing::Eof => Encoder::CloseDelimited,
    };
    let mut head = BytesMut::new();
    match &m.start {
        Start::Request {
            method,
            target,
            minor,
        } => write_request_head(
            method,
            target.as_bytes(),
            Version {
                major: 1,
                minor: *minor,
            },
            &h,
            &mut head,
        ),
        Start::Response {
            status,
            reason,
            minor,
        } => write_response_head(
            Version {
                major: 1,
                minor: *minor,
            },
            *status,
            reason,
            &h,
            &mut head,
        ),
    }
    .unwrap();
    out.extend_from_slice(&head);
    match &m.framing {
        Framing::Chunked(chunks, trailers) => {
            let mut rest = &m.body[..];
            for (size, exts) in chunks {
                if rest.is_empty() {
                    break;
                }
                let n = (*size).min(rest.len());
                let ext_refs: Vec<(&[u8], Option<&[u8]>)> = exts
                    .iter()
                    .map(|(n, v)| (n.as_bytes(), v.as_deref().map(str::as_bytes)))
                    .collect();
                let segs = enc
                    .encode_with_extensions(Bytes::copy_from_slice(&rest[..n]), &ext_refs)
                    .unwrap();
                segs.iter().for_each(|s| out.extend_from_slice(s));
                rest = &rest[n..];
            }
            if !rest.is_empty() {
                enc.encode(Bytes::copy_from_slice(rest))
                    .iter()
                    .for_each(|s| out.extend_from_slice(s));
            }
            let t = headers_of(trailers);
            enc.finish(Some(&t))
                .unwrap()
                .iter()
                .for_each(|s| out.extend_from_slice(s));
        }
        _ => {
            enc.encode(Bytes::copy_from_slice(&m.body))
                .iter()
                .for_each(|s| out.extend_from_slice(s));
            enc.finish(None)
                .unwrap()
                .iter()
                .for_each(|s| out.extend_from_slice(s));
        }
    }
}

/// What the parser saw of one message.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    start: String,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    trailers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Seen {
    /// A message as its head was seen: the start line and the fields other than the
    /// framing field the encoder added.
    fn head(start: String, headers: &Headers) -> Self {
        let framing = |n: &[u8]| {
            n.eq_ignore_ascii_case(b"content-length")
                || n.eq_ignore_ascii_case(b"transfer-encoding")
        };
        Seen {
            start,
            headers: headers
                .iter()
                .filter(|(n, _)| !framing(n))
                .map(|(n, v)| (n.to_vec(), v.to_vec()))
                .collect(),
            body: vec![],
            trailers: vec![],
        }
    }
}

fn expected(m: &Msg) -> Seen {
    let start = match &m.start {
        Start::Request {
            method,
            target,
            minor,
        } => format!("{method} {target} 1.{minor}"),
        Start::Response {
            status,
            reason,
            minor,
        } => {
            format!("{status} {} 1.{minor}", String::from_utf8_lossy(reason))
        }
    };
    let trailers = match &m.framing {
        Framing::Chunked(_, t) => t
            .iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.clone()))
            .collect(),
        _ => vec![],
    };
    Seen {
        start,
        headers: m
            .headers
            .iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.clone()))
            .collect(),
        body: m.body.clone(),
        trailers,
    }
}

fn decode(request: bool, pieces: &[&[u8]]) -> Vec<Seen> {
    let mut p = if request {
        Parser::request(ParserConfig::default())
    } else {
        Parser::response(ParserConfig::default())
    };
    p.set_response_context(ResponseContext::default());
    let mut seen: Vec<Seen> = Vec::new();
    let drain = |p: &mut Parser, seen: &mut Vec<Seen>| loop {
        match p.poll().expect("valid input") {
            Some(Event::Request(h)) => seen.push(Seen::head(
                format!(
                    "{} {} {}",
                    h.method.as_str(),
                    String::from_utf8_lossy(h.url()),
                    h.version.to_node_string()
                ),
                &h.headers,
            )),
            Some(Event::Response(h)) => seen.push(Seen::head(
                format!(
                    "{} {} {}",
                    h.status,
                    String::from_utf8_lossy(&h.reason),
                    h.version.to_node_string()
                ),
                &h.headers,
            )),
            Some(Event::Data(d)) => seen.last_mut().unwrap().body.extend_from_slice(&d),
            Some(Event::End(t)) => {
                seen.last_mut().unwrap().trailers = t
                    .iter()
                    .flat_map(|t| t.iter())
                    .map(|(n, v)| (n.to_vec(), v.to_vec()))
                    .collect();
            }
            None => break,
        }
    };
    for piece in pieces {
        p.feed(piece);
        drain(&mut p, &mut seen);
    }
    p.feed_eof();
    drain(&mut p, &mut seen);
    seen
}

fn split_at<'a>(input: &'a [u8], seed: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = seed.iter().map(|s| s % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for c in cuts {
        out.push(&input[last..c]);
        last = c;
    }
    out.push(&input[last..]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn requests_round_trip(
        mut msgs in prop::collection::vec(msg(true, false), 1..4),
        seed in prop::collection::vec(any::<usize>(), 0..10),
    ) {
        keep_alive_until_last(&mut msgs);
        let mut wire = Vec::new();
        msgs.iter().for_each(|m| encode(m, &mut wire));
        let want: Vec<Seen> = msgs.iter().map(expected).collect();
        prop_assert_eq!(&decode(true, &[&wire]), &want);
        prop_assert_eq!(&decode(true, &split_at(&wire, &seed)), &want);
    }

    #[test]
    fn responses_round_trip(
        mut msgs in prop::collection::vec(msg(false, false), 0..3),
        last in msg(false, true),
        seed in prop::collection::vec(any::<usize>(), 0..10),
    ) {
        msgs.push(last);
        keep_alive_until_last(&mut msgs);
        let mut wire = Vec::new();
        msgs.iter().for_each(|m| encode(m, &mut wire));
        let want: Vec<Seen> = msgs.iter().map(expected).collect();
        prop_assert_eq!(&decode(false, &[&wire]), &want);
        prop_assert_eq!(&decode(false, &split_at(&wire, &seed)), &want);
    }
}
