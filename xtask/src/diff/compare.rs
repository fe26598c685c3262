//! Field-by-field comparison of one case: our probe line against Node's.
//!
//! Both sides are first reduced to the compared fields ([`reduce`]), so a
//! recording, a live oracle line and a probe line all compare the same way.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use crate::conformance::outcome::show;

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

/// Keeps what is compared: `requests` and `upgrades` (their compared fields),
/// `client_error` (`code` and `reason`, or null), `response_b64`, and `panic`
/// when the probe panicked. A missing field becomes null.
pub(crate) fn reduce(line: &Value) -> Value {
    let pick = |v: &Value, fields: &[&str]| -> Value {
        let m: Map<String, Value> = fields
            .iter()
            .map(|&f| (f.to_owned(), v.get(f).cloned().unwrap_or(Value::Null)))
            .collect();
        Value::Object(m)
    };
    let list = |key: &str, fields: &[&str]| -> Value {
        match line.get(key) {
            Some(Value::Array(a)) => a.iter().map(|v| pick(v, fields)).collect(),
            other => other.cloned().unwrap_or(Value::Null),
        }
    };
    let mut out = json!({
        "requests": list("requests", &REQUEST_FIELDS),
        "client_error": match line.get("client_error") {
            Some(e) if !e.is_null() => pick(e, &["code", "reason"]),
            _ => Value::Null,
        },
        "upgrades": list("upgrades", &UPGRADE_FIELDS),
        "response_b64": line.get("response_b64").cloned().unwrap_or(Value::Null),
    });
    if let Some(p) = line.get("panic") {
        out["panic"] = p.clone();
    }
    out
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

/// Every field where the reduced lines `ours` and `node` differ, in a fixed
/// order: `panic`, `requests`, `client_error`, `upgrades`, `response_b64`.
///
/// Lists are compared entry by entry up to the shorter one; a length
/// difference is one more field (`requests` or `upgrades`).
pub(crate) fn compare(ours: &Value, node: &Value) -> Vec<FieldDiff> {
    let mut d = Vec::new();
    if let Some(p) = ours.get("panic") {
        d.push(FieldDiff {
            field: "panic".into(),
            ours: p.to_string(),
            node: "-".into(),
        });
    }
    list(&mut d, "requests", ours, node, &REQUEST_FIELDS);
    match (&ours["client_error"], &node["client_error"]) {
        (a @ Value::Object(_), b @ Value::Object(_)) => {
            for f in ["code", "reason"] {
                leaf(&mut d, &format!("client_error.{f}"), &a[f], &b[f]);
            }
        }
        (a, b) => leaf(&mut d, "client_error", a, b),
    }
    list(&mut d, "upgrades", ours, node, &UPGRADE_FIELDS);
    leaf(
        &mut d,
        "response_b64",
        &ours["response_b64"],
        &node["response_b64"],
    );
    d
}

fn list(d: &mut Vec<FieldDiff>, key: &str, ours: &Value, node: &Value, fields: &[&str]) {
    let empty = Vec::new();
    let (a, b) = (
        ours[key].as_array().unwrap_or(&empty),
        node[key].as_array().unwrap_or(&empty),
    );
    if a.len() != b.len() || ours[key].is_array() != node[key].is_array() {
        d.push(FieldDiff {
            field: key.to_owned(),
            ours: summary(&ours[key]),
            node: summary(&node[key]),
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

/// `2 [GET /a, POST /b]` for a list of requests or upgrades.
fn summary(v: &Value) -> String {
    let Some(a) = v.as_array() else {
        return v.to_string();
    };
    let items: Vec<String> = a
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("?").to_owned();
            format!("{} {}", s("method"), show(&latin1(&s("url"))))
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

/// Whether `field` is a name [`compare`] can report; used to check the
/// expected-differences list.
pub(crate) fn is_field(field: &str) -> bool {
    let indexed = |key: &str, fields: &[&str]| {
        field
            .strip_prefix(key)
            .and_then(|r| r.strip_prefix('['))
            .and_then(|r| r.split_once("]."))
            .is_some_and(|(i, f)| i.parse::<usize>().is_ok() && fields.contains(&f))
    };
    matches!(
        field,
        "panic"
            | "requests"
            | "upgrades"
            | "client_error"
            | "client_error.code"
            | "client_error.reason"
            | "response_b64"
    ) || indexed("requests", &REQUEST_FIELDS)
        || indexed("upgrades", &UPGRADE_FIELDS)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut ours = reduce(&node);
        ours["events"] = json!([]);
        assert_eq!(compare(&reduce(&ours), &reduce(&node)), []);
    }

    #[test]
    fn differences_are_named_field_by_field() {
        let node = reduce(&line(
            vec![request("/a", true), request("/b", true)],
            None,
            b"HTTP/1.1 200 OK\r\n",
        ));
        let ours = reduce(&line(
            vec![request("/a", false)],
            Some("HPE_X"),
            b"HTTP/1.1 400 Bad\r\n",
        ));
        let d = compare(&ours, &node);
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
        let ours = reduce(&node);
        node["requests"][0]["trailers"] = json!({});
        let d = compare(&ours, &reduce(&node));
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].field.as_str(), d[0].ours.as_str()),
            ("requests[0].trailers", "null")
        );
    }

    #[test]
    fn a_panic_and_missing_fields_are_differences() {
        let node = reduce(&line(vec![], None, b""));
        let ours = reduce(&json!({"panic": "boom"}));
        let fields: Vec<String> = compare(&ours, &node).into_iter().map(|f| f.field).collect();
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
            assert!(is_field(ok), "{ok}");
        }
        for bad in [
            "request",
            "requests[x].url",
            "requests[0].head_b64",
            "client_error.bytesParsed",
        ] {
            assert!(!is_field(bad), "{bad}");
        }
    }
}
