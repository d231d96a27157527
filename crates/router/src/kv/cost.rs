//! Choosing a worker from per-worker costs: the cheapest at temperature 0 (ties to the worker
//! caching least, then the lowest id), otherwise a softmax over `−(cost − min) / (range · T)`
//! sampled from the router's seeded generator.

use rand::Rng;
use rand_pcg::Pcg64;

use crate::route::WorkerId;

/// The per-worker figures behind one routing decision (exposed for tests and diagnostics).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct WorkerCost {
    /// The worker.
    pub worker: WorkerId,
    /// Leading prompt blocks cached on the worker.
    pub overlap_blocks: u32,
    /// Pending prefill tokens including this prompt's uncached part.
    pub prefill_tokens: u64,
    /// Active blocks including this prompt's new ones.
    pub decode_blocks: u64,
    /// `overlap_score_weight · prefill_tokens / block_size + decode_blocks`.
    pub logit: f64,
}

/// Picks one of `costs` (see the module docs); `cached_blocks` says how many blocks a worker
/// caches, for ties at temperature 0. `None` only if `costs` is empty.
pub(super) fn choose(
    costs: &[WorkerCost],
    temperature: f64,
    rng: &mut Pcg64,
    cached_blocks: impl Fn(u32) -> u64,
) -> Option<WorkerCost> {
    let min = costs.iter().map(|c| c.logit).fold(f64::INFINITY, f64::min);
    let max = costs
        .iter()
        .map(|c| c.logit)
        .fold(f64::NEG_INFINITY, f64::max);
    if temperature <= 0.0 {
        return costs
            .iter()
            .filter(|c| c.logit == min)
            .min_by_key(|c| (cached_blocks(c.worker.0), c.worker))
            .copied();
    }
    let range = max - min;
    let weight = |c: &WorkerCost| {
        if range > 0.0 {
            (-(c.logit - min) / (range * temperature)).exp()
        } else {
            1.0
        }
    };
    let total: f64 = costs.iter().map(weight).sum();
    let mut draw = rng.random::<f64>() * total;
    for cost in costs {
        let w = weight(cost);
        if draw < w {
            return Some(*cost);
        }
        draw -= w;
    }
    costs.last().copied()
}
