//! Node's derived header views (MSG-3 … MSG-8). Filled in by the node-view work.

use bytes::Bytes;

use super::Headers;

/// Maps bytes to a string one char per byte (latin-1), as Node does for header values (MSG-7).
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// One value of Node's `headers` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeValue {
    /// A single string (possibly several wire values joined).
    Single(Bytes),
    /// A list of strings: `set-cookie` (MSG-3 rule 1).
    List(Vec<Bytes>),
}

/// Node's `headers` object: lower-case names in first-seen order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeHeaders {
    entries: Vec<(String, NodeValue)>,
}

impl NodeHeaders {
    /// The entries in insertion order.
    pub fn entries(&self) -> &[(String, NodeValue)] {
        &self.entries
    }
}

impl Headers {
    /// Node's `headers` view (MSG-3, MSG-4). Placeholder until the node-view work lands.
    pub fn node_view(&self, _join_duplicates: bool) -> NodeHeaders {
        NodeHeaders::default()
    }
}
