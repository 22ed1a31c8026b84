//! Deduplication of responses per target index with bounded memory.
//!
//! A paged bitmap: one bit per (address, port) index of the target space,
//! allocated 64 Ki bits (8 KiB) at a time, only for pages that ever see a
//! response; the directory costs 8 bytes per page. For all of public IPv4
//! (about 3.7 × 10^9 addresses after the default blocklist) × 3 ports ≈
//! 1.1 × 10^10 indices, that is 1.39 GB of bits plus a 1.4 MB directory once
//! every page holds a hit — which an Internet-wide sweep does (a page spans
//! about 22,000 consecutive addresses), so plan for it. A /16 testbed needs at
//! most 24 KiB.

const PAGE_BITS: u64 = 1 << 16;
const WORDS: usize = (PAGE_BITS / 64) as usize;

/// A bitmap over `0..len` whose pages are allocated on first touch.
#[derive(Debug)]
pub struct PagedBitmap {
    pages: Vec<Option<Box<[u64; WORDS]>>>,
    len: u64,
}

impl PagedBitmap {
    /// A bitmap able to hold indices `0..len`, with no page allocated yet.
    pub fn new(len: u64) -> PagedBitmap {
        let n = len.div_ceil(PAGE_BITS) as usize;
        PagedBitmap {
            pages: (0..n).map(|_| None).collect(),
            len,
        }
    }

    /// Sets bit `i`; returns whether it was already set. Out-of-range
    /// indices report true (treated as seen) and change nothing.
    pub fn test_and_set(&mut self, i: u64) -> bool {
        if i >= self.len {
            return true;
        }
        let page = self.pages[(i / PAGE_BITS) as usize].get_or_insert_with(|| Box::new([0; WORDS]));
        let bit = i % PAGE_BITS;
        let (w, m) = ((bit / 64) as usize, 1u64 << (bit % 64));
        let was = page[w] & m != 0;
        page[w] |= m;
        was
    }

    /// Bytes allocated for pages so far (the directory excluded).
    pub fn allocated_bytes(&self) -> usize {
        self.pages.iter().flatten().count() * WORDS * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_is_new_then_repeat() {
        let mut b = PagedBitmap::new(300_000);
        assert_eq!(b.allocated_bytes(), 0);
        for i in [0u64, 63, 64, 65_535, 65_536, 299_999] {
            assert!(!b.test_and_set(i), "{i} first time");
            assert!(b.test_and_set(i), "{i} second time");
        }
        assert!(!b.test_and_set(1), "neighbours are independent");
        assert_eq!(b.allocated_bytes(), 3 * 8192, "pages 0, 1 and 4 only");
        assert!(b.test_and_set(300_000), "out of range counts as seen");
        assert!(b.test_and_set(u64::MAX));
    }

    #[test]
    fn empty_space() {
        let mut b = PagedBitmap::new(0);
        assert!(b.test_and_set(0));
    }
}
