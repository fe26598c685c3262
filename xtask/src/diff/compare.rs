//! Field-by-field comparison of one case: our probe line against Node's.
//!
//! Both sides are first reduced to the compared fields ([`reduce`]), so a
//! recording, a live oracle line and a probe line all compare the same way.
//! Which fields those are depends on the oracle mode: [`SERVER`] or [`CLIENT`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};

use crate::conformance::outcome::show;

/// How one top-level field of an oracle answer is compared.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Compared {
    /// A list of objects (`requests`): its length, then the named fields of
    /// each entry. A length difference is shown as a count and the entries'
    /// `label` fields.
    List {
        /// The key in the answer.
        key: &'static str,
        /// The compared fields of each entry.
        fields: &'static [&'static str],
        /// Two fields that name an entry in a length difference.
        label: [&'static str; 2],
    },
    /// An object or null (`client_error`): null against an object is one
    /// difference; two objects differ field by field (`client_error.code`).
    Object {
        /// The key in the answer.
        key: &'static str,
        /// The compared fields.
        fields: &'static [&'static str],
    },
    /// A value compared whole (`response_b64`).
    Whole {
        /// The key in the answer.
        key: &'static str,
    },
}

impl Compared {
    fn key(&self) -> &'static str {
        match self {
            Self::List { key, .. } | Self::Object { key, .. } | Self::Whole { key } => key,
        }
    }
}

/// The compared fields of each entry of `requests`.
pub(crate) const REQUEST_FIELDS: [&str; 12] = [
    "method",
    "url",
    "httpVersion",
    "headers",
    "rawHeaders",
    "body_b64",
    "trailers",
    "rawTrailers",
    "complete",
    "emitted",
    "aborted",
    "response_status",
];

/// The compared fields of each entry of `upgrades`.
pub(crate) const UPGRADE_FIELDS: [&str; 7] = [
    "event",
    "method",
    "url",
    "httpVersion",
    "headers",
    "rawHeaders",
    "head_b64",
];

/// Server mode: `requests` and `upgrades` (their compared fields),
/// `client_error` (`code` and `reason`, or null) and `response_b64`.
pub(crate) const SERVER: &[Compared] = &[
    Compared::List {
        key: "requests",
        fields: &REQUEST_FIELDS,
        label: ["method", "url"],
    },
    Compared::Object {
        key: "client_error",
        fields: &["code", "reason"],
    },
    Compared::List {
        key: "upgrades",
        fields: &UPGRADE_FIELDS,
        label: ["method", "url"],
    },
    Compared::Whole {
        key: "response_b64",
    },
];

/// The compared fields of the client's `response`: all of them.
pub(crate) const RESPONSE_FIELDS: [&str; 10] = [
    "statusCode",
    "statusMessage",
    "httpVersion",
    "headers",
    "rawHeaders",
    "body_b64",
    "trailers",
    "rawTrailers",
    "complete",
    "aborted",
];

/// The compared fields of each `information` entry (a 1xx response): all of them.
pub(crate) const INFORMATION_FIELDS: [&str; 5] = [
    "statusCode",
    "statusMessage",
    "httpVersion",
    "headers",
    "rawHeaders",
];

/// The compared fields of the client's `upgrade`: all of them.
pub(crate) const CLIENT_UPGRADE_FIELDS: [&str; 7] = [
    "event",
    "statusCode",
    "statusMessage",
    "httpVersion",
    "headers",
    "rawHeaders",
    "head_b64",
];

/// Client mode: `response`, `information` and `upgrade` (all their fields),
/// the `code` of `error` and of `response_error`, and `request_b64`. Error
/// messages and `bytesParsed`, `events` and `timed_out` are not compared.
pub(crate) const CLIENT: &[Compared] = &[
    Compared::Object {
        key: "response",
        fields: &RESPONSE_FIELDS,
    },
    Compared::List {
        key: "information",
        fields: &INFORMATION_FIELDS,
        label: ["statusCode", "statusMessage"],
    },
    Compared::Object {
        key: "upgrade",
        fields: &CLIENT_UPGRADE_FIELDS,
    },
    Compared::Object {
        key: "error",
        fields: &["code"],
    },
    Compared::Object {
        key: "response_error",
        fields: &["code"],
    },
    Compared::Whole { key: "request_b64" },
];

/// Keeps what `schema` compares, and `panic` when the probe panicked. A
/// missing field becomes null.
pub(crate) fn reduce(schema: &[Compared], line: &Value) -> Value {
    let pick = |v: &Value, fields: &[&str]| -> Value {
        let m: Map<String, Value> = fields
            .iter()
            .map(|&f| (f.to_owned(), v.get(f).cloned().unwrap_or(Value::Null)))
            .collect();
        Value::Object(m)
    };
    let mut out = Map::new();
    for c in schema {
        let v = line.get(c.key());
        let reduced = match (c, v) {
            (Compared::List { fields, .. }, Some(Value::Array(a))) => {
                a.iter().map(|e| pick(e, fields)).collect()
            }
            (Compared::Object { fields, .. }, Some(e)) if !e.is_null() => pick(e, fields),
            (Compared::Object { .. }, _) => Value::Null,
            (_, other) => other.cloned().unwrap_or(Value::Null),
        };
        out.insert(c.key().to_owned(), reduced);
    }
    if let Some(p) = line.get("panic") {
        out.insert("panic".to_owned(), p.clone());
    }
    Value::Object(out)
}

/// One field that differs, both values already rendered for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldDiff {
    /// `requests`, `requests[0].headers`, `client_error.code`, `response_b64`, …
    pub(crate) field: String,
    /// Our value.
    pub(crate) ours: String,
    /// Node's value.
    pub(crate) node: String,
}

/// Every field where the reduced lines `ours` and `node` differ: `panic`
/// first, then the fields of `schema` in its order (for the server:
/// `requests`, `client_error`, `upgrades`, `response_b64`).
///
/// Lists are compared entry by entry up to the shorter one; a length
/// difference is one more field (`requests` or `upgrades`).
pub(crate) fn compare(schema: &[Compared], ours: &Value, node: &Value) -> Vec<FieldDiff> {
    let mut d = Vec::new();
    if let Some(p) = ours.get("panic") {
        d.push(FieldDiff {
            field: "panic".into(),
            ours: p.to_string(),
            node: "-".into(),
        });
    }
    for c in schema {
        match *c {
            Compared::List { key, fields, label } => list(&mut d, key, ours, node, fields, label),
            Compared::Object { key, fields } => match (&ours[key], &node[key]) {
                (a @ Value::Object(_), b @ Value::Object(_)) => {
                    for f in fields {
                        leaf(&mut d, &format!("{key}.{f}"), &a[f], &b[f]);
                    }
                }
                (a, b) => leaf(&mut d, key, a, b),
            },
            Compared::Whole { key } => leaf(&mut d, key, &ours[key], &node[key]),
        }
    }
    d
}

fn list(
    d: &mut Vec<FieldDiff>,
    key: &str,
    ours: &Value,
    node: &Value,
    fields: &[&str],
    label: [&str; 2],
) {
    let empty = Vec::new();
    let (a, b) = (
        ours[key].as_array().unwrap_or(&empty),
        node[key].as_array().unwrap_or(&empty),
    );
    if a.len() != b.len() || ours[key].is_array() != node[key].is_array() {
        d.push(FieldDiff {
            field: key.to_owned(),
            ours: summary(&ours[key], label),
            node: summary(&node[key], label),
        });
    }
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        for f in fields {
            leaf(d, &format!("{key}[{i}].{f}"), &x[*f], &y[*f]);
        }
    }
}

fn leaf(d: &mut Vec<FieldDiff>, field: &str, ours: &Value, node: &Value) {
    if ours != node {
        d.push(FieldDiff {
            field: field.to_owned(),
            ours: render(field, ours),
            node: render(field, node),
        });
    }
}

/// `2 [GET "/a", POST "/b"]` for a list of requests or upgrades (`label`
/// `method`, `url`); `1 [103 "Early Hints"]` for interim responses.
fn summary(v: &Value, [first, second]: [&str; 2]) -> String {
    let Some(a) = v.as_array() else {
        return v.to_string();
    };
    let items: Vec<String> = a
        .iter()
        .map(|r| {
            let head = match &r[first] {
                Value::String(s) => s.clone(),
                Value::Null => "?".to_owned(),
                other => other.to_string(),
            };
            let tail = r[second].as_str().unwrap_or("?");
            format!("{head} {}", show(&latin1(tail)))
        })
        .collect();
    format!("{} [{}]", a.len(), items.join(", "))
}

/// Bytes fields (`*_b64`) decoded and shown with escapes; the rest as JSON.
fn render(field: &str, v: &Value) -> String {
    match (field.ends_with("_b64"), v.as_str()) {
        (true, Some(b)) => B64
            .decode(b)
            .map_or_else(|_| format!("(bad base64) {v}"), |bytes| show(&bytes)),
        _ => v.to_string(),
    }
}

/// A Node (latin-1) string back to its bytes; other chars as UTF-8.
fn latin1(s: &str) -> Vec<u8> {
    crate::conformance::outcome::latin1_bytes(s).unwrap_or_else(|_| s.as_bytes().to_vec())
}

/// Whether `field` is a name [`compare`] can report under `schema`; used to
/// check the expected-differences list.
pub(crate) fn is_field(schema: &[Compared], field: &str) -> bool {
    field == "panic"
        || schema.iter().any(|c| match *c {
            Compared::List { key, fields, .. } => {
                field == key
                    || field
                        .strip_prefix(key)
                        .and_then(|r| r.strip_prefix('['))
                        .and_then(|r| r.split_once("]."))
                        .is_some_and(|(i, f)| i.parse::<usize>().is_ok() && fields.contains(&f))
            }
            Compared::Object { key, fields } => {
                field == key
                    || field
                        .strip_prefix(key)
                        .and_then(|r| r.strip_prefix('.'))
                        .is_some_and(|f| fields.contains(&f))
            }
            Compared::Whole { key } => field == key,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(url: &str, complete: bool) -> Value {
        json!({
            "method": "GET", "url": url, "httpVersion": "1.1", "headers": {"host": "a"},
            "rawHeaders": ["Host", "a"], "body_b64": "", "trailers": null,
            "rawTrailers": null, "complete": complete, "emitted": true,
            "aborted": false, "error": null, "response_status": 200,
        })
    }

    fn line(requests: Vec<Value>, error: Option<&str>, response: &[u8]) -> Value {
        json!({
            "requests": requests,
            "client_error": error.map(|c| json!({"code": c, "reason": "r", "bytesParsed": 3})),
            "client_errors": [],
            "upgrades": [],
            "response_b64": B64.encode(response),
            "events": ["connection"],
        })
    }

    #[test]
    fn equal_lines_agree_whatever_the_diagnostics() {
        let node = line(vec![request("/", true)], None, b"HTTP/1.1 200 OK\r\n\r\n");
        let mut ours = reduce(SERVER, &node);
        ours["events"] = json!([]);
        assert_eq!(
            compare(SERVER, &reduce(SERVER, &ours), &reduce(SERVER, &node)),
            []
        );
    }

    #[test]
    fn differences_are_named_field_by_field() {
        let node = reduce(
            SERVER,
            &line(
                vec![request("/a", true), request("/b", true)],
                None,
                b"HTTP/1.1 200 OK\r\n",
            ),
        );
        let ours = reduce(
            SERVER,
            &line(
                vec![request("/a", false)],
                Some("HPE_X"),
                b"HTTP/1.1 400 Bad\r\n",
            ),
        );
        let d = compare(SERVER, &ours, &node);
        let fields: Vec<&str> = d.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "requests",
                "requests[0].complete",
                "client_error",
                "response_b64"
            ]
        );
        assert_eq!(d[0].ours, "1 [GET \"/a\"]");
        assert_eq!(d[0].node, "2 [GET \"/a\", GET \"/b\"]");
        assert_eq!(d[2].ours, r#"{"code":"HPE_X","reason":"r"}"#);
        assert_eq!(d[2].node, "null");
        assert_eq!(d[3].ours, r#""HTTP/1.1 400 Bad\r\n""#);
    }

    #[test]
    fn null_trailers_equal_only_null() {
        let mut node = line(vec![request("/", false)], None, b"");
        let ours = reduce(SERVER, &node);
        node["requests"][0]["trailers"] = json!({});
        let d = compare(SERVER, &ours, &reduce(SERVER, &node));
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].field.as_str(), d[0].ours.as_str()),
            ("requests[0].trailers", "null")
        );
    }

    #[test]
    fn a_panic_and_missing_fields_are_differences() {
        let node = reduce(SERVER, &line(vec![], None, b""));
        let ours = reduce(SERVER, &json!({"panic": "boom"}));
        let fields: Vec<String> = compare(SERVER, &ours, &node)
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, ["panic", "requests", "upgrades", "response_b64"]);
    }

    #[test]
    fn field_names_are_checked() {
        for ok in [
            "requests",
            "requests[3].rawTrailers",
            "upgrades[0].head_b64",
            "client_error.code",
        ] {
            assert!(is_field(SERVER, ok), "{ok}");
        }
        for bad in [
            "request",
            "requests[x].url",
            "requests[0].head_b64",
            "client_error.bytesParsed",
        ] {
            assert!(!is_field(SERVER, bad), "{bad}");
        }
    }

    fn client_line(status: u16, error: Option<&str>) -> Value {
        json!({
            "response": {
                "statusCode": status, "statusMessage": "OK", "httpVersion": "1.1",
                "headers": {}, "rawHeaders": [], "body_b64": "aGk=", "trailers": {},
                "rawTrailers": [], "complete": true, "aborted": false,
            },
            "information": [],
            "upgrade": null,
            "error": error.map(|c| json!({"code": c, "reason": "r", "message": "m", "bytesParsed": 9})),
            "response_error": null,
            "request_b64": "R0VU",
            "timed_out": false,
            "events": ["response"],
        })
    }

    #[test]
    fn client_answers_compare_error_codes_only() {
        let node = reduce(CLIENT, &client_line(200, Some("HPE_X")));
        assert_eq!(node["error"], json!({"code": "HPE_X"}));
        assert!(node.get("events").is_none() && node.get("timed_out").is_none());
        let mut other = client_line(200, Some("HPE_X"));
        other["error"]["bytesParsed"] = json!(1);
        other["error"]["message"] = json!("other");
        assert_eq!(compare(CLIENT, &reduce(CLIENT, &other), &node), []);
        let ours = reduce(CLIENT, &client_line(204, None));
        let fields: Vec<String> = compare(CLIENT, &ours, &node)
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, ["response.statusCode", "error"]);
    }

    #[test]
    fn interim_responses_are_summarised_by_status() {
        let node = json!({"information": [
            {"statusCode": 100, "statusMessage": "Continue"},
            {"statusCode": 103, "statusMessage": "Early Hints"},
        ]});
        let d = compare(CLIENT, &reduce(CLIENT, &json!({})), &reduce(CLIENT, &node));
        assert_eq!(d[0].field, "information");
        assert_eq!(d[0].ours, "null");
        assert_eq!(d[0].node, "2 [100 \"Continue\", 103 \"Early Hints\"]");
    }

    #[test]
    fn client_field_names_are_checked() {
        for ok in [
            "response",
            "response.body_b64",
            "information",
            "information[1].rawHeaders",
            "upgrade.head_b64",
            "error.code",
            "response_error",
            "request_b64",
            "panic",
        ] {
            assert!(is_field(CLIENT, ok), "{ok}");
        }
        for bad in [
            "error.reason",
            "response.events",
            "information.statusCode",
            "requests",
            "response_b64",
            "timed_out",
        ] {
            assert!(!is_field(CLIENT, bad), "{bad}");
        }
    }
}
