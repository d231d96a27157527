//! The end of a pass and of a request: emitting tokens, completing, preempting, and the
//! pass's forward-pass metrics.

use servesim_perf::DecodeShape;
use servesim_trace::SimTime;

use super::VllmScheduler;
use super::decode_set::Member;
use super::seq::{Phase, Seq, is_decoding};
use crate::config::{PreemptionMode, WorkerType};
use crate::fpm::{ForwardPassMetrics, prefill_stats};
use crate::output::{PassOutput, Signal, SignalKind};
impl VllmScheduler {
    /// The running request to preempt next, by policy.
    pub(super) fn pick_victim(&self) -> Option<u32> {
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

    /// Takes a decoding sequence out of the decode set at the current step.
    pub(super) fn leave_decode_set(&mut self, slot: u32) {
        let step = self.step;
        self.materialize(slot, step);
        let epoch = self.new_epoch();
        let seq = self.seq_mut(slot);
        seq.epoch = epoch;
        let (order, kv_len) = (seq.order, seq.kv_len);
        self.decode.remove(step, kv_len);
        self.decoding.remove(&order);
    }

    pub(super) fn preempt(&mut self, slot: u32, now: SimTime, out: &mut PassOutput) {
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
        let reserved = std::mem::take(&mut self.seq_mut(slot).reserved);
        self.reserved_blocks -= reserved;
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

    pub(super) fn remove(
        &mut self,
        slot: u32,
        at: SimTime,
        kind: SignalKind,
        out: &mut PassOutput,
    ) {
        self.free_blocks(slot);
        if let Some(seq) = self.seqs.remove(slot) {
            self.reserved_blocks -= seq.reserved;
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
    pub(super) fn complete(&mut self, slot: u32, end: SimTime, out: &mut PassOutput) {
        self.leave_decode_set(slot);
        let kind = Self::completed(self.seq(slot));
        self.remove(slot, end, kind, out);
    }

    pub(super) fn completed(seq: &Seq) -> SignalKind {
        SignalKind::Completed {
            reused_tokens: seq.reused.unwrap_or(0),
            preemptions: seq.preemptions,
        }
    }

    /// Applies the effects of the pass `[start, end)` with `n_decode` decoding sequences.
    pub(super) fn finish_pass(
        &mut self,
        start: SimTime,
        end: SimTime,
        n_decode: u64,
        out: &mut PassOutput,
    ) {
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

    pub(super) fn record_fpm(&mut self, step: u64, decode: &DecodeShape, duration: SimTime) {
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
}
