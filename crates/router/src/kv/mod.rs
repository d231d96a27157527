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
mod index;
mod load;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::num::NonZeroU32;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use servesim_engine::{KvEvent, RequestId};
use servesim_trace::{BlockHash, SimTime};

pub use config::{KvRouterConfig, MIN_AUTO_BLOCK_TOKENS, PrefillLoadModel, QueuePolicy};

use self::index::BlockIndex;
use self::load::PrefillLoad;
use crate::{RouteRequest, Routed, Router, WorkerId};

/// Predicts how long a worker takes to prefill `new_tokens` after `cached_tokens` of cached
/// prefix; used by the `aic` prefill-load model.
pub type PrefillEstimator = Box<dyn Fn(u32, u32) -> SimTime + Send>;

#[derive(Clone, Debug)]
struct Active {
    worker: u32,
    hashes: Vec<BlockHash>,
    partial: bool,
}

#[derive(Clone, Debug)]
struct Queued {
    id: RequestId,
    input_tokens: u32,
    hashes: Vec<BlockHash>,
}

/// The per-worker figures behind one routing decision (exposed for tests and diagnostics).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct WorkerCost {
    /// The worker.
    pub worker: WorkerId,
    /// Leading prompt blocks cached on the worker.
    pub overlap_blocks: u32,
    /// Pending prefill tokens including this prompt's uncached part.
    pub prefill_tokens: u64,
    /// Active blocks including this prompt's new ones.
    pub decode_blocks: u64,
    /// `overlap_score_weight · prefill_tokens / block_size + decode_blocks`.
    pub logit: f64,
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
    queue: BTreeMap<(u64, u64), Queued>,
    queue_seq: u64,
    released: VecDeque<(RequestId, WorkerId)>,
    rng: Pcg64,
    estimator: Option<PrefillEstimator>,
    depths: Vec<u32>,
    active_depths: Vec<u32>,
    scratch: Vec<u32>,
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
            queue: BTreeMap::new(),
            queue_seq: 0,
            released: VecDeque::new(),
            rng: Pcg64::seed_from_u64(seed),
            estimator,
            depths: Vec::new(),
            active_depths: Vec::new(),
            scratch: Vec::new(),
            costs: Vec::new(),
        })
    }

    /// Tokens per router block: the unit of overlaps and block counts.
    pub fn block_size(&self) -> u32 {
        self.block_size
    }

    /// The hashes of a prompt's router blocks, from those of its engine blocks: every
    /// `stride`-th one, since a chained hash names its whole prefix.
    fn router_hashes(&self, engine_hashes: &[BlockHash]) -> Vec<BlockHash> {
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
        let hashes = self.router_hashes(engine_hashes);
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
        self.cache
            .prefix_depths(hashes, &mut self.depths, &mut self.scratch);
        let dedupe = self.config.router_assume_kv_reuse && self.config.router_track_active_blocks;
        if dedupe {
            self.active
                .prefix_depths(hashes, &mut self.active_depths, &mut self.scratch);
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
        let min = self
            .costs
            .iter()
            .map(|c| c.logit)
            .fold(f64::INFINITY, f64::min);
        let max = self
            .costs
            .iter()
            .map(|c| c.logit)
            .fold(f64::NEG_INFINITY, f64::max);
        let temperature = self.config.router_temperature;
        if temperature <= 0.0 {
            // Cheapest; ties to the worker caching least, then the lowest id.
            return self
                .costs
                .iter()
                .filter(|c| c.logit == min)
                .min_by_key(|c| (self.cache.blocks_of(c.worker.0), c.worker))
                .copied();
        }
        let range = max - min;
        let weights: Vec<f64> = self
            .costs
            .iter()
            .map(|c| {
                if range > 0.0 {
                    (-(c.logit - min) / (range * temperature)).exp()
                } else {
                    1.0
                }
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let mut draw = self.rng.random::<f64>() * total;
        for (cost, weight) in self.costs.iter().zip(&weights) {
            if draw < *weight {
                return Some(*cost);
            }
            draw -= weight;
        }
        self.costs.last().copied()
    }

    fn admit(
        &mut self,
        id: RequestId,
        input_tokens: u32,
        hashes: Vec<BlockHash>,
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
        for &hash in &hashes {
            self.active.add(hash, w, false);
        }
        if !self.config.use_kv_events {
            for &hash in &hashes {
                self.cache.add(hash, w, false);
            }
            let ttl = SimTime::from_secs_f64(self.config.router_ttl_secs).unwrap_or(SimTime::ZERO);
            self.assumed.push_back((now + ttl, w, hashes.clone()));
        }
        self.requests.insert(
            id,
            Active {
                worker: w,
                hashes,
                partial,
            },
        );
    }

    /// Releases queued requests while some worker is not busy.
    fn release(&mut self, now: SimTime) {
        while !self.queue.is_empty() && !self.workers.is_empty() && !self.all_busy(now) {
            let Some((_, queued)) = self.queue.pop_first() else {
                break;
            };
            self.costs_for(queued.input_tokens, &queued.hashes, now);
            let Some(choice) = self.pick() else { break };
            self.admit(queued.id, queued.input_tokens, queued.hashes, choice, now);
            self.released.push_back((queued.id, choice.worker));
        }
    }

    fn enqueue(&mut self, request: &RouteRequest<'_>, hashes: Vec<BlockHash>, now: SimTime) {
        let block = u64::from(self.block_size);
        let key = match self.config.router_queue_policy {
            QueuePolicy::Fcfs => now.as_micros(),
            QueuePolicy::Lcfs => u64::MAX - now.as_micros(),
            QueuePolicy::Wspt => {
                self.cache
                    .prefix_depths(&hashes, &mut self.depths, &mut self.scratch);
                let best = self.depths.iter().copied().max().unwrap_or(0);
                u64::from(request.input_tokens)
                    .saturating_sub(u64::from(best) * block)
                    .max(1)
            }
        };
        self.queue_seq += 1;
        let queued = Queued {
            id: request.id,
            input_tokens: request.input_tokens,
            hashes,
        };
        self.queue.insert((key, self.queue_seq), queued);
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
        let hashes = self.router_hashes(request.block_hashes);
        if self.workers.is_empty() || self.all_busy(now) {
            self.enqueue(request, hashes, now);
            return Routed::Queued;
        }
        self.costs_for(request.input_tokens, &hashes, now);
        match self.pick() {
            Some(choice) => {
                self.admit(request.id, request.input_tokens, hashes, choice, now);
                Routed::To(choice.worker)
            }
            None => {
                self.enqueue(request, hashes, now);
                Routed::Queued
            }
        }
    }

    fn on_kv_events(&mut self, worker: WorkerId, events: &[(SimTime, KvEvent)]) {
        if !self.config.use_kv_events {
            return;
        }
        let delay =
            SimTime::from_millis_f64(self.config.router_event_delay_ms).unwrap_or(SimTime::ZERO);
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
            for hash in active.hashes {
                self.active.remove(hash, active.worker, false);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u64) -> BlockHash {
        BlockHash(n)
    }

    fn router(config: KvRouterConfig, workers: u32) -> KvRouter {
        let mut r = KvRouter::new(config, 64, 8192, 7, None).unwrap();
        for w in 0..workers {
            r.add_worker(WorkerId(w), SimTime::ZERO);
        }
        r
    }

    fn request<'a>(id: u64, isl: u32, hashes: &'a [BlockHash]) -> RouteRequest<'a> {
        RouteRequest {
            id: RequestId(id),
            input_tokens: isl,
            output_tokens: 10,
            block_hashes: hashes,
        }
    }

    fn stored(hashes: &[u64]) -> Vec<(SimTime, KvEvent)> {
        hashes
            .iter()
            .map(|&n| {
                (
                    SimTime::ZERO,
                    KvEvent::Stored {
                        hash: h(n),
                        parent: None,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn cost_combines_overlap_prefill_and_active_blocks() {
        let mut r = router(KvRouterConfig::default(), 2);
        r.on_kv_events(WorkerId(0), &stored(&[1, 2]));
        let hashes = [h(1), h(2), h(3)];
        let costs = r.costs(192, &hashes, SimTime::ZERO).to_vec();
        assert_eq!(
            costs,
            vec![
                WorkerCost {
                    worker: WorkerId(0),
                    overlap_blocks: 2,
                    prefill_tokens: 64,
                    decode_blocks: 3,
                    logit: 4.0
                },
                WorkerCost {
                    worker: WorkerId(1),
                    overlap_blocks: 0,
                    prefill_tokens: 192,
                    decode_blocks: 3,
                    logit: 6.0
                },
            ]
        );
        assert_eq!(
            r.route(&request(1, 192, &hashes), SimTime::ZERO),
            Routed::To(WorkerId(0))
        );
        // Worker 0 now has 64 pending prefill tokens and 3 active blocks. The same prompt
        // again deduplicates against the running request: no new decode blocks there.
        let costs = r.costs(192, &hashes, SimTime::ZERO).to_vec();
        assert_eq!(
            (
                costs[0].prefill_tokens,
                costs[0].decode_blocks,
                costs[0].logit
            ),
            (128, 3, 5.0)
        );
        assert_eq!(
            (
                costs[1].prefill_tokens,
                costs[1].decode_blocks,
                costs[1].logit
            ),
            (192, 3, 6.0)
        );
        // Once the first request's prefill is done only its blocks remain as load.
        r.on_first_token(RequestId(1), SimTime::ZERO);
        assert_eq!(r.costs(192, &hashes, SimTime::ZERO)[0].logit, 4.0);
        r.on_finished(RequestId(1), SimTime::ZERO);
        assert_eq!(r.costs(192, &hashes, SimTime::ZERO)[0].decode_blocks, 3);
    }

    #[test]
    fn ties_go_to_the_least_cached_then_lowest_worker() {
        let mut r = router(KvRouterConfig::default(), 3);
        // Workers 0 and 2 cache an unrelated block; worker 1 caches nothing.
        r.on_kv_events(WorkerId(0), &stored(&[99]));
        r.on_kv_events(WorkerId(2), &stored(&[98]));
        let hashes = [h(1)];
        assert_eq!(
            r.route(&request(1, 64, &hashes), SimTime::ZERO),
            Routed::To(WorkerId(1))
        );
        let mut fresh = router(KvRouterConfig::default(), 3);
        assert_eq!(
            fresh.route(&request(1, 64, &hashes), SimTime::ZERO),
            Routed::To(WorkerId(0))
        );
        assert_eq!(
            fresh.route(&request(2, 64, &hashes), SimTime::ZERO),
            Routed::To(WorkerId(1))
        );
    }

    #[test]
    fn softmax_sampling_matches_probabilities_and_seed() {
        let config = KvRouterConfig {
            router_temperature: 0.5,
            ..KvRouterConfig::default()
        };
        let mut r = router(config.clone(), 3);
        r.on_kv_events(WorkerId(0), &stored(&[1, 2, 3]));
        r.on_kv_events(WorkerId(1), &stored(&[1]));
        let hashes = [h(1), h(2), h(3), h(4)];
        let logits: Vec<f64> = r
            .costs(256, &hashes, SimTime::ZERO)
            .iter()
            .map(|c| c.logit)
            .collect();
        assert_eq!(logits, vec![5.0, 7.0, 8.0]);
        // p ∝ exp(−(l − 5)/(3 · 0.5)).
        let weights: Vec<f64> = logits.iter().map(|l| (-(l - 5.0) / 1.5).exp()).collect();
        let total: f64 = weights.iter().sum();
        let mut counts = [0u32; 3];
        let draws = 60_000;
        for _ in 0..draws {
            let choice = r.pick().unwrap();
            counts[choice.worker.0 as usize] += 1;
        }
        for (count, weight) in counts.iter().zip(&weights) {
            let share = f64::from(*count) / f64::from(draws);
            assert!(
                (share - weight / total).abs() < 0.01,
                "{share} vs {}",
                weight / total
            );
        }
        // Same seed, same sequence.
        let mut a = router(config.clone(), 3);
        let mut b = router(config, 3);
        let picks = |r: &mut KvRouter| -> Vec<Routed> {
            (0..20)
                .map(|i| r.route(&request(i, 256, &hashes), SimTime::ZERO))
                .collect()
        };
        assert_eq!(picks(&mut a), picks(&mut b));
    }

    /// With a threshold of 0 a worker is busy while any prompt is pending on it.
    fn release_order(policy: QueuePolicy) -> Vec<u64> {
        let config = KvRouterConfig {
            router_queue_threshold: Some(0.0),
            router_queue_policy: policy,
            ..KvRouterConfig::default()
        };
        let mut r = router(config, 1);
        let hashes: Vec<Vec<BlockHash>> = (0..5).map(|i| vec![h(100 + i)]).collect();
        let t = SimTime::from_millis;
        assert_eq!(
            r.route(&request(0, 64, &hashes[0]), t(0)),
            Routed::To(WorkerId(0))
        );
        // Three requests arrive while the worker is busy: ISL 300, 100, 200.
        for (id, isl, at) in [(1, 300, 1), (2, 100, 2), (3, 200, 3)] {
            assert_eq!(
                r.route(&request(id, isl, &hashes[id as usize]), t(at)),
                Routed::Queued
            );
        }
        assert_eq!(r.queued(), 3);
        let mut order = Vec::new();
        let mut current = RequestId(0);
        for step in 0..3 {
            r.on_first_token(current, t(10 + step));
            let (next, worker) = r.pop_dispatch(t(10 + step)).unwrap();
            assert_eq!(worker, WorkerId(0));
            assert_eq!(
                r.pop_dispatch(t(10 + step)),
                None,
                "one at a time: the worker is busy again"
            );
            order.push(next.0);
            current = next;
        }
        order
    }

    #[test]
    fn queue_policies() {
        assert_eq!(release_order(QueuePolicy::Fcfs), vec![1, 2, 3]);
        assert_eq!(release_order(QueuePolicy::Lcfs), vec![3, 2, 1]);
        assert_eq!(release_order(QueuePolicy::Wspt), vec![2, 3, 1]);
    }

    #[test]
    fn decaying_prefill_load_frees_a_busy_worker() {
        let config = KvRouterConfig {
            router_queue_threshold: Some(0.5),
            router_prefill_load_model: PrefillLoadModel::Aic,
            ..KvRouterConfig::default()
        };
        // Every prompt is expected to take 100 ms.
        let estimator: PrefillEstimator = Box::new(|_, _| SimTime::from_millis(100));
        let mut r = KvRouter::new(config, 64, 8192, 7, Some(estimator)).unwrap();
        r.add_worker(WorkerId(0), SimTime::ZERO);
        let a = [h(1)];
        assert_eq!(
            r.route(&request(1, 8192, &a), SimTime::ZERO),
            Routed::To(WorkerId(0))
        );
        // 8192 pending > 0.5 × 8192: busy, so the next request queues…
        assert_eq!(
            r.route(&request(2, 64, &a), SimTime::from_millis(10)),
            Routed::Queued
        );
        // …but after 60 ms the oldest prompt has decayed to 40%: 3277 < 4096, not busy.
        assert_eq!(
            r.route(&request(3, 64, &a), SimTime::from_millis(60)),
            Routed::To(WorkerId(0))
        );
    }

    #[test]
    fn small_engine_blocks_are_routed_in_coarser_router_blocks() {
        // One-token pages: the router asks for every 16th page and counts 16-token blocks.
        let mut r = KvRouter::new(KvRouterConfig::default(), 1, 8192, 7, None).unwrap();
        assert_eq!(
            (r.block_size(), r.kv_event_stride()),
            (16, NonZeroU32::new(16))
        );
        for w in 0..2 {
            r.add_worker(WorkerId(w), SimTime::ZERO);
        }
        let pages: Vec<BlockHash> = (1..=40).map(h).collect();
        // Worker 1 reports the pages ending its first two router blocks: 32 tokens cached.
        r.on_kv_events(WorkerId(1), &stored(&[16, 32]));
        let costs = r.costs(40, &pages, SimTime::ZERO).to_vec();
        assert_eq!(
            costs
                .iter()
                .map(|c| (c.overlap_blocks, c.prefill_tokens, c.decode_blocks))
                .collect::<Vec<_>>(),
            // 40 tokens are 3 router blocks (2 full, 1 partial).
            vec![(0, 40, 3), (2, 8, 3)]
        );
        assert_eq!(
            r.route(&request(1, 40, &pages), SimTime::ZERO),
            Routed::To(WorkerId(1))
        );
        // An explicit router block size of one page indexes every page.
        let exact = KvRouterConfig {
            router_block_size: Some(1),
            ..KvRouterConfig::default()
        };
        let r = KvRouter::new(exact.clone(), 1, 8192, 7, None).unwrap();
        assert_eq!(
            (r.block_size(), r.kv_event_stride()),
            (1, NonZeroU32::new(1))
        );
        assert!(KvRouter::new(exact, 16, 8192, 7, None).is_err());
        // Without KV events the router asks for none.
        let ttl = KvRouterConfig {
            use_kv_events: false,
            ..KvRouterConfig::default()
        };
        assert_eq!(
            KvRouter::new(ttl, 1, 8192, 7, None)
                .unwrap()
                .kv_event_stride(),
            None
        );
    }

    #[test]
    fn delayed_events_become_visible_later() {
        let config = KvRouterConfig {
            router_event_delay_ms: 5.0,
            ..KvRouterConfig::default()
        };
        let mut r = router(config, 2);
        r.on_kv_events(WorkerId(1), &stored(&[1]));
        let hashes = [h(1)];
        assert_eq!(
            r.costs(64, &hashes, SimTime::from_millis(4))[1].overlap_blocks,
            0
        );
        assert_eq!(
            r.costs(64, &hashes, SimTime::from_millis(5))[1].overlap_blocks,
            1
        );
    }

    #[test]
    fn without_kv_events_routed_prompts_are_assumed_cached_for_a_ttl() {
        let config = KvRouterConfig {
            use_kv_events: false,
            router_ttl_secs: 1.0,
            ..KvRouterConfig::default()
        };
        let mut r = router(config, 2);
        let hashes = [h(1), h(2)];
        assert_eq!(
            r.route(&request(1, 128, &hashes), SimTime::ZERO),
            Routed::To(WorkerId(0))
        );
        r.on_finished(RequestId(1), SimTime::ZERO);
        assert_eq!(
            r.costs(128, &hashes, SimTime::from_millis(999))[0].overlap_blocks,
            2
        );
        assert_eq!(
            r.costs(128, &hashes, SimTime::from_millis(1000))[0].overlap_blocks,
            0
        );
    }
}
