//! Root integration test: scans the local testbed (network namespaces in
//! 198.18.0.0/15, nothing routed out) and compares with its ground truth.
//!
//! Needs root (CI runs as root). Outside CI a non-root run prints a notice
//! and skips; in CI (CI set) it fails instead, so it cannot pass unrun.

use std::collections::{BTreeSet, HashSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use smtpsweep_testbed::{Testbed, TestbedConfig};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn need_root() -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the testbed tests as root"
    );
    eprintln!("skipping: the testbed test needs root");
    false
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ssw-it-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs smtpsweep inside the scanner namespace; returns its stderr.
fn smtpsweep(tb: &Testbed, args: &[&str]) -> String {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            tb.scanner_ns(),
            env!("CARGO_BIN_EXE_smtpsweep"),
        ])
        .args(args)
        .output()
        .expect("running smtpsweep");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "smtpsweep {args:?} failed: {err}");
    err
}

fn open_pairs(path: &Path) -> Vec<(Ipv4Addr, u16)> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            assert_eq!(v["classification"], "synack", "{l}");
            assert_eq!(v["success"], true, "{l}");
            (
                v["ip"].as_str().unwrap().parse().unwrap(),
                v["port"].as_u64().unwrap() as u16,
            )
        })
        .collect()
}

fn truth_open(tb: &Testbed, within: impl Fn(Ipv4Addr) -> bool) -> BTreeSet<(Ipv4Addr, u16)> {
    tb.truth()
        .open
        .iter()
        .map(|o| (o.ip, o.port))
        .filter(|(ip, _)| within(*ip))
        .collect()
}

fn in_net(ip: Ipv4Addr, net: u32, bits: u32) -> bool {
    (u32::from(ip) ^ net) >> (32 - bits) == 0
}

/// Records the destination of every TCP SYN seen on the internet side of the veth.
fn capture_syns(tb: &Testbed, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<Ipv4Addr>> {
    let ns = tb.inet_ns().to_string();
    let iface = tb.inet_iface().to_string();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        let f = std::fs::File::open(format!("/run/netns/{ns}")).unwrap();
        // SAFETY: setns on this thread only, with a valid netns descriptor.
        let rc = unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&f), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns");
        let idx = smtpsweep_netdev::interface(&iface).unwrap().index;
        let sock = smtpsweep_netdev::PacketSocket::open(libc::ETH_P_IP as u16).unwrap();
        sock.bind(idx, libc::ETH_P_IP as u16).unwrap();
        // A large buffer so the capture itself loses nothing.
        sock.set_int(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 64 << 20)
            .unwrap();
        ready_tx.send(()).unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            if let Some(n) = sock
                .recv_timeout(&mut buf, std::time::Duration::from_millis(50))
                .unwrap()
            {
                let f = &buf[..n];
                // Ethernet + IPv4 + TCP with SYN and not ACK.
                if n >= 14 + 20 + 20 && f[12..14] == [8, 0] && f[23] == 6 {
                    let ihl = usize::from(f[14] & 0xf) * 4;
                    let flags = f[14 + ihl + 13];
                    if flags & 0x02 != 0 && flags & 0x10 == 0 {
                        seen.push(Ipv4Addr::new(f[30], f[31], f[32], f[33]));
                    }
                }
            }
        }
        seen
    });
    ready_rx.recv().unwrap();
    h
}

#[test]
fn scan_finds_exactly_the_ground_truth() {
    if !need_root() {
        return;
    }
    let name = format!("it{}", std::process::id() % 100_000);
    let tb = Testbed::up(&TestbedConfig {
        name,
        prefix: "198.18.0.0/16".into(),
        seed: 7,
        density: 0.03,
    })
    .expect("testbed up");
    let dir = scratch("scan");

    // 1. The whole /16 on three ports: recall ≥ 99.9 %, precision 100 %.
    let out = dir.join("full.jsonl");
    let meta = dir.join("full.meta.json");
    smtpsweep(
        &tb,
        &[
            "scan",
            "--allow-reserved",
            "198.18.0.0/16",
            "-r",
            "40000",
            "-c",
            "3",
            "-q",
            "-o",
            out.to_str().unwrap(),
            "-m",
            meta.to_str().unwrap(),
            "-e",
            "11",
        ],
    );
    let found = open_pairs(&out);
    let unique: BTreeSet<_> = found.iter().copied().collect();
    assert_eq!(unique.len(), found.len(), "each open pair is written once");
    let truth = truth_open(&tb, |_| true);
    assert!(
        truth.len() > 1000,
        "the testbed has open ports: {}",
        truth.len()
    );
    let false_pos: Vec<_> = unique.difference(&truth).collect();
    assert!(
        false_pos.is_empty(),
        "not open in the ground truth: {false_pos:?}"
    );
    let hit = unique.intersection(&truth).count();
    let recall = hit as f64 / truth.len() as f64;
    eprintln!(
        "full /16 x 3 ports: {hit} of {} open pairs found (recall {recall:.4}), {} false positives",
        truth.len(),
        false_pos.len()
    );
    assert!(
        recall >= 0.999,
        "recall {recall} ({hit} of {})",
        truth.len()
    );
    let md: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta).unwrap()).unwrap();
    assert_eq!(md["packets_sent"], 65536 * 3);
    assert_eq!(md["seed"], 11);
    assert_eq!(md["exit_status"], "completed");
    // Every key a real scan writes is documented in docs/schema.md.
    let schema =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/schema.md"))
            .unwrap();
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    for key in first
        .as_object()
        .unwrap()
        .keys()
        .chain(md.as_object().unwrap().keys())
    {
        assert!(
            schema.contains(&format!("`{key}`")),
            "{key} is not documented in docs/schema.md"
        );
    }

    // 2. Out-of-scope and blocklisted addresses get no probe: captured on the veth.
    let bl = dir.join("block.txt");
    std::fs::write(&bl, "# keep the lower quarter only\n198.18.64.0/18\n").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let cap = capture_syns(&tb, stop.clone());
    let out2 = dir.join("part.jsonl");
    smtpsweep(
        &tb,
        &[
            "scan",
            "--allow-reserved",
            "198.18.0.0/17",
            "-b",
            bl.to_str().unwrap(),
            "-r",
            "20000",
            "-c",
            "2",
            "-q",
            "-o",
            out2.to_str().unwrap(),
        ],
    );
    stop.store(true, Ordering::Relaxed);
    let syns = cap.join().unwrap();
    assert_eq!(
        syns.len(),
        16384 * 3,
        "one probe per allowed target reached the veth"
    );
    let stray: Vec<_> = syns
        .iter()
        .filter(|ip| !in_net(**ip, 0xC612_0000, 18))
        .collect();
    assert!(
        stray.is_empty(),
        "probes outside 198.18.0.0/18: {:?}",
        &stray[..stray.len().min(5)]
    );
    let part: BTreeSet<_> = open_pairs(&out2).into_iter().collect();
    assert_eq!(part, truth_open(&tb, |ip| in_net(ip, 0xC612_0000, 18)));

    // -N: stop once that many open ports answered.
    let meta_n = dir.join("maxres.meta.json");
    let out_n = dir.join("maxres.jsonl");
    smtpsweep(
        &tb,
        &[
            "scan",
            "--allow-reserved",
            "198.18.0.0/16",
            "-r",
            "20000",
            "-c",
            "1",
            "-q",
            "-N",
            "50",
            "-o",
            out_n.to_str().unwrap(),
            "-m",
            meta_n.to_str().unwrap(),
        ],
    );
    let mn: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_n).unwrap()).unwrap();
    assert_eq!(mn["exit_status"], "max-results", "{mn}");
    assert!(mn["hits_unique"].as_u64().unwrap() >= 50);
    assert!(
        mn["packets_sent"].as_u64().unwrap() < 65536 * 3,
        "stopped early: {mn}"
    );
    assert!(open_pairs(&out_n).len() >= 50);

    // 3. Four shards with one seed, run as four processes at once: disjoint, same union.
    let mut handles = Vec::new();
    for i in 0..4 {
        let o = dir.join(format!("shard{i}.jsonl"));
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            tb.scanner_ns(),
            env!("CARGO_BIN_EXE_smtpsweep"),
        ])
        .args([
            "scan",
            "--allow-reserved",
            "198.18.0.0/16",
            "-r",
            "10000",
            "-c",
            "3",
            "-q",
            "-e",
            "99",
            "--shards",
            "4",
            "--shard",
            &i.to_string(),
            "-o",
            o.to_str().unwrap(),
        ]);
        handles.push((o, c.spawn().unwrap()));
    }
    let mut union = HashSet::new();
    let mut total = 0;
    for (o, mut child) in handles {
        assert!(child.wait().unwrap().success());
        let pairs = open_pairs(&o);
        total += pairs.len();
        union.extend(pairs);
    }
    assert_eq!(total, union.len(), "a pair appeared in two shards");
    let union: BTreeSet<_> = union.into_iter().collect();
    assert_eq!(union, truth, "the shards together find the ground truth");

    tb.down().expect("testbed down");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The dry run lists every target once, shards and threads partition it.
#[test]
fn dryrun_shards_partition_the_space() {
    let run_seed = |seed: &str, extra: &[&str]| -> Vec<String> {
        let out = Command::new(env!("CARGO_BIN_EXE_smtpsweep"))
            .args([
                "scan",
                "--dryrun",
                "--allow-reserved",
                "198.18.3.0/26",
                "198.18.9.7",
                "-e",
                seed,
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let run = |extra: &[&str]| run_seed("5", extra);
    let all = run(&[]);
    assert_eq!(all.len(), 65 * 3);
    let set: BTreeSet<_> = all.iter().cloned().collect();
    assert_eq!(set.len(), all.len());
    for threads in ["1", "3"] {
        let mut parts = Vec::new();
        for i in 0..5 {
            parts.extend(run(&[
                "--shards",
                "5",
                "--shard",
                &i.to_string(),
                "-T",
                threads,
            ]));
        }
        assert_eq!(parts.len(), all.len(), "threads {threads}");
        assert_eq!(parts.into_iter().collect::<BTreeSet<_>>(), set);
    }
    // --probes 2: every target twice, all first copies before any second.
    let two = run(&["--probes", "2"]);
    assert_eq!(two.len(), 2 * all.len());
    let strip = |l: &String| l.split(' ').next().unwrap().to_string();
    assert_eq!(
        two[..all.len()].iter().map(strip).collect::<Vec<_>>(),
        all.iter().map(strip).collect::<Vec<_>>()
    );
    assert!(two[..all.len()].iter().all(|l| l.ends_with("probe=0")));
    assert!(two[all.len()..].iter().all(|l| l.ends_with("probe=1")));
    // -n: the first n targets of the order.
    assert_eq!(run(&["-n", "10"]), all[..10].to_vec());
    // Same seed, same order; another seed, another order.
    assert_eq!(run(&[]), all);
    assert_ne!(run_seed("6", &[]), all);
}

#[test]
fn bad_input_is_a_one_line_error() {
    for (args, want) in [
        (vec!["scan", "198.18.0.0/33"], "198.18.0.0/33"),
        (
            vec!["scan", "-p", "25,0", "--allow-reserved", "198.18.0.0/24"],
            "0",
        ),
        (vec!["scan", "10.0.0.0/8"], "reserved"),
        (
            vec!["scan", "--shards", "2", "--shard", "2", "198.18.0.0/24"],
            "--shard",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_smtpsweep"))
            .args(&args)
            .arg("--dryrun")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}
