//! Sans-I/O probe logic for smtpsweep's stateless SYN scanner.
//!
//! Everything here is pure computation over byte slices: no sockets, threads, files or clocks.
//!
//! - [`Cookies`]: SipHash-2-4 keyed per scan; derives each probe's source port and sequence number
//!   from (source, destination, ports) and validates replies against them, so the scanner keeps no
//!   per-probe state.
//! - [`SynTemplate`]: a precomputed Ethernet/IPv4/TCP SYN frame with Linux-like options; per packet it
//!   writes only the variable fields and patches both checksums incrementally.
//! - [`parse_frame`]: zero-copy views ([`wire`]) over a received Ethernet frame, producing an owned
//!   [`Response`] (TCP SYN-ACK/RST, or ICMP destination-unreachable with its quoted header).
//! - [`bpf_program`]: the classic BPF filter the receiver attaches in the kernel.
//! - [`write_arp_request`] / [`parse_arp_reply`]: resolving the gateway's MAC address actively.

#![forbid(unsafe_code)]

mod arp;
mod bpf;
mod checksum;
mod cookie;
mod parse;
mod template;
pub mod wire;

pub use arp::{ARP_FRAME_LEN, parse_arp_reply, write_arp_reply, write_arp_request};
pub use bpf::{BPF_ACCEPT_LEN, BpfInsn, bpf_program};
pub use checksum::internet_checksum;
pub use cookie::{Classification, CookieKey, CookieRangeError, Cookies};
pub use parse::{IcmpInfo, Layer, ParseError, Response, ResponseKind, parse_frame};
pub use template::{SYN_MSS, SYN_TSVAL, SYN_WSCALE, SynTemplate, TemplateConfig};

/// An Ethernet MAC address.
pub type Mac = [u8; 6];

/// The Ethernet broadcast address.
pub const BROADCAST_MAC: Mac = [0xff; 6];

/// TCP header flag bits (byte 13 of the TCP header).
pub mod tcp_flags {
    /// FIN: no more data from sender.
    pub const FIN: u8 = 0x01;
    /// SYN: synchronise sequence numbers.
    pub const SYN: u8 = 0x02;
    /// RST: reset the connection.
    pub const RST: u8 = 0x04;
    /// PSH: push function.
    pub const PSH: u8 = 0x08;
    /// ACK: acknowledgement field is significant.
    pub const ACK: u8 = 0x10;
    /// URG: urgent pointer field is significant.
    pub const URG: u8 = 0x20;
}
