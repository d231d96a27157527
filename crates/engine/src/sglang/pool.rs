//! The token-slot KV pool: `num_gpu_blocks × page_size` slots, handed out a page at a time.
//!
//! A slot is free, in the radix cache (see [`RadixCache`]), or private to one request (the
//! part of its KV not in the tree: an unfinished page, generated tokens, a prompt not yet
//! inserted). Only the free count matters to the simulation; allocation evicts cached
//! pages when the free ones do not suffice.

use super::radix::RadixCache;
use crate::kv::OutOfBlocks;

/// Free slots of one worker, counted in pages.
#[derive(Copy, Clone, Debug)]
pub(crate) struct TokenPool {
    capacity: u64,
    free: u64,
}

impl TokenPool {
    /// A pool of `capacity` free pages.
    pub(crate) fn new(capacity: u64) -> Self {
        TokenPool {
            capacity,
            free: capacity,
        }
    }

    /// Capacity in pages.
    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Free pages.
    pub(crate) fn free(&self) -> u64 {
        self.free
    }

    /// Pages an allocation can obtain: free ones plus evictable cached ones.
    pub(crate) fn available(&self, cache: &RadixCache) -> u64 {
        self.free + cache.evictable_pages()
    }

    /// Takes `pages` pages, evicting least recently used cached pages if needed; all or
    /// nothing.
    pub(crate) fn allocate(
        &mut self,
        cache: &mut RadixCache,
        pages: u64,
    ) -> Result<(), OutOfBlocks> {
        if pages > self.available(cache) {
            return Err(OutOfBlocks);
        }
        if self.free < pages {
            self.free += cache.evict(pages - self.free);
        }
        // Eviction frees whole leaves, at least what was evictable.
        self.free = self.free.checked_sub(pages).ok_or(OutOfBlocks)?;
        Ok(())
    }

    /// Returns `pages` private pages.
    pub(crate) fn release(&mut self, pages: u64) {
        self.free += pages;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use servesim_trace::BlockHash;

    #[test]
    fn allocation_evicts_cached_pages_only_when_needed() {
        let mut cache = RadixCache::new();
        let mut pool = TokenPool::new(10);
        pool.allocate(&mut cache, 6).unwrap();
        // Six private pages move into the tree (as after a prefill).
        let key: Vec<BlockHash> = (1..=6).map(BlockHash).collect();
        cache.insert(&key);
        assert_eq!((pool.free(), pool.available(&cache)), (4, 10));
        pool.allocate(&mut cache, 4).unwrap();
        assert_eq!(cache.pages(), 6);
        // The next allocation evicts the whole cached leaf.
        pool.allocate(&mut cache, 1).unwrap();
        assert_eq!((cache.pages(), pool.free()), (0, 5));
        assert_eq!(pool.allocate(&mut cache, 6), Err(OutOfBlocks));
        pool.release(5);
        assert_eq!(pool.free(), pool.capacity());
    }
}
