//! `servesim`: simulate an LLM-serving cluster on a laptop.
//!
//! This binary is a thin layer over the servesim crates: it parses arguments, calls the
//! libraries, and prints results. Every failure ends in one `error: …` line on stderr and a
//! non-zero exit code.

mod compat_args;
mod error;
mod parallel;
mod perf_cmd;
mod run_cmd;
mod sweep_args;
mod sweep_cmd;
mod sweep_params;
mod synthetic_args;
mod timestamp;
mod trace_cmd;
mod validate_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

/// Simulate an LLM-serving cluster: replay traces through routers, engines and planners.
#[derive(Debug, Parser)]
#[command(name = "servesim", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay a trace (or a synthetic load) through a simulated cluster and report metrics.
    Run(Box<run_cmd::RunArgs>),
    /// Inspect and generate workload traces.
    #[command(subcommand)]
    Trace(Box<trace_cmd::TraceCommand>),
    /// Per-GPU timing: predict pass times of a model on a GPU system, tables, listings.
    #[command(subcommand)]
    Perf(perf_cmd::PerfCommand),
    /// Replay a grid of configurations in parallel (`--param NAME=VALUES`) and tabulate the
    /// results as CSV, JSONL and an HTML plot; `sweep merge` joins the shards of a grid.
    Sweep(Box<sweep_args::SweepArgs>),
    /// Replay measured serving benchmarks (a CSV table per source) and report the error of
    /// TTFT, TPOT and throughput per row, backend and GPU.
    Validate(validate_cmd::ValidateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Run(args) => run_cmd::run(&args),
        Command::Trace(command) => trace_cmd::run(*command),
        Command::Perf(command) => perf_cmd::run(command),
        Command::Sweep(args) => sweep_cmd::run(&args),
        Command::Validate(args) => validate_cmd::run(&args),
    }
}
