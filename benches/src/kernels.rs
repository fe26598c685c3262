//! The measured operations. Each does one unit of work on its input and hands what it
//! produced to [`black_box`], so the optimiser cannot drop the work.

use std::hint::black_box;

use courier_proto::{Event, Headers, Parser, ParserConfig};

use crate::inputs;

/// Header slots for raw httparse: enough for every input here (the anchors use 32 too).
const SLOTS: usize = 32;

/// Raw httparse on a request head: method, path, version and header slices, with a
/// stack array of header slots. Returns the head length.
pub fn httparse_request(buf: &[u8]) -> usize {
    let mut headers = [httparse::EMPTY_HEADER; SLOTS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => {
            black_box((req.method, req.path, req.version, &*req.headers));
            n
        }
        other => panic!("httparse rejected the request: {other:?}"),
    }
}

/// Raw httparse on a response head: version, code, reason and header slices.
/// Returns the head length.
pub fn httparse_response(buf: &[u8]) -> usize {
    let mut headers = [httparse::EMPTY_HEADER; SLOTS];
    let mut res = httparse::Response::new(&mut headers);
    match res.parse(buf) {
        Ok(httparse::Status::Complete(n)) => {
            black_box((res.version, res.code, res.reason, &*res.headers));
            n
        }
        other => panic!("httparse rejected the response: {other:?}"),
    }
}

/// Our parser on one connection: each call feeds one whole message and polls until
/// its `End`, as a server (or client) reading keep-alive messages would.
#[derive(Debug)]
pub struct OursStream {
    parser: Parser,
}

impl OursStream {
    /// A request (server-side) stream.
    pub fn requests() -> Self {
        Self {
            parser: Parser::request(ParserConfig::default()),
        }
    }

    /// A response (client-side) stream.
    pub fn responses() -> Self {
        Self {
            parser: Parser::response(ParserConfig::default()),
        }
    }

    /// Feeds `msg` (one whole message) and polls until its end. Returns the number of
    /// header fields plus body bytes seen, or why the message did not complete.
    pub fn message(&mut self, msg: &[u8]) -> Result<usize, String> {
        self.parser.feed(msg);
        let mut seen = 0;
        loop {
            match self.parser.poll() {
                Ok(Some(Event::Request(head))) => {
                    seen += head.headers.len();
                    black_box((&head.method, head.url(), head.version, &head.headers));
                }
                Ok(Some(Event::Response(head))) => {
                    seen += head.headers.len();
                    black_box((head.status, &head.reason, head.version, &head.headers));
                }
                Ok(Some(Event::Data(d))) => seen += black_box(d).len(),
                Ok(Some(Event::End(trailers))) => {
                    black_box(trailers);
                    return Ok(seen);
                }
                Ok(None) => return Err("our parser wanted more input after a whole message".into()),
                Err(e) => return Err(format!("our parser rejected the message: {e}")),
            }
        }
    }

    /// Feeds `msg` in `read`-sized pieces, polling after each, until the message ends.
    /// Returns the body bytes received as `Data`, or why the message did not complete.
    pub fn message_in_reads(&mut self, msg: &[u8], read: usize) -> Result<usize, String> {
        let mut body = 0;
        for piece in msg.chunks(read) {
            self.parser.feed(piece);
            loop {
                match self.parser.poll() {
                    Ok(Some(Event::Data(d))) => body += black_box(d).len(),
                    Ok(Some(Event::End(trailers))) => {
                        black_box(trailers);
                        return Ok(body);
                    }
                    Ok(Some(head)) => {
                        black_box(head);
                    }
                    Ok(None) => break,
                    Err(e) => return Err(format!("our parser rejected the message: {e}")),
                }
            }
        }
        Err(format!("the message did not end ({body} body bytes seen)"))
    }
}

/// The parsed header fields of `msg` (a whole request), for the Node-view benchmark.
pub fn parsed_headers(msg: &[u8]) -> Result<Headers, String> {
    let mut p = Parser::request(ParserConfig::default());
    p.feed(msg);
    match p.poll() {
        Ok(Some(Event::Request(head))) => Ok(head.headers),
        other => Err(format!("no request head: {other:?}")),
    }
}

/// Node's `headers` object from parsed fields (`joinDuplicateHeaders: false`).
/// Returns the number of entries.
pub fn node_view(headers: &Headers) -> usize {
    let v = headers.node_view(false);
    black_box(&v).entries().len()
}

/// The copy floor of chunked decoding: moving the message through a receive buffer
/// in `read`-sized pieces, as `feed` must, with no parsing at all.
pub fn copy_floor(buf: &mut Vec<u8>, msg: &[u8], read: usize) -> usize {
    let mut n = 0;
    for piece in msg.chunks(read) {
        buf.clear();
        buf.extend_from_slice(piece);
        n += black_box(&*buf).len();
    }
    n
}

/// A whole response: [`inputs::RESPONSE_HEAD`] then [`inputs::RESPONSE_BODY`].
pub fn whole_response() -> Vec<u8> {
    [inputs::RESPONSE_HEAD, inputs::RESPONSE_BODY].concat()
}
