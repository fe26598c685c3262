//! Runs one case through `courier_proto::Parser` and reduces it to an [`Outcome`]
//! the way Node's server or client would see it.

use courier_proto::{Event, Headers, Parser, ParserConfig, ResponseContext};

use super::corpus::{Case, Side};
use super::outcome::{Category, ErrorInfo, Field, Message, Outcome, Role, StartLine};

/// The parser configuration for a case: Node's strict parser, or
/// `insecureHTTPParser: true` for every lenient case.
pub(crate) fn config(case: &Case) -> ParserConfig {
    if case.insecure() {
        ParserConfig::insecure()
    } else {
        ParserConfig::default()
    }
}

/// Runs the case through proto: the whole input in one piece, then EOF.
pub(crate) fn run(case: &Case) -> Outcome {
    match case.side {
        Side::Server => {
            let mut p = Parser::request(config(case));
            p.feed(&case.input);
            server(p)
        }
        Side::Client => {
            let mut p = Parser::response(config(case));
            p.set_response_context(ResponseContext {
                head: case.method == "HEAD",
                connect: case.method == "CONNECT",
            });
            p.feed(&case.input);
            client(p)
        }
    }
}

fn fields(h: &Headers) -> Vec<Field> {
    h.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect()
}

fn error_info(e: &courier_proto::Error) -> ErrorInfo {
    ErrorInfo {
        code: e.code().to_owned(),
        reason: e.reason().to_owned(),
        offset: Some(e.offset()),
    }
}

/// What the runner needs from a parser; [`Parser`] in real runs, a script in
/// the unit tests of the runner's own logic.
pub(crate) trait Source {
    /// [`Parser::poll`].
    fn poll(&mut self) -> Result<Option<Event>, courier_proto::Error>;
    /// [`Parser::feed_eof`].
    fn feed_eof(&mut self);
    /// [`Parser::is_paused`].
    fn is_paused(&self) -> bool;
    /// [`Parser::take_leftover`].
    fn take_leftover(&mut self) -> Vec<u8>;
}

impl Source for Parser {
    fn poll(&mut self) -> Result<Option<Event>, courier_proto::Error> {
        Parser::poll(self)
    }
    fn feed_eof(&mut self) {
        Parser::feed_eof(self);
    }
    fn is_paused(&self) -> bool {
        Parser::is_paused(self)
    }
    fn take_leftover(&mut self) -> Vec<u8> {
        Parser::take_leftover(self).to_vec()
    }
}

/// What one step of the poll loop produced.
enum Step {
    /// Boxed: the step stays one pointer wide.
    Event(Box<Event>),
    /// An error, and whether EOF had been sent when it came.
    Error(courier_proto::Error, bool),
    Done,
}

/// Polls the parser; once it wants more input, sends EOF once (the oracle's
/// single write followed by a half-close), unless the connection is closing.
struct Driver<S> {
    parser: S,
    eof_sent: bool,
    /// The peer's EOF will not reach the parser: Node's server has ended the
    /// connection after answering a request that does not keep it alive.
    closed_by_us: bool,
}

impl<S: Source> Driver<S> {
    fn new(parser: S) -> Self {
        Self {
            parser,
            eof_sent: false,
            closed_by_us: false,
        }
    }

    fn next(&mut self) -> Step {
        loop {
            match self.parser.poll() {
                Ok(Some(ev)) => return Step::Event(Box::new(ev)),
                Ok(None) if !self.eof_sent && !self.closed_by_us && !self.parser.is_paused() => {
                    self.parser.feed_eof();
                    self.eof_sent = true;
                }
                Ok(None) => return Step::Done,
                Err(e) => return Step::Error(e, self.eof_sent),
            }
        }
    }
}

/// Server: every request head is a message; an upgrade candidate is handed over
/// (Node with `'upgrade'` and `'connect'` listeners), taking the rest as `head`.
///
/// Once a request that does not keep the connection alive is complete, Node
/// answers it and ends the connection (SRV-14) before the client's EOF arrives,
/// so its parser never sees EOF: bytes already received are still parsed, but
/// a message they begin stays unfinished instead of failing at EOF. That
/// matters only with leniencies that read past such a request.
fn server(source: impl Source) -> Outcome {
    let mut d = Driver::new(source);
    let mut keep_alive = Vec::new();
    let mut messages: Vec<Message> = Vec::new();
    let mut error = None;
    let mut upgrade_head = None;
    loop {
        let event = match d.next() {
            Step::Event(ev) => *ev,
            Step::Error(e, _) => {
                error = Some(error_info(&e));
                break;
            }
            Step::Done => break,
        };
        match event {
            Event::Request(h) => {
                let upgrade = h.info.upgrade;
                keep_alive.push(h.info.keep_alive);
                messages.push(Message {
                    start: StartLine::Request {
                        method: h.method.as_str().to_owned(),
                        url: h.url().to_vec(),
                    },
                    version: h.version.to_node_string(),
                    headers: fields(&h.headers),
                    body: Vec::new(),
                    trailers: Vec::new(),
                    complete: false,
                    role: if upgrade {
                        Role::Upgrade
                    } else {
                        Role::Ordinary
                    },
                });
                if upgrade {
                    upgrade_head = Some(d.parser.take_leftover());
                    break;
                }
            }
            other => match add_to_last(&mut messages, other) {
                Ok(Some(_)) if keep_alive.last() == Some(&false) => d.closed_by_us = true,
                Ok(_) => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            },
        }
    }
    let category = Category::of(error.as_ref(), upgrade_head.is_some(), &messages);
    Outcome {
        category,
        error,
        messages,
        upgrade_head,
        notes: Vec::new(),
    }
}

/// Client: one request, one final response (NODE20-DIFFERENCES §B). Interim 1xx
/// responses come first; after the final response ends, a further head is
/// ignored (Node drops a double response) and so is the parser's verdict on EOF
/// (Node's client never looks at it). A parse error before EOF is reported, as
/// Node's client reports what its parser returns for the received bytes.
fn client(source: impl Source) -> Outcome {
    let mut d = Driver::new(source);
    let mut messages: Vec<Message> = Vec::new();
    let mut error = None;
    let mut upgrade_head = None;
    let mut final_done = false;
    loop {
        let event = match d.next() {
            Step::Event(ev) => *ev,
            // Node's client ignores what the parser says about EOF.
            Step::Error(_, true) => break,
            Step::Error(e, false) => {
                error = Some(error_info(&e));
                break;
            }
            Step::Done => break,
        };
        match event {
            Event::Response(h) => {
                if final_done {
                    break; // a double response: Node destroys the socket quietly
                }
                let interim = (100..200).contains(&h.status) && h.status != 101;
                let role = if h.info.upgrade {
                    Role::Upgrade
                } else if interim {
                    Role::Informational
                } else {
                    Role::Ordinary
                };
                messages.push(Message {
                    start: StartLine::Response {
                        status: h.status,
                        reason: h.reason.to_vec(),
                    },
                    version: h.version.to_node_string(),
                    headers: fields(&h.headers),
                    body: Vec::new(),
                    trailers: Vec::new(),
                    complete: false,
                    role,
                });
                if role == Role::Upgrade {
                    upgrade_head = Some(d.parser.take_leftover());
                    break;
                }
            }
            // Whatever body follows the final response is dropped with it.
            Event::Data(_) | Event::End(_) if final_done => {}
            other => match add_to_last(&mut messages, other) {
                Ok(Some(m)) => final_done = m.role == Role::Ordinary,
                Ok(None) => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            },
        }
    }
    let category = match &error {
        Some(_) => Category::Reject,
        None if upgrade_head.is_some() => Category::Upgrade,
        None if final_done => Category::Complete,
        None => Category::Incomplete,
    };
    Outcome {
        category,
        error,
        messages,
        upgrade_head,
        notes: Vec::new(),
    }
}

/// Applies an event other than a head of the side's own kind: body data goes to
/// the last message whose head was parsed, and an end completes that message
/// with its trailers and returns it. A body event before any head, or a head of
/// the other kind, is an event sequence the parser API rules out.
fn add_to_last(messages: &mut [Message], event: Event) -> Result<Option<&Message>, ErrorInfo> {
    match (event, messages.last_mut()) {
        (Event::Data(b), Some(m)) => {
            m.body.extend_from_slice(&b);
            Ok(None)
        }
        (Event::End(t), Some(m)) => {
            m.complete = true;
            m.trailers = t.as_deref().map(fields).unwrap_or_default();
            Ok(Some(m))
        }
        (Event::Data(_), None) => Err(harness_error("body data before any head")),
        (Event::End(_), None) => Err(harness_error("end of message before any head")),
        (Event::Request(_), _) => Err(harness_error("a response parser produced a request")),
        (Event::Response(_), _) => Err(harness_error("a request parser produced a response")),
    }
}

/// An event sequence the parser API rules out; reported as a rejection with a
/// code no Node error has, so it always shows up as a difference.
fn harness_error(what: &str) -> ErrorInfo {
    ErrorInfo {
        code: "XTASK_API_VIOLATION".to_owned(),
        reason: what.to_owned(),
        offset: None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use courier_proto::{
        BodyKind, ConnectionTokens, Error, ErrorKind, MessageInfo, Method, RequestHead,
        ResponseHead, Version,
    };

    use super::*;

    /// A parser stand-in: events before EOF, events after EOF, leftover bytes.
    struct Script {
        before: VecDeque<Result<Option<Event>, Error>>,
        after: VecDeque<Result<Option<Event>, Error>>,
        eof: bool,
        paused: bool,
        leftover: Vec<u8>,
    }

    impl Script {
        fn new(
            before: Vec<Result<Option<Event>, Error>>,
            after: Vec<Result<Option<Event>, Error>>,
        ) -> Self {
            Self {
                before: before.into(),
                after: after.into(),
                eof: false,
                paused: false,
                leftover: Vec::new(),
            }
        }
    }

    impl Source for Script {
        fn poll(&mut self) -> Result<Option<Event>, Error> {
            let q = if self.eof {
                &mut self.after
            } else {
                &mut self.before
            };
            let r = q.pop_front().unwrap_or(Ok(None));
            if let Ok(Some(Event::Request(h))) = &r {
                self.paused = h.info.upgrade;
            }
            if let Ok(Some(Event::Response(h))) = &r {
                self.paused = h.info.upgrade;
            }
            r
        }
        fn feed_eof(&mut self) {
            assert!(!self.eof, "EOF sent twice");
            self.eof = true;
        }
        fn is_paused(&self) -> bool {
            self.paused
        }
        fn take_leftover(&mut self) -> Vec<u8> {
            std::mem::take(&mut self.leftover)
        }
    }

    fn info(upgrade: bool) -> MessageInfo {
        MessageInfo {
            keep_alive: !upgrade,
            upgrade,
            body: BodyKind::None,
            connection: ConnectionTokens::default(),
            has_content_length: false,
            has_transfer_encoding: false,
            has_host: false,
            has_expect: false,
        }
    }

    fn req(method: &'static str, upgrade: bool) -> Result<Option<Event>, Error> {
        let mut headers = Headers::new();
        headers.append("Host", "x").unwrap();
        Ok(Some(Event::Request(Box::new(RequestHead::new(
            Method::from_static(method),
            b"/".to_vec().into(),
            Version::HTTP_11,
            headers,
            info(upgrade),
        )))))
    }

    fn res(status: u16, upgrade: bool) -> Result<Option<Event>, Error> {
        Ok(Some(Event::Response(Box::new(ResponseHead {
            version: Version::HTTP_11,
            status,
            reason: b"R".to_vec().into(),
            headers: Headers::new(),
            info: info(upgrade),
        }))))
    }

    fn data(b: &[u8]) -> Result<Option<Event>, Error> {
        Ok(Some(Event::Data(b.to_vec().into())))
    }

    fn end() -> Result<Option<Event>, Error> {
        Ok(Some(Event::End(None)))
    }

    fn err(kind: ErrorKind, off: u64) -> Result<Option<Event>, Error> {
        Err(Error::new(kind, "r", off))
    }

    #[test]
    fn server_collects_messages_and_sends_eof_once() {
        let o = server(Script::new(
            vec![
                req("POST", false),
                data(b"ab"),
                data(b"c"),
                end(),
                req("GET", false),
                end(),
            ],
            vec![],
        ));
        assert_eq!(o.category, Category::Complete);
        assert_eq!(o.messages.len(), 2);
        assert_eq!(o.messages[0].body, b"abc");
        assert!(o.messages.iter().all(|m| m.complete));
        assert_eq!(
            o.messages[0].headers,
            vec![(b"Host".to_vec(), b"x".to_vec())]
        );
    }

    #[test]
    fn server_eof_inside_a_message_is_incomplete_and_other_errors_reject() {
        let o = server(Script::new(
            vec![req("POST", false), data(b"a")],
            vec![err(ErrorKind::InvalidEofState, 0)],
        ));
        assert_eq!(o.category, Category::Incomplete);
        let o = server(Script::new(
            vec![
                req("GET", false),
                end(),
                err(ErrorKind::ClosedConnection, 9),
            ],
            vec![],
        ));
        assert_eq!(o.category, Category::Reject);
        assert_eq!(o.error.unwrap().offset, Some(9));
        let o = server(Script::new(vec![err(ErrorKind::H2Preface, 24)], vec![]));
        assert_eq!(o.category, Category::H2Preface);
        assert_eq!(
            server(Script::new(vec![], vec![])).category,
            Category::Empty
        );
    }

    #[test]
    fn server_sends_no_eof_after_a_request_that_closes_the_connection() {
        let mut close = req("GET", false);
        if let Ok(Some(Event::Request(h))) = &mut close {
            h.info.keep_alive = false;
        }
        let o = server(Script::new(
            vec![close, end(), req("GET", false)],
            vec![err(ErrorKind::InvalidEofState, 0)],
        ));
        assert_eq!(o.category, Category::Incomplete);
        assert!(o.error.is_none(), "EOF must not reach the parser");
        assert_eq!(o.messages.len(), 2);
    }

    #[test]
    fn server_upgrade_hands_over_the_rest() {
        let mut s = Script::new(vec![req("CONNECT", true), data(b"never")], vec![]);
        s.leftover = b"tunnel bytes".to_vec();
        let o = server(s);
        assert_eq!(o.category, Category::Upgrade);
        assert_eq!(o.upgrade_head.as_deref(), Some(&b"tunnel bytes"[..]));
        assert_eq!(o.messages[0].role, Role::Upgrade);
        assert!(o.messages[0].body.is_empty());
    }

    #[test]
    fn client_reports_interim_then_one_final_response_and_drops_a_second() {
        let o = client(Script::new(
            vec![
                res(103, false),
                end(),
                res(200, false),
                data(b"ok"),
                end(),
                res(201, false),
                data(b"x"),
            ],
            vec![err(ErrorKind::InvalidEofState, 0)],
        ));
        assert_eq!(o.category, Category::Complete);
        assert_eq!(o.messages.len(), 2);
        assert_eq!(o.messages[0].role, Role::Informational);
        assert_eq!(o.messages[1].body, b"ok");
        assert!(o.error.is_none());
    }

    #[test]
    fn client_ignores_the_eof_verdict_but_not_errors_in_the_bytes() {
        // EOF inside the body: Node marks the response aborted, no parse error.
        let o = client(Script::new(
            vec![res(200, false), data(b"part")],
            vec![err(ErrorKind::InvalidEofState, 0)],
        ));
        assert_eq!(o.category, Category::Incomplete);
        assert!(o.error.is_none());
        // EOF before any final response: "socket hang up".
        let o = client(Script::new(vec![res(100, false), end()], vec![]));
        assert_eq!(o.category, Category::Incomplete);
        // Junk after a complete response is reported by Node's client.
        let o = client(Script::new(
            vec![res(204, false), end(), err(ErrorKind::ClosedConnection, 47)],
            vec![],
        ));
        assert_eq!(o.category, Category::Reject);
        assert_eq!(o.messages.len(), 1);
    }

    #[test]
    fn event_sequences_the_api_rules_out_are_reported_as_rejections() {
        let reason = |o: Outcome| {
            assert_eq!(o.category, Category::Reject);
            let e = o.error.unwrap();
            assert_eq!(e.code, "XTASK_API_VIOLATION");
            e.reason
        };
        let s = |before| Script::new(before, vec![]);
        assert_eq!(
            reason(server(s(vec![data(b"x")]))),
            "body data before any head"
        );
        assert_eq!(
            reason(client(s(vec![end()]))),
            "end of message before any head"
        );
        assert_eq!(
            reason(server(s(vec![res(200, false)]))),
            "a request parser produced a response"
        );
        assert_eq!(
            reason(client(s(vec![res(200, false), end(), req("GET", false)]))),
            "a response parser produced a request"
        );
    }

    #[test]
    fn client_upgrade_hands_over_the_rest() {
        let mut s = Script::new(vec![res(101, true)], vec![]);
        s.leftover = b"proto".to_vec();
        let o = client(s);
        assert_eq!(o.category, Category::Upgrade);
        assert_eq!(o.upgrade_head.as_deref(), Some(&b"proto"[..]));
    }
}
