//! The forward pass as a list of operations, as AIConfigurator composes it.
//!
//! [`ForwardGraph::build`] walks a [`ModelArch`] under a [`Parallelism`] once and emits the
//! per-GPU ops of one forward pass, each with the number of times it repeats (layers). An
//! [`OpCoster`](crate::OpCoster) prices single ops; [`crate::StepModel`] sums them for a pass. Ops do not
//! overlap (the pass time is the sum of its parts), as in AIConfigurator.
//!
//! For a dense GQA model with hidden size `h`, MLP width `I` and `L` layers the list is:
//! embedding (memory), per layer `add_norm_1` (memory), `qkv_gemm`, `attention`, `proj_gemm`,
//! `add_norm_2` (memory), `gate_ffn1_gemm` (`n = 2I/tp`), `act_gate` (memory), `ffn2_gemm`;
//! then `logits_gemm` on the last token of each sequence only, and with `tp > 1` one
//! embedding all-reduce plus two all-reduces per layer. MoE layers replace the MLP with a
//! router GEMM, shared-expert GEMMs, the expert op and, under expert parallelism, an
//! all-to-all dispatch and combine.

use crate::arch::{Attention, DType, ModelArch};
use crate::parallel::Parallelism;

/// The attention of one layer on one GPU.
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize)]
pub struct AttnShape {
    /// Query heads on this GPU.
    pub heads: u32,
    /// KV heads on this GPU (MLA: 1 latent "head").
    pub kv_heads: u32,
    /// Query/key dimension per head in prefill.
    pub qk_dim: u32,
    /// Value dimension per head in prefill.
    pub v_dim: u32,
    /// Query/key dimension per head in decode (MLA absorbs the key projection: latent + rope).
    pub decode_qk_dim: u32,
    /// Value dimension per head in decode (MLA: the latent rank).
    pub decode_v_dim: u32,
    /// KV-cache bytes per token of this layer on this GPU.
    pub kv_bytes_per_token: f64,
    /// Format of the KV cache.
    pub kv_dtype: DType,
    /// Sliding window in tokens (`None`: full attention).
    pub window: Option<u32>,
    /// Multi-head latent attention.
    pub mla: bool,
}

/// The experts of one MoE layer on one GPU.
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize)]
pub struct MoeShape {
    /// Hidden size.
    pub hidden: u32,
    /// Expert intermediate size before tensor parallelism.
    pub inter: u32,
    /// Experts per token.
    pub top_k: u32,
    /// Routed experts in the model.
    pub experts: u32,
    /// Tensor-parallel size inside each expert.
    pub moe_tp: u32,
    /// Expert-parallel size.
    pub moe_ep: u32,
    /// Format of the expert weights.
    pub dtype: DType,
}

/// What an op computes.
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpKind {
    /// A memory-bound op (norms, activations, embedding lookup) moving this many bytes per
    /// token.
    Mem {
        /// Bytes read and written per token.
        bytes_per_token: f64,
    },
    /// A GEMM `[m × k] · [k × n]`, `m` the tokens of the pass (or its sequences, for the
    /// logits).
    Gemm {
        /// Output features.
        n: u64,
        /// Input features.
        k: u64,
        /// Weight format.
        dtype: DType,
        /// Only the last token of each sequence (the logits).
        last_token_only: bool,
    },
    /// Self-attention of one layer.
    Attention(AttnShape),
    /// A tensor-parallel all-reduce of `width` bf16 elements per token over `gpus` GPUs.
    AllReduce {
        /// Elements per token.
        width: u64,
        /// GPUs in the group.
        gpus: u32,
    },
    /// The routed experts of one layer.
    Moe(MoeShape),
    /// A fixed cost per prefill pass (AIConfigurator's empirical constant for the Q/K norms of
    /// Qwen3-style attention, 26.4 µs per layer in prefill, none in decode).
    PrefillFixed {
        /// Microseconds per execution.
        us: f64,
    },
    /// Expert-parallel dispatch or combine, priced as an all-gather (reduce-scatter) of every
    /// token's hidden state over the expert-parallel group.
    AllToAll {
        /// Bytes per token.
        bytes_per_token: f64,
        /// GPUs in the group.
        gpus: u32,
    },
}

/// One op of the forward pass.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Op {
    /// AIConfigurator's op name without the phase prefix, e.g. `qkv_gemm`.
    pub name: &'static str,
    /// How many times the op runs per pass (layers).
    pub count: f64,
    /// What it computes.
    pub kind: OpKind,
}

/// The ops of one forward pass on one GPU.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ForwardGraph {
    /// The ops, in execution order.
    pub ops: Vec<Op>,
}

/// bf16 activations.
const ACT_BYTES: f64 = 2.0;

/// Prefill cost of Q/K norms per layer, µs: AIConfigurator adds this constant to context
/// attention of models with `use_qk_norm` (Qwen3), on every system and backend.
const QK_NORM_PREFILL_US: f64 = 26.4;

impl ForwardGraph {
    /// The per-GPU ops of `arch` under `par` with the KV cache in `kv_dtype`.
    pub fn build(arch: &ModelArch, par: &Parallelism, kv_dtype: DType) -> ForwardGraph {
        let tp = u64::from(par.tp);
        let h = u64::from(arch.hidden);
        let layers = f64::from(arch.layers);
        let mut ops = Vec::with_capacity(20);
        let mut push = |name, count: f64, kind| {
            if count > 0.0 {
                ops.push(Op { name, count, kind });
            }
        };
        let mem = |elements_in_out: u64| OpKind::Mem {
            bytes_per_token: elements_in_out as f64 * ACT_BYTES,
        };
        let gemm = |n: u64, k: u64, dtype| OpKind::Gemm {
            n,
            k,
            dtype,
            last_token_only: false,
        };
        let g = arch.gemm_dtype;
        push("embedding", 1.0, mem(h));
        push("add_norm_1", layers, mem(4 * h));
        match arch.attention {
            Attention::Gqa {
                heads,
                kv_heads,
                head_dim,
                sliding,
                qk_norm,
                ..
            } => {
                let heads_gpu = heads / par.tp;
                let kv_gpu = kv_heads.div_ceil(par.tp);
                let d = u64::from(head_dim);
                push(
                    "qkv_gemm",
                    layers,
                    gemm(u64::from(heads_gpu) * d + 2 * u64::from(kv_gpu) * d, h, g),
                );
                let shape = AttnShape {
                    heads: heads_gpu,
                    kv_heads: kv_gpu,
                    qk_dim: head_dim,
                    v_dim: head_dim,
                    decode_qk_dim: head_dim,
                    decode_v_dim: head_dim,
                    kv_bytes_per_token: 2.0
                        * f64::from(kv_gpu)
                        * f64::from(head_dim)
                        * kv_dtype.bytes(),
                    kv_dtype,
                    window: None,
                    mla: false,
                };
                let (window, sliding_layers) = sliding.unwrap_or((0, 0));
                push(
                    "attention",
                    layers - f64::from(sliding_layers),
                    OpKind::Attention(shape),
                );
                push(
                    "attention_sliding",
                    f64::from(sliding_layers),
                    OpKind::Attention(AttnShape {
                        window: Some(window),
                        ..shape
                    }),
                );
                if qk_norm {
                    push(
                        "qk_norm",
                        layers,
                        OpKind::PrefillFixed {
                            us: QK_NORM_PREFILL_US,
                        },
                    );
                }
                push("proj_gemm", layers, gemm(h, u64::from(heads_gpu) * d, g));
            }
            Attention::Mla {
                heads,
                q_lora_rank,
                kv_lora_rank,
                qk_nope_head_dim,
                qk_rope_head_dim,
                v_head_dim,
            } => {
                let heads_gpu = heads / par.tp;
                let hg = u64::from(heads_gpu);
                let qk = u64::from(qk_nope_head_dim + qk_rope_head_dim);
                let (rank, rope) = (u64::from(kv_lora_rank), u64::from(qk_rope_head_dim));
                if q_lora_rank > 0 {
                    let q_rank = u64::from(q_lora_rank);
                    push("q_a_kv_a_gemm", layers, gemm(q_rank + rank + rope, h, g));
                    push("q_b_gemm", layers, gemm(hg * qk, q_rank, g));
                } else {
                    push("q_kv_a_gemm", layers, gemm(hg * qk + rank + rope, h, g));
                }
                push(
                    "kv_b_gemm",
                    layers,
                    gemm(hg * u64::from(qk_nope_head_dim + v_head_dim), rank, g),
                );
                push(
                    "attention",
                    layers,
                    OpKind::Attention(AttnShape {
                        heads: heads_gpu,
                        kv_heads: 1,
                        qk_dim: qk_nope_head_dim + qk_rope_head_dim,
                        v_dim: v_head_dim,
                        decode_qk_dim: kv_lora_rank + qk_rope_head_dim,
                        decode_v_dim: kv_lora_rank,
                        kv_bytes_per_token: f64::from(kv_lora_rank + qk_rope_head_dim)
                            * kv_dtype.bytes(),
                        kv_dtype,
                        window: None,
                        mla: true,
                    }),
                );
                push("proj_gemm", layers, gemm(h, hg * u64::from(v_head_dim), g));
            }
        }
        push("add_norm_2", layers, mem(4 * h));
        let dense = f64::from(arch.dense_mlp_layers());
        let inter = u64::from(arch.dense_inter) / tp;
        push("gate_ffn1_gemm", dense, gemm(2 * inter, h, g));
        push("act_gate", dense, mem(3 * inter));
        push("ffn2_gemm", dense, gemm(h, inter, g));
        if let Some(moe) = arch.moe {
            let moe_layers = f64::from(arch.moe_layers());
            push(
                "router_gemm",
                moe_layers,
                gemm(u64::from(moe.experts), h, DType::Bf16),
            );
            let shared = u64::from(moe.shared_inter) / tp;
            push(
                "shared_gate_up_gemm",
                if shared > 0 { moe_layers } else { 0.0 },
                gemm(2 * shared, h, g),
            );
            push(
                "shared_act_gate",
                if shared > 0 { moe_layers } else { 0.0 },
                mem(3 * shared),
            );
            push(
                "shared_ffn2_gemm",
                if shared > 0 { moe_layers } else { 0.0 },
                gemm(h, shared, g),
            );
            let a2a = OpKind::AllToAll {
                bytes_per_token: h as f64 * ACT_BYTES,
                gpus: par.moe_ep,
            };
            if par.moe_ep > 1 {
                push("moe_dispatch", moe_layers, a2a);
            }
            push(
                "moe",
                moe_layers,
                OpKind::Moe(MoeShape {
                    hidden: arch.hidden,
                    inter: moe.expert_inter,
                    top_k: moe.top_k,
                    experts: moe.experts,
                    moe_tp: par.moe_tp,
                    moe_ep: par.moe_ep,
                    dtype: moe.expert_dtype,
                }),
            );
            if par.moe_ep > 1 {
                push("moe_combine", moe_layers, a2a);
            }
        }
        push(
            "logits_gemm",
            1.0,
            OpKind::Gemm {
                n: u64::from(arch.vocab) / tp,
                k: h,
                dtype: DType::Bf16,
                last_token_only: true,
            },
        );
        if par.tp > 1 {
            let ar = OpKind::AllReduce {
                width: h,
                gpus: par.tp,
            };
            push("embedding_ar", 1.0, ar);
            push("ar_1", layers, ar);
            push("ar_2", layers, ar);
        }
        ForwardGraph { ops }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_8b_shapes_match_aiconfigurator() {
        let arch = ModelArch::builtin("llama-3.1-8b").unwrap();
        let par = Parallelism::new(&arch, 2, None, None, 1).unwrap();
        let g = ForwardGraph::build(&arch, &par, DType::Bf16);
        let find = |name| g.ops.iter().find(|o| o.name == name).unwrap();
        assert_eq!(
            find("qkv_gemm").kind,
            OpKind::Gemm {
                n: 2048 + 2 * 4 * 128,
                k: 4096,
                dtype: DType::Bf16,
                last_token_only: false
            }
        );
        assert_eq!(
            find("gate_ffn1_gemm").kind,
            OpKind::Gemm {
                n: 14336,
                k: 4096,
                dtype: DType::Bf16,
                last_token_only: false
            }
        );
        assert_eq!(find("ar_1").count, 32.0);
        let OpKind::Attention(a) = find("attention").kind else {
            panic!()
        };
        assert_eq!((a.heads, a.kv_heads, a.kv_bytes_per_token), (16, 4, 2048.0));
    }

    #[test]
    fn gpt_oss_alternates_sliding_layers() {
        let arch = ModelArch::builtin("gpt-oss-20b").unwrap();
        let par = Parallelism::new(&arch, 1, None, None, 1).unwrap();
        let g = ForwardGraph::build(&arch, &par, DType::Bf16);
        let counts: Vec<(&str, f64)> = g
            .ops
            .iter()
            .filter(|o| o.name.starts_with("attention"))
            .map(|o| (o.name, o.count))
            .collect();
        assert_eq!(counts, [("attention", 12.0), ("attention_sliding", 12.0)]);
    }
}
