//! Zero-copy, bounds-checked views over Ethernet, IPv4, TCP and ICMP headers.
//!
//! Each view wraps any `T: AsRef<[u8]>`. `new_checked` verifies that every getter of the view
//! stays inside the buffer (and that the header is self-consistent), so getters of a checked view
//! never panic. `new_unchecked` skips that; its getters panic on a buffer that is too short.

use std::net::Ipv4Addr;

use crate::Mac;
use crate::checksum::{fold, pseudo_header_sum, sum_words};
use crate::parse::{Layer, ParseError};

/// Ethertype of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Ethertype of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// IP protocol number of ICMP.
pub const IPPROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
fn addr(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
}

/// An Ethernet II frame (no FCS, no VLAN tag).
#[derive(Debug, Clone, Copy)]
pub struct EthernetFrame<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Length of the Ethernet header.
    pub const HEADER_LEN: usize = 14;

    /// Wraps a buffer without checking its length.
    pub fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wraps a buffer that holds at least an Ethernet header.
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        if buffer.as_ref().len() < Self::HEADER_LEN {
            return Err(ParseError::Truncated(Layer::Ethernet));
        }
        Ok(EthernetFrame { buffer })
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination MAC address.
    pub fn dst_addr(&self) -> Mac {
        let mut m = [0; 6];
        m.copy_from_slice(&self.buffer.as_ref()[0..6]);
        m
    }

    /// Source MAC address.
    pub fn src_addr(&self) -> Mac {
        let mut m = [0; 6];
        m.copy_from_slice(&self.buffer.as_ref()[6..12]);
        m
    }

    /// Ethertype.
    pub fn ethertype(&self) -> u16 {
        be16(self.buffer.as_ref(), 12)
    }

    /// Everything after the Ethernet header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..]
    }
}

/// An IPv4 packet.
#[derive(Debug, Clone, Copy)]
pub struct Ipv4Packet<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Minimum IPv4 header length.
    pub const MIN_HEADER_LEN: usize = 20;

    /// Wraps a buffer without any checks.
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wraps a buffer holding a complete IPv4 packet: version 4, IHL ≥ 5, the header and the
    /// total length inside the buffer (trailing bytes such as Ethernet padding are allowed and
    /// excluded from [`payload`](Self::payload)).
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let p = Self::new_header_checked(buffer)?;
        let total = usize::from(p.total_len());
        if total < p.header_len() {
            return Err(ParseError::BadTotalLen(p.total_len()));
        }
        if total > p.buffer.as_ref().len() {
            return Err(ParseError::Truncated(Layer::Ipv4));
        }
        Ok(p)
    }

    /// Wraps a buffer holding at least a valid IPv4 header; the total length field is not
    /// checked, so [`payload`](Self::payload) must not be used (ICMP quotes are cut short).
    pub fn new_header_checked(buffer: T) -> Result<Self, ParseError> {
        let b = buffer.as_ref();
        if b.len() < Self::MIN_HEADER_LEN {
            return Err(ParseError::Truncated(Layer::Ipv4));
        }
        let p = Ipv4Packet { buffer };
        if p.version() != 4 {
            return Err(ParseError::BadVersion(p.version()));
        }
        if p.header_len() < Self::MIN_HEADER_LEN {
            return Err(ParseError::BadHeaderLen(p.header_len()));
        }
        if p.header_len() > p.buffer.as_ref().len() {
            return Err(ParseError::Truncated(Layer::Ipv4));
        }
        Ok(p)
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// IP version (4).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[0] & 0x0f) * 4
    }

    /// DSCP and ECN byte.
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[1]
    }

    /// Total length field.
    pub fn total_len(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }

    /// Identification field.
    pub fn ident(&self) -> u16 {
        be16(self.buffer.as_ref(), 4)
    }

    /// Don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.buffer.as_ref()[6] & 0x40 != 0
    }

    /// More-fragments flag.
    pub fn more_frags(&self) -> bool {
        self.buffer.as_ref()[6] & 0x20 != 0
    }

    /// Fragment offset in 8-byte units.
    pub fn frag_offset(&self) -> u16 {
        be16(self.buffer.as_ref(), 6) & 0x1fff
    }

    /// Whether this is a fragment (more fragments follow, or a non-zero offset).
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[8]
    }

    /// Protocol number.
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[9]
    }

    /// Header checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), 10)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        addr(self.buffer.as_ref(), 12)
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        addr(self.buffer.as_ref(), 16)
    }

    /// Whether the header checksum (over `header_len()` bytes, options included) is correct.
    pub fn verify_checksum(&self) -> bool {
        let h = &self.buffer.as_ref()[..self.header_len()];
        fold(sum_words(0, h)) == 0xffff
    }

    /// The payload: bytes `header_len() .. total_len()`. Only valid on a view from
    /// [`new_checked`](Self::new_checked).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }

    /// The bytes after the header up to the end of the buffer (for truncated ICMP quotes).
    pub fn rest(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

/// A TCP segment.
#[derive(Debug, Clone, Copy)]
pub struct TcpPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Minimum TCP header length.
    pub const MIN_HEADER_LEN: usize = 20;

    /// Wraps a buffer without any checks.
    pub fn new_unchecked(buffer: T) -> Self {
        TcpPacket { buffer }
    }

    /// Wraps a buffer holding a TCP header (data offset ≥ 5, options inside the buffer).
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        if buffer.as_ref().len() < Self::MIN_HEADER_LEN {
            return Err(ParseError::Truncated(Layer::Tcp));
        }
        let p = TcpPacket { buffer };
        if p.header_len() < Self::MIN_HEADER_LEN {
            return Err(ParseError::BadTcpHeaderLen(p.header_len()));
        }
        if p.header_len() > p.buffer.as_ref().len() {
            return Err(ParseError::Truncated(Layer::Tcp));
        }
        Ok(p)
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), 0)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }

    /// Sequence number.
    pub fn seq_number(&self) -> u32 {
        be32(self.buffer.as_ref(), 4)
    }

    /// Acknowledgement number.
    pub fn ack_number(&self) -> u32 {
        be32(self.buffer.as_ref(), 8)
    }

    /// Header length in bytes (data offset × 4).
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[12] >> 4) * 4
    }

    /// Flag bits (see [`crate::tcp_flags`]).
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[13]
    }

    /// Window size.
    pub fn window(&self) -> u16 {
        be16(self.buffer.as_ref(), 14)
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), 16)
    }

    /// Urgent pointer.
    pub fn urgent(&self) -> u16 {
        be16(self.buffer.as_ref(), 18)
    }

    /// Option bytes.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::MIN_HEADER_LEN..self.header_len()]
    }

    /// Payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// Whether the checksum is correct for this segment (the whole buffer) sent `src -> dst`.
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let b = self.buffer.as_ref();
        let Ok(len) = u16::try_from(b.len()) else {
            return false;
        };
        let acc = pseudo_header_sum(src.octets(), dst.octets(), IPPROTO_TCP, len);
        fold(sum_words(acc, b)) == 0xffff
    }
}

/// An ICMP message.
#[derive(Debug, Clone, Copy)]
pub struct IcmpPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> IcmpPacket<T> {
    /// ICMP header length (type, code, checksum, 4 bytes of "rest of header").
    pub const HEADER_LEN: usize = 8;

    /// Wraps a buffer without any checks.
    pub fn new_unchecked(buffer: T) -> Self {
        IcmpPacket { buffer }
    }

    /// Wraps a buffer holding at least the 8-byte ICMP header.
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        if buffer.as_ref().len() < Self::HEADER_LEN {
            return Err(ParseError::Truncated(Layer::Icmp));
        }
        Ok(IcmpPacket { buffer })
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Message type.
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[0]
    }

    /// Message code.
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[1]
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }

    /// The 4 type-specific bytes after the checksum (e.g. next-hop MTU for "fragmentation needed").
    pub fn rest_of_header(&self) -> [u8; 4] {
        let b = self.buffer.as_ref();
        [b[4], b[5], b[6], b[7]]
    }

    /// The message body; for error messages, the quoted IP header and leading payload bytes.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..]
    }

    /// Whether the checksum over the whole message is correct.
    pub fn verify_checksum(&self) -> bool {
        fold(sum_words(0, self.buffer.as_ref())) == 0xffff
    }
}
