//! The timing model and deployment the `aic_*`, `perf_model` and `planner_profile_data` keys
//! select.

#[cfg(feature = "aic-db")]
use std::path::PathBuf;
use std::sync::Arc;

use servesim_perf::{DType, Deployment, InterpolatedModel, ModelArch, PerfModel, PolynomialModel};

use super::args::EngineArgs;
use super::kinds::{EngineType, PerfModelKind};
use crate::error::EngineError;

impl EngineArgs {
    /// The model, GPU, backend and parallel layout of the `aic_*` keys (`None` without
    /// `aic_model_path`). Defaults as the reference's: system `h200_sxm`, backend the
    /// engine's, TP 1, attention DP 1, MoE sizes from `tp × attention_dp = moe_tp × moe_ep`.
    /// Weights are stored as `weight_dtype` says (else as the checkpoint's name says), the
    /// KV cache as [`EngineArgs::kv_dtype`] resolves `kv_cache_dtype`.
    ///
    /// ```
    /// use servesim_engine::EngineArgs;
    /// let args = EngineArgs::from_json(r#"{"aic_model_path": "Qwen/Qwen3-32B", "aic_tp_size": 2}"#)?;
    /// let d = args.deployment()?.expect("aic_model_path is set");
    /// assert_eq!(d.describe(), "qwen3-32b on h200_sxm (vllm, tp 2)");
    /// # Ok::<(), servesim_engine::EngineError>(())
    /// ```
    pub fn deployment(&self) -> Result<Option<Deployment>, EngineError> {
        let Some(model) = &self.aic_model_path else {
            return Ok(None);
        };
        let backend = self
            .aic_backend
            .as_deref()
            .unwrap_or(self.engine_type.name());
        let mut deployment = Deployment::new(
            model,
            self.aic_system.as_deref().unwrap_or("h200_sxm"),
            backend,
            self.aic_tp_size.unwrap_or(1),
            self.aic_moe_tp_size,
            self.aic_moe_ep_size,
            self.aic_attention_dp_size.unwrap_or(1),
        )
        .map_err(|e| {
            let key = match e {
                servesim_perf::PerfError::UnknownSystem { .. } => "aic_system",
                servesim_perf::PerfError::UnknownBackend { .. } => "aic_backend",
                servesim_perf::PerfError::Parallelism(_) => "aic_tp_size",
                _ => "aic_model_path",
            };
            EngineError::config(key, e.to_string())
        })?;
        if let Some(dtype) = self.weight_dtype {
            deployment.arch.quantize_weights(dtype.dtype());
        }
        let kv_dtype = self.kv_dtype(&deployment.arch);
        Ok(Some(deployment.with_kv_dtype(kv_dtype)))
    }

    /// The KV-cache format for `arch`: `kv_cache_dtype` when given, else the engine's rule for
    /// `auto` — vLLM stores the activation dtype (bf16), SGLang and TensorRT-LLM the
    /// checkpoint's KV quantisation ([`ModelArch::kv_dtype`]: FP8 for NVIDIA ModelOpt
    /// releases); TensorRT-LLM quantising weights to FP8 or FP4 itself (`weight_dtype`, as
    /// `trtllm-bench build --quantization` does) quantises the KV cache to FP8 with them.
    ///
    /// ```
    /// use servesim_engine::EngineArgs;
    /// use servesim_perf::{DType, ModelArch};
    /// let arch = ModelArch::resolve("nvidia/Llama-3.3-70B-Instruct-FP8")?;
    /// let vllm = EngineArgs::from_json("{}")?;
    /// let trtllm = EngineArgs::from_json(r#"{"engine_type": "trtllm"}"#)?;
    /// assert_eq!((vllm.kv_dtype(&arch), trtllm.kv_dtype(&arch)), (DType::Bf16, DType::Fp8));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kv_dtype(&self, arch: &ModelArch) -> DType {
        let quantized = self.weight_dtype.is_some_and(|w| w.dtype() != DType::Bf16);
        self.kv_cache_dtype
            .dtype()
            .unwrap_or(match self.engine_type {
                EngineType::Vllm => DType::Bf16,
                EngineType::Trtllm if quantized => DType::Fp8,
                EngineType::Sglang | EngineType::Trtllm => arch.kv_dtype,
            })
    }

    /// Builds the timing model these arguments select.
    pub fn perf_model(&self) -> Result<Arc<dyn PerfModel>, EngineError> {
        match self.perf_model_kind() {
            PerfModelKind::Polynomial => Ok(Arc::new(PolynomialModel)),
            PerfModelKind::Interpolated => {
                let path = self.planner_profile_data.as_ref().ok_or_else(|| {
                    EngineError::config(
                        "planner_profile_data",
                        "is required by `perf_model: interpolated` (a JSON or CSV profile table)",
                    )
                })?;
                Ok(Arc::new(InterpolatedModel::load(path).map_err(|e| {
                    EngineError::config("planner_profile_data", e.to_string())
                })?))
            }
            PerfModelKind::Analytical => {
                let deployment = self.deployment()?.ok_or_else(|| {
                    EngineError::config(
                        "aic_model_path",
                        "is required by `perf_model: analytical` (a model name such as meta-llama/Llama-3.1-8B, or a config.json path)",
                    )
                })?;
                let model = deployment
                    .analytical()
                    .map_err(|e| EngineError::config("aic_system", e.to_string()))?;
                Ok(Arc::new(model))
            }
            PerfModelKind::AicDb => self.aic_db_model(),
        }
    }

    /// The `aic-db` model: AIConfigurator's tables under `aic_systems_path` (or
    /// `$SERVESIM_AIC_SYSTEMS`) for the deployment of the `aic_*` keys.
    #[cfg(feature = "aic-db")]
    fn aic_db_model(&self) -> Result<Arc<dyn PerfModel>, EngineError> {
        let deployment = self.deployment()?.ok_or_else(|| {
            EngineError::config(
                "aic_model_path",
                "is required by `perf_model: aic-db` (a model name such as meta-llama/Llama-3.1-8B, or a config.json path)",
            )
        })?;
        let root = self
            .aic_systems_path
            .clone()
            .or_else(|| std::env::var_os(servesim_perf::SYSTEMS_ENV).map(PathBuf::from))
            .ok_or_else(|| {
                EngineError::config(
                    "aic_systems_path",
                    "is required by `perf_model: aic-db`: the `systems` folder of an aiconfigurator-core install (…/site-packages/aiconfigurator_core/systems); or set SERVESIM_AIC_SYSTEMS",
                )
            })?;
        let model = deployment
            .aic_db(&root, self.aic_backend_version.as_deref())
            .map_err(|e| EngineError::config("aic_systems_path", e.to_string()))?;
        Ok(Arc::new(model))
    }

    /// Without the `aic-db` feature: an error saying how to get it.
    #[cfg(not(feature = "aic-db"))]
    fn aic_db_model(&self) -> Result<Arc<dyn PerfModel>, EngineError> {
        Err(EngineError::config(
            "perf_model",
            "servesim was built without the `aic-db` feature; rebuild with `cargo build --release -p replay-cli --features aic-db` (library users: `--features servesim-perf/aic-db`), or use `perf_model: analytical`",
        ))
    }
}
