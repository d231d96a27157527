//! What every scaling policy does with pools: record what it observed, and fit desired replica
//! counts into `min_endpoint` and the GPU budget.

use std::collections::BTreeMap;

use crate::config::PlannerConfig;
use crate::observe::{Component, PoolState, TickInput};
use crate::policy::Deployment;
use crate::record::{PoolRecord, TickRecord};

/// The pool record every policy starts from: counts and per-engine load.
pub(crate) fn observed_pool(pool: &PoolState) -> PoolRecord {
    PoolRecord {
        ready: pool.ready,
        starting: pool.starting,
        target: pool.ready + pool.starting,
        engines: pool.engines.iter().map(Into::into).collect(),
        ..PoolRecord::default()
    }
}

/// Puts per-pool records into a tick record.
pub(crate) fn tick_record(
    input: &TickInput,
    mut pools: BTreeMap<Component, PoolRecord>,
) -> TickRecord {
    TickRecord {
        time_s: input.now_s,
        observed: input.traffic,
        predicted: None,
        prefill: pools.remove(&Component::Prefill),
        decode: pools.remove(&Component::Decode).unwrap_or_default(),
        gpu_hours: 0.0,
    }
}

/// Applies `min_endpoint` and the GPU budget to desired replica counts.
pub(crate) fn within_budget(
    config: &PlannerConfig,
    deployment: &Deployment,
    desired: &mut BTreeMap<Component, u32>,
) {
    let gpus = |c: Component| deployment.pools.get(&c).map_or(1, |p| p.1);
    match (
        desired.get(&Component::Prefill).copied(),
        desired.get(&Component::Decode).copied(),
    ) {
        (Some(p), Some(d)) => {
            let (p, d) = crate::budget::clamp_global(
                (p, d),
                config.min_endpoint,
                config.max_gpu_budget,
                (gpus(Component::Prefill), gpus(Component::Decode)),
            );
            desired.insert(Component::Prefill, p);
            desired.insert(Component::Decode, d);
        }
        _ => {
            for (component, n) in desired.iter_mut() {
                *n = crate::budget::clamp_single(
                    *n,
                    config.min_endpoint,
                    config.max_gpu_budget,
                    gpus(*component),
                );
            }
        }
    }
}
