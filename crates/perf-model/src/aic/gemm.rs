//! `gemm_perf`: GEMM latency by `(m, n, k)` per weight format.
//!
//! The table is a set of *sites* — collected `(n, k)` shapes, each with a sweep over the
//! token count `m` (74 points from 1 to 32768). A query at a collected site reads its
//! sweep (exact point, linear blend, or beyond it the median utilisation of the 3
//! boundary points). A shape that was not collected borrows utilisation
//! (speed of light ÷ latency) from up to 4 sites within 2 octaves in log₂(n, k), weighted by
//! inverse squared distance, and returns `SOL / util`; a shape larger than every site along
//! exactly one axis may borrow from the frontier. Stored latencies are first raised to the
//! speed of light. This is AIConfigurator's resolution for GEMMs.

use std::collections::{BTreeSet, HashMap};

use super::columns::Columns;
use super::interp::{Curve, NoAnchor};
use super::layout::{Source, first_path};
use crate::arch::DType;
use crate::error::PerfError;
use crate::system::GpuSystem;

/// Sites within this log₂ distance may lend their utilisation.
const SITE_GATE: f64 = 2.0;
/// At most this many sites lend their utilisation.
const LENDING_SITES: usize = 4;
/// Boundary points whose median utilisation a sweep holds beyond its ends.
const SWEEP_TAIL: usize = 3;

/// Measured `(m, latency)` points by format name and `(n, k)` site, in source order.
type Sweeps = HashMap<(&'static str, u32, u32), Vec<(f64, f64)>>;

/// A weight format's name in the table and its speed of light.
#[derive(Copy, Clone, Debug, PartialEq)]
struct Format {
    name: &'static str,
    /// Bytes per element of the operands.
    bytes: f64,
    /// Tensor-core FLOP/s.
    flops: f64,
}

/// One collected `(n, k)` shape and its sweep over `m`.
#[derive(Clone, Debug)]
struct Site {
    n: u32,
    k: u32,
    log: (f64, f64),
    sweep: Curve,
}

/// The sites of one weight format.
#[derive(Clone, Debug)]
struct Sites {
    format: Format,
    /// Sorted by `(n, k)`.
    sites: Vec<Site>,
    index: HashMap<(u32, u32), usize>,
}

/// The GEMM table of one system and backend, for the weight formats a model uses.
#[derive(Clone, Debug)]
pub(crate) struct GemmTable {
    path: String,
    mem_bw: f64,
    formats: HashMap<DType, Sites>,
    /// Site rankings of the shapes named at load that were not collected.
    rankings: HashMap<(DType, u32, u32), Vec<(f64, usize)>>,
}

impl Format {
    /// Speed-of-light milliseconds: `max(2mnk / FLOP/s, bytes · (mn + mk + nk) / bandwidth)`.
    fn sol_ms(&self, mem_bw: f64, m: f64, n: f64, k: f64) -> f64 {
        let math = 2.0 * m * n * k / self.flops;
        let mem = self.bytes * (m * n + m * k + n * k) / mem_bw;
        math.max(mem) * 1e3
    }
}

/// Table names tried for a weight format, in order: block-scaled FP8 reads `fp8_block`
/// where the table has it, per-tensor `fp8` otherwise.
fn table_names(dtype: DType) -> &'static [&'static str] {
    match dtype {
        DType::Bf16 => &["bfloat16"],
        DType::Fp8 => &["fp8"],
        DType::Fp8Block => &["fp8_block", "fp8"],
        DType::Fp4 | DType::Mxfp4 => &["nvfp4"],
    }
}

impl GemmTable {
    /// Reads the sites of the formats of `shapes` (`(n, k, format)` of the GEMMs to price)
    /// from `sources` (preferred file first), ranking in advance the sites that lend to the
    /// shapes that were not collected.
    pub(crate) fn load(
        sources: &[Source],
        system: &GpuSystem,
        shapes: &[(u64, u64, DType)],
    ) -> Result<GemmTable, PerfError> {
        let mut dtypes: Vec<DType> = shapes.iter().map(|s| s.2).collect();
        dtypes.sort_unstable();
        dtypes.dedup();
        let path = first_path(sources);
        let wanted: Vec<&'static str> = dtypes
            .iter()
            .flat_map(|&d| table_names(d))
            .copied()
            .collect();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        // (format name, n, k) → sweep points in source order.
        let mut sweeps: Sweeps = HashMap::new();
        for source in sources {
            let t = Columns::read(
                &source.path,
                &["gemm_dtype", "m", "n", "k", "latency"],
                &["kernel_source"],
            )?;
            let kernel = t.text("kernel_source")?;
            let names = t.required_text("gemm_dtype")?;
            let (m, n, k) = (t.keys("m")?, t.keys("n")?, t.keys("k")?);
            let latency = t.numbers("latency")?;
            for row in 0..t.rows() {
                if !source.admits(kernel.as_ref().map(|k| k[row])) {
                    continue;
                }
                if !seen.contains(names[row]) {
                    seen.insert(names[row].to_owned());
                }
                let Some(&name) = wanted.iter().find(|w| **w == names[row]) else {
                    continue;
                };
                if latency[row].is_finite() {
                    let point = (f64::from(m[row]), latency[row]);
                    sweeps
                        .entry((name, n[row], k[row]))
                        .or_default()
                        .push(point);
                }
            }
        }
        let mut formats = HashMap::new();
        for &dtype in &dtypes {
            let found = table_names(dtype).iter().find(|name| seen.contains(**name));
            let Some(&name) = found else {
                let have: Vec<&str> = seen.iter().map(String::as_str).collect();
                return Err(PerfError::Database {
                    path,
                    message: format!(
                        "no `{}` rows in column `gemm_dtype` (formats: {})",
                        table_names(dtype).join("` or `"),
                        have.join(", ")
                    ),
                });
            };
            let format = Format {
                name,
                bytes: dtype.bytes(),
                flops: system.flops(dtype),
            };
            let mut sites: Vec<Site> = sweeps
                .iter()
                .filter(|((f, _, _), _)| *f == name)
                .map(|(&(_, n, k), points)| {
                    let (fn_, fk) = (f64::from(n), f64::from(k));
                    let floored = points
                        .iter()
                        .map(|&(m, lat)| (m, lat.max(format.sol_ms(system.mem_bw, m, fn_, fk))))
                        .collect();
                    Site {
                        n,
                        k,
                        log: (fn_.max(1.0).log2(), fk.max(1.0).log2()),
                        sweep: Curve::new(floored),
                    }
                })
                .collect();
            sites.sort_by_key(|s| (s.n, s.k));
            let index = sites
                .iter()
                .enumerate()
                .map(|(i, s)| ((s.n, s.k), i))
                .collect();
            formats.insert(
                dtype,
                Sites {
                    format,
                    sites,
                    index,
                },
            );
        }
        let mut rankings = HashMap::new();
        for &(n, k, dtype) in shapes {
            let (Some(sites), Ok(n32), Ok(k32)) =
                (formats.get(&dtype), u32::try_from(n), u32::try_from(k))
            else {
                continue;
            };
            if !sites.index.contains_key(&(n32, k32)) {
                rankings.insert((dtype, n32, k32), ranking(&sites.sites, n as f64, k as f64));
            }
        }
        Ok(GemmTable {
            path,
            mem_bw: system.mem_bw,
            formats,
            rankings,
        })
    }

    /// The first source file, for error messages.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Milliseconds of a GEMM `[m × k] · [k × n]` with weights in `dtype`.
    pub(crate) fn latency(&self, m: u64, n: u64, k: u64, dtype: DType) -> Result<f64, NoAnchor> {
        let sites = self.formats.get(&dtype).ok_or(NoAnchor)?;
        let (m, n32, k32) = (
            m as f64,
            u32::try_from(n).map_err(|_| NoAnchor)?,
            u32::try_from(k).map_err(|_| NoAnchor)?,
        );
        let format = sites.format;
        let bw = self.mem_bw;
        let sweep_at = |site: &Site| {
            let (sn, sk) = (f64::from(site.n), f64::from(site.k));
            site.sweep
                .eval(m, SWEEP_TAIL, &|x| format.sol_ms(bw, x, sn, sk))
        };
        if let Some(&i) = sites.index.get(&(n32, k32)) {
            return sweep_at(&sites.sites[i]);
        }
        let (n, k) = (n as f64, k as f64);
        let computed;
        let ranked: &[(f64, usize)] = match self.rankings.get(&(dtype, n32, k32)) {
            Some(r) => r,
            None => {
                computed = ranking(&sites.sites, n, k);
                &computed
            }
        };
        // Sites whose sweep covers m (all of them if none does), nearest first.
        let covers = |i: usize| {
            let span = sites.sites[i].sweep.span();
            span.is_some_and(|(lo, hi)| lo <= m && m <= hi)
        };
        let any_covers = ranked.iter().any(|&(_, i)| covers(i));
        let pool = ranked
            .iter()
            .copied()
            .filter(|&(_, i)| !any_covers || covers(i));
        let lenders: Vec<(f64, usize)> = match pool.clone().next() {
            Some((d, _)) if d <= SITE_GATE => pool.take_while(|&(d, _)| d <= SITE_GATE).collect(),
            _ => frontier(&sites.sites, &pool.collect::<Vec<_>>(), (n, k)).ok_or(NoAnchor)?,
        };
        let (mut weights, mut utils) = (0.0, 0.0);
        for &(d, i) in lenders.iter().take(LENDING_SITES) {
            let site = &sites.sites[i];
            let Ok(lat) = sweep_at(site) else { continue };
            let sol = format.sol_ms(bw, m, f64::from(site.n), f64::from(site.k));
            if lat.is_finite() && lat > 0.0 && sol > 0.0 {
                let w = 1.0 / (d * d + 1e-12);
                weights += w;
                utils += w * sol / lat;
            }
        }
        let sol = format.sol_ms(bw, m, n, k);
        if weights <= 0.0 || utils <= 0.0 || sol <= 0.0 {
            return Err(NoAnchor);
        }
        Ok(sol / (utils / weights))
    }
}

/// Every site by log₂ distance from `(n, k)`, nearest first (ties in site order).
fn ranking(sites: &[Site], n: f64, k: f64) -> Vec<(f64, usize)> {
    let q = (n.max(1.0).log2(), k.max(1.0).log2());
    let mut ranked: Vec<(f64, usize)> = sites
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                ((s.log.0 - q.0).powi(2) + (s.log.1 - q.1).powi(2)).sqrt(),
                i,
            )
        })
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    ranked
}

/// Sites that may lend to a shape beyond every site along exactly one axis (e.g. a large
/// vocabulary at low TP): those within the gate on the other axis. `None` when the query
/// is below the sites on an axis, or beyond them on both.
fn frontier(
    sites: &[Site],
    ranked: &[(f64, usize)],
    query: (f64, f64),
) -> Option<Vec<(f64, usize)>> {
    let q_log = (query.0.max(1.0).log2(), query.1.max(1.0).log2());
    let axis = |s: &Site, a: usize| {
        if a == 0 {
            f64::from(s.n)
        } else {
            f64::from(s.k)
        }
    };
    let q = [query.0, query.1];
    let mut overflow = None;
    for (a, &qa) in q.iter().enumerate() {
        let lo = ranked
            .iter()
            .map(|&(_, i)| axis(&sites[i], a))
            .fold(f64::INFINITY, f64::min);
        let hi = ranked
            .iter()
            .map(|&(_, i)| axis(&sites[i], a))
            .fold(0.0, f64::max);
        if qa < lo {
            return None;
        }
        if qa > hi {
            if overflow.is_some() {
                return None;
            }
            overflow = Some(a);
        }
    }
    let other = 1 - overflow?;
    let q_other = if other == 0 { q_log.0 } else { q_log.1 };
    let kept: Vec<(f64, usize)> = ranked
        .iter()
        .copied()
        .filter(|&(_, i)| {
            let l = if other == 0 {
                sites[i].log.0
            } else {
                sites[i].log.1
            };
            (l - q_other).abs() <= SITE_GATE
        })
        .collect();
    (!kept.is_empty()).then_some(kept)
}
