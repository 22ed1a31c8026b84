//! ZMap-style pseudo-random permutation of `0..n` and its split into subshards.
//!
//! The permutation walks the cyclic multiplicative group `(Z/pZ)*` where `p` is
//! the smallest prime above `n`: cycle position `i` (for `i` in `0..p-1`) holds
//! the element `x_i = start * g^i mod p`, with `g` a generator of the group and
//! `start` a non-zero element, both derived from the seed. Element `x` stands
//! for index `x - 1`; elements with `x - 1 >= n` are skipped. Because `g`
//! generates the group, `x_0 .. x_{p-2}` is every element `1..p-1` exactly once,
//! so every index below `n` comes out exactly once.
//!
//! **Sharding.** With `shards` hosts and `threads` sender threads per host there
//! are `K = shards * threads` subshards; subshard `k = shard * threads + thread`
//! takes the cycle positions `i ≡ k (mod K)`, i.e. it starts at
//! `start * g^k` and steps by the fixed multiplier `g^K`. The position classes
//! modulo `K` are disjoint and cover `0..p-1`, so the subshards are disjoint and
//! together complete for any `K` and any `n`; subshards with `k >= p - 1` (only
//! possible when the space is smaller than `K`) are empty. The order depends
//! only on `(n, seed)`, never on how it is split.
//!
//! **Speed.** The per-step multiplication by the fixed multiplier uses Shoup's
//! precomputed-quotient trick (no division per step); `p < 2^63` is guaranteed by
//! [`MAX_SPACE`].

use crate::error::TargetError;

/// Largest `n` a [`Permutation`] supports (2^62; IPv4 × all ports is below 2^48).
pub const MAX_SPACE: u64 = 1 << 62;

/// `a * b mod m` through a 128-bit product (setup code only).
fn mulmod(a: u64, b: u64, m: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(m)) as u64
}

/// `b^e mod m`.
fn powmod(mut b: u64, mut e: u64, m: u64) -> u64 {
    let mut r = 1 % m;
    b %= m;
    while e > 0 {
        if e & 1 == 1 {
            r = mulmod(r, b, m);
        }
        b = mulmod(b, b, m);
        e >>= 1;
    }
    r
}

/// Deterministic Miller–Rabin for all `u64` (the first twelve primes as bases
/// are sufficient below 3.3·10^24).
pub(crate) fn is_prime(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    for &q in &BASES {
        if n % q == 0 {
            return n == q;
        }
    }
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'bases: for &a in &BASES {
        let mut x = powmod(a, d, n);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mulmod(x, x, n);
            if x == n - 1 {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

/// Smallest prime strictly greater than `n` (`n < 2^63`).
pub(crate) fn next_prime_above(n: u64) -> u64 {
    let mut c = n + 1;
    if c <= 2 {
        return 2;
    }
    if c % 2 == 0 {
        c += 1;
    }
    while !is_prime(c) {
        c += 2;
    }
    c
}

/// Distinct prime factors of `m >= 1`, ascending, by trial division (stopping
/// early once the remaining cofactor is prime).
pub(crate) fn distinct_prime_factors(mut m: u64) -> Vec<u64> {
    let mut out = Vec::new();
    if m % 2 == 0 {
        out.push(2);
        while m % 2 == 0 {
            m /= 2;
        }
    }
    let mut d = 3u64;
    let mut rest_is_prime = is_prime(m);
    while !rest_is_prime && d.saturating_mul(d) <= m {
        if m % d == 0 {
            out.push(d);
            while m % d == 0 {
                m /= d;
            }
            rest_is_prime = is_prime(m);
        }
        d += 2;
    }
    if m > 1 {
        out.push(m);
    }
    out
}

/// SplitMix64: a tiny, fully specified generator, so the order derived from a
/// seed never changes with a dependency upgrade (shards on different hosts and
/// recorded seeds rely on that).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound >= 1`), by rejection.
    fn below(&mut self, bound: u64) -> u64 {
        let reject_below = bound.wrapping_neg() % bound;
        loop {
            let x = self.next_u64();
            if x >= reject_below {
                return x % bound;
            }
        }
    }
}

/// Multiplication by a fixed `w` modulo a fixed `p < 2^63` with Shoup's
/// precomputed quotient `w' = floor(w * 2^64 / p)`.
#[derive(Debug, Clone, Copy)]
struct ShoupMul {
    w: u64,
    w_shoup: u64,
    p: u64,
}

impl ShoupMul {
    fn new(w: u64, p: u64) -> Self {
        debug_assert!(w < p && p < (1 << 63));
        let w_shoup = ((u128::from(w) << 64) / u128::from(p)) as u64;
        ShoupMul { w, w_shoup, p }
    }

    /// `x * w mod p` for `x < p`.
    #[inline(always)]
    fn mul(&self, x: u64) -> u64 {
        let q = ((u128::from(x) * u128::from(self.w_shoup)) >> 64) as u64;
        // The true remainder x*w - q*p lies in [0, 2p), so wrapping arithmetic is exact.
        let r = x.wrapping_mul(self.w).wrapping_sub(q.wrapping_mul(self.p));
        if r >= self.p { r - self.p } else { r }
    }
}

/// A seeded pseudo-random permutation of `0..n` (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permutation {
    n: u64,
    p: u64,
    g: u64,
    start: u64,
}

impl Permutation {
    /// The permutation of `0..n` for `seed`.
    ///
    /// # Panics
    /// If `n > MAX_SPACE` (2^62); use [`Permutation::try_new`] to get an error instead.
    pub fn new(n: u64, seed: u64) -> Permutation {
        match Permutation::try_new(n, seed) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Permutation::new`] but returns an error when `n > MAX_SPACE`.
    ///
    /// Setup factors `p - 1` by trial division that stops once the cofactor is
    /// prime: microseconds for scan-sized spaces (see the `targets` bench).
    pub fn try_new(n: u64, seed: u64) -> Result<Permutation, TargetError> {
        if n > MAX_SPACE {
            return Err(TargetError::SpaceTooLarge { n, max: MAX_SPACE });
        }
        let p = next_prime_above(n);
        let mut rng = SplitMix64(seed);
        let g = if p == 2 {
            1 // (Z/2Z)* = {1}
        } else {
            let factors = distinct_prime_factors(p - 1);
            loop {
                let c = 2 + rng.below(p - 2); // 2..=p-1
                if factors.iter().all(|&q| powmod(c, (p - 1) / q, p) != 1) {
                    break c;
                }
            }
        };
        let start = 1 + rng.below(p - 1); // 1..=p-1
        Ok(Permutation { n, p, g, start })
    }

    /// Size of the permuted space.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// The prime modulus (smallest prime above `n`).
    pub fn prime(&self) -> u64 {
        self.p
    }

    /// The generator of `(Z/pZ)*` in use.
    pub fn generator(&self) -> u64 {
        self.g
    }

    /// The group element at cycle position 0.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// The whole permutation in order (the single subshard of a 1×1 split).
    pub fn iter(&self) -> Subshard {
        self.subshard(1, 0, 1, 0)
    }

    /// Subshard `shard * threads + thread` of `shards * threads` (see the module
    /// docs for the split).
    ///
    /// Never panics: invalid numbers (`shards == 0`, `shard >= shards`,
    /// `threads == 0`, `thread >= threads`) give an **empty** subshard. Validate
    /// user input with [`Permutation::try_subshard`] instead.
    pub fn subshard(&self, shards: u32, shard: u32, threads: u32, thread: u32) -> Subshard {
        self.try_subshard(shards, shard, threads, thread)
            .unwrap_or_else(|_| Subshard::empty(self.n))
    }

    /// Subshard `shard * threads + thread` of `shards * threads`, or an error if
    /// a count is zero or an index is not below its count.
    pub fn try_subshard(
        &self,
        shards: u32,
        shard: u32,
        threads: u32,
        thread: u32,
    ) -> Result<Subshard, TargetError> {
        validate_split(shards, shard, threads, thread)?;
        let total = u64::from(shards) * u64::from(threads);
        let k = u64::from(shard) * u64::from(threads) + u64::from(thread);
        let positions = self.p - 1; // length of the cycle
        if k >= positions {
            return Ok(Subshard::empty(self.n));
        }
        let remaining = (positions - 1 - k) / total + 1;
        let first = mulmod(self.start, powmod(self.g, k, self.p), self.p);
        let step = powmod(self.g, total % positions, self.p);
        Ok(Subshard {
            cur: first,
            step: ShoupMul::new(step, self.p),
            n: self.n,
            remaining,
        })
    }
}

/// Check a `--shards/--shard` and threads split.
pub fn validate_split(
    shards: u32,
    shard: u32,
    threads: u32,
    thread: u32,
) -> Result<(), TargetError> {
    if shards == 0 {
        return Err(TargetError::Sharding(
            "shard count must be at least 1".into(),
        ));
    }
    if shard >= shards {
        return Err(TargetError::Sharding(format!(
            "shard {shard} out of range for {shards} shard(s) (expected 0-{})",
            shards - 1
        )));
    }
    if threads == 0 {
        return Err(TargetError::Sharding(
            "thread count must be at least 1".into(),
        ));
    }
    if thread >= threads {
        return Err(TargetError::Sharding(format!(
            "thread {thread} out of range for {threads} thread(s) (expected 0-{})",
            threads - 1
        )));
    }
    Ok(())
}

/// One subshard's part of a [`Permutation`]: an iterator over indices below `n`.
#[derive(Debug, Clone)]
pub struct Subshard {
    cur: u64,
    step: ShoupMul,
    n: u64,
    remaining: u64,
}

impl Subshard {
    fn empty(n: u64) -> Subshard {
        Subshard {
            cur: 1,
            step: ShoupMul::new(1, 2),
            n,
            remaining: 0,
        }
    }

    /// Cycle positions not yet visited (an upper bound on the items left; about
    /// `n / (p - 1)` of them yield an index). Useful for progress estimates.
    pub fn remaining_positions(&self) -> u64 {
        self.remaining
    }
}

impl Iterator for Subshard {
    type Item = u64;

    #[inline]
    fn next(&mut self) -> Option<u64> {
        while self.remaining > 0 {
            let x = self.cur;
            self.cur = self.step.mul(x);
            self.remaining -= 1;
            let index = x - 1;
            if index < self.n {
                return Some(index);
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, usize::try_from(self.remaining).ok())
    }
}

impl std::iter::FusedIterator for Subshard {}

#[cfg(test)]
mod tests {
    use super::*;

    fn sieve(limit: usize) -> Vec<bool> {
        let mut is = vec![true; limit + 1];
        is[0] = false;
        if limit >= 1 {
            is[1] = false;
        }
        let mut i = 2;
        while i * i <= limit {
            if is[i] {
                let mut j = i * i;
                while j <= limit {
                    is[j] = false;
                    j += i;
                }
            }
            i += 1;
        }
        is
    }

    #[test]
    fn miller_rabin_matches_sieve() {
        let s = sieve(100_000);
        for (n, &p) in s.iter().enumerate() {
            assert_eq!(is_prime(n as u64), p, "{n}");
        }
    }

    #[test]
    fn miller_rabin_large() {
        // Known primes and composites, including strong pseudoprimes to small bases.
        for p in [
            2_147_483_647u64,           // 2^31 - 1
            2_305_843_009_213_693_951,  // 2^61 - 1
            (1 << 62) + 135,            // smallest prime above 2^62
            18_446_744_073_709_551_557, // largest u64 prime
            281_474_976_710_677,        // smallest prime above 2^48
        ] {
            assert!(is_prime(p), "{p}");
        }
        for c in [
            3_215_031_751u64,          // strong pseudoprime to bases 2, 3, 5, 7
            3_825_123_056_546_413_051, // strong pseudoprime to bases 2..=23
            (1u64 << 61) - 3,
            4_294_967_297, // 2^32 + 1 = 641 * 6700417
            u64::MAX,
        ] {
            assert!(!is_prime(c), "{c}");
        }
    }

    #[test]
    fn next_prime_and_factors() {
        assert_eq!(next_prime_above(0), 2);
        assert_eq!(next_prime_above(1), 2);
        assert_eq!(next_prime_above(2), 3);
        assert_eq!(next_prime_above(3), 5);
        assert_eq!(next_prime_above(7), 11);
        assert_eq!(next_prime_above(1 << 32), (1 << 32) + 15);
        assert_eq!(next_prime_above(1 << 48), 281_474_976_710_677);
        assert_eq!(distinct_prime_factors(1), Vec::<u64>::new());
        assert_eq!(distinct_prime_factors(2), vec![2]);
        assert_eq!(distinct_prime_factors(360), vec![2, 3, 5]);
        assert_eq!(distinct_prime_factors(4_294_967_297), vec![641, 6_700_417]);
        assert_eq!(distinct_prime_factors(97 * 97 * 101), vec![97, 101]);
        // 2^48 + 76 = p - 1 for the prime above 2^48; check the factors multiply back.
        let m = 281_474_976_710_676u64;
        let fs = distinct_prime_factors(m);
        let mut rest = m;
        for &f in &fs {
            assert!(is_prime(f));
            while rest % f == 0 {
                rest /= f;
            }
        }
        assert_eq!(rest, 1);
    }

    #[test]
    fn shoup_matches_u128() {
        let mut rng = SplitMix64(42);
        for p in [
            2u64,
            3,
            5,
            65_537,
            4_294_967_311,
            281_474_976_710_677,
            (1 << 62) + 135,
        ] {
            for _ in 0..2000 {
                let w = rng.below(p);
                let x = rng.below(p);
                assert_eq!(
                    ShoupMul::new(w, p).mul(x),
                    mulmod(x, w, p),
                    "{x}*{w} mod {p}"
                );
            }
            let m = ShoupMul::new(p - 1, p);
            assert_eq!(m.mul(p - 1), 1);
        }
    }

    #[test]
    fn generator_really_generates() {
        for n in [1u64, 2, 5, 100, 1000, 65_536] {
            for seed in 0..5 {
                let perm = Permutation::new(n, seed);
                let p = perm.prime();
                let g = perm.generator();
                // Order of g is p-1 exactly: walk the cycle.
                let mut x = g;
                let mut order = 1;
                while x != 1 {
                    x = mulmod(x, g, p);
                    order += 1;
                }
                assert_eq!(order, p - 1, "n={n} seed={seed} g={g} p={p}");
                assert!((1..p).contains(&perm.start()));
            }
        }
    }

    #[test]
    fn large_spaces_build() {
        // Up to all of IPv4 × 65535 ports, and the supported maximum.
        for n in [1u64 << 34, (1u64 << 32) * 65_535, 1 << 48, MAX_SPACE] {
            let perm = Permutation::new(n, 7);
            assert!(perm.prime() > n && is_prime(perm.prime()));
            let first: Vec<u64> = perm.iter().take(1000).collect();
            assert_eq!(first.len(), 1000);
            assert!(first.iter().all(|&i| i < n));
        }
        assert_eq!(
            Permutation::try_new(MAX_SPACE + 1, 0).unwrap_err(),
            TargetError::SpaceTooLarge {
                n: MAX_SPACE + 1,
                max: MAX_SPACE
            }
        );
    }

    #[test]
    fn split_validation() {
        let perm = Permutation::new(100, 1);
        let msg = |r: Result<Subshard, TargetError>| r.unwrap_err().to_string();
        assert_eq!(
            msg(perm.try_subshard(4, 4, 1, 0)),
            "invalid sharding: shard 4 out of range for 4 shard(s) (expected 0-3)"
        );
        assert!(msg(perm.try_subshard(0, 0, 1, 0)).contains("shard count must be at least 1"));
        assert!(msg(perm.try_subshard(1, 0, 0, 0)).contains("thread count must be at least 1"));
        assert!(msg(perm.try_subshard(1, 0, 2, 2)).contains("thread 2 out of range"));
        // The panic-free variant yields nothing for invalid splits.
        assert_eq!(perm.subshard(4, 9, 1, 0).count(), 0);
        assert_eq!(perm.subshard(0, 0, 0, 0).count(), 0);
        // Huge (but valid) split counts do not overflow.
        let s = perm
            .try_subshard(u32::MAX, u32::MAX - 1, u32::MAX, u32::MAX - 1)
            .unwrap();
        assert_eq!(s.count(), 0);
        // n = 100, p = 101: 100 cycle positions over u32::MAX threads gives exactly
        // one index each to threads 0..100 and nothing to the rest.
        let mut seen: Vec<u64> = (0..100)
            .flat_map(|t| {
                let got: Vec<u64> = perm.subshard(1, 0, u32::MAX, t).collect();
                assert_eq!(got.len(), 1, "thread {t}");
                got
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..100).collect::<Vec<u64>>());
        assert_eq!(perm.subshard(1, 0, u32::MAX, 100).count(), 0);
    }
}
