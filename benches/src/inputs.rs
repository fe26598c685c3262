//! The byte inputs every parse benchmark uses.
//!
//! `BROWSER` and `TINY` are byte-for-byte the requests of the shared anchors
//! (`../shared/bench/anchors/src/bin/parse-bench.rs`), so our figures can be set beside
//! httparse, picohttpparser and llhttp measured there. `parse-compare.sh` checks the
//! byte counts (684 and 27). Their bytes live in `benches/data/*.http` (CRLF line ends,
//! kept by `.gitattributes`), which the `parse-bench` example of `courier-proto` reads too.

/// A desktop-browser navigation `GET`: 14 fields with client hints and a cookie, 684 bytes
/// (`benches/data/browser.http`).
pub const BROWSER: &[u8] = include_bytes!("../data/browser.http");

/// The smallest realistic request: one `Host` field, 27 bytes (`benches/data/tiny.http`).
pub const TINY: &[u8] = include_bytes!("../data/tiny.http");

/// An API request behind two proxies: 30 fields (more than the 16 that
/// [`courier_proto::Headers`] keeps inline, so the field list spills to the heap).
pub const FIELDS30: &[u8] = b"POST /api/v2/orders/1234/items?expand=price,stock HTTP/1.1\r\n\
Host: api.shop.example\r\n\
User-Agent: shop-mobile/7.3.1 (Android 14; Pixel 8)\r\n\
Accept: application/json\r\n\
Accept-Encoding: gzip, br\r\n\
Accept-Language: de-DE,de;q=0.9,en;q=0.5\r\n\
Priority: u=1, i\r\n\
Content-Type: application/json; charset=utf-8\r\n\
Content-Length: 0\r\n\
Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJl\r\n\
X-Request-Id: 6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f\r\n\
X-Correlation-Id: order-flow-77812\r\n\
X-Forwarded-For: 203.0.113.7, 198.51.100.23\r\n\
X-Forwarded-Proto: https\r\n\
X-Forwarded-Host: api.shop.example\r\n\
X-Forwarded-Port: 443\r\n\
X-Real-IP: 203.0.113.7\r\n\
Forwarded: for=203.0.113.7;proto=https;by=198.51.100.23\r\n\
Via: 1.1 edge-fra-3, 1.1 lb-internal-2\r\n\
traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\
tracestate: shop=00f067aa0ba902b7,vendor=t61rcWkgMzE\r\n\
X-Client-Version: 7.3.1\r\n\
X-Device-Id: 3f2a9c8e7d6b5a41\r\n\
X-Feature-Flags: checkout-v3,fast-stock\r\n\
If-None-Match: \"a1b2c3d4\"\r\n\
Cache-Control: no-cache\r\n\
Pragma: no-cache\r\n\
Origin: https://shop.example\r\n\
Referer: https://shop.example/cart\r\n\
Cookie: sid=q8w7e6r5t4y3u2i1; cart=77812; consent=essential\r\n\
Connection: keep-alive\r\n\
\r\n";

/// A typical response head, 11 fields, framed by `Content-Length: 13`.
pub const RESPONSE_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Date: Tue, 14 May 2024 09:41:07 GMT\r\n\
Server: courier-demo/0.1\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Length: 13\r\n\
Cache-Control: public, max-age=600\r\n\
ETag: \"5e1f-66433b53\"\r\n\
Last-Modified: Mon, 13 May 2024 18:02:11 GMT\r\n\
Vary: Accept-Encoding\r\n\
X-Content-Type-Options: nosniff\r\n\
Strict-Transport-Security: max-age=31536000\r\n\
Connection: keep-alive\r\n\
\r\n";

/// The 13-byte body that follows [`RESPONSE_HEAD`] when a whole response is fed.
pub const RESPONSE_BODY: &[u8] = b"Hello, World!";

/// Size of each chunk in the chunked-decoding benchmark.
pub const CHUNK_SIZE: usize = 16 * 1024;

/// Number of chunks in the chunked-decoding benchmark (1 MiB of body).
pub const CHUNK_COUNT: usize = 64;

/// How many bytes the chunked benchmark feeds at a time (one socket read's worth).
pub const READ_SIZE: usize = 64 * 1024;

/// A chunked `POST` with [`CHUNK_COUNT`] chunks of [`CHUNK_SIZE`] bytes and no trailers.
pub fn chunked_post() -> Vec<u8> {
    let mut m = Vec::with_capacity(CHUNK_COUNT * (CHUNK_SIZE + 8) + 128);
    m.extend_from_slice(b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for i in 0..CHUNK_COUNT {
        m.extend_from_slice(format!("{CHUNK_SIZE:x}\r\n").as_bytes());
        m.extend(
            (0..CHUNK_SIZE).map(|j| b'a' + ((i + j) % 26) as u8), // varied payload
        );
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"0\r\n\r\n");
    m
}

/// Body bytes in [`chunked_post`].
pub const CHUNKED_BODY_BYTES: usize = CHUNK_SIZE * CHUNK_COUNT;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_anchors() {
        assert_eq!(BROWSER.len(), 684);
        assert_eq!(TINY.len(), 27);
    }

    #[test]
    fn httparse_reads_every_input_whole() {
        let mut h = [httparse::EMPTY_HEADER; 40];
        for (input, fields) in [(BROWSER, 14), (TINY, 1), (FIELDS30, 30)] {
            let mut req = httparse::Request::new(&mut h);
            assert_eq!(
                req.parse(input).unwrap(),
                httparse::Status::Complete(input.len())
            );
            assert_eq!(req.headers.len(), fields);
        }
        let mut res = httparse::Response::new(&mut h);
        let n = RESPONSE_HEAD.len();
        assert_eq!(
            res.parse(RESPONSE_HEAD).unwrap(),
            httparse::Status::Complete(n)
        );
        assert_eq!(res.headers.len(), 11);
    }

    #[test]
    fn chunked_post_is_well_formed() {
        let m = chunked_post();
        let mut h = [httparse::EMPTY_HEADER; 4];
        let mut req = httparse::Request::new(&mut h);
        let httparse::Status::Complete(mut at) = req.parse(&m).unwrap() else {
            panic!("partial head")
        };
        let mut body = 0;
        loop {
            let httparse::Status::Complete((n, size)) =
                httparse::parse_chunk_size(&m[at..]).unwrap()
            else {
                panic!("partial chunk line")
            };
            at += n;
            if size == 0 {
                break;
            }
            at += size as usize;
            assert_eq!(&m[at..at + 2], b"\r\n");
            at += 2;
            body += size as usize;
        }
        assert_eq!(&m[at..], b"\r\n");
        assert_eq!(body, CHUNKED_BODY_BYTES);
    }
}
