//! RFC 1071 Internet checksum helpers (one's-complement sum of big-endian 16-bit words).

/// Adds the big-endian 16-bit words of `data` to `acc` (an odd trailing byte is padded with zero).
///
/// The accumulator is a plain 64-bit sum; fold it with [`fold`] before use.
pub(crate) fn sum_words(mut acc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// Folds a wide one's-complement accumulator to 16 bits with end-around carry.
pub(crate) fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Folds a 32-bit accumulator holding at most a few dozen 16-bit words (the hot-path variant).
#[inline(always)]
pub(crate) fn fold32(acc: u32) -> u16 {
    let acc = (acc & 0xffff) + (acc >> 16);
    ((acc & 0xffff) + (acc >> 16)) as u16
}

/// The RFC 1071 Internet checksum of `data`: the one's complement of the one's-complement sum.
///
/// Computing it over a header that contains its own correct checksum yields 0.
pub fn internet_checksum(data: &[u8]) -> u16 {
    !fold(sum_words(0, data))
}

/// The one's-complement sum of the IPv4 TCP/UDP pseudo header (without folding).
pub(crate) fn pseudo_header_sum(src: [u8; 4], dst: [u8; 4], proto: u8, len: u16) -> u64 {
    let acc = sum_words(0, &src);
    let acc = sum_words(acc, &dst);
    acc + u64::from(proto) + u64::from(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // The worked example from RFC 1071 section 3: words 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum_words(0, &data)), 0xddf2);
        assert_eq!(internet_checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(fold(sum_words(0, &[0x12, 0x34, 0x56])), 0x1234 + 0x5600);
    }

    #[test]
    fn fold32_matches_fold() {
        for acc in [0u32, 0xffff, 0x1_0000, 0x1_fffe, 0x7_fff8, 0xffff_ffff] {
            assert_eq!(fold32(acc), fold(u64::from(acc)), "acc {acc:#x}");
        }
    }
}
