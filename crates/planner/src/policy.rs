//! The scaling-policy seam: the SLA planner and the baselines it is compared with.

use std::collections::BTreeMap;
use std::fmt;

use crate::observe::{Component, EngineCaps, EngineSample, TickInput};
use crate::record::TickRecord;

/// What a policy decided at a tick.
#[derive(Clone, Debug, PartialEq)]
pub struct TickOutput {
    /// Replicas wanted per pool (only the pools the policy scales).
    pub targets: BTreeMap<Component, u32>,
    /// Diagnostics.
    pub record: TickRecord,
}

/// A replica-count policy driven tick by tick.
///
/// Contract: [`next_tick_s`](ScalingPolicy::next_tick_s) is the simulated time of the next
/// call and strictly increases after each [`on_tick`](ScalingPolicy::on_tick); targets
/// respect `min_endpoint` and the GPU budget; the policy is deterministic.
pub trait ScalingPolicy: fmt::Debug + Send {
    /// When the policy wants to be called next, in seconds.
    fn next_tick_s(&self) -> f64;
    /// Observes the deployment and decides.
    fn on_tick(&mut self, input: &TickInput) -> TickOutput;
    /// Pre-deployment samples (from a sweep of the engine's timing model) to warm up the
    /// regressions before any traffic; policies without models ignore them.
    fn bootstrap(&mut self, component: Component, samples: &[EngineSample]) {
        let _ = (component, samples);
    }
    /// A short name for reports.
    fn name(&self) -> &'static str;
}

/// The deployment a policy manages.
#[derive(Clone, Debug)]
pub struct Deployment {
    /// The pools it scales, with their engines' capacity and GPUs per replica.
    pub pools: BTreeMap<Component, (EngineCaps, u32)>,
}
