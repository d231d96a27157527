//! [`EngineArgs::resolve`]: validation of every key and the defaults that depend on others.
//!
//! The order matters: batching limits (given, or the backend's default on the GPU), then the
//! deployment with its weight and KV formats, then the KV capacity the backend's memory rule
//! leaves (which depends on the limits: profiling passes are that large), then SGLang's
//! running limit (which depends on the capacity).

use servesim_perf::{Deployment, MixedCost};

use super::args::EngineArgs;
use super::defaults::{BackendDefaults, backend_defaults, sglang_max_running};
use super::engine_config::EngineConfig;
use super::kinds::{EngineType, KvCacheDtype, Limit};
use super::memory::{MemoryInputs, MemoryPlan, plan};
use crate::error::EngineError;
use crate::spec::SpecConfig;

/// KV capacity in blocks when it is neither given nor derived (the reference's default).
const DEFAULT_GPU_BLOCKS: u64 = 16_384;

/// KV capacity in tokens of that default (16384 blocks of 64 tokens); engines with other
/// block sizes get the same memory.
const DEFAULT_KV_TOKENS: u64 = DEFAULT_GPU_BLOCKS * 64;

/// The largest KV footprint of one token a configuration may give: 1 GiB, thousands of
/// times any real model's, so that byte counts of long prompts stay exact.
const MAX_KV_BYTES_PER_TOKEN: u64 = 1 << 30;

impl EngineArgs {
    /// Validates the arguments and applies defaults.
    pub fn resolve(&self) -> Result<EngineConfig, EngineError> {
        self.check_engine_objects()?;
        if self.dp_size != 1 {
            return Err(EngineError::config(
                "dp_size",
                format!("only 1 is supported, got {}", self.dp_size),
            ));
        }
        if self.num_gpu_blocks == Some(0) {
            return Err(EngineError::config("num_gpu_blocks", "must be ≥ 1"));
        }
        let block_size = self.effective_block_size()?;
        let speculative = match (self.aic_nextn, &self.aic_nextn_accept_rates) {
            (Some(nextn), rates) => Some(SpecConfig::new(nextn, rates.as_ref())?),
            (None, Some(_)) => {
                return Err(EngineError::config(
                    "aic_nextn_accept_rates",
                    "needs `aic_nextn` (the draft tokens per step, 1–5)",
                ));
            }
            (None, None) => None,
        };
        let deployment = self.deployment()?;
        let per_gpu = self.per_gpu_model() && deployment.is_some();
        let defaults = backend_defaults(
            self.engine_type,
            deployment.as_ref().filter(|_| per_gpu).map(|d| &d.system),
        );
        let (max_num_seqs, budget) = self.limits(&defaults)?;
        let sglang_chunk = match &self.sglang {
            Some(s) => s.chunked_prefill_size.unwrap_or(defaults.sglang_chunk),
            None => defaults.sglang_chunk,
        };
        let kv_bytes_per_token = self.checked_kv_bytes_per_token(deployment.as_ref())?;
        let memory = match &deployment {
            Some(d) if per_gpu && self.num_gpu_blocks.is_none() => {
                let fraction = self.checked_memory_fraction()?;
                let per_gpu_bytes = match kv_bytes_per_token {
                    // A given total is shared across the GPUs as the model's KV is.
                    Some(total) => {
                        d.kv_bytes_per_token_per_gpu() * total as f64
                            / d.arch.kv_bytes_per_token(d.kv_dtype) as f64
                    }
                    None => d.kv_bytes_per_token_per_gpu(),
                };
                let inputs = MemoryInputs {
                    engine: self.engine_type,
                    fraction,
                    pass_tokens: budget,
                    max_seqs: max_num_seqs,
                    sglang_chunk,
                    kv_bytes_per_token: per_gpu_bytes,
                };
                Some(plan(d, &inputs)?)
            }
            _ => {
                self.checked_memory_fraction()?;
                None
            }
        };
        let num_gpu_blocks = self.capacity_blocks(memory.as_ref(), block_size);
        let sglang = match self.engine_type {
            EngineType::Sglang => {
                // SGLang's running limit is not bounded by a token budget it does not have.
                let max_running = match self.max_num_seqs {
                    Limit::At(n) => Some(n),
                    Limit::Unlimited => None,
                    Limit::Default => memory.as_ref().map(|m| sglang_max_running(m.kv_tokens)),
                };
                Some(self.sglang.clone().unwrap_or_default().resolve(
                    block_size,
                    defaults.sglang_chunk,
                    max_running,
                )?)
            }
            _ => None,
        };
        // SGLang's running limit is the engine's sequence limit.
        let max_num_seqs = sglang
            .as_ref()
            .map_or(max_num_seqs, |s| s.max_running_requests.unwrap_or(u32::MAX));
        let trtllm = match self.engine_type {
            EngineType::Trtllm => Some(self.trtllm.clone().unwrap_or_default().resolve()),
            _ => None,
        };
        for (key, value) in [
            ("speedup_ratio", self.speedup_ratio),
            ("decode_speedup_ratio", self.decode_speedup_ratio),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(EngineError::config(
                    key,
                    format!("must be a finite number > 0, got {value}"),
                ));
            }
        }
        let startup_time = match self.startup_time {
            None => servesim_trace::SimTime::ZERO,
            Some(s) => servesim_trace::SimTime::from_secs_f64(s).ok_or_else(|| {
                EngineError::config(
                    "startup_time",
                    format!("must be finite seconds ≥ 0, got {s}"),
                )
            })?,
        };
        if let Some(bw) = self.kv_transfer_bandwidth
            && !(bw.is_finite() && bw > 0.0)
        {
            return Err(EngineError::config(
                "kv_transfer_bandwidth",
                format!("must be > 0 GB/s, got {bw}"),
            ));
        }
        if let Some(policy) = &self.router_queue_policy
            && !matches!(policy.as_str(), "fcfs" | "lcfs" | "wspt")
        {
            return Err(EngineError::config(
                "router_queue_policy",
                format!("must be fcfs, lcfs or wspt, got `{policy}`"),
            ));
        }
        let mixed = self.mixed_pass_cost.unwrap_or(if per_gpu {
            defaults.mixed
        } else {
            MixedCost::Additive
        });
        let timing = crate::timing::PassTiming::new(
            self.perf_model()?,
            self.speedup_ratio,
            self.decode_speedup_ratio,
            mixed,
        )
        .with_tokens_per_sequence(speculative.as_ref().map_or(1, |s| s.nextn + 1));
        Ok(EngineConfig {
            engine_type: self.engine_type,
            sglang,
            trtllm,
            speculative,
            seed: 0,
            block_size,
            num_gpu_blocks,
            max_num_seqs,
            max_num_batched_tokens: budget,
            enable_prefix_caching: self.enable_prefix_caching,
            enable_chunked_prefill: self
                .enable_chunked_prefill
                .unwrap_or(defaults.chunked_prefill),
            preemption_mode: self.preemption_mode,
            worker_type: self.effective_worker_type()?,
            timing,
            startup_time,
            kv_bytes_per_token: kv_bytes_per_token.or_else(|| {
                deployment
                    .as_ref()
                    .map(|d| d.arch.kv_bytes_per_token(d.kv_dtype))
            }),
            kv_transfer_bandwidth_gbps: self.kv_transfer_bandwidth,
            memory,
        })
    }

    /// The `sglang` and `trtllm` objects belong to their engine only.
    fn check_engine_objects(&self) -> Result<(), EngineError> {
        if self.engine_type != EngineType::Sglang && self.sglang.is_some() {
            return Err(EngineError::config(
                "sglang",
                "applies only to `engine_type: sglang`",
            ));
        }
        if self.engine_type != EngineType::Trtllm && self.trtllm.is_some() {
            return Err(EngineError::config(
                "trtllm",
                "applies only to `engine_type: trtllm`",
            ));
        }
        Ok(())
    }

    /// `(max_num_seqs, max_num_batched_tokens)` with the backend's defaults applied
    /// (`u32::MAX` when unlimited).
    fn limits(&self, defaults: &BackendDefaults) -> Result<(u32, u32), EngineError> {
        if self.max_num_batched_tokens == Limit::At(0) {
            return Err(EngineError::config(
                "max_num_batched_tokens",
                "must be ≥ 1 (or null for unlimited)",
            ));
        }
        let budget = self
            .max_num_batched_tokens
            .or(defaults.max_num_batched_tokens);
        let max_num_seqs = match self.max_num_seqs {
            Limit::At(0) => {
                return Err(EngineError::config(
                    "max_num_seqs",
                    "must be ≥ 1 (or null for unlimited)",
                ));
            }
            Limit::At(n) if n > budget => {
                return Err(EngineError::config(
                    "max_num_seqs",
                    format!(
                        "{n} exceeds max_num_batched_tokens {budget}: a pass cannot hold more sequences than tokens (vLLM rejects this too)"
                    ),
                ));
            }
            Limit::At(n) => n,
            Limit::Unlimited => budget,
            Limit::Default => defaults.max_num_seqs.min(budget),
        };
        Ok((max_num_seqs, budget))
    }

    /// `gpu_memory_utilization`, checked to lie in `(0, 1]`.
    fn checked_memory_fraction(&self) -> Result<Option<f64>, EngineError> {
        match self.gpu_memory_utilization {
            Some(f) if !(f.is_finite() && f > 0.0 && f <= 1.0) => Err(EngineError::config(
                "gpu_memory_utilization",
                format!("must be in (0, 1], got {f}"),
            )),
            other => Ok(other),
        }
    }

    /// `kv_bytes_per_token` if given, checked against an explicit `kv_cache_dtype` of the
    /// deployment's model: the two must agree, since both set the KV bytes per token.
    fn checked_kv_bytes_per_token(
        &self,
        deployment: Option<&Deployment>,
    ) -> Result<Option<u64>, EngineError> {
        let Some(given) = self.kv_bytes_per_token else {
            return Ok(None);
        };
        if !(1..=MAX_KV_BYTES_PER_TOKEN).contains(&given) {
            return Err(EngineError::config(
                "kv_bytes_per_token",
                format!("must be in [1, {MAX_KV_BYTES_PER_TOKEN}] (1 GiB), got {given}"),
            ));
        }
        if let Some(d) = deployment
            && self.kv_cache_dtype != KvCacheDtype::Auto
        {
            let derived = d.arch.kv_bytes_per_token(d.kv_dtype);
            if derived != given {
                return Err(EngineError::config(
                    "kv_bytes_per_token",
                    format!(
                        "{given} contradicts `kv_cache_dtype` ({} stores {derived} bytes per token in {}); give one of them",
                        d.arch.name, d.kv_dtype
                    ),
                ));
            }
        }
        Ok(Some(given))
    }

    /// The KV capacity in blocks: `num_gpu_blocks` if given, the memory rule's tokens in
    /// blocks under a per-GPU model, else the reference's default memory.
    fn capacity_blocks(&self, memory: Option<&MemoryPlan>, block_size: u32) -> u64 {
        if let Some(blocks) = self.num_gpu_blocks {
            return blocks;
        }
        match (memory, self.engine_type) {
            (Some(m), _) => (m.kv_tokens / u64::from(block_size)).max(1),
            (None, EngineType::Vllm) => DEFAULT_GPU_BLOCKS,
            (None, _) => (DEFAULT_KV_TOKENS / u64::from(block_size)).max(1),
        }
    }
}
