//! The benchmark cases: which kernels run side by side on which input.
//!
//! In every case the first implementation is ours and the second, if any, is the
//! baseline it is compared with in the same run. The last case, `a/a-noise`, runs raw
//! httparse against itself: its ratio shows how far this run's noise alone moves a
//! ratio (ideally 1.00 with a narrow spread).

use std::hint::black_box;

use crate::inputs;
use crate::kernels::{self, OursStream};
use crate::timing::BatchFn;

/// How a case's figures are read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    /// Nanoseconds per operation (lower is better).
    NsPerOp,
    /// Throughput over this many payload bytes per operation (higher is better).
    Throughput {
        /// Payload bytes per operation.
        bytes: usize,
    },
}

/// What a case is held to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// No target: the figure is informative.
    None,
    /// Our time is at most this multiple of the baseline's.
    RatioAtMost(f64),
    /// Our throughput is at least this many GB/s (10^9 bytes per second).
    GbpsAtLeast(f64),
}

/// Builds one implementation's batch function (fresh state each time), after checking
/// once that the implementation handles the input; the error says why not.
pub type Factory = fn() -> Result<BatchFn<'static>, String>;

/// One benchmark case.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// Short name used on the command line and in tables.
    pub name: &'static str,
    /// Input size in bytes (what one operation reads).
    pub bytes: usize,
    /// How the figures are read.
    pub unit: Unit,
    /// `(implementation name, factory)`; ours first, then the baseline.
    pub impls: &'static [(&'static str, Factory)],
    /// The target, if any.
    pub target: Target,
    /// Iterations for the smaller of the two callgrind runs (the other runs twice as
    /// many); 0 leaves the case out of instruction counting.
    pub icount_iters: u64,
}

impl Case {
    /// The factory of implementation `name`.
    pub fn factory(&self, name: &str) -> Option<Factory> {
        self.impls.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }
}

/// The error of a failed check inside a measured loop (the check before it passed).
const UNEXPECTED: &str = "a kernel failed after passing its check";

fn requests(msg: &'static [u8]) -> Result<BatchFn<'static>, String> {
    let mut ours = OursStream::requests();
    ours.message(msg)?;
    Ok(Box::new(move |n| {
        for _ in 0..n {
            black_box(ours.message(black_box(msg)).expect(UNEXPECTED));
        }
    }))
}

/// Our head parse alone: one head from a slice into the reusable raw-first field list
/// (`HeadParser`), the same work httparse does into its header array.
fn head_requests(msg: &'static [u8]) -> Result<BatchFn<'static>, String> {
    let mut p = courier_proto::head::HeadParser::request(&courier_proto::ParserConfig::default());
    match p.parse(msg) {
        Ok(Some(n)) if n == msg.len() => {}
        other => return Err(format!("HeadParser did not take the head: {other:?}")),
    }
    Ok(Box::new(move |n| {
        for _ in 0..n {
            p.reset();
            black_box(p.parse(black_box(msg)).expect(UNEXPECTED));
            black_box(p.len());
        }
    }))
}

fn httparse_requests(msg: &'static [u8]) -> Result<BatchFn<'static>, String> {
    assert_eq!(kernels::httparse_request(msg), msg.len());
    Ok(Box::new(move |n| {
        for _ in 0..n {
            black_box(kernels::httparse_request(black_box(msg)));
        }
    }))
}

fn node_view(msg: &'static [u8]) -> Result<BatchFn<'static>, String> {
    let headers = kernels::parsed_headers(msg)?;
    if kernels::node_view(&headers) == 0 {
        return Err("Headers::node_view returned no entries (not implemented yet?)".into());
    }
    Ok(Box::new(move |n| {
        for _ in 0..n {
            black_box(kernels::node_view(black_box(&headers)));
        }
    }))
}

/// Every case, in table order.
pub const ALL: &[Case] = &[
    Case {
        name: "browser-head",
        bytes: inputs::BROWSER.len(),
        unit: Unit::NsPerOp,
        impls: &[
            ("ours", || head_requests(inputs::BROWSER)),
            ("httparse", || httparse_requests(inputs::BROWSER)),
        ],
        target: Target::RatioAtMost(1.15),
        icount_iters: 2000,
    },
    Case {
        name: "tiny-head",
        bytes: inputs::TINY.len(),
        unit: Unit::NsPerOp,
        impls: &[
            ("ours", || head_requests(inputs::TINY)),
            ("httparse", || httparse_requests(inputs::TINY)),
        ],
        target: Target::RatioAtMost(1.15),
        icount_iters: 5000,
    },
    Case {
        name: "browser",
        bytes: inputs::BROWSER.len(),
        unit: Unit::NsPerOp,
        impls: &[
            ("ours", || requests(inputs::BROWSER)),
            ("httparse", || httparse_requests(inputs::BROWSER)),
        ],
        target: Target::None,
        icount_iters: 2000,
    },
    Case {
        name: "tiny",
        bytes: inputs::TINY.len(),
        unit: Unit::NsPerOp,
        impls: &[
            ("ours", || requests(inputs::TINY)),
            ("httparse", || httparse_requests(inputs::TINY)),
        ],
        target: Target::None,
        icount_iters: 5000,
    },
    Case {
        name: "fields30",
        bytes: inputs::FIELDS30.len(),
        unit: Unit::NsPerOp,
        impls: &[
            ("ours", || requests(inputs::FIELDS30)),
            ("httparse", || httparse_requests(inputs::FIELDS30)),
        ],
        target: Target::None,
        icount_iters: 2000,
    },
    Case {
        name: "response",
        bytes: inputs::RESPONSE_HEAD.len(),
        unit: Unit::NsPerOp,
        impls: &[
            ("ours", || {
                let msg = kernels::whole_response();
                let mut ours = OursStream::responses();
                ours.message(&msg)?;
                Ok(Box::new(move |n| {
                    for _ in 0..n {
                        black_box(ours.message(black_box(&msg)).expect(UNEXPECTED));
                    }
                }))
            }),
            ("httparse", || {
                let msg = inputs::RESPONSE_HEAD;
                assert_eq!(kernels::httparse_response(msg), msg.len());
                Ok(Box::new(move |n| {
                    for _ in 0..n {
                        black_box(kernels::httparse_response(black_box(msg)));
                    }
                }))
            }),
        ],
        target: Target::None,
        icount_iters: 2000,
    },
    Case {
        name: "nodeview-browser",
        bytes: inputs::BROWSER.len(),
        unit: Unit::NsPerOp,
        impls: &[("ours", || node_view(inputs::BROWSER))],
        target: Target::None,
        icount_iters: 2000,
    },
    Case {
        name: "nodeview-fields30",
        bytes: inputs::FIELDS30.len(),
        unit: Unit::NsPerOp,
        impls: &[("ours", || node_view(inputs::FIELDS30))],
        target: Target::None,
        icount_iters: 2000,
    },
    Case {
        name: "chunked-16k",
        bytes: inputs::CHUNKED_BODY_BYTES,
        unit: Unit::Throughput {
            bytes: inputs::CHUNKED_BODY_BYTES,
        },
        impls: &[
            ("ours", || {
                let msg = inputs::chunked_post();
                let mut ours = OursStream::requests();
                let got = ours.message_in_reads(&msg, inputs::READ_SIZE)?;
                if got != inputs::CHUNKED_BODY_BYTES {
                    return Err(format!(
                        "{got} body bytes decoded, {} sent",
                        inputs::CHUNKED_BODY_BYTES
                    ));
                }
                Ok(Box::new(move |n| {
                    for _ in 0..n {
                        let msg = black_box(&msg);
                        black_box(
                            ours.message_in_reads(msg, inputs::READ_SIZE)
                                .expect(UNEXPECTED),
                        );
                    }
                }))
            }),
            ("memcpy", || {
                let msg = inputs::chunked_post();
                let mut buf = Vec::with_capacity(inputs::READ_SIZE);
                Ok(Box::new(move |n| {
                    for _ in 0..n {
                        black_box(kernels::copy_floor(
                            &mut buf,
                            black_box(&msg),
                            inputs::READ_SIZE,
                        ));
                    }
                }))
            }),
        ],
        target: Target::GbpsAtLeast(2.0),
        icount_iters: 8,
    },
    Case {
        name: "a/a-noise",
        bytes: inputs::BROWSER.len(),
        unit: Unit::NsPerOp,
        impls: &[
            ("httparse", || httparse_requests(inputs::BROWSER)),
            ("httparse", || httparse_requests(inputs::BROWSER)),
        ],
        target: Target::None,
        icount_iters: 0,
    },
];

/// The case called `name`.
pub fn find(name: &str) -> Option<&'static Case> {
    ALL.iter().find(|c| c.name == name)
}
