//! Which workers hold which blocks: one set of block hashes per worker, with the reference
//! counts of the blocks held more than once beside it.
//!
//! Because block hashes are chained (a hash identifies its whole prefix), a map from hash to
//! holders answers the same questions as a radix tree: walking a prompt's hashes in order,
//! a worker's matched prefix depth is the number of leading hashes it holds. The walk costs
//! one probe per worker and depth and stops at the first hash a worker lacks.
//!
//! One map per worker rather than one map of holder lists: KV events arrive in batches of one
//! worker's pass, and a worker's set is a fraction of the whole and 8 bytes an entry, so
//! applying them stays in the CPU caches; a query probes each worker's map, but only as
//! deep as that worker matches.

use std::collections::HashSet;
use std::hash::BuildHasherDefault;

use servesim_trace::{BlockHash, BlockHashHasher, BlockMap};

/// The blocks of one worker.
#[derive(Clone, Debug, Default)]
struct WorkerBlocks {
    /// Indexed blocks: 8 bytes an entry, since most blocks have one reference.
    held: HashSet<BlockHash, BuildHasherDefault<BlockHashHasher>>,
    /// References beyond the first of the few blocks that have several.
    extra: BlockMap<u32>,
    /// Blocks counted but not indexed (no query can match them).
    unindexed: u64,
}

/// Block → reference count, per worker, with a count of distinct blocks held.
#[derive(Clone, Debug, Default)]
pub(crate) struct BlockIndex {
    workers: Vec<WorkerBlocks>,
}

impl BlockIndex {
    fn worker(&mut self, worker: u32) -> &mut WorkerBlocks {
        let i = worker as usize;
        if self.workers.len() <= i {
            self.workers.resize_with(i + 1, WorkerBlocks::default);
        }
        &mut self.workers[i]
    }

    /// Adds one reference of `worker` to `hash`; with `once`, a second add is a no-op
    /// (presence semantics for caches, counts for active requests).
    pub(crate) fn add(&mut self, hash: BlockHash, worker: u32, once: bool) {
        let blocks = self.worker(worker);
        if !blocks.held.insert(hash) && !once {
            *blocks.extra.entry(hash).or_insert(0) += 1;
        }
    }

    /// Removes one reference (or, with `all`, every reference) of `worker` to `hash`.
    pub(crate) fn remove(&mut self, hash: BlockHash, worker: u32, all: bool) {
        let Some(blocks) = self.workers.get_mut(worker as usize) else {
            return;
        };
        if !blocks.extra.is_empty()
            && let std::collections::hash_map::Entry::Occupied(mut extra) = blocks.extra.entry(hash)
        {
            if all || *extra.get() <= 1 {
                extra.remove();
            } else {
                *extra.get_mut() -= 1;
            }
            if !all {
                return;
            }
        }
        blocks.held.remove(&hash);
    }

    /// Counts `count` blocks of `worker` that no query can match (private blocks: see
    /// `servesim_engine::KvEvent::StoredPrivate`) without indexing them.
    pub(crate) fn add_unindexed(&mut self, worker: u32, count: u32) {
        self.worker(worker).unindexed += u64::from(count);
    }

    /// Uncounts `count` unindexed blocks of `worker`.
    pub(crate) fn remove_unindexed(&mut self, worker: u32, count: u32) {
        let blocks = self.worker(worker);
        blocks.unindexed = blocks.unindexed.saturating_sub(u64::from(count));
    }

    /// Distinct blocks `worker` holds.
    pub(crate) fn blocks_of(&self, worker: u32) -> u64 {
        self.workers
            .get(worker as usize)
            .map_or(0, |b| b.held.len() as u64 + b.unindexed)
    }

    /// Writes into `depths[w]` the number of leading `hashes` worker `w` holds
    /// (`depths` is resized to cover every worker seen; workers matching nothing get 0).
    pub(crate) fn prefix_depths(&self, hashes: &[BlockHash], depths: &mut Vec<u32>) {
        depths.clear();
        depths.extend(self.workers.iter().map(|blocks| {
            hashes
                .iter()
                .take_while(|&h| blocks.held.contains(h))
                .count() as u32
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u64) -> BlockHash {
        BlockHash(n)
    }

    #[test]
    fn prefix_depth_per_worker() {
        let mut index = BlockIndex::default();
        for hash in [1, 2, 3] {
            index.add(h(hash), 0, true);
        }
        for hash in [1, 2] {
            index.add(h(hash), 2, true);
        }
        index.add(h(3), 1, true); // not a prefix for worker 1: it lacks block 1
        let mut depths = Vec::new();
        index.prefix_depths(&[h(1), h(2), h(3), h(4)], &mut depths);
        assert_eq!(depths, vec![3, 0, 2]);
        assert_eq!(index.blocks_of(0), 3);
        index.remove(h(2), 0, true);
        index.prefix_depths(&[h(1), h(2), h(3)], &mut depths);
        assert_eq!(depths, vec![1, 0, 2]);
    }

    #[test]
    fn counts_and_presence() {
        let mut index = BlockIndex::default();
        index.add(h(1), 0, false);
        index.add(h(1), 0, false);
        index.add(h(1), 0, true);
        assert_eq!(index.blocks_of(0), 1);
        index.remove(h(1), 0, false);
        assert_eq!(index.blocks_of(0), 1);
        index.remove(h(1), 0, false);
        assert_eq!(index.blocks_of(0), 0);
    }
}
