//! Deterministic hashing: everything random in the testbed derives from the seed through these.

/// SplitMix64's finaliser: a fast, well-mixed 64-bit bijection.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A hash of `value` under `seed`, domain-separated by `salt`.
pub(crate) fn hash(seed: u64, salt: u64, value: u64) -> u64 {
    mix64(mix64(seed ^ mix64(salt)) ^ value)
}

/// A uniform number in [0, 1) from 53 bits of the hash.
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// `len` pseudo-random bytes from `seed` (SplitMix64 stream).
pub(crate) fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        out.extend_from_slice(&mix64(state).to_le_bytes());
    }
    out.truncate(len);
    out
}
