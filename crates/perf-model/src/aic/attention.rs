//! `context_attention_perf` and `generation_attention_perf`: attention latency of one layer.
//!
//! Rows are grouped into *slices* by their discrete keys — attention and KV-cache formats,
//! KV heads (0 when equal to the query heads), head size, sliding window — and within a
//! slice form a grid: context attention by `(heads, sequence, batch)`, blended in √latency
//! along the sequence; generation attention by `(heads, batch, keys)` with
//! `keys = isl + step`, blended linearly, its latencies first raised to the speed of light.
//!
//! A table may hold several kernels (`kernel_source`, a *lane*); each slice is read from the
//! first lane that has it, in AIConfigurator's order: SGLang's framework default
//! (FlashAttention 3 on Hopper, Triton on Blackwell), then lanes of the requested version by
//! how many slices and rows they hold, then lanes only older versions have.

use super::columns::Columns;
use super::interp::{Grid, NoAnchor, Point};
use super::layout::{Source, first_path};
use crate::arch::DType;
use crate::error::PerfError;
use crate::system::{Backend, GpuSystem};
use std::collections::{BTreeMap, HashMap};

/// A slice's discrete keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SliceKey {
    /// Attention (FMHA) format; empty for generation attention, which has none.
    pub(crate) attn: &'static str,
    /// KV-cache format.
    pub(crate) kv: &'static str,
    /// KV heads per GPU, 0 when equal to the query heads (multi-head attention).
    pub(crate) kv_heads: u32,
    /// Head size.
    pub(crate) head: u32,
    /// Sliding window, 0 for full attention.
    pub(crate) window: u32,
}

/// The table's name of a format.
pub(crate) fn format_name(dtype: DType) -> &'static str {
    match dtype {
        DType::Bf16 => "bfloat16",
        DType::Fp8 | DType::Fp8Block => "fp8",
        DType::Fp4 | DType::Mxfp4 => "fp4",
    }
}

fn known_format(name: &str) -> Option<&'static str> {
    ["bfloat16", "fp8", "fp4", "int8"]
        .into_iter()
        .find(|f| *f == name)
}

/// Which attention table.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Prefill: `context_attention_perf`, grid `(heads, sequence, batch)`.
    Context,
    /// Decode: `generation_attention_perf`, grid `(heads, batch, keys)`.
    Generation,
}

/// A slice with the speed of light of its shape.
#[derive(Clone, Debug)]
pub(crate) struct Slice {
    key: SliceKey,
    phase: Phase,
    grid: Grid,
    /// Tensor-core FLOP/s of the kernel.
    flops: f64,
    /// Bytes per KV-cache element.
    kv_bytes: f64,
    mem_bw: f64,
}

/// SGLang's default attention kernel on `system` (AIConfigurator's
/// `attention_lane_defaults.yaml`, SGLang ≥ 0.5.14).
fn pinned_lane(system: &GpuSystem, backend: Backend, version: &str) -> Option<&'static str> {
    if backend != Backend::Sglang
        || !version.starts_with("0.5.")
        || version
            .trim_start_matches("0.5.")
            .parse::<u32>()
            .is_ok_and(|v| v < 14)
    {
        return None;
    }
    match system.name {
        "h100_sxm" | "h200_sxm" => Some("fa3"),
        "b200_sxm" | "gb200" => Some("triton"),
        _ => None,
    }
}

impl Slice {
    /// Speed-of-light milliseconds at grid coordinates (`[heads, sequence, batch]` for
    /// context attention at no prefix, `[heads, batch, keys]` for generation).
    pub(crate) fn sol_ms(&self, c: &[f64]) -> f64 {
        let k = &self.key;
        let h = f64::from(k.head);
        let w = f64::from(k.window);
        let (math, bytes) = match self.phase {
            Phase::Context => {
                let (n, s, b) = (c[0], c[1], c[2]);
                let n_kv = if k.kv_heads == 0 {
                    n
                } else {
                    f64::from(k.kv_heads)
                };
                let ops = if k.window > 0 && s > w {
                    2.0 * b * s * w * n * h * 2.0
                } else {
                    2.0 * b * s * s * n * h
                };
                (
                    ops,
                    2.0 * b * 2.0 * n * s * h + self.kv_bytes * b * 2.0 * n_kv * s * h,
                )
            }
            Phase::Generation => {
                let (n, b, s) = (c[0], c[1], c[2]);
                let n_kv = if k.kv_heads == 0 {
                    n
                } else {
                    f64::from(k.kv_heads)
                };
                let keys = if k.window > 0 {
                    (s - 1.0).min(w)
                } else {
                    s - 1.0
                };
                let ops = 4.0 * b * n * h * keys;
                (
                    ops,
                    b * (4.0 * n * h + 2.0 * n_kv * keys * h * self.kv_bytes),
                )
            }
        };
        (math / self.flops).max(bytes / self.mem_bw) * 1e3
    }

    /// Context attention of `batch` sequences of `full` tokens with no cached prefix (a
    /// prefix scales it by `(full² − prefix²) / full²`, AIConfigurator's correction).
    pub(crate) fn context_ms(&self, heads: f64, full: f64, batch: f64) -> Result<f64, NoAnchor> {
        self.grid
            .query(&[heads, full, batch], Some(1), &|c| self.sol_ms(c))
    }

    /// Generation attention of `batch` sequences over `keys` keys: the mean of five table
    /// reads spread over `keys ± 10 %` (AIConfigurator smooths decode this way).
    pub(crate) fn generation_ms(&self, heads: u32, batch: u32, keys: u32) -> Result<f64, NoAnchor> {
        let lo = ((f64::from(keys) * 0.9) as u32).max(1);
        let hi = ((f64::from(keys) * 1.1) as u32).max(lo);
        let mut sum = 0.0;
        for i in 0..5u32 {
            let s = lo + (hi - lo) * i / 4;
            sum += self.grid.query(
                &[f64::from(heads), f64::from(batch), f64::from(s)],
                None,
                &|c| self.sol_ms(c),
            )?;
        }
        Ok(sum / 5.0)
    }
}

/// What [`load_slices`] reads.
pub(crate) struct SliceRequest<'a> {
    /// The files, preferred first.
    pub(crate) sources: &'a [Source],
    /// Which table.
    pub(crate) phase: Phase,
    /// The slices wanted.
    pub(crate) keys: &'a [SliceKey],
}

/// Reads the requested slices of an attention table. An error names the file and the
/// missing slice, listing those the table has.
pub(crate) fn load_slices(
    req: &SliceRequest<'_>,
    system: &GpuSystem,
    backend: Backend,
    version: &str,
) -> Result<Vec<Slice>, PerfError> {
    let path = first_path(req.sources);
    // (lane, key) → points in source order; lane → (primary?, slices, rows).
    let mut points: HashMap<(String, SliceKey), Vec<Point>> = HashMap::new();
    let mut lanes: BTreeMap<String, (bool, usize)> = BTreeMap::new();
    for (nth, source) in req.sources.iter().enumerate() {
        let t = Columns::read(
            &source.path,
            &[
                "batch_size",
                "isl",
                "num_heads",
                "num_key_value_heads",
                "head_dim",
                "kv_cache_dtype",
                "latency",
            ],
            &["attn_dtype", "step", "window_size", "kernel_source"],
        )?;
        let (batch, isl, heads, kv_heads, head) = (
            t.keys("batch_size")?,
            t.keys("isl")?,
            t.keys("num_heads")?,
            t.keys("num_key_value_heads")?,
            t.keys("head_dim")?,
        );
        let step = if req.phase == Phase::Generation {
            t.keys("step")?
        } else {
            vec![0; t.rows()]
        };
        let window = if t.numbers("window_size").is_ok() {
            t.keys("window_size")?
        } else {
            vec![0; t.rows()]
        };
        let kv = t.required_text("kv_cache_dtype")?;
        let attn = t.text("attn_dtype")?;
        let lane = t.text("kernel_source")?;
        let latency = t.numbers("latency")?;
        for row in 0..t.rows() {
            if !source.admits(lane.as_ref().map(|l| l[row])) {
                continue;
            }
            let lane = lane.as_ref().map_or("", |l| l[row]);
            let entry = lanes.entry(lane.to_owned()).or_insert((nth == 0, 0));
            entry.1 += 1;
            let (Some(kv), true) = (known_format(kv[row]), latency[row].is_finite()) else {
                continue;
            };
            let attn = match (req.phase, &attn) {
                (Phase::Context, Some(a)) => known_format(a[row]).unwrap_or(""),
                _ => "",
            };
            let key = SliceKey {
                attn,
                kv,
                kv_heads: if kv_heads[row] == heads[row] {
                    0
                } else {
                    kv_heads[row]
                },
                head: head[row],
                window: window[row],
            };
            let coords = match req.phase {
                Phase::Context => vec![heads[row], isl[row], batch[row]],
                Phase::Generation => vec![heads[row], batch[row], isl[row] + step[row]],
            };
            points
                .entry((lane.to_owned(), key))
                .or_default()
                .push((coords, latency[row]));
        }
    }
    let pinned = pinned_lane(system, backend, version);
    let mut order: Vec<(&String, (bool, usize, usize))> = lanes
        .iter()
        .map(|(lane, &(primary, rows))| {
            let slices = points.keys().filter(|(l, _)| l == lane).count();
            (lane, (primary, slices, rows))
        })
        .collect();
    order.sort_by(|(la, a), (lb, b)| {
        let pin = |l: &String| pinned != Some(l.as_str());
        pin(la)
            .cmp(&pin(lb))
            .then(b.0.cmp(&a.0))
            .then(b.1.cmp(&a.1))
            .then(b.2.cmp(&a.2))
            .then(la.cmp(lb))
    });
    req.keys
        .iter()
        .map(|key| {
            let found = order.iter().find_map(|(lane, _)| points.get(&((*lane).clone(), key.clone())));
            let Some(found) = found else {
                let mut have: Vec<String> = points
                    .keys()
                    .map(|(_, k)| format!("({} {} kv_heads {} head {} window {})", k.attn, k.kv, k.kv_heads, k.head, k.window))
                    .collect();
                have.sort();
                have.dedup();
                return Err(PerfError::Database {
                    path: path.clone(),
                    message: format!(
                        "no rows for attention {} kv {}, kv_heads {}, head_dim {}, window {}; the table has {}",
                        if key.attn.is_empty() { "-" } else { key.attn },
                        key.kv,
                        key.kv_heads,
                        key.head,
                        key.window,
                        have.join(", ")
                    ),
                });
            };
            let mut slice = Slice {
                key: key.clone(),
                phase: req.phase,
                grid: Grid::new(3, Vec::new()),
                flops: if key.attn == "fp8" || (key.attn.is_empty() && key.kv == "fp8" && system.fp8_flops > 0.0) {
                    system.flops(DType::Fp8)
                } else {
                    system.bf16_flops
                },
                kv_bytes: if key.kv == "bfloat16" { 2.0 } else { 1.0 },
                mem_bw: system.mem_bw,
            };
            let mut pts = found.clone();
            if req.phase == Phase::Generation {
                for (c, lat) in &mut pts {
                    let at: Vec<f64> = c.iter().map(|&v| f64::from(v)).collect();
                    *lat = lat.max(slice.sol_ms(&at));
                }
            }
            slice.grid = Grid::new(3, pts);
            Ok(slice)
        })
        .collect()
}
