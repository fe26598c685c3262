//! The automatic `Date` value, rendered at most once per second (CONST-10, RES-13).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) re-rendered only when the wall
/// clock enters a new second. The caller passes the time in, so the cache never reads
/// a clock itself.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use courier_rt::DateCache;
///
/// let mut cache = DateCache::new();
/// let t = UNIX_EPOCH + Duration::from_secs(784_111_777);
/// assert_eq!(&cache.get(t)[..], b"Sun, 06 Nov 1994 08:49:37 GMT");
/// assert!(cache.refresh(t + Duration::from_millis(900)).is_none()); // same second
/// assert_eq!(
///     &cache.refresh(t + Duration::from_secs(1)).unwrap()[..],
///     b"Sun, 06 Nov 1994 08:49:38 GMT"
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct DateCache {
    /// The whole second since the epoch that `value` shows.
    second: Option<u64>,
    value: Bytes,
}

impl DateCache {
    /// An empty cache; the first [`DateCache::refresh`] renders.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renders the value for `now` if its second differs from the cached one, and
    /// returns the new value; `None` when the cached value still holds.
    pub fn refresh(&mut self, now: SystemTime) -> Option<Bytes> {
        let secs = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        if self.second == Some(secs) {
            return None;
        }
        let whole = UNIX_EPOCH + Duration::from_secs(secs);
        self.value = Bytes::from(httpdate::fmt_http_date(whole));
        self.second = Some(secs);
        Some(self.value.clone())
    }

    /// The value for `now` (rendered if the second changed).
    pub fn get(&mut self, now: SystemTime) -> Bytes {
        self.refresh(now);
        self.value.clone()
    }
}
