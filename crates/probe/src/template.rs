//! A precomputed Ethernet/IPv4/TCP SYN frame with incremental checksum updates.

use std::net::Ipv4Addr;

use crate::Mac;
use crate::checksum::{fold, fold32, pseudo_header_sum, sum_words};
use crate::tcp_flags::SYN;
use crate::wire::{ETHERTYPE_IPV4, IPPROTO_TCP};

/// MSS option value of the SYN.
pub const SYN_MSS: u16 = 1460;
/// Window-scale option value of the SYN.
pub const SYN_WSCALE: u8 = 7;
/// Fixed TSval of the SYN's timestamp option (TSecr is 0).
pub const SYN_TSVAL: u32 = 0x2a5f_1c03;

const ETH_LEN: usize = 14;
const IP_LEN: usize = 20;
const TCP_OPT_LEN: usize = 20;
const TCP_LEN: usize = 20 + TCP_OPT_LEN;

// Offsets of the variable fields within the frame.
const IP: usize = ETH_LEN;
const IP_ID: usize = IP + 4;
const IP_CSUM: usize = IP + 10;
const IP_DST: usize = IP + 16;
const TCP: usize = IP + IP_LEN;
const TCP_SPORT: usize = TCP;
const TCP_DPORT: usize = TCP + 2;
const TCP_SEQ: usize = TCP + 4;
const TCP_CSUM: usize = TCP + 16;

/// The constant parts of every probe frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateConfig {
    /// Our MAC address (Ethernet source).
    pub src_mac: Mac,
    /// The gateway's MAC address (Ethernet destination).
    pub dst_mac: Mac,
    /// Our IPv4 address.
    pub src_ip: Ipv4Addr,
    /// IP time to live.
    pub ttl: u8,
    /// TCP window.
    pub window: u16,
}

/// A SYN probe frame with Linux-like options, built once per (interface, source address).
///
/// Layout: Ethernet (14) + IPv4 (20, DF set, TOS 0) + TCP (20 + 20 option bytes:
/// MSS 1460, SACK-permitted, timestamps with [`SYN_TSVAL`] and TSecr 0, NOP, window scale 7,
/// in the order Linux uses). Everything but the destination address, ports, sequence number
/// and IP ID is fixed. The one's-complement sums of the fixed words of the IPv4 header and of
/// the TCP header plus pseudo header are precomputed with the variable fields taken as zero;
/// per packet the variable words are added to them (RFC 1071 §2(4), RFC 1624 eqn. 3 with zero
/// old values), so each checksum costs a handful of additions, with no full recomputation and
/// no allocation.
#[derive(Debug, Clone)]
pub struct SynTemplate {
    frame: [u8; Self::FRAME_LEN],
    /// Folded sum of the IPv4 header with ID, checksum and destination zero.
    ip_sum: u32,
    /// Folded sum of pseudo header and TCP header with destination, ports, seq and checksum zero.
    tcp_sum: u32,
}

impl SynTemplate {
    /// Length of every probe frame: Ethernet 14 + IPv4 20 + TCP 20 + 20 option bytes.
    pub const FRAME_LEN: usize = ETH_LEN + IP_LEN + TCP_LEN;

    /// Builds the template.
    pub fn new(cfg: &TemplateConfig) -> SynTemplate {
        let mut f = [0u8; Self::FRAME_LEN];
        f[0..6].copy_from_slice(&cfg.dst_mac);
        f[6..12].copy_from_slice(&cfg.src_mac);
        f[12..14].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());

        let ip = &mut f[IP..TCP];
        ip[0] = 0x45; // version 4, IHL 5
        ip[1] = 0; // TOS
        ip[2..4].copy_from_slice(&((IP_LEN + TCP_LEN) as u16).to_be_bytes());
        // ip[4..6] ID: per packet
        ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes()); // DF, offset 0
        ip[8] = cfg.ttl;
        ip[9] = IPPROTO_TCP;
        // ip[10..12] checksum: per packet
        ip[12..16].copy_from_slice(&cfg.src_ip.octets());
        // ip[16..20] destination: per packet
        let ip_sum = u32::from(fold(sum_words(0, ip)));

        let tcp = &mut f[TCP..];
        // tcp[0..8] ports and sequence number: per packet; ack 0
        tcp[12] = ((TCP_LEN / 4) as u8) << 4;
        tcp[13] = SYN;
        tcp[14..16].copy_from_slice(&cfg.window.to_be_bytes());
        // tcp[16..18] checksum: per packet; urgent pointer 0
        let opts = &mut tcp[20..40];
        opts[0..4].copy_from_slice(&[2, 4, (SYN_MSS >> 8) as u8, SYN_MSS as u8]);
        opts[4..6].copy_from_slice(&[4, 2]); // SACK permitted
        opts[6..8].copy_from_slice(&[8, 10]); // timestamps
        opts[8..12].copy_from_slice(&SYN_TSVAL.to_be_bytes());
        // opts[12..16] TSecr 0
        opts[16] = 1; // NOP
        opts[17..20].copy_from_slice(&[3, 3, SYN_WSCALE]);
        // The destination address is left zero in the pseudo header too.
        let pseudo = pseudo_header_sum(cfg.src_ip.octets(), [0; 4], IPPROTO_TCP, TCP_LEN as u16);
        let tcp_sum = u32::from(fold(sum_words(pseudo, tcp)));

        SynTemplate {
            frame: f,
            ip_sum,
            tcp_sum,
        }
    }

    /// The template frame, with all variable fields and both checksums zero.
    pub fn bytes(&self) -> &[u8; Self::FRAME_LEN] {
        &self.frame
    }

    /// Writes a complete probe frame into `buf[..FRAME_LEN]` and returns `FRAME_LEN`.
    ///
    /// Returns 0 and writes nothing when `buf` is shorter than [`FRAME_LEN`](Self::FRAME_LEN).
    #[inline]
    pub fn write(
        &self,
        buf: &mut [u8],
        dst: Ipv4Addr,
        sport: u16,
        dport: u16,
        seq: u32,
        ip_id: u16,
    ) -> usize {
        let Some(frame) = buf.get_mut(..Self::FRAME_LEN) else {
            return 0;
        };
        frame.copy_from_slice(&self.frame);
        self.patch(frame, dst, sport, dport, seq, ip_id)
    }

    /// Like [`write`](Self::write), but assumes `buf` already holds a frame from this template
    /// (e.g. a reused TX ring slot) and writes only the variable fields and checksums.
    ///
    /// Returns 0 and writes nothing when `buf` is shorter than [`FRAME_LEN`](Self::FRAME_LEN).
    /// If `buf` does not start with this template's frame, the result is a wrong frame
    /// (never a panic).
    #[inline]
    pub fn patch(
        &self,
        buf: &mut [u8],
        dst: Ipv4Addr,
        sport: u16,
        dport: u16,
        seq: u32,
        ip_id: u16,
    ) -> usize {
        let Some(f) = buf.get_mut(..Self::FRAME_LEN) else {
            return 0;
        };
        let d = u32::from(dst);
        let (d_hi, d_lo) = (d >> 16, d & 0xffff);
        let ip_csum = !fold32(self.ip_sum + u32::from(ip_id) + d_hi + d_lo);
        let tcp_csum = !fold32(
            self.tcp_sum
                + d_hi
                + d_lo
                + u32::from(sport)
                + u32::from(dport)
                + (seq >> 16)
                + (seq & 0xffff),
        );
        f[IP_ID..IP_ID + 2].copy_from_slice(&ip_id.to_be_bytes());
        f[IP_CSUM..IP_CSUM + 2].copy_from_slice(&ip_csum.to_be_bytes());
        f[IP_DST..IP_DST + 4].copy_from_slice(&d.to_be_bytes());
        f[TCP_SPORT..TCP_SPORT + 2].copy_from_slice(&sport.to_be_bytes());
        f[TCP_DPORT..TCP_DPORT + 2].copy_from_slice(&dport.to_be_bytes());
        f[TCP_SEQ..TCP_SEQ + 4].copy_from_slice(&seq.to_be_bytes());
        f[TCP_CSUM..TCP_CSUM + 2].copy_from_slice(&tcp_csum.to_be_bytes());
        Self::FRAME_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::internet_checksum;

    fn cfg() -> TemplateConfig {
        TemplateConfig {
            src_mac: [0x02, 0, 0, 0, 0, 1],
            dst_mac: [0x02, 0, 0, 0, 0, 2],
            src_ip: Ipv4Addr::new(198, 18, 0, 1),
            ttl: 64,
            window: 64240,
        }
    }

    #[test]
    fn short_buffers_get_nothing() {
        let t = SynTemplate::new(&cfg());
        let mut buf = [0xaau8; SynTemplate::FRAME_LEN - 1];
        let dst = Ipv4Addr::new(198, 19, 0, 1);
        assert_eq!(t.write(&mut buf, dst, 1, 2, 3, 4), 0);
        assert_eq!(t.patch(&mut buf, dst, 1, 2, 3, 4), 0);
        assert!(buf.iter().all(|&b| b == 0xaa));
        assert_eq!(t.write(&mut [], dst, 1, 2, 3, 4), 0);
    }

    #[test]
    fn checksums_verify_including_extremes() {
        let t = SynTemplate::new(&cfg());
        let mut buf = [0u8; 128];
        for (dst, sport, dport, seq, id) in [
            (
                Ipv4Addr::new(198, 19, 255, 255),
                0xffff,
                0xffff,
                u32::MAX,
                0xffff,
            ),
            (Ipv4Addr::new(198, 18, 0, 0), 0, 0, 0, 0),
            (
                Ipv4Addr::new(203, 0, 113, 7),
                40000,
                25,
                0x8000_0001,
                0x1234,
            ),
        ] {
            assert_eq!(t.write(&mut buf, dst, sport, dport, seq, id), 74);
            assert_eq!(
                internet_checksum(&buf[IP..TCP]),
                0,
                "IPv4 header sums to 0xffff"
            );
            let mut pseudo_and_tcp = Vec::new();
            pseudo_and_tcp.extend_from_slice(&cfg().src_ip.octets());
            pseudo_and_tcp.extend_from_slice(&dst.octets());
            pseudo_and_tcp.extend_from_slice(&[0, 6, 0, 40]);
            pseudo_and_tcp.extend_from_slice(&buf[TCP..74]);
            assert_eq!(internet_checksum(&pseudo_and_tcp), 0);
            assert!(buf[74..].iter().all(|&b| b == 0), "nothing past FRAME_LEN");
        }
    }
}
