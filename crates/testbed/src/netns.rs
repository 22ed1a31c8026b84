//! Network namespaces: naming, entering, `ip` invocations, and the two-namespace topology.
//!
//! The topology is a scanner namespace and an "internet" namespace joined by one veth pair,
//! created directly inside the namespaces (nothing ever appears in the root namespace). Neither
//! namespace has a default route, so no packet can leave them.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::prefix::{GATEWAY_IP, LINK_PREFIX_LEN, SCANNER_IP};
use crate::truth::GroundTruth;

/// Where iproute2 keeps named network namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// Longest testbed name: `ssw-<name>-s` must fit the 15-byte interface name limit.
pub const MAX_NAME_LEN: usize = 9;

/// The namespace and interface names derived from a testbed name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestbedNames {
    /// The testbed name itself.
    pub name: String,
    /// `ssw-<name>-scan`: the scanner host.
    pub scanner_ns: String,
    /// `ssw-<name>-inet`: the simulated internet.
    pub inet_ns: String,
    /// `ssw-<name>-s`: the scanner's veth end (in the scanner namespace).
    pub scanner_if: String,
    /// `ssw-<name>-i`: the internet's veth end (in the internet namespace).
    pub inet_if: String,
}

impl TestbedNames {
    /// Validates `name` (1 to 9 lowercase ASCII letters or digits) and derives the names.
    pub fn new(name: &str) -> Result<Self> {
        let bad = |reason| Error::InvalidName {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(bad("it is empty"));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(bad(
                "at most 9 characters (interface names are limited to 15)",
            ));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(bad("only lowercase letters a-z and digits 0-9 are allowed"));
        }
        Ok(TestbedNames {
            name: name.to_owned(),
            scanner_ns: format!("ssw-{name}-scan"),
            inet_ns: format!("ssw-{name}-inet"),
            scanner_if: format!("ssw-{name}-s"),
            inet_if: format!("ssw-{name}-i"),
        })
    }
}

/// Fails unless the effective user is root.
pub fn check_root() -> Result<()> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    if uid == 0 {
        Ok(())
    } else {
        Err(Error::NotRoot(uid))
    }
}

/// Whether the effective user is root.
pub fn is_root() -> bool {
    check_root().is_ok()
}

/// The path of the `ip` program: the first on `PATH`, else the usual sbin locations.
pub fn ip_program() -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("ip"));
    let fallback = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].map(PathBuf::from);
    from_path.chain(fallback).find(|p| p.is_file())
}

/// The bind-mount file of a named namespace.
pub fn netns_path(ns: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(ns)
}

/// Whether a named network namespace exists.
pub fn netns_exists(ns: &str) -> bool {
    netns_path(ns).exists()
}

/// Moves the calling thread (only it) into the named network namespace, for good.
///
/// Sockets created afterwards on this thread belong to that namespace.
pub fn enter_netns(ns: &str) -> Result<()> {
    let err = |cause| Error::Netns {
        ns: ns.to_owned(),
        cause,
    };
    let file = File::open(netns_path(ns)).map_err(err)?;
    // SAFETY: `file` is an open namespace file descriptor for the duration of the call, and
    // setns only changes the calling thread's network namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(err(io::Error::last_os_error()));
    }
    Ok(())
}

/// Runs `f` on a fresh thread inside the named network namespace and returns its result.
///
/// A panic in `f` is propagated to the caller.
pub fn run_in_netns<T, F>(ns: &str, f: F) -> Result<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name(format!("netns-{ns}"))
            .spawn_scoped(scope, || enter_netns(ns).map(|()| f()))
            .map_err(|e| Error::io("spawning a namespace thread", e))?;
        handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Number of TCP sockets in LISTEN state in the named namespace.
pub fn count_listeners_in_netns(ns: &str) -> Result<usize> {
    run_in_netns(ns, || -> Result<usize> {
        // /proc/thread-self/net shows the namespace of this thread, not of the process.
        let text = fs::read_to_string("/proc/thread-self/net/tcp")
            .map_err(|e| Error::io("reading /proc/thread-self/net/tcp", e))?;
        Ok(text
            .lines()
            .skip(1)
            .filter(|l| l.split_whitespace().nth(3) == Some("0A"))
            .count())
    })?
}

fn command_line(args: &[&OsStr]) -> String {
    let mut s = String::from("ip");
    for a in args {
        let _ = write!(s, " {}", a.to_string_lossy());
    }
    s
}

fn failure(command: String, status: std::process::ExitStatus, stderr: &[u8]) -> Error {
    let stderr = String::from_utf8_lossy(stderr);
    let first: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .collect();
    Error::Command {
        command,
        detail: format!("{status}: {}", first.join(" / ")),
    }
}

/// Runs `ip ARGS...` and fails with its stderr when it fails.
pub(crate) fn ip(args: &[&str]) -> Result<()> {
    let program = ip_program().ok_or(Error::IpMissing)?;
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    let out = Command::new(program)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io(format!("running {}", command_line(&args)), e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(failure(command_line(&args), out.status, &out.stderr))
    }
}

/// Runs `ip -n NS -batch -` with `script` on stdin.
pub(crate) fn ip_batch(ns: &str, script: &str) -> Result<()> {
    let program = ip_program().ok_or(Error::IpMissing)?;
    let shown = format!("ip -n {ns} -batch -");
    let mut child = Command::new(program)
        .args(["-n", ns, "-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("running {shown}"), e))?;
    let written = child
        .stdin
        .take()
        .expect("stdin was piped")
        .write_all(script.as_bytes());
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io(format!("running {shown}"), e))?;
    if !out.status.success() {
        return Err(failure(shown, out.status, &out.stderr));
    }
    written.map_err(|e| Error::io(format!("writing to {shown}"), e))
}

/// Deletes a named network namespace; `Ok(false)` if it did not exist.
pub fn delete_netns(ns: &str) -> Result<bool> {
    if !netns_exists(ns) {
        return Ok(false);
    }
    ip(&["netns", "del", ns])?;
    Ok(true)
}

fn write_sysctl(path: &str, value: &str, optional: bool) -> Result<()> {
    match fs::write(path, value) {
        Err(e) if optional && e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other.map_err(|e| Error::io(format!("writing {value} to {path}"), e)),
    }
}

/// Per-namespace sysctls: no forwarding (so non-local addresses are dropped silently, with no
/// ICMP) and no IPv6 (so the link carries nothing but the scan's IPv4/ARP traffic).
fn harden_namespace(ns: &str) -> Result<()> {
    run_in_netns(ns, || -> Result<()> {
        write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1", true)?;
        write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1", true)?;
        write_sysctl("/proc/sys/net/ipv4/ip_forward", "0", false)?;
        let fwd = fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .map_err(|e| Error::io("reading ip_forward", e))?;
        if fwd.trim() != "0" {
            return Err(Error::Server(format!(
                "ip_forward is {} in {ns}",
                fwd.trim()
            )));
        }
        Ok(())
    })?
}

/// The two namespaces and their veth link. Dropping it deletes the namespaces it created,
/// unless [`Topology::persist`] was called.
#[derive(Debug)]
pub struct Topology {
    names: TestbedNames,
    created_scanner: bool,
    created_inet: bool,
}

impl Topology {
    /// Creates the namespaces, the veth pair, addresses, routes and one `local` route per live
    /// host of `truth` in the internet namespace. On failure, whatever was created is removed.
    pub fn create(name: &str, truth: &GroundTruth) -> Result<Self> {
        let names = TestbedNames::new(name)?;
        truth.prefix.check_testbed()?;
        check_root()?;
        ip_program().ok_or(Error::IpMissing)?;
        for ns in [&names.scanner_ns, &names.inet_ns] {
            if netns_exists(ns) {
                return Err(Error::NamespaceExists(ns.clone()));
            }
        }
        let mut topo = Topology {
            names,
            created_scanner: false,
            created_inet: false,
        };
        let n = topo.names.clone();
        ip(&["netns", "add", &n.scanner_ns])?;
        topo.created_scanner = true;
        ip(&["netns", "add", &n.inet_ns])?;
        topo.created_inet = true;
        harden_namespace(&n.scanner_ns)?;
        harden_namespace(&n.inet_ns)?;
        ip(&[
            "-n",
            &n.scanner_ns,
            "link",
            "add",
            &n.scanner_if,
            "type",
            "veth",
            "peer",
            "name",
            &n.inet_if,
            "netns",
            &n.inet_ns,
        ])?;

        let mut inet = format!(
            "link set dev lo up\naddr add {GATEWAY_IP}/{LINK_PREFIX_LEN} dev {i}\nlink set dev {i} up\n",
            i = n.inet_if
        );
        for ip in &truth.live_hosts {
            let _ = writeln!(inet, "route add local {ip}/32 dev lo table local");
        }
        ip_batch(&n.inet_ns, &inet)?;

        let scanner = format!(
            "link set dev lo up\naddr add {SCANNER_IP}/{LINK_PREFIX_LEN} dev {s}\nlink set dev {s} up\n\
             route add {prefix} via {GATEWAY_IP} dev {s}\n",
            s = n.scanner_if,
            prefix = truth.prefix
        );
        ip_batch(&n.scanner_ns, &scanner)?;
        Ok(topo)
    }

    /// The names in use.
    pub fn names(&self) -> &TestbedNames {
        &self.names
    }

    /// Deletes the namespaces this topology created (the veth pair goes with them).
    pub fn destroy(&mut self) -> Result<()> {
        let mut first_err = None;
        if self.created_scanner {
            match delete_netns(&self.names.scanner_ns) {
                Ok(_) => self.created_scanner = false,
                Err(e) => first_err = Some(e),
            }
        }
        if self.created_inet {
            match delete_netns(&self.names.inet_ns) {
                Ok(_) => self.created_inet = false,
                Err(e) => first_err = first_err.or(Some(e)),
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Keeps the namespaces after this value is dropped (for a daemonised testbed).
    pub fn persist(mut self) -> TestbedNames {
        self.created_scanner = false;
        self.created_inet = false;
        self.names.clone()
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        if let Err(e) = self.destroy() {
            eprintln!("smtpsweep-testbed: cleanup of {}: {e}", self.names.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_kernel_limits() {
        let n = TestbedNames::new("abcdefghi").unwrap();
        assert_eq!(n.scanner_ns, "ssw-abcdefghi-scan");
        assert_eq!(n.inet_ns, "ssw-abcdefghi-inet");
        assert_eq!(n.scanner_if, "ssw-abcdefghi-s");
        assert!(n.scanner_if.len() <= 15 && n.inet_if.len() <= 15);
        assert_eq!(TestbedNames::new("tb").unwrap().inet_if, "ssw-tb-i");
    }

    #[test]
    fn rejects_bad_names() {
        for bad in ["", "abcdefghij", "Tb", "t b", "a-b", "../x", "tb\n", "é"] {
            let err = TestbedNames::new(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidName { .. }), "{bad:?}: {err}");
        }
    }

    #[test]
    fn missing_namespace_is_a_clear_error() {
        let err = run_in_netns("ssw-none-such-ns", || ()).unwrap_err();
        assert!(matches!(err, Error::Netns { .. }), "{err}");
        assert!(err.to_string().contains("ssw-none-such-ns"));
        assert!(!netns_exists("ssw-none-such-ns"));
        assert!(!delete_netns("ssw-none-such-ns").unwrap());
    }
}
