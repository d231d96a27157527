//! Backend defaults: what each engine uses for a limit the user leaves to it.
//!
//! Without a per-GPU timing model the reference's mocker defaults apply (256 sequences,
//! 8192 tokens per pass, chunked prefill, additive mixed passes), so reference
//! configurations replay unchanged. Under a per-GPU model (`aic_system` given) each engine
//! takes what the real server does on that GPU when started without flags:
//!
//! | | vLLM (`vllm serve`, V1, 0.9–0.11) | SGLang (0.5.4) | TensorRT-LLM (`trtllm-serve`) |
//! |---|---|---|---|
//! | sequences | 1024 on GPUs of ≥ 70 GiB but A100, else 256 | `max_running_requests` from the KV pool ([`sglang_max_running`]) | `max_batch_size` 2048 |
//! | tokens per pass | 8192, else 2048 | `chunked_prefill_size` by GPU memory ([`sglang_chunk`]) | `max_num_tokens` 8192 |
//! | chunked prefill | on | on | off |
//! | mixed pass | one fused pass | separate prefill and decode passes | one fused pass |
//!
//! Sources: vLLM `engine/arg_utils.py` (`_set_default_args_v1`, 0.9.2–0.11.0); SGLang
//! `server_args.py` (`_handle_gpu_memory_settings`, 0.5.4) and `model_executor/model_runner.py`;
//! TensorRT-LLM `llmapi/llm_args.py` (`BaseLlmArgs`, `TorchLlmArgs`).

use servesim_perf::{GpuSystem, MixedCost};

use super::kinds::EngineType;

const GIB: f64 = (1u64 << 30) as f64;

/// The limits an engine falls back on.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(super) struct BackendDefaults {
    /// Most sequences running at once (`u32::MAX`: none, or decided from the KV pool).
    pub(super) max_num_seqs: u32,
    /// Token budget of a pass.
    pub(super) max_num_batched_tokens: u32,
    /// Whether long prompts are chunked.
    pub(super) chunked_prefill: bool,
    /// SGLang's `chunked_prefill_size`.
    pub(super) sglang_chunk: u32,
    /// How a pass that prefills and decodes is priced.
    pub(super) mixed: MixedCost,
}

/// The defaults of `engine` on `system` (`None`: no per-GPU model, the reference's).
pub(super) fn backend_defaults(engine: EngineType, system: Option<&GpuSystem>) -> BackendDefaults {
    let reference = BackendDefaults {
        max_num_seqs: 256,
        max_num_batched_tokens: 8192,
        chunked_prefill: true,
        sglang_chunk: 8192,
        mixed: MixedCost::Additive,
    };
    let trtllm = BackendDefaults {
        max_num_seqs: 2048,
        max_num_batched_tokens: 8192,
        chunked_prefill: false,
        sglang_chunk: 8192,
        mixed: MixedCost::Fused,
    };
    match (engine, system) {
        (EngineType::Trtllm, _) => trtllm,
        (EngineType::Sglang, None) => BackendDefaults {
            max_num_seqs: u32::MAX,
            ..reference
        },
        (EngineType::Vllm, None) => reference,
        (EngineType::Vllm, Some(system)) => {
            let large = system.usable_mem_bytes() as f64 >= 70.0 * GIB && system.name != "a100_sxm";
            BackendDefaults {
                max_num_seqs: if large { 1024 } else { 256 },
                max_num_batched_tokens: if large { 8192 } else { 2048 },
                chunked_prefill: true,
                sglang_chunk: 8192,
                mixed: MixedCost::Fused,
            }
        }
        (EngineType::Sglang, Some(system)) => BackendDefaults {
            max_num_seqs: u32::MAX,
            max_num_batched_tokens: 8192,
            chunked_prefill: true,
            sglang_chunk: sglang_chunk(system),
            mixed: MixedCost::Additive,
        },
    }
}

/// SGLang 0.5.4's `chunked_prefill_size` by GPU memory: 2048 below 35 GiB, 4096 below
/// 60 GiB, 8192 below 160 GiB (A100, H100, H200), 16384 above (B200, B300, MI300X…).
pub(super) fn sglang_chunk(system: &GpuSystem) -> u32 {
    let gib = system.mem_bytes as f64 / GIB;
    if gib < 35.0 {
        2048
    } else if gib < 60.0 {
        4096
    } else if gib < 160.0 {
        8192
    } else {
        16384
    }
}

/// SGLang 0.5.4's `cuda_graph_max_bs` by GPU and TP: 32 or 160 on 48 GB cards, 256 or 512
/// (from TP 4) on 80–141 GB cards, 512 on Blackwell and larger.
pub(super) fn sglang_cuda_graph_max_bs(system: &GpuSystem, tp: u32) -> u32 {
    let gib = system.mem_bytes as f64 / GIB;
    match (gib < 60.0, gib < 160.0, tp < 4) {
        (true, _, true) => 32,
        (true, _, false) => 160,
        (false, true, true) => 256,
        _ => 512,
    }
}

/// SGLang's `max_running_requests` for a pool of `pool_tokens` KV tokens:
/// `min(pool / 2, clamp(pool / context × 512, 2048, 4096))`, with the context length of the
/// model taken as 131,072 tokens (Llama 3, gpt-oss; what `max_position_embeddings` says for
/// most served models).
pub(super) fn sglang_max_running(pool_tokens: u64) -> u32 {
    const CONTEXT: u64 = 131_072;
    let by_context = (pool_tokens * 512 / CONTEXT).clamp(2048, 4096);
    u32::try_from((pool_tokens / 2).min(by_context))
        .unwrap_or(u32::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system(name: &str) -> &'static GpuSystem {
        GpuSystem::by_name(name).unwrap()
    }

    #[test]
    fn vllm_defaults_depend_on_the_gpu() {
        let h100 = backend_defaults(EngineType::Vllm, Some(system("h100_sxm")));
        assert_eq!(
            (h100.max_num_seqs, h100.max_num_batched_tokens),
            (1024, 8192)
        );
        let a100 = backend_defaults(EngineType::Vllm, Some(system("a100_sxm")));
        assert_eq!(
            (a100.max_num_seqs, a100.max_num_batched_tokens),
            (256, 2048)
        );
        let l40s = backend_defaults(EngineType::Vllm, Some(system("l40s")));
        assert_eq!(
            (l40s.max_num_seqs, l40s.max_num_batched_tokens),
            (256, 2048)
        );
        assert_eq!(h100.mixed, MixedCost::Fused);
        let reference = backend_defaults(EngineType::Vllm, None);
        assert_eq!(
            (
                reference.max_num_seqs,
                reference.max_num_batched_tokens,
                reference.mixed
            ),
            (256, 8192, MixedCost::Additive)
        );
    }

    #[test]
    fn sglang_and_trtllm_defaults() {
        assert_eq!(sglang_chunk(system("h200_sxm")), 8192);
        assert_eq!(sglang_chunk(system("b200_sxm")), 16384);
        assert_eq!(sglang_chunk(system("l40s")), 4096);
        assert_eq!(sglang_cuda_graph_max_bs(system("h100_sxm"), 1), 256);
        assert_eq!(sglang_cuda_graph_max_bs(system("h100_sxm"), 8), 512);
        assert_eq!(sglang_cuda_graph_max_bs(system("l40s"), 1), 32);
        assert_eq!(sglang_max_running(1_000_000), 3906);
        assert_eq!(sglang_max_running(100_000), 2048);
        assert_eq!(sglang_max_running(3000), 1500);
        let t = backend_defaults(EngineType::Trtllm, Some(system("h100_sxm")));
        assert_eq!(
            (t.max_num_seqs, t.max_num_batched_tokens, t.chunked_prefill),
            (2048, 8192, false)
        );
    }
}
