//! Walking a model into the ops of one forward pass, as AIConfigurator 0.12.0 composes its
//! op lists (`LLAMAModel`, `MOEModel`, `DeepSeekModel`).
//!
//! Every model: the embedding (memory op), per layer `add_norm_1` (memory), the attention
//! block, `add_norm_2` (memory), the MLP block, then `logits_gemm` on the last token of each
//! sequence. The attention block is `qkv_gemm`, `attention` (and `attention_sliding` for
//! sliding-window layers), the Q/K-norm constant where the model has one, and `proj_gemm` —
//! or, for multi-head latent attention, one `mla` op covering projections and attention.
//!
//! The MLP block and the collectives follow AIConfigurator's three model families:
//!
//! * **dense** (Llama, Qwen3): `gate_ffn1_gemm`, `act_gate` (memory), `ffn2_gemm`; with
//!   `tp > 1` an embedding all-reduce and two all-reduces per layer (`ar_1`, `ar_2`).
//! * **MoE** (Qwen3-MoE, Mixtral, gpt-oss): `router_gemm` (bf16), `moe`, and with `tp > 1`
//!   the expert dispatch and combine as all-reduces over the tensor-parallel group
//!   (`moe_pre_dispatch`, `moe_post_dispatch`) plus the embedding all-reduce. The logits are
//!   computed in decode passes only.
//! * **DeepSeek** (multi-head latent attention): the shared expert (`shared_gate_up_gemm`,
//!   `shared_act_gate`, `shared_ffn2_gemm`), `router_gemm`, `moe` and the dispatch
//!   all-reduces; no embedding all-reduce; on vLLM two more all-reduces per layer
//!   (`tp_allreduce`). In decode passes the shared expert runs on its own stream beside the
//!   routed path ([`Stream`]).
//!
//! As in AIConfigurator, every layer of a MoE model is a MoE layer (leading dense layers —
//! DeepSeek's `first_k_dense_replace` — are priced as MoE layers too). Under attention data
//! parallelism the experts' inputs are gathered (`moe_dispatch`) and their outputs scattered
//! back (`moe_combine`) over the whole MoE group.

use crate::arch::{Attention, DType, ModelArch};
use crate::ops::{AttnShape, ForwardGraph, MlaShape, MoeShape, Op, OpKind, Phases, Stream};
use crate::parallel::Parallelism;
use crate::system::Backend;

/// bf16 activations.
const ACT_BYTES: f64 = 2.0;

/// Prefill cost of Q/K norms per layer, µs: AIConfigurator adds this constant to context
/// attention of models with `use_qk_norm` (Qwen3), on every system and backend.
const QK_NORM_PREFILL_US: f64 = 26.4;

/// AIConfigurator's model family, which decides the MLP block and the collectives.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Family {
    Dense,
    Moe,
    DeepSeek,
}

impl Family {
    fn of(arch: &ModelArch) -> Family {
        match (arch.attention, arch.moe) {
            (Attention::Mla { .. }, _) => Family::DeepSeek,
            (_, Some(_)) => Family::Moe,
            (_, None) => Family::Dense,
        }
    }
}

/// Collects ops, dropping those that never run.
struct Builder {
    ops: Vec<Op>,
    stream: Stream,
}

impl Builder {
    fn push(&mut self, name: &'static str, count: f64, kind: OpKind) {
        self.push_in(name, count, kind, Phases::All);
    }

    fn push_in(&mut self, name: &'static str, count: f64, kind: OpKind, phases: Phases) {
        if count > 0.0 {
            self.ops.push(Op {
                name,
                count,
                kind,
                phases,
                stream: self.stream,
            });
        }
    }
}

/// A memory op moving `elements_in_out` bf16 values per token.
fn mem(elements_in_out: u64) -> OpKind {
    OpKind::Mem {
        bytes_per_token: elements_in_out as f64 * ACT_BYTES,
    }
}

/// A GEMM over every token of the pass.
fn gemm(n: u64, k: u64, dtype: DType) -> OpKind {
    OpKind::Gemm {
        n,
        k,
        dtype,
        last_token_only: false,
    }
}

impl ForwardGraph {
    /// The per-GPU ops of `arch` under `par` served by `backend`, with the KV cache in
    /// `kv_dtype`.
    pub fn build(
        arch: &ModelArch,
        par: &Parallelism,
        kv_dtype: DType,
        backend: Backend,
    ) -> ForwardGraph {
        let family = Family::of(arch);
        let h = u64::from(arch.hidden);
        let layers = f64::from(arch.layers);
        let mut b = Builder {
            ops: Vec::with_capacity(24),
            stream: Stream::Main,
        };
        b.push("embedding", 1.0, mem(h));
        b.push("add_norm_1", layers, mem(4 * h));
        attention_block(&mut b, arch, par, kv_dtype);
        b.push("add_norm_2", layers, mem(4 * h));
        match arch.moe {
            None => dense_mlp(&mut b, arch, par),
            Some(_) => moe_block(&mut b, arch, par),
        }
        let logits = OpKind::Gemm {
            n: u64::from(arch.vocab) / u64::from(par.tp),
            k: h,
            dtype: DType::Bf16,
            last_token_only: true,
        };
        let logits_phases = match family {
            Family::Moe => Phases::DecodeOnly,
            Family::Dense | Family::DeepSeek => Phases::All,
        };
        b.push_in("logits_gemm", 1.0, logits, logits_phases);
        if par.tp > 1 {
            let ar = OpKind::AllReduce {
                width: h,
                gpus: par.tp,
            };
            match family {
                Family::Dense => {
                    b.push("embedding_ar", 1.0, ar);
                    b.push("ar_1", layers, ar);
                    b.push("ar_2", layers, ar);
                }
                Family::Moe => b.push("embedding_ar", 1.0, ar),
                Family::DeepSeek if backend == Backend::Vllm => {
                    b.push("tp_allreduce", 2.0 * layers, ar);
                }
                Family::DeepSeek => {}
            }
        }
        ForwardGraph { ops: b.ops }
    }
}

/// The attention block of every layer.
fn attention_block(b: &mut Builder, arch: &ModelArch, par: &Parallelism, kv_dtype: DType) {
    let h = u64::from(arch.hidden);
    let layers = f64::from(arch.layers);
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
            let g = arch.gemm_dtype;
            b.push(
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
            b.push(
                "attention",
                layers - f64::from(sliding_layers),
                OpKind::Attention(shape),
            );
            b.push(
                "attention_sliding",
                f64::from(sliding_layers),
                OpKind::Attention(AttnShape {
                    window: Some(window),
                    ..shape
                }),
            );
            if qk_norm {
                b.push(
                    "qk_norm",
                    layers,
                    OpKind::PrefillFixed {
                        us: QK_NORM_PREFILL_US,
                    },
                );
            }
            b.push("proj_gemm", layers, gemm(h, u64::from(heads_gpu) * d, g));
        }
        Attention::Mla {
            heads,
            q_lora_rank,
            kv_lora_rank,
            qk_nope_head_dim,
            qk_rope_head_dim,
            v_head_dim,
        } => {
            let attention = AttnShape {
                heads: heads / par.tp,
                kv_heads: 1,
                qk_dim: qk_nope_head_dim + qk_rope_head_dim,
                v_dim: v_head_dim,
                decode_qk_dim: kv_lora_rank + qk_rope_head_dim,
                decode_v_dim: kv_lora_rank,
                kv_bytes_per_token: f64::from(kv_lora_rank + qk_rope_head_dim) * kv_dtype.bytes(),
                kv_dtype,
                window: None,
                mla: true,
            };
            b.push(
                "mla",
                layers,
                OpKind::Mla(MlaShape {
                    attention,
                    hidden: arch.hidden,
                    q_lora_rank,
                    kv_lora_rank,
                    qk_nope_head_dim,
                    qk_rope_head_dim,
                    v_head_dim,
                    dtype: arch.gemm_dtype,
                }),
            );
        }
    }
}

/// The dense SwiGLU MLP of every layer.
fn dense_mlp(b: &mut Builder, arch: &ModelArch, par: &Parallelism) {
    let h = u64::from(arch.hidden);
    let layers = f64::from(arch.layers);
    let inter = u64::from(arch.dense_inter) / u64::from(par.tp);
    let g = arch.gemm_dtype;
    b.push("gate_ffn1_gemm", layers, gemm(2 * inter, h, g));
    b.push("act_gate", layers, mem(3 * inter));
    b.push("ffn2_gemm", layers, gemm(h, inter, g));
}

/// The MoE block of every layer: shared expert, router, dispatch, experts, combine.
fn moe_block(b: &mut Builder, arch: &ModelArch, par: &Parallelism) {
    let Some(moe) = arch.moe else {
        return;
    };
    let h = u64::from(arch.hidden);
    let layers = f64::from(arch.layers);
    let tp = u64::from(par.tp);
    let shared = u64::from(moe.shared_inter) / tp;
    if shared > 0 {
        b.stream = Stream::Shared;
        let g = arch.gemm_dtype;
        b.push("shared_gate_up_gemm", layers, gemm(2 * shared, h, g));
        b.push("shared_act_gate", layers, mem(3 * shared));
        b.push("shared_ffn2_gemm", layers, gemm(h, shared, g));
        b.stream = Stream::Routed;
    }
    b.push(
        "router_gemm",
        layers,
        gemm(u64::from(moe.experts), h, DType::Bf16),
    );
    let gather = OpKind::AllToAll {
        bytes_per_token: h as f64 * ACT_BYTES,
        gpus: par.moe_tp * par.moe_ep,
    };
    let reduce = OpKind::AllReduce {
        width: h,
        gpus: par.tp,
    };
    if par.attention_dp > 1 {
        b.push("moe_dispatch", layers, gather);
    }
    if par.tp > 1 {
        b.push("moe_pre_dispatch", layers, reduce);
    }
    b.push(
        "moe",
        layers,
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
    if par.tp > 1 {
        b.push("moe_post_dispatch", layers, reduce);
    }
    if par.attention_dp > 1 {
        b.push("moe_combine", layers, gather);
    }
    b.stream = Stream::Main;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(model: &str, tp: u32, backend: Backend) -> ForwardGraph {
        let arch = ModelArch::builtin(model).unwrap();
        let par = Parallelism::new(&arch, tp, None, None, 1).unwrap();
        ForwardGraph::build(&arch, &par, arch.kv_dtype, backend)
    }

    fn find<'a>(g: &'a ForwardGraph, name: &str) -> &'a Op {
        g.ops.iter().find(|o| o.name == name).unwrap()
    }

    #[test]
    fn llama_8b_shapes_match_aiconfigurator() {
        let g = graph("llama-3.1-8b", 2, Backend::Vllm);
        assert_eq!(
            find(&g, "qkv_gemm").kind,
            OpKind::Gemm {
                n: 2048 + 2 * 4 * 128,
                k: 4096,
                dtype: DType::Bf16,
                last_token_only: false
            }
        );
        assert_eq!(
            find(&g, "gate_ffn1_gemm").kind,
            OpKind::Gemm {
                n: 14336,
                k: 4096,
                dtype: DType::Bf16,
                last_token_only: false
            }
        );
        assert_eq!(find(&g, "ar_1").count, 32.0);
        assert_eq!(find(&g, "logits_gemm").phases, Phases::All);
        let OpKind::Attention(a) = find(&g, "attention").kind else {
            panic!()
        };
        assert_eq!((a.heads, a.kv_heads, a.kv_bytes_per_token), (16, 4, 2048.0));
    }

    #[test]
    fn gpt_oss_alternates_sliding_layers() {
        let g = graph("gpt-oss-20b", 1, Backend::Vllm);
        let counts: Vec<(&str, f64)> = g
            .ops
            .iter()
            .filter(|o| o.name.starts_with("attention"))
            .map(|o| (o.name, o.count))
            .collect();
        assert_eq!(counts, [("attention", 12.0), ("attention_sliding", 12.0)]);
    }

    #[test]
    fn moe_models_dispatch_by_all_reduce_and_compute_logits_in_decode_only() {
        let g = graph("qwen3-30b-a3b", 4, Backend::Sglang);
        let names: Vec<&str> = g.ops.iter().map(|o| o.name).collect();
        assert_eq!(
            names[5..],
            [
                "proj_gemm",
                "add_norm_2",
                "router_gemm",
                "moe_pre_dispatch",
                "moe",
                "moe_post_dispatch",
                "logits_gemm",
                "embedding_ar"
            ]
        );
        assert_eq!(find(&g, "logits_gemm").phases, Phases::DecodeOnly);
        assert_eq!(find(&g, "moe_pre_dispatch").count, 48.0);
        assert!(g.ops.iter().all(|o| o.stream == Stream::Main));
    }

    #[test]
    fn deepseek_overlaps_its_shared_expert_and_prices_every_layer_as_moe() {
        let g = graph("deepseek-v3", 8, Backend::Vllm);
        let names: Vec<(&str, Stream)> = g.ops.iter().map(|o| (o.name, o.stream)).collect();
        assert_eq!(
            names,
            [
                ("embedding", Stream::Main),
                ("add_norm_1", Stream::Main),
                ("mla", Stream::Main),
                ("add_norm_2", Stream::Main),
                ("shared_gate_up_gemm", Stream::Shared),
                ("shared_act_gate", Stream::Shared),
                ("shared_ffn2_gemm", Stream::Shared),
                ("router_gemm", Stream::Routed),
                ("moe_pre_dispatch", Stream::Routed),
                ("moe", Stream::Routed),
                ("moe_post_dispatch", Stream::Routed),
                ("logits_gemm", Stream::Main),
                ("tp_allreduce", Stream::Main),
            ]
        );
        assert_eq!(find(&g, "moe").count, 61.0);
        assert_eq!(find(&g, "tp_allreduce").count, 122.0);
        let OpKind::Mla(mla) = find(&g, "mla").kind else {
            panic!()
        };
        assert_eq!(
            mla.projections(),
            [
                ("q_a_kv_a_gemm", 1536 + 512 + 64, 7168),
                ("q_b_gemm", 16 * 192, 1536),
                ("kv_b_gemm", 16 * 256, 512),
                ("proj_gemm", 7168, 16 * 128),
            ]
        );
        let sglang = graph("deepseek-v3", 8, Backend::Sglang);
        assert!(sglang.ops.iter().all(|o| o.name != "tp_allreduce"));
    }
}
