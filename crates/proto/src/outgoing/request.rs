//! Node's `ClientRequest`, outgoing side, as a pure state object (CLI-1 … CLI-14,
//! CLI-25, and the RES rules shared by every outgoing message).
//!
//! [`ClientRequest::new`] takes Node's request options ([`RequestOptions`]) and does
//! what Node's constructor does: checks the path, protocol and method, applies the
//! `headers` option, adds `Host` and `Authorization`, and renders the head at once
//! when the headers are given as an array or hold an `Expect` field. The application
//! then sets headers and writes body pieces; the request renders Node's exact head
//! and queues wire segments that its owner (the client connection machine) takes
//! with [`ClientRequest::take_output`].
//!
//! Every failing call leaves the request as it was: it renders nothing, queues
//! nothing and changes no state.
//!
//! # Node quirks kept
//!
//! * Methods `GET`, `HEAD`, `DELETE`, `OPTIONS`, `TRACE` and `CONNECT` get no
//!   automatic framing field; body bytes written to them go out raw (CLI-12).
//! * A head rendered by the constructor (array headers, or an `Expect` field) is
//!   rendered before Node applies `uniqueHeaders`, so list values are not joined
//!   there; and before Node marks a request without agent as non-persistent, so
//!   such a head can say `Connection: keep-alive` (a `POST`) although the request
//!   is not persistent.
//! * Without an agent and without `default_port`, Node has no default port to
//!   compare with and always writes it: `Host: localhost:80`.
//! * `Host`, `Authorization` and the constructor's `Expect` test look at the stored
//!   value's JavaScript truthiness: a user `host: ""` (or `0`) field is replaced in
//!   place by the computed `Host`; `Expect: []` renders the head at once without
//!   any `Expect` line.

use core::time::Duration;
use std::borrow::Cow;
use std::collections::VecDeque;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};

use super::error::OutgoingError;
use super::output::Output;
use super::render::{
    Fields, Policy, Removed, Rendered, has_word, render, strict_target, trailer_fields,
};
use super::store::{HeaderStore, header_store_methods};
use super::value::{HeaderValue, latin1_bytes};
use crate::agent::AgentOptions;
use crate::headers::Headers;
use crate::validate::{METHOD, validate_token};

/// The methods Node sends without an automatic `Content-Length` or
/// `Transfer-Encoding` (`useChunkedEncodingByDefault = false`, CLI-12).
const UNFRAMED_METHODS: [&str; 6] = ["GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT"];

/// What a request needs to know about its agent (CLI-2, CLI-3, CLI-5, CLI-11).
///
/// `RequestAgent::default()` is a fresh `new Agent()` (what `agent: false` gives a
/// request); [`RequestAgent::global`] is v20's `http.globalAgent`.
///
/// ```
/// use courier_proto::agent::AgentOptions;
/// use courier_proto::outgoing::RequestAgent;
///
/// assert!(RequestAgent::global().persistent_requests());
/// assert!(!RequestAgent::one_off().persistent_requests());
/// let limited = AgentOptions { max_sockets: Some(5), ..AgentOptions::default() };
/// assert!(RequestAgent::from_options(&limited).persistent_requests());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestAgent {
    /// `agent.keepAlive`.
    pub keep_alive: bool,
    /// `agent.maxSockets` (`None` = `Infinity`; `Some(0)` counts as `Infinity`, as
    /// Node replaces a falsy value by the default).
    pub max_sockets: Option<usize>,
    /// `agent.defaultPort` (80 for `http`). 0 counts as none.
    pub default_port: u16,
    /// `agent.protocol` (`"http:"`). Empty counts as none (`"http:"`).
    pub protocol: Cow<'static, str>,
}

impl Default for RequestAgent {
    fn default() -> Self {
        Self {
            keep_alive: false,
            max_sockets: None,
            default_port: 80,
            protocol: Cow::Borrowed("http:"),
        }
    }
}

impl RequestAgent {
    /// v20's `http.globalAgent`: keep-alive (CONST-7), the agent of a request whose
    /// `agent` option is `undefined`.
    pub fn global() -> Self {
        Self {
            keep_alive: true,
            ..Self::default()
        }
    }

    /// `agent: false`: a brand-new `Agent` with default options (CLI-2).
    pub fn one_off() -> Self {
        Self::default()
    }

    /// The agent built from `options` (an `http` agent: port 80, `"http:"`).
    pub fn from_options(options: &AgentOptions) -> Self {
        Self {
            keep_alive: options.keep_alive,
            max_sockets: options.max_sockets,
            ..Self::default()
        }
    }

    /// Whether requests through this agent are persistent-capable (CLI-11): the
    /// agent keeps sockets alive or has a finite `maxSockets`.
    pub fn persistent_requests(&self) -> bool {
        self.keep_alive || matches!(self.max_sockets, Some(n) if n > 0)
    }

    fn protocol(&self) -> &str {
        if self.protocol.is_empty() {
            "http:"
        } else {
            &self.protocol
        }
    }
}

/// The `headers` option (CLI-9, CLI-10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestHeaders {
    /// `headers` as an object: each pair goes through `setHeader` in order (a later
    /// pair of the same name, any case, replaces an earlier one in place), then
    /// `Host` and `Authorization` are added (CLI-9).
    Object(Vec<(String, HeaderValue)>),
    /// `headers` as an array (`[k, v, …]` or `[[k, v], …]`): the head is rendered at
    /// once from these pairs, in order, duplicates kept; no `Host`, no
    /// `Authorization`, and the header store stays empty (CLI-10).
    Array(Vec<(String, HeaderValue)>),
}

impl Default for RequestHeaders {
    fn default() -> Self {
        Self::Object(Vec::new())
    }
}

/// The options of `http.request(options)` that shape the request (CLI-2 … CLI-7).
///
/// `None` stands for an option left out (`undefined`); an empty string counts as
/// left out wherever Node tests the option's truthiness (`method`, `path`,
/// `protocol`, `host`, `hostname`, `auth`), and so does port 0. Connection
/// parameters (`socketPath`, `localAddress`, `family`, `lookup`, …) and `signal`
/// belong to the connection, not to the request head.
///
/// `http.request(url, options)` is `options.with_url(&url)` ([`Self::with_url`]):
/// the options given win over the URL's parts (CLI-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOptions {
    /// `method` (default `GET`): a token, sent upper-cased (CLI-6).
    pub method: Option<String>,
    /// `path` (default `/`): chars U+0021 … U+00FF only, sent as Latin-1 (CLI-4).
    pub path: Option<String>,
    /// `protocol` (default the agent's): must equal the agent's (CLI-3).
    pub protocol: Option<String>,
    /// `host`, used when `hostname` is not given (CLI-5).
    pub host: Option<String>,
    /// `hostname` (CLI-5). The target host is `hostname`, else `host`, else
    /// `localhost`.
    pub hostname: Option<String>,
    /// `port` (default `default_port`, else the agent's, else 80).
    pub port: Option<u16>,
    /// `defaultPort` (default the agent's): the port left out of `Host`.
    pub default_port: Option<u16>,
    /// `setHost` (default true): add a `Host` field.
    pub set_host: bool,
    /// `auth` (`user:password`): `Authorization: Basic <base64 of its UTF-8>`.
    pub auth: Option<String>,
    /// `headers` (CLI-9, CLI-10).
    pub headers: RequestHeaders,
    /// `agent` (CLI-2): `Some(RequestAgent::global())` by default (Node's
    /// `undefined`), `Some(RequestAgent::one_off())` for `agent: false`, `None`
    /// for a request without agent (`createConnection`).
    pub agent: Option<RequestAgent>,
    /// `uniqueHeaders`: names whose list values are joined with `"; "` (RES-12).
    pub unique_headers: Vec<String>,
    /// `timeout` (CLI-23), kept for the connection.
    pub timeout: Option<Duration>,
    /// `maxHeaderSize` for the response (CLI-27); `None` or 0 = the default.
    pub max_header_size: Option<usize>,
    /// `insecureHTTPParser` for the response (CLI-27); `None` = the process default.
    pub insecure_http_parser: Option<bool>,
    /// `joinDuplicateHeaders` for the response (CLI-27).
    pub join_duplicate_headers: Option<bool>,
}

impl Default for RequestOptions {
    fn default() -> Self {
        Self {
            method: None,
            path: None,
            protocol: None,
            host: None,
            hostname: None,
            port: None,
            default_port: None,
            set_host: true,
            auth: None,
            headers: RequestHeaders::default(),
            agent: Some(RequestAgent::global()),
            unique_headers: Vec::new(),
            timeout: None,
            max_header_size: None,
            insecure_http_parser: None,
            join_duplicate_headers: None,
        }
    }
}

/// Methods kept as static text rather than allocated per request.
const COMMON_METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"];

/// A string option that Node tests for truthiness: `None` when empty.
fn given(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// The `Host` value (CLI-9): IPv6 literals in brackets, the port unless it is the
/// default port.
fn host_value(host: &str, port: u16, default_port: Option<u16>) -> String {
    let bracket = host
        .find(':')
        .is_some_and(|i| host[i + 1..].contains(':') && !host.starts_with('['));
    let mut digits = itoa::Buffer::new();
    let port_text = if default_port == Some(port) {
        ""
    } else {
        digits.format(port)
    };
    // Exactly the length: the value becomes `Bytes` without another allocation.
    let len = host.len()
        + 2 * usize::from(bracket)
        + port_text.len()
        + usize::from(!port_text.is_empty());
    let mut v = String::with_capacity(len);
    if bracket {
        v.push('[');
        v.push_str(host);
        v.push(']');
    } else {
        v.push_str(host);
    }
    if !port_text.is_empty() {
        v.push(':');
        v.push_str(port_text);
    }
    v
}

/// Whether an `Expect` field among `fields` asks for `100-continue`.
fn asks_continue(fields: Fields<'_>) -> bool {
    let says = |v: &HeaderValue| match v {
        HeaderValue::Text(b) => has_word(b, b"100-continue"),
        HeaderValue::Int(_) => false,
        HeaderValue::List(items) => items.iter().any(|b| has_word(b, b"100-continue")),
    };
    match fields {
        Fields::Store(store) => store.get("expect").is_some_and(says),
        Fields::Direct(list) => list
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("expect") && says(v)),
    }
}

/// Node's `ClientRequest`, outgoing side, as a pure state object.
///
/// ```
/// use std::collections::VecDeque;
/// use bytes::Bytes;
/// use courier_proto::outgoing::{ClientRequest, RequestOptions};
///
/// let mut req = ClientRequest::new(RequestOptions {
///     method: Some("post".into()),
///     hostname: Some("127.0.0.1".into()),
///     port: Some(8080),
///     path: Some("/upload".into()),
///     ..RequestOptions::default()
/// })?;
/// req.set_header("Content-Type", "text/plain")?;
/// assert!(!req.headers_sent());
/// req.end(Some(Bytes::from_static(b"hi")))?;
///
/// let mut wire = VecDeque::new();
/// req.take_output(&mut wire);
/// assert_eq!(
///     wire.iter().flat_map(|b| b.iter().copied()).collect::<Vec<u8>>(),
///     b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: text/plain\r\n\
///       Connection: keep-alive\r\nContent-Length: 2\r\n\r\nhi"
/// );
/// assert!(req.is_complete() && req.keep_alive());
/// # Ok::<(), courier_proto::outgoing::OutgoingError>(())
/// ```
#[derive(Debug)]
pub struct ClientRequest {
    /// Borrowed for the common methods.
    method: Cow<'static, str>,
    path: Box<str>,
    /// The path in Latin-1 when it is not ASCII (the request line's bytes;
    /// an ASCII path is its own).
    latin1_path: Option<Box<[u8]>>,
    host: Box<str>,
    port: u16,
    /// Borrowed for `http:`.
    protocol: Cow<'static, str>,
    agent: Option<RequestAgent>,
    /// `uniqueHeaders`, lower-cased; empty while the constructor renders (Node sets
    /// it last).
    unique_headers: Box<[Box<str>]>,
    timeout: Option<Duration>,
    max_header_size: Option<usize>,
    insecure_http_parser: Option<bool>,
    join_duplicate_headers: Option<bool>,
    max_headers_count: Option<usize>,
    /// `useChunkedEncodingByDefault`.
    chunked_by_default: bool,
    store: HeaderStore,
    removed: Removed,
    /// `shouldKeepAlive`.
    keep_alive: bool,
    /// `_last`.
    last: bool,
    /// `chunkedEncoding`.
    chunked: bool,
    /// The head was rendered (`headersSent`).
    rendered: bool,
    /// `_contentLength`.
    content_length: Option<f64>,
    strict_content_length: bool,
    /// `kBytesWritten` (counted while `strictContentLength` is on).
    bytes_written: u64,
    trailers: Headers,
    /// The rendered head asked for `100-continue`.
    expect_continue: bool,
    ended: bool,
    destroyed: bool,
    aborted: bool,
    reused_socket: bool,
    socket_options: SocketOptions,
    out: Output,
    /// A buffer lent to render the head into ([`ClientRequest::lend_buf`]).
    lent: BytesMut,
}

/// Socket options asked for on a request before it has a socket (CLI-26): Node
/// defers `setNoDelay` and `setSocketKeepAlive` until a socket is assigned and
/// connected; the adapter applies [`ClientRequest::socket_options`] then.
///
/// ```
/// use core::time::Duration;
/// use courier_proto::outgoing::{ClientRequest, RequestOptions, SocketOptions};
///
/// let mut req = ClientRequest::new(RequestOptions::default())?;
/// assert_eq!(req.socket_options(), SocketOptions::default());
/// req.set_no_delay(true);
/// req.set_socket_keep_alive(true, Duration::from_secs(1));
/// assert_eq!(req.socket_options().no_delay, Some(true));
/// assert_eq!(req.socket_options().keep_alive, Some((true, Duration::from_secs(1))));
/// # Ok::<(), courier_proto::outgoing::OutgoingError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SocketOptions {
    /// The last `setNoDelay(noDelay)`, if any.
    pub no_delay: Option<bool>,
    /// The last `setSocketKeepAlive(enable, initialDelay)`, if any.
    pub keep_alive: Option<(bool, Duration)>,
}

impl ClientRequest {
    /// `new ClientRequest(options)`: the checks and header set-up of Node's
    /// constructor, in Node's order.
    ///
    /// 1. `path` → `ERR_UNESCAPED_CHARACTERS` (CLI-4);
    /// 2. `protocol` → `ERR_INVALID_PROTOCOL` (CLI-3);
    /// 3. `method` → `ERR_INVALID_HTTP_TOKEN`, `Method must be a valid HTTP token
    ///    ["…"]` (CLI-6);
    /// 4. `headers` as an object: each pair through [`Self::set_header`], then `Host`
    ///    (its value checked like any header: `Invalid character in header content
    ///    ["Host"]`), then `Authorization` (CLI-9); a truthy `Expect` field renders
    ///    the head now and queues it (CLI-13);
    /// 5. `headers` as an array: the head is rendered now from the pairs (CLI-10).
    ///
    /// Rendering can fail as any rendering does (a `Trailer` field without chunked
    /// coding: `ERR_HTTP_TRAILER_INVALID`).
    pub fn new(options: RequestOptions) -> Result<Self, OutgoingError> {
        let RequestOptions {
            method,
            path,
            protocol,
            host,
            hostname,
            port,
            default_port,
            set_host,
            auth,
            headers,
            agent,
            unique_headers,
            timeout,
            max_header_size,
            insecure_http_parser,
            join_duplicate_headers,
        } = options;

        // CLI-4.
        let path = given(path).unwrap_or_else(|| "/".to_owned());
        if !path.chars().all(|c| ('\u{21}'..='\u{ff}').contains(&c)) {
            return Err(OutgoingError::UnescapedPath);
        }
        // CLI-3.
        let expected = agent.as_ref().map_or("http:", RequestAgent::protocol);
        let protocol = given(protocol).map_or(Cow::Borrowed("http:"), Cow::Owned);
        if protocol != expected {
            return Err(OutgoingError::InvalidProtocol {
                protocol: protocol.into_owned(),
                expected: expected.to_owned(),
            });
        }
        // CLI-5.
        let default_port = default_port
            .filter(|&p| p != 0)
            .or_else(|| agent.as_ref().map(|a| a.default_port).filter(|&p| p != 0));
        let port = port.filter(|&p| p != 0).or(default_port).unwrap_or(80);
        let host = given(hostname)
            .or_else(|| given(host))
            .unwrap_or_else(|| "localhost".to_owned());
        // CLI-6.
        let method = match given(method) {
            Some(m) => {
                validate_token(METHOD, &m)?;
                match COMMON_METHODS.iter().find(|c| c.eq_ignore_ascii_case(&m)) {
                    Some(c) => Cow::Borrowed(*c),
                    None => Cow::Owned(m.to_ascii_uppercase()),
                }
            }
            None => Cow::Borrowed("GET"),
        };

        let latin1_path = (!path.is_ascii()).then(|| Box::<[u8]>::from(&latin1_bytes(&path)[..]));

        // CLI-11: an agent decides; without one Node keeps the message defaults
        // until the end of the constructor.
        let persistent = agent.as_ref().is_none_or(RequestAgent::persistent_requests);
        let chunked_by_default = !UNFRAMED_METHODS.contains(&&*method);
        let mut req = Self {
            method,
            path: path.into(),
            latin1_path,
            host: host.into(),
            port,
            protocol,
            agent,
            unique_headers: Box::default(),
            timeout,
            max_header_size,
            insecure_http_parser,
            join_duplicate_headers,
            max_headers_count: None,
            chunked_by_default,
            store: HeaderStore::new(),
            removed: Removed::default(),
            keep_alive: persistent,
            last: !persistent,
            chunked: false,
            rendered: false,
            content_length: None,
            strict_content_length: false,
            bytes_written: 0,
            trailers: Headers::new(),
            expect_continue: false,
            ended: false,
            destroyed: false,
            aborted: false,
            reused_socket: false,
            socket_options: SocketOptions::default(),
            out: Output::default(),
            lent: BytesMut::new(),
        };

        match headers {
            RequestHeaders::Object(pairs) => {
                for (name, value) in pairs {
                    req.store.set(&name, value)?;
                }
                let truthy =
                    |s: &HeaderStore, n: &str| s.get(n).is_some_and(HeaderValue::is_truthy);
                if set_host && !truthy(&req.store, "host") {
                    let v = host_value(&req.host, port, default_port);
                    req.store.set_static("Host", "host", HeaderValue::from(v))?;
                }
                if let Some(auth) = given(auth) {
                    if !truthy(&req.store, "authorization") {
                        let mut v = String::from("Basic ");
                        base64::engine::general_purpose::STANDARD.encode_string(auth, &mut v);
                        req.store.set_static(
                            "Authorization",
                            "authorization",
                            HeaderValue::from(v),
                        )?;
                    }
                }
                if truthy(&req.store, "expect") {
                    let fields = Fields::Store(&req.store);
                    let r = req.prepare(fields, None)?;
                    let ask = asks_continue(fields);
                    req.commit(r, ask);
                }
            }
            RequestHeaders::Array(pairs) => {
                let list: Vec<(&str, HeaderValue)> =
                    pairs.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
                let fields = Fields::Direct(&list);
                let r = req.prepare(fields, None)?;
                req.commit(r, asks_continue(fields));
            }
        }

        req.unique_headers = unique_headers
            .iter()
            .map(|n| n.to_ascii_lowercase().into_boxed_str())
            .collect();
        if req.agent.is_none() {
            // "No agent, default to Connection:close" (after any head above).
            req.last = true;
            req.keep_alive = false;
        }
        Ok(req)
    }

    // ----- what the constructor resolved (CLI-5 … CLI-7) -----

    /// `method`, upper-cased.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// `path`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `host`: `hostname`, else `host`, else `localhost` (CLI-5).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port to connect to: `port`, else `defaultPort`, else the agent's, else 80.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `protocol`.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// The agent, `None` for a request without one.
    pub fn agent(&self) -> Option<&RequestAgent> {
        self.agent.as_ref()
    }

    /// `uniqueHeaders`, lower-cased.
    pub fn unique_headers(&self) -> &[Box<str>] {
        &self.unique_headers
    }

    /// `timeout` (CLI-23).
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// `setTimeout(ms)`: the socket idle timeout the connection applies (CLI-23).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// `maxHeaderSize` for the response parser (CLI-27).
    pub fn max_header_size(&self) -> Option<usize> {
        self.max_header_size
    }

    /// `insecureHTTPParser` for the response parser (CLI-27).
    pub fn insecure_http_parser(&self) -> Option<bool> {
        self.insecure_http_parser
    }

    /// `joinDuplicateHeaders` for the response (CLI-27).
    pub fn join_duplicate_headers(&self) -> Option<bool> {
        self.join_duplicate_headers
    }

    /// `maxHeadersCount` (`None` = Node's `null`, the 1000-line default, CONST-4).
    pub fn max_headers_count(&self) -> Option<usize> {
        self.max_headers_count
    }

    /// `maxHeadersCount = n`, read when the response is parsed (CLI-27).
    pub fn set_max_headers_count(&mut self, n: Option<usize>) {
        self.max_headers_count = n;
    }

    /// `reusedSocket` (CLI-24): false until the connection says otherwise.
    pub fn reused_socket(&self) -> bool {
        self.reused_socket
    }

    /// Set by the connection when the agent took the socket from its free list.
    pub fn set_reused_socket(&mut self, reused: bool) {
        self.reused_socket = reused;
    }

    // ----- header store (RES-2 … RES-6, CLI-25) -----

    header_store_methods!();

    /// `removeHeader(name)` (RES-4). Removing `connection`, `content-length` or
    /// `transfer-encoding` also turns off the matching automatic field, even when no
    /// such header was set.
    pub fn remove_header(&mut self, name: &str) -> Result<&mut Self, OutgoingError> {
        if self.rendered {
            return Err(OutgoingError::HeadersSentRemove);
        }
        self.removed.note(name);
        self.store.remove(name);
        Ok(self)
    }

    // ----- the head (CLI-8 … CLI-13) -----

    /// Lends a buffer with spare capacity to render the header block into: the
    /// block is split off it (no allocation while it has room; the blocks cut from
    /// one buffer share its allocation). [`Self::take_lent_buf`] gives back what is
    /// left, for the next request. Without a lent buffer every head is allocated on
    /// its own. The bytes on the wire are the same either way.
    pub fn lend_buf(&mut self, buf: BytesMut) {
        self.lent = buf;
    }

    /// Takes back what is left of the buffer given to [`Self::lend_buf`].
    pub fn take_lent_buf(&mut self) -> BytesMut {
        core::mem::take(&mut self.lent)
    }

    /// Renders the head without changing anything.
    fn prepare(
        &self,
        fields: Fields<'_>,
        known_length: Option<u64>,
    ) -> Result<Rendered, OutgoingError> {
        self.prepare_into(&mut BytesMut::new(), fields, known_length)
    }

    /// [`Self::prepare`] into `out` (see [`render`]: a buffer with capacity is lent).
    fn prepare_into(
        &self,
        out: &mut BytesMut,
        fields: Fields<'_>,
        known_length: Option<u64>,
    ) -> Result<Rendered, OutgoingError> {
        let policy = Policy {
            unique: &self.unique_headers,
            date: None,
            keep_alive: self.keep_alive,
            last: self.last,
            removed: self.removed,
            has_body: true,
            chunked_by_default: self.chunked_by_default,
            agent: self.agent.is_some(),
            known_length,
            no_chunked_status: false,
            keep_alive_timeout_ms: 0,
            max_requests: 0,
            limit_reached: false,
        };
        let path = self.latin1_path.as_deref().unwrap_or(self.path.as_bytes());
        let line: [&[u8]; 4] = [self.method.as_bytes(), b" ", path, b" HTTP/1.1\r\n"];
        render(out, &line, fields, &policy, 0)
    }

    /// Takes the state a successful render decided; an `Expect` field sends the
    /// head at once (CLI-13).
    fn commit(&mut self, r: Rendered, expect_continue: bool) {
        self.chunked = r.chunked;
        self.last = r.last;
        self.keep_alive = r.keep_alive;
        self.removed = r.removed;
        self.content_length = r.content_length;
        self.expect_continue = expect_continue;
        self.rendered = true;
        self.out.hold_head(r.head, false);
        if r.expect {
            self.out.release_head();
        }
    }

    /// Renders the head from the store, if not rendered yet (`_implicitHeader`).
    /// `end()` passes the body length it knows, and the head is then refused when
    /// the total differs from a strict Content-Length (RES-28).
    fn implicit_head(&mut self, end_length: Option<u64>) -> Result<(), OutgoingError> {
        if self.rendered {
            return Ok(());
        }
        let mut lent = core::mem::take(&mut self.lent);
        let fields = Fields::Store(&self.store);
        let r = self.prepare_into(&mut lent, fields, end_length);
        self.lent = lent;
        let fields = Fields::Store(&self.store);
        let r = r?;
        if let (Some(len), Some(cl)) = (end_length, self.strict_target(&r)) {
            let total = self.bytes_written.saturating_add(len);
            if total as f64 != cl {
                return Err(OutgoingError::length_mismatch(total, cl));
            }
        }
        let ask = asks_continue(fields);
        self.commit(r, ask);
        Ok(())
    }

    /// `strictContentLength`: the length a head would enforce (RES-28).
    fn strict_target(&self, r: &Rendered) -> Option<f64> {
        strict_target(
            self.strict_content_length,
            r.content_length,
            true,
            r.removed.content_length,
            r.chunked,
            self.store.contains("transfer-encoding"),
        )
    }

    /// The strict Content-Length in force on the rendered head.
    fn strict_now(&self) -> Option<f64> {
        strict_target(
            self.strict_content_length,
            self.content_length,
            self.rendered,
            self.removed.content_length,
            self.chunked,
            self.store.contains("transfer-encoding"),
        )
    }

    // ----- body (CLI-12, RES-15, RES-19 … RES-25, RES-28) -----

    /// `write(chunk)`. Renders the head first if needed (length unknown: chunked
    /// for a framed method, CLI-12). An empty chunk writes no body bytes but sends
    /// a held-back head.
    pub fn write(&mut self, chunk: Bytes) -> Result<(), OutgoingError> {
        if self.ended {
            return Err(OutgoingError::WriteAfterEnd);
        }
        if self.destroyed {
            return Err(OutgoingError::Destroyed);
        }
        let len = chunk.len() as u64;
        if let Some(cl) = self.strict_now() {
            let total = self.bytes_written.saturating_add(len);
            if total as f64 > cl {
                return Err(OutgoingError::length_mismatch(total, cl));
            }
        }
        self.implicit_head(None)?;
        if self.strict_content_length {
            self.bytes_written = self.bytes_written.saturating_add(len);
        }
        self.out.body(chunk, self.chunked);
        Ok(())
    }

    /// `end(chunk)`. With the head not yet rendered the body length is known:
    /// `Content-Length` of the chunk (0 without one) for a framed method (CLI-12).
    /// Then the last chunk and trailers when chunked. A second `end(None)` is a
    /// no-op; `end(Some(..))` after `end` fails with `ERR_STREAM_WRITE_AFTER_END`.
    /// An empty chunk counts as none.
    pub fn end(&mut self, chunk: Option<Bytes>) -> Result<(), OutgoingError> {
        match chunk.filter(|c| !c.is_empty()) {
            Some(data) => {
                if self.ended {
                    return Err(OutgoingError::WriteAfterEnd);
                }
                if self.destroyed {
                    return Err(OutgoingError::Destroyed);
                }
                let len = data.len() as u64;
                if let Some(cl) = self.strict_now() {
                    let total = self.bytes_written.saturating_add(len);
                    if total as f64 != cl {
                        return Err(OutgoingError::length_mismatch(total, cl));
                    }
                }
                self.implicit_head(Some(len))?;
                if self.strict_content_length {
                    self.bytes_written = self.bytes_written.saturating_add(len);
                }
                self.out.body(data, self.chunked);
            }
            None => {
                if self.ended {
                    return Ok(());
                }
                if self.destroyed {
                    self.ended = true;
                    return Ok(());
                }
                if let Some(cl) = self.strict_now() {
                    if self.bytes_written as f64 != cl {
                        return Err(OutgoingError::length_mismatch(self.bytes_written, cl));
                    }
                }
                self.implicit_head(Some(0))?;
            }
        }
        if self.chunked {
            self.out.last_chunk(&self.trailers);
        } else {
            self.out.release_head();
        }
        self.ended = true;
        Ok(())
    }

    /// `flushHeaders()`: renders the head if needed (length unknown: chunked for a
    /// framed method) and sends it at once.
    pub fn flush_headers(&mut self) -> Result<(), OutgoingError> {
        self.implicit_head(None)?;
        self.out.release_head();
        Ok(())
    }

    /// `addTrailers(headers)` (RES-20): replaces earlier trailers. Names are checked
    /// with the label `Trailer name`, values with `trailer content`. Trailers are
    /// written only with chunked coding.
    pub fn add_trailers<'a>(
        &mut self,
        trailers: impl IntoIterator<Item = (&'a str, HeaderValue)>,
    ) -> Result<(), OutgoingError> {
        self.trailers = trailer_fields(&self.unique_headers, trailers)?;
        Ok(())
    }

    // ----- state -----

    /// `headersSent`: the head was rendered (it may still be held back).
    pub fn headers_sent(&self) -> bool {
        self.rendered
    }

    /// The rendered head left the request for the output queue (Node's
    /// `_headerSent`).
    pub fn header_flushed(&self) -> bool {
        self.out.head_released()
    }

    /// `writableEnded`: `end()` was called (successfully).
    pub fn writable_ended(&self) -> bool {
        self.ended
    }

    /// `finished` (same as `writableEnded`).
    pub fn finished(&self) -> bool {
        self.ended
    }

    /// `strictContentLength`.
    pub fn strict_content_length(&self) -> bool {
        self.strict_content_length
    }

    /// `strictContentLength = on` (RES-28).
    pub fn set_strict_content_length(&mut self, on: bool) {
        self.strict_content_length = on;
    }

    /// `chunkedEncoding`: the body uses chunked coding (decided at rendering).
    pub fn chunked_encoding(&self) -> bool {
        self.chunked
    }

    /// `shouldKeepAlive`: the request is persistent-capable (CLI-11, CLI-18). A
    /// user `Connection` field changes it when the head is rendered (RES-14).
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// `_last`: the connection is not to be reused after this request.
    pub fn is_last(&self) -> bool {
        self.last
    }

    /// The rendered head carries `Expect: 100-continue` (CLI-13, CLI-14). Node never
    /// waits by itself; a connection may hold the body until a `100` arrives: the
    /// head always leaves as a segment of its own, before any body segment.
    pub fn expects_continue(&self) -> bool {
        self.expect_continue
    }

    /// `aborted`: [`Self::abort`] was called.
    pub fn aborted(&self) -> bool {
        self.aborted
    }

    /// `destroyed`.
    pub fn destroyed(&self) -> bool {
        self.destroyed
    }

    /// Bytes queued and not yet taken (a held-back head is not counted).
    pub fn buffered_len(&self) -> usize {
        self.out.len()
    }

    /// Moves every queued wire segment to `dst`, in order.
    pub fn take_output(&mut self, dst: &mut VecDeque<Bytes>) {
        self.out.take(dst);
    }

    /// Ended, and every byte taken (`writableFinished` once the socket flushed them).
    pub fn is_complete(&self) -> bool {
        self.ended && self.out.is_drained()
    }

    /// `setNoDelay(noDelay)` (CLI-26): recorded for the socket, applied by the
    /// adapter once the request has a connected socket (and again on each later call).
    pub fn set_no_delay(&mut self, no_delay: bool) {
        self.socket_options.no_delay = Some(no_delay);
    }

    /// `setSocketKeepAlive(enable, initialDelay)` (CLI-26), recorded like
    /// [`Self::set_no_delay`].
    pub fn set_socket_keep_alive(&mut self, enable: bool, initial_delay: Duration) {
        self.socket_options.keep_alive = Some((enable, initial_delay));
    }

    /// The socket options asked for so far (CLI-26).
    pub fn socket_options(&self) -> SocketOptions {
        self.socket_options
    }

    /// `destroy()`: queued output is dropped, later writes fail with
    /// `ERR_STREAM_DESTROYED` and nothing more is queued. The events (CLI-21) are
    /// the connection's.
    pub fn destroy(&mut self) {
        self.destroyed = true;
        self.out.close();
    }

    /// `abort()` (CLI-21): sets `aborted` and destroys. Returns false when the
    /// request was already aborted (Node then does nothing).
    pub fn abort(&mut self) -> bool {
        if self.aborted {
            return false;
        }
        self.aborted = true;
        self.destroy();
        true
    }
}
