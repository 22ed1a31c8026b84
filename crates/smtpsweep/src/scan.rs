//! `smtpsweep scan`: options, target space, network setup and the threads
//! (receiver first, then senders, a writer and the status line).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use crossbeam_channel::Receiver as Chan;
use smtpsweep_grab::Grabber;
use smtpsweep_netdev as netdev;
use smtpsweep_output::{
    BlocklistedCounts, Field, Filter, Format, RecordWriter, ScanMetadata, ScanRecord,
    format_timestamp,
};
use smtpsweep_probe::{CookieKey, Cookies, SynTemplate, TemplateConfig, bpf_program};
use smtpsweep_receiver::{Processor, Receiver, ReceiverConfig, ReceiverStats};
use smtpsweep_sender::{SendMode, SenderConfig, SenderStats};
use smtpsweep_targets::{
    IntervalSet, PortSet, TargetSpace, default_blocklist, parse_list, parse_target,
};

use crate::UsageError;
use crate::grabcmd::{self, GrabFormat, GrabOpts};
use crate::monitor;

/// Options of `smtpsweep scan` (ZMap's names where ZMap has the option).
#[derive(Args, Debug, Clone)]
pub struct ScanArgs {
    /// Targets: addresses, CIDRs (198.18.0.0/16) or ranges (198.18.0.1-198.18.0.9).
    pub targets: Vec<String>,
    /// File of targets to scan, one per line ('#' comments).
    #[arg(short = 'w', long = "allowlist-file")]
    pub allowlist_file: Option<PathBuf>,
    /// File of ranges never to scan, added to the built-in blocklist.
    #[arg(short = 'b', long = "blocklist-file")]
    pub blocklist_file: Option<PathBuf>,
    /// Do not apply the built-in blocklist of reserved and private ranges.
    #[arg(long)]
    pub allow_reserved: bool,
    /// Ports to probe: lists and ranges.
    #[arg(short = 'p', long = "ports", default_value = "25,465,587")]
    pub ports: String,
    /// Seed of the target permutation (random when not given; recorded).
    #[arg(short = 'e', long = "seed")]
    pub seed: Option<u64>,
    /// Number of shards (scan hosts sharing one seed).
    #[arg(long, default_value_t = 1)]
    pub shards: u32,
    /// This host's shard, 0-based.
    #[arg(long, default_value_t = 0)]
    pub shard: u32,
    /// Sender threads.
    #[arg(short = 'T', long = "sender-threads", default_value_t = 1)]
    pub sender_threads: u32,
    /// Interface to send on (default: the one routing to the first target).
    #[arg(short = 'i', long = "interface")]
    pub interface: Option<String>,
    /// MAC address of the gateway (default: neighbour table, then ARP).
    #[arg(short = 'G', long = "gateway-mac")]
    pub gateway_mac: Option<String>,
    /// Source address(es), comma-separated or repeated (default: the interface's).
    #[arg(short = 'S', long = "source-ip", value_delimiter = ',')]
    pub source_ip: Vec<Ipv4Addr>,
    /// Source port range for probes.
    #[arg(short = 's', long = "source-port", default_value = "32768-61000")]
    pub source_port: String,
    /// Send rate in packets per second (K/M/G suffixes; 0 = unlimited).
    #[arg(short = 'r', long = "rate", default_value = "10000")]
    pub rate: String,
    /// Send bandwidth instead of a rate, in bits per second (K/M/G suffixes).
    #[arg(short = 'B', long = "bandwidth")]
    pub bandwidth: Option<String>,
    /// Probes per target; copy k goes out in pass k over the permutation.
    #[arg(long, default_value_t = 1)]
    pub probes: u8,
    /// Stop after this many targets.
    #[arg(short = 'n', long = "max-targets")]
    pub max_targets: Option<u64>,
    /// Stop sending after this many seconds.
    #[arg(short = 't', long = "max-runtime")]
    pub max_runtime: Option<u64>,
    /// Stop after this many unique successful results.
    #[arg(short = 'N', long = "max-results")]
    pub max_results: Option<u64>,
    /// Seconds to keep receiving after the last probe.
    #[arg(short = 'c', long = "cooldown-time", default_value_t = 8)]
    pub cooldown: u64,
    /// Output file ('-' for stdout).
    #[arg(short = 'o', long = "output-file", default_value = "-")]
    pub output: String,
    /// Output format: jsonl or csv.
    #[arg(short = 'O', long = "output-format", default_value = "jsonl")]
    pub format: String,
    /// Output fields (ZMap names, comma-separated).
    #[arg(short = 'f', long = "output-fields")]
    pub fields: Option<String>,
    /// Which records to write (default: success = 1 && repeat = 0).
    #[arg(long = "output-filter")]
    pub output_filter: Option<String>,
    /// No status line.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Write scan metadata (JSON) to this file.
    #[arg(short = 'm', long = "metadata-file")]
    pub metadata_file: Option<PathBuf>,
    /// Print the probes that would be sent (address:port), open no socket.
    #[arg(long)]
    pub dryrun: bool,
    /// How frames are sent: ring (TX ring, qdisc bypass) or send (one syscall each).
    #[arg(long, default_value = "ring")]
    pub send_mode: String,
    /// IP TTL of probes.
    #[arg(long, default_value_t = 64)]
    pub ttl: u8,
}

/// The target space and what was counted building it.
pub struct Targets {
    pub space: TargetSpace,
    pub ports: PortSet,
    pub blocked_default: u64,
    pub blocked_user: u64,
}

fn usage(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(UsageError(e.to_string()))
}

fn read_list(path: &PathBuf) -> Result<Vec<smtpsweep_targets::Ipv4Range>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    parse_list(&text, &path.display().to_string()).map_err(usage)
}

/// Builds the target space from the options (allowlist, blocklists, ports).
pub fn build_targets(a: &ScanArgs) -> Result<Targets> {
    let mut allow = Vec::new();
    for t in &a.targets {
        allow.push(parse_target(t).map_err(usage)?);
    }
    if let Some(p) = &a.allowlist_file {
        allow.extend(read_list(p)?);
    }
    if allow.is_empty() {
        return Err(usage("no targets: give addresses/CIDRs or -w FILE"));
    }
    let allow = IntervalSet::from_ranges(allow);
    let user_block = match &a.blocklist_file {
        Some(p) => IntervalSet::from_ranges(read_list(p)?),
        None => IntervalSet::new(),
    };
    let default_block = if a.allow_reserved {
        IntervalSet::new()
    } else {
        default_blocklist()
    };
    let ports = PortSet::parse(&a.ports).map_err(usage)?;
    let after_default = allow.subtract(&default_block);
    let blocked_default = allow.len() - after_default.len();
    let after_user = after_default.subtract(&user_block);
    let blocked_user = after_default.len() - after_user.len();
    let space = TargetSpace::new(&after_user, &IntervalSet::new(), &ports);
    Ok(Targets {
        space,
        ports,
        blocked_default,
        blocked_user,
    })
}

fn parse_port_range(s: &str) -> Result<(u16, u16)> {
    let bad = || {
        usage(format!(
            "bad source port range {s:?} (expected e.g. 32768-61000)"
        ))
    };
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.trim().parse().map_err(|_| bad())?;
    let b: u16 = b.trim().parse().map_err(|_| bad())?;
    if a == 0 || b < a {
        return Err(bad());
    }
    Ok((a, b))
}

fn now_str() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_timestamp(t.as_secs(), t.subsec_micros())
}

/// Network facts the run uses.
struct Net {
    iface: netdev::Interface,
    sources: Vec<Ipv4Addr>,
    gateway_mac: netdev::Mac,
}

fn setup_net(a: &ScanArgs, first: Ipv4Addr) -> Result<Net> {
    let route = netdev::route_to(first);
    let name = match (&a.interface, &route) {
        (Some(i), _) => i.clone(),
        (None, Ok(r)) => r.iface.clone(),
        (None, Err(e)) => bail!("{e}"),
    };
    let iface = netdev::interface(&name)?;
    let sources = if a.source_ip.is_empty() {
        vec![
            *iface
                .ipv4
                .first()
                .ok_or_else(|| netdev::NetError::NoAddress(name.clone()))?,
        ]
    } else {
        a.source_ip.clone()
    };
    let gateway_mac = match &a.gateway_mac {
        Some(g) => netdev::parse_mac(g).ok_or_else(|| usage(format!("bad gateway MAC {g:?}")))?,
        None => {
            let hop = match &route {
                Ok(r) if r.iface == name => r.next_hop(first),
                _ => bail!("no route to {first} via {name}: give the gateway MAC with -G"),
            };
            netdev::resolve_mac(&iface, sources[0], hop, Duration::from_secs(2))?
        }
    };
    Ok(Net {
        iface,
        sources,
        gateway_mac,
    })
}

/// Runs `smtpsweep scan`.
pub fn run(a: ScanArgs, sweep: Option<GrabOpts>) -> Result<ExitCode> {
    if a.shards == 0 || a.shard >= a.shards {
        return Err(usage(format!(
            "--shard {} must be below --shards {}",
            a.shard, a.shards
        )));
    }
    if a.sender_threads == 0 {
        return Err(usage("--sender-threads must be at least 1"));
    }
    // Scan records (scan) or grab records (sweep) come out of the run.
    let (format, grab_format) = match &sweep {
        None => (a.format.parse::<Format>().map_err(usage)?, None),
        Some(_) => {
            if a.fields.is_some() {
                return Err(usage(
                    "-f/--output-fields applies to scan records; sweep writes grab records",
                ));
            }
            (Format::Jsonl, Some(GrabFormat::parse(&a.format)?))
        }
    };
    let fields = match &a.fields {
        Some(f) => Some(Field::parse_list(f).map_err(usage)?),
        None => None,
    };
    let filter = match &a.output_filter {
        Some(f) => Filter::parse(f).map_err(usage)?,
        None => Filter::default_filter(),
    };
    let send_mode = match a.send_mode.as_str() {
        "ring" => SendMode::Ring,
        "send" => SendMode::Send,
        m => return Err(usage(format!("unknown --send-mode {m:?} (ring or send)"))),
    };
    let (sport_first, sport_last) = parse_port_range(&a.source_port)?;
    let targets = build_targets(&a)?;
    let space = Arc::new(targets.space);
    if space.is_empty() {
        return Err(usage(format!(
            "nothing to scan: all {} requested addresses are blocklisted ({} by the built-in list of reserved ranges — pass --allow-reserved if you mean them — and {} by -b)",
            targets.blocked_default + targets.blocked_user,
            targets.blocked_default,
            targets.blocked_user
        )));
    }
    let seed = a.seed.unwrap_or_else(rand::random);
    let perm = Arc::new(smtpsweep_targets::Permutation::new(space.len(), seed));
    let frame_len = SynTemplate::FRAME_LEN;
    let rate_pps = match &a.bandwidth {
        Some(b) => smtpsweep_pacing::bandwidth_to_pps(
            smtpsweep_pacing::parse_bandwidth(b).map_err(usage)?,
            frame_len,
        ),
        None => smtpsweep_pacing::parse_rate(&a.rate).map_err(usage)?,
    };

    // The record writer buffers; dry-run output gets its own buffer.
    let out: Box<dyn Write + Send> = if a.output == "-" {
        Box::new(std::io::stdout())
    } else {
        Box::new(File::create(&a.output).with_context(|| format!("creating {}", a.output))?)
    };

    if a.dryrun {
        return dryrun(
            &a,
            &space,
            &perm,
            &mut BufWriter::with_capacity(1 << 16, out),
        );
    }
    let filter_text = filter.source().to_string();

    let net = setup_net(&a, space.get(0).0)?;
    let start_time = now_str();
    let started = Instant::now();
    let key = CookieKey::random();
    let sport_count = sport_last - sport_first + 1;
    let cookies = Arc::new(Cookies::new(key, sport_first, sport_count, a.probes.max(1)));

    let stop = Arc::new(AtomicBool::new(false));
    let interrupted = Arc::new(AtomicBool::new(false));
    // Ctrl-C: stop sending and receiving; what was found is still written
    // (and in sweep mode grabbed; a second Ctrl-C stops the grabs too).
    let abort = grabcmd::install_ctrlc(interrupted.clone(), Some(stop.clone()));

    // Receiver first, so no answer to the first probe is missed.
    let rx = Receiver::open(net.iface.index, &bpf_program(sport_first, sport_last))?;
    let sending_done = Arc::new(AtomicBool::new(false));
    let proc = Processor::new(ReceiverConfig {
        cookies: cookies.clone(),
        space: space.clone(),
        sending_done: sending_done.clone(),
        max_results: a.max_results,
    });
    let rstats = Arc::new(ReceiverStats::default());
    let sstats = Arc::new(SenderStats::default());
    let recv_stop = Arc::new(AtomicBool::new(false));
    let (tx, chan) = crossbeam_channel::unbounded::<ScanRecord>();
    let receiver = {
        let (rstats, recv_stop) = (rstats.clone(), recv_stop.clone());
        std::thread::Builder::new()
            .name("receiver".into())
            .spawn(move || smtpsweep_receiver::run(rx, proc, &rstats, &recv_stop, tx))?
    };
    // Downstream of the receiver: the scan-record writer, or (sweep) the
    // forwarder into the grab stage plus the grab-record writer.
    let mut grab = None;
    let writer = match (&sweep, grab_format) {
        (Some(opts), Some(gf)) => {
            let h = Grabber::start(opts.config()?)?;
            let _ = abort.set(h.abort.clone());
            let sink = grabcmd::start_sink(h.records, out, gf, opts.enricher()?)?;
            let input = h.input;
            grab = Some((h.stats, h.thread, sink));
            std::thread::Builder::new()
                .name("forwarder".into())
                .spawn(move || -> Result<u64> {
                    let mut n = 0;
                    for rec in chan.iter() {
                        if filter.matches(&rec) {
                            grabcmd::forward(&rec, &input)?;
                            n += 1;
                        }
                    }
                    Ok(n)
                })?
        }
        _ => std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || write_records(chan, out, format, fields, filter))?,
    };

    let threads = a.sender_threads;
    let deadline = a.max_runtime.map(|s| started + Duration::from_secs(s));
    let mut senders = Vec::new();
    for t in 0..threads {
        let templates = net
            .sources
            .iter()
            .map(|&src| {
                (
                    src,
                    SynTemplate::new(&TemplateConfig {
                        src_mac: net.iface.mac,
                        dst_mac: net.gateway_mac,
                        src_ip: src,
                        ttl: a.ttl,
                        window: 64240,
                    }),
                )
            })
            .collect();
        let share = |total: u64| {
            total / u64::from(threads) + u64::from(u64::from(t) < total % u64::from(threads))
        };
        let cfg = SenderConfig {
            ifindex: net.iface.index,
            mode: send_mode,
            space: space.clone(),
            permutation: perm.clone(),
            shards: a.shards,
            shard: a.shard,
            threads,
            thread: t,
            templates,
            cookies: cookies.clone(),
            probes: a.probes.max(1),
            rate_pps: if rate_pps == 0 {
                0
            } else {
                share(rate_pps).max(1)
            },
            max_targets: a.max_targets.map(share),
            deadline,
        };
        let (sstats, stop) = (sstats.clone(), stop.clone());
        senders.push(
            std::thread::Builder::new()
                .name(format!("sender-{t}"))
                .spawn(move || smtpsweep_sender::run(cfg, &sstats, &stop))?,
        );
    }

    let per_shard = space.len().div_ceil(u64::from(a.shards));
    let expected =
        a.max_targets.map_or(per_shard, |n| n.min(per_shard)) * u64::from(a.probes.max(1));
    let mut prev = monitor::Sample::default();
    let mut last = Instant::now();
    let grab_stats = grab.as_ref().map(|g| g.0.clone());
    let prev_grab = std::cell::Cell::new(0u64);
    let status = |prev: &mut monitor::Sample, last: &mut Instant, sending: bool| {
        if a.quiet {
            return;
        }
        let dt = last.elapsed().as_secs_f64().max(1e-3);
        *last = Instant::now();
        let mut line = monitor::line(
            started.elapsed(),
            expected,
            sending,
            &sstats,
            &rstats,
            prev,
            dt,
        );
        if let Some(g) = &grab_stats {
            let mut pd = prev_grab.get();
            line = format!("{line}; {}", grabcmd::status(g, &mut pd, dt));
            prev_grab.set(pd);
        }
        eprintln!("{line}");
    };
    if !a.quiet {
        eprintln!(
            "smtpsweep: scanning {} targets ({} addresses × {} ports) from {} on {} via {}; seed {}; shard {}/{}; rate {}",
            space.len(),
            space.addresses(),
            targets.ports.len(),
            net.sources
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(","),
            net.iface.name,
            netdev::format_mac(&net.gateway_mac),
            seed,
            a.shard,
            a.shards,
            if rate_pps == 0 {
                "unlimited".to_string()
            } else {
                format!("{rate_pps} pps")
            }
        );
    }
    // Wait for the senders, printing status each second.
    let mut send_errors = Vec::new();
    let mut ring_used = true;
    for h in senders {
        while !h.is_finished() {
            std::thread::sleep(Duration::from_millis(50));
            if recv_stop.load(Ordering::Relaxed) {
                stop.store(true, Ordering::Relaxed); // -N reached
            }
            if last.elapsed() >= Duration::from_secs(1) {
                status(&mut prev, &mut last, true);
            }
        }
        match h.join() {
            Ok(Ok(rep)) => ring_used &= rep.ring,
            Ok(Err(e)) => send_errors.push(e.to_string()),
            Err(_) => send_errors.push("a sender thread panicked".into()),
        }
    }
    sending_done.store(true, Ordering::Relaxed);
    // Cooldown: keep receiving, unless interrupted or -N reached.
    let cool_end = Instant::now() + Duration::from_secs(a.cooldown);
    while Instant::now() < cool_end
        && !stop.load(Ordering::Relaxed)
        && !recv_stop.load(Ordering::Relaxed)
    {
        std::thread::sleep(Duration::from_millis(50));
        if last.elapsed() >= Duration::from_secs(1) {
            status(&mut prev, &mut last, false);
        }
    }
    recv_stop.store(true, Ordering::Relaxed);
    let recv_result = receiver
        .join()
        .map_err(|_| anyhow!("the receiver thread panicked"))?;
    let mut write_result: Result<u64> = writer
        .join()
        .map_err(|_| anyhow!("the writer thread panicked"))?;
    let mut grab_summary = None;
    if let Some((gstats, thread, sink)) = grab {
        // The forwarder has dropped its input: the grab stage drains and ends.
        while !thread.is_finished() {
            std::thread::sleep(Duration::from_millis(50));
            if last.elapsed() >= Duration::from_secs(1) {
                status(&mut prev, &mut last, false);
            }
        }
        thread
            .join()
            .map_err(|_| anyhow!("the grab thread panicked"))?;
        let written = sink
            .join()
            .map_err(|_| anyhow!("the grab writer thread panicked"))?;
        write_result = write_result.and(written);
        let snap = gstats.snapshot();
        grab_summary = Some(smtpsweep_output::GrabSummary {
            submitted: snap.submitted,
            done: snap.done,
            by_status: snap
                .by_status
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(st, n)| (st.as_str().to_string(), *n))
                .collect(),
        });
    }
    status(&mut prev, &mut last, false);

    let interrupted = interrupted.load(Ordering::SeqCst);
    let mut error = None;
    if let Err(e) = recv_result {
        error = Some(anyhow!("receiver: {e}"));
    } else if let Some(e) = send_errors.first() {
        error = Some(anyhow!("sender: {e}"));
    } else if let Err(e) = &write_result {
        error = Some(anyhow!("writing results: {e}"));
    }
    if let Some(path) = &a.metadata_file {
        let ld = |x: &std::sync::atomic::AtomicU64| x.load(Ordering::Relaxed);
        let exit_status = if error.is_some() {
            "error"
        } else if interrupted {
            "interrupted"
        } else if a
            .max_results
            .is_some_and(|n| ld(&rstats.unique_success) >= n)
        {
            "max-results"
        } else if deadline.is_some_and(|d| Instant::now() >= d) && ld(&sstats.targets) < expected {
            "max-runtime"
        } else if a.max_targets.is_some() {
            "max-targets"
        } else {
            "completed"
        };
        let md = ScanMetadata {
            smtpsweep_version: env!("CARGO_PKG_VERSION").into(),
            command_line: std::env::args().collect(),
            seed,
            seed_given: a.seed.is_some(),
            shards: a.shards,
            shard: a.shard,
            sender_threads: threads,
            targets: a.targets.clone(),
            allowlist_file: a.allowlist_file.as_ref().map(|p| p.display().to_string()),
            blocklist_file: a.blocklist_file.as_ref().map(|p| p.display().to_string()),
            allow_reserved: a.allow_reserved,
            ports: targets.ports.ports().to_vec(),
            rate_pps: (rate_pps > 0).then_some(rate_pps),
            bandwidth_bps: a
                .bandwidth
                .as_deref()
                .and_then(|b| smtpsweep_pacing::parse_bandwidth(b).ok()),
            probes: u32::from(a.probes.max(1)),
            cooldown_s: a.cooldown,
            max_targets: a.max_targets,
            max_runtime_s: a.max_runtime,
            max_results: a.max_results,
            dryrun: false,
            interface: net.iface.name.clone(),
            source_ips: net.sources.clone(),
            source_ports: [sport_first, sport_last],
            gateway_mac: netdev::format_mac(&net.gateway_mac),
            start_time,
            end_time: now_str(),
            duration_s: started.elapsed().as_secs_f64(),
            addresses_total: space.addresses(),
            targets_total: space.len(),
            targets_scanned: ld(&sstats.targets),
            targets_blocklisted: BlocklistedCounts {
                default: targets.blocked_default,
                user: targets.blocked_user,
            },
            packets_sent: ld(&sstats.sent),
            send_errors: ld(&sstats.send_errors),
            packets_received: ld(&rstats.received),
            responses_validated: ld(&rstats.validated),
            validation_failed: ld(&rstats.failed),
            hits_unique: ld(&rstats.unique_success),
            hits_repeat: ld(&rstats.repeats),
            hits_cooldown: ld(&rstats.cooldown),
            drops: ld(&rstats.drops),
            records_written: *write_result.as_ref().unwrap_or(&0),
            filter: filter_text,
            output_format: a.format.clone(),
            output_fields: a
                .fields
                .as_ref()
                .map(|f| f.split(',').map(|s| s.trim().to_string()).collect()),
            output_file: a.output.clone(),
            // A fingerprint of the key that does not reveal it: the cookie of an all-zero tuple.
            cookie_key_fingerprint: format!(
                "{:08x}",
                cookies.seq(Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, 0, 0)
            ),
            grab: grab_summary,
            send_mode: if ring_used {
                "ring".into()
            } else {
                "send".into()
            },
            exit_status: exit_status.into(),
            exit_code: if error.is_some() {
                1
            } else if interrupted {
                130
            } else {
                0
            },
            error: error.as_ref().map(|e| format!("{e:#}")),
        };
        std::fs::write(path, md.to_json_pretty() + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(e) = error {
        return Err(e);
    }
    Ok(if interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// The writer thread: filter, format, and flush whenever the stream goes idle.
fn write_records(
    chan: Chan<ScanRecord>,
    out: Box<dyn Write + Send>,
    format: Format,
    fields: Option<Vec<Field>>,
    filter: Filter,
) -> Result<u64> {
    let mut w = RecordWriter::new(out, format, fields)?;
    for rec in chan.iter() {
        if filter.matches(&rec) {
            w.write(&rec)?;
        }
        if chan.is_empty() {
            w.flush()?;
        }
    }
    w.flush()?;
    Ok(w.records_written())
}

/// `--dryrun`: the probes in send order (thread by thread), no socket opened.
fn dryrun(
    a: &ScanArgs,
    space: &TargetSpace,
    perm: &smtpsweep_targets::Permutation,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    for probe in 0..a.probes.max(1) {
        for t in 0..a.sender_threads {
            let share = a.max_targets.map(|n| {
                n / u64::from(a.sender_threads)
                    + u64::from(u64::from(t) < n % u64::from(a.sender_threads))
            });
            let iter = perm.subshard(a.shards, a.shard, a.sender_threads, t);
            for index in iter.take(share.map_or(usize::MAX, |n| n as usize)) {
                let (ip, port) = space.get(index);
                writeln!(out, "{ip}:{port} probe={probe}")?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: ScanArgs,
    }

    fn args(v: &[&str]) -> ScanArgs {
        T::parse_from(std::iter::once("scan").chain(v.iter().copied())).a
    }

    #[test]
    fn reserved_ranges_are_refused_unless_allowed() {
        let t = build_targets(&args(&["198.18.0.0/24"])).unwrap();
        assert_eq!(t.space.len(), 0);
        assert_eq!(t.blocked_default, 256);
        let t = build_targets(&args(&["--allow-reserved", "198.18.0.0/24"])).unwrap();
        assert_eq!(t.space.len(), 256 * 3);
        assert_eq!(t.blocked_default, 0);
    }

    #[test]
    fn user_blocklist_adds_to_default() {
        let dir = std::env::temp_dir().join(format!("ssw-scan-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bl = dir.join("block.txt");
        std::fs::write(&bl, "# ours\n198.18.0.0/25 # half\n").unwrap();
        let a = args(&[
            "--allow-reserved",
            "-b",
            bl.to_str().unwrap(),
            "-p",
            "25",
            "198.18.0.0/24",
        ]);
        let t = build_targets(&a).unwrap();
        assert_eq!(t.space.len(), 128);
        assert_eq!(t.blocked_user, 128);
        std::fs::write(&bl, "198.18.0.0/33\n").unwrap();
        let e = build_targets(&a).err().unwrap().to_string();
        assert!(e.contains("block.txt:1"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn source_port_ranges() {
        assert_eq!(parse_port_range("32768-61000").unwrap(), (32768, 61000));
        assert_eq!(parse_port_range("40000").unwrap(), (40000, 40000));
        for bad in ["0-10", "10-5", "a-b", "70000", ""] {
            assert!(parse_port_range(bad).is_err(), "{bad}");
        }
    }
}
