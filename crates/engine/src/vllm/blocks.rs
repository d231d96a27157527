//! KV blocks of vLLM sequences: allocation (all or nothing), materialising a decoding
//! sequence's blocks, freeing.

use super::VllmScheduler;
use super::seq::ensure_hashed;
impl VllmScheduler {
    /// Blocks this step's decodes allocate: one per sequence reaching a block boundary, plus
    /// the blocks of accepted drafts.
    pub(super) fn decode_blocks(&self) -> u64 {
        self.decode.blocks_needed(self.step) + self.draft_blocks
    }

    pub(super) fn try_allocate(&mut self, slot: u32, target: u32) -> bool {
        self.try_allocate_with(slot, target, 0)
    }

    /// Gives `slot` the blocks for its first `target` tokens if they fit next to this step's
    /// decode blocks (plus `extra` blocks of headroom); all or nothing, as vLLM V1.
    pub(super) fn try_allocate_with(&mut self, slot: u32, target: u32, extra: u64) -> bool {
        let block = self.block;
        let reserved = self.decode_blocks() + extra;
        let available = self.kv.available();
        let seq = self.seqs.get_mut(slot);
        ensure_hashed(seq, target);
        let full = (target / block) as usize;
        let partial = u64::from(!target.is_multiple_of(block));
        let cost = self
            .kv
            .plan_acquire(&seq.hashes[..full], seq.registered as usize, &seq.blocks);
        let needed = i128::from(cost.new) + i128::from(partial) - i128::from(seq.anonymous);
        let room = i128::from(available) - i128::from(cost.reactivated) - i128::from(reserved);
        let fits = needed <= room;
        if fits {
            if seq.anonymous > 0 && full > seq.registered as usize {
                self.kv.release_anonymous(u64::from(seq.anonymous));
                seq.anonymous = 0;
            }
            let _ = self.kv.acquire(
                &seq.hashes[..full],
                seq.registered as usize,
                &mut seq.blocks,
            );
            seq.registered = full as u32;
            if partial == 1 && seq.anonymous == 0 {
                let _ = self.kv.acquire_anonymous(1);
                seq.anonymous = 1;
            }
            seq.kv_len = target;
        }
        fits
    }

    /// Brings a decoding sequence's counters to step `step`, hashing and registering the
    /// blocks it filled since it was last materialised.
    pub(super) fn materialize(&mut self, slot: u32, step: u64) {
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
                .register_anonymous(&seq.hashes, seq.registered as usize, &mut seq.blocks);
            seq.anonymous -= 1;
            seq.registered += 1;
        }
    }

    /// Frees all KV of `slot`, tail first.
    pub(super) fn free_blocks(&mut self, slot: u32) {
        let seq = self.seqs.get_mut(slot);
        self.kv.release_anonymous(u64::from(seq.anonymous));
        self.kv
            .release(&seq.hashes[..seq.registered as usize], &mut seq.blocks);
        seq.anonymous = 0;
        seq.registered = 0;
        seq.kv_len = 0;
    }
}
