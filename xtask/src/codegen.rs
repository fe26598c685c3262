//! `cargo xtask codegen [--check]`: writes `crates/proto/src/generated.rs` from Node's
//! tables in `../shared/spec` (`status-codes.tsv`, `methods.txt`).
//!
//! The text is put through `rustfmt` before it is written or compared, so the committed
//! file always passes `cargo fmt --check`. With `--check` nothing is written: the command
//! fails when the committed file differs from what the spec files give.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const USAGE: &str = "usage: cargo xtask codegen [--check]

  (no flag)  regenerate crates/proto/src/generated.rs from ../shared/spec
  --check    fail if the committed file differs from what the spec files give";

/// Where the generated module lives, relative to the workspace root.
const TARGET: &str = "crates/proto/src/generated.rs";

pub(crate) fn run(args: &[String]) -> crate::Result {
    let mut check = false;
    for arg in args {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }

    let spec = crate::shared().join("spec");
    let statuses = parse_status_codes(&read(&spec.join("status-codes.tsv"))?)?;
    let methods = parse_methods(&read(&spec.join("methods.txt"))?)?;
    let text = rustfmt(&render(&statuses, &methods))?;

    let target = crate::root().join(TARGET);
    let current = std::fs::read_to_string(&target).unwrap_or_default();
    if check {
        if current == text {
            println!(
                "codegen: {TARGET} is up to date ({} status codes, {} methods)",
                statuses.len(),
                methods.len()
            );
            Ok(())
        } else {
            Err(format!(
                "{TARGET} is out of date with {}; run `cargo xtask codegen` and commit the result",
                spec.display()
            ))
        }
    } else if current == text {
        println!("codegen: {TARGET} unchanged");
        Ok(())
    } else {
        std::fs::write(&target, text)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        println!(
            "codegen: wrote {TARGET} ({} status codes, {} methods)",
            statuses.len(),
            methods.len()
        );
        Ok(())
    }
}

fn read(path: &Path) -> crate::Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read {}: {e} (the spec lives in ../shared beside the project root, \
             or set COURIER_SHARED)",
            path.display()
        )
    })
}

/// Parses `code TAB reason` lines; codes must be three digits and strictly ascending.
fn parse_status_codes(text: &str) -> crate::Result<Vec<(u16, String)>> {
    let mut rows: Vec<(u16, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let (code, reason) = line
            .split_once('\t')
            .ok_or_else(|| format!("status-codes.tsv:{n}: expected `code<TAB>reason`"))?;
        let code: u16 = code
            .parse()
            .ok()
            .filter(|c| (100..=999).contains(c))
            .ok_or_else(|| format!("status-codes.tsv:{n}: `{code}` is not a status code"))?;
        if reason.is_empty()
            || !reason
                .bytes()
                .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
        {
            return Err(format!(
                "status-codes.tsv:{n}: reason `{reason}` must be non-empty printable ASCII"
            ));
        }
        if let Some(&(prev, _)) = rows.last() {
            if code <= prev {
                return Err(format!(
                    "status-codes.tsv:{n}: {code} does not come after {prev} (CONST-1: ascending)"
                ));
            }
        }
        rows.push((code, reason.to_owned()));
    }
    if rows.is_empty() {
        return Err("status-codes.tsv has no rows".into());
    }
    Ok(rows)
}

/// Parses one method per line; each must be a token, the list strictly ASCII-sorted.
fn parse_methods(text: &str) -> crate::Result<Vec<String>> {
    let mut methods: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let m = line.trim();
        if m.is_empty() {
            continue;
        }
        if !m.bytes().all(is_tchar) {
            return Err(format!("methods.txt:{n}: `{m}` is not an HTTP token"));
        }
        if let Some(prev) = methods.last() {
            if m <= prev.as_str() {
                return Err(format!(
                    "methods.txt:{n}: `{m}` does not come after `{prev}` (CONST-2: ASCII order)"
                ));
            }
        }
        methods.push(m.to_owned());
    }
    if methods.is_empty() {
        return Err("methods.txt has no rows".into());
    }
    Ok(methods)
}

/// CONST-9 tchar; the xtask cannot reach `courier_proto`'s crate-private table.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Renders the module (before rustfmt).
fn render(statuses: &[(u16, String)], methods: &[String]) -> String {
    let mut s = String::new();
    // `write!` to a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(
        s,
        "// @generated by `cargo xtask codegen` from shared/spec/status-codes.tsv and\n\
         // shared/spec/methods.txt. Do not edit: change the spec files and run it again.\n\
         \n\
         //! Node v20's `http.STATUS_CODES` and `http.METHODS` (CONST-1, CONST-2), with\n\
         //! lookups.\n"
    );

    let _ = writeln!(
        s,
        "/// `http.METHODS`: the {} methods the request parser accepts, sorted by ASCII (CONST-2).",
        methods.len()
    );
    s.push_str("pub const METHODS: &[&str] = &[\n");
    for m in methods {
        let _ = writeln!(s, "    {m:?},");
    }
    s.push_str("];\n\n");

    let _ = writeln!(
        s,
        "/// `http.STATUS_CODES` as {} `(code, reason)` rows in ascending code order (CONST-1).",
        statuses.len()
    );
    s.push_str("pub const STATUS_CODES: &[(u16, &str)] = &[\n");
    for (code, reason) in statuses {
        let _ = writeln!(s, "    ({code}, {reason:?}),");
    }
    s.push_str("];\n\n");

    s.push_str(
        "/// The reason phrase Node uses for `code`: `STATUS_CODES[code]`, or `None` where\n\
         /// Node has no entry (CONST-1).\n\
         ///\n\
         /// ```\n\
         /// use courier_proto::status_text;\n\
         /// assert_eq!(status_text(418), Some(\"I'm a Teapot\"));\n\
         /// assert_eq!(status_text(306), None);\n\
         /// ```\n\
         pub const fn status_text(code: u16) -> Option<&'static str> {\n\
         \x20   match code {\n",
    );
    for (code, reason) in statuses {
        let _ = writeln!(s, "        {code} => Some({reason:?}),");
    }
    s.push_str("        _ => None,\n    }\n}\n\n");

    s.push_str(
        "/// The index in [`METHODS`] of the method spelled exactly `token` (byte-exact and\n\
         /// case-sensitive, PRS-2), or `None` for any other token.\n\
         ///\n\
         /// ```\n\
         /// use courier_proto::{METHODS, method_index};\n\
         /// let i = method_index(b\"GET\").unwrap();\n\
         /// assert_eq!(METHODS[i], \"GET\");\n\
         /// assert_eq!(method_index(b\"get\"), None);\n\
         /// ```\n\
         pub const fn method_index(token: &[u8]) -> Option<usize> {\n\
         \x20   // Byte-wise slice patterns compile to a decision tree on the length and then\n\
         \x20   // on each byte, with no string comparison.\n\
         \x20   match token {\n",
    );
    for (i, m) in methods.iter().enumerate() {
        let bytes: Vec<String> = m.bytes().map(|b| format!("b{:?}", char::from(b))).collect();
        let _ = writeln!(s, "        [{}] => Some({i}),", bytes.join(", "));
    }
    s.push_str("        _ => None,\n    }\n}\n");
    s
}

/// Formats `text` with the workspace's rustfmt settings.
fn rustfmt(text: &str) -> crate::Result<String> {
    let mut child = Command::new(rustfmt_path())
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .current_dir(crate::root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("cannot run rustfmt: {e} (install it with `rustup component add rustfmt`)")
        })?;
    let mut stdin = child.stdin.take().ok_or("rustfmt has no stdin")?;
    let input = text.to_owned();
    // Write from another thread so a large output cannot block on a full pipe.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("rustfmt failed: {e}"))?;
    writer
        .join()
        .map_err(|_| "rustfmt writer thread panicked".to_owned())?
        .map_err(|e| format!("cannot feed rustfmt: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "rustfmt rejected the generated code ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("rustfmt printed non-UTF-8: {e}"))
}

/// `$RUSTFMT` when set (as cargo does), else `rustfmt` on the `PATH`.
fn rustfmt_path() -> PathBuf {
    std::env::var_os("RUSTFMT").map_or_else(|| PathBuf::from("rustfmt"), PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rows_must_ascend() {
        assert!(parse_status_codes("200\tOK\n100\tContinue\n").is_err());
        assert!(parse_status_codes("100\tContinue\n100\tContinue\n").is_err());
        assert!(parse_status_codes("1000\tBig\n").is_err());
        assert!(parse_status_codes("200 OK\n").is_err());
        let rows = parse_status_codes("100\tContinue\n418\tI'm a Teapot\n").unwrap();
        assert_eq!(rows[1], (418, "I'm a Teapot".to_owned()));
    }

    #[test]
    fn methods_must_be_sorted_tokens() {
        assert!(parse_methods("GET\nDELETE\n").is_err());
        assert!(parse_methods("GE T\n").is_err());
        assert_eq!(
            parse_methods("ACL\nM-SEARCH\n").unwrap(),
            ["ACL", "M-SEARCH"]
        );
    }

    #[test]
    fn render_emits_byte_patterns() {
        let text = render(&[(200, "OK".into())], &["GET".into()]);
        assert!(text.contains("[b'G', b'E', b'T'] => Some(0),"));
        assert!(text.contains("200 => Some(\"OK\"),"));
        assert!(text.starts_with("// @generated"));
    }
}
