//! A complete testbed: namespaces, routes, ground truth, certificates and servers, torn down on
//! drop.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::netns::{Topology, ip_program, run_in_netns};
use crate::prefix::{GATEWAY_IP, Ipv4Prefix, SCANNER_IP};
use crate::server::{ServeOptions, StopTrigger, serve_in_netns, stop_pair};
use crate::tls;
use crate::truth::GroundTruth;

/// What to build.
#[derive(Clone, Debug, PartialEq)]
pub struct TestbedConfig {
    /// Short name (1 to 9 of a-z, 0-9): namespaces are `ssw-<name>-scan` and `ssw-<name>-inet`.
    pub name: String,
    /// The simulated prefix, inside 198.18.0.0/15, e.g. `"198.18.0.0/16"`.
    pub prefix: String,
    /// Seed of the ground truth.
    pub seed: u64,
    /// Probability that an address is a live host.
    pub density: f64,
}

impl Default for TestbedConfig {
    /// `tb`, 198.18.0.0/16, seed 1, density 3%.
    fn default() -> Self {
        TestbedConfig {
            name: "tb".into(),
            prefix: "198.18.0.0/16".into(),
            seed: 1,
            density: 0.03,
        }
    }
}

/// Options of [`Testbed::up_with_options`] beyond the [`TestbedConfig`].
#[derive(Clone, Debug, Default)]
pub struct TestbedOptions {
    /// Server tunables.
    pub serve: ServeOptions,
    /// Where to write `truth.json` and the certificates (`certs/`). Default: a fresh directory
    /// under the system temp dir, removed when the testbed goes down. A given directory is kept.
    pub work_dir: Option<PathBuf>,
}

/// A running testbed. Dropping it (or [`Testbed::down`]) stops the servers and deletes both
/// namespaces.
#[derive(Debug)]
pub struct Testbed {
    truth: GroundTruth,
    work_dir: PathBuf,
    owns_work_dir: bool,
    ca_pem: PathBuf,
    geo: crate::geo::GeoFiles,
    listeners: usize,
    stop: Option<StopTrigger>,
    server: Option<JoinHandle<Result<()>>>,
    topology: Topology,
}

impl Testbed {
    /// Builds the testbed with default options.
    pub fn up(config: &TestbedConfig) -> Result<Testbed> {
        Self::up_with_options(config, &TestbedOptions::default())
    }

    /// Builds the testbed with the given server options.
    pub fn up_with(config: &TestbedConfig, opts: &ServeOptions) -> Result<Testbed> {
        let options = TestbedOptions {
            serve: opts.clone(),
            ..TestbedOptions::default()
        };
        Self::up_with_options(config, &options)
    }

    /// Builds the testbed: ground truth, certificates (written with `truth.json` to the work
    /// directory), namespaces and routes, then the servers on a background thread inside the
    /// internet namespace. Returns once every listener is bound. On any failure everything
    /// created so far is removed.
    pub fn up_with_options(config: &TestbedConfig, options: &TestbedOptions) -> Result<Testbed> {
        let prefix: Ipv4Prefix = config.prefix.parse()?;
        let mut truth = GroundTruth::generate(prefix, config.seed, config.density)?;
        // Validate the name before anything is written.
        crate::netns::TestbedNames::new(&config.name)?;
        let (work_dir, owns_work_dir) = match &options.work_dir {
            Some(dir) => (dir.clone(), false),
            None => (
                std::env::temp_dir().join(format!(
                    "smtpsweep-testbed-{}-{}",
                    config.name,
                    std::process::id()
                )),
                true,
            ),
        };
        let cleanup = |e: Error| {
            if owns_work_dir {
                let _ = std::fs::remove_dir_all(&work_dir);
            }
            e
        };
        let certs = work_dir.join("certs");
        if certs.exists() {
            std::fs::remove_dir_all(&certs)
                .map_err(|e| Error::io(format!("removing stale {}", certs.display()), e))?;
        }
        let provisioned = tls::provision(&mut truth, &certs).map_err(cleanup)?;
        let work_dir = std::fs::canonicalize(&work_dir)
            .map_err(|e| cleanup(Error::io(format!("resolving {}", work_dir.display()), e)))?;
        truth.save(&work_dir.join("truth.json")).map_err(cleanup)?;
        let geo = crate::geo::write(truth.prefix, truth.seed, &work_dir).map_err(cleanup)?;
        let topology = Topology::create(&config.name, &truth).map_err(cleanup)?;

        let (trigger, signal) = stop_pair();
        let (ready_tx, ready_rx) = mpsc::channel();
        let ns = topology.names().inet_ns.clone();
        let thread_truth = truth.clone();
        let opts = options.serve.clone();
        let server = std::thread::Builder::new()
            .name(format!("testbed-{}", config.name))
            .spawn(move || {
                serve_in_netns(&ns, &thread_truth, &opts, signal, |n| {
                    let _ = ready_tx.send(n);
                })
            })
            .map_err(|e| cleanup(Error::io("spawning the server thread", e)))?;
        let mut testbed = Testbed {
            truth,
            work_dir,
            owns_work_dir,
            ca_pem: provisioned.ca_pem,
            geo,
            listeners: 0,
            stop: Some(trigger),
            server: Some(server),
            topology,
        };
        match ready_rx.recv() {
            Ok(n) => testbed.listeners = n,
            Err(_) => {
                // The thread ended before it was ready: report its error; Drop cleans up.
                let joined = testbed.server.take().map(JoinHandle::join);
                return Err(match joined {
                    Some(Ok(Err(e))) => e,
                    _ => Error::Server("server thread ended before it was ready".into()),
                });
            }
        }
        Ok(testbed)
    }

    /// The directory holding `truth.json` and `certs/`.
    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    /// The ground truth file (with the certificate fingerprints and paths).
    pub fn truth_path(&self) -> PathBuf {
        self.work_dir.join("truth.json")
    }

    /// The test CA's certificate (PEM), which CA-signed and expired certificates chain to.
    pub fn ca_pem(&self) -> &Path {
        &self.ca_pem
    }

    /// The fictional country database (MaxMind format) of the testbed prefix.
    pub fn country_db(&self) -> &Path {
        &self.geo.country
    }

    /// The fictional provider (ASN) database (MaxMind format) of the testbed prefix.
    pub fn asn_db(&self) -> &Path {
        &self.geo.asn
    }

    /// The testbed's name.
    pub fn name(&self) -> &str {
        &self.topology.names().name
    }

    /// The scanner namespace (`ssw-<name>-scan`).
    pub fn scanner_ns(&self) -> &str {
        &self.topology.names().scanner_ns
    }

    /// The internet namespace (`ssw-<name>-inet`).
    pub fn inet_ns(&self) -> &str {
        &self.topology.names().inet_ns
    }

    /// The scanner's interface, inside the scanner namespace.
    pub fn scanner_iface(&self) -> &str {
        &self.topology.names().scanner_if
    }

    /// The internet side's interface, inside the internet namespace.
    pub fn inet_iface(&self) -> &str {
        &self.topology.names().inet_if
    }

    /// The scanner's source address.
    pub fn scanner_ip(&self) -> Ipv4Addr {
        SCANNER_IP
    }

    /// The scanner's gateway (the internet side of the link).
    pub fn gateway_ip(&self) -> Ipv4Addr {
        GATEWAY_IP
    }

    /// The simulated prefix.
    pub fn prefix(&self) -> Ipv4Prefix {
        self.truth.prefix
    }

    /// The ground truth being served.
    pub fn truth(&self) -> &GroundTruth {
        &self.truth
    }

    /// Number of listening sockets (equals `truth().open.len()`).
    pub fn listeners(&self) -> usize {
        self.listeners
    }

    /// `cmd` wrapped in `ip netns exec <scanner ns>`, keeping its arguments, explicitly set
    /// environment variables and working directory, ready to spawn.
    pub fn scanner_command(&self, cmd: &Command) -> Command {
        let mut wrapped = Command::new(ip_program().unwrap_or_else(|| "ip".into()));
        wrapped
            .args(["netns", "exec", self.scanner_ns()])
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(v) => wrapped.env(key, v),
                None => wrapped.env_remove(key),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            wrapped.current_dir(dir);
        }
        wrapped
    }

    /// Runs `cmd` to completion inside the scanner namespace, capturing its output.
    pub fn exec(&self, cmd: &Command) -> Result<Output> {
        self.scanner_command(cmd).output().map_err(|e| {
            Error::io(
                format!(
                    "running {} in {}",
                    cmd.get_program().to_string_lossy(),
                    self.scanner_ns()
                ),
                e,
            )
        })
    }

    /// Runs `f` on a thread inside the scanner namespace (sockets it opens are the scanner's).
    pub fn run_in_scanner<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        run_in_netns(self.scanner_ns(), f)
    }

    /// Stops the servers and deletes both namespaces.
    pub fn down(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        let mut result = Ok(());
        if let Some(stop) = self.stop.take() {
            stop.stop();
        }
        if let Some(server) = self.server.take() {
            result = match server.join() {
                Ok(r) => r,
                Err(_) => Err(Error::Server("server thread panicked".into())),
            };
        }
        let destroyed = self.topology.destroy();
        if self.owns_work_dir && self.work_dir.exists() {
            if let Err(e) = std::fs::remove_dir_all(&self.work_dir) {
                result = result.and(Err(Error::io(
                    format!("removing {}", self.work_dir.display()),
                    e,
                )));
            }
        }
        result.and(destroyed)
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            eprintln!("smtpsweep-testbed: tearing down {}: {e}", self.name());
        }
    }
}
