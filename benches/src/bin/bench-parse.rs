//! Head-parsing, Node-view and chunked-decoding benchmarks (run by `cargo xtask bench parse`).
//!
//! ```text
//! bench-parse [--quick] [--ms F] [--rounds N] [--only CASE,..]   wall-clock table
//! bench-parse --list                                            CASE IMPL ITERS lines
//! bench-parse --run CASE --impl IMPL --iters N                  N operations, no timing
//! ```
//!
//! `--run` exists for instruction counting: run it under callgrind with N and 2N and
//! subtract (the xtask does this).

use std::process::ExitCode;

use courier_benches::cases::{self, Case, Target, Unit};
use courier_benches::timing::{self, BatchFn, Plan};

struct Args {
    quick: bool,
    ms: Option<f64>,
    rounds: Option<usize>,
    only: Vec<String>,
    list: bool,
    run: Option<String>,
    imp: String,
    iters: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        quick: false,
        ms: None,
        rounds: None,
        only: Vec::new(),
        list: false,
        run: None,
        imp: "ours".into(),
        iters: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--list" => a.list = true,
            "--ms" => a.ms = Some(value("--ms")?.parse().map_err(|e| format!("--ms: {e}"))?),
            "--rounds" => {
                a.rounds = Some(
                    value("--rounds")?
                        .parse()
                        .map_err(|e| format!("--rounds: {e}"))?,
                )
            }
            "--only" => a.only = value("--only")?.split(',').map(String::from).collect(),
            "--run" => a.run = Some(value("--run")?),
            "--impl" => a.imp = value("--impl")?,
            "--iters" => {
                a.iters = value("--iters")?
                    .parse()
                    .map_err(|e| format!("--iters: {e}"))?
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-parse: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<(), String> {
    let args = parse_args()?;
    if args.list {
        for c in cases::ALL.iter().filter(|c| c.icount_iters > 0) {
            for (name, _) in c.impls {
                println!("{} {} {}", c.name, name, c.icount_iters);
            }
        }
        return Ok(());
    }
    if let Some(case) = &args.run {
        let c = cases::find(case).ok_or(format!("no case `{case}`"))?;
        let f = c.factory(&args.imp).ok_or(format!(
            "case `{case}` has no implementation `{}`",
            args.imp
        ))?;
        f()?(args.iters);
        return Ok(());
    }
    let plan = Plan {
        ms: args.ms.unwrap_or(if args.quick { 5.0 } else { 20.0 }),
        rounds: args.rounds.unwrap_or(if args.quick { 11 } else { 41 }),
    };
    let selected: Vec<&Case> = cases::ALL
        .iter()
        .filter(|c| args.only.is_empty() || args.only.iter().any(|o| o == c.name))
        .collect();
    if selected.is_empty() {
        return Err(format!("no case matches {:?}", args.only));
    }
    println!(
        "wall clock: {} interleaved rounds of ~{} ms batches per implementation; medians; \
         ours/base = median of the per-round time ratios [25th–75th percentile]",
        plan.rounds, plan.ms
    );
    println!(
        "{:<18} {:>8} {:>12} {:>12} {:<9} {:>9} {:>13}  target",
        "case", "bytes", "ours", "base", "base is", "ours/base", "[p25–p75]"
    );
    let (mut missed, mut skipped) = (0, 0);
    for c in selected {
        let fs: Result<Vec<BatchFn<'static>>, String> = c.impls.iter().map(|(_, f)| f()).collect();
        let mut fs = match fs {
            Ok(fs) => fs,
            Err(why) => {
                println!("{:<18} {:>8}  skipped: {why}", c.name, c.bytes);
                skipped += 1;
                continue;
            }
        };
        let samples = timing::sample(&mut fs, plan);
        let show = |ns: f64| match c.unit {
            Unit::NsPerOp => format!("{ns:.1} ns"),
            Unit::Throughput { bytes } => format!("{:.2} GB/s", bytes as f64 / ns),
        };
        let ours = timing::median(&samples[0]);
        let (base, base_name, ratio, spread) = match samples.get(1) {
            Some(b) => {
                let r = timing::paired_ratios(&samples[0], b);
                (
                    show(timing::median(b)),
                    c.impls[1].0,
                    format!("{:.3}", timing::median(&r)),
                    format!(
                        "[{:.2}–{:.2}]",
                        timing::quantile(&r, 0.25),
                        timing::quantile(&r, 0.75)
                    ),
                )
            }
            None => ("-".into(), "-", "-".into(), String::new()),
        };
        let verdict = match c.target {
            Target::None => String::new(),
            Target::RatioAtMost(max) => {
                let r = timing::median(&timing::paired_ratios(&samples[0], &samples[1]));
                let ok = r <= max;
                missed += usize::from(!ok);
                format!("<= {max:.2}x {}", if ok { "ok" } else { "MISSED" })
            }
            Target::GbpsAtLeast(min) => {
                let Unit::Throughput { bytes } = c.unit else {
                    unreachable!("a GB/s target needs a throughput unit")
                };
                let ok = bytes as f64 / ours >= min;
                missed += usize::from(!ok);
                format!(">= {min} GB/s {}", if ok { "ok" } else { "MISSED" })
            }
        };
        println!(
            "{:<18} {:>8} {:>12} {:>12} {:<9} {:>9} {:>13}  {}",
            c.name,
            c.bytes,
            show(ours),
            base,
            base_name,
            ratio,
            spread,
            verdict
        );
    }
    if missed > 0 {
        println!("{missed} target(s) missed");
    }
    if skipped > 0 {
        println!("{skipped} case(s) skipped: our side is not implemented yet or failed its check");
    }
    Ok(())
}
