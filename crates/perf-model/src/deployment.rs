//! A model on a GPU system with a backend and a parallel layout: what the per-SKU timing
//! models are built from, and the memory arithmetic (weights and KV capacity per GPU).

use crate::analytical::AnalyticalCoster;
use crate::arch::{DType, ModelArch};
use crate::calibration::Calibration;
use crate::error::PerfError;
use crate::ops::{ForwardGraph, MlaShape, OpKind};
use crate::parallel::Parallelism;
use crate::step::StepModel;
use crate::system::{Backend, GpuSystem};

/// A model replica on one system, backend and parallel layout.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Deployment {
    /// The model.
    pub arch: ModelArch,
    /// The GPU system.
    pub system: GpuSystem,
    /// The serving backend.
    pub backend: Backend,
    /// The parallel layout.
    pub parallelism: Parallelism,
    /// Format of the KV cache.
    pub kv_dtype: DType,
}

impl Deployment {
    /// Resolves names and checks the layout: `model` as [`ModelArch::resolve`], `system` as
    /// [`GpuSystem::by_name`], `backend` one of `vllm`, `sglang`, `trtllm`.
    ///
    /// ```
    /// use servesim_perf::{Deployment, PerfModel, PrefillChunk};
    /// let d = Deployment::new("meta-llama/Llama-3.1-8B", "h200_sxm", "vllm", 1, None, None, 1)?;
    /// let model = d.analytical()?;
    /// let ms = model.prefill_ms(&[PrefillChunk { new_tokens: 4096, context_tokens: 0 }]);
    /// assert!((80.0..105.0).contains(&ms), "{ms}"); // AIConfigurator: 92.8 ms
    /// # Ok::<(), servesim_perf::PerfError>(())
    /// ```
    pub fn new(
        model: &str,
        system: &str,
        backend: &str,
        tp: u32,
        moe_tp: Option<u32>,
        moe_ep: Option<u32>,
        attention_dp: u32,
    ) -> Result<Deployment, PerfError> {
        let arch = ModelArch::resolve(model)?;
        let system = GpuSystem::by_name(system)?.clone();
        let backend: Backend = backend.parse()?;
        let parallelism = Parallelism::new(&arch, tp, moe_tp, moe_ep, attention_dp)?;
        let kv_dtype = arch.kv_dtype;
        Ok(Deployment {
            arch,
            system,
            backend,
            parallelism,
            kv_dtype,
        })
    }

    /// The same deployment with its KV cache stored in `kv_dtype` (an engine's
    /// `kv_cache_dtype`).
    pub fn with_kv_dtype(mut self, kv_dtype: DType) -> Deployment {
        self.kv_dtype = kv_dtype;
        self
    }

    /// The per-GPU op graph of one forward pass.
    pub fn graph(&self) -> ForwardGraph {
        ForwardGraph::build(&self.arch, &self.parallelism, self.kv_dtype, self.backend)
    }

    /// A short description, e.g. `llama-3.1-8b on h200_sxm (vllm, tp 1)`.
    pub fn describe(&self) -> String {
        let p = &self.parallelism;
        let mut layout = format!("tp {}", p.tp);
        if self.arch.is_moe() {
            layout.push_str(&format!(", moe_tp {}, moe_ep {}", p.moe_tp, p.moe_ep));
        }
        if p.attention_dp > 1 {
            layout.push_str(&format!(", attention_dp {}", p.attention_dp));
        }
        format!(
            "{} on {} ({}, {layout})",
            self.arch.name, self.system.name, self.backend
        )
    }

    /// The analytical op model for this deployment.
    pub fn analytical(&self) -> Result<StepModel<AnalyticalCoster>, PerfError> {
        let calibration =
            Calibration::for_system(self.system.name, self.backend).ok_or_else(|| {
                PerfError::UnknownSystem {
                    name: format!("{} with backend {}", self.system.name, self.backend),
                    choices: "every built-in system has vllm, sglang and trtllm curves".to_owned(),
                }
            })?;
        Ok(StepModel::new(
            "analytical",
            self.graph(),
            AnalyticalCoster::new(self.system.clone(), *calibration),
        ))
    }

    /// Weight bytes held by each GPU: attention, dense MLP and vocabulary tables split `tp`
    /// ways, experts split `moe_tp × moe_ep` ways.
    pub fn weight_bytes_per_gpu(&self) -> f64 {
        let arch = &self.arch;
        let p = &self.parallelism;
        let experts = arch.moe.map_or(0.0, |moe| {
            f64::from(arch.moe_layers())
                * f64::from(moe.experts)
                * arch.expert_params() as f64
                * moe.expert_dtype.storage_bytes()
        });
        let rest = arch.weight_bytes() - experts;
        rest / f64::from(p.tp) + experts / f64::from(p.moe_tp * p.moe_ep)
    }

    /// KV-cache bytes per token on each GPU (every layer; KV heads split over `tp`, replicated
    /// when `tp` exceeds them; an MLA latent is replicated).
    pub fn kv_bytes_per_token_per_gpu(&self) -> f64 {
        self.graph()
            .ops
            .iter()
            .filter_map(|op| match op.kind {
                OpKind::Attention(shape)
                | OpKind::Mla(MlaShape {
                    attention: shape, ..
                }) => Some(shape.kv_bytes_per_token * op.count),
                _ => None,
            })
            .sum()
    }

    /// Peak activation bytes per GPU of a forward pass over `tokens` tokens that samples
    /// `rows` of them, as an engine's memory profiling run sees it (the allocator's peak,
    /// not a sum). The forward pass peaks with the residual stream, its normalised copy and
    /// the widest layer live at once (attention projections or the MLP's gate/up output and
    /// activation, the experts' share of the routed tokens under expert parallelism), in
    /// bf16. The sampler runs after the forward pass has freed those, beside the final hidden
    /// states: fp32 logits and two temporaries per sampled row over the whole vocabulary
    /// (vLLM's `profile_run`: `_dummy_run`, then `_dummy_sampler_run`).
    ///
    /// ```
    /// use servesim_perf::Deployment;
    /// let d = Deployment::new("llama-3.1-8b", "h100_sxm", "vllm", 1, None, None, 1)?;
    /// // 8192 tokens: 2·(2·4096 + 3·14336)·8192 B forward; the sampler over 1024 rows,
    /// // 3·4·128256·1024 B, beside 2·4096·8192 B of hidden states.
    /// let forward: f64 = 2.0 * 8192.0 * (2.0 * 4096.0 + 3.0 * 14336.0);
    /// let sampler = 12.0 * 128_256.0 * 1024.0 + 2.0 * 4096.0 * 8192.0;
    /// assert_eq!(d.activation_bytes(8192, 1024), forward.max(sampler));
    /// assert_eq!(d.activation_bytes(8192, 256), forward);
    /// # Ok::<(), servesim_perf::PerfError>(())
    /// ```
    pub fn activation_bytes(&self, tokens: u32, rows: u32) -> f64 {
        let arch = &self.arch;
        let p = &self.parallelism;
        let t = f64::from(tokens);
        let h = f64::from(arch.hidden);
        let attention = match arch.attention {
            crate::arch::Attention::Gqa {
                heads,
                kv_heads,
                head_dim,
                ..
            } => f64::from((heads + 2 * kv_heads) * head_dim) / f64::from(p.tp),
            crate::arch::Attention::Mla { heads, .. } => f64::from(heads) * 192.0 / f64::from(p.tp),
        };
        let dense = if arch.dense_mlp_layers() > 0 {
            3.0 * f64::from(arch.dense_inter) / f64::from(p.tp)
        } else {
            0.0
        };
        let experts = arch.moe.map_or(0.0, |moe| {
            let routed = f64::from(moe.top_k) / f64::from(p.moe_ep);
            routed * 3.0 * f64::from(moe.expert_inter) / f64::from(p.moe_tp)
                + 3.0 * f64::from(moe.shared_inter) / f64::from(p.tp)
        });
        let widest = attention.max(dense).max(experts);
        let forward = 2.0 * t * (2.0 * h + widest);
        let sampler = 12.0 * f64::from(arch.vocab) * f64::from(rows) + 2.0 * t * h;
        forward.max(sampler)
    }

    /// Memory each GPU's collective library keeps for this layout (NCCL buffers and, at
    /// TP ≥ 2, custom all-reduce workspaces), bytes.
    pub fn comm_buffer_bytes(&self) -> f64 {
        self.system.comm_reserve_bytes(self.parallelism.gpus()) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_and_kv_split_over_gpus() {
        let d = Deployment::new("llama-3.1-70b", "h100_sxm", "vllm", 4, None, None, 1).unwrap();
        let w = d.weight_bytes_per_gpu();
        assert!((w - 70.55e9 * 2.0 / 4.0).abs() < 0.2e9, "{w}");
        // 80 layers × 2 × (8 / 4) heads × 128 × 2 bytes.
        assert_eq!(
            d.kv_bytes_per_token_per_gpu(),
            80.0 * 2.0 * 2.0 * 128.0 * 2.0
        );
    }

    #[test]
    fn activations_follow_the_widest_layer_and_the_sampled_rows() {
        let d = Deployment::new("llama-3.1-70b", "h100_sxm", "vllm", 2, None, None, 1).unwrap();
        // The MLP is the widest layer: 3 × 28672 / 2 per token.
        let one = d.activation_bytes(1, 0);
        assert_eq!(one, 2.0 * (2.0 * 8192.0 + 3.0 * 14336.0));
        assert_eq!(d.activation_bytes(1000, 0), 1000.0 * one);
        assert_eq!(d.activation_bytes(0, 10), 12.0 * 128_256.0 * 10.0);
        // Experts: only a 1/ep share of the routed tokens lands on each GPU.
        let moe = Deployment::new("qwen3-30b-a3b", "h100_sxm", "vllm", 1, None, Some(1), 1)
            .unwrap()
            .activation_bytes(1, 0);
        assert_eq!(moe, 2.0 * (2.0 * 2048.0 + 8.0 * 3.0 * 768.0));
        assert_eq!(d.comm_buffer_bytes(), f64::from(342u32 << 20));
    }

    #[test]
    fn replicated_kv_heads_and_mla_latents() {
        // 8 KV heads over tp 16: one head per GPU.
        let d = Deployment::new("llama-3.1-405b", "h200_sxm", "vllm", 16, None, None, 1).unwrap();
        assert_eq!(d.kv_bytes_per_token_per_gpu(), 126.0 * 2.0 * 128.0 * 2.0);
        let ds = Deployment::new("deepseek-v3", "h200_sxm", "vllm", 8, None, None, 1).unwrap();
        assert_eq!(ds.kv_bytes_per_token_per_gpu(), 61.0 * 576.0 * 2.0);
        let fp8 = ds.with_kv_dtype(DType::Fp8);
        assert_eq!(fp8.kv_bytes_per_token_per_gpu(), 61.0 * 576.0);
    }
}
