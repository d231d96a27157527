//! SGLang's radix prefix cache, page-granular, keyed by the router's block hashes.
//!
//! Each edge of the tree holds a run of **pages** (engine blocks), each named by its chained
//! [`BlockHash`] — the very hashes a prefix-aware router indexes, so the cache's KV events
//! ([`KvEvent::Stored`] when pages enter the tree, [`KvEvent::Removed`] when they are evicted)
//! keep a router's view exact. Matching walks edges comparing hashes; a match or insertion
//! that ends inside an edge **splits** it, so that every request's cached prefix ends at a
//! node boundary.
//!
//! A request holding a prefix **locks** its last node: `lock_ref` counts the locks held at or
//! below a node, so a node is *protected* while `lock_ref > 0` and *evictable* otherwise.
//! Eviction removes whole evictable leaves, least recently used first — by a deterministic
//! access counter bumped once per match or insertion (never a clock), kept in an ordered
//! index `(access, node)`, so picking a victim is O(log n) and ties go to the older node id.
//! Removing a leaf may make its parent an evictable leaf in turn; deep suffixes therefore go
//! before the prefixes they extend.
//!
//! The cache counts pages only; the token-slot pool ([`super::pool`]) owns free slots.

use std::collections::BTreeSet;
use std::num::NonZeroU32;

use servesim_trace::{BlockHash, BlockMap, SimTime};

use crate::kv::{EventLog, KvEvent};

/// A node of a [`RadixCache`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RadixNode(u32);

impl RadixNode {
    /// The root: the empty prefix (never locked, never evicted).
    pub const ROOT: RadixNode = RadixNode(0);
}

#[derive(Clone, Debug, Default)]
struct Node {
    /// Pages on the edge from the parent.
    key: Vec<BlockHash>,
    /// Pages before the edge: the position of `key[0]` in every sequence through it.
    depth: u32,
    parent: u32,
    children: u32,
    lock_ref: u32,
    access: u64,
}

/// The radix prefix cache of one SGLang-style worker.
#[derive(Clone, Debug)]
pub struct RadixCache {
    nodes: Vec<Node>,
    free_nodes: Vec<u32>,
    /// First page of every non-root node → the node. A page hash names its whole prefix,
    /// so one map serves every parent.
    by_first_page: BlockMap<u32>,
    /// Evictable leaves: unlocked non-root nodes without children, by `(access, id)`.
    lru: BTreeSet<(u64, u32)>,
    clock: u64,
    evictable: u64,
    protected: u64,
    events: EventLog,
}

impl Default for RadixCache {
    fn default() -> Self {
        Self::new()
    }
}

impl RadixCache {
    /// An empty cache.
    pub fn new() -> Self {
        RadixCache {
            nodes: vec![Node::default()],
            free_nodes: Vec::new(),
            by_first_page: BlockMap::default(),
            lru: BTreeSet::new(),
            clock: 0,
            evictable: 0,
            protected: 0,
            events: EventLog::default(),
        }
    }

    /// Starts recording [`KvEvent`]s of every `stride`-th page, or stops with `None`.
    pub fn record_events(&mut self, stride: Option<NonZeroU32>) {
        self.events.record(stride);
    }

    /// Moves the recorded events to `out`, stamped with `at`.
    pub fn drain_events(&mut self, at: SimTime, out: &mut Vec<(SimTime, KvEvent)>) {
        self.events.drain(at, out);
    }

    /// Pages in unlocked nodes: what eviction can free.
    pub fn evictable_pages(&self) -> u64 {
        self.evictable
    }

    /// Pages in locked nodes (held by running requests).
    pub fn protected_pages(&self) -> u64 {
        self.protected
    }

    /// Pages in the tree.
    pub fn pages(&self) -> u64 {
        self.evictable + self.protected
    }

    fn node(&self, id: u32) -> &Node {
        &self.nodes[id as usize]
    }

    fn is_lru_leaf(&self, id: u32) -> bool {
        let n = self.node(id);
        id != 0 && n.lock_ref == 0 && n.children == 0
    }

    /// The child of `node` whose edge starts with `page`.
    fn child(&self, node: u32, page: BlockHash) -> Option<u32> {
        self.by_first_page
            .get(&page)
            .copied()
            .filter(|&c| self.node(c).parent == node)
    }

    /// Walks `key` from the root: the deepest node reached, the pages matched, and — when the
    /// match ends inside an edge — that edge's node and how many of its pages matched.
    fn walk(&self, key: &[BlockHash]) -> (u32, usize, Option<(u32, usize)>) {
        let (mut node, mut matched) = (0u32, 0usize);
        while let Some(child) = key.get(matched).and_then(|&p| self.child(node, p)) {
            let edge = &self.node(child).key;
            let common = edge
                .iter()
                .zip(&key[matched..])
                .take_while(|(a, b)| a == b)
                .count();
            if common < edge.len() {
                return (node, matched + common, Some((child, common)));
            }
            node = child;
            matched += common;
        }
        (node, matched, None)
    }

    /// Leading pages of `key` in the tree, without touching anything (routing, scoring).
    pub fn match_len(&self, key: &[BlockHash]) -> usize {
        self.walk(key).1
    }

    /// Matches `key` for use: splits the edge the match ends in, marks the matched path as
    /// just used, and returns the node ending the match with the pages matched.
    pub fn match_prefix(&mut self, key: &[BlockHash]) -> (RadixNode, usize) {
        let (mut node, matched, partial) = self.walk(key);
        if let Some((child, common)) = partial {
            node = self.split(child, common);
        }
        self.touch(node);
        (RadixNode(node), matched)
    }

    /// Inserts `key` (a sequence's pages from its first): shares what is present, adds the
    /// rest as a new leaf (recording `Stored` events). Returns the node ending `key` and how
    /// many leading pages were present before.
    pub fn insert(&mut self, key: &[BlockHash]) -> (RadixNode, usize) {
        let (mut node, matched, partial) = self.walk(key);
        if let Some((child, common)) = partial {
            node = self.split(child, common);
        }
        if matched < key.len() {
            node = self.add_leaf(node, key, matched);
        }
        self.touch(node);
        (RadixNode(node), matched)
    }

    /// Marks `node` and its ancestors as used now (one tick of the access counter).
    fn touch(&mut self, node: u32) {
        self.clock += 1;
        let mut id = node;
        while id != 0 {
            let in_lru = self.is_lru_leaf(id);
            if in_lru {
                self.lru.remove(&(self.node(id).access, id));
            }
            self.nodes[id as usize].access = self.clock;
            if in_lru {
                self.lru.insert((self.clock, id));
            }
            id = self.node(id).parent;
        }
    }

    /// Splits `child`'s edge after `at` pages; returns the new node holding the first `at`.
    fn split(&mut self, child: u32, at: usize) -> u32 {
        let tail = self.nodes[child as usize].key.split_off(at);
        let head = std::mem::replace(&mut self.nodes[child as usize].key, tail);
        let (parent, depth, lock_ref, access) = {
            let c = self.node(child);
            (c.parent, c.depth, c.lock_ref, c.access)
        };
        let first = head[0];
        let second = self.node(child).key[0];
        let id = self.alloc_node(Node {
            key: head,
            depth,
            parent,
            children: 1,
            lock_ref,
            access,
        });
        self.nodes[child as usize].parent = id;
        self.nodes[child as usize].depth = depth + at as u32;
        self.by_first_page.insert(first, id);
        self.by_first_page.insert(second, child);
        id
    }

    fn alloc_node(&mut self, node: Node) -> u32 {
        match self.free_nodes.pop() {
            Some(id) => {
                self.nodes[id as usize] = node;
                id
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Adds an unlocked leaf under `parent` (which ends after `from` pages of `key`) holding
    /// the pages `key[from..]`.
    fn add_leaf(&mut self, parent: u32, key: &[BlockHash], from: usize) -> u32 {
        let pages = &key[from..];
        if self.is_lru_leaf(parent) {
            self.lru.remove(&(self.node(parent).access, parent));
        }
        self.nodes[parent as usize].children += 1;
        let id = self.alloc_node(Node {
            key: pages.to_vec(),
            depth: from as u32,
            parent,
            children: 0,
            lock_ref: 0,
            access: self.clock,
        });
        self.by_first_page.insert(pages[0], id);
        self.lru.insert((self.clock, id));
        self.evictable += pages.len() as u64;
        for position in from..key.len() {
            self.events.stored(key, position);
        }
        id
    }

    /// Locks `node` and its ancestors (a request now uses the prefix ending at `node`).
    pub fn lock(&mut self, node: RadixNode) {
        let mut id = node.0;
        while id != 0 {
            if self.node(id).lock_ref == 0 {
                if self.is_lru_leaf(id) {
                    self.lru.remove(&(self.node(id).access, id));
                }
                let pages = self.node(id).key.len() as u64;
                self.evictable -= pages;
                self.protected += pages;
            }
            self.nodes[id as usize].lock_ref += 1;
            id = self.node(id).parent;
        }
    }

    /// Releases a lock taken with [`lock`](Self::lock).
    pub fn unlock(&mut self, node: RadixNode) {
        let mut id = node.0;
        while id != 0 {
            let n = &mut self.nodes[id as usize];
            n.lock_ref = n.lock_ref.saturating_sub(1);
            if n.lock_ref == 0 {
                let pages = n.key.len() as u64;
                self.protected -= pages;
                self.evictable += pages;
                if self.is_lru_leaf(id) {
                    self.lru.insert((self.node(id).access, id));
                }
            }
            id = self.node(id).parent;
        }
    }

    /// Evicts least recently used evictable leaves until at least `pages` pages are freed or
    /// nothing is evictable; returns the pages freed (whole leaves, so possibly more).
    pub fn evict(&mut self, pages: u64) -> u64 {
        let mut freed = 0;
        while freed < pages {
            let Some((_, id)) = self.lru.pop_first() else {
                break;
            };
            freed += self.remove_leaf(id);
        }
        freed
    }

    fn remove_leaf(&mut self, id: u32) -> u64 {
        let node = std::mem::take(&mut self.nodes[id as usize]);
        let pages = node.key.len() as u64;
        self.by_first_page.remove(&node.key[0]);
        self.evictable -= pages;
        for (offset, &hash) in node.key.iter().enumerate().rev() {
            self.events.removed(hash, node.depth as usize + offset);
        }
        let parent = node.parent;
        self.nodes[parent as usize].children -= 1;
        if self.is_lru_leaf(parent) {
            self.lru.insert((self.node(parent).access, parent));
        }
        self.free_nodes.push(id);
        pages
    }

    /// Checks the bookkeeping (for tests): page counts by lock state, child counts, the
    /// first-page index, the LRU index holding exactly the evictable leaves, and every lock
    /// count covering its children's.
    pub fn check_invariants(&self) -> Result<(), String> {
        let free: BTreeSet<u32> = self.free_nodes.iter().copied().collect();
        let live = |id: u32| id == 0 || !free.contains(&id);
        let (mut evictable, mut protected, mut leaves) = (0u64, 0u64, 0usize);
        let mut children = vec![0u32; self.nodes.len()];
        let mut child_locks = vec![0u32; self.nodes.len()];
        for (id, n) in self.nodes.iter().enumerate().skip(1) {
            let id = id as u32;
            if !live(id) {
                continue;
            }
            let Some(&first) = n.key.first() else {
                return Err(format!("node {id} has an empty edge"));
            };
            if self.by_first_page.get(&first) != Some(&id) {
                return Err(format!("node {id} is missing from the first-page index"));
            }
            if n.lock_ref == 0 {
                evictable += n.key.len() as u64;
            } else {
                protected += n.key.len() as u64;
            }
            let parent = self.node(n.parent);
            if n.depth != parent.depth + parent.key.len() as u32 {
                return Err(format!(
                    "node {id}: depth {} does not follow its parent",
                    n.depth
                ));
            }
            children[n.parent as usize] += 1;
            child_locks[n.parent as usize] += n.lock_ref;
            let leaf = self.is_lru_leaf(id);
            leaves += usize::from(leaf);
            if leaf != self.lru.contains(&(n.access, id)) {
                return Err(format!("node {id} is misfiled in the LRU index"));
            }
        }
        if (evictable, protected) != (self.evictable, self.protected) {
            return Err(format!(
                "pages: counted {evictable} evictable / {protected} protected, tracked {} / {}",
                self.evictable, self.protected
            ));
        }
        for (id, n) in self.nodes.iter().enumerate() {
            if !live(id as u32) {
                continue;
            }
            if n.children != children[id] {
                return Err(format!(
                    "node {id}: child count {} ≠ {}",
                    n.children, children[id]
                ));
            }
            if id != 0 && n.lock_ref < child_locks[id] {
                return Err(format!("node {id}: lock_ref below its children's"));
            }
        }
        if self.lru.len() != leaves {
            return Err("the LRU index holds stale entries".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(ids: &[u64]) -> Vec<BlockHash> {
        ids.iter().map(|&i| BlockHash(i)).collect()
    }

    fn stored(events: &[(SimTime, KvEvent)]) -> Vec<u64> {
        events
            .iter()
            .filter_map(|(_, e)| match e {
                KvEvent::Stored { hash, .. } => Some(hash.0),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn match_is_page_granular_and_splits_edges() {
        let mut cache = RadixCache::new();
        cache.record_events(NonZeroU32::new(1));
        let (a, present) = cache.insert(&pages(&[1, 2, 3, 4]));
        assert_eq!(present, 0);
        assert_eq!(cache.pages(), 4);
        // A read-only match stops at the first differing page, inside the edge.
        assert_eq!(cache.match_len(&pages(&[1, 2, 9])), 2);
        assert_eq!(cache.match_len(&pages(&[7])), 0);
        assert_eq!(cache.nodes.len(), 2);
        // Matching for use splits the edge after page 2.
        let (mid, matched) = cache.match_prefix(&pages(&[1, 2, 9]));
        assert_eq!(matched, 2);
        assert_ne!(mid, a);
        assert_eq!(cache.node(mid.0).key, pages(&[1, 2]));
        assert_eq!(cache.node(a.0).key, pages(&[3, 4]));
        assert_eq!(cache.node(a.0).parent, mid.0);
        // Inserting a sibling shares [1, 2] and stores only the new pages, chained to 2.
        let (b, present) = cache.insert(&pages(&[1, 2, 5]));
        assert_eq!(present, 2);
        assert_eq!(cache.node(b.0).parent, mid.0);
        let mut events = Vec::new();
        cache.drain_events(SimTime::from_micros(7), &mut events);
        assert_eq!(stored(&events), vec![1, 2, 3, 4, 5]);
        assert_eq!(
            events[4].1,
            KvEvent::Stored {
                hash: BlockHash(5),
                parent: Some(BlockHash(2))
            }
        );
        assert_eq!(cache.pages(), 5);
        cache.check_invariants().unwrap();
    }

    #[test]
    fn strided_events_follow_page_positions_across_splits() {
        let mut cache = RadixCache::new();
        cache.record_events(NonZeroU32::new(2));
        cache.insert(&pages(&[1, 2, 3, 4, 5]));
        // A sibling after a split at depth 3: its pages sit at positions 3 and 4.
        cache.insert(&pages(&[1, 2, 3, 6, 7]));
        cache.check_invariants().unwrap();
        let mut events = Vec::new();
        cache.drain_events(SimTime::ZERO, &mut events);
        let stored = |hash, parent: Option<u64>| KvEvent::Stored {
            hash: BlockHash(hash),
            parent: parent.map(BlockHash),
        };
        let events: Vec<KvEvent> = events.into_iter().map(|(_, e)| e).collect();
        assert_eq!(
            events,
            vec![stored(2, None), stored(4, Some(2)), stored(6, Some(2))]
        );
        // Evicting everything reports the even positions only, deepest first per leaf.
        cache.evict(100);
        let mut removed = Vec::new();
        cache.drain_events(SimTime::ZERO, &mut removed);
        let mut hashes: Vec<u64> = removed
            .iter()
            .filter_map(|(_, e)| match e {
                KvEvent::Removed { hash } => Some(hash.0),
                _ => None,
            })
            .collect();
        hashes.sort_unstable();
        assert_eq!(hashes, vec![2, 4, 6]);
    }

    #[test]
    fn locks_protect_paths_and_eviction_takes_least_recent_leaves() {
        let mut cache = RadixCache::new();
        cache.record_events(NonZeroU32::new(1));
        let (a, _) = cache.insert(&pages(&[1, 2, 3]));
        let (b, _) = cache.insert(&pages(&[1, 2, 4, 5]));
        let (c, _) = cache.insert(&pages(&[6]));
        assert_eq!(cache.evictable_pages(), 6);
        // Lock [1, 2, 4, 5]: its path (shared [1, 2] included) is protected.
        cache.lock(b);
        assert_eq!((cache.evictable_pages(), cache.protected_pages()), (2, 4));
        // Use [1, 2, 3] again: [6] is now the least recently used leaf.
        cache.match_prefix(&pages(&[1, 2, 3]));
        let mut events = Vec::new();
        cache.drain_events(SimTime::ZERO, &mut events);
        assert_eq!(cache.evict(1), 1);
        cache.drain_events(SimTime::ZERO, &mut events);
        assert_eq!(
            events.last(),
            Some(&(SimTime::ZERO, KvEvent::Removed { hash: BlockHash(6) }))
        );
        assert_eq!(cache.match_len(&pages(&[6])), 0);
        // Then [3]; the locked path survives any demand.
        assert_eq!(cache.evict(100), 1);
        assert_eq!(cache.match_len(&pages(&[1, 2, 3])), 2);
        assert_eq!(cache.match_len(&pages(&[1, 2, 4, 5])), 4);
        assert_eq!(cache.evictable_pages(), 0);
        // Unlocking makes the whole path evictable again, deepest first.
        cache.unlock(b);
        assert_eq!(cache.evict(1), 2);
        assert_eq!(cache.match_len(&pages(&[1, 2, 4, 5])), 2);
        assert_eq!(cache.evict(1), 2);
        assert_eq!(cache.pages(), 0);
        let _ = (a, c);
        cache.check_invariants().unwrap();
    }

    #[test]
    fn split_nodes_keep_their_locks() {
        let mut cache = RadixCache::new();
        let (a, _) = cache.insert(&pages(&[1, 2, 3, 4]));
        cache.lock(a);
        // Another request matches half of the locked edge: the split keeps it protected.
        let (mid, matched) = cache.match_prefix(&pages(&[1, 2]));
        assert_eq!(matched, 2);
        assert_eq!(cache.node(mid.0).lock_ref, 1);
        assert_eq!(cache.evict(10), 0);
        cache.lock(mid);
        cache.unlock(a);
        // [3, 4] is evictable, [1, 2] still held.
        assert_eq!((cache.evictable_pages(), cache.protected_pages()), (2, 2));
        assert_eq!(cache.evict(10), 2);
        assert_eq!(cache.match_len(&pages(&[1, 2, 3])), 2);
        cache.unlock(mid);
        cache.check_invariants().unwrap();
    }

    #[test]
    fn the_access_counter_orders_eviction_and_nodes_are_reused() {
        let mut cache = RadixCache::new();
        cache.insert(&pages(&[1]));
        cache.insert(&pages(&[2]));
        assert!(cache.node(1).access < cache.node(2).access);
        cache.match_prefix(&pages(&[1]));
        assert_eq!(cache.evict(1), 1);
        assert_eq!(cache.match_len(&pages(&[1])), 1);
        assert_eq!(cache.match_len(&pages(&[2])), 0);
        // Freed nodes are reused.
        cache.insert(&pages(&[3]));
        assert_eq!(cache.nodes.len(), 3);
        cache.check_invariants().unwrap();
    }
}
