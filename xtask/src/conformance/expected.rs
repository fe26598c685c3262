//! `conformance/expected-differences.txt`: the differences from Node v20 we keep
//! on purpose, one per line: `<case id> <reason>`. `#` starts a comment line.

use std::collections::BTreeMap;
use std::path::Path;

/// Case id → reason.
pub(crate) type Expected = BTreeMap<String, String>;

/// The entries of a list file: `(line number, first word, the rest trimmed)` for
/// every line that is neither blank nor a `#` comment.
pub(crate) fn entries(text: &str) -> impl Iterator<Item = (usize, &str, &str)> {
    text.lines().enumerate().filter_map(|(n, line)| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (first, rest) = line
            .split_once(char::is_whitespace)
            .map(|(a, b)| (a, b.trim()))
            .unwrap_or((line, ""));
        Some((n + 1, first, rest))
    })
}

/// Parses the list; every entry needs a reason, and an id appears once.
pub(crate) fn parse(text: &str) -> crate::Result<Expected> {
    let mut out = Expected::new();
    for (n, id, reason) in entries(text) {
        if reason.is_empty() {
            return Err(format!("line {n}: `{id}` has no reason"));
        }
        if out.insert(id.to_owned(), reason.to_owned()).is_some() {
            return Err(format!("line {n}: `{id}` is listed twice"));
        }
    }
    Ok(out)
}

/// Reads a list file; a missing file reads as empty.
pub(crate) fn read(path: &Path) -> crate::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Reads the list (a missing file is an empty list).
pub(crate) fn load(path: &Path) -> crate::Result<Expected> {
    parse(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_need_a_reason_and_are_unique() {
        let ok = parse("# comment\n\na/b.md#x  stricter: closes a smuggling vector\n").unwrap();
        assert_eq!(ok["a/b.md#x"], "stricter: closes a smuggling vector");
        assert!(parse("a/b.md#x\n").unwrap_err().contains("no reason"));
        assert!(parse("a r\na s\n").unwrap_err().contains("twice"));
    }
}
