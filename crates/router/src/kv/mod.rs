//! The KV-aware router: prefix overlap, load, cost, queueing.
//!
//! For each arriving request and each active worker `w`:
//!
//! * **overlap** `o_w`: how many leading blocks of the prompt `w` holds in its cache (from
//!   the workers' KV events, visible after `router_event_delay_ms`);
//! * **prefill tokens** `p_w`: tokens of the prompts routed to `w` still waiting for their
//!   first token (optionally with the oldest one decaying), plus `ISL − o_w·B`;
//! * **decode blocks** `d_w`: distinct KV blocks of the requests running on `w`, plus the
//!   prompt's blocks `w` does not already hold for a running request;
//! * **cost** `overlap_score_weight · p_w / B + d_w`; the cheapest worker wins at temperature
//!   0 (ties: fewest cached blocks, then lowest id), otherwise a softmax over
//!   `−(cost − min) / (range · T)` sampled from a seeded RNG.
//!
//! When every worker has more than `router_queue_threshold × max_num_batched_tokens` pending
//! prefill tokens, requests wait in the router (`fcfs`, `lcfs` or `wspt` order) until a
//! prefill completes, a request finishes or a worker joins.

mod config;
mod cost;
mod index;
mod load;
mod queue;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::num::NonZeroU32;

use rand::SeedableRng;
use rand_pcg::Pcg64;
use servesim_engine::{KvEvent, RequestId};
use servesim_trace::{BlockHash, SimTime};

pub use config::{KvRouterConfig, MIN_AUTO_BLOCK_TOKENS, PrefillLoadModel, QueuePolicy};

pub use self::cost::WorkerCost;

use self::cost::choose;
use self::index::BlockIndex;
use self::load::PrefillLoad;
use self::queue::{Queued, RouterQueue};
use crate::route::{RouteRequest, Routed, Router, WorkerId};

/// Predicts how long a worker takes to prefill `new_tokens` after `cached_tokens` of cached
/// prefix; used by the `aic` prefill-load model.
pub type PrefillEstimator = Box<dyn Fn(u32, u32) -> SimTime + Send>;

#[derive(Clone, Debug)]
struct Active {
    worker: u32,
    hashes: Vec<BlockHash>,
    /// Leading `hashes` another request may share: the rest are counted, not indexed.
    shared: usize,
    partial: bool,
}

/// Prefix- and load-aware routing (see the module docs).
pub struct KvRouter {
    config: KvRouterConfig,
    /// Tokens per router block.
    block_size: u32,
    /// Engine blocks per router block.
    stride: u32,
    budget: u32,
    workers: BTreeSet<WorkerId>,
    loads: Vec<PrefillLoad>,
    partials: Vec<u64>,
    cache: BlockIndex,
    active: BlockIndex,
    requests: BTreeMap<RequestId, Active>,
    delayed: VecDeque<(SimTime, u32, KvEvent)>,
    assumed: VecDeque<(SimTime, u32, Vec<BlockHash>)>,
    queue: RouterQueue,
    released: VecDeque<(RequestId, WorkerId)>,
    rng: Pcg64,
    estimator: Option<PrefillEstimator>,
    depths: Vec<u32>,
    active_depths: Vec<u32>,
    costs: Vec<WorkerCost>,
}

impl fmt::Debug for KvRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvRouter")
            .field("config", &self.config)
            .field("workers", &self.workers)
            .field("active_requests", &self.requests.len())
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl KvRouter {
    /// A router for workers with `engine_block_size`-token blocks and a
    /// `max_num_batched_tokens` budget (the queue threshold is relative to it). `seed` drives
    /// softmax sampling; `estimator` is required by the `aic` prefill-load model.
    ///
    /// # Errors
    /// The configuration's `router_block_size` is not a multiple of `engine_block_size`.
    pub fn new(
        config: KvRouterConfig,
        engine_block_size: u32,
        max_num_batched_tokens: u32,
        seed: u64,
        estimator: Option<PrefillEstimator>,
    ) -> Result<Self, String> {
        let stride = config.blocks_per_router_block(engine_block_size)?;
        Ok(KvRouter {
            config,
            block_size: engine_block_size.max(1) * stride,
            stride,
            budget: max_num_batched_tokens,
            workers: BTreeSet::new(),
            loads: Vec::new(),
            partials: Vec::new(),
            cache: BlockIndex::default(),
            active: BlockIndex::default(),
            requests: BTreeMap::new(),
            delayed: VecDeque::new(),
            assumed: VecDeque::new(),
            queue: RouterQueue::default(),
            released: VecDeque::new(),
            rng: Pcg64::seed_from_u64(seed),
            estimator,
            depths: Vec::new(),
            active_depths: Vec::new(),
            costs: Vec::new(),
        })
    }

    /// Tokens per router block: the unit of overlaps and block counts.
    pub fn block_size(&self) -> u32 {
        self.block_size
    }

    /// The hashes of a prompt's router blocks, from those of its engine blocks: every
    /// `stride`-th one, since a chained hash names its whole prefix; and how many of them
    /// another request may share (router block `k` ends with engine block `(k + 1)·stride`).
    fn router_hashes(&self, request: &RouteRequest<'_>) -> (Vec<BlockHash>, usize) {
        let hashes = self.coarse(request.block_hashes);
        let shared = (request.shared_blocks as usize / self.stride as usize).min(hashes.len());
        (hashes, shared)
    }

    /// Every `stride`-th engine hash: the router blocks' hashes.
    fn coarse(&self, engine_hashes: &[BlockHash]) -> Vec<BlockHash> {
        let stride = self.stride as usize;
        engine_hashes
            .iter()
            .skip(stride - 1)
            .step_by(stride)
            .copied()
            .collect()
    }

    /// The configuration.
    pub fn config(&self) -> &KvRouterConfig {
        &self.config
    }

    fn ensure_worker(&mut self, worker: u32) {
        let n = worker as usize + 1;
        if self.loads.len() < n {
            self.loads.resize_with(n, PrefillLoad::default);
            self.partials.resize(n, 0);
        }
    }

    /// Applies delayed KV events and expires assumed cache entries due by `now`.
    fn catch_up(&mut self, now: SimTime) {
        while let Some(&(due, worker, event)) = self.delayed.front() {
            if due > now {
                break;
            }
            self.delayed.pop_front();
            self.apply_event(worker, event);
        }
        while let Some((expiry, _, _)) = self.assumed.front() {
            if *expiry > now {
                break;
            }
            if let Some((_, worker, hashes)) = self.assumed.pop_front() {
                for hash in hashes {
                    self.cache.remove(hash, worker, false);
                }
            }
        }
    }

    fn apply_event(&mut self, worker: u32, event: KvEvent) {
        match event {
            KvEvent::Stored { hash, .. } => self.cache.add(hash, worker, true),
            KvEvent::Removed { hash } => self.cache.remove(hash, worker, true),
            KvEvent::StoredPrivate { count } => self.cache.add_unindexed(worker, count),
            KvEvent::RemovedPrivate { count } => self.cache.remove_unindexed(worker, count),
        }
    }

    fn prefill_tokens(&self, worker: u32, now: SimTime) -> u64 {
        if self.config.router_track_prefill_tokens {
            self.loads.get(worker as usize).map_or(0, |l| l.tokens(now))
        } else {
            0
        }
    }

    fn busy(&self, worker: WorkerId, now: SimTime) -> bool {
        self.config
            .router_queue_threshold
            .is_some_and(|t| self.prefill_tokens(worker.0, now) as f64 > t * f64::from(self.budget))
    }

    fn all_busy(&self, now: SimTime) -> bool {
        !self.workers.is_empty() && self.workers.iter().all(|&w| self.busy(w, now))
    }

    /// The cost of every active worker for a prompt of `input_tokens` whose engine blocks
    /// have `engine_hashes`.
    pub fn costs(
        &mut self,
        input_tokens: u32,
        engine_hashes: &[BlockHash],
        now: SimTime,
    ) -> &[WorkerCost] {
        let hashes = self.coarse(engine_hashes);
        self.costs_for(input_tokens, &hashes, now)
    }

    /// [`costs`](Self::costs) from the prompt's router-block hashes.
    fn costs_for(
        &mut self,
        input_tokens: u32,
        hashes: &[BlockHash],
        now: SimTime,
    ) -> &[WorkerCost] {
        self.catch_up(now);
        let block = u64::from(self.block_size);
        self.cache.prefix_depths(hashes, &mut self.depths);
        let dedupe = self.config.router_assume_kv_reuse && self.config.router_track_active_blocks;
        if dedupe {
            self.active.prefix_depths(hashes, &mut self.active_depths);
        }
        let query_blocks = u64::from(input_tokens).div_ceil(block);
        self.costs.clear();
        for &worker in &self.workers {
            let w = worker.0 as usize;
            let overlap = self.depths.get(w).copied().unwrap_or(0);
            let uncached = u64::from(input_tokens).saturating_sub(u64::from(overlap) * block);
            let prefill_tokens = self.prefill_tokens(worker.0, now) + uncached;
            let decode_blocks = if self.config.router_track_active_blocks {
                let reused = if dedupe {
                    u64::from(self.active_depths.get(w).copied().unwrap_or(0))
                } else {
                    0
                };
                self.active.blocks_of(worker.0)
                    + self.partials.get(w).copied().unwrap_or(0)
                    + query_blocks
                    - reused
            } else {
                0
            };
            let logit = self.config.overlap_score_weight * prefill_tokens as f64 / block as f64
                + decode_blocks as f64;
            self.costs.push(WorkerCost {
                worker,
                overlap_blocks: overlap,
                prefill_tokens,
                decode_blocks,
                logit,
            });
        }
        &self.costs
    }

    /// Picks a worker from `self.costs`.
    fn pick(&mut self) -> Option<WorkerCost> {
        let cache = &self.cache;
        choose(
            &self.costs,
            self.config.router_temperature,
            &mut self.rng,
            |worker| cache.blocks_of(worker),
        )
    }

    fn admit(
        &mut self,
        id: RequestId,
        input_tokens: u32,
        (hashes, shared): (Vec<BlockHash>, usize),
        choice: WorkerCost,
        now: SimTime,
    ) {
        let w = choice.worker.0;
        self.ensure_worker(w);
        let block = self.block_size;
        let cached = choice.overlap_blocks * block;
        let uncached = u64::from(input_tokens.saturating_sub(cached));
        let expected = match (self.config.router_prefill_load_model, &self.estimator) {
            (PrefillLoadModel::Aic, Some(estimate)) => {
                Some(estimate(input_tokens.saturating_sub(cached), cached))
            }
            _ => None,
        };
        self.loads[w as usize].push(id, uncached, expected, now);
        let partial = !input_tokens.is_multiple_of(block);
        self.partials[w as usize] += u64::from(partial);
        for &hash in &hashes[..shared] {
            self.active.add(hash, w, false);
        }
        self.active.add_unindexed(w, (hashes.len() - shared) as u32);
        if !self.config.use_kv_events {
            for &hash in &hashes {
                self.cache.add(hash, w, false);
            }
            let ttl = SimTime::from_secs_f64(self.config.router_ttl_secs).unwrap_or(SimTime::LIMIT);
            self.assumed.push_back((now + ttl, w, hashes.clone()));
        }
        self.requests.insert(
            id,
            Active {
                worker: w,
                hashes,
                shared,
                partial,
            },
        );
    }

    /// Releases queued requests while some worker is not busy.
    fn release(&mut self, now: SimTime) {
        while !self.queue.is_empty() && !self.workers.is_empty() && !self.all_busy(now) {
            let Some(queued) = self.queue.pop() else {
                break;
            };
            self.costs_for(queued.input_tokens, &queued.hashes, now);
            let Some(choice) = self.pick() else { break };
            let blocks = (queued.hashes, queued.shared);
            self.admit(queued.id, queued.input_tokens, blocks, choice, now);
            self.released.push_back((queued.id, choice.worker));
        }
    }

    fn enqueue(
        &mut self,
        request: &RouteRequest<'_>,
        (hashes, shared): (Vec<BlockHash>, usize),
        now: SimTime,
    ) {
        let block = u64::from(self.block_size);
        let key = match self.config.router_queue_policy {
            QueuePolicy::Fcfs => now.as_micros(),
            QueuePolicy::Lcfs => u64::MAX - now.as_micros(),
            QueuePolicy::Wspt => {
                self.cache.prefix_depths(&hashes, &mut self.depths);
                let best = self.depths.iter().copied().max().unwrap_or(0);
                u64::from(request.input_tokens)
                    .saturating_sub(u64::from(best) * block)
                    .max(1)
            }
        };
        let queued = Queued {
            id: request.id,
            input_tokens: request.input_tokens,
            hashes,
            shared,
        };
        self.queue.push(key, queued);
    }
}

impl Router for KvRouter {
    fn add_worker(&mut self, worker: WorkerId, now: SimTime) {
        self.ensure_worker(worker.0);
        self.workers.insert(worker);
        self.release(now);
    }

    fn remove_worker(&mut self, worker: WorkerId, _now: SimTime) {
        self.workers.remove(&worker);
    }

    fn route(&mut self, request: &RouteRequest<'_>, now: SimTime) -> Routed {
        self.catch_up(now);
        let blocks = self.router_hashes(request);
        if self.workers.is_empty() || self.all_busy(now) {
            self.enqueue(request, blocks, now);
            return Routed::Queued;
        }
        self.costs_for(request.input_tokens, &blocks.0, now);
        match self.pick() {
            Some(choice) => {
                self.admit(request.id, request.input_tokens, blocks, choice, now);
                Routed::To(choice.worker)
            }
            None => {
                self.enqueue(request, blocks, now);
                Routed::Queued
            }
        }
    }

    fn on_kv_events(&mut self, worker: WorkerId, events: &[(SimTime, KvEvent)]) {
        if !self.config.use_kv_events {
            return;
        }
        let delay =
            SimTime::from_millis_f64(self.config.router_event_delay_ms).unwrap_or(SimTime::LIMIT);
        if delay == SimTime::ZERO {
            for &(_, event) in events {
                self.apply_event(worker.0, event);
            }
        } else {
            self.delayed
                .extend(events.iter().map(|&(at, e)| (at + delay, worker.0, e)));
        }
    }

    fn on_first_token(&mut self, request: RequestId, now: SimTime) {
        if let Some(active) = self.requests.get(&request) {
            let w = active.worker as usize;
            self.loads[w].remove(request, now);
        }
        self.release(now);
    }

    fn on_finished(&mut self, request: RequestId, now: SimTime) {
        if let Some(active) = self.requests.remove(&request) {
            let w = active.worker as usize;
            self.loads[w].remove(request, now);
            self.partials[w] -= u64::from(active.partial);
            for &hash in &active.hashes[..active.shared] {
                self.active.remove(hash, active.worker, false);
            }
            let private = (active.hashes.len() - active.shared) as u32;
            self.active.remove_unindexed(active.worker, private);
        }
        self.release(now);
    }

    fn pop_dispatch(&mut self, now: SimTime) -> Option<(RequestId, WorkerId)> {
        self.catch_up(now);
        self.release(now);
        self.released.pop_front()
    }

    fn kv_event_stride(&self) -> Option<NonZeroU32> {
        NonZeroU32::new(self.stride).filter(|_| self.config.use_kv_events)
    }

    fn queued(&self) -> usize {
        self.queue.len()
    }

    fn name(&self) -> &'static str {
        "kv_router"
    }
}
