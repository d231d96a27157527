//! The built-in model catalogue and model-name resolution.
//!
//! Each built-in model is its Hugging Face `config.json`, reduced to the fields servesim
//! reads and embedded in the binary (`crates/perf-model/models/*.json`), so built-ins and
//! user configs go through the same parser.

use std::path::Path;

use crate::arch::{DType, ModelArch};
use crate::error::PerfError;

/// `(short name, embedded config.json)` of every built-in model, in display order.
const BUILTIN: &[(&str, &str)] = &[
    ("llama-3.1-8b", include_str!("../models/llama-3.1-8b.json")),
    (
        "llama-3.1-70b",
        include_str!("../models/llama-3.1-70b.json"),
    ),
    (
        "llama-3.1-405b",
        include_str!("../models/llama-3.1-405b.json"),
    ),
    ("qwen3-8b", include_str!("../models/qwen3-8b.json")),
    ("qwen3-14b", include_str!("../models/qwen3-14b.json")),
    ("qwen3-32b", include_str!("../models/qwen3-32b.json")),
    (
        "qwen3-30b-a3b",
        include_str!("../models/qwen3-30b-a3b.json"),
    ),
    (
        "qwen3-235b-a22b",
        include_str!("../models/qwen3-235b-a22b.json"),
    ),
    ("deepseek-v3", include_str!("../models/deepseek-v3.json")),
    ("deepseek-r1", include_str!("../models/deepseek-r1.json")),
    ("mixtral-8x7b", include_str!("../models/mixtral-8x7b.json")),
    ("gpt-oss-20b", include_str!("../models/gpt-oss-20b.json")),
    ("gpt-oss-120b", include_str!("../models/gpt-oss-120b.json")),
];

/// Short names of the built-in models, in display order.
pub fn builtin_model_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(name, _)| *name)
}

/// Checkpoint-variant suffixes that do not change the architecture: instruction tuning,
/// quantisation, release tags (`-0528`, `-2507`, `-v2`, `-preview`).
const VARIANT_SUFFIXES: [&str; 12] = [
    "-instruct",
    "-fp8",
    "-fp4",
    "-nvfp4",
    "-mxfp4",
    "-v0.1",
    "-v2",
    "-base",
    "-preview",
    "-0528",
    "-2507",
    "-dynamic",
];

/// Releases with the architecture of another catalogue entry.
const ALIASES: [(&str, &str); 1] = [("llama-3.3-70b", "llama-3.1-70b")];

/// Reduces a Hugging Face id or a spelling variant to a short name: the organisation, a
/// `Meta-` prefix, `-Instruct`/`-FP8`/`-0528`-style suffixes (in any combination) and case
/// are dropped, and releases sharing an architecture map to one entry
/// (`nvidia/Llama-3.3-70B-Instruct-FP4` → `llama-3.1-70b`).
fn normalise(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let mut base = base.replace('_', "-");
    if let Some(rest) = base.strip_prefix("meta-") {
        base = rest.to_owned();
    }
    while let Some(rest) = VARIANT_SUFFIXES
        .iter()
        .find_map(|suffix| base.strip_suffix(suffix))
    {
        base = rest.to_owned();
    }
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == base)
        .map_or(base, |(_, entry)| (*entry).to_owned())
}

/// Organisations whose FP8 releases use 128×128 block scales (the others' are per-tensor or
/// per-channel, as NVIDIA ModelOpt's and Red Hat's).
const BLOCK_FP8_ORGS: [&str; 5] = ["qwen", "deepseek-ai", "zai-org", "moonshotai", "minimaxai"];

/// The weight format a checkpoint's name declares, as NVIDIA, AMD and model vendors name
/// their quantised releases: `…-FP8` → FP8 (block-scaled from the organisations that publish
/// it so), `…-FP4` / `…-NVFP4` → NVFP4, `…-MXFP4` → MXFP4.
fn named_weight_dtype(name: &str) -> Option<DType> {
    let lower = name.to_ascii_lowercase();
    let base = lower.rsplit('/').next().unwrap_or(&lower).replace('_', "-");
    let parts: Vec<&str> = base.split('-').collect();
    let org = lower.split_once('/').map_or("", |(org, _)| org);
    if parts.contains(&"mxfp4") {
        Some(DType::Mxfp4)
    } else if parts.iter().any(|p| matches!(*p, "fp4" | "nvfp4")) {
        Some(DType::Fp4)
    } else if parts.contains(&"fp8") {
        Some(if BLOCK_FP8_ORGS.contains(&org) {
            DType::Fp8Block
        } else {
            DType::Fp8
        })
    } else {
        None
    }
}

/// Whether a checkpoint is an NVIDIA ModelOpt release (`nvidia/…-FP8`, `nvidia/…-FP4`):
/// those ship FP8 KV-cache scales (`kv_cache_quant_algo: FP8`), which engines that honour the
/// checkpoint's KV quantisation (SGLang, TensorRT-LLM) use under `kv_cache_dtype: auto`.
fn is_modelopt_checkpoint(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with("nvidia/") && named_weight_dtype(name).is_some()
}

impl ModelArch {
    /// A built-in model by short name or Hugging Face id (`llama-3.1-8b`,
    /// `meta-llama/Llama-3.1-8B`, `meta-llama/Meta-Llama-3.1-8B-Instruct`, …).
    pub fn builtin(name: &str) -> Result<ModelArch, PerfError> {
        let key = normalise(name);
        let (short, text) = BUILTIN
            .iter()
            .find(|(short, _)| *short == key)
            .ok_or_else(|| PerfError::UnknownModel {
                name: name.to_owned(),
                choices: builtin_model_names().collect::<Vec<_>>().join(", "),
            })?;
        let mut arch = ModelArch::from_hf_config(text, short, &format!("built-in {short}"))?;
        if let Some(dtype) = named_weight_dtype(name) {
            arch.quantize_weights(dtype);
        }
        if is_modelopt_checkpoint(name) {
            arch.kv_dtype = DType::Fp8;
        }
        Ok(arch)
    }

    /// A built-in model (see [`builtin`](Self::builtin)), or a Hugging Face `config.json`:
    /// `name` is read as a file when it names an existing file or a directory holding a
    /// `config.json`.
    ///
    /// ```
    /// use servesim_perf::ModelArch;
    /// let qwen = ModelArch::resolve("Qwen/Qwen3-32B")?;
    /// assert_eq!((qwen.name.as_str(), qwen.layers), ("qwen3-32b", 64));
    /// assert!(ModelArch::resolve("llama-9").unwrap_err().to_string().contains("qwen3-8b"));
    /// # Ok::<(), servesim_perf::PerfError>(())
    /// ```
    pub fn resolve(name: &str) -> Result<ModelArch, PerfError> {
        let path = Path::new(name);
        let file = if path.is_dir() {
            path.join("config.json")
        } else {
            path.to_path_buf()
        };
        if file.is_file() {
            let source = file.display().to_string();
            let text = std::fs::read_to_string(&file).map_err(|e| PerfError::Io {
                path: source.clone(),
                source: e,
            })?;
            return ModelArch::from_hf_config(&text, &source, &source);
        }
        ModelArch::builtin(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(name, total params, active params, KV bytes per token in bf16)`: the facts table
    /// (docs/perf-model.md), totals to ±1 %, active to ±2 %.
    const FACTS: &[(&str, f64, f64, u64)] = &[
        ("llama-3.1-8b", 8.03e9, 8.03e9, 128 * 1024),
        ("llama-3.1-70b", 70.6e9, 70.6e9, 320 * 1024),
        ("llama-3.1-405b", 405.9e9, 405.9e9, 504 * 1024),
        ("qwen3-8b", 8.2e9, 8.2e9, 144 * 1024),
        ("qwen3-14b", 14.77e9, 14.77e9, 160 * 1024),
        ("qwen3-32b", 32.8e9, 32.8e9, 256 * 1024),
        ("qwen3-30b-a3b", 30.5e9, 3.35e9, 96 * 1024),
        ("qwen3-235b-a22b", 235.1e9, 22.2e9, 188 * 1024),
        ("deepseek-v3", 671e9, 37.5e9, 61 * 576 * 2),
        ("deepseek-r1", 671e9, 37.5e9, 61 * 576 * 2),
        ("mixtral-8x7b", 46.7e9, 12.9e9, 128 * 1024),
        // gpt-oss quotes 5.1 B / 3.6 B active with one vocabulary table; both count here.
        ("gpt-oss-20b", 20.9e9, 3.6e9 + 0.58e9, 48 * 1024),
        ("gpt-oss-120b", 116.8e9, 5.1e9 + 0.58e9, 72 * 1024),
    ];

    #[test]
    fn every_builtin_matches_the_facts_table() {
        assert_eq!(FACTS.len(), BUILTIN.len());
        for &(name, total, active, kv) in FACTS {
            let arch = ModelArch::builtin(name).unwrap();
            let t = arch.total_params() as f64;
            let a = arch.active_params() as f64;
            assert!((t / total - 1.0).abs() < 0.01, "{name}: total {t:.4e}");
            assert!((a / active - 1.0).abs() < 0.02, "{name}: active {a:.4e}");
            assert_eq!(arch.kv_bytes_per_token(DType::Bf16), kv, "{name}");
        }
    }

    #[test]
    fn exact_counts_for_llama_8b() {
        let arch = ModelArch::builtin("llama-3.1-8b").unwrap();
        assert_eq!(arch.total_params(), 8_030_261_248);
        assert_eq!(arch.weight_bytes(), 2.0 * 8_030_261_248.0);
        let ds = ModelArch::builtin("deepseek-v3").unwrap();
        // An FP8 checkpoint without KV scales: the latent cache stays bf16.
        assert_eq!(ds.kv_bytes_per_token(ds.kv_dtype), 61 * 576 * 2);
        assert_eq!(ds.mtp_layers, 1);
    }

    #[test]
    fn names_resolve_in_every_spelling() {
        for name in [
            "llama-3.1-8b",
            "meta-llama/Llama-3.1-8B",
            "meta-llama/Meta-Llama-3.1-8B",
            "meta-llama/Llama-3.1-8B-Instruct",
            "Meta-Llama-3.1-8B",
            "nvidia/Llama-3.1-8B-Instruct-FP8",
            "nvidia/Llama-3.1-8B-FP8-Instruct",
        ] {
            assert_eq!(
                ModelArch::resolve(name).unwrap().name,
                "llama-3.1-8b",
                "{name}"
            );
        }
        for (name, short) in [
            ("mistralai/Mixtral-8x7B-v0.1", "mixtral-8x7b"),
            ("meta-llama/Llama-3.3-70B-Instruct", "llama-3.1-70b"),
            ("nvidia/Llama-3.3-70B-Instruct-FP4", "llama-3.1-70b"),
            ("deepseek-ai/DeepSeek-R1-0528", "deepseek-r1"),
            ("nvidia/DeepSeek-R1-0528-FP4-V2", "deepseek-r1"),
            ("amd/DeepSeek-R1-0528-MXFP4-Preview", "deepseek-r1"),
            ("Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", "qwen3-235b-a22b"),
            ("Qwen/Qwen3-14B", "qwen3-14b"),
        ] {
            assert_eq!(ModelArch::resolve(name).unwrap().name, short, "{name}");
        }
        let err = ModelArch::resolve("llama-3-9b").unwrap_err().to_string();
        assert!(
            err.starts_with("unknown model `llama-3-9b`; built-in models: llama-3.1-8b, "),
            "{err}"
        );
    }

    #[test]
    fn fp8_checkpoints_run_fp8_gemms() {
        let fp8 = ModelArch::resolve("nvidia/Llama-3.1-8B-Instruct-FP8").unwrap();
        assert_eq!(fp8.gemm_dtype, DType::Fp8);
        // Embedding and LM head stay bf16 (2 bytes), the other 6.98 B parameters take 1.
        let embeddings = 2.0 * 128_256.0 * 4096.0;
        assert_eq!(fp8.weight_bytes(), 8_030_261_248.0 + embeddings);
        let bf16 = ModelArch::resolve("meta-llama/Llama-3.1-8B-Instruct").unwrap();
        assert_eq!(bf16.gemm_dtype, DType::Bf16);
        assert_eq!(
            (fp8.kv_dtype, bf16.kv_dtype),
            (DType::Fp8, DType::Bf16),
            "ModelOpt checkpoints ship FP8 KV scales"
        );
        let moe = ModelArch::resolve("Qwen/Qwen3-30B-A3B-FP8").unwrap();
        assert_eq!(moe.moe.map(|m| m.expert_dtype), Some(DType::Fp8Block));
        assert_eq!(
            moe.kv_dtype,
            DType::Bf16,
            "Qwen's FP8 releases ship no KV scales"
        );
    }

    #[test]
    fn fp4_and_modelopt_checkpoints() {
        let fp4 = ModelArch::resolve("nvidia/Llama-3.3-70B-Instruct-FP4").unwrap();
        assert_eq!((fp4.gemm_dtype, fp4.kv_dtype), (DType::Fp4, DType::Fp8));
        // NVFP4 stores a one-byte scale per 16 weights.
        let bf16 = ModelArch::resolve("meta-llama/Llama-3.3-70B-Instruct").unwrap();
        let embeddings = bf16.embedding_params() as f64 * 2.0;
        let rest = bf16.weight_bytes() - embeddings;
        assert!((fp4.weight_bytes() - embeddings - rest / 2.0 * 0.5625).abs() < 1e3);
        let fp8 = ModelArch::resolve("nvidia/Llama-3.1-8B-Instruct-FP8").unwrap();
        assert_eq!(fp8.kv_dtype, DType::Fp8);
        // DeepSeek's FP4 releases quantise the experts, not the latent attention.
        let ds = ModelArch::resolve("nvidia/DeepSeek-R1-0528-FP4-V2").unwrap();
        assert_eq!(ds.gemm_dtype, DType::Fp8Block);
        assert_eq!(ds.moe.map(|m| m.expert_dtype), Some(DType::Fp4));
        let amd = ModelArch::resolve("amd/DeepSeek-R1-0528-MXFP4-Preview").unwrap();
        assert_eq!(amd.kv_dtype, DType::Bf16);
    }

    #[test]
    fn reads_a_config_json_by_path() {
        let dir = std::env::temp_dir().join(format!("servesim-perf-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), BUILTIN[0].1).unwrap();
        let by_dir = ModelArch::resolve(dir.to_str().unwrap()).unwrap();
        let by_file = ModelArch::resolve(dir.join("config.json").to_str().unwrap()).unwrap();
        assert_eq!(by_dir.total_params(), 8_030_261_248);
        assert_eq!(by_dir.attention, by_file.attention);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
