//! The `servesim` command line, as a library: the binary's `main`, and the same commands as
//! calls that return their results (what the Python package wraps).
//!
//! The CLI is a thin layer over the servesim crates: it parses arguments, calls the
//! libraries, and prints results. Every failure ends in one `error: …` line on stderr and a
//! non-zero exit code.
//!
//! ```no_run
//! let report = servesim_cli::run_report(&[
//!     "fixtures/mooncake_conversation_1000.jsonl".to_owned(),
//!     "--num-workers".to_owned(),
//!     "4".to_owned(),
//! ])?;
//! println!("{}", report["completed_requests"]);
//! # Ok::<(), String>(())
//! ```

mod compat_args;
mod embed;
mod error;
mod parallel;
mod perf_cmd;
mod plan_eval_cmd;
mod run_cmd;
mod run_input;
mod sweep_args;
mod sweep_cmd;
mod sweep_params;
mod synthetic_args;
mod timestamp;
mod trace_cmd;
mod validate_cmd;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use crate::embed::{run_report, sweep_rows};
use crate::error::CliError;
/// The JSON values the library calls return.
pub use serde_json::Value as Json;

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
    /// Score scaling policies (planner presets, HPA, KPA, static fleets) on an open-loop
    /// trace against the hindsight oracle, over several seeds: CSV, JSON and HTML scorecard.
    PlanEval(Box<plan_eval_cmd::PlanEvalArgs>),
}

/// The `servesim` binary: parses the process arguments and runs the command.
pub fn main() -> ExitCode {
    main_with(std::env::args_os())
}

/// Runs `servesim` with `args` (the program name first, as in `std::env::args_os`); clap's
/// usage errors, `--help` and `--version` print and exit as the binary does.
pub fn main_with(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = Cli::parse_from(&args);
    match run(cli, &args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli, argv: &[OsString]) -> Result<(), CliError> {
    match cli.command {
        Command::Run(args) => run_cmd::run(&args),
        Command::Trace(command) => trace_cmd::run(*command),
        Command::Perf(command) => perf_cmd::run(command),
        // A sweep re-parses its `servesim run` flags for every grid point.
        Command::Sweep(args) => sweep_cmd::run(&args, argv.get(2..).unwrap_or_default()),
        Command::Validate(args) => validate_cmd::run(&args),
        Command::PlanEval(args) => plan_eval_cmd::run(&args),
    }
}
