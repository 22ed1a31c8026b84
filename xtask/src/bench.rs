//! `cargo xtask bench scan`: sender packets per second on one core into an
//! ifb sink device inside a namespace made for the run, smtpsweep side by side
//! with ZMap and masscan from Debian, each at unlimited rate.
//!
//! The ifb device drops every frame sent into it, and the namespace has no
//! other link: nothing leaves. Rates come from the device's own packet
//! counter (not from the tools' reports), sampled each second; the figure is
//! the median of the whole seconds in the middle of the run.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::sys::{ensure_root, ensure_tool, run_ok};

const NS: &str = "ssw-bench";
const IFB: &str = "ssw-ifb";
const SRC: &str = "198.19.254.1";
const GW: &str = "198.19.254.2";
const GW_MAC: &str = "02:00:5e:00:53:02";

/// Options of `cargo xtask bench scan`.
#[derive(clap::Args, Debug)]
pub struct ScanBench {
    /// Seconds each tool runs.
    #[arg(long, default_value_t = 8)]
    pub seconds: u64,
    /// Rounds (tools interleaved A B C, A B C, …); the best round counts.
    #[arg(long, default_value_t = 2)]
    pub rounds: u32,
    /// CPU the senders are pinned to.
    #[arg(long, default_value_t = 1)]
    pub cpu: u32,
    /// Skip ZMap and masscan (smtpsweep only).
    #[arg(long)]
    pub only_smtpsweep: bool,
    /// Where to write the figures as JSON.
    #[arg(long, default_value = "target/bench/scan.json")]
    pub json: PathBuf,
}

/// The sink namespace; removed on drop.
struct Sink;

impl Sink {
    fn up() -> Result<Sink> {
        let _ = Command::new("ip")
            .args(["netns", "del", NS])
            .stderr(Stdio::null())
            .status();
        run_ok(Command::new("ip").args(["netns", "add", NS]))?;
        let s = Sink;
        let ipn = |args: &[&str]| run_ok(Command::new("ip").args(["-n", NS]).args(args));
        ipn(&["link", "set", "lo", "up"])?;
        ipn(&["link", "add", IFB, "type", "ifb"])
            .context("creating an ifb device (kernel module ifb)")?;
        ipn(&["link", "set", IFB, "up"])?;
        ipn(&["addr", "add", &format!("{SRC}/24"), "dev", IFB])?;
        ipn(&["route", "add", "198.18.0.0/15", "via", GW])?;
        ipn(&[
            "neigh",
            "add",
            GW,
            "lladdr",
            GW_MAC,
            "dev",
            IFB,
            "nud",
            "permanent",
        ])?;
        Ok(s)
    }

    fn packets(&self) -> Result<u64> {
        let out = Command::new("ip")
            .args(["-n", NS, "-s", "-j", "link", "show", "dev", IFB])
            .output()?;
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).context("parsing ip -s -j")?;
        // ifb counts frames handed to it as received, then drops them.
        v[0]["stats64"]["rx"]["packets"]
            .as_u64()
            .context("no rx packet counter on the ifb device")
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", NS]).status();
    }
}

/// One tool's command line.
struct Tool {
    name: &'static str,
    cmd: Command,
    /// The tool has no run-time limit of its own: stop it with SIGINT.
    interrupt: bool,
}

fn tools(b: &ScanBench, smtpsweep: &str) -> Vec<Tool> {
    let secs = b.seconds.to_string();
    let pin = |bin: &str| {
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            NS,
            "taskset",
            "-c",
            &b.cpu.to_string(),
            bin,
        ]);
        c
    };
    let mut v = Vec::new();
    for mode in ["ring", "send"] {
        let mut c = pin(smtpsweep);
        c.args([
            "scan",
            "--allow-reserved",
            "198.18.0.0/15",
            "-p",
            "1-1000",
            "-r",
            "0",
            "-T",
            "1",
            "-c",
            "0",
            "-q",
            "-o",
            "/dev/null",
            "-i",
            IFB,
            "-t",
            &secs,
            "--send-mode",
            mode,
        ]);
        v.push(Tool {
            name: if mode == "ring" {
                "smtpsweep (TX ring)"
            } else {
                "smtpsweep (send)"
            },
            cmd: c,
            interrupt: false,
        });
    }
    if b.only_smtpsweep {
        return v;
    }
    let mut z = pin("zmap");
    z.args([
        "-q",
        "-i",
        IFB,
        "-G",
        GW_MAC,
        "-S",
        SRC,
        "-p",
        "25",
        "-P",
        "200",
        "-B",
        "100G",
        "-T",
        "1",
        "-c",
        "0",
        "-b",
        "/dev/null",
        "-o",
        "/dev/null",
        "-t",
        &secs,
        "--disable-syslog",
        "198.18.0.0/15",
    ]);
    v.push(Tool {
        name: "ZMap",
        cmd: z,
        interrupt: false,
    });
    let mut m = pin("masscan");
    m.args([
        "198.18.0.0/15",
        "-p1-65535",
        "--rate",
        "100000000",
        "--adapter",
        IFB,
        "--adapter-ip",
        SRC,
        "--router-mac",
        GW_MAC,
        "--wait",
        "0",
        "-oL",
        "/dev/null",
    ]);
    // masscan leaves paused.conf in its working directory when interrupted.
    m.current_dir(std::env::temp_dir());
    v.push(Tool {
        name: "masscan",
        cmd: m,
        interrupt: true,
    });
    v
}

/// Runs one tool, sampling the sink counter about once a second; returns
/// the packet rate of each interval (packets over the interval's measured
/// length, so sampling jitter does not bias it).
fn measure(sink: &Sink, tool: &mut Tool, seconds: u64) -> Result<Vec<u64>> {
    tool.cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let mut child: Child = tool
        .cmd
        .spawn()
        .with_context(|| format!("starting {}", tool.name))?;
    let start = Instant::now();
    let mut last = sink.packets()?;
    let mut last_t = Instant::now();
    let mut per_sec = Vec::new();
    let mut next = start + Duration::from_secs(1);
    loop {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        next += Duration::from_secs(1);
        let now = sink.packets()?;
        let now_t = Instant::now();
        per_sec.push(((now - last) as f64 / (now_t - last_t).as_secs_f64()).round() as u64);
        (last, last_t) = (now, now_t);
        if child.try_wait()?.is_some() {
            break;
        }
        if start.elapsed() >= Duration::from_secs(seconds + 1) && tool.interrupt {
            // masscan: the first SIGINT starts its wait, the second ends it.
            // SAFETY: sending SIGINT to our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        }
        if start.elapsed() >= Duration::from_secs(seconds + 10) {
            child.kill()?;
        }
    }
    child.wait()?;
    // Only the tool's own run time counts (not a wait after an interrupt).
    per_sec.truncate(seconds as usize + 1);
    Ok(per_sec)
}

/// Median of the whole seconds, leaving out the first and the last (start-up, partial).
fn steady_rate(per_sec: &[u64]) -> u64 {
    let mut mid: Vec<u64> = if per_sec.len() > 2 {
        per_sec[1..per_sec.len() - 1].to_vec()
    } else {
        per_sec.to_vec()
    };
    mid.sort_unstable();
    mid.get(mid.len() / 2).copied().unwrap_or(0)
}

pub fn scan(b: ScanBench) -> Result<()> {
    ensure_root()?;
    ensure_tool("ip", "iproute2")?;
    ensure_tool("taskset", "util-linux")?;
    if !b.only_smtpsweep {
        ensure_tool("zmap", "zmap")?;
        ensure_tool("masscan", "masscan")?;
    }
    eprintln!("building smtpsweep (release)…");
    run_ok(Command::new(env!("CARGO")).args(["build", "--release", "--quiet", "-p", "smtpsweep"]))?;
    let bin = crate::sys::target_dir().join("release/smtpsweep");
    let bin = bin
        .to_str()
        .context("target path is not UTF-8")?
        .to_string();
    let sink = Sink::up()?;
    let mut best: Vec<(String, u64, Vec<u64>)> = Vec::new();
    for round in 0..b.rounds {
        for mut t in tools(&b, &bin) {
            let per_sec = measure(&sink, &mut t, b.seconds)?;
            let rate = steady_rate(&per_sec);
            eprintln!(
                "round {}: {:<22} {:>10} pps  per second: {:?}",
                round + 1,
                t.name,
                rate,
                per_sec
            );
            match best.iter_mut().find(|(n, _, _)| n == t.name) {
                Some(e) if e.1 >= rate => {}
                Some(e) => *e = (t.name.to_string(), rate, per_sec),
                None => best.push((t.name.to_string(), rate, per_sec)),
            }
        }
    }
    drop(sink);
    let zmap = best.iter().find(|e| e.0 == "ZMap").map(|e| e.1);
    println!(
        "\nsender packets/s on one core (cpu {}), ifb sink, unlimited rate, best of {} rounds of {} s:",
        b.cpu, b.rounds, b.seconds
    );
    println!("| tool | pps | × ZMap |");
    println!("|---|---:|---:|");
    for (name, rate, _) in &best {
        let ratio = zmap
            .filter(|z| *z > 0)
            .map_or("-".into(), |z| format!("{:.2}", *rate as f64 / z as f64));
        println!("| {name} | {rate} | {ratio} |");
    }
    if let Some(parent) = b.json.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let json = serde_json::json!({
        "seconds": b.seconds, "rounds": b.rounds, "cpu": b.cpu,
        "results": best.iter().map(|(n, r, s)| serde_json::json!({"tool": n, "pps": r, "per_second": s})).collect::<Vec<_>>(),
    });
    std::fs::write(&b.json, serde_json::to_string_pretty(&json)? + "\n")?;
    println!("(figures also in {})", b.json.display());
    if best.iter().all(|e| e.1 == 0) {
        bail!("no packets reached the sink");
    }
    Ok(())
}

/// Options of `cargo xtask bench rate`.
#[derive(clap::Args, Debug)]
pub struct RateBench {
    /// Seconds per rate.
    #[arg(long, default_value_t = 6)]
    pub seconds: u64,
    /// Rates to check, packets per second.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1000,10000,100000,1000000"
    )]
    pub rates: Vec<u64>,
}

/// `cargo xtask bench rate`: how close smtpsweep's achieved rate is to `-r`,
/// second by second, on the ifb sink.
pub fn rate(b: RateBench) -> Result<()> {
    ensure_root()?;
    ensure_tool("ip", "iproute2")?;
    eprintln!("building smtpsweep (release)…");
    run_ok(Command::new(env!("CARGO")).args(["build", "--release", "--quiet", "-p", "smtpsweep"]))?;
    let bin = crate::sys::target_dir().join("release/smtpsweep");
    let sink = Sink::up()?;
    println!("| -r (pps) | whole seconds | worst deviation | mean achieved (pps) | per second |");
    println!("|---:|---:|---:|---:|---|");
    for &r in &b.rates {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", NS])
            .arg(&bin)
            .args([
                "scan",
                "--allow-reserved",
                "198.18.0.0/15",
                "-p",
                "1-1000",
                "-T",
                "1",
                "-c",
                "0",
                "-q",
            ])
            .args([
                "-o",
                "/dev/null",
                "-i",
                IFB,
                "-r",
                &r.to_string(),
                "-t",
                &b.seconds.to_string(),
            ]);
        let mut t = Tool {
            name: "smtpsweep",
            cmd: c,
            interrupt: false,
        };
        let per_sec = measure(&sink, &mut t, b.seconds)?;
        // Whole seconds in the middle: not the first (start-up) nor the last (partial).
        let mid = if per_sec.len() > 2 {
            &per_sec[1..per_sec.len() - 1]
        } else {
            &per_sec[..]
        };
        let worst = mid
            .iter()
            .map(|&x| (x as f64 - r as f64) / r as f64 * 100.0)
            .fold(0.0f64, |a, d| if d.abs() > a.abs() { d } else { a });
        let mean = mid.iter().sum::<u64>() as f64 / mid.len().max(1) as f64;
        println!(
            "| {r} | {} | {worst:+.2}% | {mean:.0} | {mid:?} |",
            mid.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_rate_skips_edges() {
        assert_eq!(steady_rate(&[5, 100, 90, 110, 3]), 100);
        assert_eq!(steady_rate(&[7]), 7);
        assert_eq!(steady_rate(&[]), 0);
    }
}

/// Options of `cargo xtask bench grab`.
#[derive(clap::Args, Debug)]
pub struct GrabBench {
    /// Share of live hosts in the /16 testbed (0.05: about 5,000 open ports,
    /// leaving the testbed server descriptors for 10,000 sessions under the
    /// hard open-file limit of 20,000 seen here).
    #[arg(long, default_value_t = 0.05)]
    pub density: f64,
    /// Each target is grabbed this many times, so high concurrency stays saturated.
    #[arg(long, default_value_t = 6)]
    pub repeat: usize,
    /// Concurrency levels to measure.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub concurrency: Vec<usize>,
}

/// `cargo xtask bench grab`: completed sessions per second and peak memory
/// of `smtpsweep grab` against the testbed, with and without STARTTLS.
pub fn grab(b: GrabBench) -> Result<()> {
    ensure_root()?;
    ensure_tool("ip", "iproute2")?;
    ensure_tool("time", "time")?;
    eprintln!("building smtpsweep and xtask (release)…");
    run_ok(Command::new(env!("CARGO")).args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "smtpsweep",
        "-p",
        "xtask",
    ]))?;
    let bin = crate::sys::target_dir().join("release/smtpsweep");
    // The testbed's servers run in a release-built daemon, so that the TLS
    // server side is not what the figures measure.
    let xtask = crate::sys::target_dir().join("release/xtask");
    let dir = crate::sys::target_dir().join("bench");
    std::fs::create_dir_all(&dir)?;
    let truth_path = dir.join("grab-truth.json");
    let down = || {
        Command::new(&xtask)
            .args(["testbed", "down", "--name", "bgrab"])
            .output()
    };
    let _ = down();
    run_ok(
        Command::new(&xtask)
            .args([
                "testbed",
                "up",
                "--name",
                "bgrab",
                "--seed",
                "3",
                "--density",
            ])
            .arg(b.density.to_string())
            .arg("--truth")
            .arg(&truth_path),
    )?;
    let result = grab_runs(&b, &bin, &dir, &truth_path);
    down()?;
    result
}

fn grab_runs(
    b: &GrabBench,
    bin: &std::path::Path,
    dir: &std::path::Path,
    truth_path: &std::path::Path,
) -> Result<()> {
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(truth_path)?)?;
    let open = truth["open"].as_array().context("truth has no open list")?;
    // Only servers that complete a conversation: hostile personas would
    // measure their own timeouts, not the grabber.
    let mut targets = String::new();
    let mut n = 0;
    for _ in 0..b.repeat {
        for o in open {
            if o["expected_status"].as_str().is_none_or(|s| s == "success") {
                targets.push_str(&format!(
                    "{}:{}\n",
                    o["ip"].as_str().unwrap_or_default(),
                    o["port"]
                ));
                n += 1;
            }
        }
    }
    let list = dir.join("grab-targets.txt");
    std::fs::write(&list, targets)?;
    println!(
        "\nsmtpsweep grab against the /16 testbed ({n} sessions: {} open ports × {}):",
        n / b.repeat.max(1),
        b.repeat
    );
    println!(
        "| concurrency | STARTTLS | sessions | seconds | sessions/s | peak RSS (MiB) | success |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for &c in &b.concurrency {
        for starttls in [false, true] {
            let out = dir.join("grab-out.jsonl");
            let mut cmd = Command::new("ip");
            cmd.args(["netns", "exec", "ssw-bgrab-scan", "/usr/bin/time", "-v"])
                .arg(bin);
            cmd.args([
                "grab",
                "-q",
                "--no-fingerprint",
                "--concurrency",
                &c.to_string(),
            ]);
            cmd.arg("-o").arg(&out).arg(&list);
            if !starttls {
                cmd.arg("--no-starttls");
            }
            let start = Instant::now();
            let res = cmd.output()?;
            let secs = start.elapsed().as_secs_f64();
            let err = String::from_utf8_lossy(&res.stderr);
            if !res.status.success() {
                bail!("smtpsweep grab failed: {err}");
            }
            let rss_kb: f64 = err
                .lines()
                .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0.0);
            let text = std::fs::read_to_string(&out)?;
            let done = text.lines().count();
            let success = text
                .lines()
                .filter(|l| l.contains("\"status\":\"success\""))
                .count();
            println!(
                "| {c} | {} | {done} | {secs:.2} | {:.0} | {:.1} | {success} |",
                if starttls { "yes" } else { "no" },
                done as f64 / secs,
                rss_kb / 1024.0
            );
        }
    }
    Ok(())
}
