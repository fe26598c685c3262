//! Header validation with Node's codes and messages (VAL-1, VAL-2, VAL-3, CONST-9).

use courier_proto::Headers;
use courier_proto::validate::{
    InvalidHeaderKind, METHOD, TRAILER_CONTENT, TRAILER_NAME, validate_header_name,
    validate_header_name_bytes, validate_header_value, validate_header_value_bytes,
    validate_status_message, validate_token, validate_token_bytes, validate_value_bytes,
    validate_value_chars,
};
use proptest::prelude::*;

const TCHARS: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn name_err(name: &str) -> (InvalidHeaderKind, &'static str, String) {
    let e = validate_header_name(name).unwrap_err();
    (e.kind(), e.code(), e.message().to_owned())
}

// ---- VAL-1 ---------------------------------------------------------------------------

#[test]
fn val_1_rejects_empty_space_non_ascii_and_colon() {
    for (name, shown) in [("", ""), ("a b", "a b"), ("é", "é"), ("a:", "a:")] {
        assert_eq!(
            name_err(name),
            (
                InvalidHeaderKind::InvalidToken,
                "ERR_INVALID_HTTP_TOKEN",
                format!("Header name must be a valid HTTP token [\"{shown}\"]")
            ),
            "{name:?}"
        );
    }
}

#[test]
fn val_1_accepts_every_tchar() {
    assert_eq!(validate_header_name("!#$%&'*+-.^_`|~09AZaz"), Ok(()));
    assert_eq!(validate_header_name("Content-Type"), Ok(()));
    // Node rejects the number 1 because it is not a string; a Rust name is always a
    // string, and the string "1" is a token.
    assert_eq!(validate_header_name("1"), Ok(()));
}

#[test]
fn val_1_rejects_every_separator_and_control() {
    for c in "\"(),/:;<=>?@[\\]{} \t\r\n\0\x7f".chars() {
        let name = format!("x{c}y");
        let err = validate_header_name(&name).unwrap_err();
        assert_eq!(err.code(), "ERR_INVALID_HTTP_TOKEN", "{name:?}");
        assert_eq!(
            err.message(),
            format!("Header name must be a valid HTTP token [\"{name}\"]")
        );
    }
    for name in ["ā", "😀", "x\u{80}", "ÿ"] {
        assert!(validate_header_name(name).is_err(), "{name:?}");
    }
}

#[test]
fn val_1_byte_names_show_latin1_in_the_message() {
    let err = validate_header_name_bytes(b"caf\xe9").unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_HTTP_TOKEN");
    assert_eq!(
        err.message(),
        "Header name must be a valid HTTP token [\"café\"]"
    );
    assert!(validate_header_name_bytes(b"").is_err());
    assert_eq!(validate_header_name_bytes(TCHARS), Ok(()));
}

#[test]
fn val_3_labels_for_trailers_and_methods() {
    let err = validate_token(TRAILER_NAME, "a b").unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_HTTP_TOKEN");
    assert_eq!(
        err.message(),
        "Trailer name must be a valid HTTP token [\"a b\"]"
    );
    let err = validate_token(METHOD, "GE T").unwrap_err();
    assert_eq!(
        err.message(),
        "Method must be a valid HTTP token [\"GE T\"]"
    );
    let err = validate_token_bytes(METHOD, b"").unwrap_err();
    assert_eq!(err.message(), "Method must be a valid HTTP token [\"\"]");
    assert_eq!(validate_token(METHOD, "PURGE"), Ok(()));

    let err = validate_value_chars(TRAILER_CONTENT, "x-t", "a\nb").unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_CHAR");
    assert_eq!(
        err.message(),
        "Invalid character in trailer content [\"x-t\"]"
    );
    let err = validate_value_bytes(TRAILER_CONTENT, b"x-t", b"\0").unwrap_err();
    assert_eq!(
        err.message(),
        "Invalid character in trailer content [\"x-t\"]"
    );
}

// ---- VAL-2 ---------------------------------------------------------------------------

#[test]
fn val_2_undefined_value() {
    let err = validate_header_value("x-foo", None).unwrap_err();
    assert_eq!(err.kind(), InvalidHeaderKind::MissingValue);
    assert_eq!(err.code(), "ERR_HTTP_INVALID_HEADER_VALUE");
    assert_eq!(
        err.message(),
        "Invalid value \"undefined\" for header \"x-foo\""
    );
    assert_eq!(
        err.to_string(),
        "ERR_HTTP_INVALID_HEADER_VALUE: Invalid value \"undefined\" for header \"x-foo\""
    );
    let err = validate_header_value_bytes(b"X-Foo", None).unwrap_err();
    assert_eq!(
        err.message(),
        "Invalid value \"undefined\" for header \"X-Foo\""
    );
}

#[test]
fn val_2_rejects_controls_del_and_chars_above_u_00ff() {
    for value in [
        "a\rb", "a\nb", "\r\n", "a\0b", "\x01", "\x08", "\x0b", "\x1f", "a\x7fb", "ā", "x😀",
    ] {
        let err = validate_header_value("x-foo", Some(value)).unwrap_err();
        assert_eq!(err.kind(), InvalidHeaderKind::InvalidChar, "{value:?}");
        assert_eq!(err.code(), "ERR_INVALID_CHAR");
        assert_eq!(
            err.message(),
            "Invalid character in header content [\"x-foo\"]"
        );
    }
}

#[test]
fn val_2_accepts_empty_tab_latin1_and_stringified_values() {
    // `null`, numbers and objects reach Node's check as their `String()` forms.
    for value in [
        "",
        "a\tb",
        "a\u{ff}b",
        "\u{80}",
        "é",
        "null",
        "42",
        "[object Object]",
        "a,b",
    ] {
        assert_eq!(
            validate_header_value("x-foo", Some(value)),
            Ok(()),
            "{value:?}"
        );
    }
    assert_eq!(
        validate_header_value_bytes(b"x", Some(b"a\xffb\x80\t ~")),
        Ok(())
    );
}

#[test]
fn val_2_the_name_is_not_checked_by_the_value_check() {
    assert_eq!(validate_header_value("a b", Some("ok")), Ok(()));
}

#[test]
fn res_7_status_message_check() {
    assert_eq!(validate_status_message("I'm a Teapot"), Ok(()));
    assert_eq!(validate_status_message(""), Ok(()));
    let err = validate_status_message("OK\r\nX: y").unwrap_err();
    assert_eq!(err.code(), "ERR_INVALID_CHAR");
    assert_eq!(err.message(), "Invalid character in statusMessage");
}

#[test]
fn val_3_headers_append_and_set_validate() {
    let mut h = Headers::new();
    let err = h.append("a b", "v").unwrap_err();
    assert_eq!(
        err.message(),
        "Header name must be a valid HTTP token [\"a b\"]"
    );
    let err = h.set("x-foo", "a\r\nb").unwrap_err();
    assert_eq!(
        err.message(),
        "Invalid character in header content [\"x-foo\"]"
    );
    assert!(h.is_empty());
    h.append("X-Latin", &b"caf\xe9"[..]).unwrap();
    assert_eq!(h.get("x-latin"), Some(&b"caf\xe9"[..]));
}

// ---- properties ----------------------------------------------------------------------

fn is_value_char(c: char) -> bool {
    c == '\t' || (' '..='~').contains(&c) || ('\u{80}'..='\u{ff}').contains(&c)
}

proptest! {
    /// CONST-9: any non-empty string of tchars is a valid name.
    #[test]
    fn prop_tchar_strings_are_names(idx in prop::collection::vec(0..TCHARS.len(), 1..64)) {
        let name: Vec<u8> = idx.iter().map(|&i| TCHARS[i]).collect();
        prop_assert_eq!(validate_header_name_bytes(&name), Ok(()));
        let s = String::from_utf8(name).unwrap();
        prop_assert_eq!(validate_header_name(&s), Ok(()));
    }

    /// CONST-9: one byte outside the tchar class anywhere makes the name invalid.
    #[test]
    fn prop_one_non_tchar_byte_rejects(
        idx in prop::collection::vec(0..TCHARS.len(), 0..64),
        bad in any::<u8>().prop_filter("non-tchar", |b| !TCHARS.contains(b)),
        at in any::<prop::sample::Index>(),
    ) {
        let mut name: Vec<u8> = idx.iter().map(|&i| TCHARS[i]).collect();
        let pos = at.index(name.len() + 1);
        name.insert(pos, bad);
        let err = validate_header_name_bytes(&name).unwrap_err();
        prop_assert_eq!(err.code(), "ERR_INVALID_HTTP_TOKEN");
    }

    /// CONST-9: byte values are valid exactly when every byte is HTAB, 0x20–0x7E or 0x80–0xFF.
    #[test]
    fn prop_value_bytes(value in prop::collection::vec(any::<u8>(), 0..200)) {
        let expected = value.iter().all(|&b| b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80);
        prop_assert_eq!(validate_header_value_bytes(b"x", Some(&value)).is_ok(), expected);
    }

    /// VAL-2: string values are valid exactly when every char is at most U+00FF and
    /// not a control other than HTAB, nor DEL.
    #[test]
    fn prop_value_chars(value in any::<String>()) {
        let expected = value.chars().all(is_value_char);
        prop_assert_eq!(validate_header_value("x", Some(&value)).is_ok(), expected);
    }

    /// VAL-2 on mostly valid input, where the generic strategy rarely lands.
    #[test]
    fn prop_value_chars_near_the_boundary(
        value in prop::collection::vec(
            prop_oneof![
                8 => (0x20u32..=0x7e).prop_map(|c| char::from_u32(c).unwrap()),
                4 => (0x80u32..=0x1ff).prop_map(|c| char::from_u32(c).unwrap()),
                1 => (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
                1 => Just('\u{7f}'),
            ],
            0..100,
        )
    ) {
        let s: String = value.iter().collect();
        let expected = value.iter().all(|&c| is_value_char(c));
        prop_assert_eq!(validate_header_value("x", Some(&s)).is_ok(), expected);
    }
}
