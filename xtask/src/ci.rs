//! `cargo xtask test`: the project's test command (README quick start, and
//! what `.ci/run` calls). Installs what the tests need, then checks
//! formatting, lints, and runs every test, the root testbed tests included.

use std::process::Command;

use anyhow::{Result, bail};

use crate::sys::{ensure_file, ensure_tool, have};

fn cargo(args: &[&str]) -> Result<()> {
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(env!("CARGO")).args(args).status()?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

pub fn test() -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        ensure_tool("ip", "iproute2")?;
        // Text in PNG charts (the report tests draw them when a font exists).
        ensure_file(
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "fonts-dejavu-core",
        )?;
    } else {
        eprintln!("xtask: not root: the testbed tests will be skipped (CI runs them as root)");
    }
    if !have("ip") && root {
        bail!("iproute2 is needed for the testbed tests");
    }
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", "--workspace", "--no-fail-fast"])?;
    Ok(())
}
