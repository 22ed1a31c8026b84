//! The SMTP servers of the simulated internet: one real listener per open (address, port).
//!
//! A tokio runtime with two worker threads serves every listener. [`serve_in_netns`] first moves
//! the calling thread into the internet namespace; the runtime's threads are created from it and
//! inherit the namespace, so every listener lives there.

use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::error::{Error, Result};
use crate::netns::enter_netns;
use crate::persona::{self, Hostile, Persona, Session};
use crate::tls;
use crate::truth::{self, GroundTruth};

/// Tunables of the servers.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// How long a session may wait for the client's next line (then 421 and close).
    pub idle_timeout: Duration,
    /// Hard limit on a whole session.
    pub session_timeout: Duration,
    /// How long a hostile behaviour (silence, drip, endless greeting, garbage) lasts at most.
    pub hostile_limit: Duration,
    /// Concurrent sessions across all listeners; connections beyond it are closed at once.
    pub max_connections: usize,
    /// Listen backlog of each socket.
    pub backlog: u32,
    /// Worker threads of the server runtime.
    pub worker_threads: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            idle_timeout: Duration::from_secs(30),
            session_timeout: Duration::from_secs(120),
            hostile_limit: Duration::from_secs(60),
            max_connections: 16_384,
            backlog: 1024,
            worker_threads: 2,
        }
    }
}

/// Tells running servers to stop; cloneable and usable from any thread (e.g. a signal handler).
#[derive(Clone, Debug)]
pub struct StopTrigger(Arc<watch::Sender<bool>>);

/// The servers' side of a stop request. Dropping every [`StopTrigger`] also counts as a stop.
#[derive(Clone, Debug)]
pub struct StopSignal(watch::Receiver<bool>);

/// A connected trigger and signal.
pub fn stop_pair() -> (StopTrigger, StopSignal) {
    let (tx, rx) = watch::channel(false);
    (StopTrigger(Arc::new(tx)), StopSignal(rx))
}

impl StopTrigger {
    /// Requests the stop. Idempotent.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl StopSignal {
    /// Whether a stop was requested (or every trigger is gone).
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }

    /// Completes once a stop is requested or every trigger is dropped.
    pub async fn stopped(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// Raises the soft limit on open files towards `want`, raising the hard limit too when allowed
/// (root with CAP_SYS_RESOURCE). Returns the soft limit in force afterwards, which is below
/// `want` only when the hard limit could not be raised.
pub fn raise_nofile_limit(want: u64) -> Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(Error::io(
            "getrlimit(RLIMIT_NOFILE)",
            std::io::Error::last_os_error(),
        ));
    }
    if lim.rlim_cur >= want {
        return Ok(lim.rlim_cur);
    }
    let set = |cur, max| {
        let new = libc::rlimit {
            rlim_cur: cur,
            rlim_max: max,
        };
        // SAFETY: setrlimit only reads the struct it is given.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) == 0 }
    };
    if want > lim.rlim_max && set(want, want) {
        return Ok(want);
    }
    let cur = want.min(lim.rlim_max);
    if set(cur, lim.rlim_max) {
        return Ok(cur);
    }
    Err(Error::io(
        format!(
            "raising the open-file limit to {cur} (soft {}, hard {})",
            lim.rlim_cur, lim.rlim_max
        ),
        std::io::Error::last_os_error(),
    ))
}

/// Descriptors kept free for the runtime and whatever else the process has open.
const SPARE_FDS: u64 = 64;

fn listen(addr: SocketAddrV4, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::V4(addr))?;
    socket.listen(backlog)
}

/// Everything a listener needs to serve its (address, port).
struct Site {
    addr: SocketAddrV4,
    persona: &'static Persona,
    template: Session,
}

async fn accept_loop(listener: TcpListener, site: Site, slots: Arc<Semaphore>, timeout: Duration) {
    let site = Arc::new(site);
    let reset = site.persona.hostile() == Some(Hostile::ResetAfterGreeting);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(_) => {
                // Out of descriptors or a connection reset before accept: back off briefly.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        if reset {
            // Closing with SO_LINGER 0 sends RST instead of FIN.
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
        }
        let site = site.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut session = site.template.clone();
            session.peer = peer;
            let _ =
                tokio::time::timeout(timeout, site.persona.handle::<TcpStream>(stream, &session))
                    .await;
        });
    }
}

/// The listeners' sites for `truth`: personas, greeting dates and TLS configurations.
fn sites(truth: &GroundTruth, opts: &ServeOptions) -> Result<Vec<Site>> {
    let mut tls = tls::server_configs(truth)?;
    let mut out = Vec::with_capacity(truth.open.len());
    for open in &truth.open {
        let persona = persona::find(&open.persona)
            .ok_or_else(|| Error::UnknownPersona(open.persona.clone()))?;
        let addr = SocketAddrV4::new(open.ip, open.port);
        let template = Session {
            local: SocketAddr::V4(addr),
            peer: SocketAddr::V4(addr),
            host_name: persona::host_name(open.ip),
            date: truth::greeting_date(truth.seed, open.ip, open.port),
            idle_timeout: opts.idle_timeout,
            hostile_limit: opts.hostile_limit,
            tls: tls.remove(&(open.ip, open.port)),
            implicit_tls: open.tls == truth::TlsMode::Implicit,
            noise: truth::noise_seed(truth.seed, open.ip, open.port),
        };
        out.push(Site {
            addr,
            persona,
            template,
        });
    }
    Ok(out)
}

/// Serves every open (address, port) of `truth` in the current thread's network namespace until
/// `stop` fires. The truth must have its certificates ([`crate::tls::provision`]) if any pair
/// speaks TLS. `on_ready` is called with the number of listeners once all are bound; an error
/// before that (e.g. an address that is not local) is returned instead.
pub fn serve(
    truth: &GroundTruth,
    opts: &ServeOptions,
    stop: StopSignal,
    on_ready: impl FnOnce(usize),
) -> Result<()> {
    let sites = sites(truth, opts)?;
    let listeners = sites.len() as u64;
    let limit = raise_nofile_limit(listeners + opts.max_connections as u64 + SPARE_FDS)?;
    if limit < listeners + 2 * SPARE_FDS {
        return Err(Error::Server(format!(
            "{listeners} listeners do not fit the open-file limit of {limit}"
        )));
    }
    // Sessions beyond what the descriptor limit allows would only fail in accept().
    let max_connections = opts
        .max_connections
        .min(usize::try_from(limit - listeners - SPARE_FDS).unwrap_or(usize::MAX));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.worker_threads.max(1))
        .thread_name("testbed-smtp")
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the tokio runtime", e))?;
    let (backlog, session_timeout) = (opts.backlog, opts.session_timeout);
    runtime.block_on(async move {
        let mut bound = Vec::with_capacity(sites.len());
        for site in sites {
            let listener = listen(site.addr, backlog)
                .map_err(|e| Error::io(format!("listening on {}", site.addr), e))?;
            bound.push((listener, site));
        }
        let count = bound.len();
        let slots = Arc::new(Semaphore::new(max_connections));
        for (listener, site) in bound {
            tokio::spawn(accept_loop(listener, site, slots.clone(), session_timeout));
        }
        on_ready(count);
        stop.stopped().await;
        Ok(())
    })
    // Dropping the runtime cancels every task and closes all sockets.
}

/// Moves the calling thread into network namespace `ns` (for good), then runs [`serve`] there.
pub fn serve_in_netns(
    ns: &str,
    truth: &GroundTruth,
    opts: &ServeOptions,
    stop: StopSignal,
    on_ready: impl FnOnce(usize),
) -> Result<()> {
    enter_netns(ns)?;
    serve(truth, opts, stop, on_ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_signal_fires_on_stop_and_on_drop() {
        let (trigger, signal) = stop_pair();
        assert!(!signal.is_stopped());
        trigger.clone().stop();
        assert!(signal.is_stopped());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(signal.stopped());

        let (trigger, signal) = stop_pair();
        drop(trigger);
        assert!(signal.is_stopped());
        rt.block_on(signal.stopped());
    }

    fn nofile_limits() -> (u64, u64) {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes into the struct it is given.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        (lim.rlim_cur, lim.rlim_max)
    }

    #[test]
    fn nofile_limit_never_lowers_and_caps_at_what_is_allowed() {
        let (soft, _) = nofile_limits();
        assert_eq!(raise_nofile_limit(soft / 2).unwrap(), soft);
        assert_eq!(nofile_limits().0, soft);
        // More than the kernel ever allows (nr_open): the hard limit cannot be raised that far,
        // so the soft limit ends at the hard limit and that is what is reported.
        let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open")
            .map_or(1 << 20, |s| s.trim().parse().unwrap());
        let got = raise_nofile_limit(nr_open + 1).unwrap();
        let (soft_after, hard_after) = nofile_limits();
        assert_eq!(got, soft_after);
        assert_eq!(soft_after, hard_after);
        assert!(soft_after >= soft);
    }

    #[test]
    fn serving_outside_the_namespace_fails_cleanly() {
        let nonlocal = std::fs::read_to_string("/proc/sys/net/ipv4/ip_nonlocal_bind");
        if nonlocal.is_ok_and(|v| v.trim() != "0") {
            eprintln!("NOTICE: skipped: ip_nonlocal_bind is on, binding anywhere would succeed");
            return;
        }
        // In the test's own namespace 198.18.x.y is not a local address, so binding fails and
        // the error names the address; nothing is sent anywhere.
        let mut truth = GroundTruth::generate("198.18.9.0/24".parse().unwrap(), 1, 0.5).unwrap();
        let (_trigger, signal) = stop_pair();
        let mut ready = false;
        let err = serve(&truth, &ServeOptions::default(), signal.clone(), |_| {
            ready = true
        })
        .unwrap_err();
        assert!(matches!(err, Error::Tls(_)), "{err}");
        assert!(err.to_string().contains("no certificate"), "{err}");
        let dir = std::env::temp_dir().join(format!("ssw-serve-{}", std::process::id()));
        crate::tls::provision(&mut truth, &dir).unwrap();
        let mut ready = false;
        let err = serve(&truth, &ServeOptions::default(), signal, |_| ready = true).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!ready);
        let first = &truth.open[0];
        assert!(
            err.to_string()
                .contains(&format!("listening on {}:{}", first.ip, first.port)),
            "{err}"
        );
    }
}
