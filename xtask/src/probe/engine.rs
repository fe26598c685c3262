//! Runs one case through a fresh in-memory server connection, the way
//! `node-oracle.js server` runs it through Node, and shapes the result like the
//! oracle's output line.

use std::time::Instant;

use base64::Engine as _;
use courier_proto::headers::latin1;
use courier_proto::server::{Dispatch, Listeners, ServerConfig};
use courier_proto::testing::{OracleRun, run_oracle_case};
use courier_proto::{Headers, NodeValue, ParserConfig};
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

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn raw(h: &Headers) -> Value {
    Value::Array(
        h.iter()
            .flat_map(|(n, v)| [json!(latin1(n)), json!(latin1(v))])
            .collect(),
    )
}

fn view(h: &Headers) -> Value {
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

fn version(v: courier_proto::Version) -> String {
    format!("{}.{}", v.major, v.minor)
}

fn to_json(run: &OracleRun) -> Value {
    let requests: Vec<Value> = run
        .requests
        .iter()
        .map(|r| {
            json!({
                "method": r.head.method.as_str(),
                "url": latin1(&r.head.url),
                "httpVersion": version(r.head.version),
                "headers": view(&r.head.headers),
                "rawHeaders": raw(&r.head.headers),
                "body_b64": b64(&r.body),
                "trailers": r.trailers.as_ref().map(view),
                "rawTrailers": r.trailers.as_ref().map(raw),
                "complete": r.complete,
                "emitted": r.dispatch == Dispatch::Request,
                "aborted": r.aborted,
                "response_status": r.response_status,
            })
        })
        .collect();
    let upgrades: Vec<Value> = run
        .upgrades
        .iter()
        .map(|u| {
            json!({
                "event": if u.connect { "connect" } else { "upgrade" },
                "method": u.head.method.as_str(),
                "url": latin1(&u.head.url),
                "httpVersion": version(u.head.version),
                "headers": view(&u.head.headers),
                "rawHeaders": raw(&u.head.headers),
                "head_b64": b64(&u.leftover),
            })
        })
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
