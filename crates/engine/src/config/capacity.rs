//! KV capacity: how many blocks an engine gets when `num_gpu_blocks` is not given.

use servesim_perf::{DEFAULT_MEMORY_FRACTION, Deployment};

use super::args::EngineArgs;
use super::kinds::{EngineType, PerfModelKind};
use crate::error::EngineError;

/// KV capacity in blocks when it is neither given nor derived (the reference's default).
const DEFAULT_GPU_BLOCKS: u64 = 16_384;

/// KV capacity in tokens of the vLLM default (16384 blocks of 64 tokens); an SGLang engine
/// without `num_gpu_blocks` gets the same memory, whatever its page size.
const DEFAULT_KV_TOKENS: u64 = DEFAULT_GPU_BLOCKS * 64;

impl EngineArgs {
    /// The KV capacity in blocks: `num_gpu_blocks` if given, else derived (see
    /// [`EngineArgs::num_gpu_blocks`]).
    pub(super) fn effective_gpu_blocks(
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
                    .map_err(|e| EngineError::config("num_gpu_blocks", e.to_string()))?;
                Ok((tokens / u64::from(block_size)).max(1))
            }
            _ => Ok(match self.engine_type {
                EngineType::Vllm => DEFAULT_GPU_BLOCKS,
                EngineType::Sglang => (DEFAULT_KV_TOKENS / u64::from(block_size)).max(1),
            }),
        }
    }
}
