//! `cargo xtask diff import-llhttp [--check]`: the llhttp corpus's server-side
//! cases (requests, and URLs embedded in a request line) as server probe cases.
//!
//! Strict cases go to `conformance/server/llhttp-requests.jsonl`, lenient ones to
//! `llhttp-requests--insecure.jsonl` (run with `--insecure`, which turns on every
//! leniency at once). The files are generated: re-run this after the corpus
//! changes; `--check` (and a test) fail when they are out of date.

use std::path::Path;

use serde_json::json;

use crate::conformance::corpus::{self, Case, Side};
use crate::conformance::record::line_with_id;

use super::suite::case_dir;

const USAGE: &str = "usage: cargo xtask diff import-llhttp [--check]

Writes conformance/server/llhttp-requests.jsonl (strict cases) and
llhttp-requests--insecure.jsonl (lenient cases) from ../shared/conformance/llhttp;
--check compares instead of writing.";

pub(crate) fn run(args: &[String]) -> crate::Result {
    if crate::help_asked(args, USAGE) {
        return Ok(());
    }
    let check = match args {
        [] => false,
        [c] if c == "--check" => true,
        _ => return Err(USAGE.into()),
    };
    let root = crate::root();
    let dir = case_dir(&root);
    let mut stale = Vec::new();
    for (stem, text) in generate(&crate::shared())? {
        let path = dir.join(format!("{stem}.jsonl"));
        let fresh = crate::write_or_check(&path, &text, check)?;
        if check && !fresh {
            stale.push(format!(
                "{} is out of date: run `cargo xtask diff import-llhttp`",
                path.display()
            ));
        } else {
            println!("{} ({} cases)", path.display(), text.lines().count());
        }
    }
    crate::verdict(stale)
}

/// `(file stem, file text)` for the strict and the lenient cases.
pub(crate) fn generate(shared: &Path) -> crate::Result<[(&'static str, String); 2]> {
    let cases = corpus::load(&crate::conformance::corpus_dir(shared))?;
    let (mut strict, mut lenient) = (String::new(), String::new());
    for c in cases.iter().filter(|c| c.side == Side::Server) {
        let text = if c.insecure() {
            &mut lenient
        } else {
            &mut strict
        };
        *text += &case_line(c);
        text.push('\n');
    }
    Ok([
        ("llhttp-requests", strict),
        ("llhttp-requests--insecure", lenient),
    ])
}

fn case_line(c: &Case) -> String {
    let mut note = format!("llhttp corpus {} case \"{}\"", c.kind, c.title);
    if c.derived() {
        note += ", the URL sent as `GET <url> HTTP/1.1` with `Host: example.com`";
    }
    if c.insecure() {
        note += &format!(
            "; lenient in llhttp ({}), here every leniency (insecureHTTPParser)",
            c.lenient.join(", ")
        );
    }
    let input = match std::str::from_utf8(&c.input) {
        Ok(s) => json!({ "input": s }),
        Err(_) => {
            json!({ "input_b64": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &c.input) })
        }
    };
    line_with_id(&c.id, &[&json!({ "note": note }), &input])
}
