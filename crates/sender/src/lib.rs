//! The SYN sender: one hot loop per sender thread that walks its piece of
//! the target permutation, writes template frames straight into a
//! memory-mapped `PACKET_TX_RING` (with `PACKET_QDISC_BYPASS`) and kicks the
//! kernel once per batch. Nothing on the per-packet path allocates or makes
//! a system call; counters are published to shared atomics once per batch.
//!
//! When the ring cannot be set up (old kernel, odd device) the sender falls
//! back to one `send(2)` per frame on a bound packet socket.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use smtpsweep_netdev::{MappedRing, NetError, PacketSocket};
use smtpsweep_pacing::Pacer;
use smtpsweep_probe::{Cookies, SynTemplate};
use smtpsweep_targets::{Permutation, TargetSpace};

/// Most frames taken per pacer grant and queued before the kernel is asked to send them.
const BATCH: usize = 1024;
/// Ring slot size: the 32-byte TPACKET_V2 header plus a SYN frame, aligned.
const SLOT: usize = 128;
/// Offset of frame data inside a TX slot (`TPACKET2_HDRLEN - sizeof(sockaddr_ll)`).
const TX_DATA_OFF: usize = libc::TPACKET2_HDRLEN - std::mem::size_of::<libc::sockaddr_ll>();

// A SYN frame fits a TX slot, and slots keep the ring's alignment.
const _: () =
    assert!(TX_DATA_OFF + SynTemplate::FRAME_LEN <= SLOT && SLOT % libc::TPACKET_ALIGNMENT == 0);

/// How frames leave the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// `PACKET_TX_RING` with qdisc bypass, falling back to `Send` if unavailable.
    Ring,
    /// One `send(2)` per frame.
    Send,
}

/// Counters shared with the monitor thread (updated once per batch).
#[derive(Debug, Default)]
pub struct SenderStats {
    /// Frames handed to the kernel.
    pub sent: AtomicU64,
    /// Targets (address, port pairs) whose probes were all sent.
    pub targets: AtomicU64,
    /// Frames the kernel refused.
    pub send_errors: AtomicU64,
}

impl SenderStats {
    /// Adds what `now` counted beyond `published`, then remembers `now`.
    fn publish(&self, now: &SenderReport, published: &mut SenderReport) {
        self.sent
            .fetch_add(now.sent - published.sent, Ordering::Relaxed);
        self.targets
            .fetch_add(now.targets - published.targets, Ordering::Relaxed);
        self.send_errors
            .fetch_add(now.send_errors - published.send_errors, Ordering::Relaxed);
        *published = *now;
    }
}

/// Everything one sender thread needs.
pub struct SenderConfig {
    pub ifindex: u32,
    pub mode: SendMode,
    pub space: Arc<TargetSpace>,
    pub permutation: Arc<Permutation>,
    pub shards: u32,
    pub shard: u32,
    pub threads: u32,
    pub thread: u32,
    /// One template per source address; a target's source is chosen by hash.
    pub templates: Vec<(Ipv4Addr, SynTemplate)>,
    pub cookies: Arc<Cookies>,
    /// Copies of each probe; copy `k` goes out in pass `k` over the permutation.
    pub probes: u8,
    /// This thread's share of the rate (0 = unlimited).
    pub rate_pps: u64,
    /// This thread's share of `-n` (None = all).
    pub max_targets: Option<u64>,
    /// Stop sending at this instant (`-t`).
    pub deadline: Option<Instant>,
}

/// What a sender thread did.
#[derive(Debug, Clone, Copy, Default)]
pub struct SenderReport {
    pub sent: u64,
    pub targets: u64,
    pub send_errors: u64,
    /// True when the TX ring was used.
    pub ring: bool,
}

/// Errors that stop a sender thread.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Net(#[from] NetError),
    #[error("setting up the TX ring: {0}")]
    Ring(std::io::Error),
    #[error("no source address to send from")]
    NoSource,
}

/// Where frames go: a TX ring or a plain socket.
enum Out {
    Ring {
        sock: PacketSocket,
        ring: MappedRing,
        cursor: usize,
        pending: usize,
    },
    Plain {
        sock: PacketSocket,
        buf: [u8; SLOT],
    },
}

impl Out {
    fn open(ifindex: u32, mode: SendMode) -> Result<Out, SendError> {
        let sock = PacketSocket::open(0)?;
        if mode == SendMode::Ring {
            // Qdisc bypass is best effort: it only saves work when present.
            let _ = sock.set_int(libc::SOL_PACKET, libc::PACKET_QDISC_BYPASS, 1);
            match sock.map_ring(libc::PACKET_TX_RING, SLOT, 8192) {
                Ok(ring) => {
                    sock.bind(ifindex, 0)?;
                    return Ok(Out::Ring {
                        sock,
                        ring,
                        cursor: 0,
                        pending: 0,
                    });
                }
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => return Err(SendError::Ring(e)),
                Err(_) => {
                    // Fall back to a fresh socket: the failed ring setup may
                    // have left the version option changed.
                    let sock = PacketSocket::open(0)?;
                    sock.bind(ifindex, 0)?;
                    return Ok(Out::Plain {
                        sock,
                        buf: [0; SLOT],
                    });
                }
            }
        }
        sock.bind(ifindex, 0)?;
        Ok(Out::Plain {
            sock,
            buf: [0; SLOT],
        })
    }

    /// Writes one frame with `fill` and queues it; returns false when the
    /// frame could not be sent (plain mode error).
    #[inline]
    fn push(&mut self, fill: impl FnOnce(&mut [u8]) -> usize) -> bool {
        match self {
            Out::Ring {
                sock,
                ring,
                cursor,
                pending,
            } => {
                let slot = ring.frame(*cursor);
                let hdr = slot as *mut libc::tpacket2_hdr;
                // Wait for the kernel to release the slot.
                loop {
                    // SAFETY: hdr points at a live slot header in our mapping;
                    // tp_status is shared with the kernel, hence volatile.
                    let status = unsafe { std::ptr::read_volatile(&(*hdr).tp_status) };
                    if status == libc::TP_STATUS_AVAILABLE
                        || status & libc::TP_STATUS_WRONG_FORMAT != 0
                    {
                        break;
                    }
                    // Ring full: flush what is pending and wait for completion.
                    Self::kick(sock, true);
                    *pending = 0;
                }
                // SAFETY: the data area lies within the slot (SLOT bytes).
                let data = unsafe {
                    std::slice::from_raw_parts_mut(slot.add(TX_DATA_OFF), SLOT - TX_DATA_OFF)
                };
                let len = fill(data);
                // SAFETY: as above; publish length then status with a fence.
                unsafe {
                    (*hdr).tp_len = len as u32;
                    std::sync::atomic::fence(Ordering::Release);
                    std::ptr::write_volatile(&mut (*hdr).tp_status, libc::TP_STATUS_SEND_REQUEST);
                }
                *cursor = (*cursor + 1) % ring.frame_nr;
                *pending += 1;
                if *pending >= BATCH {
                    Self::kick(sock, false);
                    *pending = 0;
                }
                true
            }
            Out::Plain { sock, buf } => {
                let len = fill(buf);
                sock.send(&buf[..len]).is_ok()
            }
        }
    }

    fn kick(sock: &PacketSocket, wait: bool) {
        let flags = if wait { 0 } else { libc::MSG_DONTWAIT };
        // SAFETY: a zero-length send on a TX-ring socket transmits queued slots.
        unsafe {
            libc::send(
                std::os::fd::AsRawFd::as_raw_fd(sock),
                std::ptr::null(),
                0,
                flags,
            )
        };
    }

    /// Hands the queued frames to the kernel without waiting.
    fn flush(&mut self) {
        if let Out::Ring { sock, pending, .. } = self
            && *pending > 0
        {
            Self::kick(sock, false);
            *pending = 0;
        }
    }

    /// Sends everything queued and waits until the kernel has taken it.
    fn finish(&mut self) {
        if let Out::Ring { sock, pending, .. } = self {
            Self::kick(sock, true);
            *pending = 0;
        }
    }

    fn is_ring(&self) -> bool {
        matches!(self, Out::Ring { .. })
    }
}

/// Picks a source address for `dst` among `n` (stable per target).
#[inline]
fn source_index(dst: Ipv4Addr, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    ((u32::from(dst).wrapping_mul(0x9E37_79B1) >> 8) as usize) % n
}

/// Runs one sender thread until its piece of the permutation is done, the
/// limits are reached, or `stop` is set.
pub fn run(
    cfg: SenderConfig,
    stats: &SenderStats,
    stop: &AtomicBool,
) -> Result<SenderReport, SendError> {
    if cfg.templates.is_empty() {
        return Err(SendError::NoSource);
    }
    let mut out = Out::open(cfg.ifindex, cfg.mode)?;
    let start = Instant::now();
    // A 10 ms catch-up allowance: a scheduling stall shorter than that costs
    // no packets in that second, and the burst after it stays small.
    let mut pacer = Pacer::with_burst(cfg.rate_pps, 0, 10_000_000);
    let mut report = SenderReport {
        ring: out.is_ring(),
        ..Default::default()
    };
    // What this thread has already added to the shared counters.
    let mut published = SenderReport::default();
    let mut budget: u32 = 0;
    let nsrc = cfg.templates.len();
    'passes: for probe in 0..cfg.probes.max(1) {
        let iter = cfg
            .permutation
            .subshard(cfg.shards, cfg.shard, cfg.threads, cfg.thread);
        let limit = cfg.max_targets.unwrap_or(u64::MAX);
        for (done_this_pass, index) in iter.enumerate() {
            if done_this_pass as u64 >= limit {
                break;
            }
            if budget == 0 {
                // The grant is used up: send it now, so paced frames leave on time.
                out.flush();
                // Publish counters and check the stop conditions once per grant.
                stats.publish(&report, &mut published);
                if stop.load(Ordering::Relaxed) || cfg.deadline.is_some_and(|d| Instant::now() >= d)
                {
                    break 'passes;
                }
                budget = wait_for_budget(&mut pacer, start, stop);
                if budget == 0 {
                    break 'passes;
                }
            }
            budget -= 1;
            let (dst, dport) = cfg.space.get(index);
            let (src, template) = &cfg.templates[source_index(dst, nsrc)];
            let sport = cfg.cookies.source_port(*src, dst, dport, probe);
            let seq = cfg.cookies.seq(*src, dst, sport, dport);
            let ipid = (seq >> 16) as u16 ^ (index as u16);
            if out.push(|buf| template.write(buf, dst, sport, dport, seq, ipid)) {
                report.sent += 1;
            } else {
                report.send_errors += 1;
            }
            if probe == cfg.probes.max(1) - 1 {
                report.targets += 1;
            }
        }
    }
    out.finish();
    stats.publish(&report, &mut published);
    Ok(report)
}

/// Blocks until the pacer grants at least one packet; returns the grant
/// (0 only when `stop` was set while waiting).
fn wait_for_budget(pacer: &mut Pacer, start: Instant, stop: &AtomicBool) -> u32 {
    loop {
        let now = start.elapsed().as_nanos() as u64;
        let n = pacer.allow(now, BATCH as u32);
        if n > 0 {
            return n;
        }
        if stop.load(Ordering::Relaxed) {
            return 0;
        }
        let wait = pacer.next_at_ns().saturating_sub(now);
        if wait > 200_000 {
            std::thread::sleep(Duration::from_nanos(wait - 100_000));
        } else {
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_choice_is_stable_and_in_range() {
        for n in 1..5 {
            for i in 0..1000u32 {
                let ip = Ipv4Addr::from(0xC612_0000 | i);
                let k = source_index(ip, n);
                assert!(k < n);
                assert_eq!(k, source_index(ip, n));
            }
        }
        // With two sources both are used.
        let used: std::collections::HashSet<usize> = (0..256u32)
            .map(|i| source_index(Ipv4Addr::from(0xC612_0000 | i), 2))
            .collect();
        assert_eq!(used.len(), 2);
    }
}
