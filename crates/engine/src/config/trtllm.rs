//! The `trtllm` engine-args object: TensorRT-LLM's scheduler options.

use serde::{Deserialize, Serialize};

use super::kinds::CapacityPolicy;

/// The `trtllm` object of the engine arguments, as written (every key optional, unknown keys
/// rejected). The batching limits are the top-level keys: `max_num_seqs` is TensorRT-LLM's
/// `max_batch_size`, `max_num_batched_tokens` its `max_num_tokens`, `block_size` its
/// `tokens_per_block`, `enable_chunked_prefill` its `enable_chunked_context`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrtllmArgs {
    /// `GUARANTEED_NO_EVICT` (default) or `MAX_UTILIZATION`.
    pub capacity_scheduler_policy: CapacityPolicy,
}

/// Validated TensorRT-LLM scheduler settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrtllmConfig {
    /// How requests are admitted against KV capacity.
    pub capacity_scheduler_policy: CapacityPolicy,
}

impl TrtllmArgs {
    /// The settings (every value of every key is valid).
    pub fn resolve(&self) -> TrtllmConfig {
        TrtllmConfig {
            capacity_scheduler_policy: self.capacity_scheduler_policy,
        }
    }
}
