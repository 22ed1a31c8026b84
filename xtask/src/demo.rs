//! `cargo xtask demo`: the whole pipeline against the local testbed — bring
//! it up, sweep it for real with smtpsweep (SYN scan, banner grab,
//! fingerprints), compare with the testbed's ground truth, print the
//! Markdown report and write the HTML one, and take the testbed down again.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::process::Command;

use anyhow::{Context, Result, bail};
use smtpsweep_testbed::{Testbed, TestbedConfig};

use crate::sys::{ensure_root, ensure_tool, run_ok, target_dir};

/// Options of `cargo xtask demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Testbed prefix (inside 198.18.0.0/15).
    #[arg(long, default_value = "198.18.0.0/16")]
    pub prefix: String,
    /// Testbed seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of live hosts.
    #[arg(long, default_value_t = 0.03)]
    pub density: f64,
    /// Scan rate, packets per second.
    #[arg(long, default_value = "20000")]
    pub rate: String,
}

pub fn run(a: DemoArgs) -> Result<()> {
    ensure_root()?;
    ensure_tool("ip", "iproute2")?;
    eprintln!("demo: building smtpsweep (release)…");
    run_ok(Command::new(env!("CARGO")).args(["build", "--release", "--quiet", "-p", "smtpsweep"]))?;
    let bin = target_dir().join("release/smtpsweep");
    let out_dir = target_dir().join("demo");
    std::fs::create_dir_all(&out_dir)?;
    let results = out_dir.join("sweep.jsonl");
    let meta = out_dir.join("sweep.meta.json");
    let html = out_dir.join("report.html");
    let charts = out_dir.join("charts");

    let tb = Testbed::up(&TestbedConfig {
        name: "demo".into(),
        prefix: a.prefix.clone(),
        seed: a.seed,
        density: a.density,
    })
    .context("bringing the testbed up")?;
    let truth = tb.truth().open_pairs();
    eprintln!(
        "demo: testbed up: {} in namespace {} ({} live hosts, {} open SMTP ports); scanning from {}",
        a.prefix,
        tb.inet_ns(),
        tb.truth().live_hosts.len(),
        truth.len(),
        tb.scanner_ns()
    );
    let mut scan = Command::new(&bin);
    scan.args([
        "sweep",
        "--allow-reserved",
        &a.prefix,
        "-r",
        &a.rate,
        "-c",
        "3",
        "--send-help",
    ])
    .args(["--read-timeout", "5", "--session-timeout", "10"])
    .arg("-o")
    .arg(&results)
    .arg("-m")
    .arg(&meta);
    eprintln!(
        "demo: ip netns exec {} smtpsweep sweep --allow-reserved {} -r {} -c 3 --send-help --read-timeout 5 --session-timeout 10 -o {} -m {}",
        tb.scanner_ns(),
        a.prefix,
        a.rate,
        results.display(),
        meta.display()
    );
    let status = tb
        .scanner_command(&scan)
        .status()
        .context("running smtpsweep")?;
    if !status.success() {
        bail!("smtpsweep sweep failed ({status})");
    }

    let text = std::fs::read_to_string(&results)?;
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).context("reading the results")?;
        let ip: Ipv4Addr = v["ip"].as_str().context("ip")?.parse()?;
        found.insert((ip, v["port"].as_u64().context("port")? as u16));
    }
    println!("\nFirst records ({}), one line each:", results.display());
    for line in text.lines().take(8) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let fp = &v["fingerprint"];
        let cves: Vec<&str> = v["cves"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["id"].as_str())
            .collect();
        println!(
            "  {}:{} {} {} {} {} {}",
            v["ip"].as_str().unwrap_or("?"),
            v["port"],
            v["status"].as_str().unwrap_or("?"),
            v["tls"]["version"].as_str().unwrap_or("no-tls"),
            fp["family"].as_str().unwrap_or("-"),
            fp["version"].as_str().unwrap_or(""),
            cves.join(",")
        );
    }
    let mut per_port: BTreeMap<u16, (usize, usize)> = BTreeMap::new();
    for (_, p) in &truth {
        per_port.entry(*p).or_default().0 += 1;
    }
    for (_, p) in &found {
        per_port.entry(*p).or_default().1 += 1;
    }
    println!("\n| port | open in the testbed | found by smtpsweep |");
    println!("|---:|---:|---:|");
    for (p, (t, f)) in &per_port {
        println!("| {p} | {t} | {f} |");
    }
    let truth: BTreeSet<_> = truth.into_iter().collect();
    let hit = found.intersection(&truth).count();
    let false_pos = found.difference(&truth).count();
    println!(
        "\nrecall {:.2}% ({hit} of {} open pairs), false positives {false_pos}; metadata in {}",
        hit as f64 * 100.0 / truth.len().max(1) as f64,
        truth.len(),
        meta.display()
    );

    // The report: Markdown on the terminal, HTML and charts on disk.
    let report = |extra: &[&str]| -> Result<std::process::Output> {
        let mut c = Command::new(&bin);
        c.arg("report").arg(&results).arg("-m").arg(&meta);
        c.arg("--country-db")
            .arg(tb.country_db())
            .arg("--asn-db")
            .arg(tb.asn_db());
        c.args(extra);
        Ok(c.output()?)
    };
    let md = report(&[])?;
    if !md.status.success() {
        bail!(
            "smtpsweep report failed: {}",
            String::from_utf8_lossy(&md.stderr)
        );
    }
    println!("\n{}", String::from_utf8_lossy(&md.stdout));
    let h = report(&[
        "--format",
        "html",
        "-o",
        html.to_str().context("path")?,
        "--out-dir",
        charts.to_str().context("path")?,
    ])?;
    if !h.status.success() {
        bail!(
            "smtpsweep report --format html failed: {}",
            String::from_utf8_lossy(&h.stderr)
        );
    }
    eprintln!(
        "demo: HTML report {} (charts in {})",
        html.display(),
        charts.display()
    );
    tb.down().context("taking the testbed down")?;
    eprintln!("demo: testbed removed");
    Ok(())
}
