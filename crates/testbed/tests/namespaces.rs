//! Root-only: brings real testbeds up in network namespaces and checks them from the scanner
//! side. Every packet stays inside the namespaces these tests create and delete.

mod personas;

use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::process::Command;
use std::time::Duration;

use smtpsweep_testbed::netns::{count_listeners_in_netns, is_root, netns_exists};
use smtpsweep_testbed::persona;
use smtpsweep_testbed::{CertKind, Error, GroundTruth, Testbed, TestbedConfig, TlsMode};
use socket2::{Domain, Protocol, Socket, Type};

/// A testbed name unique to this process and test: `t<pid in base 36><tag>`.
fn unique_name(tag: char) -> String {
    let mut pid = std::process::id();
    let mut digits = Vec::new();
    loop {
        digits.push(char::from_digit(pid % 36, 36).unwrap());
        pid /= 36;
        if pid == 0 {
            break;
        }
    }
    let mut name = String::from("t");
    name.extend(digits.iter().rev());
    name.push(tag);
    name
}

fn skip_unless_root(test: &str) -> bool {
    if is_root() {
        return false;
    }
    eprintln!("NOTICE: skipping {test}: it needs root to create network namespaces");
    true
}

fn stdout_of(tb: &Testbed, program: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(program);
    cmd.args(args);
    let out = tb.exec(&cmd).unwrap();
    assert!(out.status.success(), "{program} {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn inet_stdout(tb: &Testbed, args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(["-n", tb.inet_ns()])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// An ICMP echo request with a correct checksum.
fn echo_request(id: u16, seq: u16) -> Vec<u8> {
    let mut pkt = vec![8, 0, 0, 0];
    pkt.extend_from_slice(&id.to_be_bytes());
    pkt.extend_from_slice(&seq.to_be_bytes());
    pkt.extend_from_slice(b"smtpsweep-testbed");
    let mut sum: u32 = pkt
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    pkt[2..4].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    pkt
}

/// Every ICMP message (source, type) that arrives on `sock` until it stays quiet.
fn drain_icmp(sock: &mut Socket) -> Vec<(Ipv4Addr, u8)> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        match sock.read(&mut buf) {
            Ok(n) if n >= 20 => {
                let ihl = usize::from(buf[0] & 0x0f) * 4;
                let src = Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]);
                if n > ihl {
                    seen.push((src, buf[ihl]));
                }
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return seen;
            }
            Err(e) => panic!("reading the ICMP socket: {e}"),
        }
    }
}

#[test]
fn testbed_answers_like_its_ground_truth() {
    if skip_unless_root("testbed_answers_like_its_ground_truth") {
        return;
    }
    // Seed 3 at 50% puts every hostile persona at least twice into this /24.
    let config = TestbedConfig {
        name: unique_name('a'),
        prefix: "198.18.42.0/24".into(),
        seed: 3,
        density: 0.5,
    };
    let tb = Testbed::up(&config).unwrap();
    let truth = tb.truth().clone();
    assert!(truth.open.len() > 100 && !truth.closed.is_empty());
    assert!(truth.is_provisioned());
    let ca_pem = tb.ca_pem().to_owned();
    assert!(ca_pem.starts_with(tb.work_dir()) && ca_pem.is_file());
    assert_eq!(GroundTruth::load(&tb.truth_path()).unwrap(), truth);
    let counts = truth.persona_counts();
    for p in persona::hostile() {
        assert!(
            counts.get(p.name()).copied().unwrap_or(0) >= 2,
            "{}",
            p.name()
        );
    }
    for mode in [TlsMode::None, TlsMode::Starttls, TlsMode::Implicit] {
        assert!(truth.open.iter().any(|o| o.tls == mode), "{mode:?}");
    }
    assert!(netns_exists(tb.scanner_ns()) && netns_exists(tb.inet_ns()));
    assert_eq!(tb.listeners(), truth.open.len());
    assert_eq!(
        count_listeners_in_netns(tb.inet_ns()).unwrap(),
        truth.open.len()
    );
    assert_eq!(count_listeners_in_netns(tb.scanner_ns()).unwrap(), 0);

    // Routing: the scanner knows only the link and the testbed prefix; no default anywhere.
    let scan_routes = stdout_of(&tb, "ip", &["-4", "route", "show", "table", "all"]);
    assert!(!scan_routes.contains("default"), "{scan_routes}");
    assert!(
        scan_routes.contains(&format!(
            "198.18.42.0/24 via 198.19.255.2 dev {}",
            tb.scanner_iface()
        )),
        "{scan_routes}"
    );
    let main_routes = stdout_of(&tb, "ip", &["-4", "route", "show"]);
    assert_eq!(main_routes.lines().count(), 2, "{main_routes}");
    let addrs = stdout_of(&tb, "ip", &["-4", "-o", "addr", "show"]);
    assert!(
        addrs.contains(&format!("{} ", tb.scanner_iface())) && addrs.contains("198.19.255.1/30")
    );
    let inet_routes = inet_stdout(&tb, &["-4", "route", "show", "table", "all"]);
    assert!(!inet_routes.contains("default"), "{inet_routes}");
    let local = inet_stdout(&tb, &["-4", "route", "show", "table", "local", "dev", "lo"]);
    let local_testbed = local
        .lines()
        .filter(|l| l.starts_with("local 198.18.42."))
        .count();
    assert_eq!(local_testbed, truth.live_hosts.len(), "{local}");

    let dead: Vec<Ipv4Addr> = truth.dead_hosts().take(2).collect();
    let live_probe = truth.live_hosts[0];
    let tb_ref = &tb;
    tb.run_in_scanner(move || {
        let mut icmp = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)).unwrap();
        icmp.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();

        // Every open pair answers like its ground truth says: greeting, EHLO extensions before
        // and inside TLS, certificate and TLS version, HELP, and each hostile behaviour.
        let clients = personas::Clients::new(&ca_pem);
        for open in &truth.open {
            personas::check_pair(&clients, open);
        }
        // The chains verify against the test CA exactly when they are CA-signed and current.
        for kind in [CertKind::CaSigned, CertKind::Expired, CertKind::SelfSigned] {
            for port in [465, 25, 587] {
                if let Some(open) = truth
                    .open
                    .iter()
                    .find(|o| o.cert_kind == Some(kind) && o.port == port)
                {
                    personas::verify_chain(&clients, open);
                }
            }
        }

        // Closed ports on live hosts answer with RST: connection refused.
        for closed in &truth.closed {
            let addr = SocketAddr::V4(SocketAddrV4::new(closed.ip, closed.port));
            let err = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{addr}: {err}");
        }

        // The ICMP socket sees traffic: an echo request to a live host gets its reply.
        drain_icmp(&mut icmp);
        let target = SocketAddr::V4(SocketAddrV4::new(live_probe, 0));
        icmp.send_to(&echo_request(0x5353, 1), &target.into())
            .unwrap();
        let seen = drain_icmp(&mut icmp);
        assert!(seen.contains(&(live_probe, 0)), "no echo reply: {seen:?}");

        // Dead hosts are silent: no RST, no ICMP unreachable, the connect just times out.
        for ip in &dead {
            assert!(!tb_ref.truth().is_live(*ip));
            let addr = SocketAddr::V4(SocketAddrV4::new(*ip, 25));
            let err = TcpStream::connect_timeout(&addr, Duration::from_millis(700)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::TimedOut, "{addr}: {err}");
        }
        let seen = drain_icmp(&mut icmp);
        assert!(seen.is_empty(), "dead hosts caused ICMP: {seen:?}");

        // Outside the testbed prefix there is no route at all: nothing is even sent.
        let outside = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(198, 18, 43, 1), 25));
        let err = TcpStream::connect_timeout(&outside, Duration::from_secs(1)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NetworkUnreachable, "{err}");
    })
    .unwrap();

    let (scan_ns, inet_ns) = (tb.scanner_ns().to_owned(), tb.inet_ns().to_owned());
    let work_dir = tb.work_dir().to_owned();
    tb.down().unwrap();
    assert!(!netns_exists(&scan_ns) && !netns_exists(&inet_ns));
    assert!(!work_dir.exists(), "{}", work_dir.display());
    let listed = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        !listed.contains(&scan_ns) && !listed.contains(&inet_ns),
        "{listed}"
    );
}

#[test]
fn duplicate_and_invalid_testbeds_are_refused_without_leftovers() {
    if skip_unless_root("duplicate_and_invalid_testbeds_are_refused_without_leftovers") {
        return;
    }
    let config = TestbedConfig {
        name: unique_name('b'),
        prefix: "198.19.7.0/28".into(),
        seed: 3,
        density: 0.5,
    };
    let first = Testbed::up(&config).unwrap();
    let err = Testbed::up(&config).unwrap_err();
    assert!(matches!(err, Error::NamespaceExists(_)), "{err}");
    // The refused second attempt must not have removed the first testbed's namespaces.
    assert!(netns_exists(first.scanner_ns()) && netns_exists(first.inet_ns()));
    let addrs = stdout_of(&first, "ip", &["-4", "-o", "addr", "show"]);
    assert!(addrs.contains("198.19.255.1/30"), "{addrs}");

    let (scan_ns, inet_ns) = (first.scanner_ns().to_owned(), first.inet_ns().to_owned());
    drop(first);
    assert!(!netns_exists(&scan_ns) && !netns_exists(&inet_ns));

    for (prefix, name) in [
        ("10.0.0.0/24", unique_name('c')),
        ("198.19.255.0/24", unique_name('c')),
        ("198.18.0.0/16", "Bad Name".to_owned()),
    ] {
        let bad = TestbedConfig {
            name: name.clone(),
            prefix: prefix.into(),
            seed: 1,
            density: 0.1,
        };
        assert!(Testbed::up(&bad).is_err(), "{prefix} {name}");
    }
    assert!(!netns_exists(&format!("ssw-{}-scan", unique_name('c'))));
    assert!(!netns_exists(&format!("ssw-{}-inet", unique_name('c'))));
}
