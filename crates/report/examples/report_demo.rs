//! Writes every output of a report over generated records, for a look.
//!
//! ```text
//! cargo run -p smtpsweep-report --example report_demo -- OUT_DIR [N]
//! ```
//!
//! Generates `N` (default 5,000) records and fictional country/ASN
//! databases over 198.18.0.0/15 (built with smtpsweep-mmdb), then writes
//! `report.md`, `report.html`, `report.json`, `csv/` and `charts/` into
//! `OUT_DIR`.

use std::path::PathBuf;

use smtpsweep_mmdb::{MmdbWriter, asn_record, country_record};
use smtpsweep_report::{
    Aggregator, ReportConfig, VulnDb, generate_fixture, render_html, render_json, render_markdown,
    write_charts, write_csv,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "/tmp/smtpsweep-report-demo".into()),
    );
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5_000);
    std::fs::create_dir_all(&out).expect("create output directory");
    let mut c = MmdbWriter::new("GeoLite2-Country").description("en", "fictional countries");
    let mut a = MmdbWriter::new("GeoLite2-ASN").description("en", "fictional providers");
    let countries = [
        ("XA", "Avalonia"),
        ("XB", "Brobdingnag"),
        ("XC", "Cockaigne"),
        ("XD", "Dinotopia"),
        ("XE", "Erewhon"),
    ];
    let providers = [
        (64500, "Example Hosting"),
        (64501, "Fictional Cloud"),
        (64502, "Imaginary Telecom"),
        (64503, "Nowhere Networks"),
    ];
    for i in 0..32u32 {
        let net =
            std::net::Ipv4Addr::from(u32::from(std::net::Ipv4Addr::new(198, 18, 0, 0)) + (i << 12));
        let (iso, name) = countries[(i as usize * 7 + i as usize / 3) % countries.len()];
        if i % 11 != 5 {
            c.insert(net, 20, country_record(iso, name))
                .expect("insert");
        }
        let (asn, org) = providers[(i as usize * 5 / 3) % providers.len()];
        a.insert(net, 20, asn_record(asn, org)).expect("insert");
    }
    let cp = out.join("country.mmdb");
    let ap = out.join("asn.mmdb");
    std::fs::write(&cp, c.to_bytes().expect("country db")).expect("write");
    std::fs::write(&ap, a.to_bytes().expect("asn db")).expect("write");
    let mut data = Vec::new();
    generate_fixture(n, 7, &mut data).expect("generate");
    let cfg = ReportConfig {
        country_db: Some(cp),
        asn_db: Some(ap),
        ..ReportConfig::default()
    };
    let mut agg = Aggregator::new(cfg, VulnDb::builtin()).expect("aggregator");
    agg.add_metadata(
        "scan-meta.json",
        &format!(
            r#"{{"shard":0,"shards":1,"ports":[25,587,465],"targets_scanned":393216,"hits_unique":{n},"packets_sent":393216,"duration_s":12.5,"start_time":"2026-11-30T09:00:00Z","exit_status":"completed"}}"#
        ),
    )
    .expect("metadata");
    agg.add_reader("generated.jsonl", &data[..]);
    let r = agg.finish();
    std::fs::write(out.join("report.md"), render_markdown(&r)).expect("write md");
    std::fs::write(out.join("report.html"), render_html(&r).expect("html")).expect("write html");
    std::fs::write(out.join("report.json"), render_json(&r)).expect("write json");
    let csv = write_csv(&r, &out.join("csv")).expect("csv");
    let charts = write_charts(&r, &out.join("charts")).expect("charts");
    if let Some(n) = &charts.notice {
        eprintln!("notice: {n}");
    }
    println!(
        "wrote {} (report.md, report.html, report.json, {} CSV files, {} chart files)",
        out.display(),
        csv.len(),
        charts.files.len()
    );
}
