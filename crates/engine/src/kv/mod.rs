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
//! A sequence's **private** blocks — those after the point where its content stops being
//! shared with any other request of the workload (`servesim_trace::Sharing`) — are kept out
//! of the hash index: no other sequence can ever look them up, so they cost no hashing, no
//! index entry and no per-block router event. A sequence's private blocks at consecutive
//! positions are held as one **run**: one slot, one LRU entry, however many blocks. A
//! released run ages as one LRU entry whose blocks are evicted deepest first — exactly where
//! a tail-first release would have put each block — and the owner finds what is left of it
//! through its [`SeqBlocks`] (a preempted request resuming over its own cached blocks), so
//! every hit, eviction and count is what a cache indexing every block would produce, while a
//! long unshared prompt costs O(1) to store, release and evict instead of O(blocks).
//!
//! With events enabled, the cache records [`KvEvent`]s — blocks stored (with their parent)
//! and removed, and counts of private blocks stored and removed — for a prefix-aware router.

use std::num::NonZeroU32;

use servesim_trace::{BlockHash, SimTime};

mod events;
mod index;
mod lru;
mod plan;
mod runs;

use index::SlotIndex;
use plan::Plan;

pub(crate) use events::EventLog;
pub use events::KvEvent;

const NIL: u32 = u32::MAX;

/// What a slot holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// One indexed block; `count` is its reference count.
    Shared,
    /// A run of one sequence's private blocks at positions `position..position + count`.
    Run,
}

#[derive(Clone, Debug)]
struct Slot {
    /// The block's hash (a run has none).
    hash: BlockHash,
    /// Position of the (first) block in its sequence.
    position: u32,
    /// References of a shared block; blocks of a run.
    count: u32,
    prev: u32,
    next: u32,
    /// Bumped whenever the slot is freed, so that a [`SeqBlocks`] entry naming it goes stale.
    generation: u32,
    kind: Kind,
    /// A run held by its owner (a shared block is active while referenced).
    held: bool,
}

impl Slot {
    /// Whether the slot sits in the LRU list.
    fn evictable(&self) -> bool {
        match self.kind {
            Kind::Shared => self.count == 0,
            Kind::Run => !self.held,
        }
    }
}

/// A sequence's private blocks in a [`KvCache`]: how many leading blocks may be shared
/// (those are found by hash) and the runs holding its private blocks after them, so that
/// the sequence finds its own cached blocks again after a preemption.
///
/// ```
/// use servesim_engine::{KvCache, SeqBlocks};
/// use servesim_trace::BlockHash;
/// let hashes: Vec<BlockHash> = (1..=4).map(BlockHash).collect();
/// let mut kv = KvCache::new(8);
/// let mut seq = SeqBlocks::new(2); // blocks 2 and 3 are nobody else's
/// kv.acquire(&hashes, 0, &mut seq).unwrap();
/// kv.release(&hashes, &mut seq);
/// assert_eq!(kv.prefix_len(&hashes), 2); // another request can match the shared blocks only
/// assert_eq!(kv.seq_prefix_len(&hashes, &seq), 4); // the owner finds all four
/// ```
#[derive(Clone, Debug)]
pub struct SeqBlocks {
    shared: usize,
    /// `(slot, generation)` of each run recorded for the sequence, by position; an entry
    /// whose slot was freed since is stale and ignored.
    runs: Vec<(u32, u32)>,
    /// Slots of the shared blocks the sequence holds, by position from 0, so that a release
    /// looks no hash up (left empty when acquisitions did not start where it ends).
    held: Vec<u32>,
}

impl SeqBlocks {
    /// A sequence whose first `shared_blocks` blocks may be shared (`u32::MAX`: all).
    pub fn new(shared_blocks: u32) -> Self {
        SeqBlocks {
            shared: shared_blocks as usize,
            runs: Vec::new(),
            held: Vec::new(),
        }
    }

    /// A sequence every block of which may be shared.
    pub fn all_shared() -> Self {
        SeqBlocks::new(u32::MAX)
    }

    /// Records `slot` as held for shared block `position`, or forgets every recorded slot if
    /// the acquisitions did not come in position order.
    fn hold_shared(&mut self, position: usize, slot: u32) {
        if self.held.len() == position {
            self.held.push(slot);
        } else {
            self.held.clear();
        }
    }

    /// Positions `from..to` split at the first private one: the shared part, the private part.
    fn split(&self, from: usize, to: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let boundary = self.shared.clamp(from, to.max(from));
        (from..boundary, boundary..to.max(boundary))
    }
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
    index: SlotIndex,
    free_slots: Vec<u32>,
    lru_head: u32,
    lru_tail: u32,
    active: u64,
    inactive: u64,
    anonymous: u64,
    /// Registered private blocks (active or inactive), which the index does not hold.
    private: u64,
    events: EventLog,
    /// Bumped by every change of the slots, so that a kept [`Plan`] goes stale.
    version: u64,
    /// The lookups of the last [`plan_acquire`](Self::plan_acquire).
    plan: Plan,
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
            index: SlotIndex::with_capacity(expected),
            free_slots: Vec::new(),
            lru_head: NIL,
            lru_tail: NIL,
            active: 0,
            inactive: 0,
            anonymous: 0,
            private: 0,
            events: EventLog::default(),
            version: 0,
            plan: Plan::default(),
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
        self.find(hash).map(|i| {
            if self.slots[i as usize].count > 0 {
                Residency::Active
            } else {
                Residency::Inactive
            }
        })
    }

    /// Number of leading `hashes` registered (active or inactive): the cached prefix another
    /// request finds (private blocks are nobody else's).
    pub fn prefix_len(&self, hashes: &[BlockHash]) -> usize {
        hashes
            .iter()
            .take_while(|&&h| self.find(h).is_some())
            .count()
    }

    /// Number of leading blocks of the sequence `seq` (hashes `sequence`) still cached:
    /// shared ones by hash, its private ones through `seq`.
    pub fn seq_prefix_len(&self, sequence: &[BlockHash], seq: &SeqBlocks) -> usize {
        let (shared, private) = seq.split(0, sequence.len());
        let found = self.prefix_len(&sequence[shared.clone()]);
        if found < shared.len() {
            return found;
        }
        self.private_prefix_end(seq, private)
    }

    /// What acquiring blocks `sequence[from..]` of `seq` would take.
    pub fn acquire_cost(
        &self,
        sequence: &[BlockHash],
        from: usize,
        seq: &SeqBlocks,
    ) -> AcquireCost {
        let mut plan = Plan::default();
        self.fill_plan(sequence, from, seq, &mut plan);
        plan.cost()
    }

    /// Releases one reference to each block of `sequence` held by `seq`, **last first**, so
    /// that deeper blocks become evictable before their prefixes.
    pub fn release(&mut self, sequence: &[BlockHash], seq: &mut SeqBlocks) {
        self.version += 1;
        let (shared, private) = seq.split(0, sequence.len());
        self.release_private(seq, private);
        let held = std::mem::take(&mut seq.held);
        if held.len() == shared.len() {
            held.iter().rev().for_each(|&slot| self.unref(slot));
        } else {
            for &hash in sequence[shared].iter().rev() {
                if let Some(slot) = self.find(hash) {
                    self.unref(slot);
                }
            }
        }
        seq.held = held;
        seq.held.clear();
    }

    /// Drops one reference to the shared block in `slot`; the last makes it evictable.
    fn unref(&mut self, slot: u32) {
        let s = &mut self.slots[slot as usize];
        if s.count > 0 {
            s.count -= 1;
            if s.count == 0 {
                self.active -= 1;
                self.inactive += 1;
                self.push_lru(slot);
            }
        }
    }

    /// The slot of the shared block `hash`, if registered.
    fn find(&self, hash: BlockHash) -> Option<u32> {
        let slots = &self.slots;
        self.index.get(hash, |i| slots[i as usize].hash)
    }

    /// Takes `n` anonymous blocks, evicting LRU inactive blocks as needed.
    pub fn acquire_anonymous(&mut self, n: u64) -> Result<(), OutOfBlocks> {
        self.version += 1;
        if n > self.available() {
            return Err(OutOfBlocks);
        }
        self.make_room(n);
        self.anonymous += n;
        Ok(())
    }

    /// Returns `n` anonymous blocks.
    pub fn release_anonymous(&mut self, n: u64) {
        self.anonymous = self.anonymous.saturating_sub(n);
    }

    /// Turns one anonymous block into block `position` of `seq`: if an equal block is
    /// already registered the anonymous block is freed and the existing one is shared.
    pub fn register_anonymous(
        &mut self,
        sequence: &[BlockHash],
        position: usize,
        seq: &mut SeqBlocks,
    ) {
        self.version += 1;
        self.anonymous = self.anonymous.saturating_sub(1);
        if position < seq.shared {
            let slot = match self.find(sequence[position]) {
                Some(slot) => {
                    self.add_ref(slot);
                    Some(slot)
                }
                // A block was just freed, so insertion cannot fail.
                None => self.insert_shared(sequence, position).ok(),
            };
            match slot {
                Some(slot) => seq.hold_shared(position, slot),
                None => seq.held.clear(),
            }
            return;
        }
        let mut cached = None;
        self.private_segments(seq, position..position + 1, |_, run| cached = run);
        match cached {
            Some(run) => self.reactivate(seq, run, position..position + 1),
            None => {
                let _ = self.insert_private(seq, position..position + 1);
            }
        }
    }

    fn add_ref(&mut self, slot: u32) {
        if self.slots[slot as usize].count == 0 {
            self.unlink_lru(slot);
            self.inactive -= 1;
            self.active += 1;
        }
        self.slots[slot as usize].count += 1;
    }

    /// Registers block `position` of `sequence` as a new shared block, evicting the LRU
    /// block if none is free; returns its slot.
    fn insert_shared(
        &mut self,
        sequence: &[BlockHash],
        position: usize,
    ) -> Result<u32, OutOfBlocks> {
        let hash = sequence[position];
        self.make_room(1);
        if self.usage().free() == 0 {
            return Err(OutOfBlocks);
        }
        let index = self.new_slot(Slot {
            hash,
            position: position as u32,
            count: 1,
            prev: NIL,
            next: NIL,
            generation: 0,
            kind: Kind::Shared,
            held: true,
        });
        self.active += 1;
        let slots = &self.slots;
        self.index.insert(hash, index, |i| slots[i as usize].hash);
        self.events.stored(sequence, position);
        Ok(index)
    }

    /// Puts `slot` (its generation aside) into a free slot; returns the slot.
    fn new_slot(&mut self, slot: Slot) -> u32 {
        match self.free_slots.pop() {
            Some(i) => {
                let s = &mut self.slots[i as usize];
                let generation = s.generation;
                *s = Slot { generation, ..slot };
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Frees `slot`: every [`SeqBlocks`] entry naming it goes stale.
    fn free_slot(&mut self, slot: u32) {
        let s = &mut self.slots[slot as usize];
        s.generation = s.generation.wrapping_add(1);
        s.count = 0;
        s.kind = Kind::Shared;
        self.free_slots.push(slot);
    }

    /// Checks the internal invariants (for tests): counts match the slots, the LRU list holds
    /// exactly the inactive blocks, capacity is respected.
    pub fn check_invariants(&self) -> Result<(), String> {
        let registered = self.index.len() as u64 + self.private;
        if registered != self.active + self.inactive {
            return Err(format!(
                "index {} + private {} ≠ active {} + inactive {}",
                self.index.len(),
                self.private,
                self.active,
                self.inactive
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
            if !s.evictable() || s.prev != prev || (s.kind == Kind::Run && s.count == 0) {
                return Err("LRU list holds an active, empty or mislinked slot".to_owned());
            }
            lru += match s.kind {
                Kind::Shared => 1,
                Kind::Run => u64::from(s.count),
            };
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
mod tests;
