//! `writeEarlyHints` support (RES-22): Node's link check and the way its
//! `ERR_INVALID_ARG_VALUE` message shows the rejected value.

/// JavaScript's `\s`: WhiteSpace and LineTerminator.
fn js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// Whether `link` has Node's accepted form
/// `^<[^>]*>(\s*;\s*[^;"\s]+(=("?)[^;"\s]*\3)?)*$`.
///
/// A parameter is a run of characters other than `;`, `"` and space; the `=` of
/// an unquoted value belongs to that run, so only a quoted value needs its own step:
/// the run must then be a name followed by `=`, and the quotes enclose another such
/// run (possibly empty).
pub(crate) fn is_link(link: &str) -> bool {
    let c: Vec<char> = link.chars().collect();
    let n = c.len();
    let plain = |ch: char| ch != ';' && ch != '"' && !js_space(ch);
    if c.first() != Some(&'<') {
        return false;
    }
    let Some(close) = c.iter().position(|&ch| ch == '>') else {
        return false;
    };
    let mut i = close + 1;
    loop {
        if i == n {
            return true;
        }
        while i < n && js_space(c[i]) {
            i += 1;
        }
        if c.get(i) != Some(&';') {
            return false;
        }
        i += 1;
        while i < n && js_space(c[i]) {
            i += 1;
        }
        let start = i;
        while i < n && plain(c[i]) {
            i += 1;
        }
        let run = &c[start..i];
        if run.is_empty() {
            return false;
        }
        if c.get(i) == Some(&'"') {
            if run.len() < 2 || run.last() != Some(&'=') {
                return false;
            }
            i += 1;
            while i < n && plain(c[i]) {
                i += 1;
            }
            if c.get(i) != Some(&'"') {
                return false;
            }
            i += 1;
        }
    }
}

/// Node's `util.inspect(string)` as `ERR_INVALID_ARG_VALUE` uses it: quoted (single
/// quotes unless the string holds one), control characters escaped, long strings
/// with line breaks split into `'…\n' +` pieces, and the whole cut to 128 UTF-16
/// units followed by `...`.
pub(crate) fn inspect_str(s: &str) -> String {
    // Node splits strings longer than both 16 (kMinLineWidth) and breakLength (128)
    // minus 4; the second bound is the binding one.
    let units = s.encode_utf16().count();
    let mut out = if units > 128 - 4 && s.contains('\n') {
        s.split_inclusive('\n')
            .map(quote)
            .collect::<Vec<_>>()
            .join(" +\n  ")
    } else {
        quote(s)
    };
    if out.encode_utf16().count() > 128 {
        let mut cut = String::new();
        let mut used = 0;
        for ch in out.chars() {
            used += ch.len_utf16();
            if used > 128 {
                break;
            }
            cut.push(ch);
        }
        cut.push_str("...");
        out = cut;
    }
    out
}

/// One quoted, escaped piece (Node's `strEscape`).
fn quote(s: &str) -> String {
    let q = if !s.contains('\'') {
        '\''
    } else if !s.contains('"') {
        '"'
    } else if !s.contains('`') && !s.contains("${") {
        '`'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for ch in s.chars() {
        match ch {
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            '\'' if q == '\'' => out.push_str("\\'"),
            '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' => {
                out.push_str(&format!("\\x{:02X}", u32::from(ch)));
            }
            _ => out.push(ch),
        }
    }
    out.push(q);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_forms() {
        for ok in [
            "</styles.css>; rel=preload; as=style",
            "</a.css>; rel=preload",
            "<>",
            "<a b>",
            "</a>;rel=preload",
            "</a> ; rel=\"preload\"",
            "</a>; rel=\"\"",
            "</a>; a==\"x\"",
            "</a>; rel=",
            "</a>; crossorigin",
        ] {
            assert!(is_link(ok), "{ok:?}");
        }
        for bad in [
            "bad link",
            "",
            "<a",
            "</a> rel=preload",
            "</a>; rel=preload ",
            "</a>; ",
            "</a>; rel=\"x y\"",
            "</a>; rel=\"x\"y",
            "</a>; =\"x\"",
            "</a>; rel\"x\"",
            "</a>; rel=preload, </b>; rel=preload",
        ] {
            assert!(!is_link(bad), "{bad:?}");
        }
    }

    #[test]
    fn inspect_quoting() {
        // oracle: util.inspect in Node v20.20.2
        assert_eq!(inspect_str("bad link"), "'bad link'");
        assert_eq!(inspect_str("it's"), "\"it's\"");
        assert_eq!(inspect_str("it's \"x\""), "`it's \"x\"`");
        assert_eq!(inspect_str("'\"`"), "'\\'\"`'");
        assert_eq!(
            inspect_str("a\r\n\u{1b}\u{7f}\\"),
            "'a\\r\\n\\x1B\\x7F\\\\'"
        );
        let long = "x".repeat(200);
        assert_eq!(inspect_str(&long), format!("'{}...", "x".repeat(127)));
        let lines = format!("{}\n{}", "a".repeat(70), "b".repeat(70));
        assert_eq!(
            inspect_str(&lines),
            format!("'{}\\n' +\n  '{}...", "a".repeat(70), "b".repeat(48))
        );
    }
}
