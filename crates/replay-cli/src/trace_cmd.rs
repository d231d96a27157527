//! `servesim trace stats|gen`.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::{Args, Subcommand};
use serde::Serialize;
use servesim_trace::synth::{
    ArrivalProcess, DelayDist, LengthDist, LengthMix, PrefixSharing, RateShape, RateTraceSpec,
    RatioShape, SyntheticSpec,
};
use servesim_trace::{
    LoadedTrace, ReadOptions, SkippedLines, TraceFormat, TraceStats, Workload, WrittenFormat,
    read_trace, write_mooncake,
};

use crate::error::CliError;

/// Trace subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum TraceCommand {
    /// Summarise a trace: counts, duration, rates, length percentiles, prefix reuse.
    Stats(StatsArgs),
    /// Generate a synthetic trace as Mooncake JSONL.
    #[command(subcommand)]
    Gen(GenCommand),
}

/// How to read a trace file; shared by every command that takes one.
#[derive(Debug, Args, Clone)]
pub(crate) struct TraceInputArgs {
    /// Trace format [default: mooncake; azure for .csv files].
    #[arg(long, value_name = "FORMAT")]
    pub(crate) trace_format: Option<TraceFormat>,
    /// Tokens per trace hash_id [default: 512; weka traces declare their own].
    #[arg(long, value_name = "TOKENS")]
    pub(crate) trace_block_size: Option<u32>,
    /// Skip invalid lines with a warning instead of failing on the first one.
    #[arg(long)]
    pub(crate) skip_invalid: bool,
}

impl TraceInputArgs {
    /// Reads `path`, printing a warning for skipped lines (once per file and process: a
    /// sweep reads its trace once per run).
    pub(crate) fn load(&self, path: &Path) -> Result<LoadedTrace, CliError> {
        let options = self.read_options(path);
        let loaded = read_trace(path, &options)?;
        let declared = loaded.workload.trace_block_size();
        if let Some(given) = self.trace_block_size
            && options.format == TraceFormat::Weka
            && given != declared
        {
            return Err(CliError::Usage(format!(
                "--trace-block-size {given}: {} declares block_size {declared}; weka traces carry their own block size",
                path.display()
            )));
        }
        warn_skipped(path, &loaded.skipped);
        Ok(loaded)
    }

    /// How the flags say to read `path`.
    pub(crate) fn read_options(&self, path: &Path) -> ReadOptions {
        ReadOptions {
            format: self
                .trace_format
                .unwrap_or_else(|| TraceFormat::detect(path)),
            trace_block_size: self
                .trace_block_size
                .unwrap_or(ReadOptions::default().trace_block_size),
            skip_invalid: self.skip_invalid,
        }
    }
}

/// Warns about the lines of `path` skipped as invalid, if any (once per file and process).
pub(crate) fn warn_skipped(path: &Path, skipped: &SkippedLines) {
    if skipped.count > 0 && first_warning_for(path) {
        let first = skipped
            .first
            .first()
            .map(|e| format!(" (first: line {e})"))
            .unwrap_or_default();
        eprintln!(
            "warning: {}: skipped {} invalid line{}{first}",
            path.display(),
            skipped.count,
            if skipped.count == 1 { "" } else { "s" }
        );
    }
}

/// Whether this is the first skipped-lines warning about `path` in this process.
fn first_warning_for(path: &Path) -> bool {
    static WARNED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());
    WARNED
        .lock()
        .map_or(true, |mut warned| warned.insert(path.to_path_buf()))
}

/// `servesim trace stats`.
#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    /// The trace file.
    file: PathBuf,
    #[command(flatten)]
    input: TraceInputArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Length mixture flags shared by the rate-shaped generators (the `sin_synth` flags).
#[derive(Debug, Args)]
pub(crate) struct MixArgs {
    /// Input length of the first ISL/OSL pair (N, normal:MEAN,STD or lognormal:MEAN,STD).
    #[arg(long, alias = "isl", default_value = "3000", value_name = "LEN")]
    isl1: LengthDist,
    /// Output length of the first pair.
    #[arg(long, alias = "osl", default_value = "150", value_name = "LEN")]
    osl1: LengthDist,
    /// Input length of the second pair [default: same as --isl1].
    #[arg(long, value_name = "LEN")]
    isl2: Option<LengthDist>,
    /// Output length of the second pair [default: same as --osl1].
    #[arg(long, value_name = "LEN")]
    osl2: Option<LengthDist>,
    /// Lowest probability of the first pair.
    #[arg(long, default_value_t = 0.2)]
    isl_osl_ratio_min: f64,
    /// Highest probability of the first pair.
    #[arg(long, default_value_t = 0.8)]
    isl_osl_ratio_max: f64,
    /// Period (s) of the first pair's probability.
    #[arg(long, default_value_t = 10.0)]
    isl_osl_ratio_period: f64,
}

impl MixArgs {
    fn mix(&self) -> LengthMix {
        LengthMix {
            first: (self.isl1.clone(), self.osl1.clone()),
            second: (
                self.isl2.clone().unwrap_or_else(|| self.isl1.clone()),
                self.osl2.clone().unwrap_or_else(|| self.osl1.clone()),
            ),
            ratio: RatioShape {
                min: self.isl_osl_ratio_min,
                max: self.isl_osl_ratio_max,
                period_s: self.isl_osl_ratio_period,
            },
        }
    }
}

/// Flags every generator shares.
#[derive(Debug, Args)]
pub(crate) struct OutputArgs {
    /// Output file ("-" for standard output).
    #[arg(short, long, default_value = "-", value_name = "FILE")]
    output: PathBuf,
    /// Tokens per generated hash id.
    #[arg(long, default_value_t = 512, value_name = "TOKENS")]
    block_size: u32,
    /// Share of each prompt's leading blocks taken from a shared prefix group, in [0, 1].
    #[arg(long, default_value_t = 0.0)]
    shared_prefix_ratio: f64,
    /// Number of distinct shared prefixes.
    #[arg(long, default_value_t = 1)]
    num_prefix_groups: u32,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

impl OutputArgs {
    fn sharing(&self) -> PrefixSharing {
        PrefixSharing {
            ratio: self.shared_prefix_ratio,
            groups: self.num_prefix_groups,
        }
    }
}

/// Rate-shaped trace flags.
#[derive(Debug, Args)]
pub(crate) struct RateArgs {
    /// Trace length in seconds.
    #[arg(
        long,
        alias = "time-duration",
        default_value_t = 600.0,
        value_name = "SECONDS"
    )]
    duration: f64,
    #[command(flatten)]
    mix: MixArgs,
    #[command(flatten)]
    out: OutputArgs,
}

impl RateArgs {
    fn generate(&self, shape: RateShape, exact_poisson: bool) -> Result<(), CliError> {
        let spec = RateTraceSpec {
            exact_poisson,
            sharing: self.out.sharing(),
            block_size: self.out.block_size,
            seed: self.out.seed,
            ..RateTraceSpec::new(shape, self.duration, self.mix.mix())
        };
        write_workload(&spec.generate()?, &self.out.output)
    }
}

/// Trace generators.
#[derive(Debug, Subcommand)]
pub(crate) enum GenCommand {
    /// Sinusoidal request rate (the planner benchmark's sin_synth).
    Sinusoid {
        /// Lowest request rate (req/s).
        #[arg(long, alias = "request-rate-min", default_value_t = 5.0)]
        rate_min: f64,
        /// Highest request rate (req/s).
        #[arg(long, alias = "request-rate-max", default_value_t = 10.0)]
        rate_max: f64,
        /// Period of the rate in seconds.
        #[arg(long, alias = "request-rate-period", default_value_t = 10.0)]
        period: f64,
        #[command(flatten)]
        rate: RateArgs,
    },
    /// Piecewise-constant request rate.
    Step {
        /// Successive rates (req/s), comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        rates: Vec<f64>,
        /// Seconds each rate lasts (the last lasts to the end).
        #[arg(long, default_value_t = 60.0)]
        step_duration: f64,
        #[command(flatten)]
        rate: RateArgs,
    },
    /// A base rate with one burst.
    Spike {
        /// Rate outside the spike (req/s).
        #[arg(long)]
        base_rate: f64,
        /// Rate during the spike (req/s).
        #[arg(long)]
        peak_rate: f64,
        /// Spike start (s).
        #[arg(long)]
        spike_start: f64,
        /// Spike length (s).
        #[arg(long)]
        spike_duration: f64,
        #[command(flatten)]
        rate: RateArgs,
    },
    /// Linearly rising or falling rate.
    Ramp {
        /// Rate at time 0 (req/s).
        #[arg(long)]
        from_rate: f64,
        /// Rate at the end (req/s).
        #[arg(long)]
        to_rate: f64,
        #[command(flatten)]
        rate: RateArgs,
    },
    /// A Poisson process at a constant rate.
    Poisson {
        /// Rate (req/s).
        #[arg(long)]
        rate: f64,
        #[command(flatten)]
        args: RateArgs,
    },
    /// Sessions of several turns whose context accumulates (written as mooncake-delta).
    Sessions(SessionArgs),
}

/// `servesim trace gen sessions`.
#[derive(Debug, Args)]
pub(crate) struct SessionArgs {
    /// Number of sessions.
    #[arg(long, default_value_t = 100)]
    sessions: u32,
    /// Turns per session.
    #[arg(long, default_value_t = 1)]
    turns_per_session: u32,
    /// First-turn prompt length (N, normal:MEAN,STD or lognormal:MEAN,STD).
    #[arg(long, default_value = "1024", value_name = "LEN")]
    input_tokens: LengthDist,
    /// New input per later turn [default: --input-tokens].
    #[arg(long, value_name = "LEN")]
    followup_input_tokens: Option<LengthDist>,
    /// Output length.
    #[arg(long, default_value = "128", value_name = "LEN")]
    output_tokens: LengthDist,
    /// Session arrivals: burst, interval:MS, poisson:RATE or gamma:RATE,BURSTINESS.
    #[arg(long, default_value = "poisson:1", value_name = "PROCESS")]
    arrival: ArrivalProcess,
    /// Delay after a turn completes: MS or exp:MEAN_MS.
    #[arg(long, default_value = "0", value_name = "DELAY")]
    inter_turn_delay: DelayDist,
    /// Draw a fresh prompt per turn instead of extending the context (reference behaviour).
    #[arg(long)]
    no_accumulate: bool,
    #[command(flatten)]
    out: OutputArgs,
}

pub(crate) fn run(command: TraceCommand) -> Result<(), CliError> {
    match command {
        TraceCommand::Stats(args) => stats(&args),
        TraceCommand::Gen(generator) => gen_trace(generator),
    }
}

#[derive(Serialize)]
struct StatsReport<'a> {
    file: String,
    format: &'a str,
    #[serde(flatten)]
    stats: &'a TraceStats,
}

fn stats(args: &StatsArgs) -> Result<(), CliError> {
    let loaded = args.input.load(&args.file)?;
    let stats = TraceStats::of(&loaded.workload);
    let format = args
        .input
        .trace_format
        .unwrap_or_else(|| TraceFormat::detect(&args.file));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let io = |source| CliError::Output {
        path: "stdout".to_owned(),
        source,
    };
    if args.json {
        let report = StatsReport {
            file: args.file.display().to_string(),
            format: format.name(),
            stats: &stats,
        };
        serde_json::to_writer_pretty(&mut out, &report).map_err(|e| io(e.into()))?;
        writeln!(out).map_err(io)?;
        return Ok(());
    }
    let lengths = |s: &servesim_trace::stats::LengthSummary| {
        format!(
            "mean {:.1}  p50 {}  p90 {}  p99 {}  max {}",
            s.mean, s.p50, s.p90, s.p99, s.max
        )
    };
    let rate = stats
        .mean_arrival_rate_rps
        .map_or_else(|| "n/a".to_owned(), |r| format!("{r:.3} req/s"));
    let lines = [
        (
            "file",
            format!(
                "{} ({format}, {} tokens per hash id)",
                args.file.display(),
                stats.trace_block_size
            ),
        ),
        ("requests", stats.requests.to_string()),
        ("sessions", stats.sessions.to_string()),
        ("duration", format!("{:.3} s", stats.duration_s)),
        ("mean arrival rate", rate),
        ("input tokens", lengths(&stats.input_tokens)),
        ("output tokens", lengths(&stats.output_tokens)),
        (
            "total tokens",
            format!(
                "{} in, {} out",
                stats.total_input_tokens, stats.total_output_tokens
            ),
        ),
        ("unique blocks", stats.unique_blocks.to_string()),
        (
            "prefix reuse bound",
            format!(
                "{:.2}% of input tokens",
                stats.prefix_reuse_upper_bound * 100.0
            ),
        ),
    ];
    for (name, value) in lines {
        writeln!(out, "{name:<20}{value}").map_err(io)?;
    }
    Ok(())
}

fn gen_trace(generator: GenCommand) -> Result<(), CliError> {
    match generator {
        GenCommand::Sinusoid {
            rate_min,
            rate_max,
            period,
            rate,
        } => rate.generate(
            RateShape::Sinusoid {
                min: rate_min,
                max: rate_max,
                period_s: period,
            },
            false,
        ),
        GenCommand::Step {
            rates,
            step_duration,
            rate,
        } => rate.generate(
            RateShape::Step {
                rates,
                step_s: step_duration,
            },
            false,
        ),
        GenCommand::Spike {
            base_rate,
            peak_rate,
            spike_start,
            spike_duration,
            rate,
        } => rate.generate(
            RateShape::Spike {
                base: base_rate,
                peak: peak_rate,
                start_s: spike_start,
                duration_s: spike_duration,
            },
            false,
        ),
        GenCommand::Ramp {
            from_rate,
            to_rate,
            rate,
        } => rate.generate(
            RateShape::Ramp {
                from: from_rate,
                to: to_rate,
            },
            false,
        ),
        GenCommand::Poisson { rate, args } => args.generate(RateShape::Constant(rate), true),
        GenCommand::Sessions(args) => {
            let spec = SyntheticSpec {
                sessions: args.sessions,
                turns_per_session: args.turns_per_session,
                input: args.input_tokens,
                followup_input: args.followup_input_tokens,
                output: args.output_tokens,
                arrival: args.arrival,
                sharing: args.out.sharing(),
                inter_turn_delay: args.inter_turn_delay,
                accumulate: !args.no_accumulate,
                block_size: args.out.block_size,
                seed: args.out.seed,
            };
            write_workload(&spec.generate()?, &args.out.output)
        }
    }
}

fn write_workload(workload: &Workload, path: &Path) -> Result<(), CliError> {
    let name = path.display().to_string();
    let io = |source| CliError::Output {
        path: name.clone(),
        source,
    };
    let to_stdout = path.as_os_str() == "-";
    let format = if to_stdout {
        let stdout = std::io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        let format = write_mooncake(workload, &mut out)?;
        out.flush().map_err(io)?;
        format
    } else {
        let mut out = BufWriter::new(File::create(path).map_err(io)?);
        let format = write_mooncake(workload, &mut out)?;
        out.flush().map_err(io)?;
        format
    };
    let dialect = match format {
        WrittenFormat::Mooncake => "mooncake",
        WrittenFormat::MooncakeDelta => "mooncake-delta: replay with --trace-format mooncake-delta",
    };
    eprintln!(
        "wrote {} requests to {} ({dialect})",
        workload.len(),
        if to_stdout { "stdout" } else { &name }
    );
    Ok(())
}
