//! The event loop: one clock, one ordered set of pending events (see [`super`]).

use std::cmp::Reverse;

use servesim_trace::{NodeId, SimTime};

use super::state::{Sim, Timer};
use crate::error::ReplayError;
use crate::transfer::Wakeup;

fn earliest(times: impl IntoIterator<Item = Option<SimTime>>) -> Option<SimTime> {
    times.into_iter().flatten().min()
}

impl Sim<'_, '_> {
    pub(super) fn run(&mut self) -> Result<SimTime, ReplayError> {
        let mut now = SimTime::ZERO;
        let mut iterations = 0u64;
        loop {
            self.deliver_pass_ends(now)?;
            self.fire_timers(now)?;
            self.dispatch_held(now)?;
            self.release_completed();
            loop {
                // A stream loads the next root first: it may be due now.
                if let Some(next) = self.admission.awaited_root() {
                    self.requests.load_through(next)?;
                }
                let Some((node, arrival)) = self.admission.pop_ready(&self.requests, now) else {
                    break;
                };
                self.dispatch(node, arrival, now)?;
            }
            self.drive(now);
            iterations += 1;
            if iterations.is_multiple_of(4096) {
                self.observer
                    .progress(now, self.completed, self.requests.seen());
            }
            // Work that advances by itself: passes, transfers, worker start-ups, arrivals.
            let progressing = earliest([
                self.pass_ends.peek().map(|Reverse((t, ..))| *t),
                self.timers
                    .iter()
                    .filter(|Reverse((_, _, timer))| *timer != Timer::PlannerTick)
                    .map(|Reverse((t, ..))| *t)
                    .min(),
                self.admission.next_time(&self.requests),
            ]);
            let in_flight = self.admission.in_flight();
            let tick = self
                .timers
                .iter()
                .filter(|Reverse((_, _, timer))| *timer == Timer::PlannerTick)
                .map(|Reverse((t, ..))| *t)
                .min();
            // Ticks keep running while work remains; they alone can only help a request a
            // router holds (by adding a worker), never finish one that nothing drives.
            let held = self.pools.iter().any(|p| !p.held.is_empty());
            let next = match (progressing, tick) {
                (Some(p), Some(t)) => Some(p.min(t)),
                (Some(p), None) => Some(p),
                (None, Some(t)) if in_flight > 0 && held => Some(t),
                _ => None,
            };
            match next {
                Some(t) => now = t.max(now),
                None if in_flight > 0 => return Err(ReplayError::DeadEnd { at: now, in_flight }),
                None => break,
            }
        }
        self.observer
            .progress(now, self.completed, self.requests.seen());
        Ok(now)
    }

    /// A streamed replay lets go of the requests that completed.
    fn release_completed(&mut self) {
        if let Some(open) = self.collector.fold_completed() {
            self.requests
                .release_before(NodeId(u32::try_from(open).unwrap_or(u32::MAX)));
        }
    }

    pub(super) fn schedule(&mut self, at: SimTime, timer: Timer) {
        self.event_seq += 1;
        self.timers.push(Reverse((at, self.event_seq, timer)));
    }

    pub(super) fn fire_timers(&mut self, now: SimTime) -> Result<(), ReplayError> {
        while let Some(&Reverse((t, _, timer))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            match timer {
                Timer::Transfer { link, version } => {
                    let Some(d) = self.disagg.as_mut() else {
                        continue;
                    };
                    let next = d.links.wake(
                        Wakeup {
                            link,
                            at: t,
                            version,
                        },
                        now,
                        &mut self.finished_transfers,
                    );
                    self.schedule_transfer(next);
                    self.complete_transfers(now)?;
                }
                Timer::WorkerReady { worker } => self.activate(worker, now),
                Timer::PlannerTick => self.tick(now),
            }
        }
        Ok(())
    }

    /// Starts passes on idle workers that have work.
    pub(super) fn drive(&mut self, now: SimTime) {
        self.to_drive.sort_unstable();
        self.to_drive.dedup();
        let candidates = std::mem::take(&mut self.to_drive);
        let drivers: Vec<usize> = candidates
            .into_iter()
            .filter(|&w| {
                let worker = &self.workers[w];
                worker.state.serves() && !worker.busy && worker.engine.has_work()
            })
            .collect();
        // With couplings (including requests held by a router, which another worker's
        // progress can release), a worker may only run ahead to the next event of any
        // kind — known only if no other worker starts at this same instant.
        let coupled = self.coupled || self.pools.iter().any(|p| p.router.queued() > 0);
        let fast = !coupled || drivers.len() == 1;
        let mut horizon = earliest([
            self.admission.next_time(&self.requests),
            self.timers.peek().map(|Reverse((t, ..))| *t),
        ])
        .unwrap_or(SimTime::MAX);
        if coupled && let Some(Reverse((t, ..))) = self.pass_ends.peek() {
            horizon = horizon.min(*t);
        }
        for w in drivers {
            let worker = &mut self.workers[w];
            let out = &mut worker.pending;
            out.clear();
            let end = if fast {
                worker.engine.run_until(now, horizon, out)
            } else {
                worker.engine.step(now, out)
            };
            self.counts.engine_calls += 1;
            let Some(end) = end else {
                // Nothing schedulable: retry at the next instant something happens.
                self.to_drive.push(w);
                continue;
            };
            self.counts.passes += out.passes;
            // Events of later passes in the run are delivered now, stamped with their pass
            // start: no routing decision falls between now and the horizon.
            if !out.kv_events.is_empty() {
                self.pools[worker.pool]
                    .router
                    .on_kv_events(worker.local, &out.kv_events);
            }
            worker.busy = true;
            self.event_seq += 1;
            self.pass_ends.push(Reverse((end, self.event_seq, w)));
        }
    }
}
