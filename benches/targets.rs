//! Target generation speed: next permutation index + `TargetSpace::get`, in
//! targets per second on one core, on a dense /8 and on a sparse allowlist of
//! ~10,000 scattered small ranges (both × 3 ports); plus `Permutation::new`.
//!
//! Run: `cargo bench -p smtpsweep-benches --bench targets`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use smtpsweep_targets::{
    IntervalSet, Ipv4Range, Permutation, PortSet, Subshard, TargetSpace, parse_target,
};

/// Targets generated per benchmark iteration.
const BATCH: u64 = 100_000;

/// Deterministic xorshift so the sparse allowlist is the same on every run.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Addresses stay inside 198.18.0.0/15 (benchmarking space) even though
/// nothing is sent: a dense /15 with 384 ports is as many targets as a /8
/// with 3 ports (50.3 M).
fn dense_space(_ports: &PortSet) -> TargetSpace {
    let allow = IntervalSet::from_ranges([parse_target("198.18.0.0/15").unwrap()]);
    TargetSpace::new(
        &allow,
        &IntervalSet::new(),
        &PortSet::parse("1-384").unwrap(),
    )
}

fn sparse_space(ports: &PortSet) -> TargetSpace {
    // 10,000 ranges of 1-4 addresses at random places in 198.18.0.0/15
    // (some touch and merge), with holes between them.
    let mut s = 0x2545_F491_4F6C_DD1D;
    let base = u32::from(std::net::Ipv4Addr::new(198, 18, 0, 0));
    let mut ranges: Vec<Ipv4Range> = Vec::with_capacity(10_000);
    while ranges.len() < 10_000 {
        let first = base + (xorshift(&mut s) % (1 << 17)) as u32;
        let len = 1 + (xorshift(&mut s) % 4) as u32;
        ranges.push(Ipv4Range::new(
            first,
            (first + len - 1).min(base + (1 << 17) - 1),
        ));
    }
    TargetSpace::new(
        &IntervalSet::from_ranges(ranges),
        &IntervalSet::new(),
        ports,
    )
}

/// The next index, restarting the walk when the permutation is exhausted.
#[inline(always)]
fn next_index(it: &mut Subshard, perm: &Permutation) -> u64 {
    match it.next() {
        Some(i) => i,
        None => {
            *it = perm.iter();
            it.next().expect("non-empty space")
        }
    }
}

fn target_generation(c: &mut Criterion) {
    let ports = PortSet::parse("25,465,587").unwrap();
    let mut group = c.benchmark_group("target_generation");
    group.throughput(Throughput::Elements(BATCH));
    for (name, space) in [
        ("dense_slash15_x384", dense_space(&ports)),
        ("sparse_10k_ranges_x3", sparse_space(&ports)),
    ] {
        eprintln!(
            "{name}: {} addresses in {} ranges, {} targets",
            space.addresses(),
            space.allowed().ranges().len(),
            space.len()
        );
        let perm = Permutation::new(space.len(), 0x5EED);

        // Full path: next permuted index + index → (address, port).
        let mut it = perm.iter();
        group.bench_function(format!("{name}/next+get"), |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    let index = next_index(&mut it, &perm);
                    black_box(space.get(index));
                }
            })
        });

        // The two halves separately.
        let mut it = perm.iter();
        group.bench_function(format!("{name}/next_only"), |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    black_box(next_index(&mut it, &perm));
                }
            })
        });
        let mut index = 0u64;
        let stride = space.len() / 3 + 7; // jumps around like the permutation does
        group.bench_function(format!("{name}/get_only"), |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    index = (index + stride) % space.len();
                    black_box(space.get(index));
                }
            })
        });
    }
    group.finish();
}

fn permutation_new(c: &mut Criterion) {
    let mut group = c.benchmark_group("permutation_new");
    for (name, n) in [
        ("2^34", 1u64 << 34),
        ("ipv4_x_3ports", (1u64 << 32) * 3),
        ("ipv4_x_65535ports", (1u64 << 32) * 65_535),
    ] {
        let mut seed = 0u64;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    seed += 1;
                    seed
                },
                |seed| black_box(Permutation::new(black_box(n), seed)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, target_generation, permutation_new);
criterion_main!(benches);
