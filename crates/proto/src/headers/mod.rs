//! The one header type for incoming and outgoing messages.
//!
//! [`Headers`] is the ordered list of `(name, value)` fields exactly as they appear on
//! the wire: wire case kept, duplicates kept, values without leading and trailing OWS
//! (PRS-8, MSG-2). For incoming messages every name and value is a [`Bytes`] slice of
//! the receive buffer, so building the list copies nothing. Lookups are
//! case-insensitive. Node's derived views (`headers`, `headersDistinct`) are built on
//! demand by [`Headers::node_view`] and [`Headers::distinct`].

use bytes::Bytes;

mod node;

pub use node::{NodeDistinct, NodeHeaders, NodeValue, latin1};

/// Where one name or value lives: a range of the shared buffer, or an owned piece.
/// Eight bytes (an enum would take twelve): `start` is [`OWNED`] for an owned piece,
/// whose index is then in `len`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Piece {
    start: u32,
    len: u32,
}

/// The `start` of an owned [`Piece`] (no head is 4 GiB long).
const OWNED: u32 = u32::MAX;

/// What a [`Piece`] is, to match on.
#[derive(Clone, Copy)]
enum At {
    /// `buf[start..start + len]`.
    Shared { start: u32, len: u32 },
    /// `owned[index]`.
    Owned(u32),
}

impl Piece {
    /// `buf[start..start + len]`.
    #[inline]
    fn shared(start: u32, len: u32) -> Self {
        Self { start, len }
    }

    /// `owned[index]`.
    #[inline]
    fn owned(index: u32) -> Self {
        Self {
            start: OWNED,
            len: index,
        }
    }

    #[inline]
    fn at(self) -> At {
        if self.start == OWNED {
            At::Owned(self.len)
        } else {
            At::Shared {
                start: self.start,
                len: self.len,
            }
        }
    }

    #[inline]
    fn is_owned(self) -> bool {
        self.start == OWNED
    }
}

/// One field line: where its name and value live.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Slot {
    name: Piece,
    value: Piece,
}

impl Slot {
    /// A field whose name is `buf[n0..n1]` and value `buf[v0..v1]`.
    #[inline]
    pub(crate) fn shared(n0: usize, n1: usize, v0: usize, v1: usize) -> Self {
        Self {
            name: Piece::shared(n0 as u32, (n1 - n0) as u32),
            value: Piece::shared(v0 as u32, (v1 - v0) as u32),
        }
    }

    /// The name's byte range in the shared buffer (`None` for an owned piece).
    #[inline]
    pub(crate) fn name_range(&self) -> Option<core::ops::Range<usize>> {
        match self.name.at() {
            At::Shared { start, len } => Some(start as usize..(start + len) as usize),
            At::Owned(_) => None,
        }
    }

    /// The value's byte range in the shared buffer (`None` for an owned piece).
    #[inline]
    pub(crate) fn value_range(&self) -> Option<core::ops::Range<usize>> {
        match self.value.at() {
            At::Shared { start, len } => Some(start as usize..(start + len) as usize),
            At::Owned(_) => None,
        }
    }

    /// Where the value starts in the shared buffer.
    #[inline]
    pub(crate) fn value_start(&self) -> usize {
        match self.value.at() {
            At::Shared { start, .. } => start as usize,
            At::Owned(_) => usize::MAX,
        }
    }

    /// Where the name starts in the shared buffer.
    #[inline]
    pub(crate) fn name_start(&self) -> usize {
        match self.name.at() {
            At::Shared { start, .. } => start as usize,
            At::Owned(_) => usize::MAX,
        }
    }
}

/// One field line, borrowed from a [`Headers`]: a name and a value.
#[derive(Clone, Copy)]
pub struct Field<'a> {
    headers: &'a Headers,
    slot: Slot,
}

impl<'a> Field<'a> {
    /// The name in wire case.
    pub fn name(&self) -> &'a [u8] {
        self.headers.piece(self.slot.name)
    }

    /// The name as a string. Names are tokens (CONST-9), hence ASCII; a name that is not
    /// UTF-8 (only possible from lenient parsing) reads as `""`.
    pub fn name_str(&self) -> &'a str {
        core::str::from_utf8(self.name()).unwrap_or_default()
    }

    /// The value bytes (OWS-trimmed).
    pub fn value(&self) -> &'a [u8] {
        self.headers.piece(self.slot.value)
    }

    /// The name as a shared [`Bytes`] (a slice of the receive buffer, no copy).
    pub fn name_bytes(&self) -> Bytes {
        self.headers.piece_bytes(self.slot.name)
    }

    /// The value as a shared [`Bytes`] (a slice of the receive buffer, no copy).
    pub fn value_bytes(&self) -> Bytes {
        self.headers.piece_bytes(self.slot.value)
    }

    /// Whether this field's name equals `name`, ignoring ASCII case.
    pub fn is(&self, name: &str) -> bool {
        self.name().eq_ignore_ascii_case(name.as_bytes())
    }
}

impl core::fmt::Debug for Field<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}: {:?}", latin1(self.name()), latin1(self.value()))
    }
}

/// An ordered list of header (or trailer) fields; the raw list is the truth.
///
/// Parsed fields are ranges of one shared buffer (the head as received), so building the
/// list costs no reference-count traffic per field; fields added by the application are
/// owned pieces. Equality compares the fields, not how they are stored.
#[derive(Clone, Default)]
pub struct Headers {
    buf: Bytes,
    owned: Vec<Bytes>,
    slots: FieldSlots,
}

/// Fields a [`Headers`] holds without an allocation of their own: the usual head of
/// a non-browser client (a browser's spills to the heap).
pub(crate) const INLINE_FIELDS: usize = 6;

/// The field list of a [`Headers`].
pub(crate) type FieldSlots = smallvec::SmallVec<[Slot; INLINE_FIELDS]>;

/// Empties `slots`, keeping a heap allocation. `SmallVec::clear` pops the fields one
/// at a time (each pop checking where they are); an inline list is simply replaced.
#[inline(always)]
fn empty_slots(slots: &mut FieldSlots) {
    if slots.spilled() {
        slots.clear();
    } else {
        *slots = FieldSlots::new();
    }
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty list with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            slots: FieldSlots::with_capacity(n),
            ..Self::default()
        }
    }

    /// Makes this the list of `slots`, fields that are ranges of `buf`; the parser
    /// has checked them.
    pub(crate) fn set_slots(&mut self, buf: Bytes, slots: &[Slot]) {
        self.buf = buf;
        self.owned.clear();
        empty_slots(&mut self.slots);
        if slots.len() <= INLINE_FIELDS {
            // One push each for the few fields of a usual head (never growing):
            // `extend_from_slice` moves the (empty) tail and copies with two library
            // calls.
            for &slot in slots {
                self.slots.push(slot);
            }
        } else {
            self.slots.extend_from_slice(slots);
        }
    }

    /// Empties the list and lends its field storage to the parser's fast path, which
    /// writes the fields of a head straight into it; [`Headers::set_buf`] then gives
    /// the buffer they are ranges of.
    #[inline]
    pub(crate) fn slots_to_fill(&mut self) -> &mut FieldSlots {
        self.owned.clear();
        empty_slots(&mut self.slots);
        &mut self.slots
    }

    /// Sets the buffer the fields filled through [`Headers::slots_to_fill`] are ranges
    /// of; the parser has checked them.
    #[inline]
    pub(crate) fn set_buf(&mut self, buf: Bytes) {
        self.buf = buf;
    }

    /// The buffer the fields are ranges of (the received head).
    #[inline]
    pub(crate) fn buf(&self) -> &Bytes {
        &self.buf
    }

    /// Replaces the value of field `index` with an owned piece (obs-fold joins).
    pub(crate) fn set_value_owned(&mut self, index: usize, value: Bytes) {
        let piece = self.own(value);
        if let Some(slot) = self.slots.get_mut(index) {
            slot.value = piece;
        }
    }

    #[inline]
    fn piece(&self, p: Piece) -> &[u8] {
        match p.at() {
            At::Shared { start, len } => {
                let s = start as usize;
                &self.buf[s..s + len as usize]
            }
            At::Owned(i) => &self.owned[i as usize],
        }
    }

    fn piece_bytes(&self, p: Piece) -> Bytes {
        match p.at() {
            At::Shared { start, len } => {
                let s = start as usize;
                self.buf.slice(s..s + len as usize)
            }
            At::Owned(i) => self.owned[i as usize].clone(),
        }
    }

    fn own(&mut self, b: Bytes) -> Piece {
        self.owned.push(b);
        Piece::owned((self.owned.len() - 1) as u32)
    }

    /// Drops owned pieces no field refers to any more, once they pile up.
    fn compact(&mut self) {
        let live = self
            .slots
            .iter()
            .map(|s| s.name.is_owned() as usize + s.value.is_owned() as usize)
            .sum::<usize>();
        if self.owned.len() <= 2 * live + 8 {
            return;
        }
        let old = core::mem::take(&mut self.owned);
        let remap = |p: &mut Piece, owned: &mut Vec<Bytes>| {
            if let At::Owned(i) = p.at() {
                owned.push(old[i as usize].clone());
                *p = Piece::owned((owned.len() - 1) as u32);
            }
        };
        let mut owned = Vec::with_capacity(live);
        for s in &mut self.slots {
            remap(&mut s.name, &mut owned);
            remap(&mut s.value, &mut owned);
        }
        self.owned = owned;
    }

    /// Number of field lines.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The fields in wire order.
    pub fn fields(&self) -> FieldsIter<'_> {
        self.into_iter()
    }

    /// The field at `index` in wire order.
    pub fn field(&self, index: usize) -> Option<Field<'_>> {
        self.slots.get(index).map(|&slot| Field {
            headers: self,
            slot,
        })
    }

    /// `(name, value)` pairs in wire order and wire case: Node's `rawHeaders` /
    /// `rawTrailers` as pairs instead of a flat list (MSG-2).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> + '_ {
        self.slots
            .iter()
            .map(|s| (self.piece(s.name), self.piece(s.value)))
    }

    /// Node's flat `rawHeaders`: `[name0, value0, name1, value1, …]` (MSG-2).
    pub fn raw(&self) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(self.slots.len() * 2);
        for s in &self.slots {
            out.push(self.piece_bytes(s.name));
            out.push(self.piece_bytes(s.value));
        }
        out
    }

    /// The first value of `name`, ignoring case.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        let name = name.as_bytes();
        self.slots
            .iter()
            .find(|s| self.name_is(s.name, name))
            .map(|s| self.piece(s.value))
    }

    /// Whether the name piece `p` equals `name`, ignoring ASCII case (the length is
    /// compared before any byte is sliced).
    #[inline]
    fn name_is(&self, p: Piece, name: &[u8]) -> bool {
        match p.at() {
            At::Shared { len, .. } if len as usize != name.len() => false,
            _ => self.piece(p).eq_ignore_ascii_case(name),
        }
    }

    /// Every value of `name` in wire order, ignoring case (one `headersDistinct` entry).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.slots
            .iter()
            .filter(move |s| self.name_is(s.name, name.as_bytes()))
            .map(|s| self.piece(s.value))
    }

    /// Whether any field is called `name`, ignoring case.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Appends a field after validating the name (VAL-1) and value (VAL-2).
    pub fn append(
        &mut self,
        name: impl Into<Bytes>,
        value: impl Into<Bytes>,
    ) -> Result<&mut Self, crate::validate::InvalidHeader> {
        let (name, value) = (name.into(), value.into());
        crate::validate::check_name(&name)?;
        crate::validate::check_value(&name, &value)?;
        self.push_unchecked(name, value);
        Ok(self)
    }

    /// Node's `setHeader`: validates, then replaces the first field with the same name
    /// (ignoring case) in place, taking the new spelling, and drops the others; appends
    /// when there is none (RES-2).
    pub fn set(
        &mut self,
        name: impl Into<Bytes>,
        value: impl Into<Bytes>,
    ) -> Result<&mut Self, crate::validate::InvalidHeader> {
        let (name, value) = (name.into(), value.into());
        crate::validate::check_name(&name)?;
        crate::validate::check_value(&name, &value)?;
        let first = self
            .slots
            .iter()
            .position(|s| self.piece(s.name).eq_ignore_ascii_case(&name));
        match first {
            Some(i) => {
                let mut j = i + 1;
                while j < self.slots.len() {
                    if self.piece(self.slots[j].name).eq_ignore_ascii_case(&name) {
                        self.slots.remove(j);
                    } else {
                        j += 1;
                    }
                }
                let slot = Slot {
                    name: self.own(name),
                    value: self.own(value),
                };
                self.slots[i] = slot;
                self.compact();
            }
            None => self.push_unchecked(name, value),
        }
        Ok(self)
    }

    /// Removes every field called `name` (ignoring case); returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.slots.len();
        let buf = &self.buf;
        let owned = &self.owned;
        let piece = |p: Piece| -> &[u8] {
            match p.at() {
                At::Shared { start, len } => &buf[start as usize..(start + len) as usize],
                At::Owned(i) => &owned[i as usize],
            }
        };
        self.slots
            .retain(|s| !piece(s.name).eq_ignore_ascii_case(name.as_bytes()));
        let removed = before - self.slots.len();
        if removed > 0 {
            self.compact();
        }
        removed
    }

    /// Appends a field without validation, for callers that have checked it.
    pub(crate) fn push_unchecked(&mut self, name: Bytes, value: Bytes) {
        let slot = Slot {
            name: self.own(name),
            value: self.own(value),
        };
        self.slots.push(slot);
    }

    /// Removes every field.
    pub fn clear(&mut self) {
        empty_slots(&mut self.slots);
        self.owned.clear();
        self.buf = Bytes::new();
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl core::hash::Hash for Headers {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.len().hash(state);
        for (n, v) in self.iter() {
            n.hash(state);
            v.hash(state);
        }
    }
}

impl core::fmt::Debug for Headers {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.fields()).finish()
    }
}

/// Iterates over the fields in wire order.
impl<'a> IntoIterator for &'a Headers {
    type Item = Field<'a>;
    type IntoIter = FieldsIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        FieldsIter {
            headers: self,
            inner: self.slots.iter(),
        }
    }
}

/// The iterator over a [`Headers`]' fields.
#[derive(Debug, Clone)]
pub struct FieldsIter<'a> {
    headers: &'a Headers,
    inner: core::slice::Iter<'a, Slot>,
}

impl<'a> Iterator for FieldsIter<'a> {
    type Item = Field<'a>;
    fn next(&mut self) -> Option<Field<'a>> {
        self.inner.next().map(|&slot| Field {
            headers: self.headers,
            slot,
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for FieldsIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slot is two 8-byte pieces; a list with its inline slots stays small (heads
    /// and trailers hold one each).
    #[test]
    fn slots_and_lists_stay_small() {
        assert_eq!(core::mem::size_of::<Slot>(), 16);
        assert!(core::mem::size_of::<Headers>() <= 160);
    }

    /// Owned pieces (obs-fold joins, application fields) read back as themselves
    /// next to shared ones.
    #[test]
    fn owned_and_shared_pieces_read_back() {
        let mut h = Headers::new();
        h.set_slots(
            Bytes::from_static(b"A: 1\r\nB: 2"),
            &[Slot::shared(0, 1, 3, 4), Slot::shared(6, 7, 9, 10)],
        );
        h.set_value_owned(1, Bytes::from_static(b"joined"));
        let fields: Vec<_> = h.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
        assert_eq!(
            fields,
            [
                (b"A".to_vec(), b"1".to_vec()),
                (b"B".to_vec(), b"joined".to_vec()),
            ]
        );
        assert_eq!(
            h.fields().nth(1).map(|f| f.slot.value.is_owned()),
            Some(true)
        );
    }
}
