//! Speculative decoding in the vLLM engine: drawing each decoding sequence's accepted drafts
//! before a step, and applying them after it.

use servesim_trace::SimTime;

use super::VllmScheduler;
use super::seq::Draft;
use crate::output::PassOutput;
impl VllmScheduler {
    /// Speculative decoding: draws every decoding sequence's accepted drafts for this step,
    /// in admission order.
    pub(super) fn draw_drafts(&mut self) {
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
    pub(super) fn drop_draft(&mut self, slot: u32) {
        if let Some(i) = self.drafts.iter().position(|d| d.slot == slot) {
            self.draft_blocks -= self.drafts[i].blocks;
            self.drafts.remove(i);
        }
    }

    /// Speculative decoding, after the step: moves every drafted sequence ahead by its
    /// accepted drafts (emitted with the step's token: zero gaps) and completes the sequences
    /// that reached their output length — their completion entries may be later than the
    /// truth once they have jumped ahead. Returns the tokens emitted beyond one per sequence.
    pub(super) fn apply_drafts(&mut self, end: SimTime, out: &mut PassOutput) -> u64 {
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
}
