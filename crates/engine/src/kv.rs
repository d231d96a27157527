//! Paged KV cache with prefix caching: reference-counted blocks and an LRU pool.
//!
//! A block is either
//!
//! * **registered**: a full block known by its chained [`BlockHash`]; it is *active* while
//!   some sequence holds it (reference count > 0) and *inactive* (cached, evictable) after;
//! * **anonymous**: held by one sequence without a hash — a partial last block, or a decode
//!   block whose hash the engine has not computed yet (see the scheduler's lazy decode).
//!
//! `active + inactive + anonymous ≤ capacity`. Inactive blocks form an LRU list: a finished
//! sequence releases its blocks tail first, so the deepest blocks become least recently used
//! and shared prefixes survive longest. Allocation evicts the LRU inactive block when no
//! block is free. Every operation is O(1) (hash lookups, list splicing); a prefix lookup is
//! O(blocks matched).
//!
//! With events enabled, the cache records [`KvEvent`]s — blocks stored (with their parent)
//! and removed — for a prefix-aware router.

use std::num::NonZeroU32;

use servesim_trace::{BlockHash, BlockMap, SimTime};

/// A change of the set of registered blocks, as seen by a prefix-aware router.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KvEvent {
    /// A block became registered (cached) on this worker.
    Stored {
        /// The block.
        hash: BlockHash,
        /// The block before it in its sequence (`None` for a first block).
        parent: Option<BlockHash>,
    },
    /// A block was evicted from this worker.
    Removed {
        /// The block.
        hash: BlockHash,
    },
}

/// The KV events a cache records while a prefix-aware router listens (off by default).
///
/// A router may index blocks coarser than the engine's: at a **stride** of `n` only the
/// blocks at 1-based positions `n, 2n, …` of their sequence are reported, each with the
/// reported block `n` positions earlier as its parent. Block hashes are chained, so the
/// `n`-th block's hash names its whole prefix, and the router sees exactly the blocks of
/// `n × block_size` tokens it would have seen from an engine with that block size. This is
/// what keeps a router affordable over one-token SGLang pages.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventLog(Option<Recording>);

#[derive(Clone, Debug)]
struct Recording {
    events: Vec<KvEvent>,
    stride: usize,
}

impl Recording {
    fn reports(&self, position: usize) -> bool {
        (position + 1).is_multiple_of(self.stride)
    }
}

impl EventLog {
    /// Starts recording every `stride`-th block (empty), or stops with `None`.
    pub(crate) fn record(&mut self, stride: Option<NonZeroU32>) {
        self.0 = stride.map(|n| Recording {
            events: Vec::new(),
            stride: n.get() as usize,
        });
    }

    /// Block `position` (0-based) of `sequence` was stored.
    pub(crate) fn stored(&mut self, sequence: &[BlockHash], position: usize) {
        if let Some(log) = &mut self.0
            && log.reports(position)
        {
            let parent = position.checked_sub(log.stride).map(|p| sequence[p]);
            log.events.push(KvEvent::Stored {
                hash: sequence[position],
                parent,
            });
        }
    }

    /// Block `hash`, at `position` (0-based) of its sequence, was evicted.
    pub(crate) fn removed(&mut self, hash: BlockHash, position: usize) {
        if let Some(log) = &mut self.0
            && log.reports(position)
        {
            log.events.push(KvEvent::Removed { hash });
        }
    }

    /// Moves the recorded events to `out`, stamped with `at`.
    pub(crate) fn drain(&mut self, at: SimTime, out: &mut Vec<(SimTime, KvEvent)>) {
        if let Some(log) = &mut self.0 {
            out.extend(log.events.drain(..).map(|e| (at, e)));
        }
    }
}

const NIL: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Slot {
    hash: BlockHash,
    /// Index of the block in its sequence (for strided events).
    position: u32,
    refs: u32,
    prev: u32,
    next: u32,
}

/// Where a registered block is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Residency {
    /// Held by at least one sequence.
    Active,
    /// Cached, evictable.
    Inactive,
}

/// What acquiring a list of hashes would take.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AcquireCost {
    /// Hashes not present: each needs a block.
    pub new: u64,
    /// Hashes present but inactive: reactivating them shrinks the evictable pool.
    pub reactivated: u64,
}

/// Block counts of a cache.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct KvUsage {
    /// Capacity in blocks.
    pub capacity: u64,
    /// Registered blocks held by sequences.
    pub active: u64,
    /// Registered blocks cached but unused.
    pub inactive: u64,
    /// Blocks held without a hash.
    pub anonymous: u64,
}

impl KvUsage {
    /// Blocks held by sequences.
    pub fn held(&self) -> u64 {
        self.active + self.anonymous
    }
    /// Blocks neither held nor cached.
    pub fn free(&self) -> u64 {
        self.capacity - self.active - self.inactive - self.anonymous
    }
}

/// The KV block manager of one worker.
#[derive(Clone, Debug)]
pub struct KvCache {
    capacity: u64,
    slots: Vec<Slot>,
    index: BlockMap<u32>,
    free_slots: Vec<u32>,
    lru_head: u32,
    lru_tail: u32,
    active: u64,
    inactive: u64,
    anonymous: u64,
    events: EventLog,
}

/// Allocation failed: not enough free or evictable blocks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OutOfBlocks;

impl KvCache {
    /// An empty cache of `capacity` blocks.
    pub fn new(capacity: u64) -> Self {
        // Registered blocks never exceed the capacity: size the index once, up to a bound.
        let expected = usize::try_from(capacity.min(1 << 20)).unwrap_or(1 << 20);
        KvCache {
            capacity,
            slots: Vec::with_capacity(expected),
            index: BlockMap::with_capacity_and_hasher(expected, Default::default()),
            free_slots: Vec::new(),
            lru_head: NIL,
            lru_tail: NIL,
            active: 0,
            inactive: 0,
            anonymous: 0,
            events: EventLog::default(),
        }
    }

    /// Starts recording [`KvEvent`]s of every `stride`-th block, or stops with `None` (off by
    /// default: only a prefix-aware router needs them).
    pub fn record_events(&mut self, stride: Option<NonZeroU32>) {
        self.events.record(stride);
    }

    /// Moves the recorded events to `out`, stamped with `at`.
    pub fn drain_events(&mut self, at: SimTime, out: &mut Vec<(SimTime, KvEvent)>) {
        self.events.drain(at, out);
    }

    /// Current block counts.
    pub fn usage(&self) -> KvUsage {
        KvUsage {
            capacity: self.capacity,
            active: self.active,
            inactive: self.inactive,
            anonymous: self.anonymous,
        }
    }

    /// Blocks an allocation can obtain: free ones plus evictable ones.
    pub fn available(&self) -> u64 {
        self.capacity - self.active - self.anonymous
    }

    /// Where `hash` is, if registered.
    pub fn residency(&self, hash: BlockHash) -> Option<Residency> {
        self.index.get(&hash).map(|&i| {
            if self.slots[i as usize].refs > 0 {
                Residency::Active
            } else {
                Residency::Inactive
            }
        })
    }

    /// Number of leading `hashes` registered (active or inactive): the cached prefix.
    pub fn prefix_len(&self, hashes: &[BlockHash]) -> usize {
        hashes
            .iter()
            .take_while(|h| self.index.contains_key(h))
            .count()
    }

    /// What acquiring all of `hashes` would take.
    pub fn acquire_cost(&self, hashes: &[BlockHash]) -> AcquireCost {
        let mut cost = AcquireCost::default();
        for hash in hashes {
            match self.residency(*hash) {
                None => cost.new += 1,
                Some(Residency::Inactive) => cost.reactivated += 1,
                Some(Residency::Active) => {}
            }
        }
        cost
    }

    /// Acquires the blocks `sequence[from..]` (block `i` of the sequence has parent
    /// `sequence[i - 1]`). Present blocks are taken first, then absent ones are inserted, so
    /// that an insertion never evicts a block this very call is about to reuse. The caller
    /// checks feasibility with [`acquire_cost`](Self::acquire_cost) first; on failure nothing
    /// is rolled back.
    pub fn acquire(&mut self, sequence: &[BlockHash], from: usize) -> Result<(), OutOfBlocks> {
        let mut absent = Vec::new();
        for (position, hash) in sequence.iter().enumerate().skip(from) {
            match self.index.get(hash) {
                Some(&slot) => self.add_ref(slot),
                None => absent.push(position),
            }
        }
        for position in absent {
            self.insert(sequence, position)?;
        }
        Ok(())
    }

    /// Releases one reference to each of `hashes`, **last first**, so that deeper blocks
    /// become evictable before their prefixes.
    pub fn release(&mut self, hashes: &[BlockHash]) {
        for hash in hashes.iter().rev() {
            if let Some(&slot) = self.index.get(hash) {
                let s = &mut self.slots[slot as usize];
                s.refs = s.refs.saturating_sub(1);
                if s.refs == 0 {
                    self.active -= 1;
                    self.inactive += 1;
                    self.push_lru(slot);
                }
            }
        }
    }

    /// Takes `n` anonymous blocks, evicting LRU inactive blocks as needed.
    pub fn acquire_anonymous(&mut self, n: u64) -> Result<(), OutOfBlocks> {
        if n > self.available() {
            return Err(OutOfBlocks);
        }
        while self.usage().free() < n {
            self.evict_lru();
        }
        self.anonymous += n;
        Ok(())
    }

    /// Returns `n` anonymous blocks.
    pub fn release_anonymous(&mut self, n: u64) {
        self.anonymous = self.anonymous.saturating_sub(n);
    }

    /// Turns one anonymous block into the registered block `sequence[position]`: if an equal
    /// block is already registered the anonymous block is freed and the existing one is
    /// shared.
    pub fn register_anonymous(&mut self, sequence: &[BlockHash], position: usize) {
        self.anonymous = self.anonymous.saturating_sub(1);
        match self.index.get(&sequence[position]) {
            Some(&slot) => self.add_ref(slot),
            // A block was just freed, so insertion cannot fail.
            None => {
                let _ = self.insert(sequence, position);
            }
        }
    }

    fn add_ref(&mut self, slot: u32) {
        if self.slots[slot as usize].refs == 0 {
            self.unlink_lru(slot);
            self.inactive -= 1;
            self.active += 1;
        }
        self.slots[slot as usize].refs += 1;
    }

    fn insert(&mut self, sequence: &[BlockHash], position: usize) -> Result<(), OutOfBlocks> {
        let hash = sequence[position];
        if self.usage().free() == 0 {
            if self.inactive == 0 {
                return Err(OutOfBlocks);
            }
            self.evict_lru();
        }
        let slot = Slot {
            hash,
            position: position as u32,
            refs: 1,
            prev: NIL,
            next: NIL,
        };
        let index = match self.free_slots.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(hash, index);
        self.active += 1;
        self.events.stored(sequence, position);
        Ok(())
    }

    fn evict_lru(&mut self) {
        let slot = self.lru_head;
        if slot == NIL {
            return;
        }
        self.unlink_lru(slot);
        let Slot { hash, position, .. } = self.slots[slot as usize];
        self.index.remove(&hash);
        self.free_slots.push(slot);
        self.inactive -= 1;
        self.events.removed(hash, position as usize);
    }

    fn push_lru(&mut self, slot: u32) {
        let tail = self.lru_tail;
        {
            let s = &mut self.slots[slot as usize];
            s.prev = tail;
            s.next = NIL;
        }
        if tail == NIL {
            self.lru_head = slot;
        } else {
            self.slots[tail as usize].next = slot;
        }
        self.lru_tail = slot;
    }

    fn unlink_lru(&mut self, slot: u32) {
        let (prev, next) = {
            let s = &self.slots[slot as usize];
            (s.prev, s.next)
        };
        if prev == NIL {
            self.lru_head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.lru_tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        let s = &mut self.slots[slot as usize];
        s.prev = NIL;
        s.next = NIL;
    }

    /// Checks the internal invariants (for tests): counts match the slots, the LRU list holds
    /// exactly the inactive blocks, capacity is respected.
    pub fn check_invariants(&self) -> Result<(), String> {
        let registered = self.index.len() as u64;
        if registered != self.active + self.inactive {
            return Err(format!(
                "index {registered} ≠ active {} + inactive {}",
                self.active, self.inactive
            ));
        }
        if self.active + self.inactive + self.anonymous > self.capacity {
            return Err(format!("usage {:?} over capacity", self.usage()));
        }
        let mut lru = 0u64;
        let mut cursor = self.lru_head;
        let mut prev = NIL;
        while cursor != NIL {
            let s = &self.slots[cursor as usize];
            if s.refs != 0 || s.prev != prev {
                return Err("LRU list holds an active or mislinked block".to_owned());
            }
            lru += 1;
            prev = cursor;
            cursor = s.next;
        }
        if lru != self.inactive || prev != self.lru_tail {
            return Err(format!(
                "LRU list has {lru} blocks, inactive count is {}",
                self.inactive
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u64) -> BlockHash {
        BlockHash(n)
    }

    #[test]
    fn refcounts_and_reactivation() {
        let mut kv = KvCache::new(4);
        kv.acquire(&[h(1), h(2)], 0).unwrap();
        kv.acquire(&[h(1)], 0).unwrap();
        assert_eq!(
            kv.usage(),
            KvUsage {
                capacity: 4,
                active: 2,
                inactive: 0,
                anonymous: 0
            }
        );
        kv.release(&[h(1), h(2)]);
        assert_eq!(kv.residency(h(1)), Some(Residency::Active));
        assert_eq!(kv.residency(h(2)), Some(Residency::Inactive));
        assert_eq!(kv.prefix_len(&[h(1), h(2), h(3)]), 2);
        kv.acquire(&[h(2)], 0).unwrap();
        assert_eq!(kv.usage().inactive, 0);
        kv.check_invariants().unwrap();
    }

    #[test]
    fn tail_first_release_evicts_deep_blocks_first() {
        let mut kv = KvCache::new(3);
        kv.record_events(NonZeroU32::new(1));
        kv.acquire(&[h(1), h(2), h(3)], 0).unwrap();
        kv.release(&[h(1), h(2), h(3)]);
        // LRU order is now 3, 2, 1: a new block evicts the deepest one.
        kv.acquire(&[h(9)], 0).unwrap();
        assert_eq!(kv.prefix_len(&[h(1), h(2), h(3)]), 2);
        let mut stamped = Vec::new();
        kv.drain_events(SimTime::from_micros(3), &mut stamped);
        assert!(stamped.iter().all(|(t, _)| *t == SimTime::from_micros(3)));
        let events: Vec<KvEvent> = stamped.into_iter().map(|(_, e)| e).collect();
        assert_eq!(events.len(), 5);
        assert_eq!(
            events[1],
            KvEvent::Stored {
                hash: h(2),
                parent: Some(h(1))
            }
        );
        assert_eq!(events[3], KvEvent::Removed { hash: h(3) });
        assert_eq!(
            events[4],
            KvEvent::Stored {
                hash: h(9),
                parent: None
            }
        );
        kv.check_invariants().unwrap();
    }

    #[test]
    fn strided_events_report_every_nth_block_chained_to_the_nth_before() {
        let mut kv = KvCache::new(5);
        kv.record_events(NonZeroU32::new(2));
        let sequence = [h(1), h(2), h(3), h(4), h(5)];
        kv.acquire(&sequence, 0).unwrap();
        kv.release(&sequence);
        // Evicts 5 (position 4, unreported), then 4 (position 3, reported).
        kv.acquire(&[h(8), h(9)], 0).unwrap();
        let mut stamped = Vec::new();
        kv.drain_events(SimTime::ZERO, &mut stamped);
        let events: Vec<KvEvent> = stamped.into_iter().map(|(_, e)| e).collect();
        let stored = |hash, parent| KvEvent::Stored { hash, parent };
        assert_eq!(
            events,
            vec![
                stored(h(2), None),
                stored(h(4), Some(h(2))),
                KvEvent::Removed { hash: h(4) },
                stored(h(9), None),
            ]
        );
    }

    #[test]
    fn acquisition_never_evicts_what_it_reuses() {
        let mut kv = KvCache::new(3);
        kv.acquire(&[h(1), h(2), h(3)], 0).unwrap();
        kv.release(&[h(1), h(2), h(3)]);
        // 3 is the LRU head, but the call reuses it: the new block 4 must evict 2 instead.
        let cost = kv.acquire_cost(&[h(4), h(3)]);
        assert_eq!(
            cost,
            AcquireCost {
                new: 1,
                reactivated: 1
            }
        );
        kv.acquire(&[h(4), h(3)], 0).unwrap();
        assert_eq!(kv.residency(h(3)), Some(Residency::Active));
        assert_eq!(kv.residency(h(2)), None);
        kv.check_invariants().unwrap();
    }

    #[test]
    fn anonymous_blocks_count_and_register() {
        let mut kv = KvCache::new(2);
        kv.acquire_anonymous(2).unwrap();
        assert_eq!(kv.acquire_anonymous(1), Err(OutOfBlocks));
        kv.register_anonymous(&[h(5)], 0);
        assert_eq!(
            kv.usage(),
            KvUsage {
                capacity: 2,
                active: 1,
                inactive: 0,
                anonymous: 1
            }
        );
        // Registering a hash that already exists shares it and frees the anonymous block.
        kv.register_anonymous(&[h(5)], 0);
        assert_eq!(
            kv.usage(),
            KvUsage {
                capacity: 2,
                active: 1,
                inactive: 0,
                anonymous: 0
            }
        );
        assert_eq!(kv.available(), 1);
        kv.check_invariants().unwrap();
    }

    #[test]
    fn full_cache_fails_cleanly() {
        let mut kv = KvCache::new(1);
        kv.acquire(&[h(1)], 0).unwrap();
        assert_eq!(kv.acquire(&[h(2)], 0), Err(OutOfBlocks));
        kv.check_invariants().unwrap();
    }
}
