//! Parsing received frames into owned [`Response`]s.

use std::fmt;
use std::net::Ipv4Addr;

use crate::tcp_flags::{ACK, RST, SYN};
use crate::wire::{
    ETHERTYPE_IPV4, EthernetFrame, IPPROTO_ICMP, IPPROTO_TCP, IcmpPacket, Ipv4Packet, TcpPacket,
};

/// ICMP "destination unreachable".
const ICMP_DEST_UNREACH: u8 = 3;
/// Bytes of the quoted transport header we need from an ICMP error: ports and sequence number.
const QUOTED_TCP_LEN: usize = 8;

/// The protocol layer at which a frame was too short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Ethernet header.
    Ethernet,
    /// IPv4 header or its declared total length.
    Ipv4,
    /// TCP header.
    Tcp,
    /// ICMP header.
    Icmp,
    /// The IPv4 header quoted inside an ICMP error.
    QuotedIpv4,
    /// The first 8 bytes of the TCP header quoted inside an ICMP error.
    QuotedTcp,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Ethernet => "Ethernet header",
            Layer::Ipv4 => "IPv4 packet",
            Layer::Tcp => "TCP header",
            Layer::Icmp => "ICMP header",
            Layer::QuotedIpv4 => "IPv4 header quoted in ICMP",
            Layer::QuotedTcp => "TCP header quoted in ICMP",
        })
    }
}

/// Why a frame is not a reply we can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The frame ends inside the given layer.
    #[error("truncated {0}")]
    Truncated(Layer),
    /// The ethertype is not IPv4.
    #[error("not an IPv4 frame (ethertype {0:#06x})")]
    NotIpv4(u16),
    /// The IP version nibble is not 4.
    #[error("IP version {0} is not 4")]
    BadVersion(u8),
    /// IHL below 5.
    #[error("IPv4 header length {0} bytes is below 20")]
    BadHeaderLen(usize),
    /// Total length shorter than the header.
    #[error("IPv4 total length {0} is shorter than its header")]
    BadTotalLen(u16),
    /// A fragment (MF set or non-zero offset).
    #[error("IPv4 fragment")]
    Fragment,
    /// The IPv4 header checksum does not verify.
    #[error("bad IPv4 header checksum")]
    BadChecksum,
    /// TCP data offset below 5.
    #[error("TCP header length {0} bytes is below 20")]
    BadTcpHeaderLen(usize),
    /// Neither TCP nor ICMP.
    #[error("unsupported IP protocol {0}")]
    UnsupportedProtocol(u8),
    /// An ICMP message other than destination unreachable.
    #[error("unsupported ICMP type {0}")]
    UnsupportedIcmp(u8),
    /// The ICMP error quotes something other than IPv4/TCP.
    #[error("ICMP error does not quote an IPv4/TCP packet")]
    QuoteNotTcp,
}

/// The kind of reply, from the TCP flags or the ICMP type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseKind {
    /// TCP with SYN and ACK set (and RST clear).
    SynAck,
    /// TCP with RST set (whatever else is set).
    Rst,
    /// Any other TCP segment.
    OtherTcp,
    /// ICMP destination unreachable quoting a TCP packet.
    IcmpUnreach,
}

/// Details of an ICMP error reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpInfo {
    /// Who sent the ICMP message (a router, or the target itself).
    pub responder: Ipv4Addr,
    /// ICMP type (3).
    pub icmp_type: u8,
    /// ICMP code (e.g. 1 host unreachable, 3 port unreachable, 13 administratively prohibited).
    pub code: u8,
}

/// A parsed reply, in the ZMap convention: `saddr`/`sport` are the probed target and port,
/// `daddr`/`dport` our address and source port.
///
/// For TCP replies these are the packet's own addresses and ports. For ICMP errors they come
/// from the quoted header of our probe (its destination is the target), `seq` is the quoted
/// sequence number, `ack`, `window` and `tcp_flags` are 0, and `ttl`/`ipid` are the outer
/// packet's (the responder's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// What kind of reply this is.
    pub kind: ResponseKind,
    /// The target address.
    pub saddr: Ipv4Addr,
    /// Our address.
    pub daddr: Ipv4Addr,
    /// The target port.
    pub sport: u16,
    /// Our source port.
    pub dport: u16,
    /// TCP sequence number (ICMP: of our quoted probe).
    pub seq: u32,
    /// TCP acknowledgement number (ICMP: 0).
    pub ack: u32,
    /// IP time to live of the reply.
    pub ttl: u8,
    /// IP identification of the reply.
    pub ipid: u16,
    /// TCP window (ICMP: 0).
    pub window: u16,
    /// TCP flags (ICMP: 0).
    pub tcp_flags: u8,
    /// ICMP details, for ICMP replies only.
    pub icmp: Option<IcmpInfo>,
}

/// Parses an Ethernet frame carrying a TCP reply or an ICMP destination-unreachable message.
///
/// Rejects, with a [`ParseError`] and never a panic: frames too short at any layer, non-IPv4
/// ethertypes, IP versions other than 4, IHL < 5, inconsistent total lengths, fragments, bad
/// IPv4 header checksums, other IP protocols, other ICMP types, and ICMP errors whose quote is
/// not an IPv4 header followed by at least 8 bytes of TCP. Trailing bytes past the IPv4 total
/// length (Ethernet padding) are ignored.
///
/// The TCP and ICMP checksums are not verified here: the cookie check in
/// [`crate::Cookies::validate`] already rejects a corrupted reply with probability about
/// 1 − 2⁻³², and the kernel usually has verified them. Use [`TcpPacket::verify_checksum`] or
/// [`IcmpPacket::verify_checksum`] on the views when that is wanted.
pub fn parse_frame(frame: &[u8]) -> Result<Response, ParseError> {
    let eth = EthernetFrame::new_checked(frame)?;
    if eth.ethertype() != ETHERTYPE_IPV4 {
        return Err(ParseError::NotIpv4(eth.ethertype()));
    }
    let ip = Ipv4Packet::new_checked(eth.payload())?;
    if ip.is_fragment() {
        return Err(ParseError::Fragment);
    }
    if !ip.verify_checksum() {
        return Err(ParseError::BadChecksum);
    }
    match ip.protocol() {
        IPPROTO_TCP => parse_tcp(&ip),
        IPPROTO_ICMP => parse_icmp(&ip),
        other => Err(ParseError::UnsupportedProtocol(other)),
    }
}

fn parse_tcp(ip: &Ipv4Packet<&[u8]>) -> Result<Response, ParseError> {
    let tcp = TcpPacket::new_checked(ip.payload())?;
    let flags = tcp.flags();
    let kind = if flags & RST != 0 {
        ResponseKind::Rst
    } else if flags & (SYN | ACK) == SYN | ACK {
        ResponseKind::SynAck
    } else {
        ResponseKind::OtherTcp
    };
    Ok(Response {
        kind,
        saddr: ip.src_addr(),
        daddr: ip.dst_addr(),
        sport: tcp.src_port(),
        dport: tcp.dst_port(),
        seq: tcp.seq_number(),
        ack: tcp.ack_number(),
        ttl: ip.ttl(),
        ipid: ip.ident(),
        window: tcp.window(),
        tcp_flags: flags,
        icmp: None,
    })
}

fn parse_icmp(ip: &Ipv4Packet<&[u8]>) -> Result<Response, ParseError> {
    let icmp = IcmpPacket::new_checked(ip.payload())?;
    if icmp.msg_type() != ICMP_DEST_UNREACH {
        return Err(ParseError::UnsupportedIcmp(icmp.msg_type()));
    }
    let quoted = Ipv4Packet::new_header_checked(icmp.data()).map_err(|e| match e {
        ParseError::Truncated(_) => ParseError::Truncated(Layer::QuotedIpv4),
        _ => ParseError::QuoteNotTcp,
    })?;
    if quoted.protocol() != IPPROTO_TCP {
        return Err(ParseError::QuoteNotTcp);
    }
    let qtcp = quoted.rest();
    if qtcp.len() < QUOTED_TCP_LEN {
        return Err(ParseError::Truncated(Layer::QuotedTcp));
    }
    // Only the first 8 bytes of the quoted TCP header are guaranteed; read them directly.
    let q = TcpPacket::new_unchecked(qtcp);
    Ok(Response {
        kind: ResponseKind::IcmpUnreach,
        saddr: quoted.dst_addr(),
        daddr: quoted.src_addr(),
        sport: q.dst_port(),
        dport: q.src_port(),
        seq: q.seq_number(),
        ack: 0,
        ttl: ip.ttl(),
        ipid: ip.ident(),
        window: 0,
        tcp_flags: 0,
        icmp: Some(IcmpInfo {
            responder: ip.src_addr(),
            icmp_type: icmp.msg_type(),
            code: icmp.code(),
        }),
    })
}
