//! TargetSpace against a naive model on random sparse allowlists with blocklist
//! holes, and the whole pipeline (permutation → pairs). Addresses stay inside
//! 198.18.0.0/15.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use smtpsweep_targets::{IntervalSet, Ipv4Range, Permutation, PortSet, TargetSpace};

const BASE: u32 = 0xC612_0000; // 198.18.0.0
const SIZE: u32 = 1 << 17; // /15

fn random_ranges(rng: &mut StdRng, count: usize, max_len: u32) -> Vec<Ipv4Range> {
    (0..count)
        .map(|_| {
            let first = BASE + rng.random_range(0..SIZE);
            let len = rng.random_range(1..=max_len).min(BASE + SIZE - first);
            Ipv4Range::new(first, first + len - 1)
        })
        .collect()
}

fn random_ports(rng: &mut StdRng) -> PortSet {
    let n = rng.random_range(1..=5);
    let ports: Vec<u16> = (0..n).map(|_| rng.random_range(1..=65_535u16)).collect();
    PortSet::from_ports(&ports).unwrap()
}

#[test]
fn get_and_index_of_match_a_naive_model() {
    let mut rng = StdRng::seed_from_u64(77);
    for round in 0..40 {
        let count = rng.random_range(1..300);
        let allow_ranges = random_ranges(&mut rng, count, 400);
        let count = rng.random_range(0..300);
        let block_ranges = random_ranges(&mut rng, count, 60);
        let allow = IntervalSet::from_ranges(allow_ranges.iter().copied());
        let block = IntervalSet::from_ranges(block_ranges.iter().copied());
        let ports = random_ports(&mut rng);
        let space = TargetSpace::new(&allow, &block, &ports);

        // Model: every allowed address, ascending, by brute force.
        let in_any = |rs: &[Ipv4Range], a: u32| rs.iter().any(|r| r.contains(a));
        let requested: Vec<u32> = (BASE..BASE + SIZE)
            .filter(|&a| in_any(&allow_ranges, a))
            .collect();
        let model: Vec<u32> = requested
            .iter()
            .copied()
            .filter(|&a| !in_any(&block_ranges, a))
            .collect();
        let np = ports.len() as u64;
        assert_eq!(space.addresses(), model.len() as u64, "round {round}");
        assert_eq!(
            space.blocked_addresses(),
            (requested.len() - model.len()) as u64
        );
        assert_eq!(space.len(), model.len() as u64 * np);

        for index in 0..space.len() {
            let expect = (
                Ipv4Addr::from(model[(index / np) as usize]),
                ports.ports()[(index % np) as usize],
            );
            assert_eq!(space.get(index), expect, "round {round} index {index}");
            assert_eq!(space.index_of(expect.0, expect.1), Some(index));
        }
        assert_eq!(space.try_get(space.len()), None);

        // index_of is None exactly for pairs outside the space.
        let allowed: HashSet<u32> = model.iter().copied().collect();
        for _ in 0..2000 {
            let a = BASE - 5 + rng.random_range(0..SIZE + 10);
            let port = if rng.random_bool(0.8) {
                ports.ports()[rng.random_range(0..ports.len())]
            } else {
                rng.random_range(1..=65_535u16)
            };
            let inside = allowed.contains(&a) && ports.ports().contains(&port);
            match space.index_of(Ipv4Addr::from(a), port) {
                Some(i) => {
                    assert!(inside);
                    assert_eq!(space.get(i), (Ipv4Addr::from(a), port));
                }
                None => assert!(!inside, "{} port {port} missing", Ipv4Addr::from(a)),
            }
        }
    }
}

#[test]
fn many_tiny_ranges_with_one_big_one() {
    // Uneven range sizes exercise buckets holding many ranges.
    let mut ranges: Vec<Ipv4Range> = (0..5000u32)
        .map(|i| Ipv4Range::single(BASE + 2 * i))
        .collect();
    ranges.push(Ipv4Range::new(BASE + 20_000, BASE + SIZE - 1));
    let allow = IntervalSet::from_ranges(ranges);
    let ports = PortSet::parse("25,465,587").unwrap();
    let space = TargetSpace::new(&allow, &IntervalSet::new(), &ports);
    let mut prev: Option<(u32, u16)> = None;
    for index in 0..space.len() {
        let (a, p) = space.get(index);
        let cur = (u32::from(a), p);
        assert!(allow.contains(cur.0));
        assert!(prev.is_none_or(|pv| pv < cur), "not ascending at {index}");
        assert_eq!(space.index_of(a, p), Some(index));
        prev = Some(cur);
    }
}

#[test]
fn permuted_scan_covers_every_pair_once() {
    let mut rng = StdRng::seed_from_u64(5);
    for _ in 0..10 {
        let allow = IntervalSet::from_ranges(random_ranges(&mut rng, 50, 200));
        let block = IntervalSet::from_ranges(random_ranges(&mut rng, 50, 20));
        let ports = random_ports(&mut rng);
        let space = TargetSpace::new(&allow, &block, &ports);
        let perm = Permutation::new(space.len(), rng.random());
        let mut seen = HashSet::new();
        for shard in 0..3 {
            for thread in 0..2 {
                for index in perm.subshard(3, shard, 2, thread) {
                    let (a, p) = space.get(index);
                    assert!(allow.contains(u32::from(a)) && !block.contains(u32::from(a)));
                    assert!(ports.ports().contains(&p));
                    assert!(seen.insert((a, p)), "{a}:{p} twice");
                }
            }
        }
        assert_eq!(seen.len() as u64, space.len());
    }
}
