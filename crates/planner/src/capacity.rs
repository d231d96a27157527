//! How many requests per second one engine sustains within the SLA, from the regression
//! models — the searches behind throughput-based scaling.
//!
//! Models are passed as closures returning a pass time in seconds (`None` while unfitted),
//! which keeps these searches independent of how the models are fitted.
//!
//! With speculative decoding, a forward pass emits `accept_length` tokens per sequence on
//! average (see [`crate::speculative`]): decode ITL is the pass time **divided** by it, and a
//! request leaves after `OSL / accept_length` passes. The raw OSL still sizes each request's
//! KV (the mean context `ISL + OSL/2`). Pass `1.0` without it.

use crate::observe::EngineCaps;

/// Largest KV-hit share credited to prefill savings (the reference's clamp).
pub const MAX_KV_HIT: f64 = 0.95;

fn uncached(isl: f64, kv_hit: f64) -> f64 {
    isl * (1.0 - kv_hit.clamp(0.0, MAX_KV_HIT))
}

/// Time to prefill `tokens` in budget-sized chunks: `⌊tokens/B⌋ · t(B) + t(rest)`, each
/// chunk priced by `time(chunk)`.
fn chunked(tokens: f64, budget: f64, time: impl Fn(f64) -> Option<f64>) -> Option<f64> {
    if budget <= 0.0 || tokens <= budget {
        return time(tokens);
    }
    let full = (tokens / budget).floor();
    let rest = tokens - full * budget;
    let rest_time = if rest > 0.0 { time(rest)? } else { 0.0 };
    Some(full * time(budget)? + rest_time)
}

/// Requests per second one prefill engine completes: `1 / t(ISL · (1 − hit))`, chunked by
/// the token budget. `prefill(tokens)` is the pass time in seconds.
///
/// ```
/// use servesim_planner::capacity::prefill_engine_rps;
/// // A pass costs 10 ms + 0.01 ms per token; 1000 uncached tokens → 20 ms → 50 req/s.
/// let rps = prefill_engine_rps(|x| Some(0.01 + 1e-5 * x), 2000.0, 0.5, 8192.0).unwrap();
/// assert!((rps - 50.0).abs() < 1e-9);
/// ```
pub fn prefill_engine_rps(
    prefill: impl Fn(f64) -> Option<f64>,
    isl: f64,
    kv_hit: f64,
    budget: f64,
) -> Option<f64> {
    let time = chunked(uncached(isl, kv_hit), budget, prefill)?;
    (time > 0.0).then(|| 1.0 / time)
}

/// The result of a decode capacity search.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct DecodeCapacity {
    /// Requests per second (Little's law: `batch / (osl · step time)`).
    pub rps: f64,
    /// The largest batch meeting the ITL target (1 if even one sequence misses it).
    pub batch: u32,
    /// Whether even a batch of one misses the ITL target.
    pub violated: bool,
}

/// The most sequences a decode engine can hold at once: KV capacity over the mean context,
/// capped by `max_num_seqs`; 256 when the KV capacity is unknown.
fn batch_limit(caps: &EngineCaps, context: f64) -> u32 {
    let by_kv = if caps.max_kv_tokens > 0.0 && context > 0.0 {
        (caps.max_kv_tokens / context).floor()
    } else {
        256.0
    };
    by_kv.min(caps.max_num_seqs).max(1.0) as u32
}

/// The largest decode batch whose ITL — step time over `accept_length` — stays within
/// `itl_ms`, found by binary search over `[1, min(max_kv / ctx, max_num_seqs)]` with
/// `ctx = ISL + OSL/2` (raw OSL: speculation does not shrink a request's KV);
/// `decode(batch, kv_tokens)` is the step time in seconds. Requests per second by Little's
/// law: `batch · accept_length / (OSL · step)`.
///
/// ```
/// use servesim_planner::capacity::decode_engine_rps;
/// use servesim_planner::observe::EngineCaps;
/// let caps = EngineCaps {
///     max_num_batched_tokens: 8192.0,
///     max_num_seqs: 256.0,
///     max_kv_tokens: 1e6,
///     speculative_nextn: 0,
///     startup_time_s: 0.0,
/// };
/// // 5 ms + 0.1 ms per sequence: ITL 20 ms allows 150 sequences.
/// let step = |bs: f64, _kv: f64| Some(0.005 + 1e-4 * bs);
/// let c = decode_engine_rps(step, 1000.0, 100.0, 20.0, &caps, 1.0).unwrap();
/// assert_eq!(c.batch, 150);
/// assert!((c.rps - 150.0 / (100.0 * 0.020)).abs() < 1e-6);
/// ```
pub fn decode_engine_rps(
    decode: impl Fn(f64, f64) -> Option<f64>,
    isl: f64,
    osl: f64,
    itl_ms: f64,
    caps: &EngineCaps,
    accept_length: f64,
) -> Option<DecodeCapacity> {
    let context = isl + osl / 2.0;
    let fits = |bs: u32| -> Option<bool> {
        let b = f64::from(bs);
        Some(decode(b, b * context)? * 1000.0 / accept_length <= itl_ms)
    };
    let (mut lo, mut hi) = (1u32, batch_limit(caps, context));
    let violated = !fits(1)?;
    if !violated {
        // Invariant: `lo` fits; find the largest fitting batch in [lo, hi].
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(mid)? {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
    }
    let batch = lo;
    let step = decode(f64::from(batch), f64::from(batch) * context)?;
    (step > 0.0 && osl > 0.0).then(|| DecodeCapacity {
        rps: f64::from(batch) * accept_length / (osl * step),
        batch,
        violated,
    })
}

/// Estimated TTFT (ms) of the next prompt on an engine: the queued prompt tokens plus a
/// mean prompt, less the cached share, prefilled in budget-sized chunks, each chunk priced
/// next to `decode_kv` tokens of running decodes. `pass(prefill_tokens, decode_kv)` is the
/// pass time in seconds (an aggregated model; a prefill-only model ignores `decode_kv`).
pub fn estimate_ttft_ms(
    pass: impl Fn(f64, f64) -> Option<f64>,
    queued_prefill_tokens: f64,
    avg_isl: f64,
    kv_hit: f64,
    budget: f64,
    decode_kv: f64,
) -> Option<f64> {
    let tokens = uncached(queued_prefill_tokens + avg_isl, kv_hit);
    Some(chunked(tokens, budget, |chunk| pass(chunk, decode_kv))? * 1000.0)
}

/// The result of an aggregated capacity search.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AggCapacity {
    /// Requests per second.
    pub rps: f64,
    /// The largest batch meeting both SLA targets (1 if none does).
    pub batch: u32,
    /// Whether even a batch of one misses a target.
    pub violated: bool,
}

/// Capacity of an aggregated engine. The batch may not exceed what prefill admission can
/// sustain next to decode egress — the largest `x` with `uncached_isl / (B − x) ≤ OSL /
/// accept_length` (the reference's balance rule; faster egress tightens it) — nor KV
/// capacity (raw OSL) or `max_num_seqs`; within that, batches grow while the estimated ITL
/// (the pass time with `bs · ISL_uncached · accept_length / OSL` prefill tokens per pass,
/// over `accept_length`) and TTFT stay within the targets.
#[allow(clippy::too_many_arguments)]
pub fn agg_engine_rps(
    pass: impl Fn(f64, f64) -> Option<f64>,
    isl: f64,
    osl: f64,
    kv_hit: f64,
    ttft_ms: f64,
    itl_ms: f64,
    caps: &EngineCaps,
    accept_length: f64,
) -> Option<AggCapacity> {
    if osl <= 0.0 {
        return None;
    }
    let budget = caps.max_num_batched_tokens;
    let eff = uncached(isl, kv_hit);
    // Passes a request decodes for: each needs its prompt admitted once.
    let passes = osl / accept_length;
    let context = isl + osl / 2.0;
    let kv_cap = if caps.max_kv_tokens > 0.0 {
        (caps.max_kv_tokens / context).floor()
    } else {
        1024.0
    };
    let balance = (budget - eff / passes).floor();
    let limit = kv_cap
        .min(caps.max_num_seqs)
        .min(budget - 1.0)
        .min(balance)
        .max(1.0) as u32;
    let step_at = |bs: f64| pass((bs * eff / passes).min(budget), bs * context);
    let mut best = None;
    for bs in 1..=limit {
        let b = f64::from(bs);
        let step = step_at(b)?;
        let queued = (b * isl / passes).min(budget);
        let ttft = estimate_ttft_ms(&pass, queued, isl, kv_hit, budget, b * context)?;
        if step * 1000.0 / accept_length > itl_ms || ttft > ttft_ms {
            break;
        }
        best = Some(bs);
    }
    let (batch, violated) = best.map_or((1, true), |b| (b, false));
    let step = step_at(f64::from(batch))?;
    (step > 0.0).then(|| AggCapacity {
        rps: f64::from(batch) / (passes * step),
        batch,
        violated,
    })
}

/// Replicas needed for `demand_rps` at `engine_rps` each: `max(⌈demand / engine⌉, min)`.
pub fn replicas_for(demand_rps: f64, engine_rps: f64, min_endpoint: u32) -> u32 {
    if engine_rps <= 0.0 || !demand_rps.is_finite() {
        return min_endpoint;
    }
    ((demand_rps / engine_rps).ceil().max(0.0) as u32).max(min_endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(kv: f64) -> EngineCaps {
        EngineCaps {
            max_num_batched_tokens: 8192.0,
            max_num_seqs: 256.0,
            max_kv_tokens: kv,
            speculative_nextn: 0,
            startup_time_s: 0.0,
        }
    }

    #[test]
    fn prefill_is_chunked_by_the_budget() {
        // t(x) = 0.01 + 1e-5·x; 20000 tokens with budget 8192 = 2·t(8192) + t(3616).
        let t = |x: f64| Some(0.01 + 1e-5 * x);
        let expected = 2.0 * (0.01 + 0.08192) + (0.01 + 0.03616);
        let rps = prefill_engine_rps(t, 20_000.0, 0.0, 8192.0).unwrap();
        assert!((rps - 1.0 / expected).abs() < 1e-9);
        // The KV-hit credit is capped at 95%.
        let full_hit = prefill_engine_rps(t, 20_000.0, 1.0, 8192.0).unwrap();
        assert!((full_hit - 1.0 / (0.01 + 1e-5 * 1000.0)).abs() < 1e-9);
        assert_eq!(prefill_engine_rps(|_| None, 100.0, 0.0, 8192.0), None);
    }

    #[test]
    fn decode_search_finds_the_largest_batch_within_itl() {
        let step = |bs: f64, kv: f64| Some(0.004 + 2e-4 * bs + 1e-8 * kv);
        // ctx = 1000 + 50 = 1050; step(bs) = 4 ms + 0.2 ms·bs + 0.0105 ms·bs = 4 + 0.2105·bs ms.
        // ITL 25 ms → bs ≤ 99.76 → 99.
        let c = decode_engine_rps(step, 1000.0, 100.0, 25.0, &caps(1e7), 1.0).unwrap();
        assert_eq!(c.batch, 99);
        assert!(!c.violated);
        // KV limits the batch: 50,000 tokens / 1050 per sequence = 47.
        assert_eq!(
            decode_engine_rps(step, 1000.0, 100.0, 25.0, &caps(50_000.0), 1.0)
                .unwrap()
                .batch,
            47
        );
        // max_num_seqs limits it too.
        let small = EngineCaps {
            max_num_seqs: 10.0,
            ..caps(1e7)
        };
        assert_eq!(
            decode_engine_rps(step, 1000.0, 100.0, 25.0, &small, 1.0)
                .unwrap()
                .batch,
            10
        );
        // Even one sequence misses 3 ms: batch 1, flagged.
        let c = decode_engine_rps(step, 1000.0, 100.0, 3.0, &caps(1e7), 1.0).unwrap();
        assert_eq!((c.batch, c.violated), (1, true));
    }

    #[test]
    fn ttft_estimate_sums_chunks() {
        let pass = |p: f64, kv: f64| Some(0.01 + 1e-5 * p + 1e-7 * kv);
        // 9000 queued + 1000 new, 10% cached → 9000 tokens: chunks 8192 + 808.
        let ms = estimate_ttft_ms(pass, 9000.0, 1000.0, 0.1, 8192.0, 1000.0).unwrap();
        let expected = (0.01 + 0.08192 + 1e-4) + (0.01 + 0.00808 + 1e-4);
        assert!((ms - expected * 1000.0).abs() < 1e-9);
    }

    #[test]
    fn agg_search_respects_the_balance_rule_and_the_slas() {
        let pass = |p: f64, kv: f64| Some(0.005 + 1e-5 * p + 1e-8 * kv);
        // ISL 3000, OSL 150: balance x ≤ 8192 − 3000/150 = 8172; KV 1e6 / 3075 = 325; seqs 256.
        let generous = agg_engine_rps(pass, 3000.0, 150.0, 0.0, 1e9, 1e9, &caps(1e6), 1.0).unwrap();
        assert_eq!(generous.batch, 256);
        // ITL 20 ms: step(bs) = 5 + 0.2·bs + 0.03075·bs ms (prefill 20·bs tokens/pass) → bs ≤ 65.
        let c = agg_engine_rps(pass, 3000.0, 150.0, 0.0, 1e9, 20.0, &caps(1e6), 1.0).unwrap();
        assert_eq!(c.batch, 65);
        let step = 0.005 + 1e-5 * 65.0 * 20.0 + 1e-8 * 65.0 * 3075.0;
        assert!((c.rps - 65.0 / (150.0 * step)).abs() < 1e-9);
        // The balance rule binds when prompts are long against outputs: ISL 8000, OSL 1 →
        // x ≤ 8192 − 8000 = 192.
        let bound = agg_engine_rps(pass, 8000.0, 1.0, 0.0, 1e9, 1e9, &caps(1e9), 1.0).unwrap();
        assert_eq!(bound.batch, 192);
        // A TTFT target no batch meets: batch 1, flagged.
        let c = agg_engine_rps(pass, 3000.0, 150.0, 0.0, 1.0, 1e9, &caps(1e6), 1.0).unwrap();
        assert_eq!((c.batch, c.violated), (1, true));
    }

    /// The seed's example: nextn = 2, every draft accepted over OSL 64 (accept length
    /// 64/22), batch 16, a raw forward pass of 40 ms.
    #[test]
    fn speculative_decoding_discounts_itl_not_osl() {
        let accept = 64.0 / 22.0;
        let step = |_bs: f64, _kv: f64| Some(0.040);
        // KV for exactly 16 sequences of context ISL + OSL/2 (raw OSL).
        let caps = EngineCaps {
            max_kv_tokens: 16.0 * (1000.0 + 32.0),
            ..caps(0.0)
        };
        let mtp = decode_engine_rps(step, 1000.0, 64.0, 14.0, &caps, accept).unwrap();
        // ITL = 40 / 2.909 = 13.75 ms ≤ 14: the KV-bound batch of 16 fits.
        assert_eq!((mtp.batch, mtp.violated), (16, false));
        assert!((mtp.rps - 16.0 * accept / (64.0 * 0.040)).abs() < 1e-9);
        assert!((mtp.rps - 18.181_818_181_8).abs() < 1e-9);
        // Without it a 40 ms ITL misses the target; with a looser one, the same KV-bound
        // batch serves `accept` times fewer requests.
        let plain = decode_engine_rps(step, 1000.0, 64.0, 14.0, &caps, 1.0).unwrap();
        assert_eq!((plain.batch, plain.violated), (1, true));
        let plain = decode_engine_rps(step, 1000.0, 64.0, 50.0, &caps, 1.0).unwrap();
        assert_eq!(plain.batch, 16);
        assert!((plain.rps - 6.25).abs() < 1e-9);
    }

    #[test]
    fn faster_decode_egress_tightens_the_agg_balance() {
        let pass = |p: f64, kv: f64| Some(0.005 + 1e-5 * p + 1e-8 * kv);
        // ISL 8000, OSL 2: x ≤ 8192 − 8000 · accept / 2.
        let plain = agg_engine_rps(pass, 8000.0, 2.0, 0.0, 1e9, 1e9, &caps(1e9), 1.0).unwrap();
        assert_eq!(plain.batch, 256);
        let mtp = agg_engine_rps(pass, 8000.0, 2.0, 0.0, 1e9, 1e9, &caps(1e9), 2.0).unwrap();
        assert_eq!(mtp.batch, 192);
        // ITL is discounted: at 20 ms, accept length 2 allows a larger batch than 1.
        let itl = |accept| {
            agg_engine_rps(pass, 3000.0, 150.0, 0.0, 1e9, 20.0, &caps(1e6), accept)
                .unwrap()
                .batch
        };
        assert_eq!(itl(1.0), 65);
        assert!(itl(2.0) > 65);
    }

    #[test]
    fn replica_counts() {
        assert_eq!(replicas_for(10.0, 4.0, 1), 3);
        assert_eq!(replicas_for(0.0, 4.0, 2), 2);
        assert_eq!(replicas_for(10.0, 0.0, 1), 1);
    }
}
