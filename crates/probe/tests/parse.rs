//! parse_frame must reject malformed input with a ParseError and never panic.

mod common;

use std::net::Ipv4Addr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use smtpsweep_probe::{
    CookieKey, Cookies, Layer, ParseError, SynTemplate, TemplateConfig, internet_checksum,
    parse_frame,
};

const US: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
const TARGET: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 25);
const ROUTER: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);

fn synack() -> Vec<u8> {
    common::tcp_reply(TARGET, US, 25, 40000, 1, 2, 0x12, 64, 9, 1000)
}

fn icmp() -> Vec<u8> {
    let t = SynTemplate::new(&TemplateConfig {
        src_mac: common::OUR_MAC,
        dst_mac: common::TARGET_MAC,
        src_ip: US,
        ttl: 64,
        window: 1024,
    });
    let mut f = [0u8; SynTemplate::FRAME_LEN];
    t.write(&mut f, TARGET, 40000, 25, 77, 1);
    common::icmp_error(ROUTER, US, 3, 13, &f[14..14 + 28])
}

/// Recomputes the IPv4 header checksum after a test edits the header.
fn fix_ip_checksum(f: &mut [u8]) {
    let hl = usize::from(f[14] & 0xf) * 4;
    f[24] = 0;
    f[25] = 0;
    let c = internet_checksum(&f[14..14 + hl]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
}

#[test]
fn every_truncation_is_an_error() {
    for full in [synack(), icmp()] {
        assert!(parse_frame(&full).is_ok());
        for len in 0..full.len() {
            let e = parse_frame(&full[..len]).unwrap_err();
            assert!(matches!(e, ParseError::Truncated(_)), "len {len}: {e}");
            if len < 14 {
                assert_eq!(e, ParseError::Truncated(Layer::Ethernet));
            }
        }
    }
}

#[test]
fn ethernet_padding_is_ignored() {
    let mut f = synack();
    let r = parse_frame(&f).unwrap();
    f.extend_from_slice(&[0xaa; 6]);
    assert_eq!(parse_frame(&f).unwrap(), r);
}

#[test]
fn header_field_errors() {
    let base = synack();

    let mut f = base.clone();
    f[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    assert_eq!(parse_frame(&f), Err(ParseError::NotIpv4(0x86dd)));

    let mut f = base.clone();
    f[14] = 0x65;
    fix_ip_checksum(&mut f);
    assert_eq!(parse_frame(&f), Err(ParseError::BadVersion(6)));

    for ihl in 0..5u8 {
        let mut f = base.clone();
        f[14] = 0x40 | ihl;
        assert_eq!(
            parse_frame(&f),
            Err(ParseError::BadHeaderLen(usize::from(ihl) * 4))
        );
    }

    let mut f = base.clone();
    f[14] = 0x46; // 24-byte header, longer than the total length
    f[16..18].copy_from_slice(&23u16.to_be_bytes());
    fix_ip_checksum(&mut f);
    assert_eq!(parse_frame(&f), Err(ParseError::BadTotalLen(23)));

    let mut f = base.clone();
    f[14] = 0x4f; // 60-byte header, past the end of the buffer
    assert_eq!(parse_frame(&f), Err(ParseError::Truncated(Layer::Ipv4)));

    let mut f = base.clone();
    f[16..18].copy_from_slice(&19u16.to_be_bytes());
    fix_ip_checksum(&mut f);
    assert_eq!(parse_frame(&f), Err(ParseError::BadTotalLen(19)));

    let mut f = base.clone();
    f[16..18].copy_from_slice(&1500u16.to_be_bytes());
    fix_ip_checksum(&mut f);
    assert_eq!(parse_frame(&f), Err(ParseError::Truncated(Layer::Ipv4)));

    for frag in [0x2000u16, 0x0001, 0x1fff, 0x6000 | 0x0010] {
        let mut f = base.clone();
        f[20..22].copy_from_slice(&frag.to_be_bytes());
        fix_ip_checksum(&mut f);
        assert_eq!(parse_frame(&f), Err(ParseError::Fragment), "frag {frag:#x}");
    }

    for at in [15, 18, 22, 26, 30, 33] {
        let mut f = base.clone();
        f[at] ^= 0x40;
        assert_eq!(parse_frame(&f), Err(ParseError::BadChecksum), "byte {at}");
    }

    let mut f = base.clone();
    f[23] = 17;
    fix_ip_checksum(&mut f);
    assert_eq!(parse_frame(&f), Err(ParseError::UnsupportedProtocol(17)));

    for off in 0..5u8 {
        let mut f = base.clone();
        f[14 + 20 + 12] = off << 4;
        assert_eq!(
            parse_frame(&f),
            Err(ParseError::BadTcpHeaderLen(usize::from(off) * 4))
        );
    }
    let mut f = base.clone();
    f[14 + 20 + 12] = 0xf0; // 60-byte TCP header in a 32-byte segment
    assert_eq!(parse_frame(&f), Err(ParseError::Truncated(Layer::Tcp)));
}

#[test]
fn ip_options_are_skipped() {
    // Rebuild the SYN-ACK with 8 bytes of IPv4 options (NOPs + EOL) and a correct checksum.
    let base = synack();
    let mut f = base[..34].to_vec();
    f.extend_from_slice(&[1, 1, 1, 1, 1, 1, 1, 0]);
    f.extend_from_slice(&base[34..]);
    f[14] = 0x47;
    let total = (f.len() - 14) as u16;
    f[16..18].copy_from_slice(&total.to_be_bytes());
    fix_ip_checksum(&mut f);
    assert_eq!(parse_frame(&f).unwrap(), parse_frame(&base).unwrap());
}

#[test]
fn error_messages_are_one_line() {
    let errors = [
        ParseError::Truncated(Layer::QuotedTcp),
        ParseError::NotIpv4(0x0806),
        ParseError::BadVersion(6),
        ParseError::BadHeaderLen(16),
        ParseError::BadTotalLen(3),
        ParseError::Fragment,
        ParseError::BadChecksum,
        ParseError::BadTcpHeaderLen(8),
        ParseError::UnsupportedProtocol(17),
        ParseError::UnsupportedIcmp(11),
        ParseError::QuoteNotTcp,
    ];
    for e in errors {
        let s = e.to_string();
        assert!(!s.is_empty() && !s.contains('\n'), "{s:?}");
    }
    assert_eq!(
        ParseError::NotIpv4(0x0806).to_string(),
        "not an IPv4 frame (ethertype 0x0806)"
    );
    assert_eq!(
        ParseError::Truncated(Layer::QuotedTcp).to_string(),
        "truncated TCP header quoted in ICMP"
    );
}

#[test]
fn random_garbage_never_panics_or_validates() {
    let c = Cookies::new(CookieKey::from_bytes([3; 16]), 32768, 28232, 1);
    let mut rng = StdRng::seed_from_u64(99);
    let mut buf = [0u8; 200];
    let mut parsed = 0;
    for _ in 0..200_000 {
        let len = rng.random_range(0..buf.len());
        rng.fill(&mut buf[..len]);
        // Make a good share of inputs reach deep layers: IPv4 ethertype, IHL 5, TCP or ICMP.
        if len > 24 && rng.random_bool(0.7) {
            buf[12] = 0x08;
            buf[13] = 0x00;
            buf[14] = 0x45;
            buf[20] &= 0x80;
            buf[21] = 0;
            buf[23] = if rng.random_bool(0.5) { 6 } else { 1 };
            if len > 34 && rng.random_bool(0.8) {
                let total = rng.random_range(20..=(len - 14)) as u16;
                buf[16..18].copy_from_slice(&total.to_be_bytes());
                fix_ip_checksum(&mut buf[..len]);
            }
        }
        if let Ok(r) = parse_frame(&buf[..len]) {
            parsed += 1;
            assert_eq!(
                c.validate(&r),
                None,
                "garbage passed the cookie check: {r:?}"
            );
        }
    }
    assert!(
        parsed > 10_000,
        "the generator should reach the TCP/ICMP parsers ({parsed})"
    );
}

#[test]
fn bit_flips_of_valid_frames_never_panic() {
    let mut rng = StdRng::seed_from_u64(7);
    for base in [synack(), icmp()] {
        for _ in 0..50_000 {
            let mut f = base.clone();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..f.len());
                f[i] ^= 1 << rng.random_range(0..8);
            }
            let len = rng.random_range(0..=f.len());
            let _ = parse_frame(&f[..len]);
        }
    }
}
