//! Prefill admission: which requests a prefill pass takes, and how many prompt tokens each,
//! under SGLang's three budgets.
//!
//! * **Total tokens**: the pool's free and evictable tokens, less what is already promised —
//!   for every running request `min(remaining output, clip_max_new_tokens) × new_token_ratio`,
//!   for every request admitted in this pass its new prompt tokens (whole pages) plus its
//!   clipped output. A request is admitted only if its new prompt tokens plus its clipped
//!   output stay *below* what is left, checked again after its cached prefix is locked (the
//!   lock makes that prefix unevictable).
//! * **Input tokens** (`max_prefill_tokens`): a request whose new tokens reach what is left
//!   waits for the next pass — unless it is the first of the batch.
//! * **Chunk tokens** (`chunked_prefill_size`): a request with more new tokens than are left
//!   is truncated to whole pages and finished over the next passes, ahead of anyone else.
//! * **Requests** (`max_running_requests`, the engine's `max_num_seqs`): the running batch
//!   with this pass's admissions never exceeds it.
//!
//! `new_token_ratio` is the [`NewTokenRatio`](super::ratio::NewTokenRatio) of the engine.

use servesim_perf::PrefillChunk;

use super::SglangScheduler;
use super::policy;
use super::req::State;
use crate::config::{SchedulePolicy, WorkerType};

/// What is left of one prefill pass's budgets.
#[derive(Copy, Clone, Debug)]
struct Budget {
    /// Tokens promised: running requests' reserved output and this pass's admissions.
    promised: f64,
    input: i64,
    chunk: i64,
}

impl SglangScheduler {
    /// Tokens whole pages of `tokens` occupy.
    fn page_aligned(&self, tokens: u32) -> u32 {
        self.pages_for(tokens) * self.page
    }

    /// Total tokens left: free and evictable, less what is promised.
    fn tokens_left(&self, budget: &Budget) -> f64 {
        (self.pool.available(&self.cache) * u64::from(self.page)) as f64 - budget.promised
    }

    /// Output tokens reserved for a request.
    fn clipped_output(&self, slot: u32) -> u32 {
        self.req(slot)
            .remaining()
            .min(self.opts.clip_max_new_tokens)
    }

    /// Fills this pass's prefill chunks (and, on decode workers, admits requests whose
    /// prompt KV was transferred straight into the running batch).
    pub(super) fn admit(&mut self) {
        let ratio = self.ratio.value();
        let mut budget = Budget {
            promised: self
                .running
                .iter()
                .map(|&slot| f64::from(self.clipped_output(slot)) * ratio)
                .sum(),
            input: i64::from(self.opts.max_prefill_tokens),
            chunk: i64::from(self.opts.chunked_prefill_size),
        };
        if let Some(slot) = self.chunked {
            self.continue_chunk(slot, &mut budget);
        }
        if self.opts.schedule_policy == SchedulePolicy::Lpm {
            policy::order_lpm(&mut self.waiting, &self.reqs, &self.cache, self.page);
        }
        let max_running = self.config.max_running() as usize;
        while let Some(&slot) = self.waiting.front() {
            // `max_running_requests` bounds the running batch with this pass's admissions.
            if self.running.len() + usize::from(self.chunked.is_some()) >= max_running {
                break;
            }
            if !self.try_admit(slot, &mut budget)
                || self.tokens_left(&budget) <= 0.0
                || budget.input <= 0
                || budget.chunk <= 0
            {
                break;
            }
        }
    }

    /// Allocates `pages` pages for `slot`; on failure resets the ratio.
    fn allocate_for(&mut self, slot: u32, pages: u32) -> bool {
        if self
            .pool
            .allocate(&mut self.cache, u64::from(pages))
            .is_err()
        {
            self.ratio.reset();
            return false;
        }
        self.req_mut(slot).private_pages += pages;
        self.private += u64::from(pages);
        true
    }

    /// Schedules `chunk` new prompt tokens of `slot` after its `kv_len` in this pass.
    fn push_chunk(&mut self, slot: u32, chunk: u32, output_reserve: u32, budget: &mut Budget) {
        let charged = self.page_aligned(chunk);
        budget.promised += f64::from(charged + output_reserve);
        budget.input -= i64::from(charged);
        budget.chunk -= i64::from(charged);
        let req = self.req_mut(slot);
        req.state = State::Prefilling;
        let context_tokens = req.kv_len;
        self.chunks.push(PrefillChunk {
            new_tokens: chunk,
            context_tokens,
        });
        self.chunk_slots.push(slot);
    }

    /// The next chunk of the prompt being chunked, as large as the chunk and total budgets
    /// allow (whole pages unless it is the last).
    fn continue_chunk(&mut self, slot: u32, budget: &mut Budget) {
        let req = self.req(slot);
        let (kv_len, extend) = (req.kv_len, req.seq_len() - req.kv_len);
        let room = (budget.chunk as f64)
            .min(self.tokens_left(budget).floor())
            .max(0.0) as u32;
        let (chunk, reserve) = if extend <= room {
            (extend, self.clipped_output(slot))
        } else {
            (room / self.page * self.page, 0)
        };
        let pages = self.pages_for(kv_len + chunk) - self.pages_for(kv_len);
        if chunk > 0 && self.allocate_for(slot, pages) {
            self.push_chunk(slot, chunk, reserve, budget);
            if chunk == extend {
                // The last chunk: another prompt may start chunking in this pass.
                self.chunked = None;
            }
        }
    }

    /// Tries to admit the waiting head `slot`; `false` when admission stops.
    fn try_admit(&mut self, slot: u32, budget: &mut Budget) -> bool {
        let page = self.page;
        let req = self.reqs.get_mut(slot);
        // A decode worker receives a new request's prompt KV by transfer; a retracted one is
        // recomputed like anywhere else.
        let transferred = self.config.worker_type == WorkerType::Decode && req.reused.is_none();
        let seq_len = req.seq_len();
        // At least one token is computed, to produce logits.
        let matchable = if transferred {
            req.input_tokens() / page
        } else {
            (seq_len - 1) / page
        };
        let (node, matched) = self.cache.match_prefix(req.pages(matchable, page));
        let matched = matched as u32;
        let prefix = matched * page;
        let extend = seq_len - prefix;
        let reserve = self.clipped_output(slot);
        let total = f64::from(extend + reserve);
        if total >= self.tokens_left(budget) {
            return false;
        }
        self.cache.lock(node);
        let charged = self.page_aligned(extend);
        let chunk = if total >= self.tokens_left(budget) {
            None
        } else if transferred {
            Some(0)
        } else if i64::from(charged) >= budget.input && !self.chunks.is_empty() {
            None
        } else if i64::from(charged) <= budget.chunk {
            Some(extend)
        } else if self.chunked.is_none() && budget.chunk >= i64::from(page) {
            Some(budget.chunk as u32 / page * page)
        } else {
            None
        };
        let target = match chunk {
            Some(0) => seq_len,
            Some(chunk) => prefix + chunk,
            None => {
                self.cache.unlock(node);
                return false;
            }
        };
        if !self.allocate_for_admission(slot, node, matched, target) {
            self.cache.unlock(node);
            return false;
        }
        self.waiting.pop_front();
        let order = self.next_order;
        self.next_order += 1;
        let req = self.req_mut(slot);
        req.order = order;
        let first_admission = req.reused.is_none();
        req.reused
            .get_or_insert(if transferred { 0 } else { prefix });
        if first_admission {
            self.queued_new.remove(self.req(slot).input_tokens());
        } else {
            self.queued_retracted.remove(seq_len);
        }
        match chunk {
            Some(0) => {
                budget.promised += f64::from(charged + reserve);
                let req = self.req_mut(slot);
                req.kv_len = seq_len;
                req.state = State::Running;
                self.running.push(slot);
                self.cache_prefix(slot);
            }
            Some(chunk) => {
                let truncated = chunk < extend;
                self.push_chunk(slot, chunk, if truncated { 0 } else { reserve }, budget);
                if truncated {
                    self.chunked = Some(slot);
                }
            }
            None => {}
        }
        true
    }

    /// Gives `slot` its matched prefix (locked at `node`) and private pages up to `target`
    /// tokens of KV.
    fn allocate_for_admission(
        &mut self,
        slot: u32,
        node: super::RadixNode,
        matched: u32,
        target: u32,
    ) -> bool {
        let pages = self.pages_for(target) - matched;
        if !self.allocate_for(slot, pages) {
            return false;
        }
        let page = self.page;
        let req = self.req_mut(slot);
        req.node = node;
        req.cached_pages = matched;
        req.kv_len = matched * page;
        true
    }
}
