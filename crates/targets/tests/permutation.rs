//! The permutation covers exactly, depends on the seed, and splits into
//! disjoint, complete subshards.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use smtpsweep_targets::{Permutation, Subshard};

/// Assert `items` is exactly `0..n`, each once.
fn assert_exact_cover(items: impl IntoIterator<Item = u64>, n: u64, what: &str) {
    let mut seen = vec![false; n as usize];
    let mut count = 0u64;
    for i in items {
        assert!(i < n, "{what}: index {i} out of range 0..{n}");
        assert!(!seen[i as usize], "{what}: index {i} visited twice");
        seen[i as usize] = true;
        count += 1;
    }
    assert_eq!(count, n, "{what}: visited {count} of {n}");
}

fn is_prime_slow(n: u64) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

fn test_sizes() -> Vec<u64> {
    let mut sizes: Vec<u64> = (0..=70).collect();
    for p in [97u64, 101, 257, 1009, 4093, 7919, 65_521, 65_537] {
        assert!(is_prime_slow(p));
        sizes.extend([p - 1, p, p + 1]);
    }
    for k in 7..=17 {
        sizes.extend([(1u64 << k) - 1, 1 << k, (1 << k) + 1]);
    }
    let mut rng = StdRng::seed_from_u64(0x5eed);
    sizes.extend((0..25).map(|_| rng.random_range(1..=100_000u64)));
    sizes
}

#[test]
fn visits_every_index_exactly_once() {
    let seeds = [0u64, 1, 42, 0xdead_beef, u64::MAX];
    for n in test_sizes() {
        for seed in seeds {
            let perm = Permutation::new(n, seed);
            assert!(perm.prime() > n);
            assert_exact_cover(perm.iter(), n, &format!("n={n} seed={seed}"));
        }
    }
}

#[test]
fn same_seed_same_order_and_different_seeds_differ() {
    for n in [100u64, 1000, 12_345] {
        let orders: Vec<Vec<u64>> = (0..16u64)
            .map(|seed| Permutation::new(n, seed).iter().collect())
            .collect();
        for (a, oa) in orders.iter().enumerate() {
            assert_eq!(
                oa,
                &Permutation::new(n, a as u64).iter().collect::<Vec<_>>()
            );
            for ob in &orders[a + 1..] {
                assert_ne!(oa, ob, "n={n}: two seeds gave the same order");
            }
        }
    }
    // The order is not the identity or a simple stride for a typical seed.
    let order: Vec<u64> = Permutation::new(1000, 7).iter().collect();
    let ascending = order.windows(2).filter(|w| w[1] > w[0]).count();
    assert!(
        (300..700).contains(&ascending),
        "{ascending} ascents of 999"
    );
}

/// Every subshard of a `shards × threads` split, in (shard, thread) order.
fn split(perm: &Permutation, shards: u32, threads: u32) -> Vec<Subshard> {
    let mut out = Vec::new();
    for shard in 0..shards {
        for thread in 0..threads {
            out.push(perm.try_subshard(shards, shard, threads, thread).unwrap());
        }
    }
    out
}

#[test]
fn shards_and_threads_are_disjoint_and_complete() {
    let splits = [
        (1u32, 1u32),
        (1, 2),
        (2, 1),
        (3, 1),
        (1, 3),
        (3, 2),
        (7, 1),
        (7, 3),
        (4, 4),
        (5, 7),
        (16, 8),
        (64, 3),
        (1000, 1),
    ];
    let mut sizes: Vec<u64> = (0..=40).collect();
    sizes.extend([100, 101, 1008, 1009, 1024, 4099, 20_000]);
    for n in sizes {
        for seed in [3u64, 99] {
            let perm = Permutation::new(n, seed);
            for (shards, threads) in splits {
                let parts = split(&perm, shards, threads);
                let what = format!("n={n} seed={seed} {shards}x{threads}");
                let mut nonempty = 0;
                let all: Vec<u64> = parts
                    .into_iter()
                    .flat_map(|s| {
                        let v: Vec<u64> = s.collect();
                        nonempty += usize::from(!v.is_empty());
                        v
                    })
                    .collect();
                assert_exact_cover(all, n, &what);
                assert!(nonempty as u64 <= n, "{what}");
            }
        }
    }
}

#[test]
fn small_space_many_subshards_leaves_some_empty() {
    // n = 5 < 3 × 4 subshards: some yield nothing, together still exactly 0..5.
    let perm = Permutation::new(5, 11);
    let counts: Vec<usize> = split(&perm, 3, 4)
        .into_iter()
        .map(Iterator::count)
        .collect();
    assert_eq!(counts.iter().sum::<usize>(), 5);
    assert!(counts.contains(&0));
    assert!(counts.iter().all(|&c| c <= 1));
}

#[test]
fn splitting_does_not_change_the_order() {
    // With n = p - 1 nothing is skipped, so subshard k holds exactly the
    // positions ≡ k (mod K) of the unsplit order.
    for (n, seed) in [(100u64, 5u64), (1008, 6), (65_520, 7)] {
        let perm = Permutation::new(n, seed);
        assert_eq!(perm.prime(), n + 1);
        let whole: Vec<u64> = perm.iter().collect();
        for (shards, threads) in [(3u32, 1u32), (2, 5), (7, 7)] {
            let k_total = (shards * threads) as usize;
            for (k, part) in split(&perm, shards, threads).into_iter().enumerate() {
                let expect: Vec<u64> = whole.iter().copied().skip(k).step_by(k_total).collect();
                assert_eq!(part.collect::<Vec<_>>(), expect, "n={n} k={k}/{k_total}");
            }
        }
    }
}

#[test]
fn randomized_splits() {
    let mut rng = StdRng::seed_from_u64(2024);
    for _ in 0..60 {
        let n = rng.random_range(0..30_000u64);
        let seed: u64 = rng.random();
        let shards = rng.random_range(1..=9u32);
        let threads = rng.random_range(1..=6u32);
        let perm = Permutation::new(n, seed);
        let all = split(&perm, shards, threads).into_iter().flatten();
        assert_exact_cover(all, n, &format!("n={n} seed={seed} {shards}x{threads}"));
    }
}

#[test]
fn remaining_positions_counts_down() {
    let perm = Permutation::new(50, 1);
    let mut s = perm.subshard(2, 1, 1, 0);
    let start = s.remaining_positions();
    assert_eq!(start, (perm.prime() - 1) / 2);
    let got = s.by_ref().count();
    assert!(got as u64 <= start);
    assert_eq!(s.remaining_positions(), 0);
    assert_eq!(s.next(), None);
}
