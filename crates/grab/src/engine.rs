//! The grab stage as an engine: a tokio runtime on a background thread running up to
//! `concurrency` sessions at once, fed through [`GrabInput`], emitting [`GrabRecord`]s.

use std::io;
use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use smtpsweep_output::ScanRecord;
use smtpsweep_smtp::Status;
use thiserror::Error;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::{Instant, sleep_until};

use crate::config::{GrabConfig, GrabConfigError};
use crate::grab::grab_validated;
use crate::record::GrabRecord;

/// Live counters of a [`Grabber`], readable from any thread at any time.
#[derive(Debug, Default)]
pub struct GrabStats {
    submitted: AtomicU64,
    queued: AtomicU64,
    in_flight: AtomicU64,
    started: AtomicU64,
    done: AtomicU64,
    lost: AtomicU64,
    by_status: [AtomicU64; Status::ALL.len()],
}

/// A consistent-enough copy of [`GrabStats`] (each counter read once).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GrabStatsSnapshot {
    /// Targets accepted by [`GrabInput`] so far.
    pub submitted: u64,
    /// Accepted targets whose session has not started yet (the backlog).
    pub queued: u64,
    /// Sessions running now.
    pub in_flight: u64,
    /// Sessions started so far.
    pub started: u64,
    /// Records emitted so far.
    pub done: u64,
    /// Sessions that ended without a record (a bug: a panicking session). Normally 0.
    pub lost: u64,
    /// Records emitted per status, in [`Status::ALL`] order.
    pub by_status: Vec<(Status, u64)>,
}

impl GrabStats {
    /// Read every counter.
    pub fn snapshot(&self) -> GrabStatsSnapshot {
        GrabStatsSnapshot {
            submitted: self.submitted.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            started: self.started.load(Ordering::Relaxed),
            done: self.done.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
            by_status: Status::ALL
                .iter()
                .zip(&self.by_status)
                .map(|(s, n)| (*s, n.load(Ordering::Relaxed)))
                .collect(),
        }
    }

    /// Targets accepted and not started yet.
    pub fn queued(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }

    /// Sessions running now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Records emitted so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Records emitted with `status` so far.
    pub fn count(&self, status: Status) -> u64 {
        let i = Status::ALL.iter().position(|s| *s == status).unwrap_or(0);
        self.by_status[i].load(Ordering::Relaxed)
    }
}

impl GrabStatsSnapshot {
    /// Records with `status`.
    pub fn count(&self, status: Status) -> u64 {
        self.by_status
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    }
}

/// The grab stage has stopped and takes no more targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("the grab stage has stopped")]
pub struct GrabStopped;

/// One unit of work.
struct Job {
    target: SocketAddrV4,
    scan: Option<ScanRecord>,
}

/// Wakes senders waiting in [`GrabInput::send_wait`].
#[derive(Default)]
struct Backlog {
    lock: Mutex<()>,
    cv: Condvar,
}

/// The feeding side of a [`Grabber`]. Cheap to clone; the stage finishes once every
/// clone is dropped and all queued targets are done.
#[derive(Clone)]
pub struct GrabInput {
    tx: mpsc::UnboundedSender<Job>,
    stats: Arc<GrabStats>,
    backlog: Arc<Backlog>,
    max_backlog: u64,
}

impl GrabInput {
    /// Queue a target without ever blocking (for the SYN receiver). The queue is
    /// unbounded; its length is [`GrabStats::queued`]. Nothing is dropped.
    pub fn send(&self, target: SocketAddrV4, scan: Option<ScanRecord>) -> Result<(), GrabStopped> {
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        self.stats.submitted.fetch_add(1, Ordering::Relaxed);
        self.tx.send(Job { target, scan }).map_err(|_| {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            self.stats.submitted.fetch_sub(1, Ordering::Relaxed);
            GrabStopped
        })
    }

    /// Queue a target, first waiting while `max_backlog` targets are already queued
    /// (backpressure for file and stdin input). Call from a plain thread, not from
    /// inside a tokio runtime, and read the records on another thread.
    pub fn send_wait(
        &self,
        target: SocketAddrV4,
        scan: Option<ScanRecord>,
    ) -> Result<(), GrabStopped> {
        if self.stats.queued() >= self.max_backlog {
            let mut guard = self.backlog.lock.lock().unwrap_or_else(|e| e.into_inner());
            while self.stats.queued() >= self.max_backlog && !self.tx.is_closed() {
                // The timeout bounds the cost of a wake-up missed between check and wait.
                guard = self
                    .backlog
                    .cv
                    .wait_timeout(guard, Duration::from_millis(20))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
        self.send(target, scan)
    }

    /// Close this handle (same as dropping it).
    pub fn close(self) {}
}

/// Decrements `in_flight` however a session task ends; counts a task that ended
/// without producing its record as lost.
struct InFlight {
    stats: Arc<GrabStats>,
    finished: bool,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.finished {
            self.stats.lost.fetch_add(1, Ordering::Relaxed);
        }
        self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Stops a running [`Grabber`] early: sessions in flight end at once and
/// every target still queued is emitted without connecting, each with status
/// `interrupted` (and its scan record), so no target goes missing.
#[derive(Clone, Default)]
pub struct AbortHandle(Arc<Abort>);

#[derive(Default)]
struct Abort {
    flag: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

impl AbortHandle {
    /// Stop now (idempotent).
    pub fn abort(&self) {
        self.0.flag.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    fn is_aborted(&self) -> bool {
        self.0.flag.load(Ordering::SeqCst)
    }

    /// Completes once [`abort`](Self::abort) has been called.
    async fn aborted(&self) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_aborted() {
                return;
            }
            notified.await;
        }
    }
}

/// The record of a target the run stopped before its session ended.
fn interrupted(
    target: SocketAddrV4,
    scan: Option<ScanRecord>,
    started: std::time::Instant,
) -> GrabRecord {
    GrabRecord {
        ip: *target.ip(),
        port: target.port(),
        scan,
        status: Status::Interrupted,
        error: Some("the run was stopped before this session ended".into()),
        timestamp: smtpsweep_output::format_system_time(std::time::SystemTime::now()),
        duration_ms: started.elapsed().as_millis() as u64,
        smtp: Default::default(),
        tls: None,
        fingerprint: None,
        cves: Vec::new(),
    }
}

/// The grab engine.
#[derive(Debug)]
pub struct Grabber;

/// What [`Grabber::start`] hands back.
pub struct GrabHandles {
    /// Feed targets here; drop every clone to finish.
    pub input: GrabInput,
    /// One record per target, in completion order. Unbounded: read it promptly.
    pub records: crossbeam_channel::Receiver<GrabRecord>,
    /// Live counters.
    pub stats: Arc<GrabStats>,
    /// The background thread; it returns once input is closed and every session is done.
    pub thread: JoinHandle<()>,
    /// Stops the stage early (see [`AbortHandle`]).
    pub abort: AbortHandle,
}

impl Grabber {
    /// Validate `cfg` and start the engine on a background thread with its own
    /// two-worker tokio runtime.
    pub fn start(cfg: GrabConfig) -> Result<GrabHandles, GrabStartError> {
        cfg.validate()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("smtpsweep-grab")
            .enable_all()
            .build()
            .map_err(GrabStartError::Runtime)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (out_tx, out_rx) = crossbeam_channel::unbounded();
        let stats = Arc::new(GrabStats::default());
        let backlog = Arc::new(Backlog::default());
        let input = GrabInput {
            tx,
            stats: stats.clone(),
            backlog: backlog.clone(),
            max_backlog: cfg.max_backlog as u64,
        };
        let thread_stats = stats.clone();
        let abort = AbortHandle::default();
        let thread_abort = abort.clone();
        let thread = std::thread::Builder::new()
            .name("smtpsweep-grab".into())
            .spawn(move || {
                runtime.block_on(dispatch(
                    Arc::new(cfg),
                    rx,
                    out_tx,
                    thread_stats,
                    backlog,
                    thread_abort,
                ));
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(GrabStartError::Thread)?;
        Ok(GrabHandles {
            input,
            records: out_rx,
            stats,
            thread,
            abort,
        })
    }
}

/// Why [`Grabber::start`] failed.
#[derive(Debug, Error)]
pub enum GrabStartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] GrabConfigError),
    /// The tokio runtime could not be built.
    #[error("cannot start the grab runtime: {0}")]
    Runtime(io::Error),
    /// The background thread could not be spawned.
    #[error("cannot start the grab thread: {0}")]
    Thread(io::Error),
}

/// Take jobs in order, pace them, and run each under a concurrency permit.
async fn dispatch(
    cfg: Arc<GrabConfig>,
    mut rx: mpsc::UnboundedReceiver<Job>,
    out: crossbeam_channel::Sender<GrabRecord>,
    stats: Arc<GrabStats>,
    backlog: Arc<Backlog>,
    abort: AbortHandle,
) {
    let permits = Arc::new(Semaphore::new(cfg.concurrency));
    let interval = (cfg.grab_rate > 0).then(|| Duration::from_secs_f64(1.0 / cfg.grab_rate as f64));
    let mut next_start = Instant::now();
    while let Some(job) = rx.recv().await {
        if abort.is_aborted() {
            // Stopped: account for the target without connecting.
            stats.queued.fetch_sub(1, Ordering::Relaxed);
            let record = interrupted(job.target, job.scan, std::time::Instant::now());
            count(&stats, record.status);
            let _ = out.send(record);
            backlog.cv.notify_all();
            continue;
        }
        if let Some(step) = interval {
            let now = Instant::now();
            if next_start > now {
                sleep_until(next_start).await;
            } else if now - next_start > Duration::from_millis(100) {
                // Do not bank more than 100 ms worth of unused rate.
                next_start = now - Duration::from_millis(100);
            }
            next_start += step;
        }
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p,
            () = abort.aborted() => {
                stats.queued.fetch_sub(1, Ordering::Relaxed);
                let record = interrupted(job.target, job.scan, std::time::Instant::now());
                count(&stats, record.status);
                let _ = out.send(record);
                continue;
            }
        };
        let Ok(permit) = permit else {
            break;
        };
        stats.queued.fetch_sub(1, Ordering::Relaxed);
        stats.in_flight.fetch_add(1, Ordering::Relaxed);
        stats.started.fetch_add(1, Ordering::Relaxed);
        if stats.queued.load(Ordering::Relaxed) < cfg.max_backlog as u64 {
            backlog.cv.notify_all();
        }
        let (cfg, out, stats, abort) = (cfg.clone(), out.clone(), stats.clone(), abort.clone());
        tokio::spawn(async move {
            let mut guard = InFlight {
                stats: stats.clone(),
                finished: false,
            };
            let started = std::time::Instant::now();
            let mut record = tokio::select! {
                r = grab_validated(job.target, &cfg) => r,
                () = abort.aborted() => interrupted(job.target, None, started),
            };
            record.scan = job.scan;
            count(&stats, record.status);
            guard.finished = true;
            // A dropped receiver means nobody wants records any more; keep going quietly.
            let _ = out.send(record);
            drop(guard);
            drop(permit);
        });
    }
    // Input closed: wait for every session to give its permit back.
    let _ = permits.acquire_many(cfg.concurrency as u32).await;
}

/// Counts one emitted record.
fn count(stats: &GrabStats, status: Status) {
    let i = Status::ALL.iter().position(|s| *s == status).unwrap_or(0);
    stats.by_status[i].fetch_add(1, Ordering::Relaxed);
    stats.done.fetch_add(1, Ordering::Relaxed);
}

/// Raise the soft `RLIMIT_NOFILE` to `want` (capped at the hard limit) if it is lower.
/// Returns the soft limit now in force.
// `rlim_t` is `u64` on 64-bit Linux but not everywhere, hence the casts.
#[allow(clippy::unnecessary_cast)]
pub fn raise_nofile_limit(want: u64) -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and has no other effect.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let target = (want as libc::rlim_t).min(lim.rlim_max);
    if lim.rlim_cur >= target {
        return Ok(lim.rlim_cur as u64);
    }
    lim.rlim_cur = target;
    // SAFETY: setrlimit reads the struct we pass; the soft limit stays within the hard one.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(lim.rlim_cur as u64)
}
