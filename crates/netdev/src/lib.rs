//! Network facts a raw-socket scanner needs from the host: interfaces, the
//! route to a target, the next hop's MAC address (from the kernel's neighbour
//! table, or resolved actively with an ARP request), and a small owned
//! `AF_PACKET` socket type shared by the sender and the receiver.
//!
//! The parsers of `/proc/net/route` and `/proc/net/arp` are pure functions
//! and tested directly; the rest is thin I/O around them.

use std::ffi::CString;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

pub use smtpsweep_probe::Mac;

/// Errors from looking up or using the network.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("interface {0:?} not found")]
    NoInterface(String),
    #[error("interface {0:?} has no IPv4 address (use -S to name a source address)")]
    NoAddress(String),
    #[error("no route to {0} (use -i to name an interface)")]
    NoRoute(Ipv4Addr),
    #[error(
        "could not resolve the MAC address of next hop {ip} on {iface} within {ms} ms (use -G to give it)"
    )]
    Unresolved {
        ip: Ipv4Addr,
        iface: String,
        ms: u128,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> NetError {
    let what = what.into();
    move |source| NetError::Io { what, source }
}

/// A network interface with what the scanner needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub index: u32,
    pub mac: Mac,
    pub ipv4: Vec<Ipv4Addr>,
}

/// Looks an interface up by name.
pub fn interface(name: &str) -> Result<Interface, NetError> {
    let cname = CString::new(name).map_err(|_| NetError::NoInterface(name.to_string()))?;
    // SAFETY: cname is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if index == 0 {
        return Err(NetError::NoInterface(name.to_string()));
    }
    let mac = interface_mac(name)?;
    Ok(Interface {
        name: name.to_string(),
        index,
        mac,
        ipv4: interface_ipv4(name)?,
    })
}

/// The hardware address of an interface, asked of the kernel with
/// `SIOCGIFHWADDR` (this follows the caller's network namespace, which
/// `/sys/class/net` does not).
fn interface_mac(name: &str) -> Result<Mac, NetError> {
    // SAFETY: ifreq is plain data; zeroed is a valid start.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= req.ifr_name.len() {
        return Err(NetError::NoInterface(name.to_string()));
    }
    for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: a plain datagram socket used only for the ioctl.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io_err("opening a socket for SIOCGIFHWADDR")(
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: fd is ours; owning it closes it on every path.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: req is a valid ifreq for this ioctl.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) } != 0 {
        return Err(io_err(format!("reading the MAC address of {name}"))(
            io::Error::last_os_error(),
        ));
    }
    // SAFETY: SIOCGIFHWADDR filled the hwaddr member of the union.
    let data = unsafe { req.ifr_ifru.ifru_hwaddr.sa_data };
    let mut mac = [0u8; 6];
    for (m, d) in mac.iter_mut().zip(data.iter()) {
        *m = *d as u8;
    }
    Ok(mac)
}

/// The IPv4 addresses configured on an interface, in the kernel's order.
fn interface_ipv4(name: &str) -> Result<Vec<Ipv4Addr>, NetError> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io_err("getifaddrs")(io::Error::last_os_error()));
    }
    let mut out = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: cur points into the list returned by getifaddrs.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let ifname = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
        if ifname.to_bytes() != name.as_bytes() {
            continue;
        }
        // SAFETY: ifa_addr is non-null; the family tells its real type.
        let family = unsafe { (*ifa.ifa_addr).sa_family } as i32;
        if family == libc::AF_INET {
            // SAFETY: AF_INET means the address is a sockaddr_in.
            let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
            out.push(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
        }
    }
    // SAFETY: head came from getifaddrs.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// Parses `aa:bb:cc:dd:ee:ff` (also with `-`).
pub fn parse_mac(s: &str) -> Option<Mac> {
    let mut mac = [0u8; 6];
    let mut parts = s.split([':', '-']);
    for b in mac.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// Formats a MAC address as `aa:bb:cc:dd:ee:ff`.
pub fn format_mac(m: &Mac) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

/// One row of the kernel's IPv4 routing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub iface: String,
    pub dest: Ipv4Addr,
    pub mask: Ipv4Addr,
    /// `None` when the destination is on-link.
    pub gateway: Option<Ipv4Addr>,
    pub metric: u32,
}

impl Route {
    fn matches(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & u32::from(self.mask) == u32::from(self.dest)
    }

    /// The address whose MAC the frames go to.
    pub fn next_hop(&self, dst: Ipv4Addr) -> Ipv4Addr {
        self.gateway.unwrap_or(dst)
    }
}

/// `/proc/net/route` stores addresses as host-order hex of the network bytes.
fn proc_hex_addr(s: &str) -> Option<Ipv4Addr> {
    let v = u32::from_str_radix(s, 16).ok()?;
    Some(Ipv4Addr::from(v.to_le_bytes()))
}

/// Parses the text of `/proc/net/route` (rows that do not parse are skipped;
/// routes that are not up are left out).
pub fn parse_proc_route(text: &str) -> Vec<Route> {
    const RTF_UP: u32 = 0x1;
    const RTF_GATEWAY: u32 = 0x2;
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            let flags = u32::from_str_radix(f[3], 16).ok()?;
            if flags & RTF_UP == 0 {
                return None;
            }
            let gw = proc_hex_addr(f[2])?;
            Some(Route {
                iface: f[0].to_string(),
                dest: proc_hex_addr(f[1])?,
                gateway: (flags & RTF_GATEWAY != 0 && !gw.is_unspecified()).then_some(gw),
                metric: f[6].parse().ok()?,
                mask: proc_hex_addr(f[7])?,
            })
        })
        .collect()
}

/// Longest-prefix match (lowest metric on ties) over a routing table.
pub fn lookup_route(routes: &[Route], dst: Ipv4Addr) -> Option<&Route> {
    routes
        .iter()
        .filter(|r| r.matches(dst))
        .max_by_key(|r| (u32::from(r.mask).count_ones(), u32::MAX - r.metric))
}

/// The kernel's route to `dst`.
pub fn route_to(dst: Ipv4Addr) -> Result<Route, NetError> {
    let text =
        std::fs::read_to_string("/proc/net/route").map_err(io_err("reading /proc/net/route"))?;
    let routes = parse_proc_route(&text);
    lookup_route(&routes, dst)
        .cloned()
        .ok_or(NetError::NoRoute(dst))
}

/// One complete entry of the kernel's neighbour (ARP) table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    pub ip: Ipv4Addr,
    pub mac: Mac,
    pub iface: String,
}

/// Parses `/proc/net/arp`, keeping only complete entries (flag 0x2).
pub fn parse_proc_arp(text: &str) -> Vec<Neighbour> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 {
                return None;
            }
            let flags = u32::from_str_radix(f[2].trim_start_matches("0x"), 16).ok()?;
            if flags & 0x2 == 0 {
                return None;
            }
            let mac = parse_mac(f[3])?;
            let ip = f[0].parse().ok()?;
            (mac != [0; 6]).then(|| Neighbour {
                ip,
                mac,
                iface: f[5].to_string(),
            })
        })
        .collect()
}

/// The MAC of `ip` on `iface` from the kernel's neighbour table, if known.
pub fn neighbour_mac(ip: Ipv4Addr, iface: &str) -> Option<Mac> {
    let text = std::fs::read_to_string("/proc/net/arp").ok()?;
    parse_proc_arp(&text)
        .into_iter()
        .find(|n| n.ip == ip && n.iface == iface)
        .map(|n| n.mac)
}

/// Finds the MAC of `next_hop`: the neighbour table first, then ARP
/// requests sent on `iface` (every 250 ms) until a reply or `timeout`.
pub fn resolve_mac(
    iface: &Interface,
    src_ip: Ipv4Addr,
    next_hop: Ipv4Addr,
    timeout: Duration,
) -> Result<Mac, NetError> {
    if let Some(mac) = neighbour_mac(next_hop, &iface.name) {
        return Ok(mac);
    }
    let sock = PacketSocket::open(libc::ETH_P_ARP as u16)?;
    sock.bind(iface.index, libc::ETH_P_ARP as u16)?;
    let start = Instant::now();
    let mut req = [0u8; 64];
    let n = smtpsweep_probe::write_arp_request(&mut req, iface.mac, src_ip, next_hop);
    let mut buf = [0u8; 2048];
    let mut next_send = start;
    while start.elapsed() < timeout {
        if Instant::now() >= next_send {
            sock.send(&req[..n])?;
            next_send = Instant::now() + Duration::from_millis(250);
        }
        let wait = next_send.saturating_duration_since(Instant::now());
        if let Some(len) = sock.recv_timeout(&mut buf, wait.max(Duration::from_millis(1)))?
            && let Some(mac) = smtpsweep_probe::parse_arp_reply(&buf[..len], next_hop)
        {
            return Ok(mac);
        }
        if let Some(mac) = neighbour_mac(next_hop, &iface.name) {
            return Ok(mac);
        }
    }
    Err(NetError::Unresolved {
        ip: next_hop,
        iface: iface.name.clone(),
        ms: timeout.as_millis(),
    })
}

/// An owned `AF_PACKET`/`SOCK_RAW` socket.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
}

impl PacketSocket {
    /// Opens a packet socket receiving `protocol` (an ethertype in host
    /// order; 0 receives nothing, which suits a send-only socket).
    pub fn open(protocol: u16) -> Result<PacketSocket, NetError> {
        // SAFETY: plain socket(2) call.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                i32::from(protocol.to_be()),
            )
        };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return Err(NetError::Io {
                what: "opening an AF_PACKET socket (needs root or CAP_NET_RAW)".into(),
                source: e,
            });
        }
        // SAFETY: fd is a fresh descriptor we own.
        Ok(PacketSocket {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Binds to one interface (and ethertype, host order).
    pub fn bind(&self, ifindex: u32, protocol: u16) -> Result<(), NetError> {
        // SAFETY: sockaddr_ll is plain data; zeroed is a valid start.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = protocol.to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: sll is a valid sockaddr_ll of the given size.
        let rc = unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc != 0 {
            return Err(io_err(format!("binding to interface index {ifindex}"))(
                io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Sets an integer `SOL_PACKET` (or other level) option.
    pub fn set_int(&self, level: i32, name: i32, value: i32) -> io::Result<()> {
        self.set_raw(level, name, &value)
    }

    /// Sets a socket option from a plain-data value.
    pub fn set_raw<T>(&self, level: i32, name: i32, value: &T) -> io::Result<()> {
        // SAFETY: value points to size_of::<T>() readable bytes.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                value as *const T as *const libc::c_void,
                std::mem::size_of::<T>() as u32,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Sends one frame (the socket must be bound).
    pub fn send(&self, frame: &[u8]) -> Result<usize, NetError> {
        // SAFETY: frame is a valid readable buffer.
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                frame.as_ptr() as *const libc::c_void,
                frame.len(),
                0,
            )
        };
        if n < 0 {
            return Err(io_err("sending a frame")(io::Error::last_os_error()));
        }
        Ok(n as usize)
    }

    /// Waits up to `timeout` for a frame; `None` when none came.
    pub fn recv_timeout(
        &self,
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<Option<usize>, NetError> {
        if !poll_in(self.fd.as_raw_fd(), timeout).map_err(io_err("poll"))? {
            return Ok(None);
        }
        // SAFETY: buf is a valid writable buffer.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                return Ok(None);
            }
            return Err(io_err("receiving a frame")(e));
        }
        Ok(Some(n as usize))
    }
}

impl PacketSocket {
    /// Switches the socket to TPACKET_V2 and maps a packet ring of
    /// `frame_nr` frames of `frame_size` bytes (`opt` is
    /// `PACKET_TX_RING` or `PACKET_RX_RING`). The frame count is rounded
    /// up to fill whole 64 KiB blocks.
    pub fn map_ring(&self, opt: i32, frame_size: usize, frame_nr: usize) -> io::Result<MappedRing> {
        const BLOCK: usize = 1 << 16;
        if frame_size == 0 || frame_size % libc::TPACKET_ALIGNMENT != 0 || frame_size > BLOCK {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "bad ring frame size",
            ));
        }
        self.set_int(
            libc::SOL_PACKET,
            libc::PACKET_VERSION,
            libc::tpacket_versions::TPACKET_V2 as i32,
        )?;
        let per_block = BLOCK / frame_size;
        let blocks = frame_nr.div_ceil(per_block).max(1);
        let req = libc::tpacket_req {
            tp_block_size: BLOCK as u32,
            tp_block_nr: blocks as u32,
            tp_frame_size: frame_size as u32,
            tp_frame_nr: (blocks * per_block) as u32,
        };
        self.set_raw(libc::SOL_PACKET, opt, &req)?;
        let len = BLOCK * blocks;
        // SAFETY: mapping the ring the kernel just allocated for this fd.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_LOCKED | libc::MAP_POPULATE,
                self.fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(MappedRing {
            ptr: ptr as *mut u8,
            len,
            frame_size,
            frame_nr: blocks * per_block,
            per_block,
        })
    }
}

/// A memory-mapped TPACKET_V2 ring. Frames never straddle blocks, so frame
/// `i` sits at `(i / per_block) * 64 KiB + (i % per_block) * frame_size`.
#[derive(Debug)]
pub struct MappedRing {
    ptr: *mut u8,
    len: usize,
    /// Bytes per frame slot (header included).
    pub frame_size: usize,
    /// Number of frame slots.
    pub frame_nr: usize,
    per_block: usize,
}

// SAFETY: the mapping is owned by one MappedRing and only reached through it.
unsafe impl Send for MappedRing {}

impl MappedRing {
    /// Pointer to the start (the `tpacket2_hdr`) of frame slot `i`.
    pub fn frame(&self, i: usize) -> *mut u8 {
        debug_assert!(i < self.frame_nr);
        let off = (i / self.per_block) * (1 << 16) + (i % self.per_block) * self.frame_size;
        // SAFETY: off < len by construction of the ring geometry.
        unsafe { self.ptr.add(off) }
    }
}

impl Drop for MappedRing {
    fn drop(&mut self) {
        // SAFETY: ptr/len came from our mmap call.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Waits until `fd` is readable or `timeout` passes (true when readable).
pub fn poll_in(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: pfd is a valid pollfd array of length 1.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(e);
    }
    Ok(rc > 0 && pfd.revents & libc::POLLIN != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
ssw-s\t000012C6\t02FF13C6\t0003\t0\t0\t0\t0000FFFF\t0\t0\t0
ssw-s\t00FF13C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
down0\t000012C6\t00000000\t0000\t0\t0\t0\t0000FFFF\t0\t0\t0
";

    #[test]
    fn parses_routes_and_picks_longest_prefix() {
        let routes = parse_proc_route(ROUTE);
        assert_eq!(routes.len(), 3, "the route that is not up is left out");
        assert_eq!(routes[1].dest, Ipv4Addr::new(198, 18, 0, 0));
        assert_eq!(routes[1].mask, Ipv4Addr::new(255, 255, 0, 0));
        assert_eq!(routes[1].gateway, Some(Ipv4Addr::new(198, 19, 255, 2)));
        let r = lookup_route(&routes, Ipv4Addr::new(198, 18, 7, 9)).unwrap();
        assert_eq!(r.iface, "ssw-s");
        assert_eq!(
            r.next_hop(Ipv4Addr::new(198, 18, 7, 9)),
            Ipv4Addr::new(198, 19, 255, 2)
        );
        let r = lookup_route(&routes, Ipv4Addr::new(198, 19, 255, 7)).unwrap();
        assert_eq!(r.gateway, None);
        assert_eq!(
            r.next_hop(Ipv4Addr::new(198, 19, 255, 7)),
            Ipv4Addr::new(198, 19, 255, 7)
        );
        let r = lookup_route(&routes, Ipv4Addr::new(203, 0, 113, 1)).unwrap();
        assert_eq!(r.iface, "eth0", "default route");
        assert!(lookup_route(&routes[1..], Ipv4Addr::new(203, 0, 113, 1)).is_none());
    }

    #[test]
    fn parses_arp_table_keeping_complete_entries() {
        let text = "IP address       HW type     Flags       HW address            Mask     Device
198.19.255.2     0x1         0x2         02:aa:bb:cc:dd:ee     *        ssw-s
198.19.255.3     0x1         0x0         00:00:00:00:00:00     *        ssw-s
garbage
";
        let n = parse_proc_arp(text);
        assert_eq!(
            n,
            vec![Neighbour {
                ip: Ipv4Addr::new(198, 19, 255, 2),
                mac: [2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee],
                iface: "ssw-s".into()
            }]
        );
    }

    #[test]
    fn mac_parse_and_format() {
        let m = parse_mac("02:AA:0b:cc:dd:ee").unwrap();
        assert_eq!(format_mac(&m), "02:aa:0b:cc:dd:ee");
        assert_eq!(parse_mac("02-aa-0b-cc-dd-ee"), Some(m));
        for bad in [
            "",
            "02:aa:0b:cc:dd",
            "02:aa:0b:cc:dd:ee:ff",
            "zz:aa:0b:cc:dd:ee",
            "002:aa:0b:cc:dd:e",
        ] {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }

    #[test]
    fn loopback_interface_is_found() {
        let lo = interface("lo").unwrap();
        assert!(lo.index > 0);
        assert!(lo.ipv4.contains(&Ipv4Addr::LOCALHOST));
        assert!(matches!(
            interface("no-such-if0"),
            Err(NetError::NoInterface(_))
        ));
    }
}
