//! `--record`: runs the corpus through real Node (`node-oracle.js`) and reduces
//! what Node did to an [`Outcome`] per case.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::corpus::{Case, Side};
use super::outcome::{Category, ErrorInfo, Message, Outcome, Role, StartLine, latin1_bytes};

/// The oracle arguments for a case: the mode; `--upgrade` so that upgrade and
/// CONNECT hand-overs are observed (Node's `head`), not served as ordinary
/// requests or dropped; on the server `--no-require-host`, because the 400 Node
/// sends for a missing Host closes the connection before the parser sees EOF,
/// which is not parser behaviour; `--insecure` for lenient cases.
pub(crate) fn oracle_args(case: &Case) -> Vec<&'static str> {
    let mut a = vec![
        match case.side {
            Side::Server => "server",
            Side::Client => "client",
        },
        "--upgrade",
    ];
    if case.side == Side::Server {
        a.push("--no-require-host");
    }
    if case.insecure() {
        a.push("--insecure");
    }
    a
}

/// `node-oracle.js` in the shared tools folder; an error when it is missing.
pub(crate) fn oracle_script(shared: &Path) -> crate::Result<PathBuf> {
    let oracle = shared.join("tools").join("node-oracle.js");
    if oracle.is_file() {
        Ok(oracle)
    } else {
        Err(format!("oracle not found at {}", oracle.display()))
    }
}

/// Runs every case through Node and returns one outcome per case, in order.
pub(crate) fn record(shared: &Path, cases: &[&Case]) -> crate::Result<Vec<Outcome>> {
    let oracle = oracle_script(shared)?;
    // One oracle run per distinct argument list; results go back in corpus order.
    let mut groups: Vec<(Vec<&'static str>, Vec<usize>)> = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let args = oracle_args(c);
        match groups.iter_mut().find(|(a, _)| *a == args) {
            Some((_, idx)) => idx.push(i),
            None => groups.push((args, vec![i])),
        }
    }
    let mut out: Vec<Option<Outcome>> = vec![None; cases.len()];
    for (args, idx) in &groups {
        eprintln!("node {} ({} cases)", args.join(" "), idx.len());
        let lines: Vec<Value> = idx
            .iter()
            .map(|&i| {
                let c = cases[i];
                let mut l = json!({ "id": c.id, "input_b64": B64.encode(&c.input) });
                if c.side == Side::Client {
                    l["method"] = json!(c.method);
                }
                l
            })
            .collect();
        let results = run_oracle(&oracle, args, &lines)?;
        for (&i, r) in idx.iter().zip(&results) {
            let c = cases[i];
            let o = match c.side {
                Side::Server => reduce_server(r),
                Side::Client => reduce_client(r),
            }
            .map_err(|e| format!("{}: {e}", c.id))?;
            out[i] = Some(o);
        }
    }
    Ok(out
        .into_iter()
        .map(|o| o.expect("every case was run"))
        .collect())
}

/// Runs `node-oracle.js ARGS` once over `lines` (each `{"id", "input_b64", ...}`)
/// and returns one answer per line, in order. An answer for another id, an
/// `oracle_error` or a timed-out case is an error: a recording must be complete
/// and must not depend on timing.
pub(crate) fn run_oracle(
    oracle: &Path,
    args: &[&str],
    lines: &[Value],
) -> crate::Result<Vec<Value>> {
    let mut input = String::new();
    for l in lines {
        input += &l.to_string();
        input.push('\n');
    }
    let mut child = Command::new("node")
        .arg(oracle)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start `node` (Node v20 is needed for --record): {e}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut text = String::new();
    child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut text)
        .map_err(|e| format!("reading the oracle's output: {e}"))?;
    writer
        .join()
        .map_err(|_| "stdin writer panicked".to_owned())?
        .map_err(|e| format!("writing to the oracle: {e}"))?;
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!(
            "node-oracle.js {} exited with {status}",
            args.join(" ")
        ));
    }
    let results: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("oracle output is not JSON lines: {e}"))?;
    if results.len() != lines.len() {
        return Err(format!(
            "the oracle gave {} answers for {} cases",
            results.len(),
            lines.len()
        ));
    }
    for (line, r) in lines.iter().zip(&results) {
        let id = line.get("id").unwrap_or(&Value::Null);
        if r.get("id") != Some(id) {
            return Err(format!("oracle answered out of order at {id}"));
        }
        if let Some(e) = r.get("oracle_error") {
            return Err(format!("{id}: oracle error {e}"));
        }
        if r.get("timed_out").and_then(Value::as_bool) == Some(true) {
            return Err(format!(
                "{id}: the oracle timed out; re-run or raise --timeout"
            ));
        }
    }
    Ok(results)
}

/// One fixture line: `id` first for readability, then the fields of each object
/// in `parts`, part by part, each in serde_json's sorted key order.
pub(crate) fn line_with_id(id: &str, parts: &[&Value]) -> String {
    let mut line = format!("{{\"id\":{}", json!(id));
    for p in parts {
        let text = p.to_string();
        let inner = &text[1..text.len() - 1];
        if !inner.is_empty() {
            line.push(',');
            line.push_str(inner);
        }
    }
    line.push('}');
    line
}

fn str_of<'a>(v: &'a Value, k: &str) -> crate::Result<&'a str> {
    v.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("oracle record without `{k}`"))
}

fn fields(v: Option<&Value>) -> crate::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let Some(Value::Array(a)) = v else {
        return Ok(Vec::new());
    };
    a.chunks(2)
        .map(|p| match p {
            [n, v] => Ok((
                latin1_bytes(n.as_str().ok_or("raw header not a string")?)?,
                latin1_bytes(v.as_str().ok_or("raw header not a string")?)?,
            )),
            _ => Err("odd raw header list".to_owned()),
        })
        .collect()
}

fn body(v: &Value) -> crate::Result<Vec<u8>> {
    match v.get("body_b64").and_then(Value::as_str) {
        Some(b) => B64.decode(b).map_err(|e| format!("bad body_b64: {e}")),
        None => Ok(Vec::new()),
    }
}

fn hpe_error(e: &Value) -> Option<ErrorInfo> {
    let code = e.get("code").and_then(Value::as_str)?;
    code.starts_with("HPE_")
        .then(|| ErrorInfo::from_json(e, "bytesParsed"))
}

fn request_message(r: &Value, role: Role) -> crate::Result<Message> {
    Ok(Message {
        start: StartLine::Request {
            method: str_of(r, "method")?.to_owned(),
            url: latin1_bytes(str_of(r, "url")?)?,
        },
        version: str_of(r, "httpVersion")?.to_owned(),
        headers: fields(r.get("rawHeaders"))?,
        body: if role == Role::Upgrade {
            Vec::new()
        } else {
            body(r)?
        },
        trailers: fields(r.get("rawTrailers"))?,
        complete: r.get("complete").and_then(Value::as_bool) == Some(true),
        role,
    })
}

fn response_message(r: &Value, role: Role) -> crate::Result<Message> {
    Ok(Message {
        start: StartLine::Response {
            status: r
                .get("statusCode")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .ok_or("response without statusCode")?,
            reason: latin1_bytes(str_of(r, "statusMessage")?)?,
        },
        version: str_of(r, "httpVersion")?.to_owned(),
        headers: fields(r.get("rawHeaders"))?,
        body: if role == Role::Ordinary {
            body(r)?
        } else {
            Vec::new()
        },
        trailers: fields(r.get("rawTrailers"))?,
        // An interim response has no body and is complete with its head.
        complete: role == Role::Informational
            || r.get("complete").and_then(Value::as_bool) == Some(true),
        role,
    })
}

/// Server side: the first `HPE_*` client error decides, then upgrades, then
/// whether every parsed request completed.
///
/// Node-level effects that are not parser behaviour are noted, not folded in.
fn reduce_server(r: &Value) -> crate::Result<Outcome> {
    let errors: Vec<ErrorInfo> = r
        .get("client_errors")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(hpe_error).collect())
        .unwrap_or_default();
    let requests = r
        .get("requests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let upgrades = r
        .get("upgrades")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut notes = Vec::new();
    let mut messages = Vec::new();
    for q in &requests {
        // Recorded with `--no-require-host`; say where Node's default would have
        // answered 400 and closed (which also hides EOF from the parser).
        let no_host = q.get("headers").and_then(|h| h.get("host")).is_none();
        if no_host && q.get("httpVersion").and_then(Value::as_str) == Some("1.1") {
            notes.push(format!(
                "missing-host-400 by default (request #{})",
                messages.len()
            ));
        }
        messages.push(request_message(q, Role::Ordinary)?);
    }
    let mut upgrade_head = None;
    for u in &upgrades {
        notes.push(format!(
            "{} listener (request #{})",
            str_of(u, "event")?,
            messages.len()
        ));
        messages.push(request_message(u, Role::Upgrade)?);
        upgrade_head = Some(
            B64.decode(str_of(u, "head_b64")?)
                .map_err(|e| e.to_string())?,
        );
    }
    let error = errors.first().cloned();
    let category = Category::of(error.as_ref(), upgrade_head.is_some(), &messages);
    Ok(Outcome {
        category,
        error,
        messages,
        upgrade_head,
        notes,
    })
}

/// Client side: Node reports 1xx responses, then one final response (or an
/// upgrade). A parse error on the request decides; otherwise the final response
/// decides. An EOF before the final response ended is `incomplete` (Node's
/// client ignores the parser's EOF verdict: "socket hang up" or an aborted body).
fn reduce_client(r: &Value) -> crate::Result<Outcome> {
    let mut messages = Vec::new();
    let mut notes = Vec::new();
    for i in r
        .get("information")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        messages.push(response_message(i, Role::Informational)?);
    }
    let response = r.get("response").filter(|v| !v.is_null());
    let upgrade = r.get("upgrade").filter(|v| !v.is_null());
    let mut final_complete = false;
    if let Some(res) = response {
        let m = response_message(res, Role::Ordinary)?;
        final_complete = m.complete;
        messages.push(m);
    }
    let mut upgrade_head = None;
    if let Some(u) = upgrade {
        notes.push(format!("{} listener", str_of(u, "event")?));
        messages.push(response_message(u, Role::Upgrade)?);
        upgrade_head = Some(
            B64.decode(str_of(u, "head_b64")?)
                .map_err(|e| e.to_string())?,
        );
    }
    let raw_error = r.get("error").filter(|v| !v.is_null());
    let error = raw_error.and_then(hpe_error);
    if let (None, Some(e)) = (&error, raw_error) {
        notes.push(format!(
            "request error {} {}",
            e.get("code").and_then(Value::as_str).unwrap_or("?"),
            e.get("message").and_then(Value::as_str).unwrap_or("")
        ));
    }
    if let Some(e) = r.get("response_error").filter(|v| !v.is_null()) {
        notes.push(format!(
            "response error {}",
            e.get("message").and_then(Value::as_str).unwrap_or("?")
        ));
    }
    let category = match &error {
        Some(e) if e.code == "HPE_INVALID_EOF_STATE" => Category::Incomplete,
        Some(_) => Category::Reject,
        None if upgrade_head.is_some() => Category::Upgrade,
        None if final_complete => Category::Complete,
        None => Category::Incomplete,
    };
    Ok(Outcome {
        category,
        error,
        messages,
        upgrade_head,
        notes,
    })
}
