//! The suite's application: what every adapter's server does with a request, decided
//! here once so that the adapters only carry it out.
//!
//! An adapter's request listener records the call ([`crate::Events::request`]),
//! waits [`read_delay`], reads the whole body, builds a [`Request`], calls
//! [`reply`] and performs the [`Reply`] on its `ServerResponse` (panicking first for
//! [`Reply::panic`]): `set_status_code`, each `set_header`, each of `writes` with `write`, then
//! `add_trailers` when there are trailers, then `end(end)`; for
//! [`Reply::drop_unended`] it drops the response after the writes, without `end`.
//!
//! Routes:
//! * `/hello` (any query): `200`, `Content-Type: text/plain`, `end("Hello, World!")`;
//! * `/echo`: the body back via `end`, with `X-Method`, `X-Te` (the request's
//!   `transfer-encoding`), `X-Expect` and `X-Trailers` (`name=value;…`);
//! * `/chunks`: two `write`s and an empty `end` (a chunked response);
//! * `/trailers`: `Trailer: X-Checksum`, two `write`s, the trailer `X-Checksum: abc123`;
//! * `/big`: 1 MiB of `y` in 64 KiB writes;
//! * `/drop`: `X-Dropped: yes`, then dropped without `end` (nothing sent yet);
//! * `/drop-mid`: one `write`, then dropped without `end`;
//! * `/status/<code>`: that status, `end()` without a body;
//! * `/paused-count`: read after [`read_delay`]; the body's length as the body;
//! * `/panic`: the handler panics ([`Reply::panic`]: the adapter's `perform`
//!   panics before touching the response);
//! * `/refuse`: `413` (used by the `'checkContinue'` listener without `100`);
//! * anything else: the method and URL as the body.

use bytes::Bytes;

/// What the application saw of a request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `req.method`.
    pub method: String,
    /// `req.url`.
    pub url: String,
    /// `(lower-cased name, value)` of the header fields Node's `headers` view holds.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Bytes,
    /// `(lower-cased name, value)` of the trailers.
    pub trailers: Vec<(String, String)>,
}

impl Request {
    /// The value of header `name` (lower case), or `""`.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// What the application does with the response.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    /// `res.statusCode`.
    pub status: u16,
    /// `res.setHeader(name, value)`, in order.
    pub headers: Vec<(&'static str, String)>,
    /// `res.write(chunk)`, in order.
    pub writes: Vec<Bytes>,
    /// `res.addTrailers(…)` before `end`, when not empty.
    pub trailers: Vec<(&'static str, String)>,
    /// `res.end(chunk)`.
    pub end: Option<Bytes>,
    /// Drop the response after the writes, without `end`.
    pub drop_unended: bool,
    /// Panic in the handler instead of answering (`/panic`).
    pub panic: bool,
}

/// The application's reply to `req`.
pub fn reply(req: &Request) -> Reply {
    let mut r = Reply {
        status: 200,
        ..Reply::default()
    };
    match req.url.as_str() {
        url if url == "/hello" || url.starts_with("/hello?") => {
            r.headers.push(("Content-Type", "text/plain".into()));
            r.end = Some(Bytes::from_static(b"Hello, World!"));
        }
        "/echo" => {
            let trailers: Vec<String> = req
                .trailers
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            r.headers.push(("X-Method", req.method.clone()));
            r.headers
                .push(("X-Te", req.header("transfer-encoding").to_owned()));
            r.headers
                .push(("X-Expect", req.header("expect").to_owned()));
            r.headers.push(("X-Trailers", trailers.join(";")));
            r.end = Some(req.body.clone());
        }
        "/chunks" => {
            r.writes = vec![Bytes::from_static(b"part1,"), Bytes::from_static(b"part2")];
        }
        "/trailers" => {
            r.headers.push(("Trailer", "X-Checksum".into()));
            r.writes = vec![Bytes::from_static(b"part1,"), Bytes::from_static(b"part2")];
            r.trailers.push(("X-Checksum", "abc123".into()));
        }
        "/big" => {
            let chunk = Bytes::from(vec![b'y'; 64 * 1024]);
            r.writes = vec![chunk; BIG_LEN / (64 * 1024)];
        }
        "/drop" => {
            r.headers.push(("X-Dropped", "yes".into()));
            r.drop_unended = true;
        }
        "/drop-mid" => {
            r.writes = vec![Bytes::from_static(b"partial")];
            r.drop_unended = true;
        }
        "/refuse" => r.status = 413,
        "/panic" => r.panic = true,
        "/paused-count" => r.end = Some(req.body.len().to_string().into()),
        url if url.starts_with("/status/") => {
            r.status = url["/status/".len()..].parse().unwrap_or(500);
        }
        _ => r.end = Some(format!("{} {}", req.method, req.url).into()),
    }
    r
}

/// How long the request handler waits before it reads the body: [`PAUSE`] for
/// `/paused-count`, else zero. An adapter's handler sleeps that long (its runtime's
/// sleep) before reading, so that a scenario can see the server stop reading.
pub fn read_delay(url: &str) -> std::time::Duration {
    if url == "/paused-count" {
        PAUSE
    } else {
        std::time::Duration::ZERO
    }
}

/// The handler's pause before reading `/paused-count`'s body.
pub const PAUSE: std::time::Duration = std::time::Duration::from_millis(1500);

/// The length of `/big`'s body.
pub const BIG_LEN: usize = 1024 * 1024;

/// The `'checkContinue'` listener's decision: `true` = call `write_continue()`, then
/// read the body and answer with [`reply`]; `false` = answer [`reply`] at once
/// without reading the body (`/refuse`).
pub fn check_continue(req: &Request) -> bool {
    req.url != "/refuse"
}

/// What the `'upgrade'` listener writes first, before the head bytes and the echo.
pub const UPGRADE_101: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n";

/// What the `'connect'` listener writes first for a `CONNECT` to `authority`, before
/// the head bytes and the echo.
pub fn connect_reply(authority: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 Connection Established\r\nX-Authority: {authority}\r\n\r\n").into_bytes()
}

/// What the `'clientError'` listener writes on the socket for an error with `code`
/// before it closes the socket.
pub fn client_error_reply(code: &str) -> Vec<u8> {
    format!("HTTP/1.1 400 Bad Request\r\nX-Error: {code}\r\nConnection: close\r\n\r\n").into_bytes()
}
