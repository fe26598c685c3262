//! Request-head parse cost, in the line format of `../shared/bench/parse-compare.sh`.
//!
//! ```text
//! parse-bench [--input browser,tiny] [--impl ours|httparse] [--ms 40] [--batches 15] [--iters N]
//! ```
//!
//! For each input it prints
//! `PARSE impl=ours input=<browser|tiny> bytes=<n> ns=<median> min_ns=<min> mbps=<MB/s>`:
//! the median and minimum over `batches` batches of the ns per parse, each batch sized
//! to take about `ms` milliseconds. `--iters N` fixes the batch size and makes the
//! default one batch, for instruction counting:
//! `../shared/bench/instr-per-iter.sh 'target/release/examples/parse-bench --input browser --iters {iters}'`.
//!
//! `ours` is what a server pays per keep-alive request: one [`Parser`] fed the whole
//! request and polled until `End` (the head's method, target, version and fields are
//! `Bytes` slices of the receive buffer). `httparse` is raw httparse on the same bytes,
//! built into this binary, for comparisons within one build.
//! Build it like the anchors (fat LTO, one codegen unit, `panic = "abort"`):
//! `cargo xtask bench parse` does, or see `docs/benchmarks.md`.

use std::hint::black_box;
use std::time::Instant;

use courier_proto::{Event, Parser, ParserConfig};

/// The anchors' `BROWSER` request, byte for byte (684 bytes); shared with `courier-benches`.
const BROWSER: &[u8] = include_bytes!("../../../benches/data/browser.http");

/// The anchors' `TINY` request (27 bytes); shared with `courier-benches`.
const TINY: &[u8] = include_bytes!("../../../benches/data/tiny.http");

/// One implementation: parses one whole request, returns a value that depends on it.
trait Impl {
    fn parse(&mut self, req: &[u8]) -> usize;
}

/// Our parser on one keep-alive connection.
struct Ours(Parser);

impl Impl for Ours {
    fn parse(&mut self, req: &[u8]) -> usize {
        self.0.feed(req);
        let mut fields = 0;
        loop {
            match self.0.poll() {
                Ok(Some(Event::Request(head))) => {
                    fields = head.headers.len();
                    black_box((&head.method, head.url(), head.version, &head.headers));
                }
                Ok(Some(Event::End(trailers))) => {
                    black_box(trailers);
                    return fields;
                }
                Ok(Some(other)) => panic!("unexpected event {other:?}"),
                Ok(None) => panic!("the parser wanted more input after a whole request"),
                Err(e) => panic!("the parser rejected the request: {e}"),
            }
        }
    }
}

/// Raw httparse with 32 header slots on the stack.
struct RawHttparse;

impl Impl for RawHttparse {
    fn parse(&mut self, req: &[u8]) -> usize {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut r = httparse::Request::new(&mut slots);
        match r.parse(req) {
            Ok(httparse::Status::Complete(_)) => {
                black_box((r.method, r.path, r.version, &*r.headers));
                r.headers.len()
            }
            other => panic!("httparse rejected the request: {other:?}"),
        }
    }
}

struct Opts {
    inputs: Vec<String>,
    imp: String,
    ms: f64,
    batches: usize,
    iters: u64,
}

fn opts() -> Opts {
    let mut o = Opts {
        inputs: vec!["browser".into(), "tiny".into()],
        imp: "ours".into(),
        ms: 40.0,
        batches: 0,
        iters: 0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args
            .next()
            .unwrap_or_else(|| panic!("{a} needs a value (see the comment at the top)"));
        let bad = |e: &dyn std::fmt::Display| -> ! { panic!("{a} {v}: {e}") };
        match a.as_str() {
            "--input" => o.inputs = v.split(',').map(String::from).collect(),
            "--impl" => o.imp = v,
            "--ms" => o.ms = v.parse().unwrap_or_else(|e| bad(&e)),
            "--batches" => o.batches = v.parse().unwrap_or_else(|e| bad(&e)),
            "--iters" => o.iters = v.parse().unwrap_or_else(|e| bad(&e)),
            _ => panic!("unknown argument {a}"),
        }
    }
    if o.batches == 0 {
        o.batches = if o.iters > 0 { 1 } else { 15 };
    }
    o
}

fn batch(imp: &mut dyn Impl, req: &[u8], iters: u64) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        black_box(imp.parse(black_box(req)));
    }
    t.elapsed().as_secs_f64() * 1e9
}

fn main() {
    let o = opts();
    assert_eq!(
        (BROWSER.len(), TINY.len()),
        (684, 27),
        "inputs drifted from the anchors"
    );
    for input in &o.inputs {
        let req = match input.as_str() {
            "browser" => BROWSER,
            "tiny" => TINY,
            _ => panic!("unknown input {input} (browser, tiny)"),
        };
        let mut imp: Box<dyn Impl> = match o.imp.as_str() {
            "ours" => Box::new(Ours(Parser::request(ParserConfig::default()))),
            "httparse" => Box::new(RawHttparse),
            other => panic!("unknown impl {other} (ours, httparse)"),
        };
        assert!(imp.parse(req) > 0, "no header fields parsed");
        let iters = if o.iters > 0 {
            o.iters
        } else {
            let mut n = 256;
            loop {
                let ns = batch(&mut *imp, req, n);
                if ns > o.ms * 1e6 / 8.0 {
                    break ((n as f64) * o.ms * 1e6 / ns).max(1.0) as u64;
                }
                n *= 4;
            }
        };
        let mut ns: Vec<f64> = (0..o.batches)
            .map(|_| batch(&mut *imp, req, iters) / iters as f64)
            .collect();
        ns.sort_by(f64::total_cmp);
        let med = ns[ns.len() / 2];
        println!(
            "PARSE impl={} input={input} bytes={} ns={med:.1} min_ns={:.1} mbps={:.0}",
            o.imp,
            req.len(),
            ns[0],
            req.len() as f64 * 1e3 / med
        );
    }
}
