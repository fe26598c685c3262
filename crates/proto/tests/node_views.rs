//! Node's derived header views: `headers` / `trailers` (MSG-3, MSG-4, MSG-8) and
//! `headersDistinct` / `trailersDistinct` (MSG-5), checked against the spec's examples,
//! against real Node v20.20.2 findings, and against a naive reference model (the
//! "Node view law").
//!
//! Oracle findings (Node v20.20.2, `shared/tools/node-oracle.js server`/`client`, plus a
//! small `http.createServer({ joinDuplicateHeaders })` probe for MSG-4/MSG-5, which the
//! oracle does not report) are quoted next to the tests they pin.

use bytes::Bytes;
use courier_proto::headers::NodeDistinct;
use courier_proto::{Headers, NodeHeaders, NodeValue};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// helpers

fn headers(pairs: &[(&str, &str)]) -> Headers {
    let mut h = Headers::new();
    for &(n, v) in pairs {
        h.append(n.to_owned(), v.to_owned()).unwrap();
    }
    h
}

fn single(s: &str) -> NodeValue {
    NodeValue::Single(Bytes::copy_from_slice(s.as_bytes()))
}

fn list(items: &[&str]) -> NodeValue {
    NodeValue::List(
        items
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect(),
    )
}

/// The view as `(key, value)` pairs in order, for whole-object comparisons.
fn pairs(view: &NodeHeaders) -> Vec<(&str, NodeValue)> {
    view.iter().map(|(k, v)| (k, v.clone())).collect()
}

fn expect_view(view: &NodeHeaders, expected: &[(&str, NodeValue)]) {
    assert_eq!(pairs(view), expected.to_vec());
}

fn distinct_pairs(d: &NodeDistinct) -> Vec<(String, Vec<String>)> {
    d.iter()
        .map(|(k, vs)| {
            (
                k.to_owned(),
                vs.iter()
                    .map(|v| courier_proto::headers::latin1(v))
                    .collect(),
            )
        })
        .collect()
}

fn expect_distinct(d: &NodeDistinct, expected: &[(&str, &[&str])]) {
    let expected: Vec<(String, Vec<String>)> = expected
        .iter()
        .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect()))
        .collect();
    assert_eq!(distinct_pairs(d), expected);
}

/// MSG-3 rule 3, verbatim.
const FIRST_WINS: [&str; 18] = [
    "age",
    "authorization",
    "content-length",
    "content-type",
    "etag",
    "expires",
    "from",
    "host",
    "if-modified-since",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "proxy-authorization",
    "referer",
    "retry-after",
    "server",
    "user-agent",
];

/// The MSG-3 example request, field by field.
fn msg3_example() -> Headers {
    headers(&[
        ("Host", "a"),
        ("Host", "b"),
        ("X-A", "1"),
        ("x-a", "2"),
        ("Cookie", "a=1"),
        ("Cookie", "b=2"),
        ("Set-Cookie", "s1"),
        ("Set-Cookie", "s2"),
        ("Content-Type", "t1"),
        ("Content-Type", "t2"),
        ("Accept", "a"),
        ("Accept", "b"),
    ])
}

// ---------------------------------------------------------------------------------------
// MSG-2: the raw list is the truth

#[test]
fn msg2_raw_headers_keep_wire_order_case_and_duplicates() {
    let h = headers(&[("Host", "a"), ("Host", "b"), ("X-A", "1"), ("x-a", "2")]);
    let raw_list = h.raw();
    let raw: Vec<&[u8]> = raw_list.iter().map(|b| &b[..]).collect();
    assert_eq!(
        raw,
        [
            &b"Host"[..],
            b"a",
            b"Host",
            b"b",
            b"X-A",
            b"1",
            b"x-a",
            b"2"
        ]
    );
}

// ---------------------------------------------------------------------------------------
// MSG-3: the `headers` object

#[test]
fn msg3_example_request() {
    // Node: {host:"a", "x-a":"1, 2", cookie:"a=1; b=2", "set-cookie":["s1","s2"],
    //        "content-type":"t1", accept:"a, b"}  (spec example, confirmed by the oracle)
    expect_view(
        &msg3_example().node_view(false),
        &[
            ("host", single("a")),
            ("x-a", single("1, 2")),
            ("cookie", single("a=1; b=2")),
            ("set-cookie", list(&["s1", "s2"])),
            ("content-type", single("t1")),
            ("accept", single("a, b")),
        ],
    );
}

#[test]
fn msg3_keys_are_ascii_lower_case() {
    let view = headers(&[("X-Forwarded-For", "1"), ("ETag", "\"e\"")]).node_view(false);
    assert_eq!(view.keys().collect::<Vec<_>>(), ["x-forwarded-for", "etag"]);
    // Lookups ignore case.
    assert_eq!(view.get_str("X-FORWARDED-FOR").as_deref(), Some("1"));
    assert_eq!(view.get_str("etag").as_deref(), Some("\"e\""));
}

#[test]
fn msg3_case_variants_fold_into_one_key() {
    // Oracle: "X-A: 1\r\nx-a: 2\r\nX-a: 3" → {"x-a": "1, 2, 3"}.
    let view = headers(&[("X-A", "1"), ("x-a", "2")]).node_view(false);
    expect_view(&view, &[("x-a", single("1, 2"))]);
    let view = headers(&[("X-A", "1"), ("x-a", "2"), ("X-a", "3")]).node_view(false);
    expect_view(&view, &[("x-a", single("1, 2, 3"))]);
}

#[test]
fn msg3_keys_keep_first_seen_order() {
    // Oracle: "B: 1, A: 1, b: 2, Set-Cookie: x, C: 3, HOST: z" after "Host: h" →
    // {host:"h", b:"1, 2", a:"1", "set-cookie":["x"], c:"3"}: a later duplicate
    // never moves its key.
    let view = headers(&[
        ("Host", "h"),
        ("B", "1"),
        ("A", "1"),
        ("b", "2"),
        ("Set-Cookie", "x"),
        ("C", "3"),
        ("HOST", "z"),
    ])
    .node_view(false);
    expect_view(
        &view,
        &[
            ("host", single("h")),
            ("b", single("1, 2")),
            ("a", single("1")),
            ("set-cookie", list(&["x"])),
            ("c", single("3")),
        ],
    );
}

#[test]
fn msg3_rule1_set_cookie_is_always_a_list() {
    expect_view(
        &headers(&[("Set-Cookie", "s1"), ("Set-Cookie", "s2")]).node_view(false),
        &[("set-cookie", list(&["s1", "s2"]))],
    );
    // One value is still a list (spec: ["c"]; oracle: "set-Cookie: only" → ["only"]).
    expect_view(
        &headers(&[("Set-Cookie", "c")]).node_view(false),
        &[("set-cookie", list(&["c"]))],
    );
    expect_view(
        &headers(&[("set-Cookie", "only")]).node_view(true),
        &[("set-cookie", list(&["only"]))],
    );
}

#[test]
fn msg3_rule1_set_cookie_spellings_merge_into_one_list() {
    // Oracle: "Set-Cookie: s1, X-B: 1, set-cookie: s2, SET-COOKIE: s3" →
    // {"set-cookie":["s1","s2","s3"], "x-b":"1"}; the key sits where the first one was.
    let h = headers(&[
        ("Set-Cookie", "s1"),
        ("X-B", "1"),
        ("set-cookie", "s2"),
        ("SET-COOKIE", "s3"),
    ]);
    for join in [false, true] {
        expect_view(
            &h.node_view(join),
            &[
                ("set-cookie", list(&["s1", "s2", "s3"])),
                ("x-b", single("1")),
            ],
        );
    }
}

#[test]
fn msg3_rule1_set_cookie_with_an_empty_value() {
    // Oracle: "Set-Cookie:" → {"set-cookie": [""]}.
    expect_view(
        &headers(&[("Set-Cookie", "")]).node_view(false),
        &[("set-cookie", list(&[""]))],
    );
}

#[test]
fn msg3_rule2_cookie_is_joined_with_semicolon_space() {
    expect_view(
        &headers(&[("Cookie", "a=1"), ("Cookie", "b=2")]).node_view(false),
        &[("cookie", single("a=1; b=2"))],
    );
}

#[test]
fn msg3_rule2_cookie_join_keeps_empty_values() {
    // Oracle: "Cookie:\r\nCookie: b=2" → "; b=2";
    //         "Cookie: a=1\r\nCookie:\r\nCookie: b=2" → "a=1; ; b=2".
    expect_view(
        &headers(&[("Cookie", ""), ("Cookie", "b=2")]).node_view(false),
        &[("cookie", single("; b=2"))],
    );
    expect_view(
        &headers(&[("Cookie", "a=1"), ("Cookie", ""), ("Cookie", "b=2")]).node_view(false),
        &[("cookie", single("a=1; ; b=2"))],
    );
}

#[test]
fn msg3_rule3_all_18_names_keep_only_the_first_value() {
    // Oracle: each of the 18 sent as "name: 1" then "NAME: 2" → "name": "1".
    for name in FIRST_WINS {
        let upper = name.to_ascii_uppercase();
        let h = headers(&[(name, "1"), (&upper, "2"), (name, "3")]);
        expect_view(&h.node_view(false), &[(name, single("1"))]);
    }
}

#[test]
fn msg3_rule3_first_value_wins_even_when_empty() {
    // Oracle: "User-Agent:\r\nUser-Agent: u2" → {"user-agent": ""}.
    expect_view(
        &headers(&[("User-Agent", ""), ("User-Agent", "u2")]).node_view(false),
        &[("user-agent", single(""))],
    );
}

#[test]
fn msg3_rule4_every_other_name_is_joined_with_comma_space() {
    // Spec: accept, x-a, vary, connection, transfer-encoding, expect, unknown/x- names.
    // Oracle: "Date: d1, Date: d2" → "d1, d2" (date is not first-wins), vary and
    // connection likewise.
    for name in [
        "Accept",
        "X-A",
        "Vary",
        "Connection",
        "Transfer-Encoding",
        "Expect",
        "Date",
        "Via",
        "Warning",
        "Proxy-Authenticate",
        "WWW-Authenticate",
        "X-Unknown-Thing",
    ] {
        let h = headers(&[(name, "a"), (name, "b")]);
        let key = name.to_ascii_lowercase();
        for join in [false, true] {
            expect_view(&h.node_view(join), &[(key.as_str(), single("a, b"))]);
        }
    }
}

#[test]
fn msg3_empty_values_are_keys_and_take_part_in_joins() {
    // Oracle: "X-E:" → {"x-e": ""}; "X-E:, X-E: a" → ", a"; "X-E: a, X-E:" → "a, ";
    //         "X-E:, X-E:" → ", ".
    expect_view(
        &headers(&[("X-E", "")]).node_view(false),
        &[("x-e", single(""))],
    );
    expect_view(
        &headers(&[("X-E", ""), ("X-E", "a")]).node_view(false),
        &[("x-e", single(", a"))],
    );
    expect_view(
        &headers(&[("X-E", "a"), ("X-E", "")]).node_view(false),
        &[("x-e", single("a, "))],
    );
    expect_view(
        &headers(&[("X-E", ""), ("X-E", "")]).node_view(false),
        &[("x-e", single(", "))],
    );
    let view = headers(&[("X-E", "")]).node_view(false);
    assert!(view.contains("x-e"));
    assert_eq!(view.get_str("x-e").as_deref(), Some(""));
}

#[test]
fn msg3_object_like_names_are_ordinary_keys() {
    // Oracle: "Constructor: 1, constructor: 2, toString: x" → {constructor:"1, 2",
    // tostring:"x"}. (Node drops a `__proto__` header from `headers` and sorts
    // integer-like names first: JavaScript artefacts, out of scope per spec section 0;
    // here they stay ordinary keys in wire order.)
    let h = headers(&[
        ("Constructor", "1"),
        ("constructor", "2"),
        ("toString", "x"),
        ("__proto__", "p"),
        ("123", "n"),
    ]);
    expect_view(
        &h.node_view(false),
        &[
            ("constructor", single("1, 2")),
            ("tostring", single("x")),
            ("__proto__", single("p")),
            ("123", single("n")),
        ],
    );
}

#[test]
fn empty_list_gives_empty_objects() {
    // MSG-1 / MSG-8: without fields the views are `{}`.
    let h = Headers::new();
    assert!(h.node_view(false).is_empty());
    assert_eq!(h.node_view(true).len(), 0);
    assert!(h.distinct().is_empty());
}

// ---------------------------------------------------------------------------------------
// MSG-4: joinDuplicateHeaders

#[test]
fn msg4_join_duplicates_joins_the_18_names() {
    // Spec: host "a, b", user-agent "u1, u2", client location "/1, /2".
    let view = headers(&[("Host", "a"), ("Host", "b")]).node_view(true);
    expect_view(&view, &[("host", single("a, b"))]);
    let view = headers(&[("User-Agent", "u1"), ("User-Agent", "u2")]).node_view(true);
    expect_view(&view, &[("user-agent", single("u1, u2"))]);
    // Oracle (client): "Location: /1, location: /2" → "/1" by default.
    let h = headers(&[("Location", "/1"), ("location", "/2")]);
    expect_view(&h.node_view(false), &[("location", single("/1"))]);
    expect_view(&h.node_view(true), &[("location", single("/1, /2"))]);
    for name in FIRST_WINS {
        let h = headers(&[(name, "1"), (name, "2")]);
        expect_view(&h.node_view(true), &[(name, single("1, 2"))]);
    }
}

#[test]
fn msg4_set_cookie_and_cookie_are_unchanged_by_the_option() {
    // Probe, joinDuplicateHeaders: true, on "Host: a, host: b, User-Agent: u1,
    // User-Agent: u2, Set-Cookie: s, Cookie: a, Cookie: b, User-Agent:" →
    // {host:"a, b", "user-agent":"u1, u2, ", "set-cookie":["s"], cookie:"a; b"};
    // with the option off: {host:"a", "user-agent":"u1", "set-cookie":["s"], cookie:"a; b"}.
    let h = headers(&[
        ("Host", "a"),
        ("host", "b"),
        ("User-Agent", "u1"),
        ("User-Agent", "u2"),
        ("Set-Cookie", "s"),
        ("Cookie", "a"),
        ("Cookie", "b"),
        ("User-Agent", ""),
    ]);
    expect_view(
        &h.node_view(true),
        &[
            ("host", single("a, b")),
            ("user-agent", single("u1, u2, ")),
            ("set-cookie", list(&["s"])),
            ("cookie", single("a; b")),
        ],
    );
    expect_view(
        &h.node_view(false),
        &[
            ("host", single("a")),
            ("user-agent", single("u1")),
            ("set-cookie", list(&["s"])),
            ("cookie", single("a; b")),
        ],
    );
}

#[test]
fn msg4_example_request_with_the_option() {
    // Probe on the MSG-3 example with joinDuplicateHeaders: true.
    expect_view(
        &msg3_example().node_view(true),
        &[
            ("host", single("a, b")),
            ("x-a", single("1, 2")),
            ("cookie", single("a=1; b=2")),
            ("set-cookie", list(&["s1", "s2"])),
            ("content-type", single("t1, t2")),
            ("accept", single("a, b")),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// MSG-5: headersDistinct / trailersDistinct

#[test]
fn msg5_distinct_has_every_value_and_no_special_cases() {
    // Spec: {host:["a","b"], cookie:["a","b"], "set-cookie":["1","2"]}.
    // Probe: same, plus "X-E:" → "x-e": [""].
    let h = headers(&[
        ("Host", "a"),
        ("Host", "b"),
        ("Cookie", "a"),
        ("Cookie", "b"),
        ("Set-Cookie", "1"),
        ("set-cookie", "2"),
        ("X-E", ""),
    ]);
    expect_distinct(
        &h.distinct(),
        &[
            ("host", &["a", "b"]),
            ("cookie", &["a", "b"]),
            ("set-cookie", &["1", "2"]),
            ("x-e", &[""]),
        ],
    );
}

#[test]
fn msg5_distinct_of_the_msg3_example() {
    // Probe: the MSG-3 request's headersDistinct.
    expect_distinct(
        &msg3_example().distinct(),
        &[
            ("host", &["a", "b"]),
            ("x-a", &["1", "2"]),
            ("cookie", &["a=1", "b=2"]),
            ("set-cookie", &["s1", "s2"]),
            ("content-type", &["t1", "t2"]),
            ("accept", &["a", "b"]),
        ],
    );
}

#[test]
fn msg5_distinct_lookup_and_conversions() {
    let h = headers(&[("Host", "a"), ("X-A", "1"), ("host", "b")]);
    let d = h.distinct();
    assert_eq!(d.len(), 2);
    assert_eq!(d.keys().collect::<Vec<_>>(), ["host", "x-a"]);
    assert!(d.contains("HOST"));
    assert_eq!(d.get("Host").map(<[_]>::len), Some(2));
    assert_eq!(d.get("missing"), None);
    assert_eq!(
        d.clone().into_entries(),
        [
            ("host".to_owned(), vec![Bytes::from("a"), Bytes::from("b")]),
            ("x-a".to_owned(), vec![Bytes::from("1")]),
        ]
    );
    // Agrees with the raw list's own case-insensitive lookup.
    for (k, vs) in d.iter() {
        let all: Vec<&[u8]> = h.get_all(k).collect();
        let vs: Vec<&[u8]> = vs.iter().map(|b| &b[..]).collect();
        assert_eq!(all, vs);
    }
}

// ---------------------------------------------------------------------------------------
// MSG-7: values are the raw bytes, one char per byte

#[test]
fn msg7_values_are_latin1_and_never_normalised() {
    // PRS-8 / oracle: bytes C3 A9 FF → "Ã©ÿ"; "X-W: a\t b" keeps the inner whitespace.
    let mut h = Headers::new();
    h.append("X-L", &b"\xC3\xA9\xFF"[..]).unwrap();
    h.append("X-W", "a\t b").unwrap();
    h.append("Accept", "a, b").unwrap();
    h.append("X-Q", "\"q, r\"").unwrap();
    let view = h.node_view(false);
    assert_eq!(view.get_str("x-l").as_deref(), Some("Ã©ÿ"));
    assert_eq!(view.get_str("x-w").as_deref(), Some("a\t b"));
    // No comma splitting, no unquoting.
    assert_eq!(view.get_str("accept").as_deref(), Some("a, b"));
    assert_eq!(view.get_str("x-q").as_deref(), Some("\"q, r\""));
    assert_eq!(h.distinct().get_strs("x-l"), Some(vec!["Ã©ÿ".to_owned()]));
}

#[test]
fn msg7_value_accessors() {
    let h = headers(&[("Host", "h"), ("Set-Cookie", "s1"), ("Set-Cookie", "s2")]);
    let view = h.node_view(false);
    let host = view.get("host").unwrap();
    let cookies = view.get("set-cookie").unwrap();
    assert_eq!(host.as_single().map(|b| &b[..]), Some(&b"h"[..]));
    assert_eq!(host.as_list(), None);
    assert_eq!(host.to_latin1_list(), ["h"]);
    assert_eq!(cookies.as_single(), None);
    assert_eq!(cookies.to_latin1(), None);
    assert_eq!(cookies.to_latin1_list(), ["s1", "s2"]);
    assert_eq!(cookies.as_slice().len(), 2);
    // get_str is for single strings; a list answers None.
    assert_eq!(view.get_str("set-cookie"), None);
    assert_eq!(view.get_str("missing"), None);
}

// ---------------------------------------------------------------------------------------
// MSG-8: trailers follow the same rules

#[test]
fn msg8_trailers_use_the_same_rules() {
    // Oracle, chunked POST whose trailer section is "X-T: 1, x-t: 2, Set-Cookie: s,
    // Server: a, Server: b, Cookie: a, Cookie: b, X-E:" → trailers {"x-t":"1, 2",
    // "set-cookie":["s"], server:"a", cookie:"a; b", "x-e":""}. Probe with
    // joinDuplicateHeaders: server "a, b"; trailersDistinct server ["a","b"].
    let t = headers(&[
        ("X-T", "1"),
        ("x-t", "2"),
        ("Set-Cookie", "s"),
        ("Server", "a"),
        ("Server", "b"),
        ("Cookie", "a"),
        ("Cookie", "b"),
        ("X-E", ""),
    ]);
    expect_view(
        &t.node_view(false),
        &[
            ("x-t", single("1, 2")),
            ("set-cookie", list(&["s"])),
            ("server", single("a")),
            ("cookie", single("a; b")),
            ("x-e", single("")),
        ],
    );
    assert_eq!(t.node_view(true).get_str("server").as_deref(), Some("a, b"));
    expect_distinct(
        &t.distinct(),
        &[
            ("x-t", &["1", "2"]),
            ("set-cookie", &["s"]),
            ("server", &["a", "b"]),
            ("cookie", &["a", "b"]),
            ("x-e", &[""]),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// cost: sharing and scale

#[test]
fn single_values_share_the_raw_bytes() {
    // A value seen once is the very same memory as the raw field (no copy).
    let block = Bytes::from_static(b"Host: hX-A: 1Set-Cookie: c");
    let mut h = Headers::new();
    h.append(block.slice(0..4), block.slice(6..7)).unwrap();
    h.append(block.slice(7..10), block.slice(12..13)).unwrap();
    h.append(block.slice(13..23), block.slice(25..26)).unwrap();
    let view = h.node_view(false);
    let host = view.get("host").and_then(NodeValue::as_single).unwrap();
    assert_eq!(host.as_ptr(), block[6..].as_ptr());
    let xa = view.get("x-a").and_then(NodeValue::as_single).unwrap();
    assert_eq!(xa.as_ptr(), block[12..].as_ptr());
    let c = &view.get("set-cookie").and_then(NodeValue::as_list).unwrap()[0];
    assert_eq!(c.as_ptr(), block[25..].as_ptr());
    let d = h.distinct();
    assert_eq!(d.get("host").unwrap()[0].as_ptr(), block[6..].as_ptr());
    // A first-wins name keeps sharing its first value when later ones are dropped.
    let mut h = Headers::new();
    h.append("Host", block.slice(6..7)).unwrap();
    h.append("Host", "other").unwrap();
    let view = h.node_view(false);
    let host = view.get("host").and_then(NodeValue::as_single).unwrap();
    assert_eq!(host.as_ptr(), block[6..].as_ptr());
}

#[test]
fn thousand_distinct_names_and_thousand_duplicates() {
    // MSG-6's default limit is 1000 lines: both shapes must be handled exactly
    // (and in near-linear time: names are grouped through a hash map above a few dozen).
    let mut h = Headers::new();
    for i in 0..1000 {
        let name = if i % 2 == 0 {
            format!("X-Name-{i}")
        } else {
            format!("x-name-{i}")
        };
        h.append(name, i.to_string()).unwrap();
    }
    let view = h.node_view(false);
    assert_eq!(view.len(), 1000);
    for (i, (k, v)) in view.iter().enumerate() {
        assert_eq!(k, format!("x-name-{i}"));
        assert_eq!(v, &single(&i.to_string()));
    }
    assert_eq!(h.distinct().len(), 1000);

    let mut h = Headers::new();
    for i in 0..1000 {
        h.append(if i % 2 == 0 { "X-Dup" } else { "x-dup" }, i.to_string())
            .unwrap();
        h.append("Host", i.to_string()).unwrap();
        h.append("Set-Cookie", i.to_string()).unwrap();
    }
    let numbers: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    let view = h.node_view(false);
    assert_eq!(view.len(), 3);
    assert_eq!(view.get_str("x-dup"), Some(numbers.join(", ")));
    assert_eq!(view.get_str("host").as_deref(), Some("0"));
    assert_eq!(
        view.get("set-cookie").map(NodeValue::to_latin1_list),
        Some(numbers.clone())
    );
    assert_eq!(h.node_view(true).get_str("host"), Some(numbers.join(", ")));
    assert_eq!(h.distinct().get_strs("host"), Some(numbers));
}

// ---------------------------------------------------------------------------------------
// The Node view law: node_view and distinct equal a naive model of MSG-3/4/5.

/// Deliberately naive reference: a Vec with linear search, rules written as in the spec.
fn model_view(fields: &[(String, Vec<u8>)], join: bool) -> Vec<(String, NodeValue)> {
    let mut out: Vec<(String, NodeValue)> = Vec::new();
    for (name, value) in fields {
        let key = name.to_ascii_lowercase();
        let value = Bytes::from(value.clone());
        match out.iter_mut().find(|(k, _)| *k == key) {
            None if key == "set-cookie" => out.push((key, NodeValue::List(vec![value]))),
            None => out.push((key, NodeValue::Single(value))),
            Some((_, NodeValue::List(values))) => values.push(value),
            Some((k, NodeValue::Single(old))) => {
                if !join && FIRST_WINS.contains(&k.as_str()) {
                    continue;
                }
                let sep: &[u8] = if k == "cookie" { b"; " } else { b", " };
                *old = Bytes::from([&old[..], sep, &value[..]].concat());
            }
        }
    }
    out
}

fn model_distinct(fields: &[(String, Vec<u8>)]) -> Vec<(String, Vec<Bytes>)> {
    let mut out: Vec<(String, Vec<Bytes>)> = Vec::new();
    for (name, value) in fields {
        let key = name.to_ascii_lowercase();
        let value = Bytes::from(value.clone());
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, values)) => values.push(value),
            None => out.push((key, vec![value])),
        }
    }
    out
}

/// Randomises the ASCII case of every letter.
fn random_case(name: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), name.len()).prop_map(move |upper| {
        name.chars()
            .zip(upper)
            .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

fn field_name() -> impl Strategy<Value = String> {
    const POOL: &[&str] = &[
        "set-cookie",
        "cookie",
        "host",
        "user-agent",
        "content-type",
        "content-length",
        "authorization",
        "location",
        "age",
        "if-unmodified-since",
        "connection",
        "accept",
        "date",
        "x-a",
        "x-b",
    ];
    prop_oneof![
        4 => prop::sample::select(POOL).prop_flat_map(random_case),
        1 => "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}",
    ]
}

fn field_value() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![Just(b'\t'), Just(b' '), 0x21u8..=0x7E, 0x80u8..=0xFF,];
    prop_oneof![
        1 => Just(Vec::new()),
        6 => prop::collection::vec(byte, 0..10),
    ]
}

fn field_list() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    // Up to 60 fields, so both the linear and the hashed grouping paths are exercised.
    prop::collection::vec((field_name(), field_value()), 0..60)
}

proptest! {
    #[test]
    fn node_view_law(fields in field_list()) {
        let mut h = Headers::new();
        for (n, v) in &fields {
            h.append(n.clone(), v.clone()).unwrap();
        }
        for join in [false, true] {
            let view = h.node_view(join);
            prop_assert_eq!(view.entries(), &model_view(&fields, join)[..]);
            // Lookups find every key, whatever the query's case.
            for (k, v) in view.iter() {
                prop_assert_eq!(view.get(&k.to_ascii_uppercase()), Some(v));
            }
        }
        let d = h.distinct();
        prop_assert_eq!(d.clone().into_entries(), model_distinct(&fields));
        // Both views have the same keys in the same order.
        prop_assert!(d.keys().eq(h.node_view(false).keys()));
    }
}
