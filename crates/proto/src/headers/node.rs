//! Node's derived header views (MSG-3 … MSG-8).
//!
//! The raw [`Headers`] list stays the truth; the views here are computed from it on
//! demand:
//!
//! * [`Headers::node_view`] gives Node's `headers` (or `trailers`) object, with the
//!   duplicate rules of MSG-3 and the `joinDuplicateHeaders` option of MSG-4;
//! * [`Headers::distinct`] gives `headersDistinct` (or `trailersDistinct`, MSG-5).
//!
//! Trailers follow exactly the same rules as headers (MSG-8), so the same two methods
//! serve both.
//!
//! Building a view costs one pass over the fields. Values seen once are shared
//! [`Bytes`] handles of the raw list (no copy); only names that actually repeat get a
//! joined buffer. Names are grouped by a linear scan for short lists and by a hash map
//! keyed on the borrowed wire names (case-folded while hashing) for long ones, so even
//! a thousand distinct names cost near-linear time.
//!
//! Keys are plain lower-case strings in first-seen order. JavaScript object artefacts
//! of Node (a `__proto__` header vanishing from `headers`, integer-like names such as
//! `123` sorting first) are deliberately not reproduced (spec section 0).

use core::hash::{Hash, Hasher};
use std::collections::HashMap;

use bytes::Bytes;
use smallvec::{SmallVec, smallvec};

use super::{Field, Headers};

/// Maps bytes to a string one char per byte (latin-1), as Node does for header values (MSG-7).
///
/// ```
/// use courier_proto::headers::latin1;
///
/// assert_eq!(latin1(b"text/plain"), "text/plain");
/// assert_eq!(latin1(&[0xC3, 0xA9, 0xFF]), "Ã©ÿ");
/// ```
pub fn latin1(bytes: &[u8]) -> String {
    match core::str::from_utf8(bytes) {
        // Pure ASCII is the common case: one copy, no per-byte char encoding.
        Ok(s) if bytes.is_ascii() => s.to_owned(),
        _ => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// One value of Node's `headers` object.
///
/// ```
/// use courier_proto::{Headers, NodeValue};
///
/// let mut h = Headers::new();
/// h.append("Accept", "a")?.append("Set-Cookie", "s")?;
/// let view = h.node_view(false);
/// assert!(matches!(view.get("accept"), Some(NodeValue::Single(v)) if v == "a"));
/// assert!(matches!(view.get("set-cookie"), Some(NodeValue::List(l)) if l == &["s"]));
/// # Ok::<(), courier_proto::validate::InvalidHeader>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeValue {
    /// A single string (possibly several wire values joined).
    Single(Bytes),
    /// A list of strings: `set-cookie` (MSG-3 rule 1).
    List(Vec<Bytes>),
}

impl NodeValue {
    /// The value when it is a single string, `None` for a list.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("X-A", "1")?.append("x-a", "2")?;
    /// let view = h.node_view(false);
    /// assert_eq!(view.get("x-a").and_then(|v| v.as_single()).map(|b| &b[..]), Some(&b"1, 2"[..]));
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn as_single(&self) -> Option<&Bytes> {
        match self {
            Self::Single(b) => Some(b),
            Self::List(_) => None,
        }
    }

    /// The strings when the value is a list (`set-cookie`), `None` for a single string.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("Set-Cookie", "a=1")?;
    /// let view = h.node_view(false);
    /// assert_eq!(view.get("set-cookie").and_then(|v| v.as_list()).map(<[_]>::len), Some(1));
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn as_list(&self) -> Option<&[Bytes]> {
        match self {
            Self::Single(_) => None,
            Self::List(l) => Some(l),
        }
    }

    /// Whether the value is a list (only `set-cookie` is, MSG-3 rule 1).
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("Set-Cookie", "a=1")?.append("Host", "h")?;
    /// let view = h.node_view(false);
    /// assert!(view.get("set-cookie").is_some_and(|v| v.is_list()));
    /// assert!(view.get("host").is_some_and(|v| !v.is_list()));
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn is_list(&self) -> bool {
        matches!(self, Self::List(_))
    }

    /// Every string of the value: one for a single string, all of them for a list.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("Host", "h")?.append("Set-Cookie", "a")?.append("Set-Cookie", "b")?;
    /// let view = h.node_view(false);
    /// assert_eq!(view.get("host").map(|v| v.as_slice().len()), Some(1));
    /// assert_eq!(view.get("set-cookie").map(|v| v.as_slice().len()), Some(2));
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn as_slice(&self) -> &[Bytes] {
        match self {
            Self::Single(b) => core::slice::from_ref(b),
            Self::List(l) => l,
        }
    }

    /// A single string as latin-1 text (MSG-7); `None` for a list.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("X-L", &b"\xC3\xA9\xFF"[..])?;
    /// let view = h.node_view(false);
    /// assert_eq!(view.get("x-l").and_then(|v| v.to_latin1()).as_deref(), Some("Ã©ÿ"));
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn to_latin1(&self) -> Option<String> {
        self.as_single().map(|b| latin1(b))
    }

    /// Every string of the value as latin-1 text (MSG-7); a single string gives one item.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("Set-Cookie", "s1")?.append("set-cookie", "s2")?;
    /// let view = h.node_view(false);
    /// assert_eq!(view.get("set-cookie").map(|v| v.to_latin1_list()), Some(vec!["s1".into(), "s2".into()]));
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn to_latin1_list(&self) -> Vec<String> {
        self.as_slice().iter().map(|b| latin1(b)).collect()
    }
}

/// Node's `headers` (or `trailers`) object: lower-case names in first-seen order
/// (MSG-3, MSG-4, MSG-8). Built by [`Headers::node_view`].
///
/// ```
/// use courier_proto::Headers;
///
/// let mut h = Headers::new();
/// h.append("Host", "a")?.append("Host", "b")?.append("X-A", "1")?.append("x-a", "2")?;
/// let view = h.node_view(false);
/// let keys: Vec<&str> = view.keys().collect();
/// assert_eq!(keys, ["host", "x-a"]);
/// assert_eq!(view.get_str("HOST").as_deref(), Some("a"));
/// assert_eq!(view.get_str("x-a").as_deref(), Some("1, 2"));
/// # Ok::<(), courier_proto::validate::InvalidHeader>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeHeaders {
    entries: Vec<(String, NodeValue)>,
}

impl NodeHeaders {
    /// The entries in insertion order.
    ///
    /// ```
    /// use courier_proto::{Headers, NodeValue};
    ///
    /// let mut h = Headers::new();
    /// h.append("Host", "h")?;
    /// let view = h.node_view(false);
    /// assert_eq!(view.entries(), &[("host".to_string(), NodeValue::Single("h".into()))]);
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn entries(&self) -> &[(String, NodeValue)] {
        &self.entries
    }

    /// Takes the entries out, in insertion order.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("Host", "h")?;
    /// let entries = h.node_view(false).into_entries();
    /// assert_eq!(entries[0].0, "host");
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn into_entries(self) -> Vec<(String, NodeValue)> {
        self.entries
    }

    /// Number of keys.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("A", "1")?.append("a", "2")?.append("B", "3")?;
    /// assert_eq!(h.node_view(false).len(), 2);
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys (`{}`).
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// assert!(Headers::new().node_view(false).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value for `name`, ignoring ASCII case. Linear in the number of keys.
    ///
    /// ```
    /// use courier_proto::{Headers, NodeValue};
    ///
    /// let mut h = Headers::new();
    /// h.append("Cookie", "a=1")?.append("cookie", "b=2")?;
    /// let view = h.node_view(false);
    /// assert_eq!(view.get("Cookie"), Some(&NodeValue::Single("a=1; b=2".into())));
    /// assert_eq!(view.get("x-missing"), None);
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn get(&self, name: &str) -> Option<&NodeValue> {
        let name = name.as_bytes();
        self.entries
            .iter()
            .find(|(k, _)| k.as_bytes().eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The value for `name` (ignoring ASCII case) as latin-1 text (MSG-7). `None` when
    /// the key is absent or holds a list (`set-cookie`; use [`NodeValue::to_latin1_list`]).
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("User-Agent", "u1")?.append("User-Agent", "u2")?;
    /// assert_eq!(h.node_view(false).get_str("user-agent").as_deref(), Some("u1"));
    /// assert_eq!(h.node_view(true).get_str("user-agent").as_deref(), Some("u1, u2"));
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn get_str(&self, name: &str) -> Option<String> {
        self.get(name).and_then(NodeValue::to_latin1)
    }

    /// Whether there is a key `name`, ignoring ASCII case.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("X-Empty", "")?;
    /// assert!(h.node_view(false).contains("x-empty"));
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The keys in insertion order.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("B", "1")?.append("A", "2")?.append("b", "3")?;
    /// assert_eq!(h.node_view(false).keys().collect::<Vec<_>>(), ["b", "a"]);
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// `(key, value)` pairs in insertion order.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("Host", "h")?.append("Set-Cookie", "s")?;
    /// let view = h.node_view(false);
    /// let pairs: Vec<(&str, bool)> = view.iter().map(|(k, v)| (k, v.is_list())).collect();
    /// assert_eq!(pairs, [("host", false), ("set-cookie", true)]);
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &NodeValue)> + '_ {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl<'a> IntoIterator for &'a NodeHeaders {
    type Item = &'a (String, NodeValue);
    type IntoIter = core::slice::Iter<'a, (String, NodeValue)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

/// Node's `headersDistinct` (or `trailersDistinct`) object: lower-case names in
/// first-seen order, each with every value in wire order, no special cases (MSG-5).
/// Built by [`Headers::distinct`].
///
/// A name seen once holds its value inline, so the common case allocates nothing per
/// value.
///
/// ```
/// use courier_proto::Headers;
///
/// let mut h = Headers::new();
/// h.append("Host", "a")?.append("host", "b")?.append("Set-Cookie", "1")?;
/// let d = h.distinct();
/// assert_eq!(d.get("HOST").map(<[_]>::len), Some(2));
/// assert_eq!(d.get_strs("set-cookie"), Some(vec!["1".to_string()]));
/// # Ok::<(), courier_proto::validate::InvalidHeader>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeDistinct {
    entries: Vec<(String, SmallVec<[Bytes; 1]>)>,
}

impl NodeDistinct {
    /// Number of keys.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("A", "1")?.append("a", "2")?;
    /// assert_eq!(h.distinct().len(), 1);
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys (`{}`).
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// assert!(Headers::new().distinct().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every value of `name` in wire order, ignoring ASCII case. Linear in the number of keys.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("Cookie", "a")?.append("Cookie", "b")?;
    /// let d = h.distinct();
    /// assert_eq!(d.get("cookie"), Some(&["a".into(), "b".into()][..]));
    /// assert_eq!(d.get("x"), None);
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn get(&self, name: &str) -> Option<&[Bytes]> {
        let name = name.as_bytes();
        self.entries
            .iter()
            .find(|(k, _)| k.as_bytes().eq_ignore_ascii_case(name))
            .map(|(_, v)| &v[..])
    }

    /// Every value of `name` (ignoring ASCII case) as latin-1 text (MSG-7).
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("X-L", &b"\xFF"[..])?.append("X-L", "")?;
    /// assert_eq!(h.distinct().get_strs("x-l"), Some(vec!["ÿ".to_string(), String::new()]));
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn get_strs(&self, name: &str) -> Option<Vec<String>> {
        self.get(name)
            .map(|vs| vs.iter().map(|b| latin1(b)).collect())
    }

    /// Whether there is a key `name`, ignoring ASCII case.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("Host", "h")?;
    /// assert!(h.distinct().contains("Host"));
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The keys in insertion order.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("B", "1")?.append("A", "2")?.append("b", "3")?;
    /// assert_eq!(h.distinct().keys().collect::<Vec<_>>(), ["b", "a"]);
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// `(key, values)` pairs in insertion order.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("A", "1")?.append("B", "2")?.append("a", "3")?;
    /// let d = h.distinct();
    /// let counts: Vec<(&str, usize)> = d.iter().map(|(k, v)| (k, v.len())).collect();
    /// assert_eq!(counts, [("a", 2), ("b", 1)]);
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &[Bytes])> + '_ {
        self.entries.iter().map(|(k, v)| (k.as_str(), &v[..]))
    }

    /// Takes the entries out, in insertion order.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("Host", "a")?.append("Host", "b")?;
    /// let entries = h.distinct().into_entries();
    /// assert_eq!(entries, [("host".to_string(), vec!["a".into(), "b".into()])]);
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn into_entries(self) -> Vec<(String, Vec<Bytes>)> {
        self.entries
            .into_iter()
            .map(|(k, v)| (k, v.into_vec()))
            .collect()
    }
}

impl Headers {
    /// Node's `headers` view (MSG-3, MSG-4); on a trailer list, Node's `trailers` (MSG-8).
    ///
    /// Keys are the ASCII-lower-cased names in first-seen order. For a name that
    /// occurs more than once:
    /// 1. `set-cookie` is always a list, even with one value;
    /// 2. `cookie` values are joined with `"; "`;
    /// 3. `age`, `authorization`, `content-length`, `content-type`, `etag`, `expires`,
    ///    `from`, `host`, `if-modified-since`, `if-unmodified-since`, `last-modified`,
    ///    `location`, `max-forwards`, `proxy-authorization`, `referer`, `retry-after`,
    ///    `server` and `user-agent` keep only their first value, unless
    ///    `join_duplicates` (Node's `joinDuplicateHeaders`) is set, which joins them
    ///    with `", "`;
    /// 4. every other name is joined with `", "`.
    ///
    /// Empty values take part like any other (`"X: "` then `"X: a"` gives `", a"`).
    ///
    /// ```
    /// use courier_proto::{Headers, NodeValue};
    ///
    /// let mut h = Headers::new();
    /// h.append("Host", "a")?.append("Host", "b")?;
    /// h.append("Cookie", "a=1")?.append("Cookie", "b=2")?;
    /// h.append("Set-Cookie", "s1")?.append("Set-Cookie", "s2")?;
    /// let view = h.node_view(false);
    /// assert_eq!(view.get_str("host").as_deref(), Some("a"));
    /// assert_eq!(view.get_str("cookie").as_deref(), Some("a=1; b=2"));
    /// assert_eq!(view.get("set-cookie"), Some(&NodeValue::List(vec!["s1".into(), "s2".into()])));
    /// assert_eq!(h.node_view(true).get_str("host").as_deref(), Some("a, b"));
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn node_view(&self, join_duplicates: bool) -> NodeHeaders {
        let fields = self.fields();
        let groups = group(fields);
        let mut entries: Vec<(String, NodeValue)> = Vec::with_capacity(groups.count);
        // Per entry: what later duplicates do. Joined text lives in `bufs` until the end,
        // so a name repeated many times is appended to, never re-copied.
        let mut dups: SmallVec<[Dup; INLINE]> = SmallVec::with_capacity(groups.count);
        let mut bufs: Vec<Vec<u8>> = Vec::new();

        for (field, &g) in fields.iter().zip(&groups.ids) {
            let value = field.value_bytes();
            if g == entries.len() {
                let key = lower_key(field.name());
                let node_value = if key == "set-cookie" {
                    NodeValue::List(vec![value.clone()])
                } else {
                    NodeValue::Single(value.clone())
                };
                entries.push((key, node_value));
                dups.push(Dup::Once);
                continue;
            }
            let (Some((key, node_value)), Some(dup)) = (entries.get_mut(g), dups.get_mut(g)) else {
                continue;
            };
            match (node_value, *dup) {
                (NodeValue::List(list), _) => list.push(value.clone()),
                (NodeValue::Single(_), Dup::Kept) => {}
                (NodeValue::Single(_), Dup::Joined(b)) => {
                    if let Some(buf) = bufs.get_mut(b) {
                        buf.extend_from_slice(separator(key));
                        buf.extend_from_slice(value);
                    }
                }
                (NodeValue::Single(first), Dup::Once) => {
                    if !join_duplicates && is_first_wins(key.as_bytes()) {
                        *dup = Dup::Kept;
                    } else {
                        let sep = separator(key);
                        let mut buf = Vec::with_capacity(first.len() + sep.len() + value.len());
                        buf.extend_from_slice(first);
                        buf.extend_from_slice(sep);
                        buf.extend_from_slice(value);
                        *dup = Dup::Joined(bufs.len());
                        bufs.push(buf);
                    }
                }
            }
        }

        if !bufs.is_empty() {
            for (entry, dup) in entries.iter_mut().zip(&dups) {
                if let &Dup::Joined(b) = dup {
                    if let Some(buf) = bufs.get_mut(b) {
                        entry.1 = NodeValue::Single(Bytes::from(core::mem::take(buf)));
                    }
                }
            }
        }
        NodeHeaders { entries }
    }

    /// Node's `headersDistinct` view (MSG-5); on a trailer list, `trailersDistinct`.
    ///
    /// Keys are the ASCII-lower-cased names in first-seen order; each holds every value
    /// of that name in wire order, with no special cases for `set-cookie`, `cookie` or
    /// the first-wins names.
    ///
    /// ```
    /// use courier_proto::Headers;
    ///
    /// let mut h = Headers::new();
    /// h.append("Host", "a")?.append("Host", "b")?.append("Set-Cookie", "1")?.append("set-cookie", "2")?;
    /// let d = h.distinct();
    /// assert_eq!(d.get_strs("host"), Some(vec!["a".into(), "b".into()]));
    /// assert_eq!(d.get_strs("set-cookie"), Some(vec!["1".into(), "2".into()]));
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn distinct(&self) -> NodeDistinct {
        let fields = self.fields();
        let groups = group(fields);
        let mut entries: Vec<(String, SmallVec<[Bytes; 1]>)> = Vec::with_capacity(groups.count);
        for (field, &g) in fields.iter().zip(&groups.ids) {
            let value = field.value_bytes().clone();
            if g == entries.len() {
                entries.push((lower_key(field.name()), smallvec![value]));
            } else if let Some((_, values)) = entries.get_mut(g) {
                values.push(value);
            }
        }
        NodeDistinct { entries }
    }
}

/// What a later duplicate of a name does to its (single-string) entry.
#[derive(Clone, Copy)]
enum Dup {
    /// Seen once so far; the rule is decided on the first duplicate.
    Once,
    /// First value wins; later ones are dropped (MSG-3 rule 3).
    Kept,
    /// Joined; the text is `bufs[i]`.
    Joined(usize),
}

/// Inline capacity of the per-field scratch arrays: lists this short never allocate them.
const INLINE: usize = 32;

/// Up to this many fields, names are grouped by a linear scan of the names seen so far,
/// which compares cheap fingerprints first; above it, by a hash map.
const LINEAR_MAX: usize = 32;

/// The group (entry index, first-seen order) of every field's lower-cased name.
struct Groups {
    ids: SmallVec<[usize; INLINE]>,
    count: usize,
}

fn group(fields: &[Field]) -> Groups {
    let mut ids = SmallVec::with_capacity(fields.len());
    if fields.len() <= LINEAR_MAX {
        // Fingerprint and field index of each group's first field.
        let mut firsts: SmallVec<[(u32, usize); LINEAR_MAX]> = SmallVec::new();
        for (i, field) in fields.iter().enumerate() {
            let name = field.name();
            let print = fingerprint(name);
            let found = firsts.iter().position(|&(p, j)| {
                p == print
                    && fields
                        .get(j)
                        .is_some_and(|f| f.name().eq_ignore_ascii_case(name))
            });
            match found {
                Some(g) => ids.push(g),
                None => {
                    ids.push(firsts.len());
                    firsts.push((print, i));
                }
            }
        }
        Groups {
            ids,
            count: firsts.len(),
        }
    } else {
        // Keys borrow the wire names and fold case while hashing: no key allocation.
        // std's randomly keyed hasher keeps crafted names from forcing collisions.
        let mut map: HashMap<Caseless<'_>, usize> = HashMap::with_capacity(fields.len());
        for field in fields {
            let next = map.len();
            ids.push(*map.entry(Caseless(field.name())).or_insert(next));
        }
        Groups {
            ids,
            count: map.len(),
        }
    }
}

/// A constant-time summary of a name that names equal up to ASCII case share: its
/// length and its first, middle and last bytes, lower-cased. Real header names almost
/// always differ in one of these, so the full comparison rarely runs for a mismatch.
fn fingerprint(name: &[u8]) -> u32 {
    let at = |i: usize| u32::from(name.get(i).map_or(0, u8::to_ascii_lowercase));
    let len = name.len();
    // Truncating the length is fine: this is only a pre-filter.
    (len as u32 & 0xFF) | at(0) << 8 | at(len / 2) << 16 | at(len.wrapping_sub(1)) << 24
}

/// A borrowed name compared and hashed ignoring ASCII case.
struct Caseless<'a>(&'a [u8]);

impl PartialEq for Caseless<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for Caseless<'_> {}

impl Hash for Caseless<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Equal keys have equal lengths, so they are fed to the hasher in identical pieces.
        state.write_usize(self.0.len());
        let mut buf = [0u8; 32];
        for chunk in self.0.chunks(buf.len()) {
            let piece = &mut buf[..chunk.len()];
            piece.copy_from_slice(chunk);
            piece.make_ascii_lowercase();
            state.write(piece);
        }
    }
}

/// The `headers` key for a wire name: ASCII letters lower-cased. Names are tokens
/// (ASCII) on every path Node can see; any other byte is mapped one char per byte
/// (MSG-7) so the function is total.
fn lower_key(name: &[u8]) -> String {
    if name.is_ascii() {
        // ASCII stays ASCII when lower-cased, so this conversion cannot fail.
        if let Ok(key) = String::from_utf8(name.to_ascii_lowercase()) {
            return key;
        }
    }
    name.iter()
        .map(|&b| char::from(b.to_ascii_lowercase()))
        .collect()
}

/// How a joined name's values are separated: `"; "` for `cookie` (MSG-3 rule 2),
/// `", "` otherwise.
fn separator(key: &str) -> &'static [u8] {
    if key == "cookie" { b"; " } else { b", " }
}

/// Whether a lower-cased name is one of the 18 whose later duplicates Node drops by
/// default (MSG-3 rule 3). Dispatches on length so most names cost one comparison.
fn is_first_wins(key: &[u8]) -> bool {
    match key.len() {
        3 => key == b"age",
        4 => matches!(key, b"etag" | b"from" | b"host"),
        6 => key == b"server",
        7 => matches!(key, b"expires" | b"referer"),
        8 => key == b"location",
        10 => key == b"user-agent",
        11 => key == b"retry-after",
        12 => matches!(key, b"content-type" | b"max-forwards"),
        13 => matches!(key, b"authorization" | b"last-modified"),
        14 => key == b"content-length",
        17 => key == b"if-modified-since",
        19 => matches!(key, b"if-unmodified-since" | b"proxy-authorization"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MSG-3 rule 3, verbatim from the spec.
    const FIRST_WINS: [&str; 18] = [
        "age",
        "authorization",
        "content-length",
        "content-type",
        "etag",
        "expires",
        "from",
        "host",
        "if-modified-since",
        "if-unmodified-since",
        "last-modified",
        "location",
        "max-forwards",
        "proxy-authorization",
        "referer",
        "retry-after",
        "server",
        "user-agent",
    ];

    #[test]
    fn first_wins_table_is_exactly_msg3_rule3() {
        for name in FIRST_WINS {
            assert!(is_first_wins(name.as_bytes()), "{name}");
        }
        for name in [
            "",
            "a",
            "ag",
            "agee",
            "date",
            "vary",
            "cookie",
            "set-cookie",
            "connection",
            "content-encoding",
            "transfer-encoding",
            "accept",
            "Host",
            "hosts",
            "expect",
            "if-match",
            "if-none-match",
            "origin",
            "proxy-authenticate",
            "www-authenticate",
        ] {
            assert!(!is_first_wins(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn grouping_agrees_between_linear_and_hashed_paths() {
        // The same names, once below and once above LINEAR_MAX.
        for n in [LINEAR_MAX, LINEAR_MAX + 1, 200] {
            let mut h = Headers::new();
            for i in 0..n {
                let name = if i % 3 == 0 {
                    format!("X-{}", i % 7)
                } else {
                    format!("x-{}", i % 7)
                };
                h.append(name, "v").unwrap();
            }
            let g = group(h.fields());
            assert_eq!(g.count, 7.min(n));
            for (i, &id) in g.ids.iter().enumerate() {
                assert_eq!(id, i % 7);
            }
        }
    }

    #[test]
    fn caseless_hash_is_case_insensitive_across_chunk_boundaries() {
        use std::hash::{BuildHasher, RandomState};
        let s = RandomState::new();
        let long_lower = "a".repeat(70);
        let long_upper = "A".repeat(70);
        assert_eq!(
            s.hash_one(Caseless(long_lower.as_bytes())),
            s.hash_one(Caseless(long_upper.as_bytes()))
        );
    }

    #[test]
    fn fingerprint_ignores_ascii_case_and_accepts_any_length() {
        assert_eq!(fingerprint(b"Set-Cookie"), fingerprint(b"sET-cOOKIE"));
        assert_ne!(fingerprint(b"cookie"), fingerprint(b"set-cookie"));
        assert_eq!(fingerprint(b""), 0);
        let long = vec![b'A'; 300];
        assert_eq!(fingerprint(&long), fingerprint(&long.to_ascii_lowercase()));
    }

    #[test]
    fn lower_key_is_total() {
        assert_eq!(lower_key(b"X-Foo"), "x-foo");
        assert_eq!(lower_key(&[b'A', 0xC9]), "a\u{c9}");
    }
}
