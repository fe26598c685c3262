//! `cargo xtask ci`: the project's one test command.
//!
//! Steps, in order, stopping at the first failure:
//! 1. `cargo fmt --all -- --check`
//! 2. `cargo clippy --workspace --all-targets --all-features -- -D warnings`
//! 3. `cargo test --workspace --all-features` (unit, integration, property and doc tests;
//!    `PROPTEST_CASES` defaults to 256)
//! 4. the self-checking examples: `cargo run -p courier-rt-tokio --example` `tour`,
//!    `upgrade-echo`, `connect-proxy` (each exits non-zero if a step misbehaves)
//! 5. `cargo xtask codegen --check` (in process)
//! 6. `RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps`
//! 7. fuzz-corpus replay: `cargo test -p courier-proto --features fuzzing --test corpus_replay`,
//!    skipped when `fuzz/` or `crates/proto/tests/corpus_replay.rs` is missing
//!
//! Each step prints a header and its wall time. The run ends with the totals of every
//! `test result:` line that cargo printed, as `ci: N passed, N failed, N skipped`.

use std::ffi::OsString;
use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: cargo xtask ci

Runs fmt --check, clippy -D warnings, the whole test suite (doc tests included),
the self-checking examples, codegen --check, rustdoc -D warnings and the fuzz-corpus replay; stops at the first failure.";

/// The examples that run a self-contained demo on loopback and exit 0 when every
/// step behaved as Node's `http` does.
const EXAMPLES: [&str; 3] = ["tour", "upgrade-echo", "connect-proxy"];

/// How many cases each proptest runs when `PROPTEST_CASES` is not set.
const DEFAULT_PROPTEST_CASES: &str = "256";

pub(crate) fn run(args: &[String]) -> crate::Result {
    if let Some(arg) = args.first() {
        return match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                Ok(())
            }
            other => Err(format!("unexpected argument `{other}`\n{USAGE}")),
        };
    }

    let mut ci = Ci::default();
    let result = ci.run_all();
    ci.summary();
    result
}

/// Totals over every `test result:` line seen.
#[derive(Default)]
struct Counts {
    passed: u64,
    failed: u64,
    ignored: u64,
}

#[derive(Default)]
struct Ci {
    times: Vec<(&'static str, &'static str, Duration)>,
    counts: Counts,
    /// Whether a step that runs tests has started.
    tested: bool,
}

impl Ci {
    fn run_all(&mut self) -> crate::Result {
        let root = crate::root();

        self.step("fmt", "cargo fmt --all -- --check", |_| {
            cargo(&["fmt", "--all", "--", "--check"]).status_ok()
        })?;
        self.step(
            "clippy",
            "cargo clippy --workspace --all-targets --all-features -- -D warnings",
            |_| {
                cargo(&[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--all-features",
                    "--",
                    "-D",
                    "warnings",
                ])
                .status_ok()
            },
        )?;
        self.tested = true;
        self.step("test", "cargo test --workspace --all-features", |counts| {
            cargo(&["test", "--workspace", "--all-features"]).tests(counts)
        })?;
        self.step(
            "examples",
            "cargo run -p courier-rt-tokio --example tour|upgrade-echo|connect-proxy",
            |_| {
                for example in EXAMPLES {
                    cargo(&["run", "-q", "-p", "courier-rt-tokio", "--example", example])
                        .status_ok()
                        .map_err(|e| format!("example {example}: {e}"))?;
                }
                Ok(())
            },
        )?;
        // Doc tests of every library already ran in `cargo test --workspace --all-features`.
        println!("\n--- doc tests: already run by `cargo test --workspace`; no separate step");
        self.step("codegen", "cargo xtask codegen --check", |_| {
            crate::codegen::run(&["--check".to_owned()])
        })?;
        self.step(
            "doc",
            "RUSTDOCFLAGS=\"-D warnings\" cargo doc --workspace --all-features --no-deps",
            |_| {
                let mut cmd = cargo(&["doc", "--workspace", "--all-features", "--no-deps"]);
                cmd.env("RUSTDOCFLAGS", rustdocflags());
                cmd.status_ok()
            },
        )?;

        let title = "cargo test -p courier-proto --features fuzzing --test corpus_replay";
        if !root.join("fuzz").is_dir() {
            self.skip("corpus", title, "no fuzz/ directory");
        } else if !root.join("crates/proto/tests/corpus_replay.rs").is_file() {
            self.skip(
                "corpus",
                title,
                "crates/proto/tests/corpus_replay.rs does not exist yet",
            );
        } else {
            self.tested = true;
            self.step("corpus", title, |counts| {
                cargo(&[
                    "test",
                    "-p",
                    "courier-proto",
                    "--features",
                    "fuzzing",
                    "--test",
                    "corpus_replay",
                ])
                .tests(counts)
            })?;
        }
        Ok(())
    }

    fn step(
        &mut self,
        name: &'static str,
        title: &'static str,
        f: impl FnOnce(&mut Counts) -> crate::Result,
    ) -> crate::Result {
        println!("\n==> {name}: {title}");
        let start = Instant::now();
        let result = f(&mut self.counts);
        let took = start.elapsed();
        self.times.push((name, status_word(&result), took));
        match result {
            Ok(()) => {
                println!("<== {name}: ok in {}", secs(took));
                Ok(())
            }
            Err(e) => {
                println!("<== {name}: FAILED in {}", secs(took));
                Err(format!("step `{name}` ({title}) failed: {e}"))
            }
        }
    }

    fn skip(&mut self, name: &'static str, title: &'static str, why: &str) {
        println!("\n==> {name}: {title}\n<== {name}: skipped: {why}");
        self.times.push((name, "skipped", Duration::ZERO));
    }

    fn summary(&self) {
        println!("\nci summary:");
        let mut total = Duration::ZERO;
        for (name, status, took) in &self.times {
            println!("  {name:<8} {status:<8} {:>8}", secs(*took));
            total += *took;
        }
        println!("  {:<8} {:<8} {:>8}", "total", "", secs(total));
        if !self.tested {
            return;
        }
        let c = &self.counts;
        println!(
            "ci: {} passed, {} failed, {} skipped",
            c.passed, c.failed, c.ignored
        );
    }
}

fn status_word(r: &crate::Result) -> &'static str {
    if r.is_ok() { "ok" } else { "FAILED" }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// `-D warnings` added to any `RUSTDOCFLAGS` already set.
fn rustdocflags() -> OsString {
    let mut flags = std::env::var_os("RUSTDOCFLAGS").unwrap_or_default();
    if !flags.is_empty() {
        flags.push(" ");
    }
    flags.push("-D warnings");
    flags
}

/// A cargo command in the workspace root, with `PROPTEST_CASES` defaulted.
fn cargo(args: &[&str]) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(args).current_dir(crate::root());
    if std::env::var_os("PROPTEST_CASES").is_none() {
        cmd.env("PROPTEST_CASES", DEFAULT_PROPTEST_CASES);
    }
    cmd
}

trait CommandExt {
    /// Runs with inherited output; fails on a non-zero exit.
    fn status_ok(&mut self) -> crate::Result;
    /// Runs, echoing stdout line by line and adding its `test result:` lines to `counts`.
    fn tests(&mut self, counts: &mut Counts) -> crate::Result;
}

impl CommandExt for Command {
    fn status_ok(&mut self) -> crate::Result {
        let status = self
            .status()
            .map_err(|e| format!("cannot start {:?}: {e}", self.get_program()))?;
        if status.success() {
            Ok(())
        } else {
            Err(status.to_string())
        }
    }

    fn tests(&mut self, counts: &mut Counts) -> crate::Result {
        let mut child = self
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", self.get_program()))?;
        if let Some(out) = child.stdout.take() {
            for line in std::io::BufReader::new(out).lines() {
                let line = line.map_err(|e| format!("cannot read test output: {e}"))?;
                println!("{line}");
                count_result_line(&line, counts);
            }
        }
        let status = child
            .wait()
            .map_err(|e| format!("cannot wait for cargo: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(status.to_string())
        }
    }
}

/// Adds `test result: ok. 8 passed; 0 failed; 1 ignored; …` to `counts`.
fn count_result_line(line: &str, counts: &mut Counts) {
    let Some(rest) = line.trim_start().strip_prefix("test result: ") else {
        return;
    };
    for part in rest.split(';') {
        let mut words = part.split_whitespace().rev();
        let (Some(what), Some(n)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match what {
            "passed" => counts.passed += n,
            "failed" => counts.failed += n,
            "ignored" => counts.ignored += n,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cargo_result_lines() {
        let mut c = Counts::default();
        count_result_line(
            "test result: ok. 8 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            &mut c,
        );
        count_result_line(
            "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
            &mut c,
        );
        count_result_line("running 8 tests", &mut c);
        assert_eq!((c.passed, c.failed, c.ignored), (11, 2, 1));
    }
}
