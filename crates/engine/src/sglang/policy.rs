//! Admission order. `fifo` keeps the waiting queue as it is (arrival order, retracted
//! requests first). `lpm` (longest prefix match) puts the requests with the longest cached
//! prefix first — unless more than [`LPM_FALLBACK_THRESHOLD`] wait, when scoring them all
//! would cost more than it saves — and *deprioritises* a request with little cached whose
//! prompt shares a long prefix with a request queued before it: admitted later, it will find
//! that prefix cached by the other instead of computing it twice in one batch.

use std::collections::VecDeque;

use servesim_trace::{BlockHash, BlockMap};

use super::radix::RadixCache;
use super::req::Req;
use crate::slots::Slots;

/// Above this many waiting requests `lpm` keeps arrival order.
pub(crate) const LPM_FALLBACK_THRESHOLD: usize = 128;
/// Requests with at most this many cached prompt tokens are checked against the others…
pub(crate) const IN_BATCH_CHECK_THRESHOLD: u32 = 32;
/// …and deprioritised when at least this many of their tokens prefix an earlier one's.
pub(crate) const IN_BATCH_DEPRIORITIZE_THRESHOLD: u32 = 32;

/// The `lpm` order of waiting prompts (their matchable pages, in queue order): positions
/// sorted by (deprioritised last, longest cached prefix first, queue order).
pub(crate) fn lpm_order(prompts: &[&[BlockHash]], cache: &RadixCache, page: u32) -> Vec<usize> {
    // The prompts queued so far that were not deprioritised: a radix over chained hashes is
    // a set of hashes.
    let mut queued: BlockMap<()> = BlockMap::default();
    let mut keys: Vec<(bool, std::cmp::Reverse<u32>, usize)> = Vec::with_capacity(prompts.len());
    for (position, pages) in prompts.iter().enumerate() {
        let cached = cache.match_len(pages) as u32 * page;
        let mut deprioritised = false;
        if cached <= IN_BATCH_CHECK_THRESHOLD {
            let shared = pages.iter().take_while(|h| queued.contains_key(h)).count() as u32 * page;
            if shared >= IN_BATCH_DEPRIORITIZE_THRESHOLD {
                deprioritised = true;
            } else {
                queued.extend(pages.iter().map(|&h| (h, ())));
            }
        }
        keys.push((deprioritised, std::cmp::Reverse(cached), position));
    }
    keys.sort_unstable();
    keys.into_iter().map(|(_, _, position)| position).collect()
}

/// Reorders `waiting` by [`lpm_order`] (or leaves it when too many wait).
pub(crate) fn order_lpm(
    waiting: &mut VecDeque<u32>,
    reqs: &Slots<Req>,
    cache: &RadixCache,
    page: u32,
) {
    if waiting.len() > LPM_FALLBACK_THRESHOLD {
        return;
    }
    let prompts: Vec<&[BlockHash]> = waiting
        .iter()
        .map(|&slot| {
            let req = reqs.get(slot);
            let matchable = ((req.seq_len() - 1) / page) as usize;
            &req.hashed()[..matchable.min(req.hashed().len())]
        })
        .collect();
    let order = lpm_order(&prompts, cache, page);
    let before: Vec<u32> = waiting.iter().copied().collect();
    waiting.clear();
    waiting.extend(order.into_iter().map(|i| before[i]));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages(ids: std::ops::Range<u64>) -> Vec<BlockHash> {
        ids.map(BlockHash).collect()
    }

    #[test]
    fn longest_cached_prefix_first_and_in_batch_duplicates_last() {
        let mut cache = RadixCache::new();
        cache.insert(&pages(100..150));
        cache.insert(&pages(200..210));
        let a = pages(0..40); // nothing cached
        let b = pages(100..160); // 50 pages cached
        let c = pages(0..45); // nothing cached, but shares 40 pages with `a`
        let d = pages(200..230); // 10 pages cached
        let e = pages(0..20); // shares 20 pages with `a`: below the threshold
        // 8-token pages: `c` shares 320 tokens, `e` 160 — both ≥ 32: deprioritised.
        let order = lpm_order(&[&a, &b, &c, &d, &e], &cache, 8);
        assert_eq!(order, vec![1, 3, 0, 2, 4]);
        // 1-token pages: `e` shares 20 tokens, below 32 — it stays with the others.
        let order = lpm_order(&[&a, &b, &c, &d, &e], &cache, 1);
        assert_eq!(order, vec![1, 3, 0, 4, 2]);
        // A request with more than 32 cached tokens is never deprioritised: with 4-token
        // pages `d` has 40 cached and `d2` shares its prefix; both rank by their match.
        let d2 = pages(200..240);
        let order = lpm_order(&[&d, &d2, &a], &cache, 4);
        assert_eq!(order, vec![0, 1, 2]);
    }
}
