//! Body encoders through the public API: chunked coding (RES-19), trailers (RES-20)
//! and Content-Length accounting (RES-28).

use bytes::Bytes;
use courier_proto::Headers;
use courier_proto::body::{EncodeError, Encoded, Encoder};

fn wire(parts: &[Encoded]) -> Vec<u8> {
    parts
        .iter()
        .flat_map(|e| e.iter())
        .flat_map(|b| b.iter().copied())
        .collect()
}

#[test]
fn res_19_write_then_end() {
    // RES-19: `write('ab'); end('cd')` → "2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n".
    let mut enc = Encoder::Chunked;
    let parts = [
        enc.encode(Bytes::from_static(b"ab")),
        enc.encode(Bytes::from_static(b"cd")),
        enc.finish(None).unwrap(),
    ];
    assert_eq!(wire(&parts), b"2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n");
}

#[test]
fn res_19_size_is_lower_case_hex() {
    // RES-19: 26 bytes → "1a\r\n…\r\n".
    let data = Bytes::from_static(b"abcdefghijklmnopqrstuvwxyz");
    let segs = Encoder::Chunked.encode(data.clone());
    assert_eq!(segs.len(), 3);
    assert_eq!(&segs[0][..], b"1a\r\n");
    assert_eq!(&segs[2][..], b"\r\n");
    let big = Bytes::from(vec![0u8; 0xABCDE]);
    assert_eq!(&Encoder::Chunked.encode(big)[0][..], b"abcde\r\n");
}

#[test]
fn res_19_data_is_not_copied() {
    // The caller's bytes go out as the same allocation (vectored writes, no copy).
    let data = Bytes::from(vec![b'z'; 4096]);
    for mut enc in [
        Encoder::Chunked,
        Encoder::length(4096),
        Encoder::CloseDelimited,
    ] {
        let segs = enc.encode(data.clone());
        let body = segs.iter().find(|s| s.len() == 4096).unwrap();
        assert_eq!(body.as_ptr(), data.as_ptr());
    }
}

#[test]
fn res_19_empty_writes_emit_nothing() {
    // RES-19: an empty write produces no chunk (an empty chunk would end the body).
    for mut enc in [
        Encoder::Chunked,
        Encoder::length(3),
        Encoder::CloseDelimited,
    ] {
        assert!(enc.encode(Bytes::new()).is_empty());
        let with_ext = enc
            .encode_with_extensions(Bytes::new(), &[(b"a", None)])
            .unwrap();
        assert!(with_ext.is_empty());
    }
}

#[test]
fn res_19_end_without_data() {
    // RES-19: `end()` on a chunked body writes only the last chunk.
    assert_eq!(
        wire(&[Encoder::Chunked.finish(None).unwrap()]),
        b"0\r\n\r\n"
    );
    let empty = Headers::new();
    assert_eq!(
        wire(&[Encoder::Chunked.finish(Some(&empty)).unwrap()]),
        b"0\r\n\r\n"
    );
}

#[test]
fn res_20_trailer_layout() {
    // RES-20: trailers go between "0\r\n" and the final "\r\n", one line per field,
    // in order, names in the case given.
    let mut t = Headers::new();
    t.append("X-T", "v").unwrap();
    t.append("X-U", "1").unwrap();
    t.append("X-U", "2").unwrap();
    let mut enc = Encoder::Chunked;
    let parts = [
        enc.encode(Bytes::from_static(b"hello")),
        enc.finish(Some(&t)).unwrap(),
    ];
    assert_eq!(
        wire(&parts),
        b"5\r\nhello\r\n0\r\nX-T: v\r\nX-U: 1\r\nX-U: 2\r\n\r\n"
    );
}

#[test]
fn res_20_trailers_dropped_without_chunked_coding() {
    // RES-20: with Content-Length or close-delimited framing trailers vanish silently.
    let mut t = Headers::new();
    t.append("X-T", "v").unwrap();
    let mut enc = Encoder::length(2);
    assert_eq!(wire(&[enc.encode(Bytes::from_static(b"ok"))]), b"ok");
    assert!(enc.finish(Some(&t)).unwrap().is_empty());
    let mut enc = Encoder::CloseDelimited;
    assert_eq!(wire(&[enc.encode(Bytes::from_static(b"ok"))]), b"ok");
    assert!(enc.finish(Some(&t)).unwrap().is_empty());
}

#[test]
fn res_28_content_length_is_not_enforced_by_default() {
    // RES-28: `Content-Length: 5` + "abc" is sent as is; `Content-Length: 2` +
    // "abcdef" sends all 6 bytes. The caller can see the shortfall.
    let mut enc = Encoder::length(5);
    assert_eq!(wire(&[enc.encode(Bytes::from_static(b"abc"))]), b"abc");
    assert_eq!(enc.remaining(), Some(2));
    assert!(!enc.is_complete());
    assert!(enc.finish(None).unwrap().is_empty());

    let mut enc = Encoder::length(2);
    assert_eq!(
        wire(&[enc.encode(Bytes::from_static(b"abcdef"))]),
        b"abcdef"
    );
    assert_eq!(enc.remaining(), Some(0));
    assert!(enc.is_complete());
}

#[test]
fn res_28_strict_finish_reports_the_shortfall() {
    // RES-28 with `strictContentLength`: ending short is ERR_HTTP_CONTENT_LENGTH_MISMATCH.
    let mut enc = Encoder::length(5);
    enc.encode(Bytes::from_static(b"abc"));
    let err = enc.finish_strict(None).unwrap_err();
    assert_eq!(err, EncodeError::LengthMismatch { remaining: 2 });
    assert_eq!(err.code(), "ERR_HTTP_CONTENT_LENGTH_MISMATCH");
    enc.encode(Bytes::from_static(b"de"));
    assert!(enc.finish_strict(None).unwrap().is_empty());
    assert!(Encoder::Chunked.finish_strict(None).is_ok());
    assert!(Encoder::CloseDelimited.finish_strict(None).is_ok());
}

#[test]
fn chunk_extensions_are_written_as_tokens_or_quoted_strings() {
    let mut enc = Encoder::Chunked;
    let segs = enc
        .encode_with_extensions(
            Bytes::from_static(b"abc"),
            &[
                (b"tok", Some(b"v1")),
                (b"flag", None),
                (b"q", Some(b"a \"b\" \\c")),
                (b"e", Some(b"")),
            ],
        )
        .unwrap();
    assert_eq!(
        &segs[0][..],
        b"3;tok=v1;flag;q=\"a \\\"b\\\" \\\\c\";e=\"\"\r\n"
    );
    assert_eq!(&segs[1][..], b"abc");
    assert_eq!(&segs[2][..], b"\r\n");

    let bad_name =
        enc.encode_with_extensions(Bytes::from_static(b"x"), &[(b"a", None), (b"b c", None)]);
    assert_eq!(bad_name, Err(EncodeError::InvalidExtension { index: 1 }));
    let bad_value = enc.encode_with_extensions(Bytes::from_static(b"x"), &[(b"a", Some(b"\r\n"))]);
    assert_eq!(bad_value, Err(EncodeError::InvalidExtension { index: 0 }));
    let empty_name = enc.encode_with_extensions(Bytes::from_static(b"x"), &[(b"", None)]);
    assert_eq!(empty_name, Err(EncodeError::InvalidExtension { index: 0 }));

    // Without chunked coding the extensions have nowhere to go.
    let mut len = Encoder::length(1);
    let segs = len
        .encode_with_extensions(Bytes::from_static(b"x"), &[(b"a", None)])
        .unwrap();
    assert_eq!(wire(&[segs]), b"x");
}

#[test]
fn errors_display_their_code() {
    let e = EncodeError::InvalidTrailerName { index: 3 };
    assert_eq!(e.code(), "ERR_INVALID_HTTP_TOKEN");
    assert!(e.to_string().starts_with("ERR_INVALID_HTTP_TOKEN"));
    assert_eq!(
        EncodeError::InvalidExtension { index: 0 }.code(),
        "ERR_INVALID_CHAR"
    );
}
