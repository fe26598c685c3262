//! The header store of an outgoing message (RES-2 … RES-6): Node's `kOutHeaders`.
//!
//! Entries are kept in insertion order under their lower-cased name, each with the
//! casing of the last `set` and the value as given. Values are validated on the way
//! in (VAL-1, VAL-2); the renderer checks them again before they reach the wire.

use std::borrow::Cow;

use bytes::Bytes;

use smallvec::SmallVec;

use super::output::Sink;
use super::render::has_word;
use super::value::HeaderValue;
use crate::validate::{HEADER_CONTENT, InvalidHeader, validate_header_name, validate_value_bytes};

/// One stored header: the name as last set and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// The lower-cased name (the store key).
    key: Cow<'static, str>,
    /// The name with the casing of the last `set`.
    name: Cow<'static, str>,
    value: HeaderValue,
}

/// Common field names in their usual casing and lower-cased: a name spelt either
/// way is stored without allocating.
const KNOWN: &[(&str, &str)] = &[
    ("Content-Type", "content-type"),
    ("Content-Length", "content-length"),
    ("Server", "server"),
    ("Date", "date"),
    ("Connection", "connection"),
    ("Cache-Control", "cache-control"),
    ("Set-Cookie", "set-cookie"),
    ("Location", "location"),
    ("Content-Encoding", "content-encoding"),
    ("Transfer-Encoding", "transfer-encoding"),
    ("Keep-Alive", "keep-alive"),
    ("ETag", "etag"),
    ("Last-Modified", "last-modified"),
    ("Vary", "vary"),
    ("Expires", "expires"),
    ("Access-Control-Allow-Origin", "access-control-allow-origin"),
    ("X-Powered-By", "x-powered-by"),
    ("Host", "host"),
    ("User-Agent", "user-agent"),
    ("Accept", "accept"),
    ("Authorization", "authorization"),
    ("Cookie", "cookie"),
];

/// `(name as given, lower-cased name)` from [`KNOWN`], when `name` is spelt there
/// either way: such a name is a valid token.
fn known_name(name: &str) -> Option<(&'static str, &'static str)> {
    for &(canonical, lower) in KNOWN {
        if canonical.len() == name.len() {
            if canonical == name {
                return Some((canonical, lower));
            }
            if lower == name {
                return Some((lower, lower));
            }
        }
    }
    None
}

/// `(name as given, lower-cased name)`, borrowed from [`KNOWN`] when `known` (its
/// [`known_name`]) found it there.
fn name_and_key_with(
    name: &str,
    known: Option<(&'static str, &'static str)>,
) -> (Cow<'static, str>, Cow<'static, str>) {
    match known {
        Some((given, lower)) => (Cow::Borrowed(given), Cow::Borrowed(lower)),
        None => (
            Cow::Owned(name.to_owned()),
            Cow::Owned(name.to_ascii_lowercase()),
        ),
    }
}

/// Node's outgoing header store: ordered, case-insensitive, one entry per name.
///
/// ```
/// use courier_proto::outgoing::{HeaderStore, HeaderValue};
///
/// let mut h = HeaderStore::new();
/// h.set("A", 1.into())?;
/// h.set("B", 2.into())?;
/// h.set("a", 3.into())?; // replaced in place, new casing
/// assert_eq!(h.names().collect::<Vec<_>>(), ["a", "b"]);
/// assert_eq!(h.raw_names().collect::<Vec<_>>(), ["a", "B"]);
/// assert_eq!(h.get("A"), Some(&HeaderValue::Int(3)));
/// # Ok::<(), courier_proto::validate::InvalidHeader>(())
/// ```
#[derive(Default)]
pub struct HeaderStore {
    /// The entries, `..live`; behind them, entries of the message before that
    /// [`HeaderStore::clear_for_reuse`] kept: a `set` of the same common name takes
    /// one back, and when the value is the same bytes it needs no check (see
    /// [`HeaderStore::set`]). Those not taken back are dropped at the next reuse.
    entries: SmallVec<[Entry; 2]>,
    /// How many entries are the store's.
    live: usize,
    /// A `set` or `append` happened at some point (Node's `kOutHeaders !== null`);
    /// stays true when every entry was removed again (RES-8 picks its path on it).
    used: bool,
}

impl core::fmt::Debug for HeaderStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HeaderStore")
            .field("entries", &self.live())
            .field("used", &self.used)
            .finish()
    }
}

impl Clone for HeaderStore {
    fn clone(&self) -> Self {
        Self {
            entries: self.live().iter().cloned().collect(),
            live: self.live,
            used: self.used,
        }
    }
}

impl PartialEq for HeaderStore {
    fn eq(&self, other: &Self) -> bool {
        self.live() == other.live() && self.used == other.used
    }
}

impl Eq for HeaderStore {}

/// Node's `validateHeaderName` + `validateHeaderValue` for one header (VAL-1, VAL-2):
/// every element of a list is checked (Node checks `String(array)`, the elements
/// joined with `,`, which comes to the same).
///
/// ```
/// use courier_proto::outgoing::{HeaderValue, check_header};
///
/// assert!(check_header("X-Ok", &HeaderValue::from("a\tb\u{ff}")).is_ok());
/// let err = check_header("X-Bad", &HeaderValue::from("a\r\nb")).unwrap_err();
/// assert_eq!(err.message(), r#"Invalid character in header content ["X-Bad"]"#);
/// assert!(check_header("X-Bad", &HeaderValue::from("ā")).is_err()); // above U+00FF
/// ```
pub fn check_header(name: &str, value: &HeaderValue) -> Result<(), InvalidHeader> {
    validate_header_name(name)?;
    check_value(name, value)
}

/// Whether `a` and `b` are each one text over the same bytes in memory (the same
/// pointer and length): what a kept entry's value is compared by.
#[inline]
fn same_text(a: &HeaderValue, b: &HeaderValue) -> bool {
    match (a, b) {
        (HeaderValue::Text(a), HeaderValue::Text(b)) => {
            a.as_ptr() == b.as_ptr() && a.len() == b.len()
        }
        _ => false,
    }
}

/// The value half of [`check_header`].
fn check_value(name: &str, value: &HeaderValue) -> Result<(), InvalidHeader> {
    match value {
        HeaderValue::Text(b) => validate_value_bytes(HEADER_CONTENT, name.as_bytes(), b),
        HeaderValue::Int(_) => Ok(()),
        HeaderValue::List(items) => items
            .iter()
            .try_for_each(|b| validate_value_bytes(HEADER_CONTENT, name.as_bytes(), b)),
    }
}

impl HeaderStore {
    /// An empty store that was never used.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the store for a new message, keeping its room (the state of
    /// [`HeaderStore::new`]).
    pub(crate) fn clear_for_reuse(&mut self) {
        // The entries become kept ones; those kept before and not taken back go.
        if self.entries.len() > self.live {
            self.entries.truncate(self.live);
        }
        self.live = 0;
        self.used = false;
    }

    /// The store's entries.
    #[inline(always)]
    fn live(&self) -> &[Entry] {
        &self.entries.as_slice()[..self.live]
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.live()
            .iter()
            .position(|e| e.key.eq_ignore_ascii_case(name))
    }

    /// Adds a new last entry (in the place of a kept one, if any).
    fn push(&mut self, entry: Entry) {
        if self.live < self.entries.len() {
            self.entries[self.live] = entry;
        } else {
            self.entries.push(entry);
        }
        self.live += 1;
    }

    /// `setHeader(name, value)` (RES-2): validates, then stores; an existing entry of
    /// the same name (any case) is replaced in place and takes the new casing.
    pub fn set(&mut self, name: &str, value: HeaderValue) -> Result<(), InvalidHeader> {
        // A common name (looked up for its stored spellings anyway) needs no check.
        let known = known_name(name);
        if let Some(known) = known {
            if self.take_back(known, &value) {
                return Ok(());
            }
        } else {
            validate_header_name(name)?;
        }
        check_value(name, &value)?;
        self.set_known(name, known, value);
        Ok(())
    }

    /// [`HeaderStore::set`] of common name `known` when the next kept entry has that
    /// name (the same static spelling) and none of the store's does, and `value` is
    /// the kept value's bytes (the same pointer and length: the kept value keeps them
    /// alive, so they are the bytes that were checked): the entry is the store's
    /// again, as it is. Returns `false`, having changed nothing, otherwise.
    #[inline]
    fn take_back(&mut self, known: (&'static str, &'static str), value: &HeaderValue) -> bool {
        let Some(kept) = self.entries.get(self.live) else {
            return false;
        };
        let same_name = match &kept.name {
            Cow::Borrowed(n) => core::ptr::eq(*n, known.0),
            Cow::Owned(_) => false,
        };
        let same_value = same_text(&kept.value, value);
        if !same_name || !same_value || (self.live > 0 && self.position(known.1).is_some()) {
            return false;
        }
        debug_assert!(check_value(known.0, value).is_ok());
        self.used = true;
        self.live += 1;
        true
    }

    /// [`HeaderStore::set`] for a valid token `name` given with its lower-cased `key`
    /// (no lookup in [`KNOWN`]): the value is checked.
    pub(crate) fn set_static(
        &mut self,
        name: &'static str,
        key: &'static str,
        value: HeaderValue,
    ) -> Result<(), InvalidHeader> {
        debug_assert_eq!(name.to_ascii_lowercase(), key);
        check_value(name, &value)?;
        self.set_known(name, Some((name, key)), value);
        Ok(())
    }

    /// [`HeaderStore::set`] for a name and value already checked.
    pub(crate) fn set_unchecked(&mut self, name: &str, value: HeaderValue) {
        self.set_known(name, known_name(name), value);
    }

    /// [`HeaderStore::set_unchecked`] with the [`known_name`] lookup done.
    #[inline]
    fn set_known(
        &mut self,
        name: &str,
        known: Option<(&'static str, &'static str)>,
        value: HeaderValue,
    ) {
        self.used = true;
        match (self.position(name), known) {
            // A common name set for the first time (the usual case): nothing to
            // allocate.
            (None, Some((given, lower))) => self.push(Entry {
                key: Cow::Borrowed(lower),
                name: Cow::Borrowed(given),
                value,
            }),
            (i, _) => self.set_at(i, name, known, value),
        }
    }

    /// [`Self::set_known`] replacing entry `i`, or adding a new name.
    #[inline(never)]
    fn set_at(
        &mut self,
        i: Option<usize>,
        name: &str,
        known: Option<(&'static str, &'static str)>,
        value: HeaderValue,
    ) {
        match i {
            Some(i) => {
                let e = &mut self.entries[i];
                if e.name != name {
                    e.name = name_and_key_with(name, known).0;
                }
                e.value = value;
            }
            None => {
                let (name, key) = name_and_key_with(name, known);
                self.push(Entry { key, name, value });
            }
        }
    }

    /// `setHeaders(pairs)` (RES-6): `set` per pair, except that every `set-cookie`
    /// value (name compared case-insensitively) is gathered and set once, as a list
    /// under `set-cookie`, at the end. All pairs are checked before any is applied.
    pub fn set_many<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'a str, HeaderValue)>,
    ) -> Result<(), InvalidHeader> {
        // On the stack for the usual handful of pairs.
        let pairs: SmallVec<[(&str, HeaderValue); 8]> = pairs.into_iter().collect();
        // Every pair is checked before any is applied. A common name needs no check,
        // nor the bytes of a kept entry's value (they were checked when it was stored).
        for (name, value) in &pairs {
            let known = known_name(name).is_some();
            if !known {
                validate_header_name(name)?;
            }
            if !(known && self.is_kept_value(value)) {
                check_value(name, value)?;
            }
        }
        let mut cookies = Vec::new();
        for (name, value) in pairs {
            if name.eq_ignore_ascii_case("set-cookie") {
                cookies.extend(value.into_items());
                continue;
            }
            // As `set` stores it: a kept entry is taken back as it is.
            let known = known_name(name);
            if known.is_some_and(|k| self.take_back(k, &value)) {
                continue;
            }
            self.set_known(name, known, value);
        }
        if !cookies.is_empty() {
            self.set_unchecked("set-cookie", HeaderValue::List(cookies));
        }
        Ok(())
    }

    /// Whether `value` is one text whose bytes a kept entry's value holds (the same
    /// pointer and length): they were checked when that entry was stored, and it
    /// keeps them alive.
    fn is_kept_value(&self, value: &HeaderValue) -> bool {
        self.entries.as_slice()[self.live..]
            .iter()
            .any(|e| same_text(&e.value, value))
    }

    /// `appendHeader(name, value)` (RES-5): validates; an absent name is set, else the
    /// stored value becomes a list and the value (each element of a list) is appended.
    /// The stored casing is kept.
    ///
    /// ```
    /// use courier_proto::outgoing::{HeaderStore, HeaderValue};
    ///
    /// let mut h = HeaderStore::new();
    /// h.set("X-Foo", "a".into())?;
    /// h.append("x-foo", "b".into())?;
    /// assert_eq!(h.get("x-foo"), Some(&HeaderValue::from(vec!["a", "b"])));
    /// assert_eq!(h.raw_names().collect::<Vec<_>>(), ["X-Foo"]);
    /// # Ok::<(), courier_proto::validate::InvalidHeader>(())
    /// ```
    pub fn append(&mut self, name: &str, value: HeaderValue) -> Result<(), InvalidHeader> {
        check_header(name, &value)?;
        self.append_unchecked(name, value);
        Ok(())
    }

    pub(crate) fn append_unchecked(&mut self, name: &str, value: HeaderValue) {
        let Some(i) = self.position(name) else {
            self.set_unchecked(name, value);
            return;
        };
        let slot = &mut self.entries[i].value;
        let mut items: Vec<Bytes> =
            core::mem::replace(slot, HeaderValue::List(Vec::new())).into_items();
        items.extend(value.into_items());
        *slot = HeaderValue::List(items);
    }

    /// `getHeader(name)` (RES-3): case-insensitive, the value as stored.
    pub fn get(&self, name: &str) -> Option<&HeaderValue> {
        self.position(name).map(|i| &self.entries[i].value)
    }

    /// `hasHeader(name)` (RES-3).
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Deletes the entry (`removeHeader`, RES-4); returns whether there was one. The
    /// persistent side effects of RES-4 belong to the message.
    pub fn remove(&mut self, name: &str) -> bool {
        match self.position(name) {
            Some(i) => {
                self.entries.remove(i);
                self.live -= 1;
                true
            }
            None => false,
        }
    }

    /// `getHeaderNames()` (RES-3): lower-cased names in store order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.live().iter().map(|e| &*e.key)
    }

    /// `getRawHeaderNames()` (RES-3): names with the casing of the last `set`.
    pub fn raw_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.live().iter().map(|e| &*e.name)
    }

    /// `(raw name, value)` in store order: what the header block is rendered from.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &HeaderValue)> + '_ {
        self.live().iter().map(|e| (&*e.name, &e.value))
    }

    /// `getHeaders()` (RES-3): `(lower-cased name, value)` in store order.
    pub fn snapshot(&self) -> Vec<(&str, &HeaderValue)> {
        self.live().iter().map(|e| (&*e.key, &e.value)).collect()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.live
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Whether `set` or `append` was ever called (Node's `kOutHeaders !== null`),
    /// even if every entry was removed since. `writeHead` then routes its headers
    /// through the store (RES-8).
    pub fn was_used(&self) -> bool {
        self.used
    }

    /// Appends every entry as `name: value\r\n` to `out`, when that is all rendering
    /// them means: every value is one text or a number, and no name is one whose
    /// field changes the framing or the automatic fields (Node's `matchHeader`:
    /// `content-length`, `transfer-encoding`, `date`, `expect`, `trailer`,
    /// `keep-alive`), save a `Connection` field that does not ask to close. Returns
    /// whether there was such a `Connection` field (it stands for the automatic
    /// `Connection` and `Keep-Alive` fields of a persistent response, RES-14), or
    /// `None` in any other case, having appended some entries or none. The entries
    /// were checked on their way in.
    pub(crate) fn render_plain(&self, out: &mut impl Sink) -> Option<bool> {
        let mut connection = false;
        for e in self.live() {
            let mut digits = itoa::Buffer::new();
            let value: &[u8] = match &e.value {
                HeaderValue::Text(b) => b,
                HeaderValue::Int(n) => digits.format(*n).as_bytes(),
                HeaderValue::List(_) => return None,
            };
            match &*e.key {
                "connection" if !has_word(value, b"close") => connection = true,
                "date" | "expect" | "trailer" | "connection" | "keep-alive" | "content-length"
                | "transfer-encoding" => return None,
                _ => {}
            }
            debug_assert!(check_header(&e.name, &e.value).is_ok());
            out.reserve_more(e.name.len() + value.len() + 4);
            out.put(e.name.as_bytes());
            out.put(b": ");
            out.put(value);
            out.put(b"\r\n");
        }
        Some(connection)
    }
}

/// The stored fields a header block was rendered from (see
/// [`HeaderStore::same_fields`]): each name and value, held.
pub(crate) type HeldFields = Vec<(Cow<'static, str>, HeaderValue)>;

impl HeaderStore {
    /// Replaces `held` with copies of the stored fields. Copies: holding the
    /// application's `Bytes` would keep alive whatever buffer a value is a slice of
    /// (a request's receive buffer, say) for as long as the connection lives.
    pub(crate) fn hold_fields(&self, held: &mut HeldFields) {
        held.clear();
        held.extend(self.live().iter().map(|e| {
            let value = match &e.value {
                HeaderValue::Text(b) => HeaderValue::Text(Bytes::copy_from_slice(b)),
                other => other.clone(),
            };
            (e.name.clone(), value)
        }));
    }

    /// Whether every stored field has the name and value `held` (filled by
    /// [`Self::hold_fields`]) has, in the same order: the same pointer to the same
    /// length is the same bytes (a static name), else the bytes are compared.
    #[inline(always)]
    pub(crate) fn same_fields(&self, held: &HeldFields) -> bool {
        #[inline(always)]
        fn same(a: &[u8], b: &[u8]) -> bool {
            a.len() == b.len() && (a.as_ptr() == b.as_ptr() || crate::chars::same_bytes(a, b))
        }
        let entries = self.live();
        if entries.len() != held.len() {
            return false;
        }
        for (e, (name, value)) in entries.iter().zip(held) {
            let same_value = match (&e.value, value) {
                (HeaderValue::Text(a), HeaderValue::Text(b)) => same(a, b),
                (HeaderValue::Int(a), HeaderValue::Int(b)) => a == b,
                // Never rendered in one pass.
                _ => false,
            };
            if !same_value || !same(e.name.as_bytes(), name.as_bytes()) {
                return false;
            }
        }
        true
    }
}

/// The header-store methods Node's `OutgoingMessage` gives both `ServerResponse` and
/// `ClientRequest` (RES-2 … RES-6, CLI-25), for a type with `store: HeaderStore` and
/// `rendered: bool` fields.
macro_rules! header_store_methods {
    () => {
        /// `setHeader(name, value)` (RES-2): validated (VAL-1, VAL-2); a header of the
        /// same name (any case) is replaced in place and takes the new casing.
        /// `ERR_HTTP_HEADERS_SENT` once the head is rendered.
        pub fn set_header(
            &mut self,
            name: &str,
            value: impl Into<HeaderValue>,
        ) -> Result<&mut Self, OutgoingError> {
            if self.rendered {
                return Err(OutgoingError::HeadersSent);
            }
            self.store.set(name, value.into())?;
            Ok(self)
        }

        /// `appendHeader(name, value)` (RES-5).
        pub fn append_header(
            &mut self,
            name: &str,
            value: impl Into<HeaderValue>,
        ) -> Result<&mut Self, OutgoingError> {
            if self.rendered {
                return Err(OutgoingError::HeadersSentAppend);
            }
            self.store.append(name, value.into())?;
            Ok(self)
        }

        /// `setHeaders(headers)` (RES-6): `set_header` per pair, except that every
        /// `set-cookie` value (name compared case-insensitively) is gathered and set
        /// once, as a list, at the end. All pairs are checked before any is applied.
        pub fn set_headers<'a>(
            &mut self,
            headers: impl IntoIterator<Item = (&'a str, HeaderValue)>,
        ) -> Result<&mut Self, OutgoingError> {
            if self.rendered {
                return Err(OutgoingError::HeadersSent);
            }
            self.store.set_many(headers)?;
            Ok(self)
        }

        /// `getHeader(name)` (RES-3): case-insensitive, the value as stored.
        pub fn get_header(&self, name: &str) -> Option<&HeaderValue> {
            self.store.get(name)
        }

        /// `hasHeader(name)` (RES-3).
        pub fn has_header(&self, name: &str) -> bool {
            self.store.contains(name)
        }

        /// `getHeaderNames()` (RES-3): lower-cased, in store order.
        pub fn get_header_names(&self) -> Vec<&str> {
            self.store.names().collect()
        }

        /// `getRawHeaderNames()` (RES-3): the casing of the last `set_header`.
        pub fn get_raw_header_names(&self) -> Vec<&str> {
            self.store.raw_names().collect()
        }

        /// `getHeaders()` (RES-3): `(lower-cased name, value)` in store order.
        pub fn get_headers(&self) -> Vec<(&str, &HeaderValue)> {
            self.store.snapshot()
        }

        /// The header store itself.
        pub fn headers(&self) -> &HeaderStore {
            &self.store
        }
    };
}
pub(crate) use header_store_methods;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_turns_values_into_lists() {
        let mut h = HeaderStore::new();
        h.set("A", 1.into()).unwrap();
        h.append("a", vec!["2", "3"].into()).unwrap();
        assert_eq!(h.get("A"), Some(&HeaderValue::from(vec!["1", "2", "3"])));
        h.append("New", "x".into()).unwrap();
        assert_eq!(h.get("new"), Some(&HeaderValue::from("x")));
    }

    #[test]
    fn known_names_keep_their_casing() {
        let mut h = HeaderStore::new();
        h.set("content-type", "a".into()).unwrap();
        h.set("Server", "b".into()).unwrap();
        h.set("X-Custom", "c".into()).unwrap();
        h.set("CONTENT-TYPE", "d".into()).unwrap();
        h.set("SERVER", "e".into()).unwrap();
        h.set("server", "f".into()).unwrap();
        assert_eq!(
            h.names().collect::<Vec<_>>(),
            ["content-type", "server", "x-custom"]
        );
        assert_eq!(
            h.raw_names().collect::<Vec<_>>(),
            ["CONTENT-TYPE", "server", "X-Custom"]
        );
        assert_eq!(h.get("Content-Type"), Some(&HeaderValue::from("d")));
    }

    #[test]
    fn removal_keeps_the_store_used() {
        let mut h = HeaderStore::new();
        assert!(!h.was_used());
        h.set("X", "1".into()).unwrap();
        assert!(h.remove("x"));
        assert!(!h.remove("x"));
        assert!(h.is_empty());
        assert!(h.was_used());
    }

    #[test]
    fn a_reused_store_takes_kept_entries_back_only_as_they_were() {
        let ct = Bytes::from_static(b"text/plain");
        let mut h = HeaderStore::new();
        h.set("Content-Type", ct.clone().into()).unwrap();
        h.set("Server", "a".into()).unwrap();
        h.set("X-Other", "b".into()).unwrap();
        h.clear_for_reuse();
        assert!(h.is_empty() && !h.was_used());
        assert_eq!(h, HeaderStore::new());
        assert_eq!(format!("{h:?}"), format!("{:?}", HeaderStore::new()));
        assert_eq!(h.names().count(), 0);
        assert!(h.get("content-type").is_none() && !h.contains("server"));
        // Taken back: the same name spelling and the same value bytes.
        h.set("Content-Type", ct.clone().into()).unwrap();
        assert_eq!(h.raw_names().collect::<Vec<_>>(), ["Content-Type"]);
        assert!(h.was_used());
        // Not taken back (another value): a new entry in the kept one's place.
        h.set("Server", "c".into()).unwrap();
        // A name the store has already is replaced, not taken back.
        h.set("content-type", 1.into()).unwrap();
        assert_eq!(
            h.raw_names().collect::<Vec<_>>(),
            ["content-type", "Server"]
        );
        assert_eq!(h.get("server"), Some(&HeaderValue::from("c")));
        assert_eq!(h.get("Content-Type"), Some(&HeaderValue::Int(1)));
        assert_eq!(h.clone(), h);
        assert_eq!(h.clone().len(), 2);
        // The kept `X-Other` goes with the next reuse.
        h.clear_for_reuse();
        assert_eq!(h.entries.len(), 2);
        h.set("X-Other", "b".into()).unwrap();
        assert_eq!(h.iter().count(), 1);
        assert!(h.remove("x-other"));
        assert!(h.is_empty() && h.was_used());
        // A bad value is refused whatever is kept.
        h.clear_for_reuse();
        assert!(h.set("Content-Type", "a\nb".into()).is_err());
        assert!(h.is_empty() && !h.was_used());
    }

    /// `setHeaders` stores as `set` does (kept entries taken back as they were), and
    /// still checks every pair before applying any.
    #[test]
    fn set_many_takes_kept_entries_back_and_checks_the_rest() {
        let (ct, conn) = (
            Bytes::from_static(b"text/plain"),
            Bytes::from_static(b"keep-alive"),
        );
        let pairs = || {
            [
                ("Content-Type", HeaderValue::from(ct.clone())),
                ("Connection", HeaderValue::from(conn.clone())),
            ]
        };
        let mut h = HeaderStore::new();
        h.set_many(pairs()).unwrap();
        let first = format!("{h:?}");
        for _ in 0..2 {
            h.clear_for_reuse();
            h.set_many(pairs()).unwrap();
            assert_eq!(format!("{h:?}"), first);
            assert_eq!(h.entries.len(), 2, "taken back, not added");
        }
        // A kept value under a common name passes; a bad pair after it refuses both.
        h.clear_for_reuse();
        let bad = [
            ("Content-Type", HeaderValue::from(ct.clone())),
            ("X-Bad", HeaderValue::from("a\rb")),
        ];
        assert!(h.set_many(bad).is_err());
        assert!(h.is_empty() && !h.was_used());
        // Bytes a kept entry holds are checked bytes; other bytes are checked.
        assert!(
            h.set_many([("Content-Type", HeaderValue::from("a\nb"))])
                .is_err()
        );
        assert!(
            h.set_many([("Bad Name", HeaderValue::from(ct.clone()))])
                .is_err()
        );
        assert!(h.is_empty() && !h.was_used());
    }

    #[test]
    fn invalid_input_is_refused() {
        let mut h = HeaderStore::new();
        assert!(h.set("a b", "1".into()).is_err());
        assert!(h.set("", "1".into()).is_err());
        assert!(h.set("x", HeaderValue::from(vec!["ok", "b\0ad"])).is_err());
        assert!(h.append("x", "\n".into()).is_err());
        assert!(!h.was_used());
    }
}
