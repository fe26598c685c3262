//! `http.request` options: the URL form (CLI-1), the connection options (CLI-5) and
//! the agent choice (CLI-2), validated as Node validates them.

use core::fmt;
use core::time::Duration;
use std::net::IpAddr;

use std::sync::Arc;

use courier_proto::agent::{AgentOptions, AgentOptionsError, NameOptions, PoolKey};
use courier_proto::outgoing::{
    ClientRequest as ProtoRequest, HeaderValue, OutgoingError, RequestAgent, RequestHeaders,
    RequestOptions, UrlParts,
};
use url::Url;

use super::ConnectTarget;
use super::agent::{Agent, global_agent};

/// The `url` argument of `http.request(url[, options])`: a string, parsed when the
/// request is made (a bad one fails there, as Node's `new URL()` throws), or a URL
/// parsed already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlArg {
    /// A URL string.
    Text(String),
    /// A parsed URL.
    Parsed(Url),
}

/// The `agent` option (CLI-2).
#[derive(Debug, Clone, Default)]
pub enum AgentChoice {
    /// `undefined`: [`global_agent`] (keep-alive, timeout 5 s, AGT-2).
    #[default]
    Global,
    /// `agent: false`: a brand-new agent with default options, used by this request
    /// only (so `Connection: close`, CLI-11).
    OneOff,
    /// An agent of the application's.
    Agent(Agent),
}

/// Everything `http.request` takes: an optional URL, the request options (which win
/// over the URL's parts, CLI-1), the connection options and the agent.
///
/// ```
/// use courier_rt::client::{ClientOptions, RequestOptions};
///
/// let o = ClientOptions::url("http://127.0.0.1:8080/p?q=1").with(RequestOptions {
///     method: Some("POST".into()),
///     ..RequestOptions::default()
/// });
/// assert_eq!(o.request.method.as_deref(), Some("POST"));
/// let o: ClientOptions = "http://127.0.0.1/".into();
/// assert!(o.url.is_some());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// The URL, if the request was given one.
    pub url: Option<UrlArg>,
    /// The request options: method, path, host, port, headers, auth, timeout, …
    /// Their `agent` field is replaced by the one [`Self::agent`] resolves to.
    pub request: RequestOptions,
    /// `socketPath`: a Unix socket to connect to (the `Host` field still uses
    /// host and port, CLI-5).
    pub socket_path: Option<String>,
    /// `localAddress`: an IP address to bind the socket to.
    pub local_address: Option<String>,
    /// `family`: 0, 4 or 6 (`ERR_INVALID_ARG_VALUE` otherwise).
    pub family: Option<u8>,
    /// `agent` (CLI-2).
    pub agent: AgentChoice,
    /// `req.maxHeadersCount` (CLI-27, MSG-6): set here, since the response parser
    /// takes it when the request gets its socket (`None` = Node's `null`, 1000).
    pub max_headers_count: Option<usize>,
}

impl ClientOptions {
    /// Options for `url` (a `&str`, `String` or [`Url`]).
    pub fn url(url: impl Into<UrlArg>) -> Self {
        Self {
            url: Some(url.into()),
            ..Self::default()
        }
    }

    /// `request(url, options)`: these request options over the URL's (CLI-1).
    pub fn with(mut self, request: RequestOptions) -> Self {
        self.request = request;
        self
    }

    /// `method`.
    pub fn method(mut self, method: &str) -> Self {
        self.request.method = Some(method.to_owned());
        self
    }

    /// Adds one field to the `headers` option (object form).
    pub fn header(mut self, name: &str, value: impl Into<HeaderValue>) -> Self {
        let value = value.into();
        match &mut self.request.headers {
            RequestHeaders::Object(v) | RequestHeaders::Array(v) => {
                v.push((name.to_owned(), value));
            }
        }
        self
    }

    /// `timeout` (CLI-23).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.request.timeout = Some(timeout);
        self
    }

    /// `socketPath`.
    pub fn socket_path(mut self, path: impl Into<String>) -> Self {
        self.socket_path = Some(path.into());
        self
    }

    /// `localAddress`.
    pub fn local_address(mut self, address: impl Into<String>) -> Self {
        self.local_address = Some(address.into());
        self
    }

    /// `family`.
    pub fn family(mut self, family: u8) -> Self {
        self.family = Some(family);
        self
    }

    /// `agent`.
    pub fn agent(mut self, agent: AgentChoice) -> Self {
        self.agent = agent;
        self
    }

    /// The request options with the URL merged in, ignoring a URL that does not
    /// parse (for naming only).
    pub(crate) fn merged_request(&self) -> RequestOptions {
        let parts = match &self.url {
            None => None,
            Some(UrlArg::Text(s)) => parse_url(s).ok(),
            Some(UrlArg::Parsed(u)) => Some(url_parts(u)),
        };
        match parts {
            Some(p) => self
                .request
                .clone()
                .with_url(&p)
                .unwrap_or_else(|_| self.request.clone()),
            None => self.request.clone(),
        }
    }

    /// The agent these options resolve to (a one-off agent is made here).
    pub(crate) fn resolve_agent(&self) -> Agent {
        match &self.agent {
            AgentChoice::Global => global_agent(),
            AgentChoice::OneOff => Agent::one_off(),
            AgentChoice::Agent(a) => a.clone(),
        }
    }

    /// The request options with the URL merged in and the agent set (CLI-1, CLI-2).
    fn merged(&self, aopts: &AgentOptions) -> Result<RequestOptions, ClientOptionsError> {
        let mut request = self.request.clone();
        request.agent = Some(RequestAgent::from_options(aopts));
        match &self.url {
            None => Ok(request),
            Some(u) => {
                let parts = match u {
                    UrlArg::Text(s) => match PlainUrl::parse_cached(s) {
                        Some(plain) => return Ok(plain.merge(request)),
                        None => parse_url(s)?,
                    },
                    UrlArg::Parsed(u) => url_parts(u),
                };
                Ok(request.with_url(&parts)?)
            }
        }
    }

    /// Validates everything, in Node's order: the URL, the request (CLI-3 … CLI-10),
    /// then the connection options.
    pub(crate) fn resolve(&self) -> Result<Resolved, ClientOptionsError> {
        let agent = self.resolve_agent();
        let aopts = agent.options();
        let request = self.merged(&aopts)?;
        let timeout = request.timeout;
        let mut req = Box::new(ProtoRequest::new(request)?);
        req.set_max_headers_count(self.max_headers_count);
        if let Some(f) = self.family {
            if !matches!(f, 0 | 4 | 6) {
                return Err(ClientOptionsError::InvalidFamily { received: f });
            }
        }
        let local_address =
            match self.local_address.as_deref().filter(|s| !s.is_empty()) {
                None => None,
                Some(s) => Some(s.parse::<IpAddr>().map_err(|_| {
                    ClientOptionsError::InvalidLocalAddress {
                        received: s.to_owned(),
                    }
                })?),
            };
        let socket_path = self.socket_path.as_deref().filter(|s| !s.is_empty());
        let family = self.family.filter(|&f| f != 0);
        let same = |p: &Place| {
            let t = &*p.target;
            t.host == req.host()
                && t.port == req.port()
                && t.socket_path.as_deref() == socket_path
                && t.local_address == local_address
                && t.family == family
                && t.no_delay == aopts.no_delay
                && t.keep_alive == aopts.tcp_keep_alive()
                && p.local_address == self.local_address
        };
        let cached = LAST_PLACE.with(|last| {
            let last = last.try_borrow().ok()?;
            last.as_ref()
                .filter(|p| same(p))
                .map(|p| (p.key.clone(), Arc::clone(&p.target)))
        });
        let (name, target) = match cached {
            Some(place) => place,
            None => {
                let name = NameOptions {
                    host: Some(req.host()),
                    port: Some(req.port()),
                    local_address: self.local_address.as_deref(),
                    family,
                    socket_path,
                }
                .get_name();
                let target = Arc::new(ConnectTarget {
                    host: req.host().to_owned(),
                    port: req.port(),
                    socket_path: socket_path.map(str::to_owned),
                    local_address,
                    family,
                    no_delay: aopts.no_delay,
                    keep_alive: aopts.tcp_keep_alive(),
                });
                LAST_PLACE.with(|last| {
                    if let Ok(mut last) = last.try_borrow_mut() {
                        *last = Some(Place {
                            key: name.clone(),
                            target: Arc::clone(&target),
                            local_address: self.local_address.clone(),
                        });
                    }
                });
                (name, target)
            }
        };
        Ok(Resolved {
            req,
            agent,
            target,
            name,
            timeout,
        })
    }
}

/// Where the last request resolved on a thread goes: its pool name and connection
/// target, shared by the next request to the same place (a name is a function of
/// the fields compared, so reusing it changes nothing).
struct Place {
    key: PoolKey,
    target: Arc<ConnectTarget>,
    /// The `localAddress` option as given (the name uses this text).
    local_address: Option<String>,
}

std::thread_local! {
    static LAST_PLACE: core::cell::RefCell<Option<Place>> = const { core::cell::RefCell::new(None) };
}

/// Validated options, ready to become a request.
pub(crate) struct Resolved {
    pub(crate) req: Box<ProtoRequest>,
    pub(crate) agent: Agent,
    pub(crate) target: Arc<ConnectTarget>,
    pub(crate) name: PoolKey,
    pub(crate) timeout: Option<Duration>,
}

impl From<&str> for UrlArg {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl From<String> for UrlArg {
    fn from(s: String) -> Self {
        Self::Text(s)
    }
}

impl From<Url> for UrlArg {
    fn from(u: Url) -> Self {
        Self::Parsed(u)
    }
}

impl From<&str> for ClientOptions {
    fn from(s: &str) -> Self {
        Self::url(s)
    }
}

impl From<String> for ClientOptions {
    fn from(s: String) -> Self {
        Self::url(s)
    }
}

impl From<Url> for ClientOptions {
    fn from(u: Url) -> Self {
        Self::url(u)
    }
}

impl From<RequestOptions> for ClientOptions {
    fn from(request: RequestOptions) -> Self {
        Self {
            request,
            ..Self::default()
        }
    }
}

/// Parses a URL string as Node's `new URL()` does (WHATWG) into the parts
/// `urlToHttpOptions` reads; `ERR_INVALID_URL` when it does not parse.
///
/// ```
/// use courier_rt::client::parse_url;
/// let p = parse_url("http://u:p@[::1]:8080/a b?q#h").unwrap();
/// assert_eq!((p.hostname.as_str(), p.port, p.path()), ("[::1]", Some(8080), "/a%20b?q".to_owned()));
/// assert_eq!(parse_url("nope").unwrap_err().code(), "ERR_INVALID_URL");
/// ```
pub fn parse_url(input: &str) -> Result<UrlParts, ClientOptionsError> {
    if let Some(parts) = parse_plain_url(input) {
        return Ok(parts);
    }
    Url::parse(input)
        .map(|u| url_parts(&u))
        .map_err(|_| ClientOptionsError::InvalidUrl {
            input: input.to_owned(),
        })
}

/// The common URL shape, parsed without the `url` crate: `http://` or `https://`, a
/// lower-case ASCII domain or a dotted-decimal IPv4 address, an optional port, a
/// path and query of plain ASCII characters, no user info, no fragment. For every
/// input it accepts, the WHATWG parser leaves each part as written (nothing to
/// lower-case, percent-encode, normalize or IDNA-map), except the port, which is a
/// number and absent when it is the scheme's default; anything else goes to the
/// `url` crate. The `url` crate is the reference: a test checks that both agree on
/// accepted inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PlainUrl<'a> {
    protocol: &'static str,
    host: &'a str,
    port: Option<u16>,
    /// The pathname (empty for `/`).
    path: &'a str,
    /// The query after `?`, when there is a `?`.
    query: Option<&'a str>,
}

impl<'a> PlainUrl<'a> {
    fn parse(input: &'a str) -> Option<Self> {
        let b = input.as_bytes();
        let (protocol, default_port, mut i) = if b.starts_with(b"http://") {
            ("http:", 80, 7)
        } else if b.starts_with(b"https://") {
            ("https:", 443, 8)
        } else {
            return None;
        };
        let host_start = i;
        while i < b.len() && matches!(b[i], b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.') {
            i += 1;
        }
        let host = &input[host_start..i];
        if !plain_host(host.as_bytes()) {
            return None;
        }
        let mut port = None;
        if b.get(i) == Some(&b':') {
            i += 1;
            let digits = i;
            let mut value: u32 = 0;
            while i < b.len() && i - digits < 5 && b[i].is_ascii_digit() {
                value = value * 10 + u32::from(b[i] - b'0');
                i += 1;
            }
            if i == digits {
                return None;
            }
            let value = u16::try_from(value).ok()?;
            port = (value != default_port).then_some(value);
        }
        // The path: plain characters only (no `%`: `%2e` segments are dot
        // segments), no `.` or `..` segment (the parser removes them).
        let path_start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b[i]))
        {
            i += 1;
        }
        let path = &input[path_start..i];
        if !(path.is_empty() || path.starts_with('/')) || has_dot_segment(path.as_bytes()) {
            return None;
        }
        // The query: printable ASCII except what the parser percent-encodes there,
        // and `#` (a fragment) and `\\`.
        let query = match b.get(i) {
            None => None,
            Some(b'?') => {
                let plain = |c: &u8| {
                    c.is_ascii_graphic() && !matches!(c, b'"' | b'#' | b'<' | b'>' | b'\'' | b'\\')
                };
                if !b[i + 1..].iter().all(plain) {
                    return None;
                }
                Some(&input[i + 1..])
            }
            Some(_) => return None,
        };
        Some(Self {
            protocol,
            host,
            port,
            path,
            query,
        })
    }

    /// [`Self::parse`], remembering the last URL parsed on this thread: a client
    /// repeating a request parses its URL once (the parts are a function of the
    /// string).
    fn parse_cached(input: &'a str) -> Option<Self> {
        let hit = LAST_URL
            .try_with(|last| {
                let last = last.try_borrow().ok()?;
                let last = last.as_ref().filter(|l| l.input == input)?;
                Some(Self {
                    protocol: last.protocol,
                    host: input.get(last.host.clone())?,
                    port: last.port,
                    path: input.get(last.path.clone())?,
                    query: match &last.query {
                        Some(q) => Some(input.get(q.clone())?),
                        None => None,
                    },
                })
            })
            .ok()
            .flatten();
        if hit.is_some() {
            return hit;
        }
        let parsed = Self::parse(input)?;
        let at = |part: &str| {
            let start = (part.as_ptr() as usize).wrapping_sub(input.as_ptr() as usize);
            start..start + part.len()
        };
        let _ = LAST_URL.try_with(|last| {
            if let Ok(mut last) = last.try_borrow_mut() {
                // The string's memory is kept from one URL to the next.
                let mut text = last.take().map(|l| l.input).unwrap_or_default();
                text.clear();
                text.push_str(input);
                *last = Some(LastUrl {
                    input: text,
                    protocol: parsed.protocol,
                    host: at(parsed.host),
                    port: parsed.port,
                    path: at(parsed.path),
                    query: parsed.query.map(at),
                });
            }
        });
        Some(parsed)
    }

    /// The URL API's parts.
    fn parts(&self) -> UrlParts {
        UrlParts {
            protocol: self.protocol.to_owned(),
            hostname: self.host.to_owned(),
            port: self.port,
            pathname: if self.path.is_empty() { "/" } else { self.path }.to_owned(),
            search: match self.query {
                Some(q) if !q.is_empty() => format!("?{q}"),
                _ => String::new(),
            },
            hash: String::new(),
            username: String::new(),
            password: String::new(),
        }
    }

    /// `request.with_url(&self.parts())` without the parts: `urlToHttpOptions`
    /// (`protocol`, `hostname`, `port`, `path` = pathname + search; no `auth`, as
    /// there is no user info) under the given options, except that an `http:`
    /// protocol is left unset (the request's default: the same request, one string
    /// fewer).
    fn merge(&self, request: RequestOptions) -> RequestOptions {
        let path = || {
            let pathname = if self.path.is_empty() { "/" } else { self.path };
            match self.query {
                Some(q) if !q.is_empty() => [pathname, "?", q].concat(),
                _ => pathname.to_owned(),
            }
        };
        RequestOptions {
            // `http:` is the request's own default: left unset, it is not copied.
            protocol: request
                .protocol
                .or_else(|| (self.protocol != "http:").then(|| self.protocol.to_owned())),
            hostname: request.hostname.or_else(|| Some(self.host.to_owned())),
            port: request.port.or(self.port),
            path: request.path.or_else(|| Some(path())),
            ..request
        }
    }
}

/// The last URL string [`PlainUrl::parse_cached`] parsed, and where its parts are.
struct LastUrl {
    input: String,
    protocol: &'static str,
    host: core::ops::Range<usize>,
    port: Option<u16>,
    path: core::ops::Range<usize>,
    query: Option<core::ops::Range<usize>>,
}

std::thread_local! {
    static LAST_URL: core::cell::RefCell<Option<LastUrl>> = const { core::cell::RefCell::new(None) };
}

fn parse_plain_url(input: &str) -> Option<UrlParts> {
    PlainUrl::parse(input).map(|p| p.parts())
}

/// Whether a path has a `.` or `..` segment.
fn has_dot_segment(path: &[u8]) -> bool {
    path.split(|&c| c == b'/')
        .skip(1)
        .any(|seg| seg == b"." || seg == b"..")
}

/// A host (of `a-z`, `0-9`, `-`, `.`) that the WHATWG parser keeps as written: a
/// dotted-decimal IPv4 address in its canonical form, or a domain of non-empty
/// labels without a hyphen at either end or `--` (so no `xn--` label) whose last
/// label starts with a letter (so that it is not read as an IPv4 number).
fn plain_host(host: &[u8]) -> bool {
    if host.is_empty() {
        return false;
    }
    let mut labels = 0;
    let mut ipv4 = true;
    let mut domain = true;
    let mut last = 0;
    for label in host.split(|&c| c == b'.') {
        let (Some(&first), Some(&end)) = (label.first(), label.last()) else {
            return false;
        };
        labels += 1;
        last = first;
        if label.iter().all(u8::is_ascii_digit) {
            let canonical = label.len() == 1 || (first != b'0' && label.len() <= 3);
            let value = label
                .iter()
                .fold(0u32, |v, &d| v.saturating_mul(10) + u32::from(d - b'0'));
            ipv4 &= canonical && value <= 255;
        } else {
            ipv4 = false;
        }
        domain &= first != b'-' && end != b'-' && !label.windows(2).any(|w| w == b"--");
    }
    (ipv4 && labels == 4) || (domain && last.is_ascii_lowercase())
}

/// The parts of a parsed URL as Node's URL API exposes them.
pub fn url_parts(u: &Url) -> UrlParts {
    let with = |mark: &str, s: Option<&str>| match s {
        Some(s) if !s.is_empty() => format!("{mark}{s}"),
        _ => String::new(),
    };
    UrlParts {
        protocol: format!("{}:", u.scheme()),
        hostname: u.host_str().unwrap_or_default().to_owned(),
        port: u.port(),
        pathname: u.path().to_owned(),
        search: with("?", u.query()),
        hash: with("#", u.fragment()),
        username: u.username().to_owned(),
        password: u.password().unwrap_or_default().to_owned(),
    }
}

/// An `http.request` call Node would throw from, with Node's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientOptionsError {
    /// The URL string does not parse: `ERR_INVALID_URL`, `Invalid URL` (CLI-1).
    InvalidUrl {
        /// The string given (Node's `err.input`).
        input: String,
    },
    /// The request options (path, protocol, method, headers, user info; CLI-3 …
    /// CLI-10): `ERR_INVALID_PROTOCOL`, `ERR_UNESCAPED_CHARACTERS`, …
    Request(OutgoingError),
    /// `family` other than 0, 4, 6: `ERR_INVALID_ARG_VALUE`.
    InvalidFamily {
        /// The value given.
        received: u8,
    },
    /// `localAddress` that is not an IP address: `ERR_INVALID_IP_ADDRESS`.
    InvalidLocalAddress {
        /// The value given.
        received: String,
    },
    /// Invalid agent options (AGT-1).
    Agent(AgentOptionsError),
}

impl ClientOptionsError {
    /// Node's `err.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUrl { .. } => "ERR_INVALID_URL",
            Self::Request(e) => e.code(),
            Self::InvalidFamily { .. } => "ERR_INVALID_ARG_VALUE",
            Self::InvalidLocalAddress { .. } => "ERR_INVALID_IP_ADDRESS",
            Self::Agent(e) => e.code(),
        }
    }
}

impl fmt::Display for ClientOptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl { .. } => f.write_str("Invalid URL"),
            Self::Request(e) => e.fmt(f),
            Self::InvalidFamily { received } => write!(
                f,
                "The property 'options.family' must be one of: 0, 4, 6. Received {received}"
            ),
            Self::InvalidLocalAddress { received } => {
                write!(f, "Invalid IP address: {received}")
            }
            Self::Agent(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ClientOptionsError {}

impl From<OutgoingError> for ClientOptionsError {
    fn from(e: OutgoingError) -> Self {
        Self::Request(e)
    }
}

impl From<AgentOptionsError> for ClientOptionsError {
    fn from(e: AgentOptionsError) -> Self {
        Self::Agent(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path agrees with the `url` crate wherever it answers.
    #[test]
    fn plain_urls_parse_as_the_url_crate_does() {
        let accepted = [
            "http://127.0.0.1:8080/",
            "http://127.0.0.1/",
            "http://127.0.0.1",
            "http://localhost:3000/a/b?c=d&e=f",
            "https://example.com/",
            "https://example.com:443/x",
            "http://example.com:80/x",
            "http://example.com:0/",
            "http://example.com:0080/",
            "http://a-b.c1.example/p;x=1/'q:r@s?x=/?&y=z",
            "http://h/?",
            "http://h?q",
            "http://h/p?%zz",
            "http://0.0.0.0:65535/",
            "http://255.255.255.255/",
            "http://1.2.example/",
        ];
        let rejected = [
            "HTTP://h/",
            "http://H/",
            "http://h:65536/",
            "http://h:/",
            "http://u:p@h/",
            "http://[::1]:80/",
            "http://h/a b",
            "http://h/a#f",
            "http://h/./a",
            "http://h/a/..",
            "http://h/%2e/",
            "http://h\\a",
            "http://1.2.3/",
            "http://0x7f.0.0.1/",
            "http://127.0.0.01/",
            "http://256.0.0.1/",
            "http://a.b./",
            "http://a..b/",
            "http://xn--bcher-kva.example/",
            "http://a.123/",
            "http://-a.b/",
            "http://h/\u{e9}",
            "http://h/a\"b",
            "http://h/?a<b",
            "http://h/?a'b",
            "ftp://h/",
            "http:/h/",
            "http://",
            "http:///p",
        ];
        for input in accepted {
            let fast = parse_plain_url(input).unwrap_or_else(|| panic!("{input} not taken"));
            let full = url_parts(&Url::parse(input).expect("parses"));
            assert_eq!(fast, full, "{input}");
        }
        for input in rejected {
            assert_eq!(parse_plain_url(input), None, "{input}");
        }
        // The thread's cache answers as the parser does: every input after every
        // other (a hit, a miss, a rejected one between), from a fresh copy of the
        // string each time.
        for first in accepted.iter().chain(&rejected) {
            for second in accepted.iter().chain(&rejected) {
                for input in [first, second, second, first] {
                    let copy = (*input).to_owned();
                    assert_eq!(
                        PlainUrl::parse_cached(&copy),
                        PlainUrl::parse(&copy),
                        "{input}"
                    );
                }
            }
        }
        // The direct merge is `with_url` of the parts, with and without options given.
        let given = RequestOptions {
            protocol: Some("https:".into()),
            hostname: Some("other".into()),
            port: Some(9),
            path: Some("/given".into()),
            auth: Some("a:b".into()),
            ..RequestOptions::default()
        };
        for input in accepted {
            let plain = PlainUrl::parse(input).expect("accepted");
            for request in [RequestOptions::default(), given.clone()] {
                let via_parts = request.clone().with_url(&plain.parts()).expect("merges");
                let mut merged = plain.merge(request);
                // An `http:` protocol is left unset: the request's default.
                if merged.protocol.is_none() && plain.protocol == "http:" {
                    merged.protocol = Some("http:".into());
                }
                assert_eq!(merged, via_parts, "{input}");
            }
        }
        // Every prefix and a character set at every position: never a different answer.
        let base = "http://a1.example:8080/p/q?r=s";
        for end in 0..=base.len() {
            for c in ["", "/", ".", "..", ":", "?", "%", "@", "A", "-", "0", "'"] {
                let input = format!("{}{c}{}", &base[..end], &base[end..]);
                if let Some(fast) = parse_plain_url(&input) {
                    let full = url_parts(&Url::parse(&input).expect("parses"));
                    assert_eq!(fast, full, "{input}");
                }
            }
        }
    }
}
