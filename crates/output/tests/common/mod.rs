//! Sample records shared by the integration tests (addresses from 198.18.0.0/15 and 192.0.2.0/24).

use std::net::Ipv4Addr;

use smtpsweep_output::{Classification, ScanRecord, format_timestamp};

/// An open port on 198.18.0.7:25.
pub fn synack() -> ScanRecord {
    ScanRecord {
        ip: Ipv4Addr::new(198, 18, 0, 7),
        port: 25,
        classification: Classification::Synack,
        success: true,
        repeat: false,
        cooldown: false,
        ttl: 57,
        ipid: 4242,
        window: 65535,
        seq: 3_735_928_559,
        ack: 2_882_400_018,
        daddr: Ipv4Addr::new(198, 19, 0, 1),
        dport: 40123,
        // 1796029200 = 2026-11-30T09:00:00Z (GNU date).
        timestamp: format_timestamp(1_796_029_200, 123_456),
        icmp_responder: None,
        icmp_code: None,
    }
}

/// A repeated ICMP port-unreachable for 198.18.3.200:587 during the cooldown.
pub fn icmp() -> ScanRecord {
    ScanRecord {
        ip: Ipv4Addr::new(198, 18, 3, 200),
        port: 587,
        classification: Classification::IcmpUnreach,
        success: false,
        repeat: true,
        cooldown: true,
        ttl: 64,
        ipid: 0,
        window: 0,
        seq: 0,
        ack: 0,
        daddr: Ipv4Addr::new(198, 19, 0, 1),
        dport: 40124,
        timestamp: format_timestamp(1_796_029_208, 1),
        icmp_responder: Some(Ipv4Addr::new(192, 0, 2, 1)),
        icmp_code: Some(3),
    }
}

/// A closed port (RST) on 198.18.0.9:465.
pub fn rst() -> ScanRecord {
    ScanRecord {
        ip: Ipv4Addr::new(198, 18, 0, 9),
        port: 465,
        classification: Classification::Rst,
        success: false,
        repeat: false,
        cooldown: false,
        ttl: 63,
        ipid: 7,
        window: 0,
        seq: 0,
        ack: 1_000_001,
        daddr: Ipv4Addr::new(198, 19, 0, 1),
        dport: 40125,
        timestamp: format_timestamp(1_796_029_201, 999_999),
        icmp_responder: None,
        icmp_code: None,
    }
}
