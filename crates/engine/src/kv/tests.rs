//! Unit tests of the KV cache: reference counts, LRU order, events, private blocks.

use proptest::prelude::*;

use super::*;

fn h(n: u64) -> BlockHash {
    BlockHash(n)
}

fn all() -> SeqBlocks {
    SeqBlocks::all_shared()
}

#[test]
fn refcounts_and_reactivation() {
    let mut kv = KvCache::new(4);
    kv.acquire(&[h(1), h(2)], 0, &mut all()).unwrap();
    kv.acquire(&[h(1)], 0, &mut all()).unwrap();
    assert_eq!(
        kv.usage(),
        KvUsage {
            capacity: 4,
            active: 2,
            inactive: 0,
            anonymous: 0
        }
    );
    kv.release(&[h(1), h(2)], &mut all());
    assert_eq!(kv.residency(h(1)), Some(Residency::Active));
    assert_eq!(kv.residency(h(2)), Some(Residency::Inactive));
    assert_eq!(kv.prefix_len(&[h(1), h(2), h(3)]), 2);
    kv.acquire(&[h(2)], 0, &mut all()).unwrap();
    assert_eq!(kv.usage().inactive, 0);
    kv.check_invariants().unwrap();
}

#[test]
fn tail_first_release_evicts_deep_blocks_first() {
    let mut kv = KvCache::new(3);
    kv.record_events(NonZeroU32::new(1));
    kv.acquire(&[h(1), h(2), h(3)], 0, &mut all()).unwrap();
    kv.release(&[h(1), h(2), h(3)], &mut all());
    // LRU order is now 3, 2, 1: a new block evicts the deepest one.
    kv.acquire(&[h(9)], 0, &mut all()).unwrap();
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
    kv.acquire(&sequence, 0, &mut all()).unwrap();
    kv.release(&sequence, &mut all());
    // Evicts 5 (position 4, unreported), then 4 (position 3, reported).
    kv.acquire(&[h(8), h(9)], 0, &mut all()).unwrap();
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
    kv.acquire(&[h(1), h(2), h(3)], 0, &mut all()).unwrap();
    kv.release(&[h(1), h(2), h(3)], &mut all());
    // 3 is the LRU head, but the call reuses it: the new block 4 must evict 2 instead.
    let cost = kv.acquire_cost(&[h(4), h(3)], 0, &all());
    assert_eq!(
        cost,
        AcquireCost {
            new: 1,
            reactivated: 1
        }
    );
    kv.acquire(&[h(4), h(3)], 0, &mut all()).unwrap();
    assert_eq!(kv.residency(h(3)), Some(Residency::Active));
    assert_eq!(kv.residency(h(2)), None);
    kv.check_invariants().unwrap();
}

#[test]
fn anonymous_blocks_count_and_register() {
    let mut kv = KvCache::new(2);
    kv.acquire_anonymous(2).unwrap();
    assert_eq!(kv.acquire_anonymous(1), Err(OutOfBlocks));
    kv.register_anonymous(&[h(5)], 0, &mut all());
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
    kv.register_anonymous(&[h(5)], 0, &mut all());
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
    kv.acquire(&[h(1)], 0, &mut all()).unwrap();
    assert_eq!(kv.acquire(&[h(2)], 0, &mut all()), Err(OutOfBlocks));
    kv.check_invariants().unwrap();
}

#[test]
fn private_blocks_age_like_indexed_ones_and_stay_their_owners() {
    // The same sequence, all shared or private from block 1 on: identical counts,
    // identical eviction order, identical hits for the owner.
    let hashes = [h(1), h(2), h(3)];
    let mut shared = KvCache::new(3);
    let mut private = KvCache::new(3);
    private.record_events(NonZeroU32::new(1));
    let mut a = all();
    let mut b = SeqBlocks::new(1);
    shared.acquire(&hashes, 0, &mut a).unwrap();
    private.acquire(&hashes, 0, &mut b).unwrap();
    assert_eq!(shared.usage(), private.usage());
    shared.release(&hashes, &mut a);
    private.release(&hashes, &mut b);
    // Another request finds only the shared block; the owner finds all three.
    assert_eq!(private.prefix_len(&hashes), 1);
    assert_eq!(private.seq_prefix_len(&hashes, &b), 3);
    assert_eq!(
        private.acquire_cost(&hashes, 0, &b),
        AcquireCost {
            new: 0,
            reactivated: 3
        }
    );
    // Two new blocks evict the two deepest (LRU) blocks in both caches.
    for kv in [&mut shared, &mut private] {
        kv.acquire(&[h(8), h(9)], 0, &mut all()).unwrap();
    }
    assert_eq!(shared.prefix_len(&hashes), 1);
    assert_eq!(private.seq_prefix_len(&hashes, &b), 1);
    assert_eq!(
        private.acquire_cost(&hashes, 0, &b),
        AcquireCost {
            new: 2,
            reactivated: 1
        }
    );
    let mut events = Vec::new();
    private.drain_events(SimTime::ZERO, &mut events);
    let events: Vec<KvEvent> = events.into_iter().map(|(_, e)| e).collect();
    assert_eq!(
        events,
        vec![
            KvEvent::Stored {
                hash: h(1),
                parent: None
            },
            KvEvent::StoredPrivate { count: 2 },
            KvEvent::RemovedPrivate { count: 1 },
            KvEvent::Stored {
                hash: h(8),
                parent: None
            },
            KvEvent::RemovedPrivate { count: 1 },
            KvEvent::Stored {
                hash: h(9),
                parent: Some(h(8))
            },
        ]
    );
    // Once 8 and 9 are cached too, re-acquiring reuses block 1 and inserts fresh private
    // blocks 2 and 3 in place of 9 and 8.
    private.release(&[h(8), h(9)], &mut all());
    private.acquire(&hashes, 0, &mut b).unwrap();
    assert_eq!(private.seq_prefix_len(&hashes, &b), 3);
    shared.check_invariants().unwrap();
    private.check_invariants().unwrap();
}

/// One step of [`runs_behave_like_indexed_blocks`]: acquire sequence `.0` up to block `.1`
/// (from what it holds), or release it.
#[derive(Clone, Debug)]
enum Op {
    Acquire(usize, usize),
    Release(usize),
}

proptest! {
    /// A cache holding private blocks as runs is observably the cache that indexes every
    /// block under a unique hash: same counts, same hits, same costs, same evictions.
    #[test]
    fn runs_behave_like_indexed_blocks(
        capacity in 1u64..48,
        shapes in prop::collection::vec((0u64..3, 0usize..12, 1usize..24), 1..5),
        ops in prop::collection::vec(
            prop_oneof![
                (0usize..5, 0usize..24).prop_map(|(s, n)| Op::Acquire(s, n)),
                (0usize..5).prop_map(Op::Release),
            ],
            1..60,
        ),
    ) {
        // Sequence i: `shared` blocks of group g's chain, then blocks nobody else has.
        let seqs: Vec<(Vec<BlockHash>, usize)> = shapes
            .iter()
            .enumerate()
            .map(|(i, &(group, shared, len))| {
                let shared = shared.min(len);
                let hashes = (0..len)
                    .map(|p| if p < shared { h(group * 1000 + p as u64) } else { h((i as u64 + 1) << 32 | p as u64) })
                    .collect();
                (hashes, shared)
            })
            .collect();
        let mut runs = KvCache::new(capacity);
        let mut indexed = KvCache::new(capacity);
        let mut run_blocks: Vec<SeqBlocks> =
            seqs.iter().map(|(_, shared)| SeqBlocks::new(*shared as u32)).collect();
        let mut all_blocks: Vec<SeqBlocks> = seqs.iter().map(|_| all()).collect();
        let mut held = vec![0usize; seqs.len()];
        for op in ops {
            match op {
                Op::Acquire(s, upto) => {
                    let s = s % seqs.len();
                    let hashes = &seqs[s].0;
                    let upto = upto.min(hashes.len()).max(held[s]);
                    // The run cache acquires through a kept plan, the other looks up again.
                    let cost = runs.plan_acquire(&hashes[..upto], held[s], &run_blocks[s]);
                    prop_assert_eq!(cost, indexed.acquire_cost(&hashes[..upto], held[s], &all_blocks[s]));
                    if cost.new > runs.usage().free() + runs.usage().inactive - cost.reactivated {
                        continue;
                    }
                    runs.acquire(&hashes[..upto], held[s], &mut run_blocks[s]).unwrap();
                    indexed.acquire(&hashes[..upto], held[s], &mut all_blocks[s]).unwrap();
                    held[s] = upto;
                }
                Op::Release(s) => {
                    let s = s % seqs.len();
                    let hashes = &seqs[s].0[..held[s]];
                    runs.release(hashes, &mut run_blocks[s]);
                    // Released by hash lookups; the run cache through the slots it recorded.
                    indexed.release(hashes, &mut all());
                    held[s] = 0;
                }
            }
            prop_assert_eq!(runs.usage(), indexed.usage());
            runs.check_invariants().map_err(TestCaseError::fail)?;
            for (s, (hashes, _)) in seqs.iter().enumerate() {
                prop_assert_eq!(
                    runs.seq_prefix_len(hashes, &run_blocks[s]),
                    indexed.seq_prefix_len(hashes, &all_blocks[s])
                );
                prop_assert_eq!(
                    runs.acquire_cost(hashes, held[s], &run_blocks[s]),
                    indexed.acquire_cost(hashes, held[s], &all_blocks[s])
                );
            }
        }
    }
}
