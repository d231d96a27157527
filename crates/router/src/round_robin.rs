//! Round-robin routing.

use std::collections::BTreeSet;

use servesim_trace::SimTime;

use crate::route::{RouteRequest, Routed, Router, WorkerId};

/// Cycles over the active workers in id order, as the reference does
/// (`next % active_worker_ids`, sorted stable ids; starting and draining workers excluded).
///
/// ```
/// use servesim_router::{RoundRobin, RouteRequest, Routed, Router, WorkerId};
/// use servesim_engine::RequestId;
/// use servesim_trace::SimTime;
/// let mut rr = RoundRobin::default();
/// rr.add_worker(WorkerId(0), SimTime::ZERO);
/// rr.add_worker(WorkerId(1), SimTime::ZERO);
/// let req = RouteRequest {
///     id: RequestId(0), input_tokens: 10, output_tokens: 1, block_hashes: &[], shared_blocks: u32::MAX,
/// };
/// assert_eq!(rr.route(&req, SimTime::ZERO), Routed::To(WorkerId(0)));
/// assert_eq!(rr.route(&req, SimTime::ZERO), Routed::To(WorkerId(1)));
/// assert_eq!(rr.route(&req, SimTime::ZERO), Routed::To(WorkerId(0)));
/// ```
#[derive(Clone, Debug, Default)]
pub struct RoundRobin {
    workers: BTreeSet<WorkerId>,
    next: usize,
}

impl Router for RoundRobin {
    fn add_worker(&mut self, worker: WorkerId, _now: SimTime) {
        self.workers.insert(worker);
    }

    fn remove_worker(&mut self, worker: WorkerId, _now: SimTime) {
        self.workers.remove(&worker);
    }

    fn route(&mut self, _request: &RouteRequest<'_>, _now: SimTime) -> Routed {
        if self.workers.is_empty() {
            return Routed::Queued;
        }
        let index = self.next % self.workers.len();
        self.next = self.next.wrapping_add(1);
        self.workers
            .iter()
            .nth(index)
            .map_or(Routed::Queued, |w| Routed::To(*w))
    }

    fn name(&self) -> &'static str {
        "round_robin"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use servesim_engine::RequestId;

    #[test]
    fn skips_removed_workers_and_queues_when_empty() {
        let mut rr = RoundRobin::default();
        let req = RouteRequest {
            id: RequestId(0),
            input_tokens: 1,
            output_tokens: 1,
            block_hashes: &[],
            shared_blocks: u32::MAX,
        };
        assert_eq!(rr.route(&req, SimTime::ZERO), Routed::Queued);
        for w in 0..3 {
            rr.add_worker(WorkerId(w), SimTime::ZERO);
        }
        rr.remove_worker(WorkerId(1), SimTime::ZERO);
        let picks: Vec<_> = (0..4).map(|_| rr.route(&req, SimTime::ZERO)).collect();
        assert_eq!(picks, [0, 2, 0, 2].map(|w| Routed::To(WorkerId(w))));
    }
}
