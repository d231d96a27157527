//! The routing seam: [`Router`], the requests it sees and the decisions it makes.

use std::fmt;
use std::num::NonZeroU32;

use servesim_engine::{KvEvent, RequestId};
use servesim_trace::{BlockHash, SimTime};

/// Stable identifier of a worker within its pool; never reused after removal.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerId(pub u32);

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "worker-{}", self.0)
    }
}

/// What a router knows about a request when it routes it.
#[derive(Copy, Clone, Debug)]
pub struct RouteRequest<'a> {
    /// The request.
    pub id: RequestId,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Output tokens requested.
    pub output_tokens: u32,
    /// Chained hashes of the prompt's full blocks (engine block size).
    pub block_hashes: &'a [BlockHash],
    /// Leading engine blocks another request may share; the rest are private
    /// (`servesim_trace::Sharing`) and a router need not index them. `u32::MAX`: all.
    pub shared_blocks: u32,
}

/// A routing decision.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Routed {
    /// Send the request to this worker now.
    To(WorkerId),
    /// Every worker is busy: the router holds the request; it comes back from
    /// [`Router::pop_dispatch`] when capacity frees up.
    Queued,
}

/// Picks workers for requests.
///
/// Contract: [`route`](Router::route) only returns workers that were added and not removed;
/// with no active worker it returns [`Routed::Queued`]; decisions are deterministic for a
/// given seed and call sequence; a queued request is returned exactly once by
/// [`pop_dispatch`](Router::pop_dispatch) once a worker is available.
pub trait Router: fmt::Debug + Send {
    /// A worker joins the pool (ready to serve).
    fn add_worker(&mut self, worker: WorkerId, now: SimTime);
    /// A worker stops receiving requests (it drains what it has).
    fn remove_worker(&mut self, worker: WorkerId, now: SimTime);
    /// Chooses a worker for `request`.
    fn route(&mut self, request: &RouteRequest<'_>, now: SimTime) -> Routed;
    /// KV events published by `worker`, each with the time it happened (only if
    /// [`kv_event_stride`](Router::kv_event_stride) asks for them). Events may be delivered
    /// before their time, but never after a routing decision they should have influenced.
    fn on_kv_events(&mut self, worker: WorkerId, events: &[(SimTime, KvEvent)]) {
        let _ = (worker, events);
    }
    /// A routed request produced its first token (its prefill is done).
    fn on_first_token(&mut self, request: RequestId, now: SimTime) {
        let _ = (request, now);
    }
    /// A routed request left its worker.
    fn on_finished(&mut self, request: RequestId, now: SimTime) {
        let _ = (request, now);
    }
    /// A queued request that can now be dispatched, with its worker.
    fn pop_dispatch(&mut self, now: SimTime) -> Option<(RequestId, WorkerId)> {
        let _ = now;
        None
    }
    /// Whether the router consumes KV events (engines record them only if so), and of which
    /// blocks: `Some(n)` asks for every `n`-th block of a sequence, the blocks that end the
    /// router's `n`-engine-block units.
    fn kv_event_stride(&self) -> Option<NonZeroU32> {
        None
    }
    /// Requests held in the router's queue.
    fn queued(&self) -> usize {
        0
    }
    /// A short name for reports, e.g. `round_robin`.
    fn name(&self) -> &'static str;
}
