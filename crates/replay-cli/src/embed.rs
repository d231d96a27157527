//! The commands as library calls: `servesim run` and `servesim sweep` returning their
//! results instead of printing them (what the Python package calls).

use std::ffi::OsString;

use clap::Parser;
use serde_json::Value;

use crate::run_cmd::{RunArgs, simulate, write_html, write_report};
use crate::sweep_args::SweepArgs;
use crate::sweep_cmd::{sweep_table, write_table_files};

#[derive(Debug, Parser)]
#[command(name = "servesim run", no_binary_name = true)]
struct RunCli {
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Parser)]
#[command(name = "servesim sweep", no_binary_name = true)]
struct SweepCli {
    #[command(flatten)]
    sweep: SweepArgs,
}

/// The one-line message of a clap parse error.
fn usage(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

/// `servesim run ARGV…` (without `run`): replays and returns the report that `--report-json`
/// would hold. Only the files the arguments name are written (`--report-json`,
/// `--report-html`, `--requests-jsonl`, a planner's HTML report); nothing is printed.
/// Errors are the CLI's one-line messages.
pub fn run_report(argv: &[String]) -> Result<Value, String> {
    let cli = RunCli::try_parse_from(argv).map_err(|e| usage(&e))?;
    let args = cli.run;
    let run = simulate(&args, false).map_err(|e| e.to_string())?;
    if let Some(path) = &args.report_json {
        write_report(path, &run.report).map_err(|e| e.to_string())?;
    }
    write_html(&args, &run).map_err(|e| e.to_string())?;
    Ok(run.report)
}

/// `servesim sweep ARGV…` (without `sweep`): replays the grid in parallel and returns one
/// JSON object per run (the rows of `sweep.jsonl`); with `write_files`, the CSV, JSONL and
/// HTML tables also go to `--out-dir`. A failed run is a row with its `error`.
pub fn sweep_rows(argv: &[String], write_files: bool) -> Result<Vec<Value>, String> {
    let cli = SweepCli::try_parse_from(argv).map_err(|e| usage(&e))?;
    let base: Vec<OsString> = argv.iter().map(OsString::from).collect();
    let (table, shard, _, _) = sweep_table(&cli.sweep, &base).map_err(|e| e.to_string())?;
    if write_files {
        write_table_files(&cli.sweep, &table, shard).map_err(|e| e.to_string())?;
    }
    Ok(table
        .rows
        .iter()
        .map(|row| serde_json::to_value(row).unwrap_or(Value::Null))
        .collect())
}
