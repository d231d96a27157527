//! Worker lifecycles: start-up, service, draining, retirement — and the GPU-hours they cost.
//!
//! A worker added by a scaler is *starting* for its engine's `startup_time`, then *active*
//! (registered with its pool's router). Scaling down cancels starting workers first (newest
//! first), then *drains* the newest active ones: they leave the router at once, finish what
//! they hold, then *retire*. GPU-hours integrate every worker's GPUs exactly over its life,
//! starting and draining time included.

use servesim_engine::{PassOutput, new_engine};
use servesim_router::WorkerId;
use servesim_trace::SimTime;

use super::lifecycle::{Lifecycle, Phase};
use super::state::{Sim, Timer, Worker};
use crate::outcome::PoolKind;

impl Sim<'_, '_> {
    /// Adds a worker to `pool`: active at once if `initial` or its engine starts instantly,
    /// else starting until `startup_time` has passed.
    pub(super) fn add_worker(&mut self, pool: usize, now: SimTime, initial: bool) {
        let p = &mut self.pools[pool];
        let global = self.workers.len();
        let mut engine = new_engine(p.engine.for_worker(global as u64));
        engine.record_kv_events(p.router.kv_event_stride());
        let local = WorkerId(p.workers.len() as u32);
        let startup = p.engine.startup_time;
        let instant = initial || startup == SimTime::ZERO;
        p.workers.push(global);
        if p.kind == PoolKind::Prefill
            && let Some(d) = self.disagg.as_mut()
        {
            d.links.add_link();
        }
        self.workers.push(Worker {
            pool,
            local,
            engine,
            state: Lifecycle::new(instant, now),
            busy: false,
            pending: PassOutput::default(),
            last_fpm: Default::default(),
            requests: 0,
            input_tokens: 0,
            reused_tokens: 0,
            emitted: Default::default(),
        });
        if instant {
            self.pools[pool].router.add_worker(local, now);
        } else {
            self.schedule(now + startup, Timer::WorkerReady { worker: global });
        }
    }

    /// A starting worker becomes ready (ignored if it was cancelled meanwhile).
    pub(super) fn activate(&mut self, worker: usize, now: SimTime) {
        let w = &mut self.workers[worker];
        if w.state.phase != Phase::Starting {
            return;
        }
        w.state.phase = Phase::Active;
        let (pool, local) = (w.pool, w.local);
        self.pools[pool].router.add_worker(local, now);
    }

    /// Active plus starting workers of `pool` (draining ones no longer count).
    pub(super) fn effective_count(&self, pool: usize) -> u32 {
        self.pools[pool]
            .workers
            .iter()
            .filter(|&&w| matches!(self.workers[w].state.phase, Phase::Active | Phase::Starting))
            .count() as u32
    }

    /// Workers of `pool` in `phase`, newest first.
    fn newest_in(&self, pool: usize, phase: Phase) -> Vec<usize> {
        self.pools[pool]
            .workers
            .iter()
            .rev()
            .copied()
            .filter(|&w| self.workers[w].state.phase == phase)
            .collect()
    }

    /// Brings `pool` to `target` workers; returns the count before.
    pub(super) fn scale_to(&mut self, pool: usize, target: u32, now: SimTime) -> u32 {
        let current = self.effective_count(pool);
        for _ in current..target {
            self.add_worker(pool, now, false);
        }
        let mut excess = current.saturating_sub(target) as usize;
        for w in self
            .newest_in(pool, Phase::Starting)
            .into_iter()
            .take(excess)
        {
            self.retire(w, now);
            excess -= 1;
        }
        for w in self.newest_in(pool, Phase::Active).into_iter().take(excess) {
            let worker = &mut self.workers[w];
            worker.state.phase = Phase::Draining;
            let (p, local) = (worker.pool, worker.local);
            self.pools[p].router.remove_worker(local, now);
            self.retire_if_drained(w, now);
        }
        current
    }

    fn retire(&mut self, worker: usize, now: SimTime) {
        self.workers[worker].state.retire(now);
    }

    /// Retires a draining worker once it has nothing left to do.
    pub(super) fn retire_if_drained(&mut self, worker: usize, now: SimTime) {
        let w = &self.workers[worker];
        if w.state.phase == Phase::Draining && !w.busy && !w.engine.has_work() {
            self.retire(worker, now);
        }
    }

    /// GPU-hours of every worker up to `now`.
    pub(super) fn gpu_hours(&self, now: SimTime) -> f64 {
        self.workers
            .iter()
            .map(|w| w.state.seconds(now) * f64::from(self.pools[w.pool].gpus_per_worker))
            .sum::<f64>()
            / 3600.0
    }
}
