//! The Grabber engine over many loopback sessions.

mod common;

use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::time::Duration;

use common::*;
use smtpsweep_grab::{GrabConfig, Grabber, Status, raise_nofile_limit};
use smtpsweep_output::{Classification, ScanRecord};
use tokio::io::AsyncWriteExt;

/// Start loopback servers on a separate runtime thread; returns their addresses
/// (success, application-error, protocol-error, refused) and keeps them alive.
fn servers() -> (Vec<(SocketAddrV4, Status)>, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addrs = rt.block_on(async {
        let (ok, _) = serve_persona(Persona::postfix(StartTls::Refuse("454 4.7.0 no\r\n"))).await;
        let (busy, _) = serve_persona(Persona {
            greeting: "421 4.7.0 busy.example.test too many connections\r\n",
            ..Persona::postfix(StartTls::Refuse("454 no\r\n"))
        })
        .await;
        let http = serve_raw(|mut tcp| async move {
            let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        })
        .await;
        let (l, closed) = listener().await;
        drop(l);
        vec![
            (ok, Status::Success),
            (busy, Status::ApplicationError),
            (http, Status::ProtocolError),
            (closed, Status::ConnectionRefused),
        ]
    });
    (addrs, rt)
}

fn scan_record(addr: SocketAddrV4, seq: u32) -> ScanRecord {
    ScanRecord {
        ip: *addr.ip(),
        port: addr.port(),
        classification: Classification::Synack,
        success: true,
        repeat: false,
        cooldown: false,
        ttl: 64,
        ipid: 1,
        window: 65535,
        seq,
        ack: 1,
        daddr: "198.19.0.1".parse().unwrap(),
        dport: 40000,
        timestamp: "2026-11-30T09:00:00.000000Z".into(),
        icmp_responder: None,
        icmp_code: None,
    }
}

#[test]
fn two_thousand_sessions_at_concurrency_500() {
    raise_nofile_limit(8192).expect("rlimit");
    let (servers, _rt) = servers();
    let cfg = GrabConfig {
        concurrency: 500,
        ..quick_config()
    };
    let h = Grabber::start(cfg).expect("start");
    const N: u32 = 2000;
    let mut expected: HashMap<u32, (SocketAddrV4, Status)> = HashMap::new();
    for i in 0..N {
        let (addr, status) = servers[i as usize % servers.len()];
        expected.insert(i, (addr, status));
        // The scan record's seq identifies the submission, so no target can hide.
        h.input.send(addr, Some(scan_record(addr, i))).unwrap();
    }
    drop(h.input);
    let mut seen: HashMap<u32, Status> = HashMap::new();
    for rec in h.records.iter() {
        let scan = rec.scan.as_ref().expect("scan record carried through");
        assert_eq!((scan.ip, scan.port), (rec.ip, rec.port));
        assert!(
            seen.insert(scan.seq, rec.status).is_none(),
            "duplicate {}",
            scan.seq
        );
    }
    h.thread.join().unwrap();
    assert_eq!(
        seen.len(),
        N as usize,
        "every target yields exactly one record"
    );
    for (seq, status) in &seen {
        let (_, want) = expected[seq];
        assert_eq!(*status, want, "target #{seq}");
    }
    let s = h.stats.snapshot();
    assert_eq!(s.submitted, u64::from(N));
    assert_eq!(s.started, u64::from(N));
    assert_eq!(s.done, u64::from(N));
    assert_eq!((s.queued, s.in_flight, s.lost), (0, 0, 0));
    assert_eq!(
        s.by_status.iter().map(|(_, n)| n).sum::<u64>(),
        u64::from(N)
    );
    for (_, want) in &servers {
        let n = seen.values().filter(|s| *s == want).count() as u64;
        assert_eq!(s.count(*want), n);
        assert_eq!(n, u64::from(N) / servers.len() as u64);
    }
}

#[test]
fn send_wait_bounds_the_backlog_and_rate_limit_loses_nothing() {
    let (servers, _rt) = servers();
    let cfg = GrabConfig {
        concurrency: 4,
        max_backlog: 8,
        grab_rate: 2000,
        ..quick_config()
    };
    let h = Grabber::start(cfg).expect("start");
    let reader = std::thread::spawn(move || h.records.iter().count());
    let mut max_seen = 0;
    for i in 0..300 {
        h.input.send_wait(servers[i % 2].0, None).unwrap();
        // Only this thread adds to the queue, so right after a send_wait the
        // backlog is at most the limit.
        max_seen = max_seen.max(h.stats.queued());
        assert!(h.stats.queued() <= 8, "backlog {}", h.stats.queued());
    }
    drop(h.input);
    h.thread.join().unwrap();
    assert_eq!(reader.join().unwrap(), 300);
    assert!(max_seen >= 1);
    let s = h.stats.snapshot();
    assert_eq!(s.done, 300);
    assert_eq!(
        s.count(Status::Success) + s.count(Status::ApplicationError),
        300
    );
}

#[test]
fn invalid_config_does_not_start() {
    let cfg = GrabConfig {
        concurrency: 0,
        ..GrabConfig::default()
    };
    let err = Grabber::start(cfg).err().expect("rejected");
    assert!(err.to_string().contains("concurrency"), "{err}");
}

#[test]
fn nofile_limit_is_raised_within_the_hard_limit() {
    let now = raise_nofile_limit(0).unwrap();
    let raised = raise_nofile_limit(now + 1).unwrap();
    assert!(raised >= now);
    assert_eq!(
        raise_nofile_limit(u64::MAX).unwrap(),
        raise_nofile_limit(u64::MAX).unwrap()
    );
}

/// Aborting stops sessions in flight and empties the queue without losing a
/// target: every submitted target comes back, with its scan record, as
/// `interrupted`. The silent server would otherwise hold each session for
/// the whole 60 s deadline, so anything but `interrupted` means abort failed.
#[test]
fn abort_interrupts_in_flight_and_queued_targets() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let silent = rt.block_on(serve_raw(|tcp| async move {
        let _held_open = tcp;
        tokio::time::sleep(Duration::from_secs(120)).await;
    }));
    let cfg = GrabConfig {
        concurrency: 10,
        read_timeout: Duration::from_secs(60),
        session_timeout: Duration::from_secs(60),
        ..GrabConfig::default()
    };
    let h = Grabber::start(cfg).unwrap();
    for seq in 0..50 {
        h.input
            .send(silent, Some(scan_record(silent, seq)))
            .unwrap();
    }
    // Wait until the first sessions are really in flight.
    while h.stats.in_flight() < 10 {
        assert_eq!(
            h.stats.done(),
            0,
            "the silent server must hold every session"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    h.abort.abort();
    drop(h.input);
    let records: Vec<_> = h.records.iter().collect();
    h.thread.join().unwrap();
    assert_eq!(records.len(), 50);
    let mut seqs: Vec<u32> = records
        .iter()
        .map(|r| r.scan.as_ref().unwrap().seq)
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (0..50).collect::<Vec<_>>(),
        "every target once, with its scan record"
    );
    assert!(
        records.iter().all(|r| r.status == Status::Interrupted),
        "{records:?}"
    );
    let s = h.stats.snapshot();
    assert_eq!((s.done, s.queued, s.in_flight, s.lost), (50, 0, 0, 0));
}
