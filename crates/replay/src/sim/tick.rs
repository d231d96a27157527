//! Planner ticks: build what a live planner would observe, apply its decision.

use servesim_planner::observe::{EngineSample, PoolState, TickInput};
use servesim_trace::SimTime;

use super::lifecycle::Phase;
use super::state::{Sim, Timer};
use crate::planning::{PlanningSummary, ScalingEvent, sample};

impl Sim<'_, '_> {
    /// What the policy sees of `pool`: replica counts, the latest sample of every serving
    /// replica (a zero heartbeat when it is idle, so an idle replica never reports a stale
    /// busy pass), the samples published since the last tick, and requests in flight.
    fn pool_state(&mut self, pool: usize) -> PoolState {
        let p = &self.pools[pool];
        let (mut ready, mut starting, mut in_flight) = (0, 0, p.held.len() as f64);
        let mut engines = Vec::new();
        for &w in &p.workers {
            let worker = &self.workers[w];
            match worker.state.phase {
                Phase::Starting => starting += 1,
                Phase::Active => {
                    ready += 1;
                    let idle = !worker.busy && !worker.engine.has_work();
                    engines.push(if idle {
                        EngineSample::default()
                    } else {
                        sample(&worker.last_fpm)
                    });
                }
                Phase::Draining | Phase::Retired => {}
            }
            if worker.state.serves() {
                in_flight += worker.engine.in_flight() as f64;
            }
        }
        let component = p.component();
        let new_samples = self
            .planning
            .as_mut()
            .map(|pl| pl.drain_samples(component))
            .unwrap_or_default();
        PoolState {
            ready,
            starting,
            engines,
            new_samples,
            in_flight,
        }
    }

    /// Runs one policy tick at `now` and schedules the next.
    pub(super) fn tick(&mut self, now: SimTime) {
        let Some(mut planning) = self.planning.take() else {
            return;
        };
        let mut input = TickInput {
            now_s: now.as_secs_f64(),
            traffic: Some(planning.drain_traffic(now)),
            ..TickInput::default()
        };
        self.planning = Some(planning);
        for pool in 0..self.pools.len() {
            let state = self.pool_state(pool);
            match self.pools[pool].component() {
                servesim_planner::observe::Component::Prefill => input.prefill = state,
                servesim_planner::observe::Component::Decode => input.decode = state,
            }
        }
        let Some(mut planning) = self.planning.take() else {
            return;
        };
        let output = planning.policy.on_tick(&input);
        planning.ticks += 1;
        for (&component, &target) in &output.targets {
            let Some(pool) = self.pools.iter().position(|p| p.component() == component) else {
                continue;
            };
            let from = self.scale_to(pool, target, now);
            if from != target {
                planning.events.push(ScalingEvent {
                    time_s: now.as_secs_f64(),
                    component,
                    from,
                    to: target,
                    direction: if target > from {
                        "scale_up"
                    } else {
                        "scale_down"
                    },
                });
            }
        }
        let mut record = output.record;
        record.gpu_hours = self.gpu_hours(now);
        planning.records.push(record);
        // A policy always moves forward; guard against a tick at the same instant.
        let next = planning.next_tick().max(now + SimTime::from_micros(1));
        self.planning = Some(planning);
        self.schedule(next, Timer::PlannerTick);
    }

    /// The planner's results, if a planner ran.
    pub(super) fn planning_summary(&self, end: SimTime) -> Option<PlanningSummary> {
        let planning = self.planning.as_ref()?;
        Some(PlanningSummary {
            policy: planning.policy.name(),
            ticks: planning.ticks,
            gpu_hours: self.gpu_hours(end),
            sla: crate::metrics::SlaAttainment::of(
                self.collector.measured(),
                planning.ttft_ms,
                planning.itl_ms,
                self.gpu_hours(end),
            ),
            scaling_events: planning.events.clone(),
            records: planning.records.clone(),
            kv_capacity_tokens: planning.kv_capacity_tokens,
        })
    }
}
