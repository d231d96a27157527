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

mod decode_set;
mod seq;

use std::collections::{BTreeMap, VecDeque};
use std::num::NonZeroU32;

use servesim_perf::{DecodeShape, PassShape, PrefillChunk};
use servesim_trace::{BlockHash, SimTime, content_id};

use self::decode_set::{DecodeSet, Member};
use self::seq::{Phase, Seq};
use crate::config::{EngineConfig, PreemptionMode, WorkerType};
use crate::error::EngineError;
use crate::fpm::{ForwardPassMetrics, QueueSums, prefill_stats};
use crate::kv::{KvCache, KvUsage};
use crate::output::{PassOutput, Signal, SignalKind};
use crate::request::{EngineRequest, hash_output_upto};
use crate::scheduler::chain_passes;
use crate::slots::Slots;
use crate::spec::Speculator;

/// Namespace salting block hashes when prefix caching is off (no two requests share).
const NO_CACHE_NS: u64 = 0x6e6f_6361_6368_6501;

/// The accepted drafts of one decoding sequence in the current step.
#[derive(Copy, Clone, Debug)]
struct Draft {
    slot: u32,
    /// Tokens emitted beyond the step's regular one.
    extra: u32,
    /// Blocks those tokens' KV needs beyond the regular token's.
    blocks: u64,
}

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
            config,
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
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Starts recording the KV events of every `stride`-th block, or stops with `None`.
    pub fn record_kv_events(&mut self, stride: Option<NonZeroU32>) {
        self.kv.record_events(stride);
    }

    /// Block counts of the KV cache.
    pub fn kv_usage(&self) -> KvUsage {
        self.kv.usage()
    }

    /// Leading blocks of `hashes` in the KV cache (active or cached). With prefix caching off
    /// nothing can be shared, so this is 0.
    pub fn cached_prefix_blocks(&self, hashes: &[BlockHash]) -> usize {
        if self.config.enable_prefix_caching {
            self.kv.prefix_len(hashes)
        } else {
            0
        }
    }

    /// Requests inside the engine (waiting or running).
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Running requests (prefilling or decoding).
    pub fn running(&self) -> usize {
        self.prefilling.len() + self.decoding.len()
    }

    /// Requests waiting for admission.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Whether a pass would do anything.
    pub fn has_work(&self) -> bool {
        self.in_flight > 0
    }

    /// Metrics of the last pass.
    pub fn last_metrics(&self) -> &ForwardPassMetrics {
        &self.last_fpm
    }

    /// Accepts a request into the waiting queue.
    ///
    /// Fails if the request can never be served: its KV (prompt + output) exceeds the cache,
    /// or, with chunked prefill off, its prompt exceeds the token budget.
    pub fn enqueue(&mut self, mut request: EngineRequest) -> Result<(), EngineError> {
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

    fn seq(&self, slot: u32) -> &Seq {
        self.seqs.get(slot)
    }

    fn seq_mut(&mut self, slot: u32) -> &mut Seq {
        self.seqs.get_mut(slot)
    }

    fn new_epoch(&mut self) -> u32 {
        self.next_epoch = self.next_epoch.wrapping_add(1);
        self.next_epoch
    }

    fn is_current(&self, slot: u32, epoch: u32) -> bool {
        is_decoding(&self.seqs, slot, epoch)
    }

    /// Nothing but decoding can happen until something completes or is preempted.
    fn is_pure_decode(&self) -> bool {
        self.prefilling.is_empty()
            && (self.waiting.is_empty() || self.waiting_blocked)
            && !self.decoding.is_empty()
            && self.awaiting_first.is_empty()
    }

    /// Runs one pass starting at `now`; returns its end, or `None` if nothing could be
    /// scheduled (the engine is idle or blocked until something changes).
    pub fn step(&mut self, now: SimTime, out: &mut PassOutput) -> Option<SimTime> {
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
            let chunk = (seq.total_tokens() - before).min(budget);
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
    pub fn run_until(
        &mut self,
        now: SimTime,
        horizon: SimTime,
        out: &mut PassOutput,
    ) -> Option<SimTime> {
        chain_passes(self, now, horizon, out, Self::step, Self::is_pure_decode)
    }

    /// Admits waiting requests; returns the budget left.
    fn admit(&mut self, mut budget: u32) -> u32 {
        let s = self.step;
        while let Some(&slot) = self.waiting.front() {
            if budget == 0 {
                break;
            }
            if self.running() as u64 >= u64::from(self.config.max_num_seqs) {
                self.waiting_blocked = true;
                break;
            }
            let seq = self.seq(slot);
            let total = seq.total_tokens();
            let fresh_request = seq.reused.is_none();
            // A decode worker receives a new request's prompt KV by transfer: nothing to
            // compute. (A preempted request is recomputed, like anywhere else.)
            let transferred = self.config.worker_type == WorkerType::Decode && fresh_request;
            let cached = if transferred || !self.config.enable_prefix_caching {
                0
            } else {
                let full = (total / self.block) as usize;
                let hits = self
                    .kv
                    .prefix_len(&seq.hashes[..full.min(seq.hashes.len())])
                    as u32;
                (hits * self.block).min(total - 1)
            };
            let (target, chunk) = if transferred {
                (total, 0)
            } else {
                let remaining = total - cached;
                if !self.config.enable_chunked_prefill && remaining > budget && fresh_request {
                    break;
                }
                let chunk = remaining.min(budget);
                (cached + chunk, chunk)
            };
            // A transferred request decodes in this very pass: leave room for its block.
            let extra = u64::from(transferred && target.is_multiple_of(self.block));
            if !self.try_allocate_with(slot, target, extra) {
                self.waiting_blocked = true;
                break;
            }
            self.waiting.pop_front();
            let order = self.next_order;
            self.next_order += 1;
            let seq = self.seq_mut(slot);
            seq.order = order;
            seq.reused.get_or_insert(cached);
            let (input, total_now) = (seq.input_tokens, seq.total_tokens());
            if fresh_request {
                self.queued_new.remove(input);
            } else {
                self.queued_preempted.remove(total_now);
            }
            if transferred {
                budget -= 1;
                let seq = self.seq_mut(slot);
                seq.phase = Phase::Decoding;
                seq.step_base = s;
                let epoch = seq.epoch;
                let remaining = seq.output_tokens - seq.generated;
                self.decode
                    .insert(Member { slot, epoch, order }, s, target, remaining);
                self.decoding.insert(order, slot);
                self.awaiting_first.push((slot, epoch));
            } else {
                self.seq_mut(slot).phase = Phase::Prefilling;
                self.prefilling.push_back(slot);
                self.chunks.push(PrefillChunk {
                    new_tokens: chunk,
                    context_tokens: cached,
                });
                self.chunk_slots.push(slot);
                budget -= chunk;
            }
        }
        budget
    }

    /// Blocks this step's decodes allocate: one per sequence reaching a block boundary, plus
    /// the blocks of accepted drafts.
    fn decode_blocks(&self) -> u64 {
        self.decode.blocks_needed(self.step) + self.draft_blocks
    }

    /// Speculative decoding: draws every decoding sequence's accepted drafts for this step,
    /// in admission order.
    fn draw_drafts(&mut self) {
        let Some(spec) = &mut self.spec else {
            return;
        };
        self.drafts.clear();
        self.draft_blocks = 0;
        for &slot in self.decoding.values() {
            let seq = self.seqs.get(slot);
            let live = seq.at_step(self.step);
            let extra = spec.draw(seq.output_tokens - live.generated) - 1;
            // The regular token's KV goes to position `kv_len`, the drafts' right after it.
            let first = live.kv_len + 1;
            let blocks =
                u64::from((first + extra).div_ceil(self.block) - first.div_ceil(self.block));
            self.draft_blocks += blocks;
            self.drafts.push(Draft {
                slot,
                extra,
                blocks,
            });
        }
    }

    /// Forgets the drafts of a sequence leaving the step (preempted).
    fn drop_draft(&mut self, slot: u32) {
        if let Some(i) = self.drafts.iter().position(|d| d.slot == slot) {
            self.draft_blocks -= self.drafts[i].blocks;
            self.drafts.remove(i);
        }
    }

    /// Speculative decoding, after the step: moves every drafted sequence ahead by its
    /// accepted drafts (emitted with the step's token: zero gaps) and completes the sequences
    /// that reached their output length — their completion entries may be later than the
    /// truth once they have jumped ahead. Returns the tokens emitted beyond one per sequence.
    fn apply_drafts(&mut self, end: SimTime, out: &mut PassOutput) -> u64 {
        let step = self.step;
        let mut drafts = std::mem::take(&mut self.drafts);
        let mut extra_tokens = 0;
        for draft in &drafts {
            if draft.extra > 0 {
                self.materialize(draft.slot, step);
                let seq = self.seq_mut(draft.slot);
                let kv_len = seq.kv_len;
                seq.kv_len += draft.extra;
                seq.generated += draft.extra;
                // At most `nextn` tokens: a handful of blocks.
                seq.anonymous += draft.blocks as u32;
                self.decode.shift(step, kv_len, draft.extra);
                out.push_gaps(SimTime::ZERO, u64::from(draft.extra));
                extra_tokens += u64::from(draft.extra);
            }
            let seq = self.seq(draft.slot);
            if seq.at_step(step).generated == seq.output_tokens {
                self.complete(draft.slot, end, out);
            }
        }
        drafts.clear();
        self.drafts = drafts;
        self.draft_blocks = 0;
        extra_tokens
    }

    fn try_allocate(&mut self, slot: u32, target: u32) -> bool {
        self.try_allocate_with(slot, target, 0)
    }

    /// Gives `slot` the blocks for its first `target` tokens if they fit next to this step's
    /// decode blocks (plus `extra` blocks of headroom); all or nothing, as vLLM V1.
    fn try_allocate_with(&mut self, slot: u32, target: u32, extra: u64) -> bool {
        let block = self.block;
        let reserved = self.decode_blocks() + extra;
        let available = self.kv.available();
        let seq = self.seqs.get_mut(slot);
        ensure_hashed(seq, target);
        let full = (target / block) as usize;
        let partial = u64::from(!target.is_multiple_of(block));
        let new_hashes = &seq.hashes[seq.registered as usize..full];
        let cost = self.kv.acquire_cost(new_hashes);
        let needed = i128::from(cost.new) + i128::from(partial) - i128::from(seq.anonymous);
        let room = i128::from(available) - i128::from(cost.reactivated) - i128::from(reserved);
        let fits = needed <= room;
        if fits {
            if seq.anonymous > 0 && full > seq.registered as usize {
                self.kv.release_anonymous(u64::from(seq.anonymous));
                seq.anonymous = 0;
            }
            let _ = self
                .kv
                .acquire(&seq.hashes[..full], seq.registered as usize);
            seq.registered = full as u32;
            if partial == 1 && seq.anonymous == 0 {
                let _ = self.kv.acquire_anonymous(1);
                seq.anonymous = 1;
            }
            seq.kv_len = target;
        }
        fits
    }

    /// The running request to preempt next, by policy.
    fn pick_victim(&self) -> Option<u32> {
        match self.config.preemption_mode {
            PreemptionMode::Lifo => self
                .prefilling
                .back()
                .copied()
                .or_else(|| self.decoding.last_key_value().map(|(_, &s)| s)),
            PreemptionMode::Fifo => self
                .decoding
                .first_key_value()
                .map(|(_, &s)| s)
                .or_else(|| self.prefilling.front().copied()),
        }
    }

    /// Brings a decoding sequence's counters to step `step`, hashing and registering the
    /// blocks it filled since it was last materialised.
    fn materialize(&mut self, slot: u32, step: u64) {
        let block = self.block;
        let seq = self.seqs.get_mut(slot);
        let live = seq.at_step(step);
        let grown = live.kv_len.div_ceil(block) - seq.kv_len.div_ceil(block);
        seq.anonymous += grown;
        seq.kv_len = live.kv_len;
        seq.generated = live.generated;
        seq.step_base = step;
        let kv_len = seq.kv_len;
        ensure_hashed(seq, kv_len);
        let full = ((seq.kv_len / block) as usize).min(seq.hashes.len());
        while (seq.registered as usize) < full && seq.anonymous > 0 {
            self.kv
                .register_anonymous(&seq.hashes, seq.registered as usize);
            seq.anonymous -= 1;
            seq.registered += 1;
        }
    }

    /// Takes a decoding sequence out of the decode set at the current step.
    fn leave_decode_set(&mut self, slot: u32) {
        let step = self.step;
        self.materialize(slot, step);
        let epoch = self.new_epoch();
        let seq = self.seq_mut(slot);
        seq.epoch = epoch;
        let (order, kv_len) = (seq.order, seq.kv_len);
        self.decode.remove(step, kv_len);
        self.decoding.remove(&order);
    }

    /// Frees all KV of `slot`, tail first.
    fn free_blocks(&mut self, slot: u32) {
        let seq = self.seqs.get_mut(slot);
        self.kv.release_anonymous(u64::from(seq.anonymous));
        self.kv.release(&seq.hashes[..seq.registered as usize]);
        seq.anonymous = 0;
        seq.registered = 0;
        seq.kv_len = 0;
    }

    fn preempt(&mut self, slot: u32, now: SimTime, out: &mut PassOutput) {
        match self.seq(slot).phase {
            Phase::Decoding => {
                self.drop_draft(slot);
                self.leave_decode_set(slot);
                let last = self.last_pass_end;
                self.seq_mut(slot).last_token = last;
            }
            Phase::Prefilling => {
                if let Some(pos) = self.prefilling.iter().position(|&p| p == slot) {
                    self.prefilling.remove(pos);
                }
            }
            Phase::Waiting => return,
        }
        self.free_blocks(slot);
        let seq = self.seq_mut(slot);
        seq.phase = Phase::Waiting;
        seq.preemptions += 1;
        let (id, total, admitted) = (seq.id, seq.total_tokens(), seq.reused.is_some());
        if admitted {
            self.queued_preempted.add(total);
        }
        self.waiting.push_front(slot);
        self.waiting_blocked = false;
        out.signals.push(Signal {
            request: id,
            at: now,
            kind: SignalKind::Preempted,
        });
    }

    fn remove(&mut self, slot: u32, at: SimTime, kind: SignalKind, out: &mut PassOutput) {
        self.free_blocks(slot);
        if let Some(seq) = self.seqs.remove(slot) {
            out.signals.push(Signal {
                request: seq.id,
                at,
                kind,
            });
        }
        self.in_flight -= 1;
        self.waiting_blocked = false;
    }

    /// A decoding sequence generated its last token at `end`.
    fn complete(&mut self, slot: u32, end: SimTime, out: &mut PassOutput) {
        self.leave_decode_set(slot);
        let kind = Self::completed(self.seq(slot));
        self.remove(slot, end, kind, out);
    }

    fn completed(seq: &Seq) -> SignalKind {
        SignalKind::Completed {
            reused_tokens: seq.reused.unwrap_or(0),
            preemptions: seq.preemptions,
        }
    }

    /// Applies the effects of the pass `[start, end)` with `n_decode` decoding sequences.
    fn finish_pass(&mut self, start: SimTime, end: SimTime, n_decode: u64, out: &mut PassOutput) {
        let mut fresh_next = Vec::new();
        if n_decode > 0 {
            self.step += 1;
            let synchronized = n_decode - self.awaiting_first.len() as u64;
            let gap = end.saturating_sub(self.last_pass_end.max(SimTime::ZERO));
            out.push_gaps(gap, synchronized);
            for (slot, epoch) in std::mem::take(&mut self.awaiting_first) {
                if self.is_current(slot, epoch) {
                    let id = self.seq(slot).id;
                    out.signals.push(Signal {
                        request: id,
                        at: end,
                        kind: SignalKind::FirstToken,
                    });
                    fresh_next.push((slot, epoch));
                }
            }
            for (slot, epoch) in std::mem::take(&mut self.fresh) {
                if self.is_current(slot, epoch) {
                    let id = self.seq(slot).id;
                    out.signals.push(Signal {
                        request: id,
                        at: end,
                        kind: SignalKind::SecondToken,
                    });
                }
            }
            let extra = self.apply_drafts(end, out);
            out.emitted.add(n_decode + extra, n_decode);
            let step = self.step;
            loop {
                let seqs = &self.seqs;
                let Some(slot) = self
                    .decode
                    .pop_finished(step, |s, e| is_decoding(seqs, s, e))
                else {
                    break;
                };
                self.complete(slot, end, out);
            }
        }
        let _ = start;
        let chunk_slots = std::mem::take(&mut self.chunk_slots);
        for &slot in &chunk_slots {
            let seq = self.seq(slot);
            if seq.kv_len < seq.total_tokens() {
                continue;
            }
            let reused = seq.reused.unwrap_or(0);
            let resumed_gap = (seq.generated > 0).then(|| end.saturating_sub(seq.last_token));
            // The prompt (or recompute) is complete: it leaves the prefill queue.
            if let Some(pos) = self.prefilling.iter().position(|&p| p == slot) {
                self.prefilling.remove(pos);
            }
            if self.config.worker_type == WorkerType::Prefill {
                let kind = SignalKind::PrefillDone {
                    reused_tokens: reused,
                };
                self.remove(slot, end, kind, out);
                continue;
            }
            let seq = self.seq_mut(slot);
            seq.generated += 1;
            seq.last_token = end;
            out.emitted.add(1, 1);
            let (id, generated, output_tokens, order, kv_len, epoch) = (
                seq.id,
                seq.generated,
                seq.output_tokens,
                seq.order,
                seq.kv_len,
                seq.epoch,
            );
            if let Some(gap) = resumed_gap {
                out.push_gaps(gap, 1);
                // Preempted between its first and second token: the recompute pass emits
                // the second.
                if generated == 2 {
                    out.signals.push(Signal {
                        request: id,
                        at: end,
                        kind: SignalKind::SecondToken,
                    });
                }
            } else {
                out.signals.push(Signal {
                    request: id,
                    at: end,
                    kind: SignalKind::FirstToken,
                });
            }
            if generated == output_tokens {
                let kind = Self::completed(self.seq(slot));
                self.remove(slot, end, kind, out);
                continue;
            }
            if generated == 1 {
                fresh_next.push((slot, epoch));
            }
            let step = self.step;
            let seq = self.seq_mut(slot);
            seq.phase = Phase::Decoding;
            seq.step_base = step;
            self.decode.insert(
                Member { slot, epoch, order },
                step,
                kv_len,
                output_tokens - generated,
            );
            self.decoding.insert(order, slot);
        }
        self.chunk_slots = chunk_slots;
        self.fresh = fresh_next;
        self.last_pass_end = end;
    }

    fn record_fpm(&mut self, step: u64, decode: &DecodeShape, duration: SimTime) {
        let (prefill, context) = prefill_stats(&self.chunks);
        self.last_fpm = ForwardPassMetrics {
            num_prefill_requests: prefill.count,
            sum_prefill_tokens: prefill.sum as u64,
            var_prefill_length: prefill.var,
            sum_prefill_kv_tokens: context,
            num_decode_requests: u64::from(decode.sequences),
            sum_decode_kv_tokens: self.decode.kv_sum(step),
            var_decode_kv_tokens: self.decode.kv_variance(),
            num_queued_prefill: self.queued_new.count,
            sum_queued_prefill_tokens: self.queued_new.sum,
            var_queued_prefill_tokens: self.queued_new.moments().var,
            num_queued_decode: self.queued_preempted.count,
            sum_queued_decode_kv_tokens: self.queued_preempted.sum,
            kv_blocks_in_use: self.kv.usage().held(),
            kv_blocks_total: self.config.num_gpu_blocks,
            wall_time_secs: duration.as_secs_f64(),
        };
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
        Ok(())
    }
}

/// Whether `slot` holds a decoding sequence of epoch `epoch` (heap entries are lazy).
fn is_decoding(seqs: &Slots<Seq>, slot: u32, epoch: u32) -> bool {
    seqs.try_get(slot)
        .is_some_and(|s| s.epoch == epoch && s.phase == Phase::Decoding)
}

/// Feeds generated tokens into the sequence's hasher until it has seen `upto` tokens.
fn ensure_hashed(seq: &mut Seq, upto: u32) {
    hash_output_upto(&mut seq.hasher, seq.output_content, &mut seq.hashes, upto);
}
