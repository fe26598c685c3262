//! `cargo xtask`: the project's automation entry point.
//!
//! Each subcommand lives in its own module with a `run(args)` function.

use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod ci;
mod codegen;
mod conformance;
mod fuzz;

/// The result type of every subcommand: an error is a message for the user.
pub(crate) type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root (the parent of `xtask/`).
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// `../shared` beside the project root, or `$COURIER_SHARED` when set.
pub(crate) fn shared() -> PathBuf {
    std::env::var_os("COURIER_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("..").join("shared"))
}

const USAGE: &str = "usage: cargo xtask <command> [args]

commands:
  ci                      fmt check, clippy, tests, doc tests, codegen --check, fuzz-corpus replay
  codegen [--check]       generate STATUS_CODES / METHODS from ../shared/spec
  conformance             run the llhttp corpus through proto and compare with Node v20
  fuzz TARGET [--seconds N]   run a cargo-fuzz target (stable, -s none)
  bench parse             head parsing and chunked decoding beside raw httparse
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match cmd.as_str() {
        "ci" => ci::run(rest),
        "codegen" => codegen::run(rest),
        "conformance" => conformance::run(rest),
        "fuzz" => fuzz::run(rest),
        "bench" => bench::run(rest),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("xtask {cmd}: {msg}");
            ExitCode::FAILURE
        }
    }
}
