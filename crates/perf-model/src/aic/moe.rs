//! `moe_perf`: the routed experts of one MoE layer, by token count.
//!
//! Rows are grouped into *slices* by expert format (`moe_dtype`), token distribution
//! (`distribution`), `topk`, `num_experts`, `hidden_size`, `inter_size`, `moe_tp_size` and
//! `moe_ep_size`; each slice is a sweep over `num_tokens`, blended linearly between measured
//! points and, beyond them, held at the boundary point's utilisation against the experts'
//! speed of light (AIConfigurator 0.12.0's `MoE` query, with its integer arithmetic).
//!
//! AIConfigurator keeps apart two kernel variants logged under one format: its TensorRT-LLM
//! low-latency NVFP4 kernel (`kernel_source` `moe_torch_flow_min_latency`) and SGLang's
//! FlashInfer MXFP4 kernels (`sglang_flashinfer_cutlass_moe`,
//! `sglang_mxfp4_flashinfer_trtllm_moe`), which it files under formats of their own; their
//! rows are not read here.

use std::collections::{BTreeMap, BTreeSet};

use super::columns::Columns;
use super::interp::{Grid, NoAnchor, Point};
use super::layout::{Source, first_path};
use crate::arch::DType;
use crate::error::PerfError;
use crate::ops::MoeShape;
use crate::system::GpuSystem;

/// Kernels whose rows AIConfigurator does not file under their `moe_dtype`.
const OTHER_KERNELS: [&str; 3] = [
    "moe_torch_flow_min_latency",
    "sglang_flashinfer_cutlass_moe",
    "sglang_mxfp4_flashinfer_trtllm_moe",
];

/// GEMMs per expert: gate, up and down projections (SwiGLU).
const GEMMS: u64 = 3;

/// AIConfigurator's expert formats for a weight format, preferred first: FP8 checkpoints are
/// block-scaled (DeepSeek), MXFP4 ones run with bf16 activations (gpt-oss).
fn format_names(dtype: DType) -> &'static [&'static str] {
    match dtype {
        DType::Bf16 => &["bfloat16"],
        DType::Fp8 | DType::Fp8Block => &["fp8_block", "fp8"],
        DType::Fp4 => &["nvfp4", "w4a16_mxfp4"],
        DType::Mxfp4 => &["w4a16_mxfp4", "nvfp4"],
    }
}

/// Bytes per weight element and compute format of an expert format (AIConfigurator's
/// `MoEQuantMode` mapping).
fn format_profile(name: &str) -> (f64, DType) {
    match name {
        "fp8" | "fp8_block" => (1.0, DType::Fp8),
        "nvfp4" => (9.0 / 16.0, DType::Fp4),
        "w4a16_mxfp4" => (0.5, DType::Bf16),
        _ => (2.0, DType::Bf16),
    }
}

/// The discrete keys of a slice, outer to inner.
type SliceKey = (String, String, [u32; 6]);

/// One expert shape's sweep with its speed of light.
#[derive(Clone, Debug)]
struct Slice {
    shape: MoeShape,
    grid: Grid,
    /// Bytes per weight element.
    weight_bytes: f64,
    /// Tensor-core FLOP/s of the experts' compute format.
    flops: f64,
    mem_bw: f64,
}

impl Slice {
    /// Speed-of-light milliseconds of `tokens` tokens, in AIConfigurator's integer
    /// arithmetic (every division truncates).
    fn sol_ms(&self, tokens: f64) -> f64 {
        let s = &self.shape;
        let total = tokens.round().max(0.0) as u64 * u64::from(s.top_k);
        let (ep, tp) = (u64::from(s.moe_ep.max(1)), u64::from(s.moe_tp.max(1)));
        let (h, inter, experts) = (
            u64::from(s.hidden),
            u64::from(s.inter),
            u64::from(s.experts),
        );
        let ops = total * h * inter * GEMMS * 2 / ep / tp;
        let bytes = total / ep * h * 2
            + total / ep * inter * GEMMS / tp
            + h * inter * GEMMS / tp * (experts / ep).min(total / ep);
        let math = ops as f64 / self.flops;
        let mem = bytes as f64 * self.weight_bytes / self.mem_bw;
        math.max(mem) * 1e3
    }
}

/// The sweeps of the expert shapes a model needs.
#[derive(Clone, Debug)]
pub(crate) struct MoeTable {
    slices: Vec<Slice>,
}

impl MoeTable {
    /// Reads, from `sources` (preferred file first), the sweep of every shape in `shapes`
    /// under token `distribution` (`uniform` when the table has no rows of that distribution
    /// for the format, as AIConfigurator falls back). An error names the file and the
    /// missing slice, listing the parallel layouts the table has for the expert shape.
    pub(crate) fn load(
        sources: &[Source],
        system: &GpuSystem,
        shapes: &[MoeShape],
        distribution: &str,
    ) -> Result<MoeTable, PerfError> {
        let path = first_path(sources);
        let wanted: BTreeSet<&str> = shapes
            .iter()
            .flat_map(|s| format_names(s.dtype))
            .copied()
            .collect();
        let mut points: BTreeMap<SliceKey, Vec<Point>> = BTreeMap::new();
        for source in sources {
            read_rows(source, &wanted, &mut points)?;
        }
        let slices = shapes
            .iter()
            .map(|&shape| {
                let dims = [
                    shape.top_k,
                    shape.experts,
                    shape.hidden,
                    shape.inter,
                    shape.moe_tp,
                    shape.moe_ep,
                ];
                let found = format_names(shape.dtype).iter().find_map(|&format| {
                    let has = |d: &str| points.keys().any(|(f, dist, _)| f == format && dist == d);
                    let dist = if has(distribution) {
                        distribution
                    } else {
                        "uniform"
                    };
                    points
                        .get(&(format.to_owned(), dist.to_owned(), dims))
                        .map(|p| (format, p))
                });
                let Some((format, found)) = found else {
                    return Err(missing(&path, &shape, distribution, &points));
                };
                let (weight_bytes, compute) = format_profile(format);
                Ok(Slice {
                    shape,
                    grid: Grid::new(1, found.clone()),
                    weight_bytes,
                    flops: system.flops(compute),
                    mem_bw: system.mem_bw,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(MoeTable { slices })
    }

    /// Milliseconds of the experts of `shape` for `tokens` tokens.
    pub(crate) fn latency(&self, shape: &MoeShape, tokens: u64) -> Result<f64, NoAnchor> {
        let slice = self
            .slices
            .iter()
            .find(|s| s.shape == *shape)
            .ok_or(NoAnchor)?;
        slice
            .grid
            .query(&[tokens as f64], None, &|c| slice.sol_ms(c[0]))
    }
}

/// Adds the rows of `source` in the `wanted` formats to `points`, in file order.
fn read_rows(
    source: &Source,
    wanted: &BTreeSet<&str>,
    points: &mut BTreeMap<SliceKey, Vec<Point>>,
) -> Result<(), PerfError> {
    let t = Columns::read(
        &source.path,
        &[
            "moe_dtype",
            "distribution",
            "num_tokens",
            "hidden_size",
            "inter_size",
            "topk",
            "num_experts",
            "moe_tp_size",
            "moe_ep_size",
            "latency",
        ],
        &["kernel_source"],
    )?;
    let (format, dist) = (
        t.required_text("moe_dtype")?,
        t.required_text("distribution")?,
    );
    let kernel = t.text("kernel_source")?;
    let tokens = t.keys("num_tokens")?;
    let dims: Vec<Vec<u32>> = [
        "topk",
        "num_experts",
        "hidden_size",
        "inter_size",
        "moe_tp_size",
        "moe_ep_size",
    ]
    .iter()
    .map(|c| t.keys(c))
    .collect::<Result<_, _>>()?;
    let latency = t.numbers("latency")?;
    for row in 0..t.rows() {
        let kernel = kernel.as_ref().map(|k| k[row]);
        let other_kernel = kernel.is_some_and(|k| OTHER_KERNELS.contains(&k));
        if !source.admits(kernel)
            || other_kernel
            || !wanted.contains(format[row])
            || !latency[row].is_finite()
        {
            continue;
        }
        let key = (
            format[row].to_owned(),
            dist[row].to_owned(),
            [
                dims[0][row],
                dims[1][row],
                dims[2][row],
                dims[3][row],
                dims[4][row],
                dims[5][row],
            ],
        );
        points
            .entry(key)
            .or_default()
            .push((vec![tokens[row]], latency[row]));
    }
    Ok(())
}

/// The error for a shape without a slice, listing the layouts the table has for it.
fn missing(
    path: &str,
    shape: &MoeShape,
    distribution: &str,
    points: &BTreeMap<SliceKey, Vec<Point>>,
) -> PerfError {
    let formats = format_names(shape.dtype);
    let layouts: Vec<String> = points
        .keys()
        .filter(|(f, _, d)| {
            formats.contains(&f.as_str())
                && d[..4] == [shape.top_k, shape.experts, shape.hidden, shape.inter]
        })
        .map(|(f, dist, d)| format!("{f} {dist} moe_tp {} moe_ep {}", d[4], d[5]))
        .collect();
    let have = if layouts.is_empty() {
        "the table has no rows for this expert shape".to_owned()
    } else {
        format!("the table has: {}", layouts.join(", "))
    };
    PerfError::Database {
        path: path.to_owned(),
        message: format!(
            "no MoE rows for {} experts (top {}) of hidden {} × inter {} in `{}` with distribution `{distribution}` at moe_tp {} moe_ep {}; {have}",
            shape.experts,
            shape.top_k,
            shape.hidden,
            shape.inter,
            formats.join("` or `"),
            shape.moe_tp,
            shape.moe_ep,
        ),
    }
}
