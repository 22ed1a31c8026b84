//! Throughput of the report aggregation on a generated file.
//!
//! ```text
//! cargo run --release -p smtpsweep-report --example report_bench -- [N] [FILE] [--gzip] [--geo]
//! ```
//!
//! Writes `N` (default 1,000,000) generated records to `FILE` (default
//! `/tmp/smtpsweep-report-bench.jsonl`) unless it already exists, then reads it
//! once with the aggregator (one thread) and prints records per second and
//! MB per second. `--geo` adds country and ASN lookups in fictional MaxMind
//! databases over 198.18.0.0/15 (256 and 64 prefixes). Peak memory: run it
//! under `/usr/bin/time -v`.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use smtpsweep_report::{Aggregator, ReportConfig, VulnDb, generate_fixture, render_markdown};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let gzip = args.iter().any(|a| a == "--gzip");
    let geo = args.iter().any(|a| a == "--geo");
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let n: usize = pos
        .first()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let path = PathBuf::from(
        pos.get(1)
            .map_or("/tmp/smtpsweep-report-bench.jsonl", |s| s.as_str()),
    );
    if !path.exists() {
        let t = Instant::now();
        let f = std::fs::File::create(&path).expect("create fixture file");
        if gzip {
            let mut w =
                flate2::write::GzEncoder::new(BufWriter::new(f), flate2::Compression::fast());
            generate_fixture(n, 1, &mut w).expect("write fixture");
            w.finish().expect("finish gzip").flush().expect("flush");
        } else {
            let mut w = BufWriter::new(f);
            generate_fixture(n, 1, &mut w).expect("write fixture");
            w.flush().expect("flush");
        }
        eprintln!(
            "generated {n} records into {} in {:.1?}",
            path.display(),
            t.elapsed()
        );
    }
    let cpu0 = cpu_seconds();
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let t = Instant::now();
    let mut cfg = ReportConfig::default();
    if geo {
        let (c, a) = geo_dbs();
        cfg.country_db = Some(c);
        cfg.asn_db = Some(a);
    }
    let mut agg = Aggregator::new(cfg, VulnDb::builtin()).expect("aggregator");
    agg.add_file(&path).expect("read input");
    let read = t.elapsed();
    let cpu = cpu_seconds() - cpu0;
    let report = agg.finish();
    let total = t.elapsed();
    let records = report.inputs.records;
    println!(
        "records={records} services={} malformed={} file_bytes={bytes}",
        report.discovery.services, report.inputs.malformed
    );
    println!(
        "aggregate: {:.3} s, {:.0} records/s, {:.0} MB/s (file bytes); finish: {:.3} s",
        read.as_secs_f64(),
        records as f64 / read.as_secs_f64(),
        bytes as f64 / 1e6 / read.as_secs_f64(),
        (total - read).as_secs_f64()
    );
    println!(
        "aggregate CPU time (user+sys of this process): {cpu:.3} s, {:.0} records per CPU second",
        records as f64 / cpu
    );
    println!(
        "end to end (read + finish): {:.0} records/s",
        records as f64 / total.as_secs_f64()
    );
    let md = render_markdown(&report);
    eprintln!("markdown report: {} bytes", md.len());
}

/// Fictional country (/23 prefixes) and ASN (/21 prefixes) databases.
fn geo_dbs() -> (PathBuf, PathBuf) {
    use smtpsweep_mmdb::{MmdbWriter, asn_record, country_record};
    let mut c = MmdbWriter::new("GeoLite2-Country");
    let mut a = MmdbWriter::new("GeoLite2-ASN");
    let base = u32::from(std::net::Ipv4Addr::new(198, 18, 0, 0));
    for i in 0..256u32 {
        let net = std::net::Ipv4Addr::from(base + (i << 9));
        let iso = format!("X{}", (b'A' + (i % 26) as u8) as char);
        c.insert(net, 23, country_record(&iso, &format!("Country {iso}")))
            .expect("insert");
    }
    for i in 0..64u32 {
        let net = std::net::Ipv4Addr::from(base + (i << 11));
        a.insert(
            net,
            21,
            asn_record(64_500 + i % 20, &format!("Provider {}", i % 20)),
        )
        .expect("insert");
    }
    let cp = std::env::temp_dir().join("smtpsweep-bench-country.mmdb");
    let ap = std::env::temp_dir().join("smtpsweep-bench-asn.mmdb");
    std::fs::write(&cp, c.to_bytes().expect("country db")).expect("write");
    std::fs::write(&ap, a.to_bytes().expect("asn db")).expect("write");
    (cp, ap)
}

/// User + system CPU seconds of this process, from /proc/self/stat (Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 (1-based); here 11 and 12 (0-based after ')').
    (ticks(11) + ticks(12)) / 100.0
}
