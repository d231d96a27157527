//! A vLLM V1-style scheduler over a paged KV cache.
//!
//! One call to [`VllmScheduler::step`] is one engine step (forward pass):
//!
//! 1. **Decodes first.** Every decoding sequence gets one token of budget and, at a block
//!    boundary, a new KV block. If blocks run out, running requests are preempted
//!    (recompute: their KV is freed, they return to the front of the waiting queue) — the
//!    newest under `lifo`, the oldest under `fifo` — until the rest fit.
//! 2. **Running prefills continue**, in admission order, each taking
//!    `min(remaining, budget)` tokens (chunked prefill).
//! 3. **Waiting requests are admitted** FCFS while budget, `max_num_seqs` and KV allow, and
//!    only if nothing was preempted in this pass. A cached prompt prefix is skipped; when the
//!    whole prompt is cached the last token is recomputed.
//! 4. The pass's duration comes from the timing model; its effects are stamped with its end:
//!    the pass that completes a prompt produces the request's **first token** (the reference
//!    adds one decode step before it), and every decoding sequence produces one token.
//!
//! Decoding sequences are tracked as aggregates ([`DecodeSet`]) so a decode step costs O(1)
//! whatever the batch size; per-sequence counters are materialised when a sequence leaves
//! the decode set. [`VllmScheduler::run_until`] chains pure-decode steps up to a horizon.
//!
//! **Speculative decoding** makes every sequence advance by its own random number of tokens,
//! which no aggregate can summarise: with it on, each step draws the accepted drafts of every
//! decoding sequence (in admission order) *before* making room, so that the step reserves
//! exactly the blocks the accepted tokens need, then moves each sequence ahead by its drafts
//! and completes those that reached their output length itself. A step then costs O(batch);
//! `run_until` still chains the very same `step` calls, so it stays exact.

mod admit;
mod blocks;
mod decode_set;
mod drafts;
mod finish;
mod seq;

use std::collections::{BTreeMap, VecDeque};
use std::num::NonZeroU32;

use servesim_perf::{DecodeShape, PassShape, PrefillChunk};
use servesim_trace::{BlockHash, SimTime, content_id};

use self::decode_set::DecodeSet;
use self::seq::{Draft, Phase, Seq, is_decoding};
use crate::chain::chain_passes;
use crate::config::{CapacityPolicy, EngineConfig, WorkerType};
use crate::error::EngineError;
use crate::fpm::{ForwardPassMetrics, QueueSums};
use crate::kv::{KvCache, KvUsage};
use crate::output::PassOutput;
use crate::request::EngineRequest;
use crate::scheduler::Scheduler;
use crate::slots::Slots;
use crate::spec::Speculator;

/// Namespace salting block hashes when prefix caching is off (no two requests share).
const NO_CACHE_NS: u64 = 0x6e6f_6361_6368_6501;

/// The vLLM-style engine core of one worker.
#[derive(Clone, Debug)]
pub struct VllmScheduler {
    config: EngineConfig,
    block: u32,
    kv: KvCache,
    seqs: Slots<Seq>,
    /// Epochs are unique across sequences, so that a completion entry left behind by a slot's
    /// previous sequence (with speculative decoding a sequence completes before its entry
    /// comes due) never matches the next one.
    next_epoch: u32,
    waiting: VecDeque<u32>,
    prefilling: VecDeque<u32>,
    decoding: BTreeMap<u64, u32>,
    decode: DecodeSet,
    step: u64,
    last_pass_end: SimTime,
    /// `(slot, epoch)` of sequences whose first token came from the previous pass.
    fresh: Vec<(u32, u32)>,
    /// Decode workers: admitted sequences whose first decode step has not run yet.
    awaiting_first: Vec<(u32, u32)>,
    /// The waiting head cannot be admitted until a request completes or is preempted.
    waiting_blocked: bool,
    queued_new: QueueSums,
    queued_preempted: QueueSums,
    next_order: u64,
    in_flight: usize,
    chunks: Vec<PrefillChunk>,
    chunk_slots: Vec<u32>,
    last_fpm: ForwardPassMetrics,
    /// The draft-acceptance sampler (speculative decoding only).
    spec: Option<Speculator>,
    /// This step's drafts, one per decoding sequence (speculative decoding only).
    drafts: Vec<Draft>,
    /// Sum of the drafts' blocks.
    draft_blocks: u64,
    /// TensorRT-LLM's `GUARANTEED_NO_EVICT`: blocks every running request may still need to
    /// reach completion are reserved at admission.
    no_evict: bool,
    /// Blocks reserved to completion by running requests (`no_evict` only).
    reserved_blocks: u64,
    /// Truncated prefill chunks are a multiple of this many tokens (TensorRT-LLM chunks in
    /// whole KV blocks; vLLM in single tokens).
    chunk_unit: u32,
}

impl VllmScheduler {
    /// An idle engine with an empty KV cache.
    pub fn new(config: EngineConfig) -> Self {
        let block = config.block_size;
        VllmScheduler {
            spec: config
                .speculative
                .as_ref()
                .map(|spec| Speculator::new(spec, config.seed)),
            drafts: Vec::new(),
            draft_blocks: 0,
            kv: KvCache::new(config.num_gpu_blocks),
            decode: DecodeSet::new(block),
            block,
            seqs: Slots::default(),
            next_epoch: 0,
            waiting: VecDeque::new(),
            prefilling: VecDeque::new(),
            decoding: BTreeMap::new(),
            step: 0,
            last_pass_end: SimTime::ZERO,
            fresh: Vec::new(),
            awaiting_first: Vec::new(),
            waiting_blocked: false,
            queued_new: QueueSums::default(),
            queued_preempted: QueueSums::default(),
            next_order: 0,
            in_flight: 0,
            chunks: Vec::new(),
            chunk_slots: Vec::new(),
            last_fpm: ForwardPassMetrics::default(),
            no_evict: config
                .trtllm
                .as_ref()
                .is_some_and(|t| t.capacity_scheduler_policy == CapacityPolicy::GuaranteedNoEvict),
            reserved_blocks: 0,
            chunk_unit: if config.trtllm.is_some() { block } else { 1 },
            config,
        }
    }

    /// The largest chunk of a prompt with `remaining` tokens to compute that fits `budget`:
    /// all of it, else the budget rounded down to whole chunk units (0: none fits).
    fn chunk_for(&self, remaining: u32, budget: u32) -> u32 {
        if remaining <= budget {
            remaining
        } else {
            budget / self.chunk_unit * self.chunk_unit
        }
    }

    pub(super) fn seq(&self, slot: u32) -> &Seq {
        self.seqs.get(slot)
    }

    pub(super) fn seq_mut(&mut self, slot: u32) -> &mut Seq {
        self.seqs.get_mut(slot)
    }

    pub(super) fn new_epoch(&mut self) -> u32 {
        self.next_epoch = self.next_epoch.wrapping_add(1);
        self.next_epoch
    }

    pub(super) fn is_current(&self, slot: u32, epoch: u32) -> bool {
        is_decoding(&self.seqs, slot, epoch)
    }

    /// Nothing but decoding can happen until something completes or is preempted.
    fn is_pure_decode(&self) -> bool {
        self.prefilling.is_empty()
            && (self.waiting.is_empty() || self.waiting_blocked)
            && !self.decoding.is_empty()
            && self.awaiting_first.is_empty()
    }

    /// Checks the bookkeeping (for tests): the KV cache's own invariants, and that the
    /// blocks the sequences hold add up to what the cache counts as held.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.kv.check_invariants()?;
        let mut anonymous = 0u64;
        for seq in self.seqs.iter() {
            let live = if seq.phase == Phase::Decoding {
                seq.at_step(self.step).kv_len
            } else {
                seq.kv_len
            };
            let blocks = live.div_ceil(self.block);
            let held_anonymous = blocks - seq.registered;
            if seq.phase == Phase::Waiting && (seq.registered, seq.anonymous) != (0, 0) {
                return Err(format!("waiting request {:?} holds blocks", seq.id));
            }
            anonymous += u64::from(held_anonymous);
        }
        let usage = self.kv.usage();
        if anonymous != usage.anonymous {
            return Err(format!(
                "sequences hold {anonymous} anonymous blocks, the cache counts {}",
                usage.anonymous
            ));
        }
        if self.in_flight != self.waiting.len() + self.running() {
            return Err("in-flight count out of sync".to_owned());
        }
        let reserved: u64 = self.seqs.iter().map(|s| s.reserved).sum();
        if reserved != self.reserved_blocks || reserved > self.config.num_gpu_blocks {
            return Err(format!(
                "{reserved} blocks reserved by sequences, {} counted, {} in the cache",
                self.reserved_blocks, self.config.num_gpu_blocks
            ));
        }
        Ok(())
    }
}

impl Scheduler for VllmScheduler {
    /// Accepts a request into the waiting queue.
    ///
    /// Fails if the request can never be served: its KV (prompt + output) exceeds the cache,
    /// or, with chunked prefill off, its prompt exceeds the token budget.
    fn enqueue(&mut self, mut request: EngineRequest) -> Result<(), EngineError> {
        let blocks = (u64::from(request.input_tokens) + u64::from(request.output_tokens))
            .div_ceil(u64::from(self.block));
        if blocks > self.config.num_gpu_blocks {
            return Err(request.unservable(format!(
                "needs {blocks} KV blocks ({} prompt + {} output tokens), the worker has {}",
                request.input_tokens, request.output_tokens, self.config.num_gpu_blocks
            )));
        }
        if !self.config.enable_chunked_prefill
            && self.config.worker_type != WorkerType::Decode
            && request.input_tokens > self.config.max_num_batched_tokens
        {
            return Err(request.unservable(format!(
                "prompt of {} tokens exceeds max_num_batched_tokens {} and chunked prefill is off",
                request.input_tokens, self.config.max_num_batched_tokens
            )));
        }
        request.check_shape(self.block)?;
        if !self.config.enable_prefix_caching {
            // Salt every hash with the request so that nothing is ever shared.
            let salt = content_id(NO_CACHE_NS, request.id.0);
            for hash in &mut request.prompt_hashes {
                *hash = BlockHash(content_id(hash.0, salt));
            }
            request.output_content = content_id(request.output_content, salt);
        }
        let mut seq = Seq::new(request);
        seq.epoch = self.new_epoch();
        self.queued_new.add(seq.input_tokens);
        let slot = self.seqs.insert(seq);
        self.waiting.push_back(slot);
        self.in_flight += 1;
        self.waiting_blocked = false;
        Ok(())
    }

    /// Whether a pass would do anything.
    fn has_work(&self) -> bool {
        self.in_flight > 0
    }

    /// Runs one pass starting at `now`; returns its end, or `None` if nothing could be
    /// scheduled (the engine is idle or blocked until something changes).
    fn step(&mut self, now: SimTime, out: &mut PassOutput) -> Option<SimTime> {
        let s = self.step;
        let mut preempted = false;
        self.draw_drafts();
        // 1. Decodes: make room for this step's new blocks.
        while self.decode_blocks() > self.kv.available() {
            let victim = self.pick_victim()?;
            self.preempt(victim, now, out);
            preempted = true;
        }
        let mut budget = self
            .config
            .max_num_batched_tokens
            .saturating_sub(self.decoding.len() as u32);
        self.chunks.clear();
        self.chunk_slots.clear();
        // 2. Running prefills continue.
        let mut i = 0;
        while i < self.prefilling.len() && budget > 0 {
            let slot = self.prefilling[i];
            let seq = self.seq(slot);
            let before = seq.kv_len;
            let chunk = self.chunk_for(seq.total_tokens() - before, budget);
            if chunk == 0 {
                break;
            }
            if self.try_allocate(slot, before + chunk) {
                self.chunks.push(PrefillChunk {
                    new_tokens: chunk,
                    context_tokens: before,
                });
                self.chunk_slots.push(slot);
                budget -= chunk;
                i += 1;
                continue;
            }
            let victim = self.pick_victim()?;
            if self.decoding.contains_key(&self.seq(victim).order) {
                budget += 1;
            }
            if let Some(pos) = self.chunk_slots.iter().position(|&c| c == victim) {
                budget += self.chunks[pos].new_tokens;
                self.chunks.remove(pos);
                self.chunk_slots.remove(pos);
                i -= 1;
            }
            self.preempt(victim, now, out);
            preempted = true;
        }
        // 3. Admissions.
        if !preempted && !self.waiting_blocked {
            budget = self.admit(budget);
        }
        // 4. Execute.
        let n_decode = self.decode.len();
        if self.chunks.is_empty() && n_decode == 0 {
            return None;
        }
        let need = self.decode_blocks();
        // Feasibility was established above; a failure here would be a bookkeeping bug.
        let _ = self.kv.acquire_anonymous(need);
        let _ = budget;
        let decode = DecodeShape {
            sequences: n_decode as u32,
            context_tokens: self.decode.kv_sum(s),
            kv_tokens_in_use: self.kv.usage().held() * u64::from(self.block),
            kv_capacity_tokens: self.config.num_gpu_blocks * u64::from(self.block),
            tokens_per_sequence: 1,
        };
        let duration = self.config.timing.pass_time(&PassShape {
            prefill: &self.chunks,
            decode,
        });
        let end = now + duration;
        self.record_fpm(s, &decode, duration);
        self.finish_pass(now, end, n_decode, out);
        self.kv.drain_events(now, &mut out.kv_events);
        out.fpm = self.last_fpm;
        out.passes += 1;
        Some(end)
    }

    /// Runs passes back to back from `now`: one pass, then more as long as nothing but
    /// decoding happens, no request completes or is preempted, and the next pass would start
    /// before `horizon`. Returns the end of the last pass (`None` if nothing ran).
    ///
    /// Equivalent to calling [`step`](Self::step) once per pass at each pass end — same
    /// signals, token times and KV state — but without returning to the caller in between.
    fn run_until(
        &mut self,
        now: SimTime,
        horizon: SimTime,
        out: &mut PassOutput,
    ) -> Option<SimTime> {
        chain_passes(self, now, horizon, out, Self::step, Self::is_pure_decode)
    }

    /// Requests inside the engine (waiting or running).
    fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Running requests (prefilling or decoding).
    fn running(&self) -> usize {
        self.prefilling.len() + self.decoding.len()
    }

    /// Requests waiting for admission.
    fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Block counts of the KV cache.
    fn kv_usage(&self) -> KvUsage {
        self.kv.usage()
    }

    /// Starts recording the KV events of every `stride`-th block, or stops with `None`.
    fn record_kv_events(&mut self, stride: Option<NonZeroU32>) {
        self.kv.record_events(stride);
    }

    /// Metrics of the last pass.
    fn last_metrics(&self) -> &ForwardPassMetrics {
        &self.last_fpm
    }

    /// Leading blocks of `hashes` in the KV cache (active or cached). With prefix caching off
    /// nothing can be shared, so this is 0.
    fn cached_prefix_blocks(&self, hashes: &[BlockHash]) -> usize {
        if self.config.enable_prefix_caching {
            self.kv.prefix_len(hashes)
        } else {
            0
        }
    }

    /// The configuration.
    fn config(&self) -> &EngineConfig {
        &self.config
    }
}
