//! Case lines: `{"id", "input_b64" | "input", ...}`, as `node-oracle.js` reads
//! them (`input_b64` wins; `input` is sent as UTF-8). A client case may also set
//! the request's `method` and `path`, which the server mode ignores. Other keys
//! (`note`, `rule`) are for readers; `note` is shown next to a difference.

use std::io::{IsTerminal as _, Read as _};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

/// One case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProbeCase {
    /// Unique within its file.
    pub(crate) id: String,
    /// The bytes sent, in one write, followed by a half-close.
    pub(crate) input: Vec<u8>,
    /// What the case probes, if the file says.
    pub(crate) note: Option<String>,
    /// Client mode: the request method, overriding `--method`.
    pub(crate) method: Option<String>,
    /// Client mode: the request path, overriding `/`.
    pub(crate) path: Option<String>,
}

impl ProbeCase {
    /// The line handed to the oracle.
    pub(crate) fn oracle_line(&self) -> Value {
        let mut line = json!({ "id": self.id, "input_b64": B64.encode(&self.input) });
        self.add_request(&mut line);
        line
    }

    /// Adds the case's `method` and `path`, those it sets, to `obj`.
    pub(crate) fn add_request(&self, obj: &mut Value) {
        for (key, value) in [("method", &self.method), ("path", &self.path)] {
            if let Some(v) = value {
                obj[key] = json!(v);
            }
        }
    }
}

/// Parses JSON lines; `source` names them in errors. Ids must be unique.
pub(crate) fn parse(text: &str, source: &str) -> crate::Result<Vec<ProbeCase>> {
    let mut cases: Vec<ProbeCase> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |e: String| format!("{source}:{}: {e}", n + 1);
        let v: Value = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        let case = parse_line(&v).map_err(at)?;
        if cases.iter().any(|c| c.id == case.id) {
            return Err(at(format!("id `{}` appears twice", case.id)));
        }
        cases.push(case);
    }
    Ok(cases)
}

fn parse_line(v: &Value) -> crate::Result<ProbeCase> {
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .ok_or("a case needs a string `id`")?;
    let input = match (v.get("input_b64"), v.get("input")) {
        (Some(Value::String(b)), _) => B64
            .decode(b)
            .map_err(|e| format!("{id}: bad input_b64: {e}"))?,
        (None, Some(Value::String(s))) => s.as_bytes().to_vec(),
        _ => return Err(format!("{id}: needs a string `input_b64` or `input`")),
    };
    let text = |key: &str| -> crate::Result<Option<String>> {
        match v.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{id}: `{key}` must be a string")),
        }
    };
    Ok(ProbeCase {
        id: id.to_owned(),
        input,
        note: text("note")?,
        method: text("method")?,
        path: text("path")?,
    })
}

/// Reads the cases on standard input (which must not be a terminal).
pub(crate) fn read_stdin() -> crate::Result<Vec<ProbeCase>> {
    if std::io::stdin().is_terminal() {
        return Err("expected JSON-lines cases on stdin (`< cases.jsonl`); see --help".into());
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("reading stdin: {e}"))?;
    parse(&text, "stdin")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_b64_wins_and_input_is_utf8() {
        let c = parse(
            "{\"id\":\"a\",\"input\":\"\\u00e9\",\"note\":\"n\"}\n\n{\"id\":\"b\",\"input_b64\":\"AP8=\",\"input\":\"x\"}\n",
            "t",
        )
        .unwrap();
        assert_eq!(c[0].input, [0xc3, 0xa9]);
        assert_eq!(c[0].note.as_deref(), Some("n"));
        assert_eq!(c[1].input, [0x00, 0xff]);
        assert_eq!(c[1].oracle_line(), json!({"id": "b", "input_b64": "AP8="}));
    }

    #[test]
    fn method_and_path_go_to_the_oracle() {
        let c = parse(
            "{\"id\":\"h\",\"input\":\"\",\"method\":\"HEAD\",\"path\":\"/x\"}",
            "t",
        )
        .unwrap();
        assert_eq!(
            (c[0].method.as_deref(), c[0].path.as_deref()),
            (Some("HEAD"), Some("/x"))
        );
        assert_eq!(
            c[0].oracle_line(),
            json!({"id": "h", "input_b64": "", "method": "HEAD", "path": "/x"})
        );
        assert!(parse("{\"id\":\"h\",\"input\":\"\",\"method\":1}", "t").is_err());
    }

    #[test]
    fn ids_are_required_and_unique() {
        assert!(parse("{\"input\":\"x\"}", "t").unwrap_err().contains("t:1"));
        let twice = "{\"id\":\"a\",\"input\":\"\"}\n{\"id\":\"a\",\"input\":\"\"}";
        assert!(
            parse(twice, "t")
                .unwrap_err()
                .contains("t:2: id `a` appears twice")
        );
        assert!(parse("{\"id\":\"a\"}", "t").is_err());
    }
}
