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
//! * the routes of [`script`]: the handler carries out a [`Script`] instead of
//!   reading the body and answering with [`reply`];
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

impl Request {
    /// What the app sees of `req` (every adapter's request is, or derefs to, rt's
    /// `IncomingMessage`) once its whole `body` is read.
    pub fn of(req: &courier_rt::IncomingMessage, body: Bytes) -> Self {
        Self {
            method: req.method().to_owned(),
            url: req.url().into_owned(),
            headers: pairs(req.headers()),
            body,
            trailers: req.trailers().as_ref().map(pairs).unwrap_or_default(),
        }
    }

    /// What the `'checkContinue'` listener decides on: the URL, before any body.
    pub fn head_only(req: &courier_rt::IncomingMessage) -> Self {
        Self {
            url: req.url().into_owned(),
            ..Self::default()
        }
    }
}

/// `(name, value)` of each field of a header view, values joined as Node joins them.
pub fn pairs(h: &courier_proto::NodeHeaders) -> Vec<(String, String)> {
    h.iter()
        .map(|(n, _)| (n.to_owned(), h.get_str(n).unwrap_or_default()))
        .collect()
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

impl Reply {
    /// The synchronous start of performing the reply on rt's response (every
    /// adapter's response is, or derefs to, it): panics for [`Reply::panic`], else
    /// `set_status_code` and each `set_header`.
    pub fn start(&self, res: &mut courier_rt::ServerResponse) {
        assert!(!self.panic, "the suite app's /panic");
        res.set_status_code(self.status).unwrap();
        for (name, value) in &self.headers {
            res.set_header(name, value.as_str()).unwrap();
        }
    }

    /// After the writes: `add_trailers` when there are trailers.
    pub fn add_trailers(&self, res: &mut courier_rt::ServerResponse) {
        if !self.trailers.is_empty() {
            let trailers: Vec<_> = self
                .trailers
                .iter()
                .map(|(n, v)| (*n, v.as_str().into()))
                .collect();
            res.add_trailers(trailers).unwrap();
        }
    }
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

/// What the `'clientError'` listener notes ([`crate::Events::note`]) before it
/// answers: `client-error code={} message={} bytes-parsed={} raw={rawPacket:?}`.
pub fn client_error_note(err: &courier_rt::ClientErrorEvent) -> String {
    format!(
        "client-error code={} message={} bytes-parsed={} raw={:?}",
        err.code(),
        err.message(),
        err.bytes_parsed(),
        err.raw_packet()
    )
}

/// What the `'clientError'` listener writes on the socket for an error with `code`
/// before it closes the socket.
pub fn client_error_reply(code: &str) -> Vec<u8> {
    format!("HTTP/1.1 400 Bad Request\r\nX-Error: {code}\r\nConnection: close\r\n\r\n").into_bytes()
}

/// A route whose handler does more than answer: its steps, each adapter's calls of
/// the same names, and the line it records with [`crate::Events::note`]. `T` is
/// [`SCRIPT_TIMEOUT`]; a `code` is an error's code or `ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// `/res-timeout`: `res.setTimeout(T)` (no listener), `write("partial")`, wait
    /// for the response's finish-or-close, `write("more")`; note
    /// `res-timeout finished={bool} write={code}`.
    ResTimeout,
    /// `/res-timeout-notify`: `res.setTimeout(T, listener)`, `write("partial")`, wait
    /// for the listener, `end("|end")`.
    ResTimeoutNotify,
    /// `/req-timeout`: `req.setTimeout(T)` (no listener) before reading, read the
    /// body (the error), `res.end("x")`; note `req-timeout-plain read={message}
    /// aborted={bool} end={code}`.
    ReqTimeout,
    /// `/req-timeout-notify`: `req.setTimeout(T, listener)` before reading, wait for
    /// the listener; note `req-timeout count={n}`; answer `408` `end("slow")`.
    ReqTimeoutNotify,
    /// `/finish`: `end("done")`, then wait for the response's finish-or-close; note
    /// `finish before={outcome before end:?} finished={bool}`.
    Finish,
    /// `/leave`: `write("part")`, wait for finish-or-close, `write("more")`; note
    /// `leave finished={bool} write={code}`.
    Leave,
    /// `/destroy-unread`: read one body chunk, `req.destroy(Error("enough"))`, read
    /// again (the error), and again (the end), `res.end("x")`, wait for
    /// finish-or-close; note `destroy-unread first={chunk} err={message}
    /// then-end={bool} aborted={bool} end={code} finished={bool}`.
    DestroyUnread,
    /// `/destroy-read`: read the whole body, `req.destroy()`; note
    /// `destroy-read aborted={bool}`; `end(body)`.
    DestroyRead,
    /// `/stream`: read one body chunk and note `stream first={chunk}`; read the rest;
    /// note `stream complete={bool} raw-trailers={req.rawTrailers:?}`; then
    /// `writeHead(200, {X-Len: body length})`, `write(body)`, `end("|" + the X-Sum
    /// trailer)`.
    Stream,
    /// `/header-store`: [`header_store`], noting its line; `end("ok")`; note
    /// `finished={res.writableFinished}`.
    HeaderStore,
    /// `/res-destroy`: `write("partial")`, `res.destroy()`; note
    /// `destroyed ended={res.writableEnded}`.
    ResDestroy,
    /// `/other-thread`: the handler returns at once, having moved the response to a
    /// std thread that waits 20 ms, then writes `"from "` and ends with `"worker"`
    /// (the adapter's calls that work off its runtime: `write_now`/`end_now` on an
    /// async adapter, the blocking `write`/`end` on the blocking one).
    OtherThread,
    /// `/flood`: `write` 64 KiB pieces (waiting for `'drain'` each time) until one
    /// fails or [`FLOOD_CAP`] bytes went out; note `flood failed={bool}`.
    Flood,
}

/// The most [`Script::Flood`] writes.
pub const FLOOD_CAP: usize = 256 * 1024 * 1024;

/// One write of [`Script::Flood`]: 64 KiB.
pub fn flood_piece() -> Bytes {
    Bytes::from(vec![b'z'; 64 * 1024])
}

/// The note of [`Script::Flood`] once it wrote `sent` bytes: `failed` when a write
/// failed before [`FLOOD_CAP`].
pub fn flood_note(sent: usize) -> String {
    format!("flood failed={}", sent < FLOOD_CAP)
}

/// The header-store calls of [`Script::HeaderStore`] on rt's response (every
/// adapter's response is, or derefs to, it): `setHeader`, `setHeaders` (two
/// `set-cookie` gathered), `statusMessage`, `sendDate = false`; returns the line of
/// what the views then say (RES-3, RES-6).
pub fn header_store(res: &mut courier_rt::ServerResponse) -> String {
    use courier_rt::HeaderValue;
    res.set_header("X-Foo", "1").unwrap();
    res.set_headers([
        ("Set-Cookie", HeaderValue::from("a=1")),
        ("content-type", HeaderValue::from("text/plain")),
        ("set-cookie", HeaderValue::from("b=2")),
    ])
    .unwrap();
    res.set_status_message("Fine").unwrap();
    res.set_send_date(false).unwrap();
    format!(
        "names={:?} raw={:?} headers={} msg={:?} date={} strict={} finished={}",
        res.get_header_names(),
        res.get_raw_header_names(),
        res.get_headers().len(),
        res.status_message(),
        res.send_date(),
        res.strict_content_length(),
        res.writable_finished(),
    )
}

/// The `X-Len` field [`Script::Stream`] answers with.
pub fn x_len(len: usize) -> [(&'static str, courier_rt::HeaderValue); 1] {
    [("X-Len", courier_rt::HeaderValue::from(len.to_string()))]
}

/// The [`Script`] of `url`, if it has one.
pub fn script(url: &str) -> Option<Script> {
    Some(match url {
        "/res-timeout" => Script::ResTimeout,
        "/res-timeout-notify" => Script::ResTimeoutNotify,
        "/req-timeout" => Script::ReqTimeout,
        "/req-timeout-notify" => Script::ReqTimeoutNotify,
        "/finish" => Script::Finish,
        "/leave" => Script::Leave,
        "/destroy-unread" => Script::DestroyUnread,
        "/destroy-read" => Script::DestroyRead,
        "/stream" => Script::Stream,
        "/header-store" => Script::HeaderStore,
        "/res-destroy" => Script::ResDestroy,
        "/other-thread" => Script::OtherThread,
        "/flood" => Script::Flood,
        _ => return None,
    })
}

/// The timeout the [`Script`]s set.
pub const SCRIPT_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(50);

/// `ok`, or the code of `r`'s error.
pub fn code<T>(r: Result<T, courier_rt::OutgoingError>) -> &'static str {
    r.map_or_else(|e| e.code(), |_| "ok")
}

/// A body read as a [`Script`] notes it: `<n> bytes`, or the error.
pub fn read_note<E: core::fmt::Display>(r: Result<Bytes, E>) -> String {
    match r {
        Ok(b) => format!("{} bytes", b.len()),
        Err(e) => e.to_string(),
    }
}

/// A `chunk()` as a [`Script`] notes it: the bytes as text, the error's message, or
/// `None` at the end.
pub fn chunk_note<E: core::fmt::Display>(c: Option<Result<Bytes, E>>) -> String {
    match c {
        Some(Ok(b)) => String::from_utf8_lossy(&b).into_owned(),
        Some(Err(e)) => e.to_string(),
        None => "None".to_owned(),
    }
}

/// The note of [`Script::Stream`] once the body is read: `complete` and the raw
/// trailers; and the `end` chunk, `|` and the `x-sum` trailer.
pub fn stream_end(req: &courier_rt::IncomingMessage) -> (String, Bytes) {
    let note = format!(
        "stream complete={} raw-trailers={:?}",
        req.complete(),
        req.raw_trailers().unwrap_or_default()
    );
    let sum = req
        .trailers()
        .and_then(|t| t.get_str("x-sum"))
        .unwrap_or_default();
    (note, format!("|{sum}").into())
}
