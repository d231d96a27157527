//! [`EngineArgs`]: the engine-args JSON as users write it, with the reference's keys and
//! defaults, and what the raw keys mean before resolution.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use servesim_perf::MixedCost;

use super::kinds::{
    EngineType, KvCacheDtype, Limit, PerfModelKind, PreemptionMode, WeightDtype, WorkerType,
};
use super::sglang::SglangArgs;
use super::trtllm::TrtllmArgs;
use crate::error::EngineError;
use crate::spec::AcceptRates;

/// Engine arguments as given in JSON (`--extra-engine-args`), with the reference's keys.
///
/// Keys that only matter to a live deployment (`bootstrap_port`, ZMQ ports, …) are accepted
/// and ignored so that reference configurations load unchanged; unknown keys are an error.
///
/// Absent keys take [`EngineArgs::default`]'s values, the reference's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineArgs {
    /// `vllm` (default), `sglang` or `trtllm`.
    pub engine_type: EngineType,
    /// KV capacity in blocks. `None` (absent or `null`, the default) derives it: under a
    /// per-GPU timing model (`analytical`, `aic-db`) by the backend's memory rule from the
    /// GPU memory of `aic_system`, `gpu_memory_utilization`, the weights of `aic_model_path`
    /// per GPU, activation and runtime reserves and the KV bytes per token of
    /// `kv_cache_dtype` (docs/engine.md, "Memory"); otherwise the reference's 16384 blocks of
    /// 64 tokens, the same 1,048,576 tokens in pages of any size for the other engines.
    pub num_gpu_blocks: Option<u64>,
    /// Tokens per KV block (≥ 1); absent: the engine's default (64 for vLLM, as the
    /// reference's mocker; 1 for SGLang; 32 for TensorRT-LLM).
    pub block_size: Option<u32>,
    /// Most sequences running at once (vLLM `max_num_seqs`, SGLang `max_running_requests`,
    /// TensorRT-LLM `max_batch_size`); `null` = limited only by the token budget. Absent: the
    /// backend's default (docs/engine.md, "Backend defaults"); 256 without a per-GPU model.
    pub max_num_seqs: Limit,
    /// Token budget of one pass (vLLM `max_num_batched_tokens`, TensorRT-LLM
    /// `max_num_tokens`); `null` = unlimited. Absent: the backend's default; 8192 without a
    /// per-GPU model.
    pub max_num_batched_tokens: Limit,
    /// Reuse cached KV blocks across requests with equal prefixes (default true).
    pub enable_prefix_caching: bool,
    /// Split long prompts across passes (absent: true, TensorRT-LLM false).
    pub enable_chunked_prefill: Option<bool>,
    /// KV-cache format: `auto` (the backend's rule), `bf16`, `fp16`, `fp8`, `fp8_e4m3`,
    /// `fp8_e5m2`. Sets the KV bytes per token and with them the derived capacity.
    pub kv_cache_dtype: KvCacheDtype,
    /// Share of GPU memory the engine may use: vLLM `gpu_memory_utilization` (default 0.9),
    /// SGLang `mem_fraction_static` (default: SGLang's rule from GPU memory, chunk size and
    /// TP), TensorRT-LLM `free_gpu_memory_fraction` of the memory left after weights and
    /// activations (default 0.9). In `(0, 1]`.
    pub gpu_memory_utilization: Option<f64>,
    /// Projection-weight format when the checkpoint's name does not say it (`bf16`, `fp16`,
    /// `fp8`, `fp4`): an engine quantising on load.
    pub weight_dtype: Option<WeightDtype>,
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
    /// How a pass that prefills and decodes is priced: `fused` (one forward pass, as the
    /// engines run it; the default under a per-GPU model) or `additive` (prefill time plus
    /// decode time: the reference's rule, the default otherwise).
    pub mixed_pass_cost: Option<MixedCost>,
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
    /// TensorRT-LLM scheduler options (only with `engine_type: trtllm`).
    pub trtllm: Option<TrtllmArgs>,
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
            block_size: None,
            max_num_seqs: Limit::Default,
            max_num_batched_tokens: Limit::Default,
            enable_prefix_caching: true,
            enable_chunked_prefill: None,
            kv_cache_dtype: KvCacheDtype::Auto,
            gpu_memory_utilization: None,
            weight_dtype: None,
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
            mixed_pass_cost: None,
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
            trtllm: None,
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
        servesim_trace::json_named(text).map_err(EngineError::Json)
    }

    /// The worker type after applying the legacy `is_prefill`/`is_decode` flags.
    pub fn effective_worker_type(&self) -> Result<WorkerType, EngineError> {
        match (self.is_prefill == Some(true), self.is_decode == Some(true)) {
            (true, true) => Err(EngineError::config(
                "is_prefill",
                "a worker cannot be both prefill and decode",
            )),
            (true, false) if self.worker_type == WorkerType::Decode => Err(EngineError::config(
                "is_prefill",
                "contradicts `worker_type: decode`",
            )),
            (false, true) if self.worker_type == WorkerType::Prefill => Err(EngineError::config(
                "is_decode",
                "contradicts `worker_type: prefill`",
            )),
            (true, false) => Ok(WorkerType::Prefill),
            (false, true) => Ok(WorkerType::Decode),
            (false, false) => Ok(self.worker_type),
        }
    }

    /// The keys given that servesim accepts for compatibility but that change nothing in an
    /// offline replay (live-deployment ports, `reasoning`, `has_perf_model`), so that a
    /// caller can say so instead of ignoring them silently.
    ///
    /// ```
    /// use servesim_engine::EngineArgs;
    /// let args = EngineArgs::from_json(r#"{"bootstrap_port": 9000, "block_size": 16}"#)?;
    /// assert_eq!(args.ignored_keys(), vec!["bootstrap_port"]);
    /// # Ok::<(), servesim_engine::EngineError>(())
    /// ```
    pub fn ignored_keys(&self) -> Vec<&'static str> {
        [
            ("reasoning", self.reasoning.is_some()),
            ("enable_local_indexer", self.enable_local_indexer.is_some()),
            ("bootstrap_port", self.bootstrap_port.is_some()),
            ("zmq_kv_events_port", self.zmq_kv_events_port.is_some()),
            ("zmq_replay_port", self.zmq_replay_port.is_some()),
            ("has_perf_model", self.has_perf_model.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, given)| given.then_some(key))
        .collect()
    }

    /// The effective block size: `block_size`, or for SGLang `sglang.page_size` (which must
    /// agree with it), else the engine's default (64 for vLLM, 1 for SGLang, 32 for
    /// TensorRT-LLM).
    pub fn effective_block_size(&self) -> Result<u32, EngineError> {
        if self.block_size == Some(0) {
            return Err(EngineError::config(
                "block_size",
                "must be ≥ 1 tokens (omit it for the engine's default)",
            ));
        }
        match (self.engine_type, &self.sglang) {
            (EngineType::Vllm, _) => Ok(self.block_size.unwrap_or(64)),
            (EngineType::Trtllm, _) => Ok(self.block_size.unwrap_or(32)),
            (EngineType::Sglang, Some(sglang)) => sglang.page_size(self.block_size),
            (EngineType::Sglang, None) => SglangArgs::default().page_size(self.block_size),
        }
    }

    /// Whether the timing model is a per-GPU one (`analytical`, `aic-db`): then the
    /// backend's memory rule and defaults apply, as on the real engine.
    pub fn per_gpu_model(&self) -> bool {
        matches!(
            self.perf_model_kind(),
            PerfModelKind::Analytical | PerfModelKind::AicDb
        )
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
}
