//! Node v20's constant tables (CONST-1, CONST-2, CONST-3) as generated from the spec.

use courier_proto::{MAX_HEADER_SIZE, METHODS, STATUS_CODES, method_index, status_text};

#[test]
fn const_1_status_codes_has_63_ascending_rows() {
    assert_eq!(STATUS_CODES.len(), 63);
    assert!(STATUS_CODES.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(STATUS_CODES.first(), Some(&(100, "Continue")));
    assert_eq!(
        STATUS_CODES.last(),
        Some(&(511, "Network Authentication Required"))
    );
}

#[test]
fn const_1_notable_spellings() {
    assert_eq!(status_text(413), Some("Payload Too Large"));
    assert_eq!(status_text(418), Some("I'm a Teapot"));
    assert_eq!(status_text(422), Some("Unprocessable Entity"));
    assert_eq!(status_text(509), Some("Bandwidth Limit Exceeded"));
    assert_eq!(status_text(200), Some("OK"));
    assert_eq!(status_text(103), Some("Early Hints"));
}

#[test]
fn const_1_absent_codes_have_no_entry() {
    for code in [
        0, 1, 99, 199, 209, 306, 419, 420, 427, 430, 432, 450, 452, 499, 512, 599, 600, 999,
    ] {
        assert_eq!(status_text(code), None, "{code}");
    }
    assert_eq!(status_text(u16::MAX), None);
}

#[test]
fn const_1_status_text_agrees_with_the_table() {
    for code in 0..=u16::MAX {
        let row = STATUS_CODES
            .binary_search_by_key(&code, |&(c, _)| c)
            .ok()
            .map(|i| STATUS_CODES[i].1);
        assert_eq!(status_text(code), row, "{code}");
    }
}

#[test]
fn const_2_methods_has_35_sorted_entries_with_query() {
    assert_eq!(METHODS.len(), 35);
    assert!(METHODS.windows(2).all(|w| w[0] < w[1]), "ASCII order");
    assert_eq!(METHODS.first(), Some(&"ACL"));
    assert_eq!(METHODS.last(), Some(&"UNSUBSCRIBE"));
    assert!(METHODS.contains(&"QUERY"));
    assert!(METHODS.contains(&"M-SEARCH"));
}

#[test]
fn const_2_method_index_finds_every_method() {
    for (i, m) in METHODS.iter().enumerate() {
        assert_eq!(method_index(m.as_bytes()), Some(i), "{m}");
    }
}

#[test]
fn prs_2_method_index_is_byte_exact_and_case_sensitive() {
    for token in [
        &b""[..],
        b"get",
        b"Get",
        b"GET ",
        b" GET",
        b"GETS",
        b"GE",
        b"G",
        b"M_SEARCH",
        b"MSEARCH",
        b"PRI",
        b"HTTP/1.1",
        b"UNSUBSCRIBEX",
        b"POST\0",
        b"\xffGET",
    ] {
        assert_eq!(
            method_index(token),
            None,
            "{:?}",
            String::from_utf8_lossy(token)
        );
    }
    // Every proper prefix of a method that is not a method itself is rejected.
    for m in METHODS {
        for n in 0..m.len() {
            let prefix = &m.as_bytes()[..n];
            let expected = METHODS.iter().position(|x| x.as_bytes() == prefix);
            assert_eq!(method_index(prefix), expected, "{m}[..{n}]");
        }
    }
}

#[test]
fn const_3_max_header_size_is_16384() {
    assert_eq!(MAX_HEADER_SIZE, 16384);
}
