//! servesim's load rules for the SLA planner (see the parent module's docs): sizing for the
//! forecast rate, observed-miss scale-ups, stabilised scale-downs.

use std::cmp::Ordering;

use super::{SlaPlanner, Step};
use crate::capacity::replicas_for;
use crate::observe::{Component, PoolState};
use crate::record::{LoadReason, PoolRecord};

impl SlaPlanner {
    /// Replicas `component` needs for the arrival rate forecast one start-up (plus one load
    /// interval) ahead, at the recent request shape; records the engine rate.
    pub(super) fn capacity_need(
        &self,
        component: Component,
        now_s: f64,
        record: &mut PoolRecord,
    ) -> Option<u32> {
        let shape = self.recent.shape()?;
        let ahead = self.caps(component).startup_time_s + self.config.load_adjustment_interval;
        let rate = self.recent.rate_ahead(now_s, ahead)?;
        let rps = self.engine_rps(component, shape.isl, shape.osl, shape.kv_hit_rate)?;
        record.engine_rps = Some(rps);
        Some(replicas_for(rate, rps, self.config.min_endpoint))
    }

    /// Whether the last window's observed mean TTFT or ITL — one the pool is held to —
    /// missed its target: the estimates alone do not add replicas beyond the capacity rule.
    fn observed_miss(&self, component: Component) -> bool {
        let (ttft, itl) = self.observed_latency;
        let (held_to_ttft, held_to_itl) = self.held_to(component);
        (held_to_ttft && ttft.is_some_and(|v| v > self.config.ttft))
            || (held_to_itl && itl.is_some_and(|v| v > self.config.itl))
    }

    /// Load tick for one pool under the servesim rules; returns its target.
    ///
    /// The pool is sized for the forecast rate at every tick (up at once), one replica more
    /// when every engine misses a target the estimates hold it to (the model may be
    /// optimistic), and shrinks by one replica only when the smaller pool holds the SLA at
    /// the current load (the estimates at `n/(n−1)` of it) and the forecast needs fewer —
    /// and has for the whole stabilisation window.
    pub(super) fn servesim_load_tick(
        &mut self,
        component: Component,
        pool: &PoolState,
        now_s: f64,
        record: &mut PoolRecord,
    ) -> Option<u32> {
        let current = pool.ready + pool.starting;
        let need = self.capacity_need(component, now_s, record);
        if let Some(need) = need {
            self.lower_bound.insert(component, need);
        }
        let step = if pool.engines.is_empty() || pool.engines.len() as u32 != pool.ready {
            None
        } else {
            self.sla_step(component, pool, record)
        };
        let Some(need) = need.or(step.map(|_| current)) else {
            record.load_reason = Some(if pool.engines.is_empty() {
                LoadReason::NoFpmData
            } else {
                LoadReason::InsufficientData
            });
            return None;
        };
        let mut wanted = need;
        if step == Some(Step::Up) && pool.starting == 0 && self.observed_miss(component) {
            wanted = wanted.max(pool.ready + 1);
        }
        if wanted < current {
            wanted = if step == Some(Step::Down) && pool.starting == 0 {
                wanted.max(current - 1)
            } else {
                current
            };
        }
        let wanted = wanted.max(self.config.min_endpoint);
        let target = self
            .stabilizers
            .get_mut(&component)
            .map_or(wanted, |s| s.settle(now_s, wanted, current));
        record.load_reason = Some(match target.cmp(&current) {
            Ordering::Greater => LoadReason::ScaleUp,
            Ordering::Less => LoadReason::ScaleDown,
            Ordering::Equal if wanted < current => LoadReason::ScaleDownStabilizing,
            Ordering::Equal => LoadReason::NoChange,
        });
        Some(target)
    }
}
