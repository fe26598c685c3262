//! The hasher of the agent's maps.

use core::hash::{BuildHasherDefault, Hasher};
use std::collections::HashMap;

/// A small multiplicative hasher (the FxHash scheme) for the agent's own maps: a
/// handful of look-ups per request, keyed by ids the agent hands out and by pool
/// names, where std's SipHash costs more than the rest of the bookkeeping. The keys
/// are not chosen by a peer, so no hash flooding protection is needed.
///
/// ```
/// use core::hash::{BuildHasher, BuildHasherDefault};
/// use courier_proto::agent::FastHasher;
/// let b = BuildHasherDefault::<FastHasher>::default();
/// assert_eq!(b.hash_one("127.0.0.1:80:"), b.hash_one("127.0.0.1:80:"));
/// assert_ne!(b.hash_one(1u64), b.hash_one(2u64));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct FastHasher(u64);

const SEED: u64 = 0xf135_7aea_2e62_a9c5;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
        self.add(bytes.len() as u64);
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits (the table index) weakest.
        self.0.rotate_left(26)
    }
}

/// A `HashMap` with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;
