//! A model on a GPU system with a backend and a parallel layout: what the per-SKU timing
//! models are built from, and the memory arithmetic (weights and KV capacity per GPU).

use crate::analytical::AnalyticalCoster;
use crate::arch::{DType, ModelArch};
use crate::calibration::Calibration;
use crate::error::PerfError;
use crate::ops::{ForwardGraph, MlaShape, OpKind};
use crate::parallel::Parallelism;
use crate::step::StepModel;
use crate::system::{Backend, GpuSystem, RUNTIME_RESERVE_BYTES};

/// vLLM's default `gpu_memory_utilization`: the share of GPU memory the engine may use.
pub const DEFAULT_MEMORY_FRACTION: f64 = 0.9;

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
                * moe.expert_dtype.bytes()
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

    /// KV capacity in tokens per GPU when the engine may use `memory_fraction` of the GPU's
    /// memory: `(memory × fraction − weights − NCCL buffers − runtime reserve) / KV bytes per
    /// token`. An error names the shortfall when the weights leave no room.
    ///
    /// ```
    /// use servesim_perf::{DEFAULT_MEMORY_FRACTION, Deployment};
    /// let d = Deployment::new("llama-3.1-8b", "h200_sxm", "vllm", 1, None, None, 1)?;
    /// // (141 GiB × 0.9 − 15 GiB − 3.5 GiB) / 128 KiB
    /// assert_eq!(d.kv_capacity_tokens(DEFAULT_MEMORY_FRACTION)?, 888_360);
    /// # Ok::<(), servesim_perf::PerfError>(())
    /// ```
    pub fn kv_capacity_tokens(&self, memory_fraction: f64) -> Result<u64, PerfError> {
        let total = self.system.mem_bytes as f64 * memory_fraction;
        let weights = self.weight_bytes_per_gpu();
        let reserve = (self.system.comm_reserve_bytes(self.parallelism.gpus())
            + RUNTIME_RESERVE_BYTES) as f64;
        let free = total - weights - reserve;
        let per_token = self.kv_bytes_per_token_per_gpu();
        if free <= per_token || per_token <= 0.0 {
            const GIB: f64 = (1u64 << 30) as f64;
            return Err(PerfError::Memory(format!(
                "{} does not fit: weights need {:.1} GiB per GPU, {:.1} GiB usable ({:.0} % of {:.1} GiB less {:.1} GiB reserved); raise tp or use a larger GPU",
                self.describe(),
                weights / GIB,
                (total - reserve) / GIB,
                memory_fraction * 100.0,
                self.system.mem_bytes as f64 / GIB,
                reserve / GIB,
            )));
        }
        Ok((free / per_token).floor() as u64)
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
        let too_big = Deployment::new("llama-3.1-405b", "h100_sxm", "vllm", 1, None, None, 1)
            .unwrap()
            .kv_capacity_tokens(DEFAULT_MEMORY_FRACTION)
            .unwrap_err()
            .to_string();
        assert!(
            too_big.starts_with("llama-3.1-405b on h100_sxm (vllm, tp 1) does not fit: weights need 756.0 GiB per GPU"),
            "{too_big}"
        );
    }

    #[test]
    fn replicated_kv_heads_and_mla_latents() {
        // 8 KV heads over tp 16: one head per GPU.
        let d = Deployment::new("llama-3.1-405b", "h200_sxm", "vllm", 16, None, None, 1).unwrap();
        assert_eq!(d.kv_bytes_per_token_per_gpu(), 126.0 * 2.0 * 128.0 * 2.0);
        let ds = Deployment::new("deepseek-v3", "h200_sxm", "vllm", 8, None, None, 1).unwrap();
        assert_eq!(ds.kv_bytes_per_token_per_gpu(), 61.0 * 576.0);
    }
}
