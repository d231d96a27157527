//! [`EngineConfig`]: a validated engine configuration, what engines are built from.

use super::kinds::{EngineType, PreemptionMode, WorkerType};
use super::memory::MemoryPlan;
use super::sglang::SglangConfig;
use super::trtllm::TrtllmConfig;
use crate::spec::SpecConfig;

/// A validated engine configuration with every default applied.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Which scheduler runs the worker.
    pub engine_type: EngineType,
    /// SGLang scheduler settings (`Some` exactly when `engine_type` is SGLang).
    pub sglang: Option<SglangConfig>,
    /// TensorRT-LLM scheduler settings (`Some` exactly when `engine_type` is TensorRT-LLM).
    pub trtllm: Option<TrtllmConfig>,
    /// Speculative decoding, when on.
    pub speculative: Option<SpecConfig>,
    /// Seed of the engine's random draws (speculative decoding); a harness derives one per
    /// worker with [`EngineConfig::for_worker`].
    pub seed: u64,
    /// Tokens per KV block.
    pub block_size: u32,
    /// KV capacity in blocks.
    pub num_gpu_blocks: u64,
    /// Most sequences running at once (vLLM and TensorRT-LLM: never more than the token
    /// budget; SGLang: `max_running_requests`, `u32::MAX` when unlimited).
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
    /// How the backend's memory rule sized the KV cache (derived capacities only).
    pub memory: Option<MemoryPlan>,
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

    /// Most requests running at once: `max_num_seqs` for vLLM and TensorRT-LLM
    /// (`max_batch_size`), `max_running_requests` for SGLang (`u32::MAX`: no limit).
    pub fn max_running(&self) -> u32 {
        self.max_num_seqs
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
        if let Some(map) = value.as_object_mut() {
            if let Some(trtllm) = &self.trtllm {
                map.insert("trtllm".into(), serde_json::json!(trtllm));
            }
            if let Some(memory) = &self.memory {
                map.insert("memory".into(), serde_json::json!(memory));
            }
        }
        value
    }
}
