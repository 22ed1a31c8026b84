//! `smtpsweep grab` (the banner-grab stage on its own) and the pieces that
//! `sweep` shares with it: grab options, the record sink (fingerprint +
//! write) and the grab part of the status line.

use std::io::{BufRead, BufWriter, Write};
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use clap::Args;
use crossbeam_channel::Receiver;
use smtpsweep_grab::{GrabConfig, GrabRecord, GrabStats, Grabber, input::read_targets};
use smtpsweep_output::ScanRecord;
use smtpsweep_targets::PortSet;

use crate::UsageError;
use crate::fingerprint::{DbArgs, Enricher};

/// Options of the grab stage (for `grab` and `sweep`).
#[derive(Args, Debug, Clone)]
pub struct GrabOpts {
    /// Sessions in flight at once (the open-file limit is raised to fit).
    #[arg(long, default_value_t = 1000)]
    pub concurrency: usize,
    /// New connections per second (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    pub grab_rate: u64,
    /// Seconds allowed for the TCP connect.
    #[arg(long, default_value_t = 10.0)]
    pub connect_timeout: f64,
    /// Seconds allowed for each read (and each TLS handshake).
    #[arg(long, default_value_t = 10.0)]
    pub read_timeout: f64,
    /// Seconds allowed for the whole session.
    #[arg(long, default_value_t = 30.0)]
    pub session_timeout: f64,
    /// Name sent with EHLO/HELO.
    #[arg(long, default_value = "smtpsweep.invalid")]
    pub ehlo_name: String,
    /// Do not upgrade with STARTTLS.
    #[arg(long)]
    pub no_starttls: bool,
    /// Send HELP before QUIT.
    #[arg(long)]
    pub send_help: bool,
    /// Ports that speak TLS from the first byte.
    #[arg(long, default_value = "465")]
    pub smtps_ports: String,
    /// Keep each certificate chain (base64 DER) in the record.
    #[arg(long)]
    pub store_certs: bool,
    /// Do not fingerprint the banners.
    #[arg(long)]
    pub no_fingerprint: bool,
    #[command(flatten)]
    pub dbs: DbArgs,
}

fn secs(what: &str, v: f64) -> Result<Duration> {
    if !(v.is_finite() && v > 0.0) {
        return Err(UsageError(format!("--{what} must be a positive number of seconds")).into());
    }
    Ok(Duration::from_secs_f64(v))
}

impl GrabOpts {
    /// The engine's configuration (with the open-file limit raised to fit).
    pub fn config(&self) -> Result<GrabConfig> {
        let smtps = PortSet::parse(&self.smtps_ports).map_err(|e| UsageError(e.to_string()))?;
        let cfg = GrabConfig {
            ehlo_name: self.ehlo_name.clone(),
            starttls: !self.no_starttls,
            send_help: self.send_help,
            smtps_ports: smtps.ports().to_vec(),
            store_certs: self.store_certs,
            connect_timeout: secs("connect-timeout", self.connect_timeout)?,
            read_timeout: secs("read-timeout", self.read_timeout)?,
            session_timeout: secs("session-timeout", self.session_timeout)?,
            concurrency: self.concurrency,
            grab_rate: self.grab_rate,
            ..GrabConfig::default()
        };
        cfg.validate().map_err(|e| UsageError(e.to_string()))?;
        let want = self.concurrency as u64 + 256;
        let got = smtpsweep_grab::raise_nofile_limit(want).unwrap_or(0);
        if got < want {
            eprintln!(
                "smtpsweep: warning: open-file limit is {got}, below --concurrency {} + 256; sessions may fail with EMFILE",
                self.concurrency
            );
        }
        Ok(cfg)
    }

    /// The fingerprint databases, unless `--no-fingerprint`.
    pub fn enricher(&self) -> Result<Option<Arc<Enricher>>> {
        if self.no_fingerprint {
            return Ok(None);
        }
        Ok(Some(Arc::new(Enricher::load(&self.dbs)?)))
    }
}

/// Layout of grab records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrabFormat {
    /// smtpsweep's own record (docs/schema.md).
    Jsonl,
    /// ZGrab2's SMTP module layout.
    Zgrab2,
}

impl GrabFormat {
    pub fn parse(s: &str) -> Result<GrabFormat> {
        match s.to_ascii_lowercase().as_str() {
            "json" | "jsonl" => Ok(GrabFormat::Jsonl),
            "zgrab2" => Ok(GrabFormat::Zgrab2),
            _ => Err(UsageError(format!(
                "unknown output format {s:?} for grab records (jsonl or zgrab2)"
            ))
            .into()),
        }
    }
}

/// Adds fingerprint and CVEs to a record from its replies.
pub fn enrich(e: &Enricher, rec: &mut GrabRecord) {
    let reply = |r: &Option<smtpsweep_grab::ReplySummary>| {
        r.as_ref()
            .map(|r| crate::fingerprint::with_code(u64::from(r.code), &r.text))
    };
    let smtp = &rec.smtp;
    // Inside TLS the EHLO reply is often the richer one.
    let ehlo = reply(&smtp.ehlo_tls).or_else(|| reply(&smtp.ehlo));
    if smtp.banner.is_none() && ehlo.is_none() {
        return;
    }
    let (fp, cves) = e.smtp(
        smtp.banner.as_deref(),
        ehlo.as_deref(),
        reply(&smtp.help).as_deref(),
    );
    if !fp.is_empty() {
        rec.fingerprint = serde_json::to_value(&fp).ok();
    }
    rec.cves = cves
        .iter()
        .map(|c| serde_json::Value::String(c.id.clone()))
        .collect();
}

/// Starts the thread that fingerprints and writes grab records; it ends when
/// the record channel closes and returns how many it wrote.
pub fn start_sink(
    records: Receiver<GrabRecord>,
    out: Box<dyn Write + Send>,
    format: GrabFormat,
    enricher: Option<Arc<Enricher>>,
) -> Result<JoinHandle<Result<u64>>> {
    Ok(std::thread::Builder::new()
        .name("grab-writer".into())
        .spawn(move || {
            let mut w = BufWriter::with_capacity(1 << 16, out);
            let mut n = 0u64;
            for mut rec in records.iter() {
                if let Some(e) = &enricher {
                    enrich(e, &mut rec);
                }
                match format {
                    GrabFormat::Jsonl => serde_json::to_writer(&mut w, &rec)?,
                    GrabFormat::Zgrab2 => {
                        serde_json::to_writer(&mut w, &smtpsweep_grab::to_zgrab2(&rec))?
                    }
                }
                w.write_all(b"\n")?;
                n += 1;
                if records.is_empty() {
                    w.flush()?;
                }
            }
            w.flush()?;
            Ok(n)
        })?)
}

/// The grab part of a status line.
pub fn status(stats: &GrabStats, prev_done: &mut u64, dt: f64) -> String {
    let s = stats.snapshot();
    let rate = (s.done - *prev_done) as f64 / dt.max(1e-3);
    *prev_done = s.done;
    let mut by: Vec<String> = s
        .by_status
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(st, n)| format!("{} {n}", st.as_str()))
        .collect();
    if by.is_empty() {
        by.push("-".into());
    }
    format!(
        "grab: queued {}, in flight {}, done {} ({}/s); {}",
        s.queued,
        s.in_flight,
        s.done,
        crate::monitor::si(rate).trim_end(),
        by.join(", ")
    )
}

/// Ctrl-C handling shared by `sweep` and `grab`: the first press sets
/// `interrupted` (the caller stops scanning or reading input, and queued
/// grabs still finish); the second aborts the grab stage, whose unfinished
/// targets are then written with status `interrupted`.
pub fn install_ctrlc(
    interrupted: Arc<AtomicBool>,
    also: Option<Arc<AtomicBool>>,
) -> Arc<std::sync::OnceLock<smtpsweep_grab::AbortHandle>> {
    let abort: Arc<std::sync::OnceLock<smtpsweep_grab::AbortHandle>> = Arc::default();
    let handle = abort.clone();
    let _ = ctrlc::set_handler(move || {
        if let Some(s) = &also {
            s.store(true, Ordering::SeqCst);
        }
        if interrupted.swap(true, Ordering::SeqCst) {
            if let Some(a) = handle.get() {
                eprintln!("smtpsweep: stopping the grab stage now");
                a.abort();
            }
        } else if handle.get().is_some() {
            eprintln!(
                "smtpsweep: stopping; queued grabs still finish (Ctrl-C again to stop them now)"
            );
        }
    });
    abort
}

/// Options of `smtpsweep grab`.
#[derive(Args, Debug, Clone)]
pub struct GrabArgs {
    /// Targets: addresses, address:port, ZMap CSV, masscan -oL or smtpsweep scan JSONL ('-' or none: stdin).
    pub input: Option<PathBuf>,
    /// Ports for lines that name only an address.
    #[arg(short = 'p', long = "ports", default_value = "25,465,587")]
    pub ports: String,
    /// Output file ('-' for stdout).
    #[arg(short = 'o', long = "output-file", default_value = "-")]
    pub output: String,
    /// Output layout: jsonl (smtpsweep records) or zgrab2.
    #[arg(short = 'O', long = "output-format", default_value = "jsonl")]
    pub format: String,
    /// No status line.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[command(flatten)]
    pub opts: GrabOpts,
}

/// Runs `smtpsweep grab`.
pub fn run(a: GrabArgs) -> Result<ExitCode> {
    let ports = PortSet::parse(&a.ports).map_err(|e| UsageError(e.to_string()))?;
    let format = GrabFormat::parse(&a.format)?;
    let cfg = a.opts.config()?;
    let enricher = a.opts.enricher()?;
    let (reader, origin): (Box<dyn BufRead + Send>, String) = match &a.input {
        Some(p) if p.as_os_str() != "-" => (
            Box::new(std::io::BufReader::new(
                std::fs::File::open(p).map_err(|e| UsageError(format!("{}: {e}", p.display())))?,
            )),
            p.display().to_string(),
        ),
        _ => (
            Box::new(std::io::BufReader::new(std::io::stdin())),
            "stdin".into(),
        ),
    };
    let out: Box<dyn Write + Send> = if a.output == "-" {
        Box::new(std::io::stdout())
    } else {
        Box::new(
            std::fs::File::create(&a.output).with_context(|| format!("creating {}", a.output))?,
        )
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let abort = install_ctrlc(interrupted.clone(), None);
    let h = Grabber::start(cfg)?;
    let _ = abort.set(h.abort.clone());
    let sink = start_sink(h.records, out, format, enricher)?;
    let stats = h.stats.clone();
    // The feeder: parse lines, skip and report malformed ones, wait when the backlog is full.
    let feeder = {
        let input = h.input;
        let interrupted = interrupted.clone();
        let ports = ports.ports().to_vec();
        std::thread::Builder::new()
            .name("grab-input".into())
            .spawn(move || -> Result<(u64, u64)> {
                let (mut ok, mut bad) = (0u64, 0u64);
                for item in read_targets(reader, &ports) {
                    if interrupted.load(Ordering::Relaxed) {
                        break;
                    }
                    match item {
                        Ok(t) => {
                            input
                                .send_wait(t.addr, t.scan)
                                .map_err(|e| anyhow!("{e}"))?;
                            ok += 1;
                        }
                        Err(e) => {
                            bad += 1;
                            eprintln!("smtpsweep: skipped {origin}:{e}");
                        }
                    }
                }
                Ok((ok, bad))
            })?
    };
    let started = Instant::now();
    let mut last = Instant::now();
    let mut prev_done = 0;
    while !h.thread.is_finished() {
        std::thread::sleep(Duration::from_millis(50));
        if !a.quiet && last.elapsed() >= Duration::from_secs(1) {
            let dt = last.elapsed().as_secs_f64();
            last = Instant::now();
            eprintln!(
                "{} {}",
                crate::monitor::clock(started.elapsed()),
                status(&stats, &mut prev_done, dt)
            );
        }
    }
    let (ok, bad) = feeder
        .join()
        .map_err(|_| anyhow!("the input thread panicked"))??;
    h.thread
        .join()
        .map_err(|_| anyhow!("the grab thread panicked"))?;
    let written = sink
        .join()
        .map_err(|_| anyhow!("the writer thread panicked"))??;
    if !a.quiet {
        let dt = last.elapsed().as_secs_f64();
        eprintln!(
            "{} {}",
            crate::monitor::clock(started.elapsed()),
            status(&stats, &mut prev_done, dt)
        );
        eprintln!("smtpsweep: {ok} targets read, {bad} lines skipped, {written} records written");
    }
    Ok(if interrupted.load(Ordering::SeqCst) {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// Feeds open ports from the scan's record stream into the grab stage
/// (sweep mode); never blocks: the grab queue is unbounded and counted.
pub fn forward(rec: &ScanRecord, input: &smtpsweep_grab::GrabInput) -> Result<()> {
    input
        .send(SocketAddrV4::new(rec.ip, rec.port), Some(rec.clone()))
        .map_err(|e| anyhow!("{e}"))
}
