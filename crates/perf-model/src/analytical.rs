//! The analytical op model: every op is a roofline — compute time at a calibrated fraction
//! of peak FLOP/s against memory time at a calibrated fraction of peak bandwidth — plus a
//! fixed per-op overhead.
//!
//! The two limits are blended smoothly, `t = (t_c^q + t_m^q)^(1/q) + t₀`, so that shapes near
//! the ridge point (where neither limit dominates) cost more than either limit alone, as
//! measured kernels do; `q` → ∞ is the textbook `max`. Small-M GEMMs (decode) come out
//! memory bound — their time is the weight bytes over the achieved bandwidth — and large ones
//! compute bound. Efficiencies, overheads and `q` are fitted per GPU and backend to
//! AIConfigurator's measured kernel tables ([`crate::calibration`]; the procedure is in
//! `docs/perf-model.md`).

use crate::arch::DType;
use crate::calibration::{Calibration, Roofline};
use crate::ops::{AttnShape, MlaShape, MoeShape};
use crate::pass::PrefillChunk;
use crate::step::{OpCoster, mla_projections_ms};
use crate::system::GpuSystem;

impl Roofline {
    /// Milliseconds of an op doing `flops` at `peak` FLOP/s and moving `bytes` at `bw` B/s.
    pub fn ms(&self, flops: f64, bytes: f64, peak: f64, bw: f64) -> f64 {
        let tc = flops / (peak * self.compute_eff);
        // Achieved bandwidth never exceeds the peak, whatever the fit says.
        let tm = bytes / (bw * self.mem_eff.min(1.0));
        let (top, low) = if tc >= tm { (tc, tm) } else { (tm, tc) };
        let t = if top <= 0.0 {
            0.0
        } else if self.sharpness == 1.0 {
            top + low
        } else {
            let q = self.sharpness;
            top * (1.0 + (low / top).powf(q)).powf(q.recip())
        };
        (t + self.overhead_us * 1e-6) * 1e3
    }
}

/// Prices ops from a [`GpuSystem`]'s peaks and a [`Calibration`].
#[derive(Clone, Debug)]
pub struct AnalyticalCoster {
    system: GpuSystem,
    calibration: Calibration,
}

/// bf16 activations.
const ACT_BYTES: f64 = 2.0;

/// Extra routed work per additional expert-parallel rank, as a fraction of one rank's share:
/// AIConfigurator routes tokens by a power law, so the measured rank (holding the popular
/// experts) computes `(1 + 0.2 · (ep − 1)) / ep` of the tokens, not `1 / ep`. Fitted on its
/// expert-parallel predictions of gpt-oss and Qwen3 (`docs/perf-model.md`).
const EP_IMBALANCE: f64 = 0.2;

impl AnalyticalCoster {
    /// A coster for `system` with `calibration`.
    pub fn new(system: GpuSystem, calibration: Calibration) -> Self {
        AnalyticalCoster {
            system,
            calibration,
        }
    }

    /// The GPU.
    pub fn system(&self) -> &GpuSystem {
        &self.system
    }

    /// The calibration in use.
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// FLOPs (at the bf16 peak: the projections run in their weight format) and bytes of a
    /// latent-attention block's projections at `tokens` tokens.
    fn mla_projections_work(&self, m: &MlaShape, tokens: u64) -> (f64, f64) {
        let t = tokens as f64;
        let speedup = self.system.bf16_flops / self.system.flops(m.dtype);
        m.projections()
            .iter()
            .fold((0.0, 0.0), |(flops, bytes), &(_, n, k)| {
                let (n, k) = (n as f64, k as f64);
                (
                    flops + 2.0 * t * n * k * speedup,
                    bytes + n * k * m.dtype.bytes() + t * (n + k) * ACT_BYTES,
                )
            })
    }

    fn gemm_curve(&self, dtype: DType) -> &Roofline {
        match dtype {
            DType::Bf16 => &self.calibration.gemm_bf16,
            DType::Fp8 => &self.calibration.gemm_fp8,
            DType::Fp8Block => &self.calibration.gemm_fp8_block,
            DType::Fp4 | DType::Mxfp4 => &self.calibration.gemm_fp4,
        }
    }
}

/// FLOPs and bytes of prefill attention over `chunks`.
fn context_attention_work(a: &AttnShape, chunks: &[PrefillChunk]) -> (f64, f64) {
    let heads = f64::from(a.heads);
    let dims = f64::from(a.qk_dim + a.v_dim);
    chunks.iter().fold((0.0, 0.0), |(flops, bytes), c| {
        let (s, p) = (f64::from(c.new_tokens), f64::from(c.context_tokens));
        let keys = a.window.map_or(s + p, |w| (s + p).min(s + f64::from(w)));
        (
            flops + 2.0 * heads * dims * causal_pairs(s, p, a.window),
            bytes + keys * a.kv_bytes_per_token + s * heads * dims * ACT_BYTES,
        )
    })
}

/// FLOPs and bytes of decode attention of `batch` sequences over `keys` keys each.
fn generation_attention_work(a: &AttnShape, batch: u32, keys: f64) -> (f64, f64) {
    let b = f64::from(batch);
    let keys = a.window.map_or(keys, |w| keys.min(f64::from(w)));
    let dims = f64::from(a.decode_qk_dim + a.decode_v_dim);
    (
        2.0 * b * f64::from(a.heads) * dims * keys,
        b * keys * a.kv_bytes_per_token + b * f64::from(a.heads) * dims * ACT_BYTES,
    )
}

/// Keys visible to the `i`-th of `s` new tokens after a prefix of `p` (1-based), summed over
/// the chunk: `Σᵢ min(p + i, window)`.
fn causal_pairs(s: f64, p: f64, window: Option<u32>) -> f64 {
    let full = s * p + s * (s + 1.0) / 2.0;
    let Some(w) = window.map(f64::from) else {
        return full;
    };
    // Tokens whose view is not yet capped: p + i ≤ w, i.e. i ≤ w − p.
    let uncapped = (w - p).clamp(0.0, s);
    uncapped * p + uncapped * (uncapped + 1.0) / 2.0 + (s - uncapped) * w
}

impl OpCoster for AnalyticalCoster {
    fn gemm_ms(&self, m: u64, n: u64, k: u64, dtype: DType) -> f64 {
        let (m, n, k) = (m as f64, n as f64, k as f64);
        let w = dtype.bytes();
        // Activations are quantised like the weights (fp8 GEMMs read fp8 inputs).
        let act = if dtype == DType::Bf16 { ACT_BYTES } else { 1.0 };
        let bytes = n * k * w + m * k * act + m * n * ACT_BYTES;
        self.gemm_curve(dtype).ms(
            2.0 * m * n * k,
            bytes,
            self.system.flops(dtype),
            self.system.mem_bw,
        )
    }

    fn context_attention_ms(&self, a: &AttnShape, chunks: &[PrefillChunk]) -> f64 {
        let (flops, bytes) = context_attention_work(a, chunks);
        self.calibration.context_attention.ms(
            flops,
            bytes,
            self.system.bf16_flops,
            self.system.mem_bw,
        )
    }

    fn generation_attention_ms(&self, a: &AttnShape, batch: u32, keys: f64) -> f64 {
        let (flops, bytes) = generation_attention_work(a, batch, keys);
        let curve = match a.kv_dtype {
            DType::Bf16 => &self.calibration.generation_attention,
            _ => &self.calibration.generation_attention_fp8,
        };
        curve.ms(flops, bytes, self.system.bf16_flops, self.system.mem_bw)
    }

    fn all_reduce_ms(&self, elements: u64, gpus: u32) -> f64 {
        if gpus <= 1 {
            return 0.0;
        }
        let n = f64::from(gpus);
        let (latency_us, eff) = self.calibration.all_reduce(gpus);
        let bytes = elements as f64 * ACT_BYTES * 2.0 * (n - 1.0) / n;
        (latency_us * 1e-6 + bytes / (self.system.link_bw * eff)) * 1e3
    }

    fn moe_ms(&self, m: &MoeShape, tokens: u64) -> f64 {
        let x = tokens as f64;
        let (h, experts, k) = (
            f64::from(m.hidden),
            f64::from(m.experts),
            f64::from(m.top_k),
        );
        let inter = f64::from(m.inter) / f64::from(m.moe_tp);
        let ep = f64::from(m.moe_ep);
        // Skewed routing loads the rank holding the popular experts beyond its 1/ep share.
        let flops = 2.0 * x * k * h * 3.0 * inter / ep * (1.0 + EP_IMBALANCE * (ep - 1.0));
        // Expected distinct experts hit by x·k uniform draws, of which this GPU holds 1/ep.
        let active = experts / ep * (1.0 - (1.0 - 1.0 / experts).powf(x * k));
        let bytes = active * 3.0 * h * inter * m.dtype.bytes() + x * h * ACT_BYTES * 2.0;
        let curve = match m.dtype {
            DType::Bf16 => &self.calibration.moe_bf16,
            DType::Fp8 => &self.calibration.moe_fp8,
            DType::Fp8Block => &self.calibration.moe_fp8_block,
            DType::Fp4 => &self.calibration.moe_fp4,
            DType::Mxfp4 => &self.calibration.moe_mxfp4,
        };
        curve.ms(flops, bytes, self.system.flops(m.dtype), self.system.mem_bw)
    }

    fn all_to_all_ms(&self, bytes_per_token: f64, tokens: u64, gpus: u32) -> f64 {
        if gpus <= 1 || tokens == 0 {
            return 0.0;
        }
        let n = f64::from(gpus);
        let (latency_us, eff) = self.calibration.all_reduce(gpus);
        let bytes = tokens as f64 * bytes_per_token * (n - 1.0) / n;
        (latency_us * 1e-6 + bytes / (self.system.link_bw * eff)) * 1e3
    }

    fn mem_ms(&self, bytes: f64) -> f64 {
        self.system.mem_op_ms(bytes)
    }

    fn mla_prefill_ms(&self, m: &MlaShape, chunks: &[PrefillChunk]) -> f64 {
        let tokens: u64 = chunks.iter().map(|c| u64::from(c.new_tokens)).sum();
        let Some(curve) = self.calibration.mla_context else {
            return mla_projections_ms(self, m, tokens)
                + self.context_attention_ms(&m.attention, chunks);
        };
        let (flops, bytes) = self.mla_projections_work(m, tokens);
        let (attn_flops, attn_bytes) = context_attention_work(&m.attention, chunks);
        curve.ms(
            flops + attn_flops,
            bytes + attn_bytes,
            self.system.bf16_flops,
            self.system.mem_bw,
        )
    }

    fn mla_decode_ms(&self, m: &MlaShape, batch: u32, keys: f64, tokens: u64) -> f64 {
        let Some(curve) = self.calibration.mla_generation else {
            return mla_projections_ms(self, m, tokens)
                + self.generation_attention_ms(&m.attention, batch, keys);
        };
        let (flops, bytes) = self.mla_projections_work(m, tokens);
        let (attn_flops, attn_bytes) = generation_attention_work(&m.attention, batch, keys);
        curve.ms(
            flops + attn_flops,
            bytes + attn_bytes,
            self.system.bf16_flops,
            self.system.mem_bw,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causal_pairs_count_keys() {
        // 3 new tokens after 2 cached: 3 + 4 + 5.
        assert_eq!(causal_pairs(3.0, 2.0, None), 12.0);
        // Window 4: 3 + 4 + 4.
        assert_eq!(causal_pairs(3.0, 2.0, Some(4)), 11.0);
        // Window smaller than the prefix: every token sees 1.
        assert_eq!(causal_pairs(3.0, 2.0, Some(1)), 3.0);
        assert_eq!(causal_pairs(4.0, 0.0, None), 10.0);
    }

    #[test]
    fn roofline_blends_and_adds_overhead() {
        let r = Roofline {
            compute_eff: 0.5,
            mem_eff: 0.5,
            overhead_us: 2.0,
            sharpness: 1.0,
        };
        // Compute 2 ms at half of 1 TFLOP/s… plus memory 4 ms, plus 2 µs.
        let ms = r.ms(1e9, 2e9, 1e12, 1e12);
        assert!((ms - 6.002).abs() < 1e-9, "{ms}");
        let sharp = Roofline {
            sharpness: 64.0,
            ..r
        };
        assert!((sharp.ms(1e9, 2e9, 1e12, 1e12) - 4.002).abs() < 1e-3);
    }
}
