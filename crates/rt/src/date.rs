//! The automatic `Date` value, rendered at most once per second (CONST-10, RES-13).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    /// The monotonic instant that second ends at, as last seen by
    /// [`DateCache::refresh_at`]: before it, the wall clock need not be read.
    until: Option<Instant>,
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

    /// As [`DateCache::refresh`], but the wall clock is read (by calling `wall`) only
    /// once the monotonic `now` reaches the end of the second last rendered: a busy
    /// connection reads one clock per wake-up, not two. A wall clock set back or
    /// forward shows at the next second boundary, as Node's own cache (cleared by a
    /// timer at the end of each second) shows it.
    ///
    /// ```
    /// use std::time::{Duration, Instant, UNIX_EPOCH};
    /// use courier_rt::DateCache;
    ///
    /// let mut cache = DateCache::new();
    /// let start = Instant::now();
    /// let t = UNIX_EPOCH + Duration::from_millis(784_111_777_250);
    /// assert_eq!(&cache.refresh_at(start, || t).unwrap()[..], b"Sun, 06 Nov 1994 08:49:37 GMT");
    /// // 0.7 s later the second has not ended: the wall clock is not read.
    /// let later = start + Duration::from_millis(700);
    /// assert!(cache.refresh_at(later, || unreachable!()).is_none());
    /// let next = start + Duration::from_millis(750);
    /// let value = cache.refresh_at(next, || t + Duration::from_millis(750)).unwrap();
    /// assert_eq!(&value[..], b"Sun, 06 Nov 1994 08:49:38 GMT");
    /// ```
    pub fn refresh_at(&mut self, now: Instant, wall: impl FnOnce() -> SystemTime) -> Option<Bytes> {
        if self.until.is_some_and(|until| now < until) {
            return None;
        }
        let wall = wall();
        let into_second = wall
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .subsec_nanos();
        self.until = now.checked_add(Duration::from_nanos(1_000_000_000 - u64::from(into_second)));
        self.refresh(wall)
    }

    /// The value for `now` (rendered if the second changed).
    pub fn get(&mut self, now: SystemTime) -> Bytes {
        self.refresh(now);
        self.value.clone()
    }
}
