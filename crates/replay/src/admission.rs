//! When requests become ready: timestamps, dependencies and concurrency slots.
//!
//! * **Trace mode** (open loop): a request without dependencies arrives at its timestamp.
//! * **Concurrency mode** (closed loop, `--replay-concurrency N`): timestamps are ignored and
//!   at most `N` requests are in flight; the arrival time is the dispatch time, so TTFT
//!   excludes the wait for a slot.
//!
//! In both modes a request with dependencies (a later conversation turn, an agentic node)
//! becomes ready `delay` after the last of its dependencies completes. Ready requests are
//! ordered by `(ready time, session, turn, id)`, so ties break deterministically.
//!
//! **Warm-up** (concurrency mode, `--warmup-requests W`): requests `0..W` run first, as a
//! benchmark client's warm-up phase does; no later request is dispatched before all of them
//! have completed, and metrics leave them out.
//!
//! Memory: one counter and one timestamp per request; roots are walked with a cursor over a
//! sorted index instead of being queued up front. A streamed replay (independent requests
//! in time order) keeps neither: its roots are walked in id order, as the stream loads them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use servesim_trace::{Dependants, NodeId, SimTime, Workload};

use crate::requests::Requests;

/// How requests are admitted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AdmissionMode {
    /// Open loop: roots arrive at their (normalised, sped-up) timestamps.
    Trace,
    /// Closed loop with at most this many requests in flight.
    Concurrency(u32),
}

/// Tracks which requests are ready to be dispatched.
#[derive(Debug)]
pub(crate) struct Admission {
    mode: AdmissionMode,
    roots: Roots,
    /// Dependent nodes whose dependencies all completed: `(ready, session, turn, id)`.
    ready: BinaryHeap<Reverse<(SimTime, u32, u32, u32)>>,
    /// Dependency bookkeeping (`None` for a stream of independent requests).
    deps: Option<DepState>,
    in_flight: usize,
    /// Requests `0..warmup` are the warm-up phase.
    warmup: u32,
    /// Warm-up requests not completed yet.
    warmup_left: u32,
}

/// The order roots (requests without dependencies) are dispatched in.
#[derive(Debug)]
enum Roots {
    /// By timestamp (trace mode) or by id (concurrency mode), with a cursor.
    Sorted { order: Vec<NodeId>, cursor: usize },
    /// By id: a stream is already in time order; `next` may not be loaded yet.
    InOrder { next: u32 },
}

/// What releasing dependent requests needs: per node, its missing dependencies and the
/// latest completion among those done, and who waits for whom.
#[derive(Debug)]
struct DepState {
    missing: Vec<u32>,
    latest: Vec<SimTime>,
    dependants: Dependants,
}

impl Admission {
    /// Open-loop admission of a stream of independent requests in time order.
    pub(crate) fn in_order() -> Self {
        Admission {
            mode: AdmissionMode::Trace,
            roots: Roots::InOrder { next: 0 },
            ready: BinaryHeap::new(),
            deps: None,
            in_flight: 0,
            warmup: 0,
            warmup_left: 0,
        }
    }

    /// The next root to dispatch, if it is loaded.
    fn next_root(&self, requests: &Requests<'_>) -> Option<NodeId> {
        match &self.roots {
            Roots::Sorted { order, cursor } => order.get(*cursor).copied(),
            Roots::InOrder { next } => Some(NodeId(*next)).filter(|id| requests.contains(*id)),
        }
    }

    /// The root a stream must load next (`None` for a whole workload).
    pub(crate) fn awaited_root(&self) -> Option<NodeId> {
        match self.roots {
            Roots::Sorted { .. } => None,
            Roots::InOrder { next } => Some(NodeId(next)),
        }
    }

    /// Admission of `workload` in `mode`, the first `warmup` requests (by id) as a warm-up
    /// phase (at most the workload's size).
    pub(crate) fn new(workload: &Workload, mode: AdmissionMode, warmup: u32) -> Self {
        let n = workload.len();
        let mut missing_deps = Vec::with_capacity(n);
        let mut roots = Vec::new();
        for i in 0..n {
            let id = NodeId(i as u32);
            let deps = workload.deps(id).len() as u32;
            missing_deps.push(deps);
            if deps == 0 {
                roots.push(id);
            }
        }
        if mode == AdmissionMode::Trace {
            roots.sort_by_key(|id| (workload.node(*id).timestamp.unwrap_or(SimTime::ZERO), *id));
        }
        Admission {
            mode,
            roots: Roots::Sorted {
                order: roots,
                cursor: 0,
            },
            ready: BinaryHeap::new(),
            deps: Some(DepState {
                missing: missing_deps,
                latest: vec![SimTime::ZERO; n],
                dependants: workload.dependants(),
            }),
            in_flight: 0,
            warmup: warmup.min(n as u32),
            warmup_left: warmup.min(n as u32),
        }
    }

    /// Whether request `id` must wait for the warm-up phase to end.
    fn held_by_warmup(&self, id: u32) -> bool {
        self.warmup_left > 0 && id >= self.warmup
    }

    fn has_slot(&self) -> bool {
        match self.mode {
            AdmissionMode::Trace => true,
            AdmissionMode::Concurrency(n) => self.in_flight < n as usize,
        }
    }

    /// The earliest time something can be dispatched, if anything is left (in concurrency
    /// mode, `None` while all slots are taken: a completion event will come first).
    pub(crate) fn next_time(&self, workload: &Requests<'_>) -> Option<SimTime> {
        if !self.has_slot() {
            return None;
        }
        let root = self
            .next_root(workload)
            .filter(|id| !self.held_by_warmup(id.0))
            .map(|id| match self.mode {
                AdmissionMode::Trace => workload.node(id).timestamp.unwrap_or(SimTime::ZERO),
                AdmissionMode::Concurrency(_) => SimTime::ZERO,
            });
        let dependent = self
            .ready
            .peek()
            .filter(|Reverse((.., id))| !self.held_by_warmup(*id))
            .map(|Reverse((t, ..))| *t);
        match (root, dependent) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next request ready at or before `now`, if a slot is free. Returns it with its
    /// arrival time for metrics (its scheduled time in trace mode, `now` in concurrency mode).
    pub(crate) fn pop_ready(
        &mut self,
        workload: &Requests<'_>,
        now: SimTime,
    ) -> Option<(NodeId, SimTime)> {
        if !self.has_slot() {
            return None;
        }
        let root = self
            .next_root(workload)
            .filter(|id| !self.held_by_warmup(id.0))
            .map(|id| {
                let node = workload.node(id);
                let t = match self.mode {
                    AdmissionMode::Trace => node.timestamp.unwrap_or(SimTime::ZERO),
                    AdmissionMode::Concurrency(_) => SimTime::ZERO,
                };
                (t, node.session, node.turn, id.0)
            });
        let dependent = self
            .ready
            .peek()
            .filter(|Reverse((.., id))| !self.held_by_warmup(*id))
            .map(|Reverse(key)| *key);
        let take_root = match (root, dependent) {
            (Some(r), Some(d)) => r <= d,
            (Some(_), None) => true,
            _ => false,
        };
        let (ready_at, _, _, id) = if take_root { root? } else { dependent? };
        if ready_at > now {
            return None;
        }
        if take_root {
            match &mut self.roots {
                Roots::Sorted { cursor, .. } => *cursor += 1,
                Roots::InOrder { next } => *next += 1,
            }
        } else {
            self.ready.pop();
        }
        self.in_flight += 1;
        let arrival = match self.mode {
            AdmissionMode::Trace => ready_at,
            AdmissionMode::Concurrency(_) => now,
        };
        Some((NodeId(id), arrival))
    }

    /// Records the completion of `id` at `now`, releasing the nodes waiting for it. Returns
    /// whether this completion ended the warm-up phase.
    pub(crate) fn on_complete(
        &mut self,
        workload: &Requests<'_>,
        id: NodeId,
        now: SimTime,
    ) -> bool {
        self.in_flight -= 1;
        let warmup_ended = if id.0 < self.warmup {
            self.warmup_left -= 1;
            self.warmup_left == 0
        } else {
            false
        };
        let Some(deps) = &mut self.deps else {
            return warmup_ended;
        };
        for &next in deps.dependants.of(id) {
            let i = next.index();
            deps.latest[i] = deps.latest[i].max(now);
            deps.missing[i] -= 1;
            if deps.missing[i] == 0 {
                let node = workload.node(next);
                self.ready.push(Reverse((
                    deps.latest[i] + node.delay,
                    node.session,
                    node.turn,
                    next.0,
                )));
            }
        }
        warmup_ended
    }

    /// Requests dispatched and not completed (including those queued in a router).
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::requests::Requests;
    use servesim_trace::{Content, NodeSpec, WorkloadBuilder};

    fn workload() -> Workload {
        let mut b = WorkloadBuilder::new(4);
        let spec = |session, turn, ts: Option<u64>, deps: &'static [NodeId], delay| NodeSpec {
            session,
            turn,
            timestamp: ts.map(SimTime::from_millis),
            delay: SimTime::from_millis(delay),
            deps,
            base: None,
            content: Content::Unique,
            own_tokens: 4,
            output_tokens: 1,
            line: 1,
        };
        b.push(spec(0, 0, Some(10), &[], 0)).unwrap();
        b.push(spec(1, 0, Some(5), &[], 0)).unwrap();
        b.push(spec(0, 1, None, &[NodeId(0)], 7)).unwrap();
        b.push(spec(2, 0, Some(5), &[], 0)).unwrap();
        // Joins both first turns.
        b.push(spec(3, 0, None, &[NodeId(0), NodeId(1)], 1))
            .unwrap();
        b.finish()
    }

    #[test]
    fn trace_mode_orders_roots_and_releases_dependants() {
        let owned = workload();
        let w = Requests::whole(&owned);
        let mut a = Admission::new(&owned, AdmissionMode::Trace, 0);
        assert_eq!(a.next_time(&w), Some(SimTime::from_millis(5)));
        assert_eq!(a.pop_ready(&w, SimTime::from_millis(4)), None);
        let t5 = SimTime::from_millis(5);
        assert_eq!(a.pop_ready(&w, t5), Some((NodeId(1), t5)));
        assert_eq!(a.pop_ready(&w, t5), Some((NodeId(3), t5)));
        assert_eq!(a.pop_ready(&w, t5), None);
        let t10 = SimTime::from_millis(10);
        assert_eq!(a.pop_ready(&w, t10), Some((NodeId(0), t10)));
        // Node 4 waits for both 0 and 1.
        a.on_complete(&w, NodeId(1), SimTime::from_millis(20));
        assert_eq!(a.next_time(&w), None);
        a.on_complete(&w, NodeId(0), SimTime::from_millis(30));
        assert_eq!(a.next_time(&w), Some(SimTime::from_millis(31)));
        assert_eq!(
            a.pop_ready(&w, SimTime::from_millis(31)),
            Some((NodeId(4), SimTime::from_millis(31)))
        );
        assert_eq!(
            a.pop_ready(&w, SimTime::from_millis(37)),
            Some((NodeId(2), SimTime::from_millis(37)))
        );
        assert_eq!(a.in_flight(), 3);
    }

    #[test]
    fn concurrency_mode_caps_in_flight() {
        let owned = workload();
        let w = Requests::whole(&owned);
        let mut a = Admission::new(&owned, AdmissionMode::Concurrency(2), 0);
        let t = SimTime::from_millis(1);
        assert_eq!(a.pop_ready(&w, t), Some((NodeId(0), t)));
        assert_eq!(a.pop_ready(&w, t), Some((NodeId(1), t)));
        assert_eq!(a.pop_ready(&w, t), None);
        assert_eq!(a.next_time(&w), None);
        a.on_complete(&w, NodeId(1), SimTime::from_millis(9));
        assert_eq!(
            a.pop_ready(&w, SimTime::from_millis(9)),
            Some((NodeId(3), SimTime::from_millis(9)))
        );
    }

    #[test]
    fn warmup_requests_run_before_everything_else() {
        let owned = workload();
        let w = Requests::whole(&owned);
        let mut a = Admission::new(&owned, AdmissionMode::Concurrency(3), 2);
        let t = SimTime::from_millis(1);
        assert_eq!(a.pop_ready(&w, t), Some((NodeId(0), t)));
        assert_eq!(a.pop_ready(&w, t), Some((NodeId(1), t)));
        // A slot is free, but request 3 waits for the warm-up to end.
        assert_eq!(a.pop_ready(&w, t), None);
        assert_eq!(a.next_time(&w), None);
        assert!(!a.on_complete(&w, NodeId(1), SimTime::from_millis(4)));
        assert_eq!(a.pop_ready(&w, SimTime::from_millis(4)), None);
        assert!(a.on_complete(&w, NodeId(0), SimTime::from_millis(6)));
        let t6 = SimTime::from_millis(6);
        assert_eq!(a.pop_ready(&w, t6), Some((NodeId(3), t6)));
    }
}
