//! `servesim run`: replay a trace or a synthetic load through a simulated cluster.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};
use servesim_engine::EngineArgs;
use servesim_planner::config::{PlannerConfig, PlannerMode, PolicyKind};
use servesim_replay::report::{render_table, report_json};
use servesim_replay::{
    AdmissionMode, Observer, PlanningConfig, ReplayConfig, ReplayOutcome, RequestRecord,
    RouterMode, Topology, TransferConfig,
};
use servesim_report::{RunInfo, run_page};
use servesim_router::KvRouterConfig;
use servesim_trace::{SimTime, StreamOptions, TraceFormat};

use crate::compat_args::CompatArgs;
use crate::error::CliError;
use crate::run_input::{RunInput, stream_conflict};
use crate::synthetic_args::SyntheticArgs;
use crate::timestamp::utc_stamp;
use crate::trace_cmd::TraceInputArgs;

/// `servesim run` flags (the reference's `python -m dynamo.replay` flags, plus a few).
#[derive(Clone, Debug, Args)]
pub(crate) struct RunArgs {
    /// Trace file to replay (omit for a synthetic load).
    pub(crate) trace: Option<PathBuf>,
    #[command(flatten)]
    input: TraceInputArgs,
    /// Number of aggregated workers.
    #[arg(long, default_value_t = 1, value_name = "N")]
    num_workers: u32,
    /// Disaggregated serving: number of prefill workers [default: 1].
    #[arg(long, value_name = "N")]
    num_prefill_workers: Option<u32>,
    /// Disaggregated serving: number of decode workers [default: 1].
    #[arg(long, value_name = "N")]
    num_decode_workers: Option<u32>,
    /// Disaggregated serving: prefill engine arguments (JSON or @FILE, `worker_type: prefill`).
    #[arg(long, value_name = "JSON|@FILE")]
    pub(crate) prefill_engine_args: Option<String>,
    /// Disaggregated serving: decode engine arguments (JSON or @FILE, `worker_type: decode`).
    #[arg(long, value_name = "JSON|@FILE")]
    pub(crate) decode_engine_args: Option<String>,
    /// Put a planner in the loop: a JSON or YAML file, or inline JSON (the reference's
    /// PlannerConfig keys).
    #[arg(long, value_name = "FILE|JSON")]
    pub(crate) planner_config: Option<String>,
    /// Scaling policy: planner (default with --planner-config), static, hpa or kpa.
    #[arg(long, value_name = "POLICY")]
    scaling_policy: Option<PolicyKind>,
    /// Points per axis of the planner's pre-deployment sweep of the engine's timing model.
    #[arg(long, default_value_t = 8, value_name = "N")]
    benchmark_granularity: u32,
    /// KV-router settings as JSON or @FILE (the reference's KvRouterConfig keys).
    #[arg(long, value_name = "JSON|@FILE")]
    pub(crate) router_config: Option<String>,
    /// Routing policy: round_robin or kv_router.
    #[arg(long, default_value = "round_robin", value_name = "MODE")]
    router_mode: RouterMode,
    /// Divide trace timestamps and inter-turn delays by this factor.
    #[arg(long, default_value_t = 1.0, value_name = "RATIO")]
    arrival_speedup_ratio: f64,
    /// Closed-loop replay with this many requests in flight (timestamps ignored).
    #[arg(long, value_name = "N")]
    pub(crate) replay_concurrency: Option<u32>,
    /// Engine arguments: a JSON object, or @FILE holding one.
    #[arg(long, value_name = "JSON|@FILE")]
    pub(crate) extra_engine_args: Option<String>,
    /// Where to write the JSON report (a directory gets a timestamped file inside)
    /// [default: ./servesim_report_<UTC time>.json].
    #[arg(long, value_name = "PATH")]
    pub(crate) report_json: Option<PathBuf>,
    /// Also write one JSON line per completed request to this file.
    #[arg(long, value_name = "PATH")]
    pub(crate) requests_jsonl: Option<PathBuf>,
    /// Write the HTML report (latency distributions, traffic over time and, with a planner,
    /// its diagnostics) to this file. Planner runs always write one, by default to the
    /// planner's `report_output_dir`/`report_filename`.
    #[arg(long, value_name = "PATH")]
    pub(crate) report_html: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) synthetic: SyntheticArgs,
    #[command(flatten)]
    compat: CompatArgs,
    /// Closed loop: run the first N requests as a warm-up phase, left out of every metric
    /// (a synthetic load generates N more than --request-count; with a trace, its first N).
    #[arg(long, default_value_t = 0, value_name = "N")]
    warmup_requests: u32,
    /// Seed of every random choice (synthetic load, router sampling).
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// No progress bar and no table; errors still go to stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Stream the trace instead of loading it: memory follows the requests in flight, not
    /// the file. Needs a time-ordered mooncake trace of independent requests; open loop
    /// only, no planner, no HTML report.
    #[arg(long)]
    pub(crate) stream: bool,
}

impl RunArgs {
    fn validate(&self) -> Result<(), CliError> {
        let usage = |m: String| Err(CliError::Usage(m));
        if !(self.arrival_speedup_ratio.is_finite() && self.arrival_speedup_ratio > 0.0) {
            return usage(format!(
                "--arrival-speedup-ratio must be finite and > 0, got {}",
                self.arrival_speedup_ratio
            ));
        }
        if self.replay_concurrency == Some(0) {
            return usage("--replay-concurrency must be ≥ 1".to_owned());
        }
        if self.benchmark_granularity == 0 {
            return usage("--benchmark-granularity must be ≥ 1".to_owned());
        }
        if self.warmup_requests > 0 && self.replay_concurrency.is_none() {
            return usage(
                "--warmup-requests needs closed-loop replay (--replay-concurrency)".to_owned(),
            );
        }
        let synthetic = self.synthetic.given();
        match &self.trace {
            Some(_) if !synthetic.is_empty() => usage(format!(
                "a trace file and synthetic flags ({}) are mutually exclusive",
                synthetic.join(", ")
            )),
            Some(_) => Ok(()),
            None => self.synthetic.validate(),
        }
    }

    /// The workload to replay, and a description of it for the report.
    fn workload(&self, block_size: u32) -> Result<(RunInput, Value), CliError> {
        if self.stream
            && let Some(path) = &self.trace
        {
            let read = self.input.read_options(path);
            let description = json!({
                "trace": path.display().to_string(),
                "trace_format": read.format.name(),
                "trace_block_size": read.trace_block_size,
                "streamed": true,
            });
            let options = StreamOptions {
                speedup: self.arrival_speedup_ratio,
                ..StreamOptions::default()
            };
            let input = RunInput::Stream {
                path: path.clone(),
                read,
                options,
            };
            return Ok((input, description));
        }
        let mut workload;
        let description;
        if let Some(path) = &self.trace {
            let loaded = self.input.load(path)?;
            workload = loaded.workload;
            let format = self
                .input
                .trace_format
                .unwrap_or_else(|| TraceFormat::detect(path));
            description = json!({
                "trace": path.display().to_string(),
                "trace_format": format.name(),
                "trace_block_size": workload.trace_block_size(),
                "skipped_lines": loaded.skipped.count,
            });
        } else {
            workload = self
                .synthetic
                .spec(self.warmup_requests, block_size, self.seed)
                .generate()?;
            description = self.synthetic.describe();
        }
        workload.normalize_start();
        workload.speed_up(self.arrival_speedup_ratio)?;
        Ok((RunInput::Whole(workload), description))
    }
}

/// Reads a `JSON|@FILE` flag value: the JSON text and a name for error messages.
pub(crate) fn json_flag(flag: &str, value: &str) -> Result<(String, String), CliError> {
    match value.strip_prefix('@') {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Usage(format!("{flag}: cannot read {path}: {e}")))?;
            Ok((text, format!("{flag} ({path})")))
        }
        None => Ok((value.to_owned(), flag.to_owned())),
    }
}

/// Parses and resolves engine arguments given as `JSON|@FILE` (defaults when absent).
pub(crate) fn engine_config(
    flag: &str,
    value: Option<&str>,
) -> Result<(EngineArgs, servesim_engine::EngineConfig), CliError> {
    staged_engine_config(flag, value, None)
}

/// [`engine_config`] of one stage of a disaggregated deployment: with `implied`, arguments
/// that name no worker type (`worker_type`, `is_prefill`, `is_decode`) get that one — what
/// the reference's planner does with its staged engine arguments.
fn staged_engine_config(
    flag: &str,
    value: Option<&str>,
    implied: Option<&str>,
) -> Result<(EngineArgs, servesim_engine::EngineConfig), CliError> {
    let (args, source) = match value {
        Some(value) => {
            let (mut text, source) = json_flag(flag, value)?;
            if let Some(worker_type) = implied
                && let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(&text)
                && !["worker_type", "is_prefill", "is_decode"]
                    .iter()
                    .any(|k| map.contains_key(*k))
            {
                map.insert("worker_type".to_owned(), worker_type.into());
                text = Value::Object(map).to_string();
            }
            let args = EngineArgs::from_json(&text)
                .map_err(|e| CliError::Usage(format!("{source}: {e}")))?;
            for key in args.ignored_keys() {
                eprintln!(
                    "warning: {source}: `{key}` is accepted for compatibility and has no effect on an offline replay"
                );
            }
            (args, source)
        }
        None => (EngineArgs::default(), flag.to_owned()),
    };
    let config = args
        .resolve()
        .map_err(|e| CliError::Usage(format!("{source}: {e}")))?;
    Ok((args, config))
}

impl RunArgs {
    /// The serving topology, its description for the report, and the engines' tensor-
    /// parallel sizes (prefill, decode) — the default GPUs per replica of the planner.
    fn topology(&self) -> Result<(Topology, Value, (u32, u32)), CliError> {
        let usage = |m: &str| Err(CliError::Usage(m.to_owned()));
        let staged = self.prefill_engine_args.is_some() || self.decode_engine_args.is_some();
        if !staged {
            if self.num_prefill_workers.is_some_and(|n| n != 1)
                || self.num_decode_workers.is_some_and(|n| n != 1)
            {
                return usage(
                    "--num-prefill-workers / --num-decode-workers only apply to disaggregated serving (give --prefill-engine-args and --decode-engine-args)",
                );
            }
            let (args, engine) =
                engine_config("--extra-engine-args", self.extra_engine_args.as_deref())?;
            let description = json!({ "kind": "aggregated", "num_workers": self.num_workers, "engine": engine.to_json() });
            let tp = args.aic_tp_size.unwrap_or(1);
            return Ok((
                Topology::Aggregated {
                    workers: self.num_workers,
                    engine,
                },
                description,
                (tp, tp),
            ));
        }
        if self.extra_engine_args.is_some() {
            return usage(
                "--extra-engine-args (aggregated) cannot be combined with --prefill-engine-args / --decode-engine-args",
            );
        }
        let (Some(prefill_json), Some(decode_json)) =
            (&self.prefill_engine_args, &self.decode_engine_args)
        else {
            return usage(
                "disaggregated serving needs both --prefill-engine-args and --decode-engine-args",
            );
        };
        if self.num_workers != 1 {
            return usage(
                "--num-workers applies to aggregated serving; use --num-prefill-workers / --num-decode-workers",
            );
        }
        // With a planner, stages that name no worker type are the stage of their flag (the
        // reference's planner pages pass them so); without one the reference requires it.
        let planned = self.planner_config.is_some();
        let (prefill_args, prefill) = staged_engine_config(
            "--prefill-engine-args",
            Some(prefill_json),
            planned.then_some("prefill"),
        )?;
        let (decode_args, decode) = staged_engine_config(
            "--decode-engine-args",
            Some(decode_json),
            planned.then_some("decode"),
        )?;
        let transfer = TransferConfig {
            kv_bytes_per_token: decode_args
                .kv_bytes_per_token
                .or(prefill_args.kv_bytes_per_token)
                .or(decode.kv_bytes_per_token)
                .unwrap_or(TransferConfig::DEFAULT_KV_BYTES_PER_TOKEN),
            bandwidth_gbps: decode_args
                .kv_transfer_bandwidth
                .or(prefill_args.kv_transfer_bandwidth)
                .unwrap_or(TransferConfig::DEFAULT_BANDWIDTH_GBPS),
        };
        let (prefill_workers, decode_workers) = (
            self.num_prefill_workers.unwrap_or(1),
            self.num_decode_workers.unwrap_or(1),
        );
        let description = json!({
            "kind": "disaggregated",
            "num_prefill_workers": prefill_workers,
            "num_decode_workers": decode_workers,
            "prefill_engine": prefill.to_json(),
            "decode_engine": decode.to_json(),
            "kv_bytes_per_token": transfer.kv_bytes_per_token,
            "kv_transfer_bandwidth_gbps": transfer.bandwidth_gbps,
        });
        let tp = (
            prefill_args.aic_tp_size.unwrap_or(1),
            decode_args.aic_tp_size.unwrap_or(1),
        );
        Ok((
            Topology::Disaggregated {
                prefill_workers,
                prefill,
                decode_workers,
                decode,
                transfer,
            },
            description,
            tp,
        ))
    }

    /// The scaling policy in the loop (`--planner-config`, `--scaling-policy`), with GPUs
    /// per replica defaulting to the engines' tensor-parallel sizes.
    fn planning(&self, tp: (u32, u32)) -> Result<Option<PlanningConfig>, CliError> {
        let planner = match (&self.planner_config, self.scaling_policy) {
            (None, None) => return Ok(None),
            (Some(value), _) => {
                let text = match value.strip_prefix('@') {
                    Some(path) => path.to_owned(),
                    None => value.clone(),
                };
                PlannerConfig::parse(&text)
                    .map_err(|e| CliError::Usage(format!("--planner-config: {e}")))?
            }
            (None, Some(_)) => {
                let mode = if self.prefill_engine_args.is_some() {
                    PlannerMode::Disagg
                } else {
                    PlannerMode::Agg
                };
                PlannerConfig {
                    mode,
                    ..PlannerConfig::default()
                }
            }
        };
        let planner = PlannerConfig {
            scaling_policy: self.scaling_policy.unwrap_or(planner.scaling_policy),
            ..planner
        };
        let validated = planner
            .validate()
            .map_err(|e| CliError::Usage(format!("--planner-config: {e}")))?;
        for warning in &validated.warnings {
            eprintln!("warning: --planner-config: {warning}");
        }
        let planner = validated.config;
        Ok(Some(PlanningConfig {
            prefill_gpus: planner.prefill_engine_num_gpu.unwrap_or(tp.0),
            decode_gpus: planner.decode_engine_num_gpu.unwrap_or(tp.1),
            planner,
            benchmark_granularity: self.benchmark_granularity,
            custom_policy: None,
        }))
    }

    /// The KV-router settings (`--router-config`), with the router block size in effect for
    /// engines of `engine_block_size` filled in so that the report shows it.
    fn router_config(&self, engine_block_size: u32) -> Result<KvRouterConfig, CliError> {
        let (mut config, source) = match &self.router_config {
            None => (KvRouterConfig::default(), "--router-config".to_owned()),
            Some(_) if self.router_mode != RouterMode::KvRouter => {
                return Err(CliError::Usage(
                    "--router-config only applies to --router-mode kv_router".to_owned(),
                ));
            }
            Some(value) => {
                let (text, source) = json_flag("--router-config", value)?;
                let config = KvRouterConfig::from_json(&text)
                    .map_err(|e| CliError::Usage(format!("{source}: {e}")))?;
                (config, source)
            }
        };
        if self.router_mode == RouterMode::KvRouter {
            let stride = config
                .blocks_per_router_block(engine_block_size)
                .map_err(|e| CliError::Usage(format!("{source}: {e}")))?;
            config.router_block_size = Some(stride * engine_block_size.max(1));
        }
        Ok(config)
    }
}

/// Progress bar and per-request JSONL while the replay runs.
struct RunObserver {
    bar: Option<ProgressBar>,
    jsonl: Option<(String, BufWriter<File>)>,
    jsonl_error: Option<CliError>,
}

impl Observer for RunObserver {
    fn progress(&mut self, now: SimTime, completed: usize, total: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
            bar.set_position(completed as u64);
            bar.set_message(format!("t={:.1}s", now.as_secs_f64()));
        }
    }

    fn request_done(&mut self, record: &RequestRecord) {
        let Some((path, out)) = &mut self.jsonl else {
            return;
        };
        let ms = |t: Option<SimTime>| t.map(SimTime::as_millis_f64);
        let line = json!({
            "id": record.id,
            "worker": record.worker,
            "arrival_ms": record.arrival.as_millis_f64(),
            "first_token_ms": ms(record.first_token),
            "second_token_ms": ms(record.second_token),
            "completed_ms": ms(record.completed),
            "ttft_ms": record.first_token.map(|t| t.as_millis_f64() - record.arrival.as_millis_f64()),
            "e2e_latency_ms": record.completed.map(|t| t.as_millis_f64() - record.arrival.as_millis_f64()),
            "input_tokens": record.input_tokens,
            "output_tokens": record.output_tokens,
            "reused_tokens": record.reused_tokens,
            "preemptions": record.preemptions,
        });
        let result = serde_json::to_writer(&mut *out, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        if let Err(source) = result
            && self.jsonl_error.is_none()
        {
            self.jsonl_error = Some(CliError::Output {
                path: path.clone(),
                source,
            });
        }
    }
}

/// Where the report goes: the given file, a timestamped file in the given directory, or a
/// timestamped file in the working directory.
fn report_path(given: Option<&Path>) -> PathBuf {
    let name = format!("servesim_report_{}.json", utc_stamp());
    match given {
        Some(path) if path.is_dir() => path.join(name),
        Some(path) => path.to_path_buf(),
        None => PathBuf::from(name),
    }
}

/// A run ready to replay: the validated configuration, the workload, and what the report
/// says about them.
pub(crate) struct PreparedRun {
    /// The replay configuration.
    pub(crate) config: ReplayConfig,
    /// The requests.
    pub(crate) input: RunInput,
    /// The effective configuration for the report's `servesim.config`.
    pub(crate) description: Value,
    /// GPUs of the initial fleet (what a run without a planner holds throughout).
    pub(crate) fleet_gpus: u32,
}

impl RunArgs {
    /// Validates the flags and builds the configuration and the workload.
    pub(crate) fn prepare(&self) -> Result<PreparedRun, CliError> {
        self.validate()?;
        self.compat.check_mode()?;
        let (topology, topology_description, tp) = self.topology()?;
        let fleet_gpus = match &topology {
            Topology::Aggregated { workers, .. } => workers * tp.1,
            Topology::Disaggregated {
                prefill_workers,
                decode_workers,
                ..
            } => prefill_workers * tp.0 + decode_workers * tp.1,
        };
        let planning = self.planning(tp)?;
        let admission = match self.replay_concurrency {
            Some(n) => AdmissionMode::Concurrency(n),
            None => AdmissionMode::Trace,
        };
        let mut config = ReplayConfig {
            topology,
            router_mode: self.router_mode,
            router_config: KvRouterConfig::default(),
            admission,
            seed: self.seed,
            planning,
            warmup_requests: self.warmup_requests,
            router_prefill_timing: None,
            custom_router: None,
        };
        config.router_config = self.router_config(config.block_size())?;
        let router_aic = self
            .compat
            .router_prefill_timing(self.router_mode, &config.router_config)?;
        if self.stream
            && let Some(why) = stream_conflict(
                self.trace.as_deref(),
                self.report_html.is_some(),
                self.replay_concurrency.is_some(),
                config.planning.is_some(),
            )
        {
            return Err(CliError::Usage(why));
        }
        let (input, workload_description) = self.workload(config.block_size())?;
        let mut description = json!({
            "topology": topology_description,
            "router_mode": self.router_mode.name(),
            "router_config": (self.router_mode == RouterMode::KvRouter).then(|| serde_json::to_value(&config.router_config).unwrap_or(Value::Null)),
            "admission": match admission { AdmissionMode::Trace => "trace", AdmissionMode::Concurrency(_) => "concurrency" },
            "replay_concurrency": self.replay_concurrency,
            "arrival_speedup_ratio": self.arrival_speedup_ratio,
            "workload": workload_description,
        });
        if self.warmup_requests > 0 {
            description["warmup_requests"] = self.warmup_requests.into();
        }
        if let Some((timing, flags)) = router_aic {
            config.router_prefill_timing = Some(timing);
            description["router_prefill_model"] = flags;
        }
        Ok(PreparedRun {
            config,
            input,
            description,
            fleet_gpus,
        })
    }

    /// Replays a prepared run; errors about a request name its trace line.
    pub(crate) fn execute(
        &self,
        prepared: &PreparedRun,
        observer: &mut dyn Observer,
    ) -> Result<ReplayOutcome, CliError> {
        let outcome = prepared.input.replay(&prepared.config, observer);
        outcome.map_err(|e| match (&self.trace, e) {
            (Some(path), servesim_replay::ReplayError::Workload { line, message }) => {
                CliError::Usage(format!("{}:{line}: {message}", path.display()))
            }
            (Some(path), servesim_replay::ReplayError::Unservable { line, source }) => {
                CliError::Usage(format!("{}:{line}: {source}", path.display()))
            }
            (_, e) => CliError::Replay(e),
        })
    }

    /// The JSON report of a finished run.
    pub(crate) fn report(
        &self,
        prepared: &PreparedRun,
        outcome: &ReplayOutcome,
        wall_time_ms: f64,
    ) -> Value {
        let mut servesim = Map::new();
        servesim.insert("seed".into(), self.seed.into());
        servesim.insert("config".into(), prepared.description.clone());
        report_json(outcome, wall_time_ms, servesim)
    }

    /// One line naming what was replayed, for the HTML report's header.
    pub(crate) fn describe(&self, prepared: &PreparedRun) -> String {
        let workload = match &self.trace {
            Some(path) => path.display().to_string(),
            None => "synthetic load".to_owned(),
        };
        let topology = match &prepared.config.topology {
            Topology::Aggregated { workers, .. } => format!("{workers} aggregated workers"),
            Topology::Disaggregated {
                prefill_workers,
                decode_workers,
                ..
            } => format!("{prefill_workers} prefill + {decode_workers} decode workers"),
        };
        format!(
            "{workload} · {topology} · {} · seed {}",
            self.router_mode.name(),
            self.seed
        )
    }

    /// Where the HTML report goes: `--report-html`, else for planner runs the planner's
    /// `report_output_dir`/`report_filename` (timestamped by default), else nowhere.
    fn html_path(&self, prepared: &PreparedRun) -> Option<PathBuf> {
        if let Some(path) = &self.report_html {
            return Some(path.clone());
        }
        let planner = &prepared.config.planning.as_ref()?.planner;
        let name = planner
            .report_filename
            .clone()
            .unwrap_or_else(|| format!("planner_report_{}.html", utc_stamp()));
        Some(Path::new(&planner.report_output_dir).join(name))
    }
}

/// Writes `text` to `path`, creating its directory.
pub(crate) fn write_output(path: &Path, text: &str) -> Result<(), CliError> {
    let io = |source| CliError::Output {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}

/// A finished replay: what was run, what came out, and the report.
pub(crate) struct Simulated {
    pub(crate) prepared: PreparedRun,
    pub(crate) outcome: ReplayOutcome,
    pub(crate) wall_time_ms: f64,
    /// The `--report-json` content.
    pub(crate) report: Value,
}

pub(crate) fn run(args: &RunArgs) -> Result<(), CliError> {
    let run = simulate(args, !args.quiet && std::io::stderr().is_terminal())?;
    let path = report_path(args.report_json.as_deref());
    let name = path.display().to_string();
    write_report(&path, &run.report)?;
    let html = write_html(args, &run)?;
    if !args.quiet {
        print!(
            "{}",
            render_table(&run.outcome.metrics, run.wall_time_ms, Some(&name))
        );
        if let Some(spec) = &run.outcome.speculative {
            println!(
                "Mean Accept Length (MTP, nextn {}): {:.4} (expected per decode step {:.4})",
                spec.nextn, spec.mean_accept_length, spec.expected_accept_length
            );
        }
        if let Some(planning) = &run.outcome.planning {
            print!("{}", render_planning(planning));
        }
        if let Some(html) = html {
            println!("HTML report: {}", html.display());
        }
    }
    Ok(())
}

/// Writes `report` as pretty JSON to `path`.
pub(crate) fn write_report(path: &Path, report: &Value) -> Result<(), CliError> {
    let name = path.display().to_string();
    let io = |source| CliError::Output {
        path: name.clone(),
        source,
    };
    let mut file = BufWriter::new(File::create(path).map_err(io)?);
    serde_json::to_writer_pretty(&mut file, report).map_err(|e| io(e.into()))?;
    file.write_all(b"\n").map_err(io)?;
    file.flush().map_err(io)
}

/// Writes the HTML report where the flags (or the planner) ask for one; its path.
pub(crate) fn write_html(args: &RunArgs, run: &Simulated) -> Result<Option<PathBuf>, CliError> {
    let html = args.html_path(&run.prepared);
    if let Some(html) = &html {
        let info = RunInfo {
            title: None,
            subtitle: args.describe(&run.prepared),
        };
        write_output(html, &run_page(&run.outcome, &info).to_html())?;
    }
    Ok(html)
}

/// Prepares and replays a run (with a progress bar if asked), writing `--requests-jsonl`.
pub(crate) fn simulate(args: &RunArgs, progress: bool) -> Result<Simulated, CliError> {
    let prepared = args.prepare()?;
    let jsonl = match &args.requests_jsonl {
        Some(path) => {
            let name = path.display().to_string();
            let file = File::create(path).map_err(|source| CliError::Output {
                path: name.clone(),
                source,
            })?;
            Some((name, BufWriter::new(file)))
        }
        None => None,
    };
    let bar = progress.then(|| {
        let bar = ProgressBar::new(prepared.input.len().unwrap_or(0) as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} requests {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let mut observer = RunObserver {
        bar,
        jsonl,
        jsonl_error: None,
    };
    let started = Instant::now();
    let outcome = args.execute(&prepared, &mut observer)?;
    let wall_time_ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(bar) = &observer.bar {
        bar.finish_and_clear();
    }
    if let Some(error) = observer.jsonl_error.take() {
        return Err(error);
    }
    if let Some((name, mut out)) = observer.jsonl.take() {
        out.flush()
            .map_err(|source| CliError::Output { path: name, source })?;
    }
    let report = args.report(&prepared, &outcome, wall_time_ms);
    Ok(Simulated {
        prepared,
        outcome,
        wall_time_ms,
        report,
    })
}

/// The scaling events and planner summary printed after the table.
fn render_planning(planning: &servesim_replay::PlanningSummary) -> String {
    let mut out = String::from("Scaling events:\n");
    for e in &planning.scaling_events {
        let component = match e.component {
            servesim_planner::observe::Component::Prefill => "prefill",
            servesim_planner::observe::Component::Decode => "decode",
        };
        out += &format!(
            "  t={:.1}s [{component}]: {} -> {} workers ({})\n",
            e.time_s, e.from, e.to, e.direction
        );
    }
    if planning.scaling_events.is_empty() {
        out += "  (none)\n";
    }
    let sla = &planning.sla;
    out += &format!("Scaling policy: {}\n", planning.policy);
    out += &format!("Planner ticks: {}\n", planning.ticks);
    out += &format!("GPU hours: {:.4}\n", planning.gpu_hours);
    out += &format!(
        "SLA attainment: TTFT ≤ {} ms {:.1}%, ITL ≤ {} ms {:.1}%, both {:.1}%\n",
        sla.ttft_target_ms,
        sla.ttft * 100.0,
        sla.itl_target_ms,
        sla.itl * 100.0,
        sla.both * 100.0
    );
    out += &format!(
        "Goodput: {:.1} requests per GPU-hour\n",
        sla.goodput_per_gpu_hour
    );
    out
}
