//! An SGLang-style scheduler over a radix prefix cache and a paged token-slot pool.
//!
//! One call to [`Scheduler::step`] is one forward pass, and — as in SGLang without mixed
//! chunks — a pass either **prefills** or **decodes**, never both:
//!
//! 1. **Prefill first.** If a chunked prompt is unfinished or requests wait, the scheduler
//!    tries to build a prefill batch ([`admission`]): the unfinished chunk continues, then
//!    waiting requests in policy order ([`policy`]: `fifo`, or `lpm`) are admitted while the
//!    budgets allow — the pool's free and evictable tokens less a reservation for the running
//!    requests' remaining output (`min(remaining, clip_max_new_tokens) × new_token_ratio`),
//!    `max_prefill_tokens` and `chunked_prefill_size`. A prompt's longest cached prefix
//!    (whole pages, at most all but its last token) is locked in the radix tree and not
//!    recomputed; a prompt longer than the chunk budget is chunked. When the pass ends, the
//!    prefilled pages enter the radix tree (so that later requests share them at once) and
//!    each completed prompt emits its first token.
//! 2. **Otherwise decode** every running request ([`decode`]), retracting the requests with
//!    the fewest output tokens while the step's new pages do not fit (keeping one);
//!    `new_token_ratio` decays by `(init − min) / 600` per decode pass and is reset to its
//!    initial value on a retraction, an allocation failure, or when an idle engine receives
//!    work.
//!
//! A finished request inserts its whole KV (prompt and output, whole pages) into the tree
//! and frees the rest. Prefix caching cannot be turned off and `max_num_seqs`,
//! `max_num_batched_tokens` and `preemption_mode` do not apply, as in the reference.
//! With speculative decoding, each decode step draws every request's accepted drafts first
//! and reserves exactly the pages they need.

mod admission;
mod decode;
mod policy;
mod pool;
mod radix;
mod ratio;
mod req;

use std::collections::VecDeque;
use std::num::NonZeroU32;

use servesim_perf::PrefillChunk;
use servesim_trace::{BlockHash, SimTime};

pub use self::radix::{RadixCache, RadixNode};

use self::pool::TokenPool;
use self::ratio::NewTokenRatio;
use self::req::{Req, State};
use crate::chain::chain_passes;
use crate::config::{EngineConfig, SglangArgs, SglangConfig, WorkerType};
use crate::error::EngineError;
use crate::fpm::{ForwardPassMetrics, QueueSums, prefill_stats};
use crate::kv::KvUsage;
use crate::output::{PassOutput, Signal, SignalKind};
use crate::request::EngineRequest;
use crate::scheduler::Scheduler;
use crate::slots::Slots;
use crate::spec::Speculator;

/// The SGLang-style engine core of one worker.
#[derive(Clone, Debug)]
pub struct SglangScheduler {
    config: EngineConfig,
    opts: SglangConfig,
    page: u32,
    cache: RadixCache,
    pool: TokenPool,
    reqs: Slots<Req>,
    waiting: VecDeque<u32>,
    /// Decoding requests, in admission order.
    running: Vec<u32>,
    /// The request whose prompt is being chunked.
    chunked: Option<u32>,
    ratio: NewTokenRatio,
    spec: Option<Speculator>,
    next_order: u64,
    in_flight: usize,
    queued_new: QueueSums,
    queued_retracted: QueueSums,
    /// Pages private to requests (not in the tree).
    private: u64,
    last_fpm: ForwardPassMetrics,
    /// This pass's prefill chunks and their requests.
    chunks: Vec<PrefillChunk>,
    chunk_slots: Vec<u32>,
    /// This decode step's tokens per running request (speculative decoding: drawn first).
    step_tokens: Vec<u32>,
}

impl SglangScheduler {
    /// An idle engine with an empty cache. A configuration of another engine type gets the
    /// default SGLang settings for its block size.
    pub fn new(config: EngineConfig) -> Self {
        let opts = config
            .sglang
            .clone()
            .unwrap_or_else(|| SglangArgs::default().settings(config.block_size));
        SglangScheduler {
            page: config.block_size,
            cache: RadixCache::new(),
            pool: TokenPool::new(config.num_gpu_blocks),
            reqs: Slots::default(),
            waiting: VecDeque::new(),
            running: Vec::new(),
            chunked: None,
            ratio: NewTokenRatio::new(opts.schedule_conservativeness),
            spec: config
                .speculative
                .as_ref()
                .map(|spec| Speculator::new(spec, config.seed)),
            next_order: 0,
            in_flight: 0,
            queued_new: QueueSums::default(),
            queued_retracted: QueueSums::default(),
            private: 0,
            last_fpm: ForwardPassMetrics::default(),
            chunks: Vec::new(),
            chunk_slots: Vec::new(),
            step_tokens: Vec::new(),
            opts,
            config,
        }
    }

    fn req(&self, slot: u32) -> &Req {
        self.reqs.get(slot)
    }

    fn req_mut(&mut self, slot: u32) -> &mut Req {
        self.reqs.get_mut(slot)
    }

    /// Pages covering `tokens` tokens.
    fn pages_for(&self, tokens: u32) -> u32 {
        tokens.div_ceil(self.page)
    }

    /// The current `new_token_ratio` (for tests and diagnostics).
    pub fn new_token_ratio(&self) -> f64 {
        self.ratio.value()
    }

    /// Inserts the whole pages of `slot`'s KV into the radix tree and moves its lock there:
    /// pages another request inserted meanwhile are shared and the private copies freed.
    fn cache_prefix(&mut self, slot: u32) {
        let page = self.page;
        let req = self.reqs.get_mut(slot);
        let full = req.kv_len / page;
        if full <= req.cached_pages {
            return;
        }
        let (node, present) = self.cache.insert(req.pages(full, page));
        let duplicated = (present as u32)
            .saturating_sub(req.cached_pages)
            .min(full - req.cached_pages);
        self.pool.release(u64::from(duplicated));
        req.private_pages -= full - req.cached_pages;
        self.private -= u64::from(full - req.cached_pages);
        req.cached_pages = full;
        let old = std::mem::replace(&mut req.node, node);
        self.cache.lock(node);
        self.cache.unlock(old);
    }

    /// Releases all of `slot`'s KV: its lock on the tree and its private pages.
    fn release_kv(&mut self, slot: u32) {
        let req = self.reqs.get_mut(slot);
        let node = std::mem::replace(&mut req.node, RadixNode::ROOT);
        let private = std::mem::take(&mut req.private_pages);
        req.cached_pages = 0;
        req.kv_len = 0;
        self.cache.unlock(node);
        self.pool.release(u64::from(private));
        self.private -= u64::from(private);
    }

    /// A request leaves the engine: its KV goes to the tree, the rest is freed.
    fn finish(&mut self, slot: u32, at: SimTime, kind: SignalKind, out: &mut PassOutput) {
        self.cache_prefix(slot);
        self.release_kv(slot);
        if let Some(req) = self.reqs.remove(slot) {
            out.signals.push(Signal {
                request: req.request.id,
                at,
                kind,
            });
        }
        self.in_flight -= 1;
    }

    /// `slot` emits `tokens` output tokens at `end` (one burst): first/second-token signals,
    /// the inter-token gaps (the burst's extra tokens arrive together: zero gaps), and its
    /// completion when the output is done. Returns whether the request completed.
    fn emit(&mut self, slot: u32, tokens: u32, end: SimTime, out: &mut PassOutput) -> bool {
        let req = self.req_mut(slot);
        let before = req.generated;
        req.generated += tokens;
        let gap = end.saturating_sub(req.last_token);
        req.last_token = end;
        let (id, done) = (req.request.id, req.remaining() == 0);
        let completed = SignalKind::Completed {
            reused_tokens: req.reused.unwrap_or(0),
            preemptions: req.retractions,
        };
        out.emitted.add(u64::from(tokens), 1);
        let signal = |kind| Signal {
            request: id,
            at: end,
            kind,
        };
        if before == 0 {
            out.signals.push(signal(SignalKind::FirstToken));
        } else {
            out.push_gaps(gap, 1);
        }
        out.push_gaps(SimTime::ZERO, u64::from(tokens - 1));
        if before < 2 && before + tokens >= 2 {
            out.signals.push(signal(SignalKind::SecondToken));
        }
        if done {
            self.finish(slot, end, completed, out);
        }
        done
    }

    /// A prefill pass over this pass's chunks; returns its end.
    fn prefill_pass(&mut self, now: SimTime, out: &mut PassOutput) -> SimTime {
        let duration = self.config.timing.pass_time(&servesim_perf::PassShape {
            prefill: &self.chunks,
            decode: Default::default(),
        });
        let end = now + duration;
        self.record_fpm(0, 0, 0.0, duration);
        let slots = std::mem::take(&mut self.chunk_slots);
        for (i, &slot) in slots.iter().enumerate() {
            let chunk = self.chunks[i];
            let req = self.req_mut(slot);
            req.kv_len = chunk.context_tokens + chunk.new_tokens;
            let prompt_done = req.kv_len == req.seq_len();
            self.cache_prefix(slot);
            if !prompt_done {
                continue;
            }
            if self.config.worker_type == WorkerType::Prefill {
                let reused = self.req(slot).reused.unwrap_or(0);
                self.finish(
                    slot,
                    end,
                    SignalKind::PrefillDone {
                        reused_tokens: reused,
                    },
                    out,
                );
                continue;
            }
            self.req_mut(slot).state = State::Running;
            if !self.emit(slot, 1, end, out) {
                self.running.push(slot);
            }
        }
        self.chunk_slots = slots;
        end
    }

    fn record_fpm(
        &mut self,
        decode_requests: u64,
        decode_kv: u64,
        decode_kv_var: f64,
        duration: SimTime,
    ) {
        let (prefill, context) = prefill_stats(&self.chunks);
        let usage = self.usage();
        self.last_fpm = ForwardPassMetrics {
            num_prefill_requests: prefill.count,
            sum_prefill_tokens: prefill.sum as u64,
            var_prefill_length: prefill.var,
            sum_prefill_kv_tokens: context,
            num_decode_requests: decode_requests,
            sum_decode_kv_tokens: decode_kv,
            var_decode_kv_tokens: decode_kv_var,
            num_queued_prefill: self.queued_new.count,
            sum_queued_prefill_tokens: self.queued_new.sum,
            var_queued_prefill_tokens: self.queued_new.moments().var,
            num_queued_decode: self.queued_retracted.count,
            sum_queued_decode_kv_tokens: self.queued_retracted.sum,
            kv_blocks_in_use: usage.held(),
            kv_blocks_total: usage.capacity,
            wall_time_secs: duration.as_secs_f64(),
        };
    }

    fn usage(&self) -> KvUsage {
        KvUsage {
            capacity: self.pool.capacity(),
            active: self.cache.protected_pages(),
            inactive: self.cache.evictable_pages(),
            anonymous: self.private,
        }
    }

    /// Checks the bookkeeping (for tests): the radix tree's own invariants; free, cached and
    /// private pages adding up to the capacity; every request's pages covering its KV; no KV
    /// held by a waiting request.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.cache.check_invariants()?;
        let usage = self.usage();
        if usage.active + usage.inactive + usage.anonymous + self.pool.free() != usage.capacity {
            return Err(format!(
                "pages: {usage:?} with {} free do not add up",
                self.pool.free()
            ));
        }
        let private: u64 = self.reqs.iter().map(|r| u64::from(r.private_pages)).sum();
        if private != self.private {
            return Err(format!(
                "requests hold {private} private pages, the engine counts {}",
                self.private
            ));
        }
        for req in self.reqs.iter() {
            let held = req.cached_pages + req.private_pages;
            let ok = match req.state {
                State::Waiting => held == 0 && req.node == RadixNode::ROOT,
                State::Prefilling | State::Running => held == self.pages_for(req.kv_len),
            };
            if !ok {
                return Err(format!(
                    "request {:?} ({:?}) holds {held} pages for {} KV tokens",
                    req.request.id, req.state, req.kv_len
                ));
            }
        }
        let prefilling = usize::from(self.chunked.is_some());
        if self.in_flight != self.waiting.len() + self.running.len() + prefilling {
            return Err("in-flight count out of sync".to_owned());
        }
        Ok(())
    }
}

impl Scheduler for SglangScheduler {
    fn enqueue(&mut self, request: EngineRequest) -> Result<(), EngineError> {
        request.check_shape(self.page)?;
        let capacity = self.pool.capacity() * u64::from(self.page);
        let tokens = u64::from(request.input_tokens) + u64::from(request.output_tokens);
        if tokens >= capacity {
            return Err(request.unservable(format!(
                "needs {tokens} KV tokens ({} prompt + {} output), the worker has {capacity}",
                request.input_tokens, request.output_tokens
            )));
        }
        if self.in_flight == 0 {
            // An idle engine starts over with its most conservative reservation.
            self.ratio.reset();
        }
        let req = Req::new(request);
        self.queued_new.add(req.input_tokens());
        let slot = self.reqs.insert(req);
        self.waiting.push_back(slot);
        self.in_flight += 1;
        Ok(())
    }

    fn has_work(&self) -> bool {
        self.in_flight > 0
    }

    fn step(&mut self, now: SimTime, out: &mut PassOutput) -> Option<SimTime> {
        self.chunks.clear();
        self.chunk_slots.clear();
        self.admit();
        let end = if !self.chunks.is_empty() {
            self.prefill_pass(now, out)
        } else if !self.running.is_empty() {
            self.decode_pass(now, out)
        } else {
            return None;
        };
        self.cache.drain_events(now, &mut out.kv_events);
        out.fpm = self.last_fpm;
        out.passes += 1;
        Some(end)
    }

    /// Chains passes (prefill or decode) while they produce nothing but second tokens and
    /// end before `horizon`: each is the very `step` a caller would make at that time.
    fn run_until(
        &mut self,
        now: SimTime,
        horizon: SimTime,
        out: &mut PassOutput,
    ) -> Option<SimTime> {
        chain_passes(self, now, horizon, out, Self::step, |_| true)
    }

    fn in_flight(&self) -> usize {
        self.in_flight
    }

    fn running(&self) -> usize {
        self.running.len() + usize::from(self.chunked.is_some())
    }

    fn waiting(&self) -> usize {
        self.waiting.len()
    }

    fn kv_usage(&self) -> KvUsage {
        self.usage()
    }

    fn record_kv_events(&mut self, stride: Option<NonZeroU32>) {
        self.cache.record_events(stride);
    }

    fn last_metrics(&self) -> &ForwardPassMetrics {
        &self.last_fpm
    }

    fn cached_prefix_blocks(&self, hashes: &[BlockHash]) -> usize {
        self.cache.match_len(hashes)
    }

    fn config(&self) -> &EngineConfig {
        &self.config
    }
}
