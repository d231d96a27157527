//! Chaining passes up to a horizon: the common core of every engine's
//! [`Scheduler::run_until`](crate::Scheduler::run_until).

use servesim_trace::SimTime;

use crate::output::{PassOutput, SignalKind};

/// Runs `step` back to back from `now` while every pass produced nothing but second tokens,
/// ended before `horizon` and leaves `may_continue` true. Returns the end of the last pass
/// (`None` if none ran).
pub(crate) fn chain_passes<E>(
    engine: &mut E,
    now: SimTime,
    horizon: SimTime,
    out: &mut PassOutput,
    step: impl Fn(&mut E, SimTime, &mut PassOutput) -> Option<SimTime>,
    may_continue: impl Fn(&E) -> bool,
) -> Option<SimTime> {
    let mut end = step(engine, now, out)?;
    let mut seen = 0;
    loop {
        let settled = out.signals[seen..]
            .iter()
            .all(|s| s.kind == SignalKind::SecondToken);
        seen = out.signals.len();
        if !settled || end >= horizon || !may_continue(engine) {
            return Some(end);
        }
        match step(engine, end, out) {
            Some(next) => end = next,
            None => return Some(end),
        }
    }
}
