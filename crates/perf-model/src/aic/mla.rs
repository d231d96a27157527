//! `mla_context_module_perf` and `mla_generation_module_perf`: DeepSeek's multi-head latent
//! attention block of one layer, measured as one module (projections, RoPE, attention).
//!
//! Rows are grouped into slices by their formats — attention (`mla_dtype`, context only),
//! KV cache (`kv_cache_dtype`) and projection weights (`gemm_type`) — and within a slice form
//! a grid: prefill by `(heads, sequence, batch)`, blended in √latency along the sequence;
//! decode by `(heads, batch, keys)` with `keys = isl + step`, blended linearly. Of rows with
//! equal coordinates (the tables hold several kernels) the first in the file wins. Beyond
//! the data the speed of light is AIConfigurator's (its formulas carry DeepSeek-V3's head
//! dimensions), as is the prefix correction `(s_full² − prefix²) / s_full²`.

use super::cache::BatchMemo;
use super::columns::Columns;
use super::interp::{Grid, Point, or_floor};
use super::layout::{Source, first_path};
use crate::arch::DType;
use crate::error::PerfError;
use crate::pass::PrefillChunk;
use crate::system::GpuSystem;

/// Query plus value dimension per head in prefill (DeepSeek-V3: 192 + 128).
const PREFILL_DIMS: f64 = 320.0;
/// Query dimensions per head read in decode (latent 512 + rope 64, twice, as AIConfigurator).
const DECODE_DIMS: f64 = 1088.0;
/// Latent elements per cached token (512 + 64).
const LATENT: f64 = 576.0;

/// The formats selecting a slice: attention (`""` for decode), KV cache, projections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ModuleKey {
    /// Attention (FMHA) format, `""` for the decode table (which has none).
    pub(crate) attn: &'static str,
    /// KV-cache format.
    pub(crate) kv: &'static str,
    /// Projection weight format.
    pub(crate) gemm: &'static str,
}

/// Tensor-core FLOP/s and bytes per element of a table format name.
fn profile(system: &GpuSystem, name: &str) -> (f64, f64) {
    match name {
        "fp8" | "fp8_block" => (system.flops(DType::Fp8), 1.0),
        "nvfp4" => (system.flops(DType::Fp4), 9.0 / 16.0),
        _ => (system.bf16_flops, 2.0),
    }
}

/// The latent-attention modules of one layer shape.
#[derive(Debug)]
pub(crate) struct MlaModule {
    heads: f64,
    context: Grid,
    generation: Grid,
    /// Prefill: attention FLOP/s, KV bytes per element.
    context_profile: (f64, f64),
    /// Decode: attention FLOP/s, KV bytes, projection FLOP/s, projection bytes.
    generation_profile: (f64, f64, f64, f64),
    mem_bw: f64,
    /// Prefill at no prefix by (batch, full length).
    prefill: BatchMemo,
    /// Decode by (batch, keys).
    decode: BatchMemo,
}

/// Reads the points of slice `key` from `sources` (preferred first), in file order.
fn read_slice(sources: &[Source], key: &ModuleKey, context: bool) -> Result<Vec<Point>, PerfError> {
    let mut points = Vec::new();
    let mut have: Vec<String> = Vec::new();
    for source in sources {
        let t = Columns::read(
            &source.path,
            &[
                "mla_dtype",
                "kv_cache_dtype",
                "gemm_type",
                "num_heads",
                "batch_size",
                "isl",
                "latency",
            ],
            &["step", "kernel_source"],
        )?;
        let kernel = t.text("kernel_source")?;
        let (attn, kv, gemm) = (
            t.required_text("mla_dtype")?,
            t.required_text("kv_cache_dtype")?,
            t.required_text("gemm_type")?,
        );
        let (heads, batch, isl) = (t.keys("num_heads")?, t.keys("batch_size")?, t.keys("isl")?);
        let step = if context {
            vec![0; t.rows()]
        } else {
            t.keys("step")?
        };
        let latency = t.numbers("latency")?;
        for row in 0..t.rows() {
            if !source.admits(kernel.as_ref().map(|k| k[row])) {
                continue;
            }
            let attn_ok = !context || attn[row] == key.attn;
            if !(attn_ok && kv[row] == key.kv && gemm[row] == key.gemm) {
                let slice = if context {
                    format!("({} {} {})", attn[row], kv[row], gemm[row])
                } else {
                    format!("({} {})", kv[row], gemm[row])
                };
                if !have.contains(&slice) {
                    have.push(slice);
                }
                continue;
            }
            if !latency[row].is_finite() {
                continue;
            }
            let coords = if context {
                vec![heads[row], isl[row], batch[row]]
            } else {
                vec![heads[row], batch[row], isl[row] + step[row]]
            };
            points.push((coords, latency[row]));
        }
    }
    if points.is_empty() {
        have.sort();
        let wanted = if context {
            format!("attention {}, kv {}, gemm {}", key.attn, key.kv, key.gemm)
        } else {
            format!("kv {}, gemm {}", key.kv, key.gemm)
        };
        return Err(PerfError::Database {
            path: first_path(sources),
            message: format!(
                "no rows for {wanted}; the table has (attention kv gemm) {}",
                have.join(", ")
            ),
        });
    }
    Ok(points)
}

impl MlaModule {
    /// Reads the prefill slice `context_key` and the decode slice `generation_key` for
    /// `heads` query heads per GPU.
    pub(crate) fn load(
        context_sources: &[Source],
        generation_sources: &[Source],
        context_key: &ModuleKey,
        generation_key: &ModuleKey,
        heads: u32,
        system: &GpuSystem,
    ) -> Result<MlaModule, PerfError> {
        let context = Grid::new(3, read_slice(context_sources, context_key, true)?);
        let generation = Grid::new(3, read_slice(generation_sources, generation_key, false)?);
        let kv_bytes = profile(system, context_key.kv).1;
        // Decode attention runs in the KV cache's format.
        let decode_attn = profile(system, generation_key.kv).0;
        let (gemm_flops, gemm_bytes) = profile(system, generation_key.gemm);
        Ok(MlaModule {
            heads: f64::from(heads),
            context,
            generation,
            context_profile: (profile(system, context_key.attn).0, kv_bytes),
            generation_profile: (decode_attn, kv_bytes, gemm_flops, gemm_bytes),
            mem_bw: system.mem_bw,
            prefill: BatchMemo::new(),
            decode: BatchMemo::new(),
        })
    }

    /// Prefill speed of light at `[heads, sequence, batch]`, no prefix.
    fn context_sol(&self, c: &[f64]) -> f64 {
        let (n, s, b) = (c[0], c[1], c[2]);
        let (flops, kv_bytes) = self.context_profile;
        let math = b * n * PREFILL_DIMS * s * s / flops;
        let mem = b * n * (kv_bytes * s * PREFILL_DIMS + 2.0 * s * PREFILL_DIMS) / self.mem_bw;
        math.max(mem) * 1e3
    }

    /// Decode speed of light at `[heads, batch, keys]`: attention plus the two absorbed
    /// projections, compute and memory summed before the maximum (as AIConfigurator).
    fn generation_sol(&self, c: &[f64]) -> f64 {
        let (n, b, s) = (c[0], c[1], c[2]);
        let (attn_flops, kv_bytes, gemm_flops, gemm_bytes) = self.generation_profile;
        let math =
            2.0 * b * n * DECODE_DIMS * s / attn_flops + 4.0 * b * n * 128.0 * 512.0 / gemm_flops;
        let mem = b * (n * DECODE_DIMS * 2.0 + (s - 1.0) * LATENT * kv_bytes)
            + 2.0 * n * (b * 640.0 + 128.0 * 512.0) * gemm_bytes;
        math.max(mem / self.mem_bw) * 1e3
    }

    fn context_at(&self, batch: u32, full: u32) -> f64 {
        let at = [self.heads, f64::from(full), f64::from(batch)];
        or_floor(
            self.context.query(&at, Some(1), &|c| self.context_sol(c)),
            || self.context_sol(&at),
        )
    }

    /// The module computing prefill `chunks`: equal chunks are read at their batch size,
    /// each at its full length, scaled by `(s_full² − prefix²) / s_full²`.
    pub(crate) fn prefill_ms(&self, chunks: &[PrefillChunk]) -> f64 {
        let mut groups: Vec<(u32, u32)> = chunks
            .iter()
            .filter(|c| c.new_tokens > 0)
            .map(|c| (c.new_tokens, c.context_tokens))
            .collect();
        groups.sort_unstable();
        groups
            .chunk_by(|a, b| a == b)
            .map(|run| {
                let (new, prefix) = run[0];
                let batch = u32::try_from(run.len()).unwrap_or(u32::MAX);
                let full = f64::from(new) + f64::from(prefix);
                let at_full = self.prefill.get(batch, full, &|b, s| self.context_at(b, s));
                let p = f64::from(prefix);
                at_full * (full * full - p * p) / (full * full)
            })
            .sum()
    }

    /// The module decoding `batch` sequences over `keys` keys each.
    pub(crate) fn decode_ms(&self, batch: u32, keys: f64) -> f64 {
        self.decode.get(batch, keys, &|b, s| {
            let at = [self.heads, f64::from(b), f64::from(s)];
            or_floor(
                self.generation
                    .query(&at, None, &|c| self.generation_sol(c)),
                || self.generation_sol(&at),
            )
        })
    }
}
