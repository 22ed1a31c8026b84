//! `cargo xtask testbed up|status|exec|down`: a long-lived testbed for manual work.
//!
//! `up` builds the namespaces and routes with the `smtpsweep-testbed` library, then re-executes
//! this binary as a detached daemon (`testbed serve`, hidden) that runs the SMTP servers inside
//! the internet namespace. State lives in `/run/smtpsweep-testbed/<name>/`: `state.json`,
//! `serve.pid` (written by the daemon once every listener is bound) and `serve.log`.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use smtpsweep_testbed::netns::{
    count_listeners_in_netns, delete_netns, ip_program, is_root, netns_exists,
};
use smtpsweep_testbed::{
    GATEWAY_IP, GroundTruth, Ipv4Prefix, SCANNER_IP, ServeOptions, TestbedNames, Topology,
    provision, serve_in_netns, stop_pair,
};

/// Where daemon state is kept.
const STATE_ROOT: &str = "/run/smtpsweep-testbed";
/// How long `up` waits for the daemon to bind every listener.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `down` waits after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Arguments of `cargo xtask testbed`.
#[derive(Debug, Args)]
pub struct TestbedArgs {
    #[command(subcommand)]
    command: TestbedCommand,
}

#[derive(Debug, Subcommand)]
enum TestbedCommand {
    /// Create the namespaces, routes and SMTP servers; write the ground truth.
    Up(UpArgs),
    /// Show whether the testbed is up, with its counts (exit code 0 only when fully up).
    Status(NameArg),
    /// Run a command inside the scanner namespace (exit code passed through).
    Exec(ExecArgs),
    /// Stop the servers and delete the namespaces (no error when already down).
    Down(NameArg),
    /// The server daemon started by `up` (internal).
    #[command(hide = true)]
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
struct NameArg {
    /// Testbed name (1-9 of a-z, 0-9): namespaces ssw-<name>-scan and ssw-<name>-inet.
    #[arg(long, default_value = "tb")]
    name: String,
}

#[derive(Debug, Args)]
struct UpArgs {
    #[command(flatten)]
    name: NameArg,
    /// Simulated prefix, inside 198.18.0.0/15 (198.19.255.0/24 is reserved for the link).
    #[arg(long, default_value = "198.18.0.0/16")]
    prefix: String,
    /// Seed of the ground truth.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Probability that an address is a live host.
    #[arg(long, default_value_t = 0.03)]
    density: f64,
    /// Where to write the ground truth [default: target/testbed/<name>/truth.json].
    #[arg(long, value_name = "PATH")]
    truth: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ExecArgs {
    #[command(flatten)]
    name: NameArg,
    /// The command and its arguments, after `--`.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    command: Vec<OsString>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[arg(long)]
    name: String,
    #[arg(long)]
    truth: PathBuf,
}

/// What `up` records for `status` and `down`.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    name: String,
    prefix: String,
    seed: u64,
    density: f64,
    truth: PathBuf,
    scanner_ns: String,
    inet_ns: String,
    scanner_iface: String,
    scanner_ip: String,
    gateway_ip: String,
    live_hosts: usize,
    open: usize,
    closed: usize,
    started_unix: u64,
}

/// Runs a `testbed` subcommand.
pub fn run(args: TestbedArgs) -> Result<ExitCode> {
    match args.command {
        TestbedCommand::Up(a) => up(a),
        TestbedCommand::Status(a) => status(&a.name),
        TestbedCommand::Exec(a) => exec(&a.name.name, &a.command),
        TestbedCommand::Down(a) => down(&a.name),
        TestbedCommand::Serve(a) => serve(&a),
    }
}

fn state_dir(name: &str) -> PathBuf {
    Path::new(STATE_ROOT).join(name)
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn require_root(what: &str) -> Result<()> {
    if !is_root() {
        bail!(
            "`cargo xtask testbed {what}` must run as root (it manages network namespaces); \
             run it from a root shell or with `sudo -E cargo xtask testbed {what} ...`"
        );
    }
    Ok(())
}

/// Makes sure iproute2's `ip` is installed (apt-get when it is not) and returns its path.
fn ensure_ip() -> Result<PathBuf> {
    crate::sys::ensure_tool("ip", "iproute2")?;
    ip_program().ok_or_else(|| anyhow::anyhow!("iproute2 is installed but `ip` was not found"))
}

/// Whether `pid` is a running process (a zombie awaiting its reaper does not count).
fn pid_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists and may be signalled.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return false;
    }
    // /proc/<pid>/stat is "pid (comm) STATE ...": a daemon that exited but was not reaped yet
    // by init is 'Z' and is as good as gone.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

/// The daemon's pid, if its pid file names a live process that is this testbed's daemon.
fn daemon_pid(name: &str) -> Option<i32> {
    let text = fs::read_to_string(state_dir(name).join("serve.pid")).ok()?;
    let pid: i32 = text.trim().parse().ok().filter(|p| *p > 1)?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let ours = args
        .windows(2)
        .any(|w| w == [b"testbed".as_slice(), b"serve"])
        && args
            .windows(2)
            .any(|w| w == [b"--name".as_slice(), name.as_bytes()]);
    (ours && pid_alive(pid)).then_some(pid)
}

fn signal(pid: i32, sig: libc::c_int) {
    // SAFETY: sending a signal to a pid we verified is our daemon (or our own child).
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Stops the daemon (SIGTERM, then SIGKILL after a grace period). Returns its pid if it ran.
fn stop_daemon(name: &str) -> Option<i32> {
    let pid = daemon_pid(name)?;
    signal(pid, libc::SIGTERM);
    let start = Instant::now();
    while pid_alive(pid) && start.elapsed() < STOP_TIMEOUT {
        sleep(Duration::from_millis(50));
    }
    if pid_alive(pid) {
        eprintln!("daemon {pid} ignored SIGTERM for {STOP_TIMEOUT:?}; sending SIGKILL");
        signal(pid, libc::SIGKILL);
        let start = Instant::now();
        while pid_alive(pid) && start.elapsed() < Duration::from_secs(2) {
            sleep(Duration::from_millis(50));
        }
    }
    Some(pid)
}

fn up(args: UpArgs) -> Result<ExitCode> {
    require_root("up")?;
    ensure_ip()?;
    let name = &args.name.name;
    let names = TestbedNames::new(name)?;
    if daemon_pid(name).is_some() || netns_exists(&names.scanner_ns) || netns_exists(&names.inet_ns)
    {
        bail!(
            "testbed {name} is already up (or partly up); run `cargo xtask testbed down --name {name}` first"
        );
    }
    let prefix: Ipv4Prefix = args.prefix.parse()?;
    let mut truth = GroundTruth::generate(prefix, args.seed, args.density)?;
    let truth_path = match args.truth {
        Some(p) if p.is_absolute() => p,
        Some(p) => std::env::current_dir()
            .context("current directory")?
            .join(p),
        None => workspace_root()
            .join("target/testbed")
            .join(name)
            .join("truth.json"),
    };
    // The certificates go next to the ground truth, which records their paths and fingerprints.
    let certs = truth_path.parent().unwrap_or(Path::new(".")).join("certs");
    if certs.exists() {
        fs::remove_dir_all(&certs)
            .with_context(|| format!("removing stale {}", certs.display()))?;
    }
    let provisioned = provision(&mut truth, &certs)?;
    truth.save(&truth_path)?;
    let geo = smtpsweep_testbed::geo::write(
        truth.prefix,
        truth.seed,
        truth_path.parent().unwrap_or(Path::new(".")),
    )?;

    let topology = Topology::create(name, &truth)?;
    let dir = state_dir(name);
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("removing stale {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let state = State {
        name: name.clone(),
        prefix: prefix.to_string(),
        seed: args.seed,
        density: args.density,
        truth: truth_path.clone(),
        scanner_ns: names.scanner_ns.clone(),
        inet_ns: names.inet_ns.clone(),
        scanner_iface: names.scanner_if.clone(),
        scanner_ip: SCANNER_IP.to_string(),
        gateway_ip: GATEWAY_IP.to_string(),
        live_hosts: truth.live_hosts.len(),
        open: truth.open.len(),
        closed: truth.closed.len(),
        started_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    };
    fs::write(
        dir.join("state.json"),
        serde_json::to_string_pretty(&state)?,
    )
    .context("writing state.json")?;

    let pid = match start_daemon(name, &truth_path, &dir) {
        Ok(pid) => pid,
        Err(e) => {
            let _ = fs::remove_dir_all(&dir);
            return Err(e); // `topology` is dropped here and deletes the namespaces.
        }
    };
    topology.persist();

    let log = dir.join("serve.log");
    println!(
        "testbed {name} is up: {prefix}, seed {}, density {}",
        args.seed, args.density
    );
    println!(
        "  {} live hosts, {} open and {} closed (address, port) pairs; server daemon pid {pid} (log {})",
        state.live_hosts,
        state.open,
        state.closed,
        log.display()
    );
    println!(
        "  scanner namespace {}: {} {SCANNER_IP}/30, gateway {GATEWAY_IP}, route for {prefix} only",
        names.scanner_ns, names.scanner_if
    );
    println!("  internet namespace {}", names.inet_ns);
    println!("  ground truth: {}", truth_path.display());
    println!(
        "  certificates: {} hosts in {}, test CA {}",
        provisioned.certificates,
        provisioned.dir.display(),
        provisioned.ca_pem.display()
    );
    println!(
        "  geography (fictional): --country-db {} --asn-db {}",
        geo.country.display(),
        geo.asn.display()
    );
    print_personas(&truth);
    println!("Scan it from the scanner namespace:");
    println!(
        "  ip netns exec {} smtpsweep scan --allow-reserved {prefix}",
        names.scanner_ns
    );
    println!(
        "  cargo xtask testbed exec --name {name} -- smtpsweep scan --allow-reserved {prefix}"
    );
    println!("Tear it down: cargo xtask testbed down --name {name}");
    Ok(ExitCode::SUCCESS)
}

/// Prints the open pairs per persona, TLS mode and expected status.
fn print_personas(truth: &GroundTruth) {
    let hostile = truth.open.iter().filter(|o| o.hostile).count();
    let by = |f: &dyn Fn(&smtpsweep_testbed::OpenPort) -> String| {
        let mut counts = std::collections::BTreeMap::new();
        for o in &truth.open {
            *counts.entry(f(o)).or_insert(0usize) += 1;
        }
        counts
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "  personas: {} realistic and {hostile} hostile pairs; TLS: {}",
        truth.open.len() - hostile,
        by(&|o| format!("{:?}", o.tls).to_lowercase())
    );
    println!(
        "  expected status: {}",
        by(&|o| o.expected_status.as_str().to_owned())
    );
    let mut line = String::from("   ");
    for (name, n) in truth.persona_counts() {
        let item = format!(" {name} {n}");
        if line.len() + item.len() > 100 {
            println!("{line}");
            line = String::from("   ");
        }
        line.push_str(&item);
    }
    if !line.trim().is_empty() {
        println!("{line}");
    }
}

/// Starts `testbed serve` detached (own session, output to serve.log) and waits until it has
/// bound every listener. Returns its pid.
fn start_daemon(name: &str, truth: &Path, dir: &Path) -> Result<i32> {
    let exe = std::env::current_exe().context("locating the xtask binary")?;
    let log_path = dir.join("serve.log");
    let log =
        File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let mut cmd = Command::new(exe);
    cmd.args(["testbed", "serve", "--name", name, "--truth"])
        .arg(truth)
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("duplicating the log handle")?)
        .stderr(log);
    // SAFETY: setsid is async-signal-safe, which is all pre_exec requires; it detaches the
    // daemon from our terminal and process group.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("starting the server daemon")?;
    let pid = i32::try_from(child.id()).context("daemon pid")?;
    let start = Instant::now();
    loop {
        if daemon_pid(name) == Some(pid) {
            return Ok(pid);
        }
        if let Some(status) = child.try_wait().context("waiting for the daemon")? {
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            bail!(
                "the server daemon exited ({status}) before it was ready:\n{}",
                log.trim_end()
            );
        }
        if start.elapsed() > READY_TIMEOUT {
            signal(pid, libc::SIGKILL);
            let _ = child.wait();
            bail!(
                "the server daemon was not ready within {READY_TIMEOUT:?}; see {}",
                log_path.display()
            );
        }
        sleep(Duration::from_millis(50));
    }
}

/// The hidden daemon: serves the ground truth inside the internet namespace until SIGTERM.
fn serve(args: &ServeArgs) -> Result<ExitCode> {
    require_root("serve")?;
    let names = TestbedNames::new(&args.name)?;
    let truth = GroundTruth::load(&args.truth)?;
    let (trigger, signal) = stop_pair();
    ctrlc::set_handler(move || trigger.stop()).context("installing the signal handler")?;
    let pid_file = state_dir(&args.name).join("serve.pid");
    let pid = std::process::id();
    let mut pid_written = Ok(());
    serve_in_netns(
        &names.inet_ns,
        &truth,
        &ServeOptions::default(),
        signal,
        |listeners| {
            eprintln!(
                "pid {pid}: {listeners} listeners in {} for {}",
                names.inet_ns, truth.prefix
            );
            let tmp = pid_file.with_extension("pid.tmp");
            pid_written =
                fs::write(&tmp, format!("{pid}\n")).and_then(|()| fs::rename(&tmp, &pid_file));
        },
    )?;
    let _ = fs::remove_file(&pid_file);
    pid_written.context("writing the pid file")?;
    eprintln!("pid {pid}: stopped");
    Ok(ExitCode::SUCCESS)
}

fn read_state(name: &str) -> Option<State> {
    let text = fs::read_to_string(state_dir(name).join("state.json")).ok()?;
    serde_json::from_str(&text).ok()
}

fn status(name: &str) -> Result<ExitCode> {
    let names = TestbedNames::new(name)?;
    let scan = netns_exists(&names.scanner_ns);
    let inet = netns_exists(&names.inet_ns);
    let daemon = daemon_pid(name);
    let state = read_state(name);
    if !scan && !inet && daemon.is_none() && state.is_none() {
        println!("testbed {name} is down");
        return Ok(ExitCode::FAILURE);
    }
    let yes_no = |b: bool| if b { "present" } else { "MISSING" };
    println!("testbed {name}:");
    println!("  namespace {}: {}", names.scanner_ns, yes_no(scan));
    println!("  namespace {}: {}", names.inet_ns, yes_no(inet));
    match daemon {
        Some(pid) => println!("  server daemon: running, pid {pid}"),
        None => println!("  server daemon: NOT RUNNING"),
    }
    let mut healthy = scan && inet && daemon.is_some();
    if let Some(s) = &state {
        println!(
            "  prefix {}, seed {}, density {}: {} live hosts, {} open, {} closed",
            s.prefix, s.seed, s.density, s.live_hosts, s.open, s.closed
        );
        println!("  ground truth: {}", s.truth.display());
        if inet && is_root() {
            let listening = count_listeners_in_netns(&names.inet_ns)?;
            println!("  listening sockets in {}: {listening}", names.inet_ns);
            healthy &= listening == s.open;
        } else if inet {
            println!("  (run as root to count the listening sockets)");
        }
    } else {
        println!("  no state in {}", state_dir(name).display());
        healthy = false;
    }
    println!(
        "  => {}",
        if healthy {
            "up"
        } else {
            "DEGRADED (run `down`, then `up`)"
        }
    );
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn exec(name: &str, command: &[OsString]) -> Result<ExitCode> {
    require_root("exec")?;
    let ip = ensure_ip()?;
    let names = TestbedNames::new(name)?;
    if !netns_exists(&names.scanner_ns) {
        bail!(
            "testbed {name} is not up (no namespace {}); run `cargo xtask testbed up --name {name}`",
            names.scanner_ns
        );
    }
    let status = Command::new(ip)
        .args(["netns", "exec", &names.scanner_ns])
        .args(command)
        .status()
        .with_context(|| format!("running {:?} in {}", command[0], names.scanner_ns))?;
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

fn down(name: &str) -> Result<ExitCode> {
    require_root("down")?;
    ensure_ip()?;
    let names = TestbedNames::new(name)?;
    let stopped = stop_daemon(name);
    let scan = delete_netns(&names.scanner_ns)?;
    let inet = delete_netns(&names.inet_ns)?;
    let dir = state_dir(name);
    let had_state = dir.exists();
    if had_state {
        fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    if stopped.is_none() && !scan && !inet && !had_state {
        println!("testbed {name} is already down");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(pid) = stopped {
        println!("stopped server daemon (pid {pid})");
    }
    for (deleted, ns) in [(scan, &names.scanner_ns), (inet, &names.inet_ns)] {
        if deleted {
            println!("deleted namespace {ns}");
        }
    }
    println!("testbed {name} is down");
    Ok(ExitCode::SUCCESS)
}
