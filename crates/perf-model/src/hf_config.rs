//! Reading a Hugging Face `config.json` into a [`ModelArch`].
//!
//! Only the fields that shape the forward pass are read; unknown fields are ignored, as
//! configs carry many. Supported families: Llama/Mistral/Qwen2/Qwen3 (dense GQA), Qwen3-MoE,
//! Mixtral, DeepSeek-V2/V3 (MLA + MoE), gpt-oss.

use serde::Deserialize;

use crate::arch::{Attention, DType, ModelArch, Moe};
use crate::error::PerfError;

/// The subset of `config.json` servesim reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawConfig {
    #[serde(rename = "_name_or_path")]
    name_or_path: Option<String>,
    architectures: Vec<String>,
    model_type: String,
    num_hidden_layers: Option<u32>,
    hidden_size: Option<u32>,
    num_attention_heads: Option<u32>,
    num_key_value_heads: Option<u32>,
    head_dim: Option<u32>,
    intermediate_size: Option<u32>,
    vocab_size: Option<u32>,
    tie_word_embeddings: bool,
    attention_bias: bool,
    sliding_window: Option<u32>,
    layer_types: Vec<String>,
    torch_dtype: Option<String>,
    // MoE
    num_experts: Option<u32>,
    num_local_experts: Option<u32>,
    n_routed_experts: Option<u32>,
    num_experts_per_tok: Option<u32>,
    moe_intermediate_size: Option<u32>,
    n_shared_experts: Option<u32>,
    shared_expert_intermediate_size: Option<u32>,
    first_k_dense_replace: Option<u32>,
    // MLA
    kv_lora_rank: Option<u32>,
    q_lora_rank: Option<u32>,
    qk_nope_head_dim: Option<u32>,
    qk_rope_head_dim: Option<u32>,
    v_head_dim: Option<u32>,
    num_nextn_predict_layers: Option<u32>,
    quantization_config: Option<Quantization>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Quantization {
    quant_method: String,
    /// ModelOpt's KV-cache quantisation (`FP8`), when the checkpoint ships KV scales.
    kv_cache_quant_algo: Option<String>,
    /// Block shape of block-scaled weights (`[128, 128]`).
    weight_block_size: Option<Vec<u32>>,
}

fn invalid(source: &str, message: impl Into<String>) -> PerfError {
    PerfError::ModelConfig {
        path: source.to_owned(),
        message: message.into(),
    }
}

fn required(source: &str, field: &'static str, value: Option<u32>) -> Result<u32, PerfError> {
    match value {
        Some(v) if v > 0 => Ok(v),
        Some(_) => Err(invalid(source, format!("`{field}` must be ≥ 1"))),
        None => Err(invalid(source, format!("missing `{field}`"))),
    }
}

impl ModelArch {
    /// Parses a Hugging Face `config.json`. `name` becomes the model's name; `source` names
    /// the file in errors.
    ///
    /// ```
    /// use servesim_perf::ModelArch;
    /// let text = r#"{"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64,
    ///   "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128,
    ///   "vocab_size": 1000}"#;
    /// let arch = ModelArch::from_hf_config(text, "tiny", "tiny/config.json")?;
    /// assert_eq!(arch.kv_bytes_per_token(servesim_perf::DType::Bf16), 2 * 2 * 2 * 16 * 2);
    /// # Ok::<(), servesim_perf::PerfError>(())
    /// ```
    pub fn from_hf_config(text: &str, name: &str, source: &str) -> Result<ModelArch, PerfError> {
        let raw: RawConfig =
            serde_json::from_str(text).map_err(|e| invalid(source, e.to_string()))?;
        let layers = required(source, "num_hidden_layers", raw.num_hidden_layers)?;
        let hidden = required(source, "hidden_size", raw.hidden_size)?;
        let heads = required(source, "num_attention_heads", raw.num_attention_heads)?;
        let vocab = required(source, "vocab_size", raw.vocab_size)?;
        let quant = raw
            .quantization_config
            .as_ref()
            .map(|q| q.quant_method.to_ascii_lowercase())
            .unwrap_or_default();
        let model_type = raw.model_type.to_ascii_lowercase();
        let is_deepseek = model_type.starts_with("deepseek") || raw.kv_lora_rank.is_some();
        let block_scaled = raw
            .quantization_config
            .as_ref()
            .is_some_and(|q| q.weight_block_size.is_some());
        let fp8 = if block_scaled {
            DType::Fp8Block
        } else {
            DType::Fp8
        };
        let gemm_dtype = match quant.as_str() {
            "fp8" => fp8,
            "modelopt_fp4" | "nvfp4" => DType::Fp4,
            _ => DType::Bf16,
        };
        let kv_quant = raw
            .quantization_config
            .as_ref()
            .and_then(|q| q.kv_cache_quant_algo.as_deref())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let attention = if is_deepseek {
            Attention::Mla {
                heads,
                q_lora_rank: raw.q_lora_rank.unwrap_or(0),
                kv_lora_rank: required(source, "kv_lora_rank", raw.kv_lora_rank)?,
                qk_nope_head_dim: required(source, "qk_nope_head_dim", raw.qk_nope_head_dim)?,
                qk_rope_head_dim: required(source, "qk_rope_head_dim", raw.qk_rope_head_dim)?,
                v_head_dim: required(source, "v_head_dim", raw.v_head_dim)?,
            }
        } else {
            let kv_heads = raw.num_key_value_heads.unwrap_or(heads);
            if kv_heads == 0 || heads % kv_heads != 0 {
                return Err(invalid(
                    source,
                    format!(
                        "`num_key_value_heads` ({kv_heads}) must divide `num_attention_heads` ({heads})"
                    ),
                ));
            }
            let head_dim = match raw.head_dim {
                Some(d) => d,
                None if hidden % heads == 0 => hidden / heads,
                None => return Err(invalid(source, "missing `head_dim`")),
            };
            let sliding_layers = raw
                .layer_types
                .iter()
                .filter(|t| t.as_str() == "sliding_attention")
                .count() as u32;
            Attention::Gqa {
                heads,
                kv_heads,
                head_dim,
                qk_norm: model_type.starts_with("qwen3"),
                bias: raw.attention_bias,
                sliding: match raw.sliding_window {
                    Some(window) if sliding_layers > 0 => Some((window, sliding_layers)),
                    _ => None,
                },
            }
        };
        let experts = raw
            .num_experts
            .or(raw.num_local_experts)
            .or(raw.n_routed_experts)
            .filter(|&e| e > 1);
        let moe = match experts {
            None => None,
            Some(experts) => {
                let top_k = required(source, "num_experts_per_tok", raw.num_experts_per_tok)?;
                if top_k > experts {
                    return Err(invalid(
                        source,
                        format!("`num_experts_per_tok` ({top_k}) exceeds the {experts} experts"),
                    ));
                }
                let expert_inter = match raw.moe_intermediate_size {
                    Some(i) => i,
                    None => required(source, "intermediate_size", raw.intermediate_size)?,
                };
                let shared_inter = raw
                    .shared_expert_intermediate_size
                    .unwrap_or(raw.n_shared_experts.unwrap_or(0) * expert_inter);
                Some(Moe {
                    experts,
                    top_k,
                    expert_inter,
                    shared_inter,
                    dense_layers: raw.first_k_dense_replace.unwrap_or(0),
                    expert_dtype: match quant.as_str() {
                        "nvfp4" | "modelopt_fp4" => DType::Fp4,
                        "mxfp4" => DType::Mxfp4,
                        "fp8" => fp8,
                        _ => DType::Bf16,
                    },
                    bias: model_type == "gpt_oss",
                })
            }
        };
        let dense_inter = match (&moe, raw.intermediate_size) {
            (_, Some(i)) => i,
            (Some(_), None) => 0,
            (None, None) => return Err(invalid(source, "missing `intermediate_size`")),
        };
        if raw.torch_dtype.as_deref() == Some("float32") && raw.quantization_config.is_none() {
            return Err(invalid(
                source,
                "float32 checkpoints are not supported (serving runs bf16, fp8 or fp4)",
            ));
        }
        Ok(ModelArch {
            name: name.to_owned(),
            hf_id: raw.name_or_path.unwrap_or_else(|| name.to_owned()),
            layers,
            hidden,
            vocab,
            tied_embeddings: raw.tie_word_embeddings,
            attention,
            dense_inter,
            moe,
            mtp_layers: raw.num_nextn_predict_layers.unwrap_or(0),
            gemm_dtype,
            kv_dtype: if kv_quant == "fp8" {
                DType::Fp8
            } else {
                DType::Bf16
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_inconsistent_fields_are_named() {
        let err = ModelArch::from_hf_config(r#"{"hidden_size": 8}"#, "x", "x.json").unwrap_err();
        assert_eq!(err.to_string(), "x.json: missing `num_hidden_layers`");
        let err = ModelArch::from_hf_config(
            r#"{"num_hidden_layers": 1, "hidden_size": 8, "num_attention_heads": 3,
                "num_key_value_heads": 2, "intermediate_size": 8, "vocab_size": 8}"#,
            "x",
            "x.json",
        )
        .unwrap_err();
        assert!(err.to_string().contains("must divide"), "{err}");
        let err = ModelArch::from_hf_config("not json", "x", "x.json").unwrap_err();
        assert!(err.to_string().starts_with("x.json: expected"), "{err}");
    }
}
