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

/// One field line: a name and a value.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Field {
    name: Bytes,
    value: Bytes,
}

impl Field {
    /// Builds a field without validating it. The caller guarantees that `name` is a
    /// token and `value` holds only field-value bytes.
    pub(crate) fn new_unchecked(name: Bytes, value: Bytes) -> Self {
        Self { name, value }
    }

    /// The name in wire case.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// The name as a string. Names are tokens (CONST-9), hence ASCII.
    pub fn name_str(&self) -> &str {
        core::str::from_utf8(&self.name).unwrap_or_default()
    }

    /// The value bytes (OWS-trimmed).
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// The name as a shared [`Bytes`] (no copy).
    pub fn name_bytes(&self) -> &Bytes {
        &self.name
    }

    /// The value as a shared [`Bytes`] (no copy).
    pub fn value_bytes(&self) -> &Bytes {
        &self.value
    }

    /// Whether this field's name equals `name`, ignoring ASCII case.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }
}

impl core::fmt::Debug for Field {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}: {:?}", latin1(&self.name), latin1(&self.value))
    }
}

/// An ordered list of header (or trailer) fields; the raw list is the truth.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Headers {
    fields: Vec<Field>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty list with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            fields: Vec::with_capacity(n),
        }
    }

    /// Number of field lines.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The fields in wire order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// `(name, value)` pairs in wire order and wire case: Node's `rawHeaders` / `rawTrailers`
    /// as pairs instead of a flat list (MSG-2).
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> + '_ {
        self.fields.iter().map(|f| (f.name(), f.value()))
    }

    /// Node's flat `rawHeaders`: `[name0, value0, name1, value1, …]` (MSG-2).
    pub fn raw(&self) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(self.fields.len() * 2);
        for f in &self.fields {
            out.push(f.name.clone());
            out.push(f.value.clone());
        }
        out
    }

    /// The first value of `name`, ignoring case.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields.iter().find(|f| f.is(name)).map(Field::value)
    }

    /// Every value of `name` in wire order, ignoring case (one `headersDistinct` entry).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |f| f.is(name))
            .map(Field::value)
    }

    /// Whether any field is called `name`, ignoring case.
    pub fn contains(&self, name: &str) -> bool {
        self.fields.iter().any(|f| f.is(name))
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
        self.fields.push(Field::new_unchecked(name, value));
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
        let field = Field::new_unchecked(name, value);
        match self
            .fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(&field.name))
        {
            Some(i) => {
                let lname = field.name.clone();
                self.fields[i] = field;
                let mut j = i + 1;
                while j < self.fields.len() {
                    if self.fields[j].name.eq_ignore_ascii_case(&lname) {
                        self.fields.remove(j);
                    } else {
                        j += 1;
                    }
                }
            }
            None => self.fields.push(field),
        }
        Ok(self)
    }

    /// Removes every field called `name` (ignoring case); returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.fields.len();
        self.fields.retain(|f| !f.is(name));
        before - self.fields.len()
    }

    /// Appends a field without validation; for the parser, which has already checked it.
    pub(crate) fn push_unchecked(&mut self, name: Bytes, value: Bytes) {
        self.fields.push(Field::new_unchecked(name, value));
    }

    /// Removes every field.
    pub fn clear(&mut self) {
        self.fields.clear();
    }
}

impl core::fmt::Debug for Headers {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.fields.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Field;
    type IntoIter = core::slice::Iter<'a, Field>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter()
    }
}
