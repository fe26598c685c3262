//! Runs one case through courier's client connection machine, the way
//! `node-oracle.js client` runs it through Node's `http.request()`, and shapes
//! the result like the oracle's output line.

use std::time::Instant;

use courier_proto::ResponseHead;
use courier_proto::headers::latin1;
use courier_proto::testing::{ClientCase, ClientOracleRun, run_client_oracle_case};
use serde_json::{Map, Value, json};

use super::engine::{b64, json_map, raw, upgrade_object, version, view};
use super::options::ClientProbeOptions;

/// One client case through courier's client machine, as `node-oracle.js client` runs it.
pub(crate) fn run_case(input: &[u8], method: &str, path: &str, opts: &ClientProbeOptions) -> Value {
    let case = ClientCase {
        method: method.to_owned(),
        path: path.to_owned(),
        insecure: opts.insecure,
        max_header_size: opts.max_header_size,
        upgrade: opts.upgrade,
        eof: opts.eof,
    };
    to_json(&run_client_oracle_case(input, &case, Instant::now()))
}

/// The fields the oracle reports for every response head.
fn head_fields(head: &ResponseHead) -> Map<String, Value> {
    json_map(json!({
        "statusCode": head.status,
        "statusMessage": latin1(&head.reason),
        "httpVersion": version(head.version),
        "headers": view(&head.headers),
        "rawHeaders": raw(&head.headers),
    }))
}

fn to_json(run: &ClientOracleRun) -> Value {
    let response = run.response.as_ref().map(|r| {
        let mut m = head_fields(&r.head);
        m.extend(json_map(json!({
            "body_b64": b64(&r.body),
            "trailers": r.trailers.as_ref().map(view),
            "rawTrailers": r.trailers.as_ref().map(raw),
            "complete": r.complete,
            "aborted": r.aborted,
        })));
        Value::Object(m)
    });
    let upgrade = run
        .upgrade
        .as_ref()
        .map(|u| upgrade_object(head_fields(&u.head), u.connect, &u.leftover));
    let information: Vec<Value> = run
        .information
        .iter()
        .map(|h| Value::Object(head_fields(h)))
        .collect();
    let error = |e: &courier_proto::client::ClientError| json!({"code": e.code(), "message": e.to_string()});
    json!({
        "response": response,
        "information": information,
        "upgrade": upgrade,
        "error": run.error.as_ref().map(error),
        "response_error": run.response_error.as_ref().map(error),
        "request_b64": b64(&run.request),
    })
}
