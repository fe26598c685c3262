//! `cargo xtask`: the project's automation entry point.
//!
//! Each subcommand lives in its own module with a `run(args)` function.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod bench;
mod ci;
mod codegen;
mod conformance;
mod diff;
mod fuzz;
mod probe;

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

/// Runs `f`; a panic becomes `Err` with the panic message.
pub(crate) fn catch_panic<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    })
}

/// Whether `args` ask for help (`--help` or `-h`); if so, prints `usage`.
pub(crate) fn help_asked(args: &[String], usage: &str) -> bool {
    let asked = args.iter().any(|a| a == "--help" || a == "-h");
    if asked {
        println!("{usage}");
    }
    asked
}

/// `Ok` when `problems` is empty, else one error listing them, one a line.
pub(crate) fn verdict(problems: Vec<String>) -> Result {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Writes a generated file (creating its folder), or with `check` writes nothing.
/// Returns whether the file already held exactly `text`.
pub(crate) fn write_or_check(path: &Path, text: &str, check: bool) -> Result<bool> {
    let current = std::fs::read_to_string(path).ok();
    let fresh = current.as_deref() == Some(text);
    if !check && !fresh {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(fresh)
}

const USAGE: &str = "usage: cargo xtask <command> [args]

commands:
  ci                      fmt check, clippy, tests, doc tests, codegen --check, fuzz-corpus replay
  codegen [--check]       generate STATUS_CODES / METHODS from ../shared/spec
  conformance             run the llhttp corpus through proto and compare with Node v20
  probe server [FLAGS]    request bytes (JSON lines on stdin) through our server connection
  probe client [FLAGS]    response bytes (JSON lines on stdin) through our client connection
  diff server [...]       the server probe against Node v20, field by field (see diff --help)
  diff client [...]       the client probe against Node v20, field by field (see diff --help)
  diff import-llhttp      regenerate the llhttp case files (server requests, client responses)
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
        "probe" => probe::run(rest),
        "diff" => diff::run(rest),
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
