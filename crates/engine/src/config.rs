//! Engine arguments: the reference's `--extra-engine-args` JSON keys, defaults and rules.
//!
//! [`EngineArgs`] is what users write (every key optional, unknown keys rejected);
//! [`EngineArgs::resolve`] validates it into an [`EngineConfig`] with every default applied.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use servesim_perf::{
    DEFAULT_MEMORY_FRACTION, Deployment, InterpolatedModel, MixedCost, PerfModel, PolynomialModel,
};

use crate::error::EngineError;
use crate::sglang::{SglangArgs, SglangConfig};
use crate::spec::{AcceptRates, SpecConfig};

/// Which scheduler family the engine simulates.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineType {
    /// vLLM V1-style scheduling (the default).
    #[default]
    Vllm,
    /// SGLang-style scheduling.
    Sglang,
}

/// The role of a worker in the serving topology.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerType {
    /// Prefills and decodes (aggregated serving; the default).
    #[default]
    Aggregated,
    /// Prefill only: a request ends when its prompt is in KV (disaggregated serving).
    Prefill,
    /// Decode only: requests arrive with their prompt's KV transferred; no prefill is charged.
    Decode,
}

/// Which running request vLLM preempts when KV blocks run out.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PreemptionMode {
    /// The most recently admitted (vLLM's default).
    #[default]
    Lifo,
    /// The earliest admitted.
    Fifo,
}

/// Which timing model prices forward passes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PerfModelKind {
    /// The reference's polynomial formulas.
    Polynomial,
    /// A measured profile table (`planner_profile_data`).
    Interpolated,
    /// The per-GPU analytical op model (`aic_*` keys).
    Analytical,
    /// AIConfigurator's measured database (`aic_*` keys).
    AicDb,
}

/// Engine arguments as given in JSON (`--extra-engine-args`), with the reference's keys.
///
/// Keys that only matter to a live deployment (`bootstrap_port`, ZMQ ports, …) are accepted
/// and ignored so that reference configurations load unchanged; unknown keys are an error.
///
/// Absent keys take [`EngineArgs::default`]'s values, the reference's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineArgs {
    /// `vllm` (default) or `sglang`.
    pub engine_type: EngineType,
    /// KV capacity in blocks. `None` (absent or `null`, the default) derives it: under a
    /// per-GPU timing model (`analytical`, `aic-db`) from the GPU memory of `aic_system`
    /// (× vLLM's default `gpu_memory_utilization` 0.9), less the weights of `aic_model_path`
    /// per GPU and fixed reserves, over the KV bytes per token per GPU and the block size;
    /// otherwise the reference's 16384 blocks for vLLM, and for SGLang the same 1,048,576
    /// tokens in pages of any size.
    pub num_gpu_blocks: Option<u64>,
    /// Tokens per KV block; 0 means the engine's default (64 for vLLM).
    pub block_size: u32,
    /// Most sequences running at once (default 256; `null` = limited only by the token budget).
    pub max_num_seqs: Option<u32>,
    /// Token budget of one pass (default 8192; `null` = unlimited).
    pub max_num_batched_tokens: Option<u32>,
    /// Reuse cached KV blocks across requests with equal prefixes (default true).
    pub enable_prefix_caching: bool,
    /// Split long prompts across passes (default true).
    pub enable_chunked_prefill: bool,
    /// `lifo` (default) or `fifo`.
    pub preemption_mode: PreemptionMode,
    /// Divides every pass time (≤ 0 means 1).
    pub speedup_ratio: f64,
    /// Further divides decode time (≤ 0 means 1), e.g. for speculative decoding.
    pub decode_speedup_ratio: f64,
    /// Data-parallel ranks per worker; only 1 is supported.
    pub dp_size: u32,
    /// Seconds a worker added by a scaler needs before it serves.
    pub startup_time: Option<f64>,
    /// `aggregated` (default), `prefill` or `decode`.
    pub worker_type: WorkerType,
    /// Legacy spelling of `worker_type: prefill`.
    pub is_prefill: Option<bool>,
    /// Legacy spelling of `worker_type: decode`.
    pub is_decode: Option<bool>,
    /// Profile table (JSON or CSV) for the interpolated timing model.
    pub planner_profile_data: Option<PathBuf>,
    /// Timing model; default: `interpolated` if a profile is given, else `polynomial`.
    pub perf_model: Option<PerfModelKind>,
    /// How a pass that prefills and decodes is priced: `additive` (default) or `fused`.
    pub mixed_pass_cost: MixedCost,
    /// AIConfigurator backend (`vllm`, `sglang`, `trtllm`).
    pub aic_backend: Option<String>,
    /// GPU system name, e.g. `h200_sxm`.
    pub aic_system: Option<String>,
    /// Backend version for AIConfigurator data (`perf_model: aic-db`; default: AIConfigurator
    /// 0.12.0's current version for the system).
    pub aic_backend_version: Option<String>,
    /// The `systems` folder of an AIConfigurator install
    /// (`…/site-packages/aiconfigurator_core/systems`) whose measured tables `perf_model:
    /// aic-db` reads; default: the `SERVESIM_AIC_SYSTEMS` environment variable.
    pub aic_systems_path: Option<PathBuf>,
    /// Model (Hugging Face id or `config.json` path).
    pub aic_model_path: Option<String>,
    /// Tensor-parallel size.
    pub aic_tp_size: Option<u32>,
    /// MoE tensor-parallel size.
    pub aic_moe_tp_size: Option<u32>,
    /// MoE expert-parallel size.
    pub aic_moe_ep_size: Option<u32>,
    /// Attention data-parallel size.
    pub aic_attention_dp_size: Option<u32>,
    /// KV bytes per token, for disaggregated KV transfer (default: derived from
    /// `aic_model_path` when given).
    pub kv_bytes_per_token: Option<u64>,
    /// KV transfer link bandwidth in GB/s.
    pub kv_transfer_bandwidth: Option<f64>,
    /// Reasoning-token shaping of the reference; has no effect on timing (accepted for
    /// compatibility).
    pub reasoning: Option<serde_json::Value>,
    /// Per-engine override of the router queue policy (`fcfs`, `lcfs`, `wspt`).
    pub router_queue_policy: Option<String>,
    /// SGLang scheduler options (only with `engine_type: sglang`).
    pub sglang: Option<SglangArgs>,
    /// Speculative decoding (MTP): draft tokens per decode step, 1–5 (absent: off).
    pub aic_nextn: Option<u32>,
    /// Conditional acceptance probability of each draft token, as a comma-separated string
    /// or an array (default `0.85,0.3,0,0,0`; padded with zeros or truncated to `aic_nextn`).
    pub aic_nextn_accept_rates: Option<AcceptRates>,
    /// Live-deployment key; ignored.
    pub enable_local_indexer: Option<bool>,
    /// Live-deployment key; ignored.
    pub bootstrap_port: Option<u16>,
    /// Live-deployment key; ignored.
    pub zmq_kv_events_port: Option<u16>,
    /// Live-deployment key; ignored.
    pub zmq_replay_port: Option<u16>,
    /// Accepted and ignored, as in the reference.
    pub has_perf_model: Option<bool>,
}

impl Default for EngineArgs {
    fn default() -> Self {
        EngineArgs {
            engine_type: EngineType::Vllm,
            num_gpu_blocks: None,
            block_size: 0,
            max_num_seqs: Some(256),
            max_num_batched_tokens: Some(8192),
            enable_prefix_caching: true,
            enable_chunked_prefill: true,
            preemption_mode: PreemptionMode::Lifo,
            speedup_ratio: 1.0,
            decode_speedup_ratio: 1.0,
            dp_size: 1,
            startup_time: None,
            worker_type: WorkerType::Aggregated,
            is_prefill: None,
            is_decode: None,
            planner_profile_data: None,
            perf_model: None,
            mixed_pass_cost: MixedCost::Additive,
            aic_backend: None,
            aic_system: None,
            aic_backend_version: None,
            aic_systems_path: None,
            aic_model_path: None,
            aic_tp_size: None,
            aic_moe_tp_size: None,
            aic_moe_ep_size: None,
            aic_attention_dp_size: None,
            kv_bytes_per_token: None,
            kv_transfer_bandwidth: None,
            reasoning: None,
            router_queue_policy: None,
            sglang: None,
            aic_nextn: None,
            aic_nextn_accept_rates: None,
            enable_local_indexer: None,
            bootstrap_port: None,
            zmq_kv_events_port: None,
            zmq_replay_port: None,
            has_perf_model: None,
        }
    }
}

/// KV capacity in blocks when it is neither given nor derived (the reference's default).
const DEFAULT_GPU_BLOCKS: u64 = 16_384;

/// KV capacity in tokens of the vLLM default (16384 blocks of 64 tokens); an SGLang engine
/// without `num_gpu_blocks` gets the same memory, whatever its page size.
const DEFAULT_KV_TOKENS: u64 = DEFAULT_GPU_BLOCKS * 64;

/// A validated engine configuration with every default applied.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Which scheduler runs the worker.
    pub engine_type: EngineType,
    /// SGLang scheduler settings (`Some` exactly when `engine_type` is SGLang).
    pub sglang: Option<SglangConfig>,
    /// Speculative decoding, when on.
    pub speculative: Option<SpecConfig>,
    /// Seed of the engine's random draws (speculative decoding); a harness derives one per
    /// worker with [`EngineConfig::for_worker`].
    pub seed: u64,
    /// Tokens per KV block.
    pub block_size: u32,
    /// KV capacity in blocks.
    pub num_gpu_blocks: u64,
    /// Most sequences running at once (never more than the token budget).
    pub max_num_seqs: u32,
    /// Token budget per pass (`u32::MAX` when unlimited).
    pub max_num_batched_tokens: u32,
    /// Prefix caching on/off.
    pub enable_prefix_caching: bool,
    /// Chunked prefill on/off.
    pub enable_chunked_prefill: bool,
    /// Preemption victim policy.
    pub preemption_mode: PreemptionMode,
    /// The worker's role.
    pub worker_type: WorkerType,
    /// Pass pricing.
    pub timing: crate::timing::PassTiming,
    /// Warm-up time of a worker added by a scaler.
    pub startup_time: servesim_trace::SimTime,
    /// KV bytes per token, when known.
    pub kv_bytes_per_token: Option<u64>,
    /// KV transfer bandwidth in GB/s, when given.
    pub kv_transfer_bandwidth_gbps: Option<f64>,
}

impl EngineConfig {
    /// The configuration of worker `index` of a pool: the same settings with a seed derived
    /// from this one and the index, so that workers draw independent, reproducible streams.
    pub fn for_worker(&self, index: u64) -> EngineConfig {
        EngineConfig {
            seed: servesim_trace::content_id(self.seed, index),
            ..self.clone()
        }
    }

    /// Most prompt tokens one pass computes: `max_num_batched_tokens` for vLLM,
    /// `sglang.chunked_prefill_size` for SGLang (which ignores the former).
    pub fn pass_token_budget(&self) -> u32 {
        self.sglang
            .as_ref()
            .map_or(self.max_num_batched_tokens, |s| s.chunked_prefill_size)
    }

    /// Most requests running at once: `max_num_seqs` for vLLM; SGLang has no such limit
    /// (`u32::MAX`).
    pub fn max_running(&self) -> u32 {
        if self.sglang.is_some() {
            u32::MAX
        } else {
            self.max_num_seqs
        }
    }

    /// The effective configuration as JSON, for reports (`null` means unlimited).
    pub fn to_json(&self) -> serde_json::Value {
        let limit = |n: u32| {
            if n == u32::MAX {
                serde_json::Value::Null
            } else {
                n.into()
            }
        };
        let mut value = serde_json::json!({
            "engine_type": self.engine_type,
            "sglang": self.sglang,
            "speculative": self.speculative,
            "block_size": self.block_size,
            "num_gpu_blocks": self.num_gpu_blocks,
            "max_num_seqs": limit(self.max_num_seqs),
            "max_num_batched_tokens": limit(self.max_num_batched_tokens),
            "enable_prefix_caching": self.enable_prefix_caching,
            "enable_chunked_prefill": self.enable_chunked_prefill,
            "preemption_mode": self.preemption_mode,
            "worker_type": self.worker_type,
            "startup_time_s": self.startup_time.as_secs_f64(),
            "kv_bytes_per_token": self.kv_bytes_per_token,
            "kv_transfer_bandwidth": self.kv_transfer_bandwidth_gbps,
        });
        if let (Some(map), serde_json::Value::Object(timing)) =
            (value.as_object_mut(), self.timing.describe())
        {
            map.extend(timing);
        }
        value
    }
}

fn config_error(key: &'static str, message: impl Into<String>) -> EngineError {
    EngineError::Config {
        key,
        message: message.into(),
    }
}

impl EngineArgs {
    /// Parses engine arguments from a JSON object; unknown keys are an error naming the key.
    ///
    /// ```
    /// use servesim_engine::EngineArgs;
    /// let args = EngineArgs::from_json(r#"{"num_gpu_blocks": 4096, "block_size": 32}"#)?;
    /// assert_eq!(args.num_gpu_blocks, Some(4096));
    /// assert!(EngineArgs::from_json(r#"{"num_gpu_block": 1}"#).is_err());
    /// # Ok::<(), servesim_engine::EngineError>(())
    /// ```
    pub fn from_json(text: &str) -> Result<Self, EngineError> {
        serde_json::from_str(text).map_err(|e| EngineError::Json(e.to_string()))
    }

    /// The worker type after applying the legacy `is_prefill`/`is_decode` flags.
    pub fn effective_worker_type(&self) -> Result<WorkerType, EngineError> {
        match (self.is_prefill == Some(true), self.is_decode == Some(true)) {
            (true, true) => Err(config_error(
                "is_prefill",
                "a worker cannot be both prefill and decode",
            )),
            (true, false) if self.worker_type == WorkerType::Decode => Err(config_error(
                "is_prefill",
                "contradicts `worker_type: decode`",
            )),
            (false, true) if self.worker_type == WorkerType::Prefill => Err(config_error(
                "is_decode",
                "contradicts `worker_type: prefill`",
            )),
            (true, false) => Ok(WorkerType::Prefill),
            (false, true) => Ok(WorkerType::Decode),
            (false, false) => Ok(self.worker_type),
        }
    }

    /// The effective block size: `block_size`, or for SGLang `sglang.page_size` (which must
    /// agree with it), else the engine's default (64 for vLLM, 1 for SGLang).
    pub fn effective_block_size(&self) -> Result<u32, EngineError> {
        match (self.engine_type, &self.sglang) {
            (EngineType::Vllm, _) if self.block_size == 0 => Ok(64),
            (EngineType::Vllm, _) => Ok(self.block_size),
            (EngineType::Sglang, Some(sglang)) => sglang.page_size(self.block_size),
            (EngineType::Sglang, None) => SglangArgs::default().page_size(self.block_size),
        }
    }

    /// The timing model kind these arguments select: `perf_model` if given, else
    /// `interpolated` with a profile, `analytical` with any `aic_*` key, `polynomial`.
    pub fn perf_model_kind(&self) -> PerfModelKind {
        let has_aic = self.aic_system.is_some()
            || self.aic_model_path.is_some()
            || self.aic_backend.is_some();
        match self.perf_model {
            Some(kind) => kind,
            None if self.planner_profile_data.is_some() => PerfModelKind::Interpolated,
            None if has_aic => PerfModelKind::Analytical,
            None => PerfModelKind::Polynomial,
        }
    }

    /// The model, GPU, backend and parallel layout of the `aic_*` keys (`None` without
    /// `aic_model_path`). Defaults as the reference's: system `h200_sxm`, backend `vllm`,
    /// TP 1, attention DP 1, MoE sizes from `tp × attention_dp = moe_tp × moe_ep`.
    ///
    /// ```
    /// use servesim_engine::EngineArgs;
    /// let args = EngineArgs::from_json(r#"{"aic_model_path": "Qwen/Qwen3-32B", "aic_tp_size": 2}"#)?;
    /// let d = args.deployment()?.expect("aic_model_path is set");
    /// assert_eq!(d.describe(), "qwen3-32b on h200_sxm (vllm, tp 2)");
    /// # Ok::<(), servesim_engine::EngineError>(())
    /// ```
    pub fn deployment(&self) -> Result<Option<Deployment>, EngineError> {
        let Some(model) = &self.aic_model_path else {
            return Ok(None);
        };
        let backend = self
            .aic_backend
            .as_deref()
            .unwrap_or(match self.engine_type {
                EngineType::Vllm => "vllm",
                EngineType::Sglang => "sglang",
            });
        Deployment::new(
            model,
            self.aic_system.as_deref().unwrap_or("h200_sxm"),
            backend,
            self.aic_tp_size.unwrap_or(1),
            self.aic_moe_tp_size,
            self.aic_moe_ep_size,
            self.aic_attention_dp_size.unwrap_or(1),
        )
        .map(Some)
        .map_err(|e| {
            let key = match e {
                servesim_perf::PerfError::UnknownSystem { .. } => "aic_system",
                servesim_perf::PerfError::UnknownBackend { .. } => "aic_backend",
                servesim_perf::PerfError::Parallelism(_) => "aic_tp_size",
                _ => "aic_model_path",
            };
            config_error(key, e.to_string())
        })
    }

    /// Builds the timing model these arguments select.
    pub fn perf_model(&self) -> Result<Arc<dyn PerfModel>, EngineError> {
        match self.perf_model_kind() {
            PerfModelKind::Polynomial => Ok(Arc::new(PolynomialModel)),
            PerfModelKind::Interpolated => {
                let path = self.planner_profile_data.as_ref().ok_or_else(|| {
                    config_error(
                        "planner_profile_data",
                        "is required by `perf_model: interpolated` (a JSON or CSV profile table)",
                    )
                })?;
                Ok(Arc::new(InterpolatedModel::load(path).map_err(|e| {
                    config_error("planner_profile_data", e.to_string())
                })?))
            }
            PerfModelKind::Analytical => {
                let deployment = self.deployment()?.ok_or_else(|| {
                    config_error(
                        "aic_model_path",
                        "is required by `perf_model: analytical` (a model name such as meta-llama/Llama-3.1-8B, or a config.json path)",
                    )
                })?;
                let model = deployment
                    .analytical()
                    .map_err(|e| config_error("aic_system", e.to_string()))?;
                Ok(Arc::new(model))
            }
            PerfModelKind::AicDb => self.aic_db_model(),
        }
    }

    /// The `aic-db` model: AIConfigurator's tables under `aic_systems_path` (or
    /// `$SERVESIM_AIC_SYSTEMS`) for the deployment of the `aic_*` keys.
    #[cfg(feature = "aic-db")]
    fn aic_db_model(&self) -> Result<Arc<dyn PerfModel>, EngineError> {
        let deployment = self.deployment()?.ok_or_else(|| {
            config_error(
                "aic_model_path",
                "is required by `perf_model: aic-db` (a model name such as meta-llama/Llama-3.1-8B, or a config.json path)",
            )
        })?;
        let root = self
            .aic_systems_path
            .clone()
            .or_else(|| std::env::var_os(servesim_perf::SYSTEMS_ENV).map(PathBuf::from))
            .ok_or_else(|| {
                config_error(
                    "aic_systems_path",
                    "is required by `perf_model: aic-db`: the `systems` folder of an aiconfigurator-core install (…/site-packages/aiconfigurator_core/systems); or set SERVESIM_AIC_SYSTEMS",
                )
            })?;
        let model = deployment
            .aic_db(&root, self.aic_backend_version.as_deref())
            .map_err(|e| config_error("aic_systems_path", e.to_string()))?;
        Ok(Arc::new(model))
    }

    /// Without the `aic-db` feature: an error saying how to get it.
    #[cfg(not(feature = "aic-db"))]
    fn aic_db_model(&self) -> Result<Arc<dyn PerfModel>, EngineError> {
        Err(config_error(
            "perf_model",
            "servesim was built without the `aic-db` feature; rebuild with `cargo build --release -p replay-cli --features aic-db` (library users: `--features servesim-perf/aic-db`), or use `perf_model: analytical`",
        ))
    }

    /// The KV capacity in blocks: `num_gpu_blocks` if given, else derived (see
    /// [`EngineArgs::num_gpu_blocks`]).
    fn effective_gpu_blocks(
        &self,
        deployment: Option<&Deployment>,
        block_size: u32,
    ) -> Result<u64, EngineError> {
        if let Some(blocks) = self.num_gpu_blocks {
            return Ok(blocks);
        }
        let per_gpu_model = matches!(
            self.perf_model_kind(),
            PerfModelKind::Analytical | PerfModelKind::AicDb
        );
        match deployment {
            Some(d) if per_gpu_model => {
                let tokens = d
                    .kv_capacity_tokens(DEFAULT_MEMORY_FRACTION)
                    .map_err(|e| config_error("num_gpu_blocks", e.to_string()))?;
                Ok((tokens / u64::from(block_size)).max(1))
            }
            _ => Ok(match self.engine_type {
                EngineType::Vllm => DEFAULT_GPU_BLOCKS,
                EngineType::Sglang => (DEFAULT_KV_TOKENS / u64::from(block_size)).max(1),
            }),
        }
    }

    /// Validates the arguments and applies defaults.
    pub fn resolve(&self) -> Result<EngineConfig, EngineError> {
        if self.engine_type == EngineType::Vllm && self.sglang.is_some() {
            return Err(config_error(
                "sglang",
                "applies only to `engine_type: sglang`",
            ));
        }
        if self.dp_size != 1 {
            return Err(config_error(
                "dp_size",
                format!("only 1 is supported, got {}", self.dp_size),
            ));
        }
        if self.num_gpu_blocks == Some(0) {
            return Err(config_error("num_gpu_blocks", "must be ≥ 1"));
        }
        let block_size = self.effective_block_size()?;
        let sglang = match self.engine_type {
            EngineType::Vllm => None,
            EngineType::Sglang => Some(
                self.sglang
                    .clone()
                    .unwrap_or_default()
                    .resolve(block_size)?,
            ),
        };
        let speculative = match (self.aic_nextn, &self.aic_nextn_accept_rates) {
            (Some(nextn), rates) => Some(SpecConfig::new(nextn, rates.as_ref())?),
            (None, Some(_)) => {
                return Err(config_error(
                    "aic_nextn_accept_rates",
                    "needs `aic_nextn` (the draft tokens per step, 1–5)",
                ));
            }
            (None, None) => None,
        };
        let deployment = self.deployment()?;
        let num_gpu_blocks = self.effective_gpu_blocks(deployment.as_ref(), block_size)?;
        let kv_bytes_per_token = self.kv_bytes_per_token.or_else(|| {
            deployment
                .as_ref()
                .map(|d| d.arch.kv_bytes_per_token(d.kv_dtype))
        });
        let budget = match self.max_num_batched_tokens {
            Some(0) => {
                return Err(config_error(
                    "max_num_batched_tokens",
                    "must be ≥ 1 (or null for unlimited)",
                ));
            }
            Some(n) => n,
            None => u32::MAX,
        };
        let max_num_seqs = match self.max_num_seqs {
            Some(0) => {
                return Err(config_error(
                    "max_num_seqs",
                    "must be ≥ 1 (or null for unlimited)",
                ));
            }
            Some(n) if n > budget => {
                return Err(config_error(
                    "max_num_seqs",
                    format!(
                        "{n} exceeds max_num_batched_tokens {budget}: a pass cannot hold more sequences than tokens (vLLM rejects this too)"
                    ),
                ));
            }
            Some(n) => n,
            None => budget,
        };
        for (key, value) in [
            ("speedup_ratio", self.speedup_ratio),
            ("decode_speedup_ratio", self.decode_speedup_ratio),
        ] {
            if !value.is_finite() {
                return Err(config_error(
                    key,
                    format!("must be a finite number, got {value}"),
                ));
            }
        }
        let startup_time = match self.startup_time {
            None => servesim_trace::SimTime::ZERO,
            Some(s) => servesim_trace::SimTime::from_secs_f64(s).ok_or_else(|| {
                config_error(
                    "startup_time",
                    format!("must be finite seconds ≥ 0, got {s}"),
                )
            })?,
        };
        if let Some(bw) = self.kv_transfer_bandwidth
            && !(bw.is_finite() && bw > 0.0)
        {
            return Err(config_error(
                "kv_transfer_bandwidth",
                format!("must be > 0 GB/s, got {bw}"),
            ));
        }
        if let Some(policy) = &self.router_queue_policy
            && !matches!(policy.as_str(), "fcfs" | "lcfs" | "wspt")
        {
            return Err(config_error(
                "router_queue_policy",
                format!("must be fcfs, lcfs or wspt, got `{policy}`"),
            ));
        }
        let timing = crate::timing::PassTiming::new(
            self.perf_model()?,
            self.speedup_ratio,
            self.decode_speedup_ratio,
            self.mixed_pass_cost,
        )
        .with_tokens_per_sequence(speculative.as_ref().map_or(1, |s| s.nextn + 1));
        Ok(EngineConfig {
            engine_type: self.engine_type,
            sglang,
            speculative,
            seed: 0,
            block_size,
            num_gpu_blocks,
            max_num_seqs,
            max_num_batched_tokens: budget,
            enable_prefix_caching: self.enable_prefix_caching,
            enable_chunked_prefill: self.enable_chunked_prefill,
            preemption_mode: self.preemption_mode,
            worker_type: self.effective_worker_type()?,
            timing,
            startup_time,
            kv_bytes_per_token,
            kv_transfer_bandwidth_gbps: self.kv_transfer_bandwidth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each JSON text fails to parse or resolve with an error starting with its message.
    fn assert_rejected(cases: &[(&str, &str)]) {
        for (json, expected) in cases {
            let err = EngineArgs::from_json(json)
                .and_then(|a| a.resolve())
                .unwrap_err();
            assert!(err.to_string().starts_with(expected), "{json}: {err}");
        }
    }

    #[test]
    fn defaults_match_the_reference() {
        let config = EngineArgs::default().resolve().unwrap();
        assert_eq!(config.block_size, 64);
        assert_eq!(config.num_gpu_blocks, 16_384);
        assert_eq!(config.max_num_seqs, 256);
        assert_eq!(config.max_num_batched_tokens, 8192);
        assert!(config.enable_prefix_caching && config.enable_chunked_prefill);
        assert_eq!(config.preemption_mode, PreemptionMode::Lifo);
        assert_eq!(config.worker_type, WorkerType::Aggregated);
        assert_eq!(config.timing.model_name(), "polynomial");
    }

    #[test]
    fn nulls_mean_unlimited() {
        let args =
            EngineArgs::from_json(r#"{"max_num_seqs": null, "max_num_batched_tokens": null}"#)
                .unwrap();
        let config = args.resolve().unwrap();
        assert_eq!(config.max_num_batched_tokens, u32::MAX);
        assert_eq!(config.max_num_seqs, u32::MAX);
        let args =
            EngineArgs::from_json(r#"{"max_num_seqs": null, "max_num_batched_tokens": 512}"#)
                .unwrap();
        assert_eq!(args.resolve().unwrap().max_num_seqs, 512);
    }

    #[test]
    fn errors_name_the_key() {
        let err = EngineArgs::from_json(r#"{"num_gpu_block": 5}"#).unwrap_err();
        assert!(
            err.to_string().starts_with("unknown field `num_gpu_block`"),
            "{err}"
        );
        let cases = [
            (
                r#"{"dp_size": 2}"#,
                "field `dp_size`: only 1 is supported, got 2",
            ),
            (
                r#"{"num_gpu_blocks": 0}"#,
                "field `num_gpu_blocks`: must be ≥ 1",
            ),
            (
                r#"{"max_num_seqs": 512, "max_num_batched_tokens": 256}"#,
                "field `max_num_seqs`: 512 exceeds",
            ),
            (
                r#"{"is_prefill": true, "is_decode": true}"#,
                "field `is_prefill`: a worker cannot be both",
            ),
            (
                r#"{"startup_time": -1}"#,
                "field `startup_time`: must be finite seconds",
            ),
            (
                r#"{"perf_model": "interpolated"}"#,
                "field `planner_profile_data`: is required",
            ),
            (
                r#"{"sglang": {"page_size": 4}}"#,
                "field `sglang`: applies only to `engine_type: sglang`",
            ),
            (
                r#"{"engine_type": "sglang", "block_size": 16, "sglang": {"page_size": 4}}"#,
                "field `sglang.page_size`: 4 contradicts `block_size: 16`",
            ),
            (
                r#"{"engine_type": "sglang", "sglang": {"page_size": 16, "chunked_prefill_size": 100}}"#,
                "field `sglang.chunked_prefill_size`: must be a positive multiple of the page size 16",
            ),
            (
                r#"{"engine_type": "sglang", "sglang": {"schedule_conservativeness": -1}}"#,
                "field `sglang.schedule_conservativeness`: must be a finite number ≥ 0",
            ),
            (r#"{"aic_nextn": 9}"#, "field `aic_nextn`: must be 1–5"),
            (
                r#"{"aic_nextn_accept_rates": "0.5"}"#,
                "field `aic_nextn_accept_rates`: needs `aic_nextn`",
            ),
            (
                r#"{"aic_nextn": 2, "aic_nextn_accept_rates": [0.5, 2]}"#,
                "field `aic_nextn_accept_rates`: probabilities must be in [0, 1], got 2",
            ),
            (
                r#"{"router_queue_policy": "random"}"#,
                "field `router_queue_policy`: must be fcfs",
            ),
        ];
        assert_rejected(&cases);
    }

    #[test]
    fn aic_keys_select_the_analytical_model_and_derive_kv() {
        let json = r#"{"aic_backend": "vllm", "aic_system": "h200_sxm",
            "aic_model_path": "meta-llama/Llama-3.1-8B", "aic_tp_size": 1}"#;
        let config = EngineArgs::from_json(json).unwrap().resolve().unwrap();
        assert_eq!(config.timing.model_name(), "analytical");
        // (141 GiB × 0.9 − 16.06 GB weights − 3.5 GiB) / 128 KiB per token / 64 per block.
        assert_eq!(config.num_gpu_blocks, 888_360 / 64);
        assert_eq!(config.kv_bytes_per_token, Some(131_072));
        // Given values win.
        let json = r#"{"aic_model_path": "llama-3.1-8b", "num_gpu_blocks": 100,
            "kv_bytes_per_token": 7}"#;
        let config = EngineArgs::from_json(json).unwrap().resolve().unwrap();
        assert_eq!(
            (config.num_gpu_blocks, config.kv_bytes_per_token),
            (100, Some(7))
        );
        // The polynomial default keeps 16384 blocks from JSON and from Default.
        let config = EngineArgs::from_json("{}").unwrap().resolve().unwrap();
        assert_eq!(config.num_gpu_blocks, 16_384);
        let config = EngineArgs::default().resolve().unwrap();
        assert_eq!(config.num_gpu_blocks, 16_384);
        let json = r#"{"aic_model_path": "llama-3.1-8b", "perf_model": "polynomial"}"#;
        let config = EngineArgs::from_json(json).unwrap().resolve().unwrap();
        assert_eq!(config.num_gpu_blocks, 16_384);
    }

    #[test]
    fn aic_db_says_what_it_needs() {
        let json = r#"{"aic_model_path": "llama-3.1-8b", "perf_model": "aic-db",
            "aic_systems_path": "/nonexistent/systems"}"#;
        let err = EngineArgs::from_json(json)
            .and_then(|a| a.resolve())
            .unwrap_err()
            .to_string();
        let expected = if cfg!(feature = "aic-db") {
            "field `aic_systems_path`: /nonexistent/systems: not an AIConfigurator `systems` folder"
        } else {
            "field `perf_model`: servesim was built without the `aic-db` feature; rebuild with"
        };
        assert!(err.starts_with(expected), "{err}");
    }

    #[test]
    fn aic_errors_name_the_key_and_the_choices() {
        let cases = [
            (
                r#"{"aic_model_path": "llama-9b"}"#,
                "field `aic_model_path`: unknown model `llama-9b`; built-in models: llama-3.1-8b,",
            ),
            (
                r#"{"aic_model_path": "llama-3.1-8b", "aic_system": "tpu"}"#,
                "field `aic_system`: unknown system `tpu`; built-in systems: a100_sxm,",
            ),
            (
                r#"{"aic_model_path": "llama-3.1-8b", "aic_tp_size": 3}"#,
                "field `aic_tp_size`: tp 3 does not divide the 32 attention heads",
            ),
            (
                r#"{"aic_model_path": "qwen3-30b-a3b", "aic_moe_ep_size": 3, "aic_tp_size": 3}"#,
                "field `aic_tp_size`: tp 3 does not divide",
            ),
            (
                r#"{"aic_system": "h200_sxm"}"#,
                "field `aic_model_path`: is required",
            ),
            (
                r#"{"aic_model_path": "llama-3.1-405b", "aic_system": "h100_sxm"}"#,
                "field `num_gpu_blocks`: llama-3.1-405b on h100_sxm (vllm, tp 1) does not fit",
            ),
        ];
        assert_rejected(&cases);
    }

    #[test]
    fn sglang_keys_and_defaults() {
        let config = EngineArgs::from_json(r#"{"engine_type": "sglang"}"#)
            .unwrap()
            .resolve()
            .unwrap();
        let sglang = config.sglang.clone().unwrap();
        assert_eq!(sglang, SglangArgs::default().resolve(1).unwrap());
        assert_eq!(
            (
                sglang.page_size,
                sglang.max_prefill_tokens,
                sglang.chunked_prefill_size
            ),
            (1, 16_384, 8192)
        );
        assert_eq!(sglang.clip_max_new_tokens, 4096);
        // Same KV memory as the vLLM default, in 1-token pages.
        assert_eq!((config.block_size, config.num_gpu_blocks), (1, 1 << 20));
        let json = r#"{"engine_type": "sglang", "sglang": {"schedule_policy": "fcfs",
            "page_size": 16, "chunked_prefill_size": 4096}}"#;
        let config = EngineArgs::from_json(json).unwrap().resolve().unwrap();
        assert_eq!((config.block_size, config.num_gpu_blocks), (16, 1 << 16));
        let json = r#"{"engine_type": "sglang", "block_size": 16, "num_gpu_blocks": 100,
            "sglang": {"schedule_policy": "lpm"}}"#;
        let config = EngineArgs::from_json(json).unwrap().resolve().unwrap();
        assert_eq!((config.block_size, config.num_gpu_blocks), (16, 100));
        assert_eq!(
            config.sglang.unwrap().schedule_policy,
            crate::SchedulePolicy::Lpm
        );
        let err = EngineArgs::from_json(r#"{"engine_type": "sglang", "sglang": {"page": 4}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("unknown field `page`, expected one of"),
            "{err}"
        );
    }

    #[test]
    fn speculative_decoding_keys() {
        let config = EngineArgs::from_json(r#"{"aic_nextn": 3}"#)
            .unwrap()
            .resolve()
            .unwrap();
        let spec = config.speculative.clone().unwrap();
        assert_eq!((spec.nextn, spec.accept_rates), (3, vec![0.85, 0.3, 0.0]));
        assert_eq!(config.timing.describe()["tokens_per_sequence"], 4);
        let json = r#"{"aic_nextn": 2, "aic_nextn_accept_rates": "0.6, 0.4,0.2"}"#;
        let spec = EngineArgs::from_json(json)
            .unwrap()
            .resolve()
            .unwrap()
            .speculative
            .unwrap();
        assert_eq!(spec.accept_rates, vec![0.6, 0.4]);
        let err = EngineArgs::from_json(r#"{"aic_nextn": 2, "aic_nextn_accept_rates": 5}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a comma-separated string of probabilities"),
            "{err}"
        );
        assert!(
            EngineArgs::default()
                .resolve()
                .unwrap()
                .speculative
                .is_none()
        );
    }

    #[test]
    fn sglang_budgets_for_planners_and_routers() {
        let vllm = EngineArgs::default().resolve().unwrap();
        assert_eq!((vllm.pass_token_budget(), vllm.max_running()), (8192, 256));
        let json = r#"{"engine_type": "sglang", "sglang": {"chunked_prefill_size": 4096}}"#;
        let sglang = EngineArgs::from_json(json).unwrap().resolve().unwrap();
        assert_eq!(
            (sglang.pass_token_budget(), sglang.max_running()),
            (4096, u32::MAX)
        );
    }

    #[test]
    fn workers_get_distinct_seeds() {
        let config = EngineArgs::default().resolve().unwrap();
        assert_eq!(config.seed, 0);
        let (a, b) = (config.for_worker(0), config.for_worker(1));
        assert_ne!(a.seed, b.seed);
        assert_eq!(a.seed, config.for_worker(0).seed);
    }

    #[test]
    fn legacy_worker_flags() {
        let args = EngineArgs::from_json(r#"{"is_prefill": true}"#).unwrap();
        assert_eq!(args.effective_worker_type().unwrap(), WorkerType::Prefill);
        let args = EngineArgs::from_json(r#"{"worker_type": "decode"}"#).unwrap();
        assert_eq!(args.resolve().unwrap().worker_type, WorkerType::Decode);
    }
}
