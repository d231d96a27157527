//! Acquisition in two steps: one lookup pass that finds every block and prices the whole
//! acquisition, then the acquisition itself from what the pass found — so that a scheduler
//! checking "does it fit?" before acquiring looks each block up once, not twice.

use std::ops::Range;

use servesim_trace::BlockHash;

use super::{AcquireCost, KvCache, NIL, OutOfBlocks, SeqBlocks};

/// What one lookup pass over blocks `from..` of a sequence found.
#[derive(Clone, Debug, Default)]
pub(super) struct Plan {
    /// First shared position planned.
    from: usize,
    /// Per shared position from `from`: the slot holding it, or `NIL` if absent.
    shared: Vec<u32>,
    /// Private pieces cached in a run of the sequence.
    cached: Vec<(u32, Range<usize>)>,
    /// Private pieces cached nowhere.
    gaps: Vec<Range<usize>>,
    cost: AcquireCost,
    /// What the plan is for: sequence address and length, first block, `SeqBlocks` address
    /// and the cache version it was made at.
    made_for: Option<(usize, usize, usize, usize, u64)>,
}

impl Plan {
    /// What acquiring the planned blocks takes.
    pub(super) fn cost(&self) -> AcquireCost {
        self.cost
    }
}

impl KvCache {
    /// Looks blocks `sequence[from..]` of `seq` up into `plan` and prices them.
    pub(super) fn fill_plan(
        &self,
        sequence: &[BlockHash],
        from: usize,
        seq: &SeqBlocks,
        plan: &mut Plan,
    ) {
        plan.shared.clear();
        plan.cached.clear();
        plan.gaps.clear();
        let mut cost = AcquireCost::default();
        let (shared, private) = seq.split(from, sequence.len());
        plan.from = shared.start;
        for &hash in &sequence[shared] {
            match self.find(hash) {
                None => {
                    cost.new += 1;
                    plan.shared.push(NIL);
                }
                Some(slot) => {
                    cost.reactivated += u64::from(self.slots[slot as usize].count == 0);
                    plan.shared.push(slot);
                }
            }
        }
        self.private_segments(seq, private, |blocks, run| match run {
            None => {
                cost.new += blocks.len() as u64;
                plan.gaps.push(blocks);
            }
            Some(run) => {
                if self.slots[run as usize].evictable() {
                    cost.reactivated += blocks.len() as u64;
                }
                plan.cached.push((run, blocks));
            }
        });
        plan.cost = cost;
        plan.made_for = Some(Self::plan_key(sequence, from, seq, self.version));
    }

    fn plan_key(
        sequence: &[BlockHash],
        from: usize,
        seq: &SeqBlocks,
        version: u64,
    ) -> (usize, usize, usize, usize, u64) {
        (
            sequence.as_ptr().addr(),
            sequence.len(),
            from,
            std::ptr::from_ref(seq).addr(),
            version,
        )
    }

    /// Prices acquiring blocks `sequence[from..]` of `seq` — what
    /// [`acquire_cost`](Self::acquire_cost) returns — and keeps what the lookups found, so
    /// that an [`acquire`](Self::acquire) of the same blocks right after (with nothing but
    /// [`release_anonymous`](Self::release_anonymous) in between) looks nothing up again.
    pub fn plan_acquire(
        &mut self,
        sequence: &[BlockHash],
        from: usize,
        seq: &SeqBlocks,
    ) -> AcquireCost {
        let mut plan = std::mem::take(&mut self.plan);
        self.fill_plan(sequence, from, seq, &mut plan);
        let cost = plan.cost;
        self.plan = plan;
        cost
    }

    /// Acquires the blocks `sequence[from..]` of `seq` (block `i` of the sequence has parent
    /// `sequence[i - 1]`). Present blocks are taken first, then absent ones are inserted, so
    /// that an insertion never evicts a block this very call is about to reuse. The caller
    /// checks feasibility with [`plan_acquire`](Self::plan_acquire) (or
    /// [`acquire_cost`](Self::acquire_cost)) first; on failure nothing is rolled back.
    pub fn acquire(
        &mut self,
        sequence: &[BlockHash],
        from: usize,
        seq: &mut SeqBlocks,
    ) -> Result<(), OutOfBlocks> {
        let mut plan = std::mem::take(&mut self.plan);
        if plan.made_for != Some(Self::plan_key(sequence, from, seq, self.version)) {
            self.fill_plan(sequence, from, seq, &mut plan);
        }
        self.version += 1;
        plan.made_for = None;
        let result = self.apply(sequence, seq, &plan);
        self.plan = plan;
        result
    }

    fn apply(
        &mut self,
        sequence: &[BlockHash],
        seq: &mut SeqBlocks,
        plan: &Plan,
    ) -> Result<(), OutOfBlocks> {
        for &slot in plan.shared.iter().filter(|&&slot| slot != NIL) {
            self.add_ref(slot);
        }
        for (run, blocks) in &plan.cached {
            self.reactivate(seq, *run, blocks.clone());
        }
        for (position, &slot) in (plan.from..).zip(&plan.shared) {
            let slot = if slot == NIL {
                self.insert_shared(sequence, position)
                    .inspect_err(|_| seq.held.clear())?
            } else {
                slot
            };
            seq.hold_shared(position, slot);
        }
        for blocks in &plan.gaps {
            self.insert_private(seq, blocks.clone())?;
        }
        Ok(())
    }
}
