//! What a parser (Node's or ours) made of one case, reduced to what we compare.
//!
//! The same structure is filled from a Node fixture line and from a run of
//! `courier_proto::Parser`, so both sides go through one comparison.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    /// Every message was read to its end.
    Complete,
    /// The input (and EOF) stopped inside a message.
    Incomplete,
    /// A parse error.
    Reject,
    /// Parsing stopped at an Upgrade / CONNECT hand-over.
    Upgrade,
    /// The HTTP/2 preface (`HPE_PAUSED_H2_UPGRADE`).
    H2Preface,
    /// Nothing was parsed.
    Empty,
}

impl Category {
    /// The name used in fixtures and tables.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Incomplete => "incomplete",
            Self::Reject => "reject",
            Self::Upgrade => "upgrade",
            Self::H2Preface => "h2-preface",
            Self::Empty => "empty",
        }
    }

    /// Parses [`Category::as_str`] back.
    pub(crate) fn parse(s: &str) -> crate::Result<Self> {
        Ok(match s {
            "complete" => Self::Complete,
            "incomplete" => Self::Incomplete,
            "reject" => Self::Reject,
            "upgrade" => Self::Upgrade,
            "h2-preface" => Self::H2Preface,
            "empty" => Self::Empty,
            other => return Err(format!("unknown category `{other}`")),
        })
    }

    /// How a server-side run ended, from the error that ended it (if any), whether
    /// an upgrade took the rest of the input, and the messages whose head was parsed.
    ///
    /// The same rule reduces Node's recording and our run. The client sides keep
    /// their own rules: Node's client never looks at the parser's verdict on EOF.
    pub(crate) fn of(error: Option<&ErrorInfo>, upgraded: bool, messages: &[Message]) -> Self {
        match error {
            Some(e) if e.code == "HPE_PAUSED_H2_UPGRADE" => Self::H2Preface,
            Some(e) if e.code == "HPE_INVALID_EOF_STATE" => Self::Incomplete,
            Some(_) => Self::Reject,
            None if upgraded => Self::Upgrade,
            None if messages.is_empty() => Self::Empty,
            None if messages.iter().all(|m| m.complete) => Self::Complete,
            None => Self::Incomplete,
        }
    }
}

/// A parse error: Node's `code`, `reason` and `bytesParsed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorInfo {
    /// `HPE_*`.
    pub(crate) code: String,
    /// The reason text.
    pub(crate) reason: String,
    /// Byte offset of the error in the input (Node: `bytesParsed` of the one write).
    pub(crate) offset: Option<u64>,
}

impl ErrorInfo {
    /// Reads an error object with `code` and `reason` strings (empty when absent)
    /// and the byte offset under `offset_key` (`bytesParsed` in Node fixtures,
    /// `off` in llhttp summaries).
    pub(crate) fn from_json(e: &Value, offset_key: &str) -> Self {
        let text = |k: &str| {
            e.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Self {
            code: text("code"),
            reason: text("reason"),
            offset: e.get(offset_key).and_then(Value::as_u64),
        }
    }
}

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StartLine {
    /// A request line.
    Request {
        /// The method.
        method: String,
        /// The request-target bytes (Node's `url`, one char per byte).
        url: Vec<u8>,
    },
    /// A status line.
    Response {
        /// The status code.
        status: u16,
        /// The reason phrase bytes (Node's `statusMessage`).
        reason: Vec<u8>,
    },
}

/// What kind of message this is for the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// An ordinary request or final response.
    Ordinary,
    /// A 1xx interim response (Node's `'information'`).
    Informational,
    /// The head that switched protocols (Node's `'upgrade'` / `'connect'`).
    Upgrade,
}

/// One field line, bytes as on the wire (values trimmed as Node does).
pub(crate) type Field = (Vec<u8>, Vec<u8>);

/// One parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// Request or status line.
    pub(crate) start: StartLine,
    /// `httpVersion`, e.g. `"1.1"`.
    pub(crate) version: String,
    /// `rawHeaders` as pairs.
    pub(crate) headers: Vec<Field>,
    /// The de-chunked body.
    pub(crate) body: Vec<u8>,
    /// `rawTrailers` as pairs.
    pub(crate) trailers: Vec<Field>,
    /// The message was read to its end.
    pub(crate) complete: bool,
    /// Ordinary, interim or upgrade.
    pub(crate) role: Role,
}

/// The reduced result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// How it ended.
    pub(crate) category: Category,
    /// The parse error that ended it, if any.
    pub(crate) error: Option<ErrorInfo>,
    /// Every message whose head was parsed, in order.
    pub(crate) messages: Vec<Message>,
    /// On upgrade: the bytes after the head (Node's `head`).
    pub(crate) upgrade_head: Option<Vec<u8>>,
    /// Node-level effects seen while recording that are not parser behaviour
    /// (e.g. `missing-host-400`); informational only.
    pub(crate) notes: Vec<String>,
}

/// Node strings are one char per byte (latin-1); turns one back into bytes.
pub(crate) fn latin1_bytes(s: &str) -> crate::Result<Vec<u8>> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).map_err(|_| format!("non-latin-1 char {c:?} in {s:?}")))
        .collect()
}

/// Bytes to a one-char-per-byte string, as Node builds its strings.
pub(crate) fn latin1_string(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

/// Printable form of bytes for reports.
pub(crate) fn show(b: &[u8]) -> String {
    format!("\"{}\"", b.escape_ascii())
}

fn show_fields(f: &[Field]) -> String {
    let parts: Vec<String> = f
        .iter()
        .map(|(n, v)| format!("{}: {}", n.escape_ascii(), show(v)))
        .collect();
    format!("[{}]", parts.join(", "))
}

fn fields_to_json(f: &[Field]) -> Value {
    Value::Array(
        f.iter()
            .flat_map(|(n, v)| [latin1_string(n), latin1_string(v)])
            .map(Value::String)
            .collect(),
    )
}

fn fields_from_json(v: Option<&Value>) -> crate::Result<Vec<Field>> {
    let Some(Value::Array(a)) = v else {
        return Ok(Vec::new());
    };
    if a.len() % 2 != 0 {
        return Err("odd-length raw header list".into());
    }
    a.chunks(2)
        .map(|p| {
            let s = |x: &Value| -> crate::Result<Vec<u8>> {
                latin1_bytes(x.as_str().ok_or("raw header entry is not a string")?)
            };
            Ok((s(&p[0])?, s(&p[1])?))
        })
        .collect()
}

impl Message {
    /// The fixture form (field names follow Node's IncomingMessage).
    pub(crate) fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        match &self.start {
            StartLine::Request { method, url } => {
                m.insert("method".into(), json!(method));
                m.insert("url".into(), json!(latin1_string(url)));
            }
            StartLine::Response { status, reason } => {
                m.insert("statusCode".into(), json!(status));
                m.insert("statusMessage".into(), json!(latin1_string(reason)));
            }
        }
        m.insert("httpVersion".into(), json!(self.version));
        m.insert("rawHeaders".into(), fields_to_json(&self.headers));
        let role = match self.role {
            Role::Ordinary => "message",
            Role::Informational => "information",
            Role::Upgrade => "upgrade",
        };
        m.insert("role".into(), json!(role));
        if self.role != Role::Upgrade {
            m.insert("body_b64".into(), json!(B64.encode(&self.body)));
            m.insert("rawTrailers".into(), fields_to_json(&self.trailers));
            m.insert("complete".into(), json!(self.complete));
        }
        Value::Object(m)
    }

    /// Reads [`Message::to_json`] back.
    pub(crate) fn from_json(v: &Value) -> crate::Result<Self> {
        let text = |k: &str| -> crate::Result<&str> {
            v.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("message without `{k}`"))
        };
        let start = if v.get("method").is_some() {
            StartLine::Request {
                method: text("method")?.to_owned(),
                url: latin1_bytes(text("url")?)?,
            }
        } else {
            StartLine::Response {
                status: v
                    .get("statusCode")
                    .and_then(Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok())
                    .ok_or("message without statusCode")?,
                reason: latin1_bytes(text("statusMessage")?)?,
            }
        };
        let role = match v.get("role").and_then(Value::as_str) {
            Some("information") => Role::Informational,
            Some("upgrade") => Role::Upgrade,
            _ => Role::Ordinary,
        };
        let body = match v.get("body_b64").and_then(Value::as_str) {
            Some(b) => B64.decode(b).map_err(|e| format!("bad body_b64: {e}"))?,
            None => Vec::new(),
        };
        Ok(Self {
            start,
            version: text("httpVersion")?.to_owned(),
            headers: fields_from_json(v.get("rawHeaders"))?,
            body,
            trailers: fields_from_json(v.get("rawTrailers"))?,
            complete: v.get("complete").and_then(Value::as_bool) == Some(true),
            role,
        })
    }
}

impl Outcome {
    /// The fixture form, without the case identity.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "category": self.category.as_str(),
            "error": self.error.as_ref().map(|e| json!({
                "code": e.code, "reason": e.reason, "bytesParsed": e.offset,
            })),
            "messages": self.messages.iter().map(Message::to_json).collect::<Vec<_>>(),
            "upgrade_head_b64": self.upgrade_head.as_ref().map(|h| B64.encode(h)),
            "notes": self.notes,
        })
    }

    /// Reads [`Outcome::to_json`] back.
    pub(crate) fn from_json(v: &Value) -> crate::Result<Self> {
        let category = Category::parse(
            v.get("category")
                .and_then(Value::as_str)
                .ok_or("fixture line without category")?,
        )?;
        let error = v
            .get("error")
            .filter(|e| e.is_object())
            .map(|e| ErrorInfo::from_json(e, "bytesParsed"));
        let messages = v
            .get("messages")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(Message::from_json)
                    .collect::<crate::Result<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        let upgrade_head = match v.get("upgrade_head_b64").and_then(Value::as_str) {
            Some(h) => Some(
                B64.decode(h)
                    .map_err(|e| format!("bad upgrade_head_b64: {e}"))?,
            ),
            None => None,
        };
        let notes = v
            .get("notes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            category,
            error,
            messages,
            upgrade_head,
            notes,
        })
    }

    /// A multi-line human-readable form for `--case` and `--verbose`.
    pub(crate) fn describe(&self) -> String {
        let mut out = format!("category {}", self.category.as_str());
        if let Some(e) = &self.error {
            out += &format!(
                "; error {} \"{}\" at {}",
                e.code,
                e.reason,
                e.offset.map_or("?".to_owned(), |o| o.to_string())
            );
        }
        for (i, m) in self.messages.iter().enumerate() {
            let start = match &m.start {
                StartLine::Request { method, url } => format!("{method} {}", show(url)),
                StartLine::Response { status, reason } => format!("{status} {}", show(reason)),
            };
            out += &format!(
                "\n    #{i} {:?} {start} HTTP/{} headers {}",
                m.role,
                m.version,
                show_fields(&m.headers)
            );
            if m.role != Role::Upgrade {
                out += &format!(
                    " body {} trailers {} complete {}",
                    show(&m.body),
                    show_fields(&m.trailers),
                    m.complete
                );
            }
        }
        if let Some(h) = &self.upgrade_head {
            out += &format!("\n    upgrade head {}", show(h));
        }
        if !self.notes.is_empty() {
            out += &format!("\n    notes: {}", self.notes.join(", "));
        }
        out
    }
}

/// The result of comparing Node's outcome with ours.
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    /// Behavioural differences (empty = agree).
    pub(crate) diffs: Vec<String>,
    /// Both rejected with the same code but at different offsets: `(node, proto)`.
    /// Reported in its own column; not a behavioural difference.
    pub(crate) offset_mismatch: Option<(Option<u64>, Option<u64>)>,
}

impl Comparison {
    /// No behavioural difference.
    pub(crate) fn agrees(&self) -> bool {
        self.diffs.is_empty()
    }
}

fn diff<T: PartialEq>(
    out: &mut Vec<String>,
    what: &str,
    node: T,
    proto: T,
    show: impl Fn(&T) -> String,
) {
    if node != proto {
        out.push(format!(
            "{what}:\n      - node  {}\n      + proto {}",
            show(&node),
            show(&proto)
        ));
    }
}

/// Compares Node's outcome (`node`) with ours (`proto`).
///
/// * the category must match;
/// * a rejection (or the h2 preface) must carry the same code and reason; the
///   offset is compared separately ([`Comparison::offset_mismatch`]);
/// * every message whose head was parsed must match: start line, version, raw
///   headers, role; for messages Node read to their end, also body, trailers and
///   completeness; for the others only that we did not complete them either;
/// * on upgrade, the bytes handed over must match.
pub(crate) fn compare(node: &Outcome, proto: &Outcome) -> Comparison {
    let mut c = Comparison::default();
    let d = &mut c.diffs;
    diff(d, "category", node.category, proto.category, |x| {
        x.as_str().to_owned()
    });
    if matches!(node.category, Category::Reject | Category::H2Preface)
        && node.category == proto.category
    {
        let code = |o: &Outcome| o.error.as_ref().map(|e| (e.code.clone(), e.reason.clone()));
        diff(d, "error", code(node), code(proto), |x| match x {
            Some((c, r)) => format!("{c} \"{r}\""),
            None => "none".into(),
        });
        let off = |o: &Outcome| o.error.as_ref().and_then(|e| e.offset);
        if code(node) == code(proto) && off(node) != off(proto) {
            c.offset_mismatch = Some((off(node), off(proto)));
        }
    } else if node.category != proto.category && node.error != proto.error {
        // Say why, so the category line alone tells the story.
        let err = |o: &Outcome| {
            o.error.as_ref().map_or("no error".to_owned(), |e| {
                format!("{} \"{}\"", e.code, e.reason)
            })
        };
        c.diffs.push(format!(
            "errors:\n      - node  {}\n      + proto {}",
            err(node),
            err(proto)
        ));
    }
    let d = &mut c.diffs;
    diff(
        d,
        "messages with a parsed head",
        node.messages.len(),
        proto.messages.len(),
        |n| n.to_string(),
    );
    for (i, (n, p)) in node.messages.iter().zip(&proto.messages).enumerate() {
        let start = |s: &StartLine| match s {
            StartLine::Request { method, url } => format!("{method} {}", show(url)),
            StartLine::Response { status, reason } => format!("{status} {}", show(reason)),
        };
        diff(d, &format!("#{i} start line"), &n.start, &p.start, |s| {
            start(s)
        });
        diff(d, &format!("#{i} role"), n.role, p.role, |r| {
            format!("{r:?}")
        });
        diff(
            d,
            &format!("#{i} httpVersion"),
            &n.version,
            &p.version,
            |v| (*v).clone(),
        );
        diff(
            d,
            &format!("#{i} rawHeaders"),
            &n.headers,
            &p.headers,
            |h| show_fields(h),
        );
        if n.role == Role::Upgrade || p.role == Role::Upgrade {
            continue;
        }
        diff(
            d,
            &format!("#{i} complete"),
            n.complete,
            p.complete,
            bool::to_string,
        );
        if n.complete {
            diff(d, &format!("#{i} body"), &n.body, &p.body, |b| show(b));
            diff(
                d,
                &format!("#{i} rawTrailers"),
                &n.trailers,
                &p.trailers,
                |t| show_fields(t),
            );
        }
    }
    diff(
        d,
        "upgrade head",
        &node.upgrade_head,
        &proto.upgrade_head,
        |h| h.as_ref().map_or("none".to_owned(), |h| show(h)),
    );
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: &[u8], complete: bool) -> Message {
        Message {
            start: StartLine::Request {
                method: "POST".into(),
                url: b"/".to_vec(),
            },
            version: "1.1".into(),
            headers: vec![(b"Host".to_vec(), b"x".to_vec())],
            body: body.to_vec(),
            trailers: Vec::new(),
            complete,
            role: Role::Ordinary,
        }
    }

    fn outcome(category: Category, error: Option<(&str, u64)>, messages: Vec<Message>) -> Outcome {
        Outcome {
            category,
            error: error.map(|(c, o)| ErrorInfo {
                code: c.into(),
                reason: "r".into(),
                offset: Some(o),
            }),
            messages,
            upgrade_head: None,
            notes: vec!["only informational".into()],
        }
    }

    #[test]
    fn identical_outcomes_agree_and_survive_the_fixture_format() {
        let o = outcome(Category::Complete, None, vec![msg(b"\x00\xff", true)]);
        let back = Outcome::from_json(&o.to_json()).unwrap();
        assert_eq!(back, o);
        assert!(compare(&o, &back).agrees());
    }

    #[test]
    fn error_objects_are_read_with_the_offset_key_of_their_source() {
        let e = json!({ "code": "HPE_STRICT", "reason": "r", "off": 3, "bytesParsed": 4 });
        assert_eq!(ErrorInfo::from_json(&e, "off").offset, Some(3));
        let e = ErrorInfo::from_json(&e, "bytesParsed");
        assert_eq!(
            (e.code.as_str(), e.reason.as_str(), e.offset),
            ("HPE_STRICT", "r", Some(4))
        );
        let e = ErrorInfo::from_json(&json!({}), "off");
        assert_eq!(
            (e.code.as_str(), e.reason.as_str(), e.offset),
            ("", "", None)
        );
    }

    #[test]
    fn offsets_are_reported_apart_from_behaviour() {
        let n = outcome(Category::Reject, Some(("HPE_STRICT", 10)), vec![]);
        let p = outcome(Category::Reject, Some(("HPE_STRICT", 11)), vec![]);
        let c = compare(&n, &p);
        assert!(c.agrees());
        assert_eq!(c.offset_mismatch, Some((Some(10), Some(11))));
        let p = outcome(Category::Reject, Some(("HPE_INVALID_METHOD", 10)), vec![]);
        assert!(!compare(&n, &p).agrees());
    }

    #[test]
    fn bodies_count_only_for_messages_node_completed() {
        let n = outcome(Category::Incomplete, None, vec![msg(b"", false)]);
        let p = outcome(Category::Incomplete, None, vec![msg(b"partial", false)]);
        assert!(compare(&n, &p).agrees());
        let n = outcome(Category::Complete, None, vec![msg(b"abc", true)]);
        let p = outcome(Category::Complete, None, vec![msg(b"abd", true)]);
        assert!(!compare(&n, &p).agrees());
        let p = outcome(
            Category::Complete,
            None,
            vec![msg(b"abc", true), msg(b"", true)],
        );
        assert!(!compare(&n, &p).agrees());
    }
}
