//! Replays the committed fuzz inputs through the harnesses of `courier_proto::fuzzing`:
//! every file under `fuzz/seeds/<target>/` and `fuzz/regressions/<target>/`.
//!
//! Run with `cargo test -p courier-proto --features fuzzing --test corpus_replay`.
//! Without the `fuzzing` feature this file compiles to nothing.
#![cfg(feature = "fuzzing")]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use courier_proto::fuzzing::{Harness, TARGETS};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir/<target>/` for every target directory, sorted.
fn inputs(dir: &Path) -> Vec<(String, Harness, PathBuf)> {
    let mut out = Vec::new();
    let Ok(targets) = std::fs::read_dir(dir) else {
        return out;
    };
    for t in targets {
        let t = t.expect("read_dir entry").path();
        if !t.is_dir() {
            continue;
        }
        let name = t.file_name().unwrap().to_string_lossy().into_owned();
        let Some(&(_, harness)) = TARGETS.iter().find(|(n, _)| *n == name) else {
            panic!(
                "{} names no harness in courier_proto::fuzzing::TARGETS",
                t.display()
            );
        };
        for f in std::fs::read_dir(&t).expect("read target dir") {
            let f = f.expect("read_dir entry").path();
            if f.is_file() {
                out.push((name.clone(), harness, f));
            }
        }
    }
    out.sort_by(|a, b| a.2.cmp(&b.2));
    out
}

fn replay(kind: &str) -> usize {
    let dir = fuzz_dir().join(kind);
    let inputs = inputs(&dir);
    let mut failures = Vec::new();
    for (target, harness, path) in &inputs {
        let data = std::fs::read(path).expect("read fuzz input");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| harness(&data))) {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic)");
            failures.push(format!("{target}: {}\n    {msg}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {kind} inputs failed:\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n")
    );
    inputs.len()
}

#[test]
fn seeds_replay() {
    let n = replay("seeds");
    assert!(n > 0, "no seeds under {}", fuzz_dir().display());
    for (target, _) in TARGETS {
        let dir = fuzz_dir().join("seeds").join(target);
        assert!(dir.is_dir(), "no seed directory for {target}");
    }
}

#[test]
fn regressions_replay() {
    replay("regressions");
}
