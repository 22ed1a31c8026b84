//! End-to-end cookie checks: probes from the template, replies built with pnet, parsed and
//! validated.

mod common;

use std::net::Ipv4Addr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use smtpsweep_probe::{
    Classification, CookieKey, Cookies, ParseError, ResponseKind, SynTemplate, TemplateConfig,
    parse_frame,
};

const US: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
const ROUTER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const SYN_ACK: u8 = 0x12;
const RST: u8 = 0x04;
const RST_ACK: u8 = 0x14;
const ACK: u8 = 0x10;

fn cookies(key: u8, probes: u8) -> Cookies {
    Cookies::new(CookieKey::from_bytes([key; 16]), 32768, 28232, probes)
}

fn template() -> SynTemplate {
    SynTemplate::new(&TemplateConfig {
        src_mac: common::OUR_MAC,
        dst_mac: common::TARGET_MAC,
        src_ip: US,
        ttl: 64,
        window: 64240,
    })
}

fn target(rng: &mut StdRng) -> (Ipv4Addr, u16) {
    let ip = Ipv4Addr::from(0xc613_0000u32 | (rng.random::<u32>() & 0xffff));
    (ip, [25, 465, 587][rng.random_range(0..3)])
}

/// What the scanner sends for probe `p` to `dst:dport`.
struct Probe {
    sport: u16,
    seq: u32,
}

fn probe(c: &Cookies, dst: Ipv4Addr, dport: u16, p: u8) -> Probe {
    let sport = c.source_port(US, dst, dport, p);
    Probe {
        sport,
        seq: c.seq(US, dst, sport, dport),
    }
}

fn reply(dst: Ipv4Addr, dport: u16, our_port: u16, ack: u32, flags: u8) -> Vec<u8> {
    common::tcp_reply(
        dst,
        US,
        dport,
        our_port,
        0x1234_5678,
        ack,
        flags,
        57,
        4242,
        29200,
    )
}

#[test]
fn genuine_synack_is_accepted_with_its_fields() {
    let c = cookies(1, 1);
    let mut rng = StdRng::seed_from_u64(1);
    for _ in 0..2000 {
        let (dst, dport) = target(&mut rng);
        let p = probe(&c, dst, dport, 0);
        let f = reply(dst, dport, p.sport, p.seq.wrapping_add(1), SYN_ACK);
        let r = parse_frame(&f).unwrap();
        assert_eq!(r.kind, ResponseKind::SynAck);
        assert_eq!(
            (r.saddr, r.sport, r.daddr, r.dport),
            (dst, dport, US, p.sport)
        );
        assert_eq!(
            (r.ttl, r.ipid, r.window, r.seq),
            (57, 4242, 29200, 0x1234_5678)
        );
        assert_eq!(r.icmp, None);
        assert_eq!(c.validate(&r), Some(Classification::SynAck));
    }
}

#[test]
fn forged_acks_are_rejected() {
    let c = cookies(3, 1);
    let mut rng = StdRng::seed_from_u64(3);
    for _ in 0..2000 {
        let (dst, dport) = target(&mut rng);
        let p = probe(&c, dst, dport, 0);
        let mut bad = vec![
            p.seq,
            p.seq.wrapping_add(2),
            p.seq.wrapping_sub(1),
            !p.seq,
            0,
        ];
        bad.push(rng.random());
        for ack in bad {
            if ack == p.seq.wrapping_add(1) {
                continue;
            }
            let r = parse_frame(&reply(dst, dport, p.sport, ack, SYN_ACK)).unwrap();
            assert_eq!(
                c.validate(&r),
                None,
                "SYN-ACK ack {ack:#x} for seq {:#x}",
                p.seq
            );
        }
    }
}

#[test]
fn stray_ports_are_rejected() {
    let c = cookies(4, 2);
    let mut rng = StdRng::seed_from_u64(4);
    for _ in 0..1000 {
        let (dst, dport) = target(&mut rng);
        let p0 = probe(&c, dst, dport, 0);
        // A reply aimed at a port we never used for this target, but carrying that port's
        // correct cookie (so only the port check can reject it).
        let stray = c.source_port(US, dst, dport, 2);
        let seq = c.seq(US, dst, stray, dport);
        let r = parse_frame(&reply(dst, dport, stray, seq.wrapping_add(1), SYN_ACK)).unwrap();
        assert_eq!(c.validate(&r), None, "third port with only two probes");
        // Outside the source port range altogether.
        for out in [32767u16, 61000, 1024] {
            let seq = c.seq(US, dst, out, dport);
            let r = parse_frame(&reply(dst, dport, out, seq.wrapping_add(1), SYN_ACK)).unwrap();
            assert_eq!(c.validate(&r), None, "port {out} out of range");
        }
        // The right cookie, but from another target port than the one probed.
        let r = parse_frame(&reply(
            dst,
            dport ^ 1,
            p0.sport,
            p0.seq.wrapping_add(1),
            SYN_ACK,
        ))
        .unwrap();
        assert_eq!(c.validate(&r), None);
        // Or from another address.
        let other = Ipv4Addr::from(u32::from(dst) ^ 1);
        let r = common::tcp_reply(
            other,
            US,
            dport,
            p0.sport,
            1,
            p0.seq.wrapping_add(1),
            SYN_ACK,
            64,
            1,
            1,
        );
        assert_eq!(c.validate(&parse_frame(&r).unwrap()), None);
    }
}

#[test]
fn every_probe_port_validates() {
    let c = cookies(5, 3);
    let mut rng = StdRng::seed_from_u64(5);
    for _ in 0..500 {
        let (dst, dport) = target(&mut rng);
        for n in 0..3 {
            let p = probe(&c, dst, dport, n);
            let r =
                parse_frame(&reply(dst, dport, p.sport, p.seq.wrapping_add(1), SYN_ACK)).unwrap();
            assert_eq!(c.validate(&r), Some(Classification::SynAck), "probe {n}");
        }
    }
}

#[test]
fn stale_key_is_rejected() {
    let old = cookies(6, 1);
    let new = cookies(7, 1);
    let mut rng = StdRng::seed_from_u64(6);
    let mut rejected = 0;
    let total = 2000;
    for _ in 0..total {
        let (dst, dport) = target(&mut rng);
        let p = probe(&old, dst, dport, 0);
        for (flags, ack) in [(SYN_ACK, p.seq.wrapping_add(1)), (RST, p.seq)] {
            let r = parse_frame(&reply(dst, dport, p.sport, ack, flags)).unwrap();
            assert!(old.validate(&r).is_some());
            if new.validate(&r).is_none() {
                rejected += 1;
            }
        }
    }
    // A stale reply passes only if a 32-bit cookie collides (and the port matches).
    assert_eq!(rejected, 2 * total);
}

#[test]
fn rst_accepts_cookie_and_cookie_plus_one_only() {
    let c = cookies(8, 1);
    let mut rng = StdRng::seed_from_u64(8);
    for _ in 0..1000 {
        let (dst, dport) = target(&mut rng);
        let p = probe(&c, dst, dport, 0);
        for flags in [RST, RST_ACK] {
            for (ack, ok) in [
                (p.seq, true),
                (p.seq.wrapping_add(1), true),
                (p.seq.wrapping_add(2), false),
                (p.seq.wrapping_sub(1), false),
                (rng.random(), false),
            ] {
                let r = parse_frame(&reply(dst, dport, p.sport, ack, flags)).unwrap();
                assert_eq!(r.kind, ResponseKind::Rst);
                let want = (ok || ack == p.seq || ack == p.seq.wrapping_add(1))
                    .then_some(Classification::Rst);
                assert_eq!(
                    c.validate(&r),
                    want,
                    "flags {flags:#x} ack offset {}",
                    ack.wrapping_sub(p.seq)
                );
            }
        }
    }
}

#[test]
fn other_tcp_is_never_valid() {
    let c = cookies(9, 1);
    let dst = Ipv4Addr::new(198, 19, 2, 2);
    let p = probe(&c, dst, 25, 0);
    for flags in [ACK, 0x02, 0x18, 0x11, 0x00] {
        let r = parse_frame(&reply(dst, 25, p.sport, p.seq.wrapping_add(1), flags)).unwrap();
        assert_eq!(r.kind, ResponseKind::OtherTcp, "flags {flags:#x}");
        assert_eq!(c.validate(&r), None);
    }
    // SYN+ACK+RST counts as RST (ZMap checks RST first).
    let r = parse_frame(&reply(dst, 25, p.sport, p.seq, SYN_ACK | RST)).unwrap();
    assert_eq!(c.validate(&r), Some(Classification::Rst));
}

#[test]
fn icmp_unreachable_validates_the_quoted_probe() {
    let c = cookies(10, 1);
    let t = template();
    let mut rng = StdRng::seed_from_u64(10);
    let mut frame = [0u8; SynTemplate::FRAME_LEN];
    for _ in 0..1000 {
        let (dst, dport) = target(&mut rng);
        let p = probe(&c, dst, dport, 0);
        t.write(&mut frame, dst, p.sport, dport, p.seq, rng.random());
        let ip = &frame[14..];
        let code = [0u8, 1, 3, 9, 10, 13][rng.random_range(0..6)];
        // Routers quote the IP header plus 8 bytes (RFC 792) or more (RFC 1812, Linux).
        for quote_len in [28, 40, ip.len()] {
            let f = common::icmp_error(ROUTER, US, 3, code, &ip[..quote_len]);
            let r = parse_frame(&f).unwrap();
            assert_eq!(r.kind, ResponseKind::IcmpUnreach);
            assert_eq!(
                (r.saddr, r.sport, r.daddr, r.dport),
                (dst, dport, US, p.sport)
            );
            let info = r.icmp.unwrap();
            assert_eq!(
                (info.responder, info.icmp_type, info.code),
                (ROUTER, 3, code)
            );
            assert_eq!((r.ttl, r.ipid, r.seq), (250, 0xbeef, p.seq));
            assert_eq!(c.validate(&r), Some(Classification::IcmpUnreach));
            // Stale key.
            assert_eq!(cookies(11, 1).validate(&r), None);
        }
        // A quote of a probe we did not send (wrong sequence number).
        let mut forged = frame;
        forged[14 + 20 + 7] ^= 0x01;
        let r = parse_frame(&common::icmp_error(ROUTER, US, 3, 1, &forged[14..14 + 28])).unwrap();
        assert_eq!(c.validate(&r), None);
        // A quote with the right seq but another source port.
        let mut moved = frame;
        moved[14 + 20..14 + 22].copy_from_slice(&p.sport.wrapping_add(1).to_be_bytes());
        let r = parse_frame(&common::icmp_error(ROUTER, US, 3, 1, &moved[14..14 + 28])).unwrap();
        assert_eq!(c.validate(&r), None);
    }
}

#[test]
fn icmp_other_types_and_bad_quotes_are_errors() {
    let c = cookies(12, 1);
    let t = template();
    let dst = Ipv4Addr::new(198, 19, 3, 3);
    let p = probe(&c, dst, 465, 0);
    let mut frame = [0u8; SynTemplate::FRAME_LEN];
    t.write(&mut frame, dst, p.sport, 465, p.seq, 7);
    let ip = &frame[14..];
    for ty in [0u8, 4, 5, 11, 12] {
        let f = common::icmp_error(ROUTER, US, ty, 0, &ip[..28]);
        assert_eq!(parse_frame(&f), Err(ParseError::UnsupportedIcmp(ty)));
    }
    for quote_len in 0..28 {
        let f = common::icmp_error(ROUTER, US, 3, 1, &ip[..quote_len]);
        assert!(
            matches!(parse_frame(&f), Err(ParseError::Truncated(_))),
            "quote of {quote_len} bytes"
        );
    }
    let mut udp = ip[..28].to_vec();
    udp[9] = 17;
    assert_eq!(
        parse_frame(&common::icmp_error(ROUTER, US, 3, 3, &udp)),
        Err(ParseError::QuoteNotTcp)
    );
    let mut v6 = ip[..28].to_vec();
    v6[0] = 0x65;
    assert_eq!(
        parse_frame(&common::icmp_error(ROUTER, US, 3, 3, &v6)),
        Err(ParseError::QuoteNotTcp)
    );
}
