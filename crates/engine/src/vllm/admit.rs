//! Admission: which waiting requests a step starts, and how many prompt tokens each.
//!
//! vLLM admits optimistically — a request needs blocks for this step's chunk only, and KV
//! pressure is resolved later by preemption. TensorRT-LLM's `GUARANTEED_NO_EVICT` admits a
//! request only if the blocks it needs to completion fit beside those every running request
//! is guaranteed, so nothing is ever preempted.

use servesim_perf::PrefillChunk;

use super::VllmScheduler;
use super::decode_set::Member;
use super::seq::Phase;
use crate::config::WorkerType;
use crate::scheduler::Scheduler;
impl VllmScheduler {
    /// Admits waiting requests; returns the budget left.
    pub(super) fn admit(&mut self, mut budget: u32) -> u32 {
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
                    .seq_prefix_len(&seq.hashes[..full.min(seq.hashes.len())], &seq.blocks)
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
                let chunk = self.chunk_for(remaining, budget);
                if chunk == 0 {
                    break;
                }
                (cached + chunk, chunk)
            };
            // GUARANTEED_NO_EVICT: the blocks to completion must fit beside every running
            // request's, and the first request that does not fit stops admission.
            let lifetime = if self.no_evict {
                let seq = self.seq(slot);
                let lifetime =
                    u64::from(seq.input_tokens + seq.output_tokens).div_ceil(u64::from(self.block));
                if self.reserved_blocks + lifetime > self.config.num_gpu_blocks {
                    self.waiting_blocked = true;
                    break;
                }
                lifetime
            } else {
                0
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
            self.reserved_blocks += lifetime;
            let seq = self.seq_mut(slot);
            seq.order = order;
            seq.reserved = lifetime;
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
}
