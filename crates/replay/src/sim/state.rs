//! The state of a replay: workers, pools, timers and the simulation itself.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use servesim_engine::{
    EngineConfig, EngineRequest, ForwardPassMetrics, PassOutput, Scheduler, TokenTally,
};
use servesim_planner::observe::Component;
use servesim_router::{Router, WorkerId};
use servesim_trace::SimTime;

use super::lifecycle::Lifecycle;
use super::observer::Observer;
use crate::admission::Admission;
use crate::collector::Collector;
use crate::config::TransferConfig;
use crate::outcome::{EventCounts, PoolKind};
use crate::planning::Planning;
use crate::requests::Requests;
use crate::sample::Sample;
use crate::transfer::{Finished, Links};

pub(super) struct Worker {
    pub(super) pool: usize,
    pub(super) local: WorkerId,
    pub(super) engine: Box<dyn Scheduler>,
    pub(super) state: Lifecycle,
    pub(super) busy: bool,
    pub(super) pending: PassOutput,
    pub(super) last_fpm: ForwardPassMetrics,
    pub(super) requests: u64,
    pub(super) input_tokens: u64,
    pub(super) reused_tokens: u64,
    /// Output tokens and the bursts that carried them.
    pub(super) emitted: TokenTally,
}

pub(super) struct Pool {
    pub(super) kind: PoolKind,
    pub(super) engine: EngineConfig,
    pub(super) router: Box<dyn Router>,
    /// Global worker index of each local worker id.
    pub(super) workers: Vec<usize>,
    /// Requests the router holds, with the time they were routed.
    pub(super) held: BTreeMap<u64, (EngineRequest, SimTime)>,
    pub(super) queue_times_ms: Sample,
    pub(super) queued: u64,
    pub(super) gpus_per_worker: u32,
}

impl Pool {
    /// The planner's name for the pool.
    pub(super) fn component(&self) -> Component {
        match self.kind {
            PoolKind::Prefill => Component::Prefill,
            PoolKind::Aggregated | PoolKind::Decode => Component::Decode,
        }
    }
}

/// Events other than pass ends, in time order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Timer {
    /// A KV link may have finished a transfer.
    Transfer { link: usize, version: u64 },
    /// A started worker becomes ready.
    WorkerReady { worker: usize },
    /// The scaling policy's next tick.
    PlannerTick,
}

pub(super) struct Disagg {
    pub(super) links: Links,
    pub(super) config: TransferConfig,
    /// Decode-side requests waiting for their prefill, then for their transfer.
    pub(super) decode_requests: BTreeMap<u64, EngineRequest>,
    pub(super) in_transfer: BTreeMap<u64, (usize, EngineRequest)>,
    pub(super) times_ms: Sample,
    pub(super) bytes: u64,
}

pub(super) struct Sim<'w, 'o> {
    pub(super) requests: Requests<'w>,
    pub(super) block_size: u32,
    pub(super) workers: Vec<Worker>,
    pub(super) pools: Vec<Pool>,
    pub(super) disagg: Option<Disagg>,
    pub(super) planning: Option<Planning>,
    pub(super) admission: Admission,
    pub(super) collector: Collector,
    pub(super) pass_ends: BinaryHeap<Reverse<(SimTime, u64, usize)>>,
    pub(super) timers: BinaryHeap<Reverse<(SimTime, u64, Timer)>>,
    pub(super) event_seq: u64,
    pub(super) to_drive: Vec<usize>,
    pub(super) coupled: bool,
    pub(super) counts: EventCounts,
    pub(super) completed: usize,
    pub(super) finished_transfers: Vec<Finished>,
    pub(super) observer: &'o mut dyn Observer,
}
