//! `smtpsweep`: measure SMTP exposure — SYN scan, banner grab, fingerprint, report.
//!
//! Exit codes: 0 done; 1 a runtime error (the message says what); 2 bad
//! usage or input (malformed CIDR, file, option); 130 interrupted by Ctrl-C
//! (results found so far are flushed first).

mod fingerprint;
mod monitor;
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
    /// Fingerprint banner lines or grab records (Recog-compatible), with CVE exposure.
    Fingerprint(fingerprint::FingerprintArgs),
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
        Command::Scan(args) => scan::run(*args),
        Command::Fingerprint(args) => fingerprint::run(args),
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
