//! Probe hot paths: building SYN frames from the template (frames/s on one core), deriving
//! cookies, parsing + validating a SYN-ACK, and the pacer's per-call cost.
//!
//! Run: `cargo bench -p smtpsweep-benches --bench probe`

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smtpsweep_pacing::Pacer;
use smtpsweep_probe::{
    CookieKey, Cookies, SynTemplate, TemplateConfig, internet_checksum, parse_frame,
};

const US: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// Frames or cookies per benchmark iteration.
const BATCH: u32 = 1024;

fn template() -> SynTemplate {
    SynTemplate::new(&TemplateConfig {
        src_mac: [0x02, 0, 0, 0, 0, 1],
        dst_mac: [0x02, 0, 0, 0, 0, 2],
        src_ip: US,
        ttl: 64,
        window: 64240,
    })
}

fn cookies() -> Cookies {
    Cookies::new(CookieKey::from_bytes([0x42; 16]), 32768, 28232, 1)
}

/// Target number `i` inside 198.19.0.0/16.
fn target(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0xc613_0000 | (i & 0xffff))
}

fn bench_template(c: &mut Criterion) {
    let t = template();
    let mut g = c.benchmark_group("syn_template");
    g.throughput(Throughput::Elements(u64::from(BATCH)));
    // A TX-ring-like area of 1024 frame slots, written in turn.
    let mut ring = vec![0u8; 128 * BATCH as usize];
    let mut base = 0u32;
    g.bench_function("write", |b| {
        b.iter(|| {
            for (i, slot) in (0..BATCH).zip(ring.chunks_exact_mut(128)) {
                let n = base.wrapping_add(i);
                t.write(
                    slot,
                    target(n),
                    40000 + (n & 1023) as u16,
                    25,
                    n.wrapping_mul(2654435761),
                    n as u16,
                );
            }
            base = base.wrapping_add(BATCH);
            black_box(&ring);
        })
    });
    for slot in ring.chunks_exact_mut(128) {
        slot[..SynTemplate::FRAME_LEN].copy_from_slice(t.bytes());
    }
    g.bench_function("patch", |b| {
        b.iter(|| {
            for (i, slot) in (0..BATCH).zip(ring.chunks_exact_mut(128)) {
                let n = base.wrapping_add(i);
                t.patch(
                    slot,
                    target(n),
                    40000 + (n & 1023) as u16,
                    25,
                    n.wrapping_mul(2654435761),
                    n as u16,
                );
            }
            base = base.wrapping_add(BATCH);
            black_box(&ring);
        })
    });
    // Reference point: the same frames with both checksums recomputed in full.
    g.bench_function("write_full_checksum", |b| {
        b.iter(|| {
            for (i, slot) in (0..BATCH).zip(ring.chunks_exact_mut(128)) {
                let n = base.wrapping_add(i);
                let f = &mut slot[..SynTemplate::FRAME_LEN];
                f.copy_from_slice(t.bytes());
                f[30..34].copy_from_slice(&target(n).octets());
                f[34..36].copy_from_slice(&(40000 + (n & 1023) as u16).to_be_bytes());
                f[36..38].copy_from_slice(&25u16.to_be_bytes());
                f[38..42].copy_from_slice(&n.wrapping_mul(2654435761).to_be_bytes());
                f[18..20].copy_from_slice(&(n as u16).to_be_bytes());
                let ip = internet_checksum(&f[14..34]);
                f[24..26].copy_from_slice(&ip.to_be_bytes());
                let mut pseudo = [0u8; 52];
                pseudo[0..4].copy_from_slice(&f[26..30]);
                pseudo[4..8].copy_from_slice(&f[30..34]);
                pseudo[8..12].copy_from_slice(&[0, 6, 0, 40]);
                pseudo[12..52].copy_from_slice(&f[34..74]);
                let tcp = internet_checksum(&pseudo);
                f[50..52].copy_from_slice(&tcp.to_be_bytes());
            }
            base = base.wrapping_add(BATCH);
            black_box(&ring);
        })
    });
    g.finish();
}

fn bench_cookies(c: &mut Criterion) {
    let k = cookies();
    let t = template();
    let mut g = c.benchmark_group("cookies");
    g.throughput(Throughput::Elements(u64::from(BATCH)));
    g.bench_function("seq", |b| {
        b.iter(|| {
            let mut acc = 0u32;
            for i in 0..BATCH {
                acc ^= k.seq(US, black_box(target(i)), 40000, 25);
            }
            acc
        })
    });
    g.bench_function("source_port", |b| {
        b.iter(|| {
            let mut acc = 0u16;
            for i in 0..BATCH {
                acc ^= k.source_port(US, black_box(target(i)), 25, 0);
            }
            acc
        })
    });
    // Everything the sender does per probe: port, cookie, frame.
    let mut frame = [0u8; SynTemplate::FRAME_LEN];
    g.bench_function("probe_port_seq_write", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                let dst = black_box(target(i));
                let sport = k.source_port(US, dst, 25, 0);
                let seq = k.seq(US, dst, sport, 25);
                t.write(&mut frame, dst, sport, 25, seq, i as u16);
                black_box(&frame);
            }
        })
    });
    g.finish();
}

fn bench_parse(c: &mut Criterion) {
    let k = cookies();
    let dst = Ipv4Addr::new(198, 19, 4, 2);
    let sport = k.source_port(US, dst, 25, 0);
    let seq = k.seq(US, dst, sport, 25);
    // Turn our own SYN into the target's SYN-ACK: swap addresses and ports, set ack and flags,
    // and recompute the IPv4 checksum (parse_frame does not check TCP's).
    let mut f = [0u8; SynTemplate::FRAME_LEN];
    template().write(&mut f, dst, sport, 25, seq, 1);
    let (src, dsta) = (f[26..30].to_vec(), f[30..34].to_vec());
    f[26..30].copy_from_slice(&dsta);
    f[30..34].copy_from_slice(&src);
    f[34..36].copy_from_slice(&25u16.to_be_bytes());
    f[36..38].copy_from_slice(&sport.to_be_bytes());
    f[38..42].copy_from_slice(&0x1111_2222u32.to_be_bytes());
    f[42..46].copy_from_slice(&seq.wrapping_add(1).to_be_bytes());
    f[47] = 0x12;
    f[24..26].fill(0);
    let ip = internet_checksum(&f[14..34]);
    f[24..26].copy_from_slice(&ip.to_be_bytes());
    let r = parse_frame(&f).expect("valid SYN-ACK");
    assert!(k.validate(&r).is_some());

    let mut g = c.benchmark_group("receive");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_frame_validate_synack", |b| {
        b.iter(|| {
            let r = parse_frame(black_box(&f)).unwrap();
            k.validate(&r)
        })
    });
    g.bench_function("parse_frame_only", |b| {
        b.iter(|| parse_frame(black_box(&f)))
    });
    g.finish();
}

fn bench_pacer(c: &mut Criterion) {
    let mut g = c.benchmark_group("pacer");
    g.throughput(Throughput::Elements(1));
    let mut p = Pacer::new(3_000_000, 0);
    let mut now = 0u64;
    // One call per simulated 2 µs (about 6 packets each at 3 Mpps).
    g.bench_function("allow_3mpps", |b| {
        b.iter(|| {
            now += 2_000;
            p.allow(black_box(now), 64)
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_template,
    bench_cookies,
    bench_parse,
    bench_pacer
);
criterion_main!(benches);
