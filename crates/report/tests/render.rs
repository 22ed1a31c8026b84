//! Renderers: Markdown, HTML (self-contained, inline SVG), JSON (round trip,
//! every key documented in docs/report-schema.md), CSV (one file per table) and
//! chart files (SVG, PNG when a font is installed).

mod common;

use std::collections::BTreeSet;

use serde_json::Value;
use smtpsweep_mmdb::{MmdbWriter, asn_record, country_record};
use smtpsweep_report::model::Report;
use smtpsweep_report::{
    Aggregator, ReportConfig, VulnDb, chart_svg, charts, generate_fixture, load_font, render_html,
    render_json, render_markdown, tables, write_charts, write_csv,
};

use common::TempDir;

/// A report with every section filled: 3,000 generated records, scan
/// metadata, and country/ASN databases over 198.18.0.0/15.
fn report(dir: &TempDir) -> Report {
    let mut c = MmdbWriter::new("GeoLite2-Country");
    c.insert_cidr("198.18.0.0/16", country_record("XA", "Avalonia"))
        .unwrap();
    c.insert_cidr("198.19.0.0/17", country_record("XB", "Brobdingnag"))
        .unwrap();
    let mut a = MmdbWriter::new("GeoLite2-ASN");
    a.insert_cidr("198.18.0.0/15", asn_record(64500, "Example Hosting"))
        .unwrap();
    a.insert_cidr("198.19.128.0/17", asn_record(64501, "Fictional Cloud"))
        .unwrap();
    let cp = dir.path().join("c.mmdb");
    let ap = dir.path().join("a.mmdb");
    std::fs::write(&cp, c.to_bytes().unwrap()).unwrap();
    std::fs::write(&ap, a.to_bytes().unwrap()).unwrap();
    let cfg = ReportConfig {
        country_db: Some(cp),
        asn_db: Some(ap),
        ..ReportConfig::default()
    };
    let mut agg = Aggregator::new(cfg, VulnDb::builtin()).unwrap();
    agg.add_metadata(
        "meta.json",
        r#"{"shard":0,"shards":1,"ports":[25,587,465],"targets_scanned":393216,"hits_unique":3000,"packets_sent":393216,"duration_s":2.0,"exit_status":"completed"}"#,
    )
    .unwrap();
    let mut data = Vec::new();
    generate_fixture(3000, 42, &mut data).unwrap();
    data.extend_from_slice(b"garbage line\n");
    agg.add_reader("generated.jsonl", &data[..]);
    agg.finish()
}

#[test]
fn markdown_has_every_section_and_aligned_tables() {
    let dir = TempDir::new("md");
    let r = report(&dir);
    let md = render_markdown(&r);
    for h in [
        "## 1. Discovery",
        "## 2. Fingerprinting",
        "## 3. Versions",
        "## 4. Exposure",
        "## 5. Transport security",
        "## 6. Geography and providers",
        "## 7. Problems",
    ] {
        assert!(md.contains(h), "{h}");
    }
    for t in tables(&r) {
        assert!(md.contains(&format!("### {}", t.title)), "{}", t.title);
    }
    // Every table's lines have one width (padded columns).
    let mut block: Vec<&str> = Vec::new();
    let mut checked = 0;
    for line in md.lines().chain([""]) {
        if line.starts_with('|') {
            block.push(line);
        } else if !block.is_empty() {
            let w = block[0].chars().count();
            assert!(block.iter().all(|l| l.chars().count() == w), "{block:#?}");
            checked += 1;
            block.clear();
        }
    }
    assert!(checked >= 20, "{checked}");
    assert!(md.contains("| exim "));
    assert!(md.contains("Notice: 1 malformed line(s) skipped"));
}

#[test]
fn html_is_self_contained_with_inline_svg_charts() {
    let dir = TempDir::new("html");
    let r = report(&dir);
    let html = render_html(&r).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    let n_charts = charts(&r).len();
    assert!(n_charts >= 8, "{n_charts}");
    assert_eq!(html.matches("<svg").count(), n_charts);
    assert_eq!(html.matches("</svg>").count(), n_charts);
    let non_empty = tables(&r).iter().filter(|t| !t.rows.is_empty()).count();
    assert_eq!(html.matches("<table>").count(), non_empty);
    for bad in [
        "http://", "https://", "src=", "<script", "<link", "@import", "url(",
    ] {
        assert!(!html.contains(bad), "{bad}");
    }
    // Text from the data is escaped.
    assert!(html.contains("Let&#39;s Encrypt"));
    for id in [
        "chart_ports",
        "chart_families",
        "chart_tls_versions",
        "chart_countries",
        "chart_providers",
    ] {
        assert!(html.contains(&format!("<figure id=\"{id}\"")), "{id}");
    }
}

fn keys(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                // Port columns are data, not schema keys.
                if !k.chars().all(|c| c.is_ascii_digit()) && k != "other" {
                    out.insert(k.clone());
                }
                keys(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| keys(x, out)),
        _ => {}
    }
}

fn rounded(v: Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => Value::String(format!("{:.9}", n.as_f64().unwrap())),
        Value::Array(a) => Value::Array(a.into_iter().map(rounded).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, x)| (k, rounded(x))).collect()),
        other => other,
    }
}

#[test]
fn json_round_trips_and_every_key_is_documented() {
    let dir = TempDir::new("json");
    let r = report(&dir);
    let text = render_json(&r);
    // serde_json parses floats only to within an ulp: compare with floats
    // rounded.
    let back: Report = serde_json::from_str(&text).unwrap();
    let a: Value = serde_json::from_str(&render_json(&back)).unwrap();
    let b: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(rounded(a), rounded(b));
    assert_eq!(back.inputs, r.inputs);
    let v: Value = serde_json::from_str(&text).unwrap();
    let mut all = BTreeSet::new();
    keys(&v, &mut all);
    assert!(all.len() > 100, "{}", all.len());
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/report-schema.md"
    ))
    .unwrap();
    let missing: Vec<&String> = all
        .iter()
        .filter(|k| !doc.contains(&format!("`{k}`")))
        .collect();
    assert!(missing.is_empty(), "undocumented keys: {missing:?}");
}

#[test]
fn csv_writes_one_file_per_table() {
    let dir = TempDir::new("csv");
    let r = report(&dir);
    let out = dir.path().join("csv");
    let files = write_csv(&r, &out).unwrap();
    let ts = tables(&r);
    assert_eq!(files.len(), ts.len());
    for (f, t) in files.iter().zip(&ts) {
        assert_eq!(
            f.file_name().unwrap().to_str().unwrap(),
            format!("{}.csv", t.id)
        );
        let text = std::fs::read_to_string(f).unwrap();
        let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), t.rows.len() + 1, "{}", t.id);
        assert!(lines[0].starts_with(&t.columns[0]));
    }
    let issuers = std::fs::read_to_string(out.join("transport_issuers.csv")).unwrap();
    assert!(
        issuers.contains("\"CN=R3, O=Let's Encrypt, C=US\","),
        "{issuers}"
    );
    // Shares are fractions in CSV.
    let fam = std::fs::read_to_string(out.join("families.csv")).unwrap();
    let first = fam.split("\r\n").nth(1).unwrap();
    let share: f64 = first.rsplit(',').next().unwrap().parse().unwrap();
    assert!(share > 0.0 && share < 1.0, "{first}");
    // Writing into a path that is a file fails with a clear error.
    let e = write_csv(&r, &out.join("families.csv")).unwrap_err();
    assert!(e.to_string().contains("families.csv"), "{e}");
}

#[test]
fn chart_files_are_svg_and_png_when_a_font_exists() {
    let dir = TempDir::new("charts");
    let r = report(&dir);
    let out = dir.path().join("charts");
    let written = write_charts(&r, &out).unwrap();
    let cs = charts(&r);
    let svgs: Vec<_> = written
        .files
        .iter()
        .filter(|p| p.extension().unwrap() == "svg")
        .collect();
    let pngs: Vec<_> = written
        .files
        .iter()
        .filter(|p| p.extension().unwrap() == "png")
        .collect();
    assert_eq!(svgs.len(), cs.len());
    for c in &cs {
        let svg = std::fs::read_to_string(out.join(format!("{}.svg", c.id))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("<rect"), "{}", c.id);
        assert_eq!(svg, chart_svg(c).unwrap());
        for b in &c.bars {
            assert!(svg.contains(&b.value.to_string()), "{} {}", c.id, b.label);
        }
    }
    match load_font() {
        Some(font) => {
            eprintln!("PNG charts drawn with {}", font.display());
            assert_eq!(pngs.len(), cs.len());
            assert!(written.notice.is_none());
            for p in pngs {
                let bytes = std::fs::read(p).unwrap();
                assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
                let dec = png::Decoder::new(std::io::Cursor::new(bytes));
                let reader = dec.read_info().unwrap();
                assert_eq!(reader.info().width, 760);
            }
        }
        None => {
            eprintln!(
                "notice: no TrueType font installed (Debian: fonts-dejavu-core); PNG charts not tested"
            );
            assert!(pngs.is_empty());
            assert!(written.notice.as_deref().unwrap().contains("SVG only"));
        }
    }
}

#[test]
fn bars_follow_the_tables() {
    let dir = TempDir::new("bars");
    let r = report(&dir);
    let cs = charts(&r);
    let fam = cs.iter().find(|c| c.id == "chart_families").unwrap();
    let want: Vec<(String, u64)> = r
        .fingerprinting
        .family_rows
        .iter()
        .map(|f| (f.family.clone(), f.total))
        .collect();
    let got: Vec<(String, u64)> = fam
        .bars
        .iter()
        .map(|b| (b.label.clone(), b.value))
        .collect();
    assert_eq!(got, want);
    let tls = cs.iter().find(|c| c.id == "chart_tls_versions").unwrap();
    assert_eq!(
        tls.bars.iter().map(|b| b.value).sum::<u64>(),
        r.transport.tls_total
    );
    let ports = cs.iter().find(|c| c.id == "chart_ports").unwrap();
    assert_eq!(
        ports.bars.iter().map(|b| b.value).sum::<u64>(),
        r.discovery.services
    );
    for f in &r.versions.families {
        if f.versions.iter().any(|v| v.total > 0) {
            assert!(
                cs.iter()
                    .any(|c| c.id.starts_with("chart_versions_") && c.title.starts_with(&f.family))
            );
        }
    }
}
