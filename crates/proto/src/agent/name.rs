//! Pool keys (`Agent#getName`, AGT-3) and the server's keep-alive hint (AGT-8).

use core::fmt;
use core::hash::Hasher;
use core::time::Duration;
use std::sync::Arc;

use super::FastHasher;

/// The connection options that name a pool (AGT-3), as Node sees them in
/// `addRequest`: the request's options with the agent's options laid over them.
///
/// For an ordinary request `host` is `hostname || host || 'localhost'` and `port` is
/// `port || defaultPort || 80` (CLI-5), so `http.get('http://localhost/')` is named
/// `localhost:80:`. When an agent itself carries connection options (Node lets
/// `new Agent({localAddress})` and the like win over the request's), pass the merged
/// values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NameOptions<'a> {
    /// `host`; `None` or empty means `localhost`.
    pub host: Option<&'a str>,
    /// `port`; `None` or 0 leaves the field empty (Node tests `if (options.port)`).
    pub port: Option<u16>,
    /// `localAddress`; `None` or empty leaves the field empty.
    pub local_address: Option<&'a str>,
    /// `family`; only 4 and 6 are appended.
    pub family: Option<u8>,
    /// `socketPath` (a Unix socket); appended when present and not empty.
    pub socket_path: Option<&'a str>,
}

impl NameOptions<'_> {
    /// Node's `agent.getName(options)` (AGT-3): `host:port:localAddress`, then
    /// `:family` when it is 4 or 6, then `:socketPath` when present.
    ///
    /// ```
    /// use courier_proto::agent::NameOptions;
    /// let o = NameOptions { host: Some("h"), port: Some(8), local_address: Some("1.2.3.4"), family: Some(6), ..Default::default() };
    /// assert_eq!(o.get_name().as_str(), "h:8:1.2.3.4:6");
    /// assert_eq!(NameOptions::default().get_name().as_str(), "localhost::");
    /// ```
    pub fn get_name(&self) -> PoolKey {
        let mut name = String::with_capacity(32);
        name.push_str(non_empty(self.host).unwrap_or("localhost"));
        name.push(':');
        if let Some(port) = self.port.filter(|&p| p != 0) {
            name.push_str(itoa::Buffer::new().format(port));
        }
        name.push(':');
        if let Some(local) = non_empty(self.local_address) {
            name.push_str(local);
        }
        if let Some(family @ (4 | 6)) = self.family {
            name.push(':');
            name.push(char::from(b'0' + family));
        }
        if let Some(path) = non_empty(self.socket_path) {
            name.push(':');
            name.push_str(path);
        }
        PoolKey::new(name.into())
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// The name of one pool inside an agent: the keys of Node's `sockets`,
/// `freeSockets` and `requests` objects (AGT-4). Cheap to clone; ordered by name.
#[derive(Clone, Eq)]
pub struct PoolKey(Arc<str>, u64);

impl core::hash::Hash for PoolKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        // The name's hash, computed once: the pool looks a key up several times
        // per request (equal keys have equal names, hence equal hashes).
        state.write_u64(self.1);
    }
}

impl PartialEq for PoolKey {
    fn eq(&self, other: &Self) -> bool {
        // Keys are cloned from one another: the same allocation is the common case.
        Arc::ptr_eq(&self.0, &other.0) || (self.1 == other.1 && self.0 == other.0)
    }
}

impl PartialOrd for PoolKey {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PoolKey {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl PoolKey {
    fn new(name: Arc<str>) -> Self {
        let mut h = FastHasher::default();
        h.write(name.as_bytes());
        let hash = h.finish();
        Self(name, hash)
    }

    /// A key from a name built elsewhere (for instance an HTTPS agent's longer name).
    pub fn from_name(name: &str) -> Self {
        Self::new(name.into())
    }

    /// The name, as Node prints it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PoolKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for PoolKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PoolKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The server's keep-alive hint as Node's `keepSocketAlive` reads it (AGT-8): the
/// value of the response's `keep-alive` header (Node's `headers` view, duplicates
/// joined with `", "`) must **start** with `timeout=` followed by at least one digit;
/// the digits are the hint in seconds. Case-sensitive; anything after the digits is
/// ignored. Huge values saturate.
///
/// ```
/// use std::time::Duration;
/// use courier_proto::agent::keep_alive_hint;
/// assert_eq!(keep_alive_hint(b"timeout=5"), Some(Duration::from_secs(5)));
/// assert_eq!(keep_alive_hint(b"timeout=3.9, max=5"), Some(Duration::from_secs(3)));
/// assert_eq!(keep_alive_hint(b"max=5, timeout=3"), None);
/// assert_eq!(keep_alive_hint(b"Timeout=3"), None);
/// ```
pub fn keep_alive_hint(value: &[u8]) -> Option<Duration> {
    let digits = value.strip_prefix(b"timeout=")?;
    let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let secs = digits[..n].iter().fold(0u64, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(Duration::from_secs(secs))
}
