//! Template-built SYN frames must be byte-equal to frames built field by field with pnet.

mod common;

use std::net::Ipv4Addr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use smtpsweep_probe::{SynTemplate, TemplateConfig, parse_frame, wire};

fn random_cfg(rng: &mut StdRng) -> TemplateConfig {
    let mut src_mac: [u8; 6] = rng.random();
    src_mac[0] = (src_mac[0] & 0xfe) | 0x02; // locally administered unicast
    let mut dst_mac: [u8; 6] = rng.random();
    dst_mac[0] = (dst_mac[0] & 0xfe) | 0x02;
    TemplateConfig {
        src_mac,
        dst_mac,
        // Anywhere in 198.18.0.0/15.
        src_ip: Ipv4Addr::from(0xc612_0000u32 | (rng.random::<u32>() & 0x1_ffff)),
        ttl: rng.random(),
        window: rng.random(),
    }
}

fn random_target(rng: &mut StdRng) -> Ipv4Addr {
    match rng.random_range(0..4) {
        0 => Ipv4Addr::new(192, 0, 2, rng.random()),
        1 => Ipv4Addr::new(198, 51, 100, rng.random()),
        2 => Ipv4Addr::new(203, 0, 113, rng.random()),
        _ => Ipv4Addr::from(0xc612_0000u32 | (rng.random::<u32>() & 0x1_ffff)),
    }
}

#[test]
fn write_matches_pnet_for_random_fields() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0001);
    let mut buf = [0u8; 2048];
    for _ in 0..64 {
        let cfg = random_cfg(&mut rng);
        let t = SynTemplate::new(&cfg);
        for _ in 0..200 {
            let dst = random_target(&mut rng);
            let (sport, dport, seq, id) = (rng.random(), rng.random(), rng.random(), rng.random());
            // Dirty the buffer so stale bytes would show.
            rng.fill(&mut buf[..]);
            let n = t.write(&mut buf, dst, sport, dport, seq, id);
            let reference = common::syn_probe(
                cfg.src_mac,
                cfg.dst_mac,
                cfg.src_ip,
                cfg.ttl,
                cfg.window,
                dst,
                sport,
                dport,
                seq,
                id,
            );
            assert_eq!(n, SynTemplate::FRAME_LEN);
            assert_eq!(reference.len(), SynTemplate::FRAME_LEN);
            assert_eq!(
                &buf[..n],
                &reference[..],
                "dst {dst} sport {sport} dport {dport} seq {seq:#x} id {id:#x}"
            );
        }
    }
}

#[test]
fn patch_on_reused_slot_matches_pnet() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0002);
    let cfg = random_cfg(&mut rng);
    let t = SynTemplate::new(&cfg);
    let mut slot = [0u8; SynTemplate::FRAME_LEN];
    slot.copy_from_slice(t.bytes());
    for _ in 0..5000 {
        let dst = random_target(&mut rng);
        let (sport, dport, seq, id) = (rng.random(), rng.random(), rng.random(), rng.random());
        assert_eq!(
            t.patch(&mut slot, dst, sport, dport, seq, id),
            SynTemplate::FRAME_LEN
        );
        let reference = common::syn_probe(
            cfg.src_mac,
            cfg.dst_mac,
            cfg.src_ip,
            cfg.ttl,
            cfg.window,
            dst,
            sport,
            dport,
            seq,
            id,
        );
        assert_eq!(&slot[..], &reference[..]);
    }
}

#[test]
fn checksum_corner_values_match_pnet() {
    // Sweep the low sequence word and the IP ID through all 65536 values so both checksums pass
    // through every value, including 0x0000 (folded sum 0xffff) and the end-around carries.
    let mut rng = StdRng::seed_from_u64(0x5eed_0003);
    let cfg = TemplateConfig {
        src_mac: [0x02, 0, 0, 0, 0, 1],
        dst_mac: [0x02, 0, 0, 0, 0, 2],
        src_ip: Ipv4Addr::new(198, 19, 255, 255),
        ttl: 255,
        window: 0xffff,
    };
    let t = SynTemplate::new(&cfg);
    let mut buf = [0u8; SynTemplate::FRAME_LEN];
    for _ in 0..3 {
        let dst = Ipv4Addr::new(198, 19, 255, rng.random());
        let sport = 0xffff - rng.random_range(0..4u16);
        let dport = 0xffff - rng.random_range(0..4u16);
        let seq_hi = 0xffff - rng.random_range(0..4u32);
        let (mut zero_tcp, mut zero_ip) = (false, false);
        for low in 0..=0xffffu32 {
            let (seq, id) = ((seq_hi << 16) | low, low as u16);
            t.write(&mut buf, dst, sport, dport, seq, id);
            let ip_csum = u16::from_be_bytes([buf[24], buf[25]]);
            let tcp_csum = u16::from_be_bytes([buf[50], buf[51]]);
            zero_ip |= ip_csum == 0;
            zero_tcp |= tcp_csum == 0;
            if ip_csum == 0 || tcp_csum == 0 || low % 251 == 0 {
                let reference = common::syn_probe(
                    cfg.src_mac,
                    cfg.dst_mac,
                    cfg.src_ip,
                    cfg.ttl,
                    cfg.window,
                    dst,
                    sport,
                    dport,
                    seq,
                    id,
                );
                assert_eq!(
                    &buf[..],
                    &reference[..],
                    "ip {ip_csum:#06x} tcp {tcp_csum:#06x}"
                );
            }
        }
        assert!(
            zero_ip && zero_tcp,
            "the sweep passes through checksum 0x0000"
        );
    }
}

#[test]
fn template_frames_parse_back_with_valid_checksums() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0004);
    let cfg = random_cfg(&mut rng);
    let t = SynTemplate::new(&cfg);
    let mut buf = [0u8; SynTemplate::FRAME_LEN];
    for _ in 0..1000 {
        let dst = random_target(&mut rng);
        let (sport, dport, seq, id) = (rng.random(), rng.random(), rng.random(), rng.random());
        t.write(&mut buf, dst, sport, dport, seq, id);
        // Our own parser sees the SYN as "other TCP" with the fields we wrote.
        let r = parse_frame(&buf).unwrap();
        assert_eq!(
            (r.saddr, r.daddr, r.sport, r.dport),
            (cfg.src_ip, dst, sport, dport)
        );
        assert_eq!(
            (r.seq, r.ipid, r.ttl, r.window, r.tcp_flags),
            (seq, id, cfg.ttl, cfg.window, 0x02)
        );
        let ip = wire::Ipv4Packet::new_checked(&buf[14..]).unwrap();
        assert!(ip.dont_frag());
        let tcp = wire::TcpPacket::new_checked(ip.payload()).unwrap();
        assert!(tcp.verify_checksum(cfg.src_ip, dst));
        assert_eq!(
            tcp.options(),
            &[
                2, 4, 5, 180, 4, 2, 8, 10, 0x2a, 0x5f, 0x1c, 0x03, 0, 0, 0, 0, 1, 3, 3, 7
            ]
        );
    }
}
