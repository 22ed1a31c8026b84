//! `cargo xtask`: developer tasks for smtpsweep.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod ci;
mod demo;
mod sys;
mod testbed;

/// Developer tasks for smtpsweep.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// The local network-namespace testbed (up, status, exec, down).
    Testbed(testbed::TestbedArgs),
    /// The whole pipeline against the local testbed, end to end.
    Demo(demo::DemoArgs),
    /// Benchmarks that need the machine (namespaces, raw sockets).
    #[command(subcommand)]
    Bench(Bench),
    /// The project's tests: installs what they need, then fmt, clippy and every test.
    Test,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Sender packets/s into an ifb sink, side by side with ZMap and masscan.
    Scan(bench::ScanBench),
    /// Achieved send rate against -r, second by second, on the ifb sink.
    Rate(bench::RateBench),
    /// Completed grab sessions per second and peak memory against the testbed.
    Grab(bench::GrabBench),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::Testbed(args) => testbed::run(args),
        Task::Demo(args) => demo::run(args).map(|()| ExitCode::SUCCESS),
        Task::Bench(Bench::Scan(args)) => bench::scan(args).map(|()| ExitCode::SUCCESS),
        Task::Bench(Bench::Rate(args)) => bench::rate(args).map(|()| ExitCode::SUCCESS),
        Task::Bench(Bench::Grab(args)) => bench::grab(args).map(|()| ExitCode::SUCCESS),
        Task::Test => ci::test().map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
