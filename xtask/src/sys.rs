//! Small system helpers shared by the xtask commands: root check, Debian
//! package installation on demand, running commands with clear errors.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Fails with a clear message unless running as root.
pub fn ensure_root() -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!(
            "this needs root (network namespaces and raw sockets): run it as root, e.g. with sudo"
        );
    }
    Ok(())
}

/// True when `bin` is on PATH (or in /usr/sbin, /sbin).
pub fn have(bin: &str) -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .any(|d| std::path::Path::new(d).join(bin).is_file())
}

/// Installs Debian package `pkg` with apt-get when `bin` is missing.
pub fn ensure_tool(bin: &str, pkg: &str) -> Result<()> {
    if have(bin) {
        return Ok(());
    }
    eprintln!("xtask: `{bin}` is missing; installing the Debian package `{pkg}` with apt-get");
    apt_install(pkg)?;
    if !have(bin) {
        bail!("installed {pkg} but `{bin}` is still not found");
    }
    Ok(())
}

/// Installs Debian package `pkg` with apt-get when `path` does not exist
/// (for packages of data files, such as fonts).
pub fn ensure_file(path: &str, pkg: &str) -> Result<()> {
    if std::path::Path::new(path).exists() {
        return Ok(());
    }
    eprintln!("xtask: {path} is missing; installing the Debian package `{pkg}` with apt-get");
    apt_install(pkg)
}

/// `apt-get install pkg`, refreshing the package lists once if that fails
/// (they may be missing or stale on a fresh machine).
fn apt_install(pkg: &str) -> Result<()> {
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends", pkg])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
    };
    if !install().map(|s| s.success()).unwrap_or(false) {
        run_ok(Command::new("apt-get").args(["update", "-q"]))?;
        if !install().context("running apt-get")?.success() {
            bail!("apt-get install {pkg} failed; install it by hand and try again");
        }
    }
    Ok(())
}

/// Runs a command; an error names the command and carries its stderr.
pub fn run_ok(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{:?} failed ({}): {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

/// Cargo's target directory for this workspace.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}
