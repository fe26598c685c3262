//! Runs one case through a fresh in-memory server connection, the way
//! `node-oracle.js server` runs it through Node, and shapes the result like the
//! oracle's output line.

use std::time::Instant;

use base64::Engine as _;
use courier_proto::headers::latin1;
use courier_proto::server::{Dispatch, Listeners, ServerConfig};
use courier_proto::testing::{OracleRun, run_oracle_case};
use courier_proto::{Headers, NodeValue, ParserConfig, RequestHead};
use serde_json::{Map, Value, json};

/// Options shared with `node-oracle.js server`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProbeOptions {
    /// `--insecure`: `insecureHTTPParser: true`.
    pub(crate) insecure: bool,
    /// `--max-header-size N`.
    pub(crate) max_header_size: Option<usize>,
    /// `--upgrade`: `'upgrade'` and `'connect'` listeners.
    pub(crate) upgrade: bool,
    /// `requireHostHeader` (true unless `--no-require-host`).
    pub(crate) require_host: bool,
}

impl ProbeOptions {
    fn server_config(&self) -> ServerConfig {
        let mut parser = if self.insecure {
            ParserConfig::insecure()
        } else {
            ParserConfig::default()
        };
        if let Some(n) = self.max_header_size {
            parser = parser.with_max_header_size(n);
        }
        ServerConfig {
            parser,
            require_host_header: self.require_host,
            listeners: Listeners {
                upgrade: self.upgrade,
                connect: self.upgrade,
                ..Listeners::default()
            },
            ..ServerConfig::default()
        }
    }
}

/// One case's result, shaped like the oracle's output line (without `id`).
pub(crate) fn run_case(input: &[u8], opts: &ProbeOptions) -> Value {
    let run = run_oracle_case(input, opts.server_config(), Instant::now());
    to_json(&run)
}

pub(super) fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

pub(super) fn raw(h: &Headers) -> Value {
    Value::Array(
        h.iter()
            .flat_map(|(n, v)| [json!(latin1(n)), json!(latin1(v))])
            .collect(),
    )
}

pub(super) fn view(h: &Headers) -> Value {
    let mut m = Map::new();
    for (k, v) in h.node_view(false).iter() {
        let v = match v {
            NodeValue::List(items) => {
                Value::Array(items.iter().map(|b| json!(latin1(b))).collect())
            }
            NodeValue::Single(b) => json!(latin1(b)),
        };
        m.insert(k.to_owned(), v);
    }
    Value::Object(m)
}

pub(super) fn version(v: courier_proto::Version) -> String {
    format!("{}.{}", v.major, v.minor)
}

/// The fields the oracle reports for every request head.
fn head_fields(head: &RequestHead) -> Map<String, Value> {
    json_map(json!({
        "method": head.method.as_str(),
        "url": latin1(head.url()),
        "httpVersion": version(head.version),
        "headers": view(&head.headers),
        "rawHeaders": raw(&head.headers),
    }))
}

pub(super) fn json_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// An `'upgrade'` / `'connect'` record: the head's fields, the event and `head`.
pub(super) fn upgrade_object(mut m: Map<String, Value>, connect: bool, leftover: &[u8]) -> Value {
    m.insert(
        "event".into(),
        json!(if connect { "connect" } else { "upgrade" }),
    );
    m.insert("head_b64".into(), json!(b64(leftover)));
    Value::Object(m)
}

fn to_json(run: &OracleRun) -> Value {
    let requests: Vec<Value> = run
        .requests
        .iter()
        .map(|r| {
            let mut m = head_fields(&r.head);
            m.extend(json_map(json!({
                "body_b64": b64(&r.body),
                "trailers": r.trailers.as_ref().map(view),
                "rawTrailers": r.trailers.as_ref().map(raw),
                "complete": r.complete,
                "emitted": r.dispatch == Dispatch::Request,
                "aborted": r.aborted,
                "response_status": r.response_status,
            })));
            Value::Object(m)
        })
        .collect();
    let upgrades: Vec<Value> = run
        .upgrades
        .iter()
        .map(|u| upgrade_object(head_fields(&u.head), u.connect, &u.leftover))
        .collect();
    let client_error = run
        .client_errors
        .first()
        .map(|e| json!({"code": e.code(), "reason": e.reason()}));
    json!({
        "requests": requests,
        "client_error": client_error,
        "upgrades": upgrades,
        "response_b64": b64(&run.response),
    })
}
