//! The LRU list of evictable slots and eviction from its head.

use super::{Kind, KvCache, NIL};

impl KvCache {
    /// Evicts LRU blocks until `n` blocks are free or nothing is evictable.
    pub(super) fn make_room(&mut self, n: u64) {
        while self.usage().free() < n && self.lru_head != NIL {
            let deficit = n - self.usage().free();
            self.evict_head(deficit);
        }
    }

    /// Evicts up to `wanted` (≥ 1) blocks of the LRU entry: a shared block, or the deepest
    /// blocks of a run (a tail-first release made them the least recently used).
    fn evict_head(&mut self, wanted: u64) {
        let slot = self.lru_head;
        if slot == NIL {
            return;
        }
        let s = &mut self.slots[slot as usize];
        let (hash, position, count) = (s.hash, s.position as usize, s.count);
        match s.kind {
            Kind::Shared => {
                self.unlink_lru(slot);
                self.free_slot(slot);
                self.inactive -= 1;
                let slots = &self.slots;
                self.index.remove(hash, |i| slots[i as usize].hash);
                self.events.removed(hash, position);
            }
            Kind::Run => {
                let taken = wanted.min(u64::from(count)) as u32;
                s.count -= taken;
                let end = position + count as usize;
                self.inactive -= u64::from(taken);
                self.private -= u64::from(taken);
                self.events.private_range(false, end - taken as usize..end);
                if taken == count {
                    self.unlink_lru(slot);
                    self.free_slot(slot);
                }
            }
        }
    }

    /// Appends `slot` as the most recently used entry.
    pub(super) fn push_lru(&mut self, slot: u32) {
        let tail = self.lru_tail;
        self.link_between(slot, tail, NIL);
    }

    /// Links `slot` right after `anchor` (an entry of the list).
    pub(super) fn link_after(&mut self, anchor: u32, slot: u32) {
        let next = self.slots[anchor as usize].next;
        self.link_between(slot, anchor, next);
    }

    fn link_between(&mut self, slot: u32, prev: u32, next: u32) {
        let s = &mut self.slots[slot as usize];
        s.prev = prev;
        s.next = next;
        self.relink(prev, next, slot, slot);
    }

    /// Takes `slot` out of the list.
    pub(super) fn unlink_lru(&mut self, slot: u32) {
        let s = &mut self.slots[slot as usize];
        let (prev, next) = (s.prev, s.next);
        s.prev = NIL;
        s.next = NIL;
        self.relink(prev, next, next, prev);
    }

    /// Points the entry `prev` (or the head) forward to `forward` and the entry `next` (or
    /// the tail) back to `back`.
    fn relink(&mut self, prev: u32, next: u32, forward: u32, back: u32) {
        if prev == NIL {
            self.lru_head = forward;
        } else {
            self.slots[prev as usize].next = forward;
        }
        if next == NIL {
            self.lru_tail = back;
        } else {
            self.slots[next as usize].prev = back;
        }
    }
}
