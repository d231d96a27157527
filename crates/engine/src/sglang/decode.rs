//! Decode passes and retraction.
//!
//! A decode pass advances every running request. Before emitting, the step's new pages must
//! fit in the free and evictable pages; while they do not, the request with the **fewest
//! output tokens** is retracted (ties: the longest prompt, then the latest admitted), keeping
//! at least one — as a last resort the prompt being chunked is retracted too. A retracted
//! request releases its private pages, keeps its prompt in the radix tree (unlocked, so
//! only cached) and goes back to the **front** of the waiting queue; `new_token_ratio`
//! returns to its initial value.

use std::cmp::Reverse;

use servesim_perf::DecodeShape;
use servesim_trace::SimTime;

use super::SglangScheduler;
use super::req::State;
use crate::fpm::Moments;
use crate::output::{PassOutput, Signal, SignalKind};

impl SglangScheduler {
    /// New pages request `slot` needs to emit `tokens` tokens.
    fn step_pages(&self, slot: u32, tokens: u32) -> u64 {
        let kv_len = self.req(slot).kv_len;
        u64::from(self.pages_for(kv_len + tokens) - self.pages_for(kv_len))
    }

    /// The running request to retract next: fewest output tokens, then longest prompt, then
    /// latest admitted.
    pub(crate) fn retraction_victim(&self) -> Option<usize> {
        self.running
            .iter()
            .enumerate()
            .min_by_key(|&(_, &slot)| {
                let req = self.req(slot);
                (
                    req.generated,
                    Reverse(req.input_tokens()),
                    Reverse(req.order),
                )
            })
            .map(|(i, _)| i)
    }

    /// Sends `slot` back to the front of the waiting queue without its KV (its cached
    /// prefix stays in the tree).
    fn retract(&mut self, slot: u32, now: SimTime, out: &mut PassOutput) {
        self.release_kv(slot);
        let req = self.req_mut(slot);
        req.state = State::Waiting;
        req.retractions += 1;
        let (id, seq_len) = (req.request.id, req.seq_len());
        self.queued_retracted.add(seq_len);
        self.waiting.push_front(slot);
        self.ratio.reset();
        out.signals.push(Signal {
            request: id,
            at: now,
            kind: SignalKind::Preempted,
        });
    }

    /// One decode pass starting at `now` over the running requests; returns its end.
    pub(super) fn decode_pass(&mut self, now: SimTime, out: &mut PassOutput) -> SimTime {
        let mut tokens = std::mem::take(&mut self.step_tokens);
        tokens.clear();
        for &slot in &self.running {
            let remaining = self.req(slot).remaining();
            tokens.push(self.spec.as_mut().map_or(1, |spec| spec.draw(remaining)));
        }
        let mut needed: u64 = self
            .running
            .iter()
            .zip(&tokens)
            .map(|(&slot, &k)| self.step_pages(slot, k))
            .sum();
        while needed > self.pool.available(&self.cache) {
            if self.running.len() > 1
                && let Some(i) = self.retraction_victim()
            {
                let slot = self.running.remove(i);
                needed -= self.step_pages(slot, tokens.remove(i));
                self.retract(slot, now, out);
            } else if let Some(slot) = self.chunked.take() {
                self.retract(slot, now, out);
            } else {
                break;
            }
        }
        // A request's whole KV fits in the pool (checked at enqueue), so one always fits.
        let _ = self.pool.allocate(&mut self.cache, needed);
        let (mut kv_sum, mut kv_sq) = (0u64, 0f64);
        for (i, &slot) in self.running.iter().enumerate() {
            let pages = self.step_pages(slot, tokens[i]);
            let req = self.reqs.get_mut(slot);
            // At most `nextn + 1` tokens: a few pages.
            req.private_pages += pages as u32;
            self.private += pages;
            kv_sum += u64::from(req.kv_len);
            kv_sq += f64::from(req.kv_len) * f64::from(req.kv_len);
        }
        let n = self.running.len() as u64;
        let shape = DecodeShape {
            sequences: self.running.len() as u32,
            context_tokens: kv_sum,
            kv_tokens_in_use: self.usage().held() * u64::from(self.page),
            kv_capacity_tokens: self.pool.capacity() * u64::from(self.page),
            tokens_per_sequence: 1,
        };
        let duration = self.config.timing.decode_time(&shape);
        let end = now + duration;
        let variance = Moments::from_sums(n, kv_sum as f64, kv_sq).var;
        self.record_fpm(n, kv_sum, variance, duration);
        let running = std::mem::take(&mut self.running);
        for (&slot, &k) in running.iter().zip(&tokens) {
            self.req_mut(slot).kv_len += k;
            if !self.emit(slot, k, end, out) {
                self.running.push(slot);
            }
        }
        self.step_tokens = tokens;
        self.ratio.decay();
        end
    }
}
