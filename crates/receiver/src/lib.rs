//! The response receiver: an `AF_PACKET` socket with a classic BPF filter
//! attached in the kernel (only SYN-ACK/RST to our source-port range and ICMP
//! unreachable get through), a memory-mapped `PACKET_RX_RING`, cookie
//! validation, classification and per-(address, port) deduplication.
//!
//! Validated responses go out as [`ScanRecord`]s over an unbounded
//! crossbeam channel: the receive loop never blocks on its consumers (the
//! writer, and the banner-grab stage that takes live hosts from the same
//! stream). The channel's size is bounded by the number of unique hits plus
//! repeats, because every record is a validated response to our own probe.

pub mod dedup;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_channel::Sender;
use smtpsweep_netdev::{MappedRing, NetError, PacketSocket, poll_in};
use smtpsweep_output::{Classification as OutClass, ScanRecord, format_timestamp};
use smtpsweep_probe::{BpfInsn, Classification, Cookies, Response, parse_frame};
use smtpsweep_targets::TargetSpace;

pub use dedup::PagedBitmap;

/// Ring slot size for received frames (headers plus a generous snap length).
const SLOT: usize = 2048;
/// Number of RX ring slots (4 MiB of ring).
const SLOTS: usize = 2048;

/// Counters shared with the monitor thread.
#[derive(Debug, Default)]
pub struct ReceiverStats {
    /// Frames that passed the kernel filter and reached us.
    pub received: AtomicU64,
    /// Frames whose cookie validated.
    pub validated: AtomicU64,
    /// Frames that parsed but did not validate (stray, forged, stale).
    pub failed: AtomicU64,
    /// Unique (address, port) with a SYN-ACK.
    pub unique_success: AtomicU64,
    /// Unique (address, port) with any validated response.
    pub unique: AtomicU64,
    /// Validated responses for an (address, port) already seen.
    pub repeats: AtomicU64,
    /// Validated responses that arrived during the cooldown.
    pub cooldown: AtomicU64,
    /// Frames the kernel dropped because the ring was full.
    pub drops: AtomicU64,
}

/// Errors that stop the receiver.
#[derive(Debug, thiserror::Error)]
pub enum RecvError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("attaching the BPF filter: {0}")]
    Filter(std::io::Error),
    #[error("setting up the RX ring: {0}")]
    Ring(std::io::Error),
}

/// An open receive socket with filter and ring, ready before the first probe.
pub struct Receiver {
    sock: PacketSocket,
    ring: MappedRing,
    cursor: usize,
}

impl Receiver {
    /// Opens the socket on `ifindex`, attaches `filter` and maps the ring.
    /// Frames that arrived before the filter was attached are discarded.
    pub fn open(ifindex: u32, filter: &[BpfInsn]) -> Result<Receiver, RecvError> {
        let sock = PacketSocket::open(libc::ETH_P_IP as u16)?;
        attach_filter(&sock, filter).map_err(RecvError::Filter)?;
        let ring = sock
            .map_ring(libc::PACKET_RX_RING, SLOT, SLOTS)
            .map_err(RecvError::Ring)?;
        sock.bind(ifindex, libc::ETH_P_IP as u16)?;
        let mut r = Receiver {
            sock,
            ring,
            cursor: 0,
        };
        // Anything queued between socket() and the filter is not ours to judge.
        r.drain_pending(|_| {});
        let _ = r.kernel_drops();
        Ok(r)
    }

    /// Calls `f` for every frame ready in the ring (inbound only).
    fn drain_pending(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let mut n = 0;
        loop {
            let slot = self.ring.frame(self.cursor);
            let hdr = slot as *mut libc::tpacket2_hdr;
            // SAFETY: hdr is a live slot header in our mapping; status is shared with the kernel.
            let status = unsafe { std::ptr::read_volatile(&(*hdr).tp_status) };
            if status & libc::TP_STATUS_USER == 0 {
                return n;
            }
            std::sync::atomic::fence(Ordering::Acquire);
            // SAFETY: the kernel wrote a valid header; mac offset and snaplen lie inside the slot.
            let (mac, snap) = unsafe { ((*hdr).tp_mac as usize, (*hdr).tp_snaplen as usize) };
            let sll_off = libc::TPACKET_ALIGNMENT
                * std::mem::size_of::<libc::tpacket2_hdr>().div_ceil(libc::TPACKET_ALIGNMENT);
            // SAFETY: the sockaddr_ll follows the aligned header inside the slot.
            let pkttype = unsafe { (*(slot.add(sll_off) as *const libc::sockaddr_ll)).sll_pkttype };
            if mac + snap <= SLOT && pkttype != libc::PACKET_OUTGOING {
                // SAFETY: bounds checked just above.
                let frame = unsafe { std::slice::from_raw_parts(slot.add(mac), snap) };
                f(frame);
            }
            // SAFETY: hand the slot back to the kernel.
            unsafe { std::ptr::write_volatile(&mut (*hdr).tp_status, libc::TP_STATUS_KERNEL) };
            self.cursor = (self.cursor + 1) % self.ring.frame_nr;
            n += 1;
        }
    }

    /// Drops counted by the kernel since the last call.
    fn kernel_drops(&self) -> u64 {
        // SAFETY: plain-data out-parameter of the right size.
        let mut st: libc::tpacket_stats = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
        // SAFETY: st/len are valid for getsockopt to fill.
        let rc = unsafe {
            libc::getsockopt(
                std::os::fd::AsRawFd::as_raw_fd(&self.sock),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                &mut st as *mut _ as *mut libc::c_void,
                &mut len,
            )
        };
        if rc == 0 { u64::from(st.tp_drops) } else { 0 }
    }
}

fn attach_filter(sock: &PacketSocket, prog: &[BpfInsn]) -> std::io::Result<()> {
    let filters: Vec<libc::sock_filter> = prog
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let fprog = libc::sock_fprog {
        len: filters.len() as u16,
        filter: filters.as_ptr() as *mut libc::sock_filter,
    };
    sock.set_raw(libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)
}

/// What the receive loop needs besides the socket.
pub struct ReceiverConfig {
    pub cookies: Arc<Cookies>,
    pub space: Arc<TargetSpace>,
    /// Set by the main thread once every sender is done: later hits are cooldown hits.
    pub sending_done: Arc<AtomicBool>,
    /// Stop once this many unique successes are found (`-N`).
    pub max_results: Option<u64>,
}

/// Turns one frame into a record, or None when it is not a valid response
/// to our probes. Pure apart from the dedup bitmap and counters it updates.
pub struct Processor {
    cfg: ReceiverConfig,
    seen: PagedBitmap,
}

impl Processor {
    /// A processor whose dedup bitmap covers the whole target space.
    pub fn new(cfg: ReceiverConfig) -> Processor {
        let seen = PagedBitmap::new(cfg.space.len());
        Processor { cfg, seen }
    }

    /// Validates and classifies one Ethernet frame.
    pub fn process(
        &mut self,
        frame: &[u8],
        stats: &ReceiverStats,
        now: SystemTime,
    ) -> Option<ScanRecord> {
        stats.received.fetch_add(1, Ordering::Relaxed);
        let Ok(resp) = parse_frame(frame) else {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let Some(class) = self.cfg.cookies.validate(&resp) else {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        // A valid cookie for a target outside our space cannot come from our
        // probes (or the space changed): count it as a failure.
        let Some(index) = self.cfg.space.index_of(resp.saddr, resp.sport) else {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        stats.validated.fetch_add(1, Ordering::Relaxed);
        let repeat = self.seen.test_and_set(index);
        let cooldown = self.cfg.sending_done.load(Ordering::Relaxed);
        if repeat {
            stats.repeats.fetch_add(1, Ordering::Relaxed);
        } else {
            stats.unique.fetch_add(1, Ordering::Relaxed);
            if class == Classification::SynAck {
                stats.unique_success.fetch_add(1, Ordering::Relaxed);
            }
        }
        if cooldown {
            stats.cooldown.fetch_add(1, Ordering::Relaxed);
        }
        Some(record(&resp, class, repeat, cooldown, now))
    }
}

/// Builds the output record of a validated response.
pub fn record(
    r: &Response,
    class: Classification,
    repeat: bool,
    cooldown: bool,
    now: SystemTime,
) -> ScanRecord {
    let t = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let classification = match class {
        Classification::SynAck => OutClass::Synack,
        Classification::Rst => OutClass::Rst,
        Classification::IcmpUnreach => OutClass::IcmpUnreach,
    };
    ScanRecord {
        ip: r.saddr,
        port: r.sport,
        classification,
        success: class == Classification::SynAck,
        repeat,
        cooldown,
        ttl: r.ttl,
        ipid: r.ipid,
        window: r.window,
        seq: r.seq,
        ack: r.ack,
        daddr: r.daddr,
        dport: r.dport,
        timestamp: format_timestamp(t.as_secs(), t.subsec_micros()),
        icmp_responder: r.icmp.as_ref().map(|i| i.responder),
        icmp_code: r.icmp.as_ref().map(|i| i.code),
    }
}

/// Runs the receive loop until `stop` is set, sending every validated
/// response to `out`. Sets `stop` itself when `max_results` is reached.
pub fn run(
    mut rx: Receiver,
    mut proc: Processor,
    stats: &ReceiverStats,
    stop: &AtomicBool,
    out: Sender<ScanRecord>,
) -> Result<(), RecvError> {
    let fd = std::os::fd::AsRawFd::as_raw_fd(&rx.sock);
    let mut last_stats = std::time::Instant::now();
    let max = proc.cfg.max_results;
    while !stop.load(Ordering::Relaxed) {
        let now = SystemTime::now();
        let n = rx.drain_pending(|frame| {
            if let Some(rec) = proc.process(frame, stats, now) {
                // The writer going away means we are shutting down; keep draining.
                let _ = out.send(rec);
            }
        });
        if let Some(max) = max
            && stats.unique_success.load(Ordering::Relaxed) >= max
        {
            stop.store(true, Ordering::Relaxed);
        }
        if last_stats.elapsed() >= Duration::from_millis(500) {
            stats.drops.fetch_add(rx.kernel_drops(), Ordering::Relaxed);
            last_stats = std::time::Instant::now();
        }
        if n == 0 {
            poll_in(fd, Duration::from_millis(50)).map_err(|e| NetError::Io {
                what: "poll on the receive socket".into(),
                source: e,
            })?;
        }
    }
    stats.drops.fetch_add(rx.kernel_drops(), Ordering::Relaxed);
    Ok(())
}
