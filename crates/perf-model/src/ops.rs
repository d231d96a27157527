//! The forward pass as a list of operations, as AIConfigurator composes it.
//!
//! A [`ForwardGraph`] ([`ForwardGraph::build`], in `graph.rs`) holds the per-GPU ops of one
//! forward pass, each with the number of times it repeats (layers), the passes it runs in
//! and the CUDA stream it runs on. An [`OpCoster`](crate::OpCoster) prices single ops;
//! [`crate::StepModel`] sums them for a pass. Ops do not overlap (the pass time is the sum of
//! its parts), as in AIConfigurator — except that in decode passes the shared expert of a
//! DeepSeek-style model runs on a second stream, concurrently with the routed experts.

use crate::arch::DType;

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

/// The multi-head latent attention block of one layer on one GPU (DeepSeek): the latent
/// down-projection, the query and key/value up-projections, attention over the latent cache
/// and the output projection. AIConfigurator measures the block as one module.
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize)]
pub struct MlaShape {
    /// The attention proper (heads on this GPU, latent decode dimensions, cache format).
    pub attention: AttnShape,
    /// Hidden size.
    pub hidden: u32,
    /// Rank of the query compression (0: queries are projected directly).
    pub q_lora_rank: u32,
    /// Rank of the key/value latent.
    pub kv_lora_rank: u32,
    /// Per-head query/key dimension without rotary embedding.
    pub qk_nope_head_dim: u32,
    /// Per-head rotary dimension.
    pub qk_rope_head_dim: u32,
    /// Per-head value dimension.
    pub v_head_dim: u32,
    /// Format of the projection weights.
    pub dtype: DType,
}

impl MlaShape {
    /// The block's projection GEMMs `(name, n, k)` on one GPU, in execution order; without a
    /// query compression the second one is absent (`n = k = 0`).
    pub fn projections(&self) -> [(&'static str, u64, u64); 4] {
        let heads = u64::from(self.attention.heads);
        let qk = u64::from(self.qk_nope_head_dim + self.qk_rope_head_dim);
        let (rank, rope) = (
            u64::from(self.kv_lora_rank),
            u64::from(self.qk_rope_head_dim),
        );
        let h = u64::from(self.hidden);
        let (down, up) = if self.q_lora_rank > 0 {
            let q_rank = u64::from(self.q_lora_rank);
            (
                ("q_a_kv_a_gemm", q_rank + rank + rope, h),
                ("q_b_gemm", heads * qk, q_rank),
            )
        } else {
            (
                ("q_kv_a_gemm", heads * qk + rank + rope, h),
                ("q_b_gemm", 0, 0),
            )
        };
        [
            down,
            up,
            (
                "kv_b_gemm",
                heads * u64::from(self.qk_nope_head_dim + self.v_head_dim),
                rank,
            ),
            ("proj_gemm", h, heads * u64::from(self.v_head_dim)),
        ]
    }
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
    /// The whole multi-head latent attention block of one layer, projections included.
    Mla(MlaShape),
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
    /// Expert-parallel dispatch or combine under attention data parallelism, priced as an
    /// all-gather (reduce-scatter) of every token's hidden state over the MoE group.
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
    /// The passes it runs in.
    pub phases: Phases,
    /// The CUDA stream it runs on in decode passes.
    pub stream: Stream,
}

/// The passes an op runs in. AIConfigurator builds one op list for prefill (and mixed)
/// passes and one for decode passes; most ops are in both.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phases {
    /// Every pass.
    All,
    /// Decode-only passes (AIConfigurator's MoE models compute the logits there only).
    DecodeOnly,
}

/// The CUDA stream an op runs on in decode passes: the shared expert of a DeepSeek-style
/// MoE layer runs beside the routed experts (CUDA graphs), so a decode pass costs
/// `max(routed, shared)` for them; prefill and mixed passes run them one after the other.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// The main stream: everything else.
    Main,
    /// The routed-expert path of a layer with a shared expert.
    Routed,
    /// The shared-expert path.
    Shared,
}

/// The ops of one forward pass on one GPU.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ForwardGraph {
    /// The ops, in execution order.
    pub ops: Vec<Op>,
}
