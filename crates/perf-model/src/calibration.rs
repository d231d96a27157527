//! Per-GPU, per-backend efficiency curves of the analytical model.
//!
//! Each [`Roofline`] was fitted (least squares on log latency) to AIConfigurator 0.12.0's
//! measured kernel tables or its own op queries for that GPU and backend:
//!
//! * bf16 GEMMs (`n, k ≥ 512`), full-causal context attention, decode attention over a bf16
//!   KV cache (128-wide heads), custom all-reduce (the fastest variant per message size), and
//!   MoE experts in bf16 and MXFP4 (`w4a16`) fitted to AIC's per-op predictions of Qwen3 and
//!   gpt-oss at TP 1 and 4;
//! * per-tensor FP8 and NVFP4 GEMMs (`gemm_fp8`, `gemm_fp4`: the `fp8` and `nvfp4` tables,
//!   `n, k ≥ 512`), decode attention over an FP8 KV cache (`generation_attention_fp8`:
//!   grouped-query shapes where `batch × keys ≥ 16,384`; systems without FP8-KV tables use
//!   the bf16 curve), per-tensor FP8 experts (`moe_fp8`), NVFP4 experts and MXFP4 experts
//!   with MXFP8 activations on Blackwell (`moe_fp4`, `moe_mxfp4`), at the expert shapes of
//!   the built-in MoE models — `tools/calibrate/fit.py` reproduces these;
//! * block-scaled FP8 GEMMs and experts (`gemm_fp8_block`, `moe_fp8_block`) and the
//!   latent-attention block, fitted to AIC's op queries at DeepSeek-V3's shapes (tensor and
//!   expert parallelism 1–8).
//!
//! `docs/perf-model.md` lists the fit errors and explains how to refit. Systems without
//! measurements borrow the curves of the closest measured system, scaled by their own peaks:
//! `mi300x`, `mi325x` and `mi355x` those of `h200_sxm`, `b300_sxm` those of `b200_sxm`.

use crate::system::Backend;

/// A calibrated roofline: see [`crate::AnalyticalCoster`].
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize)]
pub struct Roofline {
    /// Achieved fraction of peak FLOP/s on compute-bound shapes.
    pub compute_eff: f64,
    /// Achieved fraction of peak bandwidth on memory-bound shapes.
    pub mem_eff: f64,
    /// Fixed cost per call (launch, prologue, epilogue), µs.
    pub overhead_us: f64,
    /// Blend exponent `q` of the two limits (1: sum, large: max).
    pub sharpness: f64,
}

/// The fitted curves of one GPU system and backend.
#[derive(Copy, Clone, Debug, PartialEq, serde::Serialize)]
pub struct Calibration {
    /// AIConfigurator's system name the curves were fitted on.
    pub system: &'static str,
    /// The backend whose kernels were measured.
    pub backend: Backend,
    /// bf16 GEMMs.
    pub gemm_bf16: Roofline,
    /// FP8 GEMMs with per-tensor scales (NVIDIA ModelOpt checkpoints, engines quantising on
    /// load): AIC's `fp8` tables.
    pub gemm_fp8: Roofline,
    /// FP8 GEMMs with 128×128 block scales (DeepSeek, Qwen's FP8 releases): AIC's
    /// `fp8_block` tables at DeepSeek-V3's shapes.
    pub gemm_fp8_block: Roofline,
    /// NVFP4 GEMMs (Blackwell: AIC's `nvfp4` tables; elsewhere the per-tensor FP8 curve).
    pub gemm_fp4: Roofline,
    /// Prefill (context) attention.
    pub context_attention: Roofline,
    /// Decode (generation) attention over a bf16 KV cache.
    pub generation_attention: Roofline,
    /// Decode attention over an FP8 KV cache (vLLM's and SGLang's kernels dequantise it and
    /// gain far less than half the time; TensorRT-LLM's XQA reads it at full speed).
    pub generation_attention_fp8: Roofline,
    /// MoE experts with bf16 weights.
    pub moe_bf16: Roofline,
    /// MoE experts with per-tensor FP8 weights (ModelOpt; block-scaled where AIC has no
    /// per-tensor table).
    pub moe_fp8: Roofline,
    /// MoE experts with block-scaled FP8 weights (DeepSeek, Qwen).
    pub moe_fp8_block: Roofline,
    /// MoE experts with NVFP4 weights (Blackwell's native FP4: AIC's `nvfp4` tables; elsewhere
    /// the MXFP4 curve).
    pub moe_fp4: Roofline,
    /// MoE experts with MXFP4 weights (gpt-oss; bf16 activations, AIC's `w4a16_mxfp4`).
    pub moe_mxfp4: Roofline,
    /// DeepSeek's latent-attention block in prefill, projections included, where
    /// AIConfigurator measured it as a module (otherwise the block is priced op by op).
    pub mla_context: Option<Roofline>,
    /// The same block in decode.
    pub mla_generation: Option<Roofline>,
    /// All-reduce `(latency µs, fraction of link bandwidth)` at 2, 4 and 8 GPUs.
    pub all_reduce: [(f64, f64); 3],
}

impl Calibration {
    /// The calibration for `system` and `backend`, and the system it was measured on (itself,
    /// or the stand-in for systems without measurements).
    pub fn for_system(system: &str, backend: Backend) -> Option<&'static Calibration> {
        let measured = match system {
            "mi300x" | "mi325x" | "mi355x" => "h200_sxm",
            "b300_sxm" => "b200_sxm",
            other => other,
        };
        CALIBRATIONS
            .iter()
            .find(|c| c.system == measured && c.backend == backend)
    }

    /// All-reduce `(latency µs, bandwidth fraction)` for a group of `gpus`.
    pub fn all_reduce(&self, gpus: u32) -> (f64, f64) {
        match gpus {
            0..=2 => self.all_reduce[0],
            3 | 4 => self.all_reduce[1],
            _ => self.all_reduce[2],
        }
    }
}

const fn rl(compute_eff: f64, mem_eff: f64, overhead_us: f64, sharpness: f64) -> Roofline {
    Roofline {
        compute_eff,
        mem_eff,
        overhead_us,
        sharpness,
    }
}

/// Every fitted calibration.
pub static CALIBRATIONS: &[Calibration] = &[
    Calibration {
        system: "a100_sxm",
        backend: Backend::Vllm,
        gemm_bf16: rl(0.833, 0.765, 5.67, 1.62),
        gemm_fp8: rl(0.833, 0.765, 5.67, 1.62),
        gemm_fp8_block: rl(0.833, 0.765, 5.67, 1.62),
        gemm_fp4: rl(0.833, 0.765, 5.67, 1.62),
        context_attention: rl(0.538, 0.289, 13.73, 1.52),
        generation_attention: rl(0.980, 0.736, 20.27, 1.00),
        generation_attention_fp8: rl(0.980, 0.736, 20.27, 1.00),
        moe_bf16: rl(0.393, 0.853, 21.31, 1.00),
        moe_fp8: rl(0.393, 0.853, 21.31, 1.00),
        moe_fp8_block: rl(0.393, 0.853, 21.31, 1.00),
        moe_fp4: rl(0.393, 0.853, 21.31, 1.00),
        moe_mxfp4: rl(0.393, 0.853, 21.31, 1.00),
        mla_context: None,
        mla_generation: None,
        all_reduce: [(4.99, 0.566), (5.79, 0.575), (7.57, 0.589)],
    },
    Calibration {
        system: "a100_sxm",
        backend: Backend::Sglang,
        gemm_bf16: rl(0.768, 0.775, 6.51, 1.54),
        gemm_fp8: rl(0.768, 0.775, 6.51, 1.54),
        gemm_fp8_block: rl(0.768, 0.775, 6.51, 1.54),
        gemm_fp4: rl(0.768, 0.775, 6.51, 1.54),
        context_attention: rl(0.634, 0.527, 15.83, 1.15),
        generation_attention: rl(0.422, 0.482, 21.52, 1.78),
        generation_attention_fp8: rl(0.422, 0.482, 21.52, 1.78),
        moe_bf16: rl(0.382, 0.893, 37.47, 1.00),
        moe_fp8: rl(0.382, 0.893, 37.47, 1.00),
        moe_fp8_block: rl(0.382, 0.893, 37.47, 1.00),
        moe_fp4: rl(0.382, 0.893, 37.47, 1.00),
        moe_mxfp4: rl(0.382, 0.893, 37.47, 1.00),
        mla_context: None,
        mla_generation: None,
        all_reduce: [(5.18, 0.602), (5.83, 0.602), (7.01, 0.606)],
    },
    Calibration {
        system: "a100_sxm",
        backend: Backend::Trtllm,
        gemm_bf16: rl(0.817, 0.795, 5.71, 1.62),
        gemm_fp8: rl(0.817, 0.795, 5.71, 1.62),
        gemm_fp8_block: rl(0.817, 0.795, 5.71, 1.62),
        gemm_fp4: rl(0.817, 0.795, 5.71, 1.62),
        context_attention: rl(0.458, 0.249, 13.75, 1.23),
        generation_attention: rl(0.400, 1.043, 31.24, 1.00),
        generation_attention_fp8: rl(0.400, 1.043, 31.24, 1.00),
        moe_bf16: rl(0.452, 1.078, 58.84, 1.00),
        moe_fp8: rl(0.452, 1.078, 58.84, 1.00),
        moe_fp8_block: rl(0.452, 1.078, 58.84, 1.00),
        moe_fp4: rl(0.452, 1.078, 58.84, 1.00),
        moe_mxfp4: rl(0.452, 1.078, 58.84, 1.00),
        mla_context: None,
        mla_generation: None,
        all_reduce: [(4.36, 0.476), (5.19, 0.506), (7.17, 0.468)],
    },
    Calibration {
        system: "h100_sxm",
        backend: Backend::Vllm,
        gemm_bf16: rl(0.810, 0.866, 3.63, 2.51),
        gemm_fp8: rl(0.491, 0.902, 7.68, 1.00),
        gemm_fp8_block: rl(0.578, 1.235, 69.74, 2.65),
        gemm_fp4: rl(0.491, 0.902, 7.68, 1.00),
        context_attention: rl(0.638, 0.362, 13.33, 1.24),
        generation_attention: rl(0.400, 0.883, 12.33, 2.10),
        generation_attention_fp8: rl(1.551, 0.657, 22.68, 9.48),
        moe_bf16: rl(0.436, 0.945, 24.01, 1.00),
        moe_fp8: rl(0.182, 0.158, 53.04, 1.01),
        moe_fp8_block: rl(0.174, 1.431, 63.08, 1.45),
        moe_fp4: rl(0.231, 0.892, 41.94, 1.00),
        moe_mxfp4: rl(0.231, 0.892, 41.94, 1.00),
        mla_context: Some(rl(0.638, 0.393, 79.83, 1.00)),
        mla_generation: Some(rl(1.135, 0.890, 116.54, 1.00)),
        all_reduce: [(4.29, 0.582), (4.98, 0.647), (5.74, 0.796)],
    },
    Calibration {
        system: "h100_sxm",
        backend: Backend::Sglang,
        gemm_bf16: rl(0.752, 0.841, 3.89, 2.61),
        gemm_fp8: rl(0.537, 0.850, 6.93, 1.11),
        gemm_fp8_block: rl(0.459, 0.707, 5.48, 2.02),
        gemm_fp4: rl(0.537, 0.850, 6.93, 1.11),
        context_attention: rl(0.591, 0.455, 11.18, 1.37),
        generation_attention: rl(0.400, 0.937, 10.39, 2.00),
        generation_attention_fp8: rl(1.591, 0.533, 17.79, 6.20),
        moe_bf16: rl(0.373, 0.933, 19.18, 1.00),
        moe_fp8: rl(0.201, 1.065, 54.77, 1.52),
        moe_fp8_block: rl(0.201, 1.065, 54.77, 1.52),
        moe_fp4: rl(0.135, 0.231, 26.73, 1.00),
        moe_mxfp4: rl(0.135, 0.231, 26.73, 1.00),
        mla_context: None,
        mla_generation: None,
        all_reduce: [(2.56, 0.663), (2.99, 0.662), (5.31, 0.756)],
    },
    Calibration {
        system: "h100_sxm",
        backend: Backend::Trtllm,
        gemm_bf16: rl(0.776, 0.820, 3.46, 2.57),
        gemm_fp8: rl(0.578, 0.891, 13.67, 1.36),
        gemm_fp8_block: rl(0.491, 0.679, 5.32, 1.18),
        gemm_fp4: rl(0.578, 0.891, 13.67, 1.36),
        context_attention: rl(0.500, 0.252, 17.56, 1.61),
        generation_attention: rl(0.400, 0.712, 18.13, 1.00),
        generation_attention_fp8: rl(1.517, 0.776, 9.28, 5.84),
        moe_bf16: rl(0.420, 0.996, 26.77, 1.00),
        moe_fp8: rl(0.400, 0.782, 29.41, 1.00),
        moe_fp8_block: rl(0.175, 0.999, 71.83, 1.00),
        moe_fp4: rl(0.184, 0.825, 60.67, 1.00),
        moe_mxfp4: rl(0.184, 0.825, 60.67, 1.00),
        mla_context: None,
        mla_generation: Some(rl(0.779, 0.811, 47.40, 1.63)),
        all_reduce: [(2.75, 0.622), (3.25, 0.581), (4.12, 0.594)],
    },
    Calibration {
        system: "h200_sxm",
        backend: Backend::Vllm,
        gemm_bf16: rl(0.798, 0.834, 3.91, 2.84),
        gemm_fp8: rl(0.508, 0.824, 8.23, 1.00),
        gemm_fp8_block: rl(0.601, 1.037, 68.05, 12.00),
        gemm_fp4: rl(0.508, 0.824, 8.23, 1.00),
        context_attention: rl(0.628, 0.269, 13.26, 1.24),
        generation_attention: rl(0.941, 0.835, 12.80, 1.36),
        generation_attention_fp8: rl(1.543, 0.502, 23.02, 6.01),
        moe_bf16: rl(0.454, 0.961, 26.71, 1.00),
        moe_fp8: rl(0.219, 0.111, 54.32, 1.00),
        moe_fp8_block: rl(0.195, 1.176, 59.41, 1.25),
        moe_fp4: rl(0.228, 0.713, 43.50, 1.00),
        moe_mxfp4: rl(0.228, 0.713, 43.50, 1.00),
        mla_context: Some(rl(0.633, 0.319, 82.85, 1.00)),
        mla_generation: Some(rl(0.993, 0.770, 110.65, 1.00)),
        all_reduce: [(4.47, 0.602), (4.91, 0.666), (5.66, 0.841)],
    },
    Calibration {
        system: "h200_sxm",
        backend: Backend::Sglang,
        gemm_bf16: rl(0.722, 0.844, 4.22, 2.50),
        gemm_fp8: rl(0.582, 0.810, 7.12, 1.00),
        gemm_fp8_block: rl(0.483, 0.603, 5.73, 2.00),
        gemm_fp4: rl(0.582, 0.810, 7.12, 1.00),
        context_attention: rl(0.570, 0.346, 11.18, 1.40),
        generation_attention: rl(0.400, 0.891, 10.91, 2.63),
        generation_attention_fp8: rl(2.488, 0.423, 18.72, 9.19),
        moe_bf16: rl(0.391, 0.933, 20.71, 1.00),
        moe_fp8: rl(0.239, 1.248, 52.47, 1.24),
        moe_fp8_block: rl(0.239, 1.248, 52.47, 1.24),
        moe_fp4: rl(0.146, 0.230, 26.84, 1.00),
        moe_mxfp4: rl(0.146, 0.230, 26.84, 1.00),
        mla_context: None,
        mla_generation: None,
        all_reduce: [(2.49, 0.662), (3.00, 0.681), (4.08, 0.728)],
    },
    Calibration {
        system: "h200_sxm",
        backend: Backend::Trtllm,
        gemm_bf16: rl(0.777, 0.817, 3.84, 2.57),
        gemm_fp8: rl(0.566, 0.892, 13.90, 1.56),
        gemm_fp8_block: rl(0.491, 0.586, 5.46, 1.10),
        gemm_fp4: rl(0.566, 0.892, 13.90, 1.56),
        context_attention: rl(0.503, 0.187, 17.65, 1.62),
        generation_attention: rl(0.400, 0.629, 19.23, 1.00),
        generation_attention_fp8: rl(1.644, 0.715, 10.68, 6.10),
        moe_bf16: rl(0.453, 0.963, 29.01, 1.00),
        moe_fp8: rl(0.414, 0.744, 30.23, 1.00),
        moe_fp8_block: rl(0.193, 0.968, 71.41, 1.00),
        moe_fp4: rl(0.170, 0.742, 66.06, 1.00),
        moe_mxfp4: rl(0.170, 0.742, 66.06, 1.00),
        mla_context: None,
        mla_generation: Some(rl(0.904, 0.708, 45.85, 1.21)),
        all_reduce: [(2.69, 0.641), (3.24, 0.605), (4.12, 0.618)],
    },
    Calibration {
        system: "b200_sxm",
        backend: Backend::Vllm,
        gemm_bf16: rl(0.720, 0.797, 3.40, 2.32),
        gemm_fp8: rl(0.446, 0.703, 8.46, 1.00),
        gemm_fp8_block: rl(1.500, 1.022, 185.26, 12.00),
        gemm_fp4: rl(0.447, 0.626, 8.07, 1.35),
        context_attention: rl(0.513, 0.193, 12.39, 1.88),
        generation_attention: rl(0.400, 1.007, 9.83, 1.17),
        generation_attention_fp8: rl(2.518, 0.815, 12.22, 9.70),
        moe_bf16: rl(0.349, 0.986, 20.27, 1.00),
        moe_fp8: rl(0.401, 0.854, 15.72, 1.00),
        moe_fp8_block: rl(0.146, 1.285, 38.91, 1.00),
        moe_fp4: rl(0.301, 0.829, 20.05, 1.00),
        moe_mxfp4: rl(0.080, 0.613, 21.94, 1.00),
        mla_context: Some(rl(0.698, 0.535, 45.63, 1.00)),
        mla_generation: Some(rl(1.147, 0.549, 47.88, 1.00)),
        all_reduce: [(7.61, 0.445), (8.13, 0.543), (9.72, 0.634)],
    },
    Calibration {
        system: "b200_sxm",
        backend: Backend::Sglang,
        gemm_bf16: rl(0.672, 0.794, 3.70, 2.03),
        gemm_fp8: rl(0.486, 0.692, 7.24, 1.22),
        gemm_fp8_block: rl(0.640, 0.544, 7.16, 1.03),
        gemm_fp4: rl(0.436, 0.541, 6.19, 1.22),
        context_attention: rl(0.492, 0.238, 16.11, 2.15),
        generation_attention: rl(0.400, 1.068, 10.23, 1.00),
        generation_attention_fp8: rl(0.400, 0.627, 20.55, 1.00),
        moe_bf16: rl(0.412, 0.938, 14.59, 1.00),
        moe_fp8: rl(0.144, 1.308, 37.57, 1.00),
        moe_fp8_block: rl(0.144, 1.308, 37.57, 1.00),
        moe_fp4: rl(0.269, 0.724, 21.77, 1.00),
        moe_mxfp4: rl(0.192, 0.570, 21.97, 1.00),
        mla_context: None,
        mla_generation: None,
        all_reduce: [(4.11, 0.549), (4.98, 0.563), (5.95, 0.570)],
    },
    Calibration {
        system: "b200_sxm",
        backend: Backend::Trtllm,
        gemm_bf16: rl(0.676, 0.745, 3.12, 2.40),
        gemm_fp8: rl(0.553, 0.857, 16.02, 1.11),
        gemm_fp8_block: rl(0.684, 0.660, 6.71, 1.00),
        gemm_fp4: rl(0.380, 0.379, 10.87, 2.11),
        context_attention: rl(0.475, 0.148, 20.64, 1.61),
        generation_attention: rl(0.400, 0.986, 15.77, 1.00),
        generation_attention_fp8: rl(1.930, 0.829, 13.60, 7.65),
        moe_bf16: rl(0.342, 0.948, 30.21, 1.00),
        moe_fp8: rl(0.293, 0.730, 30.75, 1.00),
        moe_fp8_block: rl(0.260, 0.850, 84.87, 1.42),
        moe_fp4: rl(0.225, 0.577, 29.25, 1.00),
        moe_mxfp4: rl(0.242, 0.843, 26.53, 1.00),
        mla_context: None,
        mla_generation: Some(rl(1.500, 0.535, 40.24, 12.00)),
        all_reduce: [(4.77, 0.553), (5.26, 0.521), (6.26, 0.495)],
    },
    Calibration {
        system: "gb200",
        backend: Backend::Vllm,
        gemm_bf16: rl(0.658, 0.774, 3.37, 2.94),
        gemm_fp8: rl(0.436, 0.762, 8.46, 1.00),
        gemm_fp8_block: rl(1.500, 1.104, 321.43, 12.00),
        gemm_fp4: rl(0.411, 0.633, 8.61, 1.50),
        context_attention: rl(0.474, 0.197, 12.86, 1.92),
        generation_attention: rl(0.400, 1.010, 10.44, 1.17),
        generation_attention_fp8: rl(2.038, 0.824, 12.77, 8.62),
        moe_bf16: rl(0.448, 0.950, 11.17, 1.00),
        moe_fp8: rl(0.382, 0.858, 15.14, 1.00),
        moe_fp8_block: rl(0.143, 1.241, 38.30, 1.00),
        moe_fp4: rl(0.292, 0.831, 19.08, 1.00),
        moe_mxfp4: rl(0.079, 0.612, 20.73, 1.00),
        mla_context: Some(rl(0.562, 0.248, 85.45, 1.00)),
        mla_generation: Some(rl(1.500, 0.560, 102.29, 1.00)),
        all_reduce: [(5.11, 0.202), (5.72, 0.486), (5.72, 0.486)],
    },
    Calibration {
        system: "gb200",
        backend: Backend::Sglang,
        gemm_bf16: rl(0.659, 0.784, 3.50, 2.11),
        gemm_fp8: rl(0.489, 0.682, 7.16, 1.19),
        gemm_fp8_block: rl(0.754, 0.578, 6.74, 1.00),
        gemm_fp4: rl(0.437, 0.550, 5.60, 1.14),
        context_attention: rl(0.474, 0.249, 16.28, 2.17),
        generation_attention: rl(0.400, 1.041, 10.57, 1.00),
        generation_attention_fp8: rl(0.400, 0.631, 19.98, 1.00),
        moe_bf16: rl(0.383, 0.946, 14.23, 1.00),
        moe_fp8: rl(0.140, 1.034, 36.84, 1.00),
        moe_fp8_block: rl(0.140, 1.034, 36.84, 1.00),
        moe_fp4: rl(0.250, 0.840, 21.41, 1.00),
        moe_mxfp4: rl(0.178, 0.637, 21.31, 1.00),
        mla_context: None,
        mla_generation: None,
        all_reduce: [(3.99, 0.553), (4.61, 0.572), (4.61, 0.572)],
    },
    Calibration {
        system: "gb200",
        backend: Backend::Trtllm,
        gemm_bf16: rl(0.653, 0.730, 3.06, 2.47),
        gemm_fp8: rl(0.517, 0.872, 15.65, 1.06),
        gemm_fp8_block: rl(0.609, 0.644, 6.22, 1.04),
        gemm_fp4: rl(0.370, 0.375, 10.27, 2.00),
        context_attention: rl(0.480, 0.150, 20.86, 1.59),
        generation_attention: rl(0.400, 0.975, 16.45, 1.00),
        generation_attention_fp8: rl(1.894, 0.832, 14.12, 7.19),
        moe_bf16: rl(0.326, 0.992, 31.55, 1.00),
        moe_fp8: rl(0.291, 0.706, 29.17, 1.00),
        moe_fp8_block: rl(0.253, 0.858, 83.25, 1.40),
        moe_fp4: rl(0.212, 0.661, 27.83, 1.00),
        moe_mxfp4: rl(0.235, 0.857, 22.57, 1.00),
        mla_context: None,
        mla_generation: Some(rl(1.500, 0.524, 38.30, 12.00)),
        all_reduce: [(4.05, 0.540), (4.98, 0.513), (4.98, 0.513)],
    },
    Calibration {
        system: "l40s",
        backend: Backend::Vllm,
        gemm_bf16: rl(0.641, 0.880, 1.37, 1.92),
        gemm_fp8: rl(0.515, 0.841, 5.07, 1.00),
        gemm_fp8_block: rl(0.473, 1.315, 308.83, 12.00),
        gemm_fp4: rl(0.515, 0.841, 5.07, 1.00),
        context_attention: rl(0.489, 0.760, 8.66, 1.49),
        generation_attention: rl(1.491, 1.237, 10.55, 8.93),
        generation_attention_fp8: rl(2.629, 1.000, 4.21, 9.90),
        moe_bf16: rl(0.428, 0.919, 0.00, 1.00),
        moe_fp8: rl(0.250, 0.940, 22.65, 1.00),
        moe_fp8_block: rl(0.249, 0.885, 26.12, 1.26),
        moe_fp4: rl(0.241, 0.838, 6.55, 1.23),
        moe_mxfp4: rl(0.241, 0.838, 6.55, 1.23),
        mla_context: None,
        mla_generation: None,
        all_reduce: [(5.33, 0.597), (12.61, 0.120), (22.77, 0.066)],
    },
    Calibration {
        system: "l40s",
        backend: Backend::Sglang,
        gemm_bf16: rl(0.552, 0.853, 1.75, 2.01),
        gemm_fp8: rl(0.394, 0.895, 3.30, 1.43),
        gemm_fp8_block: rl(0.394, 0.895, 3.30, 1.43),
        gemm_fp4: rl(0.394, 0.895, 3.30, 1.43),
        context_attention: rl(0.576, 1.200, 5.23, 1.00),
        generation_attention: rl(0.400, 1.500, 6.33, 4.09),
        generation_attention_fp8: rl(2.361, 1.000, 4.00, 8.88),
        moe_bf16: rl(0.279, 0.883, 0.00, 1.00),
        moe_fp8: rl(0.193, 0.193, 0.00, 1.00),
        moe_fp8_block: rl(0.193, 0.193, 0.00, 1.00),
        moe_fp4: rl(0.193, 0.193, 0.00, 1.00),
        moe_mxfp4: rl(0.193, 0.193, 0.00, 1.00),
        mla_context: None,
        mla_generation: None,
        all_reduce: [(5.82, 0.599), (13.36, 0.118), (25.12, 0.060)],
    },
    Calibration {
        system: "l40s",
        backend: Backend::Trtllm,
        gemm_bf16: rl(0.608, 1.045, 1.63, 1.53),
        gemm_fp8: rl(0.478, 0.995, 10.28, 1.51),
        gemm_fp8_block: rl(0.256, 0.856, 3.76, 4.18),
        gemm_fp4: rl(0.478, 0.995, 10.28, 1.51),
        context_attention: rl(0.395, 0.652, 10.30, 1.00),
        generation_attention: rl(0.400, 1.182, 11.28, 1.00),
        generation_attention_fp8: rl(0.400, 0.666, 29.71, 2.12),
        moe_bf16: rl(0.348, 0.886, 0.00, 1.00),
        moe_fp8: rl(0.419, 1.266, 15.80, 1.09),
        moe_fp8_block: rl(0.348, 0.886, 0.00, 1.00),
        moe_fp4: rl(0.348, 0.886, 0.00, 1.00),
        moe_mxfp4: rl(0.348, 0.886, 0.00, 1.00),
        mla_context: None,
        mla_generation: None,
        all_reduce: [(7.65, 0.568), (13.07, 0.156), (23.79, 0.049)],
    },
];
