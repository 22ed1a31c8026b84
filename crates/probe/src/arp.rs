//! ARP request/reply frames for resolving the gateway's MAC address.

use std::net::Ipv4Addr;

use crate::wire::{ETHERTYPE_ARP, ETHERTYPE_IPV4, EthernetFrame};
use crate::{BROADCAST_MAC, Mac};

/// Length of an ARP frame for Ethernet/IPv4 (14 + 28), without padding.
pub const ARP_FRAME_LEN: usize = 14 + 28;

const OP_REQUEST: u16 = 1;
const OP_REPLY: u16 = 2;

/// Writes an ARP frame; `buf` has been checked to hold `ARP_FRAME_LEN` bytes.
fn write_arp(
    buf: &mut [u8],
    eth_dst: Mac,
    op: u16,
    sha: Mac,
    spa: Ipv4Addr,
    tha: Mac,
    tpa: Ipv4Addr,
) {
    buf[0..6].copy_from_slice(&eth_dst);
    buf[6..12].copy_from_slice(&sha);
    buf[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    let a = &mut buf[14..ARP_FRAME_LEN];
    a[0..2].copy_from_slice(&1u16.to_be_bytes()); // hardware type: Ethernet
    a[2..4].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes()); // protocol type: IPv4
    a[4] = 6;
    a[5] = 4;
    a[6..8].copy_from_slice(&op.to_be_bytes());
    a[8..14].copy_from_slice(&sha);
    a[14..18].copy_from_slice(&spa.octets());
    a[18..24].copy_from_slice(&tha);
    a[24..28].copy_from_slice(&tpa.octets());
}

/// Writes a broadcast ARP request "who has `target_ip`? tell `src_ip`" into `buf` and returns
/// [`ARP_FRAME_LEN`] (the NIC pads it to the Ethernet minimum).
///
/// Returns 0 and writes nothing when `buf` is shorter than [`ARP_FRAME_LEN`].
pub fn write_arp_request(
    buf: &mut [u8],
    src_mac: Mac,
    src_ip: Ipv4Addr,
    target_ip: Ipv4Addr,
) -> usize {
    if buf.len() < ARP_FRAME_LEN {
        return 0;
    }
    write_arp(
        buf,
        BROADCAST_MAC,
        OP_REQUEST,
        src_mac,
        src_ip,
        [0; 6],
        target_ip,
    );
    ARP_FRAME_LEN
}

/// Writes a unicast ARP reply "`src_ip` is at `src_mac`" to `dst_mac`/`dst_ip` (for test peers
/// and fakes) and returns [`ARP_FRAME_LEN`], or 0 when `buf` is too short.
pub fn write_arp_reply(
    buf: &mut [u8],
    src_mac: Mac,
    src_ip: Ipv4Addr,
    dst_mac: Mac,
    dst_ip: Ipv4Addr,
) -> usize {
    if buf.len() < ARP_FRAME_LEN {
        return 0;
    }
    write_arp(buf, dst_mac, OP_REPLY, src_mac, src_ip, dst_mac, dst_ip);
    ARP_FRAME_LEN
}

/// If `frame` is an Ethernet/IPv4 ARP reply (opcode 2) whose sender protocol address is
/// `expected_ip`, returns the sender's MAC address. Broadcast, multicast and all-zero sender
/// MACs are rejected, as are truncated or malformed frames (never a panic).
pub fn parse_arp_reply(frame: &[u8], expected_ip: Ipv4Addr) -> Option<Mac> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != ETHERTYPE_ARP {
        return None;
    }
    let a = eth.payload().get(..28)?;
    let be16 = |i: usize| u16::from_be_bytes([a[i], a[i + 1]]);
    if be16(0) != 1 || be16(2) != ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4 || be16(6) != OP_REPLY {
        return None;
    }
    if a[14..18] != expected_ip.octets() {
        return None;
    }
    let mut mac = [0u8; 6];
    mac.copy_from_slice(&a[8..14]);
    let multicast = mac[0] & 1 != 0;
    if multicast || mac == [0; 6] {
        return None;
    }
    Some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: Mac = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
    const GW: Mac = [0x02, 0x00, 0x5e, 0x10, 0x00, 0xfe];
    const US_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
    const GW_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

    #[test]
    fn request_layout() {
        let mut buf = [0xeeu8; 64];
        assert_eq!(write_arp_request(&mut buf, US, US_IP, GW_IP), 42);
        let expected: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x08, 0x06,
            0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, // Ethernet, IPv4, request
            0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 198, 18, 0, 2, // sender
            0, 0, 0, 0, 0, 0, 198, 18, 0, 1, // target
        ];
        assert_eq!(buf[..42], expected);
        assert!(buf[42..].iter().all(|&b| b == 0xee));
        // A request is not a reply.
        assert_eq!(parse_arp_reply(&buf[..42], US_IP), None);
        assert_eq!(write_arp_request(&mut buf[..41], US, US_IP, GW_IP), 0);
    }

    #[test]
    fn round_trip() {
        let mut req = [0u8; 42];
        write_arp_request(&mut req, US, US_IP, GW_IP);
        // The "gateway" answers the request it saw, from the fields of that request.
        let asked_ip = Ipv4Addr::new(req[38], req[39], req[40], req[41]);
        let mut asker = [0u8; 6];
        asker.copy_from_slice(&req[22..28]);
        let asker_ip = Ipv4Addr::new(req[28], req[29], req[30], req[31]);
        let mut reply = [0u8; 60]; // with Ethernet padding, as received
        assert_eq!(
            write_arp_reply(&mut reply, GW, asked_ip, asker, asker_ip),
            42
        );
        assert_eq!(parse_arp_reply(&reply, GW_IP), Some(GW));
        assert_eq!(reply[0..6], US);
        assert_eq!(
            parse_arp_reply(&reply, Ipv4Addr::new(198, 18, 0, 3)),
            None,
            "other sender IP"
        );
    }

    #[test]
    fn rejects_malformed_replies() {
        let mut good = [0u8; 42];
        write_arp_reply(&mut good, GW, GW_IP, US, US_IP);
        assert!(parse_arp_reply(&good, GW_IP).is_some());
        for len in 0..42 {
            assert_eq!(parse_arp_reply(&good[..len], GW_IP), None, "len {len}");
        }
        for (at, val) in [
            (12, 0x86),
            (13, 0x00),
            (15, 6),
            (17, 0xdd),
            (18, 8),
            (19, 16),
            (21, 1),
            (21, 3),
        ] {
            let mut f = good;
            f[at] = val;
            assert_eq!(parse_arp_reply(&f, GW_IP), None, "byte {at} = {val:#x}");
        }
        for bad_mac in [[0u8; 6], [0xff; 6], [0x01, 0x00, 0x5e, 0, 0, 1]] {
            let mut f = [0u8; 42];
            write_arp_reply(&mut f, bad_mac, GW_IP, US, US_IP);
            assert_eq!(parse_arp_reply(&f, GW_IP), None);
        }
    }
}
