//! The enumerated engine arguments: scheduler family, worker role, preemption victim, timing
//! model, KV-cache and weight formats, TensorRT-LLM's capacity policy, and count limits that
//! may be left to the backend.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use servesim_perf::DType;

/// Which scheduler family the engine simulates.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineType {
    /// vLLM V1-style scheduling (the default).
    #[default]
    Vllm,
    /// SGLang-style scheduling.
    Sglang,
    /// TensorRT-LLM-style in-flight batching under a capacity scheduler.
    Trtllm,
}

impl EngineType {
    /// The name used in configurations and reports.
    pub fn name(self) -> &'static str {
        match self {
            EngineType::Vllm => "vllm",
            EngineType::Sglang => "sglang",
            EngineType::Trtllm => "trtllm",
        }
    }
}

/// The role of a worker in the serving topology.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerType {
    /// Prefills and decodes (aggregated serving; the default).
    #[default]
    Aggregated,
    /// Prefill only: a request ends when its prompt is in KV (disaggregated serving).
    Prefill,
    /// Decode only: requests arrive with their prompt's KV transferred; no prefill is charged.
    Decode,
}

/// Which running request vLLM preempts when KV blocks run out.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PreemptionMode {
    /// The most recently admitted (vLLM's default).
    #[default]
    Lifo,
    /// The earliest admitted.
    Fifo,
}

/// Which timing model prices forward passes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PerfModelKind {
    /// The reference's polynomial formulas.
    Polynomial,
    /// A measured profile table (`planner_profile_data`).
    Interpolated,
    /// The per-GPU analytical op model (`aic_*` keys).
    Analytical,
    /// AIConfigurator's measured database (`aic_*` keys).
    AicDb,
}

/// The format of the KV cache (`kv_cache_dtype`), as the backends spell it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KvCacheDtype {
    /// The backend's rule: vLLM stores KV in the activation dtype (bf16); SGLang and
    /// TensorRT-LLM use the checkpoint's KV quantisation (FP8 for NVIDIA ModelOpt releases),
    /// else the activation dtype.
    #[default]
    Auto,
    /// bfloat16.
    #[serde(alias = "bfloat16")]
    Bf16,
    /// float16 (two bytes, like bf16).
    #[serde(alias = "float16", alias = "half")]
    Fp16,
    /// 8-bit floating point (vLLM's `fp8` is E4M3 on CUDA).
    Fp8,
    /// FP8 E4M3.
    #[serde(alias = "float8_e4m3fn")]
    Fp8E4m3,
    /// FP8 E5M2.
    Fp8E5m2,
}

impl KvCacheDtype {
    /// The storage format, `None` for `auto`.
    pub fn dtype(self) -> Option<DType> {
        match self {
            KvCacheDtype::Auto => None,
            KvCacheDtype::Bf16 | KvCacheDtype::Fp16 => Some(DType::Bf16),
            KvCacheDtype::Fp8 | KvCacheDtype::Fp8E4m3 | KvCacheDtype::Fp8E5m2 => Some(DType::Fp8),
        }
    }
}

/// The format of the projection weights (`weight_dtype`), when it differs from what the
/// checkpoint's name says: an engine quantising on load (`vllm --quantization fp8`,
/// `trtllm-bench build --quantization FP8`) or an unnamed quantised checkpoint.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightDtype {
    /// bfloat16.
    #[serde(alias = "bfloat16")]
    Bf16,
    /// float16 (two bytes, bf16 arithmetic).
    #[serde(alias = "float16", alias = "half")]
    Fp16,
    /// FP8 (per-tensor or block-scaled).
    Fp8,
    /// NVFP4 (NVIDIA ModelOpt's FP4).
    #[serde(alias = "nvfp4")]
    Fp4,
    /// MXFP4 (gpt-oss's and AMD's FP4).
    Mxfp4,
}

impl WeightDtype {
    /// The storage and arithmetic format.
    pub fn dtype(self) -> DType {
        match self {
            WeightDtype::Bf16 | WeightDtype::Fp16 => DType::Bf16,
            WeightDtype::Fp8 => DType::Fp8,
            WeightDtype::Fp4 => DType::Fp4,
            WeightDtype::Mxfp4 => DType::Mxfp4,
        }
    }
}

/// TensorRT-LLM's capacity scheduler policy (`capacity_scheduler_policy`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CapacityPolicy {
    /// Admit a request only if the KV blocks it needs to completion (prompt + maximum
    /// output) fit next to what running requests are guaranteed; never evict (the default).
    #[default]
    #[serde(alias = "guaranteed_no_evict")]
    GuaranteedNoEvict,
    /// Admit greedily on the next step's blocks; when blocks run out, pause the most
    /// recently started request (its KV is dropped and recomputed later).
    #[serde(alias = "max_utilization")]
    MaxUtilization,
}

/// A count limit as engine arguments give it: absent (the backend's default), `null`
/// (unlimited) or a number.
///
/// ```
/// use servesim_engine::{EngineArgs, Limit};
/// let args = EngineArgs::from_json(r#"{"max_num_seqs": null, "max_num_batched_tokens": 512}"#)?;
/// assert_eq!((args.max_num_seqs, args.max_num_batched_tokens), (Limit::Unlimited, Limit::At(512)));
/// assert_eq!(EngineArgs::default().max_num_seqs, Limit::Default);
/// # Ok::<(), servesim_engine::EngineError>(())
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Limit {
    /// Not given: the backend's default applies.
    #[default]
    Default,
    /// `null`: no limit.
    Unlimited,
    /// This many.
    At(u32),
}

impl Limit {
    /// Whether the limit was left to the backend.
    pub fn is_default(&self) -> bool {
        *self == Limit::Default
    }

    /// The limit with `default` for [`Limit::Default`] and `u32::MAX` for unlimited.
    pub fn or(self, default: u32) -> u32 {
        match self {
            Limit::Default => default,
            Limit::Unlimited => u32::MAX,
            Limit::At(n) => n,
        }
    }
}

impl Serialize for Limit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Limit::At(n) => serializer.serialize_u32(*n),
            Limit::Default | Limit::Unlimited => serializer.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<u32>::deserialize(deserializer)? {
            Some(n) => Limit::At(n),
            None => Limit::Unlimited,
        })
    }
}
