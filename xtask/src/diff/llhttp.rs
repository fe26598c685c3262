//! `cargo xtask diff import-llhttp [--check]`: the llhttp corpus as probe cases.
//!
//! * Server side: request cases, and URL cases embedded in a request line, go
//!   to `conformance/server/llhttp-requests.jsonl` (strict) and
//!   `llhttp-requests--insecure.jsonl` (lenient).
//! * Client side: response cases go to `conformance/client/llhttp-responses.jsonl`
//!   (strict) and `llhttp-responses--insecure.jsonl` (lenient). A case whose
//!   harness skips the body (`skip_body`) answers a `HEAD` request and says so
//!   in its `method`.
//!
//! Lenient cases run with `--insecure`, which turns on every leniency at once.
//! The files are generated: re-run this after the corpus changes; `--check`
//! (and a test) fail when they are out of date.

use std::path::Path;

use serde_json::json;

use crate::conformance::corpus::{self, Case, Side};
use crate::conformance::record::line_with_id;
use crate::probe::{ClientProbeOptions, Mode, ProbeOptions};

use super::suite::case_dir;

const USAGE: &str = "usage: cargo xtask diff import-llhttp [--check]

Writes conformance/server/llhttp-requests.jsonl (strict cases) and
llhttp-requests--insecure.jsonl (lenient cases), and
conformance/client/llhttp-responses.jsonl and llhttp-responses--insecure.jsonl,
from ../shared/conformance/llhttp; --check compares instead of writing.";

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
    let mut stale = Vec::new();
    for (mode, stem, text) in generate(&crate::shared())? {
        let path = case_dir(&root, mode).join(format!("{stem}.jsonl"));
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

/// `(mode, file stem, file text)` for the strict and the lenient cases of each
/// side: server files first.
pub(crate) fn generate(shared: &Path) -> crate::Result<Vec<(&'static str, &'static str, String)>> {
    let cases = corpus::load(&crate::conformance::corpus_dir(shared))?;
    let files = [
        (
            Side::Server,
            ProbeOptions::NAME,
            ["llhttp-requests", "llhttp-requests--insecure"],
        ),
        (
            Side::Client,
            ClientProbeOptions::NAME,
            ["llhttp-responses", "llhttp-responses--insecure"],
        ),
    ];
    let mut out = Vec::new();
    for (side, mode, [strict_stem, lenient_stem]) in files {
        let (mut strict, mut lenient) = (String::new(), String::new());
        for c in cases.iter().filter(|c| c.side == side) {
            let text = if c.insecure() {
                &mut lenient
            } else {
                &mut strict
            };
            *text += &case_line(c);
            text.push('\n');
        }
        out.push((mode, strict_stem, strict));
        out.push((mode, lenient_stem, lenient));
    }
    Ok(out)
}

fn case_line(c: &Case) -> String {
    let mut note = format!("llhttp corpus {} case \"{}\"", c.kind, c.title);
    if c.derived() {
        note += ", the URL sent as `GET <url> HTTP/1.1` with `Host: example.com`";
    }
    let method = (c.side == Side::Client && c.method != "GET").then_some(c.method);
    if let Some(m) = method {
        note += &format!(
            ", answering a {m} request (llhttp's harness skips the body; Node's client does for HEAD)"
        );
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
    let mut fields = json!({ "note": note });
    if let Some(m) = method {
        fields["method"] = json!(m);
    }
    line_with_id(&c.id, &[&fields, &input])
}
