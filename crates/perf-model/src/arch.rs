//! Model architectures: the shapes a forward pass is made of, and what follows from them
//! (parameter counts, weight bytes, KV bytes per token).
//!
//! A [`ModelArch`] comes from a Hugging Face `config.json` ([`ModelArch::from_hf_config`]) or
//! from the built-in catalogue ([`ModelArch::resolve`], see [`crate::models`]).

use std::fmt;

/// Numeric format of weights, activations or the KV cache.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DType {
    /// bfloat16 (2 bytes).
    Bf16,
    /// 8-bit floating point with per-tensor (or per-channel) scales (1 byte): NVIDIA ModelOpt
    /// checkpoints, engines quantising on load, FP8 KV caches.
    Fp8,
    /// 8-bit floating point with 128×128 block scales (1 byte): DeepSeek's and Qwen's FP8
    /// releases. Its GEMMs run other kernels than per-tensor FP8.
    Fp8Block,
    /// NVFP4: 4-bit floating point with one FP8 scale per 16 elements (NVIDIA ModelOpt
    /// checkpoints); Blackwell multiplies it natively.
    Fp4,
    /// MXFP4: 4-bit floating point with one power-of-two scale per 32 elements (gpt-oss, AMD's
    /// releases). Its experts run other kernels than NVFP4 (bf16 activations on Hopper).
    Mxfp4,
}

impl DType {
    /// Bytes per element (scale factors of block formats ignored): what a kernel moves per
    /// element.
    pub fn bytes(self) -> f64 {
        match self {
            DType::Bf16 => 2.0,
            DType::Fp8 | DType::Fp8Block => 1.0,
            DType::Fp4 | DType::Mxfp4 => 0.5,
        }
    }

    /// Bytes per stored weight element, scale factors included: NVFP4 keeps one FP8 scale per
    /// 16 elements (+1/16 byte), MXFP4 one per 32 (+1/32 byte); FP8's per-tensor or
    /// 128×128-block scales are negligible.
    pub fn storage_bytes(self) -> f64 {
        match self {
            DType::Fp4 => 0.5 + 1.0 / 16.0,
            DType::Mxfp4 => 0.5 + 1.0 / 32.0,
            other => other.bytes(),
        }
    }

    /// The name used in tables and output (`bf16`, `fp8`, `fp8_block`, `fp4`, `mxfp4`).
    pub fn as_str(self) -> &'static str {
        match self {
            DType::Bf16 => "bf16",
            DType::Fp8 => "fp8",
            DType::Fp8Block => "fp8_block",
            DType::Fp4 => "fp4",
            DType::Mxfp4 => "mxfp4",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The attention block of every layer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Attention {
    /// Grouped-query attention (multi-head when `kv_heads == heads`).
    Gqa {
        /// Query heads.
        heads: u32,
        /// Key/value heads.
        kv_heads: u32,
        /// Dimension of one head.
        head_dim: u32,
        /// RMS norm on queries and keys (Qwen3).
        qk_norm: bool,
        /// Biases on the Q, K, V and output projections (gpt-oss).
        bias: bool,
        /// Sliding-window layers: `(window tokens, how many layers)`; the other layers
        /// attend to the whole context.
        sliding: Option<(u32, u32)>,
    },
    /// Multi-head latent attention (DeepSeek-V3): keys and values are compressed into one
    /// latent vector per token, which is all the KV cache stores.
    Mla {
        /// Query heads.
        heads: u32,
        /// Rank of the query compression (0: queries are projected directly).
        q_lora_rank: u32,
        /// Rank of the key/value latent.
        kv_lora_rank: u32,
        /// Per-head query/key dimension without rotary embedding.
        qk_nope_head_dim: u32,
        /// Per-head rotary dimension (shared key part stored in the latent).
        qk_rope_head_dim: u32,
        /// Per-head value dimension.
        v_head_dim: u32,
    },
}

impl Attention {
    /// Query heads.
    pub fn heads(&self) -> u32 {
        match *self {
            Attention::Gqa { heads, .. } | Attention::Mla { heads, .. } => heads,
        }
    }

    /// Width of the concatenated attention output (the input of the output projection).
    pub fn output_width(&self) -> u64 {
        match *self {
            Attention::Gqa {
                heads, head_dim, ..
            } => u64::from(heads) * u64::from(head_dim),
            Attention::Mla {
                heads, v_head_dim, ..
            } => u64::from(heads) * u64::from(v_head_dim),
        }
    }
}

/// The mixture-of-experts part of a model.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Moe {
    /// Routed experts.
    pub experts: u32,
    /// Experts each token is routed to.
    pub top_k: u32,
    /// Intermediate size of one routed expert.
    pub expert_inter: u32,
    /// Intermediate size of the always-active shared expert(s) (0: none).
    pub shared_inter: u32,
    /// The first `dense_layers` layers use a dense MLP (`dense_inter`) instead.
    pub dense_layers: u32,
    /// Numeric format of the expert weights.
    pub expert_dtype: DType,
    /// Biases on the expert and router projections (gpt-oss).
    pub bias: bool,
}

/// A decoder-only transformer, as far as timing and memory are concerned.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ModelArch {
    /// Short canonical name (`llama-3.1-8b`) or the config's path.
    pub name: String,
    /// Hugging Face id, when known.
    pub hf_id: String,
    /// Decoder layers (without MTP layers).
    pub layers: u32,
    /// Hidden size.
    pub hidden: u32,
    /// Vocabulary size.
    pub vocab: u32,
    /// Input embedding and output projection share their weights.
    pub tied_embeddings: bool,
    /// The attention block.
    pub attention: Attention,
    /// Intermediate size of the dense (SwiGLU) MLP; for MoE models, of the first dense layers.
    pub dense_inter: u32,
    /// The experts, for MoE models.
    pub moe: Option<Moe>,
    /// Extra multi-token-prediction layers (DeepSeek's `num_nextn_predict_layers`); not part
    /// of the main forward pass, counted separately.
    pub mtp_layers: u32,
    /// Numeric format of the non-expert projection weights (and of their GEMMs).
    pub gemm_dtype: DType,
    /// Numeric format of the KV cache the checkpoint declares: FP8 for checkpoints shipping
    /// KV-cache scales (NVIDIA ModelOpt releases, `kv_cache_quant_algo: FP8`), else bf16.
    /// Engines that honour the checkpoint's KV quantisation use it under
    /// `kv_cache_dtype: auto`; vLLM uses the activation dtype (bf16) instead.
    pub kv_dtype: DType,
}

impl ModelArch {
    /// Layers with a dense MLP.
    pub fn dense_mlp_layers(&self) -> u32 {
        match &self.moe {
            None => self.layers,
            Some(moe) => moe.dense_layers.min(self.layers),
        }
    }

    /// Layers with a mixture of experts.
    pub fn moe_layers(&self) -> u32 {
        self.layers - self.dense_mlp_layers()
    }

    /// Parameters of one attention block.
    pub fn attention_params(&self) -> u64 {
        let h = u64::from(self.hidden);
        match self.attention {
            Attention::Gqa {
                heads,
                kv_heads,
                head_dim,
                qk_norm,
                bias,
                ..
            } => {
                let (q, kv) = (
                    u64::from(heads) * u64::from(head_dim),
                    u64::from(kv_heads) * u64::from(head_dim),
                );
                let weights = h * (q + 2 * kv) + q * h;
                let biases = if bias { q + 2 * kv + h } else { 0 };
                let norms = if qk_norm { 2 * u64::from(head_dim) } else { 0 };
                weights + biases + norms
            }
            Attention::Mla {
                heads,
                q_lora_rank,
                kv_lora_rank,
                qk_nope_head_dim,
                qk_rope_head_dim,
                v_head_dim,
            } => {
                let heads = u64::from(heads);
                let qk = u64::from(qk_nope_head_dim) + u64::from(qk_rope_head_dim);
                let q = if q_lora_rank == 0 {
                    h * heads * qk
                } else {
                    let r = u64::from(q_lora_rank);
                    h * r + r + r * heads * qk
                };
                let r = u64::from(kv_lora_rank);
                let kv_a = h * (r + u64::from(qk_rope_head_dim)) + r;
                let kv_b = r * heads * (u64::from(qk_nope_head_dim) + u64::from(v_head_dim));
                let o = heads * u64::from(v_head_dim) * h;
                q + kv_a + kv_b + o
            }
        }
    }

    /// Parameters of one dense SwiGLU MLP of intermediate size `inter`.
    fn swiglu_params(&self, inter: u32) -> u64 {
        3 * u64::from(self.hidden) * u64::from(inter)
    }

    /// Parameters of one routed expert.
    pub fn expert_params(&self) -> u64 {
        self.moe.map_or(0, |moe| {
            // Gate and up projections carry 2·inter biases, the down projection `hidden`.
            let bias = if moe.bias {
                2 * u64::from(moe.expert_inter) + u64::from(self.hidden)
            } else {
                0
            };
            self.swiglu_params(moe.expert_inter) + bias
        })
    }

    /// Parameters of one MoE layer's router and shared expert (everything but the routed
    /// experts).
    fn moe_fixed_params(&self) -> u64 {
        self.moe.map_or(0, |moe| {
            let router = u64::from(self.hidden) * u64::from(moe.experts)
                + if moe.bias { u64::from(moe.experts) } else { 0 };
            router + self.swiglu_params(moe.shared_inter)
        })
    }

    /// Embedding and output-projection parameters.
    pub fn embedding_params(&self) -> u64 {
        let table = u64::from(self.vocab) * u64::from(self.hidden);
        if self.tied_embeddings {
            table
        } else {
            2 * table
        }
    }

    /// Total parameters of the main model (embeddings included; MTP layers excluded).
    pub fn total_params(&self) -> u64 {
        let h = u64::from(self.hidden);
        let norms = 2 * h;
        let per_layer = self.attention_params() + norms;
        let dense = u64::from(self.dense_mlp_layers()) * self.swiglu_params(self.dense_inter);
        let moe = self.moe.map_or(0, |moe| {
            u64::from(self.moe_layers())
                * (self.moe_fixed_params() + u64::from(moe.experts) * self.expert_params())
        });
        u64::from(self.layers) * per_layer + dense + moe + self.embedding_params() + h
    }

    /// Parameters used for one token: the total less the routed experts a token does not
    /// visit. Embeddings count in full (vendors differ: gpt-oss's quoted active counts
    /// include only one of its two vocabulary tables).
    pub fn active_params(&self) -> u64 {
        let idle = self.moe.map_or(0, |moe| {
            u64::from(self.moe_layers())
                * u64::from(moe.experts.saturating_sub(moe.top_k))
                * self.expert_params()
        });
        self.total_params() - idle
    }

    /// Bytes of all weights as stored (experts in their own format, embeddings and norms in
    /// bf16, other projections in [`gemm_dtype`](Self::gemm_dtype)).
    pub fn weight_bytes(&self) -> f64 {
        let experts = self.moe.map_or(0.0, |moe| {
            f64::from(self.moe_layers())
                * f64::from(moe.experts)
                * self.expert_params() as f64
                * moe.expert_dtype.storage_bytes()
        });
        let embeddings = self.embedding_params() as f64 * DType::Bf16.bytes();
        let expert_params = self.moe.map_or(0, |moe| {
            u64::from(self.moe_layers()) * u64::from(moe.experts) * self.expert_params()
        });
        let rest = (self.total_params() - expert_params - self.embedding_params()) as f64;
        experts + embeddings + rest * self.gemm_dtype.storage_bytes()
    }

    /// KV-cache elements stored per token per layer (keys and values, all heads).
    pub fn kv_elements_per_token_layer(&self) -> u64 {
        match self.attention {
            Attention::Gqa {
                kv_heads, head_dim, ..
            } => 2 * u64::from(kv_heads) * u64::from(head_dim),
            Attention::Mla {
                kv_lora_rank,
                qk_rope_head_dim,
                ..
            } => u64::from(kv_lora_rank) + u64::from(qk_rope_head_dim),
        }
    }

    /// KV-cache bytes per token for the whole model in format `dtype` (every layer, no
    /// sliding-window cap, no tensor parallelism).
    ///
    /// ```
    /// use servesim_perf::{DType, ModelArch};
    /// let llama = ModelArch::resolve("meta-llama/Llama-3.1-8B")?;
    /// assert_eq!(llama.kv_bytes_per_token(DType::Bf16), 128 * 1024);
    /// # Ok::<(), servesim_perf::PerfError>(())
    /// ```
    pub fn kv_bytes_per_token(&self, dtype: DType) -> u64 {
        let elements = u64::from(self.layers) * self.kv_elements_per_token_layer();
        (elements as f64 * dtype.bytes()).round() as u64
    }

    /// Whether this is a mixture-of-experts model.
    pub fn is_moe(&self) -> bool {
        self.moe.is_some()
    }

    /// Stores the projection weights and experts in `dtype` (a quantised checkpoint, or an
    /// engine quantising on load). Latent-attention models keep their attention projections
    /// at FP8 or wider: FP4 releases of DeepSeek quantise only the experts and dense MLPs.
    pub fn quantize_weights(&mut self, dtype: DType) {
        let mla = matches!(self.attention, Attention::Mla { .. });
        if !(mla && dtype == DType::Fp4) {
            self.gemm_dtype = dtype;
        }
        if let Some(moe) = &mut self.moe {
            moe.expert_dtype = dtype;
        }
    }
}
