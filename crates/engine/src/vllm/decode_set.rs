//! The decode-phase sequences of a vLLM-style engine, kept as aggregates.
//!
//! Every decode step advances *every* decoding sequence by one token. Instead of touching
//! each sequence, the set keeps what the step needs in O(1):
//!
//! * `phase[k]`: how many sequences need a new KV block at steps `s ≡ k (mod B)` — a sequence
//!   whose KV length is `c` at step `s0` needs a block at step `s + 1` iff `c + (s − s0) ≡ 0
//!   (mod B)`, a fixed residue of `s`;
//! * the sums of `c − s0` and its square, from which the total and the variance of the KV
//!   lengths at any step follow;
//! * a min-heap of completion steps (lazily invalidated by an epoch counter).
//!
//! Per-sequence counters are materialised only when a sequence leaves the set (completion,
//! preemption): that is what makes a decode step cost the same for 8 or 256 sequences.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Aggregates over the decoding sequences.
#[derive(Clone, Debug)]
pub(crate) struct DecodeSet {
    block_size: u64,
    phase: Vec<u32>,
    count: u64,
    sum_offset: i128,
    sum_offset_sq: i128,
    /// `(finish step, admission order, slot, epoch)`.
    finish: BinaryHeap<Reverse<(u64, u64, u32, u32)>>,
}

/// A sequence's identity in the set.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) slot: u32,
    pub(crate) epoch: u32,
    pub(crate) order: u64,
}

impl DecodeSet {
    pub(crate) fn new(block_size: u32) -> Self {
        DecodeSet {
            block_size: u64::from(block_size),
            phase: vec![0; block_size as usize],
            count: 0,
            sum_offset: 0,
            sum_offset_sq: 0,
            finish: BinaryHeap::new(),
        }
    }

    fn phase_key(&self, step: u64, kv_len: u32) -> usize {
        let b = i128::from(self.block_size);
        (i128::from(step) - i128::from(kv_len)).rem_euclid(b) as usize
    }

    /// Adds a sequence whose KV holds `kv_len` tokens at step `step` and that completes after
    /// `remaining` more steps.
    pub(crate) fn insert(&mut self, member: Member, step: u64, kv_len: u32, remaining: u32) {
        let key = self.phase_key(step, kv_len);
        self.phase[key] += 1;
        self.count += 1;
        let offset = i128::from(kv_len) - i128::from(step);
        self.sum_offset += offset;
        self.sum_offset_sq += offset * offset;
        self.finish.push(Reverse((
            step + u64::from(remaining),
            member.order,
            member.slot,
            member.epoch,
        )));
    }

    /// Removes a sequence whose KV holds `kv_len` tokens at step `step` (its heap entry is
    /// invalidated by the caller bumping the sequence's epoch).
    pub(crate) fn remove(&mut self, step: u64, kv_len: u32) {
        let key = self.phase_key(step, kv_len);
        self.phase[key] -= 1;
        self.count -= 1;
        let offset = i128::from(kv_len) - i128::from(step);
        self.sum_offset -= offset;
        self.sum_offset_sq -= offset * offset;
    }

    /// A sequence whose KV holds `kv_len` tokens at step `step` jumps `extra` tokens ahead
    /// (drafts accepted by speculative decoding). Its completion entry is left as it was:
    /// with speculation on, the scheduler detects completions itself (see the module docs of
    /// the scheduler).
    pub(crate) fn shift(&mut self, step: u64, kv_len: u32, extra: u32) {
        let (from, to) = (
            self.phase_key(step, kv_len),
            self.phase_key(step, kv_len + extra),
        );
        self.phase[from] -= 1;
        self.phase[to] += 1;
        let offset = i128::from(kv_len) - i128::from(step);
        let shifted = offset + i128::from(extra);
        self.sum_offset += i128::from(extra);
        self.sum_offset_sq += shifted * shifted - offset * offset;
    }

    /// Blocks the step after `step` must allocate.
    pub(crate) fn blocks_needed(&self, step: u64) -> u64 {
        u64::from(self.phase[(step % self.block_size) as usize])
    }

    /// Number of decoding sequences.
    pub(crate) fn len(&self) -> u64 {
        self.count
    }

    /// Sum of the KV lengths at `step`.
    pub(crate) fn kv_sum(&self, step: u64) -> u64 {
        let total = self.sum_offset + i128::from(self.count) * i128::from(step);
        u64::try_from(total).unwrap_or(0)
    }

    /// Population variance of the KV lengths (the same at every step: all grow together).
    pub(crate) fn kv_variance(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        // Variance is shift-invariant: the offsets have the same variance as the lengths.
        let n = self.count as f64;
        let mean = to_f64(self.sum_offset) / n;
        (to_f64(self.sum_offset_sq) / n - mean * mean).max(0.0)
    }

    /// Pops the next sequence completing at or before `step`, skipping stale entries.
    pub(crate) fn pop_finished(
        &mut self,
        step: u64,
        is_current: impl Fn(u32, u32) -> bool,
    ) -> Option<u32> {
        while let Some(Reverse((at, _, slot, epoch))) = self.finish.peek().copied() {
            if !is_current(slot, epoch) {
                self.finish.pop();
                continue;
            }
            if at > step {
                return None;
            }
            self.finish.pop();
            return Some(slot);
        }
        None
    }
}

/// `value` as the nearest `f64`, through `i64` when it fits: the same value, without the
/// slow software conversion of a 128-bit integer (this runs once per pass).
fn to_f64(value: i128) -> f64 {
    match i64::try_from(value) {
        Ok(v) => v as f64,
        Err(_) => wide_to_f64(value),
    }
}

/// The software conversion, out of line so that the compiler does not compute it on the
/// common path too and select.
#[cold]
#[inline(never)]
fn wide_to_f64(value: i128) -> f64 {
    value as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_predict_block_boundaries() {
        let mut set = DecodeSet::new(4);
        let m = |slot| Member {
            slot,
            epoch: 0,
            order: u64::from(slot),
        };
        // At step 10: lengths 8 (needs a block next step), 9, 10, 11.
        for (slot, len) in [(0, 8), (1, 9), (2, 10), (3, 11)] {
            set.insert(m(slot), 10, len, 100);
        }
        assert_eq!(set.blocks_needed(10), 1);
        // Step 11: lengths 9..12 → only 12 is at a boundary.
        assert_eq!(set.blocks_needed(11), 1);
        assert_eq!(set.kv_sum(10), 38);
        assert_eq!(set.kv_sum(12), 46);
        assert!((set.kv_variance() - 1.25).abs() < 1e-12);
        set.remove(10, 8);
        assert_eq!(set.blocks_needed(10), 0);
        assert_eq!(set.len(), 3);
        // Length 9 jumps 3 tokens to 12: at a boundary next step, the sum grows by 3.
        set.shift(10, 9, 3);
        assert_eq!(set.blocks_needed(10), 1);
        assert_eq!(set.kv_sum(10), 33);
        // Lengths 12, 10, 11: population variance 2/3.
        assert!((set.kv_variance() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn finish_heap_skips_stale_entries() {
        let mut set = DecodeSet::new(4);
        set.insert(
            Member {
                slot: 0,
                epoch: 0,
                order: 0,
            },
            0,
            5,
            3,
        );
        set.insert(
            Member {
                slot: 1,
                epoch: 0,
                order: 1,
            },
            0,
            5,
            2,
        );
        let current = |slot: u32, epoch: u32| !(slot == 1 && epoch == 0);
        assert_eq!(set.pop_finished(2, current), None);
        assert_eq!(set.pop_finished(3, current), Some(0));
    }
}
