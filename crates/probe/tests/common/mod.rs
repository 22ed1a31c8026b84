//! Frames built field by field with pnet, with checksums computed by pnet, as an independent
//! reference for the template and the parser.
#![allow(dead_code)]

use std::net::Ipv4Addr;

use pnet_base::MacAddr;
use pnet_packet::ethernet::{EtherTypes, MutableEthernetPacket};
use pnet_packet::icmp::{self, IcmpCode, IcmpPacket, IcmpType, MutableIcmpPacket};
use pnet_packet::ip::{IpNextHeaderProtocol, IpNextHeaderProtocols};
use pnet_packet::ipv4::{self, Ipv4Flags, MutableIpv4Packet};
use pnet_packet::tcp::{self, MutableTcpPacket, TcpOption};
use smtpsweep_probe::Mac;

pub fn mac(m: Mac) -> MacAddr {
    MacAddr(m[0], m[1], m[2], m[3], m[4], m[5])
}

/// Ethernet header + the given IPv4 packet.
pub fn ethernet(dst: Mac, src: Mac, ip: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 14 + ip.len()];
    let mut eth = MutableEthernetPacket::new(&mut buf).unwrap();
    eth.set_destination(mac(dst));
    eth.set_source(mac(src));
    eth.set_ethertype(EtherTypes::Ipv4);
    eth.set_payload(ip);
    buf
}

/// Fields of an IPv4 header.
pub struct Ip {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub id: u16,
    pub flags: u8,
    pub proto: IpNextHeaderProtocol,
}

/// An IPv4 packet (IHL 5) around `payload`, checksum by pnet.
pub fn ipv4(h: &Ip, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 20 + payload.len()];
    let mut ip = MutableIpv4Packet::new(&mut buf).unwrap();
    ip.set_version(4);
    ip.set_header_length(5);
    ip.set_dscp(0);
    ip.set_ecn(0);
    ip.set_total_length((20 + payload.len()) as u16);
    ip.set_identification(h.id);
    ip.set_flags(h.flags);
    ip.set_fragment_offset(0);
    ip.set_ttl(h.ttl);
    ip.set_next_level_protocol(h.proto);
    ip.set_source(h.src);
    ip.set_destination(h.dst);
    ip.set_payload(payload);
    let c = ipv4::checksum(&ip.to_immutable());
    ip.set_checksum(c);
    buf
}

/// Fields of a TCP header.
pub struct Tcp {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub options: Vec<TcpOption>,
}

/// A TCP segment from `src` to `dst`, checksum by pnet.
pub fn tcp(src: Ipv4Addr, dst: Ipv4Addr, t: &Tcp) -> Vec<u8> {
    let opt_len: usize = t
        .options
        .iter()
        .map(tcp::TcpOptionPacket::packet_size)
        .sum();
    let hl = 20 + opt_len.div_ceil(4) * 4;
    let mut buf = vec![0u8; hl];
    let mut p = MutableTcpPacket::new(&mut buf).unwrap();
    p.set_source(t.sport);
    p.set_destination(t.dport);
    p.set_sequence(t.seq);
    p.set_acknowledgement(t.ack);
    p.set_data_offset((hl / 4) as u8);
    p.set_reserved(0);
    p.set_flags(t.flags);
    p.set_window(t.window);
    p.set_urgent_ptr(0);
    p.set_options(&t.options);
    let c = tcp::ipv4_checksum(&p.to_immutable(), &src, &dst);
    p.set_checksum(c);
    buf
}

/// The SYN probe smtpsweep's template is meant to produce, built field by field.
#[allow(clippy::too_many_arguments)]
pub fn syn_probe(
    src_mac: Mac,
    dst_mac: Mac,
    src: Ipv4Addr,
    ttl: u8,
    window: u16,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    seq: u32,
    id: u16,
) -> Vec<u8> {
    let seg = tcp(
        src,
        dst,
        &Tcp {
            sport,
            dport,
            seq,
            ack: 0,
            flags: tcp::TcpFlags::SYN,
            window,
            options: vec![
                TcpOption::mss(1460),
                TcpOption::sack_perm(),
                TcpOption::timestamp(smtpsweep_probe::SYN_TSVAL, 0),
                TcpOption::nop(),
                TcpOption::wscale(7),
            ],
        },
    );
    let ip = ipv4(
        &Ip {
            src,
            dst,
            ttl,
            id,
            flags: Ipv4Flags::DontFragment,
            proto: IpNextHeaderProtocols::Tcp,
        },
        &seg,
    );
    ethernet(dst_mac, src_mac, &ip)
}

pub const TARGET_MAC: Mac = [0x02, 0x42, 0xc6, 0x13, 0x00, 0x02];
pub const OUR_MAC: Mac = [0x02, 0x42, 0xc6, 0x12, 0x00, 0x01];

/// A TCP reply `target:tport -> us:our_port` with the given flags/seq/ack.
#[allow(clippy::too_many_arguments)]
pub fn tcp_reply(
    target: Ipv4Addr,
    us: Ipv4Addr,
    tport: u16,
    our_port: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    ttl: u8,
    id: u16,
    window: u16,
) -> Vec<u8> {
    let options = if flags & tcp::TcpFlags::SYN != 0 {
        vec![TcpOption::mss(1400), TcpOption::nop(), TcpOption::wscale(9)]
    } else {
        Vec::new()
    };
    let seg = tcp(
        target,
        us,
        &Tcp {
            sport: tport,
            dport: our_port,
            seq,
            ack,
            flags,
            window,
            options,
        },
    );
    let ip = ipv4(
        &Ip {
            src: target,
            dst: us,
            ttl,
            id,
            flags: Ipv4Flags::DontFragment,
            proto: IpNextHeaderProtocols::Tcp,
        },
        &seg,
    );
    ethernet(OUR_MAC, TARGET_MAC, &ip)
}

/// An ICMP error from `responder` to `us` quoting `quote` (an IPv4 packet prefix).
pub fn icmp_error(responder: Ipv4Addr, us: Ipv4Addr, ty: u8, code: u8, quote: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 8 + quote.len()];
    let mut p = MutableIcmpPacket::new(&mut buf).unwrap();
    p.set_icmp_type(IcmpType(ty));
    p.set_icmp_code(IcmpCode(code));
    p.set_payload(&{
        let mut rest = vec![0u8; 4];
        rest.extend_from_slice(quote);
        rest
    });
    let c = icmp::checksum(&IcmpPacket::new(&buf).unwrap());
    MutableIcmpPacket::new(&mut buf).unwrap().set_checksum(c);
    let ip = ipv4(
        &Ip {
            src: responder,
            dst: us,
            ttl: 250,
            id: 0xbeef,
            flags: 0,
            proto: IpNextHeaderProtocols::Icmp,
        },
        &buf,
    );
    ethernet(OUR_MAC, TARGET_MAC, &ip)
}
