//! IntervalSet operations against a bitmap model, and the default blocklist.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use smtpsweep_targets::{IntervalSet, Ipv4Range, default_blocklist, parse_target};

const BASE: u32 = 0xC633_6400; // 198.51.100.0
const SIZE: u32 = 256;

fn random_set(rng: &mut StdRng) -> (IntervalSet, Vec<bool>) {
    let mut bits = vec![false; SIZE as usize];
    let mut ranges = Vec::new();
    for _ in 0..rng.random_range(0..12) {
        let a = rng.random_range(0..SIZE);
        let b = rng.random_range(a..(a + 40).min(SIZE));
        ranges.push(Ipv4Range::new(BASE + a, BASE + b));
        for bit in &mut bits[a as usize..=b as usize] {
            *bit = true;
        }
    }
    (IntervalSet::from_ranges(ranges), bits)
}

fn check(set: &IntervalSet, bits: &[bool]) {
    assert_eq!(set.len(), bits.iter().filter(|&&b| b).count() as u64);
    for (i, &b) in bits.iter().enumerate() {
        assert_eq!(set.contains(BASE + i as u32), b, "offset {i}");
    }
    assert!(!set.contains(BASE - 1) && !set.contains(BASE + SIZE));
    // Normal form: sorted, non-empty, disjoint and not adjacent.
    for w in set.ranges().windows(2) {
        assert!(w[0].last + 1 < w[1].first, "{:?}", set.ranges());
    }
    assert!(set.ranges().iter().all(|r| r.first <= r.last));
}

#[test]
fn set_operations_match_bitmaps() {
    let mut rng = StdRng::seed_from_u64(1);
    for _ in 0..2000 {
        let (a, abits) = random_set(&mut rng);
        let (b, bbits) = random_set(&mut rng);
        check(&a, &abits);
        let zip = |f: fn(bool, bool) -> bool| -> Vec<bool> {
            abits.iter().zip(&bbits).map(|(&x, &y)| f(x, y)).collect()
        };
        check(&a.union(&b), &zip(|x, y| x || y));
        check(&a.subtract(&b), &zip(|x, y| x && !y));
        check(&a.intersect(&b), &zip(|x, y| x && y));
    }
}

#[test]
fn edges_of_the_address_space() {
    let all = IntervalSet::from_ranges([Ipv4Range::new(0, u32::MAX)]);
    assert_eq!(all.len(), 1 << 32);
    let ends = IntervalSet::from_ranges([Ipv4Range::single(0), Ipv4Range::single(u32::MAX)]);
    let middle = all.subtract(&ends);
    assert_eq!(middle.ranges(), &[Ipv4Range::new(1, u32::MAX - 1)]);
    assert_eq!(middle.union(&ends), all);
    assert!(all.subtract(&all).is_empty());
    // Adjacent ranges merge, including at u32::MAX; empty (reversed) ranges are ignored.
    let merged = IntervalSet::from_ranges([
        Ipv4Range::new(u32::MAX - 1, u32::MAX),
        Ipv4Range::new(10, 19),
        Ipv4Range::new(20, 30),
        Ipv4Range::new(5, 3),
        Ipv4Range::new(u32::MAX, u32::MAX),
        Ipv4Range::new(u32::MAX - 5, u32::MAX - 2),
    ]);
    assert_eq!(
        merged.ranges(),
        &[
            Ipv4Range::new(10, 30),
            Ipv4Range::new(u32::MAX - 5, u32::MAX)
        ]
    );
}

#[test]
fn default_blocklist_contents() {
    let bl = default_blocklist();
    let expect = [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
    ];
    let parsed: IntervalSet = expect.iter().map(|s| parse_target(s).unwrap()).collect();
    assert_eq!(bl, parsed);
    // 224/4 and 240/4 are adjacent and merge; 255.255.255.255 falls inside 240/4.
    assert_eq!(bl.ranges().len(), 14);
    let size: u64 = [24, 24, 22, 24, 16, 20, 8, 8, 8, 16, 17, 8, 8, 29]
        .iter()
        .map(|b| 1u64 << b)
        .sum();
    assert_eq!(bl.len(), size);
    for inside in [
        "198.18.0.1",
        "198.19.255.255",
        "192.0.2.7",
        "203.0.113.255",
        "0.0.0.0",
    ] {
        assert!(bl.contains(parse_target(inside).unwrap().first), "{inside}");
    }
    for outside in ["198.17.255.255", "198.20.0.0", "192.0.3.0", "203.0.114.0"] {
        assert!(
            !bl.contains(parse_target(outside).unwrap().first),
            "{outside}"
        );
    }
    assert_eq!(bl.ranges()[10].to_string(), "198.18.0.0/15");
    assert_eq!(Ipv4Range::new(1, 5).to_string(), "0.0.0.1-0.0.0.5");
}
