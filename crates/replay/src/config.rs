//! What to simulate: topology, routing and admission.

use std::fmt;
use std::str::FromStr;

use servesim_engine::{EngineConfig, PassTiming, WorkerType};
use servesim_router::KvRouterConfig;

use crate::admission::AdmissionMode;
use crate::custom::CustomRouter;
use crate::error::ReplayError;

/// How requests are routed to workers (`--router-mode`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum RouterMode {
    /// Cycle over the workers (the default).
    #[default]
    RoundRobin,
    /// Prefix- and load-aware routing.
    KvRouter,
}

impl RouterMode {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            RouterMode::RoundRobin => "round_robin",
            RouterMode::KvRouter => "kv_router",
        }
    }
}

impl fmt::Display for RouterMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RouterMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.replace('-', "_").as_str() {
            "round_robin" => Ok(RouterMode::RoundRobin),
            "kv_router" | "kv" => Ok(RouterMode::KvRouter),
            _ => Err(format!(
                "unknown router mode `{s}` (expected round_robin or kv_router)"
            )),
        }
    }
}

/// KV transfer between a prefill and a decode worker.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct TransferConfig {
    /// KV bytes per prompt token.
    pub kv_bytes_per_token: u64,
    /// Bandwidth of each prefill worker's outbound link, GB/s (10⁹ bytes per second),
    /// shared equally by its concurrent transfers.
    pub bandwidth_gbps: f64,
}

impl TransferConfig {
    /// KV bytes per token assumed when neither the engine arguments nor the model give it:
    /// Llama-3.1-8B's bf16 KV (32 layers × 8 KV heads × 128 × 2 (K, V) × 2 bytes).
    pub const DEFAULT_KV_BYTES_PER_TOKEN: u64 = 131_072;
    /// Link bandwidth assumed when not given, GB/s (the reference's live default).
    pub const DEFAULT_BANDWIDTH_GBPS: f64 = 64.0;
}

/// The serving topology.
// One value per replay: boxing the disaggregated variant's two engine configurations would
// save nothing worth an indirection in every match.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Topology {
    /// Identical workers that prefill and decode.
    Aggregated {
        /// Number of workers (`--num-workers`).
        workers: u32,
        /// Their engine configuration.
        engine: EngineConfig,
    },
    /// A prefill pool and a decode pool joined by KV transfers.
    Disaggregated {
        /// Prefill workers (`--num-prefill-workers`).
        prefill_workers: u32,
        /// Their engine configuration (`worker_type: prefill`).
        prefill: EngineConfig,
        /// Decode workers (`--num-decode-workers`).
        decode_workers: u32,
        /// Their engine configuration (`worker_type: decode`).
        decode: EngineConfig,
        /// The KV transfer model.
        transfer: TransferConfig,
    },
}

/// Everything a replay needs besides the workload.
#[derive(Clone, Debug)]
pub struct ReplayConfig {
    /// Workers and their engines.
    pub topology: Topology,
    /// Routing policy.
    pub router_mode: RouterMode,
    /// KV-router settings (`--router-config`), used in `kv_router` mode.
    pub router_config: KvRouterConfig,
    /// Open or closed loop.
    pub admission: AdmissionMode,
    /// Seed of every random choice made during the replay.
    pub seed: u64,
    /// A scaling policy in the loop (`--planner-config`).
    pub planning: Option<crate::planning::PlanningConfig>,
    /// Requests `0..warmup_requests` run first and are left out of every metric
    /// (`--warmup-requests`; closed-loop admission only).
    pub warmup_requests: u32,
    /// The timing model behind the KV router's per-request prefill estimate
    /// (`router_prefill_load_model: aic`) in aggregated and prefill pools: what the
    /// reference's top-level `--aic-*` flags select. `None`: each pool's engine timing.
    pub router_prefill_timing: Option<PassTiming>,
    /// Your own router for every pool, instead of `router_mode`'s.
    pub custom_router: Option<CustomRouter>,
}

impl ReplayConfig {
    /// An aggregated replay with default routing settings.
    pub fn aggregated(
        workers: u32,
        engine: EngineConfig,
        router_mode: RouterMode,
        admission: AdmissionMode,
        seed: u64,
    ) -> Self {
        ReplayConfig {
            topology: Topology::Aggregated { workers, engine },
            router_mode,
            router_config: KvRouterConfig::default(),
            admission,
            seed,
            planning: None,
            warmup_requests: 0,
            router_prefill_timing: None,
            custom_router: None,
        }
    }

    /// The engine block size (equal on every worker).
    pub fn block_size(&self) -> u32 {
        match &self.topology {
            Topology::Aggregated { engine, .. } => engine.block_size,
            Topology::Disaggregated { prefill, .. } => prefill.block_size,
        }
    }

    /// Checks the topology rules of the reference (one line per problem, naming the flag).
    pub fn validate(&self) -> Result<(), ReplayError> {
        let fail = |m: &str| Err(ReplayError::Config(m.to_owned()));
        match &self.topology {
            Topology::Aggregated { workers, engine } => {
                if *workers == 0 {
                    return fail("--num-workers must be ≥ 1");
                }
                if engine.worker_type != WorkerType::Aggregated {
                    return fail(
                        "--extra-engine-args: `worker_type` must be `aggregated` for an aggregated replay (use --prefill-engine-args / --decode-engine-args for disaggregation)",
                    );
                }
                if self.router_mode == RouterMode::KvRouter && *workers < 2 {
                    return fail("--router-mode kv_router needs --num-workers > 1");
                }
            }
            Topology::Disaggregated {
                prefill_workers,
                prefill,
                decode_workers,
                decode,
                transfer,
            } => {
                if *prefill_workers == 0 || *decode_workers == 0 {
                    return fail("--num-prefill-workers and --num-decode-workers must be ≥ 1");
                }
                if prefill.worker_type != WorkerType::Prefill {
                    return fail("--prefill-engine-args: `worker_type` must be `prefill`");
                }
                if decode.worker_type != WorkerType::Decode {
                    return fail("--decode-engine-args: `worker_type` must be `decode`");
                }
                if prefill.block_size != decode.block_size {
                    return Err(ReplayError::Config(format!(
                        "prefill and decode workers need the same `block_size` (prefill {}, decode {})",
                        prefill.block_size, decode.block_size
                    )));
                }
                if !(transfer.bandwidth_gbps.is_finite() && transfer.bandwidth_gbps > 0.0) {
                    return fail("`kv_transfer_bandwidth` must be > 0 GB/s");
                }
            }
        }
        if let Some(planning) = &self.planning {
            use servesim_planner::config::PlannerMode;
            let aggregated = matches!(self.topology, Topology::Aggregated { .. });
            match (planning.planner.mode, aggregated) {
                (PlannerMode::Agg, false) => {
                    return fail(
                        "--planner-config: `mode: agg` needs an aggregated deployment (--extra-engine-args)",
                    );
                }
                (PlannerMode::Disagg | PlannerMode::Prefill | PlannerMode::Decode, true) => {
                    return fail(
                        "--planner-config: `mode` disagg/prefill/decode needs a disaggregated deployment (--prefill-engine-args / --decode-engine-args); use `mode: agg`",
                    );
                }
                _ => {}
            }
        }
        if self.admission == AdmissionMode::Concurrency(0) {
            return fail("--replay-concurrency must be ≥ 1");
        }
        if self.warmup_requests > 0 && self.admission == AdmissionMode::Trace {
            return fail(
                "--warmup-requests needs closed-loop admission (--replay-concurrency): an open-loop trace has no warm-up phase",
            );
        }
        self.router_config.validate().map_err(router_config_error)?;
        if self.router_mode == RouterMode::KvRouter {
            self.router_config
                .blocks_per_router_block(self.block_size())
                .map_err(router_config_error)?;
        }
        Ok(())
    }
}

/// A `--router-config` problem as a replay error.
pub(crate) fn router_config_error(message: String) -> ReplayError {
    ReplayError::Config(format!("--router-config: {message}"))
}
