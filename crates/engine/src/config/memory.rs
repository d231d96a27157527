//! KV memory: how many tokens of KV cache each backend gets on a GPU, by its own rule.
//!
//! All figures are per GPU. `usable` is what a process can allocate (the driver's total
//! less its reserve), `weights` the checkpoint's share on this GPU, `activations` the peak of
//! a profiling pass ([`Deployment::activation_bytes`]).
//!
//! * **vLLM** (V1, 0.9–0.20, `gpu_worker.py`): `usable × gpu_memory_utilization − weights −
//!   activations − runtime`, the activations those of a `max_num_batched_tokens` pass
//!   sampling `min(tokens, max_num_seqs)` rows, the runtime collective buffers and other
//!   non-torch allocations. CUDA graphs are captured after the KV cache exists and come out
//!   of the headroom.
//! * **SGLang** (`model_runner.profile_max_num_token`): `mem_fraction_static × (usable −
//!   CUDA context) − weights`; the fraction's default is SGLang 0.5.4's rule
//!   `(M − max(10 GiB, 512 MiB + 1.5 · chunk MiB + 2 · cuda_graph_max_bs MiB + TP/8 GiB)) / M`
//!   for an `M` MiB GPU.
//! * **TensorRT-LLM** (`_util.py`, `KvCacheCreator`): `free_gpu_memory_fraction × (usable −
//!   weights − activations of a max_num_tokens context pass − CUDA context, graphs and
//!   collective buffers)`.

use serde::Serialize;
use servesim_perf::{DType, Deployment};

use super::defaults::sglang_cuda_graph_max_bs;
use super::kinds::EngineType;
use crate::error::EngineError;

const GIB: f64 = (1u64 << 30) as f64;
const MIB: f64 = (1u64 << 20) as f64;

/// vLLM: non-torch memory that grows during profiling besides collective buffers (cuBLAS
/// workspaces, attention-backend buffers).
const VLLM_OTHER_BYTES: f64 = 0.25 * GIB;
/// The CUDA context and allocator slack a process holds before loading weights.
const CUDA_CONTEXT_BYTES: f64 = 0.6 * GIB;
/// TensorRT-LLM: CUDA graphs captured during its estimation pass (decode batch sizes up to
/// 128 by default; NVIDIA quotes up to 200 MB a graph, most share one pool).
const TRTLLM_GRAPH_BYTES: f64 = 0.5 * GIB;
/// The memory fraction vLLM and TensorRT-LLM use by default.
const DEFAULT_FRACTION: f64 = 0.9;

/// Where a GPU's memory goes, and the KV capacity that is left.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemoryPlan {
    /// The backend rule applied (`vllm`, `sglang`, `trtllm`).
    pub rule: &'static str,
    /// The memory fraction used (`gpu_memory_utilization` or the backend's default).
    pub fraction: f64,
    /// Memory a process can allocate, GiB.
    pub usable_gib: f64,
    /// Weights on this GPU, GiB.
    pub weights_gib: f64,
    /// Peak activations of the profiling pass, GiB.
    pub activations_gib: f64,
    /// CUDA context, graphs, collective buffers and other runtime memory, GiB.
    pub runtime_gib: f64,
    /// Memory given to the KV cache, GiB.
    pub kv_gib: f64,
    /// Format of the KV cache.
    pub kv_dtype: DType,
    /// KV bytes per token on this GPU.
    pub kv_bytes_per_token: f64,
    /// KV capacity in tokens.
    pub kv_tokens: u64,
}

/// What the memory rule needs besides the deployment.
#[derive(Copy, Clone, Debug)]
pub(super) struct MemoryInputs {
    /// The engine whose rule applies.
    pub(super) engine: EngineType,
    /// `gpu_memory_utilization`, if given.
    pub(super) fraction: Option<f64>,
    /// Tokens of a profiling pass (`max_num_batched_tokens` / `max_num_tokens`).
    pub(super) pass_tokens: u32,
    /// Most sequences a pass samples.
    pub(super) max_seqs: u32,
    /// SGLang's chunk size.
    pub(super) sglang_chunk: u32,
    /// KV bytes per token on each GPU.
    pub(super) kv_bytes_per_token: f64,
}

/// Profiling passes are capped at this many tokens when the budget is unlimited.
const MAX_PROFILE_TOKENS: u32 = 32_768;

/// The memory plan of `deployment` under `inputs`, or why the model does not fit.
pub(super) fn plan(
    deployment: &Deployment,
    inputs: &MemoryInputs,
) -> Result<MemoryPlan, EngineError> {
    let usable = deployment.system.usable_mem_bytes() as f64;
    let weights = deployment.weight_bytes_per_gpu();
    let comm = deployment.comm_buffer_bytes();
    let tokens = inputs.pass_tokens.min(MAX_PROFILE_TOKENS);
    let (rule, fraction, activations, runtime, kv) = match inputs.engine {
        EngineType::Vllm => {
            let fraction = inputs.fraction.unwrap_or(DEFAULT_FRACTION);
            let activations = deployment.activation_bytes(tokens, inputs.max_seqs.min(tokens));
            let runtime = comm + VLLM_OTHER_BYTES;
            let kv = usable * fraction - weights - activations - runtime;
            ("vllm", fraction, activations, runtime, kv)
        }
        EngineType::Sglang => {
            let fraction = inputs
                .fraction
                .unwrap_or_else(|| sglang_fraction(deployment, inputs.sglang_chunk));
            let runtime = CUDA_CONTEXT_BYTES + comm;
            let kv = fraction * (usable - runtime) - weights;
            ("sglang", fraction, 0.0, runtime, kv)
        }
        EngineType::Trtllm => {
            let fraction = inputs.fraction.unwrap_or(DEFAULT_FRACTION);
            let activations = deployment.activation_bytes(tokens, 1);
            let runtime = CUDA_CONTEXT_BYTES + TRTLLM_GRAPH_BYTES + comm;
            let kv = fraction * (usable - weights - activations - runtime);
            ("trtllm", fraction, activations, runtime, kv)
        }
    };
    let per_token = inputs.kv_bytes_per_token;
    if !(kv > per_token && per_token > 0.0) {
        return Err(EngineError::config(
            "num_gpu_blocks",
            format!(
                "{} does not fit: weights need {:.1} GiB per GPU, {:.1} GiB usable ({rule} rule, fraction {fraction:.3}, {:.1} GiB activations, {:.1} GiB runtime); raise tp or use a larger GPU",
                deployment.describe(),
                weights / GIB,
                usable / GIB,
                activations / GIB,
                runtime / GIB,
            ),
        ));
    }
    Ok(MemoryPlan {
        rule,
        fraction,
        usable_gib: usable / GIB,
        weights_gib: weights / GIB,
        activations_gib: activations / GIB,
        runtime_gib: runtime / GIB,
        kv_gib: kv / GIB,
        kv_dtype: deployment.kv_dtype,
        kv_bytes_per_token: per_token,
        kv_tokens: (kv / per_token).floor() as u64,
    })
}

/// SGLang 0.5.4's default `mem_fraction_static` on `deployment`'s GPU with chunks of
/// `chunk` tokens, rounded to three decimals as SGLang rounds it.
fn sglang_fraction(deployment: &Deployment, chunk: u32) -> f64 {
    let gpu_mib = deployment.system.mem_bytes as f64 / MIB;
    let tp = deployment.parallelism.gpus();
    let graphs = sglang_cuda_graph_max_bs(&deployment.system, tp);
    let mut reserved = 512.0
        + 1.5 * f64::from(chunk.max(2048))
        + 2.0 * f64::from(graphs)
        + f64::from(tp) / 8.0 * 1024.0;
    if gpu_mib > 60.0 * 1024.0 {
        reserved = reserved.max(10_240.0);
    }
    ((gpu_mib - reserved) / gpu_mib * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(model: &str, system: &str, tp: u32) -> Deployment {
        Deployment::new(model, system, "vllm", tp, None, None, 1).unwrap()
    }

    fn inputs(engine: EngineType, d: &Deployment) -> MemoryInputs {
        MemoryInputs {
            engine,
            fraction: None,
            pass_tokens: 8192,
            max_seqs: 1024,
            sglang_chunk: 8192,
            kv_bytes_per_token: d.kv_bytes_per_token_per_gpu(),
        }
    }

    #[test]
    fn vllm_subtracts_weights_activations_and_runtime_from_its_share() {
        let d = deployment("llama-3.1-8b", "h100_sxm", 1);
        let p = plan(&d, &inputs(EngineType::Vllm, &d)).unwrap();
        let usable = (81_559.0 - 512.0) * MIB;
        let weights = 2.0 * 8_030_261_248.0;
        // The sampler's peak over 1024 rows, beside the hidden states, tops the forward pass's.
        let activations = 12.0 * 128_256.0 * 1024.0 + 2.0 * 4096.0 * 8192.0;
        let kv = usable * 0.9 - weights - activations - 0.25 * GIB;
        assert_eq!(p.kv_tokens, (kv / 131_072.0).floor() as u64);
        // A vLLM 0.9 log of this model on H100 with an EAGLE head: 51.63 GiB, 410,128 tokens
        // of 33 layers; without the head's weights, layer and drafter pass, 423k–450k tokens.
        assert!((423_000..450_000).contains(&p.kv_tokens), "{}", p.kv_tokens);
    }

    #[test]
    fn vllm_holds_a_32k_prompt_of_qwen3_32b_on_one_h100() {
        // GPUStack served 32,000 + 100-token requests with `vllm serve Qwen/Qwen3-32B` (vLLM
        // 0.11, defaults) on one H100 (fixtures/silicon/gpustack.csv): the cache held them.
        let d = deployment("qwen3-32b", "h100_sxm", 1);
        let p = plan(&d, &inputs(EngineType::Vllm, &d)).unwrap();
        assert!(p.kv_tokens >= 32_100, "{}", p.kv_tokens);
    }

    #[test]
    fn sglang_fraction_follows_gpu_chunk_and_tp() {
        let d = deployment("llama-3.1-8b", "h100_sxm", 1);
        // (81559 − max(10240, 512 + 12288 + 512 + 128)) / 81559 = 0.835.
        assert_eq!(sglang_fraction(&d, 8192), 0.835);
        let d8 = deployment("llama-3.1-70b", "h200_sxm", 8);
        assert_eq!(sglang_fraction(&d8, 8192), 0.897);
        let p = plan(&d, &inputs(EngineType::Sglang, &d)).unwrap();
        let kv = 0.835 * ((81_559.0 - 512.0) * MIB - 0.6 * GIB) - 2.0 * 8_030_261_248.0;
        assert_eq!(p.kv_tokens, (kv / 131_072.0).floor() as u64);
    }

    #[test]
    fn trtllm_takes_its_fraction_of_what_is_left() {
        let d = deployment("llama-3.1-8b", "h100_sxm", 1).with_kv_dtype(DType::Fp8);
        let p = plan(&d, &inputs(EngineType::Trtllm, &d)).unwrap();
        let usable = (81_559.0 - 512.0) * MIB;
        // One sampled row: the forward pass's peak.
        let activations = 2.0 * 8192.0 * (2.0 * 4096.0 + 3.0 * 14336.0);
        let free = usable - 2.0 * 8_030_261_248.0 - activations - 1.1 * GIB;
        assert_eq!(p.kv_tokens, (0.9 * free / 65_536.0).floor() as u64);
        assert_eq!(p.kv_dtype, DType::Fp8);
    }

    #[test]
    fn a_model_too_large_names_the_shortfall() {
        let d = deployment("llama-3.1-405b", "h100_sxm", 1);
        let err = plan(&d, &inputs(EngineType::Vllm, &d))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("field `num_gpu_blocks`: llama-3.1-405b on h100_sxm (vllm, tp 1) does not fit: weights need 756.0 GiB per GPU"),
            "{err}"
        );
    }
}
