//! The proto side of the plaintext benchmark, without sockets: what one
//! [`ServerConn`] costs per request when `wrk` pipelines requests at it and the
//! application answers each as `crates/rt-tokio/examples/hello-server.rs` does.
//!
//! ```text
//! server-pipeline [--iters N] [--depth 16] [--conns 1]
//! ```
//!
//! Every round appends `depth` copies of wrk's request (the `Accept` and
//! `Connection` headers `../shared/bench/server-compare.sh` sends) to the receive
//! buffer, polls every event, answers each request with
//! `setHeader('Content-Type', 'text/plain')` + `end('Hello, World!')` through the
//! same sequence of [`ServerConn::response_fields`] / [`ServerConn::response`] calls
//! the runtime layer makes (set the header, end and read the drain state), then
//! takes the outgoing bytes as a
//! vectored write would and reports them transmitted. `--depth 1` is plain
//! keep-alive.
//!
//! Prints `SERVER requests=N depth=D bytes_out=B ns_per_req=T`. For instruction
//! counts (deterministic), run it twice under callgrind:
//! `../shared/bench/instr-per-iter.sh 'target/release/examples/server-pipeline --iters {iters}'`
//! or `cargo xtask bench server --icount`.

use std::hint::black_box;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, Bytes};
use courier_proto::outgoing::HeaderValue;
use courier_proto::server::{Dispatch, ServerConfig, ServerConn, ServerEvent};

/// What wrk 4.1 sends for `wrk -H 'Accept: …' -H 'Connection: keep-alive' http://127.0.0.1:PORT/`.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:40000\r\n\
Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n\
Connection: keep-alive\r\n\r\n";

const BODY: &[u8] = b"Hello, World!";
const DATE: &[u8] = b"Sun, 06 Nov 1994 08:49:37 GMT";

fn main() {
    let mut iters: u64 = 1_000_000;
    let mut depth: usize = 16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--iters" => iters = v.parse().expect("--iters N"),
            "--depth" => depth = v.parse().expect("--depth D"),
            other => panic!("unknown option {other}"),
        }
    }
    let depth = depth.max(1);
    let batch: Vec<u8> = REQUEST.repeat(depth);
    let cfg = Arc::new(ServerConfig::default());
    let now = Instant::now();
    let mut conn = ServerConn::new(cfg, now);
    conn.set_date(Bytes::from_static(DATE));

    let mut ids = Vec::with_capacity(depth);
    let mut done: u64 = 0;
    let mut bytes_out: u64 = 0;
    let t0 = Instant::now();
    while done < iters {
        // One read: the driver reads straight into the receive buffer.
        let buf = conn.recv_buf();
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(8192);
        }
        buf.extend_from_slice(&batch);
        conn.received(now);
        // The driver routes events; requests go to the application.
        while let Some(ev) = conn.poll_event() {
            match ev {
                ServerEvent::Request {
                    id,
                    head,
                    dispatch: Dispatch::Request,
                    ..
                } => {
                    black_box(&head);
                    ids.push(id);
                }
                other => {
                    black_box(other);
                }
            }
        }
        // The application, as hello-server does it through rt's ServerResponse: the
        // header through `response_fields`, `end` through `response` (which also
        // reads the response's unsent bytes for `drained()`); its `Drop` looks
        // nothing up once `end` succeeded.
        for id in ids.drain(..) {
            if let Some(r) = conn.response_fields(id) {
                let _ = r.set_header("Content-Type", HeaderValue::from("text/plain"));
            }
            let mut buffered = 0;
            if let Some(mut r) = conn.response(id) {
                let _ = r.end(Some(Bytes::from_static(BODY)));
                buffered = r.buffered_len();
            }
            // `drained()`: the unsent bytes against the high-water mark.
            black_box(conn.outgoing().len() + buffered);
            done += 1;
        }
        // Finished / Dropped events.
        while let Some(ev) = conn.poll_event() {
            black_box(ev);
        }
        // One vectored write of everything queued.
        loop {
            let out = conn.outgoing();
            if out.is_empty() {
                break;
            }
            let mut slices = [IoSlice::new(&[]); 64];
            let n = out.chunks_vectored(&mut slices);
            let written: usize = slices[..n].iter().map(|s| black_box(s.len())).sum();
            bytes_out += written as u64;
            conn.transmitted(now, written);
        }
        black_box(conn.poll_timeout());
        assert!(conn.wants_read(), "the connection stopped reading");
    }
    let el = t0.elapsed();
    println!(
        "SERVER requests={done} depth={depth} bytes_out={bytes_out} ns_per_req={:.1}",
        el.as_nanos() as f64 / done as f64
    );
}
