//! `cargo xtask bench parse [--quick] [--icount] [--compare]`, plus
//! `bench server` and `bench client` (in [`load`]).
//!
//! Builds the benchmark binary (`courier-benches`' `bench-parse`) and the
//! `parse-bench` example in release mode with the anchors' profile (fat LTO, one
//! codegen unit, `panic = "abort"`), then:
//!
//! * runs `bench-parse`: wall-clock medians of our parser beside raw httparse on the
//!   same bytes, interleaved, with per-round ratios (pinned to one CPU with `taskset`
//!   when available: `BENCH_CPU`, default the last CPU; `PIN=0` disables);
//! * runs the `parse-bench` example (the `PARSE impl=ours …` lines that
//!   `../shared/bench/parse-compare.sh` reads);
//! * with `--icount`: instructions per operation under callgrind, from two runs of
//!   N and 2N operations (start-up cancels out). Deterministic, so it is the figure
//!   to trust on a busy machine;
//! * with `--compare`: `../shared/bench/parse-compare.sh` on the example, against
//!   httparse, picohttpparser (if built) and llhttp; the anchors are built once into
//!   `.tools/anchors-target` unless `ANCHORS_BIN` points at them.
//!
//! See `docs/benchmarks.md` for how to read the output.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod load;

const USAGE: &str = "usage: cargo xtask bench parse [--quick] [--icount] [--compare]
       cargo xtask bench server [--quick] [--rounds N] [--nice N] [--modes M] [--cmd CMD] [--icount]
       cargo xtask bench client [--quick] [--rounds N] [--nice N] [--modes M] [--cmd CMD]
       (see `cargo xtask bench server --help`)
  --quick     short batches and few rounds (a smoke run, ~10 s)
  --icount    also count instructions per operation under callgrind (valgrind)
  --compare   also run ../shared/bench/parse-compare.sh (httparse, pico, llhttp anchors)
env: BENCH_CPU (CPU to pin to; default the last), PIN=0 (no pinning)";

/// The anchors' release profile (fat LTO, one codegen unit, `panic = "abort"`):
/// `[profile.bench-lto]` in the root `Cargo.toml`, so that the comparison with them
/// is like for like.
pub(crate) const PROFILE: &str = "bench-lto";

pub(crate) fn run(args: &[String]) -> crate::Result {
    match args.split_first() {
        Some((what, rest)) if what == "parse" => parse(rest),
        Some((what, rest)) if what == "server" => load::server(rest),
        Some((what, rest)) if what == "client" => load::client(rest),
        _ => Err(USAGE.to_string()),
    }
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `target/` in the workspace.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::root().join("target"))
}

/// Where binaries built with [`PROFILE`] land.
pub(crate) fn profile_dir() -> PathBuf {
    target_dir().join(PROFILE)
}

struct Flags {
    quick: bool,
    icount: bool,
    compare: bool,
}

fn parse(args: &[String]) -> crate::Result {
    let mut f = Flags {
        quick: false,
        icount: false,
        compare: false,
    };
    for a in args {
        match a.as_str() {
            "--quick" => f.quick = true,
            "--icount" => f.icount = true,
            "--compare" => f.compare = true,
            other => return Err(format!("unknown flag `{other}`\n{USAGE}")),
        }
    }
    let root = crate::root();
    build(&root)?;
    let bin = profile_dir().join("bench-parse");
    let example = profile_dir().join("examples/parse-bench");
    let pin = pin_prefix();
    println!("== machine: {}", machine_summary(&pin));

    println!("\n== head parsing, Node view, chunked decoding (wall clock)");
    let mut cmd = command(&pin, &bin);
    if f.quick {
        cmd.arg("--quick");
    }
    status(&mut cmd)?;

    println!("\n== parse-bench example (parse-compare.sh format)");
    let mut cmd = command(&pin, &example);
    if f.quick {
        cmd.args(["--ms", "10", "--batches", "5"]);
    }
    status(&mut cmd)?;
    let mut cmd = command(&pin, &example);
    cmd.args(["--impl", "httparse"]);
    if f.quick {
        cmd.args(["--ms", "10", "--batches", "5"]);
    }
    status(&mut cmd)?;

    if f.icount {
        icount(&bin)?;
    }
    if f.compare {
        compare(&root, &example, f.quick)?;
    }
    Ok(())
}

fn build(root: &Path) -> crate::Result {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root).args([
        "build",
        "--profile",
        PROFILE,
        "-p",
        "courier-benches",
        "--bin",
        "bench-parse",
        "-p",
        "courier-proto",
        "--example",
        "parse-bench",
    ]);
    status(&mut cmd).map_err(|e| format!("release build failed: {e}"))
}

/// `taskset -c CPU` when pinning is possible and wanted.
pub(crate) fn pin_prefix() -> Vec<String> {
    if std::env::var("PIN").is_ok_and(|p| p == "0") || !on_path("taskset") {
        return Vec::new();
    }
    let cpu = std::env::var("BENCH_CPU").unwrap_or_else(|_| {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        (n - 1).to_string()
    });
    vec!["taskset".into(), "-c".into(), cpu]
}

pub(crate) fn on_path(prog: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()))
}

fn command(prefix: &[String], prog: &Path) -> Command {
    match prefix.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(prog);
            c
        }
        None => Command::new(prog),
    }
}

pub(crate) fn status(cmd: &mut Command) -> crate::Result {
    let st = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {st}"))
    }
}

pub(crate) fn machine_summary(pin: &[String]) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let pinned = if pin.is_empty() {
        "not pinned".to_string()
    } else {
        format!("pinned to CPU {}", pin[2])
    };
    format!("{cpus} CPU(s), {model}; load average {load}; {pinned}")
}

/// Instructions executed by `bin args…` under callgrind (its "Collected" total).
pub(crate) fn callgrind_total(bin: &Path, args: &[&str]) -> Result<u64, String> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(bin)
        .args(args)
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run valgrind: {e}"))?;
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("valgrind {args:?} failed: {}\n{err}", out.status));
    }
    err.lines()
        .filter_map(|l| l.split("Collected :").nth(1))
        .filter_map(|n| n.trim().parse().ok())
        .next_back()
        .ok_or_else(|| format!("no instruction count in valgrind's output:\n{err}"))
}

fn icount(bin: &Path) -> crate::Result {
    if !on_path("valgrind") {
        return Err("--icount needs valgrind (apt-get install -y valgrind)".into());
    }
    println!(
        "\n== instructions per operation (callgrind; (I(2N) - I(N)) / N, deterministic; \
         compare only with other callgrind counts)"
    );
    let list = Command::new(bin)
        .arg("--list")
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    let mut rows: Vec<(String, String, f64)> = Vec::new();
    for line in list.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [case, imp, n] = parts[..] else {
            return Err(format!("bad --list line `{line}`"));
        };
        let n: u64 = n.parse().map_err(|e| format!("`{line}`: {e}"))?;
        let (n1, n2) = (n.to_string(), (2 * n).to_string());
        let counts = callgrind_total(bin, &["--run", case, "--impl", imp, "--iters", &n1])
            .and_then(|i1| {
                callgrind_total(bin, &["--run", case, "--impl", imp, "--iters", &n2])
                    .map(|i2| (i1, i2))
            });
        let per = match counts {
            Ok((i1, i2)) => (i2 as f64 - i1 as f64) / n as f64,
            Err(e) => {
                let why = e.lines().find(|l| l.contains("bench-parse:")).unwrap_or("");
                println!("({case} {imp}: no count; {})", why.trim());
                f64::NAN
            }
        };
        rows.push((case.to_string(), imp.to_string(), per));
    }
    println!(
        "{:<18} {:>12} {:>12} {:<9} {:>9}",
        "case", "ours", "base", "base is", "ours/base"
    );
    let mut cases: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    cases.dedup();
    for case in cases {
        let of: Vec<&(String, String, f64)> = rows.iter().filter(|r| r.0 == case).collect();
        let ours = of.iter().find(|r| r.1 == "ours").map_or(f64::NAN, |r| r.2);
        match of.iter().find(|r| r.1 != "ours") {
            Some(base) => println!(
                "{:<18} {:>12.0} {:>12.0} {:<9} {:>9.3}",
                case,
                ours,
                base.2,
                base.1,
                ours / base.2
            ),
            None => println!("{case:<18} {ours:>12.0} {:>12} {:<9} {:>9}", "-", "-", "-"),
        }
    }
    Ok(())
}

/// The directory of the anchor binaries: `$ANCHORS_BIN`, else
/// `.tools/anchors-target/release`, built there (once) when one of `need` is missing.
/// `pico`: try the C picohttpparser feature first.
pub(crate) fn anchors(root: &Path, need: &[&str], pico: bool) -> crate::Result<PathBuf> {
    if let Some(p) = std::env::var_os("ANCHORS_BIN") {
        return Ok(PathBuf::from(p));
    }
    let bench = crate::shared().join("bench");
    let target = root.join(".tools/anchors-target");
    let bin = target.join("release");
    if need.iter().all(|b| bin.join(b).is_file()) {
        return Ok(bin);
    }
    println!("\n== building the anchors into {}", target.display());
    let build = |features: &[&str]| {
        let mut cmd = Command::new("cargo");
        cmd.current_dir(bench.join("anchors"))
            .args(["build", "--release"])
            .args(features)
            .env("CARGO_TARGET_DIR", &target);
        status(&mut cmd)
    };
    if !pico || build(&["--features", "pico"]).is_err() {
        if pico {
            println!("(picohttpparser did not build; anchors without it)");
        }
        build(&[])?;
    }
    Ok(bin)
}

/// Runs `../shared/bench/parse-compare.sh` on our example, building the anchors into
/// `.tools/anchors-target` first if `ANCHORS_BIN` is unset and they are not there.
fn compare(root: &Path, example: &Path, quick: bool) -> crate::Result {
    let bench = crate::shared().join("bench");
    let script = bench.join("parse-compare.sh");
    if !script.is_file() {
        return Err(format!("{} not found", script.display()));
    }
    let anchors_bin = anchors(root, &["parse-bench"], true)?;
    println!("\n== ../shared/bench/parse-compare.sh");
    let mut cmd = Command::new(&script);
    cmd.current_dir(root)
        .arg(example)
        .env("ANCHORS_BIN", &anchors_bin)
        .env("RESULTS_DIR", root.join(".tools/results/parse-compare"));
    if quick {
        cmd.env("ROUNDS", "2");
    }
    status(&mut cmd)
}
