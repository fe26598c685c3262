//! Byte classes shared by the parser, the validators and the encoders (CONST-9).
//!
//! Each class is a 256-entry table built at compile time, so a membership test is
//! one load.

/// Builds a 256-entry membership table from a `const fn(u8) -> bool`.
macro_rules! table {
    ($f:ident) => {{
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = $f(i as u8);
            i += 1;
        }
        t
    }};
}

const fn tchar(b: u8) -> bool {
    matches!(b,
        b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~')
}

/// HTAB, SP … `~`, and obs-text 0x80–0xFF: what a field value may hold (CONST-9).
const fn field_value(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// Request-target bytes llhttp takes inside a path, query or fragment: visible ASCII
/// except `#` and `?`, which delimit the parts (PRS-5).
const fn url_char(b: u8) -> bool {
    b >= 0x21 && b <= 0x7e && b != b'#' && b != b'?'
}

/// Bytes of an authority (`user:pass@host:port`) besides `[`, `]`, `@`, `/` and `?`.
const fn userinfo(b: u8) -> bool {
    matches!(b,
        b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z'
        | b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        | b'%' | b';' | b':' | b'&' | b'=' | b'+' | b'$' | b',')
}

static TCHAR: [bool; 256] = table!(tchar);
static FIELD_VALUE: [bool; 256] = table!(field_value);
static URL_CHAR: [bool; 256] = table!(url_char);
static USERINFO: [bool; 256] = table!(userinfo);

/// A token character (CONST-9).
#[inline]
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// A byte allowed in a field value (CONST-9, PRS-8).
#[inline]
pub(crate) fn is_field_value_byte(b: u8) -> bool {
    FIELD_VALUE[b as usize]
}

/// A byte allowed inside a request-target part (PRS-5).
#[inline]
pub(crate) fn is_url_char(b: u8) -> bool {
    URL_CHAR[b as usize]
}

/// A byte allowed in an authority.
#[inline]
pub(crate) fn is_userinfo(b: u8) -> bool {
    USERINFO[b as usize]
}

/// Number of leading bytes of `s` that satisfy `f`.
#[inline]
pub(crate) fn run_len(s: &[u8], f: fn(u8) -> bool) -> usize {
    s.iter().position(|&b| !f(b)).unwrap_or(s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_const_9() {
        for b in b"!#$%&'*+-.^_`|~09AZaz" {
            assert!(is_tchar(*b), "{b}");
        }
        for b in b"\"(),/:;<=>?@[\\]{} \t\x7f\x80" {
            assert!(!is_tchar(*b), "{b}");
        }
        assert!(is_field_value_byte(b'\t'));
        assert!(is_field_value_byte(0x80));
        assert!(is_field_value_byte(0xff));
        assert!(!is_field_value_byte(0x7f));
        assert!(!is_field_value_byte(0));
        assert!(!is_field_value_byte(b'\r'));
        assert!(is_url_char(b'"') && is_url_char(b'{') && !is_url_char(b'#') && !is_url_char(b'?'));
        assert!(!is_url_char(0x80) && !is_url_char(b' '));
    }
}
