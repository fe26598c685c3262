//! `conformance/<mode>-expected-differences.txt` (`server` or `client`): the
//! differences from Node v20 courier keeps on purpose, one field of one case
//! per line:
//!
//! ```text
//! <case-file-stem>/<case id> <field>  # reason
//! ```
//!
//! `#` at the start of a line makes it a comment. The reason should name the
//! deviation (`docs/deviations.md`) that explains it.

use std::collections::BTreeMap;
use std::path::Path;

use crate::conformance::expected::{entries, read};

use super::compare::{Compared, is_field};

/// `(case key, field)` → reason. The case key is `<file stem>/<id>`.
pub(crate) type Expected = BTreeMap<(String, String), String>;

/// Parses the list. Each entry names a case and a field [`compare`] reports
/// under `schema`, appears once, and has a reason after `#`.
///
/// [`compare`]: super::compare::compare
pub(crate) fn parse(text: &str, schema: &[Compared]) -> crate::Result<Expected> {
    let mut out = Expected::new();
    for (n, key, rest) in entries(text) {
        let (field, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let reason = reason.trim().strip_prefix('#').map(str::trim).unwrap_or("");
        if !key.contains('/') {
            return Err(format!("line {n}: `{key}` is not `<file stem>/<case id>`"));
        }
        if !is_field(schema, field) {
            return Err(format!("line {n}: `{field}` is not a compared field"));
        }
        if reason.is_empty() {
            return Err(format!("line {n}: `{key} {field}` has no `# reason`"));
        }
        if out
            .insert((key.to_owned(), field.to_owned()), reason.to_owned())
            .is_some()
        {
            return Err(format!("line {n}: `{key} {field}` is listed twice"));
        }
    }
    Ok(out)
}

/// Reads the list (a missing file is an empty list).
pub(crate) fn load(path: &Path, schema: &[Compared]) -> crate::Result<Expected> {
    parse(&read(path)?, schema).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::compare::{CLIENT, SERVER};

    #[test]
    fn entries_name_a_case_a_field_and_a_reason() {
        let ok = parse(
            "# c\n\np-limits/h1001 client_error  # 431 for too many header lines\n",
            SERVER,
        )
        .unwrap();
        let key = ("p-limits/h1001".to_owned(), "client_error".to_owned());
        assert_eq!(ok[&key], "431 for too many header lines");
        for (bad, why) in [
            ("p/x client_error\n", "no `# reason`"),
            ("p/x client_error reason\n", "no `# reason`"),
            ("p/x requests[0].nope  # r\n", "not a compared field"),
            ("x client_error  # r\n", "not `<file stem>/<case id>`"),
            ("p/x response_b64 # r\np/x response_b64 # s\n", "twice"),
        ] {
            assert!(parse(bad, SERVER).unwrap_err().contains(why), "{bad}");
        }
        assert!(parse("c/x error.code  # r\n", CLIENT).is_ok());
        assert!(parse("c/x client_error  # r\n", CLIENT).is_err());
    }
}
