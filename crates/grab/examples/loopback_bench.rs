//! Loopback throughput and memory of the grab engine.
//!
//! ```text
//! cargo run --release -p smtpsweep-grab --example loopback_bench -- \
//!     [--sessions N] [--concurrency C] [--starttls] [--delay-ms D]
//! ```
//!
//! A child process (this binary with `serve`) runs a Postfix-like SMTP server on
//! 127.0.0.1 (with STARTTLS and a self-signed rcgen certificate when `--starttls`),
//! pausing `D` ms before each greeting so that up to `C` sessions are in flight at
//! once. The parent runs a [`Grabber`] over `N` sessions and prints completed
//! sessions per second, the status counts, and its own peak resident memory.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddrV4;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use smtpsweep_grab::{GrabConfig, Grabber, raise_nofile_limit};

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn status_kib(field: &str) -> u64 {
    let mut s = String::new();
    std::fs::File::open("/proc/self/status")
        .and_then(|mut f| f.read_to_string(&mut s))
        .ok();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn serve(args: &[String]) {
    raise_nofile_limit(1 << 20).expect("rlimit");
    let tls = args.iter().any(|a| a == "--starttls");
    let delay = Duration::from_millis(arg(args, "--delay-ms", 0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let starttls = if tls {
            let cert = self_signed("mx.example.test", &["mx.example.test"]);
            StartTls::Tls(server_config(
                &cert,
                &[&rustls::version::TLS13, &rustls::version::TLS12],
            ))
        } else {
            StartTls::Refuse("454 4.7.0 TLS not available\r\n")
        };
        let mut persona = Persona::postfix(starttls);
        persona.greeting_delay = delay;
        let (addr, _log) = serve_persona(persona).await;
        println!("{addr}");
        // Serve until the parent closes our stdin.
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await
        .ok();
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        return serve(&args);
    }
    let sessions: u64 = arg(&args, "--sessions", 20_000);
    let concurrency: usize = arg(&args, "--concurrency", 1000);
    let delay: u64 = arg(&args, "--delay-ms", 0);
    let tls = args.iter().any(|a| a == "--starttls");
    let nofile = raise_nofile_limit(concurrency as u64 * 2 + 1024).expect("rlimit");

    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .arg("serve")
        .args(tls.then_some("--starttls"))
        .args(["--delay-ms", &delay.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("server address");
    let addr: SocketAddrV4 = line.trim().parse().expect("address");

    let rss_before = status_kib("VmRSS:");
    let cfg = GrabConfig {
        concurrency,
        connect_timeout: Duration::from_secs(10),
        read_timeout: Duration::from_secs(10),
        session_timeout: Duration::from_secs(60),
        ..GrabConfig::default()
    };
    let started = Instant::now();
    let h = Grabber::start(cfg).expect("start");
    let stats = h.stats.clone();
    let reader = std::thread::spawn(move || {
        let mut n = 0u64;
        let mut first_errors = std::collections::BTreeMap::new();
        for rec in h.records.iter() {
            n += 1;
            if let Some(e) = rec.error {
                first_errors.entry(rec.status).or_insert(e);
            }
        }
        (n, first_errors)
    });
    let mut peak_in_flight = 0;
    let sampler = {
        let stats = stats.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while stats.done() < sessions {
                peak = peak.max(stats.in_flight());
                std::thread::sleep(Duration::from_millis(5));
            }
            peak
        })
    };
    for _ in 0..sessions {
        h.input.send(addr, None).expect("send");
    }
    drop(h.input);
    h.thread.join().expect("engine");
    let elapsed = started.elapsed();
    let (records, first_errors) = reader.join().expect("reader");
    peak_in_flight = sampler.join().unwrap_or(peak_in_flight);
    drop(child.stdin.take());
    let _ = child.wait();

    let snap = stats.snapshot();
    println!(
        "sessions {sessions} concurrency {concurrency} starttls {tls} delay {delay} ms (RLIMIT_NOFILE {nofile})"
    );
    println!(
        "records {records} in {:.2} s: {:.0} sessions/s; peak in flight {peak_in_flight}",
        elapsed.as_secs_f64(),
        records as f64 / elapsed.as_secs_f64()
    );
    println!(
        "client peak RSS {} MiB (RSS before start {} MiB)",
        status_kib("VmHWM:") / 1024,
        rss_before / 1024
    );
    for (status, n) in snap.by_status.iter().filter(|(_, n)| *n > 0) {
        match first_errors.get(status) {
            Some(e) => println!("  {status}: {n} (first: {e})"),
            None => println!("  {status}: {n}"),
        }
    }
}
