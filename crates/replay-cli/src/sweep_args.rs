//! The flags of `servesim sweep` and `servesim sweep merge`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::run_cmd::RunArgs;

/// `servesim sweep` flags: the grid, where results go, and every `servesim run` flag for the
/// configuration the grid varies.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct SweepArgs {
    #[command(subcommand)]
    pub(crate) command: Option<SweepCommand>,
    /// A swept parameter (repeatable): NAME=START:STOP[:STEP] (inclusive) or NAME=V1,V2,….
    /// NAME is a `servesim run` flag (num_workers, router_mode, trace), an engine-args key
    /// (startup_time, max_num_seqs; prefill./decode. for one disaggregated pool), a planner
    /// key (ttft, itl) or a KV-router key; prefix cli., engine., planner. or router. when a
    /// name is ambiguous.
    #[arg(long = "param", value_name = "NAME=VALUES")]
    pub(crate) params: Vec<String>,
    /// Directory for the results (sweep.csv, sweep.jsonl, sweep.html).
    #[arg(long, default_value = "sweep", value_name = "DIR")]
    pub(crate) out_dir: PathBuf,
    /// Runs in parallel [default: one per core].
    #[arg(long, value_name = "N")]
    pub(crate) jobs: Option<usize>,
    /// Run only the K-th of N disjoint slices of the grid (K from 0, as SLURM_ARRAY_TASK_ID
    /// and JOB_COMPLETION_INDEX count); merge the slices with `servesim sweep merge`.
    #[arg(long, value_name = "K/N")]
    pub(crate) shard: Option<String>,
    /// Also keep every run's JSON and HTML report under DIR/runs/.
    #[arg(long)]
    pub(crate) run_reports: bool,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SweepCommand {
    /// Merge the sweep-shard-*.jsonl files of a sharded sweep into one table (CSV, JSONL,
    /// HTML).
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// JSONL files written by `servesim sweep --shard K/N`.
    #[arg(required = true, value_name = "FILE")]
    pub(crate) files: Vec<PathBuf>,
    /// Directory for the merged results.
    #[arg(long, default_value = "sweep", value_name = "DIR")]
    pub(crate) out_dir: PathBuf,
    /// Write what is there even if some runs are missing.
    #[arg(long)]
    pub(crate) allow_partial: bool,
    /// No summary on stdout.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}
