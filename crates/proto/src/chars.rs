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

/// Eight `0x01` bytes: SWAR constants are multiples of this.
const LO: u64 = u64::from_le_bytes([1; 8]);
/// The high bit of every byte of a word.
const HI: u64 = LO * 0x80;

/// A class of bytes that ends a run, tested sixteen bytes at a time.
trait Stop {
    /// Whether runs are long enough for blocks of sixteen to pay.
    const BLOCKS: bool = true;
    /// Whether `b` ends the run.
    fn stop(b: u8) -> bool;
    /// The bytes of `w` (little-endian) that end the run, as their high bits. Only the
    /// lowest flag need be exact: a test may be thrown off by a carry or borrow from
    /// the byte below, and that only happens when the byte below is flagged itself.
    fn word(w: u64) -> u64;
}

/// The first offset at or after `i` whose byte is in the class `C`, or `s.len()`.
///
/// Sixteen bytes per step: the any-of fold compiles to a vector compare and a move
/// mask (SSE2 is part of x86-64). In the block that has a stop byte, its position is
/// that of the lowest byte set in the compare's result.
#[inline(always)]
fn run_end<C: Stop>(s: &[u8], mut i: usize) -> usize {
    if C::BLOCKS {
        while let Some(c) = s.get(i..).and_then(<[u8]>::first_chunk::<16>) {
            if c.iter().fold(false, |a, &b| a | C::stop(b)) {
                // The first stop byte is in one of the block's two words: the word
                // test finds it (a handful of scalar operations; reading the
                // vector's compares back as a number costs more).
                let (lo, hi) = c.split_at(8);
                let word = |w: &[u8]| C::word(u64::from_le_bytes(w.try_into().unwrap_or([0; 8])));
                let m = word(lo);
                return if m != 0 {
                    i + (m.trailing_zeros() / 8) as usize
                } else {
                    i + 8 + (word(hi).trailing_zeros() / 8) as usize
                };
            }
            i += 16;
        }
    }
    while let Some(w) = s.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let m = C::word(u64::from_le_bytes(*w));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = s.get(i) {
        if C::stop(b) {
            break;
        }
        i += 1;
    }
    i
}

/// Control bytes (`< 0x20`, HTAB included) and DEL.
struct NotValue;
impl Stop for NotValue {
    #[inline(always)]
    fn stop(b: u8) -> bool {
        (b < 0x20) | (b == 0x7f)
    }
    #[inline(always)]
    fn word(w: u64) -> u64 {
        // `b - 0x20` borrows (sets the high bit) exactly when `b < 0x20`; `!w` drops
        // obs-text, whose high bit is set already.
        let ctl = w.wrapping_sub(LO * 0x20) & !w;
        let t = w ^ (LO * 0x7f);
        let del = t.wrapping_sub(LO) & !t;
        (ctl | del) & HI
    }
}

/// Bytes other than visible ASCII (`!`..=`~`).
struct NotVisible;
impl Stop for NotVisible {
    #[inline(always)]
    fn stop(b: u8) -> bool {
        b.wrapping_sub(0x21) > 0x7e - 0x21
    }
    #[inline(always)]
    fn word(w: u64) -> u64 {
        // `b < 0x21` borrows; `b + 1` reaches the high bit for DEL, `| w` flags the rest.
        let low = w.wrapping_sub(LO * 0x21) & !w;
        let high = w.wrapping_add(LO) | w;
        (low | high) & HI
    }
}

/// Bytes other than ASCII letters and `-` (a digit ends a run too: the caller goes on
/// past any token byte, and digits are rare in field names).
struct NotNameByte;
impl Stop for NotNameByte {
    // Names are short: most end in their first or second word.
    const BLOCKS: bool = false;
    #[inline(always)]
    fn stop(b: u8) -> bool {
        // `b | 0x20` maps `A`..=`Z` onto `a`..=`z`, and no other byte lands there.
        let letter = (b | 0x20).wrapping_sub(b'a') < 26;
        !(letter | (b == b'-'))
    }
    #[inline(always)]
    fn word(w: u64) -> u64 {
        // For a byte `b < 0x80`, `b + (0x80 - k)` has its high bit set exactly when
        // `b >= k`, with no carry out. Bytes with the high bit set are masked by `!w`.
        let y = w | (LO * 0x20);
        let alpha = y.wrapping_add(LO * (0x80 - 0x61)) & !y.wrapping_add(LO * (0x80 - 0x7b));
        let t = w ^ (LO * 0x2d);
        let dash = !(((t & (LO * 0x7f)) + LO * 0x7f) | t);
        !((alpha | dash) & !w) & HI
    }
}

/// The first offset at or after `i` whose byte is a control byte (`< 0x20`, HTAB
/// included) or DEL, or `s.len()`: the end of a run of field-value bytes other than
/// HTAB (SP..=`~` and obs-text).
#[inline]
pub(crate) fn value_run_end(s: &[u8], i: usize) -> usize {
    run_end::<NotValue>(s, i)
}

/// The first offset at or after `i` whose byte is not visible ASCII (`!`..=`~`), or
/// `s.len()`.
#[inline]
pub(crate) fn visible_run_end(s: &[u8], i: usize) -> usize {
    run_end::<NotVisible>(s, i)
}

/// The first offset at or after `i` whose byte is not an ASCII letter or `-` (the
/// bytes of nearly every field name), or `s.len()`.
#[inline]
pub(crate) fn name_run_end(s: &[u8], i: usize) -> usize {
    run_end::<NotNameByte>(s, i)
}

/// `a == b` for the short slices of a header block cache (a value, a small body):
/// up to 16 bytes as two overlapping words each, without a call to `bcmp`.
#[inline(always)]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    fn word(s: &[u8], at: usize) -> u64 {
        u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]))
    }
    fn half(s: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]))
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
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

    type Scan = fn(&[u8], usize) -> usize;
    type Class = fn(u8) -> bool;

    /// Each word scan with the byte class it skips.
    const SCANS: [(Scan, Class); 3] = [
        (value_run_end, |b| b >= 0x20 && b != 0x7f),
        (visible_run_end, |b| (0x21..=0x7e).contains(&b)),
        (name_run_end, |b| b.is_ascii_alphabetic() || b == b'-'),
    ];

    /// Each word scan against its byte-at-a-time definition: every byte value at every
    /// position of two blocks, of a word and of the tail.
    #[test]
    fn word_scans_match_their_byte_definitions() {
        for (scan, keep) in SCANS {
            for len in 0..40 {
                for at in 0..len {
                    for b in 0..=255u8 {
                        for start in [0, 1, 3] {
                            let mut s = vec![b'a'; len];
                            s[at] = b;
                            // A second stop byte above the first must not matter.
                            if at + 2 < len {
                                s[at + 2] = 0;
                            }
                            let start = start.min(len);
                            let want = start + run_len(&s[start..], keep);
                            assert_eq!(scan(&s, start), want, "{s:?} from {start}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn word_scans_over_mixed_runs() {
        // A small deterministic generator: every byte class, in runs of every length.
        let mut x: u32 = 0x1234_5678;
        for _ in 0..20_000 {
            let mut s = Vec::new();
            let len = (x % 40) as usize;
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let picks = b"aZ09-:\t \r\n\x00\x1f\x7f\x80\xff~!_";
                let pick = picks[x as usize % picks.len()];
                s.push(if x % 7 == 0 {
                    pick
                } else {
                    b"abcXYZ-019"[(x % 10) as usize]
                });
            }
            for (scan, keep) in SCANS {
                for start in 0..=s.len() {
                    assert_eq!(scan(&s, start), start + run_len(&s[start..], keep), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn same_bytes_is_slice_equality() {
        let base: Vec<u8> = (0u8..40).collect();
        for n in 0..=24 {
            for at in 0..n {
                let a = &base[..n];
                let mut b = a.to_vec();
                assert!(super::same_bytes(a, &b));
                b[at] ^= 0x20;
                assert!(!super::same_bytes(a, &b), "n={n} at={at}");
            }
            assert!(!super::same_bytes(&base[..n], &base[..n + 1]));
        }
    }
}
