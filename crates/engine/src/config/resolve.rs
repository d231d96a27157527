//! [`EngineArgs::resolve`]: validation of every key and the defaults that depend on others.

use super::args::EngineArgs;
use super::engine_config::EngineConfig;
use super::kinds::EngineType;
use crate::error::EngineError;
use crate::spec::SpecConfig;

impl EngineArgs {
    /// Validates the arguments and applies defaults.
    pub fn resolve(&self) -> Result<EngineConfig, EngineError> {
        if self.engine_type == EngineType::Vllm && self.sglang.is_some() {
            return Err(EngineError::config(
                "sglang",
                "applies only to `engine_type: sglang`",
            ));
        }
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
                return Err(EngineError::config(
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
                return Err(EngineError::config(
                    "max_num_batched_tokens",
                    "must be ≥ 1 (or null for unlimited)",
                ));
            }
            Some(n) => n,
            None => u32::MAX,
        };
        let max_num_seqs = match self.max_num_seqs {
            Some(0) => {
                return Err(EngineError::config(
                    "max_num_seqs",
                    "must be ≥ 1 (or null for unlimited)",
                ));
            }
            Some(n) if n > budget => {
                return Err(EngineError::config(
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
                return Err(EngineError::config(
                    key,
                    format!("must be a finite number, got {value}"),
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
