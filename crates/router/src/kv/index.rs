//! Which workers hold which blocks: one map from block hash to a small sorted worker list.
//!
//! Because block hashes are chained (a hash identifies its whole prefix), a map from hash to
//! holders answers the same questions as a radix tree: walking a prompt's hashes in order,
//! a worker's matched prefix depth is the number of leading hashes it holds. The walk costs
//! one probe per depth and stops as soon as no worker matches.

use std::collections::hash_map::Entry;

use servesim_trace::{BlockHash, BlockMap};

/// `(worker, count)` pairs sorted by worker; the first one is stored inline and the rest
/// behind one pointer, because most blocks have a single holder: a heap allocation per block
/// would dominate the cost, and a wide entry would crowd the map out of the CPU caches.
#[derive(Clone, Debug, Default)]
struct Holders {
    head: Option<(u32, u32)>,
    #[expect(
        clippy::box_collection,
        reason = "one thin pointer keeps a map entry at 32 bytes; a second holder is rare"
    )]
    tail: Option<Box<Vec<(u32, u32)>>>,
}

impl Holders {
    fn tail(&self) -> &[(u32, u32)] {
        self.tail.as_deref().map_or(&[], Vec::as_slice)
    }

    fn count_mut(&mut self, worker: u32) -> Option<&mut u32> {
        match &mut self.head {
            Some((w, count)) if *w == worker => Some(count),
            _ => {
                let tail = self.tail.as_deref_mut()?;
                let i = tail.binary_search_by_key(&worker, |h| h.0).ok()?;
                Some(&mut tail[i].1)
            }
        }
    }

    fn contains(&self, worker: u32) -> bool {
        self.head.is_some_and(|h| h.0 == worker)
            || self.tail().binary_search_by_key(&worker, |h| h.0).is_ok()
    }

    fn insert(&mut self, worker: u32) {
        match self.head {
            None => self.head = Some((worker, 1)),
            Some(head) if worker < head.0 => {
                self.tail.get_or_insert_default().insert(0, head);
                self.head = Some((worker, 1));
            }
            Some(_) => {
                let tail = self.tail.get_or_insert_default();
                let i = tail
                    .binary_search_by_key(&worker, |h| h.0)
                    .unwrap_or_else(|i| i);
                tail.insert(i, (worker, 1));
            }
        }
    }

    fn remove(&mut self, worker: u32) {
        if self.head.is_some_and(|h| h.0 == worker) {
            self.head = self
                .tail
                .as_deref_mut()
                .filter(|t| !t.is_empty())
                .map(|t| t.remove(0));
        } else if let Some(tail) = self.tail.as_deref_mut()
            && let Ok(i) = tail.binary_search_by_key(&worker, |h| h.0)
        {
            tail.remove(i);
        }
        if self.tail.as_deref().is_some_and(Vec::is_empty) {
            self.tail = None;
        }
    }

    fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    fn workers(&self) -> impl Iterator<Item = u32> + '_ {
        self.head.iter().chain(self.tail()).map(|h| h.0)
    }
}

/// Block → holders, with a per-worker count of distinct blocks held.
#[derive(Clone, Debug, Default)]
pub(crate) struct BlockIndex {
    map: BlockMap<Holders>,
    blocks_per_worker: Vec<u64>,
}

impl BlockIndex {
    fn worker_slot(&mut self, worker: u32) -> &mut u64 {
        let i = worker as usize;
        if self.blocks_per_worker.len() <= i {
            self.blocks_per_worker.resize(i + 1, 0);
        }
        &mut self.blocks_per_worker[i]
    }

    /// Adds one reference of `worker` to `hash`; with `once`, a second add is a no-op
    /// (presence semantics for caches, counts for active requests).
    pub(crate) fn add(&mut self, hash: BlockHash, worker: u32, once: bool) {
        let holders = self.map.entry(hash).or_default();
        match holders.count_mut(worker) {
            Some(_) if once => return,
            Some(count) => {
                *count += 1;
                return;
            }
            None => holders.insert(worker),
        }
        *self.worker_slot(worker) += 1;
    }

    /// Removes one reference (or, with `all`, every reference) of `worker` to `hash`.
    pub(crate) fn remove(&mut self, hash: BlockHash, worker: u32, all: bool) {
        // One probe: the entry is both read and, when its last holder leaves, removed.
        let Entry::Occupied(mut entry) = self.map.entry(hash) else {
            return;
        };
        let holders = entry.get_mut();
        let Some(count) = holders.count_mut(worker) else {
            return;
        };
        if all || *count <= 1 {
            holders.remove(worker);
            if holders.is_empty() {
                entry.remove();
            }
            let slot = self.worker_slot(worker);
            *slot = slot.saturating_sub(1);
        } else {
            *count -= 1;
        }
    }

    /// Counts `count` blocks of `worker` that no query can match (private blocks: see
    /// `servesim_engine::KvEvent::StoredPrivate`) without indexing them.
    pub(crate) fn add_unindexed(&mut self, worker: u32, count: u32) {
        *self.worker_slot(worker) += u64::from(count);
    }

    /// Uncounts `count` unindexed blocks of `worker`.
    pub(crate) fn remove_unindexed(&mut self, worker: u32, count: u32) {
        let slot = self.worker_slot(worker);
        *slot = slot.saturating_sub(u64::from(count));
    }

    /// Distinct blocks `worker` holds.
    pub(crate) fn blocks_of(&self, worker: u32) -> u64 {
        self.blocks_per_worker
            .get(worker as usize)
            .copied()
            .unwrap_or(0)
    }

    /// Writes into `depths[w]` the number of leading `hashes` worker `w` holds
    /// (`depths` is resized to cover every worker seen; workers matching nothing get 0).
    pub(crate) fn prefix_depths(
        &self,
        hashes: &[BlockHash],
        depths: &mut Vec<u32>,
        scratch: &mut Vec<u32>,
    ) {
        depths.clear();
        depths.resize(self.blocks_per_worker.len(), 0);
        scratch.clear();
        let Some(first) = hashes.first().and_then(|h| self.map.get(h)) else {
            return;
        };
        scratch.extend(first.workers());
        for &w in scratch.iter() {
            depths[w as usize] = 1;
        }
        for (depth, hash) in hashes.iter().enumerate().skip(1) {
            let Some(holders) = self.map.get(hash) else {
                return;
            };
            scratch.retain(|&w| holders.contains(w));
            if scratch.is_empty() {
                return;
            }
            for &w in scratch.iter() {
                depths[w as usize] = depth as u32 + 1;
            }
        }
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
        let (mut depths, mut scratch) = (Vec::new(), Vec::new());
        index.prefix_depths(&[h(1), h(2), h(3), h(4)], &mut depths, &mut scratch);
        assert_eq!(depths, vec![3, 0, 2]);
        assert_eq!(index.blocks_of(0), 3);
        index.remove(h(2), 0, true);
        index.prefix_depths(&[h(1), h(2), h(3)], &mut depths, &mut scratch);
        assert_eq!(depths, vec![1, 0, 2]);
    }

    #[test]
    fn holders_stay_sorted() {
        let mut holders = Holders::default();
        for w in [5, 2, 9, 1, 7] {
            holders.insert(w);
        }
        assert_eq!(holders.workers().collect::<Vec<_>>(), vec![1, 2, 5, 7, 9]);
        holders.remove(1);
        holders.remove(7);
        assert_eq!(holders.workers().collect::<Vec<_>>(), vec![2, 5, 9]);
        assert!(holders.contains(9) && !holders.contains(7));
        *holders.count_mut(5).unwrap() += 2;
        assert_eq!(holders.count_mut(5).copied(), Some(3));
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
