//! A small, fast, non-cryptographic hasher for the aggregation tables (the
//! keys come from scan output, not from an adversary who can choose them to
//! collide; and even then the cost is speed, not correctness).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-rotate accumulation, murmur3's 64-bit finaliser at the end (so
/// every input bit reaches the low bits the table indexes with).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl FastHasher {
    #[inline]
    fn add(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(23) ^ n).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rem = chunks.remainder();
        if !rem.is_empty() {
            let mut b = [0u8; 8];
            b[..rem.len()].copy_from_slice(rem);
            self.add(u64::from_le_bytes(b) ^ ((rem.len() as u64) << 60));
        }
    }
    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    #[inline]
    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }
    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        let mut k = self.0;
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^= k >> 33;
        k
    }
}

/// Hash builder for [`FastHasher`].
pub(crate) type FastBuild = BuildHasherDefault<FastHasher>;
/// `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, FastBuild>;
/// `HashSet` with [`FastHasher`].
pub(crate) type FastSet<K> = HashSet<K, FastBuild>;

/// murmur3's 64-bit finaliser.
#[inline]
fn mix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// A set of `u64` keys: open addressing with linear probing, the keys
/// themselves in the slots (0 marks an empty slot; the key 0 is a flag), so
/// an insert usually touches a single cache line where a `HashSet` touches a
/// control byte and a slot. The table doubles at 3/4 load: 8 bytes per
/// slot, about 11–21 bytes per key.
#[derive(Debug, Clone, Default)]
pub(crate) struct U64Set {
    slots: Vec<u64>,
    /// Keys in `slots` (not counting 0).
    used: usize,
    zero: bool,
}

impl U64Set {
    /// Add `k`; true if it was not there yet.
    #[inline]
    pub fn insert(&mut self, k: u64) -> bool {
        if k == 0 {
            return !std::mem::replace(&mut self.zero, true);
        }
        if (self.used + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = mix(k) as usize & mask;
        loop {
            let s = self.slots[i];
            if s == k {
                return false;
            }
            if s == 0 {
                self.slots[i] = k;
                self.used += 1;
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    /// Start loading the slot where `k` would go into the cache. Only a
    /// hint: results are the same without it.
    #[inline]
    pub fn prefetch(&self, k: u64) {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
        if !self.slots.is_empty() {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let slot: *const u64 = &self.slots[mix(k) as usize & (self.slots.len() - 1)];
            // SAFETY: SSE is enabled at compile time (the cfg above); a
            // prefetch never faults and changes no memory, and `slot`
            // points into `slots` anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(slot.cast()) }
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
        let _ = k;
    }

    #[cold]
    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(1024);
        let old = std::mem::replace(&mut self.slots, vec![0; cap]);
        let mask = cap - 1;
        for k in old.into_iter().filter(|&k| k != 0) {
            let mut i = mix(k) as usize & mask;
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = k;
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.used + usize::from(self.zero)
    }

    /// Every key, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.zero
            .then_some(0)
            .into_iter()
            .chain(self.slots.iter().copied().filter(|&k| k != 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn low_bits_depend_on_high_input_bits() {
        // Keys that differ only above bit 16 must spread over low bits.
        let b = FastBuild::default();
        let lows: HashSet<u64> = (0..1024u64)
            .map(|i| b.hash_one((i << 16) | 25) & 1023)
            .collect();
        assert!(lows.len() > 500, "{}", lows.len());
    }

    #[test]
    fn u64_set_matches_a_hash_set() {
        let mut set = U64Set::default();
        let mut reference = HashSet::new();
        let mut x = 0x1234_5678u64;
        for i in 0..200_000u64 {
            // Small keys (many repeats, 0 among them) and spread-out ones.
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let k = match i % 3 {
                _ if i % 1000 == 7 => 0,
                0 => x >> 50,
                _ => x & !0xffff,
            };
            assert_eq!(set.insert(k), reference.insert(k), "{k}");
        }
        assert_eq!(set.len(), reference.len());
        let mut keys: Vec<u64> = set.iter().collect();
        keys.sort_unstable();
        let mut want: Vec<u64> = reference.into_iter().collect();
        want.sort_unstable();
        assert_eq!(keys, want);
        assert!(keys.contains(&0));
    }
}
