//! `servesim perf predict|table|list`: the per-GPU timing model on its own.
//!
//! `predict` and `table` price passes with the analytical model, or with `--perf-model
//! aic-db` from AIConfigurator's measured tables (a build with the `aic-db` feature, and the
//! `systems` folder of an `aiconfigurator-core` install).

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use servesim_perf::{
    AnalyticalCoster, DType, DecodeShape, Deployment, GpuSystem, ModelArch, PerfModel,
    PrefillChunk, SYSTEMS, StepModel, Work, builtin_model_names,
};

use crate::error::CliError;

/// Perf subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum PerfCommand {
    /// Time one forward pass (prefill or decode) of a model on a GPU system.
    Predict(Box<PredictArgs>),
    /// Time a grid of passes: prefill by ISL × batch, or decode by context × batch.
    Table(Box<TableArgs>),
    /// List the built-in models and GPU systems.
    List(ListArgs),
}

/// Which pass to time.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Phase {
    /// Compute prompt tokens.
    Prefill,
    /// Generate one token per sequence.
    Decode,
}

/// The timing model that prices passes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum PerfModelArg {
    /// The built-in op-level roofline model.
    Analytical,
    /// AIConfigurator's measured tables (needs a build with `--features aic-db`).
    AicDb,
}

/// Model, system, backend and parallel layout (the engine's `aic_*` keys), and the timing
/// model.
#[derive(Debug, Args)]
struct DeploymentArgs {
    /// Model: built-in name or Hugging Face id (see `servesim perf list`), or a config.json path.
    #[arg(long, value_name = "MODEL")]
    model: String,
    /// GPU system, e.g. h200_sxm.
    #[arg(long, default_value = "h200_sxm", value_name = "SYSTEM")]
    system: String,
    /// Serving backend: vllm, sglang or trtllm.
    #[arg(long, default_value = "vllm", value_name = "BACKEND")]
    backend: String,
    /// Tensor-parallel size.
    #[arg(long, default_value_t = 1, value_name = "N")]
    tp: u32,
    /// MoE tensor-parallel size [default: tp × attention-dp / moe-ep].
    #[arg(long, value_name = "N")]
    moe_tp: Option<u32>,
    /// MoE expert-parallel size [default: 1].
    #[arg(long, value_name = "N")]
    moe_ep: Option<u32>,
    /// Attention data-parallel size.
    #[arg(long, default_value_t = 1, value_name = "N")]
    attention_dp: u32,
    /// Timing model: analytical, or aic-db (AIConfigurator's measured tables).
    #[arg(long, value_enum, default_value = "analytical", value_name = "MODEL")]
    perf_model: PerfModelArg,
    /// The `systems` folder of an aiconfigurator-core install, for aic-db
    /// [default: $SERVESIM_AIC_SYSTEMS].
    #[arg(long, value_name = "PATH")]
    aic_systems: Option<PathBuf>,
    /// Backend version of AIConfigurator's tables, for aic-db [default: AIConfigurator
    /// 0.12.0's current version].
    #[arg(long, value_name = "VERSION")]
    aic_backend_version: Option<String>,
}

/// A timing model built from the command line, with its per-op breakdown.
enum Priced {
    /// The analytical model.
    Analytical(StepModel<AnalyticalCoster>),
    /// AIConfigurator's measured tables.
    #[cfg(feature = "aic-db")]
    AicDb(servesim_perf::AicDbModel),
}

impl Priced {
    fn model(&self) -> &dyn PerfModel {
        match self {
            Priced::Analytical(m) => m,
            #[cfg(feature = "aic-db")]
            Priced::AicDb(m) => m,
        }
    }

    fn breakdown(&self, work: &Work<'_>) -> Vec<(&'static str, f64)> {
        match self {
            Priced::Analytical(m) => m.breakdown(work),
            #[cfg(feature = "aic-db")]
            Priced::AicDb(m) => m.breakdown(work),
        }
    }
}

impl DeploymentArgs {
    fn deployment(&self) -> Result<Deployment, CliError> {
        Deployment::new(
            &self.model,
            &self.system,
            &self.backend,
            self.tp,
            self.moe_tp,
            self.moe_ep,
            self.attention_dp,
        )
        .map_err(|e| CliError::Usage(e.to_string()))
    }

    /// The timing model `--perf-model` selects, for `deployment`.
    fn priced(&self, deployment: &Deployment) -> Result<Priced, CliError> {
        match self.perf_model {
            PerfModelArg::Analytical => deployment
                .analytical()
                .map(Priced::Analytical)
                .map_err(|e| CliError::Usage(e.to_string())),
            PerfModelArg::AicDb => self.aic_db(deployment),
        }
    }

    #[cfg(feature = "aic-db")]
    fn aic_db(&self, deployment: &Deployment) -> Result<Priced, CliError> {
        let root = self
            .aic_systems
            .clone()
            .or_else(|| std::env::var_os(servesim_perf::SYSTEMS_ENV).map(PathBuf::from))
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "--perf-model aic-db needs --aic-systems PATH (or {}): the `systems` folder of an aiconfigurator-core install (…/site-packages/aiconfigurator_core/systems)",
                    servesim_perf::SYSTEMS_ENV
                ))
            })?;
        deployment
            .aic_db(&root, self.aic_backend_version.as_deref())
            .map(Priced::AicDb)
            .map_err(|e| CliError::Usage(e.to_string()))
    }

    #[cfg(not(feature = "aic-db"))]
    fn aic_db(&self, _deployment: &Deployment) -> Result<Priced, CliError> {
        // The table location and version only matter to a build that can read the tables.
        let _ = (&self.aic_systems, &self.aic_backend_version);
        Err(CliError::Usage(
            "--perf-model aic-db: this servesim was built without the `aic-db` feature; rebuild with `cargo build --release -p replay-cli --features aic-db`, or use `--perf-model analytical`".to_owned(),
        ))
    }
}

/// `servesim perf predict`.
#[derive(Debug, Args)]
pub(crate) struct PredictArgs {
    #[command(flatten)]
    deployment: DeploymentArgs,
    /// The pass to time.
    #[arg(long, value_enum)]
    phase: Phase,
    /// Sequences in the pass.
    #[arg(long, default_value_t = 1, value_name = "N")]
    batch: u32,
    /// Prompt length per sequence (prefill), cached prefix included.
    #[arg(long, value_name = "TOKENS")]
    isl: Option<u32>,
    /// Cached prefix per sequence (prefill): costs attention, not projections.
    #[arg(long, default_value_t = 0, value_name = "TOKENS")]
    prefix: u32,
    /// Tokens already in KV per sequence (decode).
    #[arg(long, value_name = "TOKENS")]
    ctx: Option<u32>,
    /// Print JSON with a per-op breakdown instead of one line.
    #[arg(long)]
    json: bool,
}

/// `servesim perf table`.
#[derive(Debug, Args)]
pub(crate) struct TableArgs {
    #[command(flatten)]
    deployment: DeploymentArgs,
    /// The pass to time.
    #[arg(long, value_enum)]
    phase: Phase,
    /// Batch sizes (columns).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,2,4,8,16,32,64,128",
        value_name = "LIST"
    )]
    batch: Vec<u32>,
    /// Prompt lengths (rows, prefill).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "128,512,1024,2048,4096,8192",
        value_name = "LIST"
    )]
    isl: Vec<u32>,
    /// Contexts (rows, decode).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1024,2048,4096,8192",
        value_name = "LIST"
    )]
    ctx: Vec<u32>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// `servesim perf list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

/// Runs a perf subcommand.
pub(crate) fn run(command: PerfCommand) -> Result<(), CliError> {
    match command {
        PerfCommand::Predict(args) => predict(&args),
        PerfCommand::Table(args) => table(&args),
        PerfCommand::List(args) => list(&args),
    }
}

/// One pass: prefill chunks, or a decode batch.
enum Pass {
    Prefill(Vec<PrefillChunk>),
    Decode(DecodeShape),
}

impl Pass {
    fn prefill(batch: u32, isl: u32, prefix: u32) -> Result<Pass, CliError> {
        if isl == 0 || prefix >= isl {
            return Err(CliError::Usage(format!(
                "--isl must exceed --prefix (got isl {isl}, prefix {prefix})"
            )));
        }
        let chunk = PrefillChunk {
            new_tokens: isl - prefix,
            context_tokens: prefix,
        };
        Ok(Pass::Prefill(vec![chunk; batch as usize]))
    }

    fn decode(batch: u32, ctx: u32) -> Pass {
        Pass::Decode(DecodeShape {
            sequences: batch,
            context_tokens: u64::from(ctx) * u64::from(batch),
            kv_tokens_in_use: 0,
            kv_capacity_tokens: 0,
            tokens_per_sequence: 1,
        })
    }

    fn ms(&self, model: &Priced) -> f64 {
        let model = model.model();
        match self {
            Pass::Prefill(chunks) => model.prefill_ms(chunks),
            Pass::Decode(shape) => model.decode_ms(shape),
        }
    }

    fn work(&self) -> Work<'_> {
        match self {
            Pass::Prefill(chunks) => Work::prefill(chunks),
            Pass::Decode(shape) => Work::decode(shape),
        }
    }
}

fn check_batch(batch: u32) -> Result<(), CliError> {
    if batch == 0 {
        return Err(CliError::Usage("--batch must be ≥ 1".to_owned()));
    }
    Ok(())
}

fn predict(args: &PredictArgs) -> Result<(), CliError> {
    let deployment = args.deployment.deployment()?;
    check_batch(args.batch)?;
    let (pass, shape) = match args.phase {
        Phase::Prefill => {
            let isl = args
                .isl
                .ok_or_else(|| CliError::Usage("--phase prefill needs --isl".to_owned()))?;
            let pass = Pass::prefill(args.batch, isl, args.prefix)?;
            (
                pass,
                json!({"batch": args.batch, "isl": isl, "prefix": args.prefix}),
            )
        }
        Phase::Decode => {
            let ctx = args
                .ctx
                .ok_or_else(|| CliError::Usage("--phase decode needs --ctx".to_owned()))?;
            (
                Pass::decode(args.batch, ctx),
                json!({"batch": args.batch, "ctx": ctx}),
            )
        }
    };
    let model = args.deployment.priced(&deployment)?;
    let ms = pass.ms(&model);
    if args.json {
        let ops: Vec<_> = model
            .breakdown(&pass.work())
            .into_iter()
            .filter(|(_, ms)| *ms != 0.0)
            .map(|(name, ms)| json!({"op": name, "ms": ms}))
            .collect();
        let out = json!({
            "model": deployment.arch.name,
            "system": deployment.system.name,
            "backend": deployment.backend,
            "parallelism": deployment.parallelism,
            "perf_model": model.model().name(),
            "phase": match args.phase { Phase::Prefill => "prefill", Phase::Decode => "decode" },
            "shape": shape,
            "ms": ms,
            "ops": ops,
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        let what = match args.phase {
            Phase::Prefill => format!(
                "prefill, batch {}, isl {}{}",
                args.batch,
                args.isl.unwrap_or_default(),
                if args.prefix > 0 {
                    format!(", prefix {}", args.prefix)
                } else {
                    String::new()
                }
            ),
            Phase::Decode => format!(
                "decode, batch {}, ctx {}",
                args.batch,
                args.ctx.unwrap_or_default()
            ),
        };
        let name = model.model().name();
        println!("{} [{name}]: {what}: {ms:.2} ms", deployment.describe());
    }
    Ok(())
}

fn table(args: &TableArgs) -> Result<(), CliError> {
    let deployment = args.deployment.deployment()?;
    for &b in &args.batch {
        check_batch(b)?;
    }
    let model = args.deployment.priced(&deployment)?;
    let (label, rows) = match args.phase {
        Phase::Prefill => ("isl", &args.isl),
        Phase::Decode => ("ctx", &args.ctx),
    };
    let mut grid = Vec::with_capacity(rows.len());
    for &row in rows {
        let mut cells = Vec::with_capacity(args.batch.len());
        for &batch in &args.batch {
            let pass = match args.phase {
                Phase::Prefill => Pass::prefill(batch, row, 0)?,
                Phase::Decode => Pass::decode(batch, row),
            };
            cells.push(pass.ms(&model));
        }
        grid.push((row, cells));
    }
    if args.json {
        let rows: Vec<_> = grid
            .iter()
            .map(|(row, cells)| json!({label: row, "ms": cells}))
            .collect();
        let out = json!({
            "model": deployment.arch.name,
            "system": deployment.system.name,
            "backend": deployment.backend,
            "parallelism": deployment.parallelism,
            "perf_model": model.model().name(),
            "phase": match args.phase { Phase::Prefill => "prefill", Phase::Decode => "decode" },
            "batch": args.batch,
            "rows": rows,
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(());
    }
    let mut out = String::new();
    let phase = match args.phase {
        Phase::Prefill => "prefill",
        Phase::Decode => "decode",
    };
    let _ = writeln!(
        out,
        "{} [{}]: {phase} ms per pass",
        deployment.describe(),
        model.model().name()
    );
    let _ = write!(out, "{:>8}", format!("{label}\\batch"));
    for b in &args.batch {
        let _ = write!(out, " {b:>9}");
    }
    out.push('\n');
    for (row, cells) in &grid {
        let _ = write!(out, "{row:>8}");
        for ms in cells {
            let _ = write!(out, " {ms:>9.2}");
        }
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}

fn list(args: &ListArgs) -> Result<(), CliError> {
    let models: Vec<ModelArch> = builtin_model_names()
        .map(ModelArch::builtin)
        .collect::<Result<_, _>>()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    if args.json {
        let models: Vec<_> = models
            .iter()
            .map(|m| {
                json!({
                    "name": m.name,
                    "hf_id": m.hf_id,
                    "layers": m.layers,
                    "params": m.total_params(),
                    "active_params": m.active_params(),
                    "kv_bytes_per_token_bf16": m.kv_bytes_per_token(DType::Bf16),
                    "moe": m.moe.is_some(),
                })
            })
            .collect();
        let out =
            json!({"models": models, "systems": SYSTEMS, "backends": ["vllm", "sglang", "trtllm"]});
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(());
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<28} {:>7} {:>9} {:>9} {:>9}",
        "model", "hugging face id", "layers", "params", "active", "KV/token"
    );
    for m in &models {
        let _ = writeln!(
            out,
            "{:<16} {:<28} {:>7} {:>8.1}B {:>8.1}B {:>6} KiB",
            m.name,
            m.hf_id,
            m.layers,
            m.total_params() as f64 / 1e9,
            m.active_params() as f64 / 1e9,
            format!("{:.1}", m.kv_bytes_per_token(DType::Bf16) as f64 / 1024.0),
        );
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "{:<10} {:<38} {:>9} {:>9} {:>9} {:>8} {:>9} {:>9}",
        "system", "gpu", "bf16 TF", "fp8 TF", "fp4 TF", "HBM GiB", "HBM TB/s", "link GB/s"
    );
    for s in SYSTEMS.iter() {
        let _ = writeln!(out, "{}", system_row(s));
    }
    out.push_str(
        "\nbackends: vllm, sglang, trtllm (any model, any system; KV bytes/token in bf16)\n",
    );
    print!("{out}");
    Ok(())
}

fn system_row(s: &GpuSystem) -> String {
    let tf = |f: f64| {
        if f > 0.0 {
            format!("{:.0}", f / 1e12)
        } else {
            "-".to_owned()
        }
    };
    format!(
        "{:<10} {:<38} {:>9} {:>9} {:>9} {:>8.1} {:>9.2} {:>9.0}",
        s.name,
        s.description,
        tf(s.bf16_flops),
        tf(s.fp8_flops),
        tf(s.fp4_flops),
        s.mem_bytes as f64 / f64::from(1u32 << 30),
        s.mem_bw / 1e12,
        s.link_bw / 1e9,
    )
}
