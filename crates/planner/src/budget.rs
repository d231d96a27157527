//! GPU budget rules: how many replicas fit.

/// The most replicas of `gpus_per_replica` GPUs a budget allows (`None` for a negative,
/// i.e. unlimited, budget).
pub fn max_replicas(budget: f64, gpus_per_replica: u32) -> Option<u32> {
    (budget >= 0.0).then(|| (budget / f64::from(gpus_per_replica.max(1))).floor() as u32)
}

/// One pool: `desired` raised to `min_endpoint`, then capped by the budget (never below
/// `min_endpoint`: configuration validation rejects budgets that cannot hold it).
///
/// ```
/// use servesim_planner::budget::clamp_single;
/// assert_eq!(clamp_single(12, 1, 8.0, 1), 8);
/// assert_eq!(clamp_single(0, 2, 8.0, 1), 2);
/// assert_eq!(clamp_single(5, 1, 8.0, 2), 4);
/// assert_eq!(clamp_single(50, 1, -1.0, 1), 50);
/// ```
pub fn clamp_single(desired: u32, min_endpoint: u32, budget: f64, gpus_per_replica: u32) -> u32 {
    let wanted = desired.max(min_endpoint);
    match max_replicas(budget, gpus_per_replica) {
        Some(cap) => wanted.min(cap.max(min_endpoint)),
        None => wanted,
    }
}

/// Two pools sharing one budget: both raised to `min_endpoint`; if together they exceed the
/// budget, both are scaled down proportionally (floored, at least `min_endpoint`) and the
/// GPUs left over go to decode (the reference's rule).
///
/// ```
/// use servesim_planner::budget::clamp_global;
/// // 6 prefill + 10 decode single-GPU replicas in an 8-GPU budget → 3 + 5.
/// assert_eq!(clamp_global((6, 10), 1, 8.0, (1, 1)), (3, 5));
/// assert_eq!(clamp_global((2, 3), 1, 8.0, (1, 1)), (2, 3));
/// ```
pub fn clamp_global(
    desired: (u32, u32),
    min_endpoint: u32,
    budget: f64,
    gpus: (u32, u32),
) -> (u32, u32) {
    let (p, d) = (desired.0.max(min_endpoint), desired.1.max(min_endpoint));
    let (gp, gd) = (f64::from(gpus.0.max(1)), f64::from(gpus.1.max(1)));
    let total = f64::from(p) * gp + f64::from(d) * gd;
    if budget < 0.0 || total <= budget {
        return (p, d);
    }
    let scale = budget / total;
    let p2 = ((f64::from(p) * scale).floor() as u32).max(min_endpoint);
    let left = (budget - f64::from(p2) * gp).max(0.0);
    let d2 = ((left / gd).floor() as u32).clamp(min_endpoint, d);
    (p2, d2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_pool_clamps() {
        assert_eq!(max_replicas(8.0, 2), Some(4));
        assert_eq!(max_replicas(-1.0, 2), None);
        assert_eq!(clamp_single(9, 1, 8.0, 2), 4);
        assert_eq!(clamp_single(3, 1, 8.0, 2), 3);
    }

    #[test]
    fn global_budget_keeps_proportions_and_gives_the_rest_to_decode() {
        // 4 + 4 two-GPU replicas = 16 GPUs over a 10-GPU budget: scale 0.625 → 2 prefill,
        // then (10 − 4) / 2 = 3 decode.
        assert_eq!(clamp_global((4, 4), 1, 10.0, (2, 2)), (2, 3));
        // Minimums hold even when the proportional share is below them.
        assert_eq!(clamp_global((1, 20), 1, 8.0, (1, 1)), (1, 7));
        assert_eq!(clamp_global((3, 3), 1, -1.0, (4, 4)), (3, 3));
    }
}
