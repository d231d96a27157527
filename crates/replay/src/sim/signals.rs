//! Pass ends: delivering what engines report (tokens, completions, hand-offs) to the
//! collector, routers, admission and planner.

use std::cmp::Reverse;

use servesim_engine::{RequestId, SignalKind};
use servesim_trace::{NodeId, SimTime};

use super::state::Sim;
use crate::error::ReplayError;
use crate::outcome::PoolKind;

impl Sim<'_, '_> {
    /// Delivers the effects of every pass ending at `now`.
    pub(super) fn deliver_pass_ends(&mut self, now: SimTime) -> Result<(), ReplayError> {
        while let Some(&Reverse((t, _, w))) = self.pass_ends.peek() {
            if t > now {
                break;
            }
            self.pass_ends.pop();
            let mut out = std::mem::take(&mut self.workers[w].pending);
            for signal in &out.signals {
                self.apply_signal(w, signal.request, signal.at, signal.kind)?;
            }
            for run in &out.token_runs {
                self.collector.add_gaps(run.gap, run.count);
            }
            let component = self.pools[self.workers[w].pool].component();
            if let Some(planning) = &mut self.planning {
                planning.on_pass(component, &out.fpm);
                planning.on_tokens(out.emitted);
            }
            let worker = &mut self.workers[w];
            worker.last_fpm = out.fpm;
            worker.emitted.merge(out.emitted);
            out.clear();
            worker.pending = out;
            worker.busy = false;
            self.to_drive.push(w);
            self.retire_if_drained(w, now);
        }
        Ok(())
    }

    pub(super) fn apply_signal(
        &mut self,
        w: usize,
        request: RequestId,
        at: SimTime,
        kind: SignalKind,
    ) -> Result<(), ReplayError> {
        let pool = self.workers[w].pool;
        let record = self.collector.record_mut(request.0);
        match kind {
            SignalKind::FirstToken => {
                record.first_token = Some(at);
                let ttft = at.saturating_sub(record.arrival);
                self.pools[pool].router.on_first_token(request, at);
                if let Some(planning) = &mut self.planning {
                    planning.on_first_token(ttft);
                }
            }
            SignalKind::SecondToken => record.second_token = Some(at),
            SignalKind::Completed {
                reused_tokens,
                preemptions,
            } => {
                record.completed = Some(at);
                record.preemptions += preemptions;
                let aggregated = self.pools[pool].kind == PoolKind::Aggregated;
                if aggregated {
                    record.reused_tokens = reused_tokens;
                    let worker = &mut self.workers[w];
                    worker.reused_tokens += u64::from(reused_tokens.min(record.input_tokens));
                    worker.input_tokens += u64::from(record.input_tokens);
                }
                let done = *record;
                self.pools[pool].router.on_finished(request, at);
                let warmup_ended =
                    self.admission
                        .on_complete(&self.requests, NodeId(request.0 as u32), at);
                if warmup_ended {
                    self.collector.begin_measurement(at);
                }
                self.completed += 1;
                self.counts.completions += 1;
                if let Some(planning) = &mut self.planning {
                    let itl = match (done.first_token, done.output_tokens) {
                        (Some(first), n) if n > 1 => {
                            Some(at.saturating_sub(first).as_millis_f64() / f64::from(n - 1))
                        }
                        _ => None,
                    };
                    planning.on_completed(itl);
                    if aggregated {
                        planning.on_prefix_reuse(reused_tokens, done.input_tokens);
                    }
                }
                self.observer.request_done(&done);
            }
            SignalKind::PrefillDone { reused_tokens } => {
                record.reused_tokens = reused_tokens;
                let input = record.input_tokens;
                let worker = &mut self.workers[w];
                worker.reused_tokens += u64::from(reused_tokens.min(input));
                worker.input_tokens += u64::from(input);
                let router = &mut self.pools[pool].router;
                router.on_first_token(request, at);
                router.on_finished(request, at);
                if let Some(planning) = &mut self.planning {
                    planning.on_prefix_reuse(reused_tokens, input);
                }
                self.hand_off(w, request.0, at)?;
            }
            SignalKind::Preempted => self.counts.preemptions += 1,
        }
        Ok(())
    }
}
