//! The converted llhttp corpus (`../shared/conformance/llhttp/*.jsonl`).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;

use super::outcome::{Category, ErrorInfo};

/// Which side of a connection a case is fed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// A server parsing requests (request cases and the derived URL cases).
    Server,
    /// A client parsing the response to its request.
    Client,
}

/// One corpus case, with the bytes we feed and how we feed them.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    /// The corpus id, e.g. `request/content-length.md#funky-content-length-with-body`.
    pub(crate) id: String,
    /// The corpus title of the case, e.g. `Funky Content-Length with body`.
    pub(crate) title: String,
    /// The corpus file stem, e.g. `request-content-length`.
    pub(crate) file: String,
    /// `request`, `response` or `url`.
    pub(crate) kind: String,
    /// Server or client.
    pub(crate) side: Side,
    /// The llhttp leniency flags this case turns on (empty = strict).
    pub(crate) lenient: Vec<String>,
    /// The bytes fed to the parser. URL cases are embedded in a request line.
    pub(crate) input: Vec<u8>,
    /// Client side: the method of the request the response answers.
    pub(crate) method: &'static str,
    /// What llhttp 9.4.2 expects, reduced to our categories.
    pub(crate) llhttp: LlhttpExpectation,
}

impl Case {
    /// Lenient cases run with Node's `insecureHTTPParser` (all leniencies at once).
    pub(crate) fn insecure(&self) -> bool {
        !self.lenient.is_empty()
    }

    /// URL cases are derived: the URL sits in `GET <url> HTTP/1.1` plus a Host header.
    pub(crate) fn derived(&self) -> bool {
        self.kind == "url"
    }
}

/// llhttp's own expectation (the corpus `summary`), reduced to a category.
#[derive(Debug, Clone)]
pub(crate) struct LlhttpExpectation {
    /// The category, adjusted for EOF as a client or server would see it.
    pub(crate) category: Category,
    /// The error llhttp reports, if any.
    pub(crate) error: Option<ErrorInfo>,
}

/// Embeds a URL case in a request line, as `llhttp-vs-node.py` does.
pub(crate) fn embed_url(url: &[u8]) -> Vec<u8> {
    let mut v = b"GET ".to_vec();
    v.extend_from_slice(url);
    v.extend_from_slice(b" HTTP/1.1\r\nHost: example.com\r\n\r\n");
    v
}

/// Loads every case of every corpus file, files in name order, cases in file order.
pub(crate) fn load(dir: &Path) -> crate::Result<Vec<Case>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| {
            format!(
                "cannot read the llhttp corpus at {}: {e} (set COURIER_SHARED to the shared folder)",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.jsonl corpus files in {}", dir.display()));
    }
    let mut cases = Vec::new();
    for path in files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("odd file name {}", path.display()))?
            .to_owned();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: Value = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
            let case =
                parse_case(&stem, &v).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
            cases.push(case);
        }
    }
    Ok(cases)
}

fn parse_case(file: &str, v: &Value) -> crate::Result<Case> {
    let s = |k: &str| -> crate::Result<String> {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("missing string field `{k}`"))
    };
    let id = s("id")?;
    let kind = s("kind")?;
    let raw = B64
        .decode(s("input_b64")?)
        .map_err(|e| format!("{id}: bad input_b64: {e}"))?;
    let lenient = v
        .get("lenient")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mode = v.get("mode").cloned().unwrap_or(Value::Null);
    let skip_body = mode.get("skip_body").and_then(Value::as_bool) == Some(true);
    let (side, input) = match kind.as_str() {
        "request" => (Side::Server, raw),
        "response" => (Side::Client, raw),
        "url" => (Side::Server, embed_url(&raw)),
        other => return Err(format!("{id}: unknown kind `{other}`")),
    };
    let llhttp = llhttp_expectation(&kind, &mode, v.get("summary").unwrap_or(&Value::Null))?;
    Ok(Case {
        id,
        title: s("title")?,
        file: file.to_owned(),
        kind,
        side,
        lenient,
        input,
        // llhttp's harness skips the body from `on_headers_complete`; Node's client
        // does that for a response to HEAD.
        method: if skip_body { "HEAD" } else { "GET" },
        llhttp,
    })
}

/// Reduces llhttp's summary to a category, as a peer that sends EOF after the input
/// would see it: a response body delimited by EOF is complete, and so is a `*-finish`
/// case whose finish state is `SAFE`.
fn llhttp_expectation(
    kind: &str,
    mode: &Value,
    summary: &Value,
) -> crate::Result<LlhttpExpectation> {
    let error = summary
        .get("error")
        .filter(|e| e.is_object())
        .map(|e| ErrorInfo::from_json(e, "off"));
    if kind == "url" {
        let category = if error.is_some() {
            Category::Reject
        } else {
            Category::Complete
        };
        return Ok(LlhttpExpectation { category, error });
    }
    let outcome = summary
        .get("outcome")
        .and_then(Value::as_str)
        .ok_or("summary without outcome")?;
    let mut category = match outcome {
        "error" => Category::Reject,
        other => Category::parse(other)?,
    };
    if category == Category::Incomplete && kind == "response" {
        let last = summary
            .get("messages")
            .and_then(Value::as_array)
            .and_then(|m| m.last());
        if let Some(last) = last {
            let flags: Vec<&str> = last
                .get("flags")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let head_done = last.get("headers_complete").and_then(Value::as_bool) == Some(true);
            if head_done && !flags.contains(&"content-length") && !flags.contains(&"chunked") {
                category = Category::Complete;
            }
        }
    }
    let finish_safe = summary.get("finish").and_then(Value::as_str) == Some("SAFE");
    if category == Category::Incomplete
        && mode.get("finish").and_then(Value::as_bool) == Some(true)
        && finish_safe
    {
        category = Category::Complete;
    }
    Ok(LlhttpExpectation { category, error })
}
