//! `smtpsweep`: measure SMTP exposure — SYN scan, banner grab, fingerprint, report.
//!
//! Exit codes: 0 done; 1 a runtime error (the message says what); 2 bad
//! usage or input (malformed CIDR, file, option); 130 interrupted by Ctrl-C
//! (results found so far are flushed first).

mod fingerprint;
mod grabcmd;
mod monitor;
mod reportcmd;
mod scan;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "smtpsweep",
    version,
    about = "Measure how much SMTP is exposed: SYN scan, banner grab, fingerprint, report"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Stateless SYN scan of (address, port) pairs, like ZMap.
    Scan(Box<scan::ScanArgs>),
    /// SYN scan, and every open port straight into the banner grab: the main job.
    Sweep(Box<SweepArgs>),
    /// The banner grab alone, on targets from a file or stdin.
    Grab(Box<grabcmd::GrabArgs>),
    /// NICER-style exposure report (tables and charts) from sweep/grab output.
    Report(reportcmd::ReportArgs),
    /// Fingerprint banner lines or grab records (Recog-compatible), with CVE exposure.
    Fingerprint(fingerprint::FingerprintArgs),
}

/// Options of `smtpsweep sweep`: the scan's and the grab's.
#[derive(clap::Args)]
struct SweepArgs {
    #[command(flatten)]
    scan: scan::ScanArgs,
    #[command(flatten)]
    grab: grabcmd::GrabOpts,
}

/// An error that is the user's input, not the run: exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Command::Scan(args) => scan::run(*args, None),
        Command::Sweep(args) => scan::run(args.scan, Some(args.grab)),
        Command::Grab(args) => grabcmd::run(*args),
        Command::Fingerprint(args) => fingerprint::run(args),
        Command::Report(args) => reportcmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("smtpsweep: error: {e:#}");
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
